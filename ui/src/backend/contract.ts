/**
 * The `Backend` interface: one method per Tauri command the UI may call.
 *
 * Screens depend on this interface only. `tauriBackend` implements it over IPC,
 * `createMockBackend` in memory for tests and for `npm run dev` in a browser.
 * Every method rejects with an `ApiError` (see error.ts), never anything else.
 */
import type {
  AppInfo,
  AuditEntry,
  AuditFilter,
  AuditVerification,
  ConnectionSummary,
  ConnectRequest,
  LocalData,
} from "./types";

export interface Backend {
  /** `app_info`: versions and the open workspace, shown in the header. */
  appInfo(): Promise<AppInfo>;
  /** `audit_entries { filter }`: audit log entries, newest first. */
  auditEntries(filter: AuditFilter): Promise<AuditEntry[]>;
  /** `audit_verify`: re-hashes the audit chain and reports the first broken entry. */
  auditVerify(): Promise<AuditVerification>;
  /** `list_connections`: the provider connections stored in the workspace. */
  listConnections(): Promise<ConnectionSummary[]>;
  /** `connect_account { request }`: signs in (browser + loopback redirect) or checks a private-app token; an existing name reconnects. */
  connectAccount(request: ConnectRequest): Promise<ConnectionSummary>;
  /** `disconnect_account { name, data }`: removes the tokens from the keychain, keeping or deleting local data. */
  disconnectAccount(name: string, data: LocalData): Promise<void>;
}

/** Which implementation is running, so the UI can say when data is not real. */
export type BackendKind = "tauri" | "mock";
