//! The control API under `/_sandbox`: what tests use to watch and steer a run.
//!
//! - `GET /_sandbox/ready`: the ready line (base URLs, credentials).
//! - `GET /_sandbox/state`: record counts and version sums per provider and
//!   object; `?provider=xero&object=contacts[&offset=&limit=]` lists records
//!   as `{id, version, updated_at, deleted}`.
//! - `GET /_sandbox/state/{provider}/{object}/{id}`: one record's stored fields.
//! - `GET /_sandbox/counters`: requests, 429s served, faults injected, token
//!   grants, refreshes, revocations, rejected writes, and writes per record
//!   and per idempotency key (with replays) plus the ordered write log and
//!   the records churned by the shifting-offsets fault.
//! - `GET /_sandbox/ground-truth`: the answer key (see [`crate::ground_truth`]).
//! - `GET /_sandbox/faults`, `POST /_sandbox/faults` with
//!   `{"rules": [...]}`, each rule an object (see [`FaultRule`]) or a string
//!   `kind[@provider][:key=value]...`: replaces the fault plan.
//! - `POST /_sandbox/edit` with `{"provider", "object", "id", "fields": {...}}`:
//!   a colleague edits a record in the provider's own UI; the record gets a
//!   new version (QuickBooks SyncToken) and update time, so stale writes can
//!   be tested. Customer fields: given, family, company, email, phone,
//!   street, city, state, postcode, abn, note; any other key (and every key
//!   on documents) is stored as a provider field and served back.
//! - `POST /_sandbox/tokens/expire?provider=`: expires every access token now.
//! - `POST /_sandbox/tokens/restore`: restores static tokens revoked by a fault.

use crate::faults::{FaultPlan, FaultRule};
use crate::ground_truth::{record_id, GroundTruth, RecordObject, RecordRef};
use crate::provider::{offset_index, Provider, XeroKind, HUBSPOT_COMPANY_BASE, HUBSPOT_CONTACT_BASE, SHOPIFY_CUSTOMER_BASE, SHOPIFY_ORDER_BASE, SHOPIFY_REFUND_BASE};
use crate::record::{iso_ms, PartyField, PartyRecord};
use crate::response::json_response;
use crate::state::SandboxState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The objects each provider serves, as named in the control API.
pub const OBJECTS: &[(Provider, &str, RecordObject)] = &[
    (Provider::HubSpot, "contacts", RecordObject::Contacts),
    (Provider::HubSpot, "companies", RecordObject::Companies),
    (Provider::Shopify, "customers", RecordObject::Customers),
    (Provider::Shopify, "orders", RecordObject::Orders),
    (Provider::Shopify, "refunds", RecordObject::Refunds),
    (Provider::Xero, "contacts", RecordObject::Contacts),
    (Provider::Xero, "invoices", RecordObject::Invoices),
    (Provider::Xero, "payments", RecordObject::Payments),
    (Provider::Xero, "credit_notes", RecordObject::CreditNotes),
    (Provider::QuickBooks, "customers", RecordObject::Customers),
    (Provider::QuickBooks, "invoices", RecordObject::Invoices),
    (Provider::QuickBooks, "payments", RecordObject::Payments),
    (Provider::QuickBooks, "credit_memos", RecordObject::CreditNotes),
];

fn object_of(p: Provider, name: &str) -> Option<RecordObject> {
    OBJECTS.iter().find(|(q, n, _)| *q == p && *n == name).map(|(_, _, o)| *o)
}

/// (version, updated_ms, deleted) of every record of one object.
fn versions(w: &crate::business::World, p: Provider, o: RecordObject) -> Vec<(u32, i64, bool)> {
    let party = |v: &Vec<PartyRecord>| v.iter().map(|r| (r.version, r.updated_ms, r.archived)).collect::<Vec<_>>();
    let books = match p {
        Provider::Xero => Some(&w.xero),
        Provider::QuickBooks => Some(&w.quickbooks),
        _ => None,
    };
    match (p, o, books) {
        (Provider::HubSpot, RecordObject::Companies, _) => party(&w.hubspot.companies),
        (Provider::HubSpot, _, _) => party(&w.hubspot.contacts),
        (Provider::Shopify, RecordObject::Customers, _) => party(&w.shopify.customers),
        (Provider::Shopify, RecordObject::Refunds, _) => w.shopify.refunds.iter().map(|r| (r.version, r.updated_ms, r.deleted)).collect(),
        (Provider::Shopify, _, _) => w.shopify.orders.iter().map(|r| (r.version, r.updated_ms, r.has(crate::record::doc_flags::DELETED))).collect(),
        (_, RecordObject::Contacts | RecordObject::Customers, Some(b)) => party(&b.contacts),
        (_, RecordObject::Invoices, Some(b)) => b.invoices.iter().map(|r| (r.version, r.updated_ms, r.has(crate::record::doc_flags::DELETED))).collect(),
        (_, RecordObject::Payments, Some(b)) => b.payments.iter().map(|r| (r.version, r.updated_ms, r.deleted)).collect(),
        (_, _, Some(b)) => b.credit_notes.iter().map(|r| (r.version, r.updated_ms, r.deleted)).collect(),
        _ => Vec::new(),
    }
}

/// The index behind a served id.
pub fn index_of(st: &SandboxState, p: Provider, o: RecordObject, id: &str) -> Option<u32> {
    let numeric = |base: u64| {
        let digits = id.rsplit('/').next().unwrap_or(id);
        digits.parse::<u64>().ok().and_then(|n| offset_index(base, n))
    };
    let x = st.xero_ids();
    match (p, o) {
        (Provider::HubSpot, RecordObject::Companies) => numeric(HUBSPOT_COMPANY_BASE),
        (Provider::HubSpot, _) => numeric(HUBSPOT_CONTACT_BASE),
        (Provider::Shopify, RecordObject::Customers) => numeric(SHOPIFY_CUSTOMER_BASE),
        (Provider::Shopify, RecordObject::Refunds) => numeric(SHOPIFY_REFUND_BASE),
        (Provider::Shopify, _) => numeric(SHOPIFY_ORDER_BASE),
        (Provider::Xero, RecordObject::Contacts) => x.index(XeroKind::Contact, id),
        (Provider::Xero, RecordObject::Payments) => x.index(XeroKind::Payment, id),
        (Provider::Xero, RecordObject::CreditNotes) => x.index(XeroKind::CreditNote, id),
        (Provider::Xero, _) => x.index(XeroKind::Invoice, id),
        (Provider::QuickBooks, _) => id.parse::<u64>().ok().and_then(|n| n.checked_sub(1)).and_then(|n| u32::try_from(n).ok()),
    }
}

async fn ready(State(st): State<Arc<SandboxState>>) -> Response {
    json_response(StatusCode::OK, &crate::ready_line(&st), &[])
}

async fn state(State(st): State<Arc<SandboxState>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let w = st.read();
    if let (Some(p), Some(o)) = (q.get("provider"), q.get("object")) {
        let Ok(p) = p.parse::<Provider>() else {
            return json_response(StatusCode::BAD_REQUEST, &json!({"error": "unknown provider"}), &[]);
        };
        let Some(obj) = object_of(p, o) else {
            return json_response(StatusCode::BAD_REQUEST, &json!({"error": "unknown object"}), &[]);
        };
        let all = versions(&w, p, obj);
        let offset = q.get("offset").and_then(|v| v.parse().ok()).unwrap_or(0usize);
        let limit = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(usize::MAX);
        let records: Vec<Value> = all
            .iter()
            .enumerate()
            .skip(offset)
            .take(limit)
            .map(|(i, (v, u, d))| {
                json!({"id": record_id(&w, RecordRef { provider: p, object: obj, index: i as u32 }), "version": v, "updated_at": iso_ms(*u), "deleted": d})
            })
            .collect();
        return json_response(StatusCode::OK, &json!({"provider": p, "object": o, "count": all.len(), "records": records}), &[]);
    }
    let mut summary = serde_json::Map::new();
    for (p, name, obj) in OBJECTS {
        let v = versions(&w, *p, *obj);
        let entry = summary.entry(p.as_str().to_string()).or_insert_with(|| json!({}));
        entry[*name] = json!({
            "count": v.len(),
            "live": v.iter().filter(|x| !x.2).count(),
            "version_sum": v.iter().map(|x| x.0 as u64).sum::<u64>(),
        });
    }
    json_response(StatusCode::OK, &json!({"seed": st.seed, "now": iso_ms(st.clock.now_ms()), "providers": summary}), &[])
}

async fn record(State(st): State<Arc<SandboxState>>, Path((p, o, id)): Path<(String, String, String)>) -> Response {
    let not_found = || json_response(StatusCode::NOT_FOUND, &json!({"error": "no such record"}), &[]);
    let Ok(p) = p.parse::<Provider>() else { return not_found() };
    let Some(obj) = object_of(p, &o) else { return not_found() };
    let Some(i) = index_of(&st, p, obj, &id) else { return not_found() };
    let w = st.read();
    let v = versions(&w, p, obj);
    let Some((version, updated, deleted)) = v.get(i as usize).copied() else { return not_found() };
    let mut out = json!({"id": id, "index": i, "version": version, "updated_at": iso_ms(updated), "deleted": deleted});
    if let Some(r) = party_record(&w, p, obj, i) {
        let vals = r.values();
        for (k, f) in FIELD_NAMES {
            out["fields"][*k] = json!(vals[*f as usize]);
        }
        out["extra"] = r.extra.as_ref().map(|e| Value::Object((**e).clone())).unwrap_or(Value::Null);
        out["party"] = json!(r.party);
    }
    json_response(StatusCode::OK, &out, &[])
}

const FIELD_NAMES: &[(&str, PartyField)] = &[
    ("given", PartyField::Given),
    ("family", PartyField::Family),
    ("company", PartyField::Company),
    ("email", PartyField::Email),
    ("phone", PartyField::Phone),
    ("street", PartyField::Street),
    ("city", PartyField::City),
    ("state", PartyField::State),
    ("postcode", PartyField::Postcode),
    ("abn", PartyField::Abn),
    ("note", PartyField::Note),
];

fn party_record(w: &crate::business::World, p: Provider, o: RecordObject, i: u32) -> Option<&PartyRecord> {
    let i = i as usize;
    match (p, o) {
        (Provider::HubSpot, RecordObject::Contacts) => w.hubspot.contacts.get(i),
        (Provider::HubSpot, RecordObject::Companies) => w.hubspot.companies.get(i),
        (Provider::Shopify, RecordObject::Customers) => w.shopify.customers.get(i),
        (Provider::Xero, RecordObject::Contacts) => w.xero.contacts.get(i),
        (Provider::QuickBooks, RecordObject::Customers) => w.quickbooks.contacts.get(i),
        _ => None,
    }
}

/// Applies a colleague's edit; returns the new version.
pub fn edit(st: &SandboxState, p: Provider, object: &str, id: &str, fields: &serde_json::Map<String, Value>) -> Result<u32, String> {
    let obj = object_of(p, object).ok_or_else(|| format!("{p} has no object {object:?}"))?;
    let i = index_of(st, p, obj, id).ok_or_else(|| format!("no {object} with id {id:?}"))? as usize;
    let now = st.clock.now_ms();
    let mut w = st.write();
    let version;
    {
        let party: Option<&mut PartyRecord> = match (p, obj) {
            (Provider::HubSpot, RecordObject::Contacts) => w.hubspot.contacts.get_mut(i),
            (Provider::HubSpot, RecordObject::Companies) => w.hubspot.companies.get_mut(i),
            (Provider::Shopify, RecordObject::Customers) => w.shopify.customers.get_mut(i),
            (Provider::Xero, RecordObject::Contacts) => w.xero.contacts.get_mut(i),
            (Provider::QuickBooks, RecordObject::Customers) => w.quickbooks.contacts.get_mut(i),
            _ => None,
        };
        if let Some(r) = party {
            for (k, v) in fields {
                let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                match FIELD_NAMES.iter().find(|(n, _)| n == k) {
                    Some((_, f)) => r.set(*f, &text),
                    None => r.set_extra(k, v.clone()),
                }
            }
            r.touch(now);
            version = r.version;
        } else {
            let doc = match (p, obj) {
                (Provider::Shopify, RecordObject::Orders) => w.shopify.orders.get_mut(i),
                (Provider::Xero, RecordObject::Invoices) => w.xero.invoices.get_mut(i),
                (Provider::QuickBooks, RecordObject::Invoices) => w.quickbooks.invoices.get_mut(i),
                _ => None,
            };
            let d = doc.ok_or_else(|| format!("{object} cannot be edited through the control API"))?;
            for (k, v) in fields {
                d.set_extra(k, v.clone());
            }
            d.touch(now);
            version = d.version;
        }
    }
    drop(w);
    st.ledger().write(now, p, OBJECTS.iter().find(|(q, n, _)| *q == p && *n == object).map(|(_, n, _)| *n).unwrap_or("records"), id, "edit", None);
    Ok(version)
}

async fn edit_handler(State(st): State<Arc<SandboxState>>, Json(body): Json<Value>) -> Response {
    let p = body.get("provider").and_then(Value::as_str).unwrap_or("").parse::<Provider>();
    let object = body.get("object").and_then(Value::as_str).unwrap_or("");
    let id = body.get("id").and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string()))).unwrap_or_default();
    let fields = body.get("fields").and_then(Value::as_object).cloned().unwrap_or_default();
    let result = p.map_err(|e| e.to_string()).and_then(|p| edit(&st, p, object, &id, &fields));
    match result {
        Ok(version) => json_response(StatusCode::OK, &json!({"id": id, "version": version}), &[]),
        Err(e) => json_response(StatusCode::BAD_REQUEST, &json!({"error": e}), &[]),
    }
}

async fn counters(State(st): State<Arc<SandboxState>>) -> Response {
    json_response(StatusCode::OK, &st.ledger().counters(), &[])
}

async fn ground_truth(State(st): State<Arc<SandboxState>>) -> Response {
    let gt = GroundTruth::build(&st.read());
    json_response(StatusCode::OK, &serde_json::to_value(gt).unwrap_or(Value::Null), &[])
}

async fn get_faults(State(st): State<Arc<SandboxState>>) -> Response {
    let plan = st.faults.lock().unwrap_or_else(|e| e.into_inner()).plan().clone();
    json_response(StatusCode::OK, &serde_json::to_value(plan).unwrap_or(Value::Null), &[])
}

/// Parses `{"rules": [...]}` where each rule is an object or a string.
pub fn parse_plan(body: &Value) -> Result<FaultPlan, String> {
    let mut rules = Vec::new();
    for r in body.get("rules").and_then(Value::as_array).cloned().unwrap_or_default() {
        let rule: FaultRule = match r {
            Value::String(s) => s.parse()?,
            other => serde_json::from_value(other).map_err(|e| e.to_string())?,
        };
        rules.push(rule);
    }
    Ok(FaultPlan { rules })
}

async fn set_faults(State(st): State<Arc<SandboxState>>, Json(body): Json<Value>) -> Response {
    match parse_plan(&body) {
        Ok(plan) => {
            st.faults.lock().unwrap_or_else(|e| e.into_inner()).set_plan(plan.clone());
            json_response(StatusCode::OK, &serde_json::to_value(plan).unwrap_or(Value::Null), &[])
        }
        Err(e) => json_response(StatusCode::BAD_REQUEST, &json!({"error": e}), &[]),
    }
}

async fn expire_tokens(State(st): State<Arc<SandboxState>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let now = st.clock.now_ms();
    let providers: Vec<Provider> = match q.get("provider") {
        Some(p) => match p.parse() {
            Ok(p) => vec![p],
            Err(e) => return json_response(StatusCode::BAD_REQUEST, &json!({"error": e}), &[]),
        },
        None => Provider::ALL.to_vec(),
    };
    let mut o = st.oauth.lock().unwrap_or_else(|e| e.into_inner());
    let n: usize = providers.iter().map(|p| o.expire_all(*p, now)).sum();
    json_response(StatusCode::OK, &json!({"expired": n}), &[])
}

async fn restore_tokens(State(st): State<Arc<SandboxState>>) -> Response {
    st.oauth.lock().unwrap_or_else(|e| e.into_inner()).restore_static();
    json_response(StatusCode::OK, &json!({"restored": true}), &[])
}

/// The control routes, relative to `/_sandbox`.
pub fn routes() -> Router<Arc<SandboxState>> {
    Router::new()
        .route("/ready", get(ready))
        .route("/state", get(state))
        .route("/state/{provider}/{object}/{id}", get(record))
        .route("/counters", get(counters))
        .route("/ground-truth", get(ground_truth))
        .route("/faults", get(get_faults).post(set_faults))
        .route("/edit", post(edit_handler))
        .route("/tokens/expire", post(expire_tokens))
        .route("/tokens/restore", post(restore_tokens))
}
