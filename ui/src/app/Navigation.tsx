/**
 * The left navigation: one real <button> per screen, so Tab, Enter and Space
 * work without extra code; the arrow keys, Home and End also move between them.
 * The active one carries aria-current="page".
 */
import type { KeyboardEvent } from "react";
import type { ScreenEntry, ScreenId } from "./screens";

export function Navigation(props: {
  screens: readonly ScreenEntry[];
  active: ScreenId;
  onSelect: (id: ScreenId) => void;
}) {
  function moveFocus(event: KeyboardEvent<HTMLUListElement>) {
    const buttons = [...event.currentTarget.querySelectorAll<HTMLButtonElement>("button")];
    const current = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const last = buttons.length - 1;
    const target = {
      ArrowDown: current < 0 ? 0 : Math.min(current + 1, last),
      ArrowUp: current < 0 ? last : Math.max(current - 1, 0),
      Home: 0,
      End: last,
    }[event.key];
    if (target === undefined) return;
    event.preventDefault();
    buttons[target]?.focus();
  }

  return (
    <nav className="app-nav" aria-label="Screens">
      <ul onKeyDown={moveFocus}>
        {props.screens.map((screen) => {
          const active = screen.id === props.active;
          return (
            <li key={screen.id}>
              <button
                type="button"
                className="nav-item"
                data-testid={`nav-${screen.id}`}
                aria-current={active ? "page" : undefined}
                onClick={() => props.onSelect(screen.id)}
              >
                {screen.label}
              </button>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
