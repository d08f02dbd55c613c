//! `process-role-definitions` and `enroll-totp` end to end: the real binary
//! against the stateful fake WorkOS (`tests/fakes/workos.rs`).
//!
//! Covers: permissions, environment and organization roles created with
//! their permissions, and a second run that creates nothing; organization
//! roles by external id and `--org-id` only as a default; role assignment by
//! email and by external id (the source `user_id` never reaches WorkOS),
//! roles unioned on the membership, the single-role fallback; TOTP from CSV
//! and NDJSON (`mfa_factors`), skipped on a re-run, a bad secret reported
//! without the secret anywhere; dry runs making zero requests; the missing
//! or rejected key as a one-line error; bad numeric options refused.

mod fakes;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fakes::workos::{FakeWorkOs, FakeWorkOsConfig};
use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs the binary in `cwd` with a clean WorkOS environment plus `env`.
fn run(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workos-migrate"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("WORKOS_SECRET_KEY")
        .env_remove("WORKOS_API_URL")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run workos-migrate");
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    r
}

/// Runs against `fake` (key and base URL from the environment).
fn live(fake: &FakeWorkOs, cwd: &Path, args: &[&str]) -> Run {
    let key = fake.api_key();
    let url = fake.base_url();
    run(
        cwd,
        &[("WORKOS_SECRET_KEY", &key), ("WORKOS_API_URL", &url)],
        args,
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

async fn fake() -> FakeWorkOs {
    FakeWorkOs::start(FakeWorkOsConfig::default()).await
}

/// A fake injecting `faults` (deterministically, from `seed`).
async fn faulty(faults: fakes::workos::FaultPlan, seed: u64) -> FakeWorkOs {
    FakeWorkOs::start(FakeWorkOsConfig {
        faults,
        seed,
        ..Default::default()
    })
    .await
}

/// Every answer held back `ms` (applied first, then answered).
fn slow_answers(ms: u64) -> fakes::workos::FaultPlan {
    fakes::workos::FaultPlan {
        slow_rate: 1.0,
        slow_delay: std::time::Duration::from_millis(ms),
        ..Default::default()
    }
}

fn role<'a>(roles: &'a [Value], slug: &str) -> &'a Value {
    roles
        .iter()
        .find(|r| r["slug"] == slug)
        .unwrap_or_else(|| panic!("no role {slug} in {roles:?}"))
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => other["slug"].as_str().unwrap().to_string(),
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn route(fake: &FakeWorkOs, r: &str) -> u64 {
    fake.stats().by_route.get(r).copied().unwrap_or(0)
}

fn membership_roles(fake: &FakeWorkOs, user_id: &str, org_id: &str) -> BTreeSet<String> {
    let m = fake
        .memberships()
        .into_iter()
        .find(|m| m["user_id"] == user_id && m["organization_id"] == org_id)
        .unwrap_or_else(|| panic!("no membership of {user_id} in {org_id}"));
    strings(&m["roles"])
}

const DEFINITIONS_HEADER: &str = "role_slug,role_name,role_type,permissions,org_id,org_external_id";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_definitions_are_created_then_found_on_a_second_run() {
    let fake = fake().await;
    let acme = fake.seed_organization("Acme", Some("acme"));
    let globex = fake.seed_organization("Globex", Some("globex"));
    let dir = tempfile::tempdir().unwrap();
    let defs = write(
        dir.path(),
        "roles.csv",
        &format!(
            "{DEFINITIONS_HEADER}\n\
             billing-admin,Billing Admin,environment,\"billing:read,billing:write\",,\n\
             viewer,Viewer,environment,\"[\"\"users:read\"\"]\",,\n\
             org-auditor,Org Auditor,organization,\"users:read,audit:read\",{acme},\n\
             org-support,Org Support,organization,users:read,,globex\n"
        ),
    );
    let r = live(
        &fake,
        dir.path(),
        &["process-role-definitions", "--definitions", s(&defs)],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.starts_with("WorkOS Role Definitions Processor\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("  Total definitions: 4\n  Created: 4\n  Already exist: 0\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("  Permissions: 4 created, 0 already exist\n"),
        "{}",
        r.stdout
    );

    let perms: BTreeSet<String> = fake
        .permissions()
        .iter()
        .map(|p| p["slug"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        perms,
        set(&["billing:read", "billing:write", "users:read", "audit:read"])
    );
    let billing_read = fake
        .permissions()
        .into_iter()
        .find(|p| p["slug"] == "billing:read")
        .unwrap();
    assert_eq!(billing_read["name"], "Billing Read");

    let roles = fake.roles();
    let billing = role(&roles, "billing-admin");
    assert_eq!(billing["type"], "EnvironmentRole");
    assert_eq!(
        strings(&billing["permissions"]),
        set(&["billing:read", "billing:write"])
    );
    assert_eq!(
        strings(&role(&roles, "viewer")["permissions"]),
        set(&["users:read"])
    );
    let auditor = role(&roles, "org-auditor");
    assert_eq!(auditor["type"], "OrganizationRole");
    assert_eq!(auditor["organization_id"], acme.as_str());
    assert_eq!(
        strings(&auditor["permissions"]),
        set(&["users:read", "audit:read"])
    );
    let support = role(&roles, "org-support");
    assert_eq!(
        support["organization_id"],
        globex.as_str(),
        "resolved through org_external_id"
    );
    assert_eq!(
        route(&fake, "GET /organizations/external_id/{external_id}"),
        1
    );

    // Second run: nothing created, every role found.
    let roles_before = fake.roles().len();
    let creates = route(&fake, "POST /authorization/roles")
        + route(
            &fake,
            "POST /authorization/organizations/{organization_id}/roles",
        );
    let r = live(
        &fake,
        dir.path(),
        &["process-role-definitions", "--definitions", s(&defs)],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .contains("  Total definitions: 4\n  Created: 0\n  Already exist: 4\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("  Permissions: 0 created, 4 already exist\n"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("Warnings"), "{}", r.stdout);
    assert_eq!(fake.roles().len(), roles_before);
    assert_eq!(
        route(&fake, "POST /authorization/roles")
            + route(
                &fake,
                "POST /authorization/organizations/{organization_id}/roles"
            ),
        creates,
        "no create attempted on the second run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_id_option_is_only_a_default_and_missing_permissions_are_added() {
    let fake = fake().await;
    let acme = fake.seed_organization("Acme", None);
    let globex = fake.seed_organization("Globex", Some("globex"));
    let dir = tempfile::tempdir().unwrap();
    let defs = write(
        dir.path(),
        "roles.csv",
        &format!(
            "{DEFINITIONS_HEADER}\n\
             org-a,Org A,organization,docs:read,,\n\
             org-b,Org B,organization,docs:read,,globex\n\
             org-c,Org C,organization,docs:read,,missing-org\n"
        ),
    );
    let r = live(
        &fake,
        dir.path(),
        &[
            "process-role-definitions",
            "--definitions",
            s(&defs),
            "--org-id",
            &acme,
        ],
    );
    assert_eq!(r.code, 1, "the unknown org is an error: {}", r.all());
    assert!(r.stdout.contains("  Org ID: "), "{}", r.stdout);
    assert!(r.stdout.contains("  Created: 2\n"), "{}", r.stdout);
    assert!(r.stdout.contains("  Errors: 1\n"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("Organization not found for org_external_id \"missing-org\""),
        "{}",
        r.stdout
    );
    let roles = fake.roles();
    assert_eq!(role(&roles, "org-a")["organization_id"], acme.as_str());
    assert_eq!(
        role(&roles, "org-b")["organization_id"],
        globex.as_str(),
        "--org-id must not override the row's org"
    );

    // A role whose permissions were lost (e.g. an interrupted run) is repaired, nothing removed.
    let defs2 = write(
        dir.path(),
        "roles2.csv",
        &format!(
            "{DEFINITIONS_HEADER}\norg-b,Org B,organization,\"docs:read,docs:write\",,globex\n"
        ),
    );
    let r = live(
        &fake,
        dir.path(),
        &["process-role-definitions", "--definitions", s(&defs2)],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("Already exist: 1"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("Permission mismatch for org role \"org-b\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("missing=[docs:write] extra=[]"),
        "{}",
        r.stdout
    );
    assert_eq!(
        strings(&role(&fake.roles(), "org-b")["permissions"]),
        set(&["docs:read", "docs:write"])
    );
}

async fn create_membership(fake: &FakeWorkOs, user: &str, org: &str, slug: &str) {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/user_management/organization_memberships",
            fake.base_url()
        ))
        .bearer_auth(fake.api_key())
        .json(&serde_json::json!({"organization_id": org, "user_id": user, "role_slug": slug}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_mapping_by_email_and_external_id_unions_roles() {
    let fake = fake().await;
    let acme = fake.seed_organization("Acme", Some("acme"));
    let alice = fake.seed_user("alice@example.com", Some("src-alice"));
    let bob = fake.seed_user("bob@example.com", Some("src-bob"));
    create_membership(&fake, &bob, &acme, "member").await;
    let dir = tempfile::tempdir().unwrap();
    let defs = write(
        dir.path(),
        "roles.csv",
        &format!("{DEFINITIONS_HEADER}\nbilling-admin,Billing Admin,environment,billing:read,,\n"),
    );
    let mapping = write(
        dir.path(),
        "user_role_assignments.csv",
        &format!(
            "email,user_id,external_id,role_slug,org_id,org_external_id\n\
             ALICE@example.com,auth0|src_1,,admin,,acme\n\
             alice@example.com,auth0|src_1,,billing-admin,,acme\n\
             ,auth0|src_2,src-bob,billing-admin,{acme},\n\
             ghost@example.com,,,admin,,acme\n"
        ),
    );
    let args = [
        "process-role-definitions",
        "--definitions",
        s(&defs),
        "--user-mapping",
        s(&mapping),
    ];
    let r = live(&fake, dir.path(), &args);
    assert_eq!(r.code, 1, "the unknown user is a failure: {}", r.all());
    assert!(
        r.stdout.contains("\nAssigning roles to users...\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Role Assignment Summary\n  Total mappings: 4\n  Assigned: 3\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("  Memberships created: 1\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("  User not found: 1\n  Failures: 1\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("User not found: ghost@example.com"),
        "{}",
        r.stdout
    );

    assert_eq!(
        membership_roles(&fake, &alice, &acme),
        set(&["admin", "billing-admin"])
    );
    assert_eq!(
        membership_roles(&fake, &bob, &acme),
        set(&["member", "billing-admin"])
    );
    assert_eq!(
        route(
            &fake,
            "GET /user_management/users/external_id/{external_id}"
        ),
        1
    );
    for req in fake.recorded() {
        assert!(
            !req.path_and_query.contains("src_1") && !req.path_and_query.contains("src_2"),
            "a source user_id reached WorkOS: {} {}",
            req.method,
            req.path_and_query
        );
    }

    // Re-run: every role is already held, nothing written.
    let puts = route(&fake, "PUT /user_management/organization_memberships/{id}");
    let r = live(&fake, dir.path(), &args);
    assert!(
        r.stdout.contains("  Assigned: 3\n  Already assigned: 3\n"),
        "{}",
        r.stdout
    );
    assert_eq!(
        route(&fake, "PUT /user_management/organization_memberships/{id}"),
        puts
    );
    assert_eq!(
        membership_roles(&fake, &alice, &acme),
        set(&["admin", "billing-admin"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_role_environment_falls_back_to_the_rows_role() {
    let fake = fake().await;
    fake.set_multiple_roles_enabled(false);
    let acme = fake.seed_organization("Acme", None);
    let carol = fake.seed_user("carol@example.com", None);
    create_membership(&fake, &carol, &acme, "member").await;
    let dir = tempfile::tempdir().unwrap();
    let defs = write(dir.path(), "roles.csv", &format!("{DEFINITIONS_HEADER}\n"));
    let mapping = write(
        dir.path(),
        "map.csv",
        "email,role_slug\ncarol@example.com,admin\n",
    );
    let r = live(
        &fake,
        dir.path(),
        &[
            "process-role-definitions",
            "--definitions",
            s(&defs),
            "--user-mapping",
            s(&mapping),
            "--org-id",
            &acme,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("Multiple roles are not enabled"),
        "{}",
        r.stdout
    );
    assert_eq!(membership_roles(&fake, &carol, &acme), set(&["admin"]));

    // Without --org-id and without org columns the mapping is refused up front.
    let r = live(
        &fake,
        dir.path(),
        &[
            "process-role-definitions",
            "--definitions",
            s(&defs),
            "--user-mapping",
            s(&mapping),
        ],
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "--org-id is required when using --user-mapping"
    );
}

const SECRET_A: &str = "JBSWY3DPEHPK3PXP";
const SECRET_B: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const BAD_SECRET: &str = "NOT1VALID8SECRET0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enroll_totp_from_csv_then_skip_on_rerun() {
    let fake = fake().await;
    let a = fake.seed_user("a@example.com", None);
    fake.seed_user("b@example.com", None);
    fake.seed_user("c@example.com", None);
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "totp_secrets.csv",
        &format!(
            "email,totp_secret,totp_issuer,totp_user\n\
             A@Example.com,jbsw y3dp ehpk 3pxp,RowIssuer,alice\n\
             b@example.com,{SECRET_B},,\n\
             c@example.com,{BAD_SECRET},,\n\
             nobody@example.com,{SECRET_B},,\n\
             d@example.com,,,\n"
        ),
    );
    let args = [
        "enroll-totp",
        "--input",
        s(&input),
        "--totp-issuer",
        "MyApp",
        "--rate-limit",
        "200",
    ];
    let r = live(&fake, dir.path(), &args);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout.starts_with("WorkOS TOTP Enrollment\n  Input: "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("totp_secrets.csv (csv)\n  Concurrency: 5\n  Rate limit: 200 req/s\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "TOTP Enrollment Summary\n  Total records: 4\n  Enrolled: 2\n  Skipped (already enrolled): 0\n  User not found: 1\n  Failures: 2\n"
        ),
        "{}",
        r.stdout
    );
    let factors = fake.auth_factors();
    assert_eq!(factors.len(), 2);
    let fa = factors.iter().find(|f| f["user_id"] == a.as_str()).unwrap();
    assert_eq!(fa["totp"]["secret"], SECRET_A, "normalized secret sent");
    assert_eq!(fa["totp"]["issuer"], "MyApp", "--totp-issuer wins");
    assert_eq!(fa["totp"]["user"], "alice");

    let errors_path = dir.path().join("totp-errors.jsonl");
    let errors = std::fs::read_to_string(&errors_path).unwrap();
    let lines: Vec<Value> = errors
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{errors}");
    let bad = lines
        .iter()
        .find(|l| l["email"] == "c@example.com")
        .unwrap();
    assert_eq!(bad["errorType"], "parse");
    assert!(bad["errorMessage"]
        .as_str()
        .unwrap()
        .contains("not valid Base32"));
    let missing = lines
        .iter()
        .find(|l| l["email"] == "nobody@example.com")
        .unwrap();
    assert_eq!(missing["errorType"], "user_lookup");
    assert_eq!(
        missing["errorMessage"],
        "No WorkOS user found for email: nobody@example.com"
    );
    let keys: Vec<&String> = missing.as_object().unwrap().keys().collect();
    assert_eq!(
        keys[..5],
        [
            "recordNumber",
            "email",
            "errorType",
            "errorMessage",
            "timestamp"
        ]
    );
    for secret in [SECRET_A, SECRET_B, BAD_SECRET, "jbsw"] {
        assert!(!errors.contains(secret), "secret in the errors file");
        assert!(!r.all().contains(secret), "secret in the output");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&errors_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Re-run: both users already have a factor, nothing enrolled twice.
    let posts = route(&fake, "POST /user_management/users/{id}/auth_factors");
    let r = live(&fake, dir.path(), &args);
    assert!(
        r.stdout
            .contains("  Enrolled: 0\n  Skipped (already enrolled): 2\n"),
        "{}",
        r.stdout
    );
    assert_eq!(
        route(&fake, "POST /user_management/users/{id}/auth_factors"),
        posts
    );
    assert_eq!(fake.auth_factors().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enroll_totp_from_ndjson_with_mfa_factors() {
    let fake = fake().await;
    for u in ["a@example.com", "b@example.com", "c@example.com"] {
        fake.seed_user(u, None);
    }
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "factors.jsonl",
        &format!(
            "{{\"email\":\"a@example.com\",\"totp_secret\":\"{SECRET_A}\"}}\n\
             \n\
             {{\"email\":\"b@example.com\",\"secret\":\"{SECRET_B}\"}}\n\
             {{\"email\":\"C@example.com\",\"mfa_factors\":[{{\"type\":\"sms\",\"secret\":\"x\"}},{{\"type\":\"totp\",\"secret\":\"{SECRET_B}\"}}]}}\n\
             {{\"email\":\"d@example.com\"}}\n"
        ),
    );
    let errors = dir.path().join("errs.jsonl");
    let r = live(
        &fake,
        dir.path(),
        &[
            "enroll-totp",
            "--input",
            s(&input),
            "--errors",
            s(&errors),
            "--rate-limit",
            "200",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("factors.jsonl (ndjson)"), "{}", r.stdout);
    assert!(
        r.stdout.contains("  Total records: 3\n  Enrolled: 3\n"),
        "{}",
        r.stdout
    );
    assert_eq!(fake.auth_factors().len(), 3);
    assert_eq!(std::fs::read_to_string(&errors).unwrap(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_make_no_requests() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let defs = write(
        dir.path(),
        "roles.csv",
        &format!(
            "{DEFINITIONS_HEADER}\nadmin2,Admin 2,environment,a:b,,\norg-x,Org X,organization,a:b,,acme\n"
        ),
    );
    let mapping = write(
        dir.path(),
        "map.csv",
        "email,user_id,external_id,role_slug,org_id,org_external_id\nalice@example.com,,,admin2,,acme\n,,ext-1,admin2,,acme\n",
    );
    let r = live(
        &fake,
        dir.path(),
        &[
            "process-role-definitions",
            "--definitions",
            s(&defs),
            "--user-mapping",
            s(&mapping),
            "--dry-run",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("  Mode: DRY RUN\n"), "{}", r.stdout);
    assert!(r.stdout.contains("  Created: 2\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains("  Total mappings: 2\n  Assigned: 2\n"),
        "{}",
        r.stdout
    );

    let input = write(
        dir.path(),
        "t.csv",
        &format!("email,totp_secret\na@example.com,{SECRET_A}\n"),
    );
    let r = live(
        &fake,
        dir.path(),
        &["enroll-totp", "--input", s(&input), "--dry-run"],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("  Mode: DRY RUN\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains("  Total records: 1\n  Enrolled: 1\n"),
        "{}",
        r.stdout
    );

    // No key at all is fine for a dry run.
    let r = run(
        dir.path(),
        &[],
        &["enroll-totp", "--input", s(&input), "--dry-run", "--quiet"],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(r.stdout, "");
    assert_eq!(fake.stats().total_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_rejected_key_is_a_one_line_error() {
    let fake = fake().await;
    fake.seed_user("a@example.com", None);
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "t.csv",
        &format!("email,totp_secret\na@example.com,{SECRET_A}\n"),
    );
    let defs = write(
        dir.path(),
        "roles.csv",
        &format!("{DEFINITIONS_HEADER}\nr1,R1,environment,p:1,,\n"),
    );
    let url = fake.base_url();
    let missing =
        "WorkOS API key is required. Set WORKOS_SECRET_KEY environment variable or pass --api-key.";
    let r = run(
        dir.path(),
        &[("WORKOS_API_URL", &url)],
        &["enroll-totp", "--input", s(&input)],
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, format!("TOTP enrollment failed: {missing}\n"));
    let r = run(
        dir.path(),
        &[("WORKOS_API_URL", &url)],
        &["process-role-definitions", "--definitions", s(&defs)],
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, format!("Role processing failed: {missing}\n"));
    assert_eq!(fake.stats().total_requests, 0);

    let env = [
        ("WORKOS_API_URL", url.as_str()),
        ("WORKOS_SECRET_KEY", "sk_test_wrong"),
    ];
    let r = run(
        dir.path(),
        &env,
        &["enroll-totp", "--input", s(&input), "--quiet"],
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "TOTP enrollment failed: Could not authorize the request. Maybe your API key is invalid?\n"
    );
    assert!(!r.stderr.contains("sk_test_wrong"));
    let r = run(
        dir.path(),
        &env,
        &[
            "process-role-definitions",
            "--definitions",
            s(&defs),
            "--quiet",
        ],
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "Role processing failed: Could not authorize the request. Maybe your API key is invalid?\n"
    );
}

#[test]
fn bad_options_and_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "t.csv", "email,totp_secret\n");
    for (flag, value) in [
        ("--concurrency", "0"),
        ("--concurrency", "abc"),
        ("--concurrency", "10x"),
        ("--rate-limit", "0"),
        ("--rate-limit", "-5"),
    ] {
        let arg = format!("{flag}={value}");
        let r = run(
            dir.path(),
            &[],
            &["enroll-totp", "--input", s(&input), &arg, "--dry-run"],
        );
        assert_ne!(r.code, 0, "{flag} {value} accepted");
        assert!(r.stderr.contains(flag), "{flag} {value}: {}", r.stderr);
    }
    let r = run(
        dir.path(),
        &[],
        &["enroll-totp", "--input", s(&input), "--format", "xml"],
    );
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "--format must be csv or ndjson\n")
    );
    let r = run(dir.path(), &[], &["enroll-totp", "--input", "nope.csv"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.starts_with("Input file not found: /") && r.stderr.ends_with("nope.csv\n"),
        "{}",
        r.stderr
    );
    let r = run(
        dir.path(),
        &[],
        &["process-role-definitions", "--definitions", "nope.csv"],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.starts_with("Definitions file not found: /"),
        "{}",
        r.stderr
    );
    let defs = write(dir.path(), "bad.csv", "role_slug,role_name\n");
    let r = run(
        dir.path(),
        &[],
        &[
            "process-role-definitions",
            "--definitions",
            s(&defs),
            "--dry-run",
        ],
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "Role processing failed: Role definitions CSV missing required columns: role_type, permissions. Found: role_slug, role_name\n"
    );
}

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_fixtures_apply_to_a_fresh_environment() {
    let fake = fake().await;
    let acme = fake.seed_organization("Acme", Some("acme"));
    let globex = fake.seed_organization("Globex", Some("globex"));
    let alice = fake.seed_user("alice@example.com", Some("auth0|alice"));
    let bob = fake.seed_user("bob@example.com", Some("auth0|bob"));
    let carol = fake.seed_user("carol@example.com", None);
    let dir = tempfile::tempdir().unwrap();
    let r = live(
        &fake,
        dir.path(),
        &[
            "process-role-definitions",
            "--definitions",
            &fixture("roles/role_definitions.csv"),
            "--user-mapping",
            &fixture("roles/user_role_assignments.csv"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        membership_roles(&fake, &alice, &acme),
        set(&["billing-admin", "org-auditor"])
    );
    assert_eq!(membership_roles(&fake, &bob, &globex), set(&["viewer"]));
    assert_eq!(
        membership_roles(&fake, &carol, &globex),
        set(&["org-support"])
    );

    let r = live(
        &fake,
        dir.path(),
        &[
            "enroll-totp",
            "--input",
            &fixture("totp/mfa_factors.jsonl"),
            "--rate-limit",
            "200",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("  Enrolled: 3\n"), "{}", r.stdout);
    let r = live(
        &fake,
        dir.path(),
        &[
            "enroll-totp",
            "--input",
            &fixture("totp/totp_secrets.csv"),
            "--rate-limit",
            "200",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .contains("  Enrolled: 0\n  Skipped (already enrolled): 2\n"),
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_retried_and_the_end_state_is_right() {
    let plan = fakes::workos::FaultPlan {
        error_rate: 0.15,
        drop_after_rate: 0.15,
        ..Default::default()
    };
    let fake = faulty(plan, 42).await;
    let acme = fake.seed_organization("Acme", Some("acme"));
    let users: Vec<String> = (0..4)
        .map(|i| fake.seed_user(&format!("u{i}@example.com"), Some(&format!("ext-{i}"))))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let defs = write(
        dir.path(),
        "roles.csv",
        &format!(
            "{DEFINITIONS_HEADER}\n\
             auditor,Auditor,environment,\"audit:read,audit:export\",,\n\
             org-ops,Ops,organization,ops:run,,acme\n"
        ),
    );
    let mut mapping = String::from("email,user_id,external_id,role_slug,org_id,org_external_id\n");
    for i in 0..4 {
        mapping.push_str(&format!(
            "u{i}@example.com,,,auditor,,acme\n,,ext-{i},org-ops,,acme\n"
        ));
    }
    let mapping = write(dir.path(), "map.csv", &mapping);
    let r = live(
        &fake,
        dir.path(),
        &[
            "process-role-definitions",
            "--definitions",
            s(&defs),
            "--user-mapping",
            s(&mapping),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    let roles = fake.roles();
    assert_eq!(
        strings(&role(&roles, "auditor")["permissions"]),
        set(&["audit:read", "audit:export"])
    );
    assert_eq!(
        strings(&role(&roles, "org-ops")["permissions"]),
        set(&["ops:run"])
    );
    for u in &users {
        assert_eq!(
            membership_roles(&fake, u, &acme),
            set(&["auditor", "org-ops"])
        );
    }

    let mut input = String::from("email,totp_secret\n");
    for i in 0..4 {
        input.push_str(&format!("u{i}@example.com,{SECRET_B}\n"));
    }
    let input = write(dir.path(), "t.csv", &input);
    let r = live(
        &fake,
        dir.path(),
        &["enroll-totp", "--input", s(&input), "--rate-limit", "200"],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    let factors = fake.auth_factors();
    assert_eq!(factors.len(), 4, "one factor per user");
    assert!(fake.stats().faults_injected > 0, "the plan injected faults");
}

/// User-role rows are applied by several workers (requests overlap at the
/// fake), yet every membership ends with exactly the union of its rows'
/// roles, also when one user is named by email in some rows and by external
/// id in others (those rows still meet at one worker, so no update is lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_rows_are_applied_concurrently_without_lost_updates() {
    // Every answer is held back longer than the client's pacing interval
    // (~21 ms at the default 50/s), so a client that waits for each answer
    // never has two in flight; one that does not has.
    let fake = faulty(slow_answers(80), 7).await;
    let acme = fake.seed_organization("Acme", Some("acme"));
    let users: Vec<String> = (0..24)
        .map(|i| fake.seed_user(&format!("u{i}@example.com"), Some(&format!("ext-{i}"))))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let defs = write(
        dir.path(),
        "roles.csv",
        &format!(
            "{DEFINITIONS_HEADER}\n\
             admin,Admin,environment,,,\n\
             member,Member,environment,,,\n\
             billing,Billing,environment,,,\n"
        ),
    );
    // Each user's three rows are spread over the file and alternate between
    // email and external id.
    let mut mapping = String::from("email,user_id,external_id,role_slug,org_id,org_external_id\n");
    for slug in ["admin", "member", "billing"] {
        for i in 0..24 {
            if (i + slug.len()) % 2 == 0 {
                mapping.push_str(&format!("U{i}@Example.com,,,{slug},,acme\n"));
            } else {
                mapping.push_str(&format!(",,ext-{i},{slug},,acme\n"));
            }
        }
    }
    let mapping = write(dir.path(), "map.csv", &mapping);
    let args = [
        "process-role-definitions",
        "--definitions",
        s(&defs),
        "--user-mapping",
        s(&mapping),
    ];
    let r = live(&fake, dir.path(), &args);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("  Total mappings: 72\n  Assigned: 72\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("  Memberships created: 24\n"),
        "{}",
        r.stdout
    );
    for u in &users {
        assert_eq!(
            membership_roles(&fake, u, &acme),
            set(&["admin", "member", "billing"])
        );
    }
    assert_eq!(fake.memberships().len(), 24);
    let stats = fake.stats();
    assert!(
        (2..=10).contains(&stats.max_in_flight),
        "requests in flight at once: {}",
        stats.max_in_flight
    );
    // A re-run writes nothing.
    let writes = stats.writes;
    let r = live(&fake, dir.path(), &args);
    assert!(
        r.stdout
            .contains("  Assigned: 72\n  Already assigned: 72\n"),
        "{}",
        r.stdout
    );
    assert_eq!(fake.stats().writes, writes);
}

/// A file naming one user several times (any case) enrolls one factor: the
/// records of one email run one after another, so the later ones find the
/// factor and are skipped, although records run 5 at a time and every answer
/// is slow enough for them to overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_email_twice_in_a_file_enrolls_one_factor() {
    let fake = faulty(slow_answers(80), 3).await;
    let a = fake.seed_user("a@example.com", None);
    for i in 0..6 {
        fake.seed_user(&format!("u{i}@example.com"), None);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!(
        "email,totp_secret\na@example.com,{SECRET_A}\nA@Example.com,{SECRET_B}\na@example.com,{SECRET_A}\n"
    );
    for i in 0..6 {
        text.push_str(&format!("u{i}@example.com,{SECRET_B}\n"));
    }
    let input = write(dir.path(), "t.csv", &text);
    let r = live(
        &fake,
        dir.path(),
        &["enroll-totp", "--input", s(&input), "--rate-limit", "1000"],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .contains("  Total records: 9\n  Enrolled: 7\n  Skipped (already enrolled): 2\n"),
        "{}",
        r.stdout
    );
    let factors = fake.auth_factors();
    assert_eq!(factors.len(), 7);
    let of_a: Vec<&Value> = factors
        .iter()
        .filter(|f| f["user_id"] == a.as_str())
        .collect();
    assert_eq!(of_a.len(), 1);
    assert_eq!(
        of_a[0]["totp"]["secret"], SECRET_A,
        "the first record's secret"
    );
    // One enrollment request for a@: the later records never tried.
    assert_eq!(
        route(&fake, "POST /user_management/users/{id}/auth_factors"),
        7
    );
    // Records did overlap (other users ran alongside a@'s).
    assert!(
        fake.stats().max_in_flight >= 2,
        "{}",
        fake.stats().max_in_flight
    );
}
