/** The Reports screen: export through the chosen path, cancel, and errors. */
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { createMockBackend } from "../backend";
import { renderWithBackend } from "../test/render";
import { ReportsView } from "./ReportsView";

describe("reports", () => {
  it("exports to the path the save dialog returns and says where it went", async () => {
    const backend = createMockBackend();
    const exportSpy = vi.spyOn(backend, "exportReport");
    renderWithBackend(<ReportsView />, backend);
    await userEvent.setup().click(await screen.findByTestId("export-reconciliation"));
    const done = await screen.findByTestId("report-done");
    expect(exportSpy, "the report is written where the dialog said").toHaveBeenCalledWith("reconciliation", "/browser-preview/reports/concord-reconciliation-2026-11-23.csv", { bom: false });
    expect(done, "the file's path is shown").toHaveTextContent("concord-reconciliation-2026-11-23.csv");
    expect(done, "totals are en-AU money").toHaveTextContent("$1,294.69");
  });

  it("does nothing when the dialog is cancelled", async () => {
    const backend = createMockBackend();
    vi.spyOn(backend, "chooseReportPath").mockResolvedValue(null);
    const exportSpy = vi.spyOn(backend, "exportReport");
    renderWithBackend(<ReportsView />, backend);
    await userEvent.setup().click(await screen.findByTestId("export-audit"));
    await waitFor(() => expect(screen.getByTestId("export-audit"), "the button is back").toBeEnabled());
    expect(exportSpy, "cancelling the dialog writes nothing").not.toHaveBeenCalled();
    expect(screen.queryByTestId("report-done"), "and claims nothing").toBeNull();
  });

  it("shows a failed export with its code", async () => {
    renderWithBackend(<ReportsView />, createMockBackend({ failures: { exportReport: { code: "io", message: "The folder is read-only." } } }));
    await userEvent.setup().click(await screen.findByTestId("export-conflicts"));
    const banner = await screen.findByTestId("error-banner");
    expect(banner, "why").toHaveTextContent("The folder is read-only.");
    expect(banner, "the code").toHaveTextContent("io");
  });
});
