//! Stub.
use crate::state::SandboxState;
use std::sync::Arc;
pub const API_VERSION: &str = "2025-01";
pub fn routes() -> axum::Router<Arc<SandboxState>> { axum::Router::new() }
