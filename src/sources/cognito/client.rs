//! The Cognito API client (export-and-package.md §5.2) on the official AWS
//! SDK for Rust: region, credentials (static keys when both are given, else
//! the SDK's default chain: environment, profiles, SSO, web identity, ECS,
//! IMDS), the endpoint override, the request budget and the retry loop.
//!
//! - One [`RateLimiter`] paces every call of the `UserList` quota category
//!   (`ListUsers`, `ListUsersInGroup`) for the whole run, whatever the number
//!   of pools, partitions and groups listed at once; a second one paces the
//!   few other reads (`ListGroups`, `ListIdentityProviders`,
//!   `DescribeIdentityProvider`, `DescribeUserPool`, `ListUserPools`) at
//!   15/s. `--rate-limit off` unpaces both.
//! - The SDK's own retries are switched off: [`CognitoClient`] retries
//!   `TooManyRequestsException`, 5xx / `InternalErrorException`, timeouts
//!   and transport failures with jittered exponential backoff, at most
//!   `max_retries` times per request; a throttled answer also pauses the
//!   whole budget for the backoff.
//! - Errors are one line naming the operation, the pool and AWS's error code
//!   and message; the access key, secret and session token never appear.
//!
//! The SDK reads `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`
//! itself (the loader's environment config); `--endpoint-url` overrides both.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_cognitoidentityprovider::config::http::HttpResponse;
use aws_sdk_cognitoidentityprovider::config::{Credentials, Region};
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::operation::RequestId;
use aws_sdk_cognitoidentityprovider::primitives::{DateTime, DateTimeFormat};
use aws_sdk_cognitoidentityprovider::types::UserType;
use aws_sdk_cognitoidentityprovider::Client;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use super::{CognitoProvider, CognitoUser};
use crate::telemetry::{ApiCall, Outcome};
use crate::workos::retry::{Jitter, RetryPolicy};
use crate::workos::RateLimiter;

/// `ListUsers` / `ListUsersInGroup` page size (Cognito's maximum).
pub const USER_PAGE: i32 = 60;
/// Default `--rate-limit`: `UserList` requests per second. Cognito's
/// default quota is 30/s per account and region; the limiter paces at
/// 97 % of this ([`crate::workos::rate_limiter::RATE_LIMIT_HEADROOM`]),
/// i.e. about 28.1/s.
pub const DEFAULT_RATE_LIMIT: f64 = 29.0;
/// Default `--max-retries`.
pub const DEFAULT_MAX_RETRIES: u32 = 8;
/// Requests per second for the other reads (an export makes a handful per
/// pool); unpaced when `UserList` pacing is off.
const OTHER_READS_PER_SECOND: f64 = 15.0;
/// Retries of the credential probe for transport failures: a wrong
/// endpoint or region should fail in about a second, not after the full
/// budget.
const PROBE_TRANSPORT_RETRIES: u32 = 2;

/// Errors of the Cognito client; every message is one line without secrets.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CognitoError {
    #[error("no AWS region: pass --region or set AWS_REGION")]
    NoRegion,
    #[error("--region \"{0}\" is not an AWS region name (for example us-east-1)")]
    BadRegion(String),
    #[error("--endpoint-url \"{0}\" is not an http(s) URL")]
    BadEndpoint(String),
    #[error("Cognito {operation} failed: no AWS credentials found (pass --access-key-id and --secret-access-key, or configure a profile, SSO, web identity or instance role for the default chain)")]
    NoCredentials { operation: &'static str },
    #[error("Cognito {operation} on {target} failed: {code}: {message}")]
    Api {
        operation: &'static str,
        target: String,
        code: String,
        message: String,
    },
    #[error("Cognito {operation} on {target} failed after {attempts} attempts: {message}")]
    RetriesExhausted {
        operation: &'static str,
        target: String,
        attempts: u32,
        message: String,
    },
}

impl CognitoError {
    /// AWS's error code of an API error (`ResourceNotFoundException`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// How the client reaches AWS. Its `Debug` output hides the keys.
#[derive(Clone, Default)]
pub struct CognitoClientConfig {
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// `--endpoint-url`; `None` leaves the SDK's own resolution (including
    /// `AWS_ENDPOINT_URL*`).
    pub endpoint_url: Option<String>,
    /// `UserList` requests per second; `None` = unpaced.
    pub rate_limit: Option<f64>,
    pub max_retries: u32,
    /// First backoff step (doubled per retry, jittered, capped at 16 s).
    pub initial_backoff: Duration,
}

impl std::fmt::Debug for CognitoClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "[REDACTED]");
        f.debug_struct("CognitoClientConfig")
            .field("region", &self.region)
            .field("access_key_id", &hidden(&self.access_key_id))
            .field("secret_access_key", &hidden(&self.secret_access_key))
            .field("session_token", &hidden(&self.session_token))
            .field("endpoint_url", &self.endpoint_url)
            .field("rate_limit", &self.rate_limit)
            .field("max_retries", &self.max_retries)
            .field("initial_backoff", &self.initial_backoff)
            .finish()
    }
}

impl CognitoClientConfig {
    pub fn new(region: &str) -> Self {
        Self {
            region: region.to_string(),
            rate_limit: Some(DEFAULT_RATE_LIMIT),
            max_retries: DEFAULT_MAX_RETRIES,
            initial_backoff: Duration::from_millis(250),
            ..Self::default()
        }
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, …
pub fn is_region_name(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Which request budget a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    UserList,
    Other,
}

/// Request counters of a run.
#[derive(Debug, Default)]
pub struct ClientStats {
    user_list: AtomicU64,
    other: AtomicU64,
    throttled: AtomicU64,
    retried: AtomicU64,
}

/// A snapshot of [`ClientStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// `ListUsers` + `ListUsersInGroup` attempts.
    pub user_list: u64,
    /// Every other attempt.
    pub other: u64,
    /// `TooManyRequestsException` answers.
    pub throttled: u64,
    /// Attempts that were retries.
    pub retried: u64,
}

/// A page of users and the token of the next one.
pub type UserPage = (Vec<CognitoUser>, Option<String>);

/// The SDK client with the run's budgets; see the module docs.
pub struct CognitoClient {
    sdk: Client,
    user_list: RateLimiter,
    other: RateLimiter,
    retry: RetryPolicy,
    secrets: Vec<String>,
    stats: ClientStats,
}

/// Replaces every secret in `text` by `[REDACTED]`.
fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s.as_str(), "[REDACTED]");
    }
    crate::cli::one_line(&out)
}

/// What one failed attempt means for the retry loop.
enum Failure {
    /// Worth another attempt; `throttled` when Cognito said so.
    Retry { message: String, throttled: bool },
    /// Fails the same way every time.
    Fatal(CognitoError),
}

/// Classifies an SDK error (see the module docs for the retry rule).
fn classify<E>(
    err: SdkError<E, HttpResponse>,
    operation: &'static str,
    target: &str,
    secrets: &[String],
) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let code = err.code().unwrap_or("UnknownError").to_string();
            let message = redact(err.message().unwrap_or(""), secrets);
            let throttled = code == "TooManyRequestsException" || code == "ThrottlingException";
            if throttled || code == "InternalErrorException" || status >= 500 {
                Failure::Retry {
                    message: format!("{code}: {message}"),
                    throttled,
                }
            } else {
                Failure::Fatal(CognitoError::Api {
                    operation,
                    target: target.to_string(),
                    code,
                    message,
                })
            }
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => Failure::Retry {
            message: redact(&DisplayErrorContext(&err).to_string(), secrets),
            throttled: false,
        },
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => Failure::Retry {
            message: redact(&DisplayErrorContext(&err).to_string(), secrets),
            throttled: false,
        },
        _ => {
            let text = DisplayErrorContext(&err).to_string();
            let lower = text.to_ascii_lowercase();
            if lower.contains("credential") && (lower.contains("no ") || lower.contains("not ")) {
                Failure::Fatal(CognitoError::NoCredentials { operation })
            } else {
                Failure::Fatal(CognitoError::Api {
                    operation,
                    target: target.to_string(),
                    code: "ClientError".into(),
                    message: redact(&text, secrets),
                })
            }
        }
    }
}

/// Logs a failed attempt: HTTP status and AWS error code of a service
/// error, else the kind of failure; the request id when AWS sent one.
fn log_failure<E>(log: ApiCall<'_>, err: &SdkError<E, HttpResponse>)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let outcome = match err {
        SdkError::ServiceError(ctx) => Outcome::Service {
            status: Some(ctx.raw().status().as_u16()),
            code: err.code().unwrap_or("UnknownError"),
        },
        SdkError::ResponseError(ctx) => Outcome::Service {
            status: Some(ctx.raw().status().as_u16()),
            code: "ResponseError",
        },
        SdkError::TimeoutError(_) => Outcome::Transport("timeout"),
        SdkError::DispatchFailure(d) if d.is_timeout() => Outcome::Transport("timeout"),
        SdkError::DispatchFailure(d) if d.is_io() => Outcome::Transport("io"),
        SdkError::DispatchFailure(_) => Outcome::Transport("dispatch"),
        _ => Outcome::Transport("client"),
    };
    log.finish(outcome, err.request_id());
}

/// `target` text of a pool.
fn pool_target(pool: &str) -> String {
    format!("pool {pool}")
}

/// Converts an SDK user (entries without a username are dropped, §5.2).
fn user_from_sdk(u: UserType) -> Option<CognitoUser> {
    let username = u.username.filter(|n| !n.is_empty())?;
    let iso = |d: Option<DateTime>| d.and_then(|d| d.fmt(DateTimeFormat::DateTime).ok());
    Some(CognitoUser {
        username,
        attributes: u
            .attributes
            .unwrap_or_default()
            .into_iter()
            .map(|a| (a.name, a.value.unwrap_or_default()))
            .collect(),
        user_status: u
            .user_status
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        enabled: u.enabled,
        created_at: iso(u.user_create_date),
        updated_at: iso(u.user_last_modified_date),
        mfa_options: u
            .mfa_options
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                (
                    m.delivery_medium
                        .map(|d| d.as_str().to_string())
                        .unwrap_or_default(),
                    m.attribute_name.unwrap_or_default(),
                )
            })
            .collect(),
    })
}

impl CognitoClient {
    /// Builds the SDK client; checks the region and endpoint first.
    pub async fn connect(config: &CognitoClientConfig) -> Result<Self, CognitoError> {
        let region = config.region.trim();
        if region.is_empty() {
            return Err(CognitoError::NoRegion);
        }
        if !is_region_name(region) {
            return Err(CognitoError::BadRegion(region.to_string()));
        }
        let endpoint = config
            .endpoint_url
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        if let Some(e) = endpoint {
            let ok = reqwest::Url::parse(e)
                .map(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .unwrap_or(false);
            if !ok {
                return Err(CognitoError::BadEndpoint(e.to_string()));
            }
        }
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .http_client(http)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        let key = config.access_key_id.as_deref().unwrap_or("").trim();
        let secret = config.secret_access_key.as_deref().unwrap_or("").trim();
        let token = config
            .session_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let mut secrets = Vec::new();
        if !key.is_empty() && !secret.is_empty() {
            loader = loader.credentials_provider(Credentials::new(
                key,
                secret,
                token.map(str::to_string),
                None,
                "workos-migrate",
            ));
            secrets.push(key.to_string());
            secrets.push(secret.to_string());
            if let Some(t) = token {
                secrets.push(t.to_string());
            }
        }
        if let Some(e) = endpoint {
            loader = loader.endpoint_url(e);
        }
        let sdk_config = loader.load().await;
        Ok(Self {
            sdk: Client::new(&sdk_config),
            user_list: RateLimiter::new(config.rate_limit),
            other: RateLimiter::new(config.rate_limit.map(|_| OTHER_READS_PER_SECOND)),
            retry: RetryPolicy {
                max_retries: config.max_retries,
                initial_backoff: config.initial_backoff,
                ..RetryPolicy::default()
            },
            secrets,
            stats: ClientStats::default(),
        })
    }

    /// Request counters so far.
    pub fn counts(&self) -> RequestCounts {
        RequestCounts {
            user_list: self.stats.user_list.load(Ordering::Relaxed),
            other: self.stats.other.load(Ordering::Relaxed),
            throttled: self.stats.throttled.load(Ordering::Relaxed),
            retried: self.stats.retried.load(Ordering::Relaxed),
        }
    }

    /// Runs `attempt` under the budget of `category` with the retry rule.
    async fn call<T, E, F, Fut>(
        &self,
        operation: &'static str,
        target: &str,
        category: Category,
        transport_retries: u32,
        attempt: F,
    ) -> Result<T, CognitoError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        T: RequestId,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (limiter, counter) = match category {
            Category::UserList => (&self.user_list, &self.stats.user_list),
            Category::Other => (&self.other, &self.stats.other),
        };
        let mut jitter = Jitter::from_entropy();
        let mut retries = 0u32;
        loop {
            limiter.acquire().await;
            counter.fetch_add(1, Ordering::Relaxed);
            let log = ApiCall::start_operation("cognito", operation, retries + 1);
            let err = match attempt().await {
                Ok(v) => {
                    // The AWS JSON protocol answers every success with 200.
                    log.finish(Outcome::Status(200), v.request_id());
                    return Ok(v);
                }
                Err(e) => {
                    log_failure(log, &e);
                    e
                }
            };
            let (message, throttled) = match classify(err, operation, target, &self.secrets) {
                Failure::Fatal(e) => return Err(e),
                Failure::Retry { message, throttled } => (message, throttled),
            };
            let budget = if throttled {
                self.retry.max_retries
            } else {
                self.retry.max_retries.min(transport_retries)
            };
            if retries >= budget {
                return Err(CognitoError::RetriesExhausted {
                    operation,
                    target: target.to_string(),
                    attempts: retries + 1,
                    message,
                });
            }
            retries += 1;
            self.stats.retried.fetch_add(1, Ordering::Relaxed);
            let wait = self.retry.backoff(retries, jitter.next_f64());
            if throttled {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                // Cognito sends no Retry-After: everyone sharing the
                // budget backs off, so the storm is not fed.
                limiter.pause_for(wait);
            } else {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// `ListUserPools {MaxResults: 1}`: the credential probe (§5.2).
    pub async fn probe(&self) -> Result<(), CognitoError> {
        self.call(
            "ListUserPools",
            "the account",
            Category::Other,
            PROBE_TRANSPORT_RETRIES,
            || self.sdk.list_user_pools().max_results(1).send(),
        )
        .await
        .map(|_| ())
    }

    /// `DescribeUserPool`: the pool's `EstimatedNumberOfUsers`.
    pub async fn estimated_users(&self, pool: &str) -> Result<u64, CognitoError> {
        let out = self
            .call(
                "DescribeUserPool",
                &pool_target(pool),
                Category::Other,
                u32::MAX,
                || self.sdk.describe_user_pool().user_pool_id(pool).send(),
            )
            .await?;
        Ok(out
            .user_pool
            .map(|p| p.estimated_number_of_users.max(0) as u64)
            .unwrap_or(0))
    }

    /// One `ListUsers` page (60 users), optionally filtered (`sub ^= "a"`).
    pub async fn list_users_page(
        &self,
        pool: &str,
        filter: Option<&str>,
        token: Option<&str>,
    ) -> Result<UserPage, CognitoError> {
        let out = self
            .call(
                "ListUsers",
                &pool_target(pool),
                Category::UserList,
                u32::MAX,
                || {
                    let mut req = self.sdk.list_users().user_pool_id(pool).limit(USER_PAGE);
                    if let Some(f) = filter {
                        req = req.filter(f);
                    }
                    if let Some(t) = token {
                        req = req.pagination_token(t);
                    }
                    req.send()
                },
            )
            .await?;
        let users = out
            .users
            .unwrap_or_default()
            .into_iter()
            .filter_map(user_from_sdk)
            .collect();
        Ok((users, out.pagination_token.filter(|t| !t.is_empty())))
    }

    /// Every group name of a pool (`ListGroups`, 60 per page), API order.
    pub async fn list_groups(&self, pool: &str) -> Result<Vec<String>, CognitoError> {
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .call(
                    "ListGroups",
                    &pool_target(pool),
                    Category::Other,
                    u32::MAX,
                    || {
                        let mut req = self.sdk.list_groups().user_pool_id(pool).limit(60);
                        if let Some(t) = &token {
                            req = req.next_token(t);
                        }
                        req.send()
                    },
                )
                .await?;
            names.extend(
                out.groups
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|g| g.group_name.filter(|n| !n.is_empty())),
            );
            match out.next_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(names),
            }
        }
    }

    /// One `ListUsersInGroup` page (60 users).
    pub async fn list_users_in_group_page(
        &self,
        pool: &str,
        group: &str,
        token: Option<&str>,
    ) -> Result<UserPage, CognitoError> {
        let target = format!("pool {pool} group {group}");
        let out = self
            .call(
                "ListUsersInGroup",
                &target,
                Category::UserList,
                u32::MAX,
                || {
                    let mut req = self
                        .sdk
                        .list_users_in_group()
                        .user_pool_id(pool)
                        .group_name(group)
                        .limit(USER_PAGE);
                    if let Some(t) = token {
                        req = req.next_token(t);
                    }
                    req.send()
                },
            )
            .await?;
        let users = out
            .users
            .unwrap_or_default()
            .into_iter()
            .filter_map(user_from_sdk)
            .collect();
        Ok((users, out.next_token.filter(|t| !t.is_empty())))
    }

    /// Every identity provider of a pool (§5.2): `ListIdentityProviders`
    /// then `DescribeIdentityProvider` for each summary with a name and a
    /// type; entries missing either are dropped.
    pub async fn identity_providers(
        &self,
        pool: &str,
    ) -> Result<Vec<CognitoProvider>, CognitoError> {
        let target = pool_target(pool);
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .call(
                    "ListIdentityProviders",
                    &target,
                    Category::Other,
                    u32::MAX,
                    || {
                        let mut req = self
                            .sdk
                            .list_identity_providers()
                            .user_pool_id(pool)
                            .max_results(60);
                        if let Some(t) = &token {
                            req = req.next_token(t);
                        }
                        req.send()
                    },
                )
                .await?;
            for p in out.providers {
                if let (Some(name), Some(_)) = (p.provider_name, p.provider_type) {
                    if !name.is_empty() {
                        names.push(name);
                    }
                }
            }
            match out.next_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        let mut providers = Vec::with_capacity(names.len());
        for name in names {
            let target = format!("pool {pool} provider {name}");
            let out = self
                .call(
                    "DescribeIdentityProvider",
                    &target,
                    Category::Other,
                    u32::MAX,
                    || {
                        self.sdk
                            .describe_identity_provider()
                            .user_pool_id(pool)
                            .provider_name(&name)
                            .send()
                    },
                )
                .await?;
            let Some(idp) = out.identity_provider else {
                continue;
            };
            let (Some(provider_name), Some(provider_type)) = (idp.provider_name, idp.provider_type)
            else {
                continue;
            };
            providers.push(CognitoProvider {
                user_pool_id: pool.to_string(),
                provider_name,
                provider_type: provider_type.as_str().to_string(),
                provider_details: idp
                    .provider_details
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
                attribute_mapping: idp
                    .attribute_mapping
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
                idp_identifiers: idp.idp_identifiers.unwrap_or_default(),
            });
        }
        Ok(providers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
        ] {
            assert!(is_region_name(ok), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "US-EAST-1",
            "us-east-x",
            "us--1",
            "useast1",
        ] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }

    #[test]
    fn debug_output_hides_the_keys() {
        let mut c = CognitoClientConfig::new("us-east-1");
        c.access_key_id = Some("AKIAEXAMPLEKEY".into());
        c.secret_access_key = Some("s3cr3t".into());
        let text = format!("{c:?}");
        assert!(
            !text.contains("AKIAEXAMPLEKEY") && !text.contains("s3cr3t"),
            "{text}"
        );
        assert!(text.contains("[REDACTED]"));
    }

    #[test]
    fn secrets_are_redacted_and_text_is_one_line() {
        let secrets = vec!["AKIAEXAMPLEKEY".to_string(), "s3cr3t/value".to_string()];
        let text = redact("key AKIAEXAMPLEKEY\nsecret s3cr3t/value end", &secrets);
        assert_eq!(text, "key [REDACTED] secret [REDACTED] end");
    }

    #[tokio::test]
    async fn bad_region_and_endpoint_fail_before_any_request() {
        let mut c = CognitoClientConfig::new("  ");
        assert!(matches!(
            CognitoClient::connect(&c).await.err(),
            Some(CognitoError::NoRegion)
        ));
        c.region = "mars-1".into();
        assert!(matches!(
            CognitoClient::connect(&c).await.err(),
            Some(CognitoError::BadRegion(_))
        ));
        c.region = "us-east-1".into();
        c.endpoint_url = Some("ftp://x".into());
        assert!(matches!(
            CognitoClient::connect(&c).await.err(),
            Some(CognitoError::BadEndpoint(_))
        ));
    }
}
