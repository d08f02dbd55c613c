//! Streaming CSV reader: any CSV file → a stream of Arrow `RecordBatch`es of
//! nullable Utf8 columns, with the line number of every record.
//!
//! Reading rules (a superset of export-and-package.md §0.2 and import.md §2.1):
//! a UTF-8 BOM is stripped, LF and CRLF line ends are accepted, blank lines are
//! skipped, RFC 4180 quoting with `""` escapes. Fields are *not* trimmed here:
//! consumers decide (the validator warns about surrounding whitespace).
//! Invalid UTF-8 is an error naming the file, line and column. A record longer
//! than [`CsvReadOptions::max_record_bytes`] (usually an unterminated quote)
//! is an error instead of an unbounded allocation.
//!
//! Rows whose field count differs from the header are *ragged*: in
//! [`RaggedRows::Reject`] mode they end the read with an error, in
//! [`RaggedRows::Report`] mode they are padded with nulls (extra fields are
//! dropped) and listed in [`CsvBatch::ragged`].

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringBuilder};
use arrow::datatypes::SchemaRef;

use super::schema::utf8_schema;

/// Errors that make a CSV file unusable. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum CsvReadError {
    #[error("{path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("{path}: is a directory, expected a CSV file")]
    IsDirectory { path: PathBuf },
    #[error("{path}: file is empty (expected a header row)")]
    Empty { path: PathBuf },
    #[error("{path}: line {line}: invalid UTF-8 in {field}")]
    InvalidUtf8 {
        path: PathBuf,
        line: u64,
        field: String,
    },
    #[error("{path}: line {line}: record has {found} fields but the header has {expected}")]
    Ragged {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("{path}: line {line}: record is longer than {limit} bytes (unterminated quote?)")]
    RecordTooLong {
        path: PathBuf,
        line: u64,
        limit: u64,
    },
    #[error("{path}: line {line}: {message}")]
    Parse {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    Arrow { path: PathBuf, message: String },
}

/// What to do with a record whose width differs from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaggedRows {
    Reject,
    Report,
}

#[derive(Debug, Clone)]
pub struct CsvReadOptions {
    pub batch_rows: usize,
    pub ragged: RaggedRows,
    pub max_record_bytes: u64,
}

impl Default for CsvReadOptions {
    fn default() -> Self {
        Self {
            batch_rows: 8192,
            ragged: RaggedRows::Reject,
            max_record_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A record whose field count differed from the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaggedRow {
    /// 1-based data-row number.
    pub row: u64,
    pub line: u64,
    pub found: usize,
}

/// One batch of rows plus where they came from.
#[derive(Debug, Clone)]
pub struct CsvBatch {
    pub batch: RecordBatch,
    /// 1-based data-row number of the first row in `batch`.
    pub first_row: u64,
    /// Physical line on which each row starts (1-based; the header is line 1).
    pub lines: Vec<u64>,
    pub ragged: Vec<RaggedRow>,
    /// Bytes of input consumed up to the end of this batch (for progress).
    pub end_byte: u64,
}

impl CsvBatch {
    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }
}

/// The byte source of the CSV parser. It turns CRLF into LF before parsing
/// (the `csv` crate reports the start line of a record one too low after a
/// CRLF, and a line number must be right), remembers runs of blank lines
/// (the parser skips them without counting them in a record's start line),
/// and it bounds one runaway record:
/// when more than `limit` bytes were handed out since the end of the last
/// complete record, reading fails.
struct GuardedRead<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    eof: bool,
    delivered: u64,
    record_end: Arc<AtomicU64>,
    limit: u64,
    /// Current run of consecutive `\n` bytes (output offsets).
    run_start: u64,
    run_len: u64,
    /// Closed runs of two or more `\n`: (offset of the first, length).
    runs: std::collections::VecDeque<(u64, u64)>,
}

const GUARD_MARKER: &str = "workos-migrate: record too long";

impl<R: Read> GuardedRead<R> {
    fn new(inner: R, record_end: Arc<AtomicU64>, limit: u64) -> Self {
        Self {
            inner,
            buf: vec![0u8; 64 * 1024].into_boxed_slice(),
            pos: 0,
            len: 0,
            eof: false,
            delivered: 0,
            record_end,
            limit,
            run_start: 0,
            run_len: 0,
            runs: std::collections::VecDeque::new(),
        }
    }

    fn close_run(&mut self) {
        if self.run_len >= 2 {
            self.runs.push_back((self.run_start, self.run_len));
        }
        self.run_len = 0;
    }

    /// Records the newline runs of `chunk`, which starts at output offset `base`.
    fn scan_newlines(&mut self, chunk: &[u8], base: u64) {
        for o in memchr::memchr_iter(b'\n', chunk) {
            let at = base + o as u64;
            if self.run_len > 0 && at == self.run_start + self.run_len {
                self.run_len += 1;
            } else {
                self.close_run();
                self.run_start = at;
                self.run_len = 1;
            }
        }
        if self.run_len > 0 && self.run_start + self.run_len < base + chunk.len() as u64 {
            self.close_run();
        }
    }

    /// Blank lines skipped between a record terminator and the record that
    /// the parser says starts at output offset `start`.
    fn blank_lines_before(&mut self, start: u64) -> u64 {
        while let Some(&(s, len)) = self.runs.front() {
            if s + 1 < start {
                self.runs.pop_front();
            } else if s + 1 == start {
                self.runs.pop_front();
                return len - 1;
            } else {
                break;
            }
        }
        0
    }

    /// Ensures at least two buffered bytes (one of look-ahead) unless at EOF.
    fn refill(&mut self) -> io::Result<()> {
        if self.len - self.pos >= 2 || self.eof {
            return Ok(());
        }
        self.buf.copy_within(self.pos..self.len, 0);
        self.len -= self.pos;
        self.pos = 0;
        while self.len < 2 && !self.eof {
            match self.inner.read(&mut self.buf[self.len..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for GuardedRead<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let since = self
            .delivered
            .saturating_sub(self.record_end.load(Ordering::Relaxed));
        if since > self.limit {
            return Err(io::Error::other(GUARD_MARKER));
        }
        if out.is_empty() {
            return Ok(0);
        }
        self.refill()?;
        let mut written = 0;
        while written < out.len() && self.pos < self.len {
            let avail = &self.buf[self.pos..self.len];
            let room = out.len() - written;
            match memchr::memchr(b'\r', &avail[..avail.len().min(room)]) {
                None => {
                    let n = avail.len().min(room);
                    out[written..written + n].copy_from_slice(&avail[..n]);
                    written += n;
                    self.pos += n;
                }
                Some(i) => {
                    out[written..written + i].copy_from_slice(&avail[..i]);
                    written += i;
                    self.pos += i;
                    // At a CR: drop it when an LF follows; keep a bare CR.
                    if self.pos + 1 < self.len {
                        if self.buf[self.pos + 1] != b'\n' {
                            out[written] = b'\r';
                            written += 1;
                        }
                        self.pos += 1;
                    } else if self.eof {
                        out[written] = b'\r';
                        written += 1;
                        self.pos += 1;
                    } else {
                        // Need look-ahead: hand out what we have first.
                        break;
                    }
                }
            }
            if written > 0 && self.pos + 1 >= self.len && !self.eof {
                break;
            }
        }
        if written == 0 && self.pos < self.len {
            // Only a CR awaiting look-ahead remained: refill and retry once.
            self.refill()?;
            return self.read(out);
        }
        let base = self.delivered;
        self.scan_newlines(&out[..written], base);
        self.delivered += written as u64;
        Ok(written)
    }
}

/// Reads a CSV file as Arrow batches. Iterate it; each item is a batch or the
/// error that ended the read.
pub struct CsvBatchReader<R: Read> {
    path: PathBuf,
    reader: csv::Reader<GuardedRead<R>>,
    header: Vec<String>,
    schema: SchemaRef,
    options: CsvReadOptions,
    record: csv::ByteRecord,
    record_end: Arc<AtomicU64>,
    rows: u64,
    done: bool,
}

impl CsvBatchReader<File> {
    /// Opens `path`; fails on a missing file, a directory, an empty file or an
    /// unreadable header.
    pub fn open(path: &Path, options: CsvReadOptions) -> Result<Self, CsvReadError> {
        if path.is_dir() {
            return Err(CsvReadError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        let file = File::open(path).map_err(|source| CsvReadError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::new(path, file, options)
    }
}

impl<R: Read> CsvBatchReader<R> {
    /// Wraps any reader; `path` is used in error messages.
    pub fn new(path: &Path, input: R, options: CsvReadOptions) -> Result<Self, CsvReadError> {
        let record_end = Arc::new(AtomicU64::new(0));
        let guarded = GuardedRead::new(input, Arc::clone(&record_end), options.max_record_bytes);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(guarded);
        let mut header_record = csv::ByteRecord::new();
        let path_buf = path.to_path_buf();
        let got = reader
            .read_byte_record(&mut header_record)
            .map_err(|e| map_csv_error(&path_buf, 1, options.max_record_bytes, e))?;
        if !got {
            return Err(CsvReadError::Empty { path: path_buf });
        }
        let mut header = Vec::with_capacity(header_record.len());
        for (i, raw) in header_record.iter().enumerate() {
            let raw = if i == 0 {
                raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
            } else {
                raw
            };
            let name = std::str::from_utf8(raw).map_err(|_| CsvReadError::InvalidUtf8 {
                path: path_buf.clone(),
                line: 1,
                field: format!("header column {}", i + 1),
            })?;
            header.push(name.trim().to_string());
        }
        if header.len() == 1 && header[0].is_empty() {
            return Err(CsvReadError::Empty { path: path_buf });
        }
        if let Some(pos) = reader_position(&reader) {
            record_end.store(pos, Ordering::Relaxed);
        }
        let names: Vec<&str> = header.iter().map(String::as_str).collect();
        let schema = utf8_schema(&names);
        Ok(Self {
            path: path_buf,
            reader,
            header,
            schema,
            options,
            record: csv::ByteRecord::new(),
            record_end,
            rows: 0,
            done: false,
        })
    }

    /// Column names as read (BOM stripped, trimmed).
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Index of a column by exact name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    pub fn schema(&self) -> SchemaRef {
        SchemaRef::clone(&self.schema)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Data rows read so far.
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    fn next_batch(&mut self) -> Result<Option<CsvBatch>, CsvReadError> {
        let width = self.header.len();
        let cap = self.options.batch_rows.max(1);
        let mut builders: Vec<StringBuilder> = (0..width)
            .map(|_| StringBuilder::with_capacity(cap, cap * 16))
            .collect();
        let mut lines = Vec::with_capacity(cap);
        let mut ragged = Vec::new();
        let first_row = self.rows + 1;
        while lines.len() < cap {
            let line_hint = reader_line(&self.reader);
            let got = self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|e| {
                    map_csv_error(&self.path, line_hint, self.options.max_record_bytes, e)
                })?;
            if !got {
                break;
            }
            if let Some(pos) = reader_position(&self.reader) {
                self.record_end.store(pos, Ordering::Relaxed);
            }
            let line = match self.record.position() {
                Some(p) => p.line() + self.reader.get_mut().blank_lines_before(p.byte()),
                None => line_hint,
            };
            // A line holding only a BOM-less empty field is a blank line.
            if self.record.len() == 1
                && self.record.get(0).is_some_and(<[u8]>::is_empty)
                && width > 1
            {
                continue;
            }
            self.rows += 1;
            let found = self.record.len();
            if found != width {
                if self.options.ragged == RaggedRows::Reject {
                    return Err(CsvReadError::Ragged {
                        path: self.path.clone(),
                        line,
                        expected: width,
                        found,
                    });
                }
                ragged.push(RaggedRow {
                    row: self.rows,
                    line,
                    found,
                });
            }
            for (i, builder) in builders.iter_mut().enumerate() {
                match self.record.get(i).map(std::str::from_utf8) {
                    Some(Ok(value)) => builder.append_value(value),
                    Some(Err(_)) => {
                        let field = self.header.get(i).map_or_else(
                            || format!("field {}", i + 1),
                            |h| format!("field \"{h}\""),
                        );
                        return Err(CsvReadError::InvalidUtf8 {
                            path: self.path.clone(),
                            line,
                            field,
                        });
                    }
                    None => builder.append_null(),
                }
            }
            // Extra fields of a ragged row are not stored, but must be text too.
            if let Some(i) = (width..self.record.len()).find(|&i| {
                self.record
                    .get(i)
                    .is_some_and(|f| std::str::from_utf8(f).is_err())
            }) {
                return Err(CsvReadError::InvalidUtf8 {
                    path: self.path.clone(),
                    line,
                    field: format!("field {}", i + 1),
                });
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Ok(None);
        }
        let columns: Vec<ArrayRef> = builders
            .iter_mut()
            .map(|b| std::sync::Arc::new(b.finish()) as ArrayRef)
            .collect();
        let batch = RecordBatch::try_new(SchemaRef::clone(&self.schema), columns).map_err(|e| {
            CsvReadError::Arrow {
                path: self.path.clone(),
                message: e.to_string(),
            }
        })?;
        Ok(Some(CsvBatch {
            batch,
            first_row,
            lines,
            ragged,
            end_byte: self.record_end.load(Ordering::Relaxed),
        }))
    }
}

impl<R: Read> Iterator for CsvBatchReader<R> {
    type Item = Result<CsvBatch, CsvReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_batch() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

fn reader_position<R: Read>(reader: &csv::Reader<R>) -> Option<u64> {
    Some(reader.position().byte())
}

fn reader_line<R: Read>(reader: &csv::Reader<R>) -> u64 {
    reader.position().line()
}

fn map_csv_error(path: &Path, line: u64, limit: u64, e: csv::Error) -> CsvReadError {
    let at = e.position().map_or(line, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(io) if io.to_string() == GUARD_MARKER => CsvReadError::RecordTooLong {
            path: path.to_path_buf(),
            line: at,
            limit,
        },
        csv::ErrorKind::Io(io) => CsvReadError::Parse {
            path: path.to_path_buf(),
            line: at,
            message: io.to_string(),
        },
        other => CsvReadError::Parse {
            path: path.to_path_buf(),
            line: at,
            message: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, StringArray};

    fn read_all(input: &[u8], ragged: RaggedRows) -> Result<Vec<CsvBatch>, CsvReadError> {
        let opts = CsvReadOptions {
            batch_rows: 2,
            ragged,
            max_record_bytes: 1024,
        };
        CsvBatchReader::new(Path::new("t.csv"), input, opts)?.collect()
    }

    fn cell(b: &CsvBatch, row: usize, col: usize) -> Option<String> {
        let a = b
            .batch
            .column(col)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        (!a.is_null(row)).then(|| a.value(row).to_string())
    }

    #[test]
    fn bom_crlf_blank_lines_and_quoted_newlines() {
        let input = b"\xEF\xBB\xBFemail,name\r\na@x.com,\"A\r\nB\"\r\n\r\nb@x.com,  bob \r\n";
        let batches = read_all(input, RaggedRows::Reject).unwrap();
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!(b.batch.schema().field(0).name(), "email");
        assert_eq!(b.num_rows(), 2);
        assert_eq!(cell(b, 0, 1).as_deref(), Some("A\nB"));
        assert_eq!(cell(b, 1, 1).as_deref(), Some("  bob "));
        assert_eq!(b.lines, vec![2, 5]);
    }

    #[test]
    fn line_numbers_with_crlf_bare_cr_and_tiny_reads() {
        // A reader that hands out one byte at a time exercises the look-ahead.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let input = b"a,b\r\n1,\"x\ry\"\r\n\r\n2,z\r\n3,\"q\r\n\"\r\n4,w";
        let opts = CsvReadOptions {
            batch_rows: 10,
            ..CsvReadOptions::default()
        };
        let batches: Vec<CsvBatch> = CsvBatchReader::new(Path::new("t.csv"), Trickle(input), opts)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let b = &batches[0];
        assert_eq!(b.lines, vec![2, 4, 5, 7]);
        assert_eq!(cell(b, 0, 1).as_deref(), Some("x\ry"));
        assert_eq!(cell(b, 2, 1).as_deref(), Some("q\n"));
        assert_eq!(cell(b, 3, 1).as_deref(), Some("w"));
    }

    #[test]
    fn ragged_rows_reject_or_report() {
        let input = b"a,b,c\n1,2,3\n1,2\n1,2,3,4\n";
        let err = read_all(input, RaggedRows::Reject).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv: line 3: record has 2 fields but the header has 3"
        );
        let batches = read_all(input, RaggedRows::Report).unwrap();
        let ragged: Vec<_> = batches.iter().flat_map(|b| b.ragged.clone()).collect();
        assert_eq!(
            ragged,
            vec![
                RaggedRow {
                    row: 2,
                    line: 3,
                    found: 2
                },
                RaggedRow {
                    row: 3,
                    line: 4,
                    found: 4
                }
            ]
        );
        assert_eq!(cell(&batches[0], 1, 2), None);
    }

    #[test]
    fn invalid_utf8_names_line_and_field() {
        let err = read_all(
            b"email,name\na@x.com,ok\nb@x.com,\xff\xfe\n",
            RaggedRows::Reject,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv: line 3: invalid UTF-8 in field \"name\""
        );
    }

    #[test]
    fn empty_and_header_only() {
        assert!(matches!(
            read_all(b"", RaggedRows::Reject),
            Err(CsvReadError::Empty { .. })
        ));
        assert!(read_all(b"email\n", RaggedRows::Reject).unwrap().is_empty());
    }

    #[test]
    fn unterminated_quote_is_bounded() {
        let mut input = b"a,b\n1,\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100_000));
        let err = read_all(&input, RaggedRows::Reject).unwrap_err();
        assert!(
            matches!(err, CsvReadError::RecordTooLong { line: 2, .. }),
            "{err}"
        );
    }
}
