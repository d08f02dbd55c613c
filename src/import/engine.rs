//! The import engine: one [`UserTask`] (a user, optionally an organization
//! and role slugs) → WorkOS calls → one [`RowOutcome`]. Shared by `import`
//! and `import-package`; it owns the row algorithm (import.md §2.4 with the
//! decisions in docs/decisions.md "Importer"):
//!
//! 1. Organization (if any) through the [`OrgResolver`]; failure →
//!    `org_resolution`, the user is not attempted.
//! 2. User: `POST /user_management/users`; a duplicate-user error (§8.4) →
//!    the existing user is looked up (by external id when that collided,
//!    else by email, then the other key) and the row goes on with its id
//!    (`Existing`). With `--dedupe`, rows with the same email (any case)
//!    share one creation. `UserSpec::Existing` only looks the user up.
//! 3. Membership: `POST /user_management/organization_memberships` with
//!    `role_slug` (one slug) or `role_slugs` (two or more); 409 → the
//!    membership is fetched and, when some wanted slug is missing, `PUT`
//!    with the union (`RolesUpdated`); 422 `multiple_roles_not_enabled` with
//!    two or more slugs → the first slug only, a warning, and every later
//!    row goes straight to one slug. Calls for one (user, organization) pair
//!    are serialized so concurrent role unions never overwrite each other.
//!
//! With `update_existing` (import-package's update path, [`super::update`]):
//! an existing user is looked up by external id first and `PUT` with the
//! fields that differ (`Updated`). Memberships keep the union rule on that
//! path too: roles are added, never removed (docs/decisions.md "Delta
//! packages and the update path").
//!
//! Every step is idempotent, so a row redone after a crash or re-run ends in
//! the same state without duplicates. Dry run (no client): no HTTP at all;
//! users get `dry-run-user-<lowercased email>`.
//!
//! Per-run memory: the u64 hashes of the (user, organization, roles) done
//! ([`DoneMemberships`]: the last 1–2M in a live run, all of them in a dry
//! run), and with `--dedupe` an email → user id map; nothing else per row.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::errors::{ErrorRecord, ErrorType};
use super::orgs::{CacheStats, OrgError, OrgOptions, OrgResolver};
use super::update;
use crate::workos::error::DuplicateKey;
use crate::workos::{CreateMembership, CreateUser, User, WorkOsClient, WorkOsError};

/// Distinct memberships a live run remembers per generation (two
/// generations are kept: 2 × 1M keys, ~40 MB at most).
const DONE_GENERATION: usize = 1 << 20;

/// The memberships this run has already made, as u64 hashes.
///
/// A live run only uses it to save a request for a repeated row (WorkOS
/// answers a repeat with 409, handled like any existing membership), so it
/// keeps the most recent keys in two generations and memory stays flat
/// however long the file. A dry run has no server to ask: its duplicate
/// count must be exact, so it keeps every key (≈ 10 bytes per distinct
/// membership).
struct DoneMemberships {
    current: HashSet<u64>,
    previous: HashSet<u64>,
    /// `None` for a dry run: never forget.
    generation: Option<usize>,
}

impl DoneMemberships {
    fn new(dry_run: bool) -> Self {
        Self {
            current: HashSet::new(),
            previous: HashSet::new(),
            generation: (!dry_run).then_some(DONE_GENERATION),
        }
    }

    fn contains(&self, key: u64) -> bool {
        self.current.contains(&key) || self.previous.contains(&key)
    }

    /// Adds `key`; false when it was already there.
    fn insert(&mut self, key: u64) -> bool {
        if self.contains(key) {
            return false;
        }
        if self.generation.is_some_and(|cap| self.current.len() >= cap) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key)
    }
}

/// Stripes of the per-(user, organization) membership lock.
const MEMBERSHIP_STRIPES: usize = 256;

/// One row's work.
#[derive(Debug, Clone, PartialEq)]
pub struct UserTask {
    /// 1-based data record number (error records, checkpoints).
    pub record_number: u64,
    /// Email for error records (as read).
    pub email: String,
    pub user: UserSpec,
    pub org: Option<OrgRef>,
    /// Role slugs for the membership (ignored without an organization).
    pub role_slugs: Vec<String>,
}

/// The user of a task.
#[derive(Debug, Clone, PartialEq)]
pub enum UserSpec {
    /// Create this user (or find it when it already exists).
    Create(CreateUser),
    /// Find an existing user by email and/or external_id (never send a
    /// source id as a WorkOS id).
    Existing {
        email: Option<String>,
        external_id: Option<String>,
    },
}

/// The organization of a task.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrgRef {
    /// A WorkOS organization id.
    Id(String),
    /// An organization external id, with the name to create it under.
    ExternalId {
        external_id: String,
        name: Option<String>,
    },
    /// Only a name (resolved only with `--create-org-if-missing`).
    NameOnly(String),
}

/// What happened to the user of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOutcome {
    Created,
    /// Already existed (duplicate-user error, `--dedupe` or an `Existing` spec).
    Existing,
    /// Already existed and was updated (update path only).
    Updated,
    Failed,
    /// Not attempted (the organization could not be resolved).
    Skipped,
}

impl UserOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Existing => "existing",
            Self::Updated => "updated",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => Self::Created,
            "existing" => Self::Existing,
            "updated" => Self::Updated,
            "failed" => Self::Failed,
            "skipped" => Self::Skipped,
            _ => return None,
        })
    }
}

/// What happened to the membership of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipOutcome {
    /// No organization (or the user step failed).
    None,
    Created,
    /// Already existed with every wanted role.
    Existing,
    /// Already existed; missing roles were added.
    RolesUpdated,
    Failed,
}

impl MembershipOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Created => "created",
            Self::Existing => "existing",
            Self::RolesUpdated => "roles_updated",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "created" => Self::Created,
            "existing" => Self::Existing,
            "roles_updated" => Self::RolesUpdated,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// The result of one task.
#[derive(Debug, Clone, PartialEq)]
pub struct RowOutcome {
    pub record_number: u64,
    pub email: String,
    pub user_id: Option<String>,
    pub user: UserOutcome,
    pub membership: MembershipOutcome,
    /// The row's role slugs held by the membership when the row finished.
    pub roles_assigned: u32,
    /// The row's role slugs that could not be assigned (multiple roles not
    /// enabled in the environment).
    pub roles_skipped: u32,
    pub error: Option<ErrorRecord>,
    pub warnings: Vec<String>,
}

impl RowOutcome {
    /// An outcome for a row that failed before any call (bad input).
    pub fn failed(record_number: u64, email: &str, error: ErrorRecord) -> Self {
        Self {
            record_number,
            email: email.to_string(),
            user_id: None,
            user: UserOutcome::Failed,
            membership: MembershipOutcome::None,
            roles_assigned: 0,
            roles_skipped: 0,
            error: Some(error),
            warnings: Vec::new(),
        }
    }

    fn start(task: &UserTask) -> Self {
        Self {
            record_number: task.record_number,
            email: task.email.clone(),
            user_id: None,
            user: UserOutcome::Skipped,
            membership: MembershipOutcome::None,
            roles_assigned: 0,
            roles_skipped: 0,
            error: None,
            warnings: Vec::new(),
        }
    }

    /// Whether the row succeeded (no error record).
    pub fn is_success(&self) -> bool {
        self.error.is_none()
    }
}

/// Result of the user step.
struct UserStep {
    outcome: UserOutcome,
    user_id: Option<String>,
    error: Option<ErrorRecord>,
}

type DedupeSlot = Arc<OnceCell<Option<String>>>;

/// Runs tasks; shared by every concurrent row of a run.
pub struct Engine {
    client: Option<WorkOsClient>,
    orgs: OrgResolver,
    dedupe: Option<Mutex<HashMap<String, DedupeSlot>>>,
    memberships_done: Mutex<DoneMemberships>,
    membership_locks: Vec<tokio::sync::Mutex<()>>,
    multiple_roles_disabled: AtomicBool,
    update_existing: bool,
}

impl Engine {
    /// `client` `None` = dry run (zero HTTP). `dedupe` = `--dedupe`.
    pub fn new(client: Option<WorkOsClient>, orgs: OrgOptions, dedupe: bool) -> Self {
        let dry_run = client.is_none();
        Self {
            orgs: OrgResolver::new(client.clone(), orgs),
            client,
            dedupe: dedupe.then(|| Mutex::new(HashMap::new())),
            memberships_done: Mutex::new(DoneMemberships::new(dry_run)),
            membership_locks: (0..MEMBERSHIP_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            multiple_roles_disabled: AtomicBool::new(false),
            update_existing: false,
        }
    }

    /// Turns the update path on: existing users and membership roles are
    /// brought to what the rows say ([`super::update`]).
    pub fn with_update_existing(mut self, on: bool) -> Self {
        self.update_existing = on;
        self
    }

    pub fn is_dry_run(&self) -> bool {
        self.client.is_none()
    }

    pub fn client(&self) -> Option<&WorkOsClient> {
        self.client.as_ref()
    }

    pub fn orgs(&self) -> &OrgResolver {
        &self.orgs
    }

    pub fn org_cache_stats(&self) -> CacheStats {
        self.orgs.stats()
    }

    /// Runs one task to its outcome (never panics on API data).
    pub async fn run_task(&self, task: UserTask) -> RowOutcome {
        let mut out = RowOutcome::start(&task);
        let org_id = match &task.org {
            None => None,
            Some(org) => match self.orgs.resolve(org).await {
                Ok(id) => Some(id),
                Err(e) => {
                    out.error = Some(org_error(&task, org, &e));
                    return out;
                }
            },
        };
        let step = self.user_step(&task).await;
        out.user = step.outcome;
        out.user_id = step.user_id.clone();
        if let Some(e) = step.error {
            out.error = Some(e);
            return out;
        }
        let (Some(user_id), Some(org_id)) = (step.user_id, org_id) else {
            return out;
        };
        self.membership_step(&task, &user_id, &org_id, &mut out)
            .await;
        out
    }

    // ---------------------------------------------------------------- user

    async fn user_step(&self, task: &UserTask) -> UserStep {
        let (Some(map), UserSpec::Create(_)) = (&self.dedupe, &task.user) else {
            return self.user_once(task).await;
        };
        let key = task.email.to_lowercase();
        let slot = {
            let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(m.entry(key).or_default())
        };
        let mine: Mutex<Option<UserStep>> = Mutex::new(None);
        let shared = slot
            .get_or_init(|| async {
                let step = self.user_once(task).await;
                let id = step.user_id.clone();
                *mine.lock().unwrap_or_else(|e| e.into_inner()) = Some(step);
                id
            })
            .await
            .clone();
        if let Some(step) = mine.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return step;
        }
        match shared {
            Some(id) => UserStep {
                outcome: UserOutcome::Existing,
                user_id: Some(id),
                error: None,
            },
            // The first row with this email failed: try this one on its own.
            None => self.user_once(task).await,
        }
    }

    async fn user_once(&self, task: &UserTask) -> UserStep {
        let Some(client) = &self.client else {
            let id = match &task.user {
                UserSpec::Create(body) => format!("dry-run-user-{}", body.email.to_lowercase()),
                UserSpec::Existing { email, external_id } => match (email, external_id) {
                    (Some(e), _) => format!("dry-run-user-{}", e.to_lowercase()),
                    (None, Some(x)) => format!("dry-run-user-{x}"),
                    (None, None) => format!("dry-run-user-{}", task.email.to_lowercase()),
                },
            };
            let outcome = match task.user {
                UserSpec::Create(_) => UserOutcome::Created,
                UserSpec::Existing { .. } => UserOutcome::Existing,
            };
            return UserStep {
                outcome,
                user_id: Some(id),
                error: None,
            };
        };
        match &task.user {
            UserSpec::Create(body) => self.create_user(client, task, body).await,
            UserSpec::Existing { email, external_id } => {
                match find_user(client, None, email.as_deref(), external_id.as_deref()).await {
                    Ok(Some(u)) => UserStep {
                        outcome: UserOutcome::Existing,
                        user_id: Some(u.id),
                        error: None,
                    },
                    Ok(None) => {
                        let who = email
                            .as_deref()
                            .or(external_id.as_deref())
                            .unwrap_or(&task.email);
                        user_failed(ErrorRecord::new(
                            task.record_number,
                            &task.email,
                            ErrorType::UserCreate,
                            format!("User not found: {who}"),
                        ))
                    }
                    Err(e) => user_failed(ErrorRecord::from_api(
                        task.record_number,
                        &task.email,
                        ErrorType::UserCreate,
                        &e,
                    )),
                }
            }
        }
    }

    async fn create_user(
        &self,
        client: &WorkOsClient,
        task: &UserTask,
        body: &CreateUser,
    ) -> UserStep {
        let err = match client.create_user(body).await {
            Ok(u) => {
                return UserStep {
                    outcome: UserOutcome::Created,
                    user_id: Some(u.id),
                    error: None,
                }
            }
            Err(e) => e,
        };
        let record = |e: &WorkOsError| {
            let mut r =
                ErrorRecord::from_api(task.record_number, &task.email, ErrorType::UserCreate, e);
            r.redact(&secrets_of(body));
            r
        };
        if !err.is_duplicate_user() {
            return user_failed(record(&err));
        }
        let collided = if self.update_existing && body.external_id.is_some() {
            Some(DuplicateKey::ExternalId)
        } else {
            err.duplicate_user_key()
        };
        match find_user(
            client,
            collided,
            Some(&body.email),
            body.external_id.as_deref(),
        )
        .await
        {
            Ok(Some(u)) if self.update_existing => {
                let changes = update::user_changes(&u, body);
                if changes.is_empty() {
                    return UserStep {
                        outcome: UserOutcome::Existing,
                        user_id: Some(u.id),
                        error: None,
                    };
                }
                match client.update_user(&u.id, &changes).await {
                    Ok(_) => UserStep {
                        outcome: UserOutcome::Updated,
                        user_id: Some(u.id),
                        error: None,
                    },
                    Err(e) => {
                        let mut r = ErrorRecord::from_api(
                            task.record_number,
                            &task.email,
                            ErrorType::UserUpdate,
                            &e,
                        );
                        r.redact(&secrets_of(body));
                        r.user_id = Some(u.id);
                        user_failed(r)
                    }
                }
            }
            Ok(Some(u)) => UserStep {
                outcome: UserOutcome::Existing,
                user_id: Some(u.id),
                error: None,
            },
            // Reported as existing but not found: keep the original error.
            Ok(None) => user_failed(record(&err)),
            Err(lookup) => user_failed(record(&lookup)),
        }
    }

    // ---------------------------------------------------------- membership

    async fn membership_step(
        &self,
        task: &UserTask,
        user_id: &str,
        org_id: &str,
        out: &mut RowOutcome,
    ) {
        let wanted = &task.role_slugs;
        let key = membership_key(user_id, org_id, wanted);
        if self.is_dry_run() {
            // Ids are derived, so a repeat of the pair is a duplicate.
            let pair = membership_key(user_id, org_id, &[]);
            out.membership = if self.remember(pair) {
                MembershipOutcome::Created
            } else {
                MembershipOutcome::Existing
            };
            out.roles_assigned = wanted.len() as u32;
            return;
        }
        if self.seen(key) {
            out.membership = MembershipOutcome::Existing;
            out.roles_assigned = wanted.len() as u32;
            return;
        }
        let Some(client) = &self.client else {
            return;
        };
        let stripe = (membership_key(user_id, org_id, &[]) as usize) % MEMBERSHIP_STRIPES;
        let _pair_lock = self.membership_locks[stripe].lock().await;
        let result = self
            .create_membership(client, task, user_id, org_id, out)
            .await;
        match result {
            Ok(()) => {
                self.remember(key);
            }
            Err(e) => {
                out.membership = MembershipOutcome::Failed;
                let mut r = ErrorRecord::from_api(
                    task.record_number,
                    &task.email,
                    ErrorType::MembershipCreate,
                    &e,
                );
                r.user_id = Some(user_id.to_string());
                out.error = Some(r);
            }
        }
    }

    async fn create_membership(
        &self,
        client: &WorkOsClient,
        task: &UserTask,
        user_id: &str,
        org_id: &str,
        out: &mut RowOutcome,
    ) -> Result<(), WorkOsError> {
        let wanted = &task.role_slugs;
        let single = wanted.len() >= 2 && self.multiple_roles_disabled.load(Ordering::Relaxed);
        let first_only = &wanted[..wanted.len().min(1)];
        let send: &[String] = if single { first_only } else { wanted };
        let result = match client
            .create_membership(&CreateMembership::new(org_id, user_id, send))
            .await
        {
            Err(e) if send.len() >= 2 && is_multiple_roles_not_enabled(&e) => {
                self.multiple_roles_disabled.store(true, Ordering::Relaxed);
                client
                    .create_membership(&CreateMembership::new(org_id, user_id, first_only))
                    .await
                    .map(|_| first_only.len())
            }
            other => other.map(|_| send.len()),
        };
        match result {
            Ok(assigned) => {
                out.membership = MembershipOutcome::Created;
                self.note_roles(task, assigned, out);
                Ok(())
            }
            Err(e) if e.status() == Some(409) => {
                self.reconcile_existing(client, task, user_id, org_id, e, out)
                    .await
            }
            Err(e) => Err(e),
        }
    }

    /// The membership exists: add the wanted roles it lacks.
    async fn reconcile_existing(
        &self,
        client: &WorkOsClient,
        task: &UserTask,
        user_id: &str,
        org_id: &str,
        conflict: WorkOsError,
        out: &mut RowOutcome,
    ) -> Result<(), WorkOsError> {
        let Some(m) = client.find_membership(user_id, org_id).await? else {
            return Err(conflict);
        };
        let wanted = &task.role_slugs;
        let have = m.role_slugs();
        let missing: Vec<&String> = wanted.iter().filter(|s| !have.contains(s)).collect();
        if missing.is_empty() {
            out.membership = MembershipOutcome::Existing;
            self.note_roles(task, wanted.len(), out);
            return Ok(());
        }
        let mut union = have.clone();
        union.extend(missing.into_iter().cloned());
        let single_only = self.multiple_roles_disabled.load(Ordering::Relaxed);
        if !single_only {
            match client.update_membership_roles(&m.id, &union).await {
                Ok(_) => {
                    out.membership = MembershipOutcome::RolesUpdated;
                    self.note_roles(task, wanted.len(), out);
                    return Ok(());
                }
                Err(e) if union.len() >= 2 && is_multiple_roles_not_enabled(&e) => {
                    self.multiple_roles_disabled.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        // One role per membership: make it the row's first slug.
        let Some(first) = wanted.first() else {
            out.membership = MembershipOutcome::Existing;
            return Ok(());
        };
        if have.len() == 1 && have.contains(first) {
            out.membership = MembershipOutcome::Existing;
        } else {
            client
                .update_membership_roles(&m.id, std::slice::from_ref(first))
                .await?;
            out.membership = MembershipOutcome::RolesUpdated;
        }
        self.note_roles(task, 1, out);
        Ok(())
    }

    /// Records `assigned` of the row's slugs; a shortfall is a warning.
    fn note_roles(&self, task: &UserTask, assigned: usize, out: &mut RowOutcome) {
        let wanted = &task.role_slugs;
        out.roles_assigned = assigned as u32;
        if assigned < wanted.len() {
            out.roles_skipped = (wanted.len() - assigned) as u32;
            if let Some(first) = wanted.first() {
                out.warnings.push(multiple_roles_warning(
                    task.record_number,
                    first,
                    &wanted[1..],
                ));
            }
        }
    }

    fn seen(&self, key: u64) -> bool {
        self.memberships_done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(key)
    }

    /// Adds `key`; false when it was already there.
    fn remember(&self, key: u64) -> bool {
        self.memberships_done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key)
    }
}

/// `Row <n>: Multiple roles not enabled — assigned "<first>" only, skipped: <rest>`.
pub fn multiple_roles_warning(record_number: u64, first: &str, rest: &[String]) -> String {
    format!(
        "Row {record_number}: Multiple roles not enabled \u{2014} assigned \"{first}\" only, skipped: {}",
        rest.join(", ")
    )
}

fn user_failed(error: ErrorRecord) -> UserStep {
    UserStep {
        outcome: UserOutcome::Failed,
        user_id: None,
        error: Some(error),
    }
}

fn secrets_of(body: &CreateUser) -> Vec<&str> {
    [body.password.as_deref(), body.password_hash.as_deref()]
        .into_iter()
        .flatten()
        .collect()
}

/// Finds an existing user: by the key that collided first, then the other.
async fn find_user(
    client: &WorkOsClient,
    collided: Option<DuplicateKey>,
    email: Option<&str>,
    external_id: Option<&str>,
) -> Result<Option<User>, WorkOsError> {
    let by_ext_first = collided == Some(DuplicateKey::ExternalId) || email.is_none();
    let order: [bool; 2] = if by_ext_first {
        [true, false]
    } else {
        [false, true]
    };
    for by_ext in order {
        let found = match (by_ext, external_id, email) {
            (true, Some(x), _) => client.get_user_by_external_id(x).await?,
            (false, _, Some(e)) => client.find_user_by_email(e).await?,
            _ => None,
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// 422 `multiple_roles_not_enabled` (by code or message).
fn is_multiple_roles_not_enabled(e: &WorkOsError) -> bool {
    if e.status() != Some(422) {
        return false;
    }
    if e.code() == Some("multiple_roles_not_enabled") {
        return true;
    }
    let m = e.to_string().to_lowercase();
    let compact: String = m.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    compact.contains("multiplerolesnotenabled")
}

/// u64 hash of (user, organization, sorted roles).
fn membership_key(user_id: &str, org_id: &str, roles: &[String]) -> u64 {
    let mut h = DefaultHasher::new();
    user_id.hash(&mut h);
    org_id.hash(&mut h);
    let mut sorted: Vec<&String> = roles.iter().collect();
    sorted.sort();
    sorted.hash(&mut h);
    h.finish()
}

fn org_error(task: &UserTask, org: &OrgRef, e: &OrgError) -> ErrorRecord {
    let mut r = match e.api_error() {
        Some(api) => {
            let mut r = ErrorRecord::from_api(
                task.record_number,
                &task.email,
                ErrorType::OrgResolution,
                api,
            );
            r.error_message = e.to_string();
            r
        }
        None => ErrorRecord::new(
            task.record_number,
            &task.email,
            ErrorType::OrgResolution,
            e.to_string(),
        ),
    };
    match org {
        OrgRef::Id(id) => r.org_id = Some(id.clone()),
        OrgRef::ExternalId { external_id, .. } => r.org_external_id = Some(external_id.clone()),
        OrgRef::NameOnly(_) => {}
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_runs_remember_two_generations_dry_runs_everything() {
        let mut live = DoneMemberships {
            generation: Some(3),
            ..DoneMemberships::new(false)
        };
        for k in 0..3 {
            assert!(live.insert(k));
        }
        assert!(!live.insert(1), "a repeat is seen");
        // The fourth key starts a generation; the first three are still
        // known until the next one is full.
        for k in 3..6 {
            assert!(live.insert(k));
        }
        assert!(live.contains(0) && live.contains(5));
        assert!(live.insert(6));
        assert!(!live.contains(0) && live.contains(3) && live.contains(6));
        assert!(live.current.len() + live.previous.len() <= 6);

        let mut dry = DoneMemberships::new(true);
        for k in 0..10_000 {
            assert!(dry.insert(k));
        }
        assert!((0..10_000).all(|k| dry.contains(k)));
        assert_eq!(
            DoneMemberships::new(false).generation,
            Some(DONE_GENERATION)
        );
    }

    fn task(n: u64, email: &str, org: Option<OrgRef>, roles: &[&str]) -> UserTask {
        UserTask {
            record_number: n,
            email: email.to_string(),
            user: UserSpec::Create(CreateUser {
                email: email.to_string(),
                ..CreateUser::default()
            }),
            org,
            role_slugs: roles.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[tokio::test]
    async fn dry_run_ids_counts_and_duplicate_membership() {
        let engine = Engine::new(None, OrgOptions::default(), false);
        let org = Some(OrgRef::ExternalId {
            external_id: "acme".into(),
            name: Some("Acme".into()),
        });
        let a = engine
            .run_task(task(1, "Alice@X.com", org.clone(), &["admin", "member"]))
            .await;
        assert_eq!(a.user, UserOutcome::Created);
        assert_eq!(a.user_id.as_deref(), Some("dry-run-user-alice@x.com"));
        assert_eq!(a.membership, MembershipOutcome::Created);
        assert_eq!(a.roles_assigned, 2);
        let again = engine.run_task(task(2, "alice@x.com", org, &[])).await;
        assert_eq!(again.membership, MembershipOutcome::Existing);
        let none = engine
            .run_task(task(3, "b@x.com", Some(OrgRef::NameOnly("N".into())), &[]))
            .await;
        assert_eq!(none.user, UserOutcome::Skipped);
        let e = none.error.unwrap();
        assert_eq!(e.error_type, ErrorType::OrgResolution);
        assert_eq!(e.error_message, "Organization not found: N");
    }

    #[tokio::test]
    async fn dedupe_shares_one_user() {
        let engine = Engine::new(None, OrgOptions::default(), true);
        let a = engine.run_task(task(1, "a@x.com", None, &[])).await;
        let b = engine.run_task(task(2, "A@x.com", None, &[])).await;
        assert_eq!(a.user, UserOutcome::Created);
        assert_eq!(b.user, UserOutcome::Existing);
        assert_eq!(a.user_id, b.user_id);
    }

    #[test]
    fn warning_text_and_key() {
        assert_eq!(
            multiple_roles_warning(4, "admin", &["member".into(), "viewer".into()]),
            "Row 4: Multiple roles not enabled \u{2014} assigned \"admin\" only, skipped: member, viewer"
        );
        assert_eq!(
            membership_key("u", "o", &["b".into(), "a".into()]),
            membership_key("u", "o", &["a".into(), "b".into()])
        );
        assert_ne!(
            membership_key("u", "o", &[]),
            membership_key("u", "o2", &[])
        );
    }
}
