//! Organizations and role definitions of `diff`. Both files are small (one
//! row per organization / role, not per user), so they are compared in
//! memory: an organization is keyed like memberships (`org_external_id`,
//! else `org_id`, else `org_name`); it is new, changed (name, domains or
//! metadata differ — the update path then `PUT`s it) or gone (reported).
//! Role definitions of NEW that OLD lacks (exact row) go into the delta.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::input::read_small;
use super::report::OrgCounts;
use super::DiffError;
use crate::import::package::organizations::split_domains;
use crate::import::row::flatten_metadata;
use crate::package::schema;

/// The organization rows and report rows of the delta.
#[derive(Debug, Default)]
pub struct OrgDelta {
    pub counts: OrgCounts,
    /// `organizations.csv` rows (new and changed), sorted by key.
    pub rows: Vec<Vec<String>>,
    /// `key,org_external_id,org_id,org_name,fields`.
    pub changed: Vec<Vec<String>>,
    /// Gone organizations (OLD rows).
    pub gone: Vec<Vec<String>>,
}

fn key(row: &[String]) -> Option<String> {
    let g = |i: usize| row.get(i).map(|s| s.trim()).unwrap_or("");
    let (id, ext, name) = (g(0), g(1), g(2));
    if !ext.is_empty() {
        Some(format!("x:{ext}"))
    } else if !id.is_empty() {
        Some(format!("i:{id}"))
    } else if !name.is_empty() {
        Some(format!("n:{name}"))
    } else {
        None
    }
}

fn load(dir: &Path) -> Result<BTreeMap<String, Vec<String>>, DiffError> {
    let path = dir.join(schema::ORGANIZATIONS.path);
    let mut out = BTreeMap::new();
    for (line, row) in read_small(&path, &schema::ORGANIZATIONS)? {
        let Some(k) = key(&row) else {
            return Err(DiffError::Row {
                path,
                line,
                message: "organization without org_id, org_external_id or org_name".to_string(),
            });
        };
        if out.insert(k.clone(), row).is_some() {
            return Err(DiffError::DuplicateKey {
                path,
                line,
                first_line: 0,
                key: k,
            });
        }
    }
    Ok(out)
}

fn changed_fields(old: &[String], new: &[String]) -> Vec<&'static str> {
    let g = |r: &[String], i: usize| r.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
    let mut out = Vec::new();
    if g(old, 2) != g(new, 2) {
        out.push("name");
    }
    let mut a = split_domains(&g(old, 3));
    let mut b = split_domains(&g(new, 3));
    a.sort();
    b.sort();
    if a != b {
        out.push("domains");
    }
    let (ma, mb) = (g(old, 4), g(new, 4));
    let same = ma == mb
        || matches!((flatten_metadata(&ma), flatten_metadata(&mb)), (Ok(x), Ok(y)) if x == y);
    if !same {
        out.push("metadata");
    }
    out
}

/// Compares the organizations of both packages.
pub fn compare_organizations(old_dir: &Path, new_dir: &Path) -> Result<OrgDelta, DiffError> {
    let old = load(old_dir)?;
    let new = load(new_dir)?;
    let mut d = OrgDelta::default();
    d.counts.old = old.len() as u64;
    d.counts.new = new.len() as u64;
    for (k, row) in &new {
        match old.get(k) {
            None => {
                d.counts.added += 1;
                d.rows.push(row.clone());
            }
            Some(before) => {
                let fields = changed_fields(before, row);
                if !fields.is_empty() {
                    d.counts.changed += 1;
                    d.rows.push(row.clone());
                    let mut r = vec![k.clone()];
                    r.extend(row.iter().take(3).cloned());
                    r.push(fields.join(";"));
                    d.changed.push(r);
                }
            }
        }
    }
    for (k, row) in &old {
        if !new.contains_key(k) {
            d.counts.gone += 1;
            d.gone.push(row.clone());
        }
    }
    Ok(d)
}

/// `role_definitions.csv` rows of NEW that OLD does not have.
pub fn new_role_definitions(old_dir: &Path, new_dir: &Path) -> Result<Vec<Vec<String>>, DiffError> {
    let f = &schema::ROLE_DEFINITIONS;
    let old: HashSet<Vec<String>> = read_small(&old_dir.join(f.path), f)?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    Ok(read_small(&new_dir.join(f.path), f)?
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| !old.contains(r))
        .collect())
}
