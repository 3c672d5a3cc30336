//! The ground truth agrees with what the sandbox serves: every planted link
//! names records that are served, and every planted discrepancy is visible
//! in the served JSON exactly as the ground truth describes it.

use crate::support::*;
use concord_sandbox::ground_truth::DiscrepancyKind as K;
use concord_sandbox::Provider;
use serde_json::{json, Value};
use std::collections::HashMap;

type Served = HashMap<String, Value>;

async fn hubspot_all(sb: &concord_sandbox::SandboxHandle, object: &str, props: &str) -> Served {
    let (c, base, token) = (client(), sb.base_url(Provider::HubSpot), sb.credentials(Provider::HubSpot).static_token.unwrap());
    let mut out = Served::new();
    let mut after = None::<String>;
    loop {
        let mut req = c.get(format!("{base}/crm/v3/objects/{object}")).bearer_auth(&token).query(&[("limit", "100"), ("properties", props)]);
        if let Some(a) = &after {
            req = req.query(&[("after", a)]);
        }
        let b = probe(req).await.json();
        for r in b["results"].as_array().unwrap() {
            out.insert(r["id"].as_str().unwrap().to_string(), r.clone());
        }
        match b["paging"]["next"]["after"].as_str() {
            Some(a) => after = Some(a.into()),
            None => return out,
        }
    }
}

async fn shopify_all(sb: &concord_sandbox::SandboxHandle, field: &str, nodes: &str) -> Served {
    let (c, token) = (client(), sb.credentials(Provider::Shopify).static_token.unwrap());
    let url = format!("{}/admin/api/2025-01/graphql.json", sb.base_url(Provider::Shopify));
    let q = format!("query($after: String) {{ {field}(first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {nodes} }} }} }}");
    let mut out = Served::new();
    let mut after = Value::Null;
    loop {
        let b = probe(c.post(&url).header("X-Shopify-Access-Token", &token).json(&json!({"query": q, "variables": {"after": after}}))).await.json();
        let conn = &b["data"][field];
        for n in conn["nodes"].as_array().unwrap_or_else(|| panic!("no nodes: {b}")) {
            out.insert(n["id"].as_str().unwrap().to_string(), n.clone());
        }
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return out;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
}

async fn xero_all(sb: &concord_sandbox::SandboxHandle, collection: &str, id_key: &str) -> Served {
    let c = client();
    let base = sb.base_url(Provider::Xero);
    let token = crate::contract::xero_access(sb).await;
    let mut out = Served::new();
    let mut page = 1;
    loop {
        let b = probe(c.get(format!("{base}/api.xro/2.0/{collection}")).bearer_auth(&token).header("xero-tenant-id", sb.xero_tenant_id()).query(&[("page", page.to_string()), ("pageSize", "1000".into())])).await.json();
        for r in b[collection].as_array().unwrap() {
            out.insert(r[id_key].as_str().unwrap().to_string(), r.clone());
        }
        if b["pagination"]["page"].as_u64() >= b["pagination"]["pageCount"].as_u64() {
            return out;
        }
        page += 1;
    }
}

async fn qbo_ids(sb: &concord_sandbox::SandboxHandle, entity: &str) -> Served {
    let c = client();
    let token = crate::contract::qbo_access(sb).await;
    let api = format!("{}/v3/company/{}/query", sb.base_url(Provider::QuickBooks), sb.quickbooks_realm_id());
    let mut out = Served::new();
    let mut start = 1;
    loop {
        let q = format!("SELECT * FROM {entity} STARTPOSITION {start} MAXRESULTS 1000");
        let b = probe(c.get(&api).bearer_auth(&token).query(&[("query", q.as_str())])).await.json();
        let page = b["QueryResponse"][entity].as_array().cloned().unwrap_or_default();
        for r in &page {
            out.insert(r["Id"].as_str().unwrap().to_string(), r.clone());
        }
        if page.len() < 1000 {
            return out;
        }
        start += 1000;
    }
}

fn dec(v: &Value) -> rust_decimal::Decimal {
    concord_sandbox::record::decimal_of(v).unwrap_or_else(|| panic!("{v} is a decimal"))
}

#[tokio::test]
async fn every_link_and_discrepancy_is_served() {
    let sb = start(400, false).await;
    let gt = sb.ground_truth();
    let contacts = hubspot_all(&sb, "contacts", "email,firstname,lastname").await;
    let companies = hubspot_all(&sb, "companies", "name,abn").await;
    let customers = shopify_all(&sb, "customers", "id email firstName lastName state defaultAddress { address1 }").await;
    let orders = shopify_all(&sb, "orders", "id name displayFinancialStatus totalPriceSet { shopMoney { amount } } refunds { id }").await;
    let xc = xero_all(&sb, "Contacts", "ContactID").await;
    let xi = xero_all(&sb, "Invoices", "InvoiceID").await;
    let xp = xero_all(&sb, "Payments", "PaymentID").await;
    let xn = xero_all(&sb, "CreditNotes", "CreditNoteID").await;
    let qc = qbo_ids(&sb, "Customer").await;
    let qi = qbo_ids(&sb, "Invoice").await;

    for l in &gt.links {
        let present = |set: &Served, id: &Option<String>, what: &str| {
            if let Some(id) = id {
                assert!(set.contains_key(id), "party {} links {what} {id}, which must be served", l.party);
            }
        };
        present(&contacts, &l.hubspot_contact_id, "HubSpot contact");
        present(&companies, &l.hubspot_company_id, "HubSpot company");
        present(&xc, &l.xero_contact_id, "Xero contact");
        present(&qc, &l.quickbooks_customer_id, "QuickBooks customer");
        for id in &l.shopify_customer_ids {
            assert!(customers.contains_key(id), "party {} links Shopify customer {id}, which must be served", l.party);
        }
        assert!(l.hubspot_contact_id.is_some() || !l.shopify_customer_ids.is_empty() || l.xero_contact_id.is_some(), "every real customer is in at least one system");
    }
    for d in &gt.document_links {
        if let Some(id) = &d.shopify_order_id {
            assert!(orders.contains_key(id), "sale {} links order {id}, which must be served", d.sale);
        }
        if let Some(id) = &d.xero_invoice_id {
            assert!(xi.contains_key(id), "sale {} links Xero invoice {id}", d.sale);
        }
        if let Some(id) = &d.quickbooks_invoice_id {
            assert!(qi.contains_key(id), "sale {} links QuickBooks invoice {id}", d.sale);
        }
        for id in &d.xero_payment_ids {
            assert!(xp.contains_key(id), "sale {} links Xero payment {id}", d.sale);
        }
        for id in &d.xero_credit_note_ids {
            assert!(xn.contains_key(id), "sale {} links Xero credit note {id}", d.sale);
        }
    }

    let id_of = |d: &concord_sandbox::ground_truth::DiscrepancyEntry, p: Provider, object: &str| -> Vec<String> {
        d.records.iter().filter(|r| r.provider == p && serde_json::to_value(r.object).unwrap() == object).map(|r| r.id.clone()).collect()
    };
    for kind in concord_sandbox::ground_truth::DiscrepancyKind::ALL {
        assert!(gt.discrepancies.iter().any(|d| d.kind == kind), "{kind:?} must be planted");
    }
    for d in &gt.discrepancies {
        let x = |set: &Served, p, o| id_of(d, p, o).into_iter().map(|id| set.get(&id).cloned().unwrap_or_else(|| panic!("{:?}: {o} {id} is served", d.kind))).collect::<Vec<_>>();
        match d.kind {
            K::NameSpelling => {
                let served = d.detail["served"].as_str().unwrap();
                let mut recs = x(&contacts, Provider::HubSpot, "contacts");
                recs.extend(x(&customers, Provider::Shopify, "customers"));
                recs.extend(x(&xc, Provider::Xero, "contacts"));
                assert!(recs.iter().all(|r| r.to_string().contains(served)), "the misspelling {served:?} is what is served");
            }
            K::NameOrder => {
                let c = &x(&xc, Provider::Xero, "contacts")[0];
                assert_eq!(c["FirstName"], d.detail["served_given"], "Xero serves the swapped given name");
            }
            K::AbnMissing => assert_eq!(x(&xc, Provider::Xero, "contacts")[0]["TaxNumber"], "", "the books have no ABN"),
            K::AbnMalformed => {
                let abn = x(&xc, Provider::Xero, "contacts")[0]["TaxNumber"].as_str().unwrap().to_string();
                assert_eq!(abn, d.detail["served"].as_str().unwrap(), "the malformed ABN is served");
                assert!(!concord_sandbox::business::abn_valid(&abn), "and fails the checksum");
            }
            K::BillingAddressDiffers => {
                let books = &x(&xc, Provider::Xero, "contacts")[0];
                let shop = &x(&customers, Provider::Shopify, "customers")[0];
                assert_eq!(books["Addresses"][0]["AddressLine1"], d.detail["books_address1"], "the books bill elsewhere");
                assert_eq!(shop["defaultAddress"]["address1"], d.detail["shop_address1"], "than the shop's default address");
            }
            K::GuestCheckoutDuplicate => {
                let shop = x(&customers, Provider::Shopify, "customers");
                assert_eq!(shop.len(), 2, "two Shopify customers for one person");
                assert_eq!(shop[1]["state"], "DISABLED", "the duplicate is a guest account");
            }
            K::GstInclusiveAsExclusive | K::RoundingDifference => {
                let inv = &x(&xi, Provider::Xero, "invoices")[0];
                let order = &x(&orders, Provider::Shopify, "orders")[0];
                assert_eq!(dec(&inv["Total"]), dec(&d.detail["books_total"]), "the books total is as planted");
                assert_eq!(dec(&order["totalPriceSet"]["shopMoney"]["amount"]), dec(&d.detail["shop_total"]), "the shop total is as planted");
                assert_ne!(dec(&inv["Total"]), dec(&d.detail["shop_total"]), "and they differ");
                if d.kind == K::GstInclusiveAsExclusive {
                    assert_eq!(inv["LineAmountTypes"], "Exclusive", "inclusive prices were typed as exclusive");
                }
            }
            K::PartialPayment => {
                let inv = &x(&xi, Provider::Xero, "invoices")[0];
                assert_eq!(dec(&inv["AmountDue"]), dec(&d.detail["amount_due"]), "the books show money still owed");
                for o in x(&orders, Provider::Shopify, "orders") {
                    assert_eq!(o["displayFinancialStatus"], "PAID", "while the shop shows the order paid");
                }
            }
            K::OrderNeverInvoiced => {
                let o = &x(&orders, Provider::Shopify, "orders")[0];
                let sale = d.sale.unwrap() as usize;
                assert!(gt.document_links[sale].xero_invoice_id.is_none(), "no invoice records the sale");
                assert!(!xi.values().any(|i| i["Reference"] == format!("Shopify {}", o["name"].as_str().unwrap())), "and no served invoice refers to the order");
            }
            K::InvoicePaidTwice => {
                let pays = x(&xp, Provider::Xero, "payments");
                assert_eq!(pays.len(), 2, "two payments");
                assert_eq!(pays[0]["Amount"], pays[1]["Amount"], "of the same amount");
                assert_eq!(pays[0]["Invoice"]["InvoiceID"], pays[1]["Invoice"]["InvoiceID"], "against the same invoice");
            }
            K::ContactEditedInTwoSystems => {
                assert_eq!(x(&contacts, Provider::HubSpot, "contacts")[0]["properties"]["email"], d.detail["hubspot"], "HubSpot holds its edit");
                assert_eq!(x(&xc, Provider::Xero, "contacts")[0]["EmailAddress"], d.detail["books"], "the books hold theirs");
            }
            K::RefundWithoutCreditNote => {
                let o = &x(&orders, Provider::Shopify, "orders")[0];
                assert!(!o["refunds"].as_array().unwrap().is_empty(), "the shop order was refunded");
                assert!(gt.document_links[d.sale.unwrap() as usize].xero_credit_note_ids.is_empty(), "with no credit note in the books");
            }
        }
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn ground_truth_file_matches_in_process_truth() {
    let sb = start(120, false).await;
    let dir = std::env::temp_dir().join(format!("concord-gt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("truth.json");
    sb.write_ground_truth(&path).expect("the ground truth is written");
    let file: concord_sandbox::GroundTruth = serde_json::from_slice(&std::fs::read(&path).unwrap()).expect("the file parses as GroundTruth");
    let mem = sb.ground_truth();
    assert_eq!(file.links.len(), mem.links.len(), "the file lists every customer link");
    assert_eq!(file.discrepancies.len(), mem.discrepancies.len(), "the file lists every discrepancy");
    let served = probe(client().get(format!("{}/ground-truth", sb.control_url()))).await.json();
    assert_eq!(served["document_links"].as_array().unwrap().len(), mem.document_links.len(), "the control API serves the same truth");
    std::fs::remove_dir_all(&dir).ok();
    sb.shutdown().await;
}
