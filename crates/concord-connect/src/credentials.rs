//! Access tokens for one connection, refreshed so that no request is stranded.
//!
//! [`OAuthCredentials`] implements [`concord_core::Credentials`] over a
//! connection's keychain entry:
//!
//! - **Proactive refresh.** A token with less than the refresh margin left
//!   (5 minutes, but never more than a sixth of the token's issued lifetime, so
//!   a 30-second sandbox token is refreshed 5 seconds early rather than on
//!   every call) is refreshed before it is handed out.
//! - **Single flight.** The bundle sits behind a `tokio::sync::Mutex`; the
//!   caller that finds the token stale refreshes while holding it, and every
//!   concurrent caller waits on the lock and then finds the fresh token. A
//!   [`RefreshGauge`] counts refreshes and the most ever in flight at once.
//! - **Persist before use.** A rotated refresh token is written to the keychain
//!   before the new access token is returned; if that write fails the token is
//!   held in memory, no token is handed out, and the next call retries the write.
//! - **Lost responses.** When the token endpoint's answer is lost after it may
//!   have rotated the token, the same refresh token is presented again within
//!   the provider's grace window (Xero: 30 minutes). After `invalid_grant`, the
//!   keychain is re-read (another Concord process may have rotated it) and the
//!   previous refresh token is tried while inside the grace window.
//! - **401.** [`Credentials::refused`] refreshes at most once per refused token:
//!   if another caller already replaced it, the new one is returned; if a token
//!   that was itself fetched because of a 401 is refused again, the connection
//!   needs re-authorisation.
//! - **Needs re-authorisation.** `invalid_grant`, a revoked grant or a refused
//!   client secret marks the credentials dead (later calls fail at once without
//!   asking the provider) and calls the [`ReauthHook`] once, which the API layer
//!   uses to mark the connection `needs_reauth` in the store. Nothing local is deleted.

use crate::error::ConnectError;
use crate::token::{TokenBundle, TokenClient, TokenError, TokenResponse};
use crate::vault;
use concord_core::{AuthFailure, Clock, Credentials, Secret, TokenFuture};
use concord_secret::SecretStore;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The default refresh margin: refresh when fewer than 5 minutes remain.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Called once, with a reason, when a connection needs re-authorisation.
pub type ReauthHook = Arc<dyn Fn(String) + Send + Sync>;

/// Counts refreshes and how many were ever in flight at once.
#[derive(Debug, Default)]
pub struct RefreshGauge {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    refreshes: AtomicU64,
}

impl RefreshGauge {
    fn enter(&self) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.refreshes.fetch_add(1, Ordering::SeqCst);
    }

    fn exit(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// Refresh requests sent (retries of a lost response included).
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::SeqCst)
    }

    /// The most refresh requests ever in flight at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

struct State {
    bundle: Option<TokenBundle>,
    /// A refreshed bundle the keychain has not accepted yet.
    unsaved: bool,
    /// Set once the grant is dead; every later call fails with it.
    dead: Option<String>,
    /// The access token fetched because a 401 forced a refresh.
    from_refusal: Option<String>,
}

/// Tokens for one OAuth connection.
pub struct OAuthCredentials {
    account: String,
    store: Arc<dyn SecretStore>,
    client: TokenClient,
    clock: Arc<dyn Clock>,
    margin: Duration,
    state: tokio::sync::Mutex<State>,
    gauge: Arc<RefreshGauge>,
    on_reauth: Option<ReauthHook>,
}

impl std::fmt::Debug for OAuthCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthCredentials").field("account", &self.account).field("client", &self.client).finish_non_exhaustive()
    }
}

impl OAuthCredentials {
    /// Credentials over the keychain entry `account`, refreshed through `client`.
    pub fn new(account: String, store: Arc<dyn SecretStore>, client: TokenClient, clock: Arc<dyn Clock>) -> OAuthCredentials {
        OAuthCredentials {
            account,
            store,
            client,
            clock,
            margin: REFRESH_MARGIN,
            state: tokio::sync::Mutex::new(State { bundle: None, unsaved: false, dead: None, from_refusal: None }),
            gauge: Arc::new(RefreshGauge::default()),
            on_reauth: None,
        }
    }

    /// Calls `hook` once when the connection needs re-authorisation.
    pub fn on_reauth(mut self, hook: ReauthHook) -> Self {
        self.on_reauth = Some(hook);
        self
    }

    /// Changes the refresh margin (default [`REFRESH_MARGIN`]).
    pub fn with_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The refresh counters.
    pub fn gauge(&self) -> Arc<RefreshGauge> {
        self.gauge.clone()
    }

    fn fresh_enough(&self, b: &TokenBundle) -> bool {
        let Some(expires) = b.expires_at else { return true };
        let lifetime = b.lifetime_secs.map(Duration::from_secs).unwrap_or(self.margin * 6);
        let margin = self.margin.min(lifetime / 6);
        let left = expires - self.clock.now();
        left.to_std().map(|l| l > margin).unwrap_or(false)
    }

    fn kill(&self, st: &mut State, reason: String) -> AuthFailure {
        if st.dead.is_none() {
            st.dead = Some(reason.clone());
            if let Some(hook) = &self.on_reauth {
                hook(reason.clone());
            }
        }
        AuthFailure::NeedsReauth(reason)
    }

    async fn loaded<'a>(&self, st: &'a mut State) -> Result<&'a mut TokenBundle, AuthFailure> {
        if let Some(reason) = &st.dead {
            return Err(AuthFailure::NeedsReauth(reason.clone()));
        }
        if st.bundle.is_none() {
            match vault::load(&self.store, &self.account).await {
                Ok(Some(b)) => st.bundle = Some(b),
                Ok(None) => return Err(self.kill(st, "no tokens for this connection are in the keychain; connect it again".into())),
                Err(ConnectError::NeedsReauth(m)) => return Err(self.kill(st, m)),
                Err(e) => return Err(AuthFailure::Unavailable(e.to_string())),
            }
        }
        Ok(st.bundle.as_mut().expect("bundle loaded above"))
    }

    async fn persist(&self, st: &mut State) -> Result<(), AuthFailure> {
        if let Some(b) = &st.bundle {
            match vault::save(&self.store, &self.account, b).await {
                Ok(()) => st.unsaved = false,
                Err(e) => {
                    st.unsaved = true;
                    return Err(AuthFailure::Unavailable(format!("the refreshed tokens could not be saved, so they are not used yet: {e}")));
                }
            }
        }
        Ok(())
    }

    /// One refresh request, retried with the same token while a lost answer is inside the grace window.
    async fn exchange(&self, refresh: &Secret) -> Result<TokenResponse, TokenError> {
        let grace = self.client.descriptor.rotation_grace;
        let started = std::time::Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            self.gauge.enter();
            let result = self.client.refresh(refresh).await;
            self.gauge.exit();
            match result {
                Err(TokenError::Lost(m)) if !grace.is_zero() && started.elapsed() + delay < grace.min(Duration::from_secs(60)) => {
                    let _ = m;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 4).min(Duration::from_secs(10));
                }
                other => return other,
            }
        }
    }

    /// Refreshes while holding the state lock.
    async fn refresh_locked(&self, st: &mut State) -> Result<Secret, AuthFailure> {
        let bundle = self.loaded(st).await?.clone();
        if bundle.is_static() {
            return Err(self.kill(st, "the provider refused the private-app token (revoked or rotated); connect again with a new token".into()));
        }
        let Some(refresh) = bundle.refresh_token.clone() else {
            return Err(self.kill(st, "the access token expired and the provider gave no refresh token; connect again".into()));
        };
        let mut tried = vec![refresh.clone()];
        let mut result = self.exchange(&Secret::new(refresh.clone())).await;
        if let Err(TokenError::InvalidGrant(_)) = &result {
            // Another process may have rotated the token: the keychain has the newest one.
            if let Ok(Some(stored)) = vault::load(&self.store, &self.account).await {
                if let Some(r) = stored.refresh_token.clone().filter(|r| !tried.contains(r)) {
                    st.bundle = Some(stored);
                    tried.push(r.clone());
                    result = self.exchange(&Secret::new(r)).await;
                }
            }
        }
        if let Err(TokenError::InvalidGrant(_)) = &result {
            let b = st.bundle.clone().unwrap_or(bundle.clone());
            let grace = chrono::Duration::from_std(self.client.descriptor.rotation_grace).unwrap_or_default();
            if let (Some(prev), Some(at)) = (b.previous_refresh.clone(), b.rotated_at) {
                if !tried.contains(&prev) && self.clock.now() - at < grace {
                    result = self.exchange(&Secret::new(prev)).await;
                }
            }
        }
        match result {
            Ok(resp) => {
                let now = self.clock.now();
                let mut b = st.bundle.clone().unwrap_or(bundle);
                b.apply(&resp, now, self.client.descriptor.access_lifetime);
                st.bundle = Some(b);
                self.persist(st).await?;
                Ok(resp.access_token)
            }
            Err(TokenError::InvalidGrant(m)) => Err(self.kill(st, format!("the provider no longer accepts this connection ({m}); connect it again"))),
            Err(TokenError::InvalidClient(m)) => Err(self.kill(st, format!("the provider refused the app's client id or secret ({m}); connect again with the right ones"))),
            Err(TokenError::Rejected(m)) | Err(TokenError::Lost(m)) => Err(AuthFailure::Unavailable(m)),
        }
    }

    async fn current_inner(&self) -> Result<Secret, AuthFailure> {
        let mut st = self.state.lock().await;
        if st.unsaved {
            self.persist(&mut st).await?;
        }
        let b = self.loaded(&mut st).await?;
        if self.fresh_enough(b) {
            return Ok(Secret::new(b.access_token.clone()));
        }
        self.refresh_locked(&mut st).await
    }

    async fn refused_inner(&self, refused: &Secret) -> Result<Secret, AuthFailure> {
        let mut st = self.state.lock().await;
        if st.unsaved {
            self.persist(&mut st).await?;
        }
        let b = self.loaded(&mut st).await?;
        if b.access_token != refused.expose() {
            // Someone else already replaced the refused token.
            return Ok(Secret::new(b.access_token.clone()));
        }
        if st.from_refusal.as_deref() == Some(refused.expose()) {
            return Err(self.kill(&mut st, "the provider refused a token it had just issued (access revoked?); connect again".into()));
        }
        let token = self.refresh_locked(&mut st).await?;
        st.from_refusal = Some(token.expose().to_string());
        Ok(token)
    }
}

impl Credentials for OAuthCredentials {
    fn current(&self) -> TokenFuture<'_> {
        Box::pin(self.current_inner())
    }

    fn refused<'a>(&'a self, refused: &'a Secret) -> TokenFuture<'a> {
        Box::pin(self.refused_inner(refused))
    }
}

/// A static private-app token that marks the connection when it is refused.
pub struct StaticCredentials {
    token: Secret,
    on_reauth: Option<ReauthHook>,
}

impl StaticCredentials {
    /// Wraps a private-app token.
    pub fn new(token: Secret, on_reauth: Option<ReauthHook>) -> Self {
        StaticCredentials { token, on_reauth }
    }
}

impl Credentials for StaticCredentials {
    fn current(&self) -> TokenFuture<'_> {
        let t = self.token.clone();
        Box::pin(async move { Ok(t) })
    }

    fn refused<'a>(&'a self, _refused: &'a Secret) -> TokenFuture<'a> {
        Box::pin(async move {
            let reason = "the provider refused the private-app token (revoked or rotated); connect again with a new token".to_string();
            if let Some(h) = &self.on_reauth {
                h(reason.clone());
            }
            Err(AuthFailure::NeedsReauth(reason))
        })
    }
}

/// Sends a request with a token, and after a 401 once more with a refreshed one.
///
/// `send` gets the token and returns the response status with whatever the caller needs;
/// a second 401 is reported as needing re-authorisation rather than retried again.
pub async fn with_token<T, F, Fut>(creds: &dyn Credentials, mut send: F) -> Result<T, AuthFailure>
where
    F: FnMut(Secret) -> Fut,
    Fut: std::future::Future<Output = (u16, T)>,
{
    let token = creds.current().await?;
    let (status, out) = send(token.clone()).await;
    if status != 401 {
        return Ok(out);
    }
    let fresh = creds.refused(&token).await?;
    let (status, out) = send(fresh.clone()).await;
    if status == 401 {
        return Err(creds.refused(&fresh).await.err().unwrap_or_else(|| {
            AuthFailure::NeedsReauth("the provider refused a freshly refreshed token; connect again".into())
        }));
    }
    Ok(out)
}
