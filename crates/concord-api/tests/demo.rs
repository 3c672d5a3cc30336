//! The demo against an in-process sandbox: the four demo connections are made
//! through the real connect path (OAuth with PKCE followed by the demo's
//! loopback "browser", private-app tokens), land connected with the right
//! tenants and their tokens in the secret store only, sync and match; running
//! the demo again reconnects the same connections instead of adding new ones.

use concord_api::demo::{FollowSignIn, SandboxInfo, DEMO_CONNECTIONS};
use concord_api::json::ConnectionStatus;
use concord_api::Workspace;
use concord_core::{Provider, SystemClock};
use concord_sandbox::{Sandbox, SandboxConfig};
use concord_secret::MemoryStore;
use std::sync::{Arc, Mutex};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_connects_four_accounts_syncs_matches_and_reruns_idempotently() {
    let sb = Sandbox::start(SandboxConfig { seed: 7, customers: 50, time_scale: 60.0, ..Default::default() }).await.unwrap();
    let info = SandboxInfo::fetch(&sb.origin()).await.expect("the running sandbox's ready line must be readable over its control API");
    let dir = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::default();
    let ws = Workspace::init(dir.path(), Arc::new(SystemClock), "test").unwrap().with_secret_store(Arc::new(secrets.clone()));

    let shown = Mutex::new(Vec::<String>::new());
    let show = |u: &str| shown.lock().unwrap().push(u.to_string());
    let first = ws.demo_connect(&info, &FollowSignIn, &show).await.unwrap_or_else(|e| panic!("the demo must connect: {e}"));
    assert_eq!(first.len(), 4, "the demo makes one connection per provider");
    assert!(first.iter().all(|c| !c.reconnected), "on a new workspace every demo connection is new");
    let sign_ins = shown.lock().unwrap().iter().filter(|u| u.starts_with("http")).count();
    assert_eq!(sign_ins, 2, "Xero and QuickBooks must sign in through OAuth (one authorize URL each); HubSpot and Shopify use tokens");

    let listed = ws.list_connections().unwrap();
    assert_eq!(listed.len(), 4, "exactly the four demo connections exist: {listed:?}");
    for (provider, name) in DEMO_CONNECTIONS {
        let c = listed.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("{name} must exist"));
        assert_eq!(c.provider, provider, "{name} must be a {provider} connection");
        assert_eq!(c.status, ConnectionStatus::Connected, "{name} must be connected");
    }
    let tenant = |name: &'static str| {
        let ws = &ws;
        async move { ws.credentials(name).await.unwrap_or_else(|e| panic!("{name} must have usable credentials: {e}")).tenant_id }
    };
    assert_eq!(tenant("Xero (demo)").await, Some(sb.xero_tenant_id()), "Xero must be connected to the sandbox's organisation");
    assert_eq!(tenant("QuickBooks (demo)").await.as_deref(), Some(sb.quickbooks_realm_id()), "QuickBooks must carry the realm id from the redirect");
    assert_eq!(tenant("Shopify (demo)").await.as_deref(), Some(concord_sandbox::business::SHOP_DOMAIN), "Shopify must carry the shop the token reaches");
    let hub = concord_sandbox::business::HUBSPOT_HUB_ID.to_string();
    assert_eq!(tenant("HubSpot (demo)").await, Some(hub.clone()), "HubSpot's private-app connection must record the hub id (portalId from account details)");
    let hubspot = listed.iter().find(|c| c.name == "HubSpot (demo)").expect("the HubSpot demo connection exists");
    assert!(hubspot.tenant.as_deref().is_some_and(|t| t.contains(&hub)), "the listed tenant must name the hub, not show \"Not recorded\": {:?}", hubspot.tenant);
    assert_eq!(secrets.accounts().len(), 4, "each connection's tokens go to the secret store: {:?}", secrets.accounts());

    // Sync and match, as `concord demo` does.
    let results = ws.demo_sync(info.time_scale, &|_| {}).await.expect("the first sync must run");
    let failed: Vec<_> = results.iter().filter(|r| !r.ok).map(|r| format!("{} {}: {:?}", r.connection, r.stream, r.error)).collect();
    assert!(failed.is_empty(), "every stream of the demo must sync: {failed:?}");
    for provider in Provider::ALL {
        let n: i32 = results.iter().filter(|r| r.provider == provider).map(|r| r.records).sum();
        assert!(n > 0, "{provider} must deliver records in the first sync");
    }
    let m = ws.run_matching().expect("matching must run on the synced records");
    let synced: i32 = results.iter().map(|r| r.records).sum();
    let seen = m.parties + m.documents + m.payments + m.unreadable;
    assert!(seen > 0 && seen <= synced, "matching must read the synced records ({synced} synced, not all of them canonical): {m:?}");

    // Again, as a second `concord demo` on the same workspace: same ids, nothing new.
    let ids: Vec<i32> = listed.iter().map(|c| c.id).collect();
    let again = ws.demo_connect(&info, &FollowSignIn, &|_| {}).await.unwrap_or_else(|e| panic!("re-running the demo must reconnect: {e}"));
    assert!(again.iter().all(|c| c.reconnected), "a second run must reconnect, not create");
    let relisted = ws.list_connections().unwrap();
    assert_eq!(relisted.iter().map(|c| c.id).collect::<Vec<_>>(), ids, "re-running must keep the same connections (ids) and add none");
    assert!(relisted.iter().all(|c| c.status == ConnectionStatus::Connected), "every reconnected connection is connected");
    assert_eq!(secrets.accounts().len(), 4, "reconnecting replaces tokens in place rather than adding entries");

    // Nothing but 127.0.0.1.
    let err = SandboxInfo::fetch("http://192.0.2.1:80").await.unwrap_err();
    assert_eq!(err.code, concord_api::ErrorCode::InvalidInput, "a sandbox URL off this machine must be refused before any request: {}", err.message);
    sb.shutdown().await;
}
