/** The Connections screen: the table, its empty state and errors. */
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { createMockBackend, sampleConnections } from "../backend";
import { renderWithBackend } from "../test/render";
import { ConnectionsView } from "./ConnectionsView";

describe("connections", () => {
  it("lists name, provider, status, tenant and last sync", async () => {
    renderWithBackend(<ConnectionsView />, createMockBackend({ connections: sampleConnections() }));
    const rows = await screen.findAllByTestId("connection-row");
    expect(rows, "one row per connection").toHaveLength(3);

    const shop = rows[1]!;
    expect(within(shop).getByRole("rowheader"), "the name heads the row").toHaveTextContent("Online shop");
    expect(shop, "the provider's proper name").toHaveTextContent("Shopify");
    expect(shop, "status in words, not only colour").toHaveTextContent("Needs sign-in again");
    expect(shop, "the tenant").toHaveTextContent("example-shop.myshopify.com");
    expect(shop, "a connection never synced says so").toHaveTextContent("Never");
    expect(rows[0]!.querySelector("time"), "last sync keeps the exact instant").toHaveAttribute(
      "dateTime",
      "2026-11-23T03:40:00Z",
    );
  });

  it("explains how to add a connection when there are none", async () => {
    renderWithBackend(<ConnectionsView />, createMockBackend({ connections: [] }));
    const empty = await screen.findByTestId("connections-empty");
    expect(empty, "points to the command that adds connections today").toHaveTextContent("concord connect");
    expect(empty, "and points to the form on this screen").toHaveTextContent("form below");
  });

  it("deletes a connection's data only after a second, explicit click", async () => {
    const backend = createMockBackend({ connections: sampleConnections() });
    const disconnect = vi.spyOn(backend, "disconnectAccount");
    renderWithBackend(<ConnectionsView />, backend);
    const row = (await screen.findAllByTestId("connection-row"))[2]!;
    const user = userEvent.setup();
    await user.click(within(row).getByRole("button", { name: "Disconnect and delete data…" }));
    expect(disconnect, "the first click only asks").not.toHaveBeenCalled();
    await user.click(within(row).getByRole("button", { name: "Delete Books’s records" }));
    expect(disconnect, "the second names what goes and does it").toHaveBeenCalledWith("Books", "delete");
  });

  it("shows an error with its code", async () => {
    renderWithBackend(
      <ConnectionsView />,
      createMockBackend({ failures: { listConnections: { code: "store", message: "The database is locked." } } }),
    );
    const banner = await screen.findByTestId("error-banner");
    expect(banner, "message").toHaveTextContent("The database is locked.");
    expect(banner, "code").toHaveTextContent("store");
  });
});
