/**
 * How the UI reaches Rust: the `Backend` interface, its Tauri and mock
 * implementations, error normalisation, and the generated types.
 *
 * Screens never import `@tauri-apps/api` themselves; they receive a `Backend`
 * from `BackendProvider` (see context.tsx). `chooseBackend` picks the Tauri one
 * when the page runs inside a Tauri webview and the mock one otherwise.
 */
import type { Backend, BackendKind } from "./contract";
import { createMockBackend, mockScenario } from "./mock";
import { tauriBackend } from "./tauri";

export type { Backend, BackendKind, OperationKind, Unlisten } from "./contract";
export type * from "./types";
export { isApiError, normaliseError } from "./error";
export {
  createMockBackend,
  mockScenario,
  sampleConflicts,
  sampleConnections,
  sampleDiscrepancies,
  sampleEntries,
  sampleLinks,
  sampleMonths,
} from "./mock";
export type { BackendMethod, MockBackendOptions } from "./mock";
export { tauriBackend } from "./tauri";

/** The in-memory backend with its sample data. */
export const mockBackend: Backend = createMockBackend();

declare global {
  interface Window {
    /** Set by Tauri in its webviews before any page script runs. */
    __TAURI_INTERNALS__?: unknown;
  }
}

export function isTauri(win: Window = window): boolean {
  return win.__TAURI_INTERNALS__ !== undefined;
}

/** The backend for this page: Tauri inside the app, otherwise the mock, whose
 * scenario may be picked with `?mock=<name>` (see `mockScenario`). */
export function chooseBackend(win: Window = window): { backend: Backend; kind: BackendKind } {
  if (isTauri(win)) return { backend: tauriBackend, kind: "tauri" };
  const scenario = new URLSearchParams(win.location.search).get("mock");
  const backend = scenario ? createMockBackend(mockScenario(scenario)) : mockBackend;
  return { backend, kind: "mock" };
}
