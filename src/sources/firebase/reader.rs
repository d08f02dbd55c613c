//! Streaming reader of a `firebase auth:export` JSON file (`{"users":[...]}`,
//! export-and-package.md §7.2) into Arrow [`RecordBatch`]es of [`user_schema`].
//!
//! The file is never held in memory, nor is the user list:
//!
//! 1. a byte-level scanner reads the file in blocks, walks the top-level object
//!    (other keys, before or after `users`, are skipped) and cuts the `users`
//!    array into one byte slice per user object, tracking string, escape and
//!    brace state with `memchr`;
//! 2. slices are collected into chunks (~16k users or 16 MiB) and each chunk is
//!    parsed on rayon, one task per batch of [`ReaderLimits::parse_batch`]
//!    users, while the scanner (on the iterating thread) cuts the next ones;
//!    at most [`PARSE_AHEAD`] batches are in flight, which bounds memory.
//!    Users are parsed by a hand-written parser for a strict subset of JSON
//!    (plain strings and simple escapes, canonical integers, compact arrays
//!    and objects kept as their text); anything outside it goes through
//!    serde_json, which also words the errors.
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
use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::marker::PhantomData;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex, OnceLock};

use arrow::array::{ArrayRef, BooleanBuilder, RecordBatch, StringBuilder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use memchr::memchr;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
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
            chunk_users: 16384,
            chunk_bytes: 16 << 20,
            parse_batch: 4096,
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

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `x` that is zero. The lowest flagged byte is
/// always a true zero (higher ones may be false positives): only the lowest
/// is used.
#[inline]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Index of the first byte at or after `i` that is `"` or `\\` (or a control
/// character below 0x20 when `control`), `s.len()` when there is none. Eight
/// bytes at a time (SWAR): string contents are skipped without a branch per
/// byte.
#[inline]
fn find_string_special(s: &[u8], mut i: usize, control: bool) -> usize {
    while i + 8 <= s.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&s[i..i + 8]);
        let w = u64::from_le_bytes(word);
        let mut m =
            zero_bytes(w ^ (ONES * u64::from(b'"'))) | zero_bytes(w ^ (ONES * u64::from(b'\\')));
        if control {
            m |= w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
        }
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < s.len() {
        let c = s[i];
        if c == b'"' || c == b'\\' || (control && c < 0x20) {
            return i;
        }
        i += 1;
    }
    s.len()
}

/// Where [`scan_object`] is inside an object, across blocks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct ObjectScan {
    depth: u32,
    in_str: bool,
    /// The previous byte was a backslash inside a string.
    esc: bool,
}

const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// High bit set in exactly the bytes of `w` equal to `c` (no false
/// positives: the 7-bit add cannot carry across bytes).
#[inline]
fn eq_bytes(w: u64, c: u8) -> u64 {
    let x = w ^ (ONES * u64::from(c));
    !(((x & LOW7) + LOW7) | x) & HIGHS
}

/// The high bits of [`eq_bytes`] packed into bits 0..8 (byte k → bit k).
#[inline]
fn pack_bytes(m: u64) -> u32 {
    ((m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
}

/// Scans `s` for the end of an object, continuing `state` (which starts
/// before the object's `{`); returns how many bytes were consumed and
/// whether the matching `}` was among them. Only braces outside strings
/// count. Eight bytes at a time: a word without a backslash is handled with
/// bit masks (quote parity gives what is inside a string), so the loop has
/// no branch per string; words with a backslash, and the tail, go byte by
/// byte ([`scan_object_bytes`] is the same state machine).
fn scan_object(s: &[u8], state: &mut ObjectScan) -> (usize, bool) {
    let mut i = 0;
    while i < s.len() {
        if !state.esc && i + 8 <= s.len() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&s[i..i + 8]);
            let w = u64::from_le_bytes(word);
            if eq_bytes(w, b'\\') == 0 {
                let quotes = eq_bytes(w, b'"');
                let open = eq_bytes(w, b'{');
                let close = eq_bytes(w, b'}');
                // Parity of the quote count (the flags are the bytes' high
                // bits): XOR-fold instead of a software popcount.
                let mut fold = quotes ^ (quotes >> 32);
                fold ^= fold >> 16;
                fold ^= fold >> 8;
                let flip = fold & 0x80 != 0;
                if open | close == 0 {
                    state.in_str ^= flip;
                    i += 8;
                    continue;
                }
                // Bit k of `parity`: odd number of quotes at bytes 0..=k.
                let mut parity = pack_bytes(quotes);
                parity ^= parity << 1;
                parity ^= parity << 2;
                parity ^= parity << 4;
                let inside = if state.in_str { !parity } else { parity };
                let open = pack_bytes(open) & !inside;
                let close = pack_bytes(close) & !inside;
                let mut braces = (open | close) & 0xFF;
                while braces != 0 {
                    let k = braces.trailing_zeros();
                    if open >> k & 1 == 1 {
                        state.depth += 1;
                    } else {
                        state.depth = state.depth.saturating_sub(1);
                        if state.depth == 0 {
                            // After the `}`, the state is outside any string.
                            state.in_str = false;
                            return (i + k as usize + 1, true);
                        }
                    }
                    braces &= braces - 1;
                }
                state.in_str ^= flip;
                i += 8;
                continue;
            }
        }
        let (n, done) = scan_object_bytes(&s[i..(i + 8).min(s.len())], state);
        i += n;
        if done {
            return (i, true);
        }
    }
    (i, false)
}

/// [`scan_object`] one byte at a time.
fn scan_object_bytes(s: &[u8], state: &mut ObjectScan) -> (usize, bool) {
    for (i, &b) in s.iter().enumerate() {
        if state.esc {
            state.esc = false;
        } else if state.in_str {
            if b == b'\\' {
                state.esc = true;
            } else if b == b'"' {
                state.in_str = false;
            }
        } else {
            match b {
                b'"' => state.in_str = true,
                b'{' => state.depth += 1,
                b'}' => {
                    state.depth = state.depth.saturating_sub(1);
                    if state.depth == 0 {
                        return (i + 1, true);
                    }
                }
                _ => {}
            }
        }
    }
    (s.len(), false)
}

/// The file as a sequence of blocks with a read position.
struct Source {
    file: File,
    /// The bytes read and not yet released (`buf.len()` is the end).
    buf: Vec<u8>,
    pos: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    /// Bytes read at a time.
    block: usize,
    /// While a chunk is being cut, consumed bytes stay: the chunk's users
    /// are slices of this buffer, which then becomes the chunk's.
    keep: bool,
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
            buf: Vec::with_capacity(block.max(1)),
            pos: 0,
            base,
            eof: false,
            block: block.max(1),
            keep: false,
        }
    }

    /// Makes at least one unread byte available; false at the end of the file.
    fn fill(&mut self) -> io::Result<bool> {
        if self.pos < self.buf.len() {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        if !self.keep {
            self.base += self.buf.len() as u64;
            self.buf.clear();
            self.pos = 0;
        }
        self.buf.reserve(self.block);
        // Appends into the spare capacity without zeroing it first.
        match (&mut self.file)
            .take(self.block as u64)
            .read_to_end(&mut self.buf)
        {
            Ok(0) => {
                self.eof = true;
                Ok(false)
            }
            Ok(_) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Hands over the bytes before the read position (the cut chunk) and
    /// keeps reading from a buffer that starts with the unread rest.
    fn cut(&mut self, mut next: Vec<u8>) -> Vec<u8> {
        next.clear();
        next.extend_from_slice(&self.buf[self.pos..]);
        let mut done = std::mem::replace(&mut self.buf, next);
        done.truncate(self.pos);
        self.base += self.pos as u64;
        self.pos = 0;
        done
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
            let s = &self.buf[self.pos..];
            match s
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                Some(i) => {
                    self.pos += i;
                    return Ok(Some(s[i]));
                }
                None => self.pos = self.buf.len(),
            }
        }
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    /// Moves past the object starting at the current `{`, through its
    /// matching `}` (call with `keep` set: the object is then
    /// `buf[start..pos]`). Only braces outside strings count, which is all a
    /// boundary needs; the parser checks the rest. See [`scan_object`].
    fn take_object(&mut self, max: usize) -> io::Result<Taken> {
        let start = self.pos;
        let mut state = ObjectScan::default();
        loop {
            if !self.fill()? {
                return Ok(Taken::Eof);
            }
            let (i, done) = scan_object(&self.buf[self.pos..], &mut state);
            self.pos += i;
            if self.pos - start > max {
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
                let s = &self.buf[self.pos..];
                match s
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                {
                    Some(i) => {
                        self.pos += i;
                        return Ok(Taken::Complete);
                    }
                    None => self.pos = self.buf.len(),
                }
            }
        }
        let (mut depth, mut in_str, mut esc) = (0u64, false, false);
        loop {
            if !self.fill()? {
                return Ok(Taken::Eof);
            }
            let s = &self.buf[self.pos..];
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
            self.pos = self.buf.len();
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
            let s = &self.buf[self.pos..];
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
                None => self.pos = self.buf.len(),
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
    /// Where `buf` goes back when the chunk is done with.
    pool: BufferPool,
}

/// Chunk buffers to reuse: a fresh multi-MiB buffer per chunk cost a page
/// fault per 4 KiB as it was filled.
type BufferPool = Arc<Mutex<Vec<Vec<u8>>>>;

/// Buffers kept for reuse at most.
const POOLED_BUFFERS: usize = 2;

impl Drop for Chunk {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < POOLED_BUFFERS {
                pool.push(buf);
            }
        }
    }
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
    pool: BufferPool,
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
        let mut spans = Vec::with_capacity(self.limits.chunk_users);
        let mut starts = Vec::with_capacity(self.limits.chunk_users);
        let first_index = self.next_index;
        // The users stay where they were read: the read buffer becomes the
        // chunk (no copy), and the unread rest moves to the next buffer.
        self.src.keep = true;
        let scanned = self.scan_users(&mut spans, &mut starts);
        self.src.keep = false;
        scanned?;
        let chunk = if spans.is_empty() {
            None
        } else {
            let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
            let next = match pooled {
                Some(b) => b,
                None => Vec::with_capacity(
                    self.limits.chunk_bytes.min(64 << 20) + 2 * self.limits.read_block,
                ),
            };
            Some(Chunk {
                buf: self.src.cut(next),
                spans,
                starts,
                first_index,
                pool: Arc::clone(&self.pool),
            })
        };
        if !matches!(self.phase, Phase::Users { .. }) {
            // The array ended: check the rest of the file now.
            self.advance()?;
        }
        Ok(chunk)
    }

    /// The users of one chunk: their ranges in the read buffer and their
    /// file offsets.
    fn scan_users(
        &mut self,
        spans: &mut Vec<Range<usize>>,
        starts: &mut Vec<u64>,
    ) -> Result<(), ReadError> {
        let chunk_start = self.src.pos;
        while let Phase::Users { need_sep } = self.phase {
            if spans.len() >= self.limits.chunk_users
                || self.src.pos - chunk_start >= self.limits.chunk_bytes
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
                    let from = self.src.pos;
                    let limit = self.limits.max_user_bytes;
                    match self.src.take_object(limit).map_err(|e| self.io(e))? {
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
                    spans.push(from..self.src.pos);
                    starts.push(start);
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
        Ok(())
    }
}

thread_local! {
    /// Set while a user is re-parsed the slow way (see [`parse_user`]).
    static SLOW_JSON: Cell<bool> = const { Cell::new(false) };
}

/// The error text that makes [`parse_user`] fall back to the `Value` path.
const NEEDS_VALUE: &str = "compact JSON needs the Value path";

/// serde_json's raw-value marker key: `Value` treats an object starting with
/// it specially, so such objects take the `Value` path too.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Writes the compact JSON text of the value being deserialized, byte for
/// byte what `serde_json::Value`'s `Display` gives for it (keys in input
/// order, as with `preserve_order`), without building the `Value`. An object
/// with a repeated key (where `Value` keeps the first position and the last
/// value) fails with [`NEEDS_VALUE`], and so does the raw-value marker key.
struct Compact<'o> {
    out: &'o mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Compact<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Object keys, unescaped; borrowed when the input had no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Visitor<'de> for Compact<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        let _ = serde_json::to_writer(&mut *self.out, &v);
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        let _ = serde_json::to_writer(&mut *self.out, &v);
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        // Value keeps finite floats and turns the rest into null.
        if v.is_finite() {
            let _ = serde_json::to_writer(&mut *self.out, &v);
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        let _ = serde_json::to_writer(&mut *self.out, v);
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.push(b'[');
        let mut first = true;
        loop {
            let mark = self.out.len();
            if !first {
                self.out.push(b',');
            }
            match seq.next_element_seed(Compact {
                out: &mut *self.out,
            })? {
                Some(()) => first = false,
                None => {
                    self.out.truncate(mark);
                    break;
                }
            }
        }
        self.out.push(b']');
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        self.out.push(b'{');
        let mut keys: Vec<Cow<'de, str>> = Vec::new();
        let mut set: Option<std::collections::HashSet<Cow<'de, str>>> = None;
        let mut first = true;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == RAW_VALUE_TOKEN {
                return Err(A::Error::custom(NEEDS_VALUE));
            }
            let repeated = match &mut set {
                Some(set) => !set.insert(key.clone()),
                None => {
                    let seen = keys.contains(&key);
                    keys.push(key.clone());
                    if keys.len() > 32 {
                        set = Some(keys.drain(..).collect());
                    }
                    seen
                }
            };
            if repeated {
                return Err(A::Error::custom(NEEDS_VALUE));
            }
            if !first {
                self.out.push(b',');
            }
            first = false;
            let _ = serde_json::to_writer(&mut *self.out, key.as_ref());
            self.out.push(b':');
            map.next_value_seed(Compact {
                out: &mut *self.out,
            })?;
        }
        self.out.push(b'}');
        Ok(())
    }
}

/// Appends the compact JSON text of `raw` (what `serde_json::from_str::<Value>`
/// then `to_string` gives) to `out`; false, with `out` unchanged, when `raw`
/// is not JSON or needs the `Value` path (a repeated key).
pub fn compact_json_into(raw: &str, out: &mut Vec<u8>) -> bool {
    let mark = out.len();
    let mut de = serde_json::Deserializer::from_str(raw);
    let ok = Compact { out: &mut *out }.deserialize(&mut de).is_ok() && de.end().is_ok();
    if !ok {
        out.truncate(mark);
    }
    ok
}

/// The compact text of an array or object being deserialized: through
/// [`Compact`], or through `Value` while [`SLOW_JSON`] is set.
fn json_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use serde::de::Error as _;
    if SLOW_JSON.with(Cell::get) {
        return Value::deserialize(d).map(|v| v.to_string());
    }
    let mut out = Vec::with_capacity(128);
    Compact { out: &mut out }.deserialize(d)?;
    String::from_utf8(out).map_err(|_| D::Error::custom(NEEDS_VALUE))
}

/// A field value of any JSON type, borrowing unescaped strings.
#[derive(Debug, Default)]
enum Flex<'a> {
    #[default]
    Absent,
    Null,
    Str(Cow<'a, str>),
    Bool(bool),
    /// A number's JSON text.
    Num(Cow<'a, str>),
    /// An array or object as compact JSON text.
    Json {
        text: Cow<'a, str>,
        array: bool,
    },
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
                Ok(Flex::Num(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Flex<'a>, E> {
                Ok(Flex::Num(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Flex<'a>, E> {
                Ok(Flex::Num(Cow::Owned(
                    serde_json::Number::from_f64(v)
                        .map_or_else(|| v.to_string(), |n| n.to_string()),
                )))
            }
            fn visit_unit<E>(self) -> Result<Flex<'a>, E> {
                Ok(Flex::Null)
            }
            fn visit_none<E>(self) -> Result<Flex<'a>, E> {
                Ok(Flex::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Flex<'a>, A::Error> {
                json_text(SeqAccessDeserializer::new(seq)).map(|text| Flex::Json {
                    text: Cow::Owned(text),
                    array: true,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Flex<'a>, A::Error> {
                json_text(MapAccessDeserializer::new(map)).map(|text| Flex::Json {
                    text: Cow::Owned(text),
                    array: false,
                })
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl Flex<'_> {
    /// Text column value: strings as is, numbers and booleans as their JSON
    /// text, arrays and objects as compact JSON.
    fn text(&self) -> Option<&str> {
        match self {
            Flex::Absent | Flex::Null => None,
            Flex::Str(s) => Some(s.as_ref()),
            Flex::Bool(b) => Some(if *b { "true" } else { "false" }),
            Flex::Num(n) => Some(n.as_ref()),
            Flex::Json { text, .. } => Some(text),
        }
    }

    /// Compact JSON text when the value is an array.
    fn array_text(&self) -> Option<&str> {
        match self {
            Flex::Json { text, array: true } => Some(text),
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
            Flex::Json { .. } => Some(true),
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
                // Password hashes and provider lists are the big ones, then
                // ids, emails and names; the rest start small. (Growing a
                // buffer copies it; unused capacity is never touched.)
                let guess = match i {
                    5 | 10 => bytes / 4,
                    0..=4 => bytes / 8,
                    _ => bytes / 16,
                };
                StringBuilder::with_capacity(rows, guess)
            }),
            email_verified: BooleanBuilder::with_capacity(rows),
            disabled: BooleanBuilder::with_capacity(rows),
        }
    }

    fn push(&mut self, index: u64, u: &RawUser<'_>) {
        self.index.append_value(index);
        let texts: [Option<&str>; 12] = [
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
            u.provider_user_info.array_text(),
            u.mfa_info.array_text(),
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

/// Which escapes a string may have on the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escapes {
    /// None (object keys).
    No,
    /// Those `Value` writes back the same way: `\"` `\\` `\b` `\f` `\n`
    /// `\r` `\t` (inside text kept as is).
    Canonical,
    /// Those plus `\/` (values that are decoded or skipped).
    Simple,
}

/// Nesting deeper than this leaves the fast path (serde_json's own limit is 128).
const FAST_MAX_DEPTH: u32 = 100;

/// A hand-written parser for the common shape of a user object: a strict
/// subset of JSON that serde_json certainly accepts and reads the same way.
/// Strings without escapes or control characters (their text is their
/// value), integers in canonical form of at most 18 digits (no `-0`),
/// literals, and, for the array and object fields, compact canonical JSON
/// (no whitespace, no repeated keys: the text is exactly what the `Value`
/// round trip gives, so it is kept as is). Anything else (`None`) goes to
/// serde_json, which also produces the exact error for invalid input.
struct FastUser<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> FastUser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    fn ws(&mut self) {
        let b = self.text.as_bytes();
        while self.i < b.len() && matches!(b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    fn literal(&mut self, lit: &[u8]) -> Option<()> {
        let b = self.text.as_bytes();
        if b.get(self.i..self.i + lit.len())? == lit {
            self.i += lit.len();
            Some(())
        } else {
            None
        }
    }

    /// A string without escapes or control characters; its content.
    fn string(&mut self) -> Option<&'a str> {
        let (start, end, escaped) = self.scan_string(Escapes::No)?;
        if escaped {
            return None;
        }
        // Both ends are at ASCII quotes: char boundaries.
        self.text.get(start..end)
    }

    /// A string whose escapes are all in `allowed`; the range of its raw
    /// content and whether it had any escape. Control characters and other
    /// escapes (`\\u` in particular) leave the fast path.
    fn scan_string(&mut self, allowed: Escapes) -> Option<(usize, usize, bool)> {
        self.expect(b'"')?;
        let b = self.text.as_bytes();
        let start = self.i;
        let mut i = start;
        let mut escaped = false;
        loop {
            i = find_string_special(b, i, true);
            match *b.get(i)? {
                b'"' => {
                    self.i = i + 1;
                    return Some((start, i, escaped));
                }
                b'\\' => {
                    let ok = match *b.get(i + 1)? {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => allowed != Escapes::No,
                        // Decoded to `/`, which `Value` writes unescaped.
                        b'/' => allowed == Escapes::Simple,
                        _ => false,
                    };
                    if !ok {
                        return None;
                    }
                    escaped = true;
                    i += 2;
                }
                _ => return None,
            }
        }
    }

    /// A string value: borrowed without escapes, decoded with simple ones.
    fn string_value(&mut self) -> Option<Cow<'a, str>> {
        let (start, end, escaped) = self.scan_string(Escapes::Simple)?;
        let raw = self.text.get(start..end)?;
        if !escaped {
            return Some(Cow::Borrowed(raw));
        }
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            out.push(match chars.next()? {
                'b' => '\u{8}',
                'f' => '\u{c}',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                other => other, // `"`, `\\`, `/`
            });
        }
        Some(Cow::Owned(out))
    }

    /// `-?(0|[1-9][0-9]{0,17})`, not `-0`, not followed by `.`, `e` or a digit.
    fn integer(&mut self) -> Option<&'a str> {
        let b = self.text.as_bytes();
        let start = self.i;
        let neg = b.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        let digits = b[self.i..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 || digits > 18 || (digits > 1 && b[self.i] == b'0') {
            return None;
        }
        if neg && b[self.i] == b'0' {
            return None;
        }
        self.i += digits;
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.text.get(start..self.i)
    }

    /// A value in compact canonical form (arrays and objects recursively).
    fn canonical(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.scan_string(Escapes::Canonical).map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.integer().map(drop),
            b'[' => {
                if depth >= FAST_MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.canonical(depth + 1)?;
                    match self.next()? {
                        b',' => {}
                        b']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b'{' => {
                if depth >= FAST_MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Some(());
                }
                let mut keys: [&str; 16] = [""; 16];
                let mut n = 0;
                loop {
                    let key = self.string()?;
                    if n == keys.len() || key == RAW_VALUE_TOKEN || keys[..n].contains(&key) {
                        return None;
                    }
                    keys[n] = key;
                    n += 1;
                    self.expect(b':')?;
                    self.canonical(depth + 1)?;
                    match self.next()? {
                        b',' => {}
                        b'}' => return Some(()),
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }

    /// Any value of the subset, whitespace allowed (an ignored field).
    fn skip(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'[' | b'{' => {
                if depth >= FAST_MAX_DEPTH {
                    return None;
                }
                let close = if self.next()? == b'[' { b']' } else { b'}' };
                self.ws();
                if self.peek()? == close {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    if close == b'}' {
                        self.string()?;
                        self.ws();
                        self.expect(b':')?;
                        self.ws();
                    }
                    self.skip(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => self.ws(),
                        c if c == close => return Some(()),
                        _ => return None,
                    }
                }
            }
            b'"' => self.scan_string(Escapes::Simple).map(drop),
            _ => self.canonical(depth),
        }
    }

    /// The value of a known field.
    fn flex(&mut self) -> Option<Flex<'a>> {
        Some(match self.peek()? {
            b'"' => Flex::Str(self.string_value()?),
            b't' => {
                self.literal(b"true")?;
                Flex::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Flex::Bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                Flex::Null
            }
            b'-' | b'0'..=b'9' => Flex::Num(Cow::Borrowed(self.integer()?)),
            c @ (b'[' | b'{') => {
                let start = self.i;
                self.canonical(0)?;
                Flex::Json {
                    text: Cow::Borrowed(self.text.get(start..self.i)?),
                    array: c == b'[',
                }
            }
            _ => return None,
        })
    }

    fn user(text: &'a str) -> Option<RawUser<'a>> {
        let mut p = FastUser { text, i: 0 };
        let mut u = RawUser::default();
        let mut seen = 0u16;
        p.ws();
        p.expect(b'{')?;
        p.ws();
        if p.peek()? == b'}' {
            p.i += 1;
        } else {
            loop {
                let key = p.string()?;
                p.ws();
                p.expect(b':')?;
                p.ws();
                let (bit, slot) = match key {
                    "localId" => (0, &mut u.local_id),
                    "email" => (1, &mut u.email),
                    "emailVerified" => (2, &mut u.email_verified),
                    "displayName" => (3, &mut u.display_name),
                    "photoUrl" => (4, &mut u.photo_url),
                    "phoneNumber" => (5, &mut u.phone_number),
                    "passwordHash" => (6, &mut u.password_hash),
                    "salt" => (7, &mut u.salt),
                    "disabled" => (8, &mut u.disabled),
                    "createdAt" => (9, &mut u.created_at),
                    "lastSignedInAt" => (10, &mut u.last_signed_in_at),
                    "customAttributes" => (11, &mut u.custom_attributes),
                    "providerUserInfo" => (12, &mut u.provider_user_info),
                    "mfaInfo" => (13, &mut u.mfa_info),
                    _ => {
                        p.skip(1)?;
                        p.ws();
                        match p.next()? {
                            b',' => {
                                p.ws();
                                continue;
                            }
                            b'}' => break,
                            _ => return None,
                        }
                    }
                };
                // A repeated field is an error for serde: let it say so.
                if seen & (1 << bit) != 0 {
                    return None;
                }
                seen |= 1 << bit;
                *slot = p.flex()?;
                p.ws();
                match p.next()? {
                    b',' => p.ws(),
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        p.ws();
        (p.i == text.len()).then_some(u)
    }
}

/// Parses one user. Arrays and objects become compact text through
/// [`Compact`]; when that fails for any reason (invalid JSON, or a repeated
/// key that only `Value` renders right) the user is parsed again the
/// original way, through `Value`, which also gives the error to report.
fn parse_user(text: &str) -> Result<RawUser<'_>, serde_json::Error> {
    if let Some(u) = FastUser::user(text) {
        return Ok(u);
    }
    match serde_json::from_str(text) {
        Ok(u) => Ok(u),
        Err(_) => {
            SLOW_JSON.with(|s| s.set(true));
            let slow = serde_json::from_str(text);
            SLOW_JSON.with(|s| s.set(false));
            slow
        }
    }
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
        let user = parse_user(text).map_err(|e| ReadError::UserJson {
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

/// Iterator of user batches; see the module docs.
pub struct FirebaseReader {
    scanner: Scanner,
    path: PathBuf,
    shared_path: Arc<PathBuf>,
    /// Batches being parsed on rayon, in file order.
    parsing: VecDeque<Receiver<Result<RecordBatch, ReadError>>>,
    /// A scan error, reported after the chunks before it.
    deferred: Option<ReadError>,
    scanned_all: bool,
    finished: bool,
    progress: Arc<AtomicU64>,
    file_size: u64,
}

/// Batches parsed at once (a rayon task each). The scanner, on the caller's
/// thread, cuts chunks until this many are in flight, so the workers always
/// have users to parse while earlier batches are being used.
const PARSE_AHEAD: usize = 6;

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
            pool: BufferPool::default(),
        };
        scanner.advance()?;
        Ok(Self {
            scanner,
            path: path.to_path_buf(),
            shared_path: Arc::new(path.to_path_buf()),
            parsing: VecDeque::new(),
            deferred: None,
            scanned_all: false,
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
        if self.finished {
            return None;
        }
        // Cut chunks (here) while earlier batches are parsed (rayon).
        while !self.scanned_all && self.parsing.len() < PARSE_AHEAD {
            match self.scan() {
                Ok(Some(chunk)) => {
                    let chunk = Arc::new(chunk);
                    let n = chunk.spans.len();
                    let step = self.scanner.limits.parse_batch.max(1);
                    for start in (0..n).step_by(step) {
                        let (tx, rx) = sync_channel(1);
                        let chunk = Arc::clone(&chunk);
                        let path = Arc::clone(&self.shared_path);
                        rayon::spawn(move || {
                            // The reader may be gone; then nobody waits.
                            let _ =
                                tx.send(parse_group(&chunk, start..(start + step).min(n), &path));
                        });
                        self.parsing.push_back(rx);
                    }
                }
                Ok(None) => self.scanned_all = true,
                Err(e) => {
                    self.deferred = Some(e);
                    self.scanned_all = true;
                }
            }
        }
        let Some(parsed) = self.parsing.pop_front() else {
            self.finished = true;
            return self.deferred.take().map(Err);
        };
        match parsed.recv() {
            Ok(Ok(batch)) => Some(Ok(batch)),
            Ok(Err(e)) => {
                self.finished = true;
                Some(Err(e))
            }
            Err(_) => {
                self.finished = true;
                Some(Err(ReadError::Io {
                    path: self.path.clone(),
                    source: io::Error::other("a parser task panicked"),
                }))
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

    /// Everything a parsed user contributes to a batch, comparable.
    fn view(u: &RawUser<'_>) -> Vec<Option<String>> {
        let t = |f: &Flex<'_>| f.text().map(str::to_string);
        let a = |f: &Flex<'_>| f.array_text().map(str::to_string);
        let b = |v: Option<bool>| v.map(|v| v.to_string());
        vec![
            t(&u.local_id),
            t(&u.email),
            t(&u.display_name),
            t(&u.photo_url),
            t(&u.phone_number),
            t(&u.password_hash),
            t(&u.salt),
            t(&u.created_at),
            t(&u.last_signed_in_at),
            t(&u.custom_attributes),
            a(&u.provider_user_info),
            a(&u.mfa_info),
            b(u.email_verified.strict_bool()),
            b(u.disabled.truthy()),
        ]
    }

    fn slow(text: &str) -> Result<RawUser<'_>, serde_json::Error> {
        SLOW_JSON.with(|s| s.set(true));
        let r = serde_json::from_str(text);
        SLOW_JSON.with(|s| s.set(false));
        r
    }

    #[test]
    fn fast_and_compact_paths_agree_with_value() {
        let samples = [
            r#"{"localId":"a","email":"x@y","emailVerified":true,"providerUserInfo":[{"providerId":"password","rawId":"x@y"}],"createdAt":"1700000000000"}"#,
            r#" { "localId" : "a" , "disabled" : 1, "createdAt": 1700000000000, "x": [1, {"a": "b"}] } "#,
            r#"{"localId":"a","providerUserInfo":[ {"providerId":"password"} ]}"#,
            r#"{"localId":"a","providerUserInfo":[{"a":1,"a":2}]}"#,
            r#"{"localId":"a","mfaInfo":[{"n":1.5,"m":-0,"e":1e3,"u":"\u00e9\n"}],"disabled":-0}"#,
            r#"{"localId":"a","customAttributes":{"role":"admin","n":[true,false,null,-12]}}"#,
            r#"{"localId":"a","providerUserInfo":{"not":"array"},"mfaInfo":[]}"#,
            r#"{"localId":"a","localId":"b"}"#,
            r#"{"local\u0049d":"a","email":"\"q\""}"#,
            r#"{"localId":"a","x":{"y":"z","y":"w"},"displayName":"Ann\tLee"}"#,
            r#"{"localId":"a","providerUserInfo":[{"$serde_json::private::RawValue":"1"}]}"#,
            r#"{"localId":"a","n":01}"#,
            r#"{"localId":"a","n":123456789012345678901234}"#,
            r#"{"localId":"a",}"#,
            r#"{}"#,
            r#"{"emailVerified":"TRUE","disabled":"0","photoUrl":null}"#,
            r#"{"localId":"a","customAttributes":"{\"role\":\"member\"}","displayName":"A\tB \/ \\ \"q\"\b\f\r\n","providerUserInfo":[{"n":"a\"b\\c\n\t\b\f\r"}]}"#,
            r#"{"localId":"a","providerUserInfo":[{"n":"a\/b"}],"x":"\/\"","y":["\u00e9"]}"#,
            r#"{"localId":"a\u00e9","email":"x\y"}"#,
            r#"{"localId":"a","email":"tab	inside"}"#,
        ];
        for text in samples {
            let slow = slow(text);
            let compact: Result<RawUser<'_>, _> = serde_json::from_str(text);
            if let (Ok(c), Ok(s)) = (&compact, &slow) {
                assert_eq!(view(c), view(s), "{text}");
            }
            assert!(!(compact.is_ok() && slow.is_err()), "{text}");
            if let Some(f) = FastUser::user(text) {
                let s = slow
                    .as_ref()
                    .unwrap_or_else(|e| panic!("{text}: fast ok, serde {e}"));
                assert_eq!(view(&f), view(s), "{text}");
            }
            match (parse_user(text), slow) {
                (Ok(p), Ok(s)) => assert_eq!(view(&p), view(&s), "{text}"),
                (Err(p), Err(s)) => assert_eq!(p.to_string(), s.to_string(), "{text}"),
                _ => panic!("{text}: paths disagree"),
            }
        }
        // The common shapes take the fast path.
        assert!(FastUser::user(samples[0]).is_some());
        assert!(FastUser::user(samples[1]).is_some());
        assert!(FastUser::user(samples[5]).is_some());
        assert!(FastUser::user(samples[2]).is_none());
        assert!(FastUser::user(samples[16]).is_some());
        assert!(FastUser::user(samples[17]).is_none());
        for raw in [
            r#"{"b":1,"a":[true,{"x":1.0}],"c":"\u00e9"}"#,
            r#"[1, 2 ,{"k":{"k":1,"k":2}}]"#,
            r#" "s" "#,
            r#"{"a":1} x"#,
        ] {
            let mut out = b"pre".to_vec();
            let ok = compact_json_into(raw, &mut out);
            match serde_json::from_str::<Value>(raw) {
                Ok(v) if ok => assert_eq!(&out[3..], v.to_string().as_bytes(), "{raw}"),
                _ => assert_eq!(out, b"pre", "{raw}"),
            }
        }
    }

    #[test]
    fn word_scan_matches_byte_scan() {
        let mut seed = 11u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"{{}}\"\"\\ab:,[]";
        for round in 0..20_000 {
            let len = 1 + (next() % 60) as usize;
            let mut text: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            text.insert(0, b'{');
            let split = (next() as usize) % (text.len() + 1);
            let (mut a, mut b) = (ObjectScan::default(), ObjectScan::default());
            let mut got = None;
            let mut want = None;
            let mut base = 0;
            for part in [&text[..split], &text[split..]] {
                if got.is_none() {
                    let (n, done) = scan_object(part, &mut a);
                    if done {
                        got = Some(base + n);
                    }
                }
                if want.is_none() {
                    let (n, done) = scan_object_bytes(part, &mut b);
                    if done {
                        want = Some(base + n);
                    }
                }
                base += part.len();
            }
            assert_eq!(
                got,
                want,
                "round {round}: {:?}",
                String::from_utf8_lossy(&text)
            );
            if got.is_none() {
                assert_eq!(a, b, "round {round}: {:?}", String::from_utf8_lossy(&text));
            }
        }
        for (a, b) in [
            (0x0102_0304_0506_0722u64, 0b1u32),
            (0x2200_0000_0000_0000, 0x80),
        ] {
            assert_eq!(pack_bytes(eq_bytes(a, b'"')), b);
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
