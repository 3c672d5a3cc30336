/**
 * The one place the UI imports the Rust-generated types from.
 *
 * The files in src/bindings/ are written by ts-rs when the Rust tests run and are
 * never edited by hand; re-exporting them here means the rest of the UI does not
 * depend on their one-file-per-type layout (src/tidy.test.ts enforces this).
 */
export type { ApiError } from "../bindings/ApiError";
export type { AppInfo } from "../bindings/AppInfo";
export type { AuditEntry } from "../bindings/AuditEntry";
export type { AuditFault } from "../bindings/AuditFault";
export type { AuditFilter } from "../bindings/AuditFilter";
export type { AuditVerification } from "../bindings/AuditVerification";
export type { ConnectRequest } from "../bindings/ConnectRequest";
export type { ConnectionStatus } from "../bindings/ConnectionStatus";
export type { ConnectionSummary } from "../bindings/ConnectionSummary";
export type { ErrorCode } from "../bindings/ErrorCode";
export type { LocalData } from "../bindings/LocalData";
export type { Provider } from "../bindings/Provider";
