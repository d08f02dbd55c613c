//! Steps 1–5 of the wizard: provider, credentials, export configuration,
//! the export itself, and (Auth0) the password-hash merge.

use std::fs;

use super::answers::{
    Answers, Auth0Answers, ClerkAnswers, CognitoAnswers, CsvMode, FirebaseAnswers, Source,
    EXPORT_ENTITIES,
};
use super::commands::{self, StepCommand};
use super::env_file::write_env_file;
use super::prompts;
use super::runner::RunOutcome;
use super::steps::Step;
use super::{StepResult, Wizard, WizardError};

fn env_default(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

impl Wizard<'_> {
    /// Step 1.
    pub(super) fn select_provider(&mut self) -> StepResult {
        let source = prompts::select(
            "Which identity provider are you migrating from?",
            &Source::ALL,
            0,
        )?;
        self.say(&format!("  Selected: {}", source.name()));
        self.state.answers = Answers {
            source: Some(source),
            ..Answers::default()
        };
        Ok(())
    }

    /// Step 2: the WorkOS key and the source's credentials.
    pub(super) fn credentials(&mut self) -> StepResult {
        self.ensure_workos_key()?;
        match self.state.answers.source {
            Some(Source::Auth0) => {
                let domain = prompts::required_text(
                    "Auth0 domain (e.g. my-tenant.us.auth0.com)",
                    env_default("AUTH0_DOMAIN").as_deref(),
                )?;
                let client_id = prompts::required_text(
                    "Auth0 M2M application client ID",
                    env_default("AUTH0_CLIENT_ID").as_deref(),
                )?;
                self.ensure_auth0_secret()?;
                self.state.answers.auth0 = Some(Auth0Answers {
                    domain,
                    client_id,
                    ..Auth0Answers::default()
                });
            }
            Some(Source::Cognito) => {
                let region =
                    prompts::required_text("AWS region", env_default("AWS_REGION").as_deref())?;
                let pool_ids = prompts::required_text(
                    "Cognito user pool IDs (comma-separated)",
                    env_default("COGNITO_USER_POOL_IDS").as_deref(),
                )?;
                self.say("  AWS credentials come from the default chain (environment variables, ~/.aws, SSO, instance role).");
                self.state.answers.cognito = Some(CognitoAnswers {
                    region,
                    pool_ids,
                    entities: Vec::new(),
                });
            }
            _ => {}
        }
        self.offer_env_file()
    }

    /// The Auth0 client secret: from the environment, typed earlier, or asked now.
    fn ensure_auth0_secret(&mut self) -> StepResult {
        if self.secrets.auth0_client_secret.is_some() {
            return Ok(());
        }
        if commands::env_set("AUTH0_CLIENT_SECRET") {
            self.say("  Auth0 client secret found in environment.");
            return Ok(());
        }
        let s = prompts::password("Auth0 M2M application client secret", |s| {
            s.trim().is_empty().then_some("Required")
        })?;
        self.secrets.auth0_client_secret = Some(s.trim().to_string());
        Ok(())
    }

    /// Firebase scrypt parameters (secrets) for a resumed export.
    fn ensure_firebase_secrets(&mut self) -> StepResult {
        let wants = self
            .state
            .answers
            .firebase
            .as_ref()
            .is_some_and(|f| f.scrypt);
        if !wants
            || self.secrets.firebase_signer_key.is_some()
            || commands::env_set("FIREBASE_SCRYPT_SIGNER_KEY")
        {
            return Ok(());
        }
        let key = prompts::password("Firebase project signer key (base64)", |s| {
            s.trim().is_empty().then_some("Required")
        })?;
        self.secrets.firebase_signer_key = Some(key.trim().to_string());
        let sep = prompts::password("Salt separator (base64; empty for none)", |_| None)?;
        if !sep.trim().is_empty() {
            self.secrets.firebase_salt_separator = Some(sep.trim().to_string());
        }
        Ok(())
    }

    /// Offers to keep the secrets typed so far in `./.env` (mode 0600).
    fn offer_env_file(&mut self) -> StepResult {
        let typed = self.secrets.typed();
        if typed.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = typed.iter().map(|(k, _)| *k).collect();
        let question = format!(
            "Save {} to .env in this directory (mode 0600) for later runs?",
            names.join(" and ")
        );
        if prompts::confirm(&question, false)? {
            let path = std::path::Path::new(".env");
            write_env_file(path, &typed).map_err(|source| WizardError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            self.say("  Saved to .env (keep it out of version control).");
        }
        Ok(())
    }

    /// Step 3.
    pub(super) fn export_config(&mut self) -> StepResult {
        let Some(source) = self.state.answers.source else {
            return Err(WizardError::Terminal("no provider selected".into()));
        };
        match source {
            Source::Auth0 => {
                let entities = prompts::multiselect("Entities to export", &EXPORT_ENTITIES)?;
                let mut a = self.state.answers.auth0.clone().unwrap_or_default();
                a.entities = entities;
                a.rate_limit = 50;
                a.engine = "management-api".into();
                if a.sso_only() {
                    self.say("  SSO-only export: connections are handed off, nothing is imported.");
                } else {
                    a.rate_limit =
                        prompts::number("Auth0 API rate limit (requests/sec)", 50, 1, 100)?;
                    a.use_metadata = prompts::confirm(
                        "Use user_metadata for org discovery (instead of Auth0 Organizations)?",
                        false,
                    )?;
                    a.engine = prompts::select(
                        "Export engine",
                        &[
                            ("management-api", "management-api (default)"),
                            ("bulk-job", "bulk-job (Auth0 export job, for large tenants)"),
                        ],
                        0,
                    )?
                    .to_string();
                }
                self.state.answers.auth0 = Some(a);
            }
            Source::Cognito => {
                let entities = prompts::multiselect("Entities to export", &EXPORT_ENTITIES)?;
                if let Some(c) = self.state.answers.cognito.as_mut() {
                    c.entities = entities;
                }
            }
            Source::Clerk => {
                let from_file = prompts::existing_file("Path to the Clerk export CSV")?;
                let org_mapping = prompts::optional_file(
                    "Org mapping CSV (clerk_user_id,org_external_id,org_name)",
                )?;
                let role_mapping =
                    prompts::optional_file("Role mapping CSV (clerk_user_id,role_slug)")?;
                self.state.answers.clerk = Some(ClerkAnswers {
                    from_file,
                    org_mapping,
                    role_mapping,
                });
            }
            Source::Firebase => self.firebase_config()?,
            Source::Csv => {
                let mode = prompts::select(
                    "Custom CSV",
                    &[
                        (
                            CsvMode::ExistingPackage,
                            "I have a filled-in migration package",
                        ),
                        (
                            CsvMode::BlankPackage,
                            "Generate a blank migration package to fill in",
                        ),
                    ],
                    0,
                )?;
                self.state.answers.csv_mode = Some(mode);
                if mode == CsvMode::ExistingPackage {
                    let dir =
                        prompts::existing_package_dir("Path to the migration package directory")?;
                    self.state.answers.output_dir = Some(dir);
                    return Ok(());
                }
            }
        }
        let dir =
            prompts::new_package_dir("Package output directory", source.default_output_dir())?;
        self.state.answers.output_dir = Some(dir);
        Ok(())
    }

    fn firebase_config(&mut self) -> StepResult {
        let from_file =
            prompts::existing_file("Path to the Firebase Auth JSON export (users.json)")?;
        let name_split = prompts::select(
            "How should displayName be split into first and last name?",
            &[
                ("first-space", "first-space"),
                ("last-space", "last-space"),
                ("first-name-only", "first-name-only"),
            ],
            0,
        )?
        .to_string();
        let mut f = FirebaseAnswers {
            from_file,
            name_split,
            rounds: 8,
            memory_cost: 14,
            ..FirebaseAnswers::default()
        };
        f.scrypt = prompts::confirm(
            "Do you have the project's scrypt password hash parameters?",
            false,
        )?;
        if f.scrypt {
            self.secrets.firebase_signer_key = None;
            self.secrets.firebase_salt_separator = None;
            self.state.answers.firebase = Some(f.clone());
            self.ensure_firebase_secrets()?;
            f.rounds = prompts::number("Rounds", 8, 1, 8)?;
            f.memory_cost = prompts::number("Memory cost", 14, 1, 14)?;
        }
        f.include_disabled = prompts::confirm("Include disabled users?", false)?;
        f.org_mapping =
            prompts::optional_file("Org mapping CSV (firebase_uid,org_external_id,org_name)")?;
        f.role_mapping = prompts::optional_file("Role mapping CSV (firebase_uid,role_slug)")?;
        self.state.answers.firebase = Some(f);
        Ok(())
    }

    /// The export command for the answers so far.
    fn export_command(&self) -> Result<Option<StepCommand>, WizardError> {
        let a = &self.state.answers;
        let dir = self.package_dir()?;
        let missing = || WizardError::Terminal("export settings missing".into());
        Ok(Some(match a.source.ok_or_else(missing)? {
            Source::Auth0 => {
                commands::export_auth0(a.auth0.as_ref().ok_or_else(missing)?, &dir, &self.secrets)?
            }
            Source::Cognito => {
                commands::export_cognito(a.cognito.as_ref().ok_or_else(missing)?, &dir)
            }
            Source::Clerk => commands::export_clerk(a.clerk.as_ref().ok_or_else(missing)?, &dir),
            Source::Firebase => commands::export_firebase(
                a.firebase.as_ref().ok_or_else(missing)?,
                &dir,
                &self.secrets,
            )?,
            Source::Csv => match a.csv_mode {
                Some(CsvMode::BlankPackage) => commands::export_csv(&dir),
                _ => return Ok(None),
            },
        }))
    }

    /// Step 4. An unfinished earlier export is cleared first; an interrupted
    /// one is removed at once (it has no manifest, but nothing of it is kept).
    pub(super) fn export(&mut self) -> StepResult {
        if self.state.answers.source == Some(Source::Auth0) {
            self.ensure_auth0_secret()?;
        }
        self.ensure_firebase_secrets()?;
        let Some(cmd) = self.export_command()? else {
            self.say("  Using existing package \u{2014} skipping export step.");
            return Ok(());
        };
        let dir = self.package_dir()?;
        if self.state.export_started && dir.exists() {
            self.say(&format!(
                "  Clearing the unfinished export in {}",
                dir.display()
            ));
            fs::remove_dir_all(&dir).map_err(|source| WizardError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        self.state.export_started = true;
        self.save()?;
        match self.runner.run(&cmd, self.out)? {
            RunOutcome::Success => {}
            RunOutcome::Interrupted => {
                let _ = fs::remove_dir_all(&dir);
                return Err(WizardError::Cancelled);
            }
            RunOutcome::Failed(_) => {
                // Most often a credential or setting is wrong: the re-run
                // asks from step 2 again, into a clean directory.
                let _ = fs::remove_dir_all(&dir);
                self.state.export_started = false;
                self.state.last_finished = Step::Provider.number();
                self.save()?;
                self.say(&format!("\n  You can retry with: {}", cmd.display()));
                return Err(WizardError::StepFailed);
            }
        }
        self.state.export_started = false;
        if self.blank_csv_package() {
            self.state.last_finished = Step::Export.number();
            self.save()?;
            self.say(&format!(
                "\n  Fill in the package in {} (keep the header rows; set the counts in manifest.json entitiesExported),",
                dir.display()
            ));
            self.say("  then re-run the wizard to validate and import it.");
            return Err(WizardError::Cancelled);
        }
        Ok(())
    }

    /// Step 5 (Auth0 with users): merge a password-hash export into the package.
    pub(super) fn password_merge(&mut self) -> StepResult {
        if !prompts::confirm("Do you have an Auth0 password hash export (NDJSON)?", false)? {
            self.say("  Skipping password hash merge.");
            return Ok(());
        }
        let passwords = prompts::existing_file("Path to the password hash export (NDJSON)")?;
        let cmd = commands::merge_passwords(&passwords, &self.package_dir()?);
        match self.runner.run(&cmd, self.out)? {
            RunOutcome::Success => self.state.answers.passwords_merged = true,
            RunOutcome::Interrupted => return Err(WizardError::Cancelled),
            RunOutcome::Failed(_) => self.say("  Continuing without passwords."),
        }
        Ok(())
    }
}
