//! The bounded-memory join of password records with user rows by lower-cased
//! email, and of merged hashes with `workos_upload/users.csv` rows by user id.
//!
//! Both sides go into one [`KeyedSpill`] (hash-partitioned temporary files;
//! the partition count is a knob that never changes the result). Each
//! partition is loaded alone and grouped by key; per key the password record
//! with the highest line number wins ("last record wins"), and the verdict for
//! every row of that key is pushed into an [`OrderedSpill`] by row number, so
//! the second pass over the rows can apply them in file order. Two threads
//! join partitions side by side, each into its own ordered spill (merged
//! when read back). Memory is one partition per thread plus one ordered
//! bucket, whatever the input size.

use crate::hashes::HashType;
use crate::spill::{KeyedSpill, OrderedSpill, SpillError, SpilledEntry};

use super::algorithm::{classify_hash, HashVerdict};

const PASSWORD: u8 = b'P';
const USER: u8 = b'U';
const BLOCKED: u8 = b'B';

const ADD: u8 = b'H';
const UNSUPPORTED: u8 = b'R';
const INVALID: u8 = b'I';

/// What happens to one row, as decoded from the ordered spill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowUpdate<'a> {
    /// Set `password_hash` / `password_hash_type`.
    Add { hash_type: &'a str, hash: &'a str },
    /// The matched hash's algorithm is not imported by WorkOS (its name).
    Unsupported(&'a str),
    /// The matched hash fails its WorkOS format check (the reason; never the hash).
    Invalid(&'a str),
}

impl<'a> RowUpdate<'a> {
    fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        match self {
            RowUpdate::Add { hash_type, hash } => {
                out.push(ADD);
                out.push(hash_type.len() as u8);
                out.extend_from_slice(hash_type.as_bytes());
                out.extend_from_slice(hash.as_bytes());
            }
            RowUpdate::Unsupported(name) => {
                out.push(UNSUPPORTED);
                out.extend_from_slice(name.as_bytes());
            }
            RowUpdate::Invalid(reason) => {
                out.push(INVALID);
                out.extend_from_slice(reason.as_bytes());
            }
        }
    }

    /// Decodes what [`RowUpdate::encode`] wrote (`None` for anything else).
    pub fn decode(bytes: &'a [u8]) -> Option<Self> {
        let (&tag, rest) = bytes.split_first()?;
        let text = |b: &'a [u8]| std::str::from_utf8(b).ok();
        match tag {
            ADD => {
                let (&n, rest) = rest.split_first()?;
                let n = usize::from(n);
                if rest.len() < n {
                    return None;
                }
                Some(RowUpdate::Add {
                    hash_type: text(&rest[..n])?,
                    hash: text(&rest[n..])?,
                })
            }
            UNSUPPORTED => Some(RowUpdate::Unsupported(text(rest)?)),
            INVALID => Some(RowUpdate::Invalid(text(rest)?)),
            _ => None,
        }
    }
}

/// Counts decided by the email join (per row, like the original).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JoinCounts {
    /// Distinct emails with a usable password record.
    pub distinct_passwords: u64,
    pub added: u64,
    pub not_found: u64,
    pub rejected_algorithm: u64,
    pub invalid: u64,
    /// Blocked / metadata-only rows that had a password record.
    pub blocked_withheld: u64,
}

/// Password records waiting to be joined by email, spilled apart from the
/// rows (so the password file can be read beside the CSV) with the same
/// partitioning.
pub struct PasswordRecords {
    spill: KeyedSpill,
    payload: Vec<u8>,
}

impl PasswordRecords {
    pub fn new(partitions: usize) -> Result<Self, SpillError> {
        Ok(Self {
            spill: KeyedSpill::with_partitions("merge-passwords-records", partitions)?,
            payload: Vec::new(),
        })
    }

    /// A password record from line `line` (`key` = [`super::ndjson::email_key`]).
    pub fn push(&mut self, line: u64, key: &str, hash: &str) -> Result<(), SpillError> {
        self.payload.clear();
        self.payload.push(PASSWORD);
        self.payload.extend_from_slice(hash.as_bytes());
        self.spill.push(key.as_bytes(), line, &self.payload)
    }
}

/// User rows waiting to be joined with the password records by email.
pub struct EmailJoin {
    spill: KeyedSpill,
    payload: Vec<u8>,
    rows: u64,
    not_found_without_email: u64,
}

impl EmailJoin {
    pub fn new(partitions: usize) -> Result<Self, SpillError> {
        Ok(Self {
            spill: KeyedSpill::with_partitions("merge-passwords", partitions)?,
            payload: Vec::new(),
            rows: 0,
            not_found_without_email: 0,
        })
    }

    /// A user row; an empty `key` can never match. `external_id` is handed
    /// to the upload join with the row's hash (empty: none).
    pub fn push_row(
        &mut self,
        row: u64,
        key: &str,
        blocked: bool,
        external_id: &str,
    ) -> Result<(), SpillError> {
        self.rows = self.rows.max(row);
        if key.is_empty() {
            self.not_found_without_email += 1;
            return Ok(());
        }
        self.payload.clear();
        self.payload.push(if blocked { BLOCKED } else { USER });
        self.payload.extend_from_slice(external_id.as_bytes());
        self.spill.push(key.as_bytes(), row, &self.payload)
    }

    /// Joins partition by partition (two threads); returns the row updates
    /// in row order. Every hash added to a row with an external id is also
    /// handed to `upload` (as the rewrite of `users.csv` did before).
    pub fn resolve(
        self,
        passwords: PasswordRecords,
        upload: Option<&mut UploadJoin>,
    ) -> Result<(OrderedSpill, JoinCounts), SpillError> {
        let max_seq = self.rows + 1;
        let upload_partitions = upload.as_ref().map(|u| u.spill.partitions());
        let states = (0..RESOLVE_THREADS)
            .map(|_| ResolveState::new(max_seq, upload_partitions))
            .collect::<Result<Vec<_>, _>>()?;
        let states = KeyedSpill::par_for_each_group_of(
            vec![passwords.spill, self.spill],
            states,
            ResolveState::visit,
        )?;
        let mut counts = JoinCounts {
            not_found: self.not_found_without_email,
            ..JoinCounts::default()
        };
        let mut ordered: Option<OrderedSpill> = None;
        let mut upload = upload;
        for state in states {
            if let Some(e) = state.failure {
                return Err(e);
            }
            counts.add(&state.counts);
            ordered = Some(match ordered {
                None => state.ordered,
                Some(o) => o.merge(state.ordered)?,
            });
            if let (Some(join), Some(hashes)) = (upload.as_mut(), state.upload) {
                join.hashes.push(hashes.spill);
            }
        }
        let ordered = match ordered {
            Some(o) => o,
            None => OrderedSpill::new("merge-passwords-rows", max_seq)?,
        };
        Ok((ordered, counts))
    }
}

/// Threads joining partitions of the email join.
const RESOLVE_THREADS: usize = 2;

/// What one resolving thread has produced.
struct ResolveState {
    ordered: OrderedSpill,
    counts: JoinCounts,
    upload: Option<UploadHashes>,
    failure: Option<SpillError>,
    buf: Vec<u8>,
}

impl ResolveState {
    fn new(max_seq: u64, upload_partitions: Option<usize>) -> Result<Self, SpillError> {
        Ok(Self {
            ordered: OrderedSpill::new("merge-passwords-rows", max_seq)?,
            counts: JoinCounts::default(),
            upload: upload_partitions.map(UploadHashes::new).transpose()?,
            failure: None,
            buf: Vec::new(),
        })
    }

    /// One email: the last password record wins; every row gets its verdict.
    fn visit(&mut self, _key: &[u8], entries: &[SpilledEntry<'_>]) {
        if self.failure.is_some() {
            return;
        }
        // Entries are sorted by seq: the last password record wins.
        let hash = entries
            .iter()
            .rev()
            .find(|e| e.payload.first() == Some(&PASSWORD))
            .map(|e| &e.payload[1..]);
        let rows = entries
            .iter()
            .filter(|e| matches!(e.payload.first(), Some(&USER) | Some(&BLOCKED)));
        let Some(hash) = hash else {
            self.counts.not_found += rows.count() as u64;
            return;
        };
        self.counts.distinct_passwords += 1;
        if rows.clone().next().is_none() {
            return;
        }
        let hash = String::from_utf8_lossy(hash);
        let verdict = classify_hash(&hash);
        let reason;
        let update = match &verdict {
            HashVerdict::Accepted(t) => RowUpdate::Add {
                hash_type: HashType::as_str(*t),
                hash: &hash,
            },
            HashVerdict::Unsupported(name) => RowUpdate::Unsupported(name),
            HashVerdict::Invalid(e) => {
                reason = e.to_string();
                RowUpdate::Invalid(&reason)
            }
        };
        update.encode(&mut self.buf);
        for entry in rows {
            if entry.payload.first() == Some(&BLOCKED) {
                self.counts.blocked_withheld += 1;
                continue;
            }
            match &update {
                RowUpdate::Add { hash, .. } => {
                    self.counts.added += 1;
                    if let Some(upload) = self.upload.as_mut() {
                        let external_id = String::from_utf8_lossy(&entry.payload[1..]);
                        if let Err(e) = upload.push(entry.seq, &external_id, hash) {
                            self.failure = Some(e);
                            return;
                        }
                    }
                }
                RowUpdate::Unsupported(_) => self.counts.rejected_algorithm += 1,
                RowUpdate::Invalid(_) => self.counts.invalid += 1,
            }
            if let Err(e) = self.ordered.push(entry.seq, &self.buf) {
                self.failure = Some(e);
                return;
            }
        }
    }
}

impl JoinCounts {
    fn add(&mut self, o: &JoinCounts) {
        self.distinct_passwords += o.distinct_passwords;
        self.added += o.added;
        self.not_found += o.not_found;
        self.rejected_algorithm += o.rejected_algorithm;
        self.invalid += o.invalid;
        self.blocked_withheld += o.blocked_withheld;
    }
}

/// Spills the hash given to `users.csv` row `users_row` under the user's
/// external id (none: the row has no upload row to join).
fn push_hash_record(
    spill: &mut KeyedSpill,
    payload: &mut Vec<u8>,
    users_row: u64,
    external_id: &str,
    hash: &str,
) -> Result<(), SpillError> {
    if external_id.is_empty() {
        return Ok(());
    }
    payload.clear();
    payload.push(PASSWORD);
    payload.extend_from_slice(hash.as_bytes());
    spill.push(external_id.as_bytes(), users_row, payload)
}

/// Hashes given to `users.csv` rows, keyed by external id for the upload
/// join (spilled apart by a resolving thread, same partitioning).
struct UploadHashes {
    spill: KeyedSpill,
    payload: Vec<u8>,
}

impl UploadHashes {
    fn new(partitions: usize) -> Result<Self, SpillError> {
        Ok(Self {
            spill: KeyedSpill::with_partitions("merge-passwords-upload-hashes", partitions)?,
            payload: Vec::new(),
        })
    }

    fn push(&mut self, users_row: u64, external_id: &str, hash: &str) -> Result<(), SpillError> {
        push_hash_record(
            &mut self.spill,
            &mut self.payload,
            users_row,
            external_id,
            hash,
        )
    }
}

/// Hashes merged into `users.csv` (by `external_id`) waiting to be joined
/// with `workos_upload/users.csv` rows (by `user_id`).
pub struct UploadJoin {
    spill: KeyedSpill,
    /// Hashes spilled by the email join's threads.
    hashes: Vec<KeyedSpill>,
    payload: Vec<u8>,
    rows: u64,
}

impl UploadJoin {
    pub fn new(partitions: usize) -> Result<Self, SpillError> {
        Ok(Self {
            spill: KeyedSpill::with_partitions("merge-passwords-upload", partitions)?,
            hashes: Vec::new(),
            payload: Vec::new(),
            rows: 0,
        })
    }

    /// The hash given to `users.csv` row `users_row` of user `external_id`.
    pub fn push_hash(
        &mut self,
        users_row: u64,
        external_id: &str,
        hash: &str,
    ) -> Result<(), SpillError> {
        push_hash_record(
            &mut self.spill,
            &mut self.payload,
            users_row,
            external_id,
            hash,
        )
    }

    /// Data rows of the upload file pushed so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Upload row `row` of user `user_id`.
    pub fn push_row(&mut self, row: u64, user_id: &str) -> Result<(), SpillError> {
        self.rows = self.rows.max(row);
        if user_id.is_empty() {
            return Ok(());
        }
        self.spill.push(user_id.as_bytes(), row, &[USER])
    }

    /// Upload rows to update (payload = the hash), in row order, and their count.
    pub fn resolve(self) -> Result<(OrderedSpill, u64), SpillError> {
        let mut ordered = OrderedSpill::new("merge-passwords-upload-rows", self.rows + 1)?;
        let mut updated = 0u64;
        let mut failure: Option<SpillError> = None;
        let mut spills = vec![self.spill];
        spills.extend(self.hashes);
        KeyedSpill::for_each_group_of(spills, |_key, entries| {
            if failure.is_some() {
                return;
            }
            // The hash of the user's last users.csv row wins.
            let Some(hash) = entries
                .iter()
                .rev()
                .find(|e| e.payload.first() == Some(&PASSWORD))
                .map(|e| &e.payload[1..])
            else {
                return;
            };
            for entry in entries.iter().filter(|e| e.payload.first() == Some(&USER)) {
                updated += 1;
                if let Err(e) = ordered.push(entry.seq, hash) {
                    failure = Some(e);
                    return;
                }
            }
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok((ordered, updated)),
        }
    }
}

/// Decides whether a row's metadata JSON marks a blocked or metadata-only
/// Auth0 user (`auth0_blocked` / `auth0_metadata_only` equal to `"true"`).
pub fn is_blocked(metadata: &str) -> bool {
    if !metadata.contains("auth0_blocked") && !metadata.contains("auth0_metadata_only") {
        return false;
    }
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(metadata)
    else {
        return false;
    };
    ["auth0_blocked", "auth0_metadata_only"]
        .iter()
        .any(|k| match map.get(*k) {
            Some(serde_json::Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
            Some(serde_json::Value::Bool(b)) => *b,
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BCRYPT: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

    fn run(partitions: usize) -> (Vec<(u64, String)>, JoinCounts) {
        let mut p = PasswordRecords::new(partitions).unwrap();
        p.push(1, "a@x.com", "5f4dcc3b5aa765d61d8327deb882cf99")
            .unwrap();
        p.push(2, "b@x.com", "sha1:1:2").unwrap();
        p.push(3, "a@x.com", BCRYPT).unwrap();
        p.push(4, "c@x.com", "$2b$10$short").unwrap();
        p.push(5, "d@x.com", BCRYPT).unwrap();
        let mut j = EmailJoin::new(partitions).unwrap();
        j.push_row(1, "a@x.com", false, "u1").unwrap();
        j.push_row(2, "b@x.com", false, "").unwrap();
        j.push_row(3, "", false, "").unwrap();
        j.push_row(4, "a@x.com", false, "").unwrap();
        j.push_row(5, "c@x.com", false, "").unwrap();
        j.push_row(6, "d@x.com", true, "u6").unwrap();
        j.push_row(7, "e@x.com", true, "").unwrap();
        let mut upload = UploadJoin::new(partitions).unwrap();
        upload.push_row(1, "u1").unwrap();
        upload.push_row(2, "u6").unwrap();
        let (ordered, counts) = j.resolve(p, Some(&mut upload)).unwrap();
        let (upload_rows, updated) = upload.resolve().unwrap();
        assert_eq!(updated, 1);
        upload_rows
            .for_each_in_order::<_, SpillError>(|row, p| {
                assert_eq!((row, p), (1, BCRYPT.as_bytes()));
                Ok(())
            })
            .unwrap();
        let mut got = Vec::new();
        ordered
            .for_each_in_order::<_, SpillError>(|row, p| {
                let u = RowUpdate::decode(p).unwrap();
                got.push((row, format!("{u:?}")));
                Ok(())
            })
            .unwrap();
        (got, counts)
    }

    #[test]
    fn last_record_wins_and_rows_come_back_in_order() {
        let (got, counts) = run(256);
        let rows: Vec<u64> = got.iter().map(|g| g.0).collect();
        assert_eq!(rows, [1, 2, 4, 5]);
        assert!(got[0].1.contains("bcrypt"), "{:?}", got[0]);
        assert_eq!(got[1].1, "Unsupported(\"pbkdf2\")");
        assert!(got[3].1.starts_with("Invalid(\"malformed bcrypt hash"));
        assert!(!got[3].1.contains("short"));
        assert_eq!(
            counts,
            JoinCounts {
                distinct_passwords: 4,
                added: 2,
                not_found: 2,
                rejected_algorithm: 1,
                invalid: 1,
                blocked_withheld: 1,
            }
        );
    }

    #[test]
    fn partition_count_does_not_change_the_result() {
        assert_eq!(run(1), run(256));
        assert_eq!(run(3), run(256));
    }

    #[test]
    fn blocked_metadata() {
        assert!(is_blocked(r#"{"auth0_blocked":"true"}"#));
        assert!(is_blocked(r#"{"a":"1","auth0_metadata_only":"true"}"#));
        assert!(!is_blocked(r#"{"auth0_blocked":"false"}"#));
        assert!(!is_blocked(r#"{"note":"auth0_blocked"}"#));
        assert!(!is_blocked(""));
        assert!(!is_blocked("auth0_blocked not json"));
    }

    #[test]
    fn upload_rows_get_the_last_users_row_hash() {
        let mut j = UploadJoin::new(4).unwrap();
        j.push_hash(1, "auth0|a", "h1").unwrap();
        j.push_hash(3, "auth0|a", "h3").unwrap();
        j.push_hash(2, "", "h2").unwrap();
        j.push_row(1, "auth0|a").unwrap();
        j.push_row(2, "auth0|b").unwrap();
        j.push_row(3, "").unwrap();
        let (ordered, n) = j.resolve().unwrap();
        assert_eq!(n, 1);
        let mut got = Vec::new();
        ordered
            .for_each_in_order::<_, SpillError>(|row, p| {
                got.push((row, p.to_vec()));
                Ok(())
            })
            .unwrap();
        assert_eq!(got, [(1, b"h3".to_vec())]);
    }
}
