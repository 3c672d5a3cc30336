//! `concord report KIND --out FILE [--bom]`: write a CSV report.
//!
//! One call into `Workspace::report`; the summary (rows, totals per currency,
//! the audit chain's result for `audit`) goes to stdout, or JSON with `--json`.

use clap::Args;
use concord_api::report::{ReportKind, ReportOptions};
use concord_api::{ApiError, ErrorCode, Workspace};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Which report: reconciliation, conflicts, unmatched, duplicates, drift or audit.
    #[arg(value_name = "KIND")]
    pub kind: String,
    /// The CSV file to write (replaced only once the new one is complete).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Begin the file with a UTF-8 byte-order mark, for Excel on Windows.
    #[arg(long)]
    pub bom: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ws: &Workspace, args: ReportArgs) -> Result<ExitCode, ApiError> {
    let kind = ReportKind::parse(&args.kind)?;
    let summary = ws.report(kind, &args.out, &ReportOptions { bom: args.bom })?;
    if args.json {
        println!("{}", serde_json::to_string(&summary).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("wrote {} report: {} rows to {}", kind.as_str(), summary.rows, summary.path);
    for t in &summary.totals {
        let amounts: Vec<String> = t.amounts.iter().map(|a| format!("{} {}", a.column, a.amount)).collect();
        let currency = if t.currency.is_empty() { "(no currency)" } else { t.currency.as_str() };
        if amounts.is_empty() {
            println!("  {currency}: {} rows", t.rows);
        } else {
            println!("  {currency}: {} rows; {}", t.rows, amounts.join(", "));
        }
    }
    if let Some(note) = &summary.note {
        println!("  {note}");
    }
    Ok(ExitCode::SUCCESS)
}
