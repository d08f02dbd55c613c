//! Per-pool user records on disk, handed back bucket by bucket (each sorted
//! by external id) with bounded memory.
//!
//! Pages arrive from many concurrent listings (partitions of a pool, its
//! groups, other pools) in an order that depends on timing. Every record is
//! appended to one of [`BUCKETS`] bucket files of its pool, chosen by a
//! stable hash of its key (the external id), so buckets stay small whatever
//! the ids look like; buckets are written in bucket order, each sorted.
//! Each bucket is later loaded alone and sorted by (key, kind, group, bytes),
//! which puts a user next to its group memberships and makes the package
//! independent of listing order and of how a pool was partitioned. Memory is
//! bounded by a few buckets (a pool / 4096 each: 2,500 users at 10M) plus
//! the per-bucket write buffers (64 MiB for all pools together, at least
//! 1 KiB per bucket); files are opened only to append a full buffer.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

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

/// One record read back from a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpilledRecord {
    pub key: String,
    pub kind: RecordKind,
    /// Index of the group in the pool's group list (0 for users).
    pub group: u32,
    /// The user, when the record carries one (group records carry one only
    /// when users are not listed).
    pub user: Option<CognitoUser>,
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
    fn str(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.bytes(n)?.to_vec()).ok()
    }
    fn record(&mut self) -> Option<SpilledRecord> {
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

    fn user(&mut self) -> Option<CognitoUser> {
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

/// The buckets of one pool; see the module docs.
pub struct PoolSpill {
    dir: PathBuf,
    buffers: Vec<Vec<u8>>,
    flush_at: usize,
    records: u64,
}

impl PoolSpill {
    fn path(&self, bucket: usize) -> PathBuf {
        self.dir.join(format!("bucket-{bucket:03}.bin"))
    }

    fn append(&mut self, bucket: usize) -> Result<(), UserSpillError> {
        let path = self.path(bucket);
        let io = |source| UserSpillError::Io {
            path: path.clone(),
            source,
        };
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        f.write_all(&self.buffers[bucket]).map_err(io)?;
        self.buffers[bucket].clear();
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

    /// The raw bytes of a bucket (file and buffer); the file is removed.
    pub fn take_bucket(&mut self, bucket: usize) -> Result<Vec<u8>, UserSpillError> {
        let path = self.path(bucket);
        let mut data = Vec::new();
        match File::open(&path) {
            Ok(mut f) => {
                f.read_to_end(&mut data)
                    .map_err(|source| UserSpillError::Io {
                        path: path.clone(),
                        source,
                    })?;
                std::fs::remove_file(&path).map_err(|source| UserSpillError::Io {
                    path: path.clone(),
                    source,
                })?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(UserSpillError::Io { path, source }),
        }
        data.append(&mut self.buffers[bucket]);
        self.buffers[bucket] = Vec::new();
        Ok(data)
    }
}

/// Parses a bucket's bytes and sorts them (see the module docs).
pub fn sorted_records(data: &[u8], label: &Path) -> Result<Vec<SpilledRecord>, UserSpillError> {
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
            .cmp(&b.key)
            .then(a.kind.cmp(&b.kind))
            .then(a.group.cmp(&b.group))
            .then_with(|| format!("{:?}", a.user).cmp(&format!("{:?}", b.user)))
    });
    Ok(out)
}

/// The spills of every pool of a run, in one temporary directory.
pub struct UserSpill {
    _dir: tempfile::TempDir,
    pools: Vec<std::sync::Mutex<PoolSpill>>,
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
        let mut list = Vec::with_capacity(pools);
        for p in 0..pools {
            let sub = dir.path().join(format!("pool-{p:04}"));
            std::fs::create_dir(&sub).map_err(|source| UserSpillError::Io {
                path: sub.clone(),
                source,
            })?;
            list.push(std::sync::Mutex::new(PoolSpill {
                dir: sub,
                buffers: (0..BUCKETS).map(|_| Vec::new()).collect(),
                flush_at,
                records: 0,
            }));
        }
        Ok(Self {
            _dir: dir,
            pools: list,
        })
    }

    /// The spill of pool number `pool`.
    pub fn pool(&self, pool: usize) -> std::sync::MutexGuard<'_, PoolSpill> {
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
        let keys: Vec<(&str, RecordKind, u32)> = recs
            .iter()
            .map(|r| (r.key.as_str(), r.kind, r.group))
            .collect();
        assert_eq!(
            keys,
            [
                ("abc1", RecordKind::User, 0),
                ("abc2", RecordKind::User, 0),
                ("abc2", RecordKind::Group, 1),
                ("abc2", RecordKind::Group, 3)
            ]
        );
        assert_eq!(recs[1].user.as_ref(), Some(&user("a")));
        assert!(spill
            .pool(1)
            .take_bucket(bucket_of("ab"))
            .unwrap()
            .is_empty());
        assert!(sorted_records(&data[..data.len() - 1], Path::new("t")).is_err());
    }
}
