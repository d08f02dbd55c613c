//! `snapshot --output DIR`: the WorkOS environment as Parquet — users,
//! organizations, organization memberships and roles (environment and
//! organization) — read through the list endpoints (`workos-api.md` §1:
//! `limit=100`, `after` cursors) with the shared client and its rate
//! limiter, resumable after a kill.
//!
//! Owns: the table contract ([`tables`]), part files and the final merge
//! ([`parts`]), the checkpoint ([`checkpoint`]), the reads ([`scan`]) and
//! `snapshot.json`, the small manifest written last (environment identity,
//! counts, `complete: true`, times). A directory without a complete
//! `snapshot.json` is never a snapshot: a stale one is removed before the
//! first read.
//!
//! Every run is a job under `./.workos-checkpoints/<job-id>/` (a generated
//! id unless `--job-id` names one); `--resume` continues it. The job
//! directory is removed once the snapshot is complete.

pub mod checkpoint;
pub mod parts;
pub mod scan;
pub mod tables;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::import::checkpoint::{job_dir, validate_job_id, CHECKPOINT_ROOT};
use crate::progress::Progress;
use crate::workos::{ApiKey, WorkOsClient, WorkOsError};
use checkpoint::{SnapshotCheckpoint, CHECKPOINT_FILE};
use parts::{merge_parts, PartError};
use tables::Table;

/// The manifest of a snapshot directory.
pub const SNAPSHOT_MANIFEST: &str = "snapshot.json";
/// `kind` in `snapshot.json`.
pub const SNAPSHOT_KIND: &str = "workos-snapshot";
/// Default requests per second: the documented read budget (1,000 / 10 s
/// on `/user_management/*`, 6,000 / 60 s overall — both 100/s); the
/// limiter paces at 97 % of it.
pub const DEFAULT_READ_RATE: u32 = 100;

/// Why a snapshot stopped.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{0}")]
    WorkOs(#[from] WorkOsError),
    #[error("{0}")]
    Part(#[from] PartError),
    #[error("{0}")]
    Checkpoint(#[from] checkpoint::CheckpointError),
    #[error("building a snapshot batch: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}")]
    JobId(String),
    #[error("job {0} already exists in {CHECKPOINT_ROOT}; pass --resume to continue it or choose another --job-id")]
    JobExists(String),
    #[error("no snapshot job to resume in {CHECKPOINT_ROOT}{}", .0.as_ref().map(|j| format!(" (job {j})")).unwrap_or_default())]
    NoJob(Option<String>),
}

impl SnapshotError {
    /// HTTP 401/403: the key cannot read the environment (resuming will not
    /// help).
    pub fn is_access_denied(&self) -> bool {
        matches!(self, SnapshotError::WorkOs(e) if matches!(e.status(), Some(401 | 403)))
    }
}

/// New job or resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobMode {
    /// A new job (generated id when `None`).
    New(Option<String>),
    /// Resume this job, else the most recent one.
    Resume(Option<String>),
}

/// What `snapshot` needs.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    pub output: PathBuf,
    pub job: JobMode,
    /// Directory holding job directories (`./.workos-checkpoints`).
    pub checkpoint_root: PathBuf,
    /// API base URL (recorded; the client already points there).
    pub endpoint: String,
    pub api_key: ApiKey,
    /// Organizations read at once.
    pub concurrency: usize,
    pub quiet: bool,
}

/// What a finished snapshot holds.
#[derive(Debug, Clone)]
pub struct SnapshotReport {
    pub output: PathBuf,
    pub job_id: String,
    pub counts: Vec<(&'static str, u64)>,
    pub requests: u64,
    pub rate_limited: u64,
    pub seconds: f64,
    pub resumed: bool,
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Takes a snapshot (or finishes a resumed one). `on_job` is told the job
/// id as soon as the job exists.
pub async fn run_snapshot(
    opts: &SnapshotOptions,
    client: &WorkOsClient,
    on_job: &mut dyn FnMut(&str),
) -> Result<SnapshotReport, SnapshotError> {
    let started = Instant::now();
    fs::create_dir_all(&opts.output).map_err(io_at(&opts.output))?;
    let output = std::path::absolute(&opts.output).unwrap_or_else(|_| opts.output.clone());
    let output_text = output.display().to_string();
    let (job_id, checkpoint, resumed) = open_job(opts, &output_text)?;
    on_job(&job_id);
    let dir = job_dir(&opts.checkpoint_root, &job_id);
    let parts_dir = dir.join("parts");
    fs::create_dir_all(&parts_dir).map_err(io_at(&parts_dir))?;
    let manifest_path = output.join(SNAPSHOT_MANIFEST);
    match fs::remove_file(&manifest_path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_at(&manifest_path)(e)),
    }
    checkpoint.save(&dir)?;

    let progress = Progress::new("Snapshot", 0, opts.quiet);
    let scan = scan::Scan {
        client,
        job_dir: dir.clone(),
        parts_dir: parts_dir.clone(),
        checkpoint: Mutex::new(checkpoint),
        concurrency: opts.concurrency,
        progress: &progress,
        rows_seen: AtomicU64::new(0),
        org_gate: tokio::sync::Semaphore::new(opts.concurrency.max(1)),
    };
    scan.run().await?;
    progress.finish();
    let checkpoint = scan
        .checkpoint
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());

    let mut counts = Vec::new();
    for table in Table::ALL {
        let parts = scan::table_parts(&parts_dir, &checkpoint, table);
        let rows = merge_parts(&parts, &output.join(table.file_name()), table.schema())?;
        counts.push((table.name(), rows));
    }
    let stats = client.stats();
    let manifest = manifest_json(opts, &checkpoint, &counts, stats.requests);
    write_manifest(&manifest_path, &manifest)?;
    fs::remove_dir_all(&dir).map_err(io_at(&dir))?;
    Ok(SnapshotReport {
        output,
        job_id,
        counts,
        requests: stats.requests,
        rate_limited: stats.rate_limited,
        seconds: started.elapsed().as_secs_f64(),
        resumed,
    })
}

/// Creates or reopens the job; returns its id, checkpoint and whether it
/// was resumed.
fn open_job(
    opts: &SnapshotOptions,
    output: &str,
) -> Result<(String, SnapshotCheckpoint, bool), SnapshotError> {
    let root = &opts.checkpoint_root;
    match &opts.job {
        JobMode::New(id) => {
            let id = match id {
                Some(id) => id.clone(),
                None => format!(
                    "snapshot-{}",
                    chrono::Utc::now().format("%Y%m%d-%H%M%S-%3f")
                ),
            };
            validate_job_id(&id).map_err(|e| SnapshotError::JobId(e.to_string()))?;
            let dir = job_dir(root, &id);
            if dir.join(CHECKPOINT_FILE).exists() {
                return Err(SnapshotError::JobExists(id));
            }
            fs::create_dir_all(&dir).map_err(io_at(&dir))?;
            let cp = SnapshotCheckpoint::new(&id, &opts.endpoint, output);
            Ok((id, cp, false))
        }
        JobMode::Resume(id) => {
            let id = match id {
                Some(id) => id.clone(),
                None => newest_snapshot_job(root).ok_or(SnapshotError::NoJob(None))?,
            };
            validate_job_id(&id).map_err(|e| SnapshotError::JobId(e.to_string()))?;
            let dir = job_dir(root, &id);
            if !dir.join(CHECKPOINT_FILE).exists() {
                return Err(SnapshotError::NoJob(Some(id)));
            }
            let cp = SnapshotCheckpoint::load(&dir)?;
            cp.check_matches(&dir, &opts.endpoint, output)?;
            Ok((id, cp, true))
        }
    }
}

/// The most recent job that is a snapshot job.
fn newest_snapshot_job(root: &Path) -> Option<String> {
    // Import jobs keep `checkpoint.json`; snapshot jobs `snapshot.json`.
    let mut best: Option<(std::time::SystemTime, String)> = None;
    for entry in fs::read_dir(root).ok()?.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Ok(mtime) = fs::metadata(entry.path().join(CHECKPOINT_FILE)).and_then(|m| m.modified())
        else {
            continue;
        };
        if best.as_ref().is_none_or(|(t, _)| mtime > *t) {
            best = Some((mtime, name));
        }
    }
    best.map(|(_, n)| n)
}

/// What can be said about the environment without reading a secret back:
/// the endpoint, the key's mode (`sk_test_` → `test`, `sk_live_` → `live`)
/// and a short SHA-256 fingerprint of the key (never the key).
pub fn environment_identity(endpoint: &str, key: &ApiKey) -> Value {
    let raw = key.expose();
    let mode = if raw.starts_with("sk_test_") {
        "test"
    } else if raw.starts_with("sk_live_") {
        "live"
    } else {
        "unknown"
    };
    let digest = Sha256::digest(raw.as_bytes());
    json!({
        "endpoint": endpoint,
        "key_mode": mode,
        "key_fingerprint": hex::encode(&digest[..6]),
    })
}

fn manifest_json(
    opts: &SnapshotOptions,
    cp: &SnapshotCheckpoint,
    counts: &[(&'static str, u64)],
    requests: u64,
) -> Value {
    let mut c = Map::new();
    let mut files = Map::new();
    for (table, (name, rows)) in Table::ALL.iter().zip(counts) {
        c.insert((*name).to_string(), json!(rows));
        files.insert((*name).to_string(), json!(table.file_name()));
    }
    json!({
        "kind": SNAPSHOT_KIND,
        "version": 1,
        "complete": true,
        "environment": environment_identity(&opts.endpoint, &opts.api_key),
        "started_at": cp.started_at,
        "completed_at": crate::package::manifest::iso_now(),
        "counts": c,
        "files": files,
        "requests_this_run": requests,
    })
}

fn write_manifest(path: &Path, manifest: &Value) -> Result<(), SnapshotError> {
    let tmp = path.with_extension("json.tmp");
    let mut bytes = serde_json::to_vec_pretty(manifest).unwrap_or_default();
    bytes.push(b'\n');
    fs::write(&tmp, bytes).map_err(io_at(&tmp))?;
    fs::rename(&tmp, path).map_err(io_at(path))
}

/// Errors reading a snapshot directory.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotDirError {
    #[error("{}: not a snapshot directory (no snapshot.json)", .0.display())]
    Missing(PathBuf),
    #[error("{}: snapshot.json is not a complete snapshot manifest ({detail})", path.display())]
    Incomplete { path: PathBuf, detail: String },
}

/// Reads and checks `DIR/snapshot.json`: a `workos-snapshot` marked complete.
pub fn read_manifest(dir: &Path) -> Result<Value, SnapshotDirError> {
    let path = dir.join(SNAPSHOT_MANIFEST);
    let bytes = fs::read(&path).map_err(|_| SnapshotDirError::Missing(dir.to_path_buf()))?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| SnapshotDirError::Incomplete {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    if v.get("kind").and_then(Value::as_str) != Some(SNAPSHOT_KIND) {
        return Err(SnapshotDirError::Incomplete {
            path,
            detail: "kind".into(),
        });
    }
    if v.get("complete").and_then(Value::as_bool) != Some(true) {
        return Err(SnapshotDirError::Incomplete {
            path,
            detail: "complete is not true".into(),
        });
    }
    for t in Table::ALL {
        if !dir.join(t.file_name()).is_file() {
            return Err(SnapshotDirError::Incomplete {
                path,
                detail: format!("{} is missing", t.file_name()),
            });
        }
    }
    Ok(v)
}
