//! Roles and permissions in WorkOS: the `process-role-definitions` command
//! (import.md §1.6, §6) and the role steps of `import-package`.
//!
//! Owns: the role definitions CSV and its row rules ([`definitions`]),
//! creating permissions, environment roles and organization roles and
//! setting their permissions idempotently ([`apply`]), resolving
//! organizations by external id ([`orgs`]), and assigning roles to users
//! through their organization memberships ([`assign`]).
//!
//! Library entry points (a `None` client is a dry run that makes no request):
//! - [`apply_role_definitions`] → [`RoleDefinitionsReport`];
//! - [`assign_user_roles`] (streams `user_role_assignments.csv` or a
//!   `--user-mapping` file) → [`RoleAssignmentReport`].

pub mod apply;
pub mod assign;
pub mod definitions;
pub mod orgs;
pub(crate) mod rows;
pub mod slug;

pub use apply::{
    apply_parsed_definitions, apply_role_definitions, PermissionDiff, RoleAction,
    RoleDefinitionOptions, RoleDefinitionsReport, RoleResult,
};
pub use assign::{
    assign_user_roles, check_assignment_header, AssignmentHeader, RoleAssignmentOptions,
    RoleAssignmentReport,
};
pub use definitions::{
    parse_permissions, parse_role_definitions, permission_name, OrgRef, ParsedDefinitions,
    RoleDefinition, RoleScope,
};
pub use orgs::OrgResolver;

use crate::package::csv_reader::CsvReadError;
use crate::workos::WorkOsError;

/// Why a role file could not be processed at all. Row-level problems are
/// not errors: they are counted and listed in the reports.
#[derive(Debug, thiserror::Error)]
pub enum RolesError {
    /// The file could not be read as CSV (missing, empty, bad UTF-8, …).
    #[error("{0}")]
    Csv(#[from] CsvReadError),
    /// The role definitions header lacks required columns.
    #[error("Role definitions CSV missing required columns: {missing}. Found: {found}")]
    MissingDefinitionColumns { missing: String, found: String },
    /// The assignment header names no user column.
    #[error("User-role mapping CSV must have email, user_id, or external_id column")]
    MappingMissingUserColumn,
    /// The assignment header has no `role_slug`.
    #[error("User-role mapping CSV must have role_slug column")]
    MappingMissingRoleColumn,
    /// WorkOS refused the API key: every further call would fail too.
    #[error("{0}")]
    WorkOs(WorkOsError),
}
