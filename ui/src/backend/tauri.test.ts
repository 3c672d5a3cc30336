/**
 * The Tauri backend's contract with src-tauri: command names, argument names,
 * and error normalisation. If one of these changes, Rust must change with it.
 */
import { invoke as realInvoke } from "@tauri-apps/api/core";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { tauriBackend } from "./tauri";

vi.mock("@tauri-apps/api/core", () => ({ invoke: vi.fn() }));
const invoke = vi.mocked(realInvoke);

beforeEach(() => {
  // Braces: a function returned from beforeEach would run as a teardown.
  invoke.mockReset();
});

describe("tauriBackend commands", () => {
  const filter = { text: "xero", limit: 100, beforeId: 42 };
  const cases: Array<[name: string, call: () => Promise<unknown>, command: string, args: unknown]> = [
    ["appInfo", () => tauriBackend.appInfo(), "app_info", undefined],
    ["auditVerify", () => tauriBackend.auditVerify(), "audit_verify", undefined],
    ["listConnections", () => tauriBackend.listConnections(), "list_connections", undefined],
    ["auditEntries", () => tauriBackend.auditEntries(filter), "audit_entries", { filter }],
  ];

  it.each(cases)("%s invokes the Rust command by its name", async (_name, call, command, args) => {
    invoke.mockResolvedValue("answer");
    await expect(call(), "the command's answer is returned as is").resolves.toBe("answer");
    expect(invoke, "command and argument names are the contract with src-tauri").toHaveBeenCalledWith(command, args);
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
