//! A fast reader of the data records of a *plain* CSV file as raw bytes,
//! for the common case of a package file written by this tool: LF line
//! ends, fields quoted only where needed, valid UTF-8, every record as wide
//! as the header.
//!
//! It does not build Arrow arrays or copy fields: a record is a byte range of
//! the read buffer plus the spans of its fields, and it knows whether its
//! bytes are exactly what [`crate::package::csv_writer::push_record`] would
//! write for its values ("canonical"), so an unchanged row can be copied
//! instead of re-encoded.
//!
//! Anything outside that subset — a `\r` anywhere, a stray or unclosed
//! quote, invalid UTF-8, a ragged record, a blank line in a one-column file,
//! a record over [`MAX_RECORD_BYTES`] — makes [`RawRecords::next_record`]
//! answer [`Next::Unsupported`] *before* that record is handed out; the
//! caller then continues with the general reader
//! ([`crate::package::csv_reader`]), which decides what the record means or
//! which error it is. For records inside the subset both readers agree on
//! record boundaries, row numbers and values.

use std::borrow::Cow;
use std::io::{self, Read};
use std::ops::Range;

/// Longest record the fast reader handles; longer ones go to the general reader.
pub const MAX_RECORD_BYTES: usize = 8 << 20;

const READ_CHUNK: usize = 1 << 20;

/// One field of the current record (offsets into the read buffer).
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    /// The cell as written, quotes included.
    cell_start: usize,
    cell_end: usize,
    /// Inside a quoted cell: `""` pairs stand for one `"`.
    escaped: bool,
    quoted: bool,
}

impl Span {
    /// The cell without its surrounding quotes (escapes left as written).
    fn content(&self) -> Range<usize> {
        if self.quoted {
            self.cell_start + 1..self.cell_end - 1
        } else {
            self.cell_start..self.cell_end
        }
    }
}

/// What [`RawRecords::next_record`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// A record is current.
    Record,
    /// End of the input.
    End,
    /// The next record is outside the plain subset; nothing was consumed
    /// from it (the rows handed out so far are final).
    Unsupported,
}

/// Reader of plain CSV records; see the module docs.
pub struct RawRecords<R: Read> {
    input: R,
    buf: Vec<u8>,
    /// Start of the data not yet handed out.
    pos: usize,
    /// End of the data read.
    end: usize,
    eof: bool,
    width: usize,
    spans: Vec<Span>,
    /// The current record, without its line end.
    record: Range<usize>,
    canonical: bool,
}

impl<R: Read> RawRecords<R> {
    /// Reads data records of `width` fields from `input`, which is positioned
    /// just after the header line.
    pub fn new(input: R, width: usize) -> Self {
        Self {
            input,
            buf: Vec::new(),
            pos: 0,
            end: 0,
            eof: false,
            width: width.max(1),
            spans: Vec::with_capacity(width),
            record: 0..0,
            canonical: false,
        }
    }

    /// Moves to the next record, skipping blank lines (as the general reader
    /// does when the header has more than one column).
    pub fn next_record(&mut self) -> io::Result<Next> {
        loop {
            match self.parse_at(self.pos) {
                Parsed::Record { next } => {
                    self.pos = next;
                    return Ok(Next::Record);
                }
                Parsed::Blank { next } => {
                    self.pos = next;
                }
                Parsed::End => return Ok(Next::End),
                Parsed::Unsupported => return Ok(Next::Unsupported),
                Parsed::NeedMore => {
                    if self.eof {
                        // parse_at treats the end of a complete input itself.
                        return Ok(Next::Unsupported);
                    }
                    if self.end - self.pos > MAX_RECORD_BYTES {
                        return Ok(Next::Unsupported);
                    }
                    self.fill()?;
                }
            }
        }
    }

    /// Moves the unread data to the front of the buffer and reads up to
    /// [`READ_CHUNK`] more bytes (fewer only at the end of the input), so a
    /// long record is re-scanned once per chunk, not once per read.
    fn fill(&mut self) -> io::Result<()> {
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        let want = self.end + READ_CHUNK;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        while self.end < want {
            match self.input.read(&mut self.buf[self.end..want]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Parses the record starting at `at`, setting the current record on success.
    fn parse_at(&mut self, at: usize) -> Parsed {
        let data = &self.buf[..self.end];
        if at >= data.len() {
            return if self.eof {
                Parsed::End
            } else {
                Parsed::NeedMore
            };
        }
        if data[at] == b'\n' {
            // A blank line; in a one-column file it is an empty value.
            return if self.width > 1 {
                Parsed::Blank { next: at + 1 }
            } else {
                Parsed::Unsupported
            };
        }
        self.spans.clear();
        let mut canonical = true;
        let mut i = at;
        loop {
            let cell_start = i;
            let mut span = Span {
                cell_start,
                ..Span::default()
            };
            if data.get(i) == Some(&b'"') {
                // Quoted: up to the closing quote, `""` is an escaped quote.
                span.quoted = true;
                let mut j = i + 1;
                loop {
                    match memchr::memchr2(b'"', b'\r', &data[j..]) {
                        None => return self.need_more_or_unsupported(),
                        Some(k) if data[j + k] == b'\r' => return Parsed::Unsupported,
                        Some(k) => {
                            let q = j + k;
                            match data.get(q + 1) {
                                Some(b'"') => {
                                    span.escaped = true;
                                    j = q + 2;
                                }
                                Some(_) => {
                                    i = q + 1;
                                    break;
                                }
                                None if self.eof => {
                                    i = q + 1;
                                    break;
                                }
                                None => return Parsed::NeedMore,
                            }
                        }
                    }
                }
                span.cell_end = i;
                let content = &data[span.content()];
                // Canonical only when the value needs its quotes.
                if !span.escaped && memchr::memchr2(b',', b'\n', content).is_none() {
                    canonical = false;
                }
            } else {
                // Unquoted: up to `,` or `\n`; a quote or CR inside is not plain.
                let mut j = i;
                loop {
                    match data.get(j) {
                        None => {
                            if !self.eof {
                                return Parsed::NeedMore;
                            }
                            break;
                        }
                        Some(b',' | b'\n') => break,
                        Some(b'"' | b'\r') => return Parsed::Unsupported,
                        Some(_) => j += 1,
                    }
                }
                i = j;
                span.cell_end = i;
            }
            self.spans.push(span);
            if self.spans.len() > self.width {
                return Parsed::Unsupported;
            }
            match data.get(i) {
                Some(b',') => i += 1,
                Some(b'\n') => {
                    return self.finish_record(at, i, i + 1, canonical);
                }
                None if self.eof => return self.finish_record(at, i, i, canonical),
                None => return Parsed::NeedMore,
                // Text after a closing quote.
                Some(_) => return Parsed::Unsupported,
            }
            if i >= data.len() && self.eof {
                // A trailing `,` at the very end: one more, empty field.
                self.spans.push(Span {
                    cell_start: i,
                    cell_end: i,
                    ..Span::default()
                });
                if self.spans.len() > self.width {
                    return Parsed::Unsupported;
                }
                return self.finish_record(at, i, i, canonical);
            }
        }
    }

    fn need_more_or_unsupported(&self) -> Parsed {
        if self.eof || self.end - self.pos > MAX_RECORD_BYTES {
            Parsed::Unsupported
        } else {
            Parsed::NeedMore
        }
    }

    fn finish_record(&mut self, start: usize, end: usize, next: usize, canonical: bool) -> Parsed {
        if self.spans.len() != self.width || std::str::from_utf8(&self.buf[start..end]).is_err() {
            return Parsed::Unsupported;
        }
        self.record = start..end;
        self.canonical = canonical;
        Parsed::Record { next }
    }

    /// The value of field `col` of the current record (`""` past the end).
    pub fn field(&self, col: usize) -> Cow<'_, str> {
        let Some(span) = self.spans.get(col) else {
            return Cow::Borrowed("");
        };
        let content = &self.buf[span.content()];
        if !span.escaped {
            return String::from_utf8_lossy(content);
        }
        let mut value = Vec::with_capacity(content.len());
        let mut rest = content;
        while let Some(q) = memchr::memchr(b'"', rest) {
            // Every quote inside is the first of a `""` pair.
            value.extend_from_slice(&rest[..=q]);
            rest = rest.get(q + 2..).unwrap_or_default();
        }
        value.extend_from_slice(rest);
        Cow::Owned(String::from_utf8_lossy(&value).into_owned())
    }

    /// The bytes of field `col` as written, without surrounding quotes and
    /// with `""` escapes left in: enough to test for a quote-free substring.
    pub fn field_bytes(&self, col: usize) -> &[u8] {
        self.spans
            .get(col)
            .map_or(&[][..], |span| &self.buf[span.content()])
    }

    /// The current record's bytes (without its line end) when they are
    /// exactly the package encoding of its values.
    pub fn canonical_record(&self) -> Option<CanonicalRecord<'_>> {
        self.canonical.then(|| CanonicalRecord {
            bytes: &self.buf[self.record.clone()],
            start: self.record.start,
            spans: &self.spans,
        })
    }
}

enum Parsed {
    Record { next: usize },
    Blank { next: usize },
    End,
    NeedMore,
    Unsupported,
}

/// A record whose bytes are the package encoding of its values.
pub struct CanonicalRecord<'a> {
    /// The whole record, without its line end.
    pub bytes: &'a [u8],
    start: usize,
    spans: &'a [Span],
}

impl CanonicalRecord<'_> {
    /// Where cell `col` (quotes included) lies in [`CanonicalRecord::bytes`].
    pub fn cell(&self, col: usize) -> Option<Range<usize>> {
        self.spans
            .get(col)
            .map(|s| s.cell_start - self.start..s.cell_end - self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::csv_writer::push_record;

    /// Records until the end or the first unsupported one: (values, canonical).
    fn read(input: &[u8], width: usize) -> (Vec<(Vec<String>, bool)>, Next) {
        let mut r = RawRecords::new(input, width);
        let mut out = Vec::new();
        loop {
            match r.next_record().unwrap() {
                Next::Record => {
                    let values = (0..width).map(|i| r.field(i).into_owned()).collect();
                    let canonical = match r.canonical_record() {
                        Some(c) => {
                            let fields: Vec<String> =
                                (0..width).map(|i| r.field(i).into_owned()).collect();
                            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
                            let mut line = Vec::new();
                            push_record(&mut line, &refs);
                            assert_eq!(&line[..line.len() - 1], c.bytes);
                            true
                        }
                        None => false,
                    };
                    out.push((values, canonical));
                }
                other => return (out, other),
            }
        }
    }

    fn row(v: &[&str], canonical: bool) -> (Vec<String>, bool) {
        (v.iter().map(|s| s.to_string()).collect(), canonical)
    }

    #[test]
    fn plain_records_with_quotes_escapes_and_newlines() {
        let input = b"a,\"b, c\",\"say \"\"hi\"\"\"\n,,\n\"x\ny\",\"plain\",z\n\n1,2,3";
        let (rows, end) = read(input, 3);
        assert_eq!(end, Next::End);
        assert_eq!(
            rows,
            [
                row(&["a", "b, c", "say \"hi\""], true),
                row(&["", "", ""], true),
                row(&["x\ny", "plain", "z"], false),
                row(&["1", "2", "3"], true),
            ]
        );
    }

    #[test]
    fn trailing_comma_at_end_of_input_is_an_empty_field() {
        let (rows, end) = read(b"a,", 2);
        assert_eq!(end, Next::End);
        assert_eq!(rows, [row(&["a", ""], true)]);
    }

    #[test]
    fn anything_outside_the_subset_is_unsupported_before_it_is_handed_out() {
        for bad in [
            &b"1,2\r\n"[..],
            b"1,\"2\r\"\n",
            b"1,2\"x\n",
            b"1,\"2\"x\n",
            b"1,\"2\n",
            b"1,2,3\n",
            b"1\n",
            b"1,\xff\n",
            b"\xEF\xBB\xBF1,2\n\xc3\n",
        ] {
            let mut input = b"ok,row\n".to_vec();
            input.extend_from_slice(bad);
            let (rows, end) = read(&input, 2);
            assert_eq!(end, Next::Unsupported, "{:?}", String::from_utf8_lossy(bad));
            assert!(!rows.is_empty() && rows[0] == row(&["ok", "row"], true));
        }
        // A blank line is a value in a one-column file.
        assert_eq!(read(b"a\n\nb\n", 1).1, Next::Unsupported);
    }

    #[test]
    fn records_longer_than_a_read_chunk_are_assembled() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(self.0.len()).min(7);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let long = "x".repeat(3 * READ_CHUNK);
        let text = format!("\"{long}\"\"\",b\n\"c\n\",d\n");
        let mut r = RawRecords::new(Trickle(text.as_bytes()), 2);
        assert_eq!(r.next_record().unwrap(), Next::Record);
        assert_eq!(r.field(0), format!("{long}\""));
        assert_eq!(r.next_record().unwrap(), Next::Record);
        assert_eq!(r.field(0), "c\n");
        assert!(r.canonical_record().is_some());
        assert_eq!(r.next_record().unwrap(), Next::End);
    }

    #[test]
    fn unneeded_quotes_are_not_canonical_and_cells_are_located() {
        let (rows, _) = read(b"\"a\",\"\"\n", 2);
        assert_eq!(rows, [row(&["a", ""], false)]);
        let mut r = RawRecords::new(&b"x,\"y,z\",w\n"[..], 3);
        r.next_record().unwrap();
        let c = r.canonical_record().unwrap();
        assert_eq!(&c.bytes[c.cell(1).unwrap()], b"\"y,z\"");
        assert_eq!(&c.bytes[c.cell(2).unwrap()], b"w");
        assert_eq!(r.field_bytes(1), b"y,z");
    }
}
