//! OAuth 2.0 as each provider runs it, plus the static tokens of private apps.
//!
//! Every provider's authorize endpoint approves at once and redirects to the
//! loopback redirect URI with `code` and `state` (QuickBooks adds `realmId`,
//! Shopify adds `shop`, `host`, `timestamp` and `hmac`); add
//! `sandbox_consent=deny` to get `error=access_denied` instead. Token
//! endpoints take `authorization_code` and `refresh_token` grants:
//!
//! | provider   | client auth                | PKCE               | access | refresh                                  |
//! |------------|----------------------------|--------------------|--------|------------------------------------------|
//! | Xero       | client_id only (PKCE app)  | S256 required      | 30 min | rotates; 60 days unused; old one 30 min  |
//! | QuickBooks | HTTP Basic id:secret       | none               | 1 h    | rotates; 100 days rolling                |
//! | HubSpot    | client_secret in the form  | S256 if challenged | 30 min | long-lived, not rotated                  |
//! | Shopify    | client_secret              | none               | 1 h if `expiring=1`, else static | rotates; 90 days |
//!
//! Lifetimes run on the sandbox clock, so the time scale shortens them; the
//! `expires_in` sent is in real seconds. Revocation (the user disconnecting)
//! invalidates every token of the grant; the `token_revocation` fault revokes
//! every grant and static token of a provider. HubSpot private-app tokens and
//! Shopify custom-app tokens are static and derived from the seed.

use crate::provider::{Provider, XeroKind};
use crate::response::{json_response, TokenProblem};
use crate::state::SandboxState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use base64::Engine;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

const XERO_ACCESS: f64 = 1_800.0;
const XERO_REFRESH_UNUSED: f64 = 60.0 * 86_400.0;
const XERO_GRACE: f64 = 1_800.0;
const QBO_ACCESS: f64 = 3_600.0;
const QBO_REFRESH: f64 = 100.0 * 86_400.0;
const HUBSPOT_ACCESS: f64 = 1_800.0;
const SHOPIFY_ACCESS: f64 = 3_600.0;
const SHOPIFY_REFRESH: f64 = 90.0 * 86_400.0;
const CODE_LIFETIME: f64 = 600.0;

/// A registered OAuth client of the sandbox.
#[derive(Clone, Debug)]
pub struct OAuthApp {
    pub client_id: String,
    /// None for Xero's PKCE desktop app.
    pub client_secret: Option<String>,
    pub scopes: &'static str,
}

/// One user's consent: all tokens issued under it die with it.
#[derive(Clone, Debug)]
struct Grant {
    provider: Provider,
    scope: String,
    revoked: bool,
}

#[derive(Clone, Debug)]
struct Code {
    provider: Provider,
    grant_scope: String,
    redirect_uri: String,
    challenge: Option<(String, String)>,
    expires_ms: i64,
    expiring: bool,
}

#[derive(Clone, Debug)]
struct Access {
    grant: usize,
    expires_ms: Option<i64>,
}

#[derive(Clone, Debug)]
struct Refresh {
    grant: usize,
    expires_ms: Option<i64>,
    /// When it was first exchanged (Xero allows reuse for 30 min after).
    used_ms: Option<i64>,
}

/// A successful token exchange.
#[derive(Clone, Debug)]
pub struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Provider seconds.
    pub access_secs: Option<f64>,
    pub refresh_secs: Option<f64>,
    pub scope: String,
}

/// A refused token exchange (`error` is the OAuth error code).
#[derive(Clone, Debug)]
pub struct TokenError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

fn token_error(status: StatusCode, error: &'static str, description: impl Into<String>) -> TokenError {
    TokenError { status, error, description: description.into() }
}

/// What a presented token grants.
#[derive(Clone, Debug)]
pub enum TokenCheck {
    Valid,
    Refused(TokenProblem),
}

/// Every OAuth client, code, token and grant of one sandbox.
#[derive(Debug)]
pub struct OAuthState {
    rng: ChaCha8Rng,
    apps: [OAuthApp; 4],
    codes: HashMap<String, Code>,
    access: HashMap<String, Access>,
    refresh: HashMap<String, Refresh>,
    grants: Vec<Grant>,
    static_tokens: [Option<String>; 4],
    static_revoked: [bool; 4],
}

fn hex(rng: &mut ChaCha8Rng, bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

fn b64(rng: &mut ChaCha8Rng, bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rng.random::<u8>()).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Whether a redirect URI is acceptable: loopback http or any https.
pub fn redirect_allowed(uri: &str) -> bool {
    match url::Url::parse(uri) {
        Ok(u) => match u.scheme() {
            "https" => true,
            "http" => matches!(u.host_str(), Some("127.0.0.1") | Some("localhost") | Some("[::1]")),
            _ => false,
        },
        Err(_) => false,
    }
}

/// The S256 code challenge of a verifier.
pub fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl OAuthState {
    pub fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0a07_4a11);
        let apps = [
            OAuthApp {
                client_id: format!("{}-{}-{}-{}-{}", hex(&mut rng, 4), hex(&mut rng, 2), hex(&mut rng, 2), hex(&mut rng, 2), hex(&mut rng, 6)),
                client_secret: Some(format!("{}-{}-{}-{}-{}", hex(&mut rng, 4), hex(&mut rng, 2), hex(&mut rng, 2), hex(&mut rng, 2), hex(&mut rng, 6))),
                scopes: "oauth crm.objects.contacts.read crm.objects.contacts.write crm.objects.companies.read crm.objects.companies.write",
            },
            OAuthApp {
                client_id: hex(&mut rng, 16),
                client_secret: Some(hex(&mut rng, 16)),
                scopes: "read_customers,write_customers,read_orders,write_orders,read_all_orders",
            },
            OAuthApp {
                client_id: hex(&mut rng, 16).to_uppercase(),
                client_secret: None,
                scopes: "openid profile email offline_access accounting.contacts accounting.transactions",
            },
            OAuthApp {
                client_id: format!("AB{}", b64(&mut rng, 30).replace(['-', '_'], "x")),
                client_secret: Some(b64(&mut rng, 30).replace(['-', '_'], "y")),
                scopes: "com.intuit.quickbooks.accounting",
            },
        ];
        let hubspot_pat = format!("pat-na1-{}-{}-{}-{}-{}", hex(&mut rng, 4), hex(&mut rng, 2), hex(&mut rng, 2), hex(&mut rng, 2), hex(&mut rng, 6));
        let shopify_static = format!("shpat_{}", hex(&mut rng, 16));
        OAuthState {
            rng,
            apps,
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            grants: Vec::new(),
            static_tokens: [Some(hubspot_pat), Some(shopify_static), None, None],
            static_revoked: [false; 4],
        }
    }

    /// The OAuth client the sandbox accepts for a provider.
    pub fn app(&self, p: Provider) -> &OAuthApp {
        &self.apps[p.index()]
    }

    /// The static token (HubSpot private app, Shopify custom app), if any.
    pub fn static_token(&self, p: Provider) -> Option<&str> {
        self.static_tokens[p.index()].as_deref()
    }

    /// Restores static tokens revoked by a fault (a merchant reinstalling).
    pub fn restore_static(&mut self) {
        self.static_revoked = [false; 4];
    }

    /// Checks a presented token.
    pub fn check(&self, p: Provider, token: Option<&str>, now_ms: i64) -> TokenCheck {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return TokenCheck::Refused(TokenProblem::Missing);
        };
        if self.static_tokens[p.index()].as_deref() == Some(token) {
            return if self.static_revoked[p.index()] {
                TokenCheck::Refused(TokenProblem::Revoked)
            } else {
                TokenCheck::Valid
            };
        }
        match self.access.get(token) {
            None => TokenCheck::Refused(TokenProblem::Unknown),
            Some(a) => {
                let g = &self.grants[a.grant];
                if g.provider != p {
                    TokenCheck::Refused(TokenProblem::Unknown)
                } else if g.revoked {
                    TokenCheck::Refused(TokenProblem::Revoked)
                } else if a.expires_ms.is_some_and(|e| now_ms >= e) {
                    TokenCheck::Refused(TokenProblem::Expired)
                } else {
                    TokenCheck::Valid
                }
            }
        }
    }

    /// Approves an authorization request; returns the redirect URL.
    pub fn authorize(&mut self, p: Provider, q: &HashMap<String, String>, now_ms: i64, realm: &str) -> Result<String, String> {
        let app = self.apps[p.index()].clone();
        let client_id = q.get("client_id").cloned().unwrap_or_default();
        if client_id != app.client_id {
            return Err(format!("unknown client_id {client_id:?}"));
        }
        let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
        if !redirect_allowed(&redirect) {
            return Err(format!("redirect_uri {redirect:?} must be https or a loopback http address"));
        }
        if p != Provider::Shopify && q.get("response_type").is_some_and(|r| r != "code") {
            return Err("response_type must be code".into());
        }
        let challenge = q.get("code_challenge").cloned();
        let method = q.get("code_challenge_method").cloned().unwrap_or_else(|| "plain".into());
        let challenge = match (p, challenge) {
            (Provider::Xero, None) => return Err("code_challenge is required (Auth Code with PKCE)".into()),
            (Provider::Xero, Some(_)) | (Provider::HubSpot, Some(_)) if method != "S256" => {
                return Err("code_challenge_method must be S256".into())
            }
            (Provider::Xero, Some(c)) | (Provider::HubSpot, Some(c)) => Some((c, method)),
            _ => None,
        };
        let mut url = url::Url::parse(&redirect).map_err(|e| e.to_string())?;
        let state = q.get("state").cloned();
        if q.get("sandbox_consent").map(String::as_str) == Some("deny") {
            url.query_pairs_mut().append_pair("error", "access_denied");
            if let Some(s) = state {
                url.query_pairs_mut().append_pair("state", &s);
            }
            return Ok(url.to_string());
        }
        let code = b64(&mut self.rng, 24);
        let scope = q.get("scope").cloned().unwrap_or_else(|| app.scopes.to_string());
        self.codes.insert(
            code.clone(),
            Code {
                provider: p,
                grant_scope: scope,
                redirect_uri: redirect,
                challenge,
                expires_ms: now_ms + (CODE_LIFETIME * 1000.0) as i64,
                expiring: q.get("expiring").is_some_and(|v| v == "1"),
            },
        );
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("code", &code);
            if let Some(s) = &state {
                pairs.append_pair("state", s);
            }
            match p {
                Provider::QuickBooks => {
                    pairs.append_pair("realmId", realm);
                }
                Provider::Shopify => {
                    pairs.append_pair("shop", crate::business::SHOP_DOMAIN);
                    pairs.append_pair("host", &base64::engine::general_purpose::STANDARD.encode(format!("{}/admin", crate::business::SHOP_DOMAIN)));
                    pairs.append_pair("timestamp", &(now_ms / 1000).to_string());
                    pairs.append_pair("hmac", &hex(&mut self.rng, 32));
                }
                Provider::Xero => {
                    pairs.append_pair("scope", app.scopes);
                }
                Provider::HubSpot => {}
            }
        }
        Ok(url.to_string())
    }

    fn issue(&mut self, grant: usize, now_ms: i64, with_refresh: bool) -> Issued {
        let g = self.grants[grant].clone();
        let (access_secs, refresh_secs) = match g.provider {
            Provider::Xero => (Some(XERO_ACCESS), Some(XERO_REFRESH_UNUSED)),
            Provider::QuickBooks => (Some(QBO_ACCESS), Some(QBO_REFRESH)),
            Provider::HubSpot => (Some(HUBSPOT_ACCESS), None),
            Provider::Shopify if with_refresh => (Some(SHOPIFY_ACCESS), Some(SHOPIFY_REFRESH)),
            Provider::Shopify => (None, None),
        };
        let access_token = match g.provider {
            Provider::Shopify => format!("shpua_{}", hex(&mut self.rng, 16)),
            Provider::HubSpot => format!("CO{}", b64(&mut self.rng, 48)),
            _ => format!("eyJ{}", b64(&mut self.rng, 96)),
        };
        self.access.insert(
            access_token.clone(),
            Access { grant, expires_ms: access_secs.map(|s| now_ms + (s * 1000.0) as i64) },
        );
        let refresh_token = if with_refresh {
            let t = match g.provider {
                Provider::Shopify => format!("shprt_{}", hex(&mut self.rng, 16)),
                Provider::HubSpot => format!("na1-{}-{}-{}-{}-{}", hex(&mut self.rng, 2), hex(&mut self.rng, 2), hex(&mut self.rng, 2), hex(&mut self.rng, 2), hex(&mut self.rng, 6)),
                Provider::QuickBooks => format!("AB11{}", hex(&mut self.rng, 24)),
                Provider::Xero => hex(&mut self.rng, 32),
            };
            self.refresh.insert(t.clone(), Refresh { grant, expires_ms: refresh_secs.map(|s| now_ms + (s * 1000.0) as i64), used_ms: None });
            Some(t)
        } else {
            None
        };
        Issued { access_token, refresh_token, access_secs, refresh_secs, scope: g.scope }
    }

    /// Handles a token request (form fields already parsed; `basic` is the
    /// HTTP Basic client credentials when sent).
    pub fn token(&mut self, p: Provider, form: &HashMap<String, String>, basic: Option<(String, String)>, now_ms: i64) -> Result<Issued, TokenError> {
        let app = self.apps[p.index()].clone();
        let (client_id, secret) = match basic {
            Some((id, s)) => (id, Some(s)),
            None => (form.get("client_id").cloned().unwrap_or_default(), form.get("client_secret").cloned()),
        };
        if client_id != app.client_id {
            return Err(token_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client_id"));
        }
        if let Some(expected) = &app.client_secret {
            if secret.as_deref() != Some(expected.as_str()) {
                return Err(token_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed"));
            }
        }
        let grant_type = form.get("grant_type").map(String::as_str).unwrap_or(if p == Provider::Shopify && form.contains_key("code") {
            "authorization_code"
        } else {
            ""
        });
        match grant_type {
            "authorization_code" => {
                let code = form.get("code").cloned().unwrap_or_default();
                let Some(c) = self.codes.remove(&code) else {
                    return Err(token_error(StatusCode::BAD_REQUEST, "invalid_grant", "authorization code is unknown or already used"));
                };
                if c.provider != p || now_ms >= c.expires_ms {
                    return Err(token_error(StatusCode::BAD_REQUEST, "invalid_grant", "authorization code expired"));
                }
                if p != Provider::Shopify && form.get("redirect_uri") != Some(&c.redirect_uri) {
                    return Err(token_error(StatusCode::BAD_REQUEST, "invalid_grant", "redirect_uri does not match the authorization request"));
                }
                if let Some((challenge, _)) = &c.challenge {
                    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                    if s256(&verifier) != *challenge {
                        return Err(token_error(StatusCode::BAD_REQUEST, "invalid_grant", "code_verifier does not match code_challenge"));
                    }
                }
                self.grants.push(Grant { provider: p, scope: c.grant_scope.clone(), revoked: false });
                let grant = self.grants.len() - 1;
                let with_refresh = match p {
                    Provider::Shopify => c.expiring || form.get("expiring").is_some_and(|v| v == "1"),
                    Provider::Xero => c.grant_scope.split_whitespace().any(|s| s == "offline_access"),
                    _ => true,
                };
                Ok(self.issue(grant, now_ms, with_refresh))
            }
            "refresh_token" => {
                let token = form.get("refresh_token").cloned().unwrap_or_default();
                let Some(r) = self.refresh.get(&token).cloned() else {
                    return Err(token_error(StatusCode::BAD_REQUEST, "invalid_grant", "refresh token is unknown"));
                };
                let g = self.grants[r.grant].clone();
                if g.provider != p || g.revoked {
                    return Err(token_error(StatusCode::BAD_REQUEST, "invalid_grant", "refresh token was revoked"));
                }
                if r.expires_ms.is_some_and(|e| now_ms >= e) {
                    return Err(token_error(StatusCode::BAD_REQUEST, "invalid_grant", "refresh token expired"));
                }
                match (p, r.used_ms) {
                    (Provider::HubSpot, _) => {
                        // Not rotated: a new access token, the same refresh token.
                        let mut issued = self.issue(r.grant, now_ms, false);
                        issued.refresh_token = Some(token);
                        return Ok(issued);
                    }
                    (Provider::Xero, Some(used)) if now_ms - used > (XERO_GRACE * 1000.0) as i64 => {
                        return Err(token_error(StatusCode::BAD_REQUEST, "invalid_grant", "refresh token was already used"));
                    }
                    (Provider::Xero, _) => {}
                    (_, Some(_)) => {
                        return Err(token_error(StatusCode::BAD_REQUEST, "invalid_grant", "refresh token was already used"));
                    }
                    (_, None) => {}
                }
                if let Some(entry) = self.refresh.get_mut(&token) {
                    entry.used_ms.get_or_insert(now_ms);
                }
                Ok(self.issue(r.grant, now_ms, true))
            }
            other => Err(token_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", format!("grant_type {other:?} is not supported"))),
        }
    }

    /// Revokes the grant behind a token (access or refresh). False if unknown.
    pub fn revoke_token(&mut self, p: Provider, token: &str) -> bool {
        let grant = self.refresh.get(token).map(|r| r.grant).or_else(|| self.access.get(token).map(|a| a.grant));
        match grant {
            Some(g) if self.grants[g].provider == p => {
                self.grants[g].revoked = true;
                true
            }
            _ => false,
        }
    }

    /// Revokes every grant and the static token of a provider.
    pub fn revoke_all(&mut self, p: Provider) {
        for g in self.grants.iter_mut().filter(|g| g.provider == p) {
            g.revoked = true;
        }
        self.static_revoked[p.index()] = true;
    }

    /// Expires every access token of a provider now; returns how many.
    pub fn expire_all(&mut self, p: Provider, now_ms: i64) -> usize {
        let mut n = 0;
        for a in self.access.values_mut() {
            if self.grants[a.grant].provider == p {
                a.expires_ms = Some(now_ms);
                n += 1;
            }
        }
        n
    }

    /// Scope of the grant behind an access token (HubSpot token info).
    pub fn scope_of(&self, token: &str) -> Option<String> {
        self.access.get(token).map(|a| self.grants[a.grant].scope.clone())
    }

    /// Provider ms at which an access token expires.
    pub fn expiry_of(&self, token: &str) -> Option<i64> {
        self.access.get(token).and_then(|a| a.expires_ms)
    }
}

/// Parses a form or JSON request body into string fields.
pub fn parse_fields(headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        url::form_urlencoded::parse(body).into_owned().collect()
    }
}

/// HTTP Basic credentials, if sent.
pub fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = v.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).map(|t| t.trim().to_string())
}

async fn authorize(p: Provider, st: Arc<SandboxState>, q: HashMap<String, String>) -> Response {
    let now = st.clock.now_ms();
    let result = st.oauth.lock().expect("oauth lock").authorize(p, &q, now, crate::business::QUICKBOOKS_REALM_ID);
    match result {
        Ok(url) => (StatusCode::FOUND, [(header::LOCATION, url)]).into_response(),
        Err(msg) => (StatusCode::BAD_REQUEST, format!("OAuth authorization refused: {msg}")).into_response(),
    }
}

fn token_json(st: &SandboxState, p: Provider, issued: &Issued) -> Value {
    let secs = |s: Option<f64>| s.map(|s| st.clock.wire_secs(s));
    match p {
        Provider::Xero => {
            let mut v = json!({
                "id_token": format!("eyJ{}", issued.access_token.get(3..40).unwrap_or("")),
                "access_token": issued.access_token,
                "expires_in": secs(issued.access_secs),
                "token_type": "Bearer",
                "scope": issued.scope,
            });
            if let Some(r) = &issued.refresh_token {
                v["refresh_token"] = json!(r);
            }
            v
        }
        Provider::QuickBooks => json!({
            "token_type": "bearer",
            "access_token": issued.access_token,
            "expires_in": secs(issued.access_secs),
            "refresh_token": issued.refresh_token,
            "x_refresh_token_expires_in": secs(issued.refresh_secs),
        }),
        Provider::HubSpot => json!({
            "token_type": "bearer",
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "expires_in": secs(issued.access_secs),
        }),
        Provider::Shopify => {
            let mut v = json!({"access_token": issued.access_token, "scope": issued.scope});
            if let Some(r) = &issued.refresh_token {
                v["expires_in"] = json!(secs(issued.access_secs));
                v["refresh_token"] = json!(r);
                v["refresh_token_expires_in"] = json!(secs(issued.refresh_secs));
            }
            v
        }
    }
}

async fn token(p: Provider, st: Arc<SandboxState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_fields(&headers, &body);
    let now = st.clock.now_ms();
    let refresh = form.get("grant_type").is_some_and(|g| g == "refresh_token");
    let result = st.oauth.lock().expect("oauth lock").token(p, &form, basic_auth(&headers), now);
    match result {
        Ok(issued) => {
            {
                let mut l = st.ledger.lock().expect("ledger lock");
                if refresh {
                    l.refreshed(p);
                } else {
                    l.token_granted(p);
                }
            }
            json_response(StatusCode::OK, &token_json(&st, p, &issued), &[("Cache-Control".into(), "no-store".into())])
        }
        Err(e) => {
            let body = match p {
                Provider::HubSpot => json!({
                    "status": if refresh { "BAD_REFRESH_TOKEN" } else if e.error == "invalid_client" { "BAD_CLIENT_ID" } else { "BAD_AUTH_CODE" },
                    "message": e.description,
                    "correlationId": uuid::Uuid::new_v4().to_string(),
                }),
                _ => json!({"error": e.error, "error_description": e.description}),
            };
            json_response(e.status, &body, &[])
        }
    }
}

async fn revoke(p: Provider, st: Arc<SandboxState>, token: String) -> Response {
    let ok = st.oauth.lock().expect("oauth lock").revoke_token(p, &token);
    if ok {
        st.ledger.lock().expect("ledger lock").revoked(p);
    }
    match (p, ok) {
        (Provider::HubSpot, true) => StatusCode::NO_CONTENT.into_response(),
        (Provider::HubSpot, false) => crate::response::hubspot_error(StatusCode::NOT_FOUND, "refresh token not found", "OBJECT_NOT_FOUND"),
        (Provider::Shopify, _) => json_response(StatusCode::OK, &json!({}), &[]),
        (_, _) => StatusCode::OK.into_response(),
    }
}

/// The OAuth routes of one provider, relative to its base URL.
pub fn routes(p: Provider) -> Router<Arc<SandboxState>> {
    let auth = move |State(st): State<Arc<SandboxState>>, Query(q): Query<HashMap<String, String>>| authorize(p, st, q);
    let tok = move |State(st): State<Arc<SandboxState>>, headers: HeaderMap, body: Bytes| token(p, st, headers, body);
    match p {
        Provider::HubSpot => Router::new()
            .route("/oauth/authorize", get(auth))
            .route("/oauth/v1/token", post(tok))
            .route("/oauth/v3/token", post(tok))
            .route(
                "/oauth/v1/refresh_tokens/{token}",
                delete(move |State(st): State<Arc<SandboxState>>, Path(t): Path<String>| revoke(p, st, t)),
            )
            .route("/oauth/v1/access-tokens/{token}", get(hubspot_token_info)),
        Provider::Shopify => Router::new()
            .route("/admin/oauth/authorize", get(auth))
            .route("/admin/oauth/access_token", post(tok))
            .route(
                "/admin/api/{version}/api_permissions/current.json",
                delete(move |State(st): State<Arc<SandboxState>>, headers: HeaderMap| async move {
                    let t = headers.get("X-Shopify-Access-Token").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    revoke(p, st, t).await
                }),
            ),
        Provider::Xero => Router::new()
            .route("/identity/connect/authorize", get(auth))
            .route("/identity/connect/token", post(tok))
            .route("/connect/token", post(tok))
            .route(
                "/identity/connect/revocation",
                post(move |State(st): State<Arc<SandboxState>>, headers: HeaderMap, body: Bytes| async move {
                    let t = parse_fields(&headers, &body).get("token").cloned().unwrap_or_default();
                    revoke(p, st, t).await
                }),
            )
            .route("/connections", get(xero_connections))
            .route("/connections/{id}", delete(xero_disconnect)),
        Provider::QuickBooks => Router::new()
            .route("/connect/oauth2", get(auth))
            .route("/oauth2/v1/tokens/bearer", post(tok))
            .route(
                "/oauth2/v1/tokens/revoke",
                post(move |State(st): State<Arc<SandboxState>>, headers: HeaderMap, body: Bytes| async move {
                    let t = parse_fields(&headers, &body).get("token").cloned().unwrap_or_default();
                    revoke(p, st, t).await
                }),
            ),
    }
}

async fn hubspot_token_info(State(st): State<Arc<SandboxState>>, Path(token): Path<String>) -> Response {
    let now = st.clock.now_ms();
    let o = st.oauth.lock().expect("oauth lock");
    match (o.check(Provider::HubSpot, Some(&token), now), o.scope_of(&token)) {
        (TokenCheck::Valid, Some(scope)) => {
            let left = o.expiry_of(&token).map(|e| st.clock.wire_secs(((e - now) as f64 / 1000.0).max(0.0))).unwrap_or(0);
            json_response(
                StatusCode::OK,
                &json!({
                    "token": token,
                    "user": "owner@harbourhearth.com.au",
                    "hub_domain": "harbourhearth.com.au",
                    "scopes": scope.split_whitespace().collect::<Vec<_>>(),
                    "hub_id": crate::business::HUBSPOT_HUB_ID,
                    "app_id": 1_234_567,
                    "expires_in": left,
                    "user_id": 7_654_321,
                    "token_type": "access",
                }),
                &[],
            )
        }
        _ => crate::response::hubspot_error(StatusCode::NOT_FOUND, "token not found or expired", "OBJECT_NOT_FOUND"),
    }
}

async fn xero_connections(State(st): State<Arc<SandboxState>>, headers: HeaderMap) -> Response {
    let now = st.clock.now_ms();
    let check = st.oauth.lock().expect("oauth lock").check(Provider::Xero, bearer(&headers).as_deref(), now);
    if let TokenCheck::Refused(why) = check {
        return crate::response::refuse(Provider::Xero, &crate::response::Refusal::Unauthorized { why });
    }
    let ids = st.xero_ids();
    let body = json!([{
        "id": ids.id(XeroKind::Connection, 0).to_string(),
        "authEventId": ids.id(XeroKind::Connection, 1).to_string(),
        "tenantId": st.xero_tenant_id,
        "tenantType": "ORGANISATION",
        "tenantName": "Harbour & Hearth Trading",
        "createdDateUtc": "2022-06-20T01:02:03.0000000",
        "updatedDateUtc": "2022-06-20T01:02:03.0000000",
    }]);
    json_response(StatusCode::OK, &body, &[])
}

async fn xero_disconnect(State(st): State<Arc<SandboxState>>, headers: HeaderMap, Path(_id): Path<String>) -> Response {
    let token = bearer(&headers).unwrap_or_default();
    let ok = st.oauth.lock().expect("oauth lock").revoke_token(Provider::Xero, &token);
    if ok {
        st.ledger.lock().expect("ledger lock").revoked(Provider::Xero);
        StatusCode::NO_CONTENT.into_response()
    } else {
        crate::response::refuse(Provider::Xero, &crate::response::Refusal::Unauthorized { why: TokenProblem::Unknown })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn code_from(url: &str) -> String {
        url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.to_string()).unwrap()
    }

    #[test]
    fn xero_refresh_rotates_with_thirty_minute_grace() {
        let mut o = OAuthState::new(1);
        let id = o.app(Provider::Xero).client_id.clone();
        let verifier = "a-very-long-verifier-string-of-sufficient-entropy-1234567890";
        let url = o
            .authorize(
                Provider::Xero,
                &params(&[
                    ("client_id", &id),
                    ("response_type", "code"),
                    ("redirect_uri", "http://127.0.0.1:5000/cb"),
                    ("scope", "offline_access accounting.contacts"),
                    ("code_challenge", &s256(verifier)),
                    ("code_challenge_method", "S256"),
                ]),
                0,
                "r",
            )
            .expect("a loopback PKCE request must be approved");
        let form = |code: &str, v: &str| {
            params(&[("grant_type", "authorization_code"), ("client_id", &id), ("code", code), ("redirect_uri", "http://127.0.0.1:5000/cb"), ("code_verifier", v)])
        };
        let code = code_from(&url);
        assert!(o.token(Provider::Xero, &form(&code, "wrong"), None, 1).is_err(), "a wrong verifier must be refused");
        // The failed attempt consumed the code, as a real server would.
        let url = o
            .authorize(
                Provider::Xero,
                &params(&[("client_id", &id), ("redirect_uri", "http://127.0.0.1:5000/cb"), ("scope", "offline_access"), ("code_challenge", &s256(verifier)), ("code_challenge_method", "S256")]),
                0,
                "r",
            )
            .unwrap();
        let first = o.token(Provider::Xero, &form(&code_from(&url), verifier), None, 1).expect("the right verifier must succeed");
        let r1 = first.refresh_token.expect("offline_access must yield a refresh token");
        let refresh = |r: &str| params(&[("grant_type", "refresh_token"), ("client_id", &id), ("refresh_token", r)]);
        let second = o.token(Provider::Xero, &refresh(&r1), None, 10_000).expect("a fresh refresh token must work");
        assert_ne!(second.refresh_token.as_deref(), Some(r1.as_str()), "Xero rotates refresh tokens");
        assert!(o.token(Provider::Xero, &refresh(&r1), None, 10_000 + 29 * 60_000).is_ok(), "the old token may be retried within 30 minutes");
        assert!(o.token(Provider::Xero, &refresh(&r1), None, 10_000 + 31 * 60_000).is_err(), "after 30 minutes the old token is dead");
        let access = second.access_token;
        assert!(matches!(o.check(Provider::Xero, Some(&access), 20_000), TokenCheck::Valid), "a new access token is valid");
        assert!(
            matches!(o.check(Provider::Xero, Some(&access), 10_000 + 1_800_000), TokenCheck::Refused(TokenProblem::Expired)),
            "a Xero access token lives 30 minutes"
        );
    }

    #[test]
    fn redirects_must_be_loopback_or_https() {
        let cases = [
            ("http://127.0.0.1:1234/cb", true),
            ("http://localhost/cb", true),
            ("https://example.com/cb", true),
            ("http://example.com/cb", false),
            ("nonsense", false),
        ];
        for (uri, ok) in cases {
            assert_eq!(redirect_allowed(uri), ok, "redirect {uri}");
        }
    }
}
