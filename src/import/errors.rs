//! `errors.jsonl`: one compact JSON object per failed row (import.md §2.11),
//! in completion order. Owns the record type, its field names and key order,
//! how a [`WorkOsError`] becomes a record (status, `code`, `X-Request-ID`,
//! `errors[]`), redaction of secrets, and the file writer (mode 0600).
//!
//! Key order (one order for every case): `recordNumber, email, userId?,
//! errorType, errorMessage, timestamp, httpStatus?, workosCode?,
//! workosRequestId?, workosErrors?, orgId?, orgExternalId?` — the original's
//! streaming order with the request id (which it never captured) added.
//! A record never holds a password, password hash or API key: messages and
//! `workosErrors` are scrubbed of the row's secrets before they are kept.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::workos::WorkOsError;

/// What an error record is about (`errorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    UserCreate,
    /// `PUT` of an existing user (import-package update path).
    UserUpdate,
    MembershipCreate,
    OrgResolution,
    RoleAssignment,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreate => "user_create",
            Self::UserUpdate => "user_update",
            Self::MembershipCreate => "membership_create",
            Self::OrgResolution => "org_resolution",
            Self::RoleAssignment => "role_assignment",
        }
    }
}

/// One line of `errors.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorRecord {
    pub record_number: u64,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub error_type: ErrorType,
    pub error_message: String,
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workos_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workos_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workos_errors: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_external_id: Option<String>,
}

impl ErrorRecord {
    /// A record with only the message (row-build errors and the importer's
    /// own messages).
    pub fn new(
        record_number: u64,
        email: &str,
        error_type: ErrorType,
        message: impl Into<String>,
    ) -> Self {
        Self {
            record_number,
            email: email.to_string(),
            user_id: None,
            error_type,
            error_message: message.into(),
            timestamp: now_timestamp(),
            http_status: None,
            workos_code: None,
            workos_request_id: None,
            workos_errors: None,
            org_id: None,
            org_external_id: None,
        }
    }

    /// A record from a failed WorkOS call: message, status, code, request id
    /// and (when present) `errors[]`.
    pub fn from_api(
        record_number: u64,
        email: &str,
        error_type: ErrorType,
        error: &WorkOsError,
    ) -> Self {
        let mut r = Self::new(record_number, email, error_type, error.to_string());
        r.http_status = error.status();
        r.workos_code = error.code().map(str::to_string);
        r.workos_request_id = error.request_id().map(str::to_string);
        let errors = error.errors();
        if !errors.is_empty() {
            r.workos_errors = Some(errors.to_vec());
        }
        r
    }

    /// Replaces every occurrence of each secret (of 4+ characters) in the
    /// message and `workosErrors` with `[REDACTED]`.
    pub fn redact(&mut self, secrets: &[&str]) {
        let secrets: Vec<&str> = secrets
            .iter()
            .copied()
            .filter(|s| s.chars().count() >= 4)
            .collect();
        if secrets.is_empty() {
            return;
        }
        self.error_message = scrub(&self.error_message, &secrets);
        if let Some(errors) = &mut self.workos_errors {
            for e in errors.iter_mut() {
                scrub_value(e, &secrets);
            }
        }
    }

    /// The compact JSON line (no newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            // Serializing plain strings and numbers cannot fail; keep a line
            // anyway so a row is never silently lost.
            format!(
                "{{\"recordNumber\":{},\"errorType\":\"{}\",\"errorMessage\":\"unserializable error record: {}\"}}",
                self.record_number,
                self.error_type.as_str(),
                e
            )
        })
    }
}

fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s) {
            out = out.replace(s, "[REDACTED]");
        }
    }
    out
}

fn scrub_value(v: &mut Value, secrets: &[&str]) {
    match v {
        Value::String(s) => *s = scrub(s, secrets),
        Value::Array(items) => items.iter_mut().for_each(|i| scrub_value(i, secrets)),
        Value::Object(map) => map.values_mut().for_each(|i| scrub_value(i, secrets)),
        _ => {}
    }
}

/// ISO-8601 UTC with milliseconds, like JavaScript's `toISOString()`.
pub fn now_timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Errors of the errors file itself.
#[derive(Debug, thiserror::Error)]
pub enum ErrorsFileError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Appends records to an `errors.jsonl` file.
pub struct ErrorsWriter {
    path: PathBuf,
    out: BufWriter<File>,
    written: u64,
}

impl ErrorsWriter {
    /// Creates (truncating) or, with `append`, opens the file; mode 0600.
    pub fn open(path: &Path, append: bool) -> Result<Self, ErrorsFileError> {
        let io_err = |source| ErrorsFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io_err)?;
        }
        let mut options = OpenOptions::new();
        options.create(true);
        if append {
            options.append(true);
        } else {
            options.write(true).truncate(true);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(io_err)?;
        restrict_permissions(path).map_err(io_err)?;
        Ok(Self {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            written: 0,
        })
    }

    pub fn write(&mut self, record: &ErrorRecord) -> Result<(), ErrorsFileError> {
        self.write_line(&record.to_json_line())
    }

    /// Writes one already-serialized record.
    pub fn write_line(&mut self, line: &str) -> Result<(), ErrorsFileError> {
        self.out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|source| ErrorsFileError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.written += 1;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), ErrorsFileError> {
        self.out.flush().map_err(|source| ErrorsFileError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Records written through this writer.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Sets mode 0600 on an existing file (no-op off Unix).
pub fn restrict_permissions(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workos::ApiError;

    #[test]
    fn key_order_and_omitted_fields() {
        let mut r = ErrorRecord::new(
            3,
            "a@x.com",
            ErrorType::UserCreate,
            "Missing required email",
        );
        r.timestamp = "2024-01-01T00:00:00.000Z".into();
        assert_eq!(
            r.to_json_line(),
            r#"{"recordNumber":3,"email":"a@x.com","errorType":"user_create","errorMessage":"Missing required email","timestamp":"2024-01-01T00:00:00.000Z"}"#
        );
        let e = WorkOsError::Api(ApiError::from_response(
            400,
            "/user_management/users",
            Some("req_9".into()),
            None,
            br#"{"code":"some_code","message":"Some 400","errors":[{"code":"e1","message":"m1"}]}"#,
        ));
        let mut r = ErrorRecord::from_api(2, "b@x.com", ErrorType::MembershipCreate, &e);
        r.user_id = Some("user_1".into());
        r.timestamp = "T".into();
        assert_eq!(
            r.to_json_line(),
            r#"{"recordNumber":2,"email":"b@x.com","userId":"user_1","errorType":"membership_create","errorMessage":"Some 400","timestamp":"T","httpStatus":400,"workosCode":"some_code","workosRequestId":"req_9","workosErrors":[{"code":"e1","message":"m1"}]}"#
        );
        let back: ErrorRecord = serde_json::from_str(&r.to_json_line()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn secrets_are_redacted() {
        let e = WorkOsError::Api(ApiError::from_response(
            400,
            "/user_management/users",
            None,
            None,
            br#"{"code":"invalid_password_hash","message":"hash $2b$10$secret is bad","errors":[{"code":"x","message":"$2b$10$secret"}]}"#,
        ));
        let mut r = ErrorRecord::from_api(1, "a@x.com", ErrorType::UserCreate, &e);
        r.redact(&["$2b$10$secret", "abc"]);
        let line = r.to_json_line();
        assert!(!line.contains("$2b$10$secret"), "{line}");
        assert!(line.contains("[REDACTED]"));
    }

    #[test]
    fn timestamp_shape() {
        let t = now_timestamp();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.ends_with('Z'));
    }
}
