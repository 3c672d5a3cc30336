//! Test helpers: a browser stand-in that follows the authorize URL, a token
//! transport that can lose an answer, and sandbox set-up.

#![allow(dead_code)]

use concord_connect::flow::{OpenFuture, Opener};
use concord_connect::token::{HttpTransport, PostFuture, TokenTransport};
use concord_core::Secret;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Follows the authorize URL as a browser would: GET it, then GET the redirect it answers with.
#[derive(Default)]
pub struct FollowingBrowser {
    /// Rewrites the redirect before following it (to forge state or host).
    pub tamper: Option<fn(&str) -> String>,
    /// Every authorize URL seen.
    pub seen: Mutex<Vec<String>>,
}

impl Opener for FollowingBrowser {
    fn open<'a>(&'a self, url: &'a str) -> OpenFuture<'a> {
        Box::pin(async move {
            self.seen.lock().unwrap().push(url.to_string());
            let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
            let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .ok_or_else(|| format!("the authorize endpoint did not redirect (HTTP {})", resp.status()))?;
            let target = match self.tamper {
                Some(f) => f(&location),
                None => location,
            };
            follow(&target).await
        })
    }
}

/// Sends the redirect to the listener; a tampered Host is sent as a header to 127.0.0.1.
async fn follow(target: &str) -> Result<(), String> {
    let url = url::Url::parse(target).map_err(|e| e.to_string())?;
    let client = reqwest::Client::new();
    if url.host_str() == Some("127.0.0.1") {
        client.get(target).send().await.map_err(|e| e.to_string())?;
    } else {
        // DNS pointing another host at 127.0.0.1: connect locally, keep the foreign Host header.
        let mut local = url.clone();
        local.set_host(Some("127.0.0.1")).map_err(|e| e.to_string())?;
        let host = format!("{}:{}", url.host_str().unwrap_or_default(), url.port().unwrap_or(80));
        client.get(local).header("Host", host).send().await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A transport that forwards to the real endpoint but loses chosen answers.
#[derive(Default)]
pub struct LossyTransport {
    inner: HttpTransport,
    /// Lose the answer of the refresh requests with these (0-based) numbers.
    pub lose: Mutex<Vec<usize>>,
    pub count: AtomicUsize,
}

impl TokenTransport for LossyTransport {
    fn post_form<'a>(&'a self, url: &'a str, basic: Option<(&'a str, &'a Secret)>, form: &'a [(String, String)]) -> PostFuture<'a> {
        Box::pin(async move {
            let n = self.count.fetch_add(1, Ordering::SeqCst);
            let answer = self.inner.post_form(url, basic, form).await;
            if self.lose.lock().unwrap().contains(&n) {
                return Err("connection reset after the request was sent (test)".to_string());
            }
            answer
        })
    }
}
