//! The ledger: what the sandbox was asked to do, and what it applied.
//!
//! Tests of a sync engine must prove that nothing was applied twice and
//! nothing was lost. The ledger counts every API request per provider, every
//! 429 served, every fault injected, every token grant and refresh, and every
//! write, per record and per idempotency key. It also keeps the replay store
//! behind Xero's `Idempotency-Key` and QuickBooks' `requestid`: the first
//! response under a key is remembered and resent, unapplied, on a repeat.
//! `GET /_sandbox/counters` serialises [`Ledger::counters`].

use crate::provider::Provider;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A remembered response for an idempotency key.
#[derive(Clone, Debug)]
pub struct Replay {
    pub status: u16,
    pub body: Vec<u8>,
    /// How many times it was resent instead of applied.
    pub replays: u64,
}

/// One applied write, in order.
#[derive(Clone, Debug)]
pub struct WriteEvent {
    pub seq: u64,
    pub at_ms: i64,
    pub provider: Provider,
    pub object: &'static str,
    pub id: String,
    /// "create", "update" or "edit" (a colleague's edit through the control API).
    pub action: &'static str,
    pub idempotency_key: Option<String>,
}

/// A record changed by the shifting-offsets fault during a traversal.
#[derive(Clone, Debug)]
pub struct ChurnEvent {
    pub provider: Provider,
    pub object: &'static str,
    pub id: String,
    /// "deleted" or "updated".
    pub action: &'static str,
}

/// Counters and replay store for one sandbox run.
#[derive(Debug, Default)]
pub struct Ledger {
    requests: [u64; 4],
    throttled: [u64; 4],
    token_grants: [u64; 4],
    refreshes: [u64; 4],
    revocations: [u64; 4],
    rejected_writes: [u64; 4],
    faults: BTreeMap<String, u64>,
    by_record: BTreeMap<(Provider, &'static str, String), u64>,
    by_key: BTreeMap<(Provider, String), Replay>,
    writes: Vec<WriteEvent>,
    churn: Vec<ChurnEvent>,
}

fn per_provider(counts: &[u64; 4]) -> Value {
    let mut m = Map::new();
    for p in Provider::ALL {
        m.insert(p.as_str().to_string(), json!(counts[p.index()]));
    }
    Value::Object(m)
}

impl Ledger {
    /// Counts an API request and returns its 1-based number for the provider.
    pub fn request(&mut self, p: Provider) -> u64 {
        self.requests[p.index()] += 1;
        self.requests[p.index()]
    }

    /// API requests served so far for a provider.
    pub fn requests(&self, p: Provider) -> u64 {
        self.requests[p.index()]
    }

    pub fn throttled(&mut self, p: Provider) {
        self.throttled[p.index()] += 1;
    }

    pub fn token_granted(&mut self, p: Provider) {
        self.token_grants[p.index()] += 1;
    }

    pub fn refreshed(&mut self, p: Provider) {
        self.refreshes[p.index()] += 1;
    }

    pub fn revoked(&mut self, p: Provider) {
        self.revocations[p.index()] += 1;
    }

    /// A write refused by the provider (stale SyncToken, validation error).
    pub fn rejected(&mut self, p: Provider) {
        self.rejected_writes[p.index()] += 1;
    }

    pub fn fault(&mut self, name: &str) {
        *self.faults.entry(name.to_string()).or_default() += 1;
    }

    pub fn churned(&mut self, e: ChurnEvent) {
        self.churn.push(e);
    }

    /// Records an applied write.
    pub fn write(&mut self, at_ms: i64, provider: Provider, object: &'static str, id: &str, action: &'static str, key: Option<&str>) {
        *self.by_record.entry((provider, object, id.to_string())).or_default() += 1;
        let seq = self.writes.len() as u64 + 1;
        self.writes.push(WriteEvent {
            seq,
            at_ms,
            provider,
            object,
            id: id.to_string(),
            action,
            idempotency_key: key.map(str::to_string),
        });
    }

    /// Writes applied to one record so far.
    pub fn writes_to(&self, provider: Provider, object: &'static str, id: &str) -> u64 {
        self.by_record.get(&(provider, object, id.to_string())).copied().unwrap_or(0)
    }

    /// The remembered response for a key, counting the replay.
    pub fn replay(&mut self, provider: Provider, key: &str) -> Option<Replay> {
        let r = self.by_key.get_mut(&(provider, key.to_string()))?;
        r.replays += 1;
        Some(r.clone())
    }

    /// Remembers the first response under a key.
    pub fn remember(&mut self, provider: Provider, key: &str, status: u16, body: Vec<u8>) {
        self.by_key.entry((provider, key.to_string())).or_insert(Replay { status, body, replays: 0 });
    }

    /// Everything counted, as served by `GET /_sandbox/counters`.
    pub fn counters(&self) -> Value {
        let by_record: Vec<Value> = self
            .by_record
            .iter()
            .map(|((p, o, id), n)| json!({"provider": p, "object": o, "id": id, "applied": n}))
            .collect();
        let by_key: Vec<Value> = self
            .by_key
            .iter()
            .map(|((p, k), r)| json!({"provider": p, "key": k, "applied": 1, "replayed": r.replays, "status": r.status}))
            .collect();
        let writes: Vec<Value> = self
            .writes
            .iter()
            .map(|w| {
                json!({"seq": w.seq, "at_ms": w.at_ms, "provider": w.provider, "object": w.object, "id": w.id,
                       "action": w.action, "idempotency_key": w.idempotency_key})
            })
            .collect();
        let churn: Vec<Value> = self
            .churn
            .iter()
            .map(|c| json!({"provider": c.provider, "object": c.object, "id": c.id, "action": c.action}))
            .collect();
        json!({
            "requests": per_provider(&self.requests),
            "throttled": per_provider(&self.throttled),
            "token_grants": per_provider(&self.token_grants),
            "refreshes": per_provider(&self.refreshes),
            "revocations": per_provider(&self.revocations),
            "rejected_writes": per_provider(&self.rejected_writes),
            "faults": self.faults,
            "writes": {
                "total": self.writes.len(),
                "by_record": by_record,
                "by_idempotency_key": by_key,
                "log": writes,
            },
            "churn": churn,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_is_counted_not_applied() {
        let mut l = Ledger::default();
        l.write(1, Provider::Xero, "contacts", "a", "update", Some("k1"));
        l.remember(Provider::Xero, "k1", 200, b"{}".to_vec());
        assert!(l.replay(Provider::Xero, "k1").is_some(), "a known key must replay");
        assert!(l.replay(Provider::QuickBooks, "k1").is_none(), "keys are per provider");
        assert_eq!(l.writes_to(Provider::Xero, "contacts", "a"), 1, "a replay must not count as a write");
        let c = l.counters();
        assert_eq!(c["writes"]["by_idempotency_key"][0]["replayed"], 1, "the replay must be visible in the counters");
    }
}
