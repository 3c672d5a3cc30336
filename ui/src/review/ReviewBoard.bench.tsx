/**
 * How long the Review screen takes to show its first screen of conflicts with
 * 50,000 of them (`npm run bench`; the target is under 500 ms). Timed from
 * render to the first conflict row in the DOM. The screen asks for a first page
 * of 400 conflicts (sorted by entity key in Rust) and shows it while the other
 * pages follow in the background; timed two ways:
 * - "data in hand": the backend answers with the list at once, so the figure is
 *   the UI's own work (filtering, grouping and sorting, and React's first
 *   commit of the virtualised list);
 * - "with a JSON copy": the answer is first serialised and parsed, standing in
 *   for the copy Tauri's IPC makes of the payload.
 * Each prints its median and worst time after the run.
 */
import { cleanup, render, screen } from "@testing-library/react";
import { afterAll, beforeAll, bench, describe } from "vitest";
import { createMockBackend, sampleConflicts, type Backend, type ConflictView } from "../backend";
import { BackendProvider } from "../backend/context";
import { ReviewBoard } from "./ReviewBoard";

const COUNT = 50_000;
const conflicts = sampleConflicts(COUNT);
const timings: Record<string, number[]> = {};

// jsdom lays nothing out; give elements a viewport so the virtualiser draws a screenful.
beforeAll(() => {
  Object.defineProperty(Element.prototype, "clientHeight", { configurable: true, get: () => 480 });
  Object.defineProperty(Element.prototype, "clientWidth", { configurable: true, get: () => 960 });
});
afterAll(() => {
  for (const [name, list] of Object.entries(timings)) {
    const times = [...list].sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] ?? Number.NaN;
    console.log(`${name}: median ${median.toFixed(0)} ms, worst ${(times.at(-1) ?? Number.NaN).toFixed(0)} ms over ${times.length} runs (target < 500 ms)`);
  }
});

/** A backend whose pages come from `copy(conflicts)`, sliced as Rust slices them. */
function backendAnswering(copy: (list: ConflictView[]) => ConflictView[]): Backend {
  return {
    ...createMockBackend({ conflicts: [] }),
    conflictPage: async (_status, offset, limit) => ({ total: conflicts.length, conflicts: copy(conflicts.slice(offset, offset + limit)) }),
  };
}

async function firstScreen(name: string, backend: Backend) {
  const start = performance.now();
  render(
    <BackendProvider backend={backend} kind="mock">
      <ReviewBoard />
    </BackendProvider>,
  );
  await screen.findAllByTestId("conflict-row", undefined, { timeout: 10_000, interval: 5 });
  (timings[name] ??= []).push(performance.now() - start);
  cleanup();
}

const options = { iterations: 8, warmupIterations: 1, time: 0 };

describe(`Review screen, ${COUNT.toLocaleString("en-AU")} conflicts`, () => {
  bench("first screen, data in hand", () => firstScreen("first screen, data in hand", backendAnswering((list) => list)), options);
  bench(
    "first screen, with a JSON copy of the answer",
    () => firstScreen("first screen, with a JSON copy of the answer", backendAnswering((list) => JSON.parse(JSON.stringify(list)) as ConflictView[])),
    options,
  );
});
