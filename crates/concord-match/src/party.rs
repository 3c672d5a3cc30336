//! Linking customers across systems (and finding duplicates inside one).
//!
//! Each party is first reduced to [`PartyFeatures`]: normalised e-mails, E.164
//! phones, a checked ABN, given and family names, a company name without legal
//! form, and address parts (house number, street lines as a set, suburb,
//! postcode, state). Candidate pairs come from several blocking rules OR-ed
//! together ([`blocking_keys`]): a shared identifier, both names, a name or its
//! sound (Double Metaphone) with a postcode or suburb, a house number with a
//! postcode, suburb or street, a company, so one typo never hides a pair and
//! the work grows with the number of records, not its square. Each candidate
//! pair becomes a comparison vector ([`compare`]), scored by the trained
//! Fellegi–Sunter model in [`crate::fs`]. A stored cross-reference and a contact
//! with its own organisation are facts, not evidence, and link outright.

use crate::document::hash_str;
use crate::link::{Evidence, Method};
use crate::fs::{Comparison as C, Gamma, Tf, NULL, SAME};
use crate::normalise::{self, PhoneBook, TaxNumber};
use concord_core::model::{AddressKind, Party, PartyKind};
use rphonetic::{DoubleMetaphone, Encoder};

/// A party in the form the matcher compares, built once per record and kept
/// compact: identifiers become 64-bit hashes compared by value, name and
/// address texts are stored once in normalised form, and the rest is read back
/// from the [`Party`] itself when a conflict or discrepancy needs to show it.
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
    /// Person name tokens, given name(s) first, joined by single spaces; the
    /// family name starts at byte `family_at` (equal to the length when none).
    pub person: Box<str>,
    family_at: u16,
    /// Whether the given name came first in the source (false: only a family name, or nothing).
    has_given: bool,
    /// The company name without legal form.
    pub company: Box<str>,
    pub addresses: Vec<AddressFeatures>,
    /// How many records hold this given name, family name and company (filled by [`count_terms`]).
    pub tf: [u32; 3],
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
    /// The given name(s), empty when there is none.
    pub fn given(&self) -> &str {
        if self.has_given {
            self.person[..self.family_at as usize].trim_end()
        } else {
            ""
        }
    }
    /// The family name, empty when there is none.
    pub fn family(&self) -> &str {
        self.person.get(self.family_at as usize..).unwrap_or("").trim_start()
    }
}

/// One address's comparable parts, stored as one text
/// `street|city|postcode|region` (the form conflicts compare), and its street
/// lines without the house number, without spaces, each ended by `|`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AddressFeatures {
    pub billing: bool,
    form: Box<str>,
    /// Byte offsets of the three separators in `form`.
    seps: [u16; 3],
    /// The house number's span in the street, if any.
    number: Option<(u16, u16)>,
    /// The street lines without the number, spaces removed, each followed by `|`.
    lines: Box<str>,
    /// How many records hold this suburb and this postcode (filled by [`count_terms`]).
    pub tf: [u32; 2],
}

impl AddressFeatures {
    fn new(billing: bool, lines: &[String], city: &str, postcode: &str, region: &str) -> Self {
        let street = normalise::street(lines);
        let form = format!("{street}|{city}|{postcode}|{region}");
        let s1 = street.len();
        let s2 = s1 + 1 + city.len();
        let s3 = s2 + 1 + postcode.len();
        let number_text = normalise::street_number(&street);
        let number = number_text.map(|n| {
            let at = n.as_ptr() as usize - street.as_ptr() as usize;
            (at as u16, (at + n.len()) as u16)
        });
        // Each line on its own, so lines written in another order still agree.
        let mut compact = String::with_capacity(street.len() + 2);
        let mut number_left = number_text.is_some();
        for line in lines {
            let n = normalise::street(std::slice::from_ref(line));
            let before = compact.len();
            for t in n.split_whitespace() {
                if number_left && Some(t) == number_text {
                    number_left = false;
                    continue;
                }
                if t == "/" {
                    continue;
                }
                compact.push_str(t);
            }
            if compact.len() > before {
                compact.push('|');
            }
        }
        let fits = form.len() < u16::MAX as usize;
        AddressFeatures {
            billing,
            seps: if fits { [s1 as u16, s2 as u16, s3 as u16] } else { [0, 0, 0] },
            number: if fits { number } else { None },
            form: if fits { form.into_boxed_str() } else { "|||".into() },
            lines: if fits { compact.into_boxed_str() } else { "".into() },
            tf: [0, 0],
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
    pub fn region(&self) -> &str {
        &self.form[self.seps[2] as usize + 1..]
    }
    pub fn number(&self) -> Option<&str> {
        self.number.map(|(a, b)| &self.form[a as usize..b as usize])
    }
    /// The street lines, without the house number and spaces.
    fn lines(&self) -> impl Iterator<Item = &str> + Clone {
        self.lines.split_terminator('|')
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
    let display = if p.kind == PartyKind::Organisation && p.given_name.is_none() && p.family_name.is_none() { None } else { p.display_name.as_deref() };
    let (given, family) = normalise::person_parts(p.given_name.as_deref(), p.family_name.as_deref(), display);
    let has_given = !given.is_empty();
    let person = match (given.is_empty(), family.is_empty()) {
        (false, false) => format!("{given} {family}"),
        (false, true) => given.clone(),
        _ => family.clone(),
    };
    let family_at = if has_given { (given.len() + 1).min(person.len()) } else { 0 };
    let company_raw = p.company_name.as_deref().or(if p.kind == PartyKind::Organisation { p.display_name.as_deref() } else { None });
    let company = company_raw.map(normalise::company).unwrap_or_default();
    let addresses: Vec<AddressFeatures> = p
        .addresses
        .iter()
        .filter_map(|a| {
            let city = a.city.as_deref().map(normalise::fold).unwrap_or_default();
            let postcode = a.postcode.as_deref().map(normalise::postcode).unwrap_or_default();
            let has_lines = a.lines.iter().any(|l| !l.trim().is_empty());
            if !has_lines && city.is_empty() && postcode.is_empty() {
                return None;
            }
            let region = a.region.as_deref().map(normalise::region).unwrap_or_default();
            Some(AddressFeatures::new(a.kind == AddressKind::Billing, &a.lines, &city, &postcode, &region))
        })
        .collect();
    let refs = p.cross_refs.iter().map(|r| hash_str(&record_ref_key(Some(r.provider), 0, &r.external_id))).collect();
    let filled = [n_emails > 0, has_phone, abn != Abn::None, !person.is_empty(), !company.is_empty(), !addresses.is_empty()].iter().filter(|b| **b).count() as u8;
    let fits = person.len() < u16::MAX as usize;
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
        family_at: if fits { family_at as u16 } else { 0 },
        has_given: has_given && fits,
        person: if fits { person.into_boxed_str() } else { "".into() },
        company: company.into_boxed_str(),
        addresses,
        tf: [0; 3],
    }
}

/// A value's key in the term-frequency table: its comparison's tag and its spaceless text.
fn term_key(tag: u64, text: &str) -> u64 {
    tagged(tag, hash_str(&spaceless(text)))
}

/// Counts how many records hold each given name, family name, company, suburb
/// and postcode, writes each record's counts into its features, and returns
/// each slot's sum of squared counts and number of records with a value (the
/// normalisers of the term-frequency adjustment, in [`crate::fs::TF_COMPARISONS`] order).
pub(crate) fn count_terms(feats: &mut [PartyFeatures]) -> [(f64, f64); 5] {
    // (value key, record, where): 0-2 the names and company, then per address its suburb and postcode.
    let mut keys: Vec<(u64, u32, u16)> = Vec::with_capacity(feats.len() * 5);
    for (r, f) in feats.iter().enumerate() {
        for (slot, text) in [(0u16, f.given()), (1, f.family()), (2, &*f.company)] {
            if !text.is_empty() {
                keys.push((term_key(slot as u64, text), r as u32, slot));
            }
        }
        for (i, a) in f.addresses.iter().enumerate().take(1000) {
            for (slot, text) in [(3u16, a.city()), (4, a.postcode())] {
                if !text.is_empty() {
                    keys.push((term_key(slot as u64, text), r as u32, slot + 2 * i as u16));
                }
            }
        }
    }
    keys.sort_unstable();
    let mut norm = [(0.0f64, 0.0f64); 5];
    let mut start = 0;
    while start < keys.len() {
        let mut end = start + 1;
        while end < keys.len() && keys[end].0 == keys[start].0 {
            end += 1;
        }
        let count = (end - start) as u32;
        for &(_, r, at) in &keys[start..end] {
            let slot = if at < 3 { at as usize } else { 3 + (at as usize - 3) % 2 };
            let f = &mut feats[r as usize];
            match at {
                0..=2 => f.tf[at as usize] = count,
                _ => f.addresses[(at as usize - 3) / 2].tf[(at as usize - 3) % 2] = count,
            }
            norm[slot].1 += 1.0;
        }
        let slot = keys[start].2;
        let slot = if slot < 3 { slot as usize } else { 3 + (slot as usize - 3) % 2 };
        norm[slot].0 += count as f64 * count as f64;
        start = end;
    }
    norm
}

/// A record's place for drawing training pairs: its first postcode, else its first suburb.
pub(crate) fn place_key(f: &PartyFeatures) -> Option<u64> {
    let pc = f.addresses.iter().map(|a| a.postcode()).find(|p| !p.is_empty());
    match pc {
        Some(p) => Some(term_key(4, p)),
        None => f.addresses.iter().map(|a| a.city()).find(|c| !c.is_empty()).map(|c| term_key(3, c)),
    }
}

/// A person's full name for drawing training pairs (none without both parts).
pub(crate) fn name_key(f: &PartyFeatures) -> Option<u64> {
    let (g, fam) = (f.given(), f.family());
    (!g.is_empty() && !fam.is_empty()).then(|| term_key(7, &format!("{g}|{fam}")))
}

/// Mixes a tag into a 64-bit identifier hash, so equal values under different tags differ.
fn tagged(tag: u64, x: u64) -> u64 {
    let mut z = x ^ tag.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn spaceless(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(' ') {
        s.chars().filter(|c| *c != ' ').collect::<String>().into()
    } else {
        s.into()
    }
}

/// The top two bits of a blocking key say how specific its rule is. A rule
/// without a place (a name alone, a house number with a street) is only worth
/// comparing while its block is small ([`WIDE_BLOCK`]); a large one is a common
/// name or street, whose records still meet through the rules that add a
/// postcode or suburb. A loose rule (the start of a street line in a suburb, a
/// name's sound with a house number) rescues pairs with several typos, and only
/// its smallest blocks are worth it ([`LOOSE_BLOCK`]).
const CLASS: u64 = 3 << 62;
const WIDE: u64 = 2 << 62;
const LOOSE: u64 = 3 << 62;

/// The most records a block of a rule without a place is compared in.
const WIDE_BLOCK: usize = 12;
/// The most records a block of a loose rule is compared in.
const LOOSE_BLOCK: usize = 6;

/// The most records a block with this key is compared in, given the plan's own limit.
pub(crate) fn block_limit(key: u64, max_block: usize) -> usize {
    match key & CLASS {
        WIDE => max_block.min(WIDE_BLOCK),
        LOOSE => max_block.min(LOOSE_BLOCK),
        _ => max_block,
    }
}

/// Rules whose keys hold no postcode or suburb, and the loose rules.
const PLACE_FREE: &[&str] = &["names", "sounds", "name", "lines", "street", "company", "given-line", "family-line"];
const LOOSE_RULES: &[&str] = &["line", "sound-number"];

/// Blocking keys of one record, hashed. Each key is one blocking rule; two
/// records become a candidate pair when any key agrees, so the rules are OR-ed.
pub(crate) fn blocking_keys(f: &PartyFeatures, phonetic: &mut Sounds, out: &mut Vec<u64>) {
    use std::hash::{Hash, Hasher};
    let mut push = |tag: &str, parts: &[&str]| {
        let mut h = rustc_hash::FxHasher::default();
        tag.hash(&mut h);
        for p in parts {
            p.hash(&mut h);
        }
        let class = if LOOSE_RULES.contains(&tag) || parts.first() == Some(&"line") {
            LOOSE
        } else if PLACE_FREE.contains(&tag) {
            WIDE
        } else {
            0
        };
        out.push((h.finish() & !CLASS) | class);
    };
    let given = spaceless(f.given());
    let family = spaceless(f.family());
    let mut sound = |s: &str| phonetic.of(s);
    let (gs, fs) = (sound(&given), sound(&family));
    let both = !given.is_empty() && !family.is_empty();
    if both {
        // Both names, in either order (swapped given and family names still meet).
        let (x, y) = if given <= family { (&given, &family) } else { (&family, &given) };
        push("names", &[x, y]);
        let (x, y) = if gs <= fs { (&gs, &fs) } else { (&fs, &gs) };
        push("sounds", &[x, y]);
    } else if !f.person.is_empty() {
        push("name", &[&f.person]);
    }
    let company: &str = &f.company;
    for a in &f.addresses {
        // A name with the start of a street line: both postcode and suburb may be mistyped.
        for line in a.lines() {
            let prefix = prefix(line, 5);
            for (tag, name) in [("given-line", &given), ("family-line", &family)] {
                if !name.is_empty() {
                    push(tag, &[name, &prefix]);
                }
            }
            if !fs.is_empty() && !a.postcode().is_empty() {
                push("sound-pc", &[&fs, a.postcode()]);
            }
        }
        let mut starts: Vec<&str> = a.lines().map(|l| prefix(l, 4)).collect();
        if starts.len() >= 2 {
            starts.sort_unstable();
            push("lines", &[&starts[0], &starts[1]]);
        }
        let (pc, city) = (a.postcode(), a.city());
        for (tag, place) in [("pc", pc), ("city", city)] {
            if place.is_empty() {
                continue;
            }
            for name in [&given, &family] {
                if !name.is_empty() {
                    push(tag, &["name", name, place]);
                }
            }
            if let Some(n) = a.number() {
                push(tag, &["number", n, place]);
            }
            if !company.is_empty() {
                push(tag, &["company", company, place]);
            }
            for line in a.lines() {
                let prefix = prefix(line, 5);
                push(tag, &["line", &prefix, place]);
            }
        }
        if let Some(n) = a.number() {
            for line in a.lines() {
                let prefix = prefix(line, 5);
                push("street", &[n, &prefix]);
            }
            if !fs.is_empty() {
                push("sound-number", &[&fs, n]);
            }
        }
    }
    if !company.is_empty() && f.addresses.is_empty() {
        push("company", &[company]);
    }
    // Identifiers are as specific as a place.
    let id = |tag: u64, x: u64| tagged(tag, x) & !CLASS;
    out.extend(f.emails().iter().map(|&e| id(1, e)));
    out.extend(f.email_locals().iter().filter(|&&l| l != 0).map(|&l| id(2, l)));
    out.extend(f.phones().iter().map(|&p| id(3, p)));
    if let Abn::Valid(d) = f.abn {
        out.push(id(4, d));
    }
    if let Some(parent) = f.parent {
        out.push(id(5u64.wrapping_add(f.system as u64), parent));
    }
    out.push(id(5u64.wrapping_add(f.system as u64), f.ext));
    out.extend(f.refs.iter().map(|&r| id(6, r)));
    out.push(id(6, f.own_key));
}

/// Double Metaphone codes, remembered per name: a workspace has far fewer
/// distinct names than records, and encoding is the costliest part of blocking.
#[derive(Default)]
pub(crate) struct Sounds {
    encoder: DoubleMetaphone,
    seen: rustc_hash::FxHashMap<String, String>,
}

impl Sounds {
    fn of(&mut self, name: &str) -> String {
        if name.is_empty() {
            return String::new();
        }
        if let Some(code) = self.seen.get(name) {
            return code.clone();
        }
        let code = self.encoder.encode(name);
        self.seen.insert(name.to_string(), code.clone());
        code
    }
}

/// The first `n` characters of a text.
fn prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// What comparing two parties gave.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Compared {
    /// One names the other as itself (a cross reference).
    CrossReference,
    /// A contact and its own organisation in one system.
    Association,
    /// A comparison vector for the model, with the counts of the values that agreed exactly.
    Vector(Gamma, Tf),
}

/// How alike two texts are, ignoring spaces: [`SAME`], 2 (close: Jaro–Winkler
/// at least 0.92), 3 (similar: at least 0.8), or `None` (unlike, or either
/// empty: the caller says which), with the spaceless forms for further tests.
fn spelling(x: &str, y: &str) -> Result<u8, (std::borrow::Cow<'static, str>, std::borrow::Cow<'static, str>)> {
    if x == y {
        return Ok(SAME);
    }
    let (xs, ys) = (spaceless(x), spaceless(y));
    if xs == ys {
        return Ok(SAME);
    }
    let jw = strsim::jaro_winkler(&xs, &ys);
    if jw >= 0.92 {
        Ok(2)
    } else if jw >= 0.8 {
        Ok(3)
    } else {
        Err((xs.into_owned().into(), ys.into_owned().into()))
    }
}

/// How alike two name parts are, as a level of [`C::GivenName`] or [`C::FamilyName`].
fn name_level(x: &str, y: &str, given: bool) -> u8 {
    if x.is_empty() || y.is_empty() {
        return NULL;
    }
    let (xs, ys) = match spelling(x, y) {
        Ok(level) => return level,
        Err(forms) => forms,
    };
    let shared_token = x.contains(' ') || y.contains(' ');
    if shared_token && x.split(' ').any(|t| t.len() > 1 && y.split(' ').any(|u| u == t)) {
        return 3;
    }
    if given && (xs.len() == 1 || ys.len() == 1) && xs.as_bytes()[0] == ys.as_bytes()[0] {
        return 4;
    }
    if given {
        C::GivenName.different()
    } else {
        C::FamilyName.different()
    }
}

/// How good a level is, for choosing between orientations and addresses: lower is better.
fn rank(c: C, level: u8) -> i32 {
    if level == NULL {
        2
    } else if level == c.different() {
        6
    } else {
        level as i32 - 1
    }
}

/// How alike two company names or suburbs are: same, close, similar or different.
fn text_level(x: &str, y: &str) -> u8 {
    if x.is_empty() || y.is_empty() {
        return NULL;
    }
    spelling(x, y).unwrap_or(4)
}

/// Whether two short codes (house numbers, postcodes) are one edit apart.
fn one_edit(x: &str, y: &str) -> bool {
    x.len().max(y.len()) >= 2 && x.len().abs_diff(y.len()) <= 1 && strsim::osa_distance(x, y) <= 1
}

fn street_level(a: &AddressFeatures, b: &AddressFeatures) -> u8 {
    let (la, lb) = (a.lines(), b.lines());
    let (na, nb) = (la.clone().count(), lb.clone().count());
    if na == 0 || nb == 0 {
        return NULL;
    }
    // Lines are a set: each line of the shorter side finds its best partner on the other.
    let (short, long, n_short, n_long) = if na <= nb { (la, lb, na, nb) } else { (lb, la, nb, na) };
    let mut exact = 0;
    let mut close = 0;
    for x in short {
        let mut best = 0.0f64;
        for y in long.clone() {
            // `creek street` and `creek crescent` are two places, however alike they read.
            let kinds_differ = matches!((normalise::line_street_type(x), normalise::line_street_type(y)), (Some(p), Some(q)) if p != q);
            best = best.max(if x == y {
                1.0
            } else if kinds_differ {
                0.0
            } else {
                strsim::jaro_winkler(x, y)
            });
        }
        if best >= 1.0 {
            exact += 1;
        } else if best >= 0.9 {
            close += 1;
        }
    }
    if exact == n_short && n_short == n_long {
        SAME
    } else if exact + close == n_short && n_short == n_long {
        2
    } else if exact + close > 0 {
        3
    } else {
        4
    }
}

/// The levels of one pair of addresses: number, street, suburb, postcode, state.
fn address_levels(a: &AddressFeatures, b: &AddressFeatures) -> [u8; 5] {
    let number = match (a.number(), b.number()) {
        (Some(x), Some(y)) if x == y => SAME,
        (Some(x), Some(y)) if one_edit(x, y) => 2,
        (Some(_), Some(_)) => 3,
        _ => NULL,
    };
    let street = street_level(a, b);
    let city = match (a.city(), b.city()) {
        ("", _) | (_, "") => NULL,
        (x, y) => match text_level(x, y) {
            1 => SAME,
            2 => 2,
            _ => 3,
        },
    };
    let postcode = match (a.postcode(), b.postcode()) {
        ("", _) | (_, "") => NULL,
        (x, y) if x == y => SAME,
        (x, y) if one_edit(x, y) => 2,
        _ => 3,
    };
    let region = match (a.region(), b.region()) {
        ("", _) | (_, "") => NULL,
        (x, y) if x == y => SAME,
        _ => 2,
    };
    [number, street, city, postcode, region]
}

const ADDRESS: [C; 5] = [C::StreetNumber, C::Street, C::City, C::Postcode, C::Region];

/// Compares two parties.
pub(crate) fn compare(a: &PartyFeatures, b: &PartyFeatures) -> Compared {
    if a.refs.contains(&b.own_key) || b.refs.contains(&a.own_key) {
        return Compared::CrossReference;
    }
    if a.system == b.system && a.org != b.org && (a.parent == Some(b.ext) || b.parent == Some(a.ext)) {
        return Compared::Association;
    }
    let mut g = Gamma::default();
    let mut tf: Tf = [0; 5];
    // Identifiers.
    if let (Abn::Valid(x), Abn::Valid(y)) = (a.abn, b.abn) {
        g.set(C::TaxNumber, if x == y { SAME } else { C::TaxNumber.different() });
    }
    if !a.emails().is_empty() && !b.emails().is_empty() {
        let common = |personal: u64| a.emails().iter().any(|e| e & 1 == personal && b.emails().contains(e));
        let local = a.email_locals().iter().any(|l| *l != 0 && b.email_locals().contains(l));
        g.set(
            C::Email,
            if common(1) {
                SAME
            } else if local {
                2
            } else if common(0) {
                3
            } else {
                C::Email.different()
            },
        );
    }
    if !a.phones().is_empty() && !b.phones().is_empty() {
        g.set(C::Phone, if a.phones().iter().any(|p| b.phones().contains(p)) { SAME } else { C::Phone.different() });
    }
    // Names, in whichever orientation agrees better (given and family swapped is common).
    let (ga, fa, gb, fb) = (a.given(), a.family(), b.given(), b.family());
    let straight = (name_level(ga, gb, true), name_level(fa, fb, false));
    let score = |(x, y): (u8, u8)| rank(C::GivenName, x) + rank(C::FamilyName, y);
    // Turned round only when a part disagrees as it stands.
    let disagrees = straight.0 == C::GivenName.different() || straight.1 == C::FamilyName.different();
    // A name turned round agrees at least in its first letters.
    let initial = |x: &str, y: &str| x.as_bytes().first() == y.as_bytes().first();
    let swapped = if !disagrees || ga.is_empty() || fa.is_empty() || gb.is_empty() || fb.is_empty() || !(initial(ga, fb) || initial(fa, gb)) {
        (0, 0)
    } else {
        (name_level(ga, fb, true), name_level(fa, gb, false))
    };
    let (gl, fl) = if swapped != (0, 0) && score(swapped) < score(straight) { swapped } else { straight };
    // A given name with the family name's level "initial" has no meaning there.
    let fl = if fl > C::FamilyName.different() { C::FamilyName.different() } else { fl };
    g.set(C::GivenName, gl);
    g.set(C::FamilyName, fl);
    if gl == SAME {
        tf[0] = a.tf[0].max(if (gl, fl) == swapped { b.tf[1] } else { b.tf[0] });
    }
    if fl == SAME {
        tf[1] = a.tf[1].max(if (gl, fl) == swapped { b.tf[0] } else { b.tf[1] });
    }
    let cl = text_level(&a.company, &b.company);
    g.set(C::Company, cl);
    if cl == SAME {
        tf[2] = a.tf[2].max(b.tf[2]);
    }
    // Addresses: the best-agreeing pair speaks.
    let mut best: Option<(i32, [u8; 5], usize, usize)> = None;
    for (i, x) in a.addresses.iter().enumerate() {
        for (j, y) in b.addresses.iter().enumerate() {
            let levels = address_levels(x, y);
            let r: i32 = ADDRESS.iter().zip(levels).map(|(c, l)| rank(*c, l)).sum();
            if best.is_none_or(|(br, ..)| r < br) {
                best = Some((r, levels, i, j));
            }
        }
    }
    if let Some((_, levels, i, j)) = best {
        for (c, l) in ADDRESS.iter().zip(levels) {
            g.set(*c, l);
        }
        let (x, y) = (&a.addresses[i], &b.addresses[j]);
        if levels[2] == SAME {
            tf[3] = x.tf[0].max(y.tf[0]);
        }
        if levels[3] == SAME {
            tf[4] = x.tf[1].max(y.tf[1]);
        }
    }
    Compared::Vector(g, tf)
}

/// A scored candidate pair, as the plan turns it into a link.
#[derive(Debug, Clone)]
pub(crate) struct Scored {
    /// The match probability.
    pub score: f64,
    pub method: Method,
    /// Weight codes ([`crate::fs::Weight::code`]) and notes.
    pub evidence: Vec<Evidence>,
    /// Why the link must not be made automatically, however likely.
    pub hold: Option<&'static str>,
    /// Both a phone and a street address were compared and both differ.
    pub contact_contradicted: bool,
}

impl Scored {
    /// Scores one compared pair with the trained model; `None` below `at_least`
    /// (its evidence is only written for the pairs kept).
    pub fn of(c: Compared, model: &crate::fs::Model, at_least: f64) -> Option<Scored> {
        let fixed = |method, why: &'static str| Scored { score: 1.0, method, evidence: vec![Evidence::Borrowed(why)], hold: None, contact_contradicted: false };
        let (g, tf) = match c {
            Compared::CrossReference => return Some(fixed(Method::CrossReference, "stored cross-reference")),
            Compared::Association => return Some(fixed(Method::Association, "contact belongs to this organisation")),
            Compared::Vector(g, tf) => (g, tf),
        };
        let score = model.probability_of_bits(model.total_bits(g, &tf));
        if score < at_least {
            return None;
        }
        let method = if g.get(C::TaxNumber) == SAME {
            Method::TaxNumber
        } else if g.get(C::Email) == SAME {
            Method::Email
        } else if g.get(C::Phone) == SAME {
            Method::Phone
        } else {
            Method::Probabilistic
        };
        Some(Scored {
            score,
            method,
            evidence: model.weights(g, &tf).iter().map(|w| w.shared_code()).collect(),
            hold: household(g).then_some("held back: the given names differ (two people sharing contact details?)"),
            contact_contradicted: contact_contradicted(g),
        })
    }
}

/// Two records that share an e-mail address or a phone number but whose given
/// names disagree outright are as often two people of one household or office
/// (a family sharing an e-mail, staff sharing a phone line) as one person with
/// a mistyped name: the bookkeeper decides. Without shared contact details the
/// model's weights decide alone.
pub(crate) fn household(g: Gamma) -> bool {
    let shared_contact = matches!(g.get(C::Email), 1..=3) || g.get(C::Phone) == SAME;
    shared_contact && g.get(C::GivenName) == C::GivenName.different()
}

/// A same-system pair whose phone and street both differ: as often two people as one.
pub(crate) fn contact_contradicted(g: Gamma) -> bool {
    g.get(C::Phone) == C::Phone.different() && g.get(C::Street) == C::Street.different()
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::model::{Address, Source};
    use concord_core::Provider;

    fn party(given: &str, family: &str, lines: &[&str], city: &str, pc: &str) -> Party {
        Party {
            source: Source::new(1, Provider::Xero, "contacts", given),
            given_name: Some(given.into()),
            family_name: Some(family.into()),
            addresses: vec![Address { lines: lines.iter().map(|s| s.to_string()).collect(), postcode: Some(pc.into()), city: Some(city.into()), ..Default::default() }],
            ..Default::default()
        }
    }

    fn gamma(a: &Party, b: &Party) -> Gamma {
        let mut book = PhoneBook::new();
        match compare(&features(a, &mut book), &features(b, &mut book)) {
            Compared::Vector(g, _) => g,
            other => panic!("two plain records are compared field by field, not {other:?}"),
        }
    }

    #[test]
    fn swapped_names_and_lines_still_agree() {
        let g = gamma(&party("paris", "green", &["5 Main St"], "Ryde", "2112"), &party("grene", "paris", &["5 Main Street"], "Ryde", "2112"));
        assert_eq!(g.get(C::GivenName), SAME, "given and family swapped: the given names agree once turned round");
        assert_eq!(g.get(C::FamilyName), 2, "'green' against 'grene' is a close spelling");
        let g = gamma(
            &party("mya", "ayres", &["56 thornton place", "rockleigh cottage"], "Ryde", "2112"),
            &party("mya", "ayres", &["56 rockleigh c ottage", "thornton place"], "Ryde", "2112"),
        );
        assert_eq!(g.get(C::Street), SAME, "address lines in another order, with a stray space, are the same lines");
        assert_eq!(g.get(C::StreetNumber), SAME, "the house number is read wherever it stands");
        let g = gamma(&party("ben", "white", &["466 louis loder street"], "wakeley", "3796"), &party("ben", "white", &["466 louisloder street"], "wake ley", "6163"));
        assert_eq!(g.get(C::Street), SAME, "a street written without its space is the same street");
        assert_eq!(g.get(C::City), SAME, "a suburb with a stray space is the same suburb");
        assert_eq!(g.get(C::Postcode), C::Postcode.different(), "a different postcode is evidence against, not hidden");
    }

    #[test]
    fn empty_fields_are_no_evidence() {
        let g = gamma(&party("zoe", "", &[], "", ""), &party("zoe", "ng", &["1 a st"], "x", "1"));
        assert_eq!(g.get(C::FamilyName), NULL, "a missing family name is neither for nor against");
        assert_eq!(g.get(C::Street), NULL, "a missing address is neither for nor against");
        assert_eq!(g.get(C::Email), NULL, "no e-mails on either side is no evidence");
    }

    #[test]
    fn initials_and_distinct_names() {
        assert_eq!(name_level("j", "james", true), 4, "an initial agrees with the name it starts");
        assert_eq!(name_level("alexander", "alexandra", true), 2, "close spellings are only close, never the same name");
        assert_eq!(name_level("tom", "zoe", true), 5, "different given names disagree");
    }
}
