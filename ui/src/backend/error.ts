/**
 * Turning whatever a backend call rejected with into an `ApiError`.
 *
 * Rust commands reject with the JSON object `ApiError { code, message }`; the UI
 * branches only on `code`, never on message text. Anything else (a Tauri plugin
 * error string, a thrown `Error`, a code this build does not know) becomes
 * `{ code: "internal", message }` so that screens handle exactly one shape.
 */
import type { ApiError, ErrorCode } from "./types";

/** Every code the UI knows. A `Record` so that TypeScript fails the build if the
 * generated `ErrorCode` gains or loses a member and this list is not updated. */
const KNOWN_CODES: Record<ErrorCode, true> = {
  invalid_input: true,
  not_found: true,
  workspace: true,
  store: true,
  io: true,
  audit_chain_broken: true,
  internal: true,
  needs_reauth: true,
  keychain_unavailable: true,
  auth_rejected: true,
  choose_tenant: true,
  scope_missing: true,
  unavailable: true,
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(KNOWN_CODES, value);
}

/** True when `value` already has the exact `ApiError` shape with a known code. */
export function isApiError(value: unknown): value is ApiError {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return isErrorCode(record.code) && typeof record.message === "string";
}

export function normaliseError(error: unknown): ApiError {
  if (isApiError(error)) return { code: error.code, message: error.message };
  if (typeof error === "string") return { code: "internal", message: error || "Unknown error" };
  if (error instanceof Error) return { code: "internal", message: error.message || error.name };
  if (typeof error === "object" && error !== null) {
    const message = (error as Record<string, unknown>).message;
    if (typeof message === "string" && message !== "") return { code: "internal", message };
  }
  return { code: "internal", message: `Unexpected error: ${describe(error)}` };
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
