//! Request logging (`-v` / `RUST_LOG`) through the real binary against the
//! stateful fakes: `import-package` of a package holding bcrypt hashes and
//! TOTP secrets into the fake WorkOS, `export auth0` (client secret,
//! bearer tokens) from the fake Auth0, and `export cognito` (AWS secret
//! key; one throttled attempt) from the fake Cognito.
//!
//! Each run's log must hold exactly one `api call` line per request the
//! fake recorded — same methods and paths, with status, latency, attempt
//! and the fake's request id — and nothing anywhere in stdout or stderr may
//! contain the API key, the client secret, a bearer token, a password hash
//! or a TOTP secret. Without `-v` and `RUST_LOG`, stderr stays empty.

mod fakes;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fakes::auth0::{FakeAuth0, FakeAuth0Config};
use fakes::cognito::{FakeCognito, FakeCognitoConfig, Fault, Operation};
use fakes::workos::{FakeWorkOs, FakeWorkOsConfig};
use fakes::RecordedRequest;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary in a scratch directory with `env` (logging variables
/// and credentials of the caller's environment removed first).
fn run(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workos-migrate"));
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .env_remove("RUST_LOG")
        .env_remove("WORKOS_SECRET_KEY")
        .env_remove("WORKOS_API_URL")
        .env_remove("AUTH0_DOMAIN")
        .env_remove("AUTH0_CLIENT_ID")
        .env_remove("AUTH0_CLIENT_SECRET");
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

/// One `api call` event: its `key=value` fields.
#[derive(Debug)]
struct Event(BTreeMap<String, String>);

impl Event {
    fn get(&self, k: &str) -> &str {
        self.0
            .get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no {k} in {:?}", self.0))
    }
}

/// The `api call` lines of a log (target `workos_migrate::api`).
fn api_events(log: &str) -> Vec<Event> {
    log.lines()
        .filter(|l| l.contains("workos_migrate::api:") && l.contains(" api call "))
        .map(|l| {
            let fields = l
                .split_whitespace()
                .filter_map(|w| w.split_once('='))
                .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
                .collect();
            Event(fields)
        })
        .collect()
}

/// `(method, path without query)` of recorded requests, sorted.
fn recorded_calls(reqs: &[RecordedRequest]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = reqs
        .iter()
        .map(|r| {
            let path = r.path_and_query.split('?').next().unwrap_or_default();
            (r.method.clone(), path.to_string())
        })
        .collect();
    v.sort();
    v
}

/// Checks one event per recorded request, with every field, and returns
/// the request ids.
fn assert_one_event_per_request(log: &str, service: &str, reqs: &[RecordedRequest]) -> Vec<String> {
    let events = api_events(log);
    assert!(!reqs.is_empty());
    assert_eq!(
        events.len(),
        reqs.len(),
        "one api call line per request; log:\n{log}"
    );
    let mut logged: Vec<(String, String)> = events
        .iter()
        .map(|e| (e.get("method").to_string(), e.get("path").to_string()))
        .collect();
    logged.sort();
    assert_eq!(logged, recorded_calls(reqs));
    let mut ids = Vec::new();
    for e in &events {
        assert_eq!(e.get("service"), service);
        let status: u16 = e.get("status").parse().expect("status");
        assert!((200..600).contains(&status), "{e:?}");
        let ms: f64 = e.get("latency_ms").parse().expect("latency_ms");
        assert!(ms >= 0.0, "{e:?}");
        let attempt: u32 = e.get("attempt").parse().expect("attempt");
        assert!(attempt >= 1, "{e:?}");
        assert!(!e.get("path").contains('?'), "{e:?}");
        ids.push(e.get("request_id").to_string());
    }
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "request ids repeat: {ids:?}");
    ids
}

/// Fails when any secret occurs in `text`.
fn assert_no_secret(text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(s.len() >= 8, "secret too short to search for: {s:?}");
        assert!(!text.contains(s.as_str()), "secret {s:?} leaked");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

fn fixture_package() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/packages/ts-contract")
}

/// Every non-empty value of `column` in a package CSV.
fn column(file: &Path, column: &str) -> Vec<String> {
    let mut r = csv::Reader::from_path(file).unwrap();
    let idx = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("{column} in {}", file.display()));
    let mut out: Vec<String> = r
        .records()
        .map(|rec| rec.unwrap()[idx].to_string())
        .filter(|v| !v.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The package's secrets: every password hash and TOTP secret.
fn package_secrets(dir: &Path) -> Vec<String> {
    let hashes = column(&dir.join("users.csv"), "password_hash");
    let totp = column(&dir.join("totp_secrets.csv"), "totp_secret");
    assert_eq!(hashes.len(), 3, "{hashes:?}");
    assert_eq!(totp.len(), 2, "{totp:?}");
    hashes.into_iter().chain(totp).collect()
}

fn import_with(env_extra: &[(&str, &str)], flags: &[&str]) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeWorkOs::start(FakeWorkOsConfig::default()));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    copy_dir(&fixture_package(), &dir);
    let key = fake.api_key();
    let url = fake.base_url();
    let mut env = vec![("WORKOS_SECRET_KEY", key.as_str())];
    env.extend_from_slice(env_extra);
    let mut args = flags.to_vec();
    args.extend(["import-package", dir.to_str().unwrap(), "--endpoint", &url]);
    let r = run(tmp.path(), &env, &args);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(fake.users().len(), 4);
    assert_eq!(fake.auth_factors().len(), 2);

    let reqs = fake.recorded();
    let ids = assert_one_event_per_request(&r.stderr, "workos", &reqs);
    assert!(ids.iter().all(|id| id.starts_with("req_")), "{ids:?}");
    let methods: BTreeSet<String> = reqs.iter().map(|q| q.method.clone()).collect();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods:?}"
    );

    let mut secrets = package_secrets(&dir);
    secrets.push(key.clone());
    secrets.push(format!("Bearer {key}"));
    assert_no_secret(&format!("{}{}", r.stdout, r.stderr), &secrets);
}

#[test]
fn import_package_quiet_by_default() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeWorkOs::start(FakeWorkOsConfig::default()));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    copy_dir(&fixture_package(), &dir);
    let key = fake.api_key();
    let url = fake.base_url();
    let r = run(
        tmp.path(),
        &[("WORKOS_SECRET_KEY", &key)],
        &["import-package", dir.to_str().unwrap(), "--endpoint", &url],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!fake.recorded().is_empty());
    assert_eq!(r.stderr, "");
}

#[test]
fn import_package_with_v_logs_every_call_and_no_secret() {
    import_with(&[], &["-v"]);
}

#[test]
fn import_package_with_rust_log_debug_logs_every_call_and_no_secret() {
    // `RUST_LOG=debug` also turns on hyper's, reqwest's and rustls's debug
    // output: none of it may carry a secret either.
    import_with(&[("RUST_LOG", "debug")], &[]);
}

#[test]
fn import_package_with_vv_adds_a_trace_line_per_attempt() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeWorkOs::start(FakeWorkOsConfig::default()));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    copy_dir(&fixture_package(), &dir);
    let key = fake.api_key();
    let url = fake.base_url();
    let r = run(
        tmp.path(),
        &[("WORKOS_SECRET_KEY", &key)],
        &[
            "import-package",
            dir.to_str().unwrap(),
            "--endpoint",
            &url,
            "-vv",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let n = fake.recorded().len();
    assert_eq!(api_events(&r.stderr).len(), n);
    let started = r
        .stderr
        .lines()
        .filter(|l| l.contains("TRACE") && l.contains(" api request "))
        .count();
    assert_eq!(started, n, "{}", r.stderr);
}

fn export_auth0_with(env_extra: &[(&str, &str)], flags: &[&str], engine: &[&str]) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeAuth0::start(FakeAuth0Config::default()));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/auth0/tenant.json");
    let tenant: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    fake.load_fixture(&tenant).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let (url, id, secret) = (fake.url(), fake.client_id(), fake.client_secret());
    let mut args = flags.to_vec();
    args.extend([
        "export",
        "auth0",
        "--domain",
        &url,
        "--client-id",
        &id,
        "--client-secret",
        &secret,
        "--entities",
        "all",
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    args.extend_from_slice(engine);
    let r = run(tmp.path(), env_extra, &args);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);

    let reqs = fake.requests();
    let ids = assert_one_event_per_request(&r.stderr, "auth0", &reqs);
    assert!(ids.iter().all(|id| !id.is_empty()));
    assert!(
        reqs.iter().any(|q| q.path_and_query == "/oauth/token"),
        "the token request is a call too"
    );

    // The client secret and every bearer token the fake saw.
    let mut secrets = vec![secret.clone()];
    for q in &reqs {
        if let Some(token) = q
            .authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "))
        {
            secrets.push(token.to_string());
        }
    }
    assert!(secrets.len() > 1, "no bearer token recorded");
    assert_no_secret(&format!("{}{}", r.stdout, r.stderr), &secrets);
}

#[test]
fn export_auth0_with_v_logs_every_call_and_no_secret() {
    export_auth0_with(&[], &["-v"], &[]);
}

#[test]
fn export_auth0_bulk_job_with_rust_log_debug_logs_every_call_and_no_secret() {
    // The bulk-job engine adds the job creation, its polls and the signed
    // download (logged without its query).
    export_auth0_with(
        &[("RUST_LOG", "debug")],
        &[],
        &["--engine", "bulk-job", "--bulk-poll-interval-ms", "10"],
    );
}

#[test]
fn export_cognito_with_v_logs_every_operation_with_its_retry_and_no_secret() {
    const SECRET: &str = "cognito-secret-access-key-DO-NOT-LOG";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeCognito::start(FakeCognitoConfig::default()));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cognito/pools.json");
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let seeded = fake.load_fixture(&fixture).unwrap();
    fake.push_fault(Operation::ListUsers, Fault::Throttle);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let (url, ids) = (fake.url(), seeded.ids_csv());
    let r = run(
        tmp.path(),
        &[
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_ACCESS_KEY_ID", "AKIDVERBOSE00001"),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ],
        &[
            "export",
            "cognito",
            "-v",
            "--region",
            "us-east-1",
            "--user-pool-ids",
            &ids,
            "--endpoint-url",
            &url,
            "--entities",
            "all",
            "--output-dir",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);

    let events = api_events(&r.stderr);
    let recorded = fake.requests();
    assert_eq!(events.len(), recorded.len(), "{}", r.stderr);
    let mut logged: Vec<String> = events
        .iter()
        .map(|e| e.get("operation").to_string())
        .collect();
    let mut seen: Vec<String> = recorded.iter().map(|c| c.operation.clone()).collect();
    logged.sort();
    seen.sort();
    assert_eq!(logged, seen);
    for e in &events {
        assert_eq!(e.get("service"), "cognito");
        assert_eq!((e.get("method"), e.get("path")), ("POST", "/"));
        assert!(!e.get("request_id").is_empty());
        e.get("latency_ms").parse::<f64>().expect("latency");
    }
    // The throttled attempt: AWS's status and error code, then attempt 2.
    let throttled: Vec<&Event> = events
        .iter()
        .filter(|e| e.0.get("error").map(String::as_str) == Some("TooManyRequestsException"))
        .collect();
    assert_eq!(throttled.len(), 1, "{}", r.stderr);
    assert_eq!(throttled[0].get("operation"), "ListUsers");
    assert_eq!(throttled[0].get("status"), "400");
    assert_eq!(throttled[0].get("attempt"), "1");
    assert!(events
        .iter()
        .any(|e| e.get("operation") == "ListUsers" && e.get("attempt") == "2"));
    assert_no_secret(&format!("{}{}", r.stdout, r.stderr), &[SECRET.to_string()]);
}

#[test]
fn an_unparsable_rust_log_is_one_warning_line() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = run(tmp.path(), &[], &["export-template", "--list"]);
    assert_eq!(plain.code, 0);
    let r = run(
        tmp.path(),
        &[("RUST_LOG", "workos_migrate=loud")],
        &["export-template", "--list"],
    );
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout, plain.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(
        lines[0].starts_with("warning: ignoring RUST_LOG: "),
        "{}",
        r.stderr
    );
}
