//! The resumable state file `.workos-migrate-wizard.json` in the working
//! directory: the answers so far and the last finished step. It never holds
//! a secret (see [`super::answers::Secrets`]); it is written mode 0600 anyway,
//! through a temporary file and a rename, so a kill never leaves half a file.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::answers::Answers;
use super::steps::Step;

/// File name of the state, in the directory the wizard runs in.
pub const STATE_FILE: &str = ".workos-migrate-wizard.json";

const VERSION: u32 = 1;

/// Errors reading or writing the state file; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not a wizard state file ({source}); remove it to start over")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// The saved progress of one migration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WizardState {
    pub version: u32,
    /// Number of the last step that finished (0: none).
    pub last_finished: u8,
    /// An export was started into `answers.output_dir` and has not finished:
    /// the directory is the wizard's own and is cleared before the export
    /// runs again.
    pub export_started: bool,
    pub answers: Answers,
}

impl WizardState {
    pub fn new() -> Self {
        Self {
            version: VERSION,
            ..Self::default()
        }
    }

    /// The step a resumed run starts at, if any is left.
    pub fn next_step(&self) -> Option<Step> {
        Step::from_number(self.last_finished.saturating_add(1))
    }
}

/// Where the state of the wizard running in `cwd` lives.
pub fn state_path(cwd: &Path) -> PathBuf {
    cwd.join(STATE_FILE)
}

/// The saved state, `None` when there is none.
pub fn load(path: &Path) -> Result<Option<WizardState>, StateError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| StateError::Parse {
            path: path.to_path_buf(),
            source,
        })
}

/// Writes the state atomically (temporary file, mode 0600, rename).
pub fn save(path: &Path, state: &WizardState) -> Result<(), StateError> {
    let io_err = |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(state).map_err(|e| io_err(io::Error::other(e)))?;
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io_err)?;
    file.write_all(text.as_bytes()).map_err(io_err)?;
    file.write_all(b"\n").map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    fs::rename(&tmp, path).map_err(io_err)
}

/// Removes the state (the migration finished, or the user starts over).
pub fn remove(path: &Path) -> Result<(), StateError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StateError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wizard::answers::Source;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_mode_0600_and_next_step() {
        let tmp = tempfile::tempdir().unwrap();
        let path = state_path(tmp.path());
        assert_eq!(load(&path).unwrap(), None);
        let mut s = WizardState::new();
        s.last_finished = 3;
        s.answers.source = Some(Source::Cognito);
        save(&path, &s).unwrap();
        assert_eq!(load(&path).unwrap(), Some(s.clone()));
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(s.next_step(), Some(Step::Export));
        s.last_finished = 10;
        assert_eq!(s.next_step(), None);
        remove(&path).unwrap();
        assert_eq!(load(&path).unwrap(), None);
    }

    #[test]
    fn garbage_is_one_line_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = state_path(tmp.path());
        fs::write(&path, "{not json").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains(STATE_FILE) && !e.contains('\n'), "{e}");
    }
}
