//! Row builders of the Cognito SSO hand-off (§10.2 SAML, §10.3 OIDC, §10.4
//! custom attribute mappings, §10.9 proxy routes, Cognito columns) and the
//! §5.1 URL templates. Pure functions of one provider.

use crate::sources::cognito::{CognitoOrgRef, CognitoProvider, CognitoSsoOptions};
use crate::sources::sso::saml_metadata::parse_saml_metadata;
use crate::sources::sso::{
    normalize_discovery_endpoint, CustomAttributeMappingRow, OidcConnectionRow, ProxyRouteRow,
    SamlConnectionRow, CUTOVER_LEGACY,
};

use super::domains::domains_cell;

/// Provider name in proxy routes and warning messages.
pub const COGNITO: &str = "cognito";

/// SP entity id Cognito presents to SAML IdPs; the default of
/// `--saml-custom-entity-id-template` (§5.1).
pub const DEFAULT_SAML_CUSTOM_ENTITY_ID_TEMPLATE: &str = "urn:amazon:cognito:sp:{user_pool_id}";

/// `ProviderDetails` keys read.
const METADATA_FILE: &str = "MetadataFile";
const METADATA_URL: &str = "MetadataURL";
const ENTITY_ID: &str = "EntityId";
const SSO_REDIRECT_BINDING_URI: &str = "SSORedirectBindingURI";
const IDP_INIT: &str = "IDPInit";
const CLIENT_ID: &str = "client_id";
const CLIENT_SECRET: &str = "client_secret";
const OIDC_ISSUER: &str = "oidc_issuer";

/// How a provider is handed off (§5.5: `ProviderType` upper-cased).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    Saml,
    Oidc,
    /// Google, Facebook, LoginWithAmazon, SignInWithApple, …
    Unsupported,
}

impl ProviderKind {
    pub fn of(provider: &CognitoProvider) -> Self {
        match provider.provider_type.to_uppercase().as_str() {
            "SAML" => Self::Saml,
            "OIDC" => Self::Oidc,
            _ => Self::Unsupported,
        }
    }

    /// `saml` / `oidc` as in proxy routes and messages.
    pub fn protocol(self) -> &'static str {
        match self {
            Self::Saml => "saml",
            Self::Oidc => "oidc",
            Self::Unsupported => "unknown",
        }
    }
}

/// `‹userPoolId›:‹providerName›`, the `externalId` of every row of a provider.
pub fn external_id(provider: &CognitoProvider) -> String {
    format!("{}:{}", provider.user_pool_id, provider.provider_name)
}

/// Renders a §5.1 template: every `{provider_name}`, `{user_pool_id}` and
/// `{region}` replaced by its literal value in one pass (values are not
/// scanned again, and `$` in them is not special as it was in JavaScript's
/// `String.replace`); unknown placeholders are kept verbatim.
pub fn render_template(template: &str, provider: &CognitoProvider, region: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        let value = [
            ("{provider_name}", provider.provider_name.as_str()),
            ("{user_pool_id}", provider.user_pool_id.as_str()),
            ("{region}", region),
        ]
        .into_iter()
        .find(|(placeholder, _)| tail.starts_with(placeholder));
        match value {
            Some((placeholder, value)) => {
                out.push_str(value);
                rest = &tail[placeholder.len()..];
            }
            None => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The three rendered templates of a provider.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderedTemplates {
    pub saml_custom_entity_id: String,
    pub saml_custom_acs_url: String,
    pub oidc_custom_redirect_uri: String,
}

impl RenderedTemplates {
    /// An absent entity-id template falls back to
    /// [`DEFAULT_SAML_CUSTOM_ENTITY_ID_TEMPLATE`]; an empty one stays empty
    /// (JavaScript `??` semantics of the original). Absent ACS and redirect
    /// templates render empty.
    pub fn of(provider: &CognitoProvider, options: &CognitoSsoOptions) -> Self {
        let render = |t: Option<&str>| render_template(t.unwrap_or(""), provider, &options.region);
        Self {
            saml_custom_entity_id: render(Some(
                options
                    .saml_custom_entity_id_template
                    .as_deref()
                    .unwrap_or(DEFAULT_SAML_CUSTOM_ENTITY_ID_TEMPLATE),
            )),
            saml_custom_acs_url: render(options.saml_custom_acs_url_template.as_deref()),
            oidc_custom_redirect_uri: render(options.oidc_custom_redirect_uri_template.as_deref()),
        }
    }
}

/// The organization columns of a provider's rows: the organization it was
/// exported under, else (no organization: `--org-strategy none`, loose
/// mode) the original's provider name in both columns.
pub fn org_columns(provider: &CognitoProvider, org: Option<&CognitoOrgRef>) -> (String, String) {
    match org {
        Some(o) => (o.name.clone(), o.external_id.clone()),
        None => (
            provider.provider_name.clone(),
            provider.provider_name.clone(),
        ),
    }
}

fn detail<'a>(provider: &'a CognitoProvider, key: &str) -> &'a str {
    provider
        .provider_details
        .get(key)
        .map(String::as_str)
        .unwrap_or("")
}

fn mapped<'a>(provider: &'a CognitoProvider, attribute: &str) -> &'a str {
    provider
        .attribute_mapping
        .get(attribute)
        .map(String::as_str)
        .unwrap_or("")
}

/// `idpInitiatedEnabled`: `FALSE` when the provider's `IDPInit` detail says
/// `false`, else `TRUE` (the original wrote `TRUE` whatever the setting).
fn idp_initiated(provider: &CognitoProvider) -> &'static str {
    if detail(provider, IDP_INIT)
        .trim()
        .eq_ignore_ascii_case("false")
    {
        "FALSE"
    } else {
        "TRUE"
    }
}

/// The `sso/saml_connections.csv` row of a SAML provider (§10.2 Cognito):
/// `MetadataFile` XML is parsed with the shared parser; its entity id and SSO
/// URL fall back to the `EntityId` / `SSORedirectBindingURI` details; the
/// certificate comes only from the XML; `MetadataURL` is carried (not fetched,
/// as in the original: WorkOS reads it itself).
pub fn saml_row(
    provider: &CognitoProvider,
    org: Option<&CognitoOrgRef>,
    templates: &RenderedTemplates,
) -> SamlConnectionRow {
    let xml = detail(provider, METADATA_FILE);
    let parsed = if xml.is_empty() {
        Default::default()
    } else {
        parse_saml_metadata(xml)
    };
    let (organization_name, organization_external_id) = org_columns(provider, org);
    SamlConnectionRow {
        name: provider.provider_name.clone(),
        organization_name,
        organization_id: String::new(),
        organization_external_id,
        domains: domains_cell(&provider.idp_identifiers),
        idp_entity_id: parsed
            .entity_id
            .unwrap_or_else(|| detail(provider, ENTITY_ID).to_string()),
        idp_url: parsed
            .sso_redirect_url
            .unwrap_or_else(|| detail(provider, SSO_REDIRECT_BINDING_URI).to_string()),
        x509_cert: parsed.x509_cert.unwrap_or_default(),
        idp_metadata_url: detail(provider, METADATA_URL).to_string(),
        custom_entity_id: templates.saml_custom_entity_id.clone(),
        custom_acs_url: templates.saml_custom_acs_url.clone(),
        idp_id_attribute: String::new(),
        email_attribute: mapped(provider, "email").to_string(),
        first_name_attribute: mapped(provider, "given_name").to_string(),
        last_name_attribute: mapped(provider, "family_name").to_string(),
        name_attribute: mapped(provider, "name").to_string(),
        idp_initiated_enabled: idp_initiated(provider).into(),
        request_signing_key: String::new(),
        assertion_encryption_key: String::new(),
        name_id_encryption_key: String::new(),
        external_id: external_id(provider),
    }
}

/// The `sso/oidc_connections.csv` row of an OIDC provider (§10.3 Cognito);
/// `client_secret` only when `include_secrets`.
pub fn oidc_row(
    provider: &CognitoProvider,
    org: Option<&CognitoOrgRef>,
    templates: &RenderedTemplates,
    include_secrets: bool,
) -> OidcConnectionRow {
    let (organization_name, organization_external_id) = org_columns(provider, org);
    OidcConnectionRow {
        name: provider.provider_name.clone(),
        organization_name,
        organization_id: String::new(),
        organization_external_id,
        domains: domains_cell(&provider.idp_identifiers),
        client_id: detail(provider, CLIENT_ID).to_string(),
        client_secret: if include_secrets {
            detail(provider, CLIENT_SECRET).to_string()
        } else {
            String::new()
        },
        discovery_endpoint: normalize_discovery_endpoint(detail(provider, OIDC_ISSUER)),
        custom_redirect_uri: templates.oidc_custom_redirect_uri.clone(),
        external_id: external_id(provider),
    }
}

/// True for an attribute mapping listed in `custom_attribute_mappings.csv`:
/// `name` (which also has its column, as in the original) and every
/// `custom:*` user-pool attribute (the original listed only five fixed
/// `custom:` names and dropped the others).
pub fn is_custom_mapping(attribute: &str) -> bool {
    attribute == "name" || (attribute.starts_with("custom:") && attribute.len() > "custom:".len())
}

/// §10.4 rows of a provider: one per [`is_custom_mapping`] entry with a
/// non-empty claim, in mapping order.
pub fn custom_attribute_rows(
    provider: &CognitoProvider,
    org_external_id: &str,
) -> Vec<CustomAttributeMappingRow> {
    provider
        .attribute_mapping
        .iter()
        .filter(|(attr, claim)| is_custom_mapping(attr) && !claim.is_empty())
        .map(|(attr, claim)| CustomAttributeMappingRow {
            external_id: external_id(provider),
            organization_external_id: org_external_id.to_string(),
            provider_type: provider.provider_type.clone(),
            user_pool_attribute: attr.clone(),
            idp_claim: claim.clone(),
        })
        .collect()
}

/// True when a provider has a non-empty `custom:*` mapping.
pub fn has_custom_mapping(provider: &CognitoProvider) -> bool {
    provider
        .attribute_mapping
        .iter()
        .any(|(attr, claim)| attr.starts_with("custom:") && !claim.is_empty())
}

/// True for a SAML provider whose mapping has `name` but not both
/// `given_name` and `family_name` (the loose mode's console warning).
pub fn is_name_only_saml(provider: &CognitoProvider) -> bool {
    ProviderKind::of(provider) == ProviderKind::Saml
        && !mapped(provider, "name").is_empty()
        && (mapped(provider, "given_name").is_empty() || mapped(provider, "family_name").is_empty())
}

/// The `sso/proxy_routes.csv` row of a SAML or OIDC provider (§10.9 Cognito).
pub fn proxy_route(
    provider: &CognitoProvider,
    kind: ProviderKind,
    org_external_id: &str,
    templates: &RenderedTemplates,
) -> ProxyRouteRow {
    let mut row = ProxyRouteRow {
        external_id: external_id(provider),
        organization_external_id: org_external_id.to_string(),
        provider: COGNITO.into(),
        protocol: kind.protocol().into(),
        cutover_state: CUTOVER_LEGACY.into(),
        ..Default::default()
    };
    match kind {
        ProviderKind::Saml => {
            row.source_entity_id = detail(provider, ENTITY_ID).to_string();
            row.source_redirect_uri = detail(provider, SSO_REDIRECT_BINDING_URI).to_string();
            row.custom_acs_url = templates.saml_custom_acs_url.clone();
            row.custom_entity_id = templates.saml_custom_entity_id.clone();
        }
        ProviderKind::Oidc => {
            row.custom_redirect_uri = templates.oidc_custom_redirect_uri.clone();
        }
        ProviderKind::Unsupported => {}
    }
    row
}
