//! Shopify Admin GraphQL API: customers and orders at `/admin/api/{version}/graphql.json`.
//!
//! Served below the Shopify base URL with `X-Shopify-Access-Token`. The
//! supported subset (anything else is a GraphQL error, as Shopify reports):
//! - `customers` and `orders` connections with `first` (at most 250),
//!   `after`, `query` (search syntax: `updated_at:>'...'`, `updated_at:>=`,
//!   `<`, `<=`, `created_at:...`, `email:...`, `id:>...`; other terms are
//!   ignored with a search warning), `sortKey` (ID, UPDATED_AT, CREATED_AT,
//!   PROCESSED_AT) and `reverse`; `pageInfo {hasNextPage endCursor ...}`,
//!   `nodes` and `edges {cursor node}`. Paging ends when
//!   `pageInfo.hasNextPage` is false.
//! - `customer(id:)`, `order(id:)`, `shop`.
//! - `customerUpdate(input: CustomerInput!)` and `orderUpdate(input:
//!   OrderInput!)` returning `userErrors`.
//! - The fields of [`FIELDS`]; the contract tests check each against the
//!   introspection schema of the API version.
//!
//! Every response carries `extensions.cost` (requested and actual cost and
//! the bucket's `throttleStatus`). An over-budget query gets HTTP 200 with a
//! `THROTTLED` error, as Shopify does; the `rate_limit_storm` fault gives a
//! 429 with `Retry-After` instead. Schema drift: `schema_drift_rename` makes
//! `Customer.email` silently null (as when Shopify moved the address to
//! `defaultEmailAddress`, a field 2025-01 clients cannot select);
//! `schema_drift_nest` makes `Order.totalTaxSet` null while `taxLines[]`
//! carries the tax.

use crate::business::{World, NONE};
use crate::faults::Hits;
use crate::graphql::{parse, Field, OperationKind};
use crate::ledger::ChurnEvent;
use crate::provider::{offset_id, offset_index, Provider, SHOPIFY_CUSTOMER_BASE, SHOPIFY_LINE_BASE, SHOPIFY_ORDER_BASE, SHOPIFY_REFUND_BASE};
use crate::record::{iso_ms, money, parse_time_ms, to_cents, DocRecord, PartyField, PartyRecord};
use crate::response::{json_response, refuse, Refusal};
use crate::state::{admit, finish, GateOptions, SandboxState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use base64::Engine;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The Admin API version the sandbox reports (others are served alike).
pub const API_VERSION: &str = "2025-01";
/// Largest page Shopify serves.
pub const MAX_PAGE: usize = 250;
/// Largest single-query cost Shopify accepts.
pub const MAX_QUERY_COST: f64 = 1_000.0;

/// (type, field, GraphQL type) for every field served.
pub const FIELDS: &[(&str, &str, &str)] = &[
    ("QueryRoot", "customers", "CustomerConnection!"),
    ("QueryRoot", "customer", "Customer"),
    ("QueryRoot", "orders", "OrderConnection!"),
    ("QueryRoot", "order", "Order"),
    ("QueryRoot", "shop", "Shop!"),
    ("Mutation", "customerUpdate", "CustomerUpdatePayload"),
    ("Mutation", "orderUpdate", "OrderUpdatePayload"),
    ("CustomerConnection", "edges", "[CustomerEdge!]!"),
    ("CustomerConnection", "nodes", "[Customer!]!"),
    ("CustomerConnection", "pageInfo", "PageInfo!"),
    ("CustomerEdge", "cursor", "String!"),
    ("CustomerEdge", "node", "Customer!"),
    ("OrderConnection", "edges", "[OrderEdge!]!"),
    ("OrderConnection", "nodes", "[Order!]!"),
    ("OrderConnection", "pageInfo", "PageInfo!"),
    ("OrderEdge", "cursor", "String!"),
    ("OrderEdge", "node", "Order!"),
    ("LineItemConnection", "nodes", "[LineItem!]!"),
    ("LineItemConnection", "edges", "[LineItemEdge!]!"),
    ("LineItemConnection", "pageInfo", "PageInfo!"),
    ("LineItemEdge", "cursor", "String!"),
    ("LineItemEdge", "node", "LineItem!"),
    ("PageInfo", "hasNextPage", "Boolean!"),
    ("PageInfo", "hasPreviousPage", "Boolean!"),
    ("PageInfo", "endCursor", "String"),
    ("PageInfo", "startCursor", "String"),
    ("Customer", "id", "ID!"),
    ("Customer", "legacyResourceId", "UnsignedInt64!"),
    ("Customer", "firstName", "String"),
    ("Customer", "lastName", "String"),
    ("Customer", "displayName", "String!"),
    ("Customer", "email", "String"),
    ("Customer", "phone", "String"),
    ("Customer", "note", "String"),
    ("Customer", "tags", "[String!]!"),
    ("Customer", "taxExempt", "Boolean!"),
    ("Customer", "state", "CustomerState!"),
    ("Customer", "verifiedEmail", "Boolean!"),
    ("Customer", "createdAt", "DateTime!"),
    ("Customer", "updatedAt", "DateTime!"),
    ("Customer", "numberOfOrders", "UnsignedInt64!"),
    ("Customer", "amountSpent", "MoneyV2!"),
    ("Customer", "defaultAddress", "MailingAddress"),
    ("Customer", "addresses", "[MailingAddress!]!"),
    ("MailingAddress", "id", "ID!"),
    ("MailingAddress", "firstName", "String"),
    ("MailingAddress", "lastName", "String"),
    ("MailingAddress", "name", "String"),
    ("MailingAddress", "company", "String"),
    ("MailingAddress", "address1", "String"),
    ("MailingAddress", "address2", "String"),
    ("MailingAddress", "city", "String"),
    ("MailingAddress", "province", "String"),
    ("MailingAddress", "provinceCode", "String"),
    ("MailingAddress", "country", "String"),
    ("MailingAddress", "countryCodeV2", "CountryCode"),
    ("MailingAddress", "zip", "String"),
    ("MailingAddress", "phone", "String"),
    ("Order", "id", "ID!"),
    ("Order", "legacyResourceId", "UnsignedInt64!"),
    ("Order", "name", "String!"),
    ("Order", "email", "String"),
    ("Order", "phone", "String"),
    ("Order", "note", "String"),
    ("Order", "tags", "[String!]!"),
    ("Order", "createdAt", "DateTime!"),
    ("Order", "updatedAt", "DateTime!"),
    ("Order", "processedAt", "DateTime!"),
    ("Order", "cancelledAt", "DateTime"),
    ("Order", "closed", "Boolean!"),
    ("Order", "currencyCode", "CurrencyCode!"),
    ("Order", "taxesIncluded", "Boolean!"),
    ("Order", "subtotalPriceSet", "MoneyBag"),
    ("Order", "totalTaxSet", "MoneyBag"),
    ("Order", "totalPriceSet", "MoneyBag!"),
    ("Order", "totalOutstandingSet", "MoneyBag!"),
    ("Order", "totalRefundedSet", "MoneyBag!"),
    ("Order", "currentTotalPriceSet", "MoneyBag!"),
    ("Order", "displayFinancialStatus", "OrderDisplayFinancialStatus"),
    ("Order", "displayFulfillmentStatus", "OrderDisplayFulfillmentStatus!"),
    ("Order", "fullyPaid", "Boolean!"),
    ("Order", "billingAddress", "MailingAddress"),
    ("Order", "shippingAddress", "MailingAddress"),
    ("Order", "customer", "Customer"),
    ("Order", "lineItems", "LineItemConnection!"),
    ("Order", "taxLines", "[TaxLine!]!"),
    ("Order", "refunds", "[Refund!]!"),
    ("LineItem", "id", "ID!"),
    ("LineItem", "title", "String!"),
    ("LineItem", "sku", "String"),
    ("LineItem", "quantity", "Int!"),
    ("LineItem", "taxable", "Boolean!"),
    ("LineItem", "originalUnitPriceSet", "MoneyBag!"),
    ("LineItem", "originalTotalSet", "MoneyBag!"),
    ("LineItem", "taxLines", "[TaxLine!]!"),
    ("TaxLine", "title", "String!"),
    ("TaxLine", "rate", "Float"),
    ("TaxLine", "ratePercentage", "Float"),
    ("TaxLine", "priceSet", "MoneyBag!"),
    ("Refund", "id", "ID!"),
    ("Refund", "createdAt", "DateTime"),
    ("Refund", "updatedAt", "DateTime!"),
    ("Refund", "legacyResourceId", "UnsignedInt64!"),
    ("Refund", "note", "String"),
    ("Refund", "totalRefundedSet", "MoneyBag!"),
    ("MoneyBag", "shopMoney", "MoneyV2!"),
    ("MoneyBag", "presentmentMoney", "MoneyV2!"),
    ("MoneyV2", "amount", "Decimal!"),
    ("MoneyV2", "currencyCode", "CurrencyCode!"),
    ("Shop", "name", "String!"),
    ("Shop", "myshopifyDomain", "String!"),
    ("Shop", "currencyCode", "CurrencyCode!"),
    ("Shop", "ianaTimezone", "String!"),
    ("Shop", "taxesIncluded", "Boolean!"),
    ("CustomerUpdatePayload", "customer", "Customer"),
    ("CustomerUpdatePayload", "userErrors", "[UserError!]!"),
    ("OrderUpdatePayload", "order", "Order"),
    ("OrderUpdatePayload", "userErrors", "[UserError!]!"),
    ("UserError", "field", "[String!]"),
    ("UserError", "message", "String!"),
];

/// The named type of a field (without list and non-null markers).
fn field_type(owner: &str, field: &str) -> Option<&'static str> {
    FIELDS.iter().find(|(t, f, _)| *t == owner && *f == field).map(|(_, _, ty)| ty.trim_matches(|c| c == '[' || c == ']' || c == '!'))
}

fn is_scalar(ty: &str) -> bool {
    !FIELDS.iter().any(|(t, _, _)| *t == ty)
}

/// A GraphQL error in Shopify's shape.
#[derive(Clone, Debug)]
struct GqlError {
    message: String,
    line: usize,
    column: usize,
    path: Vec<String>,
    code: Option<&'static str>,
}

impl GqlError {
    fn at(f: &Field, path: &[String], message: String, code: &'static str) -> Self {
        GqlError { message, line: f.line, column: f.column, path: path.to_vec(), code: Some(code) }
    }
    fn json(&self) -> Value {
        let mut v = json!({"message": self.message, "locations": [{"line": self.line, "column": self.column}]});
        if !self.path.is_empty() {
            v["path"] = json!(self.path);
        }
        if let Some(c) = self.code {
            v["extensions"] = json!({"code": c});
        }
        v
    }
}

/// Validates a selection against [`FIELDS`].
fn validate(owner: &str, sel: &[Field], path: &mut Vec<String>, errors: &mut Vec<GqlError>) {
    for f in sel {
        path.push(f.key().to_string());
        if f.name == "__typename" {
            path.pop();
            continue;
        }
        match field_type(owner, &f.name) {
            None => errors.push(GqlError::at(f, path, format!("Field '{}' doesn't exist on type '{}'", f.name, owner), "undefinedField")),
            Some(ty) if is_scalar(ty) && !f.selection.is_empty() => errors.push(GqlError::at(
                f,
                path,
                format!("Selections can't be made on scalars (field '{}' returns {} but has selections [{}])", f.name, ty, f.selection.iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(", ")),
                "selectionMismatch",
            )),
            Some(ty) if !is_scalar(ty) && f.selection.is_empty() => errors.push(GqlError::at(
                f,
                path,
                format!("Field must have selections (field '{}' returns {} but has no selections. Did you mean '{} {{ ... }}'?)", f.name, ty, f.name),
                "selectionMismatch",
            )),
            Some(ty) if !is_scalar(ty) => validate(ty, &f.selection, path, errors),
            _ => {}
        }
        path.pop();
    }
}

/// Requested cost: objects cost 1, connections 2 + first × their nodes, mutations 10.
fn cost(owner: &str, sel: &[Field]) -> f64 {
    let mut c = 0.0;
    for f in sel {
        let Some(ty) = field_type(owner, &f.name) else { continue };
        if is_scalar(ty) {
            continue;
        }
        if ty.ends_with("Connection") {
            let first = f.args.get("first").or(f.args.get("last")).and_then(Value::as_u64).unwrap_or(10) as f64;
            let inner: f64 = f
                .selection
                .iter()
                .map(|s| match s.name.as_str() {
                    "nodes" => 1.0 + cost(ty.trim_end_matches("Connection"), &s.selection),
                    "edges" => s.selection.iter().filter(|e| e.name == "node").map(|e| 1.0 + cost(ty.trim_end_matches("Connection"), &e.selection)).sum(),
                    _ => 0.0,
                })
                .fold(0.0, f64::max);
            c += 2.0 + first * inner;
        } else if owner == "Mutation" {
            c += 10.0 + cost(ty, &f.selection);
        } else {
            c += 1.0 + cost(ty, &f.selection);
        }
    }
    c
}

fn gid(kind: &str, n: u64) -> String {
    format!("gid://shopify/{kind}/{n}")
}

fn gid_index(kind: &str, base: u64, id: &str) -> Option<usize> {
    let rest = id.strip_prefix(&format!("gid://shopify/{kind}/")).unwrap_or(id);
    rest.parse::<u64>().ok().and_then(|n| offset_index(base, n)).map(|i| i as usize)
}

fn money_bag(amount: Decimal, sel: &[Field]) -> Value {
    let m = |f: &Field| -> Value {
        let mut o = Map::new();
        for s in &f.selection {
            let v = match s.name.as_str() {
                "amount" => json!(amount.round_dp(2).to_string()),
                "currencyCode" => json!("AUD"),
                "__typename" => json!("MoneyV2"),
                _ => Value::Null,
            };
            o.insert(s.key().to_string(), v);
        }
        Value::Object(o)
    };
    let mut o = Map::new();
    for f in sel {
        let v = match f.name.as_str() {
            "shopMoney" | "presentmentMoney" => m(f),
            "__typename" => json!("MoneyBag"),
            _ => Value::Null,
        };
        o.insert(f.key().to_string(), v);
    }
    Value::Object(o)
}

/// Per-request context.
struct Ctx<'a> {
    w: &'a World,
    hits: &'a Hits,
    /// Orders per customer and amount spent, built when first needed.
    spent: std::cell::OnceCell<Vec<(u64, i64)>>,
}

impl<'a> Ctx<'a> {
    fn spent(&self, c: usize) -> (u64, i64) {
        let table = self.spent.get_or_init(|| {
            let mut t = vec![(0u64, 0i64); self.w.shopify.customers.len()];
            for o in &self.w.shopify.orders {
                if let Some(x) = t.get_mut(o.customer as usize) {
                    x.0 += 1;
                    x.1 += o.paid_cents - o.refunded_cents;
                }
            }
            t
        });
        table.get(c).copied().unwrap_or((0, 0))
    }
}

fn address(r: &PartyRecord, id: String, sel: &[Field]) -> Value {
    let v = r.values();
    let state_name = |code: &str| match code {
        "QLD" => "Queensland",
        "NSW" => "New South Wales",
        "VIC" => "Victoria",
        "WA" => "Western Australia",
        "SA" => "South Australia",
        "TAS" => "Tasmania",
        "ACT" => "Australian Capital Territory",
        "NT" => "Northern Territory",
        _ => "",
    };
    let text = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
    let mut o = Map::new();
    for f in sel {
        let val = match f.name.as_str() {
            "id" => json!(id),
            "firstName" => text(v[PartyField::Given as usize]),
            "lastName" => text(v[PartyField::Family as usize]),
            "name" => json!(format!("{} {}", v[PartyField::Given as usize], v[PartyField::Family as usize]).trim()),
            "company" => text(v[PartyField::Company as usize]),
            "address1" => text(v[PartyField::Street as usize]),
            "address2" => Value::Null,
            "city" => text(v[PartyField::City as usize]),
            "province" => text(state_name(v[PartyField::State as usize])),
            "provinceCode" => text(v[PartyField::State as usize]),
            "country" => json!("Australia"),
            "countryCodeV2" => json!("AU"),
            "zip" => text(v[PartyField::Postcode as usize]),
            "phone" => text(v[PartyField::Phone as usize]),
            "__typename" => json!("MailingAddress"),
            _ => Value::Null,
        };
        o.insert(f.key().to_string(), val);
    }
    Value::Object(o)
}

fn extra_text(extra: &Option<Box<Map<String, Value>>>, key: &str) -> Option<Value> {
    extra.as_ref().and_then(|e| e.get(key)).cloned()
}

fn customer(ctx: &Ctx<'_>, i: usize, sel: &[Field]) -> Value {
    let r = &ctx.w.shopify.customers[i];
    let v = r.values();
    let n = offset_id(SHOPIFY_CUSTOMER_BASE, i as u32);
    let text = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
    let mut o = Map::new();
    for f in sel {
        let val = match f.name.as_str() {
            "id" => json!(gid("Customer", n)),
            "legacyResourceId" => json!(n.to_string()),
            "firstName" => text(v[PartyField::Given as usize]),
            "lastName" => text(v[PartyField::Family as usize]),
            "displayName" => json!(format!("{} {}", v[PartyField::Given as usize], v[PartyField::Family as usize]).trim()),
            "email" if ctx.hits.drift_rename => Value::Null,
            "email" => text(v[PartyField::Email as usize]),
            "phone" => text(v[PartyField::Phone as usize]),
            "note" => extra_text(&r.extra, "note").unwrap_or_else(|| text(v[PartyField::Note as usize])),
            "tags" => extra_text(&r.extra, "tags").unwrap_or_else(|| if v[PartyField::Company as usize].is_empty() { json!([]) } else { json!(["wholesale"]) }),
            "taxExempt" => extra_text(&r.extra, "taxExempt").unwrap_or(json!(false)),
            "state" => json!(if r.guest { "DISABLED" } else { "ENABLED" }),
            "verifiedEmail" => json!(!r.guest),
            "createdAt" => json!(iso_ms(r.created_ms)),
            "updatedAt" => json!(iso_ms(r.updated_ms)),
            "numberOfOrders" => json!(ctx.spent(i).0.to_string()),
            "amountSpent" => {
                let mut m = Map::new();
                for s in &f.selection {
                    m.insert(s.key().to_string(), match s.name.as_str() {
                        "amount" => json!(money(ctx.spent(i).1).to_string()),
                        "currencyCode" => json!("AUD"),
                        _ => json!("MoneyV2"),
                    });
                }
                Value::Object(m)
            }
            "defaultAddress" => address(r, gid("MailingAddress", n), &f.selection),
            "addresses" => json!([address(r, gid("MailingAddress", n), &f.selection)]),
            "__typename" => json!("Customer"),
            _ => Value::Null,
        };
        o.insert(f.key().to_string(), val);
    }
    Value::Object(o)
}

fn financial_status(d: &DocRecord, total: i64) -> &'static str {
    if d.refunded_cents >= total && total > 0 {
        "REFUNDED"
    } else if d.refunded_cents > 0 {
        "PARTIALLY_REFUNDED"
    } else if d.paid_cents >= total {
        "PAID"
    } else if d.paid_cents > 0 {
        "PARTIALLY_PAID"
    } else {
        "PENDING"
    }
}

fn order(ctx: &Ctx<'_>, i: usize, sel: &[Field], path: &mut Vec<String>, errors: &mut Vec<GqlError>) -> Value {
    let w = ctx.w;
    let d = &w.shopify.orders[i];
    let a = w.order_amounts(d);
    let total = to_cents(a.total);
    let n = offset_id(SHOPIFY_ORDER_BASE, i as u32);
    let cust = w.shopify.customers.get(d.customer as usize).filter(|_| d.customer != NONE);
    let mut o = Map::new();
    for f in sel {
        path.push(f.key().to_string());
        let val = match f.name.as_str() {
            "id" => json!(gid("Order", n)),
            "legacyResourceId" => json!(n.to_string()),
            "name" => json!(format!("#{}", d.number)),
            "email" => extra_text(&d.extra, "email").unwrap_or_else(|| cust.map(|c| json!(c.get(PartyField::Email))).unwrap_or(Value::Null)),
            "phone" => cust.map(|c| c.get(PartyField::Phone)).filter(|p| !p.is_empty()).map(|p| json!(p)).unwrap_or(Value::Null),
            "note" => extra_text(&d.extra, "note").unwrap_or(Value::Null),
            "tags" => extra_text(&d.extra, "tags").unwrap_or_else(|| json!(if d.treatment == crate::record::Treatment::Exclusive { vec!["wholesale"] } else { vec![] })),
            "createdAt" | "processedAt" => json!(iso_ms(d.created_ms)),
            "updatedAt" => json!(iso_ms(d.updated_ms)),
            "cancelledAt" => Value::Null,
            "closed" => json!(d.paid_cents >= total),
            "currencyCode" => json!("AUD"),
            "taxesIncluded" => json!(d.treatment == crate::record::Treatment::Inclusive),
            "subtotalPriceSet" => money_bag(if d.treatment == crate::record::Treatment::Inclusive { a.total } else { a.subtotal }, &f.selection),
            "totalTaxSet" if ctx.hits.drift_nest => Value::Null,
            "totalTaxSet" => money_bag(a.tax, &f.selection),
            "totalPriceSet" => money_bag(a.total, &f.selection),
            "currentTotalPriceSet" => money_bag(a.total - money(d.refunded_cents), &f.selection),
            "totalOutstandingSet" => money_bag(money((total - d.paid_cents).max(0)), &f.selection),
            "totalRefundedSet" => money_bag(money(d.refunded_cents), &f.selection),
            "displayFinancialStatus" => json!(financial_status(d, total)),
            "displayFulfillmentStatus" => json!(if d.created_ms < w.sales.last().map(|s| s.date_ms).unwrap_or(0) - 7 * 86_400_000 { "FULFILLED" } else { "UNFULFILLED" }),
            "fullyPaid" => json!(d.paid_cents >= total),
            "billingAddress" | "shippingAddress" => {
                if f.name == "shippingAddress" {
                    if let Some(s) = extra_text(&d.extra, "shippingAddress") {
                        path.pop();
                        o.insert(f.key().to_string(), s);
                        continue;
                    }
                }
                cust.map(|c| address(c, gid("MailingAddress", n), &f.selection)).unwrap_or(Value::Null)
            }
            "customer" => cust.map(|_| customer(ctx, d.customer as usize, &f.selection)).unwrap_or(Value::Null),
            "lineItems" => {
                let labels = w.line_labels(d);
                let first = f.args.get("first").and_then(Value::as_u64).unwrap_or(10) as usize;
                let after = f.args.get("after").and_then(Value::as_str).and_then(decode_cursor).map(|(_, id)| (id + 1) as usize).unwrap_or(0);
                let items: Vec<(usize, &crate::business::LineAmount)> = a.lines.iter().enumerate().skip(after).take(first).collect();
                let has_next = after + items.len() < a.lines.len();
                let node = |k: usize, l: &crate::business::LineAmount, s: &[Field]| -> Value {
                    let mut m = Map::new();
                    for x in s {
                        let val = match x.name.as_str() {
                            "id" => json!(gid("LineItem", SHOPIFY_LINE_BASE + i as u64 * 16 + k as u64)),
                            "title" => json!(labels.get(k).map(|l| l.0.clone()).unwrap_or_default()),
                            "sku" => json!(labels.get(k).map(|l| l.1.clone()).unwrap_or_default()),
                            "quantity" => json!(l.qty.trunc().to_string().parse::<i64>().unwrap_or(1)),
                            "taxable" => json!(l.taxable),
                            "originalUnitPriceSet" => money_bag(l.unit, &x.selection),
                            "originalTotalSet" => money_bag(l.amount, &x.selection),
                            "taxLines" => tax_lines(l.tax, l.taxable, &x.selection),
                            "__typename" => json!("LineItem"),
                            _ => Value::Null,
                        };
                        m.insert(x.key().to_string(), val);
                    }
                    Value::Object(m)
                };
                let mut conn = Map::new();
                for s in &f.selection {
                    let val = match s.name.as_str() {
                        "nodes" => Value::Array(items.iter().map(|(k, l)| node(*k, l, &s.selection)).collect()),
                        "edges" => Value::Array(
                            items
                                .iter()
                                .map(|(k, l)| {
                                    let mut e = Map::new();
                                    for x in &s.selection {
                                        e.insert(x.key().to_string(), match x.name.as_str() {
                                            "cursor" => json!(encode_cursor(&k.to_string(), *k as u64)),
                                            "node" => node(*k, l, &x.selection),
                                            _ => json!("LineItemEdge"),
                                        });
                                    }
                                    Value::Object(e)
                                })
                                .collect(),
                        ),
                        "pageInfo" => page_info(has_next, after > 0, items.first().map(|(k, _)| encode_cursor(&k.to_string(), *k as u64)), items.last().map(|(k, _)| encode_cursor(&k.to_string(), *k as u64)), &s.selection),
                        _ => json!("LineItemConnection"),
                    };
                    conn.insert(s.key().to_string(), val);
                }
                Value::Object(conn)
            }
            "taxLines" => tax_lines(a.tax, true, &f.selection),
            "refunds" => {
                let refunds: Vec<Value> = w
                    .shopify
                    .refunds
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.doc == i as u32 && !r.deleted)
                    .map(|(ri, r)| {
                        let mut m = Map::new();
                        for x in &f.selection {
                            m.insert(x.key().to_string(), match x.name.as_str() {
                                "id" => json!(gid("Refund", SHOPIFY_REFUND_BASE + ri as u64)),
                                "createdAt" => json!(iso_ms(r.created_ms)),
                                "updatedAt" => json!(iso_ms(r.updated_ms)),
                                "legacyResourceId" => json!((SHOPIFY_REFUND_BASE + ri as u64).to_string()),
                                "note" => json!("Customer return"),
                                "totalRefundedSet" => money_bag(money(r.amount_cents), &x.selection),
                                _ => json!("Refund"),
                            });
                        }
                        Value::Object(m)
                    })
                    .collect();
                Value::Array(refunds)
            }
            "__typename" => json!("Order"),
            _ => Value::Null,
        };
        o.insert(f.key().to_string(), val);
        path.pop();
    }
    let _ = errors;
    Value::Object(o)
}

fn tax_lines(tax: Decimal, taxable: bool, sel: &[Field]) -> Value {
    if !taxable || tax.is_zero() {
        return json!([]);
    }
    let mut m = Map::new();
    for f in sel {
        m.insert(f.key().to_string(), match f.name.as_str() {
            "title" => json!("GST"),
            "rate" => json!(0.1),
            "ratePercentage" => json!(10.0),
            "priceSet" => money_bag(tax, &f.selection),
            _ => json!("TaxLine"),
        });
    }
    json!([Value::Object(m)])
}

fn page_info(has_next: bool, has_prev: bool, start: Option<String>, end: Option<String>, sel: &[Field]) -> Value {
    let mut m = Map::new();
    for f in sel {
        m.insert(f.key().to_string(), match f.name.as_str() {
            "hasNextPage" => json!(has_next),
            "hasPreviousPage" => json!(has_prev),
            "startCursor" => json!(start),
            "endCursor" => json!(end),
            _ => json!("PageInfo"),
        });
    }
    Value::Object(m)
}

/// Shopify cursors are base64 JSON of the last sort value and id.
fn encode_cursor(last_value: &str, last_id: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(json!({"last_id": last_id, "last_value": last_value}).to_string())
}

fn decode_cursor(c: &str) -> Option<(String, u64)> {
    let raw = base64::engine::general_purpose::STANDARD.decode(c).ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    Some((v["last_value"].as_str().unwrap_or("").to_string(), v["last_id"].as_u64()?))
}

/// A search-syntax term.
#[derive(Debug, PartialEq)]
struct Term {
    field: String,
    op: &'static str,
    value: String,
}

fn parse_search(q: &str) -> (Vec<Term>, Vec<String>) {
    let mut terms = Vec::new();
    let mut warnings = Vec::new();
    let mut rest = q.trim();
    while !rest.is_empty() {
        let end = {
            let mut quote = None;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match (quote, c) {
                    (None, '\'' | '"') => quote = Some(c),
                    (Some(q), c) if c == q => quote = None,
                    (None, ' ') => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            end
        };
        let token = &rest[..end];
        rest = rest[end..].trim_start();
        if token.eq_ignore_ascii_case("AND") {
            continue;
        }
        let Some((field, v)) = token.split_once(':') else {
            warnings.push(format!("Free-text search term {token:?} is ignored by this sandbox"));
            continue;
        };
        let (op, v) = if let Some(v) = v.strip_prefix(">=") {
            (">=", v)
        } else if let Some(v) = v.strip_prefix("<=") {
            ("<=", v)
        } else if let Some(v) = v.strip_prefix('>') {
            (">", v)
        } else if let Some(v) = v.strip_prefix('<') {
            ("<", v)
        } else {
            ("=", v)
        };
        let value = v.trim_matches(|c| c == '\'' || c == '"').to_string();
        match field {
            "updated_at" | "created_at" | "processed_at" | "email" | "id" => terms.push(Term { field: field.to_string(), op, value }),
            "status" if value == "any" => {}
            other => warnings.push(format!("Invalid search field for this query: {other}")),
        }
    }
    (terms, warnings)
}

fn term_holds(t: &Term, updated: i64, created: i64, email: &str, id: u64) -> bool {
    use std::cmp::Ordering;
    let ord = match t.field.as_str() {
        "updated_at" => parse_time_ms(&t.value).map(|v| updated.cmp(&v)),
        "created_at" | "processed_at" => parse_time_ms(&t.value).map(|v| created.cmp(&v)),
        "id" => t.value.rsplit('/').next().and_then(|v| v.parse::<u64>().ok()).map(|v| id.cmp(&v)),
        "email" => Some(if email.eq_ignore_ascii_case(&t.value) { Ordering::Equal } else { Ordering::Less }),
        _ => None,
    };
    match (ord, t.op) {
        (None, _) => false,
        (Some(o), "=") => o == Ordering::Equal,
        (Some(o), ">") => o == Ordering::Greater,
        (Some(o), ">=") => o != Ordering::Less,
        (Some(o), "<") => o == Ordering::Less,
        (Some(o), "<=") => o != Ordering::Greater,
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Customers,
    Orders,
}

/// Runs a connection field: filter, sort, page.
fn connection(ctx: &Ctx<'_>, kind: Kind, f: &Field, path: &mut Vec<String>, errors: &mut Vec<GqlError>, warnings: &mut Vec<String>, actual: &mut f64) -> Value {
    let w = ctx.w;
    let first = f.args.get("first").and_then(Value::as_u64).map(|n| n as usize);
    let Some(first) = first else {
        errors.push(GqlError::at(f, path, "you must provide one of first or last".into(), "argumentLiteralsIncompatible"));
        return Value::Null;
    };
    if first > MAX_PAGE {
        errors.push(GqlError::at(f, path, format!("The first argument must be at most {MAX_PAGE}"), "argumentLiteralsIncompatible"));
        return Value::Null;
    }
    let (terms, warns) = parse_search(f.args.get("query").and_then(Value::as_str).unwrap_or(""));
    warnings.extend(warns);
    let sort = f.args.get("sortKey").and_then(Value::as_str).unwrap_or("ID").to_string();
    let reverse = f.args.get("reverse").and_then(Value::as_bool).unwrap_or(false);
    let len = match kind {
        Kind::Customers => w.shopify.customers.len(),
        Kind::Orders => w.shopify.orders.len(),
    };
    let meta = |i: usize| -> (i64, i64, String, u64) {
        match kind {
            Kind::Customers => {
                let c = &w.shopify.customers[i];
                (c.updated_ms, c.created_ms, c.get(PartyField::Email).to_string(), offset_id(SHOPIFY_CUSTOMER_BASE, i as u32))
            }
            Kind::Orders => {
                let o = &w.shopify.orders[i];
                let email = w.shopify.customers.get(o.customer as usize).map(|c| c.get(PartyField::Email).to_string()).unwrap_or_default();
                (o.updated_ms, o.created_ms, email, offset_id(SHOPIFY_ORDER_BASE, i as u32))
            }
        }
    };
    let key = |i: usize| -> (i64, u64) {
        let (u, c, _, id) = meta(i);
        match sort.as_str() {
            "UPDATED_AT" => (u, id),
            "CREATED_AT" | "PROCESSED_AT" => (c, id),
            _ => (id as i64, id),
        }
    };
    let archived = |i: usize| kind == Kind::Customers && w.shopify.customers[i].archived || kind == Kind::Orders && w.shopify.orders[i].has(crate::record::doc_flags::DELETED);
    let mut order: Vec<usize> = (0..len)
        .filter(|&i| !archived(i))
        .filter(|&i| {
            let (u, c, e, id) = meta(i);
            terms.iter().all(|t| term_holds(t, u, c, &e, id))
        })
        .collect();
    if sort != "ID" {
        order.sort_by_key(|&i| key(i));
    }
    if reverse {
        order.reverse();
    }
    let after = f.args.get("after").and_then(Value::as_str);
    let start = match after {
        None => 0,
        Some(c) => {
            if ctx.hits.cursor_expiry {
                errors.push(GqlError::at(f, path, "Invalid cursor for current pagination sort. The cursor has expired; restart the query without 'after'.".into(), "BAD_REQUEST"));
                return Value::Null;
            }
            let Some((v, id)) = decode_cursor(c) else {
                errors.push(GqlError::at(f, path, format!("Invalid cursor for current pagination sort: {c}"), "BAD_REQUEST"));
                return Value::Null;
            };
            let k: (i64, u64) = (v.parse().unwrap_or(id as i64), id);
            order.iter().position(|&i| if reverse { key(i) < k } else { key(i) > k }).unwrap_or(order.len())
        }
    };
    let page: Vec<usize> = order.iter().skip(start).take(first).copied().collect();
    let has_next = start + page.len() < order.len();
    *actual += 2.0 + page.len() as f64;
    let cursor = |i: usize| {
        let (v, id) = key(i);
        encode_cursor(&v.to_string(), id)
    };
    let node = |i: usize, sel: &[Field], path: &mut Vec<String>, errors: &mut Vec<GqlError>| match kind {
        Kind::Customers => customer(ctx, i, sel),
        Kind::Orders => order_node(ctx, i, sel, path, errors),
    };
    let mut out = Map::new();
    for s in &f.selection {
        path.push(s.key().to_string());
        let val = match s.name.as_str() {
            "nodes" => {
                let mut v: Vec<Value> = page.iter().map(|&i| node(i, &s.selection, path, errors)).collect();
                if ctx.hits.duplicate_delivery {
                    if let Some(x) = v.first().cloned() {
                        v.push(x);
                    }
                }
                Value::Array(v)
            }
            "edges" => {
                let mut v: Vec<Value> = page
                    .iter()
                    .map(|&i| {
                        let mut e = Map::new();
                        for x in &s.selection {
                            let val = match x.name.as_str() {
                                "cursor" => json!(cursor(i)),
                                "node" => node(i, &x.selection, path, errors),
                                _ => json!(if kind == Kind::Customers { "CustomerEdge" } else { "OrderEdge" }),
                            };
                            e.insert(x.key().to_string(), val);
                        }
                        Value::Object(e)
                    })
                    .collect();
                if ctx.hits.duplicate_delivery {
                    if let Some(x) = v.first().cloned() {
                        v.push(x);
                    }
                }
                Value::Array(v)
            }
            "pageInfo" => page_info(has_next, start > 0, page.first().map(|&i| cursor(i)), page.last().map(|&i| cursor(i)), &s.selection),
            _ => json!(if kind == Kind::Customers { "CustomerConnection" } else { "OrderConnection" }),
        };
        out.insert(s.key().to_string(), val);
        path.pop();
    }
    Value::Object(out)
}

fn order_node(ctx: &Ctx<'_>, i: usize, sel: &[Field], path: &mut Vec<String>, errors: &mut Vec<GqlError>) -> Value {
    order(ctx, i, sel, path, errors)
}

fn user_error(field: &[&str], message: &str, sel: &[Field]) -> Value {
    let mut m = Map::new();
    for f in sel {
        m.insert(f.key().to_string(), match f.name.as_str() {
            "field" => json!(field),
            "message" => json!(message),
            _ => json!("UserError"),
        });
    }
    Value::Object(m)
}

/// Applies a mutation; returns the payload and the written record id.
fn mutate(st: &SandboxState, f: &Field, hits: &Hits) -> (Value, Option<(&'static str, String)>) {
    let input = f.args.get("input").and_then(Value::as_object).cloned().unwrap_or_default();
    let id = input.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    let now = st.clock.now_ms();
    let sel_of = |name: &str| f.selection.iter().filter(|s| s.name == name).collect::<Vec<_>>();
    let errors_sel: Vec<Field> = sel_of("userErrors").first().map(|s| s.selection.clone()).unwrap_or_default();
    let payload = |record: Option<Value>, record_key: &str, errs: Vec<Value>| {
        let mut m = Map::new();
        for s in &f.selection {
            m.insert(s.key().to_string(), match s.name.as_str() {
                "userErrors" => Value::Array(errs.clone()),
                n if n == record_key => record.clone().unwrap_or(Value::Null),
                _ => Value::Null,
            });
        }
        Value::Object(m)
    };
    match f.name.as_str() {
        "customerUpdate" => {
            let mut w = st.write();
            let Some(i) = gid_index("Customer", SHOPIFY_CUSTOMER_BASE, &id).filter(|i| *i < w.shopify.customers.len()) else {
                return (payload(None, "customer", vec![user_error(&["id"], "Customer does not exist", &errors_sel)]), None);
            };
            if let Some(email) = input.get("email").and_then(Value::as_str) {
                if w.shopify.customers.iter().enumerate().any(|(j, c)| j != i && !c.archived && c.get(PartyField::Email).eq_ignore_ascii_case(email)) {
                    return (payload(None, "customer", vec![user_error(&["email"], "Email has already been taken", &errors_sel)]), None);
                }
            }
            let r = &mut w.shopify.customers[i];
            for (k, fld) in [("firstName", PartyField::Given), ("lastName", PartyField::Family), ("email", PartyField::Email), ("phone", PartyField::Phone), ("note", PartyField::Note)] {
                if let Some(v) = input.get(k) {
                    r.set(fld, v.as_str().unwrap_or(""));
                }
            }
            if let Some(addr) = input.get("addresses").and_then(Value::as_array).and_then(|a| a.first()) {
                for (k, fld) in [("address1", PartyField::Street), ("city", PartyField::City), ("provinceCode", PartyField::State), ("zip", PartyField::Postcode), ("company", PartyField::Company)] {
                    if let Some(v) = addr.get(k).and_then(Value::as_str) {
                        r.set(fld, v);
                    }
                }
            }
            for k in ["tags", "taxExempt"] {
                if let Some(v) = input.get(k) {
                    r.set_extra(k, v.clone());
                }
            }
            r.touch(now);
            drop(w);
            let w = st.read();
            let ctx = Ctx { w: &w, hits, spent: Default::default() };
            let sel = sel_of("customer").first().map(|s| s.selection.clone()).unwrap_or_default();
            let n = offset_id(SHOPIFY_CUSTOMER_BASE, i as u32);
            (payload(Some(customer(&ctx, i, &sel)), "customer", vec![]), Some(("customers", gid("Customer", n))))
        }
        "orderUpdate" => {
            let mut w = st.write();
            let Some(i) = gid_index("Order", SHOPIFY_ORDER_BASE, &id).filter(|i| *i < w.shopify.orders.len()) else {
                return (payload(None, "order", vec![user_error(&["id"], "Order does not exist", &errors_sel)]), None);
            };
            let d = &mut w.shopify.orders[i];
            for k in ["email", "note", "tags", "shippingAddress", "poNumber"] {
                if let Some(v) = input.get(k) {
                    d.set_extra(k, v.clone());
                }
            }
            d.touch(now);
            drop(w);
            let w = st.read();
            let ctx = Ctx { w: &w, hits, spent: Default::default() };
            let sel = sel_of("order").first().map(|s| s.selection.clone()).unwrap_or_default();
            let n = offset_id(SHOPIFY_ORDER_BASE, i as u32);
            let mut errors = Vec::new();
            (payload(Some(order(&ctx, i, &sel, &mut Vec::new(), &mut errors)), "order", vec![]), Some(("orders", gid("Order", n))))
        }
        _ => (Value::Null, None),
    }
}

/// The shifting-offsets fault for keyset paging: delete the record the
/// cursor points at and touch the one before, so updated_at traversals move.
fn churn(st: &SandboxState, sel: &[Field]) {
    let Some(f) = sel.iter().find(|f| (f.name == "customers" || f.name == "orders") && f.args.contains_key("after")) else {
        return;
    };
    let Some((_, id)) = f.args.get("after").and_then(Value::as_str).and_then(decode_cursor) else { return };
    let now = st.clock.now_ms();
    let kind = if f.name == "customers" { ("Customer", SHOPIFY_CUSTOMER_BASE) } else { ("Order", SHOPIFY_ORDER_BASE) };
    let Some(i) = offset_index(kind.1, id).map(|i| i as usize) else { return };
    let mut w = st.write();
    let mut events = Vec::new();
    if f.name == "customers" && i < w.shopify.customers.len() {
        w.shopify.customers[i].archived = true;
        w.shopify.customers[i].touch(now);
        events.push((i, "deleted"));
        if i > 0 {
            w.shopify.customers[i - 1].touch(now);
            events.push((i - 1, "updated"));
        }
    } else if f.name == "orders" && i < w.shopify.orders.len() {
        w.shopify.orders[i].flags |= crate::record::doc_flags::DELETED;
        w.shopify.orders[i].touch(now);
        events.push((i, "deleted"));
        if i > 0 {
            w.shopify.orders[i - 1].touch(now);
            events.push((i - 1, "updated"));
        }
    }
    drop(w);
    let mut l = st.ledger();
    for (i, action) in events {
        l.churned(ChurnEvent { provider: Provider::Shopify, object: if kind.0 == "Customer" { "customers" } else { "orders" }, id: gid(kind.0, offset_id(kind.1, i as u32)), action });
    }
}

fn cost_extension(st: &SandboxState, requested: f64, actual: Option<f64>, available: f64) -> Value {
    let c = &st.limits.lock().unwrap_or_else(|e| e.into_inner()).config;
    json!({"cost": {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": {"maximumAvailable": c.shopify_bucket, "currentlyAvailable": available.floor(), "restoreRate": c.shopify_restore_per_second * st.clock.scale()},
    }})
}

async fn graphql(State(st): State<Arc<SandboxState>>, Path(version): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let adm = match admit(&st, Provider::Shopify, &headers, GateOptions::default()).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let version_header = vec![("X-Shopify-API-Version".to_string(), version.clone())];
    let req: Value = serde_json::from_slice(&body).unwrap_or_else(|_| json!({"query": String::from_utf8_lossy(&body)}));
    let text = req.get("query").and_then(Value::as_str).unwrap_or("").to_string();
    let vars = req.get("variables").and_then(Value::as_object).cloned().unwrap_or_default();
    let op_name = req.get("operationName").and_then(Value::as_str).map(str::to_string);
    let op = match parse(&text, &vars, op_name.as_deref()) {
        Ok(op) => op,
        Err(e) => {
            let body = json!({"errors": [{"message": e.message, "locations": [{"line": e.line, "column": e.column}]}]});
            return finish(adm, json_response(StatusCode::OK, &body, &version_header)).await;
        }
    };
    let root = if op.kind == OperationKind::Mutation { "Mutation" } else { "QueryRoot" };
    let mut errors = Vec::new();
    validate(root, &op.selection, &mut Vec::new(), &mut errors);
    if !errors.is_empty() {
        let body = json!({"errors": errors.iter().map(GqlError::json).collect::<Vec<_>>()});
        return finish(adm, json_response(StatusCode::OK, &body, &version_header)).await;
    }
    let requested = cost(root, &op.selection).max(1.0);
    if requested > MAX_QUERY_COST {
        let body = json!({"errors": [{"message": format!("Query cost is {requested}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"), "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST}}]});
        return finish(adm, json_response(StatusCode::OK, &body, &version_header)).await;
    }
    let now = st.clock.now_ms();
    let taken = st.limits.lock().unwrap_or_else(|e| e.into_inner()).shopify(requested, now);
    let available = match taken {
        Ok(a) => a,
        Err(available) => {
            st.ledger().throttled(Provider::Shopify);
            let mut body = json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}]});
            body["extensions"] = cost_extension(&st, requested, None, available);
            return finish(adm, json_response(StatusCode::OK, &body, &version_header)).await;
        }
    };
    if adm.hits.shifting_offsets {
        churn(&st, &op.selection);
    }
    let mut data = Map::new();
    let mut warnings = Vec::new();
    let mut actual = 0.0;
    let mut written = Vec::new();
    if op.kind == OperationKind::Mutation {
        for f in &op.selection {
            let (v, w) = mutate(&st, f, &adm.hits);
            actual += 10.0;
            data.insert(f.key().to_string(), v);
            written.extend(w);
        }
        let mut l = st.ledger();
        for (object, id) in &written {
            l.write(now, Provider::Shopify, object, id, "update", None);
        }
    } else {
        let w = st.read();
        let ctx = Ctx { w: &w, hits: &adm.hits, spent: Default::default() };
        let mut path = Vec::new();
        for f in &op.selection {
            path.push(f.key().to_string());
            let v = match f.name.as_str() {
                "customers" => connection(&ctx, Kind::Customers, f, &mut path, &mut errors, &mut warnings, &mut actual),
                "orders" => connection(&ctx, Kind::Orders, f, &mut path, &mut errors, &mut warnings, &mut actual),
                "customer" => {
                    actual += 1.0;
                    let id = f.args.get("id").and_then(Value::as_str).unwrap_or("");
                    match gid_index("Customer", SHOPIFY_CUSTOMER_BASE, id).filter(|i| *i < w.shopify.customers.len() && !w.shopify.customers[*i].archived) {
                        Some(i) => customer(&ctx, i, &f.selection),
                        None => Value::Null,
                    }
                }
                "order" => {
                    actual += 1.0;
                    let id = f.args.get("id").and_then(Value::as_str).unwrap_or("");
                    match gid_index("Order", SHOPIFY_ORDER_BASE, id).filter(|i| *i < w.shopify.orders.len()) {
                        Some(i) => order(&ctx, i, &f.selection, &mut path, &mut errors),
                        None => Value::Null,
                    }
                }
                "shop" => {
                    let mut m = Map::new();
                    for s in &f.selection {
                        m.insert(s.key().to_string(), match s.name.as_str() {
                            "name" => json!("Harbour & Hearth"),
                            "myshopifyDomain" => json!(crate::business::SHOP_DOMAIN),
                            "currencyCode" => json!("AUD"),
                            "ianaTimezone" => json!("Australia/Brisbane"),
                            "taxesIncluded" => json!(true),
                            _ => json!("Shop"),
                        });
                    }
                    Value::Object(m)
                }
                _ => Value::Null,
            };
            data.insert(f.key().to_string(), v);
            path.pop();
        }
    }
    let actual = actual.min(requested).max(1.0);
    st.limits.lock().unwrap_or_else(|e| e.into_inner()).shopify_refund(requested - actual);
    let mut body = json!({"data": Value::Object(data)});
    if !errors.is_empty() {
        body["errors"] = Value::Array(errors.iter().map(GqlError::json).collect());
    }
    let mut ext = cost_extension(&st, requested, Some(actual), available + (requested - actual));
    if !warnings.is_empty() {
        ext["search"] = json!(warnings.iter().map(|w| json!({"path": [], "query": "", "warnings": [{"field": "query", "message": w}]})).collect::<Vec<_>>());
    }
    body["extensions"] = ext;
    finish(adm, json_response(StatusCode::OK, &body, &version_header)).await
}

/// Shopify's API routes, relative to its base URL.
pub fn routes() -> Router<Arc<SandboxState>> {
    Router::new().route("/admin/api/{version}/graphql.json", post(graphql)).route(
        "/admin/api/{version}/{rest}",
        axum::routing::any(|| async { refuse(Provider::Shopify, &Refusal::NotFound) }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_syntax() {
        let (terms, warnings) = parse_search("updated_at:>'2024-01-01T00:00:00Z' AND status:any foo:bar");
        assert_eq!(terms, vec![Term { field: "updated_at".into(), op: ">", value: "2024-01-01T00:00:00Z".into() }], "the updated_at filter is read");
        assert_eq!(warnings.len(), 1, "an unknown field is warned about, not failed");
        let t = &terms[0];
        let at = parse_time_ms("2024-01-01T00:00:00Z").unwrap();
        assert!(term_holds(t, at + 1, 0, "", 0), "a later update matches updated_at:>");
        assert!(!term_holds(t, at, 0, "", 0), "the boundary itself does not match a strict >");
    }

    #[test]
    fn cursors_round_trip() {
        let c = encode_cursor("1700000000000", 42);
        assert_eq!(decode_cursor(&c), Some(("1700000000000".into(), 42)), "a cursor must decode to what it encoded");
        assert_eq!(decode_cursor("not base64!"), None, "garbage is not a cursor");
    }

    #[test]
    fn costs() {
        let op = parse("{ customers(first: 100) { nodes { id defaultAddress { city } } pageInfo { hasNextPage } } }", &Map::new(), None).unwrap();
        assert_eq!(cost("QueryRoot", &op.selection), 2.0 + 100.0 * 2.0, "a connection costs 2 plus first times its node cost");
    }
}
