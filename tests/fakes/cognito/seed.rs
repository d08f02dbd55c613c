//! Test support usable from any integration test: a minimal Cognito JSON
//! client (reqwest, a SigV4-shaped `Authorization` header with a dummy
//! signature, which both the fake and moto accept), [`moto_url`], and
//! [`seed_via_api`], which builds a fixture's pools through the public API
//! so the same routine seeds the fake and moto.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::fixture::{ExternalUser, FixtureSet, SeedError, SeededPool, SeededPools};
use super::{FakeCognito, SEED_PASSWORD, TARGET_PREFIX};

/// Access key id the client signs with unless told otherwise.
pub const DEFAULT_ACCESS_KEY_ID: &str = "AKIDFAKECOGNITO0001";

/// `MOTO_URL` when set and non-empty (`.ci/run` starts moto and sets it).
pub fn moto_url() -> Option<String> {
    std::env::var("MOTO_URL")
        .ok()
        .map(|u| u.trim().trim_end_matches('/').to_string())
        .filter(|u| !u.is_empty())
}

/// One answer of the service.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// `x-amzn-ErrorType` (else the body's `__type`), without any `#…`
    /// namespace or `:…` suffix; `None` on success.
    pub error_type: Option<String>,
    pub body: Value,
}

impl Answer {
    pub fn message(&self) -> &str {
        self.body
            .get("message")
            .or_else(|| self.body.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// A Cognito client speaking the JSON 1.1 protocol.
#[derive(Clone)]
pub struct CognitoClient {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    access_key_id: String,
}

/// The error type as the AWS SDKs read it.
fn sanitize_error_type(raw: &str) -> String {
    let after_hash = raw.split_once('#').map_or(raw, |(_, t)| t);
    after_hash
        .split_once(':')
        .map_or(after_hash, |(t, _)| t)
        .to_string()
}

impl CognitoClient {
    pub fn new(endpoint: &str, region: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: region.to_string(),
            access_key_id: DEFAULT_ACCESS_KEY_ID.to_string(),
        }
    }

    pub fn with_access_key(mut self, access_key_id: &str) -> Self {
        self.access_key_id = access_key_id.to_string();
        self
    }

    pub fn with_region(mut self, region: &str) -> Self {
        self.region = region.to_string();
        self
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// A SigV4-shaped header (the signature is not a real one).
    pub fn authorization(&self) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={}/20261203/{}/cognito-idp/aws4_request, \
SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}",
            self.access_key_id,
            self.region,
            "0".repeat(64)
        )
    }

    /// Sends `operation` with `body`, with or without `Authorization`.
    pub async fn send(
        &self,
        operation: &str,
        body: &Value,
        signed: bool,
    ) -> Result<Answer, reqwest::Error> {
        let mut req = self
            .http
            .post(format!("{}/", self.endpoint))
            .header("Content-Type", "application/x-amz-json-1.1")
            .header("X-Amz-Target", format!("{TARGET_PREFIX}{operation}"))
            .header("X-Amz-Date", "20261203T120000Z")
            .body(body.to_string());
        if signed {
            req = req.header("Authorization", self.authorization());
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let header_type = resp
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        let error_type = if status >= 300 {
            header_type
                .or_else(|| {
                    body.get("__type")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .map(|t| sanitize_error_type(&t))
        } else {
            None
        };
        Ok(Answer {
            status,
            error_type,
            body,
        })
    }

    /// Sends a signed request; any answer (success or error) is returned.
    pub async fn answer(&self, operation: &str, body: &Value) -> Answer {
        match self.send(operation, body, true).await {
            Ok(a) => a,
            Err(e) => panic!("{operation}: transport error: {e}"),
        }
    }

    /// Sends a signed request and returns the body of a success.
    pub async fn call(&self, operation: &str, body: &Value) -> Result<Value, SeedError> {
        let answer = self
            .send(operation, body, true)
            .await
            .map_err(|e| SeedError::Transport {
                operation: operation.to_string(),
                detail: e.to_string(),
            })?;
        let message = answer.message().to_string();
        match answer.error_type {
            None => Ok(answer.body),
            Some(error_type) => Err(SeedError::Api {
                operation: operation.to_string(),
                message,
                error_type,
            }),
        }
    }

    /// Every user of a pool, following `PaginationToken`s (60 per page);
    /// panics when a call fails (test support).
    pub async fn list_all_users(&self, pool_id: &str, filter: Option<&str>) -> Vec<Value> {
        let mut users = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"UserPoolId": pool_id, "Limit": 60});
            if let Some(f) = filter {
                body["Filter"] = f.into();
            }
            if let Some(t) = &token {
                body["PaginationToken"] = t.clone().into();
            }
            let page = match self.call("ListUsers", &body).await {
                Ok(page) => page,
                Err(e) => panic!("ListUsers {pool_id}: {e}"),
            };
            users.extend(page["Users"].as_array().cloned().unwrap_or_default());
            token = page
                .get("PaginationToken")
                .and_then(Value::as_str)
                .map(str::to_string);
            if token.is_none() {
                return users;
            }
        }
    }

    /// Every item of a `NextToken` listing (`ListGroups`,
    /// `ListUsersInGroup`, `AdminListGroupsForUser`,
    /// `ListIdentityProviders`, `ListUserPools`), `items_key` from each page;
    /// panics when a call fails (test support).
    pub async fn list_all(&self, operation: &str, body: &Value, items_key: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = body.clone();
            if let Some(t) = &token {
                req["NextToken"] = t.clone().into();
            }
            let page = match self.call(operation, &req).await {
                Ok(page) => page,
                Err(e) => panic!("{operation}: {e}"),
            };
            items.extend(page[items_key].as_array().cloned().unwrap_or_default());
            token = page
                .get("NextToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return items;
            }
        }
    }
}

/// Creates the fixture's pools at `endpoint` through the API, in `region`:
/// `CreateUserPool` (custom attributes as `Schema`), `CreateGroup`,
/// `AdminCreateUser` (`MessageAction: SUPPRESS`),
/// `AdminSetUserPassword` (`Permanent`) for `CONFIRMED` users,
/// `AdminDisableUser`, `AdminAddUserToGroup`, `CreateIdentityProvider`.
/// `EXTERNAL_PROVIDER` users cannot be created through the API; they are
/// returned in [`SeededPool::external_not_created`] (see
/// [`add_external_users`] for the fake). `metadata_base` replaces the
/// fixture's `{{metadata_base}}` (e.g. [`FakeCognito::metadata_base`] of a
/// fake serving the fixture's metadata documents).
pub async fn seed_via_api(
    endpoint: &str,
    region: &str,
    fixture: &Value,
    metadata_base: &str,
) -> Result<SeededPools, SeedError> {
    let set = FixtureSet::parse(fixture, metadata_base)?;
    let client = CognitoClient::new(endpoint, region);
    let mut pools = Vec::new();
    for fp in &set.pools {
        let created = client
            .call(
                "CreateUserPool",
                &json!({"PoolName": fp.name, "Schema": fp.schema}),
            )
            .await?;
        let Some(id) = created["UserPool"]["Id"].as_str().map(str::to_string) else {
            return Err(SeedError::Transport {
                operation: "CreateUserPool".into(),
                detail: "no UserPool.Id in the answer".into(),
            });
        };
        for g in &fp.groups {
            let mut body = json!({"UserPoolId": id, "GroupName": g.name});
            if let Some(d) = &g.description {
                body["Description"] = d.clone().into();
            }
            if let Some(p) = g.precedence {
                body["Precedence"] = p.into();
            }
            client.call("CreateGroup", &body).await?;
        }
        let mut subs = BTreeMap::new();
        let mut external = Vec::new();
        for u in &fp.users {
            if u.status == "EXTERNAL_PROVIDER" {
                external.push(ExternalUser {
                    username: u.username.clone(),
                    attributes: u.attributes.clone(),
                });
                continue;
            }
            let attributes: Vec<Value> = u
                .attributes
                .iter()
                .map(|(k, v)| json!({"Name": k, "Value": v}))
                .collect();
            let user_ref = json!({"UserPoolId": id, "Username": u.username});
            let created = client
                .call(
                    "AdminCreateUser",
                    &json!({
                        "UserPoolId": id,
                        "Username": u.username,
                        "MessageAction": "SUPPRESS",
                        "UserAttributes": attributes,
                    }),
                )
                .await?;
            if let Some(sub) = created["User"]["Attributes"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["Name"] == "sub"))
                .and_then(|x| x["Value"].as_str())
            {
                subs.insert(u.username.clone(), sub.to_string());
            }
            if u.status == "CONFIRMED" {
                let mut body = user_ref.clone();
                body["Password"] = SEED_PASSWORD.into();
                body["Permanent"] = true.into();
                client.call("AdminSetUserPassword", &body).await?;
            }
            if !u.enabled {
                client.call("AdminDisableUser", &user_ref).await?;
            }
            for g in &u.groups {
                let mut body = user_ref.clone();
                body["GroupName"] = g.clone().into();
                client.call("AdminAddUserToGroup", &body).await?;
            }
        }
        for provider in &fp.providers {
            let mut body = provider.clone();
            body["UserPoolId"] = id.clone().into();
            client.call("CreateIdentityProvider", &body).await?;
        }
        pools.push(SeededPool {
            key: fp.key.clone(),
            id,
            name: fp.name.clone(),
            subs,
            external_not_created: external,
        });
    }
    Ok(SeededPools {
        region: region.to_string(),
        pools,
    })
}

/// Adds the federated users [`seed_via_api`] could not create to `fake`
/// (which must be the service it seeded), recording their subs.
pub fn add_external_users(fake: &FakeCognito, seeded: &mut SeededPools) -> Result<(), SeedError> {
    for pool in &mut seeded.pools {
        for u in std::mem::take(&mut pool.external_not_created) {
            let attrs: Vec<(&str, &str)> = u
                .attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let sub = fake.add_external_user(&pool.id, &u.username, &attrs)?;
            pool.subs.insert(u.username, sub);
        }
    }
    Ok(())
}

fn usernames(users: &[Value]) -> Vec<String> {
    users
        .iter()
        .filter_map(|u| u["Username"].as_str().map(str::to_string))
        .collect()
}

fn attribute<'a>(user: &'a Value, name: &str) -> Option<&'a str> {
    user["Attributes"]
        .as_array()?
        .iter()
        .find(|a| a["Name"] == name)
        .and_then(|a| a["Value"].as_str())
}

fn text_or_empty(v: &Value) -> Value {
    match v {
        Value::Null => Value::String(String::new()),
        other => other.clone(),
    }
}

/// What an exporter can read about seeded pools, by fixture key, without
/// what the service assigns (pool ids, subs, dates): users (attributes
/// minus `sub`), groups, members, a user's groups, identity providers,
/// filter results, whether the 16 `sub ^= "<hex>"` listings cover the
/// pool. Equal views mean equal pool contents (the fake against moto);
/// panics when a call fails (test support).
pub async fn pool_view(client: &CognitoClient, seeded: &SeededPools) -> Value {
    let mut pools = serde_json::Map::new();
    for pool in &seeded.pools {
        let id = pool.id.as_str();
        let users = client.list_all_users(id, None).await;
        let user_rows: Vec<Value> = users
            .iter()
            .map(|u| {
                let attrs: BTreeMap<String, String> = u["Attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|a| a["Name"] != "sub")
                    .map(|a| {
                        (
                            a["Name"].as_str().unwrap_or_default().to_string(),
                            a["Value"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                json!({"Username": u["Username"], "Attributes": attrs,
                       "Enabled": u["Enabled"], "UserStatus": u["UserStatus"],
                       "HasSub": attribute(u, "sub").is_some()})
            })
            .collect();
        let groups = client
            .list_all("ListGroups", &json!({"UserPoolId": id}), "Groups")
            .await;
        let mut group_rows = Vec::new();
        for g in &groups {
            let name = g["GroupName"].as_str().unwrap_or_default();
            let members = client
                .list_all(
                    "ListUsersInGroup",
                    &json!({"UserPoolId": id, "GroupName": name, "Limit": 2}),
                    "Users",
                )
                .await;
            group_rows.push(json!({"GroupName": name,
                "Description": text_or_empty(&g["Description"]),
                "Precedence": g["Precedence"], "Members": usernames(&members)}));
        }
        let mut user_groups = BTreeMap::new();
        for name in usernames(&users) {
            let gs = client
                .list_all(
                    "AdminListGroupsForUser",
                    &json!({"UserPoolId": id, "Username": name}),
                    "Groups",
                )
                .await;
            let mut names: Vec<String> = gs
                .iter()
                .filter_map(|g| g["GroupName"].as_str().map(str::to_string))
                .collect();
            names.sort();
            user_groups.insert(name, names);
        }
        let providers = client
            .list_all(
                "ListIdentityProviders",
                &json!({"UserPoolId": id, "MaxResults": 2}),
                "Providers",
            )
            .await;
        let mut provider_rows = Vec::new();
        for p in &providers {
            let name = p["ProviderName"].as_str().unwrap_or_default();
            let d = client
                .call(
                    "DescribeIdentityProvider",
                    &json!({"UserPoolId": id, "ProviderName": name}),
                )
                .await
                .unwrap_or_else(|e| panic!("DescribeIdentityProvider {name}: {e}"));
            let d = &d["IdentityProvider"];
            provider_rows.push(
                json!({"ProviderName": name, "ProviderType": p["ProviderType"],
                "UserPoolId": d["UserPoolId"] == id,
                "ProviderDetails": d["ProviderDetails"], "AttributeMapping": d["AttributeMapping"],
                "IdpIdentifiers": d["IdpIdentifiers"]}),
            );
        }
        let mut filters = serde_json::Map::new();
        for f in [
            "email = \"alice@acme.test\"",
            "email ^= \"j\"",
            "given_name ^= \"I\"",
            "name = \"Bob van der Berg\"",
            "status = \"Disabled\"",
            "cognito:user_status = \"CONFIRMED\"",
            "cognito:user_status = \"FORCE_CHANGE_PASSWORD\"",
            "username = \"carol\"",
        ] {
            let hits = client.list_all_users(id, Some(f)).await;
            filters.insert(f.to_string(), json!(usernames(&hits)));
        }
        let mut partitions = 0;
        for d in "0123456789abcdef".chars() {
            partitions += client
                .list_all_users(id, Some(&format!("sub ^= \"{d}\"")))
                .await
                .len();
        }
        pools.insert(
            pool.key.clone(),
            json!({"Name": pool.name, "Users": user_rows, "Groups": group_rows,
                   "UserGroups": user_groups, "Providers": provider_rows,
                   "Filters": filters, "SubPartitionsCover": partitions == users.len()}),
        );
    }
    Value::Object(pools)
}
