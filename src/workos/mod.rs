//! The WorkOS REST client used by every importing command.
//!
//! Owns: request and response types of the endpoints the importer calls
//! ([`types`]), the error model (HTTP status, `code`, sub-codes, request id,
//! `Retry-After`; [`error`]), the one [`RateLimiter`] a run shares across all
//! requests ([`rate_limiter`]), the retry rule shared by the importer and
//! `analyze` ([`retry`]), and the client itself ([`client`]), which bounds
//! requests in flight (`--concurrency`) and paces them (`--rate-limit`).
//!
//! The API key is held as an [`ApiKey`]: it is sent only in the
//! `Authorization` header and is never formatted into a message.

pub mod client;
pub mod error;
pub mod rate_limiter;
pub mod retry;
pub mod types;

pub use client::{ClientConfig, ClientStats, WorkOsClient};
pub use error::{ApiError, WorkOsError};
pub use rate_limiter::RateLimiter;
pub use types::*;

/// Default API base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.workos.com";

/// Environment variable holding the API key.
pub const API_KEY_ENV: &str = "WORKOS_SECRET_KEY";

/// Environment variable overriding the base URL (`--endpoint` wins).
pub const API_URL_ENV: &str = "WORKOS_API_URL";

/// Message when no key is configured (the original tool's wording, §0).
pub const MISSING_KEY_MESSAGE: &str =
    "WorkOS API key is required. Set WORKOS_SECRET_KEY environment variable or pass --api-key.";

/// A WorkOS API key. `Debug`/`Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key from `WORKOS_SECRET_KEY`, if set and not blank.
    pub fn from_env() -> Option<Self> {
        std::env::var(API_KEY_ENV)
            .ok()
            .filter(|k| !k.trim().is_empty())
            .map(|k| Self(k.trim().to_string()))
    }

    /// The raw key, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The base URL for a command: `--endpoint`, else `WORKOS_API_URL`, else the
/// default. Unlike the original SDK a path prefix is kept.
pub fn resolve_base_url(endpoint: Option<&str>) -> Result<reqwest::Url, WorkOsError> {
    let raw = endpoint
        .map(str::to_string)
        .or_else(|| {
            std::env::var(API_URL_ENV)
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
    let trimmed = raw.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(trimmed).map_err(|_| WorkOsError::InvalidEndpoint {
        endpoint: raw.clone(),
    })?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        _ => Err(WorkOsError::InvalidEndpoint { endpoint: raw }),
    }
}
