/**
 * The colour tokens in styles.css meet WCAG 2.1 AA in both themes: 4.5:1 for
 * text, 3:1 for the focus ring against what it sits on. Computed from the CSS
 * itself, so a palette tweak cannot quietly break readability.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const css = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "styles.css"), "utf8");

function tokens(selector: string): Record<string, string> {
  const start = css.indexOf(`${selector} {`);
  if (start < 0) throw new Error(`styles.css has no "${selector} {" block`);
  const block = css.slice(start, css.indexOf("}", start));
  return Object.fromEntries([...block.matchAll(/--([\w-]+):\s*(#[0-9a-f]{6})\s*;/gi)].map((m) => [m[1]!, m[2]!]));
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** [foreground, background, minimum ratio, where it is used] */
const PAIRS: Array<[string, string, number, string]> = [
  ["text", "bg", 4.5, "body text"],
  ["text", "surface", 4.5, "tables, header"],
  ["text", "surface-sunken", 4.5, "navigation"],
  ["text", "accent-soft", 4.5, "the current nav item"],
  ["text", "neutral-bg", 4.5, "neutral badges"],
  ["muted", "surface", 4.5, "secondary text in tables"],
  ["muted", "bg", 4.5, "screen lead text"],
  ["muted", "surface-sunken", 4.5, "table headings"],
  ["accent-text", "accent", 4.5, "primary buttons"],
  ["ok-text", "ok-bg", 4.5, "verified chain, connected badge"],
  ["warning-text", "warning-bg", 4.5, "needs sign-in badge"],
  ["error-text", "error-bg", 4.5, "error banner, broken chain"],
  ["focus", "bg", 3, "focus ring on the page"],
  ["focus", "surface", 3, "focus ring in the header and tables"],
  ["focus", "surface-sunken", 3, "focus ring in the navigation"],
];

describe.each([
  ["light", ":root"],
  ["dark", ':root[data-theme="dark"]'],
])("%s theme", (_theme, selector) => {
  const palette = tokens(selector);
  it.each(PAIRS)("%s on %s", (fg, bg, minimum, use) => {
    expect(palette[fg], `--${fg} is defined`).toBeDefined();
    expect(palette[bg], `--${bg} is defined`).toBeDefined();
    expect(contrast(palette[fg]!, palette[bg]!), `${use}: WCAG AA needs ${minimum}:1`).toBeGreaterThanOrEqual(minimum);
  });
});

it("the system dark theme and the pinned dark theme are the same palette", () => {
  const start = css.indexOf(':root:not([data-theme="light"]) {');
  const system = css.slice(start, css.indexOf("}", start));
  const pinned = tokens(':root[data-theme="dark"]');
  for (const [name, value] of Object.entries(pinned))
    expect(system, `--${name} must match in both dark blocks`).toContain(`--${name}: ${value};`);
});
