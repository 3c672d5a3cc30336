/** The Push screen: preview every write, push with progress, retry dead letters, undo. */
import { PushPanel } from "../push/PushPanel";
import { Screen } from "../shared/Screen";

export function PushView() {
  return (
    <Screen
      id="push"
      title="Push"
      lead="Your decisions, as the exact changes Concord will make in each system. Each write is checked against the record first, verified afterwards, and can be undone."
    >
      <PushPanel />
    </Screen>
  );
}
