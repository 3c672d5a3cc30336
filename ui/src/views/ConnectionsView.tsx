/** The Connections screen: add or reconnect an account, see each one's sync status, and sync now. */
import { useState } from "react";
import type { Provider } from "../backend";
import { ConnectForm } from "../connections/ConnectForm";
import { ConnectionList } from "../connections/ConnectionList";
import { SyncPanel } from "../connections/SyncPanel";
import { Screen } from "../shared/Screen";

export function ConnectionsView() {
  const [version, setVersion] = useState(0);
  const [reconnect, setReconnect] = useState<{ name: string; provider: Provider } | null>(null);
  return (
    <Screen
      id="connections"
      title="Connections"
      lead="The HubSpot, Shopify and accounting (Xero or QuickBooks Online) accounts Concord keeps in agreement."
    >
      <ConnectForm
        key={reconnect ? `${reconnect.provider}/${reconnect.name}` : "new"}
        initialName={reconnect?.name}
        initialProvider={reconnect?.provider}
        onDone={() => {
          setReconnect(null);
          setVersion((v) => v + 1);
        }}
      />
      <ConnectionList key={version} />
      <SyncPanel
        version={version}
        onSynced={() => setVersion((v) => v + 1)}
        onReconnect={(name, provider) => {
          setReconnect({ name, provider });
          window.scrollTo?.({ top: 0 });
        }}
      />
    </Screen>
  );
}
