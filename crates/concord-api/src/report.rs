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
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};
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

/// A TEXT column read in place, as `CAST(x AS TEXT)` would give it (a blob's
/// bytes as UTF-8, a number in decimal); for the hot loops, which skip the SQL cast.
fn text<'r>(row: &'r Row<'_>, i: usize) -> rusqlite::Result<Option<Cow<'r, str>>> {
    use rusqlite::types::ValueRef;
    Ok(match row.get_ref(i)? {
        ValueRef::Null => None,
        ValueRef::Text(b) | ValueRef::Blob(b) => Some(String::from_utf8_lossy(b)),
        ValueRef::Integer(n) => Some(Cow::Owned(n.to_string())),
        ValueRef::Real(_) => Some(Cow::Owned(row.get_ref(i)?.as_f64().map(|x| x.to_string()).unwrap_or_default())),
    })
}

/// A TEXT column's bytes in place (NULL as `None`, a number as `None`: the JSON columns hold text).
fn bytes<'r>(row: &'r Row<'_>, i: usize) -> rusqlite::Result<Option<&'r [u8]>> {
    use rusqlite::types::ValueRef;
    Ok(match row.get_ref(i)? {
        ValueRef::Text(b) | ValueRef::Blob(b) => Some(b),
        _ => None,
    })
}

/// Upper case without a copy when the text already is.
fn upper(c: &str) -> Cow<'_, str> {
    if c.bytes().any(|b| b.is_ascii_lowercase()) { Cow::Owned(c.to_ascii_uppercase()) } else { Cow::Borrowed(c) }
}

/// Each system's name by connection number (imports by the negated source
/// number), so rows carry the number and not the name.
fn system_names(tx: &Connection) -> rusqlite::Result<HashMap<i64, Option<String>>> {
    let mut names = HashMap::new();
    let mut stmt = tx.prepare("SELECT id, CAST(name AS TEXT) FROM main.connections UNION ALL SELECT -id, CAST(name AS TEXT) FROM main.import_sources")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(id) = r.get_ref(0)?.as_i64_or_null()? {
            names.insert(id, r.get::<_, Option<String>>(1)?);
        }
    }
    Ok(names)
}

/// The system named by connection number `id` (column `i`), if any.
fn system_name<'n>(names: &'n HashMap<i64, Option<String>>, id: Option<i64>) -> Option<&'n str> {
    id.and_then(|id| names.get(&id)).and_then(|n| n.as_deref())
}

/// Whether a temporary table holds any row.
fn any_rows(tx: &Connection, table: &str) -> rusqlite::Result<bool> {
    tx.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| r.get(0))
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

/// Reads on this thread while a second one writes: `read` hands full batches
/// to the writer through a short queue (memory stays bounded) and gets them
/// back emptied on the second channel, so their buffers are reused. A failed
/// send means the writer stopped; `read` then returns and the writer's error
/// is the one reported.
fn read_while_writing<B: Send>(
    mut w: Out,
    write: impl Fn(&mut Out, &mut B) -> std::result::Result<(), ReportError> + Send,
    read: impl FnOnce(&std::sync::mpsc::SyncSender<B>, &std::sync::mpsc::Receiver<B>) -> rusqlite::Result<()>,
) -> Written {
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<B>(4);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<B>();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> std::result::Result<Out, ReportError> {
            for mut batch in full_rx {
                write(&mut w, &mut batch)?;
                // The reader may have finished; then the buffers are simply dropped.
                let _ = empty_tx.send(batch);
            }
            Ok(w)
        });
        let read = read(&full_tx, &empty_rx);
        // Closing the queue ends the writer's loop.
        drop(full_tx);
        let written = writer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        read.map_err(Fail::Read)?;
        done(written?, None)
    })
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
    /// Reads the stored JSON's bytes (only the strings it keeps are checked as UTF-8).
    fn parse(data: &'a [u8]) -> Fields<'a> {
        // A record that is not in the model's shape still gets its row, with what the SQL knows.
        Fields::scan(data).unwrap_or_else(|| serde_json::from_slice(data).unwrap_or_default())
    }

    /// The fast path of [`Fields::parse`]: one pass over a JSON object whose
    /// wanted fields are plain strings (no escapes) or null and whose `emails`
    /// is empty, skipping every other value without decoding it. Anything else
    /// (an escape, another type, a repeated field, not an object) gives `None`,
    /// and serde reads the record instead, so both paths agree. The stored JSON
    /// is valid (the tables check `json_valid`), so skipped values are not re-checked.
    fn scan(data: &'a [u8]) -> Option<Fields<'a>> {
        let mut p = Scan { b: data, i: 0 };
        let mut f = Fields::default();
        let mut seen = 0u32;
        p.ws();
        p.eat(b'{')?;
        p.ws();
        if p.peek() == Some(b'}') {
            p.i += 1;
        } else {
            loop {
                let key = p.plain_bytes()?;
                p.ws();
                p.eat(b':')?;
                p.ws();
                let slot = match key {
                    b"kind" => (0, &mut f.kind),
                    b"direction" => (1, &mut f.direction),
                    b"displayName" => (2, &mut f.display_name),
                    b"companyName" => (3, &mut f.company_name),
                    b"givenName" => (4, &mut f.given_name),
                    b"familyName" => (5, &mut f.family_name),
                    b"number" => (6, &mut f.number),
                    b"reference" => (7, &mut f.reference),
                    b"issueDate" => (8, &mut f.issue_date),
                    b"date" => (9, &mut f.date),
                    b"total" => (10, &mut f.total),
                    b"amount" => (11, &mut f.amount),
                    b"currency" => (12, &mut f.currency),
                    b"status" => (13, &mut f.status),
                    b"emails" => {
                        // Only the empty list here; a listed address goes through serde.
                        if seen & (1 << 14) != 0 {
                            return None;
                        }
                        seen |= 1 << 14;
                        p.eat(b'[')?;
                        p.ws();
                        p.eat(b']')?;
                        (u32::MAX, &mut None)
                    }
                    _ => {
                        p.skip_value()?;
                        (u32::MAX, &mut None)
                    }
                };
                if let (bit @ 0..=13, field) = slot {
                    if seen & (1 << bit) != 0 {
                        return None;
                    }
                    seen |= 1 << bit;
                    if p.peek() == Some(b'n') {
                        p.lit(b"null")?;
                    } else {
                        *field = Some(Cow::Borrowed(p.plain_str()?));
                    }
                }
                p.ws();
                match p.next()? {
                    b',' => p.ws(),
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        p.ws();
        (p.i == data.len()).then_some(f)
    }

    /// The record's own `kind` when the whole record is not in the model's shape.
    fn kind_only(data: &'a [u8]) -> Option<Cow<'a, str>> {
        #[derive(Deserialize)]
        struct KindOnly<'k> {
            #[serde(borrow, default)]
            kind: Option<Cow<'k, str>>,
        }
        serde_json::from_slice::<KindOnly<'a>>(data).ok().and_then(|k| k.kind)
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

/// A cursor over JSON text for [`Fields::scan`].
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    fn lit(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// A string's bytes when it has no escapes or control characters; `None` for any other.
    fn plain_bytes(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        let len = self.b[start..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        self.i = start + len;
        self.eat(b'"')?;
        Some(&self.b[start..start + len])
    }

    /// A string without escapes or control characters, borrowed; `None` for any other.
    fn plain_str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.plain_bytes()?).ok()
    }

    /// Skips one value of any kind (escapes and nesting included).
    fn skip_value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.next()? {
                b'"' => loop {
                    // To the next quote or backslash at once; a backslash skips the character after it.
                    let n = self.b.get(self.i..)?.iter().position(|&c| c == b'"' || c == b'\\')?;
                    self.i += n + 1;
                    if self.b[self.i - 1] == b'"' {
                        break;
                    }
                    self.i += 1;
                },
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth = depth.checked_sub(1)?,
                // Separators and blanks between the values inside an object or array.
                b',' | b':' | b' ' | b'\t' | b'\n' | b'\r' if depth > 0 => {}
                b',' | b':' => return None,
                _ => {
                    // A number or literal ends at the next delimiter.
                    while !matches!(self.peek()?, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        self.i += 1;
                    }
                }
            }
            if depth == 0 {
                return Some(());
            }
        }
    }
}

/// Every record, synced then imported, in the store's key order (no sort):
/// key, kind, data, connection number (imports negated), then `extra` (SQL
/// over the key `k`); `filter` (over `k`) keeps a record.
fn record_scan(extra: &str, filter: &str) -> [String; 2] {
    [
        format!(
            "SELECT k, kind, data, cid, {extra} FROM (
                SELECT c.connection_id AS cid, c.object AS object, c.external_id AS xid, c.connection_id || '/' || c.object || '/' || c.external_id AS k,
                       c.kind AS kind, c.data AS data
                FROM main.canonical_records c)
             WHERE {filter} ORDER BY cid, object, xid"
        ),
        format!(
            "SELECT k, kind, data, -sid, {extra} FROM (
                SELECT i.source_id AS sid, i.external_id AS xid, -i.source_id || '/' || json_extract(i.data, '$.source.object') || '/' || i.external_id AS k,
                       i.kind AS kind, i.data AS data
                FROM main.imported_records i JOIN main.import_sources s ON s.id = i.source_id)
             WHERE {filter} ORDER BY sid, xid"
        ),
    ]
}

/// A record is unmatched when its customer or sale (see [`load_groups`]) holds
/// no record of another system; one with a suggested cross-system link says so.
/// Rows come in the store's key order (system, collection, id), straight from
/// its index, so nothing is sorted or copied; each record's JSON is read once.
fn unmatched(tx: &Connection, w: Out) -> Written {
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
    let names = system_names(tx)?;
    // An empty lookup table is left out of the SQL rather than probed once per record.
    let extra = if any_rows(tx, "temp.report_suggested")? { "EXISTS (SELECT 1 FROM temp.report_suggested x WHERE x.key = k)" } else { "0" };
    let filter = if any_rows(tx, "temp.report_matched")? { "NOT EXISTS (SELECT 1 FROM temp.report_matched m WHERE m.key = k)" } else { "1" };
    // As in the reconciliation: SQLite is read on this thread while a second one parses and writes.
    const BATCH: usize = 512;
    let names = &names;
    let write = |w: &mut Out, (batch, n): &mut (Vec<Unmatched>, usize)| {
        for rec in &batch[..*n] {
            rec.write(w, names)?;
        }
        Ok(())
    };
    read_while_writing(w, write, |full_tx, empty_rx| {
        let (mut batch, mut n): (Vec<Unmatched>, usize) = (Vec::new(), 0);
        for sql in record_scan(extra, filter) {
            let mut stmt = tx.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                if n == batch.len() {
                    batch.push(Unmatched::default());
                }
                let rec = &mut batch[n];
                n += 1;
                rec.entity.clear();
                rec.entity.push_str(&text(r, 1)?.unwrap_or_default());
                rec.key.clear();
                let key = text(r, 0)?;
                rec.has_key = key.is_some();
                rec.key.push_str(&key.unwrap_or_default());
                rec.data.clear();
                rec.data.extend_from_slice(bytes(r, 2)?.unwrap_or(b"{}"));
                rec.system = r.get_ref(3)?.as_i64_or_null().ok().flatten();
                rec.suggested = r.get(4)?;
                if n == BATCH {
                    let next = empty_rx.try_recv().map(|(emptied, _)| emptied).unwrap_or_default();
                    if full_tx.send((std::mem::replace(&mut batch, next), n)).is_err() {
                        // The writer stopped; its error is reported.
                        return Ok(());
                    }
                    n = 0;
                }
            }
        }
        if n > 0 {
            let _ = full_tx.send((batch, n));
        }
        Ok(())
    })
}

/// One unmatched record as read: its key, kind, JSON, connection number and whether a link is suggested.
#[derive(Default)]
struct Unmatched {
    entity: String,
    has_key: bool,
    key: String,
    data: Vec<u8>,
    system: Option<i64>,
    suggested: bool,
}

impl Unmatched {
    fn write(&self, w: &mut Out, names: &HashMap<i64, Option<String>>) -> std::result::Result<(), ReportError> {
        let entity = self.entity.as_str();
        let f = Fields::parse(&self.data);
        let name = f.name_or_number(entity);
        let cur = f.currency.as_deref().map(upper);
        w.row(&[
            Cell::Text(entity),
            Cell::opt_text(f.type_name(entity)),
            Cell::opt_text(system_name(names, self.system)),
            Cell::opt_text(self.has_key.then_some(self.key.as_str())),
            Cell::opt_text(name.as_deref()),
            Cell::opt_text(f.emails.first().map(|e| e.as_ref())),
            Cell::date(f.when(entity)),
            Cell::amount(f.money(entity)),
            currency(cur.as_deref()),
            Cell::Text(if self.suggested { "suggested link awaiting review" } else { "no link" }),
        ])
    }
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
        // A link's evidence is stored as weight codes; the report shows them in words.
        let evidence = t(r, 10)?.map(|e| if r.get::<_, i64>(13).unwrap_or(1) == 0 { render_evidence(e) } else { e.to_string() });
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
            Cell::opt_text(evidence.as_deref()),
            Cell::amount(t(r, 11)?),
            currency(t(r, 12)?),
        ])?;
    }
    done(w, None)
}

/// A `; `-joined list of stored evidence entries in words (`same email (×4,096); ...`).
fn render_evidence(joined: &str) -> String {
    joined.split("; ").map(|e| concord_match::fs::describe(e).0).collect::<Vec<_>>().join("; ")
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
    // `grp` is `pre` (0 `party:`, 1 `sale:`, which is how the two sort) followed by `root`, the group's smallest key.
    tx.execute_batch(
        "DROP TABLE IF EXISTS temp.report_group;
         CREATE TEMP TABLE report_group (key TEXT PRIMARY KEY, grp TEXT NOT NULL, pre INTEGER NOT NULL, root TEXT NOT NULL) WITHOUT ROWID;",
    )?;
    let mut insert = tx.prepare("INSERT INTO temp.report_group (key, grp, pre, root) VALUES (?1, ?2, ?3, ?4)")?;
    // In key order, so each row is appended at the end of the table's b-tree rather than placed at random.
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_unstable_by(|&a, &b| keys[a].cmp(&keys[b]));
    for i in order {
        let root = find(&mut parent, i);
        let (pre, prefix) = if document[root] { (1, "sale") } else { (0, "party") };
        insert.execute(rusqlite::params![keys[i], format!("{prefix}:{}", keys[root]), pre, keys[root]])?;
    }
    Ok(())
}

/// One row per document and payment, grouped by sale (orders, invoices, credit
/// notes, payments). Each amount sits in the column of its type, so the
/// per-currency totals tie out to each system's own totals; refunds are
/// negative payments. `difference` is an invoice's total minus its sale's order
/// total in the same currency. A payment that states no currency (Xero's do
/// not) takes its sale's. Sales come in the order of their names and, within a
/// sale, rows by rank (orders, invoices, credit notes, payments) then key.
///
/// SQLite sorts only the sale names, in one pass over the keys: a sale is
/// named `party:`/`sale:` and a key, so it sorts as (prefix, key), and a record
/// in no group is its own sale, so most sort records hold one short key and
/// two numbers. Each record's JSON is then read once by its row id into
/// buffers reused from sale to sale; one sale at a time is held, ranked and
/// ordered in memory, to find its date and currency before writing it. A
/// sale's discrepancies are looked up once per sale (never when there are none).
fn reconciliation(tx: &Connection, w: Out) -> Written {
    load_groups(tx)?;
    let names = system_names(tx)?;
    tx.execute_batch(
        "DROP TABLE IF EXISTS temp.report_disc;
         CREATE TEMP TABLE report_disc (entity_key TEXT PRIMARY KEY, kinds TEXT) WITHOUT ROWID;
         INSERT INTO temp.report_disc (entity_key, kinds)
         SELECT entity_key, group_concat(kind || CASE WHEN amount IS NULL THEN '' ELSE ' ' || amount END, '; ')
         FROM (SELECT entity_key, kind, amount FROM main.discrepancies ORDER BY entity_key, kind, id) GROUP BY entity_key;",
    )?;
    let has_disc = any_rows(tx, "temp.report_disc")?;
    // Columns: prefix (0 party, 1 sale), the sale's key, the record's key when it differs, then where to read the record.
    let sale = if any_rows(tx, "temp.report_group")? {
        "coalesce(g.pre, 1), coalesce(g.root, d.k) AS s, CASE WHEN g.root IS NULL THEN NULL ELSE d.k END AS k,
         d.src, d.rid, d.xid, d.cid FROM docs d LEFT JOIN temp.report_group g ON g.key = d.k WHERE d.k IS NOT NULL ORDER BY 1, s"
    } else {
        "1, d.k AS s, NULL, d.src, d.rid, d.xid, d.cid FROM docs d WHERE d.k IS NOT NULL ORDER BY s"
    };
    // A record without a key (an import that names no collection) has no row, as it is in no sale.
    // Synced records are found from their key index alone (kinds are checked to be party, sales_document or
    // payment, so "not a party" is found by the kind index): the records themselves are read once, below.
    let sql = format!(
        "WITH docs AS (
            SELECT c.connection_id || '/' || c.object || '/' || c.external_id AS k, 0 AS src, c.id AS rid, NULL AS xid, c.connection_id AS cid
            FROM main.canonical_records c WHERE c.id NOT IN (SELECT id FROM main.canonical_records WHERE kind = 'party')
            UNION ALL
            SELECT -c.source_id || '/' || json_extract(c.data, '$.source.object') || '/' || c.external_id, 1, c.source_id, c.external_id, -c.source_id
            FROM main.imported_records c JOIN main.import_sources s ON s.id = c.source_id WHERE c.kind IN ('sales_document','payment'))
         SELECT {sale}"
    );
    let mut synced = tx.prepare("SELECT kind, object, data FROM main.canonical_records WHERE id = ?1")?;
    let mut imported = tx.prepare("SELECT kind, NULL, data FROM main.imported_records WHERE source_id = ?1 AND external_id = ?2")?;
    let mut disc = tx.prepare("SELECT CAST(kinds AS TEXT) FROM temp.report_disc WHERE entity_key = ?1")?;
    let mut stmt = tx.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    // Reading (SQLite) and writing (parsing JSON, formatting CSV) take about as long as each other, so the
    // writing runs on a second thread (`read_while_writing`), fed finished sales in batches.
    const BATCH: usize = 256;
    let names = &names;
    let write = |w: &mut Out, batch: &mut Vec<Sale>| {
        for sale in batch.iter() {
            write_sale(w, sale, names)?;
        }
        batch.iter_mut().for_each(|s| s.len = 0);
        Ok(())
    };
    read_while_writing(w, write, |full_tx, empty_rx| {
        let mut pool: Vec<Sale> = Vec::new();
        let mut batch: Vec<Sale> = Vec::with_capacity(BATCH);
        let mut sale = Sale::default();
        // Hands a batch to the writer; false when the writer has stopped (its error is reported).
        let send = |batch: &mut Vec<Sale>, pool: &mut Vec<Sale>| -> bool {
            let full = std::mem::replace(batch, Vec::with_capacity(BATCH));
            let sent = full_tx.send(full).is_ok();
            while let Ok(back) = empty_rx.try_recv() {
                pool.extend(back);
            }
            sent
        };
        while let Some(r) = rows.next()? {
            let party = r.get::<_, i64>(0)? == 0;
            let key = text(r, 1)?.unwrap_or_default();
            if sale.len > 0 && (sale.party != party || sale.root != key) {
                batch.push(std::mem::replace(&mut sale, pool.pop().unwrap_or_default()));
                if batch.len() == BATCH && !send(&mut batch, &mut pool) {
                    return Ok(());
                }
            }
            if sale.len == 0 {
                sale.party = party;
                sale.root.clear();
                sale.root.push_str(&key);
                sale.key.clear();
                sale.key.push_str(if party { "party:" } else { "sale:" });
                sale.key.push_str(&key);
                sale.discrepancies = if has_disc { disc.query_row([&sale.key], |x| x.get::<_, Option<String>>(0)).optional()?.flatten() } else { None };
            }
            if sale.len == sale.rows.len() {
                sale.rows.push(SaleRow::default());
            }
            let row = &mut sale.rows[sale.len];
            sale.len += 1;
            row.record.clear();
            row.record.push_str(&text(r, 2)?.unwrap_or(key));
            row.imported = r.get::<_, i64>(3)? != 0;
            row.system = r.get_ref(6)?.as_i64_or_null().ok().flatten();
            let mut found = if row.imported {
                imported.query(rusqlite::params![r.get::<_, i64>(4)?, t(r, 5)?])?
            } else {
                synced.query([r.get::<_, i64>(4)?])?
            };
            let x = found.next()?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            row.kind.clear();
            row.kind.push_str(&text(x, 0)?.unwrap_or_default());
            row.object.clear();
            row.object.push_str(&text(x, 1)?.unwrap_or_default());
            row.data.clear();
            row.data.extend_from_slice(bytes(x, 2)?.unwrap_or(b"{}"));
        }
        if sale.len > 0 {
            batch.push(sale);
        }
        if !batch.is_empty() {
            send(&mut batch, &mut pool);
        }
        Ok(())
    })
}

/// The sale being read: its rows' buffers are kept and refilled from sale to
/// sale, so reading a record allocates nothing once the buffers have grown.
#[derive(Default)]
struct Sale {
    /// A customer's group (`party:`) rather than a sale's (`sale:`).
    party: bool,
    /// The smallest key of the group, or the record's own key.
    root: String,
    /// The sale's name: `sale:` or `party:` and `root`.
    key: String,
    discrepancies: Option<String>,
    /// Rows in use: `rows[..len]`.
    len: usize,
    rows: Vec<SaleRow>,
}

/// One document or payment of the sale being read.
#[derive(Default)]
struct SaleRow {
    record: String,
    imported: bool,
    system: Option<i64>,
    kind: String,
    /// The collection (synced records only).
    object: String,
    data: Vec<u8>,
}

impl SaleRow {
    /// Orders 0, invoices 1, credit notes 2, payments 3: by collection where it says, else by the record's own kind.
    fn rank(&self, f: &Fields<'_>) -> u8 {
        if self.kind == "payment" {
            return 3;
        }
        if !self.imported {
            match self.object.as_str() {
                "orders" => return 0,
                "invoices" => return 1,
                "credit_notes" | "credit_memos" | "refunds" => return 2,
                _ => {}
            }
        }
        let own = if f.kind.is_some() { f.kind.clone() } else { Fields::kind_only(&self.data) };
        match own.as_deref() {
            Some("order") => 0,
            Some("invoice") => 1,
            _ => 2,
        }
    }
}

/// What a sale's row shows, read from its JSON.
struct Shown<'a> {
    document: &'a str,
    status: Option<&'a str>,
    date: Option<&'a str>,
    amount: Option<&'a str>,
    currency: Option<Cow<'a, str>>,
}

impl<'a> Shown<'a> {
    fn of(kind: &str, f: &'a Fields<'a>) -> Shown<'a> {
        let document = match (kind, f.type_name(kind)) {
            ("payment", Some("refunded")) => "refund",
            ("payment", _) => "payment",
            (_, k) => k.unwrap_or("invoice"),
        };
        Shown {
            document,
            status: f.status.as_deref().or(if kind == "payment" { Some(if document == "refund" { "refunded" } else { "received" }) } else { None }),
            date: f.when(kind),
            amount: f.money(kind),
            currency: f.currency.as_deref().filter(|c| !c.is_empty()).map(upper),
        }
    }
}

/// Writes one sale's rows: orders, invoices, credit notes, payments, each by key.
fn write_sale(w: &mut Out, sale: &Sale, names: &HashMap<i64, Option<String>>) -> std::result::Result<(), ReportError> {
    let rows = &sale.rows[..sale.len];
    if let [r] = rows {
        // The common sale of one record: nothing to order.
        let f = Fields::parse(&r.data);
        let s = Shown::of(&r.kind, &f);
        let sale_currency = s.currency.as_deref();
        return write_sale_row(w, &sale.key, sale.discrepancies.as_deref(), names, r, &f, &s, s.date, sale_currency, &mut Vec::new());
    }
    let fields: Vec<Fields<'_>> = rows.iter().map(|r| Fields::parse(&r.data)).collect();
    let mut order: Vec<(u8, usize)> = rows.iter().zip(&fields).enumerate().map(|(i, (r, f))| (r.rank(f), i)).collect();
    order.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| rows[a.1].record.as_bytes().cmp(rows[b.1].record.as_bytes())));
    let shown: Vec<Shown<'_>> = rows.iter().zip(&fields).map(|(r, f)| Shown::of(&r.kind, f)).collect();
    // The sale's date: the order's, else the invoice's, else the payment's (the first row with one).
    let sale_date = order.iter().find_map(|&(_, i)| shown[i].date);
    let sale_currency = order.iter().find_map(|&(_, i)| shown[i].currency.as_deref());
    let mut ordered: Vec<(&str, Decimal)> = Vec::new();
    for &(_, i) in &order {
        write_sale_row(w, &sale.key, sale.discrepancies.as_deref(), names, &rows[i], &fields[i], &shown[i], sale_date, sale_currency, &mut ordered)?;
    }
    Ok(())
}

/// Writes one row of a sale; `ordered` sums the sale's orders so far by currency.
#[allow(clippy::too_many_arguments)]
fn write_sale_row<'s>(
    w: &mut Out,
    sale: &str,
    discrepancies: Option<&str>,
    names: &HashMap<i64, Option<String>>,
    r: &SaleRow,
    f: &Fields<'_>,
    s: &'s Shown<'s>,
    sale_date: Option<&str>,
    sale_currency: Option<&'s str>,
    ordered: &mut Vec<(&'s str, Decimal)>,
) -> std::result::Result<(), ReportError> {
    let amount = s.amount.and_then(|a| a.trim().parse::<Decimal>().ok());
    let cur: &'s str = s.currency.as_deref().or(sale_currency).unwrap_or("");
    let as_cell = |a: Option<Decimal>| a.map_or(Cell::amount(s.amount), Cell::Amount);
    let (mut order, mut invoice, mut credit, mut payment, mut difference) = (Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty);
    match s.document {
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
        "refund" => payment = amount.map_or(Cell::amount(s.amount), |a| Cell::Amount(-a)),
        _ => payment = as_cell(amount),
    }
    w.row(&[
        Cell::Text(sale),
        Cell::date(sale_date),
        Cell::Text(s.document),
        Cell::opt_text(system_name(names, r.system)),
        Cell::Text(&r.record),
        Cell::opt_text(f.number.as_deref()),
        Cell::opt_text(f.reference.as_deref()),
        Cell::date(s.date),
        order,
        invoice,
        credit,
        payment,
        difference,
        currency(Some(cur)),
        Cell::opt_text(s.status),
        Cell::Text(if discrepancies.is_some() { "no" } else { "yes" }),
        Cell::opt_text(discrepancies),
    ])
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
    fn the_fast_json_path_reads_what_serde_reads() {
        let cases = [
            r#"{"source":{"a":[1,{"b":"}]\"x"}],"c":null},"kind":"order","number":"INV-1","total":"-12.50","currency":"aud","lines":[],"x":null,"y":true,"z":-1.5e3}"#,
            r#" { "kind" : "invoice" , "emails" : [ ] , "status" : null , "reference" : "Zoë" } "#,
            r#"{}"#,
            r#"{"number":"a\"b"}"#,
            r#"{"emails":["a@b.example"]}"#,
            r#"{"kind":"x","kind":"y"}"#,
            r#"{"total":12.5}"#,
            r#"["order"]"#,
            r#"{"kind":"order"} x"#,
        ];
        for (i, c) in cases.iter().enumerate() {
            let slow: Fields = serde_json::from_slice(c.as_bytes()).unwrap_or_default();
            if let Some(fast) = Fields::scan(c.as_bytes()) {
                assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "where the fast path answers it must agree with serde: {c}");
            }
            assert_eq!(format!("{:?}", Fields::parse(c.as_bytes())), format!("{slow:?}"), "parse always agrees with serde: {c}");
            assert_eq!(Fields::scan(c.as_bytes()).is_some(), i < 3, "only plain records take the fast path, the rest go to serde: {c}");
        }
    }

    #[test]
    fn kinds_parse_from_their_own_names() {
        for k in ReportKind::ALL {
            assert_eq!(ReportKind::parse(k.as_str()).unwrap(), k, "every kind's identifier parses back");
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()), "IPC uses the same identifier as the CLI");
        }
    }
}
