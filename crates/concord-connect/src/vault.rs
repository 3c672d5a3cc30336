//! A connection's keychain entry, reached from async code.
//!
//! Every connection has one entry, `connection/<id>/tokens` under the service
//! `concord`, holding its [`TokenBundle`] as JSON; the `connections` table
//! records that account name and nothing secret. Keychain calls block, so
//! they run on `spawn_blocking`.

use crate::error::ConnectError;
use crate::token::TokenBundle;
use concord_secret::SecretStore;
use std::sync::Arc;

/// The keychain account of a connection's tokens.
pub fn account(connection_id: i64) -> String {
    format!("connection/{connection_id}/tokens")
}

/// A pending connection's account, before it has a row id.
pub fn pending_account(nonce: &str) -> String {
    format!("pending/{nonce}/tokens")
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ConnectError> + Send + 'static) -> Result<T, ConnectError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ConnectError::Unavailable(format!("the keychain call did not finish: {e}")))?
}

/// Reads a bundle; `None` when the entry is missing.
pub async fn load(store: &Arc<dyn SecretStore>, account: &str) -> Result<Option<TokenBundle>, ConnectError> {
    let (store, account) = (store.clone(), account.to_string());
    blocking(move || match store.get(&account)? {
        Some(s) => TokenBundle::from_secret(&s).map(Some),
        None => Ok(None),
    })
    .await
}

/// Writes a bundle, replacing the entry whole.
pub async fn save(store: &Arc<dyn SecretStore>, account: &str, bundle: &TokenBundle) -> Result<(), ConnectError> {
    let (store, account, secret) = (store.clone(), account.to_string(), bundle.to_secret());
    blocking(move || Ok(store.set(&account, &secret)?)).await
}

/// Removes an entry (missing is fine).
pub async fn delete(store: &Arc<dyn SecretStore>, account: &str) -> Result<(), ConnectError> {
    let (store, account) = (store.clone(), account.to_string());
    blocking(move || Ok(store.delete(&account)?)).await
}
