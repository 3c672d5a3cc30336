//! One API call with everything around it: token, pacing, retries, and its audit record.
//!
//! [`Requester::fetch`] takes a [`PageRequest`] from a provider module and
//! returns the parsed JSON body together with a [`Call`] describing it for the
//! audit log (correlation id, method, path without query, status, duration,
//! retries, time spent waiting on the limiter). Retries use `backon`'s
//! exponential backoff with jitter for server errors, timeouts, dropped
//! connections and cut-off bodies; a 429 waits exactly as long as its
//! Retry-After says. A 401 asks the [`Credentials`] for a fresh token once; if
//! none can be had the call fails with [`SyncError::NeedsReauth`]. Any other
//! 4xx is final.

use crate::error::SyncError;
use crate::limiter::Limiter;
use crate::spec::{lookup, Auth, BodyError, PageRequest, ProviderSpec};
use backon::{ExponentialBuilder, Retryable};
use concord_core::{AuthFailure, Credentials, Secret};
use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How hard to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: 8, min_delay: Duration::from_millis(200), max_delay: Duration::from_secs(30), timeout: Duration::from_secs(60) }
    }
}

/// What the audit log records about one call (retries included).
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub correlation_id: String,
    pub method: String,
    /// The path below the base URL without its query string.
    pub path: String,
    /// The last attempt's status; `None` when no response arrived.
    pub status: Option<u16>,
    pub duration_ms: u64,
    pub retries: u32,
    /// Time spent waiting on the rate limiter, over every attempt.
    pub waited_ms: u64,
    /// 429s received.
    pub throttled: u32,
}

impl Call {
    /// The audit detail for this call.
    pub fn detail(&self, stream: &str) -> Value {
        serde_json::json!({
            "correlationId": self.correlation_id,
            "stream": stream,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "durationMs": self.duration_ms,
            "retries": self.retries,
            "rateLimitWaitMs": self.waited_ms,
        })
    }
}

/// Sends requests for one connection.
pub struct Requester {
    client: reqwest::Client,
    spec: &'static ProviderSpec,
    base_url: String,
    credentials: Arc<dyn Credentials>,
    limiter: Arc<Limiter>,
    retry: RetryPolicy,
    /// The last GraphQL query's requested cost, to reserve in the bucket.
    last_cost: AtomicU64,
}

impl std::fmt::Debug for Requester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requester").field("provider", &self.spec.provider).field("base_url", &self.base_url).finish()
    }
}

struct Attempt {
    status: Mutex<Option<u16>>,
    waited: AtomicU64,
    throttled: AtomicU32,
}

fn provider_message(body: &Value) -> Option<String> {
    for path in ["message", "Message", "Detail", "errors", "Fault.Error[].Detail", "Fault.Error[].Message", "error_description", "error"] {
        if let Some(v) = lookup(body, path) {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            return Some(text.chars().take(300).collect());
        }
    }
    None
}

impl Requester {
    /// A requester for one connection.
    pub fn new(client: reqwest::Client, spec: &'static ProviderSpec, base_url: &str, credentials: Arc<dyn Credentials>, limiter: Arc<Limiter>, retry: RetryPolicy) -> Requester {
        Requester {
            client,
            spec,
            base_url: base_url.trim_end_matches('/').to_string(),
            credentials,
            limiter,
            retry,
            last_cost: AtomicU64::new(1),
        }
    }

    /// The connection's limiter.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// Fetches one page, retrying what can be retried.
    pub async fn fetch(&self, req: &PageRequest) -> (Result<Value, SyncError>, Call) {
        let (result, call) = self.fetch_page(req, None).await;
        (result.map(|p| p.body), call)
    }

    /// Fetches one page like [`Requester::fetch`]; with `records_at`, the
    /// records found there are kept as their exact text ([`Page::records`]),
    /// each to be parsed on its own, and the body holds `null` in their places
    /// (so counts and every other field read as before).
    pub async fn fetch_page(&self, req: &PageRequest, records_at: Option<&'static str>) -> (Result<Page, SyncError>, Call) {
        let started = Instant::now();
        let attempt = Attempt { status: Mutex::new(None), waited: AtomicU64::new(0), throttled: AtomicU32::new(0) };
        let retries = AtomicU32::new(0);
        let backoff = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_retries);
        let result = (|| self.attempt(req, &attempt, records_at))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(SyncError::retryable)
            .adjust(|e: &SyncError, d| d.map(|d| e.retry_after().unwrap_or(d)))
            .notify(|_, _| {
                retries.fetch_add(1, Ordering::Relaxed);
            })
            .await;
        let call = Call {
            correlation_id: uuid::Uuid::new_v4().to_string(),
            method: req.method.to_string(),
            path: req.path.split('?').next().unwrap_or_default().to_string(),
            status: *attempt.status.lock().unwrap_or_else(|p| p.into_inner()),
            duration_ms: started.elapsed().as_millis() as u64,
            retries: retries.load(Ordering::Relaxed),
            waited_ms: attempt.waited.load(Ordering::Relaxed),
            throttled: attempt.throttled.load(Ordering::Relaxed),
        };
        let result = result.map_err(|e| match e {
            SyncError::Server { provider, status, what, .. } => SyncError::Server { provider, status, what, retries: call.retries },
            other => other,
        });
        (result, call)
    }

    fn what(&self, req: &PageRequest) -> String {
        format!("{} {}", req.method, req.path.split('?').next().unwrap_or_default())
    }

    async fn attempt(&self, req: &PageRequest, at: &Attempt, records_at: Option<&'static str>) -> Result<Page, SyncError> {
        let provider = self.spec.provider.display_name();
        let cost = self.last_cost.load(Ordering::Relaxed) as f64;
        let slot = self.limiter.acquire(cost).await;
        at.waited.fetch_add(slot.waited.as_millis() as u64, Ordering::Relaxed);
        let mut token = self.credentials.current().await.map_err(auth_error)?;
        let mut renewed = false;
        loop {
            let response = self.send(req, &token).await;
            let response = match response {
                Ok(r) => r,
                Err(e) => {
                    let detail = if e.is_timeout() { "timed out".to_string() } else { without_url(&e) };
                    return Err(SyncError::Transport { provider, what: self.what(req), detail });
                }
            };
            let status = response.status().as_u16();
            *at.status.lock().unwrap_or_else(|p| p.into_inner()) = Some(status);
            if let Some(h) = self.spec.quota.remaining_header {
                if let Some(n) = response.headers().get(h).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u32>().ok()) {
                    self.limiter.observe_remaining(n);
                }
            }
            let retry_after = response
                .headers()
                .get("Retry-After")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|s| Duration::from_secs_f64(s.max(0.0)));
            let bytes = response.bytes().await;
            if status == 401 {
                if renewed {
                    return Err(SyncError::NeedsReauth(format!("{provider} refused a freshly renewed token; connect the account again")));
                }
                token = self.credentials.refused(&token).await.map_err(auth_error)?;
                renewed = true;
                continue;
            }
            if status == 429 {
                at.throttled.fetch_add(1, Ordering::Relaxed);
                return Err(SyncError::Throttled { provider, what: self.what(req), retry_after: retry_after.or(Some(Duration::from_secs(1))) });
            }
            let bytes = match bytes {
                Ok(b) => b,
                Err(e) => return Err(SyncError::Transport { provider, what: self.what(req), detail: format!("the body was cut off ({})", without_url(&e)) }),
            };
            if status >= 500 {
                return Err(SyncError::Server { provider, status, what: self.what(req), retries: 0 });
            }
            if (200..300).contains(&status) {
                // A page can be megabytes: parse it on a blocking thread, so the engine
                // keeps committing other pages meanwhile.
                let page: Result<Page, serde_json::Error> = match tokio::task::spawn_blocking(move || Page::parse(&bytes, records_at)).await {
                    Ok(parsed) => parsed,
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                };
                let page = page.map_err(|e| SyncError::Transport { provider, what: self.what(req), detail: format!("the body was cut off or is not JSON ({e})") })?;
                let body = &page.body;
                self.learn_cost(body);
                return match (self.spec.body_error)(status, body) {
                    None => Ok(page),
                    Some(BodyError::Throttled(secs)) => {
                        at.throttled.fetch_add(1, Ordering::Relaxed);
                        Err(SyncError::Throttled { provider, what: self.what(req), retry_after: Some(Duration::from_secs_f64(secs.max(0.05))) })
                    }
                    Some(BodyError::Rejected(message)) => Err(SyncError::Rejected { provider, status, what: self.what(req), message }),
                    Some(BodyError::CursorExpired) => Err(SyncError::CursorExpired { provider, what: self.what(req) }),
                };
            }
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if let Some(BodyError::CursorExpired) = (self.spec.body_error)(status, &body) {
                return Err(SyncError::CursorExpired { provider, what: self.what(req) });
            }
            let message = provider_message(&body).unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect());
            return Err(SyncError::Rejected { provider, status, what: self.what(req), message });
        }
    }

    fn learn_cost(&self, body: &Value) {
        if self.spec.quota.cost_bucket.is_none() {
            return;
        }
        if let Some(cost) = lookup(body, "extensions.cost.requestedQueryCost").and_then(Value::as_f64) {
            self.last_cost.store(cost.max(1.0) as u64, Ordering::Relaxed);
        }
        let avail = lookup(body, "extensions.cost.throttleStatus.currentlyAvailable").and_then(Value::as_f64);
        let restore = lookup(body, "extensions.cost.throttleStatus.restoreRate").and_then(Value::as_f64);
        if let (Some(a), Some(r)) = (avail, restore) {
            self.limiter.observe_bucket(a, r);
        }
    }

    async fn send(&self, req: &PageRequest, token: &Secret) -> reqwest::Result<reqwest::Response> {
        let url = format!("{}{}", self.base_url, req.path);
        let mut b = self.client.request(req.method.clone(), url).timeout(self.retry.timeout).header("Accept", "application/json");
        b = match self.spec.auth {
            Auth::Bearer => b.bearer_auth(token.expose()),
            Auth::Header(name) => b.header(name, token.expose()),
        };
        for (k, v) in &req.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        if let Some(body) = &req.body {
            b = b.json(body);
        }
        b.send().await
    }
}

/// A parsed page: its JSON body and, when asked for, its records' exact text.
#[derive(Debug, Default)]
pub struct Page {
    pub body: Value,
    /// The records at the requested path, each exactly as the provider sent it;
    /// `None` when not asked for or when nothing (no array) is there.
    pub records: Option<RawRecords>,
}

/// Records kept as the provider's text, one JSON value each.
pub type RawRecords = Vec<Box<RawValue>>;

impl Page {
    /// Parses `bytes`, splitting out the records at `records_at` (a dotted path
    /// of object keys) as raw text when asked to: each record is then scanned
    /// here once and parsed later on its own, and its stored payload is the
    /// provider's own text, not a re-serialisation.
    pub fn parse(bytes: &[u8], records_at: Option<&str>) -> Result<Page, serde_json::Error> {
        let Some(path) = records_at else { return Ok(Page { body: serde_json::from_slice(bytes)?, records: None }) };
        let text = std::str::from_utf8(bytes).map_err(|_| <serde_json::Error as serde::de::Error>::custom("the body is not UTF-8"))?;
        let steps: Vec<&str> = path.split('.').collect();
        let (body, records) = split(text, &steps)?;
        Ok(Page { body, records })
    }
}

/// [`Page::parse`]'s walk: `text` parsed as a value, except that the array at
/// `steps` is returned as raw records and left as that many `null`s.
fn split(text: &str, steps: &[&str]) -> Result<(Value, Option<RawRecords>), serde_json::Error> {
    let Some((first, rest)) = steps.split_first() else {
        return match serde_json::from_str::<Vec<&RawValue>>(text) {
            Ok(list) => Ok((Value::Array(vec![Value::Null; list.len()]), Some(list.into_iter().map(RawValue::to_owned).collect()))),
            Err(_) => Ok((serde_json::from_str(text)?, None)),
        };
    };
    let Ok(fields) = serde_json::from_str::<std::collections::BTreeMap<String, &RawValue>>(text) else {
        return Ok((serde_json::from_str(text)?, None));
    };
    let mut map = serde_json::Map::new();
    let mut records = None;
    for (k, raw) in fields {
        let v = if k == *first {
            let (v, r) = split(raw.get(), rest)?;
            records = r;
            v
        } else {
            serde_json::from_str(raw.get())?
        };
        map.insert(k, v);
    }
    Ok((Value::Object(map), records))
}

fn auth_error(e: AuthFailure) -> SyncError {
    match e {
        AuthFailure::NeedsReauth(m) => SyncError::NeedsReauth(format!("the connection needs re-authorisation: {m}")),
        AuthFailure::Unavailable(m) => SyncError::CredentialsUnavailable(m),
    }
}

/// A reqwest error's text without the URL (which may carry a query).
fn without_url(e: &reqwest::Error) -> String {
    let e = e.to_string();
    match e.find(" for url (") {
        Some(i) => e[..i].to_string(),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_page_keeps_each_record_as_sent_and_the_rest_as_parsed() {
        let text = br#"{"data":{"items":{"nodes":[{"b":1, "a":"x\u00e9"},{"id":2}],"pageInfo":{"hasNextPage":true}}},"extensions":{"cost":3}}"#;
        let page = Page::parse(text, Some("data.items.nodes")).unwrap();
        let raw: Vec<&str> = page.records.as_ref().expect("the records must be split out").iter().map(|r| r.get()).collect();
        assert_eq!(raw, [r#"{"b":1, "a":"x\u00e9"}"#, r#"{"id":2}"#], "each record's payload must be the provider's exact text, spacing and escapes included");
        assert_eq!(lookup(&page.body, "data.items.nodes").and_then(Value::as_array).map(Vec::len), Some(2), "the body must still count the records");
        assert_eq!(lookup(&page.body, "data.items.pageInfo.hasNextPage"), Some(&Value::Bool(true)), "the paging signal must read as before");
        assert_eq!(lookup(&page.body, "extensions.cost"), Some(&Value::from(3)), "fields beside the records must be parsed as before");
        let whole = Page::parse(text, None).unwrap();
        assert!(whole.records.is_none() && whole.body["data"]["items"]["nodes"][1]["id"] == 2, "without a path the page is parsed whole");
        let error = Page::parse(br#"{"errors":[{"message":"no"}]}"#, Some("data.items.nodes")).unwrap();
        assert!(error.records.is_none() && error.body["errors"][0]["message"] == "no", "a body without the records (an error) must parse as a plain value");
        assert!(Page::parse(br#"{"data":{"items":{"nodes":[{"id":1}"#, Some("data.items.nodes")).is_err(), "a cut-off body must be an error, so it is retried");
    }
}
