//! Tests of the Cognito SSO hand-off: the original's `workos-csv.test.ts`
//! and `package-exporter.test.ts` SSO cases (§15, fixtures of §16) and the
//! §17 fixes (redaction, domains, organization links, templates).

use std::collections::BTreeMap;

use serde_json::Value;

use super::*;
use crate::package::validator::{validate_package, ValidateOptions};
use crate::package::PackageOptions;

const POOL: &str = "us-east-1_AAAPOOL";
const SECRET: &str = "v3.8Q-fake-secret-for-testing";

const OKTA_METADATA: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://www.okta.com/exkabcde1234">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data>
          <ds:X509Certificate>MIIDpDCCAoygAwIBAg
            IGAYexample
            CERTDATA==</ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://acme.okta.com/app/exkabcde1234/sso/saml/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://acme.okta.com/app/exkabcde1234/sso/saml"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn provider(
    name: &str,
    kind: &str,
    details: &[(&str, &str)],
    mapping: &[(&str, &str)],
) -> CognitoProvider {
    CognitoProvider {
        user_pool_id: POOL.into(),
        provider_name: name.into(),
        provider_type: kind.into(),
        provider_details: map(details),
        attribute_mapping: map(mapping),
        idp_identifiers: Vec::new(),
    }
}

fn okta_saml() -> CognitoProvider {
    provider(
        "okta-saml",
        "SAML",
        &[("MetadataFile", OKTA_METADATA), ("IDPSignout", "false")],
        &[
            (
                "email",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
            ),
            ("given_name", "firstName"),
            ("family_name", "lastName"),
        ],
    )
}

fn azure_saml_url() -> CognitoProvider {
    provider(
        "azure-saml-url",
        "SAML",
        &[
            (
                "MetadataURL",
                "https://login.microsoftonline.com/tenant-id/federationmetadata/2007-06/federationmetadata.xml",
            ),
            ("EntityId", "https://sts.windows.net/tenant-id/"),
            (
                "SSORedirectBindingURI",
                "https://login.microsoftonline.com/tenant-id/saml2",
            ),
        ],
        &[("email", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress")],
    )
}

fn name_only_saml() -> CognitoProvider {
    provider(
        "customer-tenant-01",
        "SAML",
        &[("MetadataFile", OKTA_METADATA)],
        &[
            ("email", "email"),
            ("name", "fullName"),
            ("custom:department", "department"),
            ("custom:location", "location"),
            ("custom:title", "jobTitle"),
            ("custom:user_status", "userStatus"),
            ("custom:user_type", "userType"),
            ("custom:cost_center", "costCenter"),
            ("custom:empty", ""),
        ],
    )
}

fn azure_oidc() -> CognitoProvider {
    provider(
        "azure-oidc",
        "OIDC",
        &[
            ("client_id", "5dc7420f-0000-4000-8000-000000000000"),
            ("client_secret", SECRET),
            (
                "oidc_issuer",
                "https://login.microsoftonline.com/a74900dd-0000/v2.0",
            ),
            ("authorize_scopes", "openid email profile"),
            ("attributes_request_method", "GET"),
        ],
        &[
            ("email", "email"),
            ("given_name", "given_name"),
            ("family_name", "family_name"),
        ],
    )
}

fn google() -> CognitoProvider {
    provider(
        "Google",
        "Google",
        &[
            ("client_id", "123.apps.googleusercontent.com"),
            ("client_secret", "google-secret-value"),
            ("authorize_scopes", "profile email openid"),
        ],
        &[("email", "email")],
    )
}

fn options() -> CognitoSsoOptions {
    CognitoSsoOptions {
        region: "us-east-1".into(),
        saml_custom_acs_url_template: Some("https://sso.example.com/{provider_name}/acs".into()),
        saml_custom_entity_id_template: None,
        oidc_custom_redirect_uri_template: Some(
            "https://sso.example.com/{provider_name}/oidc-callback".into(),
        ),
        include_secrets: false,
    }
}

/// The pool's organization, as `--org-strategy user-pool` exports it.
fn pool_org(p: &CognitoProvider) -> Option<CognitoOrgRef> {
    Some(CognitoOrgRef {
        external_id: p.user_pool_id.clone(),
        name: p.user_pool_id.clone(),
    })
}

fn no_org(_: &CognitoProvider) -> Option<CognitoOrgRef> {
    None
}

fn codes(out: &CognitoSsoOutput) -> Vec<String> {
    out.warnings
        .iter()
        .map(|w| w.get("code").unwrap().as_str().unwrap().to_string())
        .collect()
}

fn message(w: &crate::package::jsonl::JsonlRecord) -> String {
    w.get("message").unwrap().as_str().unwrap().to_string()
}

#[test]
fn saml_from_metadata_xml() {
    let out = map_providers(&[okta_saml()], pool_org, &options());
    assert_eq!(out.saml.len(), 1);
    let r = &out.saml[0];
    assert_eq!(r.name, "okta-saml");
    assert_eq!(r.organization_name, POOL);
    assert_eq!(r.organization_external_id, POOL);
    assert_eq!(r.organization_id, "");
    assert_eq!(r.idp_entity_id, "http://www.okta.com/exkabcde1234");
    assert_eq!(r.idp_url, "https://acme.okta.com/app/exkabcde1234/sso/saml");
    assert_eq!(r.x509_cert, "MIIDpDCCAoygAwIBAgIGAYexampleCERTDATA==");
    assert_eq!(r.idp_metadata_url, "");
    assert_eq!(
        r.custom_entity_id,
        "urn:amazon:cognito:sp:us-east-1_AAAPOOL"
    );
    assert_eq!(r.custom_acs_url, "https://sso.example.com/okta-saml/acs");
    assert_eq!(
        r.email_attribute,
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
    );
    assert_eq!(r.first_name_attribute, "firstName");
    assert_eq!(r.last_name_attribute, "lastName");
    assert_eq!(r.name_attribute, "");
    assert_eq!(r.idp_id_attribute, "");
    assert_eq!(r.idp_initiated_enabled, "TRUE");
    assert_eq!(r.external_id, "us-east-1_AAAPOOL:okta-saml");
    assert!(out.custom_attributes.is_empty());
    // No identifiers → no domains, and the operator is told.
    assert_eq!(r.domains, "");
    assert_eq!(codes(&out), ["missing_domains"]);
    let w = out.warnings[0].clone().into_value();
    let keys: Vec<&String> = w.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "timestamp",
            "code",
            "message",
            "provider_name",
            "user_pool_id"
        ]
    );
    assert_eq!(w["provider_name"], "okta-saml");
    assert_eq!(w["user_pool_id"], POOL);
    assert_eq!(
        w["message"],
        "No domains were exported for cognito saml connection us-east-1_AAAPOOL:okta-saml. Populate domains before WorkOS handoff when domain capture is required."
    );
}

#[test]
fn saml_from_metadata_url_uses_the_detail_fallbacks() {
    let out = map_providers(&[azure_saml_url()], pool_org, &options());
    let r = &out.saml[0];
    assert_eq!(r.idp_entity_id, "https://sts.windows.net/tenant-id/");
    assert_eq!(
        r.idp_url,
        "https://login.microsoftonline.com/tenant-id/saml2"
    );
    assert_eq!(r.x509_cert, "");
    assert_eq!(
        r.idp_metadata_url,
        "https://login.microsoftonline.com/tenant-id/federationmetadata/2007-06/federationmetadata.xml"
    );
    // A bare provider: blanks, but still a row (no completeness check).
    let bare = provider("bare-saml", "saml", &[], &[("email", "emailAddress")]);
    let out = map_providers(&[bare], no_org, &CognitoSsoOptions::default());
    let r = &out.saml[0];
    assert_eq!(
        (
            r.idp_entity_id.as_str(),
            r.idp_url.as_str(),
            r.x509_cert.as_str()
        ),
        ("", "", "")
    );
    assert_eq!(r.email_attribute, "emailAddress");
    assert_eq!(r.custom_acs_url, "");
    assert_eq!(
        r.custom_entity_id,
        "urn:amazon:cognito:sp:us-east-1_AAAPOOL"
    );
    // No organization: the original's provider-name columns.
    assert_eq!(r.organization_name, "bare-saml");
    assert_eq!(r.organization_external_id, "bare-saml");
}

#[test]
fn unreadable_metadata_falls_back_and_idp_init_false_is_kept() {
    let p = provider(
        "broken",
        "SAML",
        &[
            ("MetadataFile", "<not-valid-xml>"),
            ("EntityId", "urn:idp"),
            ("SSORedirectBindingURI", "https://idp/sso"),
            ("IDPInit", "false"),
        ],
        &[],
    );
    let out = map_providers(&[p], pool_org, &options());
    assert_eq!(out.saml[0].idp_entity_id, "urn:idp");
    assert_eq!(out.saml[0].idp_url, "https://idp/sso");
    assert_eq!(out.saml[0].idp_initiated_enabled, "FALSE");
}

#[test]
fn oidc_secret_is_redacted_by_default() {
    let out = map_providers(&[azure_oidc()], pool_org, &options());
    let r = &out.oidc[0];
    assert_eq!(r.name, "azure-oidc");
    assert_eq!(r.client_id, "5dc7420f-0000-4000-8000-000000000000");
    assert_eq!(r.client_secret, "");
    assert_eq!(
        r.discovery_endpoint,
        "https://login.microsoftonline.com/a74900dd-0000/v2.0/.well-known/openid-configuration"
    );
    assert_eq!(
        r.custom_redirect_uri,
        "https://sso.example.com/azure-oidc/oidc-callback"
    );
    assert_eq!(r.external_id, "us-east-1_AAAPOOL:azure-oidc");
    assert_eq!(r.organization_external_id, POOL);
    assert_eq!(codes(&out), ["missing_domains", "secrets_redacted"]);
    assert_eq!(
        message(&out.warnings[1]),
        "Connection us-east-1_AAAPOOL:azure-oidc contained secret material (client_secret); it was left out of raw/cognito-providers.jsonl and sso/oidc_connections.csv. Re-run with --include-secrets only if the output directory can safely store secrets."
    );
    // The raw record keeps every key, the secret replaced.
    let raw = &out.raw[0];
    assert_eq!(raw["providerDetails"]["client_secret"], "[REDACTED]");
    assert_eq!(
        raw["providerDetails"]["client_id"],
        "5dc7420f-0000-4000-8000-000000000000"
    );
    let keys: Vec<&String> = raw.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "userPoolId",
            "providerName",
            "providerType",
            "region",
            "providerDetails",
            "attributeMapping",
            "idpIdentifiers"
        ]
    );
    assert_eq!(raw["region"], "us-east-1");
    // The secret appears nowhere.
    let everything = format!(
        "{:?}{:?}{:?}{}",
        out.oidc,
        out.proxy_routes,
        out.warnings,
        serde_json::to_string(&out.raw).unwrap()
    );
    assert!(!everything.contains(SECRET));
    let red = out.secret_redaction();
    assert_eq!((red.mode.as_str(), red.redacted), ("redacted", true));
    assert_eq!(red.redacted_fields.unwrap(), ["client_secret"]);
    assert_eq!(
        red.files.unwrap(),
        ["raw/cognito-providers.jsonl", "sso/oidc_connections.csv"]
    );
}

#[test]
fn oidc_secret_is_kept_with_include_secrets() {
    let mut o = options();
    o.include_secrets = true;
    let out = map_providers(&[azure_oidc()], pool_org, &o);
    assert_eq!(out.oidc[0].client_secret, SECRET);
    assert_eq!(out.raw[0]["providerDetails"]["client_secret"], SECRET);
    assert_eq!(codes(&out), ["missing_domains"]);
    let inc = out.secret_redaction();
    assert_eq!((inc.mode.as_str(), inc.redacted), ("included", false));
    assert_eq!(
        inc.files.unwrap(),
        ["raw/cognito-providers.jsonl", "sso/oidc_connections.csv"]
    );
    assert!(inc.redacted_fields.is_none());
}

#[test]
fn discovery_endpoints_are_normalised() {
    for (issuer, want) in [
        (
            "https://accounts.google.com",
            "https://accounts.google.com/.well-known/openid-configuration",
        ),
        (
            "https://idp.example.com/.well-known/openid-configuration",
            "https://idp.example.com/.well-known/openid-configuration",
        ),
        ("", ""),
    ] {
        let p = provider("o", "OIDC", &[("oidc_issuer", issuer)], &[]);
        let out = map_providers(&[p], no_org, &options());
        assert_eq!(out.oidc[0].discovery_endpoint, want);
    }
}

#[test]
fn google_is_unsupported_and_its_secret_stays_out_of_raw() {
    let out = map_providers(&[google()], pool_org, &options());
    assert!(out.saml.is_empty() && out.oidc.is_empty());
    assert!(out.proxy_routes.is_empty() && out.custom_attributes.is_empty());
    assert_eq!(
        codes(&out),
        ["unsupported_connection_protocol", "secrets_redacted"]
    );
    assert_eq!(
        message(&out.warnings[0]),
        "Cognito identity provider Google (Google) is not SAML/OIDC; skipped."
    );
    assert_eq!(out.warnings[0].get("provider_name").unwrap(), "Google");
    assert!(message(&out.warnings[1]).contains("left out of raw/cognito-providers.jsonl."));
    assert_eq!(out.raw.len(), 1);
    assert_eq!(out.raw[0]["providerType"], "Google");
    assert_eq!(out.raw[0]["providerDetails"]["client_secret"], "[REDACTED]");
    // Apple's private key is secret too.
    let apple = provider(
        "SignInWithApple",
        "SignInWithApple",
        &[
            ("private_key", "-----BEGIN PRIVATE KEY-----x"),
            ("team_id", "T"),
        ],
        &[],
    );
    let out = map_providers(&[apple], pool_org, &options());
    assert_eq!(out.raw[0]["providerDetails"]["private_key"], "[REDACTED]");
    assert_eq!(out.raw[0]["providerDetails"]["team_id"], "T");
    assert_eq!(out.secrets.withheld_fields, ["private_key"]);
}

#[test]
fn templates_render_every_placeholder_once() {
    let p = provider("okta", "SAML", &[], &[]);
    let r = |t: &str| render_template(t, &p, "eu-west-1");
    assert_eq!(
        r("https://{region}.example.com/{user_pool_id}/{provider_name}"),
        "https://eu-west-1.example.com/us-east-1_AAAPOOL/okta"
    );
    assert_eq!(r("{provider_name}-{provider_name}"), "okta-okta");
    assert_eq!(r("{unknown}/{provider_name"), "{unknown}/{provider_name");
    assert_eq!(r("{{region}}"), "{eu-west-1}");
    assert_eq!(r(""), "");
    // Values are literal and not scanned again.
    let odd = provider("$&{region}", "SAML", &[], &[]);
    assert_eq!(render_template("{provider_name}", &odd, "r"), "$&{region}");
    // Entity id: absent → default; empty → empty.
    let mut o = options();
    assert_eq!(
        RenderedTemplates::of(&p, &o).saml_custom_entity_id,
        "urn:amazon:cognito:sp:us-east-1_AAAPOOL"
    );
    o.saml_custom_entity_id_template = Some(String::new());
    assert_eq!(RenderedTemplates::of(&p, &o).saml_custom_entity_id, "");
    o.saml_custom_acs_url_template = None;
    o.oidc_custom_redirect_uri_template = None;
    let t = RenderedTemplates::of(&p, &o);
    assert_eq!(
        (
            t.saml_custom_acs_url.as_str(),
            t.oidc_custom_redirect_uri.as_str()
        ),
        ("", "")
    );
}

#[test]
fn custom_attribute_rows_list_name_and_every_custom_mapping() {
    let out = map_providers(&[name_only_saml()], pool_org, &options());
    let rows: Vec<(&str, &str)> = out
        .custom_attributes
        .iter()
        .map(|r| (r.user_pool_attribute.as_str(), r.idp_claim.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("custom:cost_center", "costCenter"),
            ("custom:department", "department"),
            ("custom:location", "location"),
            ("custom:title", "jobTitle"),
            ("custom:user_status", "userStatus"),
            ("custom:user_type", "userType"),
            ("name", "fullName"),
        ]
    );
    for r in &out.custom_attributes {
        assert_eq!(r.provider_type, "SAML");
        assert_eq!(r.external_id, "us-east-1_AAAPOOL:customer-tenant-01");
        assert_eq!(r.organization_external_id, POOL);
    }
    assert_eq!(out.saml[0].name_attribute, "fullName");
    assert_eq!(out.saml[0].first_name_attribute, "");
    assert!(rows::is_name_only_saml(&name_only_saml()));
    assert!(!rows::is_name_only_saml(&okta_saml()));
    // Without an organization the original's provider name is the org id.
    let out = map_providers(&[name_only_saml()], no_org, &options());
    assert_eq!(
        out.custom_attributes[0].organization_external_id,
        "customer-tenant-01"
    );
}

#[test]
fn proxy_routes_per_protocol() {
    let out = map_providers(&[azure_saml_url(), azure_oidc()], pool_org, &options());
    assert_eq!(out.proxy_routes.len(), 2);
    let s = &out.proxy_routes[0];
    assert_eq!(s.external_id, "us-east-1_AAAPOOL:azure-saml-url");
    assert_eq!(s.organization_external_id, POOL);
    assert_eq!(
        (s.provider.as_str(), s.protocol.as_str()),
        ("cognito", "saml")
    );
    assert_eq!(s.source_acs_url, "");
    assert_eq!(s.source_entity_id, "https://sts.windows.net/tenant-id/");
    assert_eq!(
        s.source_redirect_uri,
        "https://login.microsoftonline.com/tenant-id/saml2"
    );
    assert_eq!(
        s.custom_acs_url,
        "https://sso.example.com/azure-saml-url/acs"
    );
    assert_eq!(
        s.custom_entity_id,
        "urn:amazon:cognito:sp:us-east-1_AAAPOOL"
    );
    assert_eq!(s.custom_redirect_uri, "");
    assert_eq!((s.cutover_state.as_str(), s.notes.as_str()), ("legacy", ""));
    let o = &out.proxy_routes[1];
    assert_eq!(o.protocol, "oidc");
    assert_eq!(
        o.custom_redirect_uri,
        "https://sso.example.com/azure-oidc/oidc-callback"
    );
    assert_eq!(
        (o.source_entity_id.as_str(), o.custom_acs_url.as_str()),
        ("", "")
    );
    assert_eq!(
        (o.workos_connection_id.as_str(), o.workos_acs_url.as_str()),
        ("", "")
    );
}

#[test]
fn domains_come_from_idp_identifiers() {
    let mut saml = okta_saml();
    saml.idp_identifiers = ["Acme.com", "acme-okta", "login.acme.com", "acme.com"]
        .map(String::from)
        .to_vec();
    let mut oidc = azure_oidc();
    oidc.idp_identifiers = vec!["@Example.org".into()];
    let out = map_providers(&[saml, oidc], pool_org, &options());
    assert_eq!(out.saml[0].domains, "acme.com;login.acme.com");
    assert_eq!(out.oidc[0].domains, "example.org");
    assert!(!codes(&out).contains(&"missing_domains".to_string()));
    assert_eq!(
        out.raw[0]["idpIdentifiers"],
        serde_json::json!(["Acme.com", "acme-okta", "login.acme.com", "acme.com"])
    );
}

#[test]
fn connection_strategy_orgs_link_rows() {
    let conn_org = |p: &CognitoProvider| {
        Some(CognitoOrgRef {
            external_id: format!("{}:{}", p.user_pool_id, p.provider_name),
            name: p.provider_name.clone(),
        })
    };
    let out = map_providers(&[okta_saml(), azure_oidc()], conn_org, &options());
    assert_eq!(
        out.saml[0].organization_external_id,
        "us-east-1_AAAPOOL:okta-saml"
    );
    assert_eq!(out.saml[0].organization_name, "okta-saml");
    assert_eq!(
        out.oidc[0].organization_external_id,
        "us-east-1_AAAPOOL:azure-oidc"
    );
    assert_eq!(
        out.proxy_routes[1].organization_external_id,
        "us-east-1_AAAPOOL:azure-oidc"
    );
}

#[test]
fn output_keeps_fetch_order() {
    let mut second_pool = okta_saml();
    second_pool.user_pool_id = "us-east-1_BBBPOOL".into();
    let providers = [
        azure_oidc(),
        google(),
        okta_saml(),
        name_only_saml(),
        second_pool,
    ];
    let out = map_providers(&providers, pool_org, &options());
    let names = |v: &[String]| v.to_vec();
    assert_eq!(
        names(
            &out.saml
                .iter()
                .map(|r| r.external_id.clone())
                .collect::<Vec<_>>()
        ),
        [
            "us-east-1_AAAPOOL:okta-saml",
            "us-east-1_AAAPOOL:customer-tenant-01",
            "us-east-1_BBBPOOL:okta-saml"
        ]
    );
    assert_eq!(out.saml[2].organization_external_id, "us-east-1_BBBPOOL");
    let raw: Vec<&str> = out
        .raw
        .iter()
        .map(|r| r["providerName"].as_str().unwrap())
        .collect();
    assert_eq!(
        raw,
        [
            "azure-oidc",
            "Google",
            "okta-saml",
            "customer-tenant-01",
            "okta-saml"
        ]
    );
    let routes: Vec<&str> = out
        .proxy_routes
        .iter()
        .map(|r| r.protocol.as_str())
        .collect();
    assert_eq!(routes, ["oidc", "saml", "saml", "saml"]);
    let per_provider: Vec<(String, String)> = out
        .warnings
        .iter()
        .map(|w| {
            (
                w.get("provider_name")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
                w.get("code").unwrap().as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        ("azure-oidc", "missing_domains"),
        ("azure-oidc", "secrets_redacted"),
        ("Google", "unsupported_connection_protocol"),
        ("Google", "secrets_redacted"),
        ("okta-saml", "missing_domains"),
        ("customer-tenant-01", "missing_domains"),
        ("okta-saml", "missing_domains"),
    ];
    assert_eq!(
        per_provider,
        expect.map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(out.secrets.withheld_fields, ["client_secret"]);
}

#[test]
fn redaction_metadata_without_sso_or_secrets() {
    let off = secret_redaction(false, &SecretTally::default());
    assert_eq!(
        serde_json::to_string(&off).unwrap(),
        r#"{"mode":"not-applicable","redacted":true,"notes":["Cognito package mode does not export user passwords or connection secrets."]}"#
    );
    let out = map_providers(&[okta_saml()], pool_org, &options());
    let none = out.secret_redaction();
    assert_eq!(
        (none.mode.as_str(), none.redacted),
        ("not-applicable", true)
    );
}

#[test]
fn write_sso_fills_a_valid_package() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pkg");
    let providers = [okta_saml(), azure_oidc(), google(), name_only_saml()];
    let out = map_providers(&providers, pool_org, &options());
    let mut opts = PackageOptions::new("cognito");
    opts.entities_requested = vec!["sso".into()];
    opts.handoff_notes = crate::package::sso::HandoffNotes::CognitoWithSso;
    opts.secret_redaction = Some(out.secret_redaction());
    let mut pkg = MigrationPackageWriter::create(&root, opts).unwrap();
    let counts = write_sso(&mut pkg, &out).unwrap();
    assert_eq!(
        counts,
        SsoCounts {
            saml_connections: 2,
            oidc_connections: 1,
            custom_attribute_mappings: 7,
            proxy_routes: 3,
            raw_providers: 4,
            warnings: 6,
        }
    );
    let manifest = pkg.finish().unwrap();
    assert_eq!(manifest.count("samlConnections"), 2);
    assert_eq!(manifest.count("oidcConnections"), 1);
    assert_eq!(manifest.count("customAttributeMappings"), 7);
    assert_eq!(manifest.count("proxyRoutes"), 3);
    assert_eq!(manifest.count("warnings"), 6);
    let report = validate_package(
        &root,
        ValidateOptions {
            require_files: true,
            check_headers: true,
            check_counts: true,
        },
    );
    assert!(report.is_valid(), "{:?}", report.issues);
    let raw_path = root.join(RAW_PROVIDERS_FILE);
    let raw = std::fs::read_to_string(&raw_path).unwrap();
    assert_eq!(raw.lines().count(), 4);
    assert!(!raw.contains(SECRET));
    let first: Value = serde_json::from_str(raw.lines().next().unwrap()).unwrap();
    assert_eq!(first["providerName"], "okta-saml");
    let oidc = std::fs::read_to_string(root.join("sso/oidc_connections.csv")).unwrap();
    assert_eq!(
        oidc.lines().nth(1).unwrap(),
        "azure-oidc,us-east-1_AAAPOOL,,us-east-1_AAAPOOL,,5dc7420f-0000-4000-8000-000000000000,,https://login.microsoftonline.com/a74900dd-0000/v2.0/.well-known/openid-configuration,https://sso.example.com/azure-oidc/oidc-callback,us-east-1_AAAPOOL:azure-oidc"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&raw_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // No providers: a zero-byte raw file.
    let empty_root = dir.path().join("empty");
    let mut pkg =
        MigrationPackageWriter::create(&empty_root, PackageOptions::new("cognito")).unwrap();
    let none = map_providers(&[], pool_org, &options());
    assert_eq!(write_sso(&mut pkg, &none).unwrap(), SsoCounts::default());
    pkg.finish().unwrap();
    assert_eq!(
        std::fs::read(empty_root.join(RAW_PROVIDERS_FILE))
            .unwrap()
            .len(),
        0
    );
}
