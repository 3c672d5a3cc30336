//! Syncing a workspace's connections, and what the status screen shows about them.
//!
//! [`Workspace::sync`] pulls the named connections (all when none are named)
//! through `concord_sync`, reporting progress to a callback as it goes (the
//! desktop app forwards each [`SyncProgress`] as a Tauri event; the CLI draws
//! progress bars) and returning one [`SyncStreamResult`] per stream, failed
//! ones included. [`Workspace::sync_status`] reads, per connection, the last
//! successful sync, records per stream, data freshness, errors, drift warnings
//! and whether the connection needs re-authorisation. Credentials come from
//! the caller (the connect layer's keychain, or a token from the environment)
//! so this module never sees where secrets are kept.

use crate::error::{ApiError, ErrorCode, Result};
use crate::json::ConnectionStatus;
use crate::workspace::Workspace;
use concord_core::{Credentials, Provider};
use concord_store::connection::{self, ConnectionState};
use concord_store::{raw_record, sync_run};
use concord_sync::providers::spec_for;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use ts_rs::TS;

/// One schema-drift finding as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DriftWarning {
    pub stream: String,
    /// `renamed`, `vanished`, `type_changed` or `new_field`.
    pub kind: String,
    /// The field concerned.
    pub field: String,
    pub detail: String,
    pub count: i32,
    /// Up to three record ids where it was seen.
    pub examples: Vec<String>,
}

/// How one stream's sync went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncStreamResult {
    pub connection: String,
    pub provider: Provider,
    pub stream: String,
    pub ok: bool,
    pub needs_reauth: bool,
    /// Records received.
    pub records: i32,
    /// Records new or changed in the store.
    pub changed: i32,
    pub pages: i32,
    pub error: Option<String>,
    pub drift: Vec<DriftWarning>,
}

/// A progress event for the app's progress bars (sent as the `sync-progress` event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncProgress {
    pub connection: String,
    pub provider: Provider,
    pub stream: String,
    /// `started`, `page`, `finished` or `failed`.
    pub phase: String,
    pub records: i32,
    pub pages: i32,
    pub rate_limit_waits: i32,
    pub rate_limit_wait_ms: i32,
    pub remaining_estimate: Option<i32>,
    pub eta_seconds: Option<f64>,
    pub error: Option<String>,
}

/// One stream of a connection on the status screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct StreamStatus {
    pub stream: String,
    /// Records stored.
    pub records: i32,
    /// The newest last-modified time among them (how fresh the data is).
    pub freshest: Option<String>,
    pub last_run_at: Option<String>,
    pub last_success_at: Option<String>,
    /// `never`, `running` (or interrupted), `ok`, `failed`, `needs_reauth`.
    pub status: String,
    pub error: Option<String>,
    pub drift: Vec<DriftWarning>,
}

/// A connection on the status screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConnectionSyncStatus {
    pub name: String,
    pub provider: Provider,
    pub status: ConnectionStatus,
    pub needs_reauth: bool,
    pub last_successful_sync: Option<String>,
    pub streams: Vec<StreamStatus>,
}

/// How to sync: pacing and scope. The defaults suit real providers.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub rate_limits: bool,
    /// Provider seconds per real second (a time-scaled sandbox).
    pub time_scale: f64,
    pub page_size: Option<usize>,
    /// Only these streams.
    pub streams: Option<Vec<String>>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions { rate_limits: true, time_scale: 1.0, page_size: None, streams: None }
    }
}

/// Finds the credentials of a connection (by name and provider); `None` when it has none.
pub type CredentialLookup = dyn Fn(&str, Provider) -> Option<Arc<dyn Credentials>> + Send + Sync;

fn clamp(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn warning(f: concord_sync::DriftFinding) -> DriftWarning {
    let kind = serde_json::to_value(f.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    DriftWarning { stream: f.stream, kind, field: f.field, detail: f.detail, count: clamp(f.count), examples: f.examples }
}

/// Converts an engine progress event for the app.
pub fn progress_event(p: &concord_sync::Progress) -> SyncProgress {
    SyncProgress {
        connection: p.connection.clone(),
        provider: p.provider,
        stream: p.stream.clone(),
        phase: serde_json::to_value(p.phase).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
        records: clamp(p.records),
        pages: clamp(p.pages),
        rate_limit_waits: clamp(p.rate_limit_waits),
        rate_limit_wait_ms: clamp(p.rate_limit_wait_ms),
        remaining_estimate: p.remaining_estimate.map(clamp),
        eta_seconds: p.eta_seconds,
        error: p.error.clone(),
    }
}

impl Workspace {
    /// Syncs the connections named (all when `names` is empty); every stream's
    /// outcome is returned, so one failed stream never hides the others.
    pub async fn sync(
        &self,
        names: &[String],
        credentials: &CredentialLookup,
        options: &SyncOptions,
        progress: &(dyn Fn(SyncProgress) + Send + Sync),
    ) -> Result<Vec<SyncStreamResult>> {
        let mut targets = Vec::new();
        for row in self.sync_candidates(names)? {
            let creds = credentials(&row.name, row.provider).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidInput, format!("connection {:?} has no credentials; connect it again (or set its token variable)", row.name))
            })?;
            let base_url = row.base_url.clone().ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidInput, format!("connection {:?} has no API address recorded; connect it again", row.name))
            })?;
            targets.push(concord_sync::Target {
                connection_id: row.id,
                name: row.name,
                provider: row.provider,
                base_url,
                tenant_id: row.tenant_id,
                credentials: creds,
            });
        }
        self.run_targets(targets, options, progress).await
    }

    /// Syncs the connections named (all when `names` is empty) with the
    /// credentials their connect step stored in the OS keychain. A connection
    /// that needs re-authorisation is reported as a failed result and the
    /// others still run.
    pub async fn sync_connected(
        &self,
        names: &[String],
        options: &SyncOptions,
        progress: &(dyn Fn(SyncProgress) + Send + Sync),
    ) -> Result<Vec<SyncStreamResult>> {
        let mut targets = Vec::new();
        let mut refused = Vec::new();
        for row in self.sync_candidates(names)? {
            match self.credentials(&row.name).await {
                Ok(access) => targets.push(concord_sync::Target {
                    connection_id: row.id,
                    name: row.name,
                    provider: row.provider,
                    base_url: access.api_base,
                    tenant_id: access.tenant_id.or(row.tenant_id),
                    credentials: access.credentials,
                }),
                Err(err) => refused.push(SyncStreamResult {
                    connection: row.name,
                    provider: row.provider,
                    stream: "(all streams)".to_string(),
                    ok: false,
                    needs_reauth: err.code == ErrorCode::NeedsReauth,
                    records: 0,
                    changed: 0,
                    pages: 0,
                    error: Some(err.message),
                    drift: Vec::new(),
                }),
            }
        }
        let mut results = self.run_targets(targets, options, progress).await?;
        results.extend(refused);
        Ok(results)
    }

    /// The connections `names` selects (all when empty), minus disconnected ones;
    /// a name that matches no connection is an error rather than a silent no-op.
    fn sync_candidates(&self, names: &[String]) -> Result<Vec<connection::ConnectionRow>> {
        let rows = connection::list(self.store().conn())?;
        if let Some(n) = names.iter().find(|n| !rows.iter().any(|r| &r.name == *n)) {
            return Err(ApiError::new(ErrorCode::NotFound, format!("no connection named {n:?}; `concord status` lists them")));
        }
        Ok(rows
            .into_iter()
            .filter(|r| (names.is_empty() || names.contains(&r.name)) && r.status != ConnectionState::Disconnected)
            .collect())
    }

    async fn run_targets(
        &self,
        targets: Vec<concord_sync::Target>,
        options: &SyncOptions,
        progress: &(dyn Fn(SyncProgress) + Send + Sync),
    ) -> Result<Vec<SyncStreamResult>> {
        let engine_options = concord_sync::Options {
            rate_limits: options.rate_limits,
            time_scale: options.time_scale,
            page_size: options.page_size,
            streams: options.streams.clone(),
            ..Default::default()
        };
        let sink = |p: concord_sync::Progress| progress(progress_event(&p));
        let reports = concord_sync::sync(self.store_lock(), self.clock(), &targets, &engine_options, &sink).await;
        Ok(reports
            .into_iter()
            .map(|r| SyncStreamResult {
                connection: r.connection,
                provider: r.provider,
                stream: r.stream,
                ok: r.ok,
                needs_reauth: r.needs_reauth,
                records: clamp(r.records),
                changed: clamp(r.changed),
                pages: clamp(r.pages),
                error: r.error,
                drift: r.drift.into_iter().map(warning).collect(),
            })
            .collect())
    }

    /// Per connection: last successful sync, records per stream, freshness, errors, drift, re-authorisation.
    pub fn sync_status(&self) -> Result<Vec<ConnectionSyncStatus>> {
        let store = self.store();
        let conn = store.conn();
        let mut out = Vec::new();
        for row in connection::list(conn)? {
            let runs = sync_run::latest(conn, row.id)?;
            let mut streams = Vec::new();
            for s in spec_for(row.provider).streams {
                let run = runs.iter().find(|r| r.stream == s.name);
                let drift: Vec<concord_sync::DriftFinding> = run.and_then(|r| serde_json::from_str(&r.drift).ok()).unwrap_or_default();
                streams.push(StreamStatus {
                    stream: s.name.to_string(),
                    records: clamp(raw_record::count(conn, row.id, s.name)?.max(0) as u64),
                    freshest: raw_record::newest_update(conn, row.id, s.name)?,
                    last_run_at: run.map(|r| r.started_at.clone()),
                    last_success_at: sync_run::last_ok(conn, row.id, s.name)?,
                    status: run.map(|r| r.status.clone()).unwrap_or_else(|| "never".into()),
                    error: run.and_then(|r| r.error.clone()),
                    drift: drift.into_iter().map(warning).collect(),
                });
            }
            let status = match row.status {
                ConnectionState::Connected => ConnectionStatus::Connected,
                ConnectionState::NeedsReauth => ConnectionStatus::NeedsReauth,
                ConnectionState::Disconnected => ConnectionStatus::Disconnected,
            };
            out.push(ConnectionSyncStatus {
                name: row.name,
                provider: row.provider,
                status,
                needs_reauth: row.status == ConnectionState::NeedsReauth,
                last_successful_sync: row.last_sync_at,
                streams,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::FixedClock;

    #[test]
    fn status_lists_every_stream_of_a_new_connection_as_never_synced() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init(dir.path(), Arc::new(FixedClock::at("2026-11-23T09:30:00Z").unwrap()), "test").unwrap();
        {
            let store = ws.store();
            let new = connection::NewConnection {
                name: "Books",
                provider: Provider::Xero,
                base_url: Some("http://127.0.0.1:1/xero"),
                tenant_id: Some("t"),
                tenant_name: None,
                scopes: "",
                keychain_account: None,
            };
            connection::insert(store.conn(), &new, "2026-11-23T09:30:00.000Z").unwrap();
        }
        let status = ws.sync_status().unwrap();
        assert_eq!(status.len(), 1, "the one connection must be listed");
        let names: Vec<&str> = status[0].streams.iter().map(|s| s.stream.as_str()).collect();
        assert_eq!(names, ["contacts", "invoices", "payments", "credit_notes"], "every Xero stream must be shown");
        assert!(status[0].streams.iter().all(|s| s.status == "never" && s.records == 0), "nothing has been synced yet");
    }
}
