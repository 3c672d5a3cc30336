//! Sync throughput benchmark: 100,000+ Xero records from the sandbox with rate limits off.
//!
//! The sandbox runs in a child process (as a provider's server would, though
//! on the same two cores). Prints records per second, Concord's peak memory
//! (VmHWM of the syncing process), and the ratio to a floor
//! measured in the same run: the same pages fetched, parsed and inserted by
//! the simplest possible loop (page numbers, one INSERT per record, one
//! transaction per page, no mapping, no audit, no bookmark), with the CPU
//! time per record of each (steadier than rates on a shared machine). Run with
//! `cargo bench -p concord-sync --bench throughput`; `CONCORD_BENCH_CUSTOMERS`
//! changes the business size, `CONCORD_BENCH_ONLY=engine` skips the floor and
//! `CONCORD_BENCH_TIMELINE=1` prints when each page committed and each call's
//! duration (from the audit log), to see where a pipeline waits.

use concord_core::{Provider, Secret, StaticToken, SystemClock};
use concord_sandbox::{RateLimitConfig, Sandbox, SandboxConfig};
use concord_store::{connection, Store};
use concord_sync::{sync, Options, Target};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The shipped binaries' allocator (glibc malloc spent about a third of a sync's CPU time freeing JSON trees).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// As in the shipped binaries: freed pages go back to the OS at once (`concord_api::memory::release_freed_memory_promptly`).
extern "C" {
    fn mi_option_set(option: i32, value: std::ffi::c_long);
}

fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// CPU seconds (user + system) the whole process has used: on a machine shared
/// with other work, CPU per record is steadier than wall-clock rates.
fn cpu_secs() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

async fn xero_token(sb: &concord_sandbox::SandboxHandle) -> String {
    let sp = concord_sandbox::Provider::Xero;
    let creds = sb.credentials(sp);
    let st = sb.state().clone();
    let verifier = "v".repeat(50);
    let redirect = "http://127.0.0.1:9/cb".to_string();
    let mut q = std::collections::HashMap::new();
    for (k, v) in [("client_id", creds.client_id.clone()), ("redirect_uri", redirect.clone()), ("response_type", "code".into()), ("scope", creds.scopes.clone()), ("code_challenge", concord_sandbox::oauth::s256(&verifier)), ("code_challenge_method", "S256".into())] {
        q.insert(k.to_string(), v);
    }
    let now = st.clock.now_ms();
    let url = st.oauth.lock().unwrap().authorize(sp, &q, now, "").unwrap();
    let code = url::Url::parse(&url).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.to_string();
    let mut form = std::collections::HashMap::new();
    for (k, v) in [("grant_type", "authorization_code".to_string()), ("code", code), ("redirect_uri", redirect), ("client_id", creds.client_id), ("code_verifier", verifier)] {
        form.insert(k.to_string(), v);
    }
    let issued = st.oauth.lock().unwrap().token(sp, &form, None, now).unwrap_or_else(|e| panic!("token: {}", e.error));
    issued.access_token
}

fn new_store(dir: &std::path::Path, name: &str, base: &str, tenant: &str) -> (Store, i64) {
    let store = Store::open(&dir.join(format!("{name}.db"))).unwrap();
    let new = connection::NewConnection { name: "xero", provider: Provider::Xero, base_url: Some(base), tenant_id: Some(tenant), tenant_name: None, scopes: "", keychain_account: None };
    let id = connection::insert(store.conn(), &new, "2026-01-01T00:00:00.000Z").unwrap();
    (store, id)
}

/// The sandbox's share, for context: every page fetched and its bytes dropped
/// (only the pagination block is read, to know when to stop).
async fn serve_only(base: &str, tenant: &str, token: &str) -> (u64, u64) {
    #[derive(serde::Deserialize)]
    struct Paging {
        page: u64,
        #[serde(rename = "pageCount")]
        page_count: u64,
    }
    #[derive(serde::Deserialize)]
    struct Page {
        pagination: Paging,
    }
    let client = reqwest::Client::new();
    let (mut pages, mut bytes) = (0, 0);
    for collection in ["Contacts", "Invoices", "Payments", "CreditNotes"] {
        let mut page = 1;
        loop {
            let url = format!("{base}/api.xro/2.0/{collection}?page={page}&pageSize=1000&includeArchived=true");
            let body = client.get(url).bearer_auth(token).header("xero-tenant-id", tenant).header("If-Modified-Since", "1970-01-01T00:00:00Z").send().await.unwrap().bytes().await.unwrap();
            bytes += body.len() as u64;
            pages += 1;
            let p: Page = serde_json::from_slice(&body).unwrap();
            if p.pagination.page >= p.pagination.page_count {
                break;
            }
            page += 1;
        }
    }
    (pages, bytes)
}

/// The simplest loop: every page of every collection, parsed and inserted.
async fn floor(store: &mut Store, cid: i64, base: &str, tenant: &str, token: &str) -> u64 {
    let client = reqwest::Client::new();
    let mut n = 0;
    for (object, collection, id_key) in [("contacts", "Contacts", "ContactID"), ("invoices", "Invoices", "InvoiceID"), ("payments", "Payments", "PaymentID"), ("credit_notes", "CreditNotes", "CreditNoteID")] {
        let mut page = 1;
        loop {
            let url = format!("{base}/api.xro/2.0/{collection}?page={page}&pageSize=1000&includeArchived=true");
            let body: Value = client.get(url).bearer_auth(token).header("xero-tenant-id", tenant).header("If-Modified-Since", "1970-01-01T00:00:00Z").send().await.unwrap().json().await.unwrap();
            let records = body[collection].as_array().cloned().unwrap_or_default();
            let tx = store.conn().unchecked_transaction().unwrap();
            for r in &records {
                tx.prepare_cached("INSERT OR REPLACE INTO raw_records (connection_id, object, external_id, payload, content_hash, fetched_at) VALUES (?1, ?2, ?3, ?4, '', 'now')")
                    .unwrap()
                    .execute(rusqlite::params![cid, object, r[id_key].as_str().unwrap_or(""), r.to_string()])
                    .unwrap();
            }
            tx.commit().unwrap();
            n += records.len() as u64;
            if body["pagination"]["page"].as_u64() >= body["pagination"]["pageCount"].as_u64() {
                break;
            }
            page += 1;
        }
    }
    n
}

/// Deletes a finished run's database and lets the kernel finish writing what
/// is still pending, so the next run does not pay for this one's disk writes.
fn settle(dir: &std::path::Path, name: &str) {
    for suffix in ["db", "db-wal", "db-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{name}.{suffix}")));
    }
    // SAFETY: sync(2) takes no arguments and only flushes file system buffers.
    unsafe { libc::sync() };
}

/// Set in the child process that serves the sandbox.
const SANDBOX_ROLE: &str = "CONCORD_BENCH_SANDBOX_ROLE";

/// The child: starts the sandbox with rate limits off, prints its Xero base URL,
/// tenant and an access token on one line, and serves until its stdin closes.
fn serve_sandbox(customers: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let config = SandboxConfig { seed: 1, customers, rate_limits: RateLimitConfig { enabled: false, ..Default::default() }, ..Default::default() };
        let sb = Sandbox::start(config).await.unwrap();
        let token = xero_token(&sb).await;
        println!("{}\t{}\t{}", sb.base_url(concord_sandbox::Provider::Xero), sb.xero_tenant_id(), token);
        tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await.unwrap().unwrap();
    });
}

/// The sandbox's own CPU seconds and peak memory (MB), read from /proc.
fn child_usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime and stime are the 12th and 13th.
    let ticks: f64 = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().skip(11).take(2).filter_map(|t| t.parse::<f64>().ok()).sum()).unwrap_or(0.0);
    // SAFETY: sysconf only reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks / hz.max(1.0), hwm / 1024.0)
}

fn main() {
    // SAFETY: mimalloc's own option setter (`mi_option_purge_delay` is 15 in its mimalloc.h), called before any thread starts.
    unsafe { mi_option_set(15, 0) };
    let customers: usize = std::env::var("CONCORD_BENCH_CUSTOMERS").ok().and_then(|s| s.parse().ok()).unwrap_or(9_500);
    if std::env::var_os(SANDBOX_ROLE).is_some() {
        return serve_sandbox(customers);
    }
    // The sandbox runs in its own process, as a provider would: the figures
    // below (CPU, peak memory) are Concord's own; it still shares the two cores.
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(std::env::args_os().skip(1))
        .env(SANDBOX_ROLE, "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the benchmark starts its sandbox as a child process");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let mut parts = line.trim_end().split('\t').map(str::to_string);
    let (base, tenant, token) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().expect("the sandbox prints its base URL, tenant and token"));
    let sandbox_cpu = || child_usage(child.id()).0;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    // Floor and engine run `CONCORD_BENCH_RUNS` times each (default 3), alternating, each
    // into a new store; the medians are reported (a shared machine's noise is a few percent).
    let runs: usize = std::env::var("CONCORD_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(3).max(1);
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let before = peak_mb();
        // `CONCORD_BENCH_ONLY=engine` skips the floor (for a profiler).
        let engine_only = std::env::var("CONCORD_BENCH_ONLY").is_ok_and(|v| v == "engine");
        let us = |cpu: f64, n: u64| cpu * 1e6 / n.max(1) as f64;

        let (t, c, sc) = (Instant::now(), cpu_secs(), sandbox_cpu());
        // This pass also fills the sandbox's render cache, so the floor and the engine read the same warm sandbox.
        let (pages, bytes) = serve_only(&base, &tenant, &token).await;
        let (serve_secs, serve_cpu, serve_sandbox_cpu) = (t.elapsed().as_secs_f64(), cpu_secs() - c, sandbox_cpu() - sc);
        println!("sandbox business: {customers} customers, served by a child process");
        println!("sandbox serving alone: {pages} pages, {:.0} MB in {serve_secs:.2}s; sandbox {:.1} CPU us/record, client {:.1}", bytes as f64 / 1e6, us(serve_sandbox_cpu, 100_000), us(serve_cpu, 100_000));

        let (mut floor_times, mut engine_times) = (Vec::new(), Vec::new());
        let mut records = 0;
        for run in 1..=runs {
            if !engine_only {
                let (mut floor_store, fcid) = new_store(dir.path(), &format!("floor{run}"), &base, &tenant);
                let (t, c, sc) = (Instant::now(), cpu_secs(), sandbox_cpu());
                let n = floor(&mut floor_store, fcid, &base, &tenant, &token).await;
                let (secs, cpu, scpu) = (t.elapsed().as_secs_f64(), cpu_secs() - c, sandbox_cpu() - sc);
                println!("floor  run {run}: {n} records in {secs:.2}s = {:.0} records/s, {:.1} CPU us/record (sandbox {:.1})", n as f64 / secs, us(cpu, n), us(scpu, n));
                floor_times.push(secs);
                drop(floor_store);
                settle(dir.path(), &format!("floor{run}"));
            }
            let (store, cid) = new_store(dir.path(), &format!("engine{run}"), &base, &tenant);
            let store = Mutex::new(store);
            let targets = vec![Target { connection_id: cid, name: "xero".into(), provider: Provider::Xero, base_url: base.clone(), tenant_id: Some(tenant.clone()), credentials: Arc::new(StaticToken(Secret::new(token.clone()))) }];
            let options = Options { rate_limits: false, ..Default::default() };
            let t0 = Instant::now();
            let timeline = Mutex::new(Vec::new());
            let sink = |p: concord_sync::progress::Progress| timeline.lock().unwrap().push((t0.elapsed().as_secs_f64(), p.stream.clone(), p.records));
            let (c, sc) = (cpu_secs(), sandbox_cpu());
            let reports = sync(&store, Arc::new(SystemClock), &targets, &options, &sink).await;
            let (secs, cpu, scpu) = (t0.elapsed().as_secs_f64(), cpu_secs() - c, sandbox_cpu() - sc);
            assert!(reports.iter().all(|r| r.ok), "the benchmark sync must succeed: {reports:#?}");
            let stored: u64 = reports.iter().map(|r| r.changed).sum();
            println!("engine run {run}: {stored} records in {secs:.2}s = {:.0} records/s, {:.1} CPU us/record (sandbox {:.1})", stored as f64 / secs, us(cpu, stored), us(scpu, stored));
            engine_times.push(secs);
            records = stored;
            let keep = std::env::var_os("CONCORD_BENCH_TIMELINE").is_some();
            if std::env::var_os("CONCORD_BENCH_TIMELINE").is_some() {
                for (t, s, r) in timeline.lock().unwrap().iter() {
                    println!("timeline {t:.3} {s} {r}");
                }
                let st = store.lock().unwrap();
                let mut q = st.conn().prepare("SELECT json_extract(detail, '$.stream'), json_extract(detail, '$.durationMs') FROM audit_log WHERE action = 'api.call' ORDER BY id").unwrap();
                for row in q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).unwrap() {
                    let (s, d) = row.unwrap();
                    println!("call {s} {d}");
                }
            }
            drop(store);
            if !keep {
                settle(dir.path(), &format!("engine{run}"));
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let engine = median(&mut engine_times);
        println!("engine (median of {runs}): {records} records in {engine:.2}s = {:.0} records/s", records as f64 / engine);
        if !engine_only {
            let floor = median(&mut floor_times);
            println!("floor  (median of {runs}): {:.0} records/s", records as f64 / floor);
            println!("ratio engine/floor time: {:.2}x", engine / floor);
        }
        println!("peak memory (VmHWM of the syncing process, over every run; {before:.0} MB before syncing): {:.0} MB", peak_mb());
    });
    drop(child.stdin.take());
    let _ = child.wait();
}
