//! `concord`: the command line over concord-api.
//!
//! Every subcommand opens the workspace (`--workspace DIR`, or `CONCORD_WORKSPACE`,
//! or the OS data directory) and calls one method of [`concord_api::Workspace`],
//! so the CLI, the desktop app and the tests share their behaviour. Errors go to
//! stderr as `error[code]: message` with a non-zero exit status.

mod sync;

mod connect;

mod matching;

mod demo;

mod report;

mod push;

use clap::{Args, Parser, Subcommand};
use concord_api::json::AuditFilter;
use concord_api::{ApiError, ErrorCode, Workspace};
use concord_core::SystemClock;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// mimalloc rather than glibc malloc: a sync allocates and frees millions of
/// small JSON values (ARCHITECTURE.md, concord-sync).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Concord keeps a small business's CRM, online shop and accounting books in agreement.
///
/// It syncs customers, orders, invoices, credit notes and payments from HubSpot,
/// Shopify, Xero and QuickBooks Online into a local workspace, finds where they
/// disagree, and pushes the bookkeeper's chosen fixes back safely.
#[derive(Debug, Parser)]
#[command(name = "concord", version, propagate_version = true)]
struct Cli {
    /// The workspace folder (default: the OS data directory's "Concord").
    #[arg(long, global = true, env = "CONCORD_WORKSPACE", value_name = "DIR")]
    workspace: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the workspace folder and its database, or check an existing one.
    ///
    /// Safe to run again: an existing workspace is opened and migrated to this
    /// version's schema, and nothing in it is changed otherwise.
    Init,
    /// Inspect the audit log, the append-only record of everything Concord did.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Pull records from the named connections (all when none are named); exits 1 if any stream failed.
    Sync(sync::SyncArgs),
    /// Show each connection's last sync, records per stream, freshness, errors and drift warnings.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Connect (or reconnect) HubSpot, Shopify, Xero or QuickBooks Online.
    ///
    /// OAuth opens the browser and waits for the sign-in on 127.0.0.1; the
    /// tokens go to the OS keychain. Secrets come from environment variables
    /// (--token-env, --client-secret-env), never from the command line.
    Connect(connect::ConnectArgs),
    /// Remove a connection's tokens from the keychain, keeping its local data unless --delete-data.
    Disconnect(connect::DisconnectArgs),
    /// List connections and their status.
    Connections,
    /// Link records across systems and find conflicts and discrepancies (or, given two record keys, link them by hand).
    Link(matching::LinkArgs),
    /// Print links with their score, method and evidence.
    Links(matching::LinksArgs),
    /// Confirm a link the matcher made or suggested.
    Confirm(matching::PairArgs),
    /// Reject a link: the records are not the same (the matcher will not link them again).
    Reject(matching::PairArgs),
    /// Undo a link (recorded as a rejection, so later runs keep it undone).
    Unlink(matching::PairArgs),
    /// Print fields on which linked records disagree, with every value and the suggested winner.
    Conflicts(matching::ListArgs),
    /// Print money and record discrepancies found by the last `concord link`.
    Discrepancies(matching::ListArgs),
    /// Show or change the system-of-record policy and the matching thresholds.
    #[command(subcommand)]
    Policy(matching::PolicyCommand),
    /// Import a spreadsheet of parties or documents as one more source system.
    ImportCsv(matching::ImportArgs),
    /// Connect this workspace to the local provider sandboxes (concord-sandbox), sync it and match it.
    ///
    /// Goes through the same connect code a user does: OAuth with PKCE for Xero and
    /// QuickBooks (the demo follows the sandbox's sign-in page itself instead of
    /// opening a browser) and private-app tokens for HubSpot and Shopify; tokens go
    /// to the OS keychain. Running it again reconnects the same four connections.
    Demo(demo::DemoArgs),
    /// Write a CSV report (reconciliation, conflicts, unmatched, duplicates, drift, audit) that opens safely in a spreadsheet.
    Report(report::ReportArgs),
    /// Decide a conflict: a winning record (--winner KEY) or a typed value (--value TEXT).
    Decide(push::DecideArgs),
    /// Decide every conflict on a field for one system ("Xero wins billing address for every customer").
    Rule(push::RuleArgs),
    /// Push the decisions to the systems that lost (--dry-run shows the writes); exits 1 if anything did not land.
    ///
    /// Each write is recorded in the outbox before it is sent, the record is re-read
    /// first (a change since the decision sends the conflict back to review), and it is
    /// re-read after to verify. Tokens come from the OS keychain; on a machine without
    /// one, give a connection's token in CONCORD_TOKEN_<NAME> (the name upper-cased,
    /// other characters as `_`), never on the command line.
    Push(push::PushArgs),
    /// List writes (--state dead is the dead-letter list), or retry one by hand: `concord outbox retry ID`.
    Outbox(push::OutboxArgs),
    /// Undo a conflict's decision: revert a pushed one (writing the previous values back) or take back an unpushed one.
    Undo(push::UndoArgs),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the audit log's hash chain; exits 1 and names the entry when a row was edited or deleted.
    Verify,
    /// Print audit entries, newest first.
    Log(LogArgs),
}

#[derive(Debug, Args)]
struct LogArgs {
    /// Only entries containing this text (case-insensitive) in actor, action, subject or detail.
    #[arg(long)]
    grep: Option<String>,
    /// At most this many entries.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    concord_api::memory::release_freed_memory_promptly();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error[{}]: {}", code_name(err.code), err.message);
            ExitCode::FAILURE
        }
    }
}

fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{code:?}"))
}

fn run(cli: Cli) -> Result<ExitCode, ApiError> {
    let dir = match cli.workspace {
        Some(dir) => dir,
        None => concord_api::workspace::default_dir()?,
    };
    let clock = Arc::new(SystemClock);
    match cli.command {
        Command::Init => {
            let ws = Workspace::init(&dir, clock, "cli")?;
            let info = ws.app_info()?;
            println!("workspace ready: {} (schema {}, {} audit entries)", info.workspace, info.schema_version, info.audit_entries);
            Ok(ExitCode::SUCCESS)
        }
        Command::Connect(args) => connect::connect(&Workspace::init(&dir, clock, "cli")?, args),
        Command::Disconnect(args) => connect::disconnect(&Workspace::open(&dir, clock, "cli")?, args),
        Command::Connections => connect::list(&Workspace::open(&dir, clock, "cli")?),
        Command::Link(args) => matching::link(&Workspace::open(&dir, clock, "cli")?, args),
        Command::Links(args) => matching::links(&Workspace::open(&dir, clock, "cli")?, args),
        Command::Confirm(args) => matching::decide(&Workspace::open(&dir, clock, "cli")?, args, concord_api::matching::LinkAction::Confirm),
        Command::Reject(args) => matching::decide(&Workspace::open(&dir, clock, "cli")?, args, concord_api::matching::LinkAction::Reject),
        Command::Unlink(args) => matching::decide(&Workspace::open(&dir, clock, "cli")?, args, concord_api::matching::LinkAction::Unlink),
        Command::Conflicts(args) => matching::conflicts(&Workspace::open(&dir, clock, "cli")?, args),
        Command::Discrepancies(args) => matching::discrepancies(&Workspace::open(&dir, clock, "cli")?, args),
        Command::Policy(cmd) => matching::policy(&Workspace::open(&dir, clock, "cli")?, cmd),
        Command::ImportCsv(args) => matching::import_csv(&Workspace::init(&dir, clock, "cli")?, args),
        Command::Demo(args) => demo::run(&Workspace::init(&dir, clock, "cli")?, args),
        Command::Report(args) => report::run(&Workspace::open(&dir, clock, "cli")?, args),
        Command::Decide(args) => push::decide(&Workspace::open(&dir, clock, "cli")?, args),
        Command::Rule(args) => push::rule(&Workspace::open(&dir, clock, "cli")?, args),
        Command::Push(args) => push::push(&Workspace::open(&dir, clock, "cli")?, args),
        Command::Outbox(args) => push::outbox(&Workspace::open(&dir, clock, "cli")?, args),
        Command::Undo(args) => push::undo(&Workspace::open(&dir, clock, "cli")?, args),
        Command::Audit(AuditCommand::Verify) => {
            let ws = Workspace::open(&dir, clock, "cli")?;
            let v = ws.audit_verify()?;
            match v.fault {
                None => {
                    println!("audit chain verified: {} entries intact", v.rows_checked);
                    Ok(ExitCode::SUCCESS)
                }
                Some(f) => {
                    eprintln!(
                        "error[{}]: audit chain broken at entry {}: {} ({} entries verified before it)",
                        code_name(ErrorCode::AuditChainBroken),
                        f.row_id,
                        f.reason,
                        v.rows_checked
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Sync(args) => sync::run_sync(&Workspace::open(&dir, clock, "cli")?, args),
        Command::Status { json } => sync::run_status(&Workspace::open(&dir, clock, "cli")?, json),
        Command::Audit(AuditCommand::Log(args)) => {
            let ws = Workspace::open(&dir, clock, "cli")?;
            let entries = ws.audit_entries(&AuditFilter { text: args.grep, limit: args.limit, before_id: None })?;
            for e in entries {
                if args.json {
                    println!("{}", serde_json::to_string(&e).map_err(|err| ApiError::new(ErrorCode::Internal, err.to_string()))?);
                } else {
                    println!("{:>6}  {}  {:<8} {:<24} {}", e.id, e.at, e.actor, e.action, e.subject);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
