//! Concord's domain vocabulary, shared by every other crate.
//!
//! This crate does no IO and cannot fail for outside reasons: it names the
//! providers Concord connects to ([`Provider`]), fixes how instants are written
//! ([`timestamp`]), and supplies the [`Clock`] that callers pass in so that no
//! code deep inside reads the system time on its own.
//!
//! ```
//! use concord_core::{Clock, FixedClock, Provider, timestamp};
//! let clock = FixedClock::at("2026-11-23T09:30:00Z").unwrap();
//! assert_eq!(timestamp::format(clock.now()), "2026-11-23T09:30:00.000Z");
//! assert_eq!("xero".parse::<Provider>().unwrap(), Provider::Xero);
//! ```

pub mod clock;
pub mod credentials;
pub mod model;
pub mod provider;
pub mod timestamp;

pub use clock::{Clock, FixedClock, SystemClock};
pub use credentials::{AuthFailure, Credentials, Secret, StaticToken, TokenFuture};
pub use provider::Provider;
pub use rust_decimal::Decimal;
