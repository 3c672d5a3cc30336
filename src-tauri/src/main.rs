//! Concord's desktop window.
//!
//! This crate only wires Tauri to concord-api: it opens the workspace named by
//! `--workspace DIR`, `CONCORD_WORKSPACE` or the OS data directory, registers
//! the commands in [`commands`], and starts the window. If the workspace cannot
//! be opened, the window still starts and every command answers with that error,
//! so the bookkeeper sees what went wrong instead of a window that never opens.
//!
//! **Invariant:** this is the only crate that depends on Tauri.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;

use concord_api::{ApiError, ErrorCode, Workspace};
use concord_core::SystemClock;
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// mimalloc rather than glibc malloc: a sync allocates and frees millions of
/// small JSON values (ARCHITECTURE.md, concord-sync).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The workspace the window works on (or why it could not be opened), and the
/// long operations running now, each with the signal that cancels it.
pub struct Desktop {
    workspace: Result<Workspace, ApiError>,
    running: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Desktop {
    fn new(workspace: Result<Workspace, ApiError>) -> Desktop {
        Desktop { workspace, running: Mutex::new(HashMap::new()) }
    }

    /// The open workspace, or the error that kept it closed.
    pub fn workspace(&self) -> Result<&Workspace, ApiError> {
        self.workspace.as_ref().map_err(Clone::clone)
    }

    /// Runs `op` under the name `kind` until it ends (`Some`) or [`Desktop::cancel`]
    /// stops it (`None`). Stopping drops the future between awaits; sync and push
    /// commit each page or write in its own transaction, so what finished is kept.
    pub async fn cancellable<T>(&self, kind: &str, op: impl Future<Output = T>) -> Option<T> {
        let signal = Arc::new(Notify::new());
        self.running.lock().unwrap_or_else(|e| e.into_inner()).insert(kind.to_string(), signal.clone());
        let out = tokio::select! {
            value = op => Some(value),
            () = signal.notified() => None,
        };
        self.running.lock().unwrap_or_else(|e| e.into_inner()).remove(kind);
        out
    }

    /// Asks the operation named `kind` to stop; false when none is running.
    pub fn cancel(&self, kind: &str) -> bool {
        match self.running.lock().unwrap_or_else(|e| e.into_inner()).get(kind) {
            Some(signal) => {
                // notify_one keeps a permit, so a cancel that races the start still lands.
                signal.notify_one();
                true
            }
            None => false,
        }
    }
}

/// `CONCORD_E2E_SAVE_DIR/<file name>` when that variable names a folder, for saving without the
/// native dialog (which WebDriver cannot drive); only the file name's last part is used.
pub fn preset_save_path(file_name: &str) -> Option<String> {
    let dir = std::env::var_os("CONCORD_E2E_SAVE_DIR").filter(|d| !d.is_empty())?;
    let name = std::path::Path::new(file_name).file_name()?;
    Some(PathBuf::from(dir).join(name).display().to_string())
}

/// The workspace folder from the command line, the environment or the OS default.
fn workspace_dir(args: &[String]) -> Result<PathBuf, ApiError> {
    let mut it = args.iter().skip(1);
    while let Some(arg) = it.next() {
        if let Some(v) = arg.strip_prefix("--workspace=") {
            return Ok(PathBuf::from(v));
        }
        if arg == "--workspace" {
            return it
                .next()
                .map(PathBuf::from)
                .ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, "--workspace needs a folder after it"));
        }
    }
    match std::env::var_os("CONCORD_WORKSPACE") {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => concord_api::workspace::default_dir(),
    }
}

fn main() {
    concord_api::memory::release_freed_memory_promptly();
    let args: Vec<String> = std::env::args().collect();
    let workspace = workspace_dir(&args).and_then(|dir| Workspace::init(&dir, Arc::new(SystemClock), "app"));
    if let Err(err) = &workspace {
        eprintln!("concord: the workspace could not be opened: {}", err.message);
    }
    tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_dialog::init())
        .manage(Desktop::new(workspace))
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::audit_verify,
            commands::audit_entries,
            commands::list_connections,
            commands::connect_account,
            commands::disconnect_account,
            commands::sync_status,
            commands::sync_now,
            commands::cancel_operation,
            commands::run_matching,
            commands::links,
            commands::decide_link,
            commands::conflicts,
            commands::conflict_page,
            commands::discrepancies,
            commands::reconciliation_months,
            commands::report_kinds,
            commands::report_save_path,
            commands::export_report,
            commands::decide_conflict,
            commands::apply_rule,
            commands::undo_decision,
            commands::push_plan,
            commands::push_now,
            commands::outbox,
            commands::outbox_retry,
            commands::undo_push,
        ])
        .run(tauri::generate_context!())
        .unwrap_or_else(|err| {
            eprintln!("concord: the window could not start: {err}");
            std::process::exit(1);
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        std::iter::once("concord-desktop").chain(list.iter().copied()).map(String::from).collect()
    }

    #[test]
    fn every_command_is_registered_declared_and_granted() {
        use std::collections::BTreeSet;
        let registered: BTreeSet<&str> =
            include_str!("main.rs").lines().filter_map(|l| l.trim().strip_prefix("commands::")).map(|l| l.trim_end_matches(',')).collect();
        let build = include_str!("../build.rs");
        let list = &build[build.find("const COMMANDS").expect("build.rs lists COMMANDS")..];
        let declared: BTreeSet<&str> = list[..list.find("];").unwrap()].split('"').skip(1).step_by(2).collect();
        let capability: serde_json::Value = serde_json::from_str(include_str!("../capabilities/default.json")).unwrap();
        let granted: BTreeSet<String> = capability["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str()?.strip_prefix("allow-").map(|c| c.replace('-', "_")))
            .collect();
        assert!(registered.len() > 20, "the handler list was found in main.rs ({} commands)", registered.len());
        assert_eq!(registered, declared, "every registered command must be declared in build.rs, or Tauri refuses it");
        assert_eq!(declared.iter().map(|c| c.to_string()).collect::<BTreeSet<_>>(), granted, "the main window must be granted exactly the declared commands");
    }

    #[tokio::test]
    async fn cancel_stops_the_running_operation_and_only_it() {
        let desktop = Desktop::new(Err(ApiError::new(ErrorCode::Workspace, "no workspace in this test")));
        assert!(!desktop.cancel("sync"), "nothing runs yet, so there is nothing to cancel");
        let running = desktop.cancellable("sync", std::future::pending::<()>());
        let stopper = async {
            tokio::task::yield_now().await;
            desktop.cancel("sync")
        };
        let (outcome, accepted) = tokio::join!(running, stopper);
        assert!(accepted, "the sync was running, so the cancel must be accepted");
        assert_eq!(outcome, None, "a cancelled operation reports that it was cancelled, not a result");
        assert!(!desktop.cancel("sync"), "a finished operation is forgotten, so a late cancel does nothing");
        assert_eq!(desktop.cancellable("push", async { 7 }).await, Some(7), "an operation nobody cancels returns its result");
    }

    #[test]
    fn a_preset_save_folder_keeps_only_the_file_name() {
        std::env::set_var("CONCORD_E2E_SAVE_DIR", "/tmp/reports");
        assert_eq!(
            preset_save_path("../../etc/concord.csv").as_deref(),
            Some("/tmp/reports/concord.csv"),
            "a suggested name must not climb out of the folder the test chose"
        );
        std::env::remove_var("CONCORD_E2E_SAVE_DIR");
        assert_eq!(preset_save_path("concord.csv"), None, "without the variable the window must ask with the save dialog");
    }

    #[test]
    fn workspace_flag_wins_in_both_spellings() {
        assert_eq!(workspace_dir(&args(&["--workspace", "/tmp/a"])).unwrap(), PathBuf::from("/tmp/a"), "the separate-value form must be honoured");
        assert_eq!(workspace_dir(&args(&["--workspace=/tmp/b"])).unwrap(), PathBuf::from("/tmp/b"), "the = form must be honoured");
        assert_eq!(
            workspace_dir(&args(&["--workspace"])).unwrap_err().code,
            ErrorCode::InvalidInput,
            "a flag without its folder is a usage mistake, not a silent default"
        );
    }
}
