//! The sync engine against the provider sandboxes: chaos, page boundaries, drift, crashes, pacing.
//!
//! Every test starts an in-process sandbox on 127.0.0.1, creates one
//! connection per provider in a fresh store, syncs, and compares the store
//! record for record with the sandbox's own state (`/_sandbox/state`): every
//! record the provider exposes is stored once, with the provider's
//! last-modified time and lifecycle state. Xero and QuickBooks tokens come
//! from the sandbox's own authorize and token logic (PKCE for Xero, HTTP
//! Basic for QuickBooks), refreshed when refused.

use concord_core::{AuthFailure, Credentials, Provider, Secret, StaticToken, SystemClock, TokenFuture};
use concord_sandbox::state::SandboxState;
use concord_sandbox::{FaultPlan, Sandbox, SandboxConfig, SandboxHandle};
use concord_store::{connection, raw_record, Store};
use concord_sync::{sync, Options, StreamReport, Target};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

fn sandbox_provider(p: Provider) -> concord_sandbox::Provider {
    p.as_str().parse().expect("the sandbox knows every provider Concord knows")
}

/// Tokens issued by the sandbox's OAuth logic, refreshed on a 401.
struct SandboxOAuth {
    st: Arc<SandboxState>,
    provider: concord_sandbox::Provider,
    client_id: String,
    client_secret: Option<String>,
    tokens: Mutex<(Secret, Option<String>)>,
}

impl SandboxOAuth {
    fn connect(sb: &SandboxHandle, p: Provider) -> SandboxOAuth {
        let sp = sandbox_provider(p);
        let creds = sb.credentials(sp);
        let st = sb.state().clone();
        let verifier = "v".repeat(50);
        let redirect = "http://127.0.0.1:9/callback".to_string();
        let mut q = HashMap::new();
        q.insert("client_id".to_string(), creds.client_id.clone());
        q.insert("redirect_uri".to_string(), redirect.clone());
        q.insert("response_type".to_string(), "code".to_string());
        q.insert("scope".to_string(), creds.scopes.clone());
        q.insert("state".to_string(), "s".to_string());
        if p == Provider::Xero {
            q.insert("code_challenge".to_string(), concord_sandbox::oauth::s256(&verifier));
            q.insert("code_challenge_method".to_string(), "S256".to_string());
        }
        let now = st.clock.now_ms();
        let url = st.oauth.lock().unwrap().authorize(sp, &q, now, concord_sandbox::business::QUICKBOOKS_REALM_ID).expect("the sandbox approves at once");
        let url = url::Url::parse(&url).unwrap();
        let code = url.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.to_string()).expect("the redirect carries a code");
        let mut form = HashMap::new();
        form.insert("grant_type".to_string(), "authorization_code".to_string());
        form.insert("code".to_string(), code);
        form.insert("redirect_uri".to_string(), redirect);
        let basic = match p {
            Provider::Xero => {
                form.insert("client_id".to_string(), creds.client_id.clone());
                form.insert("code_verifier".to_string(), verifier);
                None
            }
            _ => Some((creds.client_id.clone(), creds.client_secret.clone().unwrap_or_default())),
        };
        let issued = st.oauth.lock().unwrap().token(sp, &form, basic, now).unwrap_or_else(|e| panic!("the code exchange must succeed: {}", e.error));
        SandboxOAuth {
            st,
            provider: sp,
            client_id: creds.client_id,
            client_secret: creds.client_secret,
            tokens: Mutex::new((Secret::new(issued.access_token), issued.refresh_token)),
        }
    }
}

impl Credentials for SandboxOAuth {
    fn current(&self) -> TokenFuture<'_> {
        let t = self.tokens.lock().unwrap().0.clone();
        Box::pin(async move { Ok(t) })
    }

    fn refused<'a>(&'a self, refused: &'a Secret) -> TokenFuture<'a> {
        Box::pin(async move {
            let mut tokens = self.tokens.lock().unwrap();
            if tokens.0 != *refused {
                return Ok(tokens.0.clone());
            }
            let refresh = tokens.1.clone().ok_or_else(|| AuthFailure::NeedsReauth("no refresh token".into()))?;
            let mut form = HashMap::new();
            form.insert("grant_type".to_string(), "refresh_token".to_string());
            form.insert("refresh_token".to_string(), refresh);
            let basic = match &self.client_secret {
                Some(s) => Some((self.client_id.clone(), s.clone())),
                None => {
                    form.insert("client_id".to_string(), self.client_id.clone());
                    None
                }
            };
            let now = self.st.clock.now_ms();
            let issued = self.st.oauth.lock().unwrap().token(self.provider, &form, basic, now).map_err(|e| AuthFailure::NeedsReauth(e.error.to_string()))?;
            *tokens = (Secret::new(issued.access_token), issued.refresh_token.or(tokens.1.clone()));
            Ok(tokens.0.clone())
        })
    }
}

struct Env {
    sb: SandboxHandle,
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: Mutex<Store>,
    targets: Vec<Target>,
}

/// Connection rows for every provider of a sandbox, as a workspace would hold them.
fn add_connections(store: &Store, sb: &SandboxHandle) {
    for p in Provider::ALL {
        let base = sb.base_url(sandbox_provider(p));
        let tenant = match p {
            Provider::Xero => Some(sb.xero_tenant_id()),
            Provider::QuickBooks => Some(sb.quickbooks_realm_id().to_string()),
            Provider::Shopify => Some(concord_sandbox::business::SHOP_DOMAIN.to_string()),
            Provider::HubSpot => None,
        };
        let new = connection::NewConnection {
            name: p.as_str(),
            provider: p,
            base_url: Some(&base),
            tenant_id: tenant.as_deref(),
            tenant_name: None,
            scopes: "",
            keychain_account: None,
        };
        connection::insert(store.conn(), &new, "2026-01-01T00:00:00.000Z").unwrap();
    }
}

fn targets(store: &Store, sb: &SandboxHandle) -> Vec<Target> {
    connection::list(store.conn())
        .unwrap()
        .into_iter()
        .map(|row| {
            let sp = sandbox_provider(row.provider);
            let credentials: Arc<dyn Credentials> = match row.provider {
                Provider::HubSpot | Provider::Shopify => Arc::new(StaticToken(Secret::new(sb.credentials(sp).static_token.expect("private-app token")))),
                p => Arc::new(SandboxOAuth::connect(sb, p)),
            };
            Target { connection_id: row.id, name: row.name, provider: row.provider, base_url: row.base_url.unwrap(), tenant_id: row.tenant_id, credentials }
        })
        .collect()
}

async fn env(config: SandboxConfig) -> Env {
    let sb = Sandbox::start(config).await.expect("the sandbox starts");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("concord.db");
    let store = Store::open(&path).unwrap();
    add_connections(&store, &sb);
    let targets = targets(&store, &sb);
    Env { sb, _dir: dir, path, store: Mutex::new(store), targets }
}

fn options(page_size: usize, time_scale: f64) -> Options {
    let mut o = Options { page_size: Some(page_size), time_scale, ..Default::default() };
    o.retry.min_delay = std::time::Duration::from_millis(20);
    o.retry.max_delay = std::time::Duration::from_millis(500);
    o.retry.max_retries = 12;
    o
}

async fn run(env: &Env, options: &Options) -> Vec<StreamReport> {
    sync(&env.store, Arc::new(SystemClock), &env.targets, options, &concord_sync::progress::ignore).await
}

const OBJECTS: &[(Provider, &str)] = &[
    (Provider::HubSpot, "contacts"),
    (Provider::HubSpot, "companies"),
    (Provider::Shopify, "customers"),
    (Provider::Shopify, "orders"),
    (Provider::Xero, "contacts"),
    (Provider::Xero, "invoices"),
    (Provider::Xero, "payments"),
    (Provider::Xero, "credit_notes"),
    (Provider::QuickBooks, "customers"),
    (Provider::QuickBooks, "invoices"),
    (Provider::QuickBooks, "payments"),
    (Provider::QuickBooks, "credit_memos"),
];

/// Records whose deletion the provider never reports: Shopify's connections leave
/// deleted records out and the sandbox has no deletion events; QuickBooks' CDC reaches 30 days back.
fn deletion_unobservable(p: Provider, object: &str) -> bool {
    matches!(p, Provider::Shopify) || (p == Provider::QuickBooks && object != "customers")
}

/// Compares the store with the sandbox's state; returns a list of differences.
async fn differences(env: &Env, only: &[(Provider, &str)]) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut diffs = Vec::new();
    let mut truths = Vec::new();
    for (p, object) in only {
        let url = format!("{}/state?provider={}&object={}", env.sb.control_url(), p.as_str(), object);
        let truth: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        truths.push(truth);
    }
    let store = env.store.lock().unwrap();
    for ((p, object), truth) in only.iter().zip(truths) {
        let cid = connection::by_name(store.conn(), p.as_str()).unwrap().id;
        let ours: HashMap<String, (Option<String>, String)> =
            raw_record::keys(store.conn(), cid, object).unwrap().into_iter().map(|(id, u, s)| (id, (u, s))).collect();
        let mut seen = 0;
        for r in truth["records"].as_array().unwrap() {
            let id = r["id"].as_str().unwrap().to_string();
            let updated = r["updated_at"].as_str().map(str::to_string);
            let deleted = r["deleted"].as_bool().unwrap();
            match ours.get(&id) {
                None if deleted && deletion_unobservable(*p, object) => {}
                None => diffs.push(format!("{p:?} {object} {id} (deleted={deleted}) is missing from the store")),
                Some((u, s)) => {
                    seen += 1;
                    if deleted && deletion_unobservable(*p, object) && s == "active" {
                        continue;
                    }
                    if *u != updated {
                        diffs.push(format!("{p:?} {object} {id}: stored updated {u:?}, provider {updated:?}"));
                    }
                    if deleted != (s != "active") {
                        diffs.push(format!("{p:?} {object} {id}: stored state {s}, provider deleted={deleted}"));
                    }
                }
            }
        }
        if seen != ours.len() {
            diffs.push(format!("{p:?} {object}: the store holds {} records the provider does not have", ours.len() - seen));
        }
    }
    diffs
}

fn chaos_plan() -> FaultPlan {
    let rules = [
        "server_error:p=0.1",
        "rate_limit_storm:p=0.05",
        "connection_reset:p=0.02",
        "truncated_body:p=0.03",
        "shifting_offsets:p=0.15",
        "cursor_expiry:p=0.1",
        "duplicate_delivery:p=0.15",
    ];
    FaultPlan { rules: rules.iter().map(|r| r.parse().unwrap()).collect() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_over_twenty_seeds_loses_and_duplicates_nothing() {
    let started = std::time::Instant::now();
    for seed in 1..=20u64 {
        let config = SandboxConfig { seed, customers: 40, time_scale: 600.0, faults: chaos_plan(), ..Default::default() };
        let env = env(config).await;
        let reports = run(&env, &options(25, 600.0)).await;
        let failed: Vec<_> = reports.iter().filter(|r| !r.ok).map(|r| format!("{} {}: {:?}", r.connection, r.stream, r.error)).collect();
        assert!(failed.is_empty(), "seed {seed}: every stream must survive the chaos by retrying, failed: {failed:#?}");
        let diffs = differences(&env, OBJECTS).await;
        assert!(diffs.is_empty(), "seed {seed}: the store must equal the sandbox record for record: {diffs:#?}");
    }
    eprintln!("chaos: 20 seeds in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_at_page_boundaries_are_fetched_whole() {
    let parties: &[(Provider, &str)] = &[(Provider::HubSpot, "contacts"), (Provider::Shopify, "customers"), (Provider::Xero, "contacts"), (Provider::QuickBooks, "customers")];
    for size in [100usize, 101, 1000, 1001] {
        let config = SandboxConfig { seed: 3, customers: 2200, time_scale: 600.0, rate_limits: concord_sandbox::RateLimitConfig { enabled: false, ..Default::default() }, ..Default::default() };
        let env = env(config).await;
        {
            let mut w = env.sb.state().write();
            let lens = [w.hubspot.contacts.len(), w.shopify.customers.len(), w.xero.contacts.len(), w.quickbooks.contacts.len()];
            assert!(lens.iter().all(|n| *n >= size), "the generated business must be large enough to cut to {size}: {lens:?}");
            w.hubspot.contacts.truncate(size);
            w.hubspot.contact_company.truncate(size);
            w.shopify.customers.truncate(size);
            w.xero.contacts.truncate(size);
            w.quickbooks.contacts.truncate(size);
            let w = &mut *w;
            for r in w.hubspot.contacts.iter_mut().chain(w.shopify.customers.iter_mut()).chain(w.xero.contacts.iter_mut()).chain(w.quickbooks.contacts.iter_mut()) {
                r.archived = false;
            }
        }
        let page = if size < 500 { 100 } else { 1000 };
        let mut o = options(page, 600.0);
        o.rate_limits = false;
        o.streams = Some(vec!["contacts".into(), "customers".into()]);
        let reports = run(&env, &o).await;
        assert!(reports.iter().all(|r| r.ok), "size {size}: every stream must succeed: {reports:#?}");
        for (p, object) in parties {
            let store = env.store.lock().unwrap();
            let cid = connection::by_name(store.conn(), p.as_str()).unwrap().id;
            let n = raw_record::count(store.conn(), cid, object).unwrap();
            assert_eq!(n as usize, size, "{p:?} {object}: a collection of exactly {size} records (page size {}) must be fetched whole", page.min(if *p == Provider::Shopify { 250 } else { page }));
        }
        let diffs = differences(&env, parties).await;
        assert!(diffs.is_empty(), "size {size}: the store must equal the sandbox: {diffs:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renamed_and_moved_fields_raise_drift_warnings_and_never_empty_values() {
    let plan = FaultPlan { rules: vec!["schema_drift_rename".parse().unwrap(), "schema_drift_nest".parse().unwrap()] };
    let config = SandboxConfig { seed: 5, customers: 30, time_scale: 600.0, faults: plan, ..Default::default() };
    let env = env(config).await;
    let reports = run(&env, &options(100, 600.0)).await;
    assert!(reports.iter().all(|r| r.ok), "drift must not fail a stream: {reports:#?}");
    let renamed = |conn: &str, stream: &str, field: &str| {
        reports.iter().any(|r| r.connection == conn && r.stream == stream && r.drift.iter().any(|d| d.field == field && d.kind == concord_sync::DriftKind::Renamed))
    };
    let cases = [
        ("hubspot", "contacts", "phone"),
        ("hubspot", "contacts", "street"),
        ("xero", "invoices", "amount_due"),
        ("xero", "invoices", "line_tax_types"),
        ("quickbooks", "invoices", "balance"),
        ("quickbooks", "invoices", "total_tax"),
        ("shopify", "orders", "total_tax"),
    ];
    for (conn, stream, field) in cases {
        assert!(renamed(conn, stream, field), "{conn} {stream}: the drift report must name {field}");
    }
    let emptied = reports.iter().any(|r| r.connection == "shopify" && r.stream == "customers" && r.drift.iter().any(|d| d.field == "email" && d.kind == concord_sync::DriftKind::Vanished));
    assert!(emptied, "Shopify emptying Customer.email must be reported as a vanished field, not stored silently");
    let store = env.store.lock().unwrap();
    let silent: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM canonical_records c JOIN raw_records r USING (connection_id, object, external_id)
             WHERE json_extract(c.data, '$._missing') IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if silent > 0 {
        let rows: Vec<String> = store
            .conn()
            .prepare("SELECT object || ' ' || json_extract(c.data, '$._missing') FROM canonical_records c WHERE json_extract(c.data, '$._missing') IS NOT NULL LIMIT 5")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        eprintln!("records with missing fields: {rows:?}");
    }
    assert_eq!(silent, 0, "with the aliases declared, no mapped record may lack a field the provider moved or renamed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_stops_its_stream_and_leaves_the_others_running() {
    let config = SandboxConfig { seed: 9, customers: 20, time_scale: 600.0, ..Default::default() };
    let mut env = env(config).await;
    // A QuickBooks realm that is not the sandbox company's is refused with 403 on every call.
    for t in env.targets.iter_mut().filter(|t| t.provider == Provider::QuickBooks) {
        t.tenant_id = Some("1".into());
    }
    let reports = run(&env, &options(100, 600.0)).await;
    let qbo: Vec<_> = reports.iter().filter(|r| r.provider == Provider::QuickBooks).collect();
    assert!(qbo.iter().all(|r| !r.ok && r.error.as_deref().is_some_and(|e| e.contains("403"))), "each QuickBooks stream must fail with the provider's 403: {qbo:#?}");
    assert!(reports.iter().filter(|r| r.provider != Provider::QuickBooks).all(|r| r.ok), "the other providers' streams must finish regardless");
    let audit: String = env.store.lock().unwrap().conn().query_row("SELECT group_concat(detail) FROM audit_log", [], |r| r.get(0)).unwrap();
    assert!(!audit.contains("Bearer") && !audit.contains("shpat_"), "no token may reach the audit log");
    assert!(audit.contains("correlationId") && audit.contains("\"status\":403"), "failed calls must be audited with their status");
}

/// Runs in a child process for the crash test: syncs the workspace named by the environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_worker() {
    let Ok(db) = std::env::var("CONCORD_CRASH_DB") else { return };
    let tokens: HashMap<String, String> = serde_json::from_str(&std::env::var("CONCORD_CRASH_TOKENS").unwrap()).unwrap();
    let store = Store::open(std::path::Path::new(&db)).unwrap();
    let targets: Vec<Target> = connection::list(store.conn())
        .unwrap()
        .into_iter()
        .map(|row| Target {
            connection_id: row.id,
            credentials: Arc::new(StaticToken(Secret::new(tokens[&row.name].clone()))),
            name: row.name,
            provider: row.provider,
            base_url: row.base_url.unwrap(),
            tenant_id: row.tenant_id,
        })
        .collect();
    let store = Mutex::new(store);
    let _ = sync(&store, Arc::new(SystemClock), &targets, &options(20, 600.0), &concord_sync::progress::ignore).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_then_rerun_converges() {
    use rand::Rng;
    let mut rng = rand_chacha_rng(11);
    let exe = std::env::current_exe().unwrap();
    for trial in 0..20u64 {
        let config = SandboxConfig { seed: 100 + trial, customers: 60, time_scale: 600.0, faults: FaultPlan { rules: vec!["slow_response:p=0.3:delay_ms=20".parse().unwrap()] }, ..Default::default() };
        let env = env(config).await;
        let tokens: HashMap<String, String> = env
            .targets
            .iter()
            .map(|t| (t.name.clone(), futures_util_block(t.credentials.current())))
            .collect();
        let mut child = tokio::process::Command::new(&exe)
            .args(["--exact", "crash_worker", "--nocapture", "--test-threads=1"])
            .env("CONCORD_CRASH_DB", &env.path)
            .env("CONCORD_CRASH_TOKENS", serde_json::to_string(&tokens).unwrap())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let wait_ms = rng.random_range(50..1200);
        tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
        if let Some(pid) = child.id() {
            // SAFETY: kill(2) on our own child's pid; it cannot touch memory.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        let _ = child.wait().await;
        {
            let reopened = Store::open(&env.path).unwrap();
            reopened.integrity_check().unwrap_or_else(|e| panic!("trial {trial}: the database must pass integrity_check after SIGKILL: {e}"));
            *env.store.lock().unwrap() = reopened;
        }
        let reports = run(&env, &options(20, 600.0)).await;
        assert!(reports.iter().all(|r| r.ok), "trial {trial}: the rerun must finish every stream: {reports:#?}");
        let diffs = differences(&env, OBJECTS).await;
        assert!(diffs.is_empty(), "trial {trial} (killed after {wait_ms} ms): the rerun must converge: {diffs:#?}");
    }
}

fn rand_chacha_rng(seed: u64) -> rand::rngs::StdRng {
    rand::SeedableRng::seed_from_u64(seed)
}

fn futures_util_block(f: TokenFuture<'_>) -> String {
    futures_util::FutureExt::now_or_never(f).expect("test credentials answer at once").expect("a token").expose().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_by_the_quota_causes_no_429s_and_wastes_little_time() {
    // Xero's 60 calls a minute at 60x: one provider minute per real second.
    let scale = 60.0;
    let config = SandboxConfig { seed: 21, customers: 400, time_scale: scale, ..Default::default() };
    let env = env(config).await;
    let mut o = options(10, scale);
    o.streams = Some(vec!["contacts".into(), "invoices".into()]);
    let started = std::time::Instant::now();
    let xero: Vec<&Target> = env.targets.iter().filter(|t| t.provider == Provider::Xero).collect();
    let targets: Vec<Target> = xero
        .iter()
        .map(|t| Target { connection_id: t.connection_id, name: t.name.clone(), provider: t.provider, base_url: t.base_url.clone(), tenant_id: t.tenant_id.clone(), credentials: t.credentials.clone() })
        .collect();
    let reports = sync(&env.store, Arc::new(SystemClock), &targets, &o, &concord_sync::progress::ignore).await;
    let elapsed = started.elapsed().as_secs_f64();
    assert!(reports.iter().all(|r| r.ok), "paced streams must succeed: {reports:#?}");
    let counters = env.sb.counters();
    let throttled = counters.to_string();
    let calls: u64 = reports.iter().map(|r| r.pages).sum();
    assert!(calls > 60, "the test needs more calls than one window allows to measure pacing, made {calls}");
    let served_429 = counters["throttled"]["xero"].as_u64().or_else(|| counters["throttled"].as_u64()).unwrap_or(0);
    eprintln!("pacing: {calls} calls in {elapsed:.2}s, {served_429} 429s");
    assert_eq!(served_429, 0, "Concord's own pacing must never cause a 429: {throttled}");
    // The fastest the sliding window allows: 60 at once, then 60 more each window.
    let minimum = ((calls as f64 - 60.0) / 60.0).ceil() * (60.0 / scale);
    assert!(elapsed <= minimum * 1.10 + 0.5, "{calls} calls took {elapsed:.2}s; the quota allows {minimum:.2}s (10% and half a second of slack)");
}


#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_orders_are_stored_with_every_line_and_their_refunds_as_payments() {
    use concord_core::model::{PaymentDirection, Payment, SalesDocument};
    use concord_core::Decimal;
    use concord_sandbox::ground_truth::{record_id, RecordObject, RecordRef};
    let config = SandboxConfig { seed: 5, customers: 300, time_scale: 600.0, rate_limits: concord_sandbox::RateLimitConfig { enabled: false, ..Default::default() }, ..Default::default() };
    let env = env(config).await;
    // One order gets far more lines than the first page of line items holds.
    let long_lines = concord_sync::providers::shopify::LINE_PAGE * 2 + 3;
    let long_order = {
        let mut w = env.sb.state().write();
        let n_lines = w.lines.len();
        let i = (0..w.shopify.orders.len()).find(|&i| (w.sales[w.shopify.orders[i].sale as usize].line_start as usize) + long_lines <= n_lines).expect("an order whose sale can borrow more lines");
        let sale = w.shopify.orders[i].sale as usize;
        w.sales[sale].line_len = long_lines as u8;
        let now = w.shopify.orders[i].updated_ms + 1;
        w.shopify.orders[i].touch(now);
        i
    };
    let mut o = options(250, 600.0);
    o.rate_limits = false;
    o.streams = Some(vec!["orders".into()]);
    let reports = run(&env, &o).await;
    assert!(reports.iter().all(|r| r.ok), "the orders stream must succeed: {reports:#?}");

    let (orders, refunds): (HashMap<String, SalesDocument>, HashMap<String, Payment>) = {
        let store = env.store.lock().unwrap();
        let cid = connection::by_name(store.conn(), Provider::Shopify.as_str()).unwrap().id;
        let rows = |object: &str| -> Vec<(String, String)> {
            let mut stmt = store.conn().prepare("SELECT external_id, data FROM canonical_records WHERE connection_id = ?1 AND object = ?2").unwrap();
            stmt.query_map(rusqlite::params![cid, object], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
        };
        let parse = |data: &str| serde_json::from_str::<concord_core::model::CanonicalRecord>(data).unwrap_or_else(|e| panic!("stored canonical JSON must be a model record ({e}): {data}"));
        let orders = rows("orders")
            .into_iter()
            .map(|(id, d)| match parse(&d) {
                concord_core::model::CanonicalRecord::SalesDocument(doc) => (id, doc),
                other => panic!("an order must map to a sales document, not {other:?}"),
            })
            .collect();
        let refunds = rows("refunds")
            .into_iter()
            .map(|(id, d)| match parse(&d) {
                concord_core::model::CanonicalRecord::Payment(p) => (id, p),
                other => panic!("a refund must map to a payment, not {other:?}"),
            })
            .collect();
        (orders, refunds)
    };
    {
        let w = env.sb.state().read();
        let money = |cents: i64| Decimal::new(cents, 2);
        let mut refunded_orders = 0;
        for (i, d) in w.shopify.orders.iter().enumerate() {
            let id = record_id(&w, RecordRef { provider: concord_sandbox::Provider::Shopify, object: RecordObject::Orders, index: i as u32 });
            let doc = orders.get(&id).unwrap_or_else(|| panic!("order {id} must be stored as a sales document"));
            let want = w.order_amounts(d).lines;
            assert_eq!(doc.lines.len(), want.len(), "order {id} must keep every line item, past the first page of {} too", concord_sync::providers::shopify::LINE_PAGE);
            let line_sum: Decimal = doc.lines.iter().map(|l| l.line_amount).sum();
            let want_sum: Decimal = want.iter().map(|l| l.amount).sum();
            assert_eq!(line_sum, want_sum, "order {id}: the stored lines must be the served lines, not a prefix");
            refunded_orders += usize::from(d.refunded_cents > 0);
        }
        assert_eq!(orders[&record_id(&w, RecordRef { provider: concord_sandbox::Provider::Shopify, object: RecordObject::Orders, index: long_order as u32 })].lines.len(), long_lines, "the long order must be completed by follow-up queries");
        let live: Vec<(usize, &concord_sandbox::record::PaymentRecord)> = w.shopify.refunds.iter().enumerate().filter(|(_, r)| !r.deleted).collect();
        assert!(!live.is_empty() && refunded_orders > 0, "the seeded business must hold refunds for this test to mean anything");
        assert_eq!(refunds.len(), live.len(), "every refund the orders carry must be stored once, and nothing else");
        for (ri, r) in live {
            let id = record_id(&w, RecordRef { provider: concord_sandbox::Provider::Shopify, object: RecordObject::Refunds, index: ri as u32 });
            let p = refunds.get(&id).unwrap_or_else(|| panic!("refund {id} must be stored as a payment"));
            let order_id = record_id(&w, RecordRef { provider: concord_sandbox::Provider::Shopify, object: RecordObject::Orders, index: r.doc });
            assert_eq!(p.direction, PaymentDirection::Refunded, "refund {id} must be money paid back, so matching nets it");
            assert_eq!(p.amount, money(r.amount_cents), "refund {id}'s amount must be the shop's totalRefundedSet");
            assert_eq!(p.allocations.len(), 1, "refund {id} is against exactly one order");
            assert_eq!(p.allocations[0].document_ref, order_id, "refund {id} must point at its order");
            assert_eq!(p.allocations[0].document_object.as_deref(), Some("orders"), "refund {id}'s target is an order");
            assert_eq!(p.allocations[0].amount, p.amount, "the whole refund is against its order");
        }
    }
    let diffs = differences(&env, &[(Provider::Shopify, "orders"), (Provider::Shopify, "refunds")]).await;
    assert!(diffs.is_empty(), "the store must equal the sandbox for orders and refunds: {diffs:#?}");
}
