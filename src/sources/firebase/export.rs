//! `export firebase` (export-and-package.md §7): a Firebase Auth JSON export
//! → a migration package.
//!
//! Pipeline: [`FirebaseReader`] (its own thread: scan + rayon parse) → a
//! bounded channel → the DataFusion mapping ([`map_users`]) → per batch the
//! Rust-side metadata and hashes ([`MappedBatch`]) → rows written in file
//! order through [`MigrationPackageWriter`] (users, skipped users, warnings,
//! `workos_upload/`, and the organization / membership / role rows of the
//! mapping CSVs via [`IdentityRows`]). The manifest is written last, so a
//! failed run leaves no manifest. Every input user ends up either in
//! `users.csv` or in `skipped_users.jsonl`.
//!
//! Identity Platform SSO (§7.5) is fetched by the caller
//! ([`super::identity_platform::fetch_firebase_sso`]) between
//! [`prepare_export`] (every local check: options, input structure, mapping
//! files) and [`PreparedExport::run`], which writes the [`SsoHandoff`] rows and
//! warnings after the users; without one the package carries the "without
//! SSO" hand-off notes.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use base64::{
    alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine as _,
};
use datafusion::error::DataFusionError;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;

use crate::package::jsonl::JsonlRecord;
use crate::package::schema::USERS;
use crate::package::sso::HandoffNotes;
use crate::package::writer::PackageWriteError;
use crate::package::{Manifest, MigrationPackageWriter, PackageOptions};
use crate::progress::Progress;
use crate::sources::mapping::{IdentityRows, MappingError, UserMappings};
use crate::sources::sso::SsoHandoff;

use super::identity_platform::no_sso_secret_redaction;

use super::mapping::{map_users, MappedBatch, MappingOptions, NameSplit, Password, ScryptConfig};
use super::reader::{user_schema, FirebaseReader, ReadError};

/// Options of `export firebase` (§7.1) minus the SSO credentials.
#[derive(Clone)]
pub struct FirebaseExportOptions {
    pub from_file: PathBuf,
    pub output_dir: PathBuf,
    pub name_split: NameSplit,
    pub include_disabled: bool,
    pub skip_passwords: bool,
    /// Base64 signer key; enables password hashes.
    pub signer_key: Option<String>,
    /// Base64 salt separator (default empty).
    pub salt_separator: Option<String>,
    /// 1..=8 (default 8).
    pub rounds: u32,
    /// 1..=14 (default 14).
    pub memory_cost: u32,
    pub org_mapping: Option<PathBuf>,
    pub role_mapping: Option<PathBuf>,
    pub source_tenant: Option<String>,
    /// Show a progress bar (only ever drawn on a terminal).
    pub progress: bool,
}

impl FirebaseExportOptions {
    pub fn new(from_file: impl Into<PathBuf>, output_dir: impl Into<PathBuf>) -> Self {
        Self {
            from_file: from_file.into(),
            output_dir: output_dir.into(),
            name_split: NameSplit::FirstSpace,
            include_disabled: false,
            skip_passwords: false,
            signer_key: None,
            salt_separator: None,
            rounds: 8,
            memory_cost: 14,
            org_mapping: None,
            role_mapping: None,
            source_tenant: None,
            progress: false,
        }
    }
}

impl fmt::Debug for FirebaseExportOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "[redacted]");
        f.debug_struct("FirebaseExportOptions")
            .field("from_file", &self.from_file)
            .field("output_dir", &self.output_dir)
            .field("name_split", &self.name_split)
            .field("include_disabled", &self.include_disabled)
            .field("skip_passwords", &self.skip_passwords)
            .field("signer_key", &redacted(&self.signer_key))
            .field("salt_separator", &redacted(&self.salt_separator))
            .field("rounds", &self.rounds)
            .field("memory_cost", &self.memory_cost)
            .field("org_mapping", &self.org_mapping)
            .field("role_mapping", &self.role_mapping)
            .field("source_tenant", &self.source_tenant)
            .finish()
    }
}

/// Errors of `export firebase`; every message is one line and never shows
/// the signer key, salt separator or a hash.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Options(String),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Write(#[from] PackageWriteError),
    #[error("mapping users: {0}")]
    Sql(DataFusionError),
    #[error("{0}")]
    Internal(String),
}

/// A finished export.
#[derive(Debug, Clone)]
pub struct FirebaseExport {
    /// Absolute package directory.
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Users read from the file (= `users` + `skippedUsers`).
    pub users_read: u64,
}

/// Standard alphabet after mapping `-`/`_`, padding optional.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn check_base64(flag: &str, value: &str, allow_empty: bool) -> Result<(), ExportError> {
    let shown = format!("a {}-character value, not shown", value.chars().count());
    let decoded = LENIENT
        .decode(value.replace('-', "+").replace('_', "/"))
        .map_err(|_| ExportError::Options(format!("{flag} is not valid base64 ({shown})")))?;
    if decoded.is_empty() && !allow_empty {
        return Err(ExportError::Options(format!("{flag} is empty")));
    }
    Ok(())
}

/// Checks the hash options; `Some` when hashes are to be encoded (§7.1: a
/// non-empty signer key and no `--skip-passwords`).
pub fn scrypt_config(o: &FirebaseExportOptions) -> Result<Option<ScryptConfig>, ExportError> {
    if !(1..=8).contains(&o.rounds) {
        return Err(ExportError::Options(format!(
            "--rounds must be between 1 and 8, got {}",
            o.rounds
        )));
    }
    if !(1..=14).contains(&o.memory_cost) {
        return Err(ExportError::Options(format!(
            "--memory-cost must be between 1 and 14, got {}",
            o.memory_cost
        )));
    }
    let signer_key = o.signer_key.as_deref().map(str::trim).unwrap_or_default();
    let salt_separator = o
        .salt_separator
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    if !signer_key.is_empty() {
        check_base64("--signer-key", signer_key, false)?;
    }
    check_base64("--salt-separator", salt_separator, true)?;
    if signer_key.is_empty() || o.skip_passwords {
        return Ok(None);
    }
    Ok(Some(ScryptConfig {
        signer_key: signer_key.to_string(),
        salt_separator: salt_separator.to_string(),
        rounds: o.rounds,
        memory_cost: o.memory_cost,
    }))
}

fn package_options(o: &FirebaseExportOptions, sso: Option<&SsoHandoff>) -> PackageOptions {
    let mut p = PackageOptions::new("firebase");
    p.source_tenant = o.source_tenant.clone().filter(|t| !t.trim().is_empty());
    p.entities_requested = ["users", "organizations", "memberships", "roles"]
        .map(String::from)
        .to_vec();
    p.secret_redaction = Some(no_sso_secret_redaction());
    p.handoff_notes = HandoffNotes::FirebaseWithoutSso;
    if let Some(h) = sso {
        // Notes, secretRedaction / secretsRedacted and `sso` in entitiesRequested.
        h.apply_to(&mut p);
    }
    p
}

/// An export whose inputs have been checked and opened; nothing written yet.
pub struct PreparedExport {
    opts: FirebaseExportOptions,
    scrypt: Option<ScryptConfig>,
    reader: FirebaseReader,
    mappings: UserMappings,
}

impl fmt::Debug for PreparedExport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedExport")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// Checks everything that can be checked locally, in this order: hash
/// options, the input file (up to the start of its `users` array), the
/// mapping CSVs. Nothing is written.
pub fn prepare_export(opts: &FirebaseExportOptions) -> Result<PreparedExport, ExportError> {
    let scrypt = scrypt_config(opts)?;
    let reader = FirebaseReader::open(&opts.from_file)?;
    let mappings = UserMappings::load(
        opts.org_mapping.as_deref(),
        opts.role_mapping.as_deref(),
        "firebase_uid",
    )?;
    Ok(PreparedExport {
        opts: opts.clone(),
        scrypt,
        reader,
        mappings,
    })
}

/// [`prepare_export`] then [`PreparedExport::run`].
pub fn export_firebase(
    opts: &FirebaseExportOptions,
    sso: Option<SsoHandoff>,
) -> Result<FirebaseExport, ExportError> {
    prepare_export(opts)?.run(sso)
}

impl PreparedExport {
    /// Writes the package; see the module docs.
    pub fn run(self, sso: Option<SsoHandoff>) -> Result<FirebaseExport, ExportError> {
        let Self {
            opts,
            scrypt,
            reader,
            mappings,
        } = self;
        let dir = std::path::absolute(&opts.output_dir).unwrap_or_else(|_| opts.output_dir.clone());
        let mut pkg = MigrationPackageWriter::create(&dir, package_options(&opts, sso.as_ref()))?;
        let mapping = MappingOptions {
            name_split: opts.name_split,
            include_disabled: opts.include_disabled,
            skip_passwords: opts.skip_passwords,
            have_scrypt: scrypt.is_some(),
        };
        let mut users = UserWriter {
            mappings: &mappings,
            identity: IdentityRows::new(),
            users_read: 0,
            next_index: 0,
        };
        stream_users(
            reader,
            &mut pkg,
            &mut users,
            &mapping,
            scrypt.as_ref(),
            opts.progress,
        )?;
        let users_read = users.users_read;
        users.identity.finish(&mut pkg)?;
        if let Some(h) = &sso {
            h.write_into(&mut pkg)?;
        }
        let manifest = pkg.finish()?;
        debug_assert_eq!(
            users_read,
            manifest.count("users") + manifest.count("skippedUsers")
        );
        Ok(FirebaseExport {
            dir,
            manifest,
            users_read,
        })
    }
}

/// Reader thread → channel → SQL mapping → rows.
fn stream_users(
    reader: FirebaseReader,
    pkg: &mut MigrationPackageWriter,
    users: &mut UserWriter<'_>,
    mapping: &MappingOptions,
    scrypt: Option<&ScryptConfig>,
    show_progress: bool,
) -> Result<(), ExportError> {
    let progress = Progress::new("Firebase users", reader.file_size(), !show_progress);
    let scanned = reader.progress();
    let (tx, rx) = tokio::sync::mpsc::channel::<RecordBatch>(4);
    let failure: Arc<Mutex<Option<ReadError>>> = Arc::default();
    let failure_slot = Arc::clone(&failure);
    let thread = std::thread::Builder::new()
        .name("firebase-reader".into())
        .spawn(move || {
            for item in reader {
                match item {
                    Ok(batch) => {
                        if tx.blocking_send(batch).is_err() {
                            return; // the consumer stopped
                        }
                    }
                    Err(e) => {
                        if let Ok(mut slot) = failure_slot.lock() {
                            *slot = Some(e);
                        }
                        return;
                    }
                }
            }
        })
        .map_err(|e| ExportError::Internal(format!("starting the reader thread: {e}")))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ExportError::Internal(format!("starting the async runtime: {e}")))?;
    let result =
        runtime.block_on(async {
            let input = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|b| (Ok(b), rx))
            });
            let input = Box::pin(RecordBatchStreamAdapter::new(user_schema(), input));
            let mut mapped = map_users(input, mapping).await.map_err(ExportError::Sql)?;
            while let Some(batch) = mapped.next().await {
                let batch = batch.map_err(ExportError::Sql)?;
                let batch = MappedBatch::new(&batch, scrypt).map_err(ExportError::Sql)?;
                users.write_batch(pkg, &batch)?;
                progress.update(scanned.load(Ordering::Relaxed), users.users_read);
            }
            Ok::<(), ExportError>(())
        });
    // The mapped stream (and with it the channel) is dropped: the reader stops.
    let joined = thread.join();
    progress.finish();
    result?;
    if joined.is_err() {
        return Err(ExportError::Internal("the reader thread panicked".into()));
    }
    let failed = failure.lock().ok().and_then(|mut f| f.take());
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Writes mapped users in order.
struct UserWriter<'a> {
    mappings: &'a UserMappings,
    identity: IdentityRows,
    users_read: u64,
    next_index: u64,
}

impl UserWriter<'_> {
    fn write_batch(
        &mut self,
        pkg: &mut MigrationPackageWriter,
        batch: &MappedBatch,
    ) -> Result<(), ExportError> {
        for i in 0..batch.len() {
            let u = batch.row(i);
            if u.user_index != self.next_index {
                return Err(ExportError::Internal(format!(
                    "users out of order: got users[{}], expected users[{}]",
                    u.user_index, self.next_index
                )));
            }
            self.next_index += 1;
            self.users_read += 1;
            if let Some(reason) = u.skip_reason {
                // §1.6: {timestamp, [firebase_uid], [email], reason}; no_email has no email.
                let email = (reason == "disabled_user").then_some(u.email);
                let record = JsonlRecord::skipped()
                    .with_opt("firebase_uid", u.raw_local_id)
                    .with_opt("email", email)
                    .with("reason", reason);
                pkg.skip(&record)?;
                continue;
            }
            let uid = u.external_id;
            let shown_uid = if uid.is_empty() { "(no localId)" } else { uid };
            let uid_opt = (!uid.is_empty()).then_some(uid);
            let (hash, hash_type) = match u.password {
                Password::Hash(h) => (h, "firebase-scrypt"),
                Password::MissingScryptParameters => {
                    let message = format!(
                        "No scrypt parameters provided for user {shown_uid}; password omitted."
                    );
                    let record = JsonlRecord::warning("missing_scrypt_parameters", &message)
                        .with_opt("firebase_uid", uid_opt)
                        .with("email", u.email);
                    pkg.warn(&record)?;
                    ("", "")
                }
                Password::Invalid(reason) => {
                    let message =
                        format!("Password hash of user {shown_uid} cannot be used ({reason}); password omitted.");
                    let record = JsonlRecord::warning("invalid_password_hash", &message)
                        .with_opt("firebase_uid", uid_opt)
                        .with("email", u.email);
                    pkg.warn(&record)?;
                    ("", "")
                }
                Password::None => ("", ""),
            };
            let org = uid_opt.and_then(|id| self.mappings.org(id));
            let roles: &[String] = uid_opt.map_or(&[], |id| self.mappings.roles(id));
            let slugs = roles.join(",");
            let org_ext = org
                .and_then(|o| o.org_external_id.as_deref())
                .unwrap_or_default();
            // users.csv carries the WorkOS org id only when the mapping has no
            // external id (org_id and org_external_id are exclusive; §17.17).
            let org_id = match org {
                Some(o) if o.org_external_id.is_none() => o.org_id.as_deref().unwrap_or_default(),
                _ => "",
            };
            let org_name = org.and_then(|o| o.org_name.as_deref()).unwrap_or_default();
            pkg.write_row(
                &USERS,
                &[
                    u.email,
                    "",
                    hash,
                    hash_type,
                    u.first_name,
                    u.last_name,
                    u.email_verified,
                    uid,
                    u.metadata,
                    org_id,
                    org_ext,
                    org_name,
                    &slugs,
                ],
            )?;
            pkg.upload()
                .user(
                    uid,
                    u.email,
                    u.email_verified,
                    u.first_name,
                    u.last_name,
                    hash,
                )
                .map_err(PackageWriteError::from)?;
            self.identity.write_user(pkg, u.email, uid, org, roles)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_checks_never_show_secrets() {
        let mut o = FirebaseExportOptions::new("x.json", "out");
        o.signer_key = Some("not*base64*secret".into());
        let e = scrypt_config(&o).unwrap_err().to_string();
        assert_eq!(
            e,
            "--signer-key is not valid base64 (a 17-character value, not shown)"
        );
        o.signer_key = Some(" a2V5 ".into());
        o.salt_separator = Some("%%".into());
        assert!(scrypt_config(&o)
            .unwrap_err()
            .to_string()
            .starts_with("--salt-separator is not valid base64"));
        o.salt_separator = None;
        let c = scrypt_config(&o).unwrap().unwrap();
        assert_eq!(
            (
                c.signer_key.as_str(),
                c.salt_separator.as_str(),
                c.rounds,
                c.memory_cost
            ),
            ("a2V5", "", 8, 14)
        );
        assert!(!format!("{o:?} {c:?}").contains("a2V5"));
        o.skip_passwords = true;
        assert!(scrypt_config(&o).unwrap().is_none());
        o.rounds = 0;
        assert_eq!(
            scrypt_config(&o).unwrap_err().to_string(),
            "--rounds must be between 1 and 8, got 0"
        );
        o.rounds = 8;
        o.memory_cost = 99;
        assert_eq!(
            scrypt_config(&o).unwrap_err().to_string(),
            "--memory-cost must be between 1 and 14, got 99"
        );
    }

    #[test]
    fn sso_handoff_adds_rows_notes_and_redaction() {
        use crate::package::manifest::SecretRedaction;
        use crate::sources::sso::SamlConnectionRow;
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("users.json");
        std::fs::write(&input, br#"{"users":[{"localId":"u1","email":"a@x.com","passwordHash":"aGFzaA==","salt":"c2FsdA=="},{"localId":"u2"}]}"#).unwrap();
        let redaction = SecretRedaction {
            mode: "redacted".into(),
            redacted: true,
            redacted_fields: None,
            files: None,
            notes: Some(vec!["n".into()]),
        };
        let notes = HandoffNotes::FirebaseWithSso {
            fetched: 1,
            saml: 1,
            oidc: 0,
            skipped: 0,
            scopes: vec![],
            secrets_included: false,
        };
        let mut h = SsoHandoff::new(notes, redaction, true);
        h.saml.push(SamlConnectionRow {
            name: "okta".into(),
            ..Default::default()
        });
        h.warnings
            .push(JsonlRecord::warning("secrets_redacted", "redacted"));
        let o = FirebaseExportOptions::new(&input, d.path().join("pkg"));
        let r = export_firebase(&o, Some(h)).unwrap();
        assert_eq!(r.users_read, 2);
        assert_eq!(
            r.manifest.entities_requested,
            ["users", "organizations", "memberships", "roles", "sso"]
        );
        assert_eq!(r.manifest.count("samlConnections"), 1);
        assert_eq!(
            r.manifest
                .secret_redaction
                .as_ref()
                .map(|s| s.mode.as_str()),
            Some("redacted")
        );
        // User warnings first, then the SSO ones.
        assert_eq!(r.manifest.count("warnings"), 2);
        let warnings = std::fs::read_to_string(r.dir.join("warnings.jsonl")).unwrap();
        let codes: Vec<&str> = warnings
            .lines()
            .map(|l| {
                if l.contains("secrets_redacted") {
                    "sso"
                } else {
                    "user"
                }
            })
            .collect();
        assert_eq!(codes, ["user", "sso"]);
        let notes = std::fs::read_to_string(r.dir.join("sso/handoff_notes.md")).unwrap();
        assert!(notes.contains("returned 1 provider config(s)"), "{notes}");
        let report = crate::package::validator::validate_package(&r.dir, Default::default());
        assert!(report.is_valid(), "{:?}", report.issues);
    }
}
