/**
 * The Review interactions: grouping, the keyboard path (arrows, 1/2/3, Enter,
 * E for a typed value, R for a rule, U to undo), the mouse path, filters and
 * search, and the virtualised list staying small with thousands of conflicts.
 */
import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockBackend, sampleConflicts, type ConflictView } from "../backend";
import { renderWithBackend } from "../test/render";
import { ReviewBoard } from "./ReviewBoard";
import { buildRows } from "./rows";

// jsdom lays nothing out; give elements a viewport so the virtualiser has rows to draw.
const sizes = { clientHeight: 480, clientWidth: 960 };
const saved: Partial<Record<keyof typeof sizes, PropertyDescriptor | undefined>> = {};
beforeAll(() => {
  for (const [key, value] of Object.entries(sizes) as Array<[keyof typeof sizes, number]>) {
    saved[key] = Object.getOwnPropertyDescriptor(Element.prototype, key);
    Object.defineProperty(Element.prototype, key, { configurable: true, get: () => value });
  }
});
afterAll(() => {
  for (const key of Object.keys(sizes) as Array<keyof typeof sizes>) {
    const descriptor = saved[key];
    if (descriptor) Object.defineProperty(Element.prototype, key, descriptor);
  }
});

async function open(conflicts: ConflictView[] = sampleConflicts(24)) {
  const backend = createMockBackend({ conflicts });
  const spies = {
    decide: vi.spyOn(backend, "decideConflict"),
    rule: vi.spyOn(backend, "applyRule"),
    undo: vi.spyOn(backend, "undoDecision"),
  };
  renderWithBackend(<ReviewBoard />, backend);
  const list = await screen.findByTestId("review-list");
  const user = userEvent.setup();
  await act(async () => list.focus());
  return { backend, spies, list, user };
}

function activeRow(list: HTMLElement): HTMLElement {
  const id = list.getAttribute("aria-activedescendant");
  expect(id, "the list names its active row for screen readers").toBeTruthy();
  return document.getElementById(id!)!;
}

describe("review list", () => {
  it("groups conflicts by customer and shows every system's value side by side", async () => {
    const { list } = await open();
    const groups = within(list).getAllByTestId("review-group");
    expect(groups[0], "a heading names the customer").toHaveTextContent("Customer");
    const first = within(list).getAllByTestId("conflict-row")[0]!;
    const values = within(first).getAllByTestId("conflict-value");
    expect(values.length, "one button per system's value").toBeGreaterThanOrEqual(2);
    expect(values[0], "each value says which system it is from").toHaveTextContent("Sales CRM");
    expect(first, "a suggested value is marked").toHaveTextContent("Suggested");
    expect(screen.getByTestId("review-why"), "the panel says why a winner is suggested").toHaveTextContent("because");
  });

  it("renders only the rows on screen for 5,000 conflicts", async () => {
    const { list } = await open(sampleConflicts(5000));
    const drawn = within(list).getAllByTestId("conflict-row").length;
    expect(drawn, "virtualised: the DOM holds a screenful, not 5,000 rows").toBeLessThan(40);
    expect(screen.getByTestId("review-counts"), "the count covers every conflict").toHaveTextContent("5,000 shown");
  });
});

describe("keyboard path", () => {
  it("puts focus on the list once conflicts arrive, so the keys work at once", async () => {
    renderWithBackend(<ReviewBoard />, createMockBackend({ conflicts: sampleConflicts(6) }));
    const list = await screen.findByTestId("review-list");
    await waitFor(() => expect(list, "no click is needed before the first key").toHaveFocus());
  });

  it("leaves focus where a keyboard user put it", async () => {
    const before = document.createElement("button");
    document.body.append(before);
    before.focus();
    renderWithBackend(<ReviewBoard />, createMockBackend({ conflicts: sampleConflicts(6) }));
    await screen.findAllByTestId("conflict-row");
    expect(before, "focus is not taken from a control that holds it").toHaveFocus();
    before.remove();
  });

  it("moves with the arrows, picks with 2 and confirms with Enter", async () => {
    const conflicts = sampleConflicts(24);
    const { list, user, spies } = await open(conflicts);
    const rows = buildRows(conflicts, { entity: "all", field: "", text: "" }).filter((r) => r.kind === "conflict");
    expect(activeRow(list).dataset.conflictId, "the first conflict starts active").toBe(String(rows[0]!.kind === "conflict" && rows[0]!.conflict.id));

    await user.keyboard("{ArrowDown}");
    const second = rows[1]!.kind === "conflict" ? rows[1]!.conflict : undefined;
    expect(activeRow(list).dataset.conflictId, "ArrowDown moves to the next conflict, skipping headings").toBe(String(second!.id));
    await user.keyboard("{ArrowUp}{ArrowDown}");
    expect(activeRow(list).dataset.conflictId, "ArrowUp goes back and ArrowDown returns").toBe(String(second!.id));

    await user.keyboard("2");
    await user.keyboard("{Enter}");
    await waitFor(() =>
      expect(spies.decide, "Enter confirms the system picked with 2").toHaveBeenCalledWith(second!.id, second!.values[1]!.record, null),
    );
    const decidedRow = document.getElementById(`conflict-${second!.id}`)!;
    expect(within(decidedRow).getByTestId("conflict-status"), "the row shows it is decided").toHaveTextContent("Decided");
    const third = rows[2]!.kind === "conflict" ? rows[2]!.conflict : undefined;
    expect(activeRow(list).dataset.conflictId, "Enter moves on to the next conflict").toBe(String(third!.id));
  });

  it("Enter without a pick takes the suggested winner", async () => {
    const conflicts = sampleConflicts(6);
    const { user, spies } = await open(conflicts);
    const first = buildRows(conflicts, { entity: "all", field: "", text: "" }).find((r) => r.kind === "conflict")!;
    const c = first.kind === "conflict" ? first.conflict : undefined;
    await user.keyboard("{Enter}");
    await waitFor(() => expect(spies.decide, "the suggestion is one keypress away").toHaveBeenCalledWith(c!.id, c!.suggestedWinner, null));
  });

  it("E types a value and Enter saves it", async () => {
    const conflicts = sampleConflicts(6);
    const { user, spies } = await open(conflicts);
    await user.keyboard("e");
    const input = await screen.findByTestId("review-typed");
    await waitFor(() => expect(input, "E puts the cursor in the typed-value field").toHaveFocus());
    await user.clear(input);
    await user.type(input, "accounts@harbour.example{Enter}");
    await waitFor(() =>
      expect(spies.decide, "a typed value is sent with no winning record").toHaveBeenCalledWith(expect.any(Number), null, "accounts@harbour.example"),
    );
    await waitFor(() => expect(screen.getByTestId("review-list"), "focus returns to the list for the next decision").toHaveFocus());
  });

  it("Escape leaves the typed value without deciding", async () => {
    const { user, spies } = await open(sampleConflicts(6));
    await user.keyboard("e");
    const input = await screen.findByTestId("review-typed");
    await waitFor(() => expect(input).toHaveFocus());
    await user.keyboard("{Escape}");
    expect(spies.decide, "Escape must not decide anything").not.toHaveBeenCalled();
    expect(screen.getByTestId("review-list"), "and focus goes back to the list").toHaveFocus();
  });

  it("U undoes the last decision", async () => {
    const { user, spies, list } = await open(sampleConflicts(6));
    await user.keyboard("{Enter}");
    await waitFor(() => expect(spies.decide).toHaveBeenCalledTimes(1));
    const decidedId = spies.decide.mock.calls[0]![0];
    await user.keyboard("u");
    await waitFor(() => expect(spies.undo, "U takes back the decision just made").toHaveBeenCalledWith(decidedId));
    const row = within(list).getAllByTestId("conflict-row").find((r) => r.dataset.conflictId === String(decidedId))!;
    await waitFor(() => expect(within(row).getByTestId("conflict-status"), "the row is open again").toHaveTextContent("Open"));
  });

  it("keeps up with fast typing: decisions show at once and reach the backend in order", async () => {
    const { user, spies, list } = await open(sampleConflicts(12));
    const order: string[] = [];
    spies.decide.mockImplementation(async (id) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      order.push(`decide ${id}`);
    });
    spies.undo.mockImplementation(async (id) => {
      order.push(`undo ${id}`);
    });
    await user.keyboard("{Enter}{Enter}");
    expect(within(list).getAllByTestId("conflict-status").filter((b) => b.textContent === "Decided").length, "both rows show decided before the backend answers").toBe(2);
    await user.keyboard("u");
    await waitFor(() => expect(order, "the undo waits for the decision it undoes").toHaveLength(3));
    const [first, second] = spies.decide.mock.calls.map((call) => call[0]);
    expect(order, "calls reach the backend in the order they were typed").toEqual([`decide ${first}`, `decide ${second}`, `undo ${second}`]);
  });

  it("R proposes the picked system as a rule for every similar conflict, and Enter applies it", async () => {
    const conflicts = sampleConflicts(60);
    const { user, spies } = await open(conflicts);
    await user.keyboard("r");
    const rule = await screen.findByTestId("review-rule");
    const first = buildRows(conflicts, { entity: "all", field: "", text: "" }).find((r) => r.kind === "conflict")!;
    const c = first.kind === "conflict" ? first.conflict : undefined;
    const winner = c!.values.find((v) => v.record === c!.suggestedWinner)!;
    expect(rule, "the rule is spelled out before it is applied").toHaveTextContent(`${winner.system} wins`);
    await waitFor(() => expect(screen.getByTestId("review-rule-apply"), "Apply has focus, so Enter applies").toHaveFocus());
    await user.keyboard("{Enter}");
    await waitFor(() => expect(spies.rule, "the rule names the field and the winning system").toHaveBeenCalledWith(c!.field, winner.system));
    expect(screen.getByTestId("review-counts"), "every similar open conflict counts as decided").not.toHaveTextContent(" 0 decided now");
  });
});

describe("mouse and filters", () => {
  it("clicking a value decides that conflict", async () => {
    const { user, spies, list } = await open(sampleConflicts(6));
    const row = within(list).getAllByTestId("conflict-row")[0]!;
    const button = within(row).getAllByTestId("conflict-value")[1]!;
    await user.click(button);
    const id = Number(row.dataset.conflictId);
    await waitFor(() => expect(spies.decide, "the clicked system wins").toHaveBeenCalledWith(id, expect.any(String), null));
  });

  it("searches values and filters by field", async () => {
    const { user, list } = await open(sampleConflicts(30));
    await user.type(screen.getByTestId("review-search"), "Harbour St");
    await waitFor(() => {
      for (const row of within(list).getAllByTestId("conflict-row"))
        expect(row, "only rows whose values match the search remain").toHaveTextContent("Harbour St");
    });
    await user.clear(screen.getByTestId("review-search"));
    await user.selectOptions(screen.getByTestId("review-field"), "phone");
    await waitFor(() => {
      for (const row of within(list).getAllByTestId("conflict-row")) expect(row, "only the chosen field remains").toHaveTextContent("Phone");
    });
  });

  it("says so when there is nothing to review", async () => {
    renderWithBackend(<ReviewBoard />, createMockBackend({ conflicts: [] }));
    expect(await screen.findByTestId("review-empty"), "an empty workspace is explained, not blank").toHaveTextContent("Nothing to review");
  });

  it("shows a failed decision with its code", async () => {
    const backend = createMockBackend({ conflicts: sampleConflicts(6), failures: { decideConflict: { code: "store", message: "The database is locked." } } });
    renderWithBackend(<ReviewBoard />, backend);
    const list = await screen.findByTestId("review-list");
    await act(async () => list.focus());
    await userEvent.setup().keyboard("{Enter}");
    const banner = await screen.findByTestId("error-banner");
    expect(banner, "the bookkeeper sees why nothing changed").toHaveTextContent("The database is locked.");
    expect(banner, "with the code").toHaveTextContent("store");
  });
});
