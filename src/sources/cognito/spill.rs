//! Per-pool user records on disk, handed back bucket by bucket (each sorted
//! by external id) with bounded memory.
//!
//! Pages arrive from many concurrent listings (partitions of a pool, its
//! groups, other pools) in an order that depends on timing. Every record is
//! appended to one of [`BUCKETS`] buckets of its pool, chosen by a stable
//! hash of its key (the external id), so buckets stay small whatever the ids
//! look like. Each bucket is later loaded alone and sorted by (key, kind,
//! group, bytes), which puts a user next to its group memberships and makes
//! the package independent of listing order and of how a pool was
//! partitioned. Memory is bounded by a few buckets (a pool / 4096 each:
//! 2,500 users at 10M) plus the per-bucket write buffers (64 MiB for all
//! pools together, at least 1 KiB per bucket) and the chunk index (16 bytes
//! per flushed buffer).
//!
//! A full buffer is appended as one chunk to the run's single spill file
//! (one descriptor for every pool; no file per bucket, so no inode is
//! created or removed per bucket); the pool remembers where each of its
//! buckets' chunks lies and reads them back in order.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::CognitoUser;

/// Buckets per pool (a prime, for the hash).
pub const BUCKETS: usize = 4097;

/// Errors of the spill; they name the temporary file.
#[derive(Debug, thiserror::Error)]
pub enum UserSpillError {
    #[error("temporary file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("temporary directory: {0}")]
    TempDir(io::Error),
    #[error("temporary file {0}: corrupt record")]
    Corrupt(PathBuf),
}

/// What a record says about its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecordKind {
    /// From `ListUsers`.
    User = 0,
    /// From `ListUsersInGroup`: the user is in group number `group`.
    Group = 1,
}

/// One record read back from a bucket; its text borrows the bucket's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpilledRecord<'a> {
    pub key: &'a str,
    pub kind: RecordKind,
    /// Index of the group in the pool's group list (0 for users).
    pub group: u32,
    /// The user, when the record carries one (group records carry one only
    /// when users are not listed).
    pub user: Option<CognitoUser<&'a str>>,
}

/// The bucket of a key: a stable hash of it (FNV-1a), so users spread
/// evenly over the buckets whatever their ids look like (a prefix would put
/// every user of a pool whose ids share a prefix into one bucket and load
/// them all at once).
pub fn bucket_of(key: &str) -> usize {
    (crate::spill::key_hash(key.as_bytes()) % BUCKETS as u64) as usize
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Serialises a user (length-prefixed strings).
fn put_user(out: &mut Vec<u8>, u: &CognitoUser) {
    put_str(out, &u.username);
    put_str(out, &u.user_status);
    out.push(u8::from(u.enabled));
    for d in [&u.created_at, &u.updated_at] {
        match d {
            Some(s) => {
                out.push(1);
                put_str(out, s);
            }
            None => out.push(0),
        }
    }
    out.extend_from_slice(&(u.attributes.len() as u32).to_le_bytes());
    for (k, v) in &u.attributes {
        put_str(out, k);
        put_str(out, v);
    }
    out.extend_from_slice(&(u.mfa_options.len() as u32).to_le_bytes());
    for (m, a) in &u.mfa_options {
        put_str(out, m);
        put_str(out, a);
    }
}

/// A cursor over record bytes; every read checks the bounds.
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.data.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.bytes(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.bytes(n)?).ok()
    }
    fn record(&mut self) -> Option<SpilledRecord<'a>> {
        let key = self.str()?;
        let kind = match self.u8()? {
            0 => RecordKind::User,
            _ => RecordKind::Group,
        };
        let group = self.u32()?;
        let user = match self.u8()? {
            1 => Some(self.user()?),
            _ => None,
        };
        Some(SpilledRecord {
            key,
            kind,
            group,
            user,
        })
    }

    fn user(&mut self) -> Option<CognitoUser<&'a str>> {
        let username = self.str()?;
        let user_status = self.str()?;
        let enabled = self.u8()? == 1;
        let mut dates = [None, None];
        for d in &mut dates {
            if self.u8()? == 1 {
                *d = Some(self.str()?);
            }
        }
        let [created_at, updated_at] = dates;
        let n = self.u32()? as usize;
        let mut attributes = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            attributes.push((self.str()?, self.str()?));
        }
        let n = self.u32()? as usize;
        let mut mfa_options = Vec::with_capacity(n.min(8));
        for _ in 0..n {
            mfa_options.push((self.str()?, self.str()?));
        }
        Some(CognitoUser {
            username,
            attributes,
            user_status,
            enabled,
            created_at,
            updated_at,
            mfa_options,
        })
    }
}

/// The run's spill file: chunks are appended at its end.
struct SpillFile {
    path: PathBuf,
    file: File,
    len: u64,
}

impl SpillFile {
    fn io(&self, source: io::Error) -> UserSpillError {
        UserSpillError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends `bytes`; returns the offset they start at.
    fn append(&mut self, bytes: &[u8]) -> Result<u64, UserSpillError> {
        let at = self.len;
        self.file
            .seek(SeekFrom::Start(at))
            .map_err(|e| self.io(e))?;
        self.file.write_all(bytes).map_err(|e| self.io(e))?;
        self.len += bytes.len() as u64;
        Ok(at)
    }

    /// Appends the `len` bytes at `at` to `out`.
    fn read_into(&mut self, at: u64, len: u32, out: &mut Vec<u8>) -> Result<(), UserSpillError> {
        self.file
            .seek(SeekFrom::Start(at))
            .map_err(|e| self.io(e))?;
        let start = out.len();
        out.resize(start + len as usize, 0);
        self.file
            .read_exact(&mut out[start..])
            .map_err(|e| self.io(e))
    }
}

/// Where a flushed buffer lies in the spill file.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    at: u64,
    len: u32,
}

/// The buckets of one pool; see the module docs.
pub struct PoolSpill {
    file: Arc<Mutex<SpillFile>>,
    buffers: Vec<Vec<u8>>,
    /// Per bucket, its flushed chunks in append order.
    chunks: Vec<Vec<Chunk>>,
    flush_at: usize,
    records: u64,
}

fn lock_file(file: &Mutex<SpillFile>) -> MutexGuard<'_, SpillFile> {
    file.lock().unwrap_or_else(|e| e.into_inner())
}

impl PoolSpill {
    fn append(&mut self, bucket: usize) -> Result<(), UserSpillError> {
        let buf = &mut self.buffers[bucket];
        // Chunks stay below 4 GiB: a buffer is flushed at `flush_at` (at
        // most 64 KiB) plus one record (a page entry, well under 4 GiB).
        let len = u32::try_from(buf.len()).map_err(|_| {
            let f = lock_file(&self.file);
            f.io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "record too large",
            ))
        })?;
        let at = lock_file(&self.file).append(buf)?;
        buf.clear();
        self.chunks[bucket].push(Chunk { at, len });
        Ok(())
    }

    /// Appends a record: `user` is stored only when `Some`.
    pub fn push(
        &mut self,
        key: &str,
        kind: RecordKind,
        group: u32,
        user: Option<&CognitoUser>,
    ) -> Result<(), UserSpillError> {
        let bucket = bucket_of(key);
        let buf = &mut self.buffers[bucket];
        put_str(buf, key);
        buf.push(kind as u8);
        buf.extend_from_slice(&group.to_le_bytes());
        match user {
            Some(u) => {
                buf.push(1);
                put_user(buf, u);
            }
            None => buf.push(0),
        }
        self.records += 1;
        if self.buffers[bucket].len() >= self.flush_at {
            self.append(bucket)?;
        }
        Ok(())
    }

    /// Records pushed so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The raw bytes of a bucket (its chunks, then its buffer); the bucket
    /// is emptied.
    pub fn take_bucket(&mut self, bucket: usize) -> Result<Vec<u8>, UserSpillError> {
        let chunks = std::mem::take(&mut self.chunks[bucket]);
        let mut buffer = std::mem::take(&mut self.buffers[bucket]);
        if chunks.is_empty() {
            return Ok(buffer);
        }
        let total: usize = chunks.iter().map(|c| c.len as usize).sum::<usize>() + buffer.len();
        let mut data = Vec::with_capacity(total);
        {
            let mut f = lock_file(&self.file);
            for c in &chunks {
                f.read_into(c.at, c.len, &mut data)?;
            }
        }
        data.append(&mut buffer);
        Ok(data)
    }
}

/// Parses a bucket's bytes and sorts them (see the module docs).
pub fn sorted_records<'a>(
    data: &'a [u8],
    label: &Path,
) -> Result<Vec<SpilledRecord<'a>>, UserSpillError> {
    let mut c = Cursor { data, at: 0 };
    let mut out = Vec::new();
    while c.at < data.len() {
        let record = c
            .record()
            .ok_or_else(|| UserSpillError::Corrupt(label.to_path_buf()))?;
        out.push(record);
    }
    out.sort_by(|a, b| {
        a.key
            .cmp(b.key)
            .then(a.kind.cmp(&b.kind))
            .then(a.group.cmp(&b.group))
            .then_with(|| format!("{:?}", a.user).cmp(&format!("{:?}", b.user)))
    });
    Ok(out)
}

/// The spills of every pool of a run, in one temporary file.
pub struct UserSpill {
    _dir: tempfile::TempDir,
    pools: Vec<Mutex<PoolSpill>>,
}

/// Bytes of write buffers for all pools together.
const BUFFER_BUDGET: usize = 64 << 20;

impl UserSpill {
    /// A spill for `pools` pools (system temporary directory, `TMPDIR`).
    pub fn new(pools: usize) -> Result<Self, UserSpillError> {
        let dir = tempfile::Builder::new()
            .prefix("workos-migrate-cognito-")
            .tempdir()
            .map_err(UserSpillError::TempDir)?;
        let flush_at = (BUFFER_BUDGET / (pools.max(1) * BUCKETS)).clamp(1 << 10, 64 << 10);
        let path = dir.path().join("records.bin");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| UserSpillError::Io {
                path: path.clone(),
                source,
            })?;
        let file = Arc::new(Mutex::new(SpillFile { path, file, len: 0 }));
        let list = (0..pools)
            .map(|_| {
                Mutex::new(PoolSpill {
                    file: file.clone(),
                    buffers: (0..BUCKETS).map(|_| Vec::new()).collect(),
                    chunks: (0..BUCKETS).map(|_| Vec::new()).collect(),
                    flush_at,
                    records: 0,
                })
            })
            .collect();
        Ok(Self {
            _dir: dir,
            pools: list,
        })
    }

    /// The spill of pool number `pool`.
    pub fn pool(&self, pool: usize) -> MutexGuard<'_, PoolSpill> {
        self.pools[pool].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of pools.
    pub fn len(&self) -> usize {
        self.pools.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> CognitoUser {
        CognitoUser {
            username: name.into(),
            attributes: vec![
                ("sub".into(), format!("{name}-sub")),
                ("email".into(), "é@x".into()),
            ],
            user_status: "CONFIRMED".into(),
            enabled: true,
            created_at: Some("2024-01-01T00:00:00Z".into()),
            updated_at: None,
            mfa_options: vec![("SMS".into(), "phone_number".into())],
        }
    }

    #[test]
    fn buckets_spread_keys_that_share_a_prefix() {
        // 16 keys per first hex digit, the rest of the id counting up: the
        // shape of the fake's synthetic subs (and of any sequential ids).
        let mut used = std::collections::HashSet::new();
        for i in 0..40_000u64 {
            let key = format!("{:x}{:07x}-0000-4000-8000-000000000000", i % 16, i / 16);
            let b = bucket_of(&key);
            assert!(b < BUCKETS);
            used.insert(b);
        }
        assert!(used.len() > BUCKETS * 9 / 10, "{} buckets used", used.len());
        assert_eq!(bucket_of("same"), bucket_of("same"));
    }

    #[test]
    fn records_round_trip_sorted_whatever_the_push_order() {
        let spill = UserSpill::new(2).unwrap();
        {
            let mut p = spill.pool(1);
            // Small buffers force appends to the file.
            p.flush_at = 16;
            p.push("abc2", RecordKind::Group, 3, None).unwrap();
            p.push("abc1", RecordKind::User, 0, Some(&user("b")))
                .unwrap();
            p.push("abc2", RecordKind::User, 0, Some(&user("a")))
                .unwrap();
            p.push("abc2", RecordKind::Group, 1, None).unwrap();
            assert_eq!(p.records(), 4);
        }
        let mut data = spill.pool(1).take_bucket(bucket_of("abc1")).unwrap();
        if bucket_of("abc2") != bucket_of("abc1") {
            data.extend(spill.pool(1).take_bucket(bucket_of("abc2")).unwrap());
        }
        let recs = sorted_records(&data, Path::new("t")).unwrap();
        let keys: Vec<(&str, RecordKind, u32)> =
            recs.iter().map(|r| (r.key, r.kind, r.group)).collect();
        assert_eq!(
            keys,
            [
                ("abc1", RecordKind::User, 0),
                ("abc2", RecordKind::User, 0),
                ("abc2", RecordKind::Group, 1),
                ("abc2", RecordKind::Group, 3)
            ]
        );
        assert_eq!(
            recs[1].user.as_ref().map(CognitoUser::to_owned_user),
            Some(user("a"))
        );
        assert!(spill
            .pool(1)
            .take_bucket(bucket_of("ab"))
            .unwrap()
            .is_empty());
        assert!(sorted_records(&data[..data.len() - 1], Path::new("t")).is_err());
    }

    #[test]
    fn pools_sharing_the_file_read_back_their_own_chunks_in_order() {
        let spill = UserSpill::new(2).unwrap();
        spill.pool(0).flush_at = 1;
        spill.pool(1).flush_at = 40;
        let key = "same-key";
        let mut expected: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        for i in 0..50u32 {
            let p = (i % 3 == 0) as usize;
            spill.pool(p).push(key, RecordKind::Group, i, None).unwrap();
            let mut one = Vec::new();
            put_str(&mut one, key);
            one.push(RecordKind::Group as u8);
            one.extend_from_slice(&i.to_le_bytes());
            one.push(0);
            expected[p].extend(one);
        }
        assert!(!spill.pool(0).chunks[bucket_of(key)].is_empty());
        assert!(!spill.pool(1).chunks[bucket_of(key)].is_empty());
        for (p, want) in expected.iter().enumerate() {
            let got = spill.pool(p).take_bucket(bucket_of(key)).unwrap();
            assert_eq!(&got, want, "pool {p}");
            let recs = sorted_records(&got, Path::new("t")).unwrap();
            assert!(recs.windows(2).all(|w| w[0].group < w[1].group));
            // Taken: the bucket is empty now.
            assert!(spill
                .pool(p)
                .take_bucket(bucket_of(key))
                .unwrap()
                .is_empty());
        }
    }
}
