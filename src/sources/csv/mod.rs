//! The generic CSV source: `export csv` and `generate-package-template`
//! (export-and-package.md §3.5) write an empty, valid package skeleton for an
//! operator to fill by hand.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::package::sso::HandoffNotes;
use crate::package::writer::{dir_is_non_empty, PackageWriteError};
use crate::package::{Manifest, MigrationPackageWriter, PackageOptions};

/// Options shared by `export csv` and `generate-package-template`.
#[derive(Debug, Clone)]
pub struct SkeletonOptions {
    pub output_dir: PathBuf,
    pub provider: String,
    pub entities: String,
    pub source_tenant: Option<String>,
    pub force: bool,
}

/// Splits a comma-separated entity list: trimmed, empties dropped.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// Writes the skeleton; returns the absolute package path and its manifest.
pub fn write_skeleton(opts: &SkeletonOptions) -> Result<(PathBuf, Manifest), PackageWriteError> {
    let dir = std::path::absolute(&opts.output_dir).unwrap_or_else(|_| opts.output_dir.clone());
    if dir.exists() && !dir.is_dir() {
        return Err(PackageWriteError::NotADirectory(dir));
    }
    let non_empty = dir_is_non_empty(&dir).map_err(|source| PackageWriteError::Io {
        path: dir.clone(),
        source,
    })?;
    if non_empty && !opts.force {
        return Err(PackageWriteError::NotEmpty(dir));
    }
    let provider = if opts.provider.trim().is_empty() {
        "csv"
    } else {
        opts.provider.trim()
    };
    let mut options = PackageOptions::new(provider);
    options.source_tenant = opts.source_tenant.clone().filter(|t| !t.trim().is_empty());
    options.entities_requested = split_list(&opts.entities);
    options.handoff_notes = HandoffNotes::CsvSkeleton;
    let writer = MigrationPackageWriter::create(&dir, options)?;
    let manifest = writer.finish()?;
    Ok((dir, manifest))
}

/// Prints the `generate-package-template` next steps.
pub fn print_next_steps(dir: &Path, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "Package skeleton ready: {}", dir.display())?;
    writeln!(out)?;
    writeln!(out, "Next steps:")?;
    writeln!(out, "  1. Populate users.csv, organizations.csv, organization_memberships.csv (and the other CSVs you need),")?;
    writeln!(
        out,
        "     keeping the header rows, and set the counts in manifest.json entitiesExported."
    )?;
    writeln!(
        out,
        "  2. Check it: workos-migrate validate-package {}",
        dir.display()
    )?;
    writeln!(
        out,
        "  3. Import it: workos-migrate import-package {}",
        dir.display()
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeleton_is_valid_and_refuses_non_empty_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = SkeletonOptions {
            output_dir: tmp.path().join("pkg"),
            provider: "csv".into(),
            entities: " users, ,organizations ".into(),
            source_tenant: Some("acme".into()),
            force: false,
        };
        let (dir, manifest) = write_skeleton(&opts).unwrap();
        assert_eq!(manifest.entities_requested, ["users", "organizations"]);
        assert_eq!(manifest.source_tenant.as_deref(), Some("acme"));
        let report = crate::package::validator::validate_package(&dir, Default::default());
        assert!(report.is_valid(), "{:?}", report.issues);
        assert!(matches!(
            write_skeleton(&opts),
            Err(PackageWriteError::NotEmpty(_))
        ));
        let forced = SkeletonOptions {
            force: true,
            ..opts
        };
        assert!(write_skeleton(&forced).is_ok());
    }
}
