//! The seeded generator of one Australian small business, spread over four systems.
//!
//! Harbour & Hearth Trading Pty Ltd (Brisbane) sells kitchenware (GST at 10%)
//! and pantry goods (GST-free) retail through its Shopify store and wholesale
//! to cafés and delis, some of whom order through the store and some directly
//! from the books. Its CRM (HubSpot) holds every wholesale account and the
//! retail customers on the newsletter; the books (Xero, or QuickBooks Online:
//! both are populated from the same history so either can be connected) hold
//! an invoice for every sale, its payments and a credit note for every refund.
//!
//! Real data is messy, so each system holds its own version of a customer:
//! phone numbers and ABNs formatted its own way, company suffixes spelt
//! differently, retail prices GST-inclusive and wholesale prices exclusive.
//! On top of that the generator plants discrepancies (see
//! [`DiscrepancyKind`]) at fixed rates, at least one of each kind, and logs
//! each one so [`crate::ground_truth`] can list them. Everything comes from
//! one ChaCha RNG seeded by `seed`, so a seed always yields the same world.

use crate::ground_truth::{Discrepancy, DiscrepancyKind, RecordObject, RecordRef};
use crate::provider::{Provider, XeroIds};
use crate::record::{
    doc_flags, money, to_cents, CreditRecord, DocRecord, PartyField, PartyRecord, PaymentRecord, Treatment,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// First day of the generated history (1 July 2022, start of a financial year).
pub const HISTORY_START_MS: i64 = 1_656_633_600_000;
/// Last day of the generated history (30 June 2025, end of a financial year).
pub const HISTORY_END_MS: i64 = 1_751_241_600_000;
const DAY_MS: i64 = 86_400_000;
/// "No record in this system".
pub const NONE: u32 = u32::MAX;

/// The business's own details, as its systems show them.
pub const BUSINESS_NAME: &str = "Harbour & Hearth Trading Pty Ltd";
pub const BUSINESS_ABN: &str = "53 004 085 616";
pub const SHOP_DOMAIN: &str = "harbour-hearth.myshopify.com";
pub const HUBSPOT_HUB_ID: u64 = 24_681_357;
pub const QUICKBOOKS_REALM_ID: &str = "9341453050298765";

/// What to generate.
#[derive(Clone, Debug)]
pub struct BusinessConfig {
    pub seed: u64,
    /// Real customers (the demo default is 2,000; benchmarks use 100,000).
    pub customers: usize,
}

/// A product in the catalogue.
#[derive(Clone, Debug)]
pub struct Product {
    pub sku: String,
    pub name: String,
    /// Shelf price, GST-inclusive where taxable.
    pub retail_cents: i64,
    /// Trade price, GST-exclusive.
    pub wholesale_cents: i64,
    /// Whether GST applies (kitchenware yes, pantry goods no).
    pub taxable: bool,
}

/// One line of a sale.
#[derive(Clone, Copy, Debug)]
pub struct Line {
    pub product: u16,
    pub qty: u16,
}

/// How a sale was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// A retail order in the Shopify store (prices include GST).
    ShopRetail,
    /// A wholesale order placed in the Shopify store (prices exclude GST).
    ShopWholesale,
    /// A wholesale order invoiced directly from the books.
    DirectWholesale,
}

impl Channel {
    pub fn in_shop(self) -> bool {
        self != Channel::DirectWholesale
    }
    pub fn wholesale(self) -> bool {
        self != Channel::ShopRetail
    }
}

/// One real sale.
#[derive(Clone, Debug)]
pub struct Sale {
    pub party: u32,
    pub date_ms: i64,
    pub channel: Channel,
    pub line_start: u32,
    pub line_len: u8,
}

/// One real customer, with its true details.
#[derive(Clone, Debug)]
pub struct Party {
    pub wholesale: bool,
    pub record: PartyRecord,
}

/// The CRM's records.
#[derive(Clone, Debug, Default)]
pub struct CrmData {
    pub contacts: Vec<PartyRecord>,
    pub companies: Vec<PartyRecord>,
    /// For each contact, its associated company index or [`NONE`].
    pub contact_company: Vec<u32>,
}

/// The shop's records.
#[derive(Clone, Debug, Default)]
pub struct ShopData {
    pub customers: Vec<PartyRecord>,
    pub orders: Vec<DocRecord>,
    /// Refunds; `doc` is the order index.
    pub refunds: Vec<PaymentRecord>,
}

/// The books' records (Xero and QuickBooks each hold a copy).
#[derive(Clone, Debug, Default)]
pub struct BooksData {
    pub contacts: Vec<PartyRecord>,
    pub invoices: Vec<DocRecord>,
    /// Payments; `doc` is the invoice index.
    pub payments: Vec<PaymentRecord>,
    pub credit_notes: Vec<CreditRecord>,
}

/// A line's amounts under one GST treatment.
#[derive(Clone, Debug)]
pub struct LineAmount {
    /// Catalogue index, or u16::MAX for a client-written line.
    pub product: u16,
    pub qty: Decimal,
    pub unit: Decimal,
    /// Line amount as the document states it (inclusive or exclusive).
    pub amount: Decimal,
    pub tax: Decimal,
    pub taxable: bool,
}

/// A document's amounts.
#[derive(Clone, Debug)]
pub struct DocAmounts {
    pub lines: Vec<LineAmount>,
    /// Total excluding GST.
    pub subtotal: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
}

/// The generated world: the truth and each system's version of it.
#[derive(Clone, Debug)]
pub struct World {
    pub seed: u64,
    pub parties: Vec<Party>,
    pub catalogue: Vec<Product>,
    pub sales: Vec<Sale>,
    pub lines: Vec<Line>,
    pub hubspot: CrmData,
    pub shopify: ShopData,
    pub xero: BooksData,
    pub quickbooks: BooksData,
    pub discrepancies: Vec<Discrepancy>,
}

const GIVEN: &[&str] = &[
    "James", "Olivia", "William", "Charlotte", "Jack", "Amelia", "Noah", "Isla", "Thomas", "Mia", "Lachlan",
    "Grace", "Liam", "Chloe", "Henry", "Sophie", "Oliver", "Ruby", "Lucas", "Zoe", "Steven", "Catherine",
    "John", "Mohammed", "Sean", "Jeffrey", "Phillip", "Priya", "Arjun", "Wei", "Mei", "Lan", "Minh", "Giulia",
    "Marco", "Eleni", "Nikos", "Aroha", "Siobhan", "Declan", "Fatima", "Omar", "Hannah", "Matthew", "Emily",
    "Daniel", "Jessica", "Benjamin", "Sarah", "Samuel", "Anh", "Hiroshi", "Yuki", "Ravi", "Anjali", "Connor",
    "Bridget", "Kate", "Tom", "Alexandra",
];
const FAMILY: &[&str] = &[
    "Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Johnson", "White", "Martin", "Anderson",
    "Thompson", "Nguyen", "Tran", "Le", "Pham", "Chen", "Wang", "Li", "Zhang", "Patel", "Singh", "Sharma",
    "Papadopoulos", "Georgiou", "Rossi", "Russo", "Bianchi", "O'Brien", "McDonald", "Murphy", "Kelly",
    "Ryan", "Walsh", "Campbell", "Stewart", "MacKenzie", "Robertson", "Hughes", "Harris", "Clarke",
    "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson",
    "Hill", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Tanaka", "Kaur", "Haddad",
    "Abboud", "Kowalski", "Novak", "Fitzgerald", "Sullivan",
];
const NICKNAMES: &[(&str, &str)] = &[
    ("Steven", "Stephen"),
    ("Catherine", "Katherine"),
    ("John", "Jon"),
    ("Mohammed", "Muhammad"),
    ("Sean", "Shaun"),
    ("Jeffrey", "Geoffrey"),
    ("Phillip", "Philip"),
    ("Alexandra", "Alex"),
    ("Thomas", "Tom"),
    ("Matthew", "Matt"),
    ("Benjamin", "Ben"),
    ("Samuel", "Sam"),
    ("Daniel", "Dan"),
    ("Kate", "Katie"),
];
/// (suburb, state, postcode)
const SUBURBS: &[(&str, &str, &str)] = &[
    ("Paddington", "QLD", "4064"),
    ("West End", "QLD", "4101"),
    ("New Farm", "QLD", "4005"),
    ("Fortitude Valley", "QLD", "4006"),
    ("Bulimba", "QLD", "4171"),
    ("Toowong", "QLD", "4066"),
    ("Ashgrove", "QLD", "4060"),
    ("Coorparoo", "QLD", "4151"),
    ("Indooroopilly", "QLD", "4068"),
    ("Wynnum", "QLD", "4178"),
    ("Southport", "QLD", "4215"),
    ("Noosa Heads", "QLD", "4567"),
    ("Maroochydore", "QLD", "4558"),
    ("Toowoomba City", "QLD", "4350"),
    ("Townsville City", "QLD", "4810"),
    ("Cairns City", "QLD", "4870"),
    ("Surry Hills", "NSW", "2010"),
    ("Newtown", "NSW", "2042"),
    ("Manly", "NSW", "2095"),
    ("Parramatta", "NSW", "2150"),
    ("Byron Bay", "NSW", "2481"),
    ("Newcastle", "NSW", "2300"),
    ("Fitzroy", "VIC", "3065"),
    ("Brunswick", "VIC", "3056"),
    ("St Kilda", "VIC", "3182"),
    ("Geelong", "VIC", "3220"),
    ("Fremantle", "WA", "6160"),
    ("Subiaco", "WA", "6008"),
    ("Norwood", "SA", "5067"),
    ("Glenelg", "SA", "5045"),
    ("Hobart", "TAS", "7000"),
    ("Launceston", "TAS", "7250"),
    ("Braddon", "ACT", "2612"),
    ("Darwin City", "NT", "0800"),
];
const STREETS: &[&str] = &[
    "Latrobe Terrace", "Given Terrace", "Boundary Street", "Brunswick Street", "Oxford Street", "Sylvan Road",
    "Waterworks Road", "Old Cleveland Road", "Station Road", "Beach Road", "Main Street", "Queen Street",
    "King Street", "George Street", "High Street", "Church Street", "Park Road", "Hale Street",
    "Musgrave Road", "Grey Street", "Gympie Road", "Logan Road", "Ipswich Road", "Sandgate Road",
];
const COMPANY_NOUNS: &[&str] = &[
    "Pantry", "Deli", "Providore", "Espresso", "Kitchen", "Larder", "Grocer", "Café", "Bakehouse", "Emporium",
    "Trading", "Fine Foods", "Homewares", "Cookshop", "General Store",
];
const COMPANY_SUFFIXES: &[&str] = &["Pty Ltd", "Pty. Ltd.", "PTY LTD", ""];
const EMAIL_DOMAINS: &[&str] = &["gmail.com", "outlook.com", "bigpond.com", "icloud.com", "yahoo.com.au", "hotmail.com"];
/// (name, taxable, retail price range in dollars)
const PRODUCT_KINDS: &[(&str, bool, i64, i64)] = &[
    ("Cast Iron Skillet", true, 59, 149),
    ("Chef's Knife", true, 49, 299),
    ("Linen Tea Towel", true, 12, 29),
    ("Enamel Dutch Oven", true, 149, 449),
    ("Bamboo Chopping Board", true, 24, 79),
    ("Ceramic Mixing Bowl", true, 19, 69),
    ("Pour-Over Coffee Set", true, 39, 119),
    ("Copper Saucepan", true, 129, 399),
    ("Olive Wood Spoon", true, 9, 24),
    ("Stoneware Mug", true, 14, 32),
    ("Single Origin Coffee Beans 1kg", false, 38, 64),
    ("Loose Leaf Tea 250g", false, 12, 28),
    ("Raw Honey 500g", false, 11, 24),
    ("Extra Virgin Olive Oil 1L", false, 18, 42),
    ("Stoneground Flour 5kg", false, 14, 26),
    ("Sea Salt Flakes 250g", false, 7, 15),
    ("Rolled Oats 1kg", false, 6, 12),
    ("Macadamia Nuts 500g", false, 19, 34),
];
const VARIANTS: &[&str] = &["Classic", "Heritage", "Studio", "Coastal", "Artisan", "Everyday", "Reserve"];

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Whether an 11-digit ABN passes the ATO checksum.
pub fn abn_valid(abn: &str) -> bool {
    let digits: Vec<u32> = abn.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_digit(10).unwrap_or(99)).collect();
    if digits.len() != 11 || digits.iter().any(|d| *d > 9) || digits[0] == 0 {
        return false;
    }
    const W: [u32; 11] = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];
    let sum: u32 = digits.iter().enumerate().map(|(i, d)| (if i == 0 { d - 1 } else { *d }) * W[i]).sum();
    sum.is_multiple_of(89)
}

fn make_abn(rng: &mut ChaCha8Rng) -> String {
    loop {
        let tail: Vec<u32> = (0..9).map(|_| rng.random_range(0..10)).collect();
        for lead in 10..100u32 {
            let s: String = format!("{lead}") + &tail.iter().map(|d| d.to_string()).collect::<String>();
            if abn_valid(&s) {
                return s;
            }
        }
    }
}

/// "51824753556" as "51 824 753 556".
pub fn format_abn(abn: &str) -> String {
    if abn.len() != 11 {
        return abn.to_string();
    }
    format!("{} {} {} {}", &abn[0..2], &abn[2..5], &abn[5..8], &abn[8..11])
}

fn digits_of(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

fn typo(rng: &mut ChaCha8Rng, word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 4 {
        return format!("{word}{}", chars.last().copied().unwrap_or('e'));
    }
    let i = rng.random_range(1..chars.len() - 1);
    let mut out = chars.clone();
    match rng.random_range(0..3) {
        0 => out.swap(i, i + 1),
        1 => {
            out.remove(i);
        }
        _ => out.insert(i, chars[i]),
    }
    let s: String = out.into_iter().collect();
    if s == word {
        format!("{word}e")
    } else {
        s
    }
}

impl World {
    /// Generates the world for `config`. Deterministic in the seed.
    pub fn generate(config: &BusinessConfig) -> World {
        Generator::new(config).run()
    }

    /// Derives the Xero ids of this world.
    pub fn xero_ids(&self) -> XeroIds {
        XeroIds::new(self.seed)
    }

    /// The business's details as JSON (for the ground truth and the ready line).
    pub fn business_json(&self) -> Value {
        json!({
            "name": BUSINESS_NAME,
            "abn": BUSINESS_ABN,
            "city": "Brisbane",
            "currency": "AUD",
            "gst_registered": true,
            "shop_domain": SHOP_DOMAIN,
            "hubspot_hub_id": HUBSPOT_HUB_ID,
            "xero_tenant_id": self.xero_ids().id(crate::provider::XeroKind::Tenant, 0).to_string(),
            "quickbooks_realm_id": QUICKBOOKS_REALM_ID,
        })
    }

    /// The line items of a sale.
    pub fn sale_lines(&self, sale: u32) -> &[Line] {
        match self.sales.get(sale as usize) {
            Some(s) => &self.lines[s.line_start as usize..s.line_start as usize + s.line_len as usize],
            None => &[],
        }
    }

    /// A sale's amounts under `treatment`. Unit prices are the channel's
    /// (retail inclusive, wholesale exclusive); `typed_as_exclusive` treats
    /// inclusive retail prices as exclusive (a planted mistake); `adjust_cents`
    /// is added to the first line's amount (a planted rounding difference).
    pub fn sale_amounts(&self, sale: u32, treatment: Treatment, typed_as_exclusive: bool, adjust_cents: i16) -> DocAmounts {
        let wholesale = self.sales.get(sale as usize).map(|s| s.channel.wholesale()).unwrap_or(false);
        let mut out = DocAmounts { lines: Vec::new(), subtotal: Decimal::ZERO, tax: Decimal::ZERO, total: Decimal::ZERO };
        let treatment = if typed_as_exclusive { Treatment::Exclusive } else { treatment };
        for (i, l) in self.sale_lines(sale).iter().enumerate() {
            let p = &self.catalogue[l.product as usize];
            let unit = money(if wholesale { p.wholesale_cents } else { p.retail_cents });
            let mut amount = unit * Decimal::from(l.qty);
            if i == 0 {
                amount += money(adjust_cents as i64);
            }
            let (tax, ex) = match (treatment, p.taxable) {
                (_, false) => (Decimal::ZERO, amount),
                (Treatment::Inclusive, true) => {
                    let t = money(to_cents(amount / Decimal::from(11)));
                    (t, amount - t)
                }
                (Treatment::Exclusive, true) => (money(to_cents(amount / Decimal::from(10))), amount),
            };
            out.subtotal += ex;
            out.tax += tax;
            out.total += ex + tax;
            out.lines.push(LineAmount { product: l.product, qty: Decimal::from(l.qty), unit, amount, tax, taxable: p.taxable });
        }
        out
    }

    /// The amounts of a books invoice.
    pub fn invoice_amounts(&self, d: &DocRecord) -> DocAmounts {
        if d.sale == NONE || has_client_lines(d) {
            return client_amounts(d);
        }
        self.sale_amounts(d.sale, d.treatment, d.has(doc_flags::INCLUSIVE_TYPED_AS_EXCLUSIVE), d.adjust_cents)
    }

    /// The line descriptions and codes of a document's lines, whether
    /// generated or written by a client: (description, item code).
    pub fn line_labels(&self, d: &DocRecord) -> Vec<(String, String)> {
        if d.sale == NONE || has_client_lines(d) {
            return client_lines(d).into_iter().map(|l| (l.description, l.code)).collect();
        }
        self.sale_lines(d.sale)
            .iter()
            .map(|l| {
                let p = &self.catalogue[l.product as usize];
                (p.name.clone(), p.sku.clone())
            })
            .collect()
    }

    /// The amounts of a shop order.
    pub fn order_amounts(&self, d: &DocRecord) -> DocAmounts {
        self.sale_amounts(d.sale, d.treatment, false, 0)
    }
}

/// A line a client wrote into a document it created.
#[derive(Clone, Debug)]
pub struct ClientLine {
    pub description: String,
    pub code: String,
    pub qty: Decimal,
    pub unit: Decimal,
    pub taxable: bool,
}

/// Stores client lines on a document (under the unrendered `_lines` key).
pub fn set_client_lines(d: &mut DocRecord, lines: &[ClientLine]) {
    let v: Vec<Value> = lines
        .iter()
        .map(|l| json!({"description": l.description, "code": l.code, "qty": l.qty.to_string(), "unit": l.unit.to_string(), "taxable": l.taxable}))
        .collect();
    d.set_extra("_lines", Value::Array(v));
}

/// Whether a client replaced or wrote the document's lines.
pub fn has_client_lines(d: &DocRecord) -> bool {
    d.extra.as_ref().is_some_and(|e| e.contains_key("_lines"))
}

/// The client lines stored on a document.
pub fn client_lines(d: &DocRecord) -> Vec<ClientLine> {
    use std::str::FromStr;
    let Some(Value::Array(lines)) = d.extra.as_ref().and_then(|e| e.get("_lines")) else {
        return Vec::new();
    };
    lines
        .iter()
        .map(|l| ClientLine {
            description: l["description"].as_str().unwrap_or("").to_string(),
            code: l["code"].as_str().unwrap_or("").to_string(),
            qty: Decimal::from_str(l["qty"].as_str().unwrap_or("0")).unwrap_or_default(),
            unit: Decimal::from_str(l["unit"].as_str().unwrap_or("0")).unwrap_or_default(),
            taxable: l["taxable"].as_bool().unwrap_or(true),
        })
        .collect()
}

/// Amounts of a client-created document, from its stored lines.
pub fn client_amounts(d: &DocRecord) -> DocAmounts {
    let mut out = DocAmounts { lines: Vec::new(), subtotal: Decimal::ZERO, tax: Decimal::ZERO, total: Decimal::ZERO };
    for l in client_lines(d) {
        let amount = money(to_cents(l.unit * l.qty));
        let (tax, ex) = match (d.treatment, l.taxable) {
            (_, false) => (Decimal::ZERO, amount),
            (Treatment::Inclusive, true) => {
                let t = money(to_cents(amount / Decimal::from(11)));
                (t, amount - t)
            }
            (Treatment::Exclusive, true) => (money(to_cents(amount / Decimal::from(10))), amount),
        };
        out.subtotal += ex;
        out.tax += tax;
        out.total += ex + tax;
        out.lines.push(LineAmount { product: u16::MAX, qty: l.qty, unit: l.unit, amount, tax, taxable: l.taxable });
    }
    out
}

struct Generator<'a> {
    config: &'a BusinessConfig,
    rng: ChaCha8Rng,
    w: World,
    /// Per party: index in each system or NONE.
    crm_of: Vec<u32>,
    shop_of: Vec<u32>,
    books_of: Vec<u32>,
    online: Vec<bool>,
}

impl<'a> Generator<'a> {
    fn new(config: &'a BusinessConfig) -> Self {
        Generator {
            config,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            w: World {
                seed: config.seed,
                parties: Vec::new(),
                catalogue: Vec::new(),
                sales: Vec::new(),
                lines: Vec::new(),
                hubspot: CrmData::default(),
                shopify: ShopData::default(),
                xero: BooksData::default(),
                quickbooks: BooksData::default(),
                discrepancies: Vec::new(),
            },
            crm_of: Vec::new(),
            shop_of: Vec::new(),
            books_of: Vec::new(),
            online: Vec::new(),
        }
    }

    fn run(mut self) -> World {
        self.catalogue();
        self.parties();
        self.sales();
        self.systems();
        self.plant_contacts();
        let plan = self.plan_documents();
        self.documents(&plan);
        // Xero and QuickBooks hold the same history.
        let books = std::mem::take(&mut self.w.xero);
        self.w.quickbooks = books.clone();
        self.w.xero = books;
        self.w
    }

    fn catalogue(&mut self) {
        let mut n = 0;
        for (kind, taxable, lo, hi) in PRODUCT_KINDS {
            for v in VARIANTS.iter().take(4) {
                let dollars = self.rng.random_range(*lo..=*hi);
                let retail_cents = dollars * 100 - 5; // $xx.95
                let ex = if *taxable { money(retail_cents) / Decimal::from_str_exact("1.1").unwrap() } else { money(retail_cents) };
                let wholesale_cents = to_cents(ex * Decimal::from_str_exact("0.6").unwrap());
                n += 1;
                self.w.catalogue.push(Product {
                    sku: format!("HH-{:04}", n),
                    name: format!("{v} {kind}"),
                    retail_cents,
                    wholesale_cents,
                    taxable: *taxable,
                });
            }
        }
    }

    fn parties(&mut self) {
        let n = self.config.customers;
        let mut created: Vec<(i64, Party, bool)> = Vec::with_capacity(n);
        for _ in 0..n {
            let wholesale = self.rng.random_bool(0.15);
            let given = *pick(&mut self.rng, GIVEN);
            let family = *pick(&mut self.rng, FAMILY);
            let (suburb, state, postcode) = *pick(&mut self.rng, SUBURBS);
            let street = format!("{} {}", self.rng.random_range(1..400), pick(&mut self.rng, STREETS));
            let phone = format!(
                "04{:02} {:03} {:03}",
                self.rng.random_range(0..100),
                self.rng.random_range(0..1000),
                self.rng.random_range(0..1000)
            );
            let (company, email, abn) = if wholesale {
                let noun = *pick(&mut self.rng, COMPANY_NOUNS);
                let base = match self.rng.random_range(0..3) {
                    0 => format!("{suburb} {noun}"),
                    1 => format!("{family}'s {noun}"),
                    _ => format!("The {noun} on {}", street.split_whitespace().nth(1).unwrap_or("Main")),
                };
                let domain: String =
                    base.to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).take(20).collect();
                let email = format!("{}@{domain}.com.au", given.to_lowercase());
                let abn = make_abn(&mut self.rng);
                (base, email, abn)
            } else {
                let d = *pick(&mut self.rng, EMAIL_DOMAINS);
                let local = match self.rng.random_range(0..3) {
                    0 => format!("{}.{}", given, family),
                    1 => format!("{}{}{}", &given[..1], family, self.rng.random_range(1..99)),
                    _ => format!("{}_{}", given, family),
                };
                let local: String = local.to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_').collect();
                (String::new(), format!("{local}@{d}"), String::new())
            };
            let created_ms = self.rng.random_range(HISTORY_START_MS..HISTORY_END_MS - 60 * DAY_MS);
            let rec = PartyRecord::new(
                0,
                [given, family, &company, &email, &phone, &street, suburb, state, postcode, &abn, ""],
                created_ms,
                created_ms,
            );
            let online = !wholesale || self.rng.random_bool(0.6);
            created.push((created_ms, Party { wholesale, record: rec }, online));
        }
        created.sort_by_key(|(t, _, _)| *t);
        for (i, (_, mut p, online)) in created.into_iter().enumerate() {
            p.record.party = i as u32;
            self.w.parties.push(p);
            self.online.push(online);
        }
    }

    fn sales(&mut self) {
        let mut sales: Vec<Sale> = Vec::new();
        for (i, p) in self.w.parties.iter().enumerate() {
            let (p_none, p_geo) = if p.wholesale { (0.0, 0.08) } else { (0.1, 0.25) };
            if self.rng.random_bool(p_none) {
                continue;
            }
            let u: f64 = self.rng.random_range(1e-9..1.0);
            let count = 1 + ((u.ln() / (1.0_f64 - p_geo).ln()).floor() as usize).min(60);
            for _ in 0..count {
                let date_ms = self.rng.random_range(p.record.created_ms..HISTORY_END_MS) / DAY_MS * DAY_MS;
                let channel = if !p.wholesale {
                    Channel::ShopRetail
                } else if self.online[i] && self.rng.random_bool(0.7) {
                    Channel::ShopWholesale
                } else {
                    Channel::DirectWholesale
                };
                let n_lines = if channel.wholesale() { self.rng.random_range(2..=6) } else { self.rng.random_range(1..=4) };
                let line_start = self.w.lines.len() as u32;
                for _ in 0..n_lines {
                    let product = self.rng.random_range(0..self.w.catalogue.len()) as u16;
                    let qty = if channel.wholesale() { *pick(&mut self.rng, &[6u16, 12, 12, 24, 36, 48]) } else { self.rng.random_range(1..=3) };
                    self.w.lines.push(Line { product, qty });
                }
                sales.push(Sale { party: i as u32, date_ms, channel, line_start, line_len: n_lines });
            }
        }
        sales.sort_by_key(|s| (s.date_ms, s.party));
        self.w.sales = sales;
    }

    fn systems(&mut self) {
        let n = self.w.parties.len();
        let mut has_sale = vec![false; n];
        let mut has_shop_sale = vec![false; n];
        for s in &self.w.sales {
            has_sale[s.party as usize] = true;
            has_shop_sale[s.party as usize] |= s.channel.in_shop();
        }
        self.crm_of = vec![NONE; n];
        self.shop_of = vec![NONE; n];
        self.books_of = vec![NONE; n];
        for i in 0..n {
            let p = self.w.parties[i].clone();
            let t = p.record.values();
            let in_shop = has_shop_sale[i] || (!p.wholesale && self.rng.random_bool(0.7));
            let in_crm = p.wholesale || !in_shop || self.rng.random_bool(0.5);
            let created = p.record.created_ms;
            let touched = created + self.rng.random_range(0..30 * DAY_MS);
            let suffix = *pick(&mut self.rng, COMPANY_SUFFIXES);
            let company_with = |s: &str| if t[2].is_empty() || s.is_empty() { t[2].to_string() } else { format!("{} {s}", t[2]) };
            if in_crm {
                let phone = t[4].to_string();
                let crm_company = company_with(suffix);
                let mut c = PartyRecord::new(i as u32, [t[0], t[1], &crm_company, t[3], &phone, t[5], t[6], t[7], t[8], "", ""], created, touched);
                c.version = 1;
                self.crm_of[i] = self.w.hubspot.contacts.len() as u32;
                let company_idx = if p.wholesale {
                    let abn = t[9].to_string();
                    let mut co = PartyRecord::new(i as u32, ["", "", &crm_company, "", &phone, t[5], t[6], t[7], t[8], &abn, ""], created, touched);
                    co.version = 1;
                    self.w.hubspot.companies.push(co);
                    (self.w.hubspot.companies.len() - 1) as u32
                } else {
                    NONE
                };
                self.w.hubspot.contacts.push(c);
                self.w.hubspot.contact_company.push(company_idx);
            }
            if in_shop {
                let phone = format!("+61{}", &digits_of(t[4])[1..]);
                let c = PartyRecord::new(i as u32, [t[0], t[1], t[2], t[3], &phone, t[5], t[6], t[7], t[8], "", ""], created, touched);
                self.shop_of[i] = self.w.shopify.customers.len() as u32;
                self.w.shopify.customers.push(c);
            }
            if has_sale[i] {
                let suffix = *pick(&mut self.rng, COMPANY_SUFFIXES);
                let books_company = company_with(suffix);
                let abn = if t[9].is_empty() { String::new() } else if self.rng.random_bool(0.5) { format_abn(t[9]) } else { t[9].to_string() };
                let phone = digits_of(t[4]);
                let c = PartyRecord::new(i as u32, [t[0], t[1], &books_company, t[3], &phone, t[5], t[6], t[7], t[8], &abn, ""], created, touched);
                self.books_of[i] = self.w.xero.contacts.len() as u32;
                self.w.xero.contacts.push(c);
            }
        }
    }

    /// Picks `max(1, rate * candidates)` distinct candidates.
    fn sample(&mut self, candidates: &[u32], rate: f64) -> Vec<u32> {
        if candidates.is_empty() {
            return Vec::new();
        }
        let k = ((candidates.len() as f64 * rate).round() as usize).clamp(1, candidates.len());
        let mut pool = candidates.to_vec();
        for i in 0..k {
            let j = self.rng.random_range(i..pool.len());
            pool.swap(i, j);
        }
        pool.truncate(k);
        pool.sort_unstable();
        pool
    }

    fn books_refs(&self, object: RecordObject, index: u32) -> [RecordRef; 2] {
        [
            RecordRef { provider: Provider::Xero, object, index },
            RecordRef { provider: Provider::QuickBooks, object, index },
        ]
    }

    fn plant(&mut self, kind: DiscrepancyKind, party: Option<u32>, sale: Option<u32>, records: Vec<RecordRef>, detail: Value) {
        self.w.discrepancies.push(Discrepancy { kind, party, sale, records, detail });
    }

    fn plant_contacts(&mut self) {
        let n = self.w.parties.len() as u32;
        let in_two: Vec<u32> = (0..n)
            .filter(|&i| {
                [self.crm_of[i as usize], self.shop_of[i as usize], self.books_of[i as usize]].iter().filter(|x| **x != NONE).count() >= 2
            })
            .collect();
        // Name spelt differently in one system.
        let mut used = vec![false; n as usize];
        for p in self.sample(&in_two, 0.03) {
            used[p as usize] = true;
            let systems: Vec<u8> = [(0u8, self.crm_of[p as usize]), (1, self.shop_of[p as usize]), (2, self.books_of[p as usize])]
                .iter()
                .filter(|(_, x)| *x != NONE)
                .map(|(s, _)| *s)
                .collect();
            let sys = *pick(&mut self.rng, &systems);
            let truth = self.w.parties[p as usize].record.clone();
            let given = truth.get(PartyField::Given).to_string();
            let nick = NICKNAMES.iter().find(|(a, b)| *a == given || *b == given).map(|(a, b)| if *a == given { *b } else { *a });
            let (field, served) = match nick {
                Some(other) if self.rng.random_bool(0.5) => (PartyField::Given, other.to_string()),
                _ => (PartyField::Family, typo(&mut self.rng, truth.get(PartyField::Family))),
            };
            let expected = truth.get(field).to_string();
            let (records, fname) = match sys {
                0 => {
                    let idx = self.crm_of[p as usize];
                    self.w.hubspot.contacts[idx as usize].set(field, &served);
                    (vec![RecordRef { provider: Provider::HubSpot, object: RecordObject::Contacts, index: idx }], if field == PartyField::Given { "firstname" } else { "lastname" })
                }
                1 => {
                    let idx = self.shop_of[p as usize];
                    self.w.shopify.customers[idx as usize].set(field, &served);
                    (vec![RecordRef { provider: Provider::Shopify, object: RecordObject::Customers, index: idx }], if field == PartyField::Given { "firstName" } else { "lastName" })
                }
                _ => {
                    let idx = self.books_of[p as usize];
                    self.w.xero.contacts[idx as usize].set(field, &served);
                    (self.books_refs(RecordObject::Contacts, idx).to_vec(), if field == PartyField::Given { "FirstName/GivenName" } else { "LastName/FamilyName" })
                }
            };
            self.plant(DiscrepancyKind::NameSpelling, Some(p), None, records, json!({"field": fname, "expected": expected, "served": served}));
        }
        // Given and family swapped in the books (retail people only).
        let cands: Vec<u32> = (0..n).filter(|&i| self.books_of[i as usize] != NONE && !self.w.parties[i as usize].wholesale && !used[i as usize]).collect();
        for p in self.sample(&cands, 0.02) {
            used[p as usize] = true;
            let idx = self.books_of[p as usize];
            let c = &mut self.w.xero.contacts[idx as usize];
            let g = c.get(PartyField::Given).to_string();
            let f = c.get(PartyField::Family).to_string();
            c.set(PartyField::Given, &f);
            c.set(PartyField::Family, &g);
            let records = self.books_refs(RecordObject::Contacts, idx).to_vec();
            self.plant(DiscrepancyKind::NameOrder, Some(p), None, records, json!({"expected_given": g, "expected_family": f, "served_given": f, "served_family": g}));
        }
        // ABN missing or malformed in the books (wholesale accounts carry ABNs).
        let ws: Vec<u32> = (0..n).filter(|&i| self.books_of[i as usize] != NONE && self.w.parties[i as usize].wholesale).collect();
        let missing = self.sample(&ws, 0.25);
        for &p in &missing {
            let idx = self.books_of[p as usize];
            let truth = self.w.parties[p as usize].record.get(PartyField::Abn).to_string();
            self.w.xero.contacts[idx as usize].set(PartyField::Abn, "");
            let mut records = self.books_refs(RecordObject::Contacts, idx).to_vec();
            if self.crm_of[p as usize] != NONE {
                let co = self.w.hubspot.contact_company[self.crm_of[p as usize] as usize];
                if co != NONE {
                    records.push(RecordRef { provider: Provider::HubSpot, object: RecordObject::Companies, index: co });
                }
            }
            self.plant(DiscrepancyKind::AbnMissing, Some(p), None, records, json!({"expected": truth, "served": ""}));
        }
        let rest: Vec<u32> = ws.iter().copied().filter(|p| !missing.contains(p)).collect();
        for p in self.sample(&rest, 0.06) {
            let idx = self.books_of[p as usize];
            let truth = self.w.parties[p as usize].record.get(PartyField::Abn).to_string();
            let mut bad: Vec<char> = truth.chars().collect();
            let served = if self.rng.random_bool(0.5) {
                bad.pop();
                format_abn(&bad.iter().collect::<String>())
            } else {
                let i = self.rng.random_range(2..11);
                let d = bad[i].to_digit(10).unwrap_or(0);
                bad[i] = char::from_digit((d + 1 + self.rng.random_range(0..8)) % 10, 10).unwrap_or('0');
                let s: String = bad.iter().collect();
                if abn_valid(&s) { format!("{s}0") } else { format_abn(&s) }
            };
            self.w.xero.contacts[idx as usize].set(PartyField::Abn, &served);
            let records = self.books_refs(RecordObject::Contacts, idx).to_vec();
            self.plant(DiscrepancyKind::AbnMalformed, Some(p), None, records, json!({"expected": truth, "served": served}));
        }
        // Books bill to a different address from the shop's default.
        let cands: Vec<u32> = (0..n).filter(|&i| self.books_of[i as usize] != NONE && self.shop_of[i as usize] != NONE).collect();
        for p in self.sample(&cands, 0.05) {
            let idx = self.books_of[p as usize];
            let old = self.w.xero.contacts[idx as usize].get(PartyField::Street).to_string();
            let served = if self.rng.random_bool(0.5) {
                format!("PO Box {}", self.rng.random_range(100..9999))
            } else {
                format!("{} {}", self.rng.random_range(1..400), pick(&mut self.rng, STREETS))
            };
            self.w.xero.contacts[idx as usize].set(PartyField::Street, &served);
            let mut records = self.books_refs(RecordObject::Contacts, idx).to_vec();
            records.push(RecordRef { provider: Provider::Shopify, object: RecordObject::Customers, index: self.shop_of[p as usize] });
            self.plant(DiscrepancyKind::BillingAddressDiffers, Some(p), None, records, json!({"shop_address1": old, "books_address1": served}));
        }
        // The same field edited to different values in the CRM and the books.
        let cands: Vec<u32> = (0..n).filter(|&i| self.books_of[i as usize] != NONE && self.crm_of[i as usize] != NONE && !used[i as usize]).collect();
        for p in self.sample(&cands, 0.01) {
            let b = self.books_of[p as usize];
            let h = self.crm_of[p as usize];
            let original = self.w.hubspot.contacts[h as usize].get(PartyField::Email).to_string();
            let (local, domain) = original.split_once('@').unwrap_or(("someone", "example.com"));
            let crm_value = format!("{local}.new@{domain}");
            let books_value = format!("accounts@{domain}");
            let t1 = HISTORY_END_MS - self.rng.random_range(2..5) * DAY_MS;
            let t2 = HISTORY_END_MS - self.rng.random_range(0..2) * DAY_MS - 3_600_000;
            let hc = &mut self.w.hubspot.contacts[h as usize];
            hc.set(PartyField::Email, &crm_value);
            hc.updated_ms = t1;
            hc.version += 1;
            let bc = &mut self.w.xero.contacts[b as usize];
            bc.set(PartyField::Email, &books_value);
            bc.updated_ms = t2;
            bc.version += 1;
            let mut records = vec![RecordRef { provider: Provider::HubSpot, object: RecordObject::Contacts, index: h }];
            records.extend(self.books_refs(RecordObject::Contacts, b));
            self.plant(
                DiscrepancyKind::ContactEditedInTwoSystems,
                Some(p),
                None,
                records,
                json!({"field": "email", "original": original, "hubspot": crm_value, "books": books_value, "hubspot_updated_ms": t1, "books_updated_ms": t2}),
            );
        }
    }

    fn plan_documents(&mut self) -> DocPlan {
        let n_sales = self.w.sales.len();
        let all: Vec<u32> = (0..n_sales as u32).collect();
        let shop: Vec<u32> = all.iter().copied().filter(|&s| self.w.sales[s as usize].channel.in_shop()).collect();
        let mut plan = DocPlan { flags: vec![0u16; n_sales], adjust: vec![0i16; n_sales], guest_of: Vec::new() };
        for s in self.sample(&shop, 0.01) {
            plan.flags[s as usize] |= P_NOT_INVOICED;
        }
        let invoiced_retail: Vec<u32> = shop
            .iter()
            .copied()
            .filter(|&s| plan.flags[s as usize] & P_NOT_INVOICED == 0 && !self.w.sales[s as usize].channel.wholesale())
            .collect();
        let taxable: Vec<u32> = invoiced_retail
            .iter()
            .copied()
            .filter(|&s| self.w.sale_lines(s).iter().any(|l| self.w.catalogue[l.product as usize].taxable))
            .collect();
        for s in self.sample(&taxable, 0.005) {
            plan.flags[s as usize] |= P_GST_AS_EXCLUSIVE;
        }
        let invoiced: Vec<u32> = all.iter().copied().filter(|&s| plan.flags[s as usize] & (P_NOT_INVOICED | P_GST_AS_EXCLUSIVE) == 0).collect();
        let invoiced_shop: Vec<u32> = invoiced.iter().copied().filter(|&s| self.w.sales[s as usize].channel.in_shop()).collect();
        for s in self.sample(&invoiced_shop, 0.01) {
            plan.flags[s as usize] |= P_ROUNDING;
            let mag = self.rng.random_range(1..=2i16);
            plan.adjust[s as usize] = if self.rng.random_bool(0.5) { mag } else { -mag };
        }
        let paid_ok: Vec<u32> = invoiced
            .iter()
            .copied()
            .filter(|&s| plan.flags[s as usize] & P_ROUNDING == 0 && self.w.sales[s as usize].date_ms < HISTORY_END_MS - 60 * DAY_MS)
            .collect();
        let partial = self.sample(&paid_ok, 0.02);
        for &s in &partial {
            plan.flags[s as usize] |= P_PARTIAL;
        }
        let rest: Vec<u32> = paid_ok.iter().copied().filter(|s| plan.flags[*s as usize] & P_PARTIAL == 0).collect();
        for s in self.sample(&rest, 0.003) {
            plan.flags[s as usize] |= P_PAID_TWICE;
        }
        let refundable: Vec<u32> = invoiced_retail.iter().copied().filter(|s| plan.flags[*s as usize] & (P_GST_AS_EXCLUSIVE | P_NOT_INVOICED | P_PARTIAL) == 0).collect();
        let refunded = self.sample(&refundable, 0.03);
        for &s in &refunded {
            plan.flags[s as usize] |= P_REFUND;
        }
        for s in self.sample(&refunded, 0.2) {
            plan.flags[s as usize] |= P_NO_CREDIT_NOTE;
        }
        // Guest-checkout duplicates: retail shop customers with two or more orders.
        let mut orders_of: Vec<Vec<u32>> = vec![Vec::new(); self.w.parties.len()];
        for (i, s) in self.w.sales.iter().enumerate() {
            if s.channel == Channel::ShopRetail {
                orders_of[s.party as usize].push(i as u32);
            }
        }
        let cands: Vec<u32> = (0..self.w.parties.len() as u32).filter(|&p| orders_of[p as usize].len() >= 2).collect();
        for p in self.sample(&cands, 0.04) {
            let orders = &orders_of[p as usize];
            let moved: Vec<u32> = orders[orders.len() / 2..].to_vec();
            let truth = &self.w.parties[p as usize].record;
            let vals = truth.values();
            let (local, domain) = vals[3].split_once('@').unwrap_or(("guest", "example.com"));
            let email = if self.rng.random_bool(0.5) {
                format!("{}{}@{domain}", local.replace(['.', '_'], ""), self.rng.random_range(1..99))
            } else {
                format!("{}@{}", local, if domain == "gmail.com" { "outlook.com" } else { "gmail.com" })
            };
            let first_moved = self.w.sales[moved[0] as usize].date_ms;
            let mut dup = PartyRecord::new(p, [vals[0], vals[1], "", &email, "", vals[5], vals[6], vals[7], vals[8], "", ""], first_moved, first_moved);
            dup.guest = true;
            let dup_idx = self.w.shopify.customers.len() as u32;
            self.w.shopify.customers.push(dup);
            for s in &moved {
                plan.flags[*s as usize] |= P_GUEST;
            }
            plan.guest_of.push((p, dup_idx, moved));
        }
        plan
    }

    fn documents(&mut self, plan: &DocPlan) {
        let mut order_of_sale = vec![NONE; self.w.sales.len()];
        let mut guest_customer = vec![NONE; self.w.sales.len()];
        for (_, dup, moved) in &plan.guest_of {
            for s in moved {
                guest_customer[*s as usize] = *dup;
            }
        }
        let mut invoice_no = 0u32;
        let mut credit_no = 0u32;
        for si in 0..self.w.sales.len() as u32 {
            let sale = self.w.sales[si as usize].clone();
            let f = plan.flags[si as usize];
            let p = sale.party as usize;
            let treatment = if sale.channel.wholesale() { Treatment::Exclusive } else { Treatment::Inclusive };
            let recent = sale.date_ms >= HISTORY_END_MS - 45 * DAY_MS;
            let settled = !sale.channel.wholesale() || !recent;
            let pay_lag = if sale.channel.wholesale() { self.rng.random_range(10..40) } else { self.rng.random_range(0..3) } * DAY_MS;
            let mut order_idx = NONE;
            if sale.channel.in_shop() {
                let customer = if guest_customer[si as usize] != NONE { guest_customer[si as usize] } else { self.shop_of[p] };
                let mut o = DocRecord {
                    sale: si,
                    customer,
                    number: 1001 + self.w.shopify.orders.len() as u32,
                    date_ms: sale.date_ms + self.rng.random_range(8..20) * 3_600_000,
                    due_days: if sale.channel.wholesale() { 30 } else { 0 },
                    created_ms: 0,
                    updated_ms: 0,
                    version: 1,
                    paid_cents: 0,
                    refunded_cents: 0,
                    adjust_cents: 0,
                    treatment,
                    flags: 0,
                    extra: None,
                };
                o.created_ms = o.date_ms;
                o.updated_ms = o.date_ms + if settled { pay_lag } else { 0 } + 600_000;
                let total = to_cents(self.w.order_amounts(&o).total);
                if settled {
                    o.paid_cents = total;
                }
                order_idx = self.w.shopify.orders.len() as u32;
                order_of_sale[si as usize] = order_idx;
                if f & P_REFUND != 0 {
                    let amounts = self.w.order_amounts(&o);
                    let amount = if self.rng.random_bool(0.5) || amounts.lines.len() == 1 { total } else { to_cents(amounts.lines[0].amount) };
                    let when = o.date_ms + self.rng.random_range(5..20) * DAY_MS;
                    o.refunded_cents = amount;
                    o.updated_ms = o.updated_ms.max(when);
                    self.w.shopify.refunds.push(PaymentRecord { doc: order_idx, amount_cents: amount, date_ms: when, created_ms: when, updated_ms: when, version: 1, deleted: false, extra: None });
                }
                self.w.shopify.orders.push(o);
            }
            if f & P_NOT_INVOICED != 0 {
                let shop_customer = self.w.shopify.orders[order_idx as usize].customer;
                self.plant(
                    DiscrepancyKind::OrderNeverInvoiced,
                    Some(sale.party),
                    Some(si),
                    vec![RecordRef { provider: Provider::Shopify, object: RecordObject::Orders, index: order_idx }],
                    json!({"order_name": format!("#{}", self.w.shopify.orders[order_idx as usize].number), "shopify_customer_index": shop_customer}),
                );
                continue;
            }
            let books_customer = self.books_of[p];
            invoice_no += 1;
            let mut inv = DocRecord {
                sale: si,
                customer: books_customer,
                number: invoice_no,
                date_ms: sale.date_ms,
                due_days: if sale.channel.wholesale() { 30 } else { 0 },
                created_ms: sale.date_ms + 36_000_000,
                updated_ms: sale.date_ms + 36_000_000,
                version: 1,
                paid_cents: 0,
                refunded_cents: 0,
                adjust_cents: plan.adjust[si as usize],
                treatment,
                flags: 0,
                extra: None,
            };
            if f & P_GST_AS_EXCLUSIVE != 0 {
                inv.flags |= doc_flags::INCLUSIVE_TYPED_AS_EXCLUSIVE;
                inv.treatment = Treatment::Exclusive;
            }
            let inv_idx = self.w.xero.invoices.len() as u32;
            let books_total = to_cents(self.w.invoice_amounts(&inv).total);
            let shop_total = if order_idx != NONE { Some(to_cents(self.w.order_amounts(&self.w.shopify.orders[order_idx as usize]).total)) } else { None };
            if settled {
                let when = sale.date_ms + pay_lag;
                let amount = if f & P_PARTIAL != 0 { to_cents(money(books_total) * Decimal::from_str_exact("0.5").unwrap()) } else { books_total };
                let pay = PaymentRecord { doc: inv_idx, amount_cents: amount, date_ms: when, created_ms: when, updated_ms: when, version: 1, deleted: false, extra: None };
                inv.paid_cents = amount;
                inv.updated_ms = when + 600_000;
                self.w.xero.payments.push(pay.clone());
                if f & P_PAID_TWICE != 0 {
                    let when2 = when + self.rng.random_range(1..10) * DAY_MS;
                    self.w.xero.payments.push(PaymentRecord { date_ms: when2, created_ms: when2, updated_ms: when2, ..pay });
                    inv.updated_ms = when2 + 600_000;
                    let n = self.w.xero.payments.len() as u32;
                    let mut records = self.books_refs(RecordObject::Invoices, inv_idx).to_vec();
                    records.extend(self.books_refs(RecordObject::Payments, n - 2));
                    records.extend(self.books_refs(RecordObject::Payments, n - 1));
                    self.plant(DiscrepancyKind::InvoicePaidTwice, Some(sale.party), Some(si), records, json!({"invoice_total": money(books_total), "paid": money(2 * amount)}));
                }
                if f & P_PARTIAL != 0 {
                    let mut records = self.books_refs(RecordObject::Invoices, inv_idx).to_vec();
                    records.extend(self.books_refs(RecordObject::Payments, self.w.xero.payments.len() as u32 - 1));
                    if order_idx != NONE {
                        records.push(RecordRef { provider: Provider::Shopify, object: RecordObject::Orders, index: order_idx });
                    }
                    self.plant(DiscrepancyKind::PartialPayment, Some(sale.party), Some(si), records, json!({"invoice_total": money(books_total), "paid": money(amount), "amount_due": money(books_total - amount)}));
                }
            }
            let order_ref = RecordRef { provider: Provider::Shopify, object: RecordObject::Orders, index: order_idx };
            if f & P_ROUNDING != 0 {
                let mut records = self.books_refs(RecordObject::Invoices, inv_idx).to_vec();
                records.push(order_ref);
                self.plant(DiscrepancyKind::RoundingDifference, Some(sale.party), Some(si), records, json!({"shop_total": shop_total.map(money), "books_total": money(books_total)}));
            }
            if f & P_GST_AS_EXCLUSIVE != 0 {
                let mut records = self.books_refs(RecordObject::Invoices, inv_idx).to_vec();
                records.push(order_ref);
                self.plant(DiscrepancyKind::GstInclusiveAsExclusive, Some(sale.party), Some(si), records, json!({"shop_total": shop_total.map(money), "books_total": money(books_total), "line_amount_types": "Exclusive"}));
            }
            if f & P_REFUND != 0 {
                let refund_idx = self.w.shopify.refunds.len() as u32 - 1;
                let refund = self.w.shopify.refunds[refund_idx as usize].clone();
                if f & P_NO_CREDIT_NOTE != 0 {
                    let records = vec![
                        RecordRef { provider: Provider::Shopify, object: RecordObject::Refunds, index: refund_idx },
                        order_ref,
                    ];
                    self.plant(DiscrepancyKind::RefundWithoutCreditNote, Some(sale.party), Some(si), records, json!({"refund_amount": money(refund.amount_cents)}));
                } else {
                    credit_no += 1;
                    let when = refund.date_ms + DAY_MS;
                    self.w.xero.credit_notes.push(CreditRecord {
                        doc: inv_idx,
                        customer: books_customer,
                        number: credit_no,
                        amount_cents: refund.amount_cents,
                        remaining_cents: 0,
                        date_ms: when,
                        created_ms: when,
                        updated_ms: when,
                        version: 1,
                        deleted: false,
                        extra: None,
                    });
                }
            }
            self.w.xero.invoices.push(inv);
        }
        for (p, dup, moved) in &plan.guest_of {
            let mut records = vec![
                RecordRef { provider: Provider::Shopify, object: RecordObject::Customers, index: self.shop_of[*p as usize] },
                RecordRef { provider: Provider::Shopify, object: RecordObject::Customers, index: *dup },
            ];
            for s in moved {
                records.push(RecordRef { provider: Provider::Shopify, object: RecordObject::Orders, index: order_of_sale[*s as usize] });
            }
            let email = self.w.shopify.customers[*dup as usize].get(PartyField::Email).to_string();
            self.plant(DiscrepancyKind::GuestCheckoutDuplicate, Some(*p), None, records, json!({"duplicate_email": email, "orders_moved": moved.len()}));
        }
        // Customer records were last touched by their latest document.
        for o in &self.w.shopify.orders {
            let c = &mut self.w.shopify.customers[o.customer as usize];
            c.updated_ms = c.updated_ms.max(o.created_ms);
        }
    }
}

const P_NOT_INVOICED: u16 = 1;
const P_GST_AS_EXCLUSIVE: u16 = 2;
const P_ROUNDING: u16 = 4;
const P_PARTIAL: u16 = 8;
const P_PAID_TWICE: u16 = 16;
const P_REFUND: u16 = 32;
const P_NO_CREDIT_NOTE: u16 = 64;
const P_GUEST: u16 = 128;

/// Per-sale decisions taken before documents are written.
struct DocPlan {
    flags: Vec<u16>,
    /// Planted rounding difference per sale, in cents.
    adjust: Vec<i16>,
    /// (party, duplicate shop customer, sales moved to it)
    guest_of: Vec<(u32, u32, Vec<u32>)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(seed: u64, customers: usize) -> World {
        World::generate(&BusinessConfig { seed, customers })
    }

    #[test]
    fn same_seed_same_world() {
        let a = world(7, 300);
        let b = world(7, 300);
        assert_eq!(a.sales.len(), b.sales.len(), "a seed must always yield the same sales");
        assert_eq!(
            a.xero.contacts[5].values(),
            b.xero.contacts[5].values(),
            "a seed must always yield the same contacts"
        );
        let c = world(8, 300);
        assert_ne!(a.sales.len() + a.lines.len(), c.sales.len() + c.lines.len(), "another seed should yield another world");
    }

    #[test]
    fn every_kind_is_planted_at_least_once() {
        let w = world(7, 400);
        for kind in DiscrepancyKind::ALL {
            assert!(w.discrepancies.iter().any(|d| d.kind == kind), "{kind:?} must be planted even in a small world");
        }
    }

    #[test]
    fn demo_size_is_about_five_orders_per_customer() {
        let w = world(7, 2000);
        let per = w.sales.len() as f64 / 2000.0;
        assert!((4.0..6.5).contains(&per), "the demo should have about 10,000 sales for 2,000 customers, got {per} each");
    }

    #[test]
    fn abn_checksum() {
        let cases = [("51824753556", true), ("51 824 753 556", true), ("51824753557", false), ("5182475355", false)];
        for (abn, ok) in cases {
            assert_eq!(abn_valid(abn), ok, "ABN {abn} checksum");
        }
    }

    #[test]
    fn totals_agree_between_shop_and_books_unless_planted() {
        let w = world(11, 300);
        for o in &w.shopify.orders {
            if let Some(inv) = w.xero.invoices.iter().find(|i| i.sale == o.sale) {
                if inv.adjust_cents == 0 && !inv.has(doc_flags::INCLUSIVE_TYPED_AS_EXCLUSIVE) {
                    assert_eq!(
                        w.order_amounts(o).total,
                        w.invoice_amounts(inv).total,
                        "an unplanted order and its invoice must have the same total"
                    );
                }
            }
        }
    }
}
