//! The `raw_records` table: each provider record exactly as it was fetched.
//!
//! Keeping the payload lets Concord re-map records when its mapping improves and
//! show the bookkeeper what the provider really said. Records are keyed by
//! (connection, object, external id), so re-reading a page upserts instead of
//! duplicating; the content hash tells a real change from a repeat delivery.

use crate::Result;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE raw_records (
    connection_id     INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    object            TEXT NOT NULL,
    external_id       TEXT NOT NULL,
    payload           TEXT NOT NULL CHECK (json_valid(payload)),
    content_hash      TEXT NOT NULL,
    source_updated_at TEXT,
    fetched_at        TEXT NOT NULL,
    state             TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active','archived','deleted','merged')),
    merged_into       TEXT,
    PRIMARY KEY (connection_id, object, external_id)
);
";

/// Schema v6 drops the payload's JSON check (see [`crate::migration`]): every
/// payload the sync engine stores is text serde_json has just parsed (the
/// record's own `RawValue`), and SQLite parsing each one again cost about a
/// tenth of a sync's write time. Writers must store JSON text.
pub(crate) const V6_DROPPED_CHECK: (&str, &str) = ("raw_records", " CHECK (json_valid(payload))");

/// The SHA-256 of a payload's text, hex-encoded.
pub fn content_hash(payload: &str) -> String {
    hex::encode(Sha256::digest(payload.as_bytes()))
}

/// One fetched record.
#[derive(Debug, Clone)]
pub struct RawRecord<'a> {
    pub connection_id: i64,
    pub object: &'a str,
    pub external_id: &'a str,
    pub payload: &'a str,
    pub source_updated_at: Option<&'a str>,
    pub state: &'a str,
    pub merged_into: Option<&'a str>,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// The record was new.
    Inserted,
    /// The record existed with different content.
    Updated,
    /// The same content was delivered again; only `fetched_at` moved.
    Unchanged,
}

/// Stores a record, keyed by (connection, object, external id).
pub fn upsert(conn: &Connection, rec: &RawRecord<'_>, fetched_at: &str) -> Result<Upsert> {
    let hash = content_hash(rec.payload);
    let previous = stored(conn, rec)?;
    write(conn, rec, &hash, fetched_at, insert_or_update(previous.is_some()))?;
    Ok(outcome(previous.map(|(h, _)| h), &hash))
}

/// The stored content hash and source update time of `rec`'s row, if any.
fn stored(conn: &Connection, rec: &RawRecord<'_>) -> Result<Option<(String, Option<String>)>> {
    Ok(conn
        .prepare_cached("SELECT content_hash, source_updated_at FROM raw_records WHERE connection_id = ?1 AND object = ?2 AND external_id = ?3")?
        .query_row(params![rec.connection_id, rec.object, rec.external_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// How [`write`] stores a row.
#[derive(Clone, Copy)]
enum Write {
    /// A new row (an existing one is an error).
    Insert,
    /// A new row, unless one is already there (then nothing is written).
    InsertIfAbsent,
    /// Replace the existing row.
    Update,
}

/// Stores `rec`'s row as `how` says; returns how many rows changed. Two plain
/// statements rather than one `INSERT ... ON CONFLICT DO UPDATE`: SQLite opens
/// a temporary b-tree for every upsert it runs, which cost a sync about a tenth
/// of its store time.
fn write(conn: &Connection, rec: &RawRecord<'_>, hash: &str, fetched_at: &str, how: Write) -> Result<usize> {
    let sql = match how {
        Write::Update => {
            "UPDATE raw_records SET payload = ?4, content_hash = ?5, source_updated_at = ?6, fetched_at = ?7, state = ?8, merged_into = ?9
             WHERE connection_id = ?1 AND object = ?2 AND external_id = ?3"
        }
        Write::Insert => {
            "INSERT INTO raw_records (connection_id, object, external_id, payload, content_hash, source_updated_at, fetched_at, state, merged_into)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        }
        Write::InsertIfAbsent => {
            "INSERT OR IGNORE INTO raw_records (connection_id, object, external_id, payload, content_hash, source_updated_at, fetched_at, state, merged_into)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        }
    };
    Ok(conn.prepare_cached(sql)?.execute(params![
        rec.connection_id,
        rec.object,
        rec.external_id,
        rec.payload,
        hash,
        rec.source_updated_at,
        fetched_at,
        rec.state,
        rec.merged_into
    ])?)
}

/// [`Write::Update`] when the caller's lookup found the row, else [`Write::Insert`].
fn insert_or_update(exists: bool) -> Write {
    if exists {
        Write::Update
    } else {
        Write::Insert
    }
}

/// What a write did, from the hash that was stored before it.
fn outcome(previous_hash: Option<String>, hash: &str) -> Upsert {
    match previous_hash {
        None => Upsert::Inserted,
        Some(h) if h == hash => Upsert::Unchanged,
        Some(_) => Upsert::Updated,
    }
}

/// How many records a connection holds for an object.
pub fn count(conn: &Connection, connection_id: i64, object: &str) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM raw_records WHERE connection_id = ?1 AND object = ?2",
        params![connection_id, object],
        |r| r.get(0),
    )?)
}

/// Stores a record unless the store already holds a newer version of it, using
/// cached statements (the sync engine calls this for every record of a page).
///
/// A repeat or late delivery of an older version (a retried page, a duplicate
/// delivery) never overwrites a newer one: the row is replaced only when the
/// incoming `source_updated_at` is at least the stored one. Timestamps must be
/// normalised RFC 3339 UTC text so that text order is time order.
pub fn upsert_newer(conn: &Connection, rec: &RawRecord<'_>, fetched_at: &str) -> Result<Upsert> {
    upsert_newer_hashed(conn, rec, &content_hash(rec.payload), fetched_at)
}

/// [`upsert_newer`] with the payload's [`content_hash`] already computed (the
/// sync engine hashes while preparing a page, outside the write transaction).
pub fn upsert_newer_hashed(conn: &Connection, rec: &RawRecord<'_>, hash: &str, fetched_at: &str) -> Result<Upsert> {
    // Most records of a first sync are new: try the insert first, without a lookup.
    // IGNORE also skips a row that breaks a CHECK or NOT NULL; such a row is not
    // stored either, so the plain path below runs and reports the real error.
    if write(conn, rec, hash, fetched_at, Write::InsertIfAbsent)? == 1 {
        return Ok(Upsert::Inserted);
    }
    let previous = stored(conn, rec)?;
    if let Some((_, Some(stored))) = &previous {
        if rec.source_updated_at.is_some_and(|incoming| incoming < stored.as_str()) {
            return Ok(Upsert::Unchanged);
        }
    }
    write(conn, rec, hash, fetched_at, insert_or_update(previous.is_some()))?;
    Ok(outcome(previous.map(|(h, _)| h), hash))
}

/// Marks a record deleted (a tombstone such as QuickBooks CDC's `"status": "Deleted"`),
/// keeping its last known payload; inserts `payload` when the record was never seen.
pub fn mark_deleted(conn: &Connection, rec: &RawRecord<'_>, fetched_at: &str) -> Result<Upsert> {
    let n = conn
        .prepare_cached(
            "UPDATE raw_records SET state = 'deleted', source_updated_at = ?4, fetched_at = ?5
             WHERE connection_id = ?1 AND object = ?2 AND external_id = ?3
               AND (state <> 'deleted' OR source_updated_at IS NOT ?4)
               AND (source_updated_at IS NULL OR ?4 IS NULL OR source_updated_at <= ?4)",
        )?
        .execute(params![rec.connection_id, rec.object, rec.external_id, rec.source_updated_at, fetched_at])?;
    if n > 0 {
        return Ok(Upsert::Updated);
    }
    let exists: bool = conn
        .prepare_cached("SELECT 1 FROM raw_records WHERE connection_id = ?1 AND object = ?2 AND external_id = ?3")?
        .exists(params![rec.connection_id, rec.object, rec.external_id])?;
    if exists {
        return Ok(Upsert::Unchanged);
    }
    upsert_newer(conn, &RawRecord { state: "deleted", ..rec.clone() }, fetched_at)
}

/// Every record of an object as (external id, source_updated_at, state): for
/// comparing the store with a provider's state in tests and checks.
pub fn keys(conn: &Connection, connection_id: i64, object: &str) -> Result<Vec<(String, Option<String>, String)>> {
    let mut stmt = conn.prepare(
        "SELECT external_id, source_updated_at, state FROM raw_records WHERE connection_id = ?1 AND object = ?2 ORDER BY external_id",
    )?;
    let rows = stmt
        .query_map(params![connection_id, object], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The newest `source_updated_at` of an object's records, for data freshness.
pub fn newest_update(conn: &Connection, connection_id: i64, object: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT max(source_updated_at) FROM raw_records WHERE connection_id = ?1 AND object = ?2")?
        .query_row(params![connection_id, object], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{connection, Store};
    use concord_core::Provider;

    #[test]
    fn repeat_delivery_is_unchanged_and_not_duplicated() {
        let store = Store::open_in_memory().unwrap();
        let cid = connection::insert(
            store.conn(),
            &connection::NewConnection {
                name: "Shop",
                provider: Provider::Shopify,
                base_url: None,
                tenant_id: None,
                tenant_name: None,
                scopes: "",
                keychain_account: None,
            },
            "2026-01-01T00:00:00.000Z",
        )
        .unwrap();
        let rec = RawRecord {
            connection_id: cid,
            object: "customers",
            external_id: "gid://shopify/Customer/1",
            payload: r#"{"id":"gid://shopify/Customer/1","email":"zoe@example.com"}"#,
            source_updated_at: Some("2026-01-01T00:00:00Z"),
            state: "active",
            merged_into: None,
        };
        assert_eq!(upsert(store.conn(), &rec, "t1").unwrap(), Upsert::Inserted, "first sight of a record inserts it");
        assert_eq!(upsert(store.conn(), &rec, "t2").unwrap(), Upsert::Unchanged, "a duplicate delivery must be recognised by its hash");
        let changed = RawRecord { payload: r#"{"id":"gid://shopify/Customer/1","email":"zoe@ng.example"}"#, ..rec };
        assert_eq!(upsert(store.conn(), &changed, "t3").unwrap(), Upsert::Updated, "new content must count as an update");
        assert_eq!(count(store.conn(), cid, "customers").unwrap(), 1, "upserts by key must never duplicate a record");
    }
}
