//! Steps 6–10 of the wizard: validation (with the auto-fix offer), import
//! configuration, plan + dry run + import, the optional extra TOTP / role
//! files, and the summary.

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::answers::{ImportAnswers, ValidationOutcome};
use super::commands::{self, StepCommand};
use super::prompts;
use super::runner::RunOutcome;
use super::{StepResult, Wizard, WizardError};

/// `import-package`'s exit code when some rows failed.
const ROW_FAILURES: i32 = crate::cli::import_package::EXIT_ROW_FAILURES;

/// Whether two files differ, compared in fixed-size chunks.
fn files_differ(a: &Path, b: &Path) -> io::Result<bool> {
    if fs::metadata(a)?.len() != fs::metadata(b)?.len() {
        return Ok(true);
    }
    let (mut ra, mut rb) = (
        BufReader::new(File::open(a)?),
        BufReader::new(File::open(b)?),
    );
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = ra.read(&mut ba)?;
        if n == 0 {
            return Ok(false);
        }
        rb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            return Ok(true);
        }
    }
}

impl Wizard<'_> {
    /// Runs `cmd`; Ctrl-C → cancel path.
    fn run_or_cancel(&mut self, cmd: &StepCommand) -> Result<RunOutcome, WizardError> {
        match self.runner.run(cmd, self.out)? {
            RunOutcome::Interrupted => Err(WizardError::Cancelled),
            other => Ok(other),
        }
    }

    /// A failed step: the retry line, then the cancel path.
    fn step_failed(&mut self, cmd: &StepCommand) -> StepResult {
        self.say(&format!("\n  You can retry with: {}", cmd.display()));
        Err(WizardError::StepFailed)
    }

    /// Step 6: `validate-package`, then `validate --csv` on `users.csv` with
    /// the auto-fix offer (the fixed file replaces `users.csv`; the original
    /// is kept as `users.original.csv`).
    pub(super) fn validation(&mut self) -> StepResult {
        let dir = self.package_dir()?;
        let mut clean = true;
        if let RunOutcome::Failed(_) = self.run_or_cancel(&commands::validate_package(&dir))? {
            self.say("  The package did not pass validate-package.");
            if !prompts::confirm("Continue anyway?", false)? {
                return Err(WizardError::Cancelled);
            }
            clean = false;
        }
        let users = dir.join("users.csv");
        if users.is_file() {
            clean &= self.validate_users_csv(&dir, &users)?;
        }
        self.state.answers.validation = Some(if clean {
            ValidationOutcome::Passed
        } else {
            ValidationOutcome::PassedWithWarnings
        });
        Ok(())
    }

    /// `validate --csv` and the auto-fix offer; `false` when the user went on
    /// with errors.
    fn validate_users_csv(&mut self, dir: &Path, users: &Path) -> Result<bool, WizardError> {
        if self.run_or_cancel(&commands::validate_csv(users, None))? == RunOutcome::Success {
            return Ok(true);
        }
        if !prompts::confirm("Fix what can be fixed automatically (auto-fix)?", true)? {
            if prompts::confirm("Continue with invalid CSV?", false)? {
                return Ok(false);
            }
            return Err(WizardError::Cancelled);
        }
        let fixed = dir.join("users-fixed.csv");
        self.run_or_cancel(&commands::validate_csv(users, Some(&fixed)))?;
        let io_err = |source| WizardError::Io {
            path: fixed.clone(),
            source,
        };
        if fixed.is_file() {
            if files_differ(users, &fixed).map_err(io_err)? {
                fs::rename(users, dir.join("users.original.csv")).map_err(io_err)?;
                fs::rename(&fixed, users).map_err(io_err)?;
                self.state.answers.auto_fixed = true;
                self.say("  users.csv now holds the fixed rows (the original is kept as users.original.csv).");
            } else {
                fs::remove_file(&fixed).map_err(io_err)?;
            }
        }
        if self.run_or_cancel(&commands::validate_csv(users, None))? == RunOutcome::Success {
            return Ok(true);
        }
        if prompts::confirm("Continue anyway?", false)? {
            Ok(false)
        } else {
            Err(WizardError::Cancelled)
        }
    }

    /// Step 7.
    pub(super) fn import_config(&mut self) -> StepResult {
        let concurrency = prompts::number("Import concurrency (parallel requests)", 10, 1, 50)?;
        let rate_limit = prompts::number("Import rate limit (requests/sec)", 50, 1, 200)?;
        let dry_run_first = prompts::confirm("Run as dry-run first (recommended)?", true)?;
        self.state.answers.import = Some(ImportAnswers {
            concurrency,
            rate_limit,
            dry_run_first,
        });
        Ok(())
    }

    /// Step 8: the plan, the dry run, the confirmation, the import.
    pub(super) fn import(&mut self) -> StepResult {
        let dir = self.package_dir()?;
        let Some(settings) = self.state.answers.import.clone() else {
            return Err(WizardError::Terminal("import settings missing".into()));
        };
        let plan = commands::import_plan(&dir);
        if let RunOutcome::Failed(_) = self.run_or_cancel(&plan)? {
            return self.step_failed(&plan);
        }
        if settings.dry_run_first {
            if !prompts::confirm("Start the dry run?", true)? {
                return Err(WizardError::Cancelled);
            }
            let dry = commands::import_package(&dir, &settings, true, &self.secrets)?;
            match self.run_or_cancel(&dry)? {
                RunOutcome::Failed(code) if code != ROW_FAILURES => return self.step_failed(&dry),
                _ => {}
            }
            if !prompts::confirm("Dry-run complete. Run the actual import now?", true)? {
                self.state.answers.dry_run_only = true;
                return Ok(());
            }
        } else if !prompts::confirm("Start the import into WorkOS?", true)? {
            return Err(WizardError::Cancelled);
        }
        self.ensure_workos_key()?;
        let live = commands::import_package(&dir, &settings, false, &self.secrets)?;
        match self.run_or_cancel(&live)? {
            RunOutcome::Success => {}
            RunOutcome::Failed(ROW_FAILURES) => {
                self.state.answers.import_row_failures = true;
                self.say(&format!(
                    "  Some rows failed: see {}",
                    dir.join("workos_import_errors.jsonl").display()
                ));
            }
            _ => return self.step_failed(&live),
        }
        Ok(())
    }

    /// Step 9: TOTP secrets and role definitions kept outside the package.
    pub(super) fn post_import(&mut self) -> StepResult {
        if prompts::confirm(
            "Do you have TOTP/MFA secrets to migrate (besides the package's totp_secrets.csv)?",
            false,
        )? {
            let input = prompts::existing_file("Path to the TOTP secrets file (CSV or NDJSON)")?;
            let issuer = prompts::optional_text("TOTP issuer name")?;
            self.ensure_workos_key()?;
            let cmd = commands::enroll_totp(&input, issuer.as_deref(), &self.secrets)?;
            match self.run_or_cancel(&cmd)? {
                RunOutcome::Success => self.state.answers.totp_enrolled = true,
                _ => self.say(&format!(
                    "  TOTP enrollment did not finish; retry with: {}",
                    cmd.display()
                )),
            }
        }
        if prompts::confirm(
            "Do you have role definitions to process (besides the package's role_definitions.csv)?",
            false,
        )? {
            let definitions = prompts::existing_file("Path to the role definitions CSV")?;
            let mapping = prompts::optional_file("Path to the user-role mapping CSV")?;
            let org = prompts::optional_text("WorkOS organization ID for organization roles")?;
            self.ensure_workos_key()?;
            let cmd =
                commands::process_roles(&definitions, &mapping, org.as_deref(), &self.secrets)?;
            match self.run_or_cancel(&cmd)? {
                RunOutcome::Success => self.state.answers.roles_processed = true,
                _ => self.say(&format!(
                    "  Role processing did not finish; retry with: {}",
                    cmd.display()
                )),
            }
        }
        Ok(())
    }

    /// Step 10: the `Migration Complete` box and the next steps.
    pub(super) fn summary(&mut self) -> StepResult {
        let a = self.state.answers.clone();
        let rule = "=".repeat(50);
        let dir = self.package_dir()?;
        self.say(&format!("  {rule}"));
        self.say("  Migration Complete");
        self.say(&format!("  {rule}"));
        self.say(&format!(
            "  Provider:    {}",
            a.source.map_or("?", |s| s.name())
        ));
        self.say(&format!("  Package:     {}", dir.display()));
        if a.sso_only() {
            self.say("  SSO connections exported for hand-off (see the package's sso/ folder).");
        } else {
            let validation = match a.validation {
                Some(ValidationOutcome::Passed) => "passed",
                _ => "passed with warnings",
            };
            self.say(&format!("  Validation:  {validation}"));
            if a.auto_fixed {
                self.say("  Auto-fix:    applied (users.original.csv kept)");
            }
            if a.passwords_merged {
                self.say("  Passwords:   merged");
            }
            if a.dry_run_only {
                self.say("  Mode:        dry-run only");
            }
            if a.totp_enrolled {
                self.say("  TOTP:        enrolled");
            }
            if a.roles_processed {
                self.say("  Roles:       processed");
            }
        }
        self.say(&format!("  {rule}"));
        self.say("\n  Next steps:");
        self.say("    - Review the imported users in the WorkOS dashboard");
        if !a.sso_only() {
            let errors = dir.join("workos_import_errors.jsonl");
            self.say(&format!("    - Check {} for failed rows", errors.display()));
            self.say(&format!(
                "    - workos-migrate analyze --errors {}",
                errors.display()
            ));
            if a.dry_run_only {
                self.say(&format!(
                    "    - Run the import: workos-migrate import-package {}",
                    dir.display()
                ));
            }
        }
        self.say("\n  For help: workos-migrate --help\n");
        Ok(())
    }
}
