//! `merge-passwords`: clap types, option checks with the original's messages,
//! and the summary (export-and-package.md §9.3); the work is
//! [`crate::password_merge`].

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::password_merge::{self, MergeError, MergeOptions, MergeReport};

#[derive(Debug, Args)]
pub struct MergePasswordsArgs {
    /// Auth0 password export (NDJSON, one user per line, from Auth0 support)
    #[arg(long, value_name = "path")]
    pub passwords: PathBuf,
    /// Legacy mode: the import CSV to add hashes to
    #[arg(long, value_name = "path")]
    pub csv: Option<PathBuf>,
    /// Legacy mode: where to write the merged CSV
    #[arg(long, value_name = "path")]
    pub output: Option<PathBuf>,
    /// Package mode: the migration package whose users.csv gets the hashes
    #[arg(long, value_name = "dir")]
    pub package: Option<PathBuf>,
    /// Print nothing on success
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `merge-passwords`; returns the exit code.
pub fn run_merge_passwords(
    args: MergePasswordsArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let usage = |err: &mut dyn Write, e: &dyn std::fmt::Display| {
        let _ = writeln!(err, "{}", super::one_line(&e.to_string()));
        1
    };
    if !args.passwords.is_file() {
        return usage(err, &MergeError::PasswordsNotFound(args.passwords));
    }
    let options = MergeOptions::from_env();
    let started = Instant::now();
    if let Some(dir) = &args.package {
        if args.csv.is_some() || args.output.is_some() {
            return usage(
                err,
                &"--package cannot be combined with --csv or --output. Choose one mode.",
            );
        }
        if !dir.is_dir() {
            return usage(err, &MergeError::PackageNotFound(dir.clone()));
        }
        return match password_merge::merge_package(dir, &args.passwords, &options) {
            Ok(report) => {
                if report.recovered_interrupted_merge {
                    let _ = writeln!(
                        err,
                        "Completed the file replacements of an interrupted earlier merge first."
                    );
                }
                if report.users_csv_missing {
                    let _ = writeln!(
                        err,
                        "Package users.csv not found at {}; merge skipped.",
                        dir.join("users.csv").display()
                    );
                }
                if !args.quiet {
                    let _ = writeln!(out, "\nPackage password merge complete");
                    print_counts(out, &report);
                    let _ = writeln!(out, "  Upload rows updated: {}", report.upload_rows_updated);
                    let _ = writeln!(out, "  Duration: {}ms", started.elapsed().as_millis());
                    let _ = writeln!(out, "  Package: {}", dir.display());
                }
                0
            }
            Err(e) => failed(err, &e),
        };
    }
    let (Some(csv), Some(output)) = (&args.csv, &args.output) else {
        return usage(
            err,
            &"Either --package, or both --csv and --output, must be set.",
        );
    };
    if !csv.is_file() {
        return usage(err, &MergeError::CsvNotFound(csv.clone()));
    }
    match password_merge::merge_csv(csv, output, &args.passwords, &options) {
        Ok(report) => {
            if !args.quiet {
                let _ = writeln!(out, "Loaded {} password hashes", report.passwords_loaded);
                let _ = writeln!(out, "\nMerge complete");
                print_counts(out, &report);
                let _ = writeln!(out, "  Duration: {}ms", started.elapsed().as_millis());
                let _ = writeln!(out, "  Output: {}", output.display());
            }
            0
        }
        Err(e) => failed(err, &e),
    }
}

fn failed(err: &mut dyn Write, e: &MergeError) -> i32 {
    let _ = writeln!(err);
    super::fail(err, "Merge failed", e)
}

/// The counters both modes print; the new ones only when non-zero.
fn print_counts(out: &mut dyn Write, r: &MergeReport) {
    let _ = writeln!(out, "  Total rows: {}", r.total_rows);
    let _ = writeln!(out, "  Passwords added: {}", r.passwords_added);
    let _ = writeln!(out, "  No password found: {}", r.passwords_not_found);
    let _ = writeln!(
        out,
        "  Unsupported algorithms skipped: {}",
        r.passwords_rejected_algorithm
    );
    if r.passwords_invalid > 0 {
        let _ = writeln!(out, "  Invalid hashes skipped: {}", r.passwords_invalid);
    }
    if r.blocked_users_skipped > 0 {
        let _ = writeln!(out, "  Blocked users skipped: {}", r.blocked_users_skipped);
    }
    if r.unparsable_lines > 0 {
        let lines: Vec<String> = r.unparsable_first.iter().map(u64::to_string).collect();
        let _ = writeln!(
            out,
            "  Unparsable lines: {} (first: line {})",
            r.unparsable_lines,
            lines.join(", ")
        );
    }
}
