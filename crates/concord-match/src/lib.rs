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
//! assert_eq!(plan.links[0].evidence_text(), "same email; same name");
//! ```

pub mod cluster;
pub mod conflict;
pub mod document;
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
    let feats: Vec<party::PartyFeatures> = par_map(parties, config.threads, |chunk| {
        let mut book = normalise::PhoneBook::new();
        chunk.iter().map(|p| party::features(p, &mut book)).collect()
    });
    config.observer.mark("party features");
    let party_keys: Vec<Key> = par_map(parties, config.threads, |chunk| chunk.iter().map(|p| Key::from(p.source.key())).collect());
    let mut keyed: Vec<(u64, u32)> = Vec::with_capacity(parties.len() * 8);
    let mut buf = Vec::new();
    for (i, f) in feats.iter().enumerate() {
        buf.clear();
        party::blocking_keys(f, &mut buf);
        buf.sort_unstable();
        buf.dedup();
        keyed.extend(buf.iter().map(|k| (*k, i as u32)));
    }
    keyed.sort_unstable();
    let mut cand: Vec<u64> = Vec::new();
    let mut start = 0;
    while start < keyed.len() {
        let mut end = start + 1;
        while end < keyed.len() && keyed[end].0 == keyed[start].0 {
            end += 1;
        }
        let n = end - start;
        if n > config.max_block {
            plan.stats.skipped_blocks += 1;
        } else {
            for x in start..end {
                for y in x + 1..end {
                    cand.push(pair_key(keyed[x].1, keyed[y].1));
                }
            }
        }
        start = end;
    }
    drop(keyed);
    cand.sort_unstable();
    cand.dedup();
    plan.stats.party_candidates = cand.len();
    let suggest = config.suggest_threshold;
    let mut scored: Vec<(u32, u32, party::Scored)> = par_map(&cand, config.threads, |chunk| {
        chunk
            .iter()
            .filter_map(|&k| {
                let (a, b) = ((k >> 32) as u32, k as u32);
                let s = party::compare(&feats[a as usize], &feats[b as usize]);
                (s.score >= suggest).then_some((a, b, s))
            })
            .collect()
    });
    drop(cand);
    config.observer.mark("party blocking and scoring");
    // Decisions on pairs the scorer did not propose.
    let party_index = index_of(&party_keys, &decided);
    let scored_pairs: HashSet<u64> = if decided.is_empty() { HashSet::new() } else { scored.iter().map(|(a, b, _)| pair_key(*a, *b)).collect() };
    for (l, r, state) in decided.iter() {
        if let (Some(&a), Some(&b)) = (party_index.get(l), party_index.get(r)) {
            if !scored_pairs.contains(&pair_key(a, b)) {
                let s = party::Scored { score: if state == LinkState::Rejected { 0.0 } else { 1.0 }, method: Method::Manual, evidence: vec![link::Evidence::Borrowed("linked by the bookkeeper")], contact_contradicted: false };
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
    let clusters = cluster::cluster(parties.len(), &slots, &edges, &cannot);
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
    let dclusters = cluster::cluster(nodes.len(), &slots, &edges, &cannot);
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
