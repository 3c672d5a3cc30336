//! Connections through the workspace against the sandboxes: connect, tenant
//! and scopes recorded, revocation marking the connection, reconnecting under
//! the same id, disconnecting, a missing keychain, and no token in the workspace folder.

use concord_api::connect::{ConnectRequest, LocalData};
use concord_api::json::ConnectionStatus;
use concord_api::{ErrorCode, Workspace};
use concord_connect::credentials::with_token;
use concord_connect::flow::{OpenFuture, Opener};
use concord_connect::{vault, TokenBundle};
use concord_core::{Credentials, Provider, SystemClock};
use concord_sandbox::{RateLimitConfig, Sandbox, SandboxConfig, SandboxHandle};
use concord_secret::{MemoryStore, SecretStore};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Follows the authorize URL and its redirect as a browser would.
#[derive(Default)]
struct Browser {
    opened: Mutex<usize>,
}

impl Opener for Browser {
    fn open<'a>(&'a self, url: &'a str) -> OpenFuture<'a> {
        Box::pin(async move {
            *self.opened.lock().unwrap() += 1;
            let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
            let resp = http.get(url).send().await.map_err(|e| e.to_string())?;
            let loc = resp.headers().get("location").and_then(|v| v.to_str().ok()).ok_or("no redirect")?.to_string();
            http.get(loc).send().await.map_err(|e| e.to_string())?;
            Ok(())
        })
    }
}

async fn sandbox() -> SandboxHandle {
    Sandbox::start(SandboxConfig { customers: 20, rate_limits: RateLimitConfig { enabled: false, ..Default::default() }, ..Default::default() }).await.unwrap()
}

fn request(sb: &SandboxHandle, p: Provider, name: &str) -> ConnectRequest {
    let c = sb.credentials(p.as_str().parse().unwrap());
    ConnectRequest {
        provider: p,
        name: name.into(),
        base_url: Some(sb.base_url(p.as_str().parse().unwrap())),
        client_id: Some(c.client_id),
        client_secret: c.client_secret,
        private_token: None,
        tenant_id: None,
        extra_scopes: vec![],
    }
}

fn workspace(dir: &std::path::Path, store: &MemoryStore) -> Workspace {
    Workspace::init(dir, Arc::new(SystemClock), "test").unwrap().with_secret_store(Arc::new(store.clone()))
}

/// Every token value in the keychain right now.
fn secrets_in(store: &MemoryStore, seen: &mut BTreeSet<String>) {
    for account in store.accounts() {
        let b = TokenBundle::from_secret(&store.get(&account).unwrap().unwrap()).unwrap();
        seen.extend([Some(b.access_token), b.refresh_token, b.previous_refresh, b.client_secret].into_iter().flatten());
    }
}

async fn xero_call(sb: &SandboxHandle, token: &concord_core::Secret) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/api.xro/2.0/Contacts", sb.base_url(concord_sandbox::Provider::Xero)))
        .bearer_auth(token.expose())
        .header("xero-tenant-id", sb.xero_tenant_id())
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(599)
}

#[tokio::test]
async fn connect_revoke_reconnect_disconnect_and_no_token_on_disk() {
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::default();
    let ws = workspace(dir.path(), &store);
    let mut issued = BTreeSet::new();

    // Every provider connects; private-app tokens work for HubSpot and Shopify.
    for p in Provider::ALL {
        let c = ws.connect(&request(&sb, p, &format!("{p} books")), &Browser::default(), &|_| {}).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(c.status, ConnectionStatus::Connected, "{p}: a new connection is connected");
        assert!(c.tenant.is_some(), "{p}: the tenant must be stored on the connection");
    }
    for p in [Provider::HubSpot, Provider::Shopify] {
        let token = sb.credentials(p.as_str().parse().unwrap()).static_token.unwrap();
        issued.insert(token.clone());
        let req = ConnectRequest { private_token: Some(token), client_id: None, client_secret: None, ..request(&sb, p, &format!("{p} private")) };
        let c = ws.connect(&req, &Browser::default(), &|_| {}).await.unwrap_or_else(|e| panic!("{p} private app: {e}"));
        assert_eq!(c.status, ConnectionStatus::Connected, "{p}: a private-app connection is connected");
    }
    let scopes = ws.require_scopes("xero books", &["accounting.contacts"]);
    assert!(scopes.is_ok(), "a granted scope must pass: {scopes:?}");
    let missing = ws.require_scopes("xero books", &["accounting.reports.read"]).unwrap_err();
    assert_eq!(missing.code, ErrorCode::ScopeMissing, "a missing scope must ask for re-consent, not fail obscurely");
    assert!(missing.message.contains("--scope accounting.reports.read"), "the message must say how to grant it: {}", missing.message);

    // Use the Xero connection, with a forced refresh, then revoke it at the provider.
    let xero = ws.credentials("xero books").await.unwrap();
    let id = xero.connection_id;
    let first = xero.credentials.current().await.unwrap();
    secrets_in(&store, &mut issued);
    reqwest::Client::new().post(format!("{}/tokens/expire?provider=xero", sb.control_url())).send().await.unwrap();
    let second = xero.credentials.refused(&first).await.expect("an expired token must be refreshed");
    assert_eq!(xero_call(&sb, &second).await, 200, "the refreshed token must work");
    secrets_in(&store, &mut issued);
    {
        let db = rusqlite_free_bookmark(&ws, id);
        assert!(db, "a bookmark must be recorded for the connection");
    }
    sb.set_faults(concord_sandbox::FaultPlan { rules: vec!["token_revocation@xero".parse().unwrap()] });
    let creds: &dyn Credentials = xero.credentials.as_ref();
    let r = with_token(creds, |t| {
        let sb = &sb;
        async move {
            let s = xero_call(sb, &t).await;
            (s, s)
        }
    })
    .await;
    assert!(matches!(r, Err(concord_core::AuthFailure::NeedsReauth(_))), "a revoked grant must end in needs-reauthorisation: {r:?}");
    sb.set_faults(concord_sandbox::FaultPlan::default());
    let row = ws.list_connections().unwrap().into_iter().find(|c| c.name == "xero books").unwrap();
    assert_eq!(row.status, ConnectionStatus::NeedsReauth, "the store must show the connection needs re-authorisation");
    let err = ws.credentials("xero books").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NeedsReauth, "sync must be refused clearly until reconnected");
    assert!(err.message.contains("concord connect xero --name"), "the error must say how to reconnect: {}", err.message);
    assert!(ws.audit_entries(&concord_api::json::AuditFilter { text: Some("connection.needs_reauth".into()), limit: 5, before_id: None }).unwrap().len() == 1, "the transition must be audited once");

    // Reconnect under the same name: same id, bookmarks kept, usable again.
    let again = ws.connect(&request(&sb, Provider::Xero, "xero books"), &Browser::default(), &|_| {}).await.unwrap();
    assert_eq!(i64::from(again.id), id, "reconnecting must keep the connection id so bookmarks survive");
    assert_eq!(again.status, ConnectionStatus::Connected, "reconnecting must clear needs-reauthorisation");
    assert!(rusqlite_free_bookmark_exists(&ws, id), "local data must survive revocation and reconnection");
    let xero = ws.credentials("xero books").await.unwrap();
    let token = xero.credentials.current().await.unwrap();
    assert_eq!(xero_call(&sb, &token).await, 200, "the reconnected connection must be usable");
    secrets_in(&store, &mut issued);

    // Nothing secret is in the workspace folder: database, WAL, shared memory or anything else.
    assert!(issued.len() >= 6, "the test must have collected the issued tokens, got {}", issued.len());
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        for token in &issued {
            let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
            assert!(!found, "a token was found in {} (value withheld)", path.display());
        }
    }

    // Disconnect: keep data, then delete data.
    ws.disconnect("xero books", LocalData::Keep).await.unwrap();
    assert!(store.get(&vault::account(id)).unwrap().is_none(), "disconnect must remove the tokens from the keychain");
    let row = ws.list_connections().unwrap().into_iter().find(|c| c.name == "xero books").unwrap();
    assert_eq!(row.status, ConnectionStatus::Disconnected, "a kept connection is shown as disconnected");
    assert!(rusqlite_free_bookmark_exists(&ws, id), "keeping data must keep bookmarks");
    ws.disconnect("xero books", LocalData::Delete).await.unwrap();
    assert!(ws.list_connections().unwrap().iter().all(|c| c.name != "xero books"), "deleting data removes the connection");
}

/// Records a sync bookmark for the connection through a second store handle, as the sync engine would.
fn rusqlite_free_bookmark(ws: &Workspace, id: i64) -> bool {
    let store = concord_store::Store::open(&ws.dir().join("concord.db")).unwrap();
    concord_store::bookmark::put(store.conn(), id, "contacts", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z").is_ok()
}

fn rusqlite_free_bookmark_exists(ws: &Workspace, id: i64) -> bool {
    let store = concord_store::Store::open(&ws.dir().join("concord.db")).unwrap();
    concord_store::bookmark::get(store.conn(), id, "contacts").ok().flatten().is_some()
}

#[tokio::test]
async fn no_keychain_means_no_connection_and_no_browser() {
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::default();
    store.set_unavailable(true);
    let ws = workspace(dir.path(), &store);
    let browser = Browser::default();
    let err = ws.connect(&request(&sb, Provider::Xero, "Books"), &browser, &|_| {}).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::KeychainUnavailable, "a missing keychain has its own code");
    assert!(err.message.contains("never in a file"), "the message must say there is no plain-text fallback and how to fix it: {}", err.message);
    assert_eq!(*browser.opened.lock().unwrap(), 0, "the browser must not open when the tokens could not be kept");
    assert!(ws.list_connections().unwrap().is_empty(), "no connection row may be left behind");
}
