//! Streaming reader of the Auth0 password export (NDJSON, one user per line;
//! export-and-package.md §9.3). Every usable record is handed to a sink as
//! `(line, lower-cased email, hash)`; nothing is kept in memory.
//!
//! A UTF-8 BOM before the first line is stripped and CRLF line ends are
//! accepted. Blank lines are ignored. Every other line that is not a JSON
//! object with non-empty string `email` and `passwordHash` — invalid UTF-8,
//! invalid JSON, another JSON value, missing or non-string fields, a line over
//! [`MAX_LINE_BYTES`] — is *junk*: counted, with the first line numbers kept
//! for the report, and never echoed (a line may hold a hash).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;

/// Longest line read; longer ones are junk and are skipped without being held.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Line numbers of junk lines kept for the report.
pub const JUNK_LINES_SHOWN: usize = 5;

/// Junk lines seen: how many, and the first few line numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JunkLines {
    pub count: u64,
    pub first: Vec<u64>,
}

impl JunkLines {
    fn add(&mut self, line: u64) {
        self.count += 1;
        if self.first.len() < JUNK_LINES_SHOWN {
            self.first.push(line);
        }
    }
}

/// What one pass over the password file found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordFileScan {
    /// Usable records (duplicates of one email included).
    pub records: u64,
    pub junk: JunkLines,
}

#[derive(Deserialize)]
struct PasswordRecord<'a> {
    #[serde(borrow, default)]
    email: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "passwordHash")]
    password_hash: Option<Cow<'a, str>>,
}

/// The lookup key of an email on both sides of the join.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// [`email_key`] written into `out` (no allocation for ASCII emails).
pub fn email_key_into(email: &str, out: &mut String) {
    let email = email.trim();
    out.clear();
    if email.is_ascii() {
        // For ASCII text `to_lowercase` is exactly the ASCII mapping.
        out.push_str(email);
        out.make_ascii_lowercase();
    } else {
        out.push_str(&email.to_lowercase());
    }
}

/// Reads `path` line by line and calls `sink(line, key, hash)` for every
/// usable record, in file order.
pub fn scan_password_file<E>(
    path: &Path,
    mut sink: impl FnMut(u64, &str, &str) -> Result<(), E>,
) -> Result<PasswordFileScan, E>
where
    E: From<io::Error>,
{
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut scan = PasswordFileScan::default();
    let mut buf = Vec::with_capacity(4096);
    let mut line = 0u64;
    let mut key = String::new();
    loop {
        buf.clear();
        let Some(complete) = read_line_bounded(&mut reader, &mut buf, MAX_LINE_BYTES)? else {
            break;
        };
        line += 1;
        if !complete {
            scan.junk.add(line);
            continue;
        }
        let mut bytes: &[u8] = &buf;
        if line == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let bytes = bytes.trim_ascii();
        if bytes.is_empty() {
            continue;
        }
        match parse_record(bytes) {
            Some((email, hash)) => {
                scan.records += 1;
                email_key_into(&email, &mut key);
                sink(line, &key, &hash)?;
            }
            None => scan.junk.add(line),
        }
    }
    Ok(scan)
}

/// `(email, hash)` of a usable line, `None` for junk.
fn parse_record(bytes: &[u8]) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    if bytes.first() != Some(&b'{') {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let record: PasswordRecord<'_> = serde_json::from_str(text).ok()?;
    let email = record.email.filter(|e| !e.trim().is_empty())?;
    let hash = record.password_hash.filter(|h| !h.is_empty())?;
    Some((email, hash))
}

/// Appends the next line (without its `\n`) to `buf`. Returns `None` at the
/// end of the input, `Some(false)` when the line was longer than `limit`
/// (the rest of it is consumed, not stored).
fn read_line_bounded<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Option<bool>> {
    let mut any = false;
    let mut fits = true;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(fits));
        }
        any = true;
        let (part, used, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        if fits && buf.len() + part.len() <= limit {
            buf.extend_from_slice(part);
        } else {
            fits = false;
            buf.clear();
        }
        reader.consume(used);
        if done {
            return Ok(Some(fits));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &[u8]) -> (Vec<(u64, String, String)>, PasswordFileScan) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.ndjson");
        std::fs::write(&path, text).unwrap();
        let mut got = Vec::new();
        let s = scan_password_file::<io::Error>(&path, |l, k, h| {
            got.push((l, k.to_string(), h.to_string()));
            Ok(())
        })
        .unwrap();
        (got, s)
    }

    #[test]
    fn bom_crlf_blank_and_junk_lines() {
        let text = b"\xEF\xBB\xBF{\"email\":\"A@X.com\",\"passwordHash\":\"h1\"}\r\n\r\nnot json\n[1]\n{\"email\":\"b@x.com\"}\n{\"email\":5,\"passwordHash\":\"h\"}\n\xff\xfe{}\n{\"email\":\"c@x.com\",\"passwordHash\":\"h3\",\"tenant\":\"t\",\"password_set_date\":{\"$date\":\"2020\"}}";
        let (got, s) = scan(text);
        assert_eq!(
            got,
            [
                (1, "a@x.com".to_string(), "h1".to_string()),
                (8, "c@x.com".to_string(), "h3".to_string())
            ]
        );
        assert_eq!(s.records, 2);
        assert_eq!(s.junk.count, 5);
        assert_eq!(s.junk.first, [3, 4, 5, 6, 7]);
    }

    #[test]
    fn email_key_into_matches_email_key() {
        let mut key = String::from("stale");
        for email in [" A@X.COM\t", "Ünïcødé@Exämple.COM", "İ@x.com", "", "ß@X"] {
            email_key_into(email, &mut key);
            assert_eq!(key, email_key(email), "{email}");
        }
    }

    #[test]
    fn overlong_line_is_junk_and_not_held() {
        let mut text = b"{\"email\":\"a@x.com\",\"passwordHash\":\"".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
        text.extend_from_slice(b"\"}\n{\"email\":\"b@x.com\",\"passwordHash\":\"h\"}\n");
        let (got, s) = scan(&text);
        assert_eq!(got, [(2, "b@x.com".to_string(), "h".to_string())]);
        assert_eq!(s.junk.first, [1]);
    }
}
