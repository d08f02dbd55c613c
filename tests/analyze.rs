//! `analyze` (import.md §1.4, §4): grouping and normalization, the text and
//! `--json` reports, the retryable set (exactly the importer's,
//! `workos::retry`), and the retry CSV, which holds only the rows that can
//! succeed on a second run, copied from the original CSV by record number.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use workos_migrate::analyze::{analyze_errors, generate_retry_csv, AnalyzeError};
use workos_migrate::workos::retry::{is_retryable_status, RETRYABLE_STATUSES};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn jsonl(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

fn rec(n: u64, email: &str, kind: &str, message: &str, status: Option<u16>) -> Value {
    let mut v = json!({
        "recordNumber": n,
        "email": email,
        "errorType": kind,
        "errorMessage": message,
        "timestamp": "2026-01-01T00:00:00.000Z",
    });
    if let Some(s) = status {
        v["httpStatus"] = json!(s);
    }
    v
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn groups_by_normalized_pattern_type_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let errors = write(
        dir.path(),
        "errors.jsonl",
        &(jsonl(&[
            rec(
                1,
                "a@x.com",
                "user_create",
                "User a@x.com already exists",
                Some(409),
            ),
            rec(
                2,
                "b@y.org",
                "user_create",
                "User b@y.org already exists",
                Some(409),
            ),
            rec(3, "c@x.com", "user_create", "Too many requests", Some(429)),
            rec(
                4,
                "d@x.com",
                "membership_create",
                "Organization not found: 'org_01HXYZABCDEFGH'.",
                Some(404),
            ),
            rec(
                5,
                "e@x.com",
                "membership_create",
                "Organization not found: 'org_01JJJJJJJJJJJJ'.",
                Some(404),
            ),
        ]) + "not json\n\n"),
    );
    let r = analyze_errors(&errors).unwrap();
    assert_eq!(r.total_errors, 5);
    assert_eq!(r.skipped_lines, 1);
    assert_eq!(r.error_groups.len(), 3);
    assert_eq!((r.retryable_count, r.non_retryable_count), (1, 4));
    let g = &r.error_groups[0];
    assert_eq!(g.pattern, "User <EMAIL> already exists");
    assert_eq!((g.count, g.http_status, g.retryable), (2, Some(409), false));
    assert_eq!(g.examples.len(), 2);
    assert_eq!(
        g.suggestion,
        "Users already exist in WorkOS \u{2014} these can be safely ignored"
    );
    // Ties keep first-seen order.
    assert_eq!(
        r.error_groups[1].pattern,
        "Organization not found: '<org_ID>'."
    );
    assert_eq!(r.error_groups[2].http_status, Some(429));
    assert!(r.error_groups[2].retryable);
    assert_eq!(r.max_record_number, 5);
    assert_eq!(
        r.suggestions,
        [
            "Users already exist in WorkOS \u{2014} these can be safely ignored",
            "Review error details in the examples",
            "Reduce --concurrency value (try 5 or lower) and retry",
        ]
    );

    // Empty file.
    let empty = write(dir.path(), "empty.jsonl", "");
    let r = analyze_errors(&empty).unwrap();
    assert_eq!((r.total_errors, r.error_groups.len()), (0, 0));

    // Examples are capped at three, verbatim.
    let many: Vec<Value> = (1..=5)
        .map(|n| rec(n, "z@x.com", "user_create", "Boom", Some(500)))
        .collect();
    let many = write(dir.path(), "many.jsonl", &jsonl(&many));
    let r = analyze_errors(&many).unwrap();
    assert_eq!(r.error_groups[0].count, 5);
    assert_eq!(r.error_groups[0].examples.len(), 3);
    assert_eq!(
        r.error_groups[0].examples[0],
        rec(1, "z@x.com", "user_create", "Boom", Some(500))
    );
}

#[test]
fn retryable_set_is_exactly_the_importers() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Value> = (100u16..600)
        .map(|status| {
            rec(
                u64::from(status),
                "a@x.com",
                "user_create",
                "x",
                Some(status),
            )
        })
        .collect();
    let errors = write(dir.path(), "errors.jsonl", &jsonl(&records));
    let r = analyze_errors(&errors).unwrap();
    assert_eq!(r.error_groups.len(), 500);
    for g in &r.error_groups {
        let status = g.http_status.unwrap() as u16;
        assert_eq!(g.retryable, is_retryable_status(status), "HTTP {status}");
    }
    assert_eq!(r.retryable_count, RETRYABLE_STATUSES.len() as u64);

    // Without a status: transport failures are retryable, the importer's own
    // deterministic row errors are not.
    let cases = [
        (
            "Unexpected error: error sending request: connection closed",
            true,
        ),
        ("Error: Request timeout", true),
        ("Missing required email", false),
        ("Invalid metadata JSON", false),
        ("Row cannot specify both org_id and org_external_id", false),
        (
            "Invalid Record Length: columns length is 2, got 3 on line 2",
            false,
        ),
        ("Organization not found: acme", false),
    ];
    for (message, retryable) in cases {
        let errors = write(
            dir.path(),
            "one.jsonl",
            &jsonl(&[rec(1, "a@x.com", "user_create", message, None)]),
        );
        let r = analyze_errors(&errors).unwrap();
        assert_eq!(r.error_groups[0].retryable, retryable, "{message}");
        assert_eq!(r.error_groups[0].http_status, None);
    }
}

#[test]
fn text_and_json_reports() {
    let dir = tempfile::tempdir().unwrap();
    let errors = write(
        dir.path(),
        "errors.jsonl",
        &jsonl(&[
            rec(
                1,
                "a@x.com",
                "user_create",
                "User a@x.com already exists",
                Some(409),
            ),
            rec(2, "b@x.com", "user_create", "Missing required email", None),
        ]),
    );
    let r = common::run(&["analyze", "--errors", s(&errors)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (head, tail) = r.stdout.split_once("\n  Duration: ").unwrap();
    assert_eq!(
        head,
        "Analyzing import errors...\n\nError Analysis Report\n  Total errors: 2\n  Retryable: 0\n  Non-retryable: 2\n  Error patterns: 2\n\nError Groups:\n\n  [non-retryable] User <EMAIL> already exists\n    Count: 1 | Type: user_create | HTTP 409\n    Suggestion: Users already exist in WorkOS \u{2014} these can be safely ignored\n\n  [non-retryable] Missing required email\n    Count: 1 | Type: user_create\n    Suggestion: Review error details in the examples\n\nFix Suggestions:\n  - Users already exist in WorkOS \u{2014} these can be safely ignored\n  - Review error details in the examples\n"
    );
    let ms = tail.strip_suffix("ms\n").unwrap();
    assert!(ms.parse::<u64>().is_ok(), "{tail}");

    let r = common::run(&["analyze", "--errors", s(&errors), "--json", "--quiet"]);
    assert_eq!(r.code, 0);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "totalErrors",
            "errorGroups",
            "retryableCount",
            "nonRetryableCount",
            "suggestions"
        ]
    );
    let g0: Vec<&str> = v["errorGroups"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        g0,
        [
            "pattern",
            "count",
            "errorType",
            "httpStatus",
            "retryable",
            "suggestion",
            "examples"
        ]
    );
    assert!(v["errorGroups"][1].get("httpStatus").is_none());
    assert_eq!(v["nonRetryableCount"], 2);

    // --json without --quiet still prints the first line, as the original.
    let r = common::run(&["analyze", "--errors", s(&errors), "--json"]);
    assert!(r.stdout.starts_with("Analyzing import errors...\n{"));
}

#[test]
fn argument_errors_are_one_line_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.jsonl");
    let r = common::run(&["analyze", "--errors", s(&missing)]);
    assert_eq!(
        common::assert_one_line_error(&r),
        format!("Errors file not found: {}", missing.display())
    );
    let errors = write(dir.path(), "errors.jsonl", "");
    let out = dir.path().join("retry.csv");
    let r = common::run(&["analyze", "--errors", s(&errors), "--retry-csv", s(&out)]);
    assert_eq!(
        common::assert_one_line_error(&r),
        "--original-csv is required when using --retry-csv"
    );
    let r = common::run(&[
        "analyze",
        "--errors",
        s(&errors),
        "--retry-csv",
        s(&out),
        "--original-csv",
        s(&missing),
    ]);
    assert_eq!(
        common::assert_one_line_error(&r),
        format!("Original CSV not found: {}", missing.display())
    );
    assert!(!out.exists());
}

const ORIGINAL: &str = "\u{feff}email,first_name,password,org_external_id\n\
alice@x.com,Alice,\"p,w \"\"1\"\"\",acme\n\
\n\
alice@x.com,Alice,\"p,w \"\"1\"\"\",globex\n\
bob@x.com,Bob,,acme\n\
carol@x.com,Carol,,acme\n\
dave@x.com,Dave,,acme\n\
,NoEmail,,acme\n\
erin@x.com,Erin,,acme\n\
Frank@X.com,Frank,,acme\n";

#[test]
fn retry_csv_keeps_only_rows_that_can_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let original = write(dir.path(), "users.csv", ORIGINAL);
    let errors = write(
        dir.path(),
        "errors.jsonl",
        &jsonl(&[
            // Row 1 (alice/acme) hit a 503; row 2 (alice/globex) succeeded.
            rec(
                1,
                "alice@x.com",
                "user_create",
                "Service unavailable",
                Some(503),
            ),
            rec(3, "bob@x.com", "user_create", "User exists", Some(409)),
            rec(
                4,
                "carol@x.com",
                "membership_create",
                "Request timeout",
                Some(408),
            ),
            rec(
                5,
                "dave@x.com",
                "user_create",
                "Unexpected error: connection reset",
                None,
            ),
            // Dave's row also has a permanent error: left out.
            rec(5, "dave@x.com", "membership_create", "bad role", Some(422)),
            rec(6, "", "user_create", "Missing required email", None),
            rec(
                7,
                "erin@x.com",
                "user_create",
                "Invalid metadata JSON",
                None,
            ),
            rec(
                8,
                "frank@x.com",
                "user_create",
                "Too many requests",
                Some(429),
            ),
        ]),
    );
    let out = dir.path().join("retry.csv");
    let r = common::run(&[
        "analyze",
        "--errors",
        s(&errors),
        "--retry-csv",
        s(&out),
        "--original-csv",
        s(&original),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "email,first_name,password,org_external_id\n\
alice@x.com,Alice,\"p,w \"\"1\"\"\",acme\n\
carol@x.com,Carol,,acme\n\
Frank@X.com,Frank,,acme\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let r = common::run(&[
        "analyze",
        "--errors",
        s(&errors),
        "--retry-csv",
        s(&out),
        "--original-csv",
        s(&original),
    ]);
    assert!(
        r.stdout.ends_with(&format!(
            "\nGenerating retry CSV...\nRetry CSV generated: {}\n  Retryable emails: 3\n  Rows written: 3\n  Not retried (would fail again): 4\n",
            out.display()
        )),
        "{}",
        r.stdout
    );
    // Nothing left beside the output but the inputs.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["errors.jsonl", "retry.csv", "users.csv"]);
}

#[test]
fn retry_csv_dedupe_keeps_the_first_row_per_email() {
    let dir = tempfile::tempdir().unwrap();
    let original = write(dir.path(), "users.csv", ORIGINAL);
    let errors = write(
        dir.path(),
        "errors.jsonl",
        &jsonl(&[
            rec(
                2,
                "alice@x.com",
                "membership_create",
                "Bad gateway",
                Some(502),
            ),
            rec(
                1,
                "alice@x.com",
                "user_create",
                "Too many requests",
                Some(429),
            ),
            rec(
                3,
                "bob@x.com",
                "user_create",
                "Too many requests",
                Some(429),
            ),
        ]),
    );
    let out = dir.path().join("retry.csv");
    let r = generate_retry_csv(&errors, &original, &out, true, 3).unwrap();
    assert_eq!(
        (r.total_retryable, r.rows_written, r.deduplicated_count),
        (2, 2, 1)
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "email,first_name,password,org_external_id\n\
alice@x.com,Alice,\"p,w \"\"1\"\"\",acme\n\
bob@x.com,Bob,,acme\n"
    );
    let r = generate_retry_csv(&errors, &original, &out, false, 3).unwrap();
    assert_eq!((r.rows_written, r.deduplicated_count), (3, 0));
}

#[test]
fn retry_csv_refuses_an_errors_file_of_another_csv() {
    let dir = tempfile::tempdir().unwrap();
    let original = write(dir.path(), "users.csv", ORIGINAL);
    let out = dir.path().join("retry.csv");
    let errors = write(
        dir.path(),
        "errors.jsonl",
        &jsonl(&[rec(3, "someone@else.com", "user_create", "x", Some(500))]),
    );
    let e = generate_retry_csv(&errors, &original, &out, false, 3).unwrap_err();
    assert!(
        matches!(e, AnalyzeError::CsvMismatch { record: 3, .. }),
        "{e}"
    );
    let errors = write(
        dir.path(),
        "errors.jsonl",
        &jsonl(&[rec(99, "", "user_create", "x", Some(500))]),
    );
    let e = generate_retry_csv(&errors, &original, &out, false, 99).unwrap_err();
    assert!(
        matches!(
            e,
            AnalyzeError::RecordBeyondCsv {
                record: 99,
                rows: 8
            }
        ),
        "{e}"
    );
    let r = common::run(&[
        "analyze",
        "--errors",
        s(&errors),
        "--retry-csv",
        s(&out),
        "--original-csv",
        s(&original),
        "--quiet",
    ]);
    assert!(common::assert_one_line_error(&r).starts_with("Analysis failed: "));
    assert!(!out.exists(), "no partial retry CSV");
}

#[test]
fn large_errors_file_streams() {
    // 100k records over 20k rows, in reverse order: two passes, bounded state.
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("email,first_name\n");
    for i in 1..=20_000u64 {
        csv.push_str(&format!("u{i}@x.com,U{i}\n"));
    }
    let original = write(dir.path(), "users.csv", &csv);
    let mut text = String::new();
    for i in (1..=20_000u64).rev() {
        for k in 0..5u64 {
            let status = if i % 10 == 0 { 409 } else { 429 };
            let message = format!("Failure number {}{k}", 100_000 + i);
            let r = rec(
                i,
                &format!("u{i}@x.com"),
                "user_create",
                &message,
                Some(status),
            );
            text.push_str(&r.to_string());
            text.push('\n');
        }
    }
    let errors = write(dir.path(), "errors.jsonl", &text);
    let r = analyze_errors(&errors).unwrap();
    assert_eq!(r.total_errors, 100_000);
    // Every message normalizes to one of two patterns per status.
    assert_eq!(r.error_groups.len(), 2);
    let out = dir.path().join("retry.csv");
    let rr = generate_retry_csv(&errors, &original, &out, false, r.max_record_number).unwrap();
    assert_eq!(rr.rows_written, 18_000);
    assert_eq!(rr.not_retryable_rows, 2_000);
}
