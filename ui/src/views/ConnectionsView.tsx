/** The Connections screen: the stored provider connections. */
import { useState } from "react";
import { ConnectForm } from "../connections/ConnectForm";
import { ConnectionList } from "../connections/ConnectionList";
import { Screen } from "../shared/Screen";

export function ConnectionsView() {
  const [version, setVersion] = useState(0);
  return (
    <Screen
      id="connections"
      title="Connections"
      lead="The HubSpot, Shopify and accounting (Xero or QuickBooks Online) accounts Concord keeps in agreement."
    >
      <ConnectForm onDone={() => setVersion((v) => v + 1)} />
      <ConnectionList key={version} />
    </Screen>
  );
}
