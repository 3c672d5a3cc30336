//! The Tauri commands: each is one call into concord-api.
//!
//! Commands are `async` so Tauri runs them off the main thread and a slow disk
//! never freezes the window. Errors cross as [`ApiError`] (code + message).

use crate::Desktop;
use concord_api::json::{AppInfo, AuditEntry, AuditFilter, AuditVerification, ConnectionSummary};
use concord_api::ApiError;
use tauri::State;

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
