//! Xero as a client sees it: PKCE without a secret, rotating refresh tokens,
//! /connections, page/pageSize paging on the pagination object,
//! If-Modified-Since, Idempotency-Key replay, the minute limit and every
//! fault kind.

use crate::support::*;
use concord_sandbox::Provider;
use serde_json::{json, Value};

async fn xero_token(sb: &concord_sandbox::SandboxHandle) -> (String, String) {
    let creds = sb.credentials(Provider::Xero);
    assert!(creds.client_secret.is_none(), "a Xero PKCE app has no client secret");
    let (verifier, challenge) = pkce();
    let redirect = "http://localhost:7777/cb";
    let q = authorize(&creds.authorize_url, &[("response_type", "code"), ("client_id", &creds.client_id), ("redirect_uri", redirect), ("scope", "offline_access accounting.contacts accounting.transactions"), ("state", "s1"), ("code_challenge", &challenge), ("code_challenge_method", "S256")]).await;
    let code = pair(&q, "code").unwrap().to_string();
    let t = probe(client().post(&creds.token_url).form(&[("grant_type", "authorization_code"), ("client_id", &creds.client_id), ("code", &code), ("redirect_uri", redirect), ("code_verifier", &verifier)])).await;
    assert_eq!(t.status, 200, "the code exchange succeeds without a secret");
    let t = t.json();
    assert_eq!(t["expires_in"], 1800, "Xero access tokens live 30 minutes");
    assert_eq!(t["token_type"], "Bearer", "Xero token type");
    (t["access_token"].as_str().unwrap().to_string(), t["refresh_token"].as_str().expect("offline_access yields a refresh token").to_string())
}

#[tokio::test]
async fn xero_oauth_paging_writes_and_rate_limit() {
    let sb = start(150, true).await;
    let base = sb.base_url(Provider::Xero);
    let tenant = sb.xero_tenant_id();
    let creds = sb.credentials(Provider::Xero);
    let c = client();
    let (access, refresh) = xero_token(&sb).await;

    let rotated = probe(c.post(&creds.token_url).form(&[("grant_type", "refresh_token"), ("client_id", &creds.client_id), ("refresh_token", &refresh)])).await.json();
    assert_ne!(rotated["refresh_token"].as_str(), Some(refresh.as_str()), "Xero rotates the refresh token");
    let again = probe(c.post(&creds.token_url).form(&[("grant_type", "refresh_token"), ("client_id", &creds.client_id), ("refresh_token", &refresh)])).await;
    assert_eq!(again.status, 200, "the previous refresh token still works within the 30-minute grace");

    let conns = probe(c.get(format!("{base}/connections")).bearer_auth(&access)).await.json();
    assert_eq!(conns[0]["tenantId"], tenant.as_str(), "/connections lists the organisation's tenant");
    assert_eq!(conns[0]["tenantType"], "ORGANISATION", "tenant type");
    let no_tenant = probe(c.get(format!("{base}/api.xro/2.0/Contacts")).bearer_auth(&access)).await;
    assert_eq!(no_tenant.status, 403, "a call without xero-tenant-id is forbidden");

    // Paging on the pagination object, 50 at a time, to page == pageCount.
    let mut page = 1;
    let mut ids = Vec::new();
    let mut first_page = Value::Null;
    loop {
        let p = probe(c.get(format!("{base}/api.xro/2.0/Contacts")).bearer_auth(&access).header("xero-tenant-id", &tenant).query(&[("page", page.to_string()), ("pageSize", "50".into())])).await;
        assert_eq!(p.status, 200, "a page is served");
        for h in ["X-DayLimit-Remaining", "X-MinLimit-Remaining", "X-AppMinLimit-Remaining"] {
            assert!(p.header(h).is_some(), "Xero sends {h}");
        }
        let body = p.json();
        if page == 1 {
            first_page = body["Contacts"].clone();
        }
        assert!(body["Contacts"][0]["UpdatedDateUTC"].as_str().unwrap().starts_with("/Date("), "dates are /Date(ms+0000)/");
        ids.extend(body["Contacts"].as_array().unwrap().iter().map(|c| c["ContactID"].as_str().unwrap().to_string()));
        if body["pagination"]["page"].as_u64() >= body["pagination"]["pageCount"].as_u64() {
            assert_eq!(body["pagination"]["itemCount"].as_u64(), Some(ids.len() as u64), "itemCount counts every contact");
            break;
        }
        page += 1;
    }
    assert_eq!(ids.len(), live(&sb, Provider::Xero, "contacts"), "paging on pageCount reads every contact");

    // List pages are served from a cache of rendered records: the same page again is the same records.
    let page_one = || c.get(format!("{base}/api.xro/2.0/Contacts")).bearer_auth(&access).header("xero-tenant-id", &tenant).query(&[("page", "1"), ("pageSize", "50")]);
    assert_eq!(probe(page_one()).await.json()["Contacts"], first_page, "a page served from the render cache must equal the page as first rendered");

    // If-Modified-Since narrows to recent changes.
    let none = probe(c.get(format!("{base}/api.xro/2.0/Invoices")).bearer_auth(&access).header("xero-tenant-id", &tenant).header("If-Modified-Since", "2100-01-01T00:00:00")).await.json();
    assert_eq!(none["Invoices"].as_array().unwrap().len(), 0, "nothing changed after 2100");

    // A POST update with an Idempotency-Key, sent twice.
    let id = &ids[0];
    let send = || c.post(format!("{base}/api.xro/2.0/Contacts/{id}")).bearer_auth(&access).header("xero-tenant-id", &tenant).header("Idempotency-Key", "k-1").json(&json!({"Contacts": [{"ContactID": id, "EmailAddress": "new@example.com"}]}));
    let first = probe(send()).await;
    let second = probe(send()).await;
    assert_eq!(first.status, 200, "the update applies");
    assert_eq!(first.json()["Contacts"][0]["EmailAddress"], "new@example.com", "the new value is served back");
    assert_eq!(first.body.as_ref().unwrap(), second.body.as_ref().unwrap(), "a replay returns the first response byte for byte");
    let listed = probe(page_one()).await.json();
    let row = listed["Contacts"].as_array().unwrap().iter().find(|r| r["ContactID"] == id.as_str()).cloned().expect("the edited contact is still on page 1");
    assert_eq!(row["EmailAddress"], "new@example.com", "a write must show in the next list page: the render cache may never serve a record as it was before the write");
    let counters = sb.counters();
    let key = counters["writes"]["by_idempotency_key"].as_array().unwrap().iter().find(|k| k["key"] == "k-1").cloned().unwrap();
    assert_eq!((key["applied"].clone(), key["replayed"].clone()), (json!(1), json!(1)), "the key was applied once and replayed once");

    // The minute limit: the 61st call in a minute is a 429.
    let mut throttled = None;
    for _ in 0..70 {
        let p = probe(c.get(format!("{base}/api.xro/2.0/Payments?page=1&pageSize=1")).bearer_auth(&access).header("xero-tenant-id", &tenant)).await;
        if p.status == 429 {
            throttled = Some(p);
            break;
        }
    }
    let p = throttled.expect("Xero refuses the 61st call in a minute");
    assert_eq!(p.header("X-Rate-Limit-Problem").as_deref(), Some("minute"), "Xero names the minute limit");
    assert!(p.header("Retry-After").and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| (1..=60).contains(&s)), "with Retry-After in seconds");
    sb.shutdown().await;
}

#[tokio::test]
async fn xero_fault_kinds() {
    let sb = start(150, false).await;
    let base = sb.base_url(Provider::Xero);
    let tenant = sb.xero_tenant_id();
    let (access, _) = xero_token(&sb).await;
    let c = client();
    let page2 = || c.get(format!("{base}/api.xro/2.0/Invoices")).bearer_auth(&access).header("xero-tenant-id", &tenant).query(&[("page", "2"), ("pageSize", "10")]);
    type Check = fn(&Probe, &concord_sandbox::SandboxHandle);
    let cases: Vec<(&str, Check)> = vec![
        ("server_error@xero:status=503", |p, _| {
            assert_eq!(p.status, 503, "the chosen 5xx is served");
            assert_eq!(p.json()["Status"], 503, "in Xero's problem shape");
        }),
        ("rate_limit_storm@xero", |p, _| {
            assert_eq!(p.status, 429, "a storm serves 429");
            assert_eq!(p.header("X-Rate-Limit-Problem").as_deref(), Some("minute"), "naming the minute limit");
            assert!(p.header("Retry-After").is_some(), "with Retry-After");
        }),
        ("connection_reset@xero", |p, _| assert!(p.body.is_err(), "the body never arrives")),
        ("slow_response@xero:delay_ms=300", |p, _| assert!(p.elapsed.as_millis() >= 300 && p.status == 200, "late but whole")),
        ("truncated_body@xero", |p, _| assert!(serde_json::from_slice::<Value>(p.body.as_ref().unwrap()).is_err(), "the JSON is cut")),
        ("shifting_offsets@xero", |p, sb| {
            assert_eq!(p.status, 200, "the page is served");
            assert_eq!(churn(sb, "xero"), 2, "an earlier record was deleted, shifting the offsets, and another updated");
            assert_eq!(p.json()["pagination"]["itemCount"], sb.with_world(|w| w.xero.invoices.iter().filter(|d| !d.has(concord_sandbox::record::doc_flags::DELETED)).count()), "the count reflects the deletion");
        }),
        ("cursor_expiry@xero", |p, _| assert_eq!(p.status, 200, "Xero pages by number: there is no cursor to expire")),
        ("duplicate_delivery@xero", |p, _| {
            let inv = p.json()["Invoices"].as_array().unwrap().clone();
            assert_eq!(inv.first().unwrap()["InvoiceID"], inv.last().unwrap()["InvoiceID"], "the first invoice comes again");
        }),
        ("schema_drift_rename@xero", |p, _| {
            let inv = &p.json()["Invoices"][0];
            assert!(inv.get("AmountDue").is_none() && inv.get("AmountOutstanding").is_some(), "AmountDue is served as AmountOutstanding");
        }),
        ("schema_drift_nest@xero", |p, _| {
            let line = &p.json()["Invoices"][0]["LineItems"][0];
            assert!(line.get("TaxType").is_none() && line["Taxes"][0].get("TaxType").is_some(), "TaxType moved into Taxes[]");
        }),
        ("token_revocation@xero", |p, _| {
            assert_eq!(p.status, 401, "a revoked token is refused");
            assert_eq!(p.json()["Detail"], "AuthenticationUnsuccessful", "as Xero refuses it");
        }),
    ];
    for (rule, check) in cases {
        faults(&sb, &[rule]);
        let p = probe(page2()).await;
        check(&p, &sb);
        faults(&sb, &[]);
    }
    sb.shutdown().await;
}
