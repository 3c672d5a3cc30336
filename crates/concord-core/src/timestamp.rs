//! How Concord writes instants: UTC, RFC 3339, millisecond precision, `Z` suffix.
//!
//! One fixed format means stored timestamps compare correctly as text, which the
//! store relies on for bookmarks and ordering.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats an instant as `2026-11-23T09:30:00.000Z`.
pub fn format(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses any RFC 3339 instant and converts it to UTC.
pub fn parse(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    Ok(DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_normalised_to_utc() {
        let t = parse("2026-11-23T20:30:00+11:00").unwrap();
        assert_eq!(format(t), "2026-11-23T09:30:00.000Z", "a Sydney-local instant must be stored as the same UTC instant");
    }

    #[test]
    fn text_order_is_time_order() {
        let a = format(parse("2026-01-01T00:00:00.5Z").unwrap());
        let b = format(parse("2026-01-01T00:00:01Z").unwrap());
        assert!(a < b, "fixed-width timestamps must sort as text in time order");
    }
}
