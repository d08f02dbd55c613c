//! All-or-nothing replacement of several package files.
//!
//! A merge writes each new file as a *staged* file beside its target
//! (`‹dir›/.merge-passwords.‹name›.tmp`, mode 0600, synced). Then
//! [`commit`] writes a journal naming the targets (temp file + rename, so
//! it exists complete or not at all), renames the staged files over their
//! targets in order (`users.csv`, `workos_upload/users.csv`,
//! `warnings.jsonl`, `manifest.json` last), and removes the journal.
//!
//! A crash before the journal exists leaves the old package plus stray
//! staged files; a crash after it leaves a journal. [`recover`], run at the
//! start of every package merge, rolls a journal forward (renames the staged
//! files that are still there) or removes stray staged files. So the package
//! is always the old one or — once the next run has started — the new one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{io_at, MergeError};
use crate::package::writer::create_private_file;

/// The journal of a commit in progress, in the package root.
pub const JOURNAL: &str = ".merge-passwords.journal";

/// Package files a merge may replace, in commit order.
pub const REPLACEABLE: [&str; 4] = [
    "users.csv",
    "workos_upload/users.csv",
    "warnings.jsonl",
    "manifest.json",
];

/// Where the new version of `target` (relative to `root`) is staged.
pub fn staged_path(root: &Path, target: &str) -> PathBuf {
    let path = root.join(target);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".merge-passwords.{name}.tmp"))
}

/// Finishes or discards the work of an interrupted merge in `root`.
/// Returns true when a committed merge was completed.
pub fn recover(root: &Path) -> Result<bool, MergeError> {
    let journal = root.join(JOURNAL);
    let text = match fs::read_to_string(&journal) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_at(&journal)(e)),
    };
    let Some(text) = text else {
        for target in REPLACEABLE {
            let staged = staged_path(root, target);
            if staged.exists() {
                fs::remove_file(&staged).map_err(io_at(&staged))?;
            }
        }
        let _ = fs::remove_file(root.join(format!("{JOURNAL}.tmp")));
        return Ok(false);
    };
    let targets: Vec<String> = serde_json::from_str(&text).map_err(|e| MergeError::Io {
        path: journal.clone(),
        source: std::io::Error::other(e),
    })?;
    for target in &targets {
        // Only the known files: a journal never names anything else.
        if !REPLACEABLE.contains(&target.as_str()) {
            continue;
        }
        let staged = staged_path(root, target);
        if staged.exists() {
            let dest = root.join(target);
            fs::rename(&staged, &dest).map_err(io_at(&dest))?;
        }
    }
    sync_dirs(root)?;
    fs::remove_file(&journal).map_err(io_at(&journal))?;
    sync_dir(root)?;
    Ok(true)
}

/// Renames the staged files of `targets` (a subset of [`REPLACEABLE`], in
/// that order) over their targets, through the journal.
pub fn commit(root: &Path, targets: &[&str]) -> Result<(), MergeError> {
    let journal = root.join(JOURNAL);
    let tmp = root.join(format!("{JOURNAL}.tmp"));
    let text = serde_json::to_string(targets).map_err(|e| MergeError::Io {
        path: journal.clone(),
        source: std::io::Error::other(e),
    })?;
    let mut file = create_private_file(&tmp).map_err(io_at(&tmp))?;
    file.write_all(text.as_bytes()).map_err(io_at(&tmp))?;
    file.sync_all().map_err(io_at(&tmp))?;
    drop(file);
    fs::rename(&tmp, &journal).map_err(io_at(&journal))?;
    sync_dir(root)?;
    for target in REPLACEABLE.iter().filter(|t| targets.contains(t)) {
        let dest = root.join(target);
        fs::rename(staged_path(root, target), &dest).map_err(io_at(&dest))?;
    }
    sync_dirs(root)?;
    fs::remove_file(&journal).map_err(io_at(&journal))?;
    sync_dir(root)
}

fn sync_dirs(root: &Path) -> Result<(), MergeError> {
    let upload = root.join("workos_upload");
    if upload.is_dir() {
        sync_dir(&upload)?;
    }
    sync_dir(root)
}

/// Makes renames in `dir` durable (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> Result<(), MergeError> {
    #[cfg(unix)]
    {
        let d = fs::File::open(dir).map_err(io_at(dir))?;
        d.sync_all().map_err(io_at(dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(root: &Path, target: &str, text: &str) {
        fs::write(staged_path(root, target), text).unwrap();
    }

    #[test]
    fn recover_rolls_a_journal_forward() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("workos_upload")).unwrap();
        for t in REPLACEABLE {
            fs::write(root.join(t), "old").unwrap();
            staged(root, t, "new");
        }
        // Crash after the first two renames.
        fs::write(
            root.join(JOURNAL),
            serde_json::to_string(&REPLACEABLE).unwrap(),
        )
        .unwrap();
        for t in &REPLACEABLE[..2] {
            fs::rename(staged_path(root, t), root.join(t)).unwrap();
        }
        assert!(recover(root).unwrap());
        for t in REPLACEABLE {
            assert_eq!(fs::read_to_string(root.join(t)).unwrap(), "new", "{t}");
            assert!(!staged_path(root, t).exists());
        }
        assert!(!root.join(JOURNAL).exists());
    }

    #[test]
    fn recover_without_journal_discards_staged_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("users.csv"), "old").unwrap();
        staged(root, "users.csv", "new");
        assert!(!recover(root).unwrap());
        assert_eq!(fs::read_to_string(root.join("users.csv")).unwrap(), "old");
        assert!(!staged_path(root, "users.csv").exists());
    }

    #[test]
    fn commit_replaces_the_named_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("users.csv"), "old").unwrap();
        fs::write(root.join("manifest.json"), "old").unwrap();
        staged(root, "users.csv", "new");
        staged(root, "manifest.json", "new");
        commit(root, &["users.csv", "manifest.json"]).unwrap();
        assert_eq!(fs::read_to_string(root.join("users.csv")).unwrap(), "new");
        assert_eq!(
            fs::read_to_string(root.join("manifest.json")).unwrap(),
            "new"
        );
        assert!(!root.join(JOURNAL).exists());
    }
}
