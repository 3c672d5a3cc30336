//! The `imported_records` table: the canonical records read from an imported spreadsheet.
//!
//! Each row is one canonical party or document (camelCase JSON, amounts as
//! decimal strings) belonging to an [`crate::import_source`]; re-importing a
//! source replaces its rows. Matching reads these beside `canonical_records`.

use crate::Result;
use rusqlite::{params, Connection};

pub(crate) const SCHEMA_V3: &str = "
CREATE TABLE imported_records (
    source_id   INTEGER NOT NULL REFERENCES import_sources(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('party','sales_document','payment')),
    data        TEXT NOT NULL CHECK (json_valid(data)),
    PRIMARY KEY (source_id, external_id)
);
";

/// Stores one record (a repeated id within one file replaces the earlier row).
pub fn insert(conn: &Connection, source_id: i64, external_id: &str, kind: &str, data: &str) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO imported_records (source_id, external_id, kind, data) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![source_id, external_id, kind, data])?;
    Ok(())
}

/// Every imported record's kind and data.
pub fn all(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare("SELECT kind, data FROM imported_records ORDER BY source_id, external_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
