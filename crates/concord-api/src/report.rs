//! CSV reports: what the bookkeeper hands to the owner and the accountant.
//!
//! [`Workspace::report`] writes one [`ReportKind`] to a file through
//! `concord_report` (typed columns, formula-safe text, exact per-currency
//! totals, optional BOM), reading the store through a second, read-only use of
//! `concord.db` inside one read transaction: the report is a consistent
//! snapshot, rows stream from the SQLite cursor straight to the file (memory
//! stays flat), and the app's own connection is not held while it runs. The
//! file is written beside its destination under a temporary name, synced and
//! renamed over it, so a failed export never replaces a good file with half
//! of one. Each export is audited (`report.export`: kind, path, rows).
//! [`Workspace::report_kinds`] lists the reports for the Reports screen.
//!
//! Records are named everywhere by their key (`connection/object/external
//! id`, imports with a negative connection number) and by the system's name.
//! Reports that join records by key first copy the few fields they show into
//! a temporary table keyed by record key, so every lookup is indexed.

use crate::error::{ApiError, ErrorCode, Result};
use crate::workspace::{Workspace, DATABASE_FILE};
use concord_report::{Cell, Column, ColumnKind as K, Options, ReportError, ReportWriter};
use concord_store::audit;
use rusqlite::{Connection, OpenFlags, Row};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ReportKind {
    /// Fields on which linked records disagree: every system's value, the decision, the push.
    Conflicts,
    /// Records linked to nothing in another system.
    Unmatched,
    /// Records that appear twice in one system.
    Duplicates,
    /// Every order, invoice, credit note and payment, grouped by sale, with differences and discrepancies.
    Reconciliation,
    /// Schema drift found by the latest sync of each stream.
    Drift,
    /// The audit log, with the hash chain's verification result.
    Audit,
}

impl ReportKind {
    /// Every report, in the order the Reports screen lists them.
    pub const ALL: [ReportKind; 6] =
        [ReportKind::Reconciliation, ReportKind::Conflicts, ReportKind::Unmatched, ReportKind::Duplicates, ReportKind::Drift, ReportKind::Audit];

    /// The identifier used on the command line and across IPC.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Conflicts => "conflicts",
            ReportKind::Unmatched => "unmatched",
            ReportKind::Duplicates => "duplicates",
            ReportKind::Reconciliation => "reconciliation",
            ReportKind::Drift => "drift",
            ReportKind::Audit => "audit",
        }
    }

    /// Parses an identifier; the error lists the valid ones.
    pub fn parse(text: &str) -> Result<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.as_str() == text.trim()).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidInput,
                format!("unknown report {text:?}; use one of: {}", ReportKind::ALL.map(|k| k.as_str()).join(", ")),
            )
        })
    }

    fn title(self) -> &'static str {
        match self {
            ReportKind::Conflicts => "Conflicts and decisions",
            ReportKind::Unmatched => "Unmatched records",
            ReportKind::Duplicates => "Duplicates",
            ReportKind::Reconciliation => "Document reconciliation",
            ReportKind::Drift => "Schema drift",
            ReportKind::Audit => "Audit log",
        }
    }

    fn description(self) -> &'static str {
        match self {
            ReportKind::Conflicts => "One row per system's value of each conflicting field: the value, whether it won, who decided and when, and whether the fix was pushed.",
            ReportKind::Unmatched => "Customers, documents and payments with no link to a record in another system, with their amounts.",
            ReportKind::Duplicates => "Records that appear twice in one system, and invoices or payments entered twice.",
            ReportKind::Reconciliation => "Every order, invoice, credit note and payment grouped by sale: numbers, amounts, the invoice-to-order difference, statuses and discrepancies; totals per currency tie out to the systems.",
            ReportKind::Drift => "Fields that vanished, were renamed, changed type or newly appeared in the latest sync of each stream.",
            ReportKind::Audit => "Every entry of the audit log with its hash, and whether the hash chain verifies.",
        }
    }
}

/// A report the Reports screen can offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ReportKindInfo {
    pub kind: ReportKind,
    pub title: String,
    pub description: String,
    /// A file name to suggest in the save dialog, e.g. `concord-reconciliation-2026-11-23.csv`.
    pub file_name: String,
}

/// How to write a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ReportOptions {
    /// Begin the file with a UTF-8 byte-order mark (for Excel on Windows).
    pub bom: bool,
}

/// One amount column's total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ReportAmount {
    pub column: String,
    /// A decimal string.
    pub amount: String,
}

/// The totals of one currency, as written in the report's `total` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ReportTotal {
    /// The ISO 4217 code, or empty when the rows state none.
    pub currency: String,
    pub rows: u32,
    pub amounts: Vec<ReportAmount>,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ReportSummary {
    pub kind: ReportKind,
    /// The file written.
    pub path: String,
    /// Detail rows (the `total` and `note` rows are not counted).
    pub rows: u32,
    pub totals: Vec<ReportTotal>,
    /// The closing remark written as the `note` row (the audit chain's verification result).
    pub note: Option<String>,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}

fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28) || e.raw_os_error() == Some(112)
}

fn io_error(path: &Path, e: &std::io::Error) -> ApiError {
    if is_disk_full(e) {
        return ApiError::new(
            ErrorCode::Io,
            format!("the disk is full while writing {}; free some space (or choose another disk) and export again; any earlier file there was left untouched", path.display()),
        );
    }
    ApiError::new(ErrorCode::Io, format!("could not write {}: {e}; check the folder's permissions or choose another location", path.display()))
}

fn report_error(path: &Path, e: ReportError) -> ApiError {
    match e {
        ReportError::Io(io) => io_error(path, &io),
        ReportError::Shape(s) => internal(s),
    }
}

fn sql_error(e: rusqlite::Error) -> ApiError {
    ApiError::from(concord_store::StoreError::from(e))
}

/// Where writing a report can fail: the file or the store.
enum Fail {
    Write(ReportError),
    Read(rusqlite::Error),
    Store(concord_store::StoreError),
}

impl From<ReportError> for Fail {
    fn from(e: ReportError) -> Self {
        Fail::Write(e)
    }
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Read(e)
    }
}

type Out = ReportWriter<File>;

/// A text column's value (NULL as `None`); every text column is CAST AS TEXT in SQL.
fn t<'r>(row: &'r Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    Ok(row.get_ref(i)?.as_str_or_null()?)
}

impl Workspace {
    /// The reports, with a title, a description and a file name to suggest.
    pub fn report_kinds(&self) -> Result<Vec<ReportKindInfo>> {
        let today = self.now().get(..10).unwrap_or("").to_string();
        Ok(ReportKind::ALL
            .into_iter()
            .map(|k| ReportKindInfo {
                kind: k,
                title: k.title().into(),
                description: k.description().into(),
                file_name: format!("concord-{}-{today}.csv", k.as_str()),
            })
            .collect())
    }

    /// Writes the report `kind` to `out` (replacing it only once the new file is complete).
    pub fn report(&self, kind: ReportKind, out: &Path, options: &ReportOptions) -> Result<ReportSummary> {
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if out.file_name().is_none() || out.is_dir() {
            return Err(ApiError::new(ErrorCode::InvalidInput, format!("{} is a folder; give a file name such as {}/concord-{}.csv", out.display(), out.display(), kind.as_str())));
        }
        if !dir.is_dir() {
            return Err(ApiError::new(ErrorCode::Io, format!("the folder {} does not exist; create it or choose another location for the report", dir.display())));
        }
        let db = self.dir().join(DATABASE_FILE);
        let mut conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(sql_error)?;
        conn.busy_timeout(concord_store::BUSY_TIMEOUT).map_err(sql_error)?;
        let tmp = tempfile::Builder::new().prefix(".concord-report-").suffix(".tmp").tempfile_in(&dir).map_err(|e| io_error(out, &e))?;
        let file = tmp.as_file().try_clone().map_err(|e| io_error(out, &e))?;
        let writer = ReportWriter::new(file, columns(kind), Options { bom: options.bom }).map_err(|e| report_error(out, e))?;
        let tx = conn.transaction().map_err(sql_error)?;
        let written = match kind {
            ReportKind::Conflicts => conflicts(&tx, writer),
            ReportKind::Unmatched => unmatched(&tx, writer),
            ReportKind::Duplicates => duplicates(&tx, writer),
            ReportKind::Reconciliation => reconciliation(&tx, writer),
            ReportKind::Drift => drift(&tx, writer),
            ReportKind::Audit => audit_log(&tx, writer),
        };
        let (file, totals, note) = written.map_err(|f| match f {
            Fail::Write(e) => report_error(out, e),
            Fail::Read(e) => sql_error(e),
            Fail::Store(e) => ApiError::from(e),
        })?;
        drop(tx);
        drop(conn);
        file.sync_all().map_err(|e| io_error(out, &e))?;
        drop(file);
        tmp.persist(out).map_err(|e| io_error(out, &e.error))?;
        let path = std::fs::canonicalize(out).unwrap_or_else(|_| out.to_path_buf()).display().to_string();
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let summary = ReportSummary {
            kind,
            path: path.clone(),
            rows: clamp(totals.rows),
            totals: totals
                .currencies
                .into_iter()
                .map(|c| ReportTotal {
                    currency: c.currency,
                    rows: clamp(c.rows),
                    amounts: c.amounts.into_iter().map(|(column, amount)| ReportAmount { column: column.into(), amount: amount.to_string() }).collect(),
                })
                .collect(),
            note,
        };
        let now = self.now();
        let detail = serde_json::json!({ "kind": kind.as_str(), "path": path, "rows": totals.rows, "bom": options.bom });
        self.store().transaction(|tx| audit::append(tx, &audit::NewEntry { actor: self.actor(), action: "report.export", subject: kind.as_str(), detail: &detail }, &now))?;
        Ok(summary)
    }
}

/// Each report's columns (the writer adds `line` in front).
pub fn columns(kind: ReportKind) -> &'static [Column] {
    const CONFLICTS: &[Column] = &[
        Column::new("conflict_id", K::Integer),
        Column::new("entity", K::Text),
        Column::new("entity_kind", K::Text),
        Column::new("field", K::Text),
        Column::new("status", K::Text),
        Column::new("system", K::Text),
        Column::new("provider", K::Text),
        Column::new("record", K::Text),
        Column::new("value", K::Text),
        Column::new("last_modified", K::DateTime),
        Column::new("suggested", K::Text),
        Column::new("winner", K::Text),
        Column::new("decided_value", K::Text),
        Column::new("decided_by", K::Text),
        Column::new("decided_at", K::DateTime),
        Column::new("push_status", K::Text),
        Column::new("push_error", K::Text),
    ];
    const UNMATCHED: &[Column] = &[
        Column::new("entity", K::Text),
        Column::new("type", K::Text),
        Column::new("system", K::Text),
        Column::new("record", K::Text),
        Column::new("name_or_number", K::Text),
        Column::new("email", K::Text),
        Column::new("date", K::Date),
        Column::new("amount", K::Amount),
        Column::new("currency", K::Currency),
        Column::new("status", K::Text),
    ];
    const DUPLICATES: &[Column] = &[
        Column::new("finding", K::Text),
        Column::new("entity", K::Text),
        Column::new("system", K::Text),
        Column::new("first_record", K::Text),
        Column::new("first_name", K::Text),
        Column::new("second_record", K::Text),
        Column::new("second_name", K::Text),
        Column::new("state", K::Text),
        Column::new("method", K::Text),
        Column::new("score", K::Number),
        Column::new("evidence", K::Text),
        Column::new("amount", K::Amount),
        Column::new("currency", K::Currency),
    ];
    const RECONCILIATION: &[Column] = &[
        Column::new("sale", K::Text),
        Column::new("sale_date", K::Date),
        Column::new("document", K::Text),
        Column::new("system", K::Text),
        Column::new("record", K::Text),
        Column::new("number", K::Text),
        Column::new("reference", K::Text),
        Column::new("date", K::Date),
        Column::new("order_amount", K::Amount),
        Column::new("invoice_amount", K::Amount),
        Column::new("credit_amount", K::Amount),
        Column::new("payment_amount", K::Amount),
        Column::new("difference", K::Amount),
        Column::new("currency", K::Currency),
        Column::new("status", K::Text),
        Column::new("reconciled", K::Text),
        Column::new("discrepancies", K::Text),
    ];
    const DRIFT: &[Column] = &[
        Column::new("system", K::Text),
        Column::new("provider", K::Text),
        Column::new("stream", K::Text),
        Column::new("sync_started", K::DateTime),
        Column::new("sync_status", K::Text),
        Column::new("drift", K::Text),
        Column::new("field", K::Text),
        Column::new("detail", K::Text),
        Column::new("count", K::Integer),
        Column::new("examples", K::Text),
    ];
    const AUDIT: &[Column] = &[
        Column::new("id", K::Integer),
        Column::new("at", K::DateTime),
        Column::new("actor", K::Text),
        Column::new("action", K::Text),
        Column::new("subject", K::Text),
        Column::new("detail", K::Text),
        Column::new("prev_hash", K::Text),
        Column::new("hash", K::Text),
        Column::new("chain", K::Text),
    ];
    match kind {
        ReportKind::Conflicts => CONFLICTS,
        ReportKind::Unmatched => UNMATCHED,
        ReportKind::Duplicates => DUPLICATES,
        ReportKind::Reconciliation => RECONCILIATION,
        ReportKind::Drift => DRIFT,
        ReportKind::Audit => AUDIT,
    }
}

type Written = std::result::Result<(File, concord_report::Totals, Option<String>), Fail>;

fn done(w: Out, note: Option<String>) -> Written {
    let (file, totals) = w.finish(note.as_deref())?;
    Ok((file, totals, note))
}

/// The name of the system a key's connection number belongs to.
fn system_of(cid: &str) -> String {
    format!("CAST(coalesce((SELECT name FROM main.connections WHERE id = {cid}), (SELECT name FROM main.import_sources WHERE id = -({cid})), {cid}) AS TEXT)")
}

/// Copies every record's key and the fields reports show into `temp.report_rec`.
fn load_records(tx: &Connection) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DROP TABLE IF EXISTS temp.report_rec;
         CREATE TEMP TABLE report_rec (
            key TEXT PRIMARY KEY, cid INTEGER, system TEXT, entity TEXT, type TEXT, name TEXT, email TEXT,
            number TEXT, reference TEXT, date TEXT, amount TEXT, currency TEXT, status TEXT) WITHOUT ROWID;
         INSERT OR IGNORE INTO temp.report_rec
         SELECT cid || '/' || object || '/' || xid, cid, system, kind,
                CASE kind WHEN 'payment' THEN json_extract(data, '$.direction') ELSE json_extract(data, '$.kind') END,
                CASE kind WHEN 'party' THEN coalesce(json_extract(data, '$.displayName'), json_extract(data, '$.companyName'),
                        nullif(trim(coalesce(json_extract(data, '$.givenName'), '') || ' ' || coalesce(json_extract(data, '$.familyName'), '')), ''))
                     WHEN 'sales_document' THEN json_extract(data, '$.number')
                     ELSE json_extract(data, '$.reference') END,
                json_extract(data, '$.emails[0]'),
                json_extract(data, '$.number'),
                json_extract(data, '$.reference'),
                CASE kind WHEN 'payment' THEN json_extract(data, '$.date') ELSE json_extract(data, '$.issueDate') END,
                CAST(CASE kind WHEN 'payment' THEN json_extract(data, '$.amount') WHEN 'sales_document' THEN json_extract(data, '$.total') END AS TEXT),
                coalesce(json_extract(data, '$.currency'), ''),
                CASE kind WHEN 'sales_document' THEN json_extract(data, '$.status') END
         FROM (SELECT c.connection_id AS cid, c.object AS object, c.external_id AS xid, c.kind AS kind, c.data AS data, n.name AS system
                 FROM main.canonical_records c LEFT JOIN main.connections n ON n.id = c.connection_id
               UNION ALL
               SELECT -i.source_id, json_extract(i.data, '$.source.object'), i.external_id, i.kind, i.data, s.name
                 FROM main.imported_records i JOIN main.import_sources s ON s.id = i.source_id);",
    )
}

fn conflicts(tx: &Connection, mut w: Out) -> Written {
    // The decision table gains a `kind` in schema 4 (a withdrawn choice is no decision); older schemas have none.
    let has_kind: bool = tx.query_row("SELECT count(*) FROM pragma_table_info('decisions') WHERE name = 'kind'", [], |r| r.get::<_, i64>(0))? > 0;
    let in_force = if has_kind { "d.superseded_by IS NULL AND d.kind = 'choose'" } else { "d.superseded_by IS NULL" };
    let sql = format!(
        "SELECT c.id, CAST(c.entity_key AS TEXT), CAST(c.entity_kind AS TEXT), CAST(c.field AS TEXT), CAST(c.status AS TEXT),
                {system}, CAST(json_extract(j.value, '$.provider') AS TEXT), CAST(json_extract(j.value, '$.record') AS TEXT),
                CAST(json_extract(j.value, '$.value') AS TEXT), CAST(json_extract(j.value, '$.lastModified') AS TEXT),
                CASE WHEN c.suggested_winner = json_extract(j.value, '$.record') THEN 'yes' ELSE '' END,
                CASE WHEN d.id IS NULL THEN '' WHEN d.winner = json_extract(j.value, '$.record') THEN 'yes'
                     WHEN d.winner IS NULL AND d.value = json_extract(j.value, '$.value') THEN 'yes' ELSE 'no' END,
                CAST(d.value AS TEXT), CAST(d.decided_by AS TEXT), CAST(d.decided_at AS TEXT),
                CAST(o.state AS TEXT), CAST(o.last_error AS TEXT)
         FROM conflicts c JOIN json_each(c.candidates) j
         LEFT JOIN decisions d ON d.conflict_id = c.id AND {in_force}
         LEFT JOIN outbox o ON o.id = (SELECT max(x.id) FROM outbox x WHERE x.decision_id = d.id
                                       AND x.connection_id || '/' || x.object || '/' || x.external_id = json_extract(j.value, '$.record'))
         ORDER BY c.entity_key, c.field, c.id, j.key",
        system = system_of("json_extract(j.value, '$.connectionId')"),
    );
    let mut stmt = tx.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        w.row(&[
            Cell::Integer(r.get(0)?),
            Cell::opt_text(t(r, 1)?),
            Cell::opt_text(t(r, 2)?),
            Cell::opt_text(t(r, 3)?),
            Cell::opt_text(t(r, 4)?),
            Cell::opt_text(t(r, 5)?),
            Cell::opt_text(t(r, 6)?),
            Cell::opt_text(t(r, 7)?),
            Cell::opt_text(t(r, 8)?),
            Cell::datetime(t(r, 9)?),
            Cell::opt_text(t(r, 10)?),
            Cell::opt_text(t(r, 11)?),
            Cell::opt_text(t(r, 12)?),
            Cell::opt_text(t(r, 13)?),
            Cell::datetime(t(r, 14)?),
            Cell::opt_text(t(r, 15)?),
            Cell::opt_text(t(r, 16)?),
        ])?;
    }
    done(w, None)
}

/// Links that join records of different systems (`auto`, `confirmed`, `manual`).
const ACTIVE: &str = "state IN ('auto','confirmed','manual')";

/// The fields of a canonical record (party, document or payment) that reports
/// show, read in one pass of serde over the stored JSON, borrowing where it can.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Fields<'a> {
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    direction: Option<Cow<'a, str>>,
    #[serde(borrow)]
    display_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    company_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    given_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    family_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    emails: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    number: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reference: Option<Cow<'a, str>>,
    #[serde(borrow)]
    issue_date: Option<Cow<'a, str>>,
    #[serde(borrow)]
    date: Option<Cow<'a, str>>,
    #[serde(borrow)]
    total: Option<Cow<'a, str>>,
    #[serde(borrow)]
    amount: Option<Cow<'a, str>>,
    #[serde(borrow)]
    currency: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
}

impl<'a> Fields<'a> {
    fn parse(data: &'a str) -> Fields<'a> {
        // A record that is not in the model's shape still gets its row, with what the SQL knows.
        serde_json::from_str(data).unwrap_or_default()
    }

    /// `person`/`organisation`, `order`/`invoice`/`credit_note`, or `received`/`refunded`.
    fn type_name(&self, entity: &str) -> Option<&str> {
        if entity == "payment" { self.direction.as_deref().or(Some("received")) } else { self.kind.as_deref() }
    }

    fn name_or_number(&self, entity: &str) -> Option<Cow<'_, str>> {
        fn b<'s>(c: &'s Option<Cow<'_, str>>) -> Option<Cow<'s, str>> {
            c.as_deref().map(Cow::Borrowed)
        }
        match entity {
            "party" => b(&self.display_name).or_else(|| b(&self.company_name)).or_else(|| {
                let full = [self.given_name.as_deref(), self.family_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
                (!full.trim().is_empty()).then_some(Cow::Owned(full))
            }),
            "sales_document" => b(&self.number),
            _ => b(&self.reference),
        }
    }

    fn when(&self, entity: &str) -> Option<&str> {
        if entity == "payment" { self.date.as_deref() } else { self.issue_date.as_deref() }
    }

    fn money(&self, entity: &str) -> Option<&str> {
        match entity {
            "payment" => self.amount.as_deref(),
            "sales_document" => self.total.as_deref(),
            _ => None,
        }
    }
}

/// Every record, synced then imported, in the store's key order (no sort),
/// with its system's name and `extra` (SQL over the key `k`) as the last column.
fn record_scan(extra: &str, filter: &str) -> [String; 2] {
    [
        format!(
            "SELECT k, kind, data, system, {extra} FROM (
                SELECT c.connection_id AS cid, c.object AS object, c.external_id AS xid, c.connection_id || '/' || c.object || '/' || c.external_id AS k,
                       CAST(c.kind AS TEXT) AS kind, CAST(c.data AS TEXT) AS data, CAST(n.name AS TEXT) AS system
                FROM main.canonical_records c LEFT JOIN main.connections n ON n.id = c.connection_id)
             WHERE {filter} ORDER BY cid, object, xid"
        ),
        format!(
            "SELECT k, kind, data, system, {extra} FROM (
                SELECT i.source_id AS sid, i.external_id AS xid, -i.source_id || '/' || json_extract(i.data, '$.source.object') || '/' || i.external_id AS k,
                       CAST(i.kind AS TEXT) AS kind, CAST(i.data AS TEXT) AS data, CAST(s.name AS TEXT) AS system
                FROM main.imported_records i JOIN main.import_sources s ON s.id = i.source_id)
             WHERE {filter} ORDER BY sid, xid"
        ),
    ]
}

/// A record is unmatched when its customer or sale (see [`load_groups`]) holds
/// no record of another system; one with a suggested cross-system link says so.
/// Rows come in the store's key order (system, collection, id), straight from
/// its index, so nothing is sorted or copied.
fn unmatched(tx: &Connection, mut w: Out) -> Written {
    load_groups(tx)?;
    tx.execute_batch(
        "DROP TABLE IF EXISTS temp.report_matched;
         CREATE TEMP TABLE report_matched (key TEXT PRIMARY KEY) WITHOUT ROWID;
         INSERT INTO temp.report_matched (key)
         SELECT g.key FROM temp.report_group g WHERE g.grp IN (
            SELECT grp FROM temp.report_group GROUP BY grp HAVING count(DISTINCT substr(key, 1, instr(key, '/') - 1)) > 1);
         DROP TABLE IF EXISTS temp.report_suggested;
         CREATE TEMP TABLE report_suggested (key TEXT PRIMARY KEY) WITHOUT ROWID;
         INSERT OR IGNORE INTO temp.report_suggested (key)
         SELECT left_key FROM main.record_links WHERE state = 'suggested' AND same_system = 0
         UNION SELECT right_key FROM main.record_links WHERE state = 'suggested' AND same_system = 0;",
    )?;
    let extra = "EXISTS (SELECT 1 FROM temp.report_suggested x WHERE x.key = k)";
    let filter = "NOT EXISTS (SELECT 1 FROM temp.report_matched m WHERE m.key = k)";
    for sql in record_scan(extra, filter) {
        let mut stmt = tx.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let entity = t(r, 1)?.unwrap_or("");
            let f = Fields::parse(t(r, 2)?.unwrap_or("{}"));
            let suggested: bool = r.get(4)?;
            let name = f.name_or_number(entity);
            let cur = f.currency.as_deref().map(str::to_ascii_uppercase);
            w.row(&[
                Cell::Text(entity),
                Cell::opt_text(f.type_name(entity)),
                Cell::opt_text(t(r, 3)?),
                Cell::opt_text(t(r, 0)?),
                Cell::opt_text(name.as_deref()),
                Cell::opt_text(f.emails.first().map(|e| e.as_ref())),
                Cell::date(f.when(entity)),
                Cell::amount(f.money(entity)),
                currency(cur.as_deref()),
                Cell::Text(if suggested { "suggested link awaiting review" } else { "no link" }),
            ])?;
        }
    }
    done(w, None)
}

fn currency(c: Option<&str>) -> Cell<'_> {
    match c {
        Some(c) if !c.is_empty() => Cell::Currency(c),
        _ => Cell::Empty,
    }
}

/// Same-system links are duplicates unless they are relationships (a contact and
/// its company, a payment and the invoice it pays, a credit note and what it
/// credits); duplicate invoices and payments are the matcher's
/// `duplicate_invoice` and `duplicate_payment` discrepancies (its
/// `duplicate_party` only restates a link, so it is not repeated).
fn duplicates(tx: &Connection, mut w: Out) -> Written {
    load_records(tx)?;
    let sql = format!(
        "SELECT 'same_system_link', CAST(l.entity AS TEXT), {system}, l.left_key, CAST(a.name AS TEXT), l.right_key, CAST(b.name AS TEXT),
                CAST(l.state AS TEXT), CAST(l.method AS TEXT), l.score,
                (SELECT group_concat(CAST(value AS TEXT), '; ') FROM json_each(l.evidence)), NULL, NULL, 0 AS src, l.left_key AS k1, l.right_key AS k2
         FROM main.record_links l
         LEFT JOIN temp.report_rec a ON a.key = l.left_key LEFT JOIN temp.report_rec b ON b.key = l.right_key
         WHERE l.same_system = 1 AND l.state <> 'rejected' AND l.method NOT IN ('association', 'allocation', 'credit')
         UNION ALL
         SELECT CAST(d.kind AS TEXT), CASE d.kind WHEN 'duplicate_party' THEN 'party' ELSE 'document' END,
                {dsystem}, CAST(json_extract(d.records, '$[0]') AS TEXT), CAST(a.name AS TEXT),
                (SELECT group_concat(CAST(value AS TEXT), '; ') FROM json_each(d.records) WHERE key > 0), CAST(b.name AS TEXT),
                CAST(d.severity AS TEXT), NULL, NULL, CAST(d.summary AS TEXT), CAST(d.amount AS TEXT), CAST(a.currency AS TEXT), 1, d.entity_key, d.id
         FROM main.discrepancies d
         LEFT JOIN temp.report_rec a ON a.key = json_extract(d.records, '$[0]') LEFT JOIN temp.report_rec b ON b.key = json_extract(d.records, '$[1]')
         WHERE d.kind IN ('duplicate_invoice','duplicate_payment')
         ORDER BY src, k1, k2",
        system = system_of("CAST(substr(l.left_key, 1, instr(l.left_key, '/') - 1) AS INTEGER)"),
        dsystem = system_of("CAST(substr(json_extract(d.records, '$[0]'), 1, instr(json_extract(d.records, '$[0]'), '/') - 1) AS INTEGER)"),
    );
    let mut stmt = tx.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let score: Option<f64> = r.get(9)?;
        w.row(&[
            Cell::opt_text(t(r, 0)?),
            Cell::opt_text(t(r, 1)?),
            Cell::opt_text(t(r, 2)?),
            Cell::opt_text(t(r, 3)?),
            Cell::opt_text(t(r, 4)?),
            Cell::opt_text(t(r, 5)?),
            Cell::opt_text(t(r, 6)?),
            Cell::opt_text(t(r, 7)?),
            Cell::opt_text(t(r, 8)?),
            score.map_or(Cell::Empty, Cell::Number),
            Cell::opt_text(t(r, 10)?),
            Cell::amount(t(r, 11)?),
            currency(t(r, 12)?),
        ])?;
    }
    done(w, None)
}

/// Groups records the way matching does: records joined by active links
/// (`auto`, `confirmed`, `manual`, within a system or across), into
/// `temp.report_group`. A group of documents and payments is a sale, named
/// `sale:` and its smallest key (the matcher's discrepancy key); a group of
/// parties is a customer, named `party:` and its smallest key. A record in no
/// link is a group of its own and has no row.
fn load_groups(tx: &Connection) -> rusqlite::Result<()> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut parent: Vec<usize> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let mut document: Vec<bool> = Vec::new();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    {
        let mut stmt = tx.prepare(&format!("SELECT left_key, right_key, entity = 'document' FROM main.record_links WHERE {ACTIVE}"))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let is_doc: bool = r.get(2)?;
            let mut id = |k: String| {
                *index.entry(k.clone()).or_insert_with(|| {
                    parent.push(parent.len());
                    keys.push(k);
                    document.push(is_doc);
                    parent.len() - 1
                })
            };
            let (a, b) = (id(r.get(0)?), id(r.get(1)?));
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                // Keep the smaller key as the root, so the root names the group.
                if keys[ra] < keys[rb] {
                    parent[rb] = ra;
                } else {
                    parent[ra] = rb;
                }
            }
        }
    }
    tx.execute_batch("DROP TABLE IF EXISTS temp.report_group; CREATE TEMP TABLE report_group (key TEXT PRIMARY KEY, grp TEXT NOT NULL) WITHOUT ROWID;")?;
    let mut insert = tx.prepare("INSERT INTO temp.report_group (key, grp) VALUES (?1, ?2)")?;
    for i in 0..keys.len() {
        let root = find(&mut parent, i);
        let prefix = if document[root] { "sale" } else { "party" };
        insert.execute(rusqlite::params![keys[i], format!("{prefix}:{}", keys[root])])?;
    }
    Ok(())
}

/// One row per document and payment, grouped by sale (orders, invoices, credit
/// notes, payments). Each amount sits in the column of its type, so the
/// per-currency totals tie out to each system's own totals; refunds are
/// negative payments. `difference` is an invoice's total minus its sale's order
/// total in the same currency. A payment that states no currency (Xero's do
/// not) takes its sale's. SQLite sorts only the keys (sale, rank, record);
/// each record's JSON is then read by its row id and one sale at a time is
/// held in memory, to find the sale's date and currency before writing it.
fn reconciliation(tx: &Connection, mut w: Out) -> Written {
    load_groups(tx)?;
    // Orders, invoices, credit notes, payments: by collection where it says, else by the record's own kind.
    let by_kind = "CASE json_extract(c.data, '$.kind') WHEN 'order' THEN 0 WHEN 'invoice' THEN 1 ELSE 2 END";
    let rank = format!(
        "CASE WHEN c.kind = 'payment' THEN 3 ELSE CASE c.object WHEN 'orders' THEN 0 WHEN 'invoices' THEN 1
              WHEN 'credit_notes' THEN 2 WHEN 'credit_memos' THEN 2 WHEN 'refunds' THEN 2 ELSE {by_kind} END END"
    );
    let rank_imported = format!("CASE WHEN c.kind = 'payment' THEN 3 ELSE {by_kind} END");
    let sql = format!(
        "WITH docs AS (
            SELECT c.connection_id || '/' || c.object || '/' || c.external_id AS k, {rank} AS rank, 0 AS src, c.id AS rid, '' AS xid, CAST(n.name AS TEXT) AS system
            FROM main.canonical_records c LEFT JOIN main.connections n ON n.id = c.connection_id WHERE c.kind IN ('sales_document','payment')
            UNION ALL
            SELECT -c.source_id || '/' || json_extract(c.data, '$.source.object') || '/' || c.external_id, {rank_imported}, 1, c.source_id, c.external_id, CAST(s.name AS TEXT)
            FROM main.imported_records c JOIN main.import_sources s ON s.id = c.source_id WHERE c.kind IN ('sales_document','payment')),
         disc AS (
            SELECT entity_key, group_concat(kind || CASE WHEN amount IS NULL THEN '' ELSE ' ' || amount END, '; ') AS kinds
            FROM (SELECT entity_key, kind, amount FROM main.discrepancies ORDER BY entity_key, kind, id) GROUP BY entity_key)
         SELECT s.sale, d.k, d.src, d.rid, d.xid, d.system, CAST(x.kinds AS TEXT)
         FROM docs d JOIN (SELECT d2.k AS k, coalesce(g.grp, 'sale:' || d2.k) AS sale FROM docs d2 LEFT JOIN temp.report_group g ON g.key = d2.k) s ON s.k = d.k
         LEFT JOIN disc x ON x.entity_key = s.sale
         ORDER BY s.sale, d.rank, d.k"
    );
    let mut synced = tx.prepare("SELECT CAST(kind AS TEXT), CAST(data AS TEXT) FROM main.canonical_records WHERE id = ?1")?;
    let mut imported = tx.prepare("SELECT CAST(kind AS TEXT), CAST(data AS TEXT) FROM main.imported_records WHERE source_id = ?1 AND external_id = ?2")?;
    let mut stmt = tx.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut sale: Vec<SaleRow> = Vec::new();
    while let Some(r) = rows.next()? {
        let sale_key = t(r, 0)?.unwrap_or("");
        if sale.first().is_some_and(|s| s.sale != sale_key) {
            write_sale(&mut w, &sale)?;
            sale.clear();
        }
        let (kind, data): (String, String) = if r.get::<_, i64>(2)? == 0 {
            synced.query_row([r.get::<_, i64>(3)?], |x| Ok((x.get(0)?, x.get(1)?)))?
        } else {
            imported.query_row(rusqlite::params![r.get::<_, i64>(3)?, t(r, 4)?], |x| Ok((x.get(0)?, x.get(1)?)))?
        };
        let f = Fields::parse(&data);
        let document = match (kind.as_str(), f.type_name(&kind)) {
            ("payment", Some("refunded")) => "refund".to_string(),
            ("payment", _) => "payment".to_string(),
            (_, k) => k.unwrap_or("invoice").to_string(),
        };
        let own = |c: &Option<Cow<'_, str>>| c.as_deref().map(str::to_string);
        sale.push(SaleRow {
            sale: sale_key.to_string(),
            record: t(r, 1)?.unwrap_or("").to_string(),
            system: t(r, 5)?.map(str::to_string),
            status: own(&f.status).or_else(|| (kind == "payment").then(|| if document == "refund" { "refunded".into() } else { "received".into() })),
            number: own(&f.number),
            reference: own(&f.reference),
            date: f.when(&kind).map(str::to_string),
            amount: f.money(&kind).map(str::to_string),
            currency: f.currency.as_deref().filter(|c| !c.is_empty()).map(str::to_ascii_uppercase),
            discrepancies: t(r, 6)?.map(str::to_string),
            document,
        });
    }
    if !sale.is_empty() {
        write_sale(&mut w, &sale)?;
    }
    done(w, None)
}

/// One document or payment of the sale being written.
struct SaleRow {
    sale: String,
    document: String,
    record: String,
    system: Option<String>,
    number: Option<String>,
    reference: Option<String>,
    date: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    status: Option<String>,
    discrepancies: Option<String>,
}

/// Writes one sale's rows (already in order: orders, invoices, credit notes, payments).
fn write_sale(w: &mut Out, rows: &[SaleRow]) -> std::result::Result<(), ReportError> {
    // The sale's date: the order's, else the invoice's, else the payment's (the first row with one).
    let sale_date = rows.iter().find_map(|r| r.date.as_deref());
    let sale_currency = rows.iter().find_map(|r| r.currency.as_deref());
    let mut ordered: Vec<(&str, Decimal)> = Vec::new();
    for r in rows {
        let amount = r.amount.as_deref().and_then(|a| a.trim().parse::<Decimal>().ok());
        let cur = r.currency.as_deref().or(sale_currency).unwrap_or("");
        let as_cell = |a: Option<Decimal>| a.map_or(Cell::amount(r.amount.as_deref()), Cell::Amount);
        let (mut order, mut invoice, mut credit, mut payment, mut difference) = (Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty);
        match r.document.as_str() {
            "order" => {
                order = as_cell(amount);
                if let Some(a) = amount {
                    match ordered.iter_mut().find(|(c, _)| *c == cur) {
                        Some((_, sum)) => *sum += a,
                        None => ordered.push((cur, a)),
                    }
                }
            }
            "invoice" => {
                invoice = as_cell(amount);
                if let (Some(a), Some((_, o))) = (amount, ordered.iter().find(|(c, _)| *c == cur)) {
                    difference = Cell::Amount(a - o);
                }
            }
            "credit_note" => credit = as_cell(amount),
            "refund" => payment = amount.map_or(Cell::amount(r.amount.as_deref()), |a| Cell::Amount(-a)),
            _ => payment = as_cell(amount),
        }
        w.row(&[
            Cell::Text(&r.sale),
            Cell::date(sale_date),
            Cell::Text(&r.document),
            Cell::opt_text(r.system.as_deref()),
            Cell::Text(&r.record),
            Cell::opt_text(r.number.as_deref()),
            Cell::opt_text(r.reference.as_deref()),
            Cell::date(r.date.as_deref()),
            order,
            invoice,
            credit,
            payment,
            difference,
            currency(Some(cur)),
            Cell::opt_text(r.status.as_deref()),
            Cell::Text(if r.discrepancies.is_some() { "no" } else { "yes" }),
            Cell::opt_text(r.discrepancies.as_deref()),
        ])?;
    }
    Ok(())
}

fn drift(tx: &Connection, mut w: Out) -> Written {
    let mut stmt = tx.prepare(
        "SELECT CAST(c.name AS TEXT), CAST(c.provider AS TEXT), CAST(r.stream AS TEXT), CAST(r.started_at AS TEXT), CAST(r.status AS TEXT),
                CAST(json_extract(j.value, '$.kind') AS TEXT), CAST(json_extract(j.value, '$.field') AS TEXT),
                CAST(json_extract(j.value, '$.detail') AS TEXT), json_extract(j.value, '$.count'),
                (SELECT group_concat(CAST(value AS TEXT), '; ') FROM json_each(j.value, '$.examples'))
         FROM main.sync_runs r JOIN main.connections c ON c.id = r.connection_id JOIN json_each(r.drift) j
         WHERE r.id IN (SELECT max(id) FROM main.sync_runs GROUP BY connection_id, stream)
         ORDER BY c.name, r.stream, j.key",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let count: Option<i64> = r.get(8)?;
        w.row(&[
            Cell::opt_text(t(r, 0)?),
            Cell::opt_text(t(r, 1)?),
            Cell::opt_text(t(r, 2)?),
            Cell::datetime(t(r, 3)?),
            Cell::opt_text(t(r, 4)?),
            Cell::opt_text(t(r, 5)?),
            Cell::opt_text(t(r, 6)?),
            Cell::opt_text(t(r, 7)?),
            count.map_or(Cell::Empty, Cell::Integer),
            Cell::opt_text(t(r, 9)?),
        ])?;
    }
    done(w, None)
}

fn audit_log(tx: &Connection, mut w: Out) -> Written {
    let verification = audit::verify(tx).map_err(Fail::Store)?;
    let fault_at = verification.fault.as_ref().map(|f| f.row_id);
    let mut stmt = tx.prepare("SELECT id, CAST(at AS TEXT), CAST(actor AS TEXT), CAST(action AS TEXT), CAST(subject AS TEXT), CAST(detail AS TEXT), CAST(prev_hash AS TEXT), CAST(hash AS TEXT) FROM audit_log ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let chain = match fault_at {
            Some(f) if id == f => "broken here",
            Some(f) if id > f => "not verified (after the break)",
            _ => "verified",
        };
        w.row(&[
            Cell::Integer(id),
            Cell::datetime(t(r, 1)?),
            Cell::opt_text(t(r, 2)?),
            Cell::opt_text(t(r, 3)?),
            Cell::opt_text(t(r, 4)?),
            Cell::opt_text(t(r, 5)?),
            Cell::opt_text(t(r, 6)?),
            Cell::opt_text(t(r, 7)?),
            Cell::Text(chain),
        ])?;
    }
    let note = match &verification.fault {
        None => format!("audit chain verified: {} entries intact", verification.rows_checked),
        Some(f) => format!("audit chain BROKEN at entry {}: {} ({} entries verified before it)", f.row_id, f.reason, verification.rows_checked),
    };
    done(w, Some(note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_named_as_such() {
        let full = std::io::Error::from_raw_os_error(28);
        let e = io_error(Path::new("/x/r.csv"), &full);
        assert_eq!(e.code, ErrorCode::Io, "a full disk is a file-system problem");
        assert!(e.message.contains("disk is full") && e.message.contains("left untouched"), "the message says what happened and that the old file is safe: {}", e.message);
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(io_error(Path::new("/x/r.csv"), &denied).message.contains("permissions"), "other failures point at the folder's permissions");
    }

    #[test]
    fn kinds_parse_from_their_own_names() {
        for k in ReportKind::ALL {
            assert_eq!(ReportKind::parse(k.as_str()).unwrap(), k, "every kind's identifier parses back");
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()), "IPC uses the same identifier as the CLI");
        }
    }
}
