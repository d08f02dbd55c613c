//! [`MigrationPackageWriter`]: writes a complete package directory.
//!
//! Order of work (export-and-package.md §0.5): any old `manifest.json` is
//! removed first, every canonical file is created (header-only CSVs, empty
//! JSONL files), rows are streamed in, the `workos_upload/` projection and
//! hand-off notes are written, and the manifest goes last, through a temporary
//! file and a rename. A run that fails or is killed part-way therefore never
//! leaves a directory that looks like a complete package. Every file is
//! created with mode 0600: packages hold password hashes and TOTP secrets.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use super::csv_writer::{CsvWriteError, PackageCsvWriter};
use super::jsonl::{JsonlRecord, JsonlWriter};
use super::manifest::{warning_messages, Manifest, ManifestError, SecretRedaction};
use super::schema::{
    csv_files, PackageFile, HANDOFF_NOTES, MANIFEST, SKIPPED_USERS, UPLOAD_MEMBERSHIPS,
    UPLOAD_ORGANIZATIONS, UPLOAD_USERS, WARNINGS,
};
use super::sso::HandoffNotes;
use super::upload::{UploadError, UploadFile, UploadProjection};

/// Errors while writing a package; each names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum PackageWriteError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    Csv {
        path: PathBuf,
        source: CsvWriteError,
    },
    #[error("{path}: {source}")]
    Manifest {
        path: PathBuf,
        source: ManifestError,
    },
    #[error("workos_upload projection: {0}")]
    Upload(#[from] UploadError),
    #[error("Output directory is not empty: {0}. Pass --force to overwrite.")]
    NotEmpty(PathBuf),
    #[error("{0}: exists and is not a directory")]
    NotADirectory(PathBuf),
    #[error("{0} is not a CSV file of the package")]
    NotCsv(&'static str),
}

/// What the manifest says about the package beyond its counts.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    pub provider: String,
    pub source_tenant: Option<String>,
    pub entities_requested: Vec<String>,
    /// Explicit `secretsRedacted`; defaults to `secret_redaction.redacted`, else true.
    pub secrets_redacted: Option<bool>,
    pub secret_redaction: Option<SecretRedaction>,
    pub handoff_notes: HandoffNotes,
}

impl PackageOptions {
    pub fn new(provider: &str) -> Self {
        Self {
            provider: provider.to_string(),
            source_tenant: None,
            entities_requested: Vec::new(),
            secrets_redacted: None,
            secret_redaction: None,
            handoff_notes: HandoffNotes::Default,
        }
    }
}

/// Bytes written to one package file between two background write-backs.
const WRITEBACK_EVERY: u64 = 32 << 20;

/// A package file. Every [`WRITEBACK_EVERY`] bytes it asks a background
/// thread to write its dirty pages back (`fdatasync` on a duplicate handle),
/// so the disk works while rows are still being produced and the final
/// `sync_all` before the manifest has little left to do. Without that, a
/// 1 GB package sat in the page cache until the end and its `fsync` alone
/// took seconds.
pub struct PackageFileSink {
    file: File,
    unsynced: u64,
    flusher: Option<SyncSender<File>>,
}

impl PackageFileSink {
    /// Wraps `file`; `flusher` receives handles to write back.
    pub fn new(file: File, flusher: Option<SyncSender<File>>) -> Self {
        Self {
            file,
            unsynced: 0,
            flusher,
        }
    }

    /// Flushes data and metadata to disk.
    pub fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    /// Asks the background thread to write back what was written so far
    /// (best effort), so that a `sync_all` later has less to wait for.
    pub fn start_writeback(&mut self) {
        self.unsynced = 0;
        if let Some(tx) = &self.flusher {
            if let Ok(dup) = self.file.try_clone() {
                let _ = tx.try_send(dup);
            }
        }
    }
}

impl Write for PackageFileSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.unsynced += n as u64;
        if self.unsynced >= WRITEBACK_EVERY {
            // Best effort: a full queue or a failed dup only delays the
            // write-back to the final sync.
            self.start_writeback();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The buffered writer of a package file.
pub type FileWriter = BufWriter<PackageFileSink>;

/// Byte buffers handed back and forth between encoders (which fill them in
/// parallel) and the thread that writes them, so that each batch does not
/// fault in fresh pages for its output.
#[derive(Debug, Clone)]
pub struct BufferPool {
    free: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    /// Buffers kept at most.
    limit: usize,
}

impl Default for BufferPool {
    fn default() -> Self {
        Self::with_limit(POOL_LIMIT)
    }
}

/// The bytes of a run of exported users, one buffer per file, encoded off
/// the writer thread (see [`MigrationPackageWriter::write_encoded_users`]).
#[derive(Debug, Default)]
pub struct EncodedUsers {
    /// `users.csv` records.
    pub users: Vec<u8>,
    pub user_rows: u64,
    /// `workos_upload/users.csv` records, and the row (in the batch) of each.
    pub upload: Vec<u8>,
    pub upload_rows: Vec<u32>,
    pub skipped: Vec<u8>,
    pub skipped_rows: u64,
    pub warnings: Vec<u8>,
    pub warning_rows: u64,
}

impl EncodedUsers {
    /// Empty buffers for `n` rows, the two big ones from `pool` with room
    /// for `users_bytes` / `upload_bytes` per row.
    pub fn with_capacity(
        pool: &BufferPool,
        n: usize,
        users_bytes: usize,
        upload_bytes: usize,
    ) -> Self {
        Self {
            users: pool.take(n * users_bytes),
            upload: pool.take(n * upload_bytes),
            upload_rows: Vec::with_capacity(n),
            ..Self::default()
        }
    }

    /// Returns the two big buffers to `pool`.
    pub fn recycle(self, pool: &BufferPool) {
        pool.give(self.users);
        pool.give(self.upload);
    }
}

/// Buffers kept at most by a [`BufferPool::new`].
const POOL_LIMIT: usize = 16;

impl BufferPool {
    pub fn new() -> Self {
        Self::default()
    }

    /// A pool keeping at most `limit` free buffers (memory: `limit` times
    /// the largest buffer given back).
    pub fn with_limit(limit: usize) -> Self {
        Self {
            free: Default::default(),
            limit,
        }
    }

    /// An empty buffer, reused when one is free.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        let reused = self.free.lock().ok().and_then(|mut f| f.pop());
        match reused {
            Some(mut b) => {
                b.reserve(capacity);
                b
            }
            None => Vec::with_capacity(capacity),
        }
    }

    /// Returns a buffer for reuse (dropped when the pool is full).
    pub fn give(&self, mut buf: Vec<u8>) {
        buf.clear();
        if buf.capacity() == 0 {
            return;
        }
        if let Ok(mut f) = self.free.lock() {
            if f.len() < self.limit {
                f.push(buf);
            }
        }
    }
}

/// Starts the write-back thread; it ends when every sender is dropped.
fn start_flusher() -> io::Result<(SyncSender<File>, JoinHandle<()>)> {
    let (tx, rx) = sync_channel::<File>(32);
    let handle = std::thread::Builder::new()
        .name("package-writeback".into())
        .spawn(move || {
            for file in rx {
                // Errors surface in the final sync_all.
                let _ = file.sync_data();
            }
        })?;
    Ok((tx, handle))
}

/// Creates `path` for writing with mode 0600 (owner only).
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path)?;
    #[cfg(unix)]
    {
        // `mode` applies only to new files; tighten an existing one too.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// True when `dir` exists and holds at least one entry.
pub fn dir_is_non_empty(dir: &Path) -> io::Result<bool> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Streams rows into a new package; see the module docs.
pub struct MigrationPackageWriter {
    root: PathBuf,
    options: PackageOptions,
    csv: HashMap<&'static str, PackageCsvWriter<FileWriter>>,
    warnings: JsonlWriter<FileWriter>,
    skipped: JsonlWriter<FileWriter>,
    upload: UploadProjection,
    writeback: Option<JoinHandle<()>>,
}

/// Creates the directory `name` inside an existing package `root` (an
/// existing one is fine). Unlike `create_dir_all` it never creates `root`
/// again: a package removed by an interrupt handler while the export still
/// runs stays removed (the call fails instead).
pub fn create_package_subdir(root: &Path, name: &str) -> io::Result<std::path::PathBuf> {
    let dir = root.join(name);
    match fs::create_dir(&dir) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(dir),
        Err(e) => Err(e),
        Ok(()) => Ok(dir),
    }
}

impl MigrationPackageWriter {
    /// Prepares `root` (created if missing). Fails when `root` is a file.
    pub fn create(root: &Path, options: PackageOptions) -> Result<Self, PackageWriteError> {
        let io_at = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PackageWriteError::Io { path, source }
        };
        if root.exists() && !root.is_dir() {
            return Err(PackageWriteError::NotADirectory(root.to_path_buf()));
        }
        fs::create_dir_all(root).map_err(io_at(root))?;
        let manifest_path = root.join(MANIFEST.path);
        match fs::remove_file(&manifest_path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_at(&manifest_path)(e)),
        }
        for sub in ["sso", "workos_upload"] {
            let d = root.join(sub);
            fs::create_dir_all(&d).map_err(io_at(&d))?;
        }
        let (flusher, writeback) = match start_flusher() {
            Ok((tx, handle)) => (Some(tx), Some(handle)),
            // Without the thread, files are written back at the final sync.
            Err(_) => (None, None),
        };
        let open = |file: &PackageFile| -> Result<FileWriter, PackageWriteError> {
            let path = root.join(file.path);
            let f = create_private_file(&path).map_err(io_at(&path))?;
            let sink = PackageFileSink::new(f, flusher.clone());
            Ok(BufWriter::with_capacity(64 * 1024, sink))
        };
        let mut csv = HashMap::new();
        for file in csv_files() {
            let w = PackageCsvWriter::new(open(file)?, file.header).map_err(|source| {
                PackageWriteError::Csv {
                    path: root.join(file.path),
                    source,
                }
            })?;
            csv.insert(file.key, w);
        }
        let warnings = JsonlWriter::new(open(&WARNINGS)?);
        let skipped = JsonlWriter::new(open(&SKIPPED_USERS)?);
        let mut take = |f: &PackageFile| -> Result<UploadFile, PackageWriteError> {
            let writer = csv.remove(f.key).ok_or(PackageWriteError::NotCsv(f.key))?;
            Ok(UploadFile {
                path: root.join(f.path),
                writer,
            })
        };
        let upload = UploadProjection::new(
            take(&UPLOAD_USERS)?,
            take(&UPLOAD_ORGANIZATIONS)?,
            take(&UPLOAD_MEMBERSHIPS)?,
        )?;
        Ok(Self {
            root: root.to_path_buf(),
            options,
            csv,
            warnings,
            skipped,
            upload,
            writeback,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes one row to a canonical CSV (width must match its header).
    pub fn write_row(
        &mut self,
        file: &PackageFile,
        fields: &[&str],
    ) -> Result<(), PackageWriteError> {
        let root = &self.root;
        let w = self
            .csv
            .get_mut(file.key)
            .ok_or(PackageWriteError::NotCsv(file.key))?;
        w.write_record(fields.iter().copied())
            .map_err(|source| PackageWriteError::Csv {
                path: root.join(file.path),
                source,
            })
    }

    /// Appends `rows` records already encoded with
    /// [`super::csv_writer::push_record`] to a canonical CSV (the caller
    /// guarantees the width). Lets exporters encode rows in parallel.
    pub fn write_encoded(
        &mut self,
        file: &PackageFile,
        bytes: &[u8],
        rows: u64,
    ) -> Result<(), PackageWriteError> {
        let root = &self.root;
        let w = self
            .csv
            .get_mut(file.key)
            .ok_or(PackageWriteError::NotCsv(file.key))?;
        w.write_encoded(bytes, rows)
            .map_err(|source| PackageWriteError::Csv {
                path: root.join(file.path),
                source,
            })
    }

    /// Appends a run of users encoded in parallel: `users.csv` rows, their
    /// upload rows (`upload_ids`: the external id of each, in order),
    /// skipped-user and warning records.
    pub fn write_encoded_users<'a>(
        &mut self,
        part: &EncodedUsers,
        upload_ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), PackageWriteError> {
        self.write_encoded(&super::schema::USERS, &part.users, part.user_rows)?;
        self.upload().extend_users(&part.upload, upload_ids)?;
        if part.skipped_rows > 0 {
            self.skip_encoded(&part.skipped, part.skipped_rows)?;
        }
        if part.warning_rows > 0 {
            self.warn_encoded(&part.warnings, part.warning_rows)?;
        }
        Ok(())
    }

    /// Appends `records` warning lines encoded with [`super::jsonl::push_record`].
    pub fn warn_encoded(&mut self, bytes: &[u8], records: u64) -> Result<(), PackageWriteError> {
        let path = &self.root;
        self.warnings
            .write_encoded(bytes, records)
            .map_err(|source| PackageWriteError::Io {
                path: path.join(WARNINGS.path),
                source,
            })
    }

    /// Appends `records` skipped-user lines encoded with [`super::jsonl::push_record`].
    pub fn skip_encoded(&mut self, bytes: &[u8], records: u64) -> Result<(), PackageWriteError> {
        let path = &self.root;
        self.skipped
            .write_encoded(bytes, records)
            .map_err(|source| PackageWriteError::Io {
                path: path.join(SKIPPED_USERS.path),
                source,
            })
    }

    /// The streaming writer of a canonical CSV (for whole Arrow batches).
    pub fn csv_writer(
        &mut self,
        file: &PackageFile,
    ) -> Result<&mut PackageCsvWriter<FileWriter>, PackageWriteError> {
        self.csv
            .get_mut(file.key)
            .ok_or(PackageWriteError::NotCsv(file.key))
    }

    /// The `workos_upload/` projection, fed by the exporter row by row.
    pub fn upload(&mut self) -> &mut UploadProjection {
        &mut self.upload
    }

    pub fn warn(&mut self, record: &JsonlRecord) -> Result<(), PackageWriteError> {
        let path = self.root.join(WARNINGS.path);
        self.warnings
            .write(record)
            .map_err(|source| PackageWriteError::Io { path, source })
    }

    pub fn skip(&mut self, record: &JsonlRecord) -> Result<(), PackageWriteError> {
        let path = self.root.join(SKIPPED_USERS.path);
        self.skipped
            .write(record)
            .map_err(|source| PackageWriteError::Io { path, source })
    }

    /// Rows written so far to a canonical CSV.
    pub fn rows(&self, file: &PackageFile) -> u64 {
        self.csv.get(file.key).map_or(0, PackageCsvWriter::rows)
    }

    /// Flushes everything, writes the projection, the hand-off notes and
    /// finally the manifest. Returns the manifest as written.
    pub fn finish(self) -> Result<Manifest, PackageWriteError> {
        let Self {
            root,
            options,
            mut csv,
            mut warnings,
            mut skipped,
            upload,
            writeback,
        } = self;
        let io_at = |path: PathBuf| move |source| PackageWriteError::Io { path, source };
        // Start writing every file back now, so the disk works while the
        // projection de-duplicates; the syncs below then wait for little.
        for file in csv_files() {
            if let Some(w) = csv.get_mut(file.key) {
                let path = root.join(file.path);
                let buffered = w.get_mut();
                buffered.flush().map_err(io_at(path))?;
                buffered.get_mut().start_writeback();
            }
        }
        for (w, file) in [(&mut warnings, &WARNINGS), (&mut skipped, &SKIPPED_USERS)] {
            let buffered = w.get_mut();
            buffered.flush().map_err(io_at(root.join(file.path)))?;
            buffered.get_mut().start_writeback();
        }
        let mut upload = upload;
        upload.start_writeback()?;
        // The projection de-duplicates and syncs the upload CSVs itself.
        let upload_counts = upload.finish()?;

        let mut manifest = Manifest::new(&options.provider, options.entities_requested.clone());
        manifest.source_tenant = options.source_tenant.clone().filter(|t| !t.is_empty());
        manifest.secrets_redacted = options
            .secrets_redacted
            .or(options.secret_redaction.as_ref().map(|r| r.redacted))
            .unwrap_or(true);
        manifest.secret_redaction = options.secret_redaction.clone();
        for (file, count) in [UPLOAD_USERS, UPLOAD_ORGANIZATIONS, UPLOAD_MEMBERSHIPS]
            .iter()
            .zip(upload_counts)
        {
            manifest.set_count(file.key, count);
        }
        for file in csv_files() {
            if let Some(w) = csv.remove(file.key) {
                manifest.set_count(file.key, w.rows());
                let path = root.join(file.path);
                w.finish()
                    .map_err(|source| PackageWriteError::Csv {
                        path: path.clone(),
                        source,
                    })?
                    .into_inner()
                    .map_err(|e| PackageWriteError::Io {
                        path,
                        source: e.into_error(),
                    })?
                    .sync_all()
                    .map_err(io_at(root.join(file.path)))?;
            }
        }
        manifest.set_count(WARNINGS.key, warnings.records());
        manifest.set_count(SKIPPED_USERS.key, skipped.records());
        for (w, file) in [(warnings, &WARNINGS), (skipped, &SKIPPED_USERS)] {
            let path = root.join(file.path);
            w.finish()
                .map_err(io_at(path.clone()))?
                .into_inner()
                .map_err(|e| PackageWriteError::Io {
                    path: path.clone(),
                    source: e.into_error(),
                })?
                .sync_all()
                .map_err(io_at(path))?;
        }
        // Every sink (and with it every sender) is gone: the thread ends.
        if let Some(handle) = writeback {
            let _ = handle.join();
        }

        let notes_path = root.join(HANDOFF_NOTES.path);
        let mut notes = create_private_file(&notes_path).map_err(io_at(notes_path.clone()))?;
        notes
            .write_all(options.handoff_notes.render().as_bytes())
            .map_err(io_at(notes_path))?;

        write_manifest(&root, &manifest)?;
        Ok(manifest)
    }
}

/// Writes `manifest.json` atomically, streaming `warnings` from the
/// package's `warnings.jsonl`.
pub fn write_manifest(root: &Path, manifest: &Manifest) -> Result<(), PackageWriteError> {
    let final_path = root.join(MANIFEST.path);
    let tmp_path = root.join(".manifest.json.tmp");
    let warnings_path = root.join(WARNINGS.path);
    let io_at = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PackageWriteError::Io { path, source }
    };
    let messages = File::open(&warnings_path).map_err(io_at(&warnings_path))?;
    let mut out = BufWriter::new(create_private_file(&tmp_path).map_err(io_at(&tmp_path))?);
    manifest
        .write_streaming(&mut out, warning_messages(BufReader::new(messages)))
        .map_err(|source| PackageWriteError::Manifest {
            path: warnings_path.clone(),
            source,
        })?;
    let file = out.into_inner().map_err(|e| PackageWriteError::Io {
        path: tmp_path.clone(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io_at(&tmp_path))?;
    fs::rename(&tmp_path, &final_path).map_err(io_at(&final_path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::schema::{ORGANIZATIONS, USERS};

    #[test]
    fn writes_counts_projection_and_manifest_last() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("pkg");
        let mut w = MigrationPackageWriter::create(&root, PackageOptions::new("csv")).unwrap();
        assert!(!root.join("manifest.json").exists());
        let row = [
            "a@x.com", "", "", "", "Ann", "Lee", "true", "u1", "", "", "org_a", "Acme", "admin",
        ];
        w.write_row(&USERS, &row).unwrap();
        w.upload()
            .user("u1", "a@x.com", "true", "Ann", "Lee", "")
            .unwrap();
        w.write_row(&ORGANIZATIONS, &["", "org_a", "Acme", "", ""])
            .unwrap();
        w.upload().organization("", "org_a", "Acme").unwrap();
        w.warn(&JsonlRecord::warning("c", "hello \"x\"")).unwrap();
        assert!(w.write_row(&USERS, &["too", "short"]).is_err());
        let m = w.finish().unwrap();
        assert_eq!(m.count("users"), 1);
        assert_eq!(m.count("uploadUsers"), 1);
        assert_eq!(m.count("uploadOrganizations"), 1);
        assert_eq!(m.count("warnings"), 1);
        let text = fs::read_to_string(root.join("manifest.json")).unwrap();
        let back = Manifest::from_slice(text.as_bytes()).unwrap();
        assert_eq!(back.warnings, vec!["hello \"x\"".to_string()]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(root.join("users.csv"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let report = crate::package::validator::validate_package(&root, Default::default());
        assert!(report.is_valid(), "{:?}", report.issues);
    }
}
