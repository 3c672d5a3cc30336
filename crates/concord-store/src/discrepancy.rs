//! The `discrepancies` table: what the last reconciliation found wrong with the money.
//!
//! Each row is one discrepancy (an order with no invoice, totals that differ,
//! an invoice paid twice, ...) with its kind, severity, the linked sale or
//! customer it belongs to, the records involved (JSON array of keys), a
//! one-sentence summary and the amount at stake as a decimal string. The
//! table is replaced as a whole by each matching run: discrepancies are facts
//! about the current data, not decisions.

use crate::Result;
use rusqlite::{params, Connection};

pub(crate) const SCHEMA_V3: &str = "
CREATE TABLE discrepancies (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL CHECK (severity IN ('info','warning','error')),
    entity_key  TEXT NOT NULL,
    records     TEXT NOT NULL CHECK (json_valid(records)),
    summary     TEXT NOT NULL,
    amount      TEXT,
    detected_at TEXT NOT NULL
);
CREATE INDEX discrepancies_kind ON discrepancies (kind);
";

/// A discrepancy as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscrepancyRow {
    pub id: i64,
    pub kind: String,
    pub severity: String,
    pub entity_key: String,
    /// JSON array of record keys.
    pub records: String,
    pub summary: String,
    /// A decimal string.
    pub amount: Option<String>,
    /// The document's date (ISO 8601), for reports and the by-month chart.
    pub date: Option<String>,
    /// The currency of `amount` (ISO 4217).
    pub currency: Option<String>,
    pub detected_at: String,
}

/// Schema v5: each discrepancy's document date and currency.
pub(crate) const SCHEMA_V5: &str = "
ALTER TABLE discrepancies ADD COLUMN date TEXT;
ALTER TABLE discrepancies ADD COLUMN currency TEXT;
";

/// Replaces every discrepancy with `rows` (ids are assigned). Call inside one transaction.
pub fn replace_all(conn: &Connection, rows: &[DiscrepancyRow], now: &str) -> Result<()> {
    conn.execute("DELETE FROM discrepancies", [])?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO discrepancies (kind, severity, entity_key, records, summary, amount, date, currency, detected_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for d in rows {
        stmt.execute(params![d.kind, d.severity, d.entity_key, d.records, d.summary, d.amount, d.date, d.currency, now])?;
    }
    Ok(())
}

/// Every discrepancy, most severe first.
pub fn list(conn: &Connection) -> Result<Vec<DiscrepancyRow>> {
    let mut stmt = conn.prepare(
        "SELECT id, kind, severity, entity_key, records, summary, amount, date, currency, detected_at FROM discrepancies
         ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, kind, id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(DiscrepancyRow { id: r.get(0)?, kind: r.get(1)?, severity: r.get(2)?, entity_key: r.get(3)?, records: r.get(4)?, summary: r.get(5)?, amount: r.get(6)?, date: r.get(7)?, currency: r.get(8)?, detected_at: r.get(9)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
