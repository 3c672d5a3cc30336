//! Loopback sandboxes of the four providers Concord connects to: HubSpot,
//! Shopify, Xero and QuickBooks Online, holding one seeded, realistically
//! messy Australian small business, with OAuth, rate limits and fault
//! injection as the real providers have them.
//!
//! Concord's sync and connect code is written against providers it cannot
//! call from tests or CI; this crate stands in for them on 127.0.0.1 with the
//! real paths, parameters, headers, JSON shapes and failure modes, so the
//! same client code runs unchanged against a base URL per provider.
//!
//! # Overview
//!
//! - [`Sandbox::start`] generates the business ([`business::World`]) from a
//!   seed, binds one listener and returns a [`SandboxHandle`].
//! - [`SandboxHandle::base_url`] gives each provider's base URL; every
//!   provider lives under its own prefix with its real paths after it:
//!   `{origin}/hubspot/crm/v3/objects/contacts`,
//!   `{origin}/shopify/admin/api/2025-01/graphql.json`,
//!   `{origin}/xero/api.xro/2.0/Contacts`,
//!   `{origin}/quickbooks/v3/company/{realmId}/query`, with each provider's
//!   OAuth endpoints under the same prefix (see [`oauth`]).
//! - [`SandboxHandle::credentials`] gives the OAuth client ids and secrets
//!   and the static tokens the sandbox accepts.
//! - The control API under `{origin}/_sandbox` (see [`control`]) exposes the
//!   state, the write counters, the ground truth, and lets tests change the
//!   fault plan, edit records as a colleague would, and restore tokens.
//! - [`ground_truth::GroundTruth`] lists every true cross-system link and
//!   every planted discrepancy, for measuring matching precision and recall.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use concord_sandbox::{Provider, Sandbox, SandboxConfig};
//! let sandbox = Sandbox::start(SandboxConfig { customers: 200, time_scale: 60.0, ..Default::default() }).await?;
//! let hubspot = sandbox.base_url(Provider::HubSpot);
//! let token = sandbox.credentials(Provider::HubSpot).static_token.unwrap();
//! // GET {hubspot}/crm/v3/objects/contacts?limit=100 with `Authorization: Bearer {token}`
//! # let _ = (hubspot, token);
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

pub mod business;
pub mod clock;
pub mod control;
pub mod faults;
pub mod graphql;
pub mod ground_truth;
pub mod hubspot;
pub mod ledger;
pub mod oauth;
pub mod provider;
pub mod quickbooks;
pub mod ratelimit;
pub mod record;
pub mod response;
pub mod shopify;
pub mod state;
pub mod xero;

pub use faults::{FaultKind, FaultPlan, FaultRule};
pub use ground_truth::GroundTruth;
pub use provider::Provider;
pub use ratelimit::RateLimitConfig;

use business::{BusinessConfig, World};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use state::SandboxState;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::oneshot;

/// What one sandbox run serves.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Seeds the business, the fault decisions and the tokens.
    pub seed: u64,
    /// Real customers to generate (demo 2,000; benchmarks 100,000).
    pub customers: usize,
    /// 60 makes a provider minute last one real second: token lifetimes and
    /// rate-limit windows shrink, and `expires_in` and `Retry-After` are
    /// sent in real seconds.
    pub time_scale: f64,
    /// Port on 127.0.0.1 (0 picks a free one).
    pub port: u16,
    pub faults: FaultPlan,
    pub rate_limits: RateLimitConfig,
    /// The provider time at start (default: the wall clock at start).
    pub start_time: Option<DateTime<Utc>>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            seed: 7,
            customers: 2_000,
            time_scale: 1.0,
            port: 0,
            faults: FaultPlan::default(),
            rate_limits: RateLimitConfig::default(),
            start_time: None,
        }
    }
}

/// The credentials the sandbox accepts for one provider.
#[derive(Clone, Debug, Serialize)]
pub struct Credentials {
    pub client_id: String,
    /// None for Xero (a PKCE desktop app has no secret).
    pub client_secret: Option<String>,
    /// HubSpot private-app token or Shopify custom-app Admin API token.
    pub static_token: Option<String>,
    pub scopes: String,
    pub authorize_url: String,
    pub token_url: String,
}

/// Starts sandboxes.
pub struct Sandbox;

impl Sandbox {
    /// Generates the business, binds 127.0.0.1 and starts serving.
    pub async fn start(config: SandboxConfig) -> std::io::Result<SandboxHandle> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let business = BusinessConfig { seed: config.seed, customers: config.customers };
        let world = tokio::task::spawn_blocking(move || World::generate(&business))
            .await
            .map_err(|e| std::io::Error::other(format!("generating the business failed: {e}")))?;
        let clock = clock::SandboxClock::new(config.start_time.unwrap_or_else(Utc::now), config.time_scale);
        let tenant = world.xero_ids().id(provider::XeroKind::Tenant, 0).to_string();
        let state = Arc::new(SandboxState {
            seed: config.seed,
            clock,
            world: RwLock::new(world),
            ledger: Mutex::new(ledger::Ledger::default()),
            oauth: Mutex::new(oauth::OAuthState::new(config.seed)),
            limits: Mutex::new(ratelimit::RateLimits::new(config.rate_limits.clone())),
            faults: Mutex::new(faults::FaultEngine::new(config.seed, config.faults.clone())),
            xero_tenant_id: tenant,
            origin: format!("http://{addr}"),
            world_version: Default::default(),
            rendered: Default::default(),
        });
        let app = router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(SandboxHandle { addr, state, shutdown: Some(tx), task: Some(task) })
    }
}

/// The router of every provider and the control API.
pub fn router(state: Arc<SandboxState>) -> axum::Router {
    axum::Router::new()
        .nest("/hubspot", hubspot::routes().merge(oauth::routes(Provider::HubSpot)))
        .nest("/shopify", shopify::routes().merge(oauth::routes(Provider::Shopify)))
        .nest("/xero", xero::routes().merge(oauth::routes(Provider::Xero)))
        .nest("/quickbooks", quickbooks::routes().merge(oauth::routes(Provider::QuickBooks)))
        .nest("/_sandbox", control::routes())
        .with_state(state)
}

/// A running sandbox. Dropping it stops the listener at the next await.
pub struct SandboxHandle {
    addr: SocketAddr,
    state: Arc<SandboxState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SandboxHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL a client of `provider` is configured with; the
    /// provider's real paths follow it.
    pub fn base_url(&self, provider: Provider) -> String {
        format!("{}/{}", self.origin(), provider.as_str())
    }

    /// The control API's base URL.
    pub fn control_url(&self) -> String {
        format!("{}/_sandbox", self.origin())
    }

    /// Shared state, for in-process inspection.
    pub fn state(&self) -> &Arc<SandboxState> {
        &self.state
    }

    /// The Xero tenant id to send as `xero-tenant-id`.
    pub fn xero_tenant_id(&self) -> String {
        self.state.xero_tenant_id.clone()
    }

    /// The QuickBooks company (realm) id.
    pub fn quickbooks_realm_id(&self) -> &'static str {
        business::QUICKBOOKS_REALM_ID
    }

    /// The credentials accepted for a provider.
    pub fn credentials(&self, provider: Provider) -> Credentials {
        credentials(&self.state, provider)
    }

    /// The answer key of the generated business, in served ids.
    pub fn ground_truth(&self) -> GroundTruth {
        GroundTruth::build(&self.state.read())
    }

    /// Streams the answer key to a file.
    pub fn write_ground_truth(&self, path: &std::path::Path) -> std::io::Result<()> {
        let f = std::fs::File::create(path)?;
        ground_truth::write_json(&self.state.read(), f)
    }

    /// The write and request counters (as `GET /_sandbox/counters`).
    pub fn counters(&self) -> Value {
        self.state.ledger().counters()
    }

    /// Replaces the fault plan.
    pub fn set_faults(&self, plan: FaultPlan) {
        self.state.faults.lock().unwrap_or_else(|e| e.into_inner()).set_plan(plan);
    }

    /// Runs `f` over the current world.
    pub fn with_world<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&self.state.read())
    }

    /// The one JSON line `concord-sandbox` prints when ready.
    pub fn ready_line(&self) -> Value {
        ready_line(&self.state)
    }

    /// Stops serving and waits for the listener to close.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The credentials accepted for a provider.
pub fn credentials(st: &SandboxState, p: Provider) -> Credentials {
    let o = st.oauth.lock().unwrap_or_else(|e| e.into_inner());
    let app = o.app(p);
    let base = format!("{}/{}", st.origin, p.as_str());
    let (authorize, token) = match p {
        Provider::HubSpot => ("/oauth/authorize", "/oauth/v1/token"),
        Provider::Shopify => ("/admin/oauth/authorize", "/admin/oauth/access_token"),
        Provider::Xero => ("/identity/connect/authorize", "/identity/connect/token"),
        Provider::QuickBooks => ("/connect/oauth2", "/oauth2/v1/tokens/bearer"),
    };
    Credentials {
        client_id: app.client_id.clone(),
        client_secret: app.client_secret.clone(),
        static_token: o.static_token(p).map(str::to_string),
        scopes: app.scopes.to_string(),
        authorize_url: format!("{base}{authorize}"),
        token_url: format!("{base}{token}"),
    }
}

/// The ready line: every provider's base URL and credentials.
pub fn ready_line(st: &SandboxState) -> Value {
    let w = st.read();
    let mut providers = serde_json::Map::new();
    for p in Provider::ALL {
        let mut v = serde_json::to_value(credentials(st, p)).unwrap_or(Value::Null);
        v["base_url"] = json!(format!("{}/{}", st.origin, p.as_str()));
        match p {
            Provider::HubSpot => v["hub_id"] = json!(business::HUBSPOT_HUB_ID),
            Provider::Shopify => {
                v["shop"] = json!(business::SHOP_DOMAIN);
                v["graphql_url"] = json!(format!("{}/shopify/admin/api/{}/graphql.json", st.origin, shopify::API_VERSION));
            }
            Provider::Xero => v["tenant_id"] = json!(st.xero_tenant_id),
            Provider::QuickBooks => v["realm_id"] = json!(business::QUICKBOOKS_REALM_ID),
        }
        providers.insert(p.as_str().to_string(), v);
    }
    json!({
        "event": "ready",
        "origin": st.origin,
        "control_url": format!("{}/_sandbox", st.origin),
        "seed": st.seed,
        "time_scale": st.clock.scale(),
        "customers": w.parties.len(),
        "sales": w.sales.len(),
        "providers": providers,
    })
}
