//! Request bodies and response objects of the WorkOS endpoints the importer
//! uses (`workos-api.md` §2). Request bodies serialize their keys in the order
//! the original tool sends them and omit absent fields; responses are parsed
//! leniently (unknown fields ignored, optional fields defaulted).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /user_management/users` body; key order as import.md §2.1.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateUser {
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_hash_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// A WorkOS user (only the fields the importer reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub email_verified: Option<bool>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// `null` or absent reads as empty.
    #[serde(default, deserialize_with = "null_as_empty_map")]
    pub metadata: Map<String, Value>,
}

/// A JSON object, `null` and absent both read as empty.
fn null_as_empty_map<'de, D>(d: D) -> Result<Map<String, Value>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<Map<String, Value>>::deserialize(d)?.unwrap_or_default())
}

/// One `domain_data` entry of an organization create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainData {
    pub domain: String,
    /// `pending` or `verified`.
    pub state: String,
}

/// `POST /organizations` body (`name`, `external_id` first, as the original).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateOrganization {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub domain_data: Vec<DomainData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// A WorkOS organization.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Organization {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub domains: Vec<Value>,
    /// `null` or absent reads as empty.
    #[serde(default, deserialize_with = "null_as_empty_map")]
    pub metadata: Map<String, Value>,
}

impl Organization {
    /// The domain names (`domains[].domain`, or plain strings), lower-cased.
    pub fn domain_names(&self) -> Vec<String> {
        self.domains
            .iter()
            .filter_map(|d| match d {
                Value::String(s) => Some(s.to_lowercase()),
                other => other
                    .get("domain")
                    .and_then(Value::as_str)
                    .map(str::to_lowercase),
            })
            .collect()
    }
}

/// `{slug}` as embedded in memberships.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RoleRef {
    pub slug: String,
}

/// `POST /user_management/organization_memberships` body: `organization_id`,
/// `user_id`, then `role_slug` (one slug) or `role_slugs` (two or more).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CreateMembership {
    pub organization_id: String,
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_slugs: Option<Vec<String>>,
}

impl CreateMembership {
    /// The body for `slugs` as the original sends it: none, `role_slug`, or
    /// `role_slugs` when there are two or more.
    pub fn new(organization_id: &str, user_id: &str, slugs: &[String]) -> Self {
        let (role_slug, role_slugs) = match slugs {
            [] => (None, None),
            [one] => (Some(one.clone()), None),
            many => (None, Some(many.to_vec())),
        };
        Self {
            organization_id: organization_id.to_string(),
            user_id: user_id.to_string(),
            role_slug,
            role_slugs,
        }
    }
}

/// A WorkOS organization membership.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Membership {
    pub id: String,
    pub user_id: String,
    pub organization_id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub role: Option<RoleRef>,
    #[serde(default)]
    pub roles: Vec<RoleRef>,
}

impl Membership {
    /// Role slugs held: `roles` when present, else the single `role`.
    pub fn role_slugs(&self) -> Vec<String> {
        if !self.roles.is_empty() {
            self.roles.iter().map(|r| r.slug.clone()).collect()
        } else {
            self.role.iter().map(|r| r.slug.clone()).collect()
        }
    }
}

/// A permission or role create body: `slug`, `name`, optional `description`
/// (the original's key order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CreatePermission {
    pub slug: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Role create body (`name`, `slug`, optional `description`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CreateRole {
    pub name: String,
    pub slug: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A WorkOS role (environment or organization).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Role {
    #[serde(default)]
    pub id: String,
    pub slug: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub role_type: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// `POST /user_management/users/{id}/auth_factors` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrollTotp {
    /// Always `totp`.
    #[serde(rename = "type")]
    pub factor_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_user: Option<String>,
    pub totp_secret: String,
}

/// An authentication factor (the secret is never kept).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AuthFactor {
    pub id: String,
    #[serde(default, rename = "type")]
    pub factor_type: String,
    #[serde(default)]
    pub user_id: Option<String>,
}

/// A list envelope `{object, data, list_metadata: {before, after}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ListPage<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub list_metadata: Option<ListMetadata>,
}

/// Cursor of a list page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListMetadata {
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_user_keys_in_original_order_and_absent_ones_omitted() {
        let body = CreateUser {
            email: "a@x.com".into(),
            first_name: Some("A".into()),
            email_verified: Some(true),
            external_id: Some("e1".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"email":"a@x.com","first_name":"A","email_verified":true,"external_id":"e1"}"#
        );
    }

    #[test]
    fn membership_body_uses_role_slug_for_one_and_role_slugs_for_many() {
        let one = CreateMembership::new("org_1", "user_1", &["admin".into()]);
        assert_eq!(
            serde_json::to_string(&one).unwrap(),
            r#"{"organization_id":"org_1","user_id":"user_1","role_slug":"admin"}"#
        );
        let many = CreateMembership::new("org_1", "user_1", &["admin".into(), "member".into()]);
        assert_eq!(
            serde_json::to_string(&many).unwrap(),
            r#"{"organization_id":"org_1","user_id":"user_1","role_slugs":["admin","member"]}"#
        );
        let none = CreateMembership::new("org_1", "user_1", &[]);
        assert_eq!(
            serde_json::to_string(&none).unwrap(),
            r#"{"organization_id":"org_1","user_id":"user_1"}"#
        );
    }
}
