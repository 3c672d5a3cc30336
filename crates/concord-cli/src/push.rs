//! `concord decide`, `rule`, `push`, `outbox` and `undo`: deciding conflicts and
//! pushing the fixes back from the command line.
//!
//! Each command is one call into `concord_api::Workspace`. `push --dry-run`
//! prints the plan (every write: connection, record, field, old value to new
//! value, or why it cannot be made) and sends nothing. `push` draws a progress
//! bar, prints each write that did not land, ends with a summary line (sent,
//! verified, stale, dead-lettered, skipped) and exits 1 when anything did not
//! land. Tokens come from the OS keychain; for headless runs a connection's
//! token may instead be given in the environment variable
//! `CONCORD_TOKEN_<NAME>` (the connection's name upper-cased, other
//! characters as `_`), never on the command line.

use clap::{Args, Subcommand};
use concord_api::push::{Choice, OutboxEntry, PlannedWrite, PushOptions, PushProgress, PushSummary, RuleScope};
use concord_api::{ApiError, ErrorCode, Workspace};
use concord_core::Secret;
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;

/// Arguments of `concord decide`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The conflict's id (as `concord conflicts` prints it).
    pub conflict: i32,
    /// The record whose value wins (its key, from the conflict's values).
    #[arg(long, conflicts_with = "value", required_unless_present = "value")]
    pub winner: Option<String>,
    /// A value typed by hand.
    #[arg(long)]
    pub value: Option<String>,
}

/// Arguments of `concord rule`.
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// The field (personName, companyName, email, phone, billingAddress, taxNumber, currency).
    pub field: String,
    /// The connection whose value wins, e.g. "Books".
    #[arg(long)]
    pub system: String,
    /// Also replace earlier decisions (default: only undecided conflicts).
    #[arg(long)]
    pub all: bool,
}

/// Arguments of `concord push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Print the writes the push would make and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON (the plan, or the summary).
    #[arg(long)]
    pub json: bool,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Provider seconds per real second, for a time-scaled sandbox.
    #[arg(long, default_value_t = 1.0, hide = true)]
    pub time_scale: f64,
    /// Do not pace calls (only for a sandbox without rate limits).
    #[arg(long, hide = true)]
    pub no_rate_limits: bool,
}

/// Arguments of `concord outbox`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub command: Option<OutboxCommand>,
    /// Only writes in this state: pending, sending, sent, verified, stale, dead (the dead letters).
    #[arg(long)]
    pub state: Option<String>,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
}

/// `concord outbox` subcommands.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Retry a dead (or stale) write by hand, after its cause is fixed; exits 1 if it does not land.
    Retry {
        /// The write's id (as `concord outbox` prints it).
        id: i32,
        #[arg(long, default_value_t = 1.0, hide = true)]
        time_scale: f64,
        #[arg(long, hide = true)]
        no_rate_limits: bool,
    },
}

/// Arguments of `concord undo`.
#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The conflict's id. A pushed decision is reverted (the previous values are written back);
    /// one not yet pushed is taken back.
    pub conflict: i32,
    #[arg(long, default_value_t = 1.0, hide = true)]
    pub time_scale: f64,
    #[arg(long, hide = true)]
    pub no_rate_limits: bool,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime, ApiError> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(internal)
}

/// The environment variable that may hold a connection's token.
pub fn token_variable(name: &str) -> String {
    let up: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("CONCORD_TOKEN_{up}")
}

fn env_token(name: &str) -> Option<Secret> {
    std::env::var(token_variable(name)).ok().filter(|t| !t.trim().is_empty()).map(Secret::new)
}

fn options(time_scale: f64, no_rate_limits: bool) -> PushOptions {
    PushOptions { rate_limits: !no_rate_limits, time_scale, ..Default::default() }
}

fn show(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// Runs `concord decide`.
pub fn decide(ws: &Workspace, args: DecideArgs) -> Result<ExitCode, ApiError> {
    let view = ws.decide_conflict(args.conflict, &Choice { winner: args.winner, value: args.value })?;
    let d = ws.decision(view.id)?;
    println!(
        "conflict {} ({} of {}) decided: {:?}; `concord push --dry-run` shows the writes",
        view.id,
        view.field,
        view.entity_key,
        d.and_then(|d| d.value).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `concord rule`.
pub fn rule(ws: &Workspace, args: RuleArgs) -> Result<ExitCode, ApiError> {
    let n = ws.apply_rule(&args.field, &args.system, if args.all { RuleScope::All } else { RuleScope::Undecided })?;
    println!("{} wins {} in {n} conflicts; `concord push --dry-run` shows the writes", args.system, args.field);
    Ok(ExitCode::SUCCESS)
}

fn print_plan(plan: &[PlannedWrite], json: bool) -> Result<(), ApiError> {
    if json {
        println!("{}", serde_json::to_string_pretty(plan).map_err(internal)?);
        return Ok(());
    }
    for w in plan {
        let what = match (&w.skipped, &w.state) {
            (Some(why), _) => format!("SKIP ({why})"),
            (None, Some(state)) => format!("[{state}]"),
            (None, None) => "write".into(),
        };
        println!("conflict {:<5} {:<12} {:<40} {:<15} {:?} -> {:?}  {what}", w.conflict_id, w.connection, w.record, w.field, w.old_value, w.new_value);
    }
    let writes = plan.iter().filter(|w| w.skipped.is_none() && w.state.is_none()).count();
    let skipped = plan.iter().filter(|w| w.skipped.is_some()).count();
    println!("plan: {writes} writes to send, {skipped} that cannot be made, {} already recorded", plan.len() - writes - skipped);
    Ok(())
}

fn drive<F>(summary_of: F, quiet: bool, json: bool) -> Result<ExitCode, ApiError>
where
    F: FnOnce(&(dyn Fn(PushProgress) + Send + Sync)) -> Result<PushSummary, ApiError>,
{
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let progress = |p: PushProgress| {
        bar.set_length(p.total.max(0) as u64);
        bar.set_position(p.done.max(0) as u64);
        bar.set_message(format!("{} {}", p.connection, p.record));
        if p.outcome != "verified" {
            bar.println(format!("{:<8} #{} {} {} {}: {}", p.outcome, p.outbox_id, p.connection, p.record, p.field, p.detail.unwrap_or_default()));
        }
    };
    let summary = summary_of(&progress)?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string(&summary).map_err(internal)?);
    } else {
        println!(
            "push: {} writes: {} sent, {} verified, {} stale (back in review), {} dead-lettered (`concord outbox --state dead`), {} skipped",
            summary.total, summary.sent, summary.verified, summary.stale, summary.dead_lettered, summary.skipped
        );
    }
    Ok(if summary.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Runs `concord push`.
pub fn push(ws: &Workspace, args: PushArgs) -> Result<ExitCode, ApiError> {
    if args.dry_run {
        print_plan(&ws.push_plan()?, args.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rt = runtime()?;
    let opts = options(args.time_scale, args.no_rate_limits);
    drive(|p| rt.block_on(ws.push_with(&env_token, &opts, p)), args.quiet, args.json)
}

fn print_outbox(rows: &[OutboxEntry], json: bool) -> Result<(), ApiError> {
    for e in rows {
        if json {
            println!("{}", serde_json::to_string(e).map_err(internal)?);
        } else {
            println!(
                "{:>6} {:<9} {:<5} {:<12} {}/{} {:<15} {:?} -> {:?} tries {} {}{}",
                e.id,
                e.state,
                e.purpose,
                e.connection,
                e.object,
                e.external_id,
                e.field,
                show(&e.old_value),
                show(&e.new_value),
                e.attempts,
                e.response_id.as_deref().map(|r| format!("[{r}] ")).unwrap_or_default(),
                show(&e.last_error)
            );
        }
    }
    Ok(())
}

/// Runs `concord outbox` and `concord outbox retry ID`.
pub fn outbox(ws: &Workspace, args: OutboxArgs) -> Result<ExitCode, ApiError> {
    match args.command {
        None => {
            print_outbox(&ws.outbox(args.state.as_deref())?, args.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(OutboxCommand::Retry { id, time_scale, no_rate_limits }) => {
            let rt = runtime()?;
            let opts = options(time_scale, no_rate_limits);
            drive(|p| rt.block_on(ws.outbox_retry_with(id, &env_token, &opts, p)), true, false)
        }
    }
}

/// Runs `concord undo`.
pub fn undo(ws: &Workspace, args: UndoArgs) -> Result<ExitCode, ApiError> {
    // Revert when the decision in force has writes that landed; otherwise take it back.
    let pushed = match ws.decision(args.conflict)? {
        Some(d) if d.kind == "choose" => ws.outbox(Some("verified"))?.iter().any(|e| e.decision_id == Some(d.id)),
        _ => false,
    };
    if !pushed {
        let view = ws.undo_decision(args.conflict)?;
        println!("conflict {} is back in review (status {})", view.id, view.status);
        return Ok(ExitCode::SUCCESS);
    }
    let rt = runtime()?;
    let opts = options(args.time_scale, args.no_rate_limits);
    drive(|p| rt.block_on(ws.undo_push_with(args.conflict, &env_token, &opts, p)), true, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_variables_are_named_from_the_connection() {
        assert_eq!(token_variable("Demo Books"), "CONCORD_TOKEN_DEMO_BOOKS", "spaces and punctuation become underscores");
    }
}
