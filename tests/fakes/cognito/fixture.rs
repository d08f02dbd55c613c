//! Pool-set fixtures (`fixtures/cognito/pools.json`): the parsed form both
//! loaders share, the fake's direct loader, and what seeding returns.
//!
//! ```json
//! {
//!   "metadata_documents": {"okta.xml": "<EntityDescriptor …>"},
//!   "pools": [{
//!     "key": "acme", "id": "us-east-1_AcmePool1", "name": "acme-workforce",
//!     "schema": [{"Name": "department", "AttributeDataType": "String", "Mutable": true}],
//!     "groups": [{"name": "Admin", "description": "…", "precedence": 1}],
//!     "users": [{"username": "alice", "status": "CONFIRMED", "enabled": true,
//!                "attributes": {"email": "alice@acme.test", "custom:department": "Eng"},
//!                "groups": ["Admin"], "created": 1704067200}],
//!     "identity_providers": [{"ProviderName": "AcmeOkta", "ProviderType": "SAML",
//!       "ProviderDetails": {"MetadataURL": "{{metadata_base}}/okta.xml"},
//!       "AttributeMapping": {"email": "…"}, "IdpIdentifiers": ["acme.test"]}]
//!   }]
//! }
//! ```
//! - `id` (optional) is used by the fake's loader only (its region part
//!   becomes the fake's region); moto and `CreateUserPool` assign their own.
//! - `status`: `FORCE_CHANGE_PASSWORD` (default, as `AdminCreateUser`
//!   leaves it), `CONFIRMED` (a permanent password is set) or
//!   `EXTERNAL_PROVIDER` (federated: only the fake's loader and
//!   `add_external_user` create them; the API cannot).
//! - `created` (optional, epoch seconds) fixes the dates the fake's loader
//!   gives the user; by default user `n` of a pool is created at
//!   2024-01-01T00:00:00Z + n hours.
//! - Every string may contain [`METADATA_BASE_PLACEHOLDER`], replaced by
//!   the URL prefix the metadata documents are served under.

use std::collections::BTreeMap;

use serde_json::Value;

use super::pool::{custom_schema, Group, Pool};
use super::{api, Operation, State};

/// Replaced in fixture strings by the base URL of the metadata documents.
pub const METADATA_BASE_PLACEHOLDER: &str = "{{metadata_base}}";
/// 2024-01-01T00:00:00Z in epoch millis: fixture users' default dates.
const FIXTURE_EPOCH_MS: u64 = 1_704_067_200_000;

/// A fixture or seeding step that failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("fixture must be a JSON object with a \"pools\" array")]
    NotAPoolSet,
    #[error("fixture {what} has no string \"{field}\"")]
    MissingField { what: String, field: &'static str },
    #[error("fixture user {username}: unknown status {status}")]
    UnknownStatus { username: String, status: String },
    #[error("no user pool {0}")]
    UnknownPool(String),
    #[error("user {0} already exists")]
    DuplicateUser(String),
    #[error("{operation} failed: {error_type}: {message}")]
    Api {
        operation: String,
        error_type: String,
        message: String,
    },
    #[error("{operation}: {detail}")]
    Transport { operation: String, detail: String },
}

/// A federated user the API could not create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalUser {
    pub username: String,
    pub attributes: Vec<(String, String)>,
}

/// One pool as seeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededPool {
    /// The fixture's `key`.
    pub key: String,
    /// The id the service assigned (or the fixture's, on the fake's loader).
    pub id: String,
    pub name: String,
    /// username → `sub`, for every user created.
    pub subs: BTreeMap<String, String>,
    /// `EXTERNAL_PROVIDER` users of the fixture that were not created
    /// (seeding through the API); empty after the fake's loader.
    pub external_not_created: Vec<ExternalUser>,
}

/// What seeding created, pool by pool in fixture order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededPools {
    pub region: String,
    pub pools: Vec<SeededPool>,
}

impl SeededPools {
    pub fn pool(&self, key: &str) -> Option<&SeededPool> {
        self.pools.iter().find(|p| p.key == key)
    }

    /// The pool id of a fixture key.
    pub fn id(&self, key: &str) -> Option<&str> {
        self.pool(key).map(|p| p.id.as_str())
    }

    /// All pool ids, comma-separated (as `--user-pool-ids` takes them).
    pub fn ids_csv(&self) -> String {
        let ids: Vec<&str> = self.pools.iter().map(|p| p.id.as_str()).collect();
        ids.join(",")
    }
}

pub struct FixtureGroup {
    pub name: String,
    pub description: Option<String>,
    pub precedence: Option<i64>,
}

pub struct FixtureUser {
    pub username: String,
    pub attributes: Vec<(String, String)>,
    pub status: String,
    pub enabled: bool,
    pub groups: Vec<String>,
    pub created_secs: Option<u64>,
}

pub struct FixturePool {
    pub key: String,
    pub id: Option<String>,
    pub name: String,
    /// `CreateUserPool` `Schema` entries, as given.
    pub schema: Vec<Value>,
    pub groups: Vec<FixtureGroup>,
    pub users: Vec<FixtureUser>,
    /// `CreateIdentityProvider` bodies without `UserPoolId`.
    pub providers: Vec<Value>,
}

pub struct FixtureSet {
    pub pools: Vec<FixturePool>,
    pub metadata_documents: Vec<(String, String)>,
}

fn text(v: &Value, key: &'static str, what: &str) -> Result<String, SeedError> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| SeedError::MissingField {
            what: what.to_string(),
            field: key,
        })
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

impl FixtureSet {
    /// Parses a fixture, replacing [`METADATA_BASE_PLACEHOLDER`] by
    /// `metadata_base` everywhere.
    pub fn parse(fixture: &Value, metadata_base: &str) -> Result<Self, SeedError> {
        let text_form = fixture
            .to_string()
            .replace(METADATA_BASE_PLACEHOLDER, metadata_base);
        let fixture: Value =
            serde_json::from_str(&text_form).map_err(|_| SeedError::NotAPoolSet)?;
        let Some(pools) = fixture.get("pools").and_then(Value::as_array) else {
            return Err(SeedError::NotAPoolSet);
        };
        let metadata_documents = fixture
            .get("metadata_documents")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let pools = pools
            .iter()
            .map(parse_pool)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            pools,
            metadata_documents,
        })
    }
}

fn parse_pool(p: &Value) -> Result<FixturePool, SeedError> {
    let key = text(p, "key", "pool")?;
    let what = format!("pool {key}");
    let groups = array(p, "groups")
        .iter()
        .map(|g| {
            Ok(FixtureGroup {
                name: text(g, "name", &format!("{what} group"))?,
                description: g
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                precedence: g.get("precedence").and_then(Value::as_i64),
            })
        })
        .collect::<Result<Vec<_>, SeedError>>()?;
    let users = array(p, "users")
        .iter()
        .map(|u| parse_user(u, &what))
        .collect::<Result<Vec<_>, _>>()?;
    let providers = array(p, "identity_providers").to_vec();
    for provider in &providers {
        text(
            provider,
            "ProviderName",
            &format!("{what} identity provider"),
        )?;
    }
    Ok(FixturePool {
        name: p
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&key)
            .to_string(),
        id: p.get("id").and_then(Value::as_str).map(str::to_string),
        key,
        schema: array(p, "schema").to_vec(),
        groups,
        users,
        providers,
    })
}

fn parse_user(u: &Value, pool: &str) -> Result<FixtureUser, SeedError> {
    let username = text(u, "username", &format!("{pool} user"))?;
    let status = u
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("FORCE_CHANGE_PASSWORD")
        .to_string();
    if !matches!(
        status.as_str(),
        "FORCE_CHANGE_PASSWORD" | "CONFIRMED" | "EXTERNAL_PROVIDER"
    ) {
        return Err(SeedError::UnknownStatus { username, status });
    }
    let attributes = u
        .get("attributes")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let groups = array(u, "groups")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    Ok(FixtureUser {
        username,
        attributes,
        status,
        enabled: u.get("enabled").and_then(Value::as_bool).unwrap_or(true),
        groups,
        created_secs: u.get("created").and_then(Value::as_u64),
    })
}

fn api_error(operation: Operation, e: api::ApiError) -> SeedError {
    SeedError::Api {
        operation: operation.name().to_string(),
        error_type: e.error_type,
        message: e.message,
    }
}

/// The fake's loader: pools in the fake's region, users with fixed dates,
/// federated users included.
pub fn load(state: &mut State, set: &FixtureSet) -> Result<SeededPools, SeedError> {
    let region = state.config.region.clone();
    let mut seeded = Vec::new();
    for fp in &set.pools {
        // A fixture id keeps its tail; its region part is the fake's.
        let id = match fp.id.as_deref().and_then(|id| id.split_once('_')) {
            Some((_, tail)) => format!("{region}_{tail}"),
            None => super::pool::random_pool_id(&region),
        };
        if state.pools.iter().any(|p| p.id == id) {
            return Err(SeedError::Api {
                operation: "CreateUserPool".into(),
                error_type: "InvalidParameterException".into(),
                message: format!("pool id {id} is taken"),
            });
        }
        let schema = custom_schema(&fp.schema).ok_or_else(|| SeedError::MissingField {
            what: format!("pool {} schema entry", fp.key),
            field: "Name",
        })?;
        let created = state.tick();
        let mut pool = Pool::new(id.clone(), &fp.name, &region, schema, created);
        for g in &fp.groups {
            pool.create_group(Group {
                name: g.name.clone(),
                description: g.description.clone(),
                precedence: g.precedence,
                role_arn: None,
                created_ms: created,
                members: Vec::new(),
            })
            .map_err(|e| api_error(Operation::CreateGroup, e))?;
        }
        let mut subs = BTreeMap::new();
        for (n, u) in fp.users.iter().enumerate() {
            let at = u
                .created_secs
                .map_or(FIXTURE_EPOCH_MS + n as u64 * 3_600_000, |s| s * 1000);
            if u.status == "EXTERNAL_PROVIDER" {
                let attrs: Vec<(&str, &str)> = u
                    .attributes
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                pool.add_external_user(&u.username, &attrs, at)?;
            } else {
                let k = pool
                    .create_user(&u.username, u.attributes.clone(), at)
                    .map_err(|e| api_error(Operation::AdminCreateUser, e))?;
                pool.users[k].status = u.status.clone();
            }
            let user = pool
                .explicit_user_mut(&u.username)
                .map_err(|e| api_error(Operation::AdminGetUser, e))?;
            user.enabled = u.enabled;
            for g in &u.groups {
                pool.add_to_group(&u.username, g)
                    .map_err(|e| api_error(Operation::AdminAddUserToGroup, e))?;
            }
            if let Some(sub) = pool.sub_of(&u.username) {
                subs.insert(u.username.clone(), sub);
            }
        }
        state.pools.push(pool);
        for body in &fp.providers {
            let mut body = body.clone();
            if let Some(m) = body.as_object_mut() {
                m.insert("UserPoolId".into(), id.clone().into());
            }
            api::dispatch(state, Operation::CreateIdentityProvider, &region, &body)
                .map_err(|e| api_error(Operation::CreateIdentityProvider, e))?;
        }
        seeded.push(SeededPool {
            key: fp.key.clone(),
            id,
            name: fp.name.clone(),
            subs,
            external_not_created: Vec::new(),
        });
    }
    Ok(SeededPools {
        region,
        pools: seeded,
    })
}
