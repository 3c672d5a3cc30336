//! HubSpot CRM v3: contacts and companies.
//!
//! Incremental pulls use the search endpoint filtered on the last-modified
//! property (`lastmodifieddate` for contacts, `hs_lastmodifieddate` for
//! companies) `GTE` the bookmark, sorted ascending; the engine re-bases the
//! window on each page's newest record, so a query never pages towards
//! HubSpot's 10,000-result cap. Search leaves archived records out, so each
//! run also sweeps `?archived=true` with `paging.next.after` cursors. Paging
//! ends when `paging.next` is absent.

use super::{enc, epoch_ms};
use crate::error::SyncError;
use crate::spec::*;
use concord_core::Provider;
use reqwest::Method;
use serde_json::{json, Value};

const STATE: StateRule = StateRule { archived_flag: Some("archived"), ..ACTIVE };

const CONTACT_FIELDS: &[Field] = &[
    optional("email", &["properties.email"], Ty::Text),
    optional("given_name", &["properties.firstname"], Ty::Text),
    optional("family_name", &["properties.lastname"], Ty::Text),
    optional("company", &["properties.company"], Ty::Text),
    always("phone", &["properties.phone", "properties.phone_number"], Ty::Text),
    always("street", &["properties.address", "addresses[].address", "properties.street_address"], Ty::Text),
    optional("city", &["properties.city"], Ty::Text),
    optional("state", &["properties.state"], Ty::Text),
    optional("postcode", &["properties.zip"], Ty::Text),
    optional("country", &["properties.country"], Ty::Text),
    optional("company_id", &["properties.associatedcompanyid"], Ty::Text),
    always("created_at", &["createdAt"], Ty::Text),
];

const COMPANY_FIELDS: &[Field] = &[
    optional("company", &["properties.name"], Ty::Text),
    optional("domain", &["properties.domain"], Ty::Text),
    optional("tax_number", &["properties.abn"], Ty::Text),
    always("phone", &["properties.phone", "properties.phone_number"], Ty::Text),
    always("street", &["properties.address", "addresses[].address", "properties.street_address"], Ty::Text),
    optional("city", &["properties.city"], Ty::Text),
    optional("state", &["properties.state"], Ty::Text),
    optional("postcode", &["properties.zip"], Ty::Text),
    optional("country", &["properties.country"], Ty::Text),
    always("created_at", &["createdAt"], Ty::Text),
];

const KNOWN: &[&str] = &[
    "archived",
    "archivedAt",
    "properties.createdate",
    "properties.lastmodifieddate",
    "properties.hs_lastmodifieddate",
    "properties.hs_object_id",
    "properties.lifecyclestage",
    "properties.mobilephone",
];

/// The streams.
pub const STREAMS: &[StreamSpec] = &[
    StreamSpec {
        name: "contacts",
        resource: "contacts",
        kind: Kind::Party,
        records_at: "results",
        id_at: "id",
        updated_at: "updatedAt",
        state: STATE,
        fields: CONTACT_FIELDS,
        known: KNOWN,
        sweep: Some(Sweep::Archived),
        sweep_records_at: "results",
        max_page: 200,
    },
    StreamSpec {
        name: "companies",
        resource: "companies",
        kind: Kind::Party,
        records_at: "results",
        id_at: "id",
        updated_at: "updatedAt",
        state: STATE,
        fields: COMPANY_FIELDS,
        known: KNOWN,
        sweep: Some(Sweep::Archived),
        sweep_records_at: "results",
        max_page: 200,
    },
];

/// HubSpot's declarations.
pub static SPEC: ProviderSpec = ProviderSpec {
    provider: Provider::HubSpot,
    auth: Auth::Bearer,
    // 100 calls in any 10 s per account, and search 4 a second per token; every call here is a search or a list.
    quota: Quota { windows: &[(100, 10.0), (4, 1.0)], concurrency: 4, remaining_header: Some("X-HubSpot-RateLimit-Remaining"), cost_bucket: None },
    page_size: 200,
    streams: STREAMS,
    request,
    signal,
    sweep_request: Some(sweep_request),
    clock_at: None,
    total_at: Some("total"),
    body_error,
    follow_up: None,
};

fn modified_property(s: &StreamSpec) -> &'static str {
    if s.resource == "contacts" {
        "lastmodifieddate"
    } else {
        "hs_lastmodifieddate"
    }
}

fn properties(s: &StreamSpec) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = s.fields.iter().filter_map(|f| f.paths[0].strip_prefix("properties.")).collect();
    v.push(modified_property(s));
    v
}

fn request(_t: &Tenant, s: &StreamSpec, p: &Position, n: usize) -> Result<PageRequest, SyncError> {
    let mut filters = Vec::new();
    if let Some(ms) = p.since.as_deref().and_then(epoch_ms) {
        filters.push(json!({"filters": [{"propertyName": modified_property(s), "operator": "GTE", "value": ms.to_string()}]}));
    }
    let mut body = json!({
        "filterGroups": filters,
        "sorts": [{"propertyName": modified_property(s), "direction": "ASCENDING"}],
        "properties": properties(s),
        "limit": n.min(200),
    });
    if let Some(c) = &p.cursor {
        body["after"] = json!(c);
    }
    Ok(PageRequest { method: Method::POST, path: format!("/crm/v3/objects/{}/search", s.resource), headers: vec![], body: Some(body) })
}

fn sweep_request(_t: &Tenant, s: &StreamSpec, p: &Position, n: usize) -> Result<PageRequest, SyncError> {
    let mut path = format!("/crm/v3/objects/{}?archived=true&limit={}&properties={}", s.resource, n.min(100), enc(&properties(s).join(",")));
    if let Some(c) = &p.cursor {
        path.push_str(&format!("&after={}", enc(c)));
    }
    Ok(PageRequest { method: Method::GET, path, headers: vec![], body: None })
}

fn signal(_s: &StreamSpec, body: &Value, _p: &Position, _n: usize, _len: usize) -> Signal {
    match text_at(body, "paging.next.after") {
        Some(after) => Signal::More(Some(after)),
        None => Signal::Done,
    }
}

fn body_error(status: u16, body: &Value) -> Option<BodyError> {
    let message = text_at(body, "message").unwrap_or_default();
    (status == 400 && message.contains("expired")).then_some(BodyError::CursorExpired)
}
