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
  ConflictView,
  ConnectionSummary,
  ConnectionSyncStatus,
  DiscrepancyView,
  LinkView,
  MonthSummary,
  OutboxEntry,
  PlannedWrite,
  PushProgress,
  ReportKindInfo,
  SyncProgress,
  SyncStreamResult,
} from "./types";
import type { Unlisten } from "./contract";

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
  conflicts?: ConflictView[];
  links?: LinkView[];
  discrepancies?: DiscrepancyView[];
  /** Writes whose record key is listed here fail and go to the dead letters on push. */
  deadRecords?: string[];
  /** Pause between mock push writes. */
  pushWriteMs?: number;
  /** Pages each stream reports while a mock sync runs (default 3), and the pause between them. */
  syncPages?: number;
  syncPageMs?: number;
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

const STREAMS: Record<string, string[]> = {
  hubspot: ["contacts", "companies"],
  shopify: ["customers", "orders", "refunds"],
  xero: ["contacts", "invoices", "payments", "credit_notes"],
  quickbooks: ["customers", "invoices", "payments", "credit_memos"],
};

const CONFLICT_FIELDS = ["email", "phone", "billingAddress", "companyName", "taxNumber"] as const;
const SAMPLE_SYSTEMS: Array<{ id: number; system: string; provider: "hubspot" | "shopify" | "xero"; role: string; object: string }> = [
  { id: 1, system: "Sales CRM", provider: "hubspot", role: "crm", object: "contacts" },
  { id: 2, system: "Online shop", provider: "shopify", role: "shop", object: "customers" },
  { id: 3, system: "Books", provider: "xero", role: "accounting", object: "contacts" },
];

function sampleValue(field: string, customer: number, variant: number): string {
  switch (field) {
    case "email":
      return variant === 0 ? `accounts${customer}@example.com.au` : `Accounts${customer}@Example.com.au `.trim() + (variant === 2 ? ".old" : "");
    case "phone":
      return variant === 0 ? `+61 7 3${String(100_0000 + customer).slice(-7)}` : `(07) 3${String(100_0000 + customer + variant).slice(-7)}`;
    case "billingAddress":
      return `${10 + (customer % 90) + variant} Harbour St, Brisbane QLD 4000`;
    case "companyName":
      return variant === 0 ? `Customer ${customer} Pty Ltd` : `Customer ${customer} P/L`;
    default:
      return variant === 0 ? `51 824 753 ${String(556 + customer).slice(-3)}` : "";
  }
}

/**
 * Deterministic conflicts for `count` fields: customers in groups of up to three
 * fields, each with two or three systems' values, the accounting system suggested
 * for billing addresses and tax numbers and the CRM for contact details.
 */
export function sampleConflicts(count = 24): ConflictView[] {
  const out: ConflictView[] = [];
  for (let id = 1; id <= count; id++) {
    const customer = Math.floor((id - 1) / 3) + 1;
    const field = CONFLICT_FIELDS[(id - 1 + customer) % CONFLICT_FIELDS.length]!;
    const systems = customer % 4 === 0 ? SAMPLE_SYSTEMS : [SAMPLE_SYSTEMS[0]!, SAMPLE_SYSTEMS[2]!];
    const values = systems.map((s, variant) => ({
      record: `${s.id}/${s.object}/${1000 + customer}`,
      system: s.system,
      provider: s.provider,
      role: s.role,
      value: sampleValue(field, customer, variant),
      lastModified: new Date(Date.UTC(2026, 10, 1 + (customer % 20), 8 + variant * 2, 15)).toISOString().replace(".000Z", "Z"),
    }));
    const accounting = field === "billingAddress" || field === "taxNumber";
    const winner = accounting ? values.find((v) => v.role === "accounting")! : values[0]!;
    out.push({
      id,
      entityKey: `party:1/contacts/${1000 + customer}`,
      field,
      values,
      suggestedWinner: winner.record,
      suggestedValue: winner.value,
      reason: accounting
        ? `accounting is the system of record for ${field === "taxNumber" ? "tax numbers" : "billing addresses"}`
        : "the CRM is the system of record for contact details",
      status: "open",
    });
  }
  return out;
}

/** Evidence as the backend renders it: words with the Bayes factor, and the weight in bits where the model gave one. */
type Reason = string | [string, number];

function linkView(left: string, right: string, state: string, method: string, score: number, reasons: Reason[]): LinkView {
  const evidence = reasons.map((r) => (typeof r === "string" ? r : r[0]));
  const [ls, lo, lid] = left.split("/");
  const [rs, ro, rid] = right.split("/");
  const name = (id: string | undefined) => SAMPLE_SYSTEMS.find((s) => String(s.id) === id)?.system ?? id ?? "";
  return {
    entity: "party",
    left,
    right,
    leftSystem: name(ls),
    leftId: lid ?? "",
    rightSystem: name(rs),
    rightId: rid ?? "",
    state,
    method,
    score,
    evidence,
    sameSystem: ls === rs,
    reasons: reasons.map((r) =>
      typeof r === "string"
        ? { text: r, sign: r.startsWith("different") ? "against" : r.startsWith("same") ? "for" : "neutral" }
        : { text: r[0], sign: r[1] >= 1 ? "for" : r[1] <= -1 ? "against" : "neutral", weight: r[1] },
    ),
    leftObject: lo ?? "",
    rightObject: ro ?? "",
    autoThreshold: 0.9,
  };
}

export function sampleLinks(): LinkView[] {
  const link = (left: string, right: string, state: string, method: string, score: number, evidence: Reason[]): LinkView => linkView(left, right, state, method, score, evidence);
  return [
    link("1/contacts/1001", "3/contacts/1001", "auto", "tax_number", 1, ["same ABN 51 824 753 556"]),
    link("1/contacts/1002", "3/contacts/1002", "suggested", "probabilistic", 0.82, [
      ["given name: close spelling (×26)", 4.7],
      ["same family name (×24)", 4.6],
      ["same postcode (×210)", 7.7],
      ["different phone (÷6.5)", -2.7],
    ]),
    link("2/customers/1003", "3/contacts/1003", "suggested", "email", 0.88, ["same email accounts1003@example.com.au"]),
    link("1/contacts/1004", "1/contacts/1044", "suggested", "phone", 0.77, ["same phone +61 7 31001004"]),
  ];
}

export function sampleDiscrepancies(): DiscrepancyView[] {
  return [
    { id: 1, kind: "missing_invoice", severity: "error", entityKey: "sale:2/orders/5001", records: ["2/orders/5001"], summary: "Shopify order #5001 has no invoice in Books", amount: "1234.50", date: "2026-11-03", month: "2026-11", currency: "AUD" },
    { id: 2, kind: "total_mismatch", severity: "error", entityKey: "sale:2/orders/5002", records: ["2/orders/5002", "3/invoices/INV-0912"], summary: "order #5002 totals $462.00, invoice INV-0912 totals $420.00", amount: "42.00", date: "2026-11-05", month: "2026-11", currency: "AUD" },
    { id: 3, kind: "gst_treatment_mismatch", severity: "warning", entityKey: "sale:2/orders/5003", records: ["2/orders/5003", "3/invoices/INV-0913"], summary: "the shop charges GST on top, the books include it", amount: "18.18", date: "2026-10-21", month: "2026-10", currency: "AUD" },
    { id: 4, kind: "rounding_difference", severity: "info", entityKey: "sale:2/orders/5004", records: ["2/orders/5004", "3/invoices/INV-0914"], summary: "totals differ by one cent", amount: "0.01", date: "2026-10-02", month: "2026-10", currency: "AUD" },
  ];
}

export function sampleReportKinds(): ReportKindInfo[] {
  const kinds: Array<[ReportKindInfo["kind"], string, string]> = [
    ["reconciliation", "Reconciliation", "Every order, invoice, credit note and payment, grouped by sale, with differences."],
    ["conflicts", "Conflicts", "Fields on which linked records disagree, with the decision and the push."],
    ["unmatched", "Unmatched records", "Records linked to nothing in another system."],
    ["duplicates", "Duplicates", "Records that appear twice in one system."],
    ["drift", "Schema drift", "Fields the providers renamed, dropped or changed type."],
    ["audit", "Audit log", "Every recorded action, with the hash chain's verification."],
  ];
  return kinds.map(([kind, title, description]) => ({ kind, title, description, fileName: `concord-${kind}-2026-11-23.csv` }));
}

export function sampleMonths(): MonthSummary[] {
  return [
    { month: "2026-08", matched: 412, mismatched: 21, missing: 4 },
    { month: "2026-09", matched: 455, mismatched: 18, missing: 7 },
    { month: "2026-10", matched: 498, mismatched: 25, missing: 3 },
    { month: "2026-11", matched: 301, mismatched: 12, missing: 9 },
  ];
}

export function createMockBackend(options: MockBackendOptions = {}): Backend {
  const entries = options.entries ?? sampleEntries();
  const connections = options.connections ?? sampleConnections();
  const conflicts = options.conflicts ?? sampleConflicts();
  const links = options.links ?? sampleLinks();
  const discrepancies = options.discrepancies ?? sampleDiscrepancies();
  const listeners = new Set<(progress: SyncProgress) => void>();
  let syncCancelled = false;
  let syncing = false;
  const records = new Map<string, number>();
  const decisions = new Map<number, { id: number; winner: string | null; value: string }>();
  const outboxRows: OutboxEntry[] = [];
  const pushListeners = new Set<(progress: PushProgress) => void>();
  let pushCancelled = false;
  let pushing = false;
  let nextDecision = 1;

  function plan(): PlannedWrite[] {
    const writes: PlannedWrite[] = [];
    for (const c of conflicts) {
      const d = decisions.get(c.id);
      if (!d || c.status !== "decided") continue;
      for (const v of c.values) {
        if (v.record === d.winner || v.value === d.value) continue;
        const [, object, externalId] = v.record.split("/");
        writes.push({
          conflictId: c.id,
          decisionId: d.id,
          entityKey: c.entityKey,
          connection: v.system,
          provider: v.provider,
          object: object ?? "",
          externalId: externalId ?? "",
          record: v.record,
          field: c.field,
          providerFields: [c.field],
          oldValue: v.value,
          newValue: d.value,
          skipped: v.provider === null ? "spreadsheets are read-only" : null,
          state: null,
        });
      }
    }
    return writes;
  }

  function outboxRow(w: PlannedWrite, state: string, purpose: string, error: string | null): OutboxEntry {
    return {
      id: outboxRows.length + 1,
      decisionId: w.decisionId,
      conflictId: w.conflictId,
      connection: w.connection,
      provider: w.provider,
      object: w.object,
      externalId: w.externalId,
      field: w.field,
      oldValue: w.oldValue,
      newValue: w.newValue,
      state,
      purpose,
      attempts: state === "dead" ? 5 : 1,
      lastError: error,
      responseId: null,
      createdAt: "2026-11-23T05:00:00Z",
      updatedAt: "2026-11-23T05:00:01Z",
    };
  }
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
    syncStatus: () =>
      answer("syncStatus", (): ConnectionSyncStatus[] =>
        connections.map((c) => ({
          name: c.name,
          provider: c.provider,
          status: c.status,
          needsReauth: c.status === "needs_reauth",
          lastSuccessfulSync: c.lastSyncAt,
          streams: (STREAMS[c.provider] ?? []).map((stream) => ({
            stream,
            records: records.get(`${c.name}/${stream}`) ?? (c.lastSyncAt ? 120 : 0),
            freshest: c.lastSyncAt,
            lastRunAt: c.lastSyncAt,
            lastSuccessAt: c.lastSyncAt,
            status: c.lastSyncAt ? "ok" : "never",
            error: null,
            drift:
              c.provider === "xero" && stream === "contacts"
                ? [{ stream, kind: "renamed", field: "TaxNumber", detail: "found under ABN instead", count: 3, examples: ["c-17"] }]
                : [],
          })),
        })),
      ),
    syncNow: async (names) => {
      if (options.failures?.syncNow) throw { ...options.failures.syncNow };
      syncing = true;
      syncCancelled = false;
      const pages = options.syncPages ?? 3;
      const results: SyncStreamResult[] = [];
      const targets = connections.filter((c) => c.status !== "disconnected" && (names.length === 0 || names.includes(c.name)));
      for (const c of targets) {
        for (const stream of STREAMS[c.provider] ?? []) {
          const base = { connection: c.name, provider: c.provider, stream, rateLimitWaits: 0, rateLimitWaitMs: 0, etaSeconds: null, error: null };
          if (c.status === "needs_reauth") {
            results.push({ connection: c.name, provider: c.provider, stream, ok: false, needsReauth: true, records: 0, changed: 0, pages: 0, error: "sign in again", drift: [] });
            continue;
          }
          for (let page = 1; page <= pages; page++) {
            await new Promise((resolve) => setTimeout(resolve, options.syncPageMs ?? 0));
            if (syncCancelled) {
              syncing = false;
              return { cancelled: true, results: [] };
            }
            const progress: SyncProgress = { ...base, phase: page === pages ? "finished" : "page", records: page * 50, pages: page, remainingEstimate: (pages - page) * 50 };
            for (const listener of listeners) listener(progress);
          }
          records.set(`${c.name}/${stream}`, pages * 50);
          results.push({ connection: c.name, provider: c.provider, stream, ok: true, needsReauth: false, records: pages * 50, changed: pages, pages, error: null, drift: [] });
        }
        c.lastSyncAt = "2026-11-23T04:00:00Z";
      }
      syncing = false;
      return { cancelled: false, results };
    },
    onSyncProgress: async (listener): Promise<Unlisten> => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    cancelOperation: (kind) =>
      answer("cancelOperation", () => {
        if (kind === "push") {
          if (!pushing) return false;
          pushCancelled = true;
          return true;
        }
        if (!syncing) return false;
        syncCancelled = true;
        return true;
      }),
    runMatching: () =>
      answer("runMatching", () => ({
        parties: 240,
        documents: 910,
        payments: 650,
        unreadable: 0,
        autoLinks: links.filter((l) => l.state === "auto").length,
        suggestedLinks: links.filter((l) => l.state === "suggested").length,
        decidedLinks: links.filter((l) => ["confirmed", "rejected", "manual"].includes(l.state)).length,
        customers: 80,
        sales: 300,
        conflicts: conflicts.filter((c) => c.status === "open").length,
        discrepancies: discrepancies.length,
      })),
    links: (state, entity) =>
      answer("links", () => links.filter((l) => (state === null || l.state === state) && (entity === null || l.entity === entity))),
    decideLink: (left, right, action) =>
      answer("decideLink", () => {
        let link = links.find((l) => (l.left === left && l.right === right) || (l.left === right && l.right === left));
        if (!link && action === "confirm")
          throw { code: "not_found", message: `there is no link between ${left} and ${right} to confirm` } satisfies ApiError;
        if (!link) {
          const made = linkView(left, right, "manual", "manual", 1, ["linked by hand"]);
          links.push(made);
          link = made;
        }
        link.state = action === "confirm" ? "confirmed" : action === "link" ? "manual" : "rejected";
        return link;
      }),
    conflicts: (status) => answer("conflicts", () => conflicts.filter((c) => status === null || c.status === status)),
    conflictPage: (status, offset, limit) =>
      answer("conflictPage", () => {
        const all = conflicts
          .filter((c) => status === null || c.status === status)
          .sort((a, b) => (a.entityKey < b.entityKey ? -1 : a.entityKey > b.entityKey ? 1 : a.id - b.id));
        return { total: all.length, conflicts: all.slice(offset, offset + Math.min(limit, 20_000)) };
      }),
    discrepancies: () => answer("discrepancies", () => discrepancies),
    reconciliationMonths: () => answer("reconciliationMonths", () => sampleMonths()),
    reportKinds: () => answer("reportKinds", () => sampleReportKinds()),
    chooseReportPath: (fileName) => answer("chooseReportPath", () => `/browser-preview/reports/${fileName}`),
    exportReport: (kind, path, _options) =>
      answer("exportReport", () => ({
        kind,
        path,
        rows: kind === "audit" ? entries.length : kind === "conflicts" ? conflicts.length : discrepancies.length,
        totals: kind === "reconciliation" ? [{ currency: "AUD", rows: discrepancies.length, amounts: [{ column: "difference", amount: "1294.69" }] }] : [],
        note: kind === "audit" ? "audit chain verified" : null,
      })),
    decideConflict: (id, winner, value) =>
      answer("decideConflict", () => {
        const conflict = conflicts.find((c) => c.id === id);
        if (!conflict) throw { code: "not_found", message: `no conflict ${id}` } satisfies ApiError;
        if (winner === null && (value === null || value.trim() === ""))
          throw { code: "invalid_input", message: "type a value or choose a system" } satisfies ApiError;
        if (winner !== null && !conflict.values.some((v) => v.record === winner))
          throw { code: "invalid_input", message: `${winner} is not one of this conflict's records` } satisfies ApiError;
        conflict.status = "decided";
        decisions.set(id, { id: nextDecision++, winner, value: winner !== null ? conflict.values.find((v) => v.record === winner)!.value : value! });
      }),
    applyRule: (field, system) =>
      answer("applyRule", () => {
        const hit = conflicts.filter((c) => c.field === field && c.status === "open" && c.values.some((v) => v.system === system));
        for (const c of hit) {
          c.status = "decided";
          const v = c.values.find((x) => x.system === system)!;
          decisions.set(c.id, { id: nextDecision++, winner: v.record, value: v.value });
        }
        return hit.length;
      }),
    undoDecision: (id) =>
      answer("undoDecision", () => {
        const conflict = conflicts.find((c) => c.id === id);
        if (!conflict) throw { code: "not_found", message: `no conflict ${id}` } satisfies ApiError;
        conflict.status = "open";
        decisions.delete(id);
      }),
    pushPlan: () => answer("pushPlan", () => plan()),
    pushNow: async () => {
      if (options.failures?.pushNow) throw { ...options.failures.pushNow };
      const writes = plan().filter((w) => w.skipped === null);
      pushing = true;
      pushCancelled = false;
      let verified = 0;
      let dead = 0;
      for (const [i, w] of writes.entries()) {
        await new Promise((resolve) => setTimeout(resolve, options.pushWriteMs ?? 0));
        if (pushCancelled) {
          pushing = false;
          return { cancelled: true, summary: null };
        }
        const fails = options.deadRecords?.includes(w.record) ?? false;
        const row = outboxRow(w, fails ? "dead" : "verified", "push", fails ? "422: the provider refused the value" : null);
        outboxRows.push(row);
        if (fails) dead++;
        else verified++;
        const progress: PushProgress = { outboxId: row.id, connection: w.connection, record: w.record, field: w.field, outcome: fails ? "dead" : "verified", detail: row.lastError, done: i + 1, total: writes.length };
        for (const listener of pushListeners) listener(progress);
      }
      for (const id of new Set(writes.map((w) => w.conflictId))) {
        const c = conflicts.find((x) => x.id === id);
        if (c) c.status = "pushed";
      }
      pushing = false;
      const skipped = plan().length - writes.length;
      return { cancelled: false, summary: { total: writes.length, sent: writes.length, verified, stale: 0, deadLettered: dead, skipped, ok: dead === 0 } };
    },
    onPushProgress: async (listener): Promise<Unlisten> => {
      pushListeners.add(listener);
      return () => pushListeners.delete(listener);
    },
    outbox: (state) => answer("outbox", () => outboxRows.filter((r) => state === null || r.state === state).slice().reverse()),
    outboxRetry: (id) =>
      answer("outboxRetry", () => {
        const row = outboxRows.find((r) => r.id === id);
        if (!row) throw { code: "not_found", message: `no outbox entry ${id}` } satisfies ApiError;
        row.state = "verified";
        row.attempts += 1;
        row.lastError = null;
        return { total: 1, sent: 1, verified: 1, stale: 0, deadLettered: 0, skipped: 0, ok: true };
      }),
    undoPush: (conflictId) =>
      answer("undoPush", () => {
        const done = outboxRows.filter((r) => r.conflictId === conflictId && r.purpose === "push" && r.state === "verified");
        if (done.length === 0) throw { code: "not_found", message: `nothing pushed for conflict ${conflictId}` } satisfies ApiError;
        for (const r of done) outboxRows.push({ ...r, id: outboxRows.length + 1, purpose: "undo", oldValue: r.newValue, newValue: r.oldValue });
        const c = conflicts.find((x) => x.id === conflictId);
        if (c) c.status = "open";
        decisions.delete(conflictId);
        return { total: done.length, sent: done.length, verified: done.length, stale: 0, deadLettered: 0, skipped: 0, ok: true };
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
 * `/?mock=broken-chain` (or empty, error, slow, large: 50,000 conflicts).
 */
export function mockScenario(name: string | null): MockBackendOptions {
  switch (name) {
    case "empty":
      return { entries: [], connections: [], conflicts: [], links: [], discrepancies: [] };
    case "large":
      return { conflicts: sampleConflicts(50_000) };
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
