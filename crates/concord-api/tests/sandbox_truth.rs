//! Precision and recall on the sandbox's seeded business, through the real path:
//! the sandbox serves its providers' payloads, the demo connects and the sync
//! engine pulls them through the sync mappers into canonical records, matching
//! runs on the store, and what it wrote is scored against the sandbox's answer
//! key. Nothing here builds canonical records from the generator's structs.
//!
//! Scoring names exact records. Customer and sale links are scored as pairs of
//! record keys inside each linked customer or sale against the true pairs.
//! A reported conflict or discrepancy is correct only when all of its records
//! belong to the one true customer (or sale) that a planted entry of a kind it
//! answers names; a planted entry is found only when such a report exists.
//! (Which report kinds answer a planted kind is the table below; naming the one
//! right kind per sale is the reconciliation issue's, not this test's.)
//! The figures are printed: `cargo test -p concord-api --test sandbox_truth -- --nocapture`.

mod support;

use concord_api::demo::{FollowSignIn, SandboxInfo};
use concord_api::Workspace;
use concord_core::{Provider, SystemClock};
use concord_sandbox::ground_truth::DiscrepancyKind as Planted;
use concord_sandbox::{Sandbox, SandboxConfig};
use concord_secret::MemoryStore;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use support::clusters;

fn pairs(groups: impl IntoIterator<Item = Vec<String>>) -> HashSet<(String, String)> {
    let mut out = HashSet::new();
    for g in groups {
        for (i, a) in g.iter().enumerate() {
            for b in &g[i + 1..] {
                out.insert(if a < b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) });
            }
        }
    }
    out
}

fn pr(found: usize, right: usize, truth: usize, hit: usize) -> (f64, f64) {
    (if found == 0 { 1.0 } else { right as f64 / found as f64 }, if truth == 0 { 1.0 } else { hit as f64 / truth as f64 })
}

/// The report kinds that answer each planted kind.
fn answers(kind: Planted) -> &'static [&'static str] {
    match kind {
        Planted::NameSpelling | Planted::NameOrder => &["conflict:personName"],
        Planted::AbnMissing => &["conflict:taxNumber"],
        Planted::AbnMalformed => &["conflict:taxNumber", "invalid_tax_number"],
        Planted::BillingAddressDiffers => &["conflict:billingAddress"],
        Planted::GuestCheckoutDuplicate => &["duplicate_party"],
        Planted::GstInclusiveAsExclusive => &["gst_treatment_mismatch"],
        Planted::RoundingDifference => &["rounding_difference", "total_mismatch"],
        Planted::PartialPayment => &["status_mismatch", "underpaid"],
        Planted::OrderNeverInvoiced => &["missing_invoice"],
        Planted::InvoicePaidTwice => &["duplicate_payment", "overpaid"],
        Planted::ContactEditedInTwoSystems => &["conflict:email"],
        Planted::RefundWithoutCreditNote => &["refund_without_credit_note"],
    }
}

/// Whether a planted kind is about a customer (else a sale).
fn about_customer(kind: Planted) -> bool {
    matches!(
        kind,
        Planted::NameSpelling
            | Planted::NameOrder
            | Planted::AbnMissing
            | Planted::AbnMalformed
            | Planted::BillingAddressDiffers
            | Planted::GuestCheckoutDuplicate
            | Planted::ContactEditedInTwoSystems
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeded_business_through_the_sync_path_scores_at_least_099() {
    let sb = Sandbox::start(SandboxConfig { seed: 7, customers: 2_000, time_scale: 60.0, ..Default::default() }).await.unwrap();
    let info = SandboxInfo::fetch(&sb.origin()).await.expect("the sandbox's ready line must be readable");
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), Arc::new(SystemClock), "test").unwrap().with_secret_store(Arc::new(MemoryStore::default()));
    ws.demo_connect(&info, &FollowSignIn, &|_| {}).await.unwrap_or_else(|e| panic!("the demo must connect: {e}"));
    let results = ws.demo_sync(info.time_scale, &|_| {}).await.expect("the sync must run");
    assert!(results.iter().all(|r| r.ok), "every stream must sync: {results:?}");
    let m = ws.run_matching().expect("matching must run on the synced records");
    assert_eq!(m.unreadable, 0, "every synced record must be in the canonical model's shape: {m:?}");
    assert!(m.parties > 0 && m.documents > 0 && m.payments > 0, "parties, documents and payments must all arrive: {m:?}");

    // The answer key in the store's keys (connection id / stream / provider id).
    let conn: HashMap<Provider, i32> = ws.list_connections().unwrap().into_iter().map(|c| (c.provider, c.id)).collect();
    let key = |p: Provider, object: &str, id: &str| format!("{}/{object}/{id}", conn[&p]);
    let gt = sb.ground_truth();
    let mut customer_of: HashMap<String, u32> = HashMap::new();
    let mut customers: Vec<Vec<String>> = Vec::new();
    for l in &gt.links {
        let mut v = Vec::new();
        v.extend(l.hubspot_contact_id.iter().map(|id| key(Provider::HubSpot, "contacts", id)));
        v.extend(l.hubspot_company_id.iter().map(|id| key(Provider::HubSpot, "companies", id)));
        v.extend(l.shopify_customer_ids.iter().map(|id| key(Provider::Shopify, "customers", id)));
        v.extend(l.xero_contact_id.iter().map(|id| key(Provider::Xero, "contacts", id)));
        v.extend(l.quickbooks_customer_id.iter().map(|id| key(Provider::QuickBooks, "customers", id)));
        customer_of.extend(v.iter().map(|k| (k.clone(), l.party)));
        customers.push(v);
    }
    let mut sale_of: HashMap<String, u32> = HashMap::new();
    let mut sales: Vec<Vec<String>> = Vec::new();
    for l in &gt.document_links {
        let mut v = Vec::new();
        v.extend(l.shopify_order_id.iter().map(|id| key(Provider::Shopify, "orders", id)));
        v.extend(l.shopify_refund_ids.iter().map(|id| key(Provider::Shopify, "refunds", id)));
        v.extend(l.xero_invoice_id.iter().map(|id| key(Provider::Xero, "invoices", id)));
        v.extend(l.xero_payment_ids.iter().map(|id| key(Provider::Xero, "payments", id)));
        v.extend(l.xero_credit_note_ids.iter().map(|id| key(Provider::Xero, "credit_notes", id)));
        v.extend(l.quickbooks_invoice_id.iter().map(|id| key(Provider::QuickBooks, "invoices", id)));
        v.extend(l.quickbooks_payment_ids.iter().map(|id| key(Provider::QuickBooks, "payments", id)));
        v.extend(l.quickbooks_credit_memo_ids.iter().map(|id| key(Provider::QuickBooks, "credit_memos", id)));
        sale_of.extend(v.iter().map(|k| (k.clone(), l.sale)));
        sales.push(v);
    }

    // Links: pairs inside each customer and sale, against the true pairs.
    let links = ws.links(None, None).unwrap();
    let found = |entity: &str| {
        let l: Vec<(String, String)> = links.iter().filter(|l| l.entity == entity && matches!(l.state.as_str(), "auto" | "confirmed" | "manual")).map(|l| (l.left.clone(), l.right.clone())).collect();
        pairs(clusters(&l))
    };
    let score = |found: &HashSet<(String, String)>, truth: &HashSet<(String, String)>| {
        let right = found.intersection(truth).count();
        let wrong: Vec<_> = found.difference(truth).take(5).cloned().collect();
        let missed: Vec<_> = truth.difference(found).take(5).cloned().collect();
        (pr(found.len(), right, truth.len(), right), wrong, missed)
    };
    let ((pp, prc), p_wrong, p_missed) = score(&found("party"), &pairs(customers));
    let ((sp, src), s_wrong, s_missed) = score(&found("document"), &pairs(sales));

    // Conflicts and discrepancies: each report's records must all belong to the one
    // true customer or sale of a planted entry of a kind it answers.
    let mut reports: Vec<(String, Vec<String>)> = ws.conflicts(None).unwrap().into_iter().map(|c| (format!("conflict:{}", c.field), c.values.into_iter().map(|v| v.record).collect())).collect();
    reports.extend(ws.discrepancies().unwrap().into_iter().map(|d| (d.kind, d.records)));
    let owner = |records: &[String], customer: bool| -> Option<u32> {
        let of = if customer { &customer_of } else { &sale_of };
        let owners: HashSet<Option<u32>> = records.iter().map(|r| of.get(r).copied()).collect();
        (owners.len() == 1).then(|| owners.into_iter().next().flatten()).flatten()
    };
    let answered = |kind: Planted, entity: Option<u32>, label: &str, records: &[String]| {
        answers(kind).contains(&label) && entity.is_some() && owner(records, about_customer(kind)) == entity
    };
    let entity_of = |d: &concord_sandbox::ground_truth::DiscrepancyEntry| if about_customer(d.kind) { d.party } else { d.sale };
    let right: Vec<bool> = reports.iter().map(|(label, recs)| gt.discrepancies.iter().any(|d| answered(d.kind, entity_of(d), label, recs))).collect();
    let hit: Vec<bool> = gt.discrepancies.iter().map(|d| reports.iter().any(|(label, recs)| answered(d.kind, entity_of(d), label, recs))).collect();
    let (dp, drc) = pr(reports.len(), right.iter().filter(|x| **x).count(), gt.discrepancies.len(), hit.iter().filter(|x| **x).count());
    let unexplained: Vec<_> = reports.iter().zip(&right).filter(|(_, ok)| !**ok).map(|(r, _)| r).take(8).collect();
    let unfound: Vec<_> = gt.discrepancies.iter().zip(&hit).filter(|(_, ok)| !**ok).map(|(d, _)| (d.kind, &d.records)).take(8).collect();
    eprintln!(
        "through the sync path: {} customers in the answer key; customer links P {pp:.4} R {prc:.4}; sale links P {sp:.4} R {src:.4}; reports P {dp:.4} R {drc:.4} ({} reports, {} planted)",
        gt.links.len(),
        reports.len(),
        gt.discrepancies.len()
    );
    eprintln!("wrong customer pairs, e.g. {p_wrong:?}");
    assert!(pp >= 0.99 && prc >= 0.99, "customer links below 0.99 (P {pp:.4} R {prc:.4}): wrong {p_wrong:#?} missed {p_missed:#?}");
    assert!(sp >= 0.99 && src >= 0.99, "sale links below 0.99 (P {sp:.4} R {src:.4}): wrong {s_wrong:#?} missed {s_missed:#?}");
    assert!(dp >= 0.99, "reports that no planted entry explains with exactly its records (P {dp:.4}): {unexplained:#?}");
    assert!(drc >= 0.99, "planted entries no report names exactly (R {drc:.4}): {unfound:#?}");
    sb.shutdown().await;
}
