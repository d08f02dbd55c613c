//! Firebase Auth (export-and-package.md §7): `export firebase` and the
//! deprecated `transform-firebase --package` turn a `firebase auth:export`
//! JSON file into a migration package.
//!
//! - [`reader`]: streams `{"users":[...]}` into Arrow batches (byte scanner +
//!   parallel serde_json parse), bounded memory, one-line errors with positions.
//! - [`mapping`]: the per-user mapping as DataFusion SQL over those batches,
//!   plus metadata JSON and `$firebase-scrypt$` hashes in Rust.
//! - [`export`]: options, the local checks ([`export::prepare_export`]), the
//!   reader → SQL → package pipeline, the manifest; Identity Platform SSO
//!   rows ([`crate::sources::sso::SsoHandoff`]) are written after the users.
//! - [`identity_platform`]: the Identity Platform admin API client and SSO
//!   mapping (§7.5).

pub mod export;
pub mod identity_platform;
pub mod mapping;
pub mod reader;

pub use export::{
    export_firebase, prepare_export, ExportError, FirebaseExport, FirebaseExportOptions,
    PreparedExport,
};
pub use mapping::{NameSplit, ScryptConfig};
pub use reader::{FirebaseReader, ReadError, ReaderLimits};
