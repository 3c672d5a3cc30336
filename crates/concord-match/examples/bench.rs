//! The matching benchmark: 100,000 parties in each of three systems and
//! 300,000 documents, linked and reconciled, with wall time and peak memory.
//!
//! Run it in release: `cargo run --release -p concord-match --example bench`
//! (`-- PEOPLE SALES` to change the sizes). The data is generated here, fast
//! and lean, in the sandbox's spirit: each real customer appears once in a CRM,
//! a shop and a set of books, each system writing phones, e-mails, ABNs and
//! company names its own way, with typos, swapped names, moved addresses and
//! missing e-mails planted at a few percent. Every sale is a shop order and a
//! books invoice (most invoices name the order in their reference) with its
//! payment. Peak memory is the process's resident high-water mark, reset once
//! the input is built, so it covers the input records plus all matching work.

use concord_core::model::*;
use concord_core::Provider;
use concord_match::{plan, Config, Policy, Records};
use rust_decimal::Decimal;
use std::time::Instant;

/// The allocator the shipped binaries use (concord-cli, src-tauri), so the
/// peak measured here is the peak the app would reach.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// As in the shipped binaries: freed pages go back to the OS at once (`concord_api::memory::release_freed_memory_promptly`).
extern "C" {
    fn mi_option_set(option: i32, value: std::ffi::c_long);
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const GIVEN: &[&str] = &[
    "James", "Olivia", "William", "Charlotte", "Jack", "Amelia", "Noah", "Isla", "Thomas", "Mia", "Lachlan", "Grace", "Liam", "Chloe", "Henry",
    "Sophie", "Oliver", "Ruby", "Lucas", "Zoe", "Steven", "Catherine", "John", "Mohammed", "Sean", "Priya", "Arjun", "Wei", "Mei", "Minh",
    "Giulia", "Marco", "Eleni", "Nikos", "Aroha", "Declan", "Fatima", "Omar", "Hannah", "Matthew", "Emily", "Daniel", "Jessica", "Sarah",
    "Samuel", "Anh", "Hiroshi", "Yuki", "Ravi", "Anjali", "Connor", "Bridget", "Kate", "Tom", "Alexandra", "Peter", "Susan", "Michael",
];
const FAMILY: &[&str] = &[
    "Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Johnson", "White", "Martin", "Anderson", "Thompson", "Nguyen", "Tran", "Le",
    "Pham", "Chen", "Wang", "Li", "Zhang", "Patel", "Singh", "Sharma", "Papadopoulos", "Georgiou", "Rossi", "Russo", "Bianchi", "O'Brien",
    "McDonald", "Murphy", "Kelly", "Ryan", "Walsh", "Campbell", "Stewart", "MacKenzie", "Robertson", "Hughes", "Harris", "Clarke", "Lewis",
    "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Mitchell", "Roberts", "Carter",
    "Phillips", "Evans", "Turner", "Tanaka", "Kaur", "Haddad", "Abboud", "Kowalski", "Novak", "Fitzgerald", "Sullivan",
];
const STREETS: &[&str] = &[
    "Latrobe Terrace", "Given Terrace", "Boundary Street", "Brunswick Street", "Oxford Street", "Sylvan Road", "Waterworks Road", "Station Road",
    "Beach Road", "Main Street", "Queen Street", "King Street", "George Street", "High Street", "Church Street", "Park Road", "Hale Street",
];
const NOUNS: &[&str] = &["Pantry", "Deli", "Providore", "Espresso", "Kitchen", "Larder", "Grocer", "Cafe", "Bakehouse", "Emporium"];
const SUFFIX: &[&str] = &["Pty Ltd", "Pty. Ltd.", "PTY LTD", ""];

struct Person {
    given: &'static str,
    family: &'static str,
    email: String,
    phone: String,
    number: u64,
    street: &'static str,
    postcode: u64,
    company: Option<String>,
    abn: Option<String>,
}

fn abn(rng: &mut Rng) -> String {
    loop {
        let tail: String = (0..9).map(|_| char::from(b'0' + rng.below(10) as u8)).collect();
        for lead in 10..100 {
            let s = format!("{lead}{tail}");
            if concord_match::normalise::abn_checksum_ok(&s) {
                return s;
            }
        }
    }
}

fn typo(rng: &mut Rng, w: &str) -> String {
    let mut c: Vec<char> = w.chars().collect();
    if c.len() > 3 {
        let i = 1 + rng.below(c.len() as u64 - 2) as usize;
        c.swap(i, i + 1);
    } else {
        c.push('e');
    }
    c.into_iter().collect()
}

fn people(n: usize, rng: &mut Rng) -> Vec<Person> {
    (0..n)
        .map(|i| {
            let given = GIVEN[rng.below(GIVEN.len() as u64) as usize];
            let family = FAMILY[rng.below(FAMILY.len() as u64) as usize];
            let postcode = 2000 + rng.below(6000);
            let wholesale = rng.chance(15);
            let company = wholesale.then(|| format!("{} {} {}", family, NOUNS[rng.below(NOUNS.len() as u64) as usize], postcode % 97));
            PersonBuilder { i, given, family }.build(rng, postcode, company)
        })
        .collect()
}

struct PersonBuilder {
    i: usize,
    given: &'static str,
    family: &'static str,
}

impl PersonBuilder {
    fn build(self, rng: &mut Rng, postcode: u64, company: Option<String>) -> Person {
        let abn = company.as_ref().map(|_| abn(rng));
        Person {
            given: self.given,
            family: self.family,
            email: format!("{}.{}{}@example{}.com.au", self.given.to_lowercase(), self.family.to_lowercase().replace('\'', ""), self.i, self.i % 7),
            phone: format!("04{:08}", rng.below(100_000_000)),
            number: 1 + rng.below(400),
            street: STREETS[rng.below(STREETS.len() as u64) as usize],
            postcode,
            company,
            abn,
        }
    }
}

fn party(conn: i64, provider: Provider, object: &str, i: usize, p: &Person, rng: &mut Rng) -> Party {
    let mut given = p.given.to_string();
    let mut family = p.family.to_string();
    if rng.chance(3) {
        family = typo(rng, &family);
    }
    if provider == Provider::Xero && rng.chance(2) {
        std::mem::swap(&mut given, &mut family);
    }
    let phone = match provider {
        Provider::HubSpot => format!("{} {} {}", &p.phone[..4], &p.phone[4..7], &p.phone[7..]),
        Provider::Shopify => format!("+61{}", &p.phone[1..]),
        _ => p.phone.clone(),
    };
    let street = if provider == Provider::Xero && rng.chance(5) { format!("PO Box {}", rng.below(9000)) } else { format!("{} {}", p.number, p.street) };
    let email = match provider {
        Provider::Shopify => p.email.to_uppercase(),
        _ => p.email.clone(),
    };
    let company = p.company.as_ref().map(|c| format!("{c} {}", SUFFIX[rng.below(SUFFIX.len() as u64) as usize]).trim().to_string());
    Party {
        source: Source { last_modified: Some("2026-01-01T00:00:00.000Z".into()), ..Source::new(conn, provider, object, &format!("{object}-{i}")) },
        kind: if company.is_some() && provider == Provider::Xero { PartyKind::Organisation } else { PartyKind::Person },
        given_name: Some(given),
        family_name: Some(family),
        display_name: None,
        company_name: company,
        emails: if rng.chance(2) { vec![] } else { vec![email] },
        phones: vec![Phone { label: None, number: phone }],
        addresses: vec![Address {
            kind: if provider == Provider::Xero { AddressKind::Billing } else { AddressKind::Street },
            lines: vec![street],
            city: Some(format!("Suburb {}", p.postcode)),
            region: Some("QLD".into()),
            postcode: Some(p.postcode.to_string()),
            country: Some(if provider == Provider::Shopify { "AU" } else { "Australia" }.into()),
        }],
        tax_number: if provider == Provider::HubSpot || provider == Provider::Xero { p.abn.clone() } else { None },
        currency: Some("AUD".into()),
        cross_refs: vec![],
        parent_external_id: None,
    }
}

fn main() {
    // SAFETY: mimalloc's own option setter (`mi_option_purge_delay` is 15 in its mimalloc.h), called before any thread starts.
    unsafe { mi_option_set(15, 0) };
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = args.first().copied().unwrap_or(100_000);
    let sales = args.get(1).copied().unwrap_or(150_000);
    let t = Instant::now();
    let mut rng = Rng(7);
    let people = people(n, &mut rng);
    let mut r = Records::default();
    for (conn, provider, object) in [(1, Provider::HubSpot, "contacts"), (2, Provider::Shopify, "customers"), (3, Provider::Xero, "contacts")] {
        for (i, p) in people.iter().enumerate() {
            r.parties.push(party(conn, provider, object, i, p, &mut rng));
        }
    }
    let dec = |cents: u64| Decimal::new(cents as i64, 2);
    for s in 0..sales {
        let who = rng.below(n as u64) as usize;
        let day = 19_000 + rng.below(1000) as i64;
        let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(day);
        let date = date.format("%Y-%m-%d").to_string();
        let lines: Vec<DocumentLine> = (0..1 + rng.below(4))
            .map(|_| {
                let unit = 500 + rng.below(20_000);
                let qty = 1 + rng.below(3);
                DocumentLine {
                    description: Some("Item".into()),
                    item_code: Some(format!("SKU-{}", rng.below(80))),
                    quantity: Decimal::from(qty),
                    unit_amount: dec(unit),
                    tax_amount: Some(dec(unit * qty / 11)),
                    line_amount: dec(unit * qty),
                }
            })
            .collect();
        let total: Decimal = lines.iter().map(|l| l.line_amount).sum();
        let tax: Decimal = lines.iter().filter_map(|l| l.tax_amount).sum();
        let base = SalesDocument {
            lines,
            subtotal: total - tax,
            tax,
            total,
            amount_due: Some(Decimal::ZERO),
            status: DocumentStatus::Paid,
            currency: Some("AUD".into()),
            tax_treatment: TaxTreatment::Inclusive,
            issue_date: Some(date.clone()),
            ..Default::default()
        };
        r.documents.push(SalesDocument {
            source: Source::new(2, Provider::Shopify, "orders", &format!("o{s}")),
            kind: DocumentKind::Order,
            number: Some(format!("#{}", 1001 + s)),
            customer_ref: Some(format!("customers-{who}")),
            ..base.clone()
        });
        let mut inv = SalesDocument {
            source: Source::new(3, Provider::Xero, "invoices", &format!("i{s}")),
            kind: DocumentKind::Invoice,
            number: Some(format!("INV-{:06}", s + 1)),
            reference: rng.chance(70).then(|| format!("Shopify #{}", 1001 + s)),
            customer_ref: Some(format!("contacts-{who}")),
            ..base
        };
        if rng.chance(1) {
            inv.total += dec(1);
        }
        let amount = inv.total;
        r.documents.push(inv);
        r.payments.push(Payment {
            source: Source::new(3, Provider::Xero, "payments", &format!("p{s}")),
            amount,
            date: Some(date),
            allocations: vec![Allocation { document_ref: format!("i{s}"), document_object: None, amount }],
            ..Default::default()
        });
    }
    drop(people);
    println!(
        "input: {} parties in 3 systems, {} documents, {} payments; built in {:.1?}",
        r.parties.len(),
        r.documents.len(),
        r.payments.len(),
        t.elapsed()
    );
    let input = peak_rss_mib();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let t = Instant::now();
    let last = std::sync::Mutex::new(Instant::now());
    let observer = concord_match::Observer(Some(std::sync::Arc::new(move |phase: &'static str| {
        let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
        let mib = |f: &str| rss_mib(f).map(|m| format!("{m:.0} MiB")).unwrap_or_default();
        println!("  {phase:<34} {:>8.0?}  rss {:>8}  peak {:>8}", l.elapsed(), mib("VmRSS:"), mib("VmHWM:"));
        *l = Instant::now();
    })));
    let config = Config { observer, ..Config::default() };
    let p = plan(&r, &[], &Policy::default(), &config);
    let took = t.elapsed();
    println!(
        "link and detect: {:.2?} on {} threads: {} links ({} party candidates, {} skipped blocks), {} customers, {} sales, {} conflicts, {} discrepancies",
        took,
        config.threads,
        p.links.len(),
        p.stats.party_candidates,
        p.stats.skipped_blocks,
        p.parties.len(),
        p.sales.len(),
        p.conflicts.len(),
        p.discrepancies.len()
    );
    // Each person's records carry the person's number in their ids (`contacts-42`), so the
    // customers found can be scored: pairwise, within each customer, against the people.
    let person = |k: &str| k.rsplit('-').next().and_then(|n| n.parse::<u64>().ok());
    let (mut found, mut right) = (0u64, 0u64);
    let mut wrong: Vec<String> = Vec::new();
    for c in &p.parties {
        for (i, a) in c.records.iter().enumerate() {
            for b in &c.records[i + 1..] {
                found += 1;
                if person(a) == person(b) {
                    right += 1;
                } else if wrong.len() < 3 {
                    wrong.push(format!("{a} + {b}"));
                }
            }
        }
    }
    let people = r.parties.iter().filter_map(|x| person(&x.source.external_id)).max().map_or(0, |m| m + 1);
    let truth: u64 = 3 * people;
    println!(
        "customers against the people generated: pairwise P={:.4} R={:.4} ({right} of {found} pairs right, {truth} true){}",
        right as f64 / found.max(1) as f64,
        right as f64 / truth.max(1) as f64,
        if wrong.is_empty() { String::new() } else { format!("; wrong e.g. {}", wrong.join(", ")) }
    );
    let show = |m: Option<f64>| m.map(|m| format!("{m:.0} MiB")).unwrap_or_else(|| "unknown".into());
    println!("peak resident memory during matching: {} (input built: {})", show(peak_rss_mib()), show(input));
}

fn peak_rss_mib() -> Option<f64> {
    rss_mib("VmHWM:")
}

/// A `/proc/self/status` memory line (`VmHWM:` peak, `VmRSS:` current) in MiB.
fn rss_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
