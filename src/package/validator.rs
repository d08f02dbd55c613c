//! `validate-package`: checks a migration package directory against the
//! package contract (export-and-package.md §2) and reports every problem as an
//! [`Issue`] with a stable code (§14.3).
//!
//! The checks run in the order of §2.2:
//! 1. read `manifest.json` (failure stops the run),
//! 2. manifest shape (every problem collected),
//! 3. if `files` is an object: file paths, required files, CSV headers and
//!    record counts.
//!
//! Differences from the original tool (deliberate fixes):
//! - a manifest that is JSON `null`/`false`/`0`/`""` is an `invalid_manifest`
//!   error instead of a silently valid package (§17.37);
//! - CSV headers are read with a real CSV parser, so a quoted header name that
//!   equals the canonical name passes (§17.31);
//! - files are streamed, never read whole; a directory where a file is expected
//!   is reported as `missing_file`;
//! - paths that are invalid or escape the package are reported but never
//!   opened.
//!
//! [`validate_package`] is the library entry point; [`run_validate_package`]
//! is the command with its exact terminal / `--json` output.

mod manifest;
mod output;
mod paths;
mod records;

use std::collections::HashSet;
use std::path::Path;

use serde_json::{Map, Value};

use crate::package::schema::{self, FileFormat, ENTITY_COUNT_KEYS, PACKAGE_FILES};

pub use output::run_validate_package;

/// Which checks to run (all on by default).
#[derive(Debug, Clone, Copy)]
pub struct ValidateOptions {
    /// Every canonical key listed in `manifest.files` must name an existing file.
    pub require_files: bool,
    /// Canonical CSVs must start with their exact canonical header.
    pub check_headers: bool,
    /// `entitiesExported` must match the records in each countable file.
    pub check_counts: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        Self {
            require_files: true,
            check_headers: true,
            check_counts: true,
        }
    }
}

/// Severity of an [`Issue`]; only errors make a package invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One validation finding.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Issue {
    pub severity: Severity,
    /// Stable machine-readable code (§14.3).
    pub code: &'static str,
    pub message: String,
    /// Package-relative path the issue is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Manifest field the issue is about (e.g. `entitiesExported.users`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Issue {
    pub(crate) fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            file: None,
            field: None,
        }
    }

    pub(crate) fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    pub(crate) fn with_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub(crate) fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Result of [`validate_package`].
#[derive(Debug, Clone)]
pub struct PackageReport {
    /// Every finding, in check order.
    pub issues: Vec<Issue>,
    /// The parsed manifest, whatever its shape; `None` when it could not be read.
    pub manifest: Option<Value>,
}

impl PackageReport {
    /// True when there is no error-severity issue.
    pub fn is_valid(&self) -> bool {
        !self.issues.iter().any(Issue::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Issue> {
        self.issues
            .iter()
            .filter(|i| i.severity == Severity::Warning)
    }

    /// The `--json` document: `{"valid","errors","warnings","manifest"?}`.
    pub fn to_json(&self) -> Value {
        let mut doc = Map::new();
        doc.insert("valid".into(), Value::Bool(self.is_valid()));
        let list = |it: &mut dyn Iterator<Item = &Issue>| {
            Value::Array(
                it.map(|i| serde_json::to_value(i).expect("issue serializes"))
                    .collect(),
            )
        };
        doc.insert("errors".into(), list(&mut self.errors()));
        doc.insert("warnings".into(), list(&mut self.warnings()));
        if let Some(m) = &self.manifest {
            doc.insert("manifest".into(), m.clone());
        }
        Value::Object(doc)
    }
}

/// Validates the package in `dir` (§2.2). Never panics on bad input; every
/// problem becomes an [`Issue`].
pub fn validate_package(dir: &Path, opts: ValidateOptions) -> PackageReport {
    let mut issues = Vec::new();

    // 1. Read the manifest; failure stops the run.
    let manifest = match manifest::read_manifest(&dir.join(schema::MANIFEST.path)) {
        Ok(m) => m,
        Err(issue) => {
            issues.push(issue);
            return PackageReport {
                issues,
                manifest: None,
            };
        }
    };

    // 2. Manifest shape.
    issues.extend(manifest::check_shape(&manifest));

    // 3. Steps 4-7 need `files` to be an object.
    if let Some(files) = manifest.get("files").and_then(Value::as_object) {
        // 4. File paths; only the safe string paths are used from here on.
        let (path_issues, usable) = paths::check_file_paths(files);
        issues.extend(path_issues);
        let path_of = |key: &str| usable.get(key).map(String::as_str);

        // 5. Required files.
        if opts.require_files {
            for file in &PACKAGE_FILES {
                let Some(rel) = path_of(file.key) else {
                    continue;
                };
                if let Some(issue) = records::check_is_file(&dir.join(rel), rel) {
                    issues.push(issue);
                }
            }
        }

        // Files already reported as unreadable are not read again.
        let mut unreadable: HashSet<&str> = HashSet::new();

        // 6. CSV headers.
        if opts.check_headers {
            for file in schema::csv_files() {
                let Some(rel) = path_of(file.key) else {
                    continue;
                };
                let full = dir.join(rel);
                if !records::is_file(&full) {
                    continue;
                }
                if let Some(issue) = records::check_csv_header(&full, rel, file.header) {
                    if issue.code == records::CSV_PARSE_FAILED {
                        unreadable.insert(file.key);
                    }
                    issues.push(issue);
                }
            }
        }

        // 7. Record counts.
        if opts.check_counts {
            let exported = manifest.get("entitiesExported").and_then(Value::as_object);
            for key in ENTITY_COUNT_KEYS {
                let Some(file) = schema::file_by_key(key).filter(|f| f.is_countable()) else {
                    continue;
                };
                let Some(rel) = path_of(file.key) else {
                    continue;
                };
                let full = dir.join(rel);
                if unreadable.contains(file.key) || !records::is_file(&full) {
                    continue;
                }
                let counted = match file.format {
                    FileFormat::Csv => records::count_csv_records(&full, rel),
                    _ => records::count_jsonl_records(&full, rel),
                };
                issues.extend(counted.issues);
                let Some(actual) = counted.count else {
                    continue;
                };
                // A key absent from the manifest (or a non-object
                // `entitiesExported`) means 0; an invalid count was already
                // reported as `invalid_entity_count` and is not compared.
                let expected = match exported.and_then(|m| m.get(key)) {
                    None => Some(Value::from(0u64)),
                    Some(v) => manifest::valid_count(v).then(|| v.clone()),
                };
                let Some(expected) = expected else { continue };
                if !manifest::count_equals(&expected, actual) {
                    issues.push(
                        Issue::error(
                            "entity_count_mismatch",
                            format!(
                                "manifest.entitiesExported.{key} is {}, but {rel} contains {actual} records",
                                manifest::js_string(Some(&expected))
                            ),
                        )
                        .with_field(format!("entitiesExported.{key}"))
                        .with_file(rel),
                    );
                }
            }
        }
    }

    PackageReport {
        issues,
        manifest: Some(manifest),
    }
}
