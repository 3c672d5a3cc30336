//! The ground truth: which records belong together and what was planted.
//!
//! Concord's matching is judged by precision and recall, which needs an answer
//! key. The generator ([`crate::business`]) remembers, for every record it
//! writes into a provider, which real customer or sale it stands for, and it
//! logs every discrepancy it plants. This module turns that into the answer
//! key in provider ids: the true cross-system links of customers and
//! documents, and every planted discrepancy with its kind and the records
//! involved. It is built on demand from the live world (so ids are the ones
//! served) and can be streamed to a file, since a benchmark world's key runs
//! to hundreds of megabytes.

use crate::business::World;
use crate::provider::{
    offset_id, Provider, XeroKind, HUBSPOT_COMPANY_BASE, HUBSPOT_CONTACT_BASE, SHOPIFY_CUSTOMER_BASE,
    SHOPIFY_ORDER_BASE, SHOPIFY_REFUND_BASE,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{self, Write};

/// What kind of mess was planted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyKind {
    /// A name spelt differently in one system (typo or nickname).
    NameSpelling,
    /// Given and family names swapped in one system.
    NameOrder,
    /// The ABN is missing in the books though the CRM has it.
    AbnMissing,
    /// The ABN in the books fails the ABN checksum or has the wrong length.
    AbnMalformed,
    /// The books bill to a different address from the shop's default address.
    BillingAddressDiffers,
    /// A second Shopify customer for the same person, from a guest checkout.
    GuestCheckoutDuplicate,
    /// GST-inclusive shop prices typed into the books as GST-exclusive.
    GstInclusiveAsExclusive,
    /// The invoice total differs from the order total by a few cents.
    RoundingDifference,
    /// The books show a partial payment where the shop shows the order paid.
    PartialPayment,
    /// A shop order with no invoice in the books.
    OrderNeverInvoiced,
    /// The same invoice paid twice.
    InvoicePaidTwice,
    /// The same field edited to different values in the CRM and the books.
    ContactEditedInTwoSystems,
    /// A shop refund with no credit note in the books.
    RefundWithoutCreditNote,
}

impl DiscrepancyKind {
    /// Every kind, in the order the ground truth lists them.
    pub const ALL: [DiscrepancyKind; 13] = [
        DiscrepancyKind::NameSpelling,
        DiscrepancyKind::NameOrder,
        DiscrepancyKind::AbnMissing,
        DiscrepancyKind::AbnMalformed,
        DiscrepancyKind::BillingAddressDiffers,
        DiscrepancyKind::GuestCheckoutDuplicate,
        DiscrepancyKind::GstInclusiveAsExclusive,
        DiscrepancyKind::RoundingDifference,
        DiscrepancyKind::PartialPayment,
        DiscrepancyKind::OrderNeverInvoiced,
        DiscrepancyKind::InvoicePaidTwice,
        DiscrepancyKind::ContactEditedInTwoSystems,
        DiscrepancyKind::RefundWithoutCreditNote,
    ];
}

/// Which collection of a provider a record lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordObject {
    Contacts,
    Companies,
    Customers,
    Orders,
    Refunds,
    Invoices,
    Payments,
    CreditNotes,
}

/// A record by index, as the generator knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordRef {
    pub provider: Provider,
    pub object: RecordObject,
    pub index: u32,
}

/// A planted discrepancy, as the generator logs it.
#[derive(Clone, Debug)]
pub struct Discrepancy {
    pub kind: DiscrepancyKind,
    /// The real customer involved, if any.
    pub party: Option<u32>,
    /// The sale involved, if any.
    pub sale: Option<u32>,
    pub records: Vec<RecordRef>,
    /// Kind-specific facts (field, expected and served values, amounts).
    pub detail: Value,
}

/// A record by provider id, as the ground-truth file lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordId {
    pub provider: Provider,
    pub object: RecordObject,
    pub id: String,
}

/// One real customer and the records that stand for it in each system.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CustomerLink {
    pub party: u32,
    /// "retail" or "wholesale".
    pub kind: String,
    /// The customer's true name (company for wholesale).
    pub name: String,
    pub hubspot_contact_id: Option<String>,
    pub hubspot_company_id: Option<String>,
    /// Shopify customer gids; more than one when a guest checkout duplicated the person.
    pub shopify_customer_ids: Vec<String>,
    pub xero_contact_id: Option<String>,
    pub quickbooks_customer_id: Option<String>,
}

/// One real sale and the documents that record it in each system.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DocumentLink {
    pub sale: u32,
    pub party: u32,
    pub shopify_order_id: Option<String>,
    pub shopify_refund_ids: Vec<String>,
    pub xero_invoice_id: Option<String>,
    pub xero_payment_ids: Vec<String>,
    pub xero_credit_note_ids: Vec<String>,
    pub quickbooks_invoice_id: Option<String>,
    pub quickbooks_payment_ids: Vec<String>,
    pub quickbooks_credit_memo_ids: Vec<String>,
}

/// A planted discrepancy in provider ids.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DiscrepancyEntry {
    pub kind: DiscrepancyKind,
    pub party: Option<u32>,
    pub sale: Option<u32>,
    pub records: Vec<RecordId>,
    pub detail: Value,
}

/// The whole answer key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroundTruth {
    pub seed: u64,
    pub customers: usize,
    pub business: Value,
    pub links: Vec<CustomerLink>,
    pub document_links: Vec<DocumentLink>,
    pub discrepancies: Vec<DiscrepancyEntry>,
}

/// The id a provider serves for a record.
pub fn record_id(world: &World, r: RecordRef) -> String {
    let x = world.xero_ids();
    match (r.provider, r.object) {
        (Provider::HubSpot, RecordObject::Companies) => offset_id(HUBSPOT_COMPANY_BASE, r.index).to_string(),
        (Provider::HubSpot, _) => offset_id(HUBSPOT_CONTACT_BASE, r.index).to_string(),
        (Provider::Shopify, RecordObject::Customers) => {
            format!("gid://shopify/Customer/{}", offset_id(SHOPIFY_CUSTOMER_BASE, r.index))
        }
        (Provider::Shopify, RecordObject::Refunds) => {
            format!("gid://shopify/Refund/{}", offset_id(SHOPIFY_REFUND_BASE, r.index))
        }
        (Provider::Shopify, _) => format!("gid://shopify/Order/{}", offset_id(SHOPIFY_ORDER_BASE, r.index)),
        (Provider::Xero, RecordObject::Contacts) => x.id(XeroKind::Contact, r.index).to_string(),
        (Provider::Xero, RecordObject::Payments) => x.id(XeroKind::Payment, r.index).to_string(),
        (Provider::Xero, RecordObject::CreditNotes) => x.id(XeroKind::CreditNote, r.index).to_string(),
        (Provider::Xero, _) => x.id(XeroKind::Invoice, r.index).to_string(),
        (Provider::QuickBooks, _) => (r.index as u64 + 1).to_string(),
    }
}

fn entry(world: &World, d: &Discrepancy) -> DiscrepancyEntry {
    DiscrepancyEntry {
        kind: d.kind,
        party: d.party,
        sale: d.sale,
        records: d
            .records
            .iter()
            .map(|r| RecordId { provider: r.provider, object: r.object, id: record_id(world, *r) })
            .collect(),
        detail: d.detail.clone(),
    }
}

/// Customer links, one per real customer, in party order.
pub fn customer_links(world: &World) -> Vec<CustomerLink> {
    let n = world.parties.len();
    let mut links: Vec<CustomerLink> = world
        .parties
        .iter()
        .enumerate()
        .map(|(i, p)| CustomerLink {
            party: i as u32,
            kind: if p.wholesale { "wholesale" } else { "retail" }.to_string(),
            name: p.record.display_name(),
            hubspot_contact_id: None,
            hubspot_company_id: None,
            shopify_customer_ids: Vec::new(),
            xero_contact_id: None,
            quickbooks_customer_id: None,
        })
        .collect();
    let rid = |provider, object, index| record_id(world, RecordRef { provider, object, index });
    for (i, c) in world.hubspot.contacts.iter().enumerate() {
        if (c.party as usize) < n {
            links[c.party as usize].hubspot_contact_id = Some(rid(Provider::HubSpot, RecordObject::Contacts, i as u32));
        }
    }
    for (i, c) in world.hubspot.companies.iter().enumerate() {
        if (c.party as usize) < n {
            links[c.party as usize].hubspot_company_id =
                Some(rid(Provider::HubSpot, RecordObject::Companies, i as u32));
        }
    }
    for (i, c) in world.shopify.customers.iter().enumerate() {
        if (c.party as usize) < n {
            links[c.party as usize]
                .shopify_customer_ids
                .push(rid(Provider::Shopify, RecordObject::Customers, i as u32));
        }
    }
    for (i, c) in world.xero.contacts.iter().enumerate() {
        if (c.party as usize) < n {
            links[c.party as usize].xero_contact_id = Some(rid(Provider::Xero, RecordObject::Contacts, i as u32));
        }
    }
    for (i, c) in world.quickbooks.contacts.iter().enumerate() {
        if (c.party as usize) < n {
            links[c.party as usize].quickbooks_customer_id =
                Some(rid(Provider::QuickBooks, RecordObject::Customers, i as u32));
        }
    }
    links
}

/// Document links, one per sale, in sale order.
pub fn document_links(world: &World) -> Vec<DocumentLink> {
    let mut links: Vec<DocumentLink> = world
        .sales
        .iter()
        .enumerate()
        .map(|(i, s)| DocumentLink {
            sale: i as u32,
            party: s.party,
            shopify_order_id: None,
            shopify_refund_ids: Vec::new(),
            xero_invoice_id: None,
            xero_payment_ids: Vec::new(),
            xero_credit_note_ids: Vec::new(),
            quickbooks_invoice_id: None,
            quickbooks_payment_ids: Vec::new(),
            quickbooks_credit_memo_ids: Vec::new(),
        })
        .collect();
    let rid = |provider, object, index| record_id(world, RecordRef { provider, object, index });
    let n = links.len();
    for (i, o) in world.shopify.orders.iter().enumerate() {
        if (o.sale as usize) < n {
            links[o.sale as usize].shopify_order_id = Some(rid(Provider::Shopify, RecordObject::Orders, i as u32));
        }
    }
    for (i, r) in world.shopify.refunds.iter().enumerate() {
        let sale = world.shopify.orders[r.doc as usize].sale as usize;
        if sale < n {
            links[sale].shopify_refund_ids.push(rid(Provider::Shopify, RecordObject::Refunds, i as u32));
        }
    }
    for (provider, books) in [(Provider::Xero, &world.xero), (Provider::QuickBooks, &world.quickbooks)] {
        for (i, d) in books.invoices.iter().enumerate() {
            if (d.sale as usize) < n {
                let id = Some(rid(provider, RecordObject::Invoices, i as u32));
                match provider {
                    Provider::Xero => links[d.sale as usize].xero_invoice_id = id,
                    _ => links[d.sale as usize].quickbooks_invoice_id = id,
                }
            }
        }
        for (i, p) in books.payments.iter().enumerate() {
            let sale = books.invoices[p.doc as usize].sale as usize;
            if sale < n {
                let id = rid(provider, RecordObject::Payments, i as u32);
                match provider {
                    Provider::Xero => links[sale].xero_payment_ids.push(id),
                    _ => links[sale].quickbooks_payment_ids.push(id),
                }
            }
        }
        for (i, c) in books.credit_notes.iter().enumerate() {
            let sale = books.invoices[c.doc as usize].sale as usize;
            if sale < n {
                let id = rid(provider, RecordObject::CreditNotes, i as u32);
                match provider {
                    Provider::Xero => links[sale].xero_credit_note_ids.push(id),
                    _ => links[sale].quickbooks_credit_memo_ids.push(id),
                }
            }
        }
    }
    links
}

impl GroundTruth {
    /// The answer key of a world, in provider ids.
    pub fn build(world: &World) -> GroundTruth {
        GroundTruth {
            seed: world.seed,
            customers: world.parties.len(),
            business: world.business_json(),
            links: customer_links(world),
            document_links: document_links(world),
            discrepancies: world.discrepancies.iter().map(|d| entry(world, d)).collect(),
        }
    }
}

/// Streams the answer key as one JSON object (same shape as [`GroundTruth`])
/// without holding all of it in memory twice.
pub fn write_json<W: Write>(world: &World, out: W) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    write!(
        out,
        "{{\"seed\":{},\"customers\":{},\"business\":{},\"links\":[",
        world.seed,
        world.parties.len(),
        world.business_json()
    )?;
    for (i, l) in customer_links(world).iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut out, l)?;
    }
    out.write_all(b"],\"document_links\":[")?;
    for (i, l) in document_links(world).iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut out, l)?;
    }
    out.write_all(b"],\"discrepancies\":[")?;
    for (i, d) in world.discrepancies.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut out, &entry(world, d))?;
    }
    out.write_all(b"]}\n")?;
    out.flush()
}
