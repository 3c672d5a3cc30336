/**
 * Test helpers: render a component, or the whole app, against a mock backend.
 */
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { createMockBackend, type Backend } from "../backend";
import { BackendProvider } from "../backend/context";

export function renderWithBackend(ui: ReactElement, backend: Backend = createMockBackend()) {
  return { backend, ...render(<BackendProvider backend={backend} kind="mock">{ui}</BackendProvider>) };
}
