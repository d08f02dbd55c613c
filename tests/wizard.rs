//! `wizard` through a real pseudo-terminal (rexpect), one test per source:
//! the prompts are answered, the package is exported, validated, dry-run and
//! imported into the fake WorkOS (`tests/fakes/workos.rs`), whose end state
//! must hold every user, organization, membership and role of the package
//! exactly once. Without a terminal: exit 2 at once with one line. The
//! cancel, failure and resume paths are in `tests/wizard_cancel.rs`; the
//! helpers in `tests/wizard_support/`.

mod fakes;
mod wizard_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fakes::cognito::{FakeCognito, FakeCognitoConfig};
use serde_json::Value;
use wizard_support::*;

#[test]
fn auth0_wizard_exports_validates_dry_runs_and_imports() {
    let env = auth0_env();
    let mut p = env.spawn();
    expect(&mut p, "WorkOS Migration Wizard");
    env.provider_and_credentials(&mut p);
    env.export_config(&mut p, "");
    expect(&mut p, "Repeat this step: AUTH0_CLIENT_SECRET=");
    expect(&mut p, " workos-migrate export auth0 --domain");
    expect(&mut p, "Package export complete");
    // Step 5: a password export (as Auth0 support sends it) for two users.
    let hash = bcrypt::hash("wizard horse battery", 4).expect("bcrypt");
    let ndjson: String = ["A@x.com", "f@x.com"]
        .iter()
        .map(|e| {
            format!(
                "{}\n",
                serde_json::json!({"email": e, "passwordHash": hash, "connection": "db"})
            )
        })
        .collect();
    std::fs::write(env.tmp.path().join("passwords.ndjson"), ndjson).expect("write");
    answer(
        &mut p,
        "Do you have an Auth0 password hash export (NDJSON)?",
        &format!("y{ENTER}"),
    );
    answer(
        &mut p,
        "Path to the password hash export",
        &format!("passwords.ndjson{ENTER}"),
    );
    expect(
        &mut p,
        "workos-migrate merge-passwords --passwords passwords.ndjson --package ./migration-auth0",
    );
    expect(&mut p, "Package password merge complete");
    validate_and_import(&mut p);
    let (code, out) = finish(p);
    assert_eq!(code, 0);
    assert!(out.contains("Passwords:   merged"), "{out}");
    let dir = env.tmp.path().join("migration-auth0");
    assert_package_imported_once(&env.workos, &dir, &env.roles_before);
    let users = env.workos.users();
    for email in ["a@x.com", "f@x.com"] {
        let u = users
            .iter()
            .find(|u| {
                u["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .expect("user");
        assert_eq!(u["fake_password"]["kind"], "hash", "{u}");
        let stored = u["fake_password"]["hash"].as_str().expect("hash");
        assert!(bcrypt::verify("wizard horse battery", stored).expect("verify"));
    }
    assert!(!env.tmp.path().join(".workos-migrate-wizard.json").exists());
    let secrets = env.secrets();
    assert_no_secret_on_disk(
        env.tmp.path(),
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

/// The key comes from the environment here: no key prompt, no .env offer.
#[test]
fn cognito_wizard_with_the_key_in_the_environment() {
    let (rt, workos, roles_before, tmp) = workos_only();
    let cognito = rt.block_on(FakeCognito::start(FakeCognitoConfig::default()));
    let f: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/cognito/pools.json")).expect("pools"),
    )
    .expect("json");
    let seeded = cognito.load_fixture(&f).expect("fixture loads");
    let mut p = spawn_wizard(
        tmp.path(),
        &[
            ("WORKOS_API_URL", workos.base_url()),
            ("WORKOS_SECRET_KEY", workos.api_key()),
            ("AWS_ENDPOINT_URL", cognito.url()),
            ("AWS_ACCESS_KEY_ID", "AKIDWIZARD0001".into()),
            ("AWS_SECRET_ACCESS_KEY", "wizard-aws-secret".into()),
        ],
    );
    answer(
        &mut p,
        "Which identity provider are you migrating from?",
        &format!("Cognito{ENTER}"),
    );
    expect(&mut p, "WorkOS API key found in environment.");
    answer(&mut p, "AWS region", &format!("us-east-1{ENTER}"));
    answer(
        &mut p,
        "Cognito user pool IDs",
        &format!("{}{ENTER}", seeded.ids_csv()),
    );
    answer(&mut p, "Entities to export", ENTER);
    answer(&mut p, "Package output directory", ENTER);
    expect(&mut p, "workos-migrate export cognito --region us-east-1");
    expect(&mut p, "Package export complete");
    expect(&mut p, "Repeat this step: workos-migrate validate-package");
    answer(&mut p, "Import concurrency", ENTER);
    answer(&mut p, "Import rate limit", ENTER);
    answer(&mut p, "Run as dry-run first (recommended)?", ENTER);
    answer(&mut p, "Start the dry run?", ENTER);
    answer(
        &mut p,
        "Dry-run complete. Run the actual import now?",
        ENTER,
    );
    expect(&mut p, "WorkOS API key found in environment.");
    expect(&mut p, "Repeat this step: workos-migrate import-package");
    answer(&mut p, "Do you have TOTP/MFA secrets to migrate", ENTER);
    answer(&mut p, "Do you have role definitions to process", ENTER);
    expect(&mut p, "Migration Complete");
    let (code, out) = finish(p);
    assert_eq!(code, 0, "{out}");
    assert_package_imported_once(
        &workos,
        &tmp.path().join("migration-cognito"),
        &roles_before,
    );
    assert_no_secret_on_disk(tmp.path(), &["wizard-aws-secret", &workos.api_key()]);
}

#[test]
fn clerk_wizard_with_org_and_role_mappings() {
    let (_rt, workos, roles_before, tmp) = workos_only();
    // The fixture's mapping names one organization two ways (the next test)
    // and one WorkOS organization id that does not exist here; this mapping
    // names it one way and leaves the foreign id out.
    let mapping: String = std::fs::read_to_string(root().join("fixtures/clerk/org_mapping.csv"))
        .expect("mapping")
        .replace("Globex Corp", "Globex")
        .lines()
        .filter(|l| !l.contains(",org_01"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mapping_path = tmp.path().join("org_mapping.csv");
    std::fs::write(&mapping_path, mapping).expect("write mapping");
    let mut p = spawn_wizard(tmp.path(), &[("WORKOS_API_URL", workos.base_url())]);
    clerk_export(&mut p, &workos.api_key(), "org_mapping.csv");
    validate_and_import(&mut p);
    let (code, out) = finish(p);
    assert_eq!(code, 0, "{out}");
    let dir = tmp.path().join("migration-clerk");
    assert!(!rows_if_exists(&dir.join("role_definitions.csv")).is_empty());
    assert_package_imported_once(&workos, &dir, &roles_before);
    assert_no_secret_on_disk(tmp.path(), &[&workos.api_key()]);
}

/// The scrypt signer key is typed hidden and reaches the export through its
/// environment: the users arrive in WorkOS with their Firebase hashes.
#[test]
fn firebase_wizard_with_scrypt_parameters() {
    let (_rt, workos, roles_before, tmp) = workos_only();
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/firebase/hash_config.json")).expect("cfg"),
    )
    .expect("json");
    let mut p = spawn_wizard(tmp.path(), &[("WORKOS_API_URL", workos.base_url())]);
    file_source_start(&mut p, "Firebase", &workos.api_key());
    answer(
        &mut p,
        "Path to the Firebase Auth JSON export",
        &format!("{}{ENTER}", fixture("fixtures/firebase/hashed_users.json")),
    );
    answer(&mut p, "How should displayName be split", ENTER);
    answer(
        &mut p,
        "scrypt password hash parameters?",
        &format!("y{ENTER}"),
    );
    answer(
        &mut p,
        "Firebase project signer key",
        &format!(
            "{}{ENTER}",
            config["base64_signer_key"].as_str().expect("key")
        ),
    );
    answer(
        &mut p,
        "Salt separator",
        &format!(
            "{}{ENTER}",
            config["base64_salt_separator"].as_str().expect("sep")
        ),
    );
    answer(&mut p, "Rounds", ENTER);
    answer(&mut p, "Memory cost", ENTER);
    answer(&mut p, "Include disabled users?", ENTER);
    answer(&mut p, "Org mapping CSV", ENTER);
    answer(&mut p, "Role mapping CSV", ENTER);
    answer(&mut p, "Package output directory", ENTER);
    expect(&mut p, "Repeat this step: FIREBASE_SCRYPT_SIGNER_KEY=");
    validate_and_import(&mut p);
    let (code, out) = finish(p);
    assert_eq!(code, 0, "{out}");
    let dir = tmp.path().join("migration-firebase");
    assert_package_imported_once(&workos, &dir, &roles_before);
    let users = workos.users();
    assert!(
        users.iter().all(|u| u["fake_password"]["kind"] == "hash"),
        "{users:?}"
    );
    assert!(!tmp.path().join(".env").exists());
}

/// Custom CSV: a package filled in by hand (the TypeScript-contract
/// fixture), validated and imported.
#[test]
fn csv_wizard_with_a_filled_in_package() {
    let (_rt, workos, roles_before, tmp) = workos_only();
    let dir = tmp.path().join("filled");
    let src = root().join("fixtures/packages/ts-contract");
    for (path, bytes) in all_files(&src) {
        let dest = dir.join(path.strip_prefix(&src).expect("under"));
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::write(dest, bytes).expect("copy");
    }
    let mut p = spawn_wizard(tmp.path(), &[("WORKOS_API_URL", workos.base_url())]);
    file_source_start(&mut p, "Custom", &workos.api_key());
    answer(&mut p, "Custom CSV", ENTER);
    answer(
        &mut p,
        "Path to the migration package directory",
        &format!("filled{ENTER}"),
    );
    expect(&mut p, "Using existing package");
    validate_and_import(&mut p);
    let (code, out) = finish(p);
    assert_eq!(code, 0, "{out}");
    assert_package_imported_once(&workos, &dir, &roles_before);
}

#[test]
fn not_a_terminal_exits_2_at_once_with_one_line() {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .arg("wizard")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("workos-migrate export") && lines[0].contains("import-package"),
        "{err}"
    );
}
