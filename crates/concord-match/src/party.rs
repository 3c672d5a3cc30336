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

/// A party in the form the matcher compares, built once per record and kept
/// compact (about four allocations, not one per field): identifiers become
/// 64-bit hashes compared by value, name and address texts are stored once
/// in normalised form, and the rest is read back from the [`Party`] itself
/// when a conflict or discrepancy needs to show it.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartyFeatures {
    pub system: i64,
    pub org: bool,
    /// How many fields are filled: the fuller record represents its system.
    pub filled: u8,
    /// Hash of `provider:external id` (or `conn:<id>:<external id>` without a provider).
    pub own_key: u64,
    /// Hash of the external id.
    pub ext: u64,
    /// Hashes of the keys of other records this one names as itself.
    pub refs: Vec<u64>,
    /// Hash of the parent organisation's external id.
    pub parent: Option<u64>,
    /// Normalised e-mail hashes, then their local parts' hashes (0 when too
    /// short to mean anything on their own), then E.164 phone hashes.
    ids: Box<[u64]>,
    n_emails: u8,
    pub abn: Abn,
    /// Person name tokens, given name(s) first, joined by single spaces.
    pub person: Box<str>,
    /// The company name without legal form.
    pub company: Box<str>,
    pub addresses: Vec<AddressFeatures>,
}

/// A tax number as the matcher keeps it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Abn {
    #[default]
    None,
    /// A checksum-valid ABN's 11 digits.
    Valid(u64),
    /// Written but not a valid ABN (the text is on the party).
    Invalid,
}

impl PartyFeatures {
    pub fn emails(&self) -> &[u64] {
        &self.ids[..self.n_emails as usize]
    }
    fn email_locals(&self) -> &[u64] {
        &self.ids[self.n_emails as usize..2 * self.n_emails as usize]
    }
    pub fn phones(&self) -> &[u64] {
        &self.ids[2 * self.n_emails as usize..]
    }
    /// The person name's tokens (at most [`MAX_TOKENS`]).
    pub fn person_tokens(&self) -> Tokens<'_> {
        Tokens::of(&self.person)
    }
}

/// Name tokens are compared at most this many per name.
pub(crate) const MAX_TOKENS: usize = 8;

/// A name's tokens without allocating.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tokens<'a> {
    items: [&'a str; MAX_TOKENS],
    len: usize,
}

impl<'a> Tokens<'a> {
    pub fn of(text: &'a str) -> Self {
        let mut t = Tokens { items: [""; MAX_TOKENS], len: 0 };
        for w in text.split_whitespace().take(MAX_TOKENS) {
            t.items[t.len] = w;
            t.len += 1;
        }
        t
    }
    pub fn as_slice(&self) -> &[&'a str] {
        &self.items[..self.len]
    }
}

/// One address's comparable parts, stored as one text
/// `street|city|postcode|region` (the form conflicts compare).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AddressFeatures {
    pub billing: bool,
    form: Box<str>,
    /// Byte offsets of the three separators in `form`.
    seps: [u16; 3],
    /// The house number's span in the street, if any.
    number: Option<(u16, u16)>,
}

impl AddressFeatures {
    fn new(billing: bool, street: &str, city: &str, postcode: &str, region: &str) -> Self {
        let form = format!("{street}|{city}|{postcode}|{region}");
        let s1 = street.len();
        let s2 = s1 + 1 + city.len();
        let s3 = s2 + 1 + postcode.len();
        let number = normalise::street_number(street).map(|n| {
            let at = n.as_ptr() as usize - street.as_ptr() as usize;
            (at as u16, (at + n.len()) as u16)
        });
        let fits = form.len() < u16::MAX as usize;
        AddressFeatures {
            billing,
            seps: if fits { [s1 as u16, s2 as u16, s3 as u16] } else { [0, 0, 0] },
            number: if fits { number } else { None },
            form: if fits { form.into_boxed_str() } else { "|||".into() },
        }
    }
    pub fn street(&self) -> &str {
        &self.form[..self.seps[0] as usize]
    }
    pub fn city(&self) -> &str {
        &self.form[self.seps[0] as usize + 1..self.seps[1] as usize]
    }
    pub fn postcode(&self) -> &str {
        &self.form[self.seps[1] as usize + 1..self.seps[2] as usize]
    }
    pub fn number(&self) -> Option<&str> {
        self.number.map(|(a, b)| &self.form[a as usize..b as usize])
    }
    /// The comparable form shown when addresses conflict.
    pub fn compare_form(&self) -> &str {
        &self.form
    }
}

/// The key naming a record in other systems' cross references.
pub(crate) fn record_ref_key(provider: Option<concord_core::Provider>, connection: i64, external_id: &str) -> String {
    match provider {
        Some(p) => format!("{}:{}", p.as_str(), external_id),
        None => format!("conn:{connection}:{external_id}"),
    }
}

use crate::document::hash_str;

/// Reduces a party to its comparable features.
pub(crate) fn features(p: &Party, phones: &mut PhoneBook) -> PartyFeatures {
    let mut ids: Vec<u64> = Vec::new();
    let mut locals: Vec<u64> = Vec::new();
    for e in p.emails.iter().filter_map(|e| normalise::email(e)) {
        // The low bit says whether the address is a person's own (1) or a
        // shared role mailbox such as accounts@ (0).
        let role = normalise::is_role_email(&e);
        let h = if role { hash_str(&e) & !1 } else { hash_str(&e) | 1 };
        if !ids.contains(&h) {
            ids.push(h);
            // The local part alone finds the same person at another provider (a role mailbox's would find everyone's).
            locals.push(e.split_once('@').filter(|(l, _)| l.len() >= 6 && !role).map(|(l, _)| hash_str(l) | 1).unwrap_or(0));
        }
    }
    let n_emails = ids.len().min(u8::MAX as usize);
    ids.truncate(n_emails);
    locals.truncate(n_emails);
    ids.extend(locals);
    let n_phones_before = ids.len();
    for ph in &p.phones {
        if let Some(e) = phones.e164(&ph.number) {
            let h = hash_str(&e);
            if !ids[n_phones_before..].contains(&h) {
                ids.push(h);
            }
        }
    }
    let has_phone = ids.len() > n_phones_before;
    let abn = match p.tax_number.as_deref().and_then(normalise::tax_number) {
        Some(TaxNumber::Valid(d)) => d.parse().map(Abn::Valid).unwrap_or(Abn::Invalid),
        Some(TaxNumber::Invalid(_)) => Abn::Invalid,
        None => Abn::None,
    };
    let person = normalise::person_tokens(
        p.given_name.as_deref(),
        p.family_name.as_deref(),
        if p.kind == PartyKind::Organisation && p.given_name.is_none() && p.family_name.is_none() {
            None
        } else {
            p.display_name.as_deref()
        },
    )
    .join(" ");
    let company_raw = p.company_name.as_deref().or(if p.kind == PartyKind::Organisation { p.display_name.as_deref() } else { None });
    let company = company_raw.map(normalise::company).unwrap_or_default();
    let addresses: Vec<AddressFeatures> = p
        .addresses
        .iter()
        .filter_map(|a| {
            let street = normalise::street(&a.lines);
            let city = a.city.as_deref().map(normalise::fold).unwrap_or_default();
            let postcode = a.postcode.as_deref().map(normalise::postcode).unwrap_or_default();
            if street.is_empty() && city.is_empty() && postcode.is_empty() {
                return None;
            }
            let region = a.region.as_deref().map(normalise::region).unwrap_or_default();
            Some(AddressFeatures::new(a.kind == AddressKind::Billing, &street, &city, &postcode, &region))
        })
        .collect();
    let refs = p.cross_refs.iter().map(|r| hash_str(&record_ref_key(Some(r.provider), 0, &r.external_id))).collect();
    let filled = [n_emails > 0, has_phone, abn != Abn::None, !person.is_empty(), !company.is_empty(), !addresses.is_empty()].iter().filter(|b| **b).count() as u8;
    PartyFeatures {
        system: p.source.connection_id,
        org: p.kind == PartyKind::Organisation,
        filled,
        own_key: hash_str(&record_ref_key(p.source.provider, p.source.connection_id, &p.source.external_id)),
        ext: hash_str(&p.source.external_id),
        refs,
        parent: p.parent_external_id.as_deref().map(hash_str),
        ids: ids.into_boxed_slice(),
        n_emails: n_emails as u8,
        abn,
        person: person.into_boxed_str(),
        company: company.into_boxed_str(),
        addresses,
    }
}

/// Mixes a tag into a 64-bit identifier hash, so equal values under different tags differ.
fn tagged(tag: u64, x: u64) -> u64 {
    let mut z = x ^ tag.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
    let mut ids: Vec<u64> = Vec::new();
    ids.extend(f.emails().iter().map(|&e| tagged(1, e)));
    ids.extend(f.email_locals().iter().filter(|&&l| l != 0).map(|&l| tagged(2, l)));
    ids.extend(f.phones().iter().map(|&p| tagged(3, p)));
    if let Abn::Valid(d) = f.abn {
        ids.push(tagged(4, d));
    }
    if let Some(parent) = f.parent {
        ids.push(tagged(5u64.wrapping_add(f.system as u64), parent));
    }
    ids.push(tagged(5u64.wrapping_add(f.system as u64), f.ext));
    ids.extend(f.refs.iter().map(|&r| tagged(6, r)));
    ids.push(tagged(6, f.own_key));
    let tokens = f.person_tokens();
    let person = tokens.as_slice();
    let mut sorted: Vec<&str> = person.to_vec();
    sorted.sort_unstable();
    let name_key = sorted.join(" ");
    let company: &str = &f.company;
    for a in &f.addresses {
        let (pc, city) = (a.postcode(), a.city());
        // Where a record has a postcode it is the place; otherwise the city.
        let place = if pc.is_empty() { city } else { pc };
        if place.is_empty() {
            continue;
        }
        if !name_key.is_empty() {
            push("np", &[&name_key, place]);
            // Typo-tolerant: one name part by sound, the other exact.
            if person.len() >= 2 {
                let (given, family) = (person[0], person[person.len() - 1]);
                push("sx", &[&normalise::soundex(family), given, place]);
                push("sx", &[&normalise::soundex(given), family, place]);
            }
        }
        if let Some(n) = a.number() {
            let rest = a.street().split_whitespace().skip_while(|t| *t != n).nth(1).unwrap_or("");
            let prefix: String = rest.chars().take(4).collect();
            push("a", &[n, &prefix, place]);
        }
        if !company.is_empty() {
            push("cp", &[company, place]);
        }
    }
    if f.addresses.is_empty() {
        if !name_key.is_empty() {
            push("n", &[&name_key]);
        }
        if !company.is_empty() {
            push("c", &[company]);
        }
    }
    out.extend(ids);
}

/// The outcome of comparing two parties.
#[derive(Debug, Clone)]
pub(crate) struct Scored {
    pub score: f64,
    pub method: Method,
    pub evidence: Vec<Evidence>,
    /// Both a phone and a street address were compared and both differ.
    pub contact_contradicted: bool,
}

/// The weight of two addresses' agreement, optionally saying why.
fn address_weight(x: &AddressFeatures, y: &AddressFeatures, mut ev: Option<&mut Vec<Evidence>>) -> f64 {
    let mut say = |e: Evidence| {
        if let Some(v) = ev.as_deref_mut() {
            v.push(e);
        }
    };
    let mut aw = 0.0;
    if !x.postcode().is_empty() && !y.postcode().is_empty() {
        if x.postcode() == y.postcode() {
            aw += 3.0;
            say("same postcode".into());
        } else {
            aw -= 3.0;
            say("different postcode".into());
        }
    }
    if !x.street().is_empty() && !y.street().is_empty() {
        let s = normalise::text_similarity(x.street(), y.street());
        let types_differ = matches!((normalise::street_type(x.street()), normalise::street_type(y.street())), (Some(p), Some(q)) if p != q);
        if x.number() == y.number() && s >= 0.9 && !types_differ {
            aw += 7.0;
            say(if s >= 0.99 { "same street address".into() } else { crate::link::phrase(crate::link::Phrase::StreetSimilarity, s) });
        } else {
            aw -= 1.5;
            say("different street address".into());
        }
    }
    if !x.city().is_empty() && !y.city().is_empty() {
        if x.city() == y.city() {
            aw += 1.5;
            say("same city".into());
        } else if normalise::text_similarity(x.city(), y.city()) < 0.9 {
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
        return Scored { score: 1.0, method: Method::CrossReference, evidence: vec![Evidence::Borrowed("stored cross-reference")], contact_contradicted: false };
    }
    if a.system == b.system
        && a.org != b.org
        && (a.parent == Some(b.ext) || b.parent == Some(a.ext))
    {
        return Scored { score: 1.0, method: Method::Association, evidence: vec![Evidence::Borrowed("contact belongs to this organisation")], contact_contradicted: false };
    }
    let mut w = 0.0;
    let mut method = Method::Probabilistic;
    let mut cap: f64 = 1.0;
    // Identifiers.
    let mut id_agree = false;
    match (&a.abn, &b.abn) {
        (Abn::Valid(x), Abn::Valid(y)) if x == y => {
            w += 16.0;
            method = Method::TaxNumber;
            id_agree = true;
            ev.push("same ABN".into());
        }
        (Abn::Valid(_), Abn::Valid(_)) => {
            w -= 10.0;
            cap = cap.min(0.3);
            ev.push("different ABNs".into());
        }
        _ => {}
    }
    // A person's own address shared is strong; a shared mailbox (accounts@,
    // info@) names an office, not a person, so it only weighs a little.
    let common = |personal: u64| a.emails().iter().any(|e| e & 1 == personal && b.emails().contains(e));
    let own = |f: &PartyFeatures| f.emails().iter().any(|e| e & 1 == 1);
    if !common(1) && common(0) {
        w += 3.0;
        ev.push("same shared mailbox".into());
        if own(a) && own(b) {
            w -= 2.0;
            ev.push("different email".into());
        }
    } else if !a.emails().is_empty() && !b.emails().is_empty() {
        if common(1) {
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
    if !a.phones().is_empty() && !b.phones().is_empty() {
        if a.phones().iter().any(|p| b.phones().contains(p)) {
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
        let (ta, tb) = (a.person_tokens(), b.person_tokens());
        let s = normalise::name_similarity(ta.as_slice(), tb.as_slice());
        let weakest = normalise::weakest_token(ta.as_slice(), tb.as_slice());
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
        ev.push(if s >= 0.99 { "same name".into() } else { crate::link::phrase(crate::link::Phrase::NameSimilarity, s) });
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
        ev.push(if s >= 0.99 { "same company name".into() } else { crate::link::phrase(crate::link::Phrase::CompanySimilarity, s) });
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
    let contact_contradicted = ev.iter().any(|e| e == "different phone") && ev.iter().any(|e| e == "different street address");
    Scored { score, method, evidence: ev, contact_contradicted }
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
