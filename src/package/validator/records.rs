//! Steps 5-7 of §2.2: file presence, CSV headers, and streamed record counts.
//!
//! Nothing here reads a whole file into memory: CSVs go through the `csv`
//! crate record by record, JSONL through a reused line buffer, and a single
//! record or line larger than [`MAX_RECORD_BYTES`] is reported instead of being
//! buffered (an unterminated quote would otherwise pull in the rest of the file).

use std::cell::Cell;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::rc::Rc;

use super::manifest::js_trim;
use super::Issue;

pub(super) const CSV_PARSE_FAILED: &str = "csv_parse_failed";

/// Largest single CSV record / JSONL line the validator will buffer.
pub(super) const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// Largest first record read by the header check (canonical headers are < 1 KiB).
const MAX_HEADER_BYTES: u64 = 1024 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// True when `path` is (or links to) a regular file.
pub(super) fn is_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// `missing_file` unless `full` is a regular file.
pub(super) fn check_is_file(full: &Path, rel: &str) -> Option<Issue> {
    let message = match fs::metadata(full) {
        Ok(m) if m.is_file() => return None,
        Ok(_) => format!("Package file is missing: {rel} (not a regular file)"),
        Err(_) => format!("Package file is missing: {rel}"),
    };
    Some(Issue::error("missing_file", message).with_file(rel))
}

fn csv_parse_failed(rel: &str, msg: impl std::fmt::Display) -> Issue {
    Issue::error(
        CSV_PARSE_FAILED,
        format!("Unable to parse CSV file {rel}: {msg}"),
    )
    .with_file(rel)
}

/// Reads up to `n` bytes (fewer only at end of file).
fn read_prefix(reader: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(n);
    reader.by_ref().take(n as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// Opens a file positioned after a leading UTF-8 BOM, if any.
fn open_without_bom(path: &Path) -> io::Result<impl Read> {
    let mut file = File::open(path)?;
    let mut prefix = read_prefix(&mut file, BOM.len())?;
    if prefix == BOM {
        prefix.clear();
    }
    Ok(Cursor::new(prefix).chain(file))
}

/// The header rule of §2.2 step 6: the first record, parsed as CSV (BOM
/// stripped, names trimmed), must equal `expected` exactly. An empty file or
/// an empty first line is `missing_csv_header`.
pub(super) fn check_csv_header(full: &Path, rel: &str, expected: &[&str]) -> Option<Issue> {
    let missing = || {
        Issue::error(
            "missing_csv_header",
            format!("CSV file is missing a header row: {rel}"),
        )
        .with_file(rel)
    };
    let mismatch = || {
        Issue::error(
            "invalid_csv_header",
            format!("CSV header for {rel} does not match the package contract"),
        )
        .with_file(rel)
    };

    let mut reader = match open_without_bom(full) {
        Ok(r) => r,
        Err(e) => return Some(csv_parse_failed(rel, e)),
    };
    // The first physical line must not be empty (`csv` would skip it).
    let start = match read_prefix(&mut reader, 2) {
        Ok(p) => p,
        Err(e) => return Some(csv_parse_failed(rel, e)),
    };
    if start.is_empty() || start[0] == b'\n' || start == b"\r\n" {
        return Some(missing());
    }

    let limited = Cursor::new(start).chain(reader).take(MAX_HEADER_BYTES);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(limited);
    let mut record = csv::ByteRecord::new();
    match csv.read_byte_record(&mut record) {
        Err(e) => Some(csv_parse_failed(rel, e)),
        Ok(false) => Some(missing()),
        Ok(true) => {
            let too_long = csv.position().byte() >= MAX_HEADER_BYTES;
            let matches = !too_long
                && record.len() == expected.len()
                && record.iter().zip(expected).all(|(name, want)| {
                    std::str::from_utf8(name).is_ok_and(|n| js_trim(n) == *want)
                });
            (!matches).then(mismatch)
        }
    }
}

/// Outcome of counting one file: the count (absent when the file could not be
/// parsed) and any parse issues.
pub(super) struct Counted {
    pub count: Option<u64>,
    pub issues: Vec<Issue>,
}

/// Where the record being read started, shared with [`CappedReader`].
#[derive(Clone, Copy, Default)]
struct RecordStart {
    byte: u64,
    line: u64,
}

/// Fails the read once more than `cap` bytes were pulled in since the start of
/// the current record, so one runaway record cannot exhaust memory.
struct CappedReader<R> {
    inner: R,
    read: u64,
    cap: u64,
    start: Rc<Cell<RecordStart>>,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let start = self.start.get();
        if self.read.saturating_sub(start.byte) > self.cap {
            return Err(io::Error::other(format!(
                "the record starting on line {} is larger than {} bytes (unterminated quoted field?)",
                start.line, self.cap
            )));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Data records of a CSV (§0.2: header excluded, BOM stripped, blank lines
/// skipped, ragged rows allowed; a row of only commas is a record and a quoted
/// multi-line field counts once). Invalid UTF-8 or a read error →
/// `csv_parse_failed` with the parser's message.
pub(super) fn count_csv_records(full: &Path, rel: &str) -> Counted {
    count_csv_records_capped(full, rel, MAX_RECORD_BYTES)
}

fn count_csv_records_capped(full: &Path, rel: &str, cap: u64) -> Counted {
    let fail = |e: &dyn std::fmt::Display| Counted {
        count: None,
        issues: vec![csv_parse_failed(rel, e)],
    };
    let reader = match open_without_bom(full) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let start = Rc::new(Cell::new(RecordStart { byte: 0, line: 1 }));
    let capped = CappedReader {
        inner: reader,
        read: 0,
        cap,
        start: Rc::clone(&start),
    };
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(capped);
    let mut record = csv::StringRecord::new();
    let mut count = 0u64;
    loop {
        match csv.read_record(&mut record) {
            Ok(true) => count += 1,
            Ok(false) => break,
            Err(e) => return fail(&e),
        }
        let pos = csv.position();
        start.set(RecordStart {
            byte: pos.byte(),
            line: pos.line(),
        });
    }
    Counted {
        count: Some(count),
        issues: Vec::new(),
    }
}

/// Reads one `\n`-terminated line into `buf` (terminator removed), keeping at
/// most `cap` bytes and discarding the rest of an over-long line. Returns
/// `None` at end of file, else whether the line was cut.
fn read_line_capped(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<Option<bool>> {
    buf.clear();
    let mut any = false;
    let mut cut = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(any.then_some(cut));
        }
        any = true;
        let (line_part, used, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        let room = cap.saturating_sub(buf.len());
        if line_part.len() > room {
            cut = true;
        }
        buf.extend_from_slice(&line_part[..line_part.len().min(room)]);
        reader.consume(used);
        if done {
            return Ok(Some(cut));
        }
    }
}

/// JSONL records (§2.2 step 7): whitespace-only lines ignored, every other
/// line counts and must be one JSON value, else `jsonl_parse_failed` naming its
/// 1-based index among the non-blank lines.
pub(super) fn count_jsonl_records(full: &Path, rel: &str) -> Counted {
    count_jsonl_records_capped(full, rel, MAX_RECORD_BYTES as usize)
}

fn count_jsonl_records_capped(full: &Path, rel: &str, cap: usize) -> Counted {
    let read_failed = |e: io::Error| Counted {
        count: None,
        issues: vec![Issue::error(
            "jsonl_parse_failed",
            format!("Unable to read JSONL file {rel}: {e}"),
        )
        .with_file(rel)],
    };
    let file = match File::open(full) {
        Ok(f) => f,
        Err(e) => return read_failed(e),
    };
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut buf = Vec::new();
    let mut issues = Vec::new();
    let mut count = 0u64;
    loop {
        let cut = match read_line_capped(&mut reader, &mut buf, cap) {
            Ok(Some(cut)) => cut,
            Ok(None) => break,
            Err(e) => return read_failed(e),
        };
        let mut line = buf.as_slice();
        if !cut {
            line = line.strip_suffix(b"\r").unwrap_or(line);
        }
        let text = std::str::from_utf8(line);
        if !cut && text.is_ok_and(|t| js_trim(t).is_empty()) {
            continue;
        }
        count += 1;
        let valid =
            !cut && text.is_ok_and(|t| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok());
        if !valid {
            issues.push(
                Issue::error(
                    "jsonl_parse_failed",
                    format!("Invalid JSONL record in {rel} on line {count}"),
                )
                .with_file(rel),
            );
        }
    }
    Counted {
        count: Some(count),
        issues,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(content: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, content).unwrap();
        (dir, path)
    }

    fn csv_count(content: &[u8]) -> Option<u64> {
        let (_d, p) = file(content);
        count_csv_records(&p, "f.csv").count
    }

    #[test]
    fn csv_counting_rules() {
        assert_eq!(csv_count(b""), Some(0));
        assert_eq!(csv_count(b"a,b\n"), Some(0));
        assert_eq!(csv_count(b"a,b"), Some(0));
        assert_eq!(csv_count(b"a,b\n1,2\n"), Some(1));
        assert_eq!(csv_count(b"a,b\n1,2"), Some(1));
        // A row of only commas is a record.
        assert_eq!(csv_count(b"a,b,c\n,,\n"), Some(1));
        // Blank lines (LF and CRLF) are skipped anywhere.
        assert_eq!(csv_count(b"\n\na,b\n\n1,2\n\r\n\r\n3,4\n\n"), Some(2));
        // A whitespace-only line is a record (one field), like csv-parse.
        assert_eq!(csv_count(b"a,b\n  \n"), Some(1));
        // BOM + CRLF.
        assert_eq!(csv_count(b"\xEF\xBB\xBFa,b\r\n1,2\r\n3,4\r\n"), Some(2));
        // BOM then a blank first line: the header is the next line.
        assert_eq!(csv_count(b"\xEF\xBB\xBF\na,b\n1,2\n"), Some(1));
        // A quoted multi-line field counts once; ragged rows are fine.
        assert_eq!(csv_count(b"a,b\n\"x\ny\",2\n1\n1,2,3\n"), Some(3));
        // Bare CR terminates records too.
        assert_eq!(csv_count(b"a,b\r1,2\r"), Some(1));
    }

    #[test]
    fn csv_invalid_utf8_names_the_line() {
        let (_d, p) = file(b"a,b\n1,2\n\xff,3\n");
        let counted = count_csv_records(&p, "users.csv");
        assert_eq!(counted.count, None);
        let msg = &counted.issues[0].message;
        assert!(
            msg.starts_with("Unable to parse CSV file users.csv: "),
            "{msg}"
        );
        assert!(msg.contains("line 3"), "{msg}");
        assert_eq!(counted.issues[0].code, CSV_PARSE_FAILED);
    }

    #[test]
    fn csv_runaway_record_is_reported_not_buffered() {
        let mut content = b"a,b\n1,2\n\"never closed\n".to_vec();
        content.extend(std::iter::repeat_n(b'x', 200_000));
        let (_d, p) = file(&content);
        let counted = count_csv_records_capped(&p, "f.csv", 50_000);
        assert_eq!(counted.count, None);
        assert!(
            counted.issues[0]
                .message
                .contains("record starting on line 3"),
            "{}",
            counted.issues[0].message
        );
        // Under the cap the same file parses (the quote runs to end of file).
        assert_eq!(
            count_csv_records_capped(&p, "f.csv", 1 << 20).count,
            Some(2)
        );
    }

    fn header(content: &[u8]) -> Option<&'static str> {
        let (_d, p) = file(content);
        check_csv_header(&p, "x.csv", &["email", "name"]).map(|i| i.code)
    }

    #[test]
    fn header_rules() {
        assert_eq!(header(b"email,name\n"), None);
        assert_eq!(header(b"email,name"), None);
        assert_eq!(header(b"\xEF\xBB\xBFemail,name\r\n1,2\r\n"), None);
        assert_eq!(header(b" email , name \n"), None);
        assert_eq!(header(b"\"email\",\"name\"\n"), None);
        assert_eq!(header(b""), Some("missing_csv_header"));
        assert_eq!(header(b"\xEF\xBB\xBF"), Some("missing_csv_header"));
        assert_eq!(header(b"\nemail,name\n"), Some("missing_csv_header"));
        assert_eq!(header(b"\r\nemail,name\n"), Some("missing_csv_header"));
        assert_eq!(header(b"name,email\n"), Some("invalid_csv_header"));
        assert_eq!(header(b"email\n"), Some("invalid_csv_header"));
        assert_eq!(header(b"email,name,extra\n"), Some("invalid_csv_header"));
        assert_eq!(header(b"Email,name\n"), Some("invalid_csv_header"));
        assert_eq!(header(b"email,\xff\n"), Some("invalid_csv_header"));
        assert_eq!(header(b"  \n"), Some("invalid_csv_header"));
    }

    fn jsonl(content: &[u8], cap: usize) -> (Option<u64>, Vec<String>) {
        let (_d, p) = file(content);
        let c = count_jsonl_records_capped(&p, "w.jsonl", cap);
        (c.count, c.issues.into_iter().map(|i| i.message).collect())
    }

    #[test]
    fn jsonl_rules() {
        assert_eq!(jsonl(b"", 1024), (Some(0), vec![]));
        assert_eq!(jsonl(b"{}\n{\"a\":1}\n", 1024), (Some(2), vec![]));
        assert_eq!(jsonl(b"{}\r\n \t\r\n\n{}", 1024), (Some(2), vec![]));
        assert_eq!(
            jsonl(b"{}\n\nnope\n{\"a\":\xff}\n1\n", 1024),
            (
                Some(4),
                vec![
                    "Invalid JSONL record in w.jsonl on line 2".to_string(),
                    "Invalid JSONL record in w.jsonl on line 3".to_string()
                ]
            )
        );
        // Two values on one line are not one record.
        assert_eq!(jsonl(b"{} {}\n", 1024).1.len(), 1);
        // An over-long line is one invalid record; the next line is still read.
        assert_eq!(
            jsonl(b"{\"a\":\"xxxxxxxxxxxxxxxxxxxx\"}\n{}\n", 8),
            (
                Some(2),
                vec!["Invalid JSONL record in w.jsonl on line 1".to_string()]
            )
        );
    }

    #[test]
    fn directories_are_not_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_file(dir.path()));
        let issue = check_is_file(dir.path(), "users.csv").unwrap();
        assert_eq!(issue.code, "missing_file");
        assert_eq!(
            issue.message,
            "Package file is missing: users.csv (not a regular file)"
        );
        let issue = check_is_file(&dir.path().join("nope"), "nope.csv").unwrap();
        assert_eq!(issue.message, "Package file is missing: nope.csv");
    }
}
