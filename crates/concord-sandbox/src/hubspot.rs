//! HubSpot CRM v3: contacts and companies, as `/crm/v3/objects/{contacts|companies}`.
//!
//! Served below the HubSpot base URL:
//! - `GET /crm/v3/objects/{object}?limit=&after=&properties=&archived=`:
//!   up to 100 a page (default 10); the next page's cursor is
//!   `paging.next.after`, and the last page has no `paging`.
//! - `GET /crm/v3/objects/{object}/{id}`, `PATCH` the same path with
//!   `{"properties": {...}}`, `POST /crm/v3/objects/{object}` to create.
//! - `POST /crm/v3/objects/{object}/search` with `filterGroups` (EQ, NEQ,
//!   LT, LTE, GT, GTE, BETWEEN, IN, HAS_PROPERTY, NOT_HAS_PROPERTY), `sorts`,
//!   `properties`, `limit` (max 200) and `after`; a search never pages past
//!   10,000 results (a request beyond is a 400), so clients must narrow the
//!   `lastmodifieddate` window instead. Search has its own 4-a-second limit.
//! - `POST /crm/v3/objects/{object}/batch/update` and `/batch/read` (100 inputs).
//! - `GET /account-info/v3/details`: the account the token reaches (`portalId`
//!   is the hub id), which is how a private-app token learns its hub.
//!
//! Records are `{id, properties, createdAt, updatedAt, archived}` with every
//! property a string (or null). Unknown property names in writes are refused
//! with PROPERTY_DOESNT_EXIST, except custom ones starting with `concord_`,
//! which are stored. HubSpot has no idempotency keys and no concurrency
//! token: every applied PATCH counts as a write in the ledger.
//!
//! Schema drift: `schema_drift_rename` serves `phone` as `phone_number`;
//! `schema_drift_nest` moves `address` out of `properties` into an
//! `addresses: [{"address": ...}]` array on the record.

use crate::business::{World, NONE};
use crate::faults::Hits;
use crate::ledger::ChurnEvent;
use crate::provider::{offset_id, offset_index, Provider, HUBSPOT_COMPANY_BASE, HUBSPOT_CONTACT_BASE};
use crate::record::{iso_ms, parse_time_ms, PartyField, PartyRecord};
use crate::response::{hubspot_error, json_response};
use crate::state::{gated, GateOptions, SandboxState};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Search never pages beyond this many results.
pub const SEARCH_CAP: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Object {
    Contacts,
    Companies,
}

impl Object {
    fn parse(s: &str) -> Option<Object> {
        match s {
            "contacts" | "contact" | "0-1" => Some(Object::Contacts),
            "companies" | "company" | "0-2" => Some(Object::Companies),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Object::Contacts => "contacts",
            Object::Companies => "companies",
        }
    }
    fn base(self) -> u64 {
        match self {
            Object::Contacts => HUBSPOT_CONTACT_BASE,
            Object::Companies => HUBSPOT_COMPANY_BASE,
        }
    }
    fn defaults(self) -> &'static [&'static str] {
        match self {
            Object::Contacts => &["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"],
            Object::Companies => &["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
        }
    }
    /// Properties stored in a record's text fields.
    fn field(self, prop: &str) -> Option<PartyField> {
        use PartyField::*;
        let common = match prop {
            "phone" => Some(Phone),
            "address" => Some(Street),
            "city" => Some(City),
            "state" => Some(State),
            "zip" => Some(Postcode),
            _ => None,
        };
        common.or(match (self, prop) {
            (Object::Contacts, "firstname") => Some(Given),
            (Object::Contacts, "lastname") => Some(Family),
            (Object::Contacts, "email") => Some(Email),
            (Object::Contacts, "company") => Some(Company),
            (Object::Companies, "name") => Some(Company),
            (Object::Companies, "abn") => Some(Abn),
            (_, "notes_last_contacted") => None,
            _ => None,
        })
    }
    /// Known properties that are not stored as text fields.
    fn computed(self) -> &'static [&'static str] {
        match self {
            Object::Contacts => &["createdate", "lastmodifieddate", "hs_object_id", "country", "mobilephone", "associatedcompanyid", "lifecyclestage", "hs_lastmodifieddate"],
            Object::Companies => &["createdate", "hs_lastmodifieddate", "hs_object_id", "country", "domain", "lifecyclestage"],
        }
    }
    fn knows(self, prop: &str) -> bool {
        self.field(prop).is_some() || self.computed().contains(&prop) || prop.starts_with("concord_")
    }
}

fn table(w: &World, o: Object) -> &Vec<PartyRecord> {
    match o {
        Object::Contacts => &w.hubspot.contacts,
        Object::Companies => &w.hubspot.companies,
    }
}

fn table_mut(w: &mut World, o: Object) -> &mut Vec<PartyRecord> {
    match o {
        Object::Contacts => &mut w.hubspot.contacts,
        Object::Companies => &mut w.hubspot.companies,
    }
}

fn index_of(o: Object, w: &World, id: &str) -> Option<usize> {
    let i = offset_index(o.base(), id.trim().parse().ok()?)? as usize;
    (i < table(w, o).len()).then_some(i)
}

/// A property's value as HubSpot serves it (strings or null).
fn property(w: &World, o: Object, i: usize, prop: &str) -> Value {
    let r = &table(w, o)[i];
    if let Some(extra) = &r.extra {
        if let Some(v) = extra.get(prop) {
            return v.clone();
        }
    }
    let text = |s: &str| if s.is_empty() { Value::Null } else { Value::String(s.to_string()) };
    if let Some(f) = o.field(prop) {
        return text(r.get(f));
    }
    match prop {
        "createdate" => Value::String(iso_ms(r.created_ms)),
        "lastmodifieddate" | "hs_lastmodifieddate" => Value::String(iso_ms(r.updated_ms)),
        "hs_object_id" => Value::String(offset_id(o.base(), i as u32).to_string()),
        "country" => Value::String("Australia".into()),
        "domain" => {
            let co = r.get(PartyField::Company).to_lowercase();
            let slug: String = co.chars().filter(|c| c.is_ascii_alphanumeric()).take(20).collect();
            text(&slug).as_str().map(|s| Value::String(format!("{s}.com.au"))).unwrap_or(Value::Null)
        }
        "associatedcompanyid" => match w.hubspot.contact_company.get(i) {
            Some(c) if *c != NONE => Value::String(offset_id(HUBSPOT_COMPANY_BASE, *c).to_string()),
            _ => Value::Null,
        },
        "lifecyclestage" => Value::String("customer".into()),
        _ => Value::Null,
    }
}

fn render(w: &World, o: Object, i: usize, props: &[String], hits: &Hits) -> Value {
    let r = &table(w, o)[i];
    let mut names: Vec<String> = o.defaults().iter().map(|s| s.to_string()).collect();
    for p in props {
        if !names.contains(p) && o.knows(p) {
            names.push(p.clone());
        }
    }
    let mut properties = Map::new();
    for n in &names {
        properties.insert(n.clone(), property(w, o, i, n));
    }
    let mut record = Map::new();
    if hits.drift_rename {
        if let Some(v) = properties.remove("phone") {
            properties.insert("phone_number".into(), v);
        }
    }
    if hits.drift_nest {
        if let Some(v) = properties.remove("address") {
            record.insert("addresses".into(), json!([{"address": v}]));
        }
    }
    record.insert("id".into(), Value::String(offset_id(o.base(), i as u32).to_string()));
    record.insert("properties".into(), Value::Object(properties));
    record.insert("createdAt".into(), Value::String(iso_ms(r.created_ms)));
    record.insert("updatedAt".into(), Value::String(iso_ms(r.updated_ms)));
    record.insert("archived".into(), Value::Bool(r.archived));
    if r.archived {
        record.insert("archivedAt".into(), Value::String(iso_ms(r.updated_ms)));
    }
    Value::Object(record)
}

fn prop_list(q: &HashMap<String, String>) -> Vec<String> {
    q.get("properties").map(|s| s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()).unwrap_or_default()
}

/// The shifting-offsets fault: before serving from `start`, archive the
/// record just before it and touch the one before that.
fn churn(st: &SandboxState, o: Object, start: usize) {
    if start < 2 {
        return;
    }
    let now = st.clock.now_ms();
    let mut w = st.write();
    let t = table_mut(&mut w, o);
    if start > t.len() {
        return;
    }
    let (del, upd) = (start - 1, start - 2);
    t[del].archived = true;
    t[del].touch(now);
    t[upd].touch(now);
    drop(w);
    let mut l = st.ledger();
    for (i, action) in [(del, "deleted"), (upd, "updated")] {
        l.churned(ChurnEvent { provider: Provider::HubSpot, object: o.name(), id: offset_id(o.base(), i as u32).to_string(), action });
    }
}

fn cursor_expired() -> Response {
    hubspot_error(StatusCode::BAD_REQUEST, "The paging cursor `after` has expired or is invalid. Restart paging from the beginning.", "VALIDATION_ERROR")
}

async fn list(State(st): State<Arc<SandboxState>>, Path(object): Path<String>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let Some(o) = Object::parse(&object) else {
        return hubspot_error(StatusCode::NOT_FOUND, &format!("Unable to infer object type from: {object}"), "OBJECT_NOT_FOUND");
    };
    gated(&st, Provider::HubSpot, &headers, GateOptions::default(), |adm| {
        let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(10).clamp(1, 100);
        let after = q.get("after").map(|a| a.parse::<usize>());
        let start = match after {
            None => 0,
            Some(Ok(a)) => a,
            Some(Err(_)) => return hubspot_error(StatusCode::BAD_REQUEST, "Invalid input: after must be a paging cursor", "VALIDATION_ERROR"),
        };
        if start > 0 && adm.hits.cursor_expiry {
            return cursor_expired();
        }
        if start > 0 && adm.hits.shifting_offsets {
            churn(&st, o, start);
        }
        let archived = q.get("archived").is_some_and(|a| a == "true");
        let props = prop_list(&q);
        let w = st.read();
        let t = table(&w, o);
        let mut results = Vec::new();
        let mut i = start;
        while i < t.len() && results.len() < limit {
            if t[i].archived == archived {
                results.push(render(&w, o, i, &props, &adm.hits));
            }
            i += 1;
        }
        if adm.hits.duplicate_delivery {
            if let Some(first) = results.first().cloned() {
                results.push(first);
            }
        }
        let more = (i..t.len()).any(|j| t[j].archived == archived);
        let mut body = json!({"results": results});
        if more {
            body["paging"] = json!({"next": {"after": i.to_string(), "link": format!("{}/hubspot/crm/v3/objects/{}?after={}", st.origin, o.name(), i)}});
        }
        json_response(StatusCode::OK, &body, &[])
    })
    .await
}

async fn read_one(State(st): State<Arc<SandboxState>>, Path((object, id)): Path<(String, String)>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let Some(o) = Object::parse(&object) else {
        return hubspot_error(StatusCode::NOT_FOUND, "unknown object type", "OBJECT_NOT_FOUND");
    };
    gated(&st, Provider::HubSpot, &headers, GateOptions::default(), |adm| {
        let w = st.read();
        match index_of(o, &w, &id) {
            Some(i) if !table(&w, o)[i].archived => json_response(StatusCode::OK, &render(&w, o, i, &prop_list(&q), &adm.hits), &[]),
            _ => hubspot_error(StatusCode::NOT_FOUND, "resource not found", "OBJECT_NOT_FOUND"),
        }
    })
    .await
}

/// Applies `properties` to record `i`; Err names the invalid properties.
fn apply(w: &mut World, o: Object, i: usize, props: &Map<String, Value>, now: i64) -> Result<(), Vec<String>> {
    let bad: Vec<String> = props.keys().filter(|k| !o.knows(k) || o.computed().contains(&k.as_str()) && !matches!(k.as_str(), "country" | "lifecyclestage" | "mobilephone")).cloned().collect();
    if !bad.is_empty() {
        return Err(bad);
    }
    let r = &mut table_mut(w, o)[i];
    for (k, v) in props {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        match o.field(k) {
            Some(f) => r.set(f, &text),
            None => r.set_extra(k, if text.is_empty() { Value::Null } else { Value::String(text) }),
        }
    }
    r.touch(now);
    Ok(())
}

fn invalid_properties(bad: &[String]) -> Response {
    let details: Vec<Value> = bad
        .iter()
        .map(|n| json!({"isValid": false, "message": format!("Property \"{n}\" does not exist"), "error": "PROPERTY_DOESNT_EXIST", "name": n}))
        .collect();
    hubspot_error(StatusCode::BAD_REQUEST, &format!("Property values were not valid: {}", Value::Array(details)), "VALIDATION_ERROR")
}

async fn update_one(State(st): State<Arc<SandboxState>>, Path((object, id)): Path<(String, String)>, headers: HeaderMap, body: Option<Json<Value>>) -> Response {
    let Some(o) = Object::parse(&object) else {
        return hubspot_error(StatusCode::NOT_FOUND, "unknown object type", "OBJECT_NOT_FOUND");
    };
    gated(&st, Provider::HubSpot, &headers, GateOptions::default(), |adm| {
        let Some(props) = body.as_ref().and_then(|b| b.0.get("properties")).and_then(Value::as_object).cloned() else {
            return hubspot_error(StatusCode::BAD_REQUEST, "Invalid input JSON: expected {\"properties\": {...}}", "VALIDATION_ERROR");
        };
        let now = st.clock.now_ms();
        let mut w = st.write();
        let Some(i) = index_of(o, &w, &id).filter(|i| !table(&w, o)[*i].archived) else {
            return hubspot_error(StatusCode::NOT_FOUND, "resource not found", "OBJECT_NOT_FOUND");
        };
        if let Err(bad) = apply(&mut w, o, i, &props, now) {
            st.ledger().rejected(Provider::HubSpot);
            return invalid_properties(&bad);
        }
        let names: Vec<String> = props.keys().cloned().collect();
        let out = render(&w, o, i, &names, &adm.hits);
        drop(w);
        st.ledger().write(now, Provider::HubSpot, o.name(), &offset_id(o.base(), i as u32).to_string(), "update", None);
        json_response(StatusCode::OK, &out, &[])
    })
    .await
}

async fn create(State(st): State<Arc<SandboxState>>, Path(object): Path<String>, headers: HeaderMap, body: Option<Json<Value>>) -> Response {
    let Some(o) = Object::parse(&object) else {
        return hubspot_error(StatusCode::NOT_FOUND, "unknown object type", "OBJECT_NOT_FOUND");
    };
    gated(&st, Provider::HubSpot, &headers, GateOptions::default(), |adm| {
        let props = body.as_ref().and_then(|b| b.0.get("properties")).and_then(Value::as_object).cloned().unwrap_or_default();
        let now = st.clock.now_ms();
        let mut w = st.write();
        if o == Object::Contacts {
            if let Some(email) = props.get("email").and_then(Value::as_str) {
                if let Some(existing) = w.hubspot.contacts.iter().position(|c| !c.archived && c.get(PartyField::Email).eq_ignore_ascii_case(email)) {
                    return hubspot_error(
                        StatusCode::CONFLICT,
                        &format!("Contact already exists. Existing ID: {}", offset_id(HUBSPOT_CONTACT_BASE, existing as u32)),
                        "CONFLICT",
                    );
                }
            }
        }
        let rec = PartyRecord::new(NONE, [""; crate::record::PARTY_FIELDS], now, now);
        table_mut(&mut w, o).push(rec);
        if o == Object::Contacts {
            w.hubspot.contact_company.push(NONE);
        }
        let i = table(&w, o).len() - 1;
        if let Err(bad) = apply(&mut w, o, i, &props, now) {
            table_mut(&mut w, o).pop();
            if o == Object::Contacts {
                w.hubspot.contact_company.pop();
            }
            st.ledger().rejected(Provider::HubSpot);
            return invalid_properties(&bad);
        }
        let names: Vec<String> = props.keys().cloned().collect();
        let out = render(&w, o, i, &names, &adm.hits);
        drop(w);
        st.ledger().write(now, Provider::HubSpot, o.name(), &offset_id(o.base(), i as u32).to_string(), "create", None);
        json_response(StatusCode::CREATED, &out, &[])
    })
    .await
}

#[derive(Debug)]
struct Filter {
    prop: String,
    op: String,
    value: Option<String>,
    high: Option<String>,
    values: Vec<String>,
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn compare(a: &str, b: &str, is_time: bool) -> std::cmp::Ordering {
    if is_time {
        if let (Some(x), Some(y)) = (parse_time_ms(a), parse_time_ms(b)) {
            return x.cmp(&y);
        }
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

fn matches(f: &Filter, value: Option<&str>) -> bool {
    use std::cmp::Ordering::*;
    let is_time = f.prop.contains("date") || f.prop == "createdate";
    let v = value.filter(|s| !s.is_empty());
    match (f.op.as_str(), v, f.value.as_deref()) {
        ("HAS_PROPERTY", v, _) => v.is_some(),
        ("NOT_HAS_PROPERTY", v, _) => v.is_none(),
        ("IN", Some(v), _) => f.values.iter().any(|x| x.eq_ignore_ascii_case(v)),
        ("NOT_IN", v, _) => v.is_none_or(|v| !f.values.iter().any(|x| x.eq_ignore_ascii_case(v))),
        ("EQ", Some(v), Some(x)) => compare(v, x, is_time) == Equal,
        ("NEQ", v, Some(x)) => v.is_none_or(|v| compare(v, x, is_time) != Equal),
        ("LT", Some(v), Some(x)) => compare(v, x, is_time) == Less,
        ("LTE", Some(v), Some(x)) => compare(v, x, is_time) != Greater,
        ("GT", Some(v), Some(x)) => compare(v, x, is_time) == Greater,
        ("GTE", Some(v), Some(x)) => compare(v, x, is_time) != Less,
        ("BETWEEN", Some(v), Some(x)) => {
            compare(v, x, is_time) != Less && f.high.as_deref().is_none_or(|h| compare(v, h, is_time) != Greater)
        }
        ("CONTAINS_TOKEN", Some(v), Some(x)) => v.to_lowercase().contains(&x.trim_matches('*').to_lowercase()),
        _ => false,
    }
}

async fn search(State(st): State<Arc<SandboxState>>, Path(object): Path<String>, headers: HeaderMap, body: Option<Json<Value>>) -> Response {
    let Some(o) = Object::parse(&object) else {
        return hubspot_error(StatusCode::NOT_FOUND, "unknown object type", "OBJECT_NOT_FOUND");
    };
    let opts = GateOptions { search: true, ..Default::default() };
    gated(&st, Provider::HubSpot, &headers, opts, |adm| {
        let b = body.map(|b| b.0).unwrap_or(Value::Null);
        let limit = b.get("limit").and_then(Value::as_u64).unwrap_or(10) as usize;
        if limit > 200 {
            return hubspot_error(StatusCode::BAD_REQUEST, "limit must be at most 200", "VALIDATION_ERROR");
        }
        let after = match b.get("after") {
            None | Some(Value::Null) => 0,
            Some(v) => match text_of(v).and_then(|s| s.parse::<usize>().ok()) {
                Some(a) => a,
                None => return hubspot_error(StatusCode::BAD_REQUEST, "after must be a number", "VALIDATION_ERROR"),
            },
        };
        if after > 0 && adm.hits.cursor_expiry {
            return cursor_expired();
        }
        if after >= SEARCH_CAP {
            return hubspot_error(
                StatusCode::BAD_REQUEST,
                "Search results are limited to 10,000 records; narrow the filters (for example the lastmodifieddate window) to read further.",
                "VALIDATION_ERROR",
            );
        }
        let mut groups: Vec<Vec<Filter>> = Vec::new();
        for g in b.get("filterGroups").and_then(Value::as_array).cloned().unwrap_or_default() {
            let mut fs = Vec::new();
            for f in g.get("filters").and_then(Value::as_array).cloned().unwrap_or_default() {
                fs.push(Filter {
                    prop: f.get("propertyName").and_then(Value::as_str).unwrap_or("").to_string(),
                    op: f.get("operator").and_then(Value::as_str).unwrap_or("EQ").to_string(),
                    value: f.get("value").and_then(text_of),
                    high: f.get("highValue").and_then(text_of),
                    values: f.get("values").and_then(Value::as_array).map(|a| a.iter().filter_map(text_of).collect()).unwrap_or_default(),
                });
            }
            groups.push(fs);
        }
        let props: Vec<String> = b.get("properties").and_then(Value::as_array).map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default();
        let w = st.read();
        let t = table(&w, o);
        let value = |i: usize, p: &str| text_of(&property(&w, o, i, p));
        let mut hits: Vec<usize> = (0..t.len())
            .filter(|&i| !t[i].archived)
            .filter(|&i| groups.is_empty() || groups.iter().any(|g| g.iter().all(|f| matches(f, value(i, &f.prop).as_deref()))))
            .collect();
        let sort = b.get("sorts").and_then(Value::as_array).and_then(|a| a.first()).cloned();
        if let Some(s) = sort {
            let (prop, desc) = match &s {
                Value::String(p) => (p.trim_start_matches('-').to_string(), p.starts_with('-')),
                other => (
                    other.get("propertyName").and_then(Value::as_str).unwrap_or("hs_object_id").to_string(),
                    other.get("direction").and_then(Value::as_str) == Some("DESCENDING"),
                ),
            };
            let is_time = prop.contains("date");
            hits.sort_by(|a, c| {
                let x = value(*a, &prop).unwrap_or_default();
                let y = value(*c, &prop).unwrap_or_default();
                let ord = compare(&x, &y, is_time).then(a.cmp(c));
                if desc { ord.reverse() } else { ord }
            });
        }
        let total = hits.len();
        let end = (after + limit).min(total).min(SEARCH_CAP);
        let mut results: Vec<Value> = hits.get(after.min(total)..end).unwrap_or(&[]).iter().map(|&i| render(&w, o, i, &props, &adm.hits)).collect();
        if adm.hits.duplicate_delivery {
            if let Some(first) = results.first().cloned() {
                results.push(first);
            }
        }
        let mut out = json!({"total": total, "results": results});
        if end < total && end < SEARCH_CAP {
            out["paging"] = json!({"next": {"after": end.to_string()}});
        }
        json_response(StatusCode::OK, &out, &[])
    })
    .await
}

async fn batch(State(st): State<Arc<SandboxState>>, Path((object, action)): Path<(String, String)>, headers: HeaderMap, body: Option<Json<Value>>) -> Response {
    let Some(o) = Object::parse(&object) else {
        return hubspot_error(StatusCode::NOT_FOUND, "unknown object type", "OBJECT_NOT_FOUND");
    };
    gated(&st, Provider::HubSpot, &headers, GateOptions::default(), |adm| {
        let b = body.map(|b| b.0).unwrap_or(Value::Null);
        let inputs = b.get("inputs").and_then(Value::as_array).cloned().unwrap_or_default();
        if inputs.len() > 100 {
            return hubspot_error(StatusCode::BAD_REQUEST, "Batch size must be at most 100", "VALIDATION_ERROR");
        }
        let started = iso_ms(st.clock.now_ms());
        let now = st.clock.now_ms();
        let mut results = Vec::new();
        let mut errors = Vec::new();
        match action.as_str() {
            "read" => {
                let props: Vec<String> = b.get("properties").and_then(Value::as_array).map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default();
                let w = st.read();
                for input in &inputs {
                    let id = input.get("id").and_then(text_of).unwrap_or_default();
                    match index_of(o, &w, &id) {
                        Some(i) => results.push(render(&w, o, i, &props, &adm.hits)),
                        None => errors.push(json!({"status": "error", "category": "OBJECT_NOT_FOUND", "message": format!("Could not get some {} objects, they may be deleted or not exist.", o.name()), "context": {"ids": [id]}})),
                    }
                }
            }
            "update" => {
                let mut applied = Vec::new();
                let mut w = st.write();
                for input in &inputs {
                    let id = input.get("id").and_then(text_of).unwrap_or_default();
                    let props = input.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
                    match index_of(o, &w, &id).filter(|i| !table(&w, o)[*i].archived) {
                        Some(i) => match apply(&mut w, o, i, &props, now) {
                            Ok(()) => {
                                let names: Vec<String> = props.keys().cloned().collect();
                                results.push(render(&w, o, i, &names, &adm.hits));
                                applied.push(id);
                            }
                            Err(bad) => errors.push(json!({"status": "error", "category": "VALIDATION_ERROR", "message": format!("Property values were not valid: {bad:?}"), "context": {"ids": [id]}})),
                        },
                        None => errors.push(json!({"status": "error", "category": "OBJECT_NOT_FOUND", "message": "resource not found", "context": {"ids": [id]}})),
                    }
                }
                drop(w);
                let mut l = st.ledger();
                for id in applied {
                    l.write(now, Provider::HubSpot, o.name(), &id, "update", None);
                }
                for _ in &errors {
                    l.rejected(Provider::HubSpot);
                }
            }
            _ => return hubspot_error(StatusCode::NOT_FOUND, "unknown batch action", "OBJECT_NOT_FOUND"),
        }
        let completed = iso_ms(st.clock.now_ms());
        let mut out = json!({"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": completed});
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            out["numErrors"] = json!(errors.len());
            out["errors"] = Value::Array(errors);
            StatusCode::MULTI_STATUS
        };
        json_response(status, &out, &[])
    })
    .await
}

/// `GET /account-info/v3/details`: the account behind the token, gated like every other call.
async fn account_details(State(st): State<Arc<SandboxState>>, headers: HeaderMap) -> Response {
    gated(&st, Provider::HubSpot, &headers, GateOptions::default(), |_| {
        let body = json!({
            "portalId": crate::business::HUBSPOT_HUB_ID,
            "accountType": "STANDARD",
            "timeZone": "Australia/Sydney",
            "companyCurrency": "AUD",
            "additionalCurrencies": [],
            "utcOffset": "+10:00",
            "utcOffsetMilliseconds": 36_000_000,
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        });
        json_response(StatusCode::OK, &body, &[])
    })
    .await
}

/// HubSpot's API routes, relative to its base URL.
pub fn routes() -> Router<Arc<SandboxState>> {
    Router::new()
        .route("/account-info/v3/details", get(account_details))
        .route("/crm/v3/objects/{object}", get(list).post(create))
        .route("/crm/v3/objects/{object}/search", post(search))
        .route("/crm/v3/objects/{object}/batch/{action}", post(batch))
        .route("/crm/v3/objects/{object}/{id}", get(read_one).patch(update_one))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_filters() {
        let f = |op: &str, v: &str| Filter { prop: "lastmodifieddate".into(), op: op.into(), value: Some(v.into()), high: None, values: vec![] };
        let cases = [
            (f("GT", "2024-01-01T00:00:00Z"), Some("2024-01-02T00:00:00.000Z"), true),
            (f("GT", "1704067200000"), Some("2024-01-01T00:00:00.000Z"), false),
            (f("GTE", "1704067200000"), Some("2024-01-01T00:00:00.000Z"), true),
            (f("LT", "2024-01-01T00:00:00Z"), None, false),
            (Filter { prop: "email".into(), op: "HAS_PROPERTY".into(), value: None, high: None, values: vec![] }, None, false),
        ];
        for (filter, value, want) in cases {
            assert_eq!(matches(&filter, value), want, "{} {:?} against {:?}", filter.op, filter.value, value);
        }
    }
}
