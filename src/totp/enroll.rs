//! Enrolling TOTP factors (import.md §5.2): for each record, find the user
//! by email, skip them when they already have a TOTP factor
//! (`GET /user_management/users/{id}/auth_factors`, so a re-run enrolls
//! nothing twice), else `POST /user_management/users/{id}/auth_factors`.
//!
//! The input is streamed and records run `concurrency` at a time (records
//! of one email one after another) through the one shared client (which also paces them with `--rate-limit` and
//! retries 408/429/5xx). Error records go to the errors file as they happen
//! (JSON lines, key order `recordNumber, email, errorType, errorMessage,
//! timestamp, httpStatus`, plus `line`), or stay in memory when no path is
//! given. A dry run (no client) reads and checks every record and makes no
//! request. Secrets are never written anywhere but the request body; a
//! message the API echoes is redacted.

use std::collections::HashMap;
use std::fs::File;
use std::future::Future;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;

use super::input::{InputFormat, InputItem, TotpInput, TotpRecord};
use super::TotpError;
use crate::workos::{EnrollTotp, WorkOsClient, WorkOsError};

/// Options of a TOTP run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpOptions {
    /// Records in progress at once (≥ 1).
    pub concurrency: usize,
    /// `--totp-issuer`: replaces every record's issuer.
    pub issuer: Option<String>,
}

impl Default for TotpOptions {
    fn default() -> Self {
        Self {
            concurrency: 5,
            issuer: None,
        }
    }
}

/// `errorType` of an error record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TotpErrorType {
    /// The user could not be found (or the lookup failed).
    UserLookup,
    /// Listing factors or enrolling failed.
    EnrollFactor,
    /// The record itself is unusable (bad secret, invalid JSON, ragged row).
    Parse,
}

/// One line of the errors file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TotpErrorRecord {
    /// 1-based among the records counted in `total`.
    pub record_number: u64,
    pub email: String,
    pub error_type: TotpErrorType,
    pub error_message: String,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Line of the input the record starts on.
    pub line: u64,
}

/// Totals of a TOTP run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TotpReport {
    pub dry_run: bool,
    /// Records read (usable or invalid): `enrolled + skipped + failures`.
    pub total: u64,
    /// Enrolled (dry run: would be enrolled).
    pub enrolled: u64,
    /// Already had a TOTP factor.
    pub skipped: u64,
    /// Failed records, including users not found and invalid records.
    pub failures: u64,
    pub user_not_found: u64,
    /// Of `failures`: records rejected before any request.
    pub invalid: u64,
    /// Rows without an email or a secret (not in `total`).
    pub ignored: u64,
    pub duration_ms: u64,
    /// Error records, when no errors file was given.
    pub errors: Vec<TotpErrorRecord>,
}

/// Where error records go.
enum ErrorSink {
    File { path: PathBuf, out: BufWriter<File> },
    Memory,
}

impl ErrorSink {
    fn open(path: Option<&Path>) -> Result<Self, TotpError> {
        match path {
            None => Ok(Self::Memory),
            Some(p) => {
                let file = crate::package::writer::create_private_file(p).map_err(|source| {
                    TotpError::ErrorsFile {
                        path: p.to_path_buf(),
                        source,
                    }
                })?;
                Ok(Self::File {
                    path: p.to_path_buf(),
                    out: BufWriter::new(file),
                })
            }
        }
    }

    fn write(&mut self, report: &mut TotpReport, record: TotpErrorRecord) -> Result<(), TotpError> {
        match self {
            Self::Memory => {
                report.errors.push(record);
                Ok(())
            }
            Self::File { path, out } => {
                let mut line = serde_json::to_vec(&record).map_err(|e| TotpError::ErrorsFile {
                    path: path.clone(),
                    source: std::io::Error::other(e),
                })?;
                line.push(b'\n');
                out.write_all(&line)
                    .map_err(|source| TotpError::ErrorsFile {
                        path: path.clone(),
                        source,
                    })
            }
        }
    }

    fn finish(&mut self) -> Result<(), TotpError> {
        match self {
            Self::Memory => Ok(()),
            Self::File { path, out } => out.flush().map_err(|source| TotpError::ErrorsFile {
                path: path.clone(),
                source,
            }),
        }
    }
}

/// What happened to one record.
enum Outcome {
    Ignored,
    Enrolled,
    Skipped,
    /// `user_not_found` is set for a lookup that found nobody.
    Failed {
        record: TotpErrorRecord,
        user_not_found: bool,
        invalid: bool,
    },
    Fatal(TotpError),
}

/// Reads `path` as `format` and enrolls every record. `client: None` is a
/// dry run. `errors_path`: the errors file (created or truncated, mode
/// 0600), or `None` to return the error records in the report.
pub async fn enroll_totp_file(
    client: Option<&WorkOsClient>,
    path: &Path,
    format: InputFormat,
    errors_path: Option<&Path>,
    options: &TotpOptions,
) -> Result<TotpReport, TotpError> {
    let started = Instant::now();
    let input = TotpInput::open(path, format)?;
    let mut sink = ErrorSink::open(errors_path)?;
    let mut report = TotpReport {
        dry_run: client.is_none(),
        ..Default::default()
    };
    let issuer = options
        .issuer
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let mut record_number = 0u64;
    let turns = &EmailTurns::default();
    let mut outcomes = futures::stream::iter(input)
        .map(|item| {
            let number = match &item {
                Ok(InputItem::Record(_) | InputItem::Invalid { .. }) => {
                    record_number += 1;
                    record_number
                }
                _ => 0,
            };
            async move {
                match item {
                    Err(e) => Outcome::Fatal(e),
                    Ok(InputItem::Ignored) => Outcome::Ignored,
                    Ok(InputItem::Invalid {
                        line,
                        email,
                        message,
                    }) => Outcome::Failed {
                        record: error_record(
                            number,
                            email.unwrap_or_default(),
                            line,
                            TotpErrorType::Parse,
                            message,
                            None,
                        ),
                        user_not_found: false,
                        invalid: true,
                    },
                    Ok(InputItem::Record(record)) => match client {
                        None => Outcome::Enrolled,
                        Some(client) => {
                            let email = record.email.to_lowercase();
                            turns
                                .take(&email, enroll_one(client, record, number, issuer))
                                .await
                        }
                    },
                }
            }
        })
        .buffer_unordered(options.concurrency.max(1));
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Outcome::Ignored => report.ignored += 1,
            Outcome::Enrolled => {
                report.total += 1;
                report.enrolled += 1;
            }
            Outcome::Skipped => {
                report.total += 1;
                report.skipped += 1;
            }
            Outcome::Failed {
                record,
                user_not_found,
                invalid,
            } => {
                report.total += 1;
                report.failures += 1;
                report.user_not_found += u64::from(user_not_found);
                report.invalid += u64::from(invalid);
                sink.write(&mut report, record)?;
            }
            Outcome::Fatal(e) => {
                sink.finish()?;
                return Err(e);
            }
        }
    }
    sink.finish()?;
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// One enrollment at a time per email: a file that names a user twice
/// would otherwise check "has no TOTP factor yet" twice at once and enroll
/// two factors. The second record waits, then finds the first one's factor
/// and is skipped. Only emails in progress are held (at most `concurrency`).
#[derive(Default)]
struct EmailTurns {
    held: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl EmailTurns {
    async fn take<F: Future>(&self, email: &str, work: F) -> F::Output {
        let turn = {
            let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(held.entry(email.to_string()).or_default())
        };
        let out = {
            let _mine = turn.lock().await;
            work.await
        };
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        // The map's reference and ours: nobody else is waiting.
        if held.get(email).is_some_and(|t| Arc::strong_count(t) == 2) {
            held.remove(email);
        }
        out
    }
}

async fn enroll_one(
    client: &WorkOsClient,
    record: TotpRecord,
    number: u64,
    issuer: Option<&str>,
) -> Outcome {
    let fail = |error_type, message: String, status, user_not_found| Outcome::Failed {
        record: error_record(
            number,
            record.email.clone(),
            record.line,
            error_type,
            record.secret.redact(&message),
            status,
        ),
        user_not_found,
        invalid: false,
    };
    let user = match client.find_user_by_email(&record.email).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return fail(
                TotpErrorType::UserLookup,
                format!("No WorkOS user found for email: {}", record.email),
                None,
                true,
            )
        }
        Err(e) if is_unauthorized(&e) => return Outcome::Fatal(TotpError::WorkOs(e)),
        Err(e) => return fail(TotpErrorType::UserLookup, e.to_string(), e.status(), false),
    };
    match client.list_auth_factors(&user.id).await {
        Ok(factors)
            if factors
                .iter()
                .any(|f| f.factor_type.eq_ignore_ascii_case("totp")) =>
        {
            return Outcome::Skipped
        }
        Ok(_) => {}
        Err(e) if is_unauthorized(&e) => return Outcome::Fatal(TotpError::WorkOs(e)),
        Err(e) => {
            return fail(
                TotpErrorType::EnrollFactor,
                format!("Listing auth factors failed: {e}"),
                e.status(),
                false,
            )
        }
    }
    let body = EnrollTotp {
        factor_type: "totp".to_string(),
        totp_issuer: issuer.map(str::to_string).or_else(|| record.issuer.clone()),
        totp_user: record.user.clone(),
        totp_secret: record.secret.expose().to_string(),
    };
    match client.enroll_totp(&user.id, &body).await {
        Ok(_) => Outcome::Enrolled,
        Err(e) if is_already_enrolled(&e) => Outcome::Skipped,
        Err(e) if is_unauthorized(&e) => Outcome::Fatal(TotpError::WorkOs(e)),
        Err(e) => fail(
            TotpErrorType::EnrollFactor,
            e.to_string(),
            e.status(),
            false,
        ),
    }
}

fn error_record(
    record_number: u64,
    email: String,
    line: u64,
    error_type: TotpErrorType,
    error_message: String,
    http_status: Option<u16>,
) -> TotpErrorRecord {
    TotpErrorRecord {
        record_number,
        email,
        error_type,
        error_message,
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        http_status,
        line,
    }
}

fn is_unauthorized(e: &WorkOsError) -> bool {
    e.status() == Some(401) || matches!(e, WorkOsError::MissingApiKey)
}

/// The original's "already enrolled" rule,
/// `/already.?enrolled|factor.?already.?exists|duplicate/i`, plus HTTP 409.
pub fn is_already_enrolled(e: &WorkOsError) -> bool {
    if e.status() == Some(409) {
        return true;
    }
    let WorkOsError::Api(api) = e else {
        return false;
    };
    already_enrolled_message(&api.message)
}

/// The message half of [`is_already_enrolled`].
pub fn already_enrolled_message(message: &str) -> bool {
    let m = message.to_lowercase();
    m.contains("duplicate")
        || gapped(&m, &["already", "enrolled"])
        || gapped(&m, &["factor", "already", "exists"])
}

/// `parts` in order, each separated by at most one character (regex `.?`).
fn gapped(hay: &str, parts: &[&str]) -> bool {
    fn rest_matches(rest: &str, parts: &[&str]) -> bool {
        let Some((first, tail)) = parts.split_first() else {
            return true;
        };
        if let Some(after) = rest.strip_prefix(first) {
            if rest_matches(after, tail) {
                return true;
            }
        }
        let mut chars = rest.chars();
        if chars.next().is_some() {
            if let Some(after) = chars.as_str().strip_prefix(first) {
                return rest_matches(after, tail);
            }
        }
        false
    }
    let Some((first, tail)) = parts.split_first() else {
        return true;
    };
    hay.match_indices(first)
        .any(|(i, _)| rest_matches(&hay[i + first.len()..], tail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn already_enrolled_rule() {
        assert!(already_enrolled_message("TOTP factor already enrolled"));
        assert!(already_enrolled_message("already-enrolled"));
        assert!(already_enrolled_message("Factor already exists"));
        assert!(already_enrolled_message("factor_already_exists"));
        assert!(already_enrolled_message("Duplicate factor"));
        assert!(!already_enrolled_message("Internal server error"));
        assert!(!already_enrolled_message("already not enrolled"));
    }

    #[tokio::test]
    async fn dry_run_counts_and_writes_invalid_records() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("t.csv");
        std::fs::File::create(&input)
            .unwrap()
            .write_all(
                b"email,totp_secret\na@x.com,JBSWY3DPEHPK3PXP\nb@x.com,NOT-BASE32!\nc@x.com,\n",
            )
            .unwrap();
        let errors = dir.path().join("errors.jsonl");
        let r = enroll_totp_file(
            None,
            &input,
            InputFormat::Csv,
            Some(&errors),
            &TotpOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            (r.total, r.enrolled, r.failures, r.invalid, r.ignored),
            (2, 1, 1, 1, 1)
        );
        let text = std::fs::read_to_string(&errors).unwrap();
        assert!(
            text.starts_with("{\"recordNumber\":2,\"email\":\"b@x.com\",\"errorType\":\"parse\"")
        );
        assert!(!text.contains("NOT-BASE32"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&errors).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let r = enroll_totp_file(
            None,
            &input,
            InputFormat::Csv,
            None,
            &TotpOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].error_type, TotpErrorType::Parse);
    }
}
