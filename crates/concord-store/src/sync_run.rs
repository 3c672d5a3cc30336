//! The `sync_runs` table: one row per stream per sync, with its outcome and drift report.
//!
//! The bookmark says how far a stream has been read; this table says how each
//! attempt went: when it started and finished, how many records and pages it
//! stored, why it failed, and the schema-drift report the mapping produced. The
//! status screen and `concord status` read the newest row per stream. A row is
//! opened when a stream starts and closed in its own transaction when it ends,
//! so a crash leaves a row with status `running` and no finish time, which the
//! next sync reports as interrupted.

use crate::Result;
use rusqlite::{params, Connection};

pub(crate) const SCHEMA_V2: &str = "
CREATE TABLE sync_runs (
    id            INTEGER PRIMARY KEY,
    connection_id INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    stream        TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    status        TEXT NOT NULL CHECK (status IN ('running','ok','failed','needs_reauth')),
    records       INTEGER NOT NULL DEFAULT 0,
    pages         INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    drift         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(drift))
);
CREATE INDEX sync_runs_by_stream ON sync_runs (connection_id, stream, id);
";

/// A stored run.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRun {
    pub id: i64,
    pub connection_id: i64,
    pub stream: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `running`, `ok`, `failed` or `needs_reauth`.
    pub status: String,
    pub records: i64,
    pub pages: i64,
    pub error: Option<String>,
    /// The drift report as JSON text (an array of findings).
    pub drift: String,
}

/// Opens a run for a stream; returns its id.
pub fn start(conn: &Connection, connection_id: i64, stream: &str, now: &str) -> Result<i64> {
    conn.execute(
        "INSERT INTO sync_runs (connection_id, stream, started_at, status) VALUES (?1, ?2, ?3, 'running')",
        params![connection_id, stream, now],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Closes a run with its outcome.
#[allow(clippy::too_many_arguments)]
pub fn finish(conn: &Connection, id: i64, status: &str, records: i64, pages: i64, error: Option<&str>, drift: &str, now: &str) -> Result<()> {
    conn.execute(
        "UPDATE sync_runs SET finished_at = ?2, status = ?3, records = ?4, pages = ?5, error = ?6, drift = ?7 WHERE id = ?1",
        params![id, now, status, records, pages, error, drift],
    )?;
    Ok(())
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SyncRun> {
    Ok(SyncRun {
        id: r.get(0)?,
        connection_id: r.get(1)?,
        stream: r.get(2)?,
        started_at: r.get(3)?,
        finished_at: r.get(4)?,
        status: r.get(5)?,
        records: r.get(6)?,
        pages: r.get(7)?,
        error: r.get(8)?,
        drift: r.get(9)?,
    })
}

/// The newest run of each stream of a connection, by stream name.
pub fn latest(conn: &Connection, connection_id: i64) -> Result<Vec<SyncRun>> {
    let mut stmt = conn.prepare(
        "SELECT id, connection_id, stream, started_at, finished_at, status, records, pages, error, drift FROM sync_runs
         WHERE id IN (SELECT max(id) FROM sync_runs WHERE connection_id = ?1 GROUP BY stream) ORDER BY stream",
    )?;
    let rows = stmt.query_map([connection_id], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// When each stream of a connection last finished successfully.
pub fn last_ok(conn: &Connection, connection_id: i64, stream: &str) -> Result<Option<String>> {
    Ok(conn.query_row(
        "SELECT max(finished_at) FROM sync_runs WHERE connection_id = ?1 AND stream = ?2 AND status = 'ok'",
        params![connection_id, stream],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{connection, Store};
    use concord_core::Provider;

    #[test]
    fn latest_run_per_stream_and_last_success() {
        let store = Store::open_in_memory().unwrap();
        let new = connection::NewConnection {
            name: "Books",
            provider: Provider::Xero,
            base_url: None,
            tenant_id: None,
            tenant_name: None,
            scopes: "",
            keychain_account: None,
        };
        let cid = connection::insert(store.conn(), &new, "t0").unwrap();
        let a = start(store.conn(), cid, "contacts", "t1").unwrap();
        finish(store.conn(), a, "ok", 10, 1, None, "[]", "t2").unwrap();
        let b = start(store.conn(), cid, "contacts", "t3").unwrap();
        finish(store.conn(), b, "failed", 0, 0, Some("HTTP 400"), "[]", "t4").unwrap();
        let runs = latest(store.conn(), cid).unwrap();
        assert_eq!(runs.len(), 1, "one row per stream must be reported");
        assert_eq!(runs[0].status, "failed", "the newest run must be the one reported");
        assert_eq!(last_ok(store.conn(), cid, "contacts").unwrap().as_deref(), Some("t2"), "a failure must not hide the last success");
    }
}
