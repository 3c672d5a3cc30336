/**
 * The table of provider connections from `list_connections`, or an empty state
 * that says how to add one.
 */
import { useState } from "react";
import { useBackend } from "../backend/context";
import { EmptyState } from "../shared/EmptyState";
import { ErrorBanner } from "../shared/ErrorBanner";
import { formatDateTime } from "../shared/format";
import { Spinner } from "../shared/Spinner";
import { useLoad } from "../shared/useLoad";
import { PROVIDER_LABELS, STATUS_LABELS, STATUS_TONES } from "./labels";

export function ConnectionList() {
  const backend = useBackend();
  const connections = useLoad(() => backend.listConnections(), [backend]);
  // Deleting a connection's local data takes a second click, on a button that says what it does.
  const [confirming, setConfirming] = useState<string | null>(null);

  if (connections.error) return <ErrorBanner error={connections.error} onRetry={connections.reload} />;
  if (connections.data === undefined) return <Spinner label="Loading connections…" />;

  if (connections.data.length === 0) {
    return (
      <EmptyState title="No connections yet" testId="connections-empty">
        <p>
          Concord needs a connection to HubSpot, Shopify, and Xero or QuickBooks Online before it
          can compare them. Add one with the form below, or from the command line with{" "}
          <code>concord connect</code>.
        </p>
      </EmptyState>
    );
  }

  return (
    <div className="table-frame">
      <table className="table" data-testid="connections-table">
        <caption className="visually-hidden">Connections</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Provider</th>
            <th scope="col">Status</th>
            <th scope="col">Tenant</th>
            <th scope="col">Last sync</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {connections.data.map((connection) => (
            <tr key={connection.id} data-testid="connection-row">
              <th scope="row">{connection.name}</th>
              <td>{PROVIDER_LABELS[connection.provider] ?? connection.provider}</td>
              <td>
                <span className={`badge badge-${STATUS_TONES[connection.status] ?? "neutral"}`}>
                  {STATUS_LABELS[connection.status] ?? connection.status}
                </span>
              </td>
              <td>{connection.tenant ?? <span className="muted">Not recorded</span>}</td>
              <td>
                {connection.lastSyncAt ? (
                  <time dateTime={connection.lastSyncAt} title={connection.lastSyncAt}>
                    {formatDateTime(connection.lastSyncAt)}
                  </time>
                ) : (
                  <span className="muted">Never</span>
                )}
              </td>
              <td>
                {connection.status === "needs_reauth" && (
                  <p role="alert" data-testid="reauth-prompt">
                    The provider no longer accepts this connection. Connect again with the name “{connection.name}”
                    above; its data and sync position are kept.
                  </p>
                )}
                <div className="row-actions">
                  {connection.status !== "disconnected" && (
                    <button type="button" className="button button-small" onClick={() => void backend.disconnectAccount(connection.name, "keep").then(connections.reload)}>
                      Disconnect
                    </button>
                  )}
                  {confirming === connection.name ? (
                    <>
                      <button
                        type="button"
                        className="button button-small button-danger"
                        onClick={() => {
                          setConfirming(null);
                          void backend.disconnectAccount(connection.name, "delete").then(connections.reload);
                        }}
                      >
                        Delete {connection.name}’s records
                      </button>
                      <button type="button" className="button button-small" onClick={() => setConfirming(null)}>
                        Keep them
                      </button>
                    </>
                  ) : (
                    <button type="button" className="button button-small" onClick={() => setConfirming(connection.name)}>
                      Disconnect and delete data…
                    </button>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
