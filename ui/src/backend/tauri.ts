/**
 * The `Backend` over Tauri IPC: each method is one `invoke` of the command with
 * the same name in src-tauri.
 *
 * Command and argument names here are the contract with Rust. Tauri maps
 * top-level argument keys from camelCase to the Rust parameter names, and the
 * argument structs themselves are serialised by serde in camelCase.
 */
import { invoke, type InvokeArgs } from "@tauri-apps/api/core";
import type { Backend } from "./contract";
import { normaliseError } from "./error";

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
};
