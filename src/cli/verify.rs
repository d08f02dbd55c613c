//! clap types and thin dispatch for `verify PACKAGE_DIR` ([`crate::verify`]).
//!
//! Exit codes: 0 everything in the package is in WorkOS; 3 differences
//! found (see the report / repair package); 1 fatal (one line on stderr);
//! 2 usage errors (clap).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::fail;
use crate::import::checkpoint::CHECKPOINT_ROOT;
use crate::snapshot::{JobMode, SnapshotOptions, DEFAULT_READ_RATE};
use crate::verify::{run_verify, Environment, VerifyOptions, EXIT_DIFFERENCES};
use crate::workos::{self, ApiKey, ClientConfig, WorkOsClient};

const FAILED: &str = "Verify failed";

/// `verify`: Reconcile a migration package with the WorkOS environment (report, --json, --repair-dir)
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Migration package directory
    #[arg(value_name = "dir")]
    pub dir: PathBuf,
    /// Compare with this snapshot directory (offline) instead of reading the API
    #[arg(long, value_name = "dir")]
    pub snapshot: Option<PathBuf>,
    /// Write a repair package of the missing or different rows here
    #[arg(long, value_name = "dir")]
    pub repair_dir: Option<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// Compare even when no package organization is in the snapshot
    #[arg(long)]
    pub skip_environment_check: bool,
    /// WorkOS API base URL (default: WORKOS_API_URL or https://api.workos.com)
    #[arg(long, value_name = "url")]
    pub endpoint: Option<String>,
    /// Max requests per second while reading the environment
    #[arg(long, value_name = "n", default_value_t = DEFAULT_READ_RATE,
          value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub rate_limit: u32,
    /// Suppress progress output
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the command; returns the exit code.
pub fn run_verify_command(args: VerifyArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let live = match &args.snapshot {
        Some(_) => None,
        None => match live_client(&args) {
            Ok(l) => Some(l),
            Err(message) => return fail(err, FAILED, &message),
        },
    };
    let environment = match (&args.snapshot, &live) {
        (Some(dir), _) => Environment::Snapshot(dir.clone()),
        (None, Some((client, options))) => Environment::Live {
            client,
            options: options.clone(),
        },
        (None, None) => return fail(err, FAILED, &"no environment to compare with"),
    };
    let opts = VerifyOptions {
        package: args.dir.clone(),
        environment,
        repair_dir: args.repair_dir.clone(),
        skip_environment_check: args.skip_environment_check,
    };
    let runtime = match super::command_runtime() {
        Ok(r) => r,
        Err(e) => return fail(err, FAILED, &e),
    };
    let report = match runtime.block_on(run_verify(opts)) {
        Ok(r) => r,
        Err(crate::verify::VerifyError::Snapshot(e)) if e.is_access_denied() => {
            return fail(
                err,
                FAILED,
                &format!("the API key cannot read this WorkOS environment ({e})"),
            )
        }
        Err(e) => return fail(err, FAILED, &e),
    };
    for w in &report.warnings {
        let _ = writeln!(err, "warning: {w}");
    }
    let written = if args.json {
        serde_json::to_string_pretty(&report.to_json())
            .map_err(std::io::Error::other)
            .and_then(|s| writeln!(out, "{s}"))
    } else {
        report.write_text(out)
    };
    if let Err(e) = written {
        return fail(err, FAILED, &e);
    }
    if report.differences() == 0 {
        0
    } else {
        EXIT_DIFFERENCES
    }
}

/// The client and snapshot options of a live verification.
fn live_client(args: &VerifyArgs) -> Result<(WorkOsClient, SnapshotOptions), String> {
    let key = ApiKey::from_env().ok_or_else(|| workos::MISSING_KEY_MESSAGE.to_string())?;
    let base = workos::resolve_base_url(args.endpoint.as_deref()).map_err(|e| e.to_string())?;
    let mut config = ClientConfig::new(base.clone(), key.clone());
    config.concurrency = 16;
    config.rate_limit = Some(f64::from(args.rate_limit));
    let client = WorkOsClient::new(config).map_err(|e| e.to_string())?;
    let options = SnapshotOptions {
        output: PathBuf::new(),
        job: JobMode::New(None),
        checkpoint_root: PathBuf::from(CHECKPOINT_ROOT),
        endpoint: base.as_str().trim_end_matches('/').to_string(),
        api_key: key,
        concurrency: 16,
        quiet: args.quiet || args.json,
    };
    Ok((client, options))
}
