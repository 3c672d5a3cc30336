/**
 * A small busy indicator with a text label for screen readers. The animation
 * stops for people who ask for reduced motion (see styles.css).
 */
export function Spinner(props: { label?: string; testId?: string }) {
  const label = props.label ?? "Loading…";
  return (
    <span className="spinner" role="status" data-testid={props.testId ?? "spinner"}>
      <span className="spinner-wheel" aria-hidden="true" />
      <span className="spinner-label">{label}</span>
    </span>
  );
}
