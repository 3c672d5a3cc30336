//! Shopify Admin GraphQL: customers and orders.
//!
//! Each page is a GraphQL query of the `customers` or `orders` connection
//! with `query: "updated_at:>='<bookmark>'"`, `sortKey: UPDATED_AT`, `first`
//! and `after`; paging ends when `pageInfo.hasNextPage` is false. Pacing
//! follows the cost bucket reported in `extensions.cost.throttleStatus`; a
//! `THROTTLED` error in a 200 waits for the bucket to refill.
//!
//! Orders come with their line items (`lineItems(first: 5)`, a connection) and
//! their refunds (`refunds`, a plain list the API serves whole). An order with
//! more lines than the first page says so in `lineItems.pageInfo`; the engine
//! then reads the rest through `order(id:) { lineItems(after:) }` and splices
//! it into the order before storing it, so no order is stored with lines cut off.

use crate::error::SyncError;
use crate::spec::*;
use concord_core::Provider;
use reqwest::Method;
use serde_json::{json, Value};

/// The Admin API version in use.
pub const API_VERSION: &str = "2025-01";

const MONEY: &str = "{ shopMoney { amount currencyCode } }";

const CUSTOMER_FIELDS: &[Field] = &[
    optional("given_name", &["firstName"], Ty::Text),
    optional("family_name", &["lastName"], Ty::Text),
    always("email", &["email", "defaultEmailAddress.emailAddress"], Ty::Text),
    optional("phone", &["phone"], Ty::Text),
    optional("company", &["defaultAddress.company"], Ty::Text),
    optional("street", &["defaultAddress.address1"], Ty::Text),
    optional("city", &["defaultAddress.city"], Ty::Text),
    optional("state", &["defaultAddress.provinceCode"], Ty::Text),
    optional("postcode", &["defaultAddress.zip"], Ty::Text),
    optional("tax_exempt", &["taxExempt"], Ty::Bool),
    optional("note", &["note"], Ty::Text),
];
const CUSTOMER_KNOWN: &[&str] = &["defaultEmailAddress", "defaultAddress", "state", "createdAt", "displayName"];
const CUSTOMER_SELECTION: &str = "id firstName lastName displayName email phone note taxExempt state createdAt updatedAt defaultAddress { company address1 city provinceCode zip }";

const ORDER_FIELDS: &[Field] = &[
    always("number", &["name"], Ty::Text),
    optional("email", &["email"], Ty::Text),
    optional("customer_id", &["customer.id"], Ty::Text),
    always("date", &["createdAt"], Ty::Text),
    optional("cancelled_at", &["cancelledAt"], Ty::Text),
    always("currency", &["currencyCode"], Ty::Text),
    always("taxes_included", &["taxesIncluded"], Ty::Bool),
    always("subtotal", &["subtotalPriceSet.shopMoney.amount"], Ty::Number),
    always("total_tax", &["totalTaxSet.shopMoney.amount", "taxLines[*].priceSet.shopMoney.amount"], Ty::Number),
    always("total", &["totalPriceSet.shopMoney.amount"], Ty::Number),
    always("outstanding", &["totalOutstandingSet.shopMoney.amount"], Ty::Number),
    optional("financial_status", &["displayFinancialStatus"], Ty::Text),
];
const ORDER_KNOWN: &[&str] = &["customer", "subtotalPriceSet", "totalTaxSet", "totalPriceSet", "totalOutstandingSet", "taxLines", "lineItems", "refunds"];

/// Line items asked for with each order; more are read by a follow-up query.
pub const LINE_PAGE: usize = 5;
/// Line items asked for per follow-up query (cost 3 + 8 per line).
pub const LINE_FOLLOW_UP_PAGE: usize = 50;
/// What a line item is read with.
const LINE_SELECTION: &str = "id title sku quantity originalUnitPriceSet { shopMoney { amount currencyCode } } originalTotalSet { shopMoney { amount currencyCode } } taxLines { title rate priceSet { shopMoney { amount currencyCode } } }";
/// What a refund is read with.
const REFUND_SELECTION: &str = "id createdAt updatedAt note totalRefundedSet { shopMoney { amount currencyCode } }";

/// The streams.
pub const STREAMS: &[StreamSpec] = &[
    StreamSpec {
        name: "customers",
        resource: "customers",
        kind: Kind::Party,
        records_at: "data.customers.nodes",
        id_at: "id",
        updated_at: "updatedAt",
        state: ACTIVE,
        fields: CUSTOMER_FIELDS,
        known: CUSTOMER_KNOWN,
        sweep: None,
        sweep_records_at: "",
        max_page: 250,
    },
    StreamSpec {
        name: "orders",
        resource: "orders",
        kind: Kind::SalesDocument,
        records_at: "data.orders.nodes",
        id_at: "id",
        updated_at: "updatedAt",
        state: ACTIVE,
        fields: ORDER_FIELDS,
        known: ORDER_KNOWN,
        sweep: None,
        sweep_records_at: "",
        // Each order costs 58 points (13 for the order and its amounts, 2 + 5 x 8
        // for five lines, 3 for its refunds); a query may cost at most 1,000:
        // 2 + 17 x 58 = 988.
        max_page: 17,
    },
];

/// Shopify's declarations.
pub static SPEC: ProviderSpec = ProviderSpec {
    provider: Provider::Shopify,
    auth: Auth::Header("X-Shopify-Access-Token"),
    quota: Quota { windows: &[], concurrency: 4, remaining_header: None, cost_bucket: Some((2000.0, 100.0)) },
    page_size: 250,
    streams: STREAMS,
    request,
    signal,
    sweep_request: None,
    clock_at: None,
    total_at: None,
    body_error,
    follow_up: Some(FollowUp { request: rest_of_lines, splice: splice_lines }),
};

fn selection(s: &StreamSpec) -> String {
    if s.resource == "customers" {
        CUSTOMER_SELECTION.to_string()
    } else {
        format!(
            "id name email createdAt updatedAt cancelledAt currencyCode taxesIncluded displayFinancialStatus customer {{ id }} \
             subtotalPriceSet {MONEY} totalTaxSet {MONEY} totalPriceSet {MONEY} totalOutstandingSet {MONEY} \
             taxLines {{ title rate priceSet {MONEY} }} \
             lineItems(first: {LINE_PAGE}) {{ nodes {{ {LINE_SELECTION} }} pageInfo {{ hasNextPage endCursor }} }} \
             refunds {{ {REFUND_SELECTION} }}"
        )
    }
}

fn request(_t: &Tenant, s: &StreamSpec, p: &Position, n: usize) -> Result<PageRequest, SyncError> {
    let query = format!(
        "query Page($first: Int!, $after: String, $q: String) {{ {}(first: $first, after: $after, query: $q, sortKey: UPDATED_AT) {{ nodes {{ {} }} pageInfo {{ hasNextPage endCursor }} }} }}",
        s.resource,
        selection(s)
    );
    let q = p.since.as_ref().map(|since| format!("updated_at:>='{since}'"));
    let body = json!({"query": query, "variables": {"first": n.min(s.max_page), "after": p.cursor, "q": q}});
    Ok(PageRequest { method: Method::POST, path: format!("/admin/api/{API_VERSION}/graphql.json"), headers: vec![], body: Some(body) })
}

/// The follow-up query for the rest of an order's line items, when its page says more follow.
fn rest_of_lines(_t: &Tenant, _s: &StreamSpec, order: &Value) -> Option<PageRequest> {
    if lookup(order, "lineItems.pageInfo.hasNextPage").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let id = text_at(order, "id")?;
    let after = text_at(order, "lineItems.pageInfo.endCursor");
    let query = format!(
        "query OrderLines($id: ID!, $after: String) {{ order(id: $id) {{ lineItems(first: {LINE_FOLLOW_UP_PAGE}, after: $after) {{ nodes {{ {LINE_SELECTION} }} pageInfo {{ hasNextPage endCursor }} }} }} }}"
    );
    let body = json!({"query": query, "variables": {"id": id, "after": after}});
    Some(PageRequest { method: Method::POST, path: format!("/admin/api/{API_VERSION}/graphql.json"), headers: vec![], body: Some(body) })
}

/// Appends a follow-up page of line items to its order and takes over its `pageInfo`.
fn splice_lines(order: &mut Value, answer: &Value) -> Result<(), String> {
    let id = text_at(order, "id").unwrap_or_default();
    let Some(part) = lookup(answer, "data.order.lineItems") else {
        return Err(format!("Shopify did not serve the rest of order {id}'s line items (the order may have been deleted meanwhile)"));
    };
    let nodes = part.get("nodes").and_then(Value::as_array).cloned().unwrap_or_default();
    let info = part.get("pageInfo").cloned().unwrap_or(Value::Null);
    let more = info.get("hasNextPage").and_then(Value::as_bool).unwrap_or(false);
    if nodes.is_empty() && more {
        return Err(format!("Shopify said order {id} has more line items but served none"));
    }
    let Some(lines) = order.get_mut("lineItems").and_then(Value::as_object_mut) else {
        return Err(format!("order {id} has no lineItems to continue"));
    };
    match lines.get_mut("nodes").and_then(Value::as_array_mut) {
        Some(have) => have.extend(nodes),
        None => {
            lines.insert("nodes".into(), Value::Array(nodes));
        }
    }
    lines.insert("pageInfo".into(), info);
    Ok(())
}

fn signal(s: &StreamSpec, body: &Value, _p: &Position, _n: usize, _len: usize) -> Signal {
    let info = format!("data.{}.pageInfo", s.resource);
    let more = lookup(body, &format!("{info}.hasNextPage")).and_then(Value::as_bool).unwrap_or(false);
    if more {
        Signal::More(text_at(body, &format!("{info}.endCursor")))
    } else {
        Signal::Done
    }
}

fn body_error(_status: u16, body: &Value) -> Option<BodyError> {
    let errors = body.get("errors")?.as_array()?;
    let first = errors.first()?;
    let code = text_at(first, "extensions.code").unwrap_or_default();
    let message = text_at(first, "message").unwrap_or_default();
    if code == "THROTTLED" {
        let requested = lookup(body, "extensions.cost.requestedQueryCost").and_then(Value::as_f64).unwrap_or(100.0);
        let available = lookup(body, "extensions.cost.throttleStatus.currentlyAvailable").and_then(Value::as_f64).unwrap_or(0.0);
        let restore = lookup(body, "extensions.cost.throttleStatus.restoreRate").and_then(Value::as_f64).unwrap_or(100.0).max(1.0);
        return Some(BodyError::Throttled(((requested - available) / restore).max(0.05)));
    }
    if message.contains("cursor") && message.contains("expired") {
        return Some(BodyError::CursorExpired);
    }
    Some(BodyError::Rejected(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rest_of_an_orders_lines_is_asked_for_and_appended() {
        let mut order = json!({"id": "gid://shopify/Order/1", "lineItems": {"nodes": [{"id": "a"}], "pageInfo": {"hasNextPage": true, "endCursor": "c1"}}});
        let req = rest_of_lines(&Tenant::default(), &STREAMS[1], &order).expect("a cut-off list must be followed up");
        let body = req.body.expect("a GraphQL query has a body");
        assert_eq!(body["variables"], json!({"id": "gid://shopify/Order/1", "after": "c1"}), "the follow-up continues after the page's end cursor");
        assert!(body["query"].as_str().unwrap().contains("order(id: $id)"), "the follow-up reads the one order by id");
        splice_lines(&mut order, &json!({"data": {"order": {"lineItems": {"nodes": [{"id": "b"}], "pageInfo": {"hasNextPage": false, "endCursor": "c2"}}}}})).unwrap();
        assert_eq!(order["lineItems"]["nodes"], json!([{"id": "a"}, {"id": "b"}]), "the answer's lines follow the first page's");
        assert!(rest_of_lines(&Tenant::default(), &STREAMS[1], &order).is_none(), "a completed list needs no further query");
        let mut stuck = json!({"id": "gid://shopify/Order/2", "lineItems": {"nodes": [], "pageInfo": {"hasNextPage": true, "endCursor": "c"}}});
        let err = splice_lines(&mut stuck, &json!({"data": {"order": {"lineItems": {"nodes": [], "pageInfo": {"hasNextPage": true}}}}})).unwrap_err();
        assert!(err.contains("served none"), "an answer that does not advance must stop the stream, not loop: {err}");
        let err = splice_lines(&mut stuck, &json!({"data": {"order": null}})).unwrap_err();
        assert!(err.contains("did not serve"), "a vanished order must be reported: {err}");
    }
}
