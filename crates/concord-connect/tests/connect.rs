//! Connecting against the provider sandboxes: the sign-in for every provider,
//! the redirect checks, and the token lifecycle under concurrency, lost
//! answers, forced 401s and revocation. Secrets go to an in-memory store here;
//! `tests/keychain.rs` uses the real keychain.

mod support;

use concord_connect::credentials::{with_token, OAuthCredentials, ReauthHook};
use concord_connect::flow::{authorize, check_static_token, discover_tenants, AuthorizeParams, Authorized};
use concord_connect::token::{HttpTransport, TokenBundle, TokenClient, TokenError, TokenTransport};
use concord_connect::{descriptor, vault, ConnectError};
use concord_core::{AuthFailure, Credentials, Provider, SystemClock};
use concord_sandbox::{RateLimitConfig, Sandbox, SandboxConfig, SandboxHandle};
use concord_secret::{MemoryStore, SecretStore};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{FollowingBrowser, LossyTransport};

fn sp(p: Provider) -> concord_sandbox::Provider {
    p.as_str().parse().unwrap()
}

async fn sandbox(scale: f64) -> SandboxHandle {
    Sandbox::start(SandboxConfig {
        customers: 20,
        time_scale: scale,
        rate_limits: RateLimitConfig { enabled: false, ..Default::default() },
        ..Default::default()
    })
    .await
    .expect("the sandbox must start")
}

fn params(sb: &SandboxHandle, p: Provider) -> AuthorizeParams {
    let creds = sb.credentials(sp(p));
    let d = descriptor(p);
    AuthorizeParams {
        provider: p,
        endpoints: d.endpoints(Some(&sb.base_url(sp(p)))).unwrap(),
        client_id: creds.client_id,
        client_secret: creds.client_secret.map(concord_core::Secret::new),
        scopes: d.scopes.iter().map(|s| s.to_string()).collect(),
        timeout: Duration::from_secs(10),
    }
}

async fn sign_in(sb: &SandboxHandle, p: Provider, browser: &FollowingBrowser) -> Result<Authorized, ConnectError> {
    authorize(&params(sb, p), browser, Arc::new(HttpTransport::default()), &|_| {}).await
}

/// Signs in to Xero and files the tokens as connection 1; returns the credentials and the store.
async fn xero_credentials(sb: &SandboxHandle, transport: Arc<dyn TokenTransport>) -> (Arc<OAuthCredentials>, MemoryStore, Arc<AtomicUsize>) {
    let got = sign_in(sb, Provider::Xero, &FollowingBrowser::default()).await.expect("the Xero sign-in must succeed");
    let p = params(sb, Provider::Xero);
    let mut bundle = TokenBundle { client_id: p.client_id.clone(), ..Default::default() };
    bundle.apply(&got.tokens, chrono::Utc::now(), None);
    let store = MemoryStore::default();
    let dyn_store: Arc<dyn SecretStore> = Arc::new(store.clone());
    vault::save(&dyn_store, &vault::account(1), &bundle).await.unwrap();
    let client = TokenClient { descriptor: descriptor(Provider::Xero), token_url: p.endpoints.token.to_string(), client_id: p.client_id, client_secret: None, transport };
    let reauths = Arc::new(AtomicUsize::new(0));
    let r = reauths.clone();
    let hook: ReauthHook = Arc::new(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let creds = OAuthCredentials::new(vault::account(1), dyn_store, client, Arc::new(SystemClock)).on_reauth(hook);
    (Arc::new(creds), store, reauths)
}

/// One Xero API call; returns the status.
async fn xero_call(sb: &SandboxHandle, http: &reqwest::Client, token: &concord_core::Secret) -> u16 {
    http.get(format!("{}/api.xro/2.0/Contacts?page=1", sb.base_url(concord_sandbox::Provider::Xero)))
        .bearer_auth(token.expose())
        .header("xero-tenant-id", sb.xero_tenant_id())
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(599)
}

fn refreshes(sb: &SandboxHandle) -> u64 {
    sb.counters()["refreshes"]["xero"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn every_provider_signs_in_and_names_its_tenant() {
    let sb = sandbox(1.0).await;
    for p in Provider::ALL {
        let browser = FollowingBrowser::default();
        let got = sign_in(&sb, p, &browser).await.unwrap_or_else(|e| panic!("{p}: the sign-in must succeed: {e}"));
        let url = browser.seen.lock().unwrap()[0].clone();
        assert_eq!(url.contains("code_challenge_method=S256"), descriptor(p).pkce, "{p}: PKCE S256 must be sent exactly where the provider takes it");
        assert!(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"), "{p}: the redirect must be a loopback IP literal");
        assert!(!got.granted_scopes.is_empty(), "{p}: granted scopes must be recorded");
        let endpoints = descriptor(p).endpoints(Some(&sb.base_url(sp(p)))).unwrap();
        let tenants = discover_tenants(p, &endpoints, &got.tokens.access_token, &got.callback).await.unwrap_or_else(|e| panic!("{p}: tenant discovery failed: {e}"));
        let want = match p {
            Provider::Xero => sb.xero_tenant_id(),
            Provider::QuickBooks => sb.quickbooks_realm_id().to_string(),
            Provider::Shopify => concord_sandbox::business::SHOP_DOMAIN.to_string(),
            Provider::HubSpot => concord_sandbox::business::HUBSPOT_HUB_ID.to_string(),
        };
        assert_eq!(tenants[0].id, want, "{p}: the tenant must be the sandbox's organisation/realm/shop/hub");
    }
}

#[tokio::test]
async fn a_hubspot_private_app_token_names_its_hub_or_is_refused_clearly() {
    let sb = sandbox(1.0).await;
    let endpoints = descriptor(Provider::HubSpot).endpoints(Some(&sb.base_url(sp(Provider::HubSpot)))).unwrap();
    let token = concord_core::Secret::new(sb.credentials(sp(Provider::HubSpot)).static_token.unwrap());
    let tenant = check_static_token(Provider::HubSpot, &endpoints, &token).await.expect("the sandbox's private-app token must be accepted");
    let hub = concord_sandbox::business::HUBSPOT_HUB_ID.to_string();
    assert_eq!(tenant.as_ref().map(|t| t.id.as_str()), Some(hub.as_str()), "a private-app connection must record the hub id (portalId) as its tenant");
    assert_eq!(tenant.and_then(|t| t.name), Some(format!("HubSpot portal {hub}")), "the tenant gets a readable name instead of \"Not recorded\"");
    let wrong = check_static_token(Provider::HubSpot, &endpoints, &concord_core::Secret::new("pat-na1-not-a-real-token".to_string())).await;
    match wrong {
        Err(ConnectError::AuthRejected(m)) => assert!(m.contains("token"), "the refusal must point at the token: {m}"),
        other => panic!("a wrong private-app token must be refused, not connected without a hub: {other:?}"),
    }
}

#[tokio::test]
async fn a_forged_state_or_a_foreign_host_is_refused() {
    let sb = sandbox(1.0).await;
    let forged = FollowingBrowser {
        tamper: Some(|loc| {
            let mut u = url::Url::parse(loc).unwrap();
            let pairs: Vec<(String, String)> = u.query_pairs().into_owned().map(|(k, v)| if k == "state" { (k, "forged".into()) } else { (k, v) }).collect();
            u.query_pairs_mut().clear().extend_pairs(pairs);
            u.to_string()
        }),
        ..Default::default()
    };
    let err = sign_in(&sb, Provider::Xero, &forged).await.unwrap_err();
    assert!(matches!(err, ConnectError::AuthRejected(_)) && err.to_string().contains("wrong state"), "a forged state must be refused clearly: {err}");
    let foreign = FollowingBrowser { tamper: Some(|loc| loc.replace("127.0.0.1", "evil.example")), ..Default::default() };
    let err = sign_in(&sb, Provider::Xero, &foreign).await.unwrap_err();
    assert!(err.to_string().contains("evil.example"), "a redirect addressed to another host must be refused and named: {err}");
    assert_eq!(sb.counters()["token_grants"]["xero"].as_u64(), Some(0), "no code may be exchanged after a refused redirect");
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused() {
    let sb = sandbox(1.0).await;
    let p = params(&sb, Provider::Xero);
    let pkce = concord_connect::pkce::Pkce::new();
    let redirect = "http://127.0.0.1:9/callback";
    let url = concord_connect::flow::authorize_url(descriptor(Provider::Xero), &p, redirect, "S", Some(&pkce));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let loc = http.get(url.as_str()).send().await.unwrap().headers()["location"].to_str().unwrap().to_string();
    let code = url::Url::parse(&loc).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.to_string();
    let client = TokenClient { descriptor: descriptor(Provider::Xero), token_url: p.endpoints.token.to_string(), client_id: p.client_id, client_secret: None, transport: Arc::new(HttpTransport::default()) };
    let wrong = concord_connect::pkce::Pkce::new();
    let err = client.exchange_code(&concord_core::Secret::new(code), redirect, Some(&wrong.verifier)).await.unwrap_err();
    match err {
        TokenError::InvalidGrant(m) => assert!(m.contains("code_verifier"), "the refusal must say the verifier did not match: {m}"),
        other => panic!("a wrong verifier must be an invalid grant, got {other:?}"),
    }
}

#[tokio::test]
async fn eight_callers_share_one_refresh_at_a_time_over_a_long_run() {
    // Scale 60: Xero's 30-minute access tokens last 30 real seconds.
    let sb = sandbox(60.0).await;
    let (creds, store, reauths) = xero_credentials(&sb, Arc::new(HttpTransport::default())).await;
    let before = refreshes(&sb);
    let run = Duration::from_secs(std::env::var("CONCORD_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(70));
    let started = Instant::now();
    let (ok, unauthorized, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let sb = Arc::new(sb);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (creds, sb, ok, unauthorized, failed) = (creds.clone(), sb.clone(), ok.clone(), unauthorized.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            while started.elapsed() < run {
                let result = with_token(creds.as_ref(), |t| {
                    let (sb, http, unauthorized) = (sb.clone(), http.clone(), unauthorized.clone());
                    async move {
                        let s = xero_call(&sb, &http, &t).await;
                        if s == 401 {
                            unauthorized.fetch_add(1, Ordering::SeqCst);
                        }
                        (s, s)
                    }
                })
                .await;
                match result {
                    Ok(200) => ok.fetch_add(1, Ordering::SeqCst),
                    _ => failed.fetch_add(1, Ordering::SeqCst),
                };
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let gauge = creds.gauge();
    let sandbox_refreshes = refreshes(&sb) - before;
    eprintln!(
        "soak: {:?}, {} requests ok, {} failed, {} answered 401, {} refreshes (sandbox counted {}), max in flight {}",
        started.elapsed(), ok.load(Ordering::SeqCst), failed.load(Ordering::SeqCst), unauthorized.load(Ordering::SeqCst), gauge.refreshes(), sandbox_refreshes, gauge.max_in_flight()
    );
    assert_eq!(failed.load(Ordering::SeqCst), 0, "no request may fail for authentication over the run");
    assert_eq!(unauthorized.load(Ordering::SeqCst), 0, "proactive refresh must keep every request from meeting an expired token");
    assert_eq!(gauge.max_in_flight(), 1, "exactly one refresh may be in flight at any moment");
    assert!(gauge.refreshes() >= 2, "a {run:?} run with 30-second tokens must refresh more than once");
    assert_eq!(gauge.refreshes(), sandbox_refreshes, "every refresh we counted must be one the sandbox served, and no more");
    assert!(gauge.refreshes() <= run.as_secs() / 20 + 1, "refreshes must happen about once per token lifetime, not per request");
    assert_eq!(reauths.load(Ordering::SeqCst), 0, "a healthy run must never ask for re-authorisation");
    let kept = TokenBundle::from_secret(&store.get(&vault::account(1)).unwrap().unwrap()).unwrap();
    assert!(kept.previous_refresh.is_some(), "the keychain must hold the rotated refresh token and remember the previous one");
}

#[tokio::test]
async fn a_lost_refresh_answer_is_retried_with_the_same_token_inside_the_grace_window() {
    let sb = sandbox(1.0).await;
    let lossy = Arc::new(LossyTransport::default());
    lossy.lose.lock().unwrap().push(0);
    let (creds, _store, reauths) = xero_credentials(&sb, lossy.clone()).await;
    let http = reqwest::Client::new();
    let first = creds.current().await.unwrap();
    // The provider expires the token early; the next call meets a 401 and must refresh.
    reqwest::Client::new().post(format!("{}/tokens/expire?provider=xero", sb.control_url())).send().await.unwrap();
    assert_eq!(xero_call(&sb, &http, &first).await, 401, "an expired token must be refused by the sandbox");
    let fresh = creds.refused(&first).await.expect("the lost answer must be retried and succeed");
    assert_eq!(xero_call(&sb, &http, &fresh).await, 200, "the token from the retried refresh must work");
    assert_eq!(lossy.count.load(Ordering::SeqCst), 2, "one lost refresh and one retry were sent");
    assert_eq!(refreshes(&sb), 2, "the sandbox must have served both, the second inside Xero's grace window");
    assert_eq!(reauths.load(Ordering::SeqCst), 0, "a lost answer is not a reason to re-authorise");
}

#[tokio::test]
async fn a_burst_of_401s_costs_exactly_one_refresh() {
    let sb = sandbox(1.0).await;
    let (creds, _store, _) = xero_credentials(&sb, Arc::new(HttpTransport::default())).await;
    let stale = creds.current().await.unwrap();
    reqwest::Client::new().post(format!("{}/tokens/expire?provider=xero", sb.control_url())).send().await.unwrap();
    let sb = Arc::new(sb);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (creds, sb, stale) = (creds.clone(), sb.clone(), stale.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            assert_eq!(xero_call(&sb, &http, &stale).await, 401, "the expired token must be refused");
            let fresh = creds.refused(&stale).await.expect("a refused token must be replaced");
            xero_call(&sb, &http, &fresh).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200, "every caller must succeed with the replacement token");
    }
    assert_eq!(refreshes(&sb), 1, "eight callers refused at once must share one refresh");
}

#[tokio::test]
async fn revocation_needs_reauthorisation_once_and_then_stops_asking() {
    let sb = sandbox(1.0).await;
    let (creds, store, reauths) = xero_credentials(&sb, Arc::new(HttpTransport::default())).await;
    sb.set_faults(concord_sandbox::FaultPlan { rules: vec!["token_revocation@xero:at=3".parse().unwrap()] });
    let http = reqwest::Client::new();
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        let r = with_token(creds.as_ref(), |t| {
            let (sb, http) = (&sb, &http);
            async move {
                let s = xero_call(sb, http, &t).await;
                (s, s)
            }
        })
        .await;
        outcomes.push(r);
    }
    assert!(matches!(outcomes[0], Ok(200)) && matches!(outcomes[1], Ok(200)), "requests before the revocation succeed: {outcomes:?}");
    assert!(matches!(&outcomes[2], Err(AuthFailure::NeedsReauth(_))), "the revoked request must end in needs-reauthorisation: {:?}", outcomes[2]);
    assert!(outcomes[3..].iter().all(|o| matches!(o, Err(AuthFailure::NeedsReauth(_)))), "later requests must fail the same way");
    assert_eq!(reauths.load(Ordering::SeqCst), 1, "the connection must be marked exactly once");
    assert_eq!(refreshes(&sb), 0, "a refused refresh is not counted, and no further refresh may be attempted");
    assert!(store.get(&vault::account(1)).unwrap().is_some(), "nothing is deleted when access is revoked");
}
