//! Clerk Backend API client for enterprise SSO connections
//! (export-and-package.md §6.4) and their mapping onto the SSO hand-off CSVs
//! (§10.2–§10.4, Clerk columns).
//!
//! `GET {base}/enterprise_connections?limit=500&offset=n` with the secret key
//! as a Bearer token; the response is `{data, total_count}` or a bare array;
//! paging stops at a page shorter than 500 (or once `total_count` is
//! reached). Rate limits (429 + `Retry-After`), 5xx and timeouts are retried
//! within a bounded budget ([`RetryPolicy`]). Error messages never contain
//! the secret key and cut response bodies to 200 characters.

use serde_json::Value;

use crate::package::manifest::SecretRedaction;
use crate::package::sso::{ClerkSsoCounts, HandoffNotes};
use crate::sources::sso::http::{self, HttpFailure, RetryPolicy};
use crate::sources::sso::{
    incomplete_connection_configuration, join_domains, json_str, missing_domains,
    normalize_domains, sso_fetch_failed, CustomAttributeMappingRow, OidcConnectionRow, Protocol,
    SamlConnectionRow, SsoHandoff, CLERK,
};

/// `--clerk-api-base-url` default.
pub const DEFAULT_BASE_URL: &str = "https://api.clerk.com/v1";
/// Page size of the enterprise-connections listing (Clerk's maximum).
pub const PAGE_LIMIT: usize = 500;
/// Safety stop for a server that ignores `offset` (500 000 connections).
const MAX_PAGES: usize = 1000;

/// Attribute-mapping keys that have their own SAML columns.
const STANDARD_ATTRIBUTES: [&str; 4] = ["user_id", "email_address", "first_name", "last_name"];

/// Errors of the Clerk Backend API client. None of them contains the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClerkApiError {
    #[error("ClerkClient requires a secretKey")]
    MissingSecretKey,
    #[error("Invalid Clerk API base URL {0:?}")]
    InvalidBaseUrl(String),
    #[error("Clerk API error ({status}) for {path}: {body}")]
    Status {
        status: u16,
        path: String,
        body: String,
    },
    #[error("Clerk API request failed for {path}: {message}")]
    Transport { path: String, message: String },
    #[error("Clerk API returned an unexpected response for {path}: {message}")]
    InvalidResponse { path: String, message: String },
}

/// A Clerk Backend API client holding one secret key.
#[derive(Clone)]
pub struct ClerkClient {
    base_url: reqwest::Url,
    secret_key: String,
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl std::fmt::Debug for ClerkClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClerkClient")
            .field("base_url", &self.base_url.as_str())
            .field("secret_key", &"[REDACTED]")
            .finish()
    }
}

impl ClerkClient {
    /// A client for `base_url` (empty → [`DEFAULT_BASE_URL`]; trailing `/`
    /// stripped) with the default [`RetryPolicy`].
    pub fn new(base_url: &str, secret_key: &str) -> Result<Self, ClerkApiError> {
        let secret_key = secret_key.trim();
        if secret_key.is_empty() {
            return Err(ClerkApiError::MissingSecretKey);
        }
        let base = base_url.trim().trim_end_matches('/');
        let base = if base.is_empty() {
            DEFAULT_BASE_URL
        } else {
            base
        };
        let base_url = reqwest::Url::parse(&format!("{base}/"))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| ClerkApiError::InvalidBaseUrl(base.to_string()))?;
        let retry = RetryPolicy::default();
        Ok(Self {
            base_url,
            secret_key: secret_key.to_string(),
            http: retry.client(),
            retry,
        })
    }

    /// Replaces the retry policy (and the per-request timeout with it).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.http = retry.client();
        self.retry = retry;
        self
    }

    /// Every enterprise connection, in API order.
    pub async fn list_enterprise_connections(&self) -> Result<Vec<Value>, ClerkApiError> {
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let (page, total) = self.page(all.len()).await?;
            let n = page.len();
            all.extend(page);
            if n < PAGE_LIMIT || total.is_some_and(|t| all.len() as u64 >= t) {
                return Ok(all);
            }
        }
        Err(ClerkApiError::InvalidResponse {
            path: "/enterprise_connections".into(),
            message: format!("paging did not end after {MAX_PAGES} pages"),
        })
    }

    /// One page at `offset`: its items and `total_count` when given.
    async fn page(&self, offset: usize) -> Result<(Vec<Value>, Option<u64>), ClerkApiError> {
        let mut url = self
            .base_url
            .join("enterprise_connections")
            .map_err(|_| ClerkApiError::InvalidBaseUrl(self.base_url.to_string()))?;
        url.query_pairs_mut()
            .append_pair("limit", &PAGE_LIMIT.to_string())
            .append_pair("offset", &offset.to_string());
        let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
        let body = http::send_with_retry("clerk", &self.retry, || {
            self.http
                .get(url.clone())
                .bearer_auth(&self.secret_key)
                .header(reqwest::header::ACCEPT, "application/json")
        })
        .await
        .map_err(|failure| match failure {
            HttpFailure::Status { status, body } => ClerkApiError::Status {
                status,
                path: path.clone(),
                body: http::sanitize(&body, &[&self.secret_key]),
            },
            HttpFailure::Transport(message) => ClerkApiError::Transport {
                path: path.clone(),
                message: http::sanitize(&message, &[&self.secret_key]),
            },
        })?;
        let invalid = |message: String| ClerkApiError::InvalidResponse {
            path: path.clone(),
            message: http::sanitize(&message, &[&self.secret_key]),
        };
        match serde_json::from_str::<Value>(&body).map_err(|e| invalid(e.to_string()))? {
            Value::Array(items) => Ok((items, None)),
            Value::Object(mut obj) => match obj.remove("data") {
                Some(Value::Array(items)) => {
                    Ok((items, obj.get("total_count").and_then(Value::as_u64)))
                }
                _ => Err(invalid("expected a `data` array or a JSON array".into())),
            },
            _ => Err(invalid("expected a `data` array or a JSON array".into())),
        }
    }
}

/// `secretRedaction` of every Clerk package (§1.7): nothing secret is read.
pub fn clerk_secret_redaction() -> SecretRedaction {
    SecretRedaction {
        mode: "not-applicable".into(),
        redacted: true,
        redacted_fields: None,
        files: None,
        notes: Some(vec![
            "Clerk dashboard CSV does not include connection secrets.".into(),
            "Clerk enterprise connections (SAML + OIDC) expose only public material via the Backend API \u{2014} IdP certificates for SAML and client_id + discovery_url for OIDC. No secret material is fetched.".into(),
        ]),
    }
}

/// Fetches and maps the enterprise connections of one Clerk instance. A
/// failed fetch (including an empty key) becomes an `sso_fetch_failed`
/// warning and a hand-off with no rows whose notes report 0.
pub async fn fetch_clerk_sso(base_url: &str, secret_key: &str) -> SsoHandoff {
    match ClerkClient::new(base_url, secret_key) {
        Ok(client) => fetch_clerk_sso_with(&client).await,
        Err(e) => fetch_failed(&e),
    }
}

/// [`fetch_clerk_sso`] with a prepared client (custom retry policy).
pub async fn fetch_clerk_sso_with(client: &ClerkClient) -> SsoHandoff {
    match client.list_enterprise_connections().await {
        Ok(connections) => map_clerk_connections(&connections),
        Err(e) => fetch_failed(&e),
    }
}

fn fetch_failed(e: &ClerkApiError) -> SsoHandoff {
    let mut h = map_clerk_connections(&[]);
    h.warnings.push(sso_fetch_failed(&format!(
        "Failed to fetch Clerk enterprise connections: {e}"
    )));
    h
}

/// Maps Clerk enterprise connections (§10.2/§10.3): SAML wins when both
/// sub-objects are present; incomplete connections are skipped with an
/// `incomplete_connection_configuration` warning; mapped SAML connections add
/// custom attribute rows; an empty domain list adds `missing_domains`.
pub fn map_clerk_connections(connections: &[Value]) -> SsoHandoff {
    let mut h = SsoHandoff::new(HandoffNotes::Default, clerk_secret_redaction(), true);
    let mut counts = ClerkSsoCounts {
        fetched: connections.len() as u64,
        ..Default::default()
    };
    for c in connections {
        let external_id = format!("clerk:{}", json_str(Some(c), "id"));
        let org = json_str(Some(c), "organization_id").into_owned();
        let domains = clerk_domains(c);
        let saml = c.get("saml_connection").filter(|v| v.is_object());
        let oauth = c.get("oauth_config").filter(|v| v.is_object());
        let mapped = if let Some(saml) = saml {
            map_saml(saml, &external_id, &org, &domains, &mut h)
        } else if let Some(oauth) = oauth {
            map_oidc(oauth, &external_id, &org, &domains, &mut h)
        } else {
            h.warnings.push(incomplete_connection_configuration(
                CLERK,
                Protocol::Unknown,
                &external_id,
                &["saml_connection", "oauth_config"],
            ));
            None
        };
        match mapped {
            Some(Protocol::Saml) => counts.saml += 1,
            Some(_) => counts.oidc += 1,
            None => counts.skipped += 1,
        }
    }
    h.notes = HandoffNotes::ClerkWithSecretKey(counts);
    h
}

/// `domains[]` trimmed, lower-cased, de-duplicated; with `allow_subdomains`
/// each domain is followed by `*.domain`; joined with `;`.
fn clerk_domains(c: &Value) -> String {
    let raw: Vec<String> = match c.get("domains") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|d| d.as_str().or_else(|| d.get("name").and_then(Value::as_str)))
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => crate::sources::sso::split_domains(s),
        _ => Vec::new(),
    };
    let domains = normalize_domains(raw);
    if truthy(c.get("allow_subdomains")) {
        join_domains(domains.iter().flat_map(|d| [d.clone(), format!("*.{d}")]))
    } else {
        join_domains(domains)
    }
}

/// A flag that is on: `true`, a non-zero number, or the string `true`/`1`.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1"),
        _ => false,
    }
}

fn map_saml(
    saml: &Value,
    external_id: &str,
    org: &str,
    domains: &str,
    h: &mut SsoHandoff,
) -> Option<Protocol> {
    let s = |k: &str| json_str(Some(saml), k).into_owned();
    let entity_id = s("idp_entity_id");
    let sso_url = s("idp_sso_url");
    let cert = s("idp_certificate");
    let metadata_url = s("idp_metadata_url");
    let inline_metadata = s("idp_metadata");
    let mut missing = Vec::new();
    if entity_id.is_empty() {
        missing.push("saml_connection.idp_entity_id");
    }
    if sso_url.is_empty() {
        missing.push("saml_connection.idp_sso_url");
    }
    if cert.is_empty() && metadata_url.is_empty() && inline_metadata.is_empty() {
        missing.push("saml_connection.idp_certificate_or_metadata");
    }
    if !missing.is_empty() {
        h.warnings.push(incomplete_connection_configuration(
            CLERK,
            Protocol::Saml,
            external_id,
            &missing,
        ));
        return None;
    }
    let mapping = saml.get("attribute_mapping").filter(|m| m.is_object());
    let attr = |k: &str| json_str(mapping, k).into_owned();
    h.saml.push(SamlConnectionRow {
        organization_external_id: org.to_string(),
        domains: domains.to_string(),
        idp_entity_id: entity_id,
        idp_url: sso_url,
        x509_cert: cert,
        idp_metadata_url: metadata_url,
        custom_entity_id: s("sp_entity_id"),
        custom_acs_url: s("acs_url"),
        idp_id_attribute: attr("user_id"),
        email_attribute: attr("email_address"),
        first_name_attribute: attr("first_name"),
        last_name_attribute: attr("last_name"),
        idp_initiated_enabled: if truthy(saml.get("allow_idp_initiated")) {
            "true".into()
        } else {
            String::new()
        },
        external_id: external_id.to_string(),
        ..Default::default()
    });
    if let Some(Value::Object(m)) = mapping {
        for (key, value) in m {
            let claim = value.as_str().map(str::trim).unwrap_or_default();
            if STANDARD_ATTRIBUTES.contains(&key.as_str()) || claim.is_empty() {
                continue;
            }
            h.custom_attributes.push(CustomAttributeMappingRow {
                external_id: external_id.to_string(),
                organization_external_id: org.to_string(),
                provider_type: "SAML".into(),
                user_pool_attribute: key.clone(),
                idp_claim: claim.to_string(),
            });
        }
    }
    if domains.is_empty() {
        h.warnings
            .push(missing_domains(CLERK, Protocol::Saml, external_id));
    }
    Some(Protocol::Saml)
}

fn map_oidc(
    oauth: &Value,
    external_id: &str,
    org: &str,
    domains: &str,
    h: &mut SsoHandoff,
) -> Option<Protocol> {
    let client_id = json_str(Some(oauth), "client_id").into_owned();
    let discovery = json_str(Some(oauth), "discovery_url").into_owned();
    let mut missing = Vec::new();
    if client_id.is_empty() {
        missing.push("oauth_config.client_id");
    }
    if discovery.is_empty() {
        missing.push("oauth_config.discovery_url");
    }
    if !missing.is_empty() {
        h.warnings.push(incomplete_connection_configuration(
            CLERK,
            Protocol::Oidc,
            external_id,
            &missing,
        ));
        return None;
    }
    h.oidc.push(OidcConnectionRow {
        organization_external_id: org.to_string(),
        domains: domains.to_string(),
        client_id,
        discovery_endpoint: discovery,
        external_id: external_id.to_string(),
        ..Default::default()
    });
    if domains.is_empty() {
        h.warnings
            .push(missing_domains(CLERK, Protocol::Oidc, external_id));
    }
    Some(Protocol::Oidc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn saml(id: &str) -> Value {
        json!({
            "id": id,
            "name": "Okta",
            "domains": ["Acme.com", "app.acme.com", "acme.com"],
            "organization_id": "org_acme",
            "saml_connection": {
                "idp_entity_id": "http://www.okta.com/exk1",
                "idp_sso_url": "https://acme.okta.com/app/sso/saml",
                "idp_certificate": "  MIIC...  ",
                "idp_metadata_url": "https://acme.okta.com/app/metadata",
                "acs_url": "https://clerk.acme.com/v1/saml/acs/1",
                "sp_entity_id": "https://clerk.acme.com/saml/1",
                "allow_idp_initiated": true,
                "attribute_mapping": {
                    "user_id": "nameid",
                    "email_address": "mail",
                    "first_name": "givenName",
                    "last_name": "sn",
                    "department": " dept ",
                    "title": "  "
                }
            },
            "oauth_config": null
        })
    }

    fn messages(h: &SsoHandoff) -> Vec<String> {
        h.warnings
            .iter()
            .map(|w| w.get("message").unwrap().as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn client_requires_a_secret_key() {
        assert_eq!(
            ClerkClient::new("", " ").unwrap_err(),
            ClerkApiError::MissingSecretKey
        );
        assert!(ClerkApiError::MissingSecretKey
            .to_string()
            .contains("secretKey"));
        let c = ClerkClient::new("", "sk_test_1").unwrap();
        assert_eq!(c.base_url.as_str(), "https://api.clerk.com/v1/");
        assert!(!format!("{c:?}").contains("sk_test_1"));
    }

    #[test]
    fn complete_saml_maps_every_column() {
        let h = map_clerk_connections(&[saml("ec_1")]);
        assert_eq!(h.saml.len(), 1);
        let r = &h.saml[0];
        assert_eq!(r.organization_external_id, "org_acme");
        assert_eq!(r.organization_name, "");
        assert_eq!(r.domains, "acme.com;app.acme.com");
        assert_eq!(r.x509_cert, "MIIC...");
        assert_eq!(r.idp_metadata_url, "https://acme.okta.com/app/metadata");
        assert_eq!(r.custom_entity_id, "https://clerk.acme.com/saml/1");
        assert_eq!(r.custom_acs_url, "https://clerk.acme.com/v1/saml/acs/1");
        assert_eq!(
            [
                &r.idp_id_attribute,
                &r.email_attribute,
                &r.first_name_attribute,
                &r.last_name_attribute
            ],
            ["nameid", "mail", "givenName", "sn"]
        );
        assert_eq!(r.idp_initiated_enabled, "true");
        assert_eq!(r.external_id, "clerk:ec_1");
        assert_eq!(h.custom_attributes.len(), 1);
        assert_eq!(
            h.custom_attributes[0].fields(),
            ["clerk:ec_1", "org_acme", "SAML", "department", "dept"]
        );
        assert!(h.warnings.is_empty());
        assert_eq!(
            h.notes,
            HandoffNotes::ClerkWithSecretKey(ClerkSsoCounts {
                fetched: 1,
                saml: 1,
                oidc: 0,
                skipped: 0
            })
        );
    }

    #[test]
    fn subdomains_empty_domains_and_incomplete_saml() {
        let mut c = saml("ec_1");
        c["allow_subdomains"] = json!(true);
        let h = map_clerk_connections(&[c]);
        assert_eq!(
            h.saml[0].domains,
            "acme.com;*.acme.com;app.acme.com;*.app.acme.com"
        );

        let mut c = saml("ec_2");
        c["domains"] = json!([]);
        let h = map_clerk_connections(&[c]);
        assert_eq!(h.saml[0].domains, "");
        assert_eq!(h.warning_codes(), ["missing_domains"]);

        let mut c = saml("ec_3");
        c["saml_connection"]["idp_entity_id"] = json!("");
        c["saml_connection"]
            .as_object_mut()
            .unwrap()
            .remove("idp_sso_url");
        let h = map_clerk_connections(&[c]);
        assert!(h.saml.is_empty() && h.custom_attributes.is_empty());
        assert_eq!(h.warning_codes(), ["incomplete_connection_configuration"]);
        assert!(messages(&h)[0].contains("clerk saml connection clerk:ec_3 was skipped"));
        assert!(
            messages(&h)[0].contains("saml_connection.idp_entity_id, saml_connection.idp_sso_url.")
        );

        let mut c = saml("ec_4");
        for k in ["idp_certificate", "idp_metadata_url"] {
            c["saml_connection"][k] = json!(null);
        }
        let h = map_clerk_connections(std::slice::from_ref(&c));
        assert!(messages(&h)[0].contains("saml_connection.idp_certificate_or_metadata"));
        c["saml_connection"]["idp_metadata"] = json!("<EntityDescriptor/>");
        let h = map_clerk_connections(&[c]);
        assert_eq!(h.saml.len(), 1);
        assert_eq!(h.saml[0].x509_cert, "");
    }

    #[test]
    fn oidc_unknown_and_both() {
        let oidc = json!({"id": "ec_o", "domains": ["b.com"], "oauth_config": {"client_id": "cid", "discovery_url": "https://idp/.well-known/openid-configuration/"}});
        let broken = json!({"id": "ec_b", "domains": [], "oauth_config": {"client_id": ""}});
        let neither = json!({"id": "ec_n", "saml_connection": null});
        let mut both = saml("ec_both");
        both["oauth_config"] = json!({"client_id": "x", "discovery_url": "y"});
        let h = map_clerk_connections(&[oidc, broken, neither, both]);
        assert_eq!(h.oidc.len(), 1);
        let o = &h.oidc[0];
        assert_eq!(
            o.fields(),
            [
                "",
                "",
                "",
                "",
                "b.com",
                "cid",
                "",
                "https://idp/.well-known/openid-configuration/",
                "",
                "clerk:ec_o"
            ]
        );
        assert_eq!(h.saml.len(), 1);
        assert_eq!(h.saml[0].external_id, "clerk:ec_both");
        let m = messages(&h);
        assert_eq!(m.len(), 2);
        assert!(
            m[0].contains("clerk oidc connection clerk:ec_b was skipped")
                && m[0].ends_with("oauth_config.client_id, oauth_config.discovery_url.")
        );
        assert!(
            m[1].contains("clerk unknown connection clerk:ec_n")
                && m[1].ends_with("saml_connection, oauth_config.")
        );
        assert_eq!(
            h.notes,
            HandoffNotes::ClerkWithSecretKey(ClerkSsoCounts {
                fetched: 4,
                saml: 1,
                oidc: 1,
                skipped: 2
            })
        );
    }
}
