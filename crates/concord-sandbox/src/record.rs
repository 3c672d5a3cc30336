//! Compact records: how one provider holds a customer, a document or a payment.
//!
//! A benchmark world has 100,000 customers and half a million documents in
//! each of four systems, so records are kept small: a customer's text fields
//! share one allocation, money is whole cents (`i64`, converted to
//! `rust_decimal::Decimal` at the edge, never floating point), times are Unix
//! milliseconds, and line items are looked up from the shared sale rather than
//! copied. Providers render these records to their own JSON on demand, one
//! page at a time. Fields a client writes that the sandbox does not model are
//! kept verbatim in `extra` and rendered back.

use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// Unit separator between the text fields of a [`PartyRecord`].
const SEP: char = '\u{1f}';

/// The text fields of a customer record, in storage order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartyField {
    Given = 0,
    Family,
    Company,
    Email,
    Phone,
    Street,
    City,
    State,
    Postcode,
    Abn,
    Note,
}

/// How many [`PartyField`]s there are.
pub const PARTY_FIELDS: usize = 11;

/// A customer, contact or company as one provider holds it.
#[derive(Clone, Debug)]
pub struct PartyRecord {
    /// Index of the real customer this record belongs to (ground truth only;
    /// never rendered).
    pub party: u32,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Bumped on every write; QuickBooks renders it as SyncToken.
    pub version: u32,
    pub archived: bool,
    /// Shopify: an account created by a guest checkout (state DISABLED).
    pub guest: bool,
    fields: Box<str>,
    pub extra: Option<Box<Map<String, Value>>>,
}

impl PartyRecord {
    /// A record with the given text fields (in [`PartyField`] order).
    pub fn new(party: u32, values: [&str; PARTY_FIELDS], created_ms: i64, updated_ms: i64) -> Self {
        let mut s = String::with_capacity(values.iter().map(|v| v.len() + 1).sum());
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                s.push(SEP);
            }
            s.extend(v.chars().filter(|c| *c != SEP));
        }
        PartyRecord {
            party,
            created_ms,
            updated_ms,
            version: 0,
            archived: false,
            guest: false,
            fields: s.into_boxed_str(),
            extra: None,
        }
    }

    /// One text field; empty when the system has no value.
    pub fn get(&self, field: PartyField) -> &str {
        self.fields.split(SEP).nth(field as usize).unwrap_or("")
    }

    /// All text fields, in [`PartyField`] order.
    pub fn values(&self) -> [&str; PARTY_FIELDS] {
        let mut out = [""; PARTY_FIELDS];
        for (i, v) in self.fields.split(SEP).enumerate().take(PARTY_FIELDS) {
            out[i] = v;
        }
        out
    }

    /// Replaces one text field.
    pub fn set(&mut self, field: PartyField, value: &str) {
        let mut vals: Vec<String> = self.values().iter().map(|s| s.to_string()).collect();
        vals[field as usize] = value.to_string();
        let refs: [&str; PARTY_FIELDS] = std::array::from_fn(|i| vals[i].as_str());
        let rebuilt = PartyRecord::new(self.party, refs, self.created_ms, self.updated_ms);
        self.fields = rebuilt.fields;
    }

    /// Given and family name joined, or the company when there is no person.
    pub fn display_name(&self) -> String {
        let person = format!("{} {}", self.get(PartyField::Given), self.get(PartyField::Family));
        let person = person.trim();
        if !self.get(PartyField::Company).is_empty() {
            self.get(PartyField::Company).to_string()
        } else {
            person.to_string()
        }
    }

    /// Marks a write: new version and update time.
    pub fn touch(&mut self, now_ms: i64) {
        self.version += 1;
        self.updated_ms = self.updated_ms.max(now_ms);
    }

    /// A client-written field the sandbox does not model.
    pub fn set_extra(&mut self, key: &str, value: Value) {
        self.extra.get_or_insert_with(Default::default).insert(key.to_string(), value);
    }
}

/// How a document's line amounts treat GST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Treatment {
    /// Line amounts include GST (retail).
    Inclusive,
    /// GST is added on top of line amounts (wholesale).
    Exclusive,
}

/// Document flags.
pub mod doc_flags {
    /// Removed by the provider (Xero DELETED/VOIDED, QuickBooks Deleted).
    pub const DELETED: u8 = 1;
    /// Planted: GST-inclusive shop prices typed into the books as exclusive.
    pub const INCLUSIVE_TYPED_AS_EXCLUSIVE: u8 = 2;
    /// Cancelled (Shopify) or voided (books).
    pub const VOIDED: u8 = 4;
    /// The document was created by a client through the API.
    pub const CLIENT_CREATED: u8 = 8;
}

/// An order, invoice or credit note as one provider holds it.
#[derive(Clone, Debug)]
pub struct DocRecord {
    /// Index of the sale it records (gives party, date and line items).
    pub sale: u32,
    /// Index of the customer in the same provider's party table.
    pub customer: u32,
    /// Human document number (order #1001, INV-0001, DocNumber).
    pub number: u32,
    pub date_ms: i64,
    pub due_days: u16,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub version: u32,
    /// Money received against the document, in cents.
    pub paid_cents: i64,
    /// Refunded (shop) or credited (books), in cents.
    pub refunded_cents: i64,
    /// Planted rounding difference applied to the first line, in cents.
    pub adjust_cents: i16,
    pub treatment: Treatment,
    pub flags: u8,
    pub extra: Option<Box<Map<String, Value>>>,
}

impl DocRecord {
    /// Whether a flag from [`doc_flags`] is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Marks a write: new version and update time.
    pub fn touch(&mut self, now_ms: i64) {
        self.version += 1;
        self.updated_ms = self.updated_ms.max(now_ms);
    }

    /// A client-written field the sandbox does not model.
    pub fn set_extra(&mut self, key: &str, value: Value) {
        self.extra.get_or_insert_with(Default::default).insert(key.to_string(), value);
    }
}

/// A payment or a credit note's single refund amount.
#[derive(Clone, Debug)]
pub struct PaymentRecord {
    /// Index of the document (invoice or order) it applies to.
    pub doc: u32,
    pub amount_cents: i64,
    pub date_ms: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub version: u32,
    pub deleted: bool,
    pub extra: Option<Box<Map<String, Value>>>,
}

/// A credit note (books) for a refund (shop).
#[derive(Clone, Debug)]
pub struct CreditRecord {
    /// Index of the invoice it credits.
    pub doc: u32,
    pub customer: u32,
    pub number: u32,
    /// GST-inclusive total.
    pub amount_cents: i64,
    /// Amount not yet allocated to an invoice.
    pub remaining_cents: i64,
    pub date_ms: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub version: u32,
    pub deleted: bool,
    pub extra: Option<Box<Map<String, Value>>>,
}

/// Whole cents as an exact decimal with two places.
pub fn money(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

/// An exact decimal rounded half away from zero to whole cents.
pub fn to_cents(amount: Decimal) -> i64 {
    let r = amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    (r * Decimal::ONE_HUNDRED).trunc().try_into().unwrap_or(0)
}

/// A decimal as a JSON number with its exact decimal text (Xero and
/// QuickBooks send money as JSON numbers). serde_json parses the text itself.
pub fn json_number(amount: Decimal) -> Value {
    let text = amount.normalize().to_string();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Overlays client-written fields on a rendered object (keys starting with
/// `_` are the sandbox's own bookkeeping and are not rendered).
pub fn overlay(target: &mut Map<String, Value>, extra: &Option<Box<Map<String, Value>>>) {
    if let Some(extra) = extra {
        for (k, v) in extra.iter().filter(|(k, _)| !k.starts_with('_')) {
            target.insert(k.clone(), v.clone());
        }
    }
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds ("2024-01-02T03:04:05.678Z").
pub fn iso_ms(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Unix milliseconds as a calendar date ("2024-01-02").
pub fn date_only(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).unwrap_or_default().format("%Y-%m-%d").to_string()
}

/// Unix milliseconds in Xero's JSON date form ("/Date(1551399323399+0000)/").
pub fn xero_date(ms: i64) -> String {
    format!("/Date({ms}+0000)/")
}

/// Parses a timestamp a client sent: RFC 3339, a date-time without zone
/// (taken as UTC), a plain date, or Unix milliseconds.
pub fn parse_time_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return Some(ms);
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.timestamp_millis());
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc2822(t) {
        return Some(d.timestamp_millis());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, f) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|d| d.and_utc().timestamp_millis());
    }
    if let Some(inner) = t.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        let digits: String = inner.chars().take_while(|c| c.is_ascii_digit() || *c == '-').collect();
        return digits.parse().ok();
    }
    None
}

/// A decimal from a JSON number or string a client sent.
pub fn decimal_of(v: &Value) -> Option<Decimal> {
    use std::str::FromStr;
    match v {
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok().or_else(|| Decimal::from_scientific(&n.to_string()).ok()),
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_fields_round_trip() {
        let mut r = PartyRecord::new(3, ["Ann", "Lee", "", "a@x", "", "", "", "", "", "", ""], 1, 2);
        assert_eq!(r.get(PartyField::Family), "Lee", "fields come back in the order they were stored");
        r.set(PartyField::Email, "ann@y");
        assert_eq!(r.get(PartyField::Email), "ann@y", "a set field must read back");
        assert_eq!(r.get(PartyField::Given), "Ann", "setting one field must not disturb the others");
    }

    #[test]
    fn money_is_exact() {
        let cases = [(12345_i64, "123.45"), (-5, "-0.05"), (100, "1.00")];
        for (cents, text) in cases {
            assert_eq!(money(cents).to_string(), text, "cents must render as an exact two-place decimal");
            assert_eq!(to_cents(money(cents)), cents, "converting back must be lossless");
        }
        assert_eq!(to_cents(Decimal::new(5, 3)), 1, "half a cent rounds away from zero");
    }

    #[test]
    fn client_times_parse() {
        let cases = [
            ("2024-01-02T03:04:05Z", Some(1_704_164_645_000_i64)),
            ("2024-01-02T13:04:05+10:00", Some(1_704_164_645_000)),
            ("2024-01-02T03:04:05", Some(1_704_164_645_000)),
            ("1704164645000", Some(1_704_164_645_000)),
            ("/Date(1704164645000+0000)/", Some(1_704_164_645_000)),
            ("yesterday", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_time_ms(text), want, "parsing {text:?}");
        }
        assert_eq!(xero_date(5), "/Date(5+0000)/", "Xero dates carry a +0000 offset");
        assert_eq!(iso_ms(1_704_164_645_000), "2024-01-02T03:04:05.000Z", "ISO times are UTC with milliseconds");
    }
}
