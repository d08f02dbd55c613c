//! The legacy single-CSV mode shared by `transform-clerk` and
//! `transform-firebase` (no `--package`): export into a scratch package beside
//! the output, write the legacy CSV and skipped log from it, remove the
//! scratch package, print the summary.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::fail as failed;
use crate::sources::legacy_csv::{
    partial_path, scratch_package_dir, skipped_log_path, write_legacy_csv, LegacyCsvSummary,
    LegacySource, OutcomeLock,
};
use crate::sources::mapping::UserMappings;

/// Where the rows come from and how to export them.
pub(crate) struct LegacyRun<'a> {
    pub source: LegacySource,
    pub input: &'a Path,
    pub output: &'a Path,
    pub org_mapping: Option<&'a Path>,
    pub role_mapping: Option<&'a Path>,
    pub quiet: bool,
}

/// Runs `export` (which writes a package into the directory it is given)
/// and turns the package into the legacy output; returns the exit code.
pub(crate) fn run_legacy(
    run: LegacyRun<'_>,
    export: impl FnOnce(&Path) -> Result<(), String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    const PREFIX: &str = "Transform failed";
    if run.output.is_dir() {
        return failed(
            err,
            PREFIX,
            &format!("--output {} is a directory", run.output.display()),
        );
    }
    let same_file = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same_file(run.output, run.input) {
        return failed(
            err,
            PREFIX,
            &format!("--output {} is the input file", run.output.display()),
        );
    }
    let scratch = scratch_package_dir(run.output);
    let outcome = OutcomeLock::default();
    remove_on_interrupt(
        "Transform",
        outcome.clone(),
        scratch.clone(),
        [run.output, &skipped_log_path(run.output)].map(partial_path),
    );
    let result = export(&scratch).and_then(|()| {
        let mappings = UserMappings::load(run.org_mapping, run.role_mapping, run.source.user_key())
            .map_err(|e| e.to_string())?;
        write_legacy_csv(&scratch, run.source, &mappings, run.output, &outcome)
            .map_err(|e| e.to_string())
    });
    // A failure may be an interrupt's cleanup pulling files away: then the
    // handler owns the outcome and this never returns.
    outcome.settle();
    // The scratch package holds password hashes: never leave it behind.
    let _ = std::fs::remove_dir_all(&scratch);
    let summary = match result {
        Ok(s) => s,
        Err(e) => return failed(err, PREFIX, &e),
    };
    if run.source == LegacySource::Clerk && summary.users + summary.skipped == 0 {
        let _ = std::fs::remove_file(&summary.output);
        let _ = std::fs::remove_file(&summary.skipped_log);
        return failed(err, PREFIX, &"No users found in Clerk CSV");
    }
    if !run.quiet {
        print_summary(out, &summary);
    }
    let _ = out.flush();
    0
}

/// On Ctrl-C, removes the scratch package (it holds password hashes) and
/// the unfinished outputs, and exits 130, instead of dying with them left
/// behind; nothing once `outcome` is settled. The handler is in place when
/// this returns.
/// `verb` starts the message (`Transform`, `Export`).
pub(crate) fn remove_on_interrupt(
    verb: &'static str,
    outcome: OutcomeLock,
    scratch: PathBuf,
    partials: [PathBuf; 2],
) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    #[cfg(unix)]
    let interrupted = {
        use tokio::signal::unix::{signal, SignalKind};
        let _in_runtime = runtime.enter();
        match signal(SignalKind::interrupt()) {
            Ok(mut sig) => async move { sig.recv().await.is_some() },
            Err(_) => return,
        }
    };
    #[cfg(not(unix))]
    let interrupted = async { tokio::signal::ctrl_c().await.is_ok() };
    let _ = std::thread::Builder::new()
        .name("legacy-interrupt".into())
        .spawn(move || {
            if !runtime.block_on(interrupted) {
                return;
            }
            // Held until the exit, so the run can neither create nor publish
            // a file meanwhile.
            let settled = outcome.hold();
            if *settled {
                return;
            }
            remove_scratch_package(&scratch);
            for p in &partials {
                let _ = std::fs::remove_file(p);
            }
            eprintln!("{verb} interrupted; its scratch package and unfinished files were removed");
            std::process::exit(130);
        });
}

/// Removes the scratch package while the export's threads may still be
/// creating files in it: renamed first, so nothing new can appear under its
/// name (the export creates files by path and never recreates directories
/// after starting), then removed, retrying a file created mid-removal.
fn remove_scratch_package(scratch: &Path) {
    let mut doomed = scratch.as_os_str().to_os_string();
    doomed.push(".removing");
    let doomed = PathBuf::from(doomed);
    let target = match std::fs::rename(scratch, &doomed) {
        Ok(()) => doomed.as_path(),
        Err(_) => scratch,
    };
    for _ in 0..50 {
        match std::fs::remove_dir_all(target) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            _ => return,
        }
    }
}

fn print_summary(out: &mut dyn Write, s: &LegacyCsvSummary) {
    let _ = writeln!(out, "Transform complete");
    let _ = writeln!(out, "  Output: {}", s.output.display());
    let _ = writeln!(out, "  Users: {}", s.users);
    let _ = writeln!(out, "    with password: {}", s.with_password);
    let _ = writeln!(out, "    without password: {}", s.without_password());
    let _ = writeln!(
        out,
        "  Skipped: {} ({})",
        s.skipped,
        s.skipped_log.display()
    );
    for (reason, n) in &s.skip_reasons {
        let _ = writeln!(out, "    {reason}: {n}");
    }
    if !s.password_notes.is_empty() {
        let _ = writeln!(out, "  Passwords omitted (user exported without one):");
        for (code, n) in &s.password_notes {
            let _ = writeln!(out, "    {code}: {n}");
        }
    }
}
