//! The `audit_log` table: an append-only, hash-chained record of what Concord did.
//!
//! Each row stores the hash of the row before it and its own hash over its id,
//! time, actor, action, subject and detail, chained to that previous hash. So
//! editing a row breaks its own hash, deleting a row breaks the next row's link,
//! and `audit_head` (updated in the same transaction as every append) reveals a
//! row cut off the end. Triggers refuse UPDATE and DELETE so nothing in Concord
//! can rewrite history by accident; [`verify`] catches anyone who removes them.
//!
//! **Invariant:** the chain is only ever extended through [`append`].

use crate::{Result, StoreError};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL CHECK (json_valid(detail)),
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE audit_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    last_id   INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

/// The previous-hash value of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry to append.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    /// Who acted: "cli", "app", "sync", a bookkeeper's name.
    pub actor: &'a str,
    /// What kind of thing happened, dotted: "workspace.init", "api.call", "push.write".
    pub action: &'a str,
    /// What it happened to: a connection name, a record key.
    pub subject: &'a str,
    /// Structured detail as JSON. Never a secret.
    pub detail: &'a serde_json::Value,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of a row: SHA-256 over the previous hash and each field, every
/// field length-prefixed so that no two different rows can encode the same way.
pub fn row_hash(prev_hash: &str, id: i64, at: &str, actor: &str, action: &str, subject: &str, detail: &str) -> String {
    let mut h = Sha256::new();
    let id_text = id.to_string();
    for part in [prev_hash, id_text.as_str(), at, actor, action, subject, detail] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends an entry at `now` and returns its id. Call inside the transaction
/// of the change it records, so the change and its audit row commit together.
pub fn append(conn: &Connection, entry: &NewEntry<'_>, now: &str) -> Result<i64> {
    let head: Option<(i64, String)> = conn
        .query_row("SELECT last_id, last_hash FROM audit_head WHERE singleton = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (id, prev) = match head {
        Some((last_id, last_hash)) => (last_id + 1, last_hash),
        None => (1, GENESIS.to_string()),
    };
    let detail = entry.detail.to_string();
    let hash = row_hash(&prev, id, now, entry.actor, entry.action, entry.subject, &detail);
    conn.execute(
        "INSERT INTO audit_log (id, at, actor, action, subject, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![id, now, entry.actor, entry.action, entry.subject, detail, prev, hash],
    )?;
    conn.execute(
        "INSERT INTO audit_head (singleton, last_id, last_hash) VALUES (1, ?1, ?2)
         ON CONFLICT (singleton) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash",
        params![id, hash],
    )?;
    Ok(id)
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    /// Case-insensitive text that must appear in the actor, action, subject or detail.
    pub text: Option<&'a str>,
    /// Only entries with an id below this one (for paging backwards).
    pub before_id: Option<i64>,
    /// At most this many entries.
    pub limit: u32,
}

/// Entries matching `filter`, newest first.
pub fn list(conn: &Connection, filter: &Filter<'_>) -> Result<Vec<Entry>> {
    let pattern = filter.text.map(|t| format!("%{}%", t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit_log
         WHERE (?1 IS NULL OR id < ?1)
           AND (?2 IS NULL OR actor LIKE ?2 ESCAPE '\\' OR action LIKE ?2 ESCAPE '\\'
                OR subject LIKE ?2 ESCAPE '\\' OR detail LIKE ?2 ESCAPE '\\')
         ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![filter.before_id, pattern, filter.limit], |r| {
            Ok(Entry {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                subject: r.get(4)?,
                detail: r.get(5)?,
                prev_hash: r.get(6)?,
                hash: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// How many entries the log holds.
pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))?)
}

/// The first place the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The row where the break shows (for a deleted row: the row after the gap).
    pub row_id: i64,
    /// What is wrong, in words.
    pub reason: String,
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// How many rows were checked before stopping.
    pub rows_checked: i64,
    /// The first break, if any.
    pub fault: Option<Fault>,
}

/// Walks the whole chain in id order, recomputing every hash.
pub fn verify(conn: &Connection) -> Result<Verification> {
    let mut stmt =
        conn.prepare("SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY id")?;
    let mut rows = stmt.query([])?;
    let mut expected_id = 1i64;
    let mut expected_prev = GENESIS.to_string();
    let mut checked = 0i64;
    let fault = |row_id: i64, reason: String, checked: i64| Ok(Verification { rows_checked: checked, fault: Some(Fault { row_id, reason }) });
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let (at, actor, action, subject, detail): (String, String, String, String, String) =
            (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
        let (prev_hash, hash): (String, String) = (r.get(6)?, r.get(7)?);
        if id != expected_id {
            return fault(id, format!("entries {expected_id} to {} are missing (deleted)", id - 1), checked);
        }
        if prev_hash != expected_prev {
            return fault(id, "its link to the previous entry does not match: an earlier entry was removed or rewritten".into(), checked);
        }
        if row_hash(&prev_hash, id, &at, &actor, &action, &subject, &detail) != hash {
            return fault(id, "its content no longer matches its hash: the entry was edited".into(), checked);
        }
        checked += 1;
        expected_id = id + 1;
        expected_prev = hash;
    }
    let head: Option<(i64, String)> = conn
        .query_row("SELECT last_id, last_hash FROM audit_head WHERE singleton = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match head {
        None if checked == 0 => {}
        None => return fault(checked, "the chain's head record is missing".into(), checked),
        Some((last_id, last_hash)) => {
            if last_id != checked || last_hash != expected_prev {
                let row_id = last_id.max(checked);
                return fault(row_id, format!("the log ends at entry {checked} but was last extended to entry {last_id}: entries were removed from the end"), checked);
            }
        }
    }
    Ok(Verification { rows_checked: checked, fault: None })
}

/// Maps a refused UPDATE/DELETE into a clear error for callers that try one.
pub fn is_append_only_violation(err: &StoreError) -> bool {
    matches!(err, StoreError::Sqlite(e) if e.to_string().contains("append-only"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use serde_json::json;

    fn seeded(n: i64) -> Store {
        let store = Store::open_in_memory().unwrap();
        for i in 0..n {
            let detail = json!({ "n": i });
            append(
                store.conn(),
                &NewEntry { actor: "test", action: "test.step", subject: &format!("step {i}"), detail: &detail },
                &format!("2026-11-23T00:00:{:02}.000Z", i % 60),
            )
            .unwrap();
        }
        store
    }

    fn tamper(store: &Store, sql: &str) {
        store
            .conn()
            .execute_batch(&format!("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; {sql}"))
            .unwrap();
    }

    #[test]
    fn intact_chain_verifies() {
        let store = seeded(5);
        let v = verify(store.conn()).unwrap();
        assert_eq!(v, Verification { rows_checked: 5, fault: None }, "an untouched log must verify whole");
        assert_eq!(verify(Store::open_in_memory().unwrap().conn()).unwrap().fault, None, "an empty log is intact");
    }

    #[test]
    fn triggers_refuse_rewrites() {
        let store = seeded(2);
        let err = store.conn().execute("UPDATE audit_log SET actor = 'x' WHERE id = 1", []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "updates must be refused by the trigger, got {err}");
        let err = store.conn().execute("DELETE FROM audit_log WHERE id = 1", []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "deletes must be refused by the trigger, got {err}");
    }

    #[test]
    fn tampering_is_located() {
        struct Case {
            sql: &'static str,
            row: i64,
            says: &'static str,
        }
        let cases = [
            Case { sql: "UPDATE audit_log SET subject = 'forged' WHERE id = 3", row: 3, says: "edited" },
            Case { sql: "DELETE FROM audit_log WHERE id = 2", row: 3, says: "missing" },
            Case { sql: "DELETE FROM audit_log WHERE id = 5", row: 5, says: "removed from the end" },
            Case { sql: "UPDATE audit_log SET prev_hash = hash WHERE id = 4", row: 4, says: "previous entry" },
        ];
        for case in cases {
            let store = seeded(5);
            tamper(&store, case.sql);
            let v = verify(store.conn()).unwrap();
            let fault = v.fault.unwrap_or_else(|| panic!("tampering `{}` must be detected", case.sql));
            assert_eq!(fault.row_id, case.row, "`{}` must be reported at the row where the chain breaks", case.sql);
            assert!(fault.reason.contains(case.says), "`{}`: the reason must say what happened, got {:?}", case.sql, fault.reason);
        }
    }

    #[test]
    fn hash_fields_cannot_be_shifted() {
        let a = row_hash(GENESIS, 1, "t", "ab", "c", "s", "{}");
        let b = row_hash(GENESIS, 1, "t", "a", "bc", "s", "{}");
        assert_ne!(a, b, "moving text between fields must change the hash");
    }
}
