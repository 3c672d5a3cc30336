/** The Reconciliation screen: the month chart and the discrepancy table with exact en-AU money. */
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { createMockBackend } from "../backend";
import { renderWithBackend } from "../test/render";
import { ReconciliationView } from "./ReconciliationView";

describe("reconciliation", () => {
  it("charts matched, mismatched and missing sales by month, readable without colour", async () => {
    renderWithBackend(<ReconciliationView />, createMockBackend());
    const chart = await screen.findByTestId("month-chart");
    expect(within(chart).getByRole("img"), "the chart is described in words").toHaveAccessibleName(/Nov 2026: 301 matched, 12 mismatched, 9 missing/);
    expect(within(chart).getByRole("table", { hidden: true }), "and its numbers are in a table").toHaveTextContent("498");
  });

  it("lists discrepancies with their amounts as en-AU money, and filters by severity", async () => {
    renderWithBackend(<ReconciliationView />, createMockBackend());
    const rows = await screen.findAllByTestId("discrepancy-row");
    expect(rows, "one row per discrepancy").toHaveLength(4);
    expect(rows[0], "the amount is exact dollars with grouping").toHaveTextContent("$1,234.50");
    expect(rows[0], "the kind is in words").toHaveTextContent("Missing invoice");
    await userEvent.setup().selectOptions(screen.getByTestId("discrepancy-severity"), "info");
    expect(screen.getAllByTestId("discrepancy-row"), "only information rows remain").toHaveLength(1);
    expect(screen.getByTestId("discrepancy-row"), "the one-cent rounding difference").toHaveTextContent("$0.01");
  });
});
