//! Step 1 of `import-package`: the organizations of `organizations.csv`
//! (`org_id,org_external_id,org_name,domains,metadata`), created before any
//! user so the package imports into an empty environment.
//!
//! Per row (cells trimmed):
//! - the WorkOS key is `org_external_id`; without one, a source `org_id`
//!   becomes the external id (so a re-run finds the organization again),
//!   except an `org_id` shaped like a WorkOS id (`org_` + 26 Crockford
//!   characters), which is looked up as an id and never created;
//! - the organization is looked up by external id and, when absent, created
//!   with `name` (`org_name`, else the key), `external_id`, `domain_data`
//!   (every domain of `domains`, split on `,`/`;`/whitespace, lower-cased,
//!   de-duplicated, state `pending`) and `metadata` (a JSON object; values
//!   sent as strings). An existing organization is left unchanged, except
//!   on the update path (`updateExisting`), where its name, domains and
//!   metadata are brought to the row's with `PUT /organizations/{id}` when
//!   they differ ([`crate::import::update::organization_changes`]);
//! - when WorkOS refuses the metadata (`invalid_metadata`) or the domains
//!   (409/422, e.g. a domain claimed by another organization), the create is
//!   retried without them and a warning says what was dropped;
//! - a concurrent create of the same external id
//!   (`external_id_already_used`) is resolved by looking it up again;
//! - a row with neither id cannot be matched on a re-run: it fails.
//!
//! The result is an [`OrgDirectory`] (source key → WorkOS id) used by the
//! later steps, capped at [`DIRECTORY_CAPACITY`] entries; a reference not in
//! it is resolved by the engine through its own cache.

use std::collections::HashMap;
use std::path::Path;

use arrow::array::{Array, StringArray};
use futures::StreamExt;
use serde_json::{Map, Value};

use super::summary::MAX_WARNINGS;
use super::ImportPackageError;
use crate::import::engine::OrgRef;
use crate::import::row::flatten_metadata;
use crate::import::update::{organization_changes, OrgWanted};
use crate::package::csv_reader::{CsvBatchReader, CsvReadOptions, RaggedRows};
use crate::workos::{CreateOrganization, DomainData, Organization, WorkOsClient, WorkOsError};

/// Most source keys remembered (each organization uses at most two).
pub const DIRECTORY_CAPACITY: usize = 200_000;

/// Rows read per batch (and the most organizations in flight).
const BATCH_ROWS: usize = 256;

/// True for a WorkOS organization id: `org_` and 26 Crockford base32
/// characters (a ULID).
pub fn looks_like_workos_org_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("org_") else {
        return false;
    };
    rest.len() == 26
        && rest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
}

/// Source organization keys → WorkOS organization ids.
#[derive(Debug, Default, Clone)]
pub struct OrgDirectory {
    by_external_id: HashMap<String, String>,
    by_source_id: HashMap<String, String>,
}

impl OrgDirectory {
    fn remember(&mut self, map_external: Option<&str>, source_id: Option<&str>, id: &str) {
        if self.len() + 2 > DIRECTORY_CAPACITY {
            return;
        }
        if let Some(x) = map_external {
            self.by_external_id.insert(x.to_string(), id.to_string());
        }
        if let Some(s) = source_id {
            self.by_source_id.insert(s.to_string(), id.to_string());
        }
    }

    /// Entries remembered.
    pub fn len(&self) -> usize {
        self.by_external_id.len() + self.by_source_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (external id, WorkOS id) pairs, for the role steps' resolver.
    pub fn external_ids(&self) -> impl Iterator<Item = (&str, &str)> {
        self.by_external_id
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `(source org_id, WorkOS id)` pairs for source ids that are not
    /// WorkOS ids themselves.
    pub fn source_ids(&self) -> impl Iterator<Item = (&str, &str)> {
        self.by_source_id
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The WorkOS ids known.
    pub fn workos_ids(&self) -> impl Iterator<Item = &str> {
        self.by_external_id
            .values()
            .chain(self.by_source_id.values())
            .map(String::as_str)
    }

    /// The engine reference for a row's organization cells (trimmed, empty
    /// = absent), following the same rules as the organizations step.
    pub fn org_ref(
        &self,
        org_id: Option<&str>,
        org_external_id: Option<&str>,
        org_name: Option<&str>,
    ) -> Option<OrgRef> {
        let name = org_name.map(str::to_string);
        if let Some(x) = org_external_id {
            return Some(match self.by_external_id.get(x) {
                Some(id) => OrgRef::Id(id.clone()),
                None => OrgRef::ExternalId {
                    external_id: x.to_string(),
                    name,
                },
            });
        }
        if let Some(id) = org_id {
            if let Some(known) = self.by_source_id.get(id) {
                return Some(OrgRef::Id(known.clone()));
            }
            if looks_like_workos_org_id(id) {
                return Some(OrgRef::Id(id.to_string()));
            }
            return Some(match self.by_external_id.get(id) {
                Some(known) => OrgRef::Id(known.clone()),
                None => OrgRef::ExternalId {
                    external_id: id.to_string(),
                    name,
                },
            });
        }
        name.map(OrgRef::NameOnly)
    }
}

/// Totals of the organizations step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgStepReport {
    pub total: u64,
    pub created: u64,
    pub existing: u64,
    /// Existing and updated (update path).
    pub updated: u64,
    pub failed: u64,
    /// Warnings and row failures, in completion order (the first
    /// [`MAX_WARNINGS`]).
    pub warnings: Vec<String>,
    /// Every warning, kept or not.
    pub warnings_total: u64,
}

impl OrgStepReport {
    fn warn(&mut self, message: String) {
        self.warnings_total += 1;
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        }
    }
}

/// One parsed row.
#[derive(Debug, Clone)]
struct OrgRow {
    row: u64,
    source_id: Option<String>,
    external_id: Option<String>,
    name: Option<String>,
    domains: Vec<String>,
    metadata: Option<String>,
    /// The row's width differs from the header's.
    ragged: Option<usize>,
}

enum RowResult {
    Created(String),
    Existing(String),
    Updated(String),
    Failed(String),
}

/// Imports `organizations.csv`, remembering every organization found or
/// created in `directory`.
pub async fn import_organizations(
    client: &WorkOsClient,
    path: &Path,
    concurrency: usize,
    update_existing: bool,
    directory: &mut OrgDirectory,
) -> Result<OrgStepReport, ImportPackageError> {
    let options = CsvReadOptions {
        batch_rows: BATCH_ROWS,
        ragged: RaggedRows::Report,
        ..Default::default()
    };
    let reader = CsvBatchReader::open(path, options)?;
    let col = |name: &str| reader.column(name);
    let cols = [
        col("org_id"),
        col("org_external_id"),
        col("org_name"),
        col("domains"),
        col("metadata"),
    ];
    let mut report = OrgStepReport::default();
    for batch in reader {
        let batch = batch?;
        let rows = parse_batch(&batch, &cols);
        report.total += rows.len() as u64;
        let mut results = futures::stream::iter(rows)
            .map(|r| async move {
                let res = import_row(client, &r, update_existing).await;
                (r, res)
            })
            .buffer_unordered(concurrency.max(1));
        while let Some((row, (result, warnings))) = results.next().await {
            for w in warnings {
                report.warn(w);
            }
            match result {
                RowResult::Created(id) => {
                    report.created += 1;
                    remember(directory, &row, &id);
                }
                RowResult::Existing(id) => {
                    report.existing += 1;
                    remember(directory, &row, &id);
                }
                RowResult::Updated(id) => {
                    report.updated += 1;
                    remember(directory, &row, &id);
                }
                RowResult::Failed(message) => {
                    report.failed += 1;
                    report.warn(format!(
                        "organizations.csv row {}: {}",
                        row.row,
                        one_line(&message)
                    ));
                }
            }
        }
    }
    Ok(report)
}

fn remember(directory: &mut OrgDirectory, row: &OrgRow, id: &str) {
    let key = workos_external_id(row);
    let source = row
        .source_id
        .as_deref()
        .filter(|s| Some(*s) != key.as_deref());
    directory.remember(key.as_deref(), source, id);
}

/// The external id the organization has in WorkOS, if any.
fn workos_external_id(row: &OrgRow) -> Option<String> {
    match (&row.external_id, &row.source_id) {
        (Some(x), _) => Some(x.clone()),
        (None, Some(id)) if !looks_like_workos_org_id(id) => Some(id.clone()),
        _ => None,
    }
}

fn parse_batch(
    batch: &crate::package::csv_reader::CsvBatch,
    cols: &[Option<usize>; 5],
) -> Vec<OrgRow> {
    let columns: Vec<Option<&StringArray>> = cols
        .iter()
        .map(|c| c.and_then(|i| batch.batch.column(i).as_any().downcast_ref::<StringArray>()))
        .collect();
    let cell = |k: usize, i: usize| -> Option<String> {
        let a = columns.get(k).copied().flatten()?;
        if a.is_null(i) {
            return None;
        }
        let v = a.value(i).trim();
        (!v.is_empty()).then(|| v.to_string())
    };
    (0..batch.num_rows())
        .map(|i| {
            let row = batch.first_row + i as u64;
            OrgRow {
                row,
                source_id: cell(0, i),
                external_id: cell(1, i),
                name: cell(2, i),
                domains: cell(3, i).map(|d| split_domains(&d)).unwrap_or_default(),
                metadata: cell(4, i),
                ragged: batch.ragged.iter().find(|r| r.row == row).map(|r| r.found),
            }
        })
        .collect()
}

/// Domains of a `domains` cell: split on `,`, `;` and whitespace, lower-cased,
/// de-duplicated in order.
pub fn split_domains(cell: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in cell.split(|c: char| c == ',' || c == ';' || c.is_whitespace()) {
        let d = d.trim().trim_end_matches('.').to_lowercase();
        if !d.is_empty() && !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// WorkOS metadata from a `metadata` cell: a JSON object whose values are
/// sent as strings (the importer's rule, [`flatten_metadata`]).
pub fn org_metadata(cell: &str) -> Result<Map<String, Value>, String> {
    flatten_metadata(cell).map_err(|e| e.to_string())
}

fn is_external_id_taken(e: &WorkOsError) -> bool {
    if e.code() == Some("external_id_already_used")
        || e.errors()
            .iter()
            .any(|x| x.get("code").and_then(Value::as_str) == Some("external_id_already_used"))
    {
        return true;
    }
    let m = e.to_string();
    m.contains("external_id") && m.contains("already been assigned")
}

fn is_invalid_metadata(e: &WorkOsError) -> bool {
    e.code() == Some("invalid_metadata")
        || e.errors()
            .iter()
            .any(|x| x.get("code").and_then(Value::as_str) == Some("invalid_metadata"))
}

async fn import_row(
    client: &WorkOsClient,
    row: &OrgRow,
    update_existing: bool,
) -> (RowResult, Vec<String>) {
    let mut warnings = Vec::new();
    if let Some(found) = row.ragged {
        return (
            RowResult::Failed(format!(
                "has {found} fields but the header has 5 \u{2014} skipped"
            )),
            warnings,
        );
    }
    let label = row
        .external_id
        .as_deref()
        .or(row.source_id.as_deref())
        .or(row.name.as_deref())
        .unwrap_or("(unnamed)")
        .to_string();
    let Some(external_id) = workos_external_id(row) else {
        return match row.source_id.as_deref() {
            Some(id) => match client.get_organization(id).await {
                Ok(Some(o)) => (RowResult::Existing(o.id), warnings),
                Ok(None) => (
                    RowResult::Failed(format!("Organization not found: {id}")),
                    warnings,
                ),
                Err(e) => (RowResult::Failed(e.to_string()), warnings),
            },
            None => (
                RowResult::Failed(format!(
                    "organization {label} has no org_id or org_external_id \u{2014} skipped (it could not be matched on a re-run)"
                )),
                warnings,
            ),
        };
    };
    match client.get_organization_by_external_id(&external_id).await {
        Ok(Some(o)) if update_existing => return update_row(client, row, &o, warnings).await,
        Ok(Some(o)) => return (RowResult::Existing(o.id), warnings),
        Ok(None) => {}
        Err(e) => return (RowResult::Failed(e.to_string()), warnings),
    }
    let metadata = match row.metadata.as_deref().map(org_metadata) {
        None => None,
        Some(Ok(m)) if m.is_empty() => None,
        Some(Ok(m)) => Some(m),
        Some(Err(message)) => {
            warnings.push(format!(
                "Organization {label}: {message}; created without metadata"
            ));
            None
        }
    };
    let mut body = CreateOrganization {
        name: row.name.clone().unwrap_or_else(|| external_id.clone()),
        external_id: Some(external_id.clone()),
        domain_data: row
            .domains
            .iter()
            .map(|d| DomainData {
                domain: d.clone(),
                state: "pending".to_string(),
            })
            .collect(),
        metadata,
    };
    // At most: as given, without metadata, without domains. What was left
    // out is reported only when the organization was then created.
    let mut dropped: Vec<String> = Vec::new();
    for _ in 0..3 {
        let err = match client.create_organization(&body).await {
            Ok(o) => {
                warnings.extend(dropped);
                return (RowResult::Created(o.id), warnings);
            }
            Err(e) => e,
        };
        if is_external_id_taken(&err) {
            return match client.get_organization_by_external_id(&external_id).await {
                Ok(Some(o)) => (RowResult::Existing(o.id), warnings),
                Ok(None) => (RowResult::Failed(err.to_string()), warnings),
                Err(e) => (RowResult::Failed(e.to_string()), warnings),
            };
        }
        if body.metadata.is_some() && is_invalid_metadata(&err) {
            dropped.push(format!(
                "Organization {label}: WorkOS rejected the metadata ({}); created without metadata",
                one_line(&err.to_string())
            ));
            body.metadata = None;
            continue;
        }
        let domain_problem = matches!(err.status(), Some(400 | 409 | 422));
        if !body.domain_data.is_empty() && domain_problem {
            let domains: Vec<&str> = body.domain_data.iter().map(|d| d.domain.as_str()).collect();
            dropped.push(format!(
                "Organization {label}: WorkOS rejected the domains {} ({}); created without domains",
                domains.join(","),
                one_line(&err.to_string())
            ));
            body.domain_data.clear();
            continue;
        }
        return (RowResult::Failed(err.to_string()), warnings);
    }
    (
        RowResult::Failed("could not be created".to_string()),
        warnings,
    )
}

/// Update path: `PUT` what differs between `have` and the row.
async fn update_row(
    client: &WorkOsClient,
    row: &OrgRow,
    have: &Organization,
    mut warnings: Vec<String>,
) -> (RowResult, Vec<String>) {
    let metadata = match row.metadata.as_deref().map(org_metadata) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(message)) => {
            warnings.push(format!(
                "Organization {}: {message}; metadata left unchanged",
                have.id
            ));
            return (RowResult::Existing(have.id.clone()), warnings);
        }
    };
    let want = OrgWanted {
        name: row.name.as_deref(),
        domains: &row.domains,
        metadata: metadata.as_ref(),
    };
    let changes = organization_changes(have, &want);
    if changes.is_empty() {
        return (RowResult::Existing(have.id.clone()), warnings);
    }
    match client.update_organization(&have.id, &changes).await {
        Ok(_) => (RowResult::Updated(have.id.clone()), warnings),
        Err(e) => (RowResult::Failed(e.to_string()), warnings),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workos_ids_are_recognised() {
        assert!(looks_like_workos_org_id("org_01ARZ3NDEKTSV4RRFFQ69G5FAV"));
        assert!(!looks_like_workos_org_id("org_acme"));
        assert!(!looks_like_workos_org_id("org_6YzMLGrDRNbBVJks")); // Auth0
        assert!(!looks_like_workos_org_id("org_01arz3ndektsv4rrffq69g5fav"));
    }

    #[test]
    fn domains_and_metadata() {
        assert_eq!(
            split_domains("acme.com, Login.Acme.com;acme.com  x.io"),
            ["acme.com", "login.acme.com", "x.io"]
        );
        let m = org_metadata(r#"{"tier":"gold","n":3,"b":true,"z":null,"o":{"a":1}}"#).unwrap();
        assert_eq!(
            Value::Object(m).to_string(),
            r#"{"tier":"gold","n":"3","b":"true","o":"{\"a\":1}"}"#
        );
        assert!(org_metadata("[1]").is_err());
        assert!(org_metadata("{bad").is_err());
    }

    #[test]
    fn directory_references() {
        let mut d = OrgDirectory::default();
        d.remember(Some("acme"), Some("src-1"), "org_A");
        d.remember(Some("src-2"), None, "org_B");
        assert_eq!(
            d.org_ref(None, Some("acme"), None),
            Some(OrgRef::Id("org_A".into()))
        );
        assert_eq!(
            d.org_ref(Some("src-1"), None, None),
            Some(OrgRef::Id("org_A".into()))
        );
        assert_eq!(
            d.org_ref(Some("src-2"), None, None),
            Some(OrgRef::Id("org_B".into()))
        );
        assert_eq!(
            d.org_ref(Some("src-3"), None, Some("Three")),
            Some(OrgRef::ExternalId {
                external_id: "src-3".into(),
                name: Some("Three".into())
            })
        );
        assert_eq!(
            d.org_ref(Some("org_01ARZ3NDEKTSV4RRFFQ69G5FAV"), None, None),
            Some(OrgRef::Id("org_01ARZ3NDEKTSV4RRFFQ69G5FAV".into()))
        );
        assert_eq!(
            d.org_ref(None, None, Some("Name")),
            Some(OrgRef::NameOnly("Name".into()))
        );
        assert_eq!(d.org_ref(None, None, None), None);
    }
}
