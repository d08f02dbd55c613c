//! The long-running commands on a real terminal: each runs under a
//! pseudo-terminal (util-linux `script`), must finish, and must have drawn its
//! progress bar (rows, rows/s, ETA). Piped runs stay quiet; the other tests
//! cover that, since they all capture output through pipes.
//!
//! Regression: the command dispatcher once held the stderr lock for the whole
//! command while the progress bar's ticker thread drew on stderr, so every
//! command that ran longer than one tick (200 ms) on a terminal hung.

mod fakes;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use workos_migrate::synth::{generate, SynthFormat, SynthSpec};

const TIMEOUT: Duration = Duration::from_secs(300);

/// A synthetic input big enough that a debug build runs for seconds, so the
/// progress bar ticks many times.
fn synth(dir: &Path, format: SynthFormat, users: u64, name: &str) -> PathBuf {
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).expect("create input");
    let spec = SynthSpec {
        format,
        users,
        dirty: 0.04,
        seed: 7,
        orgs: 20,
    };
    generate(&spec, &mut file).expect("generate input");
    path
}

/// Quotes one argument for `sh -c`.
fn sh_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// Runs `workos-migrate args…` with stdin, stdout and stderr on a
/// pseudo-terminal; returns the exit code and everything it drew.
fn run_on_terminal(args: &[&str]) -> (i32, String) {
    let bin = env!("CARGO_BIN_EXE_workos-migrate");
    let command = std::iter::once(bin)
        .chain(args.iter().copied())
        .map(sh_quote)
        .collect::<Vec<_>>()
        .join(" ");
    // -q: no start/done lines; -e: exit with the command's code; -f: flush
    // output as it comes; /dev/null: no typescript file.
    let mut child = Command::new("script")
        .args(["-q", "-e", "-f", "-c", &command, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect(
            "util-linux `script` runs commands on a pseudo-terminal; install it (Debian: bsdutils)",
        );
    let mut stdout = child.stdout.take().expect("stdout");
    let drained = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            // The command handles SIGHUP (as an interrupt), so a hung one
            // would outlive its terminal: kill it first (only `script`'s own
            // children), then `script`.
            let _ = Command::new("pkill")
                .args(["-KILL", "-P", &child.id().to_string()])
                .status();
            let _ = child.kill();
            panic!("workos-migrate {args:?} hung on a terminal for {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = String::from_utf8_lossy(&drained.join().expect("drain")).into_owned();
    (status.code().unwrap_or(-1), text)
}

fn assert_progress_drawn(text: &str, label: &str) {
    assert!(
        text.contains(&format!("{label} [")) && text.contains(" rows/s)") && text.contains(" eta "),
        "no progress bar for {label:?} on the terminal:\n{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn validate_draws_progress_and_finishes_on_a_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = synth(dir.path(), SynthFormat::WorkosCsv, 200_000, "users.csv");
    let (code, text) = run_on_terminal(&["validate", "--csv", csv.to_str().expect("utf-8")]);
    // The planted defects make the file invalid: exit 1 with a report.
    assert_eq!(code, 1, "{text}");
    assert_progress_drawn(&text, "validate");
}

#[test]
fn exports_draw_progress_and_finish_on_a_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let firebase = synth(dir.path(), SynthFormat::FirebaseJson, 100_000, "users.json");
    let out = dir.path().join("pkg-firebase");
    let (code, text) = run_on_terminal(&[
        "export",
        "firebase",
        "--from-file",
        firebase.to_str().expect("utf-8"),
        "--output-dir",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{text}");
    assert_progress_drawn(&text, "Firebase users");
    assert!(out.join("manifest.json").is_file(), "{text}");

    let clerk = synth(dir.path(), SynthFormat::ClerkCsv, 150_000, "clerk.csv");
    let out = dir.path().join("pkg-clerk");
    let (code, text) = run_on_terminal(&[
        "export",
        "clerk",
        "--from-file",
        clerk.to_str().expect("utf-8"),
        "--output-dir",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{text}");
    assert_progress_drawn(&text, "clerk");
    assert!(out.join("manifest.json").is_file(), "{text}");
}

#[test]
fn import_dry_run_draws_progress_and_finishes_on_a_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = synth(dir.path(), SynthFormat::WorkosCsv, 100_000, "users.csv");
    let (code, text) = run_on_terminal(&[
        "import",
        "--csv",
        csv.to_str().expect("utf-8"),
        "--dry-run",
        "--errors",
        dir.path().join("errors.jsonl").to_str().expect("utf-8"),
        "--checkpoint-dir",
        dir.path().join("checkpoints").to_str().expect("utf-8"),
    ]);
    // Rows with planted defects fail: the run finishes with exit 3.
    assert!(code == 0 || code == 3, "exit {code}: {text}");
    assert_progress_drawn(&text, "Importing");
}

#[test]
fn auth0_export_draws_progress_and_finishes_on_a_terminal() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let fake = rt.block_on(fakes::auth0::FakeAuth0::synthetic(3000, 30));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("pkg-auth0");
    let (url, id, secret) = (fake.url(), fake.client_id(), fake.client_secret());
    let (code, text) = run_on_terminal(&[
        "export",
        "auth0",
        "--domain",
        &url,
        "--client-id",
        &id,
        "--client-secret",
        &secret,
        "--rate-limit",
        "10000",
        "--output-dir",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("Auth0 members") && text.contains(" rows/s)"),
        "no progress for the Auth0 export on the terminal:\n{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    assert!(out.join("manifest.json").is_file(), "{text}");
}
