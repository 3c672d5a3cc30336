//! The demo: a workspace connected to the local provider sandboxes through the
//! same connect path a real user takes, then synced, so a newcomer sees real
//! records (and, once matching lands, real conflicts) within a minute.
//!
//! [`SandboxInfo::fetch`] reads a running `concord-sandbox`'s ready line from
//! `{origin}/_sandbox/ready` (its base URLs, OAuth client ids and secrets,
//! private-app tokens and tenants). [`Workspace::demo_connect`] then connects
//! four connections named in [`DEMO_CONNECTIONS`] with [`Workspace::connect`]:
//! OAuth with PKCE for Xero and QuickBooks, where the "browser" is
//! [`FollowSignIn`], an opener that follows the sandbox's authorize page (which
//! approves at once) to the loopback redirect listener with an HTTP client,
//! exactly as a browser would minus the user's click; and the private-app
//! (HubSpot) and custom-app (Shopify) token route, the token passed in the
//! request as the Connections screen or `--token-env` would pass it. Tokens go
//! to the workspace's secret store (the OS keychain) like any connection's.
//! Running it again reconnects the same connections under the same ids.
//! [`Workspace::demo_sync`] then runs a first sync with the keychain's credentials,
//! after which the caller runs matching ([`Workspace::run_matching`]).
//!
//! **Invariant:** the demo talks only to 127.0.0.1: a sandbox URL or a sign-in
//! redirect elsewhere is refused.

use crate::connect::ConnectRequest;
use crate::error::{ApiError, ErrorCode, Result};
use crate::json::ConnectionSummary;
use crate::sync::{SyncOptions, SyncProgress, SyncStreamResult};
use crate::workspace::Workspace;
use concord_connect::flow::{OpenFuture, Opener};
use concord_core::Provider;
use std::collections::HashMap;
use std::time::Duration;

/// The demo's connections: provider and name. Re-running the demo reconnects these names.
pub const DEMO_CONNECTIONS: [(Provider, &str); 4] = [
    (Provider::HubSpot, "HubSpot (demo)"),
    (Provider::Shopify, "Shopify (demo)"),
    (Provider::Xero, "Xero (demo)"),
    (Provider::QuickBooks, "QuickBooks (demo)"),
];

/// How long a demo sign-in waits for the redirect (the sandbox answers at once).
pub const DEMO_SIGN_IN_TIMEOUT: Duration = Duration::from_secs(30);

/// One provider as a running sandbox serves it.
#[derive(Clone)]
pub struct SandboxProvider {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// HubSpot private-app or Shopify custom-app token.
    pub static_token: Option<String>,
    /// Xero tenant id, QuickBooks realm id, Shopify shop domain or HubSpot hub id.
    pub tenant: Option<String>,
}

impl std::fmt::Debug for SandboxProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxProvider")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// A running `concord-sandbox`, from its ready line.
#[derive(Debug, Clone)]
pub struct SandboxInfo {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    pub seed: u64,
    /// Provider seconds per real second.
    pub time_scale: f64,
    /// Customers in the generated business.
    pub customers: u64,
    providers: HashMap<Provider, SandboxProvider>,
}

fn unavailable(msg: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, msg)
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidInput, msg)
}

/// Whether `url` is an http URL on this machine's loopback interface.
pub fn is_loopback(url: &str) -> bool {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            u.scheme() == "http"
                && match u.host() {
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    Some(url::Host::Domain(d)) => d == "localhost",
                    None => false,
                }
        }
        Err(_) => false,
    }
}

fn http() -> reqwest::Client {
    // No proxy: the sandbox is on loopback, and a proxy would only see demo tokens in transit.
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap_or_default()
}

impl SandboxInfo {
    /// Reads the ready line of the sandbox at `origin` (`http://127.0.0.1:PORT`).
    pub async fn fetch(origin: &str) -> Result<SandboxInfo> {
        let origin = origin.trim().trim_end_matches('/');
        if !is_loopback(origin) {
            return Err(invalid(format!(
                "the demo only talks to a sandbox on this machine; {origin:?} is not an http://127.0.0.1:PORT address (use the origin concord-sandbox printed)"
            )));
        }
        let url = format!("{origin}/_sandbox/ready");
        let hint = "is concord-sandbox running there? Start it with `cargo run -p concord-sandbox -- --port 0` and pass the origin it prints";
        let resp = http().get(&url).send().await.map_err(|e| unavailable(format!("could not reach the sandbox at {origin}: {}; {hint}", e.without_url())))?;
        if !resp.status().is_success() {
            return Err(unavailable(format!("{url} answered HTTP {}; {hint}", resp.status())));
        }
        let ready: serde_json::Value = resp.json().await.map_err(|e| unavailable(format!("{url} answered something that is not a sandbox ready line: {}", e.without_url())))?;
        SandboxInfo::from_ready_line(&ready)
    }

    /// Parses the JSON line `concord-sandbox` prints when ready.
    pub fn from_ready_line(ready: &serde_json::Value) -> Result<SandboxInfo> {
        let bad = |what: &str| invalid(format!("the sandbox's ready line has no {what}; is it a concord-sandbox of this version?"));
        let text = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let origin = text(ready, "origin").ok_or_else(|| bad("origin"))?;
        if !is_loopback(&origin) {
            return Err(invalid(format!("the sandbox says it serves {origin:?}, which is not on 127.0.0.1; the demo talks only to this machine")));
        }
        let mut providers = HashMap::new();
        for (p, _) in DEMO_CONNECTIONS {
            let v = ready.get("providers").and_then(|ps| ps.get(p.as_str())).ok_or_else(|| bad(p.as_str()))?;
            let tenant_key = match p {
                Provider::HubSpot => "hub_id",
                Provider::Shopify => "shop",
                Provider::Xero => "tenant_id",
                Provider::QuickBooks => "realm_id",
            };
            let tenant = v.get(tenant_key).and_then(|t| t.as_str().map(str::to_string).or_else(|| t.as_u64().map(|n| n.to_string())));
            let base_url = text(v, "base_url").ok_or_else(|| bad(&format!("{p} base_url")))?;
            if !is_loopback(&base_url) {
                return Err(invalid(format!("the sandbox's {p} address {base_url:?} is not on 127.0.0.1")));
            }
            providers.insert(
                p,
                SandboxProvider {
                    base_url,
                    client_id: text(v, "client_id").ok_or_else(|| bad(&format!("{p} client_id")))?,
                    client_secret: text(v, "client_secret"),
                    static_token: text(v, "static_token"),
                    tenant,
                },
            );
        }
        Ok(SandboxInfo {
            origin,
            seed: ready.get("seed").and_then(|s| s.as_u64()).unwrap_or_default(),
            time_scale: ready.get("time_scale").and_then(|s| s.as_f64()).filter(|s| *s > 0.0).unwrap_or(1.0),
            customers: ready.get("customers").and_then(|s| s.as_u64()).unwrap_or_default(),
            providers,
        })
    }

    /// What the sandbox serves for `provider`.
    pub fn provider(&self, provider: Provider) -> Option<&SandboxProvider> {
        self.providers.get(&provider)
    }

    /// The connect request a user would make for the demo connection of `provider`.
    ///
    /// HubSpot and Shopify use their private-app / custom-app token; Xero and
    /// QuickBooks sign in with OAuth (PKCE for Xero; QuickBooks with its client secret).
    pub fn connect_request(&self, provider: Provider, name: &str) -> Result<ConnectRequest> {
        let p = self.provider(provider).ok_or_else(|| invalid(format!("the sandbox serves no {provider}")))?;
        let private_app = matches!(provider, Provider::HubSpot | Provider::Shopify);
        let private_token = if private_app {
            Some(p.static_token.clone().ok_or_else(|| invalid(format!("the sandbox offers no {} private-app token", provider.display_name())))?)
        } else {
            None
        };
        Ok(ConnectRequest {
            provider,
            name: name.to_string(),
            base_url: Some(p.base_url.clone()),
            client_id: (!private_app).then(|| p.client_id.clone()),
            client_secret: if private_app { None } else { p.client_secret.clone() },
            private_token,
            tenant_id: None,
            extra_scopes: vec![],
        })
    }
}

/// The demo's "browser": follows the sandbox's authorize URL, which approves at
/// once and redirects, to the loopback redirect listener, with an HTTP client.
/// It is what a browser does after the user clicks "Allow"; it refuses to
/// follow anything that is not on 127.0.0.1.
#[derive(Debug, Default, Clone, Copy)]
pub struct FollowSignIn;

impl Opener for FollowSignIn {
    fn open<'a>(&'a self, url: &'a str) -> OpenFuture<'a> {
        Box::pin(async move {
            if !is_loopback(url) {
                return Err("the demo follows only sign-in pages on 127.0.0.1".to_string());
            }
            let http = http();
            let resp = http.get(url).send().await.map_err(|e| format!("the sandbox's sign-in page did not answer: {}", e.without_url()))?;
            if !resp.status().is_redirection() {
                return Err(format!("the sandbox's sign-in page answered HTTP {} instead of approving", resp.status()));
            }
            let to = resp.headers().get("location").and_then(|v| v.to_str().ok()).ok_or("the sandbox's sign-in approved without a redirect")?.to_string();
            if !is_loopback(&to) {
                return Err("the sign-in redirected away from 127.0.0.1; the demo does not follow it".to_string());
            }
            http.get(&to).send().await.map_err(|e| format!("the redirect listener did not answer: {}", e.without_url()))?;
            Ok(())
        })
    }
}

/// One demo connection after connecting.
#[derive(Debug, Clone)]
pub struct DemoConnection {
    pub summary: ConnectionSummary,
    /// Whether it existed already (the demo was run before on this workspace).
    pub reconnected: bool,
}

impl Workspace {
    /// Connects (or reconnects) the four demo connections to the sandbox with
    /// [`Workspace::connect`], the path the Connections screen and `concord connect` take.
    /// `opener` is the browser ([`FollowSignIn`] for the demo); `show_url` receives each sign-in address.
    pub async fn demo_connect(&self, sandbox: &SandboxInfo, opener: &dyn Opener, show_url: &(dyn Fn(&str) + Send + Sync)) -> Result<Vec<DemoConnection>> {
        let before: Vec<String> = self.list_connections()?.into_iter().map(|c| c.name).collect();
        let mut out = Vec::new();
        for (provider, name) in DEMO_CONNECTIONS {
            let req = sandbox.connect_request(provider, name)?;
            let summary = self.connect_with_timeout(&req, opener, show_url, DEMO_SIGN_IN_TIMEOUT).await.map_err(|e| {
                let extra = if e.message.contains("was connected to") {
                    "; this workspace's demo connections belong to a sandbox with another --seed: run the demo on a new workspace or with the same seed"
                } else {
                    ""
                };
                ApiError::new(e.code, format!("connecting {name:?} to the sandbox failed: {}{extra}", e.message))
            })?;
            out.push(DemoConnection { summary, reconnected: before.iter().any(|b| b == name) });
        }
        self.record("demo.connect", &sandbox.origin, serde_json::json!({ "seed": sandbox.seed, "customers": sandbox.customers, "connections": out.len() }))?;
        Ok(out)
    }

    /// The first sync of the demo connections, with the credentials the keychain holds for them.
    pub async fn demo_sync(&self, time_scale: f64, progress: &(dyn Fn(SyncProgress) + Send + Sync)) -> Result<Vec<SyncStreamResult>> {
        let names: Vec<String> = DEMO_CONNECTIONS.iter().map(|(_, n)| n.to_string()).collect();
        let options = SyncOptions { rate_limits: true, time_scale, ..Default::default() };
        self.sync_connected(&names, &options, progress).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_are_followed() {
        assert!(is_loopback("http://127.0.0.1:4000/xero"), "the sandbox's own address is loopback");
        assert!(is_loopback("http://localhost:4000"), "localhost is loopback");
        assert!(!is_loopback("https://login.xero.com/identity/connect/authorize"), "a real provider must never be followed by the demo");
        assert!(!is_loopback("http://10.0.0.2:4000"), "another machine is not loopback");
        assert!(!is_loopback("not a url"), "garbage is refused");
    }

    #[test]
    fn a_ready_line_pointing_elsewhere_is_refused() {
        let line = serde_json::json!({ "origin": "http://203.0.113.9:80", "providers": {} });
        let err = SandboxInfo::from_ready_line(&line).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "a sandbox off this machine is a caller mistake: {}", err.message);
    }
}
