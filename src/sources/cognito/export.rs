//! `export cognito`: user pools → a migration package (export-and-package.md
//! §5, §1.5–1.7, §17 defects 4–7 fixed; decisions in docs/decisions.md).
//!
//! Order of work: options are checked, the client probes the credentials
//! (`ListUserPools`), every pool is fetched concurrently into a
//! [`UserSpill`] ([`super::fetch`]), and only then is the package directory
//! written: organizations, role definitions, then the users of each pool
//! (in pool order, sorted by external id) through the shared
//! [`crate::sources::pipeline`] — buckets are decoded, joined with their
//! group memberships and encoded on rayon, and appended in order by the
//! writer — then SSO rows and finally the manifest. A failure at any point
//! leaves no manifest.
//!
//! Conservation: every distinct user listed ends up in `users.csv` or in
//! `skipped_users.jsonl` ([`CognitoExportSummary::conservation`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::client::{CognitoClient, CognitoClientConfig, CognitoError, RequestCounts};
use super::fetch::{fetch_pools, FetchError, FetchPlan, FetchProgress, PoolFetch};
use super::mapping::{encode_user, EncodedRows, OrgStrategy, PoolContext};
use super::roles::{assignments_need_pool_orgs, GroupCatalog};
use super::spill::{sorted_records, RecordKind, UserSpill, UserSpillError, BUCKETS};
use super::{CognitoOrgRef, CognitoProvider, CognitoSsoOptions, CognitoUser};
use crate::package::jsonl::JsonlRecord;
use crate::package::manifest::{iso_now, SecretRedaction};
use crate::package::schema::{MEMBERSHIPS, ORGANIZATIONS, ROLE_DEFINITIONS, USER_ROLE_ASSIGNMENTS};
use crate::package::sso::HandoffNotes;
use crate::package::writer::PackageWriteError;
use crate::package::{Manifest, MigrationPackageWriter, PackageOptions};
use crate::progress::Progress;
use crate::sources::pipeline::{self, Conservation, PipelineError};

/// Entities `export cognito` accepts (the original's four plus `roles`).
pub const SUPPORTED_ENTITIES: [&str; 5] = ["users", "organizations", "memberships", "roles", "sso"];

/// The one message about passwords (summary, warning, manifest note).
pub const NO_PASSWORD_HASHES: &str = crate::package::sso::COGNITO_NO_PASSWORD_HASHES;

/// Errors of a Cognito export; one line each, no secrets.
#[derive(Debug, thiserror::Error)]
pub enum CognitoExportError {
    #[error("{0}")]
    Options(String),
    #[error("no user pool IDs provided \u{2014} set COGNITO_USER_POOL_IDS, pass --user-pool-ids, or save to config")]
    NoPools,
    #[error(transparent)]
    Api(#[from] CognitoError),
    #[error(transparent)]
    Spill(#[from] UserSpillError),
    #[error(transparent)]
    Package(#[from] PackageWriteError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Sso(#[from] super::sso::CognitoSsoWriteError),
    #[error("{0}")]
    Fetch(String),
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl From<FetchError> for CognitoExportError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Api(a) => Self::Api(a),
            FetchError::Spill(s) => Self::Spill(s),
            FetchError::Task(t) => Self::Fetch(t),
        }
    }
}

/// The normalised `--entities` list: split on `,`, trimmed, lower-cased,
/// de-duplicated; empty → `users,organizations,memberships`; `all` → all
/// five (§17.5: the original fetched nothing for `all` or `SSO`).
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
                    "Unsupported Cognito package entity \"{e}\". Supported entities: users, organizations, memberships, roles, sso"
                ));
            }
            list.push(e);
        }
        if list.iter().any(|e| e == "all") {
            list = SUPPORTED_ENTITIES.iter().map(|s| s.to_string()).collect();
        }
        if list.is_empty() {
            list = ["users", "organizations", "memberships"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        }
        Ok(Self(list))
    }

    pub fn has(&self, e: &str) -> bool {
        self.0.iter().any(|x| x == e)
    }
}

impl Default for Entities {
    fn default() -> Self {
        Self(
            ["users", "organizations", "memberships"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        )
    }
}

/// Everything `export cognito` needs.
#[derive(Debug, Clone)]
pub struct CognitoExportOptions {
    pub client: CognitoClientConfig,
    /// `--user-pool-ids` as given (comma-separated).
    pub user_pool_ids: String,
    pub output_dir: PathBuf,
    pub entities: Entities,
    pub org_strategy: OrgStrategy,
    /// Export `EXTERNAL_PROVIDER` users instead of skipping them.
    pub include_external_provider_users: bool,
    pub sso: CognitoSsoOptions,
    /// Pools with at least this many estimated users are listed in 16 chains.
    pub split_threshold: u64,
    pub quiet: bool,
}

/// The result of a successful export.
#[derive(Debug, Clone)]
pub struct CognitoExportSummary {
    /// Absolute package directory.
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub entities: Entities,
    pub pools: Vec<String>,
    /// Distinct users read, exported, skipped.
    pub conservation: Conservation,
    /// User records listed more than once (dropped).
    pub duplicates: u64,
    /// Identity providers fetched (kept for the SSO hand-off).
    pub providers: Vec<CognitoProvider>,
    pub requests: RequestCounts,
    pub duration: Duration,
}

/// The pool ids of `--user-pool-ids`: split on `,`, trimmed, empties and
/// repeats dropped.
pub fn parse_pools(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !out.iter().any(|o| o == p) {
            out.push(p.to_string());
        }
    }
    out
}

/// `secretRedaction` without SSO (§1.7), plus the password note.
fn secret_redaction() -> SecretRedaction {
    SecretRedaction {
        mode: "not-applicable".into(),
        redacted: true,
        redacted_fields: None,
        files: None,
        notes: Some(vec![
            "Cognito package mode does not export user passwords or connection secrets.".into(),
            NO_PASSWORD_HASHES.into(),
        ]),
    }
}

/// The organizations of the run (§5.3) and the org of each pool's users.
struct Organizations {
    rows: Vec<CognitoOrgRef>,
    /// Per pool: the org its users belong to (`user-pool` only).
    per_pool: Vec<Option<CognitoOrgRef>>,
}

fn organizations(strategy: OrgStrategy, fetched: &[PoolFetch]) -> Organizations {
    let seen =
        |f: &PoolFetch| f.users_listed > 0 || f.group_members_listed > 0 || !f.providers.is_empty();
    match strategy {
        OrgStrategy::UserPool => {
            let per_pool: Vec<Option<CognitoOrgRef>> = fetched
                .iter()
                .map(|f| {
                    seen(f).then(|| CognitoOrgRef {
                        external_id: f.pool.clone(),
                        name: f.pool.clone(),
                    })
                })
                .collect();
            let mut rows: Vec<CognitoOrgRef> = per_pool.iter().flatten().cloned().collect();
            rows.sort_by(|a, b| a.external_id.cmp(&b.external_id));
            Organizations { rows, per_pool }
        }
        OrgStrategy::Connection => {
            let mut rows: Vec<CognitoOrgRef> = Vec::new();
            for p in fetched.iter().flat_map(|f| &f.providers) {
                let key = format!("{}:{}", p.user_pool_id, p.provider_name);
                if !rows.iter().any(|r| r.external_id == key) {
                    rows.push(CognitoOrgRef {
                        external_id: key,
                        name: p.provider_name.clone(),
                    });
                }
            }
            Organizations {
                rows,
                per_pool: vec![None; fetched.len()],
            }
        }
        OrgStrategy::None => Organizations {
            rows: Vec::new(),
            per_pool: vec![None; fetched.len()],
        },
    }
}

/// The SSO hand-off (export-and-package.md §5.5, §10): the SAML/OIDC rows,
/// custom attribute mappings, proxy routes, raw provider records and
/// warnings of `providers`, each row linked to the organization its pool
/// (or, under `--org-strategy connection`, the provider itself) was
/// exported as; no organization under `none`.
pub fn cognito_sso_handoff(
    providers: &[CognitoProvider],
    strategy: OrgStrategy,
    orgs: &[CognitoOrgRef],
    options: &CognitoSsoOptions,
) -> super::sso::CognitoSsoOutput {
    let org_of = |p: &CognitoProvider| -> Option<CognitoOrgRef> {
        let key = match strategy {
            OrgStrategy::UserPool => p.user_pool_id.clone(),
            OrgStrategy::Connection => format!("{}:{}", p.user_pool_id, p.provider_name),
            OrgStrategy::None => return None,
        };
        orgs.iter().find(|o| o.external_id == key).cloned()
    };
    super::sso::map_providers(providers, org_of, options)
}

/// Runs the export (blocking; it drives its own async runtime).
pub fn export_cognito(
    opts: &CognitoExportOptions,
) -> Result<CognitoExportSummary, CognitoExportError> {
    let started = Instant::now();
    let pools = parse_pools(&opts.user_pool_ids);
    if pools.is_empty() {
        return Err(CognitoExportError::NoPools);
    }
    let dir = std::path::absolute(&opts.output_dir).unwrap_or_else(|_| opts.output_dir.clone());
    if dir.exists() && !dir.is_dir() {
        return Err(PackageWriteError::NotADirectory(dir).into());
    }
    let e = &opts.entities;
    let plan = FetchPlan {
        users: e.has("users") || e.has("organizations") || e.has("memberships"),
        providers: e.has("sso") || e.has("organizations") || e.has("memberships"),
        groups: e.has("roles"),
        split_threshold: opts.split_threshold,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CognitoExportError::Runtime)?;
    let spill = std::sync::Arc::new(UserSpill::new(pools.len())?);
    let progress = Progress::new("cognito", 0, opts.quiet);
    let counters = std::sync::Arc::new(FetchProgress::default());
    let client = runtime.block_on(async {
        let client = CognitoClient::connect(&opts.client).await?;
        client.probe().await?;
        Ok::<_, CognitoExportError>(std::sync::Arc::new(client))
    })?;
    let fetched = runtime.block_on(async {
        let fetch = fetch_pools(&client, &spill, &pools, plan, &counters);
        tokio::pin!(fetch);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let fetched = loop {
            tokio::select! {
                r = &mut fetch => break r?,
                _ = tick.tick() => {
                    progress.update(0, counters.users.load(std::sync::atomic::Ordering::Relaxed));
                }
            }
        };
        Ok::<_, CognitoExportError>(fetched)
    })?;
    progress.finish();
    write_package(opts, &dir, &pools, &fetched, &spill, &client, started)
}

/// Writes the package from the fetched pools.
fn write_package(
    opts: &CognitoExportOptions,
    dir: &std::path::Path,
    pools: &[String],
    fetched: &[PoolFetch],
    spill: &UserSpill,
    client: &CognitoClient,
    started: Instant,
) -> Result<CognitoExportSummary, CognitoExportError> {
    let e = &opts.entities;
    let orgs = organizations(opts.org_strategy, fetched);
    let providers: Vec<CognitoProvider> =
        fetched.iter().flat_map(|f| f.providers.clone()).collect();
    let sso = if e.has("sso") {
        Some(cognito_sso_handoff(
            &providers,
            opts.org_strategy,
            &orgs.rows,
            &opts.sso,
        ))
    } else {
        None
    };
    let (catalog, role_warnings) = if e.has("roles") {
        let groups: Vec<Vec<String>> = fetched.iter().map(|f| f.groups.clone()).collect();
        GroupCatalog::build(&groups)
    } else {
        (GroupCatalog::default(), Vec::new())
    };

    let mut options = PackageOptions {
        provider: "cognito".into(),
        source_tenant: None,
        entities_requested: e.0.clone(),
        secrets_redacted: Some(true),
        secret_redaction: Some(secret_redaction()),
        handoff_notes: HandoffNotes::CognitoWithoutSso,
    };
    if let Some(s) = &sso {
        let mut redaction = s.secret_redaction();
        options.secrets_redacted = Some(redaction.redacted);
        redaction
            .notes
            .get_or_insert_with(Vec::new)
            .push(NO_PASSWORD_HASHES.into());
        options.secret_redaction = Some(redaction);
        options.handoff_notes = HandoffNotes::CognitoWithSso;
    }
    let mut pkg = MigrationPackageWriter::create(dir, options)?;

    let users_listed: u64 = fetched.iter().map(|f| f.users_listed).sum();
    if e.has("users") && users_listed > 0 {
        pkg.warn(&JsonlRecord::warning(
            "password_hashes_unavailable",
            NO_PASSWORD_HASHES,
        ))?;
    }
    if opts.org_strategy == OrgStrategy::Connection && users_listed > 0 {
        pkg.warn(&JsonlRecord::warning(
            "connection_strategy_no_memberships",
            "Connection-based org strategy cannot infer per-user memberships from Cognito. Users were exported without membership rows.",
        ))?;
    }
    for w in &role_warnings {
        pkg.warn(w)?;
    }
    if e.has("roles") && opts.org_strategy != OrgStrategy::UserPool {
        pkg.warn(&assignments_need_pool_orgs())?;
    }
    if e.has("organizations") {
        for org in &orgs.rows {
            pkg.write_row(&ORGANIZATIONS, &["", &org.external_id, &org.name, "", ""])?;
            pkg.upload()
                .organization("", &org.external_id, &org.name)
                .map_err(PackageWriteError::from)?;
        }
    }
    for row in catalog.definition_rows() {
        pkg.write_row(&ROLE_DEFINITIONS, &row)?;
    }

    let merged = merge_users(opts, pools, &orgs, &catalog, spill, &mut pkg)?;
    if let Some(s) = &sso {
        super::sso::write_sso(&mut pkg, s)?;
    }
    merged.conservation.check()?;
    let manifest = pkg.finish()?;
    Ok(CognitoExportSummary {
        dir: dir.to_path_buf(),
        manifest,
        entities: e.clone(),
        pools: pools.to_vec(),
        conservation: merged.conservation,
        duplicates: merged.duplicates,
        providers,
        requests: client.counts(),
        duration: started.elapsed(),
    })
}

/// Totals of the merge.
#[derive(Debug, Default)]
struct Merged {
    conservation: Conservation,
    duplicates: u64,
}

/// One bucket of one pool, loaded.
struct Bucket {
    pool: usize,
    bytes: Vec<u8>,
}

/// A bucket encoded.
struct EncodedBucket {
    rows: EncodedRows,
    duplicates: u64,
}

/// Decodes, joins and encodes one bucket (a rayon task).
fn encode_bucket(
    bucket: Bucket,
    opts: &CognitoExportOptions,
    pools: &[String],
    orgs: &Organizations,
    catalog: &GroupCatalog,
) -> Result<EncodedBucket, CognitoExportError> {
    let label = PathBuf::from(format!("{} bucket", pools[bucket.pool]));
    // The records borrow the bucket's bytes.
    let records = sorted_records(&bucket.bytes, &label)?;
    let e = &opts.entities;
    let listed_users = e.has("users") || e.has("organizations") || e.has("memberships");
    let ctx = PoolContext {
        pool: &pools[bucket.pool],
        org: orgs.per_pool[bucket.pool].as_ref(),
        users: e.has("users"),
        memberships: e.has("memberships"),
        roles: e.has("roles"),
        include_external: opts.include_external_provider_users,
    };
    let ts = iso_now();
    let mut out = EncodedBucket {
        rows: EncodedRows::default(),
        duplicates: 0,
    };
    let mut slugs: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < records.len() {
        let key = &records[i].key;
        let mut j = i;
        let mut user: Option<&CognitoUser<&str>> = None;
        slugs.clear();
        while j < records.len() && &records[j].key == key {
            let r = &records[j];
            match r.kind {
                RecordKind::User => {
                    if user.is_some() {
                        out.duplicates += 1;
                    } else {
                        user = r.user.as_ref();
                    }
                }
                RecordKind::Group => {
                    if !listed_users && user.is_none() {
                        user = r.user.as_ref();
                    }
                    if let Some(s) = catalog.slug(bucket.pool, r.group) {
                        if !slugs.contains(&s) {
                            slugs.push(s);
                        }
                    }
                }
            }
            j += 1;
        }
        // A group member missing from ListUsers (created or deleted during
        // the export) is not exported.
        if let Some(u) = user {
            encode_user(&mut out.rows, &ctx, u, &slugs, &ts);
        }
        i = j;
    }
    Ok(out)
}

/// Appends the users of every pool (pool order, buckets in order) through
/// the shared pipeline.
fn merge_users(
    opts: &CognitoExportOptions,
    pools: &[String],
    orgs: &Organizations,
    catalog: &GroupCatalog,
    spill: &UserSpill,
    pkg: &mut MigrationPackageWriter,
) -> Result<Merged, CognitoExportError> {
    let mut merged = Merged::default();
    let batches = (0..pools.len())
        .flat_map(|p| (0..BUCKETS).map(move |b| (p, b)))
        .filter_map(|(pool, b)| match spill.pool(pool).take_bucket(b) {
            Ok(bytes) if bytes.is_empty() => None,
            Ok(bytes) => Some(Ok(Bucket { pool, bytes })),
            Err(e) => Some(Err(CognitoExportError::from(e))),
        });
    let merged_ref = &mut merged;
    pipeline::run(
        batches,
        |bucket| encode_bucket(bucket, opts, pools, orgs, catalog),
        move |b: EncodedBucket| {
            let rows = &b.rows;
            pkg.write_encoded_users(&rows.users, rows.upload_ids.iter().map(String::as_str))?;
            if rows.membership_rows > 0 {
                pkg.write_encoded(&MEMBERSHIPS, &rows.memberships, rows.membership_rows)?;
                for (org, user) in &rows.upload_memberships {
                    pkg.upload()
                        .membership("", org, user, "")
                        .map_err(PackageWriteError::from)?;
                }
            }
            if rows.assignment_rows > 0 {
                pkg.write_encoded(
                    &USER_ROLE_ASSIGNMENTS,
                    &rows.assignments,
                    rows.assignment_rows,
                )?;
            }
            merged_ref.conservation.add(Conservation {
                rows_in: rows.users_in,
                rows_out: rows.exported,
                skipped: rows.skipped,
            });
            merged_ref.duplicates += b.duplicates;
            Ok::<(), CognitoExportError>(())
        },
        pipeline::DEFAULT_IN_FLIGHT,
        &|_| {},
    )?;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic_user(i: u64) -> CognitoUser {
        // Spread over the buckets like UUIDs do.
        let sub = format!(
            "{:08x}-0000-4000-8000-{i:012}",
            i.wrapping_mul(2_654_435_761) as u32
        );
        let mut attributes = vec![
            ("sub".to_string(), sub),
            ("name".to_string(), format!("User {i}")),
        ];
        if !i.is_multiple_of(10) {
            attributes.push(("email".into(), format!("user{i}@example.com")));
        }
        CognitoUser {
            username: format!("user{i}"),
            attributes,
            user_status: "CONFIRMED".into(),
            enabled: true,
            created_at: None,
            updated_at: None,
            mfa_options: vec![],
        }
    }

    /// The merge without a server: users and group records pushed in a
    /// scrambled order come out sorted by external id, joined with their
    /// groups, conserved, and the package validates.
    #[test]
    fn merge_sorts_joins_and_conserves() {
        let n = 20_000u64;
        let spill = UserSpill::new(1).unwrap();
        {
            let mut p = spill.pool(0);
            for i in (0..n).rev() {
                let u = synthetic_user(i);
                p.push(u.external_id(), RecordKind::User, 0, Some(&u))
                    .unwrap();
                if i % 3 == 0 {
                    p.push(u.external_id(), RecordKind::Group, 1, None).unwrap();
                    p.push(u.external_id(), RecordKind::Group, 0, None).unwrap();
                }
            }
            // A listing that saw one user twice.
            let u = synthetic_user(7);
            p.push(u.external_id(), RecordKind::User, 0, Some(&u))
                .unwrap();
        }
        let fetched = vec![PoolFetch {
            pool: "us-east-1_P".into(),
            groups: vec!["Admin".into(), "Ops".into()],
            users_listed: n + 1,
            chains: 1,
            ..Default::default()
        }];
        let d = tempfile::tempdir().unwrap();
        let mut client = CognitoClientConfig::new("us-east-1");
        client.endpoint_url = Some("http://127.0.0.1:1".into());
        let opts = CognitoExportOptions {
            client,
            user_pool_ids: "us-east-1_P".into(),
            output_dir: d.path().join("pkg"),
            entities: Entities::parse("all").unwrap(),
            org_strategy: OrgStrategy::UserPool,
            include_external_provider_users: false,
            sso: CognitoSsoOptions::default(),
            split_threshold: 6_000,
            quiet: true,
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        let client = rt.block_on(CognitoClient::connect(&opts.client)).unwrap();
        let mut entities = opts.entities.clone();
        entities.0.retain(|e| e != "sso");
        let opts = CognitoExportOptions { entities, ..opts };
        let pools = vec!["us-east-1_P".to_string()];
        let dir = opts.output_dir.clone();
        let s = write_package(
            &opts,
            &dir,
            &pools,
            &fetched,
            &spill,
            &client,
            Instant::now(),
        )
        .unwrap();
        let skipped = n / 10;
        assert_eq!(
            s.conservation,
            Conservation {
                rows_in: n,
                rows_out: n - skipped,
                skipped
            }
        );
        assert_eq!(s.duplicates, 1);
        let m = &s.manifest;
        assert_eq!(m.count("users"), n - skipped);
        assert_eq!(m.count("memberships"), n - skipped);
        assert_eq!(m.count("roleDefinitions"), 2);
        let exported_in_groups = (0..n).filter(|i| i % 3 == 0 && i % 10 != 0).count() as u64;
        assert_eq!(m.count("userRoleAssignments"), 2 * exported_in_groups);
        let users = std::fs::read_to_string(dir.join("users.csv")).unwrap();
        let ids: Vec<&str> = users
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(7).unwrap())
            .collect();
        // Bucket by bucket, sorted by external id inside each; no id twice.
        let order = |id: &str| {
            (
                crate::sources::cognito::spill::bucket_of(id),
                id.to_string(),
            )
        };
        assert!(
            ids.windows(2).all(|w| order(w[0]) < order(w[1])),
            "in bucket order, sorted by external id within a bucket"
        );
        let admin = users.lines().find(|l| l.starts_with("user3@")).unwrap();
        assert!(admin.ends_with(",\"admin-role,ops\""), "{admin}");
        let report = crate::package::validator::validate_package(&dir, Default::default());
        assert!(report.is_valid(), "{:?}", report.issues);
    }

    #[test]
    fn entities_are_normalised_and_all_means_all() {
        assert_eq!(
            Entities::parse(" Users , SSO,users").unwrap().0,
            ["users", "sso"]
        );
        assert_eq!(Entities::parse("ALL").unwrap().0, SUPPORTED_ENTITIES);
        assert_eq!(Entities::parse(" , ").unwrap(), Entities::default());
        assert_eq!(
            Entities::parse("users,connections").unwrap_err(),
            "Unsupported Cognito package entity \"connections\". Supported entities: users, organizations, memberships, roles, sso"
        );
    }

    #[test]
    fn pool_ids_are_split_trimmed_and_deduplicated() {
        assert_eq!(parse_pools(" a, b,,a ,c "), ["a", "b", "c"]);
        assert!(parse_pools(" , ").is_empty());
    }

    #[test]
    fn organizations_per_strategy() {
        let provider = |pool: &str, name: &str| CognitoProvider {
            user_pool_id: pool.into(),
            provider_name: name.into(),
            provider_type: "SAML".into(),
            ..Default::default()
        };
        let fetched = vec![
            PoolFetch {
                pool: "z-pool".into(),
                users_listed: 2,
                ..Default::default()
            },
            PoolFetch {
                pool: "a-pool".into(),
                providers: vec![provider("a-pool", "okta"), provider("a-pool", "okta")],
                ..Default::default()
            },
            PoolFetch {
                pool: "empty".into(),
                ..Default::default()
            },
        ];
        let o = organizations(OrgStrategy::UserPool, &fetched);
        let ids: Vec<&str> = o.rows.iter().map(|r| r.external_id.as_str()).collect();
        assert_eq!(ids, ["a-pool", "z-pool"]);
        assert!(o.per_pool[2].is_none());
        let o = organizations(OrgStrategy::Connection, &fetched);
        assert_eq!(o.rows.len(), 1);
        assert_eq!(o.rows[0].external_id, "a-pool:okta");
        assert!(o.per_pool.iter().all(Option::is_none));
        assert!(organizations(OrgStrategy::None, &fetched).rows.is_empty());
    }
}
