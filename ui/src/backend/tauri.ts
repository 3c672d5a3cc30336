/**
 * The `Backend` over Tauri IPC: each method is one `invoke` of the command with
 * the same name in src-tauri.
 *
 * Command and argument names here are the contract with Rust. Tauri maps
 * top-level argument keys from camelCase to the Rust parameter names, and the
 * argument structs themselves are serialised by serde in camelCase.
 */
import { invoke, type InvokeArgs } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { save } from "@tauri-apps/plugin-dialog";
import type { Backend } from "./contract";
import { normaliseError } from "./error";
import type { PushProgress, SyncProgress } from "./types";

async function call<T>(command: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw normaliseError(error);
  }
}

export const tauriBackend: Backend = {
  appInfo: () => call("app_info"),
  auditEntries: (filter) => call("audit_entries", { filter }),
  auditVerify: () => call("audit_verify"),
  listConnections: () => call("list_connections"),
  connectAccount: (request) => call("connect_account", { request }),
  disconnectAccount: (name, data) => call("disconnect_account", { name, data }),
  syncStatus: () => call("sync_status"),
  syncNow: (names) => call("sync_now", { names }),
  onSyncProgress: (listener) => listen<SyncProgress>("sync://progress", (event) => listener(event.payload)),
  cancelOperation: (kind) => call("cancel_operation", { kind }),
  runMatching: () => call("run_matching"),
  links: (state, entity) => call("links", { state, entity }),
  decideLink: (left, right, action) => call("decide_link", { left, right, action }),
  conflicts: (status) => call("conflicts", { status }),
  conflictPage: (status, offset, limit) => call("conflict_page", { status, offset, limit }),
  discrepancies: () => call("discrepancies"),
  reconciliationMonths: () => call("reconciliation_months"),
  reportKinds: () => call("report_kinds"),
  chooseReportPath: async (fileName) => {
    const preset = await call<string | null>("report_save_path", { fileName });
    if (preset !== null) return preset;
    try {
      return await save({ defaultPath: fileName, filters: [{ name: "CSV (comma-separated values)", extensions: ["csv"] }] });
    } catch (error) {
      throw normaliseError(error);
    }
  },
  exportReport: (kind, path, options) => call("export_report", { kind, path, options }),
  decideConflict: (id, winner, value) => call("decide_conflict", { conflictId: id, choice: { winner, value } }).then(() => undefined),
  applyRule: (field, system) => call("apply_rule", { field, system, scope: "undecided" }),
  undoDecision: (id) => call("undo_decision", { conflictId: id }).then(() => undefined),
  pushPlan: () => call("push_plan"),
  pushNow: () => call("push_now"),
  onPushProgress: (listener) => listen<PushProgress>("push://progress", (event) => listener(event.payload)),
  outbox: (state) => call("outbox", { state }),
  outboxRetry: (id) => call("outbox_retry", { id }),
  undoPush: (conflictId) => call("undo_push", { conflictId }),
};
