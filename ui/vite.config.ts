/**
 * Build, dev-server and test configuration for the Concord desktop UI.
 *
 * The dev server is what `tauri dev` loads (devUrl http://localhost:5173), so its
 * port is fixed. The production build goes to ui/dist, which src-tauri ships as
 * frontendDist. TSX is compiled by Vite's own transformer with the automatic JSX
 * runtime, so no React plugin is needed.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  clearScreen: false,
  server: {
    port: 5173,
    strictPort: true,
  },
  // Tauri's webviews: WebKit on macOS and Linux, Chromium (WebView2) on Windows.
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: ["es2022", "safari15", "chrome105"],
    sourcemap: false,
  },
  oxc: {
    jsx: { runtime: "automatic" },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
  },
});
