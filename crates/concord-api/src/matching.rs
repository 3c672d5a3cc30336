//! Matching in a workspace: linking records, field conflicts, money discrepancies,
//! the system-of-record policy and spreadsheet imports.
//!
//! [`Workspace::run_matching`] loads every canonical record (synced ones from
//! `canonical_records`, imported spreadsheets from `imported_records`), the
//! bookkeeper's link decisions, the policy and thresholds, asks the pure
//! `concord_match::plan` what it finds, and applies the plan in one
//! transaction with an audit entry. The other methods read what the last run
//! stored or record a decision: [`Workspace::decide_link`] confirms, rejects,
//! links or unlinks a pair, and the decision holds across later runs and
//! syncs. [`Workspace::import_csv`] reads a spreadsheet into the workspace as
//! one more source system. Types here cross to the UI (ts-rs).

use crate::error::{ApiError, ErrorCode, Result};
use crate::workspace::Workspace;
use concord_core::model::{CanonicalRecord, Party, Payment, SalesDocument};
use concord_core::Provider;
use concord_match::import::{self, ImportEntity};
use concord_match::{Config, Field, Link, LinkDecision, LinkState, Policy, Records, Role};
use concord_store::{audit, canonical_record, conflict, connection, discrepancy, import_source, imported_record, match_setting, record_link};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use ts_rs::TS;

/// What a matching run found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MatchSummary {
    pub parties: i32,
    pub documents: i32,
    pub payments: i32,
    /// Stored records that are not in the canonical model's shape (skipped).
    pub unreadable: i32,
    pub auto_links: i32,
    pub suggested_links: i32,
    pub decided_links: i32,
    /// Customers with records in more than one place.
    pub customers: i32,
    /// Sales with more than one record.
    pub sales: i32,
    pub conflicts: i32,
    pub discrepancies: i32,
}

/// One link as the Links screen and `concord links` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LinkView {
    /// `party` or `document`.
    pub entity: String,
    pub left: String,
    pub right: String,
    /// The system (connection or import name) and the record's own id, for each side.
    pub left_system: String,
    pub left_id: String,
    pub right_system: String,
    pub right_id: String,
    /// `auto`, `suggested`, `confirmed`, `rejected` or `manual`.
    pub state: String,
    /// `cross_reference`, `tax_number`, `email`, `phone`, `probabilistic`, `reference`, ...
    pub method: String,
    pub score: f64,
    pub evidence: Vec<String>,
    /// Both records in one system: a duplicate.
    pub same_system: bool,
    /// Each piece of evidence with which way it points, for showing "why".
    pub reasons: Vec<LinkReason>,
    /// Each side's collection (`contacts`, `customers`, `orders`, `invoices`, ...).
    pub left_object: String,
    pub right_object: String,
    /// The score at or above which Concord links on its own (the current setting).
    pub auto_threshold: f64,
}

/// One piece of a link's evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LinkReason {
    /// The phrase: `same email (×4,096)`, `given name: close spelling (×6.2)`, `different phone (÷12)`.
    pub text: String,
    /// `for` (the records agree), `against` (they disagree) or `neutral` (a weak weight or a note).
    pub sign: String,
    /// The field's weight in the link's match probability, in bits (log2 of its
    /// Bayes factor), for the model's fields; none for notes.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
}

/// What the bookkeeper does with a pair of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum LinkAction {
    /// Keep a link Concord made or suggested.
    Confirm,
    /// Say the records are not the same.
    Reject,
    /// Link records Concord did not link.
    Link,
    /// Undo a link (kept as a rejection so the matcher does not make it again).
    Unlink,
}

/// One system's value in a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConflictValue {
    pub record: String,
    pub system: String,
    pub provider: Option<Provider>,
    /// `crm`, `shop`, `accounting` or `spreadsheet`.
    pub role: String,
    pub value: String,
    pub last_modified: Option<String>,
}

/// A field on which linked records disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConflictView {
    pub id: i32,
    pub entity_key: String,
    pub field: String,
    pub values: Vec<ConflictValue>,
    /// The record whose value is suggested.
    pub suggested_winner: Option<String>,
    pub suggested_value: Option<String>,
    pub reason: String,
    /// `open`, `decided`, `pushed`, `changed_since_decided` or `resolved`.
    pub status: String,
    /// The customer's name as its first system holds it, for headings (set by the Review pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub label: Option<String>,
}

/// A money or record discrepancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DiscrepancyView {
    pub id: i32,
    pub kind: String,
    /// `info`, `warning` or `error`.
    pub severity: String,
    pub entity_key: String,
    pub records: Vec<String>,
    pub summary: String,
    /// A decimal string.
    pub amount: Option<String>,
    /// The sale's date (`YYYY-MM-DD`): the order's, else the invoice's, else the payment's; `None` for customer problems.
    pub date: Option<String>,
    /// The sale's month (`YYYY-MM`), for charts by month.
    pub month: Option<String>,
    /// The sale's currency (`AUD`), when its documents state one.
    pub currency: Option<String>,
}

/// Who owns one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PolicyRule {
    pub field: String,
    /// `crm`, `shop`, `accounting` or `spreadsheet`.
    pub owner: String,
    pub reason: String,
}

/// The matcher's thresholds and tolerances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MatchSettings {
    /// Links scoring at least this are made automatically (0..1).
    pub auto_threshold: f64,
    /// Links scoring at least this are suggested (0..1).
    pub suggest_threshold: f64,
    /// Totals differing by no more than this are a rounding difference (a decimal string).
    pub rounding_tolerance: String,
}

impl Default for MatchSettings {
    fn default() -> Self {
        let c = Config::default();
        MatchSettings { auto_threshold: c.auto_threshold, suggest_threshold: c.suggest_threshold, rounding_tolerance: c.rounding_tolerance.to_string() }
    }
}

/// What an import read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ImportSummary {
    pub name: String,
    /// `parties` or `documents`.
    pub entity: String,
    pub rows: i32,
    /// The mapping used, `field=column`.
    pub mapping: Vec<String>,
}

const POLICY_KEY: &str = "policy";
const SETTINGS_KEY: &str = "thresholds";

fn clamp(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}

/// A stored conflict with each candidate's system named.
pub(crate) fn conflict_view(r: conflict::ConflictRow, names: &HashMap<i64, String>) -> Result<ConflictView> {
    let cands: Vec<concord_match::Candidate> = serde_json::from_str(&r.candidates).map_err(internal)?;
    let suggested_value = cands.iter().find(|c| Some(&c.record) == r.suggested_winner.as_ref()).map(|c| c.value.clone());
    Ok(ConflictView {
        id: i32::try_from(r.id).unwrap_or(i32::MAX),
        entity_key: r.entity_key,
        field: r.field,
        values: cands
            .into_iter()
            .map(|c| ConflictValue {
                system: names.get(&c.connection_id).cloned().unwrap_or_else(|| c.connection_id.to_string()),
                record: c.record,
                provider: c.provider,
                role: c.role.as_str().into(),
                value: c.value,
                last_modified: c.last_modified,
            })
            .collect(),
        suggested_winner: r.suggested_winner,
        suggested_value,
        reason: r.reason,
        status: r.status,
        label: None,
    })
}

/// Splits a record key `connection/object/external id` (the id may contain `/`).
fn split_key(key: &str) -> Option<(i64, &str, &str)> {
    let mut it = key.splitn(3, '/');
    let conn = it.next()?.parse().ok()?;
    Some((conn, it.next()?, it.next()?))
}

const DOCUMENT_OBJECTS: &[&str] = &["orders", "invoices", "credit_notes", "credit_memos", "payments", "refunds"];

impl Workspace {
    pub(crate) fn system_names(&self) -> Result<HashMap<i64, String>> {
        let store = self.store();
        let mut names: HashMap<i64, String> = connection::list(store.conn())?.into_iter().map(|c| (c.id, c.name)).collect();
        for s in import_source::list(store.conn())? {
            names.insert(-s.id, s.name);
        }
        Ok(names)
    }

    /// The system-of-record policy in force.
    pub fn match_policy(&self) -> Result<Vec<PolicyRule>> {
        let policy = self.load_policy()?;
        Ok(Field::ALL
            .iter()
            .map(|f| {
                let o = policy.owner(*f);
                PolicyRule { field: f.as_str().into(), owner: o.owner.as_str().into(), reason: o.reason }
            })
            .collect())
    }

    fn load_policy(&self) -> Result<Policy> {
        let text = match_setting::get(self.store().conn(), POLICY_KEY)?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default())
    }

    /// Makes `owner` (`crm`, `shop`, `accounting`, `spreadsheet`) the system of record for `field`.
    pub fn set_match_policy(&self, field: &str, owner: &str, reason: Option<String>) -> Result<Vec<PolicyRule>> {
        let f = Field::parse(field).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidInput, format!("unknown field {field:?}; use one of: {}", Field::ALL.map(|f| f.as_str()).join(", ")))
        })?;
        let r = Role::parse(owner).ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, format!("unknown owner {owner:?}; use crm, shop, accounting or spreadsheet")))?;
        let mut policy = self.load_policy()?;
        policy.set(f, r, reason);
        let text = serde_json::to_string(&policy).map_err(internal)?;
        let now = self.now();
        {
            let mut store = self.store();
            store.transaction(|tx| {
                match_setting::set(tx, POLICY_KEY, &text, &now)?;
                audit::append(
                    tx,
                    &audit::NewEntry { actor: self.actor(), action: "match.policy.set", subject: f.as_str(), detail: &serde_json::json!({ "owner": r.as_str() }) },
                    &now,
                )
            })?;
        }
        self.match_policy()
    }

    /// The thresholds and tolerances in force.
    pub fn match_settings(&self) -> Result<MatchSettings> {
        let text = match_setting::get(self.store().conn(), SETTINGS_KEY)?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default())
    }

    /// Changes the thresholds and tolerances.
    pub fn set_match_settings(&self, settings: &MatchSettings) -> Result<MatchSettings> {
        let ok = (0.0..=1.0).contains(&settings.auto_threshold) && (0.0..=1.0).contains(&settings.suggest_threshold) && settings.suggest_threshold <= settings.auto_threshold;
        if !ok {
            return Err(ApiError::new(ErrorCode::InvalidInput, "thresholds must be between 0 and 1, with the suggestion threshold at most the automatic one"));
        }
        let tol = Decimal::from_str(settings.rounding_tolerance.trim())
            .ok()
            .filter(|t| !t.is_sign_negative())
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, format!("rounding tolerance {:?} must be a non-negative amount such as 0.01", settings.rounding_tolerance)))?;
        let clean = MatchSettings { rounding_tolerance: tol.to_string(), ..settings.clone() };
        let text = serde_json::to_string(&clean).map_err(internal)?;
        let now = self.now();
        let mut store = self.store();
        store.transaction(|tx| {
            match_setting::set(tx, SETTINGS_KEY, &text, &now)?;
            audit::append(tx, &audit::NewEntry { actor: self.actor(), action: "match.settings.set", subject: "thresholds", detail: &serde_json::json!(clean) }, &now)
        })?;
        Ok(clean)
    }

    fn load_records(&self) -> Result<(Records, usize)> {
        let store = self.store();
        let mut rows = canonical_record::all(store.conn())?;
        rows.extend(imported_record::all(store.conn())?);
        drop(store);
        let mut records = Records::default();
        let mut unreadable = 0;
        for (kind, data) in rows {
            let parsed = match kind.as_str() {
                "party" => serde_json::from_str::<Party>(&data).map(CanonicalRecord::Party),
                "sales_document" => serde_json::from_str::<SalesDocument>(&data).map(CanonicalRecord::SalesDocument),
                _ => serde_json::from_str::<Payment>(&data).map(CanonicalRecord::Payment),
            }
            .or_else(|_| serde_json::from_str::<CanonicalRecord>(&data));
            match parsed {
                Ok(CanonicalRecord::Party(p)) => records.parties.push(p),
                Ok(CanonicalRecord::SalesDocument(d)) => records.documents.push(d),
                Ok(CanonicalRecord::Payment(p)) => records.payments.push(p),
                Err(_) => unreadable += 1,
            }
        }
        Ok((records, unreadable))
    }

    /// Links every record, finds conflicts and discrepancies, and stores what it found.
    pub fn run_matching(&self) -> Result<MatchSummary> {
        let (records, unreadable) = self.load_records()?;
        let settings = self.match_settings()?;
        let policy = self.load_policy()?;
        let decisions: Vec<LinkDecision> = record_link::decisions(self.store().conn())?
            .into_iter()
            .filter_map(|(left, right, state)| LinkState::parse(&state).map(|state| LinkDecision { left, right, state }))
            .collect();
        let config = Config {
            auto_threshold: settings.auto_threshold,
            suggest_threshold: settings.suggest_threshold,
            rounding_tolerance: Decimal::from_str(&settings.rounding_tolerance).unwrap_or(Decimal::new(1, 2)),
            connection_names: self.system_names()?,
            threads: 2,
            ..Config::default()
        };
        let plan = concord_match::plan(&records, &decisions, &policy, &config);
        let link_rows: Vec<record_link::LinkRow> = plan.links.iter().map(link_row).collect::<Result<_>>()?;
        let conflicts: Vec<conflict::DetectedConflict> = plan
            .conflicts
            .iter()
            .map(|c| {
                Ok(conflict::DetectedConflict {
                    entity_kind: "party".into(),
                    entity_key: c.entity_key.clone(),
                    field: c.field.as_str().into(),
                    candidates: serde_json::to_string(&c.candidates).map_err(internal)?,
                    suggested_winner: c.suggested_winner.clone(),
                    reason: c.reason.clone(),
                })
            })
            .collect::<Result<_>>()?;
        let found: Vec<discrepancy::DiscrepancyRow> = plan
            .discrepancies
            .iter()
            .map(|d| {
                Ok(discrepancy::DiscrepancyRow {
                    id: 0,
                    kind: d.kind.as_str().into(),
                    severity: serde_json::to_value(d.severity).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
                    entity_key: d.entity_key.clone(),
                    records: serde_json::to_string(&d.records).map_err(internal)?,
                    summary: d.summary.clone(),
                    amount: d.amount.map(|a| a.to_string()),
                    date: d.date.clone(),
                    currency: d.currency.clone(),
                    detected_at: String::new(),
                })
            })
            .collect::<Result<_>>()?;
        let count = |s: LinkState| clamp(plan.links.iter().filter(|l| l.state == s).count());
        let summary = MatchSummary {
            parties: clamp(records.parties.len()),
            documents: clamp(records.documents.len()),
            payments: clamp(records.payments.len()),
            unreadable: clamp(unreadable),
            auto_links: count(LinkState::Auto),
            suggested_links: count(LinkState::Suggested),
            decided_links: count(LinkState::Confirmed) + count(LinkState::Rejected) + count(LinkState::Manual),
            customers: clamp(plan.parties.len()),
            sales: clamp(plan.sales.len()),
            conflicts: clamp(plan.conflicts.len()),
            discrepancies: clamp(plan.discrepancies.len()),
        };
        let now = self.now();
        let mut store = self.store();
        store.transaction(|tx| {
            record_link::replace_computed(tx, &link_rows, &now)?;
            conflict::record_detected(tx, &conflicts, &now)?;
            discrepancy::replace_all(tx, &found, &now)?;
            audit::append(tx, &audit::NewEntry { actor: self.actor(), action: "match.run", subject: "workspace", detail: &serde_json::json!(summary) }, &now)
        })?;
        Ok(summary)
    }

    /// Stored links, optionally one state (`auto`, `suggested`, ...) and one entity (`party`, `document`).
    pub fn links(&self, state: Option<&str>, entity: Option<&str>) -> Result<Vec<LinkView>> {
        if let Some(s) = state {
            LinkState::parse(s).ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, format!("unknown link state {s:?}; use auto, suggested, confirmed, rejected or manual")))?;
        }
        let names = self.system_names()?;
        let auto = self.match_settings()?.auto_threshold;
        let rows = record_link::list(self.store().conn(), state, entity)?;
        Ok(rows.into_iter().map(|r| link_view(r, &names, auto)).collect())
    }

    /// Confirms, rejects, links or unlinks two records; the decision survives later runs.
    pub fn decide_link(&self, left: &str, right: &str, action: LinkAction) -> Result<LinkView> {
        let (lc, lo, _) = split_key(left).ok_or_else(|| bad_key(left))?;
        let (rc, ro, _) = split_key(right).ok_or_else(|| bad_key(right))?;
        if left == right {
            return Err(ApiError::new(ErrorCode::InvalidInput, "a record cannot be linked to itself"));
        }
        let names = self.system_names()?;
        for (c, k) in [(lc, left), (rc, right)] {
            if !names.contains_key(&c) {
                return Err(ApiError::new(ErrorCode::NotFound, format!("no connection or import numbered {c} (from {k:?}); see `concord links` for record keys")));
            }
        }
        let existing = record_link::get(self.store().conn(), left, right)?;
        if action == LinkAction::Confirm && existing.is_none() {
            return Err(ApiError::new(ErrorCode::NotFound, format!("there is no link between {left} and {right} to confirm; use `link` to link them by hand")));
        }
        let doc = |o: &str| DOCUMENT_OBJECTS.contains(&o);
        let entity = existing.as_ref().map(|l| l.entity.clone()).unwrap_or_else(|| if doc(lo) || doc(ro) { "document".into() } else { "party".into() });
        let state = match action {
            LinkAction::Confirm => "confirmed",
            LinkAction::Reject | LinkAction::Unlink => "rejected",
            LinkAction::Link => "manual",
        };
        let now = self.now();
        let action_name = format!("match.link.{}", serde_json::to_value(action).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default());
        {
            let mut store = self.store();
            store.transaction(|tx| {
                record_link::decide(tx, &entity, left, right, state, self.actor(), &now)?;
                audit::append(tx, &audit::NewEntry { actor: self.actor(), action: &action_name, subject: &format!("{left} {right}"), detail: &serde_json::json!({ "state": state }) }, &now)
            })?;
        }
        let row = record_link::get(self.store().conn(), left, right)?.ok_or_else(|| internal("the decision was not stored"))?;
        Ok(link_view(row, &names, self.match_settings()?.auto_threshold))
    }

    /// Stored conflicts, optionally in one status (`open`, `decided`, `resolved`, ...).
    pub fn conflicts(&self, status: Option<&str>) -> Result<Vec<ConflictView>> {
        let names = self.system_names()?;
        let rows = conflict::list(self.store().conn(), status)?;
        rows.into_iter().map(|r| conflict_view(r, &names)).collect()
    }

    /// One stored conflict, as the Review screen shows it.
    pub(crate) fn conflict_by_id(&self, id: i64) -> Result<Option<ConflictView>> {
        let names = self.system_names()?;
        let row = conflict::get(self.store().conn(), id)?;
        let Some(mut view) = row.map(|r| conflict_view(r, &names)).transpose()? else { return Ok(None) };
        if let Some(first) = view.values.first() {
            view.label = crate::views::party_label(self.store().conn(), &first.record)?;
        }
        Ok(Some(view))
    }

    /// What the last matching run found wrong with the money, most severe first.
    pub fn discrepancies(&self) -> Result<Vec<DiscrepancyView>> {
        let rows = discrepancy::list(self.store().conn())?;
        Ok(rows
            .into_iter()
            .map(|d| {
                DiscrepancyView {
                    id: i32::try_from(d.id).unwrap_or(i32::MAX),
                    kind: d.kind,
                    severity: d.severity,
                    entity_key: d.entity_key,
                    records: serde_json::from_str(&d.records).unwrap_or_default(),
                    summary: d.summary,
                    amount: d.amount,
                    month: d.date.as_deref().and_then(|x| x.get(..7)).map(str::to_string),
                    date: d.date,
                    currency: d.currency,
                }
            })
            .collect())
    }

    /// Reads a spreadsheet as the source system `name` (replacing an earlier import of that name).
    pub fn import_csv(&self, name: &str, entity: &str, file: &Path, mapping: &[String]) -> Result<ImportSummary> {
        let entity = ImportEntity::parse(entity).ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, format!("unknown entity {entity:?}; use parties or documents")))?;
        let map = import::parse_mapping(entity, mapping).map_err(|e| ApiError::new(ErrorCode::InvalidInput, e.0))?;
        let name = name.trim();
        if name.is_empty() || name.contains('/') {
            return Err(ApiError::new(ErrorCode::InvalidInput, "the import needs a --name without '/'"));
        }
        let f = std::fs::File::open(file).map_err(|e| ApiError::new(ErrorCode::Io, format!("could not open {}: {e}", file.display())))?;
        let now = self.now();
        // Read first with a placeholder id so a bad file changes nothing.
        let probe = import::read_csv(std::io::BufReader::new(f), entity, &map, 0, name).map_err(|e| ApiError::new(ErrorCode::InvalidInput, format!("{}: {}", file.display(), e.0)))?;
        let rows = probe.parties.len() + probe.documents.len();
        let mapping_json = serde_json::to_string(&probe.mapping).map_err(internal)?;
        let mut store = self.store();
        store.transaction(|tx| {
            let id = import_source::upsert(tx, name, entity.as_str(), &mapping_json, &file.display().to_string(), rows as i64, &now)?;
            for mut p in probe.parties.clone() {
                p.source.connection_id = -id;
                let data = serde_json::to_string(&p).map_err(|e| concord_store::StoreError::Invalid(e.to_string()))?;
                imported_record::insert(tx, id, &p.source.external_id, "party", &data)?;
            }
            for mut d in probe.documents.clone() {
                d.source.connection_id = -id;
                let data = serde_json::to_string(&d).map_err(|e| concord_store::StoreError::Invalid(e.to_string()))?;
                imported_record::insert(tx, id, &d.source.external_id, "sales_document", &data)?;
            }
            audit::append(
                tx,
                &audit::NewEntry { actor: self.actor(), action: "match.import", subject: name, detail: &serde_json::json!({ "entity": entity.as_str(), "rows": rows, "file": file.display().to_string() }) },
                &now,
            )
        })?;
        Ok(ImportSummary { name: name.to_string(), entity: entity.as_str().into(), rows: clamp(rows), mapping: probe.mapping })
    }
}

fn bad_key(k: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidInput, format!("{k:?} is not a record key (connection/object/id); copy one from `concord links`"))
}

fn link_row(l: &Link) -> Result<record_link::LinkRow> {
    Ok(record_link::LinkRow {
        entity: l.entity.as_str().into(),
        left_key: l.left.to_string(),
        right_key: l.right.to_string(),
        method: l.method.as_str().into(),
        score: (l.score * 10_000.0).round() / 10_000.0,
        evidence: serde_json::to_string(&l.evidence).map_err(internal)?,
        state: l.state.as_str().into(),
        same_system: l.same_system,
        decided_by: None,
        decided_at: None,
        updated_at: String::new(),
    })
}

fn link_view(r: record_link::LinkRow, names: &HashMap<i64, String>, auto_threshold: f64) -> LinkView {
    let side = |k: &str| match split_key(k) {
        Some((c, object, id)) => (names.get(&c).cloned().unwrap_or_else(|| c.to_string()), id.to_string(), object.to_string()),
        None => (String::new(), k.to_string(), String::new()),
    };
    let (left_system, left_id, left_object) = side(&r.left_key);
    let (right_system, right_id, right_object) = side(&r.right_key);
    let stored: Vec<String> = serde_json::from_str(&r.evidence).unwrap_or_default();
    // Stored as compact weight codes; rendered here, at the edge, for people.
    let reasons: Vec<LinkReason> = stored
        .iter()
        .map(|e| {
            let (text, weight) = concord_match::fs::describe(e);
            LinkReason { text, sign: concord_match::EvidenceSign::of(e).as_str().into(), weight }
        })
        .collect();
    let evidence: Vec<String> = reasons.iter().map(|r| r.text.clone()).collect();
    LinkView {
        entity: r.entity,
        left: r.left_key,
        right: r.right_key,
        left_system,
        left_id,
        right_system,
        right_id,
        state: r.state,
        method: r.method,
        score: r.score,
        evidence,
        same_system: r.same_system,
        reasons,
        left_object,
        right_object,
        auto_threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::FixedClock;
    use std::sync::Arc;

    fn workspace() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init(dir.path(), Arc::new(FixedClock::at("2026-11-23T09:30:00Z").unwrap()), "test").unwrap();
        (dir, ws)
    }

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn spreadsheets_link_and_decisions_survive() {
        let (dir, ws) = workspace();
        let a = write(dir.path(), "a.csv", "id,first,last,email,suburb,postcode\n1,Zoe,Ng,zoe@x.com,Paddington,4064\n2,Tom,Lee,tom@y.com,Manly,2095\n");
        let b = write(dir.path(), "b.csv", "cust,name,mail,postcode\nA,\"Ng, Zoe\",ZOE@X.COM,4064\nB,Olivia Brown,olivia@z.com,3000\n");
        let s = ws.import_csv("crm-export", "parties", &a, &[]).unwrap();
        assert_eq!(s.rows, 2, "every row is read");
        ws.import_csv("legacy", "parties", &b, &["externalId=cust".into(), "displayName=name".into(), "email=mail".into()]).unwrap();
        let summary = ws.run_matching().unwrap();
        assert_eq!(summary.auto_links, 1, "Zoe Ng is in both spreadsheets and nobody else is: {summary:?}");
        let links = ws.links(Some("auto"), None).unwrap();
        assert_eq!((links[0].left_id.as_str(), links[0].right_id.as_str()), ("1", "A"), "the link names each row by its own id");
        assert!(links[0].evidence.iter().any(|e| e.starts_with("same email (×")), "the evidence is kept, in words with its Bayes factor: {:?}", links[0].evidence);
        let email = links[0].reasons.iter().find(|r| r.text.starts_with("same email")).expect("the e-mail's reason is listed");
        assert_eq!(email.sign, "for", "each reason says which way it points: {:?}", links[0].reasons);
        assert!(email.weight.is_some_and(|w| w > 0.0), "a model field carries its weight in bits: {email:?}");
        ws.decide_link(&links[0].left, &links[0].right, LinkAction::Unlink).unwrap();
        ws.run_matching().unwrap();
        let after = ws.links(None, None).unwrap();
        assert_eq!(after.iter().find(|l| l.left == links[0].left).map(|l| l.state.as_str()), Some("rejected"), "an unlink survives the next run");
        assert!(ws.decide_link("1/x/y", "nope", LinkAction::Link).is_err(), "a malformed key is refused");
    }

    #[test]
    fn every_kind_of_decision_survives_reruns() {
        let (dir, ws) = workspace();
        let a = write(dir.path(), "a.csv", "id,first,last,email,postcode\n1,Zoe,Ng,zoe@x.com,4064\n2,Tom,Lee,tom@y.com,2095\n3,Ana,Silva,ana@z.com,3000\n4,Raj,Patel,raj@w.com,6000\n");
        let b = write(dir.path(), "b.csv", "id,first,last,email,postcode\nA,Zoe,Ng,zoe@x.com,4064\nB,Tom,Lee,tom@y.com,2095\nC,Ana,Silva,ana@z.com,3000\nD,Rajesh,Patel-Kumar,rp@v.com,6001\n");
        ws.import_csv("crm", "parties", &a, &[]).unwrap();
        ws.import_csv("legacy", "parties", &b, &[]).unwrap();
        ws.run_matching().unwrap();
        let auto = ws.links(Some("auto"), Some("party")).unwrap();
        assert_eq!(auto.len(), 3, "Zoe, Tom and Ana are in both spreadsheets: {auto:?}");
        let key = |id: &str| auto.iter().find(|l| l.left_id == id).map(|l| (l.left.clone(), l.right.clone())).unwrap();
        let (zoe, tom, ana) = (key("1"), key("2"), key("3"));
        let raj_left = zoe.0.replace("/1", "/4");
        let raj_right = zoe.1.replace("/A", "/D");
        ws.decide_link(&zoe.0, &zoe.1, LinkAction::Confirm).unwrap();
        ws.decide_link(&tom.0, &tom.1, LinkAction::Reject).unwrap();
        ws.decide_link(&ana.0, &ana.1, LinkAction::Unlink).unwrap();
        ws.decide_link(&raj_left, &raj_right, LinkAction::Link).unwrap();
        for run in 0..2 {
            let summary = ws.run_matching().unwrap();
            let state = |l: &str, r: &str| ws.links(None, None).unwrap().into_iter().find(|x| x.left == l && x.right == r).map(|x| x.state);
            assert_eq!(state(&zoe.0, &zoe.1).as_deref(), Some("confirmed"), "run {run}: a confirmation holds");
            assert_eq!(state(&tom.0, &tom.1).as_deref(), Some("rejected"), "run {run}: a rejection holds although the scorer would link them");
            assert_eq!(state(&ana.0, &ana.1).as_deref(), Some("rejected"), "run {run}: an unlink is kept as a rejection");
            assert_eq!(state(&raj_left, &raj_right).as_deref(), Some("manual"), "run {run}: a hand-made link holds although the scorer would not make it");
            assert_eq!(summary.customers, 2, "run {run}: Zoe (confirmed) and Raj (manual) are customers; Tom and Ana stay apart: {summary:?}");
            assert_eq!(summary.decided_links, 4, "run {run}: every decision is counted: {summary:?}");
        }
    }

    #[test]
    fn policy_and_settings_are_editable() {
        let (_dir, ws) = workspace();
        let rules = ws.set_match_policy("phone", "accounting", None).unwrap();
        assert_eq!(rules.iter().find(|r| r.field == "phone").map(|r| r.owner.as_str()), Some("accounting"), "the edited owner is stored");
        assert_eq!(ws.set_match_policy("shoe", "crm", None).unwrap_err().code, ErrorCode::InvalidInput, "an unknown field is the caller's mistake");
        let s = ws.set_match_settings(&MatchSettings { rounding_tolerance: "0.05".into(), ..MatchSettings::default() }).unwrap();
        assert_eq!(ws.match_settings().unwrap(), s, "settings read back as stored");
        assert!(ws.set_match_settings(&MatchSettings { rounding_tolerance: "-1".into(), ..MatchSettings::default() }).is_err(), "a negative tolerance is refused");
    }

    #[test]
    fn documents_reconcile_from_a_spreadsheet() {
        let (dir, ws) = workspace();
        let shop = write(dir.path(), "shop.csv", "id,kind,number,date,total,gst,status,customer\nO1,order,#1001,2026-03-01,110.00,10.00,paid,c1\n");
        let books = write(dir.path(), "books.csv", "id,number,reference,date,total,gst,status,balance,customer\nI1,INV-1,Shopify #1001,2026-03-01,110.02,10.00,open,0,x1\n");
        ws.import_csv("shop", "documents", &shop, &[]).unwrap();
        ws.import_csv("books", "documents", &books, &[]).unwrap();
        ws.run_matching().unwrap();
        let d = ws.discrepancies().unwrap();
        assert_eq!(d.iter().map(|d| d.kind.as_str()).collect::<Vec<_>>(), vec!["total_mismatch"], "two cents beyond 0.01 is a mismatch: {d:?}");
        assert_eq!(d[0].amount.as_deref(), Some("0.02"), "the difference is exact");
        assert_eq!((d[0].date.as_deref(), d[0].month.as_deref()), (Some("2026-03-01"), Some("2026-03")), "the sale's date and month are kept for charts by month");
    }
}
