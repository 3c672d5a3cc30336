/** The Connections screen: the stored provider connections. */
import { ConnectionList } from "../connections/ConnectionList";
import { Screen } from "../shared/Screen";

export function ConnectionsView() {
  return (
    <Screen
      id="connections"
      title="Connections"
      lead="The HubSpot, Shopify and accounting (Xero or QuickBooks Online) accounts Concord keeps in agreement."
    >
      <ConnectionList />
    </Screen>
  );
}
