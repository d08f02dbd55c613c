//! clap types and thin adapters for `export firebase` (export-and-package.md
//! §7.1, §3.3) and the deprecated `transform-firebase` (§13.4, package mode
//! only). The work is in [`crate::sources::firebase`].
//!
//! Order: every local check ([`prepare_export`]: options, input file,
//! mapping CSVs), then the Identity Platform SSO fetch when a service account
//! key is given, then the package is written. `GOOGLE_APPLICATION_CREDENTIALS`
//! still turns SSO on (as in the original) but is announced on stderr
//! (§17.24); the project id is `--project-id`, else `GOOGLE_CLOUD_PROJECT`,
//! else `GCLOUD_PROJECT`, else the key file's.

use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::Args;

use crate::sources::firebase::identity_platform::{fetch_firebase_sso, FirebaseSsoOptions};
use crate::sources::firebase::{prepare_export, FirebaseExport, FirebaseExportOptions, NameSplit};
use crate::sources::legacy_csv::LegacySource;
use crate::sources::sso::SsoHandoff;

use super::legacy::{run_legacy, LegacyRun};
use super::print_counts;

/// A secret option value (signer key, salt separator): `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretArg(pub String);

impl fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretArg([redacted])")
    }
}

impl FromStr for SecretArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_string()))
    }
}

/// Options shared by both commands.
#[derive(Debug, Args)]
pub struct FirebaseMappingArgs {
    /// How to split displayName into first and last name
    #[arg(long, value_enum, value_name = "value", default_value_t = NameSplit::FirstSpace)]
    pub name_split: NameSplit,
    /// Export disabled users too (metadata gets "disabled": true)
    #[arg(long)]
    pub include_disabled: bool,
    /// Do not export password hashes
    #[arg(long)]
    pub skip_passwords: bool,
    /// Project signer key (base64) from the Firebase console; enables password hashes
    #[arg(
        long,
        value_name = "value",
        env = "FIREBASE_SCRYPT_SIGNER_KEY",
        hide_env_values = true
    )]
    pub signer_key: Option<SecretArg>,
    /// Project salt separator (base64; default empty)
    #[arg(
        long,
        value_name = "value",
        env = "FIREBASE_SCRYPT_SALT_SEPARATOR",
        hide_env_values = true
    )]
    pub salt_separator: Option<SecretArg>,
    /// Project scrypt rounds (1-8)
    #[arg(long, value_name = "value", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub rounds: u32,
    /// Project scrypt memory cost (1-14)
    #[arg(long, value_name = "value", default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=14))]
    pub memory_cost: u32,
    /// CSV mapping firebase_uid to org_id / org_external_id / org_name
    #[arg(long, value_name = "value")]
    pub org_mapping: Option<PathBuf>,
    /// CSV mapping firebase_uid (or external_id) to role_slug
    #[arg(long, value_name = "value")]
    pub role_mapping: Option<PathBuf>,
    /// Source tenant recorded in the manifest
    #[arg(long, value_name = "value")]
    pub source_tenant: Option<String>,
    /// Fetch only project-level SSO configs, not per-tenant ones
    #[arg(long)]
    pub skip_tenant_sso: bool,
    /// GCP project id for Identity Platform SSO configs
    #[arg(long, value_name = "value")]
    pub project_id: Option<String>,
    /// Write OIDC client secrets into sso/oidc_connections.csv (only where the package can be stored safely)
    #[arg(long)]
    pub include_secrets: bool,
    /// Identity Platform admin API base URL (for testing against a local server)
    #[arg(
        long,
        value_name = "url",
        hide = true,
        default_value = "https://identitytoolkit.googleapis.com"
    )]
    pub identity_platform_url: String,
    /// Print nothing on success
    #[arg(long)]
    pub quiet: bool,
}

/// `export firebase`.
#[derive(Debug, Args)]
pub struct ExportFirebaseArgs {
    /// Package directory to write
    #[arg(long, value_name = "dir")]
    pub output_dir: PathBuf,
    /// Firebase Auth JSON export (`firebase auth:export users.json`)
    #[arg(long, value_name = "path")]
    pub from_file: PathBuf,
    /// Service account key JSON for Identity Platform SSO configs
    #[arg(long, value_name = "value")]
    pub service_account_key: Option<PathBuf>,
    #[command(flatten)]
    pub mapping: FirebaseMappingArgs,
}

/// `transform-firebase` (deprecated).
#[derive(Debug, Args)]
pub struct TransformFirebaseArgs {
    /// Firebase Auth JSON export
    #[arg(long, value_name = "path")]
    pub input: PathBuf,
    /// Single import CSV to write (without --package); skipped users go to ‹output›-skipped.jsonl
    #[arg(long, value_name = "path")]
    pub output: Option<PathBuf>,
    /// Write a migration package
    #[arg(long)]
    pub package: bool,
    /// Package directory (with --package)
    #[arg(long, value_name = "dir")]
    pub output_dir: Option<PathBuf>,
    /// Service account key JSON for Identity Platform SSO configs
    #[arg(long, value_name = "path")]
    pub service_account: Option<PathBuf>,
    #[command(flatten)]
    pub mapping: FirebaseMappingArgs,
}

fn non_empty_env(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// Fetches Identity Platform SSO configs when a service account key is given
/// (flag, else `GOOGLE_APPLICATION_CREDENTIALS`, announced).
fn firebase_sso(
    key_flag: Option<&Path>,
    key_flag_name: &str,
    m: &FirebaseMappingArgs,
    err: &mut dyn Write,
) -> Result<Option<SsoHandoff>, String> {
    let key = match (key_flag, non_empty_env("GOOGLE_APPLICATION_CREDENTIALS")) {
        (Some(k), _) => k.to_path_buf(),
        (None, Some(k)) => {
            let k = PathBuf::from(k);
            let _ = writeln!(
                err,
                "Using GOOGLE_APPLICATION_CREDENTIALS ({}) to export Identity Platform SSO configs",
                k.display()
            );
            k
        }
        (None, None) if m.project_id.is_some() || m.skip_tenant_sso => {
            return Err(format!(
                "--project-id and --skip-tenant-sso need {key_flag_name} <key.json> (or GOOGLE_APPLICATION_CREDENTIALS) to export Identity Platform SSO configs"
            ));
        }
        (None, None) => return Ok(None),
    };
    let project = m
        .project_id
        .clone()
        .or_else(|| non_empty_env("GOOGLE_CLOUD_PROJECT").map(|v| v.to_string_lossy().into_owned()))
        .or_else(|| non_empty_env("GCLOUD_PROJECT").map(|v| v.to_string_lossy().into_owned()))
        .filter(|p| !p.trim().is_empty());
    let mut o = FirebaseSsoOptions::new(key, project);
    o.skip_tenant_sso = m.skip_tenant_sso;
    o.include_secrets = m.include_secrets;
    o.api_base_url = m.identity_platform_url.trim_end_matches('/').to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the HTTP client: {e}"))?;
    runtime
        .block_on(fetch_firebase_sso(&o))
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Local checks, SSO fetch, package.
fn run(
    opts: &FirebaseExportOptions,
    key_flag: Option<&Path>,
    key_flag_name: &str,
    m: &FirebaseMappingArgs,
    err: &mut dyn Write,
) -> Result<FirebaseExport, String> {
    let prepared = prepare_export(opts).map_err(|e| e.to_string())?;
    let sso = firebase_sso(key_flag, key_flag_name, m, err)?;
    prepared.run(sso).map_err(|e| e.to_string())
}

fn options(
    from_file: PathBuf,
    output_dir: PathBuf,
    m: &FirebaseMappingArgs,
) -> FirebaseExportOptions {
    FirebaseExportOptions {
        from_file,
        output_dir,
        name_split: m.name_split,
        include_disabled: m.include_disabled,
        skip_passwords: m.skip_passwords,
        signer_key: m.signer_key.as_ref().map(|s| s.0.clone()),
        salt_separator: m.salt_separator.as_ref().map(|s| s.0.clone()),
        rounds: m.rounds,
        memory_cost: m.memory_cost,
        org_mapping: m.org_mapping.clone(),
        role_mapping: m.role_mapping.clone(),
        source_tenant: m.source_tenant.clone(),
        progress: !m.quiet,
    }
}

fn failed(err: &mut dyn Write, prefix: &str, message: &str) -> i32 {
    super::fail(err, prefix, &message)
}

/// `export firebase`; returns the exit code.
pub fn run_export_firebase(a: ExportFirebaseArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let m = &a.mapping;
    if !m.quiet {
        let _ = writeln!(
            out,
            "Exporting from Firebase Auth \u{2192} {}",
            a.output_dir.display()
        );
    }
    let opts = options(a.from_file.clone(), a.output_dir.clone(), m);
    match run(
        &opts,
        a.service_account_key.as_deref(),
        "--service-account-key",
        m,
        err,
    ) {
        Ok(done) => {
            if !m.quiet {
                let _ = writeln!(out, "\nExport complete");
                let _ = writeln!(out, "  Package: {}", done.dir.display());
                print_counts(out, &done.manifest);
            }
            0
        }
        Err(e) => failed(err, "Export failed", &e),
    }
}

/// `transform-firebase` (deprecated alias of `export firebase` in package
/// mode); returns the exit code.
pub fn run_transform_firebase(
    a: TransformFirebaseArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let _ = writeln!(
        err,
        "\u{26a0} 'transform-firebase' is deprecated; use 'export firebase' (removed in v4.0)"
    );
    let m = &a.mapping;
    if !a.package {
        if a.service_account.is_some() {
            return failed(
                err,
                "Transform failed",
                "--service-account is only supported in --package mode",
            );
        }
        let Some(output) = a.output.as_deref() else {
            return failed(
                err,
                "Transform failed",
                "--output is required unless --package is set",
            );
        };
        let run = LegacyRun {
            source: LegacySource::Firebase,
            input: &a.input,
            output,
            org_mapping: m.org_mapping.as_deref(),
            role_mapping: m.role_mapping.as_deref(),
            quiet: m.quiet,
        };
        let export = |scratch: &Path| {
            let opts = options(a.input.clone(), scratch.to_path_buf(), m);
            // No SSO in this mode (the original fetched it only with --package).
            let prepared = prepare_export(&opts).map_err(|e| e.to_string())?;
            prepared.run(None).map(drop).map_err(|e| e.to_string())
        };
        return run_legacy(run, export, out, err);
    }
    let Some(output_dir) = a.output_dir.clone() else {
        return failed(
            err,
            "Transform failed",
            "--output-dir is required when --package is set",
        );
    };
    let opts = options(a.input.clone(), output_dir, m);
    match run(
        &opts,
        a.service_account.as_deref(),
        "--service-account",
        m,
        err,
    ) {
        Ok(done) => {
            if !m.quiet {
                let _ = writeln!(out, "Firebase package export complete");
                let _ = writeln!(out, "  Package: {}", done.dir.display());
                print_counts(out, &done.manifest);
            }
            0
        }
        Err(e) => failed(err, "Transform failed", &e),
    }
}
