//! `analyze`: reads an import's `errors.jsonl`, groups the errors into
//! patterns with a retryability verdict and a fix suggestion, and optionally
//! writes a retry CSV with the rows that can succeed on a second run
//! (import.md §1.4, §4).
//!
//! - [`normalize`]: message → pattern (emails, UUIDs, WorkOS ids, numbers).
//! - [`classify`]: retryable or not (the importer's retry set,
//!   [`crate::workos::retry`]) and the suggestion text.
//! - [`records`]: the streaming `errors.jsonl` reader.
//! - [`report`]: grouping, the result object, `--json` and text output.
//! - [`retry_csv`]: the retry CSV, joined by record number.
//!
//! Both passes stream; memory is bounded by the number of distinct patterns
//! (capped) and by fixed buffers, never by the number of records or rows.

pub mod classify;
pub mod normalize;
pub mod records;
pub mod report;
pub mod retry_csv;

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

pub use report::{analyze_errors, AnalysisResult, ErrorGroup};
pub use retry_csv::{generate_retry_csv, RetryResult};

use crate::package::csv_reader::CsvReadError;
use crate::package::csv_writer::CsvWriteError;
use crate::spill::SpillError;

/// Why `analyze` failed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("Errors file not found: {}", .0.display())]
    ErrorsNotFound(PathBuf),
    #[error("--original-csv is required when using --retry-csv")]
    OriginalCsvRequired,
    #[error("Original CSV not found: {}", .0.display())]
    OriginalCsvNotFound(PathBuf),
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("{}: {source}", path.display())]
    WriteCsv {
        path: PathBuf,
        source: CsvWriteError,
    },
    #[error("{0}")]
    Csv(#[from] CsvReadError),
    #[error("{0}")]
    Spill(#[from] SpillError),
    #[error(
        "the errors file does not belong to the original CSV: record {record} is {errors_email} in the errors file but {csv_email} in the CSV"
    )]
    CsvMismatch {
        record: u64,
        errors_email: String,
        csv_email: String,
    },
    #[error("the errors file names record {record} but the original CSV has only {rows} records")]
    RecordBeyondCsv { record: u64, rows: u64 },
    #[error("internal error: {0}")]
    Internal(&'static str),
    #[error("output: {0}")]
    Output(io::Error),
}

/// Options of the `analyze` command.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeOptions {
    pub errors: PathBuf,
    pub retry_csv: Option<PathBuf>,
    pub original_csv: Option<PathBuf>,
    pub dedupe: bool,
    pub json: bool,
    pub quiet: bool,
}

/// Runs `analyze` with the original's output (§4). Returns the analysis and,
/// when a retry CSV was written, its counts. The caller prints a returned
/// error (exit 1).
pub fn run(
    opts: &AnalyzeOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(AnalysisResult, Option<RetryResult>), AnalyzeError> {
    if !opts.errors.is_file() {
        return Err(AnalyzeError::ErrorsNotFound(opts.errors.clone()));
    }
    if opts.retry_csv.is_some() && opts.original_csv.is_none() {
        return Err(AnalyzeError::OriginalCsvRequired);
    }
    if let Some(csv) = &opts.original_csv {
        if !csv.is_file() {
            return Err(AnalyzeError::OriginalCsvNotFound(csv.clone()));
        }
    }
    let started = Instant::now();
    if !opts.quiet {
        writeln!(out, "Analyzing import errors...").map_err(AnalyzeError::Output)?;
    }
    let result = analyze_errors(&opts.errors)?;
    if opts.json {
        let text = serde_json::to_string_pretty(&result.to_json())
            .map_err(|e| AnalyzeError::Output(io::Error::other(e)))?;
        writeln!(out, "{text}").map_err(AnalyzeError::Output)?;
    } else if !opts.quiet {
        result
            .write_text(out, started.elapsed().as_millis())
            .map_err(AnalyzeError::Output)?;
    }
    if result.skipped_lines > 0 && !opts.quiet {
        let _ = writeln!(
            err,
            "Skipped {} line(s) of {} that are not error records",
            result.skipped_lines,
            opts.errors.display()
        );
    }
    let mut retry = None;
    if let (Some(output), Some(original)) = (&opts.retry_csv, &opts.original_csv) {
        if !opts.quiet {
            writeln!(out, "\nGenerating retry CSV...").map_err(AnalyzeError::Output)?;
        }
        let r = generate_retry_csv(
            &opts.errors,
            original,
            output,
            opts.dedupe,
            result.max_record_number,
        )?;
        if !opts.quiet {
            let mut lines = vec![
                format!("Retry CSV generated: {}", output.display()),
                format!("  Retryable emails: {}", r.total_retryable),
                format!("  Rows written: {}", r.rows_written),
            ];
            if r.deduplicated_count > 0 {
                lines.push(format!("  Deduplicated: {}", r.deduplicated_count));
            }
            if r.not_retryable_rows > 0 {
                lines.push(format!(
                    "  Not retried (would fail again): {}",
                    r.not_retryable_rows
                ));
            }
            for l in lines {
                writeln!(out, "{l}").map_err(AnalyzeError::Output)?;
            }
        }
        retry = Some(r);
    }
    Ok((result, retry))
}
