//! Linking customers across systems (and finding duplicates inside one).
//!
//! Each party is first reduced to [`PartyFeatures`]: normalised e-mails, E.164
//! phones, a checked ABN, name tokens, a company name without legal form, and
//! address parts. Candidate pairs come from blocking: records are compared only
//! when they share a key (an e-mail, a phone, an ABN, a name with a postcode, a
//! house number with a postcode, a sound-alike family name with an initial and
//! postcode, a company name), so the work grows with the number of records,
//! not its square. Each candidate pair is then scored in the Fellegi-Sunter way:
//! every field that both records have adds or subtracts a weight (log2 of how
//! much likelier the agreement is for a true match than for a chance pair), and
//! the sum becomes a 0..1 score. Deterministic identifiers (a stored cross
//! reference, the same ABN, e-mail or phone) weigh heavily but are still
//! checked against the names, so a shared office e-mail alone never merges
//! two people. Weights are general, not fitted to any one data set.

use crate::link::{logistic, Evidence, Method};
use crate::normalise::{self, PhoneBook, TaxNumber};
use concord_core::model::{AddressKind, Party, PartyKind};

/// A party in the form the matcher compares.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartyFeatures {
    pub system: i64,
    pub org: bool,
    /// `provider:external id` (or `conn:<id>:<external id>` without a provider).
    pub own_key: String,
    pub external_id: String,
    /// Keys of other records this one names as itself.
    pub refs: Vec<String>,
    pub parent: Option<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub abn: Option<TaxNumber>,
    pub person: Vec<String>,
    pub company: String,
    pub addresses: Vec<AddressFeatures>,
    /// How many fields are filled: the fuller record represents its system.
    pub filled: u8,
}

/// One address's comparable parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AddressFeatures {
    pub billing: bool,
    pub street: String,
    pub number: Option<String>,
    pub city: String,
    pub region: String,
    pub postcode: String,
    pub country: String,
}

impl AddressFeatures {
    /// The comparable form shown when addresses conflict.
    pub fn compare_form(&self) -> String {
        format!("{}|{}|{}|{}", self.street, self.city, self.postcode, self.region)
    }
}

/// The key naming a record in other systems' cross references.
pub(crate) fn record_ref_key(provider: Option<concord_core::Provider>, connection: i64, external_id: &str) -> String {
    match provider {
        Some(p) => format!("{}:{}", p.as_str(), external_id),
        None => format!("conn:{connection}:{external_id}"),
    }
}

/// Reduces a party to its comparable features.
pub(crate) fn features(p: &Party, phones: &mut PhoneBook) -> PartyFeatures {
    let emails: Vec<String> = p.emails.iter().filter_map(|e| normalise::email(e)).collect();
    let phone_list: Vec<String> = p.phones.iter().filter_map(|ph| phones.e164(&ph.number)).collect();
    let abn = p.tax_number.as_deref().and_then(normalise::tax_number);
    let person = normalise::person_tokens(
        p.given_name.as_deref(),
        p.family_name.as_deref(),
        if p.kind == PartyKind::Organisation && p.given_name.is_none() && p.family_name.is_none() {
            None
        } else {
            p.display_name.as_deref()
        },
    );
    let company_raw = p.company_name.as_deref().or(if p.kind == PartyKind::Organisation { p.display_name.as_deref() } else { None });
    let company = company_raw.map(normalise::company).unwrap_or_default();
    let addresses: Vec<AddressFeatures> = p
        .addresses
        .iter()
        .map(|a| {
            let street = normalise::street(&a.lines);
            AddressFeatures {
                billing: a.kind == AddressKind::Billing,
                number: normalise::street_number(&street).map(str::to_string),
                street,
                city: a.city.as_deref().map(normalise::fold).unwrap_or_default(),
                region: a.region.as_deref().map(normalise::region).unwrap_or_default(),
                postcode: a.postcode.as_deref().map(normalise::postcode).unwrap_or_default(),
                country: a.country.as_deref().map(normalise::country).unwrap_or_default(),
            }
        })
        .filter(|a| !(a.street.is_empty() && a.city.is_empty() && a.postcode.is_empty()))
        .collect();
    let refs = p.cross_refs.iter().map(|r| record_ref_key(Some(r.provider), 0, &r.external_id)).collect();
    let filled = [!emails.is_empty(), !phone_list.is_empty(), abn.is_some(), !person.is_empty(), !company.is_empty(), !addresses.is_empty()]
        .iter()
        .filter(|b| **b)
        .count() as u8;
    PartyFeatures {
        system: p.source.connection_id,
        org: p.kind == PartyKind::Organisation,
        own_key: record_ref_key(p.source.provider, p.source.connection_id, &p.source.external_id),
        external_id: p.source.external_id.clone(),
        refs,
        parent: p.parent_external_id.clone(),
        emails,
        phones: phone_list,
        abn,
        person,
        company,
        addresses,
        filled,
    }
}

/// Blocking keys of one record, hashed.
pub(crate) fn blocking_keys(f: &PartyFeatures, out: &mut Vec<u64>) {
    use std::hash::{Hash, Hasher};
    let mut push = |tag: &str, parts: &[&str]| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        tag.hash(&mut h);
        for p in parts {
            p.hash(&mut h);
        }
        out.push(h.finish());
    };
    for e in &f.emails {
        push("e", &[e]);
        // The local part alone finds the same person at another provider.
        if let Some((local, _)) = e.split_once('@') {
            if local.len() >= 6 {
                push("el", &[local]);
            }
        }
    }
    for p in &f.phones {
        push("p", &[p]);
    }
    if let Some(TaxNumber::Valid(d)) = &f.abn {
        push("t", &[d]);
    }
    let mut sorted = f.person.clone();
    sorted.sort_unstable();
    let name_key = sorted.join(" ");
    for a in &f.addresses {
        let (pc, city) = (a.postcode.as_str(), a.city.as_str());
        // Where a record has a postcode it is the place; otherwise the city.
        let place = if pc.is_empty() { city } else { pc };
        if place.is_empty() {
            continue;
        }
        if !name_key.is_empty() {
            push("np", &[&name_key, place]);
            // Typo-tolerant: one name part by sound, the other exact.
            if f.person.len() >= 2 {
                let (given, family) = (&f.person[0], &f.person[f.person.len() - 1]);
                push("sx", &[&normalise::soundex(family), given, place]);
                push("sx", &[&normalise::soundex(given), family, place]);
            }
        }
        if let Some(n) = &a.number {
            let rest = a.street.split_whitespace().skip_while(|t| t != n).nth(1).unwrap_or("");
            let prefix: String = rest.chars().take(4).collect();
            push("a", &[n, &prefix, place]);
        }
        if !f.company.is_empty() {
            push("cp", &[&f.company, place]);
        }
    }
    if f.addresses.is_empty() {
        if !name_key.is_empty() {
            push("n", &[&name_key]);
        }
        if !f.company.is_empty() {
            push("c", &[&f.company]);
        }
    }
    if let Some(parent) = &f.parent {
        push("x", &[&f.system.to_string(), parent]);
    }
    push("x", &[&f.system.to_string(), &f.external_id]);
    for r in &f.refs {
        push("r", &[r]);
    }
    push("r", &[&f.own_key]);
}

/// The outcome of comparing two parties.
#[derive(Debug, Clone)]
pub(crate) struct Scored {
    pub score: f64,
    pub method: Method,
    pub evidence: Vec<Evidence>,
}

/// The weight of two addresses' agreement, optionally saying why.
fn address_weight(x: &AddressFeatures, y: &AddressFeatures, mut ev: Option<&mut Vec<Evidence>>) -> f64 {
    let mut say = |e: Evidence| {
        if let Some(v) = ev.as_deref_mut() {
            v.push(e);
        }
    };
    let mut aw = 0.0;
    if !x.postcode.is_empty() && !y.postcode.is_empty() {
        if x.postcode == y.postcode {
            aw += 3.0;
            say("same postcode".into());
        } else {
            aw -= 3.0;
            say("different postcode".into());
        }
    }
    if !x.street.is_empty() && !y.street.is_empty() {
        let s = normalise::text_similarity(&x.street, &y.street);
        if x.number == y.number && s >= 0.9 {
            aw += 7.0;
            say(if s >= 0.99 { "same street address".into() } else { format!("street similarity {s:.2}").into() });
        } else {
            aw -= 1.5;
            say("different street address".into());
        }
    }
    if !x.city.is_empty() && !y.city.is_empty() {
        if x.city == y.city {
            aw += 1.5;
            say("same city".into());
        } else if normalise::text_similarity(&x.city, &y.city) < 0.9 {
            aw -= 1.0;
        }
    }
    aw
}

/// Weight offset: how much evidence it takes to reach an even chance.
const OFFSET: f64 = 10.0;

/// Compares two parties.
pub(crate) fn compare(a: &PartyFeatures, b: &PartyFeatures) -> Scored {
    let mut ev: Vec<Evidence> = Vec::new();
    if a.refs.contains(&b.own_key) || b.refs.contains(&a.own_key) {
        return Scored { score: 1.0, method: Method::CrossReference, evidence: vec![Evidence::Borrowed("stored cross-reference")] };
    }
    if a.system == b.system
        && a.org != b.org
        && (a.parent.as_deref() == Some(&b.external_id) || b.parent.as_deref() == Some(&a.external_id))
    {
        return Scored { score: 1.0, method: Method::Association, evidence: vec![Evidence::Borrowed("contact belongs to this organisation")] };
    }
    let mut w = 0.0;
    let mut method = Method::Probabilistic;
    let mut cap: f64 = 1.0;
    // Identifiers.
    let mut id_agree = false;
    match (&a.abn, &b.abn) {
        (Some(TaxNumber::Valid(x)), Some(TaxNumber::Valid(y))) if x == y => {
            w += 16.0;
            method = Method::TaxNumber;
            id_agree = true;
            ev.push("same ABN".into());
        }
        (Some(TaxNumber::Valid(_)), Some(TaxNumber::Valid(_))) => {
            w -= 10.0;
            cap = cap.min(0.3);
            ev.push("different ABNs".into());
        }
        _ => {}
    }
    if !a.emails.is_empty() && !b.emails.is_empty() {
        if a.emails.iter().any(|e| b.emails.contains(e)) {
            w += 14.0;
            if method == Method::Probabilistic {
                method = Method::Email;
            }
            id_agree = true;
            ev.push("same email".into());
        } else {
            w -= 2.0;
            ev.push("different email".into());
        }
    }
    if !a.phones.is_empty() && !b.phones.is_empty() {
        if a.phones.iter().any(|p| b.phones.contains(p)) {
            w += 12.0;
            if method == Method::Probabilistic {
                method = Method::Phone;
            }
            id_agree = true;
            ev.push("same phone".into());
        } else {
            w -= 1.5;
            ev.push("different phone".into());
        }
    }
    // Names.
    let mut name_compared = false;
    if !a.person.is_empty() && !b.person.is_empty() {
        name_compared = true;
        let s = normalise::name_similarity(&a.person, &b.person);
        let weakest = normalise::weakest_token(&a.person, &b.person);
        w += if weakest < 0.7 {
            -8.0
        } else if s >= 0.99 {
            6.0
        } else if s >= 0.92 {
            4.0
        } else if s >= 0.85 {
            1.5
        } else if s >= 0.75 {
            -3.0
        } else {
            -8.0
        };
        if s < 0.75 || weakest < 0.7 {
            cap = cap.min(0.75);
        }
        ev.push(if s >= 0.99 { "same name".into() } else { format!("name similarity {s:.2}").into() });
    }
    if !a.company.is_empty() && !b.company.is_empty() {
        name_compared = true;
        let s = normalise::text_similarity(&a.company, &b.company);
        w += if s >= 0.97 {
            7.0
        } else if s >= 0.9 {
            4.0
        } else if s >= 0.8 {
            0.0
        } else {
            -5.0
        };
        if s < 0.7 && a.org && b.org {
            cap = cap.min(0.75);
        }
        ev.push(if s >= 0.99 { "same company name".into() } else { format!("company similarity {s:.2}").into() });
    }
    // Addresses: the best-agreeing pair of addresses speaks.
    let mut best: Option<(f64, usize, usize)> = None;
    for (i, x) in a.addresses.iter().enumerate() {
        for (j, y) in b.addresses.iter().enumerate() {
            let aw = address_weight(x, y, None);
            if best.is_none_or(|(bw, _, _)| aw > bw) {
                best = Some((aw, i, j));
            }
        }
    }
    if let Some((aw, i, j)) = best {
        w += aw;
        address_weight(&a.addresses[i], &b.addresses[j], Some(&mut ev));
    }
    // An identifier shared by records whose names were never compared (say,
    // a phone on a company and a person) still needs the rest to agree.
    if id_agree && !name_compared {
        w -= 2.0;
    }
    let score = logistic(w, OFFSET).min(cap);
    Scored { score, method, evidence: ev }
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::model::{Address, Phone, Source};
    use concord_core::Provider;

    #[allow(clippy::too_many_arguments)]
    fn party(conn: i64, id: &str, given: &str, family: &str, email: &str, phone: &str, street: &str, pc: &str) -> Party {
        Party {
            source: Source::new(conn, Provider::Xero, "contacts", id),
            given_name: Some(given.into()),
            family_name: Some(family.into()),
            emails: if email.is_empty() { vec![] } else { vec![email.into()] },
            phones: if phone.is_empty() { vec![] } else { vec![Phone { label: None, number: phone.into() }] },
            addresses: vec![Address { lines: vec![street.into()], postcode: Some(pc.into()), city: Some("Paddington".into()), ..Default::default() }],
            ..Default::default()
        }
    }

    fn score(a: &Party, b: &Party) -> Scored {
        let mut book = PhoneBook::new();
        compare(&features(a, &mut book), &features(b, &mut book))
    }

    #[test]
    fn cases() {
        let zoe = party(1, "a", "Zoe", "Ng", "zoe.ng@gmail.com", "0412 345 678", "12 Latrobe Tce", "4064");
        let cases: Vec<(Party, bool, &str)> = vec![
            (party(2, "b", "Zoe", "Ng", "Zoe.Ng@Gmail.com", "+61412345678", "12 Latrobe Terrace", "4064"), true, "the same person written differently"),
            (party(2, "b", "Ng", "Zoe", "", "0412345678", "12 Latrobe Terrace", "4064"), true, "swapped names with the same phone and address"),
            (party(2, "b", "Zoe", "Ngg", "zoe.ng@gmail.com", "", "PO Box 12", "4064"), true, "a typo with the same e-mail"),
            (party(2, "b", "Zoe", "Ng", "zoe99@outlook.com", "", "12 Latrobe Terrace", "4064"), true, "a guest checkout: other e-mail, same name and address"),
            (party(2, "b", "Zoe", "Ng", "", "", "88 Queen Street", "4064"), false, "the same name in the same postcode is not enough"),
            (party(2, "b", "Tom", "Ng", "zoe.ng@gmail.com", "0412 345 678", "12 Latrobe Terrace", "4064"), false, "a household sharing e-mail and phone is not one person"),
            (party(2, "b", "Olivia", "Brown", "", "", "5 Main Street", "2000"), false, "strangers"),
        ];
        for (other, linked, why) in cases {
            let s = score(&zoe, &other);
            assert_eq!(s.score >= 0.9, linked, "{why}: score {:.3}, evidence {:?}", s.score, s.evidence);
        }
    }

    #[test]
    fn evidence_is_explained() {
        let a = party(1, "a", "Zoe", "Ng", "zoe.ng@gmail.com", "", "12 Latrobe Tce", "4064");
        let b = party(2, "b", "Zoe", "Ng", "zoe.ng@gmail.com", "", "12 Latrobe Tce", "4064");
        let s = score(&a, &b);
        assert_eq!(s.method, Method::Email, "the e-mail is the strongest identifier here");
        assert!(s.evidence.iter().any(|e| e == "same postcode"), "evidence must name each agreeing field: {:?}", s.evidence);
    }
}
