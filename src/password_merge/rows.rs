//! A row-at-a-time cursor over a CSV file with the package reading rules
//! ([`CsvBatchReader`]): BOM stripped, CRLF accepted, blank lines skipped,
//! ragged rows and invalid UTF-8 are errors naming file and line.
//!
//! Rows are read by the fast plain-record reader ([`RawRecords`]) while the
//! file stays inside its subset (what this tool writes); at the first record
//! outside it the cursor reopens the file with the general Arrow reader,
//! skips the rows already handed out and continues there, so values, row
//! numbers and errors are the general reader's. Only one batch or one read
//! buffer is held at a time.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use arrow::array::{Array, StringArray};

use super::raw_rows::{CanonicalRecord, Next, RawRecords};
use crate::package::csv_reader::{CsvBatchReader, CsvReadError, CsvReadOptions, RaggedRows};

/// Longest header line the fast reader takes; longer ones use the general reader.
const MAX_FAST_HEADER: u64 = 64 * 1024;

/// Walks the data rows of a CSV file in order.
pub struct RowCursor {
    path: PathBuf,
    header: Vec<String>,
    backend: Backend,
    /// Rows handed out so far (the current row's number).
    row: u64,
}

enum Backend {
    Fast(RawRecords<BufReader<File>>),
    General(Box<Batches>),
}

/// The general reader and its current batch.
struct Batches {
    reader: CsvBatchReader<File>,
    columns: Vec<StringArray>,
    index: usize,
    len: usize,
}

impl RowCursor {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self, CsvReadError> {
        let general = open_general(path)?;
        let header = general.header().to_vec();
        let backend = match fast_start(path, header.len()) {
            Ok(Some(records)) => Backend::Fast(records),
            // The general reader already opened the file; any doubt → it.
            Ok(None) | Err(_) => Backend::General(Box::new(Batches::new(general))),
        };
        Ok(Self {
            path: path.to_path_buf(),
            header,
            backend,
            row: 0,
        })
    }

    /// Column names (BOM stripped, trimmed).
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Moves to the next row; returns its 1-based row number, `None` at the end.
    pub fn advance(&mut self) -> Result<Option<u64>, CsvReadError> {
        if let Backend::Fast(records) = &mut self.backend {
            let next = records.next_record().map_err(|source| CsvReadError::Open {
                path: self.path.clone(),
                source,
            })?;
            match next {
                Next::Record => {
                    self.row += 1;
                    return Ok(Some(self.row));
                }
                Next::End => return Ok(None),
                Next::Unsupported => self.switch_to_general()?,
            }
        }
        let Backend::General(batches) = &mut self.backend else {
            return Ok(None);
        };
        if batches.advance()? {
            self.row += 1;
            Ok(Some(self.row))
        } else {
            Ok(None)
        }
    }

    /// Continues with the general reader after the rows handed out so far.
    fn switch_to_general(&mut self) -> Result<(), CsvReadError> {
        let mut batches = Batches::new(open_general(&self.path)?);
        for _ in 0..self.row {
            if !batches.advance()? {
                return Err(CsvReadError::Arrow {
                    path: self.path.clone(),
                    message: "the file changed while it was being read".into(),
                });
            }
        }
        self.backend = Backend::General(Box::new(batches));
        Ok(())
    }

    /// 1-based number of the current row.
    pub fn row(&self) -> u64 {
        self.row
    }

    /// The current row's value in column `col` (empty when null).
    pub fn field(&self, col: usize) -> Cow<'_, str> {
        match &self.backend {
            Backend::Fast(records) => records.field(col),
            Backend::General(b) => Cow::Borrowed(b.field(col)),
        }
    }

    /// True when the value in column `col` contains `needle`, which must
    /// hold no `"` (the fast reader tests the bytes as written).
    pub fn field_contains(&self, col: usize, needle: &str) -> bool {
        let hay = match &self.backend {
            Backend::Fast(records) => records.field_bytes(col),
            Backend::General(b) => b.field(col).as_bytes(),
        };
        memchr::memmem::find(hay, needle.as_bytes()).is_some()
    }

    /// The current row's bytes when they are exactly the package encoding
    /// of its values in file order (fast reader only).
    pub fn canonical_record(&self) -> Option<CanonicalRecord<'_>> {
        match &self.backend {
            Backend::Fast(records) => records.canonical_record(),
            Backend::General(_) => None,
        }
    }
}

fn open_general(path: &Path) -> Result<CsvBatchReader<File>, CsvReadError> {
    let options = CsvReadOptions {
        batch_rows: 4096,
        ragged: RaggedRows::Reject,
        ..CsvReadOptions::default()
    };
    CsvBatchReader::open(path, options)
}

/// The fast reader positioned after the header line, when that line is
/// plain (no quote, no CR) and holds `width` names; `None` otherwise.
fn fast_start(path: &Path, width: usize) -> io::Result<Option<RawRecords<BufReader<File>>>> {
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path)?);
    let mut line = Vec::new();
    (&mut reader)
        .take(MAX_FAST_HEADER)
        .read_until(b'\n', &mut line)?;
    let plain = line.last() == Some(&b'\n')
        && line.len() > 1
        && !line.iter().any(|&b| b == b'"' || b == b'\r')
        && line.iter().filter(|&&b| b == b',').count() + 1 == width;
    if !plain {
        return Ok(None);
    }
    Ok(Some(RawRecords::new(reader, width)))
}

impl Batches {
    fn new(reader: CsvBatchReader<File>) -> Self {
        Self {
            reader,
            columns: Vec::new(),
            index: 0,
            len: 0,
        }
    }

    /// Moves to the next row; false at the end.
    fn advance(&mut self) -> Result<bool, CsvReadError> {
        if self.index + 1 < self.len {
            self.index += 1;
            return Ok(true);
        }
        loop {
            let Some(batch) = self.reader.next().transpose()? else {
                self.len = 0;
                self.index = 0;
                return Ok(false);
            };
            if batch.num_rows() == 0 {
                continue;
            }
            let mut columns = Vec::with_capacity(batch.batch.num_columns());
            for (i, col) in batch.batch.columns().iter().enumerate() {
                let strings = col
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .cloned()
                    .ok_or_else(|| CsvReadError::Arrow {
                        path: self.reader.path().to_path_buf(),
                        message: format!("column {} is not text", i + 1),
                    })?;
                columns.push(strings);
            }
            self.columns = columns;
            self.len = batch.num_rows();
            self.index = 0;
            return Ok(true);
        }
    }

    fn field(&self, col: usize) -> &str {
        match self.columns.get(col) {
            Some(c) if self.index < c.len() && !c.is_null(self.index) => c.value(self.index),
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row's values read by the cursor and by the general reader alone.
    type Rows = Result<Vec<Vec<String>>, String>;

    fn both(text: &[u8]) -> (Rows, Rows) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        let collect = |mut c: RowCursor| -> Rows {
            let width = c.header().len();
            let mut rows = Vec::new();
            while let Some(n) = c.advance().map_err(|e| e.to_string())? {
                assert_eq!(n as usize, rows.len() + 1);
                rows.push((0..width).map(|i| c.field(i).into_owned()).collect());
            }
            Ok(rows)
        };
        let fast = RowCursor::open(&path)
            .map_err(|e| e.to_string())
            .and_then(collect);
        let general = RowCursor::open(&path)
            .map_err(|e| e.to_string())
            .and_then(|mut c| {
                c.switch_to_general().map_err(|e| e.to_string())?;
                collect(c)
            });
        (fast, general)
    }

    #[test]
    fn fast_and_general_readers_agree() {
        let long = "y".repeat(2 << 20);
        let cases: Vec<Vec<u8>> = vec![
            b"email,metadata\na@x.com,\"{\"\"k\"\":\"\"v, w\"\"}\"\n\nb@x.com,\n".to_vec(),
            b"\xEF\xBB\xBFemail,name\r\na@x.com,A\r\nb@x.com,B\r\n".to_vec(),
            b"email,name\na@x.com,A\nb@x.com,B\r\nc@x.com,C\n".to_vec(),
            b"email,name\na@x.com,\"A\nB\"\nb@x.com,\"x\"y\nc,d".to_vec(),
            b"email,name\na@x.com,\"unterminated\n".to_vec(),
            b"email,name\na@x.com,A\nb@x.com\n".to_vec(),
            b"email,name\na@x.com,A\nb@x.com,\xff\n".to_vec(),
            b"email,name\na@x.com,A\n\"\"\nc,d\n".to_vec(),
            b"email\na\n\nb\n".to_vec(),
            b"\"email\",name\na,b\n".to_vec(),
            b"email,name\n".to_vec(),
            format!("email,name\na,\"{long}\"\nb,c\n").into_bytes(),
        ];
        for text in cases {
            let (fast, general) = both(&text);
            assert_eq!(
                fast,
                general,
                "{:?}",
                String::from_utf8_lossy(&text[..text.len().min(80)])
            );
        }
    }

    #[test]
    fn field_contains_sees_values_on_both_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "a,m\nx,\"{\"\"auth0_blocked\"\":1}\"\ny,\"q\"z\n").unwrap();
        let mut c = RowCursor::open(&path).unwrap();
        c.advance().unwrap();
        assert!(c.field_contains(1, "auth0_blocked"));
        assert!(c.canonical_record().is_some());
        c.advance().unwrap();
        assert!(c.canonical_record().is_none());
        assert!(!c.field_contains(1, "auth0_blocked"));
        assert_eq!(c.field(1), "qz");
    }
}
