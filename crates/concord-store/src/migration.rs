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
use rusqlite::Connection;

/// One step of the schema's history.
#[derive(Debug)]
pub struct Migration {
    /// The version the database is at after this step.
    pub version: i64,
    /// What the step does, for logs.
    pub name: &'static str,
    /// The statements, each owned by the table module it concerns.
    pub statements: &'static [&'static str],
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
}, Migration {
    version: 2,
    name: "sync runs and their drift reports",
    statements: &[sync_run::SCHEMA_V2],
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
}, Migration {
    version: 4,
    name: "push: decision kinds, outbox conflict, provider, purpose and retry generation",
    statements: &[decision::SCHEMA_V4, outbox::SCHEMA_V4],
}, Migration {
    version: 5,
    name: "discrepancies: document date and currency",
    statements: &[discrepancy::SCHEMA_V5],
}];

/// The newest schema version this build knows.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The version the database says it is at.
pub fn current(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the database up to [`LATEST`], one transaction per migration.
pub fn apply(conn: &mut Connection) -> Result<()> {
    let found = current(conn)?;
    if found > LATEST {
        return Err(StoreError::NewerSchema { found, supported: LATEST });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        let tx = conn.transaction()?;
        for sql in m.statements {
            tx.execute_batch(sql)?;
        }
        // user_version cannot take a bound parameter; the value is our own constant.
        tx.execute_batch(&format!("PRAGMA user_version = {}", m.version))?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_strictly_increase_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "migration {:?} must be numbered by its position so none is skipped", m.name);
        }
    }
}
