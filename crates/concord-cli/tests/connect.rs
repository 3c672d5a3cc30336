//! `concord connect` end to end: the printed sign-in address is followed as a
//! browser would, against the Xero sandbox. Without a keychain the command must
//! refuse clearly; with one (`CONCORD_KEYCHAIN_TEST=1` inside
//! scripts/keyring-session.sh) it must connect and list the connection.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn concord(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_concord"));
    c.arg("--workspace").arg(dir);
    c
}

#[test]
fn secrets_are_refused_from_an_empty_variable_and_never_taken_from_argv() {
    let dir = tempfile::tempdir().unwrap();
    let out = concord(dir.path()).args(["connect", "hubspot", "--name", "CRM", "--token-env", "CONCORD_TEST_UNSET_VAR"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("error[invalid_input]") && err.contains("CONCORD_TEST_UNSET_VAR"), "an unset token variable must be named: {err}");
    let out = concord(dir.path()).args(["connect", "hubspot", "--name", "CRM", "--token", "pat-123"]).output().unwrap();
    assert!(!out.status.success(), "there must be no flag that takes a token on the command line");
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_from_the_cli_against_the_sandbox() {
    let sb = concord_sandbox::Sandbox::start(concord_sandbox::SandboxConfig { customers: 10, ..Default::default() }).await.unwrap();
    let xero = concord_sandbox::Provider::Xero;
    let dir = tempfile::tempdir().unwrap();
    let with_keychain = std::env::var("CONCORD_KEYCHAIN_TEST").as_deref() == Ok("1");
    let mut cmd = concord(dir.path());
    cmd.args(["connect", "xero", "--name", "Books", "--no-browser", "--base-url", &sb.base_url(xero), "--client-id", &sb.credentials(xero).client_id]);
    if !with_keychain {
        // No session bus: the Secret Service cannot be reached.
        cmd.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/concord-test-bus");
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let url = line.trim().starts_with("http").then(|| line.trim().to_string());
            seen.push(line);
            if let Some(url) = url {
                return (seen, Some(url));
            }
        }
        (seen, None)
    })
    .await
    .unwrap();
    let (seen, url) = lines;
    if !with_keychain {
        let out = child.wait_with_output().unwrap();
        let text = seen.join("\n");
        assert!(!out.status.success(), "connecting without a keychain must fail");
        assert!(text.contains("error[keychain_unavailable]"), "the error must name the missing keychain: {text}");
        assert!(text.contains("never in a file"), "and say there is no plain-text fallback: {text}");
        assert!(url.is_none(), "the sign-in must not start when the tokens could not be kept");
        return;
    }
    let url = url.expect("the CLI must print the sign-in address for headless use");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let loc = http.get(&url).send().await.unwrap().headers()["location"].to_str().unwrap().to_string();
    http.get(loc).send().await.unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the connect command must succeed: {stdout}");
    assert!(stdout.contains("Harbour & Hearth Trading"), "the Xero organisation must be named: {stdout}");
    let listed = concord(dir.path()).arg("connections").output().unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("connected"), "the connection must be listed as connected");
    let gone = concord(dir.path()).args(["disconnect", "Books"]).output().unwrap();
    assert!(gone.status.success(), "disconnect must succeed: {}", String::from_utf8_lossy(&gone.stderr));
}
