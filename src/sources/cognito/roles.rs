//! Cognito groups as roles (`--entities roles`, our addition: the original
//! ignored groups). Every distinct group name of the exported pools becomes
//! one environment role in `role_definitions.csv`, slugged like Auth0 role
//! names ([`crate::roles::slug`]: reserved slugs get `-role`, colliding
//! slugs `-2`, `-3`, … with a `duplicate_role_slug` warning, a name without
//! slug-able characters a `cognito-group-N` slug with an
//! `unmappable_role_name` warning). Group memberships become
//! `user_role_assignments.csv` rows in the pool's organization and the
//! users' `role_slugs`.

use std::collections::HashMap;

use crate::package::jsonl::JsonlRecord;
use crate::roles::slug::{role_slug, unreserved, SlugAllocator};

/// Prefix of synthesized slugs.
const FALLBACK_PREFIX: &str = "cognito-group";

/// One role definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRole {
    pub slug: String,
    /// The group name.
    pub name: String,
}

/// The roles of a run and, per pool, the slug of each of its groups.
#[derive(Debug, Clone, Default)]
pub struct GroupCatalog {
    roles: Vec<GroupRole>,
    /// Per pool (in pool order): the role index of each group (in the
    /// pool's `ListGroups` order).
    pool_groups: Vec<Vec<usize>>,
}

impl GroupCatalog {
    /// Builds the catalog from the group names of each pool (pool order,
    /// `ListGroups` order). The same name in several pools is one role.
    pub fn build(pools: &[Vec<String>]) -> (Self, Vec<JsonlRecord>) {
        let mut catalog = Self::default();
        let mut warnings = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut used = SlugAllocator::new();
        let mut fallback = 0u64;
        for groups in pools {
            let mut indices = Vec::with_capacity(groups.len());
            for name in groups {
                if let Some(&i) = by_name.get(name) {
                    indices.push(i);
                    continue;
                }
                let base = role_slug(name);
                let candidate = if base.is_empty() {
                    fallback += 1;
                    let seed = format!("{FALLBACK_PREFIX}-{fallback}");
                    warnings.push(JsonlRecord::warning(
                        "unmappable_role_name",
                        &format!(
                            "Cognito group \"{name}\" has no slug-able name; using fallback slug \"{seed}\"."
                        ),
                    ));
                    seed
                } else {
                    unreserved(base)
                };
                let slug = used.allocate(&candidate);
                if slug != candidate {
                    warnings.push(JsonlRecord::warning(
                        "duplicate_role_slug",
                        &format!(
                            "Cognito group \"{name}\" produced slug \"{candidate}\" which collided with another group; renamed to \"{slug}\"."
                        ),
                    ));
                }
                let i = catalog.roles.len();
                catalog.roles.push(GroupRole {
                    slug,
                    name: name.clone(),
                });
                by_name.insert(name.clone(), i);
                indices.push(i);
            }
            catalog.pool_groups.push(indices);
        }
        (catalog, warnings)
    }

    /// The role definitions, first-seen order.
    pub fn roles(&self) -> &[GroupRole] {
        &self.roles
    }

    /// `role_definitions.csv` rows: `role_slug, role_name, environment`,
    /// the rest empty.
    pub fn definition_rows(&self) -> impl Iterator<Item = [&str; 6]> {
        self.roles
            .iter()
            .map(|r| [r.slug.as_str(), r.name.as_str(), "environment", "", "", ""])
    }

    /// The slug of group number `group` of pool number `pool`.
    pub fn slug(&self, pool: usize, group: u32) -> Option<&str> {
        let i = *self.pool_groups.get(pool)?.get(group as usize)?;
        self.roles.get(i).map(|r| r.slug.as_str())
    }
}

/// Warning `role_assignments_unavailable_without_org`: groups were listed
/// but the org strategy gives users no organization to hold the roles.
pub fn assignments_need_pool_orgs() -> JsonlRecord {
    JsonlRecord::warning(
        "role_assignments_unavailable_without_org",
        "Cognito group memberships are assigned as roles inside each pool's organization; with --org-strategy connection or none there is none, so user_role_assignments.csv is empty (users.csv role_slugs still lists each user's groups).",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_become_roles_like_auth0_roles() {
        let pools = vec![
            vec!["Admin".to_string(), "Editors".into(), "!!".into()],
            vec!["editors".into(), "Admin".into(), "Billing Team".into()],
        ];
        let (c, warnings) = GroupCatalog::build(&pools);
        let slugs: Vec<&str> = c.roles().iter().map(|r| r.slug.as_str()).collect();
        assert_eq!(
            slugs,
            [
                "admin-role",
                "editors",
                "cognito-group-1",
                "editors-2",
                "billing-team"
            ]
        );
        assert_eq!(c.slug(1, 1), Some("admin-role"));
        assert_eq!(c.slug(1, 0), Some("editors-2"));
        assert_eq!(c.slug(0, 9), None);
        let codes: Vec<String> = warnings
            .iter()
            .map(|w| {
                w.get("code")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        assert_eq!(codes, ["unmappable_role_name", "duplicate_role_slug"]);
        let first = c.definition_rows().next().unwrap();
        assert_eq!(first, ["admin-role", "Admin", "environment", "", "", ""]);
    }
}
