//! [`OrgResolver`]: turns an [`OrgRef`] into a WorkOS organization id,
//! looking external ids up once per run (`GET /organizations/external_id/…`)
//! and remembering the answer, found or not. `import-package` can seed it
//! with the organizations it has just created or found.

use std::collections::HashMap;

use super::definitions::OrgRef;
use crate::workos::{WorkOsClient, WorkOsError};

/// Memoized external-id → organization-id lookups.
#[derive(Debug, Default, Clone)]
pub struct OrgResolver {
    by_external_id: HashMap<String, Option<String>>,
    /// Source-system organization ids (a package's `org_id` column) mapped
    /// to the WorkOS organization made from them.
    by_source_id: HashMap<String, String>,
}

impl OrgResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a known organization (e.g. one `import-package` created).
    pub fn insert(&mut self, external_id: impl Into<String>, organization_id: impl Into<String>) {
        self.by_external_id
            .insert(external_id.into(), Some(organization_id.into()));
    }

    /// Records that a package's source `org_id` became this WorkOS
    /// organization, so rows naming only the source id resolve to it
    /// instead of sending the source id to WorkOS.
    pub fn insert_source_id(
        &mut self,
        source_id: impl Into<String>,
        organization_id: impl Into<String>,
    ) {
        self.by_source_id
            .insert(source_id.into(), organization_id.into());
    }

    /// Lookups remembered so far (found or not).
    pub fn len(&self) -> usize {
        self.by_external_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_external_id.is_empty()
    }

    /// The organization id for `org`: an id is returned as is; an external
    /// id is looked up (once). `Ok(None)` when no organization has it.
    pub async fn resolve(
        &mut self,
        client: &WorkOsClient,
        org: &OrgRef,
    ) -> Result<Option<String>, WorkOsError> {
        match org {
            OrgRef::Id(id) => Ok(Some(
                self.by_source_id
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| id.clone()),
            )),
            OrgRef::ExternalId(ext) => {
                if let Some(known) = self.by_external_id.get(ext) {
                    return Ok(known.clone());
                }
                let found = client
                    .get_organization_by_external_id(ext)
                    .await?
                    .map(|o| o.id);
                self.by_external_id.insert(ext.clone(), found.clone());
                Ok(found)
            }
        }
    }
}
