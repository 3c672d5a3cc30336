//! What can go wrong while connecting, in terms the API layer turns into error codes.
//!
//! Every message says what happened and what to do, and none carries a token,
//! a code or a client secret: values that were sent are scrubbed from provider
//! messages before they are wrapped here.

use concord_core::AuthFailure;
use concord_secret::SecretError;

/// A failure to connect, authorise or keep tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// The caller gave something unusable (bad URL, missing client id, unknown tenant).
    #[error("{0}")]
    InvalidInput(String),
    /// No OS keychain: Concord will not keep the tokens anywhere else.
    #[error("{0}")]
    KeychainUnavailable(String),
    /// The redirect did not come back as issued: wrong state, wrong host or path, or an
    /// error from the provider; or the token endpoint refused the code (wrong PKCE verifier, expired code).
    #[error("{0}")]
    AuthRejected(String),
    /// The user did not finish signing in before the listener gave up.
    #[error("{0}")]
    Timeout(String),
    /// The provider refused the grant for good: the user must connect again.
    #[error("{0}")]
    NeedsReauth(String),
    /// The provider or the network failed; trying again later may work.
    #[error("{0}")]
    Unavailable(String),
}

impl From<SecretError> for ConnectError {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::Unavailable(m) => ConnectError::KeychainUnavailable(m),
            SecretError::Failed(m) => ConnectError::KeychainUnavailable(format!("the keychain refused to store Concord's tokens: {m}")),
        }
    }
}

impl From<AuthFailure> for ConnectError {
    fn from(e: AuthFailure) -> Self {
        match e {
            AuthFailure::NeedsReauth(m) => ConnectError::NeedsReauth(m),
            AuthFailure::Unavailable(m) => ConnectError::Unavailable(m),
        }
    }
}

/// Replaces every occurrence of the values in `sent` in `text` with `[redacted]`,
/// so a provider that echoes a token back cannot leak it into a message.
pub fn scrub(text: &str, sent: &[&str]) -> String {
    let mut out: String = text.chars().take(300).collect();
    for s in sent.iter().filter(|s| s.len() >= 6) {
        out = out.replace(*s, "[redacted]");
    }
    out
}
