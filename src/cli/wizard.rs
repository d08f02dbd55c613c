//! `wizard`: clap types and thin dispatch; the flow is [`crate::wizard`].

use std::io::Write;

use clap::Args;

/// `wizard` takes no options (import.md §1.7).
#[derive(Debug, Args)]
pub struct WizardArgs {}

/// Runs the wizard; returns the exit code.
pub fn run_wizard(_args: WizardArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    crate::wizard::run_wizard(out, err)
}
