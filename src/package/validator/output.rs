//! The `validate-package` command's terminal and `--json` output (§2.1).

use std::io::{self, Write};
use std::path::Path;

use serde_json::Value;

use super::manifest::js_string;
use super::{validate_package, Issue, PackageReport, ValidateOptions};

/// The `validate-package` command: prints exactly as §2.1 and returns the
/// process exit code (0 valid, 1 invalid or directory not found).
///
/// - `--json`: the report document (2-space JSON + `\n`) on `out`.
/// - otherwise, when there is no issue and not `quiet`: the ✓ line, the
///   provider and every `entitiesExported` count on `out`; errors and warnings
///   are listed on `err` (even with `quiet`).
pub fn run_validate_package(
    dir: &Path,
    opts: ValidateOptions,
    quiet: bool,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    if !dir.is_dir() {
        let _ = writeln!(err, "Package directory not found: {}", dir.display());
        return 1;
    }
    let report = validate_package(dir, opts);
    let written = if json {
        write_json(&report, out)
    } else {
        write_human(&report, dir, quiet, out, err)
    };
    if let Err(e) = written {
        let _ = writeln!(err, "validate-package failed: {e}");
        return 1;
    }
    if report.is_valid() {
        0
    } else {
        1
    }
}

fn write_json(report: &PackageReport, out: &mut dyn Write) -> io::Result<()> {
    let text = serde_json::to_string_pretty(&report.to_json()).map_err(io::Error::other)?;
    writeln!(out, "{text}")
}

fn write_issues(err: &mut dyn Write, issues: &[&Issue]) -> io::Result<()> {
    for issue in issues {
        writeln!(err, "    [{}] {}", issue.code, issue.message)?;
    }
    Ok(())
}

fn write_human(
    report: &PackageReport,
    dir: &Path,
    quiet: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    let errors: Vec<&Issue> = report.errors().collect();
    let warnings: Vec<&Issue> = report.warnings().collect();

    if !errors.is_empty() {
        writeln!(
            err,
            "  ✗ Package validation failed ({} error(s))",
            errors.len()
        )?;
        write_issues(err, &errors)?;
    }
    if !warnings.is_empty() {
        writeln!(err, "  Validation warnings ({}):", warnings.len())?;
        write_issues(err, &warnings)?;
    }
    if errors.is_empty() && warnings.is_empty() && !quiet {
        writeln!(out, "  ✓ Package is valid: {}", dir.display())?;
        if let Some(manifest) = report.manifest.as_ref().and_then(Value::as_object) {
            writeln!(
                out,
                "    provider:   {}",
                js_string(manifest.get("provider"))
            )?;
            if let Some(counts) = manifest.get("entitiesExported").and_then(Value::as_object) {
                for (key, count) in counts {
                    writeln!(out, "    {key:<24} {}", js_string(Some(count)))?;
                }
            }
        }
    }
    out.flush()?;
    err.flush()
}
