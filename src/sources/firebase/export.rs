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
use std::fmt::Write as _;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, Receiver};
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

use crate::package::csv_writer::{push_cell, push_field};
use crate::package::jsonl::push_record;
use crate::package::limits::{row_warnings, shown, UserCells};
use crate::package::manifest::iso_now;
use crate::package::sso::HandoffNotes;
use crate::package::upload::push_user_cells;
use crate::package::writer::{BufferPool, EncodedUsers, PackageWriteError};
use crate::package::{Manifest, MigrationPackageWriter, PackageOptions};
use crate::progress::Progress;
use crate::sources::mapping::{IdentityRows, MappingError, OrgMappingEntry, UserMappings};
use crate::sources::sso::SsoHandoff;

use super::identity_platform::no_sso_secret_redaction;

use super::mapping::{
    map_users, MappedColumns, MappingOptions, NameSplit, PasswordState, ScryptConfig, ScryptEncoder,
};
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
        let mut identity = IdentityRows::new();
        let users_read = stream_users(
            reader,
            &mut pkg,
            &mut identity,
            &mappings,
            &mapping,
            scrypt.as_ref(),
            opts.progress,
        )?;
        identity.finish(&mut pkg)?;
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

/// Batches in flight between two stages.
const IN_FLIGHT: usize = 6;

/// One batch being encoded: its result arrives on this channel.
type Pending = Receiver<Result<EncodedBatch, ExportError>>;

/// Three stages on their own threads, with bounded channels between them:
/// the reader thread (scan, with the parse on rayon) → the SQL mapping on
/// this thread, which hands every mapped batch to a rayon task that encodes
/// its output bytes ([`encode_batch`]) → the writer thread, which takes the
/// encoded batches in order and only appends their bytes to the package
/// files (plus mapping rows, when there are mappings). Returns the number of
/// users read.
fn stream_users(
    reader: FirebaseReader,
    pkg: &mut MigrationPackageWriter,
    identity: &mut IdentityRows,
    mappings: &UserMappings,
    mapping: &MappingOptions,
    scrypt: Option<&ScryptConfig>,
    show_progress: bool,
) -> Result<u64, ExportError> {
    let progress = Progress::new("Firebase users", reader.file_size(), !show_progress);
    let scanned = reader.progress();
    let encoder = scrypt.map(ScryptEncoder::new);
    let buffers = BufferPool::new();
    let ctx = EncodeContext {
        scrypt: encoder.as_ref(),
        mappings,
        buffers: buffers.clone(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<RecordBatch>(IN_FLIGHT);
    let failure: Arc<Mutex<Option<ReadError>>> = Arc::default();
    let failure_slot = Arc::clone(&failure);
    let (result, written, read) = std::thread::scope(|s| {
        let reader_thread = std::thread::Builder::new()
            .name("firebase-reader".into())
            .spawn_scoped(s, move || {
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
        let (enc_tx, enc_rx) = sync_channel::<Pending>(IN_FLIGHT);
        let writer_thread = std::thread::Builder::new()
            .name("firebase-writer".into())
            .spawn_scoped(s, move || {
                let mut w = BatchWriter {
                    pkg,
                    identity,
                    mappings,
                    users_read: 0,
                };
                for pending in enc_rx {
                    let batch = pending
                        .recv()
                        .map_err(|_| ExportError::Internal("an encoding task panicked".into()))??;
                    w.write(&batch)?;
                    for part in batch.parts {
                        part.rows.recycle(&buffers);
                    }
                }
                Ok::<u64, ExportError>(w.users_read)
            })
            .map_err(|e| ExportError::Internal(format!("starting the writer thread: {e}")))?;
        let result = (|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ExportError::Internal(format!("starting the async runtime: {e}")))?;
            let ctx = &ctx;
            let progress = &progress;
            let scanned = &scanned;
            // Encoding tasks borrow the context; the scope waits for them.
            rayon::in_place_scope(|scope| {
                runtime.block_on(async {
                    let input = futures::stream::unfold(rx, |mut rx| async move {
                        rx.recv().await.map(|b| (Ok(b), rx))
                    });
                    let input = Box::pin(RecordBatchStreamAdapter::new(user_schema(), input));
                    let mut mapped = map_users(input, mapping).await.map_err(ExportError::Sql)?;
                    let mut mapped_rows = 0u64;
                    while let Some(batch) = mapped.next().await {
                        let batch = batch.map_err(ExportError::Sql)?;
                        mapped_rows += batch.num_rows() as u64;
                        let (done, pending) = sync_channel(1);
                        if enc_tx.send(pending).is_err() {
                            break; // the writer failed; its error is reported
                        }
                        scope.spawn(move |_| {
                            let _ = done.send(encode_batch(&batch, ctx));
                        });
                        progress.update(scanned.load(Ordering::Relaxed), mapped_rows);
                    }
                    drop(enc_tx);
                    Ok::<(), ExportError>(())
                })
                // The mapped stream (and with it the channel) is dropped
                // here: the reader stops.
            })
        })();
        let written = writer_thread.join();
        let read = reader_thread.join();
        Ok::<_, ExportError>((result, written, read))
    })?;
    progress.finish();
    result?;
    let users_read = match written {
        Ok(r) => r?,
        Err(_) => return Err(ExportError::Internal("the writer thread panicked".into())),
    };
    if read.is_err() {
        return Err(ExportError::Internal("the reader thread panicked".into()));
    }
    let failed = failure.lock().ok().and_then(|mut f| f.take());
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(users_read),
    }
}

/// What the per-row encoding needs.
struct EncodeContext<'a> {
    scrypt: Option<&'a ScryptEncoder>,
    mappings: &'a UserMappings,
    buffers: BufferPool,
}

/// The output bytes of a run of rows, one buffer per file.
#[derive(Default)]
struct EncodedPart {
    rows: EncodedUsers,
    /// Exported rows with an org or role mapping (their rows are written by
    /// the writer thread, which keeps the organization set).
    identity_rows: Vec<u32>,
}

/// One mapped batch, encoded.
struct EncodedBatch {
    cols: MappedColumns,
    parts: Vec<EncodedPart>,
}

/// Encodes a mapped batch (one rayon task; batches are encoded in parallel).
fn encode_batch(batch: &RecordBatch, ctx: &EncodeContext<'_>) -> Result<EncodedBatch, ExportError> {
    let cols = MappedColumns::new(batch).map_err(ExportError::Sql)?;
    let parts = vec![encode_part(&cols, 0..cols.len(), ctx)];
    Ok(EncodedBatch { cols, parts })
}

/// The per-row rules of the export (what `skipped_users.jsonl`,
/// `warnings.jsonl`, `users.csv` and the upload projection get), as bytes.
fn encode_part(cols: &MappedColumns, rows: Range<usize>, ctx: &EncodeContext<'_>) -> EncodedPart {
    let n = rows.len();
    let mut p = EncodedPart {
        rows: EncodedUsers::with_capacity(&ctx.buffers, n, 700, 320),
        ..EncodedPart::default()
    };
    let timestamp = iso_now();
    let mut scratch = Vec::with_capacity(1024);
    let mut phc = String::with_capacity(256);
    let mut message = String::new();
    let mut slugs = String::new();
    let no_mappings = ctx.mappings.is_empty();
    for i in rows {
        let u = cols.user(i);
        if let Some(reason) = u.skip_reason {
            // §1.6: {timestamp, [firebase_uid], [email], reason}; no_email has no email.
            let mut pairs = [("timestamp", timestamp.as_str()); 4];
            let mut k = 1;
            if let Some(id) = u.raw_local_id {
                pairs[k] = ("firebase_uid", id);
                k += 1;
            }
            if reason == "disabled_user" {
                pairs[k] = ("email", u.email);
                k += 1;
            }
            pairs[k] = ("reason", reason);
            push_record(&mut p.rows.skipped, &pairs[..=k]);
            p.rows.skipped_rows += 1;
            continue;
        }
        let cells = UserCells {
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            external_id: u.external_id,
        };
        if let Some(over) = cells.oversized() {
            // Identity keys only when they are not the oversized value.
            let error = over.error();
            let mut pairs = [("timestamp", timestamp.as_str()); 5];
            let mut k = 1;
            if let Some(id) = u.raw_local_id.and_then(shown) {
                pairs[k] = ("firebase_uid", id);
                k += 1;
            }
            if let Some(email) = shown(u.email) {
                pairs[k] = ("email", email);
                k += 1;
            }
            pairs[k] = ("reason", over.reason());
            pairs[k + 1] = ("error", error.as_str());
            push_record(&mut p.rows.skipped, &pairs[..=k + 1]);
            p.rows.skipped_rows += 1;
            continue;
        }
        let uid = u.external_id;
        for w in row_warnings(&cells, &cols.metadata_limits(i, &mut scratch)) {
            let mut pairs = [("timestamp", timestamp.as_str()); 5];
            pairs[1] = ("code", w.code);
            pairs[2] = ("message", w.message.as_str());
            let mut k = 3;
            if !uid.is_empty() {
                pairs[k] = ("firebase_uid", uid);
                k += 1;
            }
            pairs[k] = ("email", u.email);
            push_record(&mut p.rows.warnings, &pairs[..=k]);
            p.rows.warning_rows += 1;
        }
        let shown_uid = if uid.is_empty() { "(no localId)" } else { uid };
        let warning = match cols.password(i, ctx.scrypt, &mut phc) {
            PasswordState::Hash => None,
            PasswordState::None => {
                phc.clear();
                None
            }
            PasswordState::Missing => {
                phc.clear();
                message.clear();
                let _ = write!(
                    message,
                    "No scrypt parameters provided for user {shown_uid}; password omitted."
                );
                Some("missing_scrypt_parameters")
            }
            PasswordState::Invalid(reason) => {
                phc.clear();
                message.clear();
                let _ = write!(
                    message,
                    "Password hash of user {shown_uid} cannot be used ({reason}); password omitted."
                );
                Some("invalid_password_hash")
            }
        };
        if let Some(code) = warning {
            let mut pairs = [("timestamp", timestamp.as_str()); 5];
            pairs[1] = ("code", code);
            pairs[2] = ("message", message.as_str());
            let mut k = 3;
            if !uid.is_empty() {
                pairs[k] = ("firebase_uid", uid);
                k += 1;
            }
            pairs[k] = ("email", u.email);
            push_record(&mut p.rows.warnings, &pairs[..=k]);
            p.rows.warning_rows += 1;
        }
        let hash = phc.as_str();
        let hash_type = if hash.is_empty() {
            ""
        } else {
            "firebase-scrypt"
        };
        let (org, roles): (Option<&OrgMappingEntry>, &[String]) = if no_mappings || uid.is_empty() {
            (None, &[])
        } else {
            (ctx.mappings.org(uid), ctx.mappings.roles(uid))
        };
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
        slugs.clear();
        for (j, r) in roles.iter().enumerate() {
            if j > 0 {
                slugs.push(',');
            }
            slugs.push_str(r);
        }
        let out = &mut p.rows.users;
        let email_at = push_cell(out, u.email);
        out.push(b',');
        // A PHC string that passed the firebase-scrypt check is base64,
        // `$`, `=`, letters and digits: never quoted.
        let hash_at = {
            let start = out.len();
            out.extend_from_slice(hash.as_bytes());
            let cell = start..out.len();
            out.push(b',');
            cell
        };
        push_cell(out, hash_type);
        let first_at = push_cell(out, u.first_name);
        let last_at = push_cell(out, u.last_name);
        let verified_at = push_cell(out, u.email_verified);
        let id_at = push_cell(out, uid);
        cols.metadata_cell(i, out, &mut scratch);
        out.push(b',');
        push_cell(out, org_id);
        push_cell(out, org_ext);
        push_cell(out, org_name);
        push_field(out, &slugs);
        out.push(b'\n');
        p.rows.user_rows += 1;
        // The upload row (user_id, email, email_verified, first_name,
        // last_name, password_hash) reuses the cells just encoded: what
        // `encode_user` would write, without quoting each field again.
        if !uid.is_empty() && !u.email.is_empty() {
            push_user_cells(
                &mut p.rows.upload,
                &p.rows.users,
                [id_at, email_at, verified_at, first_at, last_at, hash_at],
            );
            p.rows.upload_rows.push(i as u32);
        }
        if org.is_some() || !roles.is_empty() {
            p.identity_rows.push(i as u32);
        }
    }
    p
}

/// The writer thread's side: appends encoded batches in order.
struct BatchWriter<'a> {
    pkg: &'a mut MigrationPackageWriter,
    identity: &'a mut IdentityRows,
    mappings: &'a UserMappings,
    users_read: u64,
}

impl BatchWriter<'_> {
    fn write(&mut self, batch: &EncodedBatch) -> Result<(), ExportError> {
        let cols = &batch.cols;
        for (i, &index) in cols.user_index.iter().enumerate() {
            let expected = self.users_read + i as u64;
            if index != expected {
                return Err(ExportError::Internal(format!(
                    "users out of order: got users[{index}], expected users[{expected}]"
                )));
            }
        }
        self.users_read += cols.len() as u64;
        let pkg = &mut *self.pkg;
        for part in &batch.parts {
            let upload_ids = part
                .rows
                .upload_rows
                .iter()
                .map(|&i| cols.user(i as usize).external_id);
            pkg.write_encoded_users(&part.rows, upload_ids)?;
            for &i in &part.identity_rows {
                let u = cols.user(i as usize);
                let uid = u.external_id;
                let org = self.mappings.org(uid);
                let roles = self.mappings.roles(uid);
                self.identity.write_user(pkg, u.email, uid, org, roles)?;
            }
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
        use crate::package::jsonl::JsonlRecord;
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
