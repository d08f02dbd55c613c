//! AWS Cognito user pools (export-and-package.md §5, §10, §13.2): the
//! values the exporter reads from the Cognito API, shared by the SDK client,
//! the user mapping and the SSO hand-off.
//!
//! The types here are plain data (no AWS SDK types) so the mapping and the
//! SSO rows are pure functions that tests can drive without a server.
//!
//! Modules: [`client`] (the AWS SDK client: credentials, endpoint, the
//! `UserList` request budget, retries, one-line errors), [`mapping`] (a
//! user → package rows, §5.3–5.4), [`roles`] (groups → roles), [`spill`]
//! (per-pool user records sorted by external id on disk), [`export`] (the
//! `export cognito` run).

pub mod client;
pub mod export;
pub mod fetch;
pub mod mapping;
pub mod roles;
pub mod spill;

pub mod legacy;
pub mod sso;

use std::collections::BTreeMap;

/// One user as `ListUsers` / `ListUsersInGroup` return it (§5.2), flattened.
/// `S` is the text type: owned while fetching, borrowed from a spill
/// bucket's bytes while encoding (no allocation per value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CognitoUser<S = String> {
    pub username: S,
    /// `Attributes` in API order (`Name` → `Value`, a missing value is `""`).
    pub attributes: Vec<(S, S)>,
    /// `UserStatus` verbatim (`CONFIRMED`, `EXTERNAL_PROVIDER`, …), `""` when absent.
    pub user_status: S,
    pub enabled: bool,
    /// `UserCreateDate` as ISO 8601 (RFC 3339, UTC).
    pub created_at: Option<S>,
    /// `UserLastModifiedDate` as ISO 8601 (RFC 3339, UTC).
    pub updated_at: Option<S>,
    /// `MFAOptions` as `(DeliveryMedium, AttributeName)` pairs.
    pub mfa_options: Vec<(S, S)>,
}

impl<S: AsRef<str>> CognitoUser<S> {
    /// The value of attribute `name`, if present (possibly empty).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k.as_ref() == name)
            .map(|(_, v)| v.as_ref())
    }

    /// `external_id` of the package rows (§5.4): `sub`, else the username
    /// (an empty `sub` counts as absent).
    pub fn external_id(&self) -> &str {
        self.attribute("sub")
            .filter(|s| !s.is_empty())
            .unwrap_or(self.username.as_ref())
    }
}

impl CognitoUser<&str> {
    /// An owned copy.
    pub fn to_owned_user(&self) -> CognitoUser {
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
                .collect()
        };
        CognitoUser {
            username: self.username.to_string(),
            attributes: pairs(&self.attributes),
            user_status: self.user_status.to_string(),
            enabled: self.enabled,
            created_at: self.created_at.map(str::to_string),
            updated_at: self.updated_at.map(str::to_string),
            mfa_options: pairs(&self.mfa_options),
        }
    }
}

/// One identity provider of a pool, as `DescribeIdentityProvider` returns it
/// (§5.2): entries without a name or a type are dropped before this.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CognitoProvider {
    /// The pool the provider belongs to.
    pub user_pool_id: String,
    pub provider_name: String,
    /// `SAML`, `OIDC`, `Google`, `Facebook`, `LoginWithAmazon`,
    /// `SignInWithApple`, … verbatim.
    pub provider_type: String,
    /// `ProviderDetails` (`MetadataFile`, `MetadataURL`, `client_id`,
    /// `client_secret`, `oidc_issuer`, `authorize_scopes`, …).
    pub provider_details: BTreeMap<String, String>,
    /// `AttributeMapping`: user-pool attribute → provider attribute.
    pub attribute_mapping: BTreeMap<String, String>,
    /// `IdpIdentifiers` (often email domains).
    pub idp_identifiers: Vec<String>,
}

/// The organization an SSO row links to (§5.3): the pool's organization
/// under `--org-strategy user-pool`, the `‹pool›:‹provider›` organization
/// under `connection`, none under `none`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CognitoOrgRef {
    pub external_id: String,
    pub name: String,
}

/// The SSO settings of `export cognito` (§5.1 templates, `--include-secrets`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CognitoSsoOptions {
    /// The `--region` value (the `{region}` placeholder).
    pub region: String,
    pub saml_custom_acs_url_template: Option<String>,
    pub saml_custom_entity_id_template: Option<String>,
    pub oidc_custom_redirect_uri_template: Option<String>,
    /// Keep OIDC client secrets in the package (§17: the original wrote them
    /// while claiming redaction; we redact unless this is set).
    pub include_secrets: bool,
}
