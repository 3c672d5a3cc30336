//! `concord demo` end to end against an in-process sandbox. Without a keychain
//! it must refuse clearly and create nothing; with one (`CONCORD_KEYCHAIN_TEST=1`
//! inside scripts/keyring-session.sh) it must connect, sync and match the four
//! demo connections, and a second run must reconnect the same four.

use std::process::{Command, Output};

fn concord(dir: &std::path::Path, args: &[&str], keychain: bool) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_concord"));
    c.arg("--workspace").arg(dir).args(args);
    if !keychain {
        // No session bus: the Secret Service cannot be reached.
        c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/concord-test-bus");
    }
    c
}

async fn run(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_from_the_cli_against_the_sandbox() {
    let sb = concord_sandbox::Sandbox::start(concord_sandbox::SandboxConfig { customers: 30, time_scale: 60.0, ..Default::default() }).await.unwrap();
    let origin = sb.origin();
    let dir = tempfile::tempdir().unwrap();
    let with_keychain = std::env::var("CONCORD_KEYCHAIN_TEST").as_deref() == Ok("1");

    let off_machine = run(concord(dir.path(), &["demo", "--sandbox-url", "http://192.0.2.1:80"], with_keychain)).await;
    assert!(!off_machine.status.success() && text(&off_machine).contains("error[invalid_input]"), "a sandbox off this machine must be refused: {}", text(&off_machine));

    if !with_keychain {
        let out = run(concord(dir.path(), &["demo", "--sandbox-url", &origin], false)).await;
        let t = text(&out);
        assert!(!out.status.success(), "the demo without a keychain must fail: {t}");
        assert!(t.contains("error[keychain_unavailable]"), "the error must name the missing keychain: {t}");
        let list = run(concord(dir.path(), &["connections"], false)).await;
        assert!(String::from_utf8_lossy(&list.stdout).trim().is_empty(), "no connection may be left behind without its tokens: {}", text(&list));
        return;
    }

    let first = run(concord(dir.path(), &["demo", "--sandbox-url", &origin], true)).await;
    let t = text(&first);
    assert!(first.status.success(), "the demo must succeed: {t}");
    assert!(t.contains("follows the sandbox's sign-in page"), "the demo must say its browser is an HTTP client: {t}");
    assert_eq!(t.matches("demo: connected ").count(), 4, "four connections on the first run: {t}");
    assert!(t.contains("synced 12 streams") && t.contains("(0 failed)"), "every stream must sync: {t}");
    assert!(t.contains("field conflicts"), "the matching counts must be printed: {t}");

    let second = run(concord(dir.path(), &["demo", "--sandbox-url", &origin, "--no-sync"], true)).await;
    let t = text(&second);
    assert!(second.status.success(), "re-running the demo must succeed: {t}");
    assert_eq!(t.matches("demo: reconnected ").count(), 4, "a second run reconnects the same four: {t}");
    let list = run(concord(dir.path(), &["connections"], true)).await;
    let rows: Vec<String> = String::from_utf8_lossy(&list.stdout).lines().map(str::to_string).collect();
    assert_eq!(rows.len(), 4, "exactly four connections after two runs: {rows:?}");
    assert!(rows.iter().all(|r| r.contains(" connected ")), "all four must be connected: {rows:?}");
    sb.shutdown().await;
}
