//! `warnings.jsonl` records of the Auth0 SSO export in their §1.6 shapes:
//! mapping warnings (`org_id`, `connection_name`, `protocol`, `details`)
//! and the exporter's own (`org_id`/`org_name`, `connection_id` +
//! `protocol`), plus the missing-scope test of §4.2.

use serde_json::{json, Map, Value};

use crate::package::jsonl::JsonlRecord;
use crate::sources::auth0::mapping::Auth0Org;
use crate::sources::sso::{connection_needs_attention, Protocol, AUTH0};

/// One mapping warning. Empty `org_id`, `connection_name` and `protocol`
/// are left out, as the original did with absent values.
pub(super) fn mapping_warning(
    code: &str,
    message: &str,
    org_id: &str,
    connection_name: &str,
    protocol: &str,
    details: Map<String, Value>,
) -> JsonlRecord {
    with_mapping_keys(
        JsonlRecord::warning(code, message),
        org_id,
        connection_name,
        protocol,
        details,
    )
}

fn with_mapping_keys(
    mut record: JsonlRecord,
    org_id: &str,
    connection_name: &str,
    protocol: &str,
    details: Map<String, Value>,
) -> JsonlRecord {
    for (key, value) in [
        ("org_id", org_id),
        ("connection_name", connection_name),
        ("protocol", protocol),
    ] {
        if !value.is_empty() {
            record = record.with(key, value);
        }
    }
    record.with("details", Value::Object(details))
}

/// `auth0 ‹protocol› connection[ ‹name›]`, the subject of mapping messages.
fn subject(protocol: &str, name: &str) -> String {
    if name.is_empty() {
        format!("{AUTH0} {protocol} connection")
    } else {
        format!("{AUTH0} {protocol} connection {name}")
    }
}

/// `details` entries with a string value (left out when `None`).
pub(super) fn details(pairs: &[(&str, Option<Value>)]) -> Map<String, Value> {
    pairs
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
        .collect()
}

pub(super) fn unsupported_connection_protocol(
    name: &str,
    strategy: Option<&str>,
    enterprise: bool,
) -> JsonlRecord {
    let protocol = strategy.filter(|s| !s.is_empty()).unwrap_or("unknown");
    let reason = if enterprise {
        "Auth0 enterprise strategy did not expose enough SAML or OIDC handoff configuration."
    } else {
        "Only Auth0 enterprise connections with SAML or OIDC configuration are supported for WorkOS SSO handoff."
    };
    mapping_warning(
        "unsupported_connection_protocol",
        &format!(
            "{} was skipped because it is outside the WorkOS SSO handoff scope.",
            subject(protocol, name)
        ),
        "",
        name,
        protocol,
        details(&[
            ("strategy", strategy.map(Value::from)),
            ("reason", Some(reason.into())),
        ]),
    )
}

pub(super) fn incomplete_connection_configuration(
    name: &str,
    protocol: &str,
    strategy: Option<&str>,
    missing_fields: &[&str],
    reason: &str,
) -> JsonlRecord {
    mapping_warning(
        "incomplete_connection_configuration",
        &format!(
            "{} was skipped because required handoff configuration was not available.",
            subject(protocol, name)
        ),
        "",
        name,
        protocol,
        details(&[
            ("strategy", strategy.map(Value::from)),
            ("missingFields", Some(json!(missing_fields))),
            ("reason", Some(reason.into())),
        ]),
    )
}

/// Reason of the `--include-secrets` OIDC warning for a connection without
/// a client secret (§17.12 fix).
pub const CLIENT_SECRET_UNAVAILABLE: &str = "Auth0 did not return a client secret for this OIDC connection, so the clientSecret cell is empty; enter the secret by hand before creating the WorkOS connection.";

/// §17.12 fix: with `--include-secrets`, an OIDC connection without a
/// client secret is exported (not skipped) with this warning — the code of
/// a missing hand-off field, worded like Firebase's exported-but-needs-
/// attention warnings.
pub(super) fn client_secret_unavailable(
    org_id: &str,
    name: &str,
    strategy: Option<&str>,
) -> JsonlRecord {
    with_mapping_keys(
        connection_needs_attention(AUTH0, Protocol::Oidc, name, CLIENT_SECRET_UNAVAILABLE),
        org_id,
        name,
        "oidc",
        details(&[
            ("strategy", strategy.map(Value::from)),
            ("missingFields", Some(json!(["clientSecret"]))),
            ("reason", Some(CLIENT_SECRET_UNAVAILABLE.into())),
        ]),
    )
}

pub(super) fn missing_domains(
    org_id: &str,
    organization_name: &str,
    name: &str,
    protocol: &str,
) -> JsonlRecord {
    mapping_warning(
        "missing_domains",
        &format!(
            "No domains were exported for {}. Populate domains before WorkOS handoff when domain capture is required.",
            subject(protocol, name)
        ),
        org_id,
        name,
        protocol,
        details(&[("organizationName", Some(organization_name.into()))]),
    )
}

pub(super) fn secrets_redacted(
    name: &str,
    protocol: &str,
    file: &str,
    fields: &[&str],
) -> JsonlRecord {
    mapping_warning(
        "secrets_redacted",
        &format!("Secret fields were redacted from {AUTH0} SSO export output."),
        "",
        name,
        protocol,
        details(&[("file", Some(file.into())), ("fields", Some(json!(fields)))]),
    )
}

pub(super) fn multi_org_connection_consolidated(
    org_id: &str,
    name: &str,
    protocol: &str,
    source_organization_ids: &[&str],
    domains: &[String],
) -> JsonlRecord {
    mapping_warning(
        "multi_org_connection_consolidated",
        &format!(
            "{} is attached to multiple source organizations and was consolidated into one WorkOS handoff row. Customer confirmation is required before activation.",
            subject(protocol, name)
        ),
        org_id,
        name,
        protocol,
        details(&[
            ("sourceOrganizationIds", Some(json!(source_organization_ids))),
            ("domains", Some(json!(domains))),
        ]),
    )
}

/// `missing_connections_options_scope` when listing connections failed:
/// the whole SSO export is skipped (§4.8 step 1).
pub fn missing_connections_options_scope_listing() -> JsonlRecord {
    JsonlRecord::warning(
        "missing_connections_options_scope",
        "Auth0 SSO connection export was skipped because the Management API token is missing read:connections_options.",
    )
}

/// `missing_connections_options_scope` for one connection whose options
/// could not be fetched (§4.8 step 4); `protocol` is its classification
/// (`saml`/`oidc`/`unsupported`, see [`super::ConnectionClass::as_str`]).
pub fn missing_connections_options_scope_connection(conn_id: &str, protocol: &str) -> JsonlRecord {
    JsonlRecord::warning(
        "missing_connections_options_scope",
        &format!(
            "Auth0 connection {conn_id} options could not be read because the token is missing read:connections_options."
        ),
    )
    .with("connection_id", conn_id)
    .with("protocol", protocol)
}

/// `org_connection_fetch_failed` (§4.8 step 3). `message` must already be
/// free of secrets (the API error text).
pub fn org_connection_fetch_failed(org: &Auth0Org, message: &str) -> JsonlRecord {
    JsonlRecord::warning(
        "org_connection_fetch_failed",
        &format!(
            "Failed to fetch enabled Auth0 connections for org {}: {message}",
            org.id
        ),
    )
    .with("org_id", org.id.as_str())
    .with("org_name", org.label())
}

/// True for a Management API error caused by a token without
/// `read:connections_options` (§4.2): status 403 and a body mentioning that
/// scope, or `connection`, `option` and `scope` together (any case).
pub fn is_missing_options_scope(status: u16, body: &str) -> bool {
    if status != 403 {
        return false;
    }
    let body = body.to_lowercase();
    body.contains("read:connections_options")
        || (body.contains("connection") && body.contains("option") && body.contains("scope"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(r: JsonlRecord) -> String {
        let mut v = r.into_value();
        v.as_object_mut().unwrap().shift_remove("timestamp");
        serde_json::to_string(&v).unwrap()
    }

    #[test]
    fn exporter_warning_shapes() {
        assert_eq!(
            strip(missing_connections_options_scope_listing()),
            r#"{"code":"missing_connections_options_scope","message":"Auth0 SSO connection export was skipped because the Management API token is missing read:connections_options."}"#
        );
        assert_eq!(
            strip(missing_connections_options_scope_connection(
                "con_1", "saml"
            )),
            r#"{"code":"missing_connections_options_scope","message":"Auth0 connection con_1 options could not be read because the token is missing read:connections_options.","connection_id":"con_1","protocol":"saml"}"#
        );
        let org = Auth0Org {
            id: "org_a".into(),
            name: "a".into(),
            display_name: Some("Acme, Inc".into()),
            metadata: None,
        };
        assert_eq!(
            strip(org_connection_fetch_failed(
                &org,
                "Auth0 API error (500): boom"
            )),
            r#"{"code":"org_connection_fetch_failed","message":"Failed to fetch enabled Auth0 connections for org org_a: Auth0 API error (500): boom","org_id":"org_a","org_name":"Acme, Inc"}"#
        );
    }

    #[test]
    fn missing_scope_detection() {
        assert!(is_missing_options_scope(
            403,
            r#"{"message":"Insufficient scope, expected any of: read:connections_options"}"#
        ));
        assert!(is_missing_options_scope(
            403,
            "Connection OPTIONS need a Scope"
        ));
        assert!(!is_missing_options_scope(403, "Insufficient scope"));
        assert!(!is_missing_options_scope(401, "read:connections_options"));
    }

    #[test]
    fn nameless_connections_read_naturally() {
        let w = unsupported_connection_protocol("", None, false);
        assert_eq!(
            strip(w),
            r#"{"code":"unsupported_connection_protocol","message":"auth0 unknown connection was skipped because it is outside the WorkOS SSO handoff scope.","protocol":"unknown","details":{"reason":"Only Auth0 enterprise connections with SAML or OIDC configuration are supported for WorkOS SSO handoff."}}"#
        );
    }

    #[test]
    fn client_secret_warning_says_exported() {
        let w = strip(client_secret_unavailable(
            "org_a",
            "okta-oidc",
            Some("okta"),
        ));
        assert!(w.starts_with(r#"{"code":"incomplete_connection_configuration","message":"auth0 oidc connection okta-oidc was exported but needs attention before activation: Auth0 did not return a client secret"#), "{w}");
        assert!(w.ends_with(r#""org_id":"org_a","connection_name":"okta-oidc","protocol":"oidc","details":{"strategy":"okta","missingFields":["clientSecret"],"reason":"Auth0 did not return a client secret for this OIDC connection, so the clientSecret cell is empty; enter the secret by hand before creating the WorkOS connection."}}"#), "{w}");
    }
}
