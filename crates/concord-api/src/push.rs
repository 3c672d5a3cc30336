//! Deciding conflicts and pushing the decisions back: the Review screen's
//! backend and `concord decide`, `push`, `outbox` and `undo`.
//!
//! [`Workspace::decide_conflict`] records the bookkeeper's choice (a winning
//! record or a typed value) in `decisions`, superseding any earlier one;
//! [`Workspace::apply_rule`] decides every conflict on a field for one system
//! ("Xero wins billing address for every customer").
//! [`Workspace::push_plan`] turns the decisions in force into the exact writes
//! (connection, object, id, field: old value to new value), naming the ones
//! that cannot be written and why. [`Workspace::push`] records those writes in
//! the outbox (each with an idempotency key derived from the decision, the
//! record and the field) and drives them through `concord_push`'s engine:
//! re-read and compare before sending, stale writes back to review, retries
//! with backoff, dead letters, verification by re-reading, an audit entry per
//! write. [`Workspace::outbox`] lists writes, [`Workspace::outbox_retry`] puts a
//! dead one back in line, and [`Workspace::undo_push`] writes the previous
//! values back through the same machinery. Types here cross to the UI (ts-rs).

use crate::error::{ApiError, ErrorCode, Result};
use crate::matching::ConflictView;
use crate::workspace::Workspace;
use concord_connect::credentials::StaticCredentials;
use concord_core::{Credentials, Provider, Secret};
use concord_match::Candidate;
use concord_push::fields::{self, Writable};
use concord_push::{idempotency_key, Engine, Outcome, Settings, Target};
use concord_store::connection::{self, ConnectionRow, ConnectionState};
use concord_store::{audit, conflict, decision, outbox};
use concord_sync::limiter::Limiter;
use concord_sync::providers::spec_for;
use concord_sync::requester::{Requester, RetryPolicy};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use ts_rs::TS;

/// The bookkeeper's choice for a conflict: a winning record (its key, from the
/// conflict's values) or a typed value. Exactly one is given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Choice {
    #[serde(default)]
    pub winner: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

/// Which conflicts a rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RuleScope {
    /// Only conflicts nobody has decided yet (and ones that changed since they were decided).
    Undecided,
    /// Every conflict on the field that is not pushed, replacing earlier decisions.
    All,
}

/// A decision as the Review screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DecisionEntry {
    pub id: i32,
    pub conflict_id: i32,
    pub winner: Option<String>,
    pub value: Option<String>,
    pub rule: Option<String>,
    pub decided_by: String,
    pub decided_at: String,
    /// `choose`, `withdraw` or `revert`.
    pub kind: String,
    pub superseded_by: Option<i32>,
}

/// One write a push will make (or cannot make, with the reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PlannedWrite {
    pub conflict_id: i32,
    pub decision_id: i32,
    pub entity_key: String,
    /// The connection's name.
    pub connection: String,
    pub provider: Option<Provider>,
    pub object: String,
    pub external_id: String,
    /// `connection/object/external id`.
    pub record: String,
    /// The canonical field (`email`, `billingAddress`, ...).
    pub field: String,
    /// The provider's fields the write sets.
    pub provider_fields: Vec<String>,
    pub old_value: String,
    pub new_value: String,
    /// Why this write will not be made, when it will not.
    pub skipped: Option<String>,
    /// The outbox state when the write is already recorded (`pending`, `dead`, ...).
    pub state: Option<String>,
}

/// A push progress event (sent as the `push-progress` event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PushProgress {
    pub outbox_id: i32,
    pub connection: String,
    pub record: String,
    pub field: String,
    /// `verified`, `stale` or `dead`.
    pub outcome: String,
    pub detail: Option<String>,
    pub done: i32,
    pub total: i32,
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PushSummary {
    /// Writes this push drove to an end.
    pub total: i32,
    /// Requests that changed a record.
    pub sent: i32,
    pub verified: i32,
    /// Not written: the record changed since the decision (back in review).
    pub stale: i32,
    /// In the dead-letter list.
    pub dead_lettered: i32,
    /// Planned writes Concord cannot make (reasons in the plan).
    pub skipped: i32,
    /// Everything landed.
    pub ok: bool,
}

/// A write in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct OutboxEntry {
    pub id: i32,
    pub decision_id: Option<i32>,
    pub conflict_id: Option<i32>,
    pub connection: String,
    pub provider: Option<Provider>,
    pub object: String,
    pub external_id: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    /// `pending`, `sending`, `sent`, `verified`, `stale` or `dead`.
    pub state: String,
    /// `push` or `undo`.
    pub purpose: String,
    pub attempts: i32,
    /// The provider's message for the last failure.
    pub last_error: Option<String>,
    pub response_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// How to push: pacing and retries. The defaults suit real providers.
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub rate_limits: bool,
    /// Provider seconds per real second (a time-scaled sandbox).
    pub time_scale: f64,
    pub settings: Settings,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions { rate_limits: true, time_scale: 1.0, settings: Settings::default() }
    }
}

/// Finds a token for a connection by name (e.g. from an environment variable); `None` falls back to the keychain.
pub type TokenLookup = dyn Fn(&str) -> Option<Secret> + Send + Sync;

fn clamp(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}

fn split_key(key: &str) -> Option<(i64, &str, &str)> {
    let mut it = key.splitn(3, '/');
    let conn = it.next()?.parse().ok()?;
    Some((conn, it.next()?, it.next()?))
}

fn entry(d: decision::DecisionRow) -> DecisionEntry {
    DecisionEntry {
        id: clamp(d.id),
        conflict_id: clamp(d.conflict_id),
        winner: d.winner,
        value: d.value,
        rule: d.rule,
        decided_by: d.decided_by,
        decided_at: d.decided_at,
        kind: d.kind,
        superseded_by: d.superseded_by.map(clamp),
    }
}

fn not_found(id: i32) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("there is no conflict {id}; `concord conflicts` lists them"))
}

impl Workspace {
    fn conflict_view(&self, id: i64) -> Result<ConflictView> {
        // One row, not a listing: the Review screen calls this on every keystroke that decides.
        self.conflict_by_id(id)?.ok_or_else(|| not_found(clamp(id)))
    }

    /// The decision in force for a conflict, if any.
    pub fn decision(&self, conflict_id: i32) -> Result<Option<DecisionEntry>> {
        Ok(decision::current(self.store().conn(), i64::from(conflict_id))?.map(entry))
    }

    /// Every decision made on a conflict, oldest first.
    pub fn decision_history(&self, conflict_id: i32) -> Result<Vec<DecisionEntry>> {
        Ok(decision::history(self.store().conn(), i64::from(conflict_id))?.into_iter().map(entry).collect())
    }

    /// Records the bookkeeper's choice for a conflict (superseding an earlier one).
    pub fn decide_conflict(&self, conflict_id: i32, choice: &Choice) -> Result<ConflictView> {
        let id = i64::from(conflict_id);
        let row = conflict::get(self.store().conn(), id)?.ok_or_else(|| not_found(conflict_id))?;
        let cands: Vec<Candidate> = serde_json::from_str(&row.candidates).map_err(internal)?;
        let (winner, value) = match (choice.winner.as_deref().map(str::trim).filter(|w| !w.is_empty()), choice.value.as_deref().map(str::trim)) {
            (Some(w), None) => {
                let c = cands.iter().find(|c| c.record == w).ok_or_else(|| {
                    let keys: Vec<&str> = cands.iter().map(|c| c.record.as_str()).collect();
                    ApiError::new(ErrorCode::InvalidInput, format!("{w:?} is not one of this conflict's records; choose one of: {}", keys.join(", ")))
                })?;
                if c.value.trim().is_empty() {
                    return Err(ApiError::new(ErrorCode::InvalidInput, format!("{w} has no {} to copy; choose another record or type the value", row.field)));
                }
                (Some(w.to_string()), c.value.clone())
            }
            (None, Some(v)) if !v.is_empty() => (None, v.to_string()),
            _ => return Err(ApiError::new(ErrorCode::InvalidInput, "choose either a winning record (--winner KEY) or a value (--value TEXT), not both and not neither")),
        };
        self.record_decision(&row, winner.as_deref(), &value, None)?;
        self.conflict_view(id)
    }

    fn record_decision(&self, row: &conflict::ConflictRow, winner: Option<&str>, value: &str, rule: Option<&str>) -> Result<i64> {
        let now = self.now();
        let actor = self.actor().to_string();
        let mut store = self.store();
        store.transaction(|tx| {
            if let Some(prev) = decision::current(tx, row.id)? {
                outbox::withdraw_unsent(tx, prev.id)?;
            }
            let id = decision::insert(tx, &decision::NewDecision { conflict_id: row.id, winner, value, rule, decided_by: &actor, kind: "choose" }, &now)?;
            conflict::set_status(tx, row.id, "decided", &now)?;
            audit::append(
                tx,
                &audit::NewEntry {
                    actor: &actor,
                    action: "push.decide",
                    subject: &row.entity_key,
                    detail: &serde_json::json!({ "conflictId": row.id, "decisionId": id, "field": row.field, "winner": winner, "value": value, "rule": rule }),
                },
                &now,
            )?;
            Ok(id)
        })
        .map_err(|e| match e {
            concord_store::StoreError::Invalid(m) => ApiError::new(ErrorCode::InvalidInput, m),
            other => other.into(),
        })
    }

    /// Decides every conflict on `field` for the system named `system` (a connection's name):
    /// "Xero wins billing address for every customer". Returns how many were decided.
    pub fn apply_rule(&self, field: &str, system: &str, scope: RuleScope) -> Result<i32> {
        let f = concord_match::Field::parse(field).ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, format!("unknown field {field:?}; use one of: {}", concord_match::Field::ALL.map(|f| f.as_str()).join(", "))))?;
        let conn = connection::by_name(self.store().conn(), system.trim()).map_err(|_| {
            ApiError::new(ErrorCode::NotFound, format!("no connection named {system:?}; `concord connections` lists them"))
        })?;
        let rule = format!("{} wins {} for every customer", conn.name, f.as_str());
        let rows = conflict::list(self.store().conn(), None)?;
        let mut n = 0;
        for row in rows.iter().filter(|r| r.field == f.as_str()) {
            let eligible = match scope {
                RuleScope::Undecided => matches!(row.status.as_str(), "open" | "changed_since_decided"),
                RuleScope::All => matches!(row.status.as_str(), "open" | "changed_since_decided" | "decided"),
            };
            if !eligible {
                continue;
            }
            let cands: Vec<Candidate> = serde_json::from_str(&row.candidates).map_err(internal)?;
            if let Some(c) = cands.iter().find(|c| c.connection_id == conn.id && !c.value.trim().is_empty()) {
                match self.record_decision(row, Some(&c.record), &c.value, Some(&rule)) {
                    Ok(_) => n += 1,
                    Err(e) if e.code == ErrorCode::InvalidInput => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        self.record("push.rule", &conn.name, serde_json::json!({ "field": f.as_str(), "scope": scope, "decided": n, "rule": rule }))?;
        Ok(n)
    }

    /// Takes back a decision that has not been pushed: the conflict returns to review.
    pub fn undo_decision(&self, conflict_id: i32) -> Result<ConflictView> {
        let id = i64::from(conflict_id);
        let row = conflict::get(self.store().conn(), id)?.ok_or_else(|| not_found(conflict_id))?;
        let current = decision::current(self.store().conn(), id)?
            .filter(|d| d.kind == "choose")
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, format!("conflict {conflict_id} has no decision to take back")))?;
        let written = outbox::by_decision(self.store().conn(), current.id)?.into_iter().any(|w| w.state == "verified");
        if written {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("decision {} was already pushed; undo the push with `concord undo {conflict_id}` (which writes the previous values back)", current.id),
            ));
        }
        let now = self.now();
        let actor = self.actor().to_string();
        self.store()
            .transaction(|tx| {
                outbox::withdraw_unsent(tx, current.id)?;
                let wid = decision::insert(tx, &decision::NewDecision { conflict_id: id, winner: None, value: "", rule: Some("withdrawn"), decided_by: &actor, kind: "withdraw" }, &now)?;
                conflict::set_status(tx, id, "open", &now)?;
                audit::append(
                    tx,
                    &audit::NewEntry { actor: &actor, action: "push.withdraw", subject: &row.entity_key, detail: &serde_json::json!({ "conflictId": id, "decisionId": current.id, "withdrawal": wid }) },
                    &now,
                )
            })
            .map_err(|e| match e {
                concord_store::StoreError::Invalid(m) => ApiError::new(ErrorCode::InvalidInput, m),
                other => other.into(),
            })?;
        self.conflict_view(id)
    }

    /// The writes the decisions in force imply, including ones Concord cannot make (with the reason).
    pub fn push_plan(&self) -> Result<Vec<PlannedWrite>> {
        let store = self.store();
        let conns: HashMap<i64, ConnectionRow> = connection::list(store.conn())?.into_iter().map(|c| (c.id, c)).collect();
        let decided = decision::in_force(store.conn(), "decided")?;
        let mut out = Vec::new();
        for d in decided {
            let Some(row) = conflict::get(store.conn(), d.conflict_id)? else { continue };
            let cands: Vec<Candidate> = serde_json::from_str(&row.candidates).map_err(internal)?;
            let new = d.value.clone().unwrap_or_default();
            let existing = outbox::by_decision(store.conn(), d.id)?;
            let history = outbox::by_conflict(store.conn(), row.id)?;
            for c in &cands {
                if Some(&c.record) == d.winner.as_ref() {
                    continue;
                }
                let Some((conn_id, object, external_id)) = split_key(&c.record) else { continue };
                // What the record holds now, as far as Concord knows: the last write it verified, else the synced value.
                let old = history
                    .iter()
                    .rev()
                    .find(|w| w.state == "verified" && w.connection_id == conn_id && w.object == object && w.external_id == external_id && w.field == row.field)
                    .and_then(|w| w.new_value.clone())
                    .unwrap_or_else(|| c.value.clone());
                if fields::same(&row.field, &old, &new) {
                    continue;
                }
                let conn = conns.get(&conn_id);
                let (skipped, provider_fields) = match (conn, conn_id < 0) {
                    (_, true) => (Some("an imported spreadsheet; Concord does not write to it, so update the file".to_string()), vec![]),
                    (None, _) => (Some(format!("connection {conn_id} no longer exists")), vec![]),
                    (Some(cr), _) => match fields::writable(cr.provider, object, &row.field) {
                        Writable::Yes(to) => (None, to.iter().map(|s| s.to_string()).collect()),
                        Writable::No(why) => (Some(why.to_string()), vec![]),
                    },
                };
                let state = existing.iter().find(|w| w.connection_id == conn_id && w.object == object && w.external_id == external_id && w.field == row.field).map(|w| w.state.clone());
                out.push(PlannedWrite {
                    conflict_id: clamp(row.id),
                    decision_id: clamp(d.id),
                    entity_key: row.entity_key.clone(),
                    connection: conn.map(|c| c.name.clone()).unwrap_or_else(|| c.connection_id.to_string()),
                    provider: conn.map(|c| c.provider).or(c.provider),
                    object: object.to_string(),
                    external_id: external_id.to_string(),
                    record: c.record.clone(),
                    field: row.field.clone(),
                    provider_fields,
                    old_value: old,
                    new_value: new.clone(),
                    skipped,
                    state,
                });
            }
        }
        Ok(out)
    }

    /// Records the planned writes in the outbox (idempotently) and returns how many cannot be made.
    fn enqueue_plan(&self) -> Result<usize> {
        let plan = self.push_plan()?;
        let now = self.now();
        let actor = self.actor().to_string();
        let skipped = plan.iter().filter(|w| w.skipped.is_some()).count();
        let mut added = 0;
        self.store().transaction(|tx| {
            for w in plan.iter().filter(|w| w.skipped.is_none() && w.state.is_none()) {
                let Some((conn_id, _, _)) = split_key(&w.record) else { continue };
                let key = idempotency_key(i64::from(w.decision_id), &w.record, &w.field, 0);
                let provider = w.provider.map(|p| p.as_str()).unwrap_or_default();
                let (_, new) = outbox::enqueue(
                    tx,
                    &outbox::NewWrite {
                        decision_id: i64::from(w.decision_id),
                        conflict_id: i64::from(w.conflict_id),
                        connection_id: conn_id,
                        provider,
                        object: &w.object,
                        external_id: &w.external_id,
                        field: &w.field,
                        old_value: &w.old_value,
                        new_value: &w.new_value,
                        idempotency_key: &key,
                        purpose: "push",
                    },
                    &now,
                )?;
                added += usize::from(new);
            }
            if added > 0 {
                audit::append(tx, &audit::NewEntry { actor: &actor, action: "push.enqueue", subject: "outbox", detail: &serde_json::json!({ "writes": added, "skipped": skipped }) }, &now)?;
            }
            Ok(())
        })?;
        Ok(skipped)
    }

    /// Pushes every decision in force, with tokens from the keychain.
    pub async fn push(&self, progress: &(dyn Fn(PushProgress) + Send + Sync)) -> Result<PushSummary> {
        self.push_with(&|_| None, &PushOptions::default(), progress).await
    }

    /// Pushes every decision in force (and finishes writes an earlier run left unfinished).
    pub async fn push_with(&self, tokens: &TokenLookup, options: &PushOptions, progress: &(dyn Fn(PushProgress) + Send + Sync)) -> Result<PushSummary> {
        let skipped = self.enqueue_plan()?;
        let mut summary = self.drive_outbox(tokens, options, progress).await?;
        summary.skipped = clamp(skipped as i64);
        Ok(summary)
    }

    async fn drive_outbox(&self, tokens: &TokenLookup, options: &PushOptions, progress: &(dyn Fn(PushProgress) + Send + Sync)) -> Result<PushSummary> {
        let unfinished = outbox::unfinished(self.store().conn())?;
        let mut wanted: Vec<i64> = unfinished.iter().map(|r| r.connection_id).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let client = reqwest::Client::builder().pool_max_idle_per_host(8).build().map_err(internal)?;
        let mut targets = BTreeMap::new();
        let mut unavailable: Vec<(i64, String)> = Vec::new();
        for id in wanted {
            let row = match connection::by_id(self.store().conn(), id) {
                Ok(r) => r,
                Err(e) => {
                    unavailable.push((id, e.to_string()));
                    continue;
                }
            };
            match self.push_target(&row, tokens, options, &client).await {
                Ok(t) => {
                    targets.insert(id, t);
                }
                Err(e) => unavailable.push((id, e.message)),
            }
        }
        // Writes to a connection that cannot be reached now go to the dead letters with the reason.
        if !unavailable.is_empty() {
            let now = self.now();
            let actor = self.actor().to_string();
            self.store().transaction(|tx| {
                for (id, why) in &unavailable {
                    for r in unfinished.iter().filter(|r| r.connection_id == *id) {
                        let msg = format!("{why}; then retry with `concord outbox retry {}`", r.id);
                        outbox::mark(tx, r.id, "dead", Some(&msg), None, &now)?;
                        audit::append(
                            tx,
                            &audit::NewEntry { actor: &actor, action: "push.dead", subject: &format!("{}/{}/{}", r.connection_id, r.object, r.external_id), detail: &serde_json::json!({ "outboxId": r.id, "error": msg }) },
                            &now,
                        )?;
                    }
                }
                Ok(())
            })?;
        }
        let dead_now = unfinished.iter().filter(|r| unavailable.iter().any(|(id, _)| *id == r.connection_id)).count();
        let engine = Engine { store: self.store_lock(), clock: self.clock(), targets, settings: options.settings, actor: self.actor().to_string() };
        let s = engine
            .run(&|e| {
                progress(PushProgress {
                    outbox_id: clamp(e.outbox_id),
                    connection: e.connection.clone(),
                    record: e.record.clone(),
                    field: e.field.clone(),
                    outcome: match e.outcome {
                        Outcome::Verified => "verified",
                        Outcome::Stale => "stale",
                        Outcome::Dead => "dead",
                    }
                    .into(),
                    detail: e.detail.clone(),
                    done: clamp(e.done as i64),
                    total: clamp(e.total as i64),
                })
            })
            .await
            .map_err(|e| ApiError::new(ErrorCode::Store, e))?;
        let dead = s.dead + dead_now;
        Ok(PushSummary {
            total: clamp((s.total + dead_now) as i64),
            sent: clamp(s.sent as i64),
            verified: clamp(s.verified as i64),
            stale: clamp(s.stale as i64),
            dead_lettered: clamp(dead as i64),
            skipped: 0,
            ok: s.stale == 0 && dead == 0,
        })
    }

    async fn push_target(&self, row: &ConnectionRow, tokens: &TokenLookup, options: &PushOptions, client: &reqwest::Client) -> Result<Target> {
        let (api_base, credentials): (String, Arc<dyn Credentials>) = match tokens(&row.name) {
            Some(token) => {
                let d = concord_connect::descriptor(row.provider);
                let api = d.endpoints(row.base_url.as_deref())?.api;
                (api, Arc::new(StaticCredentials::new(token, None)))
            }
            None => {
                if row.status == ConnectionState::Disconnected {
                    return Err(ApiError::new(ErrorCode::NeedsReauth, format!("{:?} is disconnected: {}", row.name, crate::connect::reconnect_hint(row.provider, &row.name))));
                }
                let access = self.credentials(&row.name).await?;
                (access.api_base, access.credentials)
            }
        };
        let spec = spec_for(row.provider);
        let limiter = Arc::new(Limiter::new(spec.quota, options.rate_limits, options.time_scale));
        let retry = RetryPolicy { max_retries: 0, timeout: Duration::from_secs(30), ..RetryPolicy::default() };
        Ok(Target {
            connection_id: row.id,
            name: row.name.clone(),
            provider: row.provider,
            tenant: concord_push::provider::Tenant { id: row.tenant_id.clone() },
            requester: Requester::new(client.clone(), spec, &api_base, credentials, limiter, retry),
        })
    }

    /// Writes in the outbox, optionally in one state (`dead` is the dead-letter list).
    pub fn outbox(&self, state: Option<&str>) -> Result<Vec<OutboxEntry>> {
        const STATES: [&str; 6] = ["pending", "sending", "sent", "verified", "stale", "dead"];
        if let Some(s) = state {
            if !STATES.contains(&s) {
                return Err(ApiError::new(ErrorCode::InvalidInput, format!("unknown outbox state {s:?}; use one of: {}", STATES.join(", "))));
            }
        }
        let store = self.store();
        let names: HashMap<i64, String> = connection::list(store.conn())?.into_iter().map(|c| (c.id, c.name)).collect();
        Ok(outbox::list(store.conn(), state)?.into_iter().map(|r| outbox_entry(r, &names)).collect())
    }

    /// Puts a dead (or stale) write back in line under a new idempotency key; `outbox_retry` also sends it.
    pub fn outbox_requeue(&self, id: i32) -> Result<OutboxEntry> {
        let id = i64::from(id);
        let row = outbox::get(self.store().conn(), id)?.ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("there is no outbox write {id}; `concord outbox` lists them")))?;
        if !matches!(row.state.as_str(), "dead" | "stale") {
            return Err(ApiError::new(ErrorCode::InvalidInput, format!("write {id} is {}; only dead or stale writes are retried by hand", row.state)));
        }
        if let Some(d) = row.decision_id.map(|d| decision::get(self.store().conn(), d)).transpose()?.flatten() {
            if let Some(later) = d.superseded_by {
                return Err(ApiError::new(
                    ErrorCode::InvalidInput,
                    format!("write {id} belongs to decision {} which decision {later} replaced; it will not be sent (decide the conflict again to push a new value)", d.id),
                ));
            }
        }
        let record = format!("{}/{}/{}", row.connection_id, row.object, row.external_id);
        let key = idempotency_key(row.decision_id.unwrap_or(0), &record, &row.field, row.generation + 1);
        let now = self.now();
        let actor = self.actor().to_string();
        self.store().transaction(|tx| {
            outbox::requeue(tx, id, &key, &now)?;
            if let Some(c) = row.conflict_id {
                if row.state == "stale" {
                    conflict::set_status(tx, c, "decided", &now)?;
                }
            }
            audit::append(tx, &audit::NewEntry { actor: &actor, action: "push.retry", subject: &record, detail: &serde_json::json!({ "outboxId": id, "was": row.state, "lastError": row.last_error }) }, &now)
        })?;
        self.outbox(None)?.into_iter().find(|e| i64::from(e.id) == id).ok_or_else(|| internal("the write vanished"))
    }

    /// Retries a dead write by hand (after its cause is fixed) and sends it, with keychain tokens.
    pub async fn outbox_retry(&self, id: i32, progress: &(dyn Fn(PushProgress) + Send + Sync)) -> Result<PushSummary> {
        self.outbox_retry_with(id, &|_| None, &PushOptions::default(), progress).await
    }

    /// [`Workspace::outbox_retry`] with chosen tokens and options.
    pub async fn outbox_retry_with(&self, id: i32, tokens: &TokenLookup, options: &PushOptions, progress: &(dyn Fn(PushProgress) + Send + Sync)) -> Result<PushSummary> {
        self.outbox_requeue(id)?;
        self.drive_outbox(tokens, options, progress).await
    }

    /// Reverts a pushed decision: writes every verified value's previous value back, with the same
    /// protections (a record changed since the push is not overwritten), with keychain tokens.
    pub async fn undo_push(&self, conflict_id: i32, progress: &(dyn Fn(PushProgress) + Send + Sync)) -> Result<PushSummary> {
        self.undo_push_with(conflict_id, &|_| None, &PushOptions::default(), progress).await
    }

    /// [`Workspace::undo_push`] with chosen tokens and options.
    pub async fn undo_push_with(&self, conflict_id: i32, tokens: &TokenLookup, options: &PushOptions, progress: &(dyn Fn(PushProgress) + Send + Sync)) -> Result<PushSummary> {
        let id = i64::from(conflict_id);
        let row = conflict::get(self.store().conn(), id)?.ok_or_else(|| not_found(conflict_id))?;
        let current = decision::current(self.store().conn(), id)?
            .filter(|d| d.kind == "choose")
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, format!("conflict {conflict_id} has no pushed decision to undo")))?;
        let writes = outbox::by_decision(self.store().conn(), current.id)?;
        if writes.iter().any(|w| matches!(w.state.as_str(), "sending" | "sent")) {
            return Err(ApiError::new(ErrorCode::InvalidInput, format!("a push of conflict {conflict_id} is unfinished; run `concord push` to finish it, then undo")));
        }
        let done: Vec<_> = writes.into_iter().filter(|w| w.state == "verified").collect();
        if done.is_empty() {
            return Err(ApiError::new(ErrorCode::InvalidInput, format!("nothing of conflict {conflict_id} was pushed; take the decision back with `concord undo {conflict_id}` before pushing")));
        }
        let now = self.now();
        let actor = self.actor().to_string();
        self.store().transaction(|tx| {
            outbox::withdraw_unsent(tx, current.id)?;
            let rule = format!("undo of decision {}", current.id);
            let rid = decision::insert(tx, &decision::NewDecision { conflict_id: id, winner: None, value: "", rule: Some(&rule), decided_by: &actor, kind: "revert" }, &now)?;
            for w in &done {
                let record = format!("{}/{}/{}", w.connection_id, w.object, w.external_id);
                let key = idempotency_key(rid, &record, &w.field, 0);
                outbox::enqueue(
                    tx,
                    &outbox::NewWrite {
                        decision_id: rid,
                        conflict_id: id,
                        connection_id: w.connection_id,
                        provider: w.provider.as_deref().unwrap_or_default(),
                        object: &w.object,
                        external_id: &w.external_id,
                        field: &w.field,
                        old_value: w.new_value.as_deref().unwrap_or_default(),
                        new_value: w.old_value.as_deref().unwrap_or_default(),
                        idempotency_key: &key,
                        purpose: "undo",
                    },
                    &now,
                )?;
            }
            audit::append(
                tx,
                &audit::NewEntry { actor: &actor, action: "push.undo", subject: &row.entity_key, detail: &serde_json::json!({ "conflictId": id, "decisionId": current.id, "revert": rid, "writes": done.len() }) },
                &now,
            )
        })?;
        self.drive_outbox(tokens, options, progress).await
    }
}

fn outbox_entry(r: outbox::OutboxRow, names: &HashMap<i64, String>) -> OutboxEntry {
    OutboxEntry {
        id: clamp(r.id),
        decision_id: r.decision_id.map(clamp),
        conflict_id: r.conflict_id.map(clamp),
        connection: names.get(&r.connection_id).cloned().unwrap_or_else(|| r.connection_id.to_string()),
        provider: r.provider.as_deref().and_then(|p| p.parse().ok()),
        object: r.object,
        external_id: r.external_id,
        field: r.field,
        old_value: r.old_value,
        new_value: r.new_value,
        state: r.state,
        purpose: r.purpose,
        attempts: clamp(r.attempts),
        last_error: r.last_error,
        response_id: r.response_id,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}
