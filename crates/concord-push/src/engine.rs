//! Driving outbox rows to an end: re-read, compare, send, verify.
//!
//! [`Engine::run`] takes every unfinished outbox row (`pending`, `sending`,
//! `sent`) and, connections side by side, a few records of each at a time
//! (one record's writes in order):
//! 1. marks it `sending` with the attempt number and commits (so a crash
//!    leaves a trace that a request may be in flight);
//! 2. re-reads the record: if the field already holds the new value, an
//!    earlier attempt landed (its answer was lost) and nothing is sent again;
//!    if it holds neither the old nor the new value, someone changed it since
//!    the decision: the row goes `stale`, the conflict back to review;
//! 3. sends the write with the row's idempotency key (Xero
//!    `Idempotency-Key`, QuickBooks `requestid` plus the `SyncToken` just
//!    read), and records `sent` with the provider's response id;
//! 4. re-reads and checks the field now holds the decided value: `verified`.
//!
//! Server errors, throttling and dropped connections are retried with
//! exponential backoff and jitter (backon), honouring Retry-After, up to
//! [`Settings::max_tries`]; then, or at once on a refusal, the row goes `dead`
//! with the provider's message. Each end state is audited in the same
//! transaction that records it.

use crate::provider::{self, Tenant};
use backon::BackoffBuilder;
use concord_core::{timestamp, Clock, Provider};
use concord_store::outbox::OutboxRow;
use concord_store::{audit, conflict, decision, outbox, Store};
use concord_sync::requester::Requester;
use concord_sync::SyncError;
use serde::Serialize;
use serde_json::{json, Value};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Attempts (sends or failed re-reads) before a write is dead-lettered.
    pub max_tries: u32,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Throttling answers tolerated per write (they wait as told and do not count as tries).
    pub max_throttles: u32,
    /// How long a request left in flight by a crashed run is given to land before it is re-read.
    pub settle: Duration,
    /// Records of one connection written side by side (one record's fields always in order).
    pub per_connection: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { max_tries: 5, min_delay: Duration::from_millis(200), max_delay: Duration::from_secs(20), max_throttles: 20, settle: Duration::from_millis(500), per_connection: 4 }
    }
}

/// One connection the engine can write to.
pub struct Target {
    pub connection_id: i64,
    pub name: String,
    pub provider: Provider,
    pub tenant: Tenant,
    /// Sends one request at a time (its own retries switched off: the engine retries, re-reading first).
    pub requester: Requester,
}

/// How one write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Written (or found already written) and re-read with the new value.
    Verified,
    /// The record changed since the decision; nothing was written.
    Stale,
    /// Refused, or retries ran out; in the dead-letter list.
    Dead,
}

/// A progress event: one write finished.
#[derive(Debug, Clone)]
pub struct Event {
    pub outbox_id: i64,
    pub connection: String,
    pub record: String,
    pub field: String,
    pub outcome: Outcome,
    /// Sent by this run (false when found already applied or not sent at all).
    pub sent: bool,
    pub detail: Option<String>,
    pub done: usize,
    pub total: usize,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub total: usize,
    /// Requests that changed a record in this run.
    pub sent: usize,
    pub verified: usize,
    pub stale: usize,
    pub dead: usize,
}

/// The push engine over one store.
pub struct Engine<'a> {
    pub store: &'a Mutex<Store>,
    pub clock: Arc<dyn Clock>,
    pub targets: BTreeMap<i64, Target>,
    pub settings: Settings,
    /// Who runs the push, for the audit log.
    pub actor: String,
}

enum Step {
    Verified { response_id: String, sent: bool },
    Stale { current: String },
}

enum Failure {
    /// Try again after a wait (the provider's own, when it gave one).
    Transient(String, Option<Duration>, bool),
    /// Trying again will not help.
    Permanent(String),
    /// The provider refused because the record changed (QuickBooks 5010).
    Stale(String),
}

fn classify(e: SyncError, provider: Provider) -> Failure {
    let msg = e.to_string();
    match &e {
        SyncError::Rejected { message, .. } if provider::is_stale_refusal(provider, message) => Failure::Stale(message.clone()),
        _ if e.retryable() => Failure::Transient(msg, e.retry_after(), matches!(e, SyncError::Throttled { .. })),
        _ => Failure::Permanent(msg),
    }
}

impl Engine<'_> {
    fn now(&self) -> String {
        timestamp::format(self.clock.now())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drives every unfinished write to verified, stale or dead.
    pub async fn run(&self, progress: &(dyn Fn(&Event) + Send + Sync)) -> Result<Summary, String> {
        let rows = outbox::unfinished(self.lock().conn()).map_err(|e| e.to_string())?;
        let total = rows.len();
        // A request a crashed run left in flight gets a moment to land before it is re-read.
        if rows.iter().any(|r| r.state == "sending") {
            tokio::time::sleep(self.settings.settle).await;
        }
        let mut by_conn: BTreeMap<i64, Vec<OutboxRow>> = BTreeMap::new();
        for r in rows {
            by_conn.entry(r.connection_id).or_default().push(r);
        }
        let done = AtomicUsize::new(0);
        let summary = Mutex::new(Summary { total, ..Default::default() });
        let lanes = by_conn.into_iter().map(|(conn, rows)| {
            // One record's writes go in order (QuickBooks would refuse the second as stale);
            // different records of a connection go side by side.
            let mut groups: Vec<Vec<OutboxRow>> = Vec::new();
            let mut index: HashMap<(String, String), usize> = HashMap::new();
            for r in rows {
                match index.get(&(r.object.clone(), r.external_id.clone())) {
                    Some(&i) => groups[i].push(r),
                    None => {
                        index.insert((r.object.clone(), r.external_id.clone()), groups.len());
                        groups.push(vec![r]);
                    }
                }
            }
            let (done, summary) = (&done, &summary);
            async move {
                let results: Vec<Result<(), String>> = futures_util::stream::iter(groups)
                    .map(|group| async move {
                        for row in group {
                            self.one(conn, &row, done, summary, total, progress).await?;
                        }
                        Ok(())
                    })
                    .buffer_unordered(self.settings.per_connection.max(1))
                    .collect()
                    .await;
                results.into_iter().collect::<Result<(), String>>()
            }
        });
        for r in futures_util::future::join_all(lanes).await {
            r?;
        }
        Ok(summary.into_inner().unwrap_or_else(|p| p.into_inner()))
    }

    async fn one(&self, conn: i64, row: &OutboxRow, done: &AtomicUsize, summary: &Mutex<Summary>, total: usize, progress: &(dyn Fn(&Event) + Send + Sync)) -> Result<(), String> {
        let (outcome, sent, detail) = match self.targets.get(&conn) {
            Some(t) => self.drive(t, row).await?,
            None => (Outcome::Dead, false, Some(self.no_target(row)?)),
        };
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        {
            let mut s = summary.lock().unwrap_or_else(|p| p.into_inner());
            s.sent += usize::from(sent);
            match outcome {
                Outcome::Verified => s.verified += 1,
                Outcome::Stale => s.stale += 1,
                Outcome::Dead => s.dead += 1,
            }
        }
        let name = self.targets.get(&conn).map(|t| t.name.clone()).unwrap_or_else(|| conn.to_string());
        progress(&Event {
            outbox_id: row.id,
            connection: name,
            record: format!("{}/{}/{}", row.connection_id, row.object, row.external_id),
            field: row.field.clone(),
            outcome,
            sent,
            detail,
            done: n,
            total,
        });
        Ok(())
    }

    fn no_target(&self, row: &OutboxRow) -> Result<String, String> {
        let msg = format!("connection {} is not available (disconnected, or no credentials); reconnect it, then retry with `concord outbox retry {}`", row.connection_id, row.id);
        self.finish(row, Outcome::Dead, Some(&msg), None, None)?;
        Ok(msg)
    }

    async fn drive(&self, t: &Target, row: &OutboxRow) -> Result<(Outcome, bool, Option<String>), String> {
        let mut attempts = row.attempts;
        let mut tries = 0u32;
        let mut throttles = 0u32;
        let mut backoff = backon::ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.settings.min_delay)
            .with_max_delay(self.settings.max_delay)
            .with_max_times(usize::MAX)
            .build();
        loop {
            attempts += 1;
            {
                let now = self.now();
                outbox::mark_sending(self.lock().conn(), row.id, attempts, &now).map_err(|e| e.to_string())?;
            }
            match self.attempt(t, row).await {
                Ok(Step::Verified { response_id, sent }) => {
                    self.finish(row, Outcome::Verified, None, Some(&response_id), None)?;
                    return Ok((Outcome::Verified, sent, Some(response_id)));
                }
                Ok(Step::Stale { current }) => {
                    let msg = format!("changed since you decided: {} now holds {current:?}", t.name);
                    self.finish(row, Outcome::Stale, Some(&msg), None, Some(&current))?;
                    return Ok((Outcome::Stale, false, Some(msg)));
                }
                Err(Failure::Stale(m)) => {
                    let msg = format!("changed since you decided: {} refused the write as stale ({m})", t.name);
                    self.finish(row, Outcome::Stale, Some(&msg), None, None)?;
                    return Ok((Outcome::Stale, false, Some(msg)));
                }
                Err(Failure::Permanent(m)) => {
                    self.finish(row, Outcome::Dead, Some(&m), None, None)?;
                    return Ok((Outcome::Dead, false, Some(m)));
                }
                Err(Failure::Transient(m, wait, throttled)) => {
                    if throttled {
                        throttles += 1;
                    } else {
                        tries += 1;
                    }
                    if tries >= self.settings.max_tries || throttles > self.settings.max_throttles {
                        let msg = format!("gave up after {attempts} attempts: {m}");
                        self.finish(row, Outcome::Dead, Some(&msg), None, None)?;
                        return Ok((Outcome::Dead, false, Some(msg)));
                    }
                    let delay = wait.or_else(|| backoff.next()).unwrap_or(self.settings.max_delay);
                    let now = self.now();
                    let next = timestamp::format(self.clock.now() + chrono_delta(delay));
                    outbox::mark_retry(self.lock().conn(), row.id, &m, &next, &now).map_err(|e| e.to_string())?;
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn read(&self, t: &Target, row: &OutboxRow) -> Result<(Value, String), Failure> {
        let req = provider::read_request(t.provider, &t.tenant, &row.object, &row.external_id).map_err(Failure::Permanent)?;
        let (body, _call) = t.requester.fetch(&req).await;
        let body = body.map_err(|e| classify(e, t.provider))?;
        let record = provider::record_of(t.provider, &row.object, &body)
            .ok_or_else(|| Failure::Permanent(format!("{} has no {} {} any more (deleted or archived); nothing was written", t.name, row.object, row.external_id)))?;
        let value = provider::field_value(t.provider, row.connection_id, &row.object, &row.external_id, &row.field, &record).map_err(Failure::Permanent)?;
        Ok((record, value))
    }

    async fn attempt(&self, t: &Target, row: &OutboxRow) -> Result<Step, Failure> {
        let field = row.field.as_str();
        let new = row.new_value.clone().unwrap_or_default();
        let old = row.old_value.clone().unwrap_or_default();
        let (record, current) = self.read(t, row).await?;
        if crate::fields::same(field, &current, &new) {
            let rid = row.response_id.clone().unwrap_or_else(|| {
                provider::updated_at(t.provider, &record).map(|u| format!("already applied (re-read {u})")).unwrap_or_else(|| "already applied".into())
            });
            return Ok(Step::Verified { response_id: rid, sent: false });
        }
        if !crate::fields::same(field, &current, &old) {
            return Ok(Step::Stale { current });
        }
        let w = provider::FieldWrite { object: &row.object, id: &row.external_id, field, value: &new };
        let req = provider::write_request(t.provider, &t.tenant, w, &record, &row.idempotency_key).map_err(Failure::Permanent)?;
        let (body, _call) = t.requester.fetch(&req).await;
        let body = body.map_err(|e| classify(e, t.provider))?;
        let response_id = provider::write_outcome(t.provider, &row.object, &body).map_err(|m| Failure::Permanent(format!("{} refused the write: {m}", t.name)))?;
        {
            let now = self.now();
            outbox::mark(self.lock().conn(), row.id, "sent", None, Some(&response_id), &now).map_err(|e| Failure::Permanent(e.to_string()))?;
        }
        let (_, after) = self.read(t, row).await?;
        if crate::fields::same(field, &after, &new) {
            Ok(Step::Verified { response_id, sent: true })
        } else {
            Err(Failure::Permanent(format!("{} accepted the write ({response_id}) but a re-read shows {after:?} instead of {new:?}", t.name)))
        }
    }

    /// Records a write's end state, the conflict's status and the audit entry in one transaction.
    fn finish(&self, row: &OutboxRow, outcome: Outcome, error: Option<&str>, response_id: Option<&str>, current: Option<&str>) -> Result<(), String> {
        let now = self.now();
        let state = match outcome {
            Outcome::Verified => "verified",
            Outcome::Stale => "stale",
            Outcome::Dead => "dead",
        };
        let mut store = self.lock();
        store
            .transaction(|tx| {
                outbox::mark(tx, row.id, state, error, response_id, &now)?;
                let d = match row.decision_id {
                    Some(id) => decision::get(tx, id)?,
                    None => None,
                };
                if let Some(cid) = row.conflict_id {
                    match outcome {
                        Outcome::Stale => conflict::set_status(tx, cid, "changed_since_decided", &now)?,
                        Outcome::Verified => {
                            let siblings = match row.decision_id {
                                Some(id) => outbox::by_decision(tx, id)?,
                                None => Vec::new(),
                            };
                            let in_force = d.as_ref().is_some_and(|d| d.superseded_by.is_none());
                            if in_force && siblings.iter().all(|s| s.state == "verified") {
                                conflict::set_status(tx, cid, if row.purpose == "undo" { "open" } else { "pushed" }, &now)?;
                            }
                        }
                        Outcome::Dead => {}
                    }
                }
                let detail = json!({
                    "outboxId": row.id,
                    "decisionId": row.decision_id,
                    "conflictId": row.conflict_id,
                    "purpose": row.purpose,
                    "connectionId": row.connection_id,
                    "provider": row.provider,
                    "object": row.object,
                    "externalId": row.external_id,
                    "field": row.field,
                    "oldValue": row.old_value,
                    "newValue": row.new_value,
                    "decidedBy": d.as_ref().map(|d| d.decided_by.clone()),
                    "decidedAt": d.as_ref().map(|d| d.decided_at.clone()),
                    "responseId": response_id,
                    "idempotencyKey": row.idempotency_key,
                    "error": error,
                    "currentValue": current,
                });
                let action = match outcome {
                    Outcome::Verified => "push.verified",
                    Outcome::Stale => "push.stale",
                    Outcome::Dead => "push.dead",
                };
                let subject = format!("{}/{}/{}", row.connection_id, row.object, row.external_id);
                audit::append(tx, &audit::NewEntry { actor: &self.actor, action, subject: &subject, detail: &detail }, &now)?;
                Ok(())
            })
            .map_err(|e| e.to_string())
    }
}

fn chrono_delta(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::zero())
}

/// The idempotency key of a write: stable for a decision, a record, a field and a retry generation,
/// at most 50 characters (QuickBooks' requestid limit; Xero allows 128).
pub fn idempotency_key(decision_id: i64, record_key: &str, field: &str, generation: i64) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [decision_id.to_string().as_str(), record_key, field, generation.to_string().as_str()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    format!("concord-{}", &hex::encode(h.finalize())[..40])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified_by_what_trying_again_can_do() {
        let rejected = |message: &str| SyncError::Rejected { provider: "QuickBooks", status: 400, what: "POST /v3/company/1/customer".into(), message: message.into() };
        let stale = classify(rejected("Stale Object Error : You and another user were working on the same thing."), Provider::QuickBooks);
        assert!(matches!(stale, Failure::Stale(_)), "QuickBooks' 5010 means someone changed the record: back to review, not a dead letter");
        assert!(matches!(classify(rejected("Duplicate Name Exists Error"), Provider::QuickBooks), Failure::Permanent(_)), "a validation refusal will not pass on a retry");
        let server = SyncError::Server { provider: "Xero", status: 503, what: "POST".into(), retries: 0 };
        assert!(matches!(classify(server, Provider::Xero), Failure::Transient(_, None, false)), "a server error is retried with backoff");
        let throttled = SyncError::Throttled { provider: "HubSpot", what: "PATCH".into(), retry_after: Some(Duration::from_secs(2)) };
        assert!(matches!(classify(throttled, Provider::HubSpot), Failure::Transient(_, Some(_), true)), "a 429 waits as long as the provider says and does not use up a try");
    }

    #[test]
    fn keys_are_stable_short_and_distinct() {
        let a = idempotency_key(1, "2/contacts/9", "email", 0);
        assert_eq!(a, idempotency_key(1, "2/contacts/9", "email", 0), "a retry or a restart must send the same key");
        assert!(a.len() <= 50, "QuickBooks refuses a requestid longer than 50 characters: {a}");
        assert_ne!(a, idempotency_key(1, "2/contacts/9", "email", 1), "a manual retry gets a new key, or the provider replays its refusal");
        assert_ne!(a, idempotency_key(2, "2/contacts/9", "email", 0), "another decision is another write");
    }
}
