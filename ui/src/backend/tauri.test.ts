/**
 * The Tauri backend's contract with src-tauri: command names, argument names,
 * and error normalisation. If one of these changes, Rust must change with it.
 */
import { invoke as realInvoke } from "@tauri-apps/api/core";
import { save as realSave } from "@tauri-apps/plugin-dialog";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { tauriBackend } from "./tauri";

vi.mock("@tauri-apps/api/core", () => ({ invoke: vi.fn() }));
vi.mock("@tauri-apps/plugin-dialog", () => ({ save: vi.fn() }));
const invoke = vi.mocked(realInvoke);
const save = vi.mocked(realSave);

beforeEach(() => {
  // Braces: a function returned from beforeEach would run as a teardown.
  invoke.mockReset();
  save.mockReset();
});

describe("tauriBackend commands", () => {
  const filter = { text: "xero", limit: 100, beforeId: 42 };
  const cases: Array<[name: string, call: () => Promise<unknown>, command: string, args: unknown]> = [
    ["appInfo", () => tauriBackend.appInfo(), "app_info", undefined],
    ["auditVerify", () => tauriBackend.auditVerify(), "audit_verify", undefined],
    ["listConnections", () => tauriBackend.listConnections(), "list_connections", undefined],
    ["auditEntries", () => tauriBackend.auditEntries(filter), "audit_entries", { filter }],
    ["syncStatus", () => tauriBackend.syncStatus(), "sync_status", undefined],
    ["syncNow", () => tauriBackend.syncNow(["Books"]), "sync_now", { names: ["Books"] }],
    ["cancelOperation", () => tauriBackend.cancelOperation("sync"), "cancel_operation", { kind: "sync" }],
    ["runMatching", () => tauriBackend.runMatching(), "run_matching", undefined],
    ["links", () => tauriBackend.links("suggested", null), "links", { state: "suggested", entity: null }],
    ["decideLink", () => tauriBackend.decideLink("1/contacts/a", "3/contacts/b", "confirm"), "decide_link", { left: "1/contacts/a", right: "3/contacts/b", action: "confirm" }],
    ["conflicts", () => tauriBackend.conflicts("open"), "conflicts", { status: "open" }],
    ["conflictPage", () => tauriBackend.conflictPage("open", 500, 10000), "conflict_page", { status: "open", offset: 500, limit: 10000 }],
    ["discrepancies", () => tauriBackend.discrepancies(), "discrepancies", undefined],
    ["reconciliationMonths", () => tauriBackend.reconciliationMonths(), "reconciliation_months", undefined],
    ["reportKinds", () => tauriBackend.reportKinds(), "report_kinds", undefined],
    ["applyRule", () => tauriBackend.applyRule("billingAddress", "Xero (demo)"), "apply_rule", { field: "billingAddress", system: "Xero (demo)", scope: "undecided" }],
    ["pushPlan", () => tauriBackend.pushPlan(), "push_plan", undefined],
    ["pushNow", () => tauriBackend.pushNow(), "push_now", undefined],
    ["outbox", () => tauriBackend.outbox("dead"), "outbox", { state: "dead" }],
    ["outboxRetry", () => tauriBackend.outboxRetry(7), "outbox_retry", { id: 7 }],
    ["undoPush", () => tauriBackend.undoPush(12), "undo_push", { conflictId: 12 }],
    ["exportReport", () => tauriBackend.exportReport("conflicts", "/tmp/c.csv", { bom: true }), "export_report", { kind: "conflicts", path: "/tmp/c.csv", options: { bom: true } }],
  ];

  it.each(cases)("%s invokes the Rust command by its name", async (_name, call, command, args) => {
    invoke.mockResolvedValue("answer");
    await expect(call(), "the command's answer is returned as is").resolves.toBe("answer");
    expect(invoke, "command and argument names are the contract with src-tauri").toHaveBeenCalledWith(command, args);
  });
});

describe("tauriBackend decisions", () => {
  it("sends a choice as the Rust Choice struct", async () => {
    invoke.mockResolvedValue({ id: 3 });
    await tauriBackend.decideConflict(3, null, "accounts@example.com");
    expect(invoke, "conflictId and choice { winner, value } are decide_conflict's parameters").toHaveBeenCalledWith("decide_conflict", {
      conflictId: 3,
      choice: { winner: null, value: "accounts@example.com" },
    });
    await tauriBackend.undoDecision(3);
    expect(invoke, "undo names the conflict").toHaveBeenLastCalledWith("undo_decision", { conflictId: 3 });
  });
});

describe("tauriBackend report path", () => {
  it("uses the preset path without opening the dialog", async () => {
    invoke.mockResolvedValue("/tmp/e2e/concord-conflicts.csv");
    await expect(tauriBackend.chooseReportPath("concord-conflicts.csv"), "the preset wins").resolves.toBe("/tmp/e2e/concord-conflicts.csv");
    expect(save, "the native dialog stays closed when a path is preset").not.toHaveBeenCalled();
  });

  it("opens the native save dialog otherwise, suggesting the file name", async () => {
    invoke.mockResolvedValue(null);
    save.mockResolvedValue("/home/me/report.csv");
    await expect(tauriBackend.chooseReportPath("concord-audit.csv"), "the picked path is used").resolves.toBe("/home/me/report.csv");
    expect(save, "the dialog suggests the report's file name and CSV").toHaveBeenCalledWith(expect.objectContaining({ defaultPath: "concord-audit.csv" }));
  });
});

describe("tauriBackend errors", () => {
  it("passes an ApiError through", async () => {
    invoke.mockRejectedValue({ code: "workspace", message: "No workspace" });
    await expect(tauriBackend.appInfo(), "Rust's ApiError reaches the UI unchanged").rejects.toEqual({
      code: "workspace",
      message: "No workspace",
    });
  });

  it("normalises a plain string into an internal error", async () => {
    invoke.mockRejectedValue("Command app_info not found");
    await expect(tauriBackend.appInfo(), "Tauri's own string errors become ApiErrors").rejects.toEqual({
      code: "internal",
      message: "Command app_info not found",
    });
  });
});
