//! The on-disk buckets of `diff`: a fixed-size [`RowPrint`] of every row of
//! both packages is appended to the bucket of its user key, so one user's
//! rows of both packages meet in the same bucket pair and each pair can be
//! compared alone, in memory, in parallel. A print is 57 bytes whatever the
//! row's size, so the buckets are a fraction of the packages.
//!
//! Record layout (little endian): `kind u8`, `key u128`, `row u128`,
//! `user_columns u64`, `offset u64`, `line u64`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Which package file a row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

/// The fingerprint of one row and where to read it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowPrint {
    pub kind: RowKind,
    /// [`super::fingerprint::key_print`] of the row's user key.
    pub key: u128,
    /// [`super::fingerprint::RowHasher::row_print`] of the row.
    pub row: u128,
    /// [`super::fingerprint::RowHasher::user_columns_print`] (users.csv
    /// rows; 0 for the others).
    pub user_columns: u64,
    /// Byte offset of the row in its file.
    pub offset: u64,
    /// Line of the row in its file.
    pub line: u64,
}

/// Bytes of one encoded [`RowPrint`].
pub const PRINT_LEN: usize = 1 + 16 + 16 + 8 + 8 + 8;

impl RowPrint {
    fn encode(&self) -> [u8; PRINT_LEN] {
        let mut b = [0u8; PRINT_LEN];
        b[0] = self.kind as u8;
        b[1..17].copy_from_slice(&self.key.to_le_bytes());
        b[17..33].copy_from_slice(&self.row.to_le_bytes());
        b[33..41].copy_from_slice(&self.user_columns.to_le_bytes());
        b[41..49].copy_from_slice(&self.offset.to_le_bytes());
        b[49..57].copy_from_slice(&self.line.to_le_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let u128_at = |i: usize| -> Option<u128> {
            Some(u128::from_le_bytes(b.get(i..i + 16)?.try_into().ok()?))
        };
        let u64_at = |i: usize| -> Option<u64> {
            Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
        };
        Some(Self {
            kind: RowKind::from_byte(*b.first()?)?,
            key: u128_at(1)?,
            row: u128_at(17)?,
            user_columns: u64_at(33)?,
            offset: u64_at(41)?,
            line: u64_at(49)?,
        })
    }
}

/// The bucket of a key print.
pub fn bucket_of(key: u128, buckets: usize) -> usize {
    ((key >> 64) as u64 % buckets.max(1) as u64) as usize
}

/// Appends prints to `buckets` files `<dir>/<prefix>-<n>`.
pub struct BucketWriter {
    files: Vec<BufWriter<File>>,
    paths: Vec<PathBuf>,
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
        Ok(Self { files, paths })
    }

    pub fn buckets(&self) -> usize {
        self.files.len()
    }

    /// Appends one print to the bucket of its key.
    pub fn push(&mut self, print: &RowPrint) -> io::Result<()> {
        let n = bucket_of(print.key, self.files.len());
        match self.files.get_mut(n) {
            Some(f) => f.write_all(&print.encode()),
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

/// Parses a whole bucket file's bytes. A malformed file (only possible if
/// the temporary file was tampered with) is an error, never a panic.
pub fn parse(buf: &[u8]) -> Result<Vec<RowPrint>, String> {
    let bad = || "corrupt temporary bucket file".to_string();
    if !buf.len().is_multiple_of(PRINT_LEN) {
        return Err(bad());
    }
    buf.chunks_exact(PRINT_LEN)
        .map(|c| RowPrint::decode(c).ok_or_else(bad))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_round_trip_in_their_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BucketWriter::create(dir.path(), "t", 4).unwrap();
        let a = RowPrint {
            kind: RowKind::User,
            key: (7u128 << 64) | 3,
            row: u128::MAX - 1,
            user_columns: 9,
            offset: 1 << 40,
            line: 2,
        };
        let b = RowPrint {
            kind: RowKind::Membership,
            line: 7,
            ..a
        };
        w.push(&a).unwrap();
        w.push(&b).unwrap();
        let paths = w.finish().unwrap();
        let n = bucket_of(a.key, 4);
        assert_eq!(n, 3);
        let bytes = std::fs::read(&paths[n]).unwrap();
        assert_eq!(parse(&bytes).unwrap(), [a, b]);
        assert!(parse(&bytes[..bytes.len() - 1]).is_err());
        let mut bad = bytes.clone();
        bad[0] = 9;
        assert!(parse(&bad).is_err());
    }
}
