//! Forward-only, versioned schema migrations, embedded in the binary.
//!
//! The schema version lives in SQLite's `user_version`. Each migration runs in
//! its own transaction together with the version bump, so a crash leaves the
//! database at the previous version, never between two. A database from a newer
//! Concord is refused rather than guessed at. Migrations are never edited once
//! released: a change is a new entry at the end of [`MIGRATIONS`].

use crate::{audit, bookmark, canonical_record, conflict, connection, decision, link, outbox, raw_record, sync_run};
use crate::{discrepancy, import_source, imported_record, match_setting, record_link};
use crate::{Result, StoreError};
use rusqlite::{params, Connection, Transaction};

/// One step of the schema's history.
#[derive(Debug)]
pub struct Migration {
    /// The version the database is at after this step.
    pub version: i64,
    /// What the step does, for logs.
    pub name: &'static str,
    /// The statements, each owned by the table module it concerns.
    pub statements: &'static [&'static str],
    /// A step that needs more than fixed statements, run after them.
    pub code: Option<fn(&Transaction<'_>) -> Result<()>>,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "initial schema",
    statements: &[
        connection::SCHEMA_V1,
        bookmark::SCHEMA_V1,
        raw_record::SCHEMA_V1,
        canonical_record::SCHEMA_V1,
        link::SCHEMA_V1,
        conflict::SCHEMA_V1,
        decision::SCHEMA_V1,
        outbox::SCHEMA_V1,
        audit::SCHEMA_V1,
    ],
    code: None,
}, Migration {
    version: 2,
    name: "sync runs and their drift reports",
    statements: &[sync_run::SCHEMA_V2],
    code: None,
}, Migration {
    version: 3,
    name: "matching: record links, imported spreadsheets, discrepancies, settings",
    statements: &[
        record_link::SCHEMA_V3,
        import_source::SCHEMA_V3,
        imported_record::SCHEMA_V3,
        discrepancy::SCHEMA_V3,
        match_setting::SCHEMA_V3,
    ],
    code: None,
}, Migration {
    version: 4,
    name: "push: decision kinds, outbox conflict, provider, purpose and retry generation",
    statements: &[decision::SCHEMA_V4, outbox::SCHEMA_V4],
    code: None,
}, Migration {
    version: 5,
    name: "discrepancies: document date and currency",
    statements: &[discrepancy::SCHEMA_V5],
    code: None,
}, Migration {
    version: 6,
    name: "raw and canonical records: drop the per-row JSON checks (the writers only store JSON serde_json produced or parsed)",
    statements: &[],
    code: Some(|tx| drop_checks(tx, &[raw_record::V6_DROPPED_CHECK, canonical_record::V6_DROPPED_CHECK])),
}];

/// The newest schema version this build knows.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The version the database says it is at.
pub fn current(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the database up to [`LATEST`], one transaction per migration.
pub fn apply(conn: &mut Connection) -> Result<()> {
    apply_up_to(conn, LATEST)
}

/// Brings the database up to `target` (tests start from older versions).
fn apply_up_to(conn: &mut Connection, target: i64) -> Result<()> {
    let found = current(conn)?;
    if found > LATEST {
        return Err(StoreError::NewerSchema { found, supported: LATEST });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found && m.version <= target) {
        let tx = conn.transaction()?;
        for sql in m.statements {
            tx.execute_batch(sql)?;
        }
        if let Some(code) = m.code {
            code(&tx)?;
        }
        // user_version cannot take a bound parameter; the value is our own constant.
        tx.execute_batch(&format!("PRAGMA user_version = {}", m.version))?;
        tx.commit()?;
    }
    Ok(())
}

/// Removes CHECK constraints (each a table and the exact text of its check)
/// by editing the tables' definitions: SQLite's documented procedure for
/// removing a CHECK (<https://sqlite.org/lang_altertable.html#otheralter>).
/// No row is rewritten, so it takes the same time on a store of any size.
fn drop_checks(tx: &Transaction<'_>, checks: &[(&str, &str)]) -> Result<()> {
    let version: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    tx.execute_batch("PRAGMA writable_schema = ON")?;
    let edited = (|| {
        for (table, check) in checks {
            let sql: String = tx.query_row("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1", [table], |r| r.get(0))?;
            if !sql.contains(check) {
                return Err(StoreError::Invalid(format!(
                    "the {table} table's definition lacks the check this upgrade removes ({check:?}): the database was changed outside Concord; restore a backup or start a new workspace"
                )));
            }
            tx.execute("UPDATE sqlite_schema SET sql = ?2 WHERE type = 'table' AND name = ?1", params![table, sql.replacen(check, "", 1)])?;
        }
        // A new schema version makes every connection (this one included) re-read the definitions.
        tx.execute_batch(&format!("PRAGMA schema_version = {}", version + 1))?;
        Ok(())
    })();
    tx.execute_batch("PRAGMA writable_schema = OFF")?;
    edited
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v6_drops_the_json_checks_and_keeps_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v5.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            apply_up_to(&mut conn, 5).unwrap();
            conn.execute_batch(
                "INSERT INTO connections (id, name, provider, scopes, status, created_at, updated_at) VALUES (1, 'books', 'xero', '', 'connected', 'now', 'now');
                 INSERT INTO raw_records (connection_id, object, external_id, payload, content_hash, fetched_at) VALUES (1, 'contacts', 'c1', '{\"Name\":\"Zoë Ng\"}', 'h', 'now');
                 INSERT INTO canonical_records (connection_id, object, external_id, kind, data, mapped_at) VALUES (1, 'contacts', 'c1', 'party', '{\"name\":\"Zoë Ng\"}', 'now');",
            )
            .unwrap();
            let refused = conn.execute("UPDATE raw_records SET payload = 'not json'", []);
            assert!(refused.is_err(), "at v5 the check is still there (else this test proves nothing)");
        }
        let mut conn = Connection::open(&path).unwrap();
        apply(&mut conn).unwrap();
        assert_eq!(current(&conn).unwrap(), LATEST, "the store must reach the latest version");
        let sql: Vec<String> = conn.prepare("SELECT sql FROM sqlite_schema WHERE name IN ('raw_records', 'canonical_records')").unwrap().query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(sql.len(), 2, "both tables must still be defined");
        assert!(sql.iter().all(|s| !s.contains("json_valid")), "v6 must remove both JSON checks: {sql:?}");
        assert!(sql.iter().all(|s| s.contains("PRIMARY KEY") || s.contains("UNIQUE")), "the rest of each definition (its key) must be untouched: {sql:?}");
        let kept: (String, String) = conn.query_row("SELECT r.payload, c.data FROM raw_records r JOIN canonical_records c USING (connection_id, object, external_id)", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!(kept, ("{\"Name\":\"Zoë Ng\"}".to_string(), "{\"name\":\"Zoë Ng\"}".to_string()), "no row may change");
        conn.execute("UPDATE raw_records SET payload = 'not json'", []).expect("the same connection must see the new definition at once");
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "editing definitions must leave the database consistent");
        let writable: i64 = conn.query_row("PRAGMA writable_schema", [], |r| r.get(0)).unwrap();
        assert_eq!(writable, 0, "schema editing must be switched off again");
    }

    #[test]
    fn versions_strictly_increase_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "migration {:?} must be numbered by its position so none is skipped", m.name);
        }
    }
}
