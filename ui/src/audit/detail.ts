/**
 * Turns an audit entry's `detail` (JSON text, as the store keeps it) into one
 * short line a bookkeeper can read, e.g. `{"fetched":42,"provider":"hubspot"}`
 * becomes "fetched: 42, provider: hubspot". The full JSON stays available as a
 * tooltip; text that is not JSON is shown as it is.
 */

/** Longest line shown before it is cut with an ellipsis. */
export const DETAIL_MAX_CHARS = 160;

export function summariseDetail(detail: string): string {
  let value: unknown;
  try {
    value = JSON.parse(detail);
  } catch {
    return truncate(detail.trim());
  }
  return truncate(describe(value, true));
}

function describe(value: unknown, top: boolean): string {
  if (value === null || value === undefined) return top ? "" : "none";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    const items = value.map((item) => describe(item, false));
    return top ? items.join(", ") : `[${items.join(", ")}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).map(
    ([key, item]) => `${key}: ${describe(item, false)}`,
  );
  return top ? entries.join(", ") : `{${entries.join(", ")}}`;
}

function truncate(text: string): string {
  return text.length > DETAIL_MAX_CHARS ? `${text.slice(0, DETAIL_MAX_CHARS - 1)}…` : text;
}
