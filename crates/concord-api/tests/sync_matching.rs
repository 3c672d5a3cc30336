//! Sync feeds matching: after a real sync of the four sandbox providers (through
//! the demo's connect path), every synced canonical record is readable by
//! `run_matching`, which finds customer and sale links and money discrepancies;
//! customer and sale links are scored (pairwise precision and recall over
//! linked clusters) against the sandbox's ground truth.

mod support;

use support::clusters;

use concord_api::demo::{FollowSignIn, SandboxInfo};
use concord_api::Workspace;
use concord_core::{Provider, SystemClock};
use concord_sandbox::{Sandbox, SandboxConfig};
use concord_secret::MemoryStore;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Every pair within each cluster, ordered.
fn pairs(clusters: impl IntoIterator<Item = Vec<String>>) -> HashSet<(String, String)> {
    let mut out = HashSet::new();
    for c in clusters {
        for (i, a) in c.iter().enumerate() {
            for b in &c[i + 1..] {
                out.insert(if a < b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) });
            }
        }
    }
    out
}

fn score(found: &HashSet<(String, String)>, truth: &HashSet<(String, String)>) -> (f64, f64) {
    let tp = found.intersection(truth).count() as f64;
    (if found.is_empty() { 1.0 } else { tp / found.len() as f64 }, if truth.is_empty() { 1.0 } else { tp / truth.len() as f64 })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synced_records_are_read_by_matching_and_linked() {
    let sb = Sandbox::start(SandboxConfig { seed: 7, customers: 50, time_scale: 60.0, ..Default::default() }).await.unwrap();
    let info = SandboxInfo::fetch(&sb.origin()).await.expect("the sandbox's ready line must be readable");
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), Arc::new(SystemClock), "test").unwrap().with_secret_store(Arc::new(MemoryStore::default()));
    ws.demo_connect(&info, &FollowSignIn, &|_| {}).await.unwrap_or_else(|e| panic!("the demo must connect: {e}"));
    let results = ws.demo_sync(info.time_scale, &|_| {}).await.expect("the sync must run");
    assert!(results.iter().all(|r| r.ok), "every stream must sync: {results:?}");

    let m = ws.run_matching().expect("matching must run on the synced records");
    eprintln!("matching after sync: {m:?}");
    assert_eq!(m.unreadable, 0, "every synced record must be in the canonical model's shape: {m:?}");
    assert!(m.parties > 0 && m.documents > 0 && m.payments > 0, "parties, documents and payments must all arrive: {m:?}");
    assert!(m.auto_links > 0 && m.customers > 0 && m.sales > 0, "synced records must link into customers and sales: {m:?}");
    assert!(m.discrepancies > 0, "the seeded business plants money discrepancies, so some must be found: {m:?}");

    // Score against the ground truth, with the store's keys: connection id / stream / provider id.
    let conn: HashMap<Provider, i32> = ws.list_connections().unwrap().into_iter().map(|c| (c.provider, c.id)).collect();
    let key = |p: Provider, object: &str, id: &str| format!("{}/{object}/{id}", conn[&p]);
    let gt = sb.ground_truth();
    let party_truth = pairs(gt.links.iter().map(|l| {
        let mut v = Vec::new();
        v.extend(l.hubspot_contact_id.iter().map(|id| key(Provider::HubSpot, "contacts", id)));
        v.extend(l.hubspot_company_id.iter().map(|id| key(Provider::HubSpot, "companies", id)));
        v.extend(l.shopify_customer_ids.iter().map(|id| key(Provider::Shopify, "customers", id)));
        v.extend(l.xero_contact_id.iter().map(|id| key(Provider::Xero, "contacts", id)));
        v.extend(l.quickbooks_customer_id.iter().map(|id| key(Provider::QuickBooks, "customers", id)));
        v
    }));
    // Shopify refunds are not synced as records yet, so they are left out of the truth.
    let sale_truth = pairs(gt.document_links.iter().map(|l| {
        let mut v = Vec::new();
        v.extend(l.shopify_order_id.iter().map(|id| key(Provider::Shopify, "orders", id)));
        v.extend(l.xero_invoice_id.iter().map(|id| key(Provider::Xero, "invoices", id)));
        v.extend(l.xero_payment_ids.iter().map(|id| key(Provider::Xero, "payments", id)));
        v.extend(l.xero_credit_note_ids.iter().map(|id| key(Provider::Xero, "credit_notes", id)));
        v.extend(l.quickbooks_invoice_id.iter().map(|id| key(Provider::QuickBooks, "invoices", id)));
        v.extend(l.quickbooks_payment_ids.iter().map(|id| key(Provider::QuickBooks, "payments", id)));
        v.extend(l.quickbooks_credit_memo_ids.iter().map(|id| key(Provider::QuickBooks, "credit_memos", id)));
        v
    }));
    let links = ws.links(None, None).unwrap();
    let found = |entity: &str| {
        let l: Vec<(String, String)> = links.iter().filter(|l| l.entity == entity && matches!(l.state.as_str(), "auto" | "confirmed" | "manual")).map(|l| (l.left.clone(), l.right.clone())).collect();
        pairs(clusters(&l))
    };
    let (pp, pr) = score(&found("party"), &party_truth);
    let (sp, sr) = score(&found("document"), &sale_truth);
    let kinds: HashMap<String, usize> = ws.discrepancies().unwrap().into_iter().fold(HashMap::new(), |mut m, d| {
        *m.entry(d.kind).or_default() += 1;
        m
    });
    eprintln!("customers P {pp:.3} R {pr:.3}; sales P {sp:.3} R {sr:.3}; discrepancies {kinds:?}; planted {:?}", gt.discrepancies.iter().fold(HashMap::<String, usize>::new(), |mut m, d| {
        *m.entry(format!("{:?}", d.kind)).or_default() += 1;
        m
    }));
    assert!(pp >= 0.98 && pr >= 0.98, "customer links from synced records must mostly agree with the ground truth: P {pp:.3} R {pr:.3}");
    assert!(sp >= 0.98 && sr >= 0.98, "sale links from synced records must mostly agree with the ground truth: P {sp:.3} R {sr:.3}");
    sb.shutdown().await;
}
