/**
 * Links between records: the suggested ones with their evidence, to confirm or
 * reject, and every other state to review or undo; plus linking two records by
 * hand by their keys (`connection/object/id`, as shown in each row).
 */
import { useState } from "react";
import type { ApiError, LinkAction, LinkView } from "../backend";
import { useBackend } from "../backend/context";
import { EmptyState } from "../shared/EmptyState";
import { ShownOf } from "../shared/ShownOf";
import { ErrorBanner } from "../shared/ErrorBanner";
import { formatCount } from "../shared/format";
import { Spinner } from "../shared/Spinner";
import { useLoad } from "../shared/useLoad";

const STATES: Array<[string, string]> = [
  ["suggested", "Suggested"],
  ["auto", "Linked automatically"],
  ["confirmed", "Confirmed"],
  ["manual", "Linked by hand"],
  ["rejected", "Rejected"],
];

const METHODS: Record<string, string> = {
  cross_reference: "cross-reference",
  tax_number: "same ABN",
  email: "same email",
  phone: "same phone",
  probabilistic: "similar details",
  reference: "same reference",
  manual: "by hand",
};

const SHOWN = 300;

export function LinkTable() {
  const backend = useBackend();
  const [state, setState] = useState("suggested");
  const [entity, setEntity] = useState("");
  const [version, setVersion] = useState(0);
  const links = useLoad(() => backend.links(state, entity === "" ? null : entity), [backend, state, entity, version]);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<Map<string, string>>(() => new Map());
  const [left, setLeft] = useState("");
  const [right, setRight] = useState("");
  const [notice, setNotice] = useState("");

  async function act(link: Pick<LinkView, "left" | "right">, action: LinkAction) {
    setError(null);
    try {
      const after = await backend.decideLink(link.left, link.right, action);
      setDone((m) => new Map(m).set(`${link.left} ${link.right}`, after.state));
      setNotice(`${link.left} and ${link.right}: ${after.state}. Run matching (Connections → Sync now, or the button above) to update conflicts.`);
      return true;
    } catch (e) {
      setError(e as ApiError);
      return false;
    }
  }

  async function runMatching() {
    setError(null);
    try {
      const summary = await backend.runMatching();
      setNotice(`Matching ran: ${formatCount(summary.autoLinks)} automatic links, ${formatCount(summary.suggestedLinks)} suggestions, ${formatCount(summary.conflicts)} conflicts.`);
      setDone(new Map());
      setVersion((v) => v + 1);
    } catch (e) {
      setError(e as ApiError);
    }
  }

  const rows = links.data ?? [];
  return (
    <div className="matches">
      <div className="toolbar">
        <label>
          Show{" "}
          <select value={state} onChange={(e) => setState(e.target.value)} data-testid="links-state">
            {STATES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Of{" "}
          <select value={entity} onChange={(e) => setEntity(e.target.value)}>
            <option value="">Customers and documents</option>
            <option value="party">Customers</option>
            <option value="document">Documents</option>
          </select>
        </label>
        <button type="button" className="button" onClick={() => void runMatching()} data-testid="run-matching">
          Run matching again
        </button>
        <span className="muted">{links.data ? `${formatCount(rows.length)} links` : ""}</span>
      </div>
      <p className="visually-hidden" role="status" aria-live="polite">
        {notice}
      </p>
      {notice && <p className="muted small">{notice}</p>}
      {error && <ErrorBanner error={error} />}
      {links.error && <ErrorBanner error={links.error} onRetry={links.reload} />}
      {links.data === undefined ? (
        <Spinner label="Loading links…" />
      ) : rows.length === 0 ? (
        <EmptyState title="No links in this state" testId="links-empty">
          <p>Suggestions appear after a sync, when two records look alike but not certainly the same.</p>
        </EmptyState>
      ) : (
        <div className="table-frame">
          <table className="table" data-testid="links-table">
            <caption className="visually-hidden">Links</caption>
            <thead>
              <tr>
                <th scope="col">Record</th>
                <th scope="col">Linked to</th>
                <th scope="col">Why</th>
                <th scope="col">Score</th>
                <th scope="col">Decision</th>
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, SHOWN).map((l) => {
                const decided = done.get(`${l.left} ${l.right}`);
                return (
                  <tr key={`${l.left} ${l.right}`} data-testid="link-row">
                    <td>
                      <strong>{l.leftSystem}</strong> {l.leftId}
                      <div className="muted small">
                        <code>{l.left}</code>
                      </div>
                    </td>
                    <td>
                      <strong>{l.rightSystem}</strong> {l.rightId}
                      <div className="muted small">
                        <code>{l.right}</code>
                      </div>
                      {l.sameSystem && <span className="badge badge-warning">Possible duplicate</span>}
                    </td>
                    <td>
                      <span className="muted small">{METHODS[l.method] ?? l.method}</span>
                      <ul className="evidence">
                        {(l.reasons.length > 0 ? l.reasons : l.evidence.map((text): LinkView["reasons"][number] => ({ text, sign: "neutral" }))).map((r) => (
                          <li
                            key={r.text}
                            className={`evidence-${r.sign}`}
                            title={r.weight === undefined ? undefined : `${r.weight > 0 ? "+" : ""}${r.weight.toFixed(1)} bits of evidence ${r.weight >= 0 ? "for" : "against"} the link`}
                          >
                            <span aria-hidden="true">{r.sign === "for" ? "✓ " : r.sign === "against" ? "✗ " : "• "}</span>
                            {r.sign === "against" && <span className="visually-hidden">against: </span>}
                            {r.text}
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td title={`Concord links on its own at ${Math.round(l.autoThreshold * 100)}%`}>{Math.round(l.score * 100)}%</td>
                    <td className="nowrap">
                      {decided ? (
                        <span className="badge badge-ok">{decided}</span>
                      ) : l.state === "suggested" ? (
                        <>
                          <button type="button" className="button" onClick={() => void act(l, "confirm")} data-testid="link-confirm">
                            Confirm
                          </button>{" "}
                          <button type="button" className="button" onClick={() => void act(l, "reject")} data-testid="link-reject">
                            Not the same
                          </button>
                        </>
                      ) : l.state === "rejected" ? (
                        <button type="button" className="button" onClick={() => void act(l, "link")}>
                          Link after all
                        </button>
                      ) : (
                        <button type="button" className="button" onClick={() => void act(l, "unlink")} data-testid="link-unlink">
                          Unlink
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <ShownOf shown={SHOWN} total={rows.length} />
        </div>
      )}
      <form
        className="toolbar link-by-hand"
        aria-label="Link two records by hand"
        onSubmit={(e) => {
          e.preventDefault();
          void act({ left: left.trim(), right: right.trim() }, "link").then((ok) => {
            if (ok) {
              setLeft("");
              setRight("");
            }
          });
        }}
      >
        <label>
          Record <input className="input" required value={left} onChange={(e) => setLeft(e.target.value)} placeholder="1/contacts/123" data-testid="link-left" />
        </label>
        <label>
          and <input className="input" required value={right} onChange={(e) => setRight(e.target.value)} placeholder="3/contacts/ABC" data-testid="link-right" />
        </label>
        <button type="submit" className="button">
          Link by hand
        </button>
      </form>
    </div>
  );
}
