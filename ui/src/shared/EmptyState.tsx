/**
 * What a screen or list shows when it has nothing to show, saying why and what
 * will appear, rather than an empty box.
 */
import type { ReactNode } from "react";

export function EmptyState(props: { title: string; children?: ReactNode; testId?: string }) {
  return (
    <div className="empty-state" data-testid={props.testId ?? "empty-state"}>
      <h2 className="empty-state-title">{props.title}</h2>
      {props.children && <div className="empty-state-body">{props.children}</div>}
    </div>
  );
}
