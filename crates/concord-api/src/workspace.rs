//! A workspace: one folder holding a business's Concord data.
//!
//! The folder contains `concord.db` (the SQLite store). Secrets live in the OS
//! keychain, never here. A [`Workspace`] owns the store behind a mutex so the
//! desktop app can share it between command handlers, and the clock it is
//! given is the only source of "now" for everything it records.

use crate::error::{ApiError, ErrorCode, Result};
use crate::json::{AppInfo, AuditEntry, AuditFault, AuditFilter, AuditVerification, ConnectionStatus, ConnectionSummary};
use concord_core::{timestamp, Clock};
use concord_store::connection::ConnectionState;
use concord_store::{audit, connection, Store};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The database file's name inside a workspace folder.
pub const DATABASE_FILE: &str = "concord.db";

/// The largest page of audit entries one call returns.
pub const AUDIT_PAGE_MAX: u32 = 1_000;

/// An open workspace.
pub struct Workspace {
    dir: PathBuf,
    store: Mutex<Store>,
    clock: Arc<dyn Clock>,
    actor: String,
    /// Where connections' secrets live (the OS keychain; tests swap in memory).
    pub(crate) secrets: Arc<dyn concord_secret::SecretStore>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace").field("dir", &self.dir).field("actor", &self.actor).finish()
    }
}

/// The folder used when the user names none: the OS data directory's `Concord`.
pub fn default_dir() -> Result<PathBuf> {
    dirs::data_dir().map(|d| d.join("Concord")).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Workspace,
            "could not find this system's data directory (is $HOME set?); pass --workspace DIR to choose a folder",
        )
    })
}

fn io_error(action: &str, path: &Path, err: std::io::Error) -> ApiError {
    let hint = match err.kind() {
        std::io::ErrorKind::PermissionDenied => "check the folder's permissions or choose another with --workspace",
        _ => "check the path, or choose another folder with --workspace",
    };
    ApiError::new(ErrorCode::Io, format!("could not {action} {}: {err}; {hint}", path.display()))
}

impl Workspace {
    /// Opens the workspace in `dir`, creating the folder and its database when
    /// they do not exist yet. `actor` names who acts through this handle in the
    /// audit log ("cli", "app"). A new workspace records `workspace.init`.
    pub fn init(dir: &Path, clock: Arc<dyn Clock>, actor: &str) -> Result<Workspace> {
        std::fs::create_dir_all(dir).map_err(|e| io_error("create the workspace folder", dir, e))?;
        let db = dir.join(DATABASE_FILE);
        let created = !db.exists();
        let ws = Self::open_db(dir, &db, clock, actor)?;
        if created {
            ws.record("workspace.init", &dir.display().to_string(), serde_json::json!({ "schema": concord_store::migration::LATEST }))?;
        }
        Ok(ws)
    }

    /// Opens an existing workspace; a folder without a Concord database is refused.
    pub fn open(dir: &Path, clock: Arc<dyn Clock>, actor: &str) -> Result<Workspace> {
        let db = dir.join(DATABASE_FILE);
        if !db.is_file() {
            return Err(ApiError::new(
                ErrorCode::Workspace,
                format!("{} is not a Concord workspace (no {DATABASE_FILE}); run `concord init` first or pass another --workspace", dir.display()),
            ));
        }
        Self::open_db(dir, &db, clock, actor)
    }

    fn open_db(dir: &Path, db: &Path, clock: Arc<dyn Clock>, actor: &str) -> Result<Workspace> {
        let store = Store::open(db)?;
        Ok(Workspace {
            dir: dir.to_path_buf(),
            store: Mutex::new(store),
            clock,
            actor: actor.to_string(),
            secrets: Arc::new(concord_secret::Keychain),
        })
    }

    /// The workspace folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store's lock itself, for the sync engine, which takes it once per page.
    pub(crate) fn store_lock(&self) -> &Mutex<Store> {
        &self.store
    }

    /// The clock this workspace records time with.
    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave SQLite half-written (its
        // transactions roll back), so a poisoned lock is safe to reuse.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Who acts through this handle, as the audit log names them.
    pub(crate) fn actor(&self) -> &str {
        &self.actor
    }

    pub(crate) fn now(&self) -> String {
        timestamp::format(self.clock.now())
    }

    /// Appends an audit entry as this handle's actor.
    pub fn record(&self, action: &str, subject: &str, detail: serde_json::Value) -> Result<i64> {
        let now = self.now();
        let mut store = self.store();
        Ok(store.transaction(|tx| audit::append(tx, &audit::NewEntry { actor: &self.actor, action, subject, detail: &detail }, &now))?)
    }

    /// What the window's header shows.
    pub fn app_info(&self) -> Result<AppInfo> {
        let store = self.store();
        Ok(AppInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            workspace: self.dir.display().to_string(),
            schema_version: clamp(store.schema_version()?),
            audit_entries: clamp(audit::count(store.conn())?),
            connections: clamp(connection::list(store.conn())?.len() as i64),
        })
    }

    /// Walks the audit chain and reports the first break, if any.
    pub fn audit_verify(&self) -> Result<AuditVerification> {
        let v = audit::verify(self.store().conn())?;
        Ok(AuditVerification {
            ok: v.fault.is_none(),
            rows_checked: clamp(v.rows_checked),
            fault: v.fault.map(|f| AuditFault { row_id: clamp(f.row_id), reason: f.reason }),
        })
    }

    /// Audit entries, newest first.
    pub fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        if filter.limit == 0 {
            return Err(ApiError::new(ErrorCode::InvalidInput, "limit must be at least 1"));
        }
        let text = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let store = self.store();
        let rows = audit::list(
            store.conn(),
            &audit::Filter { text, before_id: filter.before_id.map(i64::from), limit: filter.limit.min(AUDIT_PAGE_MAX) },
        )?;
        Ok(rows
            .into_iter()
            .map(|e| AuditEntry { id: clamp(e.id), at: e.at, actor: e.actor, action: e.action, subject: e.subject, detail: e.detail })
            .collect())
    }

    /// Every connection, without secrets.
    pub fn list_connections(&self) -> Result<Vec<ConnectionSummary>> {
        let rows = connection::list(self.store().conn())?;
        Ok(rows
            .into_iter()
            .map(|c| ConnectionSummary {
                id: clamp(c.id),
                name: c.name,
                provider: c.provider,
                status: match c.status {
                    ConnectionState::Connected => ConnectionStatus::Connected,
                    ConnectionState::NeedsReauth => ConnectionStatus::NeedsReauth,
                    ConnectionState::Disconnected => ConnectionStatus::Disconnected,
                },
                tenant: c.tenant_name.or(c.tenant_id),
                created_at: c.created_at,
                last_sync_at: c.last_sync_at,
            })
            .collect())
    }
}

/// Row ids and counts cross to the UI as JavaScript numbers; they stay far below i32::MAX in practice.
fn clamp(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::FixedClock;

    fn clock() -> Arc<FixedClock> {
        Arc::new(FixedClock::at("2026-11-23T09:30:00Z").unwrap())
    }

    #[test]
    fn init_records_itself_once() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init(dir.path(), clock(), "test").unwrap();
        drop(ws);
        let ws = Workspace::init(dir.path(), clock(), "test").unwrap();
        let entries = ws.audit_entries(&AuditFilter { limit: 10, ..Default::default() }).unwrap();
        assert_eq!(entries.len(), 1, "re-opening an existing workspace must not log a second init");
        assert_eq!(entries[0].action, "workspace.init", "the first entry must record the workspace's creation");
        assert_eq!(entries[0].at, "2026-11-23T09:30:00.000Z", "the entry's time must come from the clock passed in");
    }

    #[test]
    fn open_refuses_a_folder_without_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let err = Workspace::open(dir.path(), clock(), "test").unwrap_err();
        assert_eq!(err.code, ErrorCode::Workspace, "a missing database is a workspace problem");
        assert!(err.message.contains("concord init"), "the message must say how to fix it: {}", err.message);
    }

    #[test]
    fn audit_filter_finds_by_text_and_pages() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init(dir.path(), clock(), "test").unwrap();
        for i in 0..5 {
            ws.record("test.event", &format!("subject {i}"), serde_json::json!({ "i": i })).unwrap();
        }
        let found = ws.audit_entries(&AuditFilter { text: Some("SUBJECT 3".into()), limit: 10, before_id: None }).unwrap();
        assert_eq!(found.len(), 1, "text search must be case-insensitive and specific");
        let page = ws.audit_entries(&AuditFilter { text: None, limit: 2, before_id: Some(4) }).unwrap();
        assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3, 2], "paging must continue below before_id, newest first");
        assert_eq!(
            ws.audit_entries(&AuditFilter { limit: 0, ..Default::default() }).unwrap_err().code,
            ErrorCode::InvalidInput,
            "a zero limit is a caller mistake"
        );
    }
}
