//! QuickBooks Online: customers, invoices, payments and credit memos.
//!
//! Pages come from the query endpoint, `WHERE MetaData.LastUpdatedTime >=`
//! the bookmark `ORDERBY MetaData.LastUpdatedTime`, `STARTPOSITION` and
//! `MAXRESULTS`; paging ends on a page shorter than MAXRESULTS. Queries never
//! return deleted entities, so each run sweeps the CDC endpoint (changes of
//! the last 30 days, deleted ones as `"status": "Deleted"`). Customer queries
//! filter on `Active` so inactive customers are listed too.

use super::enc;
use crate::error::SyncError;
use crate::spec::*;
use concord_core::Provider;
use reqwest::Method;
use serde_json::Value;

const CUSTOMER_STATE: StateRule = StateRule { active_flag: Some("Active"), deleted_values: Some(("status", &["Deleted"])), ..ACTIVE };
const DOC_STATE: StateRule = StateRule { deleted_values: Some(("status", &["Deleted"])), ..ACTIVE };

const CUSTOMER_FIELDS: &[Field] = &[
    always("name", &["DisplayName"], Ty::Text),
    optional("given_name", &["GivenName"], Ty::Text),
    optional("family_name", &["FamilyName"], Ty::Text),
    optional("company", &["CompanyName"], Ty::Text),
    optional("email", &["PrimaryEmailAddr.Address"], Ty::Text),
    optional("phone", &["PrimaryPhone.FreeFormNumber"], Ty::Text),
    optional("mobile", &["Mobile.FreeFormNumber"], Ty::Text),
    optional("bill_address", &["BillAddr"], Ty::Object),
    optional("tax_number", &["BusinessNumber", "PrimaryTaxIdentifier"], Ty::Text),
    optional("balance", &["Balance"], Ty::Number),
    always("version", &["SyncToken"], Ty::Text),
];
const CUSTOMER_KNOWN: &[&str] = &[
    "domain", "sparse", "Active", "MetaData", "FullyQualifiedName", "PrintOnCheckName", "BalanceWithJobs", "CurrencyRef",
    "PreferredDeliveryMethod", "Taxable", "Job", "BillWithParent", "ShipAddr", "status",
];

const INVOICE_FIELDS: &[Field] = &[
    optional("number", &["DocNumber"], Ty::Text),
    always("customer_id", &["CustomerRef.value"], Ty::Text),
    always("date", &["TxnDate"], Ty::Text),
    optional("due_date", &["DueDate"], Ty::Text),
    always("lines", &["Line"], Ty::Array),
    always("total_tax", &["TxnTaxDetail.TotalTax", "TxnTaxDetail.TaxLine[*].Amount"], Ty::Number),
    always("total", &["TotalAmt"], Ty::Number),
    always("balance", &["Balance", "OutstandingBalance"], Ty::Number),
    optional("tax_treatment", &["GlobalTaxCalculation"], Ty::Text),
    always("version", &["SyncToken"], Ty::Text),
];
const DOC_KNOWN: &[&str] = &[
    "domain", "sparse", "MetaData", "CustomerRef", "TxnTaxDetail", "CurrencyRef", "ExchangeRate", "LinkedTxn", "CustomField",
    "PrivateNote", "CustomerMemo", "BillEmail", "EmailStatus", "PrintStatus", "ApplyTaxAfterDiscount", "TotalAmt", "status",
    "DepositToAccountRef", "UnappliedAmt", "PaymentRefNum", "ProcessPayment", "RemainingCredit", "BillAddr", "ShipAddr",
    "SalesTermRef", "AllowOnlineACHPayment", "AllowOnlineCreditCardPayment", "HomeBalance", "HomeTotalAmt",
];

const PAYMENT_FIELDS: &[Field] = &[
    always("customer_id", &["CustomerRef.value"], Ty::Text),
    always("date", &["TxnDate"], Ty::Text),
    always("amount", &["TotalAmt"], Ty::Number),
    optional("unapplied", &["UnappliedAmt"], Ty::Number),
    optional("reference", &["PaymentRefNum"], Ty::Text),
    always("lines", &["Line"], Ty::Array),
    always("version", &["SyncToken"], Ty::Text),
];

const CREDIT_FIELDS: &[Field] = &[
    optional("number", &["DocNumber"], Ty::Text),
    always("customer_id", &["CustomerRef.value"], Ty::Text),
    always("date", &["TxnDate"], Ty::Text),
    always("lines", &["Line"], Ty::Array),
    always("total_tax", &["TxnTaxDetail.TotalTax", "TxnTaxDetail.TaxLine[*].Amount"], Ty::Number),
    always("total", &["TotalAmt"], Ty::Number),
    always("remaining_credit", &["RemainingCredit", "Balance"], Ty::Number),
    always("version", &["SyncToken"], Ty::Text),
];

#[allow(clippy::too_many_arguments)]
const fn stream(name: &'static str, entity: &'static str, records_at: &'static str, cdc_at: &'static str, kind: Kind, state: StateRule, fields: &'static [Field], known: &'static [&'static str]) -> StreamSpec {
    StreamSpec {
        name,
        resource: entity,
        kind,
        records_at,
        id_at: "Id",
        updated_at: "MetaData.LastUpdatedTime",
        state,
        fields,
        known,
        sweep: Some(Sweep::ChangeDataCapture),
        sweep_records_at: cdc_at,
        max_page: 1000,
    }
}

/// The streams.
pub const STREAMS: &[StreamSpec] = &[
    stream("customers", "Customer", "QueryResponse.Customer", "CDCResponse[].QueryResponse[].Customer", Kind::Party, CUSTOMER_STATE, CUSTOMER_FIELDS, CUSTOMER_KNOWN),
    stream("invoices", "Invoice", "QueryResponse.Invoice", "CDCResponse[].QueryResponse[].Invoice", Kind::SalesDocument, DOC_STATE, INVOICE_FIELDS, DOC_KNOWN),
    stream("payments", "Payment", "QueryResponse.Payment", "CDCResponse[].QueryResponse[].Payment", Kind::Payment, DOC_STATE, PAYMENT_FIELDS, DOC_KNOWN),
    stream("credit_memos", "CreditMemo", "QueryResponse.CreditMemo", "CDCResponse[].QueryResponse[].CreditMemo", Kind::SalesDocument, DOC_STATE, CREDIT_FIELDS, DOC_KNOWN),
];

/// The most objects one CDC answer holds; a full answer means more may follow.
pub const CDC_MAX: usize = 1000;

/// QuickBooks' declarations.
pub static SPEC: ProviderSpec = ProviderSpec {
    provider: Provider::QuickBooks,
    auth: Auth::Bearer,
    // 500 calls a minute and 10 in flight per realm.
    quota: Quota { windows: &[(500, 60.0)], concurrency: 10, remaining_header: None, cost_bucket: None },
    page_size: 1000,
    streams: STREAMS,
    request,
    signal,
    sweep_request: Some(sweep_request),
    clock_at: Some("time"),
    total_at: None,
    body_error: |_, _| None,
    follow_up: None,
};

fn realm(t: &Tenant) -> Result<&str, SyncError> {
    t.id.as_deref().ok_or_else(|| SyncError::Shape {
        provider: "QuickBooks",
        what: "the connection".into(),
        detail: "no company (realm) id is recorded; connect QuickBooks again".into(),
    })
}

fn request(t: &Tenant, s: &StreamSpec, p: &Position, n: usize) -> Result<PageRequest, SyncError> {
    let mut conditions = Vec::new();
    if let Some(since) = &p.since {
        conditions.push(format!("MetaData.LastUpdatedTime >= '{since}'"));
    }
    if s.resource == "Customer" {
        conditions.push("Active IN (true, false)".to_string());
    }
    let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    let q = format!("SELECT * FROM {}{filter} ORDERBY MetaData.LastUpdatedTime STARTPOSITION {} MAXRESULTS {n}", s.resource, p.page * n as u64 + 1);
    Ok(PageRequest { method: Method::GET, path: format!("/v3/company/{}/query?query={}", realm(t)?, enc(&q)), headers: vec![], body: None })
}

fn sweep_request(t: &Tenant, s: &StreamSpec, p: &Position, _n: usize) -> Result<PageRequest, SyncError> {
    let since = p.since.clone().unwrap_or_default();
    Ok(PageRequest {
        method: Method::GET,
        path: format!("/v3/company/{}/cdc?entities={}&changedSince={}", realm(t)?, s.resource, enc(&since)),
        headers: vec![],
        body: None,
    })
}

fn signal(_s: &StreamSpec, _body: &Value, _p: &Position, n: usize, len: usize) -> Signal {
    if len < n {
        Signal::Done
    } else {
        Signal::More(None)
    }
}
