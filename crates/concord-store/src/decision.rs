//! The `decisions` table: the bookkeeper's choice of value for a conflict.
//!
//! A decision records who chose, when, which system won (or a typed value), and
//! the rule it came from when it was applied to many conflicts at once. A later
//! decision on the same conflict supersedes an earlier one; none is deleted, so
//! undo can walk back. Migration 4 adds `kind`: `choose` (a value was chosen),
//! `withdraw` (the choice was taken back before anything was pushed) or
//! `revert` (pushed values are being written back to what they were).

use crate::Result;
use rusqlite::{params, Connection, OptionalExtension};

pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE decisions (
    id            INTEGER PRIMARY KEY,
    conflict_id   INTEGER NOT NULL REFERENCES conflicts(id) ON DELETE CASCADE,
    winner        TEXT,
    value         TEXT,
    rule          TEXT,
    decided_by    TEXT NOT NULL,
    decided_at    TEXT NOT NULL,
    superseded_by INTEGER REFERENCES decisions(id),
    CHECK (winner IS NOT NULL OR value IS NOT NULL)
);
CREATE INDEX decisions_conflict ON decisions (conflict_id);
";

pub(crate) const SCHEMA_V4: &str = "
ALTER TABLE decisions ADD COLUMN kind TEXT NOT NULL DEFAULT 'choose' CHECK (kind IN ('choose','withdraw','revert'));
";

/// A stored decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRow {
    pub id: i64,
    pub conflict_id: i64,
    /// The winning record's key, when a system won.
    pub winner: Option<String>,
    /// The chosen value (the winner's value at decision time, or a typed one).
    pub value: Option<String>,
    pub rule: Option<String>,
    pub decided_by: String,
    pub decided_at: String,
    pub superseded_by: Option<i64>,
    /// `choose`, `withdraw` or `revert`.
    pub kind: String,
}

/// A decision to record.
#[derive(Debug, Clone)]
pub struct NewDecision<'a> {
    pub conflict_id: i64,
    pub winner: Option<&'a str>,
    pub value: &'a str,
    pub rule: Option<&'a str>,
    pub decided_by: &'a str,
    pub kind: &'a str,
}

const COLUMNS: &str = "id, conflict_id, winner, value, rule, decided_by, decided_at, superseded_by, kind";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DecisionRow> {
    Ok(DecisionRow {
        id: r.get(0)?,
        conflict_id: r.get(1)?,
        winner: r.get(2)?,
        value: r.get(3)?,
        rule: r.get(4)?,
        decided_by: r.get(5)?,
        decided_at: r.get(6)?,
        superseded_by: r.get(7)?,
        kind: r.get(8)?,
    })
}

/// Records a decision, superseding the conflict's current one; returns its id.
/// Call inside the transaction that also updates the conflict and the audit log.
pub fn insert(conn: &Connection, d: &NewDecision<'_>, now: &str) -> Result<i64> {
    conn.execute(
        "INSERT INTO decisions (conflict_id, winner, value, rule, decided_by, decided_at, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![d.conflict_id, d.winner, d.value, d.rule, d.decided_by, now, d.kind],
    )?;
    let id = conn.last_insert_rowid();
    conn.execute("UPDATE decisions SET superseded_by = ?1 WHERE conflict_id = ?2 AND id <> ?1 AND superseded_by IS NULL", params![id, d.conflict_id])?;
    Ok(id)
}

/// The conflict's decision in force (the one nothing supersedes), if any.
pub fn current(conn: &Connection, conflict_id: i64) -> Result<Option<DecisionRow>> {
    Ok(conn
        .query_row(&format!("SELECT {COLUMNS} FROM decisions WHERE conflict_id = ?1 AND superseded_by IS NULL ORDER BY id DESC LIMIT 1"), [conflict_id], row)
        .optional()?)
}

/// One decision by id.
pub fn get(conn: &Connection, id: i64) -> Result<Option<DecisionRow>> {
    Ok(conn.query_row(&format!("SELECT {COLUMNS} FROM decisions WHERE id = ?1"), [id], row).optional()?)
}

/// Every decision of a conflict, oldest first.
pub fn history(conn: &Connection, conflict_id: i64) -> Result<Vec<DecisionRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM decisions WHERE conflict_id = ?1 ORDER BY id"))?;
    let rows = stmt.query_map([conflict_id], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The decisions in force of kind `choose`, for conflicts in `status`.
pub fn in_force(conn: &Connection, status: &str) -> Result<Vec<DecisionRow>> {
    let mut stmt = conn.prepare(
        "SELECT d.id, d.conflict_id, d.winner, d.value, d.rule, d.decided_by, d.decided_at, d.superseded_by, d.kind
         FROM decisions d JOIN conflicts c ON c.id = d.conflict_id
         WHERE d.superseded_by IS NULL AND d.kind = 'choose' AND c.status = ?1 ORDER BY d.id",
    )?;
    let rows = stmt.query_map([status], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conflict::{record_detected, DetectedConflict};
    use crate::Store;

    #[test]
    fn a_later_decision_supersedes_the_earlier_one() {
        let mut store = Store::open_in_memory().unwrap();
        let found = DetectedConflict {
            entity_kind: "party".into(),
            entity_key: "party:1/contacts/1".into(),
            field: "email".into(),
            candidates: "[]".into(),
            suggested_winner: None,
            reason: String::new(),
        };
        store.transaction(|tx| record_detected(tx, &[found], "t0")).unwrap();
        let conflict = crate::conflict::list(store.conn(), None).unwrap()[0].id;
        let new = |value| NewDecision { conflict_id: conflict, winner: None, value, rule: None, decided_by: "t", kind: "choose" };
        let first = insert(store.conn(), &new("a@x.com"), "t1").unwrap();
        let second = insert(store.conn(), &new("b@x.com"), "t2").unwrap();
        assert_eq!(current(store.conn(), conflict).unwrap().map(|d| d.id), Some(second), "the newest decision is the one in force");
        assert_eq!(get(store.conn(), first).unwrap().and_then(|d| d.superseded_by), Some(second), "the earlier decision names what superseded it");
        assert_eq!(history(store.conn(), conflict).unwrap().len(), 2, "no decision is deleted, so undo can walk back");
    }
}
