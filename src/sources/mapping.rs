//! Org-mapping and role-mapping CSVs of the file sources (Clerk, Firebase;
//! export-and-package.md §8) and the organization, membership, role and
//! role-assignment rows they produce for each exported user (§6.3 steps 6–7).
//!
//! Mapping files are loaded into memory (they are keyed by source user id and
//! are much smaller than the export itself). Differences from the original,
//! recorded in docs/decisions.md: a BOM is stripped; the header is checked even
//! when the file has no rows; organization rows are written at the end with the
//! first non-empty name seen for each organization; a name-only mapping gives
//! no role assignments without organization identifiers.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, StringArray};

use crate::package::csv_reader::{CsvBatchReader, CsvReadError, CsvReadOptions, RaggedRows};
use crate::package::schema::{MEMBERSHIPS, ORGANIZATIONS, ROLE_DEFINITIONS, USER_ROLE_ASSIGNMENTS};
use crate::package::writer::PackageWriteError;
use crate::package::MigrationPackageWriter;

/// Errors loading a mapping file.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{label} not found: {path}")]
    NotFound { label: &'static str, path: PathBuf },
    #[error(transparent)]
    Read(#[from] CsvReadError),
    #[error("{path}: Org mapping CSV must have a '{column}' column. Found columns: {found}")]
    OrgUserColumn {
        path: PathBuf,
        column: String,
        found: String,
    },
    #[error("{path}: Org mapping CSV must have at least one of: org_id, org_external_id, org_name. Found columns: {found}")]
    OrgColumns { path: PathBuf, found: String },
    #[error("{path}: Role mapping CSV must have a '{column}' or 'external_id' column. Found columns: {found}")]
    RoleUserColumn {
        path: PathBuf,
        column: String,
        found: String,
    },
    #[error("{path}: Role mapping CSV must have a 'role_slug' column. Found columns: {found}")]
    RoleSlugColumn { path: PathBuf, found: String },
}

/// One user's organization from the org-mapping CSV (blank cells are `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgMappingEntry {
    pub org_id: Option<String>,
    pub org_external_id: Option<String>,
    pub org_name: Option<String>,
}

impl OrgMappingEntry {
    /// The organization key: external id, else WorkOS id.
    pub fn key(&self) -> Option<&str> {
        self.org_external_id.as_deref().or(self.org_id.as_deref())
    }
}

/// Both mapping files, keyed by source user id.
#[derive(Debug, Clone, Default)]
pub struct UserMappings {
    orgs: HashMap<String, OrgMappingEntry>,
    roles: HashMap<String, Vec<String>>,
    /// Whether any org-mapping row has an org_id, org_external_id, org_name.
    org_fields_used: [bool; 3],
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Reads every row of a mapping CSV as trimmed strings.
fn for_each_row<F>(
    path: &Path,
    label: &'static str,
    mut visit: F,
) -> Result<Vec<String>, MappingError>
where
    F: FnMut(&dyn Fn(&str) -> String),
{
    if !path.is_file() {
        return Err(MappingError::NotFound {
            label,
            path: path.to_path_buf(),
        });
    }
    let options = CsvReadOptions {
        ragged: RaggedRows::Reject,
        ..CsvReadOptions::default()
    };
    let reader = CsvBatchReader::open(path, options)?;
    let header = reader.header().to_vec();
    for batch in reader {
        let batch = batch?;
        let cols: Vec<&StringArray> = batch
            .batch
            .columns()
            .iter()
            .filter_map(|c| c.as_any().downcast_ref::<StringArray>())
            .collect();
        for row in 0..batch.num_rows() {
            let get = |name: &str| -> String {
                header
                    .iter()
                    .position(|h| h == name)
                    .and_then(|i| cols.get(i))
                    .filter(|c| !c.is_null(row))
                    .map(|c| c.value(row).trim().to_string())
                    .unwrap_or_default()
            };
            visit(&get);
        }
    }
    Ok(header)
}

fn header_of(path: &Path, label: &'static str) -> Result<Vec<String>, MappingError> {
    if !path.is_file() {
        return Err(MappingError::NotFound {
            label,
            path: path.to_path_buf(),
        });
    }
    let reader = CsvBatchReader::open(path, CsvReadOptions::default())?;
    Ok(reader.header().to_vec())
}

impl UserMappings {
    /// Loads the optional mapping files. `user_column` is `clerk_user_id` or `firebase_uid`.
    pub fn load(
        org_mapping: Option<&Path>,
        role_mapping: Option<&Path>,
        user_column: &str,
    ) -> Result<Self, MappingError> {
        let mut m = Self::default();
        if let Some(path) = org_mapping {
            let header = header_of(path, "Org mapping CSV")?;
            let found = header.join(", ");
            if !header.iter().any(|h| h == user_column) {
                return Err(MappingError::OrgUserColumn {
                    path: path.to_path_buf(),
                    column: user_column.to_string(),
                    found,
                });
            }
            if !header
                .iter()
                .any(|h| matches!(h.as_str(), "org_id" | "org_external_id" | "org_name"))
            {
                return Err(MappingError::OrgColumns {
                    path: path.to_path_buf(),
                    found,
                });
            }
            for_each_row(path, "Org mapping CSV", |get| {
                let user = get(user_column);
                if user.is_empty() {
                    return;
                }
                let entry = OrgMappingEntry {
                    org_id: opt(&get("org_id")),
                    org_external_id: opt(&get("org_external_id")),
                    org_name: opt(&get("org_name")),
                };
                for (used, field) in m.org_fields_used.iter_mut().zip([
                    &entry.org_id,
                    &entry.org_external_id,
                    &entry.org_name,
                ]) {
                    *used |= field.is_some();
                }
                m.orgs.insert(user, entry); // last row wins (§8)
            })?;
        }
        if let Some(path) = role_mapping {
            let header = header_of(path, "Role mapping CSV")?;
            let found = header.join(", ");
            if !header
                .iter()
                .any(|h| h == user_column || h == "external_id")
            {
                return Err(MappingError::RoleUserColumn {
                    path: path.to_path_buf(),
                    column: user_column.to_string(),
                    found,
                });
            }
            if !header.iter().any(|h| h == "role_slug") {
                return Err(MappingError::RoleSlugColumn {
                    path: path.to_path_buf(),
                    found,
                });
            }
            for_each_row(path, "Role mapping CSV", |get| {
                let mut user = get(user_column);
                if user.is_empty() {
                    user = get("external_id");
                }
                let slug = get("role_slug");
                if user.is_empty() || slug.is_empty() {
                    return;
                }
                let slugs = m.roles.entry(user).or_default();
                if !slugs.contains(&slug) {
                    slugs.push(slug);
                }
            })?;
        }
        Ok(m)
    }

    pub fn org(&self, user_id: &str) -> Option<&OrgMappingEntry> {
        self.orgs.get(user_id)
    }

    /// Which of org_id, org_external_id and org_name any org-mapping row
    /// fills (the legacy single-CSV output has a column for each).
    pub fn org_fields_used(&self) -> [bool; 3] {
        self.org_fields_used
    }

    /// Whether the role mapping gave any user a role.
    pub fn has_roles(&self) -> bool {
        !self.roles.is_empty()
    }

    pub fn roles(&self, user_id: &str) -> &[String] {
        self.roles.get(user_id).map_or(&[], Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.orgs.is_empty() && self.roles.is_empty()
    }
}

/// Writes the organization, membership, role-definition and role-assignment
/// rows (and their `workos_upload/` projections) for mapped users.
#[derive(Debug, Default)]
pub struct IdentityRows {
    /// Organizations in first-seen order with the first non-empty name.
    orgs: Vec<OrgMappingEntry>,
    org_index: HashMap<String, usize>,
    roles: HashSet<String>,
}

impl IdentityRows {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rows for one exported user (§6.3 steps 6–7).
    pub fn write_user(
        &mut self,
        pkg: &mut MigrationPackageWriter,
        email: &str,
        external_id: &str,
        org: Option<&OrgMappingEntry>,
        roles: &[String],
    ) -> Result<(), PackageWriteError> {
        let slugs = roles.join(",");
        if let Some(entry) = org {
            if let Some(key) = entry.key() {
                match self.org_index.get(key) {
                    Some(&i) => {
                        if self.orgs[i].org_name.is_none() {
                            self.orgs[i].org_name = entry.org_name.clone();
                        }
                    }
                    None => {
                        self.org_index.insert(key.to_string(), self.orgs.len());
                        self.orgs.push(entry.clone());
                    }
                }
                let org_id = entry.org_id.as_deref().unwrap_or("");
                let org_ext = entry.org_external_id.as_deref().unwrap_or("");
                let org_name = entry.org_name.as_deref().unwrap_or("");
                pkg.write_row(
                    &MEMBERSHIPS,
                    &[
                        email,
                        external_id,
                        "",
                        org_id,
                        org_ext,
                        org_name,
                        &slugs,
                        "",
                    ],
                )?;
                pkg.upload().membership(org_id, org_ext, external_id, "")?;
            }
        }
        for slug in roles {
            if self.roles.insert(slug.clone()) {
                pkg.write_row(&ROLE_DEFINITIONS, &[slug, slug, "environment", "", "", ""])?;
            }
            if let Some(entry) = org.filter(|e| e.key().is_some()) {
                pkg.write_row(
                    &USER_ROLE_ASSIGNMENTS,
                    &[
                        email,
                        "",
                        external_id,
                        slug,
                        entry.org_id.as_deref().unwrap_or(""),
                        entry.org_external_id.as_deref().unwrap_or(""),
                    ],
                )?;
            }
        }
        Ok(())
    }

    /// Writes `organizations.csv` rows (and upload rows) in first-seen order.
    pub fn finish(self, pkg: &mut MigrationPackageWriter) -> Result<(), PackageWriteError> {
        for o in &self.orgs {
            let org_id = o.org_id.as_deref().unwrap_or("");
            let ext = o.org_external_id.as_deref().unwrap_or("");
            let name = o
                .org_name
                .as_deref()
                .or(o.org_external_id.as_deref())
                .unwrap_or("");
            pkg.write_row(&ORGANIZATIONS, &[org_id, ext, name, "", ""])?;
            pkg.upload().organization(org_id, ext, name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::PackageOptions;

    #[test]
    fn loads_org_and_role_mappings() {
        let d = tempfile::tempdir().unwrap();
        let orgs = d.path().join("orgs.csv");
        std::fs::write(&orgs, "\u{feff}firebase_uid,org_external_id,org_name\nu1,acme,\nu2,acme,Acme\n ,x,y\nu1,acme, Acme Inc \n").unwrap();
        let roles = d.path().join("roles.csv");
        std::fs::write(&roles, "firebase_uid,external_id,role_slug\nu1,,admin\n,u2,member\nu1,,admin\nu1,,owner\nu3,,\n").unwrap();
        let m = UserMappings::load(Some(&orgs), Some(&roles), "firebase_uid").unwrap();
        assert_eq!(m.org("u1").unwrap().org_name.as_deref(), Some("Acme Inc"));
        assert_eq!(m.roles("u1"), ["admin", "owner"]);
        assert_eq!(m.roles("u2"), ["member"]);
        assert!(m.roles("u3").is_empty());
    }

    #[test]
    fn header_errors_name_the_columns() {
        let d = tempfile::tempdir().unwrap();
        let orgs = d.path().join("orgs.csv");
        std::fs::write(&orgs, "uid,org_name\n").unwrap();
        let e = UserMappings::load(Some(&orgs), None, "clerk_user_id")
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with(
                "Org mapping CSV must have a 'clerk_user_id' column. Found columns: uid, org_name"
            ),
            "{e}"
        );
        let e = UserMappings::load(None, Some(&d.path().join("nope.csv")), "clerk_user_id")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("Role mapping CSV not found:"), "{e}");
        std::fs::write(&orgs, "clerk_user_id,org_external_id\nu1,a,extra\n").unwrap();
        let e = UserMappings::load(Some(&orgs), None, "clerk_user_id")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2: record has 3 fields but the header has 2"),
            "{e}"
        );
    }

    #[test]
    fn identity_rows_dedupe_orgs_and_roles() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("pkg");
        let mut pkg =
            MigrationPackageWriter::create(&root, PackageOptions::new("firebase")).unwrap();
        let mut rows = IdentityRows::new();
        let nameless = OrgMappingEntry {
            org_external_id: Some("acme".into()),
            ..Default::default()
        };
        let named = OrgMappingEntry {
            org_name: Some("Acme".into()),
            ..nameless.clone()
        };
        let name_only = OrgMappingEntry {
            org_name: Some("Solo".into()),
            ..Default::default()
        };
        let admin = vec!["admin".to_string()];
        rows.write_user(&mut pkg, "a@x.com", "u1", Some(&nameless), &admin)
            .unwrap();
        rows.write_user(&mut pkg, "b@x.com", "u2", Some(&named), &admin)
            .unwrap();
        rows.write_user(&mut pkg, "c@x.com", "u3", Some(&name_only), &admin)
            .unwrap();
        rows.finish(&mut pkg).unwrap();
        let m = pkg.finish().unwrap();
        assert_eq!((m.count("organizations"), m.count("memberships")), (1, 2));
        assert_eq!(
            (m.count("roleDefinitions"), m.count("userRoleAssignments")),
            (1, 2)
        );
        assert_eq!(m.count("uploadOrganizations"), 1);
        let orgs = std::fs::read_to_string(root.join("organizations.csv")).unwrap();
        assert_eq!(
            orgs,
            "org_id,org_external_id,org_name,domains,metadata\n,acme,Acme,,\n"
        );
    }
}
