//! Auth0 Management API client (export-and-package.md §4.2): the tenant
//! address, the client-credentials token, one request-rate budget shared by
//! every call, bounded retries, and the listings the exporter needs with the
//! pagination Auth0 really supports.
//!
//! Differences from the original client (docs/decisions.md):
//! - Requests are paced evenly at `--rate-limit` per second by one
//!   [`RateLimiter`] for the whole run, and `--user-fetch-concurrency` bounds
//!   the requests in flight (a semaphore), not just a batch size.
//! - `x-ratelimit-remaining: 0` pauses every caller until
//!   `x-ratelimit-reset`; a 429 pauses until `Retry-After` (else the reset
//!   time, else a jittered backoff).
//! - 5xx answers and transport failures are retried with jittered
//!   exponential backoff (the original retried only 429); a 401 renews the
//!   token once.
//! - Organizations and members are listed with checkpoint pagination
//!   (`from`/`take`), which has no 1,000-record cap; offset listings refuse
//!   to step past Auth0's cap instead of stopping silently.
//! - Error messages carry the status, route and a short single-line body,
//!   never the client secret or the token.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use crate::sources::sso::http::{error_text, retry_after, sanitize};
use crate::telemetry::{self, ApiCall, Outcome};
use crate::workos::client::encode_segment;
use crate::workos::RateLimiter;

/// Auth0's largest page for every listing.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Records an offset listing can reach on capped endpoints.
pub const OFFSET_CAP: u64 = 1000;

/// Errors of the Management API client; every message is one line and
/// holds neither the client secret nor the token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Auth0Error {
    #[error("--domain: {0}")]
    Domain(String),
    #[error("Failed to get Auth0 access token: {0}")]
    Token(String),
    #[error("No access token in Auth0 response")]
    NoToken,
    #[error("Auth0 API error ({status}) on {method} {path}: {body}")]
    Api {
        status: u16,
        method: String,
        path: String,
        body: String,
    },
    #[error("Auth0 request {method} {path} failed: {message}")]
    Transport {
        method: String,
        path: String,
        message: String,
    },
    #[error("Auth0 returned an unexpected response on {path}: {message}")]
    Shape { path: String, message: String },
}

impl Auth0Error {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The (sanitised) response body of an API error.
    pub fn body(&self) -> &str {
        match self {
            Self::Api { body, .. } => body,
            _ => "",
        }
    }
}

/// Where the tenant is: `https://host`, or `http://` for loopback hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantAddress {
    /// Base URL without a trailing slash, e.g. `https://t.us.auth0.com`.
    pub base: Url,
    /// Host (and port when given), e.g. `t.us.auth0.com` — used for the
    /// `/login/callback` URLs of the proxy routes.
    pub host: String,
}

impl TenantAddress {
    /// Parses `--domain`: a host (`tenant.us.auth0.com`, https) or a URL with
    /// a scheme; plain `http` only for loopback hosts.
    pub fn parse(domain: &str) -> Result<Self, Auth0Error> {
        let d = domain.trim();
        if d.is_empty() {
            return Err(Auth0Error::Domain("is empty".into()));
        }
        let with_scheme = if d.contains("://") {
            d.to_string()
        } else {
            format!("https://{d}")
        };
        let url = Url::parse(&with_scheme)
            .map_err(|e| Auth0Error::Domain(format!("'{d}' is not a host or URL ({e})")))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Auth0Error::Domain(format!("'{d}' has no host")))?
            .to_string();
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => {
                return Err(Auth0Error::Domain(format!(
                    "plain http is only allowed for loopback hosts (127.0.0.1, ::1, localhost), not '{host}'"
                )))
            }
            other => {
                return Err(Auth0Error::Domain(format!(
                    "unsupported scheme '{other}' (use a host name or an https URL)"
                )))
            }
        }
        if !(url.path() == "/" || url.path().is_empty())
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(Auth0Error::Domain(format!(
                "'{d}' must be a tenant host such as tenant.us.auth0.com, without a path"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Auth0Error::Domain("must not contain credentials".into()));
        }
        let host_port = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        let base = Url::parse(&format!("{}://{}", url.scheme(), host_port))
            .map_err(|e| Auth0Error::Domain(e.to_string()))?;
        Ok(Self {
            base,
            host: host_port,
        })
    }

    /// `https://host/api/v2/` — the token audience.
    pub fn audience(&self) -> String {
        format!("{}api/v2/", self.base)
    }

    fn url(&self, path_and_query: &str) -> String {
        format!(
            "{}{}",
            self.base.as_str().trim_end_matches('/'),
            path_and_query
        )
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct Auth0ClientConfig {
    pub tenant: TenantAddress,
    pub client_id: String,
    pub client_secret: String,
    /// Requests per second for the whole run (`--rate-limit`); `None` = no pacing.
    pub rate_limit: Option<f64>,
    /// Requests in flight at once (`--user-fetch-concurrency`).
    pub concurrency: usize,
    /// Retries after the first attempt for 5xx and transport failures.
    pub max_retries: u32,
    /// Retries for 429 answers (each waits what the server says).
    pub max_rate_limited_retries: u32,
    /// First backoff step (doubled per retry, jittered).
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Timeout of one attempt.
    pub request_timeout: Duration,
}

impl Auth0ClientConfig {
    pub fn new(tenant: TenantAddress, client_id: String, client_secret: String) -> Self {
        Self {
            tenant,
            client_id,
            client_secret,
            rate_limit: Some(50.0),
            concurrency: 10,
            max_retries: 5,
            max_rate_limited_retries: 10,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(16),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// What the client did, for summaries and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Auth0Stats {
    /// API requests sent (attempts, retries included; token and downloads excluded).
    pub requests: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Attempts retried after a 5xx or transport failure.
    pub retried: u64,
    /// Tokens fetched.
    pub tokens: u64,
}

#[derive(Debug)]
struct CachedToken {
    value: String,
    renew_at: Instant,
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Value>,
    /// Checkpoint token of the next page (checkpoint listings only).
    pub next: Option<String>,
}

/// The Management API client; cheap to share behind an [`Arc`].
pub struct Auth0Client {
    http: reqwest::Client,
    config: Auth0ClientConfig,
    token: Mutex<Option<CachedToken>>,
    limiter: RateLimiter,
    in_flight: Semaphore,
    requests: AtomicU64,
    rate_limited: AtomicU64,
    retried: AtomicU64,
    tokens: AtomicU64,
}

impl std::fmt::Debug for Auth0Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth0Client")
            .field("tenant", &self.config.tenant.host)
            .finish_non_exhaustive()
    }
}

impl Auth0Client {
    pub fn new(config: Auth0ClientConfig) -> Result<Arc<Self>, Auth0Error> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(15)))
            .pool_max_idle_per_host(config.concurrency.max(1))
            .build()
            .map_err(|e| Auth0Error::Domain(error_text(&e)))?;
        Ok(Arc::new(Self {
            http,
            limiter: RateLimiter::new(config.rate_limit),
            in_flight: Semaphore::new(config.concurrency.max(1)),
            config,
            token: Mutex::new(None),
            requests: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            tokens: AtomicU64::new(0),
        }))
    }

    pub fn tenant(&self) -> &TenantAddress {
        &self.config.tenant
    }

    pub fn stats(&self) -> Auth0Stats {
        Auth0Stats {
            requests: self.requests.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            tokens: self.tokens.load(Ordering::Relaxed),
        }
    }

    fn secrets(&self) -> [&str; 2] {
        [&self.config.client_secret, &self.config.client_id]
    }

    fn clean(&self, text: &str) -> String {
        // The client id is not secret, but keep only the secret out.
        sanitize(text, &self.secrets()[..1])
    }

    /// A valid token, fetched or renewed when needed (`renew`: the last one
    /// was refused).
    async fn access_token(&self, renew: bool) -> Result<String, Auth0Error> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref() {
            if !renew && Instant::now() < t.renew_at {
                return Ok(t.value.clone());
            }
        }
        let body = json!({
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "audience": self.config.tenant.audience(),
            "grant_type": "client_credentials",
        });
        let url = self.config.tenant.url("/oauth/token");
        let mut attempt = 0u32;
        let resp = loop {
            let log = ApiCall::start("auth0", "POST", &url, attempt + 1);
            let sent = self.http.post(&url).json(&body).send().await;
            log_response(log, &sent);
            match sent {
                Ok(r) if r.status().is_server_error() && attempt < self.config.max_retries => {}
                Ok(r)
                    if r.status() == StatusCode::TOO_MANY_REQUESTS
                        && attempt < self.config.max_rate_limited_retries =>
                {
                    let wait = retry_after(r.headers()).unwrap_or(self.backoff(attempt));
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                Ok(r) => break r,
                Err(e) if attempt < self.config.max_retries && transient(&e) => {}
                Err(e) => return Err(Auth0Error::Token(self.clean(&error_text(&e)))),
            }
            tokio::time::sleep(self.backoff(attempt)).await;
            attempt += 1;
        };
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| Auth0Error::Token(self.clean(&error_text(&e))))?;
        if !status.is_success() {
            let hint = if status == StatusCode::UNAUTHORIZED {
                " (check --client-id and --client-secret)"
            } else if status == StatusCode::FORBIDDEN {
                " (is the Management API authorized for this application?)"
            } else {
                ""
            };
            return Err(Auth0Error::Token(format!(
                "HTTP {}: {}{hint}",
                status.as_u16(),
                self.clean(&text)
            )));
        }
        let v: Value = serde_json::from_str(&text).map_err(|_| Auth0Error::NoToken)?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or(Auth0Error::NoToken)?
            .to_string();
        let ttl = v
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(86_400);
        // Renew five minutes early (half-way for short-lived tokens).
        let lead = if ttl > 600 { ttl - 300 } else { ttl / 2 };
        *slot = Some(CachedToken {
            value: token.clone(),
            renew_at: Instant::now() + Duration::from_secs(lead),
        });
        self.tokens.fetch_add(1, Ordering::Relaxed);
        Ok(token)
    }

    fn backoff(&self, retry: u32) -> Duration {
        let base = self
            .config
            .initial_backoff
            .saturating_mul(1u32 << retry.min(16))
            .min(self.config.max_backoff);
        // Full jitter between half and the whole step.
        let ms = base.as_millis() as u64;
        Duration::from_millis(ms / 2 + fastrand::u64(0..=ms / 2))
    }

    /// Obeys the rate-limit headers of any answer: an exhausted budget
    /// pauses every caller until the reset time.
    fn observe_limits(&self, headers: &HeaderMap) {
        let num = |k: &str| {
            headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if num("x-ratelimit-remaining") == Some(0) {
            if let Some(wait) = num("x-ratelimit-reset").map(until_epoch) {
                self.limiter.pause_for(wait.min(Duration::from_secs(60)));
            }
        }
    }

    /// Sends one API request with pacing, bounded concurrency and retries;
    /// returns the parsed JSON body of a 2xx answer (`Value::Null` when empty).
    pub async fn request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Value, Auth0Error> {
        let url = self.config.tenant.url(path_and_query);
        let route = path_only(path_and_query);
        let mut retries = 0u32;
        let mut limited = 0u32;
        let mut renewed = false;
        let mut attempt = 0u32;
        loop {
            let token = self.access_token(false).await?;
            attempt += 1;
            let sent = {
                let _permit =
                    self.in_flight
                        .acquire()
                        .await
                        .map_err(|_| Auth0Error::Transport {
                            method: method.to_string(),
                            path: route.clone(),
                            message: "client closed".into(),
                        })?;
                self.limiter.acquire().await;
                self.requests.fetch_add(1, Ordering::Relaxed);
                let mut req = self
                    .http
                    .request(method.clone(), &url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json");
                if let Some(b) = body {
                    req = req.json(b);
                }
                let log = ApiCall::start("auth0", method.as_str(), &route, attempt);
                let sent = req.send().await;
                log_response(log, &sent);
                match sent {
                    Ok(resp) => {
                        self.observe_limits(resp.headers());
                        let status = resp.status();
                        let wait = retry_after(resp.headers()).or_else(|| {
                            resp.headers()
                                .get("x-ratelimit-reset")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.trim().parse::<u64>().ok())
                                .map(until_epoch)
                        });
                        match resp.text().await {
                            Ok(text) => Ok((status, wait, text)),
                            Err(e) => Err(error_text(&e)),
                        }
                    }
                    Err(e) if transient(&e) => Err(error_text(&e)),
                    Err(e) => {
                        return Err(Auth0Error::Transport {
                            method: method.to_string(),
                            path: route,
                            message: self.clean(&error_text(&e)),
                        })
                    }
                }
            };
            match sent {
                Ok((status, _, text)) if status.is_success() => {
                    if text.trim().is_empty() {
                        return Ok(Value::Null);
                    }
                    return serde_json::from_str(&text).map_err(|e| Auth0Error::Shape {
                        path: route,
                        message: format!("body is not JSON ({e})"),
                    });
                }
                Ok((StatusCode::TOO_MANY_REQUESTS, wait, text)) => {
                    self.rate_limited.fetch_add(1, Ordering::Relaxed);
                    if limited >= self.config.max_rate_limited_retries {
                        return Err(self.api_error(&method, route, 429, &text));
                    }
                    let wait = wait
                        .filter(|w| !w.is_zero())
                        .unwrap_or_else(|| self.backoff(limited))
                        .min(Duration::from_secs(120));
                    self.limiter.pause_for(wait);
                    limited += 1;
                }
                Ok((StatusCode::UNAUTHORIZED, _, text)) => {
                    if renewed {
                        return Err(self.api_error(&method, route, 401, &text));
                    }
                    self.access_token(true).await?;
                    renewed = true;
                }
                Ok((status, _, text)) if status.is_server_error() => {
                    if retries >= self.config.max_retries {
                        return Err(self.api_error(&method, route, status.as_u16(), &text));
                    }
                    self.retried.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(self.backoff(retries)).await;
                    retries += 1;
                }
                Ok((status, _, text)) => {
                    return Err(self.api_error(&method, route, status.as_u16(), &text))
                }
                Err(message) => {
                    if retries >= self.config.max_retries {
                        return Err(Auth0Error::Transport {
                            method: method.to_string(),
                            path: route,
                            message: self.clean(&message),
                        });
                    }
                    self.retried.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(self.backoff(retries)).await;
                    retries += 1;
                }
            }
        }
    }

    fn api_error(&self, method: &Method, path: String, status: u16, body: &str) -> Auth0Error {
        // Prefer Auth0's `message` field; keep the error code when present.
        let text = match serde_json::from_str::<Value>(body) {
            Ok(v) => {
                let msg = v
                    .get("message")
                    .or_else(|| v.get("error_description"))
                    .and_then(Value::as_str);
                let code = v
                    .get("errorCode")
                    .or_else(|| v.get("error"))
                    .and_then(Value::as_str);
                match (msg, code) {
                    (Some(m), Some(c)) => format!("{m} [{c}]"),
                    (Some(m), None) => m.to_string(),
                    _ => body.to_string(),
                }
            }
            Err(_) => body.to_string(),
        };
        Auth0Error::Api {
            status,
            method: method.to_string(),
            path,
            body: self.clean(&text),
        }
    }

    pub async fn get(&self, path_and_query: &str) -> Result<Value, Auth0Error> {
        self.request(Method::GET, path_and_query, None).await
    }

    /// One page of a checkpoint listing (`from` + `take`); `key` names the
    /// array in the answer.
    pub async fn checkpoint_page(
        &self,
        path: &str,
        key: &str,
        from: Option<&str>,
        take: u32,
        extra: &str,
    ) -> Result<Page, Auth0Error> {
        let mut q = format!("{path}?take={}", take.clamp(1, MAX_PAGE_SIZE));
        if let Some(f) = from {
            q.push_str("&from=");
            q.push_str(&encode_segment(f));
        }
        q.push_str(extra);
        let v = self.get(&q).await?;
        let (items, next) = match v {
            Value::Array(items) => (items, None),
            Value::Object(mut m) => {
                let items = match m.remove(key) {
                    Some(Value::Array(a)) => a,
                    Some(_) => {
                        return Err(Auth0Error::Shape {
                            path: path.into(),
                            message: format!("'{key}' is not an array"),
                        })
                    }
                    None => Vec::new(),
                };
                let next = m
                    .remove("next")
                    .and_then(|n| n.as_str().map(str::to_string))
                    .filter(|n| !n.is_empty());
                (items, next)
            }
            _ => {
                return Err(Auth0Error::Shape {
                    path: path.into(),
                    message: "expected an object or an array".into(),
                })
            }
        };
        // A page without items ends the listing whatever `next` says.
        let next = if items.is_empty() { None } else { next };
        Ok(Page { items, next })
    }

    /// One page of an offset listing (`page` + `per_page`).
    pub async fn offset_page(
        &self,
        path: &str,
        key: &str,
        page: u64,
        per_page: u32,
        extra: &str,
    ) -> Result<Vec<Value>, Auth0Error> {
        let q = format!(
            "{path}?page={page}&per_page={}{extra}",
            per_page.clamp(1, MAX_PAGE_SIZE)
        );
        match self.get(&q).await? {
            Value::Array(items) => Ok(items),
            Value::Object(mut m) => match m.remove(key) {
                Some(Value::Array(a)) => Ok(a),
                None => Ok(Vec::new()),
                Some(_) => Err(Auth0Error::Shape {
                    path: path.into(),
                    message: format!("'{key}' is not an array"),
                }),
            },
            Value::Null => Ok(Vec::new()),
            _ => Err(Auth0Error::Shape {
                path: path.into(),
                message: "expected an object or an array".into(),
            }),
        }
    }

    /// Every item of an offset listing (for uncapped endpoints: roles,
    /// connections, enabled connections, member roles).
    pub async fn offset_all(
        &self,
        path: &str,
        key: &str,
        per_page: u32,
        extra: &str,
    ) -> Result<Vec<Value>, Auth0Error> {
        let per_page = per_page.clamp(1, MAX_PAGE_SIZE);
        let mut all = Vec::new();
        for page in 0.. {
            let items = self.offset_page(path, key, page, per_page, extra).await?;
            let n = items.len();
            all.extend(items);
            if n < per_page as usize {
                break;
            }
        }
        Ok(all)
    }

    /// `GET /api/v2/organizations?page=0&per_page=1` — the connection test.
    pub async fn connection_test(&self) -> Result<(), Auth0Error> {
        self.offset_page("/api/v2/organizations", "organizations", 0, 1, "")
            .await
            .map(|_| ())
    }

    /// One page of organizations (checkpoint pagination).
    pub async fn organizations(&self, from: Option<&str>, take: u32) -> Result<Page, Auth0Error> {
        self.checkpoint_page("/api/v2/organizations", "organizations", from, take, "")
            .await
    }

    /// One page of an organization's members, with their roles inline when
    /// `with_roles` (needs `read:organization_member_roles`).
    pub async fn organization_members(
        &self,
        org_id: &str,
        from: Option<&str>,
        take: u32,
        with_roles: bool,
    ) -> Result<Page, Auth0Error> {
        let path = format!("/api/v2/organizations/{}/members", encode_segment(org_id));
        let extra = if with_roles {
            "&fields=user_id,email,name,roles"
        } else {
            ""
        };
        self.checkpoint_page(&path, "members", from, take, extra)
            .await
    }

    /// Every role of a member in an organization (all pages).
    pub async fn member_roles(
        &self,
        org_id: &str,
        user_id: &str,
    ) -> Result<Vec<Value>, Auth0Error> {
        let path = format!(
            "/api/v2/organizations/{}/members/{}/roles",
            encode_segment(org_id),
            encode_segment(user_id)
        );
        self.offset_all(&path, "roles", MAX_PAGE_SIZE, "").await
    }

    /// A user's profile; `None` when Auth0 answers 404.
    pub async fn user(&self, user_id: &str) -> Result<Option<Value>, Auth0Error> {
        match self
            .get(&format!("/api/v2/users/{}", encode_segment(user_id)))
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The number of users of the tenant (`include_totals`).
    pub async fn user_total(&self) -> Result<u64, Auth0Error> {
        let v = self
            .get("/api/v2/users?page=0&per_page=1&include_totals=true&fields=user_id")
            .await?;
        v.get("total")
            .and_then(Value::as_u64)
            .ok_or_else(|| Auth0Error::Shape {
                path: "/api/v2/users".into(),
                message: "no 'total' in an include_totals answer".into(),
            })
    }

    /// One page of users (offset; Auth0 caps this listing at 1,000 users).
    pub async fn users_page(&self, page: u64, per_page: u32) -> Result<Vec<Value>, Auth0Error> {
        self.offset_page(
            "/api/v2/users",
            "users",
            page,
            per_page,
            "&include_totals=false",
        )
        .await
    }

    /// Every role of the tenant's catalog.
    pub async fn roles(&self, per_page: u32) -> Result<Vec<Value>, Auth0Error> {
        self.offset_all("/api/v2/roles", "roles", per_page, "")
            .await
    }

    /// Every connection of the tenant.
    pub async fn connections(&self, per_page: u32) -> Result<Vec<Value>, Auth0Error> {
        self.offset_all(
            "/api/v2/connections",
            "connections",
            per_page,
            "&include_totals=false",
        )
        .await
    }

    /// One connection with its options.
    pub async fn connection(&self, id: &str) -> Result<Value, Auth0Error> {
        self.get(&format!("/api/v2/connections/{}", encode_segment(id)))
            .await
    }

    /// The connections enabled for an organization.
    pub async fn organization_connections(
        &self,
        org_id: &str,
        per_page: u32,
    ) -> Result<Vec<Value>, Auth0Error> {
        let path = format!(
            "/api/v2/organizations/{}/enabled_connections",
            encode_segment(org_id)
        );
        self.offset_all(&path, "enabled_connections", per_page, "")
            .await
    }

    /// `POST /api/v2/jobs/users-exports`.
    pub async fn create_users_export(&self, body: &Value) -> Result<Value, Auth0Error> {
        self.request(Method::POST, "/api/v2/jobs/users-exports", Some(body))
            .await
    }

    /// `GET /api/v2/jobs/{id}`.
    pub async fn job(&self, id: &str) -> Result<Value, Auth0Error> {
        self.get(&format!("/api/v2/jobs/{}", encode_segment(id)))
            .await
    }

    /// Starts downloading a job file (a signed URL: no token, no API
    /// budget); 5xx, 429 and transport failures are retried.
    pub async fn download(&self, location: &str) -> Result<reqwest::Response, Auth0Error> {
        let shown = path_only(location);
        let mut retries = 0u32;
        loop {
            let log = ApiCall::start("auth0", "GET", &shown, retries + 1);
            let sent = self
                .http
                .get(location)
                .timeout(Duration::from_secs(3600))
                .send()
                .await;
            log_response(log, &sent);
            let outcome = match sent {
                Ok(r) if r.status().is_success() => return Ok(r),
                Ok(r) => {
                    let status = r.status();
                    let wait = retry_after(r.headers());
                    if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                        return Err(Auth0Error::Api {
                            status: status.as_u16(),
                            method: "GET".into(),
                            path: shown,
                            body: "Failed to download Auth0 job output".into(),
                        });
                    }
                    (format!("HTTP {}", status.as_u16()), wait)
                }
                Err(e) if transient(&e) => (error_text(&e), None),
                Err(e) => {
                    return Err(Auth0Error::Transport {
                        method: "GET".into(),
                        path: shown,
                        message: error_text(&e),
                    })
                }
            };
            if retries >= self.config.max_retries {
                return Err(Auth0Error::Transport {
                    method: "GET".into(),
                    path: shown,
                    message: format!("Failed to download Auth0 job output: {}", outcome.0),
                });
            }
            tokio::time::sleep(outcome.1.unwrap_or_else(|| self.backoff(retries))).await;
            retries += 1;
        }
    }
}

/// Logs one attempt when its response head (or its failure) arrives.
fn log_response(log: ApiCall<'_>, sent: &Result<reqwest::Response, reqwest::Error>) {
    match sent {
        Ok(r) => log.finish(
            Outcome::Status(r.status().as_u16()),
            telemetry::request_id(r.headers()).as_deref(),
        ),
        Err(e) => log.finish(Outcome::Transport(telemetry::transport_kind(e)), None),
    }
}

fn transient(e: &reqwest::Error) -> bool {
    e.is_timeout() || e.is_connect() || e.is_request() || e.is_body() || e.is_decode()
}

/// Time from now until an epoch-seconds instant (zero when past).
fn until_epoch(epoch_secs: u64) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_secs(epoch_secs).saturating_sub(now)
}

/// The path of a request, without the query (signed download URLs carry
/// credentials in their query).
fn path_only(path_and_query: &str) -> String {
    let no_query = path_and_query.split('?').next().unwrap_or_default();
    match Url::parse(no_query) {
        Ok(u) => u.path().to_string(),
        Err(_) => no_query.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_forms() {
        let t = TenantAddress::parse("tenant.us.auth0.com").unwrap();
        assert_eq!(t.base.as_str(), "https://tenant.us.auth0.com/");
        assert_eq!(t.host, "tenant.us.auth0.com");
        assert_eq!(t.audience(), "https://tenant.us.auth0.com/api/v2/");
        let t = TenantAddress::parse("http://127.0.0.1:8082").unwrap();
        assert_eq!(t.host, "127.0.0.1:8082");
        assert_eq!(t.audience(), "http://127.0.0.1:8082/api/v2/");
        assert!(TenantAddress::parse("http://[::1]:9/").is_ok());
        assert!(TenantAddress::parse("https://t.auth0.com/").is_ok());
        for bad in [
            "",
            "http://tenant.auth0.com",
            "ftp://x",
            "https://t.auth0.com/api/v2",
            "https://u:p@t.auth0.com",
            "t.auth0.com?x=1",
        ] {
            let e = TenantAddress::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("--domain:"), "{bad}: {e}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn path_only_drops_queries_and_hosts() {
        assert_eq!(path_only("/api/v2/users?page=1"), "/api/v2/users");
        assert_eq!(
            path_only("https://s3.example/bucket/job.json.gz?X-Amz-Signature=abc"),
            "/bucket/job.json.gz"
        );
    }
}
