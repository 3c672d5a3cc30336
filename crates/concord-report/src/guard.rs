//! Spreadsheet-safe text: neutralising formula injection in CSV cells.
//!
//! A spreadsheet that opens a CSV turns a cell beginning with `=`, `+`, `-` or
//! `@` into a formula, so a customer named `=HYPERLINK("http://evil","click")`
//! would become a live link (OWASP "CSV Injection"). The rule here, applied to
//! every *text* cell and never to typed amounts, dates or counts:
//!
//! A text value gets one leading apostrophe `'` when
//! 1. its first character is a tab, carriage return or line feed, or
//! 2. its first character that is not whitespace, a control or an invisible
//!    format character (zero-width space, word joiner, BOM) is `=`, `+`, `-`,
//!    `@` or one of their full-width forms `＝ ＋ － ＠` (spreadsheets trim
//!    leading blanks and some fold full-width forms before parsing), or
//! 3. it already begins with `'` (so the rule can be undone exactly: see
//!    [`restore`]).
//!
//! The apostrophe is what OWASP recommends; LibreOffice and Excel then show the
//! cell as text. Amount columns are typed and written by the writer as plain
//! decimals, so a legitimate `-12.50` stays a number.

use std::borrow::Cow;

/// Characters that start a formula, in ASCII and full-width forms.
const TRIGGERS: &[char] = &['=', '+', '-', '@', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}'];

fn invisible(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Whether `text` needs the apostrophe (see the module's rule).
pub fn needs_guard(text: &str) -> bool {
    match text.chars().next() {
        None => false,
        Some('\'' | '\t' | '\r' | '\n') => true,
        Some(_) => text.trim_start_matches(invisible).starts_with(TRIGGERS),
    }
}

/// The text as it is safe to write: unchanged, or with one leading apostrophe.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if needs_guard(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Undoes [`neutralise`]: every written value that begins with `'` was given
/// it by the rule (an original leading `'` is itself guarded), so one leading
/// apostrophe is removed.
pub fn restore(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_are_guarded_and_restored() {
        let cases = [
            ("=HYPERLINK(\"http://evil\",\"click\")", true),
            ("+61 2 9999 0000", true),
            ("-2+3", true),
            ("@SUM(A1:A2)", true),
            ("\t=1+1", true),
            ("\r=1+1", true),
            ("  =1+1", true),
            ("\u{00A0}=1", true),
            ("\u{200B}=1", true),
            ("\u{FF1D}1+1", true),
            ("'quoted", true),
            ("Zoë Ng", false),
            ("O'Brien", false),
            ("a=b", false),
            ("", false),
            ("INV-0042", false),
        ];
        for (value, guarded) in cases {
            assert_eq!(needs_guard(value), guarded, "the rule must classify {value:?} as documented");
            let written = neutralise(value);
            assert_eq!(written.starts_with('\''), guarded, "a guarded value gains exactly the apostrophe: {written:?}");
            assert_eq!(restore(&written), value, "restore must undo neutralise exactly for {value:?}");
        }
    }
}
