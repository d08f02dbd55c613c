//! Auth0 source (export-and-package.md §4, §10, §13.1): the Management API
//! client, the user/organization mapping, the role catalog, the SSO hand-off
//! mapping, the bulk export-job reader and the `export auth0` orchestration.

pub mod bulk;
pub mod bulk_join;
pub mod checkpoint;
pub mod client;
pub mod export;
mod job_file;
pub mod job_line;
pub mod legacy;
pub mod mapping;
pub mod raw_line;
pub mod roles;
pub mod sso;
