//! `diff OLD NEW --output-dir DELTA` end to end (the real binary):
//! - a synthetic pair (`synth::pair`, 20,000 users) reports exactly the
//!   generator's truth, the delta passes `validate-package` and carries the
//!   delta metadata, and the output is the same with 1 or 2 threads;
//! - acceptance: importing OLD then the delta into the fake WorkOS leaves it
//!   equal to a fresh fake that imported NEW alone, once what the report
//!   lists as gone / removed (never deleted) is set aside;
//! - bad input: different providers, users without external_id, duplicate
//!   keys, a missing header column, a non-empty output directory — one line,
//!   exit 1, and no `manifest.json` in DELTA.

mod common;
mod fakes;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_one_line_error, run};
use fakes::workos::{FakeWorkOs, FakeWorkOsConfig};
use serde_json::Value;
use workos_migrate::synth::pair::{write_pair, PairSpec, PairTruth};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn pair(root: &Path, users: u64, orgs: u64, scale: u64) -> (PathBuf, PathBuf, PairTruth) {
    let (old, new) = (root.join("old"), root.join("new"));
    let truth = write_pair(
        &PairSpec {
            users,
            orgs,
            seed: 11,
            scale,
        },
        &old,
        &new,
    )
    .unwrap();
    (old, new, truth)
}

fn diff_json(old: &Path, new: &Path, delta: &Path, env: &[(&str, &str)]) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workos-migrate"));
    cmd.args(["diff", s(old), s(new), "--output-dir", s(delta), "--json"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn synthetic_pair_reports_exactly_the_truth_and_the_delta_is_a_valid_package() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new, t) = pair(tmp.path(), 20_000, 200, 1);
    assert!(t.users_added > 0 && t.users_changed > 0 && t.users_gone > 0);
    let delta = tmp.path().join("delta");
    let r = diff_json(&old, &new, &delta, &[("RAYON_NUM_THREADS", "2")]);
    let u = &r["users"];
    assert_eq!(u["old"], t.old_users);
    assert_eq!(u["new"], t.new_users);
    assert_eq!(u["added"], t.users_added);
    assert_eq!(u["changed"], t.users_changed);
    assert_eq!(u["gone"], t.users_gone);
    let f = &u["changedFields"];
    assert_eq!(f["email"], t.changed_email);
    assert_eq!(f["first_name"], t.changed_first_name);
    assert_eq!(f["last_name"], t.changed_last_name);
    assert_eq!(f["email_verified"], t.changed_email_verified);
    assert_eq!(f["password_hash"], t.changed_password_hash);
    assert_eq!(f["metadata"], t.changed_metadata);
    assert_eq!(f["external_id"], 0);
    let m = &r["memberships"];
    assert_eq!(m["added"], t.memberships_added);
    assert_eq!(m["removed"], t.memberships_removed);
    assert_eq!(m["rolesAdded"], t.memberships_roles_added);
    assert_eq!(m["rolesRemoved"], t.membership_roles_removed);
    assert_eq!(r["organizations"]["added"], t.organizations_added);
    assert_eq!(r["organizations"]["changed"], 0);

    // The report files list exactly the gone users and changed users.
    let lines = |p: &str| {
        std::fs::read_to_string(delta.join(p))
            .unwrap()
            .lines()
            .count() as u64
            - 1
    };
    assert_eq!(lines("diff/gone_users.csv"), t.users_gone);
    assert_eq!(lines("diff/changed_users.csv"), t.users_changed);
    assert_eq!(lines("diff/removed_memberships.csv"), t.memberships_removed);

    // A valid package with the delta metadata.
    let v = run(&["validate-package", s(&delta)]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(delta.join("manifest.json")).unwrap())
            .unwrap();
    let w = &manifest["metadata"]["workosMigrate"];
    assert_eq!(w["packageKind"], "delta");
    assert_eq!(w["updateExisting"], true);
    assert!(w["basedOn"].is_object());
    assert_eq!(
        manifest["entitiesExported"]["users"],
        t.users_added + t.users_changed,
        "one row per user here (one membership each at most in OLD)"
    );

    // Same bytes with one thread.
    let delta1 = tmp.path().join("delta1");
    diff_json(&old, &new, &delta1, &[("RAYON_NUM_THREADS", "1")]);
    for f in [
        "users.csv",
        "organization_memberships.csv",
        "organizations.csv",
        "diff/gone_users.csv",
        "diff/changed_users.csv",
    ] {
        assert_eq!(
            std::fs::read(delta.join(f)).unwrap(),
            std::fs::read(delta1.join(f)).unwrap(),
            "{f}"
        );
    }
}

/// The fake's state keyed by external ids, without ids and timestamps.
#[derive(Debug, PartialEq)]
struct State {
    users: BTreeMap<String, Value>,
    orgs: BTreeMap<String, Value>,
    /// (user external id, org external id) → roles.
    memberships: BTreeMap<(String, String), BTreeSet<String>>,
}

fn state(fake: &FakeWorkOs) -> State {
    let users_raw = fake.users();
    let ext_of_user: BTreeMap<String, String> = users_raw
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_string(),
                u["external_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let users = users_raw
        .iter()
        .map(|u| {
            (
                u["external_id"].as_str().unwrap_or("").to_string(),
                serde_json::json!({
                    "email": u["email"], "first_name": u["first_name"],
                    "last_name": u["last_name"], "email_verified": u["email_verified"],
                    "metadata": u["metadata"], "password": u["fake_password"],
                }),
            )
        })
        .collect();
    let orgs_raw = fake.organizations();
    let ext_of_org: BTreeMap<String, String> = orgs_raw
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_string(),
                o["external_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let orgs = orgs_raw
        .iter()
        .map(|o| {
            (
                o["external_id"].as_str().unwrap_or("").to_string(),
                serde_json::json!({"name": o["name"], "metadata": o["metadata"]}),
            )
        })
        .collect();
    let memberships = fake
        .memberships()
        .iter()
        .map(|m| {
            let roles = m["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["slug"].as_str().unwrap().to_string())
                .collect();
            (
                (
                    ext_of_user[m["user_id"].as_str().unwrap()].clone(),
                    ext_of_org[m["organization_id"].as_str().unwrap()].clone(),
                ),
                roles,
            )
        })
        .collect();
    State {
        users,
        orgs,
        memberships,
    }
}

fn import(fake: &FakeWorkOs, dir: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .args([
            "import-package",
            s(dir),
            "--endpoint",
            &fake.base_url(),
            "--quiet",
        ])
        .env("WORKOS_SECRET_KEY", fake.api_key())
        .env_remove("WORKOS_API_URL")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Rows of a report CSV as maps (simple CSV: the synthetic values need no
/// quoting).
fn report_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_then_delta_equals_new_alone_apart_from_what_the_report_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new, t) = pair(tmp.path(), 300, 12, 20);
    assert!(t.users_gone > 0 && t.users_changed > 0 && t.memberships_roles_added > 0);
    let delta = tmp.path().join("delta");
    tokio::task::block_in_place(|| diff_json(&old, &new, &delta, &[]));

    // The fakes' rate limits are not under test here: off, for speed.
    let a = FakeWorkOs::start(FakeWorkOsConfig::default()).await;
    a.set_rate_limits(false);
    tokio::task::block_in_place(|| import(&a, &old));
    tokio::task::block_in_place(|| import(&a, &delta));
    let b = FakeWorkOs::start(FakeWorkOsConfig::default()).await;
    b.set_rate_limits(false);
    tokio::task::block_in_place(|| import(&b, &new));
    let mut got = state(&a);
    let want = state(&b);

    // Set aside what the report says was gone / removed (never deleted).
    let gone = report_rows(&delta.join("diff/gone_users.csv"));
    assert_eq!(gone.len() as u64, t.users_gone);
    for g in &gone {
        assert!(got.users.remove(&g["external_id"]).is_some(), "{g:?}");
    }
    for r in report_rows(&delta.join("diff/removed_memberships.csv")) {
        let k = (r["external_id"].clone(), r["org_external_id"].clone());
        assert!(got.memberships.remove(&k).is_some(), "{k:?}");
    }
    for r in report_rows(&delta.join("diff/removed_membership_roles.csv")) {
        let k = (r["external_id"].clone(), r["org_external_id"].clone());
        let roles = got.memberships.get_mut(&k).unwrap();
        assert!(roles.remove(&r["role_slug"]), "{r:?}");
    }
    assert_eq!(got.users.len(), want.users.len());
    for (k, v) in &want.users {
        assert_eq!(got.users.get(k), Some(v), "user {k}");
    }
    assert_eq!(got.orgs, want.orgs);
    assert_eq!(got.memberships, want.memberships);
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn package(root: &Path, name: &str, provider: &str, users_csv: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    write(
        &dir.join("manifest.json"),
        &format!(
            r#"{{"schemaVersion":1,"provider":"{provider}","generatedAt":"2026-01-01T00:00:00.000Z","entitiesRequested":["users"],"entitiesExported":{{}},"files":{{}},"importability":{{}},"secretsRedacted":true,"warnings":[]}}"#
        ),
    );
    write(&dir.join("users.csv"), users_csv);
    dir
}

const HEADER: &str = "email,password,password_hash,password_hash_type,first_name,last_name,email_verified,external_id,metadata,org_id,org_external_id,org_name,role_slugs\n";

fn diff_fails(old: &Path, new: &Path, delta: &Path, extra: &[&str]) -> String {
    let mut args = vec!["diff", s(old), s(new), "--output-dir", s(delta)];
    args.extend_from_slice(extra);
    let r = run(&args);
    let line = assert_one_line_error(&r).to_string();
    assert_eq!(r.code, 1);
    assert!(line.starts_with("Diff failed: "), "{line}");
    assert!(
        !delta.join("manifest.json").exists(),
        "a failed diff must not leave a delta that looks complete"
    );
    line
}

#[test]
fn bad_input_is_one_line_and_leaves_no_complete_delta() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let good = format!("{HEADER}a@x.com,,,,A,B,true,ext_a,,,,,\n");
    let old = package(root, "old", "auth0", &good);

    // Different providers.
    let other = package(root, "clerk", "clerk", &good);
    let line = diff_fails(&old, &other, &root.join("d1"), &[]);
    assert!(
        line.contains("different providers")
            && line.contains("'auth0'")
            && line.contains("'clerk'"),
        "{line}"
    );

    // Users without external_id: refused unless --key-by-email.
    let no_ext = package(
        root,
        "noext",
        "auth0",
        &format!("{HEADER}a@x.com,,,,A,B,true,,,,,,\n"),
    );
    let line = diff_fails(&old, &no_ext, &root.join("d2"), &[]);
    assert!(
        line.contains("NEW users.csv has 1 row(s) without external_id")
            && line.contains("--key-by-email"),
        "{line}"
    );
    let r = run(&[
        "diff",
        s(&no_ext),
        s(&no_ext),
        "--output-dir",
        s(&root.join("d2b")),
        "--key-by-email",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["users"]["unchanged"], 1);
    assert!(j["warnings"][0]
        .as_str()
        .unwrap()
        .contains("matched by lower-cased email"));

    // Duplicate key with different user data.
    let dup = package(
        root,
        "dup",
        "auth0",
        &format!("{HEADER}a@x.com,,,,A,B,true,ext_a,,,,,\nb@x.com,,,,A,B,true,ext_a,,,,,\n"),
    );
    let line = diff_fails(&old, &dup, &root.join("d3"), &[]);
    assert!(
        line.contains("users.csv line 3: duplicate key 'x:ext_a'")
            && line.contains("first at line 2"),
        "{line}"
    );

    // A missing header column.
    let bad_header = package(root, "hdr", "auth0", "email,first_name\na@x.com,A\n");
    let line = diff_fails(&old, &bad_header, &root.join("d4"), &[]);
    assert!(
        line.contains("users.csv: missing column 'password'"),
        "{line}"
    );

    // A ragged row.
    let ragged = package(root, "ragged", "auth0", &format!("{HEADER}a@x.com,,,\n"));
    let line = diff_fails(&old, &ragged, &root.join("d5"), &[]);
    assert!(line.contains("users.csv"), "{line}");

    // No manifest.
    let bare = root.join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    let line = diff_fails(&old, &bare, &root.join("d6"), &[]);
    assert!(line.contains("manifest.json"), "{line}");

    // A non-empty output directory is never overwritten.
    let used = root.join("used");
    std::fs::create_dir_all(&used).unwrap();
    write(&used.join("keep.txt"), "x");
    let line = diff_fails(&old, &old, &used, &[]);
    assert!(line.contains("is not empty"), "{line}");
    assert!(used.join("keep.txt").exists());
}

/// The rows of the users that differ are read again by byte offset: a BOM,
/// CRLF line ends, quoted fields with newlines and commas, and another
/// column order on one side must not shift them.
#[test]
fn rows_read_back_by_offset_survive_bom_crlf_quotes_and_column_order() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let crlf = |s: &str| s.replace('\n', "\r\n");
    let old = package(
        root,
        "old",
        "auth0",
        &format!(
            "\u{feff}{}",
            crlf(&format!(
                "{HEADER}a@x.com,,,,\"Ann\nMarie\",A,true,ext_a,,,,,\n\
                 b@x.com,,,,Bob,B,true,ext_b,\"{{\"\"k\"\":\"\"v,w\"\"}}\",,,,\n\
                 c@x.com,,,,Cy,C,true,ext_c,,,,,\n"
            ))
        ),
    );
    let new = package(
        root,
        "new",
        "auth0",
        "external_id,email,password,password_hash,password_hash_type,first_name,last_name,email_verified,metadata,org_id,org_external_id,org_name,role_slugs\n\
         ext_d,d@x.com,,,,\"Di, \"\"the\"\" new\",D,true,,,,,\n\
         ext_b,b@x.com,,,,Bob,Bnew,true,\"{\"\"k\"\":\"\"v,w\"\"}\",,,,\n\
         ext_a,a@x.com,,,,\"Ann\r\nMarie\",A,true,,,,,\n",
    );
    let delta = root.join("delta");
    let j = diff_json(&old, &new, &delta, &[]);
    let u = &j["users"];
    assert_eq!(
        (&u["unchanged"], &u["changed"], &u["added"], &u["gone"]),
        (
            &Value::from(1),
            &Value::from(1),
            &Value::from(1),
            &Value::from(1)
        ),
        "{j}"
    );
    assert_eq!(u["changedFields"]["last_name"], 1, "{j}");
    let users = report_rows(&delta.join("users.csv"));
    let names: BTreeSet<(String, String)> = users
        .iter()
        .map(|r| {
            (
                r["external_id"].clone(),
                r["first_name"].clone() + " " + &r["last_name"],
            )
        })
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            ("ext_b".to_string(), "Bob Bnew".to_string()),
            ("ext_d".to_string(), "Di, \"the\" new D".to_string()),
        ])
    );
    let gone = report_rows(&delta.join("diff/gone_users.csv"));
    assert_eq!(gone.len(), 1);
    // The quoted line break makes Ann's row two lines long: Cy starts on
    // line 5.
    assert_eq!(
        (
            gone[0]["external_id"].as_str(),
            gone[0]["old_line"].as_str()
        ),
        ("ext_c", "5")
    );

    // A duplicate key with different user data is refused even when both
    // packages hold the same rows (the fingerprints alone would call the
    // user unchanged).
    let dup = format!("{HEADER}a@x.com,,,,A,B,true,ext_a,,,,,\nb@x.com,,,,A,B,true,ext_a,,,,,\n");
    let (d1, d2) = (
        package(root, "dup1", "auth0", &dup),
        package(root, "dup2", "auth0", &dup),
    );
    let line = diff_fails(&d1, &d2, &root.join("d7"), &[]);
    assert!(line.contains("duplicate key 'x:ext_a'"), "{line}");
}
