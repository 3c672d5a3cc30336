//! `concord-sandbox`: serves loopback sandboxes of HubSpot, Shopify, Xero and
//! QuickBooks Online holding one seeded Australian small business, and
//! prints one JSON line on stdout when ready so a parent process (the demo,
//! an end-to-end test) can read the base URLs and credentials.

use clap::Parser;
use concord_sandbox::{FaultPlan, FaultRule, RateLimitConfig, Sandbox, SandboxConfig};
use std::io::Write;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
PROVIDERS (one listener on 127.0.0.1; each provider under its prefix, real paths after it)
  {origin}/hubspot     /crm/v3/objects/{contacts|companies}[/{id}|/search|/batch/{read|update}]
                       /oauth/authorize, /oauth/v1/token, /oauth/v1/refresh_tokens/{t}, /oauth/v1/access-tokens/{t}
  {origin}/shopify     /admin/api/2025-01/graphql.json (customers, orders, customerUpdate, orderUpdate)
                       /admin/oauth/authorize, /admin/oauth/access_token
  {origin}/xero        /api.xro/2.0/{Contacts|Invoices|Payments|CreditNotes}[/{id}], /connections
                       /identity/connect/authorize, /identity/connect/token, /identity/connect/revocation
  {origin}/quickbooks  /v3/company/{realmId}/{query|cdc|customer|invoice|payment|creditmemo}
                       /connect/oauth2, /oauth2/v1/tokens/bearer, /oauth2/v1/tokens/revoke

CONTROL API ({origin}/_sandbox)
  GET  /ready  /state[?provider=&object=]  /state/{provider}/{object}/{id}  /counters  /ground-truth  /faults
  POST /faults {\"rules\": [\"server_error@xero:p=0.1\", ...]}   POST /edit {\"provider\",\"object\",\"id\",\"fields\"}
  POST /tokens/expire[?provider=]   POST /tokens/restore

FAULTS (--fault KIND[@PROVIDER][:p=0.1][:at=N][:count=N][:every=N][:status=503][:delay_ms=2000])
  server_error rate_limit_storm connection_reset slow_response truncated_body shifting_offsets
  cursor_expiry duplicate_delivery token_revocation schema_drift_rename schema_drift_nest
  Requests are numbered per provider from 1; p draws from a ChaCha RNG seeded by --seed.

READY LINE
  One JSON object on stdout: {\"event\":\"ready\",\"origin\",\"control_url\",\"providers\":{NAME:{\"base_url\",
  \"client_id\",\"client_secret\",\"static_token\",\"authorize_url\",\"token_url\",...}},...}";

/// Loopback sandboxes of HubSpot, Shopify, Xero and QuickBooks Online.
#[derive(Parser, Debug)]
#[command(name = "concord-sandbox", version, about, long_about = None, after_help = AFTER_HELP)]
struct Cli {
    /// Seed of the business, the fault decisions and the tokens.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Real customers to generate (about five orders each).
    #[arg(long, default_value_t = 2_000)]
    customers: usize,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Provider time runs this many times faster (60: a minute lasts a second).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// A fault rule; repeat for several.
    #[arg(long = "fault", value_name = "RULE")]
    faults: Vec<FaultRule>,
    /// Write the ground truth (true links and planted discrepancies) here.
    #[arg(long, value_name = "PATH")]
    ground_truth: Option<PathBuf>,
    /// Serve without rate limits.
    #[arg(long)]
    no_rate_limits: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = SandboxConfig {
        seed: cli.seed,
        customers: cli.customers,
        time_scale: cli.time_scale,
        port: cli.port,
        faults: FaultPlan { rules: cli.faults },
        rate_limits: RateLimitConfig { enabled: !cli.no_rate_limits, ..Default::default() },
        start_time: None,
    };
    let sandbox = match Sandbox::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("concord-sandbox: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Some(path) = &cli.ground_truth {
        if let Err(e) = sandbox.write_ground_truth(path) {
            eprintln!("concord-sandbox: cannot write the ground truth to {}: {e}", path.display());
            return std::process::ExitCode::FAILURE;
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", sandbox.ready_line());
    let _ = out.flush();
    drop(out);
    let _ = tokio::signal::ctrl_c().await;
    sandbox.shutdown().await;
    std::process::ExitCode::SUCCESS
}
