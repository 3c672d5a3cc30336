/**
 * The Connections screen: the connections and Sync now first (what a bookkeeper
 * does daily), then adding or reconnecting an account (folded away once there is
 * one), then each connection's sync status in detail.
 */
import { useState } from "react";
import type { Provider } from "../backend";
import { ConnectForm } from "../connections/ConnectForm";
import { ConnectionList } from "../connections/ConnectionList";
import { SyncPanel } from "../connections/SyncPanel";
import { Screen } from "../shared/Screen";

export function ConnectionsView() {
  const [version, setVersion] = useState(0);
  const [reconnect, setReconnect] = useState<{ name: string; provider: Provider } | null>(null);
  const [formOpen, setFormOpen] = useState(false);
  return (
    <Screen
      id="connections"
      title="Connections"
      lead="The HubSpot, Shopify and accounting (Xero or QuickBooks Online) accounts Concord keeps in agreement."
    >
      <ConnectionList key={version} />
      <details className="connect-details" open={formOpen || reconnect !== null} onToggle={(e) => setFormOpen(e.currentTarget.open)}>
        <summary data-testid="connect-open">{reconnect ? `Sign in to ${reconnect.name} again` : "Add or reconnect a connection"}</summary>
        <ConnectForm
          key={reconnect ? `${reconnect.provider}/${reconnect.name}` : "new"}
          initialName={reconnect?.name}
          initialProvider={reconnect?.provider}
          onDone={() => {
            setReconnect(null);
            setFormOpen(false);
            setVersion((v) => v + 1);
          }}
        />
      </details>
      <SyncPanel version={version} onSynced={() => setVersion((v) => v + 1)} onReconnect={(name, provider) => setReconnect({ name, provider })} />
    </Screen>
  );
}
