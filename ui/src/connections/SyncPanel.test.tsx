/** Sync status, Sync now with live progress, cancelling, and the re-authorisation prompt. */
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { createMockBackend, sampleConnections } from "../backend";
import { renderWithBackend } from "../test/render";
import { SyncPanel } from "./SyncPanel";

describe("sync panel", () => {
  it("shows records per stream, drift warnings and the re-authorisation prompt", async () => {
    const onReconnect = vi.fn();
    renderWithBackend(<SyncPanel version={0} onReconnect={onReconnect} />, createMockBackend({ connections: sampleConnections() }));
    const cards = await screen.findAllByTestId("sync-card");
    expect(cards, "one card per connection").toHaveLength(3);
    expect(within(cards[0]!).getAllByRole("row").length, "a row per stream plus the heading").toBeGreaterThan(2);
    expect(within(cards[2]!).getByTestId("drift-warning"), "a renamed field is reported").toHaveTextContent("TaxNumber");
    const prompt = within(cards[1]!).getByTestId("reauth-banner");
    await userEvent.setup().click(within(prompt).getByRole("button", { name: "Sign in again" }));
    expect(onReconnect, "the prompt leads to signing in again under the same name").toHaveBeenCalledWith("Online shop", "shopify");
  });

  it("syncs with live progress, then matches and reports what happened", async () => {
    const backend = createMockBackend({ connections: sampleConnections(), syncPageMs: 15 });
    const matching = vi.spyOn(backend, "runMatching");
    renderWithBackend(<SyncPanel version={0} onReconnect={() => {}} />, backend);
    await userEvent.setup().click(await screen.findByTestId("sync-now"));
    const progress = await screen.findByTestId("sync-progress");
    await waitFor(() => expect(progress.querySelectorAll("progress").length, "a bar per stream as pages arrive").toBeGreaterThan(0));
    const result = await screen.findByTestId("sync-result", undefined, { timeout: 5000 });
    expect(result, "the outcome is said in words").toHaveTextContent("Sync finished");
    expect(result, "a connection needing sign-in is reported as failed streams").toHaveTextContent("failed");
    expect(matching, "matching runs after a sync so Review is current").toHaveBeenCalledTimes(1);
  });

  it("can be cancelled", async () => {
    const backend = createMockBackend({ connections: sampleConnections(), syncPageMs: 40, syncPages: 20 });
    const matching = vi.spyOn(backend, "runMatching");
    renderWithBackend(<SyncPanel version={0} onReconnect={() => {}} />, backend);
    const user = userEvent.setup();
    await user.click(await screen.findByTestId("sync-now"));
    await user.click(await screen.findByTestId("sync-cancel"));
    const result = await screen.findByTestId("sync-result", undefined, { timeout: 5000 });
    expect(result, "a cancelled sync says so, and that its pages are kept").toHaveTextContent("Sync cancelled");
    expect(matching, "no matching after a cancelled sync").not.toHaveBeenCalled();
  });
});
