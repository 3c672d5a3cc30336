/**
 * The Review list's data, computed once per load or filter change: conflicts
 * filtered, grouped by customer or sale, and flattened into the rows the
 * virtualised list draws (a heading per group, then one row per field).
 *
 * Pure and linear after one sort, so 50,000 conflicts group in tens of
 * milliseconds and the list only ever renders the rows on screen.
 */
import type { ConflictView } from "../backend";

export type EntityFilter = "all" | "party" | "sale";

export interface ReviewFilter {
  entity: EntityFilter;
  field: string;
  text: string;
}

export type ReviewRow =
  | { kind: "group"; key: string; label: string; entity: "party" | "sale" | "other"; count: number }
  | { kind: "conflict"; conflict: ConflictView; group: string };

const FIELD_LABELS: Record<string, string> = {
  personName: "Name",
  companyName: "Company",
  email: "Email",
  phone: "Phone",
  billingAddress: "Billing address",
  taxNumber: "ABN",
  currency: "Currency",
  amounts: "Amounts",
  status: "Status",
  date: "Date",
};

/** A field's name as a bookkeeper says it. */
export function fieldLabel(field: string): string {
  return FIELD_LABELS[field] ?? field.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/^./, (c) => c.toUpperCase());
}

export function entityOf(key: string): "party" | "sale" | "other" {
  if (key.startsWith("party:")) return "party";
  if (key.startsWith("sale:")) return "sale";
  return "other";
}

/** "Customer Acme Pty Ltd": the name the backend found, else one among the group's values, else the record key. */
function groupLabel(key: string, members: ConflictView[]): string {
  const entity = entityOf(key);
  const noun = entity === "party" ? "Customer" : entity === "sale" ? "Sale" : "Record";
  const named = members.find((c) => c.field === "companyName" || c.field === "personName");
  const name = members.find((c) => c.label)?.label ?? named?.suggestedValue ?? named?.values[0]?.value;
  return `${noun} ${name && name.trim() !== "" ? name : key.slice(key.indexOf(":") + 1)}`;
}

function matches(conflict: ConflictView, filter: ReviewFilter, needle: string): boolean {
  if (filter.entity !== "all" && entityOf(conflict.entityKey) !== filter.entity) return false;
  if (filter.field !== "" && conflict.field !== filter.field) return false;
  if (needle === "") return true;
  if (conflict.entityKey.toLowerCase().includes(needle) || conflict.field.toLowerCase().includes(needle)) return true;
  if (fieldLabel(conflict.field).toLowerCase().includes(needle)) return true;
  return conflict.values.some((v) => v.value.toLowerCase().includes(needle) || v.system.toLowerCase().includes(needle));
}

/** Filters, groups (by entity key, in key order) and flattens `conflicts`. */
export function buildRows(conflicts: readonly ConflictView[], filter: ReviewFilter): ReviewRow[] {
  const needle = filter.text.trim().toLowerCase();
  const kept = conflicts.filter((c) => matches(c, filter, needle));
  kept.sort((a, b) => (a.entityKey < b.entityKey ? -1 : a.entityKey > b.entityKey ? 1 : a.id - b.id));
  const rows: ReviewRow[] = [];
  for (let start = 0; start < kept.length; ) {
    const key = kept[start]!.entityKey;
    let end = start;
    while (end < kept.length && kept[end]!.entityKey === key) end++;
    const members = kept.slice(start, end);
    rows.push({ kind: "group", key, label: groupLabel(key, members), entity: entityOf(key), count: members.length });
    for (const conflict of members) rows.push({ kind: "conflict", conflict, group: key });
    start = end;
  }
  return rows;
}

/** The fields present, for the field filter, in label order. */
export function fieldsOf(conflicts: readonly ConflictView[]): string[] {
  return [...new Set(conflicts.map((c) => c.field))].sort((a, b) => fieldLabel(a).localeCompare(fieldLabel(b)));
}

/** The index of the next conflict row from `from` in direction `step`, or `from` when there is none. */
export function nextConflict(rows: readonly ReviewRow[], from: number, step: 1 | -1): number {
  for (let i = from + step; i >= 0 && i < rows.length; i += step) if (rows[i]!.kind === "conflict") return i;
  return from;
}
