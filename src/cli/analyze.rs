//! `analyze`: clap arguments and the thin wrapper around [`crate::analyze`].

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::analyze::{AnalyzeError, AnalyzeOptions};

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Error JSONL file from import
    #[arg(long, value_name = "path")]
    pub errors: PathBuf,
    /// Generate retry CSV for retryable errors
    #[arg(long, value_name = "path")]
    pub retry_csv: Option<PathBuf>,
    /// Original CSV (needed for --retry-csv)
    #[arg(long, value_name = "path")]
    pub original_csv: Option<PathBuf>,
    /// Deduplicate retry CSV by email
    #[arg(long)]
    pub dedupe: bool,
    /// Output analysis as JSON
    #[arg(long)]
    pub json: bool,
    /// Suppress progress output
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `analyze`; returns the exit code (0, or 1 with one line on `err`).
pub fn run_analyze(args: AnalyzeArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = AnalyzeOptions {
        errors: args.errors,
        retry_csv: args.retry_csv,
        original_csv: args.original_csv,
        dedupe: args.dedupe,
        json: args.json,
        quiet: args.quiet,
    };
    match crate::analyze::run(&opts, out, err) {
        Ok(_) => 0,
        Err(
            e @ (AnalyzeError::ErrorsNotFound(_)
            | AnalyzeError::OriginalCsvRequired
            | AnalyzeError::OriginalCsvNotFound(_)),
        ) => {
            let _ = writeln!(err, "{}", super::one_line(&e.to_string()));
            1
        }
        Err(e) => super::fail(err, "Analysis failed", &e),
    }
}
