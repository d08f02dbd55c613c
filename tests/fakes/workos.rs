//! Fake WorkOS REST API (`/work/shared/reference/workos-api.md`): a stateful
//! in-process server for tests and for the `fake-workos` example.
//!
//! - Users, organizations (with domains), organization memberships,
//!   permissions, environment and organization roles, TOTP auth factors, all
//!   kept in memory with hash indexes (lowercased email, external ids,
//!   (user, org) pairs, slugs) so creates and lookups are O(1) or O(log n).
//! - Pagination as documented: `limit` 1..=100 (default 10), `after` /
//!   `before` cursors, `order` asc|desc|normal (normal = desc), the
//!   `{object:"list", data, list_metadata:{before, after}}` envelope. Ids are
//!   `<prefix>_01` + 24 Crockford base32 characters whose first 12 encode a
//!   creation sequence number, so a cursor still works after its object was
//!   deleted.
//! - A second, valid key without permission (`forbidden_key`, answered 403)
//!   and budget counters (admitted requests, most `/user_management/*` reads
//!   in any 10 s and requests in any 60 s window).
//! - Bearer auth, `X-Request-ID` on every response, the documented error
//!   bodies, sliding-window rate limits with `Retry-After`, and seeded,
//!   deterministic fault injection (5xx, HTML 502, slow responses, dropped
//!   connections before or after the write is applied, 429 storms).
//! - An unauthenticated admin surface under `/__fake/` (`GET state`,
//!   `POST faults`, `POST reset`, `POST rate_limits`, `POST multiple_roles`).
//!
//! The server is a hand-written accept loop on hyper's HTTP/1 connection so
//! that a fault can close a connection without any response (the service
//! returns `Err`): a reqwest client then sees a request error ("connection
//! closed before message completed"), never a status.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::ops::Bound::{Excluded, Unbounded};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, Response, StatusCode, Uri};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;

use super::RecordedRequest;

/// Most recent requests kept by [`FakeWorkOs::recorded`].
pub const RECORDED_LOG_CAP: usize = 10_000;
/// Largest request body read.
const BODY_LIMIT: usize = 16 * 1024 * 1024;
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const HASH_TYPES: [&str; 7] = [
    "bcrypt",
    "firebase-scrypt",
    "ssha",
    "ssha256",
    "scrypt",
    "pbkdf2",
    "argon2",
];
const PROXY_502_HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n";
const QR_PLACEHOLDER: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

// ---------------------------------------------------------------------------
// Public configuration and API
// ---------------------------------------------------------------------------

/// How a [`FakeWorkOs`] behaves.
#[derive(Debug, Clone)]
pub struct FakeWorkOsConfig {
    /// The only accepted `Authorization: Bearer <api_key>`.
    pub api_key: String,
    /// Enforce the documented rate limits (sliding windows).
    pub rate_limits: bool,
    /// "Multiple roles" enabled for the environment (else a membership with
    /// more than one slug is 422 `multiple_roles_not_enabled`).
    pub multiple_roles_enabled: bool,
    /// Environment roles seeded in addition to `member`.
    pub environment_roles: Vec<String>,
    pub faults: FaultPlan,
    /// Seed of the fault PRNG (and of generated slugs and TOTP secrets).
    pub seed: u64,
    /// A second, valid key without permission: every API request made with
    /// it is answered 403 (`workos-api.md` §1: "A valid key without
    /// sufficient permission returns 403").
    pub forbidden_key: Option<String>,
}

impl Default for FakeWorkOsConfig {
    fn default() -> Self {
        Self {
            api_key: "sk_test_fake".to_string(),
            rate_limits: true,
            multiple_roles_enabled: true,
            environment_roles: vec!["admin".to_string()],
            faults: FaultPlan::default(),
            seed: 0x5EED,
            forbidden_key: None,
        }
    }
}

/// Injected failures. Rates are probabilities in 0..=1 drawn per API request
/// (after auth) from a seeded PRNG, in this order: storm, rate limit,
/// `error_rate`, `drop_before_rate`, (apply), `drop_after_rate`, `slow_rate`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPlan {
    /// Answer 500 (40 %), 503 (30 %, JSON bodies) or 502 with an HTML proxy
    /// page (30 %); nothing is applied.
    pub error_rate: f64,
    /// Apply the request, then wait `slow_delay` before responding.
    pub slow_rate: f64,
    pub slow_delay: Duration,
    /// Close the connection without a response; nothing is applied.
    pub drop_before_rate: f64,
    /// Apply the request, then close the connection without a response.
    pub drop_after_rate: f64,
    /// 0 = never; otherwise every Nth authenticated request starts a storm.
    pub storm_every: u64,
    /// Consecutive requests answered 429 in a storm (the Nth included).
    pub storm_len: u64,
    /// `Retry-After` of storm 429s, sent as given (0 allowed).
    pub storm_retry_after_secs: u64,
}

impl FaultPlan {
    /// JSON form used by `POST /__fake/faults` (`slow_delay` as
    /// `slow_delay_ms`).
    pub fn to_json(&self) -> Value {
        json!({
            "error_rate": self.error_rate,
            "slow_rate": self.slow_rate,
            "slow_delay_ms": u64::try_from(self.slow_delay.as_millis()).unwrap_or(u64::MAX),
            "drop_before_rate": self.drop_before_rate,
            "drop_after_rate": self.drop_after_rate,
            "storm_every": self.storm_every,
            "storm_len": self.storm_len,
            "storm_retry_after_secs": self.storm_retry_after_secs,
        })
    }

    /// Parses the JSON form; missing fields are 0, unknown fields an error.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let Value::Object(m) = v else {
            return Err("the fault plan must be a JSON object".to_string());
        };
        const KEYS: [&str; 8] = [
            "error_rate",
            "slow_rate",
            "slow_delay_ms",
            "drop_before_rate",
            "drop_after_rate",
            "storm_every",
            "storm_len",
            "storm_retry_after_secs",
        ];
        if let Some(k) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!("unknown fault plan field '{k}'"));
        }
        let rate = |k: &str| -> Result<f64, String> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(0.0),
                Some(x) => x
                    .as_f64()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| format!("{k} must be a number between 0 and 1")),
            }
        };
        let int = |k: &str| -> Result<u64, String> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(0),
                Some(x) => x
                    .as_u64()
                    .ok_or_else(|| format!("{k} must be a non-negative integer")),
            }
        };
        Ok(Self {
            error_rate: rate("error_rate")?,
            slow_rate: rate("slow_rate")?,
            slow_delay: Duration::from_millis(int("slow_delay_ms")?),
            drop_before_rate: rate("drop_before_rate")?,
            drop_after_rate: rate("drop_after_rate")?,
            storm_every: int("storm_every")?,
            storm_len: int("storm_len")?,
            storm_retry_after_secs: int("storm_retry_after_secs")?,
        })
    }
}

/// Counters of the API requests seen (the `/__fake/` admin surface is not
/// counted).
#[derive(Debug, Clone, Default)]
pub struct FakeStats {
    /// Every API request, including 401s, 429s and faulted ones.
    pub total_requests: u64,
    /// 429 answers (rate limiter and storms).
    pub rate_limited: u64,
    /// Injected faults of any kind (storm 429s included).
    pub faults_injected: u64,
    /// Non-GET/HEAD requests (all of them, as they arrived).
    pub writes: u64,
    /// GET/HEAD requests.
    pub reads: u64,
    /// Requests per `"<METHOD> <route template>"`, e.g.
    /// `"POST /user_management/users"`,
    /// `"GET /organizations/external_id/{external_id}"`; unmatched paths
    /// count as `"<METHOD> (unmatched)"`.
    pub by_route: BTreeMap<String, u64>,
    pub first_request_at: Option<Instant>,
    pub last_request_at: Option<Instant>,
    /// Most writes that passed auth and were not answered 429 within any
    /// 10 s window (counted whether or not rate limits are on).
    pub max_writes_in_any_10s_window: u64,
    /// Faults by kind: `storm_429`, `error_500`, `error_503`, `error_502`,
    /// `drop_before`, `drop_after`, `slow`.
    pub faults_by_kind: BTreeMap<String, u64>,
    /// 401 answers.
    pub unauthorized: u64,
    /// Most API requests handled at the same time (a request with a slow
    /// answer counts until it is sent).
    pub max_in_flight: u64,
    /// 403 answers (the forbidden key).
    pub forbidden: u64,
    /// Requests admitted (authorized, not answered 429) — what the
    /// documented budgets count.
    pub admitted: u64,
    /// Most admitted `GET /user_management/*` in any 10 s window (budget
    /// 1,000).
    pub max_user_management_reads_in_any_10s_window: u64,
    /// Most admitted requests in any 60 s window (budget 6,000).
    pub max_requests_in_any_60s_window: u64,
    /// First and last admitted request.
    pub first_admitted_at: Option<Instant>,
    pub last_admitted_at: Option<Instant>,
}

impl FakeStats {
    pub fn to_json(&self) -> Value {
        let span_ms = match (self.first_request_at, self.last_request_at) {
            (Some(a), Some(b)) => Some(b.saturating_duration_since(a).as_millis() as u64),
            _ => None,
        };
        json!({
            "total_requests": self.total_requests,
            "rate_limited": self.rate_limited,
            "faults_injected": self.faults_injected,
            "writes": self.writes,
            "reads": self.reads,
            "unauthorized": self.unauthorized,
            "max_in_flight": self.max_in_flight,
            "by_route": self.by_route,
            "faults_by_kind": self.faults_by_kind,
            "first_to_last_request_ms": span_ms,
            "max_writes_in_any_10s_window": self.max_writes_in_any_10s_window,
            "forbidden": self.forbidden,
            "admitted": self.admitted,
            "max_user_management_reads_in_any_10s_window": self.max_user_management_reads_in_any_10s_window,
            "max_requests_in_any_60s_window": self.max_requests_in_any_60s_window,
        })
    }
}

/// A running fake WorkOS (cheap to clone; every clone is the same server).
#[derive(Clone)]
pub struct FakeWorkOs {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
}

impl FakeWorkOs {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start(config: FakeWorkOsConfig) -> Self {
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        Self::start_on(config, addr).await
    }

    /// Binds `addr` and serves on the current tokio runtime.
    pub async fn start_on(config: FakeWorkOsConfig, addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind fake WorkOS");
        let mut addr = listener.local_addr().expect("fake WorkOS local addr");
        if addr.ip().is_unspecified() {
            addr.set_ip([127, 0, 0, 1].into());
        }
        let state = Arc::new(Mutex::new(State::new(config)));
        tokio::spawn(accept_loop(listener, state.clone()));
        Self { state, addr }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn api_key(&self) -> String {
        self.lock().api_key.clone()
    }

    /// Replaces the fault plan; storm counting restarts from zero.
    pub fn set_faults(&self, plan: FaultPlan) {
        self.lock().set_faults(plan);
    }

    pub fn faults(&self) -> FaultPlan {
        self.lock().faults.clone()
    }

    pub fn set_rate_limits(&self, on: bool) {
        self.lock().rate_limits = on;
    }

    pub fn set_multiple_roles_enabled(&self, on: bool) {
        self.lock().multiple_roles_enabled = on;
    }

    pub fn stats(&self) -> FakeStats {
        self.lock().stats()
    }

    /// Every user as the API shows it, in creation order, plus a fake-only
    /// `fake_password` field: `null`, `{"kind":"plaintext"}` or
    /// `{"kind":"hash","hash_type":..,"hash":..}`.
    pub fn users(&self) -> Vec<Value> {
        let s = self.lock();
        s.data
            .users
            .values()
            .map(|u| {
                let mut v = u.to_json();
                if let Value::Object(m) = &mut v {
                    let pw = match &u.password {
                        None => Value::Null,
                        Some(PasswordSet::Plain) => json!({"kind": "plaintext"}),
                        Some(PasswordSet::Hash { kind, hash }) => {
                            json!({"kind": "hash", "hash_type": kind, "hash": hash})
                        }
                    };
                    m.insert("fake_password".to_string(), pw);
                }
                v
            })
            .collect()
    }

    /// Every organization in creation order.
    pub fn organizations(&self) -> Vec<Value> {
        let s = self.lock();
        s.data.orgs.values().map(Org::to_json).collect()
    }

    /// Every membership (any status) in creation order, with
    /// `organization_id`, `user_id`, `status`, `role {slug}`, `roles [{slug}]`.
    pub fn memberships(&self) -> Vec<Value> {
        let s = self.lock();
        s.data
            .memberships
            .values()
            .map(|m| s.data.membership_json(m))
            .collect()
    }

    pub fn permissions(&self) -> Vec<Value> {
        let s = self.lock();
        s.data
            .permissions
            .values()
            .map(Permission::to_json)
            .collect()
    }

    /// Environment and organization roles in creation order, each with
    /// `slug`, `type` (`EnvironmentRole`/`OrganizationRole`),
    /// `organization_id` (organization roles only) and `permissions`.
    pub fn roles(&self) -> Vec<Value> {
        let s = self.lock();
        s.data.roles.values().map(Role::to_json).collect()
    }

    /// Every TOTP factor with `user_id` and the full `totp` object (secret
    /// included, unlike the list endpoint).
    pub fn auth_factors(&self) -> Vec<Value> {
        let s = self.lock();
        s.data.factors.values().map(|f| f.to_json(true)).collect()
    }

    /// Inserts a user directly (no HTTP, no stats). Panics if the email or
    /// external id is taken.
    pub fn seed_user(&self, email: &str, external_id: Option<&str>) -> String {
        let mut s = self.lock();
        let key = email.to_lowercase();
        assert!(
            !s.data.user_by_email.contains_key(&key),
            "seed_user: email {email} already exists"
        );
        if let Some(e) = external_id {
            assert!(
                !s.data.user_by_ext.contains_key(e),
                "seed_user: external_id {e} already exists"
            );
        }
        let (seq, id) = s.data.next_id("user");
        let now = now_iso();
        s.data.insert_user(User {
            seq,
            id: id.clone(),
            email: email.to_string(),
            email_verified: false,
            first_name: None,
            last_name: None,
            name: None,
            locale: None,
            external_id: external_id.map(str::to_string),
            metadata: Map::new(),
            password: None,
            created_at: now.clone(),
            updated_at: now,
        });
        id
    }

    /// Inserts an organization directly. Panics if the external id is taken.
    pub fn seed_organization(&self, name: &str, external_id: Option<&str>) -> String {
        let mut s = self.lock();
        if let Some(e) = external_id {
            assert!(
                !s.data.org_by_ext.contains_key(e),
                "seed_organization: external_id {e} already exists"
            );
        }
        let (seq, id) = s.data.next_id("org");
        let now = now_iso();
        s.data.insert_org(Org {
            seq,
            id: id.clone(),
            name: name.to_string(),
            domains: Vec::new(),
            metadata: Map::new(),
            external_id: external_id.map(str::to_string),
            stripe_customer_id: None,
            allow_profiles_outside_organization: false,
            created_at: now.clone(),
            updated_at: now,
        });
        id
    }

    /// Inserts an active membership directly (role `member` unless `roles`
    /// names others). Panics if the pair exists or an id is unknown.
    pub fn seed_membership(&self, user_id: &str, organization_id: &str, roles: &[&str]) -> String {
        let mut s = self.lock();
        assert!(
            s.data.user_by_id.contains_key(user_id),
            "seed_membership: no user {user_id}"
        );
        assert!(
            s.data.org(organization_id).is_some(),
            "seed_membership: no organization {organization_id}"
        );
        let key = (user_id.to_string(), organization_id.to_string());
        assert!(
            !s.data.om_by_pair.contains_key(&key),
            "seed_membership: pair exists"
        );
        let (seq, id) = s.data.next_id("om");
        let now = now_iso();
        let role_slugs = if roles.is_empty() {
            vec!["member".to_string()]
        } else {
            roles.iter().map(|r| r.to_string()).collect()
        };
        s.data.insert_membership(Membership {
            seq,
            id: id.clone(),
            user_id: user_id.to_string(),
            organization_id: organization_id.to_string(),
            status: "active",
            role_slugs,
            created_at: now.clone(),
            updated_at: now,
        });
        id
    }

    /// Empties the rate-limit windows (as if a minute had passed without
    /// requests); data and counters are kept.
    pub fn clear_rate_limit_windows(&self) {
        self.lock().limiter = Limiter::new();
    }

    /// Removes the (user, organization) membership; false if there was none.
    pub fn delete_membership(&self, user_id: &str, organization_id: &str) -> bool {
        let mut s = self.lock();
        let key = (user_id.to_string(), organization_id.to_string());
        match s.data.om_by_pair.get(&key).copied() {
            Some(seq) => {
                s.data.remove_membership(seq);
                true
            }
            None => false,
        }
    }

    /// The most recent API requests (at most [`RECORDED_LOG_CAP`]), oldest
    /// first.
    pub fn recorded(&self) -> Vec<RecordedRequest> {
        self.lock().log.iter().cloned().collect()
    }

    /// Clears all objects (roles re-seeded), counters, windows and the log;
    /// keeps the current configuration. Same as `POST /__fake/reset`.
    pub fn reset(&self) {
        self.lock().reset();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
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
                // Out of file descriptors or similar: back off briefly.
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

async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(Body::new(body), BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return Err(DropConnection),
    };
    if parts.uri.path().starts_with("/__fake/") || parts.uri.path() == "/__fake" {
        let out = {
            let mut s = lock(&state);
            s.admin(&parts.method, parts.uri.path(), &bytes)
        };
        return Ok(out.into_response());
    }
    let auth = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let outcome = {
        let mut s = lock(&state);
        let c = &mut s.counters;
        c.in_flight += 1;
        c.max_in_flight = c.max_in_flight.max(c.in_flight);
        s.process(&parts.method, &parts.uri, auth, &bytes)
    };
    let reply = match outcome {
        Outcome::Drop => Err(DropConnection),
        Outcome::Respond { out, delay } => {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            Ok(out.into_response())
        }
    };
    // (A reset while this request was handled may have zeroed the count.)
    let mut s = lock(&state);
    s.counters.in_flight = s.counters.in_flight.saturating_sub(1);
    drop(s);
    reply
}

enum Outcome {
    Respond { out: Out, delay: Option<Duration> },
    Drop,
}

/// A response still to be serialized (outside the lock).
struct Out {
    status: u16,
    body: OutBody,
    request_id: String,
    retry_after: Option<u64>,
}

enum OutBody {
    Json(Value),
    Html(&'static str),
    Empty,
}

impl Out {
    fn into_response(self) -> Response<Body> {
        let (content_type, body) = match self.body {
            OutBody::Json(v) => ("application/json", Body::from(v.to_string())),
            OutBody::Html(s) => ("text/html", Body::from(s)),
            OutBody::Empty => ("application/json", Body::empty()),
        };
        let mut r = Response::new(body);
        *r.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            h.insert("x-request-id", v);
        }
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

// ---------------------------------------------------------------------------
// Replies and request helpers
// ---------------------------------------------------------------------------

/// A handler's answer: status and JSON body (`None` = empty, for 204).
struct Reply {
    status: u16,
    body: Option<Value>,
}

type R<T> = Result<T, Reply>;

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
        }
    }
    fn ok(body: Value) -> Self {
        Self::json(200, body)
    }
    fn created(body: Value) -> Self {
        Self::json(201, body)
    }
    fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
        }
    }
}

/// `{"code", "message"}`.
fn err_code(status: u16, code: &str, message: impl Into<String>) -> Reply {
    Reply::json(status, json!({"code": code, "message": message.into()}))
}

/// `{"message"}` (generic 404/422).
fn err_msg(status: u16, message: impl Into<String>) -> Reply {
    Reply::json(status, json!({"message": message.into()}))
}

/// 422 `invalid_request_parameters` with one `{field, code}` item.
fn invalid(field: &str, code: &str, message: impl Into<String>) -> Reply {
    Reply::json(
        422,
        json!({
            "code": "invalid_request_parameters",
            "message": message.into(),
            "errors": [{"field": field, "code": code}],
        }),
    )
}

fn not_found(kind: &str, id: &str) -> Reply {
    err_msg(404, format!("{kind} not found: '{id}'."))
}

fn body_map(body: &[u8]) -> R<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(err_code(
            400,
            "bad_request",
            "The request body must be a JSON object.",
        )),
        Err(_) => Err(err_code(
            400,
            "bad_request",
            "Malformed JSON in request body.",
        )),
    }
}

fn get_str(m: &Map<String, Value>, key: &str) -> R<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(
            key,
            "must_be_string",
            format!("{key} must be a string."),
        )),
    }
}

fn required_str(m: &Map<String, Value>, key: &str) -> R<String> {
    match get_str(m, key)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(invalid(key, "required", format!("{key} is required."))),
    }
}

fn get_bool(m: &Map<String, Value>, key: &str) -> R<Option<bool>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(
            key,
            "must_be_boolean",
            format!("{key} must be a boolean."),
        )),
    }
}

fn get_str_list(m: &Map<String, Value>, key: &str) -> R<Option<Vec<String>>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(invalid(
                    key,
                    "must_be_string_array",
                    format!("{key} must be an array of strings."),
                )),
            })
            .collect::<R<Vec<_>>>()
            .map(Some),
        Some(_) => Err(invalid(
            key,
            "must_be_string_array",
            format!("{key} must be an array of strings."),
        )),
    }
}

/// Update semantics of a nullable string field.
enum Patch {
    Keep,
    Clear,
    Set(String),
}

fn patch_str(m: &Map<String, Value>, key: &str) -> R<Patch> {
    match m.get(key) {
        None => Ok(Patch::Keep),
        Some(Value::Null) => Ok(Patch::Clear),
        Some(Value::String(s)) => Ok(Patch::Set(s.clone())),
        Some(_) => Err(invalid(
            key,
            "must_be_string",
            format!("{key} must be a string."),
        )),
    }
}

fn check_external_id(e: &str) -> R<()> {
    if e.chars().count() > 128 {
        return Err(invalid(
            "external_id",
            "too_long",
            "external_id must be at most 128 characters.",
        ));
    }
    if !e.is_ascii() {
        return Err(invalid(
            "external_id",
            "invalid_format",
            "external_id must contain only ASCII characters.",
        ));
    }
    Ok(())
}

/// Validates `metadata` (50 keys, keys <= 40 chars, string values <= 600
/// chars). `allow_null_values` on update (a null value removes the key).
fn check_metadata(v: &Value, allow_null_values: bool) -> R<Map<String, Value>> {
    let bad = |msg: String| err_code(400, "invalid_metadata", msg);
    let Value::Object(m) = v else {
        return Err(bad("Metadata must be an object.".to_string()));
    };
    if m.len() > 50 {
        return Err(bad(format!(
            "Metadata may contain at most 50 keys; {} given.",
            m.len()
        )));
    }
    for (k, val) in m {
        if k.chars().count() > 40 {
            return Err(bad(format!(
                "Metadata key '{k}' is longer than 40 characters."
            )));
        }
        match val {
            Value::String(s) if s.chars().count() > 600 => {
                return Err(bad(format!(
                    "Metadata value for key '{k}' is longer than 600 characters."
                )))
            }
            Value::String(_) => {}
            Value::Null if allow_null_values => {}
            _ => {
                return Err(bad(format!(
                    "Metadata value for key '{k}' must be a string."
                )))
            }
        }
    }
    Ok(m.clone())
}

/// Merges an update into stored metadata (null removes a key).
fn merge_metadata(stored: &mut Map<String, Value>, update: Map<String, Value>) -> R<()> {
    let mut merged = stored.clone();
    for (k, v) in update {
        if v.is_null() {
            merged.remove(&k);
        } else {
            merged.insert(k, v);
        }
    }
    if merged.len() > 50 {
        return Err(err_code(
            400,
            "invalid_metadata",
            format!(
                "Metadata may contain at most 50 keys; {} after update.",
                merged.len()
            ),
        ));
    }
    *stored = merged;
    Ok(())
}

fn plausible_email(e: &str) -> bool {
    if e.is_empty() || e.len() > 320 || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.starts_with('-')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
}

fn plausible_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.contains('.')
        && !d.starts_with('.')
        && !d.ends_with('.')
        && !d.contains("..")
        && d.chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
}

fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn pct_decode(s: &str, plus_is_space: bool) -> String {
    if !(s.contains('%') || plus_is_space && s.contains('+')) {
        return s.to_string();
    }
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k, true), pct_decode(v, true))
        })
        .collect()
}

/// A query parameter; empty values count as absent (the SDK drops them).
fn qget<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, v)| k == key && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------
// Ids, PRNG, pagination
// ---------------------------------------------------------------------------

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Deterministic PRNG (SplitMix64).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix(self.0)
    }
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// True with probability `p` (no draw when `p <= 0`).
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.next_f64() < p
    }
    fn base32(&mut self, n: usize, alphabet: &[u8; 32]) -> String {
        (0..n)
            .map(|_| alphabet[(self.next_u64() % 32) as usize] as char)
            .collect()
    }
}

fn push_b32(s: &mut String, v: u64, n: u32) {
    for i in (0..n).rev() {
        s.push(CROCKFORD[((v >> (5 * i)) & 31) as usize] as char);
    }
}

/// `<prefix>_01` + 12 chars of `seq` + 12 chars derived from it.
fn make_id(prefix: &str, seq: u64) -> String {
    let mut s = String::with_capacity(prefix.len() + 27);
    s.push_str(prefix);
    s.push_str("_01");
    push_b32(&mut s, seq, 12);
    push_b32(&mut s, splitmix(seq ^ 0xA5A5_5A5A_0F0F_F0F0), 12);
    s
}

/// The creation sequence number encoded in an id made by [`make_id`].
fn id_seq(id: &str) -> Option<u64> {
    let (_, tail) = id.rsplit_once('_')?;
    if tail.len() != 26 || !tail.starts_with("01") {
        return None;
    }
    let mut v: u64 = 0;
    for c in tail[2..14].bytes() {
        let d = CROCKFORD
            .iter()
            .position(|&a| a == c.to_ascii_uppercase())? as u64;
        v = (v << 5) | d;
    }
    Some(v)
}

struct PageParams {
    limit: usize,
    desc: bool,
    after: Option<u64>,
    before: Option<u64>,
}

fn page_params(q: &[(String, String)], default_desc: bool) -> R<PageParams> {
    let limit = match qget(q, "limit") {
        None => 10,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(invalid(
                    "limit",
                    "invalid_limit",
                    "limit must be an integer between 1 and 100.",
                ))
            }
        },
    };
    let desc = match qget(q, "order") {
        None => default_desc,
        Some("desc") | Some("normal") => true,
        Some("asc") => false,
        Some(_) => {
            return Err(invalid(
                "order",
                "invalid_order",
                "order must be one of asc, desc, normal.",
            ))
        }
    };
    let cursor = |k: &str| -> R<Option<u64>> {
        match qget(q, k) {
            None => Ok(None),
            Some(v) => id_seq(v)
                .map(Some)
                .ok_or_else(|| invalid(k, "invalid_cursor", format!("{k} must be an object ID."))),
        }
    };
    Ok(PageParams {
        limit,
        desc,
        after: cursor("after")?,
        before: cursor("before")?,
    })
}

/// Keys strictly after `from` in listing order (all of them when `None`).
fn forward<'a, V: 'a>(
    map: &'a BTreeMap<u64, V>,
    desc: bool,
    from: Option<u64>,
) -> Box<dyn Iterator<Item = u64> + 'a> {
    match (desc, from) {
        (false, None) => Box::new(map.keys().copied()),
        (false, Some(s)) => Box::new(map.range((Excluded(s), Unbounded)).map(|(k, _)| *k)),
        (true, None) => Box::new(map.keys().rev().copied()),
        (true, Some(s)) => Box::new(map.range(..s).rev().map(|(k, _)| *k)),
    }
}

/// Keys strictly before `from` in listing order, nearest first.
fn backward<'a, V: 'a>(
    map: &'a BTreeMap<u64, V>,
    desc: bool,
    from: u64,
) -> Box<dyn Iterator<Item = u64> + 'a> {
    if desc {
        Box::new(map.range((Excluded(from), Unbounded)).map(|(k, _)| *k))
    } else {
        Box::new(map.range(..from).rev().map(|(k, _)| *k))
    }
}

/// One page of `map`'s keys passing `keep`: the keys in listing order, the
/// `before` cursor (first key, when something precedes it) and the `after`
/// cursor (last key, when something follows it).
fn paginate<V>(
    map: &BTreeMap<u64, V>,
    p: &PageParams,
    keep: &dyn Fn(u64) -> bool,
) -> (Vec<u64>, Option<u64>, Option<u64>) {
    let (items, more_before, more_after) = match (p.after, p.before) {
        (None, Some(b)) => {
            let mut items: Vec<u64> = backward(map, p.desc, b)
                .filter(|k| keep(*k))
                .take(p.limit + 1)
                .collect();
            let more_before = items.len() > p.limit;
            items.truncate(p.limit);
            items.reverse();
            let more_after = match items.last() {
                Some(&l) => forward(map, p.desc, Some(l)).any(keep),
                None => false,
            };
            (items, more_before, more_after)
        }
        (after, _) => {
            let mut items: Vec<u64> = forward(map, p.desc, after)
                .filter(|k| keep(*k))
                .take(p.limit + 1)
                .collect();
            let more_after = items.len() > p.limit;
            items.truncate(p.limit);
            let more_before = match items.first() {
                Some(&f) => backward(map, p.desc, f).any(keep),
                None => false,
            };
            (items, more_before, more_after)
        }
    };
    let before = if more_before {
        items.first().copied()
    } else {
        None
    };
    let after = if more_after {
        items.last().copied()
    } else {
        None
    };
    (items, before, after)
}

fn list_json(data: Vec<Value>, before: Option<String>, after: Option<String>) -> Value {
    json!({
        "object": "list",
        "data": data,
        "list_metadata": {"before": before, "after": after},
    })
}

// ---------------------------------------------------------------------------
// Password hash format checks (independent of the crate's own validators)
// ---------------------------------------------------------------------------

fn is_b64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// PHC "B64": standard alphabet, no padding; decoded length when valid.
fn b64_unpadded_len(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(is_b64_char) || s.len() % 4 == 1 {
        return None;
    }
    Some(s.len() * 3 / 4)
}

/// Standard padded base64; decoded length when valid.
fn b64_padded_len(s: &str) -> Option<usize> {
    if s.is_empty() || !s.len().is_multiple_of(4) {
        return None;
    }
    let body = s.trim_end_matches('=');
    let pad = s.len() - body.len();
    if pad > 2 || !body.bytes().all(is_b64_char) {
        return None;
    }
    Some(s.len() / 4 * 3 - pad)
}

/// Base64 as Firebase exports it: standard or URL-safe, padded or not.
fn b64_lenient(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && s.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| is_b64_char(b) || b == b'-' || b == b'_')
        && body.len() % 4 != 1
}

/// `k=v,k=v` into a map of numbers/strings.
fn phc_params(s: &str) -> Option<HashMap<&str, &str>> {
    let mut out = HashMap::new();
    for kv in s.split(',') {
        let (k, v) = kv.split_once('=')?;
        if k.is_empty() || v.is_empty() || out.insert(k, v).is_some() {
            return None;
        }
    }
    Some(out)
}

fn num(params: &HashMap<&str, &str>, key: &str) -> Result<u64, String> {
    params
        .get(key)
        .ok_or_else(|| format!("missing parameter {key}"))?
        .parse::<u64>()
        .map_err(|_| format!("parameter {key} is not a number"))
}

fn check_hash_format(kind: &str, hash: &str) -> Result<(), String> {
    match kind {
        "bcrypt" => check_bcrypt(hash),
        "argon2" => check_argon2(hash),
        "pbkdf2" => check_pbkdf2(hash),
        "scrypt" => check_scrypt(hash),
        "firebase-scrypt" => check_firebase_scrypt(hash),
        "ssha" => check_ssha(hash, "{SSHA}", 20),
        "ssha256" => check_ssha(hash, "{SSHA256}", 32),
        _ => Err("unsupported hash type".to_string()),
    }
}

fn check_bcrypt(h: &str) -> Result<(), String> {
    let b = h.as_bytes();
    if b.len() != 60 {
        return Err(format!("expected 60 characters, got {}", b.len()));
    }
    if !(h.starts_with("$2a$") || h.starts_with("$2b$") || h.starts_with("$2y$")) {
        return Err("expected a $2a$, $2b$ or $2y$ prefix".to_string());
    }
    let cost = &h[4..6];
    match cost.parse::<u32>() {
        Ok(c) if (4..=31).contains(&c) && cost.bytes().all(|b| b.is_ascii_digit()) => {}
        _ => return Err("cost must be two digits between 04 and 31".to_string()),
    }
    if b[6] != b'$' {
        return Err("expected '$' after the cost".to_string());
    }
    if !b[7..]
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'/')
    {
        return Err("salt and hash must be 53 bcrypt-base64 characters".to_string());
    }
    Ok(())
}

fn check_argon2(h: &str) -> Result<(), String> {
    let parts: Vec<&str> = h.split('$').collect();
    if parts.len() != 6 || !parts[0].is_empty() {
        return Err("expected $<variant>$v=19$m=..,t=..,p=..$<salt>$<hash>".to_string());
    }
    let variant = parts[1];
    if !matches!(variant, "argon2id" | "argon2i" | "argon2d") {
        return Err("variant must be argon2id, argon2i or argon2d".to_string());
    }
    if parts[2] != "v=19" {
        return Err("version must be v=19".to_string());
    }
    let params = phc_params(parts[3]).ok_or("malformed parameters")?;
    if params.len() != 3 {
        return Err("parameters must be exactly m, t and p".to_string());
    }
    let m = num(&params, "m")?;
    let t = num(&params, "t")?;
    let p = num(&params, "p")?;
    if !(4096..=262_144).contains(&m) {
        return Err("m must be between 4096 and 262144 KiB".to_string());
    }
    let t_min = if variant == "argon2i" { 3 } else { 1 };
    if !(t_min..=5).contains(&t) {
        return Err(format!("t must be between {t_min} and 5"));
    }
    if !(1..=8).contains(&p) {
        return Err("p must be between 1 and 8".to_string());
    }
    b64_unpadded_len(parts[4]).ok_or("salt is not unpadded base64")?;
    b64_unpadded_len(parts[5]).ok_or("hash is not unpadded base64")?;
    Ok(())
}

fn check_pbkdf2(h: &str) -> Result<(), String> {
    let parts: Vec<&str> = h.split('$').collect();
    if parts.len() != 5 || !parts[0].is_empty() || parts[1] != "pbkdf2" {
        return Err("expected $pbkdf2$i=..,d=..$<salt>$<hash>".to_string());
    }
    let params = phc_params(parts[2]).ok_or("malformed parameters")?;
    if params.len() != 2 {
        return Err("parameters must be exactly i and d".to_string());
    }
    let i = num(&params, "i")?;
    match params.get("d").copied() {
        Some("sha256") if (600_000..=1_000_000).contains(&i) => {}
        Some("sha512") if (210_000..=1_000_000).contains(&i) => {}
        Some("sha256") => return Err("sha256 needs 600000 <= i <= 1000000".to_string()),
        Some("sha512") => return Err("sha512 needs 210000 <= i <= 1000000".to_string()),
        _ => return Err("d must be sha256 or sha512".to_string()),
    }
    b64_unpadded_len(parts[3]).ok_or("salt is not unpadded base64")?;
    b64_unpadded_len(parts[4]).ok_or("hash is not unpadded base64")?;
    Ok(())
}

fn check_scrypt(h: &str) -> Result<(), String> {
    let parts: Vec<&str> = h.split('$').collect();
    let rest: &[&str] = match parts.as_slice() {
        ["", "scrypt", v, rest @ ..] if v.starts_with("v=") => {
            if *v != "v=1" {
                return Err("version must be v=1".to_string());
            }
            rest
        }
        ["", "scrypt", rest @ ..] => rest,
        _ => return Err("expected $scrypt$v=1$n=..,r=..,p=..,kl=..$<salt>$<hash>".to_string()),
    };
    let [params, salt, hash] = rest else {
        return Err("expected $scrypt$v=1$n=..,r=..,p=..,kl=..$<salt>$<hash>".to_string());
    };
    let params = phc_params(params).ok_or("malformed parameters")?;
    if params.keys().any(|k| !matches!(*k, "n" | "r" | "p" | "kl")) {
        return Err("parameters must be n, r, p and kl".to_string());
    }
    let n = num(&params, "n")?;
    if n < 2 || !n.is_power_of_two() {
        return Err("n must be a power of two".to_string());
    }
    if num(&params, "r")? == 0 || num(&params, "p")? == 0 {
        return Err("r and p must be positive".to_string());
    }
    if params.contains_key("kl") && num(&params, "kl")? == 0 {
        return Err("kl must be positive".to_string());
    }
    b64_unpadded_len(salt).ok_or("salt is not unpadded base64")?;
    b64_unpadded_len(hash).ok_or("hash is not unpadded base64")?;
    Ok(())
}

fn check_firebase_scrypt(h: &str) -> Result<(), String> {
    let Some(rest) = h.strip_prefix("$firebase-scrypt$") else {
        return Err("expected a $firebase-scrypt$ prefix".to_string());
    };
    if rest.starts_with("v=") {
        // Strict PHC: $firebase-scrypt$v=1$r=..,m=..,ss=..,sk=..$<salt>$<hash>
        let parts: Vec<&str> = rest.split('$').collect();
        let [v, params, salt, hash] = parts.as_slice() else {
            return Err(
                "expected $firebase-scrypt$v=1$r=..,m=..,ss=..,sk=..$<salt>$<hash>".to_string(),
            );
        };
        if *v != "v=1" {
            return Err("version must be v=1".to_string());
        }
        let params = phc_params(params).ok_or("malformed parameters")?;
        if params.len() != 4 {
            return Err("parameters must be exactly r, m, ss and sk".to_string());
        }
        num(&params, "r")?;
        num(&params, "m")?;
        for k in ["ss", "sk"] {
            let v = params
                .get(k)
                .ok_or_else(|| format!("missing parameter {k}"))?;
            if !b64_lenient(v) {
                return Err(format!("{k} is not base64"));
            }
        }
        b64_unpadded_len(salt).ok_or("salt is not unpadded base64")?;
        b64_unpadded_len(hash).ok_or("hash is not unpadded base64")?;
        return Ok(());
    }
    // Migration-tool form: hash=..$salt=..$sk=..$ss=..$r=..$m=.. (any order).
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for part in rest.split('$') {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("segment '{part}' is not key=value"))?;
        if !matches!(k, "hash" | "salt" | "sk" | "ss" | "r" | "m") {
            return Err(format!("unknown segment {k}"));
        }
        if seen.insert(k, v).is_some() {
            return Err(format!("segment {k} repeated"));
        }
    }
    for k in ["hash", "salt", "sk", "ss", "r", "m"] {
        let v = seen.get(k).ok_or_else(|| format!("missing segment {k}"))?;
        let ok = match k {
            "r" | "m" => !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()),
            _ => b64_lenient(v),
        };
        if !ok {
            return Err(format!("segment {k} is malformed"));
        }
    }
    Ok(())
}

/// `{SSHA}` / `{SSHA256}` + padded base64 of digest || salt (salt non-empty).
/// For ssha256 (format undocumented) the prefix is optional.
fn check_ssha(h: &str, prefix: &str, digest_len: usize) -> Result<(), String> {
    let b64 = match h.strip_prefix(prefix) {
        Some(rest) => rest,
        None if digest_len == 32 => h,
        None => return Err(format!("expected a {prefix} prefix")),
    };
    match b64_padded_len(b64) {
        Some(n) if n > digest_len => Ok(()),
        Some(_) => Err(format!(
            "decoded value must be a {digest_len}-byte digest followed by a salt"
        )),
        None => Err("not padded base64".to_string()),
    }
}

/// What the user's password was set from (shown only by
/// [`FakeWorkOs::users`]).
#[derive(Debug, Clone)]
enum PasswordSet {
    Plain,
    Hash { kind: String, hash: String },
}

/// The password oneOf: nothing, `password`, or `password_hash` +
/// `password_hash_type` (+ `password_salt_position` for ssha256).
fn check_password_group(m: &Map<String, Value>) -> R<Option<PasswordSet>> {
    let password = get_str(m, "password")?;
    let hash = get_str(m, "password_hash")?;
    let kind = get_str(m, "password_hash_type")?;
    let salt_position = get_str(m, "password_salt_position")?;
    if password.is_some() && hash.is_some() {
        return Err(err_code(
            400,
            "password_and_password_hash_provided",
            "Only one of password or password_hash may be provided.",
        ));
    }
    if password.is_some() && kind.is_some() {
        return Err(err_code(
            400,
            "password_and_password_hash_type_provided",
            "Only one of password or password_hash_type may be provided.",
        ));
    }
    if let Some(pos) = &salt_position {
        if pos != "prefix" && pos != "suffix" {
            return Err(invalid(
                "password_salt_position",
                "invalid_enum_value",
                "password_salt_position must be one of prefix, suffix.",
            ));
        }
        if hash.is_none() || kind.as_deref() != Some("ssha256") {
            return Err(err_code(
                400,
                "password_salt_position_requires_password_hash",
                "password_salt_position requires a password_hash of type ssha256.",
            ));
        }
    }
    match (hash, kind) {
        (None, None) => match password {
            Some(p) if p.chars().count() < 8 => Err(Reply::json(
                400,
                json!({
                    "code": "password_strength_error",
                    "message": "Password does not meet strength requirements.",
                    "errors": [{"code": "password_too_short", "message": "Password must be at least 8 characters long."}],
                }),
            )),
            Some(_) => Ok(Some(PasswordSet::Plain)),
            None => Ok(None),
        },
        (Some(_), None) => Err(invalid(
            "password_hash_type",
            "required",
            "password_hash_type is required with password_hash.",
        )),
        (None, Some(_)) => Err(invalid(
            "password_hash",
            "required",
            "password_hash is required with password_hash_type.",
        )),
        (Some(hash), Some(kind)) => {
            if !HASH_TYPES.contains(&kind.as_str()) {
                return Err(invalid(
                    "password_hash_type",
                    "invalid_enum_value",
                    format!(
                        "password_hash_type must be one of {}.",
                        HASH_TYPES.join(", ")
                    ),
                ));
            }
            check_hash_format(&kind, &hash).map_err(|why| {
                err_code(
                    400,
                    "invalid_password_hash",
                    format!("The password_hash is not a valid {kind} hash: {why}."),
                )
            })?;
            Ok(Some(PasswordSet::Hash { kind, hash }))
        }
    }
}

fn valid_base32_secret(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    let padded = body.len() != s.len();
    body.len() >= 16
        && body
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || (b'2'..=b'7').contains(&b))
        && (!padded || s.len().is_multiple_of(8))
        && matches!(body.len() % 8, 0 | 2 | 4 | 5 | 7)
}

fn title_case(slug: &str) -> String {
    slug.split(['-', '_', ':', '.'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct User {
    seq: u64,
    id: String,
    email: String,
    email_verified: bool,
    first_name: Option<String>,
    last_name: Option<String>,
    name: Option<String>,
    locale: Option<String>,
    external_id: Option<String>,
    metadata: Map<String, Value>,
    password: Option<PasswordSet>,
    created_at: String,
    updated_at: String,
}

impl User {
    fn to_json(&self) -> Value {
        json!({
            "object": "user",
            "id": self.id,
            "email": self.email,
            "email_verified": self.email_verified,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "name": self.name,
            "profile_picture_url": null,
            "last_sign_in_at": null,
            "locale": self.locale,
            "external_id": self.external_id,
            "metadata": self.metadata,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

#[derive(Debug, Clone)]
struct Domain {
    id: String,
    domain: String,
    state: String,
    created_at: String,
}

#[derive(Debug, Clone)]
struct Org {
    seq: u64,
    id: String,
    name: String,
    domains: Vec<Domain>,
    metadata: Map<String, Value>,
    external_id: Option<String>,
    stripe_customer_id: Option<String>,
    allow_profiles_outside_organization: bool,
    created_at: String,
    updated_at: String,
}

impl Org {
    fn to_json(&self) -> Value {
        let domains: Vec<Value> = self
            .domains
            .iter()
            .map(|d| {
                json!({
                    "object": "organization_domain",
                    "id": d.id,
                    "organization_id": self.id,
                    "domain": d.domain,
                    "state": d.state,
                    "verification_strategy": "manual",
                    "verification_prefix": null,
                    "verification_token": null,
                    "created_at": d.created_at,
                    "updated_at": d.created_at,
                })
            })
            .collect();
        let mut v = json!({
            "object": "organization",
            "id": self.id,
            "name": self.name,
            "allow_profiles_outside_organization": self.allow_profiles_outside_organization,
            "domains": domains,
            "metadata": self.metadata,
            "external_id": self.external_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        });
        if let (Some(s), Value::Object(m)) = (&self.stripe_customer_id, &mut v) {
            m.insert("stripe_customer_id".to_string(), json!(s));
        }
        v
    }
}

#[derive(Debug, Clone)]
struct Membership {
    seq: u64,
    id: String,
    user_id: String,
    organization_id: String,
    status: &'static str,
    role_slugs: Vec<String>,
    created_at: String,
    updated_at: String,
}

#[derive(Debug, Clone)]
struct Permission {
    seq: u64,
    id: String,
    slug: String,
    name: String,
    description: Option<String>,
    resource_type_slug: String,
    created_at: String,
    updated_at: String,
}

impl Permission {
    fn to_json(&self) -> Value {
        json!({
            "object": "permission",
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "description": self.description,
            "system": false,
            "resource_type_slug": self.resource_type_slug,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

#[derive(Debug, Clone)]
struct Role {
    seq: u64,
    id: String,
    slug: String,
    name: String,
    description: Option<String>,
    /// `None` = environment role.
    organization_id: Option<String>,
    resource_type_slug: String,
    permissions: Vec<String>,
    created_at: String,
    updated_at: String,
}

impl Role {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "object": "role",
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "description": self.description,
            "type": if self.organization_id.is_some() { "OrganizationRole" } else { "EnvironmentRole" },
            "resource_type_slug": self.resource_type_slug,
            "permissions": self.permissions,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        });
        if let (Some(org), Value::Object(m)) = (&self.organization_id, &mut v) {
            m.insert("organization_id".to_string(), json!(org));
        }
        v
    }
}

#[derive(Debug, Clone)]
struct Factor {
    seq: u64,
    id: String,
    user_id: String,
    issuer: String,
    user: String,
    secret: String,
    created_at: String,
}

impl Factor {
    fn uri(&self) -> String {
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
            pct_encode(&self.issuer),
            pct_encode(&self.user),
            self.secret,
            pct_encode(&self.issuer)
        )
    }

    fn to_json(&self, with_secret: bool) -> Value {
        let totp = if with_secret {
            json!({
                "issuer": self.issuer,
                "user": self.user,
                "secret": self.secret,
                "qr_code": QR_PLACEHOLDER,
                "uri": self.uri(),
            })
        } else {
            json!({"issuer": self.issuer, "user": self.user})
        };
        json!({
            "object": "authentication_factor",
            "id": self.id,
            "type": "totp",
            "user_id": self.user_id,
            "totp": totp,
            "created_at": self.created_at,
            "updated_at": self.created_at,
        })
    }
}

// ---------------------------------------------------------------------------
// Data store
// ---------------------------------------------------------------------------

type SeqSet = BTreeMap<u64, ()>;

#[derive(Default)]
struct Data {
    seq: u64,
    users: BTreeMap<u64, User>,
    user_by_id: HashMap<String, u64>,
    user_by_email: HashMap<String, u64>,
    user_by_ext: HashMap<String, u64>,
    orgs: BTreeMap<u64, Org>,
    org_by_id: HashMap<String, u64>,
    org_by_ext: HashMap<String, u64>,
    memberships: BTreeMap<u64, Membership>,
    om_by_id: HashMap<String, u64>,
    om_by_pair: HashMap<(String, String), u64>,
    om_by_user: HashMap<String, SeqSet>,
    om_by_org: HashMap<String, SeqSet>,
    permissions: BTreeMap<u64, Permission>,
    perm_by_slug: HashMap<String, u64>,
    roles: BTreeMap<u64, Role>,
    env_role_by_slug: HashMap<String, u64>,
    org_role_by_key: HashMap<(String, String), u64>,
    org_roles_by_org: HashMap<String, SeqSet>,
    factors: BTreeMap<u64, Factor>,
    factor_by_id: HashMap<String, u64>,
    factors_by_user: HashMap<String, SeqSet>,
}

impl Data {
    fn new(environment_roles: &[String]) -> Self {
        let mut d = Data::default();
        let now = now_iso();
        let mut slugs = vec!["member".to_string()];
        for s in environment_roles {
            if !slugs.contains(s) {
                slugs.push(s.clone());
            }
        }
        for slug in slugs {
            let (seq, id) = d.next_id("role");
            d.insert_role(Role {
                seq,
                id,
                name: title_case(&slug),
                slug,
                description: None,
                organization_id: None,
                resource_type_slug: "organization".to_string(),
                permissions: Vec::new(),
                created_at: now.clone(),
                updated_at: now.clone(),
            });
        }
        d
    }

    fn next_id(&mut self, prefix: &str) -> (u64, String) {
        self.seq += 1;
        (self.seq, make_id(prefix, self.seq))
    }

    fn insert_user(&mut self, u: User) {
        self.user_by_id.insert(u.id.clone(), u.seq);
        self.user_by_email.insert(u.email.to_lowercase(), u.seq);
        if let Some(e) = &u.external_id {
            self.user_by_ext.insert(e.clone(), u.seq);
        }
        self.users.insert(u.seq, u);
    }

    fn insert_org(&mut self, o: Org) {
        self.org_by_id.insert(o.id.clone(), o.seq);
        if let Some(e) = &o.external_id {
            self.org_by_ext.insert(e.clone(), o.seq);
        }
        self.orgs.insert(o.seq, o);
    }

    fn insert_membership(&mut self, m: Membership) {
        self.om_by_id.insert(m.id.clone(), m.seq);
        self.om_by_pair
            .insert((m.user_id.clone(), m.organization_id.clone()), m.seq);
        self.om_by_user
            .entry(m.user_id.clone())
            .or_default()
            .insert(m.seq, ());
        self.om_by_org
            .entry(m.organization_id.clone())
            .or_default()
            .insert(m.seq, ());
        self.memberships.insert(m.seq, m);
    }

    fn insert_role(&mut self, r: Role) {
        match &r.organization_id {
            None => {
                self.env_role_by_slug.insert(r.slug.clone(), r.seq);
            }
            Some(org) => {
                self.org_role_by_key
                    .insert((org.clone(), r.slug.clone()), r.seq);
                self.org_roles_by_org
                    .entry(org.clone())
                    .or_default()
                    .insert(r.seq, ());
            }
        }
        self.roles.insert(r.seq, r);
    }

    fn remove_membership(&mut self, seq: u64) {
        let Some(m) = self.memberships.remove(&seq) else {
            return;
        };
        self.om_by_id.remove(&m.id);
        self.om_by_pair
            .remove(&(m.user_id.clone(), m.organization_id.clone()));
        if let Some(set) = self.om_by_user.get_mut(&m.user_id) {
            set.remove(&seq);
        }
        if let Some(set) = self.om_by_org.get_mut(&m.organization_id) {
            set.remove(&seq);
        }
    }

    fn remove_user(&mut self, seq: u64) {
        let Some(u) = self.users.remove(&seq) else {
            return;
        };
        self.user_by_id.remove(&u.id);
        self.user_by_email.remove(&u.email.to_lowercase());
        if let Some(e) = &u.external_id {
            self.user_by_ext.remove(e);
        }
        if let Some(set) = self.om_by_user.remove(&u.id) {
            for om in set.keys() {
                if let Some(m) = self.memberships.remove(om) {
                    self.om_by_id.remove(&m.id);
                    self.om_by_pair
                        .remove(&(m.user_id.clone(), m.organization_id.clone()));
                    if let Some(s) = self.om_by_org.get_mut(&m.organization_id) {
                        s.remove(om);
                    }
                }
            }
        }
        if let Some(set) = self.factors_by_user.remove(&u.id) {
            for f in set.keys() {
                if let Some(f) = self.factors.remove(f) {
                    self.factor_by_id.remove(&f.id);
                }
            }
        }
    }

    fn remove_org(&mut self, seq: u64) {
        let Some(o) = self.orgs.remove(&seq) else {
            return;
        };
        self.org_by_id.remove(&o.id);
        if let Some(e) = &o.external_id {
            self.org_by_ext.remove(e);
        }
        if let Some(set) = self.om_by_org.remove(&o.id) {
            for om in set.keys() {
                if let Some(m) = self.memberships.remove(om) {
                    self.om_by_id.remove(&m.id);
                    self.om_by_pair
                        .remove(&(m.user_id.clone(), m.organization_id.clone()));
                    if let Some(s) = self.om_by_user.get_mut(&m.user_id) {
                        s.remove(om);
                    }
                }
            }
        }
        if let Some(set) = self.org_roles_by_org.remove(&o.id) {
            for r in set.keys() {
                if let Some(r) = self.roles.remove(r) {
                    self.org_role_by_key.remove(&(o.id.clone(), r.slug));
                }
            }
        }
    }

    fn user(&self, id: &str) -> Option<&User> {
        self.user_by_id.get(id).and_then(|s| self.users.get(s))
    }

    fn org(&self, id: &str) -> Option<&Org> {
        self.org_by_id.get(id).and_then(|s| self.orgs.get(s))
    }

    fn membership_json(&self, m: &Membership) -> Value {
        let primary = m.role_slugs.first().cloned().unwrap_or_default();
        let roles: Vec<Value> = m.role_slugs.iter().map(|s| json!({"slug": s})).collect();
        json!({
            "object": "organization_membership",
            "id": m.id,
            "user_id": m.user_id,
            "organization_id": m.organization_id,
            "organization_name": self.org(&m.organization_id).map(|o| o.name.clone()),
            "status": m.status,
            "directory_managed": false,
            "custom_attributes": {},
            "role": {"slug": primary},
            "roles": roles,
            "user": self.user(&m.user_id).map(User::to_json),
            "created_at": m.created_at,
            "updated_at": m.updated_at,
        })
    }

    /// Role slugs of a membership create/update: `None` when neither field
    /// was given. Checks mutual exclusion, "multiple roles" and existence
    /// (environment role or a role of `org_id`).
    fn role_slugs(
        &self,
        m: &Map<String, Value>,
        org_id: &str,
        multiple_roles_enabled: bool,
    ) -> R<Option<Vec<String>>> {
        let one = get_str(m, "role_slug")?;
        let many = get_str_list(m, "role_slugs")?;
        let slugs = match (one, many) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "role_slugs",
                    "mutually_exclusive",
                    "Only one of role_slug or role_slugs may be provided.",
                ))
            }
            (Some(s), None) => vec![s],
            (None, Some(list)) => {
                let mut out: Vec<String> = Vec::with_capacity(list.len());
                for s in list {
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
                out
            }
            (None, None) => return Ok(None),
        };
        if slugs.is_empty() {
            return Ok(None);
        }
        if slugs.len() > 1 && !multiple_roles_enabled {
            return Err(err_code(
                422,
                "multiple_roles_not_enabled",
                "Multiple roles are not enabled for this environment.",
            ));
        }
        for s in &slugs {
            let known = self.env_role_by_slug.contains_key(s)
                || self
                    .org_role_by_key
                    .contains_key(&(org_id.to_string(), s.clone()));
            if !known {
                return Err(err_code(
                    422,
                    "invalid_role",
                    format!("Role '{s}' is not a valid role."),
                ));
            }
        }
        Ok(Some(slugs))
    }

    /// Environment roles then the organization's roles, as one seq set.
    fn roles_for_org(&self, org_id: &str) -> SeqSet {
        let mut set: SeqSet = self.env_role_by_slug.values().map(|s| (*s, ())).collect();
        if let Some(org) = self.org_roles_by_org.get(org_id) {
            set.extend(org.keys().map(|s| (*s, ())));
        }
        set
    }
}

// ---------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------

enum Route {
    CreateUser,
    ListUsers,
    GetUser(String),
    GetUserByExt(String),
    UpdateUser(String),
    DeleteUser(String),
    CreateFactor(String),
    ListFactors(String),
    DeleteFactor(String),
    CreateMembership,
    ListMemberships,
    GetMembership(String),
    UpdateMembership(String),
    DeleteMembership(String),
    DeactivateMembership(String),
    ReactivateMembership(String),
    CreateOrg,
    ListOrgs,
    GetOrg(String),
    GetOrgByExt(String),
    UpdateOrg(String),
    DeleteOrg(String),
    ListOrgRolesLegacy(String),
    CreatePermission,
    ListPermissions,
    GetPermission(String),
    UpdatePermission(String),
    DeletePermission(String),
    CreateEnvRole,
    ListEnvRoles,
    GetEnvRole(String),
    UpdateEnvRole(String),
    SetEnvRolePermissions(String),
    AddEnvRolePermission(String),
    CreateOrgRole(String),
    ListOrgRoles(String),
    GetOrgRole(String, String),
    UpdateOrgRole(String, String),
    DeleteOrgRole(String, String),
    SetOrgRolePermissions(String, String),
    AddOrgRolePermission(String, String),
    RemoveOrgRolePermission(String, String, String),
    NotFound,
}

fn classify(method: &Method, path: &str) -> (Route, &'static str) {
    use Route::*;
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| pct_decode(s, false))
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let o = |x: &str| x.to_string();
    let m = method.as_str();
    match (m, s.as_slice()) {
        ("POST", ["user_management", "users"]) => (CreateUser, "POST /user_management/users"),
        ("GET", ["user_management", "users"]) => (ListUsers, "GET /user_management/users"),
        ("GET", ["user_management", "users", "external_id", rest @ ..]) if !rest.is_empty() => (
            GetUserByExt(rest.join("/")),
            "GET /user_management/users/external_id/{external_id}",
        ),
        ("GET", ["user_management", "users", id]) => {
            (GetUser(o(id)), "GET /user_management/users/{id}")
        }
        ("PUT", ["user_management", "users", id]) => {
            (UpdateUser(o(id)), "PUT /user_management/users/{id}")
        }
        ("DELETE", ["user_management", "users", id]) => {
            (DeleteUser(o(id)), "DELETE /user_management/users/{id}")
        }
        ("POST", ["user_management", "users", id, "auth_factors"]) => (
            CreateFactor(o(id)),
            "POST /user_management/users/{id}/auth_factors",
        ),
        ("GET", ["user_management", "users", id, "auth_factors"]) => (
            ListFactors(o(id)),
            "GET /user_management/users/{id}/auth_factors",
        ),
        ("DELETE", ["auth", "factors", id]) => (DeleteFactor(o(id)), "DELETE /auth/factors/{id}"),
        ("POST", ["user_management", "organization_memberships"]) => (
            CreateMembership,
            "POST /user_management/organization_memberships",
        ),
        ("GET", ["user_management", "organization_memberships"]) => (
            ListMemberships,
            "GET /user_management/organization_memberships",
        ),
        ("GET", ["user_management", "organization_memberships", id]) => (
            GetMembership(o(id)),
            "GET /user_management/organization_memberships/{id}",
        ),
        ("PUT", ["user_management", "organization_memberships", id]) => (
            UpdateMembership(o(id)),
            "PUT /user_management/organization_memberships/{id}",
        ),
        ("DELETE", ["user_management", "organization_memberships", id]) => (
            DeleteMembership(o(id)),
            "DELETE /user_management/organization_memberships/{id}",
        ),
        ("PUT", ["user_management", "organization_memberships", id, "deactivate"]) => (
            DeactivateMembership(o(id)),
            "PUT /user_management/organization_memberships/{id}/deactivate",
        ),
        ("PUT", ["user_management", "organization_memberships", id, "reactivate"]) => (
            ReactivateMembership(o(id)),
            "PUT /user_management/organization_memberships/{id}/reactivate",
        ),
        ("POST", ["organizations"]) => (CreateOrg, "POST /organizations"),
        ("GET", ["organizations"]) => (ListOrgs, "GET /organizations"),
        ("GET", ["organizations", "external_id", rest @ ..]) if !rest.is_empty() => (
            GetOrgByExt(rest.join("/")),
            "GET /organizations/external_id/{external_id}",
        ),
        ("GET", ["organizations", id]) => (GetOrg(o(id)), "GET /organizations/{id}"),
        ("PUT", ["organizations", id]) => (UpdateOrg(o(id)), "PUT /organizations/{id}"),
        ("DELETE", ["organizations", id]) => (DeleteOrg(o(id)), "DELETE /organizations/{id}"),
        ("GET", ["organizations", id, "roles"]) => (
            ListOrgRolesLegacy(o(id)),
            "GET /organizations/{id}/roles",
        ),
        ("POST", ["authorization", "permissions"]) => {
            (CreatePermission, "POST /authorization/permissions")
        }
        ("GET", ["authorization", "permissions"]) => {
            (ListPermissions, "GET /authorization/permissions")
        }
        ("GET", ["authorization", "permissions", slug]) => (
            GetPermission(o(slug)),
            "GET /authorization/permissions/{slug}",
        ),
        ("PATCH", ["authorization", "permissions", slug]) => (
            UpdatePermission(o(slug)),
            "PATCH /authorization/permissions/{slug}",
        ),
        ("DELETE", ["authorization", "permissions", slug]) => (
            DeletePermission(o(slug)),
            "DELETE /authorization/permissions/{slug}",
        ),
        ("POST", ["authorization", "roles"]) => (CreateEnvRole, "POST /authorization/roles"),
        ("GET", ["authorization", "roles"]) => (ListEnvRoles, "GET /authorization/roles"),
        ("GET", ["authorization", "roles", slug]) => {
            (GetEnvRole(o(slug)), "GET /authorization/roles/{slug}")
        }
        ("PATCH", ["authorization", "roles", slug]) => {
            (UpdateEnvRole(o(slug)), "PATCH /authorization/roles/{slug}")
        }
        ("PUT", ["authorization", "roles", slug, "permissions"]) => (
            SetEnvRolePermissions(o(slug)),
            "PUT /authorization/roles/{slug}/permissions",
        ),
        ("POST", ["authorization", "roles", slug, "permissions"]) => (
            AddEnvRolePermission(o(slug)),
            "POST /authorization/roles/{slug}/permissions",
        ),
        ("POST", ["authorization", "organizations", org, "roles"]) => (
            CreateOrgRole(o(org)),
            "POST /authorization/organizations/{organization_id}/roles",
        ),
        ("GET", ["authorization", "organizations", org, "roles"]) => (
            ListOrgRoles(o(org)),
            "GET /authorization/organizations/{organization_id}/roles",
        ),
        ("GET", ["authorization", "organizations", org, "roles", slug]) => (
            GetOrgRole(o(org), o(slug)),
            "GET /authorization/organizations/{organization_id}/roles/{slug}",
        ),
        ("PATCH", ["authorization", "organizations", org, "roles", slug]) => (
            UpdateOrgRole(o(org), o(slug)),
            "PATCH /authorization/organizations/{organization_id}/roles/{slug}",
        ),
        ("DELETE", ["authorization", "organizations", org, "roles", slug]) => (
            DeleteOrgRole(o(org), o(slug)),
            "DELETE /authorization/organizations/{organization_id}/roles/{slug}",
        ),
        ("PUT", ["authorization", "organizations", org, "roles", slug, "permissions"]) => (
            SetOrgRolePermissions(o(org), o(slug)),
            "PUT /authorization/organizations/{organization_id}/roles/{slug}/permissions",
        ),
        ("POST", ["authorization", "organizations", org, "roles", slug, "permissions"]) => (
            AddOrgRolePermission(o(org), o(slug)),
            "POST /authorization/organizations/{organization_id}/roles/{slug}/permissions",
        ),
        ("DELETE", ["authorization", "organizations", org, "roles", slug, "permissions", perm]) => (
            RemoveOrgRolePermission(o(org), o(slug), o(perm)),
            "DELETE /authorization/organizations/{organization_id}/roles/{slug}/permissions/{permission_slug}",
        ),
        ("GET", _) => (NotFound, "GET (unmatched)"),
        ("POST", _) => (NotFound, "POST (unmatched)"),
        ("PUT", _) => (NotFound, "PUT (unmatched)"),
        ("PATCH", _) => (NotFound, "PATCH (unmatched)"),
        ("DELETE", _) => (NotFound, "DELETE (unmatched)"),
        _ => (NotFound, "OTHER (unmatched)"),
    }
}

// ---------------------------------------------------------------------------
// Rate limiting
// ---------------------------------------------------------------------------

/// Sliding-window log: at most `limit` accepted requests in any `span`.
struct Window {
    limit: usize,
    span: Duration,
    log: VecDeque<Instant>,
}

impl Window {
    fn new(limit: usize, span: Duration) -> Self {
        Self {
            limit,
            span,
            log: VecDeque::with_capacity(limit + 1),
        }
    }

    /// How long until a slot frees, or `None` when one is free now.
    fn wait(&mut self, now: Instant) -> Option<Duration> {
        while let Some(&t) = self.log.front() {
            if now.saturating_duration_since(t) >= self.span {
                self.log.pop_front();
            } else {
                break;
            }
        }
        if self.log.len() >= self.limit {
            let oldest = self.log[self.log.len() - self.limit];
            Some((oldest + self.span).saturating_duration_since(now))
        } else {
            None
        }
    }
}

/// The documented limits: general 6,000 / 60 s; `/user_management/*`
/// writes 500 / 10 s and reads 1,000 / 10 s; `DELETE /organizations/*`
/// 50 / 60 s.
struct Limiter {
    general: Window,
    um_writes: Window,
    um_reads: Window,
    org_deletes: Window,
}

impl Limiter {
    fn new() -> Self {
        Self {
            general: Window::new(6_000, Duration::from_secs(60)),
            um_writes: Window::new(500, Duration::from_secs(10)),
            um_reads: Window::new(1_000, Duration::from_secs(10)),
            org_deletes: Window::new(50, Duration::from_secs(60)),
        }
    }

    /// Admits the request (recording it in every applicable window) or
    /// returns `Retry-After` seconds (rounded up, at least 1).
    fn admit(
        &mut self,
        now: Instant,
        is_write: bool,
        user_management: bool,
        org_delete: bool,
    ) -> Result<(), u64> {
        let mut wait = self.general.wait(now);
        if user_management {
            let w = if is_write {
                self.um_writes.wait(now)
            } else {
                self.um_reads.wait(now)
            };
            wait = wait.max(w);
        }
        if org_delete {
            wait = wait.max(self.org_deletes.wait(now));
        }
        if let Some(d) = wait {
            let secs = d.as_nanos().div_ceil(1_000_000_000);
            return Err(u64::try_from(secs).unwrap_or(u64::MAX).max(1));
        }
        self.general.log.push_back(now);
        if user_management {
            if is_write {
                self.um_writes.log.push_back(now);
            } else {
                self.um_reads.log.push_back(now);
            }
        }
        if org_delete {
            self.org_deletes.log.push_back(now);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Server state
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Counters {
    /// API requests being handled now (a slow answer counts until sent).
    in_flight: u64,
    max_in_flight: u64,
    total_requests: u64,
    rate_limited: u64,
    faults_injected: u64,
    writes: u64,
    reads: u64,
    unauthorized: u64,
    by_route: HashMap<&'static str, u64>,
    faults_by_kind: HashMap<&'static str, u64>,
    first_request_at: Option<Instant>,
    last_request_at: Option<Instant>,
    write_log: VecDeque<Instant>,
    max_writes_in_any_10s_window: u64,
    forbidden: u64,
    admitted: u64,
    um_read_log: VecDeque<Instant>,
    max_um_reads_10s: u64,
    request_log_60s: VecDeque<Instant>,
    max_requests_60s: u64,
    first_admitted_at: Option<Instant>,
    last_admitted_at: Option<Instant>,
}

/// Pushes `now` into a sliding-window log of `span`; returns its length.
fn window_push(log: &mut VecDeque<Instant>, now: Instant, span: Duration) -> u64 {
    while let Some(&t) = log.front() {
        if now.saturating_duration_since(t) >= span {
            log.pop_front();
        } else {
            break;
        }
    }
    log.push_back(now);
    log.len() as u64
}

impl Counters {
    /// Records a request the budgets count (authorized, not 429).
    fn admit(&mut self, now: Instant, user_management_read: bool) {
        self.admitted += 1;
        self.first_admitted_at.get_or_insert(now);
        self.last_admitted_at = Some(now);
        let n = window_push(&mut self.request_log_60s, now, Duration::from_secs(60));
        self.max_requests_60s = self.max_requests_60s.max(n);
        if user_management_read {
            let n = window_push(&mut self.um_read_log, now, Duration::from_secs(10));
            self.max_um_reads_10s = self.max_um_reads_10s.max(n);
        }
    }

    fn fault(&mut self, kind: &'static str) {
        self.faults_injected += 1;
        *self.faults_by_kind.entry(kind).or_insert(0) += 1;
    }
}

struct State {
    api_key: String,
    forbidden_key: Option<String>,
    rate_limits: bool,
    multiple_roles_enabled: bool,
    environment_roles: Vec<String>,
    faults: FaultPlan,
    seed: u64,
    fault_rng: Rng,
    misc_rng: Rng,
    data: Data,
    counters: Counters,
    limiter: Limiter,
    storm_counter: u64,
    storm_remaining: u64,
    request_seq: u64,
    log: VecDeque<RecordedRequest>,
}

impl State {
    fn new(c: FakeWorkOsConfig) -> Self {
        Self {
            data: Data::new(&c.environment_roles),
            api_key: c.api_key,
            forbidden_key: c.forbidden_key,
            rate_limits: c.rate_limits,
            multiple_roles_enabled: c.multiple_roles_enabled,
            environment_roles: c.environment_roles,
            faults: c.faults,
            seed: c.seed,
            fault_rng: Rng(c.seed),
            misc_rng: Rng(splitmix(c.seed ^ 0x0DDB_A11C_AFE0_0001)),
            counters: Counters::default(),
            limiter: Limiter::new(),
            storm_counter: 0,
            storm_remaining: 0,
            request_seq: 0,
            log: VecDeque::new(),
        }
    }

    fn reset(&mut self) {
        self.data = Data::new(&self.environment_roles);
        self.counters = Counters::default();
        self.limiter = Limiter::new();
        self.fault_rng = Rng(self.seed);
        self.misc_rng = Rng(splitmix(self.seed ^ 0x0DDB_A11C_AFE0_0001));
        self.storm_counter = 0;
        self.storm_remaining = 0;
        self.log.clear();
    }

    fn set_faults(&mut self, plan: FaultPlan) {
        self.faults = plan;
        self.storm_counter = 0;
        self.storm_remaining = 0;
    }

    fn stats(&self) -> FakeStats {
        let c = &self.counters;
        FakeStats {
            max_in_flight: c.max_in_flight,
            total_requests: c.total_requests,
            rate_limited: c.rate_limited,
            faults_injected: c.faults_injected,
            writes: c.writes,
            reads: c.reads,
            by_route: c
                .by_route
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            first_request_at: c.first_request_at,
            last_request_at: c.last_request_at,
            max_writes_in_any_10s_window: c.max_writes_in_any_10s_window,
            faults_by_kind: c
                .faults_by_kind
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            unauthorized: c.unauthorized,
            forbidden: c.forbidden,
            admitted: c.admitted,
            max_user_management_reads_in_any_10s_window: c.max_um_reads_10s,
            max_requests_in_any_60s_window: c.max_requests_60s,
            first_admitted_at: c.first_admitted_at,
            last_admitted_at: c.last_admitted_at,
        }
    }

    fn next_request_id(&mut self) -> String {
        self.request_seq += 1;
        make_id("req", self.request_seq)
    }

    fn out(&mut self, reply: Reply) -> Out {
        Out {
            status: reply.status,
            body: reply.body.map_or(OutBody::Empty, OutBody::Json),
            request_id: self.next_request_id(),
            retry_after: None,
        }
    }

    fn too_many(&mut self, retry_after: u64) -> Out {
        Out {
            status: 429,
            body: OutBody::Json(json!({
                "code": "rate_limit_exceeded",
                "message": "Too many requests.",
            })),
            request_id: self.next_request_id(),
            retry_after: Some(retry_after),
        }
    }

    /// The admin surface (no auth, not counted).
    fn admin(&mut self, method: &Method, path: &str, body: &[u8]) -> Out {
        let reply = match (method.as_str(), path.trim_end_matches('/')) {
            ("GET", "/__fake/state") => Reply::ok(self.state_json()),
            ("POST", "/__fake/faults") => {
                match serde_json::from_slice::<Value>(body)
                    .map_err(|e| e.to_string())
                    .and_then(|v| FaultPlan::from_json(&v))
                {
                    Ok(plan) => {
                        self.set_faults(plan);
                        Reply::ok(json!({"faults": self.faults.to_json()}))
                    }
                    Err(e) => err_code(400, "bad_request", e),
                }
            }
            ("POST", "/__fake/reset") => {
                self.reset();
                Reply::ok(json!({"reset": true}))
            }
            ("POST", "/__fake/rate_limits") | ("POST", "/__fake/multiple_roles") => {
                let on = serde_json::from_slice::<Value>(body)
                    .ok()
                    .and_then(|v| v.get("enabled").and_then(Value::as_bool));
                match on {
                    Some(on) => {
                        if path.contains("rate_limits") {
                            self.rate_limits = on;
                        } else {
                            self.multiple_roles_enabled = on;
                        }
                        Reply::ok(self.state_json())
                    }
                    None => err_code(400, "bad_request", "expected {\"enabled\": true|false}"),
                }
            }
            _ => err_msg(
                404,
                format!("The requested path '{path}' could not be found."),
            ),
        };
        self.out(reply)
    }

    fn state_json(&self) -> Value {
        let d = &self.data;
        json!({
            "counts": {
                "users": d.users.len(),
                "organizations": d.orgs.len(),
                "memberships": d.memberships.len(),
                "permissions": d.permissions.len(),
                "roles": d.roles.len(),
                "environment_roles": d.env_role_by_slug.len(),
                "organization_roles": d.org_role_by_key.len(),
                "auth_factors": d.factors.len(),
            },
            "config": {
                "rate_limits": self.rate_limits,
                "multiple_roles_enabled": self.multiple_roles_enabled,
                "faults": self.faults.to_json(),
            },
            "stats": self.stats().to_json(),
        })
    }

    /// One API request: record, authenticate, storm, rate limit, faults,
    /// apply.
    fn process(
        &mut self,
        method: &Method,
        uri: &Uri,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Outcome {
        let now = Instant::now();
        let path = uri.path();
        let (route, template) = classify(method, path);
        let is_write = !matches!(*method, Method::GET | Method::HEAD);
        {
            let c = &mut self.counters;
            c.total_requests += 1;
            c.first_request_at.get_or_insert(now);
            c.last_request_at = Some(now);
            if is_write {
                c.writes += 1;
            } else {
                c.reads += 1;
            }
            *c.by_route.entry(template).or_insert(0) += 1;
        }
        if self.log.len() >= RECORDED_LOG_CAP {
            self.log.pop_front();
        }
        self.log.push_back(RecordedRequest {
            method: method.as_str().to_string(),
            path_and_query: uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            authorization: authorization.map(str::to_string),
            at: now,
        });

        let bearer = authorization.and_then(|a| a.strip_prefix("Bearer "));
        if bearer.is_some() && bearer == self.forbidden_key.as_deref() {
            self.counters.forbidden += 1;
            let reply = err_msg(
                403,
                "Forbidden: this API key does not have access to this resource.",
            );
            return Outcome::Respond {
                out: self.out(reply),
                delay: None,
            };
        }
        let authorized = bearer.is_some_and(|k| k == self.api_key);
        if !authorized {
            self.counters.unauthorized += 1;
            let reply = err_code(
                401,
                "unauthorized",
                "Could not authorize the request. Maybe your API key is invalid?",
            );
            return Outcome::Respond {
                out: self.out(reply),
                delay: None,
            };
        }

        // 429 storms.
        self.storm_counter += 1;
        let plan = &self.faults;
        if plan.storm_every > 0
            && plan.storm_len > 0
            && self.storm_counter.is_multiple_of(plan.storm_every)
        {
            self.storm_remaining = plan.storm_len;
        }
        if self.storm_remaining > 0 {
            self.storm_remaining -= 1;
            self.counters.rate_limited += 1;
            self.counters.fault("storm_429");
            let secs = self.faults.storm_retry_after_secs;
            return Outcome::Respond {
                out: self.too_many(secs),
                delay: None,
            };
        }

        // Documented rate limits.
        if self.rate_limits {
            let user_management = path.starts_with("/user_management/");
            let org_delete = *method == Method::DELETE && path.starts_with("/organizations/");
            if let Err(secs) = self
                .limiter
                .admit(now, is_write, user_management, org_delete)
            {
                self.counters.rate_limited += 1;
                return Outcome::Respond {
                    out: self.too_many(secs),
                    delay: None,
                };
            }
        }

        self.counters
            .admit(now, !is_write && path.starts_with("/user_management/"));
        if is_write {
            let c = &mut self.counters;
            while let Some(&t) = c.write_log.front() {
                if now.saturating_duration_since(t) >= Duration::from_secs(10) {
                    c.write_log.pop_front();
                } else {
                    break;
                }
            }
            c.write_log.push_back(now);
            c.max_writes_in_any_10s_window =
                c.max_writes_in_any_10s_window.max(c.write_log.len() as u64);
        }

        // Injected server errors (nothing applied).
        let plan = self.faults.clone();
        if self.fault_rng.chance(plan.error_rate) {
            let pick = self.fault_rng.next_u64() % 10;
            let (status, kind, body) = match pick {
                0..=3 => (
                    500,
                    "error_500",
                    OutBody::Json(json!({"message": "Internal Server Error"})),
                ),
                4..=6 => (
                    503,
                    "error_503",
                    OutBody::Json(json!({
                        "code": "service_unavailable",
                        "message": "The service is temporarily unavailable. Please try again.",
                    })),
                ),
                _ => (502, "error_502", OutBody::Html(PROXY_502_HTML)),
            };
            self.counters.fault(kind);
            let out = Out {
                status,
                body,
                request_id: self.next_request_id(),
                retry_after: None,
            };
            return Outcome::Respond { out, delay: None };
        }
        if self.fault_rng.chance(plan.drop_before_rate) {
            self.counters.fault("drop_before");
            return Outcome::Drop;
        }

        let reply = self.apply(route, uri.query(), body);

        if self.fault_rng.chance(plan.drop_after_rate) {
            self.counters.fault("drop_after");
            return Outcome::Drop;
        }
        let delay = if self.fault_rng.chance(plan.slow_rate) {
            self.counters.fault("slow");
            Some(plan.slow_delay)
        } else {
            None
        };
        Outcome::Respond {
            out: self.out(reply),
            delay,
        }
    }

    fn apply(&mut self, route: Route, query: Option<&str>, body: &[u8]) -> Reply {
        let q = parse_query(query);
        let result = match route {
            Route::NotFound => Err(err_msg(404, "The requested path could not be found.")),
            Route::CreateUser => body_map(body).and_then(|m| self.create_user(&m)),
            Route::ListUsers => self.list_users(&q),
            Route::GetUser(id) => self
                .data
                .user(&id)
                .map(|u| Reply::ok(u.to_json()))
                .ok_or_else(|| not_found("User", &id)),
            Route::GetUserByExt(ext) => self
                .data
                .user_by_ext
                .get(&ext)
                .and_then(|s| self.data.users.get(s))
                .map(|u| Reply::ok(u.to_json()))
                .ok_or_else(|| not_found("User", &ext)),
            Route::UpdateUser(id) => body_map(body).and_then(|m| self.update_user(&id, &m)),
            Route::DeleteUser(id) => match self.data.user_by_id.get(&id).copied() {
                Some(seq) => {
                    self.data.remove_user(seq);
                    Ok(Reply::no_content())
                }
                None => Err(not_found("User", &id)),
            },
            Route::CreateFactor(uid) => body_map(body).and_then(|m| self.create_factor(&uid, &m)),
            Route::ListFactors(uid) => self.list_factors(&uid, &q),
            Route::DeleteFactor(id) => match self.data.factor_by_id.remove(&id) {
                Some(seq) => {
                    if let Some(f) = self.data.factors.remove(&seq) {
                        if let Some(set) = self.data.factors_by_user.get_mut(&f.user_id) {
                            set.remove(&seq);
                        }
                    }
                    Ok(Reply::no_content())
                }
                None => Err(not_found("Authentication factor", &id)),
            },
            Route::CreateMembership => body_map(body).and_then(|m| self.create_membership(&m)),
            Route::ListMemberships => self.list_memberships(&q),
            Route::GetMembership(id) => self
                .membership_seq(&id)
                .map(|seq| Reply::ok(self.om_json(seq))),
            Route::UpdateMembership(id) => {
                body_map(body).and_then(|m| self.update_membership(&id, &m))
            }
            Route::DeleteMembership(id) => self.membership_seq(&id).map(|seq| {
                self.data.remove_membership(seq);
                Reply::no_content()
            }),
            Route::DeactivateMembership(id) => self.set_membership_status(&id, "inactive"),
            Route::ReactivateMembership(id) => self.set_membership_status(&id, "active"),
            Route::CreateOrg => body_map(body).and_then(|m| self.create_org(&m)),
            Route::ListOrgs => self.list_orgs(&q),
            Route::GetOrg(id) => self
                .data
                .org(&id)
                .map(|o| Reply::ok(o.to_json()))
                .ok_or_else(|| not_found("Organization", &id)),
            Route::GetOrgByExt(ext) => self
                .data
                .org_by_ext
                .get(&ext)
                .and_then(|s| self.data.orgs.get(s))
                .map(|o| Reply::ok(o.to_json()))
                .ok_or_else(|| not_found("Organization", &ext)),
            Route::UpdateOrg(id) => body_map(body).and_then(|m| self.update_org(&id, &m)),
            Route::DeleteOrg(id) => match self.data.org_by_id.get(&id).copied() {
                Some(seq) => {
                    self.data.remove_org(seq);
                    Ok(Reply::no_content())
                }
                None => Err(not_found("Organization", &id)),
            },
            Route::ListOrgRolesLegacy(org) => self.list_org_roles(&org, Some(&q)),
            Route::CreatePermission => body_map(body).and_then(|m| self.create_permission(&m)),
            Route::ListPermissions => self.list_permissions(&q),
            Route::GetPermission(slug) => self
                .data
                .perm_by_slug
                .get(&slug)
                .and_then(|s| self.data.permissions.get(s))
                .map(|p| Reply::ok(p.to_json()))
                .ok_or_else(|| not_found("Permission", &slug)),
            Route::UpdatePermission(slug) => {
                body_map(body).and_then(|m| self.update_permission(&slug, &m))
            }
            Route::DeletePermission(slug) => self.delete_permission(&slug),
            Route::CreateEnvRole => body_map(body).and_then(|m| self.create_env_role(&m)),
            Route::ListEnvRoles => {
                let data: Vec<Value> = self
                    .data
                    .roles
                    .values()
                    .filter(|r| r.organization_id.is_none())
                    .map(Role::to_json)
                    .collect();
                Ok(Reply::ok(json!({"object": "list", "data": data})))
            }
            Route::GetEnvRole(slug) => self
                .role_seq(None, &slug)
                .map(|seq| Reply::ok(self.data.roles[&seq].to_json())),
            Route::UpdateEnvRole(slug) => {
                body_map(body).and_then(|m| self.update_role(None, &slug, &m))
            }
            Route::SetEnvRolePermissions(slug) => {
                body_map(body).and_then(|m| self.set_role_permissions(None, &slug, &m))
            }
            Route::AddEnvRolePermission(slug) => {
                body_map(body).and_then(|m| self.add_role_permission(None, &slug, &m))
            }
            Route::CreateOrgRole(org) => {
                body_map(body).and_then(|m| self.create_org_role(&org, &m))
            }
            Route::ListOrgRoles(org) => self.list_org_roles(&org, None),
            Route::GetOrgRole(org, slug) => self
                .role_seq(Some(&org), &slug)
                .map(|seq| Reply::ok(self.data.roles[&seq].to_json())),
            Route::UpdateOrgRole(org, slug) => {
                body_map(body).and_then(|m| self.update_role(Some(&org), &slug, &m))
            }
            Route::DeleteOrgRole(org, slug) => self.role_seq(Some(&org), &slug).map(|seq| {
                self.data.roles.remove(&seq);
                self.data
                    .org_role_by_key
                    .remove(&(org.clone(), slug.clone()));
                if let Some(set) = self.data.org_roles_by_org.get_mut(&org) {
                    set.remove(&seq);
                }
                Reply::no_content()
            }),
            Route::SetOrgRolePermissions(org, slug) => {
                body_map(body).and_then(|m| self.set_role_permissions(Some(&org), &slug, &m))
            }
            Route::AddOrgRolePermission(org, slug) => {
                body_map(body).and_then(|m| self.add_role_permission(Some(&org), &slug, &m))
            }
            Route::RemoveOrgRolePermission(org, slug, perm) => {
                self.role_seq(Some(&org), &slug).map(|seq| {
                    if let Some(r) = self.data.roles.get_mut(&seq) {
                        r.permissions.retain(|p| *p != perm);
                        r.updated_at = now_iso();
                    }
                    Reply::no_content()
                })
            }
        };
        result.unwrap_or_else(|e| e)
    }

    // ----- users -----

    fn create_user(&mut self, m: &Map<String, Value>) -> R<Reply> {
        let email = match m.get("email") {
            Some(Value::String(s)) => s.trim().to_string(),
            None | Some(Value::Null) => {
                return Err(invalid("email", "required", "email is required."))
            }
            Some(_) => {
                return Err(invalid(
                    "email",
                    "must_be_string",
                    "email must be a string.",
                ))
            }
        };
        if !plausible_email(&email) {
            return Err(invalid(
                "email",
                "invalid_email",
                "email must be a valid email address.",
            ));
        }
        let first_name = get_str(m, "first_name")?;
        let last_name = get_str(m, "last_name")?;
        let name = get_str(m, "name")?;
        let locale = get_str(m, "locale")?;
        let email_verified = get_bool(m, "email_verified")?.unwrap_or(false);
        let external_id = get_str(m, "external_id")?;
        if let Some(e) = &external_id {
            check_external_id(e)?;
        }
        let metadata = match m.get("metadata") {
            None | Some(Value::Null) => Map::new(),
            Some(v) => check_metadata(v, false)?,
        };
        let password = check_password_group(m)?;

        let mut errors = Vec::new();
        if self.data.user_by_email.contains_key(&email.to_lowercase()) {
            errors.push(json!({
                "code": "email_not_available",
                "message": format!("The email address '{email}' is not available."),
            }));
        }
        if let Some(e) = &external_id {
            if self.data.user_by_ext.contains_key(e) {
                errors.push(json!({
                    "code": "external_id_already_used",
                    "message": format!("The external_id '{e}' has already been assigned to another user."),
                }));
            }
        }
        if !errors.is_empty() {
            return Err(Reply::json(
                400,
                json!({
                    "code": "user_creation_error",
                    "message": "Could not create user.",
                    "errors": errors,
                }),
            ));
        }

        let (seq, id) = self.data.next_id("user");
        let now = now_iso();
        let user = User {
            seq,
            id,
            email,
            email_verified,
            first_name,
            last_name,
            name,
            locale,
            external_id,
            metadata,
            password,
            created_at: now.clone(),
            updated_at: now,
        };
        let body = user.to_json();
        self.data.insert_user(user);
        Ok(Reply::created(body))
    }

    fn update_user(&mut self, id: &str, m: &Map<String, Value>) -> R<Reply> {
        let seq = *self
            .data
            .user_by_id
            .get(id)
            .ok_or_else(|| not_found("User", id))?;
        let email = get_str(m, "email")?.map(|e| e.trim().to_string());
        if let Some(e) = &email {
            if !plausible_email(e) {
                return Err(err_code(
                    400,
                    "invalid_email",
                    "The email address is not valid.",
                ));
            }
            if let Some(other) = self.data.user_by_email.get(&e.to_lowercase()) {
                if *other != seq {
                    return Err(err_code(
                        400,
                        "email_not_available",
                        format!("The email address '{e}' is not available."),
                    ));
                }
            }
        }
        let first_name = patch_str(m, "first_name")?;
        let last_name = patch_str(m, "last_name")?;
        let name = patch_str(m, "name")?;
        let locale = patch_str(m, "locale")?;
        let email_verified = get_bool(m, "email_verified")?;
        let external_id = patch_str(m, "external_id")?;
        if let Patch::Set(e) = &external_id {
            check_external_id(e)?;
            if let Some(other) = self.data.user_by_ext.get(e) {
                if *other != seq {
                    return Err(err_code(
                        400,
                        "external_id_already_used",
                        format!("The external_id '{e}' has already been assigned to another user."),
                    ));
                }
            }
        }
        let metadata = match m.get("metadata") {
            None | Some(Value::Null) => None,
            Some(v) => Some(check_metadata(v, true)?),
        };
        let password = check_password_group(m)?;

        let Some(user) = self.data.users.get(&seq) else {
            return Err(not_found("User", id));
        };
        let mut u = user.clone();
        if let Some(md) = metadata {
            merge_metadata(&mut u.metadata, md)?;
        }
        if let Some(e) = email {
            u.email = e;
        }
        for (field, patch) in [
            (&mut u.first_name, first_name),
            (&mut u.last_name, last_name),
            (&mut u.name, name),
            (&mut u.locale, locale),
            (&mut u.external_id, external_id),
        ] {
            match patch {
                Patch::Keep => {}
                Patch::Clear => *field = None,
                Patch::Set(v) => *field = Some(v),
            }
        }
        if let Some(v) = email_verified {
            u.email_verified = v;
        }
        if password.is_some() {
            u.password = password;
        }
        u.updated_at = now_iso();
        let body = u.to_json();
        // Re-index (email and external id may have changed).
        self.data.remove_user_indexes(seq);
        self.data.user_by_id.insert(u.id.clone(), seq);
        self.data.user_by_email.insert(u.email.to_lowercase(), seq);
        if let Some(e) = &u.external_id {
            self.data.user_by_ext.insert(e.clone(), seq);
        }
        self.data.users.insert(seq, u);
        Ok(Reply::ok(body))
    }

    fn list_users(&self, q: &[(String, String)]) -> R<Reply> {
        let p = page_params(q, true)?;
        let d = &self.data;
        let org = qget(q, "organization_id").or_else(|| qget(q, "organization"));
        let email = qget(q, "email").map(str::to_lowercase);
        let subset: Option<SeqSet> = match (org, &email) {
            (_, Some(e)) => Some(
                d.user_by_email
                    .get(e)
                    .map(|s| (*s, ()))
                    .into_iter()
                    .collect(),
            ),
            (Some(org), None) => Some(
                d.om_by_org
                    .get(org)
                    .map(|set| {
                        set.keys()
                            .filter_map(|om| d.memberships.get(om))
                            .filter_map(|m| d.user_by_id.get(&m.user_id))
                            .map(|s| (*s, ()))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            (None, None) => None,
        };
        let keep = |seq: u64| -> bool {
            let Some(u) = d.users.get(&seq) else {
                return false;
            };
            match org {
                Some(org) if email.is_some() => {
                    d.om_by_pair.contains_key(&(u.id.clone(), org.to_string()))
                }
                _ => true,
            }
        };
        let (seqs, before, after) = match &subset {
            Some(set) => paginate(set, &p, &keep),
            None => paginate(&d.users, &p, &keep),
        };
        let id = |s: u64| d.users.get(&s).map(|u| u.id.clone());
        let data = seqs
            .iter()
            .filter_map(|s| d.users.get(s))
            .map(User::to_json)
            .collect();
        Ok(Reply::ok(list_json(
            data,
            before.and_then(id),
            after.and_then(id),
        )))
    }

    // ----- auth factors -----

    fn create_factor(&mut self, user_id: &str, m: &Map<String, Value>) -> R<Reply> {
        let user = self
            .data
            .user(user_id)
            .ok_or_else(|| not_found("User", user_id))?;
        let user_email = user.email.clone();
        match m.get("type") {
            Some(Value::String(t)) if t == "totp" => {}
            None | Some(Value::Null) => {
                return Err(invalid("type", "required", "type is required."))
            }
            Some(_) => {
                return Err(invalid(
                    "type",
                    "invalid_enum_value",
                    "type must be 'totp'.",
                ))
            }
        }
        let issuer = get_str(m, "totp_issuer")?.unwrap_or_else(|| "Fake WorkOS Team".to_string());
        let totp_user = get_str(m, "totp_user")?.unwrap_or(user_email);
        let secret = match get_str(m, "totp_secret")? {
            Some(s) => {
                if !valid_base32_secret(&s) {
                    return Err(err_msg(
                        422,
                        "Invalid TOTP secret: it must be a Base32-encoded string (RFC 4648 alphabet A-Z, 2-7) of at least 16 characters.",
                    ));
                }
                s
            }
            None => self
                .misc_rng
                .base32(32, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
        };
        if self
            .data
            .factors_by_user
            .get(user_id)
            .is_some_and(|s| !s.is_empty())
        {
            return Err(err_msg(
                422,
                format!("TOTP factor already enrolled for user '{user_id}'."),
            ));
        }
        let (seq, id) = self.data.next_id("auth_factor");
        let (_, challenge_id) = self.data.next_id("auth_challenge");
        let now = now_iso();
        let factor = Factor {
            seq,
            id: id.clone(),
            user_id: user_id.to_string(),
            issuer,
            user: totp_user,
            secret,
            created_at: now.clone(),
        };
        let expires = (chrono::Utc::now() + chrono::TimeDelta::minutes(10))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let body = json!({
            "authentication_factor": factor.to_json(true),
            "authentication_challenge": {
                "object": "authentication_challenge",
                "id": challenge_id,
                "expires_at": expires,
                "authentication_factor_id": id,
                "created_at": now,
                "updated_at": now,
            },
        });
        self.data.factor_by_id.insert(id, seq);
        self.data
            .factors_by_user
            .entry(user_id.to_string())
            .or_default()
            .insert(seq, ());
        self.data.factors.insert(seq, factor);
        Ok(Reply::created(body))
    }

    fn list_factors(&self, user_id: &str, q: &[(String, String)]) -> R<Reply> {
        let p = page_params(q, true)?;
        let d = &self.data;
        if d.user(user_id).is_none() {
            return Err(not_found("User", user_id));
        }
        let empty = SeqSet::new();
        let set = d.factors_by_user.get(user_id).unwrap_or(&empty);
        let (seqs, before, after) = paginate(set, &p, &|_| true);
        let id = |s: u64| d.factors.get(&s).map(|f| f.id.clone());
        let data = seqs
            .iter()
            .filter_map(|s| d.factors.get(s))
            .map(|f| f.to_json(false))
            .collect();
        Ok(Reply::ok(list_json(
            data,
            before.and_then(id),
            after.and_then(id),
        )))
    }

    // ----- memberships -----

    fn membership_seq(&self, id: &str) -> R<u64> {
        self.data
            .om_by_id
            .get(id)
            .copied()
            .ok_or_else(|| not_found("Organization membership", id))
    }

    fn om_json(&self, seq: u64) -> Value {
        self.data
            .memberships
            .get(&seq)
            .map(|m| self.data.membership_json(m))
            .unwrap_or(Value::Null)
    }

    fn create_membership(&mut self, m: &Map<String, Value>) -> R<Reply> {
        let org_id = required_str(m, "organization_id")?;
        let user_id = required_str(m, "user_id")?;
        if self.data.org(&org_id).is_none() {
            return Err(not_found("Organization", &org_id));
        }
        if self.data.user(&user_id).is_none() {
            return Err(not_found("User", &user_id));
        }
        let slugs = self
            .data
            .role_slugs(m, &org_id, self.multiple_roles_enabled)?
            .unwrap_or_else(|| vec!["member".to_string()]);
        let pair = (user_id.clone(), org_id.clone());
        if let Some(&seq) = self.data.om_by_pair.get(&pair) {
            let Some(existing) = self.data.memberships.get_mut(&seq) else {
                return Err(not_found("Organization membership", &user_id));
            };
            return match existing.status {
                "active" => Err(err_code(
                    409,
                    "organization_membership_already_exists",
                    format!("User '{user_id}' is already a member of organization '{org_id}'."),
                )),
                "pending" => Err(err_code(
                    400,
                    "cannot_reactivate_pending_organization_membership",
                    "A pending organization membership cannot be reactivated.",
                )),
                _ => {
                    existing.status = "active";
                    existing.role_slugs = slugs;
                    existing.updated_at = now_iso();
                    Ok(Reply::created(self.om_json(seq)))
                }
            };
        }
        let (seq, id) = self.data.next_id("om");
        let now = now_iso();
        self.data.insert_membership(Membership {
            seq,
            id,
            user_id,
            organization_id: org_id,
            status: "active",
            role_slugs: slugs,
            created_at: now.clone(),
            updated_at: now,
        });
        Ok(Reply::created(self.om_json(seq)))
    }

    fn update_membership(&mut self, id: &str, m: &Map<String, Value>) -> R<Reply> {
        let seq = self.membership_seq(id)?;
        let org_id = self
            .data
            .memberships
            .get(&seq)
            .map(|om| om.organization_id.clone())
            .unwrap_or_default();
        if let Some(slugs) = self
            .data
            .role_slugs(m, &org_id, self.multiple_roles_enabled)?
        {
            if let Some(om) = self.data.memberships.get_mut(&seq) {
                om.role_slugs = slugs;
                om.updated_at = now_iso();
            }
        }
        Ok(Reply::ok(self.om_json(seq)))
    }

    fn set_membership_status(&mut self, id: &str, status: &'static str) -> R<Reply> {
        let seq = self.membership_seq(id)?;
        if let Some(om) = self.data.memberships.get_mut(&seq) {
            if om.status == "pending" && status == "active" {
                return Err(err_code(
                    400,
                    "cannot_reactivate_pending_organization_membership",
                    "A pending organization membership cannot be reactivated.",
                ));
            }
            if om.status != status {
                om.status = status;
                om.updated_at = now_iso();
            }
        }
        Ok(Reply::ok(self.om_json(seq)))
    }

    fn list_memberships(&self, q: &[(String, String)]) -> R<Reply> {
        let p = page_params(q, true)?;
        let d = &self.data;
        let user = qget(q, "user_id");
        let org = qget(q, "organization_id");
        let statuses: Vec<&str> = match qget(q, "statuses") {
            None => vec!["active"],
            Some(s) => {
                let list: Vec<&str> = s
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                if let Some(bad) = list
                    .iter()
                    .find(|s| !matches!(**s, "active" | "inactive" | "pending"))
                {
                    return Err(invalid(
                        "statuses",
                        "invalid_enum_value",
                        format!("Invalid status '{bad}'; expected active, inactive or pending."),
                    ));
                }
                list
            }
        };
        let empty = SeqSet::new();
        let set = match (user, org) {
            (Some(u), _) => d.om_by_user.get(u).unwrap_or(&empty),
            (None, Some(o)) => d.om_by_org.get(o).unwrap_or(&empty),
            (None, None) => {
                return Err(err_code(
                    400,
                    "missing_user_id_or_organization_id",
                    "Either user_id or organization_id must be provided.",
                ))
            }
        };
        let keep = |seq: u64| -> bool {
            d.memberships.get(&seq).is_some_and(|m| {
                statuses.contains(&m.status) && org.is_none_or(|o| m.organization_id == o)
            })
        };
        let (seqs, before, after) = paginate(set, &p, &keep);
        let id = |s: u64| d.memberships.get(&s).map(|m| m.id.clone());
        let data = seqs
            .iter()
            .filter_map(|s| d.memberships.get(s))
            .map(|m| d.membership_json(m))
            .collect();
        Ok(Reply::ok(list_json(
            data,
            before.and_then(id),
            after.and_then(id),
        )))
    }

    // ----- organizations -----

    fn parse_domains(m: &Map<String, Value>) -> R<Option<Vec<(String, String)>>> {
        if let Some(v) = m.get("domain_data").filter(|v| !v.is_null()) {
            let Value::Array(items) = v else {
                return Err(invalid(
                    "domain_data",
                    "must_be_array",
                    "domain_data must be an array.",
                ));
            };
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let domain = item.get("domain").and_then(Value::as_str);
                let state = item.get("state").and_then(Value::as_str);
                match (domain, state) {
                    (Some(d), Some(s)) if matches!(s, "pending" | "verified") => {
                        let d = d.trim().to_lowercase();
                        if !plausible_domain(&d) {
                            return Err(invalid(
                                "domain_data",
                                "invalid_domain",
                                format!("'{d}' is not a valid domain."),
                            ));
                        }
                        out.push((d, s.to_string()));
                    }
                    _ => return Err(invalid(
                        "domain_data",
                        "invalid_domain_data",
                        "Each domain_data item needs a domain and a state of pending or verified.",
                    )),
                }
            }
            return Ok(Some(out));
        }
        match get_str_list(m, "domains")? {
            None => Ok(None),
            Some(list) => {
                let mut out = Vec::with_capacity(list.len());
                for d in list {
                    let d = d.trim().to_lowercase();
                    if !plausible_domain(&d) {
                        return Err(invalid(
                            "domains",
                            "invalid_domain",
                            format!("'{d}' is not a valid domain."),
                        ));
                    }
                    out.push((d, "verified".to_string()));
                }
                Ok(Some(out))
            }
        }
    }

    fn make_domains(&mut self, list: Vec<(String, String)>, now: &str) -> Vec<Domain> {
        let mut out: Vec<Domain> = Vec::with_capacity(list.len());
        for (domain, state) in list {
            if out.iter().any(|d| d.domain == domain) {
                continue;
            }
            let (_, id) = self.data.next_id("org_domain");
            out.push(Domain {
                id,
                domain,
                state,
                created_at: now.to_string(),
            });
        }
        out
    }

    fn create_org(&mut self, m: &Map<String, Value>) -> R<Reply> {
        let name = required_str(m, "name")?;
        let domains = Self::parse_domains(m)?.unwrap_or_default();
        let external_id = get_str(m, "external_id")?;
        if let Some(e) = &external_id {
            check_external_id(e)?;
        }
        let metadata = match m.get("metadata") {
            None | Some(Value::Null) => Map::new(),
            Some(v) => check_metadata(v, false)?,
        };
        let allow = get_bool(m, "allow_profiles_outside_organization")?.unwrap_or(false);
        let stripe = get_str(m, "stripe_customer_id")?;
        if let Some(e) = &external_id {
            if self.data.org_by_ext.contains_key(e) {
                return Err(err_code(
                    400,
                    "external_id_already_used",
                    format!(
                        "The external_id '{e}' has already been assigned to another organization."
                    ),
                ));
            }
        }
        let (seq, id) = self.data.next_id("org");
        let now = now_iso();
        let domains = self.make_domains(domains, &now);
        let org = Org {
            seq,
            id,
            name,
            domains,
            metadata,
            external_id,
            stripe_customer_id: stripe,
            allow_profiles_outside_organization: allow,
            created_at: now.clone(),
            updated_at: now,
        };
        let body = org.to_json();
        self.data.insert_org(org);
        Ok(Reply::created(body))
    }

    fn update_org(&mut self, id: &str, m: &Map<String, Value>) -> R<Reply> {
        let seq = *self
            .data
            .org_by_id
            .get(id)
            .ok_or_else(|| not_found("Organization", id))?;
        let name = get_str(m, "name")?;
        if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(invalid("name", "required", "name must not be empty."));
        }
        let domains = Self::parse_domains(m)?;
        let external_id = patch_str(m, "external_id")?;
        if let Patch::Set(e) = &external_id {
            check_external_id(e)?;
            if let Some(other) = self.data.org_by_ext.get(e) {
                if *other != seq {
                    return Err(err_code(
                        400,
                        "external_id_already_used",
                        format!("The external_id '{e}' has already been assigned to another organization."),
                    ));
                }
            }
        }
        let metadata = match m.get("metadata") {
            None | Some(Value::Null) => None,
            Some(v) => Some(check_metadata(v, true)?),
        };
        let stripe = patch_str(m, "stripe_customer_id")?;
        let allow = get_bool(m, "allow_profiles_outside_organization")?;
        let now = now_iso();
        let new_domains = domains.map(|d| self.make_domains(d, &now));
        let Some(org) = self.data.orgs.get(&seq) else {
            return Err(not_found("Organization", id));
        };
        let mut o = org.clone();
        if let Some(md) = metadata {
            merge_metadata(&mut o.metadata, md)?;
        }
        if let Some(n) = name {
            o.name = n;
        }
        if let Some(d) = new_domains {
            o.domains = d;
        }
        for (field, patch) in [
            (&mut o.external_id, external_id),
            (&mut o.stripe_customer_id, stripe),
        ] {
            match patch {
                Patch::Keep => {}
                Patch::Clear => *field = None,
                Patch::Set(v) => *field = Some(v),
            }
        }
        if let Some(a) = allow {
            o.allow_profiles_outside_organization = a;
        }
        o.updated_at = now;
        if let Some(old) = &org.external_id {
            self.data.org_by_ext.remove(old);
        }
        if let Some(e) = &o.external_id {
            self.data.org_by_ext.insert(e.clone(), seq);
        }
        let body = o.to_json();
        self.data.orgs.insert(seq, o);
        Ok(Reply::ok(body))
    }

    fn list_orgs(&self, q: &[(String, String)]) -> R<Reply> {
        let p = page_params(q, true)?;
        let d = &self.data;
        let domains: Vec<String> = qget(q, "domains")
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_lowercase())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let search = qget(q, "search").map(str::to_lowercase);
        let keep = |seq: u64| -> bool {
            let Some(o) = d.orgs.get(&seq) else {
                return false;
            };
            (domains.is_empty() || o.domains.iter().any(|x| domains.contains(&x.domain)))
                && search
                    .as_deref()
                    .is_none_or(|s| o.name.to_lowercase().contains(s))
        };
        let (seqs, before, after) = paginate(&d.orgs, &p, &keep);
        let id = |s: u64| d.orgs.get(&s).map(|o| o.id.clone());
        let data = seqs
            .iter()
            .filter_map(|s| d.orgs.get(s))
            .map(Org::to_json)
            .collect();
        Ok(Reply::ok(list_json(
            data,
            before.and_then(id),
            after.and_then(id),
        )))
    }

    // ----- permissions and roles -----

    fn create_permission(&mut self, m: &Map<String, Value>) -> R<Reply> {
        let slug = required_str(m, "slug")?;
        if slug.len() > 48
            || !slug.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'-' | b'_' | b':' | b'.' | b'*')
            })
        {
            return Err(invalid(
                "slug",
                "invalid_slug",
                "slug must be at most 48 lowercase letters, digits, '-', '_', ':', '.' or '*'.",
            ));
        }
        let name = required_str(m, "name")?;
        if name.chars().count() > 48 {
            return Err(invalid(
                "name",
                "too_long",
                "name must be at most 48 characters.",
            ));
        }
        let description = get_str(m, "description")?;
        if description
            .as_deref()
            .is_some_and(|s| s.chars().count() > 150)
        {
            return Err(invalid(
                "description",
                "too_long",
                "description must be at most 150 characters.",
            ));
        }
        let resource_type_slug =
            get_str(m, "resource_type_slug")?.unwrap_or_else(|| "organization".to_string());
        if self.data.perm_by_slug.contains_key(&slug) {
            return Err(err_code(
                409,
                "permission_slug_conflict",
                format!("A permission with slug '{slug}' already exists."),
            ));
        }
        let (seq, id) = self.data.next_id("perm");
        let now = now_iso();
        let p = Permission {
            seq,
            id,
            slug: slug.clone(),
            name,
            description,
            resource_type_slug,
            created_at: now.clone(),
            updated_at: now,
        };
        let body = p.to_json();
        self.data.perm_by_slug.insert(slug, seq);
        self.data.permissions.insert(seq, p);
        Ok(Reply::created(body))
    }

    fn list_permissions(&self, q: &[(String, String)]) -> R<Reply> {
        let p = page_params(q, true)?;
        let d = &self.data;
        let (seqs, before, after) = paginate(&d.permissions, &p, &|_| true);
        let id = |s: u64| d.permissions.get(&s).map(|p| p.id.clone());
        let data = seqs
            .iter()
            .filter_map(|s| d.permissions.get(s))
            .map(Permission::to_json)
            .collect();
        Ok(Reply::ok(list_json(
            data,
            before.and_then(id),
            after.and_then(id),
        )))
    }

    fn update_permission(&mut self, slug: &str, m: &Map<String, Value>) -> R<Reply> {
        let seq = *self
            .data
            .perm_by_slug
            .get(slug)
            .ok_or_else(|| not_found("Permission", slug))?;
        let name = get_str(m, "name")?;
        let description = patch_str(m, "description")?;
        let Some(p) = self.data.permissions.get_mut(&seq) else {
            return Err(not_found("Permission", slug));
        };
        if let Some(n) = name {
            p.name = n;
        }
        match description {
            Patch::Keep => {}
            Patch::Clear => p.description = None,
            Patch::Set(d) => p.description = Some(d),
        }
        p.updated_at = now_iso();
        Ok(Reply::ok(p.to_json()))
    }

    fn delete_permission(&mut self, slug: &str) -> R<Reply> {
        let seq = self
            .data
            .perm_by_slug
            .remove(slug)
            .ok_or_else(|| not_found("Permission", slug))?;
        self.data.permissions.remove(&seq);
        for r in self.data.roles.values_mut() {
            r.permissions.retain(|p| p != slug);
        }
        Ok(Reply::no_content())
    }

    /// The seq of an environment role (`org` = None) or of an organization's
    /// own role.
    fn role_seq(&self, org: Option<&str>, slug: &str) -> R<u64> {
        match org {
            None => self
                .data
                .env_role_by_slug
                .get(slug)
                .copied()
                .ok_or_else(|| not_found("Role", slug)),
            Some(org) => {
                if self.data.org(org).is_none() {
                    return Err(not_found("Organization", org));
                }
                self.data
                    .org_role_by_key
                    .get(&(org.to_string(), slug.to_string()))
                    .copied()
                    .ok_or_else(|| not_found("Role", slug))
            }
        }
    }

    fn role_fields(m: &Map<String, Value>) -> R<(String, Option<String>, String)> {
        let name = required_str(m, "name")?;
        if name.chars().count() > 48 {
            return Err(invalid(
                "name",
                "too_long",
                "name must be at most 48 characters.",
            ));
        }
        let description = get_str(m, "description")?;
        if description
            .as_deref()
            .is_some_and(|s| s.chars().count() > 150)
        {
            return Err(invalid(
                "description",
                "too_long",
                "description must be at most 150 characters.",
            ));
        }
        let resource_type_slug =
            get_str(m, "resource_type_slug")?.unwrap_or_else(|| "organization".to_string());
        Ok((name, description, resource_type_slug))
    }

    fn create_env_role(&mut self, m: &Map<String, Value>) -> R<Reply> {
        let slug = required_str(m, "slug")?;
        if slug.len() > 48 || slug.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                "slug",
                "invalid_slug",
                "slug must be at most 48 characters without whitespace.",
            ));
        }
        let (name, description, resource_type_slug) = Self::role_fields(m)?;
        if self.data.env_role_by_slug.contains_key(&slug) {
            return Err(err_code(
                409,
                "role_slug_conflict",
                format!("A role with slug '{slug}' already exists."),
            ));
        }
        let (seq, id) = self.data.next_id("role");
        let now = now_iso();
        let role = Role {
            seq,
            id,
            slug,
            name,
            description,
            organization_id: None,
            resource_type_slug,
            permissions: Vec::new(),
            created_at: now.clone(),
            updated_at: now,
        };
        let body = role.to_json();
        self.data.insert_role(role);
        Ok(Reply::created(body))
    }

    fn create_org_role(&mut self, org: &str, m: &Map<String, Value>) -> R<Reply> {
        if self.data.org(org).is_none() {
            return Err(not_found("Organization", org));
        }
        let (name, description, resource_type_slug) = Self::role_fields(m)?;
        let slug = match get_str(m, "slug")? {
            Some(s) => {
                let ok = s.starts_with("org-")
                    && s.len() <= 48
                    && s.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                    });
                if !ok {
                    return Err(invalid(
                        "slug",
                        "invalid_slug",
                        "slug must start with 'org-' and contain at most 48 lowercase letters, digits, '-' or '_'.",
                    ));
                }
                s
            }
            None => {
                let base: String = name
                    .to_lowercase()
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .collect::<String>()
                    .split('-')
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join("-");
                let base: String = base.chars().take(36).collect();
                let suffix = self.misc_rng.base32(6, b"abcdefghijklmnopqrstuvwxyz234567");
                format!("org-{base}-{suffix}")
            }
        };
        if self
            .data
            .org_role_by_key
            .contains_key(&(org.to_string(), slug.clone()))
            || self.data.env_role_by_slug.contains_key(&slug)
        {
            return Err(err_code(
                409,
                "organization_role_slug_conflict",
                format!("A role with slug '{slug}' already exists in organization '{org}'."),
            ));
        }
        let (seq, id) = self.data.next_id("role");
        let now = now_iso();
        let role = Role {
            seq,
            id,
            slug,
            name,
            description,
            organization_id: Some(org.to_string()),
            resource_type_slug,
            permissions: Vec::new(),
            created_at: now.clone(),
            updated_at: now,
        };
        let body = role.to_json();
        self.data.insert_role(role);
        Ok(Reply::created(body))
    }

    fn update_role(&mut self, org: Option<&str>, slug: &str, m: &Map<String, Value>) -> R<Reply> {
        let seq = self.role_seq(org, slug)?;
        let name = get_str(m, "name")?;
        let description = patch_str(m, "description")?;
        let Some(r) = self.data.roles.get_mut(&seq) else {
            return Err(not_found("Role", slug));
        };
        if let Some(n) = name {
            r.name = n;
        }
        match description {
            Patch::Keep => {}
            Patch::Clear => r.description = None,
            Patch::Set(d) => r.description = Some(d),
        }
        r.updated_at = now_iso();
        Ok(Reply::ok(r.to_json()))
    }

    fn set_role_permissions(
        &mut self,
        org: Option<&str>,
        slug: &str,
        m: &Map<String, Value>,
    ) -> R<Reply> {
        let seq = self.role_seq(org, slug)?;
        let Some(list) = get_str_list(m, "permissions")? else {
            return Err(invalid(
                "permissions",
                "required",
                "permissions is required.",
            ));
        };
        let mut perms: Vec<String> = Vec::with_capacity(list.len());
        for p in list {
            if !self.data.perm_by_slug.contains_key(&p) {
                return Err(not_found("Permission", &p));
            }
            if !perms.contains(&p) {
                perms.push(p);
            }
        }
        let Some(r) = self.data.roles.get_mut(&seq) else {
            return Err(not_found("Role", slug));
        };
        r.permissions = perms;
        r.updated_at = now_iso();
        Ok(Reply::ok(r.to_json()))
    }

    fn add_role_permission(
        &mut self,
        org: Option<&str>,
        slug: &str,
        m: &Map<String, Value>,
    ) -> R<Reply> {
        let seq = self.role_seq(org, slug)?;
        let perm = required_str(m, "slug")?;
        if !self.data.perm_by_slug.contains_key(&perm) {
            return Err(not_found("Permission", &perm));
        }
        let Some(r) = self.data.roles.get_mut(&seq) else {
            return Err(not_found("Role", slug));
        };
        if !r.permissions.contains(&perm) {
            r.permissions.push(perm);
            r.updated_at = now_iso();
        }
        Ok(Reply::ok(r.to_json()))
    }

    /// Environment + organization roles. `legacy` = the query of
    /// `GET /organizations/{id}/roles`: paginated (ascending) only when
    /// `limit`/`after`/`before` is given, always with `list_metadata`.
    fn list_org_roles(&self, org: &str, legacy: Option<&[(String, String)]>) -> R<Reply> {
        let d = &self.data;
        if d.org(org).is_none() {
            return Err(not_found("Organization", org));
        }
        let set = d.roles_for_org(org);
        let Some(q) = legacy else {
            let data: Vec<Value> = set
                .keys()
                .filter_map(|s| d.roles.get(s))
                .map(Role::to_json)
                .collect();
            return Ok(Reply::ok(json!({"object": "list", "data": data})));
        };
        let paged = ["limit", "after", "before"]
            .iter()
            .any(|k| qget(q, k).is_some());
        if !paged {
            let data: Vec<Value> = set
                .keys()
                .filter_map(|s| d.roles.get(s))
                .map(Role::to_json)
                .collect();
            return Ok(Reply::ok(list_json(data, None, None)));
        }
        let p = page_params(q, false)?;
        let (seqs, before, after) = paginate(&set, &p, &|_| true);
        let id = |s: u64| d.roles.get(&s).map(|r| r.id.clone());
        let data = seqs
            .iter()
            .filter_map(|s| d.roles.get(s))
            .map(Role::to_json)
            .collect();
        Ok(Reply::ok(list_json(
            data,
            before.and_then(id),
            after.and_then(id),
        )))
    }
}

impl Data {
    /// Drops a user's id/email/external-id index entries (the user stays).
    fn remove_user_indexes(&mut self, seq: u64) {
        let Some(u) = self.users.get(&seq) else {
            return;
        };
        let (id, email, ext) = (u.id.clone(), u.email.to_lowercase(), u.external_id.clone());
        self.user_by_id.remove(&id);
        self.user_by_email.remove(&email);
        if let Some(e) = ext {
            self.user_by_ext.remove(&e);
        }
    }
}
