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
use std::path::PathBuf;
use std::sync::Arc;

/// The workspace the window works on, or why it could not be opened.
pub struct Desktop {
    workspace: Result<Workspace, ApiError>,
}

impl Desktop {
    /// The open workspace, or the error that kept it closed.
    pub fn workspace(&self) -> Result<&Workspace, ApiError> {
        self.workspace.as_ref().map_err(Clone::clone)
    }
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
    let args: Vec<String> = std::env::args().collect();
    let workspace = workspace_dir(&args).and_then(|dir| Workspace::init(&dir, Arc::new(SystemClock), "app"));
    if let Err(err) = &workspace {
        eprintln!("concord: the workspace could not be opened: {}", err.message);
    }
    tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .manage(Desktop { workspace })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::audit_verify,
            commands::audit_entries,
            commands::list_connections,
            commands::connect_account,
            commands::disconnect_account,
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
