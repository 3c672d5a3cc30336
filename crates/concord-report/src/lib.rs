//! CSV reports a bookkeeper can hand to an owner or an accountant.
//!
//! [`ReportWriter`] streams rows of typed [`Cell`]s into an RFC 4180 CSV
//! (csv crate, CRLF line ends, quotes only where needed), UTF-8 with an
//! optional byte-order mark for Excel on Windows. Text cells are neutralised
//! against formula injection by [`guard`]; amounts are plain decimals from
//! `Decimal` (a negative amount stays a number); dates are ISO 8601; totals
//! per currency are summed exactly and written as `total` rows at the end.
//! The crate knows nothing of Concord's store: callers feed it rows from a
//! SQLite cursor or any iterator, so memory stays flat.
//!
//! ```
//! use concord_report::{Cell, Column, ColumnKind, Options, ReportWriter};
//! let cols = [Column::new("customer", ColumnKind::Text), Column::new("total", ColumnKind::Amount), Column::new("currency", ColumnKind::Currency)];
//! let mut w = ReportWriter::new(Vec::new(), &cols, Options::default()).unwrap();
//! w.row(&[Cell::Text("=1+1"), Cell::Amount("-5.00".parse().unwrap()), Cell::Currency("AUD")]).unwrap();
//! let (bytes, totals) = w.finish(None).unwrap();
//! assert_eq!(String::from_utf8(bytes).unwrap(), "line,customer,total,currency\r\ndetail,'=1+1,-5.00,AUD\r\ntotal,1 rows,-5.00,AUD\r\n");
//! assert_eq!(totals.rows, 1);
//! ```
//!
//! **Invariant:** this crate does no IO of its own (it writes where it is told) and reads no clock.

pub mod guard;
pub mod writer;

pub use guard::{neutralise, restore};
pub use writer::{Cell, Column, ColumnKind, CurrencyTotal, Options, ReportError, ReportWriter, Totals, LINE_DETAIL, LINE_NOTE, LINE_TOTAL};
