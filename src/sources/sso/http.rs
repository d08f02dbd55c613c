//! HTTP plumbing shared by the SSO API clients (Clerk Backend API, Google
//! OAuth and Identity Platform): bounded retries, one request-log event per
//! attempt ([`crate::telemetry`]) and error bodies that are short,
//! single-line and free of credentials.
//!
//! Retry rule: HTTP 429 waits for `Retry-After` (seconds or an HTTP date;
//! exponential backoff when absent); 5xx responses, timeouts and connection
//! failures are retried with exponential backoff. At most
//! [`RetryPolicy::max_retries`] retries, and the sum of all waits never
//! exceeds [`RetryPolicy::max_total_wait`]: a `Retry-After` that would cross
//! it fails at once instead of sleeping.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};

use crate::telemetry::{self, ApiCall, Outcome};

/// Longest error body kept in a message, in characters.
pub const MAX_BODY_CHARS: usize = 200;

/// How hard a client tries before giving up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubled after each retry.
    pub initial_backoff: Duration,
    /// Ceiling of one backoff step.
    pub max_backoff: Duration,
    /// Ceiling of all waits of one request together.
    pub max_total_wait: Duration,
    /// Timeout of a single attempt.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_total_wait: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A `reqwest` client with this policy's per-attempt timeout.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(self.request_timeout)
            .connect_timeout(self.request_timeout.min(Duration::from_secs(10)))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new())
    }

    fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Why a request finally failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFailure {
    /// A non-2xx response; `body` is raw (sanitise before showing it).
    Status { status: u16, body: String },
    /// No response (connection, timeout, body read).
    Transport(String),
}

/// Sends the request built by `build` (called once per attempt) to
/// `service` (named in the request log) and returns the 2xx body, retrying
/// per `policy`.
pub async fn send_with_retry<F>(
    service: &'static str,
    policy: &RetryPolicy,
    build: F,
) -> Result<String, HttpFailure>
where
    F: Fn() -> RequestBuilder,
{
    let mut waited = Duration::ZERO;
    let mut retry = 0u32;
    loop {
        let (client, request) = build().build_split();
        let request = request.map_err(|e| HttpFailure::Transport(error_text(&e)))?;
        let method = request.method().clone();
        let log = ApiCall::start(service, method.as_str(), request.url().as_str(), retry + 1);
        let sent = client.execute(request).await;
        match &sent {
            Ok(r) => log.finish(
                Outcome::Status(r.status().as_u16()),
                telemetry::request_id(r.headers()).as_deref(),
            ),
            Err(e) => log.finish(Outcome::Transport(telemetry::transport_kind(e)), None),
        }
        let (failure, delay) = match sent {
            Ok(resp) => {
                let status = resp.status();
                let retry_after = retry_after(resp.headers());
                if status.is_success() {
                    match resp.text().await {
                        Ok(body) => return Ok(body),
                        Err(e) => (HttpFailure::Transport(error_text(&e)), None),
                    }
                } else {
                    let retryable =
                        status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                    let body = resp.text().await.unwrap_or_default();
                    let failure = HttpFailure::Status {
                        status: status.as_u16(),
                        body,
                    };
                    if !retryable {
                        return Err(failure);
                    }
                    (failure, retry_after)
                }
            }
            Err(e) if e.is_timeout() || e.is_connect() || e.is_request() || e.is_body() => {
                (HttpFailure::Transport(error_text(&e)), None)
            }
            Err(e) => return Err(HttpFailure::Transport(error_text(&e))),
        };
        if retry >= policy.max_retries {
            return Err(failure);
        }
        let delay = delay.unwrap_or_else(|| policy.backoff(retry));
        if waited + delay > policy.max_total_wait {
            return Err(failure);
        }
        tokio::time::sleep(delay).await;
        waited += delay;
        retry += 1;
    }
}

/// `Retry-After` as a delay: delta-seconds or an HTTP date (past dates → 0).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let ms = (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
    Some(Duration::from_millis(ms.max(0) as u64))
}

/// A transport error as text, with its causes (reqwest's top-level message
/// alone is often just "error sending request").
pub fn error_text(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let msg = cause.to_string();
        if !text.contains(&msg) {
            text.push_str(": ");
            text.push_str(&msg);
        }
        source = cause.source();
    }
    text
}

/// Makes a response body or error text safe to show: every non-empty
/// `secret` replaced by `[REDACTED]`, whitespace runs collapsed to one space,
/// cut to [`MAX_BODY_CHARS`] characters (`…` marks a cut).
pub fn sanitize(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(s, "[REDACTED]");
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = collapsed.chars();
    let cut: String = chars.by_ref().take(MAX_BODY_CHARS).collect();
    if chars.next().is_some() {
        format!("{cut}…")
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0), Duration::from_millis(500));
        assert_eq!(p.backoff(2), Duration::from_secs(2));
        assert_eq!(p.backoff(10), Duration::from_secs(8));
        assert_eq!(p.backoff(40), Duration::from_secs(8));
    }

    #[test]
    fn sanitize_redacts_collapses_and_truncates() {
        assert_eq!(
            sanitize("bad key sk_live_1\n  again sk_live_1", &["sk_live_1", ""]),
            "bad key [REDACTED] again [REDACTED]"
        );
        let long = "é".repeat(300);
        let s = sanitize(&long, &[]);
        assert_eq!(s.chars().count(), MAX_BODY_CHARS + 1);
        assert!(s.ends_with('…'));
    }
}
