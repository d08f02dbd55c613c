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

/// Rows of the CSV handed from the reader thread to the join at a time.
const ROW_BATCH: usize = 4096;

/// One CSV row as the join needs it: row number, email key, blocked.
type RowKey = (u64, String, bool);

/// First pass: spills the password records and the rows of `csv`, then
/// joins. The CSV is parsed on a second thread while this one scans the
/// password file (a bounded channel of row batches between them; the join
/// does not depend on the order of its inputs).
pub fn match_rows(
    passwords: &Path,
    csv: &Path,
    columns: UserColumns,
    partitions: usize,
) -> Result<Matched, MergeError> {
    let mut join = EmailJoin::new(partitions)?;
    let mut cursor = RowCursor::open(csv)?;
    let push_rows = |join: &mut EmailJoin, batch: Vec<RowKey>| -> Result<(), MergeError> {
        for (row, key, blocked) in batch {
            join.push_row(row, &key, blocked)?;
        }
        Ok(())
    };
    let (scan, rows) = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<RowKey>>(4);
        let reader = scope.spawn(move || -> Result<u64, MergeError> {
            let mut rows = 0;
            let mut batch = Vec::with_capacity(ROW_BATCH);
            while let Some(row) = cursor.advance()? {
                rows = row;
                let key = email_key(cursor.field(columns.email));
                let blocked = columns
                    .metadata
                    .is_some_and(|m| is_blocked(cursor.field(m)));
                batch.push((row, key, blocked));
                if batch.len() == ROW_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(ROW_BATCH));
                    if tx.send(full).is_err() {
                        return Ok(rows); // the join stopped; its error is reported
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            Ok(rows)
        });
        let scanned = scan_password_file::<MergeError>(passwords, |line, key, hash| {
            join.push_password(line, key, hash)?;
            // Keep the reader moving while the password file is scanned.
            while let Ok(batch) = rx.try_recv() {
                push_rows(&mut join, batch)?;
            }
            Ok(())
        });
        let drained = scanned.and_then(|scan| {
            for batch in rx.iter() {
                push_rows(&mut join, batch)?;
            }
            Ok(scan)
        });
        // Dropping the receiver (on an error) stops the reader.
        drop(rx);
        let rows = reader.join().unwrap_or_else(|_| {
            Err(MergeError::Io {
                path: csv.to_path_buf(),
                source: std::io::Error::other("the CSV reader thread panicked"),
            })
        });
        Ok::<_, MergeError>((drained?, rows?))
    })?;
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
