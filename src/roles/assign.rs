//! Assigning roles to users (import.md §6.3 and the package's
//! `user_role_assignments.csv`, header
//! `email,user_id,external_id,role_slug,org_id,org_external_id`).
//!
//! The file is streamed and its rows are applied one at a time:
//! - the user is found by email (case-insensitive), else by `external_id`
//!   through `GET /user_management/users/external_id/{id}`. The `user_id`
//!   column is the *source* system's id and is never sent to WorkOS (the
//!   original sent it, and `external_id`, as a WorkOS user id);
//! - the organization is the row's `org_id`, else its `org_external_id`
//!   (looked up once per run), else the `--org-id` default;
//! - a missing membership is created with the role; an existing one gets the
//!   *union* of its roles and the row's slug (the original replaced the
//!   roles, so the last row for a user won). Re-running changes nothing.
//!   When the environment does not allow several roles (422
//!   `multiple_roles_not_enabled`) the row's slug replaces the role, with a
//!   warning.
//!
//! Rows are checked in file order, then looked up and applied by up to
//! `--concurrency` workers per stage. The membership writes are sharded by
//! WorkOS user id: one user's rows are applied by one worker, one at a time,
//! with an idempotent union update, so they need no grouping and never race
//! on a membership (union is order-independent). Each worker caches only the
//! last user or membership it saw (consecutive rows of one user cost no
//! extra lookups), so memory does not grow with the file. A dry run (no
//! client) checks the rows and makes no request.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use super::apply::{fatal_if_unauthorized, is_conflict};
use super::definitions::OrgRef;
use super::orgs::OrgResolver;
use super::rows::CsvRows;
use super::RolesError;
use crate::workos::{CreateMembership, WorkOsClient, WorkOsError};

/// Warnings kept in a report; later ones are only counted.
pub const MAX_KEPT_WARNINGS: usize = 1000;

/// Options of an assignment run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleAssignmentOptions {
    /// `--org-id`: the organization of rows that name none.
    pub default_org_id: Option<String>,
}

/// Totals of an assignment run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentReport {
    pub dry_run: bool,
    /// Data rows read.
    pub total_mappings: u64,
    /// Rows whose user now holds the role (dry run: rows that would be applied).
    pub assigned: u64,
    /// Of `assigned`: the membership already had the role (no write).
    pub already_assigned: u64,
    /// Of `assigned`: a membership was created for the row.
    pub memberships_created: u64,
    /// Rows lacking a role, a user reference or an organization.
    pub skipped: u64,
    /// Rows that could not be applied (including users not found).
    pub failures: u64,
    pub user_not_found: u64,
    /// The first [`MAX_KEPT_WARNINGS`] warnings.
    pub warnings: Vec<String>,
    /// All warnings, kept or not.
    pub warnings_total: u64,
}

/// What the header of an assignment file offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignmentHeader {
    /// `org_id` or `org_external_id` is a column.
    pub has_org_columns: bool,
}

struct Columns {
    email: Option<usize>,
    user_id: Option<usize>,
    external_id: Option<usize>,
    role_slug: Option<usize>,
    org_id: Option<usize>,
    org_external_id: Option<usize>,
}

fn columns(rows: &CsvRows) -> Result<Columns, RolesError> {
    let c = Columns {
        email: rows.column("email"),
        user_id: rows.column("user_id"),
        external_id: rows.column("external_id"),
        role_slug: rows.column("role_slug"),
        org_id: rows.column("org_id"),
        org_external_id: rows.column("org_external_id"),
    };
    if c.email.is_none() && c.user_id.is_none() && c.external_id.is_none() {
        return Err(RolesError::MappingMissingUserColumn);
    }
    if c.role_slug.is_none() {
        return Err(RolesError::MappingMissingRoleColumn);
    }
    Ok(c)
}

/// Opens an assignment file and checks its header only.
pub fn check_assignment_header(path: &Path) -> Result<AssignmentHeader, RolesError> {
    let rows = CsvRows::open(path)?;
    let c = columns(&rows)?;
    Ok(AssignmentHeader {
        has_org_columns: c.org_id.is_some() || c.org_external_id.is_some(),
    })
}

/// The last membership touched, so consecutive rows of one user and
/// organization need no new lookup.
struct CachedMembership {
    user_id: String,
    organization_id: String,
    membership_id: String,
    roles: Vec<String>,
}

/// The last user looked up (by email and external id), found or not.
struct CachedUser {
    email: Option<String>,
    external_id: Option<String>,
    user_id: Option<String>,
}

/// One row that passed the checks, on its way to a worker.
struct AssignmentJob {
    row: u64,
    slug: String,
    email: Option<String>,
    external_id: Option<String>,
    org: OrgRef,
}

/// Rows queued per worker.
const WORKER_QUEUE: usize = 64;

/// What the workers share.
struct Shared<'a> {
    client: &'a WorkOsClient,
    orgs: tokio::sync::Mutex<&'a mut OrgResolver>,
    multiple_roles_warned: AtomicBool,
}

/// A run's warnings tagged with their row, so the report can list them in
/// file order whatever worker produced them.
#[derive(Default)]
struct Tally {
    report: RoleAssignmentReport,
    messages: Vec<(u64, String)>,
}

impl Tally {
    fn note(&mut self, row: u64, message: String) {
        self.report.warnings_total += 1;
        if self.messages.len() < MAX_KEPT_WARNINGS {
            self.messages.push((row, message));
        }
    }

    fn skip(&mut self, row: u64, message: String) {
        self.report.skipped += 1;
        self.note(row, message);
    }

    fn fail(&mut self, row: u64, message: String) {
        self.report.failures += 1;
        self.note(row, message);
    }

    /// Adds a worker's counts and messages.
    fn absorb(&mut self, other: Tally) {
        let (r, o) = (&mut self.report, other.report);
        r.assigned += o.assigned;
        r.already_assigned += o.already_assigned;
        r.memberships_created += o.memberships_created;
        r.skipped += o.skipped;
        r.failures += o.failures;
        r.user_not_found += o.user_not_found;
        r.warnings_total += o.warnings_total;
        self.messages.extend(other.messages);
    }

    /// The report, with the first [`MAX_KEPT_WARNINGS`] messages in row
    /// order. (Each worker kept its first ones, so none of the overall
    /// first ones is missing.)
    fn finish(mut self) -> RoleAssignmentReport {
        self.messages.sort_by_key(|(row, _)| *row);
        self.messages.truncate(MAX_KEPT_WARNINGS);
        self.report.warnings = self.messages.into_iter().map(|(_, m)| m).collect();
        self.report
    }
}

/// The worker of `key` (a user's email / external id, or WorkOS user id):
/// one key always goes to the same worker, which takes its rows in order.
fn shard(key: &str, workers: usize) -> usize {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() % workers as u64) as usize
}

/// Streams `path` and assigns each row's role. `client: None` is a dry run.
///
/// Rows are checked in file order on this task, then go through two stages
/// of `--concurrency` workers each: [`resolve_rows`] (organization and user
/// lookups, sharded by email / external id) and [`apply_rows`] (the
/// membership write, sharded by WorkOS user id). Different users proceed in
/// parallel, bounded by the client's permits and rate limiter.
pub async fn assign_user_roles(
    client: Option<&WorkOsClient>,
    path: &Path,
    options: &RoleAssignmentOptions,
    orgs: &mut OrgResolver,
) -> Result<RoleAssignmentReport, RolesError> {
    let rows = CsvRows::open(path)?;
    let cols = columns(&rows)?;
    let default_org = options
        .default_org_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let mut tally = Tally::default();
    tally.report.dry_run = client.is_none();
    let workers = client.map_or(1, |c| c.concurrency().max(1));
    let mut senders = Vec::with_capacity(workers);
    let mut receivers = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (tx, rx) = tokio::sync::mpsc::channel::<AssignmentJob>(WORKER_QUEUE);
        senders.push(tx);
        receivers.push(rx);
    }
    let feed = async move {
        for row in rows {
            let row = row?;
            let n = row.row;
            tally.report.total_mappings += 1;
            if let Some(found) = row.ragged {
                tally.skip(
                    n,
                    format!(
                        "Row {n} (line {}): has {found} fields but the header has {} \u{2014} skipping",
                        row.line,
                        row.cells.len()
                    ),
                );
                continue;
            }
            let Some(slug) = row.get(cols.role_slug) else {
                tally.skip(n, format!("Row {n}: Missing role_slug \u{2014} skipping"));
                continue;
            };
            let email = row.get(cols.email).map(str::to_lowercase);
            let external_id = row.get(cols.external_id).map(str::to_string);
            if email.is_none() && external_id.is_none() {
                let message = if row.get(cols.user_id).is_some() {
                    format!(
                        "Row {n}: Missing email/external_id \u{2014} skipping (user_id is a source id and is never sent to WorkOS)"
                    )
                } else {
                    format!("Row {n}: Missing email/user_id \u{2014} skipping")
                };
                tally.skip(n, message);
                continue;
            }
            let Some(org) = OrgRef::pick(
                row.get(cols.org_id),
                row.get(cols.org_external_id),
                default_org,
            ) else {
                tally.skip(
                    n,
                    format!(
                        "Row {n}: No organization for role \"{slug}\" (org_id, org_external_id or --org-id) \u{2014} skipping"
                    ),
                );
                continue;
            };
            if client.is_none() {
                tally.report.assigned += 1;
                continue;
            }
            let key = email
                .as_deref()
                .or(external_id.as_deref())
                .unwrap_or_default();
            let worker = shard(key, workers);
            let job = AssignmentJob {
                row: n,
                slug: slug.to_string(),
                email,
                external_id,
                org,
            };
            if senders[worker].send(job).await.is_err() {
                break; // the worker stopped on a fatal error, reported by it
            }
        }
        drop(senders);
        Ok::<Tally, RolesError>(tally)
    };
    let Some(client) = client else {
        return Ok(feed.await?.finish());
    };
    let shared = Shared {
        client,
        orgs: tokio::sync::Mutex::new(orgs),
        multiple_roles_warned: AtomicBool::new(false),
    };
    let mut owners = Vec::with_capacity(workers);
    let mut owned = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (tx, rx) = tokio::sync::mpsc::channel::<ResolvedJob>(WORKER_QUEUE);
        owners.push(tx);
        owned.push(rx);
    }
    let resolving = futures::future::try_join_all(
        receivers
            .into_iter()
            .map(|rx| resolve_rows(&shared, rx, owners.clone())),
    );
    // Only the resolvers hold senders now: the appliers end when they do.
    drop(owners);
    let applying =
        futures::future::try_join_all(owned.into_iter().map(|rx| apply_rows(&shared, rx)));
    let (mut tally, resolved, applied) =
        futures::future::try_join3(feed, resolving, applying).await?;
    for part in resolved.into_iter().chain(applied) {
        tally.absorb(part);
    }
    Ok(tally.finish())
}

/// A row whose organization and user are known, on its way to the worker
/// that owns the user's memberships.
struct ResolvedJob {
    row: u64,
    slug: String,
    who: String,
    user_id: String,
    org_id: String,
}

/// First stage: finds each row's organization and user. Rows come sharded
/// by email / external id, so consecutive rows of one user reuse the last
/// lookup; the result goes to the worker owning that WorkOS user.
async fn resolve_rows(
    shared: &Shared<'_>,
    mut jobs: tokio::sync::mpsc::Receiver<AssignmentJob>,
    owners: Vec<tokio::sync::mpsc::Sender<ResolvedJob>>,
) -> Result<Tally, RolesError> {
    let client = shared.client;
    let mut tally = Tally::default();
    let mut last_user: Option<CachedUser> = None;
    while let Some(job) = jobs.recv().await {
        let AssignmentJob {
            row: n,
            slug,
            email,
            external_id,
            org,
        } = job;
        let who = email
            .clone()
            .or_else(|| external_id.clone())
            .unwrap_or_default();

        // Organization (external ids are looked up once per run).
        let resolved = shared.orgs.lock().await.resolve(client, &org).await;
        let org_id = match resolved {
            Ok(Some(id)) => id,
            Ok(None) => {
                tally.fail(
                    n,
                    format!(
                        "Row {n}: Organization not found for org_external_id \"{}\"",
                        org.value()
                    ),
                );
                continue;
            }
            Err(e) => {
                fatal_if_unauthorized(&e)?;
                tally.fail(
                    n,
                    format!(
                        "Row {n}: Failed to resolve organization for external_id {}: {e}",
                        org.value()
                    ),
                );
                continue;
            }
        };

        // User.
        let cached = last_user
            .as_ref()
            .filter(|u| u.email == email && u.external_id == external_id)
            .map(|u| u.user_id.clone());
        let user_id = match cached {
            Some(found) => found,
            None => match find_user(client, email.as_deref(), external_id.as_deref()).await {
                Ok(found) => {
                    last_user = Some(CachedUser {
                        email: email.clone(),
                        external_id: external_id.clone(),
                        user_id: found.clone(),
                    });
                    found
                }
                Err(e) => {
                    fatal_if_unauthorized(&e)?;
                    tally.fail(
                        n,
                        format!(
                            "Failed to assign role \"{slug}\": user lookup for {who} failed: {e}"
                        ),
                    );
                    continue;
                }
            },
        };
        let Some(user_id) = user_id else {
            tally.report.user_not_found += 1;
            tally.fail(n, format!("User not found: {who}"));
            continue;
        };
        let owner = &owners[shard(&user_id, owners.len())];
        let job = ResolvedJob {
            row: n,
            slug,
            who,
            user_id,
            org_id,
        };
        if owner.send(job).await.is_err() {
            break; // that worker stopped on a fatal error, reported by it
        }
    }
    Ok(tally)
}

/// Second stage: every row of one WorkOS user reaches the same worker, which
/// applies them one at a time, so two updates of one membership never race
/// (a user named by email in one row and by external id in another
/// included). Only the last membership is cached, so memory does not grow
/// with the file.
async fn apply_rows(
    shared: &Shared<'_>,
    mut jobs: tokio::sync::mpsc::Receiver<ResolvedJob>,
) -> Result<Tally, RolesError> {
    let client = shared.client;
    let mut tally = Tally::default();
    let mut last_membership: Option<CachedMembership> = None;
    while let Some(job) = jobs.recv().await {
        let ResolvedJob {
            row: n,
            slug,
            who,
            user_id,
            org_id,
        } = job;
        let cached = last_membership
            .take()
            .filter(|m| m.user_id == user_id && m.organization_id == org_id);
        match assign_one(client, &user_id, &org_id, &slug, cached).await {
            Ok((membership, effect)) => {
                tally.report.assigned += 1;
                match effect {
                    Effect::Unchanged => tally.report.already_assigned += 1,
                    Effect::Created => tally.report.memberships_created += 1,
                    Effect::Updated => {}
                    Effect::Replaced => {
                        if !shared.multiple_roles_warned.swap(true, Ordering::Relaxed) {
                            tally.note(
                                n,
                                format!(
                                    "Multiple roles are not enabled in this WorkOS environment: role \"{slug}\" replaced the roles of {who} in org {org_id} (and of later users with several roles)"
                                ),
                            );
                        }
                    }
                }
                last_membership = Some(membership);
            }
            Err(e) => {
                fatal_if_unauthorized(&e)?;
                tally.fail(
                    n,
                    format!("Failed to assign role \"{slug}\" to {who} in org {org_id}: {e}"),
                );
            }
        }
    }
    Ok(tally)
}

/// What a row changed.
enum Effect {
    Unchanged,
    Created,
    Updated,
    /// Union refused (single-role environment): the slug replaced the roles.
    Replaced,
}

/// The user by email, else by external id.
async fn find_user(
    client: &WorkOsClient,
    email: Option<&str>,
    external_id: Option<&str>,
) -> Result<Option<String>, WorkOsError> {
    if let Some(email) = email {
        if let Some(user) = client.find_user_by_email(email).await? {
            return Ok(Some(user.id));
        }
    }
    if let Some(ext) = external_id {
        if let Some(user) = client.get_user_by_external_id(ext).await? {
            return Ok(Some(user.id));
        }
    }
    Ok(None)
}

/// Gives `user_id` the role `slug` in `org_id`: creates the membership with
/// it, or updates the membership to the union of its roles and `slug`.
async fn assign_one(
    client: &WorkOsClient,
    user_id: &str,
    org_id: &str,
    slug: &str,
    cached: Option<CachedMembership>,
) -> Result<(CachedMembership, Effect), WorkOsError> {
    let current = match cached {
        Some(m) => Some(m),
        None => client
            .find_membership(user_id, org_id)
            .await?
            .map(|m| CachedMembership {
                roles: m.role_slugs(),
                membership_id: m.id,
                user_id: user_id.to_string(),
                organization_id: org_id.to_string(),
            }),
    };
    let mut current = match current {
        Some(m) => m,
        None => {
            let body = CreateMembership::new(org_id, user_id, &[slug.to_string()]);
            match client.create_membership(&body).await {
                Ok(m) => {
                    let mut roles = m.role_slugs();
                    if roles.is_empty() {
                        roles.push(slug.to_string());
                    }
                    return Ok((
                        CachedMembership {
                            user_id: user_id.to_string(),
                            organization_id: org_id.to_string(),
                            membership_id: m.id,
                            roles,
                        },
                        Effect::Created,
                    ));
                }
                // Created meanwhile (or inactive): read it and take the union.
                Err(e) if is_conflict(&e) => match client.find_membership(user_id, org_id).await? {
                    Some(m) => CachedMembership {
                        roles: m.role_slugs(),
                        membership_id: m.id,
                        user_id: user_id.to_string(),
                        organization_id: org_id.to_string(),
                    },
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
    };
    if current.roles.iter().any(|r| r == slug) {
        return Ok((current, Effect::Unchanged));
    }
    let mut union = current.roles.clone();
    union.push(slug.to_string());
    match client
        .update_membership_roles(&current.membership_id, &union)
        .await
    {
        Ok(_) => {
            current.roles = union;
            Ok((current, Effect::Updated))
        }
        Err(e) if e.code() == Some("multiple_roles_not_enabled") => {
            client
                .update_membership_roles(&current.membership_id, &[slug.to_string()])
                .await?;
            current.roles = vec![slug.to_string()];
            Ok((current, Effect::Replaced))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn header_checks() {
        let f = file("email,org_id\n");
        assert_eq!(
            check_assignment_header(f.path()).unwrap_err().to_string(),
            "User-role mapping CSV must have role_slug column"
        );
        let f = file("role_slug,org_id\n");
        assert_eq!(
            check_assignment_header(f.path()).unwrap_err().to_string(),
            "User-role mapping CSV must have email, user_id, or external_id column"
        );
        let f = file("email,role_slug\n");
        assert!(!check_assignment_header(f.path()).unwrap().has_org_columns);
        let f = file("email,user_id,external_id,role_slug,org_id,org_external_id\n");
        assert!(check_assignment_header(f.path()).unwrap().has_org_columns);
    }

    #[tokio::test]
    async fn dry_run_checks_rows_without_requests() {
        let f = file(
            "email,user_id,external_id,role_slug,org_id,org_external_id\n\
             a@x.com,,,admin,org_1,\n\
             ,src_1,,admin,org_1,\n\
             b@x.com,,,,org_1,\n\
             ,,ext-1,admin,,ext-org\n\
             c@x.com,,,admin,,\n",
        );
        let mut orgs = OrgResolver::new();
        let r = assign_user_roles(None, f.path(), &RoleAssignmentOptions::default(), &mut orgs)
            .await
            .unwrap();
        assert_eq!(r.total_mappings, 5);
        assert_eq!(r.assigned, 2);
        assert_eq!(r.skipped, 3);
        assert!(r.warnings[0].contains("user_id is a source id"));
        assert!(r.warnings[1].contains("Missing role_slug"));
        assert!(r.warnings[2].contains("No organization"));
        let with_default = RoleAssignmentOptions {
            default_org_id: Some("org_9".into()),
        };
        let r = assign_user_roles(None, f.path(), &with_default, &mut orgs)
            .await
            .unwrap();
        assert_eq!(r.assigned, 3);
    }
}
