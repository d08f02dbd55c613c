//! The update path of `import-package` (`updateExisting`, docs/decisions.md
//! "Delta packages and the update path"): what differs between an object
//! that already exists in WorkOS and the package row that describes it, as
//! the body of a `PUT`.
//!
//! Rules (the package row is the truth, but nothing is ever cleared that the
//! API cannot clear, and nothing is deleted):
//! - users: `email` (exact text), `first_name` / `last_name` (only when the
//!   row has one: the API cannot clear a name), `email_verified` (when the
//!   row says), `external_id` (when the row has one), `metadata` (the row's
//!   string map; keys WorkOS holds that the row lacks are sent as `null`,
//!   which removes them). A password hash (or password) in the row cannot be
//!   compared with anything WorkOS returns, so a row carrying one always
//!   sends it — `diff` writes a hash into a delta only when it changed;
//! - organizations: `name`, the set of domains (`domain_data`, `pending`),
//!   `metadata` (as for users).
//!
//! An empty body means "equal": no request is made, which is what makes a
//! second run send no `PUT`.

use serde_json::{Map, Value};

use crate::workos::{CreateUser, Organization, User};

/// The `PUT /user_management/users/{id}` body for the fields of `want` that
/// differ from `have` (empty when nothing differs).
pub fn user_changes(have: &User, want: &CreateUser) -> Map<String, Value> {
    let mut body = Map::new();
    if want.email.trim() != have.email {
        body.insert("email".into(), Value::String(want.email.trim().to_string()));
    }
    for (key, wanted, held) in [
        ("first_name", &want.first_name, &have.first_name),
        ("last_name", &want.last_name, &have.last_name),
        ("external_id", &want.external_id, &have.external_id),
    ] {
        if let Some(v) = wanted {
            if held.as_deref() != Some(v.as_str()) {
                body.insert(key.into(), Value::String(v.clone()));
            }
        }
    }
    if let Some(v) = want.email_verified {
        if have.email_verified != Some(v) {
            body.insert("email_verified".into(), Value::Bool(v));
        }
    }
    let empty = Map::new();
    if let Some(m) = metadata_changes(&have.metadata, want.metadata.as_ref().unwrap_or(&empty)) {
        body.insert("metadata".into(), Value::Object(m));
    }
    if let Some(p) = &want.password {
        body.insert("password".into(), Value::String(p.clone()));
    } else if let Some(h) = &want.password_hash {
        body.insert("password_hash".into(), Value::String(h.clone()));
        if let Some(t) = &want.password_hash_type {
            body.insert("password_hash_type".into(), Value::String(t.clone()));
        }
    }
    body
}

/// Names of the fields a user body changes (for reports; never values).
pub fn changed_fields(body: &Map<String, Value>) -> Vec<&str> {
    body.keys()
        .map(|k| match k.as_str() {
            "password" | "password_hash" | "password_hash_type" => "password",
            other => other,
        })
        .fold(Vec::new(), |mut acc, k| {
            if !acc.contains(&k) {
                acc.push(k);
            }
            acc
        })
}

/// The metadata to send when `want` differs from `have`: `want` plus `null`
/// for every key only `have` holds. `None` when they are equal.
pub fn metadata_changes(
    have: &Map<String, Value>,
    want: &Map<String, Value>,
) -> Option<Map<String, Value>> {
    let equal = have.len() == want.len() && want.iter().all(|(k, v)| have.get(k) == Some(v));
    if equal {
        return None;
    }
    let mut out = want.clone();
    for k in have.keys() {
        if !want.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    Some(out)
}

/// What an organization row wants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrgWanted<'a> {
    pub name: Option<&'a str>,
    /// Lower-cased, de-duplicated.
    pub domains: &'a [String],
    pub metadata: Option<&'a Map<String, Value>>,
}

/// The `PUT /organizations/{id}` body for what differs (empty when equal).
/// Domains are compared as sets; a row without domains leaves them alone.
pub fn organization_changes(have: &Organization, want: &OrgWanted<'_>) -> Map<String, Value> {
    let mut body = Map::new();
    if let Some(n) = want.name {
        if n != have.name {
            body.insert("name".into(), Value::String(n.to_string()));
        }
    }
    if !want.domains.is_empty() {
        let mut held = have.domain_names();
        held.sort();
        held.dedup();
        let mut wanted = want.domains.to_vec();
        wanted.sort();
        if held != wanted {
            let data = want
                .domains
                .iter()
                .map(|d| serde_json::json!({"domain": d, "state": "pending"}))
                .collect();
            body.insert("domain_data".into(), Value::Array(data));
        }
    }
    let empty = Map::new();
    if let Some(m) = metadata_changes(&have.metadata, want.metadata.unwrap_or(&empty)) {
        body.insert("metadata".into(), Value::Object(m));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn equal_user_needs_no_request() {
        let have = User {
            id: "user_1".into(),
            email: "a@x.com".into(),
            external_id: Some("e1".into()),
            email_verified: Some(true),
            first_name: Some("A".into()),
            last_name: None,
            metadata: map(json!({"k": "v"})),
        };
        let want = CreateUser {
            email: "a@x.com".into(),
            first_name: Some("A".into()),
            email_verified: Some(true),
            external_id: Some("e1".into()),
            metadata: Some(map(json!({"k": "v"}))),
            ..CreateUser::default()
        };
        assert!(user_changes(&have, &want).is_empty());
        // A name the row lacks is not cleared.
        let no_name = CreateUser {
            first_name: None,
            ..want.clone()
        };
        assert!(user_changes(&have, &no_name).is_empty());
        let changed = CreateUser {
            email: "b@x.com".into(),
            last_name: Some("L".into()),
            email_verified: Some(false),
            metadata: None,
            password_hash: Some("$2b$10$x".into()),
            password_hash_type: Some("bcrypt".into()),
            ..want
        };
        let body = user_changes(&have, &changed);
        assert_eq!(
            Value::Object(body.clone()),
            json!({"email": "b@x.com", "last_name": "L", "email_verified": false,
                   "metadata": {"k": null}, "password_hash": "$2b$10$x",
                   "password_hash_type": "bcrypt"})
        );
        assert_eq!(
            changed_fields(&body),
            [
                "email",
                "last_name",
                "email_verified",
                "metadata",
                "password"
            ]
        );
    }

    #[test]
    fn organization_differences() {
        let have = Organization {
            id: "org_1".into(),
            name: "Acme".into(),
            external_id: Some("acme".into()),
            domains: vec![json!({"domain": "acme.com", "state": "pending"})],
            metadata: Map::new(),
        };
        let domains = vec!["acme.com".to_string()];
        let same = OrgWanted {
            name: Some("Acme"),
            domains: &domains,
            metadata: None,
        };
        assert!(organization_changes(&have, &same).is_empty());
        let more = vec!["acme.com".to_string(), "acme.io".to_string()];
        let md = map(json!({"tier": "gold"}));
        let body = organization_changes(
            &have,
            &OrgWanted {
                name: Some("Acme Inc"),
                domains: &more,
                metadata: Some(&md),
            },
        );
        assert_eq!(
            Value::Object(body),
            json!({"name": "Acme Inc",
                   "domain_data": [{"domain": "acme.com", "state": "pending"},
                                   {"domain": "acme.io", "state": "pending"}],
                   "metadata": {"tier": "gold"}})
        );
    }
}
