/** The Push screen: preview, push with progress, dead letters with retry, undo, cancel. */
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { createMockBackend, sampleConflicts, type Backend } from "../backend";
import { renderWithBackend } from "../test/render";
import { PushView } from "./PushView";

async function decidedBackend(options: Parameters<typeof createMockBackend>[0] = {}): Promise<Backend> {
  const conflicts = sampleConflicts(6);
  const backend = createMockBackend({ conflicts, ...options });
  for (const c of conflicts.slice(0, 2)) await backend.decideConflict(c.id, c.suggestedWinner, null);
  return backend;
}

describe("push", () => {
  it("previews every write with the old and new value", async () => {
    renderWithBackend(<PushView />, await decidedBackend());
    const writes = await screen.findAllByTestId("push-write");
    expect(writes.length, "one write per losing system of each decided conflict").toBe(2);
    const conflict = sampleConflicts(6)[0]!;
    expect(writes[0], "the new value is the winner's").toHaveTextContent(conflict.suggestedValue!);
    expect(screen.getByTestId("push-now"), "the button says how many changes it makes").toHaveTextContent("Push 2 changes");
  });

  it("pushes with progress and reports what landed", async () => {
    const backend = await decidedBackend({ pushWriteMs: 20 });
    const listen = vi.spyOn(backend, "onPushProgress");
    renderWithBackend(<PushView />, backend);
    await userEvent.setup().click(await screen.findByTestId("push-now"));
    expect(await screen.findByTestId("push-progress"), "a progress bar while writes go out").toBeInTheDocument();
    const result = await screen.findByTestId("push-result");
    expect(result, "the outcome in words").toHaveTextContent("Pushed: 2 writes, 2 verified");
    expect(listen, "progress comes from push events").toHaveBeenCalled();
    expect(await screen.findAllByTestId("recent-push"), "pushed writes can be undone").toHaveLength(2);
    expect(await screen.findByTestId("push-empty"), "nothing is left to push").toBeInTheDocument();
  });

  it("lists a failed write as a dead letter and retries it", async () => {
    const record = sampleConflicts(6)[0]!.values.find((v) => v.record !== sampleConflicts(6)[0]!.suggestedWinner)!.record;
    const backend = await decidedBackend({ deadRecords: [record] });
    const retry = vi.spyOn(backend, "outboxRetry");
    renderWithBackend(<PushView />, backend);
    const user = userEvent.setup();
    await user.click(await screen.findByTestId("push-now"));
    expect(await screen.findByTestId("push-result"), "a failure is not reported as success").toHaveTextContent("1 failed");
    const letter = await screen.findByTestId("dead-letter");
    expect(letter, "the provider's reason is shown").toHaveTextContent("422");
    await user.click(within(letter).getByTestId("dead-retry"));
    await waitFor(() => expect(retry, "retry sends that write again").toHaveBeenCalledTimes(1));
    expect(await screen.findByTestId("dead-empty"), "and it leaves the dead letters").toBeInTheDocument();
  });

  it("undoes a push", async () => {
    const backend = await decidedBackend();
    const undo = vi.spyOn(backend, "undoPush");
    renderWithBackend(<PushView />, backend);
    const user = userEvent.setup();
    await user.click(await screen.findByTestId("push-now"));
    await screen.findByTestId("push-result");
    const recent = await screen.findAllByTestId("recent-push");
    await user.click(within(recent[0]!).getByTestId("push-undo"));
    await waitFor(() => expect(undo, "undo names the conflict").toHaveBeenCalledTimes(1));
    expect(await screen.findByTestId("push-message"), "and says what was written back").toHaveTextContent("Undone");
  });

  it("can be cancelled", async () => {
    const backend = await decidedBackend({ pushWriteMs: 200 });
    renderWithBackend(<PushView />, backend);
    const user = userEvent.setup();
    await user.click(await screen.findByTestId("push-now"));
    await user.click(await screen.findByTestId("push-cancel"));
    expect(await screen.findByTestId("push-result"), "a cancelled push says so").toHaveTextContent("Push cancelled");
  });
});
