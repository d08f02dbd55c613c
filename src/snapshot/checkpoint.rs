//! The snapshot checkpoint: `./.workos-checkpoints/<job-id>/snapshot.json`
//! plus the closed part files beside it in `parts/`.
//!
//! It records, per cursor-paged list (users, organizations), how many parts
//! are closed and the `after` cursor that follows the last of them, and for
//! the per-organization work (memberships and organization roles) how many
//! organizations — in the order of the organizations table — are in closed
//! parts. A resumed run continues from there and rewrites anything after it,
//! so its files hold exactly what an uninterrupted run's would. The file is
//! replaced atomically (temporary file, rename) after every closed part.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File name of the checkpoint inside the job directory.
pub const CHECKPOINT_FILE: &str = "snapshot.json";
/// Version of the checkpoint format.
const VERSION: u32 = 1;

/// Errors reading or writing the checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not a snapshot checkpoint ({detail})")]
    Invalid { path: PathBuf, detail: String },
    #[error("{path}: the job was started for {field} {recorded}, not {given}; resume with the same options or start a new --job-id")]
    Mismatch {
        path: PathBuf,
        field: &'static str,
        recorded: String,
        given: String,
    },
}

/// Progress of one cursor-paged list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListProgress {
    /// Closed parts (`<table>-000000` … `<table>-<parts-1>`).
    pub parts: u64,
    /// Rows in the closed parts.
    pub rows: u64,
    /// Cursor after the last closed part (`None` before the first page).
    pub after: Option<String>,
    /// The list has no more pages.
    pub done: bool,
}

/// Progress of the per-organization work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgWorkProgress {
    /// Closed chunk parts (memberships and organization roles alike).
    pub parts: u64,
    /// Organizations whose memberships and roles are in closed parts.
    pub organizations_done: u64,
    pub membership_rows: u64,
    pub role_rows: u64,
    pub done: bool,
}

/// The whole checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotCheckpoint {
    pub version: u32,
    pub job_id: String,
    /// API base URL the job reads.
    pub endpoint: String,
    /// Absolute output directory.
    pub output: String,
    pub started_at: String,
    pub users: ListProgress,
    pub organizations: ListProgress,
    /// Environment roles written (one part).
    pub environment_roles: Option<u64>,
    pub org_work: OrgWorkProgress,
}

impl SnapshotCheckpoint {
    pub fn new(job_id: &str, endpoint: &str, output: &str) -> Self {
        Self {
            version: VERSION,
            job_id: job_id.to_string(),
            endpoint: endpoint.to_string(),
            output: output.to_string(),
            started_at: crate::package::manifest::iso_now(),
            users: ListProgress::default(),
            organizations: ListProgress::default(),
            environment_roles: None,
            org_work: OrgWorkProgress::default(),
        }
    }

    /// Reads `<dir>/snapshot.json`.
    pub fn load(dir: &Path) -> Result<Self, CheckpointError> {
        let path = dir.join(CHECKPOINT_FILE);
        let bytes = fs::read(&path).map_err(|source| CheckpointError::Io {
            path: path.clone(),
            source,
        })?;
        let cp: Self = serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Invalid {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        if cp.version != VERSION {
            return Err(CheckpointError::Invalid {
                path,
                detail: format!("version {}", cp.version),
            });
        }
        Ok(cp)
    }

    /// Fails unless the job reads the same endpoint into the same directory.
    pub fn check_matches(
        &self,
        dir: &Path,
        endpoint: &str,
        output: &str,
    ) -> Result<(), CheckpointError> {
        for (field, recorded, given) in [
            ("endpoint", &self.endpoint, endpoint),
            ("output directory", &self.output, output),
        ] {
            if recorded != given {
                return Err(CheckpointError::Mismatch {
                    path: dir.join(CHECKPOINT_FILE),
                    field,
                    recorded: recorded.clone(),
                    given: given.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Writes `<dir>/snapshot.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<(), CheckpointError> {
        let path = dir.join(CHECKPOINT_FILE);
        let tmp = dir.join(".snapshot.json.tmp");
        let io_err = |source| CheckpointError::Io {
            path: path.clone(),
            source,
        };
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| CheckpointError::Invalid {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        fs::write(&tmp, bytes).map_err(io_err)?;
        fs::rename(&tmp, &path).map_err(|source| CheckpointError::Io {
            path: path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_another_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        let mut cp = SnapshotCheckpoint::new("job", "http://a", "/out");
        cp.users.parts = 2;
        cp.users.after = Some("user_x".into());
        cp.save(dir.path()).unwrap();
        let back = SnapshotCheckpoint::load(dir.path()).unwrap();
        assert_eq!(back, cp);
        assert!(back.check_matches(dir.path(), "http://a", "/out").is_ok());
        let e = back
            .check_matches(dir.path(), "http://b", "/out")
            .unwrap_err();
        assert!(e.to_string().contains("endpoint http://a"), "{e}");
    }
}
