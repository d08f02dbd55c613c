//! A synthetic *pair* of migration packages for `diff`: OLD with `users`
//! users, NEW = OLD with about 1 % new users, 0.5 % changed users, 0.2 %
//! removed users and some membership changes, plus the [`PairTruth`] that
//! a correct `diff` must report exactly.
//!
//! User `i` (pure function of `(seed, i)`): email `user{i}@example{i % 50}.com`,
//! external id `ext_{i}`, ASCII names, a bcrypt hash on about half,
//! string metadata on about half, and (90 %) a membership of `org_{i % orgs}`
//! with role `member` or `admin`. Its fate in NEW is drawn from
//! `hash(seed, i) % 1000`: `< 2` removed, `< 7` changed (one field, round
//! robin over email, first_name, last_name, email_verified, password_hash,
//! metadata), `< 10` gains a second membership, `< 12` loses its
//! membership, `< 14` has its role switched; otherwise unchanged. New users
//! `users..users+new` (new = round(users / 100)) join organizations, some of
//! them new ones (`round(orgs / 100)`, at least 1, in NEW's
//! `organizations.csv`). Nothing proportional to the user count is kept in
//! memory.

use std::path::Path;

use serde::Serialize;

use super::names::{FIRST_ASCII, LAST_ASCII};
use super::rng::{hash3, Rng};
use crate::package::schema;
use crate::package::writer::{MigrationPackageWriter, PackageOptions, PackageWriteError};

/// Stream ids of the generator's hashes.
const FATE: u64 = 0xD1FF;
const ROW: u64 = 0xD1F0;

/// What `diff OLD NEW` must report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PairTruth {
    pub old_users: u64,
    pub new_users: u64,
    pub users_added: u64,
    pub users_changed: u64,
    pub users_gone: u64,
    pub changed_email: u64,
    pub changed_first_name: u64,
    pub changed_last_name: u64,
    pub changed_email_verified: u64,
    pub changed_password_hash: u64,
    pub changed_metadata: u64,
    pub memberships_added: u64,
    pub memberships_removed: u64,
    /// Memberships that gained a role (role switches).
    pub memberships_roles_added: u64,
    pub membership_roles_removed: u64,
    pub organizations_added: u64,
}

/// Parameters of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairSpec {
    pub users: u64,
    pub orgs: u64,
    pub seed: u64,
    /// Multiplies every fate rate (1 = the 0.2 % / 0.5 % / … above; small
    /// test pairs use more, at most 71).
    pub scale: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Removed,
    Changed(usize),
    GainsMembership,
    LosesMembership,
    SwitchesRole,
    Same,
}

const CHANGE_KINDS: [&str; 6] = [
    "email",
    "first_name",
    "last_name",
    "email_verified",
    "password_hash",
    "metadata",
];

fn fate(seed: u64, i: u64, scale: u64) -> Fate {
    let k = scale.clamp(1, 71);
    let h = hash3(seed, FATE, i) % 1000;
    if h < 2 * k {
        Fate::Removed
    } else if h < 7 * k {
        Fate::Changed((hash3(seed, FATE + 1, i) % CHANGE_KINDS.len() as u64) as usize)
    } else if h < 10 * k {
        Fate::GainsMembership
    } else if h < 12 * k {
        Fate::LosesMembership
    } else if h < 14 * k {
        Fate::SwitchesRole
    } else {
        Fate::Same
    }
}

/// One user's fields (before any change).
struct User {
    email: String,
    hash: String,
    first: String,
    last: String,
    verified: &'static str,
    external_id: String,
    metadata: String,
    org: Option<u64>,
    role: &'static str,
}

fn user(seed: u64, i: u64, orgs: u64) -> User {
    let mut rng = Rng::for_row(seed, ROW, i);
    let mut hash = Vec::new();
    if rng.per_mille(500) {
        super::encode::push_bcrypt(&mut hash, &mut rng);
    }
    let first = rng.pick(FIRST_ASCII).copied().unwrap_or("Ann");
    let last = rng.pick(LAST_ASCII).copied().unwrap_or("Lee");
    let verified = if rng.per_mille(800) { "true" } else { "false" };
    let metadata = if rng.per_mille(500) {
        format!(
            r#"{{"plan":"p{}","region":"r{}"}}"#,
            rng.below(5),
            rng.below(3)
        )
    } else {
        String::new()
    };
    let org = rng.per_mille(900).then(|| i % orgs.max(1));
    let role = if rng.per_mille(100) {
        "admin"
    } else {
        "member"
    };
    User {
        email: format!("user{i}@example{}.com", i % 50),
        hash: String::from_utf8_lossy(&hash).into_owned(),
        first: first.to_string(),
        last: last.to_string(),
        verified,
        external_id: format!("ext_{i}"),
        metadata,
        org,
        role,
    }
}

fn write_user(
    w: &mut MigrationPackageWriter,
    u: &User,
    memberships: &[(u64, &str)],
) -> Result<(), PackageWriteError> {
    let hash_type = if u.hash.is_empty() { "" } else { "bcrypt" };
    let orgs: Vec<(String, String, &str)> = memberships
        .iter()
        .map(|(k, role)| (format!("org_{k}"), format!("Org {k}"), *role))
        .collect();
    let base = [
        u.email.as_str(),
        "",
        u.hash.as_str(),
        hash_type,
        u.first.as_str(),
        u.last.as_str(),
        u.verified,
        u.external_id.as_str(),
        u.metadata.as_str(),
    ];
    if orgs.is_empty() {
        let mut row = base.to_vec();
        row.extend(["", "", "", ""]);
        return w.write_row(&schema::USERS, &row);
    }
    for (ext, name, role) in &orgs {
        let mut row = base.to_vec();
        row.extend(["", ext.as_str(), name.as_str(), role]);
        w.write_row(&schema::USERS, &row)?;
    }
    Ok(())
}

fn write_common(w: &mut MigrationPackageWriter, orgs: u64) -> Result<(), PackageWriteError> {
    for k in 0..orgs {
        let (ext, name) = (format!("org_{k}"), format!("Org {k}"));
        w.write_row(&schema::ORGANIZATIONS, &["", &ext, &name, "", ""])?;
    }
    for slug in ["admin", "member"] {
        w.write_row(
            &schema::ROLE_DEFINITIONS,
            &[slug, slug, "environment", "", "", ""],
        )?;
    }
    Ok(())
}

fn options() -> PackageOptions {
    let mut o = PackageOptions::new("csv");
    o.entities_requested = vec!["users".into(), "organizations".into(), "memberships".into()];
    o
}

/// Writes OLD and NEW under `old_dir` / `new_dir`; returns the truth.
pub fn write_pair(
    spec: &PairSpec,
    old_dir: &Path,
    new_dir: &Path,
) -> Result<PairTruth, PackageWriteError> {
    let orgs = spec.orgs.max(1);
    let new_orgs = ((orgs as f64) / 100.0).round().max(1.0) as u64;
    let new_users = ((spec.users as f64) / 100.0).round() as u64;
    let mut t = PairTruth {
        old_users: spec.users,
        organizations_added: new_orgs,
        ..PairTruth::default()
    };
    let mut old = MigrationPackageWriter::create(old_dir, options())?;
    let mut new = MigrationPackageWriter::create(new_dir, options())?;
    write_common(&mut old, orgs)?;
    write_common(&mut new, orgs)?;
    for k in orgs..orgs + new_orgs {
        let (ext, name) = (format!("org_{k}"), format!("Org {k}"));
        new.write_row(&schema::ORGANIZATIONS, &["", &ext, &name, "", ""])?;
    }
    for i in 0..spec.users {
        let u = user(spec.seed, i, orgs);
        let before: Vec<(u64, &str)> = u.org.map(|k| (k, u.role)).into_iter().collect();
        write_user(&mut old, &u, &before)?;
        let f = fate(spec.seed, i, spec.scale);
        match f {
            Fate::Removed => {
                t.users_gone += 1;
                t.memberships_removed += before.len() as u64;
                continue;
            }
            Fate::Changed(kind) => {
                t.users_changed += 1;
                let mut c = u;
                match CHANGE_KINDS[kind] {
                    "email" => {
                        t.changed_email += 1;
                        c.email = format!("user{i}.moved@example{}.org", i % 50);
                    }
                    "first_name" => {
                        t.changed_first_name += 1;
                        c.first = format!("{}-Renamed", c.first);
                    }
                    "last_name" => {
                        t.changed_last_name += 1;
                        c.last = format!("{}-Renamed", c.last);
                    }
                    "email_verified" => {
                        t.changed_email_verified += 1;
                        c.verified = if c.verified == "true" {
                            "false"
                        } else {
                            "true"
                        };
                    }
                    "password_hash" => {
                        t.changed_password_hash += 1;
                        let mut rng = Rng::for_row(spec.seed, ROW + 7, i);
                        let mut h = Vec::new();
                        super::encode::push_bcrypt(&mut h, &mut rng);
                        c.hash = String::from_utf8_lossy(&h).into_owned();
                    }
                    _ => {
                        t.changed_metadata += 1;
                        c.metadata = format!(r#"{{"plan":"changed-{i}"}}"#);
                    }
                }
                write_user(&mut new, &c, &before)?;
            }
            Fate::GainsMembership => {
                let extra = (i + 1) % orgs;
                let mut after = before.clone();
                if before.first().map(|b| b.0) != Some(extra) {
                    after.push((extra, "member"));
                    t.memberships_added += 1;
                }
                write_user(&mut new, &u, &after)?;
            }
            Fate::LosesMembership => {
                t.memberships_removed += before.len() as u64;
                write_user(&mut new, &u, &[])?;
            }
            Fate::SwitchesRole => {
                let after: Vec<(u64, &str)> = before
                    .iter()
                    .map(|(k, r)| (*k, if *r == "admin" { "member" } else { "admin" }))
                    .collect();
                t.memberships_roles_added += after.len() as u64;
                t.membership_roles_removed += after.len() as u64;
                write_user(&mut new, &u, &after)?;
            }
            Fate::Same => write_user(&mut new, &u, &before)?,
        }
    }
    for j in 0..new_users {
        let i = spec.users + j;
        let mut u = user(spec.seed, i, orgs);
        if j % 4 == 0 {
            u.org = Some(orgs + j % new_orgs);
        }
        let m: Vec<(u64, &str)> = u.org.map(|k| (k, u.role)).into_iter().collect();
        t.memberships_added += m.len() as u64;
        t.users_added += 1;
        write_user(&mut new, &u, &m)?;
    }
    t.new_users = spec.users - t.users_gone + new_users;
    old.finish()?;
    new.finish()?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fates_are_deterministic_and_in_proportion() {
        let n = 100_000u64;
        let removed = (0..n).filter(|&i| fate(7, i, 1) == Fate::Removed).count();
        let changed = (0..n)
            .filter(|&i| matches!(fate(7, i, 1), Fate::Changed(_)))
            .count();
        assert!((150..250).contains(&removed), "{removed}");
        assert!((400..600).contains(&changed), "{changed}");
        assert_eq!(fate(7, 12345, 1), fate(7, 12345, 1));
        let scaled = (0..n).filter(|&i| fate(7, i, 10) == Fate::Removed).count();
        assert!((1500..2500).contains(&scaled), "{scaled}");
    }
}
