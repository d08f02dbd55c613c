//! One line of an Auth0 export-job file (§4.6), parsed straight into the
//! fields the user mapping reads ([`super::bulk::EXPORT_FIELDS`]) instead of
//! a `serde_json::Value` map: no key strings, no hashing, unknown fields
//! skipped. The mapping reads both through [`UserRecord`], so a line and a
//! Management API user map identically.
//!
//! A line the typed parse refuses but that is still a JSON object (a key
//! given twice, say) is parsed as a `Value` so it keeps JavaScript's
//! last-value-wins reading; anything else is junk for the caller to count.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::mapping::UserRecord;

/// The mapped fields of one job line; `None` = absent, `Some(Null)` =
/// explicit `null`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct JobUser {
    #[serde(deserialize_with = "present")]
    user_id: Option<Value>,
    #[serde(deserialize_with = "present")]
    email: Option<Value>,
    #[serde(deserialize_with = "present")]
    email_verified: Option<Value>,
    #[serde(deserialize_with = "present")]
    given_name: Option<Value>,
    #[serde(deserialize_with = "present")]
    family_name: Option<Value>,
    #[serde(deserialize_with = "present")]
    name: Option<Value>,
    #[serde(deserialize_with = "present")]
    user_metadata: Option<Value>,
    #[serde(deserialize_with = "present")]
    app_metadata: Option<Value>,
    #[serde(deserialize_with = "present")]
    identities: Option<Value>,
    #[serde(deserialize_with = "present")]
    blocked: Option<Value>,
    #[serde(deserialize_with = "present")]
    created_at: Option<Value>,
    #[serde(deserialize_with = "present")]
    updated_at: Option<Value>,
    #[serde(deserialize_with = "present")]
    last_login: Option<Value>,
    #[serde(deserialize_with = "present")]
    logins_count: Option<Value>,
}

/// A present field, `null` included (serde's `Option` would read `null` as
/// absent).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl UserRecord for JobUser {
    fn field(&self, name: &str) -> Option<&Value> {
        match name {
            "user_id" => self.user_id.as_ref(),
            "email" => self.email.as_ref(),
            "email_verified" => self.email_verified.as_ref(),
            "given_name" => self.given_name.as_ref(),
            "family_name" => self.family_name.as_ref(),
            "name" => self.name.as_ref(),
            "user_metadata" => self.user_metadata.as_ref(),
            "app_metadata" => self.app_metadata.as_ref(),
            "identities" => self.identities.as_ref(),
            "blocked" => self.blocked.as_ref(),
            "created_at" => self.created_at.as_ref(),
            "updated_at" => self.updated_at.as_ref(),
            "last_login" => self.last_login.as_ref(),
            "logins_count" => self.logins_count.as_ref(),
            _ => None,
        }
    }
}

/// A parsed job line: typed, or a `Value` object when the typed parse
/// refused it.
#[derive(Debug)]
pub enum JobLineUser {
    Typed(Box<JobUser>),
    Object(Value),
}

impl UserRecord for JobLineUser {
    fn field(&self, name: &str) -> Option<&Value> {
        match self {
            JobLineUser::Typed(u) => u.field(name),
            JobLineUser::Object(v) => v.get(name),
        }
    }
}

/// Parses a trimmed, non-empty line; `None` when it is not a JSON object.
pub fn parse_job_line(line: &[u8]) -> Option<JobLineUser> {
    if line.first() != Some(&b'{') {
        return None;
    }
    match serde_json::from_slice::<JobUser>(line) {
        Ok(u) => Some(JobLineUser::Typed(Box::new(u))),
        Err(_) => match serde_json::from_slice::<Value>(line) {
            Ok(v) if v.is_object() => Some(JobLineUser::Object(v)),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::auth0::mapping::{is_federated, map_user};
    use serde_json::json;

    fn both(v: Value) -> (JobLineUser, Value) {
        let line = serde_json::to_vec(&v).unwrap();
        (parse_job_line(&line).unwrap(), v)
    }

    #[test]
    fn typed_line_maps_like_the_value() {
        let (typed, value) = both(json!({
            "user_id": "auth0|1", "email": "A@x.io", "email_verified": false,
            "name": "Ada  Lovelace", "given_name": null, "logins_count": null,
            "user_metadata": {"b": 1, "org_id": "x", "0": [1.0, "é"]},
            "app_metadata": {"b": {"deep": true}}, "blocked": true,
            "identities": [{"provider": "auth0", "isSocial": false, "connection": "db"}],
            "created_at": "2020", "updated_at": "2021", "last_login": "",
            "picture": "ignored", "extra": {"nested": [1, 2, 3]}
        }));
        assert!(matches!(typed, JobLineUser::Typed(_)));
        assert_eq!(map_user(&typed), map_user(&value));
        assert_eq!(is_federated(&typed), is_federated(&value));
        assert_eq!(typed.field("logins_count"), Some(&Value::Null));
        assert_eq!(typed.field("picture"), None);
    }

    #[test]
    fn duplicate_keys_fall_back_to_last_value_wins() {
        let line = br#"{"user_id":"a","email":"x@y.z","email":"last@y.z"}"#;
        let user = parse_job_line(line).unwrap();
        assert!(matches!(user, JobLineUser::Object(_)));
        assert_eq!(map_user(&user).email, "last@y.z");
    }

    #[test]
    fn non_objects_are_junk() {
        for line in [&b"[1]"[..], b"not json", b"{\"a\":", b"\"s\""] {
            assert!(parse_job_line(line).is_none(), "{line:?}");
        }
    }
}
