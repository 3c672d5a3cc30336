/**
 * The "Verify audit chain" button: asks Rust (`audit_verify`) to re-hash every
 * entry and shows whether the chain is intact or where it first breaks. A broken
 * chain is reported as an error, because it means the log was altered outside
 * Concord.
 */
import { useState } from "react";
import { normaliseError, type ApiError, type AuditVerification } from "../backend";
import { useBackend } from "../backend/context";
import { ErrorBanner } from "../shared/ErrorBanner";
import { formatCount } from "../shared/format";
import { Spinner } from "../shared/Spinner";

type Check =
  | { state: "idle" }
  | { state: "checking" }
  | { state: "done"; result: AuditVerification }
  | { state: "failed"; error: ApiError };

/** The sentence shown for a verification result, and whether it is bad news. */
export function describeVerification(result: AuditVerification): { text: string; broken: boolean } {
  if (result.ok) {
    const entries = result.rowsChecked === 1 ? "1 entry" : `${formatCount(result.rowsChecked)} entries`;
    return { text: `Audit chain verified: ${entries} intact`, broken: false };
  }
  if (result.fault) {
    return {
      text: `Audit chain broken at entry ${result.fault.rowId}: ${result.fault.reason}`,
      broken: true,
    };
  }
  return { text: "Audit chain broken: no detail was given", broken: true };
}

export function ChainVerifier() {
  const backend = useBackend();
  const [check, setCheck] = useState<Check>({ state: "idle" });

  async function verify() {
    setCheck({ state: "checking" });
    try {
      setCheck({ state: "done", result: await backend.auditVerify() });
    } catch (error) {
      setCheck({ state: "failed", error: normaliseError(error) });
    }
  }

  let status: { text: string; broken: boolean } | null = null;
  if (check.state === "done") status = describeVerification(check.result);
  // Rust may also refuse with this code instead of returning ok: false.
  if (check.state === "failed" && check.error.code === "audit_chain_broken")
    status = { text: `Audit chain broken: ${check.error.message}`, broken: true };

  return (
    <div className="chain-verifier">
      <button
        type="button"
        className="button button-primary"
        data-testid="verify-chain"
        disabled={check.state === "checking"}
        onClick={verify}
      >
        Verify audit chain
      </button>
      {check.state === "checking" && <Spinner label="Checking every entry…" />}
      {status && (
        <p
          className={`chain-status ${status.broken ? "status-error" : "status-ok"}`}
          data-testid="chain-status"
          data-broken={status.broken}
          role={status.broken ? "alert" : "status"}
        >
          {status.text}
        </p>
      )}
      {check.state === "failed" && !status && <ErrorBanner error={check.error} onRetry={verify} />}
    </div>
  );
}
