//! The `outbox` table: writes to providers, recorded before they are sent.
//!
//! **Invariant:** a write exists here, with its idempotency key, before any
//! request for it leaves the machine; the key is stable across retries and
//! restarts, so a resend after a crash is recognised by the provider (Xero's
//! Idempotency-Key, QuickBooks' requestid) or by a re-read before sending.
//!
//! States: `pending` (recorded, not yet tried), `sending` (a request may be in
//! flight), `sent` (the provider accepted it; not yet re-read), `verified` (a
//! re-read shows the new value), `stale` (the record changed since the
//! decision, so nothing was written), `dead` (a permanent error, or retries
//! ran out; retried only by hand). Migration 4 adds the conflict, the provider,
//! the purpose (`push` or `undo`), the generation (bumped by a manual retry,
//! which gets a new idempotency key) and when it was sent and verified.

use crate::Result;
use rusqlite::{params, Connection, OptionalExtension};

pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    decision_id     INTEGER REFERENCES decisions(id),
    connection_id   INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    object          TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    field           TEXT NOT NULL,
    old_value       TEXT,
    new_value       TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending','sending','sent','verified','stale','dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    response_id     TEXT,
    next_attempt_at TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX outbox_state ON outbox (state);
";

pub(crate) const SCHEMA_V4: &str = "
ALTER TABLE outbox ADD COLUMN conflict_id INTEGER REFERENCES conflicts(id);
ALTER TABLE outbox ADD COLUMN provider TEXT;
ALTER TABLE outbox ADD COLUMN purpose TEXT NOT NULL DEFAULT 'push' CHECK (purpose IN ('push','undo'));
ALTER TABLE outbox ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN sent_at TEXT;
ALTER TABLE outbox ADD COLUMN verified_at TEXT;
CREATE INDEX outbox_decision ON outbox (decision_id);
CREATE INDEX outbox_conflict ON outbox (conflict_id);
";

/// A write as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub decision_id: Option<i64>,
    pub conflict_id: Option<i64>,
    pub connection_id: i64,
    pub provider: Option<String>,
    pub object: String,
    pub external_id: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub idempotency_key: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub response_id: Option<String>,
    pub purpose: String,
    pub generation: i64,
    pub created_at: String,
    pub updated_at: String,
    pub sent_at: Option<String>,
    pub verified_at: Option<String>,
}

/// A write to record.
#[derive(Debug, Clone)]
pub struct NewWrite<'a> {
    pub decision_id: i64,
    pub conflict_id: i64,
    pub connection_id: i64,
    pub provider: &'a str,
    pub object: &'a str,
    pub external_id: &'a str,
    pub field: &'a str,
    pub old_value: &'a str,
    pub new_value: &'a str,
    pub idempotency_key: &'a str,
    pub purpose: &'a str,
}

const COLUMNS: &str = "id, decision_id, conflict_id, connection_id, provider, object, external_id, field, old_value, new_value, idempotency_key, state, attempts,
    last_error, response_id, purpose, generation, created_at, updated_at, sent_at, verified_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        decision_id: r.get(1)?,
        conflict_id: r.get(2)?,
        connection_id: r.get(3)?,
        provider: r.get(4)?,
        object: r.get(5)?,
        external_id: r.get(6)?,
        field: r.get(7)?,
        old_value: r.get(8)?,
        new_value: r.get(9)?,
        idempotency_key: r.get(10)?,
        state: r.get(11)?,
        attempts: r.get(12)?,
        last_error: r.get(13)?,
        response_id: r.get(14)?,
        purpose: r.get(15)?,
        generation: r.get(16)?,
        created_at: r.get(17)?,
        updated_at: r.get(18)?,
        sent_at: r.get(19)?,
        verified_at: r.get(20)?,
    })
}

/// Records a write unless one with its idempotency key exists; returns the row's id
/// and whether it is new. Enqueueing the same plan twice therefore adds nothing.
pub fn enqueue(conn: &Connection, w: &NewWrite<'_>, now: &str) -> Result<(i64, bool)> {
    let added = conn.execute(
        "INSERT INTO outbox (decision_id, conflict_id, connection_id, provider, object, external_id, field, old_value, new_value, idempotency_key, purpose, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
         ON CONFLICT (idempotency_key) DO NOTHING",
        params![w.decision_id, w.conflict_id, w.connection_id, w.provider, w.object, w.external_id, w.field, w.old_value, w.new_value, w.idempotency_key, w.purpose, now],
    )?;
    let id: i64 = conn.query_row("SELECT id FROM outbox WHERE idempotency_key = ?1", [w.idempotency_key], |r| r.get(0))?;
    Ok((id, added == 1))
}

/// One write by id.
pub fn get(conn: &Connection, id: i64) -> Result<Option<OutboxRow>> {
    Ok(conn.query_row(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"), [id], row).optional()?)
}

/// Writes, optionally in one state, oldest first.
pub fn list(conn: &Connection, state: Option<&str>) -> Result<Vec<OutboxRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM outbox WHERE (?1 IS NULL OR state = ?1) ORDER BY id"))?;
    let rows = stmt.query_map([state], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Writes still to be driven to an end: pending, possibly in flight, or sent but not verified.
pub fn unfinished(conn: &Connection) -> Result<Vec<OutboxRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM outbox WHERE state IN ('pending','sending','sent') ORDER BY id"))?;
    let rows = stmt.query_map([], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The writes made for a decision.
pub fn by_decision(conn: &Connection, decision_id: i64) -> Result<Vec<OutboxRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM outbox WHERE decision_id = ?1 ORDER BY id"))?;
    let rows = stmt.query_map([decision_id], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The writes made for a conflict, oldest first.
pub fn by_conflict(conn: &Connection, conflict_id: i64) -> Result<Vec<OutboxRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM outbox WHERE conflict_id = ?1 ORDER BY id"))?;
    let rows = stmt.query_map([conflict_id], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Marks a write as about to be sent (attempt number `attempts`). Commit this before the request goes out.
pub fn mark_sending(conn: &Connection, id: i64, attempts: i64, now: &str) -> Result<()> {
    conn.execute("UPDATE outbox SET state = 'sending', attempts = ?2, updated_at = ?3 WHERE id = ?1", params![id, attempts, now])?;
    Ok(())
}

/// Records a retryable failure: the write stays `sending` until the next attempt, with the error and when to try.
pub fn mark_retry(conn: &Connection, id: i64, error: &str, next_attempt_at: &str, now: &str) -> Result<()> {
    conn.execute("UPDATE outbox SET last_error = ?2, next_attempt_at = ?3, updated_at = ?4 WHERE id = ?1", params![id, error, next_attempt_at, now])?;
    Ok(())
}

/// Moves a write to `state` (`sent`, `verified`, `stale`, `dead`), with the error or the provider's response id.
pub fn mark(conn: &Connection, id: i64, state: &str, error: Option<&str>, response_id: Option<&str>, now: &str) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET state = ?2, last_error = COALESCE(?3, CASE WHEN ?2 IN ('sent','verified') THEN NULL ELSE last_error END),
            response_id = COALESCE(?4, response_id), updated_at = ?5,
            sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END,
            verified_at = CASE WHEN ?2 = 'verified' THEN ?5 ELSE verified_at END,
            next_attempt_at = NULL
         WHERE id = ?1",
        params![id, state, error, response_id, now],
    )?;
    Ok(())
}

/// Puts a dead (or stale) write back in line by hand, under a new idempotency key
/// (a provider replays the refused answer to the old one) and a fresh count of tries.
pub fn requeue(conn: &Connection, id: i64, new_key: &str, now: &str) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET state = 'pending', attempts = 0, generation = generation + 1, idempotency_key = ?2, next_attempt_at = NULL, updated_at = ?3 WHERE id = ?1",
        params![id, new_key, now],
    )?;
    Ok(())
}

/// Drops a decision's writes that were never sent, so a superseded or withdrawn
/// decision sends nothing; a write that may be in flight refuses the change.
pub fn withdraw_unsent(conn: &Connection, decision_id: i64) -> Result<usize> {
    let busy: i64 = conn.query_row("SELECT COUNT(*) FROM outbox WHERE decision_id = ?1 AND state IN ('sending','sent')", [decision_id], |r| r.get(0))?;
    if busy > 0 {
        return Err(crate::StoreError::Invalid(format!(
            "decision {decision_id} is being pushed right now; let `concord push` finish, then decide again or undo"
        )));
    }
    Ok(conn.execute("DELETE FROM outbox WHERE decision_id = ?1 AND state = 'pending'", [decision_id])?)
}

/// Counts of writes per state.
pub fn counts(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn enqueueing_is_idempotent_by_key_and_requeue_changes_the_key() {
        let store = Store::open_in_memory().unwrap();
        let c = store.conn();
        c.execute_batch(
            "INSERT INTO connections (name, provider, created_at, updated_at) VALUES ('Books', 'xero', 't', 't');
             INSERT INTO conflicts (entity_kind, entity_key, field, candidates, detected_at, updated_at) VALUES ('party', 'p', 'email', '[]', 't', 't');
             INSERT INTO decisions (conflict_id, value, decided_by, decided_at) VALUES (1, 'a', 't', 't');",
        )
        .unwrap();
        let w = NewWrite {
            decision_id: 1,
            conflict_id: 1,
            connection_id: 1,
            provider: "xero",
            object: "contacts",
            external_id: "x",
            field: "email",
            old_value: "b",
            new_value: "a",
            idempotency_key: "k1",
            purpose: "push",
        };
        let (id, new) = enqueue(c, &w, "t").unwrap();
        assert!(new, "the first enqueue records the write");
        assert_eq!(enqueue(c, &w, "t").unwrap(), (id, false), "the same key must not record a second write");
        mark(c, id, "dead", Some("refused"), None, "t").unwrap();
        requeue(c, id, "k1-r1", "t").unwrap();
        let r = get(c, id).unwrap().unwrap();
        assert_eq!((r.state.as_str(), r.generation, r.idempotency_key.as_str()), ("pending", 1, "k1-r1"), "a manual retry goes back in line under a new key");
    }
}
