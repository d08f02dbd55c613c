//! The two passes shared by both modes: [`match_rows`] reads the password
//! file (on a thread of its own) and the rows' emails into an [`EmailJoin`]
//! and resolves it; [`apply_in_order`] walks the rows again and hands each
//! one to the caller with its update (if any), in file order.

use std::path::Path;

use crate::spill::OrderedSpill;

use super::join::{is_blocked, EmailJoin, JoinCounts, PasswordRecords, UploadJoin};
use super::ndjson::{email_key_into, scan_password_file, PasswordFileScan};
use super::rows::RowCursor;
use super::MergeError;

/// Where a CSV keeps what the join needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserColumns {
    pub email: usize,
    /// The metadata JSON column (blocked-user check), when the file has one.
    pub metadata: Option<usize>,
    /// The column whose value keys the upload join, when there is one.
    pub external_id: Option<usize>,
}

/// The outcome of the first pass.
pub struct Matched {
    pub updates: OrderedSpill,
    pub counts: JoinCounts,
    pub scan: PasswordFileScan,
    /// Data rows of the CSV.
    pub rows: u64,
    /// The upload join made by `beside`, holding the rows' merged hashes.
    pub upload: Option<UploadJoin>,
}

/// First pass: spills the password records (on a second thread) and the
/// rows of `csv`, runs `beside` (more first-pass work, e.g. spilling the
/// upload file's rows) once the rows are read, then joins. The hashes added
/// to rows are handed to the upload join `beside` returns.
pub fn match_rows(
    passwords: &Path,
    csv: &Path,
    columns: UserColumns,
    partitions: usize,
    beside: impl FnOnce() -> Result<Option<UploadJoin>, MergeError>,
) -> Result<Matched, MergeError> {
    let (password_side, row_side) = std::thread::scope(|s| {
        let reader = s.spawn(|| -> Result<_, MergeError> {
            let mut records = PasswordRecords::new(partitions)?;
            let scan = scan_password_file::<MergeError>(passwords, |line, key, hash| {
                records.push(line, key, hash).map_err(MergeError::from)
            })?;
            Ok((records, scan))
        });
        let row_side = (|| -> Result<_, MergeError> {
            let (join, rows) = spill_rows(csv, columns, partitions)?;
            Ok((join, rows, beside()?))
        })();
        let password_side = reader.join().unwrap_or_else(|_| {
            Err(MergeError::PasswordFile(std::io::Error::other(
                "the password file reader stopped unexpectedly",
            )))
        });
        (password_side, row_side)
    });
    // The password file's errors first, as when it was read first.
    let (records, scan) = password_side?;
    let (join, rows, mut upload) = row_side?;
    let (updates, counts) = join.resolve(records, upload.as_mut())?;
    Ok(Matched {
        updates,
        counts,
        scan,
        rows,
        upload,
    })
}

/// Spills the rows of `csv` by email; returns the join and the row count.
fn spill_rows(
    csv: &Path,
    columns: UserColumns,
    partitions: usize,
) -> Result<(EmailJoin, u64), MergeError> {
    let mut join = EmailJoin::new(partitions)?;
    let mut cursor = RowCursor::open(csv)?;
    let mut rows = 0;
    let mut key = String::new();
    while let Some(row) = cursor.advance()? {
        rows = row;
        email_key_into(&cursor.field(columns.email), &mut key);
        // Only a value naming one of the flags can mark a blocked user.
        let blocked = columns.metadata.is_some_and(|m| {
            (cursor.field_contains(m, "auth0_blocked")
                || cursor.field_contains(m, "auth0_metadata_only"))
                && is_blocked(&cursor.field(m))
        });
        let external_id = match columns.external_id {
            Some(c) => cursor.field(c),
            None => "".into(),
        };
        join.push_row(row, &key, blocked, &external_id)?;
    }
    Ok((join, rows))
}

/// Second pass: calls `on_row(cursor, payload)` for every row of `cursor`
/// in order; `payload` is the row's record in `updates`, if any. Fails when
/// the file no longer has `expected_rows` rows.
pub fn apply_in_order<F>(
    updates: OrderedSpill,
    cursor: &mut RowCursor,
    path: &Path,
    expected_rows: u64,
    mut on_row: F,
) -> Result<(), MergeError>
where
    F: FnMut(&RowCursor, Option<&[u8]>) -> Result<(), MergeError>,
{
    let changed = |row| MergeError::Changed {
        path: path.to_path_buf(),
        row,
    };
    let mut seen = 0u64;
    updates.for_each_in_order(|seq, payload| loop {
        let Some(row) = cursor.advance()? else {
            return Err(changed(seq));
        };
        seen += 1;
        if row == seq {
            return on_row(cursor, Some(payload));
        }
        on_row(cursor, None)?;
    })?;
    while cursor.advance()?.is_some() {
        seen += 1;
        on_row(cursor, None)?;
    }
    if seen != expected_rows {
        return Err(changed(seen));
    }
    Ok(())
}
