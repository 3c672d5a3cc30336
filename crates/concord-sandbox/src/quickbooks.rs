//! QuickBooks Online Accounting API v3: query, CDC and sparse writes under
//! `/v3/company/{realmId}`.
//!
//! Served below the QuickBooks base URL (Bearer token; the realm in the path
//! must be the sandbox company's):
//! - `GET /v3/company/{realmId}/query?query=...` (or `POST` with the query as
//!   the body). The supported subset of Intuit's query language is
//!   `SELECT * | COUNT(*) FROM Customer|Invoice|Payment|CreditMemo
//!   [WHERE field op value [AND ...]] [ORDERBY field [ASC|DESC]]
//!   [STARTPOSITION n] [MAXRESULTS m]` with ops `= != < <= > >= IN LIKE`;
//!   fields are JSON paths such as `MetaData.LastUpdatedTime`, `Id`,
//!   `Active`, `DisplayName`, `CustomerRef`, `DocNumber`, `TxnDate`. `OR` is
//!   refused as Intuit refuses it. MAXRESULTS is at most 1,000 (default 100).
//!   Inactive customers are left out unless the query filters on `Active`.
//!   The response is `{"QueryResponse": {"Customer": [...], "startPosition",
//!   "maxResults"}, "time"}`; paging ends on a page shorter than MAXRESULTS
//!   (an empty page has no entity key at all).
//! - `GET /v3/company/{realmId}/cdc?entities=Customer,Invoice&changedSince=`:
//!   changes of the last 30 days, at most 1,000 objects, deleted ones as
//!   `{"Id", "status": "Deleted", "MetaData"}`.
//! - `GET /v3/company/{realmId}/{entity}/{id}` and `POST
//!   /v3/company/{realmId}/{entity}` to create, or to update with `Id` and
//!   `SyncToken` (`"sparse": true` changes only the fields sent; a full
//!   update clears the optional fields left out). A stale SyncToken is
//!   refused with the Stale Object Error (code 5010). `?requestid=` (at most
//!   50 characters) makes a write replayable: a repeat returns the original
//!   response and applies nothing. In a sparse invoice update a `Line` array
//!   replaces all lines.
//!
//! Times are in the company's zone (Brisbane, +10:00). Schema drift:
//! `schema_drift_rename` serves Invoice `Balance` as `OutstandingBalance`;
//! `schema_drift_nest` drops `TxnTaxDetail.TotalTax`, leaving the tax only in
//! the `TxnTaxDetail.TaxLine[]` array.

use crate::business::{set_client_lines, ClientLine, World, NONE};
use crate::faults::Hits;
use crate::ledger::ChurnEvent;
use crate::provider::Provider;
use crate::record::{
    decimal_of, doc_flags, json_number, money, overlay, parse_time_ms, to_cents, DocRecord, PartyField, PartyRecord, PaymentRecord,
    Treatment,
};
use crate::response::{json_bytes_response, json_response, qbo_time, qbo_validation, refuse, Refusal};
use crate::state::{admit, finish, GateOptions, SandboxState};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The code of Intuit's Stale Object Error (FACTS.md cites 2030 from a
/// second-hand source; Intuit's error list names 5010 for a stale SyncToken).
pub const STALE_OBJECT_CODE: &str = "5010";
const CDC_MAX: usize = 1_000;
const CDC_WINDOW_MS: i64 = 30 * 86_400_000;

/// The entities served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    Customer,
    Invoice,
    Payment,
    CreditMemo,
}

impl Entity {
    pub fn parse(s: &str) -> Option<Entity> {
        match s.to_ascii_lowercase().as_str() {
            "customer" => Some(Entity::Customer),
            "invoice" => Some(Entity::Invoice),
            "payment" => Some(Entity::Payment),
            "creditmemo" => Some(Entity::CreditMemo),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Entity::Customer => "Customer",
            Entity::Invoice => "Invoice",
            Entity::Payment => "Payment",
            Entity::CreditMemo => "CreditMemo",
        }
    }
    fn ledger_name(self) -> &'static str {
        match self {
            Entity::Customer => "customers",
            Entity::Invoice => "invoices",
            Entity::Payment => "payments",
            Entity::CreditMemo => "credit_memos",
        }
    }
    fn len(self, w: &World) -> usize {
        match self {
            Entity::Customer => w.quickbooks.contacts.len(),
            Entity::Invoice => w.quickbooks.invoices.len(),
            Entity::Payment => w.quickbooks.payments.len(),
            Entity::CreditMemo => w.quickbooks.credit_notes.len(),
        }
    }
    fn updated(self, w: &World, i: usize) -> i64 {
        match self {
            Entity::Customer => w.quickbooks.contacts[i].updated_ms,
            Entity::Invoice => w.quickbooks.invoices[i].updated_ms,
            Entity::Payment => w.quickbooks.payments[i].updated_ms,
            Entity::CreditMemo => w.quickbooks.credit_notes[i].updated_ms,
        }
    }
    fn deleted(self, w: &World, i: usize) -> bool {
        match self {
            Entity::Customer => false,
            Entity::Invoice => w.quickbooks.invoices[i].has(doc_flags::DELETED),
            Entity::Payment => w.quickbooks.payments[i].deleted,
            Entity::CreditMemo => w.quickbooks.credit_notes[i].deleted,
        }
    }
}

fn id_of(i: usize) -> String {
    (i + 1).to_string()
}

fn index_of(e: Entity, w: &World, id: &str) -> Option<usize> {
    let n: usize = id.trim().parse().ok()?;
    (n >= 1 && n <= e.len(w)).then(|| n - 1)
}

fn time(ms: i64) -> String {
    qbo_time(DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default())
}

fn meta(created: i64, updated: i64) -> Value {
    json!({"CreateTime": time(created), "LastUpdatedTime": time(updated)})
}

fn aud() -> Value {
    json!({"value": "AUD", "name": "Australian Dollar"})
}

fn customer_name(r: &PartyRecord) -> String {
    r.extra.as_ref().and_then(|e| e.get("DisplayName")).and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| r.display_name())
}

fn customer_ref(w: &World, c: u32) -> Value {
    match w.quickbooks.contacts.get(c as usize) {
        Some(r) if c != NONE => json!({"value": id_of(c as usize), "name": customer_name(r)}),
        _ => json!({"value": ""}),
    }
}

/// Per-customer open balances, in cents.
pub fn balances(w: &World) -> Vec<i64> {
    let mut b = vec![0i64; w.quickbooks.contacts.len()];
    for d in &w.quickbooks.invoices {
        if d.customer != NONE && !d.has(doc_flags::DELETED) && !d.has(doc_flags::VOIDED) {
            let total = to_cents(w.invoice_amounts(d).total);
            if let Some(x) = b.get_mut(d.customer as usize) {
                *x += (total - d.paid_cents - d.refunded_cents).max(0);
            }
        }
    }
    b
}

/// One customer's open balance, in cents: [`balances`] for a single customer,
/// without totalling every other customer's invoices (single-record reads and writes).
pub fn balance_of(w: &World, c: usize) -> i64 {
    w.quickbooks
        .invoices
        .iter()
        .filter(|d| d.customer as usize == c && d.customer != NONE && !d.has(doc_flags::DELETED) && !d.has(doc_flags::VOIDED))
        .map(|d| (to_cents(w.invoice_amounts(d).total) - d.paid_cents - d.refunded_cents).max(0))
        .sum()
}

/// A customer as QuickBooks serves it.
pub fn render_customer(w: &World, i: usize, balance_cents: i64) -> Value {
    let r = &w.quickbooks.contacts[i];
    let v = r.values();
    let name = customer_name(r);
    let mut o = Map::new();
    o.insert("Id".into(), json!(id_of(i)));
    o.insert("SyncToken".into(), json!(r.version.to_string()));
    o.insert("domain".into(), json!("QBO"));
    o.insert("sparse".into(), json!(false));
    o.insert("Active".into(), json!(!r.archived));
    o.insert("MetaData".into(), meta(r.created_ms, r.updated_ms));
    o.insert("GivenName".into(), json!(v[PartyField::Given as usize]));
    o.insert("FamilyName".into(), json!(v[PartyField::Family as usize]));
    if !v[PartyField::Company as usize].is_empty() {
        o.insert("CompanyName".into(), json!(v[PartyField::Company as usize]));
    }
    o.insert("DisplayName".into(), json!(name));
    o.insert("FullyQualifiedName".into(), json!(name));
    o.insert("PrintOnCheckName".into(), json!(name));
    if !v[PartyField::Email as usize].is_empty() {
        o.insert("PrimaryEmailAddr".into(), json!({"Address": v[PartyField::Email as usize]}));
    }
    if !v[PartyField::Phone as usize].is_empty() {
        o.insert("PrimaryPhone".into(), json!({"FreeFormNumber": v[PartyField::Phone as usize]}));
    }
    o.insert(
        "BillAddr".into(),
        json!({"Id": id_of(i), "Line1": v[PartyField::Street as usize], "City": v[PartyField::City as usize],
               "CountrySubDivisionCode": v[PartyField::State as usize], "PostalCode": v[PartyField::Postcode as usize], "Country": "Australia"}),
    );
    if !v[PartyField::Abn as usize].is_empty() {
        o.insert("BusinessNumber".into(), json!(v[PartyField::Abn as usize]));
    }
    o.insert("Balance".into(), json_number(money(balance_cents)));
    o.insert("BalanceWithJobs".into(), json_number(money(balance_cents)));
    o.insert("CurrencyRef".into(), aud());
    o.insert("PreferredDeliveryMethod".into(), json!("Email"));
    o.insert("Taxable".into(), json!(true));
    o.insert("Job".into(), json!(false));
    o.insert("BillWithParent".into(), json!(false));
    overlay(&mut o, &r.extra);
    Value::Object(o)
}

fn tax_lines(tax: Decimal, net_taxable: Decimal) -> Value {
    json!([{"Amount": json_number(tax), "DetailType": "TaxLineDetail",
            "TaxLineDetail": {"TaxRateRef": {"value": "GST"}, "PercentBased": true, "TaxPercent": 10, "NetAmountTaxable": json_number(net_taxable)}}])
}

/// An invoice as QuickBooks serves it.
pub fn render_invoice(w: &World, i: usize, hits: &Hits) -> Value {
    let d = &w.quickbooks.invoices[i];
    let a = w.invoice_amounts(d);
    let labels = w.line_labels(d);
    let mut lines = Vec::new();
    let mut net_taxable = Decimal::ZERO;
    for (n, l) in a.lines.iter().enumerate() {
        let (desc, code) = labels.get(n).cloned().unwrap_or_default();
        let ex = match d.treatment {
            Treatment::Inclusive => l.amount - l.tax,
            Treatment::Exclusive => l.amount,
        };
        if l.taxable {
            net_taxable += ex;
        }
        let unit_ex = if l.qty.is_zero() { ex } else { (ex / l.qty).round_dp(6) };
        let mut detail = json!({"ItemRef": {"value": code, "name": desc}, "UnitPrice": json_number(unit_ex), "Qty": json_number(l.qty),
                                "TaxCodeRef": {"value": if l.taxable { "GST" } else { "FRE" }}});
        if d.treatment == Treatment::Inclusive {
            detail["TaxInclusiveAmt"] = json_number(l.amount);
        }
        lines.push(json!({"Id": (n + 1).to_string(), "LineNum": n + 1, "Description": desc, "Amount": json_number(ex),
                          "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": detail}));
    }
    lines.push(json!({"Amount": json_number(a.subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}));
    let total = to_cents(a.total);
    let balance = money((total - d.paid_cents - d.refunded_cents).max(0));
    let mut tax = json!({"TxnTaxCodeRef": {"value": "GST"}, "TotalTax": json_number(a.tax), "TaxLine": tax_lines(a.tax, net_taxable)});
    if hits.drift_nest {
        tax.as_object_mut().expect("object").remove("TotalTax");
    }
    let linked: Vec<Value> = w
        .quickbooks
        .payments
        .iter()
        .enumerate()
        .filter(|(_, p)| p.doc == i as u32 && !p.deleted)
        .map(|(pi, _)| json!({"TxnId": id_of(pi), "TxnType": "Payment"}))
        .collect();
    let mut o = Map::new();
    o.insert("Id".into(), json!(id_of(i)));
    o.insert("SyncToken".into(), json!(d.version.to_string()));
    o.insert("domain".into(), json!("QBO"));
    o.insert("sparse".into(), json!(false));
    o.insert("MetaData".into(), meta(d.created_ms, d.updated_ms));
    o.insert("DocNumber".into(), json!(d.number.to_string()));
    o.insert("TxnDate".into(), json!(crate::record::date_only(d.date_ms)));
    o.insert("DueDate".into(), json!(crate::record::date_only(d.date_ms + d.due_days as i64 * 86_400_000)));
    o.insert("CurrencyRef".into(), aud());
    o.insert("GlobalTaxCalculation".into(), json!(if d.treatment == Treatment::Inclusive { "TaxInclusive" } else { "TaxExcluded" }));
    o.insert("CustomerRef".into(), customer_ref(w, d.customer));
    o.insert("Line".into(), Value::Array(lines));
    o.insert("TxnTaxDetail".into(), tax);
    o.insert("TotalAmt".into(), json_number(a.total));
    o.insert(if hits.drift_rename { "OutstandingBalance" } else { "Balance" }.into(), json_number(balance));
    o.insert("LinkedTxn".into(), Value::Array(linked));
    o.insert("PrintStatus".into(), json!("NotSet"));
    o.insert("EmailStatus".into(), json!("NotSet"));
    if d.has(doc_flags::VOIDED) {
        o.insert("PrivateNote".into(), json!("Voided"));
    }
    overlay(&mut o, &d.extra);
    Value::Object(o)
}

/// A payment as QuickBooks serves it.
pub fn render_payment(w: &World, i: usize) -> Value {
    let p = &w.quickbooks.payments[i];
    let inv = &w.quickbooks.invoices[p.doc as usize];
    let mut o = Map::new();
    o.insert("Id".into(), json!(id_of(i)));
    o.insert("SyncToken".into(), json!(p.version.to_string()));
    o.insert("domain".into(), json!("QBO"));
    o.insert("sparse".into(), json!(false));
    o.insert("MetaData".into(), meta(p.created_ms, p.updated_ms));
    o.insert("TxnDate".into(), json!(crate::record::date_only(p.date_ms)));
    o.insert("CurrencyRef".into(), aud());
    o.insert("CustomerRef".into(), customer_ref(w, inv.customer));
    o.insert("DepositToAccountRef".into(), json!({"value": "4"}));
    o.insert("TotalAmt".into(), json_number(money(p.amount_cents)));
    o.insert("UnappliedAmt".into(), json!(0));
    o.insert("ProcessPayment".into(), json!(false));
    o.insert("Line".into(), json!([{"Amount": json_number(money(p.amount_cents)), "LinkedTxn": [{"TxnId": id_of(p.doc as usize), "TxnType": "Invoice"}]}]));
    overlay(&mut o, &p.extra);
    Value::Object(o)
}

/// A credit memo as QuickBooks serves it.
pub fn render_credit_memo(w: &World, i: usize, hits: &Hits) -> Value {
    let c = &w.quickbooks.credit_notes[i];
    let inv = &w.quickbooks.invoices[c.doc as usize];
    let amount = money(c.amount_cents);
    let tax = money(to_cents(amount / Decimal::from(11)));
    let mut txn_tax = json!({"TxnTaxCodeRef": {"value": "GST"}, "TotalTax": json_number(tax), "TaxLine": tax_lines(tax, amount - tax)});
    if hits.drift_nest {
        txn_tax.as_object_mut().expect("object").remove("TotalTax");
    }
    let mut o = Map::new();
    o.insert("Id".into(), json!(id_of(i)));
    o.insert("SyncToken".into(), json!(c.version.to_string()));
    o.insert("domain".into(), json!("QBO"));
    o.insert("sparse".into(), json!(false));
    o.insert("MetaData".into(), meta(c.created_ms, c.updated_ms));
    o.insert("DocNumber".into(), json!(format!("CN-{}", c.number)));
    o.insert("TxnDate".into(), json!(crate::record::date_only(c.date_ms)));
    o.insert("CurrencyRef".into(), aud());
    o.insert("GlobalTaxCalculation".into(), json!("TaxInclusive"));
    o.insert("CustomerRef".into(), customer_ref(w, c.customer));
    o.insert("PrivateNote".into(), json!(format!("Refund for invoice {}", inv.number)));
    o.insert(
        "Line".into(),
        json!([{"Id": "1", "LineNum": 1, "Description": format!("Refund for invoice {}", inv.number), "Amount": json_number(amount - tax),
                "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {"TaxCodeRef": {"value": "GST"}, "TaxInclusiveAmt": json_number(amount)}},
               {"Amount": json_number(amount - tax), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}]),
    );
    o.insert("TxnTaxDetail".into(), txn_tax);
    o.insert("TotalAmt".into(), json_number(amount));
    o.insert("RemainingCredit".into(), json_number(money(c.remaining_cents)));
    o.insert("Balance".into(), json_number(money(c.remaining_cents)));
    overlay(&mut o, &c.extra);
    Value::Object(o)
}

fn render(e: Entity, w: &World, i: usize, hits: &Hits, balances: &[i64]) -> Value {
    match e {
        Entity::Customer => render_customer(w, i, balances.get(i).copied().unwrap_or(0)),
        Entity::Invoice => render_invoice(w, i, hits),
        Entity::Payment => render_payment(w, i),
        Entity::CreditMemo => render_credit_memo(w, i, hits),
    }
}

/// A condition of the WHERE clause.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub field: String,
    pub op: String,
    pub values: Vec<String>,
}

/// A parsed query in the supported subset.
#[derive(Clone, Debug, PartialEq)]
pub struct QboQuery {
    pub count: bool,
    pub entity: Entity,
    pub conditions: Vec<Condition>,
    pub order: Option<(String, bool)>,
    /// 1-based.
    pub start: usize,
    pub max: usize,
}

fn tokenize(q: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ',' {
            if c == ',' {
                out.push(",".into());
            }
            i += 1;
        } else if c == '\'' {
            let mut s = String::from("'");
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("QueryParserError: Encountered unterminated string".into()),
                    Some('\\') if chars.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(s);
        } else if "()".contains(c) {
            out.push(c.to_string());
            i += 1;
        } else if "<>=!".contains(c) {
            let mut op = c.to_string();
            if chars.get(i + 1) == Some(&'=') || (c == '<' && chars.get(i + 1) == Some(&'>')) {
                op.push(chars[i + 1]);
                i += 1;
            }
            out.push(op);
            i += 1;
        } else {
            let mut s = String::new();
            while i < chars.len() && !chars[i].is_whitespace() && !"(),'<>=!".contains(chars[i]) {
                s.push(chars[i]);
                i += 1;
            }
            out.push(s);
        }
    }
    Ok(out)
}

/// Parses the supported subset of Intuit's query language.
pub fn parse_query(text: &str) -> Result<QboQuery, String> {
    let t = tokenize(text)?;
    let up = |i: usize| t.get(i).map(|s| s.to_ascii_uppercase()).unwrap_or_default();
    if up(0) != "SELECT" {
        return Err(format!("QueryParserError: Encountered \"{}\" at line 1, column 1. Was expecting: \"select\"", t.first().cloned().unwrap_or_default()));
    }
    let mut i = 1;
    let count = if up(1) == "COUNT" && t.get(2).map(String::as_str) == Some("(") {
        i = 5;
        true
    } else {
        while i < t.len() && up(i) != "FROM" {
            i += 1;
        }
        false
    };
    if up(i) != "FROM" {
        return Err("QueryParserError: expected FROM".into());
    }
    let entity_name = t.get(i + 1).cloned().unwrap_or_default();
    let entity = Entity::parse(&entity_name).ok_or_else(|| format!("Invalid query: unsupported entity {entity_name}"))?;
    i += 2;
    let mut q = QboQuery { count, entity, conditions: Vec::new(), order: None, start: 1, max: 100 };
    if up(i) == "WHERE" {
        i += 1;
        loop {
            let field = t.get(i).cloned().ok_or("QueryParserError: expected a field")?;
            let op = up(i + 1);
            i += 2;
            let mut values = Vec::new();
            match op.as_str() {
                "IN" => {
                    if t.get(i).map(String::as_str) != Some("(") {
                        return Err("QueryParserError: IN needs a list".into());
                    }
                    i += 1;
                    while i < t.len() && t[i] != ")" {
                        if t[i] != "," {
                            values.push(t[i].trim_start_matches('\'').to_string());
                        }
                        i += 1;
                    }
                    i += 1;
                }
                "=" | "!=" | "<" | ">" | "<=" | ">=" | "LIKE" => {
                    values.push(t.get(i).cloned().ok_or("QueryParserError: expected a value")?.trim_start_matches('\'').to_string());
                    i += 1;
                }
                other => return Err(format!("QueryParserError: Encountered \" {other} \"")),
            }
            q.conditions.push(Condition { field, op, values });
            match up(i).as_str() {
                "AND" => i += 1,
                "OR" => return Err("QueryParserError: Encountered \" <OR> \"OR \"\" at line 1. OR is not supported".into()),
                _ => break,
            }
        }
    }
    while i < t.len() {
        match up(i).as_str() {
            "ORDERBY" | "ORDER" => {
                if up(i) == "ORDER" {
                    i += 1;
                }
                let field = t.get(i + 1).cloned().ok_or("QueryParserError: ORDERBY needs a field")?;
                i += 2;
                let desc = match up(i).as_str() {
                    "DESC" => {
                        i += 1;
                        true
                    }
                    "ASC" => {
                        i += 1;
                        false
                    }
                    _ => false,
                };
                q.order = Some((field, desc));
            }
            "STARTPOSITION" => {
                q.start = t.get(i + 1).and_then(|s| s.parse().ok()).ok_or("QueryParserError: STARTPOSITION needs a number")?;
                i += 2;
            }
            "MAXRESULTS" => {
                q.max = t.get(i + 1).and_then(|s| s.parse().ok()).ok_or("QueryParserError: MAXRESULTS needs a number")?;
                i += 2;
            }
            "OR" => return Err("QueryParserError: OR is not supported".into()),
            other => return Err(format!("QueryParserError: Encountered \"{other}\"")),
        }
    }
    if q.max > 1000 {
        q.max = 1000;
    }
    Ok(q)
}

fn lookup<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    for p in path.split('.') {
        cur = cur.get(p).unwrap_or(&Value::Null);
    }
    if let Some(inner) = cur.get("value") {
        return inner;
    }
    cur
}

fn holds(c: &Condition, record: &Value) -> bool {
    use std::cmp::Ordering::*;
    let v = lookup(record, &c.field);
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Null => return c.op == "!=",
        other => other.to_string(),
    };
    let cmp = |x: &str| -> std::cmp::Ordering {
        if c.field.contains("Time") || c.field.contains("Date") {
            if let (Some(a), Some(b)) = (parse_time_ms(&text), parse_time_ms(x)) {
                return a.cmp(&b);
            }
        }
        match (text.parse::<f64>(), x.parse::<f64>()) {
            (Ok(a), Ok(b)) => a.partial_cmp(&b).unwrap_or(Equal),
            _ => text.to_lowercase().cmp(&x.to_lowercase()),
        }
    };
    match c.op.as_str() {
        "=" => cmp(&c.values[0]) == Equal,
        "!=" => cmp(&c.values[0]) != Equal,
        "<" => cmp(&c.values[0]) == Less,
        ">" => cmp(&c.values[0]) == Greater,
        "<=" => cmp(&c.values[0]) != Greater,
        ">=" => cmp(&c.values[0]) != Less,
        "IN" => c.values.iter().any(|x| cmp(x) == Equal),
        "LIKE" => {
            let pat = c.values[0].to_lowercase();
            let t = text.to_lowercase();
            match (pat.starts_with('%'), pat.ends_with('%')) {
                (true, true) => t.contains(pat.trim_matches('%')),
                (true, false) => t.ends_with(pat.trim_start_matches('%')),
                (false, true) => t.starts_with(pat.trim_end_matches('%')),
                _ => t == pat,
            }
        }
        _ => false,
    }
}

fn select(w: &World, q: &QboQuery, balances: &[i64]) -> Vec<usize> {
    let hits = Hits::default();
    let on_active = q.conditions.iter().any(|c| c.field.eq_ignore_ascii_case("Active"));
    let needs_render = !q.conditions.is_empty();
    let mut out: Vec<usize> = (0..q.entity.len(w))
        .filter(|&i| !q.entity.deleted(w, i))
        .filter(|&i| q.entity != Entity::Customer || on_active || !w.quickbooks.contacts[i].archived)
        .filter(|&i| {
            if !needs_render {
                return true;
            }
            let r = render(q.entity, w, i, &hits, balances);
            q.conditions.iter().all(|c| holds(c, &r))
        })
        .collect();
    if let Some((field, desc)) = &q.order {
        if field.contains("LastUpdatedTime") {
            out.sort_by_key(|&i| (q.entity.updated(w, i), i));
        } else if field != "Id" {
            let mut keyed: Vec<(String, usize)> = out.iter().map(|&i| (lookup(&render(q.entity, w, i, &hits, balances), field).to_string(), i)).collect();
            keyed.sort();
            out = keyed.into_iter().map(|(_, i)| i).collect();
        }
        if *desc {
            out.reverse();
        }
    }
    out
}

fn qbo_ok(body: Value, time: String) -> Value {
    let mut b = body;
    b["time"] = json!(time);
    b
}

fn churn(st: &SandboxState, e: Entity, order: &[usize], start0: usize) {
    if start0 < 2 || start0 > order.len() {
        return;
    }
    let (del, upd) = (order[start0 - 1], order[start0 - 2]);
    let now = st.clock.now_ms();
    let mut w = st.write();
    match e {
        Entity::Customer => {
            w.quickbooks.contacts[del].archived = true;
            w.quickbooks.contacts[del].touch(now);
            w.quickbooks.contacts[upd].touch(now);
        }
        Entity::Invoice => {
            w.quickbooks.invoices[del].flags |= doc_flags::DELETED;
            w.quickbooks.invoices[del].touch(now);
            w.quickbooks.invoices[upd].touch(now);
        }
        Entity::Payment => {
            w.quickbooks.payments[del].deleted = true;
            w.quickbooks.payments[del].updated_ms = now;
            w.quickbooks.payments[upd].updated_ms = now;
        }
        Entity::CreditMemo => {
            w.quickbooks.credit_notes[del].deleted = true;
            w.quickbooks.credit_notes[del].updated_ms = now;
            w.quickbooks.credit_notes[upd].updated_ms = now;
        }
    }
    drop(w);
    let mut l = st.ledger();
    for (i, action) in [(del, "deleted"), (upd, "updated")] {
        l.churned(ChurnEvent { provider: Provider::QuickBooks, object: e.ledger_name(), id: id_of(i), action });
    }
}

async fn query(st: Arc<SandboxState>, realm: String, text: String, headers: HeaderMap) -> Response {
    let adm = match admit(&st, Provider::QuickBooks, &headers, GateOptions { realm: Some(&realm), ..Default::default() }).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let q = match parse_query(&text) {
        Ok(q) => q,
        Err(e) => return finish(adm, qbo_validation("Error parsing query", &e, "4000")).await,
    };
    let start0 = q.start.max(1) - 1;
    if adm.hits.shifting_offsets && start0 > 0 && !q.count {
        let order = {
            let w = st.read();
            let b = if q.entity == Entity::Customer { balances(&w) } else { Vec::new() };
            select(&w, &q, &b)
        };
        churn(&st, q.entity, &order, start0);
    }
    let now = st.clock.now();
    let body = {
        let w = st.read();
        let b = if q.entity == Entity::Customer { balances(&w) } else { Vec::new() };
        let order = select(&w, &q, &b);
        if q.count {
            json!({"QueryResponse": {"totalCount": order.len()}})
        } else {
            let mut items: Vec<Value> = order.iter().skip(start0).take(q.max).map(|&i| render(q.entity, &w, i, &adm.hits, &b)).collect();
            if adm.hits.duplicate_delivery {
                if let Some(first) = items.first().cloned() {
                    items.push(first);
                }
            }
            if items.is_empty() {
                json!({"QueryResponse": {}})
            } else {
                let n = items.len();
                json!({"QueryResponse": {q.entity.name(): items, "startPosition": q.start.max(1), "maxResults": n}})
            }
        }
    };
    finish(adm, json_response(StatusCode::OK, &qbo_ok(body, qbo_time(now)), &[])).await
}

async fn query_get(State(st): State<Arc<SandboxState>>, Path(realm): Path<String>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let text = q.get("query").cloned().unwrap_or_default();
    query(st, realm, text, headers).await
}

async fn query_post(State(st): State<Arc<SandboxState>>, Path(realm): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    query(st, realm, String::from_utf8_lossy(&body).to_string(), headers).await
}

async fn cdc(State(st): State<Arc<SandboxState>>, Path(realm): Path<String>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let adm = match admit(&st, Provider::QuickBooks, &headers, GateOptions { realm: Some(&realm), ..Default::default() }).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let now = st.clock.now_ms();
    let Some(since) = q.get("changedSince").and_then(|s| parse_time_ms(s)) else {
        return finish(adm, qbo_validation("Invalid Request", "changedSince is required and must be a date-time", "4001")).await;
    };
    if now - since > CDC_WINDOW_MS {
        return finish(adm, qbo_validation("Invalid Request", "changedSince cannot be more than 30 days in the past", "4001")).await;
    }
    let mut entities = Vec::new();
    for name in q.get("entities").map(|s| s.split(',').map(str::trim).collect::<Vec<_>>()).unwrap_or_default() {
        match Entity::parse(name) {
            Some(e) => entities.push(e),
            None => return finish(adm, qbo_validation("Invalid Request", &format!("unsupported entity {name}"), "4001")).await,
        }
    }
    let body = {
        let w = st.read();
        let b = balances(&w);
        let mut budget = CDC_MAX;
        let mut responses = Vec::new();
        for e in entities {
            let mut changed: Vec<usize> = (0..e.len(&w)).filter(|&i| e.updated(&w, i) >= since).collect();
            changed.sort_by_key(|&i| (e.updated(&w, i), i));
            changed.truncate(budget);
            budget -= changed.len();
            let items: Vec<Value> = changed
                .iter()
                .map(|&i| {
                    if e.deleted(&w, i) {
                        json!({"Id": id_of(i), "status": "Deleted", "domain": "QBO", "MetaData": {"LastUpdatedTime": time(e.updated(&w, i))}})
                    } else {
                        render(e, &w, i, &adm.hits, &b)
                    }
                })
                .collect();
            let n = items.len();
            responses.push(json!({e.name(): items, "startPosition": 1, "maxResults": n, "totalCount": n}));
        }
        json!({"CDCResponse": [{"QueryResponse": responses}]})
    };
    finish(adm, json_response(StatusCode::OK, &qbo_ok(body, qbo_time(st.clock.now())), &[])).await
}

async fn read_one(State(st): State<Arc<SandboxState>>, Path((realm, entity, id)): Path<(String, String, String)>, headers: HeaderMap) -> Response {
    let adm = match admit(&st, Provider::QuickBooks, &headers, GateOptions { realm: Some(&realm), ..Default::default() }).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(e) = Entity::parse(&entity) else {
        return finish(adm, refuse(Provider::QuickBooks, &Refusal::NotFound)).await;
    };
    let r = {
        let w = st.read();
        match index_of(e, &w, &id).filter(|i| !e.deleted(&w, *i)) {
            Some(i) => {
                let rendered = if e == Entity::Customer { render_customer(&w, i, balance_of(&w, i)) } else { render(e, &w, i, &adm.hits, &[]) };
                let body = json!({e.name(): rendered});
                json_response(StatusCode::OK, &qbo_ok(body, qbo_time(st.clock.now())), &[])
            }
            None => refuse(Provider::QuickBooks, &Refusal::NotFound),
        }
    };
    finish(adm, r).await
}

fn text(v: &Value, path: &str) -> Option<String> {
    let mut cur = v;
    for p in path.split('.') {
        cur = cur.get(p)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// What a write failed with.
enum WriteError {
    Stale,
    Invalid(String, String),
    NotFound,
}

fn apply_customer(r: &mut PartyRecord, v: &Value, sparse: bool) {
    let fields = [
        ("GivenName", PartyField::Given),
        ("FamilyName", PartyField::Family),
        ("CompanyName", PartyField::Company),
        ("PrimaryEmailAddr.Address", PartyField::Email),
        ("PrimaryPhone.FreeFormNumber", PartyField::Phone),
        ("BillAddr.Line1", PartyField::Street),
        ("BillAddr.City", PartyField::City),
        ("BillAddr.CountrySubDivisionCode", PartyField::State),
        ("BillAddr.PostalCode", PartyField::Postcode),
        ("BusinessNumber", PartyField::Abn),
        ("Notes", PartyField::Note),
    ];
    for (path, f) in fields {
        match text(v, path) {
            Some(t) => r.set(f, &t),
            None if !sparse && f != PartyField::Given && f != PartyField::Family => r.set(f, ""),
            None => {}
        }
    }
    if let Some(d) = text(v, "DisplayName") {
        if d != r.display_name() {
            r.set_extra("DisplayName", json!(d));
        }
    }
    if let Some(a) = v.get("Active").and_then(Value::as_bool) {
        r.archived = !a;
    }
}

fn client_lines(v: &Value) -> Result<Vec<ClientLine>, String> {
    let mut out = Vec::new();
    for l in v.get("Line").and_then(Value::as_array).cloned().unwrap_or_default() {
        if l.get("DetailType").and_then(Value::as_str) != Some("SalesItemLineDetail") {
            continue;
        }
        let d = &l["SalesItemLineDetail"];
        let qty = d.get("Qty").and_then(decimal_of).unwrap_or(Decimal::ONE);
        let unit = d
            .get("UnitPrice")
            .and_then(decimal_of)
            .or_else(|| l.get("Amount").and_then(decimal_of).map(|a| if qty.is_zero() { a } else { a / qty }))
            .ok_or("A sales line needs Amount or UnitPrice")?;
        out.push(ClientLine {
            description: text(&l, "Description").unwrap_or_default(),
            code: text(d, "ItemRef.value").unwrap_or_default(),
            qty,
            unit,
            taxable: text(d, "TaxCodeRef.value").is_none_or(|c| c != "FRE"),
        });
    }
    if out.is_empty() {
        return Err("An invoice needs at least one SalesItemLineDetail line".into());
    }
    Ok(out)
}

fn apply(e: Entity, w: &mut World, v: &Value, now: i64) -> Result<usize, WriteError> {
    let invalid = |m: &str| WriteError::Invalid("Required param missing, need to supply the required value for the API".into(), m.to_string());
    let id = text(v, "Id");
    let sparse = v.get("sparse").and_then(Value::as_bool).unwrap_or(false);
    if let Some(id) = id {
        let i = index_of(e, w, &id).ok_or(WriteError::NotFound)?;
        let token = text(v, "SyncToken").ok_or_else(|| invalid("SyncToken is required for an update"))?;
        let current = match e {
            Entity::Customer => w.quickbooks.contacts[i].version,
            Entity::Invoice => w.quickbooks.invoices[i].version,
            Entity::Payment => w.quickbooks.payments[i].version,
            Entity::CreditMemo => w.quickbooks.credit_notes[i].version,
        };
        if token != current.to_string() {
            return Err(WriteError::Stale);
        }
        match e {
            Entity::Customer => {
                if let Some(d) = text(v, "DisplayName") {
                    if w.quickbooks.contacts.iter().enumerate().any(|(j, c)| j != i && !c.archived && customer_name(c).eq_ignore_ascii_case(&d)) {
                        return Err(WriteError::Invalid("Duplicate Name Exists Error".into(), format!("The name supplied already exists. : {d}")));
                    }
                }
                let r = &mut w.quickbooks.contacts[i];
                apply_customer(r, v, sparse);
                r.touch(now);
            }
            Entity::Invoice => {
                let lines = if v.get("Line").is_some() { Some(client_lines(v).map_err(|m| invalid(&m))?) } else { None };
                let d = &mut w.quickbooks.invoices[i];
                if let Some(lines) = lines {
                    set_client_lines(d, &lines);
                }
                for k in ["PrivateNote", "CustomerMemo", "DocNumber"] {
                    if let Some(x) = v.get(k) {
                        d.set_extra(k, x.clone());
                    }
                }
                if let Some(due) = text(v, "DueDate").and_then(|t| parse_time_ms(&t)) {
                    d.due_days = ((due - d.date_ms).max(0) / 86_400_000).min(u16::MAX as i64) as u16;
                }
                d.touch(now);
            }
            Entity::Payment | Entity::CreditMemo => {
                return Err(WriteError::Invalid("Operation not supported".into(), format!("This sandbox does not update {} records", e.name())));
            }
        }
        return Ok(i);
    }
    match e {
        Entity::Customer => {
            let d = text(v, "DisplayName").or_else(|| {
                let g = text(v, "GivenName").unwrap_or_default();
                let f = text(v, "FamilyName").unwrap_or_default();
                let n = format!("{g} {f}").trim().to_string();
                (!n.is_empty()).then_some(n)
            });
            let d = d.ok_or_else(|| invalid("DisplayName, GivenName or FamilyName must be supplied"))?;
            if w.quickbooks.contacts.iter().any(|c| !c.archived && customer_name(c).eq_ignore_ascii_case(&d)) {
                return Err(WriteError::Invalid("Duplicate Name Exists Error".into(), format!("The name supplied already exists. : {d}")));
            }
            let mut r = PartyRecord::new(NONE, [""; crate::record::PARTY_FIELDS], now, now);
            apply_customer(&mut r, v, true);
            if text(v, "DisplayName").is_some_and(|x| x != r.display_name()) {
                r.set_extra("DisplayName", json!(d));
            }
            w.quickbooks.contacts.push(r);
            Ok(w.quickbooks.contacts.len() - 1)
        }
        Entity::Invoice => {
            let c = text(v, "CustomerRef.value").and_then(|id| index_of(Entity::Customer, w, &id)).ok_or_else(|| invalid("CustomerRef must name a customer"))?;
            let lines = client_lines(v).map_err(|m| invalid(&m))?;
            let date = text(v, "TxnDate").and_then(|t| parse_time_ms(&t)).unwrap_or(now);
            let due = text(v, "DueDate").and_then(|t| parse_time_ms(&t)).unwrap_or(date);
            let number = w.quickbooks.invoices.iter().map(|d| d.number).max().unwrap_or(0) + 1;
            let mut d = DocRecord {
                sale: NONE,
                customer: c as u32,
                number,
                date_ms: date,
                due_days: ((due - date).max(0) / 86_400_000) as u16,
                created_ms: now,
                updated_ms: now,
                version: 0,
                paid_cents: 0,
                refunded_cents: 0,
                adjust_cents: 0,
                treatment: if text(v, "GlobalTaxCalculation").as_deref() == Some("TaxInclusive") { Treatment::Inclusive } else { Treatment::Exclusive },
                flags: doc_flags::CLIENT_CREATED,
                extra: None,
            };
            set_client_lines(&mut d, &lines);
            for k in ["PrivateNote", "CustomerMemo", "DocNumber"] {
                if let Some(x) = v.get(k) {
                    d.set_extra(k, x.clone());
                }
            }
            w.quickbooks.invoices.push(d);
            Ok(w.quickbooks.invoices.len() - 1)
        }
        Entity::Payment => {
            let total = v.get("TotalAmt").and_then(decimal_of).map(to_cents).ok_or_else(|| invalid("TotalAmt must be supplied"))?;
            let linked = v
                .get("Line")
                .and_then(Value::as_array)
                .and_then(|l| l.first())
                .and_then(|l| l.get("LinkedTxn"))
                .and_then(Value::as_array)
                .and_then(|l| l.iter().find(|t| t["TxnType"] == "Invoice"))
                .and_then(|t| text(t, "TxnId"))
                .and_then(|id| index_of(Entity::Invoice, w, &id))
                .ok_or_else(|| invalid("Line[0].LinkedTxn must name an invoice"))?;
            let date = text(v, "TxnDate").and_then(|t| parse_time_ms(&t)).unwrap_or(now);
            w.quickbooks.payments.push(PaymentRecord { doc: linked as u32, amount_cents: total, date_ms: date, created_ms: now, updated_ms: now, version: 0, deleted: false, extra: None });
            w.quickbooks.invoices[linked].paid_cents += total;
            w.quickbooks.invoices[linked].touch(now);
            Ok(w.quickbooks.payments.len() - 1)
        }
        Entity::CreditMemo => Err(WriteError::Invalid("Operation not supported".into(), "This sandbox does not create credit memos".into())),
    }
}

async fn write(State(st): State<Arc<SandboxState>>, Path((realm, entity)): Path<(String, String)>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap, body: Bytes) -> Response {
    let adm = match admit(&st, Provider::QuickBooks, &headers, GateOptions { realm: Some(&realm), ..Default::default() }).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(e) = Entity::parse(&entity) else {
        return finish(adm, refuse(Provider::QuickBooks, &Refusal::NotFound)).await;
    };
    let key = q.get("requestid").cloned();
    if let Some(k) = &key {
        if k.len() > 50 {
            return finish(adm, qbo_validation("Invalid Request", "requestid must be at most 50 characters", "4001")).await;
        }
        let replay = st.ledger().replay(Provider::QuickBooks, k);
        if let Some(r) = replay {
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
            let resp = json_bytes_response(status, r.body);
            return finish(adm, resp).await;
        }
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(err) => return finish(adm, qbo_validation("Request has invalid or unsupported property", &format!("The request body is not valid JSON: {err}"), "2010")).await,
    };
    let now = st.clock.now_ms();
    let updating = v.get("Id").is_some();
    let result = {
        let mut w = st.write();
        apply(e, &mut w, &v, now).map(|i| {
            let rendered = if e == Entity::Customer { render_customer(&w, i, balance_of(&w, i)) } else { render(e, &w, i, &adm.hits, &[]) };
            (i, rendered)
        })
    };
    let (status, body) = match result {
        Ok((i, rendered)) => {
            st.ledger().write(now, Provider::QuickBooks, e.ledger_name(), &id_of(i), if updating { "update" } else { "create" }, key.as_deref());
            (StatusCode::OK, json!({e.name(): rendered, "time": qbo_time(st.clock.now())}))
        }
        Err(err) => {
            st.ledger().rejected(Provider::QuickBooks);
            let (msg, detail, code) = match err {
                WriteError::Stale => (
                    "Stale Object Error".to_string(),
                    "Stale Object Error : You and another user were working on the same thing. The other user finished before you did, so your work was not saved.".to_string(),
                    STALE_OBJECT_CODE,
                ),
                WriteError::Invalid(m, d) => (m, d, "2020"),
                WriteError::NotFound => ("Object Not Found".to_string(), "Object Not Found : Something you're trying to use has been made inactive.".to_string(), "610"),
            };
            (StatusCode::BAD_REQUEST, json!({"Fault": {"Error": [{"Message": msg, "Detail": detail, "code": code, "element": ""}], "type": "ValidationFault"}, "time": qbo_time(st.clock.now())}))
        }
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    if let Some(k) = &key {
        st.ledger().remember(Provider::QuickBooks, k, status.as_u16(), bytes.clone());
    }
    let resp = json_bytes_response(status, bytes);
    finish(adm, resp).await
}

/// QuickBooks' API routes, relative to its base URL.
pub fn routes() -> Router<Arc<SandboxState>> {
    Router::new()
        .route("/v3/company/{realm}/query", get(query_get).post(query_post))
        .route("/v3/company/{realm}/cdc", get(cdc))
        .route("/v3/company/{realm}/{entity}", axum::routing::post(write))
        .route("/v3/company/{realm}/{entity}/{id}", get(read_one))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse() {
        let q = parse_query("SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > '2024-01-01T00:00:00+10:00' STARTPOSITION 101 MAXRESULTS 1000")
            .expect("the incremental query clients send must parse");
        assert_eq!((q.entity, q.start, q.max), (Entity::Customer, 101, 1000), "entity and paging are read");
        assert_eq!(q.conditions[0].field, "MetaData.LastUpdatedTime", "the filter field is kept as a path");
        let c = parse_query("select count(*) from Invoice").expect("COUNT(*) parses");
        assert!(c.count, "COUNT(*) is recognised");
        assert!(parse_query("SELECT * FROM Customer WHERE Id = '1' OR Id = '2'").is_err(), "OR must be refused as Intuit does");
        assert_eq!(parse_query("SELECT * FROM Invoice MAXRESULTS 5000").unwrap().max, 1000, "MAXRESULTS is capped at 1000");
        let inq = parse_query("SELECT * FROM Customer WHERE Active IN (true, false)").unwrap();
        assert_eq!(inq.conditions[0].values, vec!["true", "false"], "IN lists are read");
    }
}
