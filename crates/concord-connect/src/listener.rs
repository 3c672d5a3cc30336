//! The one-shot loopback listener that receives the OAuth redirect (RFC 8252).
//!
//! [`Loopback::bind`] listens on 127.0.0.1 on a port the OS picks; the
//! redirect URI is `http://127.0.0.1:PORT/callback`. [`Loopback::receive`]
//! accepts exactly one request, answers it with a small page ("you can close
//! this tab" or what went wrong) and closes, or gives up after a timeout. It
//! refuses a request for another path, one whose `Host` is not this listener
//! (a page on another site that resolves to 127.0.0.1 cannot inject a code),
//! one whose `state` does not match, and a provider error such as
//! `access_denied`. The code is wrapped in [`Secret`] at once.

use crate::error::ConnectError;
use concord_core::Secret;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The path the provider redirects to.
pub const CALLBACK_PATH: &str = "/callback";

/// How long to wait for the user to sign in by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// A bound, not yet used loopback listener.
#[derive(Debug)]
pub struct Loopback {
    listener: TcpListener,
    port: u16,
}

/// What the redirect carried.
#[derive(Debug)]
pub struct Callback {
    /// The authorization code.
    pub code: Secret,
    /// Every other query parameter except `code` and `state` (`realmId`, `shop`, `scope`, ...).
    pub params: BTreeMap<String, String>,
}

impl Loopback {
    /// Binds 127.0.0.1 on an ephemeral port.
    pub async fn bind() -> Result<Loopback, ConnectError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| ConnectError::Unavailable(format!("could not listen on 127.0.0.1 for the sign-in redirect: {e}")))?;
        let port = listener.local_addr().map_err(|e| ConnectError::Unavailable(e.to_string()))?.port();
        Ok(Loopback { listener, port })
    }

    /// The port the OS chose.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The redirect URI to register in the authorize request.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Accepts one request, checks it, answers it and closes.
    pub async fn receive(self, expected_state: &str, timeout: Duration) -> Result<Callback, ConnectError> {
        let accepted = tokio::time::timeout(timeout, self.listener.accept()).await.map_err(|_| {
            ConnectError::Timeout(format!(
                "no sign-in arrived within {} seconds; run connect again and finish signing in in the browser",
                timeout.as_secs()
            ))
        })?;
        let (mut stream, _) = accepted.map_err(|e| ConnectError::Unavailable(format!("the sign-in listener failed: {e}")))?;
        // The listener is dropped here: nobody else can connect after the first request.
        drop(self.listener);
        let head = match tokio::time::timeout(Duration::from_secs(10), read_head(&mut stream)).await {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => return Err(ConnectError::AuthRejected(format!("the sign-in redirect could not be read: {e}"))),
            Err(_) => return Err(ConnectError::AuthRejected("the sign-in redirect was not sent in time".into())),
        };
        let result = check(&head, self.port, expected_state);
        let (status, page) = match &result {
            Ok(_) => ("200 OK", page("Concord is connected", "You can close this tab and return to Concord.")),
            Err(e) => ("400 Bad Request", page("Concord could not connect", &e.to_string())),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        result
    }
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > 16 * 1024 {
            return Err(std::io::Error::other("request head too large"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1><p>{b}</p></body></html>",
        t = html_escape(title),
        b = html_escape(body)
    )
}

/// Checks one request head against this listener and the expected state.
fn check(head: &str, port: u16, expected_state: &str) -> Result<Callback, ConnectError> {
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    if method != "GET" {
        return Err(ConnectError::AuthRejected(format!("the sign-in redirect must be a GET, got {method:?}")));
    }
    let host = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let expected_host = format!("127.0.0.1:{port}");
    if !host.eq_ignore_ascii_case(&expected_host) {
        return Err(ConnectError::AuthRejected(format!(
            "the sign-in redirect was addressed to host {host:?}, not {expected_host}; it was refused (another site may be trying to inject a sign-in)"
        )));
    }
    let url = url::Url::parse(&format!("http://{expected_host}{target}"))
        .map_err(|e| ConnectError::AuthRejected(format!("the sign-in redirect is not a valid URL: {e}")))?;
    if url.path() != CALLBACK_PATH {
        return Err(ConnectError::AuthRejected(format!("the sign-in redirect went to {:?}, not {CALLBACK_PATH}", url.path())));
    }
    let mut params: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    let state = params.remove("state");
    if let Some(err) = params.remove("error") {
        let detail = params.remove("error_description").map(|d| format!(" ({})", crate::error::scrub(&d, &[]))).unwrap_or_default();
        let what = if err == "access_denied" { "you declined access at the provider" } else { "the provider reported an error" };
        return Err(ConnectError::AuthRejected(format!("{what}: {err}{detail}; run connect again to retry")));
    }
    if state.as_deref() != Some(expected_state) {
        return Err(ConnectError::AuthRejected(
            "the sign-in redirect carried the wrong state value, so it was refused: it did not come from the sign-in Concord started. Run connect again".into(),
        ));
    }
    let code = params
        .remove("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ConnectError::AuthRejected("the sign-in redirect carried no authorization code".into()))?;
    Ok(Callback { code: Secret::new(code), params })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(target: &str, host: &str) -> String {
        format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: test\r\n\r\n")
    }

    #[test]
    fn the_redirect_is_checked_for_host_path_state_and_error() {
        let cases: &[(&str, &str, Result<(), &str>)] = &[
            ("/callback?code=abc&state=S&realmId=9", "127.0.0.1:5000", Ok(())),
            ("/callback?code=abc&state=WRONG", "127.0.0.1:5000", Err("wrong state")),
            ("/callback?code=abc", "127.0.0.1:5000", Err("wrong state")),
            ("/callback?code=abc&state=S", "evil.example:5000", Err("evil.example")),
            ("/other?code=abc&state=S", "127.0.0.1:5000", Err("not /callback")),
            ("/callback?error=access_denied&state=S", "127.0.0.1:5000", Err("declined")),
            ("/callback?state=S", "127.0.0.1:5000", Err("no authorization code")),
        ];
        for (target, host, want) in cases {
            let got = check(&head(target, host), 5000, "S");
            match (want, got) {
                (Ok(()), Ok(cb)) => {
                    assert_eq!(cb.code.expose(), "abc", "the code must be passed on");
                    assert_eq!(cb.params.get("realmId").map(String::as_str), Some("9"), "tenant parameters must be kept");
                }
                (Err(needle), Err(e)) => assert!(e.to_string().contains(needle), "{target} via {host}: expected {needle:?} in {e}"),
                (w, g) => panic!("{target} via {host}: wanted {w:?}, got {g:?}"),
            }
        }
    }

    #[tokio::test]
    async fn the_listener_answers_once_then_closes() {
        let lb = Loopback::bind().await.unwrap();
        let port = lb.port();
        let uri = lb.redirect_uri();
        assert!(uri.starts_with("http://127.0.0.1:"), "RFC 8252: loopback IP literal, not localhost");
        let task = tokio::spawn(lb.receive("S", Duration::from_secs(5)));
        let body = reqwest::get(format!("{uri}?code=c&state=S")).await.unwrap().text().await.unwrap();
        assert!(body.contains("close this tab"), "the browser must be told it can close the tab");
        assert!(task.await.unwrap().is_ok(), "a correct redirect must be accepted");
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err(), "the listener must be closed after one request");
    }

    #[tokio::test]
    async fn the_listener_times_out() {
        let lb = Loopback::bind().await.unwrap();
        let err = lb.receive("S", Duration::from_millis(50)).await.unwrap_err();
        assert!(matches!(err, ConnectError::Timeout(_)), "no redirect must end in a timeout, got {err:?}");
    }
}
