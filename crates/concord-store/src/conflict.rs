//! The `conflicts` table: a field on which linked records disagree.
//!
//! `entity_key` names the linked customer or document, `field` the canonical
//! field, and `candidates` holds every system's value with its last-modified
//! time. The suggested winner and the reason come from the system-of-record
//! policy; the bookkeeper's choice is a row in `decisions`.

pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE conflicts (
    id               INTEGER PRIMARY KEY,
    entity_kind      TEXT NOT NULL CHECK (entity_kind IN ('party','sales_document','payment')),
    entity_key       TEXT NOT NULL,
    field            TEXT NOT NULL,
    candidates       TEXT NOT NULL CHECK (json_valid(candidates)),
    suggested_winner TEXT,
    reason           TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open','decided','pushed','changed_since_decided','resolved')),
    detected_at      TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (entity_key, field)
);
CREATE INDEX conflicts_status ON conflicts (status);
";

/// A conflict found by a matching run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectedConflict {
    pub entity_kind: String,
    pub entity_key: String,
    pub field: String,
    /// JSON array of every system's value.
    pub candidates: String,
    pub suggested_winner: Option<String>,
    pub reason: String,
}

/// A stored conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictRow {
    pub id: i64,
    pub entity_kind: String,
    pub entity_key: String,
    pub field: String,
    pub candidates: String,
    pub suggested_winner: Option<String>,
    pub reason: String,
    pub status: String,
    pub detected_at: String,
    pub updated_at: String,
}

/// Records a matching run's conflicts: new ones open, re-detected ones are
/// refreshed (a decided one whose values changed becomes
/// `changed_since_decided`; a newer last-modified time alone does not count),
/// and open ones no longer detected are resolved.
/// Call inside one transaction.
pub fn record_detected(conn: &rusqlite::Connection, found: &[DetectedConflict], now: &str) -> crate::Result<()> {
    conn.execute("UPDATE conflicts SET status = 'resolved', updated_at = ?1 WHERE status = 'open'", [now])?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO conflicts (entity_kind, entity_key, field, candidates, suggested_winner, reason, status, detected_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?7)
         ON CONFLICT (entity_key, field) DO UPDATE SET
           status = CASE
             WHEN conflicts.status = 'resolved' THEN 'open'
             WHEN conflicts.status IN ('decided','pushed') AND
                  (SELECT group_concat(json_extract(j.value, '$.record') || char(31) || json_extract(j.value, '$.value'), char(30)) FROM json_each(conflicts.candidates) j)
                  IS NOT (SELECT group_concat(json_extract(j.value, '$.record') || char(31) || json_extract(j.value, '$.value'), char(30)) FROM json_each(excluded.candidates) j)
               THEN 'changed_since_decided'
             ELSE conflicts.status END,
           entity_kind = excluded.entity_kind, candidates = excluded.candidates,
           suggested_winner = excluded.suggested_winner, reason = excluded.reason, updated_at = excluded.updated_at",
    )?;
    for c in found {
        stmt.execute(rusqlite::params![c.entity_kind, c.entity_key, c.field, c.candidates, c.suggested_winner, c.reason, now])?;
    }
    Ok(())
}

const COLUMNS: &str = "id, entity_kind, entity_key, field, candidates, suggested_winner, reason, status, detected_at, updated_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConflictRow> {
    Ok(ConflictRow {
        id: r.get(0)?,
        entity_kind: r.get(1)?,
        entity_key: r.get(2)?,
        field: r.get(3)?,
        candidates: r.get(4)?,
        suggested_winner: r.get(5)?,
        reason: r.get(6)?,
        status: r.get(7)?,
        detected_at: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

/// Conflicts, optionally in one status, by customer then field.
pub fn list(conn: &rusqlite::Connection, status: Option<&str>) -> crate::Result<Vec<ConflictRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM conflicts WHERE (?1 IS NULL OR status = ?1) ORDER BY entity_key, field"))?;
    let rows = stmt.query_map([status], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// One page of conflicts (optionally in one status) in entity-key then id order, and how
/// many there are in all: the Review screen's list reads it page by page.
pub fn page(conn: &rusqlite::Connection, status: Option<&str>, offset: u32, limit: u32) -> crate::Result<(Vec<ConflictRow>, i64)> {
    let total: i64 = conn.query_row("SELECT count(*) FROM conflicts WHERE (?1 IS NULL OR status = ?1)", [status], |r| r.get(0))?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM conflicts WHERE (?1 IS NULL OR status = ?1) ORDER BY entity_key, id LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(rusqlite::params![status, limit, offset], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

/// One stored conflict by id.
pub fn get(conn: &rusqlite::Connection, id: i64) -> crate::Result<Option<ConflictRow>> {
    use rusqlite::OptionalExtension;
    Ok(conn.query_row(&format!("SELECT {COLUMNS} FROM conflicts WHERE id = ?1"), [id], row).optional()?)
}

/// Sets a conflict's status (`open`, `decided`, `pushed`, `changed_since_decided`, `resolved`): push and undo use it.
pub fn set_status(conn: &rusqlite::Connection, id: i64, status: &str, now: &str) -> crate::Result<()> {
    conn.execute("UPDATE conflicts SET status = ?2, updated_at = ?3 WHERE id = ?1", rusqlite::params![id, status, now])?;
    Ok(())
}

#[cfg(test)]
mod detected_tests {
    use super::*;
    use crate::Store;

    fn found(candidates: &str) -> DetectedConflict {
        DetectedConflict {
            entity_kind: "party".into(),
            entity_key: "party:1/contacts/1".into(),
            field: "email".into(),
            candidates: candidates.into(),
            suggested_winner: None,
            reason: "r".into(),
        }
    }

    #[test]
    fn conflicts_open_resolve_and_reopen() {
        let mut store = Store::open_in_memory().unwrap();
        store.transaction(|tx| record_detected(tx, &[found("[1]")], "t1")).unwrap();
        assert_eq!(list(store.conn(), Some("open")).unwrap().len(), 1, "a new conflict is open");
        store.transaction(|tx| record_detected(tx, &[], "t2")).unwrap();
        assert_eq!(list(store.conn(), Some("resolved")).unwrap().len(), 1, "a conflict no longer found is resolved");
        store.transaction(|tx| record_detected(tx, &[found("[1]")], "t3")).unwrap();
        assert_eq!(list(store.conn(), Some("open")).unwrap().len(), 1, "a conflict found again reopens");
        let id = list(store.conn(), None).unwrap()[0].id;
        let cands = |v: &str, t: &str| format!(r#"[{{"record":"1/contacts/1","value":"{v}","lastModified":"{t}"}}]"#);
        store.transaction(|tx| record_detected(tx, &[found(&cands("a", "t1"))], "t4")).unwrap();
        set_status(store.conn(), id, "decided", "t4").unwrap();
        store.transaction(|tx| record_detected(tx, &[found(&cands("a", "t9"))], "t5")).unwrap();
        assert_eq!(get(store.conn(), id).unwrap().unwrap().status, "decided", "a record touched elsewhere keeps the decision on this field");
        store.transaction(|tx| record_detected(tx, &[found(&cands("b", "t9"))], "t6")).unwrap();
        assert_eq!(get(store.conn(), id).unwrap().unwrap().status, "changed_since_decided", "a changed value sends the decision back to review");
    }
}
