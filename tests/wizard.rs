//! `wizard` through a real pseudo-terminal (rexpect): for each source the
//! prompts are answered, the package is exported, validated, dry-run and
//! imported into the fake WorkOS (`tests/fakes/workos.rs`), whose end state
//! must hold every user, organization, membership and role of the package
//! exactly once. Ctrl-C at a prompt, during the export and at the import
//! confirmation: exit 0, the cancel message, no complete-looking partial
//! package, no typed secret in any file; the re-run offers to continue and
//! finishes. Without a terminal: exit 2 at once with one line.
//!
//! Synchronisation is only on the wizard's output (generous timeouts, no
//! sleeps). rexpect reads bytes as Latin-1 characters: expected texts are
//! ASCII.

mod fakes;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fakes::auth0::{FakeAuth0, FakeAuth0Config, Fault, Route};
use fakes::cognito::{FakeCognito, FakeCognitoConfig};
use fakes::workos::{FakeWorkOs, FakeWorkOsConfig};
use rexpect::process::WaitStatus;
use rexpect::reader::Options;
use rexpect::session::{spawn_with_options, PtySession};
use serde_json::Value;

const TIMEOUT_MS: u64 = 30_000;
const ENTER: &str = "\r";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Variables the wizard or its commands would read from the developer's
/// environment; removed so each test sets exactly what it means.
const CLEARED: [&str; 14] = [
    "WORKOS_SECRET_KEY",
    "WORKOS_API_URL",
    "AUTH0_DOMAIN",
    "AUTH0_CLIENT_ID",
    "AUTH0_CLIENT_SECRET",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "COGNITO_USER_POOL_IDS",
    "FIREBASE_SCRYPT_SIGNER_KEY",
    "CLERK_SECRET_KEY",
];

/// `workos-migrate wizard` in `cwd` on a fresh 200x50 pseudo-terminal.
fn spawn_wizard(cwd: &Path, env: &[(&str, String)]) -> PtySession {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("stty cols 200 rows 50 && exec \"$0\" wizard")
        .arg(env!("CARGO_BIN_EXE_workos-migrate"))
        .current_dir(cwd)
        .env("TERM", "xterm")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", cwd.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            cwd.join("no-aws-credentials"),
        );
    for k in CLEARED {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(TIMEOUT_MS))
            .strip_ansi_escape_codes(true),
    )
    .expect("spawn the wizard on a pty")
}

/// Waits for `prompt`, then types `keys`.
fn answer(p: &mut PtySession, prompt: &str, keys: &str) {
    if let Err(e) = p.exp_string(prompt) {
        panic!("waiting for {prompt:?}: {e}");
    }
    p.send(keys).expect("send");
    p.flush().expect("flush");
}

fn expect(p: &mut PtySession, text: &str) -> String {
    match p.exp_string(text) {
        Ok(before) => before,
        Err(e) => panic!("waiting for {text:?}: {e}"),
    }
}

/// Reads to the end and returns the exit code.
fn finish(mut p: PtySession) -> (i32, String) {
    let rest = p.exp_eof().unwrap_or_default();
    let code = match p.process().wait().expect("wait") {
        WaitStatus::Exited(_, c) => c,
        other => panic!("wizard did not exit normally: {other:?}"),
    };
    assert!(!rest.contains("panicked"), "{rest}");
    (code, rest)
}

/// Every (relative path, bytes) under `dir`.
fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).expect("read");
                out.push((p, bytes));
            }
        }
    }
    out
}

/// No file under `dir` holds any of `secrets`.
fn assert_no_secret_on_disk(dir: &Path, secrets: &[&str]) {
    for (path, bytes) in all_files(dir) {
        let text = String::from_utf8_lossy(&bytes);
        for s in secrets {
            assert!(!text.contains(s), "{} holds a typed secret", path.display());
        }
    }
}

fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.expect("row").iter().map(String::from))
                .collect()
        })
        .collect()
}

fn rows_if_exists(path: &Path) -> Vec<BTreeMap<String, String>> {
    if path.is_file() {
        csv_rows(path)
    } else {
        Vec::new()
    }
}

fn field<'a>(row: &'a BTreeMap<String, String>, k: &str) -> &'a str {
    row.get(k).map_or("", |v| v.trim())
}

/// Role slugs and how often the fake holds each.
fn role_counts(fake: &FakeWorkOs) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in fake.roles() {
        *counts
            .entry(r["slug"].as_str().unwrap_or("").to_string())
            .or_default() += 1;
    }
    counts
}

/// The fake's end state holds every user, organization, membership and role
/// of the package exactly once (and nothing else of those kinds beyond the
/// environment's own roles, `roles_before`).
fn assert_package_imported_once(
    fake: &FakeWorkOs,
    dir: &Path,
    roles_before: &BTreeMap<String, usize>,
) {
    let users = csv_rows(&dir.join("users.csv"));
    assert!(!users.is_empty(), "the package has users");
    let emails: BTreeSet<String> = users
        .iter()
        .map(|u| field(u, "email").to_lowercase())
        .collect();
    let fake_users = fake.users();
    let fake_emails: Vec<String> = fake_users
        .iter()
        .map(|u| u["email"].as_str().unwrap_or("").to_lowercase())
        .collect();
    let errors =
        std::fs::read_to_string(dir.join("workos_import_errors.jsonl")).unwrap_or_default();
    assert_eq!(
        fake_emails.len(),
        emails.len(),
        "users: {fake_emails:?}; errors: {errors}"
    );
    assert_eq!(
        fake_emails.iter().cloned().collect::<BTreeSet<_>>(),
        emails,
        "every package user exactly once"
    );
    let email_of: BTreeMap<String, String> = fake_users
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap_or("").to_string(),
                u["email"].as_str().unwrap_or("").to_lowercase(),
            )
        })
        .collect();

    // Organizations: those of organizations.csv and those users.csv and the
    // membership file name, by external id.
    let orgs_file = rows_if_exists(&dir.join("organizations.csv"));
    let memberships_file = rows_if_exists(&dir.join("organization_memberships.csv"));
    let mut org_ids: BTreeSet<String> = BTreeSet::new();
    for r in orgs_file.iter().chain(&users).chain(&memberships_file) {
        let ext = field(r, "org_external_id");
        if !ext.is_empty() {
            org_ids.insert(ext.to_string());
        }
    }
    let fake_orgs = fake.organizations();
    let fake_org_ext: Vec<String> = fake_orgs
        .iter()
        .map(|o| o["external_id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        fake_org_ext.len(),
        org_ids.len(),
        "organizations: {fake_org_ext:?}"
    );
    assert_eq!(
        fake_org_ext.iter().cloned().collect::<BTreeSet<_>>(),
        org_ids
    );
    let ext_of: BTreeMap<String, String> = fake_orgs
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap_or("").to_string(),
                o["external_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();

    // Memberships: (email, org) of users.csv and the membership file.
    let mut pairs: BTreeSet<(String, String)> = BTreeSet::new();
    for r in users.iter().chain(&memberships_file) {
        let ext = field(r, "org_external_id");
        let email = field(r, "email").to_lowercase();
        if !ext.is_empty() && !email.is_empty() {
            pairs.insert((email, ext.to_string()));
        }
    }
    let fake_pairs: Vec<(String, String)> = fake
        .memberships()
        .iter()
        .map(|m| {
            (
                email_of[m["user_id"].as_str().unwrap_or("")].clone(),
                ext_of[m["organization_id"].as_str().unwrap_or("")].clone(),
            )
        })
        .collect();
    assert_eq!(fake_pairs.len(), pairs.len(), "memberships: {fake_pairs:?}");
    assert_eq!(fake_pairs.into_iter().collect::<BTreeSet<_>>(), pairs);

    // Roles: each definition once.
    let defs = rows_if_exists(&dir.join("role_definitions.csv"));
    // An environment role the environment already has is reused, not
    // created again.
    let distinct: BTreeSet<(String, String)> = defs
        .iter()
        .map(|d| {
            (
                field(d, "role_slug").to_string(),
                field(d, "org_external_id").to_string(),
            )
        })
        .collect();
    let mut slugs = roles_before.clone();
    for (slug, org) in distinct {
        if org.is_empty() && roles_before.contains_key(&slug) {
            continue;
        }
        *slugs.entry(slug).or_default() += 1;
    }
    assert_eq!(role_counts(fake), slugs, "roles");
}

/// The prompts shared by every source from validation to the end, with
/// the defaults (dry run first, then the real import).
fn validate_and_import(p: &mut PtySession) {
    expect(p, "Repeat this step: workos-migrate validate-package");
    answer(p, "Import concurrency", ENTER);
    answer(p, "Import rate limit", ENTER);
    answer(p, "Run as dry-run first (recommended)?", ENTER);
    expect(p, "Import Package Plan");
    answer(p, "Start the dry run?", ENTER);
    answer(p, "Dry-run complete. Run the actual import now?", ENTER);
    expect(p, "Repeat this step: WORKOS_SECRET_KEY=");
    expect(p, " workos-migrate import-package");
    answer(p, "Do you have TOTP/MFA secrets to migrate", ENTER);
    answer(p, "Do you have role definitions to process", ENTER);
    expect(p, "Migration Complete");
}

struct Auth0Env {
    _rt: tokio::runtime::Runtime,
    workos: FakeWorkOs,
    roles_before: BTreeMap<String, usize>,
    auth0: FakeAuth0,
    tmp: tempfile::TempDir,
}

fn auth0_env() -> Auth0Env {
    let rt = runtime();
    let workos = rt.block_on(FakeWorkOs::start(FakeWorkOsConfig::default()));
    let auth0 = rt.block_on(FakeAuth0::start(FakeAuth0Config::default()));
    let tenant: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/auth0/tenant.json")).expect("tenant"),
    )
    .expect("tenant json");
    auth0.load_fixture(&tenant).expect("fixture loads");
    Auth0Env {
        _rt: rt,
        roles_before: role_counts(&workos),
        workos,
        auth0,
        tmp: tempfile::tempdir().expect("tmp"),
    }
}

impl Auth0Env {
    fn spawn(&self) -> PtySession {
        spawn_wizard(
            self.tmp.path(),
            &[("WORKOS_API_URL", self.workos.base_url())],
        )
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.workos.api_key(), self.auth0.client_secret()]
    }

    /// Steps 1 and 2 (typing both secrets, no .env).
    fn provider_and_credentials(&self, p: &mut PtySession) {
        answer(
            p,
            "Which identity provider are you migrating from?",
            &format!("Auth0{ENTER}"),
        );
        answer(
            p,
            "Enter your WorkOS Secret Key",
            &format!("{}{ENTER}", self.workos.api_key()),
        );
        answer(p, "Auth0 domain", &format!("{}{ENTER}", self.auth0.url()));
        answer(
            p,
            "Auth0 M2M application client ID",
            &format!("{}{ENTER}", self.auth0.client_id()),
        );
        answer(
            p,
            "Auth0 M2M application client secret",
            &format!("{}{ENTER}", self.auth0.client_secret()),
        );
        answer(p, "to .env in this directory", &format!("n{ENTER}"));
    }

    /// Step 3 with the defaults except the rate limit.
    fn export_config(&self, p: &mut PtySession, rate: &str) {
        answer(p, "Entities to export", ENTER);
        answer(p, "Auth0 API rate limit", &format!("{rate}{ENTER}"));
        answer(p, "Use user_metadata for org discovery", ENTER);
        answer(p, "Export engine", ENTER);
        answer(p, "Package output directory", ENTER);
    }
}

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

impl Auth0Env {
    fn package_dir(&self) -> PathBuf {
        self.tmp.path().join("migration-auth0")
    }

    /// After a cancel: exit 0, the message, no typed secret on disk, no
    /// package that looks complete unless `package_complete`.
    fn assert_cancelled(&self, p: PtySession, package_complete: bool) {
        let (code, rest) = finish(p);
        assert_eq!(code, 0, "{rest}");
        assert!(rest.contains("Wizard cancelled."), "{rest}");
        assert!(
            rest.contains("run `workos-migrate wizard` here again to continue"),
            "{rest}"
        );
        let secrets = self.secrets();
        assert_no_secret_on_disk(
            self.tmp.path(),
            &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let manifest = self.package_dir().join("manifest.json");
        assert_eq!(manifest.exists(), package_complete, "{rest}");
        if package_complete {
            let ok = Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
                .arg("validate-package")
                .arg(self.package_dir())
                .stdin(Stdio::null())
                .output()
                .expect("validate-package");
            assert!(ok.status.success());
        }
        assert!(self
            .tmp
            .path()
            .join(".workos-migrate-wizard.json")
            .is_file());
        assert!(
            self.workos.users().is_empty(),
            "nothing imported before the cancel"
        );
    }

    /// The re-run: continue, then the rest from `step`, then the end state.
    fn resume_and_finish(&self, step: &str, rest: impl FnOnce(&Self, &mut PtySession)) {
        let mut p = self.spawn();
        answer(&mut p, &format!("Continue from step {step}?"), ENTER);
        rest(self, &mut p);
        let (code, out) = finish(p);
        assert_eq!(code, 0, "{out}");
        assert_package_imported_once(&self.workos, &self.package_dir(), &self.roles_before);
        assert!(!self.tmp.path().join(".workos-migrate-wizard.json").exists());
    }

    fn workos_key(&self, p: &mut PtySession) {
        answer(
            p,
            "Enter your WorkOS Secret Key",
            &format!("{}{ENTER}", self.workos.api_key()),
        );
    }
}

#[test]
fn ctrl_c_at_a_credentials_prompt_then_resume_finishes() {
    let env = auth0_env();
    let mut p = env.spawn();
    answer(
        &mut p,
        "Which identity provider are you migrating from?",
        &format!("Auth0{ENTER}"),
    );
    env.workos_key(&mut p);
    answer(
        &mut p,
        "Auth0 domain",
        &format!("{}{ENTER}", env.auth0.url()),
    );
    expect(&mut p, "Auth0 M2M application client ID");
    p.send_control('c').expect("ctrl-c");
    env.assert_cancelled(p, false);

    env.resume_and_finish("2 (Credentials)", |env, p| {
        env.workos_key(p);
        answer(p, "Auth0 domain", &format!("{}{ENTER}", env.auth0.url()));
        answer(
            p,
            "Auth0 M2M application client ID",
            &format!("{}{ENTER}", env.auth0.client_id()),
        );
        answer(
            p,
            "Auth0 M2M application client secret",
            &format!("{}{ENTER}", env.auth0.client_secret()),
        );
        answer(p, "to .env in this directory", &format!("n{ENTER}"));
        env.export_config(p, "");
        expect(p, "Package export complete");
        answer(
            p,
            "Do you have an Auth0 password hash export (NDJSON)?",
            ENTER,
        );
        validate_and_import(p);
    });
}

#[test]
fn ctrl_c_during_the_export_leaves_no_package_then_resume_reexports() {
    let env = auth0_env();
    // The first organizations listing hangs until the export is interrupted.
    env.auth0
        .push_fault(Route::Organizations, Fault::Delay(Duration::from_secs(120)));
    let mut p = env.spawn();
    env.provider_and_credentials(&mut p);
    env.export_config(&mut p, "");
    expect(&mut p, "Exporting from Auth0");
    // Ctrl-C once the hanging request is in flight (a condition on the
    // fake's request log, not a fixed delay).
    let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS);
    while env.auth0.count(Route::Organizations) == 0 {
        assert!(
            Instant::now() < deadline,
            "the export never listed organizations"
        );
        std::thread::yield_now();
    }
    p.send_control('c').expect("ctrl-c");
    env.assert_cancelled(p, false);
    assert!(
        !env.package_dir().exists(),
        "the interrupted export is removed"
    );

    env.resume_and_finish("4 (Export)", |env, p| {
        answer(
            p,
            "Auth0 M2M application client secret",
            &format!("{}{ENTER}", env.auth0.client_secret()),
        );
        expect(p, "Package export complete");
        answer(
            p,
            "Do you have an Auth0 password hash export (NDJSON)?",
            ENTER,
        );
        expect(p, "Repeat this step: workos-migrate validate-package");
        // Steps 7 and 8 are asked again; the WorkOS key too (never saved).
        answer(p, "Import concurrency", ENTER);
        answer(p, "Import rate limit", ENTER);
        answer(p, "Run as dry-run first (recommended)?", ENTER);
        answer(p, "Start the dry run?", ENTER);
        answer(p, "Dry-run complete. Run the actual import now?", ENTER);
        env.workos_key(p);
        answer(p, "Do you have TOTP/MFA secrets to migrate", ENTER);
        answer(p, "Do you have role definitions to process", ENTER);
        expect(p, "Migration Complete");
    });
}

#[test]
fn ctrl_c_at_the_import_confirmation_then_resume_imports_once() {
    let env = auth0_env();
    let mut p = env.spawn();
    env.provider_and_credentials(&mut p);
    env.export_config(&mut p, "");
    answer(
        &mut p,
        "Do you have an Auth0 password hash export (NDJSON)?",
        ENTER,
    );
    answer(&mut p, "Import concurrency", ENTER);
    answer(&mut p, "Import rate limit", ENTER);
    answer(&mut p, "Run as dry-run first (recommended)?", ENTER);
    answer(&mut p, "Start the dry run?", ENTER);
    expect(&mut p, "Dry-run complete. Run the actual import now?");
    p.send_control('c').expect("ctrl-c");
    env.assert_cancelled(p, true);

    env.resume_and_finish("8 (Import)", |env, p| {
        answer(p, "Start the dry run?", ENTER);
        answer(p, "Dry-run complete. Run the actual import now?", ENTER);
        env.workos_key(p);
        answer(p, "Do you have TOTP/MFA secrets to migrate", ENTER);
        answer(p, "Do you have role definitions to process", ENTER);
        expect(p, "Migration Complete");
    });
}

/// A fake WorkOS for the file-based sources, with its roles before the run.
fn workos_only() -> (
    tokio::runtime::Runtime,
    FakeWorkOs,
    BTreeMap<String, usize>,
    tempfile::TempDir,
) {
    let rt = runtime();
    let workos = rt.block_on(FakeWorkOs::start(FakeWorkOsConfig::default()));
    let roles = role_counts(&workos);
    (rt, workos, roles, tempfile::tempdir().expect("tmp"))
}

fn fixture(rel: &str) -> String {
    root().join(rel).to_string_lossy().into_owned()
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

/// Steps 1-2 for a file-based source: the provider and the typed WorkOS key.
fn file_source_start(p: &mut PtySession, filter: &str, key: &str) {
    answer(
        p,
        "Which identity provider are you migrating from?",
        &format!("{filter}{ENTER}"),
    );
    answer(p, "Enter your WorkOS Secret Key", &format!("{key}{ENTER}"));
    answer(p, "to .env in this directory", &format!("n{ENTER}"));
}

/// Steps 1-4 for Clerk with the fixture's role mapping and `org_mapping`.
fn clerk_export(p: &mut PtySession, key: &str, org_mapping: &str) {
    file_source_start(p, "Clerk", key);
    answer(
        p,
        "Path to the Clerk export CSV",
        &format!("{}{ENTER}", fixture("fixtures/clerk/users.csv")),
    );
    answer(p, "Org mapping CSV", &format!("{org_mapping}{ENTER}"));
    answer(
        p,
        "Role mapping CSV",
        &format!("{}{ENTER}", fixture("fixtures/clerk/role_mapping.csv")),
    );
    answer(p, "Package output directory", ENTER);
    expect(p, "workos-migrate export clerk --from-file");
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

/// `validate --csv` fails: the auto-fix offer runs `validate --auto-fix`,
/// which cannot repair a conflicting organization name; declining to go on
/// is the cancel path, and nothing was imported.
#[test]
fn invalid_users_csv_offers_auto_fix_then_declining_cancels() {
    let (_rt, workos, _roles, tmp) = workos_only();
    let mut p = spawn_wizard(tmp.path(), &[("WORKOS_API_URL", workos.base_url())]);
    clerk_export(
        &mut p,
        &workos.api_key(),
        &fixture("fixtures/clerk/org_mapping.csv"),
    );
    expect(&mut p, "org_name_conflict");
    answer(
        &mut p,
        "Fix what can be fixed automatically (auto-fix)?",
        ENTER,
    );
    expect(
        &mut p,
        "workos-migrate validate --csv ./migration-clerk/users.csv --auto-fix --output",
    );
    answer(&mut p, "Continue anyway?", ENTER);
    let (code, out) = finish(p);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Wizard cancelled."), "{out}");
    assert!(
        out.contains("continue from step 6 (Package Validation)"),
        "{out}"
    );
    assert!(workos.users().is_empty());
    assert!(!tmp.path().join("migration-clerk/users-fixed.csv").exists());
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

/// Custom CSV, blank package: the skeleton is written, the wizard stops
/// through the cancel path with step 4 saved; the re-run offers to continue
/// at validation, and Esc there is the cancel path too.
#[test]
fn csv_blank_package_stops_for_filling_in_and_esc_cancels_the_resume() {
    let (_rt, workos, _roles, tmp) = workos_only();
    let mut p = spawn_wizard(tmp.path(), &[("WORKOS_API_URL", workos.base_url())]);
    file_source_start(&mut p, "Custom", &workos.api_key());
    answer(&mut p, "Custom CSV", &format!("Generate{ENTER}"));
    answer(&mut p, "Package output directory", ENTER);
    expect(
        &mut p,
        "Repeat this step: workos-migrate export csv --output-dir ./migration-csv",
    );
    expect(&mut p, "then re-run the wizard to validate and import it.");
    let (code, out) = finish(p);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Wizard cancelled."), "{out}");
    assert!(out.contains("Your package is at: ./migration-csv"), "{out}");
    assert!(tmp.path().join("migration-csv/manifest.json").is_file());

    let mut p = spawn_wizard(tmp.path(), &[("WORKOS_API_URL", workos.base_url())]);
    expect(&mut p, "stopped before step 6: Package Validation.");
    answer(&mut p, "Continue from step 6 (Package Validation)?", "\x1b");
    let (code, out) = finish(p);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Wizard cancelled."), "{out}");
    assert!(
        out.contains("continue from step 6 (Package Validation)"),
        "{out}"
    );
    assert!(tmp.path().join(".workos-migrate-wizard.json").is_file());
    assert_no_secret_on_disk(tmp.path(), &[&workos.api_key()]);
}

/// A failed export (a wrong client secret): the retry line, the cancel
/// path, no directory left, and the re-run starts again at the credentials.
#[test]
fn failed_export_prints_the_retry_line_and_resumes_at_the_credentials() {
    let env = auth0_env();
    let mut p = env.spawn();
    answer(
        &mut p,
        "Which identity provider are you migrating from?",
        &format!("Auth0{ENTER}"),
    );
    env.workos_key(&mut p);
    answer(
        &mut p,
        "Auth0 domain",
        &format!("{}{ENTER}", env.auth0.url()),
    );
    answer(
        &mut p,
        "Auth0 M2M application client ID",
        &format!("{}{ENTER}", env.auth0.client_id()),
    );
    answer(
        &mut p,
        "Auth0 M2M application client secret",
        &format!("not-the-secret-42{ENTER}"),
    );
    answer(&mut p, "to .env in this directory", &format!("n{ENTER}"));
    env.export_config(&mut p, "");
    expect(&mut p, "Export failed");
    expect(&mut p, "You can retry with: AUTH0_CLIENT_SECRET=");
    let (code, out) = finish(p);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("continue from step 2 (Credentials)"), "{out}");
    assert!(!env.package_dir().exists());
    assert_no_secret_on_disk(
        env.tmp.path(),
        &["not-the-secret-42", &env.workos.api_key()],
    );

    env.resume_and_finish("2 (Credentials)", |env, p| {
        env.workos_key(p);
        answer(p, "Auth0 domain", &format!("{}{ENTER}", env.auth0.url()));
        answer(
            p,
            "Auth0 M2M application client ID",
            &format!("{}{ENTER}", env.auth0.client_id()),
        );
        answer(
            p,
            "Auth0 M2M application client secret",
            &format!("{}{ENTER}", env.auth0.client_secret()),
        );
        answer(p, "to .env in this directory", &format!("n{ENTER}"));
        env.export_config(p, "");
        answer(
            p,
            "Do you have an Auth0 password hash export (NDJSON)?",
            ENTER,
        );
        validate_and_import(p);
    });
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
