//! Field conflicts: where linked records of one customer disagree.
//!
//! For each linked customer and each compared field, every system contributes
//! one value (from its fullest record, so a guest-checkout duplicate does not
//! speak for the shop). Values are compared in normalised form, so case,
//! spacing, phone format, address abbreviations, legal suffixes and
//! `Ng, Zoe` versus `Zoe Ng` never count. A conflict lists every system's value
//! with its last-modified time, and carries the suggested winner and the
//! reason from the [`Policy`]. A value missing from the system that owns the
//! field, while another system has one, is a conflict too (the owner should be
//! filled in); a value missing elsewhere is not.

use crate::party::{Abn, PartyFeatures};
use crate::policy::{Field, Policy, Role};
use concord_core::model::Party;
use concord_core::Provider;
use serde::{Deserialize, Serialize};

/// One system's value in a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// The record's key (`connection/object/external id`).
    pub record: String,
    pub connection_id: i64,
    pub provider: Option<Provider>,
    pub role: Role,
    /// The value as the system holds it (empty when missing).
    pub value: String,
    /// When the system last changed the record (RFC 3339), if it says.
    pub last_modified: Option<String>,
}

/// Linked records disagree on a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    /// The linked customer: `party:` and its smallest record key.
    pub entity_key: String,
    pub field: Field,
    pub candidates: Vec<Candidate>,
    /// The record whose value is suggested.
    pub suggested_winner: Option<String>,
    /// The suggested value.
    pub suggested_value: Option<String>,
    /// Why that value, and what is odd about the others.
    pub reason: String,
}

struct Value {
    record: u32,
    display: String,
    form: String,
    /// Other acceptable forms (all e-mails, all phones).
    alts: Vec<String>,
    /// Compared as an unordered set of tokens (a name known only as a display name).
    loose: Option<String>,
    valid: bool,
}

fn value_of(field: Field, p: &Party, f: &PartyFeatures, i: u32) -> Option<Value> {
    let v = |display: String, form: String| Value { record: i, display, form, alts: Vec::new(), loose: None, valid: true };
    match field {
        Field::PersonName => {
            if f.person.is_empty() {
                return None;
            }
            let structured = p.given_name.as_deref().is_some_and(|s| !s.trim().is_empty()) || p.family_name.as_deref().is_some_and(|s| !s.trim().is_empty());
            let display = if structured {
                format!("{} {}", p.given_name.as_deref().unwrap_or("").trim(), p.family_name.as_deref().unwrap_or("").trim()).trim().to_string()
            } else {
                p.display_name.clone().unwrap_or_default()
            };
            let mut val = v(display, f.person.to_string());
            if !structured {
                val.loose = Some(sorted(&f.person));
            }
            Some(val)
        }
        Field::CompanyName => {
            if f.company.is_empty() {
                return None;
            }
            let display = p.company_name.clone().or_else(|| p.display_name.clone()).unwrap_or_default();
            Some(v(display, f.company.to_string()))
        }
        Field::Email => {
            // Identifiers are compared by their hashes (equal forms, equal hashes).
            let first = f.emails().first()?;
            let mut val = v(p.emails.first().cloned().unwrap_or_default().trim().to_string(), format!("{first:x}"));
            val.alts = f.emails().iter().map(|h| format!("{h:x}")).collect();
            Some(val)
        }
        Field::Phone => {
            let first = f.phones().first()?;
            let mut val = v(p.phones.first().map(|x| x.number.clone()).unwrap_or_default(), format!("{first:x}"));
            val.alts = f.phones().iter().map(|h| format!("{h:x}")).collect();
            Some(val)
        }
        Field::BillingAddress => {
            let pos = f.addresses.iter().position(|a| a.billing).unwrap_or(0);
            let a = f.addresses.get(pos)?;
            if a.street().is_empty() {
                return None;
            }
            let raw = p.addresses.iter().filter(|ra| !(ra.lines.is_empty() && ra.city.is_none() && ra.postcode.is_none())).nth(pos);
            let display = raw
                .map(|ra| {
                    let mut parts: Vec<String> = ra.lines.clone();
                    parts.extend(ra.city.clone());
                    parts.extend(ra.region.clone());
                    parts.extend(ra.postcode.clone());
                    parts.into_iter().filter(|s| !s.trim().is_empty()).collect::<Vec<_>>().join(", ")
                })
                .unwrap_or_default();
            Some(v(display, a.compare_form().to_string()))
        }
        Field::TaxNumber => match f.abn {
            Abn::Valid(d) => Some(v(p.tax_number.clone().unwrap_or_default(), format!("{d:011}"))),
            Abn::Invalid => {
                let raw = p.tax_number.as_deref().unwrap_or("").trim().to_string();
                Some(Value { valid: false, ..v(raw.clone(), format!("invalid:{raw}")) })
            }
            Abn::None => None,
        },
        Field::Currency => {
            let c = p.currency.as_deref()?.trim().to_uppercase();
            (!c.is_empty()).then(|| v(c.clone(), c))
        }
        Field::Amounts | Field::PaymentStatus | Field::Orders => None,
    }
}

/// Address forms (`street|city|postcode|region`) agree part by part; a part
/// one system leaves empty does not disagree.
fn parts_agree(a: &str, b: &str) -> bool {
    let (x, y): (Vec<&str>, Vec<&str>) = (a.split('|').collect(), b.split('|').collect());
    x.len() == 4 && y.len() == 4 && x.iter().zip(&y).all(|(p, q)| p.is_empty() || q.is_empty() || p == q)
}

fn agree(a: &Value, b: &Value) -> bool {
    a.form == b.form
        || parts_agree(&a.form, &b.form)
        || a.alts.contains(&b.form)
        || b.alts.contains(&a.form)
        || ((a.loose.is_some() || b.loose.is_some()) && sorted(&a.form) == sorted(&b.form))
}

fn sorted(s: &str) -> String {
    let mut t: Vec<&str> = s.split_whitespace().collect();
    t.sort_unstable();
    t.join(" ")
}

/// The party fields compared for conflicts.
pub const PARTY_FIELDS: [Field; 7] =
    [Field::PersonName, Field::CompanyName, Field::Email, Field::Phone, Field::BillingAddress, Field::TaxNumber, Field::Currency];

/// Conflicts of one linked customer (`members` index `parties` and `feats`).
pub(crate) fn party_conflicts(entity_key: &str, members: &[u32], parties: &[Party], feats: &[PartyFeatures], policy: &Policy) -> Vec<Conflict> {
    let mut systems: Vec<i64> = members.iter().map(|&i| feats[i as usize].system).collect();
    systems.sort_unstable();
    systems.dedup();
    if systems.len() < 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for field in PARTY_FIELDS {
        let org_field = matches!(field, Field::CompanyName | Field::TaxNumber);
        // One value per system: prefer the record of the right kind, then the fullest.
        let mut values: Vec<Value> = Vec::new();
        let mut missing: Vec<u32> = Vec::new();
        for &s in &systems {
            let mut recs: Vec<u32> = members.iter().copied().filter(|&i| feats[i as usize].system == s).collect();
            recs.sort_by_key(|&i| {
                let f = &feats[i as usize];
                (f.org != org_field, std::cmp::Reverse(f.filled), i)
            });
            match recs.iter().find_map(|&i| value_of(field, &parties[i as usize], &feats[i as usize], i)) {
                Some(v) => values.push(v),
                None => missing.extend(recs.first().copied()),
            }
        }
        if values.is_empty() {
            continue;
        }
        let rule = policy.owner(field);
        let role_of = |i: u32| Role::of(parties[i as usize].source.provider);
        let disagree = values.iter().any(|a| values.iter().any(|b| !agree(a, b))) || values.iter().any(|v| !v.valid);
        // A value missing in the owning system, while another system has one.
        let owner_missing: Vec<u32> = if field == Field::TaxNumber || field == Field::BillingAddress {
            missing.iter().copied().filter(|&i| role_of(i) == rule.owner && (field != Field::TaxNumber || org_like(&parties[i as usize], &feats[i as usize]))).collect()
        } else {
            Vec::new()
        };
        if !disagree && owner_missing.is_empty() {
            continue;
        }
        let mut candidates: Vec<Candidate> = values
            .iter()
            .map(|v| candidate(&parties[v.record as usize], v.display.clone()))
            .chain(owner_missing.iter().map(|&i| candidate(&parties[i as usize], String::new())))
            .collect();
        candidates.sort_by(|a, b| a.record.cmp(&b.record));
        // The winner: a valid value from the owner, most recent first; else the most recent valid value.
        let recent = |v: &Value| parties[v.record as usize].source.last_modified.clone().unwrap_or_default();
        let owner_vals: Vec<&Value> = values.iter().filter(|v| v.valid && role_of(v.record) == rule.owner).collect();
        let (winner, mut reason) = match owner_vals.iter().copied().max_by_key(|v| recent(v)) {
            Some(w) => (Some(w), format!("{}; {} is the system of record", rule.reason, rule.owner.label())),
            None => {
                let w = values.iter().filter(|v| v.valid).max_by_key(|v| recent(v));
                (w, format!("{} has no valid value; suggesting the most recently changed", rule.owner.label()))
            }
        };
        let mut notes: Vec<String> = Vec::new();
        if field == Field::PersonName && values.len() >= 2 && values.iter().all(|v| sorted(&v.form) == sorted(&values[0].form)) {
            notes.push("given and family names are swapped in one system".into());
        }
        if values.iter().any(|v| !v.valid) {
            notes.push("a tax number fails the ABN checksum".into());
        }
        if !owner_missing.is_empty() {
            notes.push(format!("missing in {}", rule.owner.label()));
        }
        if !notes.is_empty() {
            reason = format!("{reason} ({})", notes.join("; "));
        }
        out.push(Conflict {
            entity_key: entity_key.to_string(),
            field,
            candidates,
            suggested_winner: winner.map(|w| parties[w.record as usize].source.key()),
            suggested_value: winner.map(|w| w.display.clone()),
            reason,
        });
    }
    out
}

fn org_like(p: &Party, f: &PartyFeatures) -> bool {
    f.org || p.company_name.as_deref().is_some_and(|c| !c.trim().is_empty())
}

fn candidate(p: &Party, value: String) -> Candidate {
    Candidate {
        record: p.source.key(),
        connection_id: p.source.connection_id,
        provider: p.source.provider,
        role: Role::of(p.source.provider),
        value,
        last_modified: p.source.last_modified.clone(),
    }
}
