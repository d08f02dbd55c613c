//! `import-package <dir>` (import.md §1.2, §7): validates a migration
//! package and applies every file to WorkOS in an order that works on an
//! empty environment, then writes `workos_import_summary.json`.
//!
//! Steps (live mode), each only when its file has data rows:
//! 1. organizations (`organizations.csv`, with domains and metadata) —
//!    [`organizations`];
//! 2. role definitions (`role_definitions.csv`) — [`crate::roles`], before
//!    any membership names a role;
//! 3. users and the membership of each row (`users.csv`) — [`users`];
//! 4. memberships (`organization_memberships.csv`) of existing users;
//! 5. user-role assignments (`user_role_assignments.csv`) — [`crate::roles`],
//!    streamed, no temporary files;
//! 6. TOTP factors (`totp_secrets.csv`) — [`crate::totp`], errors to
//!    `<dir>/workos_totp_errors.jsonl`;
//! 7. SSO connections: hand-off only, never imported.
//!
//! The original imported organizations only implicitly (dropping domains and
//! metadata), never read `organization_memberships.csv`, defined roles after
//! the memberships that use them and left `tmp_role_assignments/` behind
//! (docs/decisions.md "import-package").
//!
//! Update path (the cut-over contract, docs/cutover-runbook.md): with
//! `metadata.workosMigrate.updateExisting: true` in the manifest (delta and
//! repair packages) or `--update-existing`, rows whose user, organization or
//! membership already exists are brought to what the row says with `PUT`
//! (only the fields that differ, [`crate::import::update`]) and counted as
//! `updated`; nothing is ever deleted. A re-run is the resume: every step
//! finds what the previous run did and sends no request when nothing
//! differs (rows carrying a password hash always re-send it).
//!
//! A dry run reads only the plan: no client, no key, zero HTTP requests;
//! totals come from the manifest counts.

pub mod organizations;
pub mod plan;
pub mod summary;
pub mod users;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use organizations::{import_organizations, OrgDirectory, OrgStepReport};
pub use plan::{csv_has_rows, plan_import_package, ImportPackagePlan};
pub use summary::{EntityResult, EntityStatus, ImportPackageSummary};
pub use users::PeopleReport;

use crate::import::engine::Engine;
use crate::import::errors::{now_timestamp, ErrorsFileError, ErrorsWriter};
use crate::import::orgs::{OrgOptions, DEFAULT_CACHE_CAPACITY};
use crate::package::csv_reader::CsvReadError;
use crate::package::schema;
use crate::roles::{
    apply_role_definitions, assign_user_roles, RoleAssignmentOptions, RoleDefinitionOptions,
    RolesError,
};
use crate::totp::{enroll_totp_file, InputFormat, TotpError, TotpOptions};
use crate::workos::{ClientConfig, WorkOsClient, WorkOsError};

/// Default `--errors` file name inside the package.
pub const ERRORS_FILE: &str = "workos_import_errors.jsonl";
/// Errors of `organization_memberships.csv` rows (their record numbers are
/// that file's, so they are kept apart from `users.csv`'s).
pub const MEMBERSHIP_ERRORS_FILE: &str = "workos_membership_errors.jsonl";
/// TOTP errors (fixed path, as the original).
pub const TOTP_ERRORS_FILE: &str = "workos_totp_errors.jsonl";
/// Default `--summary` file name inside the package.
pub const SUMMARY_FILE: &str = "workos_import_summary.json";
/// The note of the organizations entity.
pub const ORGANIZATIONS_NOTE: &str = "Organizations are found by org_external_id (else a source org_id, used as the external id) or created with their domains (pending) and metadata before any user is imported; existing organizations are not modified.";
/// TOTP enrollment is paced at no more than this many requests per second.
pub const TOTP_MAX_RATE: f64 = 10.0;

/// Why `import-package` stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportPackageError {
    #[error("Package directory not found: {}", .0.display())]
    DirNotFound(PathBuf),
    #[error("Unable to load migration package at {}: {message}", dir.display())]
    Load { dir: PathBuf, message: String },
    #[error("Package failed validation:\n{}", .0.iter().map(|m| format!("- {m}")).collect::<Vec<_>>().join("\n"))]
    Validation(Vec<String>),
    #[error("{0}")]
    Csv(#[from] CsvReadError),
    #[error("{0}")]
    ErrorsFile(#[from] ErrorsFileError),
    #[error("{0}")]
    WorkOs(#[from] WorkOsError),
    #[error("{0}")]
    Roles(#[from] RolesError),
    #[error("{0}")]
    Totp(#[from] TotpError),
    #[error("Cannot write the summary {}: {source}", path.display())]
    Summary { path: PathBuf, source: io::Error },
    #[error("output: {0}")]
    Output(io::Error),
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct ImportPackageOptions {
    pub dir: PathBuf,
    pub dry_run: bool,
    /// Requests / rows in flight at most (≥ 1).
    pub concurrency: usize,
    /// `--errors` (default `<dir>/workos_import_errors.jsonl`).
    pub errors_path: Option<PathBuf>,
    /// `--summary` (default `<dir>/workos_import_summary.json`).
    pub summary_path: Option<PathBuf>,
    pub quiet: bool,
    /// `--update-existing` (the manifest's `updateExisting` turns it on too).
    pub update_existing: bool,
}

/// Runs the import. `client` is the API configuration (`None` only for a
/// dry run). Progress lines go to `log` unless `quiet`.
pub async fn import_package(
    opts: &ImportPackageOptions,
    client: Option<ClientConfig>,
    log: &mut dyn Write,
) -> Result<ImportPackageSummary, ImportPackageError> {
    let started = Instant::now();
    let started_at = now_timestamp();
    if !opts.dir.is_dir() {
        return Err(ImportPackageError::DirNotFound(opts.dir.clone()));
    }
    let plan = plan_import_package(&opts.dir)?;
    if !plan.validation_errors.is_empty() {
        return Err(ImportPackageError::Validation(
            plan.validation_errors
                .iter()
                .map(|i| i.message.clone())
                .collect(),
        ));
    }
    let mut summary = ImportPackageSummary {
        package_dir: plan.package_dir.clone(),
        started_at,
        finished_at: String::new(),
        duration_ms: 0,
        dry_run: opts.dry_run,
        manifest_provider: plan.manifest_provider.clone(),
        organizations: EntityResult::absent(),
        users: EntityResult::absent(),
        memberships: EntityResult::absent(),
        role_definitions: EntityResult::absent(),
        role_assignments: EntityResult::absent(),
        totp_factors: EntityResult::absent(),
        sso_connections: sso_result(&plan),
        warnings: plan
            .validation_warnings
            .iter()
            .map(|i| format!("{}: {}", i.code, i.message))
            .collect(),
        plan,
    };
    match (opts.dry_run, client) {
        (true, _) => plan_only(&mut summary),
        (false, Some(config)) => live(opts, config, &mut summary, log).await?,
        (false, None) => return Err(ImportPackageError::WorkOs(WorkOsError::MissingApiKey)),
    }
    summary.finished_at = now_timestamp();
    summary.duration_ms = started.elapsed().as_millis() as u64;
    let summary_path = opts
        .summary_path
        .clone()
        .unwrap_or_else(|| summary.package_dir.join(SUMMARY_FILE));
    summary
        .write_file(&summary_path)
        .map_err(|source| ImportPackageError::Summary {
            path: summary_path.clone(),
            source,
        })?;
    Ok(summary)
}

fn sso_result(plan: &ImportPackagePlan) -> EntityResult {
    if !plan.has_sso {
        return EntityResult::absent();
    }
    EntityResult {
        total: Some(plan.expected("samlConnections") + plan.expected("oidcConnections")),
        notes: Some(vec![
            "SSO connection files are handoff-only and were not imported automatically."
                .to_string(),
            "See sso/handoff_notes.md for next steps.".to_string(),
        ]),
        ..EntityResult::with_status(EntityStatus::Handoff)
    }
}

/// Dry run: every entity with rows is `planned` with the manifest's count.
fn plan_only(s: &mut ImportPackageSummary) {
    let p = &s.plan;
    if p.has_organizations_csv {
        s.organizations = EntityResult {
            notes: Some(vec![ORGANIZATIONS_NOTE.to_string()]),
            ..EntityResult::planned(p.expected("organizations"))
        };
    }
    if p.has_users_csv {
        s.users = EntityResult::planned(p.expected("users"));
    }
    if p.has_memberships_csv {
        s.memberships = EntityResult::planned(p.expected("memberships"));
    }
    if p.has_role_definitions_csv {
        s.role_definitions = EntityResult::planned(p.expected("roleDefinitions"));
    }
    if p.has_role_assignments_csv {
        s.role_assignments = EntityResult::planned(p.expected("userRoleAssignments"));
    }
    if p.has_totp_csv {
        s.totp_factors = EntityResult::planned(p.expected("totpSecrets"));
    }
}

fn info(log: &mut dyn Write, quiet: bool, line: &str) -> Result<(), ImportPackageError> {
    if quiet {
        return Ok(());
    }
    writeln!(log, "{line}")
        .and_then(|()| log.flush())
        .map_err(ImportPackageError::Output)
}

async fn live(
    opts: &ImportPackageOptions,
    config: ClientConfig,
    s: &mut ImportPackageSummary,
    log: &mut dyn Write,
) -> Result<(), ImportPackageError> {
    let quiet = opts.quiet;
    let concurrency = opts.concurrency.max(1);
    let client = WorkOsClient::new(config.clone())?;
    let plan = s.plan.clone();
    let dir = plan.package_dir.clone();
    let update_existing = opts.update_existing || plan.update_existing;
    if update_existing {
        info(
            log,
            quiet,
            "Update path on: existing users, organizations and membership roles are updated to match the package.",
        )?;
    }

    // 1. Organizations.
    let mut directory = OrgDirectory::default();
    if plan.has_organizations_csv {
        info(log, quiet, "Importing organizations...")?;
        let r = import_organizations(
            &client,
            &plan.file(&schema::ORGANIZATIONS),
            concurrency,
            update_existing,
            &mut directory,
        )
        .await?;
        let extra = r.warnings_total.saturating_sub(r.warnings.len() as u64);
        let mut e = EntityResult::imported(r.total, r.created + r.existing + r.updated, r.failed);
        e.warn_all(r.warnings, extra);
        e.notes = Some(vec![ORGANIZATIONS_NOTE.to_string()]);
        e.detail("created", r.created);
        e.detail("existing", r.existing);
        if update_existing {
            e.detail("updated", r.updated);
        }
        s.organizations = e;
    }
    let mut role_orgs = crate::roles::OrgResolver::new();
    for (external_id, id) in directory.external_ids() {
        role_orgs.insert(external_id, id);
    }
    for (source_id, id) in directory.source_ids() {
        role_orgs.insert_source_id(source_id, id);
    }

    // 2. Role definitions.
    if plan.has_role_definitions_csv {
        info(log, quiet, "Processing role definitions...")?;
        let r = apply_role_definitions(
            Some(&client),
            &plan.file(&schema::ROLE_DEFINITIONS),
            &RoleDefinitionOptions::default(),
            &mut role_orgs,
        )
        .await?;
        let mut e = EntityResult::imported(r.total, r.created + r.already_exist, r.errors);
        e.warn_all(r.warnings.into_iter().chain(r.error_messages), 0);
        e.detail("created", r.created);
        e.detail("alreadyExist", r.already_exist);
        e.detail("skipped", r.skipped);
        e.detail("permissionsCreated", r.permissions_created);
        e.detail("permissionsExisting", r.permissions_existing);
        e.detail("permissionsFailed", r.permissions_failed);
        s.role_definitions = e;
    }

    // 3-4. Users and memberships through the engine.
    let errors_path = opts
        .errors_path
        .clone()
        .unwrap_or_else(|| dir.join(ERRORS_FILE));
    let mut errors = ErrorsWriter::open(&errors_path, false)?;
    let mut people = PeopleReport::default();
    if plan.has_users_csv || plan.has_memberships_csv {
        let engine = Engine::new(
            Some(client.clone()),
            OrgOptions {
                create_if_missing: true,
                ..OrgOptions::default()
            },
            false,
        )
        .with_update_existing(update_existing);
        for id in directory.workos_ids().take(DEFAULT_CACHE_CAPACITY / 2) {
            engine.orgs().prime_id(id);
        }
        if plan.has_users_csv {
            info(log, quiet, "Importing users + memberships...")?;
            users::import_users(
                &engine,
                &plan.file(&schema::USERS),
                &directory,
                concurrency,
                &mut errors,
                &mut people,
            )
            .await?;
            let mut e = EntityResult::imported(
                people.user_rows,
                people.users_created + people.users_existing + people.users_updated,
                people.users_failed,
            );
            e.warn_all(std::mem::take(&mut people.user_warnings), 0);
            e.detail("created", people.users_created);
            e.detail("duplicateUsers", people.users_existing);
            if update_existing {
                e.detail("updated", people.users_updated);
            }
            s.users = e;
        }
        if plan.has_memberships_csv {
            info(log, quiet, "Importing organization memberships...")?;
            let mut mem_errors = ErrorsWriter::open(&dir.join(MEMBERSHIP_ERRORS_FILE), false)?;
            users::import_memberships(
                &engine,
                &plan.file(&schema::MEMBERSHIPS),
                &directory,
                concurrency,
                &mut mem_errors,
                &mut people,
            )
            .await?;
        }
        let mut e = EntityResult::imported(
            people.membership_rows,
            people.memberships_succeeded(),
            people.memberships_failed,
        );
        e.warn_all(std::mem::take(&mut people.membership_warnings), 0);
        e.detail("created", people.memberships_created);
        e.detail("duplicateMemberships", people.memberships_existing);
        e.detail("rolesUpdated", people.memberships_roles_updated);
        if update_existing {
            e.detail("updated", people.memberships_roles_updated);
        }
        e.detail("rolesAssigned", people.roles_assigned);
        e.detail("roleAssignmentFailures", people.roles_skipped);
        e.detail("fromUsersCsv", people.memberships_from_users_csv);
        e.detail(
            "fromMembershipsCsv",
            people.memberships_from_memberships_csv,
        );
        s.memberships = e;
    }

    // 5. User-role assignments.
    if plan.has_role_assignments_csv {
        info(log, quiet, "Assigning roles...")?;
        let r = assign_user_roles(
            Some(&client),
            &plan.file(&schema::USER_ROLE_ASSIGNMENTS),
            &RoleAssignmentOptions::default(),
            &mut role_orgs,
        )
        .await?;
        let extra = r.warnings_total.saturating_sub(r.warnings.len() as u64);
        let mut e = EntityResult::imported(r.total_mappings, r.assigned, r.failures);
        e.warn_all(r.warnings, extra);
        e.detail("alreadyAssigned", r.already_assigned);
        e.detail("membershipsCreated", r.memberships_created);
        e.detail("skipped", r.skipped);
        e.detail("userNotFound", r.user_not_found);
        s.role_assignments = e;
    }

    // 6. TOTP factors, paced at most TOTP_MAX_RATE per second.
    if plan.has_totp_csv {
        info(log, quiet, "Enrolling TOTP factors...")?;
        let rate = config
            .rate_limit
            .map_or(TOTP_MAX_RATE, |r| r.min(TOTP_MAX_RATE));
        let totp_client = WorkOsClient::new(ClientConfig {
            rate_limit: Some(rate),
            ..config
        })?;
        let errors_file = dir.join(TOTP_ERRORS_FILE);
        let r = enroll_totp_file(
            Some(&totp_client),
            &plan.file(&schema::TOTP_SECRETS),
            InputFormat::Csv,
            Some(&errors_file),
            &TotpOptions {
                concurrency,
                issuer: None,
            },
        )
        .await?;
        let mut e = EntityResult::imported(r.total, r.enrolled + r.skipped, r.failures);
        if r.failures > 0 {
            e.warn(format!(
                "{} TOTP record(s) failed; see {}",
                r.failures,
                errors_file.display()
            ));
        }
        e.detail("enrolled", r.enrolled);
        e.detail("alreadyEnrolled", r.skipped);
        e.detail("userNotFound", r.user_not_found);
        e.detail("invalid", r.invalid);
        e.detail("ignored", r.ignored);
        s.totp_factors = e;
    }
    Ok(())
}

/// `<dir>/workos_import_errors.jsonl` or the given path.
pub fn default_errors_path(dir: &Path) -> PathBuf {
    plan::absolute_dir(dir).join(ERRORS_FILE)
}
