//! The business systems Concord connects to.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use ts_rs::TS;

/// A provider Concord has a connector for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Provider {
    /// HubSpot CRM (contacts and companies).
    HubSpot,
    /// Shopify Admin API (customers and orders).
    Shopify,
    /// Xero Accounting API (contacts, invoices, payments, credit notes).
    Xero,
    /// QuickBooks Online Accounting API (customers, invoices, payments, credit memos).
    QuickBooks,
}

impl Provider {
    /// Every provider, in the order the UI lists them.
    pub const ALL: [Provider; 4] = [Provider::HubSpot, Provider::Shopify, Provider::Xero, Provider::QuickBooks];

    /// The stable identifier used in the store, the CLI and the UI.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::HubSpot => "hubspot",
            Provider::Shopify => "shopify",
            Provider::Xero => "xero",
            Provider::QuickBooks => "quickbooks",
        }
    }

    /// The name a bookkeeper knows the system by.
    pub fn display_name(self) -> &'static str {
        match self {
            Provider::HubSpot => "HubSpot",
            Provider::Shopify => "Shopify",
            Provider::Xero => "Xero",
            Provider::QuickBooks => "QuickBooks Online",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text did not name a provider Concord knows.
#[derive(Debug, thiserror::Error)]
#[error("unknown provider {0:?}: expected one of hubspot, shopify, xero, quickbooks")]
pub struct UnknownProvider(pub String);

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == wanted || (wanted == "qbo" && *p == Provider::QuickBooks))
            .ok_or_else(|| UnknownProvider(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip() {
        for p in Provider::ALL {
            assert_eq!(p.as_str().parse::<Provider>().unwrap(), p, "the stored identifier must parse back to the same provider");
        }
        assert!("sage".parse::<Provider>().is_err(), "an unsupported system must be rejected, not guessed");
    }
}
