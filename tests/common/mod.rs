//! Helpers shared by the CLI integration tests: run the real binary with a
//! timeout and capture its output.
#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `workos-migrate args…` in `cwd`; fails the test after 120 s (a hang).
pub fn run_in(cwd: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn workos-migrate");
    // Drain both pipes on their own threads so a chatty child never blocks.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("workos-migrate {args:?} hung for 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let code = status.code().unwrap_or(-1);
    let run = Run {
        code,
        stdout: String::from_utf8_lossy(&stdout.join().expect("stdout thread")).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.join().expect("stderr thread")).into_owned(),
    };
    assert_ne!(code, 101, "workos-migrate panicked: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
    run
}

pub fn run(args: &[&str]) -> Run {
    run_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// Asserts a fatal error: non-zero exit and exactly one line on stderr.
pub fn assert_one_line_error(r: &Run) -> &str {
    assert_ne!(r.code, 0, "expected failure, stdout: {}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one stderr line, got: {:?}",
        r.stderr
    );
    lines[0]
}
