//! `validate-package` (export-and-package.md §2): one test per issue code of
//! §2.2 / §14.3, the §15 writer-validator cases, and the command's text and
//! `--json` output.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tempfile::TempDir;
use workos_migrate::package::schema::{self, FileFormat, ENTITY_COUNT_KEYS, PACKAGE_FILES};
use workos_migrate::package::validator::{
    run_validate_package, validate_package, PackageReport, Severity, ValidateOptions,
};

// ---------------------------------------------------------------- helpers

/// A valid, empty package on disk: every canonical CSV header-only, empty
/// JSONL files, handoff notes and a correct manifest.
struct Pkg {
    dir: TempDir,
}

impl Pkg {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pkg = Pkg { dir };
        for file in &PACKAGE_FILES {
            match file.format {
                FileFormat::Csv => pkg.write(file.path, format!("{}\n", file.header.join(","))),
                FileFormat::Jsonl => pkg.write(file.path, ""),
                FileFormat::Markdown => pkg.write(
                    file.path,
                    "# SSO handoff notes\n\nNo SSO handoff notes were generated.\n",
                ),
                FileFormat::Json => {}
            }
        }
        pkg.set_manifest(default_manifest());
        pkg
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let path = self.file(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    /// Appends data lines (each followed by `\n`) to a canonical file.
    fn append(&self, rel: &str, lines: &[&str]) {
        let mut content = fs::read(self.file(rel)).unwrap();
        for line in lines {
            content.extend_from_slice(line.as_bytes());
            content.push(b'\n');
        }
        fs::write(self.file(rel), content).unwrap();
    }

    fn manifest(&self) -> Value {
        serde_json::from_slice(&fs::read(self.file("manifest.json")).unwrap()).unwrap()
    }

    fn set_manifest(&self, manifest: Value) {
        self.write(
            "manifest.json",
            format!("{}\n", serde_json::to_string_pretty(&manifest).unwrap()),
        );
    }

    fn edit_manifest(&self, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) {
        let mut m = self.manifest();
        edit(m.as_object_mut().unwrap());
        self.set_manifest(m);
    }

    fn set_count(&self, key: &str, n: u64) {
        self.edit_manifest(|m| {
            m["entitiesExported"][key] = json!(n);
        });
    }

    fn validate(&self) -> PackageReport {
        validate_package(self.path(), ValidateOptions::default())
    }
}

fn default_manifest() -> Value {
    let counts: serde_json::Map<String, Value> = ENTITY_COUNT_KEYS
        .iter()
        .map(|k| (k.to_string(), json!(0)))
        .collect();
    let files: serde_json::Map<String, Value> = PACKAGE_FILES
        .iter()
        .map(|f| (f.key.to_string(), json!(f.path)))
        .collect();
    json!({
        "schemaVersion": 1,
        "provider": "csv",
        "generatedAt": "2026-04-29T00:00:00.000Z",
        "entitiesRequested": ["users", "organizations", "memberships"],
        "entitiesExported": counts,
        "files": files,
        "importability": {
            "users": "automatic",
            "organizations": "automatic",
            "memberships": "automatic",
            "roles": "automatic",
            "totpSecrets": "automatic",
            "ssoConnections": "handoff"
        },
        "secretsRedacted": true,
        "warnings": []
    })
}

fn codes(report: &PackageReport) -> Vec<&'static str> {
    report.issues.iter().map(|i| i.code).collect()
}

/// Asserts exactly one issue, with this code, and returns it.
fn only_issue(report: &PackageReport, code: &str) -> workos_migrate::package::validator::Issue {
    assert_eq!(codes(report), [code], "{:#?}", report.issues);
    report.issues[0].clone()
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn run(dir: &Path, opts: ValidateOptions, quiet: bool, json: bool) -> Run {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_validate_package(dir, opts, quiet, json, &mut out, &mut err);
    Run {
        code,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

// ------------------------------------------------ §15 writer-validator cases

#[test]
fn empty_package_is_valid() {
    let pkg = Pkg::new();
    let report = pkg.validate();
    assert!(report.issues.is_empty(), "{:#?}", report.issues);
    assert!(report.is_valid());
    assert_eq!(report.manifest, Some(pkg.manifest()));
}

#[test]
fn matching_counts_are_valid() {
    let pkg = Pkg::new();
    pkg.append("users.csv", &["a@x.com,,,,Ann,,true,u1,,,,,"]);
    pkg.append("warnings.jsonl", &[r#"{"code":"x","message":"m"}"#]);
    pkg.append(
        "role_definitions.csv",
        &["admin,Admin,environment,,,", "viewer,Viewer,environment,,,"],
    );
    pkg.append("user_role_assignments.csv", &["a@x.com,,u1,admin,,"]);
    pkg.append("workos_upload/users.csv", &["u1,a@x.com,true,Ann,,"]);
    pkg.append("workos_upload/organizations.csv", &["o1,Acme"]);
    pkg.append("workos_upload/organization_memberships.csv", &["o1,u1"]);
    pkg.edit_manifest(|m| {
        let c = &mut m["entitiesExported"];
        for (k, n) in [
            ("users", 1),
            ("warnings", 1),
            ("roleDefinitions", 2),
            ("userRoleAssignments", 1),
            ("uploadUsers", 1),
            ("uploadOrganizations", 1),
            ("uploadMemberships", 1),
        ] {
            c[k] = json!(n);
        }
        m["warnings"] = json!(["m"]);
    });
    let report = pkg.validate();
    assert!(report.issues.is_empty(), "{:#?}", report.issues);
}

#[test]
fn bom_and_crlf_are_accepted() {
    let pkg = Pkg::new();
    let header = schema::ORGANIZATIONS_HEADER.join(",");
    pkg.write(
        "organizations.csv",
        format!("\u{feff}{header}\r\n,o1,Acme,,\r\n,o2,Two,,\r\n"),
    );
    pkg.write("skipped_users.jsonl", "{\"reason\":\"no_email\"}\r\n\r\n");
    pkg.set_count("organizations", 2);
    pkg.set_count("skippedUsers", 1);
    let report = pkg.validate();
    assert!(report.issues.is_empty(), "{:#?}", report.issues);
}

#[test]
fn quoted_multiline_field_counts_once() {
    let pkg = Pkg::new();
    pkg.append(
        "organizations.csv",
        &[",o1,\"Acme,\nInc\",\"a.com\",\"{\"\"k\"\":\"\"v\"\"}\""],
    );
    pkg.set_count("organizations", 1);
    assert!(pkg.validate().issues.is_empty());
}

#[test]
fn comma_only_row_counts_and_blank_lines_do_not() {
    let pkg = Pkg::new();
    pkg.append("organizations.csv", &[",,,,", "", ",o2,Two,,", ""]);
    pkg.set_count("organizations", 2);
    let report = pkg.validate();
    assert!(report.issues.is_empty(), "{:#?}", report.issues);
}

#[test]
fn quoted_canonical_header_passes() {
    let pkg = Pkg::new();
    let quoted: Vec<String> = schema::ORGANIZATIONS_HEADER
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect();
    pkg.write("organizations.csv", format!("{}\n", quoted.join(",")));
    assert!(pkg.validate().issues.is_empty());
}

// --------------------------------------------------------- one test per code

#[test]
fn manifest_read_failed_when_missing() {
    let pkg = Pkg::new();
    fs::remove_file(pkg.file("manifest.json")).unwrap();
    let report = pkg.validate();
    let issue = only_issue(&report, "manifest_read_failed");
    assert!(
        issue.message.starts_with("Unable to read manifest.json: "),
        "{}",
        issue.message
    );
    assert_eq!(issue.file.as_deref(), Some("manifest.json"));
    assert!(report.manifest.is_none());
}

#[test]
fn manifest_read_failed_for_bad_json_directory_and_bad_utf8() {
    let pkg = Pkg::new();
    pkg.write("manifest.json", "{\"schemaVersion\": 1,");
    let issue = only_issue(&pkg.validate(), "manifest_read_failed");
    assert!(!issue.message.contains('\n'));

    pkg.write("manifest.json", b"{\"provider\": \"\xff\"}");
    let issue = only_issue(&pkg.validate(), "manifest_read_failed");
    assert!(issue.message.contains("UTF-8"), "{}", issue.message);

    fs::remove_file(pkg.file("manifest.json")).unwrap();
    fs::create_dir(pkg.file("manifest.json")).unwrap();
    let issue = only_issue(&pkg.validate(), "manifest_read_failed");
    assert!(!issue.message.contains('\n'));
}

#[test]
fn invalid_manifest_for_every_non_object() {
    let pkg = Pkg::new();
    for text in ["null", "false", "0", "\"\"", "[]", "\"x\"", "1", "true"] {
        pkg.write("manifest.json", text);
        let report = pkg.validate();
        let issue = only_issue(&report, "invalid_manifest");
        assert_eq!(issue.message, "manifest.json must contain a JSON object");
        assert!(!report.is_valid(), "{text}");
        // The parsed value is still echoed.
        assert_eq!(
            report.manifest,
            Some(serde_json::from_str::<Value>(text).unwrap())
        );
    }
}

#[test]
fn unsupported_schema_version() {
    let pkg = Pkg::new();
    for (value, shown) in [(json!(2), "2"), (json!("1"), "1"), (json!(null), "null")] {
        pkg.edit_manifest(|m| {
            m["schemaVersion"] = value.clone();
        });
        let issue = only_issue(&pkg.validate(), "unsupported_schema_version");
        assert_eq!(
            issue.message,
            format!("Unsupported migration package schemaVersion: {shown}")
        );
        assert_eq!(issue.field.as_deref(), Some("schemaVersion"));
    }
    pkg.edit_manifest(|m| {
        m.remove("schemaVersion");
    });
    let issue = only_issue(&pkg.validate(), "unsupported_schema_version");
    assert!(issue.message.ends_with(": undefined"));
}

#[test]
fn missing_provider() {
    let pkg = Pkg::new();
    for value in [json!("  "), json!(""), json!(3)] {
        pkg.edit_manifest(|m| {
            m["provider"] = value.clone();
        });
        let issue = only_issue(&pkg.validate(), "missing_provider");
        assert_eq!(
            issue.message,
            "manifest.provider must be a non-empty string"
        );
    }
}

#[test]
fn invalid_generated_at() {
    let pkg = Pkg::new();
    for value in [
        json!("not a date"),
        json!(1714348800000u64),
        json!("2026-02-30T00:00:00Z"),
    ] {
        pkg.edit_manifest(|m| {
            m["generatedAt"] = value.clone();
        });
        let issue = only_issue(&pkg.validate(), "invalid_generated_at");
        assert_eq!(
            issue.message,
            "manifest.generatedAt must be an ISO timestamp string"
        );
    }
    pkg.edit_manifest(|m| {
        m["generatedAt"] = json!("2026-04-29T02:00:00+02:00");
    });
    assert!(pkg.validate().issues.is_empty());
}

#[test]
fn invalid_entities_requested() {
    let pkg = Pkg::new();
    pkg.edit_manifest(|m| {
        m["entitiesRequested"] = json!("users");
    });
    let issue = only_issue(&pkg.validate(), "invalid_entities_requested");
    assert_eq!(issue.message, "manifest.entitiesRequested must be an array");
}

#[test]
fn invalid_entities_exported() {
    let pkg = Pkg::new();
    pkg.edit_manifest(|m| {
        m["entitiesExported"] = json!([0]);
    });
    let issue = only_issue(&pkg.validate(), "invalid_entities_exported");
    assert_eq!(
        issue.message,
        "manifest.entitiesExported must be an object of non-negative integer counts"
    );
}

#[test]
fn invalid_entity_count() {
    let pkg = Pkg::new();
    pkg.edit_manifest(|m| {
        let c = &mut m["entitiesExported"];
        c["users"] = json!(1.5);
        c["organizations"] = json!("2");
        c["memberships"] = json!(-1);
        c["warnings"] = json!(0.0); // an integer in JS
    });
    let report = pkg.validate();
    assert_eq!(
        codes(&report),
        ["invalid_entity_count"; 3],
        "{:#?}",
        report.issues
    );
    assert_eq!(
        report.issues[0].message,
        "manifest.entitiesExported.users must be a non-negative integer"
    );
    assert_eq!(
        report.issues[1].field.as_deref(),
        Some("entitiesExported.organizations")
    );
}

#[test]
fn invalid_files_skips_file_checks() {
    let pkg = Pkg::new();
    fs::remove_file(pkg.file("users.csv")).unwrap();
    pkg.edit_manifest(|m| {
        m["files"] = json!(["users.csv"]);
    });
    let issue = only_issue(&pkg.validate(), "invalid_files");
    assert_eq!(issue.message, "manifest.files must be an object");
}

#[test]
fn invalid_importability() {
    let pkg = Pkg::new();
    pkg.edit_manifest(|m| {
        m["importability"] = json!(null);
    });
    let issue = only_issue(&pkg.validate(), "invalid_importability");
    assert_eq!(issue.message, "manifest.importability must be an object");
}

#[test]
fn invalid_secrets_redacted() {
    let pkg = Pkg::new();
    pkg.edit_manifest(|m| {
        m["secretsRedacted"] = json!("true");
    });
    let issue = only_issue(&pkg.validate(), "invalid_secrets_redacted");
    assert_eq!(issue.message, "manifest.secretsRedacted must be a boolean");
}

#[test]
fn invalid_warnings() {
    let pkg = Pkg::new();
    pkg.edit_manifest(|m| {
        m.remove("warnings");
    });
    let issue = only_issue(&pkg.validate(), "invalid_warnings");
    assert_eq!(issue.message, "manifest.warnings must be an array");
}

#[test]
fn invalid_file_path() {
    let pkg = Pkg::new();
    for value in [json!(""), json!("   "), json!(null), json!(7)] {
        pkg.edit_manifest(|m| {
            m["files"]["users"] = value.clone();
        });
        let issue = only_issue(&pkg.validate(), "invalid_file_path");
        assert_eq!(
            issue.message,
            "manifest.files.users must be a non-empty relative path"
        );
        assert_eq!(issue.field.as_deref(), Some("files.users"));
        assert_eq!(issue.file, None);
    }
}

#[test]
fn unsafe_file_path() {
    let pkg = Pkg::new();
    for path in ["/etc/passwd", "../x", "a/../../x", "C:\\x"] {
        pkg.edit_manifest(|m| {
            m["files"]["users"] = json!(path);
        });
        let report = pkg.validate();
        // Unsafe paths are never opened, so no missing_file follows.
        assert_eq!(
            codes(&report),
            ["unsafe_file_path", "noncanonical_file_path"],
            "{path}: {:#?}",
            report.issues
        );
        let issue = &report.issues[0];
        assert_eq!(
            issue.message,
            "manifest.files.users must stay inside the package directory"
        );
        assert_eq!(issue.file.as_deref(), Some(path));
        assert_eq!(issue.field.as_deref(), Some("files.users"));
    }
    // An unknown key with an unsafe path: the error plus the warning.
    let pkg = Pkg::new();
    pkg.edit_manifest(|m| {
        m["files"]["extra"] = json!("../../etc/passwd");
    });
    assert_eq!(
        codes(&pkg.validate()),
        ["unsafe_file_path", "unknown_file_key"]
    );
}

#[test]
fn noncanonical_file_path() {
    let pkg = Pkg::new();
    pkg.edit_manifest(|m| {
        m["files"]["users"] = json!("nested/users.csv");
    });
    let report = pkg.validate();
    assert_eq!(codes(&report), ["noncanonical_file_path", "missing_file"]);
    assert_eq!(
        report.issues[0].message,
        "manifest.files.users must be \"users.csv\""
    );
    assert_eq!(report.issues[0].file.as_deref(), Some("nested/users.csv"));
    assert_eq!(
        report.issues[1].message,
        "Package file is missing: nested/users.csv"
    );
}

#[test]
fn unknown_file_key_is_a_warning() {
    let pkg = Pkg::new();
    pkg.edit_manifest(|m| {
        m["files"]["extra"] = json!("raw/extra.jsonl");
    });
    let report = pkg.validate();
    let issue = only_issue(&report, "unknown_file_key");
    assert_eq!(issue.severity, Severity::Warning);
    assert_eq!(
        issue.message,
        "manifest.files.extra is not a canonical package file key"
    );
    assert!(report.is_valid());

    let r = run(pkg.path(), ValidateOptions::default(), false, false);
    assert_eq!(r.code, 0);
    assert_eq!(r.out, "");
    assert_eq!(
        r.err,
        "  Validation warnings (1):\n    [unknown_file_key] manifest.files.extra is not a canonical package file key\n"
    );
}

#[test]
fn missing_file() {
    let pkg = Pkg::new();
    fs::remove_file(pkg.file("sso/handoff_notes.md")).unwrap();
    fs::remove_file(pkg.file("warnings.jsonl")).unwrap();
    let report = pkg.validate();
    assert_eq!(codes(&report), ["missing_file", "missing_file"]);
    assert_eq!(
        report.issues[0].message,
        "Package file is missing: warnings.jsonl"
    );
    assert_eq!(report.issues[0].file.as_deref(), Some("warnings.jsonl"));
    assert_eq!(
        report.issues[1].message,
        "Package file is missing: sso/handoff_notes.md"
    );

    // Keys absent from `files` are not required.
    pkg.edit_manifest(|m| {
        let files = m["files"].as_object_mut().unwrap();
        files.remove("warnings");
        files.remove("handoffNotes");
    });
    assert!(pkg.validate().issues.is_empty());

    // With require_files off, missing files are skipped silently.
    let pkg = Pkg::new();
    fs::remove_file(pkg.file("users.csv")).unwrap();
    let opts = ValidateOptions {
        require_files: false,
        ..ValidateOptions::default()
    };
    assert!(validate_package(pkg.path(), opts).issues.is_empty());
}

#[test]
fn directory_in_place_of_a_file_is_missing_file() {
    let pkg = Pkg::new();
    fs::remove_file(pkg.file("users.csv")).unwrap();
    fs::create_dir(pkg.file("users.csv")).unwrap();
    fs::remove_file(pkg.file("warnings.jsonl")).unwrap();
    fs::create_dir(pkg.file("warnings.jsonl")).unwrap();
    let report = pkg.validate();
    assert_eq!(
        codes(&report),
        ["missing_file", "missing_file"],
        "{:#?}",
        report.issues
    );
    assert_eq!(
        report.issues[0].message,
        "Package file is missing: users.csv (not a regular file)"
    );
}

#[test]
fn missing_csv_header() {
    let pkg = Pkg::new();
    pkg.write("users.csv", "");
    pkg.write(
        "sso/proxy_routes.csv",
        format!("\n{}\n", schema::PROXY_ROUTES_HEADER.join(",")),
    );
    let report = pkg.validate();
    assert_eq!(codes(&report), ["missing_csv_header", "missing_csv_header"]);
    assert_eq!(
        report.issues[0].message,
        "CSV file is missing a header row: users.csv"
    );
    assert_eq!(report.issues[0].file.as_deref(), Some("users.csv"));
    assert_eq!(
        report.issues[1].message,
        "CSV file is missing a header row: sso/proxy_routes.csv"
    );
}

#[test]
fn invalid_csv_header() {
    let pkg = Pkg::new();
    pkg.write("users.csv", "email,external_id\n");
    let issue = only_issue(&pkg.validate(), "invalid_csv_header");
    assert_eq!(
        issue.message,
        "CSV header for users.csv does not match the package contract"
    );
    // Reordered columns fail too; --no-headers skips the check.
    let mut reordered = schema::UPLOAD_ORGANIZATIONS_HEADER.to_vec();
    reordered.reverse();
    pkg.write(
        "workos_upload/organizations.csv",
        format!("{}\n", reordered.join(",")),
    );
    assert_eq!(codes(&pkg.validate()), ["invalid_csv_header"; 2]);
    let opts = ValidateOptions {
        check_headers: false,
        ..ValidateOptions::default()
    };
    assert!(validate_package(pkg.path(), opts).issues.is_empty());
}

#[test]
fn csv_parse_failed_on_invalid_utf8() {
    let pkg = Pkg::new();
    pkg.append("users.csv", &["a@x.com,,,,Ann,,true,u1,,,,,"]);
    let mut content = fs::read(pkg.file("users.csv")).unwrap();
    content.extend_from_slice(b"b@x.com,,,,\xff\xfe,,true,u2,,,,,\n");
    fs::write(pkg.file("users.csv"), content).unwrap();
    pkg.set_count("users", 2);
    let report = pkg.validate();
    // The count is skipped, so no entity_count_mismatch follows.
    let issue = only_issue(&report, "csv_parse_failed");
    assert!(
        issue
            .message
            .starts_with("Unable to parse CSV file users.csv: "),
        "{}",
        issue.message
    );
    assert!(issue.message.contains("line 3"), "{}", issue.message);
    assert_eq!(issue.file.as_deref(), Some("users.csv"));
}

#[test]
fn jsonl_parse_failed() {
    let pkg = Pkg::new();
    pkg.write(
        "warnings.jsonl",
        "{\"a\":1}\n\n   \nnot json\n{\"b\":2}\n{broken\n",
    );
    pkg.set_count("warnings", 4);
    let report = pkg.validate();
    assert_eq!(
        codes(&report),
        ["jsonl_parse_failed"; 2],
        "{:#?}",
        report.issues
    );
    assert_eq!(
        report.issues[0].message,
        "Invalid JSONL record in warnings.jsonl on line 2"
    );
    assert_eq!(
        report.issues[1].message,
        "Invalid JSONL record in warnings.jsonl on line 4"
    );
    assert_eq!(report.issues[0].file.as_deref(), Some("warnings.jsonl"));
}

#[test]
fn entity_count_mismatch() {
    let pkg = Pkg::new();
    pkg.set_count("users", 1);
    let issue = only_issue(&pkg.validate(), "entity_count_mismatch");
    assert_eq!(
        issue.message,
        "manifest.entitiesExported.users is 1, but users.csv contains 0 records"
    );
    assert_eq!(issue.field.as_deref(), Some("entitiesExported.users"));
    assert_eq!(issue.file.as_deref(), Some("users.csv"));

    // A key missing from entitiesExported means 0; unknown keys are ignored.
    let pkg = Pkg::new();
    pkg.append("sso/proxy_routes.csv", &["x,,auth0,saml,,,,,,,,,legacy,"]);
    pkg.edit_manifest(|m| {
        let c = m["entitiesExported"].as_object_mut().unwrap();
        c.remove("proxyRoutes");
        c.insert("foo".into(), json!(9));
    });
    let issue = only_issue(&pkg.validate(), "entity_count_mismatch");
    assert_eq!(
        issue.message,
        "manifest.entitiesExported.proxyRoutes is 0, but sso/proxy_routes.csv contains 1 records"
    );

    // --no-counts skips the check.
    let opts = ValidateOptions {
        check_counts: false,
        ..ValidateOptions::default()
    };
    assert!(validate_package(pkg.path(), opts).issues.is_empty());
}

#[test]
fn every_issue_code_is_covered() {
    // Keep this list in sync with §14.3; each code has a test above.
    let all = [
        "manifest_read_failed",
        "invalid_manifest",
        "unsupported_schema_version",
        "missing_provider",
        "invalid_generated_at",
        "invalid_entities_requested",
        "invalid_entities_exported",
        "invalid_entity_count",
        "invalid_files",
        "invalid_importability",
        "invalid_secrets_redacted",
        "invalid_warnings",
        "invalid_file_path",
        "unsafe_file_path",
        "noncanonical_file_path",
        "unknown_file_key",
        "missing_file",
        "missing_csv_header",
        "invalid_csv_header",
        "csv_parse_failed",
        "jsonl_parse_failed",
        "entity_count_mismatch",
    ];
    assert_eq!(all.len(), 22);
    let src = include_str!("validate_package.rs");
    for code in all {
        assert!(
            src.contains(&format!("fn {code}")),
            "no test named after {code}"
        );
    }
}

// -------------------------------------------------------------- CLI output

#[test]
fn cli_valid_package_prints_summary() {
    let pkg = Pkg::new();
    pkg.append("users.csv", &["a@x.com,,,,,,,,,,,,"]);
    pkg.set_count("users", 1);
    let r = run(pkg.path(), ValidateOptions::default(), false, false);
    assert_eq!(r.code, 0);
    assert_eq!(r.err, "");
    let mut expected = format!(
        "  ✓ Package is valid: {}\n    provider:   csv\n",
        pkg.path().display()
    );
    for key in ENTITY_COUNT_KEYS {
        let n = if key == "users" { 1 } else { 0 };
        expected.push_str(&format!("    {key:<24} {n}\n"));
    }
    assert_eq!(r.out, expected);
    assert!(r.out.contains("\n    users                    1\n"));

    let quiet = run(pkg.path(), ValidateOptions::default(), true, false);
    assert_eq!(
        (quiet.code, quiet.out.as_str(), quiet.err.as_str()),
        (0, "", "")
    );
}

#[test]
fn cli_errors_and_warnings_go_to_stderr() {
    let pkg = Pkg::new();
    pkg.set_count("users", 2);
    pkg.edit_manifest(|m| {
        m["secretsRedacted"] = json!(null);
        m["files"]["extra"] = json!("extra.txt");
    });
    for quiet in [false, true] {
        let r = run(pkg.path(), ValidateOptions::default(), quiet, false);
        assert_eq!(r.code, 1);
        assert_eq!(r.out, "");
        assert_eq!(
            r.err,
            "  ✗ Package validation failed (2 error(s))\n\
             \x20   [invalid_secrets_redacted] manifest.secretsRedacted must be a boolean\n\
             \x20   [entity_count_mismatch] manifest.entitiesExported.users is 2, but users.csv contains 0 records\n\
             \x20 Validation warnings (1):\n\
             \x20   [unknown_file_key] manifest.files.extra is not a canonical package file key\n"
        );
    }
    // --no-counts drops the mismatch.
    let opts = ValidateOptions {
        check_counts: false,
        ..ValidateOptions::default()
    };
    assert!(run(pkg.path(), opts, false, false)
        .err
        .contains("(1 error(s))"));
}

#[test]
fn cli_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    for json in [false, true] {
        let r = run(&missing, ValidateOptions::default(), false, json);
        assert_eq!(r.code, 1);
        assert_eq!(r.out, "");
        assert_eq!(
            r.err,
            format!("Package directory not found: {}\n", missing.display())
        );
    }
}

#[test]
fn cli_json_valid() {
    let pkg = Pkg::new();
    let r = run(pkg.path(), ValidateOptions::default(), false, true);
    assert_eq!(r.code, 0);
    assert_eq!(r.err, "");
    let expected = json!({"valid": true, "errors": [], "warnings": [], "manifest": pkg.manifest()});
    assert_eq!(
        r.out,
        format!("{}\n", serde_json::to_string_pretty(&expected).unwrap())
    );
    assert!(r.out.starts_with("{\n  \"valid\": true,\n  \"errors\": [],\n  \"warnings\": [],\n  \"manifest\": {\n    \"schemaVersion\": 1,"));
}

#[test]
fn cli_json_invalid_lists_issue_objects() {
    let pkg = Pkg::new();
    pkg.set_count("users", 1);
    pkg.edit_manifest(|m| {
        m["files"]["extra"] = json!("x.txt");
    });
    let r = run(pkg.path(), ValidateOptions::default(), true, true);
    assert_eq!(r.code, 1);
    assert_eq!(r.err, "");
    let doc: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(
        doc,
        json!({
            "valid": false,
            "errors": [{
                "severity": "error",
                "code": "entity_count_mismatch",
                "message": "manifest.entitiesExported.users is 1, but users.csv contains 0 records",
                "file": "users.csv",
                "field": "entitiesExported.users"
            }],
            "warnings": [{
                "severity": "warning",
                "code": "unknown_file_key",
                "message": "manifest.files.extra is not a canonical package file key",
                "file": "x.txt",
                "field": "files.extra"
            }],
            "manifest": pkg.manifest()
        })
    );
    // Key order inside an issue object: severity, code, message, file, field.
    assert!(r.out.contains(
        "      \"severity\": \"error\",\n      \"code\": \"entity_count_mismatch\",\n      \"message\": \"manifest.entitiesExported.users is 1, but users.csv contains 0 records\",\n      \"file\": \"users.csv\",\n      \"field\": \"entitiesExported.users\"\n"
    ));
    assert!(r.out.ends_with("}\n"));
}

#[test]
fn cli_json_omits_unreadable_manifest_and_echoes_non_objects() {
    let pkg = Pkg::new();
    pkg.write("manifest.json", "{");
    let r = run(pkg.path(), ValidateOptions::default(), false, true);
    assert_eq!(r.code, 1);
    let doc: Value = serde_json::from_str(&r.out).unwrap();
    assert!(doc.get("manifest").is_none());
    assert_eq!(doc["errors"][0]["code"], "manifest_read_failed");
    assert_eq!(doc["errors"][0]["file"], "manifest.json");

    pkg.write("manifest.json", "null");
    let r = run(pkg.path(), ValidateOptions::default(), false, true);
    assert_eq!(r.code, 1);
    let doc: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["manifest"], Value::Null);
    assert!(doc.as_object().unwrap().contains_key("manifest"));
    assert_eq!(doc["errors"][0]["code"], "invalid_manifest");

    // In text mode a null manifest is an error, not a bare ✓ line.
    let r = run(pkg.path(), ValidateOptions::default(), false, false);
    assert_eq!(r.code, 1);
    assert_eq!(r.out, "");
    assert_eq!(
        r.err,
        "  ✗ Package validation failed (1 error(s))\n    [invalid_manifest] manifest.json must contain a JSON object\n"
    );
}
