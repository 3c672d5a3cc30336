//! CSV reports, read back: every report kind is parsed with the csv crate and
//! compared with the store (row counts, values, totals that tie out), hostile
//! text arrives neutralised while negative amounts stay plain numbers, and
//! LibreOffice (headless) opens a report with the formula as text, "Zoë Ng"
//! intact with and without the BOM, and the amounts as numbers.
//!
//! The LibreOffice test skips with a message when `soffice` is missing, and
//! fails instead when `CONCORD_REQUIRE_SOFFICE=1` (as CI sets it).

mod support;

use support::clusters;

use concord_api::demo::{FollowSignIn, SandboxInfo};
use concord_api::report::{columns, ReportKind, ReportOptions, ReportSummary};
use concord_api::{ErrorCode, Workspace};
use concord_core::{FixedClock, SystemClock};
use concord_report::{restore, ColumnKind};
use concord_sandbox::{Sandbox, SandboxConfig};
use concord_secret::MemoryStore;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;

const HOSTILE: &str = "=HYPERLINK(\"http://evil\",\"click\")";

/// A parsed report: header, detail rows, total rows and the note, each row as a map from column to (restored) text.
struct Parsed {
    header: Vec<String>,
    details: Vec<HashMap<String, String>>,
    totals: Vec<HashMap<String, String>>,
    notes: Vec<HashMap<String, String>>,
    raw: String,
}

fn parse(path: &Path) -> Parsed {
    let bytes = std::fs::read(path).expect("the report file must exist");
    let text = String::from_utf8(bytes).expect("a report must be UTF-8");
    let body = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let mut rd = csv::ReaderBuilder::new().has_headers(true).from_reader(body.as_bytes());
    let header: Vec<String> = rd.headers().expect("a header row").iter().map(str::to_string).collect();
    let (mut details, mut totals, mut notes) = (Vec::new(), Vec::new(), Vec::new());
    for rec in rd.records() {
        let rec = rec.expect("every row must parse as RFC 4180 with as many fields as the header");
        let row: HashMap<String, String> = header.iter().cloned().zip(rec.iter().map(|v| restore(v).to_string())).collect();
        match row["line"].as_str() {
            "detail" => details.push(row),
            "total" => totals.push(row),
            "note" => notes.push(row),
            other => panic!("the line column must say detail, total or note, not {other:?}"),
        }
    }
    Parsed { header, details, totals, notes, raw: text }
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|e| panic!("{s:?} must be a plain decimal: {e}"))
}

/// Checks what holds for every report: header, CRLF, totals that equal the sum of the detail rows, and the summary.
fn check_common(kind: ReportKind, p: &Parsed, s: &ReportSummary) {
    let expected: Vec<String> = std::iter::once("line").chain(columns(kind).iter().map(|c| c.name)).map(str::to_string).collect();
    assert_eq!(p.header, expected, "{kind:?}: the header names every column, after `line`");
    assert!(p.raw.contains("\r\n") && !p.raw.replace("\r\n", "").contains("\r"), "{kind:?}: records end with CRLF (RFC 4180)");
    assert_eq!(p.details.len(), s.rows as usize, "{kind:?}: the summary counts the detail rows written");
    assert!(!p.totals.is_empty(), "{kind:?}: every report ends with at least one total row");
    let amount_cols: Vec<&str> = columns(kind).iter().filter(|c| c.kind == ColumnKind::Amount).map(|c| c.name).collect();
    let currency_col = columns(kind).iter().find(|c| c.kind == ColumnKind::Currency).map(|c| c.name);
    let mut sums: BTreeMap<(String, &str), Decimal> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for row in &p.details {
        let cur = currency_col.map(|c| row[c].clone()).unwrap_or_default();
        *counts.entry(cur.clone()).or_default() += 1;
        for col in &amount_cols {
            if !row[*col].is_empty() {
                *sums.entry((cur.clone(), col)).or_default() += dec(&row[*col]);
            }
        }
    }
    for t in &p.totals {
        let cur = currency_col.map(|c| t[c].clone()).unwrap_or_default();
        let label = columns(kind).iter().find(|c| c.kind == ColumnKind::Text).map(|c| t[c.name].clone()).unwrap_or_default();
        assert_eq!(label, format!("{} rows", counts.get(&cur).copied().unwrap_or(0)), "{kind:?}: the {cur:?} total row counts its detail rows");
        for col in &amount_cols {
            let want = sums.get(&(cur.clone(), col)).copied().unwrap_or_default();
            assert_eq!(dec(&t[*col]), want, "{kind:?}: the {cur:?} total of {col} must tie out to the detail rows to the cent");
            let summary = s.totals.iter().find(|x| x.currency == cur).and_then(|x| x.amounts.iter().find(|a| a.column == *col)).map(|a| dec(&a.amount));
            assert_eq!(summary, Some(want), "{kind:?}: the returned summary carries the same {cur:?} {col} total");
        }
    }
}

/// The store read directly, to compare reports with.
fn db(ws: &Workspace) -> rusqlite::Connection {
    rusqlite::Connection::open(ws.dir().join("concord.db")).expect("the workspace database opens")
}

/// Every record key with its kind and data (synced and imported).
fn records(ws: &Workspace) -> Vec<(String, String, serde_json::Value)> {
    let conn = db(ws);
    let mut out = Vec::new();
    let mut stmt = conn.prepare("SELECT connection_id, object, external_id, kind, data FROM canonical_records").unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?))).unwrap();
    for r in rows {
        let (c, o, x, k, d) = r.unwrap();
        out.push((format!("{c}/{o}/{x}"), k, serde_json::from_str(&d).unwrap()));
    }
    let mut stmt = conn.prepare("SELECT kind, data FROM imported_records").unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap();
    for r in rows {
        let (k, d) = r.unwrap();
        let v: serde_json::Value = serde_json::from_str(&d).unwrap();
        let key = format!("{}/{}/{}", v["source"]["connectionId"], v["source"]["object"].as_str().unwrap(), v["source"]["externalId"].as_str().unwrap());
        out.push((key, k, v));
    }
    out
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Spreadsheets with hostile names, an accented name and a negative amount, imported as two systems.
fn import_hostile(ws: &Workspace, dir: &Path) {
    let parties = write(
        dir,
        "crm.csv",
        &format!("id,name,email\nh1,\"{}\",evil@example.com\nz1,Zoë Ng,zoe@example.com\nh2,@SUM(A1:A9),sum@example.com\nh3,=1+1,eq@example.com\n", HOSTILE.replace('"', "\"\"")),
    );
    ws.import_csv("crm-sheet", "parties", &parties, &["externalId=id".into(), "displayName=name".into(), "email=email".into()]).expect("the parties sheet imports");
    let docs = write(
        dir,
        "books.csv",
        "id,kind,number,date,total,gst,status,customer,currency\nd1,invoice,-INV-1,2026-03-01,-12.50,0,open,h1,AUD\nd2,invoice,INV-2,2026-03-02,110.00,10.00,paid,z1,AUD\nd3,invoice,INV-3,2026-03-03,5.05,0,open,z1,NZD\n",
    );
    ws.import_csv("books-sheet", "documents", &docs, &[]).expect("the documents sheet imports");
}

fn export(ws: &Workspace, kind: ReportKind, dir: &Path, bom: bool) -> (ReportSummary, Parsed) {
    let path = dir.join(format!("{}{}.csv", kind.as_str(), if bom { "-bom" } else { "" }));
    let s = ws.report(kind, &path, &ReportOptions { bom }).unwrap_or_else(|e| panic!("the {kind:?} report must be written: {e}"));
    let p = parse(&path);
    check_common(kind, &p, &s);
    (s, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_report_round_trips_against_the_synced_store() {
    let sb = Sandbox::start(SandboxConfig { seed: 7, customers: 50, time_scale: 60.0, ..Default::default() }).await.unwrap();
    let info = SandboxInfo::fetch(&sb.origin()).await.expect("the sandbox's ready line must be readable");
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), Arc::new(SystemClock), "test").unwrap().with_secret_store(Arc::new(MemoryStore::default()));
    ws.demo_connect(&info, &FollowSignIn, &|_| {}).await.unwrap_or_else(|e| panic!("the demo must connect: {e}"));
    let results = ws.demo_sync(info.time_scale, &|_| {}).await.expect("the sync must run");
    assert!(results.iter().all(|r| r.ok), "every stream must sync: {results:?}");
    let m = ws.run_matching().expect("matching must run");
    assert!(m.conflicts > 0 && m.discrepancies > 0, "the seeded business must give conflicts and discrepancies to report: {m:?}");
    // Imported after matching: spreadsheet rows nobody has linked yet, with hostile text and a negative amount.
    import_hostile(&ws, out.path());

    let recs = records(&ws);
    let by_key: HashMap<&str, (&str, &serde_json::Value)> = recs.iter().map(|(k, kind, v)| (k.as_str(), (kind.as_str(), v))).collect();
    let links = ws.links(None, None).unwrap();

    // A decision and its push, written as the decisions and outbox tables hold them.
    let conflicts = ws.conflicts(None).unwrap();
    let decided = conflicts.iter().find(|c| c.values.len() >= 2 && c.values.iter().all(|v| v.provider.is_some())).expect("a conflict between two connected systems");
    let (winner, loser) = (&decided.values[0], &decided.values[1]);
    {
        let conn = db(&ws);
        conn.execute(
            "INSERT INTO decisions (conflict_id, winner, value, decided_by, decided_at) VALUES (?1, ?2, ?3, 'Bea Bookkeeper', '2026-11-23T10:00:00.000Z')",
            rusqlite::params![decided.id, winner.record, winner.value],
        )
        .unwrap();
        let decision_id = conn.last_insert_rowid();
        let mut parts = loser.record.splitn(3, '/');
        let (cid, object, xid) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        conn.execute(
            "INSERT INTO outbox (decision_id, connection_id, object, external_id, field, old_value, new_value, idempotency_key, state, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'report-test-key', 'verified', '2026-11-23T10:01:00.000Z', '2026-11-23T10:02:00.000Z')",
            rusqlite::params![decision_id, cid.parse::<i64>().unwrap(), object, xid, decided.field, loser.value, winner.value],
        )
        .unwrap();
    }

    // Conflicts: one row per system's value of each conflict, values as stored.
    let (_, p) = export(&ws, ReportKind::Conflicts, out.path(), false);
    let row = |record: &str| p.details.iter().find(|r| r["conflict_id"] == decided.id.to_string() && r["record"] == record).expect("each value of the decided conflict is a row");
    let (w, l) = (row(&winner.record), row(&loser.record));
    assert_eq!((w["winner"].as_str(), l["winner"].as_str()), ("yes", "no"), "the winning system's row is marked, the other is not");
    assert_eq!((w["decided_by"].as_str(), w["decided_at"].as_str()), ("Bea Bookkeeper", "2026-11-23T10:00:00.000Z"), "who decided and when are reported");
    assert_eq!(w["decided_value"], winner.value, "the decided value is reported");
    assert_eq!(l["push_status"], "verified", "the push to the losing system is reported with its outbox state");
    assert_eq!(w["push_status"], "", "nothing is pushed to the system that already holds the value");
    assert_eq!(p.details.len(), conflicts.iter().map(|c| c.values.len()).sum::<usize>(), "every system's value of every conflict is a row");
    let want: HashSet<(String, String, String, String)> =
        conflicts.iter().flat_map(|c| c.values.iter().map(move |v| (c.id.to_string(), c.field.clone(), v.record.clone(), v.value.clone()))).collect();
    let got: HashSet<(String, String, String, String)> = p.details.iter().map(|r| (r["conflict_id"].clone(), r["field"].clone(), r["record"].clone(), r["value"].clone())).collect();
    assert_eq!(got, want, "each row's conflict, field, record and value must be the store's, restored exactly");
    for r in &p.details {
        let c = conflicts.iter().find(|c| c.id.to_string() == r["conflict_id"]).unwrap();
        assert_eq!(r["status"], c.status, "the conflict's status is reported");
        assert_eq!(r["suggested"] == "yes", c.suggested_winner.as_deref() == Some(r["record"].as_str()), "the suggested winner is marked on its own row");
    }

    // Unmatched: every record whose customer or sale (active links, transitively) holds no other system's record.
    let (_, p) = export(&ws, ReportKind::Unmatched, out.path(), false);
    let active: Vec<(String, String)> = links.iter().filter(|l| matches!(l.state.as_str(), "auto" | "confirmed" | "manual")).map(|l| (l.left.clone(), l.right.clone())).collect();
    let system = |k: &str| k.split('/').next().unwrap().to_string();
    let mut matched: HashSet<String> = HashSet::new();
    for group in clusters(&active) {
        if group.iter().map(|k| system(k)).collect::<HashSet<_>>().len() > 1 {
            matched.extend(group);
        }
    }
    let want: HashSet<&str> = recs.iter().map(|(k, _, _)| k.as_str()).filter(|k| !matched.contains(*k)).collect();
    let got: HashSet<&str> = p.details.iter().map(|r| r["record"].as_str()).collect();
    assert_eq!(got, want, "the unmatched report lists exactly the records whose customer or sale spans one system");
    assert_eq!(p.details.len(), want.len(), "no record is listed twice");
    let mut store_sums: BTreeMap<String, Decimal> = BTreeMap::new();
    for k in &want {
        let (kind, v) = by_key[k];
        let amount = match kind {
            "sales_document" => v["total"].as_str(),
            "payment" => v["amount"].as_str(),
            _ => None,
        };
        if let Some(a) = amount {
            *store_sums.entry(v["currency"].as_str().unwrap_or("").to_uppercase()).or_default() += dec(a);
        }
    }
    for t in &p.totals {
        assert_eq!(dec(&t["amount"]), store_sums.get(&t["currency"]).copied().unwrap_or_default(), "the {} total ties out to the store's unmatched amounts", t["currency"]);
    }
    let hostile = p.details.iter().find(|r| r["name_or_number"] == HOSTILE).expect("the hostile name is reported, restorable to the original");
    assert_eq!(hostile["system"], "crm-sheet", "imported records are named by their import");

    // Duplicates: same-system links and duplicate discrepancies.
    let (_, p) = export(&ws, ReportKind::Duplicates, out.path(), false);
    let relationship = ["association", "allocation", "credit"];
    let want_links: HashSet<(String, String)> = links
        .iter()
        .filter(|l| l.same_system && l.state != "rejected" && !relationship.contains(&l.method.as_str()))
        .map(|l| (l.left.clone(), l.right.clone()))
        .collect();
    let got_links: HashSet<(String, String)> =
        p.details.iter().filter(|r| r["finding"] == "same_system_link").map(|r| (r["first_record"].clone(), r["second_record"].clone())).collect();
    assert_eq!(got_links, want_links, "every same-system link that is not rejected nor a relationship is a duplicate row");
    assert!(!want_links.is_empty(), "the seeded business has a duplicate customer to report");
    let dups = ws.discrepancies().unwrap().into_iter().filter(|d| d.kind == "duplicate_invoice" || d.kind == "duplicate_payment").count();
    assert_eq!(p.details.len(), want_links.len() + dups, "duplicate discrepancies are listed beside the links");

    // Reconciliation: every document and payment once; per-type totals tie out to the store.
    let (_, p) = export(&ws, ReportKind::Reconciliation, out.path(), false);
    let docs: Vec<&(String, String, serde_json::Value)> = recs.iter().filter(|(_, k, _)| k != "party").collect();
    assert_eq!(p.details.len(), docs.len(), "every document and payment is one row");
    let got: HashSet<&str> = p.details.iter().map(|r| r["record"].as_str()).collect();
    assert_eq!(got.len(), docs.len(), "no record is listed twice");
    // A record that states no currency is reported in one its sale's records states.
    let row_of: HashMap<&str, &HashMap<String, String>> = p.details.iter().map(|r| (r["record"].as_str(), r)).collect();
    let mut sale_currencies: HashMap<&str, HashSet<String>> = HashMap::new();
    for (k, _, v) in &docs {
        if let Some(c) = v["currency"].as_str().filter(|c| !c.is_empty()) {
            sale_currencies.entry(row_of[k.as_str()]["sale"].as_str()).or_default().insert(c.to_uppercase());
        }
    }
    let mut want: BTreeMap<(String, &str), Decimal> = BTreeMap::new();
    for (k, kind, v) in &docs {
        let row = row_of[k.as_str()];
        let stated = v["currency"].as_str().unwrap_or("").to_uppercase();
        let cur = if stated.is_empty() { row["currency"].clone() } else { stated.clone() };
        if stated.is_empty() && !cur.is_empty() {
            assert!(sale_currencies[row["sale"].as_str()].contains(&cur), "{k} takes a currency its sale states");
        }
        assert_eq!(row["currency"], cur, "{k} is reported in its own currency when it states one");
        let (col, amount) = match (kind.as_str(), v["kind"].as_str(), v["direction"].as_str()) {
            ("payment", _, Some("refunded")) => ("payment_amount", -dec(v["amount"].as_str().unwrap())),
            ("payment", _, _) => ("payment_amount", dec(v["amount"].as_str().unwrap())),
            (_, Some("order"), _) => ("order_amount", dec(v["total"].as_str().unwrap())),
            (_, Some("credit_note"), _) => ("credit_amount", dec(v["total"].as_str().unwrap())),
            _ => ("invoice_amount", dec(v["total"].as_str().unwrap())),
        };
        *want.entry((cur, col)).or_default() += amount;
    }
    for t in &p.totals {
        for col in ["order_amount", "invoice_amount", "credit_amount", "payment_amount"] {
            let w = want.get(&(t["currency"].clone(), col)).copied().unwrap_or_default();
            assert_eq!(dec(&t[col]), w, "the {} {col} total must equal the store's sum over those documents", t["currency"]);
        }
    }
    let discrepant: HashSet<String> = ws.discrepancies().unwrap().into_iter().filter(|d| d.entity_key.starts_with("sale:")).map(|d| d.entity_key).collect();
    let reported: HashSet<String> = p.details.iter().filter(|r| r["reconciled"] == "no").map(|r| r["sale"].clone()).collect();
    assert_eq!(reported, discrepant, "exactly the sales with discrepancies are marked unreconciled, under the matcher's sale keys");
    // Sales come whole and in name order; within a sale, orders, invoices, credit notes, then payments, each by key.
    let rank = |d: &str| match d {
        "order" => 0,
        "invoice" => 1,
        "credit_note" => 2,
        _ => 3,
    };
    let mut seen_sales: HashSet<&str> = HashSet::new();
    for pair in p.details.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a["sale"] == b["sale"] {
            let (ka, kb) = ((rank(&a["document"]), a["record"].as_str()), (rank(&b["document"]), b["record"].as_str()));
            assert!(ka < kb, "within sale {} rows go by rank then key: {ka:?} before {kb:?}", a["sale"]);
        } else {
            assert!(a["sale"].as_bytes() < b["sale"].as_bytes(), "sales are in name order: {} before {}", a["sale"], b["sale"]);
            assert!(seen_sales.insert(a["sale"].as_str()), "a sale's rows are never split: {}", a["sale"]);
        }
    }
    let negative = p.details.iter().find(|r| r["number"] == "-INV-1").expect("the imported negative invoice is reported");
    assert_eq!(negative["invoice_amount"], "-12.50", "a negative amount keeps its sign and scale");

    // Drift: every finding of the latest run of each stream.
    let (_, p) = export(&ws, ReportKind::Drift, out.path(), false);
    let findings: i64 = db(&ws)
        .query_row("SELECT coalesce(sum(json_array_length(drift)), 0) FROM sync_runs WHERE id IN (SELECT max(id) FROM sync_runs GROUP BY connection_id, stream)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(p.details.len() as i64, findings, "each drift finding of the latest runs is one row");

    // Audit: every entry, in order, with the chain verified.
    let before = ws.audit_verify().unwrap().rows_checked;
    let (s, p) = export(&ws, ReportKind::Audit, out.path(), true);
    assert_eq!(p.details.len() as i64, i64::from(before), "the audit report lists every entry present when it was taken");
    let entries = ws.audit_entries(&concord_api::json::AuditFilter { text: None, limit: 1000, before_id: None }).unwrap();
    for r in &p.details {
        let e = entries.iter().find(|e| e.id.to_string() == r["id"]).expect("each reported entry exists");
        assert_eq!((r["action"].as_str(), r["subject"].as_str()), (e.action.as_str(), e.subject.as_str()), "each entry's action and subject are the store's");
        assert_eq!(r["chain"], "verified", "an intact chain marks every row verified");
    }
    assert!(s.note.as_deref().unwrap_or("").starts_with("audit chain verified"), "the note states the verification result: {:?}", s.note);
    assert_eq!(p.notes.len(), 1, "the note is written as the last row");

    // The export itself is audited, naming the file and the rows, never a secret.
    let last = &ws.audit_entries(&concord_api::json::AuditFilter { text: Some("report.export".into()), limit: 10, before_id: None }).unwrap()[0];
    assert_eq!(last.action, "report.export", "each export leaves an audit entry");
    let detail = &last.detail;
    assert!(detail.contains(&s.path.replace('\\', "\\\\")) && detail.contains(&format!("\"rows\":{}", s.rows)), "the entry names the path and the row count: {detail}");
    assert!(!detail.to_lowercase().contains("token"), "no token reaches the audit detail: {detail}");
}

fn hostile_workspace() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), Arc::new(FixedClock::at("2026-11-23T09:30:00Z").unwrap()), "test").unwrap();
    import_hostile(&ws, dir.path());
    (dir, ws)
}

#[test]
fn hostile_text_is_neutralised_and_negative_amounts_stay_numbers() {
    let (dir, ws) = hostile_workspace();
    let (_, p) = export(&ws, ReportKind::Unmatched, dir.path(), false);
    let raw_cells: Vec<String> = csv::Reader::from_reader(p.raw.as_bytes()).records().flat_map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<_>>()).collect();
    for v in [HOSTILE, "@SUM(A1:A9)", "=1+1", "-INV-1"] {
        assert!(raw_cells.iter().any(|c| *c == format!("'{v}")), "{v:?} must be written with the apostrophe guard");
        assert!(!raw_cells.iter().any(|c| c == v), "{v:?} must never be written bare");
    }
    assert!(raw_cells.iter().any(|c| c == "-12.50"), "a negative amount is written bare, as a number");
    assert!(!raw_cells.iter().any(|c| c == "'-12.50"), "a typed amount is never guarded");
    assert!(raw_cells.iter().any(|c| c == "Zoë Ng"), "an accented name is written unchanged");
    assert!(!p.raw.starts_with('\u{FEFF}'), "no BOM unless asked for");
    let (_, with) = export(&ws, ReportKind::Unmatched, dir.path(), true);
    assert!(with.raw.starts_with('\u{FEFF}'), "the BOM opens the file when asked for");
    assert_eq!(with.raw.trim_start_matches('\u{FEFF}'), p.raw, "the BOM is the only difference");
    let kinds = ws.report_kinds().unwrap();
    assert_eq!(kinds.len(), ReportKind::ALL.len(), "every report is offered to the UI");
    assert_eq!(kinds[0].file_name, "concord-reconciliation-2026-11-23.csv", "the suggested file name carries the kind and today's date");
}

#[test]
fn a_failed_export_explains_itself_and_leaves_the_old_file() {
    let (dir, ws) = hostile_workspace();
    let missing = dir.path().join("no-such-folder").join("r.csv");
    let err = ws.report(ReportKind::Audit, &missing, &ReportOptions::default()).unwrap_err();
    assert_eq!(err.code, ErrorCode::Io, "a missing folder is a file-system problem");
    assert!(err.message.contains("does not exist") && err.message.contains("no-such-folder"), "the message names the folder and the problem: {}", err.message);
    let err = ws.report(ReportKind::Audit, dir.path(), &ReportOptions::default()).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput, "a folder is not a file name");
    assert_eq!(ReportKind::parse("ledger").unwrap_err().code, ErrorCode::InvalidInput, "an unknown kind is the caller's mistake");

    // Replacing a file happens by rename: the old content stays until the new file is complete, and no temporary is left behind.
    let out = dir.path().join("audit.csv");
    std::fs::write(&out, "old").unwrap();
    ws.report(ReportKind::Audit, &out, &ReportOptions::default()).unwrap();
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("line,"), "the finished report replaces the old file");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().starts_with(".concord-report-")).collect();
    assert!(leftovers.is_empty(), "no temporary file is left beside the report");
}

#[test]
fn a_broken_audit_chain_is_stated_in_the_report() {
    let (dir, ws) = hostile_workspace();
    {
        let conn = db(&ws);
        conn.execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET subject = 'forged' WHERE id = 2;").unwrap();
    }
    let (s, p) = export(&ws, ReportKind::Audit, dir.path(), false);
    assert!(s.note.as_deref().unwrap_or("").contains("BROKEN at entry 2"), "the note names the first broken entry: {:?}", s.note);
    let row = |id: &str| p.details.iter().find(|r| r["id"] == id).unwrap()["chain"].clone();
    assert_eq!(row("1"), "verified", "entries before the break verify");
    assert_eq!(row("2"), "broken here", "the edited entry is marked");
    assert_eq!(row("3"), "not verified (after the break)", "entries after the break are not vouched for");
}

/// The cells of the first sheet of a flat ODS file: (value type, has formula, text, numeric value).
fn fods_cells(path: &Path) -> Vec<(String, bool, String, Option<String>)> {
    let xml = std::fs::read_to_string(path).expect("LibreOffice must write the converted file");
    let doc = roxmltree::Document::parse(&xml).expect("the flat ODS must be XML");
    const TABLE: &str = "urn:oasis:names:tc:opendocument:xmlns:table:1.0";
    const OFFICE: &str = "urn:oasis:names:tc:opendocument:xmlns:office:1.0";
    doc.descendants()
        .filter(|n| n.has_tag_name((TABLE, "table-cell")))
        .map(|n| {
            const TEXT: &str = "urn:oasis:names:tc:opendocument:xmlns:text:1.0";
            let paragraphs: Vec<String> = n
                .descendants()
                .filter(|d| d.has_tag_name((TEXT, "p")))
                .map(|p| p.descendants().filter(|d| d.is_text()).map(|d| d.text().unwrap_or("")).collect())
                .collect();
            let text = paragraphs.join("\n");
            (
                n.attribute((OFFICE, "value-type")).unwrap_or("").to_string(),
                n.attribute((TABLE, "formula")).is_some(),
                text,
                n.attribute((OFFICE, "value")).map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn libreoffice_opens_hostile_text_as_text_and_amounts_as_numbers() {
    let soffice = ["soffice", "libreoffice"].into_iter().find(|b| Command::new(b).arg("--version").output().map(|o| o.status.success()).unwrap_or(false));
    let Some(soffice) = soffice else {
        if std::env::var("CONCORD_REQUIRE_SOFFICE").as_deref() == Ok("1") {
            panic!("CONCORD_REQUIRE_SOFFICE=1 but soffice is not installed; run scripts/system-deps.sh (libreoffice-calc-nogui)");
        }
        // Straight to stderr, past the test harness's capture, so the skip is seen.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED libreoffice_opens_hostile_text_as_text_and_amounts_as_numbers: soffice not found (install libreoffice-calc-nogui; CI sets CONCORD_REQUIRE_SOFFICE=1)\n",
        );
        return;
    };
    let (dir, ws) = hostile_workspace();
    let profile = tempfile::tempdir().unwrap();
    let converted = dir.path().join("converted");
    let convert = |csv_path: &Path| {
        let out = Command::new(soffice)
            .arg("--headless")
            .arg(format!("-env:UserInstallation=file://{}", profile.path().display()))
            .arg("--infilter=CSV:44,34,76,1")
            .args(["--convert-to", "fods", "--outdir"])
            .arg(&converted)
            .arg(csv_path)
            .output()
            .expect("soffice must run");
        assert!(out.status.success(), "soffice must convert {}: {}", csv_path.display(), String::from_utf8_lossy(&out.stderr));
        fods_cells(&converted.join(csv_path.with_extension("fods").file_name().unwrap()))
    };
    // The control: the same conversion turns an unguarded `=` cell into a live formula, so the checks below can fail.
    let control = write(dir.path(), "control.csv", "name,amount\r\n=1+1,5\r\n");
    assert!(convert(&control).iter().any(|c| c.1), "LibreOffice must evaluate an unguarded formula, or this test proves nothing");
    for bom in [false, true] {
        let (_, _) = export(&ws, ReportKind::Unmatched, dir.path(), bom);
        let csv_path = dir.path().join(format!("unmatched{}.csv", if bom { "-bom" } else { "" }));
        // A private profile per test, so parallel soffice runs never share one; UTF-8 named as a person would in the import dialog.
        // Formula evaluation is LibreOffice's default for CSV (the control above shows it).
        let cells = convert(&csv_path);
        assert!(cells.len() > 20, "the sheet must hold the report's cells (bom={bom})");
        assert!(cells.iter().all(|c| !c.1), "no cell may arrive as a formula (bom={bom}): {:?}", cells.iter().filter(|c| c.1).collect::<Vec<_>>());
        let hostile = cells.iter().find(|c| c.2.contains("HYPERLINK")).expect("the hostile name must arrive");
        assert_eq!(hostile.0, "string", "the hostile formula must arrive as text (bom={bom})");
        assert_eq!(restore(&hostile.2), HOSTILE, "the text shown is the name with only the guard in front (bom={bom})");
        assert!(cells.iter().any(|c| c.0 == "string" && c.2 == "Zoë Ng"), "\"Zoë Ng\" must survive intact (bom={bom})");
        assert_eq!(cells[0].2, "line", "the BOM must not leak into the first header cell (bom={bom})");
        let negative = cells.iter().find(|c| c.3.as_deref() == Some("-12.5")).expect("the negative amount must arrive");
        assert_eq!(negative.0, "float", "a negative amount must arrive as a number (bom={bom})");
        assert!(cells.iter().any(|c| c.0 == "float" && c.3.as_deref() == Some("110")), "a positive amount must arrive as a number (bom={bom})");
    }
}
