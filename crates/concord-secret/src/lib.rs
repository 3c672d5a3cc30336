//! Where Concord keeps its secrets: the operating system's keychain, and nowhere else.
//!
//! [`SecretStore`] is the small trait the rest of Concord uses: get, set and
//! delete one secret by account name. [`Keychain`] implements it over the
//! `keyring` crate (Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows) under the service name [`SERVICE`]; [`MemoryStore`]
//! implements it in memory for unit tests, where every handle to the same
//! store sees the same secrets (unlike keyring's own mock, which keeps a
//! secret per `Entry` object).
//!
//! When no keychain can be reached, every call fails with
//! [`SecretError::Unavailable`], whose message says how to fix it. There is
//! deliberately no fallback to a file: a secret that cannot be kept safely is
//! not kept at all.
//!
//! Keychain calls block (D-Bus round trips, sometimes a prompt); async callers
//! run them on `tokio::task::spawn_blocking`.
//!
//! ```
//! use concord_secret::{MemoryStore, SecretStore};
//! use concord_core::Secret;
//! let store = MemoryStore::default();
//! store.set("connection/1/tokens", &Secret::new("s3cret")).unwrap();
//! assert_eq!(store.get("connection/1/tokens").unwrap().unwrap().expose(), "s3cret");
//! store.delete("connection/1/tokens").unwrap();
//! assert!(store.get("connection/1/tokens").unwrap().is_none());
//! ```

use concord_core::Secret;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The keychain service name under which every Concord secret is filed.
pub const SERVICE: &str = "concord";

/// Why a secret could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No usable keychain: no Secret Service on the session bus, a locked
    /// keyring, or a platform store that refused access. The message says how to fix it.
    #[error("{0}")]
    Unavailable(String),
    /// The keychain answered but the operation failed (bad data, too long, ...).
    #[error("the keychain refused the operation: {0}")]
    Failed(String),
}

/// A place that keeps secrets by account name.
pub trait SecretStore: Send + Sync {
    /// The secret filed under `account`, or `None` when there is none.
    fn get(&self, account: &str) -> Result<Option<Secret>, SecretError>;
    /// Files `secret` under `account`, replacing any previous one.
    fn set(&self, account: &str, secret: &Secret) -> Result<(), SecretError>;
    /// Removes the secret under `account`; removing a missing one is not an error.
    fn delete(&self, account: &str) -> Result<(), SecretError>;
    /// A short name for messages ("Secret Service", "memory").
    fn describe(&self) -> &'static str;
}

/// What to tell the user when no keychain is reachable on this platform.
pub fn unavailable_hint() -> &'static str {
    if cfg!(target_os = "linux") {
        "Concord keeps tokens only in the Secret Service keychain and never in a file. Start a keyring \
         (GNOME Keyring or KWallet; on a headless machine: `dbus-run-session -- sh -c 'echo PW | \
         gnome-keyring-daemon --unlock --components=secrets; concord ...'`), make sure it is unlocked, and try again"
    } else if cfg!(target_os = "macos") {
        "Concord keeps tokens only in the macOS Keychain and never in a file. Unlock your login keychain \
         (Keychain Access) and allow Concord access when asked, then try again"
    } else if cfg!(target_os = "windows") {
        "Concord keeps tokens only in Windows Credential Manager and never in a file. Check that Credential \
         Manager is available for your account, then try again"
    } else {
        "Concord keeps tokens only in an OS keychain and this platform has none it supports"
    }
}

/// The operating system's keychain through the `keyring` crate.
#[derive(Debug, Clone, Default)]
pub struct Keychain;

impl Keychain {
    fn entry(account: &str) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(SERVICE, account).map_err(map_error)
    }

    /// Checks that a keychain answers, by looking up an entry that need not exist.
    pub fn probe(&self) -> Result<(), SecretError> {
        self.get("probe").map(|_| ())
    }
}

fn map_error(err: keyring::Error) -> SecretError {
    match err {
        keyring::Error::NoStorageAccess(e) => {
            SecretError::Unavailable(format!("the OS keychain cannot be reached ({e}). {}", unavailable_hint()))
        }
        keyring::Error::PlatformFailure(e) => {
            SecretError::Unavailable(format!("the OS keychain failed ({e}). {}", unavailable_hint()))
        }
        // Other variants (bad encoding, too long, ambiguous) carry no secret, only a reason.
        other => SecretError::Failed(other.to_string()),
    }
}

impl SecretStore for Keychain {
    fn get(&self, account: &str) -> Result<Option<Secret>, SecretError> {
        match Self::entry(account)?.get_password() {
            Ok(s) => Ok(Some(Secret::new(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_error(e)),
        }
    }

    fn set(&self, account: &str, secret: &Secret) -> Result<(), SecretError> {
        Self::entry(account)?.set_password(secret.expose()).map_err(map_error)
    }

    fn delete(&self, account: &str) -> Result<(), SecretError> {
        match Self::entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(e)),
        }
    }

    fn describe(&self) -> &'static str {
        if cfg!(target_os = "macos") {
            "macOS Keychain"
        } else if cfg!(target_os = "windows") {
            "Windows Credential Manager"
        } else {
            "Secret Service"
        }
    }
}

/// Secrets in memory, shared by every clone: for unit tests only.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<BTreeMap<String, Secret>>>,
    unavailable: Arc<Mutex<bool>>,
}

impl MemoryStore {
    /// Makes every later call fail as a missing keychain would (or work again).
    pub fn set_unavailable(&self, unavailable: bool) {
        *self.unavailable.lock().unwrap_or_else(|p| p.into_inner()) = unavailable;
    }

    /// The account names currently held, for assertions.
    pub fn accounts(&self) -> Vec<String> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect()
    }

    fn check(&self) -> Result<(), SecretError> {
        if *self.unavailable.lock().unwrap_or_else(|p| p.into_inner()) {
            Err(SecretError::Unavailable(format!("the test keychain is switched off. {}", unavailable_hint())))
        } else {
            Ok(())
        }
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, account: &str) -> Result<Option<Secret>, SecretError> {
        self.check()?;
        Ok(self.inner.lock().unwrap_or_else(|p| p.into_inner()).get(account).cloned())
    }

    fn set(&self, account: &str, secret: &Secret) -> Result<(), SecretError> {
        self.check()?;
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).insert(account.to_string(), secret.clone());
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<(), SecretError> {
        self.check()?;
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).remove(account);
        Ok(())
    }

    fn describe(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_is_shared_between_clones() {
        let a = MemoryStore::default();
        let b = a.clone();
        a.set("x", &Secret::new("1")).unwrap();
        assert_eq!(b.get("x").unwrap().map(|s| s.expose().to_string()), Some("1".into()), "a clone must see what another handle stored, unlike keyring's mock");
    }

    #[test]
    fn unavailable_store_says_how_to_fix_it() {
        let s = MemoryStore::default();
        s.set_unavailable(true);
        let err = s.set("x", &Secret::new("1")).unwrap_err();
        assert!(matches!(err, SecretError::Unavailable(_)), "a missing keychain must be reported as unavailable");
        assert!(err.to_string().contains("never in a file"), "the message must say there is no plain-text fallback: {err}");
    }

    #[test]
    fn deleting_a_missing_secret_is_fine() {
        let s = MemoryStore::default();
        s.delete("never-set").expect("disconnecting twice must not fail");
    }
}
