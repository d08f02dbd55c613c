//! `merge-passwords` (export-and-package.md §9.3–9.5): adds the hashes of an
//! Auth0 password export (NDJSON) to a migration package's `users.csv` and
//! `workos_upload/users.csv` ([`merge_package`]), or to a single import CSV
//! ([`merge_csv`]).
//!
//! Both modes stream: the password file and the CSVs are read as streams and
//! joined by lower-cased email through partitioned temporary files
//! ([`join`]), so memory does not grow with the input. Only hashes WorkOS
//! imports are written ([`algorithm`]); blocked Auth0 users get none; junk
//! lines of the password file are counted and reported. Every rewritten file
//! is written beside its target and renamed in; in package mode the renames
//! are committed through a journal ([`commit`]) so that a crash leaves the old
//! package or, after the next run, the new one.

pub mod algorithm;
pub mod commit;
pub mod join;
pub mod legacy;
pub mod matching;
pub mod ndjson;
pub mod package;
pub mod raw_rows;
pub mod rows;

use std::io;
use std::path::PathBuf;

pub use legacy::merge_csv;
pub use package::merge_package;

use crate::package::csv_reader::CsvReadError;
use crate::package::csv_writer::CsvWriteError;
use crate::package::manifest::ManifestError;
use crate::spill::{SpillError, PARTITIONS};

/// Environment variable overriding the number of spill partitions (a test
/// and tuning knob; the result never depends on it).
pub const PARTITIONS_ENV: &str = "WORKOS_MIGRATE_MERGE_PARTITIONS";

/// Warning codes written by `merge-passwords`; a new merge removes the
/// previous merge's records with these codes before appending its own.
pub const MERGE_WARNING_CODES: [&str; 5] = [
    CODE_UNSUPPORTED_ALGORITHM,
    CODE_MISSING_HASH,
    CODE_INVALID_HASH,
    CODE_BLOCKED_WITHHELD,
    CODE_UNPARSABLE_LINES,
];
pub const CODE_UNSUPPORTED_ALGORITHM: &str = "unsupported_password_hash_algorithm";
pub const CODE_MISSING_HASH: &str = "missing_password_hash";
pub const CODE_INVALID_HASH: &str = "malformed_password_hash";
pub const CODE_BLOCKED_WITHHELD: &str = "blocked_user_password_withheld";
pub const CODE_UNPARSABLE_LINES: &str = "unparsable_password_lines";

/// Errors that stop a merge. None of them includes a hash.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("Password file not found: {}", .0.display())]
    PasswordsNotFound(PathBuf),
    #[error("Package directory not found: {}", .0.display())]
    PackageNotFound(PathBuf),
    #[error("CSV file not found: {}", .0.display())]
    CsvNotFound(PathBuf),
    #[error("--output must differ from --csv (the input would be overwritten)")]
    OutputIsInput,
    #[error("password file: {0}")]
    PasswordFile(#[from] io::Error),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    CsvRead(#[from] CsvReadError),
    #[error("{}: {source}", path.display())]
    CsvWrite {
        path: PathBuf,
        source: CsvWriteError,
    },
    #[error("{0}")]
    Spill(#[from] SpillError),
    #[error("{}: line 1: {problem}", path.display())]
    Header { path: PathBuf, problem: String },
    #[error("{}: line {line}: not a JSON object; run validate-package and repair the package before merging", path.display())]
    WarningsJson { path: PathBuf, line: u64 },
    #[error("{}: {source}", path.display())]
    Manifest {
        path: PathBuf,
        source: ManifestError,
    },
    #[error("{}: changed while it was being merged (row {row})", path.display())]
    Changed { path: PathBuf, row: u64 },
}

pub(crate) fn io_at(path: &std::path::Path) -> impl FnOnce(io::Error) -> MergeError {
    let path = path.to_path_buf();
    move |source| MergeError::Io { path, source }
}

/// Tuning of a merge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeOptions {
    /// Spill partitions for the joins (at least 1); `None` sizes them from
    /// the input ([`MergeOptions::partitions_for`]).
    pub partitions: Option<usize>,
}

/// Input bytes per partition aimed at when sizing automatically.
const BYTES_PER_PARTITION: u64 = 16 << 20;

/// Most partitions sized automatically (each is an open file while spilling).
const MAX_PARTITIONS: usize = 512;

impl MergeOptions {
    /// Automatic sizing, or [`PARTITIONS_ENV`] when it holds a number ≥ 1.
    pub fn from_env() -> Self {
        let partitions = std::env::var(PARTITIONS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n >= 1);
        Self { partitions }
    }

    /// Partitions for joining `input_bytes` of input: the explicit count, or
    /// enough that one partition holds about 16 MiB of input (256 to 512),
    /// so memory stays flat as inputs grow.
    pub fn partitions_for(&self, input_bytes: u64) -> usize {
        self.partitions.unwrap_or_else(|| {
            let wanted =
                usize::try_from(input_bytes / BYTES_PER_PARTITION).unwrap_or(MAX_PARTITIONS);
            wanted.clamp(PARTITIONS, MAX_PARTITIONS)
        })
    }
}

/// Size of the files at `paths` (missing ones count 0).
pub(crate) fn input_bytes(paths: &[&std::path::Path]) -> u64 {
    paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// What a merge did. Counts are per row, as in the original.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Data rows of `users.csv` (or the legacy CSV).
    pub total_rows: u64,
    /// Usable records in the password file (duplicates included).
    pub password_records: u64,
    /// Distinct emails with a usable record ("Loaded ‹n› password hashes").
    pub passwords_loaded: u64,
    pub passwords_added: u64,
    pub passwords_not_found: u64,
    pub passwords_rejected_algorithm: u64,
    pub passwords_invalid: u64,
    pub blocked_users_skipped: u64,
    pub unparsable_lines: u64,
    /// The first few unparsable line numbers.
    pub unparsable_first: Vec<u64>,
    pub upload_rows_updated: u64,
    /// Package mode: `users.csv` was missing, nothing was done.
    pub users_csv_missing: bool,
    /// Package mode: an interrupted earlier merge was completed first.
    pub recovered_interrupted_merge: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_scale_with_input_within_bounds() {
        let auto = MergeOptions::default();
        assert_eq!(auto.partitions_for(0), PARTITIONS);
        assert_eq!(auto.partitions_for(300 * BYTES_PER_PARTITION), 300);
        assert_eq!(auto.partitions_for(u64::MAX), MAX_PARTITIONS);
        let fixed = MergeOptions {
            partitions: Some(3),
        };
        assert_eq!(fixed.partitions_for(u64::MAX), 3);
    }
}
