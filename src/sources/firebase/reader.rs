//! Streaming reader of a `firebase auth:export` JSON file (`{"users":[...]}`,
//! export-and-package.md §7.2) into Arrow [`RecordBatch`]es of [`user_schema`].
//!
//! The file is never held in memory, nor is the user list:
//!
//! 1. a byte-level scanner reads the file in blocks, walks the top-level object
//!    (other keys, before or after `users`, are skipped) and cuts the `users`
//!    array into one byte slice per user object, tracking string, escape and
//!    brace state with `memchr`;
//! 2. slices are collected into chunks (~8k users or 8 MiB) and each chunk is
//!    parsed in parallel with rayon + serde_json into batches of
//!    [`ReaderLimits::parse_batch`] users, while the scanner already cuts the
//!    next chunk (`rayon::join`). Memory is bounded by two chunks.
//!
//! Columns are the §7.2 fields: text fields as `Utf8` (a number is kept as its
//! JSON text), `emailVerified` and `disabled` as `Boolean`, `providerUserInfo` /
//! `mfaInfo` as compact JSON text of the array (null unless an array),
//! `customAttributes` as text (a JSON object given inline is kept as its JSON
//! text). Boolean coercion, documented in docs/decisions.md:
//! `emailVerified` is true for JSON `true` and the string `"true"` (any case);
//! `disabled` follows JavaScript truthiness except that the strings `"false"`
//! and `"0"` are false.
//!
//! Errors are one line naming the file, the user (`users[N]`, 0-based) and a
//! line/column: truncated files, `users` not an array, a user that is not an
//! object, invalid UTF-8 or JSON inside a user, a user object larger than
//! [`ReaderLimits::max_user_bytes`]. A UTF-8 byte-order mark is skipped. Values
//! of other top-level keys are skipped checking only strings and bracket
//! balance.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::marker::PhantomData;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use arrow::array::{ArrayRef, BooleanBuilder, RecordBatch, StringBuilder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use memchr::{memchr, memchr2, memchr3};
use rayon::prelude::*;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// Column names of [`user_schema`], in order.
pub const COLUMNS: [&str; 15] = [
    "user_index",
    "local_id",
    "email",
    "email_verified",
    "display_name",
    "photo_url",
    "phone_number",
    "password_hash",
    "salt",
    "disabled",
    "created_at",
    "last_signed_in_at",
    "custom_attributes",
    "provider_user_info",
    "mfa_info",
];

/// The Arrow schema of the reader's batches. `user_index` is the 0-based
/// position in the `users` array; every other column is nullable (absent or
/// `null` in the file).
pub fn user_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let fields = COLUMNS
                .iter()
                .map(|name| match *name {
                    "user_index" => Field::new(*name, DataType::UInt64, false),
                    "email_verified" | "disabled" => Field::new(*name, DataType::Boolean, true),
                    _ => Field::new(*name, DataType::Utf8, true),
                })
                .collect::<Vec<_>>();
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// Sizes that bound the reader's memory.
#[derive(Debug, Clone, Copy)]
pub struct ReaderLimits {
    /// Bytes read from the file at a time.
    pub read_block: usize,
    /// Users per chunk handed to the parallel parser.
    pub chunk_users: usize,
    /// A chunk is closed once it holds this many bytes.
    pub chunk_bytes: usize,
    /// Users per output batch (one rayon task each).
    pub parse_batch: usize,
    /// A single user object larger than this is an error.
    pub max_user_bytes: usize,
}

/// 64 MiB: the largest user object accepted.
pub const MAX_USER_BYTES: usize = 64 << 20;

impl Default for ReaderLimits {
    fn default() -> Self {
        Self {
            read_block: 1 << 20,
            chunk_users: 8192,
            chunk_bytes: 8 << 20,
            parse_batch: 2048,
            max_user_bytes: MAX_USER_BYTES,
        }
    }
}

/// Where in the file something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Byte offset from the start of the file.
    pub offset: u64,
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in bytes.
    pub column: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A reader error; every message is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("Firebase export file not found: {0}")]
    NotFound(PathBuf),
    #[error("{0} is a directory, not a Firebase export file")]
    IsDirectory(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: Firebase export must be a JSON object with a \"users\" array, but the file {found}")]
    NotObject { path: PathBuf, found: String },
    #[error(
        "{path}: Firebase export must have a \"users\" array at the top level. Found keys: {keys}"
    )]
    NoUsers { path: PathBuf, keys: String },
    #[error("{path}: Firebase export must have a \"users\" array at the top level, but \"users\" is {found} ({at})")]
    UsersNotArray {
        path: PathBuf,
        found: &'static str,
        at: Position,
    },
    #[error("{path}: users[{index}] is {found}; expected a user object ({at})")]
    UserNotObject {
        path: PathBuf,
        index: u64,
        found: &'static str,
        at: Position,
    },
    #[error(
        "{path}: users[{index}] ({at}) is larger than {limit}; a Firebase user object is a few KiB"
    )]
    UserTooLarge {
        path: PathBuf,
        index: u64,
        at: Position,
        limit: String,
    },
    #[error("{path}: invalid UTF-8 in users[{index}] at {at}")]
    Utf8 {
        path: PathBuf,
        index: u64,
        at: Position,
    },
    #[error("{path}: invalid JSON in users[{index}] at {at}: {detail}")]
    UserJson {
        path: PathBuf,
        index: u64,
        at: Position,
        detail: String,
    },
    #[error("{path}: invalid JSON: the file ends inside users[{index}], which starts at {at} (truncated file?)")]
    TruncatedUser {
        path: PathBuf,
        index: u64,
        at: Position,
    },
    #[error("{path}: invalid JSON: the file ends {place} (truncated file?)")]
    Truncated { path: PathBuf, place: String },
    #[error("{path}: invalid JSON at {at}: {detail}")]
    Syntax {
        path: PathBuf,
        at: Position,
        detail: String,
    },
}

/// Finds the line and column of byte `offset` by re-reading the file up to
/// it (error paths only).
pub fn locate(path: &Path, offset: u64) -> Position {
    let mut pos = Position {
        offset,
        line: 0,
        column: 0,
    };
    let Ok(file) = File::open(path) else {
        return pos;
    };
    let mut reader = BufReader::with_capacity(1 << 20, file.take(offset));
    let (mut line, mut line_start, mut at) = (1u64, 0u64, 0u64);
    loop {
        let buf = match reader.fill_buf() {
            Ok([]) | Err(_) => break,
            Ok(b) => b,
        };
        for nl in memchr::memchr_iter(b'\n', buf) {
            line += 1;
            line_start = at + nl as u64 + 1;
        }
        let n = buf.len();
        at += n as u64;
        reader.consume(n);
    }
    pos.line = line;
    pos.column = offset - line_start + 1;
    pos
}

/// What a JSON value starting with `b` is, for messages.
fn describe(b: u8) -> &'static str {
    match b {
        b'[' => "an array",
        b'{' => "an object",
        b'"' => "a string",
        b'-' | b'0'..=b'9' => "a number",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "invalid JSON",
    }
}

/// The file as a sequence of blocks with a read position.
struct Source {
    file: File,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
}

/// How copying or skipping a value ended.
enum Taken {
    Complete,
    Eof,
    TooLarge,
}

impl Source {
    fn new(file: File, base: u64, block: usize) -> Self {
        Self {
            file,
            buf: vec![0; block.max(1)],
            pos: 0,
            end: 0,
            base,
            eof: false,
        }
    }

    /// Makes at least one unread byte available; false at the end of the file.
    fn fill(&mut self) -> io::Result<bool> {
        if self.pos < self.end {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        self.base += self.end as u64;
        self.pos = 0;
        self.end = 0;
        loop {
            match self.file.read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Skips JSON whitespace; returns the next byte without consuming it.
    fn peek_token(&mut self) -> io::Result<Option<u8>> {
        loop {
            if !self.fill()? {
                return Ok(None);
            }
            let s = &self.buf[self.pos..self.end];
            match s
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                Some(i) => {
                    self.pos += i;
                    return Ok(Some(s[i]));
                }
                None => self.pos = self.end,
            }
        }
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    /// Appends the object starting at the current `{` through its matching
    /// `}` to `out`. Only braces outside strings count, which is all a
    /// boundary needs; the parser checks the rest.
    fn take_object(&mut self, out: &mut Vec<u8>, max: usize) -> io::Result<Taken> {
        let start_len = out.len();
        let (mut depth, mut in_str, mut esc) = (0u32, false, false);
        loop {
            if !self.fill()? {
                return Ok(Taken::Eof);
            }
            let s = &self.buf[self.pos..self.end];
            let mut i = 0;
            let mut done = false;
            if esc {
                i = 1;
                esc = false;
            }
            while i < s.len() {
                if in_str {
                    match memchr2(b'"', b'\\', &s[i..]) {
                        None => i = s.len(),
                        Some(j) => {
                            let k = i + j;
                            if s[k] == b'"' {
                                in_str = false;
                                i = k + 1;
                            } else if k + 1 < s.len() {
                                i = k + 2;
                            } else {
                                esc = true;
                                i = s.len();
                            }
                        }
                    }
                } else {
                    match memchr3(b'"', b'{', b'}', &s[i..]) {
                        None => i = s.len(),
                        Some(j) => {
                            let k = i + j;
                            i = k + 1;
                            match s[k] {
                                b'"' => in_str = true,
                                b'{' => depth += 1,
                                _ => {
                                    depth = depth.saturating_sub(1);
                                    if depth == 0 {
                                        done = true;
                                        break;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            out.extend_from_slice(&s[..i]);
            self.pos += i;
            if out.len() - start_len > max {
                return Ok(Taken::TooLarge);
            }
            if done {
                return Ok(Taken::Complete);
            }
        }
    }

    /// Skips one value (any type) starting at the current byte.
    fn skip_value(&mut self) -> io::Result<Taken> {
        let first = match self.peek_token()? {
            None => return Ok(Taken::Eof),
            Some(b) => b,
        };
        if first == b'"' {
            self.bump();
            return self.skip_string_rest(None, usize::MAX);
        }
        if first != b'{' && first != b'[' {
            // A scalar: up to the next delimiter.
            loop {
                if !self.fill()? {
                    return Ok(Taken::Complete);
                }
                let s = &self.buf[self.pos..self.end];
                match s
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                {
                    Some(i) => {
                        self.pos += i;
                        return Ok(Taken::Complete);
                    }
                    None => self.pos = self.end,
                }
            }
        }
        let (mut depth, mut in_str, mut esc) = (0u64, false, false);
        loop {
            if !self.fill()? {
                return Ok(Taken::Eof);
            }
            let s = &self.buf[self.pos..self.end];
            for (i, &b) in s.iter().enumerate() {
                if in_str {
                    if esc {
                        esc = false;
                    } else if b == b'\\' {
                        esc = true;
                    } else if b == b'"' {
                        in_str = false;
                    }
                    continue;
                }
                match b {
                    b'"' => in_str = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            self.pos += i + 1;
                            return Ok(Taken::Complete);
                        }
                    }
                    _ => {}
                }
            }
            self.pos = self.end;
        }
    }

    /// After an opening quote: consumes through the closing quote, copying
    /// the raw bytes (without the closing quote) to `out` when given.
    fn skip_string_rest(&mut self, mut out: Option<&mut Vec<u8>>, max: usize) -> io::Result<Taken> {
        let mut esc = false;
        loop {
            if !self.fill()? {
                return Ok(Taken::Eof);
            }
            let s = &self.buf[self.pos..self.end];
            let mut end = None;
            for (i, &b) in s.iter().enumerate() {
                if esc {
                    esc = false;
                } else if b == b'\\' {
                    esc = true;
                } else if b == b'"' {
                    end = Some(i);
                    break;
                }
            }
            let upto = end.unwrap_or(s.len());
            if let Some(o) = out.as_deref_mut() {
                o.extend_from_slice(&s[..upto]);
                if o.len() > max {
                    return Ok(Taken::TooLarge);
                }
            }
            match end {
                Some(i) => {
                    self.pos += i + 1;
                    return Ok(Taken::Complete);
                }
                None => self.pos = self.end,
            }
        }
    }
}

/// Scanned, not yet parsed users: one buffer, one slice per user.
struct Chunk {
    buf: Vec<u8>,
    spans: Vec<Range<usize>>,
    /// File offset of each user's `{`.
    starts: Vec<u64>,
    first_index: u64,
}

/// Where the scanner is in the top-level structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the top-level `{`.
    Start,
    /// In the top-level object, between members.
    Keys {
        expect_comma: bool,
    },
    /// In the `users` array; `need_sep` after the first element.
    Users {
        need_sep: bool,
    },
    Done,
}

/// Keys listed in the "Found keys" message at most.
const MAX_KEYS_SHOWN: usize = 20;
/// Longest top-level key accepted.
const MAX_KEY_BYTES: usize = 64 * 1024;

struct Scanner {
    src: Source,
    path: PathBuf,
    phase: Phase,
    keys: Vec<String>,
    seen_users: bool,
    next_index: u64,
    limits: ReaderLimits,
}

impl Scanner {
    fn io(&self, source: io::Error) -> ReadError {
        ReadError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn at(&self, offset: u64) -> Position {
        locate(&self.path, offset)
    }

    fn syntax(&self, detail: impl Into<String>) -> ReadError {
        ReadError::Syntax {
            path: self.path.clone(),
            at: self.at(self.src.offset()),
            detail: detail.into(),
        }
    }

    fn truncated(&self, place: impl Into<String>) -> ReadError {
        ReadError::Truncated {
            path: self.path.clone(),
            place: place.into(),
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, ReadError> {
        self.src.peek_token().map_err(|e| self.io(e))
    }

    /// Walks the top-level object until the `users` array is entered
    /// (phase `Users`) or the object ends (phase `Done`).
    fn advance(&mut self) -> Result<(), ReadError> {
        loop {
            match self.phase {
                Phase::Users { .. } | Phase::Done => return Ok(()),
                Phase::Start => match self.peek()? {
                    Some(b'{') => {
                        self.src.bump();
                        self.phase = Phase::Keys {
                            expect_comma: false,
                        };
                    }
                    None => {
                        return Err(ReadError::NotObject {
                            path: self.path.clone(),
                            found: "is empty".into(),
                        })
                    }
                    Some(b) => {
                        return Err(ReadError::NotObject {
                            path: self.path.clone(),
                            found: format!(
                                "holds {} ({})",
                                describe(b),
                                self.at(self.src.offset())
                            ),
                        })
                    }
                },
                Phase::Keys { expect_comma } => self.member(expect_comma)?,
            }
        }
    }

    /// One step inside the top-level object.
    fn member(&mut self, expect_comma: bool) -> Result<(), ReadError> {
        match self.peek()? {
            None => Err(self.truncated("inside the top-level object")),
            Some(b'}') if expect_comma || self.keys.is_empty() && !self.seen_users => {
                self.src.bump();
                self.finish_top()
            }
            Some(b',') if expect_comma => {
                self.src.bump();
                match self.peek()? {
                    Some(b'"') => {
                        self.phase = Phase::Keys {
                            expect_comma: false,
                        };
                        Ok(())
                    }
                    None => Err(self.truncated("inside the top-level object")),
                    Some(_) => Err(self.syntax("expected a key after ','")),
                }
            }
            Some(b'"') if !expect_comma => {
                let key_at = self.src.offset();
                self.src.bump();
                let mut raw = vec![b'"'];
                match self
                    .src
                    .skip_string_rest(Some(&mut raw), MAX_KEY_BYTES)
                    .map_err(|e| self.io(e))?
                {
                    Taken::Complete => {}
                    Taken::Eof => return Err(self.truncated("inside a top-level key")),
                    Taken::TooLarge => {
                        return Err(ReadError::Syntax {
                            path: self.path.clone(),
                            at: self.at(key_at),
                            detail: "a top-level key is longer than 64 KiB".into(),
                        })
                    }
                }
                raw.push(b'"');
                let key: String = serde_json::from_slice(&raw).map_err(|_| ReadError::Syntax {
                    path: self.path.clone(),
                    at: self.at(key_at),
                    detail: "invalid top-level key".into(),
                })?;
                match self.peek()? {
                    Some(b':') => self.src.bump(),
                    None => {
                        return Err(self.truncated(format!("after the top-level key \"{key}\"")))
                    }
                    Some(_) => {
                        return Err(self.syntax(format!("expected ':' after the key \"{key}\"")))
                    }
                }
                let value_start = match self.peek()? {
                    None => return Err(self.truncated(format!("before the value of \"{key}\""))),
                    Some(b) => b,
                };
                if key == "users" {
                    if self.seen_users {
                        return Err(ReadError::Syntax {
                            path: self.path.clone(),
                            at: self.at(key_at),
                            detail: "the \"users\" key appears twice".into(),
                        });
                    }
                    self.seen_users = true;
                    if value_start != b'[' {
                        return Err(ReadError::UsersNotArray {
                            path: self.path.clone(),
                            found: describe(value_start),
                            at: self.at(self.src.offset()),
                        });
                    }
                    self.src.bump();
                    self.phase = Phase::Users { need_sep: false };
                    return Ok(());
                }
                if self.keys.len() < MAX_KEYS_SHOWN {
                    self.keys.push(key.clone());
                }
                match self.src.skip_value().map_err(|e| self.io(e))? {
                    Taken::Complete => {}
                    _ => return Err(self.truncated(format!("inside the value of \"{key}\""))),
                }
                self.phase = Phase::Keys { expect_comma: true };
                Ok(())
            }
            Some(_) if expect_comma => {
                Err(self.syntax("expected ',' or '}' in the top-level object"))
            }
            Some(_) => Err(self.syntax("expected a key in the top-level object")),
        }
    }

    /// After the top-level `}`: only whitespace may follow, and `users` must
    /// have been seen.
    fn finish_top(&mut self) -> Result<(), ReadError> {
        if !self.seen_users {
            let mut keys = self.keys.join(", ");
            if keys.is_empty() {
                keys = "(none)".into();
            }
            return Err(ReadError::NoUsers {
                path: self.path.clone(),
                keys,
            });
        }
        if self.peek()?.is_some() {
            return Err(self.syntax("unexpected data after the top-level object"));
        }
        self.phase = Phase::Done;
        Ok(())
    }

    /// Cuts the next chunk of users; `None` once the file is done.
    fn scan_chunk(&mut self) -> Result<Option<Chunk>, ReadError> {
        self.advance()?;
        let mut chunk = Chunk {
            buf: Vec::with_capacity(self.limits.chunk_bytes.min(64 << 20) + 4096),
            spans: Vec::with_capacity(self.limits.chunk_users),
            starts: Vec::with_capacity(self.limits.chunk_users),
            first_index: self.next_index,
        };
        while let Phase::Users { need_sep } = self.phase {
            if chunk.spans.len() >= self.limits.chunk_users
                || chunk.buf.len() >= self.limits.chunk_bytes
            {
                break;
            }
            let mut t = self.peek()?;
            let after = |i: u64| {
                if i == 0 {
                    "after '['".to_string()
                } else {
                    format!("after users[{}]", i - 1)
                }
            };
            if need_sep {
                match t {
                    Some(b',') => {
                        self.src.bump();
                        t = self.peek()?;
                    }
                    Some(b']') => {
                        self.src.bump();
                        self.phase = Phase::Keys { expect_comma: true };
                        break;
                    }
                    None => {
                        let place = format!("inside the users array, {}", after(self.next_index));
                        return Err(self.truncated(place));
                    }
                    Some(_) => {
                        let detail = format!("expected ',' or ']' {}", after(self.next_index));
                        return Err(self.syntax(detail));
                    }
                }
            } else if t == Some(b']') {
                self.src.bump();
                self.phase = Phase::Keys { expect_comma: true };
                break;
            }
            let index = self.next_index;
            match t {
                Some(b'{') => {
                    let start = self.src.offset();
                    let from = chunk.buf.len();
                    let limit = self.limits.max_user_bytes;
                    match self
                        .src
                        .take_object(&mut chunk.buf, limit)
                        .map_err(|e| self.io(e))?
                    {
                        Taken::Complete => {}
                        Taken::Eof => {
                            return Err(ReadError::TruncatedUser {
                                path: self.path.clone(),
                                index,
                                at: self.at(start),
                            })
                        }
                        Taken::TooLarge => {
                            return Err(ReadError::UserTooLarge {
                                path: self.path.clone(),
                                index,
                                at: self.at(start),
                                limit: if limit >= 1 << 20 {
                                    format!("{} MiB", limit >> 20)
                                } else {
                                    format!("{limit} bytes")
                                },
                            })
                        }
                    }
                    chunk.spans.push(from..chunk.buf.len());
                    chunk.starts.push(start);
                    self.next_index += 1;
                    self.phase = Phase::Users { need_sep: true };
                }
                None => {
                    let place = format!("inside the users array, {}", after(index));
                    return Err(self.truncated(place));
                }
                Some(b']') => {
                    let detail = format!("expected a user object after ',' {}", after(index));
                    return Err(self.syntax(detail));
                }
                Some(b) => {
                    return Err(ReadError::UserNotObject {
                        path: self.path.clone(),
                        index,
                        found: describe(b),
                        at: self.at(self.src.offset()),
                    })
                }
            }
        }
        if !matches!(self.phase, Phase::Users { .. }) {
            // The array ended: check the rest of the file now.
            self.advance()?;
        }
        Ok((!chunk.spans.is_empty()).then_some(chunk))
    }
}

/// A field value of any JSON type, borrowing unescaped strings.
#[derive(Debug, Default)]
enum Flex<'a> {
    #[default]
    Absent,
    Null,
    Str(Cow<'a, str>),
    Bool(bool),
    Num(String),
    Json(Value),
}

impl<'de: 'a, 'a> Deserialize<'de> for Flex<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Flex<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Flex<'a>, E> {
                Ok(Flex::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Flex<'a>, E> {
                Ok(Flex::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Flex<'a>, E> {
                Ok(Flex::Str(Cow::Owned(v)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Flex<'a>, E> {
                Ok(Flex::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Flex<'a>, E> {
                Ok(Flex::Num(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Flex<'a>, E> {
                Ok(Flex::Num(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Flex<'a>, E> {
                Ok(Flex::Num(
                    serde_json::Number::from_f64(v)
                        .map_or_else(|| v.to_string(), |n| n.to_string()),
                ))
            }
            fn visit_unit<E>(self) -> Result<Flex<'a>, E> {
                Ok(Flex::Null)
            }
            fn visit_none<E>(self) -> Result<Flex<'a>, E> {
                Ok(Flex::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Flex<'a>, A::Error> {
                Value::deserialize(SeqAccessDeserializer::new(seq)).map(Flex::Json)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Flex<'a>, A::Error> {
                Value::deserialize(MapAccessDeserializer::new(map)).map(Flex::Json)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl Flex<'_> {
    /// Text column value: strings as is, numbers and booleans as their JSON
    /// text, arrays and objects as compact JSON.
    fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Flex::Absent | Flex::Null => None,
            Flex::Str(s) => Some(Cow::Borrowed(s.as_ref())),
            Flex::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Flex::Num(n) => Some(Cow::Borrowed(n.as_str())),
            Flex::Json(v) => Some(Cow::Owned(v.to_string())),
        }
    }

    /// Compact JSON text when the value is an array.
    fn array_text(&self) -> Option<String> {
        match self {
            Flex::Json(v @ Value::Array(_)) => Some(v.to_string()),
            _ => None,
        }
    }

    /// `emailVerified`: JSON `true` or the string `"true"` (any case).
    fn strict_bool(&self) -> Option<bool> {
        match self {
            Flex::Absent | Flex::Null => None,
            Flex::Bool(b) => Some(*b),
            Flex::Str(s) => Some(s.trim().eq_ignore_ascii_case("true")),
            _ => Some(false),
        }
    }

    /// `disabled`: JavaScript truthiness, except the strings "false" and "0".
    fn truthy(&self) -> Option<bool> {
        match self {
            Flex::Absent | Flex::Null => None,
            Flex::Bool(b) => Some(*b),
            Flex::Str(s) => {
                let t = s.trim();
                Some(!(t.is_empty() || t.eq_ignore_ascii_case("false") || t == "0"))
            }
            Flex::Num(n) => Some(n.parse::<f64>().map_or(true, |v| v != 0.0 && !v.is_nan())),
            Flex::Json(_) => Some(true),
        }
    }
}

/// The §7.2 fields of one user; everything else is ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawUser<'a> {
    #[serde(rename = "localId", borrow)]
    local_id: Flex<'a>,
    #[serde(borrow)]
    email: Flex<'a>,
    #[serde(rename = "emailVerified", borrow)]
    email_verified: Flex<'a>,
    #[serde(rename = "displayName", borrow)]
    display_name: Flex<'a>,
    #[serde(rename = "photoUrl", borrow)]
    photo_url: Flex<'a>,
    #[serde(rename = "phoneNumber", borrow)]
    phone_number: Flex<'a>,
    #[serde(rename = "passwordHash", borrow)]
    password_hash: Flex<'a>,
    #[serde(borrow)]
    salt: Flex<'a>,
    #[serde(borrow)]
    disabled: Flex<'a>,
    #[serde(rename = "createdAt", borrow)]
    created_at: Flex<'a>,
    #[serde(rename = "lastSignedInAt", borrow)]
    last_signed_in_at: Flex<'a>,
    #[serde(rename = "customAttributes", borrow)]
    custom_attributes: Flex<'a>,
    #[serde(rename = "providerUserInfo", borrow)]
    provider_user_info: Flex<'a>,
    #[serde(rename = "mfaInfo", borrow)]
    mfa_info: Flex<'a>,
}

/// Column builders for one batch.
struct Builders {
    index: UInt64Builder,
    text: [StringBuilder; 12],
    email_verified: BooleanBuilder,
    disabled: BooleanBuilder,
}

impl Builders {
    fn new(rows: usize, bytes: usize) -> Self {
        Self {
            index: UInt64Builder::with_capacity(rows),
            text: std::array::from_fn(|i| {
                // email, names and hashes are the big ones; the rest start small.
                let guess = if i < 6 { bytes / 8 } else { bytes / 16 };
                StringBuilder::with_capacity(rows, guess)
            }),
            email_verified: BooleanBuilder::with_capacity(rows),
            disabled: BooleanBuilder::with_capacity(rows),
        }
    }

    fn push(&mut self, index: u64, u: &RawUser<'_>) {
        self.index.append_value(index);
        let texts: [Option<Cow<'_, str>>; 12] = [
            u.local_id.text(),
            u.email.text(),
            u.display_name.text(),
            u.photo_url.text(),
            u.phone_number.text(),
            u.password_hash.text(),
            u.salt.text(),
            u.created_at.text(),
            u.last_signed_in_at.text(),
            u.custom_attributes.text(),
            u.provider_user_info.array_text().map(Cow::Owned),
            u.mfa_info.array_text().map(Cow::Owned),
        ];
        for (b, v) in self.text.iter_mut().zip(texts) {
            b.append_option(v);
        }
        self.email_verified
            .append_option(u.email_verified.strict_bool());
        self.disabled.append_option(u.disabled.truthy());
    }

    fn finish(mut self) -> Result<RecordBatch, arrow::error::ArrowError> {
        let [local_id, email, display_name, photo_url, phone_number, password_hash, salt, created_at, last_signed_in_at, custom_attributes, provider_user_info, mfa_info] =
            self.text
                .each_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.index.finish()),
            local_id,
            email,
            Arc::new(self.email_verified.finish()),
            display_name,
            photo_url,
            phone_number,
            password_hash,
            salt,
            Arc::new(self.disabled.finish()),
            created_at,
            last_signed_in_at,
            custom_attributes,
            provider_user_info,
            mfa_info,
        ];
        RecordBatch::try_new(user_schema(), columns)
    }
}

/// Byte offset inside `text` of serde_json's 1-based (line, column).
fn offset_of(text: &[u8], line: usize, column: usize) -> usize {
    let mut off = 0;
    for _ in 1..line {
        match memchr(b'\n', &text[off..]) {
            Some(i) => off += i + 1,
            None => break,
        }
    }
    (off + column.saturating_sub(1)).min(text.len())
}

/// serde_json's message without its " at line L column C" suffix.
fn serde_detail(e: &serde_json::Error) -> String {
    let mut s = e.to_string();
    if let Some(p) = s.rfind(" at line ") {
        s.truncate(p);
    }
    s
}

fn parse_group(chunk: &Chunk, rows: Range<usize>, path: &Path) -> Result<RecordBatch, ReadError> {
    let bytes: usize = chunk.spans[rows.clone()].iter().map(|r| r.len()).sum();
    let mut b = Builders::new(rows.len(), bytes);
    for i in rows {
        let raw = &chunk.buf[chunk.spans[i].clone()];
        let index = chunk.first_index + i as u64;
        let start = chunk.starts[i];
        let text = std::str::from_utf8(raw).map_err(|e| ReadError::Utf8 {
            path: path.to_path_buf(),
            index,
            at: locate(path, start + e.valid_up_to() as u64),
        })?;
        let user: RawUser<'_> = serde_json::from_str(text).map_err(|e| ReadError::UserJson {
            path: path.to_path_buf(),
            index,
            at: locate(path, start + offset_of(raw, e.line(), e.column()) as u64),
            detail: serde_detail(&e),
        })?;
        b.push(index, &user);
    }
    b.finish().map_err(|e| ReadError::Io {
        path: path.to_path_buf(),
        source: io::Error::other(e),
    })
}

/// Parses a chunk in parallel; batches come back in file order and the first
/// error in file order wins.
fn parse_chunk(
    chunk: &Chunk,
    path: &Path,
    parse_batch: usize,
) -> Result<Vec<RecordBatch>, ReadError> {
    let n = chunk.spans.len();
    let step = parse_batch.max(1);
    let groups: Vec<Range<usize>> = (0..n).step_by(step).map(|s| s..(s + step).min(n)).collect();
    groups
        .into_par_iter()
        .map(|r| parse_group(chunk, r, path))
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// Iterator of user batches; see the module docs.
pub struct FirebaseReader {
    scanner: Scanner,
    path: PathBuf,
    pending: Option<Chunk>,
    ready: VecDeque<RecordBatch>,
    deferred: Option<ReadError>,
    finished: bool,
    progress: Arc<AtomicU64>,
    file_size: u64,
}

impl FirebaseReader {
    /// Opens `path` and reads up to the start of the `users` array, so a file
    /// that is not an export at all fails here.
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        Self::open_with(path, ReaderLimits::default())
    }

    pub fn open_with(path: &Path, limits: ReaderLimits) -> Result<Self, ReadError> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ReadError::NotFound(path.to_path_buf()))
            }
            Err(source) => {
                return Err(ReadError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        if meta.is_dir() {
            return Err(ReadError::IsDirectory(path.to_path_buf()));
        }
        let io_err = |source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        // A UTF-8 byte-order mark is skipped (the original failed on it).
        let mut head = [0u8; 3];
        let mut got = 0;
        while got < 3 {
            match file.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(e)),
            }
        }
        let base = if got == 3 && head == [0xEF, 0xBB, 0xBF] {
            3
        } else {
            0
        };
        file.seek(SeekFrom::Start(base)).map_err(io_err)?;
        let mut scanner = Scanner {
            src: Source::new(file, base, limits.read_block),
            path: path.to_path_buf(),
            phase: Phase::Start,
            keys: Vec::new(),
            seen_users: false,
            next_index: 0,
            limits,
        };
        scanner.advance()?;
        Ok(Self {
            scanner,
            path: path.to_path_buf(),
            pending: None,
            ready: VecDeque::new(),
            deferred: None,
            finished: false,
            progress: Arc::new(AtomicU64::new(0)),
            file_size: meta.len(),
        })
    }

    /// Bytes of the file scanned so far (updated per chunk; shareable across threads).
    pub fn progress(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.progress)
    }

    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn scan(&mut self) -> Result<Option<Chunk>, ReadError> {
        let chunk = self.scanner.scan_chunk();
        self.progress
            .store(self.scanner.src.offset(), Ordering::Relaxed);
        chunk
    }
}

impl Iterator for FirebaseReader {
    type Item = Result<RecordBatch, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(b) = self.ready.pop_front() {
                return Some(Ok(b));
            }
            if let Some(e) = self.deferred.take() {
                self.finished = true;
                return Some(Err(e));
            }
            if self.finished {
                return None;
            }
            let chunk = match self.pending.take() {
                Some(c) => c,
                None => match self.scan() {
                    Ok(Some(c)) => c,
                    Ok(None) => {
                        self.finished = true;
                        return None;
                    }
                    Err(e) => {
                        self.finished = true;
                        return Some(Err(e));
                    }
                },
            };
            // Parse this chunk while the scanner cuts the next one.
            let parse_batch = self.scanner.limits.parse_batch;
            let path = &self.path;
            let scanner = &mut self.scanner;
            let progress = &self.progress;
            let (parsed, next) = rayon::join(
                || parse_chunk(&chunk, path, parse_batch),
                || {
                    let r = scanner.scan_chunk();
                    progress.store(scanner.src.offset(), Ordering::Relaxed);
                    r
                },
            );
            match parsed {
                Ok(batches) => self.ready.extend(batches),
                Err(e) => {
                    self.finished = true;
                    return Some(Err(e));
                }
            }
            match next {
                Ok(Some(c)) => self.pending = Some(c),
                Ok(None) => self.finished = true,
                Err(e) => self.deferred = Some(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::UInt64Type;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn tiny() -> ReaderLimits {
        ReaderLimits {
            read_block: 7,
            chunk_users: 3,
            chunk_bytes: 1 << 20,
            parse_batch: 2,
            max_user_bytes: 1 << 20,
        }
    }

    fn read_all(path: &Path, limits: ReaderLimits) -> Result<Vec<RecordBatch>, ReadError> {
        FirebaseReader::open_with(path, limits)?.collect()
    }

    fn column(batches: &[RecordBatch], name: &str) -> Vec<Option<String>> {
        batches
            .iter()
            .flat_map(|b| {
                let c = b.column_by_name(name).unwrap().as_string::<i32>().clone();
                (0..c.len())
                    .map(move |i| (!c.is_null(i)).then(|| c.value(i).to_string()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    const TRICKY: &str = r#"{"kind":"identitytoolkit#DownloadAccountResponse","nested":{"users":[1,{"x":"]}"}]},
"users":[
 {"localId":"u0","email":" a@x.com ","emailVerified":true,"displayName":"Br{ace} \"quote\" \\","disabled":false,"createdAt":"1700000000000"},
 {"localId":"u1","email":"b@x.com","emailVerified":"TRUE","disabled":"false","providerUserInfo":[{"providerId":"password","rawId":"}{"}],"customAttributes":"{\"role\":\"admin\"}"},
 {"localId":7,"emailVerified":"yes","disabled":1,"mfaInfo":[],"unknown":{"deep":[{"a":"}"}]}},
 {"localId":"u3","email":"\u00e9t\u00e9@x.com","disabled":"no","customAttributes":{"inline":true},"providerUserInfo":{"not":"array"}}
], "after": [1, 2, {"k": "v"}], "n": null}
"#;

    #[test]
    fn scans_across_tiny_blocks_with_braces_in_strings() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "u.json", TRICKY.as_bytes());
        for limits in [tiny(), ReaderLimits::default()] {
            let batches = read_all(&p, limits).unwrap();
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            assert_eq!(rows, 4);
            assert_eq!(
                column(&batches, "local_id"),
                [
                    Some("u0".into()),
                    Some("u1".into()),
                    Some("7".into()),
                    Some("u3".into())
                ]
            );
            assert_eq!(
                column(&batches, "display_name")[0].as_deref(),
                Some("Br{ace} \"quote\" \\")
            );
            assert_eq!(column(&batches, "email")[3].as_deref(), Some("été@x.com"));
            assert_eq!(
                column(&batches, "provider_user_info")[1].as_deref(),
                Some(r#"[{"providerId":"password","rawId":"}{"}]"#)
            );
            assert_eq!(column(&batches, "provider_user_info")[3], None);
            assert_eq!(column(&batches, "mfa_info")[2].as_deref(), Some("[]"));
            assert_eq!(
                column(&batches, "custom_attributes")[3].as_deref(),
                Some(r#"{"inline":true}"#)
            );
            let bools = |name: &str| -> Vec<Option<bool>> {
                batches
                    .iter()
                    .flat_map(|b| {
                        let c = b.column_by_name(name).unwrap().as_boolean().clone();
                        (0..c.len())
                            .map(move |i| (!c.is_null(i)).then(|| c.value(i)))
                            .collect::<Vec<_>>()
                    })
                    .collect()
            };
            assert_eq!(
                bools("email_verified"),
                [Some(true), Some(true), Some(false), None]
            );
            assert_eq!(
                bools("disabled"),
                [Some(false), Some(false), Some(true), Some(true)]
            );
            let idx: Vec<u64> = batches
                .iter()
                .flat_map(|b| b.column(0).as_primitive::<UInt64Type>().values().to_vec())
                .collect();
            assert_eq!(idx, [0, 1, 2, 3]);
        }
    }

    #[test]
    fn bom_empty_array_and_users_first() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "bom.json", b"\xEF\xBB\xBF{\"users\":[]}\n");
        assert!(read_all(&p, tiny()).unwrap().is_empty());
        let p = write(
            d.path(),
            "one.json",
            b"{ \"users\" : [ {\"localId\":\"a\"} ] , \"x\":\"y\" }",
        );
        assert_eq!(
            read_all(&p, tiny())
                .unwrap()
                .iter()
                .map(RecordBatch::num_rows)
                .sum::<usize>(),
            1
        );
    }

    fn err(bytes: &[u8]) -> String {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "bad.json", bytes);
        let e = match read_all(&p, tiny()) {
            Ok(_) => panic!("expected an error for {:?}", String::from_utf8_lossy(bytes)),
            Err(e) => e.to_string(),
        };
        assert!(!e.contains('\n'), "{e}");
        assert!(e.starts_with(&p.display().to_string()), "{e}");
        e[p.display().to_string().len()..].to_string()
    }

    #[test]
    fn structural_errors_name_the_place() {
        assert_eq!(
            err(b""),
            ": Firebase export must be a JSON object with a \"users\" array, but the file is empty"
        );
        assert_eq!(
            err(b"[{\"localId\":\"a\"}]"),
            ": Firebase export must be a JSON object with a \"users\" array, but the file holds an array (line 1, column 1)"
        );
        assert_eq!(
            err(b"{\"a\":1,\"b\":[]}"),
            ": Firebase export must have a \"users\" array at the top level. Found keys: a, b"
        );
        assert_eq!(
            err(b"{\"a\":1,\n\"users\":{\"x\":1}}"),
            ": Firebase export must have a \"users\" array at the top level, but \"users\" is an object (line 2, column 9)"
        );
        assert_eq!(
            err(b"{\"users\":[{},\n 42]}"),
            ": users[1] is a number; expected a user object (line 2, column 2)"
        );
        assert_eq!(
            err(b"{\"users\":[{\"localId\":\"a\"},\n{\"localId\":\"b\",\"email\":\"x"),
            ": invalid JSON: the file ends inside users[1], which starts at line 2, column 1 (truncated file?)"
        );
        assert_eq!(
            err(b"{\"users\":[{\"localId\":\"a\"},"),
            ": invalid JSON: the file ends inside the users array, after users[0] (truncated file?)"
        );
        assert_eq!(
            err(b"{\"users\":[{}]"),
            ": invalid JSON: the file ends inside the top-level object (truncated file?)"
        );
        assert_eq!(
            err(b"{\"users\":[{}]} x"),
            ": invalid JSON at line 1, column 16: unexpected data after the top-level object"
        );
        assert_eq!(
            err(b"{\"users\":[{},]}"),
            ": invalid JSON at line 1, column 14: expected a user object after ',' after users[0]"
        );
        assert_eq!(
            err(b"{\"users\":[{\"localId\":\"a\"},\n{\"email\": tru}]}"),
            ": invalid JSON in users[1] at line 2, column 14: expected ident"
        );
        assert_eq!(
            err(b"{\"users\":[{\"email\":\"\xff\"}]}"),
            ": invalid UTF-8 in users[0] at line 1, column 21"
        );
        assert_eq!(
            err(b"{\"users\":[],\"users\":[]}"),
            ": invalid JSON at line 1, column 13: the \"users\" key appears twice"
        );
    }

    #[test]
    fn oversized_user_is_rejected() {
        let d = tempfile::tempdir().unwrap();
        let big = format!(
            "{{\"users\":[{{\"displayName\":\"{}\"}}]}}",
            "a".repeat(3000)
        );
        let p = write(d.path(), "big.json", big.as_bytes());
        let limits = ReaderLimits {
            max_user_bytes: 2048,
            ..tiny()
        };
        let e = read_all(&p, limits).unwrap_err().to_string();
        assert!(e.ends_with(": users[0] (line 1, column 11) is larger than 2048 bytes; a Firebase user object is a few KiB"), "{e}");
        assert_eq!(read_all(&p, tiny()).unwrap()[0].num_rows(), 1);
    }

    #[test]
    fn missing_file_and_directory() {
        let d = tempfile::tempdir().unwrap();
        let e = FirebaseReader::open(&d.path().join("nope.json"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("Firebase export file not found: "), "{e}");
        let e = FirebaseReader::open(d.path()).err().unwrap().to_string();
        assert!(
            e.ends_with(" is a directory, not a Firebase export file"),
            "{e}"
        );
    }

    #[test]
    fn locate_counts_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "l.txt", b"ab\ncd\nef");
        assert_eq!(
            locate(&p, 0),
            Position {
                offset: 0,
                line: 1,
                column: 1
            }
        );
        assert_eq!(
            locate(&p, 4),
            Position {
                offset: 4,
                line: 2,
                column: 2
            }
        );
        assert_eq!(
            locate(&p, 6),
            Position {
                offset: 6,
                line: 3,
                column: 1
            }
        );
    }
}
