//! `export clerk` / `transform-clerk` end to end through the CLI entry points
//! (`cli::clerk::run_export_clerk`, `run_transform_clerk`) on the shipped
//! fixture (`fixtures/clerk/users.csv`, real hashes of `correct horse battery
//! staple` made by `fixtures/clerk/make_hashes.py`), on 20k synthetic rows,
//! and on bad input.
//!
//! Exported `password_hash`es are verified against the password with
//! implementations independent of the exporter: the `bcrypt` crate, the
//! `argon2` crate's `PasswordVerifier`, and a PBKDF2 recomputation with the
//! `pbkdf2` crate from the PHC parameters (the Clerk-form `pbkdf2_sha256`
//! user; 600,000 iterations cost ~10 s in a debug build, so the Django-form
//! user is checked by comparing its PHC salt/hash bytes with the hashlib
//! digest instead). `firebase-scrypt` needs AES, which no dependency
//! provides: its string is compared to the parts of the Clerk digest
//! (`make_hashes.py` checks the hash against the firebase/scrypt vector).

mod fakes;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use argon2::{Argon2, PasswordVerifier};
use clap::Parser;
use password_hash::PasswordHash;
use serde_json::Value;
use workos_migrate::cli::clerk::{
    run_export_clerk, run_transform_clerk, ExportClerkArgs, TransformClerkArgs,
};
use workos_migrate::package::validator::validate_package;
use workos_migrate::synth::{generate, SynthFormat, SynthSpec};

const PASSWORD: &str = "correct horse battery staple";

#[derive(Parser)]
struct ExportCli {
    #[command(flatten)]
    args: ExportClerkArgs,
}

#[derive(Parser)]
struct TransformCli {
    #[command(flatten)]
    args: TransformClerkArgs,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn export(args: &[&str]) -> Run {
    let cli =
        ExportCli::try_parse_from(std::iter::once("export-clerk").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_export_clerk(cli.args, &mut out, &mut err);
    Run {
        code,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    }
}

fn transform(args: &[&str]) -> Run {
    let cli = TransformCli::try_parse_from(
        std::iter::once("transform-clerk").chain(args.iter().copied()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_transform_clerk(cli.args, &mut out, &mut err);
    Run {
        code,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    }
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/clerk")
        .join(name)
        .display()
        .to_string()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// users.csv (or any CSV) as header-keyed maps.
fn csv_rows(p: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(p).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect()
}

fn jsonl(p: &Path) -> Vec<Value> {
    read(p)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&read(&dir.join("manifest.json"))).unwrap()
}

fn count(m: &Value, key: &str) -> u64 {
    m["entitiesExported"][key].as_u64().unwrap()
}

/// Checks `hash` against PASSWORD with crates independent of the exporter.
fn verify(kind: &str, hash: &str) {
    match kind {
        "bcrypt" => assert!(bcrypt::verify(PASSWORD, hash).unwrap(), "bcrypt {hash}"),
        "argon2" => {
            let ph = PasswordHash::new(hash).unwrap();
            assert!(
                Argon2::default()
                    .verify_password(PASSWORD.as_bytes(), &ph)
                    .is_ok(),
                "argon2 {hash}"
            );
        }
        "pbkdf2" => {
            let ph = PasswordHash::new(hash).unwrap();
            assert_eq!(ph.algorithm.as_str(), "pbkdf2");
            assert_eq!(ph.params.get_str("d"), Some("sha256"));
            let rounds = ph.params.get_decimal("i").unwrap();
            let mut salt = [0u8; 64];
            let salt = ph.salt.unwrap().decode_b64(&mut salt).unwrap();
            let expected = ph.hash.unwrap();
            let mut out = vec![0u8; expected.len()];
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(PASSWORD.as_bytes(), salt, rounds, &mut out);
            assert_eq!(out, expected.as_bytes(), "pbkdf2 {hash}");
        }
        other => panic!("unexpected hash type {other}"),
    }
}

/// One row of the fixture by Clerk id.
fn fixture_row(id: &str) -> HashMap<String, String> {
    csv_rows(Path::new(&fixture("users.csv")))
        .into_iter()
        .find(|r| r["id"] == id)
        .unwrap()
}

/// The input digests of the fixture (none may appear in messages).
fn fixture_digests() -> Vec<String> {
    csv_rows(Path::new(&fixture("users.csv")))
        .into_iter()
        .map(|r| r["password_digest"].clone())
        .filter(|d| !d.is_empty())
        .collect()
}

#[test]
fn fixture_export_verifies_every_hash_and_keeps_secrets_out_of_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = export(&[
        "--from-file",
        &fixture("users.csv"),
        "--output-dir",
        &s(&dir),
        "--org-mapping",
        &fixture("org_mapping.csv"),
        "--role-mapping",
        &fixture("role_mapping.csv"),
        "--source-tenant",
        "acme-prod",
        "--quiet",
    ]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (0, "", ""));

    // Counts and conservation: 20 rows in = 18 users + 2 skipped.
    let m = manifest(&dir);
    let expect = [
        ("users", 18),
        ("organizations", 3),
        ("memberships", 5),
        ("roleDefinitions", 4),
        ("userRoleAssignments", 4),
        ("totpSecrets", 2),
        ("samlConnections", 0),
        ("oidcConnections", 0),
        ("customAttributeMappings", 0),
        ("proxyRoutes", 0),
        ("uploadUsers", 18),
        ("uploadOrganizations", 3),
        ("uploadMemberships", 5),
        ("warnings", 7),
        ("skippedUsers", 2),
    ];
    let counts: Vec<(String, u64)> = m["entitiesExported"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(
        counts,
        expect
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<Vec<_>>()
    );
    let rows_in = csv_rows(Path::new(&fixture("users.csv"))).len() as u64;
    assert_eq!(rows_in, count(&m, "users") + count(&m, "skippedUsers"));
    assert_eq!(m["provider"], "clerk");
    assert_eq!(m["sourceTenant"], "acme-prod");
    assert_eq!(
        m["entitiesRequested"],
        serde_json::json!(["users", "organizations", "memberships", "roles"])
    );
    assert_eq!(m["secretsRedacted"], true);
    assert_eq!(m["secretRedaction"]["mode"], "not-applicable");
    assert_eq!(m["secretRedaction"]["notes"].as_array().unwrap().len(), 2);
    assert_eq!(m["warnings"].as_array().unwrap().len(), 7);
    let report = validate_package(&dir, Default::default());
    assert!(report.is_valid(), "{:?}", report.issues);

    // Every exported hash verifies against the password; the rest are empty.
    let users = csv_rows(&dir.join("users.csv"));
    let by_id: HashMap<&str, &HashMap<String, String>> = users
        .iter()
        .map(|u| (u["external_id"].as_str(), u))
        .collect();
    let expected_types = [
        ("user_bcrypt", "bcrypt"),
        ("user_argon2id", "argon2"),
        ("user_argon2i", "argon2"),
        ("user_pbkdf2", "pbkdf2"),
        ("user_django", "pbkdf2"),
        ("user_scrypt", "firebase-scrypt"),
    ];
    // PBKDF2 at 600,000 iterations takes seconds in a debug build: the
    // Clerk-form hash is recomputed on a second thread while the rest runs.
    let pbkdf2_hash = by_id["user_pbkdf2"]["password_hash"].clone();
    let pbkdf2_check = std::thread::spawn(move || verify("pbkdf2", &pbkdf2_hash));
    for u in &users {
        let id = u["external_id"].as_str();
        let want = expected_types
            .iter()
            .find(|(i, _)| *i == id)
            .map_or("", |(_, t)| *t);
        assert_eq!(u["password_hash_type"], want, "{id}");
        assert_eq!(u["password_hash"].is_empty(), want.is_empty(), "{id}");
        assert_eq!(u["password"], "");
        if matches!(want, "bcrypt" | "argon2") {
            verify(want, &u["password_hash"]);
        }
    }
    // The Django-form hash carries the Django digest's iterations, text salt
    // bytes and hash bytes (the digest itself is hashlib's PBKDF2 of the
    // password, so this is the same PBKDF2 as the recomputation above).
    let django = fixture_row("user_django")["password_digest"].clone();
    let d: Vec<&str> = django.split('$').collect();
    let ph = PasswordHash::new(&by_id["user_django"]["password_hash"]).unwrap();
    assert_eq!(ph.params.get_decimal("i"), Some(600_000));
    let mut salt = [0u8; 64];
    assert_eq!(
        ph.salt.unwrap().decode_b64(&mut salt).unwrap(),
        d[2].as_bytes()
    );
    use base64::Engine as _;
    assert_eq!(
        ph.hash.unwrap().as_bytes(),
        base64::engine::general_purpose::STANDARD
            .decode(d[3])
            .unwrap()
    );
    // argon2 hashes keep their variant; pbkdf2 is WorkOS's PHC form.
    assert!(by_id["user_argon2i"]["password_hash"].starts_with("$argon2i$v=19$m=4096,t=3,p=1$"));
    assert!(by_id["user_django"]["password_hash"].starts_with("$pbkdf2$i=600000,d=sha256$"));
    // firebase-scrypt: the Clerk digest's six parts in WorkOS's export form.
    let digest = fixture_row("user_scrypt")["password_digest"].clone();
    let p: Vec<&str> = digest.split('$').collect();
    assert_eq!(
        by_id["user_scrypt"]["password_hash"],
        format!(
            "$firebase-scrypt$hash={}$salt={}$sk={}$ss={}$r={}$m={}",
            p[0], p[1], p[2], p[3], p[4], p[5]
        )
    );

    // email_verified from the address lists.
    let verified: Vec<(&str, &str)> = [
        "user_argon2id",
        "user_unverified",
        "user_unknown",
        "user_padded",
    ]
    .iter()
    .map(|id| (*id, by_id[id]["email_verified"].as_str()))
    .collect();
    assert_eq!(
        verified,
        [
            ("user_argon2id", "true"),
            ("user_unverified", "false"),
            ("user_unknown", "true"),
            ("user_padded", "true")
        ]
    );

    // Exact bytes of some rows (quoting of commas, quotes, newlines; trimming;
    // lower-cased email; org_id only without an org_external_id).
    let text = read(&dir.join("users.csv"));
    for line in [
        "ann@example.com,,$2b$04$9oJzEM6Yuw3K/CoWhHTsf.PbBfuE3z7rdj5SYMAR8bXLkjv/ccMJy,bcrypt,Ann,Lee,true,user_bcrypt,\"{\"\"clerk_user_id\"\":\"\"user_bcrypt\"\",\"\"username\"\":\"\"ann\"\",\"\"primary_phone_number\"\":\"\"+15550000001\"\",\"\"verified_phone_numbers\"\":\"\"+15550000001\"\",\"\"verified_email_addresses\"\":\"\"ann@example.com|ann.alt@example.org\"\"}\",,acme,\"Acme, Inc.\",\"admin,member\"\n",
        "jose@example.com,,",
        "tricky@example.com,,,,\"O'Brien, \"\"Bob\"\"\",\"Smith\nJr.\",true,user_tricky,\"{\"\"clerk_user_id\"\":\"\"user_tricky\"\",\"\"username\"\":\"\"bob\"\",\"\"unverified_phone_numbers\"\":\"\"+15550000009\"\",\"\"verified_email_addresses\"\":\"\"tricky@example.com\"\"}\",,globex,Globex,\n",
        "\nuna@example.com,,,,Una,Verified,false,user_unverified,\"{\"\"clerk_user_id\"\":\"\"user_unverified\"\",\"\"verified_email_addresses\"\":\"\"other@example.com\"\",\"\"unverified_email_addresses\"\":\"\"una@example.com; spare@example.com\"\"}\",,,,\n",
        "\npad@example.com,,,,Pad,Ded,true,user_padded,\"{\"\"clerk_user_id\"\":\"\"user_padded\"\",\"\"verified_email_addresses\"\":\"\"PAD@example.com\"\"}\",,globex,Globex Corp,\n",
        "\nnopass@example.com,,,,No,Password,true,user_nopassword,\"{\"\"clerk_user_id\"\":\"\"user_nopassword\"\",\"\"verified_email_addresses\"\":\"\"nopass@example.com\"\"}\",,,,\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains(",user_pbkdf2,\"{\"\"clerk_user_id\"\":\"\"user_pbkdf2\"\",\"\"verified_email_addresses\"\":\"\"paul@example.com\"\"}\",org_01HZZZZZZZZZZZZZZZZZZZZZZZ,,Initech,billing\n"));

    // TOTP secrets: their own file, never in metadata.
    assert_eq!(
        read(&dir.join("totp_secrets.csv")),
        "email,totp_secret,totp_issuer,totp_user\nann@example.com,JBSWY3DPEHPK3PXP,,ann@example.com\nnopass@example.com,GEZDGNBVGY3TQOJQ,,nopass@example.com\n"
    );
    for u in &users {
        if !u["metadata"].is_empty() {
            let meta: Value = serde_json::from_str(&u["metadata"]).unwrap();
            assert!(meta.get("totp_secret").is_none());
            assert!(meta.as_object().unwrap().values().all(Value::is_string));
        }
    }
    for secret in ["JBSWY3DPEHPK3PXP", "GEZDGNBVGY3TQOJQ", "KRSXG5CTMVRXEZLU"] {
        assert!(!text.contains(secret), "{secret} leaked into users.csv");
    }

    // Warnings: code, ids, a reason; never a digest or a TOTP secret.
    let warnings = jsonl(&dir.join("warnings.jsonl"));
    let warned: Vec<&str> = warnings
        .iter()
        .map(|w| w["clerk_user_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        warned,
        [
            "user_argon2i_t2",
            "user_argon2id_p16",
            "user_pbkdf2_low",
            "user_django_low",
            "user_sha256",
            "user_md5",
            "user_nohasher"
        ]
    );
    for w in &warnings {
        let keys: Vec<&str> = w.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["timestamp", "code", "message", "clerk_user_id", "email"]
        );
        assert_eq!(w["code"], "unsupported_password_hasher");
    }
    let msg = |id: &str| {
        warnings.iter().find(|w| w["clerk_user_id"] == id).unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(msg("user_argon2i_t2"), "Password of user user_argon2i_t2 (hasher \"argon2i\") cannot be imported: argon2 parameter t=2 is outside WorkOS's range 3..=5 for argon2i; password omitted.");
    assert!(msg("user_argon2id_p16").contains("p=16 is outside WorkOS's range 1..=8"));
    assert!(msg("user_pbkdf2_low").contains("i=310000 is outside WorkOS's range 600000..=1000000"));
    assert!(msg("user_django_low").contains("i=260000 is outside"));
    assert_eq!(
        msg("user_md5"),
        "Unsupported password hasher \"MD5\" for user user_md5 (WorkOS has no equivalent hash type); password omitted."
    );
    assert!(msg("user_nohasher").contains("password_hasher is empty"));
    let everything = [
        read(&dir.join("warnings.jsonl")),
        read(&dir.join("manifest.json")),
        read(&dir.join("skipped_users.jsonl")),
    ]
    .concat();
    for d in fixture_digests() {
        for part in d
            .split('$')
            .filter(|p| p.len() >= 12 && !p.starts_with("pbkdf2_"))
        {
            assert!(!everything.contains(part), "digest material leaked: {part}");
        }
    }
    assert!(!everything.contains("KRSXG5CTMVRXEZLU") && !everything.contains("JBSWY3DPEHPK3PXP"));

    // Skipped users: id and reason only (Clerk never records the email).
    let skipped = jsonl(&dir.join("skipped_users.jsonl"));
    let ids: Vec<(&str, &str)> = skipped
        .iter()
        .map(|r| {
            (
                r["clerk_user_id"].as_str().unwrap(),
                r["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("user_noemail", "no_email"),
            ("user_blankemail", "no_email")
        ]
    );
    assert!(skipped.iter().all(|r| r.get("email").is_none()));

    // Identity rows and the upload projection.
    assert_eq!(
        read(&dir.join("organizations.csv")),
        "org_id,org_external_id,org_name,domains,metadata\n,acme,\"Acme, Inc.\",,\norg_01HZZZZZZZZZZZZZZZZZZZZZZZ,,Initech,,\n,globex,Globex,,\n"
    );
    assert_eq!(
        read(&dir.join("role_definitions.csv")),
        "role_slug,role_name,role_type,permissions,org_id,org_external_id\nadmin,admin,environment,,,\nmember,member,environment,,,\nbilling,billing,environment,,,\nviewer,viewer,environment,,,\n"
    );
    let upload = read(&dir.join("workos_upload/users.csv"));
    assert!(upload.starts_with("user_id,email,email_verified,first_name,last_name,password_hash\nuser_bcrypt,ann@example.com,true,Ann,Lee,$2b$04$"));
    pbkdf2_check.join().unwrap();
    assert_eq!(
        read(&dir.join("sso/handoff_notes.md")),
        "# Clerk handoff notes\n\nClerk dashboard CSV export does not surface SAML/OIDC connection material.\nRe-run with `--secret-key <sk_...>` to fetch enterprise connections\nvia the Clerk Backend API (`/v1/enterprise_connections`), or populate the\nsso/ CSVs manually and run `validate-package` before importing.\n"
    );
}

#[test]
fn synthetic_20k_rows_match_the_generator_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("clerk.csv");
    let spec = SynthSpec {
        format: SynthFormat::ClerkCsv,
        users: 20_000,
        dirty: 0.05,
        seed: 7,
        orgs: 1,
    };
    let truth = generate(&spec, &mut std::fs::File::create(&input).unwrap()).unwrap();
    let dir = tmp.path().join("pkg");
    let r = export(&["--from-file", &s(&input), "--output-dir", &s(&dir)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with(&format!(
        "Exporting from Clerk \u{2192} {}\n\nExport complete\n  Package: ",
        dir.display()
    )));
    assert!(r
        .stdout
        .contains(&format!("\n  users: {}\n", truth.expected.get("exported"))));
    let m = manifest(&dir);
    assert_eq!(count(&m, "users"), truth.expected.get("exported"));
    assert_eq!(
        count(&m, "skippedUsers"),
        truth.expected.get("skipped_no_email")
    );
    assert_eq!(count(&m, "users") + count(&m, "skippedUsers"), spec.users);
    assert_eq!(count(&m, "uploadUsers"), count(&m, "users"));
    // The generator counts rows whose hasher the original dropped (argon2id,
    // pbkdf2_sha256); we convert those, so converted + still-unsupported must
    // equal its number, and all of the generator's digests are convertible.
    let users = csv_rows(&dir.join("users.csv"));
    let converted = users
        .iter()
        .filter(|u| matches!(u["password_hash_type"].as_str(), "argon2" | "pbkdf2"))
        .count() as u64;
    assert_eq!(count(&m, "warnings"), 0);
    assert_eq!(
        converted + count(&m, "warnings"),
        truth.expected.get("unsupported_password_hasher")
    );
    assert!(users.iter().any(|u| u["password_hash_type"] == "bcrypt"));
    assert!(users.iter().all(|u| !u["metadata"].contains("totp_secret")));
    assert!(count(&m, "totpSecrets") > 0);
    let report = validate_package(&dir, Default::default());
    assert!(report.is_valid(), "{:?}", report.issues);
}

/// A fatal error: non-zero exit, one stderr line, no manifest.
fn assert_fails(r: &Run, dir: &Path, needle: &str) {
    assert_ne!(r.code, 0);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{:?}", r.stderr);
    assert!(
        lines[0].starts_with("Export failed: ") && lines[0].contains(needle),
        "{}",
        lines[0]
    );
    assert!(!dir.join("manifest.json").exists());
}

fn export_file(tmp: &Path, input: &Path) -> (Run, PathBuf) {
    let dir = tmp.join("pkg");
    (
        export(&[
            "--from-file",
            &s(input),
            "--output-dir",
            &s(&dir),
            "--quiet",
        ]),
        dir,
    )
}

#[test]
fn bad_input_is_one_line_and_leaves_no_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };

    // A BOM (and CRLF) must work.
    let bom = write(
        "bom.csv",
        b"\xEF\xBB\xBFid,primary_email_address,first_name\r\nu1,a@x.com,Ann\r\n",
    );
    let (r, dir) = export_file(tmp.path(), &bom);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(count(&manifest(&dir), "users"), 1);
    std::fs::remove_dir_all(&dir).unwrap();

    let cases: Vec<(PathBuf, String)> = vec![
        (
            write("noid.csv", b"user_id,primary_email_address\n"),
            "noid.csv: Clerk CSV must have 'primary_email_address' and 'id' columns. Found: user_id, primary_email_address".into(),
        ),
        (write("latin1.csv", b"id,primary_email_address,first_name\nu1,a@x.com,Ann\nu2,b@x.com,Jos\xe9\n"), "latin1.csv: line 3: invalid UTF-8 in field \"first_name\"".into()),
        (write("ragged.csv", b"id,primary_email_address\nu1,a@x.com\nu2,b@x.com,extra\n"), "ragged.csv: line 3: record has 3 fields but the header has 2".into()),
        (tmp.path().join("missing.csv"), format!("Clerk export CSV not found: {}", tmp.path().join("missing.csv").display())),
        (tmp.path().to_path_buf(), "is a directory, expected a CSV file".into()),
        (write("empty.csv", b""), "empty.csv: file is empty (expected a header row)".into()),
    ];
    for (input, needle) in cases {
        let (r, dir) = export_file(tmp.path(), &input);
        assert_fails(&r, &dir, &needle);
    }

    // A failure after rows were written: the directory exists, the manifest does not.
    let mut late = b"id,primary_email_address\n".to_vec();
    for i in 0..10_000 {
        late.extend_from_slice(format!("u{i},u{i}@x.com\n").as_bytes());
    }
    late.extend_from_slice(b"bad,row,here\n");
    let late = write("late.csv", &late);
    let (r, dir) = export_file(tmp.path(), &late);
    assert_fails(&r, &dir, "line 10002: record has 3 fields");
    assert!(dir.join("users.csv").exists());

    // Mapping file problems.
    let ok = write("ok.csv", b"id,primary_email_address\nu1,a@x.com\n");
    let bad_map = write("map.csv", b"user,org_name\n");
    let dir = tmp.path().join("pkg2");
    let r = export(&[
        "--from-file",
        &s(&ok),
        "--output-dir",
        &s(&dir),
        "--org-mapping",
        &s(&bad_map),
        "--quiet",
    ]);
    assert_fails(
        &r,
        &dir,
        "Org mapping CSV must have a 'clerk_user_id' column. Found columns: user, org_name",
    );

    // Option values.
    let r = export(&[
        "--from-file",
        &s(&ok),
        "--output-dir",
        &s(&dir),
        "--scrypt-signer-key",
        "a2V5",
        "--quiet",
    ]);
    assert_fails(&r, &dir, "must be given together");
}

#[test]
fn secret_key_exports_enterprise_connections_and_empty_key_is_ignored() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let saml = serde_json::json!({
        "id": "ec_saml_okta", "name": "Acme Okta", "domains": ["Acme.com"], "organization_id": "org_acme",
        "saml_connection": {
            "idp_entity_id": "http://www.okta.com/exk1", "idp_sso_url": "https://acme.okta.com/app/sso/saml",
            "idp_certificate": "MIIC", "acs_url": "https://clerk.acme.com/v1/saml/acs/ec_saml_okta",
            "sp_entity_id": "https://clerk.acme.com/saml/ec_saml_okta", "allow_idp_initiated": true,
            "attribute_mapping": {"user_id": "nameid", "email_address": "mail"}
        }
    });
    let oidc = serde_json::json!({
        "id": "ec_oidc", "name": "Globex", "domains": ["globex.com"],
        "oauth_config": {"client_id": "client-1", "discovery_url": "https://idp.globex.com/.well-known/openid-configuration"}
    });
    let fake = rt.block_on(fakes::clerk::FakeClerk::start(
        "sk_test_123",
        vec![saml, oidc],
    ));
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("c.csv");
    std::fs::write(&input, "id,primary_email_address\nu1,a@x.com\n").unwrap();
    let dir = tmp.path().join("pkg");
    let r = export(&[
        "--from-file",
        &s(&input),
        "--output-dir",
        &s(&dir),
        "--secret-key",
        "sk_test_123",
        "--clerk-api-base-url",
        &fake.base_url,
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("sk_test_123"));
    let m = manifest(&dir);
    assert_eq!(m["entitiesExported"]["samlConnections"], 1);
    assert_eq!(m["entitiesExported"]["oidcConnections"], 1);
    assert_eq!(
        m["entitiesRequested"].as_array().unwrap().last().unwrap(),
        "sso"
    );
    let saml_csv = std::fs::read_to_string(dir.join("sso/saml_connections.csv")).unwrap();
    assert!(saml_csv.contains("http://www.okta.com/exk1"), "{saml_csv}");
    let notes = std::fs::read_to_string(dir.join("sso/handoff_notes.md")).unwrap();
    assert!(
        notes.contains("Clerk Backend API returned 2 enterprise connection(s)"),
        "{notes}"
    );
    assert!(validate_package(&dir, Default::default()).is_valid());
    assert_eq!(fake.requests().len(), 1);

    // A wrong key: the export still completes, with an sso_fetch_failed warning and no secret in it.
    let dir2 = tmp.path().join("pkg2");
    let r = export(&[
        "--from-file",
        &s(&input),
        "--output-dir",
        &s(&dir2),
        "--secret-key",
        "sk_wrong_456",
        "--clerk-api-base-url",
        &fake.base_url,
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let warnings = std::fs::read_to_string(dir2.join("warnings.jsonl")).unwrap();
    assert!(warnings.contains("sso_fetch_failed"), "{warnings}");
    assert!(!warnings.contains("sk_wrong_456"));

    let dir3 = tmp.path().join("pkg3");
    let r = export(&[
        "--from-file",
        &s(&input),
        "--output-dir",
        &s(&dir3),
        "--secret-key",
        "",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        manifest(&dir3)["entitiesRequested"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn scrypt_options_complete_short_digests() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("c.csv");
    std::fs::write(
        &input,
        "id,primary_email_address,password_digest,password_hasher\nu1,a@x.com,lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$42xEC+ixf3L2lw==,scrypt_firebase\n",
    )
    .unwrap();
    let sk =
        "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==";
    let dir = tmp.path().join("pkg");
    let r = export(&[
        "--from-file",
        &s(&input),
        "--output-dir",
        &s(&dir),
        "--quiet",
    ]);
    assert_eq!(r.code, 0);
    let w = jsonl(&dir.join("warnings.jsonl"));
    assert!(
        w[0]["message"]
            .as_str()
            .unwrap()
            .contains("pass --scrypt-signer-key"),
        "{w:?}"
    );
    let r = export(&[
        "--from-file",
        &s(&input),
        "--output-dir",
        &s(&dir),
        "--quiet",
        "--scrypt-signer-key",
        sk,
        "--scrypt-salt-separator",
        "Bw==",
        "--scrypt-rounds",
        "8",
        "--scrypt-memory-cost",
        "14",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let users = csv_rows(&dir.join("users.csv"));
    assert_eq!(users[0]["password_hash_type"], "firebase-scrypt");
    assert_eq!(
        users[0]["password_hash"],
        format!("$firebase-scrypt$hash=lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$salt=42xEC+ixf3L2lw==$sk={sk}$ss=Bw==$r=8$m=14")
    );
    assert_eq!(count(&manifest(&dir), "warnings"), 0);
}

#[test]
fn transform_clerk_is_a_deprecated_alias() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = transform(&[
        "--input",
        &fixture("users.csv"),
        "--package",
        "--output-dir",
        &s(&dir),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "\u{26a0} 'transform-clerk' is deprecated; use 'export clerk' (removed in v4.0)\n"
    );
    assert!(r
        .stdout
        .starts_with("\nClerk package export complete\n  Package: "));
    assert_eq!(count(&manifest(&dir), "users"), 18);

    // Every output path is in the temporary directory: a case that went
    // further than expected must not write into the repository.
    let stray_dir = s(&tmp.path().join("x"));
    let stray_csv = s(&tmp.path().join("out.csv"));
    let r = transform(&[
        "--input",
        "/nonexistent/clerk.csv",
        "--package",
        "--output-dir",
        &stray_dir,
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .ends_with("\nTransform failed: Clerk CSV file not found: /nonexistent/clerk.csv\n"),
        "{}",
        r.stderr
    );
    let cases: [(&[&str], &str); 3] = [
        (
            &["--package"],
            "Transform failed: --output-dir is required when --package is set",
        ),
        (
            &["--output", &stray_csv, "--clerk-secret-key", "sk_x"],
            "Transform failed: --clerk-secret-key is only supported in --package mode",
        ),
        (
            &[],
            "Transform failed: --output is required unless --package is set",
        ),
    ];
    for (extra, want) in cases {
        let input = fixture("users.csv");
        let mut args: Vec<&str> = vec!["--input", &input];
        args.extend_from_slice(extra);
        let r = transform(&args);
        assert_eq!(r.code, 1);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{:?}", r.stderr);
        assert!(lines[1].starts_with(want), "{}", lines[1]);
    }
    assert!(!tmp.path().join("x").exists());
    assert!(!tmp.path().join("out.csv").exists());
    assert!(!tmp.path().join("out-skipped.jsonl").exists());
}

/// The files in `dir` (names), sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn transform_clerk_writes_the_legacy_single_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("legacy");
    std::fs::create_dir(&out_dir).unwrap();
    let output = out_dir.join("users.csv");
    let r = transform(&[
        "--input",
        &fixture("users.csv"),
        "--output",
        &s(&output),
        "--org-mapping",
        &fixture("org_mapping.csv"),
        "--role-mapping",
        &fixture("role_mapping.csv"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Only the two files: the scratch package is gone; both are private.
    assert_eq!(listing(&out_dir), ["users-skipped.jsonl", "users.csv"]);
    #[cfg(unix)]
    for f in ["users.csv", "users-skipped.jsonl"] {
        assert_eq!(mode(&out_dir.join(f)), 0o600, "{f}");
    }
    let text = read(&output);
    assert_eq!(
        text.lines().next().unwrap(),
        "email,first_name,last_name,email_verified,external_id,password_hash,\
         password_hash_type,metadata,org_id,org_external_id,org_name,role_slugs"
    );

    // Every row is the package's row (same order, hashes, metadata, roles).
    let pkg = tmp.path().join("pkg");
    let e = export(&[
        "--from-file",
        &fixture("users.csv"),
        "--output-dir",
        &s(&pkg),
        "--org-mapping",
        &fixture("org_mapping.csv"),
        "--role-mapping",
        &fixture("role_mapping.csv"),
        "--quiet",
    ]);
    assert_eq!(e.code, 0, "{}", e.stderr);
    let legacy = csv_rows(&output);
    let package = csv_rows(&pkg.join("users.csv"));
    assert_eq!(legacy.len(), package.len());
    for (l, p) in legacy.iter().zip(&package) {
        for k in [
            "email",
            "first_name",
            "last_name",
            "email_verified",
            "external_id",
            "password_hash",
            "password_hash_type",
            "metadata",
            "role_slugs",
        ] {
            assert_eq!(l[k], p[k], "{k} of {}", l["external_id"]);
        }
        // An entry with an org_id gives the org_id only (§13.3); the others
        // the package's external id and name.
        if l["org_id"].is_empty() {
            assert_eq!(
                (&l["org_external_id"], &l["org_name"]),
                (&p["org_external_id"], &p["org_name"])
            );
        } else {
            assert_eq!(
                (l["org_external_id"].as_str(), l["org_name"].as_str()),
                ("", "")
            );
        }
    }
    let pbkdf2 = legacy
        .iter()
        .find(|r| r["external_id"] == "user_pbkdf2")
        .unwrap();
    assert_eq!(pbkdf2["org_id"], "org_01HZZZZZZZZZZZZZZZZZZZZZZZ");
    // The hashes are the package's (checked above, and verified against the
    // password for every hasher by the fixture test); spot-check the fast ones.
    let with_hash: Vec<&HashMap<String, String>> = legacy
        .iter()
        .filter(|r| matches!(r["password_hash_type"].as_str(), "bcrypt" | "argon2"))
        .collect();
    assert!(with_hash.len() >= 3);
    for row in with_hash {
        verify(&row["password_hash_type"], &row["password_hash"]);
    }
    let bcrypt = legacy
        .iter()
        .find(|r| r["external_id"] == "user_bcrypt")
        .unwrap();
    assert_eq!(
        (
            bcrypt["org_external_id"].as_str(),
            bcrypt["role_slugs"].as_str()
        ),
        ("acme", "admin,member")
    );

    // Conservation, and the legacy skip records.
    let skipped = jsonl(&out_dir.join("users-skipped.jsonl"));
    let input_rows = csv_rows(Path::new(&fixture("users.csv"))).len();
    assert_eq!(legacy.len() + skipped.len(), input_rows);
    assert_eq!(
        skipped[0],
        serde_json::json!({"clerk_user_id": "user_noemail", "email": "unknown",
                           "reason": "Missing primary_email_address"})
    );
    assert_eq!(
        serde_json::to_string(&skipped[0]).unwrap(),
        r#"{"clerk_user_id":"user_noemail","email":"unknown","reason":"Missing primary_email_address"}"#
    );
    assert!(
        r.stdout
            .contains(&format!("  Users: {}\n    with password: ", legacy.len()))
            && r.stdout.contains("    Missing primary_email_address: 2\n"),
        "{}",
        r.stdout
    );
    // No secret on the terminal.
    assert!(!r.stdout.contains("$2b$") && !r.stderr.contains("$2b$"));
}

#[test]
fn legacy_org_columns_are_those_the_mapping_fills() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("clerk.csv");
    std::fs::write(
        &input,
        "id,primary_email_address\nu1,a@x.com\nu2,b@x.com\nu3,c@x.com\n",
    )
    .unwrap();
    // Columns: those some row fills (all three here, though the first row
    // has no org_external_id). An entry with an org_id gets only the org_id.
    let orgs = tmp.path().join("orgs.csv");
    std::fs::write(
        &orgs,
        "clerk_user_id,org_id,org_external_id,org_name\n\
         u1,org_01,,One\nu2,org_02,ext_2,Two\nu3,,ext_3,Three\n",
    )
    .unwrap();
    let output = tmp.path().join("out");
    let r = transform(&[
        "--input",
        &s(&input),
        "--output",
        &s(&output),
        "--org-mapping",
        &s(&orgs),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    let rows = csv_rows(&output);
    assert_eq!(
        read(&output).lines().next().unwrap(),
        "email,first_name,last_name,email_verified,external_id,password_hash,\
         password_hash_type,metadata,org_id,org_external_id,org_name"
    );
    let org = |r: &HashMap<String, String>| {
        [&r["org_id"], &r["org_external_id"], &r["org_name"]].map(|s| s.to_string())
    };
    assert_eq!(org(&rows[0]), ["org_01", "", ""]);
    assert_eq!(org(&rows[1]), ["org_02", "", ""]);
    assert_eq!(org(&rows[2]), ["", "ext_3", "Three"]);
    // An output name without ".csv": the log gets a suffix, never the same file.
    assert!(tmp.path().join("out-skipped.jsonl").is_file());
    assert_eq!(read(&tmp.path().join("out-skipped.jsonl")), "");
}

#[test]
fn legacy_clerk_without_users_fails_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("clerk.csv");
    std::fs::write(&input, "id,primary_email_address\n").unwrap();
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let r = transform(&[
        "--input",
        &s(&input),
        "--output",
        &s(&out_dir.join("users.csv")),
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .ends_with("\nTransform failed: No users found in Clerk CSV\n"),
        "{}",
        r.stderr
    );
    assert!(listing(&out_dir).is_empty(), "{:?}", listing(&out_dir));
    // The output cannot be a directory or the input.
    let r = transform(&["--input", &s(&input), "--output", &s(&out_dir)]);
    assert!(r.stderr.contains("is a directory"), "{}", r.stderr);
    let r = transform(&["--input", &s(&input), "--output", &s(&input)]);
    assert!(r.stderr.contains("is the input file"), "{}", r.stderr);
    assert_eq!(read(&input), "id,primary_email_address\n");
}
