//! In-process fakes of the HTTP services the SSO export talks to, each a
//! stateful axum server on `127.0.0.1:0`:
//! - [`clerk::FakeClerk`]: Clerk Backend API `/v1/enterprise_connections`;
//! - [`cognito::FakeCognito`]: the AWS Cognito user-pool API (JSON 1.1,
//!   `X-Amz-Target`), with synthetic pools, throttling and faults; its
//!   `seed` module seeds the fake or moto through the API;
//! - [`google::FakeGoogle`]: Google's OAuth token endpoint (JWT bearer grant,
//!   signature checked against the service account's public key) and the
//!   Identity Platform admin API (`/v2/projects/{p}/…`).
//!
//! Both record every request and take injectable [`Fault`]s, served before
//! anything else, in order, one per matching request.
#![allow(dead_code)]

pub mod auth0;
pub mod clerk;
pub mod cognito;
pub mod google;
pub mod workos;

use std::net::SocketAddr;
use std::time::Instant;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// An injected failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A response with this status and the service's error body.
    Status(u16),
    /// HTTP 429 with `Retry-After: secs`.
    RateLimited { retry_after_secs: u64 },
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, e.g. `/v1/enterprise_connections?limit=500&offset=0`.
    pub path_and_query: String,
    pub authorization: Option<String>,
    pub at: Instant,
}

impl RecordedRequest {
    /// The request as a fake records it (method, path + query, Authorization).
    pub fn capture(
        method: &axum::http::Method,
        headers: &axum::http::HeaderMap,
        uri: &axum::http::Uri,
    ) -> Self {
        Self {
            method: method.to_string(),
            path_and_query: uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            at: std::time::Instant::now(),
        }
    }
}

/// Binds `127.0.0.1:0`, serves `router` on the current runtime and returns
/// the address.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    addr
}

/// A JSON response.
pub fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).expect("status");
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A JSON response with a `Retry-After` header.
pub fn rate_limited(retry_after_secs: u64, body: &Value) -> Response {
    let mut r = json_response(429, body);
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&retry_after_secs.to_string()).expect("header"),
    );
    r
}

/// Query parameters of a URI (no percent-decoding needed by the fakes'
/// clients beyond `+`/`%` of page tokens, which they never produce).
pub fn query_params(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

pub fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
