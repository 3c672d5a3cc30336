//! End-to-end tests of the `concord` binary as a user runs it.

mod support;

use std::process::Command;
use support::{concord, text};

#[test]
fn init_then_verify_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("books");
    let out = concord(&ws, &["init"]);
    assert!(out.status.success(), "init must succeed on a new folder: {}", text(&out.stderr));
    assert!(ws.join("concord.db").is_file(), "init must create the database file");
    let out = concord(&ws, &["audit", "verify"]);
    assert!(out.status.success(), "a fresh workspace's chain must verify: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("1 entries intact"), "verify must say how much it checked: {}", text(&out.stdout));
}

#[test]
fn verify_names_the_tampered_row() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    assert!(concord(ws, &["init"]).status.success(), "init must succeed");
    {
        // A tamperer with plain SQL access: drop the guard trigger and rewrite history.
        let db = rusqlite::Connection::open(ws.join("concord.db")).unwrap();
        db.execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET subject = 'forged' WHERE id = 1;").unwrap();
    }
    let out = concord(ws, &["audit", "verify"]);
    assert!(!out.status.success(), "a tampered log must fail verification");
    let err = text(&out.stderr);
    assert!(err.contains("entry 1"), "the failure must name the tampered entry: {err}");
    assert!(err.contains("edited"), "the failure must say what happened to it: {err}");
}

#[test]
fn missing_workspace_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = concord(&dir.path().join("nowhere"), &["audit", "verify"]);
    assert!(!out.status.success(), "verifying a folder that is not a workspace must fail");
    let err = text(&out.stderr);
    assert!(err.contains("error[workspace]") && err.contains("concord init"), "the error must carry its code and the fix: {err}");
}

#[test]
fn help_explains_each_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_concord")).arg("--help").output().unwrap();
    let help = text(&out.stdout);
    for word in ["init", "audit", "--workspace"] {
        assert!(help.contains(word), "--help must mention {word}: {help}");
    }
}
