/**
 * An in-memory `Backend` for Vitest and for running the UI in a plain browser
 * (`npm run dev`), where there is no Tauri and no Rust.
 *
 * It follows the same rules as the real commands (newest first, `limit`,
 * `beforeId` paging, case-insensitive text filter, rejections as `ApiError`) so
 * screens tested against it behave the same against Rust. Its sample data exists
 * only here; the header says "Browser preview" whenever it is in use.
 */
import type { Backend } from "./contract";
import type {
  ApiError,
  AppInfo,
  AuditEntry,
  AuditFault,
  AuditFilter,
  ConnectionSummary,
} from "./types";

export type BackendMethod = keyof Backend;

export interface MockBackendOptions {
  appInfo?: Partial<AppInfo>;
  entries?: AuditEntry[];
  connections?: ConnectionSummary[];
  /** When set, `auditVerify` reports the chain broken at this entry. */
  fault?: AuditFault | null;
  /** Make a method reject with the given error. */
  failures?: Partial<Record<BackendMethod, ApiError>>;
  /** Delay before every answer, to see loading states by eye. */
  latencyMs?: number;
}

const SAMPLE_ACTIONS: Array<[actor: string, action: string, subject: string, detail: object]> = [
  ["concord", "workspace.open", "workspace", { schemaVersion: 1 }],
  ["bookkeeper", "connection.add", "connection:1", { provider: "hubspot", name: "Sales CRM" }],
  ["bookkeeper", "connection.add", "connection:2", { provider: "shopify", name: "Online shop" }],
  ["bookkeeper", "connection.add", "connection:3", { provider: "xero", name: "Books" }],
  ["concord", "sync.fetch", "connection:1", { provider: "hubspot", contacts: 42 }],
  ["concord", "sync.fetch", "connection:2", { provider: "shopify", orders: 17 }],
  ["concord", "sync.plan", "plan:1", { changes: 3 }],
  ["bookkeeper", "plan.approve", "plan:1", { changes: 3 }],
  ["concord", "sync.apply", "plan:1", { applied: 3, failed: 0 }],
];

/** Deterministic sample entries, oldest first by id, one every 7 minutes. */
export function sampleEntries(count = 36): AuditEntry[] {
  const start = Date.UTC(2026, 10, 23, 0, 5, 0);
  return Array.from({ length: count }, (_, index) => {
    const [actor, action, subject, detail] = SAMPLE_ACTIONS[index % SAMPLE_ACTIONS.length]!;
    return {
      id: index + 1,
      at: new Date(start + index * 7 * 60_000).toISOString().replace(".000Z", "Z"),
      actor,
      action,
      subject,
      // JSON text, as the store keeps it.
      detail: JSON.stringify(detail),
    };
  });
}

export function sampleConnections(): ConnectionSummary[] {
  return [
    {
      id: 1,
      name: "Sales CRM",
      provider: "hubspot",
      status: "connected",
      tenant: "portal 4410021",
      createdAt: "2026-11-23T00:12:00Z",
      lastSyncAt: "2026-11-23T03:40:00Z",
    },
    {
      id: 2,
      name: "Online shop",
      provider: "shopify",
      status: "needs_reauth",
      tenant: "example-shop.myshopify.com",
      createdAt: "2026-11-23T00:19:00Z",
      lastSyncAt: null,
    },
    {
      id: 3,
      name: "Books",
      provider: "xero",
      status: "connected",
      tenant: "Example Pty Ltd",
      createdAt: "2026-11-23T00:26:00Z",
      lastSyncAt: "2026-11-23T03:41:00Z",
    },
  ];
}

export function createMockBackend(options: MockBackendOptions = {}): Backend {
  const entries = options.entries ?? sampleEntries();
  const connections = options.connections ?? sampleConnections();
  const info: AppInfo = {
    version: "0.0.0-mock",
    workspace: "/browser-preview/workspace",
    schemaVersion: 1,
    auditEntries: entries.length,
    connections: connections.length,
    ...options.appInfo,
  };

  async function answer<T>(method: BackendMethod, produce: () => T): Promise<T> {
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    const failure = options.failures?.[method];
    if (failure) throw { ...failure };
    // A copy, so callers cannot change the mock's state by mutating results.
    return structuredClone(produce());
  }

  return {
    appInfo: () => answer("appInfo", () => info),
    auditEntries: (filter: AuditFilter) =>
      answer("auditEntries", () => filterEntries(entries, filter)),
    auditVerify: () =>
      answer("auditVerify", () => {
        const fault = options.fault ?? null;
        // Verification stops at the first broken row, as the Rust walk does.
        const rowsChecked = fault ? entries.filter((e) => e.id <= fault.rowId).length : entries.length;
        return { ok: fault === null, rowsChecked, fault };
      }),
    listConnections: () => answer("listConnections", () => connections),
    connectAccount: (request) =>
      answer("connectAccount", () => {
        const existing = connections.find((c) => c.name === request.name.trim());
        const summary: ConnectionSummary = {
          id: existing?.id ?? connections.length + 1,
          name: request.name.trim(),
          provider: request.provider,
          status: "connected",
          tenant: existing?.tenant ?? "Mock organisation",
          createdAt: existing?.createdAt ?? "2026-11-23T00:00:00Z",
          lastSyncAt: existing?.lastSyncAt ?? null,
        };
        if (existing) Object.assign(existing, summary);
        else connections.push(summary);
        return summary;
      }),
    disconnectAccount: (name, data) =>
      answer("disconnectAccount", () => {
        const index = connections.findIndex((c) => c.name === name);
        const found = connections[index];
        if (found && data === "delete") connections.splice(index, 1);
        else if (found) found.status = "disconnected";
      }),
  };
}

function filterEntries(entries: AuditEntry[], filter: AuditFilter): AuditEntry[] {
  const needle = filter.text?.trim().toLowerCase() ?? "";
  return entries
    .filter((entry) => filter.beforeId === null || entry.id < filter.beforeId)
    .filter(
      (entry) =>
        needle === "" ||
        [entry.actor, entry.action, entry.subject, entry.detail].some((field) =>
          field.toLowerCase().includes(needle),
        ),
    )
    .sort((a, b) => b.id - a.id)
    .slice(0, Math.max(0, filter.limit));
}

/**
 * Named situations for looking at the UI by hand: `npm run dev`, then open
 * `/?mock=broken-chain` (or empty, error, slow).
 */
export function mockScenario(name: string | null): MockBackendOptions {
  switch (name) {
    case "empty":
      return { entries: [], connections: [] };
    case "broken-chain":
      return { fault: { rowId: 7, reason: "hash does not match the previous entry" } };
    case "error":
      return {
        failures: {
          appInfo: { code: "workspace", message: "The workspace folder could not be opened." },
        },
      };
    case "slow":
      return { latencyMs: 1500 };
    default:
      return {};
  }
}
