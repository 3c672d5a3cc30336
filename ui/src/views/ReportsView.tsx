/** The Reports screen. Not built yet: it says what it will show, and shows nothing made up. */
import { EmptyState } from "../shared/EmptyState";
import { Screen } from "../shared/Screen";

export function ReportsView() {
  return (
    <Screen id="reports" title="Reports">
      <EmptyState title="No reports yet">
        <p>
          This screen will summarise, for a period you choose, what Concord changed in each
          system, what is still out of agreement, and the reconciliation results, ready to save
          for your records or to send to a client.
        </p>
        <p>It is not available in this version.</p>
      </EmptyState>
    </Screen>
  );
}
