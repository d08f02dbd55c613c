//! The two passes shared by both modes: [`match_rows`] reads the password
//! file and the rows' emails into an [`EmailJoin`] and resolves it;
//! [`apply_in_order`] walks the rows again and hands each one to the caller
//! with its update (if any), in file order.

use std::path::Path;

use crate::spill::OrderedSpill;

use super::join::{is_blocked, EmailJoin, JoinCounts};
use super::ndjson::{email_key, scan_password_file, PasswordFileScan};
use super::rows::RowCursor;
use super::MergeError;

/// Where a CSV keeps what the join needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserColumns {
    pub email: usize,
    /// The metadata JSON column (blocked-user check), when the file has one.
    pub metadata: Option<usize>,
}

/// The outcome of the first pass.
pub struct Matched {
    pub updates: OrderedSpill,
    pub counts: JoinCounts,
    pub scan: PasswordFileScan,
    /// Data rows of the CSV.
    pub rows: u64,
}

/// First pass: spills the password records and the rows of `csv`, then joins.
pub fn match_rows(
    passwords: &Path,
    csv: &Path,
    columns: UserColumns,
    partitions: usize,
) -> Result<Matched, MergeError> {
    let mut join = EmailJoin::new(partitions)?;
    let scan = scan_password_file::<MergeError>(passwords, |line, key, hash| {
        join.push_password(line, key, hash)
            .map_err(MergeError::from)
    })?;
    let mut cursor = RowCursor::open(csv)?;
    let mut rows = 0;
    while let Some(row) = cursor.advance()? {
        rows = row;
        let key = email_key(cursor.field(columns.email));
        let blocked = columns
            .metadata
            .is_some_and(|m| is_blocked(cursor.field(m)));
        join.push_row(row, &key, blocked)?;
    }
    let (updates, counts) = join.resolve()?;
    Ok(Matched {
        updates,
        counts,
        scan,
        rows,
    })
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
