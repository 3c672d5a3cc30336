//! Concord's canonical model: parties, sales documents and payments as Concord
//! understands them, whatever system they came from.
//!
//! The sync engine maps each provider record onto one of these types and stores
//! it (as camelCase JSON) in the store's `canonical_records`; matching and
//! reconciliation read only these, never provider payloads. Every record names
//! where it came from in its [`Source`]. Money is [`Decimal`] serialised as a
//! decimal string, never binary floating point, so totals tie out to the cent.
//! Fields a provider does not have are left empty (`None`, empty lists) rather
//! than invented; raw provider values that were normalised (status) are kept
//! beside the normalised form so nothing is lost.
//!
//! ```
//! use concord_core::model::{CanonicalRecord, Party, Source};
//! use concord_core::Provider;
//! let p = Party {
//!     source: Source::new(1, Provider::Xero, "contacts", "c-1"),
//!     display_name: Some("Zoe Ng".into()),
//!     ..Default::default()
//! };
//! let json = serde_json::to_string(&CanonicalRecord::Party(p.clone())).unwrap();
//! assert!(json.contains("\"displayName\":\"Zoe Ng\""));
//! let back: CanonicalRecord = serde_json::from_str(&json).unwrap();
//! assert_eq!(back, CanonicalRecord::Party(p));
//! ```

use crate::Provider;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Where a canonical record came from: which connection, which collection, which id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// The store's connection id (a CSV import counts as a connection too).
    pub connection_id: i64,
    /// The provider behind the connection; `None` for an imported spreadsheet.
    pub provider: Option<Provider>,
    /// The provider's collection, e.g. `contacts`, `companies`, `customers`,
    /// `orders`, `refunds`, `invoices`, `payments`, `credit_notes`.
    pub object: String,
    /// The provider's id for the record.
    pub external_id: String,
    /// The provider's last-modified instant (RFC 3339, UTC), when it gives one.
    pub last_modified: Option<String>,
}

impl Source {
    /// A source without a last-modified time.
    pub fn new(connection_id: i64, provider: Provider, object: &str, external_id: &str) -> Source {
        Source {
            connection_id,
            provider: Some(provider),
            object: object.to_string(),
            external_id: external_id.to_string(),
            last_modified: None,
        }
    }

    /// A stable key for the record across the workspace: `connection/object/external id`.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.connection_id, self.object, self.external_id)
    }
}

/// Whether a party is a person or an organisation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// A natural person (a retail customer, a contact at a company).
    #[default]
    Person,
    /// A company, trust, partnership or other organisation.
    Organisation,
}

/// What an address is used for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    /// Where invoices go (Xero POBOX, QuickBooks BillAddr).
    Billing,
    /// Where goods go (Shopify shipping, QuickBooks ShipAddr).
    Shipping,
    /// A street address with no stated purpose (Xero STREET, HubSpot address).
    #[default]
    Street,
    /// Anything else.
    Other,
}

/// A postal address, split into parts as far as the provider splits it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub kind: AddressKind,
    /// Street lines, first to last, without empty ones.
    pub lines: Vec<String>,
    /// City, suburb or town.
    pub city: Option<String>,
    /// State, territory or region as served (e.g. `NSW` or `New South Wales`).
    pub region: Option<String>,
    pub postcode: Option<String>,
    /// Country as served (code or name).
    pub country: Option<String>,
}

/// A phone number as served; matching normalises it to E.164.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Phone {
    /// `mobile`, `default`, `fax`, ... as the provider labels it, if it does.
    pub label: Option<String>,
    /// The number as typed, including any area or country code the provider split off.
    pub number: String,
}

/// A customer (person or organisation) in one system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    pub source: Source,
    pub kind: PartyKind,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The name the system shows (Xero `Name`, QuickBooks `DisplayName`).
    pub display_name: Option<String>,
    /// The organisation's name, for an organisation or a person's employer.
    pub company_name: Option<String>,
    /// E-mail addresses, primary first.
    pub emails: Vec<String>,
    /// Phone numbers, primary first.
    pub phones: Vec<Phone>,
    /// Addresses, primary first.
    pub addresses: Vec<Address>,
    /// The tax number as served, e.g. an ABN (`51 824 753 556`), unvalidated.
    pub tax_number: Option<String>,
    /// ISO 4217 default currency, if the system records one.
    pub currency: Option<String>,
    /// Ids of the same party in other systems, as stored by earlier pushes or
    /// by the provider itself (e.g. a HubSpot `xero_contact_id` property).
    pub cross_refs: Vec<CrossRef>,
    /// For a person linked to an organisation record in the same system (a
    /// HubSpot contact's company), that organisation's external id.
    pub parent_external_id: Option<String>,
}

/// An id of the same record in another system, as one system stores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossRef {
    pub provider: Provider,
    /// The other system's collection, when known.
    pub object: Option<String>,
    pub external_id: String,
}

/// What kind of sales document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// A shop order.
    Order,
    /// An accounts-receivable invoice.
    #[default]
    Invoice,
    /// A credit note / credit memo, or a shop refund; amounts are positive.
    CreditNote,
}

/// Whether line amounts include GST.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxTreatment {
    /// Line amounts include tax (Shopify `taxes_included`, Xero `Inclusive`).
    Inclusive,
    /// Tax is added on top of line amounts (Xero `Exclusive`).
    #[default]
    Exclusive,
    /// No tax applies.
    NoTax,
}

/// A document's status, normalised across systems.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    /// Not yet issued (Xero DRAFT/SUBMITTED).
    Draft,
    /// Issued and nothing paid (Xero AUTHORISED, Shopify pending/authorized).
    #[default]
    Open,
    /// Partly paid.
    PartiallyPaid,
    /// Fully paid.
    Paid,
    /// Voided or deleted.
    Void,
    /// Fully refunded or credited.
    Refunded,
    /// A status Concord does not know; see `status_raw`.
    Unknown,
}

/// One line of a sales document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentLine {
    pub description: Option<String>,
    /// The product code or SKU, when there is one.
    pub item_code: Option<String>,
    pub quantity: Decimal,
    /// Price per unit, inclusive or exclusive of tax per the document's treatment.
    pub unit_amount: Decimal,
    /// Tax on the line, when the system states it per line.
    pub tax_amount: Option<Decimal>,
    /// The line's amount as served (same treatment as `unit_amount`).
    pub line_amount: Decimal,
}

/// An order, invoice or credit note in one system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesDocument {
    pub source: Source,
    pub kind: DocumentKind,
    /// The document's number (`#1001`, `INV-0042`, `1042`).
    pub number: Option<String>,
    /// Free reference; often carries the counterpart's number (an invoice's
    /// reference naming the shop order).
    pub reference: Option<String>,
    /// The provider's external id of the customer this document is for.
    pub customer_ref: Option<String>,
    /// For a credit note or refund, the external id of the document it credits.
    pub credits_ref: Option<String>,
    /// Issue date, `YYYY-MM-DD`.
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
    pub lines: Vec<DocumentLine>,
    pub subtotal: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
    /// What remains to be paid.
    pub amount_due: Option<Decimal>,
    pub status: DocumentStatus,
    /// The provider's own status text.
    pub status_raw: Option<String>,
    /// ISO 4217.
    pub currency: Option<String>,
    pub tax_treatment: TaxTreatment,
    /// Ids of the same document in other systems, as stored by earlier pushes.
    pub cross_refs: Vec<CrossRef>,
}

/// How a payment was applied to one document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Allocation {
    /// The provider's external id of the document paid.
    pub document_ref: String,
    /// The document's collection (`invoices`, `orders`, `credit_notes`), when the
    /// provider's ids are only unique within one (QuickBooks numbers each entity from 1).
    #[serde(default)]
    pub document_object: Option<String>,
    pub amount: Decimal,
}

/// Whether money came in or went back out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentDirection {
    /// A customer paid.
    #[default]
    Received,
    /// Money was refunded to the customer.
    Refunded,
}

/// A payment (or refund) in one system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub source: Source,
    pub direction: PaymentDirection,
    pub amount: Decimal,
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
    pub reference: Option<String>,
    pub currency: Option<String>,
    /// The provider's external id of the customer, when it states one.
    pub customer_ref: Option<String>,
    pub allocations: Vec<Allocation>,
}

/// Any canonical record as stored in `canonical_records.data`, tagged by
/// `entity` (`party`, `sales_document`, `payment`: the store's `kind` column;
/// the records' own `kind` fields say person/organisation or order/invoice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "entity", rename_all = "snake_case")]
pub enum CanonicalRecord {
    Party(Party),
    SalesDocument(SalesDocument),
    Payment(Payment),
}

impl CanonicalRecord {
    /// Where the record came from.
    pub fn source(&self) -> &Source {
        match self {
            CanonicalRecord::Party(p) => &p.source,
            CanonicalRecord::SalesDocument(d) => &d.source,
            CanonicalRecord::Payment(p) => &p.source,
        }
    }

    /// The value of the store's `kind` column: `party`, `sales_document` or `payment`.
    pub fn kind_str(&self) -> &'static str {
        match self {
            CanonicalRecord::Party(_) => "party",
            CanonicalRecord::SalesDocument(_) => "sales_document",
            CanonicalRecord::Payment(_) => "payment",
        }
    }
}

impl SalesDocument {
    /// The sum of line amounts; with `subtotal` this shows whether lines tie out.
    pub fn lines_total(&self) -> Decimal {
        self.lines.iter().map(|l| l.line_amount).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn money_round_trips_as_decimal_strings() {
        let doc = SalesDocument {
            source: Source::new(2, Provider::Shopify, "orders", "gid://shopify/Order/1"),
            kind: DocumentKind::Order,
            lines: vec![DocumentLine { quantity: dec("3"), unit_amount: dec("0.10"), line_amount: dec("0.30"), ..Default::default() }],
            subtotal: dec("0.30"),
            total: dec("0.30"),
            ..Default::default()
        };
        let json = serde_json::to_value(CanonicalRecord::SalesDocument(doc.clone())).unwrap();
        assert_eq!(json["entity"], "sales_document", "the tag must match the store's kind column");
        assert_eq!(json["kind"], "order", "the document's own kind must survive beside the tag");
        assert_eq!(json["total"], "0.30", "money must cross as a decimal string, keeping its scale");
        assert_eq!(doc.lines_total(), doc.subtotal, "3 x 0.10 must tie out exactly, which f64 would not");
        let back: CanonicalRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, CanonicalRecord::SalesDocument(doc), "a document must survive a JSON round trip unchanged");
    }

    #[test]
    fn source_key_is_stable() {
        let s = Source::new(7, Provider::Xero, "contacts", "abc");
        assert_eq!(s.key(), "7/contacts/abc", "the key names connection, object and id");
    }
}
