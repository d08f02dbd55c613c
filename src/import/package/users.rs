//! Steps 3 and 4 of `import-package`: `users.csv` (users, plus the
//! membership each row names) and `organization_memberships.csv`
//! (memberships of users that already exist), both through the import
//! [`Engine`] with create-if-missing organization semantics.
//!
//! Rows are streamed (one CSV batch at a time) and run with at most
//! `--concurrency` in flight; each failed row becomes one `errors.jsonl`
//! record (import.md §2.11). Organization cells are mapped through the
//! [`OrgDirectory`] of step 1, so rows reach the organizations created there
//! without another lookup.
//!
//! A membership row finds its user by `email`, else `external_id`; its
//! `user_id` column is the source system's id and is never sent to WorkOS.
//! A membership that exists already (for instance created by its
//! `users.csv` row) is counted as existing and gains any missing role.

use std::path::Path;

use arrow::array::Array;
use futures::StreamExt;

use super::organizations::OrgDirectory;
use super::summary::MAX_WARNINGS;
use super::ImportPackageError;
use crate::import::engine::{
    Engine, MembershipOutcome, RowOutcome, UserOutcome, UserSpec, UserTask,
};
use crate::import::errors::{ErrorRecord, ErrorType, ErrorsWriter};
use crate::import::row::{
    build_row, parse_role_slugs, string_columns, ColumnMap, RawRow, RowError,
};
use crate::package::csv_reader::{
    CsvBatch, CsvBatchReader, CsvReadError, CsvReadOptions, RaggedRows,
};

/// Rows read per CSV batch.
const BATCH_ROWS: usize = 512;

/// Counts of the users and memberships of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeopleReport {
    /// `users.csv` data rows.
    pub user_rows: u64,
    pub users_created: u64,
    pub users_existing: u64,
    /// Existing users updated (update path).
    pub users_updated: u64,
    pub users_failed: u64,
    /// Rows naming an organization (both files).
    pub membership_rows: u64,
    pub memberships_from_users_csv: u64,
    pub memberships_from_memberships_csv: u64,
    pub memberships_created: u64,
    pub memberships_existing: u64,
    pub memberships_roles_updated: u64,
    pub memberships_failed: u64,
    pub roles_assigned: u64,
    pub roles_skipped: u64,
    /// Error records written.
    pub errors_written: u64,
    pub user_warnings: Vec<String>,
    pub membership_warnings: Vec<String>,
    pub warnings_total: u64,
}

impl PeopleReport {
    pub fn memberships_succeeded(&self) -> u64 {
        self.memberships_created + self.memberships_existing + self.memberships_roles_updated
    }
}

/// Which file a row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Users,
    Memberships,
}

/// One unit of work read from a file.
enum Item {
    Task(UserTask),
    /// Failed before any request (bad row).
    Failed(RowOutcome),
    /// The file cannot be read further.
    Fatal(CsvReadError),
}

/// Imports every row of `users.csv`.
pub async fn import_users(
    engine: &Engine,
    path: &Path,
    directory: &OrgDirectory,
    concurrency: usize,
    errors: &mut ErrorsWriter,
    report: &mut PeopleReport,
) -> Result<(), ImportPackageError> {
    let reader = open(path)?;
    let header = reader.header().to_vec();
    let (map, _unknown) = ColumnMap::from_header(&header);
    let width = header.len();
    let items = reader.flat_map(move |batch| match batch {
        Ok(b) => users_batch(&b, &map, width, directory),
        Err(e) => vec![Item::Fatal(e)],
    });
    run(engine, items, Source::Users, concurrency, errors, report).await
}

/// Imports every row of `organization_memberships.csv`.
pub async fn import_memberships(
    engine: &Engine,
    path: &Path,
    directory: &OrgDirectory,
    concurrency: usize,
    errors: &mut ErrorsWriter,
    report: &mut PeopleReport,
) -> Result<(), ImportPackageError> {
    let reader = open(path)?;
    let cols = MembershipColumns {
        email: reader.column("email"),
        external_id: reader.column("external_id"),
        org_id: reader.column("org_id"),
        org_external_id: reader.column("org_external_id"),
        org_name: reader.column("org_name"),
        role_slugs: reader.column("role_slugs"),
        width: reader.header().len(),
    };
    let items = reader.flat_map(move |batch| match batch {
        Ok(b) => memberships_batch(&b, &cols, directory),
        Err(e) => vec![Item::Fatal(e)],
    });
    run(
        engine,
        items,
        Source::Memberships,
        concurrency,
        errors,
        report,
    )
    .await
}

fn open(path: &Path) -> Result<CsvBatchReader<std::fs::File>, ImportPackageError> {
    let options = CsvReadOptions {
        batch_rows: BATCH_ROWS,
        ragged: RaggedRows::Report,
        ..Default::default()
    };
    Ok(CsvBatchReader::open(path, options)?)
}

async fn run(
    engine: &Engine,
    items: impl Iterator<Item = Item>,
    source: Source,
    concurrency: usize,
    errors: &mut ErrorsWriter,
    report: &mut PeopleReport,
) -> Result<(), ImportPackageError> {
    let mut outcomes = futures::stream::iter(items)
        .map(|item| async move {
            match item {
                Item::Task(t) => {
                    let names_org = t.org.is_some();
                    Ok((engine.run_task(t).await, names_org))
                }
                Item::Failed(o) => Ok((o, false)),
                Item::Fatal(e) => Err(e),
            }
        })
        .buffer_unordered(concurrency.max(1));
    while let Some(next) = outcomes.next().await {
        let (outcome, names_org) = next?;
        record(report, source, &outcome, names_org);
        if let Some(e) = &outcome.error {
            errors.write(e)?;
            report.errors_written += 1;
        }
    }
    errors.flush()?;
    Ok(())
}

fn record(report: &mut PeopleReport, source: Source, o: &RowOutcome, names_org: bool) {
    if source == Source::Users {
        report.user_rows += 1;
        match o.user {
            UserOutcome::Created => report.users_created += 1,
            UserOutcome::Existing => report.users_existing += 1,
            UserOutcome::Updated => report.users_updated += 1,
            UserOutcome::Failed | UserOutcome::Skipped => report.users_failed += 1,
        }
    }
    let mut membership_failed = false;
    if names_org {
        report.membership_rows += 1;
        match source {
            Source::Users => report.memberships_from_users_csv += 1,
            Source::Memberships => report.memberships_from_memberships_csv += 1,
        }
        match o.membership {
            MembershipOutcome::Created => report.memberships_created += 1,
            MembershipOutcome::Existing => report.memberships_existing += 1,
            MembershipOutcome::RolesUpdated => report.memberships_roles_updated += 1,
            MembershipOutcome::Failed | MembershipOutcome::None => membership_failed = true,
        }
    } else if source == Source::Memberships {
        // A membership row that could not even name its organization/user.
        report.membership_rows += 1;
        report.memberships_from_memberships_csv += 1;
        membership_failed = true;
    }
    if membership_failed {
        report.memberships_failed += 1;
    }
    report.roles_assigned += u64::from(o.roles_assigned);
    report.roles_skipped += u64::from(o.roles_skipped);
    for w in &o.warnings {
        report.warnings_total += 1;
        let list = match source {
            Source::Users => &mut report.user_warnings,
            Source::Memberships => &mut report.membership_warnings,
        };
        if list.len() < MAX_WARNINGS {
            list.push(w.clone());
        }
    }
}

/// The ragged-row error of the importer.
fn ragged_error(batch: &CsvBatch, row: u64, width: usize) -> Option<RowError> {
    batch
        .ragged
        .iter()
        .find(|r| r.row == row)
        .map(|r| RowError::RecordLength {
            expected: width,
            found: r.found,
            line: r.line,
        })
}

fn users_batch(
    batch: &CsvBatch,
    map: &ColumnMap,
    width: usize,
    directory: &OrgDirectory,
) -> Vec<Item> {
    let columns = string_columns(&batch.batch);
    (0..batch.num_rows())
        .map(|i| {
            let n = batch.first_row + i as u64;
            let raw = RawRow::from_columns(&columns, map, i);
            let email = raw.email_cell();
            let built = match ragged_error(batch, n, width) {
                Some(e) => Err(e),
                None => build_row(&raw),
            };
            match built {
                Err(e) => Item::Failed(RowOutcome::failed(
                    n,
                    email,
                    ErrorRecord::new(n, email, ErrorType::UserCreate, e.to_string()),
                )),
                Ok(row) => {
                    let org = row.org.as_ref().and_then(|o| {
                        directory.org_ref(
                            o.id.as_deref(),
                            o.external_id.as_deref(),
                            o.name.as_deref(),
                        )
                    });
                    Item::Task(UserTask {
                        record_number: n,
                        email: email.to_string(),
                        user: UserSpec::Create(row.user),
                        org,
                        role_slugs: row.role_slugs,
                    })
                }
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
struct MembershipColumns {
    email: Option<usize>,
    external_id: Option<usize>,
    org_id: Option<usize>,
    org_external_id: Option<usize>,
    org_name: Option<usize>,
    role_slugs: Option<usize>,
    width: usize,
}

fn memberships_batch(
    batch: &CsvBatch,
    cols: &MembershipColumns,
    directory: &OrgDirectory,
) -> Vec<Item> {
    let columns = string_columns(&batch.batch);
    let cell = |c: Option<usize>, i: usize| -> Option<&str> {
        let a = columns.get(c?)?;
        if a.is_null(i) {
            return None;
        }
        Some(a.value(i).trim()).filter(|v| !v.is_empty())
    };
    (0..batch.num_rows())
        .map(|i| {
            let n = batch.first_row + i as u64;
            let email = cell(cols.email, i);
            let email_text = email.unwrap_or("");
            let fail = |message: String| {
                Item::Failed(RowOutcome::failed(
                    n,
                    email_text,
                    ErrorRecord::new(n, email_text, ErrorType::MembershipCreate, message),
                ))
            };
            if let Some(e) = ragged_error(batch, n, cols.width) {
                return fail(e.to_string());
            }
            let external_id = cell(cols.external_id, i);
            if email.is_none() && external_id.is_none() {
                return fail("Missing required email or external_id".to_string());
            }
            let Some(org) = directory.org_ref(
                cell(cols.org_id, i),
                cell(cols.org_external_id, i),
                cell(cols.org_name, i),
            ) else {
                return fail(
                    "Missing organization (org_id, org_external_id or org_name)".to_string(),
                );
            };
            Item::Task(UserTask {
                record_number: n,
                email: email_text.to_string(),
                user: UserSpec::Existing {
                    email: email.map(str::to_string),
                    external_id: external_id.map(str::to_string),
                },
                org: Some(org),
                role_slugs: cell(cols.role_slugs, i)
                    .map(parse_role_slugs)
                    .unwrap_or_default(),
            })
        })
        .collect()
}
