/** The Activity screen: the audit table, its filter and paging, and chain verification. */
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { AUDIT_PAGE_SIZE } from "../audit/AuditLog";
import { createMockBackend, sampleEntries, type Backend } from "../backend";
import { renderWithBackend } from "../test/render";
import { ActivityView } from "./ActivityView";

function rowIds(): number[] {
  return screen.getAllByTestId("audit-row").map((row) => Number(row.dataset.entryId));
}

describe("audit table", () => {
  it("lists entries newest first with time, actor, action and subject", async () => {
    renderWithBackend(<ActivityView />, createMockBackend({ entries: sampleEntries(12) }));
    await screen.findAllByTestId("audit-row");

    expect(rowIds(), "newest first: ids descend").toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    const headers = within(screen.getByTestId("audit-table"))
      .getAllByRole("columnheader")
      .map((th) => th.textContent);
    expect(headers, "the four columns the bookkeeper reads").toEqual(["Time", "Actor", "Action", "Subject"]);
    const newest = screen.getAllByTestId("audit-row")[0]!;
    const entry = sampleEntries(12)[11]!;
    expect(within(newest).getByText(entry.action), "the action is shown").toBeInTheDocument();
    expect(newest.querySelector("time"), "the time keeps the exact RFC 3339 instant").toHaveAttribute("dateTime", entry.at);
  });

  it("re-queries the backend when the filter changes", async () => {
    const backend = createMockBackend({ entries: sampleEntries(36) });
    const spy = vi.spyOn(backend, "auditEntries");
    renderWithBackend(<ActivityView />, backend);
    await screen.findAllByTestId("audit-row");
    expect(spy, "the first query has no text").toHaveBeenLastCalledWith({ text: null, limit: AUDIT_PAGE_SIZE, beforeId: null });

    await userEvent.setup().type(screen.getByTestId("audit-filter"), "shopify");
    await waitFor(() =>
      expect(spy, "filtering happens in the backend, with the typed text").toHaveBeenLastCalledWith({
        text: "shopify",
        limit: AUDIT_PAGE_SIZE,
        beforeId: null,
      }),
    );
    await waitFor(() => expect(screen.getAllByTestId("audit-row").length, "only matches remain").toBeLessThan(36));
    for (const row of screen.getAllByTestId("audit-row"))
      expect(row.textContent?.toLowerCase(), "every row shown matches the filter").toContain("shopify");
  });

  it("says so when nothing matches", async () => {
    renderWithBackend(<ActivityView />, createMockBackend({ entries: sampleEntries(5) }));
    await screen.findAllByTestId("audit-row");
    await userEvent.setup().type(screen.getByTestId("audit-filter"), "no such thing");
    expect(await screen.findByTestId("audit-empty"), "an empty result names the filter").toHaveTextContent(
      "No entries match “no such thing”",
    );
  });

  it("says so when the log is empty", async () => {
    renderWithBackend(<ActivityView />, createMockBackend({ entries: [] }));
    expect(await screen.findByTestId("audit-empty"), "a new workspace has no activity yet").toHaveTextContent(
      "No activity recorded yet",
    );
  });

  it("pages to older entries with beforeId", async () => {
    const total = AUDIT_PAGE_SIZE + 20;
    renderWithBackend(<ActivityView />, createMockBackend({ entries: sampleEntries(total) }));
    await screen.findAllByTestId("audit-row");
    expect(rowIds().length, "the first page is one page").toBe(AUDIT_PAGE_SIZE);

    await userEvent.setup().click(screen.getByTestId("audit-older"));
    await waitFor(() => expect(rowIds().length, "older entries are appended").toBe(total));
    expect(rowIds()[0], "still newest first").toBe(total);
    expect(rowIds().at(-1), "down to the oldest entry").toBe(1);
    expect(screen.queryByTestId("audit-older"), "no button once the oldest entry is shown").toBeNull();
  });

  it("shows a backend error with its code", async () => {
    renderWithBackend(
      <ActivityView />,
      createMockBackend({ failures: { auditEntries: { code: "store", message: "The database is locked." } } }),
    );
    const banner = await screen.findByTestId("error-banner");
    expect(banner, "the message").toHaveTextContent("The database is locked.");
    expect(banner, "the code").toHaveTextContent("store");
  });
});

describe("verify audit chain", () => {
  async function verifyWith(backend: Backend) {
    renderWithBackend(<ActivityView />, backend);
    await userEvent.setup().click(screen.getByTestId("verify-chain"));
    return screen.findByTestId("chain-status");
  }

  it("reports an intact chain with the number of entries", async () => {
    const status = await verifyWith(createMockBackend({ entries: sampleEntries(12) }));
    expect(status, "ok names the number of entries checked").toHaveTextContent("Audit chain verified: 12 entries intact");
    expect(status, "good news is not styled as an error").not.toHaveClass("status-error");
    expect(status, "announced politely").toHaveAttribute("role", "status");
  });

  it("uses the singular for one entry", async () => {
    const status = await verifyWith(createMockBackend({ entries: sampleEntries(1) }));
    expect(status, "1 entry, not 1 entries").toHaveTextContent("Audit chain verified: 1 entry intact");
  });

  it("reports a broken chain as an error, naming the entry and reason", async () => {
    const status = await verifyWith(
      createMockBackend({ entries: sampleEntries(12), fault: { rowId: 7, reason: "hash does not match" } }),
    );
    expect(status, "broken names the first bad entry and why").toHaveTextContent(
      "Audit chain broken at entry 7: hash does not match",
    );
    expect(status, "a broken chain is styled as an error").toHaveClass("status-error");
    expect(status, "and announced at once").toHaveAttribute("role", "alert");
  });

  it("treats an audit_chain_broken rejection as a broken chain", async () => {
    const status = await verifyWith(
      createMockBackend({ failures: { auditVerify: { code: "audit_chain_broken", message: "entry 3 was deleted" } } }),
    );
    expect(status, "Rust may refuse with this code instead of ok: false").toHaveTextContent(
      "Audit chain broken: entry 3 was deleted",
    );
    expect(status, "still an error").toHaveClass("status-error");
  });

  it("shows other failures in the error banner", async () => {
    renderWithBackend(
      <ActivityView />,
      createMockBackend({ failures: { auditVerify: { code: "io", message: "Could not read the database file." } } }),
    );
    await userEvent.setup().click(screen.getByTestId("verify-chain"));
    const banner = await screen.findByTestId("error-banner");
    expect(banner, "a failed check is not a verdict on the chain").toHaveTextContent("Could not read the database file.");
    expect(within(banner).getByTestId("error-code"), "with its code").toHaveTextContent("io");
    expect(screen.queryByTestId("chain-status"), "no verdict when the check itself failed").toBeNull();
  });
});
