//! The reads of a snapshot: two concurrent branches sharing one client (and
//! so one rate limiter, which paces them together inside the read budget):
//!
//! 1. users — one `after`-cursor chain over `GET /user_management/users`;
//! 2. environment roles, then organizations (a cursor chain over
//!    `GET /organizations`), then per organization, in the organizations
//!    table's order and `concurrency` at a time, its memberships
//!    (`GET /user_management/organization_memberships?organization_id=`,
//!    every page) and its roles (`GET /authorization/organizations/{id}/roles`,
//!    organization roles only — environment roles are listed once).
//!
//! The users chain is the long pole (one request at a time) and the rate
//! limiter grants slots in arrival order, so while it runs the organization
//! branch keeps only [`ORG_REQUESTS_BESIDE_USERS`] requests in flight: each
//! users page then waits for at most that many slots instead of
//! `concurrency`, and the two branches share the budget instead of the
//! organizations taking it all and leaving the chain to finish alone.
//!
//! Pages go straight into part files; a part closes every
//! [`PAGES_PER_PART`] pages (lists) or [`ORGS_PER_PART`] organizations, and
//! the checkpoint is saved after each close. Memory is bounded by one part's
//! row group plus the memberships of the organizations in flight, and the
//! list of organization ids (one string per organization).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use arrow::array::{Array, AsArray, RecordBatch};
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::checkpoint::{ListProgress, SnapshotCheckpoint};
use super::parts::{for_each_batch, part_path, ParquetSink};
use super::tables::Table;
use super::SnapshotError;
use crate::progress::Progress;
use crate::workos::client::encode_segment;
use crate::workos::WorkOsClient;

/// List pages per part file (100 objects each).
pub const PAGES_PER_PART: u64 = 50;
/// Organizations per memberships / roles part file.
pub const ORGS_PER_PART: u64 = 100;
/// Organization-branch requests in flight while the users chain runs (the
/// whole `concurrency` afterwards).
pub const ORG_REQUESTS_BESIDE_USERS: usize = 2;
/// Part-file prefix of the organization roles (environment roles use
/// `roles-env`).
const ORG_ROLES_PART: &str = "roles-org";
const ENV_ROLES_PART: &str = "roles-env";

/// One page of a list on its way to the writer.
struct ListedPage {
    data: Vec<Value>,
    /// The cursor after it (`None`: the last page).
    after: Option<String>,
}

/// State shared by the two branches.
pub struct Scan<'a> {
    pub client: &'a WorkOsClient,
    pub job_dir: PathBuf,
    pub parts_dir: PathBuf,
    pub checkpoint: Mutex<SnapshotCheckpoint>,
    pub concurrency: usize,
    pub progress: &'a Progress,
    pub rows_seen: AtomicU64,
    /// Permits for organization-branch requests (`concurrency` in all).
    pub org_gate: tokio::sync::Semaphore,
}

impl Scan<'_> {
    fn update(&self, f: impl FnOnce(&mut SnapshotCheckpoint)) -> Result<(), SnapshotError> {
        let mut cp = self.checkpoint.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut cp);
        cp.save(&self.job_dir)?;
        Ok(())
    }

    fn snapshot(&self) -> SnapshotCheckpoint {
        self.checkpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn seen(&self, rows: usize) {
        let total = self.rows_seen.fetch_add(rows as u64, Ordering::Relaxed) + rows as u64;
        self.progress.update(0, total);
    }

    /// Runs both branches; the first error stops the other.
    pub async fn run(&self) -> Result<(), SnapshotError> {
        // Held while the users chain runs: the organization branch keeps
        // only ORG_REQUESTS_BESIDE_USERS permits meanwhile.
        let reserved = self
            .concurrency
            .max(1)
            .saturating_sub(ORG_REQUESTS_BESIDE_USERS);
        let hold = u32::try_from(reserved)
            .ok()
            .filter(|n| *n > 0)
            .and_then(|n| self.org_gate.try_acquire_many(n).ok());
        let users = async move {
            let result = self.scan_list(Table::Users, "/user_management/users").await;
            drop(hold);
            result
        };
        let rest = async {
            self.scan_environment_roles().await?;
            self.scan_list(Table::Organizations, "/organizations")
                .await?;
            self.scan_org_work().await
        };
        tokio::try_join!(users, rest)?;
        Ok(())
    }

    fn list_progress(&self, table: Table) -> ListProgress {
        let cp = self.snapshot();
        match table {
            Table::Users => cp.users,
            _ => cp.organizations,
        }
    }

    /// One cursor chain into `<table>-<n>` parts. The chain only waits for
    /// the next cursor: pages go through a small queue to the writer, which
    /// closes parts and saves the checkpoint.
    async fn scan_list(&self, table: Table, path: &str) -> Result<(), SnapshotError> {
        let start = self.list_progress(table);
        if start.done {
            return Ok(());
        }
        let (start_parts, start_after) = (start.parts, start.after);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<ListedPage>(4);
        let fetch = async move {
            let mut after = start_after;
            loop {
                let mut query: Vec<(&str, &str)> = vec![("limit", "100"), ("order", "desc")];
                if let Some(a) = after.as_deref() {
                    query.push(("after", a));
                }
                let page = self.client.list_page(path, &query).await?;
                self.seen(page.data.len());
                let next = page
                    .list_metadata
                    .and_then(|m| m.after)
                    .filter(|n| !n.is_empty() && Some(n) != after.as_ref());
                let done = next.is_none();
                after = next.clone();
                // A closed queue means the writer failed: its error wins.
                if tx
                    .send(ListedPage {
                        data: page.data,
                        after: next,
                    })
                    .await
                    .is_err()
                    || done
                {
                    return Ok::<(), SnapshotError>(());
                }
            }
        };
        let write = async {
            let mut parts = start_parts;
            let mut sink: Option<ParquetSink> = None;
            let mut pages = 0u64;
            while let Some(page) = rx.recv().await {
                let batch = table.batch(&page.data, None)?;
                let s = match sink.as_mut() {
                    Some(s) => s,
                    None => sink.insert(ParquetSink::create(
                        &part_path(&self.parts_dir, table.name(), parts),
                        table.schema(),
                    )?),
                };
                s.write(&batch)?;
                pages += 1;
                let done = page.after.is_none();
                if done || pages == PAGES_PER_PART {
                    let rows = match sink.take() {
                        Some(s) => s.close()?,
                        None => 0,
                    };
                    parts += 1;
                    pages = 0;
                    let after = page.after.clone();
                    self.update(|cp| {
                        let p = match table {
                            Table::Users => &mut cp.users,
                            _ => &mut cp.organizations,
                        };
                        *p = ListProgress {
                            parts,
                            rows: p.rows + rows,
                            after,
                            done,
                        };
                    })?;
                    if done {
                        return Ok(());
                    }
                }
            }
            Ok::<(), SnapshotError>(())
        };
        tokio::try_join!(fetch, write)?;
        Ok(())
    }

    /// `GET /authorization/roles` into `roles-env-000000`.
    async fn scan_environment_roles(&self) -> Result<(), SnapshotError> {
        if self.snapshot().environment_roles.is_some() {
            return Ok(());
        }
        let page = self.client.list_page("/authorization/roles", &[]).await?;
        self.seen(page.data.len());
        let mut sink = ParquetSink::create(
            &part_path(&self.parts_dir, ENV_ROLES_PART, 0),
            Table::Roles.schema(),
        )?;
        sink.write(&Table::Roles.batch(&page.data, None)?)?;
        let rows = sink.close()?;
        self.update(|cp| cp.environment_roles = Some(rows))
    }

    /// Memberships and organization roles of every organization.
    async fn scan_org_work(&self) -> Result<(), SnapshotError> {
        let start = self.snapshot();
        if start.org_work.done {
            return Ok(());
        }
        let org_parts = organization_parts(&self.parts_dir, &start);
        let mut ids = Vec::new();
        for part in &org_parts {
            for_each_batch(part, |batch| {
                let col = batch.column(0).as_string::<i32>();
                for i in 0..col.len() {
                    if !col.is_null(i) {
                        ids.push(col.value(i).to_string());
                    }
                }
                Ok(())
            })?;
        }
        let skip = usize::try_from(start.org_work.organizations_done).unwrap_or(usize::MAX);
        let mut parts = start.org_work.parts;
        let mut in_part = 0u64;
        let mut sinks: Option<(ParquetSink, ParquetSink)> = None;
        let mut results = std::pin::pin!(futures::stream::iter(ids.iter().skip(skip))
            .map(|id| self.fetch_organization(id))
            .buffered(self.concurrency.max(1)));
        loop {
            let next = results.try_next().await?;
            if let Some((memberships, roles)) = &next {
                let (m, r) = match sinks.as_mut() {
                    Some(s) => s,
                    None => sinks.insert((
                        ParquetSink::create(
                            &part_path(&self.parts_dir, Table::Memberships.name(), parts),
                            Table::Memberships.schema(),
                        )?,
                        ParquetSink::create(
                            &part_path(&self.parts_dir, ORG_ROLES_PART, parts),
                            Table::Roles.schema(),
                        )?,
                    )),
                };
                for b in memberships {
                    m.write(b)?;
                }
                r.write(roles)?;
                in_part += 1;
            }
            let done = next.is_none();
            if (done && in_part > 0) || in_part == ORGS_PER_PART {
                if let Some((m, r)) = sinks.take() {
                    let m_rows = m.close()?;
                    let r_rows = r.close()?;
                    parts += 1;
                    let orgs = in_part;
                    self.update(|cp| {
                        let w = &mut cp.org_work;
                        w.parts = parts;
                        w.organizations_done += orgs;
                        w.membership_rows += m_rows;
                        w.role_rows += r_rows;
                    })?;
                }
                in_part = 0;
            }
            if done {
                return self.update(|cp| cp.org_work.done = true);
            }
        }
    }

    /// Every membership page and the organization roles of one organization.
    async fn fetch_organization(
        &self,
        org_id: &str,
    ) -> Result<(Vec<RecordBatch>, RecordBatch), SnapshotError> {
        let mut batches = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query: Vec<(&str, &str)> = vec![
                ("organization_id", org_id),
                ("limit", "100"),
                ("order", "desc"),
            ];
            if let Some(a) = after.as_deref() {
                query.push(("after", a));
            }
            let page = {
                let _permit = self.org_gate.acquire().await;
                self.client
                    .list_page("/user_management/organization_memberships", &query)
                    .await?
            };
            self.seen(page.data.len());
            batches.push(Table::Memberships.batch(&page.data, None)?);
            match page
                .list_metadata
                .and_then(|m| m.after)
                .filter(|n| !n.is_empty() && Some(n) != after.as_ref())
            {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let path = format!(
            "/authorization/organizations/{}/roles",
            encode_segment(org_id)
        );
        let page = {
            let _permit = self.org_gate.acquire().await;
            self.client.list_page(&path, &[]).await?
        };
        let own: Vec<Value> = page
            .data
            .into_iter()
            .filter(|r| r.get("type").and_then(Value::as_str) != Some("EnvironmentRole"))
            .collect();
        self.seen(own.len());
        let roles = Table::Roles.batch(&own, Some(org_id))?;
        Ok((batches, roles))
    }
}

/// The closed organization parts, in order.
fn organization_parts(dir: &Path, cp: &SnapshotCheckpoint) -> Vec<PathBuf> {
    (0..cp.organizations.parts)
        .map(|n| part_path(dir, Table::Organizations.name(), n))
        .collect()
}

/// Every closed part of each table, in final order.
pub fn table_parts(dir: &Path, cp: &SnapshotCheckpoint, table: Table) -> Vec<PathBuf> {
    match table {
        Table::Users => (0..cp.users.parts)
            .map(|n| part_path(dir, table.name(), n))
            .collect(),
        Table::Organizations => organization_parts(dir, cp),
        Table::Memberships => (0..cp.org_work.parts)
            .map(|n| part_path(dir, table.name(), n))
            .collect(),
        Table::Roles => std::iter::once(part_path(dir, ENV_ROLES_PART, 0))
            .chain((0..cp.org_work.parts).map(|n| part_path(dir, ORG_ROLES_PART, n)))
            .collect(),
    }
}
