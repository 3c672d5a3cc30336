//! QuickBooks Online as a client sees it: Basic client auth, realmId on the
//! redirect, rotating refresh tokens, STARTPOSITION/MAXRESULTS paging to a
//! short page, CDC, SyncToken conflicts, requestid replay, the per-minute
//! limit and every fault kind.

use crate::support::*;
use concord_sandbox::Provider;
use serde_json::{json, Value};

async fn qbo_token(sb: &concord_sandbox::SandboxHandle) -> (String, String) {
    let creds = sb.credentials(Provider::QuickBooks);
    let redirect = "http://127.0.0.1:4545/cb";
    let q = authorize(&creds.authorize_url, &[("client_id", &creds.client_id), ("response_type", "code"), ("scope", "com.intuit.quickbooks.accounting"), ("redirect_uri", redirect), ("state", "q1")]).await;
    assert_eq!(pair(&q, "realmId"), Some(sb.quickbooks_realm_id()), "QuickBooks adds realmId to the redirect");
    let code = pair(&q, "code").unwrap().to_string();
    let unauth = probe(client().post(&creds.token_url).form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", redirect)])).await;
    assert_eq!(unauth.status, 401, "without the client secret the exchange is refused");
    let q = authorize(&creds.authorize_url, &[("client_id", &creds.client_id), ("response_type", "code"), ("redirect_uri", redirect)]).await;
    let code = pair(&q, "code").unwrap().to_string();
    let t = probe(client().post(&creds.token_url).basic_auth(&creds.client_id, creds.client_secret.as_ref()).form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", redirect)])).await;
    assert_eq!(t.status, 200, "Basic client auth gets tokens");
    let t = t.json();
    assert_eq!(t["expires_in"], 3600, "QuickBooks access tokens live an hour");
    assert_eq!(t["x_refresh_token_expires_in"], 8_640_000, "refresh tokens live 100 days");
    (t["access_token"].as_str().unwrap().to_string(), t["refresh_token"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn quickbooks_oauth_paging_writes_and_rate_limit() {
    let sb = start(150, true).await;
    let creds = sb.credentials(Provider::QuickBooks);
    let api = format!("{}/v3/company/{}", sb.base_url(Provider::QuickBooks), sb.quickbooks_realm_id());
    let c = client();
    let (access, refresh) = qbo_token(&sb).await;
    let rotated = probe(c.post(&creds.token_url).basic_auth(&creds.client_id, creds.client_secret.as_ref()).form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])).await.json();
    assert_ne!(rotated["refresh_token"].as_str(), Some(refresh.as_str()), "a refresh returns a new refresh token");
    let reuse = probe(c.post(&creds.token_url).basic_auth(&creds.client_id, creds.client_secret.as_ref()).form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])).await;
    assert_eq!((reuse.status, reuse.json()["error"].clone()), (400, json!("invalid_grant")), "the superseded refresh token is dead");

    let mut start = 1;
    let mut ids = Vec::new();
    loop {
        let q = format!("SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > '2000-01-01T00:00:00+10:00' STARTPOSITION {start} MAXRESULTS 40");
        let body = probe(c.get(format!("{api}/query")).bearer_auth(&access).query(&[("query", q.as_str()), ("minorversion", "75")])).await.json();
        let page = body["QueryResponse"]["Customer"].as_array().cloned().unwrap_or_default();
        ids.extend(page.iter().map(|c| c["Id"].as_str().unwrap().to_string()));
        if page.len() < 40 {
            break;
        }
        assert_eq!(body["QueryResponse"]["startPosition"], start, "the response echoes startPosition");
        start += 40;
    }
    assert_eq!(ids.len(), live(&sb, Provider::QuickBooks, "customers"), "paging to a short page reads every customer");
    let or = probe(c.get(format!("{api}/query")).bearer_auth(&access).query(&[("query", "SELECT * FROM Customer WHERE Id = '1' OR Id = '2'")])).await;
    assert_eq!((or.status, or.json()["Fault"]["type"].clone()), (400, json!("ValidationFault")), "OR is refused");

    // Sparse update, stale SyncToken, requestid replay.
    let cust = probe(c.get(format!("{api}/customer/1")).bearer_auth(&access)).await.json();
    let token = cust["Customer"]["SyncToken"].as_str().unwrap().to_string();
    let update = |sync: &str, rid: &str| c.post(format!("{api}/customer")).bearer_auth(&access).query(&[("requestid", rid)]).json(&json!({"Id": "1", "SyncToken": sync, "sparse": true, "PrimaryEmailAddr": {"Address": "accounts@example.com"}}));
    let ok = probe(update(&token, "r-1")).await;
    assert_eq!(ok.status, 200, "a sparse update with the current SyncToken applies");
    assert_ne!(ok.json()["Customer"]["SyncToken"], token.as_str(), "the SyncToken moves on");
    let replay = probe(update(&token, "r-1")).await;
    assert_eq!(replay.body.as_ref().unwrap(), ok.body.as_ref().unwrap(), "the same requestid replays the original response");
    let stale = probe(update(&token, "r-2")).await;
    assert_eq!(stale.status, 400, "a stale SyncToken is refused");
    assert_eq!(stale.json()["Fault"]["Error"][0]["code"], "5010", "with the Stale Object Error");
    let by_record = sb.counters()["writes"]["by_record"].clone();
    assert_eq!(by_record.as_array().unwrap().iter().find(|r| r["provider"] == "quickbooks" && r["id"] == "1").unwrap()["applied"], 1, "the replay and the stale write applied nothing");

    let cdc = probe(c.get(format!("{api}/cdc")).bearer_auth(&access).query(&[("entities", "Customer,Invoice"), ("changedSince", "2100-01-01T00:00:00Z")])).await;
    assert_eq!(cdc.status, 200, "a CDC call is served");
    let too_old = probe(c.get(format!("{api}/cdc")).bearer_auth(&access).query(&[("entities", "Customer"), ("changedSince", "2001-01-01T00:00:00Z")])).await;
    assert_eq!(too_old.status, 400, "CDC refuses more than 30 days back");

    let mut throttled = None;
    for _ in 0..520 {
        let p = probe(c.get(format!("{api}/customer/2")).bearer_auth(&access)).await;
        if p.status == 429 {
            throttled = Some(p);
            break;
        }
    }
    let p = throttled.expect("QuickBooks refuses the 501st call in a minute");
    assert_eq!(p.json()["Fault"]["Error"][0]["code"], "3001", "with ThrottleExceeded");
    assert!(p.header("Retry-After").is_some(), "and Retry-After");
    sb.shutdown().await;
}

#[tokio::test]
async fn quickbooks_fault_kinds() {
    let sb = start(150, false).await;
    let (access, _) = qbo_token(&sb).await;
    let api = format!("{}/v3/company/{}", sb.base_url(Provider::QuickBooks), sb.quickbooks_realm_id());
    let c = client();
    let page2 = || c.get(format!("{api}/query")).bearer_auth(&access).query(&[("query", "SELECT * FROM Invoice STARTPOSITION 11 MAXRESULTS 10")]);
    type Check = fn(&Probe, &concord_sandbox::SandboxHandle);
    let cases: Vec<(&str, Check)> = vec![
        ("server_error@quickbooks", |p, _| {
            assert_eq!(p.status, 500, "a 500 is served");
            assert_eq!(p.json()["Fault"]["type"], "SystemFault", "in Intuit's fault shape");
        }),
        ("rate_limit_storm@quickbooks", |p, _| {
            assert_eq!(p.status, 429, "a storm serves 429");
            assert_eq!(p.json()["Fault"]["Error"][0]["code"], "3001", "ThrottleExceeded");
        }),
        ("connection_reset@quickbooks", |p, _| assert!(p.body.is_err(), "the body never arrives")),
        ("slow_response@quickbooks:delay_ms=300", |p, _| assert!(p.elapsed.as_millis() >= 300 && p.status == 200, "late but whole")),
        ("truncated_body@quickbooks", |p, _| assert!(serde_json::from_slice::<Value>(p.body.as_ref().unwrap()).is_err(), "the JSON is cut")),
        ("shifting_offsets@quickbooks", |p, sb| {
            assert_eq!(p.status, 200, "the page is served");
            assert_eq!(churn(sb, "quickbooks"), 2, "an earlier invoice was deleted and another updated");
        }),
        ("cursor_expiry@quickbooks", |p, _| assert_eq!(p.status, 200, "QuickBooks pages by position: there is no cursor to expire")),
        ("duplicate_delivery@quickbooks", |p, _| {
            let inv = p.json()["QueryResponse"]["Invoice"].as_array().unwrap().clone();
            assert_eq!(inv.first().unwrap()["Id"], inv.last().unwrap()["Id"], "the first invoice comes again");
        }),
        ("schema_drift_rename@quickbooks", |p, _| {
            let inv = &p.json()["QueryResponse"]["Invoice"][0];
            assert!(inv.get("Balance").is_none() && inv.get("OutstandingBalance").is_some(), "Balance is served as OutstandingBalance");
        }),
        ("schema_drift_nest@quickbooks", |p, _| {
            let tax = &p.json()["QueryResponse"]["Invoice"][0]["TxnTaxDetail"];
            assert!(tax.get("TotalTax").is_none() && tax["TaxLine"][0].get("Amount").is_some(), "the tax is only in TaxLine[]");
        }),
        ("token_revocation@quickbooks", |p, _| {
            assert_eq!(p.status, 401, "a revoked token is refused");
            assert_eq!(p.json()["Fault"]["Error"][0]["code"], "3200", "as Intuit refuses it");
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
