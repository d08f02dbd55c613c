//! One user pool of the fake: its schema, explicitly created users, groups
//! and identity providers (kept in creation order with hash indexes), an
//! optional synthetic part (listed first), `ListUsers` filters, and the
//! JSON shapes AWS returns for them.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::api::ApiError;
use super::fixture::SeedError;
use super::synthetic::{push_epoch, Progression, SyntheticPool, SyntheticPools, TIER_ATTRIBUTE};

/// Cognito's standard user attributes (settable ones plus `sub` and
/// `identities`, which Cognito manages).
pub const STANDARD_ATTRIBUTES: [&str; 21] = [
    "sub",
    "identities",
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];

/// Attributes `ListUsers` can filter on (AWS's documented list).
pub const SEARCHABLE_ATTRIBUTES: [&str; 10] = [
    "username",
    "email",
    "phone_number",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "cognito:user_status",
    "status",
    "sub",
];

/// A user created through the API or seeded.
pub struct User {
    pub username: String,
    pub attributes: Vec<(String, String)>,
    pub created_ms: u64,
    pub modified_ms: u64,
    pub enabled: bool,
    pub status: String,
    /// Indexes into [`Pool::groups`], in the order they were joined.
    pub groups: Vec<usize>,
}

impl User {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value a `Filter` compares.
    fn filter_value(&self, name: &str) -> Option<&str> {
        match name {
            "username" => Some(&self.username),
            "cognito:user_status" => Some(&self.status),
            "status" => Some(if self.enabled { "Enabled" } else { "Disabled" }),
            _ => self.attribute(name),
        }
    }
}

pub struct Group {
    pub name: String,
    pub description: Option<String>,
    pub precedence: Option<i64>,
    pub role_arn: Option<String>,
    pub created_ms: u64,
    /// Indexes into [`Pool::users`], ascending (= creation order).
    pub members: Vec<usize>,
}

pub struct Provider {
    pub name: String,
    pub provider_type: String,
    pub details: Map<String, Value>,
    pub mapping: Map<String, Value>,
    pub idp_identifiers: Vec<String>,
    pub created_ms: u64,
}

/// A user of a pool: synthetic by index, or explicit by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRef {
    Synthetic(u64),
    Explicit(usize),
}

/// A group of a pool: synthetic by index, or explicit by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupRef {
    Synthetic(u32),
    Explicit(usize),
}

/// A parsed `ListUsers` filter: `name = "value"` or `name ^= "value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub attribute: String,
    pub prefix: bool,
    pub value: String,
}

impl Filter {
    /// Parses AWS's filter syntax; an empty string is no filter.
    pub fn parse(text: &str) -> Result<Option<Filter>, ApiError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let bad = || ApiError::invalid_parameter("Error while parsing filter.");
        let name_end = text
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .ok_or_else(bad)?;
        let (attribute, rest) = text.split_at(name_end);
        let rest = rest.trim_start();
        let (prefix, rest) = if let Some(r) = rest.strip_prefix("^=") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix('=') {
            (false, r)
        } else {
            return Err(bad());
        };
        let value = rest
            .trim()
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .ok_or_else(bad)?;
        if attribute.is_empty() {
            return Err(bad());
        }
        if !SEARCHABLE_ATTRIBUTES.contains(&attribute) {
            return Err(ApiError::invalid_parameter(&format!(
                "Invalid search attribute: {attribute}"
            )));
        }
        Ok(Some(Filter {
            attribute: attribute.to_string(),
            prefix,
            value: value.to_string(),
        }))
    }

    pub fn matches(&self, actual: Option<&str>) -> bool {
        match actual {
            Some(v) if self.prefix => v.starts_with(&self.value),
            Some(v) => v == self.value,
            None => false,
        }
    }
}

pub struct Pool {
    pub id: String,
    pub name: String,
    pub region: String,
    pub created_ms: u64,
    /// `CreateUserPool`'s `Schema` entries for custom attributes, with
    /// their `custom:` names.
    pub custom_schema: Vec<Value>,
    pub users: Vec<User>,
    by_username: HashMap<String, usize>,
    pub groups: Vec<Group>,
    group_index: HashMap<String, usize>,
    pub providers: Vec<Provider>,
    pub synthetic: Option<SyntheticPool>,
}

/// `<region>_` + 9 random alphanumerics, like Cognito's pool ids.
pub fn random_pool_id(region: &str) -> String {
    let tail: String = (0..9).map(|_| fastrand::alphanumeric()).collect();
    format!("{region}_{tail}")
}

/// A UUID-v4-shaped `sub` derived from pool id and username (stable across
/// runs, unlike Cognito's random ones).
pub fn derived_sub(pool_id: &str, username: &str) -> String {
    let digest = Sha256::new()
        .chain_update(pool_id.as_bytes())
        .chain_update([0u8])
        .chain_update(username.as_bytes())
        .finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The custom attributes of `CreateUserPool`'s `Schema` entries, named
/// `custom:<Name>` with AWS's defaults filled in (standard attributes are
/// skipped); `None` when an entry has no `Name`.
pub fn custom_schema(entries: &[Value]) -> Option<Vec<Value>> {
    let mut schema = Vec::new();
    for entry in entries {
        let attr = entry.get("Name").and_then(Value::as_str)?;
        if STANDARD_ATTRIBUTES.contains(&attr) {
            continue;
        }
        let mut m = entry.as_object().cloned().unwrap_or_default();
        m.insert("Name".into(), format!("custom:{attr}").into());
        m.entry("AttributeDataType").or_insert("String".into());
        m.entry("DeveloperOnlyAttribute").or_insert(false.into());
        m.entry("Mutable").or_insert(true.into());
        m.entry("Required").or_insert(false.into());
        schema.push(Value::Object(m));
    }
    Some(schema)
}

/// Appends `s` as a JSON string.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push_str(&Value::from(s).to_string());
}

/// Epoch millis as a JSON number of epoch seconds.
pub fn epoch_value(millis: u64) -> Value {
    let mut s = String::new();
    push_epoch(&mut s, millis);
    serde_json::from_str(&s).unwrap_or(Value::Null)
}

impl Pool {
    pub fn new(id: String, name: &str, region: &str, schema: Vec<Value>, created_ms: u64) -> Self {
        Self {
            id,
            name: name.to_string(),
            region: region.to_string(),
            created_ms,
            custom_schema: schema,
            users: Vec::new(),
            by_username: HashMap::new(),
            groups: Vec::new(),
            group_index: HashMap::new(),
            providers: Vec::new(),
            synthetic: None,
        }
    }

    pub fn synthetic(region: &str, spec: SyntheticPools, index: u32) -> Self {
        let mut pool = Self::new(
            SyntheticPool::pool_id(region, index),
            &format!("synthetic-{index}"),
            region,
            vec![json!({
                "Name": TIER_ATTRIBUTE,
                "AttributeDataType": "String",
                "DeveloperOnlyAttribute": false,
                "Mutable": true,
                "Required": false,
                "StringAttributeConstraints": {"MinLength": "0", "MaxLength": "32"},
            })],
            1_577_836_800_000,
        );
        pool.synthetic = Some(SyntheticPool { spec, index });
        pool
    }

    fn synth_users(&self) -> u64 {
        self.synthetic.map_or(0, |s| s.users())
    }

    fn synth_groups(&self) -> u32 {
        self.synthetic.map_or(0, |s| s.group_count())
    }

    pub fn user_count(&self) -> u64 {
        self.synth_users() + self.users.len() as u64
    }

    pub fn find_user(&self, username: &str) -> Option<UserRef> {
        if let Some(&k) = self.by_username.get(username) {
            return Some(UserRef::Explicit(k));
        }
        let s = self.synthetic?;
        s.index_of(username).map(UserRef::Synthetic)
    }

    pub fn sub_of(&self, username: &str) -> Option<String> {
        match self.find_user(username)? {
            UserRef::Explicit(k) => self.users[k].attribute("sub").map(str::to_string),
            UserRef::Synthetic(i) => self.synthetic.map(|s| s.sub(i)),
        }
    }

    fn allowed_attribute(&self, name: &str) -> bool {
        if name.starts_with("custom:") {
            self.custom_schema
                .iter()
                .any(|s| s.get("Name").and_then(Value::as_str) == Some(name))
        } else {
            STANDARD_ATTRIBUTES.contains(&name) && name != "sub" && name != "identities"
        }
    }

    /// `AdminCreateUser`: status `FORCE_CHANGE_PASSWORD`, a derived `sub`.
    pub fn create_user(
        &mut self,
        username: &str,
        attributes: Vec<(String, String)>,
        at_ms: u64,
    ) -> Result<usize, ApiError> {
        if username.is_empty() {
            return Err(ApiError::invalid_parameter(
                "1 validation error detected: Value at 'username' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        if self.find_user(username).is_some() {
            return Err(ApiError::new(
                "UsernameExistsException",
                "User account already exists",
            ));
        }
        let unknown: Vec<&str> = attributes
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !self.allowed_attribute(k))
            .collect();
        if !unknown.is_empty() {
            let detail: Vec<String> = unknown
                .iter()
                .map(|k| format!("{k}: Attribute does not exist in the schema."))
                .collect();
            return Err(ApiError::invalid_parameter(&format!(
                "Attributes did not conform to the schema: {}",
                detail.join("\n")
            )));
        }
        Ok(self.insert_user(username, attributes, "FORCE_CHANGE_PASSWORD", at_ms))
    }

    fn insert_user(
        &mut self,
        username: &str,
        attributes: Vec<(String, String)>,
        status: &str,
        at_ms: u64,
    ) -> usize {
        let mut attrs = vec![("sub".to_string(), derived_sub(&self.id, username))];
        for (k, v) in attributes {
            match attrs.iter_mut().find(|(n, _)| *n == k) {
                Some(slot) => slot.1 = v,
                None => attrs.push((k, v)),
            }
        }
        let k = self.users.len();
        self.users.push(User {
            username: username.to_string(),
            attributes: attrs,
            created_ms: at_ms,
            modified_ms: at_ms,
            enabled: true,
            status: status.to_string(),
            groups: Vec::new(),
        });
        self.by_username.insert(username.to_string(), k);
        k
    }

    /// Seeds a federated user (see `FakeCognito::add_external_user`).
    pub fn add_external_user(
        &mut self,
        username: &str,
        attributes: &[(&str, &str)],
        at_ms: u64,
    ) -> Result<String, SeedError> {
        if self.find_user(username).is_some() {
            return Err(SeedError::DuplicateUser(username.to_string()));
        }
        let mut attrs: Vec<(String, String)> = attributes
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        if !attrs.iter().any(|(k, _)| k == "identities") {
            let (provider, user_id) = username.split_once('_').unwrap_or(("External", username));
            let identities = json!([{
                "userId": user_id,
                "providerName": provider,
                "providerType": if provider == "Google" { "Google" } else { "SAML" },
                "issuer": null,
                "primary": true,
                "dateCreated": at_ms,
            }]);
            attrs.push(("identities".to_string(), identities.to_string()));
        }
        let k = self.insert_user(username, attrs, "EXTERNAL_PROVIDER", at_ms);
        Ok(self.users[k]
            .attribute("sub")
            .unwrap_or_default()
            .to_string())
    }

    /// Explicit user by username (synthetic users are read-only).
    pub fn explicit_user_mut(&mut self, username: &str) -> Result<&mut User, ApiError> {
        match self.by_username.get(username) {
            Some(&k) => Ok(&mut self.users[k]),
            None if self.find_user(username).is_some() => Err(ApiError::new(
                "NotAuthorizedException",
                "Synthetic users of the fake are read-only.",
            )),
            None => Err(ApiError::user_not_found()),
        }
    }

    pub fn create_group(&mut self, group: Group) -> Result<usize, ApiError> {
        if self.find_group(&group.name).is_some() {
            return Err(ApiError::new(
                "GroupExistsException",
                "A group with the name already exists.",
            ));
        }
        let k = self.groups.len();
        self.group_index.insert(group.name.clone(), k);
        self.groups.push(group);
        Ok(k)
    }

    pub fn find_group(&self, name: &str) -> Option<GroupRef> {
        if let Some(&k) = self.group_index.get(name) {
            return Some(GroupRef::Explicit(k));
        }
        self.synthetic?.group_index(name).map(GroupRef::Synthetic)
    }

    pub fn add_to_group(&mut self, username: &str, group: &str) -> Result<(), ApiError> {
        let g = match self.find_group(group) {
            Some(GroupRef::Explicit(g)) => g,
            Some(GroupRef::Synthetic(_)) => {
                return Err(ApiError::new(
                    "NotAuthorizedException",
                    "Synthetic groups of the fake are read-only.",
                ))
            }
            None => return Err(ApiError::resource_not_found("Group not found.")),
        };
        let Some(&u) = self.by_username.get(username) else {
            return Err(ApiError::user_not_found());
        };
        let members = &mut self.groups[g].members;
        if let Err(pos) = members.binary_search(&u) {
            members.insert(pos, u);
            self.users[u].groups.push(g);
        }
        Ok(())
    }

    pub fn group_count(&self) -> u64 {
        u64::from(self.synth_groups()) + self.groups.len() as u64
    }

    /// The group at listing position `pos`.
    pub fn group_at(&self, pos: u64) -> Option<GroupRef> {
        let synth = u64::from(self.synth_groups());
        if pos < synth {
            return Some(GroupRef::Synthetic(pos as u32));
        }
        let k = (pos - synth) as usize;
        (k < self.groups.len()).then_some(GroupRef::Explicit(k))
    }

    /// Groups of a user, in group creation order.
    pub fn groups_of(&self, user: UserRef) -> Vec<GroupRef> {
        match (user, self.synthetic) {
            (UserRef::Synthetic(i), Some(s)) => s
                .groups_of(i)
                .into_iter()
                .map(GroupRef::Synthetic)
                .collect(),
            (UserRef::Synthetic(_), None) => Vec::new(),
            (UserRef::Explicit(k), _) => {
                let mut gs = self.users[k].groups.clone();
                gs.sort_unstable();
                gs.into_iter().map(GroupRef::Explicit).collect()
            }
        }
    }

    /// `ListUsers` from listing position `from` (synthetic users first):
    /// up to `limit` matches and the position of the next match, if any.
    pub fn list_users(
        &self,
        filter: Option<&Filter>,
        from: u64,
        limit: usize,
    ) -> (Vec<UserRef>, Option<u64>) {
        let mut out = Vec::new();
        let synth_n = self.synth_users();
        if let Some(s) = self.synthetic {
            let prog = synthetic_candidates(&s, filter);
            let mut next = prog.first_at_or_after(from);
            while let Some(i) = next {
                let hit = filter.is_none_or(|f| f.matches(s.attribute(i, &f.attribute).as_deref()));
                if hit {
                    if out.len() == limit {
                        return (out, Some(i));
                    }
                    out.push(UserRef::Synthetic(i));
                }
                next = i.checked_add(prog.step).filter(|&n| n < prog.end);
            }
        }
        let start = from.saturating_sub(synth_n) as usize;
        for (k, u) in self.users.iter().enumerate().skip(start) {
            if filter.is_none_or(|f| f.matches(u.filter_value(&f.attribute))) {
                if out.len() == limit {
                    return (out, Some(synth_n + k as u64));
                }
                out.push(UserRef::Explicit(k));
            }
        }
        (out, None)
    }

    /// `ListUsersInGroup` from member position `from`.
    pub fn list_members(
        &self,
        group: GroupRef,
        from: u64,
        limit: usize,
    ) -> (Vec<UserRef>, Option<u64>) {
        let total = match group {
            GroupRef::Synthetic(k) => self.synthetic.map_or(0, |s| s.member_count(k)),
            GroupRef::Explicit(g) => self.groups[g].members.len() as u64,
        };
        let end = from.saturating_add(limit as u64).min(total);
        let users = (from..end)
            .map(|j| match (group, self.synthetic) {
                (GroupRef::Synthetic(k), Some(s)) => UserRef::Synthetic(s.member_at(k, j)),
                (GroupRef::Explicit(g), _) => UserRef::Explicit(self.groups[g].members[j as usize]),
                (GroupRef::Synthetic(_), None) => UserRef::Synthetic(j),
            })
            .collect();
        (users, (end < total).then_some(end))
    }

    /// Appends a `UserType` JSON object.
    pub fn write_user(&self, user: UserRef, only: Option<&[String]>, out: &mut String) {
        match user {
            UserRef::Synthetic(i) => {
                if let Some(s) = self.synthetic {
                    s.write_user(i, only, out);
                }
            }
            UserRef::Explicit(k) => write_explicit_user(&self.users[k], only, out),
        }
    }

    pub fn group_json(&self, group: GroupRef) -> Value {
        let mut m = Map::new();
        match group {
            GroupRef::Synthetic(k) => {
                m.insert("GroupName".into(), SyntheticPool::group_name(k).into());
                m.insert("UserPoolId".into(), self.id.clone().into());
                m.insert(
                    "Description".into(),
                    SyntheticPool::group_description(k).into(),
                );
                m.insert(
                    "Precedence".into(),
                    SyntheticPool::group_precedence(k).into(),
                );
                m.insert("LastModifiedDate".into(), epoch_value(self.created_ms));
                m.insert("CreationDate".into(), epoch_value(self.created_ms));
            }
            GroupRef::Explicit(g) => {
                let g = &self.groups[g];
                m.insert("GroupName".into(), g.name.clone().into());
                m.insert("UserPoolId".into(), self.id.clone().into());
                if let Some(d) = &g.description {
                    m.insert("Description".into(), d.clone().into());
                }
                if let Some(r) = &g.role_arn {
                    m.insert("RoleArn".into(), r.clone().into());
                }
                if let Some(p) = g.precedence {
                    m.insert("Precedence".into(), p.into());
                }
                m.insert("LastModifiedDate".into(), epoch_value(g.created_ms));
                m.insert("CreationDate".into(), epoch_value(g.created_ms));
            }
        }
        Value::Object(m)
    }

    /// `ProviderDescription` (listing) or `IdentityProviderType` (full).
    pub fn provider_json(&self, k: usize, full: bool) -> Value {
        let p = &self.providers[k];
        let mut m = Map::new();
        if full {
            m.insert("UserPoolId".into(), self.id.clone().into());
        }
        m.insert("ProviderName".into(), p.name.clone().into());
        m.insert("ProviderType".into(), p.provider_type.clone().into());
        if full {
            m.insert("ProviderDetails".into(), Value::Object(p.details.clone()));
            m.insert("AttributeMapping".into(), Value::Object(p.mapping.clone()));
            if !p.idp_identifiers.is_empty() {
                m.insert("IdpIdentifiers".into(), json!(p.idp_identifiers));
            }
        }
        m.insert("LastModifiedDate".into(), epoch_value(p.created_ms));
        m.insert("CreationDate".into(), epoch_value(p.created_ms));
        Value::Object(m)
    }

    /// `UserPoolDescriptionType` (listing) or `UserPoolType` (full).
    pub fn pool_json(&self, full: bool, account_id: &str) -> Value {
        let mut m = Map::new();
        m.insert("Id".into(), self.id.clone().into());
        m.insert("Name".into(), self.name.clone().into());
        m.insert("LambdaConfig".into(), json!({}));
        m.insert("LastModifiedDate".into(), epoch_value(self.created_ms));
        m.insert("CreationDate".into(), epoch_value(self.created_ms));
        if full {
            m.insert(
                "Arn".into(),
                format!(
                    "arn:aws:cognito-idp:{}:{account_id}:userpool/{}",
                    self.region, self.id
                )
                .into(),
            );
            let mut schema: Vec<Value> = STANDARD_ATTRIBUTES
                .iter()
                .filter(|n| **n != "identities")
                .map(|n| {
                    json!({
                        "Name": n,
                        "AttributeDataType": if n.ends_with("_verified") { "Boolean" } else { "String" },
                        "DeveloperOnlyAttribute": false,
                        "Mutable": *n != "sub",
                        "Required": *n == "sub",
                    })
                })
                .collect();
            schema.extend(self.custom_schema.iter().cloned());
            m.insert("SchemaAttributes".into(), Value::Array(schema));
            m.insert("MfaConfiguration".into(), "OFF".into());
            m.insert(
                "EstimatedNumberOfUsers".into(),
                self.user_count().min(i64::MAX as u64).into(),
            );
        }
        Value::Object(m)
    }
}

/// The synthetic indexes a filter can match (a superset; every member is
/// still checked), computed without scanning where the filter allows.
fn synthetic_candidates(s: &SyntheticPool, filter: Option<&Filter>) -> Progression {
    let all = Progression {
        start: 0,
        step: 1,
        end: s.users(),
    };
    let single = |i: Option<u64>| match i {
        Some(i) => Progression {
            start: i,
            step: 1,
            end: i + 1,
        },
        None => Progression::EMPTY,
    };
    let Some(f) = filter else { return all };
    match (f.attribute.as_str(), f.prefix) {
        ("sub" | "username", true) => s.sub_prefix(&f.value),
        ("sub" | "username", false) => single(s.index_of(&f.value)),
        ("email", false) => single(s.index_of_email(&f.value)),
        ("status", false) if f.value == "Disabled" => Progression {
            start: 99,
            step: 100,
            end: s.users(),
        },
        ("phone_number" | "preferred_username", _) => Progression::EMPTY,
        _ => all,
    }
}

fn write_explicit_user(u: &User, only: Option<&[String]>, out: &mut String) {
    out.push_str("{\"Username\":");
    push_json_str(out, &u.username);
    out.push_str(",\"Attributes\":[");
    let mut first = true;
    for (k, v) in &u.attributes {
        if only.is_some_and(|names| !names.iter().any(|n| n == k)) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str("{\"Name\":");
        push_json_str(out, k);
        out.push_str(",\"Value\":");
        push_json_str(out, v);
        out.push('}');
    }
    out.push_str("],\"UserCreateDate\":");
    push_epoch(out, u.created_ms);
    out.push_str(",\"UserLastModifiedDate\":");
    push_epoch(out, u.modified_ms);
    let _ = write!(out, ",\"Enabled\":{},\"UserStatus\":", u.enabled);
    push_json_str(out, &u.status);
    out.push('}');
}
