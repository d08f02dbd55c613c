//! Cognito SSO hand-off (export-and-package.md §5.5, §10, §1.10): the
//! identity providers of the exported pools → `sso/saml_connections.csv`,
//! `sso/oidc_connections.csv`, `sso/custom_attribute_mappings.csv`,
//! `sso/proxy_routes.csv`, `raw/cognito-providers.jsonl` and the SSO
//! warnings, in the original's order (provider by provider, fetch order).
//!
//! [`map_providers`] is pure; [`write_sso`] puts its result into a package.
//! `MetadataURL` providers are not fetched (the original does not either):
//! the URL goes into `idpMetadataUrl` and WorkOS reads the metadata itself.
//!
//! Fixes of the original (docs/decisions.md, "Cognito SSO hand-off and
//! export-cognito"): secrets are redacted unless `include_secrets` (§17.2,
//! [`secrets`]); `IdpIdentifiers` that are domain names fill `domains`
//! (§17.7, [`domains`]), and a row without domains gets `missing_domains`;
//! rows link to the organization the pool was exported as and carry the
//! provider name as `name` (§17.8); every `custom:*` mapping is listed
//! ([`rows::is_custom_mapping`]); `IDPInit=false` gives `idpInitiatedEnabled`
//! `FALSE`.

pub mod domains;
pub mod rows;
pub mod secrets;

#[cfg(test)]
mod tests;

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use serde_json::Value;

use crate::package::jsonl::JsonlRecord;
use crate::package::schema::{
    CUSTOM_ATTRIBUTE_MAPPINGS, OIDC_CONNECTIONS, PROXY_ROUTES, SAML_CONNECTIONS,
};
use crate::package::writer::{create_private_file, PackageWriteError};
use crate::package::MigrationPackageWriter;
use crate::sources::cognito::{CognitoOrgRef, CognitoProvider, CognitoSsoOptions};
use crate::sources::sso::{
    missing_domains, CustomAttributeMappingRow, OidcConnectionRow, Protocol, ProxyRouteRow,
    SamlConnectionRow, OIDC_FILE,
};

pub use rows::{
    external_id, render_template, ProviderKind, RenderedTemplates, COGNITO,
    DEFAULT_SAML_CUSTOM_ENTITY_ID_TEMPLATE,
};
pub use secrets::{secret_redaction, SecretTally, RAW_PROVIDERS_FILE};

/// Everything the SSO part of a Cognito package holds.
#[derive(Debug, Clone, Default)]
pub struct CognitoSsoOutput {
    pub saml: Vec<SamlConnectionRow>,
    pub oidc: Vec<OidcConnectionRow>,
    pub custom_attributes: Vec<CustomAttributeMappingRow>,
    pub proxy_routes: Vec<ProxyRouteRow>,
    /// `raw/cognito-providers.jsonl` records: every provider (unsupported
    /// types included), secrets redacted unless `include_secrets`.
    pub raw: Vec<Value>,
    /// Warnings in the Cognito shape (§1.6): `timestamp, code, message,
    /// provider_name, user_pool_id`, provider by provider.
    pub warnings: Vec<JsonlRecord>,
    /// What happened to secret material (for [`secret_redaction`]).
    pub secrets: SecretTally,
}

impl CognitoSsoOutput {
    /// Manifest `secretRedaction` of a package with SSO export.
    pub fn secret_redaction(&self) -> crate::package::manifest::SecretRedaction {
        secret_redaction(true, &self.secrets)
    }
}

/// Maps `providers` (fetch order) to the SSO hand-off (§5.5, §10).
///
/// `org_of` names the organization a provider's rows link to (the pool's
/// organization under `--org-strategy user-pool`, `‹pool›:‹provider›` under
/// `connection`); `None` keeps the original's provider-name columns.
/// `options.region` fills `{region}` and the raw records.
pub fn map_providers<F>(
    providers: &[CognitoProvider],
    org_of: F,
    options: &CognitoSsoOptions,
) -> CognitoSsoOutput
where
    F: Fn(&CognitoProvider) -> Option<CognitoOrgRef>,
{
    let mut out = CognitoSsoOutput::default();
    for provider in providers {
        let kind = ProviderKind::of(provider);
        let secrets = secrets::secret_details(provider);
        let mut withheld_from: Vec<&str> = Vec::new();
        let mut written_to: Vec<&str> = Vec::new();
        if kind == ProviderKind::Unsupported {
            out.warnings.push(unsupported_connection_protocol(provider));
        } else {
            let org = org_of(provider);
            let (_, org_external_id) = rows::org_columns(provider, org.as_ref());
            let templates = RenderedTemplates::of(provider, options);
            let domains = match kind {
                ProviderKind::Saml => {
                    let row = rows::saml_row(provider, org.as_ref(), &templates);
                    let domains = row.domains.clone();
                    out.saml.push(row);
                    domains
                }
                _ => {
                    let row =
                        rows::oidc_row(provider, org.as_ref(), &templates, options.include_secrets);
                    let domains = row.domains.clone();
                    if !row.client_secret.is_empty() {
                        written_to.push(OIDC_FILE);
                    } else if !options.include_secrets && secrets.contains(&"client_secret") {
                        withheld_from.push(OIDC_FILE);
                    }
                    out.oidc.push(row);
                    domains
                }
            };
            out.custom_attributes
                .extend(rows::custom_attribute_rows(provider, &org_external_id));
            out.proxy_routes.push(rows::proxy_route(
                provider,
                kind,
                &org_external_id,
                &templates,
            ));
            if domains.is_empty() {
                out.warnings.push(with_provider(
                    missing_domains(COGNITO, protocol(kind), &external_id(provider)),
                    provider,
                ));
            }
        }
        if !secrets.is_empty() {
            if options.include_secrets {
                written_to.insert(0, RAW_PROVIDERS_FILE);
                out.secrets.written(&written_to);
            } else {
                withheld_from.insert(0, RAW_PROVIDERS_FILE);
                out.secrets.withheld(&secrets, &withheld_from);
                out.warnings
                    .push(secrets_redacted(provider, &secrets, &withheld_from));
            }
        }
        out.raw.push(secrets::raw_record(
            provider,
            &options.region,
            options.include_secrets,
        ));
    }
    out
}

fn protocol(kind: ProviderKind) -> Protocol {
    match kind {
        ProviderKind::Saml => Protocol::Saml,
        ProviderKind::Oidc => Protocol::Oidc,
        ProviderKind::Unsupported => Protocol::Unknown,
    }
}

/// Appends the Cognito warning keys (§1.6).
fn with_provider(record: JsonlRecord, provider: &CognitoProvider) -> JsonlRecord {
    record
        .with("provider_name", provider.provider_name.as_str())
        .with("user_pool_id", provider.user_pool_id.as_str())
}

/// `unsupported_connection_protocol` (§5.5, the original's message).
fn unsupported_connection_protocol(provider: &CognitoProvider) -> JsonlRecord {
    with_provider(
        JsonlRecord::warning(
            "unsupported_connection_protocol",
            &format!(
                "Cognito identity provider {} ({}) is not SAML/OIDC; skipped.",
                provider.provider_name, provider.provider_type
            ),
        ),
        provider,
    )
}

/// `secrets_redacted`, worded after what was actually withheld (the
/// original claimed redaction while writing the secret, §17.2).
fn secrets_redacted(provider: &CognitoProvider, fields: &[&str], files: &[&str]) -> JsonlRecord {
    with_provider(
        JsonlRecord::warning(
            "secrets_redacted",
            &format!(
                "Connection {} contained secret material ({}); it was left out of {}. Re-run with --include-secrets only if the output directory can safely store secrets.",
                external_id(provider),
                fields.join(", "),
                files.join(" and ")
            ),
        ),
        provider,
    )
}

/// Rows and records [`write_sso`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SsoCounts {
    pub saml_connections: u64,
    pub oidc_connections: u64,
    pub custom_attribute_mappings: u64,
    pub proxy_routes: u64,
    pub raw_providers: u64,
    pub warnings: u64,
}

/// Errors of [`write_sso`].
#[derive(Debug, thiserror::Error)]
pub enum CognitoSsoWriteError {
    #[error(transparent)]
    Package(#[from] PackageWriteError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Writes `out` into the package: the four `sso/*.csv` files' rows, the
/// warnings (appended to `warnings.jsonl` where the call happens) and
/// `raw/cognito-providers.jsonl` (created with mode 0600, zero bytes when
/// there are no providers).
pub fn write_sso(
    pkg: &mut MigrationPackageWriter,
    out: &CognitoSsoOutput,
) -> Result<SsoCounts, CognitoSsoWriteError> {
    for row in &out.saml {
        pkg.write_row(&SAML_CONNECTIONS, &row.fields())?;
    }
    for row in &out.oidc {
        pkg.write_row(&OIDC_CONNECTIONS, &row.fields())?;
    }
    for row in &out.custom_attributes {
        pkg.write_row(&CUSTOM_ATTRIBUTE_MAPPINGS, &row.fields())?;
    }
    for row in &out.proxy_routes {
        pkg.write_row(&PROXY_ROUTES, &row.fields())?;
    }
    for w in &out.warnings {
        pkg.warn(w)?;
    }
    let raw_dir = pkg.root().join("raw");
    let raw_path = pkg.root().join(RAW_PROVIDERS_FILE);
    let at = |path: &PathBuf| {
        let path = path.clone();
        move |source| CognitoSsoWriteError::Io { path, source }
    };
    crate::package::writer::create_package_subdir(pkg.root(), "raw").map_err(at(&raw_dir))?;
    let mut raw = BufWriter::new(create_private_file(&raw_path).map_err(at(&raw_path))?);
    for record in &out.raw {
        serde_json::to_writer(&mut raw, record)
            .map_err(io::Error::other)
            .map_err(at(&raw_path))?;
        raw.write_all(b"\n").map_err(at(&raw_path))?;
    }
    raw.flush().map_err(at(&raw_path))?;
    raw.get_ref().sync_all().map_err(at(&raw_path))?;
    Ok(SsoCounts {
        saml_connections: out.saml.len() as u64,
        oidc_connections: out.oidc.len() as u64,
        custom_attribute_mappings: out.custom_attributes.len() as u64,
        proxy_routes: out.proxy_routes.len() as u64,
        raw_providers: out.raw.len() as u64,
        warnings: out.warnings.len() as u64,
    })
}
