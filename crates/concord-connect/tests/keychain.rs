//! The real OS keychain: connect to the Xero sandbox through OAuth, file the
//! tokens with the Secret Service, and check them with `secret-tool`, an
//! independent client. Runs only with `CONCORD_KEYCHAIN_TEST=1` inside a
//! throwaway keyring session:
//!
//! ```text
//! dbus-run-session -- bash scripts/keyring-session.sh env CONCORD_KEYCHAIN_TEST=1 cargo test -p concord-connect --test keychain
//! ```

mod support;

use concord_connect::flow::{authorize, AuthorizeParams};
use concord_connect::{descriptor, vault, HttpTransport, TokenBundle};
use concord_core::Provider;
use concord_sandbox::{Sandbox, SandboxConfig};
use concord_secret::{Keychain, SecretStore};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

fn secret_tool(args: &[&str]) -> String {
    let out = Command::new("secret-tool").args(args).output().expect("secret-tool (libsecret-tools) must be installed for this test");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[tokio::test]
async fn oauth_tokens_land_in_the_secret_service() {
    if std::env::var("CONCORD_KEYCHAIN_TEST").as_deref() != Ok("1") {
        eprintln!("keychain test skipped: set CONCORD_KEYCHAIN_TEST=1 and run inside scripts/keyring-session.sh (see this file's header)");
        return;
    }
    let keychain = Keychain;
    keychain.probe().expect("the Secret Service must answer inside the keyring session");
    let sb = Sandbox::start(SandboxConfig { customers: 10, ..Default::default() }).await.unwrap();
    let creds = sb.credentials(concord_sandbox::Provider::Xero);
    let d = descriptor(Provider::Xero);
    let params = AuthorizeParams {
        provider: Provider::Xero,
        endpoints: d.endpoints(Some(&sb.base_url(concord_sandbox::Provider::Xero))).unwrap(),
        client_id: creds.client_id.clone(),
        client_secret: None,
        scopes: d.scopes.iter().map(|s| s.to_string()).collect(),
        timeout: Duration::from_secs(10),
    };
    let got = authorize(&params, &support::FollowingBrowser::default(), Arc::new(HttpTransport::default()), &|_| {}).await.expect("the OAuth sign-in must succeed");
    let mut bundle = TokenBundle { client_id: creds.client_id, ..Default::default() };
    bundle.apply(&got.tokens, chrono::Utc::now(), None);
    let account = vault::account(900_000 + i64::from(std::process::id() % 10_000));
    let store: Arc<dyn SecretStore> = Arc::new(keychain);
    vault::save(&store, &account, &bundle).await.expect("the Secret Service must accept the tokens");

    let listed = secret_tool(&["search", "--all", "service", "concord"]);
    assert!(listed.contains(&account), "secret-tool must list the connection's entry under service concord: {}", listed.lines().filter(|l| !l.starts_with("secret")).collect::<Vec<_>>().join(" | "));
    let looked_up = secret_tool(&["lookup", "service", "concord", "username", &account]);
    assert!(looked_up.contains(got.tokens.access_token.expose()), "the stored secret must hold the access token Xero issued");
    let back = vault::load(&store, &account).await.unwrap().expect("the entry must read back through keyring");
    assert_eq!(back, bundle, "the bundle must round-trip through the Secret Service unchanged");

    vault::delete(&store, &account).await.unwrap();
    assert!(!secret_tool(&["search", "--all", "service", "concord"]).contains(&account), "disconnect must remove the entry from the keychain");
    println!("keychain test: token stored, found by secret-tool, read back and removed");
}
