//! Export benchmark: 1,000,000 rows from a SQLite cursor to a CSV file.
//!
//! Builds a temporary database with a table shaped like the reports' record
//! table (key, system, entity, type, name, e-mail, date, amount as a decimal
//! string, currency, status; every 997th name hostile, every 13th amount
//! negative), then streams `SELECT ... ORDER BY key` through `ReportWriter`
//! into a file: each amount parsed into a `Decimal`, each date checked, text
//! neutralised, totals summed. It prints rows/s, seconds, the file's size and
//! the peak resident memory (VmHWM) after 100,000 rows and after 1,000,000, so
//! flat memory shows as two nearly equal peaks.
//!
//! Run: `cargo bench -p concord-report --bench export` (optionally `-- ROWS`).

use concord_report::{Cell, Column, ColumnKind as K, Options, ReportWriter};
use rusqlite::Connection;
use std::time::Instant;

const COLUMNS: &[Column] = &[
    Column::new("entity", K::Text),
    Column::new("type", K::Text),
    Column::new("system", K::Text),
    Column::new("record", K::Text),
    Column::new("name_or_number", K::Text),
    Column::new("email", K::Text),
    Column::new("date", K::Date),
    Column::new("amount", K::Amount),
    Column::new("currency", K::Currency),
    Column::new("status", K::Text),
];

/// Peak resident set size in kB, from /proc/self/status (Linux); 0 elsewhere.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn fill(conn: &mut Connection, rows: u64) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE rec (key TEXT PRIMARY KEY, system TEXT, entity TEXT, type TEXT, name TEXT, email TEXT, date TEXT, amount TEXT, currency TEXT, status TEXT) WITHOUT ROWID;",
    )?;
    let tx = conn.transaction()?;
    {
        let mut ins = tx.prepare("INSERT INTO rec VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")?;
        let systems = ["Shopify", "Xero", "QuickBooks", "HubSpot"];
        for i in 0..rows {
            let sys = systems[(i % 4) as usize];
            let name = if i % 997 == 0 { format!("=HYPERLINK(\"http://evil/{i}\",\"click\")") } else { format!("Customer {i} Pty Ltd, Zoë Ng") };
            let cents = (i * 7919) % 250_000;
            let amount = format!("{}{}.{:02}", if i % 13 == 0 { "-" } else { "" }, cents / 100, cents % 100);
            ins.execute(rusqlite::params![
                format!("{}/invoices/{:012}", i % 4 + 1, i),
                sys,
                "sales_document",
                if i % 3 == 0 { "order" } else { "invoice" },
                name,
                format!("customer{i}@example.com"),
                format!("2026-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
                amount,
                if i % 50 == 0 { "NZD" } else { "AUD" },
                "open",
            ])?;
        }
    }
    tx.commit()
}

fn export(conn: &Connection, limit: u64, path: &std::path::Path) -> (u64, f64, u64) {
    let start = Instant::now();
    let file = std::fs::File::create(path).expect("create the output file");
    let mut w = ReportWriter::new(file, COLUMNS, Options { bom: true }).expect("start the report");
    let mut stmt = conn.prepare("SELECT entity, type, system, key, name, email, date, amount, currency, status FROM rec ORDER BY key LIMIT ?1").unwrap();
    let mut rows = stmt.query([limit as i64]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let s = |i: usize| r.get_ref(i).unwrap().as_str_or_null().unwrap();
        w.row(&[
            Cell::opt_text(s(0)),
            Cell::opt_text(s(1)),
            Cell::opt_text(s(2)),
            Cell::opt_text(s(3)),
            Cell::opt_text(s(4)),
            Cell::opt_text(s(5)),
            Cell::date(s(6)),
            Cell::amount(s(7)),
            s(8).map_or(Cell::Empty, Cell::Currency),
            Cell::opt_text(s(9)),
        ])
        .expect("write a row");
    }
    let (file, totals) = w.finish(None).expect("finish the report");
    file.sync_all().expect("sync the file");
    let secs = start.elapsed().as_secs_f64();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    assert_eq!(totals.rows, limit, "every row must be written");
    (totals.rows, secs, size)
}

fn main() {
    let rows: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let db = dir.path().join("bench.db");
    let mut conn = Connection::open(&db).expect("open the database");
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;").unwrap();
    let t = Instant::now();
    fill(&mut conn, rows).expect("fill the table");
    drop(conn);
    println!("filled {rows} rows in {:.2} s", t.elapsed().as_secs_f64());
    // A fresh connection with SQLite's default cache, as the export uses.
    let conn = Connection::open(&db).expect("reopen the database");
    let base = peak_rss_kb();
    println!("peak RSS before export: {} MB", base / 1024);
    for limit in [rows / 10, rows] {
        let out = dir.path().join(format!("report-{limit}.csv"));
        let (n, secs, size) = export(&conn, limit, &out);
        println!(
            "exported {n} rows in {secs:.3} s ({:.0} rows/s, {:.1} MB file); peak RSS so far {} MB",
            n as f64 / secs,
            size as f64 / 1_048_576.0,
            peak_rss_kb() / 1024
        );
    }
}
