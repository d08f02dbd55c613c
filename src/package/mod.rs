//! The migration package: the on-disk contract shared with `@workos/migrations`
//! (export-and-package.md §1) and the code that writes, reads and validates it.

pub mod csv_reader;
pub mod csv_writer;
pub mod jsonl;
pub mod limits;
pub mod manifest;
pub mod schema;
pub mod sso;
pub mod upload;
pub mod validator;
pub mod writer;

pub use manifest::Manifest;
pub use writer::{MigrationPackageWriter, PackageOptions};
