//! Comparing one bucket pair of `diff`: the users, memberships and role
//! assignments of both packages whose user key falls in the bucket. The
//! fingerprints sort out the unchanged users ([`super::triage`]); the rows
//! of the others are read again ([`super::rows`]) and compared field by
//! field here. Writes the bucket's share of the delta files and of the
//! report files (sorted by key, so the output does not depend on thread
//! count) and returns its counts.
//!
//! - user: the first `users.csv` row of a key holds the user's fields; every
//!   other row of the key must agree on them (else "duplicate key");
//! - membership: (user key, organization key) from `users.csv` org columns
//!   and `organization_memberships.csv`; roles are the union of the rows';
//! - role assignment: (user key, organization key, role slug).
//!
//! Organization key: `x:<org_external_id>`, else `i:<org_id>`, else
//! `n:<org_name>`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::buckets::{parse, RowKind};
use super::input::SideFiles;
use super::report::DiffCounts;
use super::rows::read_rows;
use super::DiffError;
use crate::import::row::{flatten_metadata, parse_role_slugs};
use crate::package::csv_writer::push_record;

/// The delta and report files a bucket writes (`<dir>/<bucket>.<name>`).
pub const PART_NAMES: [&str; 8] = [
    "users",
    "memberships",
    "assignments",
    "changed_users",
    "gone_users",
    "removed_memberships",
    "removed_membership_roles",
    "removed_role_assignments",
];

/// Path of one part file.
pub fn part_path(dir: &Path, bucket: usize, name: &str) -> PathBuf {
    dir.join(format!("{bucket:04}.{name}"))
}

/// What a bucket returns.
#[derive(Debug, Default)]
pub struct BucketResult {
    pub counts: DiffCounts,
    /// Lower-cased emails of the bucket's new users (their TOTP rows go into
    /// the delta).
    pub new_user_emails: Vec<String>,
}

// users.csv columns.
const EMAIL: usize = 0;
const PASSWORD: usize = 1;
const HASH: usize = 2;
const HASH_TYPE: usize = 3;
const FIRST: usize = 4;
const LAST: usize = 5;
const VERIFIED: usize = 6;
const EXTERNAL_ID: usize = 7;
const METADATA: usize = 8;
/// Columns describing the user (not the membership of the row).
pub const USER_COLUMNS: usize = 9;

/// One row to compare: its kind, line, user key and canonical fields.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub kind: RowKind,
    pub line: u64,
    pub key: &'a str,
    pub fields: Vec<&'a str>,
}

/// A membership as the package describes it.
#[derive(Debug, Clone)]
struct Membership<'a> {
    email: &'a str,
    external_id: &'a str,
    org_id: &'a str,
    org_external_id: &'a str,
    org_name: &'a str,
    roles: BTreeSet<String>,
}

/// One package's share of a bucket.
#[derive(Default)]
struct SideIndex<'a> {
    users: HashMap<&'a str, Vec<&'a Record<'a>>>,
    memberships: BTreeMap<(&'a str, OrgKey<'a>), Membership<'a>>,
    assignments: BTreeMap<(&'a str, OrgKey<'a>, &'a str), &'a Record<'a>>,
}

/// An organization key: (0 external id | 1 org id | 2 name, value).
type OrgKey<'a> = (u8, &'a str);

fn org_key<'a>(org_id: &'a str, org_external_id: &'a str, org_name: &'a str) -> Option<OrgKey<'a>> {
    let (x, i, n) = (org_external_id.trim(), org_id.trim(), org_name.trim());
    if !x.is_empty() {
        Some((0, x))
    } else if !i.is_empty() {
        Some((1, i))
    } else if !n.is_empty() {
        Some((2, n))
    } else {
        None
    }
}

fn field<'a>(r: &Record<'a>, i: usize) -> &'a str {
    r.fields.get(i).copied().unwrap_or("")
}

fn index<'a>(records: &'a [Record<'a>], users_path: &Path) -> Result<SideIndex<'a>, DiffError> {
    let mut side = SideIndex::default();
    for r in records {
        match r.kind {
            RowKind::User => {
                let rows = side.users.entry(r.key).or_default();
                if let Some(first) = rows.first() {
                    if (0..USER_COLUMNS).any(|i| field(first, i).trim() != field(r, i).trim()) {
                        return Err(DiffError::DuplicateKey {
                            path: users_path.to_path_buf(),
                            line: r.line.max(first.line),
                            first_line: r.line.min(first.line),
                            key: r.key.to_string(),
                        });
                    }
                }
                rows.push(r);
                let (id, ext, name) = (field(r, 9), field(r, 10), field(r, 11));
                if let Some(org) = org_key(id, ext, name) {
                    add_membership(
                        &mut side,
                        r,
                        org,
                        field(r, EMAIL),
                        field(r, EXTERNAL_ID),
                        (id, ext, name),
                        field(r, 12),
                    );
                }
            }
            RowKind::Membership => {
                let (id, ext, name) = (field(r, 3), field(r, 4), field(r, 5));
                if let Some(org) = org_key(id, ext, name) {
                    add_membership(
                        &mut side,
                        r,
                        org,
                        field(r, 0),
                        field(r, 1),
                        (id, ext, name),
                        field(r, 6),
                    );
                }
            }
            RowKind::Assignment => {
                let role = field(r, 3).trim();
                if let (Some(org), false) = (org_key(field(r, 4), field(r, 5), ""), role.is_empty())
                {
                    side.assignments.entry((r.key, org, role)).or_insert(r);
                }
            }
        }
    }
    Ok(side)
}

#[allow(clippy::too_many_arguments)]
fn add_membership<'a>(
    side: &mut SideIndex<'a>,
    r: &'a Record<'a>,
    org: OrgKey<'a>,
    email: &'a str,
    external_id: &'a str,
    (org_id, org_external_id, org_name): (&'a str, &'a str, &'a str),
    role_slugs: &str,
) {
    let m = side
        .memberships
        .entry((r.key, org))
        .or_insert_with(|| Membership {
            email,
            external_id,
            org_id,
            org_external_id,
            org_name,
            roles: BTreeSet::new(),
        });
    m.roles.extend(parse_role_slugs(role_slugs));
}

fn norm_bool(v: &str) -> &'static str {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "t" => "true",
        "false" | "0" | "no" | "n" | "f" => "false",
        "" => "",
        _ => "?",
    }
}

fn same_metadata(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a == b {
        return true;
    }
    match (flatten_metadata(a), flatten_metadata(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// The user fields that differ between two first rows.
pub fn changed_fields(old: &[&str], new: &[&str]) -> Vec<&'static str> {
    let f = |v: &[&str], i: usize| v.get(i).copied().unwrap_or("").trim().to_string();
    let mut out = Vec::new();
    if f(old, EMAIL) != f(new, EMAIL) {
        out.push("email");
    }
    if f(old, FIRST) != f(new, FIRST) {
        out.push("first_name");
    }
    if f(old, LAST) != f(new, LAST) {
        out.push("last_name");
    }
    if norm_bool(&f(old, VERIFIED)) != norm_bool(&f(new, VERIFIED)) {
        out.push("email_verified");
    }
    if [PASSWORD, HASH, HASH_TYPE]
        .iter()
        .any(|&i| f(old, i) != f(new, i))
    {
        out.push("password_hash");
    }
    if f(old, EXTERNAL_ID) != f(new, EXTERNAL_ID) {
        out.push("external_id");
    }
    if !same_metadata(&f(old, METADATA), &f(new, METADATA)) {
        out.push("metadata");
    }
    out
}

/// Buffered part files of one bucket, created on first write.
struct Parts<'d> {
    dir: &'d Path,
    bucket: usize,
    files: Vec<Option<BufWriter<File>>>,
    line: Vec<u8>,
}

impl<'d> Parts<'d> {
    fn new(dir: &'d Path, bucket: usize) -> Self {
        Self {
            dir,
            bucket,
            files: PART_NAMES.iter().map(|_| None).collect(),
            line: Vec::with_capacity(512),
        }
    }

    fn write(&mut self, part: usize, fields: &[&str]) -> Result<(), DiffError> {
        self.line.clear();
        push_record(&mut self.line, fields);
        let (Some(slot), Some(name)) = (self.files.get_mut(part), PART_NAMES.get(part)) else {
            return Err(DiffError::Spill("unknown part".to_string()));
        };
        let path = || part_path(self.dir, self.bucket, name);
        if slot.is_none() {
            let f = crate::package::writer::create_private_file(&path())
                .map_err(|e| DiffError::Spill(format!("{}: {e}", path().display())))?;
            *slot = Some(BufWriter::with_capacity(64 << 10, f));
        }
        match slot {
            Some(f) => f
                .write_all(&self.line)
                .map_err(|e| DiffError::Spill(format!("{}: {e}", path().display()))),
            None => Ok(()),
        }
    }

    fn finish(self) -> Result<(), DiffError> {
        for mut f in self.files.into_iter().flatten() {
            f.flush().map_err(|e| DiffError::Spill(e.to_string()))?;
        }
        Ok(())
    }
}

const P_USERS: usize = 0;
const P_MEMBERSHIPS: usize = 1;
const P_ASSIGNMENTS: usize = 2;
const P_CHANGED: usize = 3;
const P_GONE: usize = 4;
const P_REMOVED_MEMBERSHIPS: usize = 5;
const P_REMOVED_ROLES: usize = 6;
const P_REMOVED_ASSIGNMENTS: usize = 7;

fn read_bucket(path: &Path) -> Result<Vec<u8>, DiffError> {
    std::fs::read(path).map_err(|e| DiffError::Spill(format!("{}: {e}", path.display())))
}

/// The bucket files of one bucket pair and the package files behind them.
pub struct BucketInputs<'a> {
    pub old_bucket: &'a Path,
    pub new_bucket: &'a Path,
    pub old_files: &'a SideFiles,
    pub new_files: &'a SideFiles,
    pub users_paths: (&'a Path, &'a Path),
}

/// Compares bucket `bucket` of both packages; writes its part files into
/// `parts_dir`.
pub fn compare_bucket(
    bucket: usize,
    inputs: &BucketInputs<'_>,
    parts_dir: &Path,
) -> Result<BucketResult, DiffError> {
    let old_prints = parse(&read_bucket(inputs.old_bucket)?).map_err(DiffError::Spill)?;
    let new_prints = parse(&read_bucket(inputs.new_bucket)?).map_err(DiffError::Spill)?;
    let mut triage = super::triage::triage(old_prints, new_prints);
    let old_rows = read_rows(inputs.old_files, &mut triage.old)?;
    let new_rows = read_rows(inputs.new_files, &mut triage.new)?;
    drop(triage.old);
    drop(triage.new);
    let old_records: Vec<Record> = old_rows.iter().map(|r| r.record()).collect();
    let new_records: Vec<Record> = new_rows.iter().map(|r| r.record()).collect();
    let old = index(&old_records, inputs.users_paths.0)?;
    let new = index(&new_records, inputs.users_paths.1)?;
    let mut parts = Parts::new(parts_dir, bucket);
    let mut result = BucketResult::default();
    let c = &mut result.counts;
    c.old_users = old.users.len() as u64 + triage.unchanged_users;
    c.new_users = new.users.len() as u64 + triage.unchanged_users;
    c.users_unchanged = triage.unchanged_users;

    // Users, by key.
    let mut keys: Vec<&&str> = new.users.keys().collect();
    keys.sort_unstable();
    for key in keys {
        let rows = &new.users[*key];
        let Some(first) = rows.first() else { continue };
        let (write, blank_password) = match old.users.get(*key).and_then(|r| r.first()) {
            None => {
                c.users_added += 1;
                result
                    .new_user_emails
                    .push(field(first, EMAIL).trim().to_lowercase());
                (true, false)
            }
            Some(before) => {
                let changed = changed_fields(&before.fields, &first.fields);
                if changed.is_empty() {
                    c.users_unchanged += 1;
                    (false, false)
                } else {
                    c.users_changed += 1;
                    for f in &changed {
                        c.add_changed_field(f);
                    }
                    let list = changed.join(";");
                    parts.write(
                        P_CHANGED,
                        &[key, field(first, EMAIL), field(first, EXTERNAL_ID), &list],
                    )?;
                    (true, !changed.contains(&"password_hash"))
                }
            }
        };
        if write {
            for r in rows {
                let mut fields: Vec<&str> = r.fields.clone();
                if blank_password {
                    for i in [PASSWORD, HASH, HASH_TYPE] {
                        if let Some(f) = fields.get_mut(i) {
                            *f = "";
                        }
                    }
                }
                parts.write(P_USERS, &fields)?;
                c.delta_user_rows += 1;
            }
        }
    }
    let mut gone: Vec<(&&str, &Vec<&Record>)> = old
        .users
        .iter()
        .filter(|(k, _)| !new.users.contains_key(**k))
        .collect();
    gone.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (_, rows) in gone {
        let Some(r) = rows.first() else { continue };
        c.users_gone += 1;
        let line = r.line.to_string();
        parts.write(
            P_GONE,
            &[
                field(r, EMAIL),
                field(r, EXTERNAL_ID),
                field(r, FIRST),
                field(r, LAST),
                &line,
            ],
        )?;
    }

    // Memberships.
    for (k, m) in &new.memberships {
        let roles: Vec<&str> = m.roles.iter().map(String::as_str).collect();
        let joined = roles.join(",");
        let row = [
            m.email,
            m.external_id,
            "",
            m.org_id,
            m.org_external_id,
            m.org_name,
            joined.as_str(),
            "",
        ];
        match old.memberships.get(k) {
            None => {
                c.memberships_added += 1;
                parts.write(P_MEMBERSHIPS, &row)?;
            }
            Some(before) => {
                if m.roles.iter().any(|r| !before.roles.contains(r)) {
                    c.memberships_roles_added += 1;
                    parts.write(P_MEMBERSHIPS, &row)?;
                }
                for r in before.roles.difference(&m.roles) {
                    c.membership_roles_removed += 1;
                    parts.write(
                        P_REMOVED_ROLES,
                        &[
                            m.email,
                            m.external_id,
                            m.org_id,
                            m.org_external_id,
                            m.org_name,
                            r,
                        ],
                    )?;
                }
            }
        }
    }
    for (k, m) in &old.memberships {
        if !new.memberships.contains_key(k) {
            c.memberships_removed += 1;
            let roles: Vec<&str> = m.roles.iter().map(String::as_str).collect();
            parts.write(
                P_REMOVED_MEMBERSHIPS,
                &[
                    m.email,
                    m.external_id,
                    m.org_id,
                    m.org_external_id,
                    m.org_name,
                    &roles.join(","),
                ],
            )?;
        }
    }

    // Role assignments.
    for (k, r) in &new.assignments {
        if !old.assignments.contains_key(k) {
            c.assignments_added += 1;
            parts.write(P_ASSIGNMENTS, &r.fields)?;
        }
    }
    for (k, r) in &old.assignments {
        if !new.assignments.contains_key(k) {
            c.assignments_removed += 1;
            parts.write(P_REMOVED_ASSIGNMENTS, &r.fields)?;
        }
    }
    parts.finish()?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_fields_are_named() {
        let old = [
            "a@x.com",
            "",
            "$2b$x",
            "bcrypt",
            "A",
            "B",
            "true",
            "e1",
            r#"{"k":"v","n":1}"#,
        ];
        let same = [
            "a@x.com",
            "",
            "$2b$x",
            "bcrypt",
            "A",
            "B",
            "TRUE",
            "e1",
            r#"{"n":"1", "k":"v"}"#,
        ];
        assert!(changed_fields(&old, &same).is_empty());
        let new = [
            "b@x.com",
            "",
            "$2b$y",
            "bcrypt",
            "A2",
            "B",
            "false",
            "e1",
            r#"{"k":"w"}"#,
        ];
        assert_eq!(
            changed_fields(&old, &new),
            [
                "email",
                "first_name",
                "email_verified",
                "password_hash",
                "metadata"
            ]
        );
    }

    #[test]
    fn organization_keys() {
        assert_eq!(org_key("o1", "x1", "N"), Some((0, "x1")));
        assert_eq!(org_key("o1", "", "N"), Some((1, "o1")));
        assert_eq!(org_key("", "", "N"), Some((2, "N")));
        assert_eq!(org_key("", " ", ""), None);
    }
}
