//! clap types and thin dispatch for `diff OLD_PACKAGE NEW_PACKAGE
//! --output-dir DELTA` ([`crate::delta`]): writes the delta package and
//! prints the summary (or the report JSON with `--json`).
//!
//! Exit codes: 0 when the delta was written (whatever it holds), 1 for a
//! fatal error (one line on stderr, `Diff failed: …`; no manifest is left in
//! DELTA, so nothing looks like a complete delta).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::fail;
use crate::delta::{run_diff, DiffOptions, DEFAULT_BUCKETS};

const FAILED: &str = "Diff failed";

/// `diff`: Compare two exports of the same source and write a delta package (new and changed users, new organizations, memberships and role assignments) for a cut-over import; gone users are only reported
#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// The package imported earlier
    #[arg(value_name = "OLD_PACKAGE")]
    pub old: PathBuf,
    /// The fresh export of the same source
    #[arg(value_name = "NEW_PACKAGE")]
    pub new: PathBuf,
    /// Directory for the delta package (must be empty or absent)
    #[arg(long, value_name = "DELTA")]
    pub output_dir: PathBuf,
    /// Accept users without external_id, matched by lower-cased email
    #[arg(long)]
    pub key_by_email: bool,
    /// Print the report as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Number of on-disk buckets (memory per bucket ~ users / buckets)
    #[arg(long, value_name = "n", default_value_t = DEFAULT_BUCKETS as u32,
          value_parser = clap::value_parser!(u32).range(1..=4096), hide = true)]
    pub buckets: u32,
    /// Suppress progress output and the summary
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the command; returns the exit code.
pub fn run_diff_command(args: DiffArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = DiffOptions {
        key_by_email: args.key_by_email,
        buckets: args.buckets as usize,
        quiet: args.quiet || args.json,
        ..DiffOptions::new(&args.old, &args.new, &args.output_dir)
    };
    let report = match run_diff(&opts) {
        Ok(r) => r,
        Err(e) => return fail(err, FAILED, &e),
    };
    let written = if args.json {
        serde_json::to_string_pretty(&report.to_json())
            .map_err(std::io::Error::other)
            .and_then(|t| writeln!(out, "{t}"))
    } else if args.quiet {
        Ok(())
    } else {
        report.write_text(out)
    };
    match written {
        Ok(()) => 0,
        Err(e) => fail(err, FAILED, &e),
    }
}
