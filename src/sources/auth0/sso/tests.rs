//! Tests of the Auth0 SSO mapping: the original's `sso-mapper.test.ts`
//! cases (§15), the §17.12 / §17.14 fixes and the Appendix B worked example
//! byte for byte.

use serde_json::{json, Value};

use super::*;
use crate::package::csv_writer::push_record;
use crate::package::schema::{
    CUSTOM_ATTRIBUTE_MAPPINGS_HEADER, OIDC_CONNECTIONS_HEADER, PROXY_ROUTES_HEADER,
    SAML_CONNECTIONS_HEADER,
};

fn org(id: &str, name: &str, display: Option<&str>, metadata: Value) -> Auth0Org {
    Auth0Org {
        id: id.into(),
        name: name.into(),
        display_name: display.map(String::from),
        metadata: metadata.as_object().cloned(),
    }
}

fn acme() -> Auth0Org {
    org(
        "org_acme",
        "acme",
        Some("Acme"),
        json!({"domains": ["acme.com"]}),
    )
}

fn run(conns: &[Value], bindings: &[(String, Vec<Auth0Org>)], include: bool) -> Auth0SsoOutput {
    map_connections(&Auth0SsoInput {
        domain_host: "tenant.auth0.com",
        connections: conns,
        bindings,
        include_secrets: include,
    })
}

fn bound(conn: &Value, orgs: Vec<Auth0Org>) -> Vec<(String, Vec<Auth0Org>)> {
    vec![(conn["id"].as_str().unwrap().to_string(), orgs)]
}

/// Warnings as compact JSON without `timestamp`.
fn warning_lines(out: &Auth0SsoOutput) -> Vec<String> {
    out.warnings
        .iter()
        .map(|w| {
            let mut v = w.clone().into_value();
            let obj = v.as_object_mut().unwrap();
            assert!(obj.shift_remove("timestamp").is_some());
            serde_json::to_string(&v).unwrap()
        })
        .collect()
}

fn codes(out: &Auth0SsoOutput) -> Vec<&str> {
    out.warnings
        .iter()
        .map(|w| w.get("code").unwrap().as_str().unwrap())
        .collect()
}

fn csv(header: &[&str], rows: Vec<Vec<&str>>) -> String {
    let mut out = Vec::new();
    push_record(&mut out, header);
    for r in rows {
        push_record(&mut out, &r);
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn complete_saml_with_fields_map() {
    let conn = json!({
        "id": "con_saml", "name": "okta", "strategy": "samlp",
        "options": {
            "entityId": "https://idp.example.com/entity",
            "signInEndpoint": "https://idp.example.com/sso",
            "signingCert": "CERTDATA",
            "fieldsMap": {"email": "mail", "given_name": "firstName", "family_name": "lastName", "department": "department"}
        }
    });
    let out = run(
        std::slice::from_ref(&conn),
        &bound(&conn, vec![acme()]),
        false,
    );
    assert_eq!(out.saml.len(), 1);
    let row = &out.saml[0];
    assert_eq!(row.organization_name, "Acme");
    assert_eq!(row.organization_external_id, "org_acme");
    assert_eq!(row.domains, "acme.com");
    assert_eq!(row.idp_entity_id, "https://idp.example.com/entity");
    assert_eq!(row.idp_url, "https://idp.example.com/sso");
    assert_eq!(row.x509_cert, "CERTDATA");
    assert_eq!(row.email_attribute, "mail");
    assert_eq!(row.first_name_attribute, "firstName");
    assert_eq!(row.last_name_attribute, "lastName");
    assert_eq!(row.external_id, "okta");
    assert_eq!(
        out.custom_attributes,
        [CustomAttributeMappingRow {
            external_id: "okta".into(),
            organization_external_id: "org_acme".into(),
            provider_type: "SAML".into(),
            user_pool_attribute: "department".into(),
            idp_claim: "department".into(),
        }]
    );
    assert_eq!(
        out.proxy_routes[0].source_acs_url,
        "https://tenant.auth0.com/login/callback?connection=okta"
    );
    assert!(out.warnings.is_empty());
    assert!(out.oidc.is_empty());
    assert_eq!(out.raw, [conn]);
}

#[test]
fn oidc_secret_is_redacted_by_default() {
    let conn = json!({
        "id": "con_oidc", "name": "oidc-idp", "strategy": "oidc",
        "options": {
            "client_id": "client_123", "client_secret": "super-secret",
            "issuer": "https://issuer.example.com",
            "mapping": {"name": "name", "title": "title"}
        }
    });
    let out = run(
        std::slice::from_ref(&conn),
        &bound(&conn, vec![acme()]),
        false,
    );
    let row = &out.oidc[0];
    assert_eq!(row.client_id, "client_123");
    assert_eq!(row.client_secret, "");
    assert_eq!(
        row.discovery_endpoint,
        "https://issuer.example.com/.well-known/openid-configuration"
    );
    assert_eq!(row.external_id, "oidc-idp");
    assert_eq!(out.custom_attributes.len(), 1);
    assert_eq!(out.custom_attributes[0].provider_type, "OIDC");
    assert_eq!(out.custom_attributes[0].user_pool_attribute, "title");
    assert_eq!(out.custom_attributes[0].idp_claim, "title");
    assert_eq!(
        warning_lines(&out),
        [
            r#"{"code":"secrets_redacted","message":"Secret fields were redacted from auth0 SSO export output.","connection_name":"oidc-idp","protocol":"oidc","details":{"file":"sso/oidc_connections.csv","fields":["clientSecret"]}}"#
        ]
    );
    // The raw record never carries the secret.
    let raw = serde_json::to_string(&out.raw).unwrap();
    assert!(raw.contains(r#""client_secret":"[REDACTED]""#));
    assert!(!raw.contains("super-secret"));
    // With --include-secrets: written, no warning, raw kept.
    let out = run(
        std::slice::from_ref(&conn),
        &bound(&conn, vec![acme()]),
        true,
    );
    assert_eq!(out.oidc[0].client_secret, "super-secret");
    assert!(out.warnings.is_empty());
    assert_eq!(out.raw, [conn]);
}

#[test]
fn okta_with_saml_options_is_saml() {
    let conn = json!({
        "id": "con_okta_saml", "name": "okta-saml", "strategy": "okta",
        "options": {
            "metadataUrl": "https://okta.example.com/app/metadata",
            "entityId": "https://okta.example.com/entity",
            "signInEndpoint": "https://okta.example.com/sso/saml",
            "signingCert": "CERTDATA"
        }
    });
    assert_eq!(classify(&conn), ConnectionClass::Saml);
    let out = run(
        std::slice::from_ref(&conn),
        &bound(&conn, vec![acme()]),
        false,
    );
    let row = &out.saml[0];
    assert_eq!(
        row.idp_metadata_url,
        "https://okta.example.com/app/metadata"
    );
    assert_eq!(row.idp_entity_id, "https://okta.example.com/entity");
    assert_eq!(row.idp_url, "https://okta.example.com/sso/saml");
    assert_eq!(row.x509_cert, "CERTDATA");
    assert_eq!(row.external_id, "okta-saml");
}

#[test]
fn waad_and_google_apps_are_oidc() {
    let waad = json!({
        "id": "con_waad", "name": "azure-ad", "strategy": "waad",
        "options": {"client_id": "azure-client", "client_secret": "azure-secret", "tenant_domain": "contoso.onmicrosoft.com"}
    });
    assert_eq!(classify(&waad), ConnectionClass::Oidc);
    let out = run(
        std::slice::from_ref(&waad),
        &bound(&waad, vec![acme()]),
        false,
    );
    assert_eq!(out.oidc[0].client_id, "azure-client");
    assert_eq!(
        out.oidc[0].discovery_endpoint,
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
    );
    assert_eq!(out.oidc[0].external_id, "azure-ad");

    let google = json!({
        "id": "con_google_apps", "name": "google-workspace", "strategy": "google-apps",
        "options": {"client_id": "google-client", "client_secret": "google-secret"}
    });
    assert_eq!(classify(&google), ConnectionClass::Oidc);
    let out = run(
        std::slice::from_ref(&google),
        &bound(&google, vec![acme()]),
        false,
    );
    assert_eq!(out.oidc[0].client_id, "google-client");
    assert_eq!(
        out.oidc[0].discovery_endpoint,
        "https://accounts.google.com/.well-known/openid-configuration"
    );
    assert_eq!(out.oidc[0].external_id, "google-workspace");
}

#[test]
fn unsupported_strategies_are_skipped() {
    let db =
        json!({"id": "con_db", "name": "Username-Password-Authentication", "strategy": "auth0"});
    assert_eq!(
        classify(&db),
        ConnectionClass::Unsupported { enterprise: false }
    );
    let out = run(std::slice::from_ref(&db), &[], false);
    assert!(out.saml.is_empty() && out.oidc.is_empty() && out.proxy_routes.is_empty());
    assert_eq!(
        warning_lines(&out),
        [
            r#"{"code":"unsupported_connection_protocol","message":"auth0 auth0 connection Username-Password-Authentication was skipped because it is outside the WorkOS SSO handoff scope.","connection_name":"Username-Password-Authentication","protocol":"auth0","details":{"strategy":"auth0","reason":"Only Auth0 enterprise connections with SAML or OIDC configuration are supported for WorkOS SSO handoff."}}"#
        ]
    );
    // Skipped connections still reach the raw file.
    assert_eq!(out.raw, [db]);

    let adldap = json!({"id": "con_adldap", "name": "corp-ad", "strategy": "auth0-adldap", "options": {"domain": "corp.example.com"}});
    assert_eq!(
        classify(&adldap),
        ConnectionClass::Unsupported { enterprise: true }
    );
    let out = run(&[adldap], &[], false);
    assert_eq!(codes(&out), ["unsupported_connection_protocol"]);
    assert_eq!(
        out.warnings[0].get("details").unwrap()["reason"],
        "Auth0 enterprise strategy did not expose enough SAML or OIDC handoff configuration."
    );
    assert_eq!(out.warnings[0].get("connection_name").unwrap(), "corp-ad");
}

#[test]
fn incomplete_saml_is_skipped_with_missing_fields() {
    let conn = json!({
        "id": "con_incomplete", "name": "incomplete-saml", "strategy": "samlp",
        "options": {"signInEndpoint": "https://idp.example.com/sso"}
    });
    let out = run(&[conn], &[], false);
    assert!(out.saml.is_empty() && out.proxy_routes.is_empty());
    assert_eq!(
        warning_lines(&out),
        [
            r#"{"code":"incomplete_connection_configuration","message":"auth0 saml connection incomplete-saml was skipped because required handoff configuration was not available.","connection_name":"incomplete-saml","protocol":"saml","details":{"strategy":"samlp","missingFields":["idpEntityId","x509Cert"],"reason":"SAML handoff requires IdP metadata URL or the entity ID, SSO URL, and signing certificate."}}"#
        ]
    );
    // A metadata URL alone is enough.
    let conn = json!({"id": "c", "name": "m", "strategy": "samlp", "options": {"metadataUrl": "https://m"}});
    let out = run(&[conn], &[], false);
    assert_eq!(out.saml[0].idp_metadata_url, "https://m");
    assert_eq!(codes(&out), ["missing_domains"]);
}

#[test]
fn multi_org_connections_are_consolidated() {
    let conn = json!({
        "id": "con_shared", "name": "shared-saml", "strategy": "samlp",
        "options": {"entityId": "https://idp.example.com/entity", "signInEndpoint": "https://idp.example.com/sso", "signingCert": "CERTDATA"}
    });
    let other = org(
        "org_other",
        "other",
        Some("Other"),
        json!({"domains": ["other.com", "acme.com"]}),
    );
    let out = run(
        std::slice::from_ref(&conn),
        &bound(&conn, vec![acme(), other]),
        false,
    );
    let row = &out.saml[0];
    assert_eq!(row.organization_name, "shared-saml");
    assert_eq!(row.organization_external_id, "con_shared");
    assert_eq!(row.domains, "acme.com,other.com");
    assert_eq!(
        warning_lines(&out),
        [
            r#"{"code":"multi_org_connection_consolidated","message":"auth0 saml connection shared-saml is attached to multiple source organizations and was consolidated into one WorkOS handoff row. Customer confirmation is required before activation.","org_id":"con_shared","connection_name":"shared-saml","protocol":"saml","details":{"sourceOrganizationIds":["org_acme","org_other"],"domains":["acme.com","other.com"]}}"#
        ]
    );
}

#[test]
fn missing_domains_precedes_secret_warnings() {
    let conn = json!({
        "id": "con_x", "name": "x", "strategy": "samlp",
        "options": {"metadataUrl": "https://m", "assertion_encryption_key": "K", "nameIdEncryptionKey": " "}
    });
    let bare = org("org_b", "b", None, json!({}));
    let out = run(
        std::slice::from_ref(&conn),
        &bound(&conn, vec![bare.clone(), bare]),
        false,
    );
    assert_eq!(
        codes(&out),
        [
            "multi_org_connection_consolidated",
            "missing_domains",
            "secrets_redacted"
        ]
    );
    assert_eq!(
        out.warnings[2].get("details").unwrap()["fields"],
        json!(["assertion_encryption_key"])
    );
    assert_eq!(
        out.warnings[1].get("details").unwrap(),
        &json!({"organizationName": "x"})
    );
    assert_eq!(out.saml[0].assertion_encryption_key, "");
    let out = run(std::slice::from_ref(&conn), &[], true);
    assert_eq!(out.saml[0].assertion_encryption_key, "K");
    assert_eq!(codes(&out), ["missing_domains"]);
}

#[test]
fn include_secrets_keeps_oidc_connections_without_a_secret() {
    // §17.12: exported with an empty secret and a warning, not skipped.
    let conn = json!({
        "id": "con_o", "name": "no-secret", "strategy": "oidc",
        "options": {"client_id": "cid", "discoveryUrl": "https://i/.well-known/openid-configuration"}
    });
    let acme_binding = bound(&conn, vec![acme()]);
    let out = run(std::slice::from_ref(&conn), &acme_binding, true);
    assert_eq!(out.oidc.len(), 1);
    assert_eq!(out.oidc[0].client_secret, "");
    assert_eq!(out.proxy_routes.len(), 1);
    let lines = warning_lines(&out);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with(r#"{"code":"incomplete_connection_configuration","message":"auth0 oidc connection no-secret was exported but needs attention before activation: "#));
    assert!(lines[0].contains(r#""org_id":"org_acme","connection_name":"no-secret","protocol":"oidc","details":{"strategy":"oidc","missingFields":["clientSecret"]"#));
    // Without --include-secrets nothing is said (nothing was withheld).
    let out = run(&[conn], &acme_binding, false);
    assert_eq!(out.oidc.len(), 1);
    assert!(out.warnings.is_empty());
}

#[test]
fn okta_idp_host_is_not_an_email_domain() {
    // §17.14: unbound Okta OIDC connection.
    let conn = json!({
        "id": "con_o", "name": "okta-oidc", "strategy": "okta",
        "options": {"client_id": "cid", "domain": "acme.okta.com", "domain_aliases": ["Acme.com", "acme.io"]}
    });
    let out = run(&[conn], &[], false);
    assert_eq!(out.oidc[0].domains, "acme.com,acme.io");
    assert_eq!(out.oidc[0].organization_external_id, "con_o");
    // A custom Okta domain is recognised through the discovery endpoint.
    let conn = json!({
        "id": "con_c", "name": "custom", "strategy": "okta",
        "options": {"client_id": "cid", "domain": "login.acme.com"}
    });
    let out = run(&[conn], &[], false);
    assert_eq!(
        out.oidc[0].discovery_endpoint,
        "https://login.acme.com/.well-known/openid-configuration"
    );
    assert_eq!(out.oidc[0].domains, "");
    assert_eq!(codes(&out), ["missing_domains"]);
    // Google Workspace's options.domain is the e-mail domain: kept.
    let conn = json!({
        "id": "con_g", "name": "g", "strategy": "google-apps",
        "options": {"client_id": "cid", "domain": "Acme.com"}
    });
    assert_eq!(run(&[conn], &[], false).oidc[0].domains, "acme.com");
}

#[test]
fn idp_initiated_values() {
    let base = |v: Value| {
        json!({"id": "c", "name": "n", "strategy": "samlp",
               "options": {"metadataUrl": "https://m", "idpinitiated": v, "idpInitiated": true}})
    };
    let cell = |v: Value| {
        run(&[base(v)], &[], false).saml[0]
            .idp_initiated_enabled
            .clone()
    };
    assert_eq!(cell(json!(true)), "TRUE");
    assert_eq!(cell(json!(false)), "FALSE");
    assert_eq!(cell(json!(" yes ")), "yes");
    assert_eq!(cell(json!({"enabled": true})), "");
    // The first key present decides, even when null.
    assert_eq!(cell(Value::Null), "");
}

#[test]
fn attribute_mappings_merge_and_fall_back_to_the_top_level() {
    let conn = json!({
        "id": "c", "name": "n", "strategy": "samlp",
        "options": {
            "metadataUrl": "https://m",
            "fieldsMap": {"b": "one", "Zed": "z", "groups": ["g1", "g2"], "sub": "s"},
            "mapping": null
        },
        "mapping": {"b": "two", "_x": "u", "a1": "d", "É": "e", "e": "e2"},
        "attributes": {"dept": "department"}
    });
    let out = run(&[conn], &[], false);
    let attrs: Vec<(&str, &str)> = out
        .custom_attributes
        .iter()
        .map(|r| (r.user_pool_attribute.as_str(), r.idp_claim.as_str()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("_x", "u"),
            ("a1", "d"),
            ("b", "two"),
            ("dept", "department"),
            ("e", "e2"),
            ("É", "e"),
            ("Zed", "z"),
        ]
    );
    assert_eq!(out.saml[0].idp_id_attribute, "s");
}

#[test]
fn callback_urls_encode_the_connection_name() {
    let conn = json!({"id": "c", "name": "a b/é", "strategy": "oidc",
                      "options": {"client_id": "x", "issuer": "https://i"}});
    let out = run(&[conn], &[], false);
    assert_eq!(
        out.proxy_routes[0].source_redirect_uri,
        "https://tenant.auth0.com/login/callback?connection=a%20b%2F%C3%A9"
    );
    assert_eq!(out.proxy_routes[0].protocol, "oidc");
    assert_eq!(out.proxy_routes[0].cutover_state, "legacy");
}

#[test]
fn locale_order() {
    let mut v = vec!["b", "B", "a", "_z", "2", "é", "f", "A"];
    v.sort_by(|a, b| locale_compare(a, b));
    assert_eq!(v, ["_z", "2", "a", "A", "b", "B", "é", "f"]);
}

// --- Appendix B ------------------------------------------------------------

fn appendix_b_connections() -> Vec<Value> {
    let metadata = concat!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:e">"#,
        r#"<md:IDPSSODescriptor><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">"#,
        "<ds:X509Data><ds:X509Certificate>\n  AB CD\n</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
        r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://post"/>"#,
        "</md:IDPSSODescriptor></md:EntityDescriptor>"
    );
    vec![
        json!({
            "id": "con_s", "name": "okta", "display_name": "Okta SSO", "strategy": "samlp",
            "options": {
                "metadataXml": metadata,
                "idpinitiated": {"enabled": true},
                "requestSigningKey": "-----BEGIN PRIVATE KEY-----\nsecret",
                "fieldsMap": {"email": "mail", "user_id": "uid", "name": "cn", "zeta": "z", "alpha": "a"},
                "callbackUrl": "https://cb",
                "audience": "urn:aud"
            }
        }),
        json!({
            "id": "con_o", "name": "okta-oidc", "strategy": "okta",
            "options": {"client_id": "cid", "clientSecret": "osecret", "domain": "acme.okta.com", "domain_aliases": ["acme.com"]}
        }),
        json!({"id": "con_g", "name": "gapps", "strategy": "google-apps", "options": {"client_id": "gid"}}),
        json!({"id": "con_w", "name": "waad", "strategy": "waad", "options": {"client_id": "wid", "tenant_domain": "contoso.com"}}),
        json!({"id": "con_a", "name": "adfs1", "strategy": "adfs", "options": {"adfs_server": "https://adfs.example.com"}}),
        json!({"id": "con_gh", "name": "github", "strategy": "github", "options": {"client_id": "ghid", "client_secret": "ghsecret"}}),
    ]
}

fn appendix_b_orgs() -> (Auth0Org, Auth0Org) {
    (
        org(
            "org_acme",
            "acme",
            Some("Acme, Inc"),
            json!({"domains": "acme.com; Login.acme.com", "tier": "gold"}),
        ),
        org("org_two", "two", None, json!({"domain": "two.com"})),
    )
}

#[test]
fn appendix_b_worked_example() {
    let conns = appendix_b_connections();
    let (acme, two) = appendix_b_orgs();
    let bindings = vec![
        ("con_s".to_string(), vec![acme.clone(), two]),
        ("con_o".to_string(), vec![acme]),
    ];
    let out = map_connections(&Auth0SsoInput {
        domain_host: "t.auth0.com",
        connections: &conns,
        bindings: &bindings,
        include_secrets: false,
    });

    assert_eq!(
        csv(SAML_CONNECTIONS_HEADER, out.saml.iter().map(|r| r.fields().to_vec()).collect()),
        "name,organizationName,organizationId,organizationExternalId,domains,idpEntityId,idpUrl,x509Cert,idpMetadataUrl,customEntityId,customAcsUrl,idpIdAttribute,emailAttribute,firstNameAttribute,lastNameAttribute,nameAttribute,idpInitiatedEnabled,requestSigningKey,assertionEncryptionKey,nameIdEncryptionKey,externalId\n\
okta,Okta SSO,,con_s,\"acme.com,login.acme.com,two.com\",urn:e,https://post,ABCD,,urn:aud,https://cb,uid,mail,,,cn,,,,,okta\n"
    );
    assert_eq!(
        csv(OIDC_CONNECTIONS_HEADER, out.oidc.iter().map(|r| r.fields().to_vec()).collect()),
        "name,organizationName,organizationId,organizationExternalId,domains,clientId,clientSecret,discoveryEndpoint,customRedirectUri,externalId\n\
okta-oidc,\"Acme, Inc\",,org_acme,\"acme.com,login.acme.com\",cid,,https://acme.okta.com/.well-known/openid-configuration,,okta-oidc\n\
gapps,gapps,,con_g,,gid,,https://accounts.google.com/.well-known/openid-configuration,,gapps\n\
waad,waad,,con_w,,wid,,https://login.microsoftonline.com/contoso.com/v2.0/.well-known/openid-configuration,,waad\n"
    );
    assert_eq!(
        csv(
            CUSTOM_ATTRIBUTE_MAPPINGS_HEADER,
            out.custom_attributes
                .iter()
                .map(|r| r.fields().to_vec())
                .collect()
        ),
        "externalId,organizationExternalId,providerType,userPoolAttribute,idpClaim\n\
okta,con_s,SAML,alpha,a\n\
okta,con_s,SAML,zeta,z\n"
    );
    assert_eq!(
        csv(PROXY_ROUTES_HEADER, out.proxy_routes.iter().map(|r| r.fields().to_vec()).collect()),
        "externalId,organizationExternalId,provider,protocol,sourceAcsUrl,sourceEntityId,sourceRedirectUri,customAcsUrl,customEntityId,customRedirectUri,workosConnectionId,workosAcsUrl,cutoverState,notes\n\
okta,con_s,auth0,saml,https://cb,urn:aud,,https://cb,urn:aud,,,,legacy,Existing Auth0 SAML ACS route should be proxied until the IdP is updated to WorkOS.\n\
okta-oidc,org_acme,auth0,oidc,,,https://t.auth0.com/login/callback?connection=okta-oidc,,,,,,legacy,Existing Auth0 OIDC redirect route should be proxied until the IdP is updated to WorkOS.\n\
gapps,con_g,auth0,oidc,,,https://t.auth0.com/login/callback?connection=gapps,,,,,,legacy,Existing Auth0 OIDC redirect route should be proxied until the IdP is updated to WorkOS.\n\
waad,con_w,auth0,oidc,,,https://t.auth0.com/login/callback?connection=waad,,,,,,legacy,Existing Auth0 OIDC redirect route should be proxied until the IdP is updated to WorkOS.\n"
    );
    assert_eq!(
        warning_lines(&out),
        [
            r#"{"code":"multi_org_connection_consolidated","message":"auth0 saml connection okta is attached to multiple source organizations and was consolidated into one WorkOS handoff row. Customer confirmation is required before activation.","org_id":"con_s","connection_name":"okta","protocol":"saml","details":{"sourceOrganizationIds":["org_acme","org_two"],"domains":["acme.com","login.acme.com","two.com"]}}"#,
            r#"{"code":"secrets_redacted","message":"Secret fields were redacted from auth0 SSO export output.","connection_name":"okta","protocol":"saml","details":{"file":"sso/saml_connections.csv","fields":["requestSigningKey"]}}"#,
            r#"{"code":"secrets_redacted","message":"Secret fields were redacted from auth0 SSO export output.","connection_name":"okta-oidc","protocol":"oidc","details":{"file":"sso/oidc_connections.csv","fields":["clientSecret"]}}"#,
            r#"{"code":"missing_domains","message":"No domains were exported for auth0 oidc connection gapps. Populate domains before WorkOS handoff when domain capture is required.","org_id":"con_g","connection_name":"gapps","protocol":"oidc","details":{"organizationName":"gapps"}}"#,
            r#"{"code":"missing_domains","message":"No domains were exported for auth0 oidc connection waad. Populate domains before WorkOS handoff when domain capture is required.","org_id":"con_w","connection_name":"waad","protocol":"oidc","details":{"organizationName":"waad"}}"#,
            r#"{"code":"unsupported_connection_protocol","message":"auth0 adfs connection adfs1 was skipped because it is outside the WorkOS SSO handoff scope.","connection_name":"adfs1","protocol":"adfs","details":{"strategy":"adfs","reason":"Auth0 enterprise strategy did not expose enough SAML or OIDC handoff configuration."}}"#,
            r#"{"code":"unsupported_connection_protocol","message":"auth0 github connection github was skipped because it is outside the WorkOS SSO handoff scope.","connection_name":"github","protocol":"github","details":{"strategy":"github","reason":"Only Auth0 enterprise connections with SAML or OIDC configuration are supported for WorkOS SSO handoff."}}"#,
        ]
    );
    // Every warning carries a timestamp first.
    for w in &out.warnings {
        let v = w.clone().into_value();
        assert_eq!(v.as_object().unwrap().keys().next().unwrap(), "timestamp");
    }
    // raw: all six candidates, redacted, original key order.
    assert_eq!(out.raw.len(), 6);
    let raw: Vec<String> = out
        .raw
        .iter()
        .map(|v| serde_json::to_string(v).unwrap())
        .collect();
    assert!(raw[0].starts_with(r#"{"id":"con_s","name":"okta","display_name":"Okta SSO","strategy":"samlp","options":{"metadataXml":"#));
    assert!(raw[0].contains(r#""requestSigningKey":"[REDACTED]""#));
    assert!(raw[1].contains(r#""clientSecret":"[REDACTED]""#));
    assert!(raw[5].contains(r#""client_secret":"[REDACTED]""#));
    assert!(!raw.concat().contains("osecret"));
    assert!(!raw.concat().contains("BEGIN PRIVATE KEY"));
    assert!(!raw.concat().contains("ghsecret"));
}

#[test]
fn hydration_of_the_appendix_b_connections() {
    // Listed without options: samlp/oidc would be re-fetched; the other
    // enterprise strategies classify as unsupported and are not.
    for (strategy, want) in [
        ("samlp", true),
        ("oidc", true),
        ("okta", false),
        ("waad", false),
        ("github", false),
    ] {
        assert_eq!(
            needs_hydration(&json!({"id": "c", "strategy": strategy})),
            want,
            "{strategy}"
        );
    }
    for conn in appendix_b_connections() {
        assert!(!needs_hydration(&conn));
    }
}
