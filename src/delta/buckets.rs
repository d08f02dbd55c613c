//! The on-disk buckets of `diff`: every row of both packages is appended to
//! the bucket of its user key (a stable FNV-1a hash, [`crate::spill::key_hash`]),
//! so one user's rows of both packages meet in the same bucket pair and each
//! pair can be compared alone, in memory, in parallel.
//!
//! Record layout (little endian): `kind u8`, `line u64`, `field count u8`,
//! then per string (the key first, then the row's fields in canonical
//! order) `len u32` + UTF-8 bytes.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::spill::key_hash;

/// Which package file a bucket record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    User = 1,
    Membership = 2,
    Assignment = 3,
}

impl RowKind {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::User,
            2 => Self::Membership,
            3 => Self::Assignment,
            _ => return None,
        })
    }
}

/// The bucket of a user key.
pub fn bucket_of(key: &str, buckets: usize) -> usize {
    (key_hash(key.as_bytes()) % buckets.max(1) as u64) as usize
}

/// Appends records to `buckets` files `<dir>/<prefix>-<n>`.
pub struct BucketWriter {
    files: Vec<BufWriter<File>>,
    paths: Vec<PathBuf>,
    scratch: Vec<u8>,
}

/// Per-file buffer: small, there are many files open at once.
const BUFFER: usize = 64 << 10;

impl BucketWriter {
    pub fn create(dir: &Path, prefix: &str, buckets: usize) -> io::Result<Self> {
        let mut files = Vec::with_capacity(buckets);
        let mut paths = Vec::with_capacity(buckets);
        for n in 0..buckets.max(1) {
            let path = dir.join(format!("{prefix}-{n:04}"));
            files.push(BufWriter::with_capacity(
                BUFFER,
                crate::package::writer::create_private_file(&path)?,
            ));
            paths.push(path);
        }
        Ok(Self {
            files,
            paths,
            scratch: Vec::with_capacity(1024),
        })
    }

    pub fn buckets(&self) -> usize {
        self.files.len()
    }

    /// Appends one row to the bucket of `key`.
    pub fn push(&mut self, kind: RowKind, line: u64, key: &str, fields: &[&str]) -> io::Result<()> {
        let n = bucket_of(key, self.files.len());
        let s = &mut self.scratch;
        s.clear();
        s.push(kind as u8);
        s.extend_from_slice(&line.to_le_bytes());
        s.push((fields.len() + 1) as u8);
        for f in std::iter::once(&key).chain(fields.iter()) {
            s.extend_from_slice(&(f.len() as u32).to_le_bytes());
            s.extend_from_slice(f.as_bytes());
        }
        match self.files.get_mut(n) {
            Some(f) => f.write_all(s),
            None => Err(io::Error::other("bucket out of range")),
        }
    }

    /// Flushes every file; returns their paths in bucket order.
    pub fn finish(self) -> io::Result<Vec<PathBuf>> {
        for mut f in self.files {
            f.flush()?;
        }
        Ok(self.paths)
    }
}

/// One record read back (borrowing the bucket's bytes).
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub kind: RowKind,
    pub line: u64,
    pub key: &'a str,
    pub fields: Vec<&'a str>,
}

/// Parses a whole bucket file's bytes. A malformed file (only possible if
/// the temporary file was tampered with) is an error, never a panic.
pub fn parse(buf: &[u8]) -> Result<Vec<Record<'_>>, String> {
    let mut out = Vec::new();
    let mut i = 0usize;
    let bad = || "corrupt temporary bucket file".to_string();
    let take = |i: &mut usize, n: usize| -> Result<&[u8], String> {
        let end = i.checked_add(n).ok_or_else(bad)?;
        let s = buf.get(*i..end).ok_or_else(bad)?;
        *i = end;
        Ok(s)
    };
    while i < buf.len() {
        let kind = RowKind::from_byte(take(&mut i, 1)?[0]).ok_or_else(bad)?;
        let mut line = [0u8; 8];
        line.copy_from_slice(take(&mut i, 8)?);
        let count = take(&mut i, 1)?[0] as usize;
        let mut strings = Vec::with_capacity(count);
        for _ in 0..count {
            let mut len = [0u8; 4];
            len.copy_from_slice(take(&mut i, 4)?);
            let bytes = take(&mut i, u32::from_le_bytes(len) as usize)?;
            strings.push(std::str::from_utf8(bytes).map_err(|_| bad())?);
        }
        let mut it = strings.into_iter();
        let key = it.next().ok_or_else(bad)?;
        out.push(Record {
            kind,
            line: u64::from_le_bytes(line),
            key,
            fields: it.collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_in_their_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BucketWriter::create(dir.path(), "t", 4).unwrap();
        w.push(RowKind::User, 2, "x:1", &["a@x.com", "", "é,\"q\""])
            .unwrap();
        w.push(RowKind::Membership, 7, "x:1", &["a@x.com"]).unwrap();
        let paths = w.finish().unwrap();
        let n = bucket_of("x:1", 4);
        let bytes = std::fs::read(&paths[n]).unwrap();
        let recs = parse(&bytes).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].kind, RowKind::User);
        assert_eq!(recs[0].line, 2);
        assert_eq!(recs[0].fields, ["a@x.com", "", "é,\"q\""]);
        assert_eq!(recs[1].kind, RowKind::Membership);
        assert!(parse(&bytes[..bytes.len() - 1]).is_err());
    }
}
