//! Oversized fields and metadata over WorkOS's limits, in every source
//! (issue 11, `src/package/limits.rs`): a user whose name, email or
//! external id is over 64 KiB lands in `skipped_users.jsonl` with a reason
//! naming the field (never its content), the others are exported, exit 0,
//! the manifest and summary count the skip, `validate-package` passes; a
//! user whose metadata breaks WorkOS's limits is exported with a warning
//! naming the user and the limit. Firebase JSON (a 50 MB display name),
//! Clerk CSV, Auth0 in its three modes on the fake Auth0, Cognito on the
//! fake Cognito, and the legacy single-CSV modes, all through the binary.

mod fakes;

use std::path::Path;
use std::process::{Command, Stdio};

use fakes::auth0::{FakeAuth0, FakeAuth0Config};
use fakes::cognito::{FakeCognito, FakeCognitoConfig};
use serde_json::{json, Value};

/// 64 KiB, the largest identity cell exported.
const LIMIT: usize = 64 * 1024;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `cwd` with a clean provider environment.
fn run_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workos-migrate"));
    cmd.args(args).current_dir(cwd).stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("AUTH0_") || k.starts_with("COGNITO_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run workos-migrate");
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
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

fn count(dir: &Path, key: &str) -> u64 {
    let m: Value = serde_json::from_str(&read(&dir.join("manifest.json"))).unwrap();
    m["entitiesExported"][key].as_u64().unwrap()
}

/// The records of a CSV file as header → value maps.
fn csv_rows(p: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(p).expect("open csv");
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

/// The command's summary counts the skipped users.
fn assert_summary(r: &Run, skipped: u64) {
    // The file sources print manifest keys, Auth0 and Cognito words.
    let lines = [
        format!("skippedUsers: {skipped}"),
        format!("Skipped users: {skipped}"),
    ];
    assert!(
        r.stdout
            .lines()
            .any(|l| lines.contains(&l.trim().to_string())),
        "{}",
        r.stdout
    );
}

fn validate(dir: &Path) {
    let r = run_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["validate-package", &dir.to_string_lossy()],
        &[],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

/// The skipped records of `path` by reason; none carries an oversized value.
fn skip_reasons(path: &Path) -> Vec<String> {
    let text = read(path);
    for line in text.lines() {
        assert!(line.len() < 2048, "a skipped record carries a huge value");
    }
    jsonl(path)
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .collect()
}

/// The warnings of `dir` with code `code`.
fn warnings(dir: &Path, code: &str) -> Vec<Value> {
    jsonl(&dir.join("warnings.jsonl"))
        .into_iter()
        .filter(|w| w["code"] == code)
        .collect()
}

/// The package checks every source shares: exported external ids (in any
/// order: Cognito lists users in its own), the skip reasons, counts in the
/// manifest and the upload projection, validation.
fn assert_package(dir: &Path, exported: &[&str], reasons: &[&str]) {
    let mut ids: Vec<String> = csv_rows(&dir.join("users.csv"))
        .into_iter()
        .map(|r| r["external_id"].clone())
        .collect();
    ids.sort();
    let mut exported = exported.to_vec();
    exported.sort();
    assert_eq!(ids, exported);
    let mut got = skip_reasons(&dir.join("skipped_users.jsonl"));
    got.sort();
    let mut want: Vec<String> = reasons.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(count(dir, "users"), exported.len() as u64);
    assert_eq!(count(dir, "skippedUsers"), reasons.len() as u64);
    assert_eq!(
        csv_rows(&dir.join("workos_upload/users.csv")).len(),
        exported.len()
    );
    validate(dir);
}

/// The metadata warning names the user and the limit broken.
fn assert_metadata_warning(dir: &Path, user: &str, limit: &str) {
    let w = warnings(dir, "metadata_over_limits");
    assert_eq!(w.len(), 1, "{w:?}");
    let message = w[0]["message"].as_str().unwrap();
    assert!(message.contains(user), "{message}");
    assert!(message.contains(limit), "{message}");
}

// ---------------------------------------------------------------------------
// Firebase

#[test]
fn firebase_50_mb_display_name_is_skipped_and_legacy_csv_too() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("users.json");
    let fifty_mb = "N".repeat(50 << 20);
    let users = json!({"users": [
        {"localId": "ok-uid", "email": "ok@x.com", "displayName": "Ok User"},
        {"localId": "big-name", "email": "big@x.com", "displayName": fifty_mb},
        {"localId": "big-email", "email": format!("{}@x.com", "e".repeat(LIMIT))},
        {"localId": "i".repeat(LIMIT + 1), "email": "id@x.com"},
        {"localId": "meta-uid", "email": "meta@x.com",
         "photoUrl": format!("https://x.test/{}", "p".repeat(700))},
        {"localId": "L".repeat(129), "email": "long@x.com"},
        {"localId": "after", "email": "after@x.com", "displayName": "After Last"}
    ]});
    std::fs::write(&input, serde_json::to_vec(&users).unwrap()).unwrap();
    drop(fifty_mb);
    let dir = tmp.path().join("pkg");
    let started = std::time::Instant::now();
    let r = run_in(
        tmp.path(),
        &[
            "export",
            "firebase",
            "--from-file",
            &input.to_string_lossy(),
            "--output-dir",
            &dir.to_string_lossy(),
        ],
        &[],
    );
    ok(&r);
    eprintln!("firebase export of a 50 MB user: {:?}", started.elapsed());
    let long_id = "L".repeat(129);
    assert_package(
        &dir,
        &["ok-uid", "meta-uid", &long_id, "after"],
        &[
            "first_name_too_large",
            "email_too_large",
            "external_id_too_large",
        ],
    );
    let skipped = jsonl(&dir.join("skipped_users.jsonl"));
    assert_eq!(skipped[0]["firebase_uid"], "big-name");
    assert_eq!(skipped[0]["email"], "big@x.com");
    assert!(skipped[0]["error"]
        .as_str()
        .unwrap()
        .contains(&format!("first_name is {} bytes", 50 << 20)));
    assert_eq!(skipped[1]["firebase_uid"], "big-email");
    assert!(skipped[1].get("email").is_none());
    assert!(skipped[2].get("firebase_uid").is_none());
    assert_eq!(skipped[2]["email"], "id@x.com");
    assert_metadata_warning(&dir, "meta-uid", "value of \"photo_url\" is 715 characters");
    assert_eq!(
        warnings(&dir, "metadata_over_limits")[0]["firebase_uid"],
        "meta-uid"
    );
    let long = warnings(&dir, "external_id_too_long");
    assert_eq!(long.len(), 1);
    assert!(long[0]["message"]
        .as_str()
        .unwrap()
        .contains("long@x.com is 129 characters (at most 128)"));
    assert_summary(&r, 3);

    // transform-firebase without --package: the legacy CSV and its log.
    let out = tmp.path().join("out.csv");
    let r = run_in(
        tmp.path(),
        &[
            "transform-firebase",
            "--input",
            &input.to_string_lossy(),
            "--output",
            &out.to_string_lossy(),
        ],
        &[],
    );
    ok(&r);
    let ids: Vec<String> = csv_rows(&out)
        .into_iter()
        .map(|r| r["external_id"].clone())
        .collect();
    assert_eq!(ids, ["ok-uid", "meta-uid", &long_id, "after"]);
    let mut reasons = skip_reasons(&tmp.path().join("out-skipped.jsonl"));
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "email_too_large",
            "external_id_too_large",
            "first_name_too_large"
        ]
    );
}

// ---------------------------------------------------------------------------
// Clerk

const CLERK_HEADER: &str = "id,first_name,last_name,username,primary_email_address,primary_phone_number,verified_email_addresses,unverified_email_addresses,verified_phone_numbers,unverified_phone_numbers,totp_secret,password_digest,password_hasher";

#[test]
fn clerk_oversized_cells_are_skipped_and_legacy_csv_too() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("clerk.csv");
    let big = "x".repeat(1 << 20);
    let mut text = format!("{CLERK_HEADER}\n");
    text += "user_ok,Ann,Lee,ann,ann@x.com,,,,,,,,\n";
    text += &format!("user_first,{big},Lee,,first@x.com,,,,,,,,\n");
    text += &format!("user_last,Ann,{big},,last@x.com,,,,,,,,\n");
    text += &format!("user_email,Ann,Lee,,{big}@x.com,,,,,,,,\n");
    text += &format!("{big},Ann,Lee,,id@x.com,,,,,,,,\n");
    text += &format!(
        "user_meta,Meta,User,{},meta@x.com,,,,,,,,\n",
        "u".repeat(601)
    );
    std::fs::write(&input, text).unwrap();
    let dir = tmp.path().join("pkg");
    let r = run_in(
        tmp.path(),
        &[
            "export",
            "clerk",
            "--from-file",
            &input.to_string_lossy(),
            "--output-dir",
            &dir.to_string_lossy(),
        ],
        &[],
    );
    ok(&r);
    assert_summary(&r, 4);
    assert_package(
        &dir,
        &["user_ok", "user_meta"],
        &[
            "first_name_too_large",
            "last_name_too_large",
            "email_too_large",
            "external_id_too_large",
        ],
    );
    let skipped = jsonl(&dir.join("skipped_users.jsonl"));
    assert_eq!(skipped[0]["clerk_user_id"], "user_first");
    assert!(skipped[3].get("clerk_user_id").is_none());
    assert_metadata_warning(&dir, "user_meta", "value of \"username\" is 601 characters");

    let out = tmp.path().join("out.csv");
    let r = run_in(
        tmp.path(),
        &[
            "transform-clerk",
            "--input",
            &input.to_string_lossy(),
            "--output",
            &out.to_string_lossy(),
        ],
        &[],
    );
    ok(&r);
    assert_eq!(csv_rows(&out).len(), 2);
    assert_eq!(skip_reasons(&tmp.path().join("out-skipped.jsonl")).len(), 4);
}

// ---------------------------------------------------------------------------
// Auth0

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Users of the Auth0 tests (with `app_metadata` naming their organization,
/// for metadata mode): fine, a 1 MB name, a 1 MB email, a 100 KiB user id,
/// and metadata of 51 keys.
fn auth0_users() -> Vec<Value> {
    let db = json!([{"provider": "auth0", "connection": "db", "isSocial": false}]);
    let org = json!({"org_id": "org_1", "org_name": "One"});
    let many: serde_json::Map<String, Value> =
        (0..45).map(|i| (format!("k{i:02}"), json!("v"))).collect();
    vec![
        json!({"user_id": "auth0|ok", "email": "ok@x.com", "name": "Ok User",
               "identities": db, "app_metadata": org}),
        json!({"user_id": "auth0|name", "email": "name@x.com", "name": "N".repeat(1 << 20),
               "identities": db, "app_metadata": org}),
        json!({"user_id": "auth0|email", "email": format!("{}@x.com", "e".repeat(1 << 20)),
               "identities": db, "app_metadata": org}),
        json!({"user_id": format!("auth0|{}", "i".repeat(100 << 10)), "email": "id@x.com",
               "identities": db, "app_metadata": org}),
        json!({"user_id": "auth0|meta", "email": "meta@x.com", "identities": db,
               "user_metadata": many, "app_metadata": org}),
    ]
}

const AUTH0_REASONS: [&str; 3] = [
    "first_name_too_large",
    "email_too_large",
    "external_id_too_large",
];

fn auth0_export(fake: &FakeAuth0, dir: &Path, extra: &[&str]) -> Run {
    let (url, id, secret) = (fake.url(), fake.client_id(), fake.client_secret());
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
        "--bulk-poll-interval-ms",
        "10",
    ];
    args.extend_from_slice(extra);
    run_in(Path::new(env!("CARGO_MANIFEST_DIR")), &args, &[])
}

/// The Auth0 skipped records carry `unknown` for an oversized user id or
/// email, and the error names the field and its size.
fn assert_auth0_skips(dir: &Path, with_long_id: bool) {
    let skipped = jsonl(&dir.join("skipped_users.jsonl"));
    let by_reason = |reason: &str| {
        skipped
            .iter()
            .find(|r| r["reason"] == reason)
            .cloned()
            .unwrap()
    };
    let name = by_reason("first_name_too_large");
    assert_eq!(name["user_id"], "auth0|name");
    assert!(name["error"]
        .as_str()
        .unwrap()
        .contains(&format!("first_name is {} bytes", 1 << 20)));
    assert_eq!(by_reason("email_too_large")["email"], "unknown");
    assert_eq!(by_reason("email_too_large")["user_id"], "auth0|email");
    if with_long_id {
        assert_eq!(by_reason("external_id_too_large")["user_id"], "unknown");
        assert_eq!(by_reason("external_id_too_large")["email"], "id@x.com");
    }
}

#[test]
fn auth0_oversized_users_are_skipped_in_all_three_modes() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config::default()));
    fake.add_org(json!({"id": "org_1", "name": "one", "display_name": "One"}));
    for user in auth0_users() {
        let id = user["user_id"].as_str().unwrap().to_string();
        fake.add_user(user);
        // Organizations mode fetches each member by id: a 100 KiB id does
        // not fit in a URL (Auth0's ids are short anyway), so that user is
        // only listed by the other two modes.
        if id.len() < 1024 {
            fake.add_member("org_1", &id);
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let modes: [(&str, &[&str], &[&str]); 3] = [
        ("organizations", &[], &AUTH0_REASONS[..2]),
        ("metadata", &["--use-metadata"], &AUTH0_REASONS),
        (
            "bulk",
            &["--engine", "bulk-job", "--entities", "users"],
            &AUTH0_REASONS,
        ),
    ];
    for (name, extra, reasons) in modes {
        let dir = tmp.path().join(name);
        let r = auth0_export(&fake, &dir, extra);
        ok(&r);
        assert_summary(&r, reasons.len() as u64);
        assert_package(&dir, &["auth0|ok", "auth0|meta"], reasons);
        assert_auth0_skips(&dir, reasons.len() == 3);
        assert_metadata_warning(&dir, "auth0|meta", "keys (at most 50)");
        assert_eq!(
            warnings(&dir, "metadata_over_limits")[0]["user_id"],
            "auth0|meta",
            "{name}"
        );
    }

    // export-auth0 without --package: the legacy CSV and its log.
    let out = tmp.path().join("legacy.csv");
    let (url, id, secret) = (fake.url(), fake.client_id(), fake.client_secret());
    let r = run_in(
        tmp.path(),
        &[
            "export-auth0",
            "--domain",
            &url,
            "--client-id",
            &id,
            "--client-secret",
            &secret,
            "--output",
            &out.to_string_lossy(),
        ],
        &[],
    );
    ok(&r);
    assert_eq!(csv_rows(&out).len(), 2);
    let mut reasons = skip_reasons(&tmp.path().join("legacy-skipped.jsonl"));
    reasons.sort();
    assert_eq!(reasons, ["email_too_large", "first_name_too_large"]);
}

// ---------------------------------------------------------------------------
// Cognito

const REGION: &str = "us-east-1";
const POOL: &str = "us-east-1_LimitPool";

fn cognito_fixture() -> Value {
    let schema: Vec<Value> = (0..45)
        .map(
            |i| json!({"Name": format!("a{i:02}"), "AttributeDataType": "String", "Mutable": true}),
        )
        .collect();
    let mut many = serde_json::Map::new();
    many.insert("email".into(), json!("meta@x.com"));
    for i in 0..45 {
        many.insert(format!("custom:a{i:02}"), json!("v"));
    }
    let big = "x".repeat(100 << 10);
    json!({"pools": [{
        "key": "p", "id": POOL, "name": "limits", "schema": schema, "groups": [],
        "users": [
            {"username": "ok", "status": "CONFIRMED", "enabled": true,
             "attributes": {"email": "ok@x.com", "given_name": "Ok"}},
            {"username": "name", "status": "CONFIRMED", "enabled": true,
             "attributes": {"email": "name@x.com", "given_name": big}},
            {"username": "email", "status": "CONFIRMED", "enabled": true,
             "attributes": {"email": format!("{big}@x.com")}},
            {"username": "meta", "status": "CONFIRMED", "enabled": true,
             "attributes": many}
        ],
        "identity_providers": []
    }]})
}

fn cognito(cwd: &Path, fake: &FakeCognito, args: &[&str]) -> Run {
    let url = fake.url();
    let mut all: Vec<&str> = args.to_vec();
    all.extend_from_slice(&[
        "--region",
        REGION,
        "--user-pool-ids",
        POOL,
        "--endpoint-url",
        &url,
    ]);
    run_in(
        cwd,
        &all,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDLIMITS0001"),
            ("AWS_SECRET_ACCESS_KEY", "limits-secret"),
        ],
    )
}

#[test]
fn cognito_oversized_users_are_skipped_package_and_loose_mode() {
    let rt = runtime();
    let fake = rt.block_on(FakeCognito::start(FakeCognitoConfig::default()));
    fake.load_fixture(&cognito_fixture())
        .expect("fixture loads");
    let sub = |u: &str| fake.sub_of(POOL, u).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let d = dir.to_string_lossy().into_owned();
    let r = cognito(
        tmp.path(),
        &fake,
        &["export", "cognito", "--output-dir", &d],
    );
    ok(&r);
    assert_summary(&r, 2);
    let want = [sub("ok"), sub("meta")];
    assert_package(
        &dir,
        &[&want[0], &want[1]],
        &["first_name_too_large", "email_too_large"],
    );
    // Cognito lists users in its own order.
    let skipped = jsonl(&dir.join("skipped_users.jsonl"));
    let by_reason = |reason: &str| skipped.iter().find(|r| r["reason"] == reason).unwrap();
    assert_eq!(by_reason("first_name_too_large")["username"], "name");
    assert_eq!(by_reason("first_name_too_large")["email"], "name@x.com");
    assert_eq!(by_reason("email_too_large")["username"], "email");
    assert!(by_reason("email_too_large").get("email").is_none());
    // Our keys (6 here: no MFA options) + 45 custom attributes.
    assert_metadata_warning(&dir, &sub("meta"), "51 keys (at most 50)");
    assert_eq!(
        warnings(&dir, "metadata_over_limits")[0]["email"],
        "meta@x.com"
    );

    // export-cognito without --package: the loose users file.
    let loose = tmp.path().join("loose");
    let l = loose.to_string_lossy().into_owned();
    let r = cognito(tmp.path(), &fake, &["export-cognito", "--output-dir", &l]);
    ok(&r);
    let ids: Vec<String> = csv_rows(&loose.join("workos_users.csv"))
        .into_iter()
        .map(|r| r["external_id"].clone())
        .collect();
    let mut ids = ids;
    ids.sort();
    let mut want = want;
    want.sort();
    assert_eq!(ids, want);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("2 user(s) were left out: a field over 64 KiB"),
        "{all}"
    );
    assert!(all.contains("first: user name: first_name is"), "{all}");
}

/// A job-file line over 16 MiB (a 17 MiB name) is not read: it is counted
/// in the `bulk_export_unparsable_lines` warning, which says why, and the
/// export goes on.
#[test]
fn auth0_bulk_job_line_over_16_mib_is_reported_not_lost() {
    let rt = runtime();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config::default()));
    fake.add_user(json!({"user_id": "auth0|ok", "email": "ok@x.com"}));
    fake.add_user(json!({"user_id": "auth0|huge", "email": "huge@x.com",
                         "name": "N".repeat(17 << 20)}));
    fake.add_user(json!({"user_id": "auth0|after", "email": "after@x.com"}));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = auth0_export(
        &fake,
        &dir,
        &["--engine", "bulk-job", "--entities", "users"],
    );
    ok(&r);
    assert_package(&dir, &["auth0|ok", "auth0|after"], &[]);
    let w = warnings(&dir, "bulk_export_unparsable_lines");
    assert_eq!(w.len(), 1);
    let message = w[0]["message"].as_str().unwrap();
    assert!(message.contains("1 of them over 16 MiB"), "{message}");
    assert!(message.len() < 1024);
    assert_eq!(w[0]["details"]["overlong"], 1);
}
