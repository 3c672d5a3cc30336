/**
 * Human names for providers and connection states. Status is always shown as
 * words (never colour alone), and the `Record` types make the build fail when
 * Rust adds a provider or status that has no label yet.
 */
import type { ConnectionStatus, Provider } from "../backend";

export const PROVIDER_LABELS: Record<Provider, string> = {
  hubspot: "HubSpot",
  shopify: "Shopify",
  xero: "Xero",
  quickbooks: "QuickBooks Online",
};

export const STATUS_LABELS: Record<ConnectionStatus, string> = {
  connected: "Connected",
  needs_reauth: "Needs sign-in again",
  disconnected: "Disconnected",
};

export const STATUS_TONES: Record<ConnectionStatus, "ok" | "warning" | "neutral"> = {
  connected: "ok",
  needs_reauth: "warning",
  disconnected: "neutral",
};
