//! The `workos_upload/` projection (export-and-package.md §1.8): narrow
//! copies of users, organizations and memberships in the WorkOS dashboard
//! upload format, derived row by row while a package is written and
//! de-duplicated (first wins) with bounded memory through [`crate::spill`].

use std::io::Write;

use crate::spill::{KeyedSpill, OrderedSpill, SpillError};

use super::csv_writer::{CsvWriteError, PackageCsvWriter};

/// Which projected file a row belongs to.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Users,
    Organizations,
    Memberships,
}

/// Collects projected rows and writes the three upload CSVs at the end.
pub struct UploadProjection {
    spills: [KeyedSpill; 3],
    seq: u64,
}

/// Errors from the projection.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Spill(#[from] SpillError),
    #[error(transparent)]
    Csv(#[from] CsvWriteError),
}

fn encode(fields: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields {
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f.as_bytes());
    }
    out
}

fn decode(mut bytes: &[u8]) -> Vec<&str> {
    let mut fields = Vec::new();
    while bytes.len() >= 4 {
        let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let end = (4 + len).min(bytes.len());
        fields.push(std::str::from_utf8(&bytes[4..end]).unwrap_or_default());
        bytes = &bytes[end..];
    }
    fields
}

impl UploadProjection {
    pub fn new() -> Result<Self, UploadError> {
        Ok(Self {
            spills: [
                KeyedSpill::new("upload-users")?,
                KeyedSpill::new("upload-orgs")?,
                KeyedSpill::new("upload-memberships")?,
            ],
            seq: 0,
        })
    }

    fn push(&mut self, kind: Kind, key: &str, fields: &[&str]) -> Result<(), UploadError> {
        self.seq += 1;
        self.spills[kind as usize].push(key.as_bytes(), self.seq, &encode(fields))?;
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
        if external_id.is_empty() || email.is_empty() {
            return Ok(());
        }
        self.push(
            Kind::Users,
            external_id,
            &[
                external_id,
                email,
                email_verified,
                first_name,
                last_name,
                password_hash,
            ],
        )
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
        self.push(Kind::Organizations, id, &[id, name])
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
        let key = format!("{org}:{user}");
        self.push(Kind::Memberships, &key, &[org, user])
    }

    /// De-duplicates (first wins, input order kept) and writes the three
    /// files; returns their row counts (users, organizations, memberships).
    pub fn finish<W: Write>(
        self,
        users: &mut PackageCsvWriter<W>,
        organizations: &mut PackageCsvWriter<W>,
        memberships: &mut PackageCsvWriter<W>,
    ) -> Result<[u64; 3], UploadError> {
        let max_seq = self.seq + 1;
        let mut counts = [0u64; 3];
        let outs: [&mut PackageCsvWriter<W>; 3] = [users, organizations, memberships];
        for ((spill, out), count) in self.spills.into_iter().zip(outs).zip(counts.iter_mut()) {
            let mut ordered = OrderedSpill::new("upload-order", max_seq)?;
            let mut failure = None;
            spill.for_each_group(|_, entries| {
                if failure.is_none() {
                    if let Some(first) = entries.first() {
                        if let Err(e) = ordered.push(first.seq, first.payload) {
                            failure = Some(e);
                        }
                    }
                }
            })?;
            if let Some(e) = failure {
                return Err(e.into());
            }
            ordered.for_each_in_order::<_, UploadError>(|_, payload| {
                let fields = decode(payload);
                out.write_record(fields.iter().copied())?;
                *count += 1;
                Ok(())
            })?;
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::schema::{
        UPLOAD_MEMBERSHIPS_HEADER, UPLOAD_ORGANIZATIONS_HEADER, UPLOAD_USERS_HEADER,
    };

    #[test]
    fn first_wins_in_input_order() {
        let mut p = UploadProjection::new().unwrap();
        p.user("u2", "b@x.com", "true", "B", "", "").unwrap();
        p.user("u1", "a@x.com", "", "A", "Lee", "$2b$").unwrap();
        p.user("u2", "b2@x.com", "", "", "", "").unwrap();
        p.user("", "c@x.com", "", "", "", "").unwrap();
        p.organization("", "org_acme", "Acme, Inc").unwrap();
        p.organization("", "org_two", "").unwrap();
        p.organization("", "org_acme", "Other").unwrap();
        p.membership("", "org_acme", "u2", "").unwrap();
        p.membership("", "org_acme", "u2", "").unwrap();
        p.membership("", "org_two", "u1", "").unwrap();
        let mut u = PackageCsvWriter::new(Vec::new(), UPLOAD_USERS_HEADER).unwrap();
        let mut o = PackageCsvWriter::new(Vec::new(), UPLOAD_ORGANIZATIONS_HEADER).unwrap();
        let mut m = PackageCsvWriter::new(Vec::new(), UPLOAD_MEMBERSHIPS_HEADER).unwrap();
        let counts = p.finish(&mut u, &mut o, &mut m).unwrap();
        assert_eq!(counts, [2, 2, 2]);
        let s = |w: PackageCsvWriter<Vec<u8>>| String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(
            s(u),
            "user_id,email,email_verified,first_name,last_name,password_hash\nu2,b@x.com,true,B,,\nu1,a@x.com,,A,Lee,$2b$\n"
        );
        assert_eq!(
            s(o),
            "organization_id,name\norg_acme,\"Acme, Inc\"\norg_two,org_two\n"
        );
        assert_eq!(s(m), "organization_id,user_id\norg_acme,u2\norg_two,u1\n");
    }
}
