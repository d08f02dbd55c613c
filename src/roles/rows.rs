//! Row-at-a-time view of a CSV file for the role and TOTP inputs: wraps the
//! package's streaming [`CsvBatchReader`] (BOM stripped, CRLF accepted,
//! blank lines skipped, exact line numbers) and hands out one row of owned
//! cells at a time, so a file is never held whole.

use std::fs::File;
use std::path::Path;

use arrow::array::{Array, StringArray};

use crate::package::csv_reader::{
    CsvBatch, CsvBatchReader, CsvReadError, CsvReadOptions, RaggedRows,
};

/// Rows per Arrow batch: small, since every row costs HTTP calls anyway.
const BATCH_ROWS: usize = 512;

/// One data row.
#[derive(Debug, Clone)]
pub(crate) struct CsvRow {
    /// 1-based data-row number (header and blank lines not counted).
    pub row: u64,
    /// Physical line the record starts on (the header is line 1).
    pub line: u64,
    /// Cells by header position; `None` when the row is short.
    pub cells: Vec<Option<String>>,
    /// Field count when it differs from the header's.
    pub ragged: Option<usize>,
}

impl CsvRow {
    /// The trimmed cell at `col`, `None` when absent or blank.
    pub fn get(&self, col: Option<usize>) -> Option<&str> {
        col.and_then(|c| self.cells.get(c))
            .and_then(|c| c.as_deref())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

/// Iterator over the rows of a CSV file; ragged rows are reported, not fatal.
pub(crate) struct CsvRows {
    reader: CsvBatchReader<File>,
    batch: Option<CsvBatch>,
    next: usize,
}

impl CsvRows {
    pub fn open(path: &Path) -> Result<Self, CsvReadError> {
        let options = CsvReadOptions {
            batch_rows: BATCH_ROWS,
            ragged: RaggedRows::Report,
            ..CsvReadOptions::default()
        };
        Ok(Self {
            reader: CsvBatchReader::open(path, options)?,
            batch: None,
            next: 0,
        })
    }

    /// Header names (BOM stripped, trimmed).
    pub fn header(&self) -> &[String] {
        self.reader.header()
    }

    /// Position of a column by exact name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.reader.column(name)
    }

    fn row_of(batch: &CsvBatch, i: usize) -> CsvRow {
        let row = batch.first_row + i as u64;
        let cells = batch
            .batch
            .columns()
            .iter()
            .map(|col| {
                col.as_any()
                    .downcast_ref::<StringArray>()
                    .filter(|a| !a.is_null(i))
                    .map(|a| a.value(i).to_string())
            })
            .collect();
        CsvRow {
            row,
            line: batch.lines.get(i).copied().unwrap_or(0),
            cells,
            ragged: batch.ragged.iter().find(|r| r.row == row).map(|r| r.found),
        }
    }
}

impl Iterator for CsvRows {
    type Item = Result<CsvRow, CsvReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(batch) = &self.batch {
                if self.next < batch.num_rows() {
                    let row = Self::row_of(batch, self.next);
                    self.next += 1;
                    return Some(Ok(row));
                }
            }
            match self.reader.next()? {
                Ok(batch) => {
                    self.batch = Some(batch);
                    self.next = 0;
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
