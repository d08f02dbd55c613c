//! workos-migrate: move identity data from Auth0, Cognito, Clerk, Firebase or a
//! hand-built CSV into WorkOS through a *migration package* (a directory of
//! canonical CSV/JSONL files plus `manifest.json`).
//!
//! Module map (one concept each):
//! - [`package`]: the package contract — schema, manifest, CSV/JSONL writers and
//!   readers, the `workos_upload/` projection, SSO hand-off files, `validate-package`.
//! - [`hashes`]: password-hash formats WorkOS accepts, checked and encoded.
//! - [`validate`]: the `validate --csv` rules for an import CSV, with auto-fix.
//! - [`spill`]: bounded-memory grouping of keyed records through temporary files.
//! - [`sources`]: one folder per identity provider.
//! - [`query`]: ad-hoc DataFusion SQL over a package.
//! - [`templates`]: the `export-template` CSV templates.
//! - [`synth`]: deterministic synthetic exports for benches and large runs.
//! - [`progress`]: terminal progress reporting.
//! - [`roles`]: `process-role-definitions` — permissions, roles, role assignments.
//! - [`totp`]: `enroll-totp` — TOTP secrets read, checked and enrolled.
//! - [`workos`]: the WorkOS REST client, rate limiter and retry rule.
//! - [`import`]: the `import` command: CSV rows → WorkOS users, memberships, roles.
//! - [`telemetry`]: request logging (`-v`, `RUST_LOG`) and the per-API-call event.
//! - [`snapshot`]: `snapshot` — the WorkOS environment as Parquet, resumable.
//! - [`verify`]: `verify` — a package reconciled with a snapshot, repair packages.
//! - [`delta`]: `diff` — two exports of one source compared, delta packages for cut-over.
//! - [`wizard`]: the guided, resumable migration that drives the commands.
//! - [`cli`]: clap types and thin dispatch.

pub mod analyze;
pub mod cli;
pub mod delta;
pub mod hashes;
pub mod import;
pub mod package;
pub mod password_merge;
pub mod progress;
pub mod query;
pub mod roles;
pub mod snapshot;
pub mod sources;
pub mod spill;
pub mod synth;
pub mod telemetry;
pub mod templates;
pub mod totp;
pub mod validate;
pub mod verify;
pub mod wizard;
pub mod workos;
