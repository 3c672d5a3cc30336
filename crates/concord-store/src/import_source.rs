//! The `import_sources` table: spreadsheets imported as source systems.
//!
//! Each import has a unique name, says whether it holds parties or documents,
//! and keeps the column mapping it was read with, the file's path and how many
//! rows it gave. Its records live in [`crate::imported_record`]; their keys
//! use the negated source id as the connection number, so they never collide
//! with a real connection's records.

use crate::{Result, StoreError};
use rusqlite::{params, Connection, OptionalExtension};

pub(crate) const SCHEMA_V3: &str = "
CREATE TABLE import_sources (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    entity      TEXT NOT NULL CHECK (entity IN ('parties','documents')),
    mapping     TEXT NOT NULL CHECK (json_valid(mapping)),
    file        TEXT NOT NULL,
    rows        INTEGER NOT NULL,
    imported_at TEXT NOT NULL
);
";

/// An import as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSource {
    pub id: i64,
    pub name: String,
    pub entity: String,
    pub mapping: String,
    pub file: String,
    pub rows: i64,
    pub imported_at: String,
}

/// Creates the source, or replaces an earlier import of the same name (its
/// records are deleted with it, keeping the id). Returns the id.
pub fn upsert(conn: &Connection, name: &str, entity: &str, mapping: &str, file: &str, rows: i64, now: &str) -> Result<i64> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid("an import needs a name (--name)".into()));
    }
    conn.execute(
        "INSERT INTO import_sources (name, entity, mapping, file, rows, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (name) DO UPDATE SET entity = excluded.entity, mapping = excluded.mapping, file = excluded.file,
           rows = excluded.rows, imported_at = excluded.imported_at",
        params![name, entity, mapping, file, rows, now],
    )?;
    let id: i64 = conn.query_row("SELECT id FROM import_sources WHERE name = ?1", [name], |r| r.get(0))?;
    conn.execute("DELETE FROM imported_records WHERE source_id = ?1", [id])?;
    Ok(id)
}

/// Every import.
pub fn list(conn: &Connection) -> Result<Vec<ImportSource>> {
    let mut stmt = conn.prepare("SELECT id, name, entity, mapping, file, rows, imported_at FROM import_sources ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| Ok(ImportSource { id: r.get(0)?, name: r.get(1)?, entity: r.get(2)?, mapping: r.get(3)?, file: r.get(4)?, rows: r.get(5)?, imported_at: r.get(6)? }))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// One import by name.
pub fn by_name(conn: &Connection, name: &str) -> Result<Option<i64>> {
    Ok(conn.query_row("SELECT id FROM import_sources WHERE name = ?1", [name], |r| r.get(0)).optional()?)
}
