/** Choosing the backend at start-up. */
import { describe, expect, it } from "vitest";
import { chooseBackend, mockBackend, tauriBackend } from "./index";

function fakeWindow(search: string, tauri: boolean): Window {
  return { location: { search }, ...(tauri ? { __TAURI_INTERNALS__: {} } : {}) } as unknown as Window;
}

describe("chooseBackend", () => {
  it("uses Tauri inside a Tauri webview", () => {
    const chosen = chooseBackend(fakeWindow("", true));
    expect(chosen.kind, "__TAURI_INTERNALS__ marks a Tauri webview").toBe("tauri");
    expect(chosen.backend, "the IPC implementation").toBe(tauriBackend);
  });

  it("uses the mock in a plain browser", () => {
    const chosen = chooseBackend(fakeWindow("", false));
    expect(chosen.kind, "no Tauri means no Rust to call").toBe("mock");
    expect(chosen.backend, "the shared sample-data mock").toBe(mockBackend);
  });

  it("lets ?mock= pick a scenario", async () => {
    const chosen = chooseBackend(fakeWindow("?mock=broken-chain", false));
    const result = await chosen.backend.auditVerify();
    expect(result.ok, "the broken-chain scenario reports a broken chain").toBe(false);
  });
});
