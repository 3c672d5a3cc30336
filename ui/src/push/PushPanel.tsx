/**
 * Pushing decisions back: the preview of every write (record, field, old value
 * to new, or why it cannot be made), Push with a progress bar fed by
 * `push://progress` and a Cancel button, then the outcome; the dead letters
 * with Retry; and recent pushes with Undo (which writes the old values back).
 */
import { useEffect, useRef, useState } from "react";
import type { ApiError, OutboxEntry, PushProgress, PushRun, PushSummary } from "../backend";
import { useBackend } from "../backend/context";
import { EmptyState } from "../shared/EmptyState";
import { ErrorBanner } from "../shared/ErrorBanner";
import { formatCount, formatDateTime } from "../shared/format";
import { Spinner } from "../shared/Spinner";
import { useLoad } from "../shared/useLoad";

const SHOWN = 400;

function summaryText(s: PushSummary): string {
  const parts = [`${formatCount(s.verified)} verified`];
  if (s.stale > 0) parts.push(`${formatCount(s.stale)} changed since you decided (back in Review)`);
  if (s.deadLettered > 0) parts.push(`${formatCount(s.deadLettered)} failed (see Dead letters)`);
  if (s.skipped > 0) parts.push(`${formatCount(s.skipped)} cannot be written`);
  return `${s.ok ? "Pushed" : "Push finished with problems"}: ${formatCount(s.total)} ${s.total === 1 ? "write" : "writes"}, ${parts.join(", ")}.`;
}

function shown(value: string | null | undefined) {
  return value === null || value === undefined || value === "" ? <span className="muted">(empty)</span> : value;
}

export function PushPanel() {
  const backend = useBackend();
  const [version, setVersion] = useState(0);
  const plan = useLoad(() => backend.pushPlan(), [backend, version]);
  const dead = useLoad(() => backend.outbox("dead"), [backend, version]);
  const recent = useLoad(() => backend.outbox("verified"), [backend, version]);
  const [running, setRunning] = useState<"push" | "cancelling" | null>(null);
  const [progress, setProgress] = useState<PushProgress[]>([]);
  const [result, setResult] = useState<PushRun | null>(null);
  const [message, setMessage] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  async function withProgress<T>(work: () => Promise<T>): Promise<T | undefined> {
    setError(null);
    setProgress([]);
    const unlisten = await backend.onPushProgress((p) => {
      if (mounted.current) setProgress((list) => [...list, p]);
    });
    try {
      return await work();
    } catch (e) {
      if (mounted.current) setError(e as ApiError);
      return undefined;
    } finally {
      unlisten();
      if (mounted.current) setVersion((v) => v + 1);
    }
  }

  async function push() {
    setRunning("push");
    setResult(null);
    setMessage("");
    const run = await withProgress(() => backend.pushNow());
    if (mounted.current) {
      setRunning(null);
      if (run) setResult(run);
    }
  }

  async function cancel() {
    setRunning("cancelling");
    try {
      await backend.cancelOperation("push");
    } catch (e) {
      setError(e as ApiError);
    }
  }

  async function retry(entry: OutboxEntry) {
    const summary = await withProgress(() => backend.outboxRetry(entry.id));
    if (summary && mounted.current) setMessage(`Retry of ${entry.connection} ${entry.object} ${entry.externalId}: ${summaryText(summary)}`);
  }

  async function undo(conflictId: number) {
    const summary = await withProgress(() => backend.undoPush(conflictId));
    if (summary && mounted.current) setMessage(`Undone: ${formatCount(summary.verified)} ${summary.verified === 1 ? "value" : "values"} written back as they were.`);
  }

  const writes = plan.data ?? [];
  const ready = writes.filter((w) => w.skipped === null);
  const skipped = writes.length - ready.length;
  const last = progress.at(-1);
  const undoable = [...new Map((recent.data ?? []).filter((r) => r.purpose === "push" && r.conflictId !== null).map((r) => [r.conflictId!, r])).values()];

  return (
    <div className="push">
      {error && <ErrorBanner error={error} />}
      <section aria-labelledby="push-preview" className="push-section">
        <div className="toolbar">
          <h2 id="push-preview" className="section-title">
            Preview
          </h2>
          <button type="button" className="button button-primary" disabled={running !== null || ready.length === 0} onClick={() => void push()} data-testid="push-now">
            Push {formatCount(ready.length)} {ready.length === 1 ? "change" : "changes"}
          </button>
          {running && (
            <button type="button" className="button" disabled={running === "cancelling"} onClick={() => void cancel()} data-testid="push-cancel">
              {running === "cancelling" ? "Cancelling…" : "Cancel"}
            </button>
          )}
          {skipped > 0 && <span className="muted">{formatCount(skipped)} cannot be written (reasons below)</span>}
        </div>
        {running && (
          <div className="push-progress" role="status" aria-live="polite" data-testid="push-progress">
            <progress max={last?.total ?? undefined} value={last?.done ?? undefined} aria-label="Push progress" />
            <span className="muted small">
              {last ? `${formatCount(last.done)} of ${formatCount(last.total)}: ${last.connection} ${last.field} ${last.outcome}` : "Starting…"}
            </span>
          </div>
        )}
        {result && (
          <p className={`banner ${result.cancelled || !result.summary?.ok ? "banner-warning" : "banner-ok"}`} role="status" data-testid="push-result">
            {result.cancelled ? "Push cancelled. Writes already sent were kept; the rest wait for the next push." : result.summary ? summaryText(result.summary) : ""}
          </p>
        )}
        {message && (
          <p className="banner banner-ok" role="status" data-testid="push-message">
            {message}
          </p>
        )}
        {plan.error ? (
          <ErrorBanner error={plan.error} onRetry={plan.reload} />
        ) : plan.data === undefined ? (
          <Spinner label="Working out what to write…" />
        ) : writes.length === 0 ? (
          <EmptyState title="Nothing to push" testId="push-empty">
            <p>Decide conflicts on the Review screen; each decision becomes the writes listed here, and nothing is sent until you press Push.</p>
          </EmptyState>
        ) : (
          <div className="table-frame">
            <table className="table" data-testid="push-plan">
              <caption className="visually-hidden">Writes the push will make</caption>
              <thead>
                <tr>
                  <th scope="col">System</th>
                  <th scope="col">Record</th>
                  <th scope="col">Field</th>
                  <th scope="col">Now</th>
                  <th scope="col">Will be</th>
                </tr>
              </thead>
              <tbody>
                {writes.slice(0, SHOWN).map((w) => (
                  <tr key={`${w.record}/${w.field}/${w.decisionId}`} data-testid="push-write" data-record={w.record} data-provider={w.provider ?? ""} className={w.skipped ? "muted" : undefined}>
                    <th scope="row">{w.connection}</th>
                    <td>
                      {w.object} {w.externalId}
                    </td>
                    <td>{w.field}</td>
                    <td>{shown(w.oldValue)}</td>
                    <td>
                      {w.skipped ? (
                        <span>
                          Not written: {w.skipped}
                        </span>
                      ) : (
                        <strong data-testid="push-new-value">{shown(w.newValue)}</strong>
                      )}
                      {w.state && <span className="badge badge-neutral">{w.state}</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {writes.length > SHOWN && <p className="muted small table-note">The first {formatCount(SHOWN)} of {formatCount(writes.length)} writes are shown.</p>}
          </div>
        )}
      </section>

      <section aria-labelledby="push-dead" className="push-section">
        <h2 id="push-dead" className="section-title">
          Dead letters
        </h2>
        {dead.error ? (
          <ErrorBanner error={dead.error} onRetry={dead.reload} />
        ) : (dead.data ?? []).length === 0 ? (
          <p className="muted" data-testid="dead-empty">
            No failed writes.
          </p>
        ) : (
          <ul className="outbox-list" data-testid="dead-letters">
            {dead.data!.map((d) => (
              <li key={d.id} data-testid="dead-letter">
                <span>
                  <strong>{d.connection}</strong> {d.object} {d.externalId}, {d.field}: {d.lastError ?? "failed"} ({formatCount(d.attempts)} {d.attempts === 1 ? "attempt" : "attempts"})
                </span>
                <button type="button" className="button" disabled={running !== null} onClick={() => void retry(d)} data-testid="dead-retry">
                  Retry
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="push-recent" className="push-section">
        <h2 id="push-recent" className="section-title">
          Recent pushes
        </h2>
        {undoable.length === 0 ? (
          <p className="muted">Nothing pushed yet.</p>
        ) : (
          <ul className="outbox-list" data-testid="recent-pushes">
            {undoable.slice(0, 50).map((r) => (
              <li key={r.id} data-testid="recent-push">
                <span>
                  <strong>{r.connection}</strong> {r.object} {r.externalId}, {r.field}: {shown(r.oldValue)} → {shown(r.newValue)} <span className="muted small">({formatDateTime(r.updatedAt)})</span>
                </span>
                <button type="button" className="button" disabled={running !== null} onClick={() => void undo(r.conflictId!)} data-testid="push-undo">
                  Undo
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
