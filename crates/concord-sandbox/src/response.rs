//! Responses in each provider's own error shapes, and the wire-level faults.
//!
//! A client is written against what the provider sends when things go wrong,
//! so every refusal here is shaped as that provider shapes it: HubSpot's
//! `{status, message, correlationId, category}`, Shopify's `{"errors": ...}`,
//! Xero's problem objects and validation exceptions, and QuickBooks'
//! `{"Fault": {"Error": [...], "type"}}`. The wire faults that do not depend
//! on the request (a dropped connection, a truncated body) are applied here
//! to an already-built response.

use crate::provider::Provider;
use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{json, Value};

/// What went wrong, independent of provider.
#[derive(Clone, Debug)]
pub enum Refusal {
    /// No token, an unknown token, an expired or a revoked one.
    Unauthorized { why: TokenProblem },
    /// A valid token for another tenant (Xero tenant, QuickBooks realm).
    Forbidden,
    /// Over a rate limit; `problem` names the limit, `retry_after` is the
    /// header value in real seconds.
    Throttled { problem: String, retry_after: u64, headers: Vec<(String, String)> },
    /// An injected 5xx.
    ServerError(u16),
    /// A malformed or invalid request.
    BadRequest(String),
    /// No such record.
    NotFound,
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenProblem {
    Missing,
    Unknown,
    Expired,
    Revoked,
}

/// A JSON response with extra headers.
pub fn json_response(status: StatusCode, body: &Value, headers: &[(String, String)]) -> Response {
    let mut r = json_bytes_response(status, serde_json::to_vec(body).unwrap_or_default());
    add_headers(&mut r, headers);
    r
}

/// A response whose body is JSON text already (a replayed or assembled body).
pub fn json_bytes_response(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, "application/json; charset=utf-8")], body.into()).into_response()
}

/// Adds headers to a response, skipping any that are not valid HTTP.
pub fn add_headers(r: &mut Response, headers: &[(String, String)]) {
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v.as_str())) {
            r.headers_mut().insert(k, v);
        }
    }
}

fn correlation_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// QuickBooks times are in the company's zone (Brisbane, UTC+10, no DST).
pub fn qbo_time(t: DateTime<Utc>) -> String {
    let zone = FixedOffset::east_opt(10 * 3600).expect("UTC+10 is a valid offset");
    t.with_timezone(&zone).format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

fn qbo_fault(status: StatusCode, message: &str, detail: &str, code: &str, kind: &str, headers: &[(String, String)]) -> Response {
    let body = json!({
        "Fault": {"Error": [{"Message": message, "Detail": detail, "code": code, "element": ""}], "type": kind},
        "time": qbo_time(Utc::now()),
    });
    json_response(status, &body, headers)
}

/// A QuickBooks validation fault (status 400).
pub fn qbo_validation(message: &str, detail: &str, code: &str) -> Response {
    qbo_fault(StatusCode::BAD_REQUEST, message, detail, code, "ValidationFault", &[])
}

/// A Xero validation exception (status 400) with one element's messages.
pub fn xero_validation(element: Value, messages: &[String]) -> Response {
    let errors: Vec<Value> = messages.iter().map(|m| json!({"Message": m})).collect();
    let mut el = element;
    if let Some(o) = el.as_object_mut() {
        o.insert("ValidationErrors".into(), Value::Array(errors));
    }
    let body = json!({
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [el],
    });
    json_response(StatusCode::BAD_REQUEST, &body, &[])
}

/// A HubSpot error body.
pub fn hubspot_error(status: StatusCode, message: &str, category: &str) -> Response {
    let body = json!({"status": "error", "message": message, "correlationId": correlation_id(), "category": category});
    json_response(status, &body, &[])
}

/// The refusal in the provider's shape.
pub fn refuse(provider: Provider, refusal: &Refusal) -> Response {
    match refusal {
        Refusal::Throttled { problem, retry_after, headers } => {
            let mut h = headers.clone();
            match provider {
                Provider::Shopify => h.push(("Retry-After".into(), format!("{retry_after}.0"))),
                _ => h.push(("Retry-After".into(), retry_after.to_string())),
            }
            let s = StatusCode::TOO_MANY_REQUESTS;
            match provider {
                Provider::HubSpot => {
                    let body = json!({
                        "status": "error",
                        "message": format!("You have reached your {} limit.", problem.to_lowercase()),
                        "errorType": "RATE_LIMIT",
                        "correlationId": correlation_id(),
                        "policyName": problem,
                        "groupName": "concord-sandbox",
                    });
                    json_response(s, &body, &h)
                }
                Provider::Shopify => json_response(
                    s,
                    &json!({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}),
                    &h,
                ),
                Provider::Xero => {
                    h.push(("X-Rate-Limit-Problem".into(), problem.clone()));
                    let body = json!({"Type": null, "Title": "Too Many Requests", "Status": 429,
                                      "Detail": format!("Rate limit exceeded: {problem}"), "Instance": correlation_id(), "Extensions": {}});
                    json_response(s, &body, &h)
                }
                Provider::QuickBooks => qbo_fault(
                    s,
                    "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                    "The request limit has been exceeded. Retry after some time.",
                    "3001",
                    "SERVICE",
                    &h,
                ),
            }
        }
        Refusal::Unauthorized { why } => {
            let s = StatusCode::UNAUTHORIZED;
            match provider {
                Provider::HubSpot => {
                    let (message, category) = match why {
                        TokenProblem::Expired => ("The OAuth token used to make this call expired.", "EXPIRED_AUTHENTICATION"),
                        TokenProblem::Revoked => ("The access token has been revoked.", "INVALID_AUTHENTICATION"),
                        _ => (
                            "Authentication credentials not found. This API supports OAuth 2.0 authentication and private app tokens.",
                            "INVALID_AUTHENTICATION",
                        ),
                    };
                    hubspot_error(s, message, category)
                }
                Provider::Shopify => json_response(
                    s,
                    &json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
                    &[],
                ),
                Provider::Xero => {
                    let detail = if *why == TokenProblem::Expired { "TokenExpired" } else { "AuthenticationUnsuccessful" };
                    let body = json!({"Type": null, "Title": "Unauthorized", "Status": 401, "Detail": detail,
                                      "Instance": correlation_id(), "Extensions": {}});
                    let h = [("WWW-Authenticate".to_string(), format!("Bearer error=\"invalid_token\", error_description=\"{detail}\""))];
                    json_response(s, &body, &h)
                }
                Provider::QuickBooks => {
                    let detail = match why {
                        TokenProblem::Expired => "Token expired",
                        TokenProblem::Revoked => "Token revoked",
                        _ => "Token invalid",
                    };
                    qbo_fault(s, "message=AuthenticationFailed; errorCode=003200; statusCode=401", detail, "3200", "AUTHENTICATION", &[])
                }
            }
        }
        Refusal::Forbidden => {
            let s = StatusCode::FORBIDDEN;
            match provider {
                Provider::Xero => json_response(
                    s,
                    &json!({"Type": null, "Title": "Forbidden", "Status": 403, "Detail": "AuthorizationUnsuccessful",
                            "Instance": correlation_id(), "Extensions": {}}),
                    &[],
                ),
                Provider::QuickBooks => qbo_fault(
                    s,
                    "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                    "The application is not authorised for this company",
                    "3100",
                    "AUTHORIZATION",
                    &[],
                ),
                Provider::HubSpot => hubspot_error(s, "This app hasn't been granted all required scopes to make this call.", "MISSING_SCOPES"),
                Provider::Shopify => json_response(s, &json!({"errors": "Forbidden"}), &[]),
            }
        }
        Refusal::ServerError(code) => {
            let s = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match provider {
                Provider::HubSpot => hubspot_error(s, "internal error", "INTERNAL_ERROR"),
                Provider::Shopify => json_response(s, &json!({"errors": "Internal Server Error"}), &[]),
                Provider::Xero => json_response(
                    s,
                    &json!({"Type": null, "Title": "An error occurred", "Status": code, "Detail": "An unexpected error occurred",
                            "Instance": correlation_id(), "Extensions": {}}),
                    &[],
                ),
                Provider::QuickBooks => qbo_fault(
                    s,
                    "An application error has occurred while processing your request",
                    "System Failure Error: An unexpected error occurred",
                    "10000",
                    "SystemFault",
                    &[],
                ),
            }
        }
        Refusal::BadRequest(msg) => match provider {
            Provider::HubSpot => hubspot_error(StatusCode::BAD_REQUEST, msg, "VALIDATION_ERROR"),
            Provider::Shopify => json_response(StatusCode::BAD_REQUEST, &json!({"errors": msg}), &[]),
            Provider::Xero => xero_validation(json!({}), std::slice::from_ref(msg)),
            Provider::QuickBooks => qbo_validation("Request has invalid or unsupported property", msg, "2010"),
        },
        Refusal::NotFound => match provider {
            Provider::HubSpot => hubspot_error(StatusCode::NOT_FOUND, "resource not found", "OBJECT_NOT_FOUND"),
            Provider::Shopify => json_response(StatusCode::NOT_FOUND, &json!({"errors": "Not Found"}), &[]),
            Provider::Xero => (StatusCode::NOT_FOUND, "The resource you're looking for cannot be found").into_response(),
            Provider::QuickBooks => qbo_validation("Object Not Found", "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.", "610"),
        },
    }
}

/// Replaces the body with a stream that fails before its first byte, so the
/// client sees the connection drop.
pub fn reset_connection(r: Response) -> Response {
    let (parts, _) = r.into_parts();
    let stream = futures_util::stream::iter(vec![Err::<Bytes, std::io::Error>(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "sandbox fault: connection reset",
    ))]);
    let mut parts = parts;
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Cuts the body in half; Content-Length matches the cut body.
pub async fn truncate_body(r: Response) -> Response {
    let (mut parts, body) = r.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}
