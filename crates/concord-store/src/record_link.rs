//! The `record_links` table: links between records named by key, with the
//! bookkeeper's decisions.
//!
//! The v1 `links` table names records by `canonical_records` row id, which an
//! imported spreadsheet row does not have, and its foreign keys would delete a
//! decision whenever a record is re-mapped. Matching therefore keeps its links
//! here, naming each record by its stable key (`connection/object/external
//! id`; imports use a negative connection number). Rows in state `auto` or
//! `suggested` are the matcher's and are replaced on every run; rows in state
//! `confirmed`, `rejected` or `manual` are decisions and are only ever changed
//! by another decision, so they survive later syncs.

use crate::Result;
use rusqlite::{params, Connection, OptionalExtension};

pub(crate) const SCHEMA_V3: &str = "
CREATE TABLE record_links (
    id          INTEGER PRIMARY KEY,
    entity      TEXT NOT NULL CHECK (entity IN ('party','document')),
    left_key    TEXT NOT NULL,
    right_key   TEXT NOT NULL,
    method      TEXT NOT NULL,
    score       REAL NOT NULL,
    evidence    TEXT NOT NULL CHECK (json_valid(evidence)),
    state       TEXT NOT NULL CHECK (state IN ('auto','suggested','confirmed','rejected','manual')),
    same_system INTEGER NOT NULL DEFAULT 0,
    decided_by  TEXT,
    decided_at  TEXT,
    updated_at  TEXT NOT NULL,
    CHECK (left_key < right_key),
    UNIQUE (left_key, right_key)
);
CREATE INDEX record_links_state ON record_links (state);
";

/// A link as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRow {
    pub entity: String,
    pub left_key: String,
    pub right_key: String,
    pub method: String,
    pub score: f64,
    /// JSON array of evidence phrases.
    pub evidence: String,
    pub state: String,
    pub same_system: bool,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub updated_at: String,
}

const COLUMNS: &str = "entity, left_key, right_key, method, score, evidence, state, same_system, decided_by, decided_at, updated_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LinkRow> {
    Ok(LinkRow {
        entity: r.get(0)?,
        left_key: r.get(1)?,
        right_key: r.get(2)?,
        method: r.get(3)?,
        score: r.get(4)?,
        evidence: r.get(5)?,
        state: r.get(6)?,
        same_system: r.get::<_, i64>(7)? != 0,
        decided_by: r.get(8)?,
        decided_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

/// Replaces the matcher's links with `links` (states `auto`/`suggested`), and
/// refreshes score, method and evidence of decided pairs without touching
/// their decision. Call inside one transaction.
pub fn replace_computed(conn: &Connection, links: &[LinkRow], now: &str) -> Result<()> {
    conn.execute("DELETE FROM record_links WHERE state IN ('auto','suggested')", [])?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO record_links (entity, left_key, right_key, method, score, evidence, state, same_system, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (left_key, right_key) DO UPDATE SET
           method = excluded.method, score = excluded.score, evidence = excluded.evidence,
           same_system = excluded.same_system, updated_at = excluded.updated_at",
    )?;
    for l in links {
        stmt.execute(params![l.entity, l.left_key, l.right_key, l.method, l.score, l.evidence, l.state, l.same_system as i64, now])?;
    }
    Ok(())
}

/// Records a decision on a pair (`confirmed`, `rejected` or `manual`), creating the row if needed.
pub fn decide(conn: &Connection, entity: &str, left: &str, right: &str, state: &str, by: &str, now: &str) -> Result<()> {
    let (l, r) = if left <= right { (left, right) } else { (right, left) };
    conn.execute(
        "INSERT INTO record_links (entity, left_key, right_key, method, score, evidence, state, decided_by, decided_at, updated_at)
         VALUES (?1, ?2, ?3, 'manual', 1.0, '[\"linked by the bookkeeper\"]', ?4, ?5, ?6, ?6)
         ON CONFLICT (left_key, right_key) DO UPDATE SET state = excluded.state, decided_by = excluded.decided_by,
           decided_at = excluded.decided_at, updated_at = excluded.updated_at",
        params![entity, l, r, state, by, now],
    )?;
    Ok(())
}

/// One pair's row, if any.
pub fn get(conn: &Connection, left: &str, right: &str) -> Result<Option<LinkRow>> {
    let (l, r) = if left <= right { (left, right) } else { (right, left) };
    Ok(conn
        .query_row(&format!("SELECT {COLUMNS} FROM record_links WHERE left_key = ?1 AND right_key = ?2"), params![l, r], from_row)
        .optional()?)
}

/// Every decided pair: (left, right, state).
pub fn decisions(conn: &Connection) -> Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare("SELECT left_key, right_key, state FROM record_links WHERE state IN ('confirmed','rejected','manual')")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Links, optionally only one state and one entity, strongest first.
pub fn list(conn: &Connection, state: Option<&str>, entity: Option<&str>) -> Result<Vec<LinkRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM record_links WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR entity = ?2)
         ORDER BY entity, score DESC, left_key, right_key"
    ))?;
    let rows = stmt.query_map(params![state, entity], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn row(l: &str, r: &str, state: &str) -> LinkRow {
        LinkRow {
            entity: "party".into(),
            left_key: l.into(),
            right_key: r.into(),
            method: "email".into(),
            score: 0.97,
            evidence: "[\"same email\"]".into(),
            state: state.into(),
            same_system: false,
            decided_by: None,
            decided_at: None,
            updated_at: String::new(),
        }
    }

    #[test]
    fn decisions_survive_recomputation() {
        let mut store = Store::open_in_memory().unwrap();
        store.transaction(|tx| replace_computed(tx, &[row("1/c/a", "2/c/b", "auto"), row("1/c/a", "3/c/z", "suggested")], "t1")).unwrap();
        decide(store.conn(), "party", "2/c/b", "1/c/a", "rejected", "cli", "t2").unwrap();
        store.transaction(|tx| replace_computed(tx, &[row("1/c/a", "2/c/b", "auto")], "t3")).unwrap();
        let l = get(store.conn(), "1/c/a", "2/c/b").unwrap().unwrap();
        assert_eq!(l.state, "rejected", "a later run must not overwrite the bookkeeper's rejection");
        assert_eq!(l.updated_at, "t3", "the evidence is refreshed all the same");
        assert!(get(store.conn(), "1/c/a", "3/c/z").unwrap().is_none(), "a suggestion the matcher no longer makes disappears");
        assert_eq!(decisions(store.conn()).unwrap().len(), 1, "the decision is listed for the next plan");
    }
}
