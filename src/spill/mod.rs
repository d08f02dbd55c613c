//! Bounded-memory grouping of keyed records through temporary files.
//!
//! Whole-file checks such as "duplicate email across 10M rows" or "one
//! `org_external_id` with two names" would need a hash map as large as the
//! input. Instead, records `(key, seq, payload)` are appended to one of many
//! partition files chosen by a hash of the key; afterwards each partition is
//! loaded alone, sorted by `(key, seq)` and handed out group by group. Memory
//! is bounded by the largest partition (input / [`PARTITIONS`]), not by the input.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Number of partition files (created lazily).
pub const PARTITIONS: usize = 256;

/// Errors from spilling or reading back partitions.
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    #[error("temporary spill file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("temporary spill directory: {0}")]
    TempDir(io::Error),
    #[error("spill record too large ({0} bytes)")]
    RecordTooLarge(usize),
    #[error("spills with different partition counts cannot be grouped together")]
    PartitionMismatch,
}

/// One spilled record as seen by a group visitor.
#[derive(Debug, Clone, Copy)]
pub struct SpilledEntry<'a> {
    pub seq: u64,
    pub payload: &'a [u8],
}

/// Partitioned on-disk record store; see the module docs.
pub struct KeyedSpill {
    dir: tempfile::TempDir,
    parts: Vec<Option<BufWriter<File>>>,
    records: u64,
}

impl KeyedSpill {
    /// Creates the store in the system temporary directory (honours `TMPDIR`).
    pub fn new(label: &str) -> Result<Self, SpillError> {
        Self::with_partitions(label, PARTITIONS)
    }

    /// [`KeyedSpill::new`] with `partitions` files (at least 1): fewer
    /// files are cheaper to read back, more bound memory tighter.
    pub fn with_partitions(label: &str, partitions: usize) -> Result<Self, SpillError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("workos-migrate-{label}-"))
            .tempdir()
            .map_err(SpillError::TempDir)?;
        Ok(Self {
            dir,
            parts: (0..partitions.max(1)).map(|_| None).collect(),
            records: 0,
        })
    }

    /// Records appended so far.
    pub fn len(&self) -> u64 {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    fn part_path(dir: &Path, index: usize) -> PathBuf {
        dir.join(format!("part-{index:03}.bin"))
    }

    /// Appends one record. `seq` orders records inside a group (row number).
    pub fn push(&mut self, key: &[u8], seq: u64, payload: &[u8]) -> Result<(), SpillError> {
        let key_len =
            u32::try_from(key.len()).map_err(|_| SpillError::RecordTooLarge(key.len()))?;
        let payload_len =
            u32::try_from(payload.len()).map_err(|_| SpillError::RecordTooLarge(payload.len()))?;
        let index = (key_hash(key) % self.parts.len() as u64) as usize;
        let dir = self.dir.path();
        // The path is only built when a file is created or a write fails.
        let io_err = |source| SpillError::Io {
            path: Self::part_path(dir, index),
            source,
        };
        let slot = &mut self.parts[index];
        if slot.is_none() {
            let file = File::create(Self::part_path(dir, index)).map_err(io_err)?;
            *slot = Some(BufWriter::with_capacity(32 * 1024, file));
        }
        if let Some(w) = slot.as_mut() {
            let mut head = [0u8; 16];
            head[..4].copy_from_slice(&key_len.to_le_bytes());
            head[4..8].copy_from_slice(&payload_len.to_le_bytes());
            head[8..].copy_from_slice(&seq.to_le_bytes());
            w.write_all(&head).map_err(io_err)?;
            w.write_all(key).map_err(io_err)?;
            if !payload.is_empty() {
                w.write_all(payload).map_err(io_err)?;
            }
        }
        self.records += 1;
        Ok(())
    }

    /// Visits every distinct key once, with its entries sorted by `seq`.
    /// Keys are visited partition by partition (not in input order).
    pub fn for_each_group<F>(self, visit: F) -> Result<(), SpillError>
    where
        F: FnMut(&[u8], &[SpilledEntry<'_>]),
    {
        Self::for_each_group_of(vec![self], visit)
    }

    /// [`KeyedSpill::for_each_group`] over the records of several spills
    /// with the same partition count (filled apart, e.g. by two threads),
    /// as if they had been pushed into one.
    pub fn for_each_group_of<F>(mut spills: Vec<KeyedSpill>, mut visit: F) -> Result<(), SpillError>
    where
        F: FnMut(&[u8], &[SpilledEntry<'_>]),
    {
        let partitions = spills.first().map_or(0, |s| s.parts.len());
        if spills.iter().any(|s| s.parts.len() != partitions) {
            return Err(SpillError::PartitionMismatch);
        }
        let mut data = Vec::new();
        let mut index = Vec::new();
        for part in 0..partitions {
            data.clear();
            let mut any = false;
            for spill in spills.iter_mut() {
                if let Some(w) = spill.parts[part].take() {
                    drain_partition(w, &Self::part_path(spill.dir.path(), part), &mut data)?;
                    any = true;
                }
            }
            if !any {
                continue;
            }
            visit_groups(&data, &mut index, &mut visit);
        }
        Ok(())
    }
}

/// (key start, key end, payload start, payload end, seq) of one record.
type IndexEntry = (usize, usize, usize, usize, u64);

/// Sorts the records of one loaded partition by `(key, seq)` and visits
/// each key's group.
fn visit_groups<F>(data: &[u8], index: &mut Vec<IndexEntry>, visit: &mut F)
where
    F: FnMut(&[u8], &[SpilledEntry<'_>]),
{
    index.clear();
    let mut at = 0usize;
    while at + 16 <= data.len() {
        let key_len = le_u32(&data[at..]) as usize;
        let payload_len = le_u32(&data[at + 4..]) as usize;
        let seq = le_u64(&data[at + 8..]);
        let key_start = at + 16;
        let payload_start = key_start + key_len;
        let end = payload_start + payload_len;
        if end > data.len() {
            break;
        }
        index.push((key_start, payload_start, payload_start, end, seq));
        at = end;
    }
    index.sort_unstable_by(|a, b| data[a.0..a.1].cmp(&data[b.0..b.1]).then(a.4.cmp(&b.4)));
    let mut group: Vec<SpilledEntry<'_>> = Vec::new();
    let mut i = 0;
    while i < index.len() {
        let key = &data[index[i].0..index[i].1];
        let mut j = i;
        group.clear();
        while j < index.len() && &data[index[j].0..index[j].1] == key {
            group.push(SpilledEntry {
                seq: index[j].4,
                payload: &data[index[j].2..index[j].3],
            });
            j += 1;
        }
        visit(key, &group);
        i = j;
    }
}

impl KeyedSpill {
    /// Partition count.
    pub fn partitions(&self) -> usize {
        self.parts.len()
    }

    /// [`KeyedSpill::for_each_group_of`] on one thread per element of
    /// `states`: each thread takes whole partitions in turn and visits their
    /// groups with its own state, so a visitor needs no locking; returns the
    /// states. Which thread sees which key is not fixed; memory is one
    /// partition per thread.
    pub fn par_for_each_group_of<S, F>(
        mut spills: Vec<KeyedSpill>,
        states: Vec<S>,
        visit: F,
    ) -> Result<Vec<S>, SpillError>
    where
        S: Send,
        F: Fn(&mut S, &[u8], &[SpilledEntry<'_>]) + Sync,
    {
        let partitions = spills.first().map_or(0, |s| s.parts.len());
        if spills.iter().any(|s| s.parts.len() != partitions) {
            return Err(SpillError::PartitionMismatch);
        }
        // Close every partition file; keep the paths of the ones written.
        let mut files: Vec<Vec<PathBuf>> = vec![Vec::new(); partitions];
        for spill in spills.iter_mut() {
            for (part, slot) in spill.parts.iter_mut().enumerate() {
                if let Some(mut w) = slot.take() {
                    let path = Self::part_path(spill.dir.path(), part);
                    w.flush().map_err(|source| SpillError::Io {
                        path: path.clone(),
                        source,
                    })?;
                    files[part].push(path);
                }
            }
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (files, next, visit) = (&files, &next, &visit);
        let results: Vec<Result<S, SpillError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = states
                .into_iter()
                .map(|mut state| {
                    scope.spawn(move || {
                        let mut data = Vec::new();
                        let mut index = Vec::new();
                        loop {
                            let part = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(paths) = files.get(part) else {
                                return Ok(state);
                            };
                            if paths.is_empty() {
                                continue;
                            }
                            data.clear();
                            for path in paths {
                                read_partition(path, &mut data)?;
                            }
                            visit_groups(&data, &mut index, &mut |key, group| {
                                visit(&mut state, key, group)
                            });
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(SpillError::TempDir(io::Error::other(
                            "a spill reader stopped unexpectedly",
                        )))
                    })
                })
                .collect()
        });
        // The spills' directories (and any file left) go with `spills`.
        results.into_iter().collect()
    }
}

impl KeyedSpill {
    /// The `seq` of every record whose key was already pushed with a smaller
    /// `seq` (all but the first of each key), ascending. Partitions are
    /// checked in parallel, each with a hash set of its keys (no sort), so
    /// memory is bounded by two partitions plus the result.
    pub fn duplicate_seqs(mut self) -> Result<Vec<u64>, SpillError> {
        use rayon::prelude::*;
        use std::collections::HashMap;
        let dir = self.dir.path().to_path_buf();
        let parts: Vec<(usize, BufWriter<File>)> = self
            .parts
            .iter_mut()
            .enumerate()
            .filter_map(|(i, p)| p.take().map(|w| (i, w)))
            .collect();
        let found: Vec<Vec<u64>> = parts
            .into_par_iter()
            .map(|(part, w)| {
                let mut data = Vec::new();
                drain_partition(w, &Self::part_path(&dir, part), &mut data)?;
                // ~44 bytes per key-only record.
                let mut first: HashMap<&[u8], u64, WordHashBuild> =
                    HashMap::with_capacity_and_hasher(data.len() / 40, WordHashBuild);
                let mut dups = Vec::new();
                let mut at = 0usize;
                while at + 16 <= data.len() {
                    let key_len = le_u32(&data[at..]) as usize;
                    let payload_len = le_u32(&data[at + 4..]) as usize;
                    let seq = le_u64(&data[at + 8..]);
                    let key_start = at + 16;
                    let end = key_start + key_len + payload_len;
                    if end > data.len() {
                        break;
                    }
                    let key = &data[key_start..key_start + key_len];
                    match first.get_mut(key) {
                        None => {
                            first.insert(key, seq);
                        }
                        Some(s) if *s <= seq => dups.push(seq),
                        Some(s) => {
                            dups.push(*s);
                            *s = seq;
                        }
                    }
                    at = end;
                }
                Ok(dups)
            })
            .collect::<Result<_, SpillError>>()?;
        let mut all: Vec<u64> = found.into_iter().flatten().collect();
        all.sort_unstable();
        Ok(all)
    }
}

/// Flushes a partition writer, appends the whole partition to `data` and
/// deletes the file.
fn drain_partition(
    mut w: BufWriter<File>,
    path: &Path,
    data: &mut Vec<u8>,
) -> Result<(), SpillError> {
    let io_err = |source| SpillError::Io {
        path: path.to_path_buf(),
        source,
    };
    w.flush().map_err(io_err)?;
    drop(w);
    BufReader::new(File::open(path).map_err(io_err)?)
        .read_to_end(data)
        .map_err(io_err)?;
    std::fs::remove_file(path).map_err(io_err)
}

/// Appends a closed partition file to `data` and deletes it.
fn read_partition(path: &Path, data: &mut Vec<u8>) -> Result<(), SpillError> {
    let io_err = |source| SpillError::Io {
        path: path.to_path_buf(),
        source,
    };
    BufReader::new(File::open(path).map_err(io_err)?)
        .read_to_end(data)
        .map_err(io_err)?;
    std::fs::remove_file(path).map_err(io_err)
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// A fast `HashMap` hasher for spilled keys (they are not attacker-chosen in
/// any way that matters: the worst case is a slow export).
#[derive(Default, Clone, Copy)]
struct WordHashBuild;

struct WordHash(u64);

impl std::hash::BuildHasher for WordHashBuild {
    type Hasher = WordHash;
    fn build_hasher(&self) -> WordHash {
        WordHash(0)
    }
}

impl std::hash::Hasher for WordHash {
    fn finish(&self) -> u64 {
        // Mix the high bits down: hashbrown uses the top 7 bits as tags.
        self.0 ^ (self.0 >> 29) ^ (self.0 << 17)
    }
    fn write(&mut self, bytes: &[u8]) {
        // A word at a time (FxHash-style mixing): keys are ids of ~30 bytes.
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(a)).wrapping_mul(K);
        }
        for &b in words.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
}

/// FNV-1a, 64 bit: stable across runs and cheap for short keys.
pub fn key_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_complete_and_sorted_by_seq() {
        let mut spill = KeyedSpill::new("test").unwrap();
        for i in 0..10_000u64 {
            let key = format!("k{}", i % 1000);
            spill
                .push(key.as_bytes(), 10_000 - i, format!("p{i}").as_bytes())
                .unwrap();
        }
        assert_eq!(spill.len(), 10_000);
        let mut groups = 0;
        let mut total = 0;
        spill
            .for_each_group(|_key, entries| {
                groups += 1;
                total += entries.len();
                assert_eq!(entries.len(), 10);
                assert!(entries.windows(2).all(|w| w[0].seq < w[1].seq));
            })
            .unwrap();
        assert_eq!((groups, total), (1000, 10_000));
    }

    #[test]
    fn duplicate_seqs_are_all_but_the_first() {
        let mut spill = KeyedSpill::new("dups").unwrap();
        for (seq, key) in ["a", "b", "a", "c", "b", "a"].iter().enumerate() {
            spill.push(key.as_bytes(), seq as u64, b"").unwrap();
        }
        // Out of order: seq 1 of "z" comes after seq 9.
        spill.push(b"z", 9, b"").unwrap();
        spill.push(b"z", 7, b"x").unwrap();
        assert_eq!(spill.duplicate_seqs().unwrap(), [2, 4, 5, 9]);
        assert!(KeyedSpill::new("none")
            .unwrap()
            .duplicate_seqs()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn parallel_grouping_of_two_spills_sees_every_group_once() {
        let mut a = KeyedSpill::with_partitions("par-a", 7).unwrap();
        let mut b = KeyedSpill::with_partitions("par-b", 7).unwrap();
        for i in 0..5_000u64 {
            let key = format!("k{}", i % 500);
            let spill = if i % 3 == 0 { &mut a } else { &mut b };
            spill.push(key.as_bytes(), 5_000 - i, b"p").unwrap();
        }
        let states = KeyedSpill::par_for_each_group_of(vec![a, b], vec![(0, 0); 2], |s, _k, e| {
            assert!(e.windows(2).all(|w| w[0].seq < w[1].seq));
            s.0 += 1;
            s.1 += e.len();
        })
        .unwrap();
        let total = states.iter().fold((0, 0), |t, s| (t.0 + s.0, t.1 + s.1));
        assert_eq!(total, (500, 5_000));
        let odd = KeyedSpill::with_partitions("par-c", 3).unwrap();
        let other = KeyedSpill::with_partitions("par-d", 4).unwrap();
        assert!(matches!(
            KeyedSpill::par_for_each_group_of(vec![odd, other], vec![()], |_, _, _| {}),
            Err(SpillError::PartitionMismatch)
        ));
    }

    #[test]
    fn empty_spill_visits_nothing() {
        let spill = KeyedSpill::new("empty").unwrap();
        let mut n = 0;
        spill.for_each_group(|_, _| n += 1).unwrap();
        assert_eq!(n, 0);
    }
}

/// Re-orders records by sequence number with bounded memory: records are
/// bucketed by `seq` range into files, then each bucket is sorted alone.
pub struct OrderedSpill {
    dir: tempfile::TempDir,
    parts: Vec<Option<BufWriter<File>>>,
    span: u64,
    /// Spills merged into this one ([`OrderedSpill::merge`]).
    others: Vec<OrderedSpill>,
}

impl OrderedSpill {
    /// `max_seq` is an upper bound (exclusive) for the sequence numbers pushed.
    pub fn new(label: &str, max_seq: u64) -> Result<Self, SpillError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("workos-migrate-{label}-"))
            .tempdir()
            .map_err(SpillError::TempDir)?;
        Ok(Self {
            dir,
            parts: (0..PARTITIONS).map(|_| None).collect(),
            span: max_seq.div_ceil(PARTITIONS as u64).max(1),
            others: Vec::new(),
        })
    }

    /// One spill holding the records of both (made with the same
    /// `max_seq`), without copying them.
    pub fn merge(mut self, other: OrderedSpill) -> Result<Self, SpillError> {
        if other.span != self.span {
            return Err(SpillError::PartitionMismatch);
        }
        self.others.push(other);
        Ok(self)
    }

    pub fn push(&mut self, seq: u64, payload: &[u8]) -> Result<(), SpillError> {
        let payload_len =
            u32::try_from(payload.len()).map_err(|_| SpillError::RecordTooLarge(payload.len()))?;
        let index = ((seq / self.span) as usize).min(PARTITIONS - 1);
        let dir = self.dir.path();
        let io_err = |source| SpillError::Io {
            path: KeyedSpill::part_path(dir, index),
            source,
        };
        let slot = &mut self.parts[index];
        if slot.is_none() {
            *slot = Some(BufWriter::with_capacity(
                32 * 1024,
                File::create(KeyedSpill::part_path(dir, index)).map_err(io_err)?,
            ));
        }
        if let Some(w) = slot.as_mut() {
            w.write_all(&payload_len.to_le_bytes()).map_err(io_err)?;
            w.write_all(&seq.to_le_bytes()).map_err(io_err)?;
            w.write_all(payload).map_err(io_err)?;
        }
        Ok(())
    }

    /// Appends partition `part` (and those of merged spills) to `data`.
    fn drain_into(&mut self, part: usize, data: &mut Vec<u8>) -> Result<(), SpillError> {
        if let Some(w) = self.parts[part].take() {
            drain_partition(w, &KeyedSpill::part_path(self.dir.path(), part), data)?;
        }
        for other in self.others.iter_mut() {
            other.drain_into(part, data)?;
        }
        Ok(())
    }

    /// Visits every record in ascending `seq` order.
    pub fn for_each_in_order<F, E>(mut self, mut visit: F) -> Result<(), E>
    where
        F: FnMut(u64, &[u8]) -> Result<(), E>,
        E: From<SpillError>,
    {
        let mut data = Vec::new();
        let mut index: Vec<(u64, usize, usize)> = Vec::new();
        for part in 0..PARTITIONS {
            data.clear();
            self.drain_into(part, &mut data)?;
            if data.is_empty() {
                continue;
            }
            index.clear();
            let mut at = 0usize;
            while at + 12 <= data.len() {
                let len = le_u32(&data[at..]) as usize;
                let seq = le_u64(&data[at + 4..]);
                let end = at + 12 + len;
                if end > data.len() {
                    break;
                }
                index.push((seq, at + 12, end));
                at = end;
            }
            index.sort_unstable_by_key(|e| e.0);
            for &(seq, start, end) in &index {
                visit(seq, &data[start..end])?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod ordered_tests {
    use super::*;

    #[test]
    fn restores_sequence_order() {
        let mut s = OrderedSpill::new("ord", 5000).unwrap();
        for i in (0..5000u64).rev().step_by(3) {
            s.push(i, &i.to_le_bytes()).unwrap();
        }
        let mut seen = Vec::new();
        s.for_each_in_order::<_, SpillError>(|seq, p| {
            assert_eq!(p, seq.to_le_bytes());
            seen.push(seq);
            Ok(())
        })
        .unwrap();
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(seen.len(), 1667);
    }

    #[test]
    fn merged_spills_come_back_in_one_order() {
        let mut a = OrderedSpill::new("ord-a", 1000).unwrap();
        let mut b = OrderedSpill::new("ord-b", 1000).unwrap();
        for i in (0..1000u64).rev() {
            let s = if i % 2 == 0 { &mut a } else { &mut b };
            s.push(i, &i.to_le_bytes()).unwrap();
        }
        let mut seen = Vec::new();
        a.merge(b)
            .unwrap()
            .for_each_in_order::<_, SpillError>(|seq, p| {
                assert_eq!(p, seq.to_le_bytes());
                seen.push(seq);
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, (0..1000).collect::<Vec<u64>>());
        let other = OrderedSpill::new("ord-c", 10).unwrap();
        assert!(OrderedSpill::new("ord-d", 1000)
            .unwrap()
            .merge(other)
            .is_err());
    }
}
