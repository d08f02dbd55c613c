//! What the user answered: the source, its export settings, the package
//! directory and the import settings — everything a later step (or a resumed
//! run) needs, and nothing secret. Secrets live in [`Secrets`], in memory only.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The identity provider being migrated from (step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Auth0,
    Clerk,
    Firebase,
    Cognito,
    Csv,
}

impl Source {
    /// Every source in the order of the step-1 list, with its label.
    pub const ALL: [(Source, &'static str); 5] = [
        (Source::Auth0, "Auth0"),
        (Source::Clerk, "Clerk"),
        (Source::Firebase, "Firebase Auth"),
        (Source::Cognito, "AWS Cognito"),
        (Source::Csv, "Custom CSV"),
    ];

    /// The value the original prints (`auth0`, `clerk`, …).
    pub fn name(self) -> &'static str {
        match self {
            Source::Auth0 => "auth0",
            Source::Clerk => "clerk",
            Source::Firebase => "firebase",
            Source::Cognito => "cognito",
            Source::Csv => "csv",
        }
    }

    /// The default package directory of this source.
    pub fn default_output_dir(self) -> &'static str {
        match self {
            Source::Auth0 => "./migration-auth0",
            Source::Clerk => "./migration-clerk",
            Source::Firebase => "./migration-firebase",
            Source::Cognito => "./migration-cognito",
            Source::Csv => "./migration-csv",
        }
    }
}

/// The entities an Auth0 or Cognito export can write, all preselected.
pub const EXPORT_ENTITIES: [&str; 5] = ["users", "organizations", "memberships", "roles", "sso"];

/// Auth0 settings (steps 2 and 3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Auth0Answers {
    pub domain: String,
    pub client_id: String,
    pub entities: Vec<String>,
    pub rate_limit: u32,
    pub use_metadata: bool,
    pub engine: String,
}

impl Auth0Answers {
    /// Only `sso` chosen: the export is a hand-off, nothing to import.
    pub fn sso_only(&self) -> bool {
        self.entities.iter().all(|e| e == "sso")
    }
}

/// Cognito settings (steps 2 and 3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CognitoAnswers {
    pub region: String,
    pub pool_ids: String,
    pub entities: Vec<String>,
}

/// Clerk settings (step 3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClerkAnswers {
    pub from_file: PathBuf,
    pub org_mapping: Option<PathBuf>,
    pub role_mapping: Option<PathBuf>,
}

/// Firebase settings (step 3). The signer key and salt separator are
/// secrets: only whether they were given is kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FirebaseAnswers {
    pub from_file: PathBuf,
    pub name_split: String,
    pub scrypt: bool,
    pub rounds: u32,
    pub memory_cost: u32,
    pub include_disabled: bool,
    pub org_mapping: Option<PathBuf>,
    pub role_mapping: Option<PathBuf>,
}

/// Custom CSV: a package filled in by hand, or a blank one to fill in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CsvMode {
    ExistingPackage,
    BlankPackage,
}

/// Import settings (step 7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportAnswers {
    pub concurrency: u32,
    pub rate_limit: u32,
    pub dry_run_first: bool,
}

/// How the validation step ended (for the summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValidationOutcome {
    Passed,
    PassedWithWarnings,
}

/// Everything answered so far, plus the outcomes the summary reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Answers {
    pub source: Option<Source>,
    pub output_dir: Option<PathBuf>,
    pub auth0: Option<Auth0Answers>,
    pub cognito: Option<CognitoAnswers>,
    pub clerk: Option<ClerkAnswers>,
    pub firebase: Option<FirebaseAnswers>,
    pub csv_mode: Option<CsvMode>,
    pub import: Option<ImportAnswers>,
    pub validation: Option<ValidationOutcome>,
    pub auto_fixed: bool,
    pub passwords_merged: bool,
    pub dry_run_only: bool,
    pub import_row_failures: bool,
    pub totp_enrolled: bool,
    pub roles_processed: bool,
}

impl Answers {
    /// Auth0 export of SSO connections only: steps 5–9 do not apply.
    pub fn sso_only(&self) -> bool {
        self.source == Some(Source::Auth0) && self.auth0.as_ref().is_some_and(|a| a.sso_only())
    }
}

/// Secrets typed during this run. Kept in memory only: never in the state
/// file, never printed; handed to a step's command through its environment.
#[derive(Clone, Default)]
pub struct Secrets {
    pub workos_key: Option<String>,
    pub auth0_client_secret: Option<String>,
    pub firebase_signer_key: Option<String>,
    pub firebase_salt_separator: Option<String>,
}

impl Secrets {
    /// The `(variable, value)` pairs typed in this run, for a `.env`.
    pub fn typed(&self) -> Vec<(&'static str, &str)> {
        let mut v = Vec::new();
        if let Some(k) = &self.workos_key {
            v.push(("WORKOS_SECRET_KEY", k.as_str()));
        }
        if let Some(k) = &self.auth0_client_secret {
            v.push(("AUTH0_CLIENT_SECRET", k.as_str()));
        }
        if let Some(k) = &self.firebase_signer_key {
            v.push(("FIREBASE_SCRYPT_SIGNER_KEY", k.as_str()));
        }
        if let Some(k) = &self.firebase_salt_separator {
            v.push(("FIREBASE_SCRYPT_SALT_SEPARATOR", k.as_str()));
        }
        v
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}
