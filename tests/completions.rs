//! `completions SHELL` and `--version`, through the real binary.
//!
//! The bash script is checked by bash itself: `bash -n` parses it, and a
//! real `bash` sources it and runs the completion function that `complete
//! -p workos-migrate` names, with `COMP_WORDS`/`COMP_CWORD` set as bash sets
//! them on <TAB>; the test reads back `COMPREPLY`.

mod common;

use std::path::Path;
use std::process::Command;

use common::run;

fn bash_script() -> String {
    let r = run(&["completions", "bash"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    r.stdout
}

/// Sources `script` in a fresh bash, "presses TAB" after `words` (the last
/// one is the word being completed) and returns `COMPREPLY`, one per line.
fn complete(script_path: &Path, words: &[&str]) -> Vec<String> {
    let cword = words.len() - 1;
    let line = words.join(" ");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        r#"set -u
source '{script}'
spec=$(complete -p workos-migrate) || exit 3
fn=$(printf '%s\n' "$spec" | sed -n 's/.*-F \([^ ]*\).*/\1/p')
[ -n "$fn" ] || exit 4
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE='{line}'
COMP_POINT=${{#COMP_LINE}}
COMPREPLY=()
"$fn" workos-migrate "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        script = script_path.display(),
        words = quoted.join(" "),
    );
    let out = Command::new("bash")
        .arg("--norc")
        .arg("--noprofile")
        .arg("-c")
        .arg(&program)
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "bash failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_script_parses_and_completes_ex_to_export_and_export_template() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("workos-migrate.bash");
    std::fs::write(&path, bash_script()).unwrap();

    let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );

    let reply = complete(&path, &["workos-migrate", "ex"]);
    assert!(reply.iter().any(|w| w == "export"), "{reply:?}");
    assert!(reply.iter().any(|w| w == "export-template"), "{reply:?}");
    assert!(reply.iter().all(|w| w.starts_with("ex")), "{reply:?}");

    // A subcommand's own subcommands and options complete too.
    let reply = complete(&path, &["workos-migrate", "export", "au"]);
    assert_eq!(reply, vec!["auth0".to_string()]);
    let reply = complete(&path, &["workos-migrate", "import-package", "--dry"]);
    assert_eq!(reply, vec!["--dry-run".to_string()]);
    let reply = complete(&path, &["workos-migrate", "export", "auth0", "--dom"]);
    assert_eq!(reply, vec!["--domain".to_string()]);
    let reply = complete(&path, &["workos-migrate", "completions", "fi"]);
    assert_eq!(reply, vec!["fish".to_string()]);
}

#[test]
fn every_listed_shell_gets_a_script_naming_the_binary() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert_eq!(r.stderr, "", "{shell}");
        assert!(r.stdout.contains("workos-migrate"), "{shell}");
        assert!(r.stdout.contains("export-template"), "{shell}");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let r = run(&["completions", "tcsh"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr
            .starts_with("error: invalid value 'tcsh' for '<SHELL>'"),
        "{}",
        r.stderr
    );
    let r = run(&["completions"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
}

#[test]
fn version_prints_the_crate_version_at_top_level_and_on_subcommands() {
    let want = format!("workos-migrate {}\n", env!("CARGO_PKG_VERSION"));
    for flag in ["--version", "-V"] {
        let r = run(&[flag]);
        assert_eq!(r.code, 0);
        assert_eq!(r.stdout, want);
        assert_eq!(r.stderr, "");
    }
    // propagate_version: every subcommand answers with its own name.
    let r = run(&["export", "--version"]);
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout,
        format!("workos-migrate-export {}\n", env!("CARGO_PKG_VERSION"))
    );
    let r = run(&["import-package", "--version"]);
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout,
        format!(
            "workos-migrate-import-package {}\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn verbose_is_a_global_counted_flag() {
    // Accepted before and after the subcommand, repeated; changes nothing
    // for a command that calls no API.
    let plain = run(&["export-template", "--list"]);
    for args in [
        &["-v", "export-template", "--list"][..],
        &["export-template", "--list", "-vv"][..],
        &["--verbose", "--verbose", "export-template", "--list"][..],
    ] {
        let r = run(args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, plain.stdout, "{args:?}");
        assert_eq!(r.stderr, "", "{args:?}");
    }
    let r = run(&["completions", "bash", "--verbose=3"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
}
