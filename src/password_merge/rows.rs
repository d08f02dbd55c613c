//! A row-at-a-time cursor over a CSV file read by the package's streaming
//! reader ([`CsvBatchReader`]): BOM stripped, CRLF accepted, blank lines
//! skipped, ragged rows and invalid UTF-8 are errors naming file and line.
//! Only one batch is held at a time.

use std::fs::File;
use std::path::Path;

use arrow::array::{Array, StringArray};

use crate::package::csv_reader::{CsvBatchReader, CsvReadError, CsvReadOptions, RaggedRows};

/// Walks the data rows of a CSV file in order.
pub struct RowCursor {
    reader: CsvBatchReader<File>,
    columns: Vec<StringArray>,
    lines: Vec<u64>,
    first_row: u64,
    index: usize,
    len: usize,
}

impl RowCursor {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self, CsvReadError> {
        let options = CsvReadOptions {
            batch_rows: 4096,
            ragged: RaggedRows::Reject,
            ..CsvReadOptions::default()
        };
        Ok(Self {
            reader: CsvBatchReader::open(path, options)?,
            columns: Vec::new(),
            lines: Vec::new(),
            first_row: 1,
            index: 0,
            len: 0,
        })
    }

    /// Column names (BOM stripped, trimmed).
    pub fn header(&self) -> &[String] {
        self.reader.header()
    }

    /// Moves to the next row; returns its 1-based row number, `None` at the end.
    pub fn advance(&mut self) -> Result<Option<u64>, CsvReadError> {
        if self.index + 1 < self.len {
            self.index += 1;
            return Ok(Some(self.row()));
        }
        loop {
            let Some(batch) = self.reader.next().transpose()? else {
                self.len = 0;
                self.index = 0;
                return Ok(None);
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
            self.lines = batch.lines;
            self.first_row = batch.first_row;
            self.index = 0;
            return Ok(Some(self.row()));
        }
    }

    /// 1-based number of the current row.
    pub fn row(&self) -> u64 {
        self.first_row + self.index as u64
    }

    /// Line on which the current row starts.
    pub fn line(&self) -> u64 {
        self.lines.get(self.index).copied().unwrap_or(0)
    }

    /// The current row's value in column `col` (empty when null).
    pub fn field(&self, col: usize) -> &str {
        match self.columns.get(col) {
            Some(c) if self.index < c.len() && !c.is_null(self.index) => c.value(self.index),
            _ => "",
        }
    }
}
