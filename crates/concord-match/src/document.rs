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
    /// `provider:external id`, only when some record carries cross references.
    pub own_key: String,
    pub external_id: &'a str,
    pub refs: Vec<String>,
    /// Party cluster of the customer, when known.
    pub customer: Option<u32>,
    pub day: Option<i32>,
    pub total: Decimal,
    pub currency: Option<&'a str>,
    /// The document number's digits without leading zeros.
    pub number: String,
    /// Numbers named in the reference, same form.
    pub ref_numbers: Vec<String>,
    /// A hash of the sorted (item, quantity) lines; 0 without lines.
    pub lines: u64,
    /// Same-system documents this node points at (allocations, credited
    /// document): external id and, when known, collection.
    pub targets: Vec<(String, Option<String>)>,
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
        own_key: if with_keys { record_ref_key(d.source.provider, d.source.connection_id, &d.source.external_id) } else { String::new() },
        external_id: &d.source.external_id,
        refs: d.cross_refs.iter().map(|r| record_ref_key(Some(r.provider), 0, &r.external_id)).collect(),
        customer,
        day: day_of(d.issue_date.as_deref()),
        total: d.total,
        currency: d.currency.as_deref().map(str::trim),
        number: d.number.as_deref().map(number_form).unwrap_or_default(),
        ref_numbers: d.reference.as_deref().map(numbers_in).unwrap_or_default(),
        lines: lines_hash(d),
        targets: d.credits_ref.iter().map(|r| (r.clone(), None)).collect(),
        object: &d.source.object,
    }
}

/// Features of a payment or refund.
pub(crate) fn payment_features(p: &Payment, customer: Option<u32>, with_keys: bool) -> DocFeatures<'_> {
    DocFeatures {
        system: p.source.connection_id,
        node: if p.direction == PaymentDirection::Refunded { NodeKind::Refund } else { NodeKind::Payment },
        own_key: if with_keys { record_ref_key(p.source.provider, p.source.connection_id, &p.source.external_id) } else { String::new() },
        external_id: &p.source.external_id,
        refs: Vec::new(),
        customer,
        day: day_of(p.date.as_deref()),
        total: p.amount,
        currency: p.currency.as_deref().map(str::trim),
        number: String::new(),
        ref_numbers: p.reference.as_deref().map(numbers_in).unwrap_or_default(),
        lines: 0,
        targets: p.allocations.iter().map(|a| (a.document_ref.clone(), a.document_object.clone())).collect(),
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
    if !a.own_key.is_empty() && (a.refs.contains(&b.own_key) || b.refs.contains(&a.own_key)) {
        say("stored cross-reference".into());
        return (1.0, Method::CrossReference);
    }
    let mut w = 0.0;
    let mut method = Method::Probabilistic;
    let names = |x: &DocFeatures, y: &DocFeatures| y.node == NodeKind::Order && !y.number.is_empty() && x.ref_numbers.contains(&y.number);
    if names(a, b) || names(b, a) {
        w += 15.0;
        method = Method::Reference;
        say("reference names the order number".into());
    } else if a.node == b.node && !a.number.is_empty() && a.number == b.number && a.node != NodeKind::Order {
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
        say(if d == 0 { "same date".into() } else { format!("dates {d} days apart").into() });
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
    // Structural, inside one system.
    // Ids may repeat across a system's collections (QuickBooks numbers each from 1).
    let mut by_ext: HashMap<(i64, &str), Vec<u32>> = HashMap::with_capacity(nodes.len());
    let mut invoice_by_number: HashMap<(i64, &str), u32> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        if matches!(n.node, NodeKind::Order | NodeKind::Invoice | NodeKind::CreditNote) {
            by_ext.entry((n.system, n.external_id)).or_default().push(i as u32);
        }
        if n.node == NodeKind::Invoice && !n.number.is_empty() {
            invoice_by_number.insert((n.system, n.number.as_str()), i as u32);
        }
    }
    for (i, n) in nodes.iter().enumerate() {
        let mut found = false;
        for (t, object) in &n.targets {
            let Some(hits) = by_ext.get(&(n.system, t.as_str())) else { continue };
            // Prefer the named collection, else the kind this node pays or credits.
            let want = |j: &u32| match object {
                Some(o) => nodes[*j as usize].object == o.as_str(),
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
                if let Some(&j) = invoice_by_number.get(&(n.system, r.as_str())) {
                    let same_customer = n.customer.is_none() || nodes[j as usize].customer.is_none() || n.customer == nodes[j as usize].customer;
                    if same_customer {
                        out.push(DocPair { a: i as u32, b: j, score: 0.97, method: Method::Credit, evidence: vec!["reference names this invoice's number".into()], duplicate: false });
                        break;
                    }
                }
            }
        }
    }
    // Candidates across systems.
    let mut cand: Vec<u64> = Vec::new();
    let push = |cand: &mut Vec<u64>, x: u32, y: u32| {
        if x != y && nodes[x as usize].system != nodes[y as usize].system && compatible(nodes[x as usize].node, nodes[y as usize].node) {
            cand.push(crate::cluster::pair_key(x, y));
        }
    };
    let mut orders_by_number: HashMap<&str, Vec<u32>> = HashMap::new();
    let mut own: HashMap<&str, u32> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        if n.node == NodeKind::Order && !n.number.is_empty() {
            orders_by_number.entry(n.number.as_str()).or_default().push(i as u32);
        }
        if matches!(n.node, NodeKind::Order | NodeKind::Invoice | NodeKind::CreditNote) && !n.own_key.is_empty() {
            own.insert(n.own_key.as_str(), i as u32);
        }
    }
    for (i, n) in nodes.iter().enumerate() {
        for r in &n.refs {
            if let Some(&j) = own.get(r.as_str()) {
                push(&mut cand, i as u32, j);
            }
        }
        if n.node == NodeKind::Invoice {
            for r in &n.ref_numbers {
                if let Some(os) = orders_by_number.get(r.as_str()) {
                    if os.len() <= 8 {
                        for &j in os {
                            push(&mut cand, i as u32, j);
                        }
                    }
                }
            }
        }
    }
    // Same customer within 30 days; without a customer, the same total within 10 days.
    let mut groups: HashMap<(u8, u64), Vec<u32>> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        if !matches!(n.node, NodeKind::Order | NodeKind::Invoice | NodeKind::CreditNote) {
            continue;
        }
        match n.customer {
            Some(c) => groups.entry((0, c as u64)).or_default().push(i as u32),
            None => {
                let cents = (n.total * Decimal::ONE_HUNDRED).trunc();
                let key: i64 = cents.try_into().unwrap_or(0);
                groups.entry((1, key as u64)).or_default().push(i as u32);
            }
        }
    }
    for ((tag, _), mut g) in groups {
        let window = if tag == 0 { 30 } else { 10 };
        g.sort_unstable_by_key(|&i| nodes[i as usize].day.unwrap_or(i32::MIN));
        for x in 0..g.len() {
            let dx = nodes[g[x] as usize].day.unwrap_or(i32::MIN);
            for &gy in &g[x + 1..] {
                let dy = nodes[gy as usize].day.unwrap_or(i32::MIN);
                if dy.saturating_sub(dx) > window {
                    break;
                }
                push(&mut cand, g[x], gy);
            }
        }
    }
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
