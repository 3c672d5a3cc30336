//! Defensive mapping of provider records onto Concord's fields, and the schema-drift report.
//!
//! A field is looked for at its documented path first, then at each known
//! alias or moved shape (HubSpot `phone` renamed `phone_number`; `address`
//! moved into `addresses[]`; Xero line `TaxType` moved into `Taxes[]`). The
//! mapped record says, for every field, whether a value was found, the field
//! was present but empty, or the field was missing everywhere: a missing
//! field is listed in the record's `_missing` and in the drift report, never
//! silently turned into an empty value.
//!
//! [`DriftTally`] counts, over one stream's run, the fields served under an
//! alias (renamed or moved), the always-sent fields that vanished, the fields
//! whose JSON type changed, and keys the provider sent that Concord does not
//! know, each with a count and up to three example record ids.

use crate::spec::{Field, StreamSpec, Ty};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// What kind of drift a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// A field arrived only under an alias or in a moved shape.
    Renamed,
    /// A field the provider always sends was missing everywhere.
    Vanished,
    /// A field arrived with another JSON type than expected.
    TypeChanged,
    /// A key Concord does not know arrived.
    NewField,
}

/// One finding of a drift report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftFinding {
    pub stream: String,
    pub kind: DriftKind,
    /// The canonical field or the provider key concerned.
    pub field: String,
    /// Where it was found instead, or the type it arrived as.
    pub detail: String,
    pub count: u64,
    pub examples: Vec<String>,
}

/// Counts drift over one stream's run.
#[derive(Debug, Default, Clone)]
pub struct DriftTally {
    findings: BTreeMap<(DriftKind, String, String), (u64, Vec<String>)>,
    /// Records mapped, and per always-sent field how many arrived empty (with examples).
    seen: u64,
    empty: BTreeMap<String, (u64, Vec<String>)>,
    /// Whether a provider key is declared, remembered across the records of a page
    /// (they share their keys; the answer depends only on the stream).
    declared: HashMap<String, bool>,
}

impl DriftTally {
    pub(crate) fn note(&mut self, kind: DriftKind, field: &str, detail: &str, id: &str) {
        let e = self.findings.entry((kind, field.to_string(), detail.to_string())).or_insert((0, Vec::new()));
        e.0 += 1;
        if e.1.len() < 3 && !e.1.iter().any(|x| x == id) {
            e.1.push(id.to_string());
        }
    }

    fn note_empty(&mut self, field: &str, id: &str) {
        let e = self.empty.entry(field.to_string()).or_insert((0, Vec::new()));
        e.0 += 1;
        if e.1.len() < 3 {
            e.1.push(id.to_string());
        }
    }

    /// Adds another tally's counts (a retried page, a sweep).
    pub fn merge(&mut self, other: DriftTally) {
        self.seen += other.seen;
        for (k, (n, ex)) in other.empty {
            let e = self.empty.entry(k).or_insert((0, Vec::new()));
            e.0 += n;
            e.1.extend(ex.into_iter().take(3usize.saturating_sub(e.1.len())));
        }
        for (k, (n, ex)) in other.findings {
            let e = self.findings.entry(k).or_insert((0, Vec::new()));
            e.0 += n;
            for x in ex {
                if e.1.len() < 3 && !e.1.contains(&x) {
                    e.1.push(x);
                }
            }
        }
    }

    /// The findings, in a stable order. An always-sent field that arrived empty
    /// in every one of at least three records is reported as vanished: a field
    /// silently emptied by the provider (as Shopify emptied `Customer.email`).
    pub fn report(&self, stream: &str) -> Vec<DriftFinding> {
        let mut findings = self.findings.clone();
        for (field, (n, examples)) in &self.empty {
            if *n == self.seen && self.seen >= 3 {
                findings.insert((DriftKind::Vanished, field.clone(), format!("arrived empty in all {n} records")), (*n, examples.clone()));
            }
        }
        findings
            .iter()
            .map(|((kind, field, detail), (count, examples))| DriftFinding {
                stream: stream.to_string(),
                kind: *kind,
                field: field.clone(),
                detail: detail.clone(),
                count: *count,
                examples: examples.clone(),
            })
            .collect()
    }

    /// Whether nothing drifted.
    pub fn is_empty(&self) -> bool {
        self.report("").is_empty()
    }
}

/// Every value at a path; `[]` steps into an array's first element, `[*]` into all of them.
/// `path` is the rest of a dotted path (`None` once it is used up), walked without collecting its steps.
fn collect<'a>(v: &'a Value, path: Option<&str>, out: &mut Vec<&'a Value>) {
    let Some(path) = path else {
        out.push(v);
        return;
    };
    let (step, rest) = match path.split_once('.') {
        Some((step, rest)) => (step, Some(rest)),
        None => (path, None),
    };
    if let Some(name) = step.strip_suffix("[*]") {
        if let Some(a) = v.get(name).and_then(Value::as_array) {
            for x in a {
                collect(x, rest, out);
            }
        }
    } else if let Some(name) = step.strip_suffix("[]") {
        if let Some(x) = v.get(name).and_then(Value::as_array).and_then(|a| a.first()) {
            collect(x, rest, out);
        }
    } else if let Some(x) = v.get(step) {
        collect(x, rest, out);
    }
}

fn values_at<'a>(v: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    collect(v, Some(path), &mut out);
    out
}

fn type_ok(ty: Ty, v: &Value) -> bool {
    match (ty, v) {
        (_, Value::Null) => true,
        (Ty::Text, Value::String(_)) => true,
        (Ty::Number, Value::Number(_)) => true,
        (Ty::Number, Value::String(s)) => s.trim().is_empty() || s.trim().parse::<f64>().is_ok(),
        (Ty::Bool, Value::Bool(_)) => true,
        (Ty::Object, Value::Object(_)) => true,
        (Ty::Array, Value::Array(_)) => true,
        _ => false,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_empty(v: &Value) -> bool {
    matches!(v, Value::Null) || v.as_str().is_some_and(|s| s.is_empty())
}

fn map_field(f: &Field, record: &Value, id: &str, tally: &mut DriftTally) -> Option<Value> {
    for (i, path) in f.paths.iter().enumerate() {
        let found = values_at(record, path);
        // A `[*]` path whose array is present but empty is found (nothing to collect), not missing.
        let array_present = path.split_once("[*]").is_some_and(|(prefix, _)| {
            let arrays = values_at(record, prefix);
            !arrays.is_empty() && arrays.iter().all(|v| v.as_array().is_some_and(|a| a.is_empty()))
        });
        if found.is_empty() && !array_present {
            continue;
        }
        if i > 0 {
            tally.note(DriftKind::Renamed, f.name, &format!("found at {path} instead of {}", f.paths[0]), id);
        }
        for v in &found {
            if !type_ok(f.ty, v) {
                tally.note(DriftKind::TypeChanged, f.name, &format!("{path} arrived as {}", type_name(v)), id);
            }
        }
        let value = if path.contains("[*]") { Value::Array(found.into_iter().cloned().collect()) } else { found[0].clone() };
        if f.always && is_empty(&value) {
            tally.note_empty(f.name, id);
        }
        return Some(value);
    }
    if f.always {
        tally.note(DriftKind::Vanished, f.name, &format!("{} is missing and no known alias holds it", f.paths[0]), id);
    }
    None
}

/// Maps one record: `{field: value, ..., "_missing": [names]}`; notes drift.
pub fn map_record(stream: &StreamSpec, record: &Value, id: &str, tally: &mut DriftTally) -> Value {
    let mut out = Map::new();
    let mut missing = Vec::new();
    tally.seen += 1;
    for f in stream.fields {
        match map_field(f, record, id, tally) {
            Some(v) => {
                if !is_empty(&v) || !f.always {
                    out.insert(f.name.to_string(), v);
                } else {
                    out.insert(f.name.to_string(), Value::Null);
                }
            }
            None => {
                out.insert(f.name.to_string(), Value::Null);
                if f.always {
                    missing.push(Value::String(f.name.to_string()));
                }
            }
        }
    }
    if !missing.is_empty() {
        out.insert("_missing".into(), Value::Array(missing));
    }
    note_unknown(stream, record, id, tally);
    Value::Object(out)
}

/// Notes keys nobody declared: top-level keys and keys inside `properties`.
fn note_unknown(stream: &StreamSpec, record: &Value, id: &str, tally: &mut DriftTally) {
    let declared = |tally: &mut DriftTally, key: &str| match tally.declared.get(key) {
        Some(&known) => known,
        None => {
            let known = stream.known.contains(&key)
                || stream.fields.iter().any(|f| f.paths.iter().any(|p| p.strip_prefix(key).is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))))
                || key == stream.id_at
                || key == stream.updated_at;
            tally.declared.insert(key.to_string(), known);
            known
        }
    };
    let Some(obj) = record.as_object() else { return };
    for (k, v) in obj {
        if k == "properties" {
            if let Some(props) = v.as_object() {
                for pk in props.keys() {
                    let full = format!("properties.{pk}");
                    if !declared(tally, &full) {
                        tally.note(DriftKind::NewField, &full, "not in Concord's mapping", id);
                    }
                }
            }
            continue;
        }
        if !declared(tally, k) {
            tally.note(DriftKind::NewField, k, "not in Concord's mapping", id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{always, optional, Kind, ACTIVE};
    use serde_json::json;

    const FIELDS: &[Field] = &[
        always("phone", &["properties.phone", "properties.phone_number"], Ty::Text),
        always("street", &["properties.address", "addresses[].address"], Ty::Text),
        optional("tax", &["lines[*].TaxType", "lines[*].Taxes[].TaxType"], Ty::Text),
        always("total", &["Total"], Ty::Number),
    ];
    const STREAM: StreamSpec = StreamSpec {
        name: "contacts",
        resource: "contacts",
        kind: Kind::Party,
        records_at: "results",
        id_at: "id",
        updated_at: "updatedAt",
        state: ACTIVE,
        fields: FIELDS,
        known: &["lines"],
        sweep: None,
        sweep_records_at: "",
        max_page: 100,
    };

    fn check(record: Value, want: Value, drift: &[(DriftKind, &str)]) {
        let mut t = DriftTally::default();
        let got = map_record(&STREAM, &record, "r1", &mut t);
        assert_eq!(got, want, "mapping of {record}");
        let kinds: Vec<(DriftKind, String)> = t.report("contacts").into_iter().map(|f| (f.kind, f.field)).collect();
        let want_kinds: Vec<(DriftKind, String)> = drift.iter().map(|(k, f)| (*k, f.to_string())).collect();
        assert_eq!(kinds, want_kinds, "drift findings for {record}");
    }

    #[test]
    fn renamed_and_moved_fields_are_found_and_reported() {
        check(
            json!({"id": "1", "properties": {"phone": "1", "address": "1 St"}, "Total": 5, "lines": [{"TaxType": "OUTPUT"}]}),
            json!({"phone": "1", "street": "1 St", "tax": ["OUTPUT"], "total": 5}),
            &[],
        );
        check(
            json!({"id": "1", "properties": {"phone_number": "1"}, "addresses": [{"address": "1 St"}], "Total": "5.00", "lines": [{"Taxes": [{"TaxType": "OUTPUT"}]}]}),
            json!({"phone": "1", "street": "1 St", "tax": ["OUTPUT"], "total": "5.00"}),
            &[(DriftKind::Renamed, "phone"), (DriftKind::Renamed, "street"), (DriftKind::Renamed, "tax")],
        );
    }

    #[test]
    fn a_vanished_field_is_never_silently_empty() {
        check(
            json!({"id": "1", "properties": {"phone": null, "address": "x", "mystery": 1}, "AmountOutstanding": 3}),
            json!({"phone": null, "street": "x", "tax": null, "total": null, "_missing": ["total"]}),
            &[(DriftKind::Vanished, "total"), (DriftKind::NewField, "AmountOutstanding"), (DriftKind::NewField, "properties.mystery")],
        );
        check(
            json!({"id": "1", "properties": {"phone": 7, "address": "x"}, "Total": true}),
            json!({"phone": 7, "street": "x", "tax": null, "total": true}),
            &[(DriftKind::TypeChanged, "phone"), (DriftKind::TypeChanged, "total")],
        );
    }
}
