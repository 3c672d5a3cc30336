//! The four providers' single-record reads and field writes, as requests.
//!
//! Each function builds a [`PageRequest`] (path below the connection's base
//! URL, headers, JSON body) that the sync engine's requester sends, so writes
//! get the same token handling, pacing and error reading as reads:
//! - HubSpot: `GET`/`PATCH /crm/v3/objects/{object}/{id}`; no idempotency
//!   key, so the engine re-reads and compares before every send.
//! - Shopify: GraphQL `customer(id:)`/`order(id:)` and
//!   `customerUpdate`/`orderUpdate`; `userErrors` are refusals.
//! - Xero: `GET`/`POST /api.xro/2.0/Contacts/{id}` with `xero-tenant-id` and
//!   an `Idempotency-Key` header.
//! - QuickBooks: `GET /v3/company/{realm}/customer/{id}` and a sparse update
//!   `POST /v3/company/{realm}/customer?requestid=KEY` carrying the
//!   `SyncToken` just read; a stale token (5010) means someone else changed it.

use crate::fields::{split_address, split_name};
use concord_core::model::{CanonicalRecord, Source};
use concord_core::Provider;
use concord_sync::canonical::to_model;
use concord_sync::providers::spec_for;
use concord_sync::spec::{lookup, text_at, PageRequest};
use reqwest::Method;
use serde_json::{json, Map, Value};

/// The Shopify Admin API version Concord speaks (as the sync engine does).
pub const SHOPIFY_API_VERSION: &str = "2025-01";

/// What a connection adds to requests: Xero's tenant id or QuickBooks' realm.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    pub id: Option<String>,
}

/// Percent-encodes an id or a query value (ids are digits, GUIDs or Shopify gids).
fn enc(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

fn xero_headers(t: &Tenant) -> Vec<(String, String)> {
    t.id.iter().map(|id| ("xero-tenant-id".to_string(), id.clone())).collect()
}

fn realm(t: &Tenant) -> Result<&str, String> {
    t.id.as_deref().ok_or_else(|| "the QuickBooks connection has no company (realm) id; connect it again".to_string())
}

const SHOPIFY_CUSTOMER: &str = "id firstName lastName displayName email phone note taxExempt state createdAt updatedAt defaultAddress { company address1 city provinceCode zip }";
const SHOPIFY_ORDER: &str = "id name email note updatedAt";

fn shopify_graphql(query: &str, variables: Value) -> PageRequest {
    PageRequest {
        method: Method::POST,
        path: format!("/admin/api/{SHOPIFY_API_VERSION}/graphql.json"),
        headers: vec![],
        body: Some(json!({"query": query, "variables": variables})),
    }
}

/// The request that reads one record.
pub fn read_request(provider: Provider, t: &Tenant, object: &str, id: &str) -> Result<PageRequest, String> {
    match (provider, object) {
        (Provider::HubSpot, "contacts" | "companies") => {
            let spec = spec_for(provider).streams.iter().find(|s| s.name == object).ok_or("HubSpot stream missing")?;
            let mut props: Vec<&str> = spec.fields.iter().flat_map(|f| f.paths.iter()).filter_map(|p| p.strip_prefix("properties.")).collect();
            props.extend(["lastmodifieddate", "hs_lastmodifieddate", "mobilephone"]);
            props.sort_unstable();
            props.dedup();
            Ok(PageRequest { method: Method::GET, path: format!("/crm/v3/objects/{object}/{}?properties={}", enc(id), enc(&props.join(","))), headers: vec![], body: None })
        }
        (Provider::Shopify, "customers") => Ok(shopify_graphql(&format!("query($id: ID!) {{ customer(id: $id) {{ {SHOPIFY_CUSTOMER} }} }}"), json!({"id": id}))),
        (Provider::Shopify, "orders") => Ok(shopify_graphql(&format!("query($id: ID!) {{ order(id: $id) {{ {SHOPIFY_ORDER} }} }}"), json!({"id": id}))),
        (Provider::Xero, "contacts") => Ok(PageRequest { method: Method::GET, path: format!("/api.xro/2.0/Contacts/{}", enc(id)), headers: xero_headers(t), body: None }),
        (Provider::QuickBooks, "customers") => {
            Ok(PageRequest { method: Method::GET, path: format!("/v3/company/{}/customer/{}", realm(t)?, enc(id)), headers: vec![], body: None })
        }
        (p, o) => Err(format!("Concord does not write {} {o}", p.display_name())),
    }
}

/// The record inside a read response; `None` when the provider says it does not exist.
pub fn record_of(provider: Provider, object: &str, body: &Value) -> Option<Value> {
    let v = match (provider, object) {
        (Provider::HubSpot, _) => Some(body),
        (Provider::Shopify, "orders") => lookup(body, "data.order"),
        (Provider::Shopify, _) => lookup(body, "data.customer"),
        (Provider::Xero, _) => lookup(body, "Contacts[]"),
        (Provider::QuickBooks, _) => lookup(body, "Customer"),
    }?;
    (!v.is_null()).then(|| v.clone())
}

/// A field's current value in a record, as matching would show it.
pub fn field_value(provider: Provider, connection_id: i64, object: &str, id: &str, field: &str, record: &Value) -> Result<String, String> {
    if provider == Provider::Shopify && object == "orders" {
        return Ok(text_at(record, field).unwrap_or_default());
    }
    match to_model(provider, object, Source::new(connection_id, provider, object, id), record)? {
        CanonicalRecord::Party(p) => Ok(crate::fields::display(field, &p)),
        _ => Err(format!("{} {object} {id} is not a customer record", provider.display_name())),
    }
}

/// When the record last changed, as the provider says (for the audit log and `updatedAt` response ids).
pub fn updated_at(provider: Provider, record: &Value) -> Option<String> {
    let path = match provider {
        Provider::HubSpot | Provider::Shopify => "updatedAt",
        Provider::Xero => "UpdatedDateUTC",
        Provider::QuickBooks => "SyncToken",
    };
    text_at(record, path)
}

/// One field of one record to set.
#[derive(Debug, Clone, Copy)]
pub struct FieldWrite<'a> {
    pub object: &'a str,
    pub id: &'a str,
    /// The canonical field (`email`, `billingAddress`, ...).
    pub field: &'a str,
    pub value: &'a str,
}

/// The request for one field write, carrying `key` where the provider takes one
/// (Xero `Idempotency-Key`, QuickBooks `requestid`) and built on `current`, the
/// record as just re-read (QuickBooks' `SyncToken`, Shopify's other address parts).
pub fn write_request(provider: Provider, t: &Tenant, w: FieldWrite<'_>, current: &Value, key: &str) -> Result<PageRequest, String> {
    let FieldWrite { object, id, field, value } = w;
    match (provider, object) {
        (Provider::HubSpot, "contacts" | "companies") => {
            let mut props = Map::new();
            match (object, field) {
                ("contacts", "personName") => {
                    let (g, f) = split_name(value);
                    props.insert("firstname".into(), json!(g));
                    props.insert("lastname".into(), json!(f));
                }
                ("contacts", "companyName") => {
                    props.insert("company".into(), json!(value));
                }
                ("companies", "companyName") => {
                    props.insert("name".into(), json!(value));
                }
                ("contacts", "email") => {
                    props.insert("email".into(), json!(value));
                }
                (_, "phone") => {
                    props.insert("phone".into(), json!(value));
                }
                (_, "billingAddress") => {
                    let a = split_address(value);
                    for (k, v) in [("address", a.street), ("city", a.city), ("state", a.region), ("zip", a.postcode)] {
                        props.insert(k.into(), json!(v));
                    }
                }
                ("companies", "taxNumber") => {
                    props.insert("abn".into(), json!(value));
                }
                _ => return Err(unwritable(provider, object, field)),
            }
            Ok(PageRequest { method: Method::PATCH, path: format!("/crm/v3/objects/{object}/{}", enc(id)), headers: vec![], body: Some(json!({"properties": props})) })
        }
        (Provider::Shopify, "customers") => {
            let mut input = Map::new();
            input.insert("id".into(), json!(id));
            let address = |f: &dyn Fn(&mut Map<String, Value>)| {
                let mut a = Map::new();
                for (k, path) in [("company", "defaultAddress.company"), ("address1", "defaultAddress.address1"), ("city", "defaultAddress.city"), ("provinceCode", "defaultAddress.provinceCode"), ("zip", "defaultAddress.zip")] {
                    if let Some(v) = text_at(current, path) {
                        a.insert(k.into(), json!(v));
                    }
                }
                f(&mut a);
                json!([Value::Object(a)])
            };
            match field {
                "personName" => {
                    let (g, f) = split_name(value);
                    input.insert("firstName".into(), json!(g));
                    input.insert("lastName".into(), json!(f));
                }
                "email" | "phone" => {
                    input.insert(field.into(), json!(value));
                }
                "companyName" => {
                    input.insert("addresses".into(), address(&|a| {
                        a.insert("company".into(), json!(value));
                    }));
                }
                "billingAddress" => {
                    let parts = split_address(value);
                    input.insert("addresses".into(), address(&|a| {
                        a.insert("address1".into(), json!(parts.street));
                        a.insert("city".into(), json!(parts.city));
                        a.insert("provinceCode".into(), json!(parts.region));
                        a.insert("zip".into(), json!(parts.postcode));
                    }));
                }
                _ => return Err(unwritable(provider, object, field)),
            }
            let q = "mutation($input: CustomerInput!) { customerUpdate(input: $input) { customer { id updatedAt } userErrors { field message } } }";
            Ok(shopify_graphql(q, json!({"input": input})))
        }
        (Provider::Shopify, "orders") => {
            if !matches!(field, "email" | "note") {
                return Err(unwritable(provider, object, field));
            }
            let q = "mutation($input: OrderInput!) { orderUpdate(input: $input) { order { id updatedAt } userErrors { field message } } }";
            Ok(shopify_graphql(q, json!({"input": {"id": id, field: value}})))
        }
        (Provider::Xero, "contacts") => {
            let mut c = Map::new();
            c.insert("ContactID".into(), json!(id));
            match field {
                "personName" => {
                    let (g, f) = split_name(value);
                    c.insert("FirstName".into(), json!(g));
                    c.insert("LastName".into(), json!(f));
                }
                "companyName" => {
                    c.insert("Name".into(), json!(value));
                }
                "email" => {
                    c.insert("EmailAddress".into(), json!(value));
                }
                "phone" => {
                    c.insert("Phones".into(), json!([{"PhoneType": "DEFAULT", "PhoneNumber": value, "PhoneAreaCode": "", "PhoneCountryCode": ""}]));
                }
                "billingAddress" => {
                    let a = split_address(value);
                    c.insert("Addresses".into(), json!([{"AddressType": "POBOX", "AddressLine1": a.street, "City": a.city, "Region": a.region, "PostalCode": a.postcode}]));
                }
                "taxNumber" => {
                    c.insert("TaxNumber".into(), json!(value));
                }
                _ => return Err(unwritable(provider, object, field)),
            }
            let mut headers = xero_headers(t);
            headers.push(("Idempotency-Key".into(), key.to_string()));
            Ok(PageRequest { method: Method::POST, path: format!("/api.xro/2.0/Contacts/{}", enc(id)), headers, body: Some(json!({"Contacts": [Value::Object(c)]})) })
        }
        (Provider::QuickBooks, "customers") => {
            let token = text_at(current, "SyncToken").ok_or("the QuickBooks customer came back without a SyncToken")?;
            let mut c = Map::new();
            c.insert("Id".into(), json!(id));
            c.insert("SyncToken".into(), json!(token));
            c.insert("sparse".into(), json!(true));
            match field {
                "personName" => {
                    let (g, f) = split_name(value);
                    c.insert("GivenName".into(), json!(g));
                    c.insert("FamilyName".into(), json!(f));
                }
                "companyName" => {
                    c.insert("CompanyName".into(), json!(value));
                }
                "email" => {
                    c.insert("PrimaryEmailAddr".into(), json!({"Address": value}));
                }
                "phone" => {
                    c.insert("PrimaryPhone".into(), json!({"FreeFormNumber": value}));
                }
                "billingAddress" => {
                    let a = split_address(value);
                    c.insert("BillAddr".into(), json!({"Line1": a.street, "City": a.city, "CountrySubDivisionCode": a.region, "PostalCode": a.postcode}));
                }
                "taxNumber" => {
                    c.insert("BusinessNumber".into(), json!(value));
                }
                _ => return Err(unwritable(provider, object, field)),
            }
            Ok(PageRequest {
                method: Method::POST,
                path: format!("/v3/company/{}/customer?requestid={}", realm(t)?, enc(key)),
                headers: vec![],
                body: Some(Value::Object(c)),
            })
        }
        (p, o) => Err(format!("Concord does not write {} {o}", p.display_name())),
    }
}

fn unwritable(provider: Provider, object: &str, field: &str) -> String {
    format!("Concord does not write {field} to {} {object}", provider.display_name())
}

/// What a write's response says: the provider's id for it, or its refusal.
pub fn write_outcome(provider: Provider, object: &str, body: &Value) -> Result<String, String> {
    match provider {
        Provider::Shopify => {
            let root = if object == "orders" { "orderUpdate" } else { "customerUpdate" };
            let payload = lookup(body, &format!("data.{root}")).ok_or_else(|| format!("Shopify answered without a {root} result"))?;
            let errors: Vec<String> = payload
                .get("userErrors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|e| {
                    let field = e.get("field").and_then(Value::as_array).map(|f| f.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(".")).unwrap_or_default();
                    let msg = text_at(e, "message").unwrap_or_default();
                    if field.is_empty() { msg } else { format!("{field}: {msg}") }
                })
                .collect();
            if !errors.is_empty() {
                return Err(errors.join("; "));
            }
            let rec = if object == "orders" { "order" } else { "customer" };
            Ok(text_at(payload, &format!("{rec}.updatedAt")).map(|u| format!("updatedAt {u}")).unwrap_or_else(|| "accepted".into()))
        }
        Provider::HubSpot => Ok(text_at(body, "updatedAt").map(|u| format!("updatedAt {u}")).unwrap_or_else(|| "accepted".into())),
        Provider::Xero => Ok(text_at(body, "Id").map(|u| format!("Id {u}")).unwrap_or_else(|| "accepted".into())),
        Provider::QuickBooks => Ok(text_at(body, "Customer.SyncToken").map(|u| format!("SyncToken {u}")).unwrap_or_else(|| "accepted".into())),
    }
}

/// Whether a refusal is QuickBooks' Stale Object Error (someone saved the record after it was read).
pub fn is_stale_refusal(provider: Provider, message: &str) -> bool {
    provider == Provider::QuickBooks && (message.contains("Stale Object") || message.contains("5010"))
}
