//! HubSpot as a client sees it: OAuth with PKCE and a client secret, list
//! paging on `paging.next.after`, search, writes, the ten-second limit and
//! every fault kind.

use crate::support::*;
use concord_sandbox::Provider;
use serde_json::{json, Value};

#[tokio::test]
async fn hubspot_oauth_paging_writes_and_rate_limit() {
    let sb = start(150, true).await;
    let base = sb.base_url(Provider::HubSpot);
    let creds = sb.credentials(Provider::HubSpot);
    let c = client();

    // OAuth: authorize, exchange with PKCE and the client secret, refresh.
    let (verifier, challenge) = pkce();
    let redirect = "http://127.0.0.1:9/callback";
    let q = authorize(&creds.authorize_url, &[("client_id", &creds.client_id), ("redirect_uri", redirect), ("scope", "crm.objects.contacts.read"), ("state", "xyz"), ("code_challenge", &challenge), ("code_challenge_method", "S256")]).await;
    assert_eq!(pair(&q, "state"), Some("xyz"), "state must come back unchanged");
    let code = pair(&q, "code").expect("a code is issued").to_string();
    let secret = creds.client_secret.clone().unwrap();
    let bad = probe(c.post(&creds.token_url).form(&[("grant_type", "authorization_code"), ("client_id", &creds.client_id), ("client_secret", &secret), ("redirect_uri", redirect), ("code", &code), ("code_verifier", "wrong")])).await;
    assert_eq!(bad.status, 400, "a wrong PKCE verifier is refused");
    assert_eq!(bad.json()["status"], "BAD_AUTH_CODE", "HubSpot names the failure in `status`");
    let q = authorize(&creds.authorize_url, &[("client_id", &creds.client_id), ("redirect_uri", redirect), ("code_challenge", &challenge), ("code_challenge_method", "S256")]).await;
    let code = pair(&q, "code").unwrap().to_string();
    let tok = probe(c.post(&creds.token_url).form(&[("grant_type", "authorization_code"), ("client_id", &creds.client_id), ("client_secret", &secret), ("redirect_uri", redirect), ("code", &code), ("code_verifier", &verifier)])).await;
    assert_eq!(tok.status, 200, "the right verifier and secret get tokens");
    let t = tok.json();
    assert_eq!(t["token_type"], "bearer", "HubSpot token type");
    assert_eq!(t["expires_in"], 1800, "HubSpot access tokens live 30 minutes");
    let refresh = t["refresh_token"].as_str().unwrap().to_string();
    let r2 = probe(c.post(&creds.token_url).form(&[("grant_type", "refresh_token"), ("client_id", &creds.client_id), ("client_secret", &secret), ("refresh_token", &refresh)])).await.json();
    assert_eq!(r2["refresh_token"], refresh, "HubSpot does not rotate refresh tokens");
    let access = r2["access_token"].as_str().unwrap().to_string();

    // Account details: the hub id a private-app token cannot learn from token info.
    let details = probe(c.get(format!("{base}/account-info/v3/details")).bearer_auth(&access)).await;
    assert_eq!(details.status, 200, "a valid token reads its account details");
    let d = details.json();
    assert_eq!(d["portalId"], concord_sandbox::business::HUBSPOT_HUB_ID, "portalId is the hub id the OAuth token info also reports");
    assert!(d["timeZone"].is_string() && d["companyCurrency"].is_string() && d["uiDomain"].is_string(), "the details carry HubSpot's account fields");
    let anon = probe(c.get(format!("{base}/account-info/v3/details"))).await;
    assert_eq!(anon.status, 401, "account details need a token like every other endpoint");
    assert_eq!(anon.json()["category"], "INVALID_AUTHENTICATION", "refused in HubSpot's error shape");

    // Paging to the end on paging.next.after.
    let mut after: Option<String> = None;
    let mut ids = Vec::new();
    loop {
        let mut req = c.get(format!("{base}/crm/v3/objects/contacts")).bearer_auth(&access).query(&[("limit", "100"), ("properties", "email,phone,company")]);
        if let Some(a) = &after {
            req = req.query(&[("after", a)]);
        }
        let p = probe(req).await;
        assert_eq!(p.status, 200, "a list page is served");
        assert!(p.header("X-HubSpot-RateLimit-Remaining").is_some(), "HubSpot sends its rate-limit headers");
        let body = p.json();
        for r in body["results"].as_array().unwrap() {
            assert!(r["properties"]["lastmodifieddate"].is_string(), "default properties are always included");
            assert!(r["properties"].as_object().unwrap().contains_key("phone"), "requested properties are included even when null");
            ids.push(r["id"].as_str().unwrap().to_string());
        }
        match body["paging"]["next"]["after"].as_str() {
            Some(a) => after = Some(a.to_string()),
            None => break,
        }
    }
    assert_eq!(ids.len(), live(&sb, Provider::HubSpot, "contacts"), "paging to the end yields every contact once");

    // Search on lastmodifieddate, then a PATCH and a batch update.
    let s = probe(c.post(format!("{base}/crm/v3/objects/contacts/search")).bearer_auth(&access).json(&json!({
        "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}], "limit": 5, "properties": ["email"]}))).await.json();
    assert_eq!(s["total"], ids.len(), "search reports the total matching");
    assert_eq!(s["paging"]["next"]["after"], "5", "search pages by offset");
    let id = &ids[0];
    let patched = probe(c.patch(format!("{base}/crm/v3/objects/contacts/{id}")).bearer_auth(&access).json(&json!({"properties": {"phone": "0400 000 000"}}))).await;
    assert_eq!(patched.status, 200, "PATCH applies");
    assert_eq!(patched.json()["properties"]["phone"], "0400 000 000", "the patched value is served back");
    let bad = probe(c.patch(format!("{base}/crm/v3/objects/contacts/{id}")).bearer_auth(&access).json(&json!({"properties": {"nonsense": "x"}}))).await;
    assert_eq!((bad.status, bad.json()["category"].clone()), (400, json!("VALIDATION_ERROR")), "unknown properties are refused");
    let batch = probe(c.post(format!("{base}/crm/v3/objects/contacts/batch/update")).bearer_auth(&access).json(&json!({"inputs": [{"id": id, "properties": {"concord_link": "L1"}}, {"id": ids[1], "properties": {"city": "Hobart"}}]}))).await;
    assert_eq!(batch.json()["status"], "COMPLETE", "batch update completes");
    assert_eq!(sb.counters()["writes"]["by_record"].as_array().unwrap().iter().find(|r| r["id"] == *id).unwrap()["applied"], 2, "each applied write is counted once per record");

    // The ten-second limit: 100 calls, then 429 with Retry-After.
    let mut throttled = None;
    for _ in 0..120 {
        let p = probe(c.get(format!("{base}/crm/v3/objects/contacts?limit=1")).bearer_auth(&access)).await;
        if p.status == 429 {
            throttled = Some(p);
            break;
        }
    }
    let p = throttled.expect("HubSpot refuses the 101st call within ten seconds");
    assert!(p.header("Retry-After").and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| (1..=10).contains(&s)), "429 carries Retry-After within the window");
    assert_eq!(p.json()["errorType"], "RATE_LIMIT", "HubSpot's 429 body names the error type");
    sb.shutdown().await;
}

#[tokio::test]
async fn hubspot_fault_kinds() {
    let sb = start(150, false).await;
    let base = sb.base_url(Provider::HubSpot);
    let token = sb.credentials(Provider::HubSpot).static_token.unwrap();
    let c = client();
    let page2 = || c.get(format!("{base}/crm/v3/objects/contacts")).bearer_auth(&token).query(&[("limit", "10"), ("after", "20"), ("properties", "phone,address")]);
    type Check = fn(&Probe, &concord_sandbox::SandboxHandle);
    let cases: Vec<(&str, Check)> = vec![
        ("server_error@hubspot:status=502", |p, _| {
            assert_eq!(p.status, 502, "the chosen 5xx is served");
            assert_eq!(p.json()["category"], "INTERNAL_ERROR", "in HubSpot's error shape");
        }),
        ("rate_limit_storm@hubspot", |p, _| {
            assert_eq!(p.status, 429, "a storm serves 429");
            assert!(p.header("Retry-After").is_some(), "with Retry-After");
        }),
        ("connection_reset@hubspot", |p, _| assert!(p.body.is_err(), "the body never arrives")),
        ("slow_response@hubspot:delay_ms=300", |p, _| assert!(p.elapsed.as_millis() >= 300 && p.status == 200, "the response is late but whole")),
        ("truncated_body@hubspot", |p, _| {
            let b = p.body.as_ref().expect("a truncated body still arrives");
            assert!(serde_json::from_slice::<Value>(b).is_err(), "but it is not valid JSON");
        }),
        ("shifting_offsets@hubspot", |p, sb| {
            assert_eq!(p.status, 200, "the page is served");
            assert_eq!(churn(sb, "hubspot"), 2, "one record before the cursor was deleted and one updated");
        }),
        ("cursor_expiry@hubspot", |p, _| {
            assert_eq!(p.status, 400, "an expired cursor is a 400");
            assert!(p.json()["message"].as_str().unwrap().contains("expired"), "saying the cursor expired");
        }),
        ("duplicate_delivery@hubspot", |p, _| {
            let ids: Vec<Value> = p.json()["results"].as_array().unwrap().iter().map(|r| r["id"].clone()).collect();
            assert_eq!(ids.first(), ids.last(), "the first record is delivered again");
            assert_eq!(ids.len(), 11, "in a page of ten");
        }),
        ("schema_drift_rename@hubspot", |p, _| {
            let props = &p.json()["results"][0]["properties"];
            assert!(props.get("phone").is_none() && props.get("phone_number").is_some(), "phone is served as phone_number");
        }),
        ("schema_drift_nest@hubspot", |p, _| {
            let r = &p.json()["results"][0];
            assert!(r["properties"].get("address").is_none() && r["addresses"][0].get("address").is_some(), "address moved into addresses[]");
        }),
        ("token_revocation@hubspot", |p, _| {
            assert_eq!(p.status, 401, "a revoked token is refused");
            assert_eq!(p.json()["category"], "INVALID_AUTHENTICATION", "as HubSpot refuses it");
        }),
    ];
    for (rule, check) in cases {
        faults(&sb, &[rule]);
        let p = probe(page2()).await;
        check(&p, &sb);
        faults(&sb, &[]);
    }
    let after = probe(page2()).await;
    assert_eq!(after.status, 401, "revocation lasts beyond the faulted request");
    sb.shutdown().await;
}
