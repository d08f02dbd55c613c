//! `export auth0`: an Auth0 tenant → a migration package (export-and-package.md
//! §4.3): role catalog, identity export by engine (organizations mode,
//! metadata mode, bulk job), SSO hand-off, manifest and summary.
//!
//! Everything that can fail before any data is read (options, the tenant
//! address, the connection test) fails before the package directory is
//! touched; a failure later leaves the directory without `manifest.json`.
//!
//! Organizations mode is a pipeline: one task lists organizations and their
//! members (checkpoint pagination, roles inline when the token allows) into a
//! bounded channel; member profiles are fetched concurrently (the client
//! bounds requests in flight and paces them) and written in member order.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use super::bulk::{self, BulkOptions};
use super::bulk_join;
use super::checkpoint::{ExportCheckpoint, PackageSink, Segment, Tee};
use super::client::{Auth0Client, Auth0ClientConfig, Auth0Error, Auth0Stats, TenantAddress};
use super::mapping::{
    blocked_user_warning, is_federated, map_user, org_export_failed, org_from_metadata,
    organization_fields, skipped_user, Auth0Org, MappedUser, UserRecord,
};
use super::roles::{
    assignment_fields, member_role_fetch_failed, role_assignments_unavailable_bulk_mode,
    role_assignments_unavailable_metadata_mode, role_catalog_fetch_failed, MemberRoles,
    RoleCatalog,
};
use super::sso::{
    classify, is_missing_options_scope, map_connections,
    missing_connections_options_scope_connection, missing_connections_options_scope_listing,
    needs_hydration, org_connection_fetch_failed, secret_redaction, Auth0SsoInput,
};
use crate::package::schema::{
    MEMBERSHIPS, ORGANIZATIONS, PROXY_ROUTES, ROLE_DEFINITIONS, USERS, USER_ROLE_ASSIGNMENTS,
};
use crate::package::sso::HandoffNotes;
use crate::package::writer::{create_private_file, PackageWriteError};
use crate::package::{Manifest, MigrationPackageWriter, PackageOptions};
use crate::sources::sso::{CustomAttributeMappingRow, OidcConnectionRow, SamlConnectionRow};

/// Entities `export auth0` accepts (§1.5).
pub const SUPPORTED_ENTITIES: [&str; 5] = ["users", "organizations", "memberships", "roles", "sso"];

/// Path of the raw connection dump inside the package (§1.10).
pub const RAW_CONNECTIONS: &str = "raw/auth0-connections.jsonl";

/// Errors of an Auth0 export; one line each, no secrets.
#[derive(Debug, thiserror::Error)]
pub enum Auth0ExportError {
    #[error("{0}")]
    Options(String),
    #[error("Auth0 connection failed: {0}")]
    Connection(Auth0Error),
    #[error(transparent)]
    Api(#[from] Auth0Error),
    #[error(transparent)]
    Package(#[from] PackageWriteError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Bulk(#[from] bulk::BulkError),
    #[error(transparent)]
    Checkpoint(#[from] super::checkpoint::CheckpointError),
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// Identity engine (`--engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    ManagementApi,
    BulkJob,
}

impl Engine {
    pub fn parse(v: &str) -> Result<Self, String> {
        match v {
            "management-api" => Ok(Self::ManagementApi),
            "bulk-job" => Ok(Self::BulkJob),
            other => Err(format!(
                "--engine must be \"management-api\" or \"bulk-job\", got \"{other}\""
            )),
        }
    }
}

/// The normalised `--entities` list (§1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entities(pub Vec<String>);

impl Entities {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut list: Vec<String> = Vec::new();
        for e in raw.split(',').map(|e| e.trim().to_lowercase()) {
            if e.is_empty() || list.contains(&e) {
                continue;
            }
            if e != "all" && !SUPPORTED_ENTITIES.contains(&e.as_str()) {
                return Err(format!(
                    "Unsupported Auth0 package entity \"{e}\". Supported entities: users, organizations, memberships, roles, sso"
                ));
            }
            list.push(e);
        }
        if list.iter().any(|e| e == "all") {
            return Ok(Self(
                SUPPORTED_ENTITIES.iter().map(|s| s.to_string()).collect(),
            ));
        }
        if list.is_empty() {
            list = ["users", "organizations", "memberships"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        }
        Ok(Self(list))
    }

    fn has(&self, e: &str) -> bool {
        self.0.iter().any(|x| x == e)
    }

    /// Users, organizations and memberships are written together (§4.3).
    pub fn identity(&self) -> bool {
        self.has("users") || self.has("organizations") || self.has("memberships")
    }
    pub fn memberships(&self) -> bool {
        self.has("memberships")
    }
    pub fn roles(&self) -> bool {
        self.has("roles")
    }
    pub fn sso(&self) -> bool {
        self.has("sso")
    }
}

/// Everything `export auth0` needs.
#[derive(Debug, Clone)]
pub struct Auth0ExportOptions {
    pub domain: String,
    pub client_id: String,
    pub client_secret: String,
    pub output_dir: PathBuf,
    pub entities: Entities,
    pub include_secrets: bool,
    pub orgs: Option<Vec<String>>,
    pub page_size: u32,
    pub rate_limit: Option<f64>,
    pub concurrency: usize,
    pub use_metadata: bool,
    pub metadata_org_id_field: Option<String>,
    pub metadata_org_name_field: Option<String>,
    pub include_federated_users: bool,
    pub engine: Engine,
    pub bulk: BulkOptions,
    /// Names the export checkpoint (`--job-id`; default `auth0-export`).
    pub job_id: Option<String>,
    /// Continue the checkpoint of `job_id` instead of starting over.
    pub resume: bool,
    pub quiet: bool,
}

/// The checkpoint name when `--job-id` is not given.
pub const DEFAULT_JOB_ID: &str = "auth0-export";

impl Auth0ExportOptions {
    /// The options that shape the package (a resumed run must use the same).
    fn fingerprint(&self) -> Value {
        serde_json::json!({
            "domain": self.domain.trim(),
            "entities": self.entities.0,
            "includeSecrets": self.include_secrets,
            "orgs": self.orgs,
            "useMetadata": self.use_metadata,
            "metadataOrgIdField": self.metadata_org_id_field,
            "metadataOrgNameField": self.metadata_org_name_field,
            "includeFederatedUsers": self.include_federated_users,
            "engine": format!("{:?}", self.engine),
        })
    }
}

/// The result of a successful export.
#[derive(Debug, Clone)]
pub struct Auth0ExportSummary {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub stats: Auth0Stats,
    pub duration: Duration,
    pub roles_requested: bool,
    pub sso_requested: bool,
}

/// Checks option values that need no network (`--page-size`, `--rate-limit`,
/// `--user-fetch-concurrency`, the domain).
pub fn check_options(o: &Auth0ExportOptions) -> Result<TenantAddress, Auth0ExportError> {
    let bad = |m: String| Err(Auth0ExportError::Options(m));
    if o.page_size == 0 || o.page_size > 100 {
        return bad(format!(
            "--page-size must be between 1 and 100 (Auth0's largest page), got {}",
            o.page_size
        ));
    }
    if let Some(r) = o.rate_limit {
        if !(r.is_finite() && r > 0.0 && r <= 10_000.0) {
            return bad(format!(
                "--rate-limit must be a number of requests per second between 1 and 10000, got {r}"
            ));
        }
    }
    if o.concurrency == 0 || o.concurrency > 1000 {
        return bad(format!(
            "--user-fetch-concurrency must be between 1 and 1000, got {}",
            o.concurrency
        ));
    }
    for (name, v) in [
        ("--client-id", &o.client_id),
        ("--client-secret", &o.client_secret),
    ] {
        if v.trim().is_empty() {
            return bad(format!("Missing required credential {name}"));
        }
    }
    if let Some(orgs) = &o.orgs {
        if orgs.is_empty() {
            return bad("--orgs names no organization".into());
        }
    }
    TenantAddress::parse(&o.domain).map_err(Auth0ExportError::Api)
}

/// Runs the export on its own runtime.
pub fn export_auth0(o: &Auth0ExportOptions) -> Result<Auth0ExportSummary, Auth0ExportError> {
    let tenant = check_options(o)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Auth0ExportError::Runtime)?;
    rt.block_on(run(o, tenant))
}

async fn run(
    o: &Auth0ExportOptions,
    tenant: TenantAddress,
) -> Result<Auth0ExportSummary, Auth0ExportError> {
    let started = Instant::now();
    let mut cfg = Auth0ClientConfig::new(tenant, o.client_id.clone(), o.client_secret.clone());
    cfg.rate_limit = o.rate_limit;
    cfg.concurrency = o.concurrency;
    let client = Auth0Client::new(cfg)?;
    client
        .connection_test()
        .await
        .map_err(Auth0ExportError::Connection)?;

    let sso_requested = o.entities.sso();
    let mut popts = PackageOptions::new("auth0");
    popts.source_tenant = Some(o.domain.trim().to_string());
    popts.entities_requested = o.entities.0.clone();
    popts.handoff_notes = if sso_requested {
        HandoffNotes::Auth0WithSso {
            secrets_included: o.include_secrets,
        }
    } else {
        HandoffNotes::Auth0WithoutSso
    };
    let redaction = secret_redaction(sso_requested, o.include_secrets);
    popts.secrets_redacted = Some(redaction.redacted);
    popts.secret_redaction = Some(redaction);
    let mut pkg = MigrationPackageWriter::create(&o.output_dir, popts)?;
    let checkpoint = ExportCheckpoint::open(
        &o.output_dir,
        o.job_id.as_deref().unwrap_or(DEFAULT_JOB_ID),
        o.resume,
        &o.fingerprint(),
    )?;

    // Role catalog first (§4.3 step 4).
    let catalog = if o.entities.roles() {
        match client.roles(o.page_size).await {
            Ok(roles) => {
                let (catalog, warnings) = RoleCatalog::from_roles(roles);
                for row in catalog.definition_rows() {
                    pkg.write_row(&ROLE_DEFINITIONS, &row)?;
                }
                for w in &warnings {
                    pkg.warn(w)?;
                }
                Some(catalog)
            }
            Err(e) => {
                pkg.warn(&role_catalog_fetch_failed(&e.to_string()))?;
                Some(RoleCatalog::from_roles(Vec::new()).0)
            }
        }
    } else {
        None
    };

    if o.entities.identity() {
        match o.engine {
            Engine::BulkJob if o.entities.memberships() => {
                // Memberships and roles joined to the job's users (§4.6).
                bulk_join::export_with_memberships(
                    &client,
                    o,
                    catalog.as_ref(),
                    &checkpoint,
                    &mut pkg,
                )
                .await?;
            }
            Engine::BulkJob => {
                bulk::export_users(&client, o, &checkpoint, &mut pkg).await?;
                if catalog.is_some() {
                    pkg.warn(&role_assignments_unavailable_bulk_mode())?;
                }
            }
            Engine::ManagementApi if o.use_metadata => {
                if catalog.is_some() {
                    pkg.warn(&role_assignments_unavailable_metadata_mode())?;
                }
                metadata_mode(&client, o, &checkpoint, &mut pkg).await?;
            }
            Engine::ManagementApi => {
                organizations_mode(&client, o, catalog.as_ref(), &checkpoint, &mut pkg).await?;
            }
        }
    }

    if sso_requested {
        sso_handoff(&client, o, &mut pkg).await?;
    }

    let manifest = pkg.finish()?;
    checkpoint.remove(&o.output_dir);
    Ok(Auth0ExportSummary {
        dir: std::fs::canonicalize(&o.output_dir).unwrap_or_else(|_| o.output_dir.clone()),
        manifest,
        stats: client.stats(),
        duration: started.elapsed(),
        roles_requested: o.entities.roles(),
        sso_requested,
    })
}

/// Writes one exported user: its users.csv row, the membership row when it
/// has an organization, and their upload rows.
pub(crate) fn write_user<S: PackageSink + ?Sized>(
    pkg: &mut S,
    user: &MappedUser,
    org: Option<&Auth0Org>,
    role_slugs: &str,
) -> Result<(), PackageWriteError> {
    pkg.row(&USERS, &user.users_csv_fields(org, role_slugs))?;
    pkg.upload_user([
        &user.external_id,
        &user.email,
        &user.email_verified,
        &user.first_name,
        &user.last_name,
        "",
    ])?;
    if let Some(org) = org {
        pkg.row(&MEMBERSHIPS, &user.membership_fields(org, role_slugs))?;
        pkg.upload_membership(&org.id, &user.external_id)?;
    }
    for warning in user.limit_warnings(org) {
        pkg.warn(&warning)?;
    }
    Ok(())
}

/// Writes an organization row and its upload row.
pub(crate) fn write_org<S: PackageSink + ?Sized>(
    pkg: &mut S,
    org: &Auth0Org,
) -> Result<(), PackageWriteError> {
    let fields = organization_fields(org);
    let cells: Vec<&str> = fields.iter().map(String::as_str).collect();
    pkg.row(&ORGANIZATIONS, &cells)?;
    pkg.upload_org(&org.id, org.label())
}

/// What to do with one user record: skip (reason) or export.
pub(crate) enum Verdict {
    Skip(Skip),
    Export(MappedUser),
}

/// Why a user is skipped: the `reason`, and the `error` text when there is
/// one (the size of a cell over 64 KiB, never its content).
pub(crate) struct Skip {
    pub reason: &'static str,
    pub error: Option<String>,
}

impl Skip {
    fn reason(reason: &'static str) -> Self {
        Self {
            reason,
            error: None,
        }
    }
}

pub(crate) fn judge<U: UserRecord + ?Sized>(user: &U, include_federated: bool) -> Verdict {
    let has_email = user
        .field("email")
        .and_then(Value::as_str)
        .is_some_and(|e| !e.is_empty());
    if !has_email {
        return Verdict::Skip(Skip::reason("no_email"));
    }
    if !include_federated && is_federated(user) {
        return Verdict::Skip(Skip::reason("federated_user"));
    }
    let mapped = map_user(user);
    match mapped.cells().oversized() {
        Some(over) => Verdict::Skip(Skip {
            reason: over.reason(),
            error: Some(over.error()),
        }),
        None => Verdict::Export(mapped),
    }
}

fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

// ---------------------------------------------------------------------------
// Organizations mode (§4.4)

/// Work items of the organizations pipeline, in output order.
enum Work {
    Org(Arc<Auth0Org>),
    /// A finished organization of the checkpoint: replayed, not fetched.
    Replay(Arc<Auth0Org>),
    Member {
        org: Arc<Auth0Org>,
        member: Value,
        /// Roles listed inline with the member (`fields=roles`).
        inline_roles: Option<Vec<Value>>,
    },
    OrgFailed(Arc<Auth0Org>, String),
    ListFailed(Auth0Error),
}

/// A fetched member, ready to write.
enum Fetched {
    Org(Arc<Auth0Org>),
    Replay(Arc<Auth0Org>),
    Member {
        org: Arc<Auth0Org>,
        member_id: Option<String>,
        user: Result<Option<Value>, Auth0Error>,
        roles: Option<Result<Vec<Value>, Auth0Error>>,
    },
    OrgFailed(Arc<Auth0Org>, String),
    ListFailed(Auth0Error),
}

async fn list_organizations_and_members(
    client: Arc<Auth0Client>,
    page_size: u32,
    filter: Option<Vec<String>>,
    want_roles: bool,
    finished: HashSet<String>,
    tx: mpsc::Sender<Work>,
) {
    let filter: Option<HashSet<String>> = filter.map(|f| f.into_iter().collect());
    let mut inline_roles = want_roles;
    let mut from: Option<String> = None;
    loop {
        let page = match client.organizations(from.as_deref(), page_size).await {
            Ok(p) => p,
            Err(e) => {
                let _ = tx.send(Work::ListFailed(e)).await;
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
            let org = Arc::new(org);
            if finished.contains(&org.id) {
                if tx.send(Work::Replay(org)).await.is_err() {
                    return;
                }
                continue;
            }
            if tx.send(Work::Org(org.clone())).await.is_err() {
                return;
            }
            let mut mfrom: Option<String> = None;
            loop {
                let members = match client
                    .organization_members(&org.id, mfrom.as_deref(), page_size, inline_roles)
                    .await
                {
                    Ok(p) => p,
                    Err(e) if inline_roles && e.status() == Some(403) && mfrom.is_none() => {
                        // No read:organization_member_roles for inline roles:
                        // fall back to the per-member endpoint.
                        inline_roles = false;
                        continue;
                    }
                    Err(e) => {
                        let _ = tx.send(Work::OrgFailed(org.clone(), e.to_string())).await;
                        break;
                    }
                };
                for member in members.items {
                    let roles = if inline_roles {
                        Some(
                            member
                                .get("roles")
                                .and_then(Value::as_array)
                                .cloned()
                                .unwrap_or_default(),
                        )
                    } else {
                        None
                    };
                    let work = Work::Member {
                        org: org.clone(),
                        member,
                        inline_roles: roles,
                    };
                    if tx.send(work).await.is_err() {
                        return;
                    }
                }
                match members.next {
                    Some(n) => mfrom = Some(n),
                    None => break,
                }
            }
        }
        match page.next {
            Some(n) => from = Some(n),
            None => return,
        }
    }
}

async fn organizations_mode(
    client: &Arc<Auth0Client>,
    o: &Auth0ExportOptions,
    catalog: Option<&RoleCatalog>,
    checkpoint: &ExportCheckpoint,
    pkg: &mut MigrationPackageWriter,
) -> Result<(), Auth0ExportError> {
    let want_roles = catalog.is_some();
    let (tx, rx) = mpsc::channel::<Work>(o.page_size as usize * 4);
    let lister = tokio::spawn(list_organizations_and_members(
        client.clone(),
        o.page_size,
        o.orgs.clone(),
        want_roles,
        checkpoint.finished().clone(),
        tx,
    ));
    let fetch_client = client.clone();
    let stream = tokio_stream_from(rx)
        .map(move |work| {
            let client = fetch_client.clone();
            async move {
                match work {
                    Work::Org(org) => Fetched::Org(org),
                    Work::Replay(org) => Fetched::Replay(org),
                    Work::OrgFailed(org, m) => Fetched::OrgFailed(org, m),
                    Work::ListFailed(e) => Fetched::ListFailed(e),
                    Work::Member {
                        org,
                        member,
                        inline_roles,
                    } => {
                        let member_id = str_field(&member, "user_id")
                            .filter(|s| !s.is_empty())
                            .map(str::to_string);
                        let Some(id) = member_id.clone() else {
                            return Fetched::Member {
                                org,
                                member_id,
                                user: Ok(None),
                                roles: None,
                            };
                        };
                        let roles_fut = async {
                            match (want_roles, inline_roles) {
                                (false, _) => None,
                                (true, Some(r)) => Some(Ok(r)),
                                (true, None) => Some(client.member_roles(&org.id, &id).await),
                            }
                        };
                        let (user, roles) = futures::join!(client.user(&id), roles_fut);
                        Fetched::Member {
                            org,
                            member_id,
                            user,
                            roles,
                        }
                    }
                }
            }
        })
        .buffered(o.concurrency * 2);
    futures::pin_mut!(stream);
    let progress = crate::progress::Progress::new("Auth0 members", 0, o.quiet);
    let mut members_done = 0u64;
    let mut written_orgs: HashSet<String> = HashSet::new();
    // The segment of the organization being written; committed when the
    // next organization starts (its members all came before), dropped when
    // listing its members failed (a resumed run fetches it again).
    let mut current: Option<(Segment, bool)> = None;
    let commit = |current: &mut Option<(Segment, bool)>| -> Result<(), PackageWriteError> {
        match current.take() {
            Some((segment, false)) => segment.commit(),
            _ => Ok(()),
        }
    };
    while let Some(item) = stream.next().await {
        match item {
            Fetched::ListFailed(e) => {
                lister.abort();
                return Err(Auth0ExportError::Api(e));
            }
            Fetched::Replay(org) => {
                commit(&mut current)?;
                if written_orgs.insert(org.id.clone()) {
                    checkpoint.replay(&org.id, pkg)?;
                }
            }
            Fetched::Org(org) => {
                commit(&mut current)?;
                if written_orgs.insert(org.id.clone()) {
                    let mut segment = checkpoint.begin(&org.id)?;
                    let mut tee = Tee {
                        pkg: &mut *pkg,
                        segment: Some(&mut segment),
                    };
                    write_org(&mut tee, &org)?;
                    current = Some((segment, false));
                }
            }
            Fetched::OrgFailed(org, message) => {
                let name = if org.name.is_empty() {
                    &org.id
                } else {
                    &org.name
                };
                if let Some((_, failed)) = current.as_mut() {
                    *failed = true;
                }
                pkg.warn(&org_export_failed(
                    &org,
                    &format!("Failed to export org {name}: {message}"),
                ))?;
            }
            Fetched::Member {
                org,
                member_id,
                user,
                roles,
            } => {
                let mut tee = Tee {
                    pkg: &mut *pkg,
                    segment: current.as_mut().map(|(s, _)| s),
                };
                write_member(
                    &mut tee,
                    o,
                    catalog,
                    &org,
                    member_id.as_deref(),
                    user,
                    roles,
                )?;
                members_done += 1;
                if members_done.is_multiple_of(64) {
                    progress.update(0, members_done);
                }
            }
        }
    }
    commit(&mut current)?;
    progress.finish();
    let _ = lister.await;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn write_member<S: PackageSink + ?Sized>(
    pkg: &mut S,
    o: &Auth0ExportOptions,
    catalog: Option<&RoleCatalog>,
    org: &Auth0Org,
    member_id: Option<&str>,
    user: Result<Option<Value>, Auth0Error>,
    roles: Option<Result<Vec<Value>, Auth0Error>>,
) -> Result<(), Auth0ExportError> {
    let user = match user {
        Err(e) => {
            pkg.skip(&skipped_user(
                member_id,
                None,
                Some(org),
                "fetch_failed",
                Some(&e.to_string()),
            ))?;
            return Ok(());
        }
        Ok(None) => {
            pkg.skip(&skipped_user(member_id, None, Some(org), "no_email", None))?;
            return Ok(());
        }
        Ok(Some(u)) => u,
    };
    let user_id = str_field(&user, "user_id").or(member_id);
    let mapped = match judge(&user, o.include_federated_users) {
        Verdict::Skip(skip) => {
            pkg.skip(&skipped_user(
                user_id,
                str_field(&user, "email"),
                Some(org),
                skip.reason,
                skip.error.as_deref(),
            ))?;
            return Ok(());
        }
        Verdict::Export(m) => m,
    };
    let member_roles = match (catalog, roles) {
        (Some(catalog), Some(Ok(list))) => {
            catalog.assign_member_roles(&mapped.external_id, org, &list)
        }
        (Some(_), Some(Err(e))) => MemberRoles {
            slugs: Vec::new(),
            warnings: vec![member_role_fetch_failed(
                &mapped.external_id,
                org,
                &e.to_string(),
            )],
        },
        _ => MemberRoles {
            slugs: Vec::new(),
            warnings: Vec::new(),
        },
    };
    let slugs = member_roles.role_slugs_cell();
    write_user(pkg, &mapped, Some(org), &slugs)?;
    for slug in &member_roles.slugs {
        pkg.row(
            &USER_ROLE_ASSIGNMENTS,
            &assignment_fields(&mapped.email, &mapped.external_id, slug, org),
        )?;
    }
    for w in &member_roles.warnings {
        pkg.warn(w)?;
    }
    if mapped.blocked {
        pkg.warn(&blocked_user_warning(&mapped.external_id, Some(org)))?;
    }
    Ok(())
}

/// A stream over a channel receiver.
fn tokio_stream_from<T: Send + 'static>(
    rx: mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
}

// ---------------------------------------------------------------------------
// Metadata mode (§4.5)

async fn metadata_mode(
    client: &Arc<Auth0Client>,
    o: &Auth0ExportOptions,
    checkpoint: &ExportCheckpoint,
    pkg: &mut MigrationPackageWriter,
) -> Result<(), Auth0ExportError> {
    let total = client.user_total().await?;
    let mut state = MetadataState {
        filter: o.orgs.clone().map(|v| v.into_iter().collect()),
        seen_orgs: HashSet::new(),
    };
    if total <= super::client::OFFSET_CAP {
        let per_page = o.page_size;
        for page in 0.. {
            let users = client.users_page(page, per_page).await?;
            let n = users.len();
            for user in &users {
                metadata_user(pkg, o, &mut state, user)?;
            }
            if n < per_page as usize {
                break;
            }
        }
        return Ok(());
    }
    // Beyond Auth0's 1,000-user listing cap: read every user from an export
    // job with the metadata fields (the original silently stopped at 1,000).
    let outcome = bulk::for_each_job_user(client, o, checkpoint, |user| {
        metadata_user(pkg, o, &mut state, user)
    })
    .await?;
    if outcome.unparsable > 0 {
        pkg.warn(&bulk::unparsable_lines_warning(&outcome))?;
    }
    Ok(())
}

struct MetadataState {
    filter: Option<HashSet<String>>,
    seen_orgs: HashSet<String>,
}

fn metadata_user(
    pkg: &mut MigrationPackageWriter,
    o: &Auth0ExportOptions,
    state: &mut MetadataState,
    user: &Value,
) -> Result<(), Auth0ExportError> {
    let user_id = str_field(user, "user_id");
    let Some(found) = org_from_metadata(
        user,
        o.metadata_org_id_field.as_deref(),
        o.metadata_org_name_field.as_deref(),
    ) else {
        pkg.skip(&skipped_user(
            user_id,
            str_field(user, "email"),
            None,
            "no_org_in_metadata",
            None,
        ))?;
        return Ok(());
    };
    if state
        .filter
        .as_ref()
        .is_some_and(|f| !f.contains(&found.id))
    {
        return Ok(());
    }
    let org = found.to_org();
    match judge(user, o.include_federated_users) {
        Verdict::Skip(skip) => {
            pkg.skip(&skipped_user(
                user_id,
                str_field(user, "email"),
                Some(&org),
                skip.reason,
                skip.error.as_deref(),
            ))?;
        }
        Verdict::Export(mapped) => {
            // The org row is written with its first exported member, so an
            // organization whose users were all skipped is not exported
            // (§17.34).
            if state.seen_orgs.insert(org.id.clone()) {
                write_org(pkg, &org)?;
            }
            write_user(pkg, &mapped, Some(&org), "")?;
            if mapped.blocked {
                pkg.warn(&blocked_user_warning(&mapped.external_id, Some(&org)))?;
            }
        }
    }
    Ok(())
}

/// Writes a user of the bulk engine (no organization).
pub(crate) fn write_bulk_user(
    pkg: &mut MigrationPackageWriter,
    include_federated: bool,
    user: &Value,
) -> Result<(), PackageWriteError> {
    match judge(user, include_federated) {
        Verdict::Skip(skip) => pkg.skip(&skipped_user(
            str_field(user, "user_id"),
            str_field(user, "email"),
            None,
            skip.reason,
            skip.error.as_deref(),
        )),
        Verdict::Export(mapped) => {
            write_user(pkg, &mapped, None, "")?;
            if mapped.blocked {
                pkg.warn(&blocked_user_warning(&mapped.external_id, None))?;
            }
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------
// SSO hand-off (§4.8)

async fn sso_handoff(
    client: &Arc<Auth0Client>,
    o: &Auth0ExportOptions,
    pkg: &mut MigrationPackageWriter,
) -> Result<(), Auth0ExportError> {
    let raw_path = pkg.root().join(RAW_CONNECTIONS);
    let io_err = |source| Auth0ExportError::Io {
        path: raw_path.clone(),
        source,
    };
    crate::package::writer::create_package_subdir(pkg.root(), "raw").map_err(io_err)?;
    let mut raw = std::io::BufWriter::new(create_private_file(&raw_path).map_err(io_err)?);

    let connections = match client.connections(o.page_size).await {
        Ok(c) => c,
        Err(e)
            if e.status()
                .is_some_and(|s| is_missing_options_scope(s, e.body())) =>
        {
            pkg.warn(&missing_connections_options_scope_listing())?;
            raw.flush().map_err(io_err)?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };

    // Organizations and the connections enabled for each (§4.8 steps 2–3);
    // a failure to list organizations is a warning (the original only
    // printed it, §17.26).
    let mut early_warnings = Vec::new();
    let mut bindings: Vec<(String, Vec<Auth0Org>)> = Vec::new();
    let filter: Option<HashSet<&String>> = o.orgs.as_ref().map(|v| v.iter().collect());
    match list_all_orgs(client, o.page_size).await {
        Ok(orgs) => {
            for org in orgs {
                if filter.as_ref().is_some_and(|f| !f.contains(&org.id)) {
                    continue;
                }
                match client.organization_connections(&org.id, o.page_size).await {
                    Ok(enabled) => {
                        for ec in enabled {
                            let id = str_field(&ec, "connection_id")
                                .or_else(|| ec.get("connection").and_then(|c| str_field(c, "id")));
                            let Some(id) = id else { continue };
                            match bindings.iter_mut().find(|(c, _)| c == id) {
                                Some((_, orgs)) => orgs.push(org.clone()),
                                None => bindings.push((id.to_string(), vec![org.clone()])),
                            }
                        }
                    }
                    Err(e) => early_warnings.push(org_connection_fetch_failed(
                        &org,
                        &format!(
                            "Failed to fetch enabled Auth0 connections for org {}: {e}",
                            org.id
                        ),
                    )),
                }
            }
        }
        Err(e) => early_warnings.push(crate::package::jsonl::JsonlRecord::warning(
            "org_connection_fetch_failed",
            &format!("Failed to list Auth0 organizations for SSO bindings: {e}"),
        )),
    }

    // Candidates (bound to a kept org when --orgs is given), then hydration
    // of candidates only (§17.35).
    let mut candidates = Vec::new();
    for conn in connections {
        let id = str_field(&conn, "id").unwrap_or_default().to_string();
        if filter.is_some() && !bindings.iter().any(|(c, _)| *c == id) {
            continue;
        }
        if needs_hydration(&conn) {
            match client.connection(&id).await {
                Ok(full) => candidates.push(full),
                Err(e)
                    if e.status()
                        .is_some_and(|s| is_missing_options_scope(s, e.body())) =>
                {
                    early_warnings.push(missing_connections_options_scope_connection(
                        &id,
                        classify(&conn).as_str(),
                    ));
                    candidates.push(conn);
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            candidates.push(conn);
        }
    }
    let out = map_connections(&Auth0SsoInput {
        domain_host: &client.tenant().host,
        connections: &candidates,
        bindings: &bindings,
        include_secrets: o.include_secrets,
    });
    for w in early_warnings.iter().chain(out.warnings.iter()) {
        pkg.warn(w)?;
    }
    for row in &out.saml {
        pkg.write_row(
            &crate::package::schema::SAML_CONNECTIONS,
            &SamlConnectionRow::fields(row),
        )?;
    }
    for row in &out.oidc {
        pkg.write_row(
            &crate::package::schema::OIDC_CONNECTIONS,
            &OidcConnectionRow::fields(row),
        )?;
    }
    for row in &out.custom_attributes {
        pkg.write_row(
            &crate::package::schema::CUSTOM_ATTRIBUTE_MAPPINGS,
            &CustomAttributeMappingRow::fields(row),
        )?;
    }
    for row in &out.proxy_routes {
        pkg.write_row(&PROXY_ROUTES, &row.fields())?;
    }
    for conn in &out.raw {
        serde_json::to_writer(&mut raw, conn).map_err(|e| io_err(std::io::Error::other(e)))?;
        raw.write_all(b"\n").map_err(io_err)?;
    }
    raw.flush().map_err(io_err)?;
    Ok(())
}

async fn list_all_orgs(
    client: &Arc<Auth0Client>,
    page_size: u32,
) -> Result<Vec<Auth0Org>, Auth0Error> {
    let mut all = Vec::new();
    let mut from: Option<String> = None;
    loop {
        let page = client.organizations(from.as_deref(), page_size).await?;
        all.extend(page.items.iter().filter_map(Auth0Org::from_json));
        match page.next {
            Some(n) => from = Some(n),
            None => return Ok(all),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_normalise_like_the_original() {
        assert_eq!(
            Entities::parse("").unwrap().0,
            vec!["users", "organizations", "memberships"]
        );
        assert_eq!(
            Entities::parse(" Roles, users,roles ").unwrap().0,
            vec!["roles", "users"]
        );
        assert_eq!(Entities::parse("users,ALL").unwrap().0.len(), 5);
        let e = Entities::parse("users,groups").unwrap_err();
        assert!(e.starts_with("Unsupported Auth0 package entity \"groups\""));
    }

    #[test]
    fn engine_choice() {
        assert_eq!(Engine::parse("bulk-job").unwrap(), Engine::BulkJob);
        assert_eq!(
            Engine::parse("fast").unwrap_err(),
            "--engine must be \"management-api\" or \"bulk-job\", got \"fast\""
        );
    }
}
