//! Bulk-job engine with organizations (§4.6 + §4.4): lists every
//! organization and its members (roles inline), joins the memberships to the
//! export job's users by `user_id` with bounded memory, and writes the
//! package rows as organizations mode would.
//!
//! Memory stays flat however many users and memberships there are:
//! - organizations are written to organizations.csv as they are listed and
//!   travel inside each membership record (never held in a map);
//! - memberships `(user_id → org, role ids)` and job users
//!   `(user_id → user JSON)` go into one [`KeyedSpill`] partitioned by
//!   `user_id`; each partition is joined alone;
//! - the joined records are put back into job-file order through an
//!   [`OrderedSpill`] before being written.
//!
//! Output order (independent of the partition count): organizations in
//! listing order; then users in job-file order, each user followed by its
//! memberships in listing order (org listing order, then member order);
//! then the skipped records of members missing from the job file, in
//! listing order.

use std::sync::Arc;

use serde_json::{json, Value};

use super::bulk::{self, BulkError, BulkOutcome};
use super::checkpoint::ExportCheckpoint;
use super::client::{Auth0Client, Auth0Error};
use super::export::{
    write_bulk_user, write_member, write_org, Auth0ExportError, Auth0ExportOptions,
};
use super::mapping::{org_export_failed, skipped_user, Auth0Org};
use super::roles::RoleCatalog;
use crate::package::jsonl::JsonlRecord;
use crate::package::MigrationPackageWriter;
use crate::spill::{KeyedSpill, OrderedSpill, SpillError, SpilledEntry, PARTITIONS};

/// Environment variable overriding the number of join partitions (a test
/// and tuning knob; the output never depends on it).
pub const PARTITIONS_ENV: &str = "WORKOS_MIGRATE_BULK_JOIN_PARTITIONS";

/// Skip reason of a member whose user is not in the export job file.
pub const NOT_IN_EXPORT_JOB: &str = "not_in_export_job";

/// `seq` bit marking a membership record in the join spill (users sort
/// first inside a `user_id` group).
const MEMBERSHIP_BIT: u64 = 1 << 63;

/// What the bulk engine with organizations produced.
#[derive(Debug, Clone, Default)]
pub struct JoinOutcome {
    pub job: BulkOutcome,
    pub organizations: u64,
    pub memberships: u64,
    /// Members whose user was not in the job file.
    pub members_not_in_job: u64,
    /// Roles were listed with the members (false after a 403 fallback or
    /// when roles were not requested).
    pub roles_joined: bool,
}

/// Number of join partitions: [`PARTITIONS_ENV`] when it holds a number
/// ≥ 1, otherwise [`PARTITIONS`].
pub fn partitions_from_env() -> usize {
    std::env::var(PARTITIONS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n >= 1)
        .unwrap_or(PARTITIONS)
}

/// `--engine bulk-job` with identity entities: users from the export job,
/// organizations and memberships (and roles when `catalog` is given) from
/// the organization listing, joined by `user_id`.
pub async fn export_with_memberships(
    client: &Arc<Auth0Client>,
    o: &Auth0ExportOptions,
    catalog: Option<&RoleCatalog>,
    checkpoint: &ExportCheckpoint,
    pkg: &mut MigrationPackageWriter,
) -> Result<JoinOutcome, Auth0ExportError> {
    let mut spill =
        KeyedSpill::with_partitions("auth0-bulk-join", partitions_from_env()).map_err(spill_err)?;
    let mut outcome = JoinOutcome::default();
    // The job runs while organizations and members are listed.
    let (path, listing) = tokio::join!(
        bulk::run_job(client, &o.bulk, checkpoint),
        list_memberships(client, o, catalog.is_some(), pkg, &mut spill)
    );
    // The downloaded file stays in the checkpoint for a resumed run.
    let path = path?;
    let listing = listing?;
    outcome.organizations = listing.organizations;
    outcome.memberships = listing.memberships;
    outcome.roles_joined = listing.roles_inline;
    if let Some(w) = listing.role_warning {
        pkg.warn(&w)?;
    }

    let read = tokio::task::block_in_place(|| {
        let mut seq = 0u64;
        let job = bulk::read_job_file(&path, |user| {
            let key = user.get("user_id").and_then(Value::as_str).unwrap_or("");
            let payload = serde_json::to_vec(user).map_err(encode_err)?;
            spill
                .push(key.as_bytes(), seq, &payload)
                .map_err(spill_err)?;
            seq += 1;
            Ok(())
        });
        job.map(|j| (j, seq))
    });
    let (job, users) = read?;
    outcome.job = job;

    let joined = tokio::task::block_in_place(|| join(spill, users, outcome.memberships))?;
    outcome.members_not_in_job = joined.orphans;
    tokio::task::block_in_place(|| {
        write_joined(joined.users, o, catalog, pkg)?;
        write_joined(joined.not_in_job, o, catalog, pkg)
    })?;
    if outcome.job.unparsable > 0 {
        pkg.warn(&bulk::unparsable_lines_warning(&outcome.job))?;
    }
    Ok(outcome)
}

fn spill_err(e: SpillError) -> Auth0ExportError {
    Auth0ExportError::Bulk(BulkError::Spill(e))
}

fn encode_err(e: serde_json::Error) -> Auth0ExportError {
    Auth0ExportError::Bulk(BulkError::Encode(e.to_string()))
}

/// What the listing put into the spill.
struct Listing {
    organizations: u64,
    memberships: u64,
    roles_inline: bool,
    role_warning: Option<JsonlRecord>,
}

/// Organizations whose members are listed ahead of the one being written.
const LOOKAHEAD_ORGS: usize = 4;
/// Member pages buffered per organization listed ahead.
const PAGES_AHEAD: usize = 2;

/// One page of an organization's members, or why listing stopped.
enum MemberPage {
    Page {
        items: Vec<Value>,
        /// Roles came inline with these members.
        roles_inline: bool,
    },
    /// No `read:organization_member_roles`: roles are dropped from here on.
    RolesUnavailable(Auth0Error),
    Failed(Auth0Error),
}

/// Lists one organization's members into a bounded channel.
async fn list_org_members(
    client: Arc<Auth0Client>,
    org_id: String,
    page_size: u32,
    roles_inline: Arc<std::sync::atomic::AtomicBool>,
    tx: tokio::sync::mpsc::Sender<MemberPage>,
) {
    use std::sync::atomic::Ordering;
    let mut from: Option<String> = None;
    loop {
        let with_roles = roles_inline.load(Ordering::Relaxed);
        let page = match client
            .organization_members(&org_id, from.as_deref(), page_size, with_roles)
            .await
        {
            Ok(p) => p,
            Err(e) if with_roles && e.status() == Some(403) => {
                roles_inline.store(false, Ordering::Relaxed);
                if tx.send(MemberPage::RolesUnavailable(e)).await.is_err() {
                    return;
                }
                continue;
            }
            Err(e) => {
                let _ = tx.send(MemberPage::Failed(e)).await;
                return;
            }
        };
        let msg = MemberPage::Page {
            items: page.items,
            roles_inline: with_roles,
        };
        if tx.send(msg).await.is_err() {
            return;
        }
        match page.next {
            Some(n) => from = Some(n),
            None => return,
        }
    }
}

type OrgListing = Result<(Auth0Org, tokio::sync::mpsc::Receiver<MemberPage>), Auth0Error>;

/// Lists organizations (checkpoint pagination, `--orgs` filter) and starts a
/// member lister for each; at most [`LOOKAHEAD_ORGS`] run ahead of the
/// consumer, each at most [`PAGES_AHEAD`] pages ahead, so the request budget
/// stays busy while memory stays bounded.
async fn list_organizations(
    client: Arc<Auth0Client>,
    page_size: u32,
    filter: Option<std::collections::HashSet<String>>,
    roles_inline: Arc<std::sync::atomic::AtomicBool>,
    tx: tokio::sync::mpsc::Sender<OrgListing>,
) {
    let mut from: Option<String> = None;
    loop {
        let page = match client.organizations(from.as_deref(), page_size).await {
            Ok(p) => p,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        for item in &page.items {
            let Some(org) = Auth0Org::from_json(item) else {
                continue;
            };
            if filter.as_ref().is_some_and(|f| !f.contains(&org.id)) {
                continue;
            }
            // Wait for room before starting the next member lister.
            let Ok(permit) = tx.reserve().await else {
                return;
            };
            let (mtx, mrx) = tokio::sync::mpsc::channel(PAGES_AHEAD);
            tokio::spawn(list_org_members(
                client.clone(),
                org.id.clone(),
                page_size,
                roles_inline.clone(),
                mtx,
            ));
            permit.send(Ok((org, mrx)));
        }
        match page.next {
            Some(n) => from = Some(n),
            None => return,
        }
    }
}

/// Lists organizations and their members; writes organizations.csv and
/// pushes one record per membership, in listing order.
async fn list_memberships(
    client: &Arc<Auth0Client>,
    o: &Auth0ExportOptions,
    want_roles: bool,
    pkg: &mut MigrationPackageWriter,
    spill: &mut KeyedSpill,
) -> Result<Listing, Auth0ExportError> {
    let filter: Option<std::collections::HashSet<String>> =
        o.orgs.as_ref().map(|v| v.iter().cloned().collect());
    let mut listing = Listing {
        organizations: 0,
        memberships: 0,
        roles_inline: want_roles,
        role_warning: None,
    };
    let roles_flag = Arc::new(std::sync::atomic::AtomicBool::new(want_roles));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<OrgListing>(LOOKAHEAD_ORGS);
    let lister = tokio::spawn(list_organizations(
        client.clone(),
        o.page_size,
        filter,
        roles_flag,
        tx,
    ));
    while let Some(next) = rx.recv().await {
        let (org, mut pages) = match next {
            Ok(x) => x,
            Err(e) => {
                lister.abort();
                return Err(e.into());
            }
        };
        write_org(pkg, &org)?;
        listing.organizations += 1;
        let org_json = org_to_json(&org);
        while let Some(page) = pages.recv().await {
            let (items, roles_inline) = match page {
                MemberPage::Page {
                    items,
                    roles_inline,
                } => (items, roles_inline),
                MemberPage::RolesUnavailable(e) => {
                    // No read:organization_member_roles: members without
                    // roles from here on, one warning for the export.
                    listing.roles_inline = false;
                    if listing.role_warning.is_none() {
                        listing.role_warning = Some(member_roles_unavailable(&e));
                    }
                    continue;
                }
                MemberPage::Failed(e) => {
                    let name = if org.name.is_empty() {
                        &org.id
                    } else {
                        &org.name
                    };
                    pkg.warn(&org_export_failed(
                        &org,
                        &format!("Failed to export org {name}: {e}"),
                    ))?;
                    break;
                }
            };
            for member in &items {
                let Some(user_id) = member
                    .get("user_id")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                else {
                    pkg.skip(&skipped_user(None, None, Some(&org), "no_email", None))?;
                    continue;
                };
                let roles = if roles_inline && listing.roles_inline {
                    Value::Array(
                        member
                            .get("roles")
                            .and_then(Value::as_array)
                            .map(|r| r.iter().map(role_ref).collect())
                            .unwrap_or_default(),
                    )
                } else {
                    Value::Null
                };
                let payload = serde_json::to_vec(&json!([org_json, roles])).map_err(encode_err)?;
                spill
                    .push(
                        user_id.as_bytes(),
                        MEMBERSHIP_BIT | listing.memberships,
                        &payload,
                    )
                    .map_err(spill_err)?;
                listing.memberships += 1;
            }
        }
    }
    let _ = lister.await;
    Ok(listing)
}

fn member_roles_unavailable(e: &Auth0Error) -> JsonlRecord {
    JsonlRecord::warning(
        "member_role_fetch_failed",
        &format!(
            "Failed to fetch Auth0 organization member roles (read:organization_member_roles missing?); memberships were exported without roles: {e}"
        ),
    )
}

/// The parts of a listed role the catalog reads.
fn role_ref(r: &Value) -> Value {
    json!({"id": r.get("id"), "name": r.get("name")})
}

fn org_to_json(org: &Auth0Org) -> Value {
    json!({
        "id": org.id,
        "name": org.name,
        "display_name": org.display_name,
        "metadata": org.metadata,
    })
}

/// The join result: users in job order, then members missing from the
/// job in listing order (apart, so users spread over every partition).
struct Joined {
    users: OrderedSpill,
    not_in_job: OrderedSpill,
    orphans: u64,
}

/// Record kinds in the ordered spill.
const KIND_USER: u8 = b'U';
const KIND_ORPHAN: u8 = b'O';

/// Joins partition by partition; a user record becomes `U [user, m…]` at
/// its job position, a membership without a user becomes `O [user_id, m]`
/// at its listing position.
fn join(spill: KeyedSpill, users: u64, memberships: u64) -> Result<Joined, Auth0ExportError> {
    let mut ordered = OrderedSpill::new("auth0-bulk-order", users).map_err(spill_err)?;
    let mut not_in_job =
        OrderedSpill::new("auth0-bulk-not-in-job", memberships).map_err(spill_err)?;
    let mut failed: Option<SpillError> = None;
    let mut orphans = 0u64;
    let mut buf: Vec<u8> = Vec::new();
    spill
        .for_each_group(|key, entries: &[SpilledEntry<'_>]| {
            if failed.is_some() {
                return;
            }
            let split = entries.partition_point(|e| e.seq & MEMBERSHIP_BIT == 0);
            let (user_entries, member_entries) = entries.split_at(split);
            if user_entries.is_empty() {
                for m in member_entries {
                    buf.clear();
                    buf.push(KIND_ORPHAN);
                    buf.push(b'[');
                    if serde_json::to_writer(&mut buf, &String::from_utf8_lossy(key)).is_err() {
                        continue;
                    }
                    buf.push(b',');
                    buf.extend_from_slice(m.payload);
                    buf.push(b']');
                    orphans += 1;
                    if let Err(e) = not_in_job.push(m.seq & !MEMBERSHIP_BIT, &buf) {
                        failed = Some(e);
                        return;
                    }
                }
                return;
            }
            for u in user_entries {
                buf.clear();
                buf.push(KIND_USER);
                buf.push(b'[');
                buf.extend_from_slice(u.payload);
                for m in member_entries {
                    buf.push(b',');
                    buf.extend_from_slice(m.payload);
                }
                buf.push(b']');
                if let Err(e) = ordered.push(u.seq, &buf) {
                    failed = Some(e);
                    return;
                }
            }
        })
        .map_err(spill_err)?;
    if let Some(e) = failed {
        return Err(spill_err(e));
    }
    Ok(Joined {
        users: ordered,
        not_in_job,
        orphans,
    })
}

/// A membership as spilled: the organization and its roles (`None` when
/// roles were not listed).
fn parse_membership(v: &Value) -> Option<(Auth0Org, Option<Vec<Value>>)> {
    let org = Auth0Org::from_json(v.get(0)?)?;
    let roles = v.get(1).and_then(Value::as_array).cloned();
    Some((org, roles))
}

/// Error of the ordered write-out: reading the spill back, or writing.
#[derive(Debug, thiserror::Error)]
enum WriteOutError {
    #[error(transparent)]
    Spill(#[from] SpillError),
    #[error(transparent)]
    Export(#[from] Auth0ExportError),
}

impl From<crate::package::writer::PackageWriteError> for WriteOutError {
    fn from(e: crate::package::writer::PackageWriteError) -> Self {
        Self::Export(e.into())
    }
}

/// Writes the joined records in order.
fn write_joined(
    ordered: OrderedSpill,
    o: &Auth0ExportOptions,
    catalog: Option<&RoleCatalog>,
    pkg: &mut MigrationPackageWriter,
) -> Result<(), Auth0ExportError> {
    let written = ordered.for_each_in_order(|_, record| -> Result<(), WriteOutError> {
        let Some((&kind, body)) = record.split_first() else {
            return Ok(());
        };
        let value: Value = serde_json::from_slice(body).map_err(encode_err)?;
        let Some(items) = value.as_array() else {
            return Ok(());
        };
        let Some((head, memberships)) = items.split_first() else {
            return Ok(());
        };
        match kind {
            KIND_USER if memberships.is_empty() => {
                write_bulk_user(pkg, o.include_federated_users, head)?;
            }
            KIND_USER => {
                let member_id = head.get("user_id").and_then(Value::as_str);
                for m in memberships {
                    let Some((org, roles)) = parse_membership(m) else {
                        continue;
                    };
                    write_member(
                        pkg,
                        o,
                        catalog,
                        &org,
                        member_id,
                        Ok(Some(head.clone())),
                        roles.map(Ok),
                    )?;
                }
            }
            KIND_ORPHAN => {
                let member_id = head.as_str();
                for m in memberships {
                    let Some((org, _)) = parse_membership(m) else {
                        continue;
                    };
                    pkg.skip(&skipped_user(
                        member_id,
                        None,
                        Some(&org),
                        NOT_IN_EXPORT_JOB,
                        Some("The organization member is not in the Auth0 export job file (e.g. --bulk-connection-id restricted the job to another connection)."),
                    ))?;
                }
            }
            _ => {}
        }
        Ok(())
    });
    match written {
        Ok(()) => Ok(()),
        Err(WriteOutError::Spill(e)) => Err(spill_err(e)),
        Err(WriteOutError::Export(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(id: &str) -> Auth0Org {
        Auth0Org::from_json(&json!({"id": id, "name": id})).unwrap()
    }

    fn membership(org_id: &str) -> Vec<u8> {
        serde_json::to_vec(&json!([org_to_json(&org(org_id)), [{"id": "r1", "name": "R"}]]))
            .unwrap()
    }

    /// Runs the join with `partitions` and returns the ordered records.
    fn run(partitions: usize) -> (Vec<(u64, Vec<u8>)>, u64) {
        let mut spill = KeyedSpill::with_partitions("join-test", partitions).unwrap();
        // Memberships first (listing order), users after (job order).
        let members = [("b", "o1"), ("x", "o1"), ("a", "o2"), ("b", "o2")];
        for (i, (u, o)) in members.iter().enumerate() {
            spill
                .push(u.as_bytes(), MEMBERSHIP_BIT | i as u64, &membership(o))
                .unwrap();
        }
        for (i, u) in ["a", "b", "c"].iter().enumerate() {
            let user = serde_json::to_vec(&json!({"user_id": u})).unwrap();
            spill.push(u.as_bytes(), i as u64, &user).unwrap();
        }
        let joined = join(spill, 3, members.len() as u64).unwrap();
        let mut out = Vec::new();
        for ordered in [joined.users, joined.not_in_job] {
            ordered
                .for_each_in_order::<_, SpillError>(|seq, p| {
                    out.push((seq, p.to_vec()));
                    Ok(())
                })
                .unwrap();
        }
        (out, joined.orphans)
    }

    #[test]
    fn joins_in_job_order_with_memberships_in_listing_order() {
        let (out, orphans) = run(PARTITIONS);
        assert_eq!(orphans, 1);
        let seqs: Vec<u64> = out.iter().map(|(s, _)| *s).collect();
        // Users 0..3, then the orphan membership #1.
        assert_eq!(seqs, [0, 1, 2, 1]);
        let parse = |p: &[u8]| -> (u8, Value) { (p[0], serde_json::from_slice(&p[1..]).unwrap()) };
        let (k, b) = parse(&out[1].1);
        assert_eq!(k, KIND_USER);
        assert_eq!(b[0]["user_id"], "b");
        assert_eq!(b[1][0]["id"], "o1");
        assert_eq!(b[2][0]["id"], "o2");
        let (k, c) = parse(&out[2].1);
        assert_eq!((k, c.as_array().unwrap().len()), (KIND_USER, 1));
        let (k, x) = parse(&out[3].1);
        assert_eq!(k, KIND_ORPHAN);
        assert_eq!(x[0], "x");
        let (org, roles) = parse_membership(&x[1]).unwrap();
        assert_eq!(org.id, "o1");
        assert_eq!(roles.unwrap()[0]["id"], "r1");
    }

    #[test]
    fn output_does_not_depend_on_the_partition_count() {
        assert_eq!(run(1), run(PARTITIONS));
        assert_eq!(run(3), run(PARTITIONS));
    }
}
