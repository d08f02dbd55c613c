//! Auth0 SSO hand-off mapping (export-and-package.md §4.8, §10): Auth0
//! connections (already listed, bound to organizations and hydrated by the
//! exporter) → `sso/saml_connections.csv`, `sso/oidc_connections.csv`,
//! `sso/custom_attribute_mappings.csv`, `sso/proxy_routes.csv`, the
//! `raw/auth0-connections.jsonl` records and the SSO warnings, in the
//! original's order (Appendix B). Pure functions; no I/O.
//!
//! Decisions (old → ours — why), besides those in [`domains`] and
//! [`crate::sources::sso::saml_metadata`]:
//! - §17.12: with `--include-secrets`, an OIDC connection without a client
//!   secret was skipped as incomplete → exported with an empty
//!   `clientSecret` and an `incomplete_connection_configuration` warning
//!   worded "was exported but needs attention before activation" (the same
//!   code and wording as Firebase's exported-but-incomplete connections;
//!   details `missingFields: ["clientSecret"]`) — the secret is a hand-off
//!   field to re-enter, not a reason to lose the whole connection.
//! - A discovery value that is only `/` gave `/.well-known/openid-configuration`
//!   → treated as absent (the strategy fallback applies).
//! - Custom attribute rows were sorted with `localeCompare` → an
//!   ICU-like order (case- and accent-insensitive first, punctuation before
//!   digits before letters, lower case before upper case on ties).

pub mod domains;
pub mod options;
pub mod redact;
pub mod warnings;

#[cfg(test)]
mod tests;

use std::cmp::Ordering;

use serde_json::{Map, Value};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::package::jsonl::JsonlRecord;
use crate::sources::auth0::mapping::Auth0Org;
use crate::sources::sso::{
    CustomAttributeMappingRow, OidcConnectionRow, ProxyRouteRow, SamlConnectionRow, AUTH0,
    CUTOVER_LEGACY, OIDC_FILE, SAML_FILE,
};

pub use options::{classify, needs_hydration, ConnectionClass};
pub use redact::{redact_connection, secret_redaction};
pub use warnings::{
    is_missing_options_scope, missing_connections_options_scope_connection,
    missing_connections_options_scope_listing, org_connection_fetch_failed,
};

use domains::{connection_domains, domains_of, host_of, unique_sorted, AUTH0_DOMAIN_SEPARATOR};
use options::{
    discovery_endpoint, first_string, inline_metadata, option_value, text, trim_js,
    ASSERTION_ENCRYPTION_KEY_KEYS, ATTRIBUTE_MAPPING_KEYS, IDP_INITIATED_KEYS,
    NAME_ID_ENCRYPTION_KEY_KEYS, OIDC_CLIENT_ID_KEYS, OIDC_CLIENT_SECRET_KEYS,
    OIDC_REDIRECT_URI_KEYS, REQUEST_SIGNING_KEY_KEYS, SAML_ACS_URL_KEYS, SAML_CERT_KEYS,
    SAML_IDP_ENTITY_ID_KEYS, SAML_IDP_URL_KEYS, SAML_METADATA_URL_KEYS, SAML_SECRET_KEYS,
    SAML_SP_ENTITY_ID_KEYS,
};

/// Attributes that have their own columns (or none in WorkOS); never
/// written as custom attribute mappings.
const COMMON_PROFILE_ATTRIBUTES: [&str; 10] = [
    "email",
    "given_name",
    "family_name",
    "first_name",
    "last_name",
    "name",
    "nickname",
    "picture",
    "user_id",
    "sub",
];

pub const SAML_PROXY_NOTE: &str =
    "Existing Auth0 SAML ACS route should be proxied until the IdP is updated to WorkOS.";
pub const OIDC_PROXY_NOTE: &str =
    "Existing Auth0 OIDC redirect route should be proxied until the IdP is updated to WorkOS.";
const SAML_INCOMPLETE_REASON: &str =
    "SAML handoff requires IdP metadata URL or the entity ID, SSO URL, and signing certificate.";
const OIDC_INCOMPLETE_REASON: &str = "OIDC handoff requires a client ID and discovery endpoint.";

/// What [`map_connections`] works on.
#[derive(Debug, Clone, Copy)]
pub struct Auth0SsoInput<'a> {
    /// Tenant host for the callback URL, e.g. `t.auth0.com`.
    pub domain_host: &'a str,
    /// The candidate connections after hydration, in listing order.
    pub connections: &'a [Value],
    /// Connection id → the kept organizations it is enabled for, in
    /// binding order.
    pub bindings: &'a [(String, Vec<Auth0Org>)],
    pub include_secrets: bool,
}

/// Everything the SSO part of an Auth0 package holds.
#[derive(Debug, Clone, Default)]
pub struct Auth0SsoOutput {
    pub saml: Vec<SamlConnectionRow>,
    pub oidc: Vec<OidcConnectionRow>,
    pub custom_attributes: Vec<CustomAttributeMappingRow>,
    pub proxy_routes: Vec<ProxyRouteRow>,
    /// `raw/auth0-connections.jsonl` records: every input connection,
    /// redacted unless `include_secrets`.
    pub raw: Vec<Value>,
    /// Mapping warnings, connection by connection.
    pub warnings: Vec<JsonlRecord>,
}

/// Maps every connection (§10.2–§10.9).
pub fn map_connections(input: &Auth0SsoInput) -> Auth0SsoOutput {
    let mut out = Auth0SsoOutput::default();
    for conn in input.connections {
        let id = text(conn, "id");
        let orgs: Vec<&Auth0Org> = if id.is_empty() {
            Vec::new()
        } else {
            input
                .bindings
                .iter()
                .filter(|(cid, _)| cid == id)
                .flat_map(|(_, orgs)| orgs)
                .collect()
        };
        let mapper = ConnectionMapper {
            conn,
            name: text(conn, "name"),
            strategy: options::strategy(conn),
            orgs: &orgs,
            input,
        };
        match classify(conn) {
            ConnectionClass::Unsupported { enterprise } => out.warnings.push(
                warnings::unsupported_connection_protocol(mapper.name, mapper.strategy, enterprise),
            ),
            ConnectionClass::Saml => mapper.map_saml(&mut out),
            ConnectionClass::Oidc => mapper.map_oidc(&mut out),
        }
        out.raw.push(if input.include_secrets {
            conn.clone()
        } else {
            redact_connection(conn)
        });
    }
    out
}

/// The organization columns of a mapped connection (§10.2, §10.6, §10.7).
struct OrgContext {
    name: String,
    external_id: String,
    domains: Vec<String>,
}

impl OrgContext {
    fn domains_cell(&self) -> String {
        self.domains.join(AUTH0_DOMAIN_SEPARATOR)
    }
}

struct ConnectionMapper<'a> {
    conn: &'a Value,
    name: &'a str,
    strategy: Option<&'a str>,
    orgs: &'a [&'a Auth0Org],
    input: &'a Auth0SsoInput<'a>,
}

impl ConnectionMapper<'_> {
    fn options(&self) -> &Map<String, Value> {
        options::options(self.conn)
    }

    /// `https://‹tenant›/login/callback?connection=‹name›`.
    fn callback_url(&self) -> String {
        format!(
            "https://{}/login/callback?connection={}",
            self.input.domain_host,
            options::encode_uri_component(self.name)
        )
    }

    /// Single binding → that org; several → the connection, with the
    /// consolidation warning; none → the connection with its own domains.
    /// `missing_domains` follows when the domain list is empty.
    fn org_context(
        &self,
        protocol: &str,
        discovery_host: Option<&str>,
        warnings: &mut Vec<JsonlRecord>,
    ) -> OrgContext {
        let conn_label = match text(self.conn, "display_name") {
            "" => self.name,
            d => d,
        };
        let ctx = match self.orgs {
            [org] => OrgContext {
                name: org.label().to_string(),
                external_id: org.id.clone(),
                domains: unique_sorted(domains_of(org.metadata.as_ref())),
            },
            [] => OrgContext {
                name: conn_label.to_string(),
                external_id: text(self.conn, "id").to_string(),
                domains: unique_sorted(connection_domains(self.conn, discovery_host)),
            },
            orgs => {
                let ctx = OrgContext {
                    name: conn_label.to_string(),
                    external_id: text(self.conn, "id").to_string(),
                    domains: unique_sorted(
                        orgs.iter()
                            .flat_map(|o| domains_of(o.metadata.as_ref()))
                            .collect(),
                    ),
                };
                let ids: Vec<&str> = orgs.iter().map(|o| o.id.as_str()).collect();
                warnings.push(warnings::multi_org_connection_consolidated(
                    &ctx.external_id,
                    self.name,
                    protocol,
                    &ids,
                    &ctx.domains,
                ));
                ctx
            }
        };
        if ctx.domains.is_empty() {
            warnings.push(warnings::missing_domains(
                &ctx.external_id,
                &ctx.name,
                self.name,
                protocol,
            ));
        }
        ctx
    }

    fn map_saml(&self, out: &mut Auth0SsoOutput) {
        let opts = self.options();
        let parsed = inline_metadata(opts);
        let metadata_url = first_string(opts, SAML_METADATA_URL_KEYS);
        let or_parsed = |keys: &[&str], parsed: Option<String>| -> String {
            match first_string(opts, keys) {
                "" => parsed.map(|p| trim_js(&p).to_string()).unwrap_or_default(),
                s => s.to_string(),
            }
        };
        let entity_id = or_parsed(SAML_IDP_ENTITY_ID_KEYS, parsed.entity_id);
        let idp_url = or_parsed(SAML_IDP_URL_KEYS, parsed.sso_redirect_url);
        let cert = or_parsed(SAML_CERT_KEYS, parsed.x509_cert);
        if metadata_url.is_empty() {
            let missing: Vec<&str> = [
                ("idpEntityId", &entity_id),
                ("idpUrl", &idp_url),
                ("x509Cert", &cert),
            ]
            .into_iter()
            .filter(|(_, v)| v.is_empty())
            .map(|(k, _)| k)
            .collect();
            if !missing.is_empty() {
                out.warnings
                    .push(warnings::incomplete_connection_configuration(
                        self.name,
                        "saml",
                        self.strategy,
                        &missing,
                        SAML_INCOMPLETE_REASON,
                    ));
                return;
            }
        }
        let mut warns = Vec::new();
        let org = self.org_context("saml", None, &mut warns);
        let mappings = attribute_mappings(self.conn);
        let custom_acs_url = first_string(opts, SAML_ACS_URL_KEYS);
        let custom_entity_id = first_string(opts, SAML_SP_ENTITY_ID_KEYS);
        let secret_fields: Vec<&str> = SAML_SECRET_KEYS
            .iter()
            .copied()
            .filter(|k| !first_string(opts, &[k]).is_empty())
            .collect();
        let include = self.input.include_secrets;
        if !include && !secret_fields.is_empty() {
            warns.push(warnings::secrets_redacted(
                self.name,
                "saml",
                SAML_FILE,
                &secret_fields,
            ));
        }
        let secret = |keys: &[&str]| {
            if include {
                first_string(opts, keys).to_string()
            } else {
                String::new()
            }
        };
        out.saml.push(SamlConnectionRow {
            name: self.name.to_string(),
            organization_name: org.name.clone(),
            organization_id: String::new(),
            organization_external_id: org.external_id.clone(),
            domains: org.domains_cell(),
            idp_entity_id: entity_id,
            idp_url,
            x509_cert: cert,
            idp_metadata_url: metadata_url.to_string(),
            custom_entity_id: custom_entity_id.to_string(),
            custom_acs_url: custom_acs_url.to_string(),
            idp_id_attribute: lookup(&mappings, &["user_id", "sub"]),
            email_attribute: lookup(&mappings, &["email"]),
            first_name_attribute: lookup(&mappings, &["given_name", "first_name"]),
            last_name_attribute: lookup(&mappings, &["family_name", "last_name"]),
            name_attribute: lookup(&mappings, &["name"]),
            idp_initiated_enabled: boolish(option_value(opts, IDP_INITIATED_KEYS)),
            request_signing_key: secret(REQUEST_SIGNING_KEY_KEYS),
            assertion_encryption_key: secret(ASSERTION_ENCRYPTION_KEY_KEYS),
            name_id_encryption_key: secret(NAME_ID_ENCRYPTION_KEY_KEYS),
            external_id: self.name.to_string(),
        });
        out.custom_attributes
            .extend(self.custom_attribute_rows(&mappings, &org, "SAML"));
        out.proxy_routes.push(ProxyRouteRow {
            external_id: self.name.to_string(),
            organization_external_id: org.external_id,
            provider: AUTH0.into(),
            protocol: "saml".into(),
            source_acs_url: match custom_acs_url {
                "" => self.callback_url(),
                acs => acs.to_string(),
            },
            source_entity_id: custom_entity_id.to_string(),
            custom_acs_url: custom_acs_url.to_string(),
            custom_entity_id: custom_entity_id.to_string(),
            cutover_state: CUTOVER_LEGACY.into(),
            notes: SAML_PROXY_NOTE.into(),
            ..Default::default()
        });
        out.warnings.extend(warns);
    }

    fn map_oidc(&self, out: &mut Auth0SsoOutput) {
        let opts = self.options();
        let client_id = first_string(opts, OIDC_CLIENT_ID_KEYS);
        let client_secret = first_string(opts, OIDC_CLIENT_SECRET_KEYS);
        let strategy = self.strategy.unwrap_or_default().to_lowercase();
        let discovery = discovery_endpoint(&strategy, opts, client_id);
        let missing: Vec<&str> = [("clientId", client_id), ("discoveryEndpoint", &discovery)]
            .into_iter()
            .filter(|(_, v)| v.is_empty())
            .map(|(k, _)| k)
            .collect();
        if !missing.is_empty() {
            out.warnings
                .push(warnings::incomplete_connection_configuration(
                    self.name,
                    "oidc",
                    self.strategy,
                    &missing,
                    OIDC_INCOMPLETE_REASON,
                ));
            return;
        }
        let mut warns = Vec::new();
        let discovery_host = host_of(&discovery);
        let org = self.org_context("oidc", Some(&discovery_host), &mut warns);
        let mappings = attribute_mappings(self.conn);
        let custom_redirect_uri = first_string(opts, OIDC_REDIRECT_URI_KEYS);
        let include = self.input.include_secrets;
        if include && client_secret.is_empty() {
            warns.push(warnings::client_secret_unavailable(
                &org.external_id,
                self.name,
                self.strategy,
            ));
        } else if !include && !client_secret.is_empty() {
            warns.push(warnings::secrets_redacted(
                self.name,
                "oidc",
                OIDC_FILE,
                &["clientSecret"],
            ));
        }
        out.oidc.push(OidcConnectionRow {
            name: self.name.to_string(),
            organization_name: org.name.clone(),
            organization_id: String::new(),
            organization_external_id: org.external_id.clone(),
            domains: org.domains_cell(),
            client_id: client_id.to_string(),
            client_secret: if include {
                client_secret.to_string()
            } else {
                String::new()
            },
            discovery_endpoint: discovery,
            custom_redirect_uri: custom_redirect_uri.to_string(),
            external_id: self.name.to_string(),
        });
        out.custom_attributes
            .extend(self.custom_attribute_rows(&mappings, &org, "OIDC"));
        out.proxy_routes.push(ProxyRouteRow {
            external_id: self.name.to_string(),
            organization_external_id: org.external_id,
            provider: AUTH0.into(),
            protocol: "oidc".into(),
            source_redirect_uri: match custom_redirect_uri {
                "" => self.callback_url(),
                uri => uri.to_string(),
            },
            custom_redirect_uri: custom_redirect_uri.to_string(),
            cutover_state: CUTOVER_LEGACY.into(),
            notes: OIDC_PROXY_NOTE.into(),
            ..Default::default()
        });
        out.warnings.extend(warns);
    }

    /// §10.4 rows: every mapped attribute without its own column, sorted.
    fn custom_attribute_rows(
        &self,
        mappings: &Map<String, Value>,
        org: &OrgContext,
        provider_type: &str,
    ) -> Vec<CustomAttributeMappingRow> {
        let mut custom: Vec<(&String, &str)> = mappings
            .iter()
            .filter(|(attr, _)| !COMMON_PROFILE_ATTRIBUTES.contains(&attr.as_str()))
            .filter_map(|(attr, claim)| claim.as_str().map(|c| (attr, c)))
            .collect();
        custom.sort_by(|a, b| locale_compare(a.0, b.0));
        custom
            .into_iter()
            .map(|(attr, claim)| CustomAttributeMappingRow {
                external_id: self.name.to_string(),
                organization_external_id: org.external_id.clone(),
                provider_type: provider_type.into(),
                user_pool_attribute: attr.clone(),
                idp_claim: claim.to_string(),
            })
            .collect()
    }
}

/// The merged attribute mappings of a connection (§10.4): each
/// [`ATTRIBUTE_MAPPING_KEYS`] dictionary from `options` (else the
/// connection's top level), non-empty trimmed string values only, later
/// dictionaries overwriting earlier ones in place.
fn attribute_mappings(conn: &Value) -> Map<String, Value> {
    let opts = options::options(conn);
    let mut merged = Map::new();
    for &key in ATTRIBUTE_MAPPING_KEYS {
        let candidate = match opts.get(key) {
            Some(v) if !v.is_null() => Some(v),
            _ => conn.get(key),
        };
        let Some(Value::Object(dict)) = candidate else {
            continue;
        };
        for (attr, claim) in dict {
            if let Some(claim) = claim.as_str().map(trim_js).filter(|c| !c.is_empty()) {
                merged.insert(attr.clone(), Value::String(claim.to_string()));
            }
        }
    }
    merged
}

/// The first of `keys` with a mapped claim.
fn lookup(mappings: &Map<String, Value>, keys: &[&str]) -> String {
    keys.iter()
        .filter_map(|k| mappings.get(*k).and_then(Value::as_str))
        .find(|v| !v.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// `idpInitiatedEnabled`: booleans → `TRUE`/`FALSE`, strings trimmed,
/// anything else (Auth0's usual `{enabled: …}` object) empty (§17.13 kept).
fn boolish(value: Option<&Value>) -> String {
    match value {
        Some(Value::Bool(true)) => "TRUE".into(),
        Some(Value::Bool(false)) => "FALSE".into(),
        Some(Value::String(s)) => trim_js(s).to_string(),
        _ => String::new(),
    }
}

/// An approximation of ICU root collation (JavaScript `localeCompare`):
/// case and accents ignored first, punctuation < digits < letters; then
/// accents; then lower case before upper case; then code points.
pub fn locale_compare(a: &str, b: &str) -> Ordering {
    fn primary(s: &str) -> Vec<(u8, char)> {
        s.nfd()
            .filter(|c| !is_combining_mark(*c))
            .flat_map(char::to_lowercase)
            .map(|c| {
                let class = if c.is_alphabetic() {
                    2
                } else if c.is_numeric() {
                    1
                } else {
                    0
                };
                (class, c)
            })
            .collect()
    }
    fn secondary(s: &str) -> Vec<char> {
        s.nfd().flat_map(char::to_lowercase).collect()
    }
    fn tertiary(s: &str) -> Vec<bool> {
        s.nfd()
            .filter(|c| !is_combining_mark(*c))
            .map(char::is_uppercase)
            .collect()
    }
    primary(a)
        .cmp(&primary(b))
        .then_with(|| secondary(a).cmp(&secondary(b)))
        .then_with(|| tertiary(a).cmp(&tertiary(b)))
        .then_with(|| a.cmp(b))
}
