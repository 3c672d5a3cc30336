//! Pushing the bookkeeper's decisions back to the providers, safely.
//!
//! - [`fields`]: which canonical field can be written to which provider
//!   object (as data), how a field is read from a record and compared.
//! - [`provider`]: each provider's single-record read and field write as a
//!   request for the sync engine's requester.
//! - [`engine`]: drives outbox rows to `verified`, `stale` or `dead`:
//!   re-read and compare before every send (so a retry after a crash is a
//!   no-op), idempotency keys (Xero `Idempotency-Key`, QuickBooks
//!   `requestid`), QuickBooks `SyncToken`, backoff on transient errors,
//!   dead letters with the provider's message, verification by re-reading,
//!   and an audit entry for every end state.
//!
//! The plan (which writes a decision implies) and the outbox rows are made by
//! `concord-api`'s `push` module; this crate only sends what the outbox holds.
//!
//! **Invariant:** an outbox row with its idempotency key is committed before
//! its request is sent, and a record is re-read before every send.

pub mod engine;
pub mod fields;
pub mod provider;

pub use engine::{idempotency_key, Engine, Event, Outcome, Settings, Summary, Target};
