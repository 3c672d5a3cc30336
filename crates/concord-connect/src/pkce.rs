//! PKCE (RFC 7636, S256) verifiers and challenges, and the `state` nonce.
//!
//! The verifier is 64 characters from the unreserved alphabet drawn from the
//! OS-seeded thread RNG; it stays in memory for the one exchange and is wrapped
//! in [`Secret`] so it cannot be printed.

use base64::Engine;
use concord_core::Secret;
use rand::Rng;
use sha2::{Digest, Sha256};

const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// A PKCE pair: the verifier kept here and the challenge sent in the authorize URL.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: Secret,
    pub challenge: String,
}

impl Pkce {
    /// A new random verifier and its S256 challenge.
    pub fn new() -> Pkce {
        let mut rng = rand::rng();
        let verifier: String = (0..64).map(|_| UNRESERVED[rng.random_range(0..UNRESERVED.len())] as char).collect();
        let challenge = challenge_s256(&verifier);
        Pkce { verifier: Secret::new(verifier), challenge }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

/// BASE64URL(SHA-256(verifier)) without padding.
pub fn challenge_s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A random `state` value (32 bytes, URL-safe base64).
pub fn new_state() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_matches_rfc_7636_example() {
        assert_eq!(
            challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "the S256 challenge must match the RFC's worked example"
        );
        let p = Pkce::new();
        assert_eq!(p.verifier.expose().len(), 64, "verifiers must be 43-128 characters");
        assert_ne!(new_state(), new_state(), "state values must not repeat");
    }
}
