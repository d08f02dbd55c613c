//! The fake Auth0 tenant's data: explicitly seeded records (kept in
//! insertion order with hash indexes) and an optional synthetic tenant whose
//! records are computed from their index, so memory stays flat at millions
//! of users. Synthetic records come first in every listing, explicit ones
//! after; a lookup by id finds either kind.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use serde_json::{json, Map, Value};

/// Name of Auth0's default database connection (synthetic identities).
pub const DB_CONNECTION_NAME: &str = "Username-Password-Authentication";
/// Id of the database connection the synthetic tenant adds to the catalog.
pub const SYNTHETIC_DB_CONNECTION_ID: &str = "con_synthetic_db";
/// Id of the synthetic "Admin" role (every 50th user holds it in its org).
pub const SYNTHETIC_ADMIN_ROLE_ID: &str = "rol_admin";
/// Id of the synthetic "Member" role (in the catalog, never assigned).
pub const SYNTHETIC_MEMBER_ROLE_ID: &str = "rol_member";

/// Fields a users-export job writes when the request names none, in order.
pub const DEFAULT_EXPORT_FIELDS: [&str; 14] = [
    "user_id",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "created_at",
    "updated_at",
    "last_login",
    "logins_count",
    "identities",
    "blocked",
];

const FIRST_NAMES: [&str; 16] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Linus",
    "Frances", "John", "Niklaus", "Leslie", "Tim", "Sophie",
];
const LAST_NAMES: [&str; 16] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Perlman",
    "Torvalds",
    "Allen",
    "Backus",
    "Wirth",
    "Lamport",
    "Berners-Lee",
    "Wilson",
];
const LOCALES: [&str; 4] = ["en", "fr", "de", "ja"];
/// 2020-01-01T00:00:00Z.
const SYNTHETIC_EPOCH: u64 = 1_577_836_800;

/// A tenant computed from indexes: user `i` is `auth0|u{i:09}`, a member of
/// org `org_{i % orgs:06}`; every 50th user is an Admin there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticTenant {
    pub users: u64,
    pub orgs: u64,
}

impl SyntheticTenant {
    pub fn user_id(i: u64) -> String {
        format!("auth0|u{i:09}")
    }

    pub fn org_id(k: u64) -> String {
        format!("org_{k:06}")
    }

    /// Index of a synthetic user id of this tenant.
    pub fn user_index(&self, id: &str) -> Option<u64> {
        let digits = id.strip_prefix("auth0|u")?;
        if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|&i| i < self.users)
    }

    /// Index of a synthetic org id of this tenant.
    pub fn org_index(&self, id: &str) -> Option<u64> {
        let digits = id.strip_prefix("org_")?;
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|&k| k < self.orgs)
    }

    /// The org user `i` belongs to.
    pub fn org_of(&self, i: u64) -> Option<u64> {
        (self.orgs > 0).then(|| i % self.orgs)
    }

    /// Number of members of org `k`.
    pub fn member_count(&self, k: u64) -> u64 {
        if k >= self.orgs || self.users <= k {
            0
        } else {
            (self.users - k - 1) / self.orgs + 1
        }
    }

    /// User index of the `j`-th member of org `k`.
    pub fn member_at(&self, k: u64, j: u64) -> u64 {
        k + j * self.orgs
    }

    /// Role ids of user `i` in org `k`.
    pub fn member_roles(&self, i: u64, k: u64) -> Vec<&'static str> {
        if self.org_of(i) == Some(k) && i.is_multiple_of(50) {
            vec![SYNTHETIC_ADMIN_ROLE_ID]
        } else {
            Vec::new()
        }
    }

    pub fn org(&self, k: u64) -> Value {
        json!({
            "id": Self::org_id(k),
            "name": format!("org-{k:06}"),
            "display_name": format!("Synthetic Org {k}"),
            "metadata": {"domain": format!("org{k}.example.com")},
        })
    }

    pub fn user(&self, i: u64) -> Value {
        let p = SyntheticUser::new(i);
        let mut identity = Map::new();
        identity.insert("connection".into(), DB_CONNECTION_NAME.into());
        identity.insert("provider".into(), "auth0".into());
        identity.insert("user_id".into(), format!("u{i:09}").into());
        identity.insert("isSocial".into(), false.into());
        json!({
            "user_id": Self::user_id(i),
            "email": format!("user{i}@example.com"),
            "email_verified": true,
            "name": format!("{} {}", p.first, p.last),
            "given_name": p.first,
            "family_name": p.last,
            "nickname": format!("user{i}"),
            "picture": format!("https://cdn.example.com/avatars/{}.png", i % 100),
            "created_at": p.created_at,
            "updated_at": p.updated_at,
            "last_login": p.last_login,
            "logins_count": i % 10,
            "identities": [Value::Object(identity)],
            "user_metadata": {"locale": LOCALES[(i % 4) as usize], "preferences": {"newsletter": i.is_multiple_of(2)}},
            "app_metadata": {"plan": if i.is_multiple_of(3) { "pro" } else { "free" }, "tenant_index": i},
        })
    }

    /// Appends user `i` as one NDJSON line with [`DEFAULT_EXPORT_FIELDS`]
    /// (same text as projecting [`Self::user`], without building a `Value`).
    pub fn write_default_line(&self, i: u64, out: &mut String) {
        let p = SyntheticUser::new(i);
        let _ = writeln!(
            out,
            "{{\"user_id\":\"auth0|u{i:09}\",\"email\":\"user{i}@example.com\",\"email_verified\":true,\
\"name\":\"{first} {last}\",\"given_name\":\"{first}\",\"family_name\":\"{last}\",\"nickname\":\"user{i}\",\
\"picture\":\"https://cdn.example.com/avatars/{pic}.png\",\"created_at\":\"{created}\",\"updated_at\":\"{updated}\",\
\"last_login\":\"{login}\",\"logins_count\":{count},\"identities\":[{{\"connection\":\"{DB_CONNECTION_NAME}\",\
\"provider\":\"auth0\",\"user_id\":\"u{i:09}\",\"isSocial\":false}}]}}",
            first = p.first,
            last = p.last,
            pic = i % 100,
            created = p.created_at,
            updated = p.updated_at,
            login = p.last_login,
            count = i % 10,
        );
    }
}

struct SyntheticUser {
    first: &'static str,
    last: &'static str,
    created_at: String,
    updated_at: String,
    last_login: String,
}

impl SyntheticUser {
    fn new(i: u64) -> Self {
        let created = SYNTHETIC_EPOCH + i * 37;
        Self {
            first: FIRST_NAMES[(i % 16) as usize],
            last: LAST_NAMES[((i / 16) % 16) as usize],
            created_at: iso_utc(created),
            updated_at: iso_utc(created + 86_400),
            last_login: iso_utc(created + 2 * 86_400),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.000Z` of epoch seconds (proleptic Gregorian).
pub fn iso_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A record that cannot be seeded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SeedError {
    #[error("{kind} record has no string \"{key}\"")]
    MissingId {
        kind: &'static str,
        key: &'static str,
    },
    #[error("fixture key \"{0}\" must be an array")]
    NotAnArray(&'static str),
    #[error("fixture must be a JSON object")]
    NotAnObject,
}

/// Records in insertion order plus an id → position index.
#[derive(Default)]
struct Records {
    items: Vec<Value>,
    index: HashMap<String, usize>,
}

impl Records {
    /// Inserts, or replaces the record with the same id in place.
    fn upsert(&mut self, id: String, record: Value) {
        match self.index.get(&id) {
            Some(&at) => self.items[at] = record,
            None => {
                self.index.insert(id, self.items.len());
                self.items.push(record);
            }
        }
    }

    fn get(&self, id: &str) -> Option<&Value> {
        self.index.get(id).map(|&at| &self.items[at])
    }
}

fn id_of(record: &Value, kind: &'static str, key: &'static str) -> Result<String, SeedError> {
    record
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or(SeedError::MissingId { kind, key })
}

/// Everything the fake serves.
#[derive(Default)]
pub struct Tenant {
    pub synthetic: Option<SyntheticTenant>,
    orgs: Records,
    users: Records,
    /// org id → member user ids in insertion order.
    members: HashMap<String, Vec<String>>,
    member_set: HashSet<(String, String)>,
    roles: Records,
    /// (org id, user id) → role ids in assignment order.
    member_roles: HashMap<(String, String), Vec<String>>,
    connections: Records,
    /// org id → enabled connection ids in binding order.
    enabled: HashMap<String, Vec<String>>,
}

impl Tenant {
    pub fn new(synthetic: Option<SyntheticTenant>) -> Self {
        Self {
            synthetic,
            ..Self::default()
        }
    }

    pub fn add_org(&mut self, org: Value) -> Result<(), SeedError> {
        let id = id_of(&org, "organization", "id")?;
        self.orgs.upsert(id, org);
        Ok(())
    }

    pub fn add_user(&mut self, user: Value) -> Result<(), SeedError> {
        let id = id_of(&user, "user", "user_id")?;
        self.users.upsert(id, user);
        Ok(())
    }

    /// Adds a membership (once; repeats are ignored). Neither the org nor
    /// the user has to exist yet (Auth0 lists members whose user is gone).
    pub fn add_member(&mut self, org_id: &str, user_id: &str) {
        if self
            .member_set
            .insert((org_id.to_string(), user_id.to_string()))
        {
            self.members
                .entry(org_id.to_string())
                .or_default()
                .push(user_id.to_string());
        }
    }

    pub fn add_role(&mut self, role: Value) -> Result<(), SeedError> {
        let id = id_of(&role, "role", "id")?;
        self.roles.upsert(id, role);
        Ok(())
    }

    /// Assigns a role (which need not be in the catalog) to a member; the
    /// membership is added when missing.
    pub fn assign_member_role(&mut self, org_id: &str, user_id: &str, role_id: &str) {
        self.add_member(org_id, user_id);
        let roles = self
            .member_roles
            .entry((org_id.to_string(), user_id.to_string()))
            .or_default();
        if !roles.iter().any(|r| r == role_id) {
            roles.push(role_id.to_string());
        }
    }

    pub fn add_connection(&mut self, connection: Value) -> Result<(), SeedError> {
        let id = id_of(&connection, "connection", "id")?;
        self.connections.upsert(id, connection);
        Ok(())
    }

    pub fn enable_connection(&mut self, org_id: &str, connection_id: &str) {
        let list = self.enabled.entry(org_id.to_string()).or_default();
        if !list.iter().any(|c| c == connection_id) {
            list.push(connection_id.to_string());
        }
    }

    /// Loads the fixture format (see the `fixtures/auth0/tenant.json`).
    pub fn load_fixture(&mut self, fixture: &Value) -> Result<(), SeedError> {
        let map = fixture.as_object().ok_or(SeedError::NotAnObject)?;
        let list = |key: &'static str| -> Result<&[Value], SeedError> {
            match map.get(key) {
                None => Ok(&[]),
                Some(Value::Array(items)) => Ok(items),
                Some(_) => Err(SeedError::NotAnArray(key)),
            }
        };
        for org in list("organizations")? {
            self.add_org(org.clone())?;
        }
        for user in list("users")? {
            self.add_user(user.clone())?;
        }
        for m in list("members")? {
            self.add_member(
                &id_of(m, "member", "org_id")?,
                &id_of(m, "member", "user_id")?,
            );
        }
        for role in list("roles")? {
            self.add_role(role.clone())?;
        }
        for a in list("member_roles")? {
            self.assign_member_role(
                &id_of(a, "member role", "org_id")?,
                &id_of(a, "member role", "user_id")?,
                &id_of(a, "member role", "role_id")?,
            );
        }
        for connection in list("connections")? {
            self.add_connection(connection.clone())?;
        }
        for b in list("enabled_connections")? {
            self.enable_connection(
                &id_of(b, "enabled connection", "org_id")?,
                &id_of(b, "enabled connection", "connection_id")?,
            );
        }
        Ok(())
    }

    fn synthetic_users(&self) -> u64 {
        self.synthetic.map_or(0, |s| s.users)
    }

    fn synthetic_orgs(&self) -> u64 {
        self.synthetic.map_or(0, |s| s.orgs)
    }

    // --- organizations ---------------------------------------------------

    pub fn org_count(&self) -> u64 {
        self.synthetic_orgs() + self.orgs.items.len() as u64
    }

    pub fn org_at(&self, i: u64) -> Option<Value> {
        match self.synthetic {
            Some(s) if i < s.orgs => Some(s.org(i)),
            _ => usize::try_from(i - self.synthetic_orgs())
                .ok()
                .and_then(|at| self.orgs.items.get(at).cloned()),
        }
    }

    pub fn org_exists(&self, id: &str) -> bool {
        self.orgs.get(id).is_some()
            || self.members.contains_key(id)
            || self.synthetic.and_then(|s| s.org_index(id)).is_some()
    }

    // --- users -----------------------------------------------------------

    pub fn user_count(&self) -> u64 {
        self.synthetic_users() + self.users.items.len() as u64
    }

    pub fn user_at(&self, i: u64) -> Option<Value> {
        match self.synthetic {
            Some(s) if i < s.users => Some(s.user(i)),
            _ => usize::try_from(i - self.synthetic_users())
                .ok()
                .and_then(|at| self.users.items.get(at).cloned()),
        }
    }

    /// The explicit user at position `at` (after the synthetic ones).
    pub fn explicit_user(&self, at: usize) -> Option<&Value> {
        self.users.items.get(at)
    }

    pub fn explicit_user_count(&self) -> usize {
        self.users.items.len()
    }

    pub fn user(&self, id: &str) -> Option<Value> {
        if let Some(u) = self.users.get(id) {
            return Some(u.clone());
        }
        let s = self.synthetic?;
        s.user_index(id).map(|i| s.user(i))
    }

    // --- members ---------------------------------------------------------

    /// Members of an org (synthetic first), `None` for an unknown org.
    pub fn member_count(&self, org_id: &str) -> Option<u64> {
        if !self.org_exists(org_id) {
            return None;
        }
        let synthetic = match self.synthetic {
            Some(s) => s.org_index(org_id).map_or(0, |k| s.member_count(k)),
            None => 0,
        };
        let explicit = self.members.get(org_id).map_or(0, Vec::len) as u64;
        Some(synthetic + explicit)
    }

    pub fn member_id_at(&self, org_id: &str, j: u64) -> Option<String> {
        if let Some(s) = self.synthetic {
            if let Some(k) = s.org_index(org_id) {
                let n = s.member_count(k);
                if j < n {
                    return Some(SyntheticTenant::user_id(s.member_at(k, j)));
                }
                return self.explicit_member(org_id, j - n);
            }
        }
        self.explicit_member(org_id, j)
    }

    fn explicit_member(&self, org_id: &str, j: u64) -> Option<String> {
        let at = usize::try_from(j).ok()?;
        self.members.get(org_id)?.get(at).cloned()
    }

    /// A members-listing item: `user_id` plus `email`, `picture`, `name`
    /// from the user record when there is one.
    pub fn member_item(&self, user_id: &str) -> Value {
        let mut item = Map::new();
        item.insert("user_id".into(), user_id.into());
        if let Some(user) = self.user(user_id) {
            for key in ["email", "picture", "name"] {
                if let Some(v) = user.get(key) {
                    item.insert(key.into(), v.clone());
                }
            }
        }
        Value::Object(item)
    }

    // --- roles -----------------------------------------------------------

    pub fn roles(&self) -> Vec<Value> {
        let mut out = Vec::new();
        if self.synthetic.is_some() {
            out.push(json!({"id": SYNTHETIC_ADMIN_ROLE_ID, "name": "Admin", "description": "Synthetic administrators"}));
            out.push(json!({"id": SYNTHETIC_MEMBER_ROLE_ID, "name": "Member", "description": "Synthetic members"}));
        }
        out.extend(self.roles.items.iter().cloned());
        out
    }

    fn role(&self, id: &str) -> Option<Value> {
        if let Some(r) = self.roles.get(id) {
            return Some(r.clone());
        }
        self.roles().into_iter().find(|r| r["id"] == id)
    }

    /// Role ids assigned to a member, in assignment order (synthetic first).
    pub fn member_role_ids(&self, org_id: &str, user_id: &str) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        if let Some(s) = self.synthetic {
            if let (Some(i), Some(k)) = (s.user_index(user_id), s.org_index(org_id)) {
                ids.extend(s.member_roles(i, k).into_iter().map(str::to_string));
            }
        }
        if let Some(explicit) = self
            .member_roles
            .get(&(org_id.to_string(), user_id.to_string()))
        {
            ids.extend(explicit.iter().cloned());
        }
        ids
    }

    /// Roles of a member as the member-roles endpoint lists them: the
    /// catalog entry, or only `{id}` for a role missing from the catalog.
    pub fn member_roles(&self, org_id: &str, user_id: &str) -> Vec<Value> {
        self.member_role_ids(org_id, user_id)
            .into_iter()
            .map(|id| match self.role(&id) {
                Some(role) => json!({
                    "id": id,
                    "name": role.get("name").cloned().unwrap_or(Value::Null),
                    "description": role.get("description").cloned().unwrap_or(Value::Null),
                }),
                None => json!({ "id": id }),
            })
            .collect()
    }

    /// `roles:[{id,name}]` as the members listing returns with
    /// `fields=roles`.
    pub fn member_roles_short(&self, org_id: &str, user_id: &str) -> Value {
        Value::Array(
            self.member_roles(org_id, user_id)
                .into_iter()
                .map(|r| {
                    let mut m = Map::new();
                    m.insert("id".into(), r["id"].clone());
                    if let Some(name) = r.get("name") {
                        m.insert("name".into(), name.clone());
                    }
                    Value::Object(m)
                })
                .collect(),
        )
    }

    // --- connections -----------------------------------------------------

    pub fn connections(&self) -> Vec<Value> {
        let mut out = Vec::new();
        if self.synthetic.is_some() {
            out.push(json!({
                "id": SYNTHETIC_DB_CONNECTION_ID,
                "name": DB_CONNECTION_NAME,
                "strategy": "auth0",
                "options": {"brute_force_protection": true},
                "realms": [DB_CONNECTION_NAME],
            }));
        }
        out.extend(self.connections.items.iter().cloned());
        out
    }

    pub fn connection(&self, id: &str) -> Option<Value> {
        if let Some(c) = self.connections.get(id) {
            return Some(c.clone());
        }
        self.connections().into_iter().find(|c| c["id"] == id)
    }

    /// Enabled connections of an org, `None` for an unknown org.
    pub fn enabled_connections(&self, org_id: &str) -> Option<Vec<Value>> {
        if !self.org_exists(org_id) && !self.enabled.contains_key(org_id) {
            return None;
        }
        let ids = self.enabled.get(org_id).cloned().unwrap_or_default();
        Some(
            ids.into_iter()
                .map(|id| {
                    let mut item = Map::new();
                    item.insert("connection_id".into(), id.clone().into());
                    item.insert("assign_membership_on_login".into(), false.into());
                    if let Some(c) = self.connection(&id) {
                        item.insert(
                            "connection".into(),
                            json!({"name": c.get("name"), "strategy": c.get("strategy")}),
                        );
                    }
                    Value::Object(item)
                })
                .collect(),
        )
    }
}
