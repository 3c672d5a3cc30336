//! Deciding conflicts and pushing fixes against the in-process sandbox: the
//! plan names every write and every field that cannot be written; a push lands
//! on all four providers and is verified by the sandbox's own state; a record
//! a colleague edited after the decision is not overwritten and returns to
//! review; a permanent refusal lands in the dead letters with the provider's
//! message and a manual retry after the cause is fixed succeeds; undo restores
//! the original values; a rerun of matching keeps decisions.

use concord_api::demo::{FollowSignIn, SandboxInfo};
use concord_api::matching::ConflictView;
use concord_api::push::{Choice, PushOptions, RuleScope};
use concord_api::Workspace;
use concord_core::SystemClock;
use concord_sandbox::{Provider as SbProvider, RateLimitConfig, Sandbox, SandboxConfig};
use concord_secret::MemoryStore;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

struct Setup {
    sb: concord_sandbox::SandboxHandle,
    _dir: tempfile::TempDir,
    ws: Workspace,
    /// Connection id -> (provider, name).
    conns: HashMap<i64, (concord_core::Provider, String)>,
}

async fn setup(customers: usize) -> Setup {
    let sb = Sandbox::start(SandboxConfig {
        seed: 11,
        customers,
        time_scale: 60.0,
        rate_limits: RateLimitConfig { enabled: false, ..Default::default() },
        ..Default::default()
    })
    .await
    .unwrap();
    let info = SandboxInfo::fetch(&sb.origin()).await.expect("the sandbox's ready line must be readable");
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), Arc::new(SystemClock), "bookkeeper").unwrap().with_secret_store(Arc::new(MemoryStore::default()));
    ws.demo_connect(&info, &FollowSignIn, &|_| {}).await.unwrap_or_else(|e| panic!("the demo must connect: {e}"));
    let results = ws.demo_sync(info.time_scale, &|_| {}).await.expect("the sync must run");
    assert!(results.iter().all(|r| r.ok), "every stream must sync: {results:?}");
    ws.run_matching().expect("matching must run");
    let conns = ws.list_connections().unwrap().into_iter().map(|c| (i64::from(c.id), (c.provider, c.name))).collect();
    Setup { sb, _dir: dir, ws, conns }
}

fn options() -> PushOptions {
    let mut o = PushOptions { rate_limits: false, time_scale: 60.0, ..Default::default() };
    o.settings.min_delay = std::time::Duration::from_millis(20);
    o.settings.max_delay = std::time::Duration::from_millis(200);
    o.settings.settle = std::time::Duration::from_millis(50);
    o
}

fn sb_provider(p: concord_core::Provider) -> SbProvider {
    p.as_str().parse().unwrap()
}

/// The sandbox's stored fields of a record named by its store key.
async fn stored(s: &Setup, record: &str) -> Value {
    let mut it = record.splitn(3, '/');
    let conn: i64 = it.next().unwrap().parse().unwrap();
    let object = it.next().unwrap();
    // Shopify ids are gids; the control API takes their number.
    let id = it.next().unwrap().rsplit('/').next().unwrap();
    let p = sb_provider(s.conns[&conn].0);
    let url = format!("{}/state/{}/{}/{}", s.sb.control_url(), p.as_str(), object, id);
    reqwest::get(&url).await.unwrap().json::<Value>().await.unwrap()
}

/// The sandbox field(s) a canonical field lives in, as one comparable string.
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

fn no_progress(_: concord_api::push::PushProgress) {}

fn by_field<'a>(conflicts: &'a [ConflictView], field: &str) -> Vec<&'a ConflictView> {
    conflicts.iter().filter(|c| c.field == field && c.status == "open").collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_push_verify_and_undo_on_all_four_providers() {
    let s = setup(60).await;
    let ws = &s.ws;
    // A spreadsheet copy of one customer joins the e-mail conflict; Concord cannot write to it.
    let first = ws.conflicts(Some("open")).unwrap().into_iter().find(|c| c.field == "email").expect("an e-mail conflict");
    let st = stored(&s, &first.values[0].record).await;
    let f = |k: &str| st["fields"][k].as_str().unwrap_or("").to_string();
    let csv = s._dir.path().join("legacy.csv");
    std::fs::write(&csv, format!("id,first,last,email\nS1,{},{},{}\n", f("given"), f("family"), f("email"))).unwrap();
    ws.import_csv("legacy", "parties", &csv, &[]).unwrap();
    ws.run_matching().unwrap();
    let open = ws.conflicts(Some("open")).unwrap();
    let mut kinds: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for c in &open {
        for v in &c.values {
            *kinds.entry((c.field.clone(), v.provider.map(|p| p.as_str().to_string()).unwrap_or_default())).or_default() += 1;
        }
    }
    eprintln!("open conflicts: {} by field and provider: {kinds:?}", open.len());
    assert!(!open.is_empty(), "the seeded business plants conflicting fields");
    // Typed values for a spread of fields, so every system holding the field gets a write.
    let mut decided = Vec::new();
    let mut providers_hit: HashSet<concord_core::Provider> = HashSet::new();
    for (field, value) in [("email", "decided.{n}@example.com"), ("phone", "07 3000 10{n}"), ("billingAddress", "{n} Decision St, Paddington, QLD, 4064"), ("personName", "Decided Person{n}"), ("taxNumber", "53 004 085 6{n}")] {
        for (n, c) in by_field(&open, field).into_iter().take(4).enumerate() {
            let v = value.replace("{n}", &(n + 10).to_string());
            let view = ws.decide_conflict(c.id, &Choice { value: Some(v.clone()), winner: None }).unwrap();
            assert_eq!(view.status, "decided", "a decided conflict says so");
            decided.push((c.id, field, v));
            providers_hit.extend(c.values.iter().filter_map(|x| x.provider));
        }
    }
    assert!(decided.len() >= 4, "there must be conflicts to decide: {decided:?}");
    let plan = ws.push_plan().unwrap();
    let writable: Vec<_> = plan.iter().filter(|w| w.skipped.is_none()).collect();
    assert!(!writable.is_empty(), "a typed value implies writes: {plan:?}");
    for w in &plan {
        let c = open.iter().find(|c| c.id == w.conflict_id).expect("each planned write names its conflict");
        let had = c.values.iter().find(|v| v.record == w.record).expect("each write targets one of the conflict's records");
        assert_eq!(w.old_value, had.value, "the plan's old value is what the system held when decided");
        assert!(w.state.is_none(), "nothing is recorded before a push");
        if w.skipped.is_none() {
            assert!(!w.provider_fields.is_empty(), "a write names the provider fields it sets: {w:?}");
        }
    }
    let skipped: Vec<_> = plan.iter().filter(|w| w.skipped.is_some()).collect();
    eprintln!("plan: {} writes, {} skipped: {:?}", writable.len(), skipped.len(), skipped.iter().map(|w| (&w.record, &w.field, &w.skipped)).collect::<Vec<_>>());
    assert!(skipped.iter().any(|w| w.skipped.as_deref().is_some_and(|r| r.contains("spreadsheet"))), "the spreadsheet's value cannot be written, and the plan says so");
    assert!(skipped.iter().all(|w| w.skipped.as_deref().is_some_and(|r| r.len() > 10) && w.provider_fields.is_empty()), "a skipped write says why");
    let counters_before = s.sb.counters()["writes"]["total"].as_u64().unwrap();
    assert_eq!(counters_before, 0, "planning sends nothing");

    let summary = ws.push_with(&|_| None, &options(), &no_progress).await.unwrap();
    assert!(summary.ok, "every write must land: {summary:?} {:?}", ws.outbox(None).unwrap());
    assert_eq!(summary.skipped as usize, skipped.len(), "the summary counts the writes that cannot be made");
    assert_eq!(summary.verified as usize, writable.len(), "each writable planned write is verified: {summary:?}");
    assert_eq!(summary.sent as usize, writable.len(), "each is sent exactly once");
    let counters = s.sb.counters();
    let written: HashSet<String> = counters["writes"]["by_record"].as_array().unwrap().iter().map(|r| r["provider"].as_str().unwrap().to_string()).collect();
    eprintln!("push: {summary:?}; providers written: {written:?}");
    assert_eq!(written.len(), 4, "the decided conflicts span all four providers, so all four must be written: {written:?}");
    for p in ["hubspot", "shopify", "xero", "quickbooks"] {
        if providers_hit.iter().any(|x| x.as_str() == p) {
            assert!(written.contains(p), "{p} holds decided fields, so it must have been written: {written:?}");
        }
    }
    for w in &writable {
        let st = stored(&s, &w.record).await;
        assert_eq!(sandbox_value(&st["fields"], &w.field), w.new_value, "the sandbox now holds the decided value for {} {}", w.record, w.field);
    }
    for (id, _, _) in &decided {
        let v = ws.conflicts(None).unwrap().into_iter().find(|c| c.id == *id).unwrap();
        assert!(v.status == "pushed" || ws.push_plan().unwrap().iter().filter(|w| w.conflict_id == *id).all(|w| w.skipped.is_some()), "a fully written conflict is pushed: {v:?}");
    }
    let audit = ws.audit_entries(&concord_api::json::AuditFilter { text: Some("push.verified".into()), limit: 1000, before_id: None }).unwrap();
    assert_eq!(audit.len(), writable.len(), "each verified write is audited");
    let d: Value = serde_json::from_str(&audit[0].detail).unwrap();
    assert!(d["responseId"].as_str().is_some_and(|r| !r.is_empty()) && d["decidedBy"] == "bookkeeper" && d["oldValue"].is_string(), "the audit names the decider, the old value and the provider's response id: {d}");

    // A second push has nothing left to do and sends nothing.
    let again = ws.push_with(&|_| None, &options(), &no_progress).await.unwrap();
    assert_eq!((again.total, again.sent), (0, 0), "a repeated push sends nothing: {again:?}");

    // Undo the first decided conflict: the original values come back, verified by re-reading.
    let (undo_id, _, _) = decided[0];
    let originals: Vec<_> = writable.iter().filter(|w| w.conflict_id == undo_id).map(|w| (w.record.clone(), w.field.clone(), w.old_value.clone())).collect();
    let u = ws.undo_push_with(undo_id, &|_| None, &options(), &no_progress).await.unwrap();
    assert!(u.ok && u.verified as usize == originals.len(), "undo writes every pushed value back: {u:?}");
    for (record, field, old) in &originals {
        let st = stored(&s, record).await;
        assert!(concord_push::fields::same(field, &sandbox_value(&st["fields"], field), old), "undo restores the original {field} of {record}");
    }
    let after = ws.conflicts(None).unwrap().into_iter().find(|c| c.id == undo_id).unwrap();
    assert_eq!(after.status, "open", "an undone conflict is back in review");
    assert!(ws.audit_verify().unwrap().ok, "the audit chain holds after pushes and undo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_writes_return_to_review_and_dead_letters_retry_by_hand() {
    let s = setup(60).await;
    let ws = &s.ws;
    let open = ws.conflicts(Some("open")).unwrap();

    // Stale: decide a name conflict, then a colleague edits one target record's name.
    let c = by_field(&open, "personName").into_iter().next().expect("a name conflict");
    ws.decide_conflict(c.id, &Choice { value: Some("Chosen Name".into()), winner: None }).unwrap();
    let plan = ws.push_plan().unwrap();
    let target = plan.iter().find(|w| w.conflict_id == c.id && w.skipped.is_none()).expect("a writable target").clone();
    let (conn, object, id) = parts(&target.record);
    let p = sb_provider(s.conns[&conn].0);
    let mut fields = serde_json::Map::new();
    fields.insert("given".into(), Value::String("Colleague".into()));
    concord_sandbox::control::edit(s.sb.state(), p, &object, &id, &fields).unwrap();
    let summary = ws.push_with(&|_| None, &options(), &no_progress).await.unwrap();
    assert!(!summary.ok && summary.stale >= 1, "the edited record must not be overwritten: {summary:?}");
    assert_eq!(stored(&s, &target.record).await["fields"]["given"], "Colleague", "the colleague's edit survives");
    let view = ws.conflicts(None).unwrap().into_iter().find(|x| x.id == c.id).unwrap();
    assert_eq!(view.status, "changed_since_decided", "the conflict returns to review marked changed since decided");
    let stale = ws.outbox(Some("stale")).unwrap();
    assert!(stale.iter().any(|e| e.last_error.as_deref().is_some_and(|m| m.contains("changed since you decided"))), "the stale write says why: {stale:?}");

    // Dead letter: a Shopify e-mail already taken by another customer is refused permanently.
    let mail = by_field(&open, "email").into_iter().find(|c| c.values.iter().any(|v| v.provider == Some(concord_core::Provider::Shopify))).expect("an e-mail conflict involving Shopify");
    let shop_record = mail.values.iter().find(|v| v.provider == Some(concord_core::Provider::Shopify)).unwrap().record.clone();
    let shop_conn = parts(&shop_record).0;
    let other_record = ws
        .links(None, Some("party"))
        .unwrap()
        .iter()
        .flat_map(|l| [l.left.clone(), l.right.clone()])
        .find(|k| k.starts_with(&format!("{shop_conn}/customers/")) && *k != shop_record)
        .expect("another Shopify customer");
    let taken = stored(&s, &other_record).await["fields"]["email"].as_str().unwrap().to_string();
    assert!(taken.contains('@'), "the other customer has an e-mail to collide with: {taken:?}");
    ws.decide_conflict(mail.id, &Choice { value: Some(taken.clone()), winner: None }).unwrap();
    let summary = ws.push_with(&|_| None, &options(), &no_progress).await.unwrap();
    assert!(summary.dead_lettered >= 1 && !summary.ok, "a refused write is dead-lettered: {summary:?}");
    let dead = ws.outbox(Some("dead")).unwrap();
    let letter = dead.iter().find(|e| e.conflict_id == Some(mail.id)).expect("the Shopify write is in the dead letters").clone();
    assert!(letter.last_error.as_deref().is_some_and(|m| m.contains("Email has already been taken")), "the dead letter carries the provider's message: {letter:?}");
    // Fix the cause (the other customer's e-mail changes), then retry by hand.
    let (_, _, other_id) = parts(&other_record);
    let mut f = serde_json::Map::new();
    f.insert("email".into(), Value::String("moved.on@example.com".into()));
    concord_sandbox::control::edit(s.sb.state(), SbProvider::Shopify, "customers", &other_id, &f).unwrap();
    let retried = ws.outbox_retry_with(letter.id, &|_| None, &options(), &no_progress).await.unwrap();
    assert!(retried.ok && retried.verified >= 1, "the manual retry succeeds once the cause is fixed: {retried:?}");
    assert_eq!(stored(&s, &shop_record).await["fields"]["email"], Value::String(taken.clone()), "the sandbox holds the decided e-mail");
    assert_eq!(ws.conflicts(None).unwrap().into_iter().find(|x| x.id == mail.id).unwrap().status, "pushed", "once every write landed the conflict is pushed");

    // Rules and decisions survive a matching rerun; an unpushed decision can be taken back.
    let xero = s.conns.values().find(|(p, _)| *p == concord_core::Provider::Xero).unwrap().1.clone();
    let n = ws.apply_rule("billingAddress", &xero, RuleScope::Undecided).unwrap();
    assert!(n >= 1, "a rule decides every undecided address conflict Xero has a value for");
    ws.run_matching().unwrap();
    let decided_after: Vec<_> = ws.conflicts(Some("decided")).unwrap().into_iter().filter(|c| c.field == "billingAddress").collect();
    assert_eq!(decided_after.len(), n as usize, "decisions survive a matching rerun");
    assert!(ws.decision(decided_after[0].id).unwrap().and_then(|d| d.rule).is_some_and(|r| r.contains("wins billingAddress")), "the decision names its rule");
    let withdrawn = ws.undo_decision(decided_after[0].id).unwrap();
    assert_eq!(withdrawn.status, "open", "an unpushed decision can be taken back");
    assert!(ws.push_plan().unwrap().iter().all(|w| w.conflict_id != withdrawn.id), "a withdrawn decision plans no writes");
}

/// (connection id, object, external id) of a record key.
fn parts(record: &str) -> (i64, String, String) {
    let mut it = record.splitn(3, '/');
    (it.next().unwrap().parse().unwrap(), it.next().unwrap().to_string(), it.next().unwrap().to_string())
}

/// Writes that landed, per record, in the sandbox's own write log (colleague edits left out).
fn applied_per_record(sb: &concord_sandbox::SandboxHandle) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for w in sb.counters()["writes"]["log"].as_array().unwrap().iter().filter(|w| w["action"] != "edit") {
        let id = w["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
        *out.entry(format!("{}/{}/{}", w["provider"].as_str().unwrap(), w["object"].as_str().unwrap(), id)).or_default() += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_are_retried_without_double_writes_and_bounded() {
    let s = setup(60).await;
    let ws = &s.ws;
    let open = ws.conflicts(Some("open")).unwrap();
    for (n, c) in open.iter().filter(|c| matches!(c.field.as_str(), "email" | "personName" | "billingAddress")).enumerate() {
        let v = match c.field.as_str() {
            "email" => format!("faulty.{n}@example.com"),
            "personName" => format!("Faulty Person{n}"),
            _ => format!("{n} Fault Rd, Paddington, QLD, 4064"),
        };
        ws.decide_conflict(c.id, &Choice { value: Some(v), winner: None }).unwrap();
    }
    // Server errors, and responses lost after the write was applied (reset connections, cut bodies).
    let rules = ["server_error:p=0.06", "connection_reset:p=0.04", "truncated_body:p=0.03"];
    s.sb.set_faults(concord_sandbox::FaultPlan { rules: rules.iter().map(|r| r.parse().unwrap()).collect() });
    let mut opts = options();
    opts.settings.max_tries = 12;
    let summary = ws.push_with(&|_| None, &opts, &no_progress).await.unwrap();
    let faults = s.sb.counters()["faults"].clone();
    eprintln!("under faults: {summary:?}; faults injected {faults}");
    assert!(summary.ok, "transient faults are retried until every write lands: {summary:?} {:?}", ws.outbox(Some("dead")).unwrap());
    assert!(faults.as_object().is_some_and(|f| !f.is_empty()), "faults must actually have been injected: {faults}");
    // Exactly once: a write whose answer was lost is found applied on the re-read and not sent again.
    let verified = ws.outbox(Some("verified")).unwrap();
    let mut expected: HashMap<String, u64> = HashMap::new();
    for e in &verified {
        let p = e.provider.unwrap().as_str();
        *expected.entry(format!("{p}/{}/{}", e.object, e.external_id.rsplit('/').next().unwrap())).or_default() += 1;
    }
    assert_eq!(applied_per_record(&s.sb), expected, "every record is written exactly once per verified write, lost answers and retries included");

    // Bounded: a provider that fails every request sends the write to the dead letters, and a retry after recovery lands.
    s.sb.set_faults(concord_sandbox::FaultPlan { rules: vec!["server_error@xero".parse().unwrap()] });
    let c = ws.conflicts(Some("open")).unwrap().into_iter().find(|c| c.values.iter().any(|v| v.provider == Some(concord_core::Provider::Xero)) && matches!(c.field.as_str(), "personName" | "billingAddress" | "email" | "taxNumber"));
    let c = c.expect("another conflict with a Xero record");
    let v = match c.field.as_str() {
        "email" => "bounded@example.com".to_string(),
        "taxNumber" => "53 004 085 616".to_string(),
        "personName" => "Bounded Person".to_string(),
        _ => "1 Bounded Rd, Paddington, QLD, 4064".to_string(),
    };
    ws.decide_conflict(c.id, &Choice { value: Some(v), winner: None }).unwrap();
    let mut opts = options();
    opts.settings.max_tries = 3;
    let summary = ws.push_with(&|_| None, &opts, &no_progress).await.unwrap();
    assert!(!summary.ok && summary.dead_lettered == 1, "the Xero write gives up after its tries: {summary:?}");
    let letter = ws.outbox(Some("dead")).unwrap().into_iter().find(|e| e.conflict_id == Some(c.id)).expect("a dead letter");
    assert!(letter.attempts == 3 && letter.last_error.as_deref().is_some_and(|m| m.contains("gave up after 3 attempts") && m.contains("Xero answered 500")), "the dead letter says how often it tried and what Xero said: {letter:?}");
    s.sb.set_faults(concord_sandbox::FaultPlan::default());
    let retried = ws.outbox_retry_with(letter.id, &|_| None, &opts, &no_progress).await.unwrap();
    assert!(retried.ok && retried.verified == 1, "the retry after recovery lands: {retried:?}");
}
