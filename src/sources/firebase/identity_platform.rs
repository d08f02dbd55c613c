//! Identity Platform SSO export (export-and-package.md §7.1, §7.5): a Google
//! service account authenticates ([`auth`]), the admin REST API is paged for
//! project and tenant `inboundSamlConfigs` / `oauthIdpConfigs`, and the
//! configs are mapped onto the SSO hand-off CSVs ([`mapping`]).
//!
//! - Every request is `GET {base}/v2/projects/{p}/…?pageSize=100[&pageToken=…]`
//!   with a Bearer token; paging ends at an empty `nextPageToken`.
//! - Scopes: the project, then (unless `skip_tenant_sso`) every tenant of
//!   `GET /v2/projects/{p}/tenants`.
//! - Authentication failures (unreadable key, token exchange refused) are hard
//!   errors; a failed listing is an `sso_fetch_failed` warning and the export
//!   goes on. Warnings: fetch failures as they occur, then mapping warnings
//!   (scope order, SAML before OIDC).
//! - 429 / 5xx / timeouts are retried within a bounded budget
//!   ([`RetryPolicy`]); error texts never carry the access token or the
//!   signed assertion and cut bodies to 200 characters.
//! - The project id is the caller's (flag or environment), else the key
//!   file's `project_id`.

pub mod auth;
pub mod mapping;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

pub use auth::{GoogleTokenProvider, ServiceAccountKey};
pub use mapping::{no_sso_secret_redaction, FirebaseSsoMapper, ScopeInfo};

use crate::sources::sso::http::{self, HttpFailure, RetryPolicy};
use crate::sources::sso::{sso_fetch_failed, SsoHandoff};

/// Identity Platform admin API base URL.
pub const DEFAULT_BASE_URL: &str = "https://identitytoolkit.googleapis.com";
/// `pageSize` of every listing.
pub const PAGE_SIZE: u32 = 100;
/// Safety stop for a server whose page tokens never end.
const MAX_PAGES: usize = 10_000;

/// Errors of the Identity Platform export. `KeyNotFound`, `InvalidKey`,
/// `MissingProjectId` and `Token` are fatal; the others become
/// `sso_fetch_failed` warnings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityPlatformError {
    #[error("Service account key not found: {}", .0.display())]
    KeyNotFound(PathBuf),
    #[error("Invalid service account key {path}: {reason}")]
    InvalidKey { path: String, reason: String },
    #[error("A GCP project ID is required when fetching Identity Platform SSO configs \u{2014} pass --project-id or set GOOGLE_CLOUD_PROJECT / GCLOUD_PROJECT")]
    MissingProjectId,
    #[error("Failed to obtain Google access token. Verify your service account credentials and cloud-platform scope. ({0})")]
    Token(String),
    #[error("Invalid Identity Platform API base URL {0:?}")]
    InvalidBaseUrl(String),
    #[error("Identity Platform API error ({status}) for {path}: {body}")]
    Api {
        status: u16,
        path: String,
        body: String,
    },
    #[error("Identity Platform API request failed for {path}: {message}")]
    Transport { path: String, message: String },
    #[error("Identity Platform API returned an unexpected response for {path}: {message}")]
    InvalidResponse { path: String, message: String },
}

impl IdentityPlatformError {
    /// True for errors that stop the export (credentials, configuration).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::KeyNotFound(_)
                | Self::InvalidKey { .. }
                | Self::MissingProjectId
                | Self::Token(_)
                | Self::InvalidBaseUrl(_)
        )
    }
}

/// A tenant of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub display_name: Option<String>,
}

/// Admin REST API client for one project.
#[derive(Debug, Clone)]
pub struct IdentityPlatformClient {
    base_url: reqwest::Url,
    project_id: String,
    tokens: Arc<GoogleTokenProvider>,
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl IdentityPlatformClient {
    pub fn new(
        base_url: &str,
        project_id: &str,
        tokens: Arc<GoogleTokenProvider>,
        retry: RetryPolicy,
    ) -> Result<Self, IdentityPlatformError> {
        let project_id = project_id.trim();
        if project_id.is_empty() {
            return Err(IdentityPlatformError::MissingProjectId);
        }
        let base = base_url.trim().trim_end_matches('/');
        let base = if base.is_empty() {
            DEFAULT_BASE_URL
        } else {
            base
        };
        let base_url = reqwest::Url::parse(base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base())
            .ok_or_else(|| IdentityPlatformError::InvalidBaseUrl(base.to_string()))?;
        Ok(Self {
            base_url,
            project_id: project_id.to_string(),
            tokens,
            http: retry.client(),
            retry,
        })
    }

    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// `inboundSamlConfigs` of the project (`None`) or a tenant.
    pub async fn list_inbound_saml_configs(
        &self,
        tenant: Option<&str>,
    ) -> Result<Vec<Value>, IdentityPlatformError> {
        self.list(tenant, "inboundSamlConfigs").await
    }

    /// `oauthIdpConfigs` of the project (`None`) or a tenant.
    pub async fn list_oauth_idp_configs(
        &self,
        tenant: Option<&str>,
    ) -> Result<Vec<Value>, IdentityPlatformError> {
        self.list(tenant, "oauthIdpConfigs").await
    }

    /// Every tenant with a non-empty id (last `/` segment of `name`).
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, IdentityPlatformError> {
        let raw = self.list(None, "tenants").await?;
        Ok(raw
            .iter()
            .filter_map(|t| {
                let name = t.get("name").and_then(Value::as_str).unwrap_or_default();
                let id = mapping::config_id(name);
                (!id.is_empty()).then(|| Tenant {
                    id: id.to_string(),
                    display_name: t
                        .get("displayName")
                        .and_then(Value::as_str)
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(str::to_string),
                })
            })
            .collect())
    }

    /// Pages through `/v2/projects/{p}[/tenants/{t}]/{collection}`.
    async fn list(
        &self,
        tenant: Option<&str>,
        collection: &str,
    ) -> Result<Vec<Value>, IdentityPlatformError> {
        let mut url = self.base_url.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|_| IdentityPlatformError::InvalidBaseUrl(self.base_url.to_string()))?;
            segments
                .pop_if_empty()
                .extend(["v2", "projects", &self.project_id]);
            if let Some(t) = tenant {
                segments.extend(["tenants", t]);
            }
            segments.push(collection);
        }
        let mut items = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut page_url = url.clone();
            page_url
                .query_pairs_mut()
                .append_pair("pageSize", &PAGE_SIZE.to_string());
            if let Some(t) = &page_token {
                page_url.query_pairs_mut().append_pair("pageToken", t);
            }
            let mut page = self.get(&page_url).await?;
            if let Some(Value::Array(found)) = page.get_mut(collection).map(Value::take) {
                items.extend(found);
            }
            let next = page
                .get("nextPageToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            match next {
                None => return Ok(items),
                Some(t) if page_token.as_deref() == Some(t.as_str()) => {
                    return Err(IdentityPlatformError::InvalidResponse {
                        path: path_of(&page_url),
                        message: "the same nextPageToken was returned twice".into(),
                    })
                }
                Some(t) => page_token = Some(t),
            }
        }
        Err(IdentityPlatformError::InvalidResponse {
            path: path_of(&url),
            message: format!("paging did not end after {MAX_PAGES} pages"),
        })
    }

    /// One GET, parsed as a JSON object.
    async fn get(&self, url: &reqwest::Url) -> Result<Value, IdentityPlatformError> {
        let token = self.tokens.access_token().await?;
        let path = path_of(url);
        let body = http::send_with_retry("google", &self.retry, || {
            self.http
                .get(url.clone())
                .bearer_auth(&token)
                .header(reqwest::header::ACCEPT, "application/json")
        })
        .await
        .map_err(|failure| match failure {
            HttpFailure::Status { status, body } => IdentityPlatformError::Api {
                status,
                path: path.clone(),
                body: http::sanitize(&body, &[&token]),
            },
            HttpFailure::Transport(message) => IdentityPlatformError::Transport {
                path: path.clone(),
                message: http::sanitize(&message, &[&token]),
            },
        })?;
        match serde_json::from_str::<Value>(&body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err(IdentityPlatformError::InvalidResponse {
                path,
                message: "expected a JSON object".into(),
            }),
            Err(e) => Err(IdentityPlatformError::InvalidResponse {
                path,
                message: e.to_string(),
            }),
        }
    }
}

/// Path and query of a URL, as shown in error messages.
fn path_of(url: &reqwest::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

/// What [`fetch_firebase_sso`] needs.
#[derive(Debug, Clone)]
pub struct FirebaseSsoOptions {
    /// `--service-account-key`.
    pub service_account_key: PathBuf,
    /// `--project-id` / `GOOGLE_CLOUD_PROJECT` / `GCLOUD_PROJECT`, resolved by
    /// the caller; `None` falls back to the key file's `project_id`.
    pub project_id: Option<String>,
    /// `--skip-tenant-sso`: the project scope only.
    pub skip_tenant_sso: bool,
    /// `--include-secrets`: write OIDC client secrets into the CSV.
    pub include_secrets: bool,
    /// Admin API base URL ([`DEFAULT_BASE_URL`]).
    pub api_base_url: String,
    /// Token endpoint override (default: the key file's `token_uri`).
    pub token_uri: Option<String>,
    pub retry: RetryPolicy,
}

impl FirebaseSsoOptions {
    pub fn new(service_account_key: impl Into<PathBuf>, project_id: Option<String>) -> Self {
        Self {
            service_account_key: service_account_key.into(),
            project_id,
            skip_tenant_sso: false,
            include_secrets: false,
            api_base_url: DEFAULT_BASE_URL.into(),
            token_uri: None,
            retry: RetryPolicy::default(),
        }
    }
}

/// Authenticates, fetches every scope's provider configs and maps them.
/// Fatal: key, project id and token errors. Listing failures become
/// `sso_fetch_failed` warnings.
pub async fn fetch_firebase_sso(
    opts: &FirebaseSsoOptions,
) -> Result<SsoHandoff, IdentityPlatformError> {
    let key = ServiceAccountKey::from_file(&opts.service_account_key)?;
    let project_id = opts
        .project_id
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .or(key
            .project_id
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty()))
        .ok_or(IdentityPlatformError::MissingProjectId)?
        .to_string();
    let tokens = Arc::new(GoogleTokenProvider::new(
        &key,
        opts.token_uri.as_deref(),
        opts.retry.clone(),
    )?);
    // Authenticate once up front: bad credentials are one clear error, not a
    // warning per scope.
    tokens.access_token().await?;
    let client =
        IdentityPlatformClient::new(&opts.api_base_url, &project_id, tokens, opts.retry.clone())?;

    let mut mapper = FirebaseSsoMapper::new(opts.include_secrets, chrono::Utc::now());
    let mut scopes = vec![ScopeInfo::project()];
    if !opts.skip_tenant_sso {
        match client.list_tenants().await {
            Ok(tenants) => scopes.extend(
                tenants
                    .iter()
                    .map(|t| ScopeInfo::tenant(&t.id, t.display_name.as_deref())),
            ),
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => mapper.fetch_warning(sso_fetch_failed(&format!(
                "Failed to list Identity Platform tenants: {e}"
            ))),
        }
    }
    let mut fetched = Vec::with_capacity(scopes.len());
    for scope in &scopes {
        let tenant = scope.tenant_id.as_deref();
        let saml = match client.list_inbound_saml_configs(tenant).await {
            Ok(v) => v,
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => {
                mapper.fetch_warning(sso_fetch_failed(&format!(
                    "Failed to fetch inboundSamlConfigs ({}): {e}",
                    scope.label()
                )));
                Vec::new()
            }
        };
        let oidc = match client.list_oauth_idp_configs(tenant).await {
            Ok(v) => v,
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => {
                mapper.fetch_warning(sso_fetch_failed(&format!(
                    "Failed to fetch oauthIdpConfigs ({}): {e}",
                    scope.label()
                )));
                Vec::new()
            }
        };
        fetched.push((saml, oidc));
    }
    for (scope, (saml, oidc)) in scopes.iter().zip(&fetched) {
        mapper.scope(scope, saml, oidc);
    }
    Ok(mapper.finish())
}
