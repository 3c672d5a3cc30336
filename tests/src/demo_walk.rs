//! The bookkeeper's first fix, walked on the demo workspace against a running concord-sandbox:
//! connect HubSpot through the Connections form (a private-app token in the masked field), sync
//! with live progress, choose a winner on the Review screen, push it, confirm through the
//! sandbox's control API that the provider now holds the value, and export a CSV from the Reports
//! screen (saved under `CONCORD_E2E_SAVE_DIR`, since WebDriver cannot drive the native dialog).
//! Each step records one check and saves a screenshot of the screen it leaves behind.

use std::time::Duration;

use fantoccini::Locator;

use crate::sandbox;
use crate::tally::Tally;
use crate::walk::{css, Walk};

pub const CHECK_CONNECT: &str = "connect HubSpot through the form";
pub const CHECK_SYNC: &str = "sync now with progress";
pub const CHECK_DECIDE: &str = "choose a winner in Review";
pub const CHECK_PUSH: &str = "push the decision";
pub const CHECK_LANDED: &str = "the sandbox holds the pushed value";
pub const CHECK_EXPORT: &str = "export a CSV from Reports";
pub const CHECK_DARK: &str = "the dark theme applies";

const WHY_CONNECT: &str = "a bookkeeper connects an account by pasting a private-app token into a masked field; \
    the token must reach the keychain through the connect command and never appear in the page";
const WHY_SYNC: &str = "Sync now must run the real sync over the keychain's tokens, show progress, and say when it is done";
const WHY_DECIDE: &str = "choosing a winner is the Review screen's purpose; the decision must be stored by the backend";
const WHY_PUSH: &str = "the push must preview the write, make it and report it verified";
const WHY_LANDED: &str = "a push that reports success must have changed the provider's record, as the provider itself says";
const WHY_DARK: &str = "the window offers a dark theme; the toggle must switch the page to it (screenshots show it)";
const WHY_EXPORT: &str = "reports are saved as CSV files the bookkeeper can open; the export must write a real file";

/// The checks this walk records, in order.
pub fn check_names() -> Vec<String> {
    [CHECK_CONNECT, CHECK_SYNC, CHECK_DECIDE, CHECK_PUSH, CHECK_LANDED, CHECK_EXPORT, CHECK_DARK].iter().map(|s| s.to_string()).collect()
}

/// What Review decided: the winning value and the other systems' records (key, provider).
struct Decision {
    value: String,
    losers: Vec<(String, String)>,
}

impl Walk<'_> {
    /// Runs the demo steps against the sandbox at `origin`.
    pub async fn run_demo(&self, tally: &mut Tally, origin: &str) {
        let connect = self.connect_hubspot(origin).await;
        self.record(tally, CHECK_CONNECT, WHY_CONNECT, connect).await;
        let sync = self.sync_now().await;
        self.record(tally, CHECK_SYNC, WHY_SYNC, sync).await;
        let decision = self.decide().await;
        let decided = decision.as_ref().map(|_| ()).map_err(Clone::clone);
        self.record(tally, CHECK_DECIDE, WHY_DECIDE, decided).await;
        // The losing records as the provider holds them before the push, to tell a write from a coincidence.
        let mut before = Vec::new();
        if let Ok(d) = &decision {
            for (record, provider) in &d.losers {
                if let Some(path) = state_path(record, provider) {
                    before.push((path.clone(), sandbox::get_json(origin, &path).await.ok()));
                }
            }
        }
        let push = self.push().await;
        let pushed = push.is_ok();
        self.record(tally, CHECK_PUSH, WHY_PUSH, push).await;
        match (&decision, pushed) {
            (Ok(d), true) => {
                let landed = landed(origin, d, &before).await;
                self.record(tally, CHECK_LANDED, WHY_LANDED, landed).await;
            }
            _ => tally.not_run(CHECK_LANDED, WHY_LANDED, "nothing was decided and pushed"),
        }
        let export = self.export_csv().await;
        self.record(tally, CHECK_EXPORT, WHY_EXPORT, export).await;
        let dark = self.dark_theme().await;
        self.record(tally, CHECK_DARK, WHY_DARK, dark).await;
    }

    /// Switches to the dark theme (system, light, dark), shoots Review and Reconciliation in it,
    /// and switches back to following the system.
    async fn dark_theme(&self) -> Result<(), String> {
        self.open_screen("review").await?;
        for _ in 0..2 {
            self.click("theme-toggle").await?;
        }
        let theme = self
            .client
            .execute("return document.documentElement.dataset.theme || null;", vec![])
            .await
            .map_err(|e| format!("cannot read the theme: {e}"))?;
        if theme.as_str() != Some("dark") {
            return Err(format!("after two clicks the theme is {theme}, not dark"));
        }
        self.wait_until_loaded().await;
        self.screenshot("review-dark").await?;
        self.open_screen("reconciliation").await?;
        self.wait_until_loaded().await;
        self.screenshot("reconciliation-dark").await?;
        self.click("theme-toggle").await
    }

    async fn open_screen(&self, screen: &str) -> Result<(), String> {
        self.click(&format!("nav-{screen}")).await?;
        self.wait_for_element(&format!("screen-{screen}"), self.patience).await.map(|_| ())
    }

    async fn type_into(&self, id: &str, text: &str) -> Result<(), String> {
        let field = self.wait_for_element(id, self.patience).await?;
        field.clear().await.map_err(|e| format!("cannot clear `{id}`: {e}"))?;
        field.send_keys(text).await.map_err(|e| format!("cannot type into `{id}`: {e}"))
    }

    async fn connect_hubspot(&self, origin: &str) -> Result<(), String> {
        let (base_url, token) = sandbox::hubspot_access(origin).await?;
        self.open_screen("connections").await?;
        self.click("connect-open").await?;
        let option = format!("{} option[value=\"hubspot\"]", css("connect-provider"));
        self.client
            .find(Locator::Css(&option))
            .await
            .map_err(|e| format!("no HubSpot option in the provider list: {e}"))?
            .click()
            .await
            .map_err(|e| format!("cannot pick HubSpot: {e}"))?;
        self.type_into("connect-name", "HubSpot (demo)").await?;
        self.type_into("connect-base-url", &base_url).await?;
        self.type_into("connect-token", &token).await?;
        let kind = self.wait_for_element("connect-token", self.patience).await?.attr("type").await.map_err(|e| e.to_string())?;
        if kind.as_deref() != Some("password") {
            return Err(format!("the token field is type {kind:?}, not a masked password field"));
        }
        self.click("connect-submit").await?;
        // Done when the form folds away (it does on success) or shows an error.
        let deadline = std::time::Instant::now() + self.patience * 2;
        loop {
            let error = format!("{} {}", css("connect-form"), css("error-banner"));
            if let Ok(banner) = self.client.find(Locator::Css(&error)).await {
                return Err(format!("connecting failed: {}", banner.text().await.unwrap_or_default()));
            }
            let details = self.client.find(Locator::Css("details.connect-details")).await.map_err(|e| e.to_string())?;
            if details.attr("open").await.map_err(|e| e.to_string())?.is_none() {
                break;
            }
            if std::time::Instant::now() >= deadline {
                return Err("the connect form neither finished nor showed an error".into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.wait_for_text("connections-table", self.patience, |t| t.contains("HubSpot (demo)") && t.contains("Connected")).await?;
        let source = self.client.source().await.map_err(|e| format!("cannot read the page: {e}"))?;
        if source.contains(&token) {
            return Err("the private-app token is in the page after connecting".into());
        }
        self.screenshot("connections-connected").await
    }

    async fn sync_now(&self) -> Result<(), String> {
        self.open_screen("connections").await?;
        self.click("sync-now").await?;
        let text = self
            .wait_for_text("sync-result", Duration::from_secs(150), |t| t.contains("Sync finished") || t.contains("Sync cancelled"))
            .await?;
        self.screenshot("connections-synced").await?;
        if text.contains("failed") {
            return Err(format!("the sync reported failures: {text}"));
        }
        Ok(())
    }

    async fn decide(&self) -> Result<Decision, String> {
        self.open_screen("review").await?;
        self.wait_for_element("conflict-row", self.patience * 2).await?;
        // Prefer an email conflict: its value is stored as typed, so the sandbox check is exact.
        let email = format!("{} option[value=\"email\"]", css("review-field"));
        if let Ok(option) = self.client.find(Locator::Css(&email)).await {
            option.click().await.map_err(|e| format!("cannot filter by email: {e}"))?;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        self.screenshot("review-filtered").await?;
        let row = self.wait_for_element("conflict-row", self.patience).await?;
        let buttons = row
            .find_all(Locator::Css(&css("conflict-value")))
            .await
            .map_err(|e| format!("the conflict row has no values: {e}"))?;
        let mut winner = None;
        let mut losers = Vec::new();
        for b in &buttons {
            let record = b.attr("data-record").await.map_err(|e| e.to_string())?.unwrap_or_default();
            let provider = b.attr("data-provider").await.map_err(|e| e.to_string())?.unwrap_or_default();
            if winner.is_none() && b.attr("data-suggested").await.map_err(|e| e.to_string())?.is_some() {
                let text = b.attr("data-value").await.map_err(|e| e.to_string())?.unwrap_or_default();
                if text.trim().is_empty() {
                    return Err(format!("the suggested value of {record} is empty; the walk needs a value it can look for"));
                }
                winner = Some((b.clone(), text));
            } else {
                losers.push((record, provider));
            }
        }
        let (button, value) = winner.ok_or("the first conflict has no suggested winner")?;
        button.click().await.map_err(|e| format!("clicking the suggested value failed: {e}"))?;
        let status = row.find(Locator::Css(&css("conflict-status"))).await.map_err(|e| e.to_string())?;
        let deadline = std::time::Instant::now() + self.patience;
        loop {
            if status.text().await.map_err(|e| e.to_string())?.contains("Decided") {
                break;
            }
            if std::time::Instant::now() >= deadline {
                return Err("the row never showed Decided after the click".into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.screenshot("review-decided").await?;
        Ok(Decision { value, losers })
    }

    async fn push(&self) -> Result<(), String> {
        self.open_screen("push").await?;
        self.wait_for_element("push-write", self.patience * 2).await?;
        self.screenshot("push-preview").await?;
        self.click("push-now").await?;
        let text = self.wait_for_text("push-result", Duration::from_secs(120), |t| !t.trim().is_empty()).await?;
        self.screenshot("push-done").await?;
        if text.contains("verified") && !text.contains("0 verified") {
            Ok(())
        } else {
            Err(format!("the push did not verify a write: {text}"))
        }
    }

    async fn export_csv(&self) -> Result<(), String> {
        self.open_screen("reports").await?;
        self.click("export-conflicts").await?;
        let _ = self.wait_for_text("report-done", Duration::from_secs(60), |t| t.contains("Saved")).await?;
        let path = self.wait_for_element("report-path", self.patience).await?.text().await.map_err(|e| e.to_string())?;
        self.screenshot("reports-exported").await?;
        let text = std::fs::read_to_string(&path).map_err(|e| format!("the app said it saved {path}, but it cannot be read: {e}"))?;
        let header = text.trim_start_matches('\u{feff}').lines().next().unwrap_or("");
        if header.split(',').count() < 3 {
            return Err(format!("{path} does not start with a CSV header: {header:?}"));
        }
        println!("e2e: exported {path} ({} lines)", text.lines().count());
        Ok(())
    }
}

/// The control API path of a record key (`connection/object/id`) at `provider`.
fn state_path(record: &str, provider: &str) -> Option<String> {
    let mut parts = record.splitn(3, '/');
    let (_, object, id) = (parts.next()?, parts.next()?, parts.next()?);
    (!provider.is_empty() && !id.is_empty()).then(|| format!("/_sandbox/state/{provider}/{object}/{}", percent_encode(id)))
}

/// Escapes everything but unreserved characters, so an id like `gid://shopify/Customer/7` stays one path segment.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// True when some losing record now holds the decided value and has a new version since `before`.
async fn landed(origin: &str, decision: &Decision, before: &[(String, Option<serde_json::Value>)]) -> Result<(), String> {
    let want = decision.value.trim().to_lowercase();
    if want.is_empty() {
        return Err("the decided value is empty, so its arrival cannot be told apart".into());
    }
    let mut seen = Vec::new();
    for (path, old) in before {
        let now = sandbox::get_json(origin, path).await?;
        let holds = now.get("fields").map(|f| f.to_string().to_lowercase().contains(&want)).unwrap_or(false);
        let changed = old.as_ref().and_then(|o| o.get("version")) != now.get("version");
        if holds && changed {
            println!("e2e: {path} now holds {:?} (version {:?})", decision.value, now.get("version"));
            return Ok(());
        }
        seen.push(format!("{path}: holds={holds} changed={changed} fields={}", now.get("fields").map(|f| f.to_string()).unwrap_or_default()));
    }
    Err(format!("no losing record was rewritten to {:?}: {}", decision.value, seen.join("; ")))
}
