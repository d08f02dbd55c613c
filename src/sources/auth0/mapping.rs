//! Auth0 user and organization mapping (export-and-package.md §4.4, §4.5,
//! §4.9, §13.1): the users.csv / memberships / organizations.csv cells of
//! one user or organization, the metadata-mode organization lookup, and the
//! §1.6 warning and skipped-user records tied to users.
//!
//! Everything here is a pure function of the Management API JSON, called for
//! every user of a tenant: cells are built once per user and borrowed into
//! the row arrays of each file.

pub mod js;
mod metadata;
pub mod raw;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use self::js::{cell_text, is_js_space, js_string, js_trim, truthy};
pub use self::metadata::{user_metadata_json, RESERVED_KEYS};
use crate::package::jsonl::JsonlRecord;
use crate::package::limits::{check_metadata_json, row_warnings, shown, UserCells};

/// An Auth0 organization as the exporter keeps it (§4.2: only id, name,
/// display_name and metadata are kept; branding is not needed by the package).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Auth0Org {
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub metadata: Option<Map<String, Value>>,
}

impl Auth0Org {
    /// An organization from an `/api/v2/organizations` item; `None` without
    /// a string `id`.
    pub fn from_json(v: &Value) -> Option<Self> {
        let id = v.get("id")?.as_str()?.to_string();
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Self {
            id,
            name: text("name").unwrap_or_default(),
            display_name: text("display_name"),
            metadata: v.get("metadata").and_then(Value::as_object).cloned(),
        })
    }

    /// The `org_name` of package rows: `display_name` ‖ `name`.
    pub fn label(&self) -> &str {
        match self.display_name.as_deref() {
            Some(d) if !d.is_empty() => d,
            _ => &self.name,
        }
    }
}

/// Read access to the fields of one Auth0 user record: a Management API
/// object (`Value`), or an export-job line parsed straight into the fields
/// the mapping reads ([`super::job_line::JobUser`], no map built). Every
/// mapping function is written once against this trait.
pub trait UserRecord {
    /// The value of a top-level field; `Some(Value::Null)` for an explicit
    /// `null` (JavaScript `!== undefined` tests tell the two apart).
    fn field(&self, name: &str) -> Option<&Value>;
}

impl UserRecord for Value {
    fn field(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

/// The §4.9 federated-user test: a non-empty `identities` array none of which
/// is a database identity (`provider: "auth0"`, `isSocial: false`). No
/// identities → not federated; a database identity linked with a social one
/// → not federated.
pub fn is_federated<U: UserRecord + ?Sized>(user: &U) -> bool {
    match user.field("identities") {
        Some(Value::Array(ids)) if !ids.is_empty() => !ids.iter().any(|id| {
            id.get("provider").and_then(Value::as_str) == Some("auth0")
                && id.get("isSocial") == Some(&Value::Bool(false))
        }),
        _ => false,
    }
}

/// The per-user cells shared by users.csv, memberships and the legacy CSV
/// (§4.9). Password columns are always empty: the Management API never
/// returns hashes (merge-passwords adds them later).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MappedUser {
    /// `email` verbatim (no trim, no lower-casing); empty when the user has
    /// none — the caller skips such users.
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// `true` / `false`, empty when Auth0 did not say.
    pub email_verified: String,
    /// The Auth0 `user_id`.
    pub external_id: String,
    /// The metadata JSON text (never empty).
    pub metadata: String,
    /// `blocked: true` — exported metadata-only, with a warning.
    pub blocked: bool,
}

/// Maps one Management API user (§4.9).
pub fn map_user<U: UserRecord + ?Sized>(user: &U) -> MappedUser {
    let given = user.field("given_name");
    let family = user.field("family_name");
    let (first_name, last_name) = match user.field("name") {
        Some(Value::String(name)) if !truthy(given) && !truthy(family) && !name.is_empty() => {
            split_name(name)
        }
        _ => (cell_text(given), cell_text(family)),
    };
    MappedUser {
        email: user
            .field("email")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        first_name,
        last_name,
        email_verified: cell_text(user.field("email_verified")),
        external_id: cell_text(user.field("user_id")),
        metadata: user_metadata_json(user),
        blocked: matches!(user.field("blocked"), Some(Value::Bool(true))),
    }
}

/// `name.trim().split(/\s+/)`: the first token, and the rest joined by one
/// space (both empty for a blank name).
fn split_name(name: &str) -> (String, String) {
    let (first, last) = split_name_parts(name);
    (first.to_string(), last.into_owned())
}

/// [`split_name`] borrowing from `name` when the rest is already joined by
/// single spaces.
pub(crate) fn split_name_parts(name: &str) -> (&str, std::borrow::Cow<'_, str>) {
    let trimmed = js_trim(name);
    let mut tokens = trimmed.split(is_js_space).filter(|t| !t.is_empty());
    let first = tokens.next().unwrap_or_default();
    let rest = js_trim(&trimmed[first.len()..]);
    if rest
        .split(' ')
        .all(|t| !t.is_empty() && !t.contains(is_js_space))
    {
        return (first, std::borrow::Cow::Borrowed(rest));
    }
    let mut last = String::new();
    for t in tokens {
        if !last.is_empty() {
            last.push(' ');
        }
        last.push_str(t);
    }
    (first, std::borrow::Cow::Owned(last))
}

impl MappedUser {
    /// The identity cells the size limits apply to.
    pub fn cells(&self) -> UserCells<'_> {
        UserCells {
            email: &self.email,
            first_name: &self.first_name,
            last_name: &self.last_name,
            external_id: &self.external_id,
        }
    }

    /// Warnings of an exported user over WorkOS's limits (metadata, an
    /// external id over 128 characters), with the usual Auth0 keys.
    pub fn limit_warnings(&self, org: Option<&Auth0Org>) -> Vec<JsonlRecord> {
        row_warnings(&self.cells(), &check_metadata_json(&self.metadata))
            .into_iter()
            .map(|w| {
                with_user(
                    with_org(JsonlRecord::warning(w.code, &w.message), org),
                    &self.external_id,
                )
            })
            .collect()
    }

    /// A users.csv row in `USERS_HEADER` order: password columns and `org_id`
    /// empty; `org_external_id` / `org_name` from `org` (`None` in bulk-job
    /// mode); `role_slugs` as given (`,`-joined, possibly empty).
    pub fn users_csv_fields<'a>(
        &'a self,
        org: Option<&'a Auth0Org>,
        role_slugs: &'a str,
    ) -> [&'a str; 13] {
        [
            &self.email,
            "",
            "",
            "",
            &self.first_name,
            &self.last_name,
            &self.email_verified,
            &self.external_id,
            &self.metadata,
            "",
            org.map_or("", |o| o.id.as_str()),
            org.map_or("", Auth0Org::label),
            role_slugs,
        ]
    }

    /// An organization_memberships.csv row in `MEMBERSHIPS_HEADER` order
    /// (§4.4): `user_id`, `org_id` and `metadata` empty.
    pub fn membership_fields<'a>(&'a self, org: &'a Auth0Org, role_slugs: &'a str) -> [&'a str; 8] {
        [
            &self.email,
            &self.external_id,
            "",
            "",
            &org.id,
            org.label(),
            role_slugs,
            "",
        ]
    }

    /// A legacy `export-auth0` row in [`LEGACY_HEADER`] order (§13.1);
    /// `org_name` is the organization label (display_name ‖ name).
    pub fn legacy_fields<'a>(&'a self, org_id: &'a str, org_name: &'a str) -> [&'a str; 8] {
        [
            &self.email,
            &self.first_name,
            &self.last_name,
            &self.email_verified,
            &self.external_id,
            org_id,
            org_name,
            &self.metadata,
        ]
    }
}

/// The legacy single-CSV header (§13.1).
pub const LEGACY_HEADER: [&str; 8] = [
    "email",
    "first_name",
    "last_name",
    "email_verified",
    "external_id",
    "org_external_id",
    "org_name",
    "metadata",
];

/// The legacy per-row check (`validateMappedRow`, §13.1): the reason a row
/// is logged as `validation_failed`, or `None` when it is fine.
pub fn validate_legacy_row(user: &MappedUser) -> Option<String> {
    if js_trim(&user.email).is_empty() {
        return Some("Missing required field: email".into());
    }
    if !user.email.contains('@') {
        return Some(format!("Invalid email format: {}", user.email));
    }
    if !user.metadata.is_empty()
        && serde_json::from_str::<serde::de::IgnoredAny>(&user.metadata).is_err()
    {
        return Some("Invalid metadata: must be valid JSON".into());
    }
    None
}

/// The organizations.csv `domains` cell (§4.4): `metadata.domains`, else
/// `metadata.domain`; an array's items as strings, a string split on `;` or
/// `,` and trimmed; empties dropped; case kept; joined with `,`.
pub fn org_domains(org: &Auth0Org) -> String {
    let Some(meta) = org.metadata.as_ref() else {
        return String::new();
    };
    // `domains ?? domain`: a null `domains` falls through, an empty one not.
    let raw = match meta.get("domains") {
        None | Some(Value::Null) => meta.get("domain"),
        some => some,
    };
    let mut out = String::new();
    let mut push = |d: &str| {
        if !d.is_empty() {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(d);
        }
    };
    match raw {
        Some(Value::Array(items)) => {
            for item in items.iter().filter(|v| !v.is_null()) {
                push(&js_string(item));
            }
        }
        Some(Value::String(s)) => {
            for d in s.split([';', ',']) {
                push(js_trim(d));
            }
        }
        _ => {}
    }
    out
}

/// An organizations.csv row in `ORGANIZATIONS_HEADER` order (§4.4): `org_id`
/// empty, the Auth0 id as `org_external_id`, the label, the domains and the
/// organization metadata as JSON text (empty without metadata).
pub fn organization_fields(org: &Auth0Org) -> [String; 5] {
    let metadata = match &org.metadata {
        Some(m) => {
            let mut s = String::new();
            js::push_js_object(&mut s, m);
            s
        }
        None => String::new(),
    };
    [
        String::new(),
        org.id.clone(),
        org.label().to_string(),
        org_domains(org),
        metadata,
    ]
}

/// An organization found in a user's metadata (§4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataOrg {
    pub id: String,
    pub name: Option<String>,
}

impl MetadataOrg {
    /// The synthetic organization of metadata mode: `name` = name ‖ id,
    /// `display_name` = name, no metadata (so no domains).
    pub fn to_org(&self) -> Auth0Org {
        Auth0Org {
            id: self.id.clone(),
            name: self.name.clone().unwrap_or_else(|| self.id.clone()),
            display_name: self.name.clone(),
            metadata: None,
        }
    }
}

const DEFAULT_ORG_ID_FIELDS: [&str; 3] = ["organization_id", "org_id", "organizationId"];
const DEFAULT_ORG_NAME_FIELDS: [&str; 3] = ["organization_name", "org_name", "organizationName"];

/// The first truthy value of the custom field (when configured) or else of
/// the default fields.
fn metadata_field<'a>(
    meta: &'a Map<String, Value>,
    custom: Option<&str>,
    defaults: &[&str],
) -> Option<&'a Value> {
    let present = |k: &str| meta.get(k).filter(|v| truthy(Some(v)));
    custom
        .filter(|f| !f.is_empty())
        .and_then(present)
        .or_else(|| defaults.iter().find_map(|k| present(k)))
}

/// The organization a user's metadata names (§4.5, `--use-metadata`): the id
/// from `user_metadata`, else `app_metadata` (custom id field first, then
/// `organization_id`, `org_id`, `organizationId`); the name from the same
/// object, else from the other one (custom name field first, then
/// `organization_name`, `org_name`, `organizationName`). Values are
/// stringified as JavaScript's `String()` does. `None` without an id.
///
/// Unlike the original, an object holding only a name does not hide an id
/// in the other object (§17 item 28).
pub fn org_from_metadata(
    user: &Value,
    id_field: Option<&str>,
    name_field: Option<&str>,
) -> Option<MetadataOrg> {
    let objects = [
        user.get("user_metadata").and_then(Value::as_object),
        user.get("app_metadata").and_then(Value::as_object),
    ];
    let (at, id) = objects.iter().enumerate().find_map(|(i, m)| {
        m.and_then(|m| metadata_field(m, id_field, &DEFAULT_ORG_ID_FIELDS))
            .map(|id| (i, id))
    })?;
    let name_in =
        |i: usize| objects[i].and_then(|m| metadata_field(m, name_field, &DEFAULT_ORG_NAME_FIELDS));
    let name = name_in(at).or_else(|| name_in(1 - at));
    Some(MetadataOrg {
        id: js_string(id),
        name: name.map(js_string),
    })
}

/// A skipped_users.jsonl record of the package exporter (§1.6): `timestamp,
/// user_id, email, org_id, org_name, reason, [error]`; a missing user id,
/// email or organization is the literal `unknown` (an empty organization
/// label too; a user id or email over 64 KiB too: records never carry an
/// oversized value); `error` only when non-empty.
pub fn skipped_user(
    user_id: Option<&str>,
    email: Option<&str>,
    org: Option<&Auth0Org>,
    reason: &str,
    error: Option<&str>,
) -> JsonlRecord {
    let org_name = org.map(Auth0Org::label).filter(|l| !l.is_empty());
    JsonlRecord::skipped()
        .with("user_id", user_id.and_then(shown).unwrap_or("unknown"))
        .with("email", email.and_then(shown).unwrap_or("unknown"))
        .with("org_id", org.map_or("unknown", |o| o.id.as_str()))
        .with("org_name", org_name.unwrap_or("unknown"))
        .with("reason", reason)
        .with_opt("error", error.filter(|e| !e.is_empty()))
}

/// A record of the legacy `export-auth0` skipped log (§13.1): same shape as
/// [`skipped_user`] but the caller passes the organization id and name (the
/// organization's `name`, not its display name; in metadata mode the name
/// found in the metadata); `None` → `unknown`; `error` whenever given.
pub fn legacy_skipped_user(
    user_id: Option<&str>,
    email: Option<&str>,
    org_id: Option<&str>,
    org_name: Option<&str>,
    reason: &str,
    error: Option<&str>,
) -> JsonlRecord {
    JsonlRecord::skipped()
        .with("user_id", user_id.unwrap_or("unknown"))
        .with("email", email.unwrap_or("unknown"))
        .with("org_id", org_id.unwrap_or("unknown"))
        .with("org_name", org_name.unwrap_or("unknown"))
        .with("reason", reason)
        .with_opt("error", error)
}

/// Appends the `org_id` / `org_name` keys of an Auth0 warning.
pub(crate) fn with_org(record: JsonlRecord, org: Option<&Auth0Org>) -> JsonlRecord {
    match org {
        Some(o) => record
            .with("org_id", o.id.as_str())
            .with("org_name", o.label()),
        None => record,
    }
}

/// Appends `user_id` unless it is empty (the original's truthiness test).
pub(crate) fn with_user(record: JsonlRecord, user_id: &str) -> JsonlRecord {
    record.with_opt("user_id", Some(user_id).filter(|u| !u.is_empty()))
}

/// Warning `blocked_user_metadata_only` for an exported blocked user (§4.4;
/// no organization keys in bulk-job mode).
pub fn blocked_user_warning(user_id: &str, org: Option<&Auth0Org>) -> JsonlRecord {
    let message = format!("Blocked Auth0 user {user_id} was exported without credentials.");
    with_user(
        with_org(
            JsonlRecord::warning("blocked_user_metadata_only", &message),
            org,
        ),
        user_id,
    )
}

/// Warning `org_export_failed`: listing an organization's members failed
/// (§4.4; the message names the organization's `name`).
pub fn org_export_failed(org: &Auth0Org, message: &str) -> JsonlRecord {
    let text = format!("Failed to export org {}: {message}", org.name);
    with_org(JsonlRecord::warning("org_export_failed", &text), Some(org))
}
