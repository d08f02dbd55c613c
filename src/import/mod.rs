//! Importing users, organization memberships and roles into WorkOS.
//!
//! Owns the `import` command's domain (import.md §1.1, §2): the per-row CSV
//! transformation ([`row`]), the reusable row engine shared with
//! `import-package` ([`engine`]), organization resolution and its cache
//! ([`orgs`]), `errors.jsonl` records ([`errors`]), counters and the fixed
//! summary/plan texts ([`summary`]), checkpointed jobs ([`checkpoint`]) and
//! the bounded-memory run itself ([`pipeline`]).

pub mod checkpoint;
pub mod engine;
pub mod errors;
pub mod orgs;
pub mod package;
pub mod pipeline;
pub mod row;
pub mod summary;
pub mod update;

pub use engine::{Engine, MembershipOutcome, OrgRef, RowOutcome, UserOutcome, UserSpec, UserTask};
pub use errors::{ErrorRecord, ErrorType};
pub use orgs::{CacheStats, OrgOptions};
