/** The window shell: navigation, landmarks, the header's app_info, themes. */
import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { createMockBackend, type AppInfo, type Backend } from "../backend";
import { App } from "./App";
import { SCREENS } from "./screens";

function renderApp(backend: Backend = createMockBackend()) {
  return render(<App backend={backend} kind="mock" />);
}

/** A promise the test settles by hand, to observe loading states. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("navigation", () => {
  it("opens on Connections", () => {
    renderApp();
    expect(screen.getByTestId("screen-connections"), "Connections is the first screen a new user needs").toBeInTheDocument();
    expect(screen.getByTestId("nav-connections"), "the active item is marked for assistive tech").toHaveAttribute(
      "aria-current",
      "page",
    );
  });

  it.each(SCREENS.map((s) => [s.id, s.label] as const))("clicking nav-%s shows that screen", async (id, label) => {
    const user = userEvent.setup();
    renderApp();
    await user.click(screen.getByTestId(`nav-${id}`));

    const root = screen.getByTestId(`screen-${id}`);
    expect(within(root).getByRole("heading", { level: 1 }), "each screen names itself in its h1").toHaveTextContent(label);
    expect(screen.getByRole("region", { name: label }), "the screen is a region labelled by its heading").toBe(root);
    for (const other of SCREENS) {
      if (other.id === id) continue;
      expect(screen.queryByTestId(`screen-${other.id}`), "only one screen is shown at a time").toBeNull();
      expect(screen.getByTestId(`nav-${other.id}`), "only the active item is aria-current").not.toHaveAttribute("aria-current");
    }
    expect(screen.getByTestId(`nav-${id}`), "the clicked item becomes current").toHaveAttribute("aria-current", "page");
  });

  it("is operable from the keyboard alone", async () => {
    const user = userEvent.setup();
    renderApp();
    // Tab past the header's controls to the first nav button.
    for (let presses = 0; presses < 10 && document.activeElement !== screen.getByTestId("nav-connections"); presses++)
      await user.tab();
    expect(document.activeElement, "Tab reaches the navigation").toBe(screen.getByTestId("nav-connections"));

    await user.keyboard("{ArrowDown}");
    expect(document.activeElement, "ArrowDown moves focus to the next screen").toBe(screen.getByTestId("nav-review"));
    await user.keyboard("{Enter}");
    expect(screen.getByTestId("screen-review"), "Enter on a nav button opens its screen").toBeInTheDocument();

    await user.keyboard("{End}");
    expect(document.activeElement, "End jumps to the last screen").toBe(screen.getByTestId("nav-activity"));
    await user.keyboard(" ");
    expect(screen.getByTestId("screen-activity"), "Space also activates a nav button").toBeInTheDocument();

    await user.keyboard("{Home}");
    expect(document.activeElement, "Home jumps to the first screen").toBe(screen.getByTestId("nav-connections"));
    await user.keyboard("{ArrowUp}");
    expect(document.activeElement, "ArrowUp stops at the first item").toBe(screen.getByTestId("nav-connections"));
  });

  it("has the page landmarks", () => {
    renderApp();
    expect(screen.getByRole("banner"), "the header is the banner landmark").toBeInTheDocument();
    expect(screen.getByRole("navigation", { name: "Screens" }), "the nav is labelled").toBeInTheDocument();
    expect(screen.getByRole("main"), "screens render inside main").toContainElement(screen.getByTestId("screen-connections"));
    expect(
      within(screen.getByRole("navigation")).getAllByRole("button"),
      "navigation items are real buttons, focusable and activatable by default",
    ).toHaveLength(SCREENS.length);
  });
});

describe("header", () => {
  const info: AppInfo = {
    version: "0.3.1",
    workspace: "/Users/kim/Concord/Smith Bakery",
    schemaVersion: 4,
    auditEntries: 12,
    connections: 2,
  };

  it("shows app_info from the backend", async () => {
    renderApp(createMockBackend({ appInfo: info }));
    expect(await screen.findByTestId("workspace-path"), "the open workspace path").toHaveTextContent(info.workspace);
    expect(screen.getByTestId("app-version"), "the app version").toHaveTextContent("0.3.1");
    expect(screen.getByTestId("schema-version"), "the database schema version").toHaveTextContent("4");
    expect(screen.getByTestId("mock-badge"), "sample data is labelled as such").toBeInTheDocument();
  });

  it("shows a spinner until app_info answers", async () => {
    const pending = deferred<AppInfo>();
    const backend = { ...createMockBackend(), appInfo: () => pending.promise };
    renderApp(backend);
    expect(screen.getByTestId("app-info-loading"), "a spinner while Rust opens the workspace").toHaveTextContent(
      "Opening workspace",
    );
    expect(screen.queryByTestId("workspace-path"), "no path before the answer").toBeNull();

    await act(async () => pending.resolve(info));
    expect(screen.queryByTestId("app-info-loading"), "the spinner goes once data arrives").toBeNull();
    expect(screen.getByTestId("workspace-path"), "then the path shows").toHaveTextContent(info.workspace);
  });

  it("shows the error's message and code, and can retry", async () => {
    let attempts = 0;
    const backend = createMockBackend({ appInfo: info });
    const flaky: Backend = {
      ...backend,
      appInfo: () =>
        ++attempts === 1
          ? Promise.reject({ code: "workspace", message: "The workspace folder is missing." })
          : backend.appInfo(),
    };
    renderApp(flaky);

    const banner = await screen.findByTestId("error-banner");
    expect(banner, "the human message is shown").toHaveTextContent("The workspace folder is missing.");
    expect(within(banner).getByTestId("error-code"), "the code is shown for support").toHaveTextContent("workspace");
    expect(banner, "errors are announced").toHaveAttribute("role", "alert");

    await userEvent.setup().click(within(banner).getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("workspace-path"), "a retry that succeeds replaces the banner").toHaveTextContent(
      info.workspace,
    );
    expect(screen.queryByTestId("error-banner"), "the banner goes away").toBeNull();
  });

  it("normalises a non-ApiError rejection to code internal", async () => {
    const backend: Backend = { ...createMockBackend(), appInfo: () => Promise.reject(new Error("IPC closed")) };
    renderApp(backend);
    const banner = await screen.findByTestId("error-banner");
    expect(banner, "the Error's message is kept").toHaveTextContent("IPC closed");
    expect(within(banner).getByTestId("error-code"), "unknown failures are 'internal'").toHaveTextContent("internal");
  });
});

describe("theme toggle", () => {
  it("cycles system, light, dark and remembers the choice", async () => {
    const user = userEvent.setup();
    renderApp();
    const toggle = screen.getByTestId("theme-toggle");
    expect(document.documentElement.dataset.theme, "by default the OS decides").toBeUndefined();

    await user.click(toggle);
    expect(document.documentElement.dataset.theme, "second state pins light").toBe("light");
    expect(localStorage.getItem("concord.theme"), "the choice survives a restart").toBe("light");

    await user.click(toggle);
    expect(document.documentElement.dataset.theme, "third state pins dark").toBe("dark");

    await user.click(toggle);
    expect(document.documentElement.dataset.theme, "back to following the OS").toBeUndefined();
    expect(localStorage.getItem("concord.theme"), "following the OS stores nothing").toBeNull();
  });
});
