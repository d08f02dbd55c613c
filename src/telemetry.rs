//! Request logging: the `tracing` subscriber behind `-v`/`--verbose` and
//! `RUST_LOG`, and the one event shape every API client emits per HTTP
//! attempt ([`ApiCall`]), so no client formats its own log lines.
//!
//! - Nothing is installed without `-v` and without `RUST_LOG`: stderr stays
//!   exactly what the commands print.
//! - `-v` logs every API call at `debug` (target `workos_migrate::api`);
//!   `-vv` adds a `trace` line as each attempt starts. `RUST_LOG` (the
//!   `tracing-subscriber` `EnvFilter` syntax) sets any other level or target;
//!   with both, `-v` raises `workos_migrate` on top of `RUST_LOG`.
//! - Lines go to stderr, with ANSI colours only when stderr is a terminal.
//! - An event carries the service, method, path (never the query: signed
//!   download URLs carry credentials there), operation (AWS), attempt,
//!   latency, status or error code and the provider's request id. Never a
//!   header value, key, token, secret or body: the clients hand over only
//!   these fields.

use std::io::IsTerminal;
use std::time::Instant;

use tracing_subscriber::EnvFilter;

/// The `tracing` target of the per-call events.
pub const API_TARGET: &str = "workos_migrate::api";

/// Response headers holding a provider's request id, in lookup order:
/// WorkOS (and many others) `X-Request-ID`, Auth0 `X-Auth0-RequestId`, AWS
/// JSON APIs `x-amzn-RequestId`, S3 (signed job downloads)
/// `x-amz-request-id`.
pub const REQUEST_ID_HEADERS: [&str; 4] = [
    "x-request-id",
    "x-auth0-requestid",
    "x-amzn-requestid",
    "x-amz-request-id",
];

/// Installs the stderr subscriber for `verbosity` (`-v` count) and
/// `RUST_LOG`; does nothing when neither asks for logs. Safe to call more
/// than once (later calls are ignored).
pub fn init(verbosity: u8) {
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let Some(filter) = filter_for(verbosity, rust_log.as_deref()) else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .try_init();
}

/// The filter for `-v` × `RUST_LOG`; `None` when logging stays off. An
/// unparsable `RUST_LOG` is reported on one stderr line and ignored.
fn filter_for(verbosity: u8, rust_log: Option<&str>) -> Option<EnvFilter> {
    let own = match verbosity {
        0 => None,
        1 => Some("workos_migrate=debug"),
        _ => Some("workos_migrate=trace"),
    };
    let from_env = rust_log.and_then(|spec| {
        match EnvFilter::builder()
            .with_default_directive(tracing::level_filters::LevelFilter::OFF.into())
            .parse(spec)
        {
            Ok(f) => Some(f),
            Err(e) => {
                let reason = e.to_string();
                let reason: Vec<&str> = reason.split_whitespace().collect();
                eprintln!("warning: ignoring RUST_LOG: {}", reason.join(" "));
                None
            }
        }
    });
    match (from_env, own) {
        (None, None) => None,
        (Some(f), None) => Some(f),
        (env, Some(own)) => {
            let base = env.unwrap_or_else(|| EnvFilter::new("off"));
            Some(match own.parse() {
                Ok(directive) => base.add_directive(directive),
                Err(_) => base,
            })
        }
    }
}

/// The request path shown in logs: the path of a URL or of a
/// path-and-query, without scheme, host, query or fragment.
pub fn loggable_path(url_or_path: &str) -> String {
    let no_query = url_or_path.split(['?', '#']).next().unwrap_or_default();
    match no_query.find("://") {
        Some(i) => {
            let rest = &no_query[i + 3..];
            match rest.find('/') {
                Some(j) => rest[j..].to_string(),
                None => "/".to_string(),
            }
        }
        None => no_query.to_string(),
    }
}

/// The first request-id header of a response (see [`REQUEST_ID_HEADERS`]).
pub fn request_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS.iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    })
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// An HTTP response with this status.
    Status(u16),
    /// An AWS service error: HTTP status (when known) and error code.
    Service { status: Option<u16>, code: &'a str },
    /// No response: a short kind (`timeout`, `connect`, `transport`, …).
    Transport(&'a str),
}

/// One API request attempt, timed from [`ApiCall::start`] to
/// [`ApiCall::finish`], which emits the `debug` event.
#[derive(Debug)]
pub struct ApiCall<'a> {
    service: &'static str,
    method: &'a str,
    path: String,
    operation: Option<&'a str>,
    attempt: u32,
    started: Instant,
}

impl<'a> ApiCall<'a> {
    /// Starts timing attempt number `attempt` (1 = first try) of `method
    /// url_or_path` against `service` (`workos`, `auth0`, `cognito`, …);
    /// the query is dropped here. Emits a `trace` event.
    pub fn start(service: &'static str, method: &'a str, url_or_path: &str, attempt: u32) -> Self {
        let call = Self {
            service,
            method,
            path: loggable_path(url_or_path),
            operation: None,
            attempt,
            started: Instant::now(),
        };
        tracing::trace!(
            target: API_TARGET,
            service = %call.service,
            method = %call.method,
            path = %call.path,
            attempt = call.attempt,
            "api request"
        );
        call
    }

    /// An AWS operation (`ListUsers`): JSON-protocol calls all `POST /`.
    pub fn start_operation(service: &'static str, operation: &'a str, attempt: u32) -> Self {
        let call = Self {
            service,
            method: "POST",
            path: "/".to_string(),
            operation: Some(operation),
            attempt,
            started: Instant::now(),
        };
        tracing::trace!(
            target: API_TARGET,
            service = %call.service,
            operation = call.operation.map(display),
            attempt = call.attempt,
            "api request"
        );
        call
    }

    /// Emits the event for this attempt.
    pub fn finish(self, outcome: Outcome<'_>, request_id: Option<&str>) {
        let latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let latency_ms = (latency_ms * 10.0).round() / 10.0;
        let (status, error) = match outcome {
            Outcome::Status(s) => (Some(s), None),
            Outcome::Service { status, code } => (status, Some(code)),
            Outcome::Transport(kind) => (None, Some(kind)),
        };
        tracing::debug!(
            target: API_TARGET,
            service = %self.service,
            method = %self.method,
            path = %self.path,
            operation = self.operation.map(display),
            status,
            error = error.map(display),
            latency_ms,
            attempt = self.attempt,
            request_id = request_id.map(display),
            "api call"
        );
    }
}

/// A short kind of a `reqwest` transport failure, for [`Outcome::Transport`].
pub fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "transport"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lose_host_query_and_fragment() {
        assert_eq!(loggable_path("/api/v2/users?q=x"), "/api/v2/users");
        assert_eq!(
            loggable_path("https://s3.example/bucket/job.gz?X-Amz-Signature=abc"),
            "/bucket/job.gz"
        );
        assert_eq!(loggable_path("http://127.0.0.1:9/"), "/");
        assert_eq!(loggable_path("http://127.0.0.1:9?x=1"), "/");
        assert_eq!(loggable_path("/a#frag"), "/a");
    }

    #[test]
    fn request_id_prefers_the_first_known_header() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(request_id(&h), None);
        h.insert("x-auth0-requestid", "a0".parse().unwrap());
        assert_eq!(request_id(&h).as_deref(), Some("a0"));
        h.insert("x-request-id", "w1".parse().unwrap());
        assert_eq!(request_id(&h).as_deref(), Some("w1"));
    }

    #[test]
    fn filter_is_off_without_flags_or_env() {
        assert!(filter_for(0, None).is_none());
        let f = filter_for(1, None).unwrap().to_string();
        assert!(f.contains("workos_migrate=debug"), "{f}");
        let f = filter_for(3, Some("info")).unwrap().to_string();
        assert!(
            f.contains("workos_migrate=trace") && f.contains("info"),
            "{f}"
        );
        assert!(filter_for(0, Some("debug")).is_some());
    }
}
