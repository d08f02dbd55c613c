//! `export cognito` end to end against moto's Cognito server (an independent
//! implementation of the AWS API): a seeded pool set → the package, its
//! validation, conservation, partitioned listing, and bad input.
//!
//! Tests that need moto read `MOTO_URL` (e.g. `http://127.0.0.1:5099`) and
//! skip with a message on stderr when it is unset. Bad-input cases that need
//! no server always run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

const REGION: &str = "us-east-1";

fn moto_url() -> Option<String> {
    match std::env::var("MOTO_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u.trim().trim_end_matches('/').to_string()),
        _ => {
            eprintln!("skipped: MOTO_URL is not set (start moto_server and set MOTO_URL to run the Cognito tests against it)");
            None
        }
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary with a clean AWS environment plus `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workos-migrate"));
    cmd.args(args)
        .stdin(Stdio::null())
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k == "COGNITO_USER_POOL_IDS" {
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
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    r
}

fn one_line_error(r: &Run) -> String {
    assert_ne!(r.code, 0, "expected failure, stdout: {}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one stderr line: {:?}", r.stderr);
    lines[0].to_string()
}

/// One Cognito JSON-protocol call to moto.
fn call(url: &str, action: &str, body: Value) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .post(url)
            .header("Content-Type", "application/x-amz-json-1.1")
            .header(
                "X-Amz-Target",
                format!("AWSCognitoIdentityProviderService.{action}"),
            )
            .header(
                "Authorization",
                format!("AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/{REGION}/cognito-idp/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"),
            )
            .header("X-Amz-Date", "20260101T000000Z")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "{action}: {status} {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    })
}

fn create_pool(url: &str, name: &str) -> String {
    let v = call(
        url,
        "CreateUserPool",
        json!({"PoolName": name, "Schema": [
            {"Name": "department", "AttributeDataType": "String", "Mutable": true}
        ]}),
    );
    v["UserPool"]["Id"].as_str().unwrap().to_string()
}

fn create_user(url: &str, pool: &str, username: &str, attrs: &[(&str, &str)]) {
    let attributes: Vec<Value> = attrs
        .iter()
        .map(|(k, v)| json!({"Name": k, "Value": v}))
        .collect();
    call(
        url,
        "AdminCreateUser",
        json!({"UserPoolId": pool, "Username": username, "UserAttributes": attributes, "MessageAction": "SUPPRESS"}),
    );
}

fn add_to_group(url: &str, pool: &str, user: &str, group: &str) {
    call(
        url,
        "AdminAddUserToGroup",
        json!({"UserPoolId": pool, "Username": user, "GroupName": group}),
    );
}

fn export_args<'a>(url: &'a str, pools: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "export",
        "cognito",
        "--region",
        REGION,
        "--user-pool-ids",
        pools,
        "--access-key-id",
        "AKIDTEST",
        "--secret-access-key",
        "moto-secret-key",
        "--endpoint-url",
        url,
        "--rate-limit",
        "off",
        "--output-dir",
        out,
    ]
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

fn lines(dir: &Path, file: &str) -> Vec<String> {
    read(dir, file).lines().map(str::to_string).collect()
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&read(dir, "manifest.json")).unwrap()
}

fn validate(dir: &Path) {
    let r = run(&["validate-package", &dir.to_string_lossy()], &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

/// Every package file with JSONL `timestamp`s and `generatedAt` removed.
fn package_contents(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            let text = if rel.ends_with(".jsonl") {
                text.lines()
                    .map(|l| {
                        let mut v: Value = serde_json::from_str(l).unwrap();
                        v.as_object_mut().unwrap().remove("timestamp");
                        v.to_string()
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            } else if rel == "manifest.json" {
                let mut v: Value = serde_json::from_str(&text).unwrap();
                v.as_object_mut().unwrap().remove("generatedAt");
                v.to_string()
            } else {
                text
            };
            out.insert(rel, text);
        }
    }
    out
}

struct Fixture {
    pool_a: String,
    pool_b: String,
}

fn seed_fixture(url: &str) -> Fixture {
    let pool_a = create_pool(url, "fixture-a");
    let pool_b = create_pool(url, "fixture-b");
    create_user(
        url,
        &pool_a,
        "alice",
        &[
            ("email", "alice@example.com"),
            ("email_verified", "true"),
            ("given_name", "Alice"),
            ("family_name", "Smith"),
            ("custom:department", "Sales"),
        ],
    );
    create_user(
        url,
        &pool_a,
        "bob",
        &[
            ("email", "bob@example.com"),
            ("email_verified", "false"),
            ("name", "Bob van Dyke"),
        ],
    );
    create_user(url, &pool_a, "carol", &[("phone_number", "+15551234567")]);
    create_user(url, &pool_a, "dave", &[("email", "dave@example.com")]);
    call(
        url,
        "AdminDisableUser",
        json!({"UserPoolId": pool_a, "Username": "dave"}),
    );
    create_user(url, &pool_b, "frank", &[("email", "frank@example.com")]);
    for g in ["Admin", "Editors", "Support Team"] {
        call(
            url,
            "CreateGroup",
            json!({"UserPoolId": pool_a, "GroupName": g}),
        );
    }
    call(
        url,
        "CreateGroup",
        json!({"UserPoolId": pool_b, "GroupName": "Admin"}),
    );
    add_to_group(url, &pool_a, "alice", "Admin");
    add_to_group(url, &pool_a, "alice", "Editors");
    add_to_group(url, &pool_a, "dave", "Support Team");
    add_to_group(url, &pool_a, "carol", "Editors");
    add_to_group(url, &pool_b, "frank", "Admin");
    call(
        url,
        "CreateIdentityProvider",
        json!({"UserPoolId": pool_b, "ProviderName": "okta", "ProviderType": "SAML",
               "ProviderDetails": {"MetadataURL": "https://idp.example.com/metadata"},
               "AttributeMapping": {"email": "email"}}),
    );
    Fixture { pool_a, pool_b }
}

#[test]
fn fixture_pools_export_to_a_valid_package_with_roles() {
    let Some(url) = moto_url() else { return };
    let f = seed_fixture(&url);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let pools = format!("{}, {}", f.pool_a, f.pool_b);
    let out = dir.to_string_lossy().into_owned();
    let mut args = export_args(&url, &pools, &out);
    args.extend(["--entities", "users, Organizations,memberships,ROLES"]);
    let r = run(&args, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Package export complete"), "{}", r.stdout);
    assert!(r.stdout.contains("Cognito never exposes password hashes"));
    assert!(!r.stdout.contains("moto-secret-key"));
    validate(&dir);

    let m = manifest(&dir);
    assert_eq!(m["provider"], "cognito");
    assert_eq!(
        m["entitiesRequested"],
        json!(["users", "organizations", "memberships", "roles"])
    );
    let count = |k: &str| m["entitiesExported"][k].as_u64().unwrap();
    // Conservation: 5 users listed = 4 exported + 1 skipped (no email).
    assert_eq!((count("users"), count("skippedUsers")), (4, 1));
    assert_eq!((count("organizations"), count("memberships")), (2, 4));
    assert_eq!(
        (count("roleDefinitions"), count("userRoleAssignments")),
        (3, 4)
    );
    assert_eq!((count("uploadUsers"), count("uploadMemberships")), (4, 4));

    let users = lines(&dir, "users.csv");
    let row = |needle: &str| {
        users
            .iter()
            .find(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("{needle} in {users:?}"))
            .clone()
    };
    let alice = row("alice@example.com,");
    assert!(alice.contains(",,,,Alice,Smith,true,"), "{alice}");
    assert!(alice.contains(r#"""department"":""Sales"""#), "{alice}");
    assert!(
        alice.ends_with(&format!(",,{0},{0},\"admin-role,editors\"", f.pool_a)),
        "{alice}"
    );
    let bob = row("bob@example.com,");
    assert!(bob.contains(",,,,Bob,van Dyke,false,"), "{bob}");
    let dave = row("dave@example.com,");
    assert!(dave.contains(r#"""cognito_enabled"":""false"""#), "{dave}");
    assert!(
        dave.contains(",,,,,,,"),
        "no names, no email_verified: {dave}"
    );
    assert!(dave.ends_with(",support-team"), "{dave}");
    let frank = row("frank@example.com,");
    assert!(frank.ends_with(&format!(",{0},{0},admin-role", f.pool_b)));

    let orgs = lines(&dir, "organizations.csv");
    let mut sorted = [f.pool_a.clone(), f.pool_b.clone()];
    sorted.sort();
    assert_eq!(orgs[1], format!(",{0},{0},,", sorted[0]));
    assert_eq!(orgs[2], format!(",{0},{0},,", sorted[1]));
    let roles = read(&dir, "role_definitions.csv");
    assert!(
        roles.contains("admin-role,Admin,environment,,,\n"),
        "{roles}"
    );
    assert!(roles.contains("support-team,Support Team,environment,,,\n"));
    let skipped = read(&dir, "skipped_users.jsonl");
    assert!(
        skipped.contains(r#""username":"carol","reason":"no_email""#),
        "{skipped}"
    );
    let warnings = read(&dir, "warnings.jsonl");
    assert!(
        warnings.contains(r#""code":"disabled_user_exported""#),
        "{warnings}"
    );
    assert_eq!(
        warnings.matches("password_hashes_unavailable").count(),
        1,
        "{warnings}"
    );
    let assignments = read(&dir, "user_role_assignments.csv");
    assert!(!assignments.contains("carol"), "skipped users get no roles");

    // The same pools again give the same package (timestamps aside).
    let dir2 = tmp.path().join("pkg2");
    let out2 = dir2.to_string_lossy().into_owned();
    let mut args = export_args(&url, &pools, &out2);
    args.extend(["--entities", "users, Organizations,memberships,ROLES"]);
    assert_eq!(run(&args, &[]).code, 0);
    assert_eq!(package_contents(&dir), package_contents(&dir2));
}

#[test]
fn partitioned_listing_gives_the_same_package_as_one_chain() {
    let Some(url) = moto_url() else { return };
    let pool = create_pool(&url, "partitioned");
    let rt = tokio::runtime::Runtime::new().unwrap();
    // 1,500 users, created 16 at a time.
    let client = reqwest::Client::new();
    rt.block_on(async {
        let mut futures = Vec::new();
        for i in 0..1500 {
            let body = json!({"UserPoolId": pool, "Username": format!("user{i:04}"), "MessageAction": "SUPPRESS",
                "UserAttributes": [{"Name": "email", "Value": format!("user{i:04}@example.com")},
                                   {"Name": "name", "Value": format!("User {i}")}]});
            let req = client
                .post(&url)
                .header("Content-Type", "application/x-amz-json-1.1")
                .header("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminCreateUser")
                .header("Authorization", format!("AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/{REGION}/cognito-idp/aws4_request, SignedHeaders=host, Signature=00"))
                .body(body.to_string());
            futures.push(async move { req.send().await.unwrap().error_for_status().unwrap() });
            if futures.len() == 16 {
                futures::future::join_all(std::mem::take(&mut futures)).await;
            }
        }
        futures::future::join_all(futures).await;
    });
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("one");
    let split = tmp.path().join("split");
    let one_s = one.to_string_lossy().into_owned();
    let split_s = split.to_string_lossy().into_owned();
    let r = run(
        &export_args(&url, &pool, &one_s),
        &[("WORKOS_MIGRATE_COGNITO_SPLIT_USERS", "1000000")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(
        &export_args(&url, &pool, &split_s),
        &[("WORKOS_MIGRATE_COGNITO_SPLIT_USERS", "1")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // 1,500 users: 25 pages in one chain; 16 chains need at least 16.
    assert!(r.stdout.contains("UserList"), "{}", r.stdout);
    assert_eq!(manifest(&split)["entitiesExported"]["users"], 1500);
    assert_eq!(package_contents(&one), package_contents(&split));
    validate(&split);
}

#[test]
fn bad_input_is_one_line_and_leaves_no_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    let out_s = out.to_string_lossy().into_owned();
    let empty = tmp.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let empty_s = empty.to_string_lossy().into_owned();
    let no_chain = [
        ("AWS_CONFIG_FILE", empty_s.as_str()),
        ("AWS_SHARED_CREDENTIALS_FILE", empty_s.as_str()),
    ];
    let base = |extra: &[&'static str]| {
        let mut a = vec![
            "export",
            "cognito",
            "--output-dir",
            out_s.as_str(),
            "--endpoint-url",
            "http://127.0.0.1:1",
        ];
        a.extend_from_slice(extra);
        a
    };
    // No credentials anywhere in the default chain.
    let r = run(
        &base(&["--region", "us-east-1", "--user-pool-ids", "us-east-1_X"]),
        &no_chain,
    );
    let line = one_line_error(&r);
    assert!(line.contains("no AWS credentials found"), "{line}");
    // Missing region / pools, absurd values.
    for (extra, expect) in [
        (
            vec!["--user-pool-ids", "us-east-1_X"],
            "Missing required credential \"AWS region\"",
        ),
        (
            vec!["--region", "us-east-1"],
            "Missing required credential \"User pool IDs\"",
        ),
        (
            vec!["--region", "us-east-1", "--user-pool-ids", " , "],
            "no user pool IDs provided",
        ),
        (
            vec!["--region", "mars", "--user-pool-ids", "p"],
            "is not an AWS region name",
        ),
        (
            vec![
                "--region",
                "us-east-1",
                "--user-pool-ids",
                "p",
                "--rate-limit",
                "0",
            ],
            "--rate-limit must be a positive number",
        ),
        (
            vec![
                "--region",
                "us-east-1",
                "--user-pool-ids",
                "p",
                "--rate-limit",
                "fast",
            ],
            "--rate-limit must be a positive number",
        ),
        (
            vec![
                "--region",
                "us-east-1",
                "--user-pool-ids",
                "p",
                "--rate-limit",
                "-3",
            ],
            "--rate-limit must be a positive number",
        ),
        (
            vec![
                "--region",
                "us-east-1",
                "--user-pool-ids",
                "p",
                "--max-retries",
                "-1",
            ],
            "--max-retries must be a whole number",
        ),
        (
            vec![
                "--region",
                "us-east-1",
                "--user-pool-ids",
                "p",
                "--entities",
                "users,connections",
            ],
            "Unsupported Cognito package entity \"connections\"",
        ),
        (
            vec![
                "--region",
                "us-east-1",
                "--user-pool-ids",
                "p",
                "--org-strategy",
                "tenant",
            ],
            "must be one of: user-pool, connection, none",
        ),
    ] {
        let r = run(&base(&extra), &no_chain);
        let line = one_line_error(&r);
        assert!(line.contains(expect), "{extra:?}: {line}");
    }
    // An endpoint that refuses connections: a few quick retries, one line.
    let r = run(
        &base(&[
            "--region",
            "us-east-1",
            "--user-pool-ids",
            "us-east-1_X",
            "--access-key-id",
            "AKIDREFUSED",
            "--secret-access-key",
            "refused-secret-value",
        ]),
        &no_chain,
    );
    let line = one_line_error(&r);
    assert!(
        line.contains("Cognito ListUserPools on the account failed after 3 attempts"),
        "{line}"
    );
    assert!(!line.contains("refused-secret-value") && !line.contains("AKIDREFUSED"));
    assert!(!out.join("manifest.json").exists());
}

#[test]
fn unknown_pool_fails_in_one_line_and_the_endpoint_comes_from_the_environment() {
    let Some(url) = moto_url() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out: PathBuf = tmp.path().join("pkg");
    let out_s = out.to_string_lossy().into_owned();
    let r = run(&export_args(&url, "us-east-1_doesnotexist", &out_s), &[]);
    let line = one_line_error(&r);
    assert!(
        line.contains("pool us-east-1_doesnotexist failed: ResourceNotFoundException"),
        "{line}"
    );
    assert!(!out.join("manifest.json").exists());
    // The endpoint from AWS_ENDPOINT_URL alone (the SDK reads it).
    let pool = create_pool(&url, "env-endpoint");
    create_user(&url, &pool, "zoe", &[("email", "zoe@example.com")]);
    let r = run(
        &[
            "export",
            "cognito",
            "--region",
            REGION,
            "--user-pool-ids",
            &pool,
            "--output-dir",
            &out_s,
            "--quiet",
        ],
        &[
            ("AWS_ENDPOINT_URL", url.as_str()),
            ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
            ("AWS_SECRET_ACCESS_KEY", "moto-secret-key"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(manifest(&out)["entitiesExported"]["users"], 1);
    // The service-specific variable alone works too.
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    let r = run(
        &[
            "export",
            "cognito",
            "--region",
            REGION,
            "--user-pool-ids",
            &pool,
            "--output-dir",
            &out_s,
            "--quiet",
        ],
        &[
            ("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", url.as_str()),
            ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
            ("AWS_SECRET_ACCESS_KEY", "moto-secret-key"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(manifest(&out)["entitiesExported"]["users"], 1);
    // `all` includes the SSO hand-off (a pool without identity providers:
    // empty SSO files, the notes say so).
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    let mut args = export_args(&url, &pool, &out_s);
    args.extend(["--entities", "all"]);
    let r = run(&args, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = manifest(&out);
    assert_eq!(m["entitiesExported"]["samlConnections"], 0);
    assert!(m["entitiesRequested"]
        .as_array()
        .unwrap()
        .contains(&json!("sso")));
    assert!(read(&out, "sso/handoff_notes.md").contains("Cognito never exposes password hashes"));
    validate(&out);
}

/// A minimal Cognito endpoint for failure cases: answers the probe and the
/// pool reads, and `fail_list_users` (status, `__type`) to every
/// `ListUsers`. Returns its URL and the number of `ListUsers` requests.
fn failing_endpoint(
    fail_list_users: (u16, &'static str),
) -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let list_users = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = list_users.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let mut target = String::new();
                    let mut length = 0usize;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        let lower = l.to_ascii_lowercase();
                        if let Some(v) = lower.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        if lower.starts_with("x-amz-target:") {
                            target = l.rsplit('.').next().unwrap_or("").to_string();
                        }
                    }
                    let mut body = vec![0u8; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let (status, payload) = match target.as_str() {
                        "ListUserPools" => (200, r#"{"UserPools":[]}"#.to_string()),
                        "ListIdentityProviders" => (200, r#"{"Providers":[]}"#.to_string()),
                        "DescribeUserPool" => (
                            200,
                            r#"{"UserPool":{"Id":"us-east-1_F","EstimatedNumberOfUsers":1}}"#
                                .to_string(),
                        ),
                        "ListUsers" => {
                            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            (
                                fail_list_users.0,
                                format!(
                                    r#"{{"__type":"{}","message":"injected by the test"}}"#,
                                    fail_list_users.1
                                ),
                            )
                        }
                        _ => (400, r#"{"__type":"InvalidParameterException"}"#.to_string()),
                    };
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n",
                        payload.len()
                    );
                    if stream.write_all(head.as_bytes()).is_err()
                        || stream.write_all(payload.as_bytes()).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (url, list_users)
}

#[test]
fn throttling_past_the_budget_and_access_denied_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    let out_s = out.to_string_lossy().into_owned();
    let (url, calls) = failing_endpoint((400, "TooManyRequestsException"));
    let mut args = export_args(&url, "us-east-1_F", &out_s);
    args.extend(["--max-retries", "2"]);
    let line = one_line_error(&run(&args, &[]));
    assert!(
        line.contains("Cognito ListUsers on pool us-east-1_F failed after 3 attempts: TooManyRequestsException: injected by the test"),
        "{line}"
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(!out.join("manifest.json").exists());

    let (url, calls) = failing_endpoint((400, "AccessDeniedException"));
    let line = one_line_error(&run(&export_args(&url, "us-east-1_F", &out_s), &[]));
    assert!(
        line.contains("Cognito ListUsers on pool us-east-1_F failed: AccessDeniedException: injected by the test"),
        "{line}"
    );
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "not retried"
    );

    // A 5xx is retried like throttling.
    let (url, calls) = failing_endpoint((500, "InternalErrorException"));
    let mut args = export_args(&url, "us-east-1_F", &out_s);
    args.extend(["--max-retries", "1"]);
    let line = one_line_error(&run(&args, &[]));
    assert!(
        line.contains("failed after 2 attempts: InternalErrorException"),
        "{line}"
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(!out.join("manifest.json").exists());
}
