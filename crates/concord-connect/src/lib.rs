//! Connecting Concord to HubSpot, Shopify, Xero and QuickBooks Online, and keeping it connected.
//!
//! - [`provider`]: each provider's OAuth as data ([`provider::OAuthDescriptor`]).
//! - [`flow`]: the sign-in (OAuth 2.0 authorization code, PKCE S256 where the
//!   provider takes it) through an [`flow::Opener`], and tenant discovery.
//! - [`listener`]: the one-shot redirect listener on 127.0.0.1 (RFC 8252).
//! - [`token`]: the token endpoint and the [`token::TokenBundle`] kept in the keychain.
//! - [`vault`]: the keychain entry of a connection, from async code.
//! - [`credentials`]: [`credentials::OAuthCredentials`], the
//!   [`concord_core::Credentials`] the sync engine asks for tokens, with
//!   single-flight proactive refresh, 401 handling and re-authorisation.
//!
//! This crate knows nothing of the store or the API layer: `concord-api` wires
//! it to a workspace, and marks a connection `needs_reauth` through the hook.
//!
//! **Invariant:** no token, code, verifier or client secret is written anywhere
//! but the keychain; every one travels as [`concord_core::Secret`] or inside a
//! bundle whose `Debug` is redacted.

pub mod credentials;
pub mod error;
pub mod flow;
pub mod listener;
pub mod pkce;
pub mod provider;
pub mod token;
pub mod vault;

pub use credentials::{OAuthCredentials, RefreshGauge, StaticCredentials};
pub use error::ConnectError;
pub use flow::{Opener, SystemBrowser};
pub use provider::{descriptor, OAuthDescriptor};
pub use token::{HttpTransport, TokenBundle, TokenClient, TokenTransport};
