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
