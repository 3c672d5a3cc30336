/** The mock backend follows the same rules as the Rust commands it stands in for. */
import { describe, expect, it } from "vitest";
import { createMockBackend, sampleEntries } from "./mock";

describe("mock auditEntries", () => {
  const backend = createMockBackend({ entries: sampleEntries(30) });

  it("returns newest first, up to the limit", async () => {
    const page = await backend.auditEntries({ text: null, limit: 5, beforeId: null });
    expect(page.map((e) => e.id), "newest first means descending ids").toEqual([30, 29, 28, 27, 26]);
  });

  it("pages with beforeId", async () => {
    const page = await backend.auditEntries({ text: null, limit: 3, beforeId: 26 });
    expect(page.map((e) => e.id), "beforeId is exclusive").toEqual([25, 24, 23]);
  });

  it("filters case-insensitively on actor, action, subject and detail", async () => {
    const page = await backend.auditEntries({ text: "SHOPIFY", limit: 100, beforeId: null });
    expect(page.length, "some sample entries mention Shopify").toBeGreaterThan(0);
    for (const entry of page)
      expect(
        [entry.actor, entry.action, entry.subject, entry.detail].join(" ").toLowerCase(),
        "every match contains the text somewhere",
      ).toContain("shopify");
  });

  it("answers with copies", async () => {
    const first = await backend.auditEntries({ text: null, limit: 1, beforeId: null });
    first[0]!.actor = "mallory";
    const again = await backend.auditEntries({ text: null, limit: 1, beforeId: null });
    expect(again[0]!.actor, "mutating a result must not change the mock's state").not.toBe("mallory");
  });
});

describe("mock auditVerify", () => {
  it("reports every entry when intact", async () => {
    const result = await createMockBackend({ entries: sampleEntries(12) }).auditVerify();
    expect(result, "an intact chain checks all rows").toEqual({ ok: true, rowsChecked: 12, fault: null });
  });

  it("stops at the fault", async () => {
    const fault = { rowId: 7, reason: "hash mismatch" };
    const result = await createMockBackend({ entries: sampleEntries(12), fault }).auditVerify();
    expect(result, "verification stops at the first broken row").toEqual({ ok: false, rowsChecked: 7, fault });
  });
});

describe("mock failures", () => {
  it("reject with the ApiError given", async () => {
    const backend = createMockBackend({ failures: { listConnections: { code: "io", message: "disk" } } });
    await expect(backend.listConnections(), "failures are ApiErrors, like Rust's").rejects.toEqual({
      code: "io",
      message: "disk",
    });
  });
});
