//! Shared helpers of the sandbox's integration tests: starting a small
//! sandbox, a reqwest client that does not follow redirects (so the OAuth
//! redirect can be read), and a probe that records what a client saw.

use concord_sandbox::{FaultPlan, FaultRule, Provider, RateLimitConfig, Sandbox, SandboxConfig, SandboxHandle};
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::{Duration, Instant};

/// A sandbox of `customers` customers with real rate limits unless `limits` is false.
pub async fn start(customers: usize, limits: bool) -> SandboxHandle {
    Sandbox::start(SandboxConfig {
        seed: 7,
        customers,
        rate_limits: RateLimitConfig { enabled: limits, ..Default::default() },
        ..Default::default()
    })
    .await
    .expect("the sandbox must start on 127.0.0.1")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a reqwest client")
}

/// Replaces the fault plan with rules written as on the command line.
pub fn faults(sb: &SandboxHandle, rules: &[&str]) {
    let rules: Vec<FaultRule> = rules.iter().map(|r| r.parse().expect("test fault rules parse")).collect();
    sb.set_faults(FaultPlan { rules });
}

/// What a client saw for one request.
pub struct Probe {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body, or the transport error that cut it.
    pub body: Result<Vec<u8>, String>,
    pub elapsed: Duration,
}

impl Probe {
    pub fn json(&self) -> Value {
        let bytes = self.body.as_ref().expect("the body must arrive whole");
        serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("the body must be JSON ({e}): {}", String::from_utf8_lossy(bytes)))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
}

pub async fn probe(req: reqwest::RequestBuilder) -> Probe {
    let t = Instant::now();
    match req.send().await {
        Err(e) => Probe { status: 0, headers: HeaderMap::new(), body: Err(e.to_string()), elapsed: t.elapsed() },
        Ok(r) => {
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let body = r.bytes().await.map(|b| b.to_vec()).map_err(|e| e.to_string());
            Probe { status, headers, body, elapsed: t.elapsed() }
        }
    }
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = "concord-test-verifier-0123456789-abcdefghijklmnopqrstuvwxyz".to_string();
    let challenge = concord_sandbox::oauth::s256(&verifier);
    (verifier, challenge)
}

/// Follows the authorize endpoint and returns the redirect's query pairs.
pub async fn authorize(url: &str, params: &[(&str, &str)]) -> Vec<(String, String)> {
    let r = client().get(url).query(params).send().await.expect("the authorize endpoint answers");
    assert_eq!(r.status().as_u16(), 302, "authorize approves at once and redirects with 302 Found");
    let location = r.headers().get("location").expect("a redirect carries Location").to_str().unwrap().to_string();
    assert!(location.starts_with("http://127.0.0.1:") || location.starts_with("http://localhost:"), "the redirect goes back to the loopback redirect URI, got {location}");
    url::Url::parse(&location).unwrap().query_pairs().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn pair<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The number of live records the sandbox holds for a provider object.
pub fn live(sb: &SandboxHandle, provider: Provider, object: &str) -> usize {
    sb.with_world(|w| match (provider, object) {
        (Provider::HubSpot, "contacts") => w.hubspot.contacts.iter().filter(|c| !c.archived).count(),
        (Provider::Shopify, "customers") => w.shopify.customers.iter().filter(|c| !c.archived).count(),
        (Provider::Xero, "contacts") => w.xero.contacts.iter().filter(|c| !c.archived).count(),
        (Provider::QuickBooks, "customers") => w.quickbooks.contacts.iter().filter(|c| !c.archived).count(),
        _ => panic!("no such object in this helper"),
    })
}

/// Churn events the sandbox logged for a provider.
pub fn churn(sb: &SandboxHandle, provider: &str) -> usize {
    sb.counters()["churn"].as_array().map(|a| a.iter().filter(|e| e["provider"] == provider).count()).unwrap_or(0)
}
