//! Spreadsheets as one more source system.
//!
//! A legacy customer list or invoice register exported as CSV becomes
//! canonical [`Party`] or [`SalesDocument`] records, so it links, conflicts and
//! reconciles like any connected system. The mapping says which column feeds
//! which canonical field (`givenName=First Name`); columns whose header already
//! names a field, or a common synonym of one (`surname`, `suburb`, `zip`,
//! `abn`), map themselves. `a+b` joins two columns with a space, and list
//! fields (`email`, `phone`, `addressLines`) accept the field more than once.
//! Money is parsed to `Decimal` (a `$` and thousands separators are allowed);
//! a value that is not money is an error naming the row and column.

use concord_core::model::{Address, AddressKind, DocumentKind, DocumentStatus, Party, PartyKind, Phone, SalesDocument, Source, TaxTreatment};
use rust_decimal::Decimal;
use std::io::Read;
use std::str::FromStr;

/// What the spreadsheet holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportEntity {
    /// Customers.
    Parties,
    /// Orders, invoices or credit notes (one row each, without lines).
    Documents,
}

impl ImportEntity {
    /// Parses `parties` or `documents`.
    pub fn parse(s: &str) -> Option<ImportEntity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "parties" | "party" | "customers" | "contacts" => Some(ImportEntity::Parties),
            "documents" | "document" | "invoices" | "orders" => Some(ImportEntity::Documents),
            _ => None,
        }
    }

    /// `parties` or `documents`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportEntity::Parties => "parties",
            ImportEntity::Documents => "documents",
        }
    }
}

/// Why a spreadsheet could not be imported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ImportError(pub String);

/// The canonical fields a party column can feed.
pub const PARTY_FIELDS: &[&str] = &[
    "externalId", "kind", "givenName", "familyName", "displayName", "companyName", "email", "phone", "addressLines", "city", "region",
    "postcode", "country", "taxNumber", "currency", "lastModified",
];

/// The canonical fields a document column can feed.
pub const DOCUMENT_FIELDS: &[&str] = &[
    "externalId", "kind", "number", "reference", "customerRef", "issueDate", "dueDate", "subtotal", "tax", "total", "amountDue",
    "status", "currency", "taxTreatment", "lastModified",
];

const SYNONYMS: &[(&str, &str)] = &[
    ("id", "externalId"),
    ("recid", "externalId"),
    ("recordid", "externalId"),
    ("firstname", "givenName"),
    ("givenname", "givenName"),
    ("first", "givenName"),
    ("lastname", "familyName"),
    ("surname", "familyName"),
    ("familyname", "familyName"),
    ("last", "familyName"),
    ("name", "displayName"),
    ("fullname", "displayName"),
    ("company", "companyName"),
    ("organisation", "companyName"),
    ("organization", "companyName"),
    ("business", "companyName"),
    ("emailaddress", "email"),
    ("mail", "email"),
    ("phonenumber", "phone"),
    ("mobile", "phone"),
    ("telephone", "phone"),
    ("tel", "phone"),
    ("address", "addressLines"),
    ("address1", "addressLines"),
    ("address2", "addressLines"),
    ("street", "addressLines"),
    ("streetaddress", "addressLines"),
    ("suburb", "city"),
    ("town", "city"),
    ("state", "region"),
    ("province", "region"),
    ("zip", "postcode"),
    ("zipcode", "postcode"),
    ("postalcode", "postcode"),
    ("abn", "taxNumber"),
    ("taxid", "taxNumber"),
    ("invoicenumber", "number"),
    ("ordernumber", "number"),
    ("customer", "customerRef"),
    ("customerid", "customerRef"),
    ("date", "issueDate"),
    ("invoicedate", "issueDate"),
    ("gst", "tax"),
    ("amount", "total"),
    ("balance", "amountDue"),
    ("updatedat", "lastModified"),
];

fn squash(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_ascii_lowercase()
}

/// Parses `field=column` arguments. Unknown fields are refused with the list of known ones.
pub fn parse_mapping(entity: ImportEntity, args: &[String]) -> Result<Vec<(String, String)>, ImportError> {
    let fields = match entity {
        ImportEntity::Parties => PARTY_FIELDS,
        ImportEntity::Documents => DOCUMENT_FIELDS,
    };
    args.iter()
        .map(|a| {
            let (f, c) = a.split_once('=').ok_or_else(|| ImportError(format!("--map {a:?} must look like canonical_field=column")))?;
            let field = fields
                .iter()
                .find(|k| squash(k) == squash(f))
                .or_else(|| SYNONYMS.iter().find(|(s, _)| *s == squash(f)).and_then(|(_, k)| fields.iter().find(|x| *x == k)))
                .ok_or_else(|| ImportError(format!("unknown {} field {f:?}; use one of: {}", entity.as_str(), fields.join(", "))))?;
            Ok((field.to_string(), c.trim().to_string()))
        })
        .collect()
}

/// Records read from a spreadsheet.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    pub parties: Vec<Party>,
    pub documents: Vec<SalesDocument>,
    /// The mapping used, explicit and automatic, as `field=column`.
    pub mapping: Vec<String>,
}

/// Reads a CSV with a header row. `connection_id` and `object` go into each
/// record's [`Source`] (an import has no provider).
pub fn read_csv<R: Read>(input: R, entity: ImportEntity, mapping: &[(String, String)], connection_id: i64, object: &str) -> Result<Imported, ImportError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
    let headers: Vec<String> = rdr.headers().map_err(|e| ImportError(format!("could not read the header row: {e}")))?.iter().map(str::to_string).collect();
    let fields = match entity {
        ImportEntity::Parties => PARTY_FIELDS,
        ImportEntity::Documents => DOCUMENT_FIELDS,
    };
    // field -> list of column groups (each group joined with spaces)
    let mut plan: Vec<(String, Vec<usize>)> = Vec::new();
    for (field, spec) in mapping {
        let mut cols = Vec::new();
        for part in spec.split('+') {
            let part = part.trim();
            let idx = headers
                .iter()
                .position(|h| h == part)
                .or_else(|| headers.iter().position(|h| squash(h) == squash(part)))
                .ok_or_else(|| ImportError(format!("no column {part:?} in the file; its columns are: {}", headers.join(", "))))?;
            cols.push(idx);
        }
        plan.push((field.clone(), cols));
    }
    for (i, h) in headers.iter().enumerate() {
        if plan.iter().any(|(_, cols)| cols.contains(&i)) {
            continue;
        }
        let sq = squash(h);
        let field = fields.iter().find(|f| squash(f) == sq).copied().or_else(|| SYNONYMS.iter().find(|(s, _)| *s == sq).map(|(_, f)| *f));
        if let Some(f) = field.filter(|f| fields.contains(f)) {
            let list = matches!(f, "email" | "phone" | "addressLines");
            if list || !plan.iter().any(|(pf, _)| pf == f) {
                plan.push((f.to_string(), vec![i]));
            }
        }
    }
    let mut out = Imported { mapping: plan.iter().map(|(f, cols)| format!("{f}={}", cols.iter().map(|c| headers[*c].as_str()).collect::<Vec<_>>().join("+"))).collect(), ..Default::default() };
    for (n, row) in rdr.records().enumerate() {
        let row = row.map_err(|e| ImportError(format!("row {}: {e}", n + 2)))?;
        let get_all = |field: &str| -> Vec<String> {
            plan.iter()
                .filter(|(f, _)| f == field)
                .map(|(_, cols)| cols.iter().filter_map(|c| row.get(*c)).filter(|v| !v.is_empty()).collect::<Vec<_>>().join(" "))
                .filter(|v| !v.trim().is_empty())
                .collect()
        };
        let get = |field: &str| get_all(field).into_iter().next();
        let external_id = get("externalId").unwrap_or_else(|| format!("row-{}", n + 2));
        let source = Source { connection_id, provider: None, object: object.to_string(), external_id, last_modified: get("lastModified") };
        match entity {
            ImportEntity::Parties => {
                let company = get("companyName");
                let given = get("givenName");
                let family = get("familyName");
                let kind = match get("kind").map(|k| k.to_ascii_lowercase()) {
                    Some(k) if k.starts_with("org") || k.starts_with("comp") || k.starts_with("bus") => PartyKind::Organisation,
                    Some(_) => PartyKind::Person,
                    None if company.is_some() && given.is_none() && family.is_none() => PartyKind::Organisation,
                    None => PartyKind::Person,
                };
                let lines = get_all("addressLines");
                let (city, region, postcode, country) = (get("city"), get("region"), get("postcode"), get("country"));
                let has_address = !lines.is_empty() || city.is_some() || postcode.is_some();
                out.parties.push(Party {
                    source,
                    kind,
                    given_name: given,
                    family_name: family,
                    display_name: get("displayName"),
                    company_name: company,
                    emails: get_all("email"),
                    phones: get_all("phone").into_iter().map(|number| Phone { label: None, number }).collect(),
                    addresses: if has_address { vec![Address { kind: AddressKind::Billing, lines, city, region, postcode, country }] } else { vec![] },
                    tax_number: get("taxNumber"),
                    currency: get("currency"),
                    cross_refs: Vec::new(),
                    parent_external_id: None,
                });
            }
            ImportEntity::Documents => {
                let money = |field: &str| -> Result<Option<Decimal>, ImportError> {
                    match get(field) {
                        None => Ok(None),
                        Some(v) => parse_money(&v).map(Some).ok_or_else(|| ImportError(format!("row {}, {field}: {v:?} is not an amount", n + 2))),
                    }
                };
                let total = money("total")?.unwrap_or_default();
                let tax = money("tax")?.unwrap_or_default();
                let subtotal = money("subtotal")?.unwrap_or(total - tax);
                let kind = match get("kind").map(|k| squash(&k)) {
                    Some(k) if k.starts_with("order") => DocumentKind::Order,
                    Some(k) if k.starts_with("credit") || k.starts_with("refund") => DocumentKind::CreditNote,
                    _ => DocumentKind::Invoice,
                };
                let raw_status = get("status");
                out.documents.push(SalesDocument {
                    source,
                    kind,
                    number: get("number"),
                    reference: get("reference"),
                    customer_ref: get("customerRef"),
                    credits_ref: None,
                    issue_date: get("issueDate"),
                    due_date: get("dueDate"),
                    lines: Vec::new(),
                    subtotal,
                    tax,
                    total,
                    amount_due: money("amountDue")?,
                    status: raw_status.as_deref().map(status_of).unwrap_or_default(),
                    status_raw: raw_status,
                    currency: get("currency"),
                    tax_treatment: match get("taxTreatment").map(|t| squash(&t)) {
                        Some(t) if t.starts_with("incl") => TaxTreatment::Inclusive,
                        Some(t) if t.starts_with("no") || t == "none" => TaxTreatment::NoTax,
                        _ => TaxTreatment::Exclusive,
                    },
                    cross_refs: Vec::new(),
                });
            }
        }
    }
    Ok(out)
}

/// `$1,234.50`, `1234.5`, `(12.00)` (negative) as a decimal.
pub fn parse_money(raw: &str) -> Option<Decimal> {
    let t = raw.trim();
    let (neg, t) = match t.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        Some(inner) => (true, inner),
        None => (false, t),
    };
    let cleaned: String = t.chars().filter(|c| !matches!(c, '$' | ',' | ' ' | 'A' | 'U' | 'D')).collect();
    let d = Decimal::from_str(&cleaned).ok()?;
    Some(if neg { -d } else { d })
}

fn status_of(raw: &str) -> DocumentStatus {
    match squash(raw).as_str() {
        "paid" | "closed" => DocumentStatus::Paid,
        "partiallypaid" | "partial" | "part" => DocumentStatus::PartiallyPaid,
        "draft" | "submitted" => DocumentStatus::Draft,
        "void" | "voided" | "deleted" | "cancelled" | "canceled" => DocumentStatus::Void,
        "refunded" => DocumentStatus::Refunded,
        "open" | "authorised" | "authorized" | "unpaid" | "pending" | "sent" | "overdue" => DocumentStatus::Open,
        _ => DocumentStatus::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parties_map_by_header_and_by_argument() {
        let csv = "Cust No,First Name,surname,E-mail,Suburb,postcode,ABN\n7,Zoe,Ng,ZOE@x.com,Paddington,4064,51 824 753 556\n";
        let map = parse_mapping(ImportEntity::Parties, &["externalId=Cust No".into(), "givenName=First Name".into()]).unwrap();
        let got = read_csv(csv.as_bytes(), ImportEntity::Parties, &map, -1, "legacy").unwrap();
        let p = &got.parties[0];
        assert_eq!(p.source.external_id, "7", "the mapped id column names the record");
        assert_eq!(p.given_name.as_deref(), Some("Zoe"), "an explicit mapping is used");
        assert_eq!(p.family_name.as_deref(), Some("Ng"), "'surname' maps itself to familyName");
        assert_eq!(p.emails, vec!["ZOE@x.com".to_string()], "'E-mail' maps itself to email");
        assert_eq!(p.tax_number.as_deref(), Some("51 824 753 556"), "'ABN' maps itself to taxNumber");
        assert_eq!(p.addresses[0].postcode.as_deref(), Some("4064"), "address parts are kept");
    }

    #[test]
    fn documents_parse_money_exactly() {
        let csv = "id,total,gst,status\nA1,\"$1,100.10\",100.01,Paid\nA2,12.3x,0,open\n";
        let err = read_csv(csv.as_bytes(), ImportEntity::Documents, &[], -1, "register").unwrap_err();
        assert!(err.0.contains("row 3") && err.0.contains("12.3x"), "a bad amount must name its row and value: {}", err.0);
        let ok = read_csv(&csv.as_bytes()[..csv.find("A2").unwrap()], ImportEntity::Documents, &[], -1, "register").unwrap();
        assert_eq!(ok.documents[0].total, Decimal::new(110010, 2), "money must be exact, separators and $ ignored");
        assert_eq!(ok.documents[0].subtotal, Decimal::new(100009, 2), "a missing subtotal is total less tax");
        assert_eq!(ok.documents[0].status, DocumentStatus::Paid, "statuses are normalised");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = parse_mapping(ImportEntity::Parties, &["shoeSize=col".into()]).unwrap_err();
        assert!(err.0.contains("givenName"), "the error must list the known fields: {}", err.0);
        assert!(parse_mapping(ImportEntity::Parties, &["nomap".into()]).is_err(), "an argument without '=' is a mistake");
    }
}
