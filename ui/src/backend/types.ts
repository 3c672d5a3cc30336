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
export type { ConflictPage } from "../bindings/ConflictPage";
export type { ConflictValue } from "../bindings/ConflictValue";
export type { ConflictView } from "../bindings/ConflictView";
export type { ConnectionSyncStatus } from "../bindings/ConnectionSyncStatus";
export type { DiscrepancyView } from "../bindings/DiscrepancyView";
export type { DriftWarning } from "../bindings/DriftWarning";
export type { LinkAction } from "../bindings/LinkAction";
export type { LinkView } from "../bindings/LinkView";
export type { MatchSummary } from "../bindings/MatchSummary";
export type { MonthSummary } from "../bindings/MonthSummary";
export type { StreamStatus } from "../bindings/StreamStatus";
export type { SyncProgress } from "../bindings/SyncProgress";
export type { SyncRun } from "../bindings/SyncRun";
export type { SyncStreamResult } from "../bindings/SyncStreamResult";
export type { ReportAmount } from "../bindings/ReportAmount";
export type { ReportKind } from "../bindings/ReportKind";
export type { ReportKindInfo } from "../bindings/ReportKindInfo";
export type { ReportOptions } from "../bindings/ReportOptions";
export type { ReportSummary } from "../bindings/ReportSummary";
export type { ReportTotal } from "../bindings/ReportTotal";
export type { Choice } from "../bindings/Choice";
export type { OutboxEntry } from "../bindings/OutboxEntry";
export type { PlannedWrite } from "../bindings/PlannedWrite";
export type { PushProgress } from "../bindings/PushProgress";
export type { PushRun } from "../bindings/PushRun";
export type { PushSummary } from "../bindings/PushSummary";
export type { RuleScope } from "../bindings/RuleScope";
