/**
 * The virtualised list of conflicts, grouped by customer or sale. Only the rows
 * on screen are in the DOM (@tanstack/react-virtual, fixed row heights), so
 * 50,000 conflicts scroll as smoothly as fifty.
 *
 * It is one ARIA listbox: focus stays on the list and the active row is named
 * by aria-activedescendant, so screen readers follow the keyboard. Keys are
 * handled by the parent (see ReviewBoard), which owns the decisions.
 */
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef, type KeyboardEvent } from "react";
import type { ConflictView } from "../backend";
import { formatDate } from "../shared/format";
import { fieldLabel, type ReviewRow } from "./rows";

export const GROUP_HEIGHT = 34;
export const CONFLICT_HEIGHT = 66;
/** The list grows with its rows up to this height, then scrolls (about six customers at 1280x800). */
const LIST_MAX_HEIGHT = 440;
/** Values shown side by side in a row; the panel below the list shows every one. */
const MAX_COLUMNS = 4;

/** What the bookkeeper chose for a conflict in this session. */
export interface Choice {
  /** The winning record, or null for a typed value. */
  winner: string | null;
  value: string;
  /** The rule it came from, when applied to many. */
  rule: string | null;
}

const STATUS_LABELS: Record<string, string> = {
  open: "Open",
  decided: "Decided",
  pushed: "Pushed",
  changed_since_decided: "Changed since decided",
  resolved: "Resolved",
};

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status;
}

export function ConflictList(props: {
  rows: readonly ReviewRow[];
  active: number;
  picks: ReadonlyMap<number, number>;
  choices: ReadonlyMap<number, Choice>;
  onActivate: (index: number) => void;
  onChoose: (conflict: ConflictView, valueIndex: number) => void;
  onKeyDown: (event: KeyboardEvent<HTMLDivElement>) => void;
  listRef?: React.RefObject<HTMLDivElement | null>;
}) {
  const { rows, active } = props;
  const scrollRef = useRef<HTMLDivElement | null>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => (rows[i]?.kind === "group" ? GROUP_HEIGHT : CONFLICT_HEIGHT),
    overscan: 8,
    initialRect: { width: 960, height: 480 },
  });

  useEffect(() => {
    if (active >= 0 && active < rows.length) virtualizer.scrollToIndex(active, { align: "auto" });
  }, [active, rows.length, virtualizer]);

  const activeRow = rows[active];
  const activeId = activeRow?.kind === "conflict" ? `conflict-${activeRow.conflict.id}` : undefined;

  return (
    <div
      ref={(el) => {
        scrollRef.current = el;
        if (props.listRef) props.listRef.current = el;
      }}
      className="review-list"
      style={{ height: Math.min(virtualizer.getTotalSize() + 2, LIST_MAX_HEIGHT) }}
      role="listbox"
      aria-label="Conflicts"
      aria-activedescendant={activeId}
      tabIndex={0}
      data-testid="review-list"
      onKeyDown={props.onKeyDown}
    >
      <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
        {virtualizer.getVirtualItems().map((item) => {
          const row = rows[item.index]!;
          const style = { position: "absolute" as const, top: 0, left: 0, right: 0, height: item.size, transform: `translateY(${item.start}px)` };
          if (row.kind === "group") {
            return (
              <div key={`g-${row.key}`} className="review-group" style={style} role="presentation" data-testid="review-group">
                <span className="review-group-label">{row.label}</span>
                <span className="muted small">
                  {row.count} {row.count === 1 ? "field differs" : "fields differ"}
                </span>
              </div>
            );
          }
          const c = row.conflict;
          const choice = props.choices.get(c.id);
          const pick = props.picks.get(c.id);
          return (
            <div
              key={`c-${c.id}`}
              id={`conflict-${c.id}`}
              role="option"
              aria-selected={item.index === active}
              className={`review-row${item.index === active ? " review-row-active" : ""}`}
              style={{ ...style, gridTemplateColumns: `150px repeat(${Math.max(3, Math.min(c.values.length, MAX_COLUMNS))}, minmax(0, 1fr))` }}
              data-testid="conflict-row"
              data-conflict-id={c.id}
              onMouseDown={() => props.onActivate(item.index)}
            >
              <div className="review-field">
                <span className="review-field-name">{fieldLabel(c.field)}</span>
                <span className={`badge badge-${choice ? "ok" : c.status === "open" ? "neutral" : "ok"}`} data-testid="conflict-status">
                  {choice ? (choice.winner === null ? "Typed value" : "Decided") : statusLabel(c.status)}
                </span>
              </div>
              {c.values.slice(0, MAX_COLUMNS).map((v, i) => {
                const suggested = v.record === c.suggestedWinner;
                const chosen = choice ? choice.winner === v.record : false;
                const picked = pick === i;
                return (
                  <button
                    key={v.record}
                    type="button"
                    tabIndex={-1}
                    className={`review-value${suggested ? " review-value-suggested" : ""}${chosen ? " review-value-chosen" : ""}${picked ? " review-value-picked" : ""}`}
                    title={`${i + 1}: use ${v.system}’s value`}
                    aria-label={`${i + 1}: ${v.system}: ${v.value || "(empty)"}${suggested ? ", suggested" : ""}${chosen ? ", chosen" : ""}`}
                    data-testid="conflict-value"
                    data-record={v.record}
                    data-value={v.value}
                    data-provider={v.provider ?? ""}
                    data-suggested={suggested ? "true" : undefined}
                    onClick={() => props.onChoose(c, i)}
                  >
                    <span className="review-value-text">{v.value === "" ? <span className="muted">(empty)</span> : v.value}</span>
                    <span className="review-value-meta">
                      <kbd>{i + 1}</kbd> {v.system}
                      {v.lastModified ? ` · ${formatDate(v.lastModified)}` : ""}
                      {suggested ? " · Suggested" : ""}
                    </span>
                  </button>
                );
              })}
              {choice && choice.winner === null && (
                <div className="review-value review-value-chosen review-value-typed">
                  <span className="review-value-text">{choice.value}</span>
                  <span className="review-value-meta">Typed value</span>
                </div>
              )}
            </div>
          );
        })}
      </div>
    </div>
  );
}
