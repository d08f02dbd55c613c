//! Applying role definitions to WorkOS (import.md §6.2): permissions first
//! (distinct slugs, first-seen order), then environment roles, then
//! organization roles, each in file order, one request at a time.
//!
//! Idempotent: roles that already exist are found by listing
//! (`GET /authorization/roles`, `GET /authorization/organizations/{id}/roles`)
//! and reported as "exists"; a 409 on a create (the role was absent from the
//! listing, so it is a retried create whose answer was lost) still gets its
//! permissions set; a 409 on a permission means it exists. An
//! existing role that lacks some of the file's permissions gets them added
//! (`PUT …/permissions` with the union, so nothing set in WorkOS is removed);
//! every difference is reported as the original's `Permission mismatch`
//! warning. A dry run (no client) makes no request at all.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use super::definitions::{
    parse_role_definitions, permission_name, OrgRef, ParsedDefinitions, RoleDefinition, RoleScope,
};
use super::orgs::OrgResolver;
use super::RolesError;
use crate::workos::{CreatePermission, CreateRole, Role, WorkOsClient, WorkOsError};

/// Options of a role-definitions run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleDefinitionOptions {
    /// `--org-id`: the organization of organization rows that name none.
    pub default_org_id: Option<String>,
}

/// What happened to one definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleAction {
    Created,
    Exists,
    Skipped,
    Error,
}

/// Permissions of an existing role compared with the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PermissionDiff {
    /// In the file, not in WorkOS (added by the run).
    pub missing: Vec<String>,
    /// In WorkOS, not in the file (left alone).
    pub extra: Vec<String>,
}

/// The outcome for one definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleResult {
    pub row: u64,
    pub slug: String,
    /// The WorkOS organization of an organization role, when resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    pub action: RoleAction,
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_diff: Option<PermissionDiff>,
}

/// Totals of a role-definitions run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinitionsReport {
    pub dry_run: bool,
    /// Accepted definitions.
    pub total: u64,
    pub created: u64,
    pub already_exist: u64,
    pub skipped: u64,
    /// Row errors + permission failures + role failures.
    pub errors: u64,
    /// Permissions created (dry run: that would be created).
    pub permissions_created: u64,
    pub permissions_existing: u64,
    pub permissions_failed: u64,
    pub warnings: Vec<String>,
    /// Every error, one line each (row errors first).
    pub error_messages: Vec<String>,
    pub results: Vec<RoleResult>,
}

/// Parses `path` and applies it. `client: None` is a dry run: the file is
/// checked and every definition reported as `created`, with no request.
pub async fn apply_role_definitions(
    client: Option<&WorkOsClient>,
    path: &Path,
    options: &RoleDefinitionOptions,
    orgs: &mut OrgResolver,
) -> Result<RoleDefinitionsReport, RolesError> {
    let parsed = parse_role_definitions(path, options.default_org_id.as_deref())?;
    apply_parsed_definitions(client, parsed, orgs).await
}

/// Applies already parsed definitions (see [`apply_role_definitions`]).
pub async fn apply_parsed_definitions(
    client: Option<&WorkOsClient>,
    parsed: ParsedDefinitions,
    orgs: &mut OrgResolver,
) -> Result<RoleDefinitionsReport, RolesError> {
    let mut report = RoleDefinitionsReport {
        dry_run: client.is_none(),
        total: parsed.definitions.len() as u64,
        warnings: parsed.warnings.clone(),
        error_messages: parsed.errors.clone(),
        errors: parsed.errors.len() as u64,
        ..Default::default()
    };

    // 1. Permissions.
    for slug in parsed.permission_slugs() {
        let Some(client) = client else {
            report.permissions_created += 1;
            continue;
        };
        let body = CreatePermission {
            name: permission_name(&slug),
            slug: slug.clone(),
            description: None,
        };
        match client.create_permission(&body).await {
            Ok(_) => report.permissions_created += 1,
            Err(e) if is_conflict(&e) => report.permissions_existing += 1,
            Err(e) => {
                fatal_if_unauthorized(&e)?;
                report.permissions_failed += 1;
                report
                    .error_messages
                    .push(format!("Failed to create permission \"{slug}\": {e}"));
            }
        }
    }
    report.errors += report.permissions_failed;

    // 2. Environment roles, then 3. organization roles (file order within each).
    let mut env_roles: Option<Result<HashMap<String, Vec<String>>, String>> = None;
    let mut org_roles: HashMap<String, Result<HashMap<String, Vec<String>>, String>> =
        HashMap::new();
    let (env_defs, org_defs): (Vec<&RoleDefinition>, Vec<&RoleDefinition>) = parsed
        .definitions
        .iter()
        .partition(|d| d.scope == RoleScope::Environment);
    for def in env_defs {
        let result = match client {
            None => planned(def, None),
            Some(client) => {
                if env_roles.is_none() {
                    env_roles = Some(match client.list_environment_roles().await {
                        Ok(roles) => Ok(role_map(roles, false)),
                        Err(e) => {
                            fatal_if_unauthorized(&e)?;
                            Err(format!("Failed to list environment roles: {e}"))
                        }
                    });
                }
                match env_roles.as_mut() {
                    Some(Ok(existing)) => apply_environment_role(client, def, existing).await?,
                    Some(Err(message)) => failed(def, None, message.clone()),
                    None => failed(def, None, "environment roles not listed".to_string()),
                }
            }
        };
        report.push(result);
    }
    for def in org_defs {
        let RoleScope::Organization(org) = &def.scope else {
            continue;
        };
        let Some(client) = client else {
            let id = match org {
                OrgRef::Id(id) => Some(id.clone()),
                OrgRef::ExternalId(_) => None,
            };
            report.push(planned(def, id));
            continue;
        };
        let org_id = match orgs.resolve(client, org).await {
            Ok(Some(id)) => id,
            Ok(None) => {
                report.push(failed(
                    def,
                    None,
                    format!(
                        "Organization not found for org_external_id \"{}\" (org role \"{}\")",
                        org.value(),
                        def.slug
                    ),
                ));
                continue;
            }
            Err(e) => {
                fatal_if_unauthorized(&e)?;
                report.push(failed(
                    def,
                    None,
                    format!(
                        "Failed to resolve organization for external_id {}: {e}",
                        org.value()
                    ),
                ));
                continue;
            }
        };
        if !org_roles.contains_key(&org_id) {
            let listed = match client.list_organization_roles(&org_id).await {
                Ok(roles) => Ok(role_map(roles, true)),
                Err(e) => {
                    fatal_if_unauthorized(&e)?;
                    Err(format!(
                        "Failed to list roles of organization {org_id}: {e}"
                    ))
                }
            };
            org_roles.insert(org_id.clone(), listed);
        }
        let result = match org_roles.get_mut(&org_id) {
            Some(Ok(existing)) => apply_organization_role(client, def, &org_id, existing).await?,
            Some(Err(message)) => failed(def, Some(org_id.clone()), message.clone()),
            None => failed(def, Some(org_id.clone()), "roles not listed".to_string()),
        };
        report.push(result);
    }
    Ok(report)
}

impl RoleDefinitionsReport {
    fn push(&mut self, result: RoleResult) {
        match result.action {
            RoleAction::Created => self.created += 1,
            RoleAction::Exists => self.already_exist += 1,
            RoleAction::Skipped => self.skipped += 1,
            RoleAction::Error => self.errors += 1,
        }
        self.warnings.extend(result.warnings.iter().cloned());
        if let Some(e) = &result.error {
            self.error_messages.push(e.clone());
        }
        self.results.push(result);
    }
}

async fn apply_environment_role(
    client: &WorkOsClient,
    def: &RoleDefinition,
    existing: &mut HashMap<String, Vec<String>>,
) -> Result<RoleResult, RolesError> {
    let label = format!("environment role \"{}\"", def.slug);
    if let Some(current) = existing.get(&def.slug) {
        let current = current.clone();
        return reconcile(def, None, &label, &current, |perms| async move {
            client
                .set_environment_role_permissions(&def.slug, &perms)
                .await
        })
        .await;
    }
    let body = CreateRole {
        name: def.name.clone(),
        slug: def.slug.clone(),
        description: None,
    };
    // The listing said it is absent, so a 409 is this run's own create
    // retried after its answer was lost: go on and set the permissions.
    let slug = match client.create_environment_role(&body).await {
        Ok(role) if !role.slug.is_empty() => role.slug,
        Ok(_) => def.slug.clone(),
        Err(e) if is_conflict(&e) => def.slug.clone(),
        Err(e) => {
            fatal_if_unauthorized(&e)?;
            return Ok(failed(def, None, format!("Failed to create {label}: {e}")));
        }
    };
    existing.insert(def.slug.clone(), def.permissions.clone());
    if def.permissions.is_empty() {
        return Ok(done(def, None, RoleAction::Created));
    }
    match client
        .set_environment_role_permissions(&slug, &def.permissions)
        .await
    {
        Ok(_) => Ok(done(def, None, RoleAction::Created)),
        Err(e) => {
            fatal_if_unauthorized(&e)?;
            Ok(failed(
                def,
                None,
                format!("Failed to assign permissions to {label}: {e}"),
            ))
        }
    }
}

async fn apply_organization_role(
    client: &WorkOsClient,
    def: &RoleDefinition,
    org_id: &str,
    existing: &mut HashMap<String, Vec<String>>,
) -> Result<RoleResult, RolesError> {
    let org = Some(org_id.to_string());
    let label = format!("org role \"{}\" in org {org_id}", def.slug);
    if let Some(current) = existing.get(&def.slug) {
        let current = current.clone();
        return reconcile(def, org, &label, &current, |perms| async move {
            client
                .set_organization_role_permissions(org_id, &def.slug, &perms)
                .await
        })
        .await;
    }
    let body = CreateRole {
        name: def.name.clone(),
        slug: def.slug.clone(),
        description: None,
    };
    // As for environment roles: a 409 after an "absent" listing is our own
    // retried create.
    let slug = match client.create_organization_role(org_id, &body).await {
        Ok(role) if !role.slug.is_empty() => role.slug,
        Ok(_) => def.slug.clone(),
        Err(e) if is_conflict(&e) => def.slug.clone(),
        Err(e) => {
            fatal_if_unauthorized(&e)?;
            return Ok(failed(
                def,
                org,
                format!(
                    "Failed to create org role \"{}\" for org {org_id}: {e}",
                    def.slug
                ),
            ));
        }
    };
    existing.insert(def.slug.clone(), def.permissions.clone());
    if def.permissions.is_empty() {
        return Ok(done(def, org, RoleAction::Created));
    }
    match client
        .set_organization_role_permissions(org_id, &slug, &def.permissions)
        .await
    {
        Ok(_) => Ok(done(def, org, RoleAction::Created)),
        Err(e) => {
            fatal_if_unauthorized(&e)?;
            Ok(failed(
                def,
                org,
                format!(
                    "Failed to assign permissions to org role in {org_id} \"{}\": {e}",
                    def.slug
                ),
            ))
        }
    }
}

/// An existing role: compare permissions, add the missing ones (union).
async fn reconcile<F, Fut>(
    def: &RoleDefinition,
    org: Option<String>,
    label: &str,
    current: &[String],
    set_permissions: F,
) -> Result<RoleResult, RolesError>
where
    F: FnOnce(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Role, WorkOsError>>,
{
    let diff = PermissionDiff {
        missing: def
            .permissions
            .iter()
            .filter(|p| !current.contains(p))
            .cloned()
            .collect(),
        extra: current
            .iter()
            .filter(|p| !def.permissions.contains(p))
            .cloned()
            .collect(),
    };
    let mut result = done(def, org, RoleAction::Exists);
    if diff.missing.is_empty() && diff.extra.is_empty() {
        return Ok(result);
    }
    result.warnings.push(format!(
        "Permission mismatch for {label}: missing=[{}] extra=[{}]",
        diff.missing.join(","),
        diff.extra.join(",")
    ));
    if !diff.missing.is_empty() {
        let union: Vec<String> = current.iter().chain(&diff.missing).cloned().collect();
        match set_permissions(union).await {
            Ok(_) => result.warnings.push(format!(
                "Added missing permissions to {label}: {}",
                diff.missing.join(",")
            )),
            Err(e) => {
                fatal_if_unauthorized(&e)?;
                result.action = RoleAction::Error;
                result.error = Some(format!("Failed to assign permissions to {label}: {e}"));
            }
        }
    }
    result.permission_diff = Some(diff);
    Ok(result)
}

/// Slug → permissions of listed roles; `organization_only` keeps only
/// organization roles (the organization listing includes environment roles).
fn role_map(roles: Vec<Role>, organization_only: bool) -> HashMap<String, Vec<String>> {
    roles
        .into_iter()
        .filter(|r| {
            !organization_only
                || r.role_type
                    .as_deref()
                    .is_none_or(|t| t.eq_ignore_ascii_case("OrganizationRole"))
        })
        .map(|r| (r.slug, r.permissions))
        .collect()
}

/// 409, or a message saying the object exists (import.md §6.2).
pub(crate) fn is_conflict(e: &WorkOsError) -> bool {
    if e.status() == Some(409) {
        return true;
    }
    match e {
        WorkOsError::Api(api) => {
            let m = api.message.to_lowercase();
            m.contains("already exists") || m.contains("already been taken")
        }
        _ => false,
    }
}

/// A rejected API key ends the run: every further call would fail the same.
pub(crate) fn fatal_if_unauthorized(e: &WorkOsError) -> Result<(), RolesError> {
    if e.status() == Some(401) || matches!(e, WorkOsError::MissingApiKey) {
        return Err(RolesError::WorkOs(e.clone()));
    }
    Ok(())
}

fn done(def: &RoleDefinition, org: Option<String>, action: RoleAction) -> RoleResult {
    RoleResult {
        row: def.row,
        slug: def.slug.clone(),
        organization_id: org,
        action,
        warnings: Vec::new(),
        error: None,
        permission_diff: None,
    }
}

fn planned(def: &RoleDefinition, org: Option<String>) -> RoleResult {
    done(def, org, RoleAction::Created)
}

fn failed(def: &RoleDefinition, org: Option<String>, message: String) -> RoleResult {
    let mut r = done(def, org, RoleAction::Error);
    r.error = Some(message);
    r
}
