//! The Tauri commands: each is one call into concord-api.
//!
//! Commands are `async` so Tauri runs them off the main thread and a slow disk
//! never freezes the window. Errors cross as [`ApiError`] (code + message).

use crate::Desktop;
use concord_api::json::{AppInfo, AuditEntry, AuditFilter, AuditVerification, ConnectionSummary};
use concord_api::matching::{ConflictView, DiscrepancyView, LinkAction, LinkView, MatchSummary};
use concord_api::sync::{ConnectionSyncStatus, SyncOptions, SyncProgress};
use concord_api::report::{ReportKind, ReportKindInfo, ReportOptions, ReportSummary};
use concord_api::push::{Choice, OutboxEntry, PlannedWrite, PushProgress, PushSummary, RuleScope};
use concord_api::views::{ConflictPage, MonthSummary, PushRun, SyncRun};
use concord_api::ApiError;
use tauri::{AppHandle, Emitter, State};

#[tauri::command]
pub async fn app_info(desktop: State<'_, Desktop>) -> Result<AppInfo, ApiError> {
    desktop.workspace()?.app_info()
}

#[tauri::command]
pub async fn audit_verify(desktop: State<'_, Desktop>) -> Result<AuditVerification, ApiError> {
    desktop.workspace()?.audit_verify()
}

#[tauri::command]
pub async fn audit_entries(desktop: State<'_, Desktop>, filter: AuditFilter) -> Result<Vec<AuditEntry>, ApiError> {
    desktop.workspace()?.audit_entries(&filter)
}

#[tauri::command]
pub async fn list_connections(desktop: State<'_, Desktop>) -> Result<Vec<ConnectionSummary>, ApiError> {
    desktop.workspace()?.list_connections()
}

/// Opens the sign-in page in the system browser through tauri-plugin-opener.
struct AppBrowser(tauri::AppHandle);

impl concord_connect::Opener for AppBrowser {
    fn open<'a>(&'a self, url: &'a str) -> concord_connect::flow::OpenFuture<'a> {
        use tauri_plugin_opener::OpenerExt;
        Box::pin(async move { self.0.opener().open_url(url, None::<&str>).map_err(|e| e.to_string()) })
    }
}

#[tauri::command]
pub async fn connect_account(
    app: tauri::AppHandle,
    desktop: State<'_, Desktop>,
    request: concord_api::connect::ConnectRequest,
) -> Result<ConnectionSummary, ApiError> {
    desktop.workspace()?.connect(&request, &AppBrowser(app), &|_| {}).await
}

#[tauri::command]
pub async fn disconnect_account(desktop: State<'_, Desktop>, name: String, data: concord_api::connect::LocalData) -> Result<(), ApiError> {
    desktop.workspace()?.disconnect(&name, data).await
}

#[tauri::command]
pub async fn sync_status(desktop: State<'_, Desktop>) -> Result<Vec<ConnectionSyncStatus>, ApiError> {
    desktop.workspace()?.sync_status()
}

/// Syncs the named connections (all when empty), emitting each [`SyncProgress`] as
/// `sync://progress`; `cancel_operation("sync")` stops it.
#[tauri::command]
pub async fn sync_now(app: AppHandle, desktop: State<'_, Desktop>, names: Vec<String>) -> Result<SyncRun, ApiError> {
    let emit = move |p: SyncProgress| drop(app.emit("sync://progress", p));
    let run = desktop.cancellable("sync", desktop.workspace()?.sync_connected(&names, &SyncOptions::default(), &emit)).await;
    Ok(match run {
        Some(results) => SyncRun { cancelled: false, results: results? },
        None => SyncRun { cancelled: true, results: Vec::new() },
    })
}

/// Stops the long operation `kind` (`sync`, `push`, `match`); false when none runs.
#[tauri::command]
pub async fn cancel_operation(desktop: State<'_, Desktop>, kind: String) -> Result<bool, ApiError> {
    Ok(desktop.cancel(&kind))
}

#[tauri::command]
pub async fn run_matching(desktop: State<'_, Desktop>) -> Result<MatchSummary, ApiError> {
    desktop.workspace()?.run_matching()
}

#[tauri::command]
pub async fn links(desktop: State<'_, Desktop>, state: Option<String>, entity: Option<String>) -> Result<Vec<LinkView>, ApiError> {
    desktop.workspace()?.links(state.as_deref(), entity.as_deref())
}

#[tauri::command]
pub async fn decide_link(desktop: State<'_, Desktop>, left: String, right: String, action: LinkAction) -> Result<LinkView, ApiError> {
    desktop.workspace()?.decide_link(&left, &right, action)
}

#[tauri::command]
pub async fn conflicts(desktop: State<'_, Desktop>, status: Option<String>) -> Result<Vec<ConflictView>, ApiError> {
    desktop.workspace()?.conflicts(status.as_deref())
}

#[tauri::command]
pub async fn conflict_page(desktop: State<'_, Desktop>, status: Option<String>, offset: u32, limit: u32) -> Result<ConflictPage, ApiError> {
    desktop.workspace()?.conflict_page(status.as_deref(), offset, limit)
}

#[tauri::command]
pub async fn discrepancies(desktop: State<'_, Desktop>) -> Result<Vec<DiscrepancyView>, ApiError> {
    desktop.workspace()?.discrepancies()
}

#[tauri::command]
pub async fn reconciliation_months(desktop: State<'_, Desktop>) -> Result<Vec<MonthSummary>, ApiError> {
    desktop.workspace()?.reconciliation_months()
}

#[tauri::command]
pub async fn report_kinds(desktop: State<'_, Desktop>) -> Result<Vec<ReportKindInfo>, ApiError> {
    desktop.workspace()?.report_kinds()
}

/// Where to save a report without asking: `CONCORD_E2E_SAVE_DIR/<file name>` when that variable
/// is set (the end-to-end test, which cannot drive the native dialog), otherwise `None` and the
/// window opens the save dialog.
#[tauri::command]
pub async fn report_save_path(file_name: String) -> Result<Option<String>, ApiError> {
    Ok(crate::preset_save_path(&file_name))
}

#[tauri::command]
pub async fn export_report(desktop: State<'_, Desktop>, kind: ReportKind, path: String, options: ReportOptions) -> Result<ReportSummary, ApiError> {
    desktop.workspace()?.report(kind, std::path::Path::new(&path), &options)
}

#[tauri::command]
pub async fn decide_conflict(desktop: State<'_, Desktop>, conflict_id: i32, choice: Choice) -> Result<ConflictView, ApiError> {
    desktop.workspace()?.decide_conflict(conflict_id, &choice)
}

#[tauri::command]
pub async fn apply_rule(desktop: State<'_, Desktop>, field: String, system: String, scope: RuleScope) -> Result<i32, ApiError> {
    desktop.workspace()?.apply_rule(&field, &system, scope)
}

#[tauri::command]
pub async fn undo_decision(desktop: State<'_, Desktop>, conflict_id: i32) -> Result<ConflictView, ApiError> {
    desktop.workspace()?.undo_decision(conflict_id)
}

#[tauri::command]
pub async fn push_plan(desktop: State<'_, Desktop>) -> Result<Vec<PlannedWrite>, ApiError> {
    desktop.workspace()?.push_plan()
}

/// Pushes every decision in force, emitting each [`PushProgress`] as `push://progress`;
/// `cancel_operation("push")` stops it between writes.
#[tauri::command]
pub async fn push_now(app: AppHandle, desktop: State<'_, Desktop>) -> Result<PushRun, ApiError> {
    let emit = move |p: PushProgress| drop(app.emit("push://progress", p));
    let run = desktop.cancellable("push", desktop.workspace()?.push(&emit)).await;
    Ok(match run {
        Some(summary) => PushRun { cancelled: false, summary: Some(summary?) },
        None => PushRun { cancelled: true, summary: None },
    })
}

#[tauri::command]
pub async fn outbox(desktop: State<'_, Desktop>, state: Option<String>) -> Result<Vec<OutboxEntry>, ApiError> {
    desktop.workspace()?.outbox(state.as_deref())
}

#[tauri::command]
pub async fn outbox_retry(app: AppHandle, desktop: State<'_, Desktop>, id: i32) -> Result<PushSummary, ApiError> {
    desktop.workspace()?.outbox_retry(id, &move |p: PushProgress| drop(app.emit("push://progress", p))).await
}

#[tauri::command]
pub async fn undo_push(app: AppHandle, desktop: State<'_, Desktop>, conflict_id: i32) -> Result<PushSummary, ApiError> {
    desktop.workspace()?.undo_push(conflict_id, &move |p: PushProgress| drop(app.emit("push://progress", p))).await
}
