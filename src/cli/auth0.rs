//! `export auth0`: clap types, option parsing and the summary
//! (export-and-package.md §4.1, §3.2–3.3, §4.10).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::fail;
use crate::sources::auth0::bulk::BulkOptions;
use crate::sources::auth0::export::{
    export_auth0, Auth0ExportOptions, Auth0ExportSummary, Engine, Entities,
};

#[derive(Debug, Args)]
pub struct ExportAuth0Args {
    /// Auth0 M2M application client id
    #[arg(
        long,
        value_name = "value",
        env = "AUTH0_CLIENT_ID",
        hide_env_values = true
    )]
    pub client_id: String,
    /// Auth0 M2M application client secret
    #[arg(
        long,
        value_name = "value",
        env = "AUTH0_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: String,
    /// Tenant domain (tenant.us.auth0.com) or, for local servers, http://127.0.0.1:PORT
    #[arg(long, value_name = "value", env = "AUTH0_DOMAIN")]
    pub domain: String,
    /// Package directory to write
    #[arg(long, value_name = "dir")]
    pub output_dir: PathBuf,
    /// users,organizations,memberships,roles,sso or all
    #[arg(
        long,
        value_name = "value",
        default_value = "users,organizations,memberships"
    )]
    pub entities: String,
    /// Write SSO connection secrets into the package
    #[arg(long)]
    pub include_secrets: bool,
    /// Only these Auth0 organization ids (comma-separated)
    #[arg(long, value_name = "value")]
    pub orgs: Option<String>,
    /// Page size of Auth0 listings (1-100)
    #[arg(long, value_name = "value", default_value = "100")]
    pub page_size: String,
    /// Management API requests per second for the whole run
    #[arg(long, value_name = "value", default_value = "50")]
    pub rate_limit: String,
    /// Management API requests in flight at once
    #[arg(long, value_name = "value", default_value = "10")]
    pub user_fetch_concurrency: String,
    /// Discover organizations from user metadata instead of Auth0 Organizations
    #[arg(long)]
    pub use_metadata: bool,
    /// Metadata field holding the organization id
    #[arg(long, value_name = "value")]
    pub metadata_org_id_field: Option<String>,
    /// Metadata field holding the organization name
    #[arg(long, value_name = "value")]
    pub metadata_org_name_field: Option<String>,
    /// Export users whose only identities are social or enterprise
    #[arg(long)]
    pub include_federated_users: bool,
    /// management-api or bulk-job
    #[arg(long, value_name = "value", default_value = "management-api")]
    pub engine: String,
    /// Bulk job: only users of this connection
    #[arg(long, value_name = "value")]
    pub bulk_connection_id: Option<String>,
    /// Bulk job: milliseconds between status polls
    #[arg(long, value_name = "value", default_value = "2000")]
    pub bulk_poll_interval_ms: String,
    /// Bulk job: polls before giving up
    #[arg(long, value_name = "value", default_value = "150")]
    pub bulk_max_poll_attempts: String,
    /// Names the export checkpoint (under <output-dir>/.workos-checkpoints/)
    #[arg(long, value_name = "value")]
    pub job_id: Option<String>,
    /// Continue an interrupted export: finished organizations are not fetched again
    #[arg(long)]
    pub resume: bool,
    /// Print nothing but errors
    #[arg(long)]
    pub quiet: bool,
}

fn number<T: std::str::FromStr>(flag: &str, raw: &str) -> Result<T, String> {
    raw.trim()
        .parse::<T>()
        .map_err(|_| format!("--{flag} must be a number, got \"{raw}\""))
}

impl ExportAuth0Args {
    /// The export options, or the one-line reason the flags are wrong.
    pub fn options(&self) -> Result<Auth0ExportOptions, String> {
        let rate: f64 = number("rate-limit", &self.rate_limit)?;
        let poll_ms: u64 = number("bulk-poll-interval-ms", &self.bulk_poll_interval_ms)?;
        if poll_ms > 600_000 {
            return Err(format!(
                "--bulk-poll-interval-ms must be at most 600000, got {poll_ms}"
            ));
        }
        let max_polls: u32 = number("bulk-max-poll-attempts", &self.bulk_max_poll_attempts)?;
        if max_polls == 0 {
            return Err("--bulk-max-poll-attempts must be at least 1".into());
        }
        Ok(Auth0ExportOptions {
            domain: self.domain.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            output_dir: self.output_dir.clone(),
            entities: Entities::parse(&self.entities)?,
            include_secrets: self.include_secrets,
            orgs: self.orgs.as_ref().map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            }),
            page_size: number("page-size", &self.page_size)?,
            rate_limit: Some(rate),
            concurrency: number("user-fetch-concurrency", &self.user_fetch_concurrency)?,
            use_metadata: self.use_metadata,
            metadata_org_id_field: self.metadata_org_id_field.clone(),
            metadata_org_name_field: self.metadata_org_name_field.clone(),
            include_federated_users: self.include_federated_users,
            engine: Engine::parse(&self.engine)?,
            bulk: BulkOptions {
                connection_id: self.bulk_connection_id.clone(),
                poll_interval: Duration::from_millis(poll_ms),
                max_polls,
            },
            job_id: self.job_id.clone(),
            resume: self.resume,
            quiet: self.quiet,
        })
    }
}

/// `export auth0`; returns the exit code.
pub fn run_export_auth0(args: ExportAuth0Args, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = match args.options() {
        Ok(o) => o,
        Err(m) => return fail(err, "Export failed", &m),
    };
    if !opts.quiet {
        let _ = writeln!(
            out,
            "Exporting from Auth0 \u{2192} {}",
            opts.output_dir.display()
        );
    }
    match export_auth0(&opts) {
        Ok(s) => {
            if !opts.quiet {
                print_summary(out, &s);
            }
            let _ = out.flush();
            0
        }
        Err(e) => fail(err, "Export failed", &e),
    }
}

fn print_summary(out: &mut dyn Write, s: &Auth0ExportSummary) {
    let m = &s.manifest;
    let _ = writeln!(out, "\nPackage export complete");
    let _ = writeln!(out, "  Organizations: {}", m.count("organizations"));
    let _ = writeln!(out, "  Memberships: {}", m.count("memberships"));
    let _ = writeln!(out, "  User rows exported: {}", m.count("users"));
    if s.roles_requested {
        let _ = writeln!(out, "  Role definitions: {}", m.count("roleDefinitions"));
        let _ = writeln!(
            out,
            "  Role assignments: {}",
            m.count("userRoleAssignments")
        );
    }
    if s.sso_requested {
        let _ = writeln!(out, "  SAML connections: {}", m.count("samlConnections"));
        let _ = writeln!(out, "  OIDC connections: {}", m.count("oidcConnections"));
    }
    let _ = writeln!(out, "  Skipped users: {}", m.count("skippedUsers"));
    let _ = writeln!(out, "  Warnings: {}", m.count("warnings"));
    let _ = writeln!(
        out,
        "  Management API requests: {} ({} rate-limited, {} retried)",
        s.stats.requests, s.stats.rate_limited, s.stats.retried
    );
    let _ = writeln!(out, "  Duration: {}ms", s.duration.as_millis());
    let _ = writeln!(out, "  Package: {}", s.dir.display());
}
