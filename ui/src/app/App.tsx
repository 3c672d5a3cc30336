/**
 * The window: a header with workspace status, the navigation on the left, and
 * the active screen in <main>. Given a `Backend`, so tests render the whole app
 * against a mock.
 */
import { useState } from "react";
import type { Backend, BackendKind } from "../backend";
import { BackendProvider } from "../backend/context";
import { ThemeToggle } from "../shared/theme";
import { AppInfoStatus } from "../workspace/AppInfoStatus";
import { Navigation } from "./Navigation";
import { SCREENS, type ScreenId } from "./screens";

export function App(props: { backend: Backend; kind: BackendKind; initialScreen?: ScreenId }) {
  const [active, setActive] = useState<ScreenId>(props.initialScreen ?? "connections");
  const screen = SCREENS.find((entry) => entry.id === active) ?? SCREENS[0]!;

  return (
    <BackendProvider backend={props.backend} kind={props.kind}>
      <div className="app">
        <header className="app-header">
          <span className="app-brand">Concord</span>
          <div className="app-header-status">
            <AppInfoStatus />
          </div>
          <ThemeToggle />
        </header>
        <Navigation screens={SCREENS} active={active} onSelect={setActive} />
        <main className="app-main">
          {/* key: each screen starts fresh, as if newly opened. */}
          <screen.View key={screen.id} />
        </main>
      </div>
    </BackendProvider>
  );
}
