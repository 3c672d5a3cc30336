//! Push throughput against the in-process sandbox: connects, syncs and matches
//! a seeded business, decides every writable conflict with a typed value, and
//! times pushes of those writes (re-read, write, verify for each), printing
//! writes, seconds, writes per second and the sandbox's request counts.
//!
//! `cargo run --release -p concord-api --example push_throughput -- [CUSTOMERS] [ROUNDS] [RECORDS PER CONNECTION AT ONCE]`

use concord_api::demo::{FollowSignIn, SandboxInfo, DEMO_CONNECTIONS};
use concord_api::push::{Choice, PushOptions};
use concord_api::sync::SyncOptions;
use concord_api::Workspace;
use concord_core::SystemClock;
use concord_sandbox::{RateLimitConfig, Sandbox, SandboxConfig};
use concord_secret::MemoryStore;
use std::sync::Arc;
use std::time::Instant;

fn value(field: &str, round: usize, conflict: i32) -> Option<String> {
    Some(match field {
        "email" => format!("r{round}.c{conflict}@example.com"),
        "phone" => format!("07 3{round:02} {conflict:05}"),
        "personName" => format!("Round{round} Person{conflict}"),
        "companyName" => format!("Company {round} {conflict}"),
        "billingAddress" => format!("{conflict} Round{round} St, Paddington, QLD, 4064"),
        "taxNumber" => format!("{round:02}{conflict:09}"),
        _ => return None,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let customers = args.first().copied().unwrap_or(2_600);
    let rounds = args.get(1).copied().unwrap_or(3);
    let per_connection = args.get(2).copied().unwrap_or(4);
    let t = Instant::now();
    let sb = Sandbox::start(SandboxConfig { seed: 11, customers, rate_limits: RateLimitConfig { enabled: false, ..Default::default() }, ..Default::default() }).await.unwrap();
    let info = SandboxInfo::fetch(&sb.origin()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), Arc::new(SystemClock), "bench").unwrap().with_secret_store(Arc::new(MemoryStore::default()));
    ws.demo_connect(&info, &FollowSignIn, &|_| {}).await.unwrap();
    let names: Vec<String> = DEMO_CONNECTIONS.iter().map(|(_, n)| n.to_string()).collect();
    ws.sync_connected(&names, &SyncOptions { rate_limits: false, ..Default::default() }, &|_| {}).await.unwrap();
    let synced = t.elapsed().as_secs_f64();
    ws.run_matching().unwrap();
    let conflicts: Vec<_> = ws.conflicts(Some("open")).unwrap().into_iter().filter(|c| value(&c.field, 0, c.id).is_some()).collect();
    println!("setup: {customers} customers, sync {synced:.1}s, matching {:.1}s, {} conflicts", t.elapsed().as_secs_f64() - synced, conflicts.len());
    let mut options = PushOptions { rate_limits: false, ..Default::default() };
    options.settings.per_connection = per_connection;
    for round in 1..=rounds {
        let d = Instant::now();
        for c in &conflicts {
            ws.decide_conflict(c.id, &Choice { winner: None, value: value(&c.field, round, c.id) }).unwrap();
        }
        let decided = d.elapsed().as_secs_f64();
        let p = Instant::now();
        let plan = ws.push_plan().unwrap();
        let planned = p.elapsed().as_secs_f64();
        let s = Instant::now();
        let summary = ws.push_with(&|_| None, &options, &|_| {}).await.unwrap();
        let secs = s.elapsed().as_secs_f64();
        println!(
            "round {round} ({per_connection} records per connection at once): {} decisions in {decided:.2}s, plan of {} in {planned:.2}s, push {} writes ({} verified, {} stale, {} dead) in {secs:.2}s = {:.0} writes/s",
            conflicts.len(),
            plan.len(),
            summary.total,
            summary.verified,
            summary.stale,
            summary.dead_lettered,
            f64::from(summary.total) / secs
        );
    }
    println!("sandbox requests: {}", sb.counters()["requests"]);
    sb.shutdown().await;
}
