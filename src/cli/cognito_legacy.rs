//! The deprecated `export-cognito` (export-and-package.md §13.2): its clap
//! types and checks, `--package` handed to `export cognito`, and the loose
//! mode: per entity of `--entities` (`connections`, `users`), the files of
//! `sources::cognito::legacy` written into `--output-dir`.
//!
//! The AWS calls go through [`CognitoLegacyBackend`], implemented by the
//! exporter's SDK client; [`run_export_cognito_legacy`] obtains it from
//! [`connect_aws`] and hands `--package` to [`export_package`] — the two
//! functions that connect this command to `export cognito`.
//!
//! Decisions (docs/decisions.md, "Cognito SSO hand-off and export-cognito"):
//! a missing region or pool id list is a one-line error before connecting
//! (the original failed per entity and exited 0); `--include-secrets` and
//! `--endpoint-url` are added; files are written under `.partial` names with
//! mode 0600 and renamed when complete, and Ctrl-C removes unfinished ones.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::cognito::{run_export_cognito, ExportCognitoArgs};
use super::fail as failed;
use crate::sources::cognito::client::{
    CognitoClient, CognitoClientConfig, DEFAULT_MAX_RETRIES, DEFAULT_RATE_LIMIT,
};
use crate::sources::cognito::fetch::DEFAULT_SPLIT_THRESHOLD;
use crate::sources::cognito::legacy::{
    write_loose_connections, LegacyUser, LooseUsersWriter, OIDC_FILE, USERS_FILE,
};
use crate::sources::cognito::{CognitoProvider, CognitoSsoOptions};
use crate::sources::legacy_csv::{partial_path, OutcomeLock};

const PREFIX: &str = "Export failed";

/// The `--org-strategy` values.
pub const ORG_STRATEGIES: [&str; 3] = ["user-pool", "connection", "none"];

/// The `--entities` default of the alias, replaced in package mode (§13.2).
pub const LEGACY_DEFAULT_ENTITIES: &str = "connections,users";
const PACKAGE_DEFAULT_ENTITIES: &str = "users,organizations,memberships";

/// Log a progress line every this many users (the original's rhythm).
const PROGRESS_EVERY: u64 = 300;

/// `export-cognito` (deprecated): Export identity providers and users from AWS Cognito
#[derive(Debug, Clone, Args)]
pub struct ExportCognitoLegacyArgs {
    /// AWS region of the user pools
    #[arg(long, value_name = "region", env = "AWS_REGION")]
    pub region: String,
    /// Comma-separated Cognito user pool ids
    #[arg(long, value_name = "ids", env = "COGNITO_USER_POOL_IDS")]
    pub user_pool_ids: String,
    /// connections,users (loose mode) or package entities (with --package)
    #[arg(long, value_name = "entities", default_value = LEGACY_DEFAULT_ENTITIES)]
    pub entities: String,
    /// Directory for the output files (or the package, with --package)
    #[arg(long, value_name = "dir", default_value = ".")]
    pub output_dir: PathBuf,
    /// Write a migration package (same as 'export cognito')
    #[arg(long)]
    pub package: bool,
    /// user-pool, connection or none (with --package)
    #[arg(long, value_name = "strategy", default_value = "user-pool")]
    pub org_strategy: String,
    /// AWS access key id (else the default credential chain)
    #[arg(
        long,
        value_name = "id",
        env = "AWS_ACCESS_KEY_ID",
        hide_env_values = true
    )]
    pub access_key_id: Option<String>,
    /// AWS secret access key
    #[arg(
        long,
        value_name = "secret",
        env = "AWS_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub secret_access_key: Option<String>,
    /// AWS session token
    #[arg(
        long,
        value_name = "token",
        env = "AWS_SESSION_TOKEN",
        hide_env_values = true
    )]
    pub session_token: Option<String>,
    /// Cognito API endpoint instead of AWS's (e.g. a local server)
    #[arg(long, value_name = "url")]
    pub endpoint_url: Option<String>,
    /// Template for the SAML customAcsUrl column ({provider_name}, {user_pool_id}, {region})
    #[arg(long, value_name = "url", env = "SAML_CUSTOM_ACS_URL_TEMPLATE")]
    pub saml_custom_acs_url_template: Option<String>,
    /// Template for the SAML customEntityId column (default: urn:amazon:cognito:sp:{user_pool_id})
    #[arg(long, value_name = "url", env = "SAML_CUSTOM_ENTITY_ID_TEMPLATE")]
    pub saml_custom_entity_id_template: Option<String>,
    /// Template for the OIDC customRedirectUri column
    #[arg(long, value_name = "url", env = "OIDC_CUSTOM_REDIRECT_URI_TEMPLATE")]
    pub oidc_custom_redirect_uri_template: Option<String>,
    /// Leave out users whose UserStatus is EXTERNAL_PROVIDER
    #[arg(long)]
    pub skip_external_provider_users: bool,
    /// Write OIDC client secrets (and other provider secrets) into the output
    #[arg(long)]
    pub include_secrets: bool,
    /// Print nothing but errors (with --package)
    #[arg(long)]
    pub quiet: bool,
}

/// How to reach AWS. Not `Debug`: it holds credentials.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CognitoConnection {
    pub region: String,
    /// Static credentials, used only when key id and secret are both non-empty.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Everything `export cognito` needs for `export-cognito --package`.
#[derive(Clone)]
pub struct CognitoLegacyPackageRequest {
    pub connection: CognitoConnection,
    /// The `--user-pool-ids` value as given (comma-separated).
    pub user_pool_ids: String,
    /// `--entities`, with the alias default replaced by the package default.
    pub entities: String,
    pub output_dir: PathBuf,
    pub org_strategy: String,
    /// Templates as given (environment fallbacks applied, no default) and
    /// `--include-secrets`.
    pub sso: CognitoSsoOptions,
    pub skip_external_provider_users: bool,
    pub quiet: bool,
}

/// One `ListUsers` page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersPage {
    pub users: Vec<LegacyUser>,
    /// `PaginationToken` of the next page, if any.
    pub next: Option<String>,
}

/// The AWS calls of the loose mode. Errors are one line without secrets.
pub trait CognitoLegacyBackend {
    /// The credential probe (`ListUserPools {MaxResults: 1}`, §5.2).
    fn authenticate(&self) -> impl Future<Output = Result<(), String>>;
    /// `ListIdentityProviders` + `DescribeIdentityProvider` of one pool, in
    /// listing order.
    fn identity_providers(
        &self,
        user_pool_id: &str,
    ) -> impl Future<Output = Result<Vec<CognitoProvider>, String>>;
    /// One `ListUsers` page (60 users) of a pool.
    fn users_page(
        &self,
        user_pool_id: &str,
        pagination_token: Option<&str>,
    ) -> impl Future<Output = Result<UsersPage, String>>;
}

/// A shared client serves as well as an owned one.
impl<T: CognitoLegacyBackend> CognitoLegacyBackend for &T {
    fn authenticate(&self) -> impl Future<Output = Result<(), String>> {
        (**self).authenticate()
    }
    fn identity_providers(
        &self,
        user_pool_id: &str,
    ) -> impl Future<Output = Result<Vec<CognitoProvider>, String>> {
        (**self).identity_providers(user_pool_id)
    }
    fn users_page(
        &self,
        user_pool_id: &str,
        pagination_token: Option<&str>,
    ) -> impl Future<Output = Result<UsersPage, String>> {
        (**self).users_page(user_pool_id, pagination_token)
    }
}

impl ExportCognitoLegacyArgs {
    /// The checks made before connecting, in order.
    fn check(&self) -> Result<Vec<String>, String> {
        if !ORG_STRATEGIES.contains(&self.org_strategy.as_str()) {
            return Err(format!(
                "--org-strategy must be one of: user-pool, connection, none. Got \"{}\"",
                self.org_strategy
            ));
        }
        if self.region.trim().is_empty() {
            return Err("AWS region is required (--region or AWS_REGION)".into());
        }
        let pools = pool_ids(&self.user_pool_ids);
        if pools.is_empty() {
            return Err("no user pool IDs provided \u{2014} set COGNITO_USER_POOL_IDS, pass --user-pool-ids, or save to config".into());
        }
        Ok(pools)
    }

    pub fn connection(&self) -> CognitoConnection {
        let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        CognitoConnection {
            region: self.region.trim().to_string(),
            access_key_id: non_empty(&self.access_key_id),
            secret_access_key: non_empty(&self.secret_access_key),
            session_token: non_empty(&self.session_token),
            endpoint_url: non_empty(&self.endpoint_url),
        }
    }

    /// The SSO settings: templates as given (the mapping applies the
    /// entity-id default), `--include-secrets`.
    pub fn sso_options(&self) -> CognitoSsoOptions {
        CognitoSsoOptions {
            region: self.region.trim().to_string(),
            saml_custom_acs_url_template: self.saml_custom_acs_url_template.clone(),
            saml_custom_entity_id_template: self.saml_custom_entity_id_template.clone(),
            oidc_custom_redirect_uri_template: self.oidc_custom_redirect_uri_template.clone(),
            include_secrets: self.include_secrets,
        }
    }

    pub fn package_request(&self) -> CognitoLegacyPackageRequest {
        CognitoLegacyPackageRequest {
            connection: self.connection(),
            user_pool_ids: self.user_pool_ids.clone(),
            entities: if self.entities == LEGACY_DEFAULT_ENTITIES {
                PACKAGE_DEFAULT_ENTITIES.into()
            } else {
                self.entities.clone()
            },
            output_dir: self.output_dir.clone(),
            org_strategy: self.org_strategy.clone(),
            sso: self.sso_options(),
            skip_external_provider_users: self.skip_external_provider_users,
            quiet: self.quiet,
        }
    }
}

/// Pool ids: split on `,`, trimmed, empties dropped (§5.2).
pub fn pool_ids(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

// ---------------------------------------------------------------------------
// Connection to `export cognito` (see the module documentation).

/// The loose mode's backend: the `export cognito` SDK client (same
/// credentials chain, endpoint override, pacing and retries), connected on
/// the first call inside the command's runtime.
pub struct SdkBackend {
    config: CognitoClientConfig,
    client: tokio::sync::OnceCell<CognitoClient>,
}

impl SdkBackend {
    async fn client(&self) -> Result<&CognitoClient, String> {
        self.client
            .get_or_try_init(|| CognitoClient::connect(&self.config))
            .await
            .map_err(|e| e.to_string())
    }
}

impl CognitoLegacyBackend for SdkBackend {
    async fn authenticate(&self) -> Result<(), String> {
        self.client()
            .await?
            .probe()
            .await
            .map_err(|e| e.to_string())
    }

    async fn identity_providers(&self, pool: &str) -> Result<Vec<CognitoProvider>, String> {
        self.client()
            .await?
            .identity_providers(pool)
            .await
            .map_err(|e| e.to_string())
    }

    async fn users_page(&self, pool: &str, token: Option<&str>) -> Result<UsersPage, String> {
        let (users, next) = self
            .client()
            .await?
            .list_users_page(pool, None, token)
            .await
            .map_err(|e| e.to_string())?;
        let users = users
            .into_iter()
            .map(|u| LegacyUser {
                user_pool_id: pool.to_string(),
                username: u.username,
                attributes: u.attributes.into_iter().collect(),
                user_status: Some(u.user_status).filter(|s| !s.is_empty()),
                enabled: Some(u.enabled),
            })
            .collect();
        Ok(UsersPage { users, next })
    }
}

/// The client settings of `connection`: default pacing and retries.
fn client_config(connection: &CognitoConnection) -> CognitoClientConfig {
    let mut config = CognitoClientConfig::new(&connection.region);
    config.access_key_id = connection.access_key_id.clone();
    config.secret_access_key = connection.secret_access_key.clone();
    config.session_token = connection.session_token.clone();
    config.endpoint_url = connection.endpoint_url.clone();
    config
}

/// The backend of the loose mode, built from `connection` (region, static
/// credentials or the default chain, endpoint).
fn connect_aws(connection: &CognitoConnection) -> Result<SdkBackend, String> {
    Ok(SdkBackend {
        config: client_config(connection),
        client: tokio::sync::OnceCell::new(),
    })
}

/// `--package`: `export cognito` with `request`; returns the exit code.
fn export_package(
    request: &CognitoLegacyPackageRequest,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let c = &request.connection;
    let args = ExportCognitoArgs {
        region: Some(c.region.clone()),
        user_pool_ids: Some(request.user_pool_ids.clone()),
        access_key_id: c.access_key_id.clone(),
        secret_access_key: c.secret_access_key.clone(),
        session_token: c.session_token.clone(),
        output_dir: request.output_dir.clone(),
        entities: request.entities.clone(),
        org_strategy: request.org_strategy.clone(),
        skip_external_provider_users: request.skip_external_provider_users,
        include_external_provider_users: false,
        saml_custom_acs_url_template: request.sso.saml_custom_acs_url_template.clone(),
        saml_custom_entity_id_template: request.sso.saml_custom_entity_id_template.clone(),
        oidc_custom_redirect_uri_template: request.sso.oidc_custom_redirect_uri_template.clone(),
        include_secrets: request.sso.include_secrets,
        endpoint_url: c.endpoint_url.clone(),
        rate_limit: DEFAULT_RATE_LIMIT.to_string(),
        max_retries: DEFAULT_MAX_RETRIES.to_string(),
        split_threshold: DEFAULT_SPLIT_THRESHOLD.to_string(),
        quiet: request.quiet,
    };
    run_export_cognito(args, out, err)
}

// ---------------------------------------------------------------------------

/// `export-cognito`; returns the exit code.
pub fn run_export_cognito_legacy(
    args: ExportCognitoLegacyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let outcome = OutcomeLock::default();
    if !args.package {
        // Ctrl-C removes the unfinished users file and the OIDC file (which
        // may hold secrets); the scratch directory argument names nothing.
        super::legacy::remove_on_interrupt(
            "Export",
            outcome.clone(),
            args.output_dir.join(".export-cognito-no-scratch"),
            [USERS_FILE, OIDC_FILE].map(|f| partial_path(&args.output_dir.join(f))),
        );
    }
    let code = run_with(&args, connect_aws, export_package, out, err);
    outcome.settle();
    code
}

/// The command with its AWS side given: `connect` builds the backend of the
/// loose mode, `package` runs `export cognito`.
pub fn run_with<B, C, P>(
    args: &ExportCognitoLegacyArgs,
    connect: C,
    package: P,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32
where
    B: CognitoLegacyBackend,
    C: FnOnce(&CognitoConnection) -> Result<B, String>,
    P: FnOnce(&CognitoLegacyPackageRequest, &mut dyn Write, &mut dyn Write) -> i32,
{
    let _ = writeln!(
        err,
        "\u{26a0} 'export-cognito' is deprecated; use 'export cognito' (removed in v4.0)"
    );
    let pools = match args.check() {
        Ok(p) => p,
        Err(m) => return failed(err, PREFIX, &m),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return failed(err, PREFIX, &e),
    };
    let _ = writeln!(out, "Connecting to AWS Cognito...");
    let backend = match connect(&args.connection()) {
        Ok(b) => b,
        Err(m) => return failed(err, PREFIX, &m),
    };
    if let Err(m) = runtime.block_on(backend.authenticate()) {
        return failed(err, PREFIX, &m);
    }
    let _ = writeln!(out, "Successfully authenticated with AWS");
    if args.package {
        let _ = out.flush();
        return package(&args.package_request(), out, err);
    }
    for entity in args.entities.split(',').map(str::trim) {
        let result = match entity {
            "connections" => runtime.block_on(export_connections(&backend, args, &pools, out)),
            "users" => runtime.block_on(export_users(&backend, args, &pools, out)),
            "" => continue,
            other => {
                let _ = writeln!(err, "  skipping unknown entity: {other}");
                continue;
            }
        };
        if let Err(m) = result {
            let _ = writeln!(err, "  failed to export {entity}: {}", super::one_line(&m));
        }
    }
    let _ = out.flush();
    0
}

fn print_files(out: &mut dyn Write, files: &[&Path], warnings: &[String]) {
    let _ = writeln!(out, "\n  output files:");
    for f in files {
        let _ = writeln!(out, "    {}", f.display());
    }
    for w in warnings {
        let _ = writeln!(out, "{w}");
    }
}

async fn export_connections<B: CognitoLegacyBackend>(
    backend: &B,
    args: &ExportCognitoLegacyArgs,
    pools: &[String],
    out: &mut dyn Write,
) -> Result<(), String> {
    let mut all = Vec::new();
    for pool in pools {
        let _ = writeln!(out, "  fetching IdPs from {pool}...");
        let providers = backend.identity_providers(pool).await?;
        let _ = writeln!(out, "  {pool}: {} IdP(s)", providers.len());
        all.extend(providers);
    }
    let s = write_loose_connections(&args.output_dir, &all, &args.sso_options())
        .map_err(|e| e.to_string())?;
    print_files(
        out,
        &[&s.saml_path, &s.oidc_path, &s.custom_attributes_path],
        &s.warnings(),
    );
    Ok(())
}

async fn export_users<B: CognitoLegacyBackend>(
    backend: &B,
    args: &ExportCognitoLegacyArgs,
    pools: &[String],
    out: &mut dyn Write,
) -> Result<(), String> {
    let mut writer = LooseUsersWriter::create(&args.output_dir, args.skip_external_provider_users)
        .map_err(|e| e.to_string())?;
    for pool in pools {
        let _ = writeln!(out, "  fetching users from {pool}...");
        let mut fetched = 0u64;
        let mut token: Option<String> = None;
        loop {
            let page = backend.users_page(pool, token.as_deref()).await?;
            for user in &page.users {
                writer.write_user(user).map_err(|e| e.to_string())?;
            }
            let before = fetched;
            fetched += page.users.len() as u64;
            if fetched / PROGRESS_EVERY > before / PROGRESS_EVERY {
                let _ = writeln!(out, "    ...{fetched} users so far");
            }
            match page.next {
                Some(next) if token.as_deref() == Some(next.as_str()) => {
                    return Err(format!(
                        "ListUsers on {pool} returned the same PaginationToken twice"
                    ));
                }
                Some(next) => token = Some(next),
                None => break,
            }
        }
        let _ = writeln!(out, "  {pool}: {fetched} user(s)");
    }
    let s = writer.finish().map_err(|e| e.to_string())?;
    print_files(out, &[&s.path], &s.warnings());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::*;

    const P1: &str = "us-east-1_AAAPOOL";
    const P2: &str = "us-east-1_BBBPOOL";

    /// An in-memory Cognito: pages of `page_size` users, offsets as tokens.
    #[derive(Default)]
    struct FakeCognito {
        providers: BTreeMap<String, Vec<CognitoProvider>>,
        users: BTreeMap<String, Vec<LegacyUser>>,
        page_size: usize,
        deny_users: bool,
        deny_auth: bool,
        stuck_token: bool,
        calls: RefCell<Vec<String>>,
    }

    impl CognitoLegacyBackend for FakeCognito {
        async fn authenticate(&self) -> Result<(), String> {
            self.calls.borrow_mut().push("ListUserPools".into());
            if self.deny_auth {
                return Err("ListUserPools: UnrecognizedClientException: The security token included in the request is invalid.".into());
            }
            Ok(())
        }

        async fn identity_providers(&self, pool: &str) -> Result<Vec<CognitoProvider>, String> {
            self.calls
                .borrow_mut()
                .push(format!("ListIdentityProviders {pool}"));
            Ok(self.providers.get(pool).cloned().unwrap_or_default())
        }

        async fn users_page(&self, pool: &str, token: Option<&str>) -> Result<UsersPage, String> {
            self.calls
                .borrow_mut()
                .push(format!("ListUsers {pool} {token:?}"));
            if self.deny_users {
                return Err(format!(
                    "ListUsers on {pool}: AccessDeniedException: not authorized to perform:\n cognito-idp:ListUsers"
                ));
            }
            if self.stuck_token {
                return Ok(UsersPage {
                    users: Vec::new(),
                    next: Some("same".into()),
                });
            }
            let all = self.users.get(pool).cloned().unwrap_or_default();
            let start: usize = token.map_or(0, |t| t.parse().unwrap());
            let end = (start + self.page_size).min(all.len());
            Ok(UsersPage {
                users: all[start..end].to_vec(),
                next: (end < all.len()).then(|| end.to_string()),
            })
        }
    }

    fn user(pool: &str, n: usize, status: &str) -> LegacyUser {
        LegacyUser {
            user_pool_id: pool.into(),
            username: format!("user{n}"),
            attributes: [
                ("sub".to_string(), format!("{pool}-sub-{n}")),
                ("email".to_string(), format!("user{n}@example.com")),
            ]
            .into_iter()
            .collect(),
            user_status: Some(status.into()),
            enabled: Some(true),
        }
    }

    fn saml(pool: &str, name: &str) -> CognitoProvider {
        CognitoProvider {
            user_pool_id: pool.into(),
            provider_name: name.into(),
            provider_type: "SAML".into(),
            provider_details: [("EntityId".to_string(), "urn:idp".to_string())]
                .into_iter()
                .collect(),
            attribute_mapping: [("email".to_string(), "mail".to_string())]
                .into_iter()
                .collect(),
            idp_identifiers: vec!["acme.com".into()],
        }
    }

    fn oidc(pool: &str) -> CognitoProvider {
        CognitoProvider {
            user_pool_id: pool.into(),
            provider_name: "azure".into(),
            provider_type: "OIDC".into(),
            provider_details: [
                ("client_id".to_string(), "cid".to_string()),
                ("client_secret".to_string(), "top-secret".to_string()),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        }
    }

    fn fake() -> FakeCognito {
        let mut f = FakeCognito {
            page_size: 60,
            ..Default::default()
        };
        f.providers
            .insert(P1.into(), vec![saml(P1, "okta"), oidc(P1)]);
        f.users.insert(
            P1.into(),
            (0..650)
                .map(|n| {
                    user(
                        P1,
                        n,
                        if n == 7 {
                            "EXTERNAL_PROVIDER"
                        } else {
                            "CONFIRMED"
                        },
                    )
                })
                .collect(),
        );
        f.users.insert(P2.into(), vec![user(P2, 0, "CONFIRMED")]);
        f
    }

    fn args(dir: &Path) -> ExportCognitoLegacyArgs {
        ExportCognitoLegacyArgs {
            region: "us-east-1".into(),
            user_pool_ids: format!(" {P1}, ,{P2} "),
            entities: LEGACY_DEFAULT_ENTITIES.into(),
            output_dir: dir.to_path_buf(),
            package: false,
            org_strategy: "user-pool".into(),
            access_key_id: Some("AKIDEXAMPLE".into()),
            secret_access_key: Some("wJalrXUtnFEMI".into()),
            session_token: Some(String::new()),
            endpoint_url: None,
            saml_custom_acs_url_template: Some("https://proxy/{provider_name}/acs".into()),
            saml_custom_entity_id_template: None,
            oidc_custom_redirect_uri_template: None,
            skip_external_provider_users: false,
            include_secrets: false,
            quiet: false,
        }
    }

    struct Run {
        code: i32,
        out: String,
        err: String,
    }

    fn run(args: &ExportCognitoLegacyArgs, backend: FakeCognito) -> (Run, FakeCognito) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_with(
            args,
            |_| Ok(&backend),
            |_, _, _| panic!("package mode not expected"),
            &mut out,
            &mut err,
        );
        (
            Run {
                code,
                out: String::from_utf8(out).unwrap(),
                err: String::from_utf8(err).unwrap(),
            },
            backend,
        )
    }

    #[test]
    fn loose_mode_writes_both_entities_in_pages() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(dir.path());
        a.entities = "connections, users,groups".into();
        let (r, backend) = run(&a, fake());
        assert_eq!(r.code, 0, "{}", r.err);
        assert_eq!(
            r.err,
            "\u{26a0} 'export-cognito' is deprecated; use 'export cognito' (removed in v4.0)\n  skipping unknown entity: groups\n"
        );
        let d = dir.path().display();
        let expected_head = format!(
            "Connecting to AWS Cognito...\nSuccessfully authenticated with AWS\n  fetching IdPs from {P1}...\n  {P1}: 2 IdP(s)\n  fetching IdPs from {P2}...\n  {P2}: 0 IdP(s)\n\n  output files:\n    {d}/workos_saml_connections.csv\n    {d}/workos_oidc_connections.csv\n    {d}/custom_attribute_mappings.csv\n  [warn] 1 row(s) have empty 'domains' column."
        );
        assert!(r.out.starts_with(&expected_head), "{}", r.out);
        assert!(r
            .out
            .contains("  [warn] 1 OIDC client secret(s) were left out"));
        assert!(r.out.contains(&format!(
            "  fetching users from {P1}...\n    ...300 users so far\n    ...600 users so far\n  {P1}: 650 user(s)\n  fetching users from {P2}...\n  {P2}: 1 user(s)\n\n  output files:\n    {d}/workos_users.csv\n  [warn] password_hash is blank for all 651 user(s)"
        )), "{}", r.out);
        // 11 pages of pool 1, 1 of pool 2, after one probe and two listings.
        let calls = backend.calls.borrow();
        assert_eq!(calls[0], "ListUserPools");
        assert_eq!(
            calls.iter().filter(|c| c.starts_with("ListUsers ")).count(),
            12
        );
        let users = std::fs::read_to_string(dir.path().join(USERS_FILE)).unwrap();
        assert_eq!(users.lines().count(), 652);
        assert!(users.contains(&format!("{P1}-sub-7,user7@example.com,")));
        let oidc = std::fs::read_to_string(dir.path().join(OIDC_FILE)).unwrap();
        assert!(!oidc.contains("top-secret"));
        let saml = std::fs::read_to_string(dir.path().join("workos_saml_connections.csv")).unwrap();
        assert!(saml.contains(",acme.com,urn:idp,"));
        assert!(saml.contains("https://proxy/okta/acs"));
    }

    #[test]
    fn external_provider_users_are_skipped_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(dir.path());
        a.entities = "users".into();
        a.skip_external_provider_users = true;
        let (r, _) = run(&a, fake());
        assert_eq!(r.code, 0);
        let users = std::fs::read_to_string(dir.path().join(USERS_FILE)).unwrap();
        assert_eq!(users.lines().count(), 651);
        assert!(!users.contains("sub-7,"));
        assert!(r.out.contains("1 EXTERNAL_PROVIDER user(s) were left out"));
    }

    #[test]
    fn a_failing_entity_is_reported_and_the_run_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = fake();
        f.deny_users = true;
        let mut a = args(dir.path());
        a.entities = "users,connections".into();
        let (r, _) = run(&a, f);
        assert_eq!(r.code, 0);
        assert!(
            r.err.ends_with(&format!(
                "  failed to export users: ListUsers on {P1}: AccessDeniedException: not authorized to perform: cognito-idp:ListUsers\n"
            )),
            "{}",
            r.err
        );
        assert!(!dir.path().join(USERS_FILE).exists());
        assert!(!partial_path(&dir.path().join(USERS_FILE)).exists());
        assert!(dir.path().join(OIDC_FILE).exists());
        // A token that never advances fails the entity instead of looping.
        let mut f = fake();
        f.stuck_token = true;
        a.entities = "users".into();
        let (r, _) = run(&a, f);
        assert_eq!(r.code, 0);
        assert!(r.err.contains("returned the same PaginationToken twice"));
    }

    #[test]
    fn authentication_failure_is_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = fake();
        f.deny_auth = true;
        let (r, _) = run(&args(dir.path()), f);
        assert_eq!(r.code, 1);
        assert_eq!(r.out, "Connecting to AWS Cognito...\n");
        assert!(r.err.ends_with(
            "Export failed: ListUserPools: UnrecognizedClientException: The security token included in the request is invalid.\n"
        ));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn checks_come_before_connecting() {
        let dir = tempfile::tempdir().unwrap();
        for (change, message) in [
            (
                (|a: &mut ExportCognitoLegacyArgs| a.org_strategy = "pool".into())
                    as fn(&mut ExportCognitoLegacyArgs),
                "Export failed: --org-strategy must be one of: user-pool, connection, none. Got \"pool\"",
            ),
            (
                |a| a.region = "  ".into(),
                "Export failed: AWS region is required (--region or AWS_REGION)",
            ),
            (
                |a| a.user_pool_ids = " , ".into(),
                "Export failed: no user pool IDs provided \u{2014} set COGNITO_USER_POOL_IDS, pass --user-pool-ids, or save to config",
            ),
        ] {
            let mut a = args(dir.path());
            change(&mut a);
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = run_with(
                &a,
                |_| -> Result<FakeCognito, String> { panic!("must not connect") },
                |_, _, _| panic!("must not export"),
                &mut out,
                &mut err,
            );
            assert_eq!(code, 1);
            assert!(out.is_empty());
            let err = String::from_utf8(err).unwrap();
            assert_eq!(err.lines().nth(1), Some(message));
        }
    }

    #[test]
    fn package_mode_hands_over_to_export_cognito() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(dir.path());
        a.package = true;
        a.include_secrets = true;
        a.saml_custom_entity_id_template = Some("urn:x:{region}".into());
        let seen = RefCell::new(None);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_with(
            &a,
            |c| {
                assert_eq!(c.region, "us-east-1");
                assert_eq!(c.access_key_id.as_deref(), Some("AKIDEXAMPLE"));
                assert_eq!(c.session_token, None);
                Ok(fake())
            },
            |req, out, _| {
                let _ = writeln!(out, "Package export complete");
                *seen.borrow_mut() = Some(req.clone());
                0
            },
            &mut out,
            &mut err,
        );
        assert_eq!(code, 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Connecting to AWS Cognito...\nSuccessfully authenticated with AWS\nPackage export complete\n"
        );
        let req = seen.into_inner().unwrap();
        assert_eq!(req.entities, "users,organizations,memberships");
        assert_eq!(req.user_pool_ids, a.user_pool_ids);
        assert_eq!(req.org_strategy, "user-pool");
        assert!(req.sso.include_secrets);
        assert_eq!(
            req.sso.saml_custom_entity_id_template.as_deref(),
            Some("urn:x:{region}")
        );
        assert_eq!(req.output_dir, dir.path());
        // Any other entity list is passed as given.
        a.entities = "connections".into();
        assert_eq!(a.package_request().entities, "connections");
        a.entities = "users,sso".into();
        assert_eq!(a.package_request().entities, "users,sso");
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }

    #[test]
    fn pool_ids_are_split_and_trimmed() {
        assert_eq!(pool_ids(" a, ,b ,"), ["a", "b"]);
        assert!(pool_ids("").is_empty());
    }
}
