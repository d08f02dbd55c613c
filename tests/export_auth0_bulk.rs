//! `export auth0 --engine bulk-job` end to end through the CLI entry point
//! (`cli::auth0::run_export_auth0`) against the fake Auth0
//! (`tests/fakes/auth0.rs`): memberships and roles joined to the export
//! job's users match organizations mode on the fixture tenant; on a
//! synthetic tenant the counts add up, every job user is accounted for, the
//! request count is per page (not per user) and the package does not depend
//! on the join's partition count.

mod fakes;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use clap::Parser;
use fakes::auth0::{FakeAuth0, FakeAuth0Config, Route};
use serde_json::Value;
use workos_migrate::cli::auth0::{run_export_auth0, ExportAuth0Args};
use workos_migrate::sources::auth0::bulk_join::{NOT_IN_EXPORT_JOB, PARTITIONS_ENV};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ExportAuth0Args,
}

struct Run {
    code: i32,
    stderr: String,
}

/// Runs `export auth0` on the calling thread (it starts its own runtime).
fn export(fake: &FakeAuth0, dir: &Path, extra: &[&str]) -> Run {
    let url = fake.url();
    let (id, secret) = (fake.client_id(), fake.client_secret());
    let dir = dir.to_string_lossy().to_string();
    let mut argv: Vec<&str> = vec![
        "export-auth0",
        "--domain",
        &url,
        "--client-id",
        &id,
        "--client-secret",
        &secret,
        "--output-dir",
        &dir,
        "--rate-limit",
        "10000",
        "--bulk-poll-interval-ms",
        "5",
        "--quiet",
    ];
    argv.extend_from_slice(extra);
    let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{e}"));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_export_auth0(cli.args, &mut out, &mut err);
    Run {
        code,
        stderr: String::from_utf8(err).unwrap(),
    }
}

/// A runtime that keeps serving the fake while the export runs on the test
/// thread.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn fixture() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/auth0/tenant.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Rows of a package CSV (header excluded), or none when the file is absent.
fn rows(dir: &Path, file: &str) -> Vec<BTreeMap<String, String>> {
    let path = dir.join(file);
    if !path.exists() {
        return Vec::new();
    }
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

fn row_set(dir: &Path, file: &str) -> BTreeSet<Vec<(String, String)>> {
    rows(dir, file)
        .into_iter()
        .map(|r| r.into_iter().collect())
        .collect()
}

fn jsonl(dir: &Path, file: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn codes(dir: &Path) -> Vec<String> {
    jsonl(dir, "warnings.jsonl")
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_string())
        .collect()
}

/// Every `.csv` file under `dir` (relative path → bytes).
fn csv_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "csv") {
                let rel = p.strip_prefix(dir).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Skipped records without their timestamps.
fn skipped_without_time(dir: &Path) -> Vec<Value> {
    jsonl(dir, "skipped_users.jsonl")
        .into_iter()
        .map(|mut v| {
            v.as_object_mut().unwrap().remove("timestamp");
            v
        })
        .collect()
}

const ROLE_ENTITIES: &str = "users,organizations,memberships,roles";

#[test]
fn fixture_bulk_rows_match_organizations_mode() {
    let rt = runtime();
    let fake = rt.block_on(async {
        let f = FakeAuth0::start(FakeAuth0Config::default()).await;
        f.load_fixture(&fixture()).unwrap();
        f
    });
    let tmp = tempfile::tempdir().unwrap();
    let (orgs_dir, bulk_dir) = (tmp.path().join("orgs"), tmp.path().join("bulk"));
    let r = export(&fake, &orgs_dir, &["--entities", ROLE_ENTITIES]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = export(
        &fake,
        &bulk_dir,
        &["--entities", ROLE_ENTITIES, "--engine", "bulk-job"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    for file in [
        "users.csv",
        "organizations.csv",
        "organization_memberships.csv",
        "user_role_assignments.csv",
        "role_definitions.csv",
    ] {
        assert_eq!(
            row_set(&bulk_dir, file),
            row_set(&orgs_dir, file),
            "{file} differs"
        );
    }
    assert!(!rows(&bulk_dir, "organization_memberships.csv").is_empty());
    assert!(!rows(&bulk_dir, "user_role_assignments.csv").is_empty());
    let bulk_codes = codes(&bulk_dir);
    assert!(!bulk_codes
        .iter()
        .any(|c| c == "bulk_export_no_org_membership"));
    assert!(!bulk_codes
        .iter()
        .any(|c| c == "role_assignments_unavailable_bulk_mode"));
    // Members without a user (Auth0 lists members whose user is gone):
    // organizations mode skips them when the profile fetch finds nothing,
    // the bulk engine because the job file does not hold them.
    let fixture_users: HashSet<String> = fixture()["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user_id"].to_string())
        .collect();
    let fetch_failed: BTreeSet<(String, String)> = skipped_without_time(&orgs_dir)
        .iter()
        .filter(|s| !fixture_users.contains(&s["user_id"].to_string()))
        .map(|s| (s["user_id"].to_string(), s["org_id"].to_string()))
        .collect();
    assert!(!fetch_failed.is_empty());
    let not_in_job: BTreeSet<(String, String)> = skipped_without_time(&bulk_dir)
        .iter()
        .filter(|s| s["reason"] == NOT_IN_EXPORT_JOB)
        .map(|s| (s["user_id"].to_string(), s["org_id"].to_string()))
        .collect();
    // Every other skip is the same in both modes.
    let other = |dir: &Path| -> BTreeSet<String> {
        skipped_without_time(dir)
            .iter()
            .filter(|s| fixture_users.contains(&s["user_id"].to_string()))
            .map(Value::to_string)
            .collect()
    };
    assert_eq!(other(&bulk_dir), other(&orgs_dir));
    assert_eq!(not_in_job, fetch_failed);
}

#[test]
fn fixture_without_memberships_keeps_the_old_bulk_behaviour() {
    let rt = runtime();
    let fake = rt.block_on(async {
        let f = FakeAuth0::start(FakeAuth0Config::default()).await;
        f.load_fixture(&fixture()).unwrap();
        f
    });
    let tmp = tempfile::tempdir().unwrap();
    let r = export(
        &fake,
        tmp.path(),
        &["--entities", "users", "--engine", "bulk-job"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(codes(tmp.path())
        .iter()
        .any(|c| c == "bulk_export_no_org_membership"));
    assert!(rows(tmp.path(), "users.csv")
        .iter()
        .all(|u| u["org_external_id"].is_empty()));
    assert_eq!(fake.count(Route::OrgMembers), 0);
}

#[test]
fn member_roles_forbidden_falls_back_with_one_warning() {
    let rt = runtime();
    let fake = rt.block_on(async {
        let f = FakeAuth0::start(FakeAuth0Config::default()).await;
        f.load_fixture(&fixture()).unwrap();
        f.set_member_roles_scope(false);
        f
    });
    let tmp = tempfile::tempdir().unwrap();
    let r = export(
        &fake,
        tmp.path(),
        &["--entities", ROLE_ENTITIES, "--engine", "bulk-job"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let c = codes(tmp.path());
    assert_eq!(
        c.iter()
            .filter(|c| *c == "member_role_fetch_failed")
            .count(),
        1,
        "{c:?}"
    );
    assert!(!rows(tmp.path(), "organization_memberships.csv").is_empty());
    assert!(rows(tmp.path(), "user_role_assignments.csv").is_empty());
    assert_eq!(fake.count(Route::MemberRoles), 0);
}

const USERS: u64 = 20_000;
const ORGS: u64 = 200;

#[test]
fn synthetic_tenant_counts_conservation_requests_and_partition_independence() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::synthetic(USERS, ORGS));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    let r = export(
        &fake,
        &dir,
        &["--entities", ROLE_ENTITIES, "--engine", "bulk-job"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    let users = rows(&dir, "users.csv");
    let memberships = rows(&dir, "organization_memberships.csv");
    let orgs = rows(&dir, "organizations.csv");
    let assignments = rows(&dir, "user_role_assignments.csv");
    assert_eq!(orgs.len() as u64, ORGS);
    assert_eq!(memberships.len() as u64, USERS);
    assert_eq!(users.len() as u64, USERS);
    assert_eq!(assignments.len() as u64, USERS.div_ceil(50));
    assert!(users.iter().all(|u| !u["org_external_id"].is_empty()));
    // Job-file order: user i is auth0|u{i:09}.
    let ids: Vec<&str> = users.iter().map(|u| u["external_id"].as_str()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    // Every job user is exported or skipped.
    let exported: HashSet<&str> = ids.iter().copied().collect();
    let skipped = skipped_without_time(&dir);
    let skipped_ids: HashSet<String> = skipped
        .iter()
        .filter(|s| s["reason"] != NOT_IN_EXPORT_JOB)
        .map(|s| s["user_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!((exported.len() + skipped_ids.len()) as u64, USERS);

    // Requests per page, not per user.
    let polls = fake.count(Route::Job);
    let listing = fake.count(Route::Organizations) + fake.count(Route::OrgMembers);
    let bound = (ORGS as usize).div_ceil(100) + ORGS as usize + (USERS as usize).div_ceil(100);
    assert!(
        listing <= bound + 2,
        "{listing} listing requests, bound {bound}"
    );
    assert_eq!(fake.count(Route::User), 0);
    assert_eq!(fake.count(Route::MemberRoles), 0);
    assert_eq!(fake.count(Route::JobCreate), 1);
    assert_eq!(fake.count(Route::Download), 1);
    assert!(polls <= 5, "{polls} polls");

    // A tiny partition count gives the same package.
    let dir_b = tmp.path().join("b");
    std::env::set_var(PARTITIONS_ENV, "3");
    let r = export(
        &fake,
        &dir_b,
        &["--entities", ROLE_ENTITIES, "--engine", "bulk-job"],
    );
    std::env::remove_var(PARTITIONS_ENV);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (a, b) = (csv_files(&dir), csv_files(&dir_b));
    assert!(a.len() >= 5, "{:?}", a.keys());
    assert_eq!(a, b);
    assert_eq!(skipped, skipped_without_time(&dir_b));
}

#[test]
fn orgs_filter_limits_organizations_and_memberships() {
    let rt = runtime();
    let fake = rt.block_on(async {
        let f = FakeAuth0::start(FakeAuth0Config::default()).await;
        f.load_fixture(&fixture()).unwrap();
        f
    });
    let tmp = tempfile::tempdir().unwrap();
    let r = export(
        &fake,
        tmp.path(),
        &["--engine", "bulk-job", "--orgs", "org_acme"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let orgs = rows(tmp.path(), "organizations.csv");
    assert_eq!(orgs.len(), 1);
    let memberships = rows(tmp.path(), "organization_memberships.csv");
    assert!(!memberships.is_empty());
    assert!(memberships
        .iter()
        .all(|m| m["org_external_id"] == "org_acme"));
    // Users outside org_acme keep one row without organization columns.
    let users = rows(tmp.path(), "users.csv");
    assert!(users.iter().any(|u| u["org_external_id"].is_empty()));
    assert!(users
        .iter()
        .all(|u| u["org_external_id"].is_empty() || u["org_external_id"] == "org_acme"));
}

/// Runs the `workos-migrate` binary until `until` holds, then SIGKILLs it;
/// false when the run ended first.
fn run_until_then_kill(argv: &[String], until: impl Fn() -> bool) -> bool {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .args(argv)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if until() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn sigkilled_bulk_exports_resume_without_a_new_job_or_download() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config {
        synthetic: Some(fakes::auth0::SyntheticTenant {
            users: 6_000,
            orgs: 20,
        }),
        job_polls_to_complete: 6,
        ..FakeAuth0Config::default()
    }));
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean");
    let base = ["--entities", "all", "--engine", "bulk-job"];
    let r = export(&fake, &clean, &base);
    assert_eq!(r.code, 0, "{}", r.stderr);

    let dir = tmp.path().join("resumed");
    let cp = dir.join(".workos-checkpoints/kill-bulk");
    let argv = |resume: bool| -> Vec<String> {
        let mut a: Vec<String> = [
            "export",
            "auth0",
            "--domain",
            &fake.url(),
            "--client-id",
            &fake.client_id(),
            "--client-secret",
            &fake.client_secret(),
            "--output-dir",
            &dir.to_string_lossy(),
            "--rate-limit",
            "10000",
            "--bulk-poll-interval-ms",
            "100",
            "--quiet",
            "--job-id",
            "kill-bulk",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(base.iter().map(|s| s.to_string()))
        .collect();
        if resume {
            a.push("--resume".into());
        }
        a
    };
    fake.reset_counters();
    let jobs_before = fake.job_count();
    // 1: killed while the job is being polled (its id is saved).
    assert!(run_until_then_kill(&argv(false), || cp
        .join("export-job.id")
        .exists()));
    assert!(!cp.join("export-job.json.gz").exists());
    // 2: resumed, killed once the download is complete (while the file is
    // being read and joined).
    assert!(run_until_then_kill(&argv(true), || cp
        .join("export-job.json.gz")
        .exists()));
    assert_eq!(
        fake.job_count(),
        jobs_before + 1,
        "the resumed run polled the saved job"
    );
    assert_eq!(fake.count(Route::Download), 1);
    // 3: resumed to the end: no new job, no second download.
    let last = std::process::Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .args(argv(true))
        .output()
        .unwrap();
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    assert_eq!(fake.job_count(), jobs_before + 1);
    assert_eq!(fake.count(Route::Download), 1);
    assert_eq!(csv_files(&clean), csv_files(&dir));
    assert_eq!(skipped_without_time(&clean), skipped_without_time(&dir));
    assert_eq!(codes(&clean), codes(&dir));
    assert!(!dir.join(".workos-checkpoints").exists());
}
