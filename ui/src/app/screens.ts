/**
 * The screens of the window, in navigation order. Adding a screen means
 * adding a view in src/views/ and a line here.
 */
import type { ComponentType } from "react";
import { ActivityView } from "../views/ActivityView";
import { ConnectionsView } from "../views/ConnectionsView";
import { MatchesView } from "../views/MatchesView";
import { PushView } from "../views/PushView";
import { ReconciliationView } from "../views/ReconciliationView";
import { ReportsView } from "../views/ReportsView";
import { ReviewView } from "../views/ReviewView";

export type ScreenId = "connections" | "review" | "matches" | "reconciliation" | "push" | "reports" | "activity";

export interface ScreenEntry {
  id: ScreenId;
  label: string;
  View: ComponentType;
}

export const SCREENS: readonly ScreenEntry[] = [
  { id: "connections", label: "Connections", View: ConnectionsView },
  { id: "review", label: "Review", View: ReviewView },
  { id: "matches", label: "Matches", View: MatchesView },
  { id: "reconciliation", label: "Reconciliation", View: ReconciliationView },
  { id: "push", label: "Push", View: PushView },
  { id: "reports", label: "Reports", View: ReportsView },
  { id: "activity", label: "Activity", View: ActivityView },
];
