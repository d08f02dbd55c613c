//! Stateful fake of the AWS Cognito user-pool service (`cognito-idp`, the
//! JSON 1.1 protocol) for the Cognito exporter's tests and the
//! `fake-cognito` example.
//!
//! - `POST /` with `X-Amz-Target: AWSCognitoIdentityProviderService.<Op>`;
//!   a SigV4 `Authorization` header is required (not verified) and its
//!   credential scope names the region the request is for. Pools live in a
//!   region; another region's pool is `ResourceNotFoundException`.
//! - Errors as AWS sends them: HTTP 400 (500 `InternalErrorException`),
//!   `x-amzn-ErrorType` and `{"__type", "message"}`.
//! - Read operations with AWS's page limits and opaque tokens: pools,
//!   users (with `Filter` and `AttributesToGet`), groups, group members,
//!   a user's groups, identity providers.
//! - Write operations used to seed (the same calls seed moto, see
//!   [`seed`]): pools with custom attributes, users, passwords, disabling,
//!   groups, memberships, identity providers. Federated
//!   (`EXTERNAL_PROVIDER`) users cannot be created through the API, as in
//!   real Cognito: [`FakeCognito::add_external_user`] seeds them.
//! - Synthetic pools computed from the index (flat memory at 10M users;
//!   `sub ^= "<hex>"` partitions without scanning).
//! - The `UserList` request-rate category (token bucket per region),
//!   per-operation fault queues, access keys that are denied or unknown,
//!   counters and max in flight.
//! - SAML metadata documents served at `/__metadata/<name>` so a
//!   `MetadataURL` provider can be fetched.
//!
//! The server is a hand-written accept loop on hyper's HTTP/1 connection
//! (as in `auth0.rs`) so a fault can close a connection without a response.

mod api;
mod fixture;
mod pool;
pub mod seed;
mod server;
mod synthetic;

#[allow(unused_imports)]
pub use fixture::{ExternalUser, SeedError, SeededPool, SeededPools, METADATA_BASE_PLACEHOLDER};
#[allow(unused_imports)]
pub use synthetic::{SyntheticPool, SyntheticPools, TIER_ATTRIBUTE};

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::net::TcpListener;

use pool::Pool;

/// Most recent calls kept by [`FakeCognito::requests`].
pub const REQUEST_LOG_CAP: usize = 10_000;
/// The `X-Amz-Target` prefix of every operation.
pub const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";
/// Password the seeding routine sets for `CONFIRMED` users (meets the
/// default password policy of Cognito and moto).
pub const SEED_PASSWORD: &str = "Fixture-Passw0rd!";

/// The operations the fake implements, for faults, denials and counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    ListUserPools,
    DescribeUserPool,
    ListUsers,
    ListGroups,
    ListUsersInGroup,
    AdminListGroupsForUser,
    ListIdentityProviders,
    DescribeIdentityProvider,
    CreateUserPool,
    AdminCreateUser,
    AdminDisableUser,
    AdminEnableUser,
    AdminConfirmSignUp,
    AdminSetUserPassword,
    AdminGetUser,
    CreateGroup,
    AdminAddUserToGroup,
    CreateIdentityProvider,
}

impl Operation {
    pub const ALL: [Operation; 18] = [
        Operation::ListUserPools,
        Operation::DescribeUserPool,
        Operation::ListUsers,
        Operation::ListGroups,
        Operation::ListUsersInGroup,
        Operation::AdminListGroupsForUser,
        Operation::ListIdentityProviders,
        Operation::DescribeIdentityProvider,
        Operation::CreateUserPool,
        Operation::AdminCreateUser,
        Operation::AdminDisableUser,
        Operation::AdminEnableUser,
        Operation::AdminConfirmSignUp,
        Operation::AdminSetUserPassword,
        Operation::AdminGetUser,
        Operation::CreateGroup,
        Operation::AdminAddUserToGroup,
        Operation::CreateIdentityProvider,
    ];

    /// The operation name as in `X-Amz-Target` and IAM actions.
    pub fn name(self) -> &'static str {
        match self {
            Operation::ListUserPools => "ListUserPools",
            Operation::DescribeUserPool => "DescribeUserPool",
            Operation::ListUsers => "ListUsers",
            Operation::ListGroups => "ListGroups",
            Operation::ListUsersInGroup => "ListUsersInGroup",
            Operation::AdminListGroupsForUser => "AdminListGroupsForUser",
            Operation::ListIdentityProviders => "ListIdentityProviders",
            Operation::DescribeIdentityProvider => "DescribeIdentityProvider",
            Operation::CreateUserPool => "CreateUserPool",
            Operation::AdminCreateUser => "AdminCreateUser",
            Operation::AdminDisableUser => "AdminDisableUser",
            Operation::AdminEnableUser => "AdminEnableUser",
            Operation::AdminConfirmSignUp => "AdminConfirmSignUp",
            Operation::AdminSetUserPassword => "AdminSetUserPassword",
            Operation::AdminGetUser => "AdminGetUser",
            Operation::CreateGroup => "CreateGroup",
            Operation::AdminAddUserToGroup => "AdminAddUserToGroup",
            Operation::CreateIdentityProvider => "CreateIdentityProvider",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether the operation belongs to Cognito's `UserList` request-rate
    /// category.
    pub fn is_user_list(self) -> bool {
        matches!(self, Operation::ListUsers | Operation::ListUsersInGroup)
    }
}

/// An injected failure, served before anything else (even the signature
/// check), one per request of its operation, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// An error answer with this status, `__type` and message.
    Error {
        status: u16,
        error_type: String,
        message: String,
    },
    /// `TooManyRequestsException` (counted as throttled).
    Throttle,
    /// HTTP 500 `InternalErrorException`.
    Internal,
    /// HTTP 503 `ServiceUnavailableException`.
    Unavailable,
    /// Sleep, then answer normally.
    Delay(Duration),
    /// Close the connection without any response.
    Drop,
}

impl Fault {
    /// An error answer (`status`, `__type`, message).
    pub fn error(status: u16, error_type: &str, message: &str) -> Self {
        Fault::Error {
            status,
            error_type: error_type.to_string(),
            message: message.to_string(),
        }
    }
}

/// How a [`FakeCognito`] behaves.
#[derive(Debug, Clone)]
pub struct FakeCognitoConfig {
    /// Region of synthetic and fixture pools.
    pub region: String,
    /// Account id in ARNs.
    pub account_id: String,
    /// `UserList` requests per second per region (token bucket holding one
    /// second's worth); `None` = unlimited.
    pub user_list_rps: Option<u32>,
    pub synthetic: Option<SyntheticPools>,
}

impl Default for FakeCognitoConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            user_list_rps: None,
            synthetic: None,
        }
    }
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    /// The operation name from `X-Amz-Target` (also unknown ones).
    pub operation: String,
    /// Region of the credential scope, when there was one.
    pub region: Option<String>,
    /// Access key id of the credential scope, when there was one.
    pub access_key_id: Option<String>,
    /// The JSON body (`Null` when it did not parse).
    pub body: Value,
    pub at: Instant,
}

/// A running fake Cognito service.
#[derive(Clone)]
pub struct FakeCognito {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
}

impl FakeCognito {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start(config: FakeCognitoConfig) -> Self {
        Self::start_on(config, ([127, 0, 0, 1], 0).into()).await
    }

    /// A fake holding `pools` synthetic pools of `users_per_pool` users and
    /// `groups_per_pool` groups each (see [`SyntheticPools`]), no limits.
    pub async fn synthetic(pools: u32, users_per_pool: u64, groups_per_pool: u32) -> Self {
        Self::start(FakeCognitoConfig {
            synthetic: Some(SyntheticPools {
                pools,
                users_per_pool,
                groups_per_pool,
            }),
            ..FakeCognitoConfig::default()
        })
        .await
    }

    /// Binds `addr` and serves on the current tokio runtime.
    pub async fn start_on(config: FakeCognitoConfig, addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind fake Cognito");
        let mut addr = listener.local_addr().expect("fake Cognito local addr");
        if addr.ip().is_unspecified() {
            addr.set_ip([127, 0, 0, 1].into());
        }
        let mut pools = Vec::new();
        if let Some(spec) = config.synthetic {
            for p in 0..spec.pools {
                pools.push(Pool::synthetic(&config.region, spec, p));
            }
        }
        let state = Arc::new(Mutex::new(State {
            config,
            base_url: format!("http://{addr}"),
            pools,
            metadata: HashMap::new(),
            faults: HashMap::new(),
            denied: HashMap::new(),
            invalid_keys: HashSet::new(),
            buckets: HashMap::new(),
            counters: Counters::default(),
            seq: 0,
        }));
        tokio::spawn(server::accept_loop(listener, state.clone()));
        Self { state, addr }
    }

    /// `http://127.0.0.1:PORT`, the endpoint URL for the SDK.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Region of synthetic and fixture pools.
    pub fn region(&self) -> String {
        self.lock().config.region.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    // --- seeding ---------------------------------------------------------

    /// Ids of every pool, in creation order (synthetic ones first).
    pub fn pool_ids(&self) -> Vec<String> {
        self.lock().pools.iter().map(|p| p.id.clone()).collect()
    }

    /// Ids of the synthetic pools, in order.
    pub fn synthetic_pool_ids(&self) -> Vec<String> {
        self.lock()
            .pools
            .iter()
            .filter(|p| p.synthetic.is_some())
            .map(|p| p.id.clone())
            .collect()
    }

    /// Creates an empty pool in the fake's region (random id unless `id`).
    pub fn create_pool(&self, name: &str, id: Option<&str>) -> String {
        let mut s = self.lock();
        let region = s.config.region.clone();
        let pool_id = id.map_or_else(|| pool::random_pool_id(&region), str::to_string);
        let created = s.tick();
        s.pools.push(Pool::new(
            pool_id.clone(),
            name,
            &region,
            Vec::new(),
            created,
        ));
        pool_id
    }

    /// Seeds a federated user (status `EXTERNAL_PROVIDER`, confirmed by the
    /// IdP), which real Cognito only creates on federated sign-in. Without
    /// an `identities` attribute one is made from the username
    /// (`<Provider>_<id>`). Returns the generated `sub`.
    pub fn add_external_user(
        &self,
        pool_id: &str,
        username: &str,
        attributes: &[(&str, &str)],
    ) -> Result<String, SeedError> {
        let mut s = self.lock();
        let at = s.tick();
        let pool = s
            .pools
            .iter_mut()
            .find(|p| p.id == pool_id)
            .ok_or_else(|| SeedError::UnknownPool(pool_id.to_string()))?;
        pool.add_external_user(username, attributes, at)
    }

    /// Registers a SAML metadata document served at
    /// `/__metadata/<name>`; returns its URL.
    pub fn add_metadata_document(&self, name: &str, xml: &str) -> String {
        let mut s = self.lock();
        s.metadata.insert(name.to_string(), xml.to_string());
        format!("{}/__metadata/{name}", s.base_url)
    }

    /// `http://127.0.0.1:PORT/__metadata`, what the fixture's
    /// [`METADATA_BASE_PLACEHOLDER`] becomes.
    pub fn metadata_base(&self) -> String {
        format!("{}/__metadata", self.url())
    }

    /// Loads a pool set (format: `fixtures/cognito/pools.json`, see
    /// [`fixture`]) including its federated users, registering its
    /// metadata documents on this fake. Pools get the fixture's `id` when
    /// given; users' `sub`s are derived from pool id and username.
    pub fn load_fixture(&self, fixture: &Value) -> Result<SeededPools, SeedError> {
        let set = fixture::FixtureSet::parse(fixture, &self.metadata_base())?;
        let mut s = self.lock();
        for (name, xml) in &set.metadata_documents {
            s.metadata.insert(name.clone(), xml.clone());
        }
        fixture::load(&mut s, &set)
    }

    /// The `sub` of a user (explicit or synthetic).
    pub fn sub_of(&self, pool_id: &str, username: &str) -> Option<String> {
        let s = self.lock();
        let pool = s.pools.iter().find(|p| p.id == pool_id)?;
        pool.sub_of(username)
    }

    // --- configuration after start ---------------------------------------

    pub fn set_user_list_rps(&self, rps: Option<u32>) {
        let mut s = self.lock();
        s.config.user_list_rps = rps;
        s.buckets.clear();
    }

    /// Requests signed with `access_key_id` get `AccessDeniedException` on
    /// `operation` (every operation when `None`).
    pub fn deny(&self, access_key_id: &str, operation: Option<Operation>) {
        let mut s = self.lock();
        let ops = s.denied.entry(access_key_id.to_string()).or_default();
        match operation {
            Some(op) => ops.push(op),
            None => ops.extend(Operation::ALL),
        }
    }

    /// Requests signed with `access_key_id` get
    /// `UnrecognizedClientException` (the key does not exist).
    pub fn set_invalid_key(&self, access_key_id: &str) {
        self.lock().invalid_keys.insert(access_key_id.to_string());
    }

    // --- faults ----------------------------------------------------------

    /// Queues a fault for the next request of `operation`.
    pub fn push_fault(&self, operation: Operation, fault: Fault) {
        self.lock()
            .faults
            .entry(operation)
            .or_default()
            .push_back(fault);
    }

    // --- observation -----------------------------------------------------

    /// The most recent calls (up to [`REQUEST_LOG_CAP`]), oldest first.
    pub fn requests(&self) -> Vec<RecordedCall> {
        self.lock().counters.log.iter().cloned().collect()
    }

    /// Requests of `operation` received (including faulted ones).
    pub fn count(&self, operation: Operation) -> usize {
        self.lock()
            .counters
            .by_operation
            .get(&operation)
            .copied()
            .unwrap_or(0)
    }

    /// Requests received in all.
    pub fn count_all(&self) -> usize {
        self.lock().counters.total
    }

    /// `TooManyRequestsException` answers sent (budget and injected).
    pub fn count_throttled(&self) -> usize {
        self.lock().counters.throttled
    }

    /// Answers sent with this HTTP status (dropped connections have none).
    pub fn count_status(&self, status: u16) -> usize {
        self.lock()
            .counters
            .by_status
            .get(&status)
            .copied()
            .unwrap_or(0)
    }

    /// Most API requests handled at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.lock().counters.max_in_flight
    }

    pub fn reset_counters(&self) {
        let mut s = self.lock();
        let in_flight = s.counters.in_flight;
        s.counters = Counters {
            in_flight,
            max_in_flight: in_flight,
            ..Counters::default()
        };
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Milliseconds since the epoch.
pub(crate) fn epoch_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Counters {
    log: VecDeque<RecordedCall>,
    by_operation: HashMap<Operation, usize>,
    by_status: HashMap<u16, usize>,
    total: usize,
    throttled: usize,
    in_flight: usize,
    max_in_flight: usize,
}

/// A token bucket holding at most one second's worth of requests.
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rps: u32) -> Self {
        Self {
            tokens: f64::from(rps),
            last: Instant::now(),
        }
    }

    fn admit(&mut self, rps: u32) -> bool {
        let now = Instant::now();
        let rate = f64::from(rps);
        let refill = now.duration_since(self.last).as_secs_f64() * rate;
        self.tokens = (self.tokens + refill).min(rate);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct State {
    config: FakeCognitoConfig,
    base_url: String,
    pools: Vec<Pool>,
    /// name → SAML metadata XML served at `/__metadata/<name>`.
    metadata: HashMap<String, String>,
    faults: HashMap<Operation, VecDeque<Fault>>,
    /// access key id → operations answered `AccessDeniedException`.
    denied: HashMap<String, Vec<Operation>>,
    invalid_keys: HashSet<String>,
    /// region → `UserList` bucket.
    buckets: HashMap<String, Bucket>,
    counters: Counters,
    /// Last timestamp handed out (strictly increasing epoch millis).
    seq: u64,
}

impl State {
    /// A strictly increasing "now" in epoch millis, so creation order is
    /// also date order.
    fn tick(&mut self) -> u64 {
        self.seq = epoch_millis().max(self.seq + 1);
        self.seq
    }

    fn pool(&self, region: &str, id: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.id == id && p.region == region)
    }

    fn pool_mut(&mut self, region: &str, id: &str) -> Option<&mut Pool> {
        self.pools
            .iter_mut()
            .find(|p| p.id == id && p.region == region)
    }

    /// Takes a `UserList` request from the region's budget.
    fn admit_user_list(&mut self, region: &str) -> bool {
        let Some(rps) = self.config.user_list_rps else {
            return true;
        };
        self.buckets
            .entry(region.to_string())
            .or_insert_with(|| Bucket::new(rps))
            .admit(rps)
    }
}
