//! The `import` run: CSV → rows → engine → outcomes, with bounded memory.
//!
//! Stages: a reader thread parses the CSV ([`CsvBatchReader`], true line
//! numbers) and turns each record into a [`UserTask`] or a row error; a
//! bounded channel (4 × rows in flight) gives backpressure; the dispatcher
//! starts one tokio task per row but never more than `--concurrency ×
//! --workers` at once (the client also caps HTTP requests in flight at that
//! number and paces them at `--rate-limit`); every outcome goes through a
//! second bounded channel to one recorder thread that keeps the counters,
//! writes `errors.jsonl`, fills the checkpoint and drives the progress bar.
//!
//! Owns the header checks (missing `email` → fatal, naming the file;
//! unknown columns → warning), the org mode of the run (single-org from
//! `--org-id`/`--org-external-id`, resolved before any row; else per row),
//! job creation/resume, and Ctrl-C (stop reading, let rows in flight finish,
//! flush the checkpoint). A ragged record is a row error
//! (`Invalid Record Length: …`), not the end of the run. No per-row state is
//! kept besides the engine's hash set (and `--dedupe` map) and the
//! checkpoint's done-row bitset.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};

use super::checkpoint::{
    newest_job, scan_csv, validate_job_id, Checkpoint, CheckpointError, DoneSet, NewJob,
};
use super::engine::{Engine, OrgRef, RowOutcome, UserSpec, UserTask};
use super::errors::{ErrorRecord, ErrorType, ErrorsFileError, ErrorsWriter};
use super::orgs::{CacheStats, OrgError, OrgOptions};
use super::row::{build_row, string_columns, ColumnMap, OrgColumns, RawRow, RowError};
use super::summary::{Counters, Warnings};
use crate::package::csv_reader::{CsvBatchReader, CsvReadError, CsvReadOptions, RaggedRows};
use crate::progress::Progress;
use crate::workos::{ClientStats, WorkOsClient};

/// Rows per CSV batch handed from the reader.
const READ_BATCH_ROWS: usize = 1024;

/// Rows per message from the reader to the dispatcher (fewer wake-ups).
const JOBS_PER_MESSAGE: usize = 64;

/// Outcomes the recorder takes per wake-up.
const OUTCOMES_PER_WAKE: usize = 256;

/// Fatal errors of an import run.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("CSV file not found: {0}")]
    CsvNotFound(PathBuf),
    #[error("{0}: CSV must include required 'email' column.")]
    MissingEmailColumn(PathBuf),
    #[error(transparent)]
    Csv(#[from] CsvReadError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    ErrorsFile(#[from] ErrorsFileError),
    /// The `--org-id` / `--org-external-id` organization.
    #[error("{0}")]
    Org(Box<OrgError>),
    #[error("could not start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("import stopped unexpectedly: {0}")]
    Internal(String),
}

/// Checkpointing of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobMode {
    /// No checkpoint (streaming; errors to `--errors`).
    None,
    /// `--job-id <id>`: a new job.
    New(String),
    /// `--resume [id]` (explicit id, else `--job-id`, else the newest job).
    Resume(Option<String>),
}

/// The organization named on the command line (single-org mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliOrg {
    Id(String),
    ExternalId(String),
}

/// Everything a run needs besides the client.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub csv: PathBuf,
    pub concurrency: u32,
    pub workers: u32,
    pub chunk_size: u32,
    pub job: JobMode,
    pub org: Option<CliOrg>,
    pub create_org_if_missing: bool,
    pub dedupe: bool,
    pub errors_path: PathBuf,
    /// `--errors` was given (with a checkpoint, errors are also copied there).
    pub errors_explicit: bool,
    pub quiet: bool,
    pub checkpoint_root: PathBuf,
}

/// What a finished (or interrupted) run reports.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub counters: Counters,
    pub warnings: Warnings,
    /// Present in multi-org mode.
    pub cache_stats: Option<CacheStats>,
    pub duration: Duration,
    pub interrupted: bool,
    pub job_id: Option<String>,
    pub errors_path: PathBuf,
    pub client_stats: Option<ClientStats>,
    /// Rows processed by this run (excludes rows done by earlier runs).
    pub rows_this_run: u64,
}

/// One unit from the reader.
enum RowJob {
    Task(Box<UserTask>),
    Done(Box<RowOutcome>),
}

/// Rows in flight for these options (`--concurrency × --workers`).
pub fn rows_in_flight(concurrency: u32, workers: u32) -> usize {
    (concurrency.max(1) as usize).saturating_mul(workers.max(1) as usize)
}

/// Runs an import. `client` `None` = dry run. `info` gets the job lines
/// (`Created checkpoint…`, `Resuming job…`) unless quiet.
pub fn run_import(
    opts: &ImportOptions,
    client: Option<WorkOsClient>,
    info: &mut dyn Write,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    if !opts.csv.is_file() {
        return Err(ImportError::CsvNotFound(opts.csv.clone()));
    }
    let read_options = CsvReadOptions {
        batch_rows: READ_BATCH_ROWS,
        ragged: RaggedRows::Report,
        ..CsvReadOptions::default()
    };
    let reader = CsvBatchReader::open(&opts.csv, read_options)?;
    let (columns, unknown) = ColumnMap::from_header(reader.header());
    if !columns.has_email() {
        return Err(ImportError::MissingEmailColumn(opts.csv.clone()));
    }
    let mut warnings = Warnings::default();
    if !unknown.is_empty() {
        warnings.push(format!("Ignoring unknown columns: {}", unknown.join(", ")));
    }
    let mode = if opts.org.is_some() {
        "single-org"
    } else if columns.has_org_columns() {
        "multi-org"
    } else {
        "user-only"
    };
    let dry_run = client.is_none();

    // Checkpoint.
    let mut org = opts.org.clone();
    let checkpoint = match &opts.job {
        JobMode::None => None,
        JobMode::New(id) => {
            validate_job_id(id)?;
            let (rows, hash) = scan_csv(&opts.csv, true)?;
            let (org_id, org_external_id) = match &org {
                Some(CliOrg::Id(i)) => (Some(i.clone()), None),
                Some(CliOrg::ExternalId(x)) => (None, Some(x.clone())),
                None => (None, None),
            };
            let cp = Checkpoint::create(
                &opts.checkpoint_root,
                NewJob {
                    job_id: id.clone(),
                    csv_path: opts.csv.display().to_string(),
                    csv_hash: hash.unwrap_or_default(),
                    total_rows: rows,
                    chunk_size: u64::from(opts.chunk_size),
                    concurrency: u64::from(opts.concurrency),
                    mode: mode.to_string(),
                    org_id,
                    org_external_id,
                    dry_run,
                },
            )?;
            if !opts.quiet {
                let _ = writeln!(
                    info,
                    "Created checkpoint for job {id}: {rows} rows, {} chunks",
                    cp.total_chunks()
                );
            }
            Some(cp)
        }
        JobMode::Resume(id) => {
            let id = match id {
                Some(i) => i.clone(),
                None => newest_job(&opts.checkpoint_root).ok_or(CheckpointError::NoJobToResume)?,
            };
            let cp = Checkpoint::resume(&opts.checkpoint_root, &id, &opts.csv, dry_run)?;
            org = resume_org(&cp, org)?;
            if !opts.quiet {
                let _ = writeln!(
                    info,
                    "Resuming job {id}: {}/{} chunks complete",
                    cp.completed_chunks(),
                    cp.total_chunks()
                );
            }
            Some(cp)
        }
    };
    if org.is_some() && columns.has_org_columns() {
        warnings.push(
            "CSV contains org columns but --org-id provided. Using single-org mode (CLI flags take precedence)."
                .to_string(),
        );
    }
    if let Some(cp) = &checkpoint {
        for w in &cp.load_warnings {
            warnings.push(w.clone());
        }
    }
    let errors_path = match &checkpoint {
        Some(cp) => cp.errors_path(),
        None => opts.errors_path.clone(),
    };
    let errors = ErrorsWriter::open(&errors_path, checkpoint.is_some())?;
    let done = Arc::new(
        checkpoint
            .as_ref()
            .map(|c| c.done().clone())
            .unwrap_or_default(),
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ImportError::Runtime)?;
    let engine = Arc::new(Engine::new(
        client.clone(),
        OrgOptions {
            create_if_missing: opts.create_org_if_missing,
            ..OrgOptions::default()
        },
        opts.dedupe,
    ));

    // Single-org mode: the organization must exist (or be created) before
    // any user is.
    let single_org = match &org {
        None => None,
        Some(o) => {
            let r = match o {
                CliOrg::Id(id) => OrgRef::Id(id.clone()),
                CliOrg::ExternalId(x) => OrgRef::ExternalId {
                    external_id: x.clone(),
                    name: None,
                },
            };
            let id = runtime
                .block_on(engine.orgs().resolve(&r))
                .map_err(|e| ImportError::Org(Box::new(e)))?;
            engine.orgs().prime_id(&id);
            Some(id)
        }
    };

    let in_flight = rows_in_flight(opts.concurrency, opts.workers);
    let (row_tx, row_rx) =
        mpsc::channel::<Vec<RowJob>>((in_flight * 4).div_ceil(JOBS_PER_MESSAGE).max(4));
    let (out_tx, out_rx) = mpsc::channel::<RowOutcome>((in_flight * 4).max(256));
    let bytes_read = Arc::new(AtomicU64::new(0));

    let file_size = std::fs::metadata(&opts.csv).map(|m| m.len()).unwrap_or(0);
    let progress = Progress::new("Importing", file_size, opts.quiet);

    // Reader thread.
    let reader_handle = {
        let done = Arc::clone(&done);
        let bytes = Arc::clone(&bytes_read);
        let single = single_org.clone();
        std::thread::Builder::new()
            .name("import-reader".into())
            .spawn(move || read_rows(reader, columns, &done, single, &bytes, row_tx))
            .map_err(ImportError::Runtime)?
    };

    // Recorder thread.
    let recorder_handle = {
        let bytes = Arc::clone(&bytes_read);
        std::thread::Builder::new()
            .name("import-recorder".into())
            .spawn(move || record_outcomes(out_rx, errors, checkpoint, progress, bytes))
            .map_err(ImportError::Runtime)?
    };

    let interrupted = Arc::new(AtomicBool::new(false));
    runtime.block_on(dispatch(
        row_rx,
        out_tx,
        Arc::clone(&engine),
        in_flight,
        Arc::clone(&interrupted),
    ));

    let read_result = reader_handle
        .join()
        .map_err(|_| ImportError::Internal("the CSV reader thread panicked".into()))?;
    let recorded = recorder_handle
        .join()
        .map_err(|_| ImportError::Internal("the recorder thread panicked".into()))?;
    let Recorded {
        counters,
        warnings: row_warnings,
        checkpoint,
        failure,
        rows,
    } = recorded;
    if let Some(e) = failure {
        return Err(e);
    }
    // A CSV that breaks mid-file (invalid UTF-8, runaway quote) ends the
    // run after the rows before it were finished and checkpointed.
    if let Err(e) = read_result {
        if !interrupted.load(Ordering::Relaxed) {
            return Err(ImportError::Csv(e));
        }
    }
    let (counters, row_warnings) = match &checkpoint {
        Some(cp) => (cp.totals(), cp.warnings().clone()),
        None => (counters, row_warnings),
    };
    for w in row_warnings.lines() {
        warnings.push(w);
    }
    if opts.errors_explicit && checkpoint.is_some() && opts.errors_path != errors_path {
        std::fs::copy(&errors_path, &opts.errors_path).map_err(|source| {
            ImportError::ErrorsFile(ErrorsFileError::Io {
                path: opts.errors_path.clone(),
                source,
            })
        })?;
        let _ = super::errors::restrict_permissions(&opts.errors_path);
    }
    let cache_stats = (single_org.is_none()).then(|| engine.org_cache_stats());
    Ok(ImportReport {
        counters,
        warnings,
        cache_stats,
        duration: started.elapsed(),
        interrupted: interrupted.load(Ordering::Relaxed),
        job_id: checkpoint.as_ref().map(|c| c.job().job_id.clone()),
        errors_path,
        client_stats: client.as_ref().map(WorkOsClient::stats),
        rows_this_run: rows,
    })
}

/// The organization of a resumed job: the stored one unless the command
/// line names one; a different one is refused.
fn resume_org(cp: &Checkpoint, cli: Option<CliOrg>) -> Result<Option<CliOrg>, ImportError> {
    let job = cp.job();
    let stored = match (&job.org_id, &job.org_external_id) {
        (Some(i), _) => Some(CliOrg::Id(i.clone())),
        (None, Some(x)) => Some(CliOrg::ExternalId(x.clone())),
        (None, None) => None,
    };
    match (cli, stored) {
        (None, s) => Ok(s),
        (Some(c), None) if job.mode != "single-org" => {
            // A multi-org/user-only job resumed with an org flag would mix
            // modes within one job.
            let (flag, value) = match c {
                CliOrg::Id(i) => ("--org-id", i),
                CliOrg::ExternalId(x) => ("--org-external-id", x),
            };
            Err(ImportError::Checkpoint(CheckpointError::OrgMismatch {
                job: job.job_id.clone(),
                flag,
                stored: format!("no organization (not {value})"),
            }))
        }
        (Some(c), None) => Ok(Some(c)),
        (Some(c), Some(s)) if c == s => Ok(Some(c)),
        (Some(_), Some(s)) => {
            let (flag, stored) = match s {
                CliOrg::Id(i) => ("--org-id", i),
                CliOrg::ExternalId(x) => ("--org-external-id", x),
            };
            Err(ImportError::Checkpoint(CheckpointError::OrgMismatch {
                job: job.job_id.clone(),
                flag,
                stored,
            }))
        }
    }
}

/// Reader thread: records → jobs, skipping done rows.
fn read_rows(
    reader: CsvBatchReader<std::fs::File>,
    columns: ColumnMap,
    done: &DoneSet,
    single_org: Option<String>,
    bytes: &AtomicU64,
    tx: mpsc::Sender<Vec<RowJob>>,
) -> Result<u64, CsvReadError> {
    let width = reader.header().len();
    let mut rows = 0u64;
    let mut jobs: Vec<RowJob> = Vec::with_capacity(JOBS_PER_MESSAGE);
    for batch in reader {
        let batch = batch?;
        let ragged: HashMap<u64, (u64, usize)> = batch
            .ragged
            .iter()
            .map(|r| (r.row, (r.line, r.found)))
            .collect();
        let cols = string_columns(&batch.batch);
        for i in 0..batch.num_rows() {
            let record_number = batch.first_row + i as u64;
            rows += 1;
            if done.contains(record_number) {
                continue;
            }
            let raw = RawRow::from_columns(&cols, &columns, i);
            let job = match ragged.get(&record_number) {
                Some(&(line, found)) => row_failed(
                    record_number,
                    raw.email_cell(),
                    RowError::RecordLength {
                        expected: width,
                        found,
                        line,
                    },
                ),
                None => match build_row(&raw) {
                    Ok(row) => RowJob::Task(Box::new(UserTask {
                        record_number,
                        email: row.email,
                        user: UserSpec::Create(row.user),
                        org: match &single_org {
                            Some(id) => Some(OrgRef::Id(id.clone())),
                            None => row.org.map(org_ref),
                        },
                        role_slugs: row.role_slugs,
                    })),
                    Err(e) => row_failed(record_number, raw.email_cell(), e),
                },
            };
            jobs.push(job);
            if jobs.len() >= JOBS_PER_MESSAGE {
                let full = std::mem::replace(&mut jobs, Vec::with_capacity(JOBS_PER_MESSAGE));
                if tx.blocking_send(full).is_err() {
                    // The run was interrupted.
                    return Ok(rows);
                }
            }
        }
        if !jobs.is_empty() {
            let rest = std::mem::replace(&mut jobs, Vec::with_capacity(JOBS_PER_MESSAGE));
            if tx.blocking_send(rest).is_err() {
                return Ok(rows);
            }
        }
        bytes.store(batch.end_byte, Ordering::Relaxed);
    }
    Ok(rows)
}

fn row_failed(record_number: u64, email: &str, e: RowError) -> RowJob {
    let record = ErrorRecord::new(record_number, email, ErrorType::UserCreate, e.to_string());
    RowJob::Done(Box::new(RowOutcome::failed(record_number, email, record)))
}

/// The [`OrgRef`] of a row's org columns.
pub fn org_ref(o: OrgColumns) -> OrgRef {
    match (o.id, o.external_id, o.name) {
        (Some(id), _, _) => OrgRef::Id(id),
        (None, Some(external_id), name) => OrgRef::ExternalId { external_id, name },
        (None, None, Some(name)) => OrgRef::NameOnly(name),
        (None, None, None) => OrgRef::NameOnly(String::new()),
    }
}

/// Runs rows with at most `in_flight` at once; stops reading on Ctrl-C.
async fn dispatch(
    mut rows: mpsc::Receiver<Vec<RowJob>>,
    outcomes: mpsc::Sender<RowOutcome>,
    engine: Arc<Engine>,
    in_flight: usize,
    interrupted: Arc<AtomicBool>,
) {
    let permits = Arc::new(Semaphore::new(in_flight));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    'rows: loop {
        let job = tokio::select! {
            job = rows.recv() => job,
            _ = &mut ctrl_c => {
                interrupted.store(true, Ordering::Relaxed);
                // A second Ctrl-C ends the process at once.
                tokio::spawn(async {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        std::process::exit(130);
                    }
                });
                None
            }
        };
        let Some(jobs) = job else { break };
        for job in jobs {
            match job {
                RowJob::Done(outcome) => {
                    if outcomes.send(*outcome).await.is_err() {
                        break 'rows;
                    }
                }
                RowJob::Task(task) => {
                    let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                        break 'rows;
                    };
                    let engine = Arc::clone(&engine);
                    let outcomes = outcomes.clone();
                    tokio::spawn(async move {
                        let outcome = engine.run_task(*task).await;
                        let _ = outcomes.send(outcome).await;
                        drop(permit);
                    });
                }
            }
        }
    }
    drop(rows);
    // Wait for every row in flight.
    let _ = permits.acquire_many(in_flight as u32).await;
}

/// What the recorder hands back.
struct Recorded {
    counters: Counters,
    warnings: Warnings,
    checkpoint: Option<Checkpoint>,
    failure: Option<ImportError>,
    rows: u64,
}

/// Recorder thread: counters, errors file, checkpoint, progress.
fn record_outcomes(
    mut rx: mpsc::Receiver<RowOutcome>,
    mut errors: ErrorsWriter,
    mut checkpoint: Option<Checkpoint>,
    progress: Progress,
    bytes: Arc<AtomicU64>,
) -> Recorded {
    let mut counters = Counters::default();
    let mut warnings = Warnings::default();
    let mut failure: Option<ImportError> = None;
    let mut rows = 0u64;
    let mut last_flush = Instant::now();
    let mut batch: Vec<RowOutcome> = Vec::with_capacity(OUTCOMES_PER_WAKE);
    while rx.blocking_recv_many(&mut batch, OUTCOMES_PER_WAKE) > 0 {
        for o in batch.drain(..) {
            rows += 1;
            counters.add(&super::summary::RowCounts::of(&o));
            for w in &o.warnings {
                warnings.push(w.clone());
            }
            if failure.is_some() {
                // Keep draining so no task blocks; nothing more is written.
                continue;
            }
            let line = o.error.as_ref().map(ErrorRecord::to_json_line);
            if let Some(l) = &line {
                if let Err(e) = errors.write_line(l) {
                    failure = Some(e.into());
                    continue;
                }
            }
            if let Some(cp) = &mut checkpoint {
                if let Err(e) = cp.record(&o, line) {
                    failure = Some(e.into());
                    continue;
                }
            }
            if last_flush.elapsed() >= Duration::from_millis(500) {
                last_flush = Instant::now();
                if let Err(e) = errors.flush() {
                    failure = Some(e.into());
                }
            }
            if rows.is_multiple_of(64) {
                progress.update(bytes.load(Ordering::Relaxed), rows);
            }
        }
    }
    progress.update(bytes.load(Ordering::Relaxed), rows);
    progress.finish();
    if failure.is_none() {
        if let Err(e) = errors.flush() {
            failure = Some(e.into());
        }
    }
    if failure.is_none() {
        if let Some(cp) = &mut checkpoint {
            if let Err(e) = cp.finish() {
                failure = Some(e.into());
            }
        }
    }
    Recorded {
        counters,
        warnings,
        checkpoint,
        failure,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn options(dir: &Path, csv: &Path) -> ImportOptions {
        ImportOptions {
            csv: csv.to_path_buf(),
            concurrency: 4,
            workers: 1,
            chunk_size: 2,
            job: JobMode::None,
            org: None,
            create_org_if_missing: false,
            dedupe: false,
            errors_path: dir.join("errors.jsonl"),
            errors_explicit: false,
            quiet: true,
            checkpoint_root: dir.join(".workos-checkpoints"),
        }
    }

    #[test]
    fn dry_run_counts_ragged_and_bad_rows() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("u.csv");
        std::fs::write(
            &csv,
            "email,first_name,org_external_id,org_name,role_slugs,nick\n\
             a@x.com,A,acme,Acme,admin,n\n\
             b@x.com,B,acme,Acme,\"admin,member\",n\n\
             ,C,acme,Acme,,n\n\
             d@x.com,D\n\
             e@x.com,E,globex,,member,n\n",
        )
        .unwrap();
        let opts = options(dir.path(), &csv);
        let report = run_import(&opts, None, &mut Vec::new()).unwrap();
        let c = report.counters;
        assert_eq!(c.total_rows, 5);
        assert_eq!(c.users_created, 3);
        assert_eq!(c.memberships_created, 3);
        assert_eq!(c.roles_assigned, 4);
        assert_eq!(c.failures, 2);
        let errors = std::fs::read_to_string(dir.path().join("errors.jsonl")).unwrap();
        assert!(errors.contains("\"recordNumber\":3"), "{errors}");
        assert!(errors.contains("Missing required email"));
        assert!(errors.contains("Invalid Record Length: columns length is 6, got 2 on line 5"));
        assert_eq!(
            report.warnings.lines(),
            vec!["Ignoring unknown columns: nick".to_string()]
        );
        let stats = report.cache_stats.unwrap();
        assert_eq!((stats.hits, stats.misses), (1, 2));
    }

    #[test]
    fn missing_email_column_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("u.csv");
        std::fs::write(&csv, "name\n").unwrap();
        let e = run_import(&options(dir.path(), &csv), None, &mut Vec::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: CSV must include required 'email' column.",
                csv.display()
            )
        );
    }

    #[test]
    fn dry_run_job_resumes_without_double_counting() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("u.csv");
        let mut text = String::from("email,org_external_id,role_slugs\n");
        for i in 0..25 {
            text.push_str(&format!("u{i}@x.com,org{},admin\n", i % 3));
        }
        std::fs::write(&csv, text).unwrap();
        let mut opts = options(dir.path(), &csv);
        opts.job = JobMode::New("j".into());
        let first = run_import(&opts, None, &mut Vec::new()).unwrap();
        assert_eq!(first.counters.total_rows, 25);
        opts.job = JobMode::Resume(None);
        let again = run_import(&opts, None, &mut Vec::new()).unwrap();
        assert_eq!(again.rows_this_run, 0);
        assert_eq!(again.counters.total_rows, 25);
        assert_eq!(again.counters.users_created, 25);
        assert_eq!(again.counters.roles_assigned, 25);
        // A live resume of a dry-run job is refused.
        opts.job = JobMode::New("j".into());
        assert!(matches!(
            run_import(&opts, None, &mut Vec::new()),
            Err(ImportError::Checkpoint(
                CheckpointError::AlreadyExists { .. }
            ))
        ));
    }
}
