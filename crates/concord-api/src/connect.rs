//! Connecting accounts: sign in, keep tokens in the keychain, hand credentials to sync, disconnect.
//!
//! [`Workspace::connect`] runs the OAuth sign-in (or checks a private-app
//! token), picks the tenant, and files the tokens in the OS keychain under
//! `connection/<id>/tokens`; the `connections` row records only the account
//! name, the tenant and the granted scopes. Connecting again under an existing
//! name keeps the connection's id, so its records and sync bookmarks carry on.
//! [`Workspace::credentials`] builds the [`concord_core::Credentials`] the sync
//! engine asks for tokens; when the provider refuses the grant it marks the
//! connection `needs_reauth` in the store (nothing local is deleted).
//! [`Workspace::disconnect`] removes the keychain entry and keeps or deletes
//! the local data, as the user chooses.

use crate::error::{ApiError, ErrorCode, Result};
use crate::json::ConnectionSummary;
use crate::workspace::{Workspace, DATABASE_FILE};
use concord_connect::credentials::{OAuthCredentials, ReauthHook, StaticCredentials};
use concord_connect::flow::{self, AuthorizeParams, Opener, Tenant};
use concord_connect::provider::Endpoints;
use concord_connect::{descriptor, vault, ConnectError, HttpTransport, OAuthDescriptor, TokenBundle, TokenClient};
use concord_core::{Credentials, Provider, Secret};
use concord_secret::SecretStore;
use concord_store::connection::{self, ConnectionState, NewConnection};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use ts_rs::TS;

/// What the Connections screen or `concord connect` asks for. Secrets arrive
/// here from a masked field or an environment variable, never from argv, and
/// are never sent back.
#[derive(Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConnectRequest {
    pub provider: Provider,
    /// The connection's name; an existing name reconnects that connection.
    pub name: String,
    /// Another endpoint: a provider sandbox, a regional API, or a Shopify shop (https://SHOP.myshopify.com).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The OAuth client id of the user's own app (kept from the last connection when omitted).
    #[serde(default)]
    pub client_id: Option<String>,
    /// The app's client secret (QuickBooks, Shopify public apps); kept in the keychain.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// A HubSpot private-app or Shopify custom-app token instead of OAuth.
    #[serde(default)]
    pub private_token: Option<String>,
    /// The organisation to connect when the grant reaches several.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Scopes to ask for beyond the default ones.
    #[serde(default)]
    pub extra_scopes: Vec<String>,
}

impl std::fmt::Debug for ConnectRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectRequest")
            .field("provider", &self.provider)
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[redacted]"))
            .field("private_token", &self.private_token.as_ref().map(|_| "[redacted]"))
            .field("tenant_id", &self.tenant_id)
            .finish()
    }
}

/// How to end a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum LocalData {
    /// Keep its records and bookmarks (it can be reconnected later under the same name).
    Keep,
    /// Delete its records, bookmarks and pending writes.
    Delete,
}

/// What the sync engine needs to reach one connection.
pub struct ConnectionAccess {
    pub connection_id: i64,
    pub provider: Provider,
    /// Where the API is (the base URL given at connect time, or the real provider's).
    pub api_base: String,
    /// Xero tenant id, QuickBooks realm id, Shopify shop domain or HubSpot hub id.
    pub tenant_id: Option<String>,
    pub credentials: Arc<dyn Credentials>,
}

impl std::fmt::Debug for ConnectionAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionAccess").field("connection_id", &self.connection_id).field("provider", &self.provider).finish_non_exhaustive()
    }
}

/// How long the sign-in waits for the browser.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

impl From<ConnectError> for ApiError {
    fn from(e: ConnectError) -> Self {
        let code = match &e {
            ConnectError::InvalidInput(_) => ErrorCode::InvalidInput,
            ConnectError::KeychainUnavailable(_) => ErrorCode::KeychainUnavailable,
            ConnectError::AuthRejected(_) => ErrorCode::AuthRejected,
            ConnectError::Timeout(_) => ErrorCode::AuthRejected,
            ConnectError::NeedsReauth(_) => ErrorCode::NeedsReauth,
            ConnectError::Unavailable(_) => ErrorCode::Unavailable,
        };
        ApiError::new(code, e.to_string())
    }
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidInput, msg)
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The command that reconnects a connection, for messages.
pub fn reconnect_hint(provider: Provider, name: &str) -> String {
    format!("reconnect it on the Connections screen or with `concord connect {} --name {name:?}`", provider.as_str())
}

impl Workspace {
    /// Uses `store` for secrets instead of the OS keychain (tests).
    pub fn with_secret_store(mut self, store: Arc<dyn SecretStore>) -> Self {
        self.secrets = store;
        self
    }

    /// Connects (or reconnects) an account; `show_url` receives the sign-in address to print.
    pub async fn connect(&self, req: &ConnectRequest, opener: &dyn Opener, show_url: &(dyn Fn(&str) + Send + Sync)) -> Result<ConnectionSummary> {
        self.connect_with_timeout(req, opener, show_url, SIGN_IN_TIMEOUT).await
    }

    /// [`Workspace::connect`] with a chosen sign-in timeout.
    pub async fn connect_with_timeout(
        &self,
        req: &ConnectRequest,
        opener: &dyn Opener,
        show_url: &(dyn Fn(&str) + Send + Sync),
        timeout: Duration,
    ) -> Result<ConnectionSummary> {
        let name = req.name.trim().to_string();
        if name.is_empty() {
            return Err(invalid("a connection needs a name (--name), for example \"Books\""));
        }
        let d = descriptor(req.provider);
        let base_url = nonempty(&req.base_url).map(|b| b.trim_end_matches('/').to_string());
        let endpoints = d.endpoints(base_url.as_deref())?;
        let existing = match connection::by_name(self.store().conn(), &name) {
            Ok(row) => Some(row),
            Err(concord_store::StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        if let Some(row) = &existing {
            if row.provider != req.provider {
                return Err(invalid(format!("{name:?} is a {} connection; choose another name for {}", row.provider.display_name(), req.provider.display_name())));
            }
        }
        // Refuse before the browser opens when there is nowhere safe to keep the tokens.
        let old_bundle = match existing.as_ref().and_then(|r| r.keychain_account.clone()) {
            Some(account) => vault::load(&self.secrets, &account).await.ok().flatten(),
            None => {
                vault::load(&self.secrets, "probe").await?;
                None
            }
        };
        let (bundle, tenants, scopes) = match nonempty(&req.private_token) {
            Some(token) => {
                if !d.private_app {
                    return Err(invalid(format!("{} has no private-app tokens; connect with OAuth instead", d.provider.display_name())));
                }
                let token = Secret::new(token);
                let tenant = flow::check_static_token(req.provider, &endpoints, &token).await?;
                (TokenBundle::static_token(&token), tenant.into_iter().collect::<Vec<_>>(), String::new())
            }
            None => self.sign_in(req, d, &endpoints, old_bundle.as_ref(), existing.as_ref().map(|r| r.scopes.as_str()), opener, show_url, timeout).await?,
        };
        let tenant = choose_tenant(&tenants, req.tenant_id.as_deref())?;
        if let (Some(row), Some(t)) = (&existing, &tenant) {
            if row.tenant_id.as_deref().is_some_and(|old| old != t.id) {
                return Err(invalid(format!(
                    "{name:?} was connected to {} but this sign-in reached {}; use another name to connect a different organisation",
                    row.tenant_name.clone().or(row.tenant_id.clone()).unwrap_or_default(),
                    t.name.clone().unwrap_or(t.id.clone())
                )));
            }
        }
        let now = self.now();
        let id = match &existing {
            Some(row) => row.id,
            None => {
                let new = NewConnection {
                    name: &name,
                    provider: req.provider,
                    base_url: base_url.as_deref(),
                    tenant_id: tenant.as_ref().map(|t| t.id.as_str()),
                    tenant_name: tenant.as_ref().and_then(|t| t.name.as_deref()),
                    scopes: &scopes,
                    keychain_account: None,
                };
                connection::insert(self.store().conn(), &new, &now)?
            }
        };
        let account = vault::account(id);
        if let Err(e) = vault::save(&self.secrets, &account, &bundle).await {
            if existing.is_none() {
                let _ = connection::delete(self.store().conn(), id);
            }
            return Err(e.into());
        }
        let grant = NewConnection {
            name: &name,
            provider: req.provider,
            base_url: base_url.as_deref(),
            tenant_id: tenant.as_ref().map(|t| t.id.as_str()),
            tenant_name: tenant.as_ref().and_then(|t| t.name.as_deref()),
            scopes: &scopes,
            keychain_account: Some(&account),
        };
        connection::record_grant(self.store().conn(), id, &grant, &now)?;
        let action = if existing.is_some() { "connection.reconnect" } else { "connection.connect" };
        self.record(
            action,
            &name,
            serde_json::json!({
                "id": id,
                "provider": req.provider.as_str(),
                "tenant": tenant.as_ref().map(|t| t.id.clone()),
                "scopes": scopes,
                "kind": if bundle.is_static() { "private_app" } else { "oauth" },
            }),
        )?;
        self.summary(id)
    }

    #[allow(clippy::too_many_arguments)]
    async fn sign_in(
        &self,
        req: &ConnectRequest,
        d: &'static OAuthDescriptor,
        endpoints: &Endpoints,
        old: Option<&TokenBundle>,
        old_scopes: Option<&str>,
        opener: &dyn Opener,
        show_url: &(dyn Fn(&str) + Send + Sync),
        timeout: Duration,
    ) -> Result<(TokenBundle, Vec<Tenant>, String)> {
        let client_id = nonempty(&req.client_id).or_else(|| old.map(|b| b.client_id.clone()).filter(|c| !c.is_empty())).ok_or_else(|| {
            invalid(format!("{} needs your app's OAuth client id: pass --client-id ID (or fill in Client ID)", d.provider.display_name()))
        })?;
        let client_secret = nonempty(&req.client_secret).or_else(|| old.and_then(|b| b.client_secret.clone())).map(Secret::new);
        let mut scopes: Vec<String> = d.scopes.iter().map(|s| s.to_string()).collect();
        scopes.extend(old_scopes.map(OAuthDescriptor::split_scopes).unwrap_or_default());
        scopes.extend(req.extra_scopes.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
        let mut seen = std::collections::BTreeSet::new();
        scopes.retain(|s| seen.insert(s.clone()));
        let params = AuthorizeParams { provider: req.provider, endpoints: endpoints.clone(), client_id: client_id.clone(), client_secret: client_secret.clone(), scopes, timeout };
        let got = flow::authorize(&params, opener, Arc::new(HttpTransport::default()), show_url).await?;
        let tenants = flow::discover_tenants(req.provider, endpoints, &got.tokens.access_token, &got.callback).await?;
        let mut bundle = TokenBundle { client_id, client_secret: client_secret.map(|s| s.expose().to_string()), ..Default::default() };
        bundle.apply(&got.tokens, self.clock_now(), d.access_lifetime);
        Ok((bundle, tenants, got.granted_scopes.join(" ")))
    }

    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        concord_core::timestamp::parse(&self.now()).unwrap_or_else(|_| chrono::Utc::now())
    }

    fn summary(&self, id: i64) -> Result<ConnectionSummary> {
        let all = self.list_connections()?;
        all.into_iter().find(|c| i64::from(c.id) == id).ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("connection #{id}")))
    }

    /// Ends a connection: its secrets leave the keychain; its local data stays or goes as asked.
    pub async fn disconnect(&self, name: &str, data: LocalData) -> Result<()> {
        let row = connection::by_name(self.store().conn(), name.trim())?;
        if let Some(account) = &row.keychain_account {
            vault::delete(&self.secrets, account).await?;
        }
        // Also remove the conventional account, in case the row lost its name for it.
        vault::delete(&self.secrets, &vault::account(row.id)).await?;
        let now = self.now();
        match data {
            LocalData::Keep => connection::mark_disconnected(self.store().conn(), row.id, &now)?,
            LocalData::Delete => connection::delete(self.store().conn(), row.id)?,
        }
        self.record("connection.disconnect", &row.name, serde_json::json!({ "id": row.id, "provider": row.provider.as_str(), "local_data": format!("{data:?}").to_lowercase() }))?;
        Ok(())
    }

    /// Marks a connection as needing re-authorisation (the provider refused its grant).
    pub fn mark_needs_reauth(&self, id: i64, reason: &str) -> Result<()> {
        mark_needs_reauth_at(&self.dir().join(DATABASE_FILE), id, reason, &self.now(), &self.actor_name())
    }

    fn actor_name(&self) -> String {
        "concord".to_string()
    }

    /// The credentials, API base and tenant of a connection, for the sync engine.
    ///
    /// A connection that needs re-authorisation or was disconnected is refused
    /// with [`ErrorCode::NeedsReauth`] and a message saying how to reconnect.
    pub async fn credentials(&self, name: &str) -> Result<ConnectionAccess> {
        let row = connection::by_name(self.store().conn(), name.trim())?;
        let hint = reconnect_hint(row.provider, &row.name);
        match row.status {
            ConnectionState::Connected => {}
            ConnectionState::NeedsReauth => return Err(ApiError::new(ErrorCode::NeedsReauth, format!("{:?} needs re-authorisation: {hint}", row.name))),
            ConnectionState::Disconnected => return Err(ApiError::new(ErrorCode::NeedsReauth, format!("{:?} is disconnected: {hint}", row.name))),
        }
        let account = row.keychain_account.clone().unwrap_or_else(|| vault::account(row.id));
        let bundle = match vault::load(&self.secrets, &account).await? {
            Some(b) => b,
            None => {
                self.mark_needs_reauth(row.id, "no tokens in the keychain")?;
                return Err(ApiError::new(ErrorCode::NeedsReauth, format!("the keychain holds no tokens for {:?}: {hint}", row.name)));
            }
        };
        let d = descriptor(row.provider);
        let endpoints = d.endpoints(row.base_url.as_deref())?;
        let db = self.dir().join(DATABASE_FILE);
        let id = row.id;
        let hook: ReauthHook = Arc::new(move |reason: String| {
            let now = concord_core::timestamp::format(chrono::Utc::now());
            let _ = mark_needs_reauth_at(&db, id, &reason, &now, "concord");
        });
        let credentials: Arc<dyn Credentials> = if bundle.is_static() {
            Arc::new(StaticCredentials::new(Secret::new(bundle.access_token.clone()), Some(hook)))
        } else {
            let client = TokenClient {
                descriptor: d,
                token_url: endpoints.token.to_string(),
                client_id: bundle.client_id.clone(),
                client_secret: bundle.client_secret.clone().map(Secret::new),
                transport: Arc::new(HttpTransport::default()),
            };
            Arc::new(OAuthCredentials::new(account, self.secrets.clone(), client, Arc::new(concord_core::SystemClock)).on_reauth(hook))
        };
        Ok(ConnectionAccess { connection_id: row.id, provider: row.provider, api_base: endpoints.api, tenant_id: row.tenant_id, credentials })
    }

    /// Checks that a connection was granted `needed` scopes; if not, says to reconnect asking for them.
    pub fn require_scopes(&self, name: &str, needed: &[&str]) -> Result<()> {
        let row = connection::by_name(self.store().conn(), name.trim())?;
        let granted = OAuthDescriptor::split_scopes(&row.scopes);
        if granted.is_empty() {
            // Private-app tokens carry whatever the merchant granted; the provider will say.
            return Ok(());
        }
        let missing: Vec<&str> = needed.iter().copied().filter(|s| !granted.iter().any(|g| g == s)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let flags: String = missing.iter().map(|s| format!(" --scope {s}")).collect();
        Err(ApiError::new(
            ErrorCode::ScopeMissing,
            format!(
                "{:?} was not granted {}; approve it by reconnecting: `concord connect {} --name {:?}{flags}` (or Reconnect on the Connections screen)",
                row.name,
                missing.join(", "),
                row.provider.as_str(),
                row.name
            ),
        ))
    }
}

fn choose_tenant(tenants: &[Tenant], wanted: Option<&str>) -> Result<Option<Tenant>> {
    let wanted = wanted.map(str::trim).filter(|w| !w.is_empty());
    match (tenants, wanted) {
        ([], None) => Ok(None),
        (_, Some(w)) => tenants.iter().find(|t| t.id == w || t.name.as_deref() == Some(w)).cloned().map(Some).ok_or_else(|| {
            invalid(format!("the sign-in does not reach {w:?}; it reaches: {}", list(tenants)))
        }),
        ([one], None) => Ok(Some(one.clone())),
        (_, None) => Err(ApiError::new(
            ErrorCode::ChooseTenant,
            format!("the sign-in reaches several organisations; choose one with --tenant ID (or in the list) and connect again: {}", list(tenants)),
        )),
    }
}

fn list(tenants: &[Tenant]) -> String {
    tenants.iter().map(|t| match &t.name { Some(n) => format!("{} ({n})", t.id), None => t.id.clone() }).collect::<Vec<_>>().join(", ")
}

/// Marks connection `id` in the database at `db` as needing re-authorisation, and audits it.
/// Opens its own handle so it can run from a token refresh on any thread.
fn mark_needs_reauth_at(db: &std::path::Path, id: i64, reason: &str, now: &str, actor: &str) -> Result<()> {
    let mut store = concord_store::Store::open(db)?;
    store.transaction(|tx| {
        let row = connection::by_id(tx, id)?;
        if row.status == ConnectionState::NeedsReauth {
            return Ok(());
        }
        connection::set_status(tx, id, ConnectionState::NeedsReauth, now)?;
        concord_store::audit::append(
            tx,
            &concord_store::audit::NewEntry { actor, action: "connection.needs_reauth", subject: &row.name, detail: &serde_json::json!({ "id": id, "reason": reason }) },
            now,
        )?;
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_choice_is_explicit_when_there_are_several() {
        let one = vec![Tenant { id: "a".into(), name: Some("Acme".into()) }];
        let two = vec![Tenant { id: "a".into(), name: Some("Acme".into()) }, Tenant { id: "b".into(), name: Some("Beta".into()) }];
        assert_eq!(choose_tenant(&one, None).unwrap().unwrap().id, "a", "a single organisation is chosen without asking");
        let err = choose_tenant(&two, None).unwrap_err();
        assert_eq!(err.code, ErrorCode::ChooseTenant, "several organisations must be a choice, not a guess");
        assert!(err.message.contains("b (Beta)"), "the choices must be listed: {}", err.message);
        assert_eq!(choose_tenant(&two, Some("Beta")).unwrap().unwrap().id, "b", "a tenant may be chosen by name");
        assert_eq!(choose_tenant(&two, Some("zzz")).unwrap_err().code, ErrorCode::InvalidInput, "an unknown choice is a mistake");
    }

    #[test]
    fn requests_do_not_print_secrets() {
        let r = ConnectRequest {
            provider: Provider::Shopify,
            name: "Shop".into(),
            base_url: None,
            client_id: None,
            client_secret: Some("cs-very-secret".into()),
            private_token: Some("pat-very-secret".into()),
            tenant_id: None,
            extra_scopes: vec![],
        };
        assert!(!format!("{r:?}").contains("very-secret"), "Debug of a request must redact its secrets");
    }
}
