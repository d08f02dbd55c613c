//! Each step as a real command line of this binary: the arguments, the
//! secrets it gets through its environment (never through argv), and the
//! line printed so the user can repeat the step without the wizard
//! (`WORKOS_SECRET_KEY=… workos-migrate import-package ./migration-auth0`).

use std::path::{Path, PathBuf};

use super::answers::{
    Auth0Answers, ClerkAnswers, CognitoAnswers, FirebaseAnswers, ImportAnswers, Secrets,
};

/// The program name shown in printed command lines.
pub const PROGRAM: &str = "workos-migrate";

/// A secret missing when its step's command is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is needed for this step")]
pub struct MissingSecret(pub &'static str);

/// One command line of this binary.
#[derive(Clone, PartialEq, Eq)]
pub struct StepCommand {
    pub args: Vec<String>,
    /// `(variable, value)` set in the child's environment only.
    pub secret_env: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for StepCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

impl StepCommand {
    fn new(args: &[&str]) -> Self {
        Self {
            args: args.iter().map(|a| a.to_string()).collect(),
            secret_env: Vec::new(),
        }
    }

    fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    fn path(self, p: &Path) -> Self {
        self.arg(p.to_string_lossy().into_owned())
    }

    fn opt(self, flag: &str, value: impl Into<String>) -> Self {
        self.arg(flag).arg(value)
    }

    fn opt_path(self, flag: &str, p: &Path) -> Self {
        self.arg(flag).path(p)
    }

    fn flag_if(self, on: bool, flag: &str) -> Self {
        if on {
            self.arg(flag)
        } else {
            self
        }
    }

    fn opt_path_if(self, flag: &str, p: &Option<PathBuf>) -> Self {
        match p {
            Some(p) => self.opt_path(flag, p),
            None => self,
        }
    }

    fn secret(mut self, var: &'static str, value: Option<&String>) -> Result<Self, MissingSecret> {
        let v = value.ok_or(MissingSecret(var))?;
        self.secret_env.push((var, v.clone()));
        Ok(self)
    }

    /// The line to repeat the step: secrets shown as `VAR=…`.
    pub fn display(&self) -> String {
        let mut parts: Vec<String> = self
            .secret_env
            .iter()
            .map(|(k, _)| format!("{k}=\u{2026}"))
            .collect();
        parts.push(PROGRAM.to_string());
        parts.extend(self.args.iter().map(|a| shell_quote(a)));
        parts.join(" ")
    }
}

/// Quotes `s` for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./,:=@+%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `export auth0`.
pub fn export_auth0(
    a: &Auth0Answers,
    dir: &Path,
    secrets: &Secrets,
) -> Result<StepCommand, MissingSecret> {
    let mut c = StepCommand::new(&["export", "auth0"])
        .opt("--domain", &a.domain)
        .opt("--client-id", &a.client_id)
        .opt_path("--output-dir", dir)
        .opt("--entities", a.entities.join(","));
    if !a.sso_only() {
        c = c
            .opt("--rate-limit", a.rate_limit.to_string())
            .opt("--engine", &a.engine)
            .flag_if(a.use_metadata, "--use-metadata");
    }
    secret_or_env(
        c,
        "AUTH0_CLIENT_SECRET",
        secrets.auth0_client_secret.as_ref(),
    )
}

/// `export cognito` (AWS credentials from the default chain).
pub fn export_cognito(a: &CognitoAnswers, dir: &Path) -> StepCommand {
    StepCommand::new(&["export", "cognito"])
        .opt("--region", &a.region)
        .opt("--user-pool-ids", &a.pool_ids)
        .opt_path("--output-dir", dir)
        .opt("--entities", a.entities.join(","))
}

/// `export clerk`.
pub fn export_clerk(a: &ClerkAnswers, dir: &Path) -> StepCommand {
    StepCommand::new(&["export", "clerk"])
        .opt_path("--from-file", &a.from_file)
        .opt_path("--output-dir", dir)
        .opt_path_if("--org-mapping", &a.org_mapping)
        .opt_path_if("--role-mapping", &a.role_mapping)
}

/// `export firebase`; the signer key and salt separator go through the
/// environment.
pub fn export_firebase(
    a: &FirebaseAnswers,
    dir: &Path,
    secrets: &Secrets,
) -> Result<StepCommand, MissingSecret> {
    let mut c = StepCommand::new(&["export", "firebase"])
        .opt_path("--from-file", &a.from_file)
        .opt_path("--output-dir", dir)
        .opt("--name-split", &a.name_split)
        .flag_if(a.include_disabled, "--include-disabled")
        .opt_path_if("--org-mapping", &a.org_mapping)
        .opt_path_if("--role-mapping", &a.role_mapping);
    if a.scrypt {
        c = c
            .opt("--rounds", a.rounds.to_string())
            .opt("--memory-cost", a.memory_cost.to_string())
            .secret(
                "FIREBASE_SCRYPT_SIGNER_KEY",
                secrets.firebase_signer_key.as_ref(),
            )?;
        if let Some(sep) = secrets.firebase_salt_separator.as_ref() {
            c = c.secret("FIREBASE_SCRYPT_SALT_SEPARATOR", Some(sep))?;
        }
    } else {
        c = c.arg("--skip-passwords");
    }
    Ok(c)
}

/// `export csv`: a blank package to fill in.
pub fn export_csv(dir: &Path) -> StepCommand {
    StepCommand::new(&["export", "csv"]).opt_path("--output-dir", dir)
}

/// `merge-passwords --package`.
pub fn merge_passwords(passwords: &Path, dir: &Path) -> StepCommand {
    StepCommand::new(&["merge-passwords"])
        .opt_path("--passwords", passwords)
        .opt_path("--package", dir)
}

/// `validate-package`.
pub fn validate_package(dir: &Path) -> StepCommand {
    StepCommand::new(&["validate-package"]).path(dir)
}

/// `validate --csv`, with `--auto-fix --output` when `fixed` is given.
pub fn validate_csv(csv: &Path, fixed: Option<&Path>) -> StepCommand {
    let c = StepCommand::new(&["validate"]).opt_path("--csv", csv);
    match fixed {
        Some(out) => c.arg("--auto-fix").opt_path("--output", out),
        None => c,
    }
}

/// `import-package --plan`.
pub fn import_plan(dir: &Path) -> StepCommand {
    StepCommand::new(&["import-package"])
        .path(dir)
        .arg("--plan")
}

/// `import-package` (dry run: no key needed).
pub fn import_package(
    dir: &Path,
    a: &ImportAnswers,
    dry_run: bool,
    secrets: &Secrets,
) -> Result<StepCommand, MissingSecret> {
    let c = StepCommand::new(&["import-package"])
        .path(dir)
        .opt("--concurrency", a.concurrency.to_string())
        .opt("--rate-limit", a.rate_limit.to_string());
    if dry_run {
        Ok(c.arg("--dry-run"))
    } else {
        with_workos_key(c, secrets)
    }
}

/// `enroll-totp`.
pub fn enroll_totp(
    input: &Path,
    issuer: Option<&str>,
    secrets: &Secrets,
) -> Result<StepCommand, MissingSecret> {
    let mut c = StepCommand::new(&["enroll-totp"])
        .opt_path("--input", input)
        .opt("--errors", "totp-errors.jsonl");
    if let Some(i) = issuer {
        c = c.opt("--totp-issuer", i);
    }
    with_workos_key(c, secrets)
}

/// `process-role-definitions`.
pub fn process_roles(
    definitions: &Path,
    mapping: &Option<PathBuf>,
    org_id: Option<&str>,
    secrets: &Secrets,
) -> Result<StepCommand, MissingSecret> {
    let mut c = StepCommand::new(&["process-role-definitions"])
        .opt_path("--definitions", definitions)
        .opt_path_if("--user-mapping", mapping);
    if let Some(o) = org_id {
        c = c.opt("--org-id", o);
    }
    with_workos_key(c, secrets)
}

/// Passes the WorkOS key typed in this run; a key from the environment is
/// inherited by the child.
fn with_workos_key(c: StepCommand, secrets: &Secrets) -> Result<StepCommand, MissingSecret> {
    secret_or_env(c, "WORKOS_SECRET_KEY", secrets.workos_key.as_ref())
}

/// `value` into the child's environment as `var`; without a value, `var`
/// must already be set here (the child inherits it).
fn secret_or_env(
    c: StepCommand,
    var: &'static str,
    value: Option<&String>,
) -> Result<StepCommand, MissingSecret> {
    match value {
        Some(v) => c.secret(var, Some(v)),
        None if env_set(var) => Ok(c),
        None => Err(MissingSecret(var)),
    }
}

/// `var` is set (and not blank) in this process.
pub fn env_set(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_in_args_or_display() {
        let secrets = Secrets {
            auth0_client_secret: Some("shh-auth0".into()),
            workos_key: Some("sk_test_shh".into()),
            ..Secrets::default()
        };
        let a = Auth0Answers {
            domain: "http://127.0.0.1:1".into(),
            client_id: "cid".into(),
            entities: vec!["users".into(), "organizations".into()],
            rate_limit: 50,
            use_metadata: false,
            engine: "management-api".into(),
        };
        let c = export_auth0(&a, Path::new("./my dir"), &secrets).unwrap();
        let shown = c.display();
        assert_eq!(
            shown,
            "AUTH0_CLIENT_SECRET=\u{2026} workos-migrate export auth0 --domain http://127.0.0.1:1 \
             --client-id cid --output-dir './my dir' --entities users,organizations \
             --rate-limit 50 --engine management-api"
        );
        assert!(!c.args.iter().any(|x| x.contains("shh")));
        let i = ImportAnswers {
            concurrency: 10,
            rate_limit: 50,
            dry_run_first: true,
        };
        let c = import_package(Path::new("p"), &i, false, &secrets).unwrap();
        assert!(c
            .display()
            .starts_with("WORKOS_SECRET_KEY=\u{2026} workos-migrate import-package p"));
        assert_eq!(
            c.secret_env,
            vec![("WORKOS_SECRET_KEY", "sk_test_shh".to_string())]
        );
        let e = export_auth0(&a, Path::new("d"), &Secrets::default()).unwrap_err();
        assert_eq!(e, MissingSecret("AUTH0_CLIENT_SECRET"));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a/b-c.csv"), "a/b-c.csv");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
