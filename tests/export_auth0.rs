//! `export auth0` end to end: the built binary against the stateful fake
//! Auth0 Management API (`tests/fakes/auth0.rs`) — the Appendix B tenant
//! (`fixtures/auth0/tenant.json`) reproduced byte for byte, conservation,
//! an organization of 5,000 members, the request-rate budget, metadata mode
//! above Auth0's 1,000-user listing cap, the bulk-job engine, and bad input.

mod fakes;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fakes::auth0::{ConnectionsScope, FakeAuth0, FakeAuth0Config, Fault, JobFault, Route};
use serde_json::{json, Value};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn run_bin(args: &[&str]) -> Run {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .args(args)
        .env_remove("AUTH0_CLIENT_ID")
        .env_remove("AUTH0_CLIENT_SECRET")
        .env_remove("AUTH0_DOMAIN")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

fn export(fake: &FakeAuth0, dir: &Path, extra: &[&str]) -> Run {
    let url = fake.url();
    let id = fake.client_id();
    let secret = fake.client_secret();
    let d = dir.to_string_lossy().into_owned();
    let mut args = vec![
        "export",
        "auth0",
        "--domain",
        &url,
        "--client-id",
        &id,
        "--client-secret",
        &secret,
        "--output-dir",
        &d,
    ];
    args.extend_from_slice(extra);
    run_bin(&args)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&read(&dir.join("manifest.json"))).unwrap()
}

fn count(dir: &Path, key: &str) -> u64 {
    manifest(dir)["entitiesExported"][key].as_u64().unwrap()
}

fn jsonl_without_timestamps(p: &Path) -> Vec<String> {
    read(p)
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().shift_remove("timestamp");
            v.to_string()
        })
        .collect()
}

fn validate(dir: &Path) {
    let r = run_bin(&["validate-package", &dir.to_string_lossy()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

fn tenant_fixture() -> Value {
    serde_json::from_str(&read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/auth0/tenant.json"),
    ))
    .unwrap()
}

/// The lines of `text` whose CSV record belongs to one of `users` (by the
/// `external_id` text appearing as a field), header kept.
fn rows_of(text: &str, users: &[&str]) -> String {
    let mut lines = text.lines();
    let mut out = vec![lines.next().unwrap().to_string()];
    for l in lines {
        if users.iter().any(|u| l.split(',').any(|f| f == *u)) {
            out.push(l.to_string());
        }
    }
    out.join("\n") + "\n"
}

const APPENDIX_USERS: &str = r#"email,password,password_hash,password_hash_type,first_name,last_name,email_verified,external_id,metadata,org_id,org_external_id,org_name,role_slugs
A@x.com,,,,Ann,Marie Lee,true,auth0|a,"{""auth0_org_id"":""o"",""nested"":""{\""a\"":1}"",""flag"":""false"",""n"":"""",""plan"":""pro"",""auth0_user_id"":""auth0|a"",""auth0_created_at"":""2020-01-01T00:00:00.000Z"",""auth0_updated_at"":""2020-01-02T00:00:00.000Z"",""auth0_identities"":""[{\""provider\"":\""auth0\"",\""connection\"":\""Username-Password-Authentication\"",\""isSocial\"":false}]"",""auth0_last_login"":""2021-01-01"",""auth0_logins_count"":""0""}",,org_acme,"Acme, Inc","owner-role,cafe-cre-me"
b@x.com,,,,B,,,auth0|b,"{""auth0_user_id"":""auth0|b"",""auth0_created_at"":""2020-01-01T00:00:00.000Z"",""auth0_updated_at"":""2020-01-02T00:00:00.000Z"",""auth0_blocked"":""true"",""auth0_metadata_only"":""true""}",,org_acme,"Acme, Inc",
A@x.com,,,,Ann,Marie Lee,true,auth0|a,"{""auth0_org_id"":""o"",""nested"":""{\""a\"":1}"",""flag"":""false"",""n"":"""",""plan"":""pro"",""auth0_user_id"":""auth0|a"",""auth0_created_at"":""2020-01-01T00:00:00.000Z"",""auth0_updated_at"":""2020-01-02T00:00:00.000Z"",""auth0_identities"":""[{\""provider\"":\""auth0\"",\""connection\"":\""Username-Password-Authentication\"",\""isSocial\"":false}]"",""auth0_last_login"":""2021-01-01"",""auth0_logins_count"":""0""}",,org_two,two,"owner-role,cafe-cre-me"
"#;

const APPENDIX_MEMBERSHIPS: &str =
    "email,external_id,user_id,org_id,org_external_id,org_name,role_slugs,metadata
A@x.com,auth0|a,,,org_acme,\"Acme, Inc\",\"owner-role,cafe-cre-me\",
b@x.com,auth0|b,,,org_acme,\"Acme, Inc\",,
A@x.com,auth0|a,,,org_two,two,\"owner-role,cafe-cre-me\",
";

const APPENDIX_ORGS: &str = "org_id,org_external_id,org_name,domains,metadata
,org_acme,\"Acme, Inc\",\"acme.com,Login.acme.com\",\"{\"\"domains\"\":\"\"acme.com; Login.acme.com\"\",\"\"tier\"\":\"\"gold\"\"}\"
,org_two,two,two.com,\"{\"\"domain\"\":\"\"two.com\"\"}\"
";

const APPENDIX_ASSIGNMENTS: &str = "email,user_id,external_id,role_slug,org_id,org_external_id
A@x.com,,auth0|a,owner-role,,org_acme
A@x.com,,auth0|a,cafe-cre-me,,org_acme
A@x.com,,auth0|a,owner-role,,org_two
A@x.com,,auth0|a,cafe-cre-me,,org_two
";

const APPENDIX_SAML: &str = "name,organizationName,organizationId,organizationExternalId,domains,idpEntityId,idpUrl,x509Cert,idpMetadataUrl,customEntityId,customAcsUrl,idpIdAttribute,emailAttribute,firstNameAttribute,lastNameAttribute,nameAttribute,idpInitiatedEnabled,requestSigningKey,assertionEncryptionKey,nameIdEncryptionKey,externalId
okta,Okta SSO,,con_s,\"acme.com,login.acme.com,two.com\",urn:e,https://post,ABCD,,urn:aud,https://cb,uid,mail,,,cn,,,,,okta
";

const APPENDIX_OIDC: &str = "name,organizationName,organizationId,organizationExternalId,domains,clientId,clientSecret,discoveryEndpoint,customRedirectUri,externalId
okta-oidc,\"Acme, Inc\",,org_acme,\"acme.com,login.acme.com\",cid,,https://acme.okta.com/.well-known/openid-configuration,,okta-oidc
gapps,gapps,,con_g,,gid,,https://accounts.google.com/.well-known/openid-configuration,,gapps
waad,waad,,con_w,,wid,,https://login.microsoftonline.com/contoso.com/v2.0/.well-known/openid-configuration,,waad
";

#[test]
fn fixture_tenant_reproduces_appendix_b_and_validates() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config::default()));
    fake.load_fixture(&tenant_fixture()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = export(&fake, &dir, &["--entities", "all"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Package export complete"), "{}", r.stdout);
    validate(&dir);

    let ab = ["auth0|a", "auth0|b"];
    assert_eq!(rows_of(&read(&dir.join("users.csv")), &ab), APPENDIX_USERS);
    assert_eq!(
        rows_of(&read(&dir.join("organization_memberships.csv")), &ab),
        APPENDIX_MEMBERSHIPS
    );
    assert_eq!(read(&dir.join("organizations.csv")), APPENDIX_ORGS);
    assert_eq!(
        rows_of(&read(&dir.join("user_role_assignments.csv")), &["auth0|a"]),
        APPENDIX_ASSIGNMENTS
    );
    let defs = read(&dir.join("role_definitions.csv"));
    assert!(defs.starts_with(
        "role_slug,role_name,role_type,permissions,org_id,org_external_id\n\
         owner-role,Owner,environment,,,\n\
         cafe-cre-me,Café Crème,environment,,,\n\
         auth0-role-r3,auth0-role-r3,environment,,,\n"
    ));
    // `Admin` is reserved; two roles named `Support` collide.
    assert!(defs.contains("admin-role,Admin,environment,,,\n"));
    assert!(defs.contains("support,Support,environment,,,\nsupport-2,Support,environment,,,\n"));
    assert_eq!(read(&dir.join("sso/saml_connections.csv")), APPENDIX_SAML);
    assert_eq!(read(&dir.join("sso/oidc_connections.csv")), APPENDIX_OIDC);
    assert_eq!(
        read(&dir.join("sso/custom_attribute_mappings.csv")),
        "externalId,organizationExternalId,providerType,userPoolAttribute,idpClaim\n\
         okta,con_s,SAML,alpha,a\nokta,con_s,SAML,zeta,z\n"
    );

    // Skipped users of Appendix B, in order.
    let skipped = jsonl_without_timestamps(&dir.join("skipped_users.jsonl"));
    assert_eq!(
        &skipped[..3],
        [
            r#"{"user_id":"google|c","email":"c@x.com","org_id":"org_acme","org_name":"Acme, Inc","reason":"federated_user"}"#,
            r#"{"user_id":"auth0|d","email":"unknown","org_id":"org_acme","org_name":"Acme, Inc","reason":"no_email"}"#,
            // The member id is known even when its user is not (the original wrote "unknown").
            r#"{"user_id":"missing","email":"unknown","org_id":"org_acme","org_name":"Acme, Inc","reason":"no_email"}"#,
        ]
    );
    let warnings = jsonl_without_timestamps(&dir.join("warnings.jsonl"));
    for expected in [
        r#"{"code":"unmappable_role_name","message":"Auth0 role r3 has no slug-able name \"\"; using fallback slug \"auth0-role-r3\".","details":{"role_id":"r3","role_slug":"auth0-role-r3"}}"#,
        r#"{"code":"blocked_user_metadata_only","message":"Blocked Auth0 user auth0|b was exported without credentials.","org_id":"org_acme","org_name":"Acme, Inc","user_id":"auth0|b"}"#,
        r#"{"code":"secrets_redacted","message":"Secret fields were redacted from auth0 SSO export output.","connection_name":"okta-oidc","protocol":"oidc","details":{"file":"sso/oidc_connections.csv","fields":["clientSecret"]}}"#,
        r#"{"code":"unsupported_connection_protocol","message":"auth0 github connection github was skipped because it is outside the WorkOS SSO handoff scope.","connection_name":"github","protocol":"github","details":{"strategy":"github","reason":"Only Auth0 enterprise connections with SAML or OIDC configuration are supported for WorkOS SSO handoff."}}"#,
    ] {
        assert!(warnings.iter().any(|w| w == expected), "missing {expected}");
    }
    // Conservation: every member listed is a users.csv row or a skip.
    let fixture = tenant_fixture();
    let members = fixture["members"].as_array().unwrap().len() as u64;
    assert_eq!(count(&dir, "users") + count(&dir, "skippedUsers"), members);
    // Secrets stay out of the package and the raw dump is redacted.
    let raw = read(&dir.join("raw/auth0-connections.jsonl"));
    assert!(raw.contains("[REDACTED]"));
    for entry in walk(&dir) {
        let text = std::fs::read(&entry).unwrap();
        let text = String::from_utf8_lossy(&text);
        assert!(!text.contains(&fake.client_secret()), "{}", entry.display());
        assert_eq!(mode(&entry), 0o600, "{}", entry.display());
    }
    let m = manifest(&dir);
    assert_eq!(m["provider"], "auth0");
    assert_eq!(m["secretsRedacted"], true);
    assert_eq!(m["secretRedaction"]["mode"], "redacted");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn seed_orgs(fake: &FakeAuth0, big: usize, small_orgs: usize) -> u64 {
    fake.add_org(json!({"id": "org_big", "name": "big", "display_name": "Big Co"}));
    let mut memberships = 0;
    for i in 0..big {
        let id = format!("auth0|big{i:05}");
        fake.add_user(
            json!({"user_id": id, "email": format!("big{i}@example.com"),
            "email_verified": true, "created_at": "2020-01-01T00:00:00.000Z",
            "updated_at": "2020-01-01T00:00:00.000Z",
            "identities": [{"provider": "auth0", "connection": "db", "isSocial": false}]}),
        );
        fake.add_member("org_big", &id);
        memberships += 1;
    }
    for o in 0..small_orgs {
        let org = format!("org_s{o:03}");
        fake.add_org(json!({"id": org, "name": format!("small {o}")}));
        for j in 0..2 {
            let id = format!("auth0|s{o:03}_{j}");
            fake.add_user(
                json!({"user_id": id, "email": format!("s{o}_{j}@example.com"),
                "identities": [{"provider": "auth0", "connection": "db", "isSocial": false}]}),
            );
            fake.add_member(&org, &id);
            memberships += 1;
        }
    }
    memberships
}

#[test]
fn an_organization_of_5000_members_is_exported_whole() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config::default()));
    let memberships = seed_orgs(&fake, 5000, 200);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = export(
        &fake,
        &dir,
        &[
            "--rate-limit",
            "10000",
            "--user-fetch-concurrency",
            "20",
            "--quiet",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(count(&dir, "memberships"), memberships);
    assert_eq!(count(&dir, "organizations"), 201);
    assert_eq!(count(&dir, "skippedUsers"), 0);
    assert_eq!(fake.count_status(400), 0, "no invalid_paging");
    let ids: HashSet<String> = read(&dir.join("organization_memberships.csv"))
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(ids.len() as u64, memberships);
    assert!(fake.max_in_flight() <= 20, "{}", fake.max_in_flight());
    validate(&dir);
}

#[test]
fn organizations_mode_keeps_the_rate_budget_busy_without_429() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config {
        rate_limit_per_sec: Some(50),
        ..FakeAuth0Config::default()
    }));
    seed_orgs(&fake, 150, 50);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = export(&fake, &dir, &["--rate-limit", "50", "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fake.count_status(429), 0);
    let api_requests = fake
        .requests()
        .iter()
        .filter(|q| q.path_and_query.starts_with("/api/v2/"))
        .count();
    // 50 req/s minus the limiter's 3 % headroom. The ≥ 95 % figure is
    // measured by the scripted run (docs/performance.md); this test only
    // catches a pipeline that stalls (one fetch at a time would reach about
    // a third of the budget), with slack for a loaded machine.
    let budget = r.elapsed.as_secs_f64() * 50.0;
    assert!(
        api_requests as f64 >= 0.75 * budget,
        "{api_requests} requests in {:?}",
        r.elapsed
    );
    assert_eq!(count(&dir, "users"), 250);
}

#[test]
fn missing_member_roles_scope_falls_back_and_reports_fetch_failures() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config::default()));
    fake.load_fixture(&tenant_fixture()).unwrap();
    fake.set_member_roles_scope(false);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = export(&fake, &dir, &["--entities", "users,roles", "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let warnings = read(&dir.join("warnings.jsonl"));
    assert!(
        warnings.contains("\"member_role_fetch_failed\""),
        "{warnings}"
    );
    assert_eq!(count(&dir, "userRoleAssignments"), 0);
    validate(&dir);
}

#[test]
fn transient_faults_are_retried_and_the_package_is_unchanged() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config::default()));
    fake.load_fixture(&tenant_fixture()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean");
    assert_eq!(
        export(&fake, &clean, &["--entities", "all", "--quiet"]).code,
        0
    );
    fake.push_fault(Route::User, Fault::Status(503));
    fake.push_fault(Route::User, Fault::Drop);
    fake.push_fault(
        Route::OrgMembers,
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    );
    fake.push_fault(Route::Organizations, Fault::Status(500));
    fake.expire_tokens();
    let faulty = tmp.path().join("faulty");
    let r = export(&fake, &faulty, &["--entities", "all", "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for f in [
        "users.csv",
        "organization_memberships.csv",
        "user_role_assignments.csv",
    ] {
        assert_eq!(read(&clean.join(f)), read(&faulty.join(f)), "{f}");
    }
}

#[test]
fn metadata_mode_reads_past_1000_users_through_an_export_job() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config {
        job_polls_to_complete: 2,
        ..FakeAuth0Config::default()
    }));
    for i in 0..1500 {
        let org = if i % 3 == 0 {
            json!({})
        } else {
            json!({"org_id": format!("org_{}", i % 7), "org_name": format!("Org {}", i % 7)})
        };
        fake.add_user(
            json!({"user_id": format!("auth0|m{i:05}"), "email": format!("m{i}@example.com"),
            "app_metadata": org,
            "identities": [{"provider": "auth0", "connection": "db", "isSocial": false}]}),
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = export(
        &fake,
        &dir,
        &["--use-metadata", "--bulk-poll-interval-ms", "10", "--quiet"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(count(&dir, "users"), 1000);
    assert_eq!(count(&dir, "skippedUsers"), 500);
    assert_eq!(count(&dir, "organizations"), 7);
    assert_eq!(fake.count_status(400), 0);
    assert_eq!(fake.job_count(), 1);
    validate(&dir);
}

#[test]
fn bulk_job_engine_streams_the_job_file_and_reports_junk_lines() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::synthetic(3000, 10));
    fake.push_job_faults(vec![JobFault::JunkEvery(1000)]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = export(
        &fake,
        &dir,
        &[
            "--engine",
            "bulk-job",
            "--entities",
            "users",
            "--bulk-poll-interval-ms",
            "10",
            "--quiet",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let users = count(&dir, "users");
    let skipped = count(&dir, "skippedUsers");
    assert_eq!(users + skipped, 3000, "job users = rows + skipped");
    let warnings = read(&dir.join("warnings.jsonl"));
    assert!(
        warnings.contains("bulk_export_unparsable_lines"),
        "{warnings}"
    );
    assert!(!warnings.contains("not json"));
    // No job file is left behind.
    assert!(walk(&dir)
        .iter()
        .all(|p| !p.to_string_lossy().contains(".auth0-job-")));
    validate(&dir);
}

fn assert_one_line_failure(r: &Run, dir: &Path, needle: &str) {
    assert_ne!(r.code, 0, "{}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{:?}", r.stderr);
    assert!(lines[0].contains(needle), "{} (wanted {needle})", lines[0]);
    assert!(!r.stderr.contains("fake-auth0-secret"));
    assert!(!dir.join("manifest.json").exists());
}

#[test]
fn bad_input_is_one_line_and_leaves_no_manifest() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config::default()));
    fake.load_fixture(&tenant_fixture()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let d = dir.to_string_lossy().into_owned();

    // Wrong client secret.
    let r = run_bin(&[
        "export",
        "auth0",
        "--domain",
        &fake.url(),
        "--client-id",
        &fake.client_id(),
        "--client-secret",
        "wrong-secret",
        "--output-dir",
        &d,
    ]);
    assert_one_line_failure(&r, &dir, "Failed to get Auth0 access token");
    assert!(!r.stderr.contains("wrong-secret"));

    // Unreachable domain (nothing listens on port 9 of loopback).
    let r = run_bin(&[
        "export",
        "auth0",
        "--domain",
        "http://127.0.0.1:9",
        "--client-id",
        "x",
        "--client-secret",
        "y",
        "--output-dir",
        &d,
    ]);
    assert_one_line_failure(&r, &dir, "Failed to get Auth0 access token");

    // An https host that refuses (loopback, closed port).
    let r = run_bin(&[
        "export",
        "auth0",
        "--domain",
        "https://127.0.0.1:9",
        "--client-id",
        "x",
        "--client-secret",
        "y",
        "--output-dir",
        &d,
    ]);
    assert_one_line_failure(&r, &dir, "Failed to get Auth0 access token");

    // Plain http to a non-loopback host.
    let r = run_bin(&[
        "export",
        "auth0",
        "--domain",
        "http://tenant.auth0.com",
        "--client-id",
        "x",
        "--client-secret",
        "y",
        "--output-dir",
        &d,
    ]);
    assert_one_line_failure(
        &r,
        &dir,
        "--domain: plain http is only allowed for loopback",
    );

    // Absurd option values.
    for (flag, value, needle) in [
        ("--rate-limit", "0", "--rate-limit must be"),
        ("--rate-limit", "fast", "--rate-limit must be a number"),
        (
            "--page-size",
            "500",
            "--page-size must be between 1 and 100",
        ),
        (
            "--user-fetch-concurrency",
            "0",
            "--user-fetch-concurrency must be",
        ),
        ("--engine", "turbo", "--engine must be"),
        (
            "--entities",
            "users,groups",
            "Unsupported Auth0 package entity \"groups\"",
        ),
    ] {
        let r = export(&fake, &dir, &[flag, value]);
        assert_one_line_failure(&r, &dir, needle);
        assert_eq!(r.code, 1);
    }

    // 403 on every call.
    fake.push_fault(Route::Organizations, Fault::Status(403));
    let r = export(&fake, &dir, &[]);
    assert_one_line_failure(&r, &dir, "Auth0 connection failed: Auth0 API error (403)");

    // A job that fails, and a truncated gzip.
    fake.push_job_faults(vec![JobFault::Fail("disk full".into())]);
    let r = export(
        &fake,
        &dir,
        &["--engine", "bulk-job", "--bulk-poll-interval-ms", "10"],
    );
    assert_one_line_failure(&r, &dir, "failed: disk full");
    fake.push_job_faults(vec![JobFault::TruncateAfter(3)]);
    let r = export(
        &fake,
        &dir,
        &["--engine", "bulk-job", "--bulk-poll-interval-ms", "10"],
    );
    assert_one_line_failure(&r, &dir, "truncated");
}

#[test]
fn organization_ids_with_slash_and_pipe_are_encoded() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config::default()));
    fake.add_org(json!({"id": "org/a|b", "name": "odd"}));
    fake.add_user(json!({"user_id": "auth0|x", "email": "x@example.com",
        "identities": [{"provider": "auth0", "connection": "db", "isSocial": false}]}));
    fake.add_member("org/a|b", "auth0|x");
    fake.add_role(json!({"id": "rol_1", "name": "Editor"}));
    fake.assign_member_role("org/a|b", "auth0|x", "rol_1");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = export(
        &fake,
        &dir,
        &["--entities", "all", "--orgs", "org/a|b", "--quiet"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(count(&dir, "memberships"), 1);
    assert_eq!(count(&dir, "userRoleAssignments"), 1);
    assert!(fake.requests().iter().any(|q| q
        .path_and_query
        .starts_with("/api/v2/organizations/org%2Fa%7Cb/")));
    validate(&dir);
}

#[test]
fn missing_connection_options_scope_skips_sso_with_a_warning() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config::default()));
    fake.load_fixture(&tenant_fixture()).unwrap();
    fake.set_connections_scope(ConnectionsScope::ConnectionsListingForbidden);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = export(&fake, &dir, &["--entities", "sso", "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(read(&dir.join("warnings.jsonl")).contains("missing_connections_options_scope"));
    assert_eq!(
        std::fs::metadata(dir.join("raw/auth0-connections.jsonl"))
            .unwrap()
            .len(),
        0
    );
    assert_eq!(count(&dir, "samlConnections"), 0);
    validate(&dir);
}

fn package_files_without_timestamps(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = walk(dir)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let text = read(&p);
            let text = if rel.ends_with(".jsonl") {
                jsonl_without_timestamps(&p).join("\n")
            } else if rel == "manifest.json" {
                let mut m: Value = serde_json::from_str(&text).unwrap();
                m.as_object_mut().unwrap().shift_remove("generatedAt");
                m.to_string()
            } else {
                text
            };
            (rel, text)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn sigkilled_exports_resume_to_the_same_package() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config::default()));
    fake.load_fixture(&tenant_fixture()).unwrap();
    seed_orgs(&fake, 120, 40);
    let tmp = tempfile::tempdir().unwrap();
    let args = ["--entities", "all", "--rate-limit", "150", "--quiet"];

    let clean = tmp.path().join("clean");
    let r = export(&fake, &clean, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let clean_user_fetches = fake.count(Route::User);
    let full = r.elapsed;

    let dir = tmp.path().join("resumed");
    let d = dir.to_string_lossy().into_owned();
    let url = fake.url();
    let id = fake.client_id();
    let secret = fake.client_secret();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    fake.reset_counters();
    let mut kills = 0;
    let mut replayed_any = false;
    for attempt in 0..5 {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_workos-migrate"));
        cmd.args([
            "export",
            "auth0",
            "--domain",
            &url,
            "--client-id",
            &id,
            "--client-secret",
            &secret,
            "--output-dir",
            &d,
            "--job-id",
            "kill-test",
        ]);
        cmd.args(args);
        if attempt > 0 {
            cmd.arg("--resume");
        }
        let finished = finished_orgs(&dir);
        replayed_any |= !finished.is_empty();
        fake.reset_counters();
        let mut child = cmd.spawn().unwrap();
        // Somewhere in the first 60 % of an uninterrupted run.
        let at = full.mul_f64(0.05 + 0.55 * rng.f64());
        std::thread::sleep(at);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        assert!(!dir.join("manifest.json").exists() || child_finished(&dir));
        assert_not_refetched(&fake, &finished);
    }
    assert!(kills >= 3, "only {kills} runs were killed");
    assert!(replayed_any, "no run resumed from a finished organization");
    let finished = finished_orgs(&dir);
    fake.reset_counters();
    let r = export(
        &fake,
        &dir,
        &[&args[..], &["--job-id", "kill-test", "--resume"]].concat(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_not_refetched(&fake, &finished);
    assert_eq!(
        package_files_without_timestamps(&clean),
        package_files_without_timestamps(&dir)
    );
    let _ = clean_user_fetches;
    assert!(!dir.join(".workos-checkpoints").exists());
    validate(&dir);
}

/// Organization ids whose checkpoint segment is complete.
fn finished_orgs(dir: &Path) -> Vec<String> {
    let cp = dir.join(".workos-checkpoints/kill-test");
    let Ok(entries) = std::fs::read_dir(&cp) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let hex = name
                .strip_prefix("org-")?
                .strip_suffix(".parquet")?
                .to_string();
            Some(String::from_utf8(hex::decode(hex).ok()?).unwrap())
        })
        .collect()
}

/// No member listing or member-role request touched a finished organization.
fn assert_not_refetched(fake: &FakeAuth0, finished: &[String]) {
    for q in fake.requests() {
        for org in finished {
            let prefix = format!("/api/v2/organizations/{}/members", org.replace('|', "%7C"));
            assert!(
                !q.path_and_query.starts_with(&prefix),
                "finished organization {org} fetched again: {}",
                q.path_and_query
            );
        }
    }
}

/// A run that was not killed in time finishes with a complete package.
fn child_finished(dir: &Path) -> bool {
    run_bin(&["validate-package", &dir.to_string_lossy()]).code == 0
}
