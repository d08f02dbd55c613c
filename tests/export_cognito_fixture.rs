//! `export cognito` on the acceptance pool set (`fixtures/cognito/pools.json`)
//! against the fake Cognito (`tests/fakes/cognito.rs`): the package the
//! contract fixes (users, skips, organizations, memberships, roles from
//! groups, SSO rows linked to the pool's organization, secrets redacted),
//! `validate-package`, conservation; the same pools seeded through the API
//! into the fake and into moto give the same package (apart from the ids
//! and dates each service assigns); bad input against the fake is one line
//! and leaves no manifest.
//!
//! The moto comparison reads `MOTO_URL` (`.ci/run` starts moto) and skips
//! with a message on stderr when it is unset.

mod fakes;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

use fakes::cognito::seed::{moto_url, seed_via_api};
use fakes::cognito::SeededPools;
use fakes::cognito::{FakeCognito, FakeCognitoConfig, Fault, Operation};
use serde_json::Value;

const REGION: &str = "us-east-1";
const KEY_ID: &str = "AKIDFIXTURE0001";
const SECRET: &str = "fixture-secret-access-key-DO-NOT-LEAK";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `workos-migrate export cognito` with static test credentials and a
/// clean AWS environment.
fn export(endpoint: &str, pools: &str, dir: &Path, extra: &[&str], key_id: &str) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workos-migrate"));
    cmd.args([
        "export",
        "cognito",
        "--region",
        REGION,
        "--user-pool-ids",
        pools,
        "--endpoint-url",
        endpoint,
        "--output-dir",
        &dir.to_string_lossy(),
        "--quiet",
    ])
    .args(extra)
    .stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k == "COGNITO_USER_POOL_IDS" {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", key_id)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    let out = cmd.output().expect("run workos-migrate");
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert!(!r.stderr.contains(SECRET) && !r.stdout.contains(SECRET));
    r
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn fixture() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cognito/pools.json");
    serde_json::from_str(&std::fs::read_to_string(p).expect("fixture")).expect("json")
}

/// Users of the fixture, all pools.
fn fixture_users(f: &Value) -> usize {
    f["pools"]
        .as_array()
        .expect("pools")
        .iter()
        .map(|p| p["users"].as_array().map_or(0, Vec::len))
        .sum()
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_default()
}

fn csv_rows(dir: &Path, file: &str) -> Vec<BTreeMap<String, String>> {
    let text = read(dir, file);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.expect("row").iter().map(String::from))
                .collect()
        })
        .collect()
}

fn jsonl(dir: &Path, file: &str) -> Vec<Value> {
    read(dir, file)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn manifest_count(dir: &Path, key: &str) -> u64 {
    let m: Value = serde_json::from_str(&read(dir, "manifest.json")).expect("manifest");
    m["entitiesExported"][key].as_u64().unwrap_or(0)
}

fn validate(dir: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .args(["validate-package", &dir.to_string_lossy()])
        .output()
        .expect("validate-package");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file of the package, as text (mode checked for secrets holders).
fn all_text(dir: &Path) -> String {
    let mut text = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                text.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    text
}

#[test]
fn fixture_pools_export_to_the_contract_package_on_the_fake() {
    let rt = runtime();
    let fake = rt.block_on(FakeCognito::start(FakeCognitoConfig::default()));
    let f = fixture();
    let seeded = fake.load_fixture(&f).expect("fixture loads");
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("pkg");
    let r = export(
        &fake.url(),
        &seeded.ids_csv(),
        &dir,
        &["--entities", "all"],
        KEY_ID,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    validate(&dir);

    // Conservation: every listed user is a users.csv row or a skip.
    let users = csv_rows(&dir, "users.csv");
    let skipped = jsonl(&dir, "skipped_users.jsonl");
    assert_eq!(users.len() + skipped.len(), fixture_users(&f));
    assert_eq!(manifest_count(&dir, "users"), users.len() as u64);
    let reasons: BTreeMap<String, usize> = skipped.iter().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(s["reason"].as_str().expect("reason").to_string())
            .or_default() += 1;
        m
    });
    assert_eq!(reasons["federated_user"], 3, "{skipped:?}");
    assert_eq!(reasons["no_email"], 2, "{skipped:?}");

    // Row mapping (§5.4): names, email verbatim, email_verified as given,
    // external_id = sub, the pool's organization, no password columns.
    let acme = seeded.pool("acme").expect("acme");
    let by_email = |e: &str| {
        users
            .iter()
            .find(|u| u["email"] == e)
            .unwrap_or_else(|| panic!("{e} in users.csv"))
    };
    let bob = by_email("bob@acme.test");
    assert_eq!(
        (bob["first_name"].as_str(), bob["last_name"].as_str()),
        ("Bob", "van der Berg")
    );
    assert_eq!(bob["email_verified"], "false");
    assert_eq!(bob["external_id"], acme.subs["bob"]);
    assert_eq!(bob["org_external_id"], acme.id);
    assert_eq!(by_email("carol@acme.test")["email_verified"], "");
    assert!(by_email("Heidi.Hall@Acme.test")["first_name"].is_empty());
    assert!(users
        .iter()
        .all(|u| u["password_hash"].is_empty() && u["password"].is_empty()));
    let alice: Value =
        serde_json::from_str(&by_email("alice@acme.test")["metadata"]).expect("metadata");
    assert_eq!(alice["department"], "Engineering");
    assert_eq!(alice["cognito_user_status"], "CONFIRMED");
    let dave: Value =
        serde_json::from_str(&by_email("dave@acme.test")["metadata"]).expect("metadata");
    assert_eq!(dave["cognito_enabled"], "false");
    let warnings = jsonl(&dir, "warnings.jsonl");
    let codes: Vec<&str> = warnings.iter().filter_map(|w| w["code"].as_str()).collect();
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == "disabled_user_exported")
            .count(),
        1
    );
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == "password_hashes_unavailable")
            .count(),
        1
    );
    assert!(
        codes.contains(&"unsupported_connection_protocol"),
        "{codes:?}"
    );

    // Groups as roles: `Admin` of both pools is one environment role.
    let roles = csv_rows(&dir, "role_definitions.csv");
    let slugs: BTreeSet<&str> = roles.iter().map(|r| r["role_slug"].as_str()).collect();
    assert_eq!(slugs, BTreeSet::from(["admin-role", "editors", "viewers"]));
    let assignments = csv_rows(&dir, "user_role_assignments.csv");
    assert!(assignments.iter().any(|a| a["role_slug"] == "admin-role"
        && a["org_external_id"] == seeded.id("globex").expect("globex")));
    assert_eq!(manifest_count(&dir, "memberships"), users.len() as u64);

    // SSO: SAML from inline XML and from a metadata URL, OIDC with its
    // secret redacted, rows linked to the pool's organization.
    let saml = csv_rows(&dir, "sso/saml_connections.csv");
    let oidc = csv_rows(&dir, "sso/oidc_connections.csv");
    assert_eq!(saml.len(), 2);
    assert_eq!(oidc.len(), 1);
    let okta = saml
        .iter()
        .find(|s| s["name"] == "AcmeOkta")
        .expect("AcmeOkta");
    assert!(!okta["idpEntityId"].is_empty() && !okta["x509Cert"].is_empty());
    assert_eq!(okta["organizationExternalId"], acme.id);
    assert_eq!(okta["domains"], "acme.test");
    let azure = saml
        .iter()
        .find(|s| s["name"] == "AcmeAzure")
        .expect("AcmeAzure");
    assert!(azure["idpMetadataUrl"].ends_with("/__metadata/acme-azure.xml"));
    assert_eq!(oidc[0]["clientSecret"], "");
    assert!(
        !all_text(&dir).contains("DO-NOT-LEAK"),
        "a secret reached the package"
    );

    // --include-external-provider-users and --include-secrets.
    let dir2 = tmp.path().join("pkg2");
    let r = export(
        &fake.url(),
        &seeded.ids_csv(),
        &dir2,
        &[
            "--entities",
            "all",
            "--include-external-provider-users",
            "--include-secrets",
        ],
        KEY_ID,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    validate(&dir2);
    assert_eq!(csv_rows(&dir2, "users.csv").len(), users.len() + 3);
    assert_eq!(
        csv_rows(&dir2, "sso/oidc_connections.csv")[0]["clientSecret"],
        "globex-oidc-secret-DO-NOT-LEAK"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir2.join("sso/oidc_connections.csv"))
        .expect("oidc file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// A package with the ids and dates a service assigns replaced by stable
/// names: pool ids by the fixture key, subs by `sub:<pool>/<username>`,
/// ISO timestamps by `<time>`; CSV rows sorted (the order follows the subs);
/// JSON lines without their timestamps.
fn normalized(dir: &Path, seeded: &SeededPools) -> BTreeMap<String, Vec<String>> {
    let mut swaps: Vec<(String, String)> = Vec::new();
    for p in &seeded.pools {
        swaps.push((p.id.clone(), format!("pool:{}", p.key)));
        for (user, sub) in &p.subs {
            swaps.push((sub.clone(), format!("sub:{}/{user}", p.key)));
        }
    }
    let time = regex_free_times;
    let mut out = BTreeMap::new();
    for file in [
        "users.csv",
        "organizations.csv",
        "organization_memberships.csv",
        "role_definitions.csv",
        "user_role_assignments.csv",
        "sso/saml_connections.csv",
        "sso/oidc_connections.csv",
        "sso/custom_attribute_mappings.csv",
        "sso/proxy_routes.csv",
        "workos_upload/users.csv",
        "workos_upload/organizations.csv",
        "workos_upload/organization_memberships.csv",
        "skipped_users.jsonl",
        "warnings.jsonl",
    ] {
        let mut lines: Vec<String> = read(dir, file)
            .lines()
            .map(|l| {
                let mut l = l.to_string();
                if file.ends_with(".jsonl") {
                    let mut v: Value = serde_json::from_str(&l).expect("json line");
                    if let Some(o) = v.as_object_mut() {
                        o.shift_remove("timestamp");
                    }
                    l = v.to_string();
                }
                for (from, to) in &swaps {
                    l = l.replace(from.as_str(), to);
                }
                time(&l)
            })
            .collect();
        lines.sort();
        out.insert(file.to_string(), lines);
    }
    out
}

/// Replaces every `YYYY-MM-DDTHH:MM:SS[.fff]Z` by `<time>`.
fn regex_free_times(line: &str) -> String {
    let b = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    while i < b.len() {
        let rest = &b[i..];
        if rest.len() >= 20
            && digits(&rest[0..4])
            && rest[4] == b'-'
            && rest[10] == b'T'
            && rest[13] == b':'
        {
            let mut end = 19;
            while end < rest.len() && (rest[end].is_ascii_digit() || rest[end] == b'.') {
                end += 1;
            }
            if end < rest.len() && rest[end] == b'Z' {
                out.push_str("<time>");
                i += end + 1;
                continue;
            }
        }
        let ch = line[i..].chars().next().expect("char");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[test]
fn the_fake_and_moto_give_the_same_package() {
    let Some(url) = moto_url() else {
        eprintln!(
            "skipping the_fake_and_moto_give_the_same_package: MOTO_URL is not set (see .ci/run)"
        );
        return;
    };
    let rt = runtime();
    let fake = rt.block_on(FakeCognito::start(FakeCognitoConfig::default()));
    let f = fixture();
    // The fake serves the SAML metadata documents for both services.
    let base = fake.metadata_base();
    let on_fake = rt
        .block_on(seed_via_api(&fake.url(), REGION, &f, &base))
        .expect("seed the fake");
    let on_moto = rt
        .block_on(seed_via_api(&url, REGION, &f, &base))
        .expect("seed moto");
    let tmp = tempfile::tempdir().expect("tmp");
    let (a, b) = (tmp.path().join("fake"), tmp.path().join("moto"));
    let args = ["--entities", "all"];
    let r = export(&fake.url(), &on_fake.ids_csv(), &a, &args, KEY_ID);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = export(&url, &on_moto.ids_csv(), &b, &args, KEY_ID);
    assert_eq!(r.code, 0, "{}", r.stderr);
    validate(&a);
    validate(&b);
    // Pools created by the API have ids in other orders: compare by key.
    assert_eq!(normalized(&a, &on_fake), normalized(&b, &on_moto));
    assert!(manifest_count(&a, "users") > 0);
}

#[test]
fn bad_input_against_the_fake_is_one_line_without_a_manifest() {
    let rt = runtime();
    let fake = rt.block_on(FakeCognito::start(FakeCognitoConfig::default()));
    let seeded = fake.load_fixture(&fixture()).expect("fixture loads");
    let ids = seeded.ids_csv();
    let tmp = tempfile::tempdir().expect("tmp");
    let one_line = |r: &Run| -> String {
        assert_ne!(r.code, 0, "{}", r.stdout);
        let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{}", r.stderr);
        lines[0].to_string()
    };
    let mut case = 0;
    let mut run = |ids: &str, extra: &[&str], key: &str| {
        case += 1;
        let dir = tmp.path().join(format!("case{case}"));
        let r = export(&fake.url(), ids, &dir, extra, key);
        assert!(
            !dir.join("manifest.json").exists(),
            "case {case} left a manifest"
        );
        r
    };

    // Access denied on ListUsers only (the probe and pool reads pass).
    fake.deny("AKIDDENIEDLIST01", Some(Operation::ListUsers));
    let line = one_line(&run(&ids, &[], "AKIDDENIEDLIST01"));
    assert!(
        line.contains("AccessDeniedException") && line.contains("ListUsers"),
        "{line}"
    );
    // A key the service does not know.
    fake.set_invalid_key("AKIDUNKNOWNKEY01");
    let line = one_line(&run(&ids, &[], "AKIDUNKNOWNKEY01"));
    assert!(line.contains("UnrecognizedClientException"), "{line}");
    // A pool of another region, and an unknown pool.
    let line = one_line(&run("eu-west-1_AcmePool1", &[], KEY_ID));
    assert!(line.contains("ResourceNotFoundException"), "{line}");
    let line = one_line(&run("us-east-1_Nope12345", &[], KEY_ID));
    assert!(line.contains("us-east-1_Nope12345"), "{line}");
    // A throttling storm longer than the retry budget.
    for _ in 0..12 {
        fake.push_fault(Operation::ListUsers, Fault::Throttle);
    }
    let line = one_line(&run(&ids, &["--max-retries", "2"], KEY_ID));
    assert!(line.contains("TooManyRequestsException"), "{line}");
    assert!(fake.count_throttled() >= 3);
}
