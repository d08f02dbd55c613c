//! [`WorkOsClient`]: reqwest against the WorkOS REST contract.
//!
//! Every call goes through the same path: take a `--concurrency` permit (so
//! requests in flight never exceed it), wait for a [`RateLimiter`] slot, send,
//! and on a retryable failure (see [`super::retry`]) back off with jitter or,
//! for a `Retry-After`, pause the whole run. Creates carry an
//! `Idempotency-Key` reused across their retries. 404 on a lookup is `None`,
//! not an error.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use crate::telemetry::{request_id, transport_kind, ApiCall, Outcome};

use super::error::{ApiError, TransportKind, WorkOsError};
use super::rate_limiter::RateLimiter;
use super::retry::{Jitter, RetryPolicy};
use super::types::*;
use super::ApiKey;

/// How a client is built.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: reqwest::Url,
    pub api_key: ApiKey,
    /// Requests in flight at most (≥ 1).
    pub concurrency: usize,
    /// Requests per second; `None` = unpaced.
    pub rate_limit: Option<f64>,
    /// Per-attempt timeout (a timeout is retried and, if final, recorded as 408).
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

impl ClientConfig {
    pub fn new(base_url: reqwest::Url, api_key: ApiKey) -> Self {
        Self {
            base_url,
            api_key,
            concurrency: 10,
            rate_limit: Some(50.0),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

/// Counters of one client (shared by its clones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP attempts sent (including retries).
    pub requests: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// 429 responses received.
    pub rate_limited: u64,
    /// Run-wide pauses caused by the server.
    pub pauses: u64,
    /// Most requests ever in flight at once.
    pub max_in_flight: u64,
}

/// A WorkOS API client; cheap to clone (clones share limiter, permits, stats).
#[derive(Debug, Clone)]
pub struct WorkOsClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: String,
    key: ApiKey,
    limiter: RateLimiter,
    permits: Semaphore,
    /// `--concurrency`: the number of permits.
    concurrency: usize,
    retry: RetryPolicy,
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    idempotency_seq: AtomicU64,
    idempotency_prefix: u64,
}

/// One request to send (body serialized once, reused by retries).
struct Call<'a> {
    method: Method,
    path: String,
    query: &'a [(&'a str, &'a str)],
    body: Option<Vec<u8>>,
    idempotent_create: bool,
    /// Do not retry failures that may have been applied (transport errors,
    /// 5xx); 429 is still retried (the request was not processed).
    once: bool,
}

impl WorkOsClient {
    /// Requests this client lets be in flight at once (`--concurrency`).
    pub fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    pub fn new(config: ClientConfig) -> Result<Self, WorkOsError> {
        let concurrency = config.concurrency.max(1);
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(concurrency)
            .tcp_nodelay(true)
            .user_agent(concat!("workos-migrate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WorkOsError::Transport {
                kind: TransportKind::Other,
                message: format!("could not build the HTTP client: {e}"),
            })?;
        let base = config.base_url.as_str().trim_end_matches('/').to_string();
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                key: config.api_key,
                limiter: RateLimiter::new(config.rate_limit),
                permits: Semaphore::new(concurrency),
                concurrency,
                retry: config.retry,
                requests: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                rate_limited: AtomicU64::new(0),
                in_flight: AtomicUsize::new(0),
                max_in_flight: AtomicUsize::new(0),
                idempotency_seq: AtomicU64::new(0),
                idempotency_prefix: Jitter::from_entropy().next_f64().to_bits(),
            }),
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> ClientStats {
        let i = &self.inner;
        ClientStats {
            requests: i.requests.load(Ordering::Relaxed),
            retries: i.retries.load(Ordering::Relaxed),
            rate_limited: i.rate_limited.load(Ordering::Relaxed),
            pauses: i.limiter.pauses(),
            max_in_flight: i.max_in_flight.load(Ordering::Relaxed) as u64,
        }
    }

    /// The shared limiter (for callers that pace non-HTTP work with it).
    pub fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    // ---------------------------------------------------------------- users

    /// `POST /user_management/users`.
    pub async fn create_user(&self, body: &CreateUser) -> Result<User, WorkOsError> {
        self.post("/user_management/users", body).await
    }

    /// First user with this email (`GET /user_management/users?email=`).
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, WorkOsError> {
        let page: ListPage<User> = self
            .get(
                "/user_management/users",
                &[("email", email), ("limit", "10")],
            )
            .await?;
        let wanted = email.to_lowercase();
        Ok(page
            .data
            .into_iter()
            .find(|u| u.email.to_lowercase() == wanted))
    }

    /// `GET /user_management/users/external_id/{external_id}`; 404 → `None`.
    pub async fn get_user_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<User>, WorkOsError> {
        let path = format!(
            "/user_management/users/external_id/{}",
            encode_segment(external_id)
        );
        self.get_opt(&path).await
    }

    /// `GET /user_management/users/{id}`; 404 → `None`.
    pub async fn get_user(&self, id: &str) -> Result<Option<User>, WorkOsError> {
        self.get_opt(&format!("/user_management/users/{}", encode_segment(id)))
            .await
    }

    /// `PUT /user_management/users/{id}` with the fields to change (omitted
    /// fields are left unchanged; `null` clears where the API allows it).
    pub async fn update_user(
        &self,
        id: &str,
        body: &Map<String, Value>,
    ) -> Result<User, WorkOsError> {
        let path = format!("/user_management/users/{}", encode_segment(id));
        self.send_json(Method::PUT, &path, &[], Some(body), false)
            .await
    }

    // -------------------------------------------------------- organizations

    /// `PUT /organizations/{id}` with the fields to change.
    pub async fn update_organization(
        &self,
        id: &str,
        body: &Map<String, Value>,
    ) -> Result<Organization, WorkOsError> {
        let path = format!("/organizations/{}", encode_segment(id));
        self.send_json(Method::PUT, &path, &[], Some(body), false)
            .await
    }

    /// `POST /organizations`.
    pub async fn create_organization(
        &self,
        body: &CreateOrganization,
    ) -> Result<Organization, WorkOsError> {
        self.post("/organizations", body).await
    }

    /// `POST /organizations` without retrying a failure that may have been
    /// applied (transport error, 5xx; a 429 is still retried). For creates
    /// with no unique key to recognise a retried success by (an organization
    /// with a name only): the caller looks the name up before trying again.
    pub async fn create_organization_once(
        &self,
        body: &CreateOrganization,
    ) -> Result<Organization, WorkOsError> {
        let bytes = serde_json::to_vec(body).map_err(|e| WorkOsError::Decode {
            path: "/organizations".to_string(),
            detail: e.to_string(),
        })?;
        let call = Call {
            method: Method::POST,
            path: "/organizations".to_string(),
            query: &[],
            body: Some(bytes),
            idempotent_create: true,
            once: true,
        };
        let out = self.execute(&call).await?;
        serde_json::from_slice(&out).map_err(|e| WorkOsError::Decode {
            path: call.path.clone(),
            detail: e.to_string(),
        })
    }

    /// Organizations matching `search` (`GET /organizations?search=`, every
    /// page). The API matches loosely; callers filter for the exact name.
    pub async fn search_organizations(
        &self,
        search: &str,
    ) -> Result<Vec<Organization>, WorkOsError> {
        self.list_all("/organizations", &[("limit", "100"), ("search", search)])
            .await
    }

    /// `GET /organizations/{id}`; 404 → `None`.
    pub async fn get_organization(&self, id: &str) -> Result<Option<Organization>, WorkOsError> {
        self.get_opt(&format!("/organizations/{}", encode_segment(id)))
            .await
    }

    /// `GET /organizations/external_id/{external_id}` (segment percent-encoded,
    /// unlike the original); 404 → `None`.
    pub async fn get_organization_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<Organization>, WorkOsError> {
        self.get_opt(&format!(
            "/organizations/external_id/{}",
            encode_segment(external_id)
        ))
        .await
    }

    // ---------------------------------------------------------- memberships

    /// `POST /user_management/organization_memberships`.
    pub async fn create_membership(
        &self,
        body: &CreateMembership,
    ) -> Result<Membership, WorkOsError> {
        self.post("/user_management/organization_memberships", body)
            .await
    }

    /// Every membership matching the filters (pages of 100). At least one of
    /// the two ids must be given.
    pub async fn list_memberships(
        &self,
        user_id: Option<&str>,
        organization_id: Option<&str>,
    ) -> Result<Vec<Membership>, WorkOsError> {
        let mut query: Vec<(&str, &str)> = vec![("limit", "100")];
        if let Some(u) = user_id {
            query.push(("user_id", u));
        }
        if let Some(o) = organization_id {
            query.push(("organization_id", o));
        }
        self.list_all("/user_management/organization_memberships", &query)
            .await
    }

    /// The active membership of `user_id` in `organization_id`, if any.
    pub async fn find_membership(
        &self,
        user_id: &str,
        organization_id: &str,
    ) -> Result<Option<Membership>, WorkOsError> {
        Ok(self
            .list_memberships(Some(user_id), Some(organization_id))
            .await?
            .into_iter()
            .find(|m| m.user_id == user_id && m.organization_id == organization_id))
    }

    /// `PUT /user_management/organization_memberships/{id}` with the slugs
    /// (`role_slug` for one, `role_slugs` for several).
    pub async fn update_membership_roles(
        &self,
        membership_id: &str,
        slugs: &[String],
    ) -> Result<Membership, WorkOsError> {
        let body = match slugs {
            [one] => serde_json::json!({ "role_slug": one }),
            many => serde_json::json!({ "role_slugs": many }),
        };
        let path = format!(
            "/user_management/organization_memberships/{}",
            encode_segment(membership_id)
        );
        self.send_json(Method::PUT, &path, &[], Some(&body), false)
            .await
    }

    // ------------------------------------------------------ authorization

    /// `POST /authorization/permissions`.
    pub async fn create_permission(&self, body: &CreatePermission) -> Result<Value, WorkOsError> {
        self.post("/authorization/permissions", body).await
    }

    /// `POST /authorization/roles` (environment role).
    pub async fn create_environment_role(&self, body: &CreateRole) -> Result<Role, WorkOsError> {
        self.post("/authorization/roles", body).await
    }

    /// `GET /authorization/roles` (not paginated).
    pub async fn list_environment_roles(&self) -> Result<Vec<Role>, WorkOsError> {
        let page: ListPage<Role> = self.get("/authorization/roles", &[]).await?;
        Ok(page.data)
    }

    /// `PUT /authorization/roles/{slug}/permissions` (replaces the set).
    pub async fn set_environment_role_permissions(
        &self,
        slug: &str,
        permissions: &[String],
    ) -> Result<Role, WorkOsError> {
        let path = format!("/authorization/roles/{}/permissions", encode_segment(slug));
        let body = serde_json::json!({ "permissions": permissions });
        self.send_json(Method::PUT, &path, &[], Some(&body), false)
            .await
    }

    /// `POST /authorization/organizations/{org}/roles`.
    pub async fn create_organization_role(
        &self,
        organization_id: &str,
        body: &CreateRole,
    ) -> Result<Role, WorkOsError> {
        let path = format!(
            "/authorization/organizations/{}/roles",
            encode_segment(organization_id)
        );
        self.post(&path, body).await
    }

    /// `GET /authorization/organizations/{org}/roles`: environment and
    /// organization roles of that organization (not paginated).
    pub async fn list_organization_roles(
        &self,
        organization_id: &str,
    ) -> Result<Vec<Role>, WorkOsError> {
        let path = format!(
            "/authorization/organizations/{}/roles",
            encode_segment(organization_id)
        );
        let page: ListPage<Role> = self.get(&path, &[]).await?;
        Ok(page.data)
    }

    /// `PUT /authorization/organizations/{org}/roles/{slug}/permissions`.
    pub async fn set_organization_role_permissions(
        &self,
        organization_id: &str,
        slug: &str,
        permissions: &[String],
    ) -> Result<Role, WorkOsError> {
        let path = format!(
            "/authorization/organizations/{}/roles/{}/permissions",
            encode_segment(organization_id),
            encode_segment(slug)
        );
        let body = serde_json::json!({ "permissions": permissions });
        self.send_json(Method::PUT, &path, &[], Some(&body), false)
            .await
    }

    // --------------------------------------------------------------- TOTP

    /// `POST /user_management/users/{id}/auth_factors`. The response's
    /// secret is discarded.
    pub async fn enroll_totp(
        &self,
        user_id: &str,
        body: &EnrollTotp,
    ) -> Result<AuthFactor, WorkOsError> {
        let path = format!(
            "/user_management/users/{}/auth_factors",
            encode_segment(user_id)
        );
        let v: Value = self.post(&path, body).await?;
        let factor = v.get("authentication_factor").cloned().unwrap_or(v);
        serde_json::from_value(factor).map_err(|e| WorkOsError::Decode {
            path,
            detail: e.to_string(),
        })
    }

    /// Every auth factor of a user.
    pub async fn list_auth_factors(&self, user_id: &str) -> Result<Vec<AuthFactor>, WorkOsError> {
        let path = format!(
            "/user_management/users/{}/auth_factors",
            encode_segment(user_id)
        );
        self.list_all(&path, &[("limit", "100")]).await
    }

    // ---------------------------------------------------------------- lists

    /// One page of a list endpoint (`GET path?query`), objects kept as JSON;
    /// used by `snapshot`, which streams pages instead of collecting them.
    pub async fn list_page(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<ListPage<Value>, WorkOsError> {
        self.get(path, query).await
    }

    // ------------------------------------------------------------ plumbing

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, WorkOsError> {
        self.send_json(Method::POST, path, &[], Some(body), true)
            .await
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, WorkOsError> {
        self.send_json::<(), T>(Method::GET, path, query, None, false)
            .await
    }

    async fn get_opt<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, WorkOsError> {
        match self.get(path, &[]).await {
            Ok(v) => Ok(Some(v)),
            Err(WorkOsError::Api(e)) if e.status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, WorkOsError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut q: Vec<(&str, &str)> = query.to_vec();
            if let Some(a) = after.as_deref() {
                q.push(("after", a));
            }
            let page: ListPage<T> = self.get(path, &q).await?;
            out.extend(page.data);
            match page.list_metadata.and_then(|m| m.after) {
                Some(next) if !next.is_empty() && Some(&next) != after.as_ref() => {
                    after = Some(next)
                }
                _ => return Ok(out),
            }
        }
    }

    async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
        idempotent_create: bool,
    ) -> Result<T, WorkOsError> {
        let body = match body {
            Some(b) => Some(serde_json::to_vec(b).map_err(|e| WorkOsError::Decode {
                path: path.to_string(),
                detail: e.to_string(),
            })?),
            None => None,
        };
        let call = Call {
            method,
            path: path.to_string(),
            query,
            body,
            idempotent_create,
            once: false,
        };
        let bytes = self.execute(&call).await?;
        serde_json::from_slice(&bytes).map_err(|e| WorkOsError::Decode {
            path: call.path.clone(),
            detail: e.to_string(),
        })
    }

    /// Sends with permits, pacing and retries; returns the 2xx body.
    async fn execute(&self, call: &Call<'_>) -> Result<Vec<u8>, WorkOsError> {
        let inner = &self.inner;
        let mut jitter = Jitter::from_entropy();
        let idempotency_key = call.idempotent_create.then(|| {
            format!(
                "workos-migrate-{:016x}-{}",
                inner.idempotency_prefix,
                inner.idempotency_seq.fetch_add(1, Ordering::Relaxed)
            )
        });
        let mut attempt: u32 = 0;
        loop {
            let result = {
                let _permit =
                    inner
                        .permits
                        .acquire()
                        .await
                        .map_err(|_| WorkOsError::Transport {
                            kind: TransportKind::Other,
                            message: "client closed".to_string(),
                        })?;
                inner.limiter.acquire().await;
                let now = inner.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
                inner.max_in_flight.fetch_max(now, Ordering::Relaxed);
                inner.requests.fetch_add(1, Ordering::Relaxed);
                if attempt > 0 {
                    inner.retries.fetch_add(1, Ordering::Relaxed);
                }
                let r = self
                    .attempt(call, idempotency_key.as_deref(), attempt + 1)
                    .await;
                inner.in_flight.fetch_sub(1, Ordering::Relaxed);
                r
            };
            let err = match result {
                Ok(bytes) => return Ok(bytes),
                Err(e) => e,
            };
            attempt += 1;
            if !err.is_retryable() || attempt > inner.retry.max_retries {
                return Err(err);
            }
            if call.once && err.status() != Some(429) {
                return Err(err);
            }
            let retry_after = match &err {
                WorkOsError::Api(e) => e.retry_after,
                _ => None,
            };
            let is_429 = err.status() == Some(429);
            if is_429 {
                inner.rate_limited.fetch_add(1, Ordering::Relaxed);
            }
            match retry_after {
                Some(wait) => {
                    // The server said how long: the whole run waits.
                    inner
                        .limiter
                        .pause_for(wait.min(inner.retry.max_retry_after));
                }
                None => {
                    let wait = inner.retry.backoff(attempt, jitter.next_f64());
                    if is_429 {
                        inner.limiter.pause_for(wait);
                    } else {
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
        idempotency_key: Option<&str>,
        attempt: u32,
    ) -> Result<Vec<u8>, WorkOsError> {
        let inner = &self.inner;
        let log = ApiCall::start("workos", call.method.as_str(), &call.path, attempt);
        let url = format!("{}{}", inner.base, call.path);
        let mut req = inner
            .http
            .request(call.method.clone(), &url)
            .header(
                AUTHORIZATION,
                bearer(&inner.key).map_err(|_| WorkOsError::MissingApiKey)?,
            )
            .header(ACCEPT, "application/json");
        if !call.query.is_empty() {
            req = req.query(call.query);
        }
        if let Some(body) = &call.body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                log.finish(Outcome::Transport(transport_kind(&e)), None);
                return Err(transport_error(e));
            }
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        log.finish(Outcome::Status(status), request_id(&headers).as_deref());
        let bytes = resp.bytes().await.map_err(transport_error)?;
        if (200..300).contains(&status) {
            return Ok(bytes.to_vec());
        }
        Err(WorkOsError::Api(ApiError::from_response(
            status,
            &call.path,
            request_id(&headers),
            retry_after(&headers),
            &bytes,
        )))
    }
}

fn bearer(key: &ApiKey) -> Result<HeaderValue, reqwest::header::InvalidHeaderValue> {
    let mut v = HeaderValue::from_str(&format!("Bearer {}", key.expose()))?;
    v.set_sensitive(true);
    Ok(v)
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let delta = when.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(delta.max(0) as u64))
}

/// A transport failure without the URL (which is ours, but noise) and with
/// the underlying cause.
fn transport_error(e: reqwest::Error) -> WorkOsError {
    let kind = if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else if e.is_request() || e.is_body() || e.is_decode() {
        TransportKind::Reset
    } else {
        TransportKind::Other
    };
    if kind == TransportKind::Timeout {
        return WorkOsError::Transport {
            kind,
            message: "Error: Request timeout".to_string(),
        };
    }
    let e = e.without_url();
    let mut message = format!("Unexpected error: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    WorkOsError::Transport { kind, message }
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved).
pub fn encode_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(encode_segment("org-ACME_1.x~"), "org-ACME_1.x~");
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
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
    fn api_key_never_shows_in_debug() {
        let k = ApiKey::new("sk_test_secret");
        assert!(!format!("{k:?}").contains("secret"));
        let c = ClientConfig::new(reqwest::Url::parse("http://127.0.0.1:1").unwrap(), k);
        assert!(!format!("{c:?}").contains("sk_test_secret"));
    }
}
