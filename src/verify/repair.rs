//! The repair package of `verify --repair-dir DIR`: an ordinary migration
//! package (same files and headers, `validate-package` passes) holding the
//! package rows that are missing from WorkOS or differ from it, plus in
//! `manifest.json` `metadata.workosMigrate = {packageKind: "repair",
//! updateExisting: true, basedOn: {...}}` (docs/decisions.md, cut-over
//! contract), so `import-package DIR` creates what is missing and updates
//! what differs.
//!
//! The manifest is written last (by the package writer, then rewritten with
//! the metadata through a temporary file): a run that fails part-way never
//! leaves a directory that claims to be a complete repair package.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::VerifyError;
use crate::package::manifest::Manifest;
use crate::package::schema::{
    PackageFile, MANIFEST, MEMBERSHIPS, ORGANIZATIONS, TOTP_SECRETS, USERS, USER_ROLE_ASSIGNMENTS,
};
use crate::package::writer::write_manifest;
use crate::package::{MigrationPackageWriter, PackageOptions};

/// The files a repair package fills, in report order.
pub const REPAIR_FILES: [&PackageFile; 5] = [
    &USERS,
    &ORGANIZATIONS,
    &MEMBERSHIPS,
    &USER_ROLE_ASSIGNMENTS,
    &TOTP_SECRETS,
];

/// A repair package being written.
pub struct RepairWriter {
    root: PathBuf,
    writer: MigrationPackageWriter,
}

impl RepairWriter {
    /// Prepares `root` with the source package's provider and redaction.
    pub fn create(root: &Path, source: &Manifest) -> Result<Self, VerifyError> {
        let mut options = PackageOptions::new(&source.provider);
        options.source_tenant = source.source_tenant.clone();
        options.entities_requested = source.entities_requested.clone();
        options.secrets_redacted = Some(source.secrets_redacted);
        options.secret_redaction = source.secret_redaction.clone();
        let writer = MigrationPackageWriter::create(root, options)?;
        Ok(Self {
            root: root.to_path_buf(),
            writer,
        })
    }

    /// A `users.csv` row (the 13 canonical cells, as in the package).
    pub fn user(&mut self, cells: &[&str]) -> Result<(), VerifyError> {
        self.writer.write_row(&USERS, cells)?;
        // USERS_HEADER: email, password, password_hash, password_hash_type,
        // first_name, last_name, email_verified, external_id, ...
        let c = |i: usize| cells.get(i).copied().unwrap_or("").trim();
        self.writer
            .upload()
            .user(c(7), c(0), c(6), c(4), c(5), c(2))
            .map_err(crate::package::writer::PackageWriteError::from)?;
        Ok(())
    }

    /// An `organizations.csv` row (`org_id, org_external_id, org_name,
    /// domains, metadata`).
    pub fn organization(&mut self, cells: &[&str]) -> Result<(), VerifyError> {
        self.writer.write_row(&ORGANIZATIONS, cells)?;
        let c = |i: usize| cells.get(i).copied().unwrap_or("").trim();
        self.writer
            .upload()
            .organization(c(0), c(1), c(2))
            .map_err(crate::package::writer::PackageWriteError::from)?;
        Ok(())
    }

    /// An `organization_memberships.csv` row (`email, external_id, user_id,
    /// org_id, org_external_id, org_name, role_slugs, metadata`).
    pub fn membership(&mut self, cells: &[&str]) -> Result<(), VerifyError> {
        self.writer.write_row(&MEMBERSHIPS, cells)?;
        let c = |i: usize| cells.get(i).copied().unwrap_or("").trim();
        self.writer
            .upload()
            .membership(c(3), c(4), c(1), c(2))
            .map_err(crate::package::writer::PackageWriteError::from)?;
        Ok(())
    }

    /// A `user_role_assignments.csv` row.
    pub fn role_assignment(&mut self, cells: &[&str]) -> Result<(), VerifyError> {
        Ok(self.writer.write_row(&USER_ROLE_ASSIGNMENTS, cells)?)
    }

    /// A `totp_secrets.csv` row.
    pub fn totp(&mut self, cells: &[&str]) -> Result<(), VerifyError> {
        Ok(self.writer.write_row(&TOTP_SECRETS, cells)?)
    }

    /// Finishes the package and adds `metadata.workosMigrate`; returns the
    /// rows per file.
    pub fn finish(self, based_on: Value) -> Result<Vec<(&'static str, u64)>, VerifyError> {
        let root = self.root;
        let mut manifest = self.writer.finish()?;
        let rows = REPAIR_FILES
            .iter()
            .map(|f| (f.key, manifest.count(f.key)))
            .collect();
        let mut meta = manifest.metadata.take().unwrap_or_default();
        meta.insert(
            "workosMigrate".into(),
            json!({
                "packageKind": "repair",
                "updateExisting": true,
                "basedOn": based_on,
            }),
        );
        manifest.metadata = Some(meta);
        write_manifest(&root, &manifest)?;
        Ok(rows)
    }
}

/// The manifest of the package being verified (its provider and redaction
/// carry over to the repair package).
pub fn read_source_manifest(package: &Path) -> Result<Manifest, VerifyError> {
    let path = package.join(MANIFEST.path);
    let bytes = fs::read(&path).map_err(|source| VerifyError::Io {
        path: path.clone(),
        source,
    })?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| VerifyError::BadPackage {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    let provider = v
        .get("provider")
        .and_then(Value::as_str)
        .unwrap_or("csv")
        .to_string();
    let mut manifest = Manifest::new(&provider, Vec::new());
    if let Ok(m) = serde_json::from_value::<Manifest>(v.clone()) {
        manifest = m;
    }
    manifest.metadata = None::<Map<String, Value>>;
    Ok(manifest)
}
