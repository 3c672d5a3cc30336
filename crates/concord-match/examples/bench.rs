//! The matching benchmark: 100,000 parties in each of three systems and
//! 300,000 documents, linked and reconciled, with wall time and peak memory.
//!
//! Run it in release: `cargo run --release -p concord-match --example bench`
//! (`-- CUSTOMERS PARTIES_PER_SYSTEM DOCUMENTS` to change the sizes). The data
//! is the sandbox's seeded business at benchmark size, mapped to canonical
//! records as in the precision test; HubSpot contacts, Shopify customers and
//! Xero contacts are the three systems, and documents are the shop's orders
//! and Xero's invoices and credit notes of the earliest sales, with their
//! payments and refunds. Peak memory is the process's resident high-water mark
//! (reset after the input is built, so it covers the input records plus
//! everything matching allocates).

#[path = "../tests/support/sandbox_world.rs"]
mod sandbox_world;

use concord_match::{plan, Config, Policy, Records};
use concord_sandbox::business::{BusinessConfig, World};
use std::collections::HashSet;
use std::time::Instant;

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let customers = args.first().copied().unwrap_or(150_000);
    let per_system = args.get(1).copied().unwrap_or(100_000);
    let documents = args.get(2).copied().unwrap_or(300_000);

    let t = Instant::now();
    let world = World::generate(&BusinessConfig { seed: 7, customers });
    let all = sandbox_world::records(&world);
    drop(world);
    // Three systems of `per_system` parties each.
    let mut records = Records::default();
    for conn in [sandbox_world::HUBSPOT, sandbox_world::SHOPIFY, sandbox_world::XERO] {
        let objects: &[&str] = if conn == sandbox_world::HUBSPOT { &["contacts"] } else { &["customers", "contacts"] };
        records.parties.extend(all.parties.iter().filter(|p| p.source.connection_id == conn && objects.contains(&p.source.object.as_str())).take(per_system).cloned());
    }
    let counts: Vec<usize> = [sandbox_world::HUBSPOT, sandbox_world::SHOPIFY, sandbox_world::XERO]
        .iter()
        .map(|c| records.parties.iter().filter(|p| p.source.connection_id == *c).count())
        .collect();
    // Documents of the shop and Xero, earliest first, and what pays or refunds them.
    let mut docs: Vec<_> = all.documents.iter().filter(|d| d.source.connection_id == sandbox_world::SHOPIFY || d.source.connection_id == sandbox_world::XERO).collect();
    docs.sort_by(|a, b| a.issue_date.cmp(&b.issue_date));
    records.documents = docs.into_iter().take(documents).cloned().collect();
    let kept: HashSet<(i64, &str)> = records.documents.iter().map(|d| (d.source.connection_id, d.source.external_id.as_str())).collect();
    records.payments = all
        .payments
        .iter()
        .filter(|p| p.allocations.iter().any(|a| kept.contains(&(p.source.connection_id, a.document_ref.as_str()))))
        .cloned()
        .collect();
    drop(all);
    println!(
        "input: parties {:?} (HubSpot, Shopify, Xero), {} documents, {} payments; built in {:.1?}",
        counts,
        records.documents.len(),
        records.payments.len(),
        t.elapsed()
    );
    // Reset the high-water mark so it measures matching (plus the input it holds).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = peak_rss_mib();

    let t = Instant::now();
    let p = plan(&records, &[], &Policy::default(), &Config::default());
    let took = t.elapsed();
    let peak = peak_rss_mib();
    println!(
        "link and detect: {:.2?} on {} threads; {} links ({} party candidates, {} skipped blocks), {} customers, {} sales, {} conflicts, {} discrepancies",
        took,
        Config::default().threads,
        p.links.len(),
        p.stats.party_candidates,
        p.stats.skipped_blocks,
        p.parties.len(),
        p.sales.len(),
        p.conflicts.len(),
        p.discrepancies.len()
    );
    println!(
        "peak resident memory: {} MiB (input alone: {} MiB)",
        peak.map(|m| format!("{m:.0}")).unwrap_or_else(|| "unknown".into()),
        before.map(|m| format!("{m:.0}")).unwrap_or_else(|| "unknown".into())
    );
}
