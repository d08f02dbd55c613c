//! Runs a step's command as a child process of this binary
//! (`std::env::current_exe()`), on the same terminal so its progress bars
//! show, and tells a Ctrl-C apart from a failure.
//!
//! While the wizard runs, SIGINT is caught (tokio's signal handler) instead
//! of killing it: a Ctrl-C typed while a step runs reaches the child (same
//! process group, default action) and is recorded here, so the wizard can
//! take the cancel path once the child has exited. At a prompt the terminal
//! is in raw mode and Ctrl-C arrives as a key instead.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::commands::StepCommand;

/// SIGINT's number on every Unix.
const SIGINT: i32 = 2;

/// How a step's command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    Success,
    /// Exit code (or -1 when killed by a signal other than Ctrl-C).
    Failed(i32),
    /// Ctrl-C was pressed while it ran.
    Interrupted,
}

/// Errors starting the runner or a child.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("cannot find this program's path: {0}")]
    CurrentExe(std::io::Error),
    #[error("cannot catch Ctrl-C: {0}")]
    Signal(std::io::Error),
    #[error("cannot run {command}: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
}

/// Starts children and watches for Ctrl-C.
pub struct Runner {
    exe: PathBuf,
    interrupted: Arc<AtomicBool>,
    _runtime: tokio::runtime::Runtime,
}

impl Runner {
    /// Installs the SIGINT handler (for the rest of the process's life).
    pub fn new() -> Result<Self, RunnerError> {
        let exe = std::env::current_exe().map_err(RunnerError::CurrentExe)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(RunnerError::Signal)?;
        let interrupted = Arc::new(AtomicBool::new(false));
        let mut sigint = {
            let _guard = runtime.enter();
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .map_err(RunnerError::Signal)?
        };
        let flag = interrupted.clone();
        runtime.spawn(async move {
            while sigint.recv().await.is_some() {
                flag.store(true, Ordering::SeqCst);
            }
        });
        Ok(Self {
            exe,
            interrupted,
            _runtime: runtime,
        })
    }

    /// Ctrl-C was pressed outside a prompt since the last check; clears it.
    pub fn take_interrupt(&self) -> bool {
        self.interrupted.swap(false, Ordering::SeqCst)
    }

    /// Prints the repeat line, runs `cmd` on the terminal and waits for it.
    pub fn run(&self, cmd: &StepCommand, out: &mut dyn Write) -> Result<RunOutcome, RunnerError> {
        let _ = writeln!(out, "  Repeat this step: {}\n", cmd.display());
        let _ = out.flush();
        self.interrupted.store(false, Ordering::SeqCst);
        let mut child = Command::new(&self.exe);
        child.args(&cmd.args);
        for (k, v) in &cmd.secret_env {
            child.env(k, v);
        }
        let status =
            child
                .spawn()
                .and_then(|mut c| c.wait())
                .map_err(|source| RunnerError::Spawn {
                    command: cmd.display(),
                    source,
                })?;
        // A child killed by SIGINT, or one that handled it and exited
        // non-zero: the flag is set by the signal task, which may run a
        // moment after the child has been reaped.
        let by_sigint = status.signal() == Some(SIGINT);
        if !status.success() && !by_sigint {
            let deadline = Instant::now() + Duration::from_millis(300);
            while !self.interrupted.load(Ordering::SeqCst) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        if self.take_interrupt() || by_sigint {
            return Ok(RunOutcome::Interrupted);
        }
        Ok(match status.code() {
            Some(0) => RunOutcome::Success,
            Some(c) => RunOutcome::Failed(c),
            None => RunOutcome::Failed(-1),
        })
    }
}
