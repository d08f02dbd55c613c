//! `diff OLD NEW --output-dir DELTA`: compares two exports of the same
//! source and writes a **delta package** (issue 12, docs/cutover-runbook.md):
//! an ordinary migration package (`validate-package` passes) whose manifest
//! carries `metadata.workosMigrate = {packageKind: "delta", updateExisting:
//! true, basedOn}` so `import-package DELTA` updates the changed users
//! instead of counting them as duplicates.
//!
//! The delta holds new and changed users (all their `users.csv` rows; a
//! changed user's password hash only when it changed), new and changed
//! organizations, new role definitions, new memberships and memberships that
//! gained roles (`organization_memberships.csv`), new role assignments, and
//! the TOTP rows of new users. Users gone from the source, removed
//! memberships, roles and role assignments, and gone organizations are only
//! listed in `DELTA/diff/*.csv` — never deleted.
//!
//! Memory stays flat: every user, membership and role-assignment row of both
//! packages is reduced to a fixed-size fingerprint with its byte offset
//! ([`fingerprint`]) and partitioned by its user key into at least
//! [`DEFAULT_BUCKETS`] files ([`buckets`], [`input`]), the packages in
//! parallel; then each bucket pair is taken alone ([`compare`]), buckets in
//! parallel with rayon: users whose rows have equal fingerprints on both
//! sides are only counted ([`triage`]), the rows of the others are read
//! again by offset ([`rows`]) and compared field by field, each bucket
//! writing its sorted share of the output; the shares are concatenated in
//! bucket order, so the output is the same whatever the thread count. Organizations and role
//! definitions (small files) are compared in memory ([`organizations`]).
//!
//! The delta's manifest is written last (by the package writer, then
//! rewritten with the `workosMigrate` metadata): a run that fails leaves no
//! directory that looks like a complete delta.

pub mod buckets;
pub mod compare;
pub mod fingerprint;
pub mod input;
pub mod organizations;
pub mod package;
pub mod report;
pub mod rows;
pub mod triage;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;

pub use report::{DiffCounts, DiffReport, OrgCounts};

use buckets::BucketWriter;
use input::{open_package, partition, PackageInput, PartitionStats, Side, SideFiles};

/// Buckets per package at least (more buckets cost file creations, which
/// are slow on some filesystems).
pub const DEFAULT_BUCKETS: usize = 32;

/// Input bytes (both packages' `users.csv`) per bucket at most: when every
/// user of a bucket differs, its rows are all read back into memory, so the
/// bucket count grows with the input and memory does not.
pub const BUCKET_INPUT_BYTES: u64 = 16 << 20;

/// Why `diff` stopped. Every message is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{side} package directory not found: {}", dir.display())]
    NotADirectory { side: &'static str, dir: PathBuf },
    #[error("{}: {message}", path.display())]
    Manifest { path: PathBuf, message: String },
    #[error("{side} package has no users.csv: {}", path.display())]
    MissingUsers { side: &'static str, path: PathBuf },
    #[error("the packages come from different providers: OLD is '{old}', NEW is '{new}' (a delta compares two exports of the same source)")]
    ProviderMismatch { old: String, new: String },
    #[error("{}: missing column '{column}' in the header", path.display())]
    Header { path: PathBuf, column: String },
    #[error("{}: {message}", path.display())]
    Csv { path: PathBuf, message: String },
    #[error("{} line {line}: {message}", path.display())]
    Row {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{} line {line}: duplicate key '{key}' with different user data (first at line {first_line}); the packages cannot be compared by key", path.display())]
    DuplicateKey {
        path: PathBuf,
        line: u64,
        first_line: u64,
        key: String,
    },
    #[error("{side} users.csv has {rows} row(s) without external_id; they would be matched by lower-cased email only (an email change would look like a gone user plus a new one) — pass --key-by-email to accept")]
    NoExternalIds { side: &'static str, rows: u64 },
    #[error("output directory {} is not empty", .0.display())]
    OutputNotEmpty(PathBuf),
    #[error("output directory {} is inside an input package", .0.display())]
    OutputInsideInput(PathBuf),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("temporary files: {0}")]
    Spill(String),
    #[error("writing the delta package: {0}")]
    Write(String),
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    pub old: PathBuf,
    pub new: PathBuf,
    pub output_dir: PathBuf,
    /// Accept users without `external_id` (keyed by lower-cased email).
    pub key_by_email: bool,
    pub buckets: usize,
    pub quiet: bool,
}

impl DiffOptions {
    pub fn new(old: &Path, new: &Path, output_dir: &Path) -> Self {
        Self {
            old: old.to_path_buf(),
            new: new.to_path_buf(),
            output_dir: output_dir.to_path_buf(),
            key_by_email: false,
            buckets: DEFAULT_BUCKETS,
            quiet: true,
        }
    }
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Runs the comparison and writes the delta package.
pub fn run_diff(opts: &DiffOptions) -> Result<DiffReport, DiffError> {
    let started = Instant::now();
    let old = open_package(&opts.old, Side::Old)?;
    let new = open_package(&opts.new, Side::New)?;
    if old.provider != new.provider {
        return Err(DiffError::ProviderMismatch {
            old: old.provider,
            new: new.provider,
        });
    }
    let out = &opts.output_dir;
    prepare_output(out, &[&old.dir, &new.dir])?;
    let work = tempfile::Builder::new()
        .prefix(".diff-work-")
        .tempdir_in(out)
        .map_err(|e| DiffError::Spill(e.to_string()))?;
    // 1. Partition both packages, in parallel.
    let total: u64 = [&old, &new]
        .iter()
        .map(|p| file_len(&p.file(&crate::package::schema::USERS)))
        .sum();
    let by_size = usize::try_from(total / BUCKET_INPUT_BYTES).unwrap_or(usize::MAX);
    let buckets = opts.buckets.max(by_size).clamp(1, 4096);
    let progress = crate::progress::Progress::new("diff", total, opts.quiet);
    let read = AtomicU64::new(0);
    let ticks = AtomicU64::new(0);
    let ticker = || {
        let rows = ticks.fetch_add(1, Ordering::Relaxed) * input::TICK_ROWS;
        progress.update(read.load(Ordering::Relaxed), rows);
    };
    type Partitioned = (Vec<PathBuf>, PartitionStats, SideFiles);
    let run_partition = |pkg: &PackageInput, prefix: &str| -> Result<Partitioned, DiffError> {
        let mut w = BucketWriter::create(work.path(), prefix, buckets)
            .map_err(|e| DiffError::Spill(e.to_string()))?;
        let (stats, files) = partition(pkg, &mut w, &read, &ticker)?;
        let paths = w.finish().map_err(|e| DiffError::Spill(e.to_string()))?;
        Ok((paths, stats, files))
    };
    let (old_part, new_part) =
        rayon::join(|| run_partition(&old, "old"), || run_partition(&new, "new"));
    ticker();
    let (old_paths, old_stats, old_files) = old_part?;
    let (new_paths, new_stats, new_files) = new_part?;
    progress.finish();
    let mut warnings = Vec::new();
    for (side, stats) in [(Side::Old, old_stats), (Side::New, new_stats)] {
        if stats.rows_keyed_by_email > 0 {
            if !opts.key_by_email {
                return Err(DiffError::NoExternalIds {
                    side: side.label(),
                    rows: stats.rows_keyed_by_email,
                });
            }
            warnings.push(format!(
                "{} users.csv: {} row(s) without external_id matched by lower-cased email",
                side.label(),
                stats.rows_keyed_by_email
            ));
        }
    }

    // 2. Compare bucket pairs, in parallel.
    let parts_dir = work.path().join("parts");
    std::fs::create_dir_all(&parts_dir).map_err(|e| DiffError::Spill(e.to_string()))?;
    let users_paths = (
        old.file(&crate::package::schema::USERS),
        new.file(&crate::package::schema::USERS),
    );
    let results: Vec<Result<compare::BucketResult, DiffError>> = (0..buckets)
        .into_par_iter()
        .map(|b| {
            let r = compare::compare_bucket(
                b,
                &compare::BucketInputs {
                    old_bucket: &old_paths[b],
                    new_bucket: &new_paths[b],
                    old_files: &old_files,
                    new_files: &new_files,
                    users_paths: (&users_paths.0, &users_paths.1),
                },
                &parts_dir,
            );
            // The bucket files are no longer needed.
            let _ = std::fs::remove_file(&old_paths[b]);
            let _ = std::fs::remove_file(&new_paths[b]);
            r
        })
        .collect();
    let mut counts = DiffCounts::default();
    let mut new_emails = std::collections::HashSet::new();
    for r in results {
        let r = r?;
        counts.merge(&r.counts);
        new_emails.extend(r.new_user_emails);
    }

    // 3. Organizations and role definitions (small).
    let orgs = organizations::compare_organizations(&old.dir, &new.dir)?;
    let roles = organizations::new_role_definitions(&old.dir, &new.dir)?;

    // 4. The delta package and the report files.
    let mut report = DiffReport {
        old_dir: old.dir.clone(),
        new_dir: new.dir.clone(),
        output_dir: out.clone(),
        provider: new.provider.clone(),
        counts,
        organizations: orgs.counts.clone(),
        role_definitions_added: roles.len() as u64,
        totp_added: 0,
        warnings,
        elapsed_ms: 0,
    };
    let written = package::write_delta(
        &package::DeltaInputs {
            out,
            parts_dir: &parts_dir,
            buckets,
            old: &old,
            new: &new,
            orgs: &orgs,
            roles: &roles,
            new_user_emails: &new_emails,
        },
        &mut report,
        started,
        work,
    )?;
    Ok(written)
}

/// The output directory must be empty (or absent) and outside the inputs.
fn prepare_output(out: &Path, inputs: &[&Path]) -> Result<(), DiffError> {
    let abs = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    for i in inputs {
        let ia = std::path::absolute(i).unwrap_or_else(|_| i.to_path_buf());
        if abs.starts_with(&ia) {
            return Err(DiffError::OutputInsideInput(out.to_path_buf()));
        }
    }
    match crate::package::writer::dir_is_non_empty(out) {
        Ok(true) => return Err(DiffError::OutputNotEmpty(out.to_path_buf())),
        Ok(false) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(DiffError::Io {
                path: out.to_path_buf(),
                source,
            })
        }
    }
    std::fs::create_dir_all(out).map_err(|source| DiffError::Io {
        path: out.to_path_buf(),
        source,
    })
}
