//! clap types and thin dispatch for `import` (import.md §1.1): option names
//! and defaults of the original, numeric options checked by clap (each must
//! be an integer ≥ 1), the pre-checks in the original order, the API key and
//! base URL, then [`crate::import::pipeline::run_import`] and the §2.7
//! summary.
//!
//! Exit codes: 0 every row succeeded; 2 the run finished but some rows have
//! errors (see `errors.jsonl`); 1 fatal error (nothing or only part of the
//! file was processed); 130 interrupted by Ctrl-C (resume with `--resume`).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::one_line;
use crate::import::checkpoint::{scan_csv, CHECKPOINT_ROOT};
use crate::import::pipeline::{
    rows_in_flight, run_import, CliOrg, ImportOptions, ImportReport, JobMode,
};
use crate::import::summary::{plan_text, summary_text, Plan};
use crate::workos::{resolve_base_url, ApiKey, ClientConfig, WorkOsClient, MISSING_KEY_MESSAGE};

/// Exit code of a finished run where some rows failed.
pub const EXIT_ROW_ERRORS: i32 = 3;
/// Exit code after Ctrl-C.
pub const EXIT_INTERRUPTED: i32 = 130;

/// `import`: Import users, organization memberships, and role assignments from a single CSV into WorkOS
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Path to the CSV file
    #[arg(long, value_name = "path")]
    pub csv: PathBuf,
    /// Rows (and HTTP requests) in flight at once, per worker
    #[arg(long, value_name = "n", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,
    /// Requests per second (evenly spaced, paced 3 % below this)
    #[arg(long, value_name = "n", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate_limit: u32,
    /// Multiplies rows in flight (workers × concurrency); >1 needs --job-id or --resume
    #[arg(long, value_name = "n", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub workers: u32,
    /// Rows per checkpoint chunk (checkpoint flush granularity)
    #[arg(long, value_name = "n", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub chunk_size: u32,
    /// Create a new checkpointed job with this id
    #[arg(long, value_name = "id")]
    pub job_id: Option<String>,
    /// Resume a job (default: --job-id, else the most recent job)
    #[arg(long, value_name = "jobId", num_args = 0..=1, default_missing_value = "")]
    pub resume: Option<String>,
    /// Do not call WorkOS; count what would be imported
    #[arg(long)]
    pub dry_run: bool,
    /// Print the import plan and exit
    #[arg(long)]
    pub plan: bool,
    /// Add every user to this organization (single-org mode)
    #[arg(long, value_name = "id", conflicts_with = "org_external_id")]
    pub org_id: Option<String>,
    /// Add every user to the organization with this external id (single-org mode)
    #[arg(long, value_name = "id")]
    pub org_external_id: Option<String>,
    /// Create organizations that do not exist (external id without name: named after the external id; name only: found or created by exact name)
    #[arg(long)]
    pub create_org_if_missing: bool,
    /// Create each email (any case) once per run
    #[arg(long)]
    pub dedupe: bool,
    /// WorkOS API base URL (overrides WORKOS_API_URL)
    #[arg(long, value_name = "url")]
    pub endpoint: Option<String>,
    /// Error records file [default: errors.jsonl; with a job: the job's errors.jsonl, copied here when given]
    #[arg(long, value_name = "path")]
    pub errors: Option<PathBuf>,
    /// Directory holding checkpointed jobs
    #[arg(long, value_name = "dir", default_value = CHECKPOINT_ROOT)]
    pub checkpoint_dir: PathBuf,
    /// Print only warnings and errors
    #[arg(long)]
    pub quiet: bool,
    /// Per-request timeout in seconds (a timed-out request is retried)
    #[arg(long, value_name = "secs", default_value_t = 60, hide = true,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
}

/// Runs `import`; returns the exit code.
pub fn run_import_command(args: ImportArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    execute(args, ApiKey::from_env(), out, err).0
}

/// Runs `import` with an explicit key; returns the exit code and, when the
/// run got that far, its report.
pub fn execute(
    args: ImportArgs,
    key: Option<ApiKey>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> (i32, Option<ImportReport>) {
    let fatal = |err: &mut dyn Write, msg: &dyn std::fmt::Display| {
        let _ = writeln!(err, "{}", one_line(&msg.to_string()));
        (1, None)
    };
    if !args.csv.is_file() {
        return fatal(err, &format!("CSV file not found: {}", args.csv.display()));
    }
    if args.workers > 1 && args.job_id.is_none() && args.resume.is_none() {
        return fatal(
            err,
            &"--workers > 1 requires --job-id or --resume for checkpoint support",
        );
    }
    if args.plan {
        let rows = match scan_csv(&args.csv, false) {
            Ok((rows, _)) => rows,
            Err(e) => return fatal(err, &e),
        };
        let plan = Plan {
            csv: args.csv.display().to_string(),
            total_rows: rows,
            concurrency: args.concurrency,
            rate_limit: args.rate_limit,
            workers: args.workers,
            chunk_size: args.chunk_size,
            org_id: args.org_id.clone(),
            org_external_id: args.org_external_id.clone(),
            dry_run: args.dry_run,
        };
        let _ = out.write_all(plan_text(&plan).as_bytes());
        return (0, None);
    }
    let base_url = match resolve_base_url(args.endpoint.as_deref()) {
        Ok(u) => u,
        Err(e) => return fatal(err, &e),
    };
    let in_flight = rows_in_flight(args.concurrency, args.workers);
    let client = if args.dry_run {
        None
    } else {
        let Some(key) = key else {
            return fatal(err, &MISSING_KEY_MESSAGE);
        };
        let mut config = ClientConfig::new(base_url, key);
        config.concurrency = in_flight;
        config.rate_limit = Some(f64::from(args.rate_limit));
        config.request_timeout = Duration::from_secs(args.request_timeout);
        match WorkOsClient::new(config) {
            Ok(c) => Some(c),
            Err(e) => return fatal(err, &e),
        }
    };
    let job = match (&args.resume, &args.job_id) {
        (Some(r), _) if !r.is_empty() => JobMode::Resume(Some(r.clone())),
        (Some(_), Some(id)) => JobMode::Resume(Some(id.clone())),
        (Some(_), None) => JobMode::Resume(None),
        (None, Some(id)) => JobMode::New(id.clone()),
        (None, None) => JobMode::None,
    };
    let org = match (&args.org_id, &args.org_external_id) {
        (Some(id), _) => Some(CliOrg::Id(id.clone())),
        (None, Some(x)) => Some(CliOrg::ExternalId(x.clone())),
        (None, None) => None,
    };
    let opts = ImportOptions {
        csv: args.csv.clone(),
        concurrency: args.concurrency,
        workers: args.workers,
        chunk_size: args.chunk_size,
        job,
        org,
        create_org_if_missing: args.create_org_if_missing,
        dedupe: args.dedupe,
        errors_path: args
            .errors
            .clone()
            .unwrap_or_else(|| PathBuf::from("errors.jsonl")),
        errors_explicit: args.errors.is_some(),
        quiet: args.quiet,
        checkpoint_root: args.checkpoint_dir.clone(),
    };
    let report = match run_import(&opts, client, out) {
        Ok(r) => r,
        Err(e) => return fatal(err, &e),
    };
    if !args.quiet {
        let text = summary_text(
            &report.counters,
            report.duration,
            report.cache_stats,
            &report.warnings,
        );
        let _ = out.write_all(text.as_bytes());
    }
    let code = if report.interrupted {
        let resume = match &report.job_id {
            Some(id) => format!("resume with --resume {id}"),
            None => "use --job-id to make a run resumable".to_string(),
        };
        let _ = writeln!(
            err,
            "Interrupted: rows in flight were finished and recorded; {resume}"
        );
        EXIT_INTERRUPTED
    } else if report.counters.failures > 0 {
        let _ = writeln!(
            err,
            "Import completed with {} row error(s); see {}",
            report.counters.failures,
            report.errors_path.display()
        );
        EXIT_ROW_ERRORS
    } else {
        0
    };
    let _ = out.flush();
    (code, Some(report))
}
