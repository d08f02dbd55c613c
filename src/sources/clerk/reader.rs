//! The Clerk dashboard CSV as a stream of Arrow batches with a fixed schema.
//!
//! [`ClerkReader::open`] checks the file (exists, is a file, has a header with
//! `id` and `primary_email_address`) before anything is written; every batch
//! it yields has the 13 [`CLERK_COLUMNS`] in that order (a column missing from
//! the file is all null; columns Clerk does not define are dropped). Reading
//! rules are those of [`CsvBatchReader`] in strict mode: BOM stripped, CRLF
//! accepted, blank lines skipped, a ragged row or invalid UTF-8 ends the read
//! with an error naming the file and line.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{new_null_array, ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};

use crate::package::csv_reader::{
    CsvBatch, CsvBatchReader, CsvReadError, CsvReadOptions, RaggedRows,
};
use crate::package::schema::utf8_schema;

/// The columns of a Clerk dashboard export that the exporter reads, in the
/// order of the normalised batches.
pub const CLERK_COLUMNS: [&str; 13] = [
    "id",
    "first_name",
    "last_name",
    "username",
    "primary_email_address",
    "primary_phone_number",
    "verified_email_addresses",
    "unverified_email_addresses",
    "verified_phone_numbers",
    "unverified_phone_numbers",
    "totp_secret",
    "password_digest",
    "password_hasher",
];

/// Why the Clerk CSV cannot be read. Messages are one line and name the file.
#[derive(Debug, thiserror::Error)]
pub enum ClerkReadError {
    #[error("Clerk export CSV not found: {0}")]
    NotFound(PathBuf),
    #[error(
        "{path}: Clerk CSV must have 'primary_email_address' and 'id' columns. Found: {found}"
    )]
    MissingColumns { path: PathBuf, found: String },
    #[error(transparent)]
    Csv(#[from] CsvReadError),
    #[error("{path}: {message}")]
    Arrow { path: PathBuf, message: String },
}

/// An opened Clerk export whose header has been checked.
pub struct ClerkReader {
    inner: CsvBatchReader<File>,
    /// For each of [`CLERK_COLUMNS`], its index in the file (if present).
    positions: [Option<usize>; 13],
    schema: SchemaRef,
    total_bytes: u64,
}

impl std::fmt::Debug for ClerkReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClerkReader")
            .field("path", &self.inner.path())
            .field("positions", &self.positions)
            .finish()
    }
}

/// The Arrow schema of normalised batches: 13 nullable Utf8 columns.
pub fn clerk_schema() -> SchemaRef {
    utf8_schema(&CLERK_COLUMNS)
}

impl ClerkReader {
    /// Opens `path` and checks its header. `batch_rows` bounds the rows per batch.
    pub fn open(path: &Path, batch_rows: usize) -> Result<Self, ClerkReadError> {
        if !path.exists() {
            return Err(ClerkReadError::NotFound(path.to_path_buf()));
        }
        let options = CsvReadOptions {
            batch_rows: batch_rows.max(1),
            ragged: RaggedRows::Reject,
            ..CsvReadOptions::default()
        };
        let inner = CsvBatchReader::open(path, options)?;
        let header = inner.header();
        let positions = CLERK_COLUMNS.map(|name| header.iter().position(|h| h == name));
        if positions[0].is_none() || positions[4].is_none() {
            return Err(ClerkReadError::MissingColumns {
                path: path.to_path_buf(),
                found: header.join(", "),
            });
        }
        let total_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        Ok(Self {
            inner,
            positions,
            schema: clerk_schema(),
            total_bytes,
        })
    }

    pub fn path(&self) -> &Path {
        self.inner.path()
    }

    /// Column names as found in the file (BOM stripped, trimmed).
    pub fn header(&self) -> &[String] {
        self.inner.header()
    }

    /// Size of the input file in bytes (for progress).
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    pub fn schema(&self) -> SchemaRef {
        SchemaRef::clone(&self.schema)
    }

    /// True when the file has this Clerk column.
    pub fn has_column(&self, name: &str) -> bool {
        CLERK_COLUMNS
            .iter()
            .position(|c| *c == name)
            .is_some_and(|i| self.positions[i].is_some())
    }

    /// Projects a raw batch onto [`CLERK_COLUMNS`].
    fn normalise(&self, raw: &CsvBatch) -> Result<RecordBatch, ClerkReadError> {
        let rows = raw.num_rows();
        let columns: Vec<ArrayRef> = self
            .positions
            .iter()
            .map(|p| match p {
                Some(i) => ArrayRef::clone(raw.batch.column(*i)),
                None => new_null_array(&DataType::Utf8, rows),
            })
            .collect();
        RecordBatch::try_new(self.schema(), columns).map_err(|e| ClerkReadError::Arrow {
            path: self.path().to_path_buf(),
            message: e.to_string(),
        })
    }
}

/// One normalised batch and how far into the file it reaches.
#[derive(Debug, Clone)]
pub struct ClerkBatch {
    pub batch: RecordBatch,
    /// Physical line of each row (1-based; the header is line 1).
    pub lines: Vec<u64>,
    /// Input bytes consumed so far.
    pub end_byte: u64,
}

impl Iterator for ClerkReader {
    type Item = Result<ClerkBatch, ClerkReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let raw = match self.inner.next()? {
            Ok(raw) => raw,
            Err(e) => return Some(Err(e.into())),
        };
        Some(self.normalise(&raw).map(|batch| ClerkBatch {
            batch,
            lines: raw.lines,
            end_byte: raw.end_byte,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, StringArray};

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn normalises_columns_and_strips_bom() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "u.csv",
            b"\xEF\xBB\xBFextra,primary_email_address,id\r\nx,a@x.com,u1\r\n\r\ny,,u2\r\n",
        );
        let r = ClerkReader::open(&p, 10).unwrap();
        assert!(r.has_column("id") && !r.has_column("totp_secret"));
        let batches: Vec<ClerkBatch> = r.map(Result::unwrap).collect();
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!(b.batch.num_columns(), 13);
        assert_eq!(b.lines, vec![2, 4]);
        let id = b
            .batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!((id.value(0), id.value(1)), ("u1", "u2"));
        assert!(b.batch.column(1).is_null(0));
    }

    #[test]
    fn header_errors() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "u.csv", b"user_id,primary_email_address\n");
        let e = ClerkReader::open(&p, 10).unwrap_err().to_string();
        assert!(
            e.ends_with("u.csv: Clerk CSV must have 'primary_email_address' and 'id' columns. Found: user_id, primary_email_address"),
            "{e}"
        );
        let e = ClerkReader::open(&d.path().join("nope.csv"), 10)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("Clerk export CSV not found: "), "{e}");
        let e = ClerkReader::open(d.path(), 10).unwrap_err().to_string();
        assert!(e.ends_with("is a directory, expected a CSV file"), "{e}");
        let p = write(d.path(), "empty.csv", b"");
        let e = ClerkReader::open(&p, 10).unwrap_err().to_string();
        assert!(e.ends_with("file is empty (expected a header row)"), "{e}");
    }

    #[test]
    fn ragged_and_utf8_errors_name_the_line() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "r.csv",
            b"id,primary_email_address\nu1,a@x.com\nu2,b@x.com,extra\n",
        );
        let e = ClerkReader::open(&p, 10)
            .unwrap()
            .find_map(Result::err)
            .unwrap()
            .to_string();
        assert!(
            e.ends_with("line 3: record has 3 fields but the header has 2"),
            "{e}"
        );
        let p = write(
            d.path(),
            "b.csv",
            b"id,primary_email_address\nu1,a@x.com\nu2,\xff@x.com\n",
        );
        let e = ClerkReader::open(&p, 10)
            .unwrap()
            .find_map(Result::err)
            .unwrap()
            .to_string();
        assert!(
            e.ends_with("line 3: invalid UTF-8 in field \"primary_email_address\""),
            "{e}"
        );
    }
}
