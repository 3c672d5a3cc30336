//! Rate limits as each provider enforces them, with their own headers.
//!
//! - Xero: per tenant 60 calls in any 60 s, 5 in flight, 5,000 a day; per
//!   app 10,000 a minute. Every response carries X-DayLimit-Remaining,
//!   X-MinLimit-Remaining and X-AppMinLimit-Remaining; a 429 adds
//!   X-Rate-Limit-Problem (minute, day, concurrent or appminute) and Retry-After.
//! - QuickBooks: per realm 500 calls a minute and 10 in flight; 429 with a
//!   ThrottleExceeded fault (Retry-After is not documented; we send one).
//! - HubSpot: per account 100 calls in any 10 s (X-HubSpot-RateLimit-Max,
//!   -Remaining, -Interval-Milliseconds, -Daily, -Daily-Remaining) and the
//!   search endpoints 4 a second per token; 429 with errorType RATE_LIMIT.
//! - Shopify GraphQL: a leaky bucket of cost points (2,000 available,
//!   restoring 100 a second on a Standard plan); an over-budget query gets a
//!   200 with a THROTTLED error and extensions.cost, as Shopify does.
//!
//! Windows are measured on the sandbox clock in provider time, so the time
//! scale shrinks them; Retry-After on the wire is in real seconds.

use crate::clock::SandboxClock;
use std::collections::{HashMap, VecDeque};

/// The limits in force (the defaults are the providers' own).
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub xero_per_minute: u32,
    pub xero_concurrent: u32,
    pub xero_per_day: u32,
    pub xero_app_per_minute: u32,
    pub quickbooks_per_minute: u32,
    pub quickbooks_concurrent: u32,
    pub hubspot_per_ten_seconds: u32,
    pub hubspot_per_day: u32,
    pub hubspot_search_per_second: u32,
    pub shopify_bucket: f64,
    pub shopify_restore_per_second: f64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            xero_per_minute: 60,
            xero_concurrent: 5,
            xero_per_day: 5_000,
            xero_app_per_minute: 10_000,
            quickbooks_per_minute: 500,
            quickbooks_concurrent: 10,
            hubspot_per_ten_seconds: 100,
            hubspot_per_day: 250_000,
            hubspot_search_per_second: 4,
            shopify_bucket: 2_000.0,
            shopify_restore_per_second: 100.0,
        }
    }
}

/// A sliding window of request times (provider milliseconds).
#[derive(Debug, Default)]
struct Window {
    hits: VecDeque<i64>,
}

impl Window {
    /// Admits a request at `now` if fewer than `limit` fell within `period_ms`;
    /// otherwise returns the provider milliseconds until a slot frees.
    fn admit(&mut self, now: i64, period_ms: i64, limit: u32) -> Result<u32, i64> {
        while self.hits.front().is_some_and(|t| *t <= now - period_ms) {
            self.hits.pop_front();
        }
        if self.hits.len() as u32 >= limit {
            let oldest = *self.hits.front().unwrap_or(&now);
            return Err((oldest + period_ms - now).max(1));
        }
        self.hits.push_back(now);
        Ok(limit - self.hits.len() as u32)
    }
}

/// A per-day counter that resets at UTC midnight of provider time.
#[derive(Debug, Default)]
struct Daily {
    day: i64,
    used: u32,
}

impl Daily {
    fn admit(&mut self, now: i64, limit: u32) -> Result<u32, i64> {
        let day = now.div_euclid(86_400_000);
        if day != self.day {
            self.day = day;
            self.used = 0;
        }
        if self.used >= limit {
            return Err((day + 1) * 86_400_000 - now);
        }
        self.used += 1;
        Ok(limit - self.used)
    }
}

/// Why a request was refused.
#[derive(Clone, Debug)]
pub struct Throttle {
    /// The provider's name for the limit hit (Xero's X-Rate-Limit-Problem).
    pub problem: &'static str,
    /// Provider seconds until the request would be admitted.
    pub retry_after_secs: f64,
    /// Headers to send with the 429.
    pub headers: Vec<(String, String)>,
}

/// What an admitted request carries back.
#[derive(Clone, Debug, Default)]
pub struct Admitted {
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Tenant {
    minute: Window,
    day: Daily,
    search: Window,
    inflight: u32,
}

/// All rate-limit state of one sandbox.
#[derive(Debug)]
pub struct RateLimits {
    pub config: RateLimitConfig,
    tenants: HashMap<(u8, String), Tenant>,
    xero_app: Window,
    shopify_available: f64,
    shopify_at_ms: i64,
}

fn ms_to_secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

impl RateLimits {
    pub fn new(config: RateLimitConfig) -> Self {
        let bucket = config.shopify_bucket;
        RateLimits { config, tenants: HashMap::new(), xero_app: Window::default(), shopify_available: bucket, shopify_at_ms: 0 }
    }

    fn tenant(&mut self, provider: u8, key: &str) -> &mut Tenant {
        self.tenants.entry((provider, key.to_string())).or_default()
    }

    /// Xero: admits a call for `tenant` or says why not. On success the
    /// caller must call [`RateLimits::release`] when the call completes.
    pub fn xero(&mut self, tenant: &str, now: i64) -> Result<Admitted, Throttle> {
        let c = self.config.clone();
        if !c.enabled {
            return Ok(Admitted::default());
        }
        let headers_for = |day: u32, min: u32, app: u32| {
            vec![
                ("X-DayLimit-Remaining".to_string(), day.to_string()),
                ("X-MinLimit-Remaining".to_string(), min.to_string()),
                ("X-AppMinLimit-Remaining".to_string(), app.to_string()),
            ]
        };
        let t = self.tenant(2, tenant);
        if t.inflight >= c.xero_concurrent {
            return Err(Throttle { problem: "concurrent", retry_after_secs: 1.0, headers: vec![] });
        }
        let min = match t.minute.admit(now, 60_000, c.xero_per_minute) {
            Ok(r) => r,
            Err(wait) => {
                let day_left = c.xero_per_day.saturating_sub(t.day.used);
                return Err(Throttle { problem: "minute", retry_after_secs: ms_to_secs(wait), headers: headers_for(day_left, 0, 0) });
            }
        };
        let day = match t.day.admit(now, c.xero_per_day) {
            Ok(r) => r,
            Err(wait) => return Err(Throttle { problem: "day", retry_after_secs: ms_to_secs(wait), headers: headers_for(0, min, 0) }),
        };
        t.inflight += 1;
        let app = match self.xero_app.admit(now, 60_000, c.xero_app_per_minute) {
            Ok(r) => r,
            Err(wait) => {
                self.release(2, tenant);
                return Err(Throttle { problem: "appminute", retry_after_secs: ms_to_secs(wait), headers: headers_for(day, min, 0) });
            }
        };
        Ok(Admitted { headers: headers_for(day, min, app) })
    }

    /// QuickBooks: per realm minute window and concurrency.
    pub fn quickbooks(&mut self, realm: &str, now: i64) -> Result<Admitted, Throttle> {
        let c = self.config.clone();
        if !c.enabled {
            return Ok(Admitted::default());
        }
        let t = self.tenant(3, realm);
        if t.inflight >= c.quickbooks_concurrent {
            return Err(Throttle { problem: "concurrent", retry_after_secs: 1.0, headers: vec![] });
        }
        match t.minute.admit(now, 60_000, c.quickbooks_per_minute) {
            Ok(_) => {
                t.inflight += 1;
                Ok(Admitted::default())
            }
            Err(wait) => Err(Throttle { problem: "minute", retry_after_secs: ms_to_secs(wait), headers: vec![] }),
        }
    }

    /// HubSpot: ten-second rolling window per account, daily cap, and the
    /// search endpoints' per-second limit.
    pub fn hubspot(&mut self, account: &str, search: bool, now: i64) -> Result<Admitted, Throttle> {
        let c = self.config.clone();
        if !c.enabled {
            return Ok(Admitted::default());
        }
        let t = self.tenant(0, account);
        let headers_for = |remaining: u32, daily_left: u32| {
            vec![
                ("X-HubSpot-RateLimit-Daily".to_string(), c.hubspot_per_day.to_string()),
                ("X-HubSpot-RateLimit-Daily-Remaining".to_string(), daily_left.to_string()),
                ("X-HubSpot-RateLimit-Interval-Milliseconds".to_string(), "10000".to_string()),
                ("X-HubSpot-RateLimit-Max".to_string(), c.hubspot_per_ten_seconds.to_string()),
                ("X-HubSpot-RateLimit-Remaining".to_string(), remaining.to_string()),
            ]
        };
        if search {
            if let Err(wait) = t.search.admit(now, 1_000, c.hubspot_search_per_second) {
                return Err(Throttle { problem: "SECONDLY", retry_after_secs: ms_to_secs(wait), headers: vec![] });
            }
        }
        let remaining = match t.minute.admit(now, 10_000, c.hubspot_per_ten_seconds) {
            Ok(r) => r,
            Err(wait) => {
                let daily_left = c.hubspot_per_day.saturating_sub(t.day.used);
                return Err(Throttle { problem: "TEN_SECONDLY_ROLLING", retry_after_secs: ms_to_secs(wait), headers: headers_for(0, daily_left) });
            }
        };
        match t.day.admit(now, c.hubspot_per_day) {
            Ok(d) => Ok(Admitted { headers: headers_for(remaining, d) }),
            Err(wait) => Err(Throttle { problem: "DAILY", retry_after_secs: ms_to_secs(wait), headers: headers_for(remaining, 0) }),
        }
    }

    /// Shopify: takes `cost` points from the bucket. Returns the points
    /// available afterwards, or the points available when refused.
    pub fn shopify(&mut self, cost: f64, now: i64) -> Result<f64, f64> {
        let c = &self.config;
        let elapsed = ms_to_secs((now - self.shopify_at_ms).max(0));
        if self.shopify_at_ms == 0 {
            self.shopify_available = c.shopify_bucket;
        } else {
            self.shopify_available = (self.shopify_available + elapsed * c.shopify_restore_per_second).min(c.shopify_bucket);
        }
        self.shopify_at_ms = now;
        if !c.enabled {
            return Ok(self.shopify_available);
        }
        if cost > self.shopify_available {
            return Err(self.shopify_available);
        }
        self.shopify_available -= cost;
        Ok(self.shopify_available)
    }

    /// Gives back unused Shopify points (requested minus actual cost).
    pub fn shopify_refund(&mut self, points: f64) {
        self.shopify_available = (self.shopify_available + points).min(self.config.shopify_bucket);
    }

    /// Ends an in-flight call (Xero = 2, QuickBooks = 3).
    pub fn release(&mut self, provider: u8, key: &str) {
        if let Some(t) = self.tenants.get_mut(&(provider, key.to_string())) {
            t.inflight = t.inflight.saturating_sub(1);
        }
    }
}

/// Retry-After header value for a throttle, in real seconds.
pub fn retry_after(clock: &SandboxClock, t: &Throttle) -> String {
    clock.wire_secs(t.retry_after_secs).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xero_minute_limit_and_reset() {
        let mut r = RateLimits::new(RateLimitConfig::default());
        for i in 0..60 {
            let ok = r.xero("t", 1_000 + i);
            assert!(ok.is_ok(), "call {i} of 60 in a minute must pass");
            r.release(2, "t");
        }
        let refused = r.xero("t", 2_000).expect_err("the 61st call in a minute must be refused");
        assert_eq!(refused.problem, "minute", "Xero names the minute limit");
        assert!(refused.retry_after_secs > 0.0 && refused.retry_after_secs <= 60.0, "Retry-After must fall within the window");
        assert!(r.xero("t", 61_500).is_ok(), "a minute later the window must have moved on");
    }

    #[test]
    fn xero_concurrency() {
        let mut r = RateLimits::new(RateLimitConfig::default());
        for _ in 0..5 {
            assert!(r.xero("t", 1).is_ok(), "five calls may be in flight");
        }
        assert_eq!(r.xero("t", 1).map(|_| ()).unwrap_err().problem, "concurrent", "a sixth concurrent call is refused");
    }

    #[test]
    fn shopify_bucket_restores() {
        let mut r = RateLimits::new(RateLimitConfig::default());
        assert!(r.shopify(1_500.0, 1_000).is_ok(), "a full bucket pays for 1,500 points");
        assert!(r.shopify(1_000.0, 1_001).is_err(), "only 500 points are left");
        assert!(r.shopify(1_000.0, 6_001).is_ok(), "five seconds restore 500 points");
    }
}
