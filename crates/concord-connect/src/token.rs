//! The token endpoint: exchanging a code, refreshing, and the bundle kept in the keychain.
//!
//! The form POST is written by hand over reqwest rather than through the
//! `oauth2` crate: the four providers disagree in ways that crate does not
//! model without fighting it (HubSpot answers errors as
//! `{"status":"BAD_REFRESH_TOKEN"}` instead of `{"error":...}`, QuickBooks adds
//! `x_refresh_token_expires_in`, Shopify sends `expiring=1` and may omit
//! `expires_in`), and tests need to cut the connection after the provider
//! has rotated a refresh token ("lost response"), which a [`TokenTransport`]
//! seam makes possible. The request is four form fields; the code is small.
//!
//! A [`TokenBundle`] is what the keychain holds for one connection, as one JSON
//! secret so an update replaces everything at once: access token, refresh token,
//! expiry, the previous refresh token and when it was rotated, and the user's
//! client secret when the provider needs one (or a static private-app token).

use crate::error::{scrub, ConnectError};
use crate::provider::{ClientAuth, OAuthDescriptor};
use chrono::{DateTime, Utc};
use concord_core::Secret;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Everything secret about one connection, stored as one keychain entry.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBundle {
    /// "oauth" or "static".
    pub kind: String,
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the access token expires (None: never, as for static tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The access token's lifetime as issued, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_secs: Option<u64>,
    /// The refresh token that was replaced by the last rotation, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_refresh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<DateTime<Utc>>,
    /// The OAuth client id used (not secret; kept so refresh needs nothing else).
    #[serde(default)]
    pub client_id: String,
    /// The user's own app's client secret, when the provider needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for TokenBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBundle")
            .field("kind", &self.kind)
            .field("access_token", &"[redacted]")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[redacted]"))
            .field("expires_at", &self.expires_at)
            .field("rotated_at", &self.rotated_at)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenBundle {
    /// A static private-app token.
    pub fn static_token(token: &Secret) -> TokenBundle {
        TokenBundle { kind: "static".into(), access_token: token.expose().to_string(), ..Default::default() }
    }

    /// Whether this is a static private-app token.
    pub fn is_static(&self) -> bool {
        self.kind == "static"
    }

    /// Serialises for the keychain.
    pub fn to_secret(&self) -> Secret {
        Secret::new(serde_json::to_string(self).unwrap_or_default())
    }

    /// Reads a keychain entry back.
    pub fn from_secret(s: &Secret) -> Result<TokenBundle, ConnectError> {
        serde_json::from_str(s.expose()).map_err(|_| {
            ConnectError::NeedsReauth("the tokens in the keychain are damaged or from another program; connect again".into())
        })
    }

    /// Applies a token response: the new access token, and the refresh token rotated when a new one came.
    pub fn apply(&mut self, r: &TokenResponse, now: DateTime<Utc>, default_lifetime: Option<Duration>) {
        self.kind = "oauth".into();
        self.access_token = r.access_token.expose().to_string();
        let lifetime = r.expires_in.or(default_lifetime.map(|d| d.as_secs()));
        self.lifetime_secs = lifetime;
        self.expires_at = lifetime.map(|s| now + chrono::Duration::seconds(s as i64));
        if let Some(new) = &r.refresh_token {
            if self.refresh_token.as_deref() != Some(new.expose()) {
                if let Some(old) = self.refresh_token.take() {
                    self.previous_refresh = Some(old);
                    self.rotated_at = Some(now);
                }
                self.refresh_token = Some(new.expose().to_string());
            }
        }
    }
}

/// A successful token response.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    /// Seconds until the access token expires, as sent.
    pub expires_in: Option<u64>,
    /// Granted scopes as sent, when sent.
    pub scope: Option<String>,
}

/// Why a token request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// `invalid_grant` (revoked, expired, already used, wrong PKCE verifier): the grant is dead.
    InvalidGrant(String),
    /// `invalid_client`: the client id or secret is wrong.
    InvalidClient(String),
    /// Another refusal from the endpoint.
    Rejected(String),
    /// No answer (connection dropped, timeout) or a 5xx: the request may or may not have been processed.
    Lost(String),
}

impl From<TokenError> for ConnectError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::InvalidGrant(m) | TokenError::InvalidClient(m) | TokenError::Rejected(m) => ConnectError::AuthRejected(m),
            TokenError::Lost(m) => ConnectError::Unavailable(m),
        }
    }
}

/// A boxed future of a raw HTTP answer: status and body, or a transport error.
pub type PostFuture<'a> = Pin<Box<dyn Future<Output = Result<(u16, String), String>> + Send + 'a>>;

/// Sends a form to the token endpoint. The real one is [`HttpTransport`]; tests wrap it to lose responses.
pub trait TokenTransport: Send + Sync {
    /// POSTs `form` to `url`, with HTTP Basic credentials when given.
    fn post_form<'a>(&'a self, url: &'a str, basic: Option<(&'a str, &'a Secret)>, form: &'a [(String, String)]) -> PostFuture<'a>;
}

/// reqwest over rustls with a 30-second timeout.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl Default for HttpTransport {
    fn default() -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("Concord/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        HttpTransport { client }
    }
}

impl TokenTransport for HttpTransport {
    fn post_form<'a>(&'a self, url: &'a str, basic: Option<(&'a str, &'a Secret)>, form: &'a [(String, String)]) -> PostFuture<'a> {
        Box::pin(async move {
            let mut req = self.client.post(url).header("Accept", "application/json").form(form);
            if let Some((id, secret)) = basic {
                req = req.basic_auth(id, Some(secret.expose()));
            }
            // reqwest errors name the URL, never the form body.
            let resp = req.send().await.map_err(|e| format!("the token endpoint could not be reached: {}", e.without_url()))?;
            let status = resp.status().as_u16();
            let body = resp.text().await.map_err(|e| format!("the token endpoint's answer was cut off: {}", e.without_url()))?;
            Ok((status, body))
        })
    }
}

/// One connection's client at the token endpoint.
#[derive(Clone)]
pub struct TokenClient {
    pub descriptor: &'static OAuthDescriptor,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub transport: Arc<dyn TokenTransport>,
}

impl std::fmt::Debug for TokenClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenClient").field("provider", &self.descriptor.provider).field("token_url", &self.token_url).finish_non_exhaustive()
    }
}

impl TokenClient {
    /// Exchanges an authorization code (with its PKCE verifier when one was sent).
    pub async fn exchange_code(&self, code: &Secret, redirect_uri: &str, verifier: Option<&Secret>) -> Result<TokenResponse, TokenError> {
        let mut form = vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), code.expose().to_string()),
            ("redirect_uri".to_string(), redirect_uri.to_string()),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier".into(), v.expose().to_string()));
        }
        let mut sent = vec![code.expose()];
        if let Some(v) = verifier {
            sent.push(v.expose());
        }
        self.post(form, &sent).await
    }

    /// Exchanges a refresh token.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenResponse, TokenError> {
        let form = vec![
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("refresh_token".to_string(), refresh_token.expose().to_string()),
        ];
        self.post(form, &[refresh_token.expose()]).await
    }

    async fn post(&self, mut form: Vec<(String, String)>, sent: &[&str]) -> Result<TokenResponse, TokenError> {
        for (k, v) in self.descriptor.extra_token_params {
            form.push((k.to_string(), v.to_string()));
        }
        let basic = match self.descriptor.client_auth {
            ClientAuth::Public => {
                form.push(("client_id".into(), self.client_id.clone()));
                None
            }
            ClientAuth::FormSecret => {
                form.push(("client_id".into(), self.client_id.clone()));
                if let Some(s) = &self.client_secret {
                    form.push(("client_secret".into(), s.expose().to_string()));
                }
                None
            }
            ClientAuth::BasicSecret => self.client_secret.as_ref().map(|s| (self.client_id.as_str(), s)),
        };
        let mut scrub_list: Vec<&str> = sent.to_vec();
        if let Some(s) = &self.client_secret {
            scrub_list.push(s.expose());
        }
        let (status, body) = self.transport.post_form(&self.token_url, basic, &form).await.map_err(TokenError::Lost)?;
        parse_response(self.descriptor, status, &body, &scrub_list)
    }
}

fn number(v: &serde_json::Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_f64().map(|f| f.max(0.0) as u64)).or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Reads a token endpoint answer in any of the providers' shapes.
pub fn parse_response(d: &OAuthDescriptor, status: u16, body: &str, sent: &[&str]) -> Result<TokenResponse, TokenError> {
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    let name = d.provider.display_name();
    if (200..300).contains(&status) {
        let access = json.get("access_token").and_then(|v| v.as_str()).filter(|s| !s.is_empty());
        let Some(access) = access else {
            return Err(TokenError::Rejected(format!("{name}'s token endpoint answered {status} without an access token")));
        };
        return Ok(TokenResponse {
            access_token: Secret::new(access),
            refresh_token: json.get("refresh_token").and_then(|v| v.as_str()).filter(|s| !s.is_empty()).map(Secret::new),
            expires_in: json.get("expires_in").and_then(number),
            scope: json.get("scope").and_then(|v| v.as_str()).map(str::to_string),
        });
    }
    if status >= 500 || status == 429 {
        return Err(TokenError::Lost(format!("{name}'s token endpoint is failing (HTTP {status}); try again shortly")));
    }
    // RFC 6749 `error`, or HubSpot's `status` codes.
    let code = json.get("error").and_then(|v| v.as_str()).map(str::to_string).or_else(|| {
        json.get("status").and_then(|v| v.as_str()).map(|s| match s {
            "BAD_REFRESH_TOKEN" | "BAD_AUTH_CODE" | "EXPIRED_REFRESH_TOKEN" => "invalid_grant".to_string(),
            "BAD_CLIENT_ID" | "BAD_CLIENT_SECRET" => "invalid_client".to_string(),
            other => other.to_lowercase(),
        })
    });
    let detail = json
        .get("error_description")
        .or_else(|| json.get("message"))
        .and_then(|v| v.as_str())
        .map(|d| scrub(d, sent))
        .unwrap_or_default();
    let what = format!("{name} refused: {} {}", code.as_deref().unwrap_or("unknown error"), detail).trim().to_string();
    Err(match code.as_deref() {
        Some("invalid_grant") => TokenError::InvalidGrant(what),
        Some("invalid_client") | Some("unauthorized_client") => TokenError::InvalidClient(what),
        _ if status == 401 => TokenError::InvalidClient(what),
        _ => TokenError::Rejected(what),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::descriptor;
    use concord_core::Provider;

    #[test]
    fn error_shapes_of_every_provider_are_understood() {
        let x = descriptor(Provider::Xero);
        let h = descriptor(Provider::HubSpot);
        let cases: &[(&OAuthDescriptor, u16, &str, &str)] = &[
            (x, 400, r#"{"error":"invalid_grant","error_description":"refresh token was revoked"}"#, "grant"),
            (h, 400, r#"{"status":"BAD_REFRESH_TOKEN","message":"missing or unknown refresh token"}"#, "grant"),
            (x, 401, r#"{"error":"invalid_client"}"#, "client"),
            (x, 503, "", "lost"),
            (x, 400, r#"{"error":"unsupported_grant_type"}"#, "rejected"),
        ];
        for (d, status, body, want) in cases {
            let got = parse_response(d, *status, body, &[]).unwrap_err();
            let kind = match got {
                TokenError::InvalidGrant(_) => "grant",
                TokenError::InvalidClient(_) => "client",
                TokenError::Lost(_) => "lost",
                TokenError::Rejected(_) => "rejected",
            };
            assert_eq!(kind, *want, "{status} {body}");
        }
    }

    #[test]
    fn echoed_tokens_are_scrubbed_and_bundles_do_not_print_secrets() {
        let err = parse_response(descriptor(Provider::Xero), 400, r#"{"error":"invalid_grant","error_description":"token abcdef123456 is bad"}"#, &["abcdef123456"]).unwrap_err();
        assert!(!format!("{err:?}").contains("abcdef123456"), "a token echoed by the provider must not reach a message");
        let mut b = TokenBundle { kind: "oauth".into(), access_token: "AT-secret".into(), refresh_token: Some("RT-secret".into()), ..Default::default() };
        assert!(!format!("{b:?}").contains("secret"), "Debug must redact tokens");
        let now = Utc::now();
        b.apply(&TokenResponse { access_token: Secret::new("AT2"), refresh_token: Some(Secret::new("RT2")), expires_in: Some(30), scope: None }, now, None);
        assert_eq!(b.previous_refresh.as_deref(), Some("RT-secret"), "rotation must keep the previous refresh token for the grace window");
        assert_eq!(b.refresh_token.as_deref(), Some("RT2"), "the rotated refresh token replaces the old one");
        assert_eq!(b.expires_at, Some(now + chrono::Duration::seconds(30)), "expiry follows expires_in");
        let same = b.refresh_token.clone();
        b.apply(&TokenResponse { access_token: Secret::new("AT3"), refresh_token: None, expires_in: None, scope: None }, now, Some(Duration::from_secs(60)));
        assert_eq!(b.refresh_token, same, "a response without a refresh token keeps the current one (HubSpot does not rotate)");
    }
}
