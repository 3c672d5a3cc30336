//! The few calls the walk makes to concord-sandbox's control API, over a plain HTTP/1.0 GET on
//! loopback: its ready line (the HubSpot base URL and private-app token the Connections form is
//! filled with) and one stored record (to confirm that a pushed value landed). A hand-rolled
//! request keeps the driver free of an HTTP client's TLS set-up, which nothing here needs.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `GET {origin}{path}` and its JSON body; `origin` must be `http://127.0.0.1:PORT`.
pub async fn get_json(origin: &str, path: &str) -> Result<Value, String> {
    let host = origin
        .strip_prefix("http://")
        .filter(|h| h.starts_with("127.0.0.1:"))
        .ok_or_else(|| format!("the sandbox must be on http://127.0.0.1, not {origin}"))?;
    let exchange = async {
        let mut stream = TcpStream::connect(host).await.map_err(|e| format!("cannot reach {origin}: {e}"))?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.map_err(|e| format!("cannot send to {origin}: {e}"))?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.map_err(|e| format!("cannot read from {origin}: {e}"))?;
        Ok::<Vec<u8>, String>(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .map_err(|_| format!("{origin}{path} did not answer within 20 s"))??;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| format!("{path}: no HTTP header in the answer"))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("GET {path} answered {status}: {}", body.chars().take(300).collect::<String>()));
    }
    serde_json::from_str(body).map_err(|e| format!("GET {path}: not JSON ({e})"))
}

/// The HubSpot base URL and private-app token from the sandbox's ready line.
pub async fn hubspot_access(origin: &str) -> Result<(String, String), String> {
    let ready = get_json(origin, "/_sandbox/ready").await?;
    let hubspot = ready
        .pointer("/providers/hubspot")
        .ok_or_else(|| "the ready line has no providers.hubspot".to_owned())?;
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| hubspot.get(*n).and_then(Value::as_str))
            .map(str::to_owned)
            .ok_or_else(|| format!("providers.hubspot has none of {names:?}"))
    };
    Ok((field(&["base_url", "baseUrl"])?, field(&["static_token", "private_token", "token"])?))
}
