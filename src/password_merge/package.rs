//! Package mode (export-and-package.md §9.4, fixed): merges the password
//! export into `users.csv` and `workos_upload/users.csv`, and records the
//! merge's warnings in `warnings.jsonl` *and* the manifest, so that
//! `validate-package` still passes (§17.1).
//!
//! Order of work: an interrupted earlier merge is finished or discarded
//! ([`commit::recover`]); the manifest, `users.csv`'s header and the upload
//! file's header are checked before anything is written; the password file
//! and users are joined ([`matching`]); then new versions of `users.csv`,
//! the upload file, `warnings.jsonl` (the old records minus the previous
//! merge's, then this merge's) and the manifest are staged and committed
//! together. A re-run therefore replaces its own warnings instead of
//! duplicating them.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::commit::{self, staged_path};
use super::join::{RowUpdate, UploadJoin};
use super::matching::{apply_in_order, match_rows, UserColumns};
use super::ndjson::email_key;
use super::rows::RowCursor;
use super::{
    input_bytes, io_at, MergeError, MergeOptions, MergeReport, CODE_BLOCKED_WITHHELD,
    CODE_INVALID_HASH, CODE_MISSING_HASH, CODE_UNPARSABLE_LINES, CODE_UNSUPPORTED_ALGORITHM,
    MERGE_WARNING_CODES,
};
use crate::package::csv_writer::{push_field, push_record};
use crate::package::jsonl::{JsonlRecord, JsonlWriter};
use crate::package::manifest::{iso_now, warning_messages, Manifest};
use crate::package::schema::{MANIFEST, UPLOAD_USERS, USERS, WARNINGS};
use crate::package::writer::create_private_file;

/// Merges `passwords` into the package in `dir`.
pub fn merge_package(
    dir: &Path,
    passwords: &Path,
    options: &MergeOptions,
) -> Result<MergeReport, MergeError> {
    if !passwords.is_file() {
        return Err(MergeError::PasswordsNotFound(passwords.to_path_buf()));
    }
    if !dir.is_dir() {
        return Err(MergeError::PackageNotFound(dir.to_path_buf()));
    }
    let mut report = MergeReport {
        recovered_interrupted_merge: commit::recover(dir)?,
        ..MergeReport::default()
    };
    let users_path = dir.join(USERS.path);
    if !users_path.is_file() {
        report.users_csv_missing = true;
        return Ok(report);
    }

    // Everything that can be checked is checked before writing.
    let manifest_path = dir.join(MANIFEST.path);
    let manifest = read_manifest(&manifest_path)?;
    let users_cursor = RowCursor::open(&users_path)?;
    let users_cols = column_map(&users_path, users_cursor.header(), USERS.header)?;
    let upload_path = dir.join(UPLOAD_USERS.path);
    let upload_cursor = if upload_path.is_file() {
        let c = RowCursor::open(&upload_path)?;
        let cols = column_map(&upload_path, c.header(), UPLOAD_USERS.header)?;
        Some((c, cols))
    } else {
        None
    };
    let warnings_path = dir.join(WARNINGS.path);
    let write_warnings = manifest.is_some() || warnings_path.is_file();

    let partitions = options.partitions_for(input_bytes(&[passwords, &users_path, &upload_path]));
    let col = |name: &str| USERS.header.iter().position(|h| *h == name).unwrap_or(0);
    let (email, metadata, external_id) = (col("email"), col("metadata"), col("external_id"));
    let upload_user_id = UPLOAD_USERS
        .header
        .iter()
        .position(|h| *h == "user_id")
        .unwrap_or(0);
    let (upload_cursor, upload_cols) = match upload_cursor {
        Some((c, cols)) => (Some(c), cols),
        None => (None, Vec::new()),
    };
    let matched = match_rows(
        passwords,
        &users_path,
        UserColumns {
            email: users_cols[email],
            metadata: Some(users_cols[metadata]),
            external_id: Some(users_cols[external_id]),
        },
        partitions,
        // The upload file's rows are spilled while the password file is read.
        || match upload_cursor {
            Some(mut cursor) => {
                let mut join = UploadJoin::new(partitions)?;
                while let Some(row) = cursor.advance()? {
                    join.push_row(row, &cursor.field(upload_cols[upload_user_id]))?;
                }
                Ok(Some(join))
            }
            None => Ok(None),
        },
    )?;
    report.total_rows = matched.rows;
    report.password_records = matched.scan.records;
    report.unparsable_lines = matched.scan.junk.count;
    report.unparsable_first = matched.scan.junk.first.clone();
    let c = matched.counts;
    report.passwords_loaded = c.distinct_passwords;
    report.passwords_added = c.added;
    report.passwords_not_found = c.not_found;
    report.passwords_rejected_algorithm = c.rejected_algorithm;
    report.passwords_invalid = c.invalid;
    report.blocked_users_skipped = c.blocked_withheld;

    let mut staged: Vec<&str> = Vec::new();
    let mut warnings = if write_warnings {
        let path = staged_path(dir, WARNINGS.path);
        let mut w = JsonlWriter::new(create_staged(&path)?);
        copy_foreign_warnings(&warnings_path, &mut w, &path)?;
        Some((w, path))
    } else {
        None
    };

    // Second passes, beside each other: users.csv here, the upload file's
    // join and rewrite on a second thread.
    let (users_done, upload_done) = std::thread::scope(|s| {
        let upload = matched.upload.map(|join| {
            let (path, cols) = (&upload_path, &upload_cols);
            s.spawn(move || rewrite_upload(path, cols, join, dir))
        });
        let users_done = rewrite_users(
            dir,
            &users_path,
            &users_cols,
            matched.updates,
            matched.rows,
            warnings.as_mut(),
        );
        let upload_done = upload.map(|h| {
            h.join().unwrap_or_else(|_| {
                Err(MergeError::Io {
                    path: upload_path.clone(),
                    source: std::io::Error::other("the upload file writer stopped unexpectedly"),
                })
            })
        });
        (users_done, upload_done)
    });
    users_done?;
    staged.push(USERS.path);
    if let Some(updated) = upload_done {
        report.upload_rows_updated = updated?;
        staged.push(UPLOAD_USERS.path);
    }
    if let Some((mut w, path)) = warnings {
        for record in summary_warnings(&report) {
            w.write(&record).map_err(io_at(&path))?;
        }
        let records = w.records();
        let file = w.finish().map_err(io_at(&path))?;
        finish_staged(file, &path)?;
        staged.push(WARNINGS.path);
        if let Some(mut m) = manifest {
            m.set_count("warnings", records);
            let merge = password_merge_metadata(&report);
            m.metadata
                .get_or_insert_with(Map::new)
                .insert("passwordMerge".into(), Value::Object(merge));
            write_staged_manifest(dir, &m, &path)?;
            staged.push(MANIFEST.path);
        }
    }
    commit::commit(dir, &staged)?;
    Ok(report)
}

/// The staged `users.csv`: every row in order, with its update applied
/// and its warning (if any) written to `warnings`.
fn rewrite_users(
    dir: &Path,
    users_path: &Path,
    users_cols: &[usize],
    updates: crate::spill::OrderedSpill,
    rows: u64,
    mut warnings: Option<&mut (JsonlWriter<BufWriter<File>>, PathBuf)>,
) -> Result<(), MergeError> {
    let col = |name: &str| USERS.header.iter().position(|h| *h == name).unwrap_or(0);
    let (email, external_id) = (col("email"), col("external_id"));
    let (hash_col, type_col) = (col("password_hash"), col("password_hash_type"));
    // Rows read as written can be copied when the columns are in package order.
    let in_order = users_cols.iter().enumerate().all(|(i, &c)| i == c);
    let users_staged = staged_path(dir, USERS.path);
    let mut out = create_staged(&users_staged)?;
    let mut line = Vec::with_capacity(1024);
    push_record(&mut line, USERS.header);
    out.write_all(&line).map_err(io_at(&users_staged))?;
    let mut cursor = RowCursor::open(users_path)?;
    apply_in_order(updates, &mut cursor, users_path, rows, |row, payload| {
        let update = payload.and_then(RowUpdate::decode);
        let warning = match &update {
            Some(RowUpdate::Unsupported(name)) => Some(JsonlRecord::warning(
                CODE_UNSUPPORTED_ALGORITHM,
                &format!(
                    "Skipped password hash for {} because algorithm \"{name}\" is not supported by WorkOS imports.",
                    email_key(&row.field(users_cols[email]))
                ),
            )),
            Some(RowUpdate::Invalid(reason)) => Some(JsonlRecord::warning(
                CODE_INVALID_HASH,
                &format!(
                    "Skipped password hash for {}: {reason}.",
                    email_key(&row.field(users_cols[email]))
                ),
            )),
            _ => None,
        };
        if let (Some(record), Some((w, path))) = (warning, warnings.as_mut()) {
            let record = match row.field(users_cols[external_id]) {
                id if id.is_empty() => record,
                id => record.with("user_id", id.into_owned()),
            };
            w.write(&record).map_err(io_at(path))?;
        }
        let added = match &update {
            Some(RowUpdate::Add { hash_type, hash }) => Some((*hash_type, *hash)),
            _ => None,
        };
        line.clear();
        match row.canonical_record().filter(|_| in_order) {
            Some(record) => match added {
                None => line.extend_from_slice(record.bytes),
                Some((hash_type, hash)) => {
                    for i in 0..USERS.header.len() {
                        if i > 0 {
                            line.push(b',');
                        }
                        if i == hash_col {
                            push_field(&mut line, hash);
                        } else if i == type_col {
                            push_field(&mut line, hash_type);
                        } else if let Some(cell) = record.cell(i) {
                            line.extend_from_slice(&record.bytes[cell]);
                        }
                    }
                }
            },
            None => {
                let values: Vec<Cow<'_, str>> = users_cols.iter().map(|&c| row.field(c)).collect();
                let mut fields: Vec<&str> = values.iter().map(|v| v.as_ref()).collect();
                if let Some((hash_type, hash)) = added {
                    fields[hash_col] = hash;
                    fields[type_col] = hash_type;
                }
                push_record(&mut line, &fields);
                line.pop();
            }
        }
        line.push(b'\n');
        out.write_all(&line).map_err(io_at(&users_staged))
    })?;
    finish_staged(out, &users_staged)
}

/// Joins the upload rows (spilled in the first pass) with the merged hashes
/// and stages the rewritten file; returns the number of rows updated.
fn rewrite_upload(
    path: &Path,
    cols: &[usize],
    join: UploadJoin,
    dir: &Path,
) -> Result<u64, MergeError> {
    let hash_col = UPLOAD_USERS
        .header
        .iter()
        .position(|h| *h == "password_hash")
        .unwrap_or(0);
    let in_order = cols.iter().enumerate().all(|(i, &c)| i == c);
    let rows = join.rows();
    let (updates, updated) = join.resolve()?;
    let staged = staged_path(dir, UPLOAD_USERS.path);
    let mut out = create_staged(&staged)?;
    let mut line = Vec::with_capacity(256);
    push_record(&mut line, UPLOAD_USERS.header);
    out.write_all(&line).map_err(io_at(&staged))?;
    let mut cursor = RowCursor::open(path)?;
    apply_in_order(updates, &mut cursor, path, rows, |row, payload| {
        let hash = payload.and_then(|p| std::str::from_utf8(p).ok());
        line.clear();
        match row.canonical_record().filter(|_| in_order) {
            Some(record) => match hash {
                None => line.extend_from_slice(record.bytes),
                Some(hash) => {
                    for i in 0..UPLOAD_USERS.header.len() {
                        if i > 0 {
                            line.push(b',');
                        }
                        if i == hash_col {
                            push_field(&mut line, hash);
                        } else if let Some(cell) = record.cell(i) {
                            line.extend_from_slice(&record.bytes[cell]);
                        }
                    }
                }
            },
            None => {
                let values: Vec<Cow<'_, str>> = cols.iter().map(|&c| row.field(c)).collect();
                let mut fields: Vec<&str> = values.iter().map(|v| v.as_ref()).collect();
                if let Some(hash) = hash {
                    fields[hash_col] = hash;
                }
                push_record(&mut line, &fields);
                line.pop();
            }
        }
        line.push(b'\n');
        out.write_all(&line).map_err(io_at(&staged))
    })?;
    finish_staged(out, &staged)?;
    Ok(updated)
}

/// The merge's summary warnings, after its per-row ones.
fn summary_warnings(r: &MergeReport) -> Vec<JsonlRecord> {
    let mut out = Vec::new();
    if r.unparsable_lines > 0 {
        let lines: Vec<String> = r.unparsable_first.iter().map(u64::to_string).collect();
        out.push(
            JsonlRecord::warning(
                CODE_UNPARSABLE_LINES,
                &format!(
                    "{} line(s) of the password file were not a JSON object with \"email\" and \"passwordHash\" and were skipped (first: line {}).",
                    r.unparsable_lines,
                    lines.join(", ")
                ),
            )
            .with(
                "details",
                serde_json::json!({ "count": r.unparsable_lines, "firstLines": r.unparsable_first }),
            ),
        );
    }
    if r.blocked_users_skipped > 0 {
        out.push(JsonlRecord::warning(
            CODE_BLOCKED_WITHHELD,
            &format!(
                "{} row(s) of blocked or metadata-only Auth0 users were not given a password hash.",
                r.blocked_users_skipped
            ),
        ));
    }
    if r.passwords_not_found > 0 {
        out.push(JsonlRecord::warning(
            CODE_MISSING_HASH,
            &format!(
                "{} package user(s) had no matching Auth0 password hash.",
                r.passwords_not_found
            ),
        ));
    }
    out
}

/// `metadata.passwordMerge`: the original's keys, then ours.
fn password_merge_metadata(r: &MergeReport) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("mergedAt".into(), Value::String(iso_now()));
    for (k, v) in [
        ("passwordsAdded", r.passwords_added),
        ("passwordsNotFound", r.passwords_not_found),
        ("passwordsRejectedAlgorithm", r.passwords_rejected_algorithm),
        ("uploadRowsUpdated", r.upload_rows_updated),
        ("passwordsInvalid", r.passwords_invalid),
        ("blockedUsersSkipped", r.blocked_users_skipped),
        ("unparsableLines", r.unparsable_lines),
    ] {
        m.insert(k.into(), Value::from(v));
    }
    m
}

fn read_manifest(path: &Path) -> Result<Option<Manifest>, MergeError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_at(path)(e)),
    };
    Manifest::from_slice(&bytes)
        .map(Some)
        .map_err(|source| MergeError::Manifest {
            path: path.to_path_buf(),
            source,
        })
}

fn write_staged_manifest(dir: &Path, m: &Manifest, warnings: &Path) -> Result<(), MergeError> {
    let path = staged_path(dir, MANIFEST.path);
    let mut out = create_staged(&path)?;
    let messages = File::open(warnings).map_err(io_at(warnings))?;
    m.write_streaming(&mut out, warning_messages(BufReader::new(messages)))
        .map_err(|source| MergeError::Manifest {
            path: path.clone(),
            source,
        })?;
    finish_staged(out, &path)
}

#[derive(Deserialize)]
struct WarningHead<'a> {
    #[serde(borrow, default)]
    code: Option<Cow<'a, str>>,
}

/// Copies the records of `warnings.jsonl` that an earlier merge did not write.
fn copy_foreign_warnings(
    path: &Path,
    out: &mut JsonlWriter<BufWriter<File>>,
    staged: &Path,
) -> Result<(), MergeError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_at(path)(e)),
    };
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buf = Vec::new();
    let mut line = 0u64;
    let bad = |line| MergeError::WarningsJson {
        path: path.to_path_buf(),
        line,
    };
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io_at(path))? == 0 {
            return Ok(());
        }
        line += 1;
        let record = buf.trim_ascii();
        if record.is_empty() {
            continue;
        }
        if record.first() != Some(&b'{') {
            return Err(bad(line));
        }
        let head: WarningHead<'_> = serde_json::from_slice(record).map_err(|_| bad(line))?;
        if head
            .code
            .as_deref()
            .is_some_and(|c| MERGE_WARNING_CODES.contains(&c))
        {
            continue;
        }
        let mut copy = Vec::with_capacity(record.len() + 1);
        copy.extend_from_slice(record);
        copy.push(b'\n');
        out.write_encoded(&copy, 1).map_err(io_at(staged))?;
    }
}

/// Checks a CSV header against `expected` (any order, no missing, extra or
/// repeated names) and returns, for each expected column, its position.
pub fn column_map(
    path: &Path,
    header: &[String],
    expected: &[&str],
) -> Result<Vec<usize>, MergeError> {
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|e| !header.iter().any(|h| h == e))
        .collect();
    let unexpected: Vec<&str> = header
        .iter()
        .map(String::as_str)
        .filter(|h| !expected.contains(h))
        .collect();
    let repeated = header.len() != expected.len() && missing.is_empty() && unexpected.is_empty();
    if !missing.is_empty() || !unexpected.is_empty() || repeated {
        let mut problem = format!("header is not the package header {}", expected.join(","));
        if !missing.is_empty() {
            problem.push_str(&format!(" (missing: {})", missing.join(", ")));
        }
        if !unexpected.is_empty() {
            problem.push_str(&format!(" (unexpected: {})", shown_names(&unexpected)));
        }
        if repeated {
            problem.push_str(" (a column is repeated)");
        }
        return Err(MergeError::Header {
            path: path.to_path_buf(),
            problem,
        });
    }
    Ok(expected
        .iter()
        .map(|e| header.iter().position(|h| h == e).unwrap_or(0))
        .collect())
}

/// Column names for a message; a long one (a data row used as a header
/// may hold a hash) is shown by its length.
fn shown_names(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            if n.len() <= 40 && !n.starts_with('$') {
                format!("{n:?}")
            } else {
                format!("(a {}-character name)", n.chars().count())
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn create_staged(path: &Path) -> Result<BufWriter<File>, MergeError> {
    Ok(BufWriter::with_capacity(
        1 << 20,
        create_private_file(path).map_err(io_at(path))?,
    ))
}

fn finish_staged(out: BufWriter<File>, path: &Path) -> Result<(), MergeError> {
    let file = out.into_inner().map_err(|e| MergeError::Io {
        path: path.to_path_buf(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io_at(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BCRYPT: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

    /// Users as values in package column order, and their upload rows.
    fn users() -> (Vec<Vec<String>>, Vec<Vec<String>>) {
        let mut users = Vec::new();
        let mut upload = Vec::new();
        for i in 0..40 {
            let meta = match i % 4 {
                0 => format!(r#"{{"auth0_user_id":"auth0|{i}","auth0_blocked":"true"}}"#),
                1 => format!(r#"{{"note":"a, \"quoted\" value","n":{i}}}"#),
                2 => String::new(),
                _ => format!(r#"{{"plan":"pro","n":{i}}}"#),
            };
            let last = match i % 5 {
                0 => format!("Last, {i}"),
                1 => format!("Two\nlines {i}"),
                2 => format!("Crème {i}"),
                _ => format!("L{i}"),
            };
            let email = if i % 3 == 0 {
                format!("U{i}@X.com")
            } else {
                format!("u{i}@x.com")
            };
            let id = if i == 7 {
                String::new()
            } else {
                format!("auth0|{i}")
            };
            let row = [
                email.as_str(),
                "",
                "",
                "",
                "First",
                &last,
                "true",
                &id,
                &meta,
                "",
                "org",
                "Org, Inc",
                "",
            ];
            users.push(row.iter().map(|s| s.to_string()).collect());
            if i % 6 != 5 {
                let up = [id.as_str(), &email, "true", "First", &last, ""];
                upload.push(up.iter().map(|s| s.to_string()).collect());
            }
        }
        (users, upload)
    }

    /// A CSV of `rows` under `header`: the package encoding, or every field
    /// quoted, CRLF line ends and the columns reversed.
    fn csv_text(header: &[&str], rows: &[Vec<String>], plain: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut put = |fields: Vec<&str>| {
            if plain {
                push_record(&mut out, &fields);
            } else {
                let quoted: Vec<String> = fields
                    .iter()
                    .rev()
                    .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
                    .collect();
                out.extend_from_slice(quoted.join(",").as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        };
        put(header.to_vec());
        for r in rows {
            put(r.iter().map(String::as_str).collect());
        }
        out
    }

    /// Merges into a package made of `users` / `upload` bytes; returns the
    /// rewritten files and the warnings without their timestamps.
    fn merge(users: &[u8], upload: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<String>, MergeReport) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fs::create_dir(dir.join("workos_upload")).unwrap();
        fs::write(dir.join(USERS.path), users).unwrap();
        fs::write(dir.join(UPLOAD_USERS.path), upload).unwrap();
        fs::write(dir.join(WARNINGS.path), "").unwrap();
        let mut pw = String::new();
        for i in 0..40 {
            let hash = match i % 7 {
                5 => "5f4dcc3b5aa765d61d8327deb882cf99".to_string(),
                6 => "$2b$10$short".to_string(),
                _ => BCRYPT.to_string(),
            };
            if i % 8 != 3 {
                pw.push_str(
                    &serde_json::json!({"email": format!("U{i}@x.COM"), "passwordHash": hash})
                        .to_string(),
                );
                pw.push('\n');
            }
        }
        let pw_path = dir.join("pw.ndjson");
        fs::write(&pw_path, pw).unwrap();
        let options = MergeOptions {
            partitions: Some(3),
        };
        let report = merge_package(dir, &pw_path, &options).unwrap();
        let warnings = fs::read_to_string(dir.join(WARNINGS.path))
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("timestamp");
                v.to_string()
            })
            .collect();
        (
            fs::read(dir.join(USERS.path)).unwrap(),
            fs::read(dir.join(UPLOAD_USERS.path)).unwrap(),
            warnings,
            report,
        )
    }

    #[test]
    fn copied_rows_equal_re_encoded_rows_on_every_reader_path() {
        let (users, upload) = users();
        let fast = merge(
            &csv_text(USERS.header, &users, true),
            &csv_text(UPLOAD_USERS.header, &upload, true),
        );
        let general = merge(
            &csv_text(USERS.header, &users, false),
            &csv_text(UPLOAD_USERS.header, &upload, false),
        );
        assert_eq!(fast.0, general.0);
        assert_eq!(fast.1, general.1);
        assert_eq!(fast.2, general.2);
        assert_eq!(fast.3, general.3);
        assert!(fast.3.passwords_added > 0 && fast.3.upload_rows_updated > 0);
        assert!(fast.3.passwords_rejected_algorithm > 0 && fast.3.passwords_invalid > 0);
        // A CRLF row halfway: the fast reader hands over to the general one.
        let mut mixed = csv_text(USERS.header, &users, true);
        let half = mixed.len() / 2;
        let nl = half + mixed[half..].iter().position(|&b| b == b'\n').unwrap();
        mixed.insert(nl, b'\r');
        let mixed = merge(&mixed, &csv_text(UPLOAD_USERS.header, &upload, true));
        assert_eq!(mixed.0, fast.0);
        assert_eq!(mixed.1, fast.1);
        assert_eq!(mixed.2, fast.2);
    }
}
