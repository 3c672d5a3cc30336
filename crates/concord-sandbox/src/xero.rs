//! Xero Accounting API: Contacts, Invoices, Payments and CreditNotes under `/api.xro/2.0`.
//!
//! Served below the Xero base URL (every call needs `Authorization: Bearer`
//! and `xero-tenant-id`):
//! - `GET /api.xro/2.0/{Contacts|Invoices|Payments|CreditNotes}` with `page`
//!   (1-based; default 1), `pageSize` (default 100, max 1000), `order`
//!   (`UpdatedDateUTC [ASC|DESC]`, otherwise creation order), `IDs`
//!   (comma-separated), `includeArchived` (contacts), `summaryOnly`
//!   (invoices without line items), `where` (`Field==value` terms joined by
//!   `AND`, values quoted, `true`/`false` or `Guid("...")`), and the
//!   `If-Modified-Since` header (records updated at or after it; only then
//!   are DELETED documents listed). Responses carry `pagination {page,
//!   pageSize, pageCount, itemCount}`: stop when `page >= pageCount`, never on
//!   a short or full page.
//! - `GET /api.xro/2.0/{Collection}/{id}`.
//! - `POST /api.xro/2.0/Contacts/{id}` and `POST /api.xro/2.0/Invoices/{id}`
//!   update; `POST` or `PUT` on the collection with `{"Contacts": [...]}`
//!   (or one object) creates, or updates those carrying an id; `PUT` or
//!   `POST /api.xro/2.0/Payments` records a payment against an invoice.
//!   An `Idempotency-Key` header (at most 128 characters) makes a write
//!   replayable: a repeat returns the first response and applies nothing.
//!   Xero has no concurrency token: clients compare `UpdatedDateUTC`.
//!
//! Dates are `/Date(ms+0000)/`; money is JSON numbers with exact decimal text.
//! Schema drift: `schema_drift_rename` serves Invoice `AmountDue` as
//! `AmountOutstanding`; `schema_drift_nest` moves each line's `TaxType` and
//! `TaxAmount` into `Taxes: [{TaxType, TaxAmount}]`.

use crate::business::{set_client_lines, ClientLine, World, NONE};
use crate::faults::Hits;
use crate::ledger::ChurnEvent;
use crate::provider::{Provider, XeroIds, XeroKind};
use crate::record::{
    decimal_of, doc_flags, json_number, money, overlay, parse_time_ms, to_cents, xero_date, DocRecord, PartyField, PartyRecord,
    PaymentRecord, Treatment,
};
use crate::response::{json_bytes_response, json_response, refuse, xero_validation, Refusal};
use crate::state::{admit, finish, GateOptions, SandboxState};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The collections served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collection {
    Contacts,
    Invoices,
    Payments,
    CreditNotes,
}

impl Collection {
    fn parse(s: &str) -> Option<Collection> {
        match s {
            "Contacts" => Some(Collection::Contacts),
            "Invoices" => Some(Collection::Invoices),
            "Payments" => Some(Collection::Payments),
            "CreditNotes" => Some(Collection::CreditNotes),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Collection::Contacts => "Contacts",
            Collection::Invoices => "Invoices",
            Collection::Payments => "Payments",
            Collection::CreditNotes => "CreditNotes",
        }
    }
    fn kind(self) -> XeroKind {
        match self {
            Collection::Contacts => XeroKind::Contact,
            Collection::Invoices => XeroKind::Invoice,
            Collection::Payments => XeroKind::Payment,
            Collection::CreditNotes => XeroKind::CreditNote,
        }
    }
    fn ledger_name(self) -> &'static str {
        match self {
            Collection::Contacts => "contacts",
            Collection::Invoices => "invoices",
            Collection::Payments => "payments",
            Collection::CreditNotes => "credit_notes",
        }
    }
    fn len(self, w: &World) -> usize {
        match self {
            Collection::Contacts => w.xero.contacts.len(),
            Collection::Invoices => w.xero.invoices.len(),
            Collection::Payments => w.xero.payments.len(),
            Collection::CreditNotes => w.xero.credit_notes.len(),
        }
    }
    fn updated(self, w: &World, i: usize) -> i64 {
        match self {
            Collection::Contacts => w.xero.contacts[i].updated_ms,
            Collection::Invoices => w.xero.invoices[i].updated_ms,
            Collection::Payments => w.xero.payments[i].updated_ms,
            Collection::CreditNotes => w.xero.credit_notes[i].updated_ms,
        }
    }
    /// Whether the record is archived or deleted.
    fn gone(self, w: &World, i: usize) -> bool {
        match self {
            Collection::Contacts => w.xero.contacts[i].archived,
            Collection::Invoices => w.xero.invoices[i].has(doc_flags::DELETED),
            Collection::Payments => w.xero.payments[i].deleted,
            Collection::CreditNotes => w.xero.credit_notes[i].deleted,
        }
    }
}

fn contact_ref(w: &World, ids: &XeroIds, c: u32) -> Value {
    match w.xero.contacts.get(c as usize) {
        Some(r) if c != NONE => json!({"ContactID": ids.id(XeroKind::Contact, c).to_string(), "Name": contact_name(r)}),
        _ => json!({}),
    }
}

fn contact_name(r: &PartyRecord) -> String {
    r.extra
        .as_ref()
        .and_then(|e| e.get("Name"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| r.display_name())
}

/// A contact as Xero serves it.
pub fn render_contact(w: &World, ids: &XeroIds, i: usize) -> Value {
    let r = &w.xero.contacts[i];
    let v = r.values();
    let address = |kind: &str| {
        json!({"AddressType": kind, "AddressLine1": v[PartyField::Street as usize], "City": v[PartyField::City as usize],
               "Region": v[PartyField::State as usize], "PostalCode": v[PartyField::Postcode as usize], "Country": "Australia"})
    };
    let mut o = Map::new();
    o.insert("ContactID".into(), json!(ids.id(XeroKind::Contact, i as u32).to_string()));
    o.insert("ContactStatus".into(), json!(if r.archived { "ARCHIVED" } else { "ACTIVE" }));
    o.insert("Name".into(), json!(contact_name(r)));
    o.insert("FirstName".into(), json!(v[PartyField::Given as usize]));
    o.insert("LastName".into(), json!(v[PartyField::Family as usize]));
    o.insert("EmailAddress".into(), json!(v[PartyField::Email as usize]));
    o.insert("TaxNumber".into(), json!(v[PartyField::Abn as usize]));
    o.insert("Addresses".into(), json!([address("POBOX"), address("STREET")]));
    o.insert(
        "Phones".into(),
        json!([
            {"PhoneType": "DEFAULT", "PhoneNumber": v[PartyField::Phone as usize], "PhoneAreaCode": "", "PhoneCountryCode": ""},
            {"PhoneType": "MOBILE", "PhoneNumber": "", "PhoneAreaCode": "", "PhoneCountryCode": ""}
        ]),
    );
    o.insert("UpdatedDateUTC".into(), json!(xero_date(r.updated_ms)));
    o.insert("ContactGroups".into(), json!([]));
    o.insert("IsSupplier".into(), json!(false));
    o.insert("IsCustomer".into(), json!(true));
    o.insert("DefaultCurrency".into(), json!("AUD"));
    o.insert("HasAttachments".into(), json!(false));
    o.insert("HasValidationErrors".into(), json!(false));
    overlay(&mut o, &r.extra);
    Value::Object(o)
}

fn status_of(d: &DocRecord, total_cents: i64) -> &'static str {
    if d.has(doc_flags::DELETED) {
        "DELETED"
    } else if d.has(doc_flags::VOIDED) {
        "VOIDED"
    } else if d.paid_cents + d.refunded_cents >= total_cents && total_cents > 0 {
        "PAID"
    } else {
        "AUTHORISED"
    }
}

/// Whether the shop order name is in an invoice's Reference (connectors
/// write it most of the time, people typing invoices rarely).
fn has_order_reference(sale: u32) -> bool {
    (sale as u64).wrapping_mul(2_654_435_761) % 10 < 7
}

/// What invoices show of other records: their live payments and credit notes
/// and the shop order named in their Reference. Gathered in one pass over
/// those collections for a whole page of invoices, so rendering a page costs
/// the page plus one scan, not one scan per invoice.
#[derive(Debug, Default)]
pub struct InvoiceLinks {
    /// Invoice index to (payment indices, credit note indices), in index order.
    docs: HashMap<u32, (Vec<u32>, Vec<u32>)>,
    /// Sale index to its last shop order's number.
    orders: HashMap<u32, u32>,
}

impl InvoiceLinks {
    /// The links of the given invoices.
    pub fn of(w: &World, invoices: &[usize]) -> InvoiceLinks {
        let mut links = InvoiceLinks::default();
        let mut sales = HashMap::new();
        for &i in invoices {
            let Some(d) = w.xero.invoices.get(i) else { continue };
            links.docs.insert(i as u32, Default::default());
            if w.sales.get(d.sale as usize).is_some_and(|s| s.channel.in_shop()) && has_order_reference(d.sale) {
                sales.insert(d.sale, ());
            }
        }
        if links.docs.is_empty() {
            return links;
        }
        for (pi, p) in w.xero.payments.iter().enumerate() {
            if !p.deleted {
                if let Some(e) = links.docs.get_mut(&p.doc) {
                    e.0.push(pi as u32);
                }
            }
        }
        for (ci, c) in w.xero.credit_notes.iter().enumerate() {
            if !c.deleted {
                if let Some(e) = links.docs.get_mut(&c.doc) {
                    e.1.push(ci as u32);
                }
            }
        }
        if !sales.is_empty() {
            for o in &w.shopify.orders {
                if sales.contains_key(&o.sale) {
                    links.orders.insert(o.sale, o.number);
                }
            }
        }
        links
    }
}

/// An invoice as Xero serves it.
pub fn render_invoice(w: &World, ids: &XeroIds, i: usize, hits: &Hits, summary: bool) -> Value {
    render_linked_invoice(w, ids, i, hits, summary, &InvoiceLinks::of(w, &[i]))
}

/// An invoice as Xero serves it, its links gathered beforehand (see [`InvoiceLinks`]).
fn render_linked_invoice(w: &World, ids: &XeroIds, i: usize, hits: &Hits, summary: bool, links: &InvoiceLinks) -> Value {
    let d = &w.xero.invoices[i];
    let no_links = (Vec::new(), Vec::new());
    let (doc_payments, doc_credits) = links.docs.get(&(i as u32)).unwrap_or(&no_links);
    let a = w.invoice_amounts(d);
    let total = to_cents(a.total);
    let labels = w.line_labels(d);
    let mut o = Map::new();
    o.insert("Type".into(), json!("ACCREC"));
    o.insert("InvoiceID".into(), json!(ids.id(XeroKind::Invoice, i as u32).to_string()));
    o.insert("InvoiceNumber".into(), json!(format!("INV-{:05}", d.number)));
    let reference = match w.sales.get(d.sale as usize) {
        Some(s) if s.channel.in_shop() && has_order_reference(d.sale) => links.orders.get(&d.sale).map(|n| format!("Shopify #{n}")).unwrap_or_default(),
        _ => String::new(),
    };
    o.insert("Reference".into(), json!(reference));
    o.insert("Contact".into(), contact_ref(w, ids, d.customer));
    o.insert("Date".into(), json!(xero_date(d.date_ms)));
    o.insert("DueDate".into(), json!(xero_date(d.date_ms + d.due_days as i64 * 86_400_000)));
    o.insert("Status".into(), json!(status_of(d, total)));
    o.insert("LineAmountTypes".into(), json!(match d.treatment { Treatment::Inclusive => "Inclusive", Treatment::Exclusive => "Exclusive" }));
    if !summary {
        let lines: Vec<Value> = a
            .lines
            .iter()
            .enumerate()
            .map(|(n, l)| {
                let (desc, code) = labels.get(n).cloned().unwrap_or_default();
                let tax_type = if l.taxable { "OUTPUT" } else { "EXEMPTOUTPUT" };
                let mut line = json!({
                    "LineItemID": ids.id(XeroKind::LineItem, (i as u32).wrapping_mul(16).wrapping_add(n as u32)).to_string(),
                    "Description": desc,
                    "Quantity": json_number(l.qty),
                    "UnitAmount": json_number(l.unit),
                    "ItemCode": code,
                    "AccountCode": "200",
                    "TaxType": tax_type,
                    "TaxAmount": json_number(l.tax),
                    "LineAmount": json_number(l.amount),
                    "Tracking": [],
                });
                if hits.drift_nest {
                    let m = line.as_object_mut().expect("line is an object");
                    m.remove("TaxType");
                    m.remove("TaxAmount");
                    m.insert("Taxes".into(), json!([{"TaxType": tax_type, "TaxAmount": json_number(l.tax)}]));
                }
                line
            })
            .collect();
        o.insert("LineItems".into(), Value::Array(lines));
    }
    o.insert("SubTotal".into(), json_number(a.subtotal));
    o.insert("TotalTax".into(), json_number(a.tax));
    o.insert("Total".into(), json_number(a.total));
    let due = (total - d.paid_cents - d.refunded_cents).max(0);
    o.insert(if hits.drift_rename { "AmountOutstanding" } else { "AmountDue" }.into(), json_number(money(due)));
    o.insert("AmountPaid".into(), json_number(money(d.paid_cents)));
    o.insert("AmountCredited".into(), json_number(money(d.refunded_cents)));
    o.insert("CurrencyCode".into(), json!("AUD"));
    o.insert("CurrencyRate".into(), json!(1));
    o.insert("UpdatedDateUTC".into(), json!(xero_date(d.updated_ms)));
    if !summary {
        let payments: Vec<Value> = doc_payments
            .iter()
            .map(|&pi| (pi, &w.xero.payments[pi as usize]))
            .map(|(pi, p)| json!({"PaymentID": ids.id(XeroKind::Payment, pi).to_string(), "Date": xero_date(p.date_ms), "Amount": json_number(money(p.amount_cents)), "Reference": ""}))
            .collect();
        o.insert("Payments".into(), Value::Array(payments));
        let credits: Vec<Value> = doc_credits
            .iter()
            .map(|&ci| (ci, &w.xero.credit_notes[ci as usize]))
            .map(|(ci, c)| json!({"CreditNoteID": ids.id(XeroKind::CreditNote, ci).to_string(), "CreditNoteNumber": format!("CN-{:05}", c.number), "Total": json_number(money(c.amount_cents)), "Date": xero_date(c.date_ms)}))
            .collect();
        o.insert("CreditNotes".into(), Value::Array(credits));
    }
    o.insert("HasAttachments".into(), json!(false));
    o.insert("IsDiscounted".into(), json!(false));
    overlay(&mut o, &d.extra);
    Value::Object(o)
}

/// A payment as Xero serves it.
pub fn render_payment(w: &World, ids: &XeroIds, i: usize) -> Value {
    let p = &w.xero.payments[i];
    let inv = &w.xero.invoices[p.doc as usize];
    let mut o = Map::new();
    o.insert("PaymentID".into(), json!(ids.id(XeroKind::Payment, i as u32).to_string()));
    o.insert("Date".into(), json!(xero_date(p.date_ms)));
    o.insert("Amount".into(), json_number(money(p.amount_cents)));
    o.insert("BankAmount".into(), json_number(money(p.amount_cents)));
    o.insert("Reference".into(), json!(""));
    o.insert("CurrencyRate".into(), json!(1));
    o.insert("PaymentType".into(), json!("ACCRECPAYMENT"));
    o.insert("Status".into(), json!(if p.deleted { "DELETED" } else { "AUTHORISED" }));
    o.insert("UpdatedDateUTC".into(), json!(xero_date(p.updated_ms)));
    o.insert("HasAccount".into(), json!(true));
    o.insert("IsReconciled".into(), json!(true));
    o.insert("Account".into(), json!({"AccountID": ids.id(XeroKind::Connection, 90).to_string(), "Code": "090"}));
    o.insert(
        "Invoice".into(),
        json!({"Type": "ACCREC", "InvoiceID": ids.id(XeroKind::Invoice, p.doc).to_string(), "InvoiceNumber": format!("INV-{:05}", inv.number), "Contact": contact_ref(w, ids, inv.customer)}),
    );
    o.insert("HasValidationErrors".into(), json!(false));
    overlay(&mut o, &p.extra);
    Value::Object(o)
}

/// A credit note as Xero serves it.
pub fn render_credit_note(w: &World, ids: &XeroIds, i: usize, hits: &Hits) -> Value {
    let c = &w.xero.credit_notes[i];
    let inv = &w.xero.invoices[c.doc as usize];
    let amount = money(c.amount_cents);
    let tax = money(to_cents(amount / Decimal::from(11)));
    let tax_type = "OUTPUT";
    let mut line = json!({"Description": format!("Refund for INV-{:05}", inv.number), "Quantity": 1, "UnitAmount": json_number(amount),
                          "AccountCode": "200", "TaxType": tax_type, "TaxAmount": json_number(tax), "LineAmount": json_number(amount), "Tracking": []});
    if hits.drift_nest {
        let m = line.as_object_mut().expect("line is an object");
        m.remove("TaxType");
        m.remove("TaxAmount");
        m.insert("Taxes".into(), json!([{"TaxType": tax_type, "TaxAmount": json_number(tax)}]));
    }
    let mut o = Map::new();
    o.insert("Type".into(), json!("ACCRECCREDIT"));
    o.insert("CreditNoteID".into(), json!(ids.id(XeroKind::CreditNote, i as u32).to_string()));
    o.insert("CreditNoteNumber".into(), json!(format!("CN-{:05}", c.number)));
    o.insert("Reference".into(), json!(format!("Refund INV-{:05}", inv.number)));
    o.insert("Contact".into(), contact_ref(w, ids, c.customer));
    o.insert("Date".into(), json!(xero_date(c.date_ms)));
    o.insert("Status".into(), json!(if c.deleted { "DELETED" } else if c.remaining_cents == 0 { "PAID" } else { "AUTHORISED" }));
    o.insert("LineAmountTypes".into(), json!("Inclusive"));
    o.insert("LineItems".into(), json!([line]));
    o.insert("SubTotal".into(), json_number(amount - tax));
    o.insert("TotalTax".into(), json_number(tax));
    o.insert("Total".into(), json_number(amount));
    o.insert("RemainingCredit".into(), json_number(money(c.remaining_cents)));
    o.insert("Allocations".into(), json!([]));
    o.insert("CurrencyCode".into(), json!("AUD"));
    o.insert("CurrencyRate".into(), json!(1));
    o.insert("UpdatedDateUTC".into(), json!(xero_date(c.updated_ms)));
    o.insert("HasAttachments".into(), json!(false));
    overlay(&mut o, &c.extra);
    Value::Object(o)
}

fn render(c: Collection, w: &World, ids: &XeroIds, i: usize, hits: &Hits, summary: bool) -> Value {
    render_linked(c, w, ids, i, hits, summary, None)
}

/// Renders one record; invoices use `links` when given (gathered for a whole page).
fn render_linked(c: Collection, w: &World, ids: &XeroIds, i: usize, hits: &Hits, summary: bool, links: Option<&InvoiceLinks>) -> Value {
    match c {
        Collection::Contacts => render_contact(w, ids, i),
        Collection::Invoices => match links {
            Some(l) => render_linked_invoice(w, ids, i, hits, summary, l),
            None => render_invoice(w, ids, i, hits, summary),
        },
        Collection::Payments => render_payment(w, ids, i),
        Collection::CreditNotes => render_credit_note(w, ids, i, hits),
    }
}

fn envelope(st: &SandboxState, c: Collection, items: Vec<Value>, pagination: Option<Value>) -> Value {
    let mut o = Map::new();
    o.insert("Id".into(), json!(uuid::Uuid::new_v4().to_string()));
    o.insert("Status".into(), json!("OK"));
    o.insert("ProviderName".into(), json!("Concord Sandbox"));
    o.insert("DateTimeUTC".into(), json!(format!("/Date({})/", st.clock.now_ms())));
    if let Some(p) = pagination {
        o.insert("pagination".into(), p);
    }
    o.insert(c.name().into(), Value::Array(items));
    Value::Object(o)
}

/// One `where` term: a field path, equality or not, and the value as text.
#[derive(Debug, PartialEq)]
struct Term {
    path: Vec<String>,
    equal: bool,
    value: String,
}

fn parse_where(text: &str) -> Result<Vec<Term>, String> {
    let normal = text.replace("&&", " AND ");
    let mut terms = Vec::new();
    for part in normal.split(" AND ").map(str::trim).filter(|p| !p.is_empty()) {
        let (field, equal, rest) = if let Some((f, r)) = part.split_once("!=") {
            (f, false, r)
        } else if let Some((f, r)) = part.split_once("==") {
            (f, true, r)
        } else if let Some((f, r)) = part.split_once('=') {
            (f, true, r)
        } else {
            return Err(format!("unsupported where clause term {part:?}"));
        };
        let rest = rest.trim();
        let value = if let Some(inner) = rest.strip_prefix("Guid(\"").and_then(|r| r.strip_suffix("\")")) {
            inner.to_string()
        } else if let Some(inner) = rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            inner.to_string()
        } else if matches!(rest, "true" | "false") || rest.parse::<f64>().is_ok() {
            rest.to_string()
        } else {
            return Err(format!("unsupported where clause value {rest:?}"));
        };
        terms.push(Term { path: field.trim().split('.').map(str::to_string).collect(), equal, value });
    }
    Ok(terms)
}

fn term_holds(t: &Term, record: &Value) -> bool {
    let mut v = record;
    for p in &t.path {
        v = v.get(p).unwrap_or(&Value::Null);
    }
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    (text.eq_ignore_ascii_case(&t.value)) == t.equal
}

/// The record indices a list request selects, in order.
fn select(c: Collection, w: &World, ids: &XeroIds, q: &HashMap<String, String>, since: Option<i64>, terms: &[Term]) -> Vec<usize> {
    let (mut out, desc) = filtered(c, w, ids, q, since, terms);
    if let Some(desc) = desc {
        out.sort_unstable_by_key(|&i| (c.updated(w, i), i));
        if desc {
            out.reverse();
        }
    }
    out
}

/// One page of what [`select`] returns (`start`, at most `size`), and how many
/// records the whole selection holds. Ordered by update time, only the page is
/// sorted: a partial selection finds its records, so an incremental read costs
/// one pass over the collection rather than a sort of it per page.
fn select_page(c: Collection, w: &World, ids: &XeroIds, q: &HashMap<String, String>, since: Option<i64>, terms: &[Term], (start, size): (usize, usize)) -> (Vec<usize>, usize) {
    let (out, desc) = filtered(c, w, ids, q, since, terms);
    let n = out.len();
    let Some(desc) = desc else {
        return (out.into_iter().skip(start).take(size).collect(), n);
    };
    if start >= n {
        return (Vec::new(), n);
    }
    let take = size.min(n - start);
    // The page's ranks in ascending order (a descending page is an ascending one reversed).
    let (lo, hi) = if desc { (n - start - take, n - start) } else { (start, start + take) };
    let mut keyed: Vec<(i64, usize)> = out.iter().map(|&i| (c.updated(w, i), i)).collect();
    if lo > 0 {
        keyed.select_nth_unstable(lo);
    }
    let rest = &mut keyed[lo..];
    if hi - lo < rest.len() {
        rest.select_nth_unstable(hi - lo);
    }
    let page = &mut keyed[lo..hi];
    page.sort_unstable();
    let mut v: Vec<usize> = page.iter().map(|&(_, i)| i).collect();
    if desc {
        v.reverse();
    }
    (v, n)
}

/// The records a list request selects, unordered, and whether it asks for
/// update-time order (`Some(descending)`); otherwise the order is creation order.
fn filtered(c: Collection, w: &World, ids: &XeroIds, q: &HashMap<String, String>, since: Option<i64>, terms: &[Term]) -> (Vec<usize>, Option<bool>) {
    let include_archived = q.get("includeArchived").is_some_and(|v| v == "true");
    let wanted: Option<Vec<usize>> = q.get("IDs").map(|s| s.split(',').filter_map(|id| ids.index(c.kind(), id)).map(|i| i as usize).collect());
    let mut out: Vec<usize> = (0..c.len(w))
        .filter(|&i| match c {
            Collection::Contacts => include_archived || !c.gone(w, i) || since.is_some(),
            _ => !c.gone(w, i) || since.is_some(),
        })
        .filter(|&i| since.is_none_or(|s| c.updated(w, i) >= s))
        .filter(|i| wanted.as_ref().is_none_or(|v| v.contains(i)))
        .collect();
    if !terms.is_empty() {
        let hits = Hits::default();
        let links = (c == Collection::Invoices).then(|| InvoiceLinks::of(w, &out));
        out.retain(|&i| {
            let r = render_linked(c, w, ids, i, &hits, true, links.as_ref());
            terms.iter().all(|t| term_holds(t, &r))
        });
    }
    let mut desc = None;
    if let Some(order) = q.get("order") {
        let mut parts = order.split_whitespace();
        if parts.next() == Some("UpdatedDateUTC") {
            desc = Some(parts.next().is_some_and(|d| d.eq_ignore_ascii_case("DESC")));
        }
    }
    (out, desc)
}

/// The shifting-offsets fault: delete the record just before the page's
/// first position and touch the one before that.
fn churn(st: &SandboxState, c: Collection, order: &[usize], start: usize) {
    if start < 2 || start > order.len() {
        return;
    }
    let (del, upd) = (order[start - 1], order[start - 2]);
    let now = st.clock.now_ms();
    let mut w = st.write();
    match c {
        Collection::Contacts => {
            w.xero.contacts[del].archived = true;
            w.xero.contacts[del].touch(now);
            w.xero.contacts[upd].touch(now);
        }
        Collection::Invoices => {
            w.xero.invoices[del].flags |= doc_flags::DELETED;
            w.xero.invoices[del].touch(now);
            w.xero.invoices[upd].touch(now);
        }
        Collection::Payments => {
            w.xero.payments[del].deleted = true;
            w.xero.payments[del].updated_ms = now;
            w.xero.payments[upd].updated_ms = now;
        }
        Collection::CreditNotes => {
            w.xero.credit_notes[del].deleted = true;
            w.xero.credit_notes[del].updated_ms = now;
            w.xero.credit_notes[upd].updated_ms = now;
        }
    }
    drop(w);
    let ids = st.xero_ids();
    let mut l = st.ledger();
    for (i, action) in [(del, "deleted"), (upd, "updated")] {
        l.churned(ChurnEvent { provider: Provider::Xero, object: c.ledger_name(), id: ids.id(c.kind(), i as u32).to_string(), action });
    }
}

async fn list(State(st): State<Arc<SandboxState>>, Path(collection): Path<String>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let Some(c) = Collection::parse(&collection) else {
        return refuse(Provider::Xero, &Refusal::NotFound);
    };
    let adm = match admit(&st, Provider::Xero, &headers, GateOptions::default()).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let page = q.get("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
    let page_size = q.get("pageSize").and_then(|p| p.parse::<usize>().ok()).unwrap_or(100).clamp(1, 1000);
    let since = headers.get("If-Modified-Since").and_then(|v| v.to_str().ok()).and_then(parse_time_ms);
    let terms = match q.get("where").map(|w| parse_where(w)).transpose() {
        Ok(t) => t.unwrap_or_default(),
        Err(e) => return finish(adm, xero_validation(json!({}), &[e])).await,
    };
    let summary = q.get("summaryOnly").is_some_and(|v| v == "true");
    let ids = st.xero_ids();
    let start = (page - 1) * page_size;
    if adm.hits.shifting_offsets && start > 0 {
        let order = select(c, &st.read(), &ids, &q, since, &terms);
        churn(&st, c, &order, start);
    }
    let body = {
        let w = st.read();
        let (page_items, item_count) = select_page(c, &w, &ids, &q, since, &terms, (start, page_size));
        let page_count = item_count.div_ceil(page_size);
        let mut items = page_texts(&st, &w, c, &ids, &page_items, &adm.hits, summary);
        if adm.hits.duplicate_delivery {
            if let Some(first) = items.first().cloned() {
                items.push(first);
            }
        }
        let pagination = json!({"page": page, "pageSize": page_size, "pageCount": page_count, "itemCount": item_count});
        envelope_with_texts(&st, c, &items, pagination)
    };
    let r = json_bytes_response(StatusCode::OK, body);
    finish(adm, r).await
}

/// A page's records as wire text, in order: from [`crate::state::RenderCache`]
/// when the world has not changed since they were rendered, rendered (and
/// remembered) otherwise. Schema-drift faults change the text, so a page they
/// hit is rendered afresh and not remembered. `w` is the read lock the page
/// was selected under, so the version read here is the world's.
fn page_texts(st: &SandboxState, w: &World, c: Collection, ids: &XeroIds, items: &[usize], hits: &Hits, summary: bool) -> Vec<Arc<[u8]>> {
    let cacheable = !hits.drift_rename && !hits.drift_nest;
    let version = st.world_version();
    let key = |i: usize| (c as u8, summary, i as u32);
    let mut texts = if cacheable { st.rendered.lock().unwrap_or_else(|e| e.into_inner()).get_all(version, items.iter().map(|&i| key(i))) } else { vec![None; items.len()] };
    let missing: Vec<usize> = items.iter().zip(&texts).filter(|(_, t)| t.is_none()).map(|(&i, _)| i).collect();
    if missing.is_empty() {
        return texts.into_iter().flatten().collect();
    }
    let links = (c == Collection::Invoices).then(|| InvoiceLinks::of(w, &missing));
    let mut fresh = Vec::with_capacity(missing.len());
    for (slot, &i) in texts.iter_mut().zip(items).filter(|(t, _)| t.is_none()) {
        let text: Arc<[u8]> = serde_json::to_vec(&render_linked(c, w, ids, i, hits, summary, links.as_ref())).unwrap_or_default().into();
        fresh.push((key(i), text.clone()));
        *slot = Some(text);
    }
    if cacheable {
        st.rendered.lock().unwrap_or_else(|e| e.into_inner()).put_all(version, fresh.into_iter());
    }
    texts.into_iter().flatten().collect()
}

/// [`envelope`] around records already in wire text: the same bytes
/// `json_response` would write for the envelope holding them as values.
fn envelope_with_texts(st: &SandboxState, c: Collection, items: &[Arc<[u8]>], pagination: Value) -> Vec<u8> {
    let shell = serde_json::to_vec(&envelope(st, c, Vec::new(), Some(pagination))).unwrap_or_default();
    let slot = format!("\"{}\":[", c.name());
    let at = shell.windows(slot.len()).position(|w| w == slot.as_bytes()).map_or(shell.len(), |p| p + slot.len());
    let mut body = Vec::with_capacity(shell.len() + items.iter().map(|t| t.len() + 1).sum::<usize>());
    body.extend_from_slice(&shell[..at]);
    for (n, t) in items.iter().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(t);
    }
    body.extend_from_slice(&shell[at..]);
    body
}

async fn read_one(State(st): State<Arc<SandboxState>>, Path((collection, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let Some(c) = Collection::parse(&collection) else {
        return refuse(Provider::Xero, &Refusal::NotFound);
    };
    let adm = match admit(&st, Provider::Xero, &headers, GateOptions::default()).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let ids = st.xero_ids();
    let r = {
        let w = st.read();
        match ids.index(c.kind(), &id).map(|i| i as usize).filter(|i| *i < c.len(&w)) {
            Some(i) => json_response(StatusCode::OK, &envelope(&st, c, vec![render(c, &w, &ids, i, &adm.hits, false)], None), &[]),
            None => refuse(Provider::Xero, &Refusal::NotFound),
        }
    };
    finish(adm, r).await
}

fn items_of(body: &Value, c: Collection) -> Vec<Value> {
    match body.get(c.name()) {
        Some(Value::Array(a)) => a.clone(),
        _ if body.is_object() => vec![body.clone()],
        _ => Vec::new(),
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str().map(str::to_string))
}

fn apply_contact(r: &mut PartyRecord, v: &Value, now: i64) {
    let pairs = [
        ("FirstName", PartyField::Given),
        ("LastName", PartyField::Family),
        ("EmailAddress", PartyField::Email),
        ("TaxNumber", PartyField::Abn),
    ];
    for (k, f) in pairs {
        if let Some(t) = text(v, k) {
            r.set(f, &t);
        }
    }
    if let Some(name) = text(v, "Name") {
        if r.get(PartyField::Company).is_empty() && name == format!("{} {}", r.get(PartyField::Given), r.get(PartyField::Family)).trim() {
            // Name matches the person: nothing extra to keep.
        } else if !r.get(PartyField::Company).is_empty() {
            r.set(PartyField::Company, &name);
        } else {
            r.set_extra("Name", json!(name));
        }
    }
    if let Some(addr) = v.get("Addresses").and_then(Value::as_array).and_then(|a| a.iter().find(|x| x["AddressType"] == "POBOX").or(a.first())) {
        for (k, f) in [("AddressLine1", PartyField::Street), ("City", PartyField::City), ("Region", PartyField::State), ("PostalCode", PartyField::Postcode)] {
            if let Some(t) = text(addr, k) {
                r.set(f, &t);
            }
        }
    }
    if let Some(ph) = v.get("Phones").and_then(Value::as_array).and_then(|a| a.iter().find(|x| x["PhoneType"] == "DEFAULT")) {
        if let Some(t) = text(ph, "PhoneNumber") {
            r.set(PartyField::Phone, &t);
        }
    }
    if let Some(s) = text(v, "ContactStatus") {
        r.archived = s == "ARCHIVED";
    }
    for k in ["AccountNumber", "ContactNumber", "Website", "CompanyNumber"] {
        if let Some(x) = v.get(k) {
            r.set_extra(k, x.clone());
        }
    }
    r.touch(now);
}

fn client_lines_of(v: &Value) -> Result<Vec<ClientLine>, String> {
    let mut out = Vec::new();
    for l in v.get("LineItems").and_then(Value::as_array).cloned().unwrap_or_default() {
        let qty = l.get("Quantity").and_then(decimal_of).unwrap_or(Decimal::ONE);
        let unit = l.get("UnitAmount").and_then(decimal_of).ok_or("A line item needs a UnitAmount")?;
        out.push(ClientLine {
            description: text(&l, "Description").unwrap_or_default(),
            code: text(&l, "ItemCode").unwrap_or_default(),
            qty,
            unit,
            taxable: text(&l, "TaxType").is_none_or(|t| t == "OUTPUT"),
        });
    }
    if out.is_empty() {
        return Err("An invoice needs at least one line item".into());
    }
    Ok(out)
}

/// Applies one item of a write; returns its index or validation messages.
fn apply_item(c: Collection, w: &mut World, ids: &XeroIds, item: &Value, path_id: Option<&str>, create_only: bool, now: i64) -> Result<usize, Vec<String>> {
    let id_key = match c {
        Collection::Contacts => "ContactID",
        Collection::Invoices => "InvoiceID",
        Collection::Payments => "PaymentID",
        Collection::CreditNotes => "CreditNoteID",
    };
    let id = path_id.map(str::to_string).or_else(|| text(item, id_key));
    match (c, id) {
        (_, Some(_)) if create_only => Err(vec![format!("{id_key} cannot be set when creating (use POST to update)")]),
        (Collection::Contacts, Some(id)) => {
            let i = ids.index(XeroKind::Contact, &id).map(|i| i as usize).filter(|i| *i < w.xero.contacts.len()).ok_or(vec![format!("Contact {id} not found")])?;
            apply_contact(&mut w.xero.contacts[i], item, now);
            Ok(i)
        }
        (Collection::Contacts, None) => {
            let name = text(item, "Name").ok_or(vec!["The contact name must be supplied".to_string()])?;
            if w.xero.contacts.iter().any(|c| !c.archived && contact_name(c).eq_ignore_ascii_case(&name)) {
                return Err(vec![format!("The contact name {name} is already assigned to another contact. The contact name must be unique across all active contacts.")]);
            }
            let mut r = PartyRecord::new(NONE, [""; crate::record::PARTY_FIELDS], now, now);
            if item.get("FirstName").is_none() && item.get("LastName").is_none() {
                r.set(PartyField::Company, &name);
            }
            apply_contact(&mut r, item, now);
            w.xero.contacts.push(r);
            Ok(w.xero.contacts.len() - 1)
        }
        (Collection::Invoices, Some(id)) => {
            let i = ids.index(XeroKind::Invoice, &id).map(|i| i as usize).filter(|i| *i < w.xero.invoices.len()).ok_or(vec![format!("Invoice {id} not found")])?;
            let d = &mut w.xero.invoices[i];
            if item.get("LineItems").is_some() {
                return Err(vec!["This sandbox does not change the line items of an existing invoice".into()]);
            }
            match text(item, "Status").as_deref() {
                Some("VOIDED") if d.paid_cents > 0 => return Err(vec!["Payments have been applied to this invoice; remove them before voiding".into()]),
                Some("VOIDED") => d.flags |= doc_flags::VOIDED,
                Some("DELETED") => d.flags |= doc_flags::DELETED,
                _ => {}
            }
            if let Some(due) = text(item, "DueDate").and_then(|t| parse_time_ms(&t)) {
                d.due_days = ((due - d.date_ms).max(0) / 86_400_000).min(u16::MAX as i64) as u16;
            }
            for k in ["Reference", "Url", "ExpectedPaymentDate"] {
                if let Some(x) = item.get(k) {
                    d.set_extra(k, x.clone());
                }
            }
            d.touch(now);
            Ok(i)
        }
        (Collection::Invoices, None) => {
            let contact = item.get("Contact").and_then(|c| text(c, "ContactID")).and_then(|id| ids.index(XeroKind::Contact, &id)).filter(|i| (*i as usize) < w.xero.contacts.len());
            let contact = contact.ok_or(vec!["A valid Contact.ContactID must be supplied".to_string()])?;
            let lines = client_lines_of(item).map_err(|e| vec![e])?;
            let date = text(item, "Date").and_then(|t| parse_time_ms(&t)).unwrap_or(now);
            let due = text(item, "DueDate").and_then(|t| parse_time_ms(&t)).unwrap_or(date);
            let number = w.xero.invoices.iter().map(|d| d.number).max().unwrap_or(0) + 1;
            let mut d = DocRecord {
                sale: NONE,
                customer: contact,
                number,
                date_ms: date,
                due_days: ((due - date).max(0) / 86_400_000) as u16,
                created_ms: now,
                updated_ms: now,
                version: 1,
                paid_cents: 0,
                refunded_cents: 0,
                adjust_cents: 0,
                treatment: if text(item, "LineAmountTypes").as_deref() == Some("Inclusive") { Treatment::Inclusive } else { Treatment::Exclusive },
                flags: doc_flags::CLIENT_CREATED,
                extra: None,
            };
            set_client_lines(&mut d, &lines);
            if let Some(r) = item.get("Reference") {
                d.set_extra("Reference", r.clone());
            }
            w.xero.invoices.push(d);
            Ok(w.xero.invoices.len() - 1)
        }
        (Collection::Payments, Some(id)) => {
            let i = ids.index(XeroKind::Payment, &id).map(|i| i as usize).filter(|i| *i < w.xero.payments.len()).ok_or(vec![format!("Payment {id} not found")])?;
            if text(item, "Status").as_deref() == Some("DELETED") && !w.xero.payments[i].deleted {
                let p = &mut w.xero.payments[i];
                p.deleted = true;
                p.updated_ms = now;
                p.version += 1;
                let (doc, amount) = (p.doc as usize, p.amount_cents);
                w.xero.invoices[doc].paid_cents -= amount;
                w.xero.invoices[doc].touch(now);
            }
            Ok(i)
        }
        (Collection::Payments, None) => {
            let inv = item.get("Invoice").and_then(|c| text(c, "InvoiceID")).and_then(|id| ids.index(XeroKind::Invoice, &id)).filter(|i| (*i as usize) < w.xero.invoices.len());
            let inv = inv.ok_or(vec!["A valid Invoice.InvoiceID must be supplied".to_string()])? as usize;
            let amount = item.get("Amount").and_then(decimal_of).map(to_cents).ok_or(vec!["Amount must be supplied".to_string()])?;
            let total = to_cents(w.invoice_amounts(&w.xero.invoices[inv]).total);
            let d = &w.xero.invoices[inv];
            let due = total - d.paid_cents - d.refunded_cents;
            if amount <= 0 || amount > due {
                return Err(vec!["Payment amount exceeds the amount outstanding on this document".into()]);
            }
            let date = text(item, "Date").and_then(|t| parse_time_ms(&t)).unwrap_or(now);
            let mut p = PaymentRecord { doc: inv as u32, amount_cents: amount, date_ms: date, created_ms: now, updated_ms: now, version: 1, deleted: false, extra: None };
            if let Some(r) = item.get("Reference") {
                p.extra.get_or_insert_with(Default::default).insert("Reference".into(), r.clone());
            }
            w.xero.payments.push(p);
            w.xero.invoices[inv].paid_cents += amount;
            w.xero.invoices[inv].touch(now);
            Ok(w.xero.payments.len() - 1)
        }
        (Collection::CreditNotes, _) => Err(vec!["This sandbox does not accept credit note writes".into()]),
    }
}

async fn write(st: Arc<SandboxState>, c: Collection, path_id: Option<String>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let adm = match admit(&st, Provider::Xero, &headers, GateOptions::default()).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let key = headers.get("Idempotency-Key").and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(k) = &key {
        if k.len() > 128 {
            return finish(adm, xero_validation(json!({}), &["Idempotency-Key must be at most 128 characters".into()])).await;
        }
        let replay = st.ledger().replay(Provider::Xero, k);
        if let Some(r) = replay {
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
            let resp = json_bytes_response(status, r.body);
            return finish(adm, resp).await;
        }
    }
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return finish(adm, xero_validation(json!({}), &[format!("The request body is not valid JSON: {e}")])).await,
    };
    let items = items_of(&parsed, c);
    let create_only = method == Method::PUT;
    let now = st.clock.now_ms();
    let ids = st.xero_ids();
    let mut applied = Vec::new();
    let result: Result<Vec<Value>, (Value, Vec<String>)> = {
        let mut w = st.write();
        let mut out = Vec::new();
        let mut failure = None;
        for item in &items {
            match apply_item(c, &mut w, &ids, item, path_id.as_deref(), create_only, now) {
                Ok(i) => {
                    applied.push(i);
                    out.push(render(c, &w, &ids, i, &adm.hits, false));
                }
                Err(msgs) => {
                    failure = Some((item.clone(), msgs));
                    break;
                }
            }
        }
        match failure {
            Some(f) => Err(f),
            None => Ok(out),
        }
    };
    let (status, resp_body) = match result {
        Ok(out) => {
            let mut l = st.ledger();
            for (n, i) in applied.iter().enumerate() {
                let item = &items[n];
                let has_id = ["ContactID", "InvoiceID", "PaymentID"].iter().any(|k| item.get(*k).is_some());
                let action = if path_id.is_some() || has_id { "update" } else { "create" };
                l.write(now, Provider::Xero, c.ledger_name(), &ids.id(c.kind(), *i as u32).to_string(), action, key.as_deref());
            }
            (StatusCode::OK, envelope(&st, c, out, None))
        }
        Err((item, msgs)) => {
            st.ledger().rejected(Provider::Xero);
            let errors: Vec<Value> = msgs.iter().map(|m| json!({"Message": m})).collect();
            let mut el = item;
            if let Some(o) = el.as_object_mut() {
                o.insert("ValidationErrors".into(), Value::Array(errors));
            }
            (StatusCode::BAD_REQUEST, json!({"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred", "Elements": [el]}))
        }
    };
    let bytes = serde_json::to_vec(&resp_body).unwrap_or_default();
    if let Some(k) = &key {
        st.ledger().remember(Provider::Xero, k, status.as_u16(), bytes.clone());
    }
    let resp = json_bytes_response(status, bytes);
    finish(adm, resp).await
}

/// Xero's API routes, relative to its base URL.
pub fn routes() -> Router<Arc<SandboxState>> {
    let collection_write = |method: Method| {
        move |State(st): State<Arc<SandboxState>>, Path(collection): Path<String>, headers: HeaderMap, body: Bytes| {
            let method = method.clone();
            async move {
                match Collection::parse(&collection) {
                    Some(c) => write(st, c, None, method, headers, body).await,
                    None => refuse(Provider::Xero, &Refusal::NotFound),
                }
            }
        }
    };
    let one_write = |State(st): State<Arc<SandboxState>>, Path((collection, id)): Path<(String, String)>, headers: HeaderMap, body: Bytes| async move {
        match Collection::parse(&collection) {
            Some(c) => write(st, c, Some(id), Method::POST, headers, body).await,
            None => refuse(Provider::Xero, &Refusal::NotFound),
        }
    };
    Router::new()
        .route("/api.xro/2.0/{collection}", get(list).post(collection_write(Method::POST)).put(collection_write(Method::PUT)))
        .route("/api.xro/2.0/{collection}/{id}", get(read_one).post(one_write))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_clauses() {
        let ok = parse_where("ContactStatus==\"ACTIVE\" AND IsCustomer==true").expect("a simple conjunction parses");
        assert_eq!(ok.len(), 2, "two terms");
        let record = json!({"ContactStatus": "ACTIVE", "IsCustomer": true, "Contact": {"ContactID": "abc"}});
        assert!(ok.iter().all(|t| term_holds(t, &record)), "both terms hold for an active customer");
        let guid = parse_where("Contact.ContactID=Guid(\"abc\")").expect("Guid() values parse");
        assert!(term_holds(&guid[0], &record), "nested paths are followed");
        assert!(parse_where("Name.StartsWith(\"A\")").is_err(), "method calls are not supported and must be refused");
    }
}
