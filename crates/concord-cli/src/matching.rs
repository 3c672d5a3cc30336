//! `concord link`, `links`, `confirm`/`reject`/`unlink`, `conflicts`,
//! `discrepancies`, `policy` and `import-csv`: matching from the command line.
//!
//! Each command is one call into `concord_api::Workspace`. Lists print as CSV
//! (the default, for spreadsheets and benchmarks) or JSON (`--format json`);
//! a link's evidence is one `; `-separated cell in CSV and an array in JSON.

use clap::{Args, Subcommand, ValueEnum};
use concord_api::matching::{LinkAction, MatchSettings};
use concord_api::{ApiError, ErrorCode, Workspace};
use std::path::PathBuf;
use std::process::ExitCode;

/// How lists are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

/// Arguments of `concord link`.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// With two record keys, link them by hand; with none, run the matcher over every record.
    #[arg(num_args = 0..=2, value_name = "RECORD")]
    pub records: Vec<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `concord links`.
#[derive(Debug, Args)]
pub struct LinksArgs {
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Only links in this state: auto, suggested, confirmed, rejected, manual.
    #[arg(long)]
    pub state: Option<String>,
    /// Only `party` or `document` links.
    #[arg(long)]
    pub entity: Option<String>,
}

/// Arguments naming a pair of records.
#[derive(Debug, Args)]
pub struct PairArgs {
    /// One record's key (as `concord links` prints it).
    pub left: String,
    /// The other record's key.
    pub right: String,
}

/// Arguments of `concord conflicts` and `concord discrepancies`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Conflicts only: only this status (open, decided, resolved, ...).
    #[arg(long)]
    pub status: Option<String>,
}

/// `concord policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print which system owns each field, and the thresholds.
    Show,
    /// Make a system the owner of a field: `concord policy set phone accounting`.
    Set {
        /// personName, companyName, email, phone, billingAddress, taxNumber, currency, amounts, paymentStatus, orders.
        field: String,
        /// crm, shop, accounting or spreadsheet.
        owner: String,
        /// Why (shown with every conflict it decides).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Change thresholds and the rounding tolerance.
    Thresholds {
        #[arg(long)]
        auto: Option<f64>,
        #[arg(long)]
        suggest: Option<f64>,
        /// Totals differing by no more than this are a rounding difference (default 0.01).
        #[arg(long)]
        rounding_tolerance: Option<String>,
    },
}

/// Arguments of `concord import-csv`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The name this spreadsheet goes by as a source system (re-importing a name replaces it).
    #[arg(long)]
    pub name: String,
    /// `parties` or `documents`.
    #[arg(long)]
    pub entity: String,
    /// canonical_field=column (repeatable; `a+b` joins columns). Columns named like a field map themselves.
    #[arg(long = "map", value_name = "FIELD=COLUMN", num_args = 1.., action = clap::ArgAction::Append)]
    pub map: Vec<String>,
    /// The CSV file (with a header row); may also follow the --map pairs.
    pub file: Option<PathBuf>,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}

fn json<T: serde::Serialize>(v: &T) -> Result<(), ApiError> {
    println!("{}", serde_json::to_string_pretty(v).map_err(internal)?);
    Ok(())
}

fn csv_out(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<(), ApiError> {
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    w.write_record(header).map_err(internal)?;
    for r in rows {
        w.write_record(&r).map_err(internal)?;
    }
    w.flush().map_err(internal)
}

/// `concord link [LEFT RIGHT]`.
pub fn link(ws: &Workspace, args: LinkArgs) -> Result<ExitCode, ApiError> {
    match args.records.as_slice() {
        [] => {
            let s = ws.run_matching()?;
            if args.json {
                json(&s)?;
            } else {
                println!(
                    "matched {} parties, {} documents, {} payments: {} automatic and {} suggested links ({} decided), {} customers and {} sales linked, {} conflicts, {} discrepancies",
                    s.parties, s.documents, s.payments, s.auto_links, s.suggested_links, s.decided_links, s.customers, s.sales, s.conflicts, s.discrepancies
                );
                if s.unreadable > 0 {
                    eprintln!("warning: {} stored records are not in the canonical model's shape and were skipped", s.unreadable);
                }
            }
        }
        [l, r] => {
            let v = ws.decide_link(l, r, LinkAction::Link)?;
            println!("linked {} and {} by hand", v.left, v.right);
        }
        _ => return Err(ApiError::new(ErrorCode::InvalidInput, "give two record keys to link them by hand, or none to run the matcher")),
    }
    Ok(ExitCode::SUCCESS)
}

/// `concord confirm|reject|unlink LEFT RIGHT`.
pub fn decide(ws: &Workspace, args: PairArgs, action: LinkAction) -> Result<ExitCode, ApiError> {
    let v = ws.decide_link(&args.left, &args.right, action)?;
    println!("{} - {}: {}", v.left, v.right, v.state);
    Ok(ExitCode::SUCCESS)
}

/// `concord links`.
pub fn links(ws: &Workspace, args: LinksArgs) -> Result<ExitCode, ApiError> {
    let links = ws.links(args.state.as_deref(), args.entity.as_deref())?;
    match args.format {
        Format::Json => json(&links)?,
        Format::Csv => csv_out(
            &["entity", "left", "right", "left_system", "left_id", "right_system", "right_id", "state", "method", "score", "evidence", "same_system"],
            links.into_iter().map(|l| {
                vec![
                    l.entity,
                    l.left,
                    l.right,
                    l.left_system,
                    l.left_id,
                    l.right_system,
                    l.right_id,
                    l.state,
                    l.method,
                    format!("{:.4}", l.score),
                    l.evidence.join("; "),
                    l.same_system.to_string(),
                ]
            }),
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `concord conflicts`.
pub fn conflicts(ws: &Workspace, args: ListArgs) -> Result<ExitCode, ApiError> {
    let list = ws.conflicts(args.status.as_deref())?;
    match args.format {
        Format::Json => json(&list)?,
        Format::Csv => csv_out(
            &["id", "entity", "field", "status", "values", "suggested_winner", "suggested_value", "reason"],
            list.into_iter().map(|c| {
                let values = c
                    .values
                    .iter()
                    .map(|v| format!("{}={:?} ({})", v.system, v.value, v.last_modified.as_deref().unwrap_or("time unknown")))
                    .collect::<Vec<_>>()
                    .join("; ");
                vec![c.id.to_string(), c.entity_key, c.field, c.status, values, c.suggested_winner.unwrap_or_default(), c.suggested_value.unwrap_or_default(), c.reason]
            }),
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `concord discrepancies`.
pub fn discrepancies(ws: &Workspace, args: ListArgs) -> Result<ExitCode, ApiError> {
    let list = ws.discrepancies()?;
    match args.format {
        Format::Json => json(&list)?,
        Format::Csv => csv_out(
            &["id", "kind", "severity", "entity", "amount", "records", "summary", "date", "currency"],
            list.into_iter().map(|d| {
                vec![
                    d.id.to_string(),
                    d.kind,
                    d.severity,
                    d.entity_key,
                    d.amount.unwrap_or_default(),
                    d.records.join("; "),
                    d.summary,
                    d.date.unwrap_or_default(),
                    d.currency.unwrap_or_default(),
                ]
            }),
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `concord policy ...`.
pub fn policy(ws: &Workspace, cmd: PolicyCommand) -> Result<ExitCode, ApiError> {
    match cmd {
        PolicyCommand::Show => {}
        PolicyCommand::Set { field, owner, reason } => {
            ws.set_match_policy(&field, &owner, reason)?;
        }
        PolicyCommand::Thresholds { auto, suggest, rounding_tolerance } => {
            let cur = ws.match_settings()?;
            ws.set_match_settings(&MatchSettings {
                auto_threshold: auto.unwrap_or(cur.auto_threshold),
                suggest_threshold: suggest.unwrap_or(cur.suggest_threshold),
                rounding_tolerance: rounding_tolerance.unwrap_or(cur.rounding_tolerance),
            })?;
        }
    }
    for r in ws.match_policy()? {
        println!("{:<15} {:<11} {}", r.field, r.owner, r.reason);
    }
    let s = ws.match_settings()?;
    println!("auto-link at {:.2}, suggest at {:.2}, rounding tolerance {}", s.auto_threshold, s.suggest_threshold, s.rounding_tolerance);
    Ok(ExitCode::SUCCESS)
}

/// `concord import-csv`.
pub fn import_csv(ws: &Workspace, mut args: ImportArgs) -> Result<ExitCode, ApiError> {
    // `--map a=b c=d FILE`: the file is the one value without '='.
    let file = match args.file.take() {
        Some(f) => f,
        None => match args.map.iter().rposition(|m| !m.contains('=')) {
            Some(i) => PathBuf::from(args.map.remove(i)),
            None => return Err(ApiError::new(ErrorCode::InvalidInput, "name the CSV file to import")),
        },
    };
    let s = ws.import_csv(&args.name, &args.entity, &file, &args.map)?;
    println!("imported {} {} from {} as {:?} ({})", s.rows, s.entity, file.display(), s.name, s.mapping.join(", "));
    Ok(ExitCode::SUCCESS)
}
