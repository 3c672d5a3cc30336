//! The client-side rate limiter of one connection: published quotas, live headers, cost points.
//!
//! Each connection gets one [`Limiter`] shared by all its streams. It keeps
//! the provider's published quota as sliding windows of its own send times
//! (Xero: 60 in any 60 s; HubSpot: 100 in any 10 s; QuickBooks: 500 a
//! minute), caps calls in flight with a semaphore (Xero 5, QuickBooks 10), and
//! tightens itself from the live headers: when the provider says fewer calls
//! are left than the limiter thinks (another app shares the quota), the
//! difference is booked as calls made now. Shopify's GraphQL bucket is tracked
//! from each response's `extensions.cost.throttleStatus`.
//!
//! Why not `governor`: its GCRA admits a burst and then one call per
//! `period / limit`, which either overruns a sliding window after the burst
//! (a 429 the sandbox counts against us) or, with no burst, takes twice the
//! time the quota allows for a short sync. A sliding window of our own send
//! times is exactly the rule the providers publish, in a few lines.
//!
//! Windows are measured in provider seconds and divided by `time_scale`, so
//! tests against a sandbox that runs a provider minute in one real second pace
//! themselves the same way. A small margin absorbs the delay between our send
//! and the provider's arrival stamp.

use crate::spec::Quota;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// The per-connection limiter.
#[derive(Debug)]
pub struct Limiter {
    quota: Quota,
    enabled: bool,
    scale: f64,
    windows: Mutex<Vec<VecDeque<Instant>>>,
    bucket: Mutex<Option<Bucket>>,
    in_flight: Semaphore,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    available: f64,
    restore: f64,
    at: Instant,
}

/// A slot to make one call; dropping it frees the concurrency slot.
#[derive(Debug)]
pub struct Slot<'a> {
    _permit: Option<SemaphorePermit<'a>>,
    /// How long the limiter made the caller wait.
    pub waited: Duration,
}

impl Limiter {
    /// A limiter for `quota`; `enabled` false admits everything at once (benchmarks, rate limits off).
    pub fn new(quota: Quota, enabled: bool, time_scale: f64) -> Limiter {
        let n = if enabled { quota.concurrency.max(1) } else { Semaphore::MAX_PERMITS };
        Limiter {
            quota,
            enabled,
            scale: if time_scale > 0.0 { time_scale } else { 1.0 },
            windows: Mutex::new(vec![VecDeque::new(); quota.windows.len()]),
            bucket: Mutex::new(None),
            in_flight: Semaphore::new(n),
        }
    }

    fn period(&self, secs: f64) -> Duration {
        // 2% and 15 ms of margin for the trip between our clock and the provider's.
        Duration::from_secs_f64(secs / self.scale * 1.02) + Duration::from_millis(15)
    }

    /// Waits until a call is allowed, books it, and returns the slot.
    pub async fn acquire(&self, cost: f64) -> Slot<'_> {
        let start = Instant::now();
        if !self.enabled {
            return Slot { _permit: None, waited: Duration::ZERO };
        }
        let permit = self.in_flight.acquire().await.ok();
        loop {
            let wait = self.try_book(cost);
            match wait {
                None => break,
                Some(d) => tokio::time::sleep(d).await,
            }
        }
        Slot { _permit: permit, waited: start.elapsed() }
    }

    /// Books a call now if every window and the bucket allow it; otherwise how long to wait.
    fn try_book(&self, cost: f64) -> Option<Duration> {
        let now = Instant::now();
        if let Some(b) = *self.bucket.lock().unwrap_or_else(|p| p.into_inner()) {
            let available = b.available + b.restore * now.duration_since(b.at).as_secs_f64();
            if available < cost {
                return Some(Duration::from_secs_f64((cost - available) / b.restore) + Duration::from_millis(5));
            }
        }
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let mut longest = None::<Duration>;
        for (w, (limit, secs)) in windows.iter_mut().zip(self.quota.windows) {
            let period = self.period(*secs);
            while w.front().is_some_and(|t| now.duration_since(*t) >= period) {
                w.pop_front();
            }
            if w.len() as u32 >= *limit {
                let oldest = *w.front().expect("a full window has a first entry");
                let d = period.saturating_sub(now.duration_since(oldest));
                longest = Some(longest.map_or(d, |l| l.max(d)));
            }
        }
        if let Some(d) = longest {
            return Some(d.max(Duration::from_millis(1)));
        }
        for w in windows.iter_mut() {
            w.push_back(now);
        }
        if let Some(b) = self.bucket.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            let available = b.available + b.restore * now.duration_since(b.at).as_secs_f64();
            b.available = available - cost;
            b.at = now;
        }
        None
    }

    /// Learns from a response's remaining-calls header: books the calls someone else made.
    pub fn observe_remaining(&self, remaining: u32) {
        if !self.enabled {
            return;
        }
        let Some((limit, _)) = self.quota.windows.first() else { return };
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = windows.first_mut() {
            let ours_left = limit.saturating_sub(w.len() as u32);
            let now = Instant::now();
            for _ in remaining..ours_left {
                w.push_back(now);
            }
        }
    }

    /// Learns Shopify's bucket from `extensions.cost.throttleStatus` (restore rate per real second, as sent on the wire).
    pub fn observe_bucket(&self, available: f64, restore_per_second: f64) {
        if !self.enabled {
            return;
        }
        *self.bucket.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Bucket { available, restore: restore_per_second.max(1.0), at: Instant::now() });
    }

    /// Real time for `provider_secs` of provider time.
    pub fn real(&self, provider_secs: f64) -> Duration {
        Duration::from_secs_f64((provider_secs / self.scale).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_full_window_waits_for_its_oldest_call_to_leave() {
        let quota = Quota { windows: &[(3, 1.0)], concurrency: 2, remaining_header: None, cost_bucket: None };
        let l = Limiter::new(quota, true, 1.0);
        for _ in 0..3 {
            assert_eq!(l.acquire(1.0).await.waited, Duration::ZERO, "calls within the quota must not wait");
        }
        let slot = l.acquire(1.0).await;
        assert!(slot.waited >= Duration::from_secs(1), "the fourth call in one second must wait for the window, waited {:?}", slot.waited);
        assert!(slot.waited < Duration::from_millis(1100), "but no longer than the window plus the margin, waited {:?}", slot.waited);
    }

    #[tokio::test(start_paused = true)]
    async fn live_headers_tighten_the_window() {
        let quota = Quota { windows: &[(10, 60.0)], concurrency: 5, remaining_header: None, cost_bucket: None };
        let l = Limiter::new(quota, true, 60.0);
        l.observe_remaining(0);
        let slot = l.acquire(1.0).await;
        assert!(slot.waited >= Duration::from_millis(900), "a provider saying none are left must make us wait a window, waited {:?}", slot.waited);
    }
}
