//! `export-cognito` (deprecated, export-and-package.md §13.2) through the
//! built binary, for everything decided before AWS is contacted: the
//! deprecation notice, the option checks and their one-line messages, the
//! environment fallbacks and the help text (which never shows secret
//! environment values). The loose-mode files and the run against a backend
//! are tested in `src/cli/cognito_legacy.rs` and
//! `src/sources/cognito/legacy.rs`.

use std::process::Command;

const NOTICE: &str =
    "\u{26a0} 'export-cognito' is deprecated; use 'export cognito' (removed in v4.0)";

/// Every environment variable the command reads.
const ENV: [&str; 8] = [
    "AWS_REGION",
    "COGNITO_USER_POOL_IDS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "SAML_CUSTOM_ACS_URL_TEMPLATE",
    "SAML_CUSTOM_ENTITY_ID_TEMPLATE",
    "OIDC_CUSTOM_REDIRECT_URI_TEMPLATE",
];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `export-cognito ‹args›` in an empty directory (no `.env`) with only
/// the given environment variables of [`ENV`] set.
fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workos-migrate"));
    cmd.current_dir(cwd.path()).arg("export-cognito").args(args);
    for k in ENV {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("run the binary");
    let run = Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    // Nothing is written before AWS is reached.
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "{}",
        run.stderr
    );
    run
}

/// The notice, then one `Export failed:` line; nothing on stdout, exit 1.
fn assert_fails(r: &Run, message: &str) {
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines, [NOTICE, &format!("Export failed: {message}")]);
}

const POOLS: [&str; 2] = ["--user-pool-ids", "us-east-1_AAAPOOL,us-east-1_BBBPOOL"];

#[test]
fn org_strategy_must_be_known() {
    for (mode, bad) in [(None, "pool"), (Some("--package"), "User-Pool")] {
        let mut args = vec!["--region", "us-east-1", POOLS[0], POOLS[1]];
        args.extend(mode);
        args.extend(["--org-strategy", bad]);
        let r = run(&args, &[]);
        assert_fails(
            &r,
            &format!("--org-strategy must be one of: user-pool, connection, none. Got \"{bad}\""),
        );
    }
}

#[test]
fn region_and_pool_ids_are_required() {
    // Absent everywhere: clap names the flag (usage error, exit 2).
    let r = run(&[POOLS[0], POOLS[1]], &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--region <region>"), "{}", r.stderr);
    let r = run(&["--region", "us-east-1"], &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--user-pool-ids <ids>"), "{}", r.stderr);
    // Present but blank: our one-line errors.
    let r = run(&["--region", " ", POOLS[0], POOLS[1]], &[]);
    assert_fails(&r, "AWS region is required (--region or AWS_REGION)");
    let r = run(&["--region", "us-east-1", "--user-pool-ids", " , ,"], &[]);
    assert_fails(
        &r,
        "no user pool IDs provided \u{2014} set COGNITO_USER_POOL_IDS, pass --user-pool-ids, or save to config",
    );
}

#[test]
fn region_and_pool_ids_fall_back_to_the_environment() {
    // The environment satisfies clap; the strategy check then speaks.
    let r = run(
        &["--org-strategy", "groups"],
        &[
            ("AWS_REGION", "eu-west-1"),
            ("COGNITO_USER_POOL_IDS", "eu-west-1_X"),
        ],
    );
    assert_fails(
        &r,
        "--org-strategy must be one of: user-pool, connection, none. Got \"groups\"",
    );
    let r = run(
        &[],
        &[("AWS_REGION", "eu-west-1"), ("COGNITO_USER_POOL_IDS", ",")],
    );
    assert_fails(
        &r,
        "no user pool IDs provided \u{2014} set COGNITO_USER_POOL_IDS, pass --user-pool-ids, or save to config",
    );
}

#[test]
fn help_lists_every_option_and_hides_secret_values() {
    let r = run(
        &["--help"],
        &[
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-secret-value"),
            ("AWS_SESSION_TOKEN", "session-token-value"),
            ("AWS_ACCESS_KEY_ID", "AKIA-key-id-value"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for flag in [
        "--region <region>",
        "--user-pool-ids <ids>",
        "--entities <entities>",
        "--output-dir <dir>",
        "--package",
        "--org-strategy <strategy>",
        "--access-key-id <id>",
        "--secret-access-key <secret>",
        "--session-token <token>",
        "--endpoint-url <url>",
        "--saml-custom-acs-url-template <url>",
        "--saml-custom-entity-id-template <url>",
        "--oidc-custom-redirect-uri-template <url>",
        "--skip-external-provider-users",
        "--include-secrets",
        "--quiet",
        "[default: user-pool]",
        "[env: COGNITO_USER_POOL_IDS=",
        "[env: SAML_CUSTOM_ACS_URL_TEMPLATE=",
    ] {
        assert!(r.stdout.contains(flag), "{flag} missing:\n{}", r.stdout);
    }
    for secret in [
        "wJalrXUtnFEMI-secret-value",
        "session-token-value",
        "AKIA-key-id-value",
    ] {
        assert!(!r.stdout.contains(secret), "{secret} shown:\n{}", r.stdout);
    }
    let top = Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .arg("--help")
        .output()
        .unwrap();
    let top = String::from_utf8_lossy(&top.stdout).into_owned();
    assert!(
        top.contains("export-cognito") && top.contains("[deprecated] use 'export cognito'"),
        "{top}"
    );
}
