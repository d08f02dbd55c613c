//! The wizard's cancel, failure and resume paths through a real
//! pseudo-terminal: Ctrl-C at a prompt, during the export and at the import
//! confirmation (exit 0, the cancel message, no complete-looking partial
//! package, no typed secret in any file; the re-run offers to continue and
//! finishes with every package entity in the fake WorkOS exactly once), a
//! failed export, the auto-fix offer declined, a blank custom-CSV package,
//! Esc at the resume question.

mod fakes;
mod wizard_support;

use std::time::{Duration, Instant};

use fakes::auth0::{Fault, Route};
use wizard_support::*;

#[test]
fn ctrl_c_at_a_credentials_prompt_then_resume_finishes() {
    let env = auth0_env();
    let mut p = env.spawn();
    answer(
        &mut p,
        "Which identity provider are you migrating from?",
        &format!("Auth0{ENTER}"),
    );
    env.workos_key(&mut p);
    answer(
        &mut p,
        "Auth0 domain",
        &format!("{}{ENTER}", env.auth0.url()),
    );
    expect(&mut p, "Auth0 M2M application client ID");
    p.send_control('c').expect("ctrl-c");
    env.assert_cancelled(p, false);

    env.resume_and_finish("2 (Credentials)", |env, p| {
        env.workos_key(p);
        answer(p, "Auth0 domain", &format!("{}{ENTER}", env.auth0.url()));
        answer(
            p,
            "Auth0 M2M application client ID",
            &format!("{}{ENTER}", env.auth0.client_id()),
        );
        answer(
            p,
            "Auth0 M2M application client secret",
            &format!("{}{ENTER}", env.auth0.client_secret()),
        );
        answer(p, "to .env in this directory", &format!("n{ENTER}"));
        env.export_config(p, "");
        expect(p, "Package export complete");
        answer(
            p,
            "Do you have an Auth0 password hash export (NDJSON)?",
            ENTER,
        );
        validate_and_import(p);
    });
}

#[test]
fn ctrl_c_during_the_export_leaves_no_package_then_resume_reexports() {
    let env = auth0_env();
    // The first organizations listing hangs until the export is interrupted.
    env.auth0
        .push_fault(Route::Organizations, Fault::Delay(Duration::from_secs(120)));
    let mut p = env.spawn();
    env.provider_and_credentials(&mut p);
    env.export_config(&mut p, "");
    expect(&mut p, "Exporting from Auth0");
    // Ctrl-C once the hanging request is in flight (a condition on the
    // fake's request log, not a fixed delay).
    let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS);
    while env.auth0.count(Route::Organizations) == 0 {
        assert!(
            Instant::now() < deadline,
            "the export never listed organizations"
        );
        std::thread::yield_now();
    }
    p.send_control('c').expect("ctrl-c");
    env.assert_cancelled(p, false);
    assert!(
        !env.package_dir().exists(),
        "the interrupted export is removed"
    );

    env.resume_and_finish("4 (Export)", |env, p| {
        answer(
            p,
            "Auth0 M2M application client secret",
            &format!("{}{ENTER}", env.auth0.client_secret()),
        );
        expect(p, "Package export complete");
        answer(
            p,
            "Do you have an Auth0 password hash export (NDJSON)?",
            ENTER,
        );
        expect(p, "Repeat this step: workos-migrate validate-package");
        // Steps 7 and 8 are asked again; the WorkOS key too (never saved).
        answer(p, "Import concurrency", ENTER);
        answer(p, "Import rate limit", ENTER);
        answer(p, "Run as dry-run first (recommended)?", ENTER);
        answer(p, "Start the dry run?", ENTER);
        answer(p, "Dry-run complete. Run the actual import now?", ENTER);
        env.workos_key(p);
        answer(p, "Do you have TOTP/MFA secrets to migrate", ENTER);
        answer(p, "Do you have role definitions to process", ENTER);
        expect(p, "Migration Complete");
    });
}

#[test]
fn ctrl_c_at_the_import_confirmation_then_resume_imports_once() {
    let env = auth0_env();
    let mut p = env.spawn();
    env.provider_and_credentials(&mut p);
    env.export_config(&mut p, "");
    answer(
        &mut p,
        "Do you have an Auth0 password hash export (NDJSON)?",
        ENTER,
    );
    answer(&mut p, "Import concurrency", ENTER);
    answer(&mut p, "Import rate limit", ENTER);
    answer(&mut p, "Run as dry-run first (recommended)?", ENTER);
    answer(&mut p, "Start the dry run?", ENTER);
    expect(&mut p, "Dry-run complete. Run the actual import now?");
    p.send_control('c').expect("ctrl-c");
    env.assert_cancelled(p, true);

    env.resume_and_finish("8 (Import)", |env, p| {
        answer(p, "Start the dry run?", ENTER);
        answer(p, "Dry-run complete. Run the actual import now?", ENTER);
        env.workos_key(p);
        answer(p, "Do you have TOTP/MFA secrets to migrate", ENTER);
        answer(p, "Do you have role definitions to process", ENTER);
        expect(p, "Migration Complete");
    });
}

/// A failed export (a wrong client secret): the retry line, the cancel
/// path, no directory left, and the re-run starts again at the credentials.
#[test]
fn failed_export_prints_the_retry_line_and_resumes_at_the_credentials() {
    let env = auth0_env();
    let mut p = env.spawn();
    answer(
        &mut p,
        "Which identity provider are you migrating from?",
        &format!("Auth0{ENTER}"),
    );
    env.workos_key(&mut p);
    answer(
        &mut p,
        "Auth0 domain",
        &format!("{}{ENTER}", env.auth0.url()),
    );
    answer(
        &mut p,
        "Auth0 M2M application client ID",
        &format!("{}{ENTER}", env.auth0.client_id()),
    );
    answer(
        &mut p,
        "Auth0 M2M application client secret",
        &format!("not-the-secret-42{ENTER}"),
    );
    answer(&mut p, "to .env in this directory", &format!("n{ENTER}"));
    env.export_config(&mut p, "");
    expect(&mut p, "Export failed");
    expect(&mut p, "You can retry with: AUTH0_CLIENT_SECRET=");
    let (code, out) = finish(p);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("continue from step 2 (Credentials)"), "{out}");
    assert!(!env.package_dir().exists());
    assert_no_secret_on_disk(
        env.tmp.path(),
        &["not-the-secret-42", &env.workos.api_key()],
    );

    env.resume_and_finish("2 (Credentials)", |env, p| {
        env.workos_key(p);
        answer(p, "Auth0 domain", &format!("{}{ENTER}", env.auth0.url()));
        answer(
            p,
            "Auth0 M2M application client ID",
            &format!("{}{ENTER}", env.auth0.client_id()),
        );
        answer(
            p,
            "Auth0 M2M application client secret",
            &format!("{}{ENTER}", env.auth0.client_secret()),
        );
        answer(p, "to .env in this directory", &format!("n{ENTER}"));
        env.export_config(p, "");
        answer(
            p,
            "Do you have an Auth0 password hash export (NDJSON)?",
            ENTER,
        );
        validate_and_import(p);
    });
}

/// `validate --csv` fails: the auto-fix offer runs `validate --auto-fix`,
/// which cannot repair a conflicting organization name; declining to go on
/// is the cancel path, and nothing was imported.
#[test]
fn invalid_users_csv_offers_auto_fix_then_declining_cancels() {
    let (_rt, workos, _roles, tmp) = workos_only();
    let mut p = spawn_wizard(tmp.path(), &[("WORKOS_API_URL", workos.base_url())]);
    clerk_export(
        &mut p,
        &workos.api_key(),
        &fixture("fixtures/clerk/org_mapping.csv"),
    );
    expect(&mut p, "org_name_conflict");
    answer(
        &mut p,
        "Fix what can be fixed automatically (auto-fix)?",
        ENTER,
    );
    expect(
        &mut p,
        "workos-migrate validate --csv ./migration-clerk/users.csv --auto-fix --output",
    );
    answer(&mut p, "Continue anyway?", ENTER);
    let (code, out) = finish(p);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Wizard cancelled."), "{out}");
    assert!(
        out.contains("continue from step 6 (Package Validation)"),
        "{out}"
    );
    assert!(workos.users().is_empty());
    assert!(!tmp.path().join("migration-clerk/users-fixed.csv").exists());
}

/// Custom CSV, blank package: the skeleton is written, the wizard stops
/// through the cancel path with step 4 saved; the re-run offers to continue
/// at validation, and Esc there is the cancel path too.
#[test]
fn csv_blank_package_stops_for_filling_in_and_esc_cancels_the_resume() {
    let (_rt, workos, _roles, tmp) = workos_only();
    let mut p = spawn_wizard(tmp.path(), &[("WORKOS_API_URL", workos.base_url())]);
    file_source_start(&mut p, "Custom", &workos.api_key());
    answer(&mut p, "Custom CSV", &format!("Generate{ENTER}"));
    answer(&mut p, "Package output directory", ENTER);
    expect(
        &mut p,
        "Repeat this step: workos-migrate export csv --output-dir ./migration-csv",
    );
    expect(&mut p, "then re-run the wizard to validate and import it.");
    let (code, out) = finish(p);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Wizard cancelled."), "{out}");
    assert!(out.contains("Your package is at: ./migration-csv"), "{out}");
    assert!(tmp.path().join("migration-csv/manifest.json").is_file());

    let mut p = spawn_wizard(tmp.path(), &[("WORKOS_API_URL", workos.base_url())]);
    expect(&mut p, "stopped before step 6: Package Validation.");
    answer(&mut p, "Continue from step 6 (Package Validation)?", "\x1b");
    let (code, out) = finish(p);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Wizard cancelled."), "{out}");
    assert!(
        out.contains("continue from step 6 (Package Validation)"),
        "{out}"
    );
    assert!(tmp.path().join(".workos-migrate-wizard.json").is_file());
    assert_no_secret_on_disk(tmp.path(), &[&workos.api_key()]);
}
