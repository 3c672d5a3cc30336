//! The state one sandbox run shares across requests, and the gate every API
//! request passes through.
//!
//! A real provider checks the token, then the rate limits, then serves; the
//! gate does the same in that order and adds the fault plan on top: it numbers
//! the request, asks the [`FaultEngine`] what strikes it, revokes tokens when
//! told to, refuses with the provider's own 401, 403, 429 or 5xx shapes, and
//! delays slow responses. After the handler has built its response,
//! [`finish`] adds the rate-limit headers and applies the wire faults (a
//! dropped connection, a truncated body). Locks are plain `std::sync` locks
//! and are never held across an `.await`.

use crate::business::{World, QUICKBOOKS_REALM_ID};
use crate::clock::SandboxClock;
use crate::faults::{FaultEngine, Hits};
use crate::ledger::Ledger;
use crate::oauth::{bearer, OAuthState, TokenCheck};
use crate::provider::{Provider, XeroIds};
use crate::ratelimit::RateLimits;
use crate::response::{add_headers, refuse, reset_connection, truncate_body, Refusal};
use axum::http::HeaderMap;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Everything one sandbox run holds.
#[derive(Debug)]
pub struct SandboxState {
    pub seed: u64,
    pub clock: SandboxClock,
    pub world: RwLock<World>,
    pub ledger: Mutex<Ledger>,
    pub oauth: Mutex<OAuthState>,
    pub limits: Mutex<RateLimits>,
    pub faults: Mutex<FaultEngine>,
    /// The one Xero organisation's tenant id.
    pub xero_tenant_id: String,
    /// `http://127.0.0.1:PORT` of the listener.
    pub origin: String,
    /// Bumped by every write to the world (see [`WorldWrite`]), so rendered records can be cached.
    pub world_version: AtomicU64,
    /// Records as list pages serve them, valid for one world version.
    pub rendered: Mutex<RenderCache>,
}

/// Each record's wire text as a list page last rendered it, for the world
/// version it was rendered from. The world changes only through
/// [`SandboxState::write`], which bumps the version; a cache of another
/// version is emptied before use, so a page never serves a stale record.
#[derive(Debug, Default)]
pub struct RenderCache {
    version: u64,
    texts: HashMap<RenderKey, Arc<[u8]>>,
}

/// What a record's text depends on besides the world: which provider
/// collection (a small code per provider), whether the summary form was asked
/// for, and the record's index.
pub type RenderKey = (u8, bool, u32);

impl RenderCache {
    /// The cached texts of `keys` rendered from world `version` (`None` where not cached).
    pub fn get_all(&mut self, version: u64, keys: impl Iterator<Item = RenderKey>) -> Vec<Option<Arc<[u8]>>> {
        if self.version != version {
            self.texts.clear();
            self.version = version;
        }
        keys.map(|k| self.texts.get(&k).cloned()).collect()
    }

    /// Remembers texts rendered from world `version` (dropped if the world has moved on since).
    pub fn put_all(&mut self, version: u64, texts: impl Iterator<Item = (RenderKey, Arc<[u8]>)>) {
        if self.version == version {
            self.texts.extend(texts);
        }
    }
}

/// A write lock on the world that bumps [`SandboxState::world_version`] when
/// released, while it still excludes readers: a reader holding the read lock
/// always sees the version of the world it reads.
pub struct WorldWrite<'a> {
    guard: std::sync::RwLockWriteGuard<'a, World>,
    version: &'a AtomicU64,
}

impl std::ops::Deref for WorldWrite<'_> {
    type Target = World;
    fn deref(&self) -> &World {
        &self.guard
    }
}

impl std::ops::DerefMut for WorldWrite<'_> {
    fn deref_mut(&mut self) -> &mut World {
        &mut self.guard
    }
}

impl Drop for WorldWrite<'_> {
    fn drop(&mut self) {
        self.version.fetch_add(1, Ordering::Release);
    }
}

impl SandboxState {
    pub fn xero_ids(&self) -> XeroIds {
        XeroIds::new(self.seed)
    }

    /// A read lock on the world (a poisoned lock still yields the data: a
    /// panicking handler must not take the whole sandbox down).
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, World> {
        self.world.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A write lock on the world; releasing it marks every cached rendering stale.
    pub fn write(&self) -> WorldWrite<'_> {
        WorldWrite { guard: self.world.write().unwrap_or_else(|e| e.into_inner()), version: &self.world_version }
    }

    /// The world's version; read it under the read lock to know what a rendering was made from.
    pub fn world_version(&self) -> u64 {
        self.world_version.load(Ordering::Acquire)
    }

    pub fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An admitted API request: the faults that hit it and the headers to add.
/// Dropping it ends the request's slot in the concurrency limits.
pub struct Admission {
    pub provider: Provider,
    /// The request's 1-based number for its provider.
    pub n: u64,
    pub hits: Hits,
    pub headers: Vec<(String, String)>,
    release: Option<(u8, String)>,
    st: Arc<SandboxState>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Some((p, key)) = self.release.take() {
            self.st.limits.lock().unwrap_or_else(|e| e.into_inner()).release(p, &key);
        }
    }
}

/// Options of the gate that depend on the endpoint.
#[derive(Clone, Copy, Debug, Default)]
pub struct GateOptions<'a> {
    /// QuickBooks: the realm in the path.
    pub realm: Option<&'a str>,
    /// HubSpot: a search endpoint (its own per-second limit).
    pub search: bool,
}

fn token_of(p: Provider, headers: &HeaderMap) -> Option<String> {
    match p {
        Provider::Shopify => headers.get("X-Shopify-Access-Token").and_then(|v| v.to_str().ok()).map(str::to_string),
        _ => bearer(headers),
    }
}

/// Admits an API request or refuses it as the provider would.
pub async fn admit(st: &Arc<SandboxState>, p: Provider, headers: &HeaderMap, opts: GateOptions<'_>) -> Result<Admission, Response> {
    let now = st.clock.now_ms();
    let n = st.ledger().request(p);
    let hits = st.faults.lock().unwrap_or_else(|e| e.into_inner()).decide(p, n);
    {
        let mut l = st.ledger();
        for name in hits.names() {
            l.fault(name);
        }
    }
    if hits.token_revocation {
        st.oauth.lock().unwrap_or_else(|e| e.into_inner()).revoke_all(p);
        st.ledger().revoked(p);
    }
    let token = token_of(p, headers);
    let check = st.oauth.lock().unwrap_or_else(|e| e.into_inner()).check(p, token.as_deref(), now);
    if let TokenCheck::Refused(why) = check {
        return Err(refuse(p, &Refusal::Unauthorized { why }));
    }
    let tenant = match p {
        Provider::Xero => {
            let t = headers.get("xero-tenant-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !t.eq_ignore_ascii_case(&st.xero_tenant_id) {
                return Err(refuse(p, &Refusal::Forbidden));
            }
            st.xero_tenant_id.clone()
        }
        Provider::QuickBooks => {
            let realm = opts.realm.unwrap_or("");
            if realm != QUICKBOOKS_REALM_ID {
                return Err(refuse(p, &Refusal::Forbidden));
            }
            realm.to_string()
        }
        _ => "account".to_string(),
    };
    let limited = {
        let mut limits = st.limits.lock().unwrap_or_else(|e| e.into_inner());
        match p {
            Provider::Xero => limits.xero(&tenant, now).map(|a| (a, Some((2u8, tenant.clone())))),
            Provider::QuickBooks => limits.quickbooks(&tenant, now).map(|a| (a, Some((3u8, tenant.clone())))),
            Provider::HubSpot => limits.hubspot(&tenant, opts.search, now).map(|a| (a, None)),
            Provider::Shopify => Ok((Default::default(), None)),
        }
    };
    let (admitted, release) = match limited {
        Ok(x) => x,
        Err(t) => {
            st.ledger().throttled(p);
            let ra = st.clock.wire_secs(t.retry_after_secs);
            return Err(refuse(p, &Refusal::Throttled { problem: t.problem.to_string(), retry_after: ra, headers: t.headers }));
        }
    };
    let adm = Admission { provider: p, n, hits, headers: admitted.headers, release, st: st.clone() };
    if adm.hits.rate_limit_storm {
        st.ledger().throttled(p);
        let problem = match p {
            Provider::Xero => "minute",
            Provider::HubSpot => "TEN_SECONDLY_ROLLING",
            _ => "minute",
        };
        let secs = if p == Provider::HubSpot { 10.0 } else { 60.0 };
        let mut headers = adm.headers.clone();
        if p == Provider::Xero {
            headers.retain(|(k, _)| k != "X-MinLimit-Remaining");
            headers.push(("X-MinLimit-Remaining".into(), "0".into()));
        }
        if p == Provider::HubSpot {
            headers.retain(|(k, _)| k != "X-HubSpot-RateLimit-Remaining");
            headers.push(("X-HubSpot-RateLimit-Remaining".into(), "0".into()));
        }
        return Err(refuse(p, &Refusal::Throttled { problem: problem.into(), retry_after: st.clock.wire_secs(secs), headers }));
    }
    if let Some(status) = adm.hits.server_error {
        return Err(refuse(p, &Refusal::ServerError(status)));
    }
    if let Some(ms) = adm.hits.slow_ms {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    Ok(adm)
}

/// Adds rate-limit headers and applies wire faults to a built response.
pub async fn finish(adm: Admission, mut r: Response) -> Response {
    add_headers(&mut r, &adm.headers);
    if adm.hits.connection_reset {
        return reset_connection(r);
    }
    if adm.hits.truncated_body {
        return truncate_body(r).await;
    }
    r
}

/// Runs a handler body behind the gate: admit, build, finish.
pub async fn gated<F>(st: &Arc<SandboxState>, p: Provider, headers: &HeaderMap, opts: GateOptions<'_>, build: F) -> Response
where
    F: FnOnce(&Admission) -> Response,
{
    match admit(st, p, headers, opts).await {
        Err(r) => r,
        Ok(adm) => {
            let r = build(&adm);
            finish(adm, r).await
        }
    }
}
