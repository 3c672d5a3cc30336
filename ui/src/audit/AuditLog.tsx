/**
 * The audit log from `audit_entries`: a filter box that re-queries the backend
 * (the log can be long, so filtering happens in SQL, not here), a table newest
 * first, and "Show older entries" paging by `beforeId`.
 */
import { useEffect, useId, useState } from "react";
import { normaliseError, type ApiError, type AuditEntry } from "../backend";
import { useBackend } from "../backend/context";
import { EmptyState } from "../shared/EmptyState";
import { ErrorBanner } from "../shared/ErrorBanner";
import { formatCount, formatDateTime } from "../shared/format";
import { Spinner } from "../shared/Spinner";
import { useDebounced, useLoad } from "../shared/useLoad";
import { summariseDetail } from "./detail";

/** Entries fetched per page. */
export const AUDIT_PAGE_SIZE = 100;
/** How long typing must pause before the filter re-queries. */
export const FILTER_DELAY_MS = 250;

export function AuditLog() {
  const backend = useBackend();
  const filterId = useId();
  const [text, setText] = useState("");
  const query = useDebounced(text.trim(), FILTER_DELAY_MS);

  const firstPage = useLoad(
    () => backend.auditEntries({ text: query === "" ? null : query, limit: AUDIT_PAGE_SIZE, beforeId: null }),
    [backend, query],
  );

  // Older pages belong to one query; a new query starts from the newest again.
  const [older, setOlder] = useState<OlderPages>({ query, entries: [], pages: 0, done: false });
  const [olderError, setOlderError] = useState<ApiError | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  useEffect(() => {
    setOlder({ query, entries: [], pages: 0, done: false });
    setOlderError(null);
  }, [query, firstPage.data]);

  const entries = newestFirst([...(firstPage.data ?? []), ...(older.query === query ? older.entries : [])]);
  const mayHaveOlder =
    older.query === query && older.pages > 0
      ? !older.done
      : (firstPage.data?.length ?? 0) >= AUDIT_PAGE_SIZE;

  async function loadOlder() {
    const oldest = entries[entries.length - 1];
    if (!oldest) return;
    setLoadingOlder(true);
    setOlderError(null);
    try {
      const page = await backend.auditEntries({
        text: query === "" ? null : query,
        limit: AUDIT_PAGE_SIZE,
        beforeId: oldest.id,
      });
      setOlder((previous) =>
        previous.query === query
          ? {
              query,
              entries: [...previous.entries, ...page],
              pages: previous.pages + 1,
              done: page.length < AUDIT_PAGE_SIZE,
            }
          : previous,
      );
    } catch (error) {
      setOlderError(normaliseError(error));
    } finally {
      setLoadingOlder(false);
    }
  }

  return (
    <div className="audit-log">
      <div className="toolbar" role="search">
        <label htmlFor={filterId}>Filter</label>
        <input
          id={filterId}
          className="input"
          type="search"
          data-testid="audit-filter"
          placeholder="Actor, action, subject or detail"
          value={text}
          onChange={(event) => setText(event.target.value)}
        />
        {firstPage.loading && firstPage.data !== undefined && <Spinner label="Searching…" />}
        {firstPage.data !== undefined && (
          <span className="muted" aria-live="polite" data-testid="audit-count">
            {entries.length === 1 ? "1 entry shown" : `${formatCount(entries.length)} entries shown`}
          </span>
        )}
      </div>

      {firstPage.error && <ErrorBanner error={firstPage.error} onRetry={firstPage.reload} />}
      {firstPage.data === undefined && !firstPage.error && <Spinner label="Loading activity…" />}

      {firstPage.data !== undefined && entries.length === 0 && (
        <EmptyState
          title={query === "" ? "No activity recorded yet" : `No entries match “${query}”`}
          testId="audit-empty"
        >
          {query === "" ? (
            <p>Everything Concord and its users change in this workspace is recorded here.</p>
          ) : (
            <p>The filter matches actor, action, subject and detail. Clear it to see every entry.</p>
          )}
        </EmptyState>
      )}

      {entries.length > 0 && (
        <div className="table-frame">
          <table className="table" data-testid="audit-table">
            <caption className="visually-hidden">Audit entries, newest first</caption>
            <colgroup>
              <col className="col-time" />
              <col className="col-actor" />
              <col className="col-action" />
              <col />
            </colgroup>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Subject</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id} data-testid="audit-row" data-entry-id={entry.id}>
                  <td className="nowrap">
                    <time dateTime={entry.at} title={`${entry.at} (entry ${entry.id})`}>
                      {formatDateTime(entry.at)}
                    </time>
                  </td>
                  <td>{entry.actor}</td>
                  <td>
                    <code>{entry.action}</code>
                  </td>
                  <td>
                    <div>{entry.subject}</div>
                    <Detail json={entry.detail} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {olderError && <ErrorBanner error={olderError} onRetry={loadOlder} />}
      {entries.length > 0 && mayHaveOlder && (
        <button
          type="button"
          className="button"
          data-testid="audit-older"
          disabled={loadingOlder}
          onClick={loadOlder}
        >
          {loadingOlder ? "Loading older entries…" : "Show older entries"}
        </button>
      )}
    </div>
  );
}

function Detail(props: { json: string }) {
  const line = summariseDetail(props.json);
  if (line === "") return null;
  return (
    <div className="muted small" title={props.json}>
      {line}
    </div>
  );
}

interface OlderPages {
  /** The filter these pages were fetched for. */
  query: string;
  entries: AuditEntry[];
  pages: number;
  /** The last page came back short, so there is nothing older. */
  done: boolean;
}

/** Newest first by id (ids are the chain order), without duplicates. */
function newestFirst(entries: AuditEntry[]): AuditEntry[] {
  const byId = new Map(entries.map((entry) => [entry.id, entry]));
  return [...byId.values()].sort((a, b) => b.id - a.id);
}
