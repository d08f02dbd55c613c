//! `wizard`: the guided migration (import.md §1.7, §9) on the package path —
//! export → (Auth0) merge-passwords → validate-package + validate --csv (with
//! the auto-fix offer) → plan + dry run → import-package.
//!
//! Every step that does work runs a real command line of this binary
//! ([`commands`], [`runner`]) and prints it first, so the user can repeat it
//! without the wizard. Progress is saved after each step in a state file
//! ([`state`]) and a later run in the same directory offers to continue.
//! Secrets are read hidden ([`prompts`]), kept in memory ([`answers::Secrets`])
//! and handed to children through their environment only.

pub mod answers;
pub mod commands;
pub mod env_file;
mod export_steps;
mod import_steps;
pub mod prompts;
pub mod runner;
pub mod state;
pub mod steps;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use answers::{CsvMode, Secrets, Source};
use prompts::PromptError;
use runner::{Runner, RunnerError};
use state::{StateError, WizardState};
use steps::Step;

/// The one line printed (exit 2) when stdin is not a terminal.
pub const NON_TTY_HINT: &str = "wizard needs an interactive terminal (stdin is not a TTY); run the steps instead: workos-migrate export <auth0|cognito|clerk|firebase|csv> --output-dir DIR ..., workos-migrate validate-package DIR, workos-migrate import-package DIR --dry-run, workos-migrate import-package DIR";

/// Exit code when stdin is not a terminal.
pub const EXIT_NOT_A_TERMINAL: i32 = 2;

/// Why the wizard stopped before the summary.
#[derive(Debug, thiserror::Error)]
pub enum WizardError {
    /// Esc / Ctrl-C, or the user declined to go on.
    #[error("cancelled")]
    Cancelled,
    /// A step's command failed; the retry hint has been printed.
    #[error("step failed")]
    StepFailed,
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Runner(#[from] RunnerError),
    #[error(transparent)]
    MissingSecret(#[from] commands::MissingSecret),
    #[error("{0}")]
    Terminal(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl From<PromptError> for WizardError {
    fn from(e: PromptError) -> Self {
        match e {
            PromptError::Cancelled => WizardError::Cancelled,
            PromptError::Terminal(m) => WizardError::Terminal(m),
        }
    }
}

type StepResult = Result<(), WizardError>;

/// Runs the wizard in the current directory; returns the exit code.
pub fn run_wizard(out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    if !io::stdin().is_terminal() {
        let _ = writeln!(err, "{NON_TTY_HINT}");
        return EXIT_NOT_A_TERMINAL;
    }
    let _ = writeln!(out, "\n  WorkOS Migration Wizard\n");
    let _ = writeln!(
        out,
        "  This wizard will guide you through migrating users to WorkOS."
    );
    let _ = writeln!(out, "  Press Ctrl+C at any time to exit.\n");
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => return wizard_error(err, &e),
    };
    let runner = match Runner::new() {
        Ok(r) => r,
        Err(e) => return wizard_error(err, &e),
    };
    let mut wizard = Wizard {
        state: WizardState::new(),
        state_path: state::state_path(&cwd),
        secrets: Secrets::default(),
        runner,
        out,
    };
    let result = wizard.resume_or_start().and_then(|()| wizard.run_steps());
    match result {
        Ok(()) => 0,
        Err(WizardError::Cancelled | WizardError::StepFailed) => {
            wizard.print_cancelled();
            0
        }
        Err(e) => wizard_error(err, &e),
    }
}

fn wizard_error(err: &mut dyn Write, e: &dyn std::fmt::Display) -> i32 {
    let _ = writeln!(
        err,
        "\nWizard error: {}",
        crate::cli::one_line(&e.to_string())
    );
    1
}

/// Whether `step` has anything to do for the answers so far.
fn applies(a: &answers::Answers, step: Step) -> bool {
    let importing = !a.sso_only();
    match step {
        Step::PasswordMerge => {
            a.source == Some(Source::Auth0)
                && importing
                && a.auth0
                    .as_ref()
                    .is_some_and(|x| x.entities.iter().any(|e| e == "users"))
        }
        Step::Validation | Step::ImportConfig | Step::Import => importing,
        Step::PostImport => importing && !a.dry_run_only,
        _ => true,
    }
}

/// The first step left that has something to do.
fn next_applicable(state: &WizardState) -> Option<Step> {
    Step::ALL
        .into_iter()
        .filter(|s| s.number() > state.last_finished)
        .find(|s| applies(&state.answers, *s))
}

/// One run of the wizard.
pub(crate) struct Wizard<'a> {
    state: WizardState,
    state_path: PathBuf,
    secrets: Secrets,
    runner: Runner,
    out: &'a mut dyn Write,
}

impl Wizard<'_> {
    /// Offers to continue a saved migration; otherwise starts afresh.
    fn resume_or_start(&mut self) -> StepResult {
        let Some(saved) = state::load(&self.state_path)? else {
            return Ok(());
        };
        match next_applicable(&saved) {
            Some(step) if saved.last_finished > 0 => {
                let source = saved.answers.source.map_or("?", Source::name);
                self.say(&format!(
                    "  A previous {source} migration in this directory stopped before step {}: {}.",
                    step.number(),
                    step.title()
                ));
                let question = format!("Continue from step {} ({})?", step.number(), step.title());
                // Held while asking, so a cancel here still points at it.
                self.state = saved;
                if prompts::confirm(&question, true)? {
                    return Ok(());
                }
                self.state = WizardState::new();
                state::remove(&self.state_path)?;
                Ok(())
            }
            _ => Ok(state::remove(&self.state_path)?),
        }
    }

    /// Runs the steps left, saving the state after each.
    fn run_steps(&mut self) -> StepResult {
        while let Some(step) = self.state.next_step() {
            if self.runner.take_interrupt() {
                return Err(WizardError::Cancelled);
            }
            if applies(&self.state.answers, step) {
                self.say(&format!("\n  Step {}: {}\n", step.number(), step.title()));
                self.run_step(step)?;
            }
            self.state.last_finished = step.number();
            if step == Step::Summary {
                state::remove(&self.state_path)?;
            } else {
                self.save()?;
            }
        }
        Ok(())
    }

    fn run_step(&mut self, step: Step) -> StepResult {
        match step {
            Step::Provider => self.select_provider(),
            Step::Credentials => self.credentials(),
            Step::ExportConfig => self.export_config(),
            Step::Export => self.export(),
            Step::PasswordMerge => self.password_merge(),
            Step::Validation => self.validation(),
            Step::ImportConfig => self.import_config(),
            Step::Import => self.import(),
            Step::PostImport => self.post_import(),
            Step::Summary => self.summary(),
        }
    }

    fn save(&self) -> StepResult {
        Ok(state::save(&self.state_path, &self.state)?)
    }

    fn say(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    /// The package directory chosen in step 3.
    fn package_dir(&self) -> Result<PathBuf, WizardError> {
        self.state
            .answers
            .output_dir
            .clone()
            .ok_or_else(|| WizardError::Terminal("no package directory chosen".into()))
    }

    /// The WorkOS key: from the environment, typed earlier, or asked now.
    fn ensure_workos_key(&mut self) -> StepResult {
        if self.secrets.workos_key.is_some() {
            return Ok(());
        }
        if commands::env_set("WORKOS_SECRET_KEY") {
            self.say("  WorkOS API key found in environment.");
            return Ok(());
        }
        self.say("  WORKOS_SECRET_KEY is not set; it is needed for the import.");
        let key = prompts::password("Enter your WorkOS Secret Key (sk_...)", |s| {
            (!s.trim().starts_with("sk_")).then_some("Must start with sk_")
        })?;
        self.secrets.workos_key = Some(key.trim().to_string());
        Ok(())
    }

    /// The cancel path (§9): what stopped, where the files are, how to go on.
    fn print_cancelled(&mut self) {
        self.say("\n  Wizard cancelled.");
        if let Some(dir) = self.state.answers.output_dir.clone() {
            if dir.join("manifest.json").is_file() {
                self.say(&format!("  Your package is at: {}", dir.display()));
            }
        }
        if self.state_path.is_file() {
            if let Some(step) = next_applicable(&self.state) {
                self.say(&format!(
                    "  Progress is saved in {}: run `workos-migrate wizard` here again to continue from step {} ({}).",
                    state::STATE_FILE,
                    step.number(),
                    step.title()
                ));
            }
        }
        self.say("  You can run individual commands to continue where you left off.\n");
    }

    /// Custom CSV with a blank package: stop after writing it.
    fn blank_csv_package(&self) -> bool {
        self.state.answers.source == Some(Source::Csv)
            && self.state.answers.csv_mode == Some(CsvMode::BlankPackage)
    }
}
