/**
 * Adds or reconnects a connection: provider, name, optional base URL and client
 * id, and masked fields for a client secret or a private-app token. The secret
 * fields are cleared after every attempt and never shown again; the sign-in
 * itself happens in the system browser.
 */
import { useState } from "react";
import { useBackend } from "../backend/context";
import type { ApiError, ConnectRequest, Provider } from "../backend";
import { ErrorBanner } from "../shared/ErrorBanner";
import { PROVIDER_LABELS } from "./labels";

const PROVIDERS: Provider[] = ["hubspot", "shopify", "xero", "quickbooks"];

export function ConnectForm(props: { initialName?: string; initialProvider?: Provider; onDone: () => void }) {
  const backend = useBackend();
  const [provider, setProvider] = useState<Provider>(props.initialProvider ?? "xero");
  const [name, setName] = useState(props.initialName ?? "");
  const [baseUrl, setBaseUrl] = useState("");
  const [clientId, setClientId] = useState("");
  const [clientSecret, setClientSecret] = useState("");
  const [privateToken, setPrivateToken] = useState("");
  const [tenantId, setTenantId] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const request: ConnectRequest = {
      provider,
      name,
      baseUrl: baseUrl.trim() || null,
      clientId: clientId.trim() || null,
      clientSecret: clientSecret || null,
      privateToken: privateToken || null,
      tenantId: tenantId.trim() || null,
      extraScopes: [],
    };
    try {
      await backend.connectAccount(request);
      props.onDone();
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setClientSecret("");
      setPrivateToken("");
      setBusy(false);
    }
  }

  const privateApp = provider === "hubspot" || provider === "shopify";
  return (
    <form className="connect-form" onSubmit={submit} data-testid="connect-form" aria-label="Connect an account">
      <label>
        Provider{" "}
        <select value={provider} onChange={(e) => setProvider(e.target.value as Provider)} data-testid="connect-provider">
          {PROVIDERS.map((p) => (
            <option key={p} value={p}>
              {PROVIDER_LABELS[p] ?? p}
            </option>
          ))}
        </select>
      </label>
      <label>
        Name <input required value={name} onChange={(e) => setName(e.target.value)} placeholder="Books" data-testid="connect-name" />
      </label>
      <label>
        Base URL (optional){" "}
        <input value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} placeholder="your shop’s myshopify.com address, or a sandbox" data-testid="connect-base-url" />
      </label>
      <label>
        Client ID <input value={clientId} onChange={(e) => setClientId(e.target.value)} autoComplete="off" />
      </label>
      <label>
        Client secret (QuickBooks, Shopify){" "}
        <input type="password" value={clientSecret} onChange={(e) => setClientSecret(e.target.value)} autoComplete="off" />
      </label>
      {privateApp && (
        <label>
          Private-app token (instead of signing in){" "}
          <input type="password" value={privateToken} onChange={(e) => setPrivateToken(e.target.value)} autoComplete="off" data-testid="connect-token" />
        </label>
      )}
      {error?.code === "choose_tenant" && (
        <label>
          Organisation <input value={tenantId} onChange={(e) => setTenantId(e.target.value)} placeholder="id or name from the list above" />
        </label>
      )}
      {error && <ErrorBanner error={error} />}
      <button type="submit" className="button button-primary" disabled={busy} data-testid="connect-submit">
        {busy ? "Waiting for the browser sign-in…" : "Connect"}
      </button>
    </form>
  );
}
