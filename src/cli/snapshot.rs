//! clap types and thin dispatch for `snapshot --output DIR`
//! ([`crate::snapshot`]). Exit codes: 0 complete; 1 fatal (one line on
//! stderr, with the `--resume` hint once the job exists).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::fail;
use crate::import::checkpoint::CHECKPOINT_ROOT;
use crate::snapshot::{run_snapshot, JobMode, SnapshotOptions, DEFAULT_READ_RATE};
use crate::workos::{self, ApiKey, ClientConfig, WorkOsClient};

const FAILED: &str = "Snapshot failed";

/// `snapshot`: Read the WorkOS environment (users, organizations, memberships, roles) into Parquet files
#[derive(Debug, Clone, Args)]
pub struct SnapshotArgs {
    /// Output directory (users.parquet, organizations.parquet, organization_memberships.parquet, roles.parquet, snapshot.json)
    #[arg(long, value_name = "dir")]
    pub output: PathBuf,
    /// Name the job (checkpoint in ./.workos-checkpoints/<id>/)
    #[arg(long, value_name = "id")]
    pub job_id: Option<String>,
    /// Resume a killed job (default: --job-id, else the most recent snapshot job)
    #[arg(long, value_name = "id", num_args = 0..=1, default_missing_value = "")]
    pub resume: Option<String>,
    /// WorkOS API base URL (default: WORKOS_API_URL or https://api.workos.com)
    #[arg(long, value_name = "url")]
    pub endpoint: Option<String>,
    /// Max requests per second (default: the documented read budget, 100/s)
    #[arg(long, value_name = "n", default_value_t = DEFAULT_READ_RATE,
          value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub rate_limit: u32,
    /// Requests in flight at most (1-64)
    #[arg(long, value_name = "n", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
    /// Suppress progress and the summary
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the command; returns the exit code.
pub fn run_snapshot_command(args: SnapshotArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let key = match ApiKey::from_env() {
        Some(k) => k,
        None => return fail(err, FAILED, &workos::MISSING_KEY_MESSAGE),
    };
    let base = match workos::resolve_base_url(args.endpoint.as_deref()) {
        Ok(b) => b,
        Err(e) => return fail(err, FAILED, &e),
    };
    let job = match (&args.resume, &args.job_id) {
        (Some(r), _) if !r.is_empty() => JobMode::Resume(Some(r.clone())),
        (Some(_), id) => JobMode::Resume(id.clone()),
        (None, id) => JobMode::New(id.clone()),
    };
    let mut config = ClientConfig::new(base.clone(), key.clone());
    config.concurrency = args.concurrency as usize;
    config.rate_limit = Some(f64::from(args.rate_limit));
    let client = match WorkOsClient::new(config) {
        Ok(c) => c,
        Err(e) => return fail(err, FAILED, &e),
    };
    let opts = SnapshotOptions {
        output: args.output.clone(),
        job,
        checkpoint_root: PathBuf::from(CHECKPOINT_ROOT),
        endpoint: base.as_str().trim_end_matches('/').to_string(),
        api_key: key,
        concurrency: args.concurrency as usize,
        quiet: args.quiet,
    };
    let runtime = match super::command_runtime() {
        Ok(r) => r,
        Err(e) => return fail(err, FAILED, &e),
    };
    let mut job_id: Option<String> = None;
    let result = runtime.block_on(run_snapshot(&opts, &client, &mut |id| {
        job_id = Some(id.to_string())
    }));
    match result {
        Ok(report) => {
            if !args.quiet {
                let _ = writeln!(
                    out,
                    "Snapshot {}: {}",
                    if report.resumed {
                        "resumed and complete"
                    } else {
                        "complete"
                    },
                    report.output.display()
                );
                for (name, rows) in &report.counts {
                    let _ = writeln!(out, "  {name}: {rows}");
                }
                let _ = writeln!(
                    out,
                    "  requests: {} in {:.1} s ({:.1}/s), 429 responses: {}",
                    report.requests,
                    report.seconds,
                    report.requests as f64 / report.seconds.max(0.001),
                    report.rate_limited
                );
            }
            0
        }
        Err(e) if e.is_access_denied() => fail(
            err,
            FAILED,
            &format!("the API key cannot read this WorkOS environment ({e})"),
        ),
        Err(e) => {
            let hint = match &job_id {
                Some(id) => format!(" (resume with --resume {id})"),
                None => String::new(),
            };
            fail(err, FAILED, &format!("{e}{hint}"))
        }
    }
}
