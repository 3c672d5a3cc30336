//! The streaming CSV writer: typed columns in, RFC 4180 rows and exact totals out.
//!
//! [`ReportWriter::new`] writes the optional UTF-8 byte-order mark and the
//! header; each [`ReportWriter::row`] is encoded straight into the buffered
//! output (nothing is collected, so memory stays flat however many rows pass);
//! [`ReportWriter::finish`] writes the totals rows and flushes.
//!
//! Every report's first column is `line`: `detail` for a data row, `total` for
//! a totals row, `note` for a closing remark (such as the audit chain's
//! verification result). One `total` row is written per currency found in the
//! first [`ColumnKind::Currency`] column (one row with an empty currency when
//! the report has none): it carries the currency, the exact sum of every
//! [`ColumnKind::Amount`] column over that currency's detail rows, and, in the
//! first text column, `N rows`. Filtering `line = detail` gives the data alone;
//! the totals tie out because they are summed from the very `Decimal`s written.

use crate::guard;
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;
use std::fmt::Write as _;
use std::io::Write;

/// What a column holds, which decides how its cells are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Free text, neutralised against formula injection.
    Text,
    /// Money: a plain decimal (`-12.50`), never neutralised, summed into the totals.
    Amount,
    /// An ISO 4217 code; the first such column groups the totals.
    Currency,
    /// An ISO 8601 calendar date, `YYYY-MM-DD`.
    Date,
    /// An ISO 8601 instant in UTC, `YYYY-MM-DDTHH:MM:SS.sssZ`.
    DateTime,
    /// A whole number (an id, a count), not summed.
    Integer,
    /// A measure that is not money (a score), not summed.
    Number,
}

/// One column: its header and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnKind,
}

impl Column {
    /// A column named `name` of kind `kind`.
    pub const fn new(name: &'static str, kind: ColumnKind) -> Column {
        Column { name, kind }
    }
}

/// One cell's value. [`Cell::Text`] and [`Cell::Empty`] fit any column; the
/// typed variants must sit in a column of their kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Text(&'a str),
    Amount(Decimal),
    Currency(&'a str),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Integer(i64),
    Number(f64),
}

impl<'a> Cell<'a> {
    /// Optional text: empty when `None`.
    pub fn opt_text(text: Option<&'a str>) -> Cell<'a> {
        text.map_or(Cell::Empty, Cell::Text)
    }

    /// A `YYYY-MM-DD` date (a longer ISO 8601 value is cut to its date); text
    /// that is not a date is kept as (neutralised) text rather than lost.
    pub fn date(text: Option<&'a str>) -> Cell<'a> {
        match text {
            None => Cell::Empty,
            Some(t) => iso_date(t).map_or(Cell::Text(t), Cell::Date),
        }
    }

    /// An RFC 3339 instant, normalised to UTC; other text is kept as text.
    pub fn datetime(text: Option<&'a str>) -> Cell<'a> {
        match text {
            None => Cell::Empty,
            Some(t) => DateTime::parse_from_rfc3339(t).map_or(Cell::Text(t), |d| Cell::DateTime(d.with_timezone(&Utc))),
        }
    }

    /// A decimal amount from its stored string; text that is not a decimal is kept as text.
    pub fn amount(text: Option<&'a str>) -> Cell<'a> {
        match text {
            None => Cell::Empty,
            Some(t) => t.trim().parse::<Decimal>().map_or(Cell::Text(t), Cell::Amount),
        }
    }

    fn fits(&self, kind: ColumnKind) -> bool {
        matches!(
            (self, kind),
            (Cell::Empty | Cell::Text(_), _)
                | (Cell::Amount(_), ColumnKind::Amount)
                | (Cell::Currency(_), ColumnKind::Currency)
                | (Cell::Date(_), ColumnKind::Date)
                | (Cell::DateTime(_), ColumnKind::DateTime)
                | (Cell::Integer(_), ColumnKind::Integer)
                | (Cell::Number(_), ColumnKind::Number)
        )
    }
}

/// How to write the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Begin with a UTF-8 byte-order mark, so Excel on Windows reads UTF-8 (not the ANSI code page).
    pub bom: bool,
}

/// What went wrong while writing.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The output could not be written (disk full, permissions, ...).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A row did not fit the columns: a bug in the report, not in the data.
    #[error("report row does not fit its columns: {0}")]
    Shape(String),
}

impl From<csv::Error> for ReportError {
    fn from(e: csv::Error) -> Self {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => ReportError::Io(io),
            other => ReportError::Shape(format!("{other:?}")),
        }
    }
}

/// The totals of one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyTotal {
    /// The currency code, or empty when the rows state none.
    pub currency: String,
    /// Detail rows in this currency.
    pub rows: u64,
    /// Each amount column's name and exact sum, in column order.
    pub amounts: Vec<(&'static str, Decimal)>,
}

/// What a finished report holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    /// Detail rows written (totals and note rows not counted).
    pub rows: u64,
    /// One entry per currency, in code order.
    pub currencies: Vec<CurrencyTotal>,
}

/// The label of the first column on each kind of row.
pub const LINE_DETAIL: &str = "detail";
/// See [`LINE_DETAIL`].
pub const LINE_TOTAL: &str = "total";
/// See [`LINE_DETAIL`].
pub const LINE_NOTE: &str = "note";

/// A CSV report being written to `W`.
pub struct ReportWriter<W: Write> {
    csv: csv::Writer<W>,
    columns: Vec<Column>,
    currency_col: Option<usize>,
    label_col: Option<usize>,
    amount_cols: Vec<usize>,
    /// Per currency (few): rows and amount sums; looked up without allocating, sorted at the end.
    totals: Vec<(String, u64, Vec<Decimal>)>,
    rows: u64,
    buf: String,
}

impl<W: Write> ReportWriter<W> {
    /// Starts a report: the BOM when asked for, then the header row (`line` first).
    pub fn new(mut out: W, columns: &[Column], options: Options) -> Result<ReportWriter<W>, ReportError> {
        if options.bom {
            out.write_all(b"\xEF\xBB\xBF")?;
        }
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .buffer_capacity(256 * 1024)
            .from_writer(out);
        csv.write_record(std::iter::once("line").chain(columns.iter().map(|c| c.name)))?;
        Ok(ReportWriter {
            csv,
            columns: columns.to_vec(),
            currency_col: columns.iter().position(|c| c.kind == ColumnKind::Currency),
            label_col: columns.iter().position(|c| c.kind == ColumnKind::Text),
            amount_cols: columns.iter().enumerate().filter(|(_, c)| c.kind == ColumnKind::Amount).map(|(i, _)| i).collect(),
            totals: Vec::new(),
            rows: 0,
            buf: String::with_capacity(64),
        })
    }

    /// The columns (without the leading `line`).
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Writes one detail row; `cells` has one value per column.
    pub fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ReportError> {
        if cells.len() != self.columns.len() {
            return Err(ReportError::Shape(format!("{} cells for {} columns", cells.len(), self.columns.len())));
        }
        // The currency as written (see `write_cell`), built in `buf` so a known one costs no allocation.
        self.buf.clear();
        match self.currency_col.map(|i| &cells[i]) {
            Some(Cell::Currency(c)) => push_currency_code(&mut self.buf, c),
            Some(Cell::Text(t)) => push_guarded(&mut self.buf, t),
            _ => {}
        }
        let slot = match self.totals.iter().position(|(c, _, _)| *c == self.buf) {
            Some(i) => i,
            None => {
                self.totals.push((self.buf.clone(), 0, vec![Decimal::ZERO; self.amount_cols.len()]));
                self.totals.len() - 1
            }
        };
        let tally = &mut self.totals[slot];
        tally.1 += 1;
        for (slot, &i) in self.amount_cols.iter().enumerate() {
            if let Cell::Amount(a) = cells[i] {
                tally.2[slot] += a;
            }
        }
        self.rows += 1;
        self.csv.write_field(LINE_DETAIL)?;
        for (cell, col) in cells.iter().zip(&self.columns) {
            if !cell.fits(col.kind) {
                return Err(ReportError::Shape(format!("column {} is {:?} but got {cell:?}", col.name, col.kind)));
            }
            write_cell(&mut self.csv, &mut self.buf, cell)?;
        }
        self.csv.write_record(std::iter::empty::<&[u8]>())?;
        Ok(())
    }

    /// Writes the totals rows (and `note`, if any, as a last row), flushes,
    /// and returns the output with the totals.
    pub fn finish(mut self, note: Option<&str>) -> Result<(W, Totals), ReportError> {
        if self.totals.is_empty() {
            self.totals.push((String::new(), 0, vec![Decimal::ZERO; self.amount_cols.len()]));
        }
        let mut totals = std::mem::take(&mut self.totals);
        totals.sort_by(|a, b| a.0.cmp(&b.0));
        let mut currencies = Vec::with_capacity(totals.len());
        for (currency, rows, sums) in totals {
            let label = format!("{rows} rows");
            let mut cells = vec![Cell::Empty; self.columns.len()];
            if let Some(i) = self.label_col {
                cells[i] = Cell::Text(&label);
            }
            if let Some(i) = self.currency_col {
                cells[i] = if currency.is_empty() { Cell::Empty } else { Cell::Currency(&currency) };
            }
            for (slot, &i) in self.amount_cols.iter().enumerate() {
                cells[i] = Cell::Amount(sums[slot]);
            }
            self.csv.write_field(LINE_TOTAL)?;
            for cell in &cells {
                write_cell(&mut self.csv, &mut self.buf, cell)?;
            }
            self.csv.write_record(std::iter::empty::<&[u8]>())?;
            let amounts = self.amount_cols.iter().zip(&sums).map(|(&i, s)| (self.columns[i].name, *s)).collect();
            currencies.push(CurrencyTotal { currency, rows, amounts });
        }
        if let Some(note) = note {
            let mut cells = vec![Cell::Empty; self.columns.len()];
            if let Some(i) = self.label_col {
                cells[i] = Cell::Text(note);
            }
            self.csv.write_field(LINE_NOTE)?;
            for cell in &cells {
                write_cell(&mut self.csv, &mut self.buf, cell)?;
            }
            self.csv.write_record(std::iter::empty::<&[u8]>())?;
        }
        self.csv.flush()?;
        let out = self.csv.into_inner().map_err(|e| ReportError::Io(std::io::Error::new(e.error().kind(), e.error().to_string())))?;
        Ok((out, Totals { rows: self.rows, currencies }))
    }
}

/// Reads `YYYY-MM-DD` from the start of `t` (a longer ISO 8601 value is cut to its date).
fn iso_date(t: &str) -> Option<NaiveDate> {
    let b = t.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || (b.len() > 10 && !matches!(b[10], b'T' | b't' | b' ')) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> { b[r].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))) };
    NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)
}

/// Appends a currency code in upper case, or the neutralised text when it is not one.
fn push_currency_code(buf: &mut String, c: &str) {
    let t = c.trim();
    if t.len() == 3 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
        buf.extend(t.chars().map(|ch| ch.to_ascii_uppercase()));
    } else {
        push_guarded(buf, c);
    }
}

/// Appends text as it is safe to write (see [`guard::neutralise`]).
fn push_guarded(buf: &mut String, t: &str) {
    if guard::needs_guard(t) {
        buf.push('\'');
    }
    buf.push_str(t);
}

fn write_cell<W: Write>(csv: &mut csv::Writer<W>, buf: &mut String, cell: &Cell<'_>) -> Result<(), ReportError> {
    buf.clear();
    match cell {
        Cell::Empty => {}
        Cell::Text(t) => {
            if !guard::needs_guard(t) {
                // Straight from the caller's text: no copy.
                csv.write_field(t.as_bytes())?;
                return Ok(());
            }
            push_guarded(buf, t);
        }
        Cell::Amount(a) => {
            // A zero is written unsigned: `-0.00` would read as a different value to a person.
            let a = if a.is_zero() { a.abs() } else { *a };
            let _ = write!(buf, "{a}");
        }
        Cell::Currency(c) => push_currency_code(buf, c),
        Cell::Date(d) => {
            // Plain digits: chrono's format strings are interpreted per call, several times slower.
            let (y, m, day) = (d.year(), d.month(), d.day());
            if (0..=9999).contains(&y) {
                let y = y as u32;
                for n in [y / 1000, y / 100 % 10, y / 10 % 10, y % 10] {
                    buf.push(char::from(b'0' + n as u8));
                }
                for (sep, n) in [('-', m), ('-', day)] {
                    buf.push(sep);
                    buf.push(char::from(b'0' + (n / 10) as u8));
                    buf.push(char::from(b'0' + (n % 10) as u8));
                }
            } else {
                let _ = write!(buf, "{y:04}-{m:02}-{day:02}");
            }
        }
        Cell::DateTime(d) => buf.push_str(&d.to_rfc3339_opts(SecondsFormat::Millis, true)),
        Cell::Integer(n) => {
            let _ = write!(buf, "{n}");
        }
        Cell::Number(x) => {
            if x.is_finite() {
                let _ = write!(buf, "{x}");
            }
        }
    }
    csv.write_field(buf.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    const COLUMNS: &[Column] = &[
        Column::new("name", ColumnKind::Text),
        Column::new("amount", ColumnKind::Amount),
        Column::new("currency", ColumnKind::Currency),
        Column::new("date", ColumnKind::Date),
    ];

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn write(rows: &[[Cell<'_>; 4]], options: Options, note: Option<&str>) -> (String, Totals) {
        let mut w = ReportWriter::new(Vec::new(), COLUMNS, options).unwrap();
        for r in rows {
            w.row(r).unwrap();
        }
        let (bytes, totals) = w.finish(note).unwrap();
        (String::from_utf8(bytes).unwrap(), totals)
    }

    #[test]
    fn rows_are_rfc4180_with_typed_cells_and_totals() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let rows = [
            [Cell::Text("=HYPERLINK(\"http://evil\",\"click\")"), Cell::Amount(dec("-12.50")), Cell::Currency("aud"), Cell::Date(date)],
            [Cell::Text("Ng, Zoë\nline 2"), Cell::Amount(dec("110.00")), Cell::Currency("AUD"), Cell::Empty],
            [Cell::Text("Kiwi"), Cell::Amount(dec("5")), Cell::Currency("NZD"), Cell::Empty],
        ];
        let (text, totals) = write(&rows, Options::default(), Some("all good"));
        let expected = "line,name,amount,currency,date\r\n\
            detail,\"'=HYPERLINK(\"\"http://evil\"\",\"\"click\"\")\",-12.50,AUD,2026-03-01\r\n\
            detail,\"Ng, Zoë\nline 2\",110.00,AUD,\r\n\
            detail,Kiwi,5,NZD,\r\n\
            total,2 rows,97.50,AUD,\r\n\
            total,1 rows,5,NZD,\r\n\
            note,all good,,,\r\n";
        assert_eq!(text, expected, "quoting, CRLF, the guard on text only, plain negative amounts and per-currency totals must all hold");
        assert_eq!(totals.rows, 3, "only detail rows count");
        assert_eq!(totals.currencies[0].amounts, vec![("amount", dec("97.50"))], "the AUD total is the exact decimal sum");
    }

    #[test]
    fn bom_is_optional_and_an_empty_report_still_totals() {
        let (with, _) = write(&[], Options { bom: true }, None);
        assert!(with.starts_with('\u{FEFF}'), "the BOM opens the file when asked for");
        let (without, totals) = write(&[], Options::default(), None);
        assert_eq!(without, "line,name,amount,currency,date\r\ntotal,0 rows,0,,\r\n", "an empty report has a header and a zero total");
        assert_eq!(totals.currencies.len(), 1, "the zero total is reported too");
    }

    #[test]
    fn a_typed_cell_in_the_wrong_column_is_refused() {
        let mut w = ReportWriter::new(Vec::new(), COLUMNS, Options::default()).unwrap();
        let bad = [Cell::Amount(dec("1")), Cell::Empty, Cell::Empty, Cell::Empty];
        assert!(matches!(w.row(&bad), Err(ReportError::Shape(_))), "an amount in a text column is a report bug and must not be written silently");
        assert!(matches!(w.row(&bad[..2]), Err(ReportError::Shape(_))), "a short row is refused");
    }

    #[test]
    fn stored_strings_become_typed_cells() {
        assert_eq!(Cell::date(Some("2026-03-01T10:00:00Z")), Cell::Date(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()), "a timestamp's date part is the date");
        assert_eq!(Cell::date(Some("soon")), Cell::Text("soon"), "a non-date is kept as text, not lost");
        assert_eq!(Cell::date(Some("2026-02-30")), Cell::Text("2026-02-30"), "an impossible date is kept as text");
        assert_eq!(Cell::date(Some("2026-03-01x")), Cell::Text("2026-03-01x"), "a date followed by junk is not a date");
        assert_eq!(Cell::amount(Some("-0.30")), Cell::Amount(dec("-0.30")), "an amount keeps its sign and scale");
        assert!(matches!(Cell::datetime(Some("2026-11-23T20:30:00+11:00")), Cell::DateTime(d) if d.to_rfc3339() == "2026-11-23T09:30:00+00:00"), "instants are written in UTC");
    }
}
