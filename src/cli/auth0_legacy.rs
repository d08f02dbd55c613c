//! The deprecated `export-auth0` (export-and-package.md §13.1): its clap
//! types and checks, `--package` delegated to `export auth0`, and the legacy
//! single-CSV mode: an `export auth0` package exported into a hidden scratch
//! directory beside the output, turned into the legacy CSV and skipped log
//! (`sources::auth0::legacy`), then removed (also on failure and on Ctrl-C,
//! which exits 130).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use super::auth0::{run_export_auth0, ExportAuth0Args};
use super::fail as failed;
use crate::sources::auth0::export::{export_auth0, Engine, Entities};
use crate::sources::auth0::legacy::{write_auth0_legacy_csv, Auth0LegacySummary};
use crate::sources::legacy_csv::{
    partial_path, scratch_package_dir, skipped_log_path, OutcomeLock,
};

const PREFIX: &str = "Export failed";

/// `export-auth0` (deprecated): Export users and organizations from Auth0
#[derive(Debug, Clone, Args)]
pub struct ExportAuth0LegacyArgs {
    /// Auth0 tenant domain (tenant.us.auth0.com) or, for local servers, http://127.0.0.1:PORT
    #[arg(long, value_name = "domain")]
    pub domain: String,
    /// Auth0 M2M application client id
    #[arg(long, value_name = "id")]
    pub client_id: String,
    /// Auth0 M2M application client secret
    #[arg(long, value_name = "secret")]
    pub client_secret: String,
    /// Single import CSV to write (without --package); skipped users go to ‹output›-skipped.jsonl
    #[arg(long, value_name = "path")]
    pub output: Option<PathBuf>,
    /// Write a migration package (same as 'export auth0')
    #[arg(long)]
    pub package: bool,
    /// Package directory (with --package)
    #[arg(long, value_name = "dir")]
    pub output_dir: Option<PathBuf>,
    /// users,organizations,memberships,roles,sso or all (with --package)
    #[arg(
        long,
        value_name = "entities",
        default_value = "users,organizations,memberships"
    )]
    pub entities: String,
    /// Write SSO connection secrets into the package (with --package)
    #[arg(long)]
    pub include_secrets: bool,
    /// Only these Auth0 organization ids (space- or comma-separated)
    #[arg(long, value_name = "ids", num_args = 1..)]
    pub orgs: Option<Vec<String>>,
    /// Page size of Auth0 listings (1-100)
    #[arg(long, value_name = "n", default_value = "100")]
    pub page_size: String,
    /// Management API requests per second for the whole run
    #[arg(long, value_name = "n", default_value = "50")]
    pub rate_limit: String,
    /// Management API requests in flight at once
    #[arg(long, value_name = "n", default_value = "10")]
    pub user_fetch_concurrency: String,
    /// Discover organizations from user metadata instead of Auth0 Organizations
    #[arg(long)]
    pub use_metadata: bool,
    /// Metadata field holding the organization id
    #[arg(long, value_name = "field")]
    pub metadata_org_id_field: Option<String>,
    /// Metadata field holding the organization name
    #[arg(long, value_name = "field")]
    pub metadata_org_name_field: Option<String>,
    /// Export users whose only identities are social or enterprise
    #[arg(long)]
    pub include_federated_users: bool,
    /// management-api or bulk-job (bulk-job needs --package)
    #[arg(long, value_name = "engine", default_value = "management-api")]
    pub engine: String,
    /// Bulk job: only users of this connection
    #[arg(long, value_name = "id")]
    pub bulk_connection_id: Option<String>,
    /// Bulk job: milliseconds between status polls
    #[arg(long, value_name = "n", default_value = "2000")]
    pub bulk_poll_interval_ms: String,
    /// Bulk job: polls before giving up
    #[arg(long, value_name = "n", default_value = "150")]
    pub bulk_max_poll_attempts: String,
    /// Names the export checkpoint (--package mode)
    #[arg(long, value_name = "id")]
    pub job_id: Option<String>,
    /// Continue an interrupted export (--package mode; optional job id)
    #[arg(long, value_name = "jobId", num_args = 0..=1)]
    pub resume: Option<Option<String>>,
    /// Print nothing but errors
    #[arg(long)]
    pub quiet: bool,
}

impl ExportAuth0LegacyArgs {
    /// The `export auth0` arguments writing into `output_dir`; `--orgs`
    /// values become its (comma-separated) organization filter.
    fn package_args(&self, output_dir: PathBuf, entities: String) -> ExportAuth0Args {
        ExportAuth0Args {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            domain: self.domain.clone(),
            output_dir,
            entities,
            include_secrets: self.include_secrets,
            orgs: self.orgs.as_ref().map(|o| o.join(",")),
            page_size: self.page_size.clone(),
            rate_limit: self.rate_limit.clone(),
            user_fetch_concurrency: self.user_fetch_concurrency.clone(),
            use_metadata: self.use_metadata,
            metadata_org_id_field: self.metadata_org_id_field.clone(),
            metadata_org_name_field: self.metadata_org_name_field.clone(),
            include_federated_users: self.include_federated_users,
            engine: self.engine.clone(),
            bulk_connection_id: self.bulk_connection_id.clone(),
            bulk_poll_interval_ms: self.bulk_poll_interval_ms.clone(),
            bulk_max_poll_attempts: self.bulk_max_poll_attempts.clone(),
            // `--resume ID` names the job like `--job-id ID`.
            job_id: match &self.resume {
                Some(Some(id)) => Some(id.clone()),
                _ => self.job_id.clone(),
            },
            resume: self.resume.is_some(),
            quiet: self.quiet,
        }
    }

    /// The §13.1 checks, in the original's order, then ours for
    /// `--job-id` / `--resume`.
    fn check(&self) -> Result<(), String> {
        if !self.package && self.output.is_none() {
            return Err("--output is required unless --package is set".into());
        }
        if self.package && self.output_dir.is_none() {
            return Err("--output-dir is required when using --package".into());
        }
        if Engine::parse(&self.engine)? == Engine::BulkJob && !self.package {
            return Err("--engine bulk-job requires --package mode".into());
        }
        if !self.package && self.job_id.is_some() {
            return Err(
                "--job-id needs --package (the single-CSV mode is not checkpointed); re-run without --job-id"
                    .into(),
            );
        }
        if !self.package && self.resume.is_some() {
            return Err(
                "--resume needs --package (the single-CSV mode is not checkpointed); re-run without --resume"
                    .into(),
            );
        }
        Ok(())
    }
}

/// `export-auth0`; returns the exit code.
pub fn run_export_auth0_legacy(
    args: ExportAuth0LegacyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let _ = writeln!(
        err,
        "\u{26a0} 'export-auth0' is deprecated; use 'export auth0' (removed in v4.0)"
    );
    if let Err(m) = args.check() {
        return failed(err, PREFIX, &m);
    }
    if args.package {
        let Some(dir) = args.output_dir.clone() else {
            return failed(
                err,
                PREFIX,
                &"--output-dir is required when using --package",
            );
        };
        let entities = args.entities.clone();
        return run_export_auth0(args.package_args(dir, entities), out, err);
    }
    let Some(output) = args.output.clone() else {
        return failed(err, PREFIX, &"--output is required unless --package is set");
    };
    run_legacy_csv(&args, &output, out, err)
}

/// The legacy single-CSV mode.
fn run_legacy_csv(
    args: &ExportAuth0LegacyArgs,
    output: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let started = Instant::now();
    if output.is_dir() {
        return failed(
            err,
            PREFIX,
            &format!("--output {} is a directory", output.display()),
        );
    }
    // No roles, no SSO, no bulk job (§13.1); `--entities` is still checked,
    // and what the CSV cannot hold is said rather than silently dropped.
    let entities = match Entities::parse(&args.entities) {
        Ok(e) => e,
        Err(m) => return failed(err, PREFIX, &m),
    };
    if !args.quiet && (entities.roles() || entities.sso() || args.include_secrets) {
        let _ = writeln!(
            err,
            "Note: roles, SSO connections and --include-secrets need --package; the CSV holds users and their organizations only"
        );
    }
    let scratch = scratch_package_dir(output);
    let opts = match args
        .package_args(scratch.clone(), "users,organizations,memberships".into())
        .options()
    {
        Ok(o) => o,
        Err(m) => return failed(err, PREFIX, &m),
    };
    let outcome = OutcomeLock::default();
    super::legacy::remove_on_interrupt(
        "Export",
        outcome.clone(),
        scratch.clone(),
        [output, &skipped_log_path(output)].map(partial_path),
    );
    let result = export_auth0(&opts)
        .map_err(|e| e.to_string())
        .and_then(|_| {
            write_auth0_legacy_csv(&scratch, output, &outcome).map_err(|e| e.to_string())
        });
    // A failure may be an interrupt's cleanup pulling files away: then the
    // handler owns the outcome and this never returns.
    outcome.settle();
    // The scratch package holds every user's email and metadata.
    let _ = std::fs::remove_dir_all(&scratch);
    let summary = match result {
        Ok(s) => s,
        Err(e) => return failed(err, PREFIX, &e),
    };
    for f in &summary.failed_orgs {
        let _ = writeln!(err, "  {}: FAILED \u{2014} {}", f.org_name, f.message);
    }
    if !args.quiet {
        print_summary(out, &summary, started);
    }
    let _ = out.flush();
    0
}

fn print_summary(out: &mut dyn Write, s: &Auth0LegacySummary, started: Instant) {
    let _ = writeln!(out, "\nExport complete");
    let _ = writeln!(out, "  Users: {}", s.users);
    let _ = writeln!(out, "  Organizations: {}", s.orgs);
    let _ = writeln!(
        out,
        "  Skipped: {} ({})",
        s.skipped,
        s.skipped_log.display()
    );
    for (reason, n) in &s.skip_reasons {
        let _ = writeln!(out, "    {reason}: {n}");
    }
    if !s.failed_orgs.is_empty() {
        let _ = writeln!(out, "  Failed organizations: {}", s.failed_orgs.len());
    }
    let _ = writeln!(out, "  Duration: {}ms", started.elapsed().as_millis());
    let _ = writeln!(out, "  Output: {}", s.output.display());
}
