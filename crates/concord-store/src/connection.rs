//! The `connections` table: one row per connected business system.
//!
//! **Invariant:** no secret is stored here. `keychain_account` names the OS
//! keychain entry that holds the tokens; the tokens themselves never touch SQLite.

use crate::{Result, StoreError};
use concord_core::Provider;
use rusqlite::{params, Connection, OptionalExtension, Row};

pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE connections (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    provider         TEXT NOT NULL CHECK (provider IN ('hubspot','shopify','xero','quickbooks')),
    base_url         TEXT,
    tenant_id        TEXT,
    tenant_name      TEXT,
    status           TEXT NOT NULL DEFAULT 'connected'
                     CHECK (status IN ('connected','needs_reauth','disconnected')),
    scopes           TEXT NOT NULL DEFAULT '',
    keychain_account TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    last_sync_at     TEXT
);
";

/// Where a connection stands with its provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Tokens are valid or refreshable.
    Connected,
    /// The provider refused the tokens (revoked, expired refresh token): the user must sign in again.
    NeedsReauth,
    /// The user disconnected it; local data may have been kept.
    Disconnected,
}

impl ConnectionState {
    /// The stored identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connected => "connected",
            ConnectionState::NeedsReauth => "needs_reauth",
            ConnectionState::Disconnected => "disconnected",
        }
    }

    /// Parses a stored identifier.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "connected" => Some(ConnectionState::Connected),
            "needs_reauth" => Some(ConnectionState::NeedsReauth),
            "disconnected" => Some(ConnectionState::Disconnected),
            _ => None,
        }
    }
}

/// A stored connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionRow {
    pub id: i64,
    pub name: String,
    pub provider: Provider,
    pub base_url: Option<String>,
    pub tenant_id: Option<String>,
    pub tenant_name: Option<String>,
    pub status: ConnectionState,
    /// Granted scopes, space-separated as OAuth writes them.
    pub scopes: String,
    pub keychain_account: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub last_sync_at: Option<String>,
}

/// What is needed to create a connection.
#[derive(Debug, Clone)]
pub struct NewConnection<'a> {
    pub name: &'a str,
    pub provider: Provider,
    pub base_url: Option<&'a str>,
    pub tenant_id: Option<&'a str>,
    pub tenant_name: Option<&'a str>,
    pub scopes: &'a str,
    pub keychain_account: Option<&'a str>,
}

const COLUMNS: &str = "id, name, provider, base_url, tenant_id, tenant_name, status, scopes, keychain_account, created_at, updated_at, last_sync_at";

fn text_error(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<ConnectionRow> {
    let provider: String = row.get(2)?;
    let status: String = row.get(6)?;
    Ok(ConnectionRow {
        id: row.get(0)?,
        name: row.get(1)?,
        provider: provider.parse().map_err(|e: concord_core::provider::UnknownProvider| text_error(2, e.to_string()))?,
        base_url: row.get(3)?,
        tenant_id: row.get(4)?,
        tenant_name: row.get(5)?,
        status: ConnectionState::parse(&status).ok_or_else(|| text_error(6, format!("unknown connection status {status:?}")))?,
        scopes: row.get(7)?,
        keychain_account: row.get(8)?,
        created_at: row.get(9)?,
        updated_at: row.get(10)?,
        last_sync_at: row.get(11)?,
    })
}

/// Creates a connection; a duplicate name is refused with a message saying so.
pub fn insert(conn: &Connection, new: &NewConnection<'_>, now: &str) -> Result<i64> {
    let result = conn.execute(
        "INSERT INTO connections (name, provider, base_url, tenant_id, tenant_name, scopes, keychain_account, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            new.name.trim(),
            new.provider.as_str(),
            new.base_url,
            new.tenant_id,
            new.tenant_name,
            new.scopes,
            new.keychain_account,
            now
        ],
    );
    match result {
        Ok(_) => Ok(conn.last_insert_rowid()),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => Err(
            StoreError::Invalid(format!("a connection named {:?} already exists; choose another name", new.name.trim())),
        ),
        Err(e) => Err(e.into()),
    }
}

/// Every connection, by name.
pub fn list(conn: &Connection) -> Result<Vec<ConnectionRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM connections ORDER BY name"))?;
    let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The connection called `name`.
pub fn by_name(conn: &Connection, name: &str) -> Result<ConnectionRow> {
    let found = conn
        .query_row(&format!("SELECT {COLUMNS} FROM connections WHERE name = ?1"), [name], from_row)
        .optional()?;
    found.ok_or_else(|| StoreError::NotFound(format!("connection {name:?}")))
}

/// Changes a connection's status (for example to `needs_reauth` after invalid_grant).
pub fn set_status(conn: &Connection, id: i64, status: ConnectionState, now: &str) -> Result<()> {
    let n = conn.execute(
        "UPDATE connections SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, status.as_str(), now],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("connection #{id}")));
    }
    Ok(())
}

/// Records that a connection finished a sync without errors at `now`.
pub fn set_last_sync(conn: &Connection, id: i64, now: &str) -> Result<()> {
    conn.execute("UPDATE connections SET last_sync_at = ?2 WHERE id = ?1", params![id, now])?;
    Ok(())
}

/// The connection with row id `id`.
pub fn by_id(conn: &Connection, id: i64) -> Result<ConnectionRow> {
    let found = conn.query_row(&format!("SELECT {COLUMNS} FROM connections WHERE id = ?1"), [id], from_row).optional()?;
    found.ok_or_else(|| StoreError::NotFound(format!("connection #{id}")))
}

/// Records a new grant on an existing connection (reconnecting keeps its id, so its
/// bookmarks and records stay attached) and marks it connected.
pub fn record_grant(conn: &Connection, id: i64, grant: &NewConnection<'_>, now: &str) -> Result<()> {
    let n = conn.execute(
        "UPDATE connections SET base_url = ?2, tenant_id = ?3, tenant_name = ?4, scopes = ?5, keychain_account = ?6,
                status = 'connected', updated_at = ?7 WHERE id = ?1",
        params![id, grant.base_url, grant.tenant_id, grant.tenant_name, grant.scopes, grant.keychain_account, now],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("connection #{id}")));
    }
    Ok(())
}

/// Marks a connection disconnected and forgets its keychain entry's name; its data stays.
pub fn mark_disconnected(conn: &Connection, id: i64, now: &str) -> Result<()> {
    let n = conn.execute(
        "UPDATE connections SET status = 'disconnected', keychain_account = NULL, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("connection #{id}")));
    }
    Ok(())
}

/// Deletes a connection and, through ON DELETE CASCADE, every record, bookmark and outbox row it owns.
pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    let n = conn.execute("DELETE FROM connections WHERE id = ?1", [id])?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("connection #{id}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn new(name: &str) -> NewConnection<'_> {
        NewConnection {
            name,
            provider: Provider::Xero,
            base_url: None,
            tenant_id: Some("t-1"),
            tenant_name: Some("Acme Wholesale"),
            scopes: "accounting.contacts offline_access",
            keychain_account: Some("conn-1"),
        }
    }

    #[test]
    fn insert_list_and_status_round_trip() {
        let store = Store::open_in_memory().unwrap();
        let id = insert(store.conn(), &new("Books"), "2026-11-23T00:00:00.000Z").unwrap();
        set_status(store.conn(), id, ConnectionState::NeedsReauth, "2026-11-23T01:00:00.000Z").unwrap();
        let rows = list(store.conn()).unwrap();
        assert_eq!(rows.len(), 1, "exactly the one inserted connection must be listed");
        assert_eq!(rows[0].provider, Provider::Xero, "the provider must survive the round trip");
        assert_eq!(rows[0].status, ConnectionState::NeedsReauth, "a status change must be persisted");
        assert_eq!(rows[0].updated_at, "2026-11-23T01:00:00.000Z", "updated_at must follow the status change");
    }

    #[test]
    fn duplicate_names_are_refused_clearly() {
        let store = Store::open_in_memory().unwrap();
        insert(store.conn(), &new("Books"), "2026-11-23T00:00:00.000Z").unwrap();
        let err = insert(store.conn(), &new("Books"), "2026-11-23T00:00:00.000Z").unwrap_err();
        assert!(err.to_string().contains("already exists"), "the user must be told why, got: {err}");
    }
}
