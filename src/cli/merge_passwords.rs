//! `merge-passwords`: clap types and dispatch (export-and-package.md §9.3).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

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
pub fn run_merge_passwords(args: MergePasswordsArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let _ = (args, out);
    let _ = writeln!(err, "Merge failed: not built yet");
    1
}
