//! The sign-in itself: authorize in the browser, receive the redirect, exchange the code,
//! and find out which organisation, realm, shop or hub the grant reaches.
//!
//! The browser is behind [`Opener`] so the same flow runs from the desktop app
//! (tauri-plugin-opener), the CLI ([`SystemBrowser`], which also prints the
//! URL for headless use) and tests (which follow the authorize URL with an
//! HTTP client, as a browser would).

use crate::error::ConnectError;
use crate::listener::Loopback;
use crate::pkce::{new_state, Pkce};
use crate::provider::{descriptor, Endpoints, OAuthDescriptor, TenantSource};
use crate::token::{TokenClient, TokenResponse, TokenTransport};
use concord_core::{Provider, Secret};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed future of an opener.
pub type OpenFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Shows the authorize URL to the user.
pub trait Opener: Send + Sync {
    /// Opens `url` in a browser (or lets a test follow it).
    fn open<'a>(&'a self, url: &'a str) -> OpenFuture<'a>;
}

/// The system browser through `open` (xdg-open, `open`, `start`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemBrowser;

impl Opener for SystemBrowser {
    fn open<'a>(&'a self, url: &'a str) -> OpenFuture<'a> {
        let url = url.to_string();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || open::that_detached(&url).map_err(|e| e.to_string()))
                .await
                .map_err(|e| e.to_string())?
        })
    }
}

/// What the sign-in needs.
#[derive(Debug, Clone)]
pub struct AuthorizeParams {
    pub provider: Provider,
    pub endpoints: Endpoints,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    /// Scopes to ask for.
    pub scopes: Vec<String>,
    /// How long to wait for the redirect.
    pub timeout: Duration,
}

/// A completed sign-in.
#[derive(Debug)]
pub struct Authorized {
    pub tokens: TokenResponse,
    /// Redirect parameters other than code and state (`realmId`, `shop`, ...).
    pub callback: BTreeMap<String, String>,
    /// Scopes the provider says it granted (or the requested ones when it does not say).
    pub granted_scopes: Vec<String>,
}

/// An organisation, realm, shop or hub a grant reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name: Option<String>,
}

/// Builds the authorize URL.
pub fn authorize_url(d: &OAuthDescriptor, p: &AuthorizeParams, redirect_uri: &str, state: &str, pkce: Option<&Pkce>) -> url::Url {
    let mut url = p.endpoints.authorize.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair("client_id", &p.client_id);
        q.append_pair("redirect_uri", redirect_uri);
        q.append_pair("scope", &d.join_scopes(&p.scopes));
        q.append_pair("state", state);
        if let Some(pkce) = pkce {
            q.append_pair("code_challenge", &pkce.challenge);
            q.append_pair("code_challenge_method", "S256");
        }
    }
    url
}

/// Runs the sign-in: listener, browser, redirect, code exchange.
///
/// `show_url` is called with the authorize URL before the browser opens (the CLI prints it).
pub async fn authorize(
    params: &AuthorizeParams,
    opener: &dyn Opener,
    transport: Arc<dyn TokenTransport>,
    show_url: &(dyn Fn(&str) + Send + Sync),
) -> Result<Authorized, ConnectError> {
    let d = descriptor(params.provider);
    if d.needs_client_secret() && params.client_secret.is_none() {
        return Err(ConnectError::InvalidInput(format!(
            "{} needs your own app's client secret: set it in an environment variable and pass --client-secret-env VAR (or type it in the masked field)",
            d.provider.display_name()
        )));
    }
    let listener = Loopback::bind().await?;
    let redirect_uri = listener.redirect_uri();
    let state = new_state();
    let pkce = d.pkce.then(Pkce::new);
    let url = authorize_url(d, params, &redirect_uri, &state, pkce.as_ref());
    let expected = state.clone();
    let timeout = params.timeout;
    let waiting = tokio::spawn(async move { listener.receive(&expected, timeout).await });
    show_url(url.as_str());
    if let Err(e) = opener.open(url.as_str()).await {
        // Not fatal: the URL was shown, the user can open it by hand.
        show_url(&format!("(the browser could not be opened: {e}; open the address above by hand)"));
    }
    let callback = waiting.await.map_err(|e| ConnectError::Unavailable(format!("the sign-in listener stopped: {e}")))??;
    let client = TokenClient {
        descriptor: d,
        token_url: params.endpoints.token.to_string(),
        client_id: params.client_id.clone(),
        client_secret: params.client_secret.clone(),
        transport,
    };
    let tokens = client.exchange_code(&callback.code, &redirect_uri, pkce.as_ref().map(|p| &p.verifier)).await.map_err(|e| match e {
        crate::token::TokenError::InvalidGrant(m) => ConnectError::AuthRejected(format!(
            "the provider refused the sign-in code ({m}); the PKCE verifier or redirect did not match, or the code expired. Run connect again"
        )),
        other => other.into(),
    })?;
    let granted_text = tokens.scope.clone().or_else(|| callback.params.get("scope").cloned());
    let granted_scopes = match granted_text {
        Some(t) => OAuthDescriptor::split_scopes(&t),
        None => OAuthDescriptor::split_scopes(&params.scopes.join(" ")),
    };
    Ok(Authorized { tokens, callback: callback.params, granted_scopes })
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap_or_default()
}

async fn get_json(req: reqwest::RequestBuilder, what: &str) -> Result<serde_json::Value, ConnectError> {
    let resp = req.send().await.map_err(|e| ConnectError::Unavailable(format!("{what} failed: {}", e.without_url())))?;
    let status = resp.status();
    if status.as_u16() == 401 || status.as_u16() == 403 {
        return Err(ConnectError::AuthRejected(format!("{what} was refused (HTTP {status}): the token is not valid")));
    }
    if !status.is_success() {
        return Err(ConnectError::Unavailable(format!("{what} failed with HTTP {status}")));
    }
    resp.json().await.map_err(|e| ConnectError::Unavailable(format!("{what} answered something unreadable: {}", e.without_url())))
}

/// Finds the tenants a token reaches.
pub async fn discover_tenants(provider: Provider, endpoints: &Endpoints, access: &Secret, callback: &BTreeMap<String, String>) -> Result<Vec<Tenant>, ConnectError> {
    let d = descriptor(provider);
    let api = endpoints.api.trim_end_matches('/');
    match d.tenant {
        TenantSource::XeroConnections => {
            let v = get_json(http().get(format!("{api}/connections")).bearer_auth(access.expose()), "listing Xero organisations").await?;
            let tenants: Vec<Tenant> = v
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c.get("tenantType").and_then(|t| t.as_str()).is_none_or(|t| t == "ORGANISATION"))
                .filter_map(|c| {
                    Some(Tenant {
                        id: c.get("tenantId")?.as_str()?.to_string(),
                        name: c.get("tenantName").and_then(|n| n.as_str()).map(str::to_string),
                    })
                })
                .collect();
            if tenants.is_empty() {
                return Err(ConnectError::InvalidInput("the Xero sign-in reached no organisation; choose one on Xero's consent page".into()));
            }
            Ok(tenants)
        }
        TenantSource::QuickBooksRealm => match callback.get("realmId") {
            Some(r) if !r.is_empty() => Ok(vec![Tenant { id: r.clone(), name: None }]),
            _ => Err(ConnectError::AuthRejected("QuickBooks did not say which company (realmId) was connected".into())),
        },
        TenantSource::ShopifyShop => {
            if let Some(shop) = callback.get("shop").filter(|s| !s.is_empty()) {
                return Ok(vec![Tenant { id: shop.clone(), name: None }]);
            }
            shopify_shop(api, access).await.map(|t| vec![t])
        }
        TenantSource::HubSpotTokenInfo => {
            let v = get_json(http().get(format!("{api}/oauth/v1/access-tokens/{}", access.expose())), "reading the HubSpot token's account").await?;
            let id = v.get("hub_id").map(|h| h.as_str().map(str::to_string).unwrap_or_else(|| h.to_string()));
            match id {
                Some(id) => Ok(vec![Tenant { id, name: v.get("hub_domain").and_then(|n| n.as_str()).map(str::to_string) }]),
                None => Err(ConnectError::Unavailable("HubSpot did not say which account (hub id) the token reaches".into())),
            }
        }
    }
}

/// The shop a Shopify Admin token reaches (also checks that a custom-app token works).
pub async fn shopify_shop(api: &str, access: &Secret) -> Result<Tenant, ConnectError> {
    let body = serde_json::json!({"query": "{ shop { name myshopifyDomain } }"});
    let v = get_json(
        http().post(format!("{api}/admin/api/2025-01/graphql.json")).header("X-Shopify-Access-Token", access.expose()).json(&body),
        "reading the Shopify shop",
    )
    .await?;
    let shop = &v["data"]["shop"];
    match shop["myshopifyDomain"].as_str() {
        Some(domain) => Ok(Tenant { id: domain.to_string(), name: shop["name"].as_str().map(str::to_string) }),
        None => Err(ConnectError::AuthRejected("Shopify did not accept the token (no shop in the answer)".into())),
    }
}

/// The hub a HubSpot token reaches, from `GET {api}/account-info/v3/details`
/// (also checks that a private-app token works: token info only knows OAuth tokens).
pub async fn hubspot_account(api: &str, access: &Secret) -> Result<Tenant, ConnectError> {
    let v = get_json(http().get(format!("{api}/account-info/v3/details")).bearer_auth(access.expose()), "reading the HubSpot private-app token's account")
        .await
        .map_err(|e| match e {
            ConnectError::AuthRejected(m) => {
                ConnectError::AuthRejected(format!("{m}; check that the private-app token was copied whole from HubSpot (Settings > Integrations > Private Apps)"))
            }
            ConnectError::Unavailable(m) => ConnectError::Unavailable(format!("{m}; Concord needs the account's hub id, so the connection was not made (check the token and the base URL)")),
            other => other,
        })?;
    let id = match &v["portalId"] {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) if !s.trim().is_empty() => s.trim().to_string(),
        _ => return Err(ConnectError::Unavailable("HubSpot's account details did not say which account (portalId) the token reaches".into())),
    };
    Ok(Tenant { name: Some(format!("HubSpot portal {id}")), id })
}

/// Checks a static private-app token and finds its tenant.
pub async fn check_static_token(provider: Provider, endpoints: &Endpoints, token: &Secret) -> Result<Option<Tenant>, ConnectError> {
    let api = endpoints.api.trim_end_matches('/');
    match provider {
        Provider::Shopify => shopify_shop(api, token).await.map(Some),
        Provider::HubSpot => hubspot_account(api, token).await.map(Some),
        other => Err(ConnectError::InvalidInput(format!("{} has no private-app tokens; connect with OAuth (omit --token-env)", other.display_name()))),
    }
}
