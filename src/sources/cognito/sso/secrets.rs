//! Secret handling of the Cognito SSO hand-off (§1.7, §1.10, fix of §17.2):
//! which `ProviderDetails` entries are secret, the `raw/cognito-providers.jsonl`
//! record with them redacted, and the manifest's `secretRedaction` block.
//!
//! The original wrote OIDC `client_secret` (and, in the raw file, every
//! provider's secrets, e.g. Sign in with Apple's `private_key`) verbatim while
//! the manifest claimed redaction. Here a detail is secret when its key
//! contains `secret` (the original's own test for its warning) or is a secret
//! key name of the Auth0 redaction rule (`…password`, `…privatekey`, token
//! names); such values are replaced by `[REDACTED]` unless
//! `--include-secrets` is given, and `secretRedaction` describes what really
//! happened.

use serde_json::{json, Map, Value};

use crate::package::manifest::SecretRedaction;
use crate::sources::auth0::sso::redact::{is_secret_key, REDACTED};
use crate::sources::cognito::CognitoProvider;

/// The raw provider dump inside the package (§1.10).
pub const RAW_PROVIDERS_FILE: &str = "raw/cognito-providers.jsonl";

/// True for a `ProviderDetails` key whose value is secret material.
pub fn is_secret_detail(key: &str) -> bool {
    key.to_lowercase().contains("secret") || is_secret_key(key)
}

/// The keys of `provider`'s secret details with a non-empty value, in key order.
pub fn secret_details(provider: &CognitoProvider) -> Vec<&str> {
    provider
        .provider_details
        .iter()
        .filter(|(k, v)| is_secret_detail(k) && !v.is_empty())
        .map(|(k, _)| k.as_str())
        .collect()
}

/// The `raw/cognito-providers.jsonl` record of a provider (§1.10 key order):
/// `{userPoolId, providerName, providerType, region, providerDetails,
/// attributeMapping, idpIdentifiers}`; secret details are `[REDACTED]`
/// unless `include_secrets`.
pub fn raw_record(provider: &CognitoProvider, region: &str, include_secrets: bool) -> Value {
    let details: Map<String, Value> = provider
        .provider_details
        .iter()
        .map(|(k, v)| {
            let v = if !include_secrets && is_secret_detail(k) && !v.is_empty() {
                REDACTED
            } else {
                v.as_str()
            };
            (k.clone(), Value::String(v.to_string()))
        })
        .collect();
    let mapping: Map<String, Value> = provider
        .attribute_mapping
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "userPoolId": provider.user_pool_id,
        "providerName": provider.provider_name,
        "providerType": provider.provider_type,
        "region": region,
        "providerDetails": details,
        "attributeMapping": mapping,
        "idpIdentifiers": provider.idp_identifiers,
    })
}

/// What the SSO mapping did with secret material, for `secretRedaction`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretTally {
    /// Distinct detail keys withheld, in first-seen order.
    pub withheld_fields: Vec<String>,
    /// Package files something was withheld from, in first-seen order.
    pub withheld_files: Vec<String>,
    /// Providers whose secrets were written (`--include-secrets`).
    pub providers_written: u64,
    /// Package files secrets were written to, in first-seen order.
    pub written_files: Vec<String>,
}

impl SecretTally {
    pub(super) fn withheld(&mut self, fields: &[&str], files: &[&str]) {
        push_unique(&mut self.withheld_fields, fields);
        push_unique(&mut self.withheld_files, files);
    }

    pub(super) fn written(&mut self, files: &[&str]) {
        self.providers_written += 1;
        push_unique(&mut self.written_files, files);
    }
}

fn push_unique(list: &mut Vec<String>, items: &[&str]) {
    for item in items {
        if !list.iter().any(|x| x == item) {
            list.push((*item).to_string());
        }
    }
}

/// `secretRedaction` of a Cognito package: `not-applicable` without SSO
/// export (the original's note) or when no provider carried a secret,
/// `redacted` when secrets were withheld, `included` when they were written.
pub fn secret_redaction(sso_requested: bool, tally: &SecretTally) -> SecretRedaction {
    if !sso_requested {
        return not_applicable(
            "Cognito package mode does not export user passwords or connection secrets.",
        );
    }
    if !tally.withheld_fields.is_empty() {
        SecretRedaction {
            mode: "redacted".into(),
            redacted: true,
            redacted_fields: Some(tally.withheld_fields.clone()),
            files: Some(tally.withheld_files.clone()),
            notes: Some(vec![
                "Cognito identity provider secrets (such as OIDC client secrets) are redacted by default. Re-run with --include-secrets only when the output directory can safely store secrets.".into(),
                "The customer must re-enter redacted OIDC client secrets in the WorkOS dashboard.".into(),
            ]),
        }
    } else if tally.providers_written > 0 {
        SecretRedaction {
            mode: "included".into(),
            redacted: false,
            redacted_fields: None,
            files: Some(tally.written_files.clone()),
            notes: Some(vec![
                "Cognito identity provider secrets were included because --include-secrets was set."
                    .into(),
            ]),
        }
    } else {
        not_applicable("No exported Cognito identity provider carried secret material.")
    }
}

fn not_applicable(note: &str) -> SecretRedaction {
    SecretRedaction {
        mode: "not-applicable".into(),
        redacted: true,
        redacted_fields: None,
        files: None,
        notes: Some(vec![note.into()]),
    }
}
