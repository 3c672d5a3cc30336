//! Provider payloads mapped onto Concord's canonical model (`concord_core::model`).
//!
//! The sync engine stores each record's exact payload in `raw_records` and,
//! through this module, its canonical form (a [`CanonicalRecord`]: a `Party`,
//! `SalesDocument` or `Payment` tagged by `entity`) in `canonical_records.data`,
//! which is what matching reads. Fields are found through the stream's own
//! alias-aware declarations (the flat field map of [`crate::mapping`], so a
//! renamed or moved field such as Xero `AmountOutstanding` or QuickBooks
//! `TxnTaxDetail.TaxLine[*].Amount` is found here exactly as the drift report
//! finds it); structure the flat map does not carry (lines, addresses, phones,
//! allocations) is read from the payload with the shared path helpers of
//! [`crate::spec`].
//!
//! Money is never guessed: a missing total is an error (the record stays out
//! of matching and the engine keeps its flat map with the reason), a missing
//! optional amount is `None`. Decimals are parsed from the JSON number's own
//! text (`Value::to_string()` for numbers, the string itself for strings), never
//! through `f64` arithmetic; without serde_json's `arbitrary_precision` a
//! number was held as an `f64` while parsing, and its shortest round-trip text
//! is the decimal the provider wrote for any amount with at most 15 significant
//! digits, which covers every currency amount. Xero's `/Date(ms+0000)/` and
//! RFC 3339 times become `YYYY-MM-DD` dates (UTC).

use crate::engine::normalize_time;
use crate::mapping::{map_record, DriftTally};
use crate::providers::spec_for;
use crate::spec::{lookup, text_at, StreamSpec};
use concord_core::model::*;
use concord_core::Provider;
use concord_core::Decimal;
use serde_json::Value;
use std::str::FromStr;

/// Maps one stored payload of `provider`'s `stream` onto the canonical model.
pub fn to_model(provider: Provider, stream: &str, source: Source, payload: &Value) -> Result<CanonicalRecord, String> {
    let spec = spec_for(provider).streams.iter().find(|s| s.name == stream).ok_or_else(|| format!("{provider} has no stream {stream:?}"))?;
    let flat = map_record(spec, payload, &source.external_id, &mut DriftTally::default());
    to_model_with(provider, spec, source, payload, &flat)
}

/// [`to_model`] given the flat field map the engine already made for the drift report.
pub fn to_model_with(provider: Provider, stream: &StreamSpec, source: Source, payload: &Value, flat: &Value) -> Result<CanonicalRecord, String> {
    let r = Rec { flat, raw: payload, spec: stream };
    match (provider, stream.name) {
        (Provider::HubSpot, "contacts") => Ok(CanonicalRecord::Party(hubspot_party(&r, source, PartyKind::Person))),
        (Provider::HubSpot, "companies") => Ok(CanonicalRecord::Party(hubspot_party(&r, source, PartyKind::Organisation))),
        (Provider::Shopify, "customers") => Ok(CanonicalRecord::Party(shopify_customer(&r, source))),
        (Provider::Shopify, "orders") => shopify_order(&r, source).map(CanonicalRecord::SalesDocument),
        (Provider::Xero, "contacts") => Ok(CanonicalRecord::Party(xero_contact(&r, source))),
        (Provider::Xero, "invoices") => xero_document(&r, source, DocumentKind::Invoice).map(CanonicalRecord::SalesDocument),
        (Provider::Xero, "credit_notes") => xero_document(&r, source, DocumentKind::CreditNote).map(CanonicalRecord::SalesDocument),
        (Provider::Xero, "payments") => xero_payment(&r, source).map(CanonicalRecord::Payment),
        (Provider::QuickBooks, "customers") => Ok(CanonicalRecord::Party(quickbooks_customer(&r, source))),
        (Provider::QuickBooks, "invoices") => quickbooks_document(&r, source, DocumentKind::Invoice).map(CanonicalRecord::SalesDocument),
        (Provider::QuickBooks, "credit_memos") => quickbooks_document(&r, source, DocumentKind::CreditNote).map(CanonicalRecord::SalesDocument),
        (Provider::QuickBooks, "payments") => quickbooks_payment(&r, source).map(CanonicalRecord::Payment),
        (p, s) => Err(format!("no canonical mapping for {p} {s}")),
    }
}

/// What the engine stores in `canonical_records.data` for a record: the model's
/// JSON, or (when the payload cannot be mapped) the flat map with the reason
/// under `_model_error`, so the row is kept, explained and counted as unreadable.
pub fn stored_json(provider: Provider, stream: &StreamSpec, source: Source, payload: &Value, flat: Value) -> String {
    match to_model_with(provider, stream, source, payload, &flat) {
        Ok(model) => serde_json::to_string(&model).unwrap_or_default(),
        Err(e) => {
            let mut flat = flat;
            if let Value::Object(m) = &mut flat {
                m.insert("_model_error".into(), Value::String(e));
            }
            serde_json::to_string(&flat).unwrap_or_default()
        }
    }
}

/// A record the store keeps beside the one it was read inside: a Shopify
/// refund, which the Admin API serves only within its order.
#[derive(Debug, Clone, PartialEq)]
pub struct Child {
    /// The store object (`refunds`).
    pub object: &'static str,
    /// The canonical kind (`payment`).
    pub kind: &'static str,
    pub id: String,
    /// RFC 3339 UTC, milliseconds.
    pub updated: Option<String>,
    /// The child's own payload, as served inside its parent.
    pub payload: String,
    /// Its canonical JSON (or, when unreadable, the reason under `_model_error`).
    pub mapped: String,
}

/// The records stored beside `payload` (a record of `stream` with id `parent_id`):
/// each refund of a Shopify order, as a refunded [`Payment`] allocated to the order.
pub fn children(provider: Provider, stream: &StreamSpec, connection_id: i64, payload: &Value, parent_id: &str, parent_updated: Option<&str>) -> Vec<Child> {
    match (provider, stream.name) {
        (Provider::Shopify, "orders") => shopify_refunds(connection_id, payload, parent_id, parent_updated),
        _ => Vec::new(),
    }
}

/// A record as the flat map (alias-resolved fields) and the raw payload.
struct Rec<'a> {
    flat: &'a Value,
    raw: &'a Value,
    spec: &'a StreamSpec,
}

impl Rec<'_> {
    /// A mapped field's text; empty strings are `None`. The flat map takes the
    /// first path present, even when it is empty (that is what drift reports);
    /// a value still served under a later alias is used here.
    fn text(&self, field: &str) -> Option<String> {
        self.flat.get(field).and_then(text_of).or_else(|| {
            let f = self.spec.fields.iter().find(|f| f.name == field)?;
            f.paths.iter().filter(|p| !p.contains("[*]")).find_map(|p| lookup(self.raw, p).and_then(text_of))
        })
    }

    /// A raw path's text; empty strings are `None`.
    fn raw_text(&self, path: &str) -> Option<String> {
        text_at(self.raw, path).filter(|s| !s.trim().is_empty())
    }

    /// A mapped money field; an array (a `[*]` alias) is summed.
    fn money(&self, field: &str) -> Result<Option<Decimal>, String> {
        match self.flat.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => {
                let mut sum = Decimal::ZERO;
                for v in items {
                    sum += decimal(v).map_err(|e| format!("{field}: {e}"))?.unwrap_or_default();
                }
                Ok(Some(sum))
            }
            Some(v) => decimal(v).map_err(|e| format!("{field}: {e}")),
        }
    }

    /// A money field the document cannot do without.
    fn required(&self, field: &str) -> Result<Decimal, String> {
        self.money(field)?.ok_or_else(|| format!("{field} is missing, so the record's money cannot be read"))
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A decimal from a JSON number or string, through its text (never `f64` arithmetic).
pub fn decimal(v: &Value) -> Result<Option<Decimal>, String> {
    let text = match v {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("{other} is not an amount")),
    };
    Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).map(Some).map_err(|e| format!("{text:?} is not an amount: {e}"))
}

fn raw_decimal(v: &Value, path: &str) -> Result<Option<Decimal>, String> {
    lookup(v, path).map(decimal).unwrap_or(Ok(None)).map_err(|e| format!("{path}: {e}"))
}

/// A provider date or time as `YYYY-MM-DD`: a bare date is kept, a time (RFC 3339,
/// Xero `/Date(ms+0000)/`) is taken in UTC.
pub fn date(text: &str) -> Option<String> {
    let t = text.trim();
    if t.len() == 10 && chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok() {
        return Some(t.to_string());
    }
    normalize_time(t).map(|s| s[..10].to_string())
}

fn phones(list: impl IntoIterator<Item = (Option<&'static str>, Option<String>)>) -> Vec<Phone> {
    list.into_iter().filter_map(|(label, n)| n.map(|number| Phone { label: label.map(str::to_string), number })).collect()
}

fn non_empty(a: Address) -> Option<Address> {
    (!(a.lines.is_empty() && a.city.is_none() && a.region.is_none() && a.postcode.is_none())).then_some(a)
}

fn hubspot_party(r: &Rec<'_>, source: Source, kind: PartyKind) -> Party {
    let address = Address {
        kind: AddressKind::Street,
        lines: r.text("street").into_iter().collect(),
        city: r.text("city"),
        region: r.text("state"),
        postcode: r.text("postcode"),
        country: r.text("country"),
    };
    let company = r.text("company");
    Party {
        source,
        kind,
        given_name: r.text("given_name"),
        family_name: r.text("family_name"),
        display_name: if kind == PartyKind::Organisation { company.clone() } else { None },
        company_name: company,
        emails: r.text("email").into_iter().collect(),
        phones: phones([(None, r.text("phone")), (Some("mobile"), r.raw_text("properties.mobilephone"))]),
        addresses: non_empty(address).into_iter().collect(),
        tax_number: r.text("tax_number"),
        parent_external_id: r.text("company_id"),
        ..Default::default()
    }
}

fn shopify_customer(r: &Rec<'_>, source: Source) -> Party {
    let address = Address {
        kind: AddressKind::Shipping,
        lines: r.text("street").into_iter().collect(),
        city: r.text("city"),
        region: r.text("state"),
        postcode: r.text("postcode"),
        country: r.raw_text("defaultAddress.countryCodeV2").or_else(|| r.raw_text("defaultAddress.country")),
    };
    Party {
        source,
        kind: PartyKind::Person,
        given_name: r.text("given_name"),
        family_name: r.text("family_name"),
        display_name: r.raw_text("displayName"),
        company_name: r.text("company"),
        emails: r.text("email").into_iter().collect(),
        phones: phones([(None, r.text("phone"))]),
        addresses: non_empty(address).into_iter().collect(),
        ..Default::default()
    }
}

fn shopify_order(r: &Rec<'_>, source: Source) -> Result<SalesDocument, String> {
    let total = r.required("total")?;
    let tax = r.required("total_tax")?;
    let inclusive = r.flat.get("taxes_included").and_then(Value::as_bool).ok_or("taxes_included is missing, so the tax treatment is unknown")?;
    let status_raw = r.text("financial_status");
    let status = if r.text("cancelled_at").is_some() {
        DocumentStatus::Void
    } else {
        match status_raw.as_deref().unwrap_or("") {
            "PENDING" | "AUTHORIZED" | "EXPIRED" => DocumentStatus::Open,
            "PARTIALLY_PAID" => DocumentStatus::PartiallyPaid,
            "PAID" | "PARTIALLY_REFUNDED" => DocumentStatus::Paid,
            "REFUNDED" => DocumentStatus::Refunded,
            "VOIDED" => DocumentStatus::Void,
            _ => DocumentStatus::Unknown,
        }
    };
    if lookup(r.raw, "lineItems.pageInfo.hasNextPage").and_then(Value::as_bool) == Some(true) {
        // The engine reads the rest before storing; a payload still cut off is never mapped as if whole.
        return Err("the order's line items were not all fetched (lineItems.pageInfo.hasNextPage is true)".into());
    }
    let mut lines = Vec::new();
    for l in lookup(r.raw, "lineItems.nodes").and_then(Value::as_array).into_iter().flatten() {
        let quantity = raw_decimal(l, "quantity")?.ok_or("an order line has no quantity")?;
        let unit_amount = raw_decimal(l, "originalUnitPriceSet.shopMoney.amount")?.ok_or("an order line has no unit price")?;
        let line_amount = raw_decimal(l, "originalTotalSet.shopMoney.amount")?.unwrap_or(unit_amount * quantity);
        let mut line_tax = None;
        for t in l.get("taxLines").and_then(Value::as_array).into_iter().flatten() {
            if let Some(a) = raw_decimal(t, "priceSet.shopMoney.amount")? {
                line_tax = Some(line_tax.unwrap_or(Decimal::ZERO) + a);
            }
        }
        lines.push(DocumentLine { description: text_at(l, "title"), item_code: text_at(l, "sku").filter(|s| !s.is_empty()), quantity, unit_amount, tax_amount: line_tax, line_amount });
    }
    Ok(SalesDocument {
        source,
        kind: DocumentKind::Order,
        number: r.text("number"),
        customer_ref: r.text("customer_id"),
        issue_date: r.text("date").and_then(|d| date(&d)),
        lines,
        // Shopify's subtotal includes tax when prices do; the model's is before tax.
        subtotal: total - tax,
        tax,
        total,
        amount_due: r.money("outstanding")?,
        status,
        status_raw,
        currency: r.text("currency"),
        tax_treatment: if inclusive { TaxTreatment::Inclusive } else { TaxTreatment::Exclusive },
        ..Default::default()
    })
}

fn shopify_refunds(connection_id: i64, order: &Value, order_id: &str, order_updated: Option<&str>) -> Vec<Child> {
    let Some(refunds) = order.get("refunds").and_then(Value::as_array) else { return Vec::new() };
    let mut out = Vec::with_capacity(refunds.len());
    for refund in refunds {
        let Some(id) = text_at(refund, "id").filter(|s| !s.is_empty()) else { continue };
        // A refund is never edited after it is made; its order's update time covers it when it says nothing.
        let updated = text_at(refund, "updatedAt").or_else(|| text_at(refund, "createdAt")).and_then(|t| normalize_time(&t)).or_else(|| order_updated.map(str::to_string));
        let source = Source { connection_id, provider: Some(Provider::Shopify), object: "refunds".into(), external_id: id.clone(), last_modified: updated.clone() };
        let mapped = match shopify_refund(refund, source, order, order_id) {
            Ok(p) => serde_json::to_string(&CanonicalRecord::Payment(p)).unwrap_or_default(),
            Err(e) => serde_json::json!({"_model_error": e}).to_string(),
        };
        out.push(Child { object: "refunds", kind: "payment", id, updated, payload: serde_json::to_string(refund).unwrap_or_default(), mapped });
    }
    out
}

/// A Shopify refund as money paid back to the customer against its order.
fn shopify_refund(refund: &Value, source: Source, order: &Value, order_id: &str) -> Result<Payment, String> {
    let amount = raw_decimal(refund, "totalRefundedSet.shopMoney.amount")?.ok_or("totalRefundedSet is missing, so the refund's amount cannot be read")?;
    Ok(Payment {
        source,
        direction: PaymentDirection::Refunded,
        amount,
        date: text_at(refund, "createdAt").and_then(|d| date(&d)),
        reference: text_at(refund, "note").filter(|s| !s.trim().is_empty()),
        currency: text_at(refund, "totalRefundedSet.shopMoney.currencyCode").or_else(|| text_at(order, "currencyCode")),
        customer_ref: text_at(order, "customer.id"),
        allocations: vec![Allocation { document_ref: order_id.to_string(), document_object: Some("orders".into()), amount }],
    })
}

fn xero_contact(r: &Rec<'_>, source: Source) -> Party {
    let given = r.text("given_name");
    let family = r.text("family_name");
    let name = r.text("name");
    let person_name = [given.as_deref(), family.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    // Xero has one Name; it names an organisation when it is not the person's own name.
    let organisation = name.as_ref().is_some_and(|n| !n.eq_ignore_ascii_case(person_name.trim()));
    let mut addresses = Vec::new();
    for a in lookup(r.raw, "Addresses").and_then(Value::as_array).into_iter().flatten() {
        let kind = match text_at(a, "AddressType").as_deref() {
            Some("POBOX") => AddressKind::Billing,
            Some("STREET") => AddressKind::Street,
            _ => AddressKind::Other,
        };
        let lines = (1..=4).filter_map(|i| text_at(a, &format!("AddressLine{i}")).filter(|s| !s.trim().is_empty())).collect();
        let get = |k: &str| text_at(a, k).filter(|s| !s.trim().is_empty());
        addresses.extend(non_empty(Address { kind, lines, city: get("City"), region: get("Region"), postcode: get("PostalCode"), country: get("Country") }));
    }
    let mut phone_list = Vec::new();
    for p in lookup(r.raw, "Phones").and_then(Value::as_array).into_iter().flatten() {
        let parts: Vec<String> = ["PhoneCountryCode", "PhoneAreaCode", "PhoneNumber"].iter().filter_map(|k| text_at(p, k).filter(|s| !s.trim().is_empty())).collect();
        if text_at(p, "PhoneNumber").is_some_and(|n| !n.trim().is_empty()) {
            phone_list.push(Phone { label: text_at(p, "PhoneType").map(|t| t.to_lowercase()), number: parts.join(" ") });
        }
    }
    Party {
        source,
        kind: if organisation { PartyKind::Organisation } else { PartyKind::Person },
        given_name: given,
        family_name: family,
        company_name: if organisation { name.clone() } else { None },
        display_name: name,
        emails: r.text("email").into_iter().collect(),
        phones: phone_list,
        addresses,
        tax_number: r.text("tax_number"),
        currency: r.raw_text("DefaultCurrency"),
        ..Default::default()
    }
}

fn xero_status(raw: Option<&str>, paid: Option<Decimal>, credited: Option<Decimal>) -> DocumentStatus {
    match raw.unwrap_or("") {
        "DRAFT" | "SUBMITTED" => DocumentStatus::Draft,
        "AUTHORISED" if paid.unwrap_or_default() + credited.unwrap_or_default() > Decimal::ZERO => DocumentStatus::PartiallyPaid,
        "AUTHORISED" => DocumentStatus::Open,
        "PAID" => DocumentStatus::Paid,
        "VOIDED" | "DELETED" => DocumentStatus::Void,
        _ => DocumentStatus::Unknown,
    }
}

fn xero_document(r: &Rec<'_>, source: Source, kind: DocumentKind) -> Result<SalesDocument, String> {
    let total = r.required("total")?;
    let tax = r.required("total_tax")?;
    // Credit notes declare SubTotal as a known key only; read it from the payload.
    let subtotal = match r.money("subtotal")? {
        Some(s) => s,
        None => raw_decimal(r.raw, "SubTotal")?.unwrap_or(total - tax),
    };
    let treatment_raw = r.text("tax_treatment").or_else(|| r.raw_text("LineAmountTypes"));
    let tax_treatment = match treatment_raw.as_deref() {
        Some("Inclusive") => TaxTreatment::Inclusive,
        Some("NoTax") => TaxTreatment::NoTax,
        Some(_) => TaxTreatment::Exclusive,
        None => return Err("LineAmountTypes is missing, so the tax treatment is unknown".into()),
    };
    let mut lines = Vec::new();
    for l in lookup(r.raw, "LineItems").and_then(Value::as_array).into_iter().flatten() {
        let quantity = raw_decimal(l, "Quantity")?.unwrap_or(Decimal::ONE);
        let line_amount = raw_decimal(l, "LineAmount")?.ok_or("a line has no LineAmount")?;
        let unit_amount = raw_decimal(l, "UnitAmount")?.ok_or("a line has no UnitAmount")?;
        let tax_amount = match raw_decimal(l, "TaxAmount")? {
            Some(t) => Some(t),
            None => raw_decimal(l, "Taxes[].TaxAmount")?,
        };
        lines.push(DocumentLine { description: text_at(l, "Description"), item_code: text_at(l, "ItemCode").filter(|s| !s.is_empty()), quantity, unit_amount, tax_amount, line_amount });
    }
    let status_raw = r.text("status");
    let amount_due = match kind {
        DocumentKind::CreditNote => r.money("remaining_credit")?,
        _ => r.money("amount_due")?,
    };
    Ok(SalesDocument {
        source,
        kind,
        number: r.text("number"),
        reference: r.text("reference"),
        customer_ref: r.text("customer_id"),
        issue_date: r.text("date").and_then(|d| date(&d)),
        due_date: r.text("due_date").and_then(|d| date(&d)),
        lines,
        subtotal,
        tax,
        total,
        amount_due,
        status: xero_status(status_raw.as_deref(), r.money("amount_paid")?, r.money("amount_credited")?),
        status_raw,
        currency: r.text("currency").or_else(|| r.raw_text("CurrencyCode")),
        tax_treatment,
        ..Default::default()
    })
}

fn xero_payment(r: &Rec<'_>, source: Source) -> Result<Payment, String> {
    let amount = r.required("amount")?;
    let (document_ref, object) = match (r.raw_text("Invoice.InvoiceID"), r.raw_text("CreditNote.CreditNoteID")) {
        (Some(id), _) => (id, "invoices"),
        (None, Some(id)) => (id, "credit_notes"),
        (None, None) => return Err("the payment names no invoice or credit note".into()),
    };
    let refund = object == "credit_notes" || r.text("payment_type").is_some_and(|t| t.contains("CREDIT"));
    Ok(Payment {
        source,
        direction: if refund { PaymentDirection::Refunded } else { PaymentDirection::Received },
        amount,
        date: r.text("date").and_then(|d| date(&d)),
        reference: r.text("reference"),
        currency: r.raw_text("Invoice.CurrencyCode").or_else(|| r.raw_text("CurrencyCode")),
        customer_ref: r.raw_text("Invoice.Contact.ContactID").or_else(|| r.raw_text("CreditNote.Contact.ContactID")),
        allocations: vec![Allocation { document_ref, document_object: Some(object.into()), amount }],
    })
}

fn quickbooks_address(a: Option<&Value>, kind: AddressKind) -> Option<Address> {
    let a = a?;
    let get = |k: &str| text_at(a, k).filter(|s| !s.trim().is_empty());
    non_empty(Address {
        kind,
        lines: (1..=5).filter_map(|i| get(&format!("Line{i}"))).collect(),
        city: get("City"),
        region: get("CountrySubDivisionCode"),
        postcode: get("PostalCode"),
        country: get("Country"),
    })
}

fn quickbooks_customer(r: &Rec<'_>, source: Source) -> Party {
    let company = r.text("company");
    Party {
        source,
        kind: if company.is_some() { PartyKind::Organisation } else { PartyKind::Person },
        given_name: r.text("given_name"),
        family_name: r.text("family_name"),
        display_name: r.text("name"),
        company_name: company,
        emails: r.text("email").into_iter().collect(),
        phones: phones([(None, r.text("phone")), (Some("mobile"), r.text("mobile"))]),
        addresses: quickbooks_address(r.flat.get("bill_address"), AddressKind::Billing)
            .into_iter()
            .chain(quickbooks_address(lookup(r.raw, "ShipAddr"), AddressKind::Shipping))
            .collect(),
        tax_number: r.text("tax_number"),
        currency: r.raw_text("CurrencyRef.value"),
        ..Default::default()
    }
}

/// The store's object for a QuickBooks `TxnType`.
fn quickbooks_object(txn_type: Option<&str>) -> Option<String> {
    Some(match txn_type? {
        "Invoice" => "invoices",
        "CreditMemo" => "credit_memos",
        "Payment" => "payments",
        other => return Some(other.to_lowercase()),
    }
    .to_string())
}

fn quickbooks_document(r: &Rec<'_>, source: Source, kind: DocumentKind) -> Result<SalesDocument, String> {
    let total = r.required("total")?;
    let tax = r.required("total_tax")?;
    let inclusive = match r.text("tax_treatment").or_else(|| r.raw_text("GlobalTaxCalculation")).as_deref() {
        Some("TaxInclusive") => TaxTreatment::Inclusive,
        Some("NotApplicable") => TaxTreatment::NoTax,
        _ => TaxTreatment::Exclusive,
    };
    let mut lines = Vec::new();
    for l in lookup(r.raw, "Line").and_then(Value::as_array).into_iter().flatten() {
        if text_at(l, "DetailType").as_deref() != Some("SalesItemLineDetail") {
            continue;
        }
        let d = l.get("SalesItemLineDetail").unwrap_or(&Value::Null);
        let ex = raw_decimal(l, "Amount")?.ok_or("a line has no Amount")?;
        let quantity = raw_decimal(d, "Qty")?.unwrap_or(Decimal::ONE);
        // QuickBooks states line amounts before tax; an inclusive document's own amount is TaxInclusiveAmt.
        let (line_amount, tax_amount) = match (inclusive, raw_decimal(d, "TaxInclusiveAmt")?) {
            (TaxTreatment::Inclusive, Some(inc)) => (inc, Some(inc - ex)),
            _ => (ex, None),
        };
        let unit_amount = match raw_decimal(d, "UnitPrice")? {
            Some(u) if inclusive != TaxTreatment::Inclusive => u,
            _ if !quantity.is_zero() => (line_amount / quantity).round_dp(6).normalize(),
            _ => line_amount,
        };
        lines.push(DocumentLine {
            description: text_at(l, "Description"),
            item_code: text_at(d, "ItemRef.value").filter(|s| !s.is_empty()),
            quantity,
            unit_amount,
            tax_amount,
            line_amount,
        });
    }
    let linked = |ty: &str| {
        lookup(r.raw, "LinkedTxn").and_then(Value::as_array).into_iter().flatten().find(|t| text_at(t, "TxnType").as_deref() == Some(ty)).and_then(|t| text_at(t, "TxnId"))
    };
    let balance = match kind {
        DocumentKind::CreditNote => r.money("remaining_credit")?,
        _ => r.money("balance")?,
    };
    let voided = r.raw_text("PrivateNote").is_some_and(|n| n.starts_with("Voided"));
    let status = match balance {
        _ if voided => DocumentStatus::Void,
        _ if kind == DocumentKind::CreditNote => DocumentStatus::Paid,
        Some(b) if b.is_zero() && !total.is_zero() => DocumentStatus::Paid,
        Some(b) if b < total => DocumentStatus::PartiallyPaid,
        Some(_) => DocumentStatus::Open,
        None => DocumentStatus::Unknown,
    };
    Ok(SalesDocument {
        source,
        kind,
        number: r.text("number"),
        // QuickBooks has no reference field; a credit memo's note names the invoice it refunds.
        reference: if kind == DocumentKind::CreditNote { r.raw_text("PrivateNote") } else { None },
        customer_ref: r.text("customer_id"),
        credits_ref: if kind == DocumentKind::CreditNote { linked("Invoice") } else { None },
        issue_date: r.text("date").and_then(|d| date(&d)),
        due_date: r.text("due_date").and_then(|d| date(&d)),
        lines,
        subtotal: total - tax,
        tax,
        total,
        amount_due: balance,
        status,
        status_raw: None,
        currency: r.raw_text("CurrencyRef.value"),
        tax_treatment: inclusive,
        ..Default::default()
    })
}

fn quickbooks_payment(r: &Rec<'_>, source: Source) -> Result<Payment, String> {
    let amount = r.required("amount")?;
    let mut allocations = Vec::new();
    for l in lookup(r.raw, "Line").and_then(Value::as_array).into_iter().flatten() {
        let line_amount = raw_decimal(l, "Amount")?;
        for t in l.get("LinkedTxn").and_then(Value::as_array).into_iter().flatten() {
            let Some(id) = text_at(t, "TxnId") else { continue };
            let a = line_amount.ok_or("a payment line names a transaction but no Amount")?;
            allocations.push(Allocation { document_ref: id, document_object: quickbooks_object(text_at(t, "TxnType").as_deref()), amount: a });
        }
    }
    Ok(Payment {
        source,
        direction: PaymentDirection::Received,
        amount,
        date: r.text("date").and_then(|d| date(&d)),
        reference: r.text("reference"),
        currency: r.raw_text("CurrencyRef.value"),
        customer_ref: r.text("customer_id"),
        allocations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_sandbox::business::{BusinessConfig, World};
    use concord_sandbox::faults::Hits;
    use concord_sandbox::provider::XeroIds;
    use concord_sandbox::{quickbooks as qb, xero};
    use serde_json::json;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn world() -> World {
        World::generate(&BusinessConfig { seed: 7, customers: 40 })
    }

    fn map(provider: Provider, stream: &str, payload: &Value) -> CanonicalRecord {
        let source = Source::new(1, provider, stream, "x");
        to_model(provider, stream, source, payload).unwrap_or_else(|e| panic!("{provider} {stream} must map: {e}\n{payload:#}"))
    }

    fn doc(r: CanonicalRecord) -> SalesDocument {
        match r {
            CanonicalRecord::SalesDocument(d) => d,
            other => panic!("expected a sales document, got {other:?}"),
        }
    }

    fn party(r: CanonicalRecord) -> Party {
        match r {
            CanonicalRecord::Party(p) => p,
            other => panic!("expected a party, got {other:?}"),
        }
    }

    fn payment(r: CanonicalRecord) -> Payment {
        match r {
            CanonicalRecord::Payment(p) => p,
            other => panic!("expected a payment, got {other:?}"),
        }
    }

    fn drifted() -> Hits {
        Hits { drift_rename: true, drift_nest: true, ..Default::default() }
    }

    #[test]
    fn decimals_come_from_the_numbers_text_never_from_f64_arithmetic() {
        let cases = [(json!(0.1), "0.1"), (json!("19.90"), "19.90"), (json!(1234567.89), "1234567.89"), (json!(3), "3"), (json!(1e2), "100")];
        for (v, want) in cases {
            assert_eq!(decimal(&v).unwrap(), Some(dec(want)), "{v} must parse to exactly {want}");
        }
        assert_eq!(decimal(&Value::Null).unwrap(), None, "null is no amount, not zero");
        assert!(decimal(&json!(true)).is_err(), "a boolean amount is an error, not a default");
        assert_eq!(date("/Date(1551399323399+0000)/").as_deref(), Some("2019-03-01"), "Xero dates become RFC 3339 dates");
        assert_eq!(date("2024-05-06").as_deref(), Some("2024-05-06"), "a bare date is kept as it is");
    }

    #[test]
    fn xero_records_from_the_sandbox_serialisers_map_with_and_without_drift() {
        let w = world();
        let ids = XeroIds::new(7);
        for i in 0..w.xero.contacts.len().min(20) {
            let p = party(map(Provider::Xero, "contacts", &xero::render_contact(&w, &ids, i)));
            assert!(p.display_name.is_some(), "a Xero contact's Name must be its display name");
            assert_eq!(p.addresses.first().map(|a| a.kind), Some(AddressKind::Billing), "POBOX is the billing address");
        }
        for hits in [Hits::default(), drifted()] {
            for i in 0..w.xero.invoices.len().min(20) {
                let raw = xero::render_invoice(&w, &ids, i, &hits, false);
                let d = doc(map(Provider::Xero, "invoices", &raw));
                assert_eq!(d.total, decimal(&raw["Total"]).unwrap().unwrap(), "the total must be the served Total");
                assert_eq!(d.subtotal + d.tax, d.total, "SubTotal plus TotalTax must make the total");
                assert!(!d.lines.is_empty() && d.lines.iter().all(|l| l.tax_amount.is_some()), "lines and their tax (nested under Taxes[] on drift) must be read");
                assert!(d.amount_due.is_some(), "AmountDue (AmountOutstanding on drift) must be found");
                assert!(d.issue_date.as_deref().is_some_and(|x| x.len() == 10), "the /Date()/ must become a date");
            }
            for i in 0..w.xero.credit_notes.len().min(10) {
                let d = doc(map(Provider::Xero, "credit_notes", &xero::render_credit_note(&w, &ids, i, &hits)));
                assert_eq!(d.kind, DocumentKind::CreditNote, "a credit note is a credit note");
                assert_eq!(d.tax_treatment, TaxTreatment::Inclusive, "the credit note's LineAmountTypes must be read");
                assert!(d.reference.as_deref().is_some_and(|r| r.contains("INV-")), "its reference names the invoice");
            }
        }
        for i in 0..w.xero.payments.len().min(10) {
            let p = payment(map(Provider::Xero, "payments", &xero::render_payment(&w, &ids, i)));
            assert_eq!(p.allocations.len(), 1, "a Xero payment pays one invoice");
            assert_eq!(p.allocations[0].amount, p.amount, "the whole amount is allocated");
            assert!(p.customer_ref.is_some(), "the invoice's contact is the payer");
        }
    }

    #[test]
    fn quickbooks_records_from_the_sandbox_serialisers_map_with_and_without_drift() {
        let w = world();
        for i in 0..w.quickbooks.contacts.len().min(20) {
            let p = party(map(Provider::QuickBooks, "customers", &qb::render_customer(&w, i, 0)));
            assert!(p.display_name.is_some(), "DisplayName must be read");
            assert_eq!(p.kind == PartyKind::Organisation, p.company_name.is_some(), "a customer with a CompanyName is an organisation");
        }
        for hits in [Hits::default(), drifted()] {
            for i in 0..w.quickbooks.invoices.len().min(20) {
                let raw = qb::render_invoice(&w, i, &hits);
                let d = doc(map(Provider::QuickBooks, "invoices", &raw));
                assert_eq!(d.total, decimal(&raw["TotalAmt"]).unwrap().unwrap(), "the total must be TotalAmt");
                let tax: Decimal = raw["TxnTaxDetail"]["TaxLine"].as_array().unwrap().iter().map(|t| decimal(&t["Amount"]).unwrap().unwrap()).sum();
                assert_eq!(d.tax, tax, "the tax must be TotalTax, or the sum of TaxLine amounts when TotalTax is gone");
                assert!(d.amount_due.is_some(), "Balance (OutstandingBalance on drift) must be found");
                if d.tax_treatment == TaxTreatment::Inclusive {
                    assert_eq!(d.lines_total(), d.total, "inclusive lines (TaxInclusiveAmt) must add up to the total");
                } else {
                    assert_eq!(d.lines_total(), d.subtotal, "exclusive lines must add up to the subtotal");
                }
            }
            for i in 0..w.quickbooks.credit_notes.len().min(10) {
                let d = doc(map(Provider::QuickBooks, "credit_memos", &qb::render_credit_memo(&w, i, &hits)));
                assert_eq!(d.kind, DocumentKind::CreditNote, "a credit memo is a credit note");
                assert!(d.reference.is_some(), "the memo's note naming the invoice is kept as its reference");
            }
        }
        for i in 0..w.quickbooks.payments.len().min(10) {
            let p = payment(map(Provider::QuickBooks, "payments", &qb::render_payment(&w, i)));
            assert_eq!(p.allocations.len(), 1, "the LinkedTxn must become an allocation");
            assert_eq!(p.allocations[0].document_object.as_deref(), Some("invoices"), "QuickBooks ids are per entity, so the object must be named");
        }
    }

    #[test]
    fn hubspot_contacts_and_companies_map_including_moved_fields() {
        // The sandbox's shapes (its renderer is private): plain, and with phone renamed and address moved.
        let plain = json!({"id": "101", "properties": {"email": "zoe@ng.au", "firstname": "Zoe", "lastname": "Ng", "phone": "0412 345 678",
            "address": "1 George St", "city": "Sydney", "state": "NSW", "zip": "2000", "country": "Australia", "associatedcompanyid": "900"},
            "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-02-01T00:00:00.000Z", "archived": false});
        let moved = json!({"id": "101", "properties": {"email": "zoe@ng.au", "firstname": "Zoe", "lastname": "Ng", "phone_number": "0412 345 678",
            "city": "Sydney"}, "addresses": [{"address": "1 George St"}], "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-02-01T00:00:00.000Z"});
        for raw in [plain, moved] {
            let p = party(map(Provider::HubSpot, "contacts", &raw));
            assert_eq!(p.emails, vec!["zoe@ng.au".to_string()], "the e-mail must be read");
            assert_eq!(p.phones.first().map(|x| x.number.as_str()), Some("0412 345 678"), "phone or phone_number must be read: {raw}");
            assert_eq!(p.addresses.first().map(|a| a.lines.clone()), Some(vec!["1 George St".to_string()]), "address or addresses[] must be read");
        }
        let company = json!({"id": "900", "properties": {"name": "Ng Pty Ltd", "abn": "51 824 753 556", "phone": null}, "createdAt": "x", "updatedAt": "y"});
        let c = party(map(Provider::HubSpot, "companies", &company));
        assert_eq!((c.kind, c.tax_number.as_deref(), c.display_name.as_deref()), (PartyKind::Organisation, Some("51 824 753 556"), Some("Ng Pty Ltd")), "a company is an organisation with its ABN");
    }

    #[test]
    fn shopify_customers_and_orders_map_without_inventing_money() {
        let money = |a: &str| json!({"shopMoney": {"amount": a, "currencyCode": "AUD"}});
        let customer = json!({"id": "gid://shopify/Customer/1", "firstName": "Zoe", "lastName": "Ng", "displayName": "Zoe Ng", "email": null,
            "defaultEmailAddress": {"emailAddress": "zoe@ng.au"}, "phone": "+61412345678", "updatedAt": "2024-02-01T00:00:00Z",
            "defaultAddress": {"company": null, "address1": "1 George St", "city": "Sydney", "provinceCode": "NSW", "zip": "2000"}});
        let p = party(map(Provider::Shopify, "customers", &customer));
        assert_eq!(p.emails, vec!["zoe@ng.au".to_string()], "an emptied email must fall back to defaultEmailAddress");
        assert_eq!(p.addresses[0].kind, AddressKind::Shipping, "a shop address is where goods go");
        let order = json!({"id": "gid://shopify/Order/1", "name": "#1001", "email": "zoe@ng.au", "createdAt": "2024-03-01T01:00:00.000Z",
            "updatedAt": "2024-03-02T00:00:00.000Z", "cancelledAt": null, "currencyCode": "AUD", "taxesIncluded": true,
            "displayFinancialStatus": "PARTIALLY_PAID", "customer": {"id": "gid://shopify/Customer/1"}, "subtotalPriceSet": money("110.00"),
            "totalTaxSet": null, "taxLines": [{"title": "GST", "rate": 0.1, "priceSet": money("10.00")}], "totalPriceSet": money("110.00"),
            "totalOutstandingSet": money("60.00")});
        let d = doc(map(Provider::Shopify, "orders", &order));
        assert_eq!((d.total, d.tax, d.subtotal), (dec("110.00"), dec("10.00"), dec("100.00")), "tax found in taxLines when totalTaxSet is gone; subtotal before tax");
        assert_eq!((d.status, d.tax_treatment, d.amount_due), (DocumentStatus::PartiallyPaid, TaxTreatment::Inclusive, Some(dec("60.00"))), "status, treatment and what is due");
        assert_eq!(d.customer_ref.as_deref(), Some("gid://shopify/Customer/1"), "the order names its customer");
        let mut broken = order.clone();
        broken["totalPriceSet"] = Value::Null;
        let err = to_model(Provider::Shopify, "orders", Source::new(1, Provider::Shopify, "orders", "x"), &broken).unwrap_err();
        assert!(err.contains("total"), "a missing total must be an error, never zero: {err}");
    }

    #[test]
    fn shopify_order_lines_and_refunds_map_to_lines_and_refunded_payments() {
        let money = |a: &str| json!({"shopMoney": {"amount": a, "currencyCode": "AUD"}});
        let line = |title: &str, qty: u32, unit: &str, total: &str, tax: &str| {
            json!({"id": format!("gid://shopify/LineItem/{title}"), "title": title, "sku": "", "quantity": qty, "originalUnitPriceSet": money(unit),
                "originalTotalSet": money(total), "taxLines": [{"title": "GST", "rate": 0.1, "priceSet": money(tax)}]})
        };
        let order = json!({"id": "gid://shopify/Order/7", "name": "#1007", "createdAt": "2024-03-01T01:00:00.000Z", "updatedAt": "2024-03-20T00:00:00.000Z",
            "cancelledAt": null, "currencyCode": "AUD", "taxesIncluded": true, "displayFinancialStatus": "PARTIALLY_REFUNDED",
            "customer": {"id": "gid://shopify/Customer/3"}, "subtotalPriceSet": money("66.00"), "totalTaxSet": money("6.00"), "taxLines": [],
            "totalPriceSet": money("66.00"), "totalOutstandingSet": money("0.00"),
            "lineItems": {"nodes": [line("Mug", 2, "22.00", "44.00", "4.00"), line("Tray", 1, "22.00", "22.00", "2.00")], "pageInfo": {"hasNextPage": false, "endCursor": "c2"}},
            "refunds": [{"id": "gid://shopify/Refund/9", "createdAt": "2024-03-15T03:00:00Z", "updatedAt": "2024-03-15T03:00:00Z", "note": "Customer return", "totalRefundedSet": money("22.00")}]});
        let d = doc(map(Provider::Shopify, "orders", &order));
        let lines: Vec<(Decimal, Decimal, Decimal, Option<Decimal>)> = d.lines.iter().map(|l| (l.quantity, l.unit_amount, l.line_amount, l.tax_amount)).collect();
        assert_eq!(lines, vec![(dec("2"), dec("22.00"), dec("44.00"), Some(dec("4.00"))), (dec("1"), dec("22.00"), dec("22.00"), Some(dec("2.00")))], "each line keeps quantity, price, total and its own GST");
        let stream = spec_for(Provider::Shopify).streams.iter().find(|s| s.name == "orders").unwrap();
        let kids = children(Provider::Shopify, stream, 4, &order, "gid://shopify/Order/7", Some("2024-03-20T00:00:00.000Z"));
        assert_eq!(kids.len(), 1, "one refund, one stored payment");
        assert_eq!((kids[0].object, kids[0].kind, kids[0].id.as_str()), ("refunds", "payment", "gid://shopify/Refund/9"), "refunds are stored as payments under their own id");
        assert_eq!(kids[0].updated.as_deref(), Some("2024-03-15T03:00:00.000Z"), "a refund's own update time is its bookmark-independent version");
        let p = payment(serde_json::from_str(&kids[0].mapped).expect("a refund maps to canonical JSON"));
        assert_eq!((p.direction, p.amount, p.date.as_deref()), (PaymentDirection::Refunded, dec("22.00"), Some("2024-03-15")), "money paid back, its amount and day");
        assert_eq!(p.allocations, vec![Allocation { document_ref: "gid://shopify/Order/7".into(), document_object: Some("orders".into()), amount: dec("22.00") }], "the refund nets against its order");
        assert_eq!(p.customer_ref.as_deref(), Some("gid://shopify/Customer/3"), "the refund names the order's customer");

        let mut cut = order.clone();
        cut["lineItems"]["pageInfo"]["hasNextPage"] = json!(true);
        let err = to_model(Provider::Shopify, "orders", Source::new(1, Provider::Shopify, "orders", "x"), &cut).unwrap_err();
        assert!(err.contains("line items"), "an order whose lines were cut off must never be mapped as if whole: {err}");
        let mut unreadable = order.clone();
        unreadable["refunds"][0]["totalRefundedSet"] = Value::Null;
        let kids = children(Provider::Shopify, stream, 4, &unreadable, "gid://shopify/Order/7", None);
        assert!(kids[0].mapped.contains("_model_error"), "a refund without an amount is kept and explained, never stored as zero: {}", kids[0].mapped);
    }
}
