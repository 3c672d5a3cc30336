//! The four providers, each a module of declarations over the shared building blocks.
//!
//! [`spec_for`] finds a provider's [`ProviderSpec`]. Each module declares its
//! quota, page size, streams (record paths, id and last-modified paths, state
//! rules, field aliases, known keys) and supplies the two functions that are
//! really its own: how a page is requested and how it says whether more follow.

pub mod hubspot;
pub mod quickbooks;
pub mod shopify;
pub mod xero;

use crate::spec::ProviderSpec;
use concord_core::Provider;

/// The declarations of `provider`.
pub fn spec_for(provider: Provider) -> &'static ProviderSpec {
    match provider {
        Provider::HubSpot => &hubspot::SPEC,
        Provider::Shopify => &shopify::SPEC,
        Provider::Xero => &xero::SPEC,
        Provider::QuickBooks => &quickbooks::SPEC,
    }
}

/// Milliseconds since the epoch of a normalised RFC 3339 time.
pub(crate) fn epoch_ms(rfc3339: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(rfc3339).ok().map(|d| d.timestamp_millis())
}

/// Percent-encodes a query parameter value.
pub(crate) fn enc(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}
