//! Identity sources. Each provider is a folder holding its reader, API client
//! and SSO mapping; every source produces a migration package.

pub mod auth0;
pub mod clerk;
pub mod cognito;
pub mod csv;
pub mod firebase;
pub mod legacy_csv;
pub mod mapping;
pub mod pipeline;
pub mod sso;
