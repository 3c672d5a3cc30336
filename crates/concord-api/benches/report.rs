//! End-to-end report benchmark: `Workspace::report` over 1,000,000 stored documents.
//!
//! Fills a workspace's `canonical_records` with sales documents serialised
//! from the canonical model (orders and invoices in two systems, every 997th
//! number hostile, every 13th total negative, a few NZD), then times the
//! `unmatched` and `reconciliation` reports as the app and CLI run them: the
//! read transaction, the temporary record table, the SQL, the streaming writer,
//! the fsync and the rename. Prints rows, seconds, CPU seconds (both threads),
//! rows/s and peak RSS (VmHWM).
//!
//! Run: `cargo bench -p concord-api --bench report` (optionally `-- ROWS`).
//! `CONCORD_BENCH_DIR=/some/folder` keeps the filled workspace there and reuses
//! it on the next run (when it holds ROWS documents), so repeated timings skip the fill.

use concord_api::report::{ReportKind, ReportOptions};
use concord_api::Workspace;
use concord_core::model::{DocumentKind, SalesDocument, Source};
use concord_core::{FixedClock, Provider};
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::Instant;

fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok()))
        .unwrap_or(0)
        / 1024
}

/// CPU seconds this process has used (user + system), from /proc/self/stat; 0 where unavailable.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
    f.iter().sum::<f64>() / 100.0
}

fn main() {
    let rows: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let kept = std::env::var_os("CONCORD_BENCH_DIR").map(std::path::PathBuf::from);
    let dir = kept.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let clock = Arc::new(FixedClock::at("2026-11-23T09:30:00Z").unwrap());
    let stored = |dir: &std::path::Path| -> Option<u64> {
        let conn = rusqlite::Connection::open_with_flags(dir.join("concord.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
        conn.query_row("SELECT count(*) FROM canonical_records", [], |r| r.get(0)).ok()
    };
    let reuse = kept.is_some() && stored(&dir) == Some(rows);
    let ws = if reuse {
        Workspace::open(&dir, clock, "bench").expect("the kept workspace opens")
    } else {
        if kept.is_some() {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("the bench folder");
        }
        Workspace::init(&dir, clock, "bench").expect("a workspace")
    };
    let t = Instant::now();
    if !reuse {
        // Straight into the table (no raw payloads): this bench measures reading, not syncing.
        let mut conn = rusqlite::Connection::open(dir.join("concord.db")).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA synchronous = OFF;").unwrap();
        let tx = conn.transaction().unwrap();
        {
            let mut ins = tx
                .prepare("INSERT INTO canonical_records (connection_id, object, external_id, kind, data, mapped_at) VALUES (?1, ?2, ?3, 'sales_document', ?4, '2026-11-23T09:30:00.000Z')")
                .unwrap();
            for i in 0..rows {
                let (conn_id, provider, object, kind) = if i % 2 == 0 { (2, Provider::Shopify, "orders", DocumentKind::Order) } else { (3, Provider::Xero, "invoices", DocumentKind::Invoice) };
                let cents = (i as i64 * 7919) % 250_000;
                let total = Decimal::new(if i % 13 == 0 { -cents } else { cents }, 2);
                let doc = SalesDocument {
                    source: Source::new(conn_id, provider, object, &format!("{i:012}")),
                    kind,
                    number: Some(if i % 997 == 0 { format!("=HYPERLINK(\"http://evil/{i}\",\"x\")") } else { format!("INV-{i:07}") }),
                    reference: Some(format!("Shopify #{}", 1000 + i / 2)),
                    issue_date: Some(format!("2026-{:02}-{:02}", i % 12 + 1, i % 28 + 1)),
                    subtotal: total,
                    total,
                    currency: Some(if i % 50 == 1 { "NZD".into() } else { "AUD".into() }),
                    ..Default::default()
                };
                ins.execute(rusqlite::params![conn_id, object, format!("{i:012}"), serde_json::to_string(&doc).unwrap()]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    println!("stored {rows} documents in {:.2} s{}; peak RSS {} MB", t.elapsed().as_secs_f64(), if reuse { " (reused)" } else { "" }, peak_rss_mb());
    if std::env::var_os("CONCORD_BENCH_PHASES").is_some() {
        let conn = rusqlite::Connection::open(dir.join("concord.db")).unwrap();
        for (name, sql) in [
            ("scan", "SELECT count(*), sum(length(data)) FROM canonical_records"),
            ("one json_extract", "SELECT count(json_extract(data, '$.number')) FROM canonical_records"),
            ("twelve json_extract", "SELECT count(json_extract(data, '$.number') || json_extract(data, '$.kind') || json_extract(data, '$.reference') || json_extract(data, '$.issueDate') || json_extract(data, '$.total') || json_extract(data, '$.currency') || json_extract(data, '$.status') || coalesce(json_extract(data, '$.emails[0]'), '') || coalesce(json_extract(data, '$.displayName'), '') || coalesce(json_extract(data, '$.amount'), '') || coalesce(json_extract(data, '$.date'), '') || coalesce(json_extract(data, '$.direction'), '')) FROM canonical_records"),
            ("sort by key", "SELECT count(*) FROM (SELECT connection_id || '/' || object || '/' || external_id AS k FROM canonical_records ORDER BY k DESC)"),
        ] {
            let t = Instant::now();
            conn.query_row(sql, [], |_| Ok(())).unwrap();
            println!("phase {name}: {:.2} s", t.elapsed().as_secs_f64());
        }
    }
    // CONCORD_BENCH_ONLY=unmatched (or another kind) times one report, e.g. under a profiler.
    let only = std::env::var("CONCORD_BENCH_ONLY").ok();
    for kind in [ReportKind::Unmatched, ReportKind::Reconciliation].into_iter().filter(|k| only.as_deref().is_none_or(|o| o == k.as_str())) {
        let out = dir.join(format!("{}.csv", kind.as_str()));
        let (t, cpu) = (Instant::now(), cpu_secs());
        let s = ws.report(kind, &out, &ReportOptions { bom: true }).expect("the report is written");
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_secs() - cpu;
        let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        println!(
            "{}: {} rows in {secs:.2} s, {cpu:.2} s CPU ({:.0} rows/s, {:.0} MB); peak RSS so far {} MB",
            kind.as_str(),
            s.rows,
            f64::from(s.rows) / secs,
            size as f64 / 1_048_576.0,
            peak_rss_mb()
        );
    }
}
