//! `concord push` survives SIGKILL: twenty trials, each deciding every conflict
//! afresh (about a thousand writes across the four sandbox providers), killing
//! the `concord` process at random points of its push and resuming it. The
//! sandbox's own ledger must then show every record written exactly as many
//! times as Concord verified a write to it (nothing applied twice, nothing
//! lost), and every record must hold its decided value. Also: `--dry-run`
//! sends nothing, the summary line, and the non-zero exit when something did
//! not land. Tokens reach the child through `CONCORD_TOKEN_<NAME>` variables,
//! as on a headless machine.

use concord_api::demo::{FollowSignIn, SandboxInfo, DEMO_CONNECTIONS};
use concord_api::push::Choice;
use concord_api::sync::SyncOptions;
use concord_api::Workspace;
use concord_core::SystemClock;
use concord_sandbox::{RateLimitConfig, Sandbox, SandboxConfig};
use concord_secret::MemoryStore;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TRIALS: usize = 20;
const CUSTOMERS: usize = 250;

/// A colleague's edits before the sync: every HubSpot contact gets another phone and street,
/// so each linked customer disagrees on those fields and a push has a thousand writes to make
/// from a business small enough to sync in seconds.
fn plant_conflicts(sb: &concord_sandbox::SandboxHandle) -> usize {
    use concord_sandbox::provider::{offset_id, HUBSPOT_CONTACT_BASE};
    let n = sb.with_world(|w| w.hubspot.contacts.len());
    for i in 0..n {
        let mut f = serde_json::Map::new();
        f.insert("phone".into(), Value::String(format!("0400 {i:06}")));
        f.insert("street".into(), Value::String(format!("{i} Edited Rd")));
        let id = offset_id(HUBSPOT_CONTACT_BASE, i as u32).to_string();
        concord_sandbox::control::edit(sb.state(), concord_sandbox::Provider::HubSpot, "contacts", &id, &f).unwrap();
    }
    n
}

fn token_variable(name: &str) -> String {
    let up: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("CONCORD_TOKEN_{up}")
}

fn concord(dir: &std::path::Path, tokens: &[(String, String)], args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_concord"));
    c.arg("--workspace").arg(dir).args(args);
    // No keychain is reached: the tokens come from the environment.
    c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/concord-test-bus");
    for (k, v) in tokens {
        c.env(k, v);
    }
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// A value for a field that is unique per conflict and trial (Shopify refuses a taken e-mail).
fn value(field: &str, trial: usize, conflict: i32) -> Option<String> {
    Some(match field {
        "email" => format!("t{trial}.c{conflict}@example.com"),
        "phone" => format!("07 3{trial:02} {conflict:05}"),
        "personName" => format!("Trial{trial} Person{conflict}"),
        "companyName" => format!("Company {trial} {conflict}"),
        "billingAddress" => format!("{conflict} Trial{trial} St, Paddington, QLD, 4064"),
        "taxNumber" => format!("{trial:02}{conflict:09}"),
        _ => return None,
    })
}

fn sandbox_value(fields: &Value, field: &str) -> String {
    let f = |k: &str| fields[k].as_str().unwrap_or("").to_string();
    match field {
        "email" => f("email"),
        "phone" => f("phone"),
        "personName" => format!("{} {}", f("given"), f("family")).trim().to_string(),
        "billingAddress" => [f("street"), f("city"), f("state"), f("postcode")].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", "),
        "companyName" => f("company"),
        "taxNumber" => f("abn"),
        _ => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_survives_sigkill_exactly_once() {
    let started = Instant::now();
    let sb = Sandbox::start(SandboxConfig {
        seed: 11,
        customers: CUSTOMERS,
        time_scale: 1.0,
        rate_limits: RateLimitConfig { enabled: false, ..Default::default() },
        ..Default::default()
    })
    .await
    .unwrap();
    let planted = plant_conflicts(&sb);
    let info = SandboxInfo::fetch(&sb.origin()).await.expect("the sandbox's ready line must be readable");
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), Arc::new(SystemClock), "bookkeeper").unwrap().with_secret_store(Arc::new(MemoryStore::default()));
    ws.demo_connect(&info, &FollowSignIn, &|_| {}).await.unwrap_or_else(|e| panic!("the demo must connect: {e}"));
    let names: Vec<String> = DEMO_CONNECTIONS.iter().map(|(_, n)| n.to_string()).collect();
    let results = ws.sync_connected(&names, &SyncOptions { rate_limits: false, ..Default::default() }, &|_| {}).await.unwrap();
    assert!(results.iter().all(|r| r.ok), "every stream must sync: {results:?}");
    ws.run_matching().unwrap();
    let mut tokens = Vec::new();
    for n in &names {
        let access = ws.credentials(n).await.unwrap();
        let t = access.credentials.current().await.unwrap();
        tokens.push((token_variable(n), t.expose().to_string()));
    }
    let conflicts: Vec<_> = ws.conflicts(Some("open")).unwrap().into_iter().filter(|c| value(&c.field, 0, c.id).is_some()).collect();
    eprintln!("setup: {planted} contacts edited, {} conflicts in {:.1}s", conflicts.len(), started.elapsed().as_secs_f64());
    let dir_path = dir.path().to_path_buf();
    let control = sb.control_url();

    let report = tokio::task::spawn_blocking(move || {
        let mut rng = rand::rngs::StdRng::seed_from_u64(20);
        let mut kills = 0;
        let mut writes_per_trial = Vec::new();
        let mut push_secs = Vec::new();
        let trials = std::env::var("CONCORD_PUSH_TRIALS").ok().and_then(|t| t.parse().ok()).unwrap_or(TRIALS);
        for trial in 1..=trials {
            for c in &conflicts {
                ws.decide_conflict(c.id, &Choice { winner: None, value: value(&c.field, trial, c.id) }).unwrap();
            }
            let plan = ws.push_plan().unwrap();
            let writes = plan.iter().filter(|w| w.skipped.is_none()).count();
            writes_per_trial.push(writes);
            if trial == 1 {
                let out = concord(&dir_path, &tokens, &["push", "--dry-run"]).output().unwrap();
                let text = String::from_utf8_lossy(&out.stdout).to_string();
                assert!(out.status.success() && text.contains(&format!("plan: {writes} writes to send")), "the dry run shows the plan: {text}");
            }
            // Kill one to three times at random points, then let it finish.
            let t0 = Instant::now();
            for _ in 0..rng.random_range(1..=3) {
                let mut child = concord(&dir_path, &tokens, &["push", "--quiet", "--no-rate-limits"]).spawn().unwrap();
                std::thread::sleep(Duration::from_millis(rng.random_range(40..1200)));
                if child.try_wait().unwrap().is_none() {
                    child.kill().unwrap();
                    kills += 1;
                }
                let _ = child.wait();
            }
            let out = concord(&dir_path, &tokens, &["push", "--quiet", "--no-rate-limits"]).output().unwrap();
            push_secs.push(t0.elapsed().as_secs_f64());
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "trial {trial}: the resumed push must land everything: {text}");
            assert!(text.contains("0 stale") && text.contains("0 dead-lettered"), "trial {trial}: the summary names what landed: {text}");
        }
        (ws, kills, writes_per_trial, push_secs)
    })
    .await
    .unwrap();
    let (ws, kills, writes_per_trial, push_secs) = report;
    let total: usize = writes_per_trial.iter().sum();
    eprintln!(
        "{} trials, {kills} kills, writes per trial {:?}, push (with kills) {:.2}s mean, whole test {:.1}s",
        writes_per_trial.len(),
        writes_per_trial.first(),
        push_secs.iter().sum::<f64>() / push_secs.len() as f64,
        started.elapsed().as_secs_f64()
    );
    assert!(writes_per_trial.iter().all(|w| *w >= 1_000), "each trial pushes at least 1,000 writes: {writes_per_trial:?}");
    assert!(kills >= writes_per_trial.len() / 2, "most trials must actually be killed mid-push, or the test proves little: {kills}");

    // Exactly once: the sandbox applied, per record, as many writes as Concord verified to it.
    let rows = ws.outbox(None).unwrap();
    assert_eq!(rows.len(), total, "one outbox row per planned write");
    assert!(rows.iter().all(|r| r.state == "verified"), "no write is lost, stale or dead: {:?}", rows.iter().filter(|r| r.state != "verified").take(3).collect::<Vec<_>>());
    let conns: HashMap<String, String> = ws.list_connections().unwrap().into_iter().map(|c| (c.name, c.provider.as_str().to_string())).collect();
    let mut expected: HashMap<(String, String, String), u64> = HashMap::new();
    for r in &rows {
        let id = if conns[&r.connection] == "shopify" { r.external_id.rsplit('/').next().unwrap().to_string() } else { r.external_id.clone() };
        *expected.entry((conns[&r.connection].clone(), r.object.clone(), id)).or_default() += 1;
    }
    let counters = sb.counters();
    // The ledger's write log, without the colleague's edits made through the control API.
    let mut applied: HashMap<(String, String, String), u64> = HashMap::new();
    for w in counters["writes"]["log"].as_array().unwrap().iter().filter(|w| w["action"] != "edit") {
        let id = w["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
        *applied.entry((w["provider"].as_str().unwrap().to_string(), w["object"].as_str().unwrap().to_string(), id)).or_default() += 1;
    }
    let mismatched: Vec<_> = expected.iter().filter(|(k, n)| applied.get(*k) != Some(n)).take(5).map(|(k, n)| (k.clone(), *n, applied.get(k).copied())).collect();
    assert!(mismatched.is_empty(), "each record must be written exactly once per verified write (key, expected, applied): {mismatched:?}");
    assert_eq!(applied.values().sum::<u64>(), total as u64, "the sandbox applied no write Concord did not plan");
    let keyed = counters["writes"]["by_idempotency_key"].as_array().unwrap();
    let replays: u64 = keyed.iter().map(|k| k["replayed"].as_u64().unwrap_or(0)).sum();
    eprintln!("idempotency keys used {}, replays {replays}", keyed.len());

    // Final values: every record holds the last trial's decided value.
    let last: Vec<_> = rows.iter().rev().take(*writes_per_trial.last().unwrap()).collect();
    let client = reqwest::Client::new();
    for r in last {
        let p = &conns[&r.connection];
        let id = r.external_id.rsplit('/').next().unwrap();
        let st: Value = client.get(format!("{control}/state/{p}/{}/{id}", r.object)).send().await.unwrap().json().await.unwrap();
        assert_eq!(sandbox_value(&st["fields"], &r.field), r.new_value.clone().unwrap_or_default(), "{p} {} {id} must hold the decided {}", r.object, r.field);
    }
    assert!(ws.audit_verify().unwrap().ok, "the audit chain holds after killed pushes");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_does_not_land_exits_non_zero() {
    let sb = Sandbox::start(SandboxConfig {
        seed: 11,
        customers: 60,
        time_scale: 1.0,
        rate_limits: RateLimitConfig { enabled: false, ..Default::default() },
        ..Default::default()
    })
    .await
    .unwrap();
    let info = SandboxInfo::fetch(&sb.origin()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), Arc::new(SystemClock), "bookkeeper").unwrap().with_secret_store(Arc::new(MemoryStore::default()));
    ws.demo_connect(&info, &FollowSignIn, &|_| {}).await.unwrap();
    let names: Vec<String> = DEMO_CONNECTIONS.iter().map(|(_, n)| n.to_string()).collect();
    ws.sync_connected(&names, &SyncOptions { rate_limits: false, ..Default::default() }, &|_| {}).await.unwrap();
    ws.run_matching().unwrap();
    let c = ws.conflicts(Some("open")).unwrap().into_iter().find(|c| c.field == "email").expect("an e-mail conflict");
    let dir_path = dir.path().to_path_buf();
    // Decide through the CLI; push with only one connection's token: the others cannot be reached.
    let hub = names[0].clone();
    let hub_token = ws.credentials(&hub).await.unwrap().credentials.current().await.unwrap().expose().to_string();
    let mut all_tokens = Vec::new();
    for n in &names {
        all_tokens.push((token_variable(n), ws.credentials(n).await.unwrap().credentials.current().await.unwrap().expose().to_string()));
    }
    let id = c.id.to_string();
    let out = tokio::task::spawn_blocking(move || {
        let d = concord(&dir_path, &[], &["decide", &id, "--value", "cli.decided@example.com"]).output().unwrap();
        assert!(d.status.success(), "decide works from the CLI: {}", String::from_utf8_lossy(&d.stderr));
        let p = concord(&dir_path, &[(token_variable(&hub), hub_token)], &["push", "--quiet", "--no-rate-limits"]).output().unwrap();
        let o = concord(&dir_path, &[], &["outbox", "--state", "dead"]).output().unwrap();
        // With every token at hand, each dead letter is retried by hand and lands.
        let dead = concord(&dir_path, &[], &["outbox", "--state", "dead", "--json"]).output().unwrap();
        for line in String::from_utf8_lossy(&dead.stdout).lines() {
            let e: Value = serde_json::from_str(line).unwrap();
            let r = concord(&dir_path, &all_tokens, &["outbox", "retry", &e["id"].to_string(), "--no-rate-limits"]).output().unwrap();
            assert!(r.status.success(), "a manual retry with the connection reachable lands: {}{}", String::from_utf8_lossy(&r.stdout), String::from_utf8_lossy(&r.stderr));
        }
        // Undo writes the original values back.
        let u = concord(&dir_path, &all_tokens, &["undo", &id, "--no-rate-limits"]).output().unwrap();
        assert!(u.status.success(), "undo of a pushed decision lands: {}{}", String::from_utf8_lossy(&u.stdout), String::from_utf8_lossy(&u.stderr));
        (p, o)
    })
    .await
    .unwrap();
    let (p, o) = out;
    let after = ws.outbox(None).unwrap();
    assert!(after.iter().all(|e| e.state == "verified"), "after the retries and the undo every write is verified: {after:?}");
    assert!(after.iter().any(|e| e.purpose == "undo"), "undo went through the outbox");
    for v in &c.values {
        let e = after.iter().find(|e| e.purpose == "undo" && v.record.ends_with(&e.external_id));
        if let Some(e) = e {
            assert_eq!(e.new_value.as_deref(), Some(v.value.as_str()), "undo writes back what {} held before", v.record);
        }
    }
    let text = format!("{}{}", String::from_utf8_lossy(&p.stdout), String::from_utf8_lossy(&p.stderr));
    assert!(!p.status.success(), "a push where writes did not land must exit non-zero: {text}");
    assert!(text.contains("dead-lettered") && text.contains("verified"), "the summary line counts what happened: {text}");
    let dead = String::from_utf8_lossy(&o.stdout);
    assert!(dead.contains("dead") && dead.contains("keychain"), "writes to unreachable connections are dead letters that say why: {dead}");
    sb.shutdown().await;
}
