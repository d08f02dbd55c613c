//! Shared by the wizard's pseudo-terminal tests (`tests/wizard.rs`,
//! `tests/wizard_cancel.rs`): spawning `workos-migrate wizard` on a pty
//! (rexpect), answering prompts, the fake environments, and the end-state
//! check of the fake WorkOS against a package.
//!
//! Synchronisation is only on the wizard's output (generous timeouts, no
//! sleeps). rexpect reads bytes as Latin-1 characters: expected texts are
//! ASCII.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::fakes::auth0::{FakeAuth0, FakeAuth0Config};
use crate::fakes::workos::{FakeWorkOs, FakeWorkOsConfig};
use rexpect::process::WaitStatus;
use rexpect::reader::Options;
use rexpect::session::{spawn_with_options, PtySession};
use serde_json::Value;

pub const TIMEOUT_MS: u64 = 30_000;
pub const ENTER: &str = "\r";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Variables the wizard or its commands would read from the developer's
/// environment; removed so each test sets exactly what it means.
pub const CLEARED: [&str; 14] = [
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
pub fn spawn_wizard(cwd: &Path, env: &[(&str, String)]) -> PtySession {
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
pub fn answer(p: &mut PtySession, prompt: &str, keys: &str) {
    if let Err(e) = p.exp_string(prompt) {
        panic!("waiting for {prompt:?}: {e}");
    }
    p.send(keys).expect("send");
    p.flush().expect("flush");
}

pub fn expect(p: &mut PtySession, text: &str) -> String {
    match p.exp_string(text) {
        Ok(before) => before,
        Err(e) => panic!("waiting for {text:?}: {e}"),
    }
}

/// Reads to the end and returns the exit code.
pub fn finish(mut p: PtySession) -> (i32, String) {
    let rest = p.exp_eof().unwrap_or_default();
    let code = match p.process().wait().expect("wait") {
        WaitStatus::Exited(_, c) => c,
        other => panic!("wizard did not exit normally: {other:?}"),
    };
    assert!(!rest.contains("panicked"), "{rest}");
    (code, rest)
}

/// Every (relative path, bytes) under `dir`.
pub fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
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
pub fn assert_no_secret_on_disk(dir: &Path, secrets: &[&str]) {
    for (path, bytes) in all_files(dir) {
        let text = String::from_utf8_lossy(&bytes);
        for s in secrets {
            assert!(!text.contains(s), "{} holds a typed secret", path.display());
        }
    }
}

pub fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
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

pub fn rows_if_exists(path: &Path) -> Vec<BTreeMap<String, String>> {
    if path.is_file() {
        csv_rows(path)
    } else {
        Vec::new()
    }
}

pub fn field<'a>(row: &'a BTreeMap<String, String>, k: &str) -> &'a str {
    row.get(k).map_or("", |v| v.trim())
}

/// Role slugs and how often the fake holds each.
pub fn role_counts(fake: &FakeWorkOs) -> BTreeMap<String, usize> {
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
pub fn assert_package_imported_once(
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
pub fn validate_and_import(p: &mut PtySession) {
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

pub struct Auth0Env {
    pub _rt: tokio::runtime::Runtime,
    pub workos: FakeWorkOs,
    pub roles_before: BTreeMap<String, usize>,
    pub auth0: FakeAuth0,
    pub tmp: tempfile::TempDir,
}

pub fn auth0_env() -> Auth0Env {
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
    pub fn spawn(&self) -> PtySession {
        spawn_wizard(
            self.tmp.path(),
            &[("WORKOS_API_URL", self.workos.base_url())],
        )
    }

    pub fn secrets(&self) -> Vec<String> {
        vec![self.workos.api_key(), self.auth0.client_secret()]
    }

    /// Steps 1 and 2 (typing both secrets, no .env).
    pub fn provider_and_credentials(&self, p: &mut PtySession) {
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
    pub fn export_config(&self, p: &mut PtySession, rate: &str) {
        answer(p, "Entities to export", ENTER);
        answer(p, "Auth0 API rate limit", &format!("{rate}{ENTER}"));
        answer(p, "Use user_metadata for org discovery", ENTER);
        answer(p, "Export engine", ENTER);
        answer(p, "Package output directory", ENTER);
    }
}

impl Auth0Env {
    pub fn package_dir(&self) -> PathBuf {
        self.tmp.path().join("migration-auth0")
    }

    /// After a cancel: exit 0, the message, no typed secret on disk, no
    /// package that looks complete unless `package_complete`.
    pub fn assert_cancelled(&self, p: PtySession, package_complete: bool) {
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
    pub fn resume_and_finish(&self, step: &str, rest: impl FnOnce(&Self, &mut PtySession)) {
        let mut p = self.spawn();
        answer(&mut p, &format!("Continue from step {step}?"), ENTER);
        rest(self, &mut p);
        let (code, out) = finish(p);
        assert_eq!(code, 0, "{out}");
        assert_package_imported_once(&self.workos, &self.package_dir(), &self.roles_before);
        assert!(!self.tmp.path().join(".workos-migrate-wizard.json").exists());
    }

    pub fn workos_key(&self, p: &mut PtySession) {
        answer(
            p,
            "Enter your WorkOS Secret Key",
            &format!("{}{ENTER}", self.workos.api_key()),
        );
    }
}

/// A fake WorkOS for the file-based sources, with its roles before the run.
pub fn workos_only() -> (
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

pub fn fixture(rel: &str) -> String {
    root().join(rel).to_string_lossy().into_owned()
}

/// Steps 1-2 for a file-based source: the provider and the typed WorkOS key.
pub fn file_source_start(p: &mut PtySession, filter: &str, key: &str) {
    answer(
        p,
        "Which identity provider are you migrating from?",
        &format!("{filter}{ENTER}"),
    );
    answer(p, "Enter your WorkOS Secret Key", &format!("{key}{ENTER}"));
    answer(p, "to .env in this directory", &format!("n{ENTER}"));
}

/// Steps 1-4 for Clerk with the fixture's role mapping and `org_mapping`.
pub fn clerk_export(p: &mut PtySession, key: &str, org_mapping: &str) {
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
