/**
 * Sales per month as stacked bars: matched, mismatched and missing. Drawn in
 * SVG with the theme's colours, labelled for screen readers, and backed by a
 * table of the same numbers, so no one needs the colours to read it.
 */
import type { MonthSummary } from "../backend";
import { formatCount, formatMonth } from "../shared/format";

const HEIGHT = 160;
const BAR = 30;
const GAP = 30;

const SERIES = [
  { key: "matched", label: "Matched", className: "chart-matched" },
  { key: "mismatched", label: "Mismatched", className: "chart-mismatched" },
  { key: "missing", label: "Missing a side", className: "chart-missing" },
] as const;

const monthLabel = (month: string) => formatMonth(month);

export function MonthChart(props: { months: readonly MonthSummary[] }) {
  const months = props.months.slice(-12);
  const max = Math.max(1, ...months.map((m) => m.matched + m.mismatched + m.missing));
  const width = months.length * (BAR + GAP) + GAP;
  const summary = months.map((m) => `${monthLabel(m.month)}: ${m.matched} matched, ${m.mismatched} mismatched, ${m.missing} missing`).join("; ");
  return (
    <figure className="month-chart" data-testid="month-chart">
      <figcaption className="section-title">Sales by month</figcaption>
      <div className="chart-legend" aria-hidden="true">
        {SERIES.map((s) => (
          <span key={s.key}>
            <span className={`chart-swatch ${s.className}`} /> {s.label}
          </span>
        ))}
      </div>
      <svg width={width} height={HEIGHT + 22} role="img" aria-label={`Sales by month: ${summary}`}>
        {months.map((m, i) => {
          const x = GAP + i * (BAR + GAP);
          let y = HEIGHT;
          return (
            <g key={m.month}>
              {SERIES.map((s) => {
                const h = (m[s.key] / max) * (HEIGHT - 4);
                y -= h;
                return <rect key={s.key} className={s.className} x={x} y={y} width={BAR} height={h} />;
              })}
              <text x={x + BAR / 2} y={HEIGHT + 16} textAnchor="middle" className="chart-label">
                {monthLabel(m.month)}
              </text>
            </g>
          );
        })}
      </svg>
      <table className="visually-hidden">
        <caption>Sales by month</caption>
        <thead>
          <tr>
            <th scope="col">Month</th>
            {SERIES.map((s) => (
              <th key={s.key} scope="col">
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {months.map((m) => (
            <tr key={m.month}>
              <th scope="row">{monthLabel(m.month)}</th>
              <td>{formatCount(m.matched)}</td>
              <td>{formatCount(m.mismatched)}</td>
              <td>{formatCount(m.missing)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
