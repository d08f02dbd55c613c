//! Organization resolution for imported rows (import.md §2.3, with the
//! decisions of docs/decisions.md "Importer"): an [`OrgRef`] becomes a
//! WorkOS organization id through an LRU cache (10,000 entries, hits /
//! misses / evictions, an org found by external id or name also cached under
//! `id:<id>`), with one lookup or creation per key at a time (concurrent rows
//! wanting the same organization await the same flight).
//!
//! - `Id` → `GET /organizations/{id}`; 404 → `Organization not found: <id>`.
//! - `ExternalId` → `GET /organizations/external_id/{ext}`; not found and
//!   (a name given or `--create-org-if-missing`) → `POST /organizations`
//!   named `org_name`, or the external id when there is no name; a
//!   concurrent creation (`external_id_already_used`) → the lookup is retried
//!   (now, +1 s, +1.5 s). Not found otherwise → `Organization not found: <ext>`.
//! - `NameOnly` → only with `--create-org-if-missing`: the exact name among
//!   `GET /organizations?search=<name>`, else created once (a create that
//!   may have been applied is never blindly retried: the name is searched
//!   again first). Without the flag → `Organization not found: <name>`.
//! - Dry run (no client): ids are trusted, external ids map to
//!   `org_dryrun_<ext>`, names to `org_dryrun_<name>`; no HTTP.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;

use super::engine::OrgRef;
use crate::workos::{CreateOrganization, WorkOsClient, WorkOsError};

/// Default LRU capacity (entries; a dual-keyed organization uses two).
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// Delays before the re-lookups after an external-id creation race.
const RACE_RETRY_DELAYS_MS: [u64; 3] = [0, 1000, 1500];

/// Attempts to create a name-only organization.
const NAME_CREATE_ATTEMPTS: u32 = 5;

/// How organizations are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgOptions {
    /// `--create-org-if-missing`.
    pub create_if_missing: bool,
    pub cache_capacity: usize,
}

impl Default for OrgOptions {
    fn default() -> Self {
        Self {
            create_if_missing: false,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
        }
    }
}

/// Why an organization could not be resolved.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OrgError {
    #[error("Organization not found: {0}")]
    NotFound(String),
    /// A WorkOS call failed; `message` may add context to the API message.
    #[error("{message}")]
    Api { message: String, error: WorkOsError },
    #[error("Organization with external_id \"{external_id}\" reported as existing but could not be retrieved after 3 retries. Original: {original}")]
    RaceUnresolved {
        external_id: String,
        original: String,
        error: WorkOsError,
    },
}

impl OrgError {
    /// The WorkOS error behind this one (for status, code, request id).
    pub fn api_error(&self) -> Option<&WorkOsError> {
        match self {
            Self::NotFound(_) => None,
            Self::Api { error, .. } | Self::RaceUnresolved { error, .. } => Some(error),
        }
    }

    fn api(error: WorkOsError) -> Self {
        Self::Api {
            message: error.to_string(),
            error,
        }
    }
}

/// Cache counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
}

impl CacheStats {
    /// hits / (hits + misses), 0 when nothing was looked up.
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

/// Least-recently-used map of cache key → organization id.
#[derive(Debug)]
struct Lru {
    capacity: usize,
    map: HashMap<String, (String, u64)>,
    order: BTreeMap<u64, String>,
    tick: u64,
    evictions: u64,
}

impl Lru {
    fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            map: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            evictions: 0,
        }
    }

    fn get(&mut self, key: &str) -> Option<String> {
        self.tick += 1;
        let tick = self.tick;
        let (id, stamp) = self.map.get_mut(key)?;
        self.order.remove(stamp);
        *stamp = tick;
        self.order.insert(tick, key.to_string());
        Some(id.clone())
    }

    fn insert(&mut self, key: String, id: String) {
        self.tick += 1;
        let tick = self.tick;
        if let Some((old_id, stamp)) = self.map.get_mut(&key) {
            self.order.remove(stamp);
            *stamp = tick;
            *old_id = id;
            self.order.insert(tick, key);
            return;
        }
        if self.map.len() >= self.capacity {
            if let Some((_, oldest)) = self.order.pop_first() {
                self.map.remove(&oldest);
                self.evictions += 1;
            }
        }
        self.order.insert(tick, key.clone());
        self.map.insert(key, (id, tick));
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

type Flight = Arc<OnceCell<Result<String, OrgError>>>;

#[derive(Debug)]
struct ResolverState {
    cache: Lru,
    inflight: HashMap<String, Flight>,
    hits: u64,
    misses: u64,
}

/// Resolves [`OrgRef`]s to organization ids; shared by every row of a run.
#[derive(Debug)]
pub struct OrgResolver {
    client: Option<WorkOsClient>,
    options: OrgOptions,
    state: Mutex<ResolverState>,
}

impl OrgResolver {
    /// `client` `None` = dry run (no HTTP).
    pub fn new(client: Option<WorkOsClient>, options: OrgOptions) -> Self {
        let cache = Lru::new(options.cache_capacity);
        Self {
            client,
            options,
            state: Mutex::new(ResolverState {
                cache,
                inflight: HashMap::new(),
                hits: 0,
                misses: 0,
            }),
        }
    }

    pub fn stats(&self) -> CacheStats {
        let s = self.lock();
        CacheStats {
            hits: s.hits,
            misses: s.misses,
            evictions: s.cache.evictions,
        }
    }

    /// Entries in the cache.
    pub fn cached(&self) -> usize {
        self.lock().cache.len()
    }

    /// Puts an already verified organization id in the cache (no stats).
    pub fn prime_id(&self, id: &str) {
        self.lock().cache.insert(format!("id:{id}"), id.to_string());
    }

    /// The organization id for `org`.
    pub async fn resolve(&self, org: &OrgRef) -> Result<String, OrgError> {
        let (key, can_create) = match org {
            OrgRef::Id(id) => (format!("id:{id}"), false),
            OrgRef::ExternalId { external_id, name } => (
                format!("ext:{external_id}"),
                name.is_some() || self.options.create_if_missing,
            ),
            OrgRef::NameOnly(name) => {
                if !self.options.create_if_missing {
                    return Err(OrgError::NotFound(name.clone()));
                }
                (format!("name:{name}"), true)
            }
        };
        // A flight started by a row that may not create the organization can
        // answer "not found" to a row that may: that row tries once more.
        // Each call counts once: a hit when the answer is cached or already
        // being fetched by another row (it costs no request of its own), a
        // miss when this call starts the lookup.
        for attempt in 0..2 {
            let (flight, mine) = {
                let mut s = self.lock();
                let first = attempt == 0;
                if let Some(id) = s.cache.get(&key) {
                    s.hits += u64::from(first);
                    return Ok(id);
                }
                match s.inflight.get(&key) {
                    Some(f) => {
                        let f = Arc::clone(f);
                        s.hits += u64::from(first);
                        (f, false)
                    }
                    None => {
                        s.misses += u64::from(first);
                        let f: Flight = Arc::new(OnceCell::new());
                        s.inflight.insert(key.clone(), Arc::clone(&f));
                        (f, true)
                    }
                }
            };
            let result = flight
                .get_or_init(|| self.fetch(org, can_create))
                .await
                .clone();
            {
                let mut s = self.lock();
                if s.inflight
                    .get(&key)
                    .is_some_and(|f| Arc::ptr_eq(f, &flight))
                {
                    s.inflight.remove(&key);
                }
                if let Ok(id) = &result {
                    if !key.starts_with("id:") {
                        s.cache.insert(format!("id:{id}"), id.clone());
                    }
                    s.cache.insert(key.clone(), id.clone());
                }
            }
            match &result {
                Err(OrgError::NotFound(_)) if can_create && !mine => continue,
                _ => return result,
            }
        }
        self.fetch(org, can_create).await
    }

    async fn fetch(&self, org: &OrgRef, can_create: bool) -> Result<String, OrgError> {
        let Some(client) = &self.client else {
            return Ok(match org {
                OrgRef::Id(id) => id.clone(),
                OrgRef::ExternalId { external_id, .. } => format!("org_dryrun_{external_id}"),
                OrgRef::NameOnly(name) => format!("org_dryrun_{name}"),
            });
        };
        match org {
            OrgRef::Id(id) => match client.get_organization(id).await {
                Ok(Some(o)) => Ok(o.id),
                Ok(None) => Err(OrgError::NotFound(id.clone())),
                Err(e) => Err(OrgError::api(e)),
            },
            OrgRef::ExternalId { external_id, name } => {
                by_external_id(client, external_id, name.as_deref(), can_create).await
            }
            OrgRef::NameOnly(name) => by_name(client, name).await,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ResolverState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn by_external_id(
    client: &WorkOsClient,
    external_id: &str,
    name: Option<&str>,
    can_create: bool,
) -> Result<String, OrgError> {
    match client.get_organization_by_external_id(external_id).await {
        Ok(Some(o)) => return Ok(o.id),
        Ok(None) => {}
        Err(e) => return Err(OrgError::api(e)),
    }
    if !can_create {
        return Err(OrgError::NotFound(external_id.to_string()));
    }
    let name = name.unwrap_or(external_id);
    let body = CreateOrganization {
        name: name.to_string(),
        external_id: Some(external_id.to_string()),
        ..CreateOrganization::default()
    };
    match client.create_organization(&body).await {
        Ok(o) => Ok(o.id),
        Err(e) => {
            let message = format!(
                "Failed to create organization \"{name}\" with external_id \"{external_id}\": {e}"
            );
            if !is_external_id_taken(&e) {
                return Err(OrgError::Api { message, error: e });
            }
            for delay in RACE_RETRY_DELAYS_MS {
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                if let Ok(Some(o)) = client.get_organization_by_external_id(external_id).await {
                    return Ok(o.id);
                }
            }
            Err(OrgError::RaceUnresolved {
                external_id: external_id.to_string(),
                original: message,
                error: e,
            })
        }
    }
}

/// Whether a create failed because the external id is already taken (a
/// concurrent or earlier creation of the same organization).
fn is_external_id_taken(e: &WorkOsError) -> bool {
    if e.code() == Some("external_id_already_used")
        || e.errors().iter().any(|x| {
            x.get("code").and_then(serde_json::Value::as_str) == Some("external_id_already_used")
        })
    {
        return true;
    }
    let m = e.to_string();
    m.contains("external_id")
        && (m.contains("already been assigned")
            || m.contains("already used")
            || m.contains("already exists"))
}

async fn find_by_name(client: &WorkOsClient, name: &str) -> Result<Option<String>, OrgError> {
    match client.search_organizations(name).await {
        Ok(list) => Ok(list.into_iter().find(|o| o.name == name).map(|o| o.id)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(OrgError::api(e)),
    }
}

async fn by_name(client: &WorkOsClient, name: &str) -> Result<String, OrgError> {
    if let Some(id) = find_by_name(client, name).await? {
        return Ok(id);
    }
    let body = CreateOrganization {
        name: name.to_string(),
        ..CreateOrganization::default()
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.create_organization_once(&body).await {
            Ok(o) => return Ok(o.id),
            Err(e) if e.is_retryable() && attempt < NAME_CREATE_ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(250 << attempt.min(6))).await;
                if let Some(id) = find_by_name(client, name).await? {
                    return Ok(id);
                }
            }
            Err(e) => {
                return Err(OrgError::Api {
                    message: format!("Failed to create organization \"{name}\": {e}"),
                    error: e,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_evicts_least_recently_used() {
        let mut l = Lru::new(2);
        l.insert("a".into(), "1".into());
        l.insert("b".into(), "2".into());
        assert_eq!(l.get("a").as_deref(), Some("1"));
        l.insert("c".into(), "3".into());
        assert_eq!(l.get("b"), None);
        assert_eq!(l.get("a").as_deref(), Some("1"));
        assert_eq!(l.get("c").as_deref(), Some("3"));
        assert_eq!(l.evictions, 1);
        l.insert("c".into(), "4".into());
        assert_eq!(l.len(), 2);
        assert_eq!(l.get("c").as_deref(), Some("4"));
    }

    #[tokio::test]
    async fn dry_run_ids_and_stats() {
        let r = OrgResolver::new(None, OrgOptions::default());
        let ext = OrgRef::ExternalId {
            external_id: "acme".into(),
            name: None,
        };
        assert_eq!(r.resolve(&ext).await.unwrap(), "org_dryrun_acme");
        assert_eq!(r.resolve(&ext).await.unwrap(), "org_dryrun_acme");
        assert_eq!(
            r.resolve(&OrgRef::Id("org_1".into())).await.unwrap(),
            "org_1"
        );
        // The external-id result is also cached under its id.
        assert_eq!(
            r.resolve(&OrgRef::Id("org_dryrun_acme".into()))
                .await
                .unwrap(),
            "org_dryrun_acme"
        );
        let s = r.stats();
        assert_eq!((s.hits, s.misses), (2, 2));
        assert!((s.hit_rate() - 0.5).abs() < 1e-9);
        assert!(matches!(
            r.resolve(&OrgRef::NameOnly("Acme".into())).await,
            Err(OrgError::NotFound(n)) if n == "Acme"
        ));
        let with_flag = OrgResolver::new(
            None,
            OrgOptions {
                create_if_missing: true,
                ..OrgOptions::default()
            },
        );
        assert_eq!(
            with_flag
                .resolve(&OrgRef::NameOnly("Acme".into()))
                .await
                .unwrap(),
            "org_dryrun_Acme"
        );
    }

    #[test]
    fn race_detection() {
        let e = WorkOsError::Api(crate::workos::ApiError::from_response(
            400,
            "/organizations",
            None,
            None,
            br#"{"code":"external_id_already_used","message":"taken"}"#,
        ));
        assert!(is_external_id_taken(&e));
        let e = WorkOsError::Api(crate::workos::ApiError::from_response(
            400,
            "/organizations",
            None,
            None,
            br#"{"message":"The external_id has already been assigned to another organization."}"#,
        ));
        assert!(is_external_id_taken(&e));
    }
}
