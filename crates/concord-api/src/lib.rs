//! The one surface that Concord's desktop app, its CLI and its tests call.
//!
//! [`Workspace`] is an open workspace folder (its SQLite store and, later, its
//! connections and sync state). Every operation a user can perform is a method
//! on it that returns a [`json`] type or an [`ApiError`] with a machine-readable
//! [`ErrorCode`] and a human message. The Tauri commands in `src-tauri` and the
//! `concord` CLI are thin calls into these methods, so the app, the CLI and the
//! tests exercise the same code.
//!
//! ```
//! use concord_api::Workspace;
//! use concord_core::FixedClock;
//! use std::sync::Arc;
//! let dir = tempfile::tempdir().unwrap();
//! let clock = Arc::new(FixedClock::at("2026-11-23T09:30:00Z").unwrap());
//! let ws = Workspace::init(dir.path(), clock, "doc").unwrap();
//! assert!(ws.audit_verify().unwrap().ok);
//! ```
//!
//! **Invariant:** lower crates never depend on this one, and nothing here knows
//! about Tauri.

pub mod connect;
pub mod demo;
pub mod error;
pub mod json;
pub mod matching;
pub mod memory;
pub mod push;
pub mod report;
pub mod sync;
pub mod views;
pub mod workspace;

pub use error::{ApiError, ErrorCode};
pub use workspace::Workspace;
