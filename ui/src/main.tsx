/**
 * Start-up: pick the backend (Tauri inside the app, the mock in a plain browser),
 * apply the remembered theme before the first paint, and render the window.
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app/App";
import { SCREENS, type ScreenId } from "./app/screens";
import { chooseBackend } from "./backend";
import { applyThemeChoice, readThemeChoice } from "./shared/theme";
import "./styles.css";

applyThemeChoice(readThemeChoice());
const { backend, kind } = chooseBackend();
// In a browser preview, ?screen=<id> opens a screen directly (handy for screenshots).
const wanted = new URLSearchParams(window.location.search).get("screen");
const initialScreen = kind === "mock" ? SCREENS.find((screen) => screen.id === wanted)?.id : undefined;
const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root element");

createRoot(root).render(
  <StrictMode>
    <App backend={backend} kind={kind} initialScreen={initialScreen satisfies ScreenId | undefined} />
  </StrictMode>,
);
