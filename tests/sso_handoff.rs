//! SSO hand-off export against in-process fakes of the Clerk Backend API and
//! Google (OAuth token endpoint + Identity Platform admin API): paging,
//! rate limits and retries, authentication failures, mapping, redaction and
//! the package files written through `MigrationPackageWriter`.

mod fakes;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use workos_migrate::package::manifest::Manifest;
use workos_migrate::package::schema::{
    CUSTOM_ATTRIBUTE_MAPPINGS_HEADER, OIDC_CONNECTIONS_HEADER, SAML_CONNECTIONS_HEADER,
};
use workos_migrate::package::sso::{ClerkSsoCounts, FirebaseScope, HandoffNotes};
use workos_migrate::package::validator::validate_package;
use workos_migrate::package::{MigrationPackageWriter, PackageOptions};
use workos_migrate::sources::clerk::api::{fetch_clerk_sso, fetch_clerk_sso_with, ClerkClient};
use workos_migrate::sources::firebase::identity_platform::{
    fetch_firebase_sso, FirebaseSsoOptions, IdentityPlatformError,
};
use workos_migrate::sources::sso::http::RetryPolicy;
use workos_migrate::sources::sso::SsoHandoff;

use fakes::clerk::FakeClerk;
use fakes::google::{write_key_file, FakeGoogle, ScopeData, OTHER_KEY, SERVICE_ACCOUNT_KEY};
use fakes::Fault;

const CLERK_KEY: &str = "sk_test_Zm9vYmFyYmF6cXV4";
const PROJECT: &str = "test-project";

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        max_total_wait: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
    }
}

fn messages(h: &SsoHandoff) -> Vec<String> {
    h.warnings
        .iter()
        .map(|w| {
            w.get("message")
                .and_then(Value::as_str)
                .unwrap()
                .to_string()
        })
        .collect()
}

/// Writes `h` into a fresh package (options from the hand-off) and checks it
/// validates; returns the temp dir, package root and manifest.
fn write_package(h: &SsoHandoff, provider: &str) -> (tempfile::TempDir, PathBuf, Manifest) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pkg");
    let mut options = PackageOptions::new(provider);
    options.entities_requested = vec![
        "users".into(),
        "organizations".into(),
        "memberships".into(),
        "roles".into(),
    ];
    h.apply_to(&mut options);
    let mut w = MigrationPackageWriter::create(&root, options).unwrap();
    h.write_into(&mut w).unwrap();
    let manifest = w.finish().unwrap();
    let report = validate_package(&root, Default::default());
    assert!(report.is_valid(), "{:?}", report.issues);
    (dir, root, manifest)
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap()
}

fn assert_headers(root: &Path) {
    for (file, header) in [
        ("sso/saml_connections.csv", SAML_CONNECTIONS_HEADER),
        ("sso/oidc_connections.csv", OIDC_CONNECTIONS_HEADER),
        (
            "sso/custom_attribute_mappings.csv",
            CUSTOM_ATTRIBUTE_MAPPINGS_HEADER,
        ),
    ] {
        let text = read(root, file);
        assert_eq!(text.lines().next().unwrap(), header.join(","), "{file}");
    }
}

fn assert_warning_shape(root: &Path) {
    for line in read(root, "warnings.jsonl").lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["timestamp", "code", "message"], "{line}");
    }
}

// ---------------------------------------------------------------- Clerk

fn clerk_oidc(id: &str) -> Value {
    json!({
        "id": id,
        "name": format!("OIDC {id}"),
        "domains": ["example.com"],
        "organization_id": null,
        "active": true,
        "saml_connection": null,
        "oauth_config": {"client_id": format!("client-{id}"), "discovery_url": "https://idp.example.com/.well-known/openid-configuration"}
    })
}

fn clerk_saml(id: &str) -> Value {
    json!({
        "id": id,
        "name": "Acme Okta",
        "domains": ["Acme.com", "app.acme.com"],
        "allow_subdomains": false,
        "organization_id": "org_acme",
        "active": false,
        "saml_connection": {
            "idp_entity_id": "http://www.okta.com/exk1",
            "idp_sso_url": "https://acme.okta.com/app/sso/saml",
            "idp_certificate": "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----",
            "idp_metadata_url": "",
            "acs_url": "https://clerk.acme.com/v1/saml/acs/ec_saml_okta",
            "sp_entity_id": "https://clerk.acme.com/saml/ec_saml_okta",
            "allow_idp_initiated": true,
            "attribute_mapping": {"user_id": "nameid", "email_address": "mail", "first_name": "givenName", "last_name": "sn", "department": "dept"}
        }
    })
}

fn paths(reqs: &[fakes::RecordedRequest]) -> Vec<String> {
    reqs.iter().map(|r| r.path_and_query.clone()).collect()
}

#[tokio::test]
async fn clerk_pages_through_every_connection() {
    let conns: Vec<Value> = (0..1203)
        .map(|i| clerk_oidc(&format!("ec_{i:04}")))
        .collect();
    let fake = FakeClerk::start(CLERK_KEY, conns).await;
    let client = ClerkClient::new(&format!("{}/", fake.base_url), CLERK_KEY)
        .unwrap()
        .with_retry_policy(fast_retry());
    let all = client.list_enterprise_connections().await.unwrap();
    assert_eq!(all.len(), 1203);
    assert_eq!(all[1202]["id"], "ec_1202");
    let reqs = fake.requests();
    assert_eq!(
        paths(&reqs),
        [
            "/v1/enterprise_connections?limit=500&offset=0",
            "/v1/enterprise_connections?limit=500&offset=500",
            "/v1/enterprise_connections?limit=500&offset=1000",
        ]
    );
    let bearer = format!("Bearer {CLERK_KEY}");
    assert!(reqs
        .iter()
        .all(|r| r.authorization.as_deref() == Some(bearer.as_str())));

    // Bare-array responses: 500 + 2 → two calls; the stop rule is the short page.
    let fake = FakeClerk::start(
        CLERK_KEY,
        (0..502).map(|i| clerk_oidc(&format!("b{i}"))).collect(),
    )
    .await;
    fake.set_bare_array(true);
    let h = fetch_clerk_sso(&fake.base_url, CLERK_KEY).await;
    assert_eq!(h.oidc.len(), 502);
    assert_eq!(fake.requests().len(), 2);

    // Exactly 500 with total_count: no extra empty page.
    let fake = FakeClerk::start(
        CLERK_KEY,
        (0..500).map(|i| clerk_oidc(&format!("c{i}"))).collect(),
    )
    .await;
    let h = fetch_clerk_sso(&fake.base_url, CLERK_KEY).await;
    assert_eq!(h.oidc.len(), 500);
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn clerk_rate_limit_honours_retry_after() {
    let fake = FakeClerk::start(CLERK_KEY, vec![clerk_oidc("ec_1")]).await;
    fake.push_fault(Fault::RateLimited {
        retry_after_secs: 1,
    });
    let client = ClerkClient::new(&fake.base_url, CLERK_KEY)
        .unwrap()
        .with_retry_policy(fast_retry());
    let started = Instant::now();
    let all = client.list_enterprise_connections().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(all.len(), 1);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].at.duration_since(reqs[0].at) >= Duration::from_secs(1));

    // A Retry-After beyond the wait budget fails at once instead of sleeping.
    let fake = FakeClerk::start(CLERK_KEY, vec![]).await;
    fake.push_fault(Fault::RateLimited {
        retry_after_secs: 1,
    });
    let policy = RetryPolicy {
        max_total_wait: Duration::from_millis(500),
        ..fast_retry()
    };
    let client = ClerkClient::new(&fake.base_url, CLERK_KEY)
        .unwrap()
        .with_retry_policy(policy);
    let started = Instant::now();
    let err = client
        .list_enterprise_connections()
        .await
        .unwrap_err()
        .to_string();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        err.starts_with(
            "Clerk API error (429) for /v1/enterprise_connections?limit=500&offset=0: "
        ),
        "{err}"
    );
    assert!(err.contains("too_many_requests"));
}

#[tokio::test]
async fn clerk_server_errors_are_retried_then_reported() {
    let fake = FakeClerk::start(CLERK_KEY, vec![clerk_saml("ec_saml_okta")]).await;
    fake.push_fault(Fault::Status(500));
    fake.push_fault(Fault::Status(503));
    let client = ClerkClient::new(&fake.base_url, CLERK_KEY)
        .unwrap()
        .with_retry_policy(fast_retry());
    let h = fetch_clerk_sso_with(&client).await;
    assert_eq!(h.saml.len(), 1);
    assert!(h.warnings.is_empty(), "{:?}", messages(&h));
    assert_eq!(fake.requests().len(), 3);

    // Persistent failure: 1 + max_retries attempts, then sso_fetch_failed.
    let fake = FakeClerk::start(CLERK_KEY, vec![clerk_saml("ec_saml_okta")]).await;
    for _ in 0..10 {
        fake.push_fault(Fault::Status(500));
    }
    let client = ClerkClient::new(&fake.base_url, CLERK_KEY)
        .unwrap()
        .with_retry_policy(fast_retry());
    let h = fetch_clerk_sso_with(&client).await;
    assert_eq!(fake.requests().len(), 4);
    assert!(h.saml.is_empty() && h.oidc.is_empty());
    assert_eq!(h.warning_codes(), ["sso_fetch_failed"]);
    let m = &messages(&h)[0];
    assert!(m.starts_with("Failed to fetch Clerk enterprise connections: Clerk API error (500) for /v1/enterprise_connections?limit=500&offset=0: {\"errors\""), "{m}");
    let body = m.split_once("offset=0: ").unwrap().1;
    assert!(body.chars().count() <= 201, "{body}");
    assert_eq!(
        h.notes,
        HandoffNotes::ClerkWithSecretKey(ClerkSsoCounts::default())
    );
    let (_d, root, manifest) = write_package(&h, "clerk");
    assert_eq!(manifest.count("samlConnections"), 0);
    assert_eq!(manifest.count("warnings"), 1);
    assert!(read(&root, "sso/handoff_notes.md").contains("returned 0 enterprise connection(s)"));
}

#[tokio::test]
async fn clerk_auth_failure_never_shows_the_key() {
    let fake = FakeClerk::start(CLERK_KEY, vec![clerk_oidc("ec_1")]).await;
    fake.set_echo_credentials(true);
    let wrong = "sk_test_WRONGwrongWRONG";
    let h = fetch_clerk_sso(&fake.base_url, wrong).await;
    assert_eq!(h.warning_codes(), ["sso_fetch_failed"]);
    let m = &messages(&h)[0];
    assert!(
        m.contains("Clerk API error (401) for /v1/enterprise_connections?limit=500&offset=0"),
        "{m}"
    );
    assert!(
        m.contains("authentication_invalid") && m.contains("[REDACTED]"),
        "{m}"
    );
    assert!(!m.contains(wrong) && !m.contains(CLERK_KEY), "{m}");
    assert_eq!(fake.requests().len(), 1, "401 is not retried");
    let (_d, root, _) = write_package(&h, "clerk");
    for file in ["warnings.jsonl", "manifest.json", "sso/handoff_notes.md"] {
        assert!(!read(&root, file).contains(wrong), "{file}");
    }

    // An empty key never reaches the API.
    let h = fetch_clerk_sso(&fake.base_url, "  ").await;
    assert_eq!(
        messages(&h),
        ["Failed to fetch Clerk enterprise connections: ClerkClient requires a secretKey"]
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn clerk_mapping_writes_a_valid_package() {
    let mut broken = clerk_saml("ec_broken");
    broken["saml_connection"]["idp_entity_id"] = json!(null);
    let mut no_domains = clerk_oidc("ec_oidc_nodomains");
    no_domains["domains"] = json!([]);
    let neither = json!({"id": "ec_neither", "domains": ["x.com"], "saml_connection": null, "oauth_config": null});
    let mut sub = clerk_saml("ec_sub");
    sub["allow_subdomains"] = json!(true);
    sub["saml_connection"]["attribute_mapping"] = json!({"title": "jobTitle", "team": " "});
    let conns = vec![
        clerk_saml("ec_saml_okta"),
        clerk_oidc("ec_oidc"),
        broken,
        no_domains,
        neither,
        sub,
    ];
    let fake = FakeClerk::start(CLERK_KEY, conns).await;
    let h = fetch_clerk_sso(&fake.base_url, CLERK_KEY).await;

    assert_eq!(h.saml.len(), 2);
    assert_eq!(h.oidc.len(), 2);
    let s = &h.saml[0];
    assert_eq!(s.external_id, "clerk:ec_saml_okta");
    assert_eq!(s.organization_external_id, "org_acme");
    assert_eq!(s.domains, "acme.com;app.acme.com");
    assert_eq!(s.idp_initiated_enabled, "true");
    assert_eq!(
        h.saml[1].domains,
        "acme.com;*.acme.com;app.acme.com;*.app.acme.com"
    );
    assert_eq!(h.oidc[0].client_secret, "");
    assert_eq!(h.custom_attributes.len(), 2);
    assert_eq!(
        h.custom_attributes[0].fields(),
        [
            "clerk:ec_saml_okta",
            "org_acme",
            "SAML",
            "department",
            "dept"
        ]
    );
    assert_eq!(
        h.custom_attributes[1].fields(),
        ["clerk:ec_sub", "org_acme", "SAML", "title", "jobTitle"]
    );
    assert_eq!(
        h.warning_codes(),
        [
            "incomplete_connection_configuration",
            "missing_domains",
            "incomplete_connection_configuration"
        ]
    );
    let m = messages(&h);
    assert!(
        m[0].starts_with("clerk saml connection clerk:ec_broken was skipped")
            && m[0].ends_with("Missing: saml_connection.idp_entity_id.")
    );
    assert!(m[1].contains("clerk oidc connection clerk:ec_oidc_nodomains"));
    assert!(m[2].starts_with("clerk unknown connection clerk:ec_neither was skipped"));
    assert_eq!(
        h.notes,
        HandoffNotes::ClerkWithSecretKey(ClerkSsoCounts {
            fetched: 6,
            saml: 2,
            oidc: 2,
            skipped: 2
        })
    );

    let (_d, root, manifest) = write_package(&h, "clerk");
    assert_headers(&root);
    assert_warning_shape(&root);
    assert_eq!(
        manifest.entities_requested.last().map(String::as_str),
        Some("sso")
    );
    assert_eq!(manifest.count("samlConnections"), 2);
    assert_eq!(manifest.count("oidcConnections"), 2);
    assert_eq!(manifest.count("customAttributeMappings"), 2);
    assert_eq!(manifest.count("warnings"), 3);
    assert!(manifest.secrets_redacted);
    assert_eq!(
        manifest.secret_redaction.as_ref().unwrap().mode,
        "not-applicable"
    );
    let saml = read(&root, "sso/saml_connections.csv");
    assert!(
        saml.contains("\n,,,org_acme,acme.com;app.acme.com,http://www.okta.com/exk1,https://acme.okta.com/app/sso/saml,\"-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\",,https://clerk.acme.com/saml/ec_saml_okta,https://clerk.acme.com/v1/saml/acs/ec_saml_okta,nameid,mail,givenName,sn,,true,,,,clerk:ec_saml_okta\n"),
        "{saml}"
    );
    let oidc = read(&root, "sso/oidc_connections.csv");
    assert_eq!(
        oidc.lines().nth(1).unwrap(),
        ",,,,example.com,client-ec_oidc,,https://idp.example.com/.well-known/openid-configuration,,clerk:ec_oidc"
    );
    let notes = read(&root, "sso/handoff_notes.md");
    assert!(notes.contains("returned 6 enterprise connection(s)"));
    assert!(notes.contains("2 SAML connection(s)") && notes.contains("2 OIDC connection(s)"));
    assert!(notes.contains("2 were skipped because required fields were missing"));
}

// ---------------------------------------------------------------- Firebase

fn fb_saml(name: &str) -> Value {
    json!({
        "name": name,
        "displayName": "Okta",
        "enabled": true,
        "idpConfig": {
            "idpEntityId": "http://www.okta.com/exk1",
            "ssoUrl": "https://acme.okta.com/app/sso/saml",
            "signRequest": false,
            "idpCertificates": [{"x509Certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"}]
        },
        "spConfig": {
            "spEntityId": "test-project.firebaseapp.com",
            "callbackUri": "https://test-project.firebaseapp.com/__/auth/handler",
            "spCertificates": [{"x509Certificate": "MIIsp", "expiresAt": "2099-01-01T00:00:00Z"}]
        }
    })
}

fn fb_oidc(name: &str, secret: Option<&str>) -> Value {
    let mut v = json!({
        "name": name,
        "clientId": "oidc-client",
        "issuer": "https://accounts.example.com/",
        "displayName": "Example",
        "enabled": true,
        "responseType": {"idToken": true}
    });
    if let Some(s) = secret {
        v["clientSecret"] = json!(s);
        v["responseType"] = json!({"code": true});
    }
    v
}

const SECRET: &str = "gcp-oidc-client-secret-123";

/// Project: signed SAML with an SP certificate expiring in 30 days, a second
/// SAML, an OIDC with a client secret. Tenant t1: SAML + an OIDC without an
/// issuer. Tenant t2: nothing.
async fn google_with_configs() -> FakeGoogle {
    let g = FakeGoogle::start(PROJECT).await;
    let mut signed = fb_saml("projects/test-project/inboundSamlConfigs/saml.okta");
    signed["idpConfig"]["signRequest"] = json!(true);
    let soon = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    signed["spConfig"]["spCertificates"] = json!([{"x509Certificate": "MIIsp", "expiresAt": soon}]);
    g.set_project(ScopeData {
        saml: vec![
            signed,
            fb_saml("projects/test-project/inboundSamlConfigs/saml.azure"),
        ],
        oidc: vec![fb_oidc(
            "projects/test-project/oauthIdpConfigs/oidc.example",
            Some(SECRET),
        )],
    });
    let mut no_issuer = fb_oidc(
        "projects/test-project/tenants/t1/oauthIdpConfigs/oidc.broken",
        None,
    );
    no_issuer.as_object_mut().unwrap().remove("issuer");
    g.add_tenant(
        "t1",
        "Tenant One",
        ScopeData {
            saml: vec![fb_saml(
                "projects/test-project/tenants/t1/inboundSamlConfigs/saml.okta",
            )],
            oidc: vec![no_issuer],
        },
    );
    g.add_tenant("t2", "", ScopeData::default());
    g
}

fn firebase_options(g: &FakeGoogle, dir: &Path) -> FirebaseSsoOptions {
    let key = write_key_file(dir, &SERVICE_ACCOUNT_KEY, Some(PROJECT), &g.token_uri);
    let mut o = FirebaseSsoOptions::new(key, None);
    o.api_base_url = g.base_url.clone();
    o.retry = fast_retry();
    o
}

#[tokio::test]
async fn firebase_project_and_tenant_scopes_are_paged_and_mapped() {
    let g = google_with_configs().await;
    g.set_max_page_size(1);
    let dir = tempfile::tempdir().unwrap();
    let h = fetch_firebase_sso(&firebase_options(&g, dir.path()))
        .await
        .unwrap();

    assert_eq!(g.token_requests(), 1, "the access token is cached");
    let reqs = g.admin_requests();
    assert!(reqs.iter().all(|r| r
        .authorization
        .as_deref()
        .is_some_and(|a| a.starts_with("Bearer ya29."))));
    let p = paths(&reqs);
    assert_eq!(p[0], "/v2/projects/test-project/tenants?pageSize=100");
    assert_eq!(
        p[1],
        "/v2/projects/test-project/tenants?pageSize=100&pageToken=page-1"
    );
    assert_eq!(
        p[2],
        "/v2/projects/test-project/inboundSamlConfigs?pageSize=100"
    );
    assert_eq!(
        p[3],
        "/v2/projects/test-project/inboundSamlConfigs?pageSize=100&pageToken=page-1"
    );
    assert!(p.contains(
        &"/v2/projects/test-project/tenants/t1/oauthIdpConfigs?pageSize=100".to_string()
    ));
    assert!(p.contains(
        &"/v2/projects/test-project/tenants/t2/inboundSamlConfigs?pageSize=100".to_string()
    ));

    let ids: Vec<&str> = h.saml.iter().map(|r| r.external_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "firebase:saml.okta",
            "firebase:saml.azure",
            "firebase:t1:saml.okta"
        ]
    );
    let t = &h.saml[2];
    assert_eq!(
        (
            t.organization_name.as_str(),
            t.organization_external_id.as_str()
        ),
        ("Tenant One", "t1")
    );
    assert_eq!(h.saml[0].organization_external_id, "");
    assert_eq!(
        h.saml[0].custom_acs_url,
        "https://test-project.firebaseapp.com/__/auth/handler"
    );
    assert_eq!(h.oidc.len(), 1);
    assert_eq!(h.oidc[0].external_id, "firebase:oidc.example");
    assert_eq!(h.oidc[0].client_secret, "");
    assert_eq!(
        h.oidc[0].discovery_endpoint,
        "https://accounts.example.com/.well-known/openid-configuration"
    );

    assert_eq!(
        h.warning_codes(),
        [
            "missing_domains",
            "incomplete_connection_configuration",
            "incomplete_connection_configuration",
            "missing_domains",
            "secrets_redacted",
            "missing_domains",
            "missing_domains",
            "incomplete_connection_configuration",
        ]
    );
    let m = messages(&h);
    assert!(
        m[1].contains("firebase:saml.okta was exported but needs attention")
            && m[1].contains("signRequest=true")
    );
    assert!(m[2].contains("SP certificate(s) expire(d) at: ") && !m[2].contains("skipped"));
    assert!(m[4].contains("firebase oidc connection firebase:oidc.example: clientSecret left blank in sso/oidc_connections.csv"));
    assert!(
        m[7].contains("firebase:t1:oidc.broken was skipped") && m[7].ends_with("Missing: issuer.")
    );
    assert!(!m.concat().contains(SECRET));

    let HandoffNotes::FirebaseWithSso {
        fetched,
        saml,
        oidc,
        skipped,
        scopes,
        ..
    } = &h.notes
    else {
        panic!("{:?}", h.notes)
    };
    assert_eq!((*fetched, *saml, *oidc, *skipped), (5, 3, 1, 1));
    assert_eq!(
        scopes,
        &[
            FirebaseScope {
                label: "project".into(),
                saml: 2,
                oidc: 1
            },
            FirebaseScope {
                label: "tenant:t1".into(),
                saml: 1,
                oidc: 1
            },
            FirebaseScope {
                label: "tenant:t2".into(),
                saml: 0,
                oidc: 0
            },
        ]
    );
    assert_eq!(h.secret_redaction.mode, "redacted");
    assert_eq!(
        h.secret_redaction.redacted_fields.as_deref(),
        Some(&["clientSecret".to_string()][..])
    );

    let (_d, root, manifest) = write_package(&h, "firebase");
    assert_headers(&root);
    assert_warning_shape(&root);
    assert!(manifest.secrets_redacted);
    assert_eq!(manifest.secret_redaction.as_ref().unwrap().mode, "redacted");
    assert!(manifest.entities_requested.contains(&"sso".to_string()));
    assert_eq!(
        (
            manifest.count("samlConnections"),
            manifest.count("oidcConnections")
        ),
        (3, 1)
    );
    for file in [
        "sso/oidc_connections.csv",
        "warnings.jsonl",
        "manifest.json",
    ] {
        assert!(!read(&root, file).contains(SECRET), "{file}");
    }
    let notes = read(&root, "sso/handoff_notes.md");
    assert!(notes
        .contains("Identity Platform admin API returned 5 provider config(s) across 2 scope(s)."));
    assert!(notes.contains("- tenant:t1: 1 SAML, 1 OIDC\n"));
}

#[tokio::test]
async fn firebase_include_secrets_and_not_applicable_redaction() {
    let g = google_with_configs().await;
    let dir = tempfile::tempdir().unwrap();
    let mut o = firebase_options(&g, dir.path());
    o.include_secrets = true;
    o.skip_tenant_sso = true;
    let h = fetch_firebase_sso(&o).await.unwrap();
    assert_eq!(h.oidc[0].client_secret, SECRET);
    assert!(!h.warning_codes().contains(&"secrets_redacted"));
    let (_d, root, manifest) = write_package(&h, "firebase");
    assert!(!manifest.secrets_redacted);
    let r = manifest.secret_redaction.unwrap();
    assert_eq!((r.mode.as_str(), r.redacted), ("included", false));
    assert!(read(&root, "sso/oidc_connections.csv").contains(SECRET));

    // No config carries a secret: nothing to redact or include.
    let g = FakeGoogle::start(PROJECT).await;
    g.set_project(ScopeData {
        saml: vec![fb_saml("projects/test-project/inboundSamlConfigs/saml.a")],
        oidc: vec![fb_oidc(
            "projects/test-project/oauthIdpConfigs/oidc.a",
            None,
        )],
    });
    for include in [false, true] {
        let mut o = firebase_options(&g, dir.path());
        o.include_secrets = include;
        let h = fetch_firebase_sso(&o).await.unwrap();
        let (_d, _root, manifest) = write_package(&h, "firebase");
        let r = manifest.secret_redaction.unwrap();
        assert_eq!(r.mode, "not-applicable", "include_secrets={include}");
        assert!(manifest.secrets_redacted);
    }
}

#[tokio::test]
async fn firebase_skip_tenant_sso_fetches_the_project_only() {
    let g = google_with_configs().await;
    let dir = tempfile::tempdir().unwrap();
    let mut o = firebase_options(&g, dir.path());
    o.skip_tenant_sso = true;
    let h = fetch_firebase_sso(&o).await.unwrap();
    assert_eq!(
        paths(&g.admin_requests()),
        [
            "/v2/projects/test-project/inboundSamlConfigs?pageSize=100",
            "/v2/projects/test-project/oauthIdpConfigs?pageSize=100",
        ]
    );
    assert_eq!(h.saml.len(), 2);
    let HandoffNotes::FirebaseWithSso { scopes, .. } = &h.notes else {
        panic!()
    };
    assert_eq!(scopes.len(), 1);
}

#[tokio::test]
async fn firebase_fetch_failures_are_warnings_and_transient_ones_are_retried() {
    let g = google_with_configs().await;
    g.push_fault("tenants", Fault::Status(403));
    g.push_fault("oauthIdpConfigs", Fault::Status(403));
    g.push_fault("inboundSamlConfigs", Fault::Status(503));
    g.push_fault(
        "inboundSamlConfigs",
        Fault::RateLimited {
            retry_after_secs: 0,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let h = fetch_firebase_sso(&firebase_options(&g, dir.path()))
        .await
        .unwrap();
    assert_eq!(h.saml.len(), 2, "503 and 429 were retried");
    assert!(h.oidc.is_empty());
    let m = messages(&h);
    assert_eq!(
        h.warning_codes()[..2],
        ["sso_fetch_failed", "sso_fetch_failed"]
    );
    assert!(m[0].starts_with("Failed to list Identity Platform tenants: Identity Platform API error (403) for /v2/projects/test-project/tenants?pageSize=100: "), "{}", m[0]);
    assert!(
        m[1].starts_with(
            "Failed to fetch oauthIdpConfigs (project): Identity Platform API error (403)"
        ),
        "{}",
        m[1]
    );
    assert!(!m.concat().contains("ya29."), "no access token in messages");
    let (_d, _root, manifest) = write_package(&h, "firebase");
    assert_eq!(manifest.count("warnings"), h.warnings.len() as u64);
}

#[tokio::test]
async fn firebase_authentication_failures_are_fatal() {
    let g = google_with_configs().await;
    let dir = tempfile::tempdir().unwrap();

    // Signed with a key Google does not know.
    let key = write_key_file(dir.path(), &OTHER_KEY, Some(PROJECT), &g.token_uri);
    let mut o = FirebaseSsoOptions::new(&key, None);
    o.api_base_url = g.base_url.clone();
    o.retry = fast_retry();
    let err = fetch_firebase_sso(&o).await.unwrap_err();
    assert!(matches!(err, IdentityPlatformError::Token(_)));
    let text = err.to_string();
    assert!(text.starts_with("Failed to obtain Google access token. Verify your service account credentials and cloud-platform scope."), "{text}");
    assert!(
        text.contains("invalid_grant: Invalid JWT Signature."),
        "{text}"
    );
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains("eyJ"),
        "{text}"
    );
    assert!(g.admin_requests().is_empty());

    // Missing key file; no project id anywhere.
    let missing = dir.path().join("nope.json");
    let err = fetch_firebase_sso(&FirebaseSsoOptions::new(&missing, None))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Service account key not found: {}", missing.display())
    );
    let key = write_key_file(dir.path(), &SERVICE_ACCOUNT_KEY, None, &g.token_uri);
    let mut o = FirebaseSsoOptions::new(&key, None);
    o.api_base_url = g.base_url.clone();
    let err = fetch_firebase_sso(&o).await.unwrap_err();
    assert_eq!(err, IdentityPlatformError::MissingProjectId);

    // The caller's project id wins over the key's; a transient token error is retried.
    o.project_id = Some(PROJECT.into());
    o.retry = fast_retry();
    g.push_fault("token", Fault::Status(503));
    let h = fetch_firebase_sso(&o).await.unwrap();
    assert_eq!(h.saml.len(), 3);

    // The admin API refuses requests without a token it issued.
    let http = reqwest::Client::new();
    for auth in [None, Some("Bearer ya29.forged")] {
        let mut req = http.get(format!(
            "{}/v2/projects/{PROJECT}/inboundSamlConfigs?pageSize=100",
            g.base_url
        ));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    }
}
