//! Reading one package for `diff`: its manifest (provider), the headers of
//! the files compared, and the partition of `users.csv`,
//! `organization_memberships.csv` and `user_role_assignments.csv` into the
//! user-key buckets ([`super::buckets`]) as fingerprints
//! ([`super::fingerprint`]) with each row's byte offset, so the rows of the
//! users that differ can be read again ([`super::rows`]).
//!
//! The user key is `x:<external_id>` when the row has one, else
//! `e:<lower-cased email>` (a row with neither is an error: it cannot be
//! matched). Membership and role-assignment rows use the same key from their
//! own `external_id` / `email` columns (an assignment with neither falls back
//! to its `user_id`, the source id, as an external id).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::buckets::{BucketWriter, RowKind, RowPrint};
use super::compare::USER_COLUMNS;
use super::fingerprint::{key_print, RowHasher};
use super::DiffError;
use crate::package::schema::{self, PackageFile};

/// Which side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Old,
    New,
}

impl Side {
    pub fn label(self) -> &'static str {
        match self {
            Self::Old => "OLD",
            Self::New => "NEW",
        }
    }
}

/// A package opened for comparison.
#[derive(Debug, Clone)]
pub struct PackageInput {
    pub side: Side,
    pub dir: PathBuf,
    pub provider: String,
}

impl PackageInput {
    pub fn file(&self, f: &PackageFile) -> PathBuf {
        self.dir.join(f.path)
    }
}

/// Reads `manifest.json` (its `provider` is required).
pub fn open_package(dir: &Path, side: Side) -> Result<PackageInput, DiffError> {
    if !dir.is_dir() {
        return Err(DiffError::NotADirectory {
            side: side.label(),
            dir: dir.to_path_buf(),
        });
    }
    let path = dir.join(schema::MANIFEST.path);
    let text = std::fs::read_to_string(&path).map_err(|source| DiffError::Io {
        path: path.clone(),
        source,
    })?;
    let manifest: Value = serde_json::from_str(&text).map_err(|e| DiffError::Manifest {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let provider = manifest
        .get("provider")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| DiffError::Manifest {
            path: path.clone(),
            message: "manifest.provider must be a non-empty string".to_string(),
        })?;
    Ok(PackageInput {
        side,
        dir: dir.to_path_buf(),
        provider: provider.to_string(),
    })
}

/// Counts of one package's partition pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartitionStats {
    pub user_rows: u64,
    /// `users.csv` rows keyed by email (no `external_id`).
    pub rows_keyed_by_email: u64,
    pub membership_rows: u64,
    pub assignment_rows: u64,
}

/// Positions of a file's canonical columns in its header.
fn column_map(
    path: &Path,
    header: &csv::StringRecord,
    wanted: &[&str],
) -> Result<Vec<usize>, DiffError> {
    wanted
        .iter()
        .map(|name| {
            header
                .iter()
                .position(|h| h.trim_start_matches('\u{feff}').trim() == *name)
                .ok_or_else(|| DiffError::Header {
                    path: path.to_path_buf(),
                    column: (*name).to_string(),
                })
        })
        .collect()
}

/// The user key of a row: `x:<external_id>` else `e:<lower-cased email>`.
pub fn user_key(external_id: &str, email: &str) -> Option<String> {
    let mut key = String::new();
    user_key_into(&mut key, external_id, email).then_some(key)
}

/// [`user_key`] into a reused buffer; false when the row has neither.
pub fn user_key_into(key: &mut String, external_id: &str, email: &str) -> bool {
    key.clear();
    let x = external_id.trim();
    if !x.is_empty() {
        key.push_str("x:");
        key.push_str(x);
        return true;
    }
    let e = email.trim();
    if e.is_empty() {
        return false;
    }
    key.push_str("e:");
    if e.is_ascii() {
        key.extend(e.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        key.push_str(&e.to_lowercase());
    }
    true
}

/// Rows between two progress updates.
pub const TICK_ROWS: u64 = 1 << 16;

/// Most canonical columns a compared file has (users.csv: 13).
const MAX_COLUMNS: usize = 16;

/// Counts bytes read, for the progress bar, and tells whether the first
/// line ends with CRLF.
struct Counting<'a, R> {
    inner: R,
    read: &'a AtomicU64,
    /// Whether the first line break is `\r\n` (unknown until seen).
    crlf: Option<bool>,
    last: u8,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        if let (None, Some(got)) = (self.crlf, buf.get(..n)) {
            match memchr::memchr(b'\n', got) {
                Some(i) => {
                    let before = if i == 0 { self.last } else { got[i - 1] };
                    self.crlf = Some(before == b'\r');
                }
                None => self.last = got.last().copied().unwrap_or(self.last),
            }
        }
        Ok(n)
    }
}

/// Where a row is in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowPos {
    pub line: u64,
    /// Byte offset of the row's first byte.
    pub offset: u64,
}

/// A compared file of one package and where its canonical columns are.
#[derive(Debug, Clone)]
pub struct FileColumns {
    pub path: PathBuf,
    /// File column of each canonical column, in canonical order.
    pub columns: Vec<usize>,
}

/// The compared files of one package (`None`: absent or empty).
#[derive(Debug, Clone, Default)]
pub struct SideFiles {
    pub users: Option<FileColumns>,
    pub memberships: Option<FileColumns>,
    pub assignments: Option<FileColumns>,
}

impl SideFiles {
    pub fn get(&self, kind: RowKind) -> Option<&FileColumns> {
        match kind {
            RowKind::User => self.users.as_ref(),
            RowKind::Membership => self.memberships.as_ref(),
            RowKind::Assignment => self.assignments.as_ref(),
        }
    }
}

/// Streams one CSV file's rows (canonical columns, in canonical order) to
/// `visit(position, fields)`. A missing or empty file has no rows (`None`).
fn stream_csv(
    path: &Path,
    file: &PackageFile,
    progress: &AtomicU64,
    mut visit: impl FnMut(RowPos, &[&str]) -> Result<(), DiffError>,
) -> Result<Option<FileColumns>, DiffError> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(DiffError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(1 << 20)
        .from_reader(Counting {
            inner: f,
            read: progress,
            crlf: None,
            last: 0,
        });
    let csv_error = |e: csv::Error| DiffError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(csv_error(e)),
    };
    if header.is_empty() || (header.len() == 1 && header.get(0) == Some("")) {
        return Ok(None);
    }
    let cols = column_map(path, &header, file.header)?;
    // The parser ends a record at the `\r` of `\r\n`, so the `\n` counts
    // towards the next record's line: in a CRLF file its positions are one
    // line short.
    let crlf_lines = u64::from(reader.get_ref().crlf == Some(true));
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(e)),
        }
        let pos = record
            .position()
            .map_or(RowPos { line: 0, offset: 0 }, |p| RowPos {
                line: p.line() + crlf_lines,
                offset: p.byte(),
            });
        // On the stack: no allocation per row (every file compared has at
        // most MAX_COLUMNS canonical columns).
        let mut fields: [&str; MAX_COLUMNS] = [""; MAX_COLUMNS];
        for (slot, &c) in fields.iter_mut().zip(cols.iter()) {
            *slot = record.get(c).unwrap_or("");
        }
        visit(pos, &fields[..cols.len().min(MAX_COLUMNS)])?;
    }
    Ok(Some(FileColumns {
        path: path.to_path_buf(),
        columns: cols,
    }))
}

/// The user key of a row of `kind` (canonical fields) into `key`; false
/// when the row has none.
pub fn row_key(key: &mut String, kind: RowKind, f: &[&str]) -> bool {
    let at = |i: usize| f.get(i).copied().unwrap_or("");
    match kind {
        // users.csv: email 0, external_id 7.
        RowKind::User => user_key_into(key, at(7), at(0)),
        // organization_memberships.csv: email 0, external_id 1.
        RowKind::Membership => user_key_into(key, at(1), at(0)),
        // user_role_assignments.csv: email 0, user_id 1, external_id 2.
        RowKind::Assignment => user_key_into(key, at(2), at(0)) || user_key_into(key, at(1), ""),
    }
}

/// Partitions one package's user, membership and role-assignment rows into
/// `out` as prints. `progress` counts the bytes read.
pub fn partition(
    pkg: &PackageInput,
    out: &mut BucketWriter,
    progress: &AtomicU64,
    tick: &(dyn Fn() + Sync),
) -> Result<(PartitionStats, SideFiles), DiffError> {
    let mut stats = PartitionStats::default();
    let mut files = SideFiles::default();
    let users = pkg.file(&schema::USERS);
    if !users.is_file() {
        return Err(DiffError::MissingUsers {
            side: pkg.side.label(),
            path: users,
        });
    }
    let mut key = String::with_capacity(64);
    let mut hasher = RowHasher::default();
    for (kind, file) in [
        (RowKind::User, &schema::USERS),
        (RowKind::Membership, &schema::MEMBERSHIPS),
        (RowKind::Assignment, &schema::USER_ROLE_ASSIGNMENTS),
    ] {
        let path = pkg.file(file);
        let columns = stream_csv(&path, file, progress, |pos, f| {
            if !row_key(&mut key, kind, f) {
                let message = match kind {
                    RowKind::User => "neither external_id nor email: the user cannot be matched",
                    RowKind::Membership => "neither external_id nor email",
                    RowKind::Assignment => "neither external_id, email nor user_id",
                };
                return Err(DiffError::Row {
                    path: path.clone(),
                    line: pos.line,
                    message: message.to_string(),
                });
            }
            match kind {
                RowKind::User => {
                    if f.get(7).is_none_or(|x| x.trim().is_empty()) {
                        stats.rows_keyed_by_email += 1;
                    }
                    stats.user_rows += 1;
                    if stats.user_rows % TICK_ROWS == 0 {
                        tick();
                    }
                }
                RowKind::Membership => stats.membership_rows += 1,
                RowKind::Assignment => stats.assignment_rows += 1,
            }
            let user_columns = match kind {
                RowKind::User => hasher.user_columns_print(f, USER_COLUMNS),
                _ => 0,
            };
            out.push(&RowPrint {
                kind,
                key: key_print(&key),
                row: hasher.row_print(kind, f),
                user_columns,
                offset: pos.offset,
                line: pos.line,
            })
            .map_err(|source| DiffError::Spill(source.to_string()))
        })?;
        match kind {
            RowKind::User => files.users = columns,
            RowKind::Membership => files.memberships = columns,
            RowKind::Assignment => files.assignments = columns,
        }
    }
    Ok((stats, files))
}

/// Every row of a small file (organizations, role definitions), canonical
/// columns in order, with its line. A missing file has none.
pub fn read_small(path: &Path, file: &PackageFile) -> Result<Vec<(u64, Vec<String>)>, DiffError> {
    let counter = AtomicU64::new(0);
    let mut rows = Vec::new();
    stream_csv(path, file, &counter, |pos, f| {
        rows.push((pos.line, f.iter().map(|s| s.to_string()).collect()));
        Ok(())
    })?;
    Ok(rows)
}

/// Streams a file's rows (for `totp_secrets.csv`).
pub fn for_each_row(
    path: &Path,
    file: &PackageFile,
    mut visit: impl FnMut(u64, &[&str]) -> Result<(), DiffError>,
) -> Result<(), DiffError> {
    let counter = AtomicU64::new(0);
    stream_csv(path, file, &counter, |pos, f| visit(pos.line, f)).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_prefer_the_external_id() {
        assert_eq!(user_key(" ext1 ", "A@X.com").as_deref(), Some("x:ext1"));
        assert_eq!(user_key("", " A@X.com").as_deref(), Some("e:a@x.com"));
        assert_eq!(user_key(" ", ""), None);
    }
}
