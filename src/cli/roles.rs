//! clap types and thin dispatch for `process-role-definitions` (import.md
//! §1.6, §6.4): checks the files and options, builds the WorkOS client
//! (none in a dry run, so a dry run makes no request and needs no key), runs
//! [`crate::roles`] and prints the original's summary text, plus the
//! permission counts and the error and assignment messages the original
//! kept to itself.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::fail;
use crate::roles::{
    apply_role_definitions, assign_user_roles, check_assignment_header, OrgResolver,
    RoleAssignmentOptions, RoleAssignmentReport, RoleDefinitionOptions, RoleDefinitionsReport,
};
use crate::workos::{self, ApiKey, ClientConfig, WorkOsClient};

/// Messages listed under a heading before "... and N more".
const LISTED: usize = 10;

/// `process-role-definitions`: Create roles and assign permissions in WorkOS
#[derive(Debug, Clone, Args)]
pub struct ProcessRoleDefinitionsArgs {
    /// Role definitions CSV (role_slug,role_name,role_type,permissions[,org_id,org_external_id])
    #[arg(long, value_name = "path")]
    pub definitions: PathBuf,
    /// User-role mapping CSV (email,user_id,external_id,role_slug[,org_id,org_external_id]); users are found by email, else by external_id
    #[arg(long, value_name = "path")]
    pub user_mapping: Option<PathBuf>,
    /// WorkOS organization id for organization roles and mapping rows that name no organization
    #[arg(long, value_name = "id")]
    pub org_id: Option<String>,
    /// Check the files and show what would be done, without any API call
    #[arg(long)]
    pub dry_run: bool,
    /// WorkOS API base URL (default: WORKOS_API_URL or https://api.workos.com)
    #[arg(long, value_name = "url")]
    pub endpoint: Option<String>,
    /// Print nothing but errors
    #[arg(long)]
    pub quiet: bool,
}

const FAILED: &str = "Role processing failed";

/// Runs the command; returns the exit code.
pub fn run_process_role_definitions(
    args: ProcessRoleDefinitionsArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let definitions = absolute(&args.definitions);
    if !definitions.is_file() {
        let _ = writeln!(err, "Definitions file not found: {}", definitions.display());
        return 1;
    }
    let org_id = args
        .org_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    if let Some(mapping) = &args.user_mapping {
        if !mapping.is_file() {
            let _ = writeln!(err, "User mapping file not found: {}", mapping.display());
            return 1;
        }
        match check_assignment_header(mapping) {
            Ok(h) if !h.has_org_columns && org_id.is_none() => {
                let _ = writeln!(err, "--org-id is required when using --user-mapping");
                return 1;
            }
            Ok(_) => {}
            Err(e) => return fail(err, FAILED, &e),
        }
    }
    let client = if args.dry_run {
        None
    } else {
        match live_client(args.endpoint.as_deref()) {
            Ok(c) => Some(c),
            Err(message) => return fail(err, FAILED, &message),
        }
    };
    if !args.quiet {
        let _ = writeln!(out, "WorkOS Role Definitions Processor");
        let _ = writeln!(out, "  Definitions: {}", definitions.display());
        if let Some(id) = &org_id {
            let _ = writeln!(out, "  Org ID: {id}");
        }
        if let Some(m) = &args.user_mapping {
            let _ = writeln!(out, "  User mapping: {}", m.display());
        }
        if args.dry_run {
            let _ = writeln!(out, "  Mode: DRY RUN");
        }
        let _ = writeln!(out);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(err, FAILED, &format!("starting the async runtime: {e}")),
    };
    runtime.block_on(async {
        let mut orgs = OrgResolver::new();
        let options = RoleDefinitionOptions {
            default_org_id: org_id.clone(),
        };
        let report = match apply_role_definitions(
            client.as_ref(),
            &definitions,
            &options,
            &mut orgs,
        )
        .await
        {
            Ok(r) => r,
            Err(e) => return fail(err, FAILED, &e),
        };
        if !args.quiet {
            print_definitions(out, &report);
        }
        let mut code = i32::from(report.errors > 0);
        if let Some(mapping) = &args.user_mapping {
            if !args.quiet {
                let _ = writeln!(out, "\nAssigning roles to users...");
            }
            let options = RoleAssignmentOptions {
                default_org_id: org_id.clone(),
            };
            let assigned =
                match assign_user_roles(client.as_ref(), mapping, &options, &mut orgs).await {
                    Ok(r) => r,
                    Err(e) => return fail(err, FAILED, &e),
                };
            if !args.quiet {
                print_assignments(out, &assigned);
            }
            if assigned.failures > 0 {
                code = 1;
            }
        }
        code
    })
}

/// Requests in flight while assigning roles (the command has no
/// `--concurrency` option; this is `import`'s default). Role definitions are
/// applied one at a time; user-role rows by this many workers.
const ROLE_CONCURRENCY: usize = 10;

/// The client of a live run: `WORKOS_SECRET_KEY` and `--endpoint` /
/// `WORKOS_API_URL`, paced by the default rate limit.
fn live_client(endpoint: Option<&str>) -> Result<WorkOsClient, String> {
    let key = ApiKey::from_env().ok_or_else(|| workos::MISSING_KEY_MESSAGE.to_string())?;
    let base = workos::resolve_base_url(endpoint).map_err(|e| e.to_string())?;
    let mut config = ClientConfig::new(base, key);
    config.concurrency = ROLE_CONCURRENCY;
    WorkOsClient::new(config).map_err(|e| e.to_string())
}

fn print_definitions(out: &mut dyn Write, r: &RoleDefinitionsReport) {
    let _ = writeln!(out, "\nRole Processing Summary");
    let _ = writeln!(out, "  Total definitions: {}", r.total);
    let _ = writeln!(out, "  Created: {}", r.created);
    let _ = writeln!(out, "  Already exist: {}", r.already_exist);
    if r.skipped > 0 {
        let _ = writeln!(out, "  Skipped: {}", r.skipped);
    }
    if r.errors > 0 {
        let _ = writeln!(out, "  Errors: {}", r.errors);
    }
    let permissions = r.permissions_created + r.permissions_existing + r.permissions_failed;
    if permissions > 0 {
        if r.dry_run {
            let _ = writeln!(
                out,
                "  Permissions: {permissions} (created or confirmed in a live run)"
            );
        } else {
            let failed = if r.permissions_failed > 0 {
                format!(", {} failed", r.permissions_failed)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  Permissions: {} created, {} already exist{failed}",
                r.permissions_created, r.permissions_existing
            );
        }
    }
    list(out, "Warnings", &r.warnings, r.warnings.len() as u64);
    list(
        out,
        "Errors",
        &r.error_messages,
        r.error_messages.len() as u64,
    );
}

fn print_assignments(out: &mut dyn Write, r: &RoleAssignmentReport) {
    let _ = writeln!(out, "\nRole Assignment Summary");
    let _ = writeln!(out, "  Total mappings: {}", r.total_mappings);
    let _ = writeln!(out, "  Assigned: {}", r.assigned);
    if r.already_assigned > 0 {
        let _ = writeln!(out, "  Already assigned: {}", r.already_assigned);
    }
    if r.memberships_created > 0 {
        let _ = writeln!(out, "  Memberships created: {}", r.memberships_created);
    }
    if r.skipped > 0 {
        let _ = writeln!(out, "  Skipped: {}", r.skipped);
    }
    if r.user_not_found > 0 {
        let _ = writeln!(out, "  User not found: {}", r.user_not_found);
    }
    if r.failures > 0 {
        let _ = writeln!(out, "  Failures: {}", r.failures);
    }
    list(out, "Warnings", &r.warnings, r.warnings_total);
}

/// `\nHeading (<total>):` then the first [`LISTED`] items and
/// `  ... and <k> more`.
fn list(out: &mut dyn Write, heading: &str, items: &[String], total: u64) {
    if total == 0 {
        return;
    }
    let _ = writeln!(out, "\n{heading} ({total}):");
    for item in items.iter().take(LISTED) {
        let _ = writeln!(out, "  - {}", super::one_line(item));
    }
    let shown = items.len().min(LISTED) as u64;
    if total > shown {
        let _ = writeln!(out, "  ... and {} more", total - shown);
    }
}

/// Used by `enroll-totp` too: an absolute form of a path for display.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
