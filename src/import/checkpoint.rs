//! Checkpointed import jobs (`--job-id`, `--resume`): the directory
//! `./.workos-checkpoints/<job-id>/` and its files (import.md §2.10).
//!
//! - `outcomes/part-<seq>.parquet` — the source of truth: one row per
//!   finished CSV record (`record_number`, `user_id`, `user_outcome`,
//!   `membership_outcome`, `roles_assigned`, `roles_skipped`, `error_type`,
//!   `error_json`, `warnings`). A part is written under a temporary name and
//!   renamed once every row it holds is finished, every `--chunk-size`
//!   finished rows and at the end. A row is *done* when a part holds it.
//! - `checkpoint.json` — the §2.10 fields (plus `orgExternalId` and
//!   `dryRun`), written atomically (temp + rename); its `chunks` and
//!   `summary` are computed from the done rows, never accumulated twice.
//! - `errors.jsonl` — appended as rows finish; on resume it is rebuilt from
//!   the parts (lines of rows that were not yet in a part are dropped, since
//!   those rows run again).
//!
//! Resume: the CSV's SHA-256 must equal the stored one (else refused), the
//! done rows are loaded into a bitset and skipped, and the counters are
//! recomputed from all parts. After a SIGKILL at any moment, a resume finishes
//! the job with every row done exactly once (rows in flight are redone, and
//! the engine's steps are idempotent). Files are mode 0600, directories 0700.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arrow::array::{
    Array, ArrayRef, RecordBatch, StringArray, StringBuilder, UInt32Array, UInt32Builder,
    UInt64Array, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::engine::{MembershipOutcome, RowOutcome, UserOutcome};
use super::errors::restrict_permissions;
use super::summary::{Counters, RowCounts, Warnings};
use crate::package::csv_reader::{CsvBatchReader, CsvReadError, CsvReadOptions, RaggedRows};

/// Checkpoint root, relative to the working directory.
pub const CHECKPOINT_ROOT: &str = ".workos-checkpoints";

/// Minimum time between two `checkpoint.json` rewrites during a run.
const SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// Errors of checkpoint handling. Messages name the job and the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("Invalid job id {0:?}: use letters, digits, '.', '_' or '-'")]
    InvalidJobId(String),
    #[error("No job ID found to resume. Use --resume <jobId> or --job-id <id>.")]
    NoJobToResume,
    #[error("No checkpoint found for job: {0}")]
    NotFound(String),
    #[error("Job {job} already exists in {dir}; resume it with --resume {job} or choose another --job-id")]
    AlreadyExists { job: String, dir: PathBuf },
    #[error("CSV file has changed since checkpoint was created: job {job} was created from a file with a different SHA-256 than {csv}; refusing to resume")]
    CsvChanged { job: String, csv: PathBuf },
    #[error("Job {job} was created as a {stored} run; resume it {wanted}")]
    DryRunMismatch {
        job: String,
        stored: &'static str,
        wanted: &'static str,
    },
    #[error("Job {job} was created with {flag} {stored:?}; resume it with the same organization (or without the flag)")]
    OrgMismatch {
        job: String,
        flag: &'static str,
        stored: String,
    },
    #[error("{path}: unreadable checkpoint: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {message}")]
    Parquet { path: PathBuf, message: String },
    #[error(transparent)]
    Csv(#[from] CsvReadError),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A job id must be one safe path segment.
pub fn validate_job_id(id: &str) -> Result<(), CheckpointError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(CheckpointError::InvalidJobId(id.to_string()))
    }
}

/// The directory of a job.
pub fn job_dir(root: &Path, job_id: &str) -> PathBuf {
    root.join(job_id)
}

/// The job whose `checkpoint.json` was modified last.
pub fn newest_job(root: &Path) -> Option<String> {
    let mut best: Option<(SystemTime, String)> = None;
    for entry in fs::read_dir(root).ok()?.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Ok(meta) = fs::metadata(entry.path().join("checkpoint.json")) else {
            continue;
        };
        let Ok(mtime) = meta.modified() else {
            continue;
        };
        if best.as_ref().is_none_or(|(t, _)| mtime > *t) {
            best = Some((mtime, name));
        }
    }
    best.map(|(_, name)| name)
}

// ------------------------------------------------------------ CSV scanning

/// A reader that hashes what passes through it.
struct HashingRead<R> {
    inner: R,
    hasher: Option<Sha256>,
}

impl<R: Read> Read for HashingRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Data rows of a CSV as the importer counts them (blank lines skipped,
/// ragged rows counted) and, with `hash`, the SHA-256 hex of its bytes.
pub fn scan_csv(path: &Path, hash: bool) -> Result<(u64, Option<String>), CheckpointError> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut input = HashingRead {
        inner: file,
        hasher: hash.then(Sha256::new),
    };
    let options = CsvReadOptions {
        ragged: RaggedRows::Report,
        ..CsvReadOptions::default()
    };
    let mut rows = 0u64;
    {
        let reader = CsvBatchReader::new(path, &mut input, options)?;
        for batch in reader {
            rows += batch?.num_rows() as u64;
        }
    }
    // The parser may stop before EOF (e.g. a final blank line): hash the rest.
    io::copy(&mut input, &mut io::sink()).map_err(io_err(path))?;
    let digest = input.hasher.map(|h| hex::encode(h.finalize()));
    Ok((rows, digest))
}

/// SHA-256 hex of a file.
pub fn hash_file(path: &Path) -> Result<String, CheckpointError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

// ------------------------------------------------------- checkpoint.json

/// One chunk of `checkpoint.json` (rows `startRow..=endRow`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkEntry {
    pub chunk_id: u64,
    pub start_row: u64,
    pub end_row: u64,
    /// `pending` or `completed` (every row done).
    pub status: String,
    pub successes: u64,
    pub failures: u64,
    pub memberships_created: u64,
    pub users_created: u64,
    pub duplicate_users: u64,
    pub duplicate_memberships: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<i64>,
    pub roles_assigned: u64,
}

/// `summary` of `checkpoint.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSummary {
    pub total: u64,
    pub successes: u64,
    pub failures: u64,
    pub memberships_created: u64,
    pub users_created: u64,
    pub duplicate_users: u64,
    pub duplicate_memberships: u64,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub warnings: Vec<String>,
    pub roles_assigned: u64,
    pub role_assignment_failures: u64,
}

/// `checkpoint.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobFile {
    pub job_id: String,
    pub csv_path: String,
    pub csv_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub chunk_size: u64,
    pub concurrency: u64,
    pub total_rows: u64,
    pub chunks: Vec<ChunkEntry>,
    pub summary: JobSummary,
    /// `single-org`, `multi-org` or `user-only`.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_external_id: Option<String>,
    #[serde(default)]
    pub dry_run: bool,
}

/// What a new job records.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub job_id: String,
    pub csv_path: String,
    pub csv_hash: String,
    pub total_rows: u64,
    pub chunk_size: u64,
    pub concurrency: u64,
    pub mode: String,
    pub org_id: Option<String>,
    pub org_external_id: Option<String>,
    pub dry_run: bool,
}

/// Finished rows as a bitset over record numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoneSet {
    words: Vec<u64>,
    count: u64,
}

impl DoneSet {
    pub fn with_rows(rows: u64) -> Self {
        Self {
            words: vec![0; rows.div_ceil(64) as usize],
            count: 0,
        }
    }

    pub fn contains(&self, record: u64) -> bool {
        let Some(i) = record.checked_sub(1) else {
            return false;
        };
        self.words
            .get((i / 64) as usize)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Marks a row; false if it was already marked.
    pub fn insert(&mut self, record: u64) -> bool {
        let Some(i) = record.checked_sub(1) else {
            return false;
        };
        let word = (i / 64) as usize;
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let bit = 1u64 << (i % 64);
        if self.words[word] & bit != 0 {
            return false;
        }
        self.words[word] |= bit;
        self.count += 1;
        true
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Rows marked within `start..=end`.
    fn count_range(&self, start: u64, end: u64) -> u64 {
        (start..=end).filter(|r| self.contains(*r)).count() as u64
    }
}

/// One finished row waiting for its part file.
#[derive(Debug, Clone)]
struct PartRow {
    record_number: u64,
    user_id: Option<String>,
    user: UserOutcome,
    membership: MembershipOutcome,
    roles_assigned: u32,
    roles_skipped: u32,
    error_type: Option<&'static str>,
    error_json: Option<String>,
    warnings: Option<String>,
}

impl PartRow {
    fn counts(&self) -> RowCounts {
        RowCounts {
            user: Some(self.user),
            membership: Some(self.membership),
            roles_assigned: self.roles_assigned,
            roles_skipped: self.roles_skipped,
            failed: self.error_json.is_some() || self.error_type.is_some(),
        }
    }
}

fn part_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("record_number", DataType::UInt64, false),
        Field::new("user_id", DataType::Utf8, true),
        Field::new("user_outcome", DataType::Utf8, false),
        Field::new("membership_outcome", DataType::Utf8, false),
        Field::new("roles_assigned", DataType::UInt32, false),
        Field::new("roles_skipped", DataType::UInt32, false),
        Field::new("error_type", DataType::Utf8, true),
        Field::new("error_json", DataType::Utf8, true),
        Field::new("warnings", DataType::Utf8, true),
    ]))
}

/// An open job: its file, done rows, counters and the part being filled.
#[derive(Debug)]
pub struct Checkpoint {
    dir: PathBuf,
    job: JobFile,
    done: DoneSet,
    chunks: Vec<Counters>,
    chunk_completed_at: Vec<Option<i64>>,
    totals: Counters,
    warnings: Warnings,
    buffer: Vec<PartRow>,
    flush_every: usize,
    next_seq: u64,
    last_save: Instant,
    /// Problems found while loading (unreadable parts), for the summary.
    pub load_warnings: Vec<String>,
}

impl Checkpoint {
    /// Creates a new job directory; refuses an existing job.
    pub fn create(root: &Path, new: NewJob) -> Result<Self, CheckpointError> {
        validate_job_id(&new.job_id)?;
        let dir = job_dir(root, &new.job_id);
        if dir.join("checkpoint.json").exists() {
            return Err(CheckpointError::AlreadyExists {
                job: new.job_id,
                dir,
            });
        }
        make_private_dir(&dir.join("outcomes"))?;
        make_private_dir(&dir)?;
        let now = epoch_ms();
        let job = JobFile {
            job_id: new.job_id,
            csv_path: new.csv_path,
            csv_hash: new.csv_hash,
            created_at: now,
            updated_at: now,
            chunk_size: new.chunk_size.max(1),
            concurrency: new.concurrency,
            total_rows: new.total_rows,
            chunks: Vec::new(),
            summary: JobSummary {
                started_at: now,
                ..JobSummary::default()
            },
            mode: new.mode,
            org_id: new.org_id,
            org_external_id: new.org_external_id,
            dry_run: new.dry_run,
        };
        let mut cp = Self::from_job(dir, job);
        // A fresh errors.jsonl (a stale one from a deleted job must go).
        write_private(&cp.dir.join("errors.jsonl"), b"")?;
        cp.save()?;
        Ok(cp)
    }

    /// Opens an existing job for resuming: checks the CSV hash and the run
    /// kind, loads the done rows and counters from the parts, rebuilds
    /// `errors.jsonl`.
    pub fn resume(
        root: &Path,
        job_id: &str,
        csv: &Path,
        dry_run: bool,
    ) -> Result<Self, CheckpointError> {
        validate_job_id(job_id)?;
        let dir = job_dir(root, job_id);
        let path = dir.join("checkpoint.json");
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(CheckpointError::NotFound(job_id.to_string()))
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        let job: JobFile = serde_json::from_str(&text).map_err(|e| CheckpointError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if hash_file(csv)? != job.csv_hash {
            return Err(CheckpointError::CsvChanged {
                job: job_id.to_string(),
                csv: csv.to_path_buf(),
            });
        }
        if job.dry_run != dry_run {
            let kind = |d: bool| if d { "dry" } else { "live" };
            return Err(CheckpointError::DryRunMismatch {
                job: job_id.to_string(),
                stored: kind(job.dry_run),
                wanted: if job.dry_run {
                    "with --dry-run"
                } else {
                    "without --dry-run"
                },
            });
        }
        make_private_dir(&dir.join("outcomes"))?;
        let mut cp = Self::from_job(dir, job);
        cp.load_parts()?;
        cp.save()?;
        Ok(cp)
    }

    fn from_job(dir: PathBuf, job: JobFile) -> Self {
        let size = job.chunk_size.max(1);
        let n_chunks = job.total_rows.div_ceil(size) as usize;
        Self {
            dir,
            done: DoneSet::with_rows(job.total_rows),
            chunks: vec![Counters::default(); n_chunks],
            chunk_completed_at: vec![None; n_chunks],
            totals: Counters::default(),
            warnings: Warnings::default(),
            buffer: Vec::new(),
            flush_every: size as usize,
            next_seq: 1,
            last_save: Instant::now(),
            load_warnings: Vec::new(),
            job,
        }
    }

    pub fn job(&self) -> &JobFile {
        &self.job
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn errors_path(&self) -> PathBuf {
        self.dir.join("errors.jsonl")
    }

    /// The done rows (the reader skips them).
    pub fn done(&self) -> &DoneSet {
        &self.done
    }

    /// Counters of every done row.
    pub fn totals(&self) -> Counters {
        self.totals
    }

    pub fn warnings(&self) -> &Warnings {
        &self.warnings
    }

    pub fn completed_chunks(&self) -> usize {
        self.chunk_entries()
            .iter()
            .filter(|c| c.status == "completed")
            .count()
    }

    pub fn total_chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Whether every row of the CSV is done.
    pub fn is_complete(&self) -> bool {
        self.done.len() >= self.job.total_rows
    }

    /// Queues a finished row; writes a part every `--chunk-size` rows.
    pub fn record(
        &mut self,
        o: &RowOutcome,
        error_json: Option<String>,
    ) -> Result<(), CheckpointError> {
        self.buffer.push(PartRow {
            record_number: o.record_number,
            user_id: o.user_id.clone(),
            user: o.user,
            membership: o.membership,
            roles_assigned: o.roles_assigned,
            roles_skipped: o.roles_skipped,
            error_type: o.error.as_ref().map(|e| e.error_type.as_str()),
            error_json,
            warnings: (!o.warnings.is_empty()).then(|| o.warnings.join("\n")),
        });
        if self.buffer.len() >= self.flush_every {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the queued rows as the next part (temp file, then rename),
    /// marks them done and saves `checkpoint.json` (at most once a second).
    pub fn flush(&mut self) -> Result<(), CheckpointError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.buffer);
        let name = format!("part-{:06}.parquet", self.next_seq);
        let final_path = self.dir.join("outcomes").join(&name);
        let tmp_path = self.dir.join("outcomes").join(format!("{name}.tmp"));
        write_part(&tmp_path, &rows)?;
        fs::rename(&tmp_path, &final_path).map_err(io_err(&final_path))?;
        self.next_seq += 1;
        for r in &rows {
            self.absorb(r);
        }
        if self.last_save.elapsed() >= SAVE_INTERVAL {
            self.save()?;
        }
        Ok(())
    }

    /// Flushes and saves `checkpoint.json`, with `endedAt` when complete.
    pub fn finish(&mut self) -> Result<(), CheckpointError> {
        self.flush()?;
        if self.is_complete() && self.job.summary.ended_at.is_none() {
            self.job.summary.ended_at = Some(epoch_ms());
        }
        self.save()
    }

    /// Counts one stored row (once, however many parts hold it).
    fn absorb(&mut self, r: &PartRow) {
        if !self.done.insert(r.record_number) {
            return;
        }
        let counts = r.counts();
        self.totals.add(&counts);
        let idx = ((r.record_number - 1) / self.job.chunk_size.max(1)) as usize;
        if let Some(c) = self.chunks.get_mut(idx) {
            c.add(&counts);
        }
        if let Some(w) = &r.warnings {
            for line in w.lines() {
                self.warnings.push(line.to_string());
            }
        }
    }

    fn chunk_entries(&self) -> Vec<ChunkEntry> {
        let size = self.job.chunk_size.max(1);
        let total = self.job.total_rows;
        self.chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let start = i as u64 * size + 1;
                let end = ((i as u64 + 1) * size).min(total);
                let complete = c.total_rows >= end + 1 - start
                    || self.done.count_range(start, end) >= end + 1 - start;
                ChunkEntry {
                    chunk_id: i as u64,
                    start_row: start,
                    end_row: end,
                    status: if complete { "completed" } else { "pending" }.to_string(),
                    successes: c.successes,
                    failures: c.failures,
                    memberships_created: c.memberships_created,
                    users_created: c.users_created,
                    duplicate_users: c.duplicate_users,
                    duplicate_memberships: c.duplicate_memberships,
                    completed_at: if complete {
                        self.chunk_completed_at.get(i).copied().flatten()
                    } else {
                        None
                    },
                    roles_assigned: c.roles_assigned,
                }
            })
            .collect()
    }

    /// Writes `checkpoint.json` atomically from the current counters.
    pub fn save(&mut self) -> Result<(), CheckpointError> {
        let now = epoch_ms();
        let mut entries = self.chunk_entries();
        for (i, e) in entries.iter_mut().enumerate() {
            if e.status == "completed" {
                let at = self.chunk_completed_at[i].get_or_insert(now);
                e.completed_at = Some(*at);
            }
        }
        let t = &self.totals;
        self.job.updated_at = now;
        self.job.chunks = entries;
        let s = &mut self.job.summary;
        s.total = t.total_rows;
        s.successes = t.successes;
        s.failures = t.failures;
        s.memberships_created = t.memberships_created;
        s.users_created = t.users_created;
        s.duplicate_users = t.duplicate_users;
        s.duplicate_memberships = t.duplicate_memberships;
        s.roles_assigned = t.roles_assigned;
        s.role_assignment_failures = t.role_failures;
        s.warnings = self.warnings.kept().to_vec();
        let text =
            serde_json::to_string_pretty(&self.job).map_err(|e| CheckpointError::Corrupt {
                path: self.dir.join("checkpoint.json"),
                message: e.to_string(),
            })?;
        let path = self.dir.join("checkpoint.json");
        let tmp = self.dir.join("checkpoint.json.tmp");
        write_private(&tmp, text.as_bytes())?;
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        self.job.chunks = Vec::new();
        self.last_save = Instant::now();
        Ok(())
    }

    /// Loads every readable part; rebuilds `errors.jsonl` from them.
    fn load_parts(&mut self) -> Result<(), CheckpointError> {
        let outcomes = self.dir.join("outcomes");
        let mut parts: BTreeMap<u64, PathBuf> = BTreeMap::new();
        for entry in fs::read_dir(&outcomes)
            .map_err(io_err(&outcomes))?
            .flatten()
        {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.ends_with(".tmp") {
                // A part that was being written when the run stopped.
                let _ = fs::remove_file(&path);
                continue;
            }
            let seq = name
                .strip_prefix("part-")
                .and_then(|n| n.strip_suffix(".parquet"))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(seq) = seq {
                parts.insert(seq, path);
            }
        }
        let errors_path = self.errors_path();
        let errors_tmp = self.dir.join("errors.jsonl.tmp");
        let mut errors_out = private_file(&errors_tmp)?;
        let mut last_seq = 0;
        for (seq, path) in parts {
            last_seq = seq;
            let rows = match read_part(&path) {
                Ok(rows) => rows,
                Err(e) => {
                    // Its rows are simply redone (every step is idempotent).
                    let bad = path.with_extension("parquet.bad");
                    let _ = fs::rename(&path, &bad);
                    self.load_warnings.push(format!(
                        "Checkpoint part {} is unreadable and its rows will be redone: {e}",
                        path.display()
                    ));
                    continue;
                }
            };
            for r in &rows {
                if self.done.contains(r.record_number) {
                    continue;
                }
                if let Some(line) = &r.error_json {
                    errors_out
                        .write_all(line.as_bytes())
                        .and_then(|()| errors_out.write_all(b"\n"))
                        .map_err(io_err(&errors_tmp))?;
                }
                self.absorb(r);
            }
        }
        errors_out.flush().map_err(io_err(&errors_tmp))?;
        drop(errors_out);
        fs::rename(&errors_tmp, &errors_path).map_err(io_err(&errors_path))?;
        self.next_seq = last_seq + 1;
        Ok(())
    }
}

fn write_part(path: &Path, rows: &[PartRow]) -> Result<(), CheckpointError> {
    let pq = |e: parquet::errors::ParquetError| CheckpointError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut record = UInt64Builder::with_capacity(rows.len());
    let mut user_id = StringBuilder::new();
    let mut user = StringBuilder::new();
    let mut membership = StringBuilder::new();
    let mut assigned = UInt32Builder::with_capacity(rows.len());
    let mut skipped = UInt32Builder::with_capacity(rows.len());
    let mut error_type = StringBuilder::new();
    let mut error_json = StringBuilder::new();
    let mut warnings = StringBuilder::new();
    for r in rows {
        record.append_value(r.record_number);
        user_id.append_option(r.user_id.as_deref());
        user.append_value(r.user.as_str());
        membership.append_value(r.membership.as_str());
        assigned.append_value(r.roles_assigned);
        skipped.append_value(r.roles_skipped);
        error_type.append_option(r.error_type);
        error_json.append_option(r.error_json.as_deref());
        warnings.append_option(r.warnings.as_deref());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(record.finish()),
        Arc::new(user_id.finish()),
        Arc::new(user.finish()),
        Arc::new(membership.finish()),
        Arc::new(assigned.finish()),
        Arc::new(skipped.finish()),
        Arc::new(error_type.finish()),
        Arc::new(error_json.finish()),
        Arc::new(warnings.finish()),
    ];
    let batch =
        RecordBatch::try_new(part_schema(), columns).map_err(|e| CheckpointError::Parquet {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let file = private_file(path)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(file, part_schema(), Some(props)).map_err(pq)?;
    writer.write(&batch).map_err(pq)?;
    writer.close().map_err(pq)?;
    Ok(())
}

fn read_part(path: &Path) -> Result<Vec<PartRow>, CheckpointError> {
    let corrupt = |message: String| CheckpointError::Parquet {
        path: path.to_path_buf(),
        message,
    };
    let file = File::open(path).map_err(io_err(path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| corrupt(e.to_string()))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(e.to_string()))?;
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| corrupt(format!("missing column {name}")))
        };
        let strings = |name: &str| -> Result<StringArray, CheckpointError> {
            col(name)?
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .ok_or_else(|| corrupt(format!("column {name} is not text")))
        };
        let record = col("record_number")?
            .as_any()
            .downcast_ref::<UInt64Array>()
            .cloned()
            .ok_or_else(|| corrupt("record_number is not u64".into()))?;
        let u32s = |name: &str| -> Result<UInt32Array, CheckpointError> {
            col(name)?
                .as_any()
                .downcast_ref::<UInt32Array>()
                .cloned()
                .ok_or_else(|| corrupt(format!("column {name} is not u32")))
        };
        let user_id = strings("user_id")?;
        let user = strings("user_outcome")?;
        let membership = strings("membership_outcome")?;
        let assigned = u32s("roles_assigned")?;
        let skipped = u32s("roles_skipped")?;
        let error_type = strings("error_type")?;
        let error_json = strings("error_json")?;
        let warnings = strings("warnings")?;
        let opt = |a: &StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_string());
        for i in 0..batch.num_rows() {
            let user_outcome = UserOutcome::parse(user.value(i))
                .ok_or_else(|| corrupt(format!("bad user_outcome {:?}", user.value(i))))?;
            let membership_outcome =
                MembershipOutcome::parse(membership.value(i)).ok_or_else(|| {
                    corrupt(format!("bad membership_outcome {:?}", membership.value(i)))
                })?;
            let error_type =
                (!error_type.is_null(i)).then(|| static_error_type(error_type.value(i)));
            out.push(PartRow {
                record_number: record.value(i),
                user_id: opt(&user_id, i),
                user: user_outcome,
                membership: membership_outcome,
                roles_assigned: assigned.value(i),
                roles_skipped: skipped.value(i),
                error_type,
                error_json: opt(&error_json, i),
                warnings: opt(&warnings, i),
            });
        }
    }
    Ok(out)
}

fn static_error_type(s: &str) -> &'static str {
    match s {
        "membership_create" => "membership_create",
        "org_resolution" => "org_resolution",
        "role_assignment" => "role_assignment",
        _ => "user_create",
    }
}

fn epoch_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn make_private_dir(dir: &Path) -> Result<(), CheckpointError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))?;
    }
    Ok(())
}

/// Creates (truncating) a file with mode 0600.
fn private_file(path: &Path) -> Result<File, CheckpointError> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path).map_err(io_err(path))?;
    restrict_permissions(path).map_err(io_err(path))?;
    Ok(file)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let mut f = private_file(path)?;
    f.write_all(bytes).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::errors::{ErrorRecord, ErrorType};

    fn outcome(n: u64, failed: bool) -> RowOutcome {
        RowOutcome {
            record_number: n,
            email: format!("u{n}@x.com"),
            user_id: Some(format!("user_{n}")),
            user: if failed {
                UserOutcome::Failed
            } else {
                UserOutcome::Created
            },
            membership: MembershipOutcome::Created,
            roles_assigned: 1,
            roles_skipped: 0,
            error: failed.then(|| ErrorRecord::new(n, "x", ErrorType::UserCreate, "bad")),
            warnings: vec![],
        }
    }

    fn new_job(id: &str, csv: &Path, rows: u64) -> NewJob {
        NewJob {
            job_id: id.into(),
            csv_path: csv.display().to_string(),
            csv_hash: hash_file(csv).unwrap(),
            total_rows: rows,
            chunk_size: 2,
            concurrency: 10,
            mode: "user-only".into(),
            org_id: None,
            org_external_id: None,
            dry_run: false,
        }
    }

    #[test]
    fn done_set() {
        let mut d = DoneSet::with_rows(100);
        assert!(d.insert(1));
        assert!(!d.insert(1));
        assert!(d.insert(100));
        assert!(d.insert(200));
        assert!(d.contains(200) && d.contains(1) && !d.contains(2) && !d.contains(0));
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn create_record_resume_counts_each_row_once() {
        let tmp = tempfile::tempdir().unwrap();
        let csv = tmp.path().join("u.csv");
        fs::write(&csv, "email\na@x.com\nb@x.com\nc@x.com\n").unwrap();
        let root = tmp.path().join(CHECKPOINT_ROOT);
        let mut cp = Checkpoint::create(&root, new_job("j1", &csv, 3)).unwrap();
        assert!(matches!(
            Checkpoint::create(&root, new_job("j1", &csv, 3)),
            Err(CheckpointError::AlreadyExists { .. })
        ));
        cp.record(&outcome(2, true), Some("{\"recordNumber\":2}".into()))
            .unwrap();
        cp.record(&outcome(1, false), None).unwrap(); // flushes a part of 2
        cp.record(&outcome(3, false), None).unwrap(); // buffered, then "killed"
        cp.save().unwrap();
        drop(cp);
        // A half-written part is ignored.
        fs::write(root.join("j1/outcomes/part-000002.parquet.tmp"), b"junk").unwrap();
        let mut cp = Checkpoint::resume(&root, "j1", &csv, false).unwrap();
        assert!(cp.done().contains(1) && cp.done().contains(2) && !cp.done().contains(3));
        assert_eq!(cp.totals().total_rows, 2);
        assert_eq!(cp.totals().failures, 1);
        assert_eq!(
            fs::read_to_string(root.join("j1/errors.jsonl")).unwrap(),
            "{\"recordNumber\":2}\n"
        );
        cp.record(&outcome(3, false), None).unwrap();
        cp.finish().unwrap();
        assert!(cp.is_complete());
        let job: JobFile =
            serde_json::from_str(&fs::read_to_string(root.join("j1/checkpoint.json")).unwrap())
                .unwrap();
        assert_eq!(job.summary.total, 3);
        assert_eq!(job.summary.users_created, 2);
        assert!(job.summary.ended_at.is_some());
        assert_eq!(job.chunks.len(), 2);
        assert!(job.chunks.iter().all(|c| c.status == "completed"));
        // The CSV changed: refused.
        fs::write(&csv, "email\na@x.com\n").unwrap();
        assert!(matches!(
            Checkpoint::resume(&root, "j1", &csv, false),
            Err(CheckpointError::CsvChanged { .. })
        ));
        assert!(matches!(
            Checkpoint::resume(&root, "nope", &csv, false),
            Err(CheckpointError::NotFound(_))
        ));
    }

    #[test]
    fn scan_counts_rows_and_hashes() {
        let tmp = tempfile::tempdir().unwrap();
        let csv = tmp.path().join("u.csv");
        fs::write(&csv, "email,a\nx@y.com,1\n\n\"q\nr\",2\nshort\n").unwrap();
        let (rows, hash) = scan_csv(&csv, true).unwrap();
        assert_eq!(rows, 3);
        assert_eq!(hash.unwrap(), hash_file(&csv).unwrap());
    }

    #[test]
    fn job_ids() {
        assert!(validate_job_id("job-1.a_b").is_ok());
        for bad in ["", ".", "..", "a/b", "a b"] {
            assert!(validate_job_id(bad).is_err(), "{bad}");
        }
    }
}
