/** The Matches screen: suggested links with their evidence, and linking or unlinking by hand. */
import { LinkTable } from "../matches/LinkTable";
import { Screen } from "../shared/Screen";

export function MatchesView() {
  return (
    <Screen
      id="matches"
      title="Matches"
      lead="Which records Concord believes are the same customer or document, and why. Confirm or reject its suggestions; your decisions hold through every later sync."
    >
      <LinkTable />
    </Screen>
  );
}
