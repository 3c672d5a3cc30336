//! The four providers the sandbox impersonates, and how their record ids look.
//!
//! The sandbox keeps its own `Provider` type rather than borrowing Concord's:
//! it plays the other side of the wire, and sharing code with the client
//! would let a shared mistake pass unnoticed. Ids are derived from a record's
//! index so that a record can be found from its id without an index map (a
//! benchmark world has millions of records): HubSpot and Shopify ids are
//! offset integers, QuickBooks ids are small integers as Intuit issues them,
//! and Xero ids are UUIDs whose last group encodes the index under a
//! seed-derived mask.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// A provider the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    HubSpot,
    Shopify,
    Xero,
    QuickBooks,
}

impl Provider {
    /// Every provider, in path-prefix order.
    pub const ALL: [Provider; 4] = [Provider::HubSpot, Provider::Shopify, Provider::Xero, Provider::QuickBooks];

    /// The lowercase name used in paths, JSON and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::HubSpot => "hubspot",
            Provider::Shopify => "shopify",
            Provider::Xero => "xero",
            Provider::QuickBooks => "quickbooks",
        }
    }

    /// Position in [`Provider::ALL`], for per-provider arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "hubspot" => Ok(Provider::HubSpot),
            "shopify" => Ok(Provider::Shopify),
            "xero" => Ok(Provider::Xero),
            "quickbooks" | "qbo" => Ok(Provider::QuickBooks),
            other => Err(format!("unknown provider {other:?}: expected hubspot, shopify, xero or quickbooks")),
        }
    }
}

/// First HubSpot contact id; HubSpot ids are plain integers sent as strings.
pub const HUBSPOT_CONTACT_BASE: u64 = 100_001;
/// First HubSpot company id.
pub const HUBSPOT_COMPANY_BASE: u64 = 9_000_000_001;
/// First Shopify customer id (numeric part of the gid).
pub const SHOPIFY_CUSTOMER_BASE: u64 = 7_000_000_000_001;
/// First Shopify order id.
pub const SHOPIFY_ORDER_BASE: u64 = 5_000_000_000_001;
/// First Shopify refund id.
pub const SHOPIFY_REFUND_BASE: u64 = 900_000_001;
/// First Shopify line item id.
pub const SHOPIFY_LINE_BASE: u64 = 13_000_000_000_001;

/// An offset integer id (`base + index`).
pub fn offset_id(base: u64, index: u32) -> u64 {
    base + index as u64
}

/// The index behind an offset integer id, if it is one.
pub fn offset_index(base: u64, id: u64) -> Option<u32> {
    id.checked_sub(base).and_then(|i| u32::try_from(i).ok())
}

/// The kinds of Xero record, each with its own id prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XeroKind {
    Contact = 1,
    Invoice = 2,
    Payment = 3,
    CreditNote = 4,
    LineItem = 5,
    Tenant = 6,
    Connection = 7,
}

/// Derives Xero-style UUIDs from (seed, kind, index) and back.
#[derive(Clone, Debug)]
pub struct XeroIds {
    /// Each kind's UUID prefix (indexed by the kind's number), computed once:
    /// rendering a page asks for thousands of ids.
    prefixes: [[u8; 16]; 8],
}

impl XeroIds {
    pub fn new(seed: u64) -> Self {
        let mut prefixes = [[0u8; 16]; 8];
        for (n, p) in prefixes.iter_mut().enumerate() {
            *p = Self::derive_prefix(seed, n as u8);
        }
        XeroIds { prefixes }
    }

    fn prefix(&self, kind: XeroKind) -> [u8; 16] {
        self.prefixes[kind as usize]
    }

    fn derive_prefix(seed: u64, kind: u8) -> [u8; 16] {
        let mut h = Sha256::new();
        h.update(seed.to_le_bytes());
        h.update([kind]);
        let d = h.finalize();
        let mut b = [0u8; 16];
        b.copy_from_slice(&d[..16]);
        b[6] = (b[6] & 0x0f) | 0x40; // version 4
        b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
        b
    }

    /// The UUID of record `index` of `kind`.
    pub fn id(&self, kind: XeroKind, index: u32) -> Uuid {
        let mut b = self.prefix(kind);
        let mask = u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]]);
        let v = (index as u64) ^ mask;
        let vb = v.to_be_bytes();
        b[10..16].copy_from_slice(&vb[2..8]);
        Uuid::from_bytes(b)
    }

    /// The index behind a UUID of `kind`, if it is one.
    pub fn index(&self, kind: XeroKind, id: &str) -> Option<u32> {
        let u = Uuid::parse_str(id.trim()).ok()?;
        let b = u.as_bytes();
        let p = self.prefix(kind);
        if b[..10] != p[..10] {
            return None;
        }
        let mask = u64::from_be_bytes([0, 0, p[10], p[11], p[12], p[13], p[14], p[15]]);
        let v = u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]]) ^ mask;
        u32::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xero_ids_round_trip_and_do_not_collide_across_kinds() {
        let ids = XeroIds::new(7);
        for index in [0_u32, 1, 99, 123_456] {
            let contact = ids.id(XeroKind::Contact, index).to_string();
            assert_eq!(ids.index(XeroKind::Contact, &contact), Some(index), "an id must lead back to its record");
            assert_eq!(
                ids.index(XeroKind::Invoice, &contact),
                None,
                "a contact id must not be accepted as an invoice id"
            );
        }
    }

    #[test]
    fn provider_names_parse() {
        for p in Provider::ALL {
            assert_eq!(p.as_str().parse::<Provider>(), Ok(p), "every provider name must parse back");
        }
    }
}
