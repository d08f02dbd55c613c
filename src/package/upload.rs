//! The `workos_upload/` projection (export-and-package.md §1.8): narrow
//! copies of users, organizations and memberships in the WorkOS dashboard
//! upload format, derived row by row while a package is written and
//! de-duplicated (first wins) with bounded memory through [`crate::spill`].
//!
//! Rows are written straight to their file as they come, and only each row's
//! key goes to a [`KeyedSpill`]. At [`UploadProjection::finish`] the spill
//! names the rows whose key was seen before; when there are none (the normal
//! case: source user ids are unique) the file is already final, otherwise it
//! is rewritten once without them. Writers that encode rows in parallel use
//! [`encode_user`] and [`UploadProjection::extend_users`].

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::spill::{KeyedSpill, SpillError};

use super::csv_writer::{push_record, CsvWriteError, PackageCsvWriter};
use super::writer::{create_private_file, FileWriter};

/// Which projected file a row belongs to.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Users,
    Organizations,
    Memberships,
}

/// One upload CSV being written: its path and its writer (header written).
pub struct UploadFile {
    pub path: PathBuf,
    pub writer: PackageCsvWriter<FileWriter>,
}

struct Projected {
    file: UploadFile,
    keys: KeyedSpill,
    /// Rows written so far (the sequence number of the next row).
    rows: u64,
}

/// Writes projected rows and de-duplicates them at the end.
pub struct UploadProjection {
    files: [Projected; 3],
    line: Vec<u8>,
    key: Vec<u8>,
}

/// Errors from the projection.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Spill(#[from] SpillError),
    #[error(transparent)]
    Csv(#[from] CsvWriteError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Appends the upload row of a package user to `out`; false (nothing
/// written) when the user is not projected (no `external_id` or no email).
pub fn encode_user(
    out: &mut Vec<u8>,
    external_id: &str,
    email: &str,
    email_verified: &str,
    first_name: &str,
    last_name: &str,
    password_hash: &str,
) -> bool {
    if external_id.is_empty() || email.is_empty() {
        return false;
    }
    push_record(
        out,
        &[
            external_id,
            email,
            email_verified,
            first_name,
            last_name,
            password_hash,
        ],
    );
    true
}

/// Appends the upload row of a user whose `users.csv` row is in `users`:
/// the cells at `cells` (user_id, email, email_verified, first_name,
/// last_name, password_hash; each already quoted as needed) joined by `,`.
/// Byte for byte what [`encode_user`] writes, without quoting each field
/// again.
pub fn push_user_cells(out: &mut Vec<u8>, users: &[u8], cells: [std::ops::Range<usize>; 6]) {
    for (k, at) in cells.into_iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&users[at]);
    }
    out.push(b'\n');
}

impl UploadProjection {
    /// Takes the three upload CSVs (users, organizations, memberships).
    pub fn new(
        users: UploadFile,
        organizations: UploadFile,
        memberships: UploadFile,
    ) -> Result<Self, UploadError> {
        let projected = |file: UploadFile, label: &str| -> Result<Projected, UploadError> {
            Ok(Projected {
                file,
                // Key-only records (~40 bytes): 64 files of 6 MiB at 10M rows.
                keys: KeyedSpill::with_partitions(label, 64)?,
                rows: 0,
            })
        };
        Ok(Self {
            files: [
                projected(users, "upload-users")?,
                projected(organizations, "upload-orgs")?,
                projected(memberships, "upload-memberships")?,
            ],
            line: Vec::with_capacity(256),
            key: Vec::with_capacity(64),
        })
    }

    /// Writes the record in `self.line` with key `self.key`.
    fn push_line(&mut self, kind: Kind) -> Result<(), UploadError> {
        let p = &mut self.files[kind as usize];
        p.file.writer.write_encoded(&self.line, 1)?;
        p.keys.push(&self.key, p.rows, &[])?;
        p.rows += 1;
        Ok(())
    }

    /// Projects a package user: needs both `external_id` and `email`.
    pub fn user(
        &mut self,
        external_id: &str,
        email: &str,
        email_verified: &str,
        first_name: &str,
        last_name: &str,
        password_hash: &str,
    ) -> Result<(), UploadError> {
        self.line.clear();
        if !encode_user(
            &mut self.line,
            external_id,
            email,
            email_verified,
            first_name,
            last_name,
            password_hash,
        ) {
            return Ok(());
        }
        self.key.clear();
        self.key.extend_from_slice(external_id.as_bytes());
        self.push_line(Kind::Users)
    }

    /// Appends user rows encoded with [`encode_user`] (one per key, in order;
    /// `keys` are their `external_id`s).
    pub fn extend_users<'a>(
        &mut self,
        rows: &[u8],
        keys: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), UploadError> {
        let p = &mut self.files[Kind::Users as usize];
        let before = p.rows;
        for key in keys {
            p.keys.push(key.as_bytes(), p.rows, &[])?;
            p.rows += 1;
        }
        p.file.writer.write_encoded(rows, p.rows - before)?;
        Ok(())
    }

    /// Projects an organization: id = external id, else WorkOS id.
    pub fn organization(
        &mut self,
        org_id: &str,
        org_external_id: &str,
        org_name: &str,
    ) -> Result<(), UploadError> {
        let id = if org_external_id.is_empty() {
            org_id
        } else {
            org_external_id
        };
        if id.is_empty() {
            return Ok(());
        }
        let name = [org_name, org_external_id, org_id]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or_default();
        self.line.clear();
        push_record(&mut self.line, &[id, name]);
        self.key.clear();
        self.key.extend_from_slice(id.as_bytes());
        self.push_line(Kind::Organizations)
    }

    /// Projects a membership: needs an org id and a user id.
    pub fn membership(
        &mut self,
        org_id: &str,
        org_external_id: &str,
        external_id: &str,
        user_id: &str,
    ) -> Result<(), UploadError> {
        let org = if org_external_id.is_empty() {
            org_id
        } else {
            org_external_id
        };
        let user = if external_id.is_empty() {
            user_id
        } else {
            external_id
        };
        if org.is_empty() || user.is_empty() {
            return Ok(());
        }
        self.line.clear();
        push_record(&mut self.line, &[org, user]);
        self.key.clear();
        self.key.extend_from_slice(org.as_bytes());
        self.key.push(b':');
        self.key.extend_from_slice(user.as_bytes());
        self.push_line(Kind::Memberships)
    }

    /// Flushes the three files and asks for their write-back to start (see
    /// [`super::writer::PackageFileSink::start_writeback`]).
    pub fn start_writeback(&mut self) -> Result<(), UploadError> {
        for p in &mut self.files {
            let io_err = |source| UploadError::Io {
                path: p.file.path.clone(),
                source,
            };
            let w = p.file.writer.get_mut();
            w.flush().map_err(io_err)?;
            w.get_mut().start_writeback();
        }
        Ok(())
    }

    /// Drops repeated keys (first wins, input order kept), flushes and syncs
    /// the three files; returns their row counts (users, organizations,
    /// memberships).
    pub fn finish(self) -> Result<[u64; 3], UploadError> {
        let mut counts = [0u64; 3];
        for (p, count) in self.files.into_iter().zip(counts.iter_mut()) {
            let Projected { file, keys, rows } = p;
            let dups = keys.duplicate_seqs()?;
            let UploadFile { path, writer } = file;
            let io_err = |source| UploadError::Io {
                path: path.clone(),
                source,
            };
            let sink = writer
                .finish()?
                .into_inner()
                .map_err(|e| io_err(e.into_error()))?;
            if dups.is_empty() {
                sink.sync_all().map_err(io_err)?;
            } else {
                drop(sink);
                rewrite_without(&path, &dups)?;
            }
            *count = rows - dups.len() as u64;
        }
        Ok(counts)
    }
}

/// Rewrites the CSV at `path` (header kept) without the data records whose
/// 0-based numbers are in `drop` (ascending), through a temporary file and a
/// rename. Records are split on `\n` outside double quotes, which is exact
/// for what [`push_record`] writes.
fn rewrite_without(path: &Path, drop: &[u64]) -> Result<(), UploadError> {
    let tmp = path.with_extension("csv.dedup.tmp");
    let io_at = |p: &Path| {
        let p = p.to_path_buf();
        move |source| UploadError::Io { path: p, source }
    };
    let mut input = BufReader::with_capacity(1 << 20, File::open(path).map_err(io_at(path))?);
    let mut out =
        BufWriter::with_capacity(1 << 20, create_private_file(&tmp).map_err(io_at(&tmp))?);
    let mut record = Vec::with_capacity(256);
    let mut next_drop = drop.iter().copied().peekable();
    // Record -1 is the header.
    let mut number: i64 = -1;
    loop {
        record.clear();
        let mut in_quotes = false;
        loop {
            let n = input.read_until(b'\n', &mut record).map_err(io_at(path))?;
            if n == 0 {
                break;
            }
            let start = record.len() - n;
            for &b in &record[start..] {
                if b == b'"' {
                    in_quotes = !in_quotes;
                }
            }
            if !in_quotes {
                break;
            }
        }
        if record.is_empty() {
            break;
        }
        let skip = number >= 0 && next_drop.peek() == Some(&(number as u64));
        if skip {
            next_drop.next();
        } else {
            out.write_all(&record).map_err(io_at(&tmp))?;
        }
        number += 1;
    }
    let file = out.into_inner().map_err(|e| UploadError::Io {
        path: tmp.clone(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io_at(&tmp))?;
    fs::rename(&tmp, path).map_err(io_at(path))
}

#[cfg(test)]
mod tests {
    use crate::package::{MigrationPackageWriter, PackageOptions};

    fn read(root: &std::path::Path, f: &str) -> String {
        std::fs::read_to_string(root.join("workos_upload").join(f)).unwrap()
    }

    #[test]
    fn first_wins_in_input_order() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("pkg");
        let mut w = MigrationPackageWriter::create(&root, PackageOptions::new("csv")).unwrap();
        let p = w.upload();
        p.user("u2", "b@x.com", "true", "B", "", "").unwrap();
        p.user("u1", "a@x.com", "", "A\n\"x\"", "Lee", "$2b$")
            .unwrap();
        p.user("u2", "b2@x.com", "", "", "", "").unwrap();
        p.user("", "c@x.com", "", "", "", "").unwrap();
        let mut rows = Vec::new();
        assert!(super::encode_user(
            &mut rows, "u3", "c@x.com", "", "C,", "", ""
        ));
        assert!(!super::encode_user(&mut rows, "u4", "", "", "", "", ""));
        assert!(super::encode_user(
            &mut rows, "u1", "d@x.com", "", "", "", ""
        ));
        p.extend_users(&rows, ["u3", "u1"]).unwrap();
        p.organization("", "org_acme", "Acme, Inc").unwrap();
        p.organization("", "org_two", "").unwrap();
        p.organization("", "org_acme", "Other").unwrap();
        p.membership("", "org_acme", "u2", "").unwrap();
        p.membership("", "org_acme", "u2", "").unwrap();
        p.membership("", "org_two", "u1", "").unwrap();
        let m = w.finish().unwrap();
        assert_eq!(
            (
                m.count("uploadUsers"),
                m.count("uploadOrganizations"),
                m.count("uploadMemberships")
            ),
            (3, 2, 2)
        );
        assert_eq!(
            read(&root, "users.csv"),
            "user_id,email,email_verified,first_name,last_name,password_hash\nu2,b@x.com,true,B,,\nu1,a@x.com,,\"A\n\"\"x\"\"\",Lee,$2b$\nu3,c@x.com,,\"C,\",,\n"
        );
        assert_eq!(
            read(&root, "organizations.csv"),
            "organization_id,name\norg_acme,\"Acme, Inc\"\norg_two,org_two\n"
        );
        assert_eq!(
            read(&root, "organization_memberships.csv"),
            "organization_id,user_id\norg_acme,u2\norg_two,u1\n"
        );
        assert!(!root.join("workos_upload/users.csv.dedup.tmp").exists());
    }
}
