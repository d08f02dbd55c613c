//! `export cognito`: clap types, option parsing and the summary
//! (export-and-package.md §5.1, §3.2–3.3, §5.6).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::fail;
use crate::sources::cognito::client::{CognitoClientConfig, DEFAULT_MAX_RETRIES};
use crate::sources::cognito::export::{
    export_cognito, CognitoExportOptions, CognitoExportSummary, Entities, NO_PASSWORD_HASHES,
};
use crate::sources::cognito::fetch::DEFAULT_SPLIT_THRESHOLD;
use crate::sources::cognito::mapping::OrgStrategy;
use crate::sources::cognito::CognitoSsoOptions;

/// `--saml-custom-entity-id-template` when neither the flag nor its
/// variable is set (§5.1).
pub const DEFAULT_ENTITY_ID_TEMPLATE: &str = "urn:amazon:cognito:sp:{user_pool_id}";

#[derive(Debug, Args)]
pub struct ExportCognitoArgs {
    /// AWS region of the user pools
    #[arg(long, value_name = "value", env = "AWS_REGION")]
    pub region: Option<String>,
    /// Comma-separated user pool ids
    #[arg(long, value_name = "value", env = "COGNITO_USER_POOL_IDS")]
    pub user_pool_ids: Option<String>,
    /// Static access key id (else the AWS default credential chain)
    #[arg(
        long,
        value_name = "value",
        env = "AWS_ACCESS_KEY_ID",
        hide_env_values = true
    )]
    pub access_key_id: Option<String>,
    /// Static secret access key
    #[arg(
        long,
        value_name = "value",
        env = "AWS_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub secret_access_key: Option<String>,
    /// Session token of temporary credentials
    #[arg(
        long,
        value_name = "value",
        env = "AWS_SESSION_TOKEN",
        hide_env_values = true
    )]
    pub session_token: Option<String>,
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
    /// user-pool, connection or none
    #[arg(long, value_name = "value", default_value = "user-pool")]
    pub org_strategy: String,
    /// Skip users whose status is EXTERNAL_PROVIDER (the default)
    #[arg(long)]
    pub skip_external_provider_users: bool,
    /// Export users whose status is EXTERNAL_PROVIDER instead of skipping them
    #[arg(long)]
    pub include_external_provider_users: bool,
    /// ACS URL template of SAML rows ({provider_name}, {user_pool_id}, {region})
    #[arg(long, value_name = "value", env = "SAML_CUSTOM_ACS_URL_TEMPLATE")]
    pub saml_custom_acs_url_template: Option<String>,
    /// SP entity id template of SAML rows
    #[arg(long, value_name = "value", env = "SAML_CUSTOM_ENTITY_ID_TEMPLATE")]
    pub saml_custom_entity_id_template: Option<String>,
    /// Redirect URI template of OIDC rows
    #[arg(long, value_name = "value", env = "OIDC_CUSTOM_REDIRECT_URI_TEMPLATE")]
    pub oidc_custom_redirect_uri_template: Option<String>,
    /// Write OIDC client secrets into the package
    #[arg(long)]
    pub include_secrets: bool,
    /// Cognito endpoint, e.g. http://127.0.0.1:5000 (default: AWS, or AWS_ENDPOINT_URL)
    #[arg(long, value_name = "url")]
    pub endpoint_url: Option<String>,
    /// ListUsers/ListUsersInGroup requests per second, or "off"
    #[arg(
        long,
        value_name = "value",
        default_value = "29",
        allow_hyphen_values = true
    )]
    pub rate_limit: String,
    /// Retries per request for throttling, 5xx and transport failures
    #[arg(
        long,
        value_name = "value",
        default_value_t = DEFAULT_MAX_RETRIES.to_string(),
        allow_hyphen_values = true
    )]
    pub max_retries: String,
    /// Pools with at least this many estimated users are listed in 16 parallel chains
    #[arg(
        long,
        value_name = "value",
        env = "WORKOS_MIGRATE_COGNITO_SPLIT_USERS",
        default_value_t = DEFAULT_SPLIT_THRESHOLD.to_string(),
        hide = true
    )]
    pub split_threshold: String,
    /// Print nothing but errors
    #[arg(long)]
    pub quiet: bool,
}

/// A required credential: missing or blank → the §3.3 message.
fn required(value: &Option<String>, name: &str, key: &str, env: &str) -> Result<String, String> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(format!(
            "Missing required credential \"{name}\" ({key}, env {env})"
        )),
    }
}

/// `--rate-limit`: a positive number, or `off`.
pub fn parse_rate_limit(raw: &str) -> Result<Option<f64>, String> {
    let v = raw.trim();
    if v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    match v.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(Some(r)),
        _ => Err(format!(
            "--rate-limit must be a positive number of requests per second or \"off\", got \"{raw}\""
        )),
    }
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl ExportCognitoArgs {
    /// The export options, or the one-line reason the flags are wrong.
    pub fn options(&self) -> Result<CognitoExportOptions, String> {
        let region = required(&self.region, "AWS region", "region", "AWS_REGION")?;
        let pools = required(
            &self.user_pool_ids,
            "User pool IDs",
            "userPoolIds",
            "COGNITO_USER_POOL_IDS",
        )?;
        if self.include_external_provider_users && self.skip_external_provider_users {
            return Err(
                "--include-external-provider-users and --skip-external-provider-users contradict each other"
                    .into(),
            );
        }
        let max_retries: u32 = self.max_retries.trim().parse().map_err(|_| {
            format!(
                "--max-retries must be a whole number from 0, got \"{}\"",
                self.max_retries
            )
        })?;
        let split_threshold: u64 = match self.split_threshold.trim().parse() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(format!(
                    "--split-threshold must be a positive whole number, got \"{}\"",
                    self.split_threshold
                ))
            }
        };
        let mut client = CognitoClientConfig::new(&region);
        client.access_key_id = non_empty(&self.access_key_id);
        client.secret_access_key = non_empty(&self.secret_access_key);
        client.session_token = non_empty(&self.session_token);
        client.endpoint_url = non_empty(&self.endpoint_url);
        client.rate_limit = parse_rate_limit(&self.rate_limit)?;
        client.max_retries = max_retries;
        Ok(CognitoExportOptions {
            client,
            user_pool_ids: pools,
            output_dir: self.output_dir.clone(),
            entities: Entities::parse(&self.entities)?,
            org_strategy: OrgStrategy::parse(&self.org_strategy)?,
            include_external_provider_users: self.include_external_provider_users,
            sso: CognitoSsoOptions {
                region,
                saml_custom_acs_url_template: non_empty(&self.saml_custom_acs_url_template),
                saml_custom_entity_id_template: Some(
                    non_empty(&self.saml_custom_entity_id_template)
                        .unwrap_or_else(|| DEFAULT_ENTITY_ID_TEMPLATE.to_string()),
                ),
                oidc_custom_redirect_uri_template: non_empty(
                    &self.oidc_custom_redirect_uri_template,
                ),
                include_secrets: self.include_secrets,
            },
            split_threshold,
            quiet: self.quiet,
        })
    }
}

/// `export cognito`; returns the exit code.
pub fn run_export_cognito(
    args: ExportCognitoArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let opts = match args.options() {
        Ok(o) => o,
        Err(m) => return fail(err, "Export failed", &m),
    };
    if !opts.quiet {
        let _ = writeln!(
            out,
            "Exporting from AWS Cognito \u{2192} {}",
            opts.output_dir.display()
        );
    }
    match export_cognito(&opts) {
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

/// The summary (§5.6 plus roles, requests and the password note).
pub fn print_summary(out: &mut dyn Write, s: &CognitoExportSummary) {
    let m = &s.manifest;
    let _ = writeln!(out, "\nPackage export complete");
    let _ = writeln!(out, "  Organizations: {}", m.count("organizations"));
    let _ = writeln!(out, "  Memberships: {}", m.count("memberships"));
    let _ = writeln!(out, "  Users exported: {}", m.count("users"));
    if s.entities.has("roles") {
        let _ = writeln!(out, "  Role definitions: {}", m.count("roleDefinitions"));
        let _ = writeln!(
            out,
            "  Role assignments: {}",
            m.count("userRoleAssignments")
        );
    }
    if s.entities.has("sso") {
        let _ = writeln!(out, "  SAML connections: {}", m.count("samlConnections"));
        let _ = writeln!(out, "  OIDC connections: {}", m.count("oidcConnections"));
    }
    let _ = writeln!(out, "  Skipped users: {}", m.count("skippedUsers"));
    let _ = writeln!(out, "  Warnings: {}", m.count("warnings"));
    if s.entities.has("users") {
        let _ = writeln!(out, "  Passwords: {NO_PASSWORD_HASHES}");
    }
    let r = &s.requests;
    let _ = writeln!(
        out,
        "  Cognito requests: {} UserList + {} other ({} throttled, {} retried)",
        r.user_list, r.other, r.throttled, r.retried
    );
    let _ = writeln!(out, "  Duration: {}ms", s.duration.as_millis());
    let _ = writeln!(out, "  Package: {}", s.dir.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_values() {
        assert_eq!(parse_rate_limit("28"), Ok(Some(28.0)));
        assert_eq!(parse_rate_limit(" off "), Ok(None));
        for bad in ["0", "-3", "abc", "", "NaN", "inf"] {
            assert!(parse_rate_limit(bad).is_err(), "{bad}");
        }
    }
}
