//! Fault injection: a seeded, reproducible plan of what goes wrong and when.
//!
//! Production integrations fail in a handful of recurring ways (see
//! shared/seeds): 5xx responses, storms of 429s, dropped connections, slow or
//! truncated responses, records changing under a paging loop, cursors that
//! expire mid-sync, the same record delivered twice, a user revoking access,
//! and fields renamed or moved without a version bump. A [`FaultPlan`] lists
//! [`FaultRule`]s; each API request to a provider is numbered, and the
//! [`FaultEngine`] decides from the rules and a ChaCha RNG seeded by the run's
//! seed which faults hit that request. A sequential client therefore sees
//! exactly the same faults on every run with the same seed and plan.
//!
//! Rules are written `kind[@provider][:key=value]...` on the command line
//! (`--fault server_error@xero:p=0.1`) or as JSON to `POST /_sandbox/faults`.
//! Keys: `p` (probability per request), `at` (first request number hit,
//! 1-based, per provider), `count` (how many requests from `at` are hit,
//! default 1), `every` (every Nth request), `status` (server_error status),
//! `delay_ms` (slow_response delay in real milliseconds). A rule with none of
//! `p`, `at` or `every` hits every request.

use crate::provider::Provider;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The kinds of fault the sandbox can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A 5xx response in the provider's error shape (500 unless `status`).
    ServerError,
    /// A 429 with Retry-After on each hit request (use `count` for a storm).
    RateLimitStorm,
    /// The connection drops before any body byte arrives.
    ConnectionReset,
    /// The response is delayed by `delay_ms` (default 1500 ms of real time).
    SlowResponse,
    /// The body is cut in half (Content-Length matches the cut body).
    TruncatedBody,
    /// Before a later page is served, a record on an earlier page is deleted
    /// (shifting offsets) and another is updated (moving it in updated order).
    ShiftingOffsets,
    /// A cursor (HubSpot `after`, Shopify `after`) is rejected as expired.
    CursorExpiry,
    /// The page delivers its first record twice (again at its end).
    DuplicateDelivery,
    /// The user disconnects the app: every token of the provider is revoked.
    TokenRevocation,
    /// A field is renamed without a version bump (as FreshBooks renamed
    /// amount_outstanding to outstanding_balance).
    SchemaDriftRename,
    /// A field moves into an array (as FreshBooks moved tax1_name into taxes[]).
    SchemaDriftNest,
}

impl FaultKind {
    pub const ALL: [FaultKind; 11] = [
        FaultKind::ServerError,
        FaultKind::RateLimitStorm,
        FaultKind::ConnectionReset,
        FaultKind::SlowResponse,
        FaultKind::TruncatedBody,
        FaultKind::ShiftingOffsets,
        FaultKind::CursorExpiry,
        FaultKind::DuplicateDelivery,
        FaultKind::TokenRevocation,
        FaultKind::SchemaDriftRename,
        FaultKind::SchemaDriftNest,
    ];

    /// The snake_case name used in flags and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::ServerError => "server_error",
            FaultKind::RateLimitStorm => "rate_limit_storm",
            FaultKind::ConnectionReset => "connection_reset",
            FaultKind::SlowResponse => "slow_response",
            FaultKind::TruncatedBody => "truncated_body",
            FaultKind::ShiftingOffsets => "shifting_offsets",
            FaultKind::CursorExpiry => "cursor_expiry",
            FaultKind::DuplicateDelivery => "duplicate_delivery",
            FaultKind::TokenRevocation => "token_revocation",
            FaultKind::SchemaDriftRename => "schema_drift_rename",
            FaultKind::SchemaDriftNest => "schema_drift_nest",
        }
    }
}

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown fault kind {s:?}; known: {}", FaultKind::ALL.map(|k| k.as_str()).join(", ")))
    }
}

/// When and where one kind of fault strikes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    pub kind: FaultKind,
    /// Only this provider (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// Chance per request, drawn from the seeded RNG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// First request number hit (1-based, counted per provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
    /// How many consecutive requests from `at` are hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Every Nth request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    /// Status for server_error (500, 502, 503, 504).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Delay for slow_response, in real milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

impl FaultRule {
    /// A rule that hits every request to every provider.
    pub fn always(kind: FaultKind) -> Self {
        FaultRule { kind, provider: None, p: None, at: None, count: None, every: None, status: None, delay_ms: None }
    }
}

impl FromStr for FaultRule {
    type Err = String;
    /// Parses `kind[@provider][:key=value]...`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.trim().split(':');
        let head = parts.next().unwrap_or_default();
        let (kind, provider) = match head.split_once('@') {
            Some((k, p)) => (k.parse::<FaultKind>()?, Some(p.parse::<Provider>()?)),
            None => (head.parse::<FaultKind>()?, None),
        };
        let mut rule = FaultRule { provider, ..FaultRule::always(kind) };
        for kv in parts {
            let (k, v) = kv.split_once('=').ok_or_else(|| format!("fault option {kv:?} is not key=value"))?;
            let int = || v.parse::<u64>().map_err(|_| format!("fault option {k} needs a whole number, got {v:?}"));
            match k {
                "p" => {
                    let p: f64 = v.parse().map_err(|_| format!("fault option p needs a number, got {v:?}"))?;
                    if !(0.0..=1.0).contains(&p) {
                        return Err(format!("fault option p must be within 0..=1, got {p}"));
                    }
                    rule.p = Some(p)
                }
                "at" => rule.at = Some(int()?),
                "count" => rule.count = Some(int()?),
                "every" => rule.every = Some(int()?.max(1)),
                "status" => rule.status = Some(int()? as u16),
                "delay_ms" => rule.delay_ms = Some(int()?),
                other => return Err(format!("unknown fault option {other:?} (p, at, count, every, status, delay_ms)")),
            }
        }
        Ok(rule)
    }
}

/// The faults chosen for a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultPlan {
    pub rules: Vec<FaultRule>,
}

/// The faults that hit one request.
#[derive(Clone, Debug, Default)]
pub struct Hits {
    pub server_error: Option<u16>,
    pub rate_limit_storm: bool,
    pub connection_reset: bool,
    pub slow_ms: Option<u64>,
    pub truncated_body: bool,
    pub shifting_offsets: bool,
    pub cursor_expiry: bool,
    pub duplicate_delivery: bool,
    pub token_revocation: bool,
    pub drift_rename: bool,
    pub drift_nest: bool,
}

impl Hits {
    /// Names of the faults that hit, for the ledger.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let flags = [
            (self.server_error.is_some(), FaultKind::ServerError),
            (self.rate_limit_storm, FaultKind::RateLimitStorm),
            (self.connection_reset, FaultKind::ConnectionReset),
            (self.slow_ms.is_some(), FaultKind::SlowResponse),
            (self.truncated_body, FaultKind::TruncatedBody),
            (self.shifting_offsets, FaultKind::ShiftingOffsets),
            (self.cursor_expiry, FaultKind::CursorExpiry),
            (self.duplicate_delivery, FaultKind::DuplicateDelivery),
            (self.token_revocation, FaultKind::TokenRevocation),
            (self.drift_rename, FaultKind::SchemaDriftRename),
            (self.drift_nest, FaultKind::SchemaDriftNest),
        ];
        for (on, k) in flags {
            if on {
                v.push(k.as_str());
            }
        }
        v
    }
}

/// Decides, request by request, which faults strike.
#[derive(Debug)]
pub struct FaultEngine {
    plan: FaultPlan,
    rng: ChaCha8Rng,
}

impl FaultEngine {
    pub fn new(seed: u64, plan: FaultPlan) -> Self {
        FaultEngine { plan, rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_fa17) }
    }

    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// Replaces the plan (the RNG stream continues).
    pub fn set_plan(&mut self, plan: FaultPlan) {
        self.plan = plan;
    }

    /// The faults hitting request number `n` (1-based) to `provider`.
    pub fn decide(&mut self, provider: Provider, n: u64) -> Hits {
        let mut hits = Hits::default();
        for rule in &self.plan.rules {
            if rule.provider.is_some_and(|p| p != provider) {
                continue;
            }
            let mut hit = true;
            if let Some(at) = rule.at {
                let count = rule.count.unwrap_or(1);
                hit &= n >= at && n < at.saturating_add(count);
            }
            if let Some(every) = rule.every {
                hit &= n.is_multiple_of(every);
            }
            if let Some(p) = rule.p {
                // Always draw, so one rule's outcome never shifts another's stream.
                let draw: f64 = self.rng.random();
                hit &= draw < p;
            }
            if !hit {
                continue;
            }
            match rule.kind {
                FaultKind::ServerError => hits.server_error = Some(rule.status.unwrap_or(500)),
                FaultKind::RateLimitStorm => hits.rate_limit_storm = true,
                FaultKind::ConnectionReset => hits.connection_reset = true,
                FaultKind::SlowResponse => hits.slow_ms = Some(rule.delay_ms.unwrap_or(1500)),
                FaultKind::TruncatedBody => hits.truncated_body = true,
                FaultKind::ShiftingOffsets => hits.shifting_offsets = true,
                FaultKind::CursorExpiry => hits.cursor_expiry = true,
                FaultKind::DuplicateDelivery => hits.duplicate_delivery = true,
                FaultKind::TokenRevocation => hits.token_revocation = true,
                FaultKind::SchemaDriftRename => hits.drift_rename = true,
                FaultKind::SchemaDriftNest => hits.drift_nest = true,
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse() {
        let cases: &[(&str, Result<FaultRule, ()>)] = &[
            ("server_error", Ok(FaultRule::always(FaultKind::ServerError))),
            (
                "server_error@xero:p=0.25:status=503",
                Ok(FaultRule { provider: Some(Provider::Xero), p: Some(0.25), status: Some(503), ..FaultRule::always(FaultKind::ServerError) }),
            ),
            (
                "token_revocation@quickbooks:at=5",
                Ok(FaultRule { provider: Some(Provider::QuickBooks), at: Some(5), ..FaultRule::always(FaultKind::TokenRevocation) }),
            ),
            ("nonsense", Err(())),
            ("server_error:p=2", Err(())),
            ("server_error:when=3", Err(())),
        ];
        for (text, want) in cases {
            let got = text.parse::<FaultRule>().map_err(|_| ());
            assert_eq!(&got, want, "parsing {text:?}");
        }
    }

    #[test]
    fn same_seed_same_faults() {
        let plan = FaultPlan { rules: vec!["server_error:p=0.3".parse().unwrap()] };
        let run = |seed| {
            let mut e = FaultEngine::new(seed, plan.clone());
            (1..=50).map(|n| e.decide(Provider::HubSpot, n).server_error.is_some()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7), "a seed must reproduce the same faults");
        assert_ne!(run(7), run(8), "another seed should give other faults");
    }

    #[test]
    fn at_and_count_select_a_window() {
        let plan = FaultPlan { rules: vec!["rate_limit_storm@xero:at=3:count=2".parse().unwrap()] };
        let mut e = FaultEngine::new(1, plan);
        let hit: Vec<u64> = (1..=6).filter(|n| e.decide(Provider::Xero, *n).rate_limit_storm).collect();
        assert_eq!(hit, vec![3, 4], "at=3 count=2 hits requests 3 and 4 only");
        assert!(!e.decide(Provider::HubSpot, 3).rate_limit_storm, "a provider-scoped rule must not hit others");
    }
}
