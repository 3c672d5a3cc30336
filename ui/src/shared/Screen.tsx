/**
 * The frame of every screen: a region labelled by its `<h1>`, with the test id
 * `screen-<id>` that the shell tests and later end-to-end tests look for.
 */
import { useId, type ReactNode } from "react";

export function Screen(props: { id: string; title: string; lead?: ReactNode; children?: ReactNode }) {
  const headingId = useId();
  return (
    <section className="screen" data-testid={`screen-${props.id}`} aria-labelledby={headingId}>
      <div className="screen-header">
        <h1 id={headingId}>{props.title}</h1>
        {props.lead && <p className="screen-lead">{props.lead}</p>}
      </div>
      {props.children}
    </section>
  );
}
