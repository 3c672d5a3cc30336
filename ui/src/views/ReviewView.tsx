/** The Review screen. Not built yet: it says what it will show, and shows nothing made up. */
import { EmptyState } from "../shared/EmptyState";
import { Screen } from "../shared/Screen";

export function ReviewView() {
  return (
    <Screen id="review" title="Review">
      <EmptyState title="Nothing to review yet">
        <p>
          This screen will list the changes Concord proposes after comparing your CRM, shop and
          books: for example a customer whose details differ between HubSpot and Xero, or a
          Shopify order with no matching invoice. You will approve or reject each change here
          before anything is written to those systems.
        </p>
        <p>It is not available in this version.</p>
      </EmptyState>
    </Screen>
  );
}
