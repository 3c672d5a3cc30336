//! Why a call or a stream failed, phrased for the bookkeeper and never holding a secret.
//!
//! A [`SyncError`] says whether trying again can help ([`SyncError::retryable`]):
//! server errors, throttling, timeouts, dropped connections and cut-off bodies
//! are retried with backoff; a refused request (a non-retryable 4xx) stops its
//! stream with the provider's own message; a refused token stops the
//! connection until the user connects again. Messages carry the method and the
//! path without its query, never a token.

use std::time::Duration;

/// A failure while syncing.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SyncError {
    /// The provider answered 5xx.
    #[error("{provider} answered {status} to {what} (a server error; retried {retries} times)")]
    Server { provider: &'static str, status: u16, what: String, retries: u32 },
    /// The provider throttled the call.
    #[error("{provider} throttled {what} (HTTP 429)")]
    Throttled { provider: &'static str, what: String, retry_after: Option<Duration> },
    /// The connection failed, timed out, or the body was cut off or unreadable.
    #[error("{provider}: {what} failed in transit: {detail}")]
    Transport { provider: &'static str, what: String, detail: String },
    /// The provider refused the request itself; trying again will not help.
    #[error("{provider} refused {what} with HTTP {status}: {message}")]
    Rejected { provider: &'static str, status: u16, what: String, message: String },
    /// The paging cursor expired; the stream restarts from its bookmark.
    #[error("{provider}: the paging cursor for {what} expired")]
    CursorExpired { provider: &'static str, what: String },
    /// The token was refused and could not be renewed: the user must connect again.
    #[error("{0}")]
    NeedsReauth(String),
    /// Credentials could not be had right now (keychain locked, token endpoint down).
    #[error("credentials are unavailable: {0}")]
    CredentialsUnavailable(String),
    /// The page did not have the shape the provider documents.
    #[error("{provider}: unexpected page shape for {what}: {detail}")]
    Shape { provider: &'static str, what: String, detail: String },
    /// The local store failed.
    #[error("{0}")]
    Store(String),
    /// The stream was cancelled.
    #[error("the sync was cancelled")]
    Cancelled,
}

impl SyncError {
    /// Whether the same request may succeed if tried again.
    pub fn retryable(&self) -> bool {
        matches!(self, SyncError::Server { .. } | SyncError::Throttled { .. } | SyncError::Transport { .. })
    }

    /// The wait the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SyncError::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl From<concord_store::StoreError> for SyncError {
    fn from(e: concord_store::StoreError) -> Self {
        SyncError::Store(e.to_string())
    }
}
