//! Build script: generates Tauri's context and one permission per Concord command.
//!
//! Declaring the commands in the app manifest makes Tauri refuse any command the
//! capability files do not list, so the window can reach only what it uses.

/// Every command the desktop app exposes; src/commands.rs registers the same list.
const COMMANDS: &[&str] = &[
    "app_info",
    "audit_verify",
    "audit_entries",
    "list_connections",
    "connect_account",
    "disconnect_account",
    "sync_status",
    "sync_now",
    "cancel_operation",
    "run_matching",
    "links",
    "decide_link",
    "conflicts",
    "conflict_page",
    "discrepancies",
    "reconciliation_months",
    "report_kinds",
    "report_save_path",
    "export_report",
    "decide_conflict",
    "apply_rule",
    "undo_decision",
    "push_plan",
    "push_now",
    "outbox",
    "outbox_retry",
    "undo_push",
];

fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)))
        .expect("tauri build configuration is invalid: check tauri.conf.json and capabilities/");
}
