//! The bad-input catalogue of docs/bad-input.md, one test per case: a one-line
//! error (or a reported row), a non-zero exit where the file is unusable,
//! never a panic or a hang.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{assert_one_line_error, run, Run};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

fn validate(path: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["validate", "--csv", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

fn json_summary(r: &Run) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON report");
    v
}

#[test]
fn bom_is_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "bom.csv",
        b"\xEF\xBB\xBFemail,first_name\na@x.com,Ann\n",
    );
    let r = validate(&p, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("VALID\n  Total rows: 1"));
}

#[test]
fn crlf_line_endings_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "crlf.csv",
        b"email,first_name\r\na@x.com,Ann\r\nb@x.com,Bob\r\n",
    );
    let r = validate(&p, &["--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json_summary(&r);
    assert_eq!(v["summary"]["totalRows"], 2);
    assert_eq!(v["summary"]["warnings"], 0);
}

#[test]
fn ragged_rows_are_reported_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "ragged.csv",
        b"email,first_name\na@x.com\nb@x.com,Bob,extra\nc@x.com,Cy\n",
    );
    let r = validate(&p, &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("Row 1 (line 2): Row has 1 fields but the header has 2"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Row 2 (line 3): Row has 3 fields but the header has 2"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Total rows: 3"));
}

#[test]
fn invalid_utf8_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "latin1.csv",
        b"email,first_name\na@x.com,Ann\nb@x.com,Jos\xe9\n",
    );
    let r = validate(&p, &[]);
    let line = assert_one_line_error(&r);
    assert!(
        line.contains("latin1.csv: line 3: invalid UTF-8 in field \"first_name\""),
        "{line}"
    );
}

#[test]
fn missing_email_header_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "noemail.csv", b"mail,first_name\na@x.com,Ann\n");
    let r = validate(&p, &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("Header: Missing required column: email"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Unknown column \"mail\""));
}

#[test]
fn empty_file_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "empty.csv", b"");
    let line = assert_one_line_error(&validate(&p, &[])).to_string();
    assert!(
        line.contains("empty.csv: file is empty (expected a header row)"),
        "{line}"
    );
}

#[test]
fn header_only_file_is_valid_with_zero_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "header.csv", b"email,first_name\n");
    let r = validate(&p, &[]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("Total rows: 0"));
    // ...but a header-only file without `email` is still wrong.
    let p = write(dir.path(), "header2.csv", b"first_name\n");
    assert_eq!(validate(&p, &[]).code, 1);
}

#[test]
fn quoted_newline_is_one_row_and_keeps_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "nl.csv",
        b"email,first_name\na@x.com,\"Ann\nMarie\"\nnot-an-email,Bob\n",
    );
    let r = validate(&p, &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("Row 2 (line 4, email): Invalid email format: not-an-email"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Total rows: 2"));
}

#[test]
fn ten_megabyte_field_is_a_row_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let big = "x".repeat(10 * 1024 * 1024);
    let content = format!("email,metadata\na@x.com,\"{{\"\"note\"\":\"\"{big}\"\"}}\"\nb@x.com,\n");
    let p = write(dir.path(), "big.csv", content.as_bytes());
    let r = validate(&p, &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains(
            "Metadata value for \"note\" is 10485760 characters; WorkOS allows at most 600"
        ),
        "{}",
        &r.stdout[..r.stdout.len().min(2000)]
    );
}

#[test]
fn metadata_json_that_is_not_an_object() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "meta.csv",
        b"email,metadata\na@x.com,\"[1,2]\"\nb@x.com,\"\"\"text\"\"\"\nc@x.com,{bad\n",
    );
    let r = validate(&p, &["--json"]);
    assert_eq!(r.code, 1);
    let v = json_summary(&r);
    assert_eq!(v["summary"]["byRule"]["metadata_not_object"], 2);
    assert_eq!(v["summary"]["byRule"]["invalid_metadata_json"], 1);
}

#[test]
fn directory_where_a_file_is_expected() {
    let dir = tempfile::tempdir().unwrap();
    let line = assert_one_line_error(&validate(dir.path(), &[])).to_string();
    assert!(
        line.contains("is a directory, expected a CSV file"),
        "{line}"
    );
    let r = run(&[
        "export-template",
        "users",
        "--output",
        dir.path().to_str().unwrap(),
    ]);
    assert!(assert_one_line_error(&r).contains("is a directory"));
    let r = run(&[
        "query",
        "SELECT 1",
        "--table",
        &format!("t={}", dir.path().display()),
    ]);
    assert!(assert_one_line_error(&r).contains("file not found"));
}

#[test]
fn unwritable_output_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "u.csv", b"email\n A@x.com\n");
    let out = dir.path().join("no/such/dir/fixed.csv");
    let r = validate(&p, &["--auto-fix", "--output", out.to_str().unwrap()]);
    let line = assert_one_line_error(&r);
    assert!(
        line.contains("fixed.csv") && line.contains("does not exist"),
        "{line}"
    );
    // An output dir that is a file cannot hold a package.
    let file = write(dir.path(), "afile", b"x");
    let r = run(&[
        "export",
        "csv",
        "--output-dir",
        file.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(assert_one_line_error(&r).contains("exists and is not a directory"));
}

#[test]
fn missing_file_is_a_one_line_error() {
    let r = validate(Path::new("/nonexistent/users.csv"), &[]);
    assert_eq!(
        assert_one_line_error(&r),
        "Validation failed: CSV file not found: /nonexistent/users.csv"
    );
}

#[test]
fn unterminated_quote_does_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "quote.csv",
        b"email,first_name\na@x.com,\"Ann\nb@x.com,Bob\nc@x.com,Cy\n",
    );
    let r = validate(&p, &[]);
    // The rest of the file becomes one field: one ragged-free row, reported totals.
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Total rows: 1"), "{}", r.stdout);
}

#[test]
fn absurd_option_values_are_rejected() {
    let r = run(&["query", "SELECT 1", "--format", "xml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("invalid value 'xml'"));
    let r = run(&["query", "SELECT 1", "--table", "no-equals-sign"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("expected NAME=PATH"));
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "u.csv", b"email\na@x.com\n");
    let r = validate(&p, &["--output", "x.csv"]);
    assert_eq!(
        assert_one_line_error(&r),
        "Validation failed: --output is only used with --auto-fix"
    );
}

#[test]
fn auto_fix_refuses_to_overwrite_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "u.csv", b"email\n A@x.com\n");
    let r = validate(&p, &["--auto-fix", "--output", p.to_str().unwrap()]);
    assert!(assert_one_line_error(&r).contains("--output must differ from the input file"));
    assert_eq!(fs::read(&p).unwrap(), b"email\n A@x.com\n");
}

#[test]
fn null_manifest_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
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
    fs::write(pkg.join("manifest.json"), "null").unwrap();
    let r = run(&["validate-package", pkg.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r
        .stderr
        .contains("[invalid_manifest] manifest.json must contain a JSON object"));
}

#[test]
fn bad_sql_exits_2_with_datafusion_message() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
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
    let r = run(&["query", "SELEC nope", "--package", pkg.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        assert_one_line_error(&r).starts_with("Query failed: SQL error"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "query",
        "SELECT missing_col FROM users",
        "--package",
        pkg.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
}

#[test]
fn binary_garbage_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    // gzip magic + random bytes: not a CSV.
    let p = write(
        dir.path(),
        "users.csv.gz",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xfe\n\x00\x01",
    );
    let line = assert_one_line_error(&validate(&p, &[])).to_string();
    assert!(line.contains("invalid UTF-8"), "{line}");
}
