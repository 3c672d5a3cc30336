//! Integration tests of the provider sandboxes, driven over 127.0.0.1 with
//! reqwest as a real client would: one module per provider (OAuth, paging on
//! the provider's own end signal, writes, a rate-limit 429 and every fault
//! kind), the ground truth against the served data, and contract tests
//! against the providers' published specs in ../shared.

mod contract;
mod ground_truth;
mod hubspot;
mod quickbooks;
mod shopify;
mod support;
mod xero;
