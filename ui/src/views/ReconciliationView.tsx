/** The Reconciliation screen. Not built yet: it says what it will show, and shows nothing made up. */
import { EmptyState } from "../shared/EmptyState";
import { Screen } from "../shared/Screen";

export function ReconciliationView() {
  return (
    <Screen id="reconciliation" title="Reconciliation">
      <EmptyState title="No reconciliation yet">
        <p>
          This screen will match Shopify orders, refunds and payouts against the invoices and
          payments in your books, and show what is matched, what differs and what is missing on
          either side, with amounts in dollars including GST.
        </p>
        <p>It is not available in this version.</p>
      </EmptyState>
    </Screen>
  );
}
