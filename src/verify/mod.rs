//! `verify PACKAGE_DIR`: reconciles a migration package with a WorkOS
//! environment — read live through a fresh [`crate::snapshot`] into a
//! temporary directory, or offline from `--snapshot DIR` — with DataFusion
//! joins ([`tables`], [`compare`]), and reports per entity and per reason
//! ([`report`]): equal, missing, different (and which field), extra in
//! WorkOS (reported, never deleted). `--repair-dir DIR` writes a repair
//! package of exactly the missing or different rows ([`repair`]).
//!
//! Before comparing, two sanity rules (docs/decisions.md "verify"):
//! - a snapshot that holds organizations none of which the package's
//!   keyed organizations match belongs to another environment: refused
//!   (exit 1, no repair package) unless `--skip-environment-check`;
//! - users without `external_id` are matched by lower-cased email, with
//!   one warning line saying how many.

pub mod compare;
pub mod repair;
pub mod report;
pub mod rows;
pub mod tables;

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::package::validator::{validate_package, ValidateOptions};
use crate::package::writer::PackageWriteError;
use crate::snapshot::{self, SnapshotDirError, SnapshotError, SnapshotOptions};
use crate::workos::WorkOsClient;
use repair::RepairWriter;
pub use report::VerifyReport;

/// Exit code when differences were found.
pub const EXIT_DIFFERENCES: i32 = 3;

/// Why `verify` stopped.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("Package directory not found: {}", .0.display())]
    PackageNotFound(PathBuf),
    #[error("{}: {detail}", path.display())]
    BadPackage { path: PathBuf, detail: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}")]
    Snapshot(#[from] SnapshotError),
    #[error("{0}")]
    SnapshotDir(#[from] SnapshotDirError),
    #[error("the snapshot belongs to another environment: none of the package's {package} organizations is among its {snapshot} organizations (by external id or WorkOS id); pass --skip-environment-check if that is expected")]
    ForeignSnapshot { package: u64, snapshot: u64 },
    #[error("{0}")]
    Query(#[from] datafusion::error::DataFusionError),
    #[error("{0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("repair package: {0}")]
    Repair(#[from] PackageWriteError),
}

/// Where the WorkOS side comes from.
pub enum Environment<'a> {
    /// A snapshot directory written by `snapshot`.
    Snapshot(PathBuf),
    /// Read it now (into a temporary directory).
    Live {
        client: &'a WorkOsClient,
        options: SnapshotOptions,
    },
}

/// What `verify` needs.
pub struct VerifyOptions<'a> {
    pub package: PathBuf,
    pub environment: Environment<'a>,
    pub repair_dir: Option<PathBuf>,
    pub skip_environment_check: bool,
}

/// Runs the verification; the report says whether anything differs.
pub async fn run_verify(opts: VerifyOptions<'_>) -> Result<VerifyReport, VerifyError> {
    let package = &opts.package;
    if !package.is_dir() {
        return Err(VerifyError::PackageNotFound(package.clone()));
    }
    check_package(package)?;
    let source_manifest = repair::read_source_manifest(package)?;

    // The WorkOS side: a checked snapshot directory.
    let temp;
    let (snapshot_dir, snapshot_label) = match opts.environment {
        Environment::Snapshot(dir) => {
            snapshot::read_manifest(&dir)?;
            let label = dir.display().to_string();
            (dir, label)
        }
        Environment::Live {
            client,
            mut options,
        } => {
            temp = tempfile::Builder::new()
                .prefix("workos-verify-")
                .tempdir()
                .map_err(|source| VerifyError::Io {
                    path: std::env::temp_dir(),
                    source,
                })?;
            options.output = temp.path().join("snapshot");
            options.checkpoint_root = temp.path().join("checkpoints");
            let label = format!("the live environment at {}", options.endpoint);
            snapshot::run_snapshot(&options, client, &mut |_| {}).await?;
            (options.output.clone(), label)
        }
    };
    let snapshot_manifest = snapshot::read_manifest(&snapshot_dir)?;
    let ctx = tables::session(package, &snapshot_dir).await?;

    let mut report = VerifyReport {
        package: package.display().to_string(),
        snapshot: snapshot_label,
        ..VerifyReport::default()
    };
    let (package_orgs, snapshot_orgs, matched) = compare::organization_overlap(&ctx).await?;
    if package_orgs > 0 && snapshot_orgs > 0 && matched == 0 && !opts.skip_environment_check {
        return Err(VerifyError::ForeignSnapshot {
            package: package_orgs,
            snapshot: snapshot_orgs,
        });
    }
    let (users, keyed) = compare::user_key_counts(&ctx).await?;
    if keyed < users {
        report.warnings.push(format!(
            "{} of {users} package users have no external_id: they are matched by lower-cased email",
            users - keyed
        ));
    }

    let mut repair = match &opts.repair_dir {
        Some(dir) => Some(RepairWriter::create(dir, &source_manifest)?),
        None => None,
    };
    let missing_emails = compare::compare_users(&ctx, &mut report.users, &mut repair).await?;
    compare::compare_organizations(&ctx, &mut report.organizations, &mut repair).await?;
    compare::compare_memberships(&ctx, &mut report.memberships, &mut repair).await?;
    compare::compare_role_assignments(&ctx, &mut report.role_assignments, &mut repair).await?;
    if let Some(w) = repair.as_mut() {
        compare::repair_totp(&ctx, &missing_emails, w).await?;
    }
    compare::count_extras(
        &ctx,
        &mut report.users,
        &mut report.organizations,
        &mut report.memberships,
    )
    .await?;

    if let (Some(w), Some(dir)) = (repair, &opts.repair_dir) {
        let based_on = json!({
            "package": package.display().to_string(),
            "packageGeneratedAt": source_manifest.generated_at,
            "snapshot": report.snapshot,
            "environment": snapshot_manifest.get("environment").cloned().unwrap_or(Value::Null),
            "snapshotCompletedAt": snapshot_manifest.get("completed_at").cloned().unwrap_or(Value::Null),
            "differences": report.differences(),
        });
        let rows = w.finish(based_on)?;
        report.repair = Some((dir.display().to_string(), rows));
    }
    Ok(report)
}

/// The package must validate (counts not enforced, as `import-package`).
fn check_package(package: &Path) -> Result<(), VerifyError> {
    let opts = ValidateOptions {
        require_files: false,
        check_headers: true,
        check_counts: false,
    };
    let report = validate_package(package, opts);
    match report.issues.iter().find(|i| i.is_error()) {
        None => Ok(()),
        Some(issue) => Err(VerifyError::BadPackage {
            path: package.join(issue.file.as_deref().unwrap_or("manifest.json")),
            detail: format!(
                "package failed validation ({}): {}",
                issue.code, issue.message
            ),
        }),
    }
}
