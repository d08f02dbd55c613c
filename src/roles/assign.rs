//! Assigning roles to users (import.md §6.3 and the package's
//! `user_role_assignments.csv`, header
//! `email,user_id,external_id,role_slug,org_id,org_external_id`).
//!
//! The file is streamed and its rows are applied one at a time:
//! - the user is found by email (case-insensitive), else by `external_id`
//!   through `GET /user_management/users/external_id/{id}`. The `user_id`
//!   column is the *source* system's id and is never sent to WorkOS (the
//!   original sent it, and `external_id`, as a WorkOS user id);
//! - the organization is the row's `org_id`, else its `org_external_id`
//!   (looked up once per run), else the `--org-id` default;
//! - a missing membership is created with the role; an existing one gets the
//!   *union* of its roles and the row's slug (the original replaced the
//!   roles, so the last row for a user won). Re-running changes nothing.
//!   When the environment does not allow several roles (422
//!   `multiple_roles_not_enabled`) the row's slug replaces the role, with a
//!   warning.
//!
//! Because rows are processed in order with an idempotent union update, rows
//! of one user need no grouping. Only the last user and membership seen are
//! cached (consecutive rows of one user cost no extra lookups), so memory
//! does not grow with the file. A dry run (no client) checks the rows and
//! makes no request.

use std::path::Path;

use serde::Serialize;

use super::apply::{fatal_if_unauthorized, is_conflict};
use super::definitions::OrgRef;
use super::orgs::OrgResolver;
use super::rows::CsvRows;
use super::RolesError;
use crate::workos::{CreateMembership, WorkOsClient, WorkOsError};

/// Warnings kept in a report; later ones are only counted.
pub const MAX_KEPT_WARNINGS: usize = 1000;

/// Options of an assignment run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleAssignmentOptions {
    /// `--org-id`: the organization of rows that name none.
    pub default_org_id: Option<String>,
}

/// Totals of an assignment run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentReport {
    pub dry_run: bool,
    /// Data rows read.
    pub total_mappings: u64,
    /// Rows whose user now holds the role (dry run: rows that would be applied).
    pub assigned: u64,
    /// Of `assigned`: the membership already had the role (no write).
    pub already_assigned: u64,
    /// Of `assigned`: a membership was created for the row.
    pub memberships_created: u64,
    /// Rows lacking a role, a user reference or an organization.
    pub skipped: u64,
    /// Rows that could not be applied (including users not found).
    pub failures: u64,
    pub user_not_found: u64,
    /// The first [`MAX_KEPT_WARNINGS`] warnings.
    pub warnings: Vec<String>,
    /// All warnings, kept or not.
    pub warnings_total: u64,
}

impl RoleAssignmentReport {
    fn warn(&mut self, message: String) {
        self.warnings_total += 1;
        if self.warnings.len() < MAX_KEPT_WARNINGS {
            self.warnings.push(message);
        }
    }

    fn skip(&mut self, message: String) {
        self.skipped += 1;
        self.warn(message);
    }

    fn fail(&mut self, message: String) {
        self.failures += 1;
        self.warn(message);
    }
}

/// What the header of an assignment file offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignmentHeader {
    /// `org_id` or `org_external_id` is a column.
    pub has_org_columns: bool,
}

struct Columns {
    email: Option<usize>,
    user_id: Option<usize>,
    external_id: Option<usize>,
    role_slug: Option<usize>,
    org_id: Option<usize>,
    org_external_id: Option<usize>,
}

fn columns(rows: &CsvRows) -> Result<Columns, RolesError> {
    let c = Columns {
        email: rows.column("email"),
        user_id: rows.column("user_id"),
        external_id: rows.column("external_id"),
        role_slug: rows.column("role_slug"),
        org_id: rows.column("org_id"),
        org_external_id: rows.column("org_external_id"),
    };
    if c.email.is_none() && c.user_id.is_none() && c.external_id.is_none() {
        return Err(RolesError::MappingMissingUserColumn);
    }
    if c.role_slug.is_none() {
        return Err(RolesError::MappingMissingRoleColumn);
    }
    Ok(c)
}

/// Opens an assignment file and checks its header only.
pub fn check_assignment_header(path: &Path) -> Result<AssignmentHeader, RolesError> {
    let rows = CsvRows::open(path)?;
    let c = columns(&rows)?;
    Ok(AssignmentHeader {
        has_org_columns: c.org_id.is_some() || c.org_external_id.is_some(),
    })
}

/// The last membership touched, so consecutive rows of one user and
/// organization need no new lookup.
struct CachedMembership {
    user_id: String,
    organization_id: String,
    membership_id: String,
    roles: Vec<String>,
}

/// The last user looked up (by email and external id), found or not.
struct CachedUser {
    email: Option<String>,
    external_id: Option<String>,
    user_id: Option<String>,
}

/// Streams `path` and assigns each row's role. `client: None` is a dry run.
pub async fn assign_user_roles(
    client: Option<&WorkOsClient>,
    path: &Path,
    options: &RoleAssignmentOptions,
    orgs: &mut OrgResolver,
) -> Result<RoleAssignmentReport, RolesError> {
    let rows = CsvRows::open(path)?;
    let cols = columns(&rows)?;
    let default_org = options
        .default_org_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let mut report = RoleAssignmentReport {
        dry_run: client.is_none(),
        ..Default::default()
    };
    let mut last_user: Option<CachedUser> = None;
    let mut last_membership: Option<CachedMembership> = None;
    let mut multiple_roles_warned = false;
    for row in rows {
        let row = row?;
        let n = row.row;
        report.total_mappings += 1;
        if let Some(found) = row.ragged {
            report.skip(format!(
                "Row {n} (line {}): has {found} fields but the header has {} \u{2014} skipping",
                row.line,
                row.cells.len()
            ));
            continue;
        }
        let Some(slug) = row.get(cols.role_slug) else {
            report.skip(format!("Row {n}: Missing role_slug \u{2014} skipping"));
            continue;
        };
        let email = row.get(cols.email).map(str::to_lowercase);
        let external_id = row.get(cols.external_id).map(str::to_string);
        if email.is_none() && external_id.is_none() {
            let message = if row.get(cols.user_id).is_some() {
                format!(
                    "Row {n}: Missing email/external_id \u{2014} skipping (user_id is a source id and is never sent to WorkOS)"
                )
            } else {
                format!("Row {n}: Missing email/user_id \u{2014} skipping")
            };
            report.skip(message);
            continue;
        }
        let Some(org) = OrgRef::pick(
            row.get(cols.org_id),
            row.get(cols.org_external_id),
            default_org,
        ) else {
            report.skip(format!(
                "Row {n}: No organization for role \"{slug}\" (org_id, org_external_id or --org-id) \u{2014} skipping"
            ));
            continue;
        };
        let Some(client) = client else {
            report.assigned += 1;
            continue;
        };
        let who = email
            .clone()
            .or_else(|| external_id.clone())
            .unwrap_or_default();

        // Organization.
        let org_id = match orgs.resolve(client, &org).await {
            Ok(Some(id)) => id,
            Ok(None) => {
                report.fail(format!(
                    "Row {n}: Organization not found for org_external_id \"{}\"",
                    org.value()
                ));
                continue;
            }
            Err(e) => {
                fatal_if_unauthorized(&e)?;
                report.fail(format!(
                    "Row {n}: Failed to resolve organization for external_id {}: {e}",
                    org.value()
                ));
                continue;
            }
        };

        // User.
        let cached = last_user
            .as_ref()
            .filter(|u| u.email == email && u.external_id == external_id)
            .map(|u| u.user_id.clone());
        let user_id = match cached {
            Some(found) => found,
            None => match find_user(client, email.as_deref(), external_id.as_deref()).await {
                Ok(found) => {
                    last_user = Some(CachedUser {
                        email: email.clone(),
                        external_id: external_id.clone(),
                        user_id: found.clone(),
                    });
                    found
                }
                Err(e) => {
                    fatal_if_unauthorized(&e)?;
                    report.fail(format!(
                        "Failed to assign role \"{slug}\": user lookup for {who} failed: {e}"
                    ));
                    continue;
                }
            },
        };
        let Some(user_id) = user_id else {
            report.user_not_found += 1;
            report.fail(format!("User not found: {who}"));
            continue;
        };

        // Membership.
        let cached = last_membership
            .take()
            .filter(|m| m.user_id == user_id && m.organization_id == org_id);
        let outcome = assign_one(client, &user_id, &org_id, slug, cached).await;
        match outcome {
            Ok((membership, effect)) => {
                report.assigned += 1;
                match effect {
                    Effect::Unchanged => report.already_assigned += 1,
                    Effect::Created => report.memberships_created += 1,
                    Effect::Updated => {}
                    Effect::Replaced => {
                        if !multiple_roles_warned {
                            multiple_roles_warned = true;
                            report.warn(format!(
                                "Multiple roles are not enabled in this WorkOS environment: role \"{slug}\" replaced the roles of {who} in org {org_id} (and of later users with several roles)"
                            ));
                        }
                    }
                }
                last_membership = Some(membership);
            }
            Err(e) => {
                fatal_if_unauthorized(&e)?;
                report.fail(format!(
                    "Failed to assign role \"{slug}\" to {who} in org {org_id}: {e}"
                ));
            }
        }
    }
    Ok(report)
}

/// What a row changed.
enum Effect {
    Unchanged,
    Created,
    Updated,
    /// Union refused (single-role environment): the slug replaced the roles.
    Replaced,
}

/// The user by email, else by external id.
async fn find_user(
    client: &WorkOsClient,
    email: Option<&str>,
    external_id: Option<&str>,
) -> Result<Option<String>, WorkOsError> {
    if let Some(email) = email {
        if let Some(user) = client.find_user_by_email(email).await? {
            return Ok(Some(user.id));
        }
    }
    if let Some(ext) = external_id {
        if let Some(user) = client.get_user_by_external_id(ext).await? {
            return Ok(Some(user.id));
        }
    }
    Ok(None)
}

/// Gives `user_id` the role `slug` in `org_id`: creates the membership with
/// it, or updates the membership to the union of its roles and `slug`.
async fn assign_one(
    client: &WorkOsClient,
    user_id: &str,
    org_id: &str,
    slug: &str,
    cached: Option<CachedMembership>,
) -> Result<(CachedMembership, Effect), WorkOsError> {
    let current = match cached {
        Some(m) => Some(m),
        None => client
            .find_membership(user_id, org_id)
            .await?
            .map(|m| CachedMembership {
                roles: m.role_slugs(),
                membership_id: m.id,
                user_id: user_id.to_string(),
                organization_id: org_id.to_string(),
            }),
    };
    let mut current = match current {
        Some(m) => m,
        None => {
            let body = CreateMembership::new(org_id, user_id, &[slug.to_string()]);
            match client.create_membership(&body).await {
                Ok(m) => {
                    let mut roles = m.role_slugs();
                    if roles.is_empty() {
                        roles.push(slug.to_string());
                    }
                    return Ok((
                        CachedMembership {
                            user_id: user_id.to_string(),
                            organization_id: org_id.to_string(),
                            membership_id: m.id,
                            roles,
                        },
                        Effect::Created,
                    ));
                }
                // Created meanwhile (or inactive): read it and take the union.
                Err(e) if is_conflict(&e) => match client.find_membership(user_id, org_id).await? {
                    Some(m) => CachedMembership {
                        roles: m.role_slugs(),
                        membership_id: m.id,
                        user_id: user_id.to_string(),
                        organization_id: org_id.to_string(),
                    },
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
    };
    if current.roles.iter().any(|r| r == slug) {
        return Ok((current, Effect::Unchanged));
    }
    let mut union = current.roles.clone();
    union.push(slug.to_string());
    match client
        .update_membership_roles(&current.membership_id, &union)
        .await
    {
        Ok(_) => {
            current.roles = union;
            Ok((current, Effect::Updated))
        }
        Err(e) if e.code() == Some("multiple_roles_not_enabled") => {
            client
                .update_membership_roles(&current.membership_id, &[slug.to_string()])
                .await?;
            current.roles = vec![slug.to_string()];
            Ok((current, Effect::Replaced))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn header_checks() {
        let f = file("email,org_id\n");
        assert_eq!(
            check_assignment_header(f.path()).unwrap_err().to_string(),
            "User-role mapping CSV must have role_slug column"
        );
        let f = file("role_slug,org_id\n");
        assert_eq!(
            check_assignment_header(f.path()).unwrap_err().to_string(),
            "User-role mapping CSV must have email, user_id, or external_id column"
        );
        let f = file("email,role_slug\n");
        assert!(!check_assignment_header(f.path()).unwrap().has_org_columns);
        let f = file("email,user_id,external_id,role_slug,org_id,org_external_id\n");
        assert!(check_assignment_header(f.path()).unwrap().has_org_columns);
    }

    #[tokio::test]
    async fn dry_run_checks_rows_without_requests() {
        let f = file(
            "email,user_id,external_id,role_slug,org_id,org_external_id\n\
             a@x.com,,,admin,org_1,\n\
             ,src_1,,admin,org_1,\n\
             b@x.com,,,,org_1,\n\
             ,,ext-1,admin,,ext-org\n\
             c@x.com,,,admin,,\n",
        );
        let mut orgs = OrgResolver::new();
        let r = assign_user_roles(None, f.path(), &RoleAssignmentOptions::default(), &mut orgs)
            .await
            .unwrap();
        assert_eq!(r.total_mappings, 5);
        assert_eq!(r.assigned, 2);
        assert_eq!(r.skipped, 3);
        assert!(r.warnings[0].contains("user_id is a source id"));
        assert!(r.warnings[1].contains("Missing role_slug"));
        assert!(r.warnings[2].contains("No organization"));
        let with_default = RoleAssignmentOptions {
            default_org_id: Some("org_9".into()),
        };
        let r = assign_user_roles(None, f.path(), &with_default, &mut orgs)
            .await
            .unwrap();
        assert_eq!(r.assigned, 3);
    }
}
