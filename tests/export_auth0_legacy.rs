//! `export-auth0` (deprecated, export-and-package.md §13.1) end to end: the
//! built binary against the fake Auth0 Management API
//! (`tests/fakes/auth0.rs`): the legacy single-CSV mode (§15
//! exporter.test.ts case 1, the Appendix B fixture tenant, metadata mode,
//! per-row validation, skipped-log path, a 5,000-member organization, a
//! metadata-mode tenant past Auth0's 1,000-user listing cap), the option
//! checks, and `--package` against `export auth0`.

mod fakes;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use fakes::auth0::{FakeAuth0, FakeAuth0Config, Fault, Route};
use serde_json::{json, Value};

const HEADER: &str =
    "email,first_name,last_name,email_verified,external_id,org_external_id,org_name,metadata";

/// A fake tenant served by its own runtime for as long as it lives.
struct Tenant {
    fake: FakeAuth0,
    _rt: tokio::runtime::Runtime,
}

impl Tenant {
    fn start(seed: impl FnOnce(&FakeAuth0)) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config::default()));
        seed(&fake);
        Self { fake, _rt: rt }
    }

    fn synthetic(users: u64, orgs: u64) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let fake = rt.block_on(FakeAuth0::synthetic(users, orgs));
        Self { fake, _rt: rt }
    }

    fn fixture() -> Self {
        Self::start(|f| f.load_fixture(&fixture()).expect("fixture loads"))
    }

    /// The credential flags of this tenant.
    fn creds(&self) -> Vec<String> {
        vec![
            "--domain".into(),
            self.fake.url(),
            "--client-id".into(),
            self.fake.client_id(),
            "--client-secret".into(),
            self.fake.client_secret(),
        ]
    }
}

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/auth0/tenant.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read fixture")).expect("json")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[String]) -> Run {
    let o = Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .args(args)
        .env_remove("AUTH0_CLIENT_ID")
        .env_remove("AUTH0_CLIENT_SECRET")
        .env_remove("AUTH0_DOMAIN")
        .output()
        .expect("run the binary");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// `export-auth0 ‹creds› --output ‹output› ‹extra›`.
fn legacy(t: &Tenant, output: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["export-auth0".to_string()];
    args.extend(t.creds());
    args.push("--output".into());
    args.push(output.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    run(&args)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn jsonl(p: &Path) -> Vec<Value> {
    read(p)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// Parses a CSV file into records (header included).
fn csv_records(p: &Path) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(p)
        .expect("open csv")
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect()
}

/// Files of `dir` (names).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
}

#[test]
fn exporter_case_1_one_user_one_org() {
    let t = Tenant::start(|f| {
        f.add_org(json!({"id": "org_1", "name": "one", "display_name": "One"}));
        f.add_user(json!({
            "user_id": "auth0|1", "email": "u@x.com", "email_verified": true,
            "given_name": "Ursula", "family_name": "Use",
            "created_at": "2020-01-01T00:00:00.000Z", "updated_at": "2020-01-02T00:00:00.000Z",
            "identities": [{"provider": "auth0", "connection": "db", "isSocial": false}]
        }));
        f.add_member("org_1", "auth0|1");
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("users.csv");
    let r = legacy(&t, &out, &[]);
    ok(&r);
    assert!(r.stderr.starts_with(
        "\u{26a0} 'export-auth0' is deprecated; use 'export auth0' (removed in v4.0)\n"
    ));
    let recs = csv_records(&out);
    assert_eq!(recs[0].join(","), HEADER);
    assert_eq!(recs.len(), 2);
    assert_eq!(
        recs[1][..7],
        ["u@x.com", "Ursula", "Use", "true", "auth0|1", "org_1", "One"]
    );
    let meta: Value = serde_json::from_str(&recs[1][7]).unwrap();
    assert_eq!(meta["auth0_user_id"], "auth0|1");
    let log = dir.path().join("users-skipped.jsonl");
    assert_eq!(read(&log), "");
    assert!(r.stdout.contains("  Users: 1\n"), "{}", r.stdout);
    assert!(r.stdout.contains("  Organizations: 1\n"), "{}", r.stdout);
    assert!(r
        .stdout
        .contains(&format!("  Skipped: 0 ({})\n", log.display())));
    assert!(r.stdout.contains("  Duration: "));
    assert!(r.stdout.contains(&format!("  Output: {}\n", out.display())));
    // Only the two outputs remain: no scratch package, no partial files.
    assert_eq!(names(dir.path()), ["users-skipped.jsonl", "users.csv"]);
    #[cfg(unix)]
    {
        assert_eq!(mode(&out), 0o600);
        assert_eq!(mode(&log), 0o600);
    }
}

const META_A: &str = r#""{""auth0_org_id"":""o"",""nested"":""{\""a\"":1}"",""flag"":""false"",""n"":"""",""plan"":""pro"",""auth0_user_id"":""auth0|a"",""auth0_created_at"":""2020-01-01T00:00:00.000Z"",""auth0_updated_at"":""2020-01-02T00:00:00.000Z"",""auth0_identities"":""[{\""provider\"":\""auth0\"",\""connection\"":\""Username-Password-Authentication\"",\""isSocial\"":false}]"",""auth0_last_login"":""2021-01-01"",""auth0_logins_count"":""0""}""#;
const META_B: &str = r#""{""auth0_user_id"":""auth0|b"",""auth0_created_at"":""2020-01-01T00:00:00.000Z"",""auth0_updated_at"":""2020-01-02T00:00:00.000Z"",""auth0_blocked"":""true"",""auth0_metadata_only"":""true""}""#;

/// The rows of the fixture tenant, exact bytes for the Appendix B users
/// (a, b); the others checked by column.
#[test]
fn fixture_tenant_rows_exact() {
    let t = Tenant::fixture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("auth0.csv");
    let r = legacy(&t, &out, &[]);
    ok(&r);
    let text = read(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], HEADER);
    assert_eq!(
        lines[1],
        format!("A@x.com,Ann,Marie Lee,true,auth0|a,org_acme,\"Acme, Inc\",{META_A}")
    );
    assert_eq!(
        lines[2],
        format!("b@x.com,B,,,auth0|b,org_acme,\"Acme, Inc\",{META_B}")
    );
    let recs = csv_records(&out);
    let keys: Vec<(&str, &str)> = recs[1..]
        .iter()
        .map(|r| (r[4].as_str(), r[5].as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("auth0|a", "org_acme"),
            ("auth0|b", "org_acme"),
            ("auth0|f", "org_acme"),
            ("auth0|g", "org_acme"),
            ("auth0|a", "org_two"),
            ("auth0|e", "org_two"),
            ("auth0|g", "org_two"),
        ]
    );
    assert_eq!(
        recs[3][..7],
        [
            "f@x.com",
            "Fay",
            "Fields",
            "true",
            "auth0|f",
            "org_acme",
            "Acme, Inc"
        ]
    );
    assert_eq!(
        recs[6][..7],
        [
            "Eve.Mixed@Example.COM",
            "",
            "",
            "false",
            "auth0|e",
            "org_two",
            "two"
        ]
    );
    assert!(text.ends_with('\n'));
    // Skipped: the federated user (not included without the flag), the
    // user without email and the member Auth0 answers 404 for (named by its
    // member id).
    let log: Vec<Value> = jsonl(&dir.path().join("auth0-skipped.jsonl"))
        .into_iter()
        .map(|mut v| {
            assert!(v["timestamp"].is_string());
            v.as_object_mut().unwrap().remove("timestamp");
            v
        })
        .collect();
    assert_eq!(
        log,
        [
            json!({"user_id":"google|c","email":"c@x.com","org_id":"org_acme","org_name":"Acme, Inc","reason":"federated_user"}),
            json!({"user_id":"auth0|d","email":"unknown","org_id":"org_acme","org_name":"Acme, Inc","reason":"no_email"}),
            json!({"user_id":"missing","email":"unknown","org_id":"org_acme","org_name":"Acme, Inc","reason":"no_email"}),
        ]
    );
    assert!(r.stdout.contains("  Users: 7\n"), "{}", r.stdout);
    assert!(r.stdout.contains("  Organizations: 2\n"));
    assert!(r.stdout.contains("  Skipped: 3 ("));
    assert!(r.stdout.contains("    federated_user: 1\n"));
    assert!(r.stdout.contains("    no_email: 2\n"));

    // With --include-federated-users the social user is a row; --orgs
    // (space-separated) keeps only org_two and counts only it.
    let out2 = dir.path().join("two.csv");
    let r = legacy(
        &t,
        &out2,
        &["--include-federated-users", "--orgs", "org_two", "org_nope"],
    );
    ok(&r);
    let recs = csv_records(&out2);
    let ids: Vec<&str> = recs[1..].iter().map(|r| r[4].as_str()).collect();
    assert_eq!(ids, ["auth0|a", "auth0|e", "auth0|g"]);
    assert!(r.stdout.contains("  Organizations: 1\n"), "{}", r.stdout);
    let out3 = dir.path().join("acme.csv");
    ok(&legacy(
        &t,
        &out3,
        &["--include-federated-users", "--orgs", "org_acme"],
    ));
    let ids: Vec<String> = csv_records(&out3)[1..]
        .iter()
        .map(|r| r[4].clone())
        .collect();
    assert_eq!(
        ids,
        ["auth0|a", "auth0|b", "google|c", "auth0|f", "auth0|g"]
    );
}

#[test]
fn metadata_mode() {
    let t = Tenant::fixture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("meta.csv");
    let r = legacy(&t, &out, &["--use-metadata"]);
    ok(&r);
    let recs = csv_records(&out);
    let rows: Vec<(&str, &str, &str)> = recs[1..]
        .iter()
        .map(|r| (r[4].as_str(), r[5].as_str(), r[6].as_str()))
        .collect();
    assert_eq!(
        rows,
        [("auth0|a", "o", "o"), ("auth0|f", "org_fake", "Fake Org")]
    );
    let log = jsonl(&dir.path().join("meta-skipped.jsonl"));
    let skipped: Vec<(&str, &str)> = log
        .iter()
        .map(|v| {
            (
                v["user_id"].as_str().unwrap(),
                v["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            ("auth0|b", "no_org_in_metadata"),
            ("google|c", "no_org_in_metadata"),
            ("auth0|d", "no_org_in_metadata"),
            ("auth0|e", "no_org_in_metadata"),
            ("auth0|g", "no_org_in_metadata"),
        ]
    );
    assert!(r.stdout.contains("  Organizations: 2\n"), "{}", r.stdout);
    // No org listing beyond the connection test in metadata mode.
    assert_eq!(t.fake.count(Route::OrgMembers), 0);
}

/// Past Auth0's 1,000-user listing cap metadata mode reads an export job and
/// still gets every user.
#[test]
fn metadata_mode_beyond_1000_users() {
    let t = Tenant::synthetic(1_200, 0);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.csv");
    let r = legacy(
        &t,
        &out,
        &[
            "--use-metadata",
            "--metadata-org-id-field",
            "plan",
            "--rate-limit",
            "10000",
        ],
    );
    ok(&r);
    let recs = csv_records(&out);
    assert_eq!(recs.len() - 1, 1_200);
    let ids: HashSet<&str> = recs[1..].iter().map(|r| r[4].as_str()).collect();
    assert_eq!(ids.len(), 1_200);
    assert!(recs[1..].iter().all(|r| r[5] == "pro" || r[5] == "free"));
    assert!(r.stdout.contains("  Organizations: 2\n"), "{}", r.stdout);
    assert!(t.fake.job_count() >= 1);
}

#[test]
fn rows_failing_the_legacy_check_are_logged() {
    let t = Tenant::start(|f| {
        f.add_org(json!({"id": "org_v", "name": "vee", "display_name": "Vee"}));
        for (id, email) in [
            ("auth0|ok", "ok@x.com"),
            ("auth0|noat", "no-at-sign"),
            ("auth0|blank", "   "),
        ] {
            f.add_user(json!({"user_id": id, "email": email}));
            f.add_member("org_v", id);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v.csv");
    let r = legacy(&t, &out, &[]);
    ok(&r);
    let recs = csv_records(&out);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1][0], "ok@x.com");
    let log = jsonl(&dir.path().join("v-skipped.jsonl"));
    assert_eq!(log.len(), 2);
    for v in &log {
        assert_eq!(v["reason"], "validation_failed");
        assert_eq!(v["org_id"], "org_v");
    }
    assert_eq!(log[0]["user_id"], "auth0|noat");
    assert_eq!(log[0]["error"], "Invalid email format: no-at-sign");
    assert_eq!(log[1]["user_id"], "auth0|blank");
    assert_eq!(log[1]["email"], "   ");
    assert_eq!(log[1]["error"], "Missing required field: email");
    assert!(
        r.stdout.contains("    validation_failed: 2\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn option_errors() {
    let t = Tenant::fixture();
    let dir = tempfile::tempdir().unwrap();
    let base = |extra: &[&str]| {
        let mut a = vec!["export-auth0".to_string()];
        a.extend(t.creds());
        a.extend(extra.iter().map(|s| s.to_string()));
        run(&a)
    };
    let out = dir.path().join("o.csv");
    let o = out.display().to_string();
    for (extra, message) in [
        (vec![], "--output is required unless --package is set"),
        (
            vec!["--package"],
            "--output-dir is required when using --package",
        ),
        (
            vec!["--output", &o, "--engine", "fast"],
            "--engine must be \"management-api\" or \"bulk-job\", got \"fast\"",
        ),
        (
            vec!["--output", &o, "--engine", "bulk-job"],
            "--engine bulk-job requires --package mode",
        ),
        (
            vec!["--output", &o, "--job-id", "j1"],
            "--job-id needs --package (the single-CSV mode is not checkpointed); re-run without --job-id",
        ),
        (
            vec!["--output", &o, "--resume", "j1"],
            "--resume needs --package (the single-CSV mode is not checkpointed); re-run without --resume",
        ),
    ] {
        let r = base(&extra);
        assert_eq!(r.code, 1, "{extra:?}: {}", r.stderr);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(
            lines,
            [
                "\u{26a0} 'export-auth0' is deprecated; use 'export auth0' (removed in v4.0)",
                &format!("Export failed: {message}"),
            ],
            "{extra:?}"
        );
    }
    // No env defaults for the credentials: clap reports the missing flag.
    let r = Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .args(["export-auth0", "--output", &o, "--domain", &t.fake.url()])
        .env("AUTH0_CLIENT_ID", t.fake.client_id())
        .env("AUTH0_CLIENT_SECRET", t.fake.client_secret())
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("--client-id"));
    // A wrong secret fails at the connection test; nothing is left behind
    // and the secret is not echoed.
    let r = run(&[
        "export-auth0".into(),
        "--domain".into(),
        t.fake.url(),
        "--client-id".into(),
        t.fake.client_id(),
        "--client-secret".into(),
        "wrong-secret-123".into(),
        "--output".into(),
        o.clone(),
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("Export failed: "), "{}", r.stderr);
    assert!(!r.stderr.contains("wrong-secret-123"));
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

/// Removes the volatile parts of a package file: JSONL `timestamp`s and the
/// manifest's `generatedAt`.
fn stable(path: &Path) -> String {
    let text = read(path);
    let name = path.file_name().unwrap().to_string_lossy();
    if name == "manifest.json" {
        let mut v: Value = serde_json::from_str(&text).unwrap();
        v.as_object_mut().unwrap().remove("generatedAt");
        return v.to_string();
    }
    if name.ends_with(".jsonl") {
        return text
            .lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("timestamp");
                v.to_string()
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    text
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            out.push(p.strip_prefix(root).unwrap().to_path_buf());
        }
    }
}

#[test]
fn package_mode_equals_export_auth0() {
    let t = Tenant::fixture();
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("legacy");
    let b = dir.path().join("unified");
    let mut args = vec!["export-auth0".to_string()];
    args.extend(t.creds());
    args.extend(
        [
            "--package",
            "--output-dir",
            &a.display().to_string(),
            "--entities",
            "all",
            "--orgs",
            "org_acme",
            "org_two",
        ]
        .map(String::from),
    );
    let ra = run(&args);
    ok(&ra);
    assert!(ra
        .stderr
        .starts_with("\u{26a0} 'export-auth0' is deprecated"));
    let mut args = vec!["export".to_string(), "auth0".to_string()];
    args.extend(t.creds());
    args.extend(
        [
            "--output-dir",
            &b.display().to_string(),
            "--entities",
            "all",
            "--orgs",
            "org_acme,org_two",
        ]
        .map(String::from),
    );
    ok(&run(&args));
    let (mut fa, mut fb) = (Vec::new(), Vec::new());
    walk(&a, &a, &mut fa);
    walk(&b, &b, &mut fb);
    fa.sort();
    fb.sort();
    assert_eq!(fa, fb);
    assert!(fa.len() > 10);
    for f in &fa {
        assert_eq!(stable(&a.join(f)), stable(&b.join(f)), "{}", f.display());
    }
    assert!(ra.stdout.contains("Package export complete"));
}

#[test]
fn skipped_log_path_is_never_the_output() {
    let t = Tenant::fixture();
    let dir = tempfile::tempdir().unwrap();
    for (output, log) in [
        ("export", "export-skipped.jsonl"),
        ("users.csv.bak", "users-skipped.jsonl.bak"),
    ] {
        let out = dir.path().join(output);
        ok(&legacy(&t, &out, &[]));
        let text = read(&out);
        assert!(text.starts_with(&format!("{HEADER}\n")), "{output}");
        assert_eq!(csv_records(&out).len(), 8, "{output}");
        assert_eq!(jsonl(&dir.path().join(log)).len(), 3, "{output}");
    }
    // An output that is a directory is refused before any request.
    let before = t.fake.count(Route::Token);
    let r = legacy(&t, dir.path(), &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is a directory"), "{}", r.stderr);
    assert_eq!(t.fake.count(Route::Token), before);
}

#[test]
fn an_org_that_fails_is_reported_and_the_rest_exported() {
    let t = Tenant::fixture();
    t.fake.push_fault(Route::OrgMembers, Fault::Status(404));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.csv");
    let r = legacy(&t, &out, &[]);
    ok(&r);
    assert!(
        r.stderr.contains("  Acme, Inc: FAILED \u{2014} "),
        "{}",
        r.stderr
    );
    let ids: Vec<String> = csv_records(&out)[1..]
        .iter()
        .map(|r| r[5].clone())
        .collect();
    assert_eq!(ids, ["org_two", "org_two", "org_two"]);
}

#[test]
fn a_failed_listing_leaves_nothing_behind() {
    let t = Tenant::fixture();
    // The connection test passes, the user listing of metadata mode fails
    // after the scratch package was created.
    t.fake.push_fault(Route::Users, Fault::Status(403));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let r = legacy(&t, &out, &["--use-metadata"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("Export failed: "), "{}", r.stderr);
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

/// Every member of a 5,000-member organization (checkpoint pagination past
/// the 1,000-record offset cap).
#[test]
fn a_5000_member_org_is_fully_exported() {
    let t = Tenant::synthetic(5_000, 1);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.csv");
    let r = legacy(
        &t,
        &out,
        &["--rate-limit", "10000", "--user-fetch-concurrency", "50"],
    );
    ok(&r);
    let recs = csv_records(&out);
    assert_eq!(recs.len() - 1, 5_000);
    let ids: HashSet<&str> = recs[1..].iter().map(|r| r[4].as_str()).collect();
    assert_eq!(ids.len(), 5_000);
    assert!(recs[1..].iter().all(|r| r[5] == "org_000000"));
    assert!(r.stdout.contains("  Users: 5000\n"), "{}", r.stdout);
    assert_eq!(read(&dir.path().join("big-skipped.jsonl")), "");
}

/// Ctrl-C while the scratch package is being written removes it and the
/// unfinished outputs; exit 130.
#[test]
fn interrupted_export_leaves_nothing_behind() {
    let t = Tenant::synthetic(3_000, 1);
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let output = out_dir.join("users.csv");
    let mut args = vec!["export-auth0".to_string()];
    args.extend(t.creds());
    let mut child = Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .args(&args)
        .arg("--output")
        .arg(&output)
        .args(["--rate-limit", "200", "--quiet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let trigger = out_dir
        .join(format!(".users.csv.package-{}", child.id()))
        .join("users.csv");
    let started = std::time::Instant::now();
    while !trigger.is_file() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{} never appeared",
            trigger.display()
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("finished before it could be interrupted: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.ends_with(
            "Export interrupted; its scratch package and unfinished files were removed\n"
        ),
        "{stderr}"
    );
    assert!(names(&out_dir).is_empty(), "{:?}", names(&out_dir));
}

#[test]
fn package_only_entities_are_noted_in_csv_mode() {
    let t = Tenant::fixture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("n.csv");
    let r = legacy(&t, &out, &["--entities", "all"]);
    ok(&r);
    assert!(r
        .stderr
        .contains("Note: roles, SSO connections and --include-secrets need --package"));
    assert_eq!(t.fake.count(Route::Roles), 0);
    assert_eq!(t.fake.count(Route::Connections), 0);
    let r = legacy(&t, &out, &["--entities", "groups"]);
    assert_eq!(r.code, 1);
    assert!(r
        .stderr
        .contains("Export failed: Unsupported Auth0 package entity \"groups\""));
}
