//! The types that cross to the UI, serialised in camelCase.
//!
//! TypeScript versions are generated into `ui/src/bindings/` by ts-rs whenever
//! the Rust tests run; the UI imports those and never declares its own copies.

use concord_core::Provider;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What the window shows in its header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AppInfo {
    /// Concord's version.
    pub version: String,
    /// The workspace folder.
    pub workspace: String,
    /// The store's schema version.
    pub schema_version: i32,
    /// How many audit entries the workspace holds.
    pub audit_entries: i32,
    /// How many connections it has.
    pub connections: i32,
}

/// Where the first break in the audit chain is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AuditFault {
    /// The entry at which the chain stops holding.
    pub row_id: i32,
    /// What is wrong there.
    pub reason: String,
}

/// The result of verifying the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AuditVerification {
    /// True when every entry is intact and none is missing.
    pub ok: bool,
    /// Entries checked before stopping.
    pub rows_checked: i32,
    /// The first break, when not ok.
    pub fault: Option<AuditFault>,
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AuditFilter {
    /// Text to look for in actor, action, subject or detail (case-insensitive).
    pub text: Option<String>,
    /// At most this many entries (capped at 1,000).
    pub limit: u32,
    /// Only entries older than this id, for paging.
    pub before_id: Option<i32>,
}

/// One audit entry as the Activity screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AuditEntry {
    pub id: i32,
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// JSON text.
    pub detail: String,
}

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ConnectionStatus {
    Connected,
    NeedsReauth,
    Disconnected,
}

/// A connection as the Connections screen lists it. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConnectionSummary {
    pub id: i32,
    pub name: String,
    pub provider: Provider,
    pub status: ConnectionStatus,
    /// The organisation, shop, realm or hub the connection reaches.
    pub tenant: Option<String>,
    pub created_at: String,
    pub last_sync_at: Option<String>,
}
