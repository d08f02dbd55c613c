//! clap types and thin adapters for `export firebase` (export-and-package.md
//! §7.1, §3.3) and the deprecated `transform-firebase` (§13.4, package mode
//! only). The work is in [`crate::sources::firebase`].

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;

use clap::Args;

use crate::package::Manifest;
use crate::sources::firebase::{export_firebase, FirebaseExportOptions, NameSplit};

use super::one_line;

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
    #[arg(long, value_name = "value")]
    pub signer_key: Option<SecretArg>,
    /// Project salt separator (base64; default empty)
    #[arg(long, value_name = "value")]
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
    /// Legacy single-CSV output (not supported; use --package)
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

const SSO_UNAVAILABLE: &str = "SSO export for Firebase is not available in this build";

fn options(from_file: PathBuf, output_dir: PathBuf, m: &FirebaseMappingArgs) -> FirebaseExportOptions {
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

fn print_counts(out: &mut dyn Write, manifest: &Manifest) {
    for (k, v) in &manifest.entities_exported {
        if v.as_u64().unwrap_or(0) > 0 {
            let _ = writeln!(out, "  {k}: {v}");
        }
    }
}

fn failed(err: &mut dyn Write, prefix: &str, message: &str) -> i32 {
    let _ = writeln!(err, "{prefix}: {}", one_line(message));
    1
}

/// `export firebase`; returns the exit code.
pub fn run_export_firebase(a: ExportFirebaseArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let m = &a.mapping;
    if a.service_account_key.is_some() || m.project_id.is_some() || m.skip_tenant_sso {
        return failed(err, "Export failed", SSO_UNAVAILABLE);
    }
    if !m.quiet {
        let _ = writeln!(out, "Exporting from Firebase Auth \u{2192} {}", a.output_dir.display());
    }
    let opts = options(a.from_file.clone(), a.output_dir.clone(), m);
    match export_firebase(&opts, None) {
        Ok(done) => {
            if !m.quiet {
                let _ = writeln!(out, "\nExport complete");
                let _ = writeln!(out, "  Package: {}", done.dir.display());
                print_counts(out, &done.manifest);
            }
            0
        }
        Err(e) => failed(err, "Export failed", &e.to_string()),
    }
}

/// `transform-firebase` (deprecated alias of `export firebase` in package
/// mode); returns the exit code.
pub fn run_transform_firebase(a: TransformFirebaseArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let _ = writeln!(err, "\u{26a0} 'transform-firebase' is deprecated; use 'export firebase' (removed in v4.0)");
    let m = &a.mapping;
    if !a.package {
        if a.service_account.is_some() {
            return failed(err, "Transform failed", "--service-account is only supported in --package mode");
        }
        return failed(
            err,
            "Transform failed",
            "the legacy single-CSV mode (--output without --package) is not supported; \
             use 'export firebase --from-file <file> --output-dir <dir>' (or add --package --output-dir <dir>)",
        );
    }
    let Some(output_dir) = a.output_dir.clone() else {
        return failed(err, "Transform failed", "--output-dir is required when --package is set");
    };
    if a.service_account.is_some() || m.project_id.is_some() || m.skip_tenant_sso {
        return failed(err, "Transform failed", SSO_UNAVAILABLE);
    }
    let opts = options(a.input.clone(), output_dir, m);
    match export_firebase(&opts, None) {
        Ok(done) => {
            if !m.quiet {
                let _ = writeln!(out, "Firebase package export complete");
                let _ = writeln!(out, "  Package: {}", done.dir.display());
                print_counts(out, &done.manifest);
            }
            0
        }
        Err(e) => failed(err, "Transform failed", &e.to_string()),
    }
}
