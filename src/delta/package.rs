//! Writing the delta package of `diff`: the bucket parts concatenated in
//! bucket order into the canonical CSVs (through the package writer, mode
//! 0600), the organizations, role definitions and TOTP rows of new users,
//! the report files under `DELTA/diff/`, and last the manifest with
//! `metadata.workosMigrate` (`packageKind: delta`, `updateExisting: true`,
//! `basedOn`).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::time::Instant;

use serde_json::{json, Map, Value};

use super::compare::part_path;
use super::input::{for_each_row, PackageInput};
use super::organizations::OrgDelta;
use super::report::DiffReport;
use super::DiffError;
use crate::package::csv_writer::push_record;
use crate::package::manifest::iso_now;
use crate::package::schema::{self, PackageFile};
use crate::package::writer::{
    create_private_file, write_manifest, MigrationPackageWriter, PackageOptions,
};

/// The report directory inside the delta.
pub const REPORT_DIR: &str = "diff";
/// The report JSON inside [`REPORT_DIR`].
pub const REPORT_FILE: &str = "diff_report.json";

/// Report CSVs: (part name, file name, header).
const REPORT_PARTS: [(&str, &str, &[&str]); 5] = [
    (
        "changed_users",
        "changed_users.csv",
        &["key", "email", "external_id", "changed_fields"],
    ),
    (
        "gone_users",
        "gone_users.csv",
        &[
            "email",
            "external_id",
            "first_name",
            "last_name",
            "old_line",
        ],
    ),
    (
        "removed_memberships",
        "removed_memberships.csv",
        &[
            "email",
            "external_id",
            "org_id",
            "org_external_id",
            "org_name",
            "role_slugs",
        ],
    ),
    (
        "removed_membership_roles",
        "removed_membership_roles.csv",
        &[
            "email",
            "external_id",
            "org_id",
            "org_external_id",
            "org_name",
            "role_slug",
        ],
    ),
    (
        "removed_role_assignments",
        "removed_role_assignments.csv",
        schema::USER_ROLE_ASSIGNMENTS_HEADER,
    ),
];

/// Everything the writer needs.
pub struct DeltaInputs<'a> {
    pub out: &'a Path,
    pub parts_dir: &'a Path,
    pub buckets: usize,
    pub old: &'a PackageInput,
    pub new: &'a PackageInput,
    pub orgs: &'a OrgDelta,
    pub roles: &'a [Vec<String>],
    pub new_user_emails: &'a HashSet<String>,
}

fn write_err(e: impl std::fmt::Display) -> DiffError {
    DiffError::Write(e.to_string())
}

/// Lines in a part (records never contain a bare newline outside quotes,
/// but quoted fields may: the count is the writer's, kept by the caller).
fn read_part(path: &Path, buf: &mut Vec<u8>) -> Result<(), DiffError> {
    buf.clear();
    match File::open(path) {
        Ok(mut f) => f.read_to_end(buf).map(|_| ()).map_err(write_err),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(write_err(e)),
    }
}

/// Appends every bucket's `name` part to `file` of the package.
fn concat_parts(
    w: &mut MigrationPackageWriter,
    d: &DeltaInputs<'_>,
    name: &str,
    file: &PackageFile,
    rows: u64,
) -> Result<(), DiffError> {
    let mut buf = Vec::new();
    let mut left = rows;
    for b in 0..d.buckets {
        read_part(&part_path(d.parts_dir, b, name), &mut buf)?;
        if buf.is_empty() {
            continue;
        }
        // The row count goes with the first non-empty part; the writer only
        // sums it.
        w.write_encoded(file, &buf, std::mem::take(&mut left))
            .map_err(write_err)?;
    }
    Ok(())
}

fn write_report_csv(
    path: &Path,
    header: &[&str],
    body: impl FnOnce(&mut BufWriter<File>) -> Result<(), DiffError>,
) -> Result<(), DiffError> {
    let f = create_private_file(path).map_err(|e| write_err(format!("{}: {e}", path.display())))?;
    let mut w = BufWriter::new(f);
    let mut line = Vec::new();
    push_record(&mut line, header);
    w.write_all(&line).map_err(write_err)?;
    body(&mut w)?;
    w.flush().map_err(write_err)
}

/// Writes the delta package; returns the final report.
pub fn write_delta(
    d: &DeltaInputs<'_>,
    report: &mut DiffReport,
    started: Instant,
    work: tempfile::TempDir,
) -> Result<DiffReport, DiffError> {
    let mut options = PackageOptions::new(&d.new.provider);
    options.entities_requested = vec![
        "users".into(),
        "organizations".into(),
        "memberships".into(),
        "roles".into(),
    ];
    let mut w = MigrationPackageWriter::create(d.out, options).map_err(write_err)?;
    let c = &report.counts;

    for row in &d.orgs.rows {
        let fields: Vec<&str> = row.iter().map(String::as_str).collect();
        w.write_row(&schema::ORGANIZATIONS, &fields)
            .map_err(write_err)?;
    }
    for row in d.roles {
        let fields: Vec<&str> = row.iter().map(String::as_str).collect();
        w.write_row(&schema::ROLE_DEFINITIONS, &fields)
            .map_err(write_err)?;
    }
    concat_parts(&mut w, d, "users", &schema::USERS, c.delta_user_rows)?;
    concat_parts(
        &mut w,
        d,
        "memberships",
        &schema::MEMBERSHIPS,
        c.memberships_added + c.memberships_roles_added,
    )?;
    concat_parts(
        &mut w,
        d,
        "assignments",
        &schema::USER_ROLE_ASSIGNMENTS,
        c.assignments_added,
    )?;
    // TOTP rows of new users.
    let mut totp = 0u64;
    if !d.new_user_emails.is_empty() {
        let path = d.new.file(&schema::TOTP_SECRETS);
        let mut rows: Vec<Vec<String>> = Vec::new();
        for_each_row(&path, &schema::TOTP_SECRETS, |_, f| {
            let email = f
                .first()
                .map(|e| e.trim().to_lowercase())
                .unwrap_or_default();
            if d.new_user_emails.contains(&email) {
                rows.push(f.iter().map(|s| s.to_string()).collect());
            }
            Ok(())
        })?;
        for r in rows {
            let fields: Vec<&str> = r.iter().map(String::as_str).collect();
            w.write_row(&schema::TOTP_SECRETS, &fields)
                .map_err(write_err)?;
            totp += 1;
        }
    }
    report.totp_added = totp;

    // Report files.
    let dir = d.out.join(REPORT_DIR);
    std::fs::create_dir_all(&dir).map_err(write_err)?;
    let mut buf = Vec::new();
    for (part, file, header) in REPORT_PARTS {
        write_report_csv(&dir.join(file), header, |out| {
            for b in 0..d.buckets {
                read_part(&part_path(d.parts_dir, b, part), &mut buf)?;
                out.write_all(&buf).map_err(write_err)?;
            }
            Ok(())
        })?;
    }
    let small = |name: &str, header: &[&str], rows: &[Vec<String>]| {
        write_report_csv(&dir.join(name), header, |out| {
            let mut line = Vec::new();
            for r in rows {
                line.clear();
                let fields: Vec<&str> = r.iter().map(String::as_str).collect();
                push_record(&mut line, &fields);
                out.write_all(&line).map_err(write_err)?;
            }
            Ok(())
        })
    };
    small(
        "changed_organizations.csv",
        &[
            "key",
            "org_id",
            "org_external_id",
            "org_name",
            "changed_fields",
        ],
        &d.orgs.changed,
    )?;
    small(
        "gone_organizations.csv",
        schema::ORGANIZATIONS_HEADER,
        &d.orgs.gone,
    )?;
    drop(work);

    // The package's manifest, then again with the delta metadata.
    let mut manifest = w.finish().map_err(write_err)?;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    let mut based_on = Map::new();
    based_on.insert("old".into(), json!(d.old.dir.to_string_lossy()));
    based_on.insert("new".into(), json!(d.new.dir.to_string_lossy()));
    based_on.insert("generatedAt".into(), json!(iso_now()));
    based_on.insert("goneUsers".into(), json!(report.counts.users_gone));
    let mut meta = manifest.metadata.take().unwrap_or_default();
    meta.insert(
        "workosMigrate".into(),
        json!({
            "packageKind": "delta",
            "updateExisting": true,
            "basedOn": Value::Object(based_on),
        }),
    );
    manifest.metadata = Some(meta);
    manifest.warnings.clear();
    write_manifest(d.out, &manifest).map_err(write_err)?;

    let text = serde_json::to_string_pretty(&report.to_json()).map_err(write_err)? + "\n";
    let path = dir.join(REPORT_FILE);
    let mut f = create_private_file(&path).map_err(write_err)?;
    f.write_all(text.as_bytes()).map_err(write_err)?;
    Ok(report.clone())
}
