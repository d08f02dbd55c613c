//! Stateful fake of the Auth0 Management API v2 (and `/oauth/token`) for
//! the exporter's tests and the `fake-auth0` example.
//!
//! - Client-credentials tokens: random, remembered with an expiry, checked
//!   on every API call (401 `Invalid token`); [`FakeAuth0::expire_tokens`]
//!   forces a renewal.
//! - Organizations, members, users, roles, member roles, connections and
//!   org-enabled connections with Auth0's offset pagination (`page`,
//!   `per_page` ≤ 100, `include_totals`, the 1,000-record cap on users,
//!   organizations and members) and checkpoint pagination (`from`/`take`,
//!   opaque `next` tokens) on organizations and members.
//! - Users-export jobs advancing one state per poll, completed with a
//!   `location` on the fake whose gzip NDJSON is generated while streamed.
//! - A synthetic tenant computed from the index (flat memory at 10M users),
//!   combined with explicitly seeded records: synthetic first in listings.
//! - Scope modes, a per-tenant requests-per-second limit with the
//!   `x-ratelimit-*` headers, per-route fault injection (status, 429, delay,
//!   dropped connection), request/status counting and max in flight.
//! - Every answer carries a request id: `X-Auth0-RequestId` on the API and
//!   token endpoint, `x-amz-request-id` on job downloads (as S3 does).
//!
//! The server is a hand-written accept loop on hyper's HTTP/1 connection
//! (as in `workos.rs`) so a fault can close a connection without any
//! response.

mod api;
mod gzip;
mod jobs;
mod tenant;

#[allow(unused_imports)]
pub use api::{checkpoint_token, MAX_PAGE_SIZE, OFFSET_RECORD_CAP};
#[allow(unused_imports)]
pub use jobs::JUNK_LINE;
#[allow(unused_imports)]
pub use tenant::{
    SeedError, SyntheticTenant, DB_CONNECTION_NAME, DEFAULT_EXPORT_FIELDS, SYNTHETIC_ADMIN_ROLE_ID,
    SYNTHETIC_DB_CONNECTION_ID, SYNTHETIC_MEMBER_ROLE_ID,
};

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::RecordedRequest;
use api::{error_body, Query};
use jobs::{ExportSpec, FetchExplicit, Job, JobStatus};
use tenant::Tenant;

/// Most recent requests kept by [`FakeAuth0::requests`].
pub const REQUEST_LOG_CAP: usize = 10_000;
/// Largest request body read.
const BODY_LIMIT: usize = 1024 * 1024;

/// The endpoints, for fault injection and counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /oauth/token`
    Token,
    /// `GET /api/v2/organizations`
    Organizations,
    /// `GET /api/v2/organizations/{org}/members`
    OrgMembers,
    /// `GET /api/v2/organizations/{org}/members/{user}/roles`
    MemberRoles,
    /// `GET /api/v2/users`
    Users,
    /// `GET /api/v2/users/{id}`
    User,
    /// `GET /api/v2/roles`
    Roles,
    /// `GET /api/v2/connections`
    Connections,
    /// `GET /api/v2/connections/{id}`
    Connection,
    /// `GET /api/v2/organizations/{org}/enabled_connections`
    OrgEnabledConnections,
    /// `POST /api/v2/jobs/users-exports`
    JobCreate,
    /// `GET /api/v2/jobs/{id}`
    Job,
    /// `GET /__downloads/{file}` (a job's `location`, no auth)
    Download,
}

/// An injected failure, served before anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// This status with an Auth0 error body (OAuth body on the token route).
    Status(u16),
    /// 429 with `Retry-After` and the rate-limit headers.
    RateLimited { retry_after_secs: u64 },
    /// Sleep, then answer normally.
    Delay(Duration),
    /// Close the connection without any response.
    Drop,
}

/// A fault of one export job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobFault {
    /// The job ends `failed` with this `error`.
    Fail(String),
    /// The download stops after this many user lines, mid-gzip (no final
    /// block, no trailer); the HTTP body itself ends cleanly.
    TruncateAfter(u64),
    /// A non-JSON line ([`JUNK_LINE`]) after every N user lines.
    JunkEvery(u64),
}

/// Which connection scopes the issued tokens carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionsScope {
    /// `read:connections` and `read:connections_options`.
    #[default]
    Full,
    /// Listing connections → 403 `insufficient_scope`.
    ConnectionsListingForbidden,
    /// Listing works without `options`; `GET /connections/{id}` → 403.
    ConnectionOptionsForbidden,
}

/// How a [`FakeAuth0`] behaves.
#[derive(Debug, Clone)]
pub struct FakeAuth0Config {
    pub client_id: String,
    pub client_secret: String,
    pub token_ttl_secs: u64,
    /// Requests per second per tenant (1-second windows aligned to epoch
    /// seconds); `None` = unlimited and no `x-ratelimit-*` headers.
    pub rate_limit_per_sec: Option<u32>,
    /// Polls of `GET /jobs/{id}` until a job is completed (≥ 1).
    pub job_polls_to_complete: u32,
    /// Tokens carry `read:organization_member_roles`.
    pub member_roles_scope: bool,
    pub connections_scope: ConnectionsScope,
    pub synthetic: Option<SyntheticTenant>,
    /// Faults every new export job gets.
    pub job_faults: Vec<JobFault>,
    /// gzip level of job downloads: 1–9 deflate, 0 (default) stored blocks,
    /// the fastest to produce (≈50 MB/s even in a debug build).
    pub download_gzip_level: u32,
    /// Keeps job downloads in this directory and serves a later job with
    /// the same fields from the file (bench runs; see `download_body`).
    pub job_file_cache: Option<std::path::PathBuf>,
}

impl Default for FakeAuth0Config {
    fn default() -> Self {
        Self {
            client_id: "fake-auth0-client".into(),
            client_secret: "fake-auth0-secret".into(),
            token_ttl_secs: 86_400,
            rate_limit_per_sec: None,
            job_polls_to_complete: 2,
            member_roles_scope: true,
            connections_scope: ConnectionsScope::Full,
            synthetic: None,
            job_faults: Vec::new(),
            download_gzip_level: 0,
            job_file_cache: None,
        }
    }
}

/// A running fake Auth0 tenant.
#[derive(Clone)]
pub struct FakeAuth0 {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
}

impl FakeAuth0 {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start(config: FakeAuth0Config) -> Self {
        Self::start_on(config, ([127, 0, 0, 1], 0).into()).await
    }

    /// A fake holding only a synthetic tenant of `users` users in `orgs`
    /// organizations.
    pub async fn synthetic(users: u64, orgs: u64) -> Self {
        Self::start(FakeAuth0Config {
            synthetic: Some(SyntheticTenant { users, orgs }),
            ..FakeAuth0Config::default()
        })
        .await
    }

    /// Binds `addr` and serves on the current tokio runtime.
    pub async fn start_on(config: FakeAuth0Config, addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind fake Auth0");
        let mut addr = listener.local_addr().expect("fake Auth0 local addr");
        if addr.ip().is_unspecified() {
            addr.set_ip([127, 0, 0, 1].into());
        }
        let tenant = Tenant::new(config.synthetic);
        let state = Arc::new(Mutex::new(State {
            config,
            tenant,
            base_url: format!("http://{addr}"),
            tokens: HashMap::new(),
            faults: HashMap::new(),
            jobs: HashMap::new(),
            queued_job_faults: VecDeque::new(),
            counters: Counters::default(),
            window: Window::default(),
        }));
        tokio::spawn(accept_loop(listener, state.clone()));
        Self { state, addr }
    }

    /// `http://127.0.0.1:PORT` (the tenant "domain"; the API is under
    /// `/api/v2/`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn client_id(&self) -> String {
        self.lock().config.client_id.clone()
    }

    pub fn client_secret(&self) -> String {
        self.lock().config.client_secret.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    // --- seeding ---------------------------------------------------------

    /// Adds (or replaces, by `id`) an organization. Panics without `id`.
    pub fn add_org(&self, org: Value) {
        seeded(self.lock().tenant.add_org(org));
    }

    /// Adds (or replaces, by `user_id`) a full Auth0 user object.
    pub fn add_user(&self, user: Value) {
        seeded(self.lock().tenant.add_user(user));
    }

    /// Makes `user_id` a member of `org_id` (the user need not exist).
    pub fn add_member(&self, org_id: &str, user_id: &str) {
        self.lock().tenant.add_member(org_id, user_id);
    }

    /// Adds a catalog role `{id, name, description}`.
    pub fn add_role(&self, role: Value) {
        seeded(self.lock().tenant.add_role(role));
    }

    /// Assigns a role (catalog or not) to a member of an org.
    pub fn assign_member_role(&self, org_id: &str, user_id: &str, role_id: &str) {
        self.lock()
            .tenant
            .assign_member_role(org_id, user_id, role_id);
    }

    /// Adds a connection object (`id`, `name`, `strategy`, `options`, …).
    pub fn add_connection(&self, connection: Value) {
        seeded(self.lock().tenant.add_connection(connection));
    }

    /// Enables a connection for an org (binding order is kept).
    pub fn enable_connection(&self, org_id: &str, connection_id: &str) {
        self.lock().tenant.enable_connection(org_id, connection_id);
    }

    /// Loads `{"organizations", "users", "members":[{org_id,user_id}],
    /// "roles", "member_roles":[{org_id,user_id,role_id}], "connections",
    /// "enabled_connections":[{org_id,connection_id}]}` (all optional).
    pub fn load_fixture(&self, fixture: &Value) -> Result<(), SeedError> {
        self.lock().tenant.load_fixture(fixture)
    }

    // --- configuration after start ---------------------------------------

    pub fn set_rate_limit(&self, per_sec: Option<u32>) {
        self.lock().config.rate_limit_per_sec = per_sec;
    }

    pub fn set_member_roles_scope(&self, granted: bool) {
        self.lock().config.member_roles_scope = granted;
    }

    pub fn set_connections_scope(&self, scope: ConnectionsScope) {
        self.lock().config.connections_scope = scope;
    }

    pub fn set_job_polls_to_complete(&self, polls: u32) {
        self.lock().config.job_polls_to_complete = polls;
    }

    pub fn set_token_ttl_secs(&self, secs: u64) {
        self.lock().config.token_ttl_secs = secs;
    }

    /// Invalidates every issued token (the next API call gets 401).
    pub fn expire_tokens(&self) {
        self.lock().tokens.clear();
    }

    // --- faults ----------------------------------------------------------

    /// Queues a fault for the next request on `route` (in order, one each).
    pub fn push_fault(&self, route: Route, fault: Fault) {
        self.lock()
            .faults
            .entry(route)
            .or_default()
            .push_back(fault);
    }

    /// Faults for the next export job created (one push per job).
    pub fn push_job_faults(&self, faults: Vec<JobFault>) {
        self.lock().queued_job_faults.push_back(faults);
    }

    /// Adds a fault to an existing job; `false` if there is no such job.
    pub fn add_job_fault(&self, job_id: &str, fault: JobFault) -> bool {
        match self.lock().jobs.get_mut(job_id) {
            Some(job) => {
                job.faults.push(fault);
                true
            }
            None => false,
        }
    }

    // --- observation -----------------------------------------------------

    /// The most recent requests (up to [`REQUEST_LOG_CAP`]), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().counters.log.iter().cloned().collect()
    }

    /// Requests received on `route` (including faulted ones).
    pub fn count(&self, route: Route) -> usize {
        self.lock()
            .counters
            .by_route
            .get(&route)
            .copied()
            .unwrap_or(0)
    }

    /// Responses sent with this status (dropped connections have none).
    pub fn count_status(&self, status: u16) -> usize {
        self.lock()
            .counters
            .by_status
            .get(&status)
            .copied()
            .unwrap_or(0)
    }

    /// Most requests handled at the same time (downloads not counted).
    pub fn max_in_flight(&self) -> usize {
        self.lock().counters.max_in_flight
    }

    /// Export jobs created so far.
    pub fn job_count(&self) -> usize {
        self.lock().jobs.len()
    }

    pub fn reset_counters(&self) {
        let mut s = self.lock();
        let in_flight = s.counters.in_flight;
        let responses = s.counters.responses;
        s.counters = Counters {
            in_flight,
            max_in_flight: in_flight,
            responses,
            ..Counters::default()
        };
    }
}

/// Seeding misuse in a test is a bug in the test.
fn seeded(result: Result<(), SeedError>) {
    if let Err(e) = result {
        panic!("fake Auth0 seeding: {e}");
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn epoch_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Counters {
    log: VecDeque<RecordedRequest>,
    by_route: HashMap<Route, usize>,
    by_status: HashMap<u16, usize>,
    in_flight: usize,
    max_in_flight: usize,
    /// Responses given so far (their request ids count up).
    responses: u64,
}

/// A fixed 1-second window aligned to epoch seconds.
#[derive(Default)]
struct Window {
    second: u64,
    used: u32,
}

/// `x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset`.
#[derive(Debug, Clone, Copy)]
struct RateHeaders {
    limit: u32,
    remaining: u32,
    reset: u64,
}

impl Window {
    /// Takes one request from the budget, or says when it refills.
    fn admit(&mut self, limit: u32, now: u64) -> Result<RateHeaders, RateHeaders> {
        if self.second != now {
            self.second = now;
            self.used = 0;
        }
        let headers = |used: u32| RateHeaders {
            limit,
            remaining: limit.saturating_sub(used),
            reset: now + 1,
        };
        if self.used >= limit {
            return Err(headers(self.used));
        }
        self.used += 1;
        Ok(headers(self.used))
    }

    fn peek(&self, limit: u32, now: u64) -> RateHeaders {
        let used = if self.second == now { self.used } else { 0 };
        RateHeaders {
            limit,
            remaining: limit.saturating_sub(used),
            reset: now + 1,
        }
    }
}

struct State {
    config: FakeAuth0Config,
    tenant: Tenant,
    base_url: String,
    /// token → expiry.
    tokens: HashMap<String, Instant>,
    faults: HashMap<Route, VecDeque<Fault>>,
    jobs: HashMap<String, Job>,
    queued_job_faults: VecDeque<Vec<JobFault>>,
    counters: Counters,
    window: Window,
}

fn json_response(
    status: u16,
    body: &Value,
    rate: Option<RateHeaders>,
    retry_after: Option<u64>,
) -> Response<Body> {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if let Some(rate) = rate {
        h.insert("x-ratelimit-limit", HeaderValue::from(rate.limit));
        h.insert("x-ratelimit-remaining", HeaderValue::from(rate.remaining));
        h.insert("x-ratelimit-reset", HeaderValue::from(rate.reset));
    }
    if let Some(secs) = retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

fn too_many_requests(rate: RateHeaders, retry_after: u64) -> Response<Body> {
    json_response(
        429,
        &error_body(
            429,
            "Global limit has been reached",
            Some("too_many_requests"),
        ),
        Some(rate),
        Some(retry_after.max(1)),
    )
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
        None,
        None,
    )
}

impl State {
    fn rate_headers(&self) -> Option<RateHeaders> {
        let limit = self.config.rate_limit_per_sec?;
        Some(self.window.peek(limit, epoch_secs()))
    }

    fn scope(&self) -> String {
        let mut scopes = vec![
            "read:users",
            "read:organizations",
            "read:organization_members",
            "read:organization_connections",
            "read:roles",
            "create:users_exports",
        ];
        if self.config.member_roles_scope {
            scopes.push("read:organization_member_roles");
        }
        match self.config.connections_scope {
            ConnectionsScope::Full => {
                scopes.extend(["read:connections", "read:connections_options"])
            }
            ConnectionsScope::ConnectionOptionsForbidden => scopes.push("read:connections"),
            ConnectionsScope::ConnectionsListingForbidden => {}
        }
        scopes.join(" ")
    }

    fn fault_status(&self, route: Route, status: u16) -> Response<Body> {
        match route {
            Route::Token => oauth_error(status, "server_error", api::reason(status)),
            Route::Download => json_response(
                status,
                &error_body(status, api::reason(status), None),
                None,
                None,
            ),
            _ => json_response(
                status,
                &error_body(status, api::reason(status), Some("fault_injected")),
                self.rate_headers(),
                None,
            ),
        }
    }

    fn fault_rate_limited(&self, secs: u64) -> Response<Body> {
        let rate = RateHeaders {
            limit: self.config.rate_limit_per_sec.unwrap_or(50),
            remaining: 0,
            reset: epoch_secs() + secs.max(1),
        };
        too_many_requests(rate, secs)
    }

    /// `POST /oauth/token` (client credentials).
    fn token(&mut self, body: &[u8], host: Option<&str>) -> Response<Body> {
        let fields: HashMap<String, String> = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                .collect(),
            _ => match std::str::from_utf8(body) {
                Ok(text) if text.contains('=') => Query::parse(Some(text)).into_map(),
                _ => {
                    return oauth_error(
                        400,
                        "invalid_request",
                        "Missing required parameter: grant_type",
                    )
                }
            },
        };
        let get = |k: &str| fields.get(k).map(String::as_str);
        let Some(grant) = get("grant_type") else {
            return oauth_error(
                400,
                "invalid_request",
                "Missing required parameter: grant_type",
            );
        };
        if get("client_id") != Some(self.config.client_id.as_str())
            || get("client_secret") != Some(self.config.client_secret.as_str())
        {
            return oauth_error(401, "access_denied", "Unauthorized");
        }
        if grant != "client_credentials" {
            return oauth_error(
                403,
                "unauthorized_client",
                &format!("Grant type '{grant}' not allowed for the client."),
            );
        }
        let audience = get("audience").unwrap_or_default();
        let own = self.base_url.trim_start_matches("http://").to_string();
        let accepted = [Some(own.as_str()), host].into_iter().flatten().any(|h| {
            audience == format!("http://{h}/api/v2/") || audience == format!("https://{h}/api/v2/")
        });
        if !accepted {
            return oauth_error(
                403,
                "access_denied",
                &format!("Service not enabled within domain: {audience}"),
            );
        }
        let token = api::random_alnum(48);
        let ttl = self.config.token_ttl_secs;
        let now = Instant::now();
        self.tokens.retain(|_, expiry| *expiry > now);
        self.tokens
            .insert(token.clone(), now + Duration::from_secs(ttl));
        json_response(
            200,
            &json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": ttl,
                "scope": self.scope(),
            }),
            None,
            None,
        )
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|t| self.tokens.get(t))
            .is_some_and(|expiry| *expiry > Instant::now())
    }

    /// A Management API call: rate limit, bearer token, then the endpoint.
    fn api(
        &mut self,
        route: Route,
        params: &[String],
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<Body> {
        let rate = match self.config.rate_limit_per_sec {
            Some(limit) => match self.window.admit(limit, epoch_secs()) {
                Ok(rate) => Some(rate),
                Err(rate) => {
                    let wait = rate.reset.saturating_sub(epoch_secs());
                    return too_many_requests(rate, wait);
                }
            },
            None => None,
        };
        if !self.authorized(headers) {
            return json_response(
                401,
                &json!({"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"}),
                rate,
                None,
            );
        }
        let q = Query::parse(query);
        match api::dispatch(self, route, params, &q, body) {
            Ok((status, v)) => json_response(status, &v, rate, None),
            Err(e) => json_response(e.status, &e.body(), rate, None),
        }
    }
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

/// Returned by the service to make hyper close the connection without
/// writing a response.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("fault injection: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The route of a request and its decoded path parameters.
fn classify(method: &Method, path: &str) -> Option<(Route, Vec<String>)> {
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    let one = |x: &str| vec![x.to_string()];
    let (route, params) = match s.as_slice() {
        ["oauth", "token"] if post => (Route::Token, vec![]),
        ["api", "v2", "organizations"] if get => (Route::Organizations, vec![]),
        ["api", "v2", "organizations", org, "members"] if get => (Route::OrgMembers, one(org)),
        ["api", "v2", "organizations", org, "members", user, "roles"] if get => (
            Route::MemberRoles,
            vec![(*org).to_string(), (*user).to_string()],
        ),
        ["api", "v2", "organizations", org, "enabled_connections"] if get => {
            (Route::OrgEnabledConnections, one(org))
        }
        ["api", "v2", "users"] if get => (Route::Users, vec![]),
        ["api", "v2", "users", id] if get => (Route::User, one(id)),
        ["api", "v2", "roles"] if get => (Route::Roles, vec![]),
        ["api", "v2", "connections"] if get => (Route::Connections, vec![]),
        ["api", "v2", "connections", id] if get => (Route::Connection, one(id)),
        ["api", "v2", "jobs", "users-exports"] if post => (Route::JobCreate, vec![]),
        ["api", "v2", "jobs", id] if get => (Route::Job, one(id)),
        ["__downloads", file] if get => (Route::Download, one(file)),
        _ => return None,
    };
    Some((route, params))
}

async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(Body::new(body), BODY_LIMIT)
        .await
        .map_err(|_| DropConnection)?;
    let classified = classify(&parts.method, parts.uri.path());
    let route = classified.as_ref().map(|(r, _)| *r);
    let tracked = route != Some(Route::Download);
    let fault = {
        let mut s = lock(&state);
        let c = &mut s.counters;
        if c.log.len() >= REQUEST_LOG_CAP {
            c.log.pop_front();
        }
        c.log.push_back(RecordedRequest::capture(
            &parts.method,
            &parts.headers,
            &parts.uri,
        ));
        if let Some(r) = route {
            *c.by_route.entry(r).or_default() += 1;
        }
        if tracked {
            c.in_flight += 1;
            c.max_in_flight = c.max_in_flight.max(c.in_flight);
        }
        route.and_then(|r| s.faults.get_mut(&r).and_then(VecDeque::pop_front))
    };
    let mut result = respond(&state, classified, fault, &parts, &bytes).await;
    let mut s = lock(&state);
    if tracked {
        s.counters.in_flight = s.counters.in_flight.saturating_sub(1);
    }
    if let Ok(response) = &mut result {
        *s.counters
            .by_status
            .entry(response.status().as_u16())
            .or_default() += 1;
        // Auth0 tags every answer with `X-Auth0-RequestId` (20 hex
        // digits); signed S3 downloads carry `x-amz-request-id` instead.
        s.counters.responses += 1;
        let (name, id) = if route == Some(Route::Download) {
            ("x-amz-request-id", format!("{:016X}", s.counters.responses))
        } else {
            (
                "x-auth0-requestid",
                format!("{:020x}", s.counters.responses),
            )
        };
        if let Ok(v) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(name, v);
        }
    }
    result
}

async fn respond(
    state: &Arc<Mutex<State>>,
    classified: Option<(Route, Vec<String>)>,
    fault: Option<Fault>,
    parts: &axum::http::request::Parts,
    body: &[u8],
) -> Result<Response<Body>, DropConnection> {
    let Some((route, params)) = classified else {
        return Ok(json_response(
            404,
            &error_body(404, "Not Found", None),
            None,
            None,
        ));
    };
    match fault {
        Some(Fault::Drop) => return Err(DropConnection),
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Status(code)) => return Ok(lock(state).fault_status(route, code)),
        Some(Fault::RateLimited { retry_after_secs }) => {
            return Ok(lock(state).fault_rate_limited(retry_after_secs))
        }
        None => {}
    }
    Ok(match route {
        Route::Token => {
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok());
            lock(state).token(body, host)
        }
        Route::Download => download(state, params.first().map(String::as_str).unwrap_or("")),
        _ => lock(state).api(route, &params, parts.uri.query(), &parts.headers, body),
    })
}

/// `GET /__downloads/{job}.{format}.gz`: the streamed export (no auth, like
/// a signed S3 URL; S3's XML error when there is no such file).
fn download(state: &Arc<Mutex<State>>, file: &str) -> Response<Body> {
    let s = lock(state);
    let id = file.split('.').next().unwrap_or_default();
    let job = s
        .jobs
        .get(id)
        .filter(|j| j.status == JobStatus::Completed && j.file_name() == file);
    let Some(job) = job else {
        let mut r = Response::new(Body::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
        ));
        *r.status_mut() = StatusCode::NOT_FOUND;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        return r;
    };
    let spec = ExportSpec::new(
        job,
        s.tenant.synthetic,
        s.tenant.explicit_user_count(),
        s.config.download_gzip_level,
    );
    let cache = s.config.job_file_cache.clone();
    drop(s);
    let shared = state.clone();
    let fetch: FetchExplicit = Arc::new(move |start, n| {
        let s = lock(&shared);
        (start..start.saturating_add(n))
            .map_while(|i| s.tenant.explicit_user(i).cloned())
            .collect()
    });
    let mut r = Response::new(jobs::download_body(spec, fetch, cache.as_deref()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/gzip"),
    );
    r
}
