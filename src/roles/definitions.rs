//! Parsing of the role definitions CSV (import.md §6.1; package file
//! `role_definitions.csv`, header
//! `role_slug,role_name,role_type,permissions,org_id,org_external_id`).
//!
//! Required columns: `role_slug`, `role_name`, `role_type`, `permissions`;
//! `org_id` and `org_external_id` are optional. Per-row messages keep the
//! original's wording. Differences (docs/decisions.md): a BOM is stripped,
//! `role_type` is matched case-insensitively, a ragged row is a row error
//! instead of aborting the file, the column check runs even on a header-only
//! file, and `--org-id` is only a default for organization rows that name
//! no organization.
//!
//! Definitions are kept in memory: a role catalogue is small (WorkOS caps
//! roles per environment and organization), and permissions must all exist
//! before the first role is given them.

use std::collections::HashMap;
use std::path::Path;

use super::rows::CsvRows;
use super::RolesError;

/// Which kind of role a definition creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleScope {
    /// An environment role (`POST /authorization/roles`).
    Environment,
    /// An organization role; the organization is named by its WorkOS id or
    /// its external id (resolved through the API when applied).
    Organization(OrgRef),
}

/// How a row names an organization.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrgRef {
    /// A WorkOS organization id (`org_id`, or the `--org-id` default).
    Id(String),
    /// An `org_external_id`, looked up with `GET /organizations/external_id/…`.
    ExternalId(String),
}

impl OrgRef {
    /// The row's reference: `org_id` first, then `org_external_id`, then the
    /// default (`--org-id`).
    pub fn pick(
        org_id: Option<&str>,
        external: Option<&str>,
        default: Option<&str>,
    ) -> Option<Self> {
        org_id
            .map(|v| Self::Id(v.to_string()))
            .or_else(|| external.map(|v| Self::ExternalId(v.to_string())))
            .or_else(|| default.map(|v| Self::Id(v.to_string())))
    }

    /// The raw value (id or external id).
    pub fn value(&self) -> &str {
        match self {
            Self::Id(v) | Self::ExternalId(v) => v,
        }
    }
}

impl std::fmt::Display for OrgRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(v) => f.write_str(v),
            Self::ExternalId(v) => write!(f, "external_id {v}"),
        }
    }
}

/// One accepted role definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDefinition {
    /// 1-based data row it came from.
    pub row: u64,
    pub slug: String,
    pub name: String,
    pub scope: RoleScope,
    /// Permission slugs, in file order, de-duplicated.
    pub permissions: Vec<String>,
}

/// The accepted definitions plus what was wrong with the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedDefinitions {
    pub definitions: Vec<RoleDefinition>,
    /// Rows that could not be used (counted as errors).
    pub errors: Vec<String>,
    /// Rows skipped or merged (not errors).
    pub warnings: Vec<String>,
}

impl ParsedDefinitions {
    /// Distinct permission slugs across all definitions, first-seen order.
    pub fn permission_slugs(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.definitions
            .iter()
            .flat_map(|d| d.permissions.iter())
            .filter(|p| seen.insert(p.as_str()))
            .cloned()
            .collect()
    }
}

/// Required header columns.
pub const REQUIRED_COLUMNS: [&str; 4] = ["role_slug", "role_name", "role_type", "permissions"];

/// Reads and checks a role definitions CSV. `default_org_id` (`--org-id`)
/// is used for organization rows that name no organization.
pub fn parse_role_definitions(
    path: &Path,
    default_org_id: Option<&str>,
) -> Result<ParsedDefinitions, RolesError> {
    let rows = CsvRows::open(path)?;
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| rows.column(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(RolesError::MissingDefinitionColumns {
            missing: missing.join(", "),
            found: rows.header().join(", "),
        });
    }
    let col = |name: &str| rows.column(name);
    let (c_slug, c_name, c_type, c_perms, c_org, c_ext) = (
        col("role_slug"),
        col("role_name"),
        col("role_type"),
        col("permissions"),
        col("org_id"),
        col("org_external_id"),
    );
    let default_org_id = default_org_id.map(str::trim).filter(|v| !v.is_empty());
    let mut out = ParsedDefinitions::default();
    // Scope key → first row.
    let mut seen: HashMap<String, u64> = HashMap::new();
    for row in rows {
        let row = row?;
        let n = row.row;
        if let Some(found) = row.ragged {
            out.errors.push(format!(
                "Row {n} (line {}): has {found} fields but the header has {}",
                row.line,
                row.cells.len()
            ));
            continue;
        }
        let Some(slug) = row.get(c_slug) else {
            out.errors.push(format!("Row {n}: Missing role_slug"));
            continue;
        };
        let Some(name) = row.get(c_name) else {
            out.errors
                .push(format!("Row {n}: Missing role_name for slug \"{slug}\""));
            continue;
        };
        let raw_type = row.get(c_type).unwrap_or("");
        let scope = if raw_type.eq_ignore_ascii_case("environment") {
            RoleScope::Environment
        } else if raw_type.eq_ignore_ascii_case("organization") {
            match OrgRef::pick(row.get(c_org), row.get(c_ext), default_org_id) {
                Some(org) => RoleScope::Organization(org),
                None => {
                    out.warnings.push(format!(
                        "Row {n}: Organization role \"{slug}\" missing org_id or org_external_id \u{2014} skipping"
                    ));
                    continue;
                }
            }
        } else {
            out.warnings.push(format!(
                "Row {n}: Invalid role_type \"{raw_type}\" for slug \"{slug}\" \u{2014} skipping"
            ));
            continue;
        };
        let key = match &scope {
            RoleScope::Environment => slug.to_string(),
            RoleScope::Organization(org) => format!("{slug}:{}", org.value()),
        };
        if let Some(first) = seen.get(&key) {
            out.warnings.push(format!(
                "Row {n}: Duplicate role_slug \"{slug}\" (same scope as row {first}) \u{2014} using first"
            ));
            continue;
        }
        seen.insert(key, n);
        out.definitions.push(RoleDefinition {
            row: n,
            slug: slug.to_string(),
            name: name.to_string(),
            scope,
            permissions: parse_permissions(row.get(c_perms).unwrap_or("")),
        });
    }
    Ok(out)
}

/// A `permissions` cell: a JSON array when it starts with `[` and parses
/// (elements stringified), else a comma list; trimmed, empties dropped,
/// duplicates removed.
pub fn parse_permissions(raw: &str) -> Vec<String> {
    let raw = raw.trim();
    let items: Vec<String> = match raw
        .starts_with('[')
        .then(|| serde_json::from_str::<Vec<serde_json::Value>>(raw).ok())
        .flatten()
    {
        Some(values) => values
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        None => raw.split(',').map(str::to_string).collect(),
    };
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && seen.insert(s.clone()))
        .collect()
}

/// A permission's display name from its slug: split on `:` `.` `_` `-`,
/// each part's first letter upper-cased, joined with spaces
/// (`users:read` → `Users Read`).
pub fn permission_name(slug: &str) -> String {
    slug.split([':', '.', '_', '-'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn parse(text: &str, default: Option<&str>) -> Result<ParsedDefinitions, RolesError> {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        parse_role_definitions(f.path(), default)
    }

    #[test]
    fn permissions_cells() {
        assert_eq!(parse_permissions("read,write"), vec!["read", "write"]);
        assert_eq!(
            parse_permissions(r#"["a", " b ", "", 3]"#),
            vec!["a", "b", "3"]
        );
        assert!(parse_permissions("").is_empty());
        assert_eq!(
            parse_permissions(" read , write ,read"),
            vec!["read", "write"]
        );
        assert_eq!(parse_permissions("[not json"), vec!["[not json"]);
    }

    #[test]
    fn permission_names() {
        assert_eq!(permission_name("users:read"), "Users Read");
        assert_eq!(permission_name("billing_manage"), "Billing Manage");
        assert_eq!(permission_name("a.b-c"), "A B C");
    }

    #[test]
    fn two_environment_rows() {
        let p = parse(
            "role_slug,role_name,role_type,permissions\nadmin,Admin,environment,\"read,write,delete\"\nviewer,Viewer,environment,read\n",
            None,
        )
        .unwrap();
        assert_eq!(p.definitions.len(), 2);
        assert_eq!(
            p.definitions[0].permissions,
            vec!["read", "write", "delete"]
        );
        assert!(p.errors.is_empty() && p.warnings.is_empty());
        assert_eq!(p.permission_slugs(), vec!["read", "write", "delete"]);
    }

    #[test]
    fn missing_columns_are_fatal_even_without_rows() {
        let e = parse("role_slug,role_name\n", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Role definitions CSV missing required columns: role_type, permissions. Found: role_slug, role_name"
        );
    }

    #[test]
    fn row_rules() {
        let p = parse(
            "\u{feff}role_slug,role_name,role_type,permissions,org_id,org_external_id\n\
             a,A,bogus,,,\n\
             b,B,organization,,,\n\
             c,C,organization,,org_123,\n\
             c,C2,organization,,org_123,\n\
             d,D,Organization,,,ext-1\n\
             ,E,environment,,,\n\
             f,,environment,,,\n\
             g,G,environment,,\n",
            None,
        )
        .unwrap();
        let slugs: Vec<_> = p.definitions.iter().map(|d| d.slug.as_str()).collect();
        assert_eq!(slugs, vec!["c", "d"]);
        assert_eq!(p.definitions[0].name, "C");
        assert_eq!(
            p.definitions[0].scope,
            RoleScope::Organization(OrgRef::Id("org_123".into()))
        );
        assert_eq!(
            p.definitions[1].scope,
            RoleScope::Organization(OrgRef::ExternalId("ext-1".into()))
        );
        assert!(p.warnings[0].contains("Invalid role_type \"bogus\""));
        assert!(p.warnings[1].contains("missing org_id or org_external_id"));
        assert!(p.warnings[2].contains("Duplicate role_slug \"c\" (same scope as row 3)"));
        assert_eq!(p.errors[0], "Row 6: Missing role_slug");
        assert_eq!(p.errors[1], "Row 7: Missing role_name for slug \"f\"");
        assert!(p.errors[2].starts_with("Row 8 (line 9): has 5 fields"));
    }

    #[test]
    fn default_org_only_for_rows_without_an_org() {
        let p = parse(
            "role_slug,role_name,role_type,permissions,org_id,org_external_id\n\
             a,A,organization,,,\n\
             b,B,organization,,,ext-9\n",
            Some("org_default"),
        )
        .unwrap();
        assert_eq!(
            p.definitions[0].scope,
            RoleScope::Organization(OrgRef::Id("org_default".into()))
        );
        assert_eq!(
            p.definitions[1].scope,
            RoleScope::Organization(OrgRef::ExternalId("ext-9".into()))
        );
    }
}
