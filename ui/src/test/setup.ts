/**
 * Vitest set-up for every test file: jest-dom matchers, a fresh DOM after each
 * test, and the browser APIs jsdom lacks.
 */
import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

afterEach(() => {
  cleanup();
  localStorage.clear();
  delete document.documentElement.dataset.theme;
});
