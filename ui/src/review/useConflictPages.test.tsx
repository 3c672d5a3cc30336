/** Paged loading of conflicts: a small first page at once, the rest appended in order. */
import { render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { createMockBackend, sampleConflicts } from "../backend";
import { BackendProvider } from "../backend/context";
import { FIRST_PAGE, NEXT_PAGE, useConflictPages } from "./useConflictPages";

function Probe() {
  const pages = useConflictPages("open");
  return (
    <p data-testid="probe">
      {pages.data?.length ?? "none"} of {pages.total} {pages.loading ? "loading" : "done"} {pages.data?.map((c) => c.entityKey).join(",") === [...(pages.data ?? [])].map((c) => c.entityKey).sort().join(",") ? "sorted" : "unsorted"}
    </p>
  );
}

describe("useConflictPages", () => {
  it("asks for a small first page, then the rest in large pages, keeping entity-key order", async () => {
    const total = FIRST_PAGE + NEXT_PAGE + 50;
    const backend = createMockBackend({ conflicts: sampleConflicts(total) });
    const page = vi.spyOn(backend, "conflictPage");
    render(
      <BackendProvider backend={backend} kind="mock">
        <Probe />
      </BackendProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("probe"), "every conflict arrives in the end").toHaveTextContent(`${total} of ${total} done sorted`), { timeout: 10_000 });
    expect(page.mock.calls.map((c) => [c[1], c[2]]), "one small page for the first screen, then large ones from where it left off").toEqual([
      [0, FIRST_PAGE],
      [FIRST_PAGE, NEXT_PAGE],
      [FIRST_PAGE + NEXT_PAGE, NEXT_PAGE],
    ]);
  });

  it("shows a failure with its code and stops", async () => {
    const backend = createMockBackend({ failures: { conflictPage: { code: "store", message: "The database is locked." } } });
    function Failing() {
      const pages = useConflictPages(null);
      return <p data-testid="probe">{pages.error ? `${pages.error.code}: ${pages.error.message}` : "ok"}</p>;
    }
    render(
      <BackendProvider backend={backend} kind="mock">
        <Failing />
      </BackendProvider>,
    );
    expect(await screen.findByText("store: The database is locked."), "the error reaches the screen as an ApiError").toBeInTheDocument();
  });
});
