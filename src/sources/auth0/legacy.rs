//! The deprecated single-CSV output of `export-auth0` without `--package`
//! (export-and-package.md §13.1): one import CSV (`email,first_name,
//! last_name,email_verified,external_id,org_external_id,org_name,metadata`)
//! and a skipped-users log beside it.
//!
//! It is made from a finished package of `export auth0` (organizations or
//! metadata mode, users/organizations/memberships only), so the Management
//! API is read exactly as there: checkpoint pagination of every member,
//! metadata mode past Auth0's 1,000-user listing cap through an export job,
//! and both files are streamed record by record from the package. Each row
//! then gets the legacy per-row check (`validateMappedRow`); a failing row
//! becomes a `validation_failed` record of the log. Decisions
//! (docs/decisions.md): the skipped log never shares the output's path; both
//! files are written under a temporary name, mode 0600, and renamed together
//! when complete.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::{Array, StringArray};
use serde_json::{Map, Value};

use super::mapping::{legacy_skipped_user, validate_legacy_row, MappedUser, LEGACY_HEADER};
use crate::package::csv_reader::{CsvBatchReader, CsvReadError, CsvReadOptions};
use crate::package::csv_writer::push_record as push_csv_record;
use crate::package::writer::create_private_file;
use crate::sources::legacy_csv::{partial_path, skipped_log_path, OutcomeLock};

/// The package `users.csv` columns a legacy row is made of, in
/// [`LEGACY_HEADER`] order.
const FROM_USERS_CSV: [&str; 8] = LEGACY_HEADER;

/// Positions in [`FROM_USERS_CSV`].
const EMAIL: usize = 0;
const FIRST_NAME: usize = 1;
const LAST_NAME: usize = 2;
const EMAIL_VERIFIED: usize = 3;
const EXTERNAL_ID: usize = 4;
const ORG_EXTERNAL_ID: usize = 5;
const ORG_NAME: usize = 6;
const METADATA: usize = 7;

/// Errors writing the legacy output.
#[derive(Debug, thiserror::Error)]
pub enum Auth0LegacyError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Read(#[from] CsvReadError),
    #[error("{path}: the package has no '{column}' column")]
    MissingColumn { path: PathBuf, column: &'static str },
    #[error("{path}: line {line}: not a JSON object")]
    BadRecord { path: PathBuf, line: u64 },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> Auth0LegacyError + '_ {
    move |source| Auth0LegacyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An organization whose members could not be listed (the package's
/// `org_export_failed` warning); printed as `  ‹org›: FAILED — ‹message›`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedOrg {
    pub org_name: String,
    pub message: String,
}

/// What was written, for the command's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth0LegacySummary {
    pub output: PathBuf,
    pub skipped_log: PathBuf,
    /// Rows written to the CSV (one per user and organization).
    pub users: u64,
    /// Organizations exported (after `--orgs`).
    pub orgs: u64,
    pub skipped: u64,
    /// Skip reasons with counts, in first-seen order.
    pub skip_reasons: Vec<(String, u64)>,
    pub failed_orgs: Vec<FailedOrg>,
}

fn tally(list: &mut Vec<(String, u64)>, key: &str) {
    match list.iter_mut().find(|(k, _)| k == key) {
        Some((_, n)) => *n += 1,
        None => list.push((key.to_string(), 1)),
    }
}

/// A file written under a temporary name and renamed when complete.
struct PendingFile {
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
}

impl PendingFile {
    fn create(path: &Path, outcome: &OutcomeLock) -> Result<Self, Auth0LegacyError> {
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

    fn write(&mut self, bytes: &[u8]) -> Result<(), Auth0LegacyError> {
        self.out.write_all(bytes).map_err(io_at(&self.tmp))
    }

    /// Flushes and syncs; the temporary file is removed when that fails.
    fn complete(self) -> Result<(PathBuf, PathBuf), Auth0LegacyError> {
        let synced = match self.out.into_inner() {
            Ok(file) => file.sync_all().map_err(io_at(&self.tmp)),
            Err(e) => Err(Auth0LegacyError::Io {
                path: self.tmp.clone(),
                source: e.into_error(),
            }),
        };
        match synced {
            Ok(()) => Ok((self.tmp, self.path)),
            Err(e) => {
                let _ = fs::remove_file(&self.tmp);
                Err(e)
            }
        }
    }

    fn abandon(self) {
        drop(self.out);
        let _ = fs::remove_file(&self.tmp);
    }
}

/// Writes the legacy CSV and skipped log for the finished `export auth0`
/// package in `package`. Both files are published together under
/// `outcome`, which is then settled.
pub fn write_auth0_legacy_csv(
    package: &Path,
    output: &Path,
    outcome: &OutcomeLock,
) -> Result<Auth0LegacySummary, Auth0LegacyError> {
    let skipped_log = skipped_log_path(output);
    let mut summary = Auth0LegacySummary {
        output: output.to_path_buf(),
        skipped_log: skipped_log.clone(),
        ..Auth0LegacySummary::default()
    };
    let mut csv = PendingFile::create(output, outcome)?;
    let mut log = match PendingFile::create(&skipped_log, outcome) {
        Ok(log) => log,
        Err(e) => {
            csv.abandon();
            return Err(e);
        }
    };
    let written = copy_skipped(package, &mut log, &mut summary)
        .and_then(|()| write_users(package, &mut csv, &mut log, &mut summary))
        .and_then(|()| count_orgs(package, &mut summary))
        .and_then(|()| failed_orgs(package, &mut summary));
    if let Err(e) = written {
        csv.abandon();
        log.abandon();
        return Err(e);
    }
    let (csv, log) = match (csv.complete(), log.complete()) {
        (Ok(csv), Ok(log)) => (csv, log),
        (Err(e), other) | (other, Err(e)) => {
            if let Ok((tmp, _)) = other {
                let _ = fs::remove_file(tmp);
            }
            return Err(e);
        }
    };
    // Both or neither: a failed run leaves no output that looks done.
    let mut settled = outcome.hold();
    if let Err(e) = fs::rename(&csv.0, &csv.1) {
        let _ = fs::remove_file(&csv.0);
        let _ = fs::remove_file(&log.0);
        return Err(io_at(&csv.1)(e));
    }
    if let Err(e) = fs::rename(&log.0, &log.1) {
        let _ = fs::remove_file(&csv.1);
        let _ = fs::remove_file(&log.0);
        return Err(io_at(&log.1)(e));
    }
    *settled = true;
    Ok(summary)
}

/// `users.csv` of the package → legacy rows; rows failing the legacy check
/// → `validation_failed` records.
fn write_users(
    package: &Path,
    csv: &mut PendingFile,
    log: &mut PendingFile,
    summary: &mut Auth0LegacySummary,
) -> Result<(), Auth0LegacyError> {
    let users_csv = package.join("users.csv");
    let reader = CsvBatchReader::open(&users_csv, CsvReadOptions::default())?;
    let columns: Vec<usize> = FROM_USERS_CSV
        .into_iter()
        .map(|name| {
            reader
                .column(name)
                .ok_or_else(|| Auth0LegacyError::MissingColumn {
                    path: users_csv.clone(),
                    column: name,
                })
        })
        .collect::<Result<_, _>>()?;
    let mut line = Vec::with_capacity(1 << 16);
    let mut record = Vec::with_capacity(512);
    push_csv_record(&mut line, &LEGACY_HEADER);
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
        for row in 0..batch.num_rows() {
            let fields: Vec<&str> = columns.iter().map(|&c| cell(c, row)).collect();
            let user = MappedUser {
                email: fields[EMAIL].to_string(),
                first_name: fields[FIRST_NAME].to_string(),
                last_name: fields[LAST_NAME].to_string(),
                email_verified: fields[EMAIL_VERIFIED].to_string(),
                external_id: fields[EXTERNAL_ID].to_string(),
                metadata: fields[METADATA].to_string(),
                blocked: false,
            };
            match validate_legacy_row(&user) {
                None => {
                    push_csv_record(&mut line, &fields);
                    summary.users += 1;
                }
                Some(error) => {
                    let known = |i: usize| Some(fields[i]).filter(|v| !v.is_empty());
                    let rec = legacy_skipped_user(
                        known(EXTERNAL_ID),
                        known(EMAIL),
                        known(ORG_EXTERNAL_ID),
                        known(ORG_NAME),
                        "validation_failed",
                        Some(&error),
                    );
                    record.clear();
                    serde_json::to_writer(&mut record, &rec.into_value())
                        .map_err(|e| io_at(&log.tmp)(io::Error::other(e)))?;
                    record.push(b'\n');
                    log.write(&record)?;
                    tally(&mut summary.skip_reasons, "validation_failed");
                    summary.skipped += 1;
                }
            }
        }
        csv.write(&line)?;
    }
    Ok(())
}

/// Reads a JSON-lines file of the package one record at a time (a missing
/// file has no records); `visit` gets the record and its line as read.
fn for_each_record(
    path: &Path,
    mut visit: impl FnMut(&Map<String, Value>, &str) -> Result<(), Auth0LegacyError>,
) -> Result<(), Auth0LegacyError> {
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
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(record)) => visit(&record, text.trim_end())?,
            _ => {
                return Err(Auth0LegacyError::BadRecord {
                    path: path.to_path_buf(),
                    line,
                })
            }
        }
    }
}

/// `skipped_users.jsonl` of the package → the log verbatim (the package's
/// records already have the legacy shape `{timestamp, user_id, email,
/// org_id, org_name, reason, error?}`).
fn copy_skipped(
    package: &Path,
    log: &mut PendingFile,
    summary: &mut Auth0LegacySummary,
) -> Result<(), Auth0LegacyError> {
    for_each_record(&package.join("skipped_users.jsonl"), |record, text| {
        let reason = record
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        tally(&mut summary.skip_reasons, reason);
        summary.skipped += 1;
        log.write(text.as_bytes())?;
        log.write(b"\n")
    })
}

/// Organizations exported: the data rows of the package's
/// `organizations.csv`.
fn count_orgs(package: &Path, summary: &mut Auth0LegacySummary) -> Result<(), Auth0LegacyError> {
    let reader = CsvBatchReader::open(
        &package.join("organizations.csv"),
        CsvReadOptions::default(),
    )?;
    for batch in reader {
        summary.orgs += batch?.num_rows() as u64;
    }
    Ok(())
}

/// The package's `org_export_failed` warnings.
fn failed_orgs(package: &Path, summary: &mut Auth0LegacySummary) -> Result<(), Auth0LegacyError> {
    for_each_record(&package.join("warnings.jsonl"), |record, _| {
        let text = |k: &str| {
            record
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        if text("code") == "org_export_failed" {
            summary.failed_orgs.push(FailedOrg {
                org_name: text("org_name"),
                message: text("message"),
            });
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_positions_name_their_columns() {
        assert_eq!(FROM_USERS_CSV[EMAIL], "email");
        assert_eq!(FROM_USERS_CSV[FIRST_NAME], "first_name");
        assert_eq!(FROM_USERS_CSV[LAST_NAME], "last_name");
        assert_eq!(FROM_USERS_CSV[EMAIL_VERIFIED], "email_verified");
        assert_eq!(FROM_USERS_CSV[EXTERNAL_ID], "external_id");
        assert_eq!(FROM_USERS_CSV[ORG_EXTERNAL_ID], "org_external_id");
        assert_eq!(FROM_USERS_CSV[ORG_NAME], "org_name");
        assert_eq!(FROM_USERS_CSV[METADATA], "metadata");
    }

    #[test]
    fn the_hand_quoted_header_and_cells() {
        let mut out = Vec::new();
        push_csv_record(&mut out, &LEGACY_HEADER);
        push_csv_record(&mut out, &["a,b", "q\"", "x\ry", "", "plain", "", "", "{}"]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "email,first_name,last_name,email_verified,external_id,org_external_id,org_name,metadata\n\
             \"a,b\",\"q\"\"\",\"x\ry\",,plain,,,{}\n"
        );
    }
}
