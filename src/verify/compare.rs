//! The comparisons: one DataFusion join per entity (package ⟕ snapshot),
//! streamed batch by batch, each row classified in Rust (equal, missing,
//! different with its fields, blocked by a missing user or organization)
//! and, when not equal, copied to the repair package; then the anti-joins
//! that count what WorkOS holds beyond the package.
//!
//! Keys (the lookups `import-package` makes): users by `external_id`, else
//! lower-cased email; organizations by `org_external_id`, else a source
//! `org_id` used as the external id, else an `org_id` that is a WorkOS id;
//! memberships and role assignments by (user, organization) resolved the
//! same way (an organization named only by `org_name` by its name).
//! A key appearing on several rows (a user on one `users.csv` row per
//! organization) is counted once, at its first row.

use std::collections::HashSet;

use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use serde_json::json;

use super::repair::RepairWriter;
use super::report::{EntityReport, Reason};
use super::rows::{
    domains_differ, metadata_differs, roles_missing, text_differs, verified_differs, Columns,
};
use super::VerifyError;
use crate::package::schema::{
    MEMBERSHIPS_HEADER, ORGANIZATIONS_HEADER, TOTP_SECRETS_HEADER, USERS_HEADER,
    USER_ROLE_ASSIGNMENTS_HEADER,
};

const USERS_SQL: &str = "SELECT p.*, \
    COALESCE(a.id, b.id) AS w_id, COALESCE(a.email, b.email) AS w_email, \
    COALESCE(a.first_name, b.first_name) AS w_first_name, \
    COALESCE(a.last_name, b.last_name) AS w_last_name, \
    COALESCE(a.email_verified, b.email_verified) AS w_email_verified, \
    COALESCE(a.external_id, b.external_id) AS w_external_id, \
    COALESCE(a.metadata, b.metadata) AS w_metadata, \
    ROW_NUMBER() OVER (PARTITION BY p.ukey ORDER BY p.rn) AS occurrence \
    FROM pu p \
    LEFT JOIN wu a ON p.ext = a.external_id \
    LEFT JOIN wu b ON a.id IS NULL AND p.email_l = b.email_l \
    ORDER BY p.rn";

const ORGS_SQL: &str = "SELECT p.*, \
    COALESCE(a.id, b.id) AS w_id, COALESCE(a.name, b.name) AS w_name, \
    COALESCE(a.domains, b.domains) AS w_domains, COALESCE(a.metadata, b.metadata) AS w_metadata, \
    ROW_NUMBER() OVER (PARTITION BY COALESCE(p.okey_ext, p.okey_id) ORDER BY p.rn) AS occurrence \
    FROM po p \
    LEFT JOIN ws_organizations a ON p.okey_ext = a.external_id \
    LEFT JOIN ws_organizations b ON a.id IS NULL AND p.okey_id = b.id \
    ORDER BY p.rn";

/// A membership-like view (`pm` or `pr`) with its WorkOS user, organization
/// and membership resolved.
fn resolved_sql(view: &str) -> String {
    format!(
        "SELECT p.*, COALESCE(ua.id, ub.id) AS w_user_id, \
         COALESCE(oa.id, ob.id, oc.id) AS w_org_id, \
         m.id AS w_membership_id, m.role_slugs AS w_role_slugs \
         FROM {view} p \
         LEFT JOIN wu ua ON p.ext = ua.external_id \
         LEFT JOIN wu ub ON ua.id IS NULL AND p.email_l = ub.email_l \
         LEFT JOIN ws_organizations oa ON p.okey_ext = oa.external_id \
         LEFT JOIN ws_organizations ob ON oa.id IS NULL AND p.okey_id = ob.id \
         LEFT JOIN ws_organizations oc ON oa.id IS NULL AND ob.id IS NULL AND p.okey_name = oc.name \
         LEFT JOIN ws_memberships m ON m.user_id = COALESCE(ua.id, ub.id) \
             AND m.organization_id = COALESCE(oa.id, ob.id, oc.id)"
    )
}

fn memberships_sql() -> String {
    format!(
        "SELECT r.*, ROW_NUMBER() OVER (PARTITION BY COALESCE(r.ext, r.email_l), \
         COALESCE(r.okey_ext, r.okey_id, r.okey_name) ORDER BY r.src, r.rn) AS occurrence \
         FROM ({}) r ORDER BY r.src, r.rn",
        resolved_sql("pm")
    )
}

fn role_assignments_sql() -> String {
    format!(
        "SELECT r.*, ROW_NUMBER() OVER (PARTITION BY COALESCE(r.ext, r.email_l), \
         COALESCE(r.okey_ext, r.okey_id), r.role_slug ORDER BY r.rn) AS occurrence \
         FROM ({}) r ORDER BY r.rn",
        resolved_sql("pr")
    )
}

/// Streams `sql` and calls `f` with each batch's columns and row count.
async fn for_each_row_batch(
    ctx: &SessionContext,
    sql: &str,
    mut f: impl FnMut(&Columns, usize) -> Result<(), VerifyError>,
) -> Result<(), VerifyError> {
    let mut stream = ctx.sql(sql).await?.execute_stream().await?;
    while let Some(batch) = stream.try_next().await? {
        let cols = Columns::new(&batch)?;
        f(&cols, batch.num_rows())?;
    }
    Ok(())
}

/// The cells of `header` from a row (`""` for NULL).
fn cells<'a>(cols: &'a Columns, header: &[&str], i: usize) -> Vec<&'a str> {
    header.iter().map(|h| cols.raw(h, i)).collect()
}

/// Users; returns the lower-cased emails of missing users (their TOTP rows
/// go to the repair package).
pub async fn compare_users(
    ctx: &SessionContext,
    report: &mut EntityReport,
    repair: &mut Option<RepairWriter>,
) -> Result<HashSet<String>, VerifyError> {
    let mut missing_emails = HashSet::new();
    for_each_row_batch(ctx, USERS_SQL, |c, n| {
        for i in 0..n {
            let first = c.number("occurrence", i) == 1;
            let (reason, fields) = if c.get("w_id", i).is_none() {
                (Some(Reason::Missing), Vec::new())
            } else {
                let mut fields = Vec::new();
                let email = c.get("email", i).unwrap_or("");
                let w_email = c.get("w_email", i).unwrap_or("");
                if email.to_lowercase() != w_email.to_lowercase() {
                    fields.push("email");
                }
                if text_differs(c.get("first_name", i), c.get("w_first_name", i))
                    || text_differs(c.get("last_name", i), c.get("w_last_name", i))
                {
                    fields.push("names");
                }
                if verified_differs(c.get("email_verified", i), c.boolean("w_email_verified", i)) {
                    fields.push("email_verified");
                }
                if text_differs(c.get("external_id", i), c.get("w_external_id", i)) {
                    fields.push("external_id");
                }
                if metadata_differs(c.get("metadata", i), c.get("w_metadata", i)) {
                    fields.push("metadata");
                }
                ((!fields.is_empty()).then_some(Reason::Different), fields)
            };
            if reason == Some(Reason::Missing) {
                missing_emails.insert(c.raw("email_l", i).to_string());
            }
            if first {
                report.count(reason, &fields, || {
                    json!({"email": c.raw("email", i), "external_id": c.raw("external_id", i),
                           "workos_id": c.get("w_id", i)})
                });
            }
            if let (Some(_), Some(w)) = (reason, repair.as_mut()) {
                w.user(&cells(c, USERS_HEADER, i))?;
            }
        }
        Ok(())
    })
    .await?;
    Ok(missing_emails)
}

/// Organizations of `organizations.csv`.
pub async fn compare_organizations(
    ctx: &SessionContext,
    report: &mut EntityReport,
    repair: &mut Option<RepairWriter>,
) -> Result<(), VerifyError> {
    for_each_row_batch(ctx, ORGS_SQL, |c, n| {
        for i in 0..n {
            let (reason, fields) = if c.get("w_id", i).is_none() {
                (Some(Reason::Missing), Vec::new())
            } else {
                let mut fields = Vec::new();
                if text_differs(c.get("org_name", i), c.get("w_name", i)) {
                    fields.push("name");
                }
                if domains_differ(c.get("domains", i), c.get("w_domains", i)) {
                    fields.push("domains");
                }
                if metadata_differs(c.get("metadata", i), c.get("w_metadata", i)) {
                    fields.push("metadata");
                }
                ((!fields.is_empty()).then_some(Reason::Different), fields)
            };
            if c.number("occurrence", i) != 1 {
                continue;
            }
            report.count(reason, &fields, || {
                json!({"org_id": c.raw("org_id", i), "org_external_id": c.raw("org_external_id", i),
                       "org_name": c.raw("org_name", i), "workos_id": c.get("w_id", i)})
            });
            if let (Some(_), Some(w)) = (reason, repair.as_mut()) {
                w.organization(&cells(c, ORGANIZATIONS_HEADER, i))?;
            }
        }
        Ok(())
    })
    .await
}

/// Missing, blocked or roles-different for a resolved membership-like row.
fn classify_membership(
    c: &Columns,
    i: usize,
    roles: Option<&str>,
) -> (Option<Reason>, Vec<&'static str>) {
    if c.get("w_user_id", i).is_none() || c.get("w_org_id", i).is_none() {
        return (Some(Reason::Blocked), Vec::new());
    }
    if c.get("w_membership_id", i).is_none() {
        return (Some(Reason::Missing), Vec::new());
    }
    if roles_missing(roles, c.get("w_role_slugs", i)) {
        return (Some(Reason::Different), vec!["roles"]);
    }
    (None, Vec::new())
}

fn membership_sample(c: &Columns, i: usize) -> serde_json::Value {
    json!({"email": c.raw("email", i), "external_id": c.raw("external_id", i),
           "org_id": c.raw("org_id", i), "org_external_id": c.raw("org_external_id", i),
           "org_name": c.raw("org_name", i), "role_slugs": c.raw("role_slugs", i),
           "workos_user_id": c.get("w_user_id", i), "workos_organization_id": c.get("w_org_id", i)})
}

/// Memberships from `users.csv` org columns and `organization_memberships.csv`
/// (one per (user, organization)); repair rows go to
/// `organization_memberships.csv`.
pub async fn compare_memberships(
    ctx: &SessionContext,
    report: &mut EntityReport,
    repair: &mut Option<RepairWriter>,
) -> Result<(), VerifyError> {
    for_each_row_batch(ctx, &memberships_sql(), |c, n| {
        for i in 0..n {
            if c.number("occurrence", i) != 1 {
                continue;
            }
            let (reason, fields) = classify_membership(c, i, c.get("role_slugs", i));
            report.count(reason, &fields, || membership_sample(c, i));
            if let (Some(_), Some(w)) = (reason, repair.as_mut()) {
                w.membership(&cells(c, MEMBERSHIPS_HEADER, i))?;
            }
        }
        Ok(())
    })
    .await
}

/// `user_role_assignments.csv`: the membership must hold the role.
pub async fn compare_role_assignments(
    ctx: &SessionContext,
    report: &mut EntityReport,
    repair: &mut Option<RepairWriter>,
) -> Result<(), VerifyError> {
    for_each_row_batch(ctx, &role_assignments_sql(), |c, n| {
        for i in 0..n {
            if c.number("occurrence", i) != 1 {
                continue;
            }
            let (reason, fields) = classify_membership(c, i, c.get("role_slug", i));
            report.count(reason, &fields, || {
                json!({"email": c.raw("email", i), "external_id": c.raw("external_id", i),
                       "role_slug": c.raw("role_slug", i), "org_external_id": c.raw("org_external_id", i)})
            });
            if let (Some(_), Some(w)) = (reason, repair.as_mut()) {
                w.role_assignment(&cells(c, USER_ROLE_ASSIGNMENTS_HEADER, i))?;
            }
        }
        Ok(())
    })
    .await
}

/// The `totp_secrets.csv` rows of missing users into the repair package.
pub async fn repair_totp(
    ctx: &SessionContext,
    missing_emails: &HashSet<String>,
    repair: &mut RepairWriter,
) -> Result<(), VerifyError> {
    if missing_emails.is_empty() {
        return Ok(());
    }
    for_each_row_batch(ctx, "SELECT * FROM pkg_totp", |c, n| {
        for i in 0..n {
            let email = c.raw("email", i).trim().to_lowercase();
            if missing_emails.contains(&email) {
                repair.totp(&cells(c, TOTP_SECRETS_HEADER, i))?;
            }
        }
        Ok(())
    })
    .await
}

const EXTRA_USERS_SQL: &str = "SELECT w.id, w.email, w.external_id FROM wu w \
    WHERE NOT EXISTS (SELECT 1 FROM pu p WHERE p.ext = w.external_id) \
    AND NOT EXISTS (SELECT 1 FROM pu p WHERE p.email_l = w.email_l)";

const EXTRA_ORGS_SQL: &str = "SELECT w.id, w.name, w.external_id FROM ws_organizations w \
    WHERE NOT EXISTS (SELECT 1 FROM po p WHERE p.okey_ext = w.external_id) \
    AND NOT EXISTS (SELECT 1 FROM po p WHERE p.okey_id = w.id) \
    AND NOT EXISTS (SELECT 1 FROM pm p WHERE p.okey_ext = w.external_id) \
    AND NOT EXISTS (SELECT 1 FROM pm p WHERE p.okey_id = w.id) \
    AND NOT EXISTS (SELECT 1 FROM pm p WHERE p.okey_name = w.name)";

/// Counts (and samples) what WorkOS holds beyond the package. Nothing is
/// ever deleted.
pub async fn count_extras(
    ctx: &SessionContext,
    users: &mut EntityReport,
    organizations: &mut EntityReport,
    memberships: &mut EntityReport,
) -> Result<(), VerifyError> {
    for_each_row_batch(ctx, EXTRA_USERS_SQL, |c, n| {
        for i in 0..n {
            users.count(Some(Reason::Extra), &[], || {
                json!({"workos_id": c.raw("id", i), "email": c.raw("email", i),
                       "external_id": c.get("external_id", i)})
            });
        }
        Ok(())
    })
    .await?;
    for_each_row_batch(ctx, EXTRA_ORGS_SQL, |c, n| {
        for i in 0..n {
            organizations.count(Some(Reason::Extra), &[], || {
                json!({"workos_id": c.raw("id", i), "name": c.raw("name", i),
                       "external_id": c.get("external_id", i)})
            });
        }
        Ok(())
    })
    .await?;
    let extra_memberships = format!(
        "SELECT m.id, m.user_id, m.organization_id FROM ws_memberships m \
         WHERE NOT EXISTS (SELECT 1 FROM ({}) r \
         WHERE r.w_user_id = m.user_id AND r.w_org_id = m.organization_id)",
        resolved_sql("pm")
    );
    for_each_row_batch(ctx, &extra_memberships, |c, n| {
        for i in 0..n {
            memberships.count(Some(Reason::Extra), &[], || {
                json!({"workos_id": c.raw("id", i), "user_id": c.raw("user_id", i),
                       "organization_id": c.raw("organization_id", i)})
            });
        }
        Ok(())
    })
    .await
}

/// How many of the package's keyed organizations the snapshot holds, and
/// how many organizations each side has: the environment check.
pub async fn organization_overlap(ctx: &SessionContext) -> Result<(u64, u64, u64), VerifyError> {
    let package = single_count(ctx, "SELECT COUNT(*) AS n FROM po").await?;
    let snapshot = single_count(ctx, "SELECT COUNT(*) AS n FROM ws_organizations").await?;
    let matched = single_count(
        ctx,
        "SELECT COUNT(*) AS n FROM po p \
         LEFT JOIN ws_organizations a ON p.okey_ext = a.external_id \
         LEFT JOIN ws_organizations b ON a.id IS NULL AND p.okey_id = b.id \
         WHERE COALESCE(a.id, b.id) IS NOT NULL",
    )
    .await?;
    Ok((package, snapshot, matched))
}

/// The `n` of a one-row query.
async fn single_count(ctx: &SessionContext, sql: &str) -> Result<u64, VerifyError> {
    let mut out = 0;
    for_each_row_batch(ctx, sql, |c, n| {
        if n > 0 {
            out = c.number("n", 0);
        }
        Ok(())
    })
    .await?;
    Ok(out)
}

/// Users with an email and with an external id in the package.
pub async fn user_key_counts(ctx: &SessionContext) -> Result<(u64, u64), VerifyError> {
    let users = single_count(ctx, "SELECT COUNT(*) AS n FROM pu").await?;
    let keyed = single_count(ctx, "SELECT COUNT(ext) AS n FROM pu").await?;
    Ok((users, keyed))
}
