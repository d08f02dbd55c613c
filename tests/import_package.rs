//! `import-package` end to end: the real binary against the stateful fake
//! WorkOS (`tests/fakes/workos.rs`), on `fixtures/packages/ts-contract/` — a
//! package written to the TypeScript tool's contract (made by
//! `fixtures/packages/make_ts_contract.py`, bcrypt hashes of `correct horse
//! battery staple` checked here with the `bcrypt` crate).
//!
//! Covers: the package imports unchanged into an empty environment (every
//! organization with domains and metadata, role, permission, user with its
//! hash, membership with its roles, role assignment and TOTP factor present
//! exactly once); a second import creates nothing and reports what exists;
//! `--dry-run` makes zero requests and needs no key; the `--plan` text; no
//! temporary files in the package; source-only `org_id`s; row failures →
//! exit 2 with `errors.jsonl`; validation failures → exit 1.

mod fakes;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fakes::workos::{FakeWorkOs, FakeWorkOsConfig};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery staple";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary with a clean WorkOS environment plus `env`.
fn run(env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workos-migrate"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
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

/// `import-package <dir> --endpoint <fake>` with the fake's key.
fn import(fake: &FakeWorkOs, dir: &Path, extra: &[&str]) -> Run {
    let key = fake.api_key();
    let url = fake.base_url();
    let mut args = vec!["import-package", s(dir), "--endpoint", &url];
    args.extend_from_slice(extra);
    run(&[("WORKOS_SECRET_KEY", &key)], &args)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/packages/ts-contract")
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.push(format!("{}/", p.strip_prefix(root).unwrap().display()));
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// A fresh copy of the fixture package.
fn package() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    copy_dir(&fixture(), &dir);
    (tmp, dir)
}

fn summary(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn slugs(v: &Value) -> BTreeSet<String> {
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

/// The fake's state without volatile fields, for before/after comparisons.
fn state(fake: &FakeWorkOs) -> Value {
    serde_json::json!({
        "users": fake.users(),
        "organizations": fake.organizations(),
        "memberships": fake.memberships(),
        "roles": fake.roles(),
        "permissions": fake.permissions(),
        "auth_factors": fake.auth_factors(),
    })
}

async fn fake() -> FakeWorkOs {
    FakeWorkOs::start(FakeWorkOsConfig::default()).await
}

const OUTPUT_FILES: [&str; 4] = [
    "workos_import_errors.jsonl",
    "workos_import_summary.json",
    "workos_membership_errors.jsonl",
    "workos_totp_errors.jsonl",
];

#[test]
fn fixture_is_a_valid_ts_contract_package_with_real_hashes() {
    use workos_migrate::package::validator::{validate_package, ValidateOptions};
    let report = validate_package(&fixture(), ValidateOptions::default());
    assert!(report.is_valid(), "{:?}", report.issues);
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    let users = std::fs::read_to_string(fixture().join("users.csv")).unwrap();
    let mut checked = 0;
    for line in users.lines().skip(1) {
        if let Some(hash) = line.split(',').find(|c| c.starts_with("$2b$")) {
            assert!(bcrypt::verify(PASSWORD, hash).unwrap(), "{hash}");
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ts_contract_package_imports_into_an_empty_environment_then_changes_nothing() {
    let fake = fake().await;
    let (_tmp, dir) = package();
    let before = files(&dir);

    let r = tokio::task::block_in_place(|| import(&fake, &dir, &[]));
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(r.stderr, "");
    assert!(r.stdout.starts_with(
        "Importing organizations...\nProcessing role definitions...\nImporting users + memberships...\nImporting organization memberships...\nAssigning roles...\nEnrolling TOTP factors...\n"
    ), "{}", r.stdout);
    assert!(r.stdout.ends_with(&format!(
        "\nImport package complete\n  Package:           {}\n  Mode:              live\n  Organizations      imported total=3 ok=3 failed=0\n  Users              imported total=5 ok=5 failed=0\n  Memberships        imported total=11 ok=11 failed=0\n  Role definitions   imported total=4 ok=4 failed=0\n  Role assignments   imported total=7 ok=7 failed=0\n  TOTP factors       imported total=2 ok=2 failed=0\n  SSO connections    handoff total=1\n",
        dir.display()
    )), "{}", r.stdout);

    // Organizations: once each, with domains (pending) and metadata.
    let orgs = fake.organizations();
    assert_eq!(orgs.len(), 3);
    let org = |ext: &str| -> Value {
        let found: Vec<&Value> = orgs.iter().filter(|o| o["external_id"] == ext).collect();
        assert_eq!(found.len(), 1, "{ext}: {orgs:?}");
        found[0].clone()
    };
    let acme = org("org_acme");
    assert_eq!(acme["name"], "Acme, Inc");
    let domains: Vec<(String, String)> = acme["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["domain"].as_str().unwrap().to_string(),
                d["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        domains,
        [
            ("acme.com".to_string(), "pending".to_string()),
            ("login.acme.com".to_string(), "pending".to_string())
        ]
    );
    assert_eq!(
        acme["metadata"],
        serde_json::json!({"domains": "acme.com; Login.acme.com", "tier": "gold"})
    );
    let globex = org("org_globex");
    assert_eq!(globex["metadata"]["domain"], "globex.example");
    let initech = org("org_initech");
    assert_eq!(initech["domains"].as_array().unwrap().len(), 0);
    let org_id = |ext: &str| org(ext)["id"].as_str().unwrap().to_string();

    // Roles and permissions: once each, with the file's permissions.
    let roles = fake.roles();
    for slug in ["admin", "member", "auditor", "org-acme-owner"] {
        assert_eq!(
            roles.iter().filter(|r| r["slug"] == slug).count(),
            1,
            "{slug}: {roles:?}"
        );
    }
    let role = |slug: &str| roles.iter().find(|r| r["slug"] == slug).unwrap().clone();
    assert_eq!(
        slugs(&role("admin")["permissions"]),
        set(&["users:read", "users:write", "billing:manage"])
    );
    assert_eq!(
        slugs(&role("auditor")["permissions"]),
        set(&["audit:read", "users:read"])
    );
    let owner = role("org-acme-owner");
    assert_eq!(owner["type"], "OrganizationRole");
    assert_eq!(owner["organization_id"], org_id("org_acme").as_str());
    let perms: Vec<String> = fake
        .permissions()
        .iter()
        .map(|p| p["slug"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        perms.iter().cloned().collect::<BTreeSet<_>>(),
        set(&["users:read", "users:write", "billing:manage", "audit:read"])
    );
    assert_eq!(perms.len(), 4);

    // Users: once each, hashes passed through and still verifying.
    let users = fake.users();
    assert_eq!(users.len(), 4, "{users:?}");
    let user = |email: &str| -> Value {
        let found: Vec<&Value> = users.iter().filter(|u| u["email"] == email).collect();
        assert_eq!(found.len(), 1, "{email}");
        found[0].clone()
    };
    for (email, ext) in [
        ("alice@acme.com", "auth0|alice"),
        ("bob@acme.com", "auth0|bob"),
        ("carol@globex.example", "auth0|carol"),
    ] {
        let u = user(email);
        assert_eq!(u["external_id"], ext);
        assert_eq!(u["fake_password"]["kind"], "hash");
        assert_eq!(u["fake_password"]["hash_type"], "bcrypt");
        let hash = u["fake_password"]["hash"].as_str().unwrap();
        assert!(bcrypt::verify(PASSWORD, hash).unwrap());
    }
    assert_eq!(user("alice@acme.com")["metadata"]["plan"], "pro");
    assert_eq!(user("carol@globex.example")["email_verified"], false);
    assert!(user("dave@initech.example")["fake_password"].is_null());
    let user_id = |email: &str| user(email)["id"].as_str().unwrap().to_string();

    // Memberships: once each, with the union of their roles.
    let memberships = fake.memberships();
    assert_eq!(memberships.len(), 6, "{memberships:?}");
    let roles_of = |email: &str, ext: &str| -> BTreeSet<String> {
        let (u, o) = (user_id(email), org_id(ext));
        let found: Vec<&Value> = memberships
            .iter()
            .filter(|m| m["user_id"] == u.as_str() && m["organization_id"] == o.as_str())
            .collect();
        assert_eq!(found.len(), 1, "{email} in {ext}");
        slugs(&found[0]["roles"])
    };
    assert_eq!(
        roles_of("alice@acme.com", "org_acme"),
        set(&["admin", "member", "org-acme-owner"])
    );
    assert_eq!(roles_of("alice@acme.com", "org_globex"), set(&["member"]));
    assert_eq!(roles_of("bob@acme.com", "org_acme"), set(&["member"]));
    // Only in organization_memberships.csv.
    assert_eq!(roles_of("bob@acme.com", "org_globex"), set(&["member"]));
    assert_eq!(
        roles_of("carol@globex.example", "org_globex"),
        set(&["auditor"])
    );
    roles_of("dave@initech.example", "org_initech");

    // TOTP: one factor each for alice and bob, with the file's secret.
    let factors = fake.auth_factors();
    assert_eq!(factors.len(), 2, "{factors:?}");
    for (email, secret) in [
        ("alice@acme.com", "JBSWY3DPEHPK3PXP"),
        ("bob@acme.com", "KRSXG5CTMVRXEZLU"),
    ] {
        let id = user_id(email);
        let f: Vec<&Value> = factors
            .iter()
            .filter(|f| f["user_id"] == id.as_str())
            .collect();
        assert_eq!(f.len(), 1, "{email}");
        assert_eq!(f[0]["totp"]["secret"], secret);
    }
    assert_eq!(
        factors
            .iter()
            .find(|f| f["user_id"] == user_id("alice@acme.com").as_str())
            .unwrap()["totp"]["issuer"],
        "Acme"
    );

    // Package: only the output files were added, no temporary files.
    let mut expected = before.clone();
    expected.extend(OUTPUT_FILES.iter().map(|s| s.to_string()));
    expected.sort();
    assert_eq!(files(&dir), expected);
    for f in [
        "workos_import_errors.jsonl",
        "workos_membership_errors.jsonl",
        "workos_totp_errors.jsonl",
    ] {
        assert_eq!(std::fs::read_to_string(dir.join(f)).unwrap(), "", "{f}");
    }

    // Summary: §7.4 key order, real counts.
    let sum = summary(&dir.join("workos_import_summary.json"));
    assert_eq!(
        keys(&sum),
        [
            "packageDir",
            "startedAt",
            "finishedAt",
            "durationMs",
            "dryRun",
            "manifestProvider",
            "plan",
            "organizations",
            "users",
            "memberships",
            "roleDefinitions",
            "roleAssignments",
            "totpFactors",
            "ssoConnections",
            "warnings"
        ]
    );
    assert_eq!(
        keys(&sum["plan"]),
        [
            "packageDir",
            "manifestProvider",
            "hasUsersCsv",
            "hasOrganizationsCsv",
            "hasMembershipsCsv",
            "hasRoleDefinitionsCsv",
            "hasRoleAssignmentsCsv",
            "hasTotpCsv",
            "hasSso",
            "expectedCounts",
            "validationErrors",
            "validationWarnings"
        ]
    );
    assert_eq!(sum["packageDir"], s(&dir));
    assert_eq!(sum["dryRun"], false);
    assert_eq!(sum["manifestProvider"], "auth0");
    assert_eq!(sum["organizations"]["details"]["created"], 3);
    assert_eq!(sum["users"]["details"]["created"], 4);
    assert_eq!(sum["users"]["details"]["duplicateUsers"], 1);
    assert_eq!(sum["memberships"]["details"]["created"], 6);
    assert_eq!(sum["roleDefinitions"]["details"]["created"], 2);
    assert_eq!(sum["totpFactors"]["details"]["enrolled"], 2);
    assert_eq!(
        keys(&sum["users"]),
        [
            "status",
            "total",
            "succeeded",
            "failed",
            "warnings",
            "details"
        ]
    );
    assert_eq!(
        sum["ssoConnections"],
        serde_json::json!({"status": "handoff", "total": 1, "notes": [
            "SSO connection files are handoff-only and were not imported automatically.",
            "See sso/handoff_notes.md for next steps."
        ]})
    );

    // A second import creates nothing and says what exists.
    let snapshot = state(&fake);
    let r = tokio::task::block_in_place(|| import(&fake, &dir, &["--quiet"]));
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(state(&fake), snapshot, "second import changed WorkOS");
    let sum = summary(&dir.join("workos_import_summary.json"));
    assert_eq!(sum["organizations"]["details"]["created"], 0);
    assert_eq!(sum["organizations"]["details"]["existing"], 3);
    assert_eq!(sum["users"]["details"]["created"], 0);
    assert_eq!(sum["users"]["details"]["duplicateUsers"], 5);
    assert_eq!(sum["users"]["succeeded"], 5);
    assert_eq!(sum["memberships"]["details"]["created"], 0);
    assert_eq!(sum["memberships"]["details"]["duplicateMemberships"], 11);
    assert_eq!(sum["roleDefinitions"]["details"]["created"], 0);
    assert_eq!(sum["roleDefinitions"]["details"]["alreadyExist"], 4);
    assert_eq!(sum["roleAssignments"]["details"]["alreadyAssigned"], 7);
    assert_eq!(sum["totpFactors"]["details"]["enrolled"], 0);
    assert_eq!(sum["totpFactors"]["details"]["alreadyEnrolled"], 2);
    assert_eq!(files(&dir), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_makes_no_requests_and_needs_no_key() {
    let fake = fake().await;
    let (_tmp, dir) = package();
    let before = files(&dir);
    let url = fake.base_url();
    let r = tokio::task::block_in_place(|| {
        run(
            &[],
            &["import-package", s(&dir), "--dry-run", "--endpoint", &url],
        )
    });
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fake.stats().total_requests, 0);
    assert_eq!(
        r.stdout,
        format!(
            "\nImport package complete\n  Package:           {}\n  Mode:              DRY RUN\n  Organizations      planned total=3\n  Users              planned total=5\n  Memberships        planned total=6\n  Role definitions   planned total=4\n  Role assignments   planned total=7\n  TOTP factors       planned total=2\n  SSO connections    handoff total=1\n",
            dir.display()
        )
    );
    let sum = summary(&dir.join("workos_import_summary.json"));
    assert_eq!(sum["dryRun"], true);
    assert_eq!(
        sum["users"],
        serde_json::json!({"status": "planned", "total": 5})
    );
    assert_eq!(
        sum["totpFactors"],
        serde_json::json!({"status": "planned", "total": 2})
    );
    let mut expected = before;
    expected.push("workos_import_summary.json".to_string());
    expected.sort();
    assert_eq!(files(&dir), expected, "a dry run writes only the summary");

    // --summary elsewhere: nothing is written into the package.
    let (_tmp2, dir2) = package();
    let out = _tmp2.path().join("summary.json");
    let r = run(
        &[],
        &[
            "import-package",
            s(&dir2),
            "--dry-run",
            "--quiet",
            "--summary",
            s(&out),
        ],
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
    assert_eq!(files(&dir2), files(&fixture()));
    assert_eq!(summary(&out)["organizations"]["status"], "planned");
}

#[test]
fn plan_text_is_the_originals() {
    let dir = fixture();
    let r = run(&[], &["import-package", s(&dir), "--plan"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rule = "\u{2550}".repeat(40);
    assert_eq!(
        r.stdout,
        format!(
            "\n  Import Package Plan\n  {rule}\n  Package:                {}\n  Provider:               auth0\n  users.csv has rows:     true\n  organizations.csv:      true\n  memberships.csv:        true\n  role_definitions.csv:   true\n  user_role_assignments:  true\n  totp_secrets.csv:       true\n  sso/ files present:     true\n  Counts (from manifest)\n    users                    5\n    organizations            3\n    memberships              6\n    roleDefinitions          4\n    userRoleAssignments      7\n    totpSecrets              2\n    samlConnections          1\n    oidcConnections          0\n    customAttributeMappings  0\n    proxyRoutes              0\n    uploadUsers              4\n    uploadOrganizations      3\n    uploadMemberships        6\n    warnings                 1\n    skippedUsers             1\n\n  SSO connections are handoff-only and will NOT be imported automatically.\n",
            dir.display()
        )
    );
    assert_eq!(files(&dir), files(&fixture()), "--plan writes nothing");
}

#[test]
fn validation_errors_are_listed_by_plan_and_fatal_for_import() {
    let (_tmp, dir) = package();
    let text = std::fs::read_to_string(dir.join("organizations.csv")).unwrap();
    std::fs::write(
        dir.join("organizations.csv"),
        text.replacen("org_name", "name", 1),
    )
    .unwrap();
    let r = run(&[], &["import-package", s(&dir), "--plan"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains(
        "\n  Validation errors:\n    - CSV header for organizations.csv does not match the package contract\n"
    ), "{}", r.stdout);
    let r = run(&[], &["import-package", s(&dir), "--dry-run"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "Import package failed: Package failed validation: - CSV header for organizations.csv does not match the package contract\n"
    );
    assert!(!dir.join("workos_import_summary.json").exists());

    let missing = dir.join("nope");
    let r = run(&[], &["import-package", s(&missing)]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        format!("Package directory not found: {}\n", missing.display())
    );
    // Live mode needs the key.
    let r = run(&[], &["import-package", s(&fixture())]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "Import package failed: WorkOS API key is required. Set WORKOS_SECRET_KEY environment variable or pass --api-key.\n"
    );
}

/// A package written by hand: organizations keyed only by a source `org_id`
/// (as Clerk/Firebase mappings can produce), a bad row, custom paths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_org_ids_row_failures_and_custom_paths() {
    let fake = fake().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = run(&[], &["export", "csv", "--output-dir", s(&dir), "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(
        dir.join("organizations.csv"),
        "org_id,org_external_id,org_name,domains,metadata\n\
src_org_1,,Umbrella,umbrella.example,\n\
,,Nameless,,\n\
,org_weird,Weird,localhost,\"{\"\"a_key_that_is_longer_than_forty_characters\"\":\"\"v\"\"}\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("users.csv"),
        "email,password,password_hash,password_hash_type,first_name,last_name,email_verified,external_id,metadata,org_id,org_external_id,org_name,role_slugs\n\
ann@umbrella.example,,,,Ann,,true,u1,,src_org_1,,Umbrella,member\n\
bad@umbrella.example,,,,Bad,,true,u2,{not json,src_org_1,,Umbrella,\n\
,,,,NoEmail,,,,,,,,\n",
    )
    .unwrap();
    let errors = tmp.path().join("errors.jsonl");
    let summary_path = tmp.path().join("summary.json");
    let r = tokio::task::block_in_place(|| {
        import(
            &fake,
            &dir,
            &[
                "--errors",
                s(&errors),
                "--summary",
                s(&summary_path),
                "--quiet",
            ],
        )
    });
    assert_eq!(r.code, 3, "completed with row failures: {}", r.stderr);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""));

    // The source org id became the external id; the nameless row failed;
    // the metadata and the domain WorkOS refused were left out.
    let orgs = fake.organizations();
    assert_eq!(orgs.len(), 2, "{orgs:?}");
    assert_eq!(orgs[0]["external_id"], "src_org_1");
    assert_eq!(orgs[0]["name"], "Umbrella");
    assert_eq!(orgs[0]["domains"][0]["domain"], "umbrella.example");
    assert_eq!(orgs[1]["external_id"], "org_weird");
    assert_eq!(orgs[1]["domains"], serde_json::json!([]));
    assert_eq!(orgs[1]["metadata"], serde_json::json!({}));
    let users = fake.users();
    assert_eq!(users.len(), 1);
    let m = fake.memberships();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["organization_id"], orgs[0]["id"]);
    assert_eq!(slugs(&m[0]["roles"]), set(&["member"]));

    let sum = summary(&summary_path);
    assert_eq!(sum["organizations"]["total"], 3);
    assert_eq!(sum["organizations"]["failed"], 1);
    let warnings: Vec<&str> = sum["organizations"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings.iter().any(|w| w.starts_with(
        "organizations.csv row 2: organization Nameless has no org_id or org_external_id"
    )));
    assert!(warnings.iter().any(|w| w
        .starts_with("Organization org_weird: WorkOS rejected the metadata")
        && w.ends_with("created without metadata")));
    assert!(warnings.iter().any(|w| w
        .starts_with("Organization org_weird: WorkOS rejected the domains localhost")
        && w.ends_with("created without domains")));
    assert_eq!(sum["users"]["total"], 3);
    assert_eq!(sum["users"]["failed"], 2);
    let lines: Vec<Value> = std::fs::read_to_string(&errors)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut messages: Vec<(u64, String)> = lines
        .iter()
        .map(|l| {
            (
                l["recordNumber"].as_u64().unwrap(),
                l["errorMessage"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    messages.sort();
    assert_eq!(
        messages,
        [
            (2, "Invalid metadata JSON".to_string()),
            (3, "Missing required email".to_string())
        ]
    );
    assert!(!dir.join("workos_import_errors.jsonl").exists());
    assert!(!dir.join("workos_import_summary.json").exists());

    // analyze: nothing worth retrying.
    let retry = tmp.path().join("retry.csv");
    let r = run(
        &[],
        &[
            "analyze",
            "--errors",
            s(&errors),
            "--retry-csv",
            s(&retry),
            "--original-csv",
            s(&dir.join("users.csv")),
            "--quiet",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&retry).unwrap().lines().count(),
        1,
        "header only"
    );
}
