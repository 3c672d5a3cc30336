/** The Reports screen: CSV exports for the owner, the accountant and the records. */
import { ReportList } from "../reports/ReportList";
import { Screen } from "../shared/Screen";

export function ReportsView() {
  return (
    <Screen
      id="reports"
      title="Reports"
      lead="Save what Concord knows as CSV files: the reconciliation, open conflicts and decisions, unmatched records, duplicates, schema drift and the audit log."
    >
      <ReportList />
    </Screen>
  );
}
