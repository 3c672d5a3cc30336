//! The `canonical_records` table: provider records mapped onto Concord's own model.
//!
//! Each row is one party, sales document or payment as Concord understands it,
//! derived from exactly one raw record; matching and reconciliation read only
//! this table, never provider payloads. Amounts inside `data` are decimal
//! strings, never binary floating point.

pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE canonical_records (
    id            INTEGER PRIMARY KEY,
    connection_id INTEGER NOT NULL,
    object        TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('party','sales_document','payment')),
    data          TEXT NOT NULL CHECK (json_valid(data)),
    source_updated_at TEXT,
    mapped_at     TEXT NOT NULL,
    UNIQUE (connection_id, object, external_id),
    FOREIGN KEY (connection_id, object, external_id)
        REFERENCES raw_records (connection_id, object, external_id) ON DELETE CASCADE
);
CREATE INDEX canonical_records_kind ON canonical_records (kind);
";

/// Schema v6 drops the data's JSON check (see [`crate::migration`]): `data`
/// is always written by serde_json from the canonical model, so SQLite
/// parsing it again only repeated that work on every record of a sync.
pub(crate) const V6_DROPPED_CHECK: (&str, &str) = ("canonical_records", " CHECK (json_valid(data))");

/// Stores the mapped form of a raw record (its raw row must exist), replacing an
/// earlier mapping; uses cached statements because sync calls it per record.
/// An UPDATE, then an INSERT when no row was there: SQLite opens a temporary
/// b-tree for every `ON CONFLICT DO UPDATE` it runs, a cost sync pays per record.
pub fn upsert_mapped(
    conn: &rusqlite::Connection,
    key: (i64, &str, &str),
    kind: &str,
    data: &str,
    source_updated_at: Option<&str>,
    now: &str,
) -> crate::Result<()> {
    let updated = conn
        .prepare_cached(
            "UPDATE canonical_records SET kind = ?4, data = ?5, source_updated_at = ?6, mapped_at = ?7
             WHERE connection_id = ?1 AND object = ?2 AND external_id = ?3",
        )?
        .execute(rusqlite::params![key.0, key.1, key.2, kind, data, source_updated_at, now])?;
    if updated == 0 {
        insert_mapped(conn, key, kind, data, source_updated_at, now)?;
    }
    Ok(())
}

/// Stores the mapped form of a raw record that has none yet (a record inserted
/// in this same transaction): one INSERT, no lookup.
pub fn insert_mapped(
    conn: &rusqlite::Connection,
    key: (i64, &str, &str),
    kind: &str,
    data: &str,
    source_updated_at: Option<&str>,
    now: &str,
) -> crate::Result<()> {
    conn.prepare_cached(
        "INSERT INTO canonical_records (connection_id, object, external_id, kind, data, source_updated_at, mapped_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(rusqlite::params![key.0, key.1, key.2, kind, data, source_updated_at, now])?;
    Ok(())
}

/// Every canonical record's kind and data (for matching), oldest mapping first.
pub fn all(conn: &rusqlite::Connection) -> crate::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare("SELECT kind, data FROM canonical_records ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
