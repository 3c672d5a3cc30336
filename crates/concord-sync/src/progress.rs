//! Progress events: what the app's progress bars and the CLI's show while a sync runs.
//!
//! The engine calls a [`ProgressSink`] after every page and when a stream
//! starts, finishes or fails, with counts so far, rate-limit waits, and an
//! estimate of the time left when the provider says how many records remain.
//! The sink must be quick: it runs on the sync's task (forward to a channel
//! or a Tauri event, or tick a progress bar).

use concord_core::Provider;
use serde::Serialize;

/// Where a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Started,
    Page,
    Finished,
    Failed,
}

/// One progress event for one stream of one connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub connection: String,
    pub provider: Provider,
    pub stream: String,
    pub phase: Phase,
    /// Records received so far.
    pub records: u64,
    pub pages: u64,
    /// Calls that waited on the rate limiter or were throttled.
    pub rate_limit_waits: u64,
    pub rate_limit_wait_ms: u64,
    /// Records the provider says are still to come, when it says.
    pub remaining_estimate: Option<u64>,
    /// Estimated seconds left at the current pace.
    pub eta_seconds: Option<f64>,
    pub error: Option<String>,
}

/// Receives progress events.
pub type ProgressSink<'a> = dyn Fn(Progress) + Send + Sync + 'a;

/// A sink that drops every event.
pub fn ignore(_: Progress) {}
