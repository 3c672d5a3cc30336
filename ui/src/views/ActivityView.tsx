/** The Activity screen: the audit log, and a check that it has not been tampered with. */
import { AuditLog } from "../audit/AuditLog";
import { ChainVerifier } from "../audit/ChainVerifier";
import { Screen } from "../shared/Screen";

export function ActivityView() {
  return (
    <Screen
      id="activity"
      title="Activity"
      lead="Every change Concord or a person made in this workspace, newest first. Each entry is chained to the one before it, so any later edit can be detected."
    >
      <ChainVerifier />
      <AuditLog />
    </Screen>
  );
}
