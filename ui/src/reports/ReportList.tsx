/**
 * The reports, each with an Export button: the native save dialog picks the
 * file (tauri-plugin-dialog, suggesting a dated name), the CSV is written in
 * Rust, and the result says where it went, how many rows and the totals.
 */
import { useState } from "react";
import type { ApiError, ReportKindInfo, ReportSummary } from "../backend";
import { useBackend } from "../backend/context";
import { ErrorBanner } from "../shared/ErrorBanner";
import { formatCount, formatMoney } from "../shared/format";
import { Spinner } from "../shared/Spinner";
import { useLoad } from "../shared/useLoad";

export function ReportList() {
  const backend = useBackend();
  const kinds = useLoad(() => backend.reportKinds(), [backend]);
  const [bom, setBom] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [done, setDone] = useState<ReportSummary | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  async function exportReport(info: ReportKindInfo) {
    setError(null);
    setDone(null);
    setBusy(info.kind);
    try {
      const path = await backend.chooseReportPath(info.fileName);
      if (path !== null) setDone(await backend.exportReport(info.kind, path, { bom }));
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(null);
    }
  }

  if (kinds.error) return <ErrorBanner error={kinds.error} onRetry={kinds.reload} />;
  if (kinds.data === undefined) return <Spinner label="Loading reports…" />;
  return (
    <div className="reports">
      <label className="report-bom">
        <input type="checkbox" checked={bom} onChange={(e) => setBom(e.target.checked)} /> Add a byte-order mark (for Excel on Windows)
      </label>
      {error && <ErrorBanner error={error} />}
      {done && (
        <div className="banner banner-ok" role="status" data-testid="report-done">
          <p>
            Saved {formatCount(done.rows)} {done.rows === 1 ? "row" : "rows"} to <code data-testid="report-path">{done.path}</code>.
            {done.totals.filter((t) => t.amounts.length > 0).map((t) => ` ${t.currency || "No currency"}: ${t.amounts.map((a) => `${a.column} ${t.currency ? formatMoney(a.amount, t.currency) : a.amount}`).join(", ")}.`)}
            {done.note ? ` ${done.note}.` : ""}
          </p>
        </div>
      )}
      <ul className="report-list">
        {kinds.data.map((k) => (
          <li key={k.kind} className="report-item" data-testid={`report-${k.kind}`}>
            <div>
              <h2 className="section-title">{k.title}</h2>
              <p className="muted">{k.description}</p>
            </div>
            <button type="button" className="button" disabled={busy !== null} onClick={() => void exportReport(k)} data-testid={`export-${k.kind}`}>
              {busy === k.kind ? "Exporting…" : "Export CSV…"}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
