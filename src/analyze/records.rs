//! Streaming reader of an `errors.jsonl` file (import.md §2.11): one JSON
//! object per line; blank lines, unparsable lines and objects without a
//! string `errorMessage` are skipped and counted. Lines are read with a
//! length cap so one runaway line cannot exhaust memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::AnalyzeError;

/// Longest line accepted; longer lines are skipped.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// The fields of an error record the analyzer uses.
#[derive(Debug, Clone)]
pub struct ErrorRecord {
    /// The record as read (kept for the `examples` of a group).
    pub raw: Value,
    pub record_number: Option<u64>,
    pub email: String,
    pub error_type: String,
    pub message: String,
    /// `httpStatus`, `None` when absent, zero or not a number.
    pub status: Option<u64>,
}

impl ErrorRecord {
    /// Parses one line; `None` for lines that are not error records.
    pub fn parse(line: &[u8]) -> Option<Self> {
        let raw: Value = serde_json::from_slice(line).ok()?;
        let obj = raw.as_object()?;
        let message = obj.get("errorMessage")?.as_str()?.to_string();
        let record_number = obj.get("recordNumber").and_then(Value::as_u64);
        let email = obj
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let error_type = obj
            .get("errorType")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .unwrap_or("unknown")
            .to_string();
        let status = obj
            .get("httpStatus")
            .and_then(Value::as_f64)
            .filter(|s| s.is_finite() && *s >= 1.0 && s.fract() == 0.0)
            .map(|s| s as u64);
        Some(Self {
            raw,
            record_number,
            email,
            error_type,
            message,
            status,
        })
    }
}

/// Iterates the error records of a file.
pub struct RecordReader {
    path: PathBuf,
    reader: BufReader<File>,
    line: Vec<u8>,
    /// Non-blank lines that were not error records (or too long).
    pub skipped: u64,
}

impl RecordReader {
    pub fn open(path: &Path) -> Result<Self, AnalyzeError> {
        let file = File::open(path).map_err(|source| AnalyzeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(256 * 1024, file),
            line: Vec::new(),
            skipped: 0,
        })
    }

    /// Reads one line into `self.line` (without the line end); `Ok(false)`
    /// at end of file. A line over [`MAX_LINE_BYTES`] is consumed and left
    /// empty with `too_long` set.
    fn read_line(&mut self) -> io::Result<Option<bool>> {
        self.line.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(any.then_some(too_long));
            }
            any = true;
            let (chunk_len, consumed, found_end) = match memchr::memchr(b'\n', buf) {
                Some(at) => (at, at + 1, true),
                None => (buf.len(), buf.len(), false),
            };
            if !too_long {
                if self.line.len() + chunk_len > MAX_LINE_BYTES {
                    too_long = true;
                    self.line.clear();
                } else {
                    self.line.extend_from_slice(&buf[..chunk_len]);
                }
            }
            self.reader.consume(consumed);
            if found_end {
                return Ok(Some(too_long));
            }
        }
    }

    /// The next error record, `None` at end of file.
    pub fn next_record(&mut self) -> Result<Option<ErrorRecord>, AnalyzeError> {
        loop {
            let too_long = match self.read_line() {
                Ok(None) => return Ok(None),
                Ok(Some(t)) => t,
                Err(source) => {
                    return Err(AnalyzeError::Read {
                        path: self.path.clone(),
                        source,
                    })
                }
            };
            if too_long {
                self.skipped += 1;
                continue;
            }
            let text = self.line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            match ErrorRecord::parse(text) {
                Some(r) => return Ok(Some(r)),
                None => self.skipped += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_records_and_skips_junk() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        write!(
            f,
            "{{\"recordNumber\":1,\"email\":\"a@x.com\",\"errorType\":\"user_create\",\"errorMessage\":\"m\",\"httpStatus\":429}}\r\n\n  \nnot json\n{{\"errorType\":\"user_create\"}}\n{{\"errorMessage\":\"x\",\"httpStatus\":0,\"errorType\":\"\"}}"
        )
        .unwrap();
        let mut r = RecordReader::open(f.path()).unwrap();
        let a = r.next_record().unwrap().unwrap();
        assert_eq!((a.record_number, a.status), (Some(1), Some(429)));
        let b = r.next_record().unwrap().unwrap();
        assert_eq!((b.status, b.error_type.as_str()), (None, "unknown"));
        assert!(r.next_record().unwrap().is_none());
        assert_eq!(r.skipped, 2);
    }
}
