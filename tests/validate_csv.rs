//! `validate --csv` through the real binary: the original tool's validator
//! conformance cases (import.md §10 validator.test.ts) and our additions.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{run, Run};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

fn validate_json(path: &Path, extra: &[&str]) -> (Run, serde_json::Value) {
    let mut args = vec!["validate", "--csv", path.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let r = run(&args);
    let v =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", r.stdout, r.stderr));
    (r, v)
}

fn messages(v: &serde_json::Value) -> Vec<String> {
    v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn valid_two_row_csv() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "u.csv", "email,first_name,last_name,email_verified\nalice@example.com,Alice,Johnson,true\nbob@example.com,Bob,Smith,false\n");
    let (r, v) = validate_json(&p, &[]);
    assert_eq!(r.code, 0);
    assert_eq!(v["summary"]["valid"], true);
    assert_eq!(v["summary"]["totalRows"], 2);
    assert_eq!(v["summary"]["validRows"], 2);
    assert!(v["issues"].as_array().unwrap().is_empty());
}

#[test]
fn original_rule_messages() {
    let d = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, bool)] = &[
        ("email,extra\na@x.com,1\n", "Unknown column \"extra\" \u{2014} will be ignored during import", true),
        ("email,first_name\n,Ann\n", "Missing required email", false),
        ("email\nnot-an-email\n", "Invalid email format: not-an-email", false),
        ("email,metadata\na@x.com,{invalid json}\n", "Invalid JSON in metadata field", false),
        ("email,metadata\na@x.com,\"{\"\"n\"\":1}\"\n", "Metadata field \"n\" is not a string (number)", true),
        ("email,password_hash\na@x.com,$2b$10$abc\n", "password_hash provided without password_hash_type", false),
        ("email,org_id,org_external_id\na@x.com,org_1,ext_1\n", "Row has both org_id and org_external_id \u{2014} these are mutually exclusive", false),
        ("email,role_slugs\na@x.com,Admin\n", "Invalid role slug \"Admin\" \u{2014} must be lowercase alphanumeric with hyphens/underscores", false),
    ];
    for (i, (csv, message, valid)) in cases.iter().enumerate() {
        let p = write(d.path(), &format!("c{i}.csv"), csv);
        let (r, v) = validate_json(&p, &[]);
        assert!(
            messages(&v).iter().any(|m| m == message),
            "case {i}: {:?}",
            messages(&v)
        );
        assert_eq!(v["summary"]["valid"], *valid, "case {i}");
        assert_eq!(r.code, if *valid { 0 } else { 1 });
    }
}

#[test]
fn duplicate_emails_are_case_insensitive() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "u.csv",
        "email\nalice@example.com\nALICE@example.com\nbob@example.com\nalice@EXAMPLE.com\n",
    );
    let (r, v) = validate_json(&p, &[]);
    assert_eq!(r.code, 0, "duplicates are warnings");
    assert_eq!(v["summary"]["duplicateEmails"], 1);
    assert_eq!(v["summary"]["byRule"]["duplicate_email"], 2);
    let m = messages(&v);
    assert!(m.contains(&"Duplicate email \"alice@example.com\" (first seen at row 1)".to_string()));
    assert!(m.contains(&"Duplicate email \"alice@example.com\" (seen 3 times)".to_string()));
}

#[test]
fn strict_mode_fails_on_warnings() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "u.csv", "email,extra\na@x.com,1\n");
    assert_eq!(validate_json(&p, &[]).0.code, 0);
    let (r, v) = validate_json(&p, &["--strict"]);
    assert_eq!(r.code, 1);
    assert_eq!(v["summary"]["valid"], false);
}

#[test]
fn every_hash_type_is_checked() {
    let d = tempfile::tempdir().unwrap();
    let csv = "email,password_hash,password_hash_type\n\
        a@x.com,$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy,bcrypt\n\
        b@x.com,\"$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG\",argon2\n\
        c@x.com,\"$argon2id$v=19$m=1024,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG\",argon2\n\
        d@x.com,5f4dcc3b5aa765d61d8327deb882cf99,md5\n\
        e@x.com,,bcrypt\n\
        f@x.com,\"$pbkdf2$i=1000,d=sha256$AAECAwQFBgcICQoLDA0ODw$7xdxRO7JQgy8EJPSqLNEqSvFBtDU7JwCjdGfgyTYweY\",pbkdf2\n";
    let p = write(d.path(), "h.csv", csv);
    let (r, v) = validate_json(&p, &[]);
    assert_eq!(r.code, 1);
    let by_rule = &v["summary"]["byRule"];
    assert_eq!(by_rule["hash_parameter_out_of_range"], 2, "{by_rule}");
    assert_eq!(by_rule["unsupported_hash_type"], 1);
    assert_eq!(by_rule["type_without_hash"], 1);
    assert_eq!(v["summary"]["validRows"], 2);
    let rows: Vec<(u64, String)> = v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["row"].as_u64().unwrap(),
                i["column"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(rows.contains(&(3, "password_hash".into())));
    assert!(rows.contains(&(4, "password_hash_type".into())));
    // Secrets never appear in the report.
    assert!(!r.stdout.contains("RdescudvJCsgt3ub"));
    assert!(!r.stdout.contains("5f4dcc3b5aa765d61d8327deb882cf99"));
}

#[test]
fn auto_fix_writes_fixed_csv_and_keeps_every_row() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "users.csv",
        "email,email_verified,metadata,first_name\n Alice@Example.com ,Yes,\"{\"\"tags\"\":[\"\"a\"\",\"\"Alice\"\"],\"\"email\"\":\"\"x\"\"}\",Ann\nbob@example.com,1,{},Bob\n,maybe,,Nobody\n",
    );
    let r = run(&["validate", "--csv", p.to_str().unwrap(), "--auto-fix"]);
    assert_eq!(r.code, 1, "row 3 has no email: still invalid");
    let fixed = d.path().join("users-fixed.csv");
    let text = fs::read_to_string(&fixed).unwrap();
    assert_eq!(
        text,
        "email,email_verified,metadata,first_name\nalice@example.com,true,\"{\"\"tags\"\":\"\"[\\\"\"a\\\"\",\\\"\"Alice\\\"\"]\"\",\"\"custom_email\"\":\"\"x\"\"}\",Ann\nbob@example.com,true,,Bob\n,maybe,,Nobody\n"
    );
    assert!(!text.contains("Yes"));
    assert!(r.stdout.contains("Auto-fixes applied: 7"), "{}", r.stdout);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&fixed).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Nothing to fix: no file is written.
    let clean = write(d.path(), "clean.csv", "email\na@x.com\n");
    assert_eq!(
        run(&["validate", "--csv", clean.to_str().unwrap(), "--auto-fix"]).code,
        0
    );
    assert!(!d.path().join("clean-fixed.csv").exists());
}

#[test]
fn quiet_prints_only_errors() {
    let d = tempfile::tempdir().unwrap();
    let ok = write(d.path(), "ok.csv", "email,extra\na@x.com,1\n");
    let r = run(&["validate", "--csv", ok.to_str().unwrap(), "--quiet"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
    let bad = write(d.path(), "bad.csv", "email\nnope\n");
    let r = run(&["validate", "--csv", bad.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout,
        "Errors (1):\n  Row 1 (line 2, email): Invalid email format: nope\n"
    );
}
