//! The `sync_bookmarks` table: how far each stream of each connection has been read.
//!
//! **Invariant:** a bookmark is written in the same transaction as the records
//! it covers, so after a crash the store never claims more than it holds.

use crate::Result;
use rusqlite::{params, Connection, OptionalExtension};

pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE sync_bookmarks (
    connection_id INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    stream        TEXT NOT NULL,
    cursor        TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (connection_id, stream)
);
";

/// The stored cursor for a stream, if it has been synced before.
pub fn get(conn: &Connection, connection_id: i64, stream: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT cursor FROM sync_bookmarks WHERE connection_id = ?1 AND stream = ?2",
            params![connection_id, stream],
            |r| r.get(0),
        )
        .optional()?)
}

/// Records a stream's cursor; call inside the transaction that stores the records it covers.
pub fn put(conn: &Connection, connection_id: i64, stream: &str, cursor: &str, now: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_bookmarks (connection_id, stream, cursor, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (connection_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        params![connection_id, stream, cursor, now],
    )?;
    Ok(())
}
