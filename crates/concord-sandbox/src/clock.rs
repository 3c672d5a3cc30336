//! The sandbox clock: provider time that can run faster than wall time.
//!
//! Providers express lifetimes and windows in their own seconds (a Xero access
//! token lives 1,800 s, its minute limit resets every 60 s). Tests cannot wait
//! that long, so the sandbox keeps a clock that starts at a time chosen by the
//! caller and advances `scale` times faster than real time. Everything that
//! expires or resets is compared against this clock in provider seconds, and
//! every duration written on the wire (`expires_in`, `Retry-After`) is divided
//! by the scale so that a client measuring with its own real clock behaves
//! exactly as it would against the provider.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::time::{Duration, Instant};

/// Provider time for one sandbox run; cheap to clone and share.
#[derive(Clone, Debug)]
pub struct SandboxClock {
    origin_real: Instant,
    origin_utc: DateTime<Utc>,
    scale: f64,
}

impl SandboxClock {
    /// A clock that reads `origin_utc` now and runs `scale` times faster than
    /// real time. A scale below 1 is allowed (slow motion) but not zero.
    pub fn new(origin_utc: DateTime<Utc>, scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 { scale } else { 1.0 };
        SandboxClock { origin_real: Instant::now(), origin_utc, scale }
    }

    /// The time-scale factor (60 means a provider minute lasts one real second).
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The current provider time.
    pub fn now(&self) -> DateTime<Utc> {
        let real = self.origin_real.elapsed();
        let scaled_ms = (real.as_secs_f64() * 1000.0 * self.scale) as i64;
        self.origin_utc + ChronoDuration::milliseconds(scaled_ms)
    }

    /// The current provider time in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// How long `provider_secs` of provider time lasts in real time.
    pub fn real_duration(&self, provider_secs: f64) -> Duration {
        Duration::from_secs_f64((provider_secs / self.scale).max(0.0))
    }

    /// Provider seconds expressed as whole real seconds for the wire
    /// (`expires_in`, `Retry-After`), rounded up and never below one so a
    /// client never spins on a zero.
    pub fn wire_secs(&self, provider_secs: f64) -> u64 {
        ((provider_secs / self.scale).ceil() as u64).max(1)
    }
}
