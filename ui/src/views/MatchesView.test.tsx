/** The Matches screen: suggestions with evidence, confirm and reject, and linking by hand. */
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { createMockBackend } from "../backend";
import { renderWithBackend } from "../test/render";
import { MatchesView } from "./MatchesView";

describe("matches", () => {
  it("shows suggestions with their evidence and confirms one", async () => {
    const backend = createMockBackend();
    const decide = vi.spyOn(backend, "decideLink");
    renderWithBackend(<MatchesView />, backend);
    const rows = await screen.findAllByTestId("link-row");
    expect(rows.length, "suggested links are listed first").toBeGreaterThan(0);
    expect(rows[0], "each shows why it was suggested, field by field").toHaveTextContent("given name: close spelling (×26)");
    expect(within(rows[0]!).getByText(/different phone/).closest("li"), "each field's weight is shown in bits").toHaveAttribute("title", "-2.7 bits of evidence against the link");
    await userEvent.setup().click(within(rows[0]!).getByTestId("link-confirm"));
    await waitFor(() => expect(decide, "confirm names both records").toHaveBeenCalledWith("1/contacts/1002", "3/contacts/1002", "confirm"));
    expect(await within(rows[0]!).findByText("confirmed"), "the row shows the decision").toBeInTheDocument();
  });

  it("links two records by hand and shows a refusal with its code", async () => {
    const backend = createMockBackend({ failures: { decideLink: { code: "not_found", message: "no connection numbered 9" } } });
    renderWithBackend(<MatchesView />, backend);
    const user = userEvent.setup();
    await user.type(await screen.findByTestId("link-left"), "9/contacts/1");
    await user.type(screen.getByTestId("link-right"), "3/contacts/2");
    await user.click(screen.getByRole("button", { name: "Link by hand" }));
    const banner = await screen.findByTestId("error-banner");
    expect(banner, "the backend's reason is shown").toHaveTextContent("no connection numbered 9");
    expect(banner, "with its code").toHaveTextContent("not_found");
  });
});
