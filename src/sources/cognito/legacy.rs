//! The loose (non-package) output of the deprecated `export-cognito`
//! (export-and-package.md §13.2): `workos_users.csv`,
//! `workos_saml_connections.csv`, `workos_oidc_connections.csv` and
//! `custom_attribute_mappings.csv` in the output directory, hand-quoted like
//! the original's `rowsToCsv` (§0.1 exception: a field is quoted when it holds
//! `"`, `,`, `\n` or `\r`; lines end with `\n`), plus the console warnings.
//!
//! Users are written row by row as pages arrive ([`LooseUsersWriter`]);
//! nothing holds the whole pool. The duplicate-id check spills ids to disk
//! ([`crate::spill::KeyedSpill`]). Connection rows are the SSO hand-off rows
//! of [`super::sso`] (no organizations exist in this mode, so the original's
//! provider-name organization columns stay). Every file is written under a
//! `.partial` name with mode 0600 (the OIDC file can hold client secrets) and
//! renamed when complete.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::package::csv_writer::push_record;
use crate::package::limits::UserCells;
use crate::package::schema::{
    CUSTOM_ATTRIBUTE_MAPPINGS_HEADER, OIDC_CONNECTIONS_HEADER, SAML_CONNECTIONS_HEADER,
};
use crate::package::writer::create_private_file;
use crate::sources::legacy_csv::partial_path;
use crate::spill::{KeyedSpill, SpillError};

use super::sso::{map_providers, rows::is_name_only_saml, ProviderKind};
use super::{CognitoProvider, CognitoSsoOptions};

/// Loose-mode file names (§13.2).
pub const USERS_FILE: &str = "workos_users.csv";
pub const SAML_FILE: &str = "workos_saml_connections.csv";
pub const OIDC_FILE: &str = "workos_oidc_connections.csv";
pub const CUSTOM_ATTRIBUTES_FILE: &str = "custom_attribute_mappings.csv";

/// Header of `workos_users.csv`.
pub const USERS_HEADER: [&str; 6] = [
    "external_id",
    "email",
    "email_verified",
    "first_name",
    "last_name",
    "password_hash",
];

/// `UserStatus` of users who signed in through a federated IdP.
pub const EXTERNAL_PROVIDER: &str = "EXTERNAL_PROVIDER";

/// One Cognito user as `ListUsers` returns it (§5.2): attributes flattened
/// to `Name → Value`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyUser {
    pub user_pool_id: String,
    pub username: String,
    pub attributes: BTreeMap<String, String>,
    /// `UserStatus` verbatim (`CONFIRMED`, `EXTERNAL_PROVIDER`, …).
    pub user_status: Option<String>,
    pub enabled: Option<bool>,
}

impl LegacyUser {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    /// `UserStatus` is exactly `EXTERNAL_PROVIDER`.
    pub fn is_federated(&self) -> bool {
        self.user_status.as_deref() == Some(EXTERNAL_PROVIDER)
    }
}

/// `name` split at whitespace: the first token, and the others joined by
/// one space (the original's `splitName`).
pub fn split_name(name: &str) -> (String, String) {
    let mut tokens = name.split_whitespace();
    let first = tokens.next().unwrap_or("").to_string();
    let rest: Vec<&str> = tokens.collect();
    (first, rest.join(" "))
}

/// The `workos_users.csv` row of a user, in [`USERS_HEADER`] order (§5.4
/// step 5): `sub` else the username; `email` and `email_verified` verbatim
/// (empty when absent); `given_name`/`family_name` when present (even
/// empty), else the split `name`; never a password hash.
pub fn user_row(user: &LegacyUser) -> [String; 6] {
    let (first, last) = split_name(user.attr("name").unwrap_or(""));
    [
        user.attr("sub").unwrap_or(&user.username).to_string(),
        user.attr("email").unwrap_or("").to_string(),
        user.attr("email_verified").unwrap_or("").to_string(),
        user.attr("given_name").map_or(first, str::to_string),
        user.attr("family_name").map_or(last, str::to_string),
        String::new(),
    ]
}

/// Errors writing the loose output; each names its file.
#[derive(Debug, thiserror::Error)]
pub enum CognitoLegacyError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("duplicate-id check: {0}")]
    Spill(#[from] SpillError),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> CognitoLegacyError + '_ {
    move |source| CognitoLegacyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A loose output file written under `‹name›.partial` and renamed when
/// complete; dropped unfinished, the partial file is removed.
struct PendingFile {
    path: PathBuf,
    partial: PathBuf,
    out: Option<BufWriter<File>>,
}

impl PendingFile {
    fn create(dir: &Path, name: &str, header: &[&str]) -> Result<Self, CognitoLegacyError> {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
        let path = dir.join(name);
        let partial = partial_path(&path);
        let file = create_private_file(&partial).map_err(io_at(&partial))?;
        let mut f = Self {
            path,
            partial,
            out: Some(BufWriter::with_capacity(1 << 20, file)),
        };
        f.record(header)?;
        Ok(f)
    }

    fn record(&mut self, fields: &[&str]) -> Result<(), CognitoLegacyError> {
        let mut line = Vec::with_capacity(128);
        push_record(&mut line, fields);
        match self.out.as_mut() {
            Some(out) => out.write_all(&line).map_err(io_at(&self.partial)),
            None => Ok(()),
        }
    }

    fn complete(mut self) -> Result<PathBuf, CognitoLegacyError> {
        if let Some(out) = self.out.take() {
            let file = out
                .into_inner()
                .map_err(|e| io_at(&self.partial)(e.into_error()))?;
            file.sync_all().map_err(io_at(&self.partial))?;
        }
        if let Err(e) = std::fs::rename(&self.partial, &self.path) {
            let _ = std::fs::remove_file(&self.partial);
            return Err(io_at(&self.path)(e));
        }
        Ok(self.path.clone())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if self.out.is_some() {
            self.out = None;
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// What [`LooseUsersWriter`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LooseUsersSummary {
    pub path: PathBuf,
    /// Rows written.
    pub rows: u64,
    /// Rows without an email.
    pub without_email: u64,
    /// Rows of users Cognito lists as disabled.
    pub disabled: u64,
    /// `EXTERNAL_PROVIDER` users left out (`--skip-external-provider-users`).
    pub skipped_external_provider: u64,
    /// Rows whose `external_id` an earlier row already had (pools share
    /// usernames; `sub` is unique only per pool).
    pub duplicate_external_ids: u64,
    /// Users left out because a cell is over 64 KiB (the loose mode has no
    /// skipped log: the console warning names the first one).
    pub oversized: u64,
    /// The first of them: username (cut) and the skip reason's text.
    pub first_oversized: Option<(String, String)>,
}

impl LooseUsersSummary {
    /// The console warning lines (the original's `[warn]` lines, then ours).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.without_email > 0 {
            w.push(format!(
                "  [warn] {} user(s) have no email attribute \u{2014} these rows will likely fail WorkOS import.",
                self.without_email
            ));
        }
        if self.rows > 0 {
            w.push(format!(
                "  [warn] password_hash is blank for all {} user(s) \u{2014} Cognito does not expose hashes. Affected users will need to reset their password post-migration (or rely on SSO JIT provisioning).",
                self.rows
            ));
            if self.duplicate_external_ids > 0 {
                w.push(format!(
                    "  [warn] {} duplicate external_id value(s) detected across pools \u{2014} consider exporting pools separately or prefixing IDs.",
                    self.duplicate_external_ids
                ));
            }
        }
        if self.disabled > 0 {
            w.push(format!(
                "  [warn] {} user(s) are disabled in Cognito and were exported; block or remove them in WorkOS if they must stay locked out.",
                self.disabled
            ));
        }
        if self.skipped_external_provider > 0 {
            w.push(format!(
                "  [warn] {} EXTERNAL_PROVIDER user(s) were left out (--skip-external-provider-users).",
                self.skipped_external_provider
            ));
        }
        if let Some((user, error)) = &self.first_oversized {
            w.push(format!(
                "  [warn] {} user(s) were left out: a field over 64 KiB, which WorkOS refuses (first: user {user}: {error}).",
                self.oversized
            ));
        }
        w
    }
}

/// Streams `workos_users.csv`: [`LooseUsersWriter::write_user`] per user as
/// pages arrive, then [`LooseUsersWriter::finish`].
pub struct LooseUsersWriter {
    file: PendingFile,
    skip_external_provider_users: bool,
    ids: KeyedSpill,
    summary: LooseUsersSummary,
}

impl LooseUsersWriter {
    /// Starts `‹dir›/workos_users.csv` (the directory is created). EXTERNAL_PROVIDER
    /// users are written unless `skip_external_provider_users`.
    pub fn create(
        dir: &Path,
        skip_external_provider_users: bool,
    ) -> Result<Self, CognitoLegacyError> {
        let file = PendingFile::create(dir, USERS_FILE, &USERS_HEADER)?;
        Ok(Self {
            summary: LooseUsersSummary {
                path: file.path.clone(),
                ..Default::default()
            },
            file,
            skip_external_provider_users,
            ids: KeyedSpill::new("cognito-legacy-ids")?,
        })
    }

    /// Writes one user's row (users without email included).
    pub fn write_user(&mut self, user: &LegacyUser) -> Result<(), CognitoLegacyError> {
        if self.skip_external_provider_users && user.is_federated() {
            self.summary.skipped_external_provider += 1;
            return Ok(());
        }
        let row = user_row(user);
        let cells = UserCells {
            external_id: &row[0],
            email: &row[1],
            first_name: &row[3],
            last_name: &row[4],
        };
        if let Some(over) = cells.oversized() {
            self.summary.oversized += 1;
            if self.summary.first_oversized.is_none() {
                let name: String = user.username.chars().take(128).collect();
                self.summary.first_oversized = Some((name, over.error()));
            }
            return Ok(());
        }
        self.file.record(&row.each_ref().map(String::as_str))?;
        if row[1].is_empty() {
            self.summary.without_email += 1;
        }
        if user.enabled == Some(false) {
            self.summary.disabled += 1;
        }
        if !row[0].is_empty() {
            self.ids.push(row[0].as_bytes(), self.summary.rows, &[])?;
        }
        self.summary.rows += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.summary.rows
    }

    /// Completes the file (renamed into place) and counts duplicate ids.
    pub fn finish(self) -> Result<LooseUsersSummary, CognitoLegacyError> {
        let Self {
            file,
            ids,
            mut summary,
            ..
        } = self;
        file.complete()?;
        let mut duplicates = 0u64;
        ids.for_each_group(|_, entries| duplicates += entries.len() as u64 - 1)?;
        summary.duplicate_external_ids = duplicates;
        Ok(summary)
    }
}

/// What [`write_loose_connections`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LooseConnectionsSummary {
    pub saml_path: PathBuf,
    pub oidc_path: PathBuf,
    pub custom_attributes_path: PathBuf,
    pub providers: u64,
    pub saml: u64,
    pub oidc: u64,
    pub custom_attributes: u64,
    /// Providers neither SAML nor OIDC (Google, Facebook, …), not written.
    pub unsupported: u64,
    /// SAML providers mapping `name` without both `given_name` and `family_name`.
    pub name_only_saml: u64,
    /// SAML and OIDC rows with an empty `domains` cell.
    pub empty_domains: u64,
    /// OIDC rows whose client secret was left out (no `--include-secrets`).
    pub secrets_withheld: u64,
    /// OIDC rows holding a client secret (`--include-secrets`).
    pub secrets_written: u64,
}

impl LooseConnectionsSummary {
    /// The console warning lines (the original's `[warn]` lines, then ours).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.name_only_saml > 0 {
            w.push(format!(
                "  [warn] {} SAML connection(s) rely on a full-name attribute only (no given_name/family_name). WorkOS will use the 'name' column at import.",
                self.name_only_saml
            ));
        }
        if self.empty_domains > 0 {
            w.push(format!(
                "  [warn] {} row(s) have empty 'domains' column. Optional per WorkOS, recommended for domain-capture \u{2014} populate before uploading.",
                self.empty_domains
            ));
        }
        if self.unsupported > 0 {
            w.push(format!(
                "  [warn] {} identity provider(s) are neither SAML nor OIDC (social logins) and were not written.",
                self.unsupported
            ));
        }
        if self.secrets_withheld > 0 {
            w.push(format!(
                "  [warn] {} OIDC client secret(s) were left out of {OIDC_FILE}; re-run with --include-secrets only if the output directory can safely store secrets.",
                self.secrets_withheld
            ));
        }
        if self.secrets_written > 0 {
            w.push(format!(
                "  [warn] {OIDC_FILE} holds {} OIDC client secret(s) (--include-secrets); keep it private and delete it after the hand-off.",
                self.secrets_written
            ));
        }
        w
    }
}

/// Writes the three connection files of `providers` (fetch order) into
/// `dir` — the SSO hand-off rows of [`map_providers`] without organizations.
pub fn write_loose_connections(
    dir: &Path,
    providers: &[CognitoProvider],
    options: &CognitoSsoOptions,
) -> Result<LooseConnectionsSummary, CognitoLegacyError> {
    let out = map_providers(providers, |_| None, options);
    let mut saml = PendingFile::create(dir, SAML_FILE, SAML_CONNECTIONS_HEADER)?;
    let mut oidc = PendingFile::create(dir, OIDC_FILE, OIDC_CONNECTIONS_HEADER)?;
    let mut custom = PendingFile::create(
        dir,
        CUSTOM_ATTRIBUTES_FILE,
        CUSTOM_ATTRIBUTE_MAPPINGS_HEADER,
    )?;
    for row in &out.saml {
        saml.record(&row.fields())?;
    }
    for row in &out.oidc {
        oidc.record(&row.fields())?;
    }
    for row in &out.custom_attributes {
        custom.record(&row.fields())?;
    }
    let kinds: Vec<ProviderKind> = providers.iter().map(ProviderKind::of).collect();
    let oidc_with_secret = providers
        .iter()
        .zip(&kinds)
        .filter(|(p, k)| {
            **k == ProviderKind::Oidc
                && p.provider_details
                    .get("client_secret")
                    .is_some_and(|s| !s.is_empty())
        })
        .count() as u64;
    Ok(LooseConnectionsSummary {
        saml_path: saml.complete()?,
        oidc_path: oidc.complete()?,
        custom_attributes_path: custom.complete()?,
        providers: providers.len() as u64,
        saml: out.saml.len() as u64,
        oidc: out.oidc.len() as u64,
        custom_attributes: out.custom_attributes.len() as u64,
        unsupported: kinds
            .iter()
            .filter(|k| **k == ProviderKind::Unsupported)
            .count() as u64,
        name_only_saml: providers.iter().filter(|p| is_name_only_saml(p)).count() as u64,
        empty_domains: out.saml.iter().filter(|r| r.domains.is_empty()).count() as u64
            + out.oidc.iter().filter(|r| r.domains.is_empty()).count() as u64,
        secrets_withheld: if options.include_secrets {
            0
        } else {
            oidc_with_secret
        },
        secrets_written: out
            .oidc
            .iter()
            .filter(|r| !r.client_secret.is_empty())
            .count() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(pool: &str, username: &str, status: &str, attrs: &[(&str, &str)]) -> LegacyUser {
        LegacyUser {
            user_pool_id: pool.into(),
            username: username.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            user_status: Some(status.into()),
            enabled: Some(true),
        }
    }

    const POOL: &str = "us-east-1_AAAPOOL";

    #[test]
    fn user_rows_follow_the_original_mapping() {
        let native = user(
            POOL,
            "alice",
            "CONFIRMED",
            &[
                ("sub", "5a3b2c1d-0000-4000-8000-abcdef123456"),
                ("email", "alice@example.com"),
                ("email_verified", "true"),
                ("given_name", "Alice"),
                ("family_name", "Smith"),
                ("phone_number_verified", "false"),
            ],
        );
        assert_eq!(
            user_row(&native),
            [
                "5a3b2c1d-0000-4000-8000-abcdef123456",
                "alice@example.com",
                "true",
                "Alice",
                "Smith",
                ""
            ]
        );
        let name_only = user(
            POOL,
            "carol",
            "EXTERNAL_PROVIDER",
            &[
                ("sub", "1"),
                ("email", "carol@acme.com"),
                ("name", "  Mary Ann   Jones Smith "),
            ],
        );
        let r = user_row(&name_only);
        assert_eq!((r[3].as_str(), r[4].as_str()), ("Mary", "Ann Jones Smith"));
        assert_eq!(r[2], "");
        // given_name present but empty wins over name.
        let empty_given = user(
            POOL,
            "x",
            "CONFIRMED",
            &[("given_name", ""), ("name", "A B")],
        );
        let r = user_row(&empty_given);
        assert_eq!((r[3].as_str(), r[4].as_str()), ("", "B"));
        // No sub → username; no email → empty cells.
        let phone = user(
            POOL,
            "+15551234567",
            "CONFIRMED",
            &[("phone_number", "+1555")],
        );
        assert_eq!(user_row(&phone), ["+15551234567", "", "", "", "", ""]);
        let unicode = user(
            POOL,
            "m",
            "CONFIRMED",
            &[("given_name", "María"), ("family_name", "García López")],
        );
        assert_eq!(user_row(&unicode)[4], "García López");
        assert!(name_only.is_federated());
        assert!(!native.is_federated());
        let mut no_status = native.clone();
        no_status.user_status = None;
        assert!(!no_status.is_federated());
    }

    #[test]
    fn users_file_is_streamed_with_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let mut w = LooseUsersWriter::create(&out, false).unwrap();
        // The row is on disk (in the partial file) before finish.
        let partial = partial_path(&out.join(USERS_FILE));
        assert!(partial.exists());
        let mut disabled = user(
            POOL,
            "d",
            "CONFIRMED",
            &[("sub", "s-d"), ("email", "d@x.com")],
        );
        disabled.enabled = Some(false);
        for u in [
            user(
                POOL,
                "a",
                "CONFIRMED",
                &[
                    ("sub", "s-a"),
                    ("email", "a@x.com"),
                    ("given_name", "Ann, \"Jr\""),
                ],
            ),
            user(
                POOL,
                "b",
                "EXTERNAL_PROVIDER",
                &[("sub", "s-b"), ("email", "b@x.com")],
            ),
            user(POOL, "c", "CONFIRMED", &[("sub", "s-c")]),
            user(
                "us-east-1_BBBPOOL",
                "a",
                "CONFIRMED",
                &[("sub", "s-a"), ("email", "a2@x.com")],
            ),
            disabled,
        ] {
            w.write_user(&u).unwrap();
        }
        assert_eq!(w.rows(), 5);
        let s = w.finish().unwrap();
        assert!(!partial.exists());
        assert_eq!(s.path, out.join(USERS_FILE));
        let text = std::fs::read_to_string(&s.path).unwrap();
        assert_eq!(
            text,
            "external_id,email,email_verified,first_name,last_name,password_hash\n\
             s-a,a@x.com,,\"Ann, \"\"Jr\"\"\",,\n\
             s-b,b@x.com,,,,\n\
             s-c,,,,,\n\
             s-a,a2@x.com,,,,\n\
             s-d,d@x.com,,,,\n"
        );
        assert_eq!(
            (
                s.rows,
                s.without_email,
                s.duplicate_external_ids,
                s.disabled
            ),
            (5, 1, 1, 1)
        );
        let warnings = s.warnings();
        assert_eq!(
            warnings[0],
            "  [warn] 1 user(s) have no email attribute \u{2014} these rows will likely fail WorkOS import."
        );
        assert!(warnings[1].starts_with("  [warn] password_hash is blank for all 5 user(s)"));
        assert!(warnings[2].starts_with("  [warn] 1 duplicate external_id value(s)"));
        assert!(warnings[3].contains("1 user(s) are disabled"));
        assert_eq!(warnings.len(), 4);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&s.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn external_provider_users_can_be_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LooseUsersWriter::create(dir.path(), true).unwrap();
        w.write_user(&user(POOL, "a", "CONFIRMED", &[("email", "a@x.com")]))
            .unwrap();
        w.write_user(&user(
            POOL,
            "b",
            "EXTERNAL_PROVIDER",
            &[("email", "b@x.com")],
        ))
        .unwrap();
        let s = w.finish().unwrap();
        assert_eq!((s.rows, s.skipped_external_provider), (1, 1));
        let text = std::fs::read_to_string(&s.path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(s
            .warnings()
            .last()
            .unwrap()
            .contains("1 EXTERNAL_PROVIDER user(s) were left out"));
        // Nothing written: header only, no warnings.
        let empty = LooseUsersWriter::create(&dir.path().join("e"), false)
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&empty.path).unwrap(),
            "external_id,email,email_verified,first_name,last_name,password_hash\n"
        );
        assert!(empty.warnings().is_empty());
    }

    #[test]
    fn an_abandoned_users_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LooseUsersWriter::create(dir.path(), false).unwrap();
        w.write_user(&user(POOL, "a", "CONFIRMED", &[])).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    fn provider(
        name: &str,
        kind: &str,
        details: &[(&str, &str)],
        mapping: &[(&str, &str)],
    ) -> CognitoProvider {
        let m = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        CognitoProvider {
            user_pool_id: POOL.into(),
            provider_name: name.into(),
            provider_type: kind.into(),
            provider_details: m(details),
            attribute_mapping: m(mapping),
            idp_identifiers: Vec::new(),
        }
    }

    #[test]
    fn connection_files_are_the_sso_rows_hand_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let mut saml = provider(
            "okta, inc",
            "SAML",
            &[
                ("EntityId", "urn:idp"),
                ("SSORedirectBindingURI", "https://idp/sso"),
            ],
            &[
                ("email", "email"),
                ("name", "fullName"),
                ("custom:dept", "department"),
            ],
        );
        saml.idp_identifiers = vec!["acme.com".into()];
        let oidc = provider(
            "azure",
            "OIDC",
            &[
                ("client_id", "cid"),
                ("client_secret", "shh"),
                ("oidc_issuer", "https://login/v2.0"),
            ],
            &[],
        );
        let google = provider("Google", "Google", &[("client_secret", "g")], &[]);
        let options = CognitoSsoOptions {
            region: "us-east-1".into(),
            saml_custom_acs_url_template: Some("https://p/{provider_name}/acs".into()),
            ..Default::default()
        };
        let s =
            write_loose_connections(dir.path(), &[saml, oidc.clone(), google], &options).unwrap();
        assert_eq!(
            (
                s.providers,
                s.saml,
                s.oidc,
                s.custom_attributes,
                s.unsupported
            ),
            (3, 1, 1, 2, 1)
        );
        assert_eq!(
            (
                s.name_only_saml,
                s.empty_domains,
                s.secrets_withheld,
                s.secrets_written
            ),
            (1, 1, 1, 0)
        );
        let saml_text = std::fs::read_to_string(&s.saml_path).unwrap();
        let mut lines = saml_text.lines();
        assert_eq!(lines.next().unwrap(), SAML_CONNECTIONS_HEADER.join(","));
        assert_eq!(
            lines.next().unwrap(),
            "\"okta, inc\",\"okta, inc\",,\"okta, inc\",acme.com,urn:idp,https://idp/sso,,,urn:amazon:cognito:sp:us-east-1_AAAPOOL,\"https://p/okta, inc/acs\",,email,,,fullName,TRUE,,,,\"us-east-1_AAAPOOL:okta, inc\""
        );
        assert!(saml_text.ends_with('\n'));
        let oidc_text = std::fs::read_to_string(&s.oidc_path).unwrap();
        assert_eq!(
            oidc_text,
            format!(
                "{}\nazure,azure,,azure,,cid,,https://login/v2.0/.well-known/openid-configuration,,us-east-1_AAAPOOL:azure\n",
                OIDC_CONNECTIONS_HEADER.join(",")
            )
        );
        let custom = std::fs::read_to_string(&s.custom_attributes_path).unwrap();
        assert_eq!(
            custom,
            "externalId,organizationExternalId,providerType,userPoolAttribute,idpClaim\n\
             \"us-east-1_AAAPOOL:okta, inc\",\"okta, inc\",SAML,custom:dept,department\n\
             \"us-east-1_AAAPOOL:okta, inc\",\"okta, inc\",SAML,name,fullName\n"
        );
        let w = s.warnings();
        assert!(
            w[0].starts_with("  [warn] 1 SAML connection(s) rely on a full-name attribute only")
        );
        assert_eq!(
            w[1],
            "  [warn] 1 row(s) have empty 'domains' column. Optional per WorkOS, recommended for domain-capture \u{2014} populate before uploading."
        );
        assert!(w[2].contains("1 identity provider(s) are neither SAML nor OIDC"));
        assert!(w[3].contains("1 OIDC client secret(s) were left out"));
        // With --include-secrets the secret is written, into a 0600 file.
        let with = CognitoSsoOptions {
            include_secrets: true,
            ..options
        };
        let s = write_loose_connections(dir.path(), &[oidc], &with).unwrap();
        assert_eq!((s.secrets_withheld, s.secrets_written), (0, 1));
        let text = std::fs::read_to_string(&s.oidc_path).unwrap();
        assert!(text.contains(",cid,shh,"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&s.oidc_path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".partial")), "{names:?}");
    }
}
