//! `concord sync [NAME...]` and `concord status`: pulling connections and showing how they stand.
//!
//! `sync` draws one progress bar per stream (records, pages, rate-limit waits,
//! time left when the provider says how much remains) and exits non-zero when
//! any stream failed, naming each failed stream and why. `status` prints, per
//! connection, the last successful sync, records and freshness per stream,
//! errors, drift warnings and whether the connection needs re-authorisation.
//!
//! Tokens come from the OS keychain, where `concord connect` put them; a
//! connection that needs re-authorisation fails alone and says how to reconnect.

use clap::Args;
use concord_api::sync::{SyncOptions, SyncProgress};
use concord_api::{ApiError, ErrorCode, Workspace};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

/// Arguments of `concord sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Connections to sync (all when none are named).
    pub names: Vec<String>,
    /// Provider seconds per real second, for a time-scaled sandbox.
    #[arg(long, default_value_t = 1.0, hide = true)]
    pub time_scale: f64,
    /// Do not pace calls (only for a sandbox without rate limits).
    #[arg(long, hide = true)]
    pub no_rate_limits: bool,
    /// Do not draw progress bars.
    #[arg(long)]
    pub quiet: bool,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}

/// Runs `concord sync`.
pub fn run_sync(ws: &Workspace, args: SyncArgs) -> Result<ExitCode, ApiError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(internal)?;
    let multi = MultiProgress::new();
    let bars: Mutex<HashMap<(String, String), ProgressBar>> = Mutex::new(HashMap::new());
    let style = ProgressStyle::with_template("{spinner} {prefix:<28} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner());
    let quiet = args.quiet;
    let progress = |p: SyncProgress| {
        if quiet {
            return;
        }
        let mut bars = bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry((p.connection.clone(), p.stream.clone())).or_insert_with(|| {
            let b = multi.add(ProgressBar::new_spinner());
            b.set_style(style.clone());
            b.set_prefix(format!("{} {}", p.connection, p.stream));
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        let eta = p.eta_seconds.map(|s| format!(", ~{:.0}s left", s)).unwrap_or_default();
        let msg = format!("{} records, {} pages, {} rate-limit waits{eta}", p.records, p.pages, p.rate_limit_waits);
        match p.phase.as_str() {
            "finished" => bar.finish_with_message(format!("done: {msg}")),
            "failed" => bar.abandon_with_message(format!("FAILED: {}", p.error.clone().unwrap_or_default())),
            _ => bar.set_message(msg),
        }
    };
    let options = SyncOptions { rate_limits: !args.no_rate_limits, time_scale: args.time_scale, ..Default::default() };
    let results = runtime.block_on(ws.sync_connected(&args.names, &options, &progress))?;
    let failed: Vec<_> = results.iter().filter(|r| !r.ok).collect();
    for r in &results {
        for d in &r.drift {
            eprintln!("warning[drift]: {} {}: {} {} ({}; {} records, e.g. {})", r.connection, r.stream, d.kind, d.field, d.detail, d.count, d.examples.join(", "));
        }
    }
    let changed: i32 = results.iter().map(|r| r.changed).sum();
    println!("synced {} streams: {} records new or changed", results.len() - failed.len(), changed);
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for r in &failed {
        let hint = if r.needs_reauth { " (connect it again)" } else { "" };
        eprintln!("error[sync]: {} {} failed{hint}: {}", r.connection, r.stream, r.error.as_deref().unwrap_or("unknown error"));
    }
    Ok(ExitCode::FAILURE)
}

/// Runs `concord status`.
pub fn run_status(ws: &Workspace, json: bool) -> Result<ExitCode, ApiError> {
    let status = ws.sync_status()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status).map_err(internal)?);
        return Ok(ExitCode::SUCCESS);
    }
    if status.is_empty() {
        println!("no connections yet");
    }
    for c in status {
        let reauth = if c.needs_reauth { "  NEEDS RE-AUTHORISATION: connect it again" } else { "" };
        println!("{} ({}): last successful sync {}{reauth}", c.name, c.provider.display_name(), c.last_successful_sync.as_deref().unwrap_or("never"));
        for s in c.streams {
            println!(
                "  {:<14} {:>8} records  freshest {:<24}  last run {} ({})",
                s.stream,
                s.records,
                s.freshest.as_deref().unwrap_or("-"),
                s.last_run_at.as_deref().unwrap_or("never"),
                s.status
            );
            if let Some(e) = s.error {
                println!("    error: {e}");
            }
            for d in s.drift {
                println!("    drift: {} {}: {} ({} records, e.g. {})", d.kind, d.field, d.detail, d.count, d.examples.join(", "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
