//! What the `concord` binary's tests share: running it on a workspace as a user would.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `concord --workspace DIR ARGS...`, ignoring any CONCORD_WORKSPACE of the caller's.
pub fn concord(workspace: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_concord"))
        .arg("--workspace")
        .arg(workspace)
        .args(args)
        .env_remove("CONCORD_WORKSPACE")
        .output()
        .expect("the concord binary must start")
}

/// Output bytes as text, for assertions and their messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
