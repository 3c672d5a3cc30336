//! The `match_settings` table: the matcher's editable settings, as JSON by key.
//!
//! Holds the system-of-record policy (`policy`) and the thresholds and
//! tolerances (`thresholds`), so the app and the CLI edit the same values and
//! every matching run reads them. A missing key means "use the defaults".

use crate::Result;
use rusqlite::{params, Connection, OptionalExtension};

pub(crate) const SCHEMA_V3: &str = "
CREATE TABLE match_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL CHECK (json_valid(value)),
    updated_at TEXT NOT NULL
);
";

/// The JSON text stored under `key`, if any.
pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM match_settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

/// Stores JSON text under `key`.
pub fn set(conn: &Connection, key: &str, value: &str, now: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO match_settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![key, value, now],
    )?;
    Ok(())
}
