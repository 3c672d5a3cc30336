//! Linking sales documents: order to invoice to payment, across systems.
//!
//! Inside one system the links are structural and certain: a payment names the
//! invoice it was allocated to, a credit note the invoice it credits (or its
//! reference names that invoice's number), a refund the order it refunds.
//! Across systems a document is linked by a stored cross reference, by a
//! reference naming the other's number (`Shopify #1001` on a Xero invoice), or
//! by a score over what both documents carry: the same customer (after party
//! linking), dates, totals and the same line items. Candidates come only from
//! the same customer within a date window (or, without a known customer, the
//! same total), so the work stays near linear. Assignment is one-to-one per
//! pair of systems, strongest first; a second invoice for an already-invoiced
//! order that carries the same reference or the same lines is kept as a
//! duplicate so reconciliation can report it.

use crate::link::{logistic, Evidence, Method};
use crate::party::record_ref_key;
use concord_core::model::{DocumentKind, Payment, PaymentDirection, SalesDocument};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// What role a node plays in a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum NodeKind {
    Order,
    Invoice,
    CreditNote,
    Payment,
    Refund,
}

/// A document or payment in comparable form.
#[derive(Debug, Clone)]
pub(crate) struct DocFeatures<'a> {
    pub system: i64,
    pub node: NodeKind,
    /// A hash of `provider:external id`, only when some record carries cross references (else 0).
    pub own_key: u64,
    pub external_id: &'a str,
    /// Hashes of the keys this record names as its counterparts.
    pub refs: Box<[u64]>,
    /// Party cluster of the customer, when known.
    pub customer: Option<u32>,
    pub day: Option<i32>,
    pub total: Decimal,
    pub currency: Option<&'a str>,
    /// The document number's digits without leading zeros, as a [`number_key`] (0: none).
    pub number: u64,
    /// Numbers named in the reference, same form.
    pub ref_numbers: Box<[u64]>,
    /// A hash of the sorted (item, quantity) lines; 0 without lines.
    pub lines: u64,
    /// Same-system documents this node points at (allocations, credited
    /// document): external id and, when known, collection.
    pub targets: Box<[(&'a str, Option<&'a str>)]>,
    /// The record's collection (`invoices`, `orders`, ...).
    pub object: &'a str,
}

/// Digits of a document number without leading zeros: `INV-00042` and `42` agree.
pub(crate) fn number_form(raw: &str) -> String {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let t = digits.trim_start_matches('0');
    if t.is_empty() && !digits.is_empty() {
        "0".into()
    } else {
        t.to_string()
    }
}

fn numbers_in(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit()).filter(|t| t.len() >= 2).map(number_form).filter(|t| !t.is_empty()).collect()
}

/// A number form (digits, no leading zeros) as one integer key: the value
/// plus one when it fits, else a hash with the top bit set; 0 means no number.
pub(crate) fn number_key(form: &str) -> u64 {
    if form.is_empty() {
        return 0;
    }
    match form.parse::<u64>() {
        Ok(n) if n < u64::MAX >> 1 => n + 1,
        _ => hash_str(form) | 1 << 63,
    }
}

/// A 64-bit hash of a string (the standard SipHash, fixed keys, so runs agree).
pub(crate) fn hash_str(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn number_keys_in(text: &str) -> Vec<u64> {
    numbers_in(text).iter().map(|n| number_key(n)).collect()
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (or an RFC 3339 instant).
pub(crate) fn day_of(date: Option<&str>) -> Option<i32> {
    let d = date?.get(..10)?;
    let nd = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
    Some((nd - chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days() as i32)
}

fn lines_hash(doc: &SalesDocument) -> u64 {
    if doc.lines.is_empty() {
        return 0;
    }
    // Each line hashes its item (code, else description; case and spacing
    // ignored) and quantity (Decimal hashes equal values equally); the sorted
    // line hashes make the document's, so line order does not matter.
    let mut each: Vec<u64> = doc
        .lines
        .iter()
        .map(|l| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            let item = l.item_code.as_deref().filter(|c| !c.trim().is_empty()).or(l.description.as_deref()).unwrap_or("");
            for c in item.chars().filter(|c| c.is_alphanumeric()) {
                c.to_ascii_lowercase().hash(&mut h);
            }
            l.quantity.normalize().hash(&mut h);
            h.finish()
        })
        .collect();
    each.sort_unstable();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    each.hash(&mut h);
    h.finish() | 1
}

/// Features of a sales document; `customer` is its party cluster if known.
pub(crate) fn doc_features(d: &SalesDocument, customer: Option<u32>, with_keys: bool) -> DocFeatures<'_> {
    let node = match d.kind {
        DocumentKind::Order => NodeKind::Order,
        DocumentKind::Invoice => NodeKind::Invoice,
        DocumentKind::CreditNote => NodeKind::CreditNote,
    };
    DocFeatures {
        system: d.source.connection_id,
        node,
        own_key: if with_keys { hash_str(&record_ref_key(d.source.provider, d.source.connection_id, &d.source.external_id)) } else { 0 },
        external_id: &d.source.external_id,
        refs: d.cross_refs.iter().map(|r| hash_str(&record_ref_key(Some(r.provider), 0, &r.external_id))).collect(),
        customer,
        day: day_of(d.issue_date.as_deref()),
        total: d.total,
        currency: d.currency.as_deref().map(str::trim),
        number: d.number.as_deref().map(|n| number_key(&number_form(n))).unwrap_or_default(),
        ref_numbers: d.reference.as_deref().map(|r| number_keys_in(r).into_boxed_slice()).unwrap_or_default(),
        lines: lines_hash(d),
        targets: d.credits_ref.iter().map(|r| (r.as_str(), None)).collect(),
        object: &d.source.object,
    }
}

/// Features of a payment or refund.
pub(crate) fn payment_features(p: &Payment, customer: Option<u32>, with_keys: bool) -> DocFeatures<'_> {
    DocFeatures {
        system: p.source.connection_id,
        node: if p.direction == PaymentDirection::Refunded { NodeKind::Refund } else { NodeKind::Payment },
        own_key: if with_keys { hash_str(&record_ref_key(p.source.provider, p.source.connection_id, &p.source.external_id)) } else { 0 },
        external_id: &p.source.external_id,
        refs: Box::default(),
        customer,
        day: day_of(p.date.as_deref()),
        total: p.amount,
        currency: p.currency.as_deref().map(str::trim),
        number: 0,
        ref_numbers: p.reference.as_deref().map(|r| number_keys_in(r).into_boxed_slice()).unwrap_or_default(),
        lines: 0,
        targets: p.allocations.iter().map(|a| (a.document_ref.as_str(), a.document_object.as_deref())).collect(),
        object: &p.source.object,
    }
}

/// A proposed document link before states are assigned.
#[derive(Debug, Clone)]
pub(crate) struct DocPair {
    pub a: u32,
    pub b: u32,
    pub score: f64,
    pub method: Method,
    pub evidence: Vec<Evidence>,
    /// Kept although the other side already has a counterpart in this system.
    pub duplicate: bool,
}

fn compatible(x: NodeKind, y: NodeKind) -> bool {
    use NodeKind::*;
    matches!((x, y), (Order, Invoice) | (Invoice, Order) | (Invoice, Invoice) | (Order, Order) | (CreditNote, CreditNote))
}

/// Scores two documents from different systems, with the evidence when asked.
pub(crate) fn compare(a: &DocFeatures, b: &DocFeatures, mut ev: Option<&mut Vec<Evidence>>) -> (f64, Method) {
    let mut say = |e: Evidence| {
        if let Some(v) = ev.as_deref_mut() {
            v.push(e);
        }
    };
    if a.own_key != 0 && (a.refs.contains(&b.own_key) || b.refs.contains(&a.own_key)) {
        say("stored cross-reference".into());
        return (1.0, Method::CrossReference);
    }
    let mut w = 0.0;
    let mut method = Method::Probabilistic;
    let names = |x: &DocFeatures, y: &DocFeatures| y.node == NodeKind::Order && y.number != 0 && x.ref_numbers.contains(&y.number);
    if names(a, b) || names(b, a) {
        w += 15.0;
        method = Method::Reference;
        say("reference names the order number".into());
    } else if a.node == b.node && a.number != 0 && a.number == b.number && a.node != NodeKind::Order {
        w += 8.0;
        say("same document number".into());
    }
    match (a.customer, b.customer) {
        (Some(x), Some(y)) if x == y => {
            w += 4.0;
            say("same customer".into());
        }
        (Some(_), Some(_)) => {
            w -= 6.0;
            say("different customers".into());
        }
        _ => {}
    }
    if let (Some(x), Some(y)) = (a.day, b.day) {
        let d = (x - y).abs();
        w += match d {
            0..=1 => 4.0,
            2..=3 => 2.0,
            4..=10 => 0.0,
            11..=30 => -4.0,
            _ => -10.0,
        };
        say(if d == 0 { "same date".into() } else { crate::link::phrase(crate::link::Phrase::DaysApart, d as f64) });
    }
    let diff = (a.total - b.total).abs();
    if diff.is_zero() {
        w += 8.0;
        say("same total".into());
    } else {
        w += if diff <= Decimal::new(5, 2) { 3.0 } else { -3.0 };
        say(format!("totals differ by {diff}").into());
    }
    if a.lines != 0 && b.lines != 0 {
        if a.lines == b.lines {
            w += 8.0;
            say("same line items".into());
        } else {
            w -= 4.0;
            say("different line items".into());
        }
    }
    if matches!((a.currency, b.currency), (Some(x), Some(y)) if !x.eq_ignore_ascii_case(y)) {
        say("different currency".into());
    }
    (logistic(w, 8.0), method)
}

/// Links nodes: structural links inside systems, then scored links across.
/// Returns every pair scored at or above `suggest`.
pub(crate) fn link(nodes: &[DocFeatures<'_>], auto: f64, suggest: f64) -> Vec<DocPair> {
    let mut out: Vec<DocPair> = Vec::new();
    let is_doc = |n: &DocFeatures| matches!(n.node, NodeKind::Order | NodeKind::Invoice | NodeKind::CreditNote);
    // Structural, inside one system. Indices are flat sorted (key, node)
    // lists rather than maps of vectors: one allocation however many records.
    // Ids may repeat across a system's collections (QuickBooks numbers each from 1).
    let ext_key = |system: i64, id: &str| hash_str(id) ^ (system as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut by_ext: Vec<(u64, u32)> = nodes.iter().enumerate().filter(|(_, n)| is_doc(n)).map(|(i, n)| (ext_key(n.system, n.external_id), i as u32)).collect();
    by_ext.sort_unstable();
    let hits_of = |key: u64| -> &[(u64, u32)] {
        let from = by_ext.partition_point(|e| e.0 < key);
        let to = from + by_ext[from..].partition_point(|e| e.0 == key);
        &by_ext[from..to]
    };
    let mut invoice_by_number: HashMap<(i64, u64), u32> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        if n.node == NodeKind::Invoice && n.number != 0 {
            invoice_by_number.insert((n.system, n.number), i as u32);
        }
    }
    for (i, n) in nodes.iter().enumerate() {
        let mut found = false;
        for (t, object) in &n.targets {
            let hits: Vec<u32> =
                hits_of(ext_key(n.system, t)).iter().map(|e| e.1).filter(|&j| nodes[j as usize].system == n.system && nodes[j as usize].external_id == *t).collect();
            if hits.is_empty() {
                continue;
            }
            // Prefer the named collection, else the kind this node pays or credits.
            let want = |j: &u32| match object {
                Some(o) => nodes[*j as usize].object == *o,
                None => match n.node {
                    NodeKind::Refund => nodes[*j as usize].node == NodeKind::Order,
                    _ => matches!(nodes[*j as usize].node, NodeKind::Invoice | NodeKind::Order),
                },
            };
            let pick = hits.iter().copied().find(|j| *j as usize != i && want(j)).or_else(|| (hits.len() == 1 && hits[0] as usize != i).then(|| hits[0]));
            if let Some(j) = pick {
                let method = if n.node == NodeKind::Payment { Method::Allocation } else { Method::Credit };
                let why = match n.node {
                    NodeKind::Payment => "payment allocated to this document",
                    NodeKind::Refund => "refund of this order",
                    _ => "credit note against this document",
                };
                out.push(DocPair { a: i as u32, b: j, score: 1.0, method, evidence: vec![why.into()], duplicate: false });
                found = true;
            }
        }
        // A credit note whose reference names an invoice of the same customer.
        if !found && n.node == NodeKind::CreditNote {
            for r in &n.ref_numbers {
                if let Some(&j) = invoice_by_number.get(&(n.system, *r)) {
                    let same_customer = n.customer.is_none() || nodes[j as usize].customer.is_none() || n.customer == nodes[j as usize].customer;
                    if same_customer {
                        out.push(DocPair { a: i as u32, b: j, score: 0.97, method: Method::Credit, evidence: vec!["reference names this invoice's number".into()], duplicate: false });
                        break;
                    }
                }
            }
        }
    }
    drop(by_ext);
    drop(invoice_by_number);
    // Candidates across systems.
    let mut cand: Vec<u64> = Vec::new();
    let push = |cand: &mut Vec<u64>, x: u32, y: u32| {
        if x != y && nodes[x as usize].system != nodes[y as usize].system && compatible(nodes[x as usize].node, nodes[y as usize].node) {
            cand.push(crate::cluster::pair_key(x, y));
        }
    };
    let mut orders_by_number: Vec<(u64, u32)> =
        nodes.iter().enumerate().filter(|(_, n)| n.node == NodeKind::Order && n.number != 0).map(|(i, n)| (n.number, i as u32)).collect();
    orders_by_number.sort_unstable();
    let own: HashMap<u64, u32> = nodes.iter().enumerate().filter(|(_, n)| is_doc(n) && n.own_key != 0).map(|(i, n)| (n.own_key, i as u32)).collect();
    for (i, n) in nodes.iter().enumerate() {
        for r in &n.refs {
            if let Some(&j) = own.get(r) {
                push(&mut cand, i as u32, j);
            }
        }
        if n.node == NodeKind::Invoice {
            for r in &n.ref_numbers {
                let from = orders_by_number.partition_point(|e| e.0 < *r);
                let os = &orders_by_number[from..from + orders_by_number[from..].partition_point(|e| e.0 == *r)];
                if os.len() <= 8 {
                    for &(_, j) in os {
                        push(&mut cand, i as u32, j);
                    }
                }
            }
        }
    }
    drop(orders_by_number);
    drop(own);
    // Same customer within 30 days; without a customer, the same total within 10 days.
    // One flat list sorted by (group, day): each group is a run, scanned with a window.
    let mut grouped: Vec<(u64, i32, u32)> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| is_doc(n))
        .map(|(i, n)| {
            let group = match n.customer {
                Some(c) => c as u64,
                None => {
                    let cents: i64 = (n.total * Decimal::ONE_HUNDRED).trunc().try_into().unwrap_or(0);
                    (1 << 63) | (cents as u64 & ((1 << 63) - 1))
                }
            };
            (group, n.day.unwrap_or(i32::MIN), i as u32)
        })
        .collect();
    grouped.sort_unstable();
    let mut start = 0;
    while start < grouped.len() {
        let group = grouped[start].0;
        let mut end = start + 1;
        while end < grouped.len() && grouped[end].0 == group {
            end += 1;
        }
        let window = if group >> 63 == 0 { 30 } else { 10 };
        let g = &grouped[start..end];
        for x in 0..g.len() {
            let dx = g[x].1;
            for y in &g[x + 1..] {
                if y.1.saturating_sub(dx) > window {
                    break;
                }
                push(&mut cand, g[x].2, y.2);
            }
        }
        start = end;
    }
    drop(grouped);
    cand.sort_unstable();
    cand.dedup();
    let mut scored: Vec<DocPair> = cand
        .into_iter()
        .filter_map(|k| {
            let (a, b) = ((k >> 32) as u32, k as u32);
            let (x, y) = (&nodes[a as usize], &nodes[b as usize]);
            let (score, method) = compare(x, y, None);
            (score >= suggest).then(|| {
                let mut evidence = Vec::new();
                compare(x, y, Some(&mut evidence));
                DocPair { a, b, score, method, evidence, duplicate: false }
            })
        })
        .collect();
    scored.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b)));
    // One counterpart per system, strongest first.
    let mut partner: HashMap<(u32, i64), u32> = HashMap::new();
    for mut p in scored {
        let (sa, sb) = (nodes[p.a as usize].system, nodes[p.b as usize].system);
        let a_taken = partner.get(&(p.a, sb)).copied();
        let b_taken = partner.get(&(p.b, sa)).copied();
        match (a_taken, b_taken) {
            (None, None) => {
                partner.insert((p.a, sb), p.b);
                partner.insert((p.b, sa), p.a);
                out.push(p);
            }
            (Some(_), None) | (None, Some(_)) if p.score >= auto && strong_duplicate(&p) => {
                // The free side is a second document for an already-matched one.
                let free = if a_taken.is_none() { p.a } else { p.b };
                let other_sys = if free == p.a { sb } else { sa };
                partner.insert((free, other_sys), if free == p.a { p.b } else { p.a });
                p.duplicate = true;
                p.evidence.push("a second document for the same sale".into());
                // Tie the twin to the first document so the sale keeps both.
                if let Some(first) = a_taken.or(b_taken) {
                    out.push(DocPair {
                        a: free.min(first),
                        b: free.max(first),
                        score: p.score,
                        method: p.method,
                        evidence: vec!["both documents are for the same sale".into()],
                        duplicate: true,
                    });
                }
                out.push(p);
            }
            _ => {
                // Weaker than the accepted counterpart: at most a suggestion.
                p.score = p.score.min(auto - 0.01);
                out.push(p);
            }
        }
    }
    out
}

fn strong_duplicate(p: &DocPair) -> bool {
    p.method == Method::Reference || p.method == Method::CrossReference || (p.evidence.iter().any(|e| e == "same line items") && p.evidence.iter().any(|e| e == "same total"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_forms() {
        for (raw, want) in [("INV-00042", "42"), ("#1001", "1001"), ("1001", "1001"), ("", "")] {
            assert_eq!(number_form(raw), want, "prefixes and leading zeros are cosmetic: {raw}");
        }
        assert_eq!(numbers_in("Shopify #1001"), vec!["1001".to_string()], "a reference's numbers are found");
        assert_eq!(day_of(Some("1970-01-11")), Some(10), "dates count days from the epoch");
    }
}
