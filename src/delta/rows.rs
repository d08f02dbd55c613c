//! Reading again, by byte offset, the rows of the users whose fingerprints
//! differ between the packages ([`super::triage`]): a few percent of the
//! rows in a cut-over, so the exact comparison ([`super::compare`]) never
//! needs the other rows in memory.
//!
//! Each row read back must give the user key it was fingerprinted with;
//! otherwise the file changed while `diff` ran, which is an error.

use std::fs::File;
use std::io::{self, SeekFrom};
use std::path::Path;

use super::buckets::{RowKind, RowPrint};
use super::compare::Record;
use super::fingerprint::key_print;
use super::input::{row_key, SideFiles};
use super::DiffError;

/// A row read back: its user key and canonical fields.
#[derive(Debug, Clone)]
pub struct OwnedRow {
    pub kind: RowKind,
    pub line: u64,
    pub key: String,
    pub fields: Vec<String>,
}

impl OwnedRow {
    /// A borrowing view for the comparison.
    pub fn record(&self) -> Record<'_> {
        Record {
            kind: self.kind,
            line: self.line,
            key: &self.key,
            fields: self.fields.iter().map(String::as_str).collect(),
        }
    }
}

fn changed(path: &Path, line: u64) -> DiffError {
    DiffError::Row {
        path: path.to_path_buf(),
        line,
        message: "the file changed while diff was running".to_string(),
    }
}

/// Reads the rows of `prints` (any order; sorted here by file and offset)
/// from the package files of one side.
pub fn read_rows(files: &SideFiles, prints: &mut [RowPrint]) -> Result<Vec<OwnedRow>, DiffError> {
    prints.sort_unstable_by_key(|p| (p.kind, p.offset));
    let mut out = Vec::with_capacity(prints.len());
    // One reader per file, moved from row to row (building a CSV reader
    // costs more than reading a row).
    let mut open: Option<(RowKind, csv::Reader<File>)> = None;
    let mut record = csv::StringRecord::new();
    let mut key = String::new();
    for p in prints.iter() {
        let Some(fc) = files.get(p.kind) else {
            return Err(DiffError::Spill(
                "a fingerprinted file disappeared".to_string(),
            ));
        };
        let io_error = |source: io::Error| DiffError::Io {
            path: fc.path.clone(),
            source,
        };
        if open.as_ref().is_none_or(|(k, _)| *k != p.kind) {
            let file = File::open(&fc.path).map_err(io_error)?;
            let reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .buffer_capacity(8 << 10)
                .from_reader(file);
            open = Some((p.kind, reader));
        }
        let Some((_, reader)) = open.as_mut() else {
            continue;
        };
        let mut at = csv::Position::new();
        at.set_byte(p.offset);
        reader
            .seek_raw(SeekFrom::Start(p.offset), at)
            .map_err(|e| DiffError::Csv {
                path: fc.path.clone(),
                message: e.to_string(),
            })?;
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Err(changed(&fc.path, p.line)),
            Err(e) => {
                return Err(DiffError::Csv {
                    path: fc.path.clone(),
                    message: e.to_string(),
                })
            }
        }
        let fields: Vec<&str> = fc
            .columns
            .iter()
            .map(|&c| record.get(c).unwrap_or(""))
            .collect();
        if !row_key(&mut key, p.kind, &fields) || key_print(&key) != p.key {
            return Err(changed(&fc.path, p.line));
        }
        out.push(OwnedRow {
            kind: p.kind,
            line: p.line,
            key: key.clone(),
            fields: fields.iter().map(|s| s.to_string()).collect(),
        });
    }
    Ok(out)
}
