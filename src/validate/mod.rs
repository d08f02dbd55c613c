//! `validate --csv FILE`: checks a WorkOS import CSV before anything is sent.
//!
//! Every rule of import.md §3 plus the ones its README promised but never had
//! (password-hash formats for all seven WorkOS types, organization-name
//! consistency, WorkOS metadata limits). The file streams through the Arrow
//! CSV reader on one thread; each batch is checked (and, with `--auto-fix`,
//! repaired) in parallel with rayon; whole-file rules spill their keys to disk.
//! Memory is flat in the number of rows.

pub mod cross;
pub mod fix;
pub mod report;
pub mod rules;

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use arrow::array::{Array, StringArray};
use rayon::prelude::*;

use crate::package::csv_reader::{
    CsvBatch, CsvBatchReader, CsvReadError, CsvReadOptions, RaggedRows,
};
use crate::package::csv_writer::{CsvWriteError, PackageCsvWriter};
use crate::progress::Progress;
use crate::spill::SpillError;

use cross::CrossRowChecks;
use fix::{fix_row, Fix};
use report::{IssueSink, Summary};
use rules::{check_row, Col, ColumnMap, RowIssue, RowView, Severity, KNOWN_COLUMNS};

/// Options of the `validate` command.
#[derive(Debug, Clone, Default)]
pub struct ValidateCsvOptions {
    pub csv: PathBuf,
    pub auto_fix: bool,
    pub output: Option<PathBuf>,
    pub strict: bool,
    pub quiet: bool,
    pub json: bool,
}

/// Failures that make the file (or the output) unusable.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error("CSV file not found: {0}")]
    NotFound(PathBuf),
    #[error(transparent)]
    Read(#[from] CsvReadError),
    #[error(transparent)]
    Spill(#[from] SpillError),
    #[error("{path}: {source}")]
    Output { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    OutputCsv {
        path: PathBuf,
        source: CsvWriteError,
    },
    #[error("--output must differ from the input file: {0}")]
    OutputIsInput(PathBuf),
    #[error("--output is only used with --auto-fix")]
    OutputWithoutFix,
    #[error("writing the report: {0}")]
    Report(io::Error),
}

/// Default fixed-CSV path: the first `.csv` becomes `-fixed.csv`; a name
/// without `.csv` gets `-fixed.csv` appended (the original overwrote it).
pub fn default_fixed_path(input: &Path) -> PathBuf {
    let s = input.to_string_lossy();
    match s.find(".csv") {
        Some(i) => PathBuf::from(format!("{}-fixed.csv{}", &s[..i], &s[i + 4..])),
        None => PathBuf::from(format!("{s}-fixed.csv")),
    }
}

/// The fixed CSV being written: a temporary file beside the target that is
/// renamed into place only when at least one fix was made.
struct FixedOutput {
    path: PathBuf,
    writer: PackageCsvWriter<BufWriter<tempfile::NamedTempFile>>,
}

impl FixedOutput {
    fn create(path: PathBuf, header: &[String]) -> Result<Self, ValidateError> {
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let io_err = |source| ValidateError::Output {
            path: path.clone(),
            source,
        };
        if !parent.is_dir() {
            return Err(io_err(io::Error::new(
                io::ErrorKind::NotFound,
                "directory does not exist",
            )));
        }
        let tmp = tempfile::Builder::new()
            .prefix(".workos-migrate-fixed-")
            .tempfile_in(parent)
            .map_err(io_err)?;
        let names: Vec<&str> = header.iter().map(String::as_str).collect();
        let writer = PackageCsvWriter::new(BufWriter::new(tmp), &names).map_err(|source| {
            ValidateError::OutputCsv {
                path: path.clone(),
                source,
            }
        })?;
        Ok(Self { path, writer })
    }

    fn write(&mut self, cells: &[String]) -> Result<(), ValidateError> {
        self.writer
            .write_record(cells.iter().map(String::as_str))
            .map_err(|source| ValidateError::OutputCsv {
                path: self.path.clone(),
                source,
            })
    }

    /// Keeps the file (mode 0600) when `keep`, otherwise deletes it.
    fn finish(self, keep: bool) -> Result<Option<PathBuf>, ValidateError> {
        let path = self.path;
        let io_err = |source| ValidateError::Output {
            path: path.clone(),
            source,
        };
        let tmp = self
            .writer
            .finish()
            .map_err(|source| ValidateError::OutputCsv {
                path: path.clone(),
                source,
            })?
            .into_inner()
            .map_err(|e| io_err(e.into_error()))?;
        if !keep {
            return Ok(None);
        }
        tmp.as_file().sync_all().map_err(io_err)?;
        tmp.persist(&path).map_err(|e| io_err(e.error))?;
        Ok(Some(path))
    }
}

/// What the parallel stage returns for one row.
struct RowOutcome {
    issues: Vec<RowIssue>,
    fixed: Option<Vec<String>>,
    fixes: Vec<Fix>,
}

fn cell(col: &StringArray, row: usize) -> &str {
    if col.is_null(row) {
        ""
    } else {
        col.value(row)
    }
}

/// Runs the command; returns the exit code (0 valid, 1 invalid).
pub fn run(
    opts: &ValidateCsvOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, ValidateError> {
    let started = Instant::now();
    if opts.output.is_some() && !opts.auto_fix {
        return Err(ValidateError::OutputWithoutFix);
    }
    if !opts.csv.exists() {
        return Err(ValidateError::NotFound(opts.csv.clone()));
    }
    let reader = CsvBatchReader::open(
        &opts.csv,
        CsvReadOptions {
            ragged: RaggedRows::Report,
            ..CsvReadOptions::default()
        },
    )?;
    let header = reader.header().to_vec();
    let map = ColumnMap::new(&header);
    let mut sink = IssueSink::new(opts.json).map_err(ValidateError::Report)?;

    if !map.has(Col::Email) {
        sink.issue(&RowIssue {
            severity: Severity::Error,
            rule: "missing_email_column",
            row: 0,
            line: 1,
            column: Some("email"),
            message: "Missing required column: email".into(),
        })
        .map_err(ValidateError::Report)?;
    }
    for h in &header {
        if !KNOWN_COLUMNS.contains(&h.as_str()) {
            sink.issue(&RowIssue {
                severity: Severity::Warning,
                rule: "unknown_column",
                row: 0,
                line: 1,
                column: None,
                message: format!("Unknown column \"{h}\" \u{2014} will be ignored during import"),
            })
            .map_err(ValidateError::Report)?;
        }
    }

    let fixed_out = if opts.auto_fix {
        let path = opts
            .output
            .clone()
            .unwrap_or_else(|| default_fixed_path(&opts.csv));
        let same = match (path.canonicalize(), opts.csv.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            return Err(ValidateError::OutputIsInput(path));
        }
        Some(FixedOutput::create(path, &header)?)
    } else {
        None
    };

    let total_bytes = std::fs::metadata(&opts.csv).map(|m| m.len()).unwrap_or(0);
    let progress = Progress::new("validate", total_bytes, opts.quiet || opts.json);
    let cross = CrossRowChecks::new()?;
    let width = header.len();

    // Three stages: the reader thread parses CSV into batches; this thread
    // checks each batch in parallel (rayon); the recorder thread spills keys,
    // logs findings and writes the fixed CSV while the next batch is checked.
    let (tx, rx) = sync_channel::<Result<CsvBatch, CsvReadError>>(2);
    let producer = std::thread::spawn(move || {
        for item in reader {
            let stop = item.is_err();
            if tx.send(item).is_err() || stop {
                break;
            }
        }
    });
    let recorder = Recorder {
        map: &map,
        width,
        sink,
        cross,
        fixed_out,
        total_rows: 0,
    };
    let (recorded, read_error) = std::thread::scope(|scope| {
        let (otx, orx) = sync_channel::<(CsvBatch, Vec<RowOutcome>)>(2);
        let progress = &progress;
        let handle = scope.spawn(move || -> Result<Recorder<'_>, ValidateError> {
            let mut recorder = recorder;
            for (batch, outcomes) in orx {
                recorder.record(&batch, &outcomes)?;
                progress.update(batch.end_byte, recorder.total_rows);
            }
            Ok(recorder)
        });
        let mut read_error = None;
        for item in rx.iter() {
            match item {
                Ok(batch) => {
                    let outcomes = check_batch(&batch, &header, &map, opts.auto_fix);
                    if otx.send((batch, outcomes)).is_err() {
                        break; // the recorder failed; its error is reported
                    }
                }
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
        drop(otx);
        let recorded = handle.join().unwrap_or_else(|_| {
            Err(ValidateError::Report(io::Error::other(
                "recorder thread failed",
            )))
        });
        (recorded, read_error)
    });
    drop(rx);
    let _ = producer.join();
    progress.finish();
    let Recorder {
        mut sink,
        cross,
        fixed_out,
        total_rows,
        ..
    } = recorded?;
    if let Some(e) = read_error {
        return Err(e.into());
    }

    let mut cross_issues = Ok(());
    let cross_summary = cross.finish(|issue| {
        if cross_issues.is_ok() {
            cross_issues = sink.issue(&issue);
        }
    })?;
    cross_issues.map_err(ValidateError::Report)?;

    let fixed_csv = match fixed_out {
        Some(f) => f.finish(sink.fixes > 0)?,
        None => None,
    };
    let valid = sink.errors == 0 && (!opts.strict || sink.warnings == 0);
    let summary = Summary {
        valid,
        total_rows,
        valid_rows: total_rows.saturating_sub(sink.error_rows()),
        errors: sink.errors,
        warnings: sink.warnings,
        duplicate_emails: cross_summary.duplicate_emails,
        fixes_applied: sink.fixes,
        fixed_csv,
        by_rule: sink.by_rule.clone(),
        duration_ms: started.elapsed().as_millis(),
    };
    let _ = err;
    if opts.json {
        sink.print_json(&summary, out)
            .map_err(ValidateError::Report)?;
    } else {
        sink.print_human(&summary, opts.quiet, out)
            .map_err(ValidateError::Report)?;
    }
    Ok(if valid { 0 } else { 1 })
}

/// The parallel stage: checks (and with `auto_fix` repairs) every row of a batch.
fn check_batch(
    batch: &CsvBatch,
    header: &[String],
    map: &ColumnMap,
    auto_fix: bool,
) -> Vec<RowOutcome> {
    let columns = string_columns(batch);
    (0..batch.num_rows())
        .into_par_iter()
        .with_min_len(256)
        .map_init(Vec::new, |cells: &mut Vec<&str>, i| {
            let row_no = batch.first_row + i as u64;
            let line = batch.lines.get(i).copied().unwrap_or(0);
            cells.clear();
            cells.extend(columns.iter().map(|c| cell(c, i)));
            let cells: &[&str] = cells;
            let mut issues = Vec::new();
            if auto_fix {
                let (fixed, fixes) = fix_row(header, map, cells, row_no);
                let refs: Vec<&str> = fixed.iter().map(String::as_str).collect();
                check_row(&RowView { cells: &refs, map }, row_no, line, &mut issues);
                RowOutcome {
                    issues,
                    fixed: Some(fixed),
                    fixes,
                }
            } else {
                check_row(&RowView { cells, map }, row_no, line, &mut issues);
                RowOutcome {
                    issues,
                    fixed: None,
                    fixes: Vec::new(),
                }
            }
        })
        .collect()
}

fn string_columns(batch: &CsvBatch) -> Vec<&StringArray> {
    batch
        .batch
        .columns()
        .iter()
        .filter_map(|c| c.as_any().downcast_ref::<StringArray>())
        .collect()
}

/// What the recording stage owns: findings, whole-file keys, fixed output.
struct Recorder<'a> {
    map: &'a ColumnMap,
    width: usize,
    sink: IssueSink,
    cross: CrossRowChecks,
    fixed_out: Option<FixedOutput>,
    total_rows: u64,
}

impl Recorder<'_> {
    /// The sequential stage for one checked batch (runs on its own thread).
    fn record(&mut self, batch: &CsvBatch, outcomes: &[RowOutcome]) -> Result<(), ValidateError> {
        let report = |e: io::Error| ValidateError::Report(e);
        let map = self.map;
        for r in &batch.ragged {
            self.sink
                .issue(&RowIssue {
                    severity: Severity::Error,
                    rule: "ragged_row",
                    row: r.row,
                    line: r.line,
                    column: None,
                    message: format!(
                        "Row has {} fields but the header has {}",
                        r.found, self.width
                    ),
                })
                .map_err(report)?;
        }
        let columns = string_columns(batch);
        for (i, o) in outcomes.iter().enumerate() {
            for issue in &o.issues {
                self.sink.issue(issue).map_err(report)?;
            }
            for f in &o.fixes {
                self.sink.fix(f).map_err(report)?;
            }
            let row_no = batch.first_row + i as u64;
            let line = batch.lines.get(i).copied().unwrap_or(0);
            match &o.fixed {
                Some(fixed) => {
                    let get = |c: Col| {
                        map.get(c)
                            .and_then(|j| fixed.get(j))
                            .map_or("", String::as_str)
                    };
                    self.cross.observe(
                        row_no,
                        line,
                        get(Col::Email),
                        get(Col::OrgId),
                        get(Col::OrgExternalId),
                        get(Col::OrgName),
                    )?;
                    if let Some(out) = self.fixed_out.as_mut() {
                        out.write(fixed)?;
                    }
                }
                None => {
                    let get = |c: Col| {
                        map.get(c)
                            .and_then(|j| columns.get(j))
                            .map_or("", |col| cell(col, i))
                    };
                    self.cross.observe(
                        row_no,
                        line,
                        get(Col::Email),
                        get(Col::OrgId),
                        get(Col::OrgExternalId),
                        get(Col::OrgName),
                    )?;
                }
            }
        }
        self.total_rows += batch.num_rows() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_path_rules() {
        assert_eq!(
            default_fixed_path(Path::new("a/users.csv")),
            PathBuf::from("a/users-fixed.csv")
        );
        assert_eq!(
            default_fixed_path(Path::new("users")),
            PathBuf::from("users-fixed.csv")
        );
    }
}
