//! `export clerk`: a Clerk dashboard CSV → a migration package
//! (export-and-package.md §6.3, §1.5, §1.7, §11).
//!
//! Everything that can fail on the input (missing file, header, mapping
//! files, option values) is checked before the package directory is touched;
//! a failure later (a ragged row on line 900,000) leaves the directory without
//! `manifest.json`, so it never looks like a complete package.
//!
//! Conservation: every data row of the input ends up either in `users.csv` or
//! in `skipped_users.jsonl` (reason `no_email`); [`ExportSummary`] reports
//! both numbers.

use std::ops::Range;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use futures::StreamExt;

use super::hashers::{convert_password, PasswordOutcome, ScryptParams};
use super::mapping::{
    clerk_stream, col, email_verified, metadata_cell, metadata_limits, password_warning, OutColumns,
};
use super::reader::{ClerkReadError, ClerkReader};
use crate::package::csv_writer::{push_cell, push_field, push_record as push_csv_record};
use crate::package::jsonl::push_record;
use crate::package::limits::{row_warnings, shown, UserCells};
use crate::package::manifest::{iso_now, SecretRedaction};
use crate::package::schema::TOTP_SECRETS;
use crate::package::sso::HandoffNotes;
use crate::package::upload::push_user_cells;
use crate::package::writer::{BufferPool, EncodedUsers, PackageWriteError};
use crate::package::{Manifest, MigrationPackageWriter, PackageOptions};
use crate::progress::Progress;
use crate::sources::mapping::{IdentityRows, MappingError, UserMappings};
use crate::sources::sso::SsoHandoff;

/// Rows per batch read from the CSV.
pub const BATCH_ROWS: usize = 8192;

/// Errors of a Clerk export; every message is one line and never contains a
/// password digest or TOTP secret.
#[derive(Debug, thiserror::Error)]
pub enum ClerkExportError {
    #[error(transparent)]
    Read(#[from] ClerkReadError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Package(#[from] PackageWriteError),
    #[error("{0}")]
    Options(String),
    #[error("query engine: {0}")]
    Engine(#[from] DataFusionError),
    #[error("starting the query engine: {0}")]
    Runtime(std::io::Error),
}

/// Everything `export clerk` needs.
#[derive(Debug, Clone, Default)]
pub struct ClerkExportOptions {
    pub from_file: PathBuf,
    pub output_dir: PathBuf,
    pub org_mapping: Option<PathBuf>,
    pub role_mapping: Option<PathBuf>,
    pub source_tenant: Option<String>,
    pub scrypt: ScryptParams,
    /// The SSO hand-off of the Clerk Backend API step (§6.4, fetched before
    /// the export by `super::api`): it sets the hand-off notes,
    /// `secretRedaction` and `sso` in `entitiesRequested`, and its rows and
    /// warnings are written after the users. `None` →
    /// [`HandoffNotes::ClerkWithoutSecretKey`].
    pub sso: Option<SsoHandoff>,
    pub quiet: bool,
}

/// The result of a successful export.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    /// Absolute package directory.
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Data rows read from the Clerk CSV.
    pub rows_read: u64,
}

/// `secretRedaction` of a Clerk package (§1.7).
pub fn clerk_secret_redaction() -> SecretRedaction {
    SecretRedaction {
        mode: "not-applicable".into(),
        redacted: true,
        redacted_fields: None,
        files: None,
        notes: Some(vec![
            "Clerk dashboard CSV does not include connection secrets.".into(),
            "Clerk enterprise connections (SAML + OIDC) expose only public material via the Backend API \u{2014} IdP certificates for SAML and client_id + discovery_url for OIDC. No secret material is fetched.".into(),
        ]),
    }
}

fn check_mapping_path(path: Option<&Path>, label: &'static str) -> Result<(), ClerkExportError> {
    match path {
        Some(p) if !p.is_file() => Err(MappingError::NotFound {
            label,
            path: p.to_path_buf(),
        }
        .into()),
        _ => Ok(()),
    }
}

/// Runs the export (blocking; a current-thread runtime drives DataFusion).
pub fn export_clerk(opts: &ClerkExportOptions) -> Result<ExportSummary, ClerkExportError> {
    opts.scrypt.check().map_err(ClerkExportError::Options)?;
    let reader = ClerkReader::open(&opts.from_file, BATCH_ROWS)?;
    check_mapping_path(opts.org_mapping.as_deref(), "Org mapping CSV")?;
    check_mapping_path(opts.role_mapping.as_deref(), "Role mapping CSV")?;
    let mappings = UserMappings::load(
        opts.org_mapping.as_deref(),
        opts.role_mapping.as_deref(),
        "clerk_user_id",
    )?;
    let dir = std::path::absolute(&opts.output_dir).unwrap_or_else(|_| opts.output_dir.clone());
    if dir.exists() && !dir.is_dir() {
        return Err(PackageWriteError::NotADirectory(dir).into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ClerkExportError::Runtime)?;
    run(opts, reader, &mappings, dir, &runtime)
}

fn run(
    opts: &ClerkExportOptions,
    reader: ClerkReader,
    mappings: &UserMappings,
    dir: PathBuf,
    runtime: &tokio::runtime::Runtime,
) -> Result<ExportSummary, ClerkExportError> {
    let total_bytes = reader.total_bytes();
    // Plan before creating the package: an engine error leaves nothing behind.
    let mut planned = runtime.block_on(clerk_stream(reader))?;

    let mut options = PackageOptions {
        provider: "clerk".into(),
        source_tenant: opts.source_tenant.clone().filter(|t| !t.trim().is_empty()),
        entities_requested: ["users", "organizations", "memberships", "roles"]
            .iter()
            .map(|s| (*s).to_string())
            .collect(),
        secrets_redacted: Some(true),
        secret_redaction: Some(clerk_secret_redaction()),
        handoff_notes: HandoffNotes::ClerkWithoutSecretKey,
    };
    if let Some(sso) = &opts.sso {
        sso.apply_to(&mut options);
    }
    let mut pkg = MigrationPackageWriter::create(&dir, options)?;
    let mut identity = IdentityRows::new();
    let progress = Progress::new("clerk", total_bytes, opts.quiet);

    // Stages: the reader thread (inside `planned`) → the SQL on this thread,
    // which hands each batch to a rayon task that encodes its output bytes
    // → the writer thread, which takes them in order and appends them.
    // Channels are bounded.
    let (rows_read, written) = std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Pending>(IN_FLIGHT);
        let pkg = &mut pkg;
        let identity = &mut identity;
        let buffers = BufferPool::new();
        let pool = &buffers.clone();
        let writer = std::thread::Builder::new()
            .name("clerk-writer".into())
            .spawn_scoped(s, move || {
                for pending in rx {
                    let batch = pending.recv().map_err(|_| {
                        ClerkExportError::Runtime(std::io::Error::other(
                            "an encoding task panicked",
                        ))
                    })??;
                    write_batch(pkg, identity, mappings, &batch)?;
                    for part in batch.parts {
                        part.rows.recycle(&buffers);
                    }
                }
                Ok::<(), ClerkExportError>(())
            })
            .map_err(ClerkExportError::Runtime)?;
        let progress = &progress;
        // Encoding tasks borrow the options; the scope waits for them.
        let mapped = rayon::in_place_scope(|scope| {
            runtime.block_on(async {
                let mut rows_read = 0u64;
                while let Some(batch) = planned.stream.next().await {
                    let batch = match batch {
                        Ok(b) => b,
                        Err(e) => {
                            let own = planned.failure.lock().ok().and_then(|mut f| f.take());
                            return Err(match own {
                                Some(read) => read.into(),
                                None => e.into(),
                            });
                        }
                    };
                    rows_read += batch.num_rows() as u64;
                    let (done, pending) = std::sync::mpsc::sync_channel(1);
                    if tx.send(pending).is_err() {
                        break; // the writer failed; its error is reported
                    }
                    scope.spawn(move |_| {
                        let _ = done.send(encode_batch(&batch, &opts.scrypt, mappings, pool));
                    });
                    progress.update(
                        planned.end_byte.load(std::sync::atomic::Ordering::Relaxed),
                        rows_read,
                    );
                }
                drop(tx);
                Ok::<u64, ClerkExportError>(rows_read)
            })
        });
        let written = writer.join();
        Ok::<_, ClerkExportError>((mapped, written))
    })?;
    progress.finish();
    let rows_read = rows_read?;
    match written {
        Ok(r) => r?,
        Err(_) => {
            return Err(ClerkExportError::Runtime(std::io::Error::other(
                "the writer thread panicked",
            )))
        }
    }
    identity.finish(&mut pkg)?;
    if let Some(sso) = &opts.sso {
        sso.write_into(&mut pkg)?;
    }
    let manifest = pkg.finish()?;
    Ok(ExportSummary {
        dir,
        manifest,
        rows_read,
    })
}

/// Batches in flight between the SQL and the writer.
const IN_FLIGHT: usize = 8;

/// One batch being encoded: its result arrives on this channel.
type Pending = std::sync::mpsc::Receiver<Result<EncodedBatch, ClerkExportError>>;

/// The output bytes of a run of rows, one buffer per file.
#[derive(Default)]
struct EncodedPart {
    rows: EncodedUsers,
    totp: Vec<u8>,
    totp_rows: u64,
    /// Exported rows with an org or role mapping.
    identity_rows: Vec<u32>,
}

/// One SQL output batch, encoded.
struct EncodedBatch {
    cols: OutColumns,
    parts: Vec<EncodedPart>,
}

/// Encodes a batch of [`super::mapping::CLERK_SQL`] output (one rayon task;
/// batches are encoded in parallel).
fn encode_batch(
    batch: &RecordBatch,
    scrypt: &ScryptParams,
    mappings: &UserMappings,
    buffers: &BufferPool,
) -> Result<EncodedBatch, ClerkExportError> {
    let cols = OutColumns::new(batch)?;
    let parts = vec![encode_part(&cols, 0..cols.len(), scrypt, mappings, buffers)];
    Ok(EncodedBatch { cols, parts })
}

/// §6.3 steps 1–7 for a run of rows, as the bytes of each file (the same
/// rules as [`map_row`] followed by the package writes).
fn encode_part(
    cols: &OutColumns,
    rows: Range<usize>,
    scrypt: &ScryptParams,
    mappings: &UserMappings,
    buffers: &BufferPool,
) -> EncodedPart {
    let n = rows.len();
    let mut p = EncodedPart {
        rows: EncodedUsers::with_capacity(buffers, n, 320, 160),
        ..EncodedPart::default()
    };
    let timestamp = iso_now();
    let mut scratch = Vec::with_capacity(256);
    let mut slugs = String::new();
    let no_mappings = mappings.is_empty();
    for row in rows {
        let get = |c: usize| cols.get(row, c);
        let id = get(col::ID);
        let email = get(col::EMAIL);
        if email.is_empty() {
            push_record(
                &mut p.rows.skipped,
                &[
                    ("timestamp", &timestamp),
                    ("clerk_user_id", id),
                    ("reason", "no_email"),
                ],
            );
            p.rows.skipped_rows += 1;
            continue;
        }
        let cells = UserCells {
            email,
            first_name: get(col::FIRST_NAME),
            last_name: get(col::LAST_NAME),
            external_id: id,
        };
        if let Some(over) = cells.oversized() {
            let error = over.error();
            let mut pairs = vec![("timestamp", timestamp.as_str())];
            if let Some(id) = shown(id) {
                pairs.push(("clerk_user_id", id));
            }
            pairs.push(("reason", over.reason()));
            pairs.push(("error", &error));
            push_record(&mut p.rows.skipped, &pairs);
            p.rows.skipped_rows += 1;
            continue;
        }
        for w in row_warnings(&cells, &metadata_limits(cols, row)) {
            push_record(
                &mut p.rows.warnings,
                &[
                    ("timestamp", &timestamp),
                    ("code", w.code),
                    ("message", &w.message),
                    ("clerk_user_id", id),
                    ("email", email),
                ],
            );
            p.rows.warning_rows += 1;
        }
        let hasher = get(col::HASHER);
        let outcome = convert_password(hasher, get(col::DIGEST), scrypt);
        if let Some(message) = password_warning(&outcome, hasher, id) {
            push_record(
                &mut p.rows.warnings,
                &[
                    ("timestamp", &timestamp),
                    ("code", "unsupported_password_hasher"),
                    ("message", &message),
                    ("clerk_user_id", id),
                    ("email", email),
                ],
            );
            p.rows.warning_rows += 1;
        }
        let (hash, hash_type) = match &outcome {
            PasswordOutcome::Hash { hash, kind } => (hash.as_str(), kind.as_str()),
            _ => ("", ""),
        };
        let verified = if email_verified(
            email,
            get(col::VERIFIED_EMAILS),
            get(col::UNVERIFIED_EMAILS),
        ) {
            "true"
        } else {
            "false"
        };
        let (org, roles) = if no_mappings {
            (None, &[][..])
        } else {
            (mappings.org(id), mappings.roles(id))
        };
        let org_ext = org.and_then(|o| o.org_external_id.as_deref()).unwrap_or("");
        // org_id xor org_external_id (the import CSV rule): the WorkOS id only
        // when the mapping has no external id.
        let org_id = if org_ext.is_empty() {
            org.and_then(|o| o.org_id.as_deref()).unwrap_or("")
        } else {
            ""
        };
        let org_name = org.and_then(|o| o.org_name.as_deref()).unwrap_or("");
        slugs.clear();
        for (j, r) in roles.iter().enumerate() {
            if j > 0 {
                slugs.push(',');
            }
            slugs.push_str(r);
        }
        let (first_name, last_name) = (get(col::FIRST_NAME), get(col::LAST_NAME));
        let out = &mut p.rows.users;
        let email_at = push_cell(out, email);
        out.push(b',');
        let hash_at = push_cell(out, hash);
        push_cell(out, hash_type);
        let first_at = push_cell(out, first_name);
        let last_at = push_cell(out, last_name);
        let verified_at = push_cell(out, verified);
        let id_at = push_cell(out, id);
        metadata_cell(cols, row, out, &mut scratch);
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
        if !id.is_empty() && !email.is_empty() {
            push_user_cells(
                &mut p.rows.upload,
                &p.rows.users,
                [id_at, email_at, verified_at, first_at, last_at, hash_at],
            );
            p.rows.upload_rows.push(row as u32);
        }
        if org.is_some() || !roles.is_empty() {
            p.identity_rows.push(row as u32);
        }
        let totp = get(col::TOTP_SECRET);
        if !totp.is_empty() {
            push_csv_record(&mut p.totp, &[email, totp, "", email]);
            p.totp_rows += 1;
        }
    }
    p
}

/// The writer thread's side: appends an encoded batch to the package files.
fn write_batch(
    pkg: &mut MigrationPackageWriter,
    identity: &mut IdentityRows,
    mappings: &UserMappings,
    batch: &EncodedBatch,
) -> Result<(), ClerkExportError> {
    let cols = &batch.cols;
    for part in &batch.parts {
        let upload_ids = part
            .rows
            .upload_rows
            .iter()
            .map(|&row| cols.get(row as usize, col::ID));
        pkg.write_encoded_users(&part.rows, upload_ids)?;
        for &row in &part.identity_rows {
            let row = row as usize;
            let id = cols.get(row, col::ID);
            let email = cols.get(row, col::EMAIL);
            identity.write_user(pkg, email, id, mappings.org(id), mappings.roles(id))?;
        }
        if part.totp_rows > 0 {
            pkg.write_encoded(&TOTP_SECRETS, &part.totp, part.totp_rows)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::jsonl::JsonlRecord;

    #[test]
    fn exports_a_small_file_with_mappings() {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("clerk.csv");
        std::fs::write(
            &input,
            "id,primary_email_address,first_name,last_name,totp_secret,password_digest,password_hasher,unverified_email_addresses\n\
             u1, A@X.com ,Ann,Lee,JBSWY3DPEHPK3PXP,$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy,bcrypt,a@x.com\n\
             u2,,,,,,,\n\
             u3,c@x.com,,,,5f4dcc3b5aa765d61d8327deb882cf99,md5,\n",
        )
        .unwrap();
        let orgs = d.path().join("orgs.csv");
        std::fs::write(
            &orgs,
            "clerk_user_id,org_id,org_external_id,org_name\nu1,org_01,acme,Acme\nu3,org_02,,Beta\n",
        )
        .unwrap();
        let roles = d.path().join("roles.csv");
        std::fs::write(&roles, "clerk_user_id,role_slug\nu1,admin\nu1,member\n").unwrap();
        let opts = ClerkExportOptions {
            from_file: input,
            output_dir: d.path().join("pkg"),
            org_mapping: Some(orgs),
            role_mapping: Some(roles),
            source_tenant: Some("acme-prod".into()),
            quiet: true,
            ..Default::default()
        };
        let s = export_clerk(&opts).unwrap();
        let m = &s.manifest;
        assert_eq!(s.rows_read, 3);
        assert_eq!(
            (
                m.count("users"),
                m.count("skippedUsers"),
                m.count("warnings")
            ),
            (2, 1, 1)
        );
        assert_eq!(
            (
                m.count("organizations"),
                m.count("memberships"),
                m.count("totpSecrets")
            ),
            (2, 2, 1)
        );
        assert_eq!(
            (m.count("roleDefinitions"), m.count("userRoleAssignments")),
            (2, 2)
        );
        assert_eq!(
            m.entities_requested,
            ["users", "organizations", "memberships", "roles"]
        );
        let users = std::fs::read_to_string(s.dir.join("users.csv")).unwrap();
        let lines: Vec<&str> = users.lines().collect();
        assert_eq!(
            lines[1],
            r#"a@x.com,,$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy,bcrypt,Ann,Lee,false,u1,"{""clerk_user_id"":""u1"",""unverified_email_addresses"":""a@x.com""}",,acme,Acme,"admin,member""#
        );
        assert_eq!(
            lines[2],
            r#"c@x.com,,,,,,true,u3,"{""clerk_user_id"":""u3""}",org_02,,Beta,"#
        );
        assert!(!users.contains("JBSWY3DPEHPK3PXP"));
        let notes = std::fs::read_to_string(s.dir.join("sso/handoff_notes.md")).unwrap();
        assert_eq!(notes, HandoffNotes::ClerkWithoutSecretKey.render());
        let report = crate::package::validator::validate_package(&s.dir, Default::default());
        assert!(report.is_valid(), "{:?}", report.issues);
    }

    #[test]
    fn sso_hook_adds_entity_rows_and_notes() {
        use crate::package::sso::ClerkSsoCounts;
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("clerk.csv");
        std::fs::write(&input, "id,primary_email_address\nu1,a@x.com\n").unwrap();
        let counts = ClerkSsoCounts {
            fetched: 2,
            saml: 0,
            oidc: 0,
            skipped: 2,
        };
        let mut sso = SsoHandoff::new(
            HandoffNotes::ClerkWithSecretKey(counts),
            clerk_secret_redaction(),
            true,
        );
        sso.warnings.push(JsonlRecord::warning(
            "incomplete_connection_configuration",
            "skipped one",
        ));
        let opts = ClerkExportOptions {
            from_file: input,
            output_dir: d.path().join("pkg"),
            sso: Some(sso),
            quiet: true,
            ..Default::default()
        };
        let s = export_clerk(&opts).unwrap();
        assert_eq!(
            s.manifest.entities_requested.last().map(String::as_str),
            Some("sso")
        );
        assert_eq!(
            (s.manifest.count("users"), s.manifest.count("warnings")),
            (1, 1)
        );
        let on_disk =
            Manifest::from_slice(&std::fs::read(s.dir.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(on_disk.warnings, ["skipped one"]);
        let notes = std::fs::read_to_string(s.dir.join("sso/handoff_notes.md")).unwrap();
        assert!(notes.contains("returned 2 enterprise connection(s)"));
        assert!(crate::package::validator::validate_package(&s.dir, Default::default()).is_valid());
    }

    #[test]
    fn bad_inputs_create_no_package() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("pkg");
        let opts = |from: PathBuf| ClerkExportOptions {
            from_file: from,
            output_dir: out.clone(),
            quiet: true,
            ..Default::default()
        };
        let e = export_clerk(&opts(d.path().join("missing.csv")))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("Clerk export CSV not found:"), "{e}");
        let input = d.path().join("c.csv");
        std::fs::write(&input, "id,primary_email_address\n").unwrap();
        let mut o = opts(input);
        o.org_mapping = Some(d.path().join("nope.csv"));
        let e = export_clerk(&o).unwrap_err().to_string();
        assert!(e.starts_with("Org mapping CSV not found:"), "{e}");
        assert!(!out.exists());
    }
}
