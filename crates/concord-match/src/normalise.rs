//! Normalisers: the forms in which two systems' values are compared.
//!
//! Systems write the same fact differently: `Zoe.Ng@Gmail.com ` and
//! `zoe.ng@gmail.com`, `0412 345 678` and `+61412345678`, `12 Latrobe Tce` and
//! `12 Latrobe Terrace`, `Ng, Zoe` and `Zoe Ng`, `Acme Pty. Ltd.` and `ACME PTY
//! LTD`. Matching and conflict detection both go through these functions so
//! that cosmetic differences never count as evidence against a link and never
//! show up as conflicts. Every function is pure and total: bad input yields
//! `None` or an empty form, never a panic.

use std::collections::HashMap;

/// An e-mail address in comparable form: trimmed, spaces removed, lower case,
/// without a `mailto:` prefix. `None` when it is not an address at all.
pub fn email(raw: &str) -> Option<String> {
    let s: String = raw.trim().chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    let s = s.strip_prefix("mailto:").unwrap_or(&s).to_string();
    let (local, domain) = s.split_once('@')?;
    if local.is_empty() || !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return None;
    }
    Some(s)
}

/// Phone numbers in E.164, parsed with the `phonenumber` crate (a port of
/// Google's libphonenumber) with Australia as the default region. Parsing is
/// the slowest normaliser, so results are remembered by the number's digits.
#[derive(Debug, Default)]
pub struct PhoneBook {
    cache: HashMap<String, Option<String>>,
}

impl PhoneBook {
    /// An empty cache.
    pub fn new() -> Self {
        PhoneBook::default()
    }

    /// `+61412345678` for `0412 345 678`, `+61 412 345 678` or `61412345678`.
    /// A number the library cannot validate falls back to its bare digits
    /// (so two systems holding the same odd number still agree); fewer than six
    /// digits is no number.
    pub fn e164(&mut self, raw: &str) -> Option<String> {
        let plus = raw.trim_start().starts_with('+');
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        if digits.len() < 6 {
            return None;
        }
        let key = if plus { format!("+{digits}") } else { digits.clone() };
        // The two shapes nearly every Australian number arrives in, handled
        // without the parser (its answer for them is exactly this).
        let au_national = !plus && digits.len() == 10 && digits.starts_with('0') && matches!(digits.as_bytes()[1], b'2' | b'3' | b'4' | b'7' | b'8');
        if au_national {
            return Some(format!("+61{}", &digits[1..]));
        }
        if digits.len() == 11 && digits.starts_with("61") && matches!(digits.as_bytes()[2], b'2' | b'3' | b'4' | b'7' | b'8') {
            return Some(format!("+{digits}"));
        }
        if let Some(hit) = self.cache.get(&key) {
            return hit.clone();
        }
        // Unallocated ranges (common in test data and typos) still parse: keep
        // their E.164 form so every system's spelling of them agrees.
        let e164 = |n: phonenumber::PhoneNumber| n.format().mode(phonenumber::Mode::E164).to_string();
        let parsed = phonenumber::parse(Some(phonenumber::country::Id::AU), &key).ok().map(e164);
        // A bare "61..." without the plus is an Australian number written internationally.
        let parsed = match parsed {
            Some(p) if !plus && digits.starts_with("61") && digits.len() == 11 && !p.starts_with("+61") => Some(format!("+{digits}")),
            Some(p) if !plus && digits.starts_with("61") && digits.len() == 11 && p.len() > 12 => Some(format!("+{digits}")),
            other => other,
        };
        let out = Some(parsed.unwrap_or(digits));
        self.cache.insert(key, out.clone());
        out
    }
}

/// Whether an 11-digit Australian Business Number passes the ATO checksum
/// (subtract 1 from the first digit, weight by 10,1,3,...,19, divisible by 89).
pub fn abn_checksum_ok(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 11 || digits.chars().count() != 11 || d[0] == 0 {
        return false;
    }
    const W: [u32; 11] = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];
    let sum: u32 = d.iter().enumerate().map(|(i, v)| if i == 0 { v - 1 } else { *v } * W[i]).sum();
    sum.is_multiple_of(89)
}

/// A tax number as the matcher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaxNumber {
    /// An ABN that passes its checksum, as 11 digits.
    Valid(String),
    /// Something was written but it is not a valid ABN (wrong length or checksum).
    Invalid(String),
}

/// Reads an ABN written any way (`51 824 753 556`, `51-824-753-556`, `ABN 51824753556`).
pub fn tax_number(raw: &str) -> Option<TaxNumber> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if abn_checksum_ok(&digits) {
        Some(TaxNumber::Valid(digits))
    } else {
        Some(TaxNumber::Invalid(t.to_string()))
    }
}

/// Lower case, accents folded, punctuation turned into spaces (apostrophes
/// dropped, `&` read as `and`), whitespace collapsed.
pub fn fold(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    // One pass: a space is written only before the next word, so none doubles or trails.
    let mut gap = false;
    let word = |out: &mut String, gap: &mut bool, c: char| {
        if *gap && !out.is_empty() {
            out.push(' ');
        }
        *gap = false;
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    };
    for c in raw.chars() {
        match fold_char(c) {
            '\'' | '\u{2019}' | '.' => {}
            '&' => {
                gap = true;
                for a in ['a', 'n', 'd'] {
                    word(&mut out, &mut gap, a);
                }
                gap = true;
            }
            c if c.is_alphanumeric() => word(&mut out, &mut gap, c),
            _ => gap = true,
        }
    }
    out
}

fn fold_char(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' | 'Ø' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ñ' | 'Ñ' => 'n',
        'ç' | 'Ç' => 'c',
        'ý' | 'ÿ' | 'Ý' => 'y',
        _ => c,
    }
}

const HONORIFICS: &[&str] = &["mr", "mrs", "ms", "miss", "dr", "prof", "mx", "sir", "dame"];

/// A person's name as tokens, given name(s) first: `Ng, Zoe` and `Zoe Ng` both
/// give `["zoe", "ng"]`. Honorifics are dropped.
pub fn person_tokens(given: Option<&str>, family: Option<&str>, display: Option<&str>) -> Vec<String> {
    let (g, f) = person_parts(given, family, display);
    g.split_whitespace().chain(f.split_whitespace()).map(str::to_string).collect()
}

/// A person's given and family names, folded, honorifics dropped. Without
/// structured parts the display name is read: `Ng, Zoe` (the accounting
/// systems' habit) as family `ng`, given `zoe`; `Zoe Ng` as given `zoe`,
/// family `ng`; a longer name keeps its first word as the given name.
pub fn person_parts(given: Option<&str>, family: Option<&str>, display: Option<&str>) -> (String, String) {
    let clean = |s: &str| fold(s).split_whitespace().filter(|t| !HONORIFICS.contains(t)).collect::<Vec<_>>().join(" ");
    let (g, f) = (given.map(clean).unwrap_or_default(), family.map(clean).unwrap_or_default());
    if !g.is_empty() || !f.is_empty() {
        return (g, f);
    }
    let d = display.unwrap_or("").trim();
    if let Some((f, g)) = d.split_once(',') {
        if !g.trim().is_empty() {
            return (clean(g), clean(f));
        }
    }
    let all = clean(d);
    match all.split_once(' ') {
        Some((g, f)) => (g.to_string(), f.to_string()),
        None => (String::new(), all),
    }
}

const LEGAL_SUFFIXES: &[&str] = &[
    "pty", "ltd", "limited", "proprietary", "inc", "incorporated", "llc", "plc", "corp", "corporation", "co", "company",
    "gmbh", "ag", "sa", "bv", "nv", "lp", "llp", "trust", "trustee", "atf",
];

/// An organisation's name without legal form or leading article: `The Larder
/// Pty. Ltd.`, `LARDER PTY LTD` and `Larder` all give `larder`.
pub fn company(raw: &str) -> String {
    let folded = fold(raw);
    let mut tokens: Vec<&str> = folded.split_whitespace().collect();
    while tokens.len() > 1 && tokens.last().is_some_and(|t| LEGAL_SUFFIXES.contains(t)) {
        tokens.pop();
    }
    if tokens.len() > 1 && tokens[0] == "the" {
        tokens.remove(0);
    }
    tokens.join(" ")
}

const STREET_WORDS: &[(&str, &str)] = &[
    ("st", "street"),
    ("str", "street"),
    ("rd", "road"),
    ("ave", "avenue"),
    ("av", "avenue"),
    ("tce", "terrace"),
    ("terr", "terrace"),
    ("dr", "drive"),
    ("drv", "drive"),
    ("pde", "parade"),
    ("hwy", "highway"),
    ("cres", "crescent"),
    ("cr", "crescent"),
    ("ct", "court"),
    ("pl", "place"),
    ("ln", "lane"),
    ("cl", "close"),
    ("bvd", "boulevard"),
    ("blvd", "boulevard"),
    ("esp", "esplanade"),
    ("cct", "circuit"),
    ("gr", "grove"),
    ("sq", "square"),
    ("mt", "mount"),
    ("nth", "north"),
    ("sth", "south"),
    ("e", "east"),
    ("w", "west"),
    ("apt", "unit"),
    ("u", "unit"),
    ("lvl", "level"),
    ("l", "level"),
    ("po", "po"),
    ("pobox", "po box"),
];

/// Street lines in comparable form: lower case, punctuation gone, common
/// abbreviations expanded (`St` -> `street`, `Tce` -> `terrace`), and `P.O.
/// Box` written as `po box`.
pub fn street(lines: &[String]) -> String {
    let joined = lines.join(" ").replace('/', " / ");
    let folded = fold(&joined);
    let mut out: Vec<&str> = Vec::new();
    for t in folded.split_whitespace() {
        match STREET_WORDS.iter().find(|(short, _)| *short == t) {
            Some((_, long)) => out.push(long),
            None => out.push(t),
        }
    }
    out.join(" ")
}

/// Street kinds after [`street`] has expanded abbreviations.
const STREET_TYPES: &[&str] = &[
    "street", "road", "avenue", "terrace", "drive", "parade", "highway", "crescent", "court", "place", "lane", "close", "boulevard", "esplanade",
    "circuit", "grove", "square", "way", "walk", "rise", "row",
];

/// The kind of street (`street`, `crescent`, ...) named last in a normalised
/// street line: `102 creek street` and `102 creek crescent` are two places.
pub fn street_type(street: &str) -> Option<&str> {
    street.split_whitespace().rev().find(|t| STREET_TYPES.contains(t))
}

/// The kind of street a normalised line written without spaces ends in (`creekcrescent` -> `crescent`).
pub fn line_street_type(line: &str) -> Option<&'static str> {
    STREET_TYPES.iter().copied().find(|t| line.ends_with(t))
}

/// Local parts of shared mailboxes: an office's, not a person's.
const ROLE_MAILBOXES: &[&str] = &[
    "accounts", "account", "admin", "info", "office", "sales", "enquiries", "enquiry", "hello", "contact", "reception", "billing", "invoices",
    "accountspayable", "ap", "orders", "team", "mail", "support", "bookkeeping", "finance",
];

/// Whether a normalised e-mail is a shared role mailbox (`accounts@`, `info@`).
pub fn is_role_email(email: &str) -> bool {
    email.split_once('@').is_some_and(|(local, _)| ROLE_MAILBOXES.contains(&local.trim_end_matches(|c: char| c.is_ascii_digit())))
}

/// The first number in a street address (the house number), if any.
pub fn street_number(street: &str) -> Option<&str> {
    street.split_whitespace().find(|t| t.chars().next().is_some_and(|c| c.is_ascii_digit()))
}

/// A postcode without spaces, upper case.
pub fn postcode(raw: &str) -> String {
    raw.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_uppercase()
}

const REGIONS: &[(&str, &str)] = &[
    ("new south wales", "nsw"),
    ("victoria", "vic"),
    ("queensland", "qld"),
    ("western australia", "wa"),
    ("south australia", "sa"),
    ("tasmania", "tas"),
    ("australian capital territory", "act"),
    ("northern territory", "nt"),
];

/// A state or territory as its code: `Queensland` and `QLD` both give `qld`.
pub fn region(raw: &str) -> String {
    let f = fold(raw);
    REGIONS.iter().find(|(long, _)| *long == f).map(|(_, short)| short.to_string()).unwrap_or(f)
}

/// A country as a two-letter code where it is recognisably Australia or New Zealand.
pub fn country(raw: &str) -> String {
    match fold(raw).as_str() {
        "australia" | "au" | "aus" | "commonwealth of australia" => "au".to_string(),
        "new zealand" | "nz" | "nzl" | "aotearoa" => "nz".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: PartialEq + std::fmt::Debug>(cases: &[(&str, T)], f: impl Fn(&str) -> T, why: &str) {
        for (input, want) in cases {
            assert_eq!(&f(input), want, "{why}: {input:?}");
        }
    }

    #[test]
    fn emails_ignore_case_and_spaces() {
        check(
            &[
                (" Zoe.Ng@Gmail.COM ", Some("zoe.ng@gmail.com".to_string())),
                ("zoe. ng@gmail.com", Some("zoe.ng@gmail.com".to_string())),
                ("mailto:a@b.com.au", Some("a@b.com.au".to_string())),
                ("not an email", None),
                ("a@localhost", None),
            ],
            email,
            "case, spaces and mailto: are cosmetic; a value without a domain is no address",
        );
    }

    #[test]
    fn phones_become_e164() {
        let mut book = PhoneBook::new();
        for (raw, want) in [
            ("0412 345 678", Some("+61412345678")),
            ("+61412345678", Some("+61412345678")),
            ("61412345678", Some("+61412345678")),
            ("(07) 3123 4567", Some("+61731234567")),
            ("+64 21 123 4567", Some("+64211234567")),
            ("123", None),
        ] {
            assert_eq!(book.e164(raw).as_deref(), want, "the same number written any way must give one E.164 form: {raw}");
        }
    }

    #[test]
    fn abn_checksum() {
        check(
            &[
                ("51 824 753 556", Some(TaxNumber::Valid("51824753556".into()))),
                ("ABN 51-824-753-556", Some(TaxNumber::Valid("51824753556".into()))),
                ("51 824 753 557", Some(TaxNumber::Invalid("51 824 753 557".into()))),
                ("5182475355", Some(TaxNumber::Invalid("5182475355".into()))),
                ("", None),
            ],
            tax_number,
            "an ABN is valid only with 11 digits and a correct checksum; formatting is cosmetic",
        );
    }

    #[test]
    fn names_in_either_order() {
        let a = person_tokens(None, None, Some("Ng, Zoe"));
        let b = person_tokens(Some("Zoe"), Some("Ng"), None);
        assert_eq!(a, b, "'Ng, Zoe' is 'Zoe Ng' written family-first");
        assert_eq!(person_parts(None, None, Some("Dr Anna van der Berg")), ("anna".to_string(), "van der berg".to_string()), "a display name's first word is the given name, the rest the family name");
        assert_eq!(person_parts(Some("Mr Zoe"), Some("Ng"), Some("ignored")), ("zoe".to_string(), "ng".to_string()), "structured parts win over the display name, without honorifics");
    }

    #[test]
    fn companies_drop_legal_form() {
        check(
            &[("The Larder Pty. Ltd.", "larder".to_string()), ("LARDER PTY LTD", "larder".into()), ("Café & Co", "cafe and".into()), ("Smith's Deli", "smiths deli".into())],
            company,
            "legal form, articles, case and accents are cosmetic",
        );
    }

    #[test]
    fn streets_expand_abbreviations() {
        check(
            &[("12 Latrobe Tce", "12 latrobe terrace".to_string()), ("12 LATROBE TERRACE", "12 latrobe terrace".into()), ("3/45 Queen St.", "3 45 queen street".into())],
            |s| street(&[s.to_string()]),
            "abbreviations and case are cosmetic",
        );
        assert_eq!(region("Queensland"), region("QLD"), "a state's name and code are the same state");
        assert_eq!(country("Australia"), country("AU"), "a country's name and code are the same country");
    }

    #[test]
    fn street_kinds_and_shared_mailboxes() {
        assert_eq!(street_type(&street(&["102 Creek Cres".to_string()])), Some("crescent"), "an abbreviated kind is read in full");
        assert_ne!(street_type("102 creek street"), street_type("102 creek crescent"), "a street and a crescent of one name are different places");
        assert!(is_role_email("accounts@joinery.com.au"), "accounts@ is an office's mailbox");
        assert!(!is_role_email("zoe.ng@gmail.com"), "a person's address is their own");
    }
}
