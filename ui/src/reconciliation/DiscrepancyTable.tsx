/**
 * Order, invoice and payment discrepancies: what differs, how much, and which
 * records are involved, filterable by severity and kind. Amounts arrive as
 * decimal strings and are formatted exactly (never through a float).
 */
import { useMemo, useState } from "react";
import type { DiscrepancyView } from "../backend";
import { EmptyState } from "../shared/EmptyState";
import { ShownOf } from "../shared/ShownOf";
import { formatCount, formatDate, formatMoney } from "../shared/format";

const SEVERITY: Record<string, { label: string; tone: string }> = {
  error: { label: "Needs action", tone: "error" },
  warning: { label: "Check", tone: "warning" },
  info: { label: "For information", tone: "neutral" },
};

const SHOWN = 500;

export function kindLabel(kind: string): string {
  const text = kind.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function DiscrepancyTable(props: { discrepancies: readonly DiscrepancyView[] }) {
  const [severity, setSeverity] = useState("");
  const [kind, setKind] = useState("");
  const kinds = useMemo(() => [...new Set(props.discrepancies.map((d) => d.kind))].sort(), [props.discrepancies]);
  const rows = props.discrepancies.filter((d) => (severity === "" || d.severity === severity) && (kind === "" || d.kind === kind));
  if (props.discrepancies.length === 0)
    return (
      <EmptyState title="No discrepancies" testId="discrepancies-empty">
        <p>Every linked order, invoice and payment agrees, or nothing has been synced and matched yet.</p>
      </EmptyState>
    );
  return (
    <div>
      <div className="toolbar">
        <label>
          Severity{" "}
          <select value={severity} onChange={(e) => setSeverity(e.target.value)} data-testid="discrepancy-severity">
            <option value="">All</option>
            {Object.entries(SEVERITY).map(([value, { label }]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Kind{" "}
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">All</option>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {kindLabel(k)}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">{formatCount(rows.length)} shown</span>
      </div>
      <div className="table-frame">
        <table className="table" data-testid="discrepancy-table">
          <caption className="visually-hidden">Discrepancies</caption>
          <thead>
            <tr>
              <th scope="col">Severity</th>
              <th scope="col">Date</th>
              <th scope="col">What</th>
              <th scope="col">Details</th>
              <th scope="col" className="numeric">
                Amount at stake
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, SHOWN).map((d) => {
              const s = SEVERITY[d.severity] ?? { label: d.severity, tone: "neutral" };
              return (
                <tr key={d.id} data-testid="discrepancy-row">
                  <td>
                    <span className={`badge badge-${s.tone}`}>{s.label}</span>
                  </td>
                  <td className="nowrap">{d.date ? <time dateTime={d.date}>{formatDate(d.date)}</time> : <span className="muted">–</span>}</td>
                  <td>{kindLabel(d.kind)}</td>
                  <td>
                    {d.summary}
                    <div className="muted small">{d.records.join(" · ")}</div>
                  </td>
                  <td className="numeric">{d.amount === null ? <span className="muted">–</span> : formatMoney(d.amount, d.currency ?? undefined)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <ShownOf shown={SHOWN} total={rows.length} />
      </div>
    </div>
  );
}
