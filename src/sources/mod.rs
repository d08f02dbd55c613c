//! Identity sources. Each provider is a folder holding its reader, API client
//! and SSO mapping; every source produces a migration package.

pub mod csv;
pub mod mapping;
