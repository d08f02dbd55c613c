//! Streaming CSV writer with the package quoting rules (export-and-package.md §0.1).
//!
//! A field is quoted only when it contains `,`, `"`, `\n` or `\r` (embedded `"`
//! doubled); everything else is written verbatim. Records end with `\n`, the
//! header is always written, and there is no BOM. The original tool left a bare
//! `\r` unquoted, which any RFC 4180 reader (ours included) would split into two
//! records; we quote it (docs/decisions.md).

use std::io::{self, Write};

use arrow::array::{Array, RecordBatch, StringArray};

/// Errors from writing a package CSV.
#[derive(Debug, thiserror::Error)]
pub enum CsvWriteError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("record has {found} fields but the header has {expected}")]
    FieldCount { expected: usize, found: usize },
    #[error("column {index} is not a UTF-8 string column")]
    NotUtf8Column { index: usize },
}

/// Bytes that force quoting: `,` `"` `\n` `\r`.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b',' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'\r' as usize] = true;
    t
};

const ONES: u64 = 0x0101_0101_0101_0101;

/// Non-zero when some byte of `w` equals `c` (the lowest flagged byte is
/// always a true match).
#[inline]
fn has_byte(w: u64, c: u8) -> u64 {
    let x = w ^ (ONES * u64::from(c));
    x.wrapping_sub(ONES) & !x & (ONES << 7)
}

/// True when `field` must be wrapped in double quotes.
pub fn needs_quotes(field: &[u8]) -> bool {
    if field.len() >= 256 {
        return memchr::memchr3(b',', b'"', b'\n', field).is_some()
            || memchr::memchr(b'\r', field).is_some();
    }
    // Short fields (nearly all of them): eight bytes at a time.
    let mut chunks = field.chunks_exact(8);
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        let w = u64::from_le_bytes(word);
        if has_byte(w, b',') | has_byte(w, b'"') | has_byte(w, b'\n') | has_byte(w, b'\r') != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| SPECIAL[b as usize])
}

/// Appends one field, quoted when needed, to `out`.
#[inline]
pub fn push_field(out: &mut Vec<u8>, field: &str) {
    if !field.is_empty() {
        push_field_bytes(out, field.as_bytes());
    }
}

/// Appends `value` as a cell and the `,` that follows it; returns where the
/// cell's bytes are, so another file's row can reuse them.
pub fn push_cell(out: &mut Vec<u8>, value: &str) -> std::ops::Range<usize> {
    let start = out.len();
    push_field(out, value);
    let cell = start..out.len();
    out.push(b',');
    cell
}

/// [`push_field`] for text already known to be UTF-8 bytes.
pub fn push_field_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    if !needs_quotes(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    push_quoted(out, bytes);
}

/// Appends `bytes` wrapped in double quotes, doubling embedded quotes.
pub fn push_quoted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    push_doubled(out, bytes);
    out.push(b'"');
}

/// Appends `bytes` with every `"` doubled (the inside of a quoted field).
pub fn push_doubled(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    // Worst case: every byte a quote. One pass writing into the slack
    // beats a `memchr` per quote on quote-dense text such as JSON; words
    // without a quote are copied eight bytes at a time.
    out.resize(start + 2 * bytes.len(), 0);
    let buf = &mut out[start..];
    let mut j = 0;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        if has_byte(u64::from_le_bytes(word), b'"') == 0 {
            buf[j..j + 8].copy_from_slice(w);
            j += 8;
            continue;
        }
        for &b in w {
            buf[j] = b;
            j += 1;
            if b == b'"' {
                buf[j] = b'"';
                j += 1;
            }
        }
    }
    for &b in words.remainder() {
        buf[j] = b;
        j += 1;
        if b == b'"' {
            buf[j] = b'"';
            j += 1;
        }
    }
    out.truncate(start + j);
}

/// Appends one whole record (fields, quoted when needed, and the `\n`).
pub fn push_record(out: &mut Vec<u8>, fields: &[&str]) {
    encode_record(out, fields.iter().copied());
}

/// Writes CSV records with a fixed column count to any `Write`.
pub struct PackageCsvWriter<W: Write> {
    inner: W,
    columns: usize,
    line: Vec<u8>,
    rows: u64,
}

impl<W: Write> PackageCsvWriter<W> {
    /// Writes the header line immediately.
    pub fn new(mut inner: W, header: &[&str]) -> Result<Self, CsvWriteError> {
        let mut line = Vec::with_capacity(256);
        encode_record(&mut line, header.iter().copied());
        inner.write_all(&line)?;
        Ok(Self {
            inner,
            columns: header.len(),
            line,
            rows: 0,
        })
    }

    /// Writes one data record; `fields` must have exactly the header's width.
    pub fn write_record<'a, I>(&mut self, fields: I) -> Result<(), CsvWriteError>
    where
        I: IntoIterator<Item = &'a str>,
        I::IntoIter: ExactSizeIterator,
    {
        let fields = fields.into_iter();
        if fields.len() != self.columns {
            return Err(CsvWriteError::FieldCount {
                expected: self.columns,
                found: fields.len(),
            });
        }
        self.line.clear();
        encode_record(&mut self.line, fields);
        self.inner.write_all(&self.line)?;
        self.rows += 1;
        Ok(())
    }

    /// Writes records already encoded with [`push_record`] / [`push_field`]
    /// (`rows` of them; the caller guarantees the width).
    pub fn write_encoded(&mut self, bytes: &[u8], rows: u64) -> Result<(), CsvWriteError> {
        self.inner.write_all(bytes)?;
        self.rows += rows;
        Ok(())
    }

    /// Writes every row of a batch whose columns are all Utf8 (nulls become empty).
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), CsvWriteError> {
        if batch.num_columns() != self.columns {
            return Err(CsvWriteError::FieldCount {
                expected: self.columns,
                found: batch.num_columns(),
            });
        }
        let mut columns = Vec::with_capacity(self.columns);
        for (index, col) in batch.columns().iter().enumerate() {
            let strings = col
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or(CsvWriteError::NotUtf8Column { index })?;
            columns.push(strings);
        }
        for row in 0..batch.num_rows() {
            self.line.clear();
            encode_record(
                &mut self.line,
                columns
                    .iter()
                    .map(|c| if c.is_null(row) { "" } else { c.value(row) }),
            );
            self.inner.write_all(&self.line)?;
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// The underlying writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Data rows written so far (the header is not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> Result<W, CsvWriteError> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}

fn encode_record<'a>(line: &mut Vec<u8>, fields: impl Iterator<Item = &'a str>) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            line.push(b',');
        }
        push_field(line, field);
    }
    line.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(header: &[&str], rows: &[&[&str]]) -> String {
        let mut w = PackageCsvWriter::new(Vec::new(), header).unwrap();
        for r in rows {
            w.write_record(r.iter().copied()).unwrap();
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    #[test]
    fn quotes_only_what_the_contract_quotes() {
        let out = render(
            &["name", "notes"],
            &[&["Acme, Inc.", "He said \"hello\"\nthen left"]],
        );
        assert_eq!(
            out,
            "name,notes\n\"Acme, Inc.\",\"He said \"\"hello\"\"\nthen left\"\n"
        );
        let out = render(&["a", "b", "c"], &[&[" x ", "é;#='\t", ""]]);
        assert_eq!(out, "a,b,c\n x ,é;#='\t,\n");
    }

    #[test]
    fn quoting_doubles_every_quote() {
        for field in [
            "",
            "\"",
            "a\"\"b",
            "{\"k\":\"v\"}",
            "x,y",
            "\"\"\"",
            "é\"\n",
        ] {
            let mut expected = vec![b'"'];
            for &b in field.as_bytes() {
                if b == b'"' {
                    expected.push(b'"');
                }
                expected.push(b);
            }
            expected.push(b'"');
            let mut out = b"pre".to_vec();
            push_quoted(&mut out, field.as_bytes());
            assert_eq!(&out[3..], &expected[..], "{field:?}");
        }
        for field in [
            r#"[{"providerId":"password","rawId":"user0@example0.com","email":"x"}]"#,
            "abcdefgh\"ijklmnop\"\"qrstuvw\"",
        ] {
            let mut out = Vec::new();
            push_doubled(&mut out, field.as_bytes());
            assert_eq!(String::from_utf8(out).unwrap(), field.replace('"', "\"\""));
        }
        let long = "a".repeat(300) + ",";
        assert!(needs_quotes(long.as_bytes()) && !needs_quotes(&long.as_bytes()[..300]));
        for len in 0..40 {
            for at in 0..len {
                for special in [b',', b'"', b'\n', b'\r'] {
                    let mut f = vec![b'a'; len];
                    assert!(!needs_quotes(&f));
                    f[at] = special;
                    assert!(needs_quotes(&f), "{len} {at} {special}");
                    f[at] = special + 1;
                    assert!(!needs_quotes(&f) || special + 1 == b'"' || special + 1 == b'\r');
                }
            }
        }
        assert!(!needs_quotes("é;#='\t$2b$10+/=".as_bytes()));
    }

    #[test]
    fn bare_carriage_return_is_quoted() {
        assert_eq!(render(&["a"], &[&["x\ry"]]), "a\n\"x\ry\"\n");
    }

    #[test]
    fn header_only_and_width_check() {
        assert_eq!(render(&["a", "b"], &[]), "a,b\n");
        let mut w = PackageCsvWriter::new(Vec::new(), &["a", "b"]).unwrap();
        assert!(matches!(
            w.write_record(["only"]),
            Err(CsvWriteError::FieldCount {
                expected: 2,
                found: 1
            })
        ));
    }
}
