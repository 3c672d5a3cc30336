/**
 * Sync status and "Sync now": per connection, when it last synced, how fresh its
 * data is, records per stream, errors, drift warnings and the re-authorisation
 * prompt; while a sync runs, a progress bar per stream from `sync://progress`
 * and a Cancel button. After a sync, matching runs again so Review is current.
 */
import { useEffect, useRef, useState } from "react";
import type { ApiError, MatchSummary, Provider, SyncProgress, SyncRun } from "../backend";
import { useBackend } from "../backend/context";
import { ErrorBanner } from "../shared/ErrorBanner";
import { formatCount, formatDateTime } from "../shared/format";
import { Spinner } from "../shared/Spinner";
import { useLoad } from "../shared/useLoad";
import { PROVIDER_LABELS, STATUS_LABELS, STATUS_TONES } from "./labels";

type Phase = "idle" | "syncing" | "matching" | "cancelling";

const STREAM_STATUS: Record<string, string> = {
  never: "Never synced",
  running: "Running or interrupted",
  ok: "Up to date",
  failed: "Failed",
  needs_reauth: "Needs sign-in",
};

function newest(values: Array<string | null>): string | null {
  return values.reduce<string | null>((a, b) => (b !== null && (a === null || b > a) ? b : a), null);
}

export function SyncPanel(props: { version: number; onReconnect: (name: string, provider: Provider) => void; onSynced?: () => void }) {
  const backend = useBackend();
  const status = useLoad(() => backend.syncStatus(), [backend, props.version]);
  const [phase, setPhase] = useState<Phase>("idle");
  const [progress, setProgress] = useState<Map<string, SyncProgress>>(() => new Map());
  const [run, setRun] = useState<SyncRun | null>(null);
  const [matched, setMatched] = useState<MatchSummary | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  async function syncNow(names: string[]) {
    setPhase("syncing");
    setError(null);
    setRun(null);
    setMatched(null);
    setProgress(new Map());
    const unlisten = await backend.onSyncProgress((p) => {
      if (mounted.current) setProgress((m) => new Map(m).set(`${p.connection}/${p.stream}`, p));
    });
    try {
      const result = await backend.syncNow(names);
      if (!mounted.current) return;
      setRun(result);
      if (!result.cancelled) {
        setPhase("matching");
        setMatched(await backend.runMatching());
      }
    } catch (e) {
      if (mounted.current) setError(e as ApiError);
    } finally {
      unlisten();
      if (mounted.current) {
        setPhase("idle");
        status.reload();
        props.onSynced?.();
      }
    }
  }

  async function cancel() {
    setPhase("cancelling");
    try {
      await backend.cancelOperation("sync");
    } catch (e) {
      setError(e as ApiError);
    }
  }

  if (status.error && status.data === undefined) return <ErrorBanner error={status.error} onRetry={status.reload} />;
  if (status.data === undefined) return <Spinner label="Loading sync status…" />;
  if (status.data.length === 0) return null;

  const busy = phase !== "idle";
  const failed = run?.results.filter((r) => !r.ok) ?? [];
  const received = run?.results.reduce((n, r) => n + r.records, 0) ?? 0;
  const changed = run?.results.reduce((n, r) => n + r.changed, 0) ?? 0;

  return (
    <section className="sync-panel" aria-labelledby="sync-heading" data-testid="sync-panel">
      <div className="toolbar">
        <h2 id="sync-heading" className="section-title">
          Sync
        </h2>
        <button type="button" className="button button-primary" disabled={busy} onClick={() => void syncNow([])} data-testid="sync-now">
          Sync now
        </button>
        {phase === "syncing" || phase === "cancelling" ? (
          <button type="button" className="button" onClick={() => void cancel()} disabled={phase === "cancelling"} data-testid="sync-cancel">
            {phase === "cancelling" ? "Cancelling…" : "Cancel"}
          </button>
        ) : null}
        {phase === "matching" && <Spinner label="Matching records across systems…" testId="sync-matching" />}
      </div>

      {error && <ErrorBanner error={error} />}

      {(phase === "syncing" || phase === "cancelling") && (
        <div className="sync-progress" role="status" aria-live="polite" data-testid="sync-progress">
          {progress.size === 0 && <Spinner label="Starting…" />}
          {[...progress.values()].map((p) => {
            const total = p.remainingEstimate === null ? undefined : p.records + p.remainingEstimate;
            return (
              <div key={`${p.connection}/${p.stream}`} className="sync-progress-row">
                <span className="sync-progress-label">
                  {p.connection}: {p.stream}
                </span>
                <progress max={total ?? undefined} value={total === undefined ? undefined : p.phase === "finished" ? total : p.records} aria-label={`${p.connection} ${p.stream}`} />
                <span className="muted small">
                  {formatCount(p.records)} records · {formatCount(p.pages)} {p.pages === 1 ? "page" : "pages"}
                  {p.phase === "finished" ? " · done" : p.etaSeconds !== null ? ` · about ${Math.ceil(p.etaSeconds)} s left` : ""}
                  {p.rateLimitWaits > 0 ? ` · paused ${formatCount(p.rateLimitWaits)}× for the provider’s rate limit` : ""}
                  {p.error ? ` · ${p.error}` : ""}
                </span>
              </div>
            );
          })}
        </div>
      )}

      {run && (
        <p className={`banner ${failed.length > 0 ? "banner-warning" : "banner-ok"}`} role="status" data-testid="sync-result">
          {run.cancelled
            ? "Sync cancelled. Pages received before that are kept; the next sync carries on from there."
            : `Sync finished: ${formatCount(received)} records received, ${formatCount(changed)} new or changed${failed.length > 0 ? `, ${failed.length} ${failed.length === 1 ? "stream" : "streams"} failed (see below)` : ""}.`}
          {matched && ` Matching found ${formatCount(matched.conflicts)} conflicts to review and ${formatCount(matched.discrepancies)} discrepancies.`}
        </p>
      )}

      {status.data.map((c) => {
        const fresh = newest(c.streams.map((s) => s.freshest));
        const drift = c.streams.flatMap((s) => s.drift);
        const errors = c.streams.filter((s) => s.error);
        return (
          <article key={c.name} className="sync-card" data-testid="sync-card" aria-label={`${c.name} sync status`}>
            <header className="sync-card-header">
              <h3>{c.name}</h3>
              <span className="muted">{PROVIDER_LABELS[c.provider] ?? c.provider}</span>
              <span className={`badge badge-${STATUS_TONES[c.status] ?? "neutral"}`}>{STATUS_LABELS[c.status] ?? c.status}</span>
              <span className="muted small">
                Last sync: {c.lastSuccessfulSync ? <time dateTime={c.lastSuccessfulSync}>{formatDateTime(c.lastSuccessfulSync)}</time> : "never"}
                {" · "}Newest change: {fresh ? <time dateTime={fresh}>{formatDateTime(fresh)}</time> : "none yet"}
              </span>
              <button type="button" className="button button-quiet" disabled={busy || c.status !== "connected"} onClick={() => void syncNow([c.name])}>
                Sync {c.name}
              </button>
            </header>
            {c.needsReauth && (
              <div className="banner banner-warning" role="alert" data-testid="reauth-banner">
                <p>{PROVIDER_LABELS[c.provider]} no longer accepts this connection. Sign in again; its records and sync position are kept.</p>
                <button type="button" className="button" onClick={() => props.onReconnect(c.name, c.provider)}>
                  Sign in again
                </button>
              </div>
            )}
            {drift.length > 0 && (
              <div className="banner banner-warning" data-testid="drift-warning">
                <p>
                  The provider’s data has changed shape: {drift.map((d) => `${d.stream}.${d.field} ${d.kind.replace("_", " ")} (${d.detail}, ${formatCount(d.count)} records)`).join("; ")}.
                </p>
              </div>
            )}
            {errors.map((s) => (
              <p key={s.stream} className="banner banner-error" role="alert">
                {s.stream}: {s.error}
              </p>
            ))}
            <table className="table sync-streams">
              <caption className="visually-hidden">{c.name} streams</caption>
              <thead>
                <tr>
                  <th scope="col">Stream</th>
                  <th scope="col">Records</th>
                  <th scope="col">Newest change</th>
                  <th scope="col">Last success</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {c.streams.map((s) => (
                  <tr key={s.stream}>
                    <th scope="row">{s.stream}</th>
                    <td>{formatCount(s.records)}</td>
                    <td>{s.freshest ? formatDateTime(s.freshest) : <span className="muted">–</span>}</td>
                    <td>{s.lastSuccessAt ? formatDateTime(s.lastSuccessAt) : <span className="muted">Never</span>}</td>
                    <td>{STREAM_STATUS[s.status] ?? s.status}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </article>
        );
      })}
    </section>
  );
}
