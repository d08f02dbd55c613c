//! `query` over a package and extra tables, through the real binary.

mod common;

use std::fs;

use common::run;

fn package_with_users(dir: &std::path::Path) -> std::path::PathBuf {
    let pkg = dir.join("pkg");
    assert_eq!(
        run(&[
            "export",
            "csv",
            "--output-dir",
            pkg.to_str().unwrap(),
            "--quiet"
        ])
        .code,
        0
    );
    let mut users = String::from("email,password,password_hash,password_hash_type,first_name,last_name,email_verified,external_id,metadata,org_id,org_external_id,org_name,role_slugs\n");
    for (i, org) in ["org_b", "org_a", "org_b", "org_c", "org_b", "org_a", "007"]
        .iter()
        .enumerate()
    {
        users.push_str(&format!(
            "u{i}@x.com,,,,\"Name, {i}\",,true,ext_{i},,,{org},Org,admin\n"
        ));
    }
    fs::write(pkg.join("users.csv"), users).unwrap();
    fs::write(pkg.join("warnings.jsonl"), "{\"timestamp\":\"t\",\"code\":\"c1\",\"message\":\"m\"}\n{\"timestamp\":\"t\",\"code\":\"c1\",\"message\":\"n\"}\n").unwrap();
    pkg
}

#[test]
fn group_by_over_package_users() {
    let d = tempfile::tempdir().unwrap();
    let pkg = package_with_users(d.path());
    let r = run(&[
        "query",
        "SELECT org_external_id, count(*) AS n FROM users GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
        "--package",
        pkg.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Ids stay text: "007" is not turned into 7.
    assert_eq!(
        r.stdout,
        "org_external_id,n\norg_b,3\norg_a,2\n007,1\norg_c,1\n"
    );
}

#[test]
fn every_canonical_table_is_registered() {
    let d = tempfile::tempdir().unwrap();
    let pkg = package_with_users(d.path());
    for table in [
        "users",
        "organizations",
        "organization_memberships",
        "role_definitions",
        "user_role_assignments",
        "totp_secrets",
        "warnings",
        "skipped_users",
        "saml_connections",
        "oidc_connections",
        "custom_attribute_mappings",
        "proxy_routes",
        "upload_users",
        "upload_organizations",
        "upload_memberships",
    ] {
        let r = run(&[
            "query",
            &format!("SELECT count(*) AS n FROM {table}"),
            "--package",
            pkg.to_str().unwrap(),
            "--format",
            "csv",
        ]);
        assert_eq!(r.code, 0, "{table}: {}", r.stderr);
        let expected = match table {
            "users" => "n\n7\n",
            "warnings" => "n\n2\n",
            _ => "n\n0\n",
        };
        assert_eq!(r.stdout, expected, "{table}");
    }
}

#[test]
fn json_and_table_formats_and_extra_tables() {
    let d = tempfile::tempdir().unwrap();
    let pkg = package_with_users(d.path());
    let r = run(&[
        "query",
        "SELECT code, count(*) AS n FROM warnings GROUP BY code",
        "--package",
        pkg.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v, serde_json::json!([{"code": "c1", "n": 2}]));

    let errs = d.path().join("errors.jsonl");
    fs::write(
        &errs,
        "{\"email\":\"a@x.com\",\"httpStatus\":429}\n{\"email\":\"b@x.com\",\"httpStatus\":409}\n",
    )
    .unwrap();
    let extra = d.path().join("extra.csv");
    fs::write(&extra, "email,score\na@x.com,3\n").unwrap();
    let r = run(&[
        "query",
        "SELECT e.email, x.score FROM errs e JOIN extra x ON e.email = x.email",
        "--table",
        &format!("errs={}", errs.display()),
        "--table",
        &format!("extra={}", extra.display()),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("| a@x.com | 3     |"), "{}", r.stdout);
    assert!(r.stderr.contains("(1 row)"));
}

#[test]
fn missing_package_and_no_tables() {
    let r = run(&["query", "SELECT 1", "--package", "/nonexistent/pkg"]);
    assert_eq!(
        (r.code, r.stderr.trim()),
        (
            1,
            "Query failed: Package directory not found: /nonexistent/pkg"
        )
    );
    let r = run(&["query", "SELECT 1"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("nothing to query"));
}
