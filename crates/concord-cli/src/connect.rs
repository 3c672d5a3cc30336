//! `concord connect`, `concord disconnect` and `concord connections`.
//!
//! Secrets never come from argv: a private-app token comes from the variable
//! named by `--token-env`, a client secret from `--client-secret-env`. The
//! sign-in opens the system browser and prints the address too, for machines
//! without one (`--no-browser` only prints it).

use clap::Args;
use concord_api::connect::{reconnect_hint, ConnectRequest, LocalData};
use concord_api::{ApiError, ErrorCode, Workspace};
use concord_connect::flow::{OpenFuture, Opener};
use concord_connect::SystemBrowser;
use concord_core::Provider;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// hubspot, shopify, xero or quickbooks.
    pub provider: Provider,
    /// The connection's name; an existing name is reconnected and keeps its data.
    #[arg(long)]
    pub name: String,
    /// Another endpoint: a provider sandbox, a regional API, or https://SHOP.myshopify.com.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Read a private-app (HubSpot) or custom-app (Shopify) token from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Your OAuth app's client id.
    #[arg(long, value_name = "ID", env = "CONCORD_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Read your OAuth app's client secret (QuickBooks, Shopify) from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub client_secret_env: Option<String>,
    /// The organisation to connect when the sign-in reaches several (id or name).
    #[arg(long, value_name = "ID")]
    pub tenant: Option<String>,
    /// An extra scope to ask for (repeatable).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Print the sign-in address instead of opening a browser.
    #[arg(long)]
    pub no_browser: bool,
}

#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// The connection's name.
    pub name: String,
    /// Also delete its local records and bookmarks (default: keep them).
    #[arg(long)]
    pub delete_data: bool,
}

fn from_env(flag: &str, var: &Option<String>) -> Result<Option<String>, ApiError> {
    match var {
        None => Ok(None),
        Some(var) => match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(ApiError::new(ErrorCode::InvalidInput, format!("{flag} {var}: that environment variable is empty or not set"))),
        },
    }
}

/// Prints the address only.
struct PrintOnly;

impl Opener for PrintOnly {
    fn open<'a>(&'a self, _url: &'a str) -> OpenFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ApiError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("could not start the async runtime: {e}")))
}

pub fn connect(ws: &Workspace, args: ConnectArgs) -> Result<ExitCode, ApiError> {
    let req = ConnectRequest {
        provider: args.provider,
        name: args.name.clone(),
        base_url: args.base_url,
        client_id: args.client_id,
        client_secret: from_env("--client-secret-env", &args.client_secret_env)?,
        private_token: from_env("--token-env", &args.token_env)?,
        tenant_id: args.tenant,
        extra_scopes: args.scopes,
    };
    let show = |url: &str| {
        if url.starts_with("http") {
            eprintln!("Sign in to {} in your browser. If it does not open, visit:\n  {url}", args.provider.display_name());
        } else {
            eprintln!("{url}");
        }
    };
    let opener: &dyn Opener = if args.no_browser { &PrintOnly } else { &SystemBrowser };
    let c = runtime()?.block_on(ws.connect(&req, opener, &show))?;
    println!(
        "connected {:?} ({}){} as connection {}",
        c.name,
        c.provider.display_name(),
        c.tenant.map(|t| format!(" to {t}")).unwrap_or_default(),
        c.id
    );
    Ok(ExitCode::SUCCESS)
}

pub fn disconnect(ws: &Workspace, args: DisconnectArgs) -> Result<ExitCode, ApiError> {
    let data = if args.delete_data { LocalData::Delete } else { LocalData::Keep };
    runtime()?.block_on(ws.disconnect(&args.name, data))?;
    match data {
        LocalData::Keep => println!("disconnected {:?}: its tokens left the keychain; its local data is kept", args.name),
        LocalData::Delete => println!("disconnected {:?}: its tokens left the keychain and its local data was deleted", args.name),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn list(ws: &Workspace) -> Result<ExitCode, ApiError> {
    for c in ws.list_connections()? {
        let status = serde_json::to_value(c.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        println!("{:>4}  {:<24} {:<11} {:<13} {}", c.id, c.name, c.provider.as_str(), status, c.tenant.clone().unwrap_or_default());
        if status == "needs_reauth" {
            println!("      needs re-authorisation: {}", reconnect_hint(c.provider, &c.name));
        }
    }
    Ok(ExitCode::SUCCESS)
}
