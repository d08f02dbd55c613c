//! The Cognito operations of the fake (after the signature, denial, fault
//! and rate checks `server.rs` does): parameter validation with AWS's
//! messages, opaque page tokens, the read listings and the write calls used
//! for seeding.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::pool::{custom_schema, Filter, Group, GroupRef, Pool, Provider};
use super::{Operation, State};

/// Largest page of every listing (`Limit` / `MaxResults`).
pub const MAX_PAGE: u64 = 60;

/// A Cognito error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub error_type: String,
    pub message: String,
}

impl ApiError {
    /// An HTTP 400 error of this type.
    pub fn new(error_type: &str, message: &str) -> Self {
        Self {
            status: 400,
            error_type: error_type.to_string(),
            message: message.to_string(),
        }
    }

    pub fn invalid_parameter(message: &str) -> Self {
        Self::new("InvalidParameterException", message)
    }

    pub fn resource_not_found(message: &str) -> Self {
        Self::new("ResourceNotFoundException", message)
    }

    pub fn user_not_found() -> Self {
        Self::new("UserNotFoundException", "User does not exist.")
    }

    pub fn pool_not_found(id: &str) -> Self {
        Self::resource_not_found(&format!("User pool {id} does not exist."))
    }

    /// A one-constraint validation failure, worded as AWS words them.
    fn validation(value: &str, member: &str, constraint: &str) -> Self {
        Self::invalid_parameter(&format!(
            "1 validation error detected: Value {value} at '{member}' failed to satisfy constraint: {constraint}"
        ))
    }

    fn missing(member: &str) -> Self {
        Self::validation("null", member, "Member must not be null")
    }

    pub fn body(&self) -> String {
        json!({"__type": self.error_type, "message": self.message}).to_string()
    }
}

fn str_param<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

fn required<'a>(body: &'a Value, key: &str, member: &str) -> Result<&'a str, ApiError> {
    str_param(body, key).ok_or_else(|| ApiError::missing(member))
}

/// A page size: absent → 60 (or missing when `required`), 0 → 60, above
/// 60 → AWS's validation error.
fn page_size(body: &Value, key: &str, member: &str, required: bool) -> Result<usize, ApiError> {
    let Some(v) = body.get(key).filter(|v| !v.is_null()) else {
        return if required {
            Err(ApiError::missing(member))
        } else {
            Ok(MAX_PAGE as usize)
        };
    };
    let n = v.as_i64().ok_or_else(|| {
        ApiError::new(
            "SerializationException",
            &format!("Expected an integer for {key}"),
        )
    })?;
    let min = i64::from(required);
    if n < min {
        return Err(ApiError::validation(
            &format!("'{n}'"),
            member,
            &format!("Member must have value greater than or equal to {min}"),
        ));
    }
    if n > MAX_PAGE as i64 {
        return Err(ApiError::validation(
            &format!("'{n}'"),
            member,
            "Member must have value less than or equal to 60",
        ));
    }
    Ok(if n == 0 {
        MAX_PAGE as usize
    } else {
        n as usize
    })
}

/// An opaque page token binding operation, pool and query to a position.
fn token(op: Operation, pool: &str, scope: &str, pos: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}\n{pool}\n{scope}\n{pos}", op.name()))
}

/// The position a token resumes at (0 without one).
fn resume(
    body: &Value,
    key: &str,
    op: Operation,
    pool: &str,
    scope: &str,
) -> Result<u64, ApiError> {
    let Some(t) = str_param(body, key) else {
        return Ok(0);
    };
    let invalid = || ApiError::invalid_parameter(&format!("Invalid {key}."));
    let bytes = URL_SAFE_NO_PAD.decode(t).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split('\n');
    let (Some(o), Some(p), Some(s), Some(pos), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid());
    };
    if o != op.name() || p != pool || s != scope {
        return Err(invalid());
    }
    pos.parse().map_err(|_| invalid())
}

/// Checks the pool id's form, then finds it in the request's region.
fn pool_id(body: &Value) -> Result<&str, ApiError> {
    let id = required(body, "UserPoolId", "userPoolId")?;
    let valid = id.split_once('_').is_some_and(|(region, tail)| {
        !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !tail.is_empty()
            && tail.chars().all(|c| c.is_ascii_alphanumeric())
    });
    if !valid {
        return Err(ApiError::validation(
            &format!("'{id}'"),
            "userPoolId",
            "Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+",
        ));
    }
    Ok(id)
}

fn find_pool<'a>(state: &'a State, region: &str, body: &Value) -> Result<&'a Pool, ApiError> {
    let id = pool_id(body)?;
    state
        .pool(region, id)
        .ok_or_else(|| ApiError::pool_not_found(id))
}

fn find_pool_mut<'a>(
    state: &'a mut State,
    region: &str,
    body: &Value,
) -> Result<&'a mut Pool, ApiError> {
    let id = pool_id(body)?.to_string();
    state
        .pool_mut(region, &id)
        .ok_or_else(|| ApiError::pool_not_found(&id))
}

/// Answers one operation with its JSON body.
pub fn dispatch(
    state: &mut State,
    op: Operation,
    region: &str,
    body: &Value,
) -> Result<String, ApiError> {
    match op {
        Operation::ListUserPools => list_user_pools(state, region, body),
        Operation::DescribeUserPool => {
            let pool = find_pool(state, region, body)?;
            Ok(json!({"UserPool": pool.pool_json(true, &state.config.account_id)}).to_string())
        }
        Operation::ListUsers => list_users(state, region, body),
        Operation::ListGroups => list_groups(state, region, body),
        Operation::ListUsersInGroup => list_users_in_group(state, region, body),
        Operation::AdminListGroupsForUser => admin_list_groups_for_user(state, region, body),
        Operation::ListIdentityProviders => list_identity_providers(state, region, body),
        Operation::DescribeIdentityProvider => {
            let pool = find_pool(state, region, body)?;
            let name = required(body, "ProviderName", "providerName")?;
            let k = pool
                .providers
                .iter()
                .position(|p| p.name == name)
                .ok_or_else(|| {
                    ApiError::resource_not_found(&format!(
                        "Identity provider {name} does not exist."
                    ))
                })?;
            Ok(json!({"IdentityProvider": pool.provider_json(k, true)}).to_string())
        }
        Operation::CreateUserPool => create_user_pool(state, region, body),
        Operation::AdminCreateUser => admin_create_user(state, region, body),
        Operation::AdminDisableUser | Operation::AdminEnableUser => {
            let at = state.tick();
            let pool = find_pool_mut(state, region, body)?;
            let user = pool.explicit_user_mut(required(body, "Username", "username")?)?;
            user.enabled = op == Operation::AdminEnableUser;
            user.modified_ms = at;
            Ok("{}".to_string())
        }
        Operation::AdminConfirmSignUp => {
            let at = state.tick();
            let pool = find_pool_mut(state, region, body)?;
            let user = pool.explicit_user_mut(required(body, "Username", "username")?)?;
            if user.status != "UNCONFIRMED" {
                return Err(ApiError::new(
                    "NotAuthorizedException",
                    &format!(
                        "User cannot be confirmed. Current status is {}",
                        user.status
                    ),
                ));
            }
            user.status = "CONFIRMED".to_string();
            user.modified_ms = at;
            Ok("{}".to_string())
        }
        Operation::AdminSetUserPassword => admin_set_user_password(state, region, body),
        Operation::AdminGetUser => {
            let pool = find_pool(state, region, body)?;
            let username = required(body, "Username", "username")?;
            let user = pool
                .find_user(username)
                .ok_or_else(ApiError::user_not_found)?;
            let mut out = String::new();
            pool.write_user(user, None, &mut out);
            let mut v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
            if let Some(m) = v.as_object_mut() {
                if let Some(attrs) = m.remove("Attributes") {
                    m.insert("UserAttributes".into(), attrs);
                }
            }
            Ok(v.to_string())
        }
        Operation::CreateGroup => create_group(state, region, body),
        Operation::AdminAddUserToGroup => {
            let pool = find_pool_mut(state, region, body)?;
            let username = required(body, "Username", "username")?;
            let group = required(body, "GroupName", "groupName")?;
            pool.add_to_group(username, group)?;
            Ok("{}".to_string())
        }
        Operation::CreateIdentityProvider => create_identity_provider(state, region, body),
    }
}

fn list_user_pools(state: &State, region: &str, body: &Value) -> Result<String, ApiError> {
    let limit = page_size(body, "MaxResults", "maxResults", true)?;
    let from = resume(body, "NextToken", Operation::ListUserPools, region, "")? as usize;
    let pools: Vec<&Pool> = state.pools.iter().filter(|p| p.region == region).collect();
    let end = from.saturating_add(limit).min(pools.len());
    let page: Vec<Value> = pools
        .get(from..end)
        .unwrap_or_default()
        .iter()
        .map(|p| p.pool_json(false, &state.config.account_id))
        .collect();
    let mut out = json!({"UserPools": page});
    if end < pools.len() {
        out["NextToken"] = token(Operation::ListUserPools, region, "", end as u64).into();
    }
    Ok(out.to_string())
}

fn list_users(state: &State, region: &str, body: &Value) -> Result<String, ApiError> {
    let pool = find_pool(state, region, body)?;
    let limit = page_size(body, "Limit", "limit", false)?;
    let filter_text = str_param(body, "Filter").unwrap_or_default();
    let filter = Filter::parse(filter_text)?;
    let only: Option<Vec<String>> = match body.get("AttributesToGet") {
        Some(Value::Array(names)) => Some(
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    };
    let from = resume(
        body,
        "PaginationToken",
        Operation::ListUsers,
        &pool.id,
        filter_text,
    )?;
    let (users, next) = pool.list_users(filter.as_ref(), from, limit);
    let mut out = String::with_capacity(64 + users.len() * 420);
    out.push_str("{\"Users\":[");
    for (n, u) in users.into_iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        pool.write_user(u, only.as_deref(), &mut out);
    }
    out.push(']');
    if let Some(pos) = next {
        out.push_str(",\"PaginationToken\":\"");
        out.push_str(&token(Operation::ListUsers, &pool.id, filter_text, pos));
        out.push('"');
    }
    out.push('}');
    Ok(out)
}

fn list_groups(state: &State, region: &str, body: &Value) -> Result<String, ApiError> {
    let pool = find_pool(state, region, body)?;
    let limit = page_size(body, "Limit", "limit", false)? as u64;
    let from = resume(body, "NextToken", Operation::ListGroups, &pool.id, "")?;
    let end = from.saturating_add(limit).min(pool.group_count());
    let groups: Vec<Value> = (from..end)
        .filter_map(|pos| pool.group_at(pos))
        .map(|g| pool.group_json(g))
        .collect();
    let mut out = json!({"Groups": groups});
    if end < pool.group_count() {
        out["NextToken"] = token(Operation::ListGroups, &pool.id, "", end).into();
    }
    Ok(out.to_string())
}

fn list_users_in_group(state: &State, region: &str, body: &Value) -> Result<String, ApiError> {
    let pool = find_pool(state, region, body)?;
    let name = required(body, "GroupName", "groupName")?;
    let limit = page_size(body, "Limit", "limit", false)?;
    let group = pool
        .find_group(name)
        .ok_or_else(|| ApiError::resource_not_found("Group not found."))?;
    let from = resume(
        body,
        "NextToken",
        Operation::ListUsersInGroup,
        &pool.id,
        name,
    )?;
    let (users, next) = pool.list_members(group, from, limit);
    let mut out = String::with_capacity(64 + users.len() * 420);
    out.push_str("{\"Users\":[");
    for (n, u) in users.into_iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        pool.write_user(u, None, &mut out);
    }
    out.push(']');
    if let Some(pos) = next {
        out.push_str(",\"NextToken\":\"");
        out.push_str(&token(Operation::ListUsersInGroup, &pool.id, name, pos));
        out.push('"');
    }
    out.push('}');
    Ok(out)
}

fn admin_list_groups_for_user(
    state: &State,
    region: &str,
    body: &Value,
) -> Result<String, ApiError> {
    let pool = find_pool(state, region, body)?;
    let username = required(body, "Username", "username")?;
    let limit = page_size(body, "Limit", "limit", false)?;
    let user = pool
        .find_user(username)
        .ok_or_else(ApiError::user_not_found)?;
    let from = resume(
        body,
        "NextToken",
        Operation::AdminListGroupsForUser,
        &pool.id,
        username,
    )? as usize;
    let groups: Vec<GroupRef> = pool.groups_of(user);
    let end = from.saturating_add(limit).min(groups.len());
    let page: Vec<Value> = groups
        .get(from..end)
        .unwrap_or_default()
        .iter()
        .map(|g| pool.group_json(*g))
        .collect();
    let mut out = json!({"Groups": page});
    if end < groups.len() {
        out["NextToken"] = token(
            Operation::AdminListGroupsForUser,
            &pool.id,
            username,
            end as u64,
        )
        .into();
    }
    Ok(out.to_string())
}

fn list_identity_providers(state: &State, region: &str, body: &Value) -> Result<String, ApiError> {
    let pool = find_pool(state, region, body)?;
    let limit = page_size(body, "MaxResults", "maxResults", false)?;
    let from = resume(
        body,
        "NextToken",
        Operation::ListIdentityProviders,
        &pool.id,
        "",
    )? as usize;
    let end = from.saturating_add(limit).min(pool.providers.len());
    let page: Vec<Value> = (from.min(end)..end)
        .map(|k| pool.provider_json(k, false))
        .collect();
    let mut out = json!({"Providers": page});
    if end < pool.providers.len() {
        out["NextToken"] = token(Operation::ListIdentityProviders, &pool.id, "", end as u64).into();
    }
    Ok(out.to_string())
}

fn create_user_pool(state: &mut State, region: &str, body: &Value) -> Result<String, ApiError> {
    let name = required(body, "PoolName", "poolName")?;
    let entries = body
        .get("Schema")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let schema = custom_schema(entries).ok_or_else(|| ApiError::missing("schema.member.name"))?;
    let id = super::pool::random_pool_id(region);
    let at = state.tick();
    let pool = Pool::new(id, name, region, schema, at);
    let out = json!({"UserPool": pool.pool_json(true, &state.config.account_id)});
    state.pools.push(pool);
    Ok(out.to_string())
}

fn admin_create_user(state: &mut State, region: &str, body: &Value) -> Result<String, ApiError> {
    let at = state.tick();
    let pool = find_pool_mut(state, region, body)?;
    let username = required(body, "Username", "username")?;
    if let Some(action) = str_param(body, "MessageAction") {
        if action != "SUPPRESS" && action != "RESEND" {
            return Err(ApiError::validation(
                &format!("'{action}'"),
                "messageAction",
                "Member must satisfy enum value set: [RESEND, SUPPRESS]",
            ));
        }
        if action == "RESEND" {
            return Err(ApiError::user_not_found());
        }
    }
    let mut attributes = Vec::new();
    for a in body
        .get("UserAttributes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let name = a.get("Name").and_then(Value::as_str);
        let value = a.get("Value").and_then(Value::as_str).unwrap_or_default();
        let Some(name) = name else {
            return Err(ApiError::missing("userAttributes.member.name"));
        };
        attributes.push((name.to_string(), value.to_string()));
    }
    let k = pool.create_user(username, attributes, at)?;
    let mut out = String::from("{\"User\":");
    pool.write_user(super::pool::UserRef::Explicit(k), None, &mut out);
    out.push('}');
    Ok(out)
}

/// Cognito's default password policy: 8+ characters with upper, lower,
/// digit and symbol.
fn password_ok(p: &str) -> bool {
    p.chars().count() >= 8
        && p.chars().any(|c| c.is_ascii_uppercase())
        && p.chars().any(|c| c.is_ascii_lowercase())
        && p.chars().any(|c| c.is_ascii_digit())
        && p.chars().any(|c| !c.is_ascii_alphanumeric())
}

fn admin_set_user_password(
    state: &mut State,
    region: &str,
    body: &Value,
) -> Result<String, ApiError> {
    let at = state.tick();
    let pool = find_pool_mut(state, region, body)?;
    let username = required(body, "Username", "username")?;
    let password = required(body, "Password", "password")?;
    let permanent = body
        .get("Permanent")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let user = pool.explicit_user_mut(username)?;
    if !password_ok(password) {
        return Err(ApiError::new(
            "InvalidPasswordException",
            "Password does not conform to policy: Password not long enough, or missing an uppercase letter, lowercase letter, number or symbol",
        ));
    }
    user.status = if permanent {
        "CONFIRMED"
    } else {
        "FORCE_CHANGE_PASSWORD"
    }
    .to_string();
    user.modified_ms = at;
    Ok("{}".to_string())
}

fn create_group(state: &mut State, region: &str, body: &Value) -> Result<String, ApiError> {
    let at = state.tick();
    let pool = find_pool_mut(state, region, body)?;
    let name = required(body, "GroupName", "groupName")?;
    let k = pool.create_group(Group {
        name: name.to_string(),
        description: str_param(body, "Description").map(str::to_string),
        precedence: body.get("Precedence").and_then(Value::as_i64),
        role_arn: str_param(body, "RoleArn").map(str::to_string),
        created_ms: at,
        members: Vec::new(),
    })?;
    Ok(json!({"Group": pool.group_json(GroupRef::Explicit(k))}).to_string())
}

/// Provider details each type needs (Cognito rejects the IdP without them).
fn required_details(provider_type: &str) -> Option<&'static [&'static str]> {
    Some(match provider_type {
        "SAML" => &[],
        "OIDC" => &[
            "client_id",
            "authorize_scopes",
            "oidc_issuer",
            "attributes_request_method",
        ],
        "Google" | "Facebook" | "LoginWithAmazon" => {
            &["client_id", "client_secret", "authorize_scopes"]
        }
        "SignInWithApple" => &[
            "client_id",
            "team_id",
            "key_id",
            "private_key",
            "authorize_scopes",
        ],
        _ => return None,
    })
}

fn string_map(v: Option<&Value>) -> Map<String, Value> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.is_string())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn create_identity_provider(
    state: &mut State,
    region: &str,
    body: &Value,
) -> Result<String, ApiError> {
    let at = state.tick();
    let pool = find_pool_mut(state, region, body)?;
    let name = required(body, "ProviderName", "providerName")?;
    let provider_type = required(body, "ProviderType", "providerType")?;
    let needed = required_details(provider_type).ok_or_else(|| {
        ApiError::validation(
            &format!("'{provider_type}'"),
            "providerType",
            "Member must satisfy enum value set: [SAML, Facebook, Google, LoginWithAmazon, SignInWithApple, OIDC]",
        )
    })?;
    let details = string_map(body.get("ProviderDetails"));
    if provider_type == "SAML"
        && !details.contains_key("MetadataFile")
        && !details.contains_key("MetadataURL")
    {
        return Err(ApiError::invalid_parameter(
            "Either MetadataFile or MetadataURL must be provided.",
        ));
    }
    if let Some(missing) = needed.iter().find(|k| !details.contains_key(**k)) {
        return Err(ApiError::invalid_parameter(&format!(
            "{missing} is required for {provider_type}"
        )));
    }
    if pool.providers.iter().any(|p| p.name == name) {
        return Err(ApiError::new(
            "DuplicateProviderException",
            &format!("A provider with the name {name} already exists in this user pool."),
        ));
    }
    let mut mapping = string_map(body.get("AttributeMapping"));
    if mapping.is_empty() {
        mapping.insert("username".into(), "sub".into());
    }
    let idp_identifiers = body
        .get("IdpIdentifiers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    pool.providers.push(Provider {
        name: name.to_string(),
        provider_type: provider_type.to_string(),
        details,
        mapping,
        idp_identifiers,
        created_ms: at,
    });
    let k = pool.providers.len() - 1;
    Ok(json!({"IdentityProvider": pool.provider_json(k, true)}).to_string())
}
