//! The walk through the desktop app: what a person does on first start, as WebDriver steps.
//!
//! Every step polls for the DOM it expects (with a deadline) instead of sleeping, because a
//! cold WebKit start under Xvfb takes a few seconds and a fixed sleep is either flaky or slow.
//! A failed step saves a screenshot and the page source next to the logs, so a red CI run
//! can be read without rerunning it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use crate::tally::Tally;

/// The screens reachable from the navigation, by the name used in their test ids
/// (`nav-<name>` opens `screen-<name>`).
pub const SCREENS: [&str; 7] = [
    "connections",
    "review",
    "matches",
    "reconciliation",
    "push",
    "reports",
    "activity",
];

/// The checks the walk records, so a walk cut short can still count the ones it did not reach;
/// `demo` adds the steps that need the demo workspace and its sandbox.
pub fn check_names(demo: bool) -> Vec<String> {
    let mut names = vec![
        CHECK_EMBEDDED.to_owned(),
        "workspace path shown".to_owned(),
        "document title".to_owned(),
    ];
    names.extend(SCREENS.iter().map(|s| format!("screen {s}")));
    if demo {
        names.extend(crate::demo_walk::check_names());
    }
    names.push("audit chain verified in the app".to_owned());
    names
}

const CHECK_EMBEDDED: &str = "app serves its embedded UI";
const WHY_EMBEDDED: &str = "the binary must serve the UI built into it from ui/dist (tauri://localhost); \
    an http://localhost page means it was built in dev mode, without the tauri/custom-protocol feature, \
    and shows nothing unless a Vite dev server happens to run";
const WHY_WORKSPACE: &str = "the UI reads the workspace path from the Rust backend over Tauri IPC, so \
    seeing the temporary folder proves the app started with --workspace and a command round-tripped";
const WHY_TITLE: &str =
    "people find the app by its window title, and a wrong title usually means the \
    UI bundle embedded in the binary is not the one built from ui/";
const WHY_SCREEN: &str =
    "each navigation entry must open its screen; a dead link hides a whole part \
    of the product";
const WHY_CHAIN: &str =
    "the audit log is hash-chained so tampering is detectable; the Activity screen's \
    verify button must run that check in the backend and report a fresh workspace as verified";

/// What the walk needs besides the WebDriver session.
pub struct Walk<'a> {
    pub client: &'a Client,
    /// The workspace folder the app was started with.
    pub workspace: &'a Path,
    /// Where screenshots of each screen go.
    pub screenshots: &'a Path,
    /// How long to wait for any one expected piece of DOM.
    pub patience: Duration,
    /// The running concord-sandbox's origin, when the workspace is the demo one connected to it.
    pub sandbox: Option<&'a str>,
}

pub fn css(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

impl Walk<'_> {
    /// Runs every step, recording each in `tally`. Later steps still run after a failure:
    /// each finds its own element, so one broken screen does not hide the others.
    pub async fn run(&self, tally: &mut Tally) {
        let embedded = self.wait_for_embedded_ui().await;
        let broken = embedded.is_err();
        self.record(tally, CHECK_EMBEDDED, WHY_EMBEDDED, embedded)
            .await;
        if broken {
            // Every later step would wait out its full patience on a page that cannot appear.
            for name in check_names(self.sandbox.is_some()).iter().skip(1) {
                tally.not_run(
                    name,
                    "the app must show its UI for any screen check to mean anything",
                    "the embedded UI did not load",
                );
            }
            return;
        }

        let expected = self.workspace.display().to_string();
        let canonical = std::fs::canonicalize(self.workspace)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| expected.clone());
        // The first wait also covers the app's cold start, so it gets twice the patience.
        let shown = self
            .wait_for_text("workspace-path", self.patience * 2, |t| {
                t.contains(&expected) || t.contains(&canonical)
            })
            .await
            .map(|_| ())
            .map_err(|e| format!("{e} (expected it to contain {expected})"));
        self.record(tally, "workspace path shown", WHY_WORKSPACE, shown)
            .await;

        let title = match self.client.title().await {
            Ok(t) if t == "Concord" => Ok(()),
            Ok(t) => Err(format!("document title is {t:?}, expected \"Concord\"")),
            Err(e) => Err(format!("cannot read the title: {e}")),
        };
        self.record(tally, "document title", WHY_TITLE, title).await;

        for screen in SCREENS {
            let outcome = self.visit(screen).await;
            self.record(tally, &format!("screen {screen}"), WHY_SCREEN, outcome)
                .await;
        }

        if let Some(origin) = self.sandbox {
            self.run_demo(tally, origin).await;
        }

        let chain = self.verify_chain().await;
        self.record(tally, "audit chain verified in the app", WHY_CHAIN, chain)
            .await;
    }

    /// Waits until the webview has left about:blank, then requires the page to come from the
    /// app's own protocol and the UI's root to have rendered something.
    async fn wait_for_embedded_ui(&self) -> Result<(), String> {
        let deadline = Instant::now() + self.patience;
        let url = loop {
            let url = self
                .client
                .current_url()
                .await
                .map_err(|e| format!("cannot read the page URL: {e}"))?;
            if url.scheme() != "about" || Instant::now() >= deadline {
                break url;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        if url.scheme() != "tauri" {
            return Err(format!("the page is {url}, not tauri://localhost"));
        }
        Ok(())
    }

    /// Clicks `nav-<screen>`, waits for `screen-<screen>` and saves a screenshot of it.
    async fn visit(&self, screen: &str) -> Result<(), String> {
        self.click(&format!("nav-{screen}")).await?;
        self.wait_for_element(&format!("screen-{screen}"), self.patience)
            .await?;
        self.wait_until_loaded().await;
        self.screenshot(screen).await
    }

    /// Waits (up to the patience) until no loading spinner is on screen, so a screenshot shows
    /// the screen's data rather than "Loading…"; a screen still loading after that is shot as is.
    pub(crate) async fn wait_until_loaded(&self) {
        let deadline = Instant::now() + self.patience;
        while Instant::now() < deadline {
            match self.client.find_all(Locator::Css(&css("spinner"))).await {
                Ok(found) if found.is_empty() => return,
                Err(_) => return,
                Ok(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// On the Activity screen, clicks `verify-chain` and waits for `chain-status` to say verified
    /// (and not "unverified" or "not verified", which also contain the word).
    async fn verify_chain(&self) -> Result<(), String> {
        if self
            .client
            .find(Locator::Css(&css("screen-activity")))
            .await
            .is_err()
        {
            self.click("nav-activity").await?;
            self.wait_for_element("screen-activity", self.patience)
                .await?;
        }
        self.click("verify-chain").await?;
        self.wait_for_text("chain-status", self.patience, |t| {
            let t = t.to_lowercase();
            t.contains("verified") && !t.contains("unverified") && !t.contains("not verified")
        })
        .await?;
        self.screenshot("activity-verified").await
    }

    pub(crate) async fn screenshot(&self, name: &str) -> Result<(), String> {
        self.settle().await;
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| format!("screenshot {name} failed: {e}"))?;
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, png).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("e2e: screenshot {}", path.display());
        Ok(())
    }

    pub(crate) async fn click(&self, id: &str) -> Result<(), String> {
        let element = self.wait_for_element(id, self.patience).await?;
        element
            .click()
            .await
            .map_err(|e| format!("clicking `{}` failed: {e}", css(id)))
    }

    pub(crate) async fn wait_for_element(
        &self,
        id: &str,
        within: Duration,
    ) -> Result<fantoccini::elements::Element, String> {
        let selector = css(id);
        self.client
            .wait()
            .at_most(within)
            .every(Duration::from_millis(200))
            .for_element(Locator::Css(&selector))
            .await
            .map_err(|e| format!("`{selector}` did not appear within {within:?}: {e}"))
    }

    /// Polls the text of `id` until `accept` says yes, returning the accepted text.
    pub(crate) async fn wait_for_text(
        &self,
        id: &str,
        within: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let selector = css(id);
        let deadline = Instant::now() + within;
        let mut last_seen: Option<String> = None;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(&selector)).await {
                if let Ok(text) = element.text().await {
                    if accept(&text) {
                        return Ok(text);
                    }
                    last_seen = Some(text);
                }
            }
            if Instant::now() >= deadline {
                return Err(match last_seen {
                    Some(text) => format!("`{selector}` read {text:?} for {within:?}"),
                    None => format!("`{selector}` did not appear within {within:?}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Lets the webview paint the DOM it just built: two animation frames, capped at two seconds,
    /// since a stale frame was once captured right after the DOM changed.
    async fn settle(&self) {
        let frames = self.client.execute_async(
            "const done = arguments[arguments.length - 1];\
             requestAnimationFrame(() => requestAnimationFrame(() => done(null)));",
            vec![],
        );
        let _ = tokio::time::timeout(Duration::from_secs(2), frames).await;
    }

    /// Records an outcome; on failure also saves a screenshot and the page source for diagnosis.
    pub(crate) async fn record(&self, tally: &mut Tally, name: &str, why: &str, outcome: Result<(), String>) {
        let outcome = match outcome {
            Ok(()) => Ok(()),
            Err(e) => {
                let saved = self.save_failure_evidence(name).await;
                Err(format!("{e} [{saved}]"))
            }
        };
        tally.record(name, why, outcome);
    }

    async fn save_failure_evidence(&self, name: &str) -> String {
        let slug: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let png: PathBuf = self.screenshots.join(format!("failure-{slug}.png"));
        let html: PathBuf = self.screenshots.join(format!("failure-{slug}.html"));
        let mut saved = Vec::new();
        if let Ok(Ok(bytes)) =
            tokio::time::timeout(Duration::from_secs(10), self.client.screenshot()).await
        {
            if std::fs::write(&png, bytes).is_ok() {
                saved.push(png.display().to_string());
            }
        }
        if let Ok(Ok(source)) =
            tokio::time::timeout(Duration::from_secs(10), self.client.source()).await
        {
            if std::fs::write(&html, source).is_ok() {
                saved.push(html.display().to_string());
            }
        }
        if saved.is_empty() {
            "no evidence could be saved".to_owned()
        } else {
            format!("saved {}", saved.join(", "))
        }
    }
}
