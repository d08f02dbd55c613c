//! The import plan of a package (import.md §7.2): the package validation
//! (required files not enforced, counts not checked), which canonical CSVs
//! have data rows, the manifest's counts, and the `--plan` printout.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ImportPackageError;
use crate::package::csv_reader::{CsvBatchReader, CsvReadError, CsvReadOptions, RaggedRows};
use crate::package::schema::{self, PackageFile};
use crate::package::validator::{validate_package, Issue, ValidateOptions};

/// What a package holds, before anything is imported.
#[derive(Debug, Clone)]
pub struct ImportPackagePlan {
    /// Absolute package directory.
    pub package_dir: PathBuf,
    pub manifest_provider: String,
    /// `metadata.workosMigrate.packageKind` (`delta`, `repair`), if any.
    pub package_kind: Option<String>,
    /// `metadata.workosMigrate.updateExisting` is `true`.
    pub update_existing: bool,
    pub has_users_csv: bool,
    pub has_organizations_csv: bool,
    pub has_memberships_csv: bool,
    pub has_role_definitions_csv: bool,
    pub has_role_assignments_csv: bool,
    pub has_totp_csv: bool,
    /// SAML or OIDC connections CSV has rows.
    pub has_sso: bool,
    /// `manifest.entitiesExported` verbatim (an empty object when absent).
    pub expected_counts: Map<String, Value>,
    pub validation_errors: Vec<Issue>,
    pub validation_warnings: Vec<Issue>,
}

impl ImportPackagePlan {
    /// A manifest count as a number (0 when absent or not a count).
    pub fn expected(&self, key: &str) -> u64 {
        self.expected_counts
            .get(key)
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    /// Path of a canonical package file.
    pub fn file(&self, file: &PackageFile) -> PathBuf {
        self.package_dir.join(file.path)
    }

    /// The `plan` object of the summary JSON (§7.4 key order).
    pub fn to_json(&self) -> Value {
        let issues = |list: &[Issue]| {
            Value::Array(
                list.iter()
                    .map(|i| serde_json::to_value(i).unwrap_or(Value::Null))
                    .collect(),
            )
        };
        let mut m = Map::new();
        m.insert("packageDir".into(), path_value(&self.package_dir));
        m.insert(
            "manifestProvider".into(),
            Value::String(self.manifest_provider.clone()),
        );
        // Only for delta/repair packages: the original's plan has neither key.
        if let Some(kind) = &self.package_kind {
            m.insert("packageKind".into(), Value::String(kind.clone()));
        }
        if self.update_existing {
            m.insert("updateExisting".into(), Value::Bool(true));
        }
        for (k, v) in [
            ("hasUsersCsv", self.has_users_csv),
            ("hasOrganizationsCsv", self.has_organizations_csv),
            ("hasMembershipsCsv", self.has_memberships_csv),
            ("hasRoleDefinitionsCsv", self.has_role_definitions_csv),
            ("hasRoleAssignmentsCsv", self.has_role_assignments_csv),
            ("hasTotpCsv", self.has_totp_csv),
            ("hasSso", self.has_sso),
        ] {
            m.insert(k.into(), Value::Bool(v));
        }
        m.insert(
            "expectedCounts".into(),
            Value::Object(self.expected_counts.clone()),
        );
        m.insert("validationErrors".into(), issues(&self.validation_errors));
        m.insert(
            "validationWarnings".into(),
            issues(&self.validation_warnings),
        );
        Value::Object(m)
    }

    /// The `--plan` printout (§7.2).
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let rule = "\u{2550}".repeat(40);
        writeln!(out, "\n  Import Package Plan")?;
        writeln!(out, "  {rule}")?;
        writeln!(
            out,
            "  Package:                {}",
            self.package_dir.display()
        )?;
        writeln!(out, "  Provider:               {}", self.manifest_provider)?;
        if let Some(kind) = &self.package_kind {
            writeln!(out, "  Package kind:           {kind}")?;
        }
        if self.update_existing {
            writeln!(out, "  Update existing:        true")?;
        }
        writeln!(out, "  users.csv has rows:     {}", self.has_users_csv)?;
        writeln!(
            out,
            "  organizations.csv:      {}",
            self.has_organizations_csv
        )?;
        writeln!(
            out,
            "  memberships.csv:        {}",
            self.has_memberships_csv
        )?;
        writeln!(
            out,
            "  role_definitions.csv:   {}",
            self.has_role_definitions_csv
        )?;
        writeln!(
            out,
            "  user_role_assignments:  {}",
            self.has_role_assignments_csv
        )?;
        writeln!(out, "  totp_secrets.csv:       {}", self.has_totp_csv)?;
        writeln!(out, "  sso/ files present:     {}", self.has_sso)?;
        writeln!(out, "  Counts (from manifest)")?;
        for (entity, count) in &self.expected_counts {
            writeln!(out, "    {entity:<24} {}", js_text(count))?;
        }
        if !self.validation_errors.is_empty() {
            writeln!(out, "\n  Validation errors:")?;
            for issue in &self.validation_errors {
                writeln!(out, "    - {}", issue.message)?;
            }
        }
        if !self.validation_warnings.is_empty() {
            writeln!(out, "\n  Validation warnings:")?;
            for issue in &self.validation_warnings {
                writeln!(out, "    - {}", issue.message)?;
            }
        }
        writeln!(out)?;
        if self.has_sso {
            writeln!(
                out,
                "  SSO connections are handoff-only and will NOT be imported automatically."
            )?;
        }
        Ok(())
    }
}

/// A JSON value as JavaScript's template literal prints it.
fn js_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Array(items) => items.iter().map(js_text).collect::<Vec<_>>().join(","),
        Value::Object(_) => "[object Object]".into(),
        other => other.to_string(),
    }
}

/// A path as a JSON string (lossy for non-UTF-8 paths).
pub(crate) fn path_value(p: &Path) -> Value {
    Value::String(p.to_string_lossy().into_owned())
}

/// Absolute form of `dir` without resolving symlinks.
pub fn absolute_dir(dir: &Path) -> PathBuf {
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// Validates the package and inspects its files (§7.2). Fails only when the
/// manifest cannot be read or a CSV cannot be parsed; every other problem is
/// listed in the plan.
pub fn plan_import_package(dir: &Path) -> Result<ImportPackagePlan, ImportPackageError> {
    let package_dir = absolute_dir(dir);
    let report = validate_package(
        &package_dir,
        ValidateOptions {
            require_files: false,
            check_headers: true,
            check_counts: false,
        },
    );
    let Some(manifest) = report.manifest.as_ref() else {
        let message = report
            .errors()
            .next()
            .map(|i| i.message.clone())
            .unwrap_or_else(|| "manifest.json could not be read".to_string());
        return Err(ImportPackageError::Load {
            dir: package_dir,
            message,
        });
    };
    let manifest_provider = manifest
        .get("provider")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let workos_migrate = manifest
        .get("metadata")
        .and_then(|m| m.get("workosMigrate"))
        .and_then(Value::as_object);
    let package_kind = workos_migrate
        .and_then(|w| w.get("packageKind"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let update_existing = workos_migrate
        .and_then(|w| w.get("updateExisting"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let expected_counts = manifest
        .get("entitiesExported")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let has = |f: &PackageFile| csv_has_rows(&package_dir.join(f.path));
    let plan = ImportPackagePlan {
        has_users_csv: has(&schema::USERS)?,
        has_organizations_csv: has(&schema::ORGANIZATIONS)?,
        has_memberships_csv: has(&schema::MEMBERSHIPS)?,
        has_role_definitions_csv: has(&schema::ROLE_DEFINITIONS)?,
        has_role_assignments_csv: has(&schema::USER_ROLE_ASSIGNMENTS)?,
        has_totp_csv: has(&schema::TOTP_SECRETS)?,
        has_sso: has(&schema::SAML_CONNECTIONS)? || has(&schema::OIDC_CONNECTIONS)?,
        manifest_provider,
        package_kind,
        update_existing,
        expected_counts,
        validation_errors: report.errors().cloned().collect(),
        validation_warnings: report.warnings().cloned().collect(),
        package_dir: package_dir.clone(),
    };
    Ok(plan)
}

/// True when `path` is a regular file with at least one data record. A
/// missing, empty or header-only file has none; a first record that cannot
/// be parsed (ragged, bad UTF-8, unterminated quote) is an error.
pub fn csv_has_rows(path: &Path) -> Result<bool, ImportPackageError> {
    if !path.is_file() {
        return Ok(false);
    }
    let options = CsvReadOptions {
        batch_rows: 1,
        ragged: RaggedRows::Reject,
        ..Default::default()
    };
    let mut reader = match CsvBatchReader::open(path, options) {
        Ok(r) => r,
        Err(CsvReadError::Empty { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    match reader.next() {
        None => Ok(false),
        Some(Ok(batch)) => Ok(batch.num_rows() > 0),
        Some(Err(e)) => Err(e.into()),
    }
}
