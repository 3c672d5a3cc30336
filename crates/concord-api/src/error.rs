//! Errors as the UI and the CLI receive them: a code to branch on, a message to show.
//!
//! The UI never matches on message text; it switches on [`ErrorCode`]. Messages
//! say what went wrong and what to do about it, and never contain a secret.

use concord_store::StoreError;
use serde::{Deserialize, Serialize};
use std::fmt;
use ts_rs::TS;

/// What kind of failure this is, stable across versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    /// The caller gave a value that cannot be used; the message says which and why.
    InvalidInput,
    /// The thing asked for does not exist.
    NotFound,
    /// The workspace folder is missing, unreadable or from a newer Concord.
    Workspace,
    /// The local database failed (busy, damaged, disk full).
    Store,
    /// Reading or writing a file failed.
    Io,
    /// The audit log's hash chain does not verify.
    AuditChainBroken,
    /// A bug in Concord; the message has the detail to report.
    Internal,
    /// The provider no longer accepts the connection (revoked, expired): connect it again. Local data is kept.
    NeedsReauth,
    /// No OS keychain could be reached; Concord will not keep tokens anywhere else. The message says how to fix it.
    KeychainUnavailable,
    /// The sign-in was refused: wrong state, foreign redirect, declined consent, wrong PKCE verifier or client secret.
    AuthRejected,
    /// The grant reaches several organisations: pick one (the message lists them) and connect again.
    ChooseTenant,
    /// The connection lacks a scope a feature needs: connect again to grant it (the message names it).
    ScopeMissing,
    /// The provider or the network could not be reached; try again later.
    Unavailable,
}

/// An error with its code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ApiError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What went wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        let code = match &err {
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::Invalid(_) => ErrorCode::InvalidInput,
            StoreError::NewerSchema { .. } => ErrorCode::Workspace,
            StoreError::DiskFull | StoreError::Busy | StoreError::Corrupt(_) | StoreError::Sqlite(_) => ErrorCode::Store,
        };
        ApiError::new(code, err.to_string())
    }
}

/// Shorthand for API results.
pub type Result<T> = std::result::Result<T, ApiError>;
