//! Legacy CSV mode (export-and-package.md §9.5, fixed): copies an import CSV
//! with `password_hash` / `password_hash_type` filled from the password
//! export. Streams like package mode, applies the same rules (only hashes
//! WorkOS imports, nothing for blocked users when the file has a `metadata`
//! column), and writes `‹output›.partial` (mode 0600), renamed when complete.
//!
//! Output columns: the input's, in order, then whichever of
//! `password_hash` and `password_hash_type` the input lacks (the original
//! dropped the type column when only `password_hash` existed, leaving hashes
//! WorkOS cannot import).

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::join::RowUpdate;
use super::matching::{apply_in_order, match_rows, UserColumns};
use super::rows::RowCursor;
use super::{input_bytes, io_at, MergeError, MergeOptions, MergeReport};
use crate::package::csv_writer::push_record;
use crate::package::writer::create_private_file;
use crate::sources::legacy_csv::partial_path;

/// Merges `passwords` into the CSV `input`, writing `output`.
pub fn merge_csv(
    input: &Path,
    output: &Path,
    passwords: &Path,
    options: &MergeOptions,
) -> Result<MergeReport, MergeError> {
    if !passwords.is_file() {
        return Err(MergeError::PasswordsNotFound(passwords.to_path_buf()));
    }
    if !input.is_file() {
        return Err(MergeError::CsvNotFound(input.to_path_buf()));
    }
    if same_file(input, output) {
        return Err(MergeError::OutputIsInput);
    }
    if output.is_dir() {
        return Err(MergeError::Io {
            path: output.to_path_buf(),
            source: std::io::Error::other("is a directory"),
        });
    }
    let mut cursor = RowCursor::open(input)?;
    let header: Vec<String> = cursor.header().to_vec();
    let find = |name: &str| header.iter().position(|h| h == name);
    let Some(email) = find("email") else {
        return Err(MergeError::Header {
            path: input.to_path_buf(),
            problem: "the header has no \"email\" column".into(),
        });
    };
    let mut out_header: Vec<&str> = header.iter().map(String::as_str).collect();
    for extra in ["password_hash", "password_hash_type"] {
        if find(extra).is_none() {
            out_header.push(extra);
        }
    }
    let width = header.len();
    let out_pos = |name: &str| out_header.iter().position(|h| *h == name).unwrap_or(0);
    let (hash_col, type_col) = (out_pos("password_hash"), out_pos("password_hash_type"));

    let matched = match_rows(
        passwords,
        input,
        UserColumns {
            email,
            metadata: find("metadata"),
            external_id: None,
        },
        options.partitions_for(input_bytes(&[passwords, input])),
        || Ok(None),
    )?;
    let c = matched.counts;
    let report = MergeReport {
        total_rows: matched.rows,
        password_records: matched.scan.records,
        passwords_loaded: c.distinct_passwords,
        passwords_added: c.added,
        passwords_not_found: c.not_found,
        passwords_rejected_algorithm: c.rejected_algorithm,
        passwords_invalid: c.invalid,
        blocked_users_skipped: c.blocked_withheld,
        unparsable_lines: matched.scan.junk.count,
        unparsable_first: matched.scan.junk.first.clone(),
        ..MergeReport::default()
    };

    let tmp = partial_path(output);
    let written = (|| {
        let mut out =
            BufWriter::with_capacity(1 << 20, create_private_file(&tmp).map_err(io_at(&tmp))?);
        let mut line = Vec::with_capacity(1024);
        push_record(&mut line, &out_header);
        out.write_all(&line).map_err(io_at(&tmp))?;
        apply_in_order(
            matched.updates,
            &mut cursor,
            input,
            matched.rows,
            |row, payload| {
                let mut fields: Vec<&str> = Vec::with_capacity(out_header.len());
                let values: Vec<std::borrow::Cow<'_, str>> =
                    (0..width).map(|i| row.field(i)).collect();
                fields.extend(values.iter().map(|v| v.as_ref()));
                fields.resize(out_header.len(), "");
                if let Some(RowUpdate::Add { hash_type, hash }) =
                    payload.and_then(RowUpdate::decode)
                {
                    fields[hash_col] = hash;
                    fields[type_col] = hash_type;
                }
                line.clear();
                push_record(&mut line, &fields);
                out.write_all(&line).map_err(io_at(&tmp))
            },
        )?;
        let file = out.into_inner().map_err(|e| MergeError::Io {
            path: tmp.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io_at(&tmp))
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, output).map_err(io_at(output))?;
    Ok(report)
}

/// True when `a` and `b` name the same file (existing or not).
fn same_file(a: &Path, b: &Path) -> bool {
    let resolve = |p: &Path| -> Option<PathBuf> {
        if let Ok(c) = p.canonicalize() {
            return Some(c);
        }
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.canonicalize().ok()?,
            _ => std::env::current_dir().ok()?,
        };
        Some(parent.join(p.file_name()?))
    };
    match (resolve(a), resolve(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
