//! How each provider runs OAuth, written down as data.
//!
//! An [`OAuthDescriptor`] says where a provider's authorize and token
//! endpoints are (relative to a base URL, so the same code reaches the real
//! provider, a regional endpoint or a loopback sandbox), whether it takes PKCE,
//! whether the user must bring a client secret and how it is sent, which
//! scopes Concord asks for, how long tokens live, how long a rotated refresh
//! token may still be retried, and where the tenant (organisation, realm, shop,
//! hub) comes from. Code elsewhere never matches on the provider for these.

use crate::error::ConnectError;
use concord_core::Provider;
use std::time::Duration;
use url::Url;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// A public PKCE client: `client_id` in the form and no secret (Xero desktop apps).
    Public,
    /// `client_id` and `client_secret` in the form body (HubSpot, Shopify).
    FormSecret,
    /// HTTP Basic `client_id:client_secret` (QuickBooks Online).
    BasicSecret,
}

/// Where a connection's tenant comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantSource {
    /// `GET {api}/connections` lists the organisations the user authorised.
    XeroConnections,
    /// The redirect carries `realmId`.
    QuickBooksRealm,
    /// The redirect carries `shop`; a private-app connection uses the base URL's host.
    ShopifyShop,
    /// `GET {api}/oauth/v1/access-tokens/{token}` names the `hub_id`; a private-app
    /// token reads `portalId` from `GET {api}/account-info/v3/details` instead.
    HubSpotTokenInfo,
}

/// One provider's OAuth, as data.
#[derive(Debug, Clone)]
pub struct OAuthDescriptor {
    pub provider: Provider,
    /// Authorize endpoint path, relative to a base URL.
    pub authorize_path: &'static str,
    /// Token endpoint path, relative to a base URL.
    pub token_path: &'static str,
    /// The real provider's authorize, token and API origins when no base URL is given.
    pub real_authorize: &'static str,
    pub real_token: &'static str,
    pub real_api: &'static str,
    /// Whether the authorize request carries an S256 code challenge.
    pub pkce: bool,
    pub client_auth: ClientAuth,
    /// Scopes Concord asks for by default.
    pub scopes: &'static [&'static str],
    /// How the provider joins scopes in a request (Shopify uses commas).
    pub scope_separator: &'static str,
    /// The access-token lifetime when the token response does not say.
    pub access_lifetime: Option<Duration>,
    /// Whether refresh tokens are replaced on every use.
    pub rotates_refresh: bool,
    /// How long a used refresh token may still be presented again (Xero: 30 minutes).
    pub rotation_grace: Duration,
    pub tenant: TenantSource,
    /// Whether a static private-app or custom-app token is an alternative to OAuth.
    pub private_app: bool,
    /// Extra authorize or token parameters the provider needs.
    pub extra_token_params: &'static [(&'static str, &'static str)],
}

const XERO: OAuthDescriptor = OAuthDescriptor {
    provider: Provider::Xero,
    authorize_path: "/identity/connect/authorize",
    token_path: "/identity/connect/token",
    real_authorize: "https://login.xero.com/identity/connect/authorize",
    real_token: "https://identity.xero.com/connect/token",
    real_api: "https://api.xero.com",
    pkce: true,
    client_auth: ClientAuth::Public,
    scopes: &["offline_access", "accounting.contacts", "accounting.transactions"],
    scope_separator: " ",
    access_lifetime: Some(Duration::from_secs(1_800)),
    rotates_refresh: true,
    rotation_grace: Duration::from_secs(1_800),
    tenant: TenantSource::XeroConnections,
    private_app: false,
    extra_token_params: &[],
};

const QUICKBOOKS: OAuthDescriptor = OAuthDescriptor {
    provider: Provider::QuickBooks,
    authorize_path: "/connect/oauth2",
    token_path: "/oauth2/v1/tokens/bearer",
    real_authorize: "https://appcenter.intuit.com/connect/oauth2",
    real_token: "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    real_api: "https://quickbooks.api.intuit.com",
    pkce: false,
    client_auth: ClientAuth::BasicSecret,
    scopes: &["com.intuit.quickbooks.accounting"],
    scope_separator: " ",
    access_lifetime: Some(Duration::from_secs(3_600)),
    rotates_refresh: true,
    rotation_grace: Duration::ZERO,
    tenant: TenantSource::QuickBooksRealm,
    private_app: false,
    extra_token_params: &[],
};

const HUBSPOT: OAuthDescriptor = OAuthDescriptor {
    provider: Provider::HubSpot,
    authorize_path: "/oauth/authorize",
    token_path: "/oauth/v1/token",
    real_authorize: "https://app.hubspot.com/oauth/authorize",
    real_token: "https://api.hubapi.com/oauth/v1/token",
    real_api: "https://api.hubapi.com",
    pkce: true,
    client_auth: ClientAuth::FormSecret,
    scopes: &["oauth", "crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.companies.read", "crm.objects.companies.write"],
    scope_separator: " ",
    access_lifetime: Some(Duration::from_secs(1_800)),
    rotates_refresh: false,
    rotation_grace: Duration::ZERO,
    tenant: TenantSource::HubSpotTokenInfo,
    private_app: true,
    extra_token_params: &[],
};

const SHOPIFY: OAuthDescriptor = OAuthDescriptor {
    provider: Provider::Shopify,
    authorize_path: "/admin/oauth/authorize",
    token_path: "/admin/oauth/access_token",
    // Shopify has no fixed origin: every shop is its own host, given as the base URL.
    real_authorize: "",
    real_token: "",
    real_api: "",
    pkce: false,
    client_auth: ClientAuth::FormSecret,
    scopes: &["read_customers", "write_customers", "read_orders", "write_orders"],
    scope_separator: ",",
    access_lifetime: None,
    rotates_refresh: true,
    rotation_grace: Duration::ZERO,
    tenant: TenantSource::ShopifyShop,
    private_app: true,
    // Ask for an expiring offline token with a refresh token (required of public apps from 2027).
    extra_token_params: &[("expiring", "1")],
};

/// The descriptor of `provider`.
pub fn descriptor(provider: Provider) -> &'static OAuthDescriptor {
    match provider {
        Provider::Xero => &XERO,
        Provider::QuickBooks => &QUICKBOOKS,
        Provider::HubSpot => &HUBSPOT,
        Provider::Shopify => &SHOPIFY,
    }
}

impl OAuthDescriptor {
    /// Whether the user must bring their own app's client secret.
    pub fn needs_client_secret(&self) -> bool {
        self.client_auth != ClientAuth::Public
    }

    /// Joins scopes as the provider expects them.
    pub fn join_scopes(&self, scopes: &[String]) -> String {
        scopes.join(self.scope_separator)
    }

    /// Splits a granted-scope string (spaces or commas) into scopes.
    pub fn split_scopes(text: &str) -> Vec<String> {
        let mut out: Vec<String> = text.split([' ', ',']).filter(|s| !s.is_empty()).map(str::to_string).collect();
        out.sort();
        out.dedup();
        out
    }

    /// The endpoints for a connection: relative to `base_url` when given, else the real provider's.
    pub fn endpoints(&self, base_url: Option<&str>) -> Result<Endpoints, ConnectError> {
        match base_url.map(str::trim).filter(|b| !b.is_empty()) {
            Some(base) => {
                let base = base.trim_end_matches('/');
                let parsed = Url::parse(base).map_err(|e| ConnectError::InvalidInput(format!("--base-url {base:?} is not a URL: {e}")))?;
                if !matches!(parsed.scheme(), "https" | "http") {
                    return Err(ConnectError::InvalidInput(format!("--base-url must be http(s), got {}", parsed.scheme())));
                }
                if parsed.scheme() == "http" && !is_loopback(&parsed) {
                    return Err(ConnectError::InvalidInput(
                        "--base-url must use https unless it points at this machine (127.0.0.1, localhost)".into(),
                    ));
                }
                let join = |path: &str| Url::parse(&format!("{base}{path}")).map_err(|e| ConnectError::InvalidInput(e.to_string()));
                Ok(Endpoints { authorize: join(self.authorize_path)?, token: join(self.token_path)?, api: base.to_string() })
            }
            None if self.real_authorize.is_empty() => Err(ConnectError::InvalidInput(format!(
                "{} needs the shop's address: pass --base-url https://YOUR-SHOP.myshopify.com",
                self.provider.display_name()
            ))),
            None => Ok(Endpoints {
                authorize: Url::parse(self.real_authorize).map_err(|e| ConnectError::InvalidInput(e.to_string()))?,
                token: Url::parse(self.real_token).map_err(|e| ConnectError::InvalidInput(e.to_string()))?,
                api: self.real_api.to_string(),
            }),
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Where one connection's OAuth endpoints and API are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authorize: Url,
    pub token: Url,
    /// The API origin (tenant discovery, requests), without a trailing slash.
    pub api: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_base_url_or_the_real_provider() {
        let x = descriptor(Provider::Xero);
        let e = x.endpoints(Some("http://127.0.0.1:9/xero/")).unwrap();
        assert_eq!(e.token.as_str(), "http://127.0.0.1:9/xero/identity/connect/token", "paths are appended to the base URL");
        let real = x.endpoints(None).unwrap();
        assert_eq!(real.authorize.host_str(), Some("login.xero.com"), "without a base URL the real provider is used");
        assert!(descriptor(Provider::Shopify).endpoints(None).is_err(), "Shopify has no default host: the shop must be named");
        assert!(x.endpoints(Some("http://example.com/xero")).is_err(), "plain http is allowed only to this machine");
    }

    #[test]
    fn scopes_split_on_spaces_and_commas() {
        assert_eq!(OAuthDescriptor::split_scopes("b,a a  c"), vec!["a", "b", "c"], "granted scopes are normalised and de-duplicated");
        assert!(!descriptor(Provider::Xero).needs_client_secret(), "Xero desktop apps use PKCE without a secret");
        assert!(descriptor(Provider::QuickBooks).needs_client_secret(), "QuickBooks requires the user's own client secret");
    }
}
