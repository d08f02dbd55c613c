//! Auth0 role catalog and member role assignments (export-and-package.md
//! §4.7): role slugs, the role_definitions.csv rows, the per-member slug
//! list for users.csv / memberships and the user_role_assignments.csv rows,
//! and the role warnings with their `details`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::mapping::js::js_trim;
use super::mapping::{with_org, with_user, Auth0Org};
use crate::package::jsonl::JsonlRecord;
use crate::roles::slug::{unreserved, SlugAllocator};

#[cfg(test)]
mod tests;

/// Prefix of synthesized slugs.
const FALLBACK_PREFIX: &str = "auth0-role";

pub use crate::roles::slug::role_slug;

/// One role_definitions.csv entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RoleDefinition {
    slug: String,
    /// The trimmed Auth0 name, or the slug when the name is blank.
    name: String,
}

/// The normalised Auth0 role catalog, in API order.
#[derive(Debug, Clone, Default)]
pub struct RoleCatalog {
    roles: Vec<RoleDefinition>,
    /// Auth0 role id → index into `roles`.
    by_id: HashMap<String, usize>,
}

/// `details` of a role warning: the non-empty ones of `role_id`,
/// `role_name`, `role_slug`; `None` when all are empty.
fn role_details(id: Option<&str>, name: Option<&str>, slug: Option<&str>) -> Option<Value> {
    let mut m = Map::new();
    for (key, value) in [("role_id", id), ("role_name", name), ("role_slug", slug)] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            m.insert(key.into(), Value::String(v.into()));
        }
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

/// A role warning: `code, message, [details]` (§1.6).
fn role_warning(code: &str, message: &str, details: Option<Value>) -> JsonlRecord {
    let record = JsonlRecord::warning(code, message);
    match details {
        Some(d) => record.with("details", d),
        None => record,
    }
}

/// A role's `id` when it is a non-empty string.
fn role_id(role: &Value) -> Option<&str> {
    role.get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
}

/// A role's `name` when it is a string.
fn role_name(role: &Value) -> Option<&str> {
    role.get("name").and_then(Value::as_str)
}

impl RoleCatalog {
    /// Normalises `/api/v2/roles` items in API order (§4.7): entries without
    /// an id are ignored; a repeated id is dropped (`duplicate_role_id`);
    /// reserved slugs get `-role`; a name without slug-able characters gets
    /// a fallback slug (`unmappable_role_name`); colliding slugs get `-2`,
    /// `-3`, … (`duplicate_role_slug`). Returns the warnings in order.
    pub fn from_roles<I: IntoIterator<Item = Value>>(roles: I) -> (RoleCatalog, Vec<JsonlRecord>) {
        let mut catalog = RoleCatalog::default();
        let mut warnings = Vec::new();
        let mut used = SlugAllocator::new();
        let mut fallback_index = 0u64;
        for role in roles {
            let Some(id) = role_id(&role) else {
                continue;
            };
            let name = role_name(&role);
            if catalog.by_id.contains_key(id) {
                warnings.push(role_warning(
                    "duplicate_role_id",
                    &format!(
                        "Auth0 returned role id {id} more than once; using the first occurrence."
                    ),
                    role_details(Some(id), name, None),
                ));
                continue;
            }

            let base = name.map(role_slug).unwrap_or_default();
            let candidate = if base.is_empty() {
                let mut seed = role_slug(id);
                if seed.is_empty() {
                    fallback_index += 1;
                    seed = format!("{FALLBACK_PREFIX}-{fallback_index}");
                }
                if !seed.starts_with(FALLBACK_PREFIX) {
                    seed = format!("{FALLBACK_PREFIX}-{seed}");
                }
                warnings.push(role_warning(
                    "unmappable_role_name",
                    &format!(
                        "Auth0 role {id} has no slug-able name \"{}\"; using fallback slug \"{seed}\".",
                        name.unwrap_or_default()
                    ),
                    role_details(Some(id), name, Some(&seed)),
                ));
                seed
            } else {
                unreserved(base)
            };

            let slug = used.allocate(&candidate);
            if slug != candidate {
                warnings.push(role_warning(
                    "duplicate_role_slug",
                    &format!(
                        "Auth0 role \"{}\" produced slug \"{candidate}\" which collided with another role; renamed to \"{slug}\".",
                        name.unwrap_or(id)
                    ),
                    role_details(Some(id), name, Some(&slug)),
                ));
            }

            let display = name.map(js_trim).filter(|n| !n.is_empty()).unwrap_or(&slug);
            let definition = RoleDefinition {
                name: display.to_string(),
                slug,
            };
            catalog.by_id.insert(id.to_string(), catalog.roles.len());
            catalog.roles.push(definition);
        }
        (catalog, warnings)
    }

    /// role_definitions.csv rows in `ROLE_DEFINITIONS_HEADER` order:
    /// `role_slug, role_name, environment`, the rest empty.
    pub fn definition_rows(&self) -> impl Iterator<Item = [&str; 6]> {
        self.roles
            .iter()
            .map(|r| [r.slug.as_str(), r.name.as_str(), "environment", "", "", ""])
    }

    /// Number of role definitions.
    pub fn len(&self) -> usize {
        self.roles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roles.is_empty()
    }

    /// The slug of an Auth0 role id.
    pub fn slug(&self, role_id: &str) -> Option<&str> {
        self.by_id
            .get(role_id)
            .map(|&i| self.roles[i].slug.as_str())
    }

    /// The roles of one member of `org` given as role ids (§4.7 assignments).
    /// See [`RoleCatalog::assign_member_roles`]; without role names the
    /// `unknown_role_assignment` details carry only `role_id`.
    pub fn assign(&self, user_id: &str, org: &Auth0Org, role_ids: &[String]) -> MemberRoles {
        self.assign_pairs(user_id, org, role_ids.iter().map(|id| (id.as_str(), None)))
    }

    /// The roles of one member of `org` from the member-roles response items
    /// (`{id, name, …}`), in order: items without an id are ignored; an id
    /// not in the catalog gives warning `unknown_role_assignment` (org,
    /// user_id, `details` with the role id and name); a slug already given
    /// to this member is ignored. Slugs are in first-seen order.
    pub fn assign_member_roles(
        &self,
        user_id: &str,
        org: &Auth0Org,
        roles: &[Value],
    ) -> MemberRoles {
        self.assign_pairs(
            user_id,
            org,
            roles
                .iter()
                .filter_map(|r| role_id(r).map(|id| (id, role_name(r)))),
        )
    }

    fn assign_pairs<'r>(
        &self,
        user_id: &str,
        org: &Auth0Org,
        roles: impl Iterator<Item = (&'r str, Option<&'r str>)>,
    ) -> MemberRoles {
        let mut out = MemberRoles::default();
        for (id, name) in roles {
            if id.is_empty() {
                continue;
            }
            let Some(slug) = self.slug(id) else {
                let message = format!(
                    "Auth0 user {user_id} is assigned to role {id} which is not in the role catalog; skipping assignment."
                );
                let record = with_user(
                    with_org(
                        JsonlRecord::warning("unknown_role_assignment", &message),
                        Some(org),
                    ),
                    user_id,
                );
                out.warnings.push(match role_details(Some(id), name, None) {
                    Some(d) => record.with("details", d),
                    None => record,
                });
                continue;
            };
            if !out.slugs.iter().any(|s| s == slug) {
                out.slugs.push(slug.to_string());
            }
        }
        out
    }
}

/// One member's roles in one organization.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberRoles {
    /// Distinct slugs, first-seen order: one user_role_assignments.csv row
    /// each, and the `role_slugs` cell.
    pub slugs: Vec<String>,
    /// `unknown_role_assignment` warnings, in order.
    pub warnings: Vec<JsonlRecord>,
}

impl MemberRoles {
    /// The `role_slugs` cell of the users.csv and memberships rows.
    pub fn role_slugs_cell(&self) -> String {
        self.slugs.join(",")
    }
}

/// A user_role_assignments.csv row in `USER_ROLE_ASSIGNMENTS_HEADER` order:
/// `email, user_id = "", external_id = Auth0 user id, role_slug, org_id = "",
/// org_external_id = Auth0 org id`.
pub fn assignment_fields<'a>(
    email: &'a str,
    user_id: &'a str,
    slug: &'a str,
    org: &'a Auth0Org,
) -> [&'a str; 6] {
    [email, "", user_id, slug, "", &org.id]
}

/// Warning `member_role_fetch_failed` (§4.7): carries `user_id` only; the
/// organization is named in the message.
pub fn member_role_fetch_failed(user_id: &str, org: &Auth0Org, message: &str) -> JsonlRecord {
    let text = format!(
        "Failed to fetch Auth0 roles for {user_id} in org {}: {message}",
        org.id
    );
    with_user(
        JsonlRecord::warning("member_role_fetch_failed", &text),
        user_id,
    )
}

/// Warning `role_catalog_fetch_failed` (§4.7): no roles are exported.
pub fn role_catalog_fetch_failed(message: &str) -> JsonlRecord {
    JsonlRecord::warning(
        "role_catalog_fetch_failed",
        &format!("Failed to fetch Auth0 roles catalog: {message}"),
    )
}

/// Warning `role_assignments_unavailable_metadata_mode` (§4.5).
pub fn role_assignments_unavailable_metadata_mode() -> JsonlRecord {
    JsonlRecord::warning(
        "role_assignments_unavailable_metadata_mode",
        "Auth0 metadata-based org discovery cannot fetch per-org role assignments; only the role catalog was exported.",
    )
}

/// Warning `role_assignments_unavailable_bulk_mode` (§4.6).
pub fn role_assignments_unavailable_bulk_mode() -> JsonlRecord {
    JsonlRecord::warning(
        "role_assignments_unavailable_bulk_mode",
        "Auth0 bulk-job export does not return per-org role assignments; only the role catalog was exported.",
    )
}
