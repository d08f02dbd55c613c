//! The retry CSV (`--retry-csv`, import.md §4): the rows of the original CSV
//! that failed only with retryable errors, in original order, copied
//! verbatim under the original header.
//!
//! Differences from the original (docs/decisions.md):
//! - rows are chosen by `recordNumber`, not by email, so the other
//!   (successful) rows of the same user are not imported again, and a row
//!   that also has a non-retryable error is left out;
//! - the retryable rule is [`super::classify::is_retryable`] (the importer's
//!   retry set; deterministic importer errors are not retryable);
//! - a record whose email differs from the CSV row it names means the errors
//!   file belongs to another CSV: an error, nothing is written;
//! - memory is bounded: record numbers are spilled to disk and sorted
//!   ([`crate::spill`]) and joined with the CSV as both are streamed.
//!
//! The file is written to a temporary file beside the target and renamed,
//! mode 0600 (it can hold passwords and hashes).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::{Array, StringArray};

use super::classify::is_retryable;
use super::records::RecordReader;
use super::AnalyzeError;
use crate::package::csv_reader::{CsvBatch, CsvBatchReader, CsvReadOptions, RaggedRows};
use crate::package::csv_writer::PackageCsvWriter;
use crate::spill::{KeyedSpill, OrderedSpill, SpillError};

/// Counts of one retry CSV.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryResult {
    /// Distinct (lower-cased) emails among the rows written.
    pub total_retryable: u64,
    pub rows_written: u64,
    /// Rows left out by `--dedupe` (a later row of an email already written).
    pub deduplicated_count: u64,
    /// Rows with an error that would fail again (not written).
    pub not_retryable_rows: u64,
}

/// Flag byte of a spilled record.
const RETRYABLE: u8 = 1;
const PERMANENT: u8 = 0;

/// Writes the retry CSV for `errors_path` from `original_csv` to `output`.
/// `max_record_number` bounds the record numbers (from the analysis pass).
pub fn generate_retry_csv(
    errors_path: &Path,
    original_csv: &Path,
    output: &Path,
    dedupe: bool,
    max_record_number: u64,
) -> Result<RetryResult, AnalyzeError> {
    // 1. Spill (recordNumber, retryable flag, email) of every record.
    let mut by_record = OrderedSpill::new("retry", max_record_number.saturating_add(1))?;
    let mut reader = RecordReader::open(errors_path)?;
    let mut payload = Vec::new();
    while let Some(r) = reader.next_record()? {
        let Some(n) = r.record_number.filter(|n| *n >= 1) else {
            continue;
        };
        payload.clear();
        payload.push(if is_retryable(r.status, &r.message) {
            RETRYABLE
        } else {
            PERMANENT
        });
        payload.extend_from_slice(r.email.trim().to_lowercase().as_bytes());
        by_record.push(n, &payload)?;
    }

    // 2. Join the sorted records with the CSV; pick rows, spill their emails.
    let mut result = RetryResult::default();
    let mut emails = KeyedSpill::new("retry-emails")?;
    let mut cursor = RowCursor::open(original_csv)?;
    let header: Vec<String> = cursor.reader.header().to_vec();
    let mut sink = if dedupe {
        None
    } else {
        Some(RetryWriter::create(output, &header)?)
    };
    let mut current: Option<RecordVerdict> = None;
    by_record.for_each_in_order::<_, AnalyzeError>(|record, data| {
        let retryable = data.first() == Some(&RETRYABLE);
        let email = data.get(1..).unwrap_or_default();
        match current.as_mut() {
            Some(v) if v.record == record => v.add(retryable, email),
            _ => {
                if let Some(done) = current.take() {
                    finish(done, &mut cursor, &mut sink, &mut emails, &mut result)?;
                }
                let mut v = RecordVerdict::new(record);
                v.add(retryable, email);
                current = Some(v);
            }
        }
        Ok(())
    })?;
    if let Some(done) = current.take() {
        finish(done, &mut cursor, &mut sink, &mut emails, &mut result)?;
    }

    // 3. Distinct emails; with --dedupe, the first row of each is kept.
    let mut keep = if dedupe {
        Some(OrderedSpill::new(
            "retry-keep",
            max_record_number.saturating_add(1),
        )?)
    } else {
        None
    };
    let mut distinct = 0u64;
    let mut spill_error: Option<SpillError> = None;
    emails.for_each_group(|_email, entries| {
        distinct += 1;
        if let (Some(keep), Some(first)) = (keep.as_mut(), entries.first()) {
            if let Err(e) = keep.push(first.seq, &[]) {
                spill_error.get_or_insert(e);
            }
            result.deduplicated_count += entries.len() as u64 - 1;
        }
    })?;
    if let Some(e) = spill_error {
        return Err(e.into());
    }
    result.total_retryable = distinct;

    match (sink, keep) {
        (Some(w), _) => w.finish()?,
        (None, Some(keep)) => {
            let mut w = RetryWriter::create(output, &header)?;
            let mut cursor = RowCursor::open(original_csv)?;
            keep.for_each_in_order::<_, AnalyzeError>(|record, _| {
                let row = cursor.seek(record)?;
                w.write(&row.fields)?;
                result.rows_written += 1;
                Ok(())
            })?;
            w.finish()?;
        }
        (None, None) => {}
    }
    Ok(result)
}

/// Decides one record number: checks the CSV row's email and, when every
/// error of the row is retryable, writes the row (or, with `--dedupe`, only
/// spills its email for the second pass).
fn finish(
    v: RecordVerdict,
    cursor: &mut RowCursor,
    sink: &mut Option<RetryWriter>,
    emails: &mut KeyedSpill,
    result: &mut RetryResult,
) -> Result<(), AnalyzeError> {
    let row = cursor.seek(v.record)?;
    let row_email = row.email.trim().to_lowercase();
    if let Some(e) = v.emails_differ(&row_email) {
        return Err(AnalyzeError::CsvMismatch {
            record: v.record,
            errors_email: e,
            csv_email: row_email,
        });
    }
    if v.permanent {
        result.not_retryable_rows += 1;
        return Ok(());
    }
    emails.push(row_email.as_bytes(), v.record, &[])?;
    if let Some(w) = sink.as_mut() {
        w.write(&row.fields)?;
        result.rows_written += 1;
    }
    Ok(())
}

/// All records of one record number.
struct RecordVerdict {
    record: u64,
    retryable: bool,
    permanent: bool,
    /// First non-empty email among the records.
    email: Vec<u8>,
}

impl RecordVerdict {
    fn new(record: u64) -> Self {
        Self {
            record,
            retryable: false,
            permanent: false,
            email: Vec::new(),
        }
    }

    fn add(&mut self, retryable: bool, email: &[u8]) {
        if retryable {
            self.retryable = true;
        } else {
            self.permanent = true;
        }
        if self.email.is_empty() && !email.is_empty() {
            self.email = email.to_vec();
        }
    }

    /// The errors-file email when it differs from the CSV row's.
    fn emails_differ(&self, csv_email: &str) -> Option<String> {
        (!self.email.is_empty() && self.email != csv_email.as_bytes())
            .then(|| String::from_utf8_lossy(&self.email).into_owned())
    }
}

/// One CSV row as strings.
struct Row {
    email: String,
    fields: Vec<String>,
}

/// Forward-only access to CSV rows by 1-based record number.
struct RowCursor {
    reader: CsvBatchReader<File>,
    email_col: Option<usize>,
    batch: Option<CsvBatch>,
    /// Index of the next unread row in `batch`.
    at: usize,
    rows_total: u64,
}

impl RowCursor {
    fn open(path: &Path) -> Result<Self, AnalyzeError> {
        let options = CsvReadOptions {
            batch_rows: 1024,
            ragged: RaggedRows::Report,
            ..Default::default()
        };
        let reader = CsvBatchReader::open(path, options)?;
        let email_col = reader.column("email");
        Ok(Self {
            reader,
            email_col,
            batch: None,
            at: 0,
            rows_total: 0,
        })
    }

    /// The row with this record number; record numbers must ascend.
    fn seek(&mut self, record: u64) -> Result<Row, AnalyzeError> {
        loop {
            if let Some(b) = &self.batch {
                let first = b.first_row;
                let n = b.num_rows() as u64;
                if record < first + n && record >= first + self.at as u64 {
                    let i = (record - first) as usize;
                    self.at = i + 1;
                    return Ok(self.row(i));
                }
                if record < first + self.at as u64 {
                    return Err(AnalyzeError::Internal("record numbers out of order"));
                }
            }
            match self.reader.next() {
                Some(Ok(b)) => {
                    self.rows_total = b.first_row + b.num_rows() as u64 - 1;
                    self.batch = Some(b);
                    self.at = 0;
                }
                Some(Err(e)) => return Err(e.into()),
                None => {
                    return Err(AnalyzeError::RecordBeyondCsv {
                        record,
                        rows: self.rows_total,
                    })
                }
            }
        }
    }

    fn row(&self, i: usize) -> Row {
        let mut fields = Vec::new();
        let mut email = String::new();
        if let Some(b) = &self.batch {
            for (c, col) in b.batch.columns().iter().enumerate() {
                let value = col
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .filter(|a| !a.is_null(i))
                    .map(|a| a.value(i).to_string())
                    .unwrap_or_default();
                if Some(c) == self.email_col {
                    email = value.clone();
                }
                fields.push(value);
            }
        }
        Row { email, fields }
    }
}

/// The output file: a 0600 temporary file renamed into place at the end.
struct RetryWriter {
    csv: PackageCsvWriter<BufWriter<tempfile::NamedTempFile>>,
    output: PathBuf,
}

impl RetryWriter {
    fn create(output: &Path, header: &[String]) -> Result<Self, AnalyzeError> {
        let dir = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let write_err = |source| AnalyzeError::Write {
            path: output.to_path_buf(),
            source,
        };
        let tmp = tempfile::Builder::new()
            .prefix(".retry-")
            .suffix(".csv.tmp")
            .tempfile_in(dir)
            .map_err(write_err)?;
        let names: Vec<&str> = header.iter().map(String::as_str).collect();
        let csv = PackageCsvWriter::new(BufWriter::new(tmp), &names).map_err(|e| {
            AnalyzeError::WriteCsv {
                path: output.to_path_buf(),
                source: e,
            }
        })?;
        Ok(Self {
            csv,
            output: output.to_path_buf(),
        })
    }

    fn write(&mut self, fields: &[String]) -> Result<(), AnalyzeError> {
        self.csv
            .write_record(fields.iter().map(String::as_str))
            .map_err(|e| AnalyzeError::WriteCsv {
                path: self.output.clone(),
                source: e,
            })
    }

    fn finish(self) -> Result<(), AnalyzeError> {
        let output = self.output.as_path();
        let write_err = |source| AnalyzeError::Write {
            path: output.to_path_buf(),
            source,
        };
        let buf = self.csv.finish().map_err(|e| AnalyzeError::WriteCsv {
            path: output.to_path_buf(),
            source: e,
        })?;
        let mut tmp = buf.into_inner().map_err(|e| write_err(e.into_error()))?;
        tmp.flush().map_err(write_err)?;
        tmp.as_file().sync_all().map_err(write_err)?;
        tmp.persist(output).map_err(|e| write_err(e.error))?;
        Ok(())
    }
}
