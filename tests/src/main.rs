//! `concord-e2e`: the end-to-end check of the built desktop app, as a person would use it.
//!
//! It starts tauri-driver, opens the app (`concord-desktop --workspace <folder>`: a new temporary
//! one, or `--workspace`, the demo workspace scripts/e2e-session.sh makes) through WebKitWebDriver,
//! walks every screen (see `walk.rs`) and, given `--sandbox-url`, the bookkeeper's first fix on the
//! demo workspace (see `demo_walk.rs`), closes the app, and then asks the CLI
//! (`concord --workspace <folder> audit verify`) whether what the app wrote is sound.
//! It needs a display and a session bus, so scripts/e2e-session.sh runs it inside
//! `xvfb-run dbus-run-session`; it is a binary rather than a test so that a plain `cargo test`
//! never tries to open a window. It ends with `N passed, N failed` and exits 1 on any failure.

mod demo_walk;
mod sandbox;
mod tally;
mod tauri_driver;
mod walk;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fantoccini::ClientBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use tally::Tally;
use tauri_driver::TauriDriver;
use walk::Walk;

/// Paths default to siblings of this binary in the cargo target folder
/// (target/debug/concord-desktop, target/debug/concord, target/tools/bin/tauri-driver).
#[derive(Parser)]
#[command(about = "Walks the Concord desktop app end to end over WebDriver (needs a display).")]
struct Args {
    /// The desktop app binary.
    #[arg(long)]
    desktop: Option<PathBuf>,
    /// The `concord` CLI binary.
    #[arg(long)]
    cli: Option<PathBuf>,
    /// The tauri-driver binary.
    #[arg(long)]
    tauri_driver: Option<PathBuf>,
    /// The WebKitWebDriver binary, if not the one on PATH.
    #[arg(long)]
    native_driver: Option<PathBuf>,
    /// Where screenshots and failure evidence go.
    #[arg(long)]
    screenshots: Option<PathBuf>,
    /// Where tauri-driver's (and so the app's) output goes.
    #[arg(long)]
    logs: Option<PathBuf>,
    /// Walk this workspace (kept afterwards) instead of a new empty one: the demo workspace
    /// that scripts/e2e-session.sh makes with `concord demo`.
    #[arg(long)]
    workspace: Option<PathBuf>,
    /// The running concord-sandbox the workspace is connected to (http://127.0.0.1:PORT); with
    /// it, the walk also connects, syncs, decides, pushes, checks the sandbox and exports a CSV.
    #[arg(long, requires = "workspace")]
    sandbox_url: Option<String>,
    /// Seconds to wait for any one expected piece of the UI.
    #[arg(long, default_value_t = 30)]
    patience_secs: u64,
}

/// The checks made outside the browser session.
const CHECK_STORE: &str = "workspace folder holds the app's store";
const WHY_STORE: &str = "the app must keep its data in the folder given by --workspace, \
    not in a default location, or a person's workspaces would silently mix";
const CHECK_CLI: &str = "CLI verifies the audit chain the app wrote";
const WHY_CLI: &str = "the app and the CLI share one store format and one audit chain; \
    `concord audit verify` exiting 0 proves the app left the chain intact";

fn absolute(p: PathBuf) -> PathBuf {
    std::path::absolute(&p).unwrap_or(p)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let target_dir = exe_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| exe_dir.clone());
    let desktop = absolute(
        args.desktop
            .unwrap_or_else(|| exe_dir.join("concord-desktop")),
    );
    let cli = absolute(args.cli.unwrap_or_else(|| exe_dir.join("concord")));
    let driver_bin = absolute(
        args.tauri_driver
            .unwrap_or_else(|| target_dir.join("tools/bin/tauri-driver")),
    );
    let screenshots = absolute(
        args.screenshots
            .unwrap_or_else(|| target_dir.join("e2e-screenshots")),
    );
    let logs = absolute(args.logs.unwrap_or_else(|| target_dir.join("e2e-logs")));
    let patience = Duration::from_secs(args.patience_secs);

    for dir in [&screenshots, &logs] {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("e2e: cannot create {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    let temporary = match &args.workspace {
        Some(_) => None,
        None => match tempfile::Builder::new().prefix("concord-e2e-").tempdir() {
            Ok(dir) => Some(dir),
            Err(e) => {
                eprintln!("e2e: cannot create a temporary workspace: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let workspace_dir: PathBuf = match (&args.workspace, &temporary) {
        (Some(dir), _) => absolute(dir.clone()),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => unreachable!("a temporary workspace is made whenever none is given"),
    };
    let sandbox = args.sandbox_url.as_deref();
    println!("e2e: app {}", desktop.display());
    println!("e2e: workspace {}", workspace_dir.display());
    if let Some(origin) = sandbox {
        println!("e2e: sandbox {origin}");
    }

    let mut tally = Tally::default();
    drive_app(
        &mut tally,
        &desktop,
        &driver_bin,
        args.native_driver.as_deref(),
        &logs,
        &screenshots,
        &workspace_dir,
        sandbox,
        patience,
    )
    .await;
    check_cli(&mut tally, &cli, &workspace_dir).await;

    println!("{}", tally.summary());
    let (_, failed) = tally.counts();
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        let kept = temporary.map(|t| t.keep()).unwrap_or(workspace_dir);
        println!("e2e: kept the workspace for diagnosis: {}", kept.display());
        println!(
            "e2e: logs in {}, screenshots in {}",
            logs.display(),
            screenshots.display()
        );
        ExitCode::FAILURE
    }
}

/// Starts tauri-driver and the app, walks it, and closes both. Every check it could not reach
/// is recorded as failed with the cause.
#[allow(clippy::too_many_arguments)]
async fn drive_app(
    tally: &mut Tally,
    desktop: &Path,
    driver_bin: &Path,
    native_driver: Option<&Path>,
    logs: &Path,
    screenshots: &Path,
    workspace: &Path,
    sandbox: Option<&str>,
    patience: Duration,
) {
    let skip_all = |tally: &mut Tally, cause: &str| {
        for name in walk::check_names(sandbox.is_some()) {
            tally.not_run(
                &name,
                "the app must start under WebDriver for any of its checks to run",
                cause,
            );
        }
    };
    if !desktop.is_file() {
        skip_all(
            tally,
            &format!(
                "no desktop binary at {} (run `cargo build -p concord-desktop`)",
                desktop.display()
            ),
        );
        return;
    }
    let driver = match TauriDriver::start(driver_bin, native_driver, logs, Duration::from_secs(20))
    {
        Ok(d) => d,
        Err(e) => {
            skip_all(tally, &e);
            return;
        }
    };

    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("wry"));
    caps.insert(
        "tauri:options".into(),
        json!({
            "application": desktop,
            "args": ["--workspace", workspace],
        }),
    );
    let connect = async {
        // Plain HTTP: tauri-driver listens on loopback only. (A TLS client would also need a rustls
        // crypto provider chosen, which is ambiguous once the workspace unifies ring and aws-lc-rs.)
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url())
            .await
            .map_err(|e| format!("no WebDriver session with the app: {e}"))
    };
    let client = match tokio::time::timeout(patience * 2, connect).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            skip_all(tally, &format!("{e}; {}", driver.log_tail()));
            let _ = driver.stop(Duration::from_secs(10));
            return;
        }
        Err(_) => {
            skip_all(
                tally,
                &format!(
                    "no WebDriver session within {:?}; {}",
                    patience * 2,
                    driver.log_tail()
                ),
            );
            let _ = driver.stop(Duration::from_secs(10));
            return;
        }
    };

    Walk {
        client: &client,
        workspace,
        screenshots,
        patience,
        sandbox,
    }
    .run(tally)
    .await;

    // Ending the session makes WebKitWebDriver close the app, which must happen before the CLI
    // opens the same store and before tauri-driver is stopped.
    match tokio::time::timeout(Duration::from_secs(20), client.close()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("e2e: closing the WebDriver session failed: {e}"),
        Err(_) => eprintln!("e2e: closing the WebDriver session took over 20 s"),
    }
    if let Err(e) = driver.stop(Duration::from_secs(10)) {
        eprintln!("e2e: {e}");
    }

    let entries = std::fs::read_dir(workspace).map(|d| d.count()).unwrap_or(0);
    let store = if entries > 0 {
        Ok(())
    } else {
        Err(format!(
            "{} is still empty after the app ran",
            workspace.display()
        ))
    };
    tally.record(CHECK_STORE, WHY_STORE, store);
}

/// Runs `concord --workspace <dir> audit verify` and records whether it exited 0.
async fn check_cli(tally: &mut Tally, cli: &Path, workspace: &Path) {
    let run = tokio::process::Command::new(cli)
        .arg("--workspace")
        .arg(workspace)
        .args(["audit", "verify"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let outcome = match tokio::time::timeout(Duration::from_secs(60), run).await {
        Err(_) => Err(format!("`{} audit verify` ran over 60 s", cli.display())),
        Ok(Err(e)) => Err(format!("cannot run {}: {e}", cli.display())),
        Ok(Ok(out)) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            println!("e2e: concord audit verify said: {}", text.trim());
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "`concord audit verify` exited with {}: {}",
                    out.status,
                    text.trim()
                ))
            }
        }
    };
    tally.record(CHECK_CLI, WHY_CLI, outcome);
}
