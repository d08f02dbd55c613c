//! Reading an Auth0 connection's `options` (§10.2, §10.3a, §10.8): the
//! option key lists, the "first non-empty string" lookups, the discovery
//! endpoint derivation, protocol classification and whether a listed
//! connection must be re-fetched to see its options (§4.8 step 4).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

use crate::sources::sso::normalize_discovery_endpoint;
use crate::sources::sso::saml_metadata::{parse_saml_metadata, SamlMetadata};

/// Auth0 enterprise strategies (§10.8); anything else is never SSO.
pub const ENTERPRISE_STRATEGIES: [&str; 12] = [
    "ad",
    "adfs",
    "auth0-adldap",
    "google-apps",
    "ip",
    "office365",
    "oidc",
    "okta",
    "pingfederate",
    "samlp",
    "sharepoint",
    "waad",
];

pub const SAML_XML_KEYS: &[&str] = &[
    "metadataXml",
    "metadataXML",
    "metadataFile",
    "metadata_file",
    "idpMetadataXml",
    "idp_metadata_xml",
];
pub const SAML_METADATA_URL_KEYS: &[&str] = &[
    "federationMetadataUrl",
    "federation_metadata_url",
    "FederationMetadataUrl",
    "metadataUrl",
    "metadataURL",
    "metadata_url",
    "idpMetadataUrl",
    "idp_metadata_url",
    "MetadataURL",
];
pub const SAML_IDP_ENTITY_ID_KEYS: &[&str] = &[
    "idpEntityId",
    "idp_entity_id",
    "entityId",
    "entityID",
    "issuer",
    "idpIssuer",
];
pub const SAML_IDP_URL_KEYS: &[&str] = &[
    "signInEndpoint",
    "signin_url",
    "signInUrl",
    "ssoUrl",
    "sso_url",
    "idpUrl",
    "idp_url",
    "SSORedirectBindingURI",
];
pub const SAML_CERT_KEYS: &[&str] = &[
    "signingCert",
    "signing_cert",
    "x509Cert",
    "x509cert",
    "x509_certificate",
    "cert",
    "certificate",
];
pub const SAML_SP_ENTITY_ID_KEYS: &[&str] = &[
    "audience",
    "spEntityId",
    "sp_entity_id",
    "serviceProviderEntityId",
];
pub const SAML_ACS_URL_KEYS: &[&str] = &[
    "callbackUrl",
    "callbackURL",
    "acsUrl",
    "acs_url",
    "recipient",
    "destination",
];
/// SAML secret option keys, as listed in the `secrets_redacted` warning.
pub const SAML_SECRET_KEYS: &[&str] = &[
    "requestSigningKey",
    "request_signing_key",
    "assertionEncryptionKey",
    "assertion_encryption_key",
    "nameIdEncryptionKey",
    "name_id_encryption_key",
];
pub const REQUEST_SIGNING_KEY_KEYS: &[&str] = &["requestSigningKey", "request_signing_key"];
pub const ASSERTION_ENCRYPTION_KEY_KEYS: &[&str] =
    &["assertionEncryptionKey", "assertion_encryption_key"];
pub const NAME_ID_ENCRYPTION_KEY_KEYS: &[&str] = &["nameIdEncryptionKey", "name_id_encryption_key"];
pub const IDP_INITIATED_KEYS: &[&str] = &["idpinitiated", "idpInitiated"];

pub const OIDC_CLIENT_ID_KEYS: &[&str] = &["client_id", "clientId"];
pub const OIDC_CLIENT_SECRET_KEYS: &[&str] = &["client_secret", "clientSecret"];
pub const OIDC_DISCOVERY_KEYS: &[&str] = &[
    "discoveryEndpoint",
    "discovery_endpoint",
    "discoveryUrl",
    "discovery_url",
    "issuer",
    "issuerUrl",
    "issuer_url",
];
pub const OKTA_DOMAIN_KEYS: &[&str] = &[
    "domain",
    "issuerDomain",
    "issuer_domain",
    "oktaDomain",
    "okta_domain",
];
pub const AZURE_TENANT_KEYS: &[&str] = &[
    "tenant_domain",
    "tenantDomain",
    "tenant_id",
    "tenantId",
    "domain",
];
pub const OIDC_REDIRECT_URI_KEYS: &[&str] =
    &["redirectUri", "redirect_uri", "callbackUrl", "callbackURL"];

/// Where attribute mapping dictionaries are looked for (§10.4).
pub const ATTRIBUTE_MAPPING_KEYS: &[&str] = &[
    "fieldsMap",
    "fieldMap",
    "fields_map",
    "mapping",
    "attributeMap",
    "attribute_map",
    "attributes",
    "profileMap",
    "profile_map",
];

pub const GOOGLE_DISCOVERY_ENDPOINT: &str =
    "https://accounts.google.com/.well-known/openid-configuration";

/// JavaScript `encodeURIComponent`: everything but `A–Z a–z 0–9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// `encodeURIComponent(s)`.
pub fn encode_uri_component(s: &str) -> String {
    utf8_percent_encode(s, URI_COMPONENT).to_string()
}

/// JavaScript `String.prototype.trim` (Unicode White_Space plus U+FEFF).
pub fn trim_js(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// How a connection is handed off (§10.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionClass {
    Saml,
    Oidc,
    /// Not handed off; `enterprise` tells which skip reason applies.
    Unsupported {
        enterprise: bool,
    },
}

impl ConnectionClass {
    /// `saml`, `oidc` or `unsupported`, as in the `protocol` of exporter
    /// warnings (§1.6).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Saml => "saml",
            Self::Oidc => "oidc",
            Self::Unsupported { .. } => "unsupported",
        }
    }
}

/// The connection's `strategy` string, if any.
pub fn strategy(conn: &Value) -> Option<&str> {
    conn.get("strategy").and_then(Value::as_str)
}

/// The connection's `options` object (empty when absent or not an object).
pub fn options(conn: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    match conn.get("options") {
        Some(Value::Object(m)) => m,
        _ => EMPTY.get_or_init(Map::new),
    }
}

/// A top-level string field of the connection (`""` when absent).
pub fn text<'a>(conn: &'a Value, key: &str) -> &'a str {
    conn.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The value of the first of `keys` present in `options` (even `null`).
pub fn option_value<'a>(options: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| options.get(*k))
}

/// The first of `keys` holding a non-empty trimmed string, trimmed.
pub fn first_string<'a>(options: &'a Map<String, Value>, keys: &[&str]) -> &'a str {
    keys.iter()
        .filter_map(|k| options.get(*k).and_then(Value::as_str))
        .map(trim_js)
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

/// Classifies a connection (§10.8).
pub fn classify(conn: &Value) -> ConnectionClass {
    let strategy = strategy(conn).unwrap_or_default().to_lowercase();
    match strategy.as_str() {
        "samlp" => return ConnectionClass::Saml,
        "oidc" => return ConnectionClass::Oidc,
        s if !ENTERPRISE_STRATEGIES.contains(&s) => {
            return ConnectionClass::Unsupported { enterprise: false }
        }
        _ => {}
    }
    let opts = options(conn);
    let client_id = first_string(opts, OIDC_CLIENT_ID_KEYS);
    if !client_id.is_empty() && !discovery_endpoint(&strategy, opts, client_id).is_empty() {
        return ConnectionClass::Oidc;
    }
    if has_saml_data(opts) {
        return ConnectionClass::Saml;
    }
    ConnectionClass::Unsupported { enterprise: true }
}

/// True when a listed connection must be fetched by id to read its
/// options: classified SAML/OIDC and `options` absent, `null`, empty or
/// not an object. Unsupported connections are never re-fetched.
pub fn needs_hydration(conn: &Value) -> bool {
    let readable = matches!(conn.get("options"), Some(Value::Object(m)) if !m.is_empty());
    !readable && !matches!(classify(conn), ConnectionClass::Unsupported { .. })
}

/// The parsed inline metadata XML of a connection's options.
pub fn inline_metadata(opts: &Map<String, Value>) -> SamlMetadata {
    parse_saml_metadata(first_string(opts, SAML_XML_KEYS))
}

fn has_saml_data(opts: &Map<String, Value>) -> bool {
    let parsed = inline_metadata(opts);
    let non_empty = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    non_empty(&parsed.entity_id)
        || non_empty(&parsed.sso_redirect_url)
        || non_empty(&parsed.x509_cert)
        || [
            SAML_METADATA_URL_KEYS,
            SAML_IDP_ENTITY_ID_KEYS,
            SAML_IDP_URL_KEYS,
            SAML_CERT_KEYS,
        ]
        .iter()
        .any(|keys| !first_string(opts, keys).is_empty())
}

/// The OIDC discovery endpoint (§10.3a), `""` when none resolves.
/// `strategy` must be lower-cased.
pub fn discovery_endpoint(strategy: &str, opts: &Map<String, Value>, client_id: &str) -> String {
    let direct = normalize_discovery_endpoint(first_string(opts, OIDC_DISCOVERY_KEYS));
    if !direct.is_empty() || client_id.is_empty() {
        return direct;
    }
    match strategy {
        "google-apps" => GOOGLE_DISCOVERY_ENDPOINT.to_string(),
        "waad" | "office365" => match first_string(opts, AZURE_TENANT_KEYS) {
            "" => String::new(),
            tenant => format!(
                "https://login.microsoftonline.com/{}/v2.0/.well-known/openid-configuration",
                encode_uri_component(tenant)
            ),
        },
        "okta" => match first_string(opts, OKTA_DOMAIN_KEYS) {
            "" => String::new(),
            domain => normalize_discovery_endpoint(&ensure_https(domain)),
        },
        _ => String::new(),
    }
}

/// Prepends `https://` unless the value starts with `http://`/`https://`
/// (any case).
fn ensure_https(value: &str) -> String {
    let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        value.to_string()
    } else {
        format!("https://{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn enterprise_strategy_list_is_the_originals() {
        for s in [
            "ad",
            "adfs",
            "auth0-adldap",
            "google-apps",
            "oidc",
            "okta",
            "pingfederate",
            "samlp",
            "waad",
        ] {
            assert!(ENTERPRISE_STRATEGIES.contains(&s), "{s}");
        }
        assert!(!ENTERPRISE_STRATEGIES.contains(&"auth0"));
    }

    #[test]
    fn classification() {
        let c = |v: Value| classify(&v);
        assert_eq!(c(json!({"strategy": "SAMLP"})), ConnectionClass::Saml);
        assert_eq!(c(json!({"strategy": "oidc"})), ConnectionClass::Oidc);
        assert_eq!(
            c(json!({"strategy": "auth0"})),
            ConnectionClass::Unsupported { enterprise: false }
        );
        assert_eq!(
            c(json!({})),
            ConnectionClass::Unsupported { enterprise: false }
        );
        assert_eq!(
            c(json!({"strategy": "okta", "options": {"client_id": "c", "domain": "a.okta.com"}})),
            ConnectionClass::Oidc
        );
        // A client id without any discovery source is not OIDC.
        assert_eq!(
            c(json!({"strategy": "adfs", "options": {"client_id": "c"}})),
            ConnectionClass::Unsupported { enterprise: true }
        );
        assert_eq!(
            c(json!({"strategy": "adfs", "options": {"adfs_server": "https://adfs"}})),
            ConnectionClass::Unsupported { enterprise: true }
        );
        assert_eq!(
            c(json!({"strategy": "pingfederate", "options": {"signingCert": "C"}})),
            ConnectionClass::Saml
        );
        let xml = r#"<EntityDescriptor entityID="urn:x"/>"#;
        assert_eq!(
            c(json!({"strategy": "adfs", "options": {"metadataXml": xml}})),
            ConnectionClass::Saml
        );
        // Whitespace-only strings and non-strings do not count.
        assert_eq!(
            c(json!({"strategy": "adfs", "options": {"signingCert": "  ", "cert": 5}})),
            ConnectionClass::Unsupported { enterprise: true }
        );
    }

    #[test]
    fn hydration_only_for_saml_oidc_without_options() {
        assert!(needs_hydration(&json!({"strategy": "samlp"})));
        assert!(needs_hydration(&json!({"strategy": "oidc", "options": {}})));
        assert!(needs_hydration(
            &json!({"strategy": "samlp", "options": null})
        ));
        assert!(!needs_hydration(
            &json!({"strategy": "samlp", "options": {"x": 1}})
        ));
        // Enterprise strategies other than samlp/oidc classify as
        // unsupported without options, so they are never re-fetched.
        assert!(!needs_hydration(&json!({"strategy": "okta"})));
        assert!(!needs_hydration(&json!({"strategy": "github"})));
    }

    #[test]
    fn discovery_sources() {
        let o = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            discovery_endpoint("oidc", &o(json!({"issuer": "https://i.example.com/"})), ""),
            "https://i.example.com/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_endpoint("google-apps", &o(json!({})), "cid"),
            GOOGLE_DISCOVERY_ENDPOINT
        );
        assert_eq!(discovery_endpoint("google-apps", &o(json!({})), ""), "");
        assert_eq!(
            discovery_endpoint("office365", &o(json!({"tenantId": "a b/c"})), "cid"),
            "https://login.microsoftonline.com/a%20b%2Fc/v2.0/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_endpoint(
                "okta",
                &o(json!({"okta_domain": "HTTP://a.okta.com/"})),
                "c"
            ),
            "HTTP://a.okta.com/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_endpoint("samlp", &o(json!({"domain": "x"})), "c"),
            ""
        );
    }

    #[test]
    fn uri_component_encoding_matches_javascript() {
        assert_eq!(
            encode_uri_component("a b&c/d?é!~*'()-_."),
            "a%20b%26c%2Fd%3F%C3%A9!~*'()-_."
        );
    }

    #[test]
    fn first_string_skips_blank_and_non_strings() {
        let o = json!({"a": " ", "b": 3, "c": " x "});
        assert_eq!(first_string(o.as_object().unwrap(), &["a", "b", "c"]), "x");
        assert_eq!(first_string(o.as_object().unwrap(), &["z"]), "");
        assert_eq!(trim_js("\u{feff} a\u{a0}"), "a");
    }
}
