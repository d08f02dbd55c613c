//! The deprecated single-CSV output of `transform-clerk` and
//! `transform-firebase` without `--package` (export-and-package.md §13.3,
//! §13.4): one import CSV (`email,first_name,last_name,email_verified,
//! external_id,password_hash,password_hash_type,metadata`, then the
//! organization columns the org mapping fills, then `role_slugs` when the
//! role mapping has rows) and a skipped-users log beside it.
//!
//! It is made from a finished migration package, so every row is exactly the
//! package's (same skip rules, hash conversions and metadata; `email_verified`
//! from the data), and both files are streamed record by record. Decisions
//! (docs/decisions.md): the organization columns are those any mapping row
//! fills, not only the first row's; the skipped log never shares the
//! output's path; both files are written under a temporary name, mode 0600,
//! and renamed when complete.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arrow::array::{Array, StringArray};

use crate::package::csv_reader::{CsvBatchReader, CsvReadError, CsvReadOptions};
use crate::package::csv_writer::push_record as push_csv_record;
use crate::package::jsonl::push_record;
use crate::package::writer::create_private_file;
use crate::sources::mapping::UserMappings;

/// Which deprecated command the output is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacySource {
    Clerk,
    Firebase,
}

impl LegacySource {
    /// The source user id column: of skipped records and of the mapping
    /// files.
    pub fn user_key(self) -> &'static str {
        match self {
            Self::Clerk => "clerk_user_id",
            Self::Firebase => "firebase_uid",
        }
    }

    /// The legacy log's wording of a package skip reason.
    fn legacy_reason(self, reason: &str) -> &str {
        match (self, reason) {
            (Self::Clerk, "no_email") => "Missing primary_email_address",
            (Self::Firebase, "no_email") => "Missing email address",
            (Self::Firebase, "disabled_user") => "User is disabled",
            (_, other) => other,
        }
    }
}

/// Errors writing the legacy output.
#[derive(Debug, thiserror::Error)]
pub enum LegacyCsvError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Read(#[from] CsvReadError),
    #[error("{path}: the package has no '{column}' column")]
    MissingColumn { path: PathBuf, column: &'static str },
    #[error("{path}: line {line}: not a JSON object")]
    BadRecord { path: PathBuf, line: u64 },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> LegacyCsvError + '_ {
    move |source| LegacyCsvError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What was written, for the command's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyCsvSummary {
    pub output: PathBuf,
    pub skipped_log: PathBuf,
    pub users: u64,
    pub with_password: u64,
    pub skipped: u64,
    /// Skip reasons (legacy wording) with counts, in first-seen order.
    pub skip_reasons: Vec<(String, u64)>,
    /// `warnings.jsonl` codes of the package with counts (first-seen order):
    /// users exported without their password, and why.
    pub password_notes: Vec<(String, u64)>,
}

impl LegacyCsvSummary {
    pub fn without_password(&self) -> u64 {
        self.users - self.with_password
    }
}

fn tally(list: &mut Vec<(String, u64)>, key: &str) {
    match list.iter_mut().find(|(k, _)| k == key) {
        Some((_, n)) => *n += 1,
        None => list.push((key.to_string(), 1)),
    }
}

/// `users.csv` → `users-skipped.jsonl`: the first `.csv` of the file name
/// replaced, as the original; a name without `.csv` gets the suffix appended
/// (the original then wrote both streams into the same file).
pub fn skipped_log_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let log = match name.find(".csv") {
        Some(at) => format!("{}-skipped.jsonl{}", &name[..at], &name[at + 4..]),
        None => format!("{name}-skipped.jsonl"),
    };
    output.with_file_name(log)
}

/// The organization columns: each of org_id, org_external_id and org_name
/// that some row of the org mapping fills. (The original took them from the
/// mapping's first row only and dropped the other rows' values.)
fn org_columns(mappings: &UserMappings) -> Vec<&'static str> {
    ["org_id", "org_external_id", "org_name"]
        .into_iter()
        .zip(mappings.org_fields_used())
        .filter_map(|(name, used)| used.then_some(name))
        .collect()
}

/// The columns every legacy CSV has, in order (all from the package's
/// `users.csv`).
const BASE_COLUMNS: [&str; 8] = [
    "email",
    "first_name",
    "last_name",
    "email_verified",
    "external_id",
    "password_hash",
    "password_hash_type",
    "metadata",
];

/// Positions in [`BASE_COLUMNS`].
const EXTERNAL_ID: usize = 4;
const PASSWORD_HASH: usize = 5;

/// The output header for these mappings.
pub fn legacy_header(mappings: &UserMappings) -> Vec<&'static str> {
    let mut header = BASE_COLUMNS.to_vec();
    header.extend(org_columns(mappings));
    if mappings.has_roles() {
        header.push("role_slugs");
    }
    header
}

/// Where `path` is written until it is complete (`‹name›.partial`).
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Settles, between the run and its Ctrl-C handler, who decides the outcome.
/// The run creates and publishes its files while holding it and marks the
/// outcome settled once they are published; the handler removes unfinished
/// files while holding it and then exits the process, unless the outcome is
/// already settled. So an interrupt never leaves a file it missed, and never
/// undoes a published result.
#[derive(Debug, Clone, Default)]
pub struct OutcomeLock(Arc<Mutex<bool>>);

impl OutcomeLock {
    /// Waits for the lock; the value is whether the outcome is settled.
    pub fn hold(&self) -> MutexGuard<'_, bool> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the outcome settled (blocks for good while an interrupt is
    /// being handled: the handler exits the process).
    pub fn settle(&self) {
        *self.hold() = true;
    }
}

/// A file written under a temporary name and renamed when complete.
struct PendingFile {
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
}

impl PendingFile {
    fn create(path: &Path, outcome: &OutcomeLock) -> Result<Self, LegacyCsvError> {
        let tmp = partial_path(path);
        let file = {
            let _held = outcome.hold();
            create_private_file(&tmp).map_err(io_at(&tmp))?
        };
        Ok(Self {
            path: path.to_path_buf(),
            tmp,
            out: BufWriter::with_capacity(1 << 20, file),
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), LegacyCsvError> {
        self.out.write_all(bytes).map_err(io_at(&self.tmp))
    }

    /// Flushes and syncs the temporary file (removed if that fails);
    /// [`CompleteFile::publish`] renames it.
    fn complete(self) -> Result<CompleteFile, LegacyCsvError> {
        let synced = match self.out.into_inner() {
            Ok(file) => file.sync_all().map_err(io_at(&self.tmp)),
            Err(e) => Err(LegacyCsvError::Io {
                path: self.tmp.clone(),
                source: e.into_error(),
            }),
        };
        match synced {
            Ok(()) => Ok(CompleteFile {
                path: self.path,
                tmp: self.tmp,
            }),
            Err(e) => {
                let _ = fs::remove_file(&self.tmp);
                Err(e)
            }
        }
    }

    /// Removes the temporary file of an unfinished write.
    fn abandon(self) {
        drop(self.out);
        let _ = fs::remove_file(&self.tmp);
    }
}

/// A synced temporary file waiting for its rename.
struct CompleteFile {
    path: PathBuf,
    tmp: PathBuf,
}

impl CompleteFile {
    fn publish(&self) -> Result<(), LegacyCsvError> {
        fs::rename(&self.tmp, &self.path).map_err(io_at(&self.path))
    }
}

/// Writes the legacy CSV and skipped log for the package in `package` (a
/// finished export of `source`); `mappings` are the export's mapping files.
/// Both files are published together under `outcome`, which is then settled.
pub fn write_legacy_csv(
    package: &Path,
    source: LegacySource,
    mappings: &UserMappings,
    output: &Path,
    outcome: &OutcomeLock,
) -> Result<LegacyCsvSummary, LegacyCsvError> {
    let skipped_log = skipped_log_path(output);
    let mut summary = LegacyCsvSummary {
        output: output.to_path_buf(),
        skipped_log: skipped_log.clone(),
        ..LegacyCsvSummary::default()
    };
    let mut csv = PendingFile::create(output, outcome)?;
    let mut log = match PendingFile::create(&skipped_log, outcome) {
        Ok(log) => log,
        Err(e) => {
            csv.abandon();
            return Err(e);
        }
    };
    let written = write_users(package, mappings, &mut csv, &mut summary)
        .and_then(|()| write_skipped(package, source, &mut log, &mut summary))
        .and_then(|()| tally_password_notes(package, &mut summary));
    match written {
        Ok(()) => {
            let (csv, log) = match (csv.complete(), log.complete()) {
                (Ok(csv), Ok(log)) => (csv, log),
                (Err(e), other) | (other, Err(e)) => {
                    if let Ok(done) = other {
                        let _ = fs::remove_file(&done.tmp);
                    }
                    return Err(e);
                }
            };
            // Both or neither: a failed run leaves no output that looks done.
            let mut settled = outcome.hold();
            if let Err(e) = csv.publish() {
                let _ = fs::remove_file(&csv.tmp);
                let _ = fs::remove_file(&log.tmp);
                return Err(e);
            }
            if let Err(e) = log.publish() {
                let _ = fs::remove_file(&csv.path);
                let _ = fs::remove_file(&log.tmp);
                return Err(e);
            }
            *settled = true;
            Ok(summary)
        }
        Err(e) => {
            csv.abandon();
            log.abandon();
            Err(e)
        }
    }
}

/// `users.csv` of the package → the legacy rows.
fn write_users(
    package: &Path,
    mappings: &UserMappings,
    csv: &mut PendingFile,
    summary: &mut LegacyCsvSummary,
) -> Result<(), LegacyCsvError> {
    let users_csv = package.join("users.csv");
    let reader = CsvBatchReader::open(&users_csv, CsvReadOptions::default())?;
    let header = legacy_header(mappings);
    let org_cols = org_columns(mappings);
    let roles = mappings.has_roles();
    let column = |name: &'static str| {
        reader
            .column(name)
            .ok_or_else(|| LegacyCsvError::MissingColumn {
                path: users_csv.clone(),
                column: name,
            })
    };
    let from_package: Vec<usize> = BASE_COLUMNS
        .into_iter()
        .map(column)
        .collect::<Result<_, _>>()?;
    let role_col = column("role_slugs")?;
    let mut line = Vec::with_capacity(1 << 16);
    push_csv_record(&mut line, &header);
    csv.write(&line)?;
    for batch in reader {
        let batch = batch?;
        let cols: Vec<Option<&StringArray>> = batch
            .batch
            .columns()
            .iter()
            .map(|c| c.as_any().downcast_ref::<StringArray>())
            .collect();
        let cell = |c: usize, row: usize| -> &str {
            match cols.get(c).copied().flatten() {
                Some(a) if !a.is_null(row) => a.value(row),
                _ => "",
            }
        };
        line.clear();
        let mut fields: Vec<&str> = Vec::with_capacity(header.len());
        for row in 0..batch.num_rows() {
            fields.clear();
            fields.extend(from_package.iter().map(|&c| cell(c, row)));
            if !fields[PASSWORD_HASH].is_empty() {
                summary.with_password += 1;
            }
            // §13.3: a user whose entry has an org_id gets only the org_id.
            let entry = mappings.org(fields[EXTERNAL_ID]);
            let (org_id, ext, name) = match entry {
                Some(e) if e.org_id.is_some() => (e.org_id.as_deref(), None, None),
                Some(e) => (None, e.org_external_id.as_deref(), e.org_name.as_deref()),
                None => (None, None, None),
            };
            for col in &org_cols {
                fields.push(match *col {
                    "org_id" => org_id.unwrap_or_default(),
                    "org_external_id" => ext.unwrap_or_default(),
                    _ => name.unwrap_or_default(),
                });
            }
            if roles {
                fields.push(cell(role_col, row));
            }
            push_csv_record(&mut line, &fields);
            summary.users += 1;
        }
        csv.write(&line)?;
    }
    Ok(())
}

/// Reads a JSON-lines file of the package one record at a time.
fn for_each_record(
    path: &Path,
    mut visit: impl FnMut(&serde_json::Map<String, serde_json::Value>) -> Result<(), LegacyCsvError>,
) -> Result<(), LegacyCsvError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_at(path)(e)),
    };
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut text = String::new();
    let mut line = 0u64;
    loop {
        text.clear();
        if input.read_line(&mut text).map_err(io_at(path))? == 0 {
            return Ok(());
        }
        line += 1;
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(record)) => visit(&record)?,
            _ => {
                return Err(LegacyCsvError::BadRecord {
                    path: path.to_path_buf(),
                    line,
                })
            }
        }
    }
}

/// `skipped_users.jsonl` of the package → the legacy log records
/// `{‹user id›|"unknown", email|"unknown", reason}`.
fn write_skipped(
    package: &Path,
    source: LegacySource,
    log: &mut PendingFile,
    summary: &mut LegacyCsvSummary,
) -> Result<(), LegacyCsvError> {
    let key = source.user_key();
    let mut out = Vec::with_capacity(256);
    for_each_record(&package.join("skipped_users.jsonl"), |record| {
        let text = |k: &str| {
            record
                .get(k)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .unwrap_or("unknown")
        };
        let reason = source.legacy_reason(text("reason"));
        out.clear();
        push_record(
            &mut out,
            &[
                (key, text(key)),
                ("email", text("email")),
                ("reason", reason),
            ],
        );
        tally(&mut summary.skip_reasons, reason);
        summary.skipped += 1;
        log.write(&out)
    })
}

/// Counts the package's warnings by code (they are about passwords for the
/// file sources).
fn tally_password_notes(
    package: &Path,
    summary: &mut LegacyCsvSummary,
) -> Result<(), LegacyCsvError> {
    for_each_record(&package.join("warnings.jsonl"), |record| {
        if let Some(code) = record.get("code").and_then(|v| v.as_str()) {
            tally(&mut summary.password_notes, code);
        }
        Ok(())
    })
}

/// Where the intermediate package of a legacy run goes: beside the output,
/// hidden, unique to this process (removed when the run ends).
pub fn scratch_package_dir(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    output.with_file_name(format!(".{name}.package-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_log_sits_beside_the_output_and_never_on_it() {
        for (output, log) in [
            ("out/users.csv", "out/users-skipped.jsonl"),
            ("users.csv.bak", "users-skipped.jsonl.bak"),
            ("out.d/users", "out.d/users-skipped.jsonl"),
            ("a.csv.csv", "a-skipped.jsonl.csv"),
        ] {
            assert_eq!(skipped_log_path(Path::new(output)), PathBuf::from(log));
            assert_ne!(skipped_log_path(Path::new(output)), PathBuf::from(output));
        }
    }

    #[test]
    fn column_positions_name_their_columns() {
        assert_eq!(BASE_COLUMNS[EXTERNAL_ID], "external_id");
        assert_eq!(BASE_COLUMNS[PASSWORD_HASH], "password_hash");
    }

    #[test]
    fn reasons_use_the_legacy_wording() {
        assert_eq!(
            LegacySource::Clerk.legacy_reason("no_email"),
            "Missing primary_email_address"
        );
        assert_eq!(
            LegacySource::Firebase.legacy_reason("no_email"),
            "Missing email address"
        );
        assert_eq!(
            LegacySource::Firebase.legacy_reason("disabled_user"),
            "User is disabled"
        );
    }
}
