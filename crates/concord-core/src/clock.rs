//! The clock every time-dependent piece of Concord receives from its caller.
//!
//! Sync bookmarks, token expiry and the audit log all depend on "now"; passing a
//! [`Clock`] in keeps them testable with a [`FixedClock`] and keeps the one real
//! reading of the system time at the edge ([`SystemClock`]).

use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;

/// A source of the current instant, always in UTC.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move: for tests and replays.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<DateTime<Utc>>,
}

impl FixedClock {
    /// A clock stopped at `instant`.
    pub fn new(instant: DateTime<Utc>) -> Self {
        FixedClock { now: Mutex::new(instant) }
    }

    /// A clock stopped at an RFC 3339 instant such as `2026-11-23T09:30:00Z`.
    pub fn at(rfc3339: &str) -> Result<Self, chrono::ParseError> {
        Ok(Self::new(DateTime::parse_from_rfc3339(rfc3339)?.with_timezone(&Utc)))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_advanced() {
        let clock = FixedClock::at("2026-01-01T00:00:00Z").unwrap();
        let first = clock.now();
        assert_eq!(clock.now(), first, "a fixed clock must not drift between readings");
        clock.advance(Duration::seconds(90));
        assert_eq!(
            clock.now() - first,
            Duration::seconds(90),
            "advance must move the clock by exactly the requested span"
        );
    }
}
