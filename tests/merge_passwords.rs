//! `merge-passwords` through the built binary: §15 password-merger cases
//! adapted to the fixed behaviour, Appendix B's merge, bcrypt hashes that
//! still verify, `validate-package` after one and two merges, junk lines,
//! BOM/CRLF, header and option errors, blocked users, and the partition knob.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workos-migrate"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("run workos-migrate");
    let out = Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out
}

fn run(args: &[&str]) -> Out {
    run_env(args, &[])
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

const FIX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/auth0/passwords/appendix-b"
);

/// An empty valid package with `users.csv`, upload users and warnings
/// replaced, and the manifest counts set to match.
fn package(root: &Path, users: &str, upload: &str, warnings: &str) -> PathBuf {
    let dir = root.join("pkg");
    let r = run(&["export", "csv", "--output-dir", p(&dir), "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    fs::write(dir.join("users.csv"), users).unwrap();
    fs::write(dir.join("workos_upload/users.csv"), upload).unwrap();
    fs::write(dir.join("warnings.jsonl"), warnings).unwrap();
    let count = |s: &str| s.lines().skip(1).filter(|l| !l.is_empty()).count();
    let mut m: Value =
        serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    m["entitiesExported"]["users"] = count(users).into();
    m["entitiesExported"]["uploadUsers"] = count(upload).into();
    let wl: Vec<&str> = warnings.lines().filter(|l| !l.is_empty()).collect();
    m["entitiesExported"]["warnings"] = wl.len().into();
    m["warnings"] = wl
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["message"].clone())
        .collect::<Vec<_>>()
        .into();
    fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&m).unwrap() + "\n",
    )
    .unwrap();
    assert_valid(&dir);
    dir
}

fn appendix_b(root: &Path) -> PathBuf {
    let read = |n: &str| fs::read_to_string(Path::new(FIX).join(n)).unwrap();
    package(
        root,
        &read("users.csv"),
        &read("upload_users.csv"),
        &read("warnings.jsonl"),
    )
}

fn assert_valid(dir: &Path) {
    let r = run(&["validate-package", p(dir)]);
    assert_eq!(
        r.code, 0,
        "validate-package failed:\n{}\n{}",
        r.stdout, r.stderr
    );
}

fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    let mut rd = csv::Reader::from_path(path).unwrap();
    rd.records().map(|r| r.unwrap()).collect()
}

fn header(path: &Path) -> Vec<String> {
    let mut rd = csv::Reader::from_path(path).unwrap();
    rd.headers().unwrap().iter().map(String::from).collect()
}

fn col(path: &Path, name: &str) -> usize {
    header(path).iter().position(|h| h == name).unwrap()
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn warnings(dir: &Path) -> Vec<Value> {
    fs::read_to_string(dir.join("warnings.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ndjson(path: &Path, records: &[(&str, &str)]) {
    let text: String = records
        .iter()
        .map(|(e, h)| {
            serde_json::json!({"email": e, "passwordHash": h, "connection": "db"}).to_string()
                + "\n"
        })
        .collect();
    fs::write(path, text).unwrap();
}

#[test]
fn appendix_b_merge_bcrypt_verifies_and_package_stays_valid_after_two_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = appendix_b(tmp.path());
    let hash = bcrypt::hash("correct horse", 4).unwrap();
    let pw = tmp.path().join("pw.ndjson");
    ndjson(&pw, &[("a@X.com", &hash), ("b@x.com", "sha1:1:2")]);
    let before_orgs = fs::read(dir.join("organizations.csv")).unwrap();

    for round in 0..2 {
        let r = run(&[
            "merge-passwords",
            "--passwords",
            p(&pw),
            "--package",
            p(&dir),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stdout.contains("Package password merge complete"),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains("Total rows: 3"), "{}", r.stdout);
        assert!(r.stdout.contains("Passwords added: 2"), "{}", r.stdout);
        assert!(r.stdout.contains("No password found: 0"), "{}", r.stdout);
        assert!(
            r.stdout.contains("Blocked users skipped: 1"),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains("Upload rows updated: 1"), "{}", r.stdout);
        assert!(!r.stdout.contains(&hash) && !r.stderr.contains(&hash));

        let users = dir.join("users.csv");
        let (h, t, e) = (
            col(&users, "password_hash"),
            col(&users, "password_hash_type"),
            col(&users, "email"),
        );
        let rows = csv_rows(&users);
        assert_eq!(rows.len(), 3);
        for row in &rows {
            if &row[e] == "A@x.com" {
                assert_eq!((&row[h], &row[t]), (hash.as_str(), "bcrypt"));
                assert!(bcrypt::verify("correct horse", &row[h]).unwrap());
                assert!(!bcrypt::verify("wrong", &row[h]).unwrap());
            } else {
                assert_eq!((&row[h], &row[t]), ("", ""), "blocked b gets nothing");
            }
        }
        let upload = dir.join("workos_upload/users.csv");
        let up = csv_rows(&upload);
        assert_eq!(&up[0][5], hash.as_str());
        assert_eq!(&up[1][5], "");
        assert_eq!(
            fs::read(dir.join("organizations.csv")).unwrap(),
            before_orgs
        );

        let w = warnings(&dir);
        assert_eq!(w.len(), 12, "round {round}: 11 export warnings + 1 blocked");
        assert_eq!(
            w.iter()
                .filter(|r| r["code"] == "blocked_user_password_withheld")
                .count(),
            1
        );
        let m = manifest(&dir);
        assert_eq!(m["entitiesExported"]["warnings"], 12);
        assert_eq!(m["warnings"].as_array().unwrap().len(), 12);
        let pm = &m["metadata"]["passwordMerge"];
        assert_eq!(pm["passwordsAdded"], 2);
        assert_eq!(pm["uploadRowsUpdated"], 1);
        assert_eq!(pm["blockedUsersSkipped"], 1);
        assert!(pm["mergedAt"].is_string());
        assert_valid(&dir);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [
                "users.csv",
                "workos_upload/users.csv",
                "warnings.jsonl",
                "manifest.json",
            ] {
                let mode = fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{f}");
            }
        }
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".merge-passwords"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

const USERS_HEADER: &str = "email,password,password_hash,password_hash_type,first_name,last_name,email_verified,external_id,metadata,org_id,org_external_id,org_name,role_slugs\n";
const UPLOAD_HEADER: &str = "user_id,email,email_verified,first_name,last_name,password_hash\n";

#[test]
fn package_bcrypt_accepted_sha256_rejected_without_duplicates_on_rerun() {
    // §15 password-merger case 9, plus re-run.
    let tmp = tempfile::tempdir().unwrap();
    let users = format!("{USERS_HEADER}a@x.com,,,,A,,true,u1,,,o1,Org,\nb@x.com,,,,B,,true,u2,,,o1,Org,\nz@x.com,,,,Z,,true,u3,,,o1,Org,\n");
    let upload =
        format!("{UPLOAD_HEADER}u1,a@x.com,true,A,,\nu2,b@x.com,true,B,,\nu3,z@x.com,true,Z,,\n");
    let dir = package(tmp.path(), &users, &upload, "");
    let bc = bcrypt::hash("pw-a", 4).unwrap();
    let sha = "a".repeat(64);
    let pw = tmp.path().join("pw.ndjson");
    ndjson(&pw, &[("a@x.com", &bc), ("B@X.COM", &sha)]);
    for _ in 0..2 {
        let r = run(&[
            "merge-passwords",
            "--passwords",
            p(&pw),
            "--package",
            p(&dir),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stdout.contains("Passwords added: 1"), "{}", r.stdout);
        assert!(
            r.stdout.contains("Unsupported algorithms skipped: 1"),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains("No password found: 1"), "{}", r.stdout);
        let text = fs::read_to_string(dir.join("users.csv")).unwrap();
        assert!(text.contains(&bc) && !text.contains(&sha));
        let up = fs::read_to_string(dir.join("workos_upload/users.csv")).unwrap();
        assert!(up.contains(&bc) && !up.contains(&sha));
        let m = manifest(&dir);
        let pm = &m["metadata"]["passwordMerge"];
        assert_eq!(
            (
                pm["passwordsAdded"].as_u64(),
                pm["passwordsRejectedAlgorithm"].as_u64(),
                pm["passwordsNotFound"].as_u64(),
                pm["uploadRowsUpdated"].as_u64()
            ),
            (Some(1), Some(1), Some(1), Some(1))
        );
        let msgs: Vec<&str> = m["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            msgs,
            [
                "Skipped password hash for b@x.com because algorithm \"sha256\" is not supported by WorkOS imports.",
                "1 package user(s) had no matching Auth0 password hash."
            ]
        );
        let w = warnings(&dir);
        assert_eq!(w[0]["code"], "unsupported_password_hash_algorithm");
        assert_eq!(w[0]["user_id"], "u2");
        assert!(!fs::read_to_string(dir.join("warnings.jsonl"))
            .unwrap()
            .contains(&sha));
        assert_valid(&dir);
    }
}

#[test]
fn missing_users_csv_is_skipped_with_zero_counts() {
    // §15 case 10.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    fs::create_dir(&dir).unwrap();
    let pw = tmp.path().join("pw.ndjson");
    ndjson(&pw, &[("a@x.com", "$2b$04$abc")]);
    let r = run(&[
        "merge-passwords",
        "--passwords",
        p(&pw),
        "--package",
        p(&dir),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("Package users.csv not found at"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("Passwords added: 0"), "{}", r.stdout);
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn legacy_csv_mode_matches_case_insensitively_and_filters_algorithms() {
    // §15 case 8 adapted: md5 is not written (WorkOS does not import it).
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.csv");
    fs::write(
        &input,
        "email,first_name\nA@X.com,Ann\nb@x.com,Bo\nc@x.com,Cy\n",
    )
    .unwrap();
    let bc = bcrypt::hash("pw", 4).unwrap();
    let md5 = "5f4dcc3b5aa765d61d8327deb882cf99";
    let pw = tmp.path().join("pw.ndjson");
    ndjson(&pw, &[("a@x.com", &bc), ("B@x.com", md5)]);
    let out = tmp.path().join("out.csv");
    let r = run(&[
        "merge-passwords",
        "--passwords",
        p(&pw),
        "--csv",
        p(&input),
        "--output",
        p(&out),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("Loaded 2 password hashes"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Merge complete"), "{}", r.stdout);
    assert!(r.stdout.contains("Total rows: 3"), "{}", r.stdout);
    assert!(r.stdout.contains("Passwords added: 1"), "{}", r.stdout);
    assert!(r.stdout.contains("No password found: 1"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Unsupported algorithms skipped: 1"),
        "{}",
        r.stdout
    );
    assert_eq!(
        header(&out),
        ["email", "first_name", "password_hash", "password_hash_type"]
    );
    let rows = csv_rows(&out);
    assert_eq!(&rows[0][2], bc.as_str());
    assert_eq!(&rows[0][3], "bcrypt");
    assert!(bcrypt::verify("pw", &rows[0][2]).unwrap());
    assert_eq!((&rows[1][2], &rows[1][3]), ("", ""));
    assert!(!fs::read_to_string(&out).unwrap().contains(md5));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // --output naming the input is refused, the input untouched.
    let before = fs::read(&input).unwrap();
    let r = run(&[
        "merge-passwords",
        "--passwords",
        p(&pw),
        "--csv",
        p(&input),
        "--output",
        p(&input),
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("--output must differ from --csv"),
        "{}",
        r.stderr
    );
    assert_eq!(fs::read(&input).unwrap(), before);
}

#[test]
fn junk_lines_bom_and_crlf_are_reported_never_echoed() {
    let tmp = tempfile::tempdir().unwrap();
    let users = format!("{USERS_HEADER}a@x.com,,,,A,,true,u1,,,o1,Org,\n");
    let upload = format!("{UPLOAD_HEADER}u1,a@x.com,true,A,,\n");
    let dir = package(tmp.path(), &users, &upload, "");
    let bc = bcrypt::hash("pw", 4).unwrap();
    let mut text = b"\xEF\xBB\xBF".to_vec();
    text.extend_from_slice(
        format!("{{\"email\":\"A@x.com\",\"passwordHash\":\"{bc}\"}}\r\n").as_bytes(),
    );
    text.extend_from_slice(b"SECRETJUNK not json\r\n\r\n{\"email\":\"x@x.com\"}\r\n\xff\xfe\xfd\r\n[\"SECRETARRAY\"]\r\n");
    let pw = tmp.path().join("pw.ndjson");
    fs::write(&pw, text).unwrap();
    let r = run(&[
        "merge-passwords",
        "--passwords",
        p(&pw),
        "--package",
        p(&dir),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Passwords added: 1"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("Unparsable lines: 4 (first: line 2, 4, 5, 6)"),
        "{}",
        r.stdout
    );
    let w = warnings(&dir);
    let junk: Vec<&Value> = w
        .iter()
        .filter(|r| r["code"] == "unparsable_password_lines")
        .collect();
    assert_eq!(junk.len(), 1);
    assert_eq!(junk[0]["details"]["count"], 4);
    assert_eq!(
        junk[0]["details"]["firstLines"],
        serde_json::json!([2, 4, 5, 6])
    );
    let all = fs::read_to_string(dir.join("warnings.jsonl")).unwrap() + &r.stdout + &r.stderr;
    assert!(!all.contains("SECRET"));
    assert_valid(&dir);
}

#[test]
fn wrong_header_is_a_one_line_error_and_nothing_is_rewritten() {
    let tmp = tempfile::tempdir().unwrap();
    let users = format!("{USERS_HEADER}a@x.com,,,,A,,true,u1,,,o1,Org,\n");
    let dir = package(tmp.path(), &users, UPLOAD_HEADER, "");
    let bad = "mail,first_name\na@x.com,A\n";
    fs::write(dir.join("users.csv"), bad).unwrap();
    let manifest_before = fs::read(dir.join("manifest.json")).unwrap();
    let pw = tmp.path().join("pw.ndjson");
    ndjson(&pw, &[("a@x.com", &bcrypt::hash("pw", 4).unwrap())]);
    let r = run(&[
        "merge-passwords",
        "--passwords",
        p(&pw),
        "--package",
        p(&dir),
    ]);
    assert_eq!(r.code, 1);
    let msg = r.stderr.trim();
    assert_eq!(msg.lines().count(), 1, "{msg}");
    assert!(msg.starts_with("Merge failed: "), "{msg}");
    assert!(msg.contains("users.csv: line 1: header"), "{msg}");
    assert_eq!(fs::read_to_string(dir.join("users.csv")).unwrap(), bad);
    assert_eq!(
        fs::read(dir.join("manifest.json")).unwrap(),
        manifest_before
    );
    // A ragged row names its line; nothing is rewritten either.
    let ragged = format!("{USERS_HEADER}a@x.com,,,,A\n");
    fs::write(dir.join("users.csv"), &ragged).unwrap();
    let r = run(&[
        "merge-passwords",
        "--passwords",
        p(&pw),
        "--package",
        p(&dir),
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("line 2"), "{}", r.stderr);
    assert_eq!(fs::read_to_string(dir.join("users.csv")).unwrap(), ragged);
}

#[test]
fn option_errors_use_the_original_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let pw = tmp.path().join("pw.ndjson");
    ndjson(&pw, &[("a@x.com", "x")]);
    let missing = tmp.path().join("nope.ndjson");
    let nodir = tmp.path().join("nodir");
    let nocsv = tmp.path().join("no.csv");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--passwords", p(&missing), "--package", p(tmp.path())],
            format!("Password file not found: {}", p(&missing)),
        ),
        (
            vec![
                "--passwords",
                p(&pw),
                "--package",
                p(tmp.path()),
                "--csv",
                "x.csv",
            ],
            "--package cannot be combined with --csv or --output. Choose one mode.".into(),
        ),
        (
            vec![
                "--passwords",
                p(&pw),
                "--package",
                p(tmp.path()),
                "--output",
                "o.csv",
            ],
            "--package cannot be combined with --csv or --output. Choose one mode.".into(),
        ),
        (
            vec!["--passwords", p(&pw), "--package", p(&nodir)],
            format!("Package directory not found: {}", p(&nodir)),
        ),
        (
            vec!["--passwords", p(&pw)],
            "Either --package, or both --csv and --output, must be set.".into(),
        ),
        (
            vec!["--passwords", p(&pw), "--csv", "x.csv"],
            "Either --package, or both --csv and --output, must be set.".into(),
        ),
        (
            vec![
                "--passwords",
                p(&pw),
                "--csv",
                p(&nocsv),
                "--output",
                "o.csv",
            ],
            format!("CSV file not found: {}", p(&nocsv)),
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["merge-passwords"];
        all.extend(args.iter().copied());
        let r = run(&all);
        assert_eq!(r.code, 1, "{args:?}");
        assert_eq!(r.stderr.trim(), expected, "{args:?}");
    }
}

#[test]
fn quiet_prints_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let users = format!("{USERS_HEADER}a@x.com,,,,A,,true,u1,,,o1,Org,\n");
    let dir = package(tmp.path(), &users, UPLOAD_HEADER, "");
    let pw = tmp.path().join("pw.ndjson");
    ndjson(&pw, &[("a@x.com", &bcrypt::hash("pw", 4).unwrap())]);
    let r = run(&[
        "merge-passwords",
        "--passwords",
        p(&pw),
        "--package",
        p(&dir),
        "--quiet",
    ]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);
}

#[test]
fn tiny_partition_counts_give_the_same_result() {
    let tmp = tempfile::tempdir().unwrap();
    let mut users = String::from(USERS_HEADER);
    let mut upload = String::from(UPLOAD_HEADER);
    let mut records = Vec::new();
    let bc = bcrypt::hash("pw", 4).unwrap();
    for i in 0..600 {
        let blocked = if i % 17 == 0 {
            "\"{\"\"auth0_blocked\"\":\"\"true\"\"}\""
        } else {
            ""
        };
        // Two org rows for some users.
        for org in 0..(1 + i % 3 / 2) {
            users.push_str(&format!(
                "User{i}@X.com,,,,F{i},L,true,auth0|{i},{blocked},,o{org},Org {org},\n"
            ));
        }
        upload.push_str(&format!("auth0|{i},user{i}@x.com,true,F{i},L,\n"));
        let hash = match i % 5 {
            0 => "5f4dcc3b5aa765d61d8327deb882cf99".to_string(),
            1 | 2 => bc.clone(),
            3 => continue,
            _ => format!("$2b$04$short{i}"),
        };
        records.push((format!("user{i}@x.com"), hash));
    }
    // Duplicates: the later record wins.
    records.push(("user1@x.com".into(), "sha1:1:2".into()));
    let refs: Vec<(&str, &str)> = records
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let pw = tmp.path().join("pw.ndjson");
    ndjson(&pw, &refs);
    let mut results = Vec::new();
    for (i, parts) in ["", "1", "3"].iter().enumerate() {
        let root = tmp.path().join(format!("r{i}"));
        fs::create_dir(&root).unwrap();
        let dir = package(&root, &users, &upload, "");
        let env: Vec<(&str, &str)> = if parts.is_empty() {
            vec![]
        } else {
            vec![("WORKOS_MIGRATE_MERGE_PARTITIONS", parts)]
        };
        let r = run_env(
            &[
                "merge-passwords",
                "--passwords",
                p(&pw),
                "--package",
                p(&dir),
            ],
            &env,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_valid(&dir);
        let strip = |v: Value| {
            let mut v = v;
            if let Some(o) = v.as_object_mut() {
                o.remove("timestamp");
            }
            v
        };
        let counts: Vec<String> = r
            .stdout
            .lines()
            .filter(|l| !l.contains("Duration") && !l.contains("Package:"))
            .map(String::from)
            .collect();
        results.push((
            fs::read(dir.join("users.csv")).unwrap(),
            fs::read(dir.join("workos_upload/users.csv")).unwrap(),
            warnings(&dir).into_iter().map(strip).collect::<Vec<_>>(),
            counts,
        ));
    }
    assert!(
        results[0]
            .3
            .iter()
            .any(|l| l.contains("Blocked users skipped")),
        "{:?}",
        results[0].3
    );
    assert!(
        results[0]
            .3
            .iter()
            .any(|l| l.contains("Invalid hashes skipped")),
        "{:?}",
        results[0].3
    );
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0], results[2]);
}

/// Input generator for `benches/merge_passwords_run.sh` (not a check):
/// writes `users.csv`, `workos_upload/users.csv` into `$MERGE_SYNTH_DIR`,
/// and `passwords.ndjson` + `truth.json` beside it, for
/// `$MERGE_SYNTH_USERS` users.
#[test]
#[ignore = "generator for benches/merge_passwords_run.sh"]
fn generate_large_merge_input() {
    let dir = PathBuf::from(std::env::var("MERGE_SYNTH_DIR").expect("MERGE_SYNTH_DIR"));
    let users: u64 = std::env::var("MERGE_SYNTH_USERS")
        .expect("MERGE_SYNTH_USERS")
        .parse()
        .expect("MERGE_SYNTH_USERS is a number");
    let parent = dir.parent().expect("MERGE_SYNTH_DIR has a parent");
    let mut u = fs::File::create(dir.join("users.csv")).unwrap();
    let mut up = fs::File::create(dir.join("workos_upload/users.csv")).unwrap();
    let mut pw = fs::File::create(parent.join("passwords.ndjson")).unwrap();
    let truth = workos_migrate::synth::auth0_passwords::write_auth0_password_inputs(
        users, 42, &mut u, &mut up, &mut pw,
    )
    .unwrap();
    fs::write(
        parent.join("truth.json"),
        serde_json::to_string_pretty(&truth).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_crash_between_renames_is_repaired_by_the_next_run() {
    use workos_migrate::password_merge::commit::{staged_path, JOURNAL, REPLACEABLE};
    let tmp = tempfile::tempdir().unwrap();
    let dir = appendix_b(tmp.path());
    let old: Vec<Vec<u8>> = REPLACEABLE
        .iter()
        .map(|f| fs::read(dir.join(f)).unwrap())
        .collect();
    let hash = bcrypt::hash("pw", 4).unwrap();
    let pw = tmp.path().join("pw.ndjson");
    ndjson(&pw, &[("a@x.com", &hash), ("nobody@x.com", "md5")]);
    let r = run(&[
        "merge-passwords",
        "--passwords",
        p(&pw),
        "--package",
        p(&dir),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let new: Vec<Vec<u8>> = REPLACEABLE
        .iter()
        .map(|f| fs::read(dir.join(f)).unwrap())
        .collect();
    // Rewind to "journal written, users.csv and the upload file renamed,
    // warnings.jsonl and manifest.json not yet": a mixed package.
    for (i, f) in REPLACEABLE.iter().enumerate().skip(2) {
        fs::write(staged_path(&dir, f), &new[i]).unwrap();
        fs::write(dir.join(f), &old[i]).unwrap();
    }
    fs::write(
        dir.join(JOURNAL),
        serde_json::to_string(&REPLACEABLE).unwrap(),
    )
    .unwrap();
    let r = run(&[
        "merge-passwords",
        "--passwords",
        p(&pw),
        "--package",
        p(&dir),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("interrupted earlier merge"),
        "{}",
        r.stderr
    );
    assert!(!dir.join(JOURNAL).exists());
    assert_valid(&dir);
    assert_eq!(fs::read(dir.join("users.csv")).unwrap(), new[0]);
    // 11 export warnings + one missing_password_hash (b has no record), once.
    let w = warnings(&dir);
    assert_eq!(w.len(), 12);
    assert_eq!(w[11]["code"], "missing_password_hash");
}
