//! Matching and reconciliation, kept pure: canonical records in; links, field
//! conflicts and money discrepancies out.
//!
//! [`plan`] takes every canonical [`Party`], [`SalesDocument`] and [`Payment`]
//! (from any number of connections and imported spreadsheets), the
//! bookkeeper's earlier [`LinkDecision`]s, the system-of-record [`Policy`] and
//! a [`Config`], and returns a [`Plan`]: every [`Link`] with its score, method
//! and evidence; the linked customers and sales; the [`Conflict`]s between
//! linked customers' fields; and the [`Discrepancy`]s between documents. It
//! reads no clock and touches no store: the API layer loads records, calls
//! `plan`, shows or applies the result. Bookkeeper decisions go in as input,
//! so a confirmed or rejected link holds however often the plan is rerun.
//!
//! ```
//! use concord_core::model::{Party, Source};
//! use concord_core::Provider;
//! use concord_match::{plan, Config, Records};
//! let person = |conn, provider, id: &str, email: &str| Party {
//!     source: Source::new(conn, provider, "contacts", id),
//!     given_name: Some("Zoe".into()),
//!     family_name: Some("Ng".into()),
//!     emails: vec![email.into()],
//!     ..Default::default()
//! };
//! let records = Records {
//!     parties: vec![person(1, Provider::HubSpot, "1", "zoe@example.com"), person(2, Provider::Xero, "x", " ZOE@example.com")],
//!     ..Default::default()
//! };
//! let plan = plan(&records, &[], &Default::default(), &Config::default());
//! assert_eq!(plan.links.len(), 1);
//! assert!(plan.links[0].evidence_text().starts_with("same email (×"), "{}", plan.links[0].evidence_text());
//! ```

pub mod cluster;
pub mod conflict;
pub mod document;
pub mod fs;
pub mod import;
pub mod link;
pub mod normalise;
pub mod party;
pub mod policy;
pub mod reconcile;

pub use conflict::{Candidate, Conflict};
pub use link::{EntityKind, EvidenceSign, Key, Link, LinkDecision, LinkState, Method};
pub use policy::{Field, FieldOwner, Policy, Role};
pub use reconcile::{Discrepancy, DiscrepancyKind, Severity};

use cluster::{pair_key, Edge};
use concord_core::model::{Party, Payment, SalesDocument};
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Everything the matcher reads.
#[derive(Debug, Clone, Default)]
pub struct Records {
    pub parties: Vec<Party>,
    pub documents: Vec<SalesDocument>,
    pub payments: Vec<Payment>,
}

/// Thresholds and tolerances.
#[derive(Debug, Clone)]
pub struct Config {
    /// Links scoring at least this are made automatically.
    pub auto_threshold: f64,
    /// Links scoring at least this (and below `auto_threshold`) are suggested.
    pub suggest_threshold: f64,
    /// Totals differing by no more than this are a rounding difference, more a mismatch.
    pub rounding_tolerance: Decimal,
    /// Blocks with more records than this are skipped (their records meet through other keys).
    pub max_block: usize,
    /// Worker threads for the per-record and per-pair work.
    pub threads: usize,
    /// A name for each connection id, used in summaries (`Xero`, `legacy.csv`).
    pub connection_names: HashMap<i64, String>,
    /// Told the name of each phase as it ends (benchmarks time them; the crate reads no clock).
    pub observer: Observer,
}

/// A callback told the name of each phase of [`plan`] as it ends.
#[derive(Clone, Default)]
pub struct Observer(pub Option<std::sync::Arc<dyn Fn(&'static str) + Send + Sync>>);

impl Observer {
    fn mark(&self, phase: &'static str) {
        if let Some(f) = &self.0 {
            f(phase);
        }
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Observer(set)" } else { "Observer(none)" })
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            auto_threshold: 0.9,
            suggest_threshold: 0.5,
            rounding_tolerance: Decimal::new(1, 2),
            max_block: 200,
            threads: std::thread::available_parallelism().map(|n| n.get().min(4)).unwrap_or(1),
            connection_names: HashMap::new(),
            observer: Observer::default(),
        }
    }
}

/// A linked customer or sale: its key and its records' keys.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    /// `party:` or `sale:` and the smallest record key.
    pub key: String,
    /// Sorted; shared with the plan's links.
    #[serde(with = "link::key_serde::vec")]
    pub records: Vec<Key>,
}

/// Counts for logs and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub party_candidates: usize,
    pub document_candidates: usize,
    pub skipped_blocks: usize,
}

/// What the matcher found.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Every link at or above the suggestion threshold, plus every decided pair.
    pub links: Vec<Link>,
    pub parties: Vec<Cluster>,
    pub sales: Vec<Cluster>,
    pub conflicts: Vec<Conflict>,
    pub discrepancies: Vec<Discrepancy>,
    pub stats: Stats,
    /// The customer-linking model trained on these records (none without parties).
    pub model: Option<fs::Model>,
}

/// A fixed-seed generator for the plan's samples, so a plan is deterministic.
struct Sample(rand_chacha::ChaCha8Rng);

impl Sample {
    fn new(seed: u64) -> Self {
        Sample(rand::SeedableRng::seed_from_u64(seed))
    }
    /// Two different indices below `n` (at least 2).
    fn pair(&mut self, n: u64) -> (u64, u64) {
        use rand::Rng;
        let a = self.0.random_range(0..n);
        let b = self.0.random_range(0..n - 1);
        (a, if b >= a { b + 1 } else { b })
    }
}

/// Each distinct comparison vector with how many times it occurs, in a fixed order.
fn histogram(mut gs: Vec<fs::Gamma>) -> Vec<(fs::Gamma, f64)> {
    gs.sort_unstable();
    let mut out: Vec<(fs::Gamma, f64)> = Vec::new();
    for g in gs {
        match out.last_mut() {
            Some((last, n)) if *last == g => *n += 1.0,
            _ => out.push((g, 1.0)),
        }
    }
    out
}

/// Runs `f` on the plan's worker pool (rayon's global pool if none could be built).
fn on_pool<R: Send>(pool: &Option<rayon::ThreadPool>, f: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// The match probability at or above which two records of one system, each
/// linked to a third, may share a customer without a link of their own.
const NEAR: f64 = 0.2;

/// Random pairs compared at most, to estimate how often different customers agree by chance.
const RANDOM_PAIRS: u64 = 100_000;

/// The level counts of random pairs of records: every pair when there are few,
/// else a fixed-seed sample (so a plan is deterministic).
fn random_pair_levels(feats: &[party::PartyFeatures], pool: &Option<rayon::ThreadPool>) -> fs::LevelCounts {
    let n = feats.len() as u64;
    if n < 2 {
        return Default::default();
    }
    let all = n * (n - 1) / 2;
    let pairs: Vec<(u32, u32)> = if all <= RANDOM_PAIRS {
        (0..n as u32).flat_map(|a| (a + 1..n as u32).map(move |b| (a, b))).collect()
    } else {
        let mut sample = Sample::new(0x5EED_C0DE_2026);
        (0..RANDOM_PAIRS)
            .map(|_| {
                let (a, b) = sample.pair(n);
                (a as u32, b as u32)
            })
            .collect()
    };
    on_pool(pool, || {
        use rayon::prelude::*;
        pairs
            .par_chunks(4096)
            .map(|chunk| {
                let mut c: fs::LevelCounts = Default::default();
                for &(a, b) in chunk {
                    if let party::Compared::Vector(g, _) = party::compare(&feats[a as usize], &feats[b as usize]) {
                        fs::count(&mut c, g);
                    }
                }
                c
            })
            .reduce(Default::default, |mut x, y| {
                for (r, s) in x.iter_mut().zip(y.iter()) {
                    for (p, q) in r.iter_mut().zip(s.iter()) {
                        *p += q;
                    }
                }
                x
            })
    })
}

/// Pairs drawn for one training session at most.
const SESSION_PAIRS: u64 = 100_000;

/// The comparison vectors of pairs of records sharing `key` (every such pair
/// when there are few, else a fixed-seed sample spread over the groups in
/// proportion to their pairs), each distinct vector with how many pairs have it.
fn session_patterns(feats: &[party::PartyFeatures], key: fn(&party::PartyFeatures) -> Option<u64>, pool: &Option<rayon::ThreadPool>) -> Vec<(fs::Gamma, f64)> {
    let mut keyed: Vec<(u64, u32)> = feats.iter().enumerate().filter_map(|(i, f)| key(f).map(|k| (k, i as u32))).collect();
    keyed.sort_unstable();
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    while start < keyed.len() {
        let mut end = start + 1;
        while end < keyed.len() && keyed[end].0 == keyed[start].0 {
            end += 1;
        }
        if end - start > 1 {
            groups.push((start, end));
        }
        start = end;
    }
    let pairs_in = |(a, b): (usize, usize)| ((b - a) * (b - a - 1) / 2) as u64;
    let total: u64 = groups.iter().map(|&g| pairs_in(g)).sum();
    let mut sample = Sample::new(0x5E55_1011_2026);
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(total.min(SESSION_PAIRS + groups.len() as u64) as usize);
    for &(a, b) in &groups {
        let all = pairs_in((a, b));
        let take = if total <= SESSION_PAIRS { all } else { (all * SESSION_PAIRS).div_ceil(total) };
        if take >= all {
            for x in a..b {
                for y in x + 1..b {
                    pairs.push((keyed[x].1, keyed[y].1));
                }
            }
        } else {
            for _ in 0..take {
                let (x, y) = sample.pair((b - a) as u64);
                pairs.push((keyed[a + x as usize].1, keyed[a + y as usize].1));
            }
        }
    }
    histogram(on_pool(pool, || {
        use rayon::prelude::*;
        pairs
            .par_iter()
            .filter_map(|&(x, y)| match party::compare(&feats[x as usize], &feats[y as usize]) {
                party::Compared::Vector(g, _) => Some(g),
                _ => None,
            })
            .collect()
    }))
}

/// Each distinct comparison vector among the candidates, with how many pairs have it, in a fixed order.
fn patterns(compared: &[(u32, u32, party::Compared)]) -> Vec<(fs::Gamma, f64)> {
    histogram(compared.iter().filter_map(|(_, _, c)| if let party::Compared::Vector(g, _) = c { Some(*g) } else { None }).collect())
}

/// Runs `f` over `items` in `threads` contiguous chunks, keeping order.
fn par_map<'a, T: Sync, U: Send>(items: &'a [T], threads: usize, f: impl Fn(&'a [T]) -> Vec<U> + Sync) -> Vec<U> {
    if threads <= 1 || items.len() < 2048 {
        return f(items);
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items.chunks(chunk).map(|c| s.spawn(move || f(c))).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// Runs `f` on each item in `threads` contiguous chunks, writing each result
/// into the matching slot of `out` (same length as `items`).
fn par_fill<'a, T: Sync, U: Send>(items: &'a [T], out: &mut [Option<U>], threads: usize, f: impl Fn(&'a T) -> U + Sync) {
    let fill = |items: &'a [T], out: &mut [Option<U>]| {
        for (x, o) in items.iter().zip(out.iter_mut()) {
            *o = Some(f(x));
        }
    };
    if threads <= 1 || items.len() < 2048 {
        return fill(items, out);
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let fill = &fill;
        for (i, o) in items.chunks(chunk).zip(out.chunks_mut(chunk)) {
            s.spawn(move || fill(i, o));
        }
    });
}

/// The bookkeeper's decisions, looked up by the hashes of both keys (no
/// allocation per lookup), the keys themselves compared on a hash match.
struct Decisions {
    by_hash: HashMap<(u64, u64), Vec<Decided>>,
}

/// One decision: the ordered pair of keys and the state.
type Decided = (String, String, LinkState);

impl Decisions {
    fn new(decisions: &[LinkDecision]) -> Self {
        let mut by_hash: HashMap<(u64, u64), Vec<Decided>> = HashMap::new();
        for d in decisions {
            let (l, r) = link::ordered(&d.left, &d.right);
            let slot = by_hash.entry((document::hash_str(l), document::hash_str(r))).or_default();
            slot.retain(|(x, y, _)| !(x == l && y == r));
            slot.push((l.to_string(), r.to_string(), d.state));
        }
        Decisions { by_hash }
    }
    fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
    fn get(&self, a: &str, b: &str) -> Option<LinkState> {
        if self.by_hash.is_empty() {
            return None;
        }
        let (l, r) = link::ordered(a, b);
        self.by_hash.get(&(document::hash_str(l), document::hash_str(r)))?.iter().find(|(x, y, _)| x == l && y == r).map(|(_, _, s)| *s)
    }
    /// Every decision, in key order (so plans are deterministic).
    fn iter(&self) -> impl Iterator<Item = (&str, &str, LinkState)> {
        let mut all: Vec<(&str, &str, LinkState)> = self.by_hash.values().flatten().map(|(l, r, s)| (l.as_str(), r.as_str(), *s)).collect();
        all.sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)));
        all.into_iter()
    }
}

/// Record indices by key, built only when decisions name records.
fn index_of<'a>(keys: &'a [Key], decided: &Decisions) -> HashMap<&'a str, u32> {
    if decided.is_empty() {
        return HashMap::new();
    }
    keys.iter().enumerate().map(|(i, k)| (&**k, i as u32)).collect()
}

/// Computes links, conflicts and discrepancies. Pure and deterministic.
pub fn plan(records: &Records, decisions: &[LinkDecision], policy: &Policy, config: &Config) -> Plan {
    let mut plan = Plan::default();
    let decided = Decisions::new(decisions);
    let names = |c: i64| config.connection_names.get(&c).cloned().unwrap_or_else(|| format!("connection {c}"));

    // Parties.
    let parties = &records.parties;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(config.threads.max(1)).build().ok();
    let mut feats: Vec<party::PartyFeatures> = par_map(parties, config.threads, |chunk| {
        let mut book = normalise::PhoneBook::new();
        chunk.iter().map(|p| party::features(p, &mut book)).collect()
    });
    config.observer.mark("party features");
    let tf_norm = party::count_terms(&mut feats);
    config.observer.mark("party term frequencies");
    let party_keys: Vec<Key> = par_map(parties, config.threads, |chunk| chunk.iter().map(|p| Key::from(p.source.key())).collect());
    // Each entry is one blocking key and one record in a u64: the key's top
    // bits (its rule's class and most of its hash) over the record's index,
    // so the sort is of plain integers. Two keys that agree on those bits and
    // differ below only share a block by chance: a few extra candidates, compared like any other.
    let index_bits = (usize::BITS - parties.len().max(2).leading_zeros()).max(16);
    let index_mask = (1u64 << index_bits) - 1;
    let mut keyed: Vec<u64> = on_pool(&pool, || {
        use rayon::prelude::*;
        feats
            .par_iter()
            .enumerate()
            .map_init(party::Sounds::default, |sounds, (i, f)| {
                let mut buf = Vec::with_capacity(32);
                party::blocking_keys(f, sounds, &mut buf);
                for k in buf.iter_mut() {
                    *k = (*k & !index_mask) | i as u64;
                }
                buf.sort_unstable();
                buf.dedup();
                buf
            })
            .flatten_iter()
            .collect()
    });
    config.observer.mark("party blocking keys");
    on_pool(&pool, || {
        use rayon::prelude::*;
        keyed.par_sort_unstable();
    });
    // The blocks compared, as ranges of `keyed`; counted first so the pair list is allocated once.
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    while start < keyed.len() {
        let block = keyed[start] & !index_mask;
        let mut end = start + 1;
        while end < keyed.len() && keyed[end] & !index_mask == block {
            end += 1;
        }
        if end - start > party::block_limit(block, config.max_block) {
            plan.stats.skipped_blocks += 1;
        } else if end - start > 1 {
            blocks.push((start, end));
        }
        start = end;
    }
    let mut cand: Vec<u64> = Vec::with_capacity(blocks.iter().map(|(a, b)| (b - a) * (b - a - 1) / 2).sum());
    for &(a, b) in &blocks {
        for x in a..b {
            for y in x + 1..b {
                cand.push(pair_key((keyed[x] & index_mask) as u32, (keyed[y] & index_mask) as u32));
            }
        }
    }
    drop((keyed, blocks));
    on_pool(&pool, || {
        use rayon::prelude::*;
        cand.par_sort_unstable();
    });
    cand.dedup();
    plan.stats.party_candidates = cand.len();
    config.observer.mark("party candidates");
    let compared: Vec<(u32, u32, party::Compared)> = on_pool(&pool, || {
        use rayon::prelude::*;
        cand.par_iter()
            .map(|&k| {
                let (a, b) = ((k >> 32) as u32, k as u32);
                (a, b, party::compare(&feats[a as usize], &feats[b as usize]))
            })
            .collect()
    });
    drop(cand);
    config.observer.mark("party comparisons");
    let random = random_pair_levels(&feats, &pool);
    // Training sessions: pairs of records sharing a place train all but the
    // place; pairs sharing a name train all but the name.
    use fs::Comparison as C;
    const BUT_PLACE: &[C] = &[C::Email, C::Phone, C::TaxNumber, C::GivenName, C::FamilyName, C::Company, C::StreetNumber, C::Street];
    const BUT_NAME: &[C] = &[C::Email, C::Phone, C::TaxNumber, C::Company, C::StreetNumber, C::Street, C::City, C::Postcode, C::Region];
    let by_place = session_patterns(&feats, party::place_key, &pool);
    let by_name = session_patterns(&feats, party::name_key, &pool);
    let sessions = [fs::Session { patterns: &by_place, trains: BUT_PLACE }, fs::Session { patterns: &by_name, trains: BUT_NAME }];
    let n = feats.len() as f64;
    let model = fs::Model::train(&sessions, &random, &patterns(&compared), n * (n - 1.0) / 2.0, tf_norm);
    drop((by_place, by_name));
    plan.model = Some(model.clone());
    config.observer.mark("party model");
    let suggest = config.suggest_threshold;
    let mut scored: Vec<(u32, u32, party::Scored)> = on_pool(&pool, || {
        use rayon::prelude::*;
        compared.into_par_iter().filter_map(|(a, b, c)| party::Scored::of(c, &model, suggest).map(|s| (a, b, s))).collect()
    });
    config.observer.mark("party blocking and scoring");
    // Decisions on pairs the scorer did not propose.
    let party_index = index_of(&party_keys, &decided);
    let scored_pairs: HashSet<u64> = if decided.is_empty() { HashSet::new() } else { scored.iter().map(|(a, b, _)| pair_key(*a, *b)).collect() };
    for (l, r, state) in decided.iter() {
        if let (Some(&a), Some(&b)) = (party_index.get(l), party_index.get(r)) {
            if !scored_pairs.contains(&pair_key(a, b)) {
                let s = party::Scored { score: if state == LinkState::Rejected { 0.0 } else { 1.0 }, method: Method::Manual, evidence: vec![link::Evidence::Borrowed("linked by the bookkeeper")], hold: None, contact_contradicted: false };
                scored.push((a.min(b), a.max(b), s));
            }
        }
    }
    let state_of = |ka: &str, kb: &str, score: f64| -> LinkState {
        match decided.get(ka, kb) {
            Some(state) => state,
            None if score >= config.auto_threshold => LinkState::Auto,
            None => LinkState::Suggested,
        }
    };
    let mut party_links: Vec<Link> = Vec::with_capacity(scored.len());
    let mut link_ends: Vec<(u32, u32)> = Vec::with_capacity(scored.len());
    let mut edges: Vec<Edge> = Vec::new();
    let mut edge_link: Vec<usize> = Vec::new();
    let mut cannot: HashSet<u64> = HashSet::new();
    for (a, b, mut s) in scored {
        let (ka, kb) = (&party_keys[a as usize], &party_keys[b as usize]);
        let mut state = state_of(ka, kb, s.score);
        // Two records one system keeps apart, sharing an e-mail or a name but
        // with a different phone and a different street address, are as often
        // two people (a family sharing an address book entry, namesakes) as one:
        // the bookkeeper decides before they count as a duplicate.
        let same_system = feats[a as usize].system == feats[b as usize].system;
        if same_system && state == LinkState::Auto && s.contact_contradicted {
            state = LinkState::Suggested;
            s.evidence.push("held back: a different phone and street address in the same system".into());
        }
        if let Some(why) = s.hold.filter(|_| state == LinkState::Auto) {
            state = LinkState::Suggested;
            s.evidence.push(why.into());
        }
        let (l, r) = if ka <= kb { (ka, kb) } else { (kb, ka) };
        if state == LinkState::Rejected {
            cannot.insert(pair_key(a, b));
        } else if state.is_active() {
            edges.push(Edge { a, b, score: s.score, forced: state.is_decision() });
            edge_link.push(party_links.len());
        }
        link_ends.push((a, b));
        party_links.push(Link {
            entity: EntityKind::Party,
            left: l.clone(),
            right: r.clone(),
            method: s.method,
            score: s.score,
            evidence: {
                let mut e = s.evidence;
                e.shrink_to_fit();
                e
            },
            state,
            same_system: feats[a as usize].system == feats[b as usize].system,
        });
    }
    // Slots: two records in one slot may share a cluster only if linked directly.
    let slots: Vec<i64> = feats
        .iter()
        .enumerate()
        .map(|(i, f)| if f.parent.is_some() && !f.org { -(i as i64) - 1 } else { f.system * 2 + f.org as i64 })
        .collect();
    // Two records of one system may share a customer through a third only when
    // the model, asked about the two of them, finds them alike enough.
    let near = |x: u32, y: u32| {
        party::Scored::of(party::compare(&feats[x as usize], &feats[y as usize]), &model, NEAR).is_some_and(|s| s.hold.is_none() && !s.contact_contradicted)
    };
    let clusters = cluster::cluster(parties.len(), &slots, &edges, &cannot, &near);
    for &e in &clusters.refused {
        let l = &mut party_links[edge_link[e]];
        if l.state == LinkState::Auto {
            l.state = LinkState::Suggested;
            l.evidence.push("held back: would join two records of one system".into());
        }
    }
    config.observer.mark("party links and clusters");
    let party_groups = clusters.groups();
    let mut root_key: HashMap<u32, String> = HashMap::with_capacity(party_groups.len());
    let mut found = par_map(&party_groups, config.threads, |chunk| {
        let mut out = Vec::new();
        for g in chunk {
            let key = format!("party:{}", g.iter().map(|&i| &*party_keys[i as usize]).min().unwrap_or(""));
            out.extend(conflict::party_conflicts(&key, g, parties, &feats, policy));
        }
        out
    });
    plan.conflicts.append(&mut found);
    for g in &party_groups {
        let mut recs: Vec<Key> = g.iter().map(|&i| party_keys[i as usize].clone()).collect();
        recs.sort();
        let key = format!("party:{}", recs[0]);
        root_key.insert(clusters.root[g[0] as usize], key.clone());
        plan.parties.push(Cluster { key, records: recs });
    }
    for (n, l) in party_links.iter().enumerate() {
        if l.same_system && l.state.is_active() && l.method != Method::Association {
            let a = link_ends[n].0;
            let key = root_key.get(&clusters.root[a as usize]).cloned().unwrap_or_else(|| format!("party:{}", l.left));
            plan.discrepancies.push(Discrepancy {
                kind: DiscrepancyKind::DuplicateParty,
                severity: DiscrepancyKind::DuplicateParty.severity(),
                entity_key: key,
                records: vec![l.left.to_string(), l.right.to_string()],
                summary: format!("the same customer appears twice in {} ({})", names(feats[a as usize].system), l.evidence_text()),
                amount: None,
                date: None,
                currency: None,
            });
        }
    }
    for (i, f) in feats.iter().enumerate() {
        if f.abn == party::Abn::Invalid {
            let raw = parties[i].tax_number.as_deref().unwrap_or("").trim();
            plan.discrepancies.push(Discrepancy {
                kind: DiscrepancyKind::InvalidTaxNumber,
                severity: DiscrepancyKind::InvalidTaxNumber.severity(),
                entity_key: format!("party:{}", party_keys[i]),
                records: vec![party_keys[i].to_string()],
                summary: format!("ABN {raw:?} in {} fails the ABN checksum or has the wrong length", names(f.system)),
                amount: None,
                date: None,
                currency: None,
            });
        }
    }

    config.observer.mark("conflicts and duplicates");
    // Free the party phase's working state before the document phase builds its own.
    drop((party_index, scored_pairs));
    drop((feats, party_keys, link_ends, edges, edge_link, cannot, slots, party_groups, root_key));
    party_links.shrink_to_fit();
    // Documents and payments.
    let mut customer_of: HashMap<(i64, &str), u32> = HashMap::with_capacity(parties.len());
    for (i, p) in parties.iter().enumerate() {
        customer_of.insert((p.source.connection_id, p.source.external_id.as_str()), clusters.root[i]);
    }
    let cust = |conn: i64, r: &Option<String>| r.as_deref().and_then(|r| customer_of.get(&(conn, r)).copied());
    // Cross-reference keys cost an allocation per record: build them only when some document carries one.
    let with_keys = records.documents.iter().any(|d| !d.cross_refs.is_empty());
    // Filled in place (no per-thread vectors to copy): documents, then payments.
    let mut slots: Vec<Option<document::DocFeatures>> = (0..records.documents.len() + records.payments.len()).map(|_| None).collect();
    let (doc_slots, pay_slots) = slots.split_at_mut(records.documents.len());
    par_fill(&records.documents, doc_slots, config.threads, |d| document::doc_features(d, cust(d.source.connection_id, &d.customer_ref), with_keys));
    par_fill(&records.payments, pay_slots, config.threads, |p| document::payment_features(p, cust(p.source.connection_id, &p.customer_ref), with_keys));
    let nodes: Vec<document::DocFeatures> = slots.into_iter().map(|n| n.expect("par_fill fills every slot")).collect();
    let mut node_keys: Vec<Key> = par_map(&records.documents, config.threads, |chunk| chunk.iter().map(|d| Key::from(d.source.key())).collect());
    node_keys.extend(par_map(&records.payments, config.threads, |chunk| chunk.iter().map(|p| Key::from(p.source.key())).collect::<Vec<Key>>()));
    drop(customer_of);
    config.observer.mark("document features");
    let pairs = document::link(&nodes, config.auto_threshold, suggest);
    config.observer.mark("document candidates and scoring");
    plan.stats.document_candidates = pairs.len();
    let node_index = index_of(&node_keys, &decided);
    let mut doc_links: Vec<Link> = Vec::with_capacity(pairs.len());
    let mut edges: Vec<Edge> = Vec::new();
    let mut edge_link: Vec<usize> = Vec::new();
    let mut cannot: HashSet<u64> = HashSet::new();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut add = |a: u32, b: u32, score: f64, method: Method, mut evidence: Vec<link::Evidence>, doc_links: &mut Vec<Link>| {
        evidence.shrink_to_fit();
        let (ka, kb) = (&node_keys[a as usize], &node_keys[b as usize]);
        let state = state_of(ka, kb, score);
        let (l, r) = if ka <= kb { (ka, kb) } else { (kb, ka) };
        if state == LinkState::Rejected {
            cannot.insert(pair_key(a, b));
        } else if state.is_active() {
            edges.push(Edge { a, b, score, forced: state.is_decision() });
            edge_link.push(doc_links.len());
        }
        doc_links.push(Link {
            entity: EntityKind::Document,
            left: l.clone(),
            right: r.clone(),
            method,
            score,
            evidence,
            state,
            same_system: nodes[a as usize].system == nodes[b as usize].system,
        });
    };
    for p in pairs {
        if seen.insert(pair_key(p.a, p.b)) {
            add(p.a, p.b, p.score, p.method, p.evidence, &mut doc_links);
        }
    }
    for (l, r, state) in decided.iter() {
        if let (Some(&a), Some(&b)) = (node_index.get(l), node_index.get(r)) {
            if seen.insert(pair_key(a, b)) {
                let score = if state == LinkState::Rejected { 0.0 } else { 1.0 };
                add(a, b, score, Method::Manual, vec!["linked by the bookkeeper".into()], &mut doc_links);
            }
        }
    }
    drop((seen, node_index));
    doc_links.shrink_to_fit();
    let slots: Vec<i64> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| match n.node {
            document::NodeKind::Order => n.system * 8,
            document::NodeKind::Invoice => n.system * 8 + 1,
            _ => -(i as i64) - 1,
        })
        .collect();
    let dclusters = cluster::cluster(nodes.len(), &slots, &edges, &cannot, &|_, _| false);
    for &e in &dclusters.refused {
        let l = &mut doc_links[edge_link[e]];
        if l.state == LinkState::Auto {
            l.state = LinkState::Suggested;
            l.evidence.push("held back: would join two documents of one system".into());
        }
    }
    drop((slots, edges, edge_link, cannot));
    let books: BTreeSet<i64> = nodes.iter().filter(|n| n.node == document::NodeKind::Invoice).map(|n| n.system).collect();
    let flat = dclusters.flat_groups();
    drop(dclusters);
    config.observer.mark("document links and clusters");
    let tol = reconcile::Tolerance { rounding: config.rounding_tolerance };
    let mut found: Vec<Discrepancy> = par_map(&flat.ranges, config.threads, |chunk| {
        let mut out = Vec::new();
        for &range in chunk {
            let g = flat.get(range);
            let key = format!("sale:{}", g.iter().map(|&i| &*node_keys[i as usize]).min().unwrap_or(""));
            let sale = reconcile::Sale {
                entity_key: key,
                members: g,
                nodes: &nodes,
                documents: &records.documents,
                payments: &records.payments,
                books: &books,
                names: &names,
            };
            reconcile::sale_discrepancies(&sale, tol, &mut out);
        }
        out
    });
    plan.discrepancies.append(&mut found);
    drop(found);
    plan.sales.reserve_exact(flat.ranges.iter().filter(|&&r| flat.get(r).len() > 1).count());
    for g in flat.ranges.iter().map(|&r| flat.get(r)).filter(|g| g.len() > 1) {
        let mut recs: Vec<Key> = g.iter().map(|&i| node_keys[i as usize].clone()).collect();
        recs.sort();
        plan.sales.push(Cluster { key: format!("sale:{}", recs[0]), records: recs });
    }
    // The document phase's working state goes before the two link lists are joined.
    drop((nodes, node_keys, flat));
    plan.links = party_links;
    plan.links.append(&mut doc_links);
    drop(doc_links);
    config.observer.mark("reconciliation");
    plan
}

#[cfg(test)]
mod tests;
