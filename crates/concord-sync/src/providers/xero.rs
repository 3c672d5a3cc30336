//! Xero Accounting: contacts, invoices, payments and credit notes.
//!
//! Every request carries `If-Modified-Since` (the bookmark, or the epoch on a
//! first sync, so archived contacts and deleted documents are listed too) and
//! `order=UpdatedDateUTC ASC`; paging ends when `page >= pagination.pageCount`.
//! Merged contacts carry `MergedToContactID`; deleted documents `Status: DELETED`.

use super::enc;
use crate::error::SyncError;
use crate::spec::*;
use concord_core::Provider;
use reqwest::Method;
use serde_json::Value;

const CONTACT_STATE: StateRule = StateRule {
    archived_values: Some(("ContactStatus", &["ARCHIVED"])),
    merged_into: Some("MergedToContactID"),
    ..ACTIVE
};
const DOC_STATE: StateRule = StateRule { deleted_values: Some(("Status", &["DELETED"])), ..ACTIVE };

const CONTACT_FIELDS: &[Field] = &[
    always("name", &["Name"], Ty::Text),
    optional("given_name", &["FirstName"], Ty::Text),
    optional("family_name", &["LastName"], Ty::Text),
    optional("email", &["EmailAddress"], Ty::Text),
    optional("tax_number", &["TaxNumber", "TaxNumbeType"], Ty::Text),
    always("addresses", &["Addresses"], Ty::Array),
    always("phones", &["Phones"], Ty::Array),
    optional("status", &["ContactStatus"], Ty::Text),
];
const CONTACT_KNOWN: &[&str] = &[
    "ContactGroups", "IsSupplier", "IsCustomer", "DefaultCurrency", "HasAttachments", "HasValidationErrors", "ContactNumber",
    "AccountNumber", "CompanyNumber", "ContactPersons", "MergedToContactID",
];

const INVOICE_FIELDS: &[Field] = &[
    always("number", &["InvoiceNumber"], Ty::Text),
    optional("reference", &["Reference"], Ty::Text),
    always("customer_id", &["Contact.ContactID"], Ty::Text),
    always("date", &["Date"], Ty::Text),
    optional("due_date", &["DueDate"], Ty::Text),
    always("status", &["Status"], Ty::Text),
    always("tax_treatment", &["LineAmountTypes"], Ty::Text),
    always("subtotal", &["SubTotal"], Ty::Number),
    always("total_tax", &["TotalTax"], Ty::Number),
    always("total", &["Total"], Ty::Number),
    always("amount_due", &["AmountDue", "AmountOutstanding"], Ty::Number),
    optional("amount_paid", &["AmountPaid"], Ty::Number),
    optional("amount_credited", &["AmountCredited"], Ty::Number),
    always("currency", &["CurrencyCode"], Ty::Text),
    optional("line_tax_types", &["LineItems[*].TaxType", "LineItems[*].Taxes[].TaxType"], Ty::Text),
    optional("line_tax_amounts", &["LineItems[*].TaxAmount", "LineItems[*].Taxes[].TaxAmount"], Ty::Number),
];
const INVOICE_KNOWN: &[&str] = &["Type", "LineItems", "CurrencyRate", "Payments", "CreditNotes", "HasAttachments", "IsDiscounted", "Contact"];

const PAYMENT_FIELDS: &[Field] = &[
    always("date", &["Date"], Ty::Text),
    always("amount", &["Amount"], Ty::Number),
    optional("reference", &["Reference"], Ty::Text),
    always("invoice_id", &["Invoice.InvoiceID", "CreditNote.CreditNoteID"], Ty::Text),
    always("status", &["Status"], Ty::Text),
    optional("payment_type", &["PaymentType"], Ty::Text),
];
const PAYMENT_KNOWN: &[&str] = &["BankAmount", "CurrencyRate", "HasAccount", "IsReconciled", "Account", "Invoice", "HasValidationErrors"];

const CREDIT_FIELDS: &[Field] = &[
    always("number", &["CreditNoteNumber"], Ty::Text),
    optional("reference", &["Reference"], Ty::Text),
    always("customer_id", &["Contact.ContactID"], Ty::Text),
    always("date", &["Date"], Ty::Text),
    always("status", &["Status"], Ty::Text),
    always("total", &["Total"], Ty::Number),
    always("total_tax", &["TotalTax"], Ty::Number),
    optional("remaining_credit", &["RemainingCredit"], Ty::Number),
    optional("line_tax_types", &["LineItems[*].TaxType", "LineItems[*].Taxes[].TaxType"], Ty::Text),
];
const CREDIT_KNOWN: &[&str] = &["Type", "LineAmountTypes", "LineItems", "SubTotal", "Allocations", "CurrencyCode", "CurrencyRate", "HasAttachments", "Contact"];

const fn stream(name: &'static str, resource: &'static str, kind: Kind, id_at: &'static str, state: StateRule, fields: &'static [Field], known: &'static [&'static str]) -> StreamSpec {
    StreamSpec {
        name,
        resource,
        kind,
        records_at: resource,
        id_at,
        updated_at: "UpdatedDateUTC",
        state,
        fields,
        known,
        sweep: None,
        sweep_records_at: "",
        max_page: 1000,
    }
}

/// The streams.
pub const STREAMS: &[StreamSpec] = &[
    stream("contacts", "Contacts", Kind::Party, "ContactID", CONTACT_STATE, CONTACT_FIELDS, CONTACT_KNOWN),
    stream("invoices", "Invoices", Kind::SalesDocument, "InvoiceID", DOC_STATE, INVOICE_FIELDS, INVOICE_KNOWN),
    stream("payments", "Payments", Kind::Payment, "PaymentID", DOC_STATE, PAYMENT_FIELDS, PAYMENT_KNOWN),
    stream("credit_notes", "CreditNotes", Kind::SalesDocument, "CreditNoteID", DOC_STATE, CREDIT_FIELDS, CREDIT_KNOWN),
];

/// Xero's declarations.
pub static SPEC: ProviderSpec = ProviderSpec {
    provider: Provider::Xero,
    auth: Auth::Bearer,
    // Per tenant: 60 calls in any minute, 5 in flight (5,000 a day is far above one sync).
    quota: Quota { windows: &[(60, 60.0)], concurrency: 5, remaining_header: Some("X-MinLimit-Remaining"), cost_bucket: None },
    page_size: 1000,
    streams: STREAMS,
    request,
    signal,
    sweep_request: None,
    clock_at: None,
    total_at: Some("pagination.itemCount"),
    body_error: |_, _| None,
    follow_up: None,
};

fn request(t: &Tenant, s: &StreamSpec, p: &Position, n: usize) -> Result<PageRequest, SyncError> {
    let mut path = format!("/api.xro/2.0/{}?page={}&pageSize={}&order={}", s.resource, p.page + 1, n, enc("UpdatedDateUTC ASC"));
    if s.resource == "Contacts" {
        path.push_str("&includeArchived=true");
    }
    let since = p.since.clone().unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_string());
    let mut headers = vec![("If-Modified-Since".to_string(), since)];
    if let Some(id) = &t.id {
        headers.push(("xero-tenant-id".to_string(), id.clone()));
    }
    Ok(PageRequest { method: Method::GET, path, headers, body: None })
}

fn signal(_s: &StreamSpec, body: &Value, _p: &Position, _n: usize, _len: usize) -> Signal {
    let page = lookup(body, "pagination.page").and_then(Value::as_u64).unwrap_or(1);
    let count = lookup(body, "pagination.pageCount").and_then(Value::as_u64).unwrap_or(0);
    if page < count {
        Signal::More(None)
    } else {
        Signal::Done
    }
}
