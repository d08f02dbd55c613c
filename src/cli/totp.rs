//! clap types and thin dispatch for `enroll-totp` (import.md §1.5, §5.3):
//! checks the input and options (numbers must be positive integers), builds
//! the WorkOS client (none in a dry run, so a dry run makes no request and
//! needs no key), runs [`crate::totp::enroll_totp_file`] and prints the
//! original's summary text. Secrets never reach the output.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::fail;
use super::roles::absolute;
use crate::totp::{enroll_totp_file, InputFormat, TotpOptions, TotpReport};
use crate::workos::{self, ApiKey, ClientConfig, WorkOsClient};

/// `enroll-totp`: Enroll TOTP MFA factors for imported users
#[derive(Debug, Clone, Args)]
pub struct EnrollTotpArgs {
    /// CSV (email,totp_secret[,totp_issuer,totp_user]) or NDJSON ({email, totp_secret | secret | mfa_factors}) file
    #[arg(long, value_name = "path")]
    pub input: PathBuf,
    /// Input format: csv or ndjson (default: by extension, .ndjson/.jsonl are NDJSON)
    #[arg(long, value_name = "format")]
    pub format: Option<String>,
    /// Users processed at once (1-1000)
    #[arg(long, value_name = "n", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub concurrency: u32,
    /// Requests per second (1-10000)
    #[arg(long, value_name = "n", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub rate_limit: u32,
    /// Error records (JSON lines; created or truncated)
    #[arg(long, value_name = "path", default_value = "totp-errors.jsonl")]
    pub errors: PathBuf,
    /// Issuer shown in authenticator apps (overrides each record's totp_issuer)
    #[arg(long, value_name = "name")]
    pub totp_issuer: Option<String>,
    /// Check the input and show what would be done, without any API call
    #[arg(long)]
    pub dry_run: bool,
    /// WorkOS API base URL (default: WORKOS_API_URL or https://api.workos.com)
    #[arg(long, value_name = "url")]
    pub endpoint: Option<String>,
    /// Print nothing but errors
    #[arg(long)]
    pub quiet: bool,
}

const FAILED: &str = "TOTP enrollment failed";

/// Runs the command; returns the exit code.
pub fn run_enroll_totp(args: EnrollTotpArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let format = match &args.format {
        Some(f) => match InputFormat::parse(f) {
            Some(f) => f,
            None => {
                let _ = writeln!(err, "--format must be csv or ndjson");
                return 1;
            }
        },
        None => InputFormat::detect(&args.input),
    };
    let input = absolute(&args.input);
    if !input.is_file() {
        let _ = writeln!(err, "Input file not found: {}", input.display());
        return 1;
    }
    let client = if args.dry_run {
        None
    } else {
        match live_client(args.endpoint.as_deref(), &args) {
            Ok(c) => Some(c),
            Err(message) => return fail(err, FAILED, &message),
        }
    };
    if !args.quiet {
        let _ = writeln!(out, "WorkOS TOTP Enrollment");
        let _ = writeln!(out, "  Input: {} ({})", input.display(), format.as_str());
        let _ = writeln!(out, "  Concurrency: {}", args.concurrency);
        let _ = writeln!(out, "  Rate limit: {} req/s", args.rate_limit);
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
    let options = TotpOptions {
        concurrency: args.concurrency as usize,
        issuer: args.totp_issuer.clone(),
    };
    let report = match runtime.block_on(enroll_totp_file(
        client.as_ref(),
        &input,
        format,
        Some(&args.errors),
        &options,
    )) {
        Ok(r) => r,
        Err(e) => return fail(err, FAILED, &e),
    };
    if !args.quiet {
        print_summary(out, &report, &args.errors);
    }
    i32::from(report.failures > 0)
}

/// The client of a live run: `WORKOS_SECRET_KEY`, `--endpoint` /
/// `WORKOS_API_URL`, `--concurrency` requests in flight, `--rate-limit`.
fn live_client(endpoint: Option<&str>, args: &EnrollTotpArgs) -> Result<WorkOsClient, String> {
    let key = ApiKey::from_env().ok_or_else(|| workos::MISSING_KEY_MESSAGE.to_string())?;
    let base = workos::resolve_base_url(endpoint).map_err(|e| e.to_string())?;
    let mut config = ClientConfig::new(base, key);
    config.concurrency = args.concurrency as usize;
    config.rate_limit = Some(f64::from(args.rate_limit));
    WorkOsClient::new(config).map_err(|e| e.to_string())
}

fn print_summary(out: &mut dyn Write, r: &TotpReport, errors: &std::path::Path) {
    let _ = writeln!(out, "\nTOTP Enrollment Summary");
    let _ = writeln!(out, "  Total records: {}", r.total);
    let _ = writeln!(out, "  Enrolled: {}", r.enrolled);
    let _ = writeln!(out, "  Skipped (already enrolled): {}", r.skipped);
    if r.user_not_found > 0 {
        let _ = writeln!(out, "  User not found: {}", r.user_not_found);
    }
    if r.failures > 0 {
        let _ = writeln!(out, "  Failures: {}", r.failures);
    }
    if r.ignored > 0 {
        let _ = writeln!(out, "  Ignored rows (no email or secret): {}", r.ignored);
    }
    let _ = writeln!(out, "  Duration: {}ms", r.duration_ms);
    if r.failures > 0 {
        let _ = writeln!(out, "  Errors written to: {}", errors.display());
    }
}
