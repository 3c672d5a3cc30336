//! The seam between connecting (tokens, keychain) and syncing (requests).
//!
//! The sync engine asks a [`Credentials`] for a token before each request and
//! tells it when the provider refused one; the connect layer decides whether to
//! refresh, wait for a refresh already in flight, or give up with
//! [`AuthFailure::NeedsReauth`]. Neither side knows how the other works.
//!
//! [`Secret`] wraps every token so it cannot be printed by accident: its
//! `Debug` and `Display` show `[redacted]`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A secret value (token, client secret). Printing it shows `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why no token can be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// The provider refused the grant (revoked, invalid_grant, refresh token
    /// expired): the user must connect again. Local data is kept.
    #[error("the connection needs re-authorisation: {0}")]
    NeedsReauth(String),
    /// The keychain or the token endpoint could not be reached; retry later.
    #[error("credentials are unavailable: {0}")]
    Unavailable(String),
}

/// A boxed future returning a token, so [`Credentials`] can be used as a trait object.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<Secret, AuthFailure>> + Send + 'a>>;

/// Supplies access tokens for one connection.
pub trait Credentials: Send + Sync {
    /// A token valid for the next request; implementations refresh ahead of expiry.
    fn current(&self) -> TokenFuture<'_>;
    /// The provider answered 401 to `refused`: return a fresh token (refreshing at
    /// most once for that token, however many requests saw the 401), or fail.
    fn refused<'a>(&'a self, refused: &'a Secret) -> TokenFuture<'a>;
}

/// A token that never changes: HubSpot private apps, Shopify custom apps.
#[derive(Debug, Clone)]
pub struct StaticToken(pub Secret);

impl Credentials for StaticToken {
    fn current(&self) -> TokenFuture<'_> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }

    fn refused<'a>(&'a self, _refused: &'a Secret) -> TokenFuture<'a> {
        Box::pin(async move {
            Err(AuthFailure::NeedsReauth(
                "the provider refused the private-app token (revoked or rotated); paste a new token".to_string(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("shpat_very_secret");
        assert!(!format!("{s:?} {s}").contains("very_secret"), "Debug and Display must never reveal a secret");
        assert_eq!(s.expose(), "shpat_very_secret", "expose is the one deliberate way to read it");
    }
}
