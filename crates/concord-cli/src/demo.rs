//! `concord demo`: connect a workspace to the local provider sandboxes the way a
//! user connects real accounts, sync it once and run matching, so the app opens
//! on real records, conflicts and discrepancies.
//!
//! The sandbox is either already running (`--sandbox-url ORIGIN`, what
//! `scripts/demo.sh` does, so the app can sync against it later) or started
//! for the length of this command (`--start-sandbox`, from the
//! `concord-sandbox` binary next to this one). Connecting goes through
//! `Workspace::connect`: OAuth with PKCE for Xero and QuickBooks, whose sign-in
//! page the demo follows with an HTTP client instead of a browser, and
//! private-app tokens for HubSpot and Shopify; tokens go to the OS keychain.

use clap::Args;
use concord_api::demo::{FollowSignIn, SandboxInfo};
use concord_api::sync::SyncProgress;
use concord_api::{ApiError, ErrorCode, Workspace};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The origin of a running concord-sandbox (http://127.0.0.1:PORT, as its ready line says).
    #[arg(long, value_name = "ORIGIN", env = "CONCORD_SANDBOX_URL", conflicts_with = "start_sandbox", required_unless_present = "start_sandbox")]
    pub sandbox_url: Option<String>,
    /// Start concord-sandbox (next to this binary) for the length of this command, then stop it.
    #[arg(long)]
    pub start_sandbox: bool,
    /// With --start-sandbox: the seed of the generated business.
    #[arg(long, default_value_t = 7, requires = "start_sandbox")]
    pub seed: u64,
    /// With --start-sandbox: how many customers the business has.
    #[arg(long, default_value_t = 2_000, requires = "start_sandbox")]
    pub customers: usize,
    /// Only connect; do not sync or match.
    #[arg(long)]
    pub no_sync: bool,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}

/// A sandbox process this command started; stopped when dropped.
struct SandboxChild(Child);

impl Drop for SandboxChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sandbox(seed: u64, customers: usize) -> Result<(SandboxChild, SandboxInfo), ApiError> {
    let exe = std::env::current_exe().map_err(|e| internal(format!("cannot find this program's own path: {e}")))?;
    let bin = exe.with_file_name(format!("concord-sandbox{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("--start-sandbox needs the concord-sandbox program next to concord, at {}; build it with `cargo build -p concord-sandbox`", bin.display()),
        ));
    }
    println!("demo: starting {} --seed {seed} --customers {customers}", bin.display());
    let child = Command::new(&bin)
        .args(["--seed", &seed.to_string(), "--customers", &customers.to_string(), "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| ApiError::new(ErrorCode::Unavailable, format!("could not start {}: {e}", bin.display())))?;
    let mut child = SandboxChild(child);
    let stdout = child.0.stdout.take().ok_or_else(|| internal("the sandbox's output was not captured"))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).map_err(|e| ApiError::new(ErrorCode::Unavailable, format!("reading the sandbox's ready line failed: {e}")))?;
    if line.trim().is_empty() {
        return Err(ApiError::new(ErrorCode::Unavailable, "concord-sandbox exited before it was ready; its error is above"));
    }
    let ready: serde_json::Value = serde_json::from_str(line.trim()).map_err(|e| internal(format!("the sandbox's ready line is not JSON: {e}")))?;
    Ok((child, SandboxInfo::from_ready_line(&ready)?))
}

fn runtime() -> Result<tokio::runtime::Runtime, ApiError> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| internal(format!("could not start the async runtime: {e}")))
}

/// Runs `concord demo`.
pub fn run(ws: &Workspace, args: DemoArgs) -> Result<ExitCode, ApiError> {
    let rt = runtime()?;
    let (child, sandbox) = match &args.sandbox_url {
        Some(origin) => (None, rt.block_on(SandboxInfo::fetch(origin))?),
        None => {
            let (child, info) = start_sandbox(args.seed, args.customers)?;
            (Some(child), info)
        }
    };
    let started = std::time::Instant::now();
    println!("demo: workspace {}", ws.dir().display());
    println!("demo: sandbox at {} (seed {}, {} customers)", sandbox.origin, sandbox.seed, sandbox.customers);
    println!("demo: connecting through the same code path as `concord connect` and the Connections screen:");
    println!("demo:   Xero and QuickBooks sign in with OAuth (PKCE) on a loopback redirect; instead of opening your");
    println!("demo:   browser, the demo follows the sandbox's sign-in page with an HTTP client (the sandbox approves");
    println!("demo:   at once, as if you had clicked Allow). HubSpot and Shopify use the sandbox's private-app tokens.");
    println!("demo:   Tokens go to the OS keychain; the workspace keeps only names, tenants and scopes.");
    let show = |url: &str| {
        if url.starts_with("http") {
            let short = url.split('?').next().unwrap_or(url);
            println!("demo:   signing in at {short}");
        } else {
            println!("demo:   {url}");
        }
    };
    let connected = rt.block_on(ws.demo_connect(&sandbox, &FollowSignIn, &show))?;
    for c in &connected {
        let verb = if c.reconnected { "reconnected" } else { "connected" };
        let tenant = c.summary.tenant.as_ref().map(|t| format!(" to {t}")).unwrap_or_default();
        println!("demo: {verb} {:?} ({}){tenant} as connection {}", c.summary.name, c.summary.provider.display_name(), c.summary.id);
    }
    if args.no_sync {
        println!("demo: connected in {:.1} s; not syncing (--no-sync)", started.elapsed().as_secs_f64());
        return Ok(ExitCode::SUCCESS);
    }
    println!("demo: first sync of the four connections");
    let progress = |p: SyncProgress| match p.phase.as_str() {
        "finished" => println!("demo:   {} {}: {} records in {} pages", p.connection, p.stream, p.records, p.pages),
        "failed" => println!("demo:   {} {}: FAILED: {}", p.connection, p.stream, p.error.unwrap_or_default()),
        _ => {}
    };
    let results = rt.block_on(ws.demo_sync(sandbox.time_scale, &progress))?;
    let records: i64 = results.iter().map(|r| i64::from(r.records)).sum();
    let failed: Vec<_> = results.iter().filter(|r| !r.ok).collect();
    println!("demo: synced {} streams, {records} records ({} failed)", results.len(), failed.len());
    for r in &failed {
        eprintln!("error[sync]: {} {} failed: {}", r.connection, r.stream, r.error.as_deref().unwrap_or("unknown error"));
    }
    println!("demo: matching");
    let m = ws.run_matching()?;
    println!(
        "demo: read {} customers, {} documents, {} payments; {} links made, {} suggested for review; {} customers in several systems",
        m.parties, m.documents, m.payments, m.auto_links, m.suggested_links, m.customers
    );
    println!("demo: {} field conflicts, {} money discrepancies", m.conflicts, m.discrepancies);
    if m.unreadable > 0 {
        println!("demo: {} synced records were skipped by matching: they are not in the shape it reads (see `concord audit log --grep match.run`)", m.unreadable);
    }
    println!("demo: done in {:.1} s", started.elapsed().as_secs_f64());
    match child {
        Some(child) => {
            drop(child);
            println!("demo: stopped the sandbox this command started; the workspace keeps what it synced. To sync or push again,");
            println!("demo: run `bash scripts/demo.sh`, or start concord-sandbox with the same --seed and run `concord demo --sandbox-url ORIGIN`.");
        }
        None => println!("demo: open it with `concord-desktop --workspace {}` while the sandbox keeps running", ws.dir().display()),
    }
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
