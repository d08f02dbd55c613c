//! TOTP factors in WorkOS: the `enroll-totp` command (import.md §1.5, §5)
//! and the TOTP step of `import-package`.
//!
//! Owns: reading secrets from CSV or NDJSON, one record at a time
//! ([`input`]), checking them as Base32 without ever printing them
//! ([`secret`]), and enrolling them with bounded concurrency, skipping users
//! who already have a TOTP factor ([`enroll`]).
//!
//! Library entry point: [`enroll_totp_file`] (a `None` client is a dry run
//! that makes no request) → [`TotpReport`].

pub mod enroll;
pub mod input;
pub mod secret;

pub use enroll::{
    enroll_totp_file, is_already_enrolled, TotpErrorRecord, TotpErrorType, TotpOptions, TotpReport,
};
pub use input::{InputFormat, InputItem, TotpInput, TotpRecord};
pub use secret::{SecretError, TotpSecret};

use std::path::PathBuf;

use crate::package::csv_reader::CsvReadError;
use crate::workos::WorkOsError;

/// Why a TOTP run could not go on. Per-record problems are not errors: they
/// are counted and written to the errors file.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error("Input file not found: {}", path.display())]
    InputNotFound { path: PathBuf },
    /// The CSV could not be read (empty, bad UTF-8, runaway record, …).
    #[error("{0}")]
    Csv(#[from] CsvReadError),
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TOTP CSV must have email and totp_secret columns. Found: {found}")]
    MissingColumns { found: String },
    #[error("Cannot write the errors file {}: {source}", path.display())]
    ErrorsFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// WorkOS refused the API key: every further call would fail too.
    #[error("{0}")]
    WorkOs(WorkOsError),
}
