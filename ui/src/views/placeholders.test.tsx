/** The screens not built yet say what they will show, and show nothing invented. */
import { render, screen } from "@testing-library/react";
import type { ComponentType } from "react";
import { describe, expect, it } from "vitest";
import { ReconciliationView } from "./ReconciliationView";
import { ReportsView } from "./ReportsView";
import { ReviewView } from "./ReviewView";

const cases: Array<[id: string, View: ComponentType, promise: string]> = [
  ["review", ReviewView, "approve or reject each change"],
  ["reconciliation", ReconciliationView, "match Shopify orders"],
  ["reports", ReportsView, "summarise"],
];

describe.each(cases)("%s screen", (id, View, promise) => {
  it("is an honest empty state", () => {
    render(<View />);
    const root = screen.getByTestId(`screen-${id}`);
    expect(screen.getByTestId("empty-state"), "an empty state, not a fake table").toBeInTheDocument();
    expect(root, "it says what the screen will show").toHaveTextContent(promise);
    expect(root, "it says plainly that it is not there yet").toHaveTextContent("not available in this version");
    expect(root.textContent?.toLowerCase(), "no placeholder Latin").not.toContain("lorem");
    expect(root.querySelector("table"), "no made-up data").toBeNull();
  });
});
