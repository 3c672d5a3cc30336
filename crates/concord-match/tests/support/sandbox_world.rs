//! The sandbox's seeded business as canonical records, and its answer key as record keys.
//!
//! This stands in for the sync engine until its mappers emit the canonical
//! model: it reads the generated world directly and writes each system's
//! records the way that provider serves them (HubSpot phones `0412 345 678`,
//! Shopify `+61412345678`, the books bare digits; ABNs spaced or not; Xero
//! invoice references naming the shop order most of the time; QuickBooks with
//! no reference at all, so those links must come from the matcher's scoring).
//! Connections: HubSpot 1, Shopify 2, Xero 3, QuickBooks 4.

#![allow(dead_code)]

use concord_core::model::*;
use concord_core::Provider;
use concord_sandbox::business::{World, NONE};
use concord_sandbox::ground_truth::{record_id, GroundTruth, RecordObject, RecordRef};
use concord_sandbox::provider::Provider as SP;
use concord_sandbox::record::{date_only, iso_ms, money, to_cents, doc_flags, PartyField as F, PartyRecord, Treatment};
use concord_match::Records;
use rust_decimal::Decimal;

pub const HUBSPOT: i64 = 1;
pub const SHOPIFY: i64 = 2;
pub const XERO: i64 = 3;
pub const QUICKBOOKS: i64 = 4;

/// The store-style key of a ground-truth record id.
pub fn key_of(provider: SP, object: RecordObject, id: &str) -> String {
    let (conn, obj) = match (provider, object) {
        (SP::HubSpot, RecordObject::Companies) => (HUBSPOT, "companies"),
        (SP::HubSpot, _) => (HUBSPOT, "contacts"),
        (SP::Shopify, RecordObject::Customers) => (SHOPIFY, "customers"),
        (SP::Shopify, RecordObject::Refunds) => (SHOPIFY, "refunds"),
        (SP::Shopify, _) => (SHOPIFY, "orders"),
        (p, o) => {
            let conn = if p == SP::Xero { XERO } else { QUICKBOOKS };
            let obj = match o {
                RecordObject::Contacts | RecordObject::Customers | RecordObject::Companies => "contacts",
                RecordObject::Payments => "payments",
                RecordObject::CreditNotes | RecordObject::Refunds => "credit_notes",
                _ => "invoices",
            };
            (conn, obj)
        }
    };
    format!("{conn}/{obj}/{id}")
}

fn rid(w: &World, provider: SP, object: RecordObject, index: u32) -> String {
    record_id(w, RecordRef { provider, object, index })
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn source(conn: i64, provider: Provider, object: &str, id: String, updated_ms: i64) -> Source {
    Source { connection_id: conn, provider: Some(provider), object: object.into(), external_id: id, last_modified: Some(iso_ms(updated_ms)) }
}

fn address(r: &PartyRecord, kind: AddressKind, country: &str) -> Address {
    Address {
        kind,
        lines: opt(r.get(F::Street)).into_iter().collect(),
        city: opt(r.get(F::City)),
        region: opt(r.get(F::State)),
        postcode: opt(r.get(F::Postcode)),
        country: Some(country.into()),
    }
}

fn phone(s: &str) -> Vec<Phone> {
    opt(s).map(|n| vec![Phone { label: None, number: n }]).unwrap_or_default()
}

fn has_order_reference(sale: u32) -> bool {
    (sale as u64).wrapping_mul(2_654_435_761) % 10 < 7
}

/// Every record of the world, as the four connections would hold it.
pub fn records(w: &World) -> Records {
    let mut out = Records::default();
    for (i, r) in w.hubspot.contacts.iter().enumerate() {
        let co = w.hubspot.contact_company[i];
        out.parties.push(Party {
            source: source(HUBSPOT, Provider::HubSpot, "contacts", rid(w, SP::HubSpot, RecordObject::Contacts, i as u32), r.updated_ms),
            kind: PartyKind::Person,
            given_name: opt(r.get(F::Given)),
            family_name: opt(r.get(F::Family)),
            company_name: opt(r.get(F::Company)),
            emails: opt(r.get(F::Email)).into_iter().collect(),
            phones: phone(r.get(F::Phone)),
            addresses: vec![address(r, AddressKind::Street, "Australia")],
            parent_external_id: (co != NONE).then(|| rid(w, SP::HubSpot, RecordObject::Companies, co)),
            ..Default::default()
        });
    }
    for (i, r) in w.hubspot.companies.iter().enumerate() {
        out.parties.push(Party {
            source: source(HUBSPOT, Provider::HubSpot, "companies", rid(w, SP::HubSpot, RecordObject::Companies, i as u32), r.updated_ms),
            kind: PartyKind::Organisation,
            display_name: opt(r.get(F::Company)),
            company_name: opt(r.get(F::Company)),
            phones: phone(r.get(F::Phone)),
            addresses: vec![address(r, AddressKind::Street, "Australia")],
            tax_number: opt(r.get(F::Abn)),
            ..Default::default()
        });
    }
    for (i, r) in w.shopify.customers.iter().enumerate() {
        out.parties.push(Party {
            source: source(SHOPIFY, Provider::Shopify, "customers", rid(w, SP::Shopify, RecordObject::Customers, i as u32), r.updated_ms),
            kind: PartyKind::Person,
            given_name: opt(r.get(F::Given)),
            family_name: opt(r.get(F::Family)),
            company_name: opt(r.get(F::Company)),
            emails: opt(r.get(F::Email)).into_iter().collect(),
            phones: phone(r.get(F::Phone)),
            addresses: vec![address(r, AddressKind::Shipping, "AU")],
            ..Default::default()
        });
    }
    for (conn, provider, sp, books) in [(XERO, Provider::Xero, SP::Xero, &w.xero), (QUICKBOOKS, Provider::QuickBooks, SP::QuickBooks, &w.quickbooks)] {
        for (i, r) in books.contacts.iter().enumerate() {
            let company = r.get(F::Company);
            out.parties.push(Party {
                source: source(conn, provider, "contacts", rid(w, sp, RecordObject::Contacts, i as u32), r.updated_ms),
                kind: if company.is_empty() { PartyKind::Person } else { PartyKind::Organisation },
                given_name: opt(r.get(F::Given)),
                family_name: opt(r.get(F::Family)),
                display_name: Some(r.display_name()),
                company_name: opt(company),
                emails: opt(r.get(F::Email)).into_iter().collect(),
                phones: phone(r.get(F::Phone)),
                addresses: vec![address(r, AddressKind::Billing, "Australia"), address(r, AddressKind::Street, "Australia")],
                tax_number: opt(r.get(F::Abn)),
                currency: Some("AUD".into()),
                ..Default::default()
            });
        }
    }
    // Shop orders and refunds.
    for (j, o) in w.shopify.orders.iter().enumerate() {
        let a = w.order_amounts(o);
        let total = to_cents(a.total);
        let status = if o.refunded_cents >= total && total > 0 {
            DocumentStatus::Refunded
        } else if o.paid_cents >= total {
            DocumentStatus::Paid
        } else if o.paid_cents > 0 {
            DocumentStatus::PartiallyPaid
        } else {
            DocumentStatus::Open
        };
        let lines = a
            .lines
            .iter()
            .map(|l| {
                let p = &w.catalogue[l.product as usize];
                DocumentLine { description: Some(p.name.clone()), item_code: Some(p.sku.clone()), quantity: l.qty, unit_amount: l.unit, tax_amount: Some(l.tax), line_amount: l.amount }
            })
            .collect();
        out.documents.push(SalesDocument {
            source: source(SHOPIFY, Provider::Shopify, "orders", rid(w, SP::Shopify, RecordObject::Orders, j as u32), o.updated_ms),
            kind: DocumentKind::Order,
            number: Some(format!("#{}", o.number)),
            customer_ref: (o.customer != NONE).then(|| rid(w, SP::Shopify, RecordObject::Customers, o.customer)),
            issue_date: Some(date_only(o.date_ms)),
            lines,
            subtotal: a.subtotal,
            tax: a.tax,
            total: a.total,
            amount_due: Some(money((total - o.paid_cents).max(0))),
            status,
            status_raw: Some(format!("{status:?}").to_uppercase()),
            currency: Some("AUD".into()),
            tax_treatment: if o.treatment == Treatment::Inclusive { TaxTreatment::Inclusive } else { TaxTreatment::Exclusive },
            ..Default::default()
        });
    }
    for (k, r) in w.shopify.refunds.iter().enumerate() {
        let order = rid(w, SP::Shopify, RecordObject::Orders, r.doc);
        out.payments.push(Payment {
            source: source(SHOPIFY, Provider::Shopify, "refunds", rid(w, SP::Shopify, RecordObject::Refunds, k as u32), r.updated_ms),
            direction: PaymentDirection::Refunded,
            amount: money(r.amount_cents),
            date: Some(date_only(r.date_ms)),
            currency: Some("AUD".into()),
            allocations: vec![Allocation { document_ref: order, amount: money(r.amount_cents), ..Default::default() }],
            ..Default::default()
        });
    }
    // The books.
    for (conn, provider, sp, books) in [(XERO, Provider::Xero, SP::Xero, &w.xero), (QUICKBOOKS, Provider::QuickBooks, SP::QuickBooks, &w.quickbooks)] {
        let xero = sp == SP::Xero;
        for (i, d) in books.invoices.iter().enumerate() {
            if d.has(doc_flags::DELETED) {
                continue;
            }
            let a = w.invoice_amounts(d);
            let total = to_cents(a.total);
            let labels = w.line_labels(d);
            let reference = match w.sales.get(d.sale as usize) {
                Some(s) if xero && s.channel.in_shop() && has_order_reference(d.sale) => {
                    w.shopify.orders.iter().rev().find(|o| o.sale == d.sale).map(|o| format!("Shopify #{}", o.number))
                }
                _ => None,
            };
            let due = (total - d.paid_cents - d.refunded_cents).max(0);
            let status = if d.has(doc_flags::VOIDED) {
                DocumentStatus::Void
            } else if due == 0 && total > 0 {
                DocumentStatus::Paid
            } else {
                DocumentStatus::Open
            };
            out.documents.push(SalesDocument {
                source: source(conn, provider, "invoices", rid(w, sp, RecordObject::Invoices, i as u32), d.updated_ms),
                kind: DocumentKind::Invoice,
                number: Some(if xero { format!("INV-{:05}", d.number) } else { d.number.to_string() }),
                reference,
                customer_ref: (d.customer != NONE).then(|| rid(w, sp, RecordObject::Contacts, d.customer)),
                issue_date: Some(date_only(d.date_ms)),
                due_date: Some(date_only(d.date_ms + d.due_days as i64 * 86_400_000)),
                lines: a
                    .lines
                    .iter()
                    .enumerate()
                    .map(|(n, l)| {
                        let (desc, code) = labels.get(n).cloned().unwrap_or_default();
                        DocumentLine { description: Some(desc), item_code: Some(code), quantity: l.qty, unit_amount: l.unit, tax_amount: Some(l.tax), line_amount: l.amount }
                    })
                    .collect(),
                subtotal: a.subtotal,
                tax: a.tax,
                total: a.total,
                amount_due: Some(money(due)),
                status,
                currency: Some("AUD".into()),
                tax_treatment: if d.treatment == Treatment::Inclusive { TaxTreatment::Inclusive } else { TaxTreatment::Exclusive },
                ..Default::default()
            });
        }
        for (i, p) in books.payments.iter().enumerate() {
            if p.deleted {
                continue;
            }
            let inv = rid(w, sp, RecordObject::Invoices, p.doc);
            out.payments.push(Payment {
                source: source(conn, provider, "payments", rid(w, sp, RecordObject::Payments, i as u32), p.updated_ms),
                amount: money(p.amount_cents),
                date: Some(date_only(p.date_ms)),
                currency: Some("AUD".into()),
                allocations: vec![Allocation { document_ref: inv, document_object: (!xero).then(|| "invoices".to_string()), amount: money(p.amount_cents) }],
                ..Default::default()
            });
        }
        for (i, c) in books.credit_notes.iter().enumerate() {
            if c.deleted {
                continue;
            }
            let inv = &books.invoices[c.doc as usize];
            let amount = money(c.amount_cents);
            let tax = money(to_cents(amount / Decimal::from(11)));
            out.documents.push(SalesDocument {
                source: source(conn, provider, "credit_notes", rid(w, sp, RecordObject::CreditNotes, i as u32), c.updated_ms),
                kind: DocumentKind::CreditNote,
                number: Some(if xero { format!("CN-{:05}", c.number) } else { format!("CM{}", c.number) }),
                reference: Some(format!("Refund INV-{:05}", inv.number)),
                customer_ref: (c.customer != NONE).then(|| rid(w, sp, RecordObject::Contacts, c.customer)),
                // Xero's credit note names its invoice only in the reference; QuickBooks links it.
                credits_ref: (!xero).then(|| rid(w, sp, RecordObject::Invoices, c.doc)),
                issue_date: Some(date_only(c.date_ms)),
                lines: vec![DocumentLine { description: Some("Refund".into()), quantity: Decimal::ONE, unit_amount: amount, tax_amount: Some(tax), line_amount: amount, ..Default::default() }],
                subtotal: amount - tax,
                tax,
                total: amount,
                amount_due: Some(money(c.remaining_cents)),
                status: DocumentStatus::Paid,
                currency: Some("AUD".into()),
                tax_treatment: TaxTreatment::Inclusive,
                ..Default::default()
            });
        }
    }
    out
}

/// Customer clusters of the answer key, as record keys.
pub fn true_party_clusters(gt: &GroundTruth) -> Vec<Vec<String>> {
    gt.links
        .iter()
        .map(|l| {
            let mut v = Vec::new();
            v.extend(l.hubspot_contact_id.iter().map(|id| key_of(SP::HubSpot, RecordObject::Contacts, id)));
            v.extend(l.hubspot_company_id.iter().map(|id| key_of(SP::HubSpot, RecordObject::Companies, id)));
            v.extend(l.shopify_customer_ids.iter().map(|id| key_of(SP::Shopify, RecordObject::Customers, id)));
            v.extend(l.xero_contact_id.iter().map(|id| key_of(SP::Xero, RecordObject::Contacts, id)));
            v.extend(l.quickbooks_customer_id.iter().map(|id| key_of(SP::QuickBooks, RecordObject::Customers, id)));
            v
        })
        .collect()
}

/// Sale clusters of the answer key, as record keys.
pub fn true_sale_clusters(gt: &GroundTruth) -> Vec<Vec<String>> {
    gt.document_links
        .iter()
        .map(|l| {
            let mut v = Vec::new();
            v.extend(l.shopify_order_id.iter().map(|id| key_of(SP::Shopify, RecordObject::Orders, id)));
            v.extend(l.shopify_refund_ids.iter().map(|id| key_of(SP::Shopify, RecordObject::Refunds, id)));
            v.extend(l.xero_invoice_id.iter().map(|id| key_of(SP::Xero, RecordObject::Invoices, id)));
            v.extend(l.xero_payment_ids.iter().map(|id| key_of(SP::Xero, RecordObject::Payments, id)));
            v.extend(l.xero_credit_note_ids.iter().map(|id| key_of(SP::Xero, RecordObject::CreditNotes, id)));
            v.extend(l.quickbooks_invoice_id.iter().map(|id| key_of(SP::QuickBooks, RecordObject::Invoices, id)));
            v.extend(l.quickbooks_payment_ids.iter().map(|id| key_of(SP::QuickBooks, RecordObject::Payments, id)));
            v.extend(l.quickbooks_credit_memo_ids.iter().map(|id| key_of(SP::QuickBooks, RecordObject::CreditNotes, id)));
            v
        })
        .collect()
}
