//! Concord's sync engine: incremental, checkpointed, rate-limited pulls from
//! HubSpot, Shopify, Xero and QuickBooks Online into the local store.
//!
//! # Overview
//!
//! - [`spec`]: the declarations a provider is made of (auth style, quota,
//!   streams, paging signal, record paths, lifecycle rules, field aliases).
//! - [`providers`]: one module of declarations per provider.
//! - [`requester`]: one API call with token, pacing ([`limiter`]), retries
//!   (backon, exponential with jitter; Retry-After honoured) and its audit record.
//! - [`mapping`]: defensive field mapping and the schema-drift report.
//! - [`canonical`]: payloads mapped onto the canonical model that matching reads.
//! - [`engine`]: the loop that reads pages from each stream's bookmark and
//!   commits each page, its bookmark and its audit row in one transaction.
//! - [`progress`]: the events progress bars are drawn from.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Mutex<concord_store::Store>, targets: Vec<concord_sync::Target>) {
//! use concord_sync::{sync, Options};
//! let clock = std::sync::Arc::new(concord_core::SystemClock);
//! let reports = sync(&store, clock, &targets, &Options::default(), &concord_sync::progress::ignore).await;
//! for r in reports.iter().filter(|r| !r.ok) {
//!     eprintln!("{} {}: {}", r.connection, r.stream, r.error.as_deref().unwrap_or(""));
//! }
//! # }
//! ```
//!
//! **Invariant:** a bookmark is committed in the same transaction as the
//! records it covers, and a run re-reads from it inclusively.

pub mod canonical;
pub mod engine;
pub mod error;
pub mod limiter;
pub mod mapping;
pub mod progress;
pub mod providers;
pub mod requester;
pub mod spec;

pub use engine::{sync, Options, StreamReport, Target};
pub use error::SyncError;
pub use mapping::{DriftFinding, DriftKind};
pub use progress::{Phase, Progress, ProgressSink};
pub use requester::RetryPolicy;
