//! Command-line surface: clap types matching `@workos/migrations` 2.5.0
//! command and option names, and a thin dispatch into the domain modules.
//! Every command returns its process exit code; failures print one line.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub mod analyze;
pub mod auth0;
pub mod auth0_legacy;
pub mod clerk;
pub mod cognito;
pub mod cognito_legacy;
pub mod completions;
pub mod diff;
pub mod firebase;
pub mod import;
pub mod import_package;
mod legacy;
pub mod merge_passwords;
pub mod roles;
pub mod snapshot;
pub mod totp;
pub mod verify;
pub mod wizard;

use crate::package::validator::{run_validate_package, ValidateOptions};
use crate::query::{ExtraTable, OutputFormat, QueryOptions};
use crate::sources::csv::{print_next_steps, write_skeleton, SkeletonOptions};
use crate::validate::ValidateCsvOptions;

#[derive(Debug, Parser)]
#[command(
    name = "workos-migrate",
    version,
    about = "WorkOS Migration Tool \u{2014} migrate users from identity providers to WorkOS",
    propagate_version = true
)]
pub struct Cli {
    /// Log every API call (method, path, status, latency, attempt, request id) to stderr; -vv also logs each attempt as it starts. RUST_LOG works too
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Export from an identity provider into a WorkOS migration package
    #[command(subcommand)]
    Export(ExportCommand),
    /// Generate an empty migration package skeleton to populate by hand
    GeneratePackageTemplate(SkeletonArgs),
    /// [deprecated] use 'export auth0'
    ExportAuth0(auth0_legacy::ExportAuth0LegacyArgs),
    /// [deprecated] use 'export cognito'
    ExportCognito(cognito_legacy::ExportCognitoLegacyArgs),
    /// [deprecated] use 'export clerk'
    TransformClerk(clerk::TransformClerkArgs),
    /// [deprecated] use 'export firebase'
    TransformFirebase(firebase::TransformFirebaseArgs),
    /// Print or write a CSV template (users, organizations, memberships, SSO connections)
    ExportTemplate(ExportTemplateArgs),
    /// Validate a migration package directory against the package contract
    ValidatePackage(ValidatePackageArgs),
    /// Validate a WorkOS migration CSV file
    Validate(ValidateArgs),
    /// Run SQL over a migration package (DataFusion)
    Query(QueryArgs),
    /// Import users, organization memberships, and role assignments from a single CSV into WorkOS (legacy; prefer import-package for full migrations)
    Import(import::ImportArgs),
    /// Create roles and assign permissions in WorkOS
    ProcessRoleDefinitions(roles::ProcessRoleDefinitionsArgs),
    /// Enroll TOTP MFA factors for imported users
    EnrollTotp(totp::EnrollTotpArgs),
    /// Analyze import errors and generate retry plan
    Analyze(analyze::AnalyzeArgs),
    /// Merge Auth0 password hashes (NDJSON from Auth0 support) into a package or an import CSV
    MergePasswords(merge_passwords::MergePasswordsArgs),
    /// Import a migration package into WorkOS — users, organizations, memberships, roles, and TOTP factors (SSO connections are handoff-only, never auto-created)
    ImportPackage(import_package::ImportPackageArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout
    Completions(completions::CompletionsArgs),
    /// Read the WorkOS environment (users, organizations, memberships, roles) into Parquet files, resumable
    Snapshot(snapshot::SnapshotArgs),
    /// Reconcile a migration package with the WorkOS environment; write a repair package for what is missing or different
    Verify(verify::VerifyArgs),
    /// Interactive step-by-step migration wizard (export, validate, dry run, import; resumable)
    Wizard(wizard::WizardArgs),
    /// Compare two exports of the same source and write a delta package for a cut-over import (gone users are reported, never deleted)
    Diff(diff::DiffArgs),
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Generate a WorkOS migration package skeleton (users, organizations, memberships, roles, password hashes, TOTP factors, SSO connections (handoff)) to populate from CSV data
    Csv(SkeletonArgs),
    /// Export users, organizations, memberships, roles, password hashes, SSO connections (handoff) FROM Auth0 into a WorkOS migration package
    Auth0(auth0::ExportAuth0Args),
    /// Export users, organizations, memberships, roles (groups), SSO connections (handoff) FROM AWS Cognito into a WorkOS migration package
    Cognito(cognito::ExportCognitoArgs),
    /// Export users, organizations, memberships, roles, password hashes, TOTP factors, SSO connections (handoff) FROM Clerk into a WorkOS migration package
    Clerk(clerk::ExportClerkArgs),
    /// Export users, organizations, memberships, roles, password hashes, SSO connections (handoff) FROM Firebase Auth into a WorkOS migration package
    Firebase(firebase::ExportFirebaseArgs),
}

#[derive(Debug, Args)]
pub struct SkeletonArgs {
    /// Package directory to create
    #[arg(long, value_name = "dir")]
    pub output_dir: PathBuf,
    /// Provider name recorded in the manifest
    #[arg(long, value_name = "name", default_value = "csv")]
    pub provider: String,
    /// Comma-separated entities recorded as requested
    #[arg(
        long,
        value_name = "entities",
        default_value = "users,organizations,memberships"
    )]
    pub entities: String,
    /// Source tenant recorded in the manifest
    #[arg(long, value_name = "name")]
    pub source_tenant: Option<String>,
    /// Write into a non-empty directory (overwrites the canonical files only)
    #[arg(long)]
    pub force: bool,
    /// Print nothing on success
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ExportTemplateArgs {
    /// Template name (see --list)
    pub template: Option<String>,
    /// Write to this file instead of stdout
    #[arg(long, value_name = "file")]
    pub output: Option<PathBuf>,
    /// List the templates
    #[arg(long)]
    pub list: bool,
    /// Header row only
    #[arg(long)]
    pub no_examples: bool,
}

#[derive(Debug, Args)]
pub struct ValidatePackageArgs {
    /// Package directory
    pub dir: PathBuf,
    /// Skip the entitiesExported count checks
    #[arg(long)]
    pub no_counts: bool,
    /// Skip the CSV header checks
    #[arg(long)]
    pub no_headers: bool,
    /// Print nothing when the package is valid
    #[arg(long)]
    pub quiet: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// CSV file to validate
    #[arg(long, value_name = "path")]
    pub csv: PathBuf,
    /// Fix what can be fixed and write a corrected CSV
    #[arg(long)]
    pub auto_fix: bool,
    /// Where to write the fixed CSV (with --auto-fix; default: <name>-fixed.csv)
    #[arg(long, value_name = "path")]
    pub output: Option<PathBuf>,
    /// Treat warnings as errors
    #[arg(long)]
    pub strict: bool,
    /// Only show errors, not warnings
    #[arg(long)]
    pub quiet: bool,
    /// Print a JSON report (summary, every issue, every fix)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL statement
    pub sql: String,
    /// Package directory whose files become tables
    #[arg(long, value_name = "dir")]
    pub package: Option<PathBuf>,
    /// Extra table from a CSV, JSON-lines or Parquet file (repeatable)
    #[arg(long = "table", value_name = "NAME=PATH")]
    pub tables: Vec<ExtraTable>,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

/// Runs a parsed command line; returns the exit code.
pub fn dispatch(cli: Cli) -> i32 {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    // Not locked for the whole command: the progress bar's ticker thread
    // draws on stderr while the command runs, and a lock held here would
    // deadlock it (and the command, waiting on the bar) on a terminal.
    let mut err = io::stderr();
    let code = match cli.command {
        Command::Export(ExportCommand::Csv(a)) => export_csv(a, false, &mut out, &mut err),
        Command::GeneratePackageTemplate(a) => export_csv(a, true, &mut out, &mut err),
        Command::Export(ExportCommand::Auth0(a)) => auth0::run_export_auth0(a, &mut out, &mut err),
        Command::Export(ExportCommand::Clerk(a)) => clerk::run_export_clerk(a, &mut out, &mut err),
        Command::Export(ExportCommand::Cognito(a)) => {
            cognito::run_export_cognito(a, &mut out, &mut err)
        }
        Command::ExportAuth0(a) => auth0_legacy::run_export_auth0_legacy(a, &mut out, &mut err),
        Command::ExportCognito(a) => {
            cognito_legacy::run_export_cognito_legacy(a, &mut out, &mut err)
        }
        Command::TransformClerk(a) => clerk::run_transform_clerk(a, &mut out, &mut err),
        Command::Export(ExportCommand::Firebase(a)) => {
            firebase::run_export_firebase(a, &mut out, &mut err)
        }
        Command::TransformFirebase(a) => firebase::run_transform_firebase(a, &mut out, &mut err),
        Command::ExportTemplate(a) => match crate::templates::run(
            a.template.as_deref(),
            a.output.as_deref(),
            a.list,
            !a.no_examples,
            &mut out,
            &mut err,
        ) {
            Ok(code) => code,
            Err(e) => fail(&mut err, "export-template failed", &e),
        },
        Command::ValidatePackage(a) => {
            let opts = ValidateOptions {
                require_files: true,
                check_headers: !a.no_headers,
                check_counts: !a.no_counts,
            };
            run_validate_package(&a.dir, opts, a.quiet, a.json, &mut out, &mut err)
        }
        Command::Validate(a) => {
            let opts = ValidateCsvOptions {
                csv: a.csv,
                auto_fix: a.auto_fix,
                output: a.output,
                strict: a.strict,
                quiet: a.quiet,
                json: a.json,
            };
            match crate::validate::run(&opts, &mut out, &mut err) {
                Ok(code) => code,
                Err(e) => fail(&mut err, "Validation failed", &e),
            }
        }
        Command::Analyze(a) => analyze::run_analyze(a, &mut out, &mut err),
        Command::MergePasswords(a) => merge_passwords::run_merge_passwords(a, &mut out, &mut err),
        Command::ImportPackage(a) => import_package::run_import_package(a, &mut out, &mut err),
        Command::Snapshot(a) => snapshot::run_snapshot_command(a, &mut out, &mut err),
        Command::Verify(a) => verify::run_verify_command(a, &mut out, &mut err),
        Command::Diff(a) => diff::run_diff_command(a, &mut out, &mut err),
        Command::ProcessRoleDefinitions(a) => {
            roles::run_process_role_definitions(a, &mut out, &mut err)
        }
        Command::EnrollTotp(a) => totp::run_enroll_totp(a, &mut out, &mut err),
        Command::Import(a) => import::run_import_command(a, &mut out, &mut err),
        Command::Completions(a) => completions::run_completions(a, &mut out, &mut err),
        Command::Wizard(a) => wizard::run_wizard(a, &mut out, &mut err),
        Command::Query(a) => {
            let opts = QueryOptions {
                sql: a.sql,
                package: a.package,
                tables: a.tables,
                format: a.format,
            };
            match crate::query::run(&opts, &mut out, &mut err) {
                Ok(()) => 0,
                Err(e) => {
                    let _ = writeln!(err, "Query failed: {}", one_line(&e.to_string()));
                    e.exit_code()
                }
            }
        }
    };
    let _ = out.flush();
    code
}

fn export_csv(a: SkeletonArgs, legacy_name: bool, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = SkeletonOptions {
        output_dir: a.output_dir,
        provider: a.provider,
        entities: a.entities,
        source_tenant: a.source_tenant,
        force: a.force,
    };
    if !a.quiet && !legacy_name {
        let _ = writeln!(
            out,
            "Exporting from Generic CSV \u{2192} {}",
            opts.output_dir.display()
        );
    }
    match write_skeleton(&opts) {
        Ok((dir, manifest)) => {
            if !a.quiet {
                let _ = if legacy_name {
                    print_next_steps(&dir, out)
                } else {
                    writeln!(out, "\nExport complete")
                        .and_then(|()| writeln!(out, "  Package: {}", dir.display()))
                };
                if !legacy_name {
                    print_counts(out, &manifest);
                }
            }
            0
        }
        Err(e) => fail(
            err,
            if legacy_name {
                "generate-package-template failed"
            } else {
                "Export failed"
            },
            &e,
        ),
    }
}

/// Collapses a message onto one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Prints `prefix: message` on one line and returns exit code 1.
/// The async runtime a command's API calls run on (two workers: this is a
/// 2-core-sized tool whose CPU work runs on rayon, not on the runtime).
pub(crate) fn command_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("starting the async runtime: {e}"))
}

pub(crate) fn fail(err: &mut dyn Write, prefix: &str, e: &dyn std::fmt::Display) -> i32 {
    let _ = writeln!(err, "{prefix}: {}", one_line(&e.to_string()));
    1
}

/// The `  key: count` lines of an export summary (non-zero counts only).
pub(crate) fn print_counts(out: &mut dyn Write, manifest: &crate::package::Manifest) {
    for (k, v) in &manifest.entities_exported {
        if v.as_u64().unwrap_or(0) > 0 {
            let _ = writeln!(out, "  {k}: {v}");
        }
    }
}
