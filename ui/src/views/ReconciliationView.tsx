/** The Reconciliation screen: sales by month (matched, mismatched, missing) and every money discrepancy. */
import { useBackend } from "../backend/context";
import { DiscrepancyTable } from "../reconciliation/DiscrepancyTable";
import { MonthChart } from "../reconciliation/MonthChart";
import { ErrorBanner } from "../shared/ErrorBanner";
import { Screen } from "../shared/Screen";
import { Spinner } from "../shared/Spinner";
import { useLoad } from "../shared/useLoad";

export function ReconciliationView() {
  const backend = useBackend();
  const months = useLoad(() => backend.reconciliationMonths(), [backend]);
  const discrepancies = useLoad(() => backend.discrepancies(), [backend]);
  return (
    <Screen
      id="reconciliation"
      title="Reconciliation"
      lead="Shop orders, invoices and payments compared across systems, with the amount at stake in each difference (dollars, GST included)."
    >
      {months.error ? <ErrorBanner error={months.error} onRetry={months.reload} /> : months.data === undefined ? <Spinner label="Loading the monthly summary…" /> : months.data.length > 0 && <MonthChart months={months.data} />}
      {discrepancies.error ? (
        <ErrorBanner error={discrepancies.error} onRetry={discrepancies.reload} />
      ) : discrepancies.data === undefined ? (
        <Spinner label="Loading discrepancies…" />
      ) : (
        <DiscrepancyTable discrepancies={discrepancies.data} />
      )}
    </Screen>
  );
}
