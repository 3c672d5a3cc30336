//! The declarations a provider is made of: streams, paging signal, quota, mapping.
//!
//! Following the Airbyte low-code model, everything that differs between
//! providers but is not really behaviour is data here: how to authenticate
//! (a bearer token or a named header), the published quota (sliding windows and
//! a concurrency cap), the page size, where the records sit in a page, where a
//! record keeps its id and its last-modified time, how its lifecycle state is
//! read (archived, deleted, merged), and which fields map to Concord's model
//! under which aliases. What really is odd about a provider (the shape of its
//! requests and of its paging signal) is one function each, `request` and
//! `signal`, in the provider's module. Adding a provider is a new module that
//! fills in a [`ProviderSpec`].

use crate::error::SyncError;
use concord_core::Provider;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

/// How a token is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// The token in a header of its own (Shopify's `X-Shopify-Access-Token`).
    Header(&'static str),
}

/// A published request quota: at most `limit` calls in any `period_secs`
/// (provider seconds) plus at most `concurrency` in flight.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    /// Sliding windows, each `(limit, period in provider seconds)`.
    pub windows: &'static [(u32, f64)],
    /// Calls in flight at once per connection.
    pub concurrency: usize,
    /// The response header that says how many calls are left in the tightest window.
    pub remaining_header: Option<&'static str>,
    /// A cost-points bucket (Shopify GraphQL): `(bucket size, restore per second)`.
    pub cost_bucket: Option<(f64, f64)>,
}

/// The canonical kind a stream's records map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Party,
    SalesDocument,
    Payment,
}

impl Kind {
    /// The stored identifier (`canonical_records.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Party => "party",
            Kind::SalesDocument => "sales_document",
            Kind::Payment => "payment",
        }
    }
}

/// The JSON type a field is expected to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Text,
    /// A number, or a string holding one (money arrives both ways).
    Number,
    Bool,
    Object,
    Array,
}

/// One canonical field: its name, the paths it may be found at (the first is
/// the documented one, the rest known aliases and moved shapes), its type, and
/// whether the provider always sends the key (so its absence is drift).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    /// Dotted paths; `[]` steps into the first element of an array
    /// (`addresses[].address`), `[*]` collects every element (`LineItems[*].TaxType`).
    pub paths: &'static [&'static str],
    pub ty: Ty,
    pub always: bool,
}

/// Shorthand for a field the provider always sends.
pub const fn always(name: &'static str, paths: &'static [&'static str], ty: Ty) -> Field {
    Field { name, paths, ty, always: true }
}

/// Shorthand for a field the provider leaves out when empty.
pub const fn optional(name: &'static str, paths: &'static [&'static str], ty: Ty) -> Field {
    Field { name, paths, ty, always: false }
}

/// How a record's lifecycle state is read.
#[derive(Debug, Clone, Copy)]
pub struct StateRule {
    /// A boolean path meaning archived when true (HubSpot `archived`).
    pub archived_flag: Option<&'static str>,
    /// A boolean path meaning archived when false (QuickBooks `Active`).
    pub active_flag: Option<&'static str>,
    /// A text path and the values meaning archived (Xero `ContactStatus` ARCHIVED).
    pub archived_values: Option<(&'static str, &'static [&'static str])>,
    /// A text path and the values meaning deleted (Xero `Status` DELETED, QuickBooks CDC `status` Deleted).
    pub deleted_values: Option<(&'static str, &'static [&'static str])>,
    /// A path holding the id of the record this one was merged into (Xero `MergedToContactID`).
    pub merged_into: Option<&'static str>,
}

/// A state rule that reads nothing: every record is active.
pub const ACTIVE: StateRule = StateRule { archived_flag: None, active_flag: None, archived_values: None, deleted_values: None, merged_into: None };

/// A second pass a stream needs because its incremental query leaves some
/// records out (HubSpot search never returns archived records; QuickBooks
/// queries never return deleted ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// List the archived records in full (HubSpot `archived=true`).
    Archived,
    /// Ask the change-data-capture endpoint for recent changes, deletions included.
    ChangeDataCapture,
}

/// One stream of one provider.
#[derive(Debug, Clone, Copy)]
pub struct StreamSpec {
    /// The store's object name (`contacts`, `credit_notes`).
    pub name: &'static str,
    /// The provider's name for the collection (`Contacts`, `CreditMemo`, `customers`).
    pub resource: &'static str,
    pub kind: Kind,
    /// Path to the array of records in a page.
    pub records_at: &'static str,
    /// Path to a record's id.
    pub id_at: &'static str,
    /// Path to a record's last-modified time.
    pub updated_at: &'static str,
    pub state: StateRule,
    pub fields: &'static [Field],
    /// Top-level keys (and keys inside `properties`) the provider is known to send
    /// beyond the mapped fields; any other key is reported as new.
    pub known: &'static [&'static str],
    pub sweep: Option<Sweep>,
    /// Path to the records in a sweep page (`results`, `CDCResponse[].QueryResponse[].Customer`).
    pub sweep_records_at: &'static str,
    /// The most records one page may ask for (cost limits); the provider's page size when larger.
    pub max_page: usize,
}

/// Where a stream's traversal stands: the lower bound on the last-modified
/// time (the bookmark, re-read inclusively), and the position among records
/// at that bound (a page number, an offset or a cursor).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Position {
    /// RFC 3339 UTC, milliseconds; `None` reads from the beginning.
    pub since: Option<String>,
    /// 0-based index of the page under `since` (page number - 1, or offset / page size).
    pub page: u64,
    /// An opaque cursor from the previous page (HubSpot `after`, Shopify `endCursor`).
    pub cursor: Option<String>,
}

/// A request for one page, before the token and the base URL are added.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub method: reqwest::Method,
    /// Path and query below the connection's base URL; never holds a secret.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

/// What the provider said about the pages after this one.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// Another page follows; its cursor if the provider gave one.
    More(Option<String>),
    /// This was the last page.
    Done,
}

/// What a connection contributes to requests: its tenant (Xero tenant id,
/// QuickBooks realm, Shopify shop) and the API version in use.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    pub id: Option<String>,
}

/// Builds the request for one page of a stream.
pub type RequestFn = fn(&Tenant, &StreamSpec, &Position, usize) -> Result<PageRequest, SyncError>;

/// A provider: its declarations and its two odd functions.
pub struct ProviderSpec {
    pub provider: Provider,
    pub auth: Auth,
    pub quota: Quota,
    /// Records asked for per page.
    pub page_size: usize,
    pub streams: &'static [StreamSpec],
    /// Builds the request for a page of a stream.
    pub request: RequestFn,
    /// Reads the provider's own "more pages?" signal from a page body.
    pub signal: fn(&StreamSpec, &Value, &Position, usize, usize) -> Signal,
    /// Builds the request for a sweep page (archived list, CDC); `None` when the provider has no sweeps.
    pub sweep_request: Option<RequestFn>,
    /// Path to the provider's current time in a page (QuickBooks `time`), for CDC windows.
    pub clock_at: Option<&'static str>,
    /// Path to the number of records the current query matches, for time estimates.
    pub total_at: Option<&'static str>,
    /// Recognises an error the provider reports in a successful response
    /// (Shopify's THROTTLED) or a refused cursor; `None` when the body is a page.
    pub body_error: fn(u16, &Value) -> Option<BodyError>,
    /// Completes records whose nested lists a page serves only in part
    /// (Shopify order line items); `None` when every record arrives whole.
    pub follow_up: Option<FollowUp>,
}

/// How a record's nested list that a page cut at its first page is read to the end.
#[derive(Debug, Clone, Copy)]
pub struct FollowUp {
    /// The request for the next part of `record`'s nested list, or `None` when it is whole.
    pub request: fn(&Tenant, &StreamSpec, &Value) -> Option<PageRequest>,
    /// Appends a follow-up answer to `record`; an error when the answer does not continue the list.
    pub splice: fn(&mut Value, &Value) -> Result<(), String>,
}

/// An error read from a response body.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyError {
    /// The paging cursor expired: restart from the bookmark.
    CursorExpired,
    /// Throttled; retry after this many real seconds.
    Throttled(f64),
    /// The provider reported errors instead of a page (GraphQL `errors`).
    Rejected(String),
}

impl std::fmt::Debug for ProviderSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSpec").field("provider", &self.provider).field("streams", &self.streams.len()).finish()
    }
}

/// Reads a dotted path (`a.b`, `a[].b` for an array's first element).
pub fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for step in path.split('.') {
        if let Some(name) = step.strip_suffix("[]") {
            cur = cur.get(name)?.as_array()?.first()?;
        } else {
            cur = cur.get(step)?;
        }
    }
    Some(cur)
}

/// A path's value as text (numbers and booleans printed), `None` when absent or null.
pub fn text_at(v: &Value, path: &str) -> Option<String> {
    match lookup(v, path)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// [`text_at`] over a record's JSON text, without building its tree: each
/// step scans one object for its key (the last one wins, as in a parsed
/// value) and skips everything else. The engine reads a page's update times
/// this way to ask for the next page before the records are mapped.
pub fn raw_text_at(text: &str, path: &str) -> Option<String> {
    let mut cur = text;
    for step in path.split('.') {
        let (name, first) = match step.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (step, false),
        };
        cur = find(cur, FieldOf(name))?;
        if first {
            cur = find(cur, FirstOf)?;
        }
    }
    match serde_json::from_str::<Value>(cur).ok()? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

fn find<'a, S: for<'de> DeserializeSeed<'de, Value = Option<&'de RawValue>>>(text: &'a str, seed: S) -> Option<&'a str> {
    let mut de = serde_json::Deserializer::from_str(text);
    seed.deserialize(&mut de).ok().flatten().map(RawValue::get)
}

/// Finds one key's value in an object (`None` when absent or not an object).
struct FieldOf<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for FieldOf<'_> {
    type Value = Option<&'de RawValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldOf<'_> {
    type Value = Option<&'de RawValue>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(is_key) = map.next_key_seed(KeyIs(self.0))? {
            if is_key {
                found = Some(map.next_value::<&RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Whether an object key (escaped or not) is the one wanted.
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a key")
    }
    fn visit_str<E>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

/// Finds an array's first element (`None` when empty or not an array).
struct FirstOf;

impl<'de> DeserializeSeed<'de> for FirstOf {
    type Value = Option<&'de RawValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FirstOf {
    type Value = Option<&'de RawValue>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let first = seq.next_element::<&RawValue>()?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn raw_paths_read_what_parsed_paths_read() {
        let texts = [
            r#"{"UpdatedDateUTC":"/Date(1551399323399+0000)/","Contacts":[{"Name":"A"}]}"#,
            r#"{"MetaData":{"CreateTime":"x","LastUpdatedTime":"2024-01-01T10:00:00+10:00"},"Id":"7"}"#,
            r#"{"properties":{"phone":"1"},"addresses":[{"address":"1 St"},{"address":"2 St"}],"n":2,"z":null,"b":true}"#,
            r#"{"UpdatedDateUTC":"escaped key","UpdatedDateUTC":"last one wins"}"#,
            r#"{"UpdatedDateUTC":"first","UpdatedDateUTC":"second"}"#,
            r#"{"addresses":[],"properties":"not an object"}"#,
            r#"["not", "an", "object"]"#,
        ];
        let paths = ["UpdatedDateUTC", "MetaData.LastUpdatedTime", "properties.phone", "addresses[].address", "n", "z", "b", "missing.x", "Contacts[].Name", "Id"];
        for text in texts {
            let parsed: Value = serde_json::from_str(text).unwrap();
            for path in paths {
                assert_eq!(raw_text_at(text, path), text_at(&parsed, path), "{path} in {text}: the engine's early read of update times must agree with the mapping's");
            }
        }
    }

    #[test]
    fn paths_step_into_objects_and_first_elements() {
        let v = json!({"properties": {"phone": "1"}, "addresses": [{"address": "1 St"}], "n": 2});
        let cases = [("properties.phone", Some("1")), ("addresses[].address", Some("1 St")), ("n", Some("2")), ("missing.x", None)];
        for (path, want) in cases {
            assert_eq!(text_at(&v, path).as_deref(), want, "path {path} must resolve as documented");
        }
    }
}
