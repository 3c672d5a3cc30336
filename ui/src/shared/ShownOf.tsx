/**
 * The note under a long table that shows only its first rows: how many of how
 * many, and how to see the rest. Renders nothing when every row is shown.
 */
import { formatCount } from "./format";

export function ShownOf(props: { shown: number; total: number }) {
  if (props.total <= props.shown) return null;
  return (
    <p className="muted small table-note">
      The first {formatCount(props.shown)} of {formatCount(props.total)} are shown; narrow them with the filters above.
    </p>
  );
}
