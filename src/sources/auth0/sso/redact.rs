//! Secret handling of the Auth0 SSO export (§1.7, §10.5): deep redaction of
//! raw connection JSON and the manifest's `secretRedaction` block.

use serde_json::{Map, Value};

use crate::package::manifest::SecretRedaction;
use crate::sources::sso::{OIDC_FILE, SAML_FILE};

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// The raw connections file.
pub const RAW_CONNECTIONS_FILE: &str = "raw/auth0-connections.jsonl";

/// `secretRedaction.redactedFields` of a redacted Auth0 SSO export.
pub const REDACTED_FIELDS: [&str; 12] = [
    "client_secret",
    "clientSecret",
    "secret",
    "password",
    "private_key",
    "privateKey",
    "requestSigningKey",
    "assertionEncryptionKey",
    "nameIdEncryptionKey",
    "access_token",
    "refresh_token",
    "id_token",
];

/// True for an object key whose value is a secret (§10.5): with `-`, `_`
/// and whitespace removed and lower-cased, the key is or ends with
/// `secret`/`password`, ends with `privatekey`, or is one of the SAML key
/// and OAuth token names.
pub fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| !(*c == '-' || *c == '_' || c.is_whitespace() || *c == '\u{feff}'))
        .collect::<String>()
        .to_lowercase();
    k.ends_with("secret")
        || k.ends_with("password")
        || k.ends_with("privatekey")
        || matches!(
            k.as_str(),
            "requestsigningkey"
                | "assertionencryptionkey"
                | "nameidencryptionkey"
                | "accesstoken"
                | "refreshtoken"
                | "idtoken"
        )
}

/// A deep copy of `conn` with every secret key's value (whatever its type)
/// replaced by `"[REDACTED]"`; key order kept. Recursive: connection JSON
/// comes from `serde_json`, whose parser stops at 128 levels.
pub fn redact_connection(conn: &Value) -> Value {
    match conn {
        Value::Array(items) => Value::Array(items.iter().map(redact_connection).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) {
                        Value::String(REDACTED.into())
                    } else {
                        redact_connection(v)
                    };
                    (k.clone(), v)
                })
                .collect::<Map<String, Value>>(),
        ),
        other => other.clone(),
    }
}

/// `secretRedaction` of an Auth0 package (§1.7, the three Auth0 rows).
pub fn secret_redaction(sso_requested: bool, include_secrets: bool) -> SecretRedaction {
    let files = || {
        Some(
            [RAW_CONNECTIONS_FILE, OIDC_FILE, SAML_FILE]
                .map(String::from)
                .to_vec(),
        )
    };
    if !sso_requested {
        SecretRedaction {
            mode: "not-applicable".into(),
            redacted: true,
            redacted_fields: None,
            files: None,
            notes: Some(vec![
                "Auth0 package core does not export connection secrets or password hashes.".into(),
            ]),
        }
    } else if include_secrets {
        SecretRedaction {
            mode: "included".into(),
            redacted: false,
            redacted_fields: None,
            files: files(),
            notes: Some(vec![
                "Auth0 SSO connection secrets were included because --include-secrets was set."
                    .into(),
            ]),
        }
    } else {
        SecretRedaction {
            mode: "redacted".into(),
            redacted: true,
            redacted_fields: Some(REDACTED_FIELDS.map(String::from).to_vec()),
            files: files(),
            notes: Some(vec!["Auth0 SSO connection secrets are redacted by default. Re-run with --include-secrets only when the output directory can safely store secrets.".into()]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_deeply_and_order_is_kept() {
        let conn = json!({
            "options": {
                "client_secret": "super-secret",
                "token_endpoint": "https://issuer.example.com/oauth/token",
                "signingCert": "PUBLIC_CERT",
                "private_key": "PRIVATE_KEY",
                "nested": [{"Client-Secret": {"a": 1}, "keep": "k"}],
                "request signing key": "x",
                "id_token": null,
                "adminPassword": 5
            },
            "name": "n"
        });
        let got = redact_connection(&conn);
        assert_eq!(
            serde_json::to_string(&got).unwrap(),
            r#"{"options":{"client_secret":"[REDACTED]","token_endpoint":"https://issuer.example.com/oauth/token","signingCert":"PUBLIC_CERT","private_key":"[REDACTED]","nested":[{"Client-Secret":"[REDACTED]","keep":"k"}],"request signing key":"[REDACTED]","id_token":"[REDACTED]","adminPassword":"[REDACTED]"},"name":"n"}"#
        );
    }

    #[test]
    fn secret_key_names() {
        for k in [
            "secret",
            "clientSecret",
            "password",
            "ldap_password",
            "privateKey",
            "signing_private_key",
            "requestSigningKey",
            "assertion-encryption-key",
            "nameIdEncryptionKey",
            "access_token",
            "refreshToken",
            "ID_TOKEN",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "signingCert",
            "token_endpoint",
            "secrets",
            "passwordPolicy",
            "key",
            "signingKey",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn redaction_metadata_per_case() {
        let off = secret_redaction(false, true);
        assert_eq!((off.mode.as_str(), off.redacted), ("not-applicable", true));
        assert!(off.files.is_none() && off.redacted_fields.is_none());
        let inc = secret_redaction(true, true);
        assert_eq!((inc.mode.as_str(), inc.redacted), ("included", false));
        assert!(inc.redacted_fields.is_none());
        let red = secret_redaction(true, false);
        assert_eq!((red.mode.as_str(), red.redacted), ("redacted", true));
        assert_eq!(red.redacted_fields.as_ref().unwrap().len(), 12);
        assert_eq!(
            serde_json::to_string(&red).unwrap(),
            r#"{"mode":"redacted","redacted":true,"redactedFields":["client_secret","clientSecret","secret","password","private_key","privateKey","requestSigningKey","assertionEncryptionKey","nameIdEncryptionKey","access_token","refresh_token","id_token"],"files":["raw/auth0-connections.jsonl","sso/oidc_connections.csv","sso/saml_connections.csv"],"notes":["Auth0 SSO connection secrets are redacted by default. Re-run with --include-secrets only when the output directory can safely store secrets."]}"#
        );
        assert_eq!(
            serde_json::to_string(&inc).unwrap(),
            r#"{"mode":"included","redacted":false,"files":["raw/auth0-connections.jsonl","sso/oidc_connections.csv","sso/saml_connections.csv"],"notes":["Auth0 SSO connection secrets were included because --include-secrets was set."]}"#
        );
        assert_eq!(
            serde_json::to_string(&off).unwrap(),
            r#"{"mode":"not-applicable","redacted":true,"notes":["Auth0 package core does not export connection secrets or password hashes."]}"#
        );
    }
}
