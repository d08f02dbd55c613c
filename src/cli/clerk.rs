//! clap types and thin dispatch for `export clerk` (export-and-package.md
//! §6.1, §3.3) and the deprecated `transform-clerk` (§13.3).
//!
//! `--secret-key` is accepted but the Clerk Backend API step (enterprise SSO,
//! §6.4) is not part of this build yet: a non-empty key is refused with one
//! line, exit 1. `CLERK_SECRET_KEY` in the environment is deliberately *not*
//! read (§17.24: an environment variable silently turned SSO on).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::fail as failed;
use super::legacy::{run_legacy, LegacyRun};
use super::print_counts;
use crate::sources::clerk::api::fetch_clerk_sso;
use crate::sources::clerk::{export_clerk, ClerkExportOptions, ExportSummary, ScryptParams};
use crate::sources::legacy_csv::LegacySource;
use crate::sources::sso::SsoHandoff;

/// Fetches enterprise connections through the Clerk Backend API when a
/// secret key is given. A key taken from `CLERK_SECRET_KEY` is announced on
/// stderr so SSO export is never switched on silently (§17.24).
fn clerk_sso(
    key: Option<&str>,
    base_url: &str,
    err: &mut dyn Write,
) -> Result<Option<SsoHandoff>, String> {
    let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    if std::env::var("CLERK_SECRET_KEY").is_ok_and(|v| v.trim() == key) {
        let _ = writeln!(
            err,
            "Using CLERK_SECRET_KEY from the environment to export enterprise SSO connections"
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the HTTP client: {e}"))?;
    Ok(Some(runtime.block_on(fetch_clerk_sso(
        base_url.trim_end_matches('/'),
        key,
    ))))
}

/// Firebase scrypt project parameters for `scrypt_firebase` digests.
#[derive(Debug, Clone, Default, Args)]
pub struct ScryptArgs {
    /// Firebase project base64 signer key, for scrypt_firebase digests without project parameters
    #[arg(long, value_name = "base64")]
    pub scrypt_signer_key: Option<String>,
    /// Firebase project base64 salt separator (default: empty)
    #[arg(long, value_name = "base64")]
    pub scrypt_salt_separator: Option<String>,
    /// Firebase project scrypt rounds (1-8)
    #[arg(long, value_name = "n")]
    pub scrypt_rounds: Option<u32>,
    /// Firebase project scrypt memory cost (1-14)
    #[arg(long, value_name = "n")]
    pub scrypt_memory_cost: Option<u32>,
}

impl ScryptArgs {
    pub fn params(&self) -> ScryptParams {
        ScryptParams {
            signer_key: self.scrypt_signer_key.clone(),
            salt_separator: self.scrypt_salt_separator.clone(),
            rounds: self.scrypt_rounds,
            memory_cost: self.scrypt_memory_cost,
        }
    }
}

/// `export clerk`: Export users, organizations, memberships, roles, password hashes, TOTP factors from Clerk into a WorkOS migration package
#[derive(Debug, Clone, Args)]
pub struct ExportClerkArgs {
    /// Package directory to write
    #[arg(long, value_name = "dir")]
    pub output_dir: PathBuf,
    /// Print nothing on success and show no progress bar
    #[arg(long)]
    pub quiet: bool,
    /// Clerk secret key (sk_...) to export enterprise SSO connections through the Backend API
    #[arg(
        long,
        value_name = "value",
        env = "CLERK_SECRET_KEY",
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
    /// Clerk dashboard CSV export
    #[arg(long, value_name = "path")]
    pub from_file: PathBuf,
    /// Org mapping CSV (clerk_user_id plus org_id, org_external_id and/or org_name)
    #[arg(long, value_name = "value")]
    pub org_mapping: Option<PathBuf>,
    /// Role mapping CSV (clerk_user_id or external_id, role_slug)
    #[arg(long, value_name = "value")]
    pub role_mapping: Option<PathBuf>,
    /// Source tenant recorded in the manifest
    #[arg(long, value_name = "value")]
    pub source_tenant: Option<String>,
    /// Clerk Backend API base URL
    #[arg(long, value_name = "value", default_value = "https://api.clerk.com/v1")]
    pub clerk_api_base_url: String,
    #[command(flatten)]
    pub scrypt: ScryptArgs,
}

/// `transform-clerk` (deprecated): Transform a Clerk CSV export into a WorkOS migration package
#[derive(Debug, Clone, Args)]
pub struct TransformClerkArgs {
    /// Clerk dashboard CSV export
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
    /// Source tenant recorded in the manifest
    #[arg(long, value_name = "name")]
    pub source_tenant: Option<String>,
    /// Org mapping CSV
    #[arg(long, value_name = "path")]
    pub org_mapping: Option<PathBuf>,
    /// Role mapping CSV
    #[arg(long, value_name = "path")]
    pub role_mapping: Option<PathBuf>,
    /// Clerk secret key for enterprise SSO export (package mode)
    #[arg(
        long,
        value_name = "key",
        env = "CLERK_SECRET_KEY",
        hide_env_values = true
    )]
    pub clerk_secret_key: Option<String>,
    /// Clerk Backend API base URL
    #[arg(long, value_name = "url", default_value = "https://api.clerk.com/v1")]
    pub clerk_api_base_url: String,
    #[command(flatten)]
    pub scrypt: ScryptArgs,
    /// Print nothing on success and show no progress bar
    #[arg(long)]
    pub quiet: bool,
}

fn has_key(k: &Option<String>) -> bool {
    k.as_deref().is_some_and(|k| !k.trim().is_empty())
}

fn print_summary(out: &mut dyn Write, headline: &str, s: &ExportSummary) {
    let _ = writeln!(out, "\n{headline}");
    let _ = writeln!(out, "  Package: {}", s.dir.display());
    print_counts(out, &s.manifest);
}

/// `export clerk`; returns the exit code.
pub fn run_export_clerk(args: ExportClerkArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    if !args.quiet {
        let _ = writeln!(
            out,
            "Exporting from Clerk \u{2192} {}",
            args.output_dir.display()
        );
    }
    let opts = ClerkExportOptions {
        from_file: args.from_file,
        output_dir: args.output_dir,
        org_mapping: args.org_mapping,
        role_mapping: args.role_mapping,
        source_tenant: args.source_tenant,
        scrypt: args.scrypt.params(),
        sso: None,
        quiet: args.quiet,
    };
    let key = args.secret_key.as_deref();
    export_and_report(
        opts,
        key,
        &args.clerk_api_base_url,
        "Export complete",
        "Export failed",
        out,
        err,
    )
}

/// Fetches SSO (when a key is given), exports, and prints the summary; the
/// shared tail of `export clerk` and `transform-clerk --package`.
fn export_and_report(
    mut opts: ClerkExportOptions,
    secret_key: Option<&str>,
    api_base_url: &str,
    headline: &str,
    prefix: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    opts.sso = match clerk_sso(secret_key, api_base_url, err) {
        Ok(sso) => sso,
        Err(e) => return failed(err, prefix, &e),
    };
    match export_clerk(&opts) {
        Ok(s) => {
            if !opts.quiet {
                print_summary(out, headline, &s);
            }
            let _ = out.flush();
            0
        }
        Err(e) => failed(err, prefix, &e),
    }
}

/// `transform-clerk`; returns the exit code.
pub fn run_transform_clerk(
    args: TransformClerkArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let _ = writeln!(
        err,
        "\u{26a0} 'transform-clerk' is deprecated; use 'export clerk' (removed in v4.0)"
    );
    const PREFIX: &str = "Transform failed";
    if !args.input.is_file() {
        return failed(
            err,
            PREFIX,
            &format!("Clerk CSV file not found: {}", args.input.display()),
        );
    }
    for (path, label) in [
        (&args.org_mapping, "Org mapping"),
        (&args.role_mapping, "Role mapping"),
    ] {
        if let Some(p) = path.as_ref().filter(|p| !p.is_file()) {
            return failed(
                err,
                PREFIX,
                &format!("{label} file not found: {}", p.display()),
            );
        }
    }
    if !args.package {
        if has_key(&args.clerk_secret_key) && std::env::var("CLERK_SECRET_KEY").is_err() {
            return failed(
                err,
                PREFIX,
                &"--clerk-secret-key is only supported in --package mode",
            );
        }
        let Some(output) = args.output.as_deref() else {
            return failed(err, PREFIX, &"--output is required unless --package is set");
        };
        let run = LegacyRun {
            source: LegacySource::Clerk,
            input: &args.input,
            output,
            org_mapping: args.org_mapping.as_deref(),
            role_mapping: args.role_mapping.as_deref(),
            quiet: args.quiet,
        };
        let export = |scratch: &Path| {
            let opts = ClerkExportOptions {
                from_file: args.input.clone(),
                output_dir: scratch.to_path_buf(),
                org_mapping: args.org_mapping.clone(),
                role_mapping: args.role_mapping.clone(),
                source_tenant: args.source_tenant.clone(),
                scrypt: args.scrypt.params(),
                sso: None,
                quiet: args.quiet,
            };
            export_clerk(&opts).map(drop).map_err(|e| e.to_string())
        };
        return run_legacy(run, export, out, err);
    }
    let Some(output_dir) = args.output_dir else {
        return failed(
            err,
            PREFIX,
            &"--output-dir is required when --package is set",
        );
    };
    let opts = ClerkExportOptions {
        from_file: args.input,
        output_dir,
        org_mapping: args.org_mapping,
        role_mapping: args.role_mapping,
        source_tenant: args.source_tenant,
        scrypt: args.scrypt.params(),
        sso: None,
        quiet: args.quiet,
    };
    let key = args.clerk_secret_key.as_deref();
    export_and_report(
        opts,
        key,
        &args.clerk_api_base_url,
        "Clerk package export complete",
        PREFIX,
        out,
        err,
    )
}
