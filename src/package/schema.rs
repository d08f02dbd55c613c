//! The canonical migration-package schema: file keys, paths and CSV headers
//! (export-and-package.md §1.2–§1.3), and the Arrow schema of each CSV file.
//!
//! Everything here is a fixed contract shared with the TypeScript tool
//! `@workos/migrations`: names, order and paths must never change.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// How a package file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Json,
    Csv,
    Jsonl,
    Markdown,
}

/// One canonical package file: its manifest key, relative path and (for CSVs) header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageFile {
    /// Key in `manifest.files` (and, for countable files, in `entitiesExported`).
    pub key: &'static str,
    /// Path relative to the package root, always with `/`.
    pub path: &'static str,
    pub format: FileFormat,
    /// CSV header in canonical order; empty for non-CSV files.
    pub header: &'static [&'static str],
    /// Table name used by `query` (the file stem; upload files get an `upload_` prefix).
    pub table: &'static str,
}

impl PackageFile {
    /// Arrow schema of a canonical CSV: every column a nullable UTF-8 string.
    pub fn arrow_schema(&self) -> SchemaRef {
        utf8_schema(self.header)
    }

    /// True for files whose records are counted in `entitiesExported`.
    pub fn is_countable(&self) -> bool {
        matches!(self.format, FileFormat::Csv | FileFormat::Jsonl)
    }
}

/// Arrow schema with one nullable Utf8 field per name.
pub fn utf8_schema(names: &[&str]) -> SchemaRef {
    Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ))
}

pub const USERS_HEADER: &[&str] = &[
    "email",
    "password",
    "password_hash",
    "password_hash_type",
    "first_name",
    "last_name",
    "email_verified",
    "external_id",
    "metadata",
    "org_id",
    "org_external_id",
    "org_name",
    "role_slugs",
];
pub const ORGANIZATIONS_HEADER: &[&str] = &[
    "org_id",
    "org_external_id",
    "org_name",
    "domains",
    "metadata",
];
pub const MEMBERSHIPS_HEADER: &[&str] = &[
    "email",
    "external_id",
    "user_id",
    "org_id",
    "org_external_id",
    "org_name",
    "role_slugs",
    "metadata",
];
pub const ROLE_DEFINITIONS_HEADER: &[&str] = &[
    "role_slug",
    "role_name",
    "role_type",
    "permissions",
    "org_id",
    "org_external_id",
];
pub const USER_ROLE_ASSIGNMENTS_HEADER: &[&str] = &[
    "email",
    "user_id",
    "external_id",
    "role_slug",
    "org_id",
    "org_external_id",
];
pub const TOTP_SECRETS_HEADER: &[&str] = &["email", "totp_secret", "totp_issuer", "totp_user"];
pub const SAML_CONNECTIONS_HEADER: &[&str] = &[
    "name",
    "organizationName",
    "organizationId",
    "organizationExternalId",
    "domains",
    "idpEntityId",
    "idpUrl",
    "x509Cert",
    "idpMetadataUrl",
    "customEntityId",
    "customAcsUrl",
    "idpIdAttribute",
    "emailAttribute",
    "firstNameAttribute",
    "lastNameAttribute",
    "nameAttribute",
    "idpInitiatedEnabled",
    "requestSigningKey",
    "assertionEncryptionKey",
    "nameIdEncryptionKey",
    "externalId",
];
pub const OIDC_CONNECTIONS_HEADER: &[&str] = &[
    "name",
    "organizationName",
    "organizationId",
    "organizationExternalId",
    "domains",
    "clientId",
    "clientSecret",
    "discoveryEndpoint",
    "customRedirectUri",
    "externalId",
];
pub const CUSTOM_ATTRIBUTE_MAPPINGS_HEADER: &[&str] = &[
    "externalId",
    "organizationExternalId",
    "providerType",
    "userPoolAttribute",
    "idpClaim",
];
pub const PROXY_ROUTES_HEADER: &[&str] = &[
    "externalId",
    "organizationExternalId",
    "provider",
    "protocol",
    "sourceAcsUrl",
    "sourceEntityId",
    "sourceRedirectUri",
    "customAcsUrl",
    "customEntityId",
    "customRedirectUri",
    "workosConnectionId",
    "workosAcsUrl",
    "cutoverState",
    "notes",
];
pub const UPLOAD_USERS_HEADER: &[&str] = &[
    "user_id",
    "email",
    "email_verified",
    "first_name",
    "last_name",
    "password_hash",
];
pub const UPLOAD_ORGANIZATIONS_HEADER: &[&str] = &["organization_id", "name"];
pub const UPLOAD_MEMBERSHIPS_HEADER: &[&str] = &["organization_id", "user_id"];

const fn csv(
    key: &'static str,
    path: &'static str,
    header: &'static [&'static str],
    table: &'static str,
) -> PackageFile {
    PackageFile {
        key,
        path,
        format: FileFormat::Csv,
        header,
        table,
    }
}

pub const MANIFEST: PackageFile = PackageFile {
    key: "manifest",
    path: "manifest.json",
    format: FileFormat::Json,
    header: &[],
    table: "manifest",
};
pub const USERS: PackageFile = csv("users", "users.csv", USERS_HEADER, "users");
pub const ORGANIZATIONS: PackageFile = csv(
    "organizations",
    "organizations.csv",
    ORGANIZATIONS_HEADER,
    "organizations",
);
pub const MEMBERSHIPS: PackageFile = csv(
    "memberships",
    "organization_memberships.csv",
    MEMBERSHIPS_HEADER,
    "organization_memberships",
);
pub const ROLE_DEFINITIONS: PackageFile = csv(
    "roleDefinitions",
    "role_definitions.csv",
    ROLE_DEFINITIONS_HEADER,
    "role_definitions",
);
pub const USER_ROLE_ASSIGNMENTS: PackageFile = csv(
    "userRoleAssignments",
    "user_role_assignments.csv",
    USER_ROLE_ASSIGNMENTS_HEADER,
    "user_role_assignments",
);
pub const TOTP_SECRETS: PackageFile = csv(
    "totpSecrets",
    "totp_secrets.csv",
    TOTP_SECRETS_HEADER,
    "totp_secrets",
);
pub const WARNINGS: PackageFile = PackageFile {
    key: "warnings",
    path: "warnings.jsonl",
    format: FileFormat::Jsonl,
    header: &[],
    table: "warnings",
};
pub const SKIPPED_USERS: PackageFile = PackageFile {
    key: "skippedUsers",
    path: "skipped_users.jsonl",
    format: FileFormat::Jsonl,
    header: &[],
    table: "skipped_users",
};
pub const SAML_CONNECTIONS: PackageFile = csv(
    "samlConnections",
    "sso/saml_connections.csv",
    SAML_CONNECTIONS_HEADER,
    "saml_connections",
);
pub const OIDC_CONNECTIONS: PackageFile = csv(
    "oidcConnections",
    "sso/oidc_connections.csv",
    OIDC_CONNECTIONS_HEADER,
    "oidc_connections",
);
pub const CUSTOM_ATTRIBUTE_MAPPINGS: PackageFile = csv(
    "customAttributeMappings",
    "sso/custom_attribute_mappings.csv",
    CUSTOM_ATTRIBUTE_MAPPINGS_HEADER,
    "custom_attribute_mappings",
);
pub const PROXY_ROUTES: PackageFile = csv(
    "proxyRoutes",
    "sso/proxy_routes.csv",
    PROXY_ROUTES_HEADER,
    "proxy_routes",
);
pub const HANDOFF_NOTES: PackageFile = PackageFile {
    key: "handoffNotes",
    path: "sso/handoff_notes.md",
    format: FileFormat::Markdown,
    header: &[],
    table: "handoff_notes",
};
pub const UPLOAD_USERS: PackageFile = csv(
    "uploadUsers",
    "workos_upload/users.csv",
    UPLOAD_USERS_HEADER,
    "upload_users",
);
pub const UPLOAD_ORGANIZATIONS: PackageFile = csv(
    "uploadOrganizations",
    "workos_upload/organizations.csv",
    UPLOAD_ORGANIZATIONS_HEADER,
    "upload_organizations",
);
pub const UPLOAD_MEMBERSHIPS: PackageFile = csv(
    "uploadMemberships",
    "workos_upload/organization_memberships.csv",
    UPLOAD_MEMBERSHIPS_HEADER,
    "upload_memberships",
);

/// The 17 canonical files in manifest `files` order (§1.2).
pub const PACKAGE_FILES: [PackageFile; 17] = [
    MANIFEST,
    USERS,
    ORGANIZATIONS,
    MEMBERSHIPS,
    ROLE_DEFINITIONS,
    USER_ROLE_ASSIGNMENTS,
    TOTP_SECRETS,
    WARNINGS,
    SKIPPED_USERS,
    SAML_CONNECTIONS,
    OIDC_CONNECTIONS,
    CUSTOM_ATTRIBUTE_MAPPINGS,
    PROXY_ROUTES,
    HANDOFF_NOTES,
    UPLOAD_USERS,
    UPLOAD_ORGANIZATIONS,
    UPLOAD_MEMBERSHIPS,
];

/// `entitiesExported` keys in their fixed default order (§1.4).
pub const ENTITY_COUNT_KEYS: [&str; 15] = [
    "users",
    "organizations",
    "memberships",
    "roleDefinitions",
    "userRoleAssignments",
    "totpSecrets",
    "samlConnections",
    "oidcConnections",
    "customAttributeMappings",
    "proxyRoutes",
    "uploadUsers",
    "uploadOrganizations",
    "uploadMemberships",
    "warnings",
    "skippedUsers",
];

/// The canonical file with this manifest key.
pub fn file_by_key(key: &str) -> Option<&'static PackageFile> {
    PACKAGE_FILES.iter().find(|f| f.key == key)
}

/// The canonical CSV files (13), in manifest order.
pub fn csv_files() -> impl Iterator<Item = &'static PackageFile> {
    PACKAGE_FILES.iter().filter(|f| f.format == FileFormat::Csv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_orders_match_the_contract() {
        assert_eq!(csv_files().count(), 13);
        assert_eq!(SAML_CONNECTIONS_HEADER.len(), 21);
        assert_eq!(OIDC_CONNECTIONS_HEADER.len(), 10);
        assert_eq!(PROXY_ROUTES_HEADER.len(), 14);
        assert_eq!(
            USERS_HEADER.join(","),
            "email,password,password_hash,password_hash_type,first_name,last_name,email_verified,external_id,metadata,org_id,org_external_id,org_name,role_slugs"
        );
        // Every countable key has a file and every countable file has a key.
        for key in ENTITY_COUNT_KEYS {
            assert!(file_by_key(key).is_some_and(|f| f.is_countable()), "{key}");
        }
        assert_eq!(
            PACKAGE_FILES.iter().filter(|f| f.is_countable()).count(),
            ENTITY_COUNT_KEYS.len()
        );
    }
}
