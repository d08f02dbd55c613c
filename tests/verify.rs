//! `verify` end to end: the real binary against the stateful fake WorkOS
//! (`tests/fakes/workos.rs`).
//!
//! - A 10,000-user package (20 organizations with domains and metadata,
//!   one membership per user, written here with the package writer) is
//!   imported; 37 users and 12 memberships are deleted and 5 users renamed
//!   through the fake's API; `verify` (live and against an offline
//!   snapshot) reports exactly those 54 differences by reason and exits 3;
//!   its repair package validates, `import-package` applies it, and a
//!   second `verify` exits 0.
//! - Bad input, one line each and no repair manifest: a snapshot from
//!   another environment, a key without read access, a directory that is
//!   not a snapshot, a package that does not validate; a package without
//!   external ids is matched by email with one warning.

mod common;
mod fakes;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use fakes::workos::{FakeWorkOs, FakeWorkOsConfig};
use serde_json::{json, Value};
use workos_migrate::package::schema::{MEMBERSHIPS, ORGANIZATIONS, USERS};
use workos_migrate::package::{MigrationPackageWriter, PackageOptions};

const USERS_N: usize = 10_000;
const ORGS_N: usize = 20;

use common::Run;

/// Runs the binary in `cwd` with `WORKOS_SECRET_KEY=key` (off the async
/// runtime's threads).
async fn run(cwd: &Path, key: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workos-migrate"));
    cmd.args(args)
        .current_dir(cwd)
        .env("WORKOS_SECRET_KEY", key)
        .env_remove("WORKOS_API_URL")
        .stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run workos-migrate"))
        .await
        .unwrap();
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    r
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The test package: `users` users over `orgs` organizations; with
/// `external_ids` false the users carry none.
fn write_package(dir: &Path, users: usize, orgs: usize, external_ids: bool) {
    let mut w = MigrationPackageWriter::create(dir, PackageOptions::new("csv")).unwrap();
    for o in 0..orgs {
        let ext = format!("org-ext-{o}");
        let name = format!("Org {o}");
        let domains = format!("org{o}.example.com");
        let meta = format!(r#"{{"tier":"{}"}}"#, o % 3);
        w.write_row(&ORGANIZATIONS, &["", &ext, &name, &domains, &meta])
            .unwrap();
        w.upload().organization("", &ext, &name).unwrap();
    }
    for u in 0..users {
        let email = format!("user{u}@org{}.example.com", u % orgs);
        let ext = if external_ids {
            format!("ext-{u}")
        } else {
            String::new()
        };
        let first = format!("First{u}");
        let last = format!("Last{u}");
        let org = format!("org-ext-{}", u % orgs);
        let role = if u % 10 == 0 { "admin" } else { "member" };
        let meta = if u % 7 == 0 {
            r#"{"plan":"pro","seats":3}"#
        } else {
            ""
        };
        w.write_row(
            &USERS,
            &[
                &email, "", "", "", &first, &last, "true", &ext, meta, "", &org, "", role,
            ],
        )
        .unwrap();
        w.upload()
            .user(&ext, &email, "true", &first, &last, "")
            .unwrap();
    }
    // One explicit membership row too (the same pair as a users.csv row:
    // counted once).
    w.write_row(
        &MEMBERSHIPS,
        &[
            "user1@org1.example.com",
            if external_ids { "ext-1" } else { "" },
            "",
            "",
            "org-ext-1",
            "",
            "member",
            "",
        ],
    )
    .unwrap();
    w.finish().unwrap();
}

async fn fake_without_limits() -> FakeWorkOs {
    FakeWorkOs::start(FakeWorkOsConfig {
        rate_limits: false,
        forbidden_key: Some("sk_test_no_read".into()),
        ..FakeWorkOsConfig::default()
    })
    .await
}

async fn import(fake: &FakeWorkOs, cwd: &Path, pkg: &Path) -> Run {
    let url = fake.base_url();
    run(
        cwd,
        &fake.api_key(),
        &[
            "import-package",
            s(pkg),
            "--endpoint",
            &url,
            "--rate-limit",
            "10000",
            "--concurrency",
            "32",
            "--quiet",
        ],
    )
    .await
}

fn entity<'a>(report: &'a Value, name: &str) -> &'a Value {
    &report["entities"][name]
}

fn counts(e: &Value) -> BTreeMap<&'static str, u64> {
    [
        "missing",
        "different",
        "extra_in_workos",
        "blocked_by_missing_user_or_organization",
    ]
    .into_iter()
    .map(|k| (k, e[k].as_u64().unwrap_or(u64::MAX)))
    .collect()
}

fn expect(missing: u64, different: u64, extra: u64, blocked: u64) -> BTreeMap<&'static str, u64> {
    BTreeMap::from([
        ("missing", missing),
        ("different", different),
        ("extra_in_workos", extra),
        ("blocked_by_missing_user_or_organization", blocked),
    ])
}

/// Deletes 37 users and 12 memberships of other users and renames 5 more,
/// through the fake's HTTP API. Returns the external ids touched.
async fn damage(fake: &FakeWorkOs) -> (Vec<String>, Vec<String>, Vec<String>) {
    let http = reqwest::Client::new();
    let base = fake.base_url();
    let auth = format!("Bearer {}", fake.api_key());
    let users = fake.users();
    let by_ext = |ext: &str| -> String {
        users
            .iter()
            .find(|u| u["external_id"] == ext)
            .and_then(|u| u["id"].as_str())
            .unwrap_or_else(|| panic!("no user {ext}"))
            .to_string()
    };
    let deleted: Vec<String> = (0..37).map(|i| format!("ext-{}", 100 + i * 7)).collect();
    for ext in &deleted {
        let r = http
            .delete(format!("{base}/user_management/users/{}", by_ext(ext)))
            .header("Authorization", &auth)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
    let unmembered: Vec<String> = (0..12).map(|i| format!("ext-{}", 5_001 + i * 3)).collect();
    let memberships = fake.memberships();
    for ext in &unmembered {
        let uid = by_ext(ext);
        let om = memberships
            .iter()
            .find(|m| m["user_id"] == uid.as_str())
            .and_then(|m| m["id"].as_str())
            .unwrap()
            .to_string();
        let r = http
            .delete(format!(
                "{base}/user_management/organization_memberships/{om}"
            ))
            .header("Authorization", &auth)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
    let renamed: Vec<String> = (0..5).map(|i| format!("ext-{}", 8_003 + i)).collect();
    for ext in &renamed {
        let r = http
            .put(format!("{base}/user_management/users/{}", by_ext(ext)))
            .header("Authorization", &auth)
            .json(&json!({"first_name": "Renamed"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
    (deleted, unmembered, renamed)
}

fn assert_the_54(report: &Value) {
    assert_eq!(report["differences"], 54, "{report:#}");
    assert_eq!(report["matches"], false);
    assert_eq!(
        counts(entity(report, "users")),
        expect(37, 5, 0, 0),
        "{report:#}"
    );
    assert_eq!(
        entity(report, "users")["different_fields"],
        json!({"names": 5}),
        "{report:#}"
    );
    assert_eq!(entity(report, "users")["checked"], USERS_N as u64);
    // The memberships of deleted users follow them (not differences).
    assert_eq!(
        counts(entity(report, "memberships")),
        expect(12, 0, 0, 37),
        "{report:#}"
    );
    assert_eq!(
        counts(entity(report, "organizations")),
        expect(0, 0, 0, 0),
        "{report:#}"
    );
    assert_eq!(entity(report, "organizations")["equal"], ORGS_N as u64);
    assert!(report["notes"][0]
        .as_str()
        .unwrap()
        .contains("Password hashes"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reports_the_54_differences_and_its_repair_package_fixes_them() {
    let fake = fake_without_limits().await;
    let work = tempfile::tempdir().unwrap();
    let cwd = work.path();
    let pkg = cwd.join("pkg");
    write_package(&pkg, USERS_N, ORGS_N, true);
    let r = import(&fake, cwd, &pkg).await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(fake.users().len(), USERS_N);
    let url = fake.base_url();
    let key = fake.api_key();

    // Everything imported: verify is clean.
    let r = run(
        cwd,
        &key,
        &["verify", s(&pkg), "--endpoint", &url, "--quiet"],
    )
    .await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("Everything in the package is in WorkOS."),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Password hashes cannot be read back"),
        "{}",
        r.stdout
    );

    let (deleted, _, renamed) = damage(&fake).await;

    // Live, with a repair package.
    let repair = cwd.join("repair");
    let r = run(
        cwd,
        &key,
        &[
            "verify",
            s(&pkg),
            "--endpoint",
            &url,
            "--json",
            "--repair-dir",
            s(&repair),
        ],
    )
    .await;
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_the_54(&report);
    let samples = &entity(&report, "users")["samples"]["different"];
    assert!(samples[0]["fields"] == json!(["names"]), "{samples}");
    assert!(renamed
        .iter()
        .any(|e| samples[0]["external_id"] == e.as_str()));
    assert_eq!(
        report["repair"]["rows"],
        json!({"users": 42, "organizations": 0, "memberships": 49,
               "userRoleAssignments": 0, "totpSecrets": 0}),
        "{report:#}"
    );

    // Offline against a snapshot: the same report.
    let snap = cwd.join("snap");
    let r = run(
        cwd,
        &key,
        &[
            "snapshot",
            "--output",
            s(&snap),
            "--endpoint",
            &url,
            "--quiet",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(
        cwd,
        "",
        &["verify", s(&pkg), "--snapshot", s(&snap), "--json"],
    )
    .await;
    assert_eq!(r.code, 3, "{}", r.stderr);
    let offline: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_the_54(&offline);
    let r = run(cwd, "", &["verify", s(&pkg), "--snapshot", s(&snap)]).await;
    assert_eq!(r.code, 3);
    assert!(
        r.stdout.contains("37 missing, 5 different (names: 5)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Differences: 54"), "{}", r.stdout);

    // The repair package: valid, marked, exactly the rows.
    let r = run(cwd, "", &["validate-package", s(&repair)]).await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(repair.join("manifest.json")).unwrap()).unwrap();
    let marker = &manifest["metadata"]["workosMigrate"];
    assert_eq!(marker["packageKind"], "repair");
    assert_eq!(marker["updateExisting"], true);
    assert_eq!(marker["basedOn"]["differences"], 54);
    let users_csv = std::fs::read_to_string(repair.join("users.csv")).unwrap();
    for ext in deleted.iter().chain(&renamed) {
        assert!(
            users_csv.contains(&format!(",{ext},")),
            "{ext} not in repair users.csv"
        );
    }
    assert_eq!(users_csv.lines().count(), 43);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(repair.join("users.csv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "repair users.csv is readable by others");
    }

    // Apply it; a second verify is clean.
    let r = import(&fake, cwd, &repair).await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = run(
        cwd,
        &key,
        &["verify", s(&pkg), "--endpoint", &url, "--json"],
    )
    .await;
    let after: Value = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
    assert_eq!(r.code, 0, "{after:#}\n{}", r.stderr);
    assert_eq!(after["differences"], 0);
    assert_eq!(entity(&after, "users")["equal"], USERS_N as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_one_line_and_never_a_repair_package() {
    let fake = fake_without_limits().await;
    let work = tempfile::tempdir().unwrap();
    let cwd = work.path();
    let pkg = cwd.join("pkg");
    write_package(&pkg, 30, 3, true);
    let url = fake.base_url();
    let key = fake.api_key();

    // A snapshot of another environment: organizations, none of ours.
    fake.seed_organization("Someone else", Some("other-org"));
    let snap = cwd.join("other");
    let r = run(
        cwd,
        &key,
        &[
            "snapshot",
            "--output",
            s(&snap),
            "--endpoint",
            &url,
            "--quiet",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let repair = cwd.join("repair");
    let r = run(
        cwd,
        "",
        &[
            "verify",
            s(&pkg),
            "--snapshot",
            s(&snap),
            "--repair-dir",
            s(&repair),
        ],
    )
    .await;
    let line = common::assert_one_line_error(&r);
    assert_eq!(r.code, 1);
    assert!(line.contains("another environment"), "{line}");
    assert!(!repair.join("manifest.json").exists());
    // ... accepted when asked to.
    let r = run(
        cwd,
        "",
        &[
            "verify",
            s(&pkg),
            "--snapshot",
            s(&snap),
            "--skip-environment-check",
            "--json",
        ],
    )
    .await;
    assert_eq!(r.code, 3, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(counts(entity(&report, "users")), expect(30, 0, 0, 0));
    assert_eq!(entity(&report, "organizations")["extra_in_workos"], 1);

    // A key without read access.
    let r = run(
        cwd,
        "sk_test_no_read",
        &[
            "verify",
            s(&pkg),
            "--endpoint",
            &url,
            "--repair-dir",
            s(&repair),
        ],
    )
    .await;
    let line = common::assert_one_line_error(&r);
    assert_eq!(r.code, 1);
    assert!(line.contains("cannot read"), "{line}");
    assert!(!line.contains("sk_test_no_read"), "{line}");
    assert!(!repair.join("manifest.json").exists());

    // Not a snapshot directory; a package that does not validate.
    let r = run(cwd, "", &["verify", s(&pkg), "--snapshot", s(&pkg)]).await;
    let line = common::assert_one_line_error(&r);
    assert!(line.contains("not a snapshot directory"), "{line}");
    let broken = cwd.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("manifest.json"), "{not json").unwrap();
    let r = run(cwd, "", &["verify", s(&broken), "--snapshot", s(&snap)]).await;
    let line = common::assert_one_line_error(&r);
    assert!(line.contains("manifest.json"), "{line}");
    let r = run(
        cwd,
        "",
        &["verify", s(&cwd.join("nope")), "--snapshot", s(&snap)],
    )
    .await;
    common::assert_one_line_error(&r);

    // A package without external ids: matched by email, with one warning.
    fake.reset();
    let plain = cwd.join("plain");
    write_package(&plain, 30, 3, false);
    let r = import(&fake, cwd, &plain).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(
        cwd,
        &key,
        &["verify", s(&plain), "--endpoint", &url, "--quiet"],
    )
    .await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert!(
        warnings[0].contains("30 of 30 package users have no external_id"),
        "{}",
        warnings[0]
    );
}
