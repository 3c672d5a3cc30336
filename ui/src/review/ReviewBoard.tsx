/**
 * Reviewing conflicts: filters and search, the virtualised list, and a panel
 * that explains the active conflict (every system's value and when it last
 * changed, the suggested winner and why) and takes the decision.
 *
 * The keyboard path, with focus on the list: ↑/↓ (or k/j) move, 1/2/3 (up to 9) pick a
 * system, Enter confirms the pick (or the suggestion) and moves on, E types a
 * value, R applies the pick as a rule to every similar conflict, U (or Ctrl+Z)
 * undoes the last decision. The mouse does the same through the value buttons
 * and the panel's buttons.
 */
import { useDeferredValue, useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import type { ApiError, ConflictView } from "../backend";
import { useBackend } from "../backend/context";
import { EmptyState } from "../shared/EmptyState";
import { ErrorBanner } from "../shared/ErrorBanner";
import { formatCount, formatDateTime } from "../shared/format";
import { Spinner } from "../shared/Spinner";
import { ConflictList, type Choice } from "./ConflictList";
import { useConflictPages } from "./useConflictPages";
import { buildRows, entityOf, fieldLabel, fieldsOf, nextConflict, type EntityFilter } from "./rows";

/** One undoable step: the conflicts it decided, and what it was. */
interface Step {
  ids: number[];
  label: string;
}

interface RuleProposal {
  field: string;
  system: string;
  ids: number[];
}

export function ReviewBoard() {
  const backend = useBackend();
  const [status, setStatus] = useState<"open" | "all">("open");
  const loaded = useConflictPages(status === "all" ? null : status);
  const [entity, setEntity] = useState<EntityFilter>("all");
  const [field, setField] = useState("");
  const [text, setText] = useState("");
  const search = useDeferredValue(text);
  const [active, setActive] = useState(-1);
  const [picks, setPicks] = useState<Map<number, number>>(() => new Map());
  const [choices, setChoices] = useState<Map<number, Choice>>(() => new Map());
  const [history, setHistory] = useState<Step[]>([]);
  const [typing, setTyping] = useState<string | null>(null);
  const [rule, setRule] = useState<RuleProposal | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string>("");
  const listRef = useRef<HTMLDivElement | null>(null);
  const typedRef = useRef<HTMLInputElement | null>(null);
  const applyRef = useRef<HTMLButtonElement | null>(null);

  // A proposed rule takes focus, so Enter applies it and Escape cancels it.
  useEffect(() => {
    if (rule) applyRef.current?.focus();
  }, [rule]);

  const conflicts = loaded.data;
  const rows = useMemo(() => buildRows(conflicts ?? [], { entity, field, text: search }), [conflicts, entity, field, search]);
  const fields = useMemo(() => fieldsOf(conflicts ?? []), [conflicts]);
  // Once the first page is on screen the list takes focus, so the keys work without a click;
  // but never from a control that has it (a keyboard user moving through the navigation keeps it).
  const focusedOnce = useRef(false);
  const hasRows = rows.length > 0;
  useEffect(() => {
    if (hasRows && !focusedOnce.current) {
      focusedOnce.current = true;
      const holder = document.activeElement;
      if (holder === null || holder === document.body) listRef.current?.focus({ preventScroll: true });
    }
  }, [hasRows]);

  const current = active >= 0 ? rows[active] : undefined;
  const activeConflict = current?.kind === "conflict" ? current.conflict : undefined;
  const firstConflict = useMemo(() => nextConflict(rows, -1, 1), [rows]);
  const activeIndex = activeConflict ? active : firstConflict;
  const focused = rows[activeIndex]?.kind === "conflict" ? (rows[activeIndex] as { conflict: ConflictView }).conflict : undefined;

  function backToList() {
    listRef.current?.focus();
  }

  function winnerOf(c: ConflictView): { record: string; value: string; system: string } | undefined {
    const pick = picks.get(c.id);
    const v = pick !== undefined ? c.values[pick] : c.values.find((x) => x.record === c.suggestedWinner);
    return v ? { record: v.record, value: v.value, system: v.system } : undefined;
  }

  // Decisions show at once and the backend calls run one after another in this queue, so a fast
  // typist never waits for a round trip and an undo can never overtake the decision it undoes.
  const queue = useRef<Promise<unknown>>(Promise.resolve());
  function enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = queue.current.then(work, work);
    queue.current = next.catch(() => undefined);
    return next;
  }

  function forget(ids: number[]) {
    setChoices((m) => {
      const next = new Map(m);
      for (const id of ids) next.delete(id);
      return next;
    });
  }

  async function decide(c: ConflictView, winner: string | null, value: string, advance: boolean) {
    setError(null);
    const previous = choices.get(c.id);
    setChoices((m) => new Map(m).set(c.id, { winner, value, rule: null }));
    setHistory((h) => [...h, { ids: [c.id], label: `${fieldLabel(c.field)} of ${c.entityKey}` }]);
    const system = winner === null ? "your typed value" : c.values.find((v) => v.record === winner)?.system ?? winner;
    setNotice(`${fieldLabel(c.field)}: ${system} chosen.`);
    if (advance) setActive(nextConflict(rows, activeIndex, 1));
    try {
      await enqueue(() => backend.decideConflict(c.id, winner, winner === null ? value : null));
    } catch (e) {
      // Put the row back as it was, and say why.
      setChoices((m) => {
        const next = new Map(m);
        if (previous) next.set(c.id, previous);
        else next.delete(c.id);
        return next;
      });
      setHistory((h) => {
        const at = h.findLastIndex((step) => step.ids.length === 1 && step.ids[0] === c.id);
        return at < 0 ? h : [...h.slice(0, at), ...h.slice(at + 1)];
      });
      setError(e as ApiError);
    }
  }

  async function undo() {
    const last = history.at(-1);
    if (!last) {
      setNotice("Nothing to undo.");
      return;
    }
    setError(null);
    setHistory((h) => h.slice(0, -1));
    forget(last.ids);
    setNotice(`Undone: ${last.label}.`);
    try {
      await enqueue(async () => {
        for (const id of last.ids) await backend.undoDecision(id);
      });
    } catch (e) {
      setError(e as ApiError);
      loaded.reload();
    }
  }

  function proposeRule(c: ConflictView) {
    const w = winnerOf(c);
    if (!w) return;
    const ids = (conflicts ?? [])
      .filter((x) => x.field === c.field && x.status === "open" && !choices.has(x.id) && x.values.some((v) => v.system === w.system))
      .map((x) => x.id);
    setRule({ field: c.field, system: w.system, ids });
  }

  async function applyRule(proposal: RuleProposal) {
    setError(null);
    try {
      const decided = await enqueue(() => backend.applyRule(proposal.field, proposal.system));
      const byId = new Map((conflicts ?? []).map((c) => [c.id, c]));
      setChoices((m) => {
        const next = new Map(m);
        for (const id of proposal.ids) {
          const c = byId.get(id);
          const v = c?.values.find((x) => x.system === proposal.system);
          if (v) next.set(id, { winner: v.record, value: v.value, rule: `${proposal.system} wins ${proposal.field}` });
        }
        return next;
      });
      setHistory((h) => [...h, { ids: proposal.ids, label: `${proposal.system} wins ${fieldLabel(proposal.field).toLowerCase()} (${proposal.ids.length})` }]);
      setNotice(`${proposal.system} now wins ${fieldLabel(proposal.field).toLowerCase()}: ${formatCount(decided)} conflicts decided.`);
      setRule(null);
      backToList();
    } catch (e) {
      setError(e as ApiError);
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.altKey || event.metaKey || (event.ctrlKey && event.key.toLowerCase() !== "z")) return;
    const c = focused;
    const page = 8;
    let to: number | undefined;
    switch (event.key) {
      case "ArrowDown":
      case "j":
        to = nextConflict(rows, activeIndex, 1);
        break;
      case "ArrowUp":
      case "k":
        to = nextConflict(rows, activeIndex, -1);
        break;
      case "PageDown":
        to = activeIndex;
        for (let i = 0; i < page; i++) to = nextConflict(rows, to, 1);
        break;
      case "PageUp":
        to = activeIndex;
        for (let i = 0; i < page; i++) to = nextConflict(rows, to, -1);
        break;
      case "Home":
        to = firstConflict;
        break;
      case "End":
        to = nextConflict(rows, rows.length, -1);
        break;
      case "1":
      case "2":
      case "3":
      case "4":
      case "5":
      case "6":
      case "7":
      case "8":
      case "9": {
        const i = Number(event.key) - 1;
        if (c && i < c.values.length) {
          setPicks((m) => new Map(m).set(c.id, i));
          setActive(activeIndex);
          setNotice(`${c.values[i]!.system}’s value picked: press Enter to confirm.`);
        }
        break;
      }
      case "Enter": {
        const w = c && winnerOf(c);
        if (c && w) void decide(c, w.record, w.value, true);
        break;
      }
      case "e":
      case "E":
        if (c) {
          setActive(activeIndex);
          setTyping(winnerOf(c)?.value ?? c.values[0]?.value ?? "");
          setTimeout(() => typedRef.current?.focus(), 0);
        }
        break;
      case "r":
      case "R":
        if (c) {
          setActive(activeIndex);
          proposeRule(c);
        }
        break;
      case "u":
      case "U":
        void undo();
        break;
      case "z":
      case "Z":
        if (event.ctrlKey) void undo();
        else return;
        break;
      default:
        return;
    }
    event.preventDefault();
    if (to !== undefined) setActive(to);
  }

  if (loaded.error && conflicts === undefined) return <ErrorBanner error={loaded.error} onRetry={loaded.reload} />;
  if (conflicts === undefined) return <Spinner label="Loading conflicts…" />;

  const open = conflicts.filter((c) => c.status === "open" && !choices.has(c.id)).length;
  const shown = rows.length - rows.filter((r) => r.kind === "group").length;

  return (
    <div className="review">
      <div className="toolbar review-toolbar" role="search">
        <label>
          <span className="visually-hidden">Search conflicts</span>
          <input
            className="input"
            type="search"
            placeholder="Search customers, fields, values, systems"
            value={text}
            onChange={(e) => setText(e.target.value)}
            data-testid="review-search"
          />
        </label>
        <label>
          Show{" "}
          <select value={entity} onChange={(e) => setEntity(e.target.value as EntityFilter)} data-testid="review-entity">
            <option value="all">Customers and sales</option>
            <option value="party">Customers</option>
            <option value="sale">Sales documents</option>
          </select>
        </label>
        <label>
          Field{" "}
          <select value={field} onChange={(e) => setField(e.target.value)} data-testid="review-field">
            <option value="">Every field</option>
            {fields.map((f) => (
              <option key={f} value={f}>
                {fieldLabel(f)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status{" "}
          <select value={status} onChange={(e) => setStatus(e.target.value as "open" | "all")} data-testid="review-status">
            <option value="open">Open</option>
            <option value="all">All</option>
          </select>
        </label>
        <span className="muted" data-testid="review-counts">
          {formatCount(shown)} shown · {formatCount(open)} open · {formatCount(choices.size)} decided now
        </span>
        {loaded.loading && (
          <span className="muted" data-testid="review-loading">
            Loading {formatCount(conflicts.length)} of {formatCount(loaded.total)}…
          </span>
        )}
      </div>

      {choices.size > 0 && (
        <p className="muted" data-testid="review-next">
          Nothing is written yet: open <strong>Push</strong> to preview and send your {formatCount(choices.size)} {choices.size === 1 ? "decision" : "decisions"}.
        </p>
      )}
      {error && <ErrorBanner error={error} />}
      <p className="visually-hidden" role="status" aria-live="polite" data-testid="review-notice">
        {notice}
      </p>

      {conflicts.length === 0 ? (
        <EmptyState title="Nothing to review" testId="review-empty">
          <p>Every linked customer and sale agrees across your systems. Sync again after changes, or see Matches for suggested links.</p>
        </EmptyState>
      ) : rows.length === 0 ? (
        <EmptyState title="No conflicts match these filters" testId="review-empty">
          <p>Clear the search or choose “Every field”.</p>
        </EmptyState>
      ) : (
        <div className="review-split">
          <ConflictList
            rows={rows}
            active={activeIndex}
            picks={picks}
            choices={choices}
            listRef={listRef}
            onActivate={setActive}
            onKeyDown={onKeyDown}
            onChoose={(c, i) => {
              const v = c.values[i]!;
              setActive(rows.findIndex((r) => r.kind === "conflict" && r.conflict.id === c.id));
              void decide(c, v.record, v.value, false);
            }}
          />
          {focused && (
            <section className="review-detail" aria-label="The active conflict" data-testid="review-detail">
              <h2 className="review-detail-title">
                {fieldLabel(focused.field)} <span className="muted">· {entityOf(focused.entityKey) === "sale" ? "sale" : "customer"} {focused.label ?? focused.entityKey.slice(focused.entityKey.indexOf(":") + 1)}</span>
              </h2>
              <table className="table review-values">
                <thead>
                  <tr>
                    <th scope="col">Key</th>
                    <th scope="col">System</th>
                    <th scope="col">Value</th>
                    <th scope="col">Last changed</th>
                  </tr>
                </thead>
                <tbody>
                  {focused.values.map((v, i) => (
                    <tr key={v.record} className={v.record === focused.suggestedWinner ? "review-suggested-row" : undefined}>
                      <td>
                        <kbd>{i + 1}</kbd>
                      </td>
                      <th scope="row">
                        {v.system} <span className="muted small">({v.role})</span>
                      </th>
                      <td className="review-value-cell">{v.value === "" ? <span className="muted">(empty)</span> : v.value}</td>
                      <td>{v.lastModified ? <time dateTime={v.lastModified}>{formatDateTime(v.lastModified)}</time> : <span className="muted">Not given</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p className="review-why" data-testid="review-why">
                <strong>Suggested:</strong>{" "}
                {focused.suggestedWinner
                  ? `${focused.values.find((v) => v.record === focused.suggestedWinner)?.system ?? focused.suggestedWinner}, because ${focused.reason}.`
                  : `no suggestion (${focused.reason}).`}
              </p>
              {rule ? (
                <div
                  className="review-rule"
                  role="group"
                  aria-label="Apply as a rule"
                  data-testid="review-rule"
                  onKeyDown={(e) => {
                    if (e.key === "Escape") {
                      setRule(null);
                      backToList();
                    }
                  }}
                >
                  <p>
                    <strong>{rule.system}</strong> wins <strong>{fieldLabel(rule.field).toLowerCase()}</strong> for every customer and sale: {formatCount(rule.ids.length)} open{" "}
                    {rule.ids.length === 1 ? "conflict" : "conflicts"} here, and the ones future syncs find.
                  </p>
                  <button type="button" className="button button-primary" ref={applyRef} onClick={() => void applyRule(rule)} data-testid="review-rule-apply">
                    Apply rule
                  </button>{" "}
                  <button type="button" className="button" onClick={() => (setRule(null), backToList())}>
                    Cancel
                  </button>
                </div>
              ) : typing !== null ? (
                <form
                  className="review-typed"
                  onSubmit={(e) => {
                    e.preventDefault();
                    const value = typing.trim();
                    if (value === "") return;
                    setTyping(null);
                    void decide(focused, null, value, true).then(backToList);
                  }}
                >
                  <label>
                    Type the right value{" "}
                    <input
                      ref={typedRef}
                      className="input"
                      value={typing}
                      onChange={(e) => setTyping(e.target.value)}
                      onKeyDown={(e) => {
                        if (e.key === "Escape") {
                          setTyping(null);
                          backToList();
                        }
                      }}
                      data-testid="review-typed"
                    />
                  </label>{" "}
                  <button type="submit" className="button button-primary">
                    Use this value
                  </button>
                </form>
              ) : (
                <div className="review-actions">
                  <button
                    type="button"
                    className="button button-primary"
                    data-testid="review-confirm"
                    onClick={() => {
                      const w = winnerOf(focused);
                      if (w) void decide(focused, w.record, w.value, true);
                    }}
                  >
                    Use {winnerOf(focused)?.system ?? "suggestion"} <kbd>Enter</kbd>
                  </button>
                  <button type="button" className="button" onClick={() => setTyping(winnerOf(focused)?.value ?? "")}>
                    Type a value <kbd>E</kbd>
                  </button>
                  <button type="button" className="button" onClick={() => proposeRule(focused)} data-testid="review-rule-open">
                    Apply as rule <kbd>R</kbd>
                  </button>
                  <button type="button" className="button" onClick={() => void undo()} disabled={history.length === 0} data-testid="review-undo">
                    Undo <kbd>U</kbd>
                  </button>
                </div>
              )}
              <p className="muted small">↑ ↓ move · 1 2 3 pick a system · Enter confirm · E type · R rule · U undo</p>
            </section>
          )}
        </div>
      )}
    </div>
  );
}
