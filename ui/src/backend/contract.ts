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
  ConflictPage,
  ConflictView,
  ConnectionSummary,
  ConnectionSyncStatus,
  ConnectRequest,
  DiscrepancyView,
  LinkAction,
  LinkView,
  LocalData,
  MatchSummary,
  MonthSummary,
  OutboxEntry,
  PlannedWrite,
  PushProgress,
  PushRun,
  PushSummary,
  ReportKind,
  ReportKindInfo,
  ReportOptions,
  ReportSummary,
  SyncProgress,
  SyncRun,
} from "./types";

/** The long operations the window can cancel (`cancel_operation { kind }`). */
export type OperationKind = "sync" | "push";

/** Stops listening to a progress event. */
export type Unlisten = () => void;

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
  /** `sync_status`: per connection, last sync, records and freshness per stream, errors, drift. */
  syncStatus(): Promise<ConnectionSyncStatus[]>;
  /** `sync_now { names }`: syncs the named connections (all when empty); progress arrives through `onSyncProgress`. */
  syncNow(names: string[]): Promise<SyncRun>;
  /** Listens to the `sync://progress` event. */
  onSyncProgress(listener: (progress: SyncProgress) => void): Promise<Unlisten>;
  /** `cancel_operation { kind }`: stops a running sync or push; false when none runs. */
  cancelOperation(kind: OperationKind): Promise<boolean>;
  /** `run_matching`: links records, finds conflicts and discrepancies again (decisions are kept). */
  runMatching(): Promise<MatchSummary>;
  /** `links { state, entity }`: stored links, optionally one state and one entity (`party`, `document`). */
  links(state: string | null, entity: string | null): Promise<LinkView[]>;
  /** `decide_link { left, right, action }`: confirm, reject, link or unlink two records by key. */
  decideLink(left: string, right: string, action: LinkAction): Promise<LinkView>;
  /** `conflicts { status }`: field conflicts, optionally in one status (`open`, `decided`, ...). */
  conflicts(status: string | null): Promise<ConflictView[]>;
  /** `conflict_page { status, offset, limit }`: conflicts sorted by entity key and id, one page of them, with the total. */
  conflictPage(status: string | null, offset: number, limit: number): Promise<ConflictPage>;
  /** `discrepancies`: money and record discrepancies, most severe first. */
  discrepancies(): Promise<DiscrepancyView[]>;
  /** `reconciliation_months`: sales per month, matched, mismatched and missing. */
  reconciliationMonths(): Promise<MonthSummary[]>;
  /** `report_kinds`: the reports the Reports screen offers, each with a file name to suggest. */
  reportKinds(): Promise<ReportKindInfo[]>;
  /**
   * Where to save a report: the path `report_save_path { fileName }` presets (end-to-end tests),
   * else the one the person picks in the native save dialog (tauri-plugin-dialog); null when they cancel.
   */
  chooseReportPath(fileName: string): Promise<string | null>;
  /** `export_report { kind, path, options }`: writes the CSV, replacing `path` only once it is complete. */
  exportReport(kind: ReportKind, path: string, options: ReportOptions): Promise<ReportSummary>;
  /** `decide_conflict { conflictId, choice: { winner, value } }`: the winning record's key, or null with a typed `value`. */
  decideConflict(id: number, winner: string | null, value: string | null): Promise<void>;
  /** `apply_rule { field, system, scope: "undecided" }`: `system` wins `field` in every undecided conflict where it has a value; returns how many were decided. */
  applyRule(field: string, system: string): Promise<number>;
  /** `undo_decision { conflictId }`: takes back the choice on one conflict (before it is pushed). */
  undoDecision(id: number): Promise<void>;
  /** `push_plan`: every write the decisions in force will make (old value to new), and the ones that cannot be made, with why. */
  pushPlan(): Promise<PlannedWrite[]>;
  /** `push_now`: makes those writes; progress arrives through `onPushProgress`; `cancelOperation("push")` stops it. */
  pushNow(): Promise<PushRun>;
  /** Listens to the `push://progress` event (pushes, retries and undos). */
  onPushProgress(listener: (progress: PushProgress) => void): Promise<Unlisten>;
  /** `outbox { state }`: writes recorded in the outbox, optionally in one state (`dead`, `verified`, ...). */
  outbox(state: string | null): Promise<OutboxEntry[]>;
  /** `outbox_retry { id }`: puts a dead write back in line and sends it. */
  outboxRetry(id: number): Promise<PushSummary>;
  /** `undo_push { conflictId }`: writes the values a push replaced back to what they were. */
  undoPush(conflictId: number): Promise<PushSummary>;
}

/** Which implementation is running, so the UI can say when data is not real. */
export type BackendKind = "tauri" | "mock";
