//! Shopify as a client sees it: OAuth with expiring offline tokens, the
//! custom-app static token, GraphQL paging on pageInfo, the updated_at
//! filter, mutations with userErrors, cost-based throttling and every fault
//! kind.

use crate::support::*;
use concord_sandbox::Provider;
use serde_json::{json, Value};

const PAGE: &str = "query Page($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id email phone firstName updatedAt defaultAddress { address1 city provinceCode zip } }
  }
}";

fn gql(c: &reqwest::Client, url: &str, token: &str, query: &str, vars: Value) -> reqwest::RequestBuilder {
    c.post(url).header("X-Shopify-Access-Token", token).json(&json!({"query": query, "variables": vars}))
}

#[tokio::test]
async fn shopify_oauth_paging_writes_and_throttling() {
    let sb = start(150, true).await;
    let base = sb.base_url(Provider::Shopify);
    let url = format!("{base}/admin/api/2025-01/graphql.json");
    let creds = sb.credentials(Provider::Shopify);
    let c = client();

    let q = authorize(&creds.authorize_url, &[("client_id", &creds.client_id), ("scope", "read_customers,write_customers"), ("redirect_uri", "http://127.0.0.1:3456/auth"), ("state", "n1")]).await;
    assert!(pair(&q, "shop").is_some() && pair(&q, "hmac").is_some(), "Shopify's redirect carries shop and hmac");
    let code = pair(&q, "code").unwrap().to_string();
    let t = probe(c.post(&creds.token_url).json(&json!({"client_id": creds.client_id, "client_secret": creds.client_secret, "code": code, "expiring": "1"}))).await.json();
    assert_eq!(t["expires_in"], 3600, "expiring offline tokens live an hour");
    let refresh = t["refresh_token"].as_str().expect("expiring tokens come with a refresh token").to_string();
    let r = probe(c.post(&creds.token_url).json(&json!({"client_id": creds.client_id, "client_secret": creds.client_secret, "grant_type": "refresh_token", "refresh_token": refresh}))).await.json();
    let access = r["access_token"].as_str().unwrap().to_string();
    assert_ne!(r["refresh_token"].as_str(), Some(refresh.as_str()), "the refresh token is replaced on each use");

    let mut after: Option<String> = None;
    let mut ids = Vec::new();
    loop {
        let p = probe(gql(&c, &url, &access, PAGE, json!({"first": 50, "after": after, "query": "updated_at:>'2000-01-01T00:00:00Z'"}))).await;
        assert_eq!(p.status, 200, "GraphQL answers 200");
        let body = p.json();
        assert!(body.get("errors").is_none(), "no errors: {body}");
        let cost = &body["extensions"]["cost"];
        assert!(cost["requestedQueryCost"].is_number() && cost["throttleStatus"]["currentlyAvailable"].is_number(), "every response reports its cost");
        let conn = &body["data"]["customers"];
        ids.extend(conn["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()));
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    assert_eq!(ids.len(), live(&sb, Provider::Shopify, "customers"), "paging on hasNextPage reads every customer");

    let bad = probe(gql(&c, &url, &access, "{ customers(first: 5) { nodes { id nonsense } } }", json!({}))).await.json();
    assert_eq!(bad["errors"][0]["extensions"]["code"], "undefinedField", "an unknown field is a GraphQL error as Shopify reports it");

    let m = "mutation U($input: CustomerInput!) { customerUpdate(input: $input) { customer { id note } userErrors { field message } } }";
    let ok = probe(gql(&c, &url, &access, m, json!({"input": {"id": ids[0], "note": "VIP"}}))).await.json();
    assert_eq!(ok["data"]["customerUpdate"]["customer"]["note"], "VIP", "customerUpdate applies");
    let missing = probe(gql(&c, &url, &access, m, json!({"input": {"id": "gid://shopify/Customer/1", "note": "x"}}))).await.json();
    assert_eq!(missing["data"]["customerUpdate"]["userErrors"][0]["field"], json!(["id"]), "an unknown id is a userError");
    let om = "mutation($input: OrderInput!) { orderUpdate(input: $input) { order { id note } userErrors { message } } }";
    let oid = sb.ground_truth().document_links.iter().find_map(|d| d.shopify_order_id.clone()).unwrap();
    let o = probe(gql(&c, &url, &access, om, json!({"input": {"id": oid, "note": "checked"}}))).await.json();
    assert_eq!(o["data"]["orderUpdate"]["order"]["note"], "checked", "orderUpdate applies");

    // Cost-based throttling: 250-node pages drain the 2,000-point bucket.
    let big = "{ orders(first: 250) { nodes { id name totalPriceSet { shopMoney { amount } } } } }";
    let mut throttled = None;
    for _ in 0..20 {
        let b = probe(gql(&c, &url, &access, big, json!({}))).await.json();
        if b["errors"][0]["extensions"]["code"] == "THROTTLED" {
            throttled = Some(b);
            break;
        }
    }
    let b = throttled.expect("the bucket runs dry");
    assert!(b["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"].as_f64().unwrap() < b["extensions"]["cost"]["requestedQueryCost"].as_f64().unwrap(), "throttled because the cost exceeds what is available");
    sb.shutdown().await;
}

#[tokio::test]
async fn shopify_fault_kinds() {
    let sb = start(150, false).await;
    let url = format!("{}/admin/api/2025-01/graphql.json", sb.base_url(Provider::Shopify));
    let token = sb.credentials(Provider::Shopify).static_token.expect("a custom-app token");
    let c = client();
    let first = probe(gql(&c, &url, &token, PAGE, json!({"first": 10}))).await.json();
    let cursor = first["data"]["customers"]["pageInfo"]["endCursor"].as_str().unwrap().to_string();
    let q = "query($after: String) { customers(first: 10, after: $after) { nodes { id email phone } }
      orders(first: 3) { nodes { id totalTaxSet { shopMoney { amount } } taxLines { priceSet { shopMoney { amount } } } } } }";
    let page2 = || gql(&c, &url, &token, q, json!({"after": cursor}));
    type Check = fn(&Probe, &concord_sandbox::SandboxHandle);
    let cases: Vec<(&str, Check)> = vec![
        ("server_error@shopify", |p, _| {
            assert_eq!(p.status, 500, "a 500 is served");
            assert!(p.json()["errors"].is_string(), "in Shopify's error shape");
        }),
        ("rate_limit_storm@shopify", |p, _| {
            assert_eq!(p.status, 429, "a storm serves 429");
            assert!(p.header("Retry-After").is_some_and(|v| v.ends_with(".0")), "Shopify sends Retry-After as a decimal");
        }),
        ("connection_reset@shopify", |p, _| assert!(p.body.is_err(), "the body never arrives")),
        ("slow_response@shopify:delay_ms=300", |p, _| assert!(p.elapsed.as_millis() >= 300 && p.status == 200, "late but whole")),
        ("truncated_body@shopify", |p, _| assert!(serde_json::from_slice::<Value>(p.body.as_ref().unwrap()).is_err(), "the JSON is cut")),
        ("shifting_offsets@shopify", |p, sb| {
            assert_eq!(p.status, 200, "the page is served");
            assert_eq!(churn(sb, "shopify"), 2, "the cursor's record was deleted and the one before updated");
        }),
        ("cursor_expiry@shopify", |p, _| {
            let b = p.json();
            assert!(b["errors"][0]["message"].as_str().unwrap().contains("cursor"), "an expired cursor is a GraphQL error");
            assert!(b["data"]["customers"].is_null(), "and the connection is null");
        }),
        ("duplicate_delivery@shopify", |p, _| {
            let n = p.json()["data"]["customers"]["nodes"].as_array().unwrap().clone();
            assert_eq!(n.first().unwrap()["id"], n.last().unwrap()["id"], "the first customer comes again");
        }),
        ("schema_drift_rename@shopify", |p, _| {
            let n = &p.json()["data"]["customers"]["nodes"][0];
            assert!(n["email"].is_null() && n["id"].is_string(), "email is silently null, as after Shopify moved it");
        }),
        ("schema_drift_nest@shopify", |p, _| {
            let o = &p.json()["data"]["orders"]["nodes"][0];
            assert!(o["totalTaxSet"].is_null() && o["taxLines"].is_array(), "the tax is only in taxLines[]");
        }),
        ("token_revocation@shopify", |p, _| {
            assert_eq!(p.status, 401, "a revoked token is refused");
            assert!(p.json()["errors"].as_str().unwrap().contains("Invalid API key or access token"), "as Shopify refuses it");
        }),
    ];
    for (rule, check) in cases {
        faults(&sb, &[rule]);
        let p = probe(page2()).await;
        check(&p, &sb);
        faults(&sb, &[]);
    }
    let restored = probe(c.post(format!("{}/tokens/restore", sb.control_url()))).await;
    assert_eq!(restored.status, 200, "the control API restores static tokens");
    assert_eq!(probe(page2()).await.status, 200, "and the custom-app token works again");
    sb.shutdown().await;
}
