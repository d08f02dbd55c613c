//! The tables `verify` joins, registered in one DataFusion session:
//!
//! - the package's canonical CSVs, every column Utf8, as `pkg_users`,
//!   `pkg_organizations`, `pkg_memberships`, `pkg_role_assignments`,
//!   `pkg_totp` (absent files become empty tables);
//! - the snapshot's Parquet files as `ws_users`, `ws_organizations`,
//!   `ws_memberships`, `ws_roles`;
//! - normalised views over both: `pu` (package users with their row number
//!   `rn`, `email_l` = lower-cased trimmed email, `ext` = trimmed external id
//!   or NULL, `ukey` = `ext` else `email_l`), `po` (package organizations
//!   with `okey_ext` / `okey_id`: the WorkOS external id or id an
//!   organization is found by, as `import-package` does), `pm` (membership
//!   references from `users.csv` org columns and `organization_memberships.csv`),
//!   `pr` (role assignments), and `wu` (snapshot users with `email_l`).

use std::path::Path;
use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionConfig, SessionContext};

use crate::package::schema::{
    PackageFile, MEMBERSHIPS, ORGANIZATIONS, TOTP_SECRETS, USERS, USER_ROLE_ASSIGNMENTS,
};
use crate::snapshot::tables::Table;

/// A WorkOS organization id (`org_` + 26 Crockford base32 characters), as
/// [`crate::import::package::organizations::looks_like_workos_org_id`].
const WORKOS_ORG_ID_RE: &str = "^org_[0-9A-HJKMNP-TV-Z]{26}$";

/// The session with every table and view registered.
pub async fn session(package: &Path, snapshot: &Path) -> Result<SessionContext, DataFusionError> {
    // One partition: row numbers follow file order.
    let config = SessionConfig::new().with_target_partitions(1);
    let ctx = SessionContext::new_with_config(config);
    for (name, file) in [
        ("pkg_users", &USERS),
        ("pkg_organizations", &ORGANIZATIONS),
        ("pkg_memberships", &MEMBERSHIPS),
        ("pkg_role_assignments", &USER_ROLE_ASSIGNMENTS),
        ("pkg_totp", &TOTP_SECRETS),
    ] {
        register_csv(&ctx, name, package, file).await?;
    }
    for (name, table) in [
        ("ws_users", Table::Users),
        ("ws_organizations", Table::Organizations),
        ("ws_memberships", Table::Memberships),
        ("ws_roles", Table::Roles),
    ] {
        let path = snapshot.join(table.file_name());
        ctx.register_parquet(
            name,
            path.to_string_lossy().as_ref(),
            ParquetReadOptions::default(),
        )
        .await?;
    }
    for view in VIEWS {
        ctx.sql(&view.replace("{ORG_ID_RE}", WORKOS_ORG_ID_RE))
            .await?
            .collect()
            .await?;
    }
    Ok(ctx)
}

/// Registers a package CSV (its canonical Utf8 schema), or an empty table
/// with that schema when the file is absent.
async fn register_csv(
    ctx: &SessionContext,
    name: &str,
    package: &Path,
    file: &PackageFile,
) -> Result<(), DataFusionError> {
    let path = package.join(file.path);
    let schema = file.arrow_schema();
    if !path.is_file() {
        let table = MemTable::try_new(schema, vec![vec![]])?;
        ctx.register_table(name, Arc::new(table))?;
        return Ok(());
    }
    let opts = CsvReadOptions::new()
        .schema(&schema)
        .has_header(true)
        .newlines_in_values(true);
    ctx.register_csv(name, path.to_string_lossy().as_ref(), opts)
        .await
}

/// `NULLIF(TRIM(x), '')`.
macro_rules! cell {
    ($c:literal) => {
        concat!("NULLIF(TRIM(", $c, "), '')")
    };
}

const VIEWS: &[&str] = &[
    concat!(
        "CREATE VIEW pu AS SELECT *, COALESCE(ext, email_l) AS ukey FROM (",
        "SELECT *, LOWER(", cell!("email"), ") AS email_l, ", cell!("external_id"), " AS ext ",
        "FROM (SELECT *, ROW_NUMBER() OVER () AS rn FROM pkg_users)) ",
        "WHERE email_l IS NOT NULL"
    ),
    concat!(
        "CREATE VIEW po AS SELECT *, ",
        "CASE WHEN oext IS NOT NULL THEN oext WHEN oid ~ '{ORG_ID_RE}' THEN NULL ELSE oid END AS okey_ext, ",
        "CASE WHEN oext IS NULL AND oid ~ '{ORG_ID_RE}' THEN oid END AS okey_id ",
        "FROM (SELECT *, ", cell!("org_external_id"), " AS oext, ", cell!("org_id"), " AS oid, ",
        "ROW_NUMBER() OVER () AS rn FROM pkg_organizations) ",
        "WHERE oext IS NOT NULL OR oid IS NOT NULL"
    ),
    concat!(
        "CREATE VIEW pm_raw AS ",
        "SELECT 'users' AS src, rn, email, external_id, '' AS user_id, org_id, org_external_id, org_name, role_slugs, '' AS metadata ",
        "FROM (SELECT *, ROW_NUMBER() OVER () AS rn FROM pkg_users) ",
        "WHERE ", cell!("org_id"), " IS NOT NULL OR ", cell!("org_external_id"), " IS NOT NULL OR ", cell!("org_name"), " IS NOT NULL ",
        "UNION ALL ",
        "SELECT 'memberships' AS src, rn, email, external_id, user_id, org_id, org_external_id, org_name, role_slugs, metadata ",
        "FROM (SELECT *, ROW_NUMBER() OVER () AS rn FROM pkg_memberships)"
    ),
    concat!(
        "CREATE VIEW pm AS SELECT *, ",
        "CASE WHEN oext IS NOT NULL THEN oext WHEN oid ~ '{ORG_ID_RE}' THEN NULL ELSE oid END AS okey_ext, ",
        "CASE WHEN oext IS NULL AND oid ~ '{ORG_ID_RE}' THEN oid END AS okey_id, ",
        "CASE WHEN oext IS NULL AND oid IS NULL THEN oname END AS okey_name ",
        "FROM (SELECT *, LOWER(", cell!("email"), ") AS email_l, ", cell!("external_id"), " AS ext, ",
        cell!("org_external_id"), " AS oext, ", cell!("org_id"), " AS oid, ", cell!("org_name"), " AS oname ",
        "FROM pm_raw) WHERE email_l IS NOT NULL OR ext IS NOT NULL"
    ),
    concat!(
        "CREATE VIEW pr AS SELECT *, ",
        "CASE WHEN oext IS NOT NULL THEN oext WHEN oid ~ '{ORG_ID_RE}' THEN NULL ELSE oid END AS okey_ext, ",
        "CASE WHEN oext IS NULL AND oid ~ '{ORG_ID_RE}' THEN oid END AS okey_id, ",
        "CAST(NULL AS VARCHAR) AS okey_name ",
        "FROM (SELECT *, LOWER(", cell!("email"), ") AS email_l, ", cell!("external_id"), " AS ext, ",
        cell!("org_external_id"), " AS oext, ", cell!("org_id"), " AS oid, ",
        "ROW_NUMBER() OVER () AS rn FROM pkg_role_assignments) ",
        "WHERE (email_l IS NOT NULL OR ext IS NOT NULL) AND ", cell!("role_slug"), " IS NOT NULL"
    ),
    "CREATE VIEW wu AS SELECT *, LOWER(TRIM(email)) AS email_l FROM ws_users",
];
