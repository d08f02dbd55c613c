//! clap types and thin dispatch for `import-package <dir>` (import.md §1.2,
//! §7): `--plan` prints the plan and exits 0; otherwise the package is
//! imported ([`crate::import::package`]) and the summary printed.
//!
//! Exit codes: 0 when every row of every entity succeeded (or was already
//! there), [`EXIT_ROW_FAILURES`] when the run completed but some rows failed
//! (see the summary and the errors files), 1 for a fatal error (one line on
//! stderr, `Import package failed: …`).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::fail;
use crate::import::package::{
    import_package, plan_import_package, ImportPackageError, ImportPackageOptions,
};
use crate::workos::{self, ApiKey, ClientConfig};

/// Exit code of a run that completed with row failures (the same as
/// `import`'s).
pub const EXIT_ROW_FAILURES: i32 = super::import::EXIT_ROW_ERRORS;

const FAILED: &str = "Import package failed";

/// `import-package`: Import a migration package into WorkOS — users, organizations, memberships, roles, and TOTP factors (SSO connections are handoff-only, never auto-created)
#[derive(Debug, Clone, Args)]
pub struct ImportPackageArgs {
    /// Migration package directory
    #[arg(value_name = "dir")]
    pub dir: PathBuf,
    /// Validate and plan without contacting WorkOS
    #[arg(long)]
    pub dry_run: bool,
    /// Print the import plan only and exit
    #[arg(long)]
    pub plan: bool,
    /// Concurrent API requests (1-1000)
    #[arg(long, value_name = "n", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub concurrency: u32,
    /// Max requests per second (1-10000)
    #[arg(long, value_name = "n", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub rate_limit: u32,
    /// Path for per-row import errors (default: <dir>/workos_import_errors.jsonl)
    #[arg(long, value_name = "path")]
    pub errors: Option<PathBuf>,
    /// Path for the workos_import_summary.json file (default: <dir>/workos_import_summary.json)
    #[arg(long, value_name = "path")]
    pub summary: Option<PathBuf>,
    /// WorkOS API base URL (default: WORKOS_API_URL or https://api.workos.com)
    #[arg(long, value_name = "url")]
    pub endpoint: Option<String>,
    /// Update users, organizations and membership roles that already exist
    /// to match the package (PUT of the differing fields; never deletes).
    /// Delta and repair packages turn this on in their manifest
    #[arg(long)]
    pub update_existing: bool,
    /// Suppress progress output
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the command; returns the exit code.
pub fn run_import_package(
    args: ImportPackageArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    if !args.dir.is_dir() {
        let _ = writeln!(err, "Package directory not found: {}", args.dir.display());
        return 1;
    }
    if args.plan {
        return match plan_import_package(&args.dir) {
            Ok(plan) => match plan.write_text(out) {
                Ok(()) => 0,
                Err(e) => fail(err, FAILED, &e),
            },
            Err(e) => fail(err, FAILED, &e),
        };
    }
    let config = if args.dry_run {
        None
    } else {
        match client_config(&args) {
            Ok(c) => Some(c),
            Err(message) => return fail(err, FAILED, &message),
        }
    };
    let opts = ImportPackageOptions {
        dir: args.dir.clone(),
        dry_run: args.dry_run,
        concurrency: args.concurrency as usize,
        errors_path: args.errors.clone(),
        summary_path: args.summary.clone(),
        quiet: args.quiet,
        update_existing: args.update_existing,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(err, FAILED, &format!("starting the async runtime: {e}")),
    };
    let summary = match runtime.block_on(import_package(&opts, config, out)) {
        Ok(s) => s,
        Err(e @ ImportPackageError::DirNotFound(_)) => {
            let _ = writeln!(err, "{e}");
            return 1;
        }
        Err(e) => return fail(err, FAILED, &e),
    };
    if !args.quiet {
        if let Err(e) = summary.write_text(out) {
            return fail(err, FAILED, &e);
        }
    }
    if summary.total_failed() > 0 {
        EXIT_ROW_FAILURES
    } else {
        0
    }
}

/// `WORKOS_SECRET_KEY`, `--endpoint` / `WORKOS_API_URL`, `--concurrency`,
/// `--rate-limit`.
fn client_config(args: &ImportPackageArgs) -> Result<ClientConfig, String> {
    let key = ApiKey::from_env().ok_or_else(|| workos::MISSING_KEY_MESSAGE.to_string())?;
    let base = workos::resolve_base_url(args.endpoint.as_deref()).map_err(|e| e.to_string())?;
    let mut config = ClientConfig::new(base, key);
    config.concurrency = args.concurrency as usize;
    config.rate_limit = Some(f64::from(args.rate_limit));
    Ok(config)
}
