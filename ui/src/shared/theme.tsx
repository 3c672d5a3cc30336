/**
 * Light and dark themes. By default the UI follows the operating system
 * (`prefers-color-scheme`, handled purely in CSS); the toggle can pin light or
 * dark, which is remembered in localStorage and applied as `data-theme` on
 * <html>.
 */
import { useEffect, useState } from "react";

export type ThemeChoice = "system" | "light" | "dark";

const STORAGE_KEY = "concord.theme";
const ORDER: ThemeChoice[] = ["system", "light", "dark"];
const LABELS: Record<ThemeChoice, string> = {
  system: "Theme: system",
  light: "Theme: light",
  dark: "Theme: dark",
};

export function readThemeChoice(storage: Storage | undefined = safeStorage()): ThemeChoice {
  const stored = storage?.getItem(STORAGE_KEY);
  return stored === "light" || stored === "dark" ? stored : "system";
}

export function applyThemeChoice(choice: ThemeChoice, root: HTMLElement = document.documentElement): void {
  if (choice === "system") delete root.dataset.theme;
  else root.dataset.theme = choice;
}

function safeStorage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

export function ThemeToggle() {
  const [choice, setChoice] = useState<ThemeChoice>(() => readThemeChoice());

  useEffect(() => {
    applyThemeChoice(choice);
    const storage = safeStorage();
    if (choice === "system") storage?.removeItem(STORAGE_KEY);
    else storage?.setItem(STORAGE_KEY, choice);
  }, [choice]);

  const next = ORDER[(ORDER.indexOf(choice) + 1) % ORDER.length]!;
  return (
    <button
      type="button"
      className="button button-quiet theme-toggle"
      data-testid="theme-toggle"
      title={`Switch to ${LABELS[next].replace("Theme: ", "")}`}
      onClick={() => setChoice(next)}
    >
      {LABELS[choice]}
    </button>
  );
}
