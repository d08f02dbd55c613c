//! SSO hand-off rows shared by the providers that fetch SSO connections
//! through an API (Clerk, Firebase / Identity Platform; export-and-package.md
//! §10): the three `sso/*.csv` row types, the warning builders of §14.1 in
//! the `{timestamp, code, message}` shape Clerk and Firebase write (§1.6),
//! domain normalisation (§10.6) and [`SsoHandoff`], the result of one SSO
//! fetch that an exporter writes into its package.
//!
//! Conventions decided here (docs/decisions.md):
//! - Domains are trimmed, lower-cased, de-duplicated in first-seen order and
//!   joined with [`DOMAIN_SEPARATOR`] (`;`) — the separator of the CSV
//!   templates and the one that needs no CSV quoting (§17.14).
//! - Clerk and Firebase drop warning details (§1.6), so the facts an operator
//!   needs (which connection, which fields) are part of the message.

pub mod http;
pub mod saml_metadata;

use serde_json::Value;

use crate::package::jsonl::JsonlRecord;
use crate::package::manifest::SecretRedaction;
use crate::package::schema::{CUSTOM_ATTRIBUTE_MAPPINGS, OIDC_CONNECTIONS, SAML_CONNECTIONS};
use crate::package::sso::HandoffNotes;
use crate::package::writer::PackageWriteError;
use crate::package::{MigrationPackageWriter, PackageOptions};

/// Provider names as they appear in warning messages.
pub const CLERK: &str = "clerk";
pub const FIREBASE: &str = "firebase";
pub const AUTH0: &str = "auth0";

/// Separator of the `domains` column of the SSO CSVs.
pub const DOMAIN_SEPARATOR: &str = ";";

/// Package paths named in redaction warnings and `secretRedaction.files`.
pub const SAML_FILE: &str = "sso/saml_connections.csv";
pub const OIDC_FILE: &str = "sso/oidc_connections.csv";

/// Connection protocol, as written in warning messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Saml,
    Oidc,
    /// Neither SAML nor OIDC material was present.
    Unknown,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Saml => "saml",
            Self::Oidc => "oidc",
            Self::Unknown => "unknown",
        }
    }
}

/// One row of `sso/saml_connections.csv` (21 columns, §1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SamlConnectionRow {
    pub name: String,
    pub organization_name: String,
    pub organization_id: String,
    pub organization_external_id: String,
    pub domains: String,
    pub idp_entity_id: String,
    pub idp_url: String,
    pub x509_cert: String,
    pub idp_metadata_url: String,
    pub custom_entity_id: String,
    pub custom_acs_url: String,
    pub idp_id_attribute: String,
    pub email_attribute: String,
    pub first_name_attribute: String,
    pub last_name_attribute: String,
    pub name_attribute: String,
    pub idp_initiated_enabled: String,
    pub request_signing_key: String,
    pub assertion_encryption_key: String,
    pub name_id_encryption_key: String,
    pub external_id: String,
}

impl SamlConnectionRow {
    /// The cells in [`crate::package::schema::SAML_CONNECTIONS_HEADER`] order.
    pub fn fields(&self) -> [&str; 21] {
        [
            &self.name,
            &self.organization_name,
            &self.organization_id,
            &self.organization_external_id,
            &self.domains,
            &self.idp_entity_id,
            &self.idp_url,
            &self.x509_cert,
            &self.idp_metadata_url,
            &self.custom_entity_id,
            &self.custom_acs_url,
            &self.idp_id_attribute,
            &self.email_attribute,
            &self.first_name_attribute,
            &self.last_name_attribute,
            &self.name_attribute,
            &self.idp_initiated_enabled,
            &self.request_signing_key,
            &self.assertion_encryption_key,
            &self.name_id_encryption_key,
            &self.external_id,
        ]
    }
}

/// One row of `sso/oidc_connections.csv` (10 columns, §1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OidcConnectionRow {
    pub name: String,
    pub organization_name: String,
    pub organization_id: String,
    pub organization_external_id: String,
    pub domains: String,
    pub client_id: String,
    pub client_secret: String,
    pub discovery_endpoint: String,
    pub custom_redirect_uri: String,
    pub external_id: String,
}

impl OidcConnectionRow {
    /// The cells in [`crate::package::schema::OIDC_CONNECTIONS_HEADER`] order.
    pub fn fields(&self) -> [&str; 10] {
        [
            &self.name,
            &self.organization_name,
            &self.organization_id,
            &self.organization_external_id,
            &self.domains,
            &self.client_id,
            &self.client_secret,
            &self.discovery_endpoint,
            &self.custom_redirect_uri,
            &self.external_id,
        ]
    }
}

/// One row of `sso/custom_attribute_mappings.csv` (5 columns, §1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomAttributeMappingRow {
    pub external_id: String,
    pub organization_external_id: String,
    /// `SAML` or `OIDC`.
    pub provider_type: String,
    pub user_pool_attribute: String,
    pub idp_claim: String,
}

impl CustomAttributeMappingRow {
    /// The cells in [`crate::package::schema::CUSTOM_ATTRIBUTE_MAPPINGS_HEADER`] order.
    pub fn fields(&self) -> [&str; 5] {
        [
            &self.external_id,
            &self.organization_external_id,
            &self.provider_type,
            &self.user_pool_attribute,
            &self.idp_claim,
        ]
    }
}

/// One row of `sso/proxy_routes.csv` (14 columns, §1.3, §10.9): a source
/// callback route to keep proxying until the IdP points at WorkOS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyRouteRow {
    pub external_id: String,
    pub organization_external_id: String,
    /// `auth0` or `cognito`.
    pub provider: String,
    /// `saml` or `oidc`.
    pub protocol: String,
    pub source_acs_url: String,
    pub source_entity_id: String,
    pub source_redirect_uri: String,
    pub custom_acs_url: String,
    pub custom_entity_id: String,
    pub custom_redirect_uri: String,
    /// Left empty for the operator.
    pub workos_connection_id: String,
    /// Left empty for the operator.
    pub workos_acs_url: String,
    /// `legacy`, `workos` or `manual`; exporters write [`CUTOVER_LEGACY`].
    pub cutover_state: String,
    pub notes: String,
}

/// The `cutoverState` every exporter writes.
pub const CUTOVER_LEGACY: &str = "legacy";

impl ProxyRouteRow {
    /// The cells in [`crate::package::schema::PROXY_ROUTES_HEADER`] order.
    pub fn fields(&self) -> [&str; 14] {
        [
            &self.external_id,
            &self.organization_external_id,
            &self.provider,
            &self.protocol,
            &self.source_acs_url,
            &self.source_entity_id,
            &self.source_redirect_uri,
            &self.custom_acs_url,
            &self.custom_entity_id,
            &self.custom_redirect_uri,
            &self.workos_connection_id,
            &self.workos_acs_url,
            &self.cutover_state,
            &self.notes,
        ]
    }
}

/// OIDC discovery URL from an issuer (§10.1): trimmed, trailing `/`
/// stripped, then `/.well-known/openid-configuration` appended unless
/// already there; `""` when nothing is left.
pub fn normalize_discovery_endpoint(issuer: &str) -> String {
    const SUFFIX: &str = "/.well-known/openid-configuration";
    let base = issuer.trim().trim_end_matches('/');
    if base.is_empty() {
        String::new()
    } else if base.ends_with(SUFFIX) {
        base.to_string()
    } else {
        format!("{base}{SUFFIX}")
    }
}

/// Normalises a domain list: trimmed, lower-cased, empties dropped,
/// de-duplicated in first-seen order.
pub fn normalize_domains<I, S>(domains: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<String> = Vec::new();
    for d in domains {
        let d = d.as_ref().trim().to_lowercase();
        if !d.is_empty() && !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// The `domains` cell: [`normalize_domains`] joined with [`DOMAIN_SEPARATOR`].
pub fn join_domains<I, S>(domains: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    normalize_domains(domains).join(DOMAIN_SEPARATOR)
}

/// Splits a `domains` cell written by [`join_domains`] (also accepts `,` and
/// whitespace, for hand-filled files).
pub fn split_domains(cell: &str) -> Vec<String> {
    normalize_domains(cell.split(|c: char| c == ';' || c == ',' || c.is_whitespace()))
}

/// The trimmed string at `key` of a JSON object (`""` when absent, null or
/// not a string; numbers and booleans are stringified).
pub fn json_str<'a>(obj: Option<&'a Value>, key: &str) -> std::borrow::Cow<'a, str> {
    match obj.and_then(|o| o.get(key)) {
        Some(Value::String(s)) => std::borrow::Cow::Borrowed(s.trim()),
        Some(Value::Number(n)) => std::borrow::Cow::Owned(n.to_string()),
        Some(Value::Bool(b)) => std::borrow::Cow::Owned(b.to_string()),
        _ => std::borrow::Cow::Borrowed(""),
    }
}

/// `missing_domains` (§10.6): a mapped connection has an empty `domains` cell.
pub fn missing_domains(provider: &str, protocol: Protocol, external_id: &str) -> JsonlRecord {
    JsonlRecord::warning(
        "missing_domains",
        &format!(
            "No domains were exported for {provider} {} connection {external_id}. Populate domains before WorkOS handoff when domain capture is required.",
            protocol.as_str()
        ),
    )
}

/// `secrets_redacted` (§10.5): secret `fields` of a connection were withheld
/// from `file`. The original message is kept and the connection, fields and
/// file (dropped details for Clerk/Firebase) are appended.
pub fn secrets_redacted(
    provider: &str,
    protocol: Protocol,
    external_id: &str,
    file: &str,
    fields: &[&str],
) -> JsonlRecord {
    JsonlRecord::warning(
        "secrets_redacted",
        &format!(
            "Secret fields were redacted from {provider} SSO export output. {provider} {} connection {external_id}: {} left blank in {file}; re-run with --include-secrets only if the output directory can safely store secrets.",
            protocol.as_str(),
            fields.join(", ")
        ),
    )
}

/// `incomplete_connection_configuration` for a connection that was **skipped**
/// (§10.8 message) — the missing fields are appended.
pub fn incomplete_connection_configuration(
    provider: &str,
    protocol: Protocol,
    external_id: &str,
    missing_fields: &[&str],
) -> JsonlRecord {
    JsonlRecord::warning(
        "incomplete_connection_configuration",
        &format!(
            "{provider} {} connection {external_id} was skipped because required handoff configuration was not available. Missing: {}.",
            protocol.as_str(),
            missing_fields.join(", ")
        ),
    )
}

/// `incomplete_connection_configuration` for a connection that **was exported**
/// but needs follow-up before activation (Firebase signRequest, expiring SP
/// certificates). The original reused the "was skipped" text (§17.15).
pub fn connection_needs_attention(
    provider: &str,
    protocol: Protocol,
    external_id: &str,
    reason: &str,
) -> JsonlRecord {
    JsonlRecord::warning(
        "incomplete_connection_configuration",
        &format!(
            "{provider} {} connection {external_id} was exported but needs attention before activation: {reason}",
            protocol.as_str()
        ),
    )
}

/// `sso_fetch_failed`: an API call failed; the export goes on without it.
pub fn sso_fetch_failed(message: &str) -> JsonlRecord {
    JsonlRecord::warning("sso_fetch_failed", message)
}

/// The result of fetching and mapping one provider's SSO connections: the
/// rows and warnings to write and what the manifest and notes must say.
#[derive(Debug, Clone)]
pub struct SsoHandoff {
    pub saml: Vec<SamlConnectionRow>,
    pub oidc: Vec<OidcConnectionRow>,
    pub custom_attributes: Vec<CustomAttributeMappingRow>,
    /// `{timestamp, code, message}` records, in the order they occurred.
    pub warnings: Vec<JsonlRecord>,
    pub notes: HandoffNotes,
    pub secret_redaction: SecretRedaction,
    /// Manifest `secretsRedacted`.
    pub secrets_redacted: bool,
    /// True when SSO export ran (`sso` goes into `entitiesRequested`).
    pub requested_sso: bool,
}

impl SsoHandoff {
    /// An empty hand-off with the given notes and redaction metadata.
    pub fn new(
        notes: HandoffNotes,
        secret_redaction: SecretRedaction,
        requested_sso: bool,
    ) -> Self {
        Self {
            saml: Vec::new(),
            oidc: Vec::new(),
            custom_attributes: Vec::new(),
            warnings: Vec::new(),
            notes,
            secrets_redacted: secret_redaction.redacted,
            secret_redaction,
            requested_sso,
        }
    }

    /// Sets the manifest-facing parts of `options`: hand-off notes,
    /// `secretRedaction`, `secretsRedacted`, and `sso` in
    /// `entitiesRequested` (appended once) when SSO export ran.
    pub fn apply_to(&self, options: &mut PackageOptions) {
        options.handoff_notes = self.notes.clone();
        options.secret_redaction = Some(self.secret_redaction.clone());
        options.secrets_redacted = Some(self.secrets_redacted);
        if self.requested_sso && !options.entities_requested.iter().any(|e| e == "sso") {
            options.entities_requested.push("sso".into());
        }
    }

    /// Writes the SAML, OIDC and custom-attribute rows and appends the
    /// warnings to `warnings.jsonl`.
    pub fn write_into(&self, pkg: &mut MigrationPackageWriter) -> Result<(), PackageWriteError> {
        for row in &self.saml {
            pkg.write_row(&SAML_CONNECTIONS, &row.fields())?;
        }
        for row in &self.oidc {
            pkg.write_row(&OIDC_CONNECTIONS, &row.fields())?;
        }
        for row in &self.custom_attributes {
            pkg.write_row(&CUSTOM_ATTRIBUTE_MAPPINGS, &row.fields())?;
        }
        for w in &self.warnings {
            pkg.warn(w)?;
        }
        Ok(())
    }

    /// SAML rows as owned cells in header order (for exporters that take
    /// plain rows).
    pub fn saml_rows(&self) -> Vec<Vec<String>> {
        self.saml
            .iter()
            .map(|r| r.fields().map(str::to_string).to_vec())
            .collect()
    }

    /// OIDC rows as owned cells in header order.
    pub fn oidc_rows(&self) -> Vec<Vec<String>> {
        self.oidc
            .iter()
            .map(|r| r.fields().map(str::to_string).to_vec())
            .collect()
    }

    /// Custom-attribute rows as owned cells in header order.
    pub fn custom_attribute_rows(&self) -> Vec<Vec<String>> {
        self.custom_attributes
            .iter()
            .map(|r| r.fields().map(str::to_string).to_vec())
            .collect()
    }

    /// Warning codes in order (for reports and tests).
    pub fn warning_codes(&self) -> Vec<&str> {
        self.warnings
            .iter()
            .filter_map(|w| w.get("code").and_then(Value::as_str))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::schema::{
        CUSTOM_ATTRIBUTE_MAPPINGS_HEADER, OIDC_CONNECTIONS_HEADER, SAML_CONNECTIONS_HEADER,
    };

    #[test]
    fn row_widths_match_headers() {
        assert_eq!(
            SamlConnectionRow::default().fields().len(),
            SAML_CONNECTIONS_HEADER.len()
        );
        assert_eq!(
            OidcConnectionRow::default().fields().len(),
            OIDC_CONNECTIONS_HEADER.len()
        );
        assert_eq!(
            CustomAttributeMappingRow::default().fields().len(),
            CUSTOM_ATTRIBUTE_MAPPINGS_HEADER.len()
        );
        let saml = SamlConnectionRow {
            name: "n".into(),
            domains: "d".into(),
            idp_initiated_enabled: "true".into(),
            external_id: "x".into(),
            ..Default::default()
        };
        let f = saml.fields();
        let at = |col: &str| {
            SAML_CONNECTIONS_HEADER
                .iter()
                .position(|h| *h == col)
                .unwrap()
        };
        assert_eq!(f[at("name")], "n");
        assert_eq!(f[at("domains")], "d");
        assert_eq!(f[at("idpInitiatedEnabled")], "true");
        assert_eq!(f[at("externalId")], "x");
        let oidc = OidcConnectionRow {
            client_id: "c".into(),
            discovery_endpoint: "e".into(),
            ..Default::default()
        };
        let at = |col: &str| {
            OIDC_CONNECTIONS_HEADER
                .iter()
                .position(|h| *h == col)
                .unwrap()
        };
        assert_eq!(oidc.fields()[at("clientId")], "c");
        assert_eq!(oidc.fields()[at("discoveryEndpoint")], "e");
        let attr = CustomAttributeMappingRow {
            provider_type: "SAML".into(),
            idp_claim: "dept".into(),
            ..Default::default()
        };
        assert_eq!(attr.fields(), ["", "", "SAML", "", "dept"]);
        let mut h = SsoHandoff::new(
            HandoffNotes::Default,
            crate::package::manifest::SecretRedaction {
                mode: "not-applicable".into(),
                redacted: true,
                redacted_fields: None,
                files: None,
                notes: None,
            },
            true,
        );
        h.saml.push(saml.clone());
        h.oidc.push(oidc.clone());
        h.custom_attributes.push(attr.clone());
        assert_eq!(h.saml_rows(), [saml.fields().map(String::from).to_vec()]);
        assert_eq!(h.oidc_rows()[0].len(), 10);
        assert_eq!(h.custom_attribute_rows()[0][4], "dept");
    }

    #[test]
    fn proxy_route_cells_follow_the_header() {
        use crate::package::schema::PROXY_ROUTES_HEADER;
        let row = ProxyRouteRow {
            external_id: "x".into(),
            provider: "auth0".into(),
            source_redirect_uri: "https://cb".into(),
            cutover_state: CUTOVER_LEGACY.into(),
            notes: "n".into(),
            ..Default::default()
        };
        let f = row.fields();
        assert_eq!(f.len(), PROXY_ROUTES_HEADER.len());
        let at = |col: &str| PROXY_ROUTES_HEADER.iter().position(|h| *h == col).unwrap();
        assert_eq!(f[at("externalId")], "x");
        assert_eq!(f[at("provider")], "auth0");
        assert_eq!(f[at("sourceRedirectUri")], "https://cb");
        assert_eq!(f[at("workosConnectionId")], "");
        assert_eq!(f[at("cutoverState")], "legacy");
        assert_eq!(f[at("notes")], "n");
    }

    #[test]
    fn discovery_endpoints_are_normalised() {
        for (issuer, want) in [
            ("https://a", "https://a/.well-known/openid-configuration"),
            ("https://a/", "https://a/.well-known/openid-configuration"),
            ("https://a//", "https://a/.well-known/openid-configuration"),
            (
                "https://a/.well-known/openid-configuration",
                "https://a/.well-known/openid-configuration",
            ),
            (
                "a.example.com",
                "a.example.com/.well-known/openid-configuration",
            ),
            ("", ""),
            (" / ", ""),
        ] {
            assert_eq!(normalize_discovery_endpoint(issuer), want, "{issuer:?}");
        }
    }

    #[test]
    fn domains_are_normalised_and_joined_with_semicolons() {
        assert_eq!(
            join_domains([" Acme.COM ", "", "app.acme.com", "acme.com"]),
            "acme.com;app.acme.com"
        );
        assert_eq!(join_domains(Vec::<String>::new()), "");
        assert_eq!(
            split_domains("A.com; b.com,c.com  a.com"),
            ["a.com", "b.com", "c.com"]
        );
    }

    fn keys(r: &JsonlRecord) -> Vec<String> {
        r.clone()
            .into_value()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn warnings_have_the_clerk_firebase_shape() {
        let all = [
            missing_domains(CLERK, Protocol::Saml, "clerk:ec_1"),
            secrets_redacted(
                FIREBASE,
                Protocol::Oidc,
                "firebase:oidc.a",
                OIDC_FILE,
                &["clientSecret"],
            ),
            incomplete_connection_configuration(
                CLERK,
                Protocol::Unknown,
                "clerk:ec_2",
                &["saml_connection", "oauth_config"],
            ),
            connection_needs_attention(FIREBASE, Protocol::Saml, "firebase:saml.a", "Reason."),
            sso_fetch_failed("Failed to fetch Clerk enterprise connections: boom"),
        ];
        for w in &all {
            assert_eq!(keys(w), ["timestamp", "code", "message"]);
        }
        let msg = |r: &JsonlRecord| r.get("message").unwrap().as_str().unwrap().to_string();
        assert_eq!(
            msg(&all[0]),
            "No domains were exported for clerk saml connection clerk:ec_1. Populate domains before WorkOS handoff when domain capture is required."
        );
        assert!(msg(&all[1])
            .starts_with("Secret fields were redacted from firebase SSO export output. "));
        assert!(msg(&all[1])
            .contains("firebase:oidc.a: clientSecret left blank in sso/oidc_connections.csv"));
        assert_eq!(
            msg(&all[2]),
            "clerk unknown connection clerk:ec_2 was skipped because required handoff configuration was not available. Missing: saml_connection, oauth_config."
        );
        assert!(!msg(&all[3]).contains("skipped"));
        assert_eq!(
            all[3].get("code").unwrap(),
            "incomplete_connection_configuration"
        );
        assert_eq!(all[4].get("code").unwrap(), "sso_fetch_failed");
    }

    #[test]
    fn apply_to_sets_manifest_options_once() {
        let redaction = SecretRedaction {
            mode: "not-applicable".into(),
            redacted: true,
            redacted_fields: None,
            files: None,
            notes: None,
        };
        let h = SsoHandoff::new(HandoffNotes::Default, redaction.clone(), true);
        let mut o = PackageOptions::new("clerk");
        o.entities_requested = vec!["users".into()];
        h.apply_to(&mut o);
        h.apply_to(&mut o);
        assert_eq!(o.entities_requested, ["users", "sso"]);
        assert_eq!(o.secret_redaction, Some(redaction));
        assert_eq!(o.secrets_redacted, Some(true));
    }
}
