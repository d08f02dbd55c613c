//! `export firebase` and `transform-firebase` end to end: the fixture export
//! with mapping CSVs (exact bytes), real Firebase scrypt hashes verified with
//! an independent implementation, 20k synthetic users against the
//! generator's truth, and the bad-input catalogue (one-line error, exit 1, no
//! manifest).
//!
//! The commands are driven through their clap `Args` and
//! `run_export_firebase` / `run_transform_firebase` (the same code the binary
//! dispatches to); `binary_matches_library_when_wired` also runs the real
//! binary once the subcommand is wired into it.

mod common;
mod fakes;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use clap::Parser;
use serde_json::Value;
use workos_migrate::cli::firebase::{
    run_export_firebase, run_transform_firebase, ExportFirebaseArgs, TransformFirebaseArgs,
};
use workos_migrate::hashes::check_password_hash;
use workos_migrate::package::validator::validate_package;
use workos_migrate::sources::firebase::identity_platform::{
    fetch_firebase_sso, FirebaseSsoOptions,
};
use workos_migrate::sources::firebase::{export_firebase, FirebaseExportOptions};
use workos_migrate::synth::{generate, SynthFormat, SynthSpec};

#[derive(Parser)]
struct ExportCli {
    #[command(flatten)]
    args: ExportFirebaseArgs,
}

#[derive(Parser)]
struct TransformCli {
    #[command(flatten)]
    args: TransformFirebaseArgs,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/firebase")
        .join(name)
        .display()
        .to_string()
}

fn export(args: &[&str]) -> Run {
    let cli = match ExportCli::try_parse_from(
        std::iter::once("export-firebase").chain(args.iter().copied()),
    ) {
        Ok(c) => c,
        Err(e) => {
            return Run {
                code: 2,
                stdout: String::new(),
                stderr: e.to_string(),
            }
        }
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_export_firebase(cli.args, &mut out, &mut err);
    Run {
        code,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    }
}

fn transform(args: &[&str]) -> Run {
    let cli = match TransformCli::try_parse_from(
        std::iter::once("transform-firebase").chain(args.iter().copied()),
    ) {
        Ok(c) => c,
        Err(e) => {
            return Run {
                code: 2,
                stdout: String::new(),
                stderr: e.to_string(),
            }
        }
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_transform_firebase(cli.args, &mut out, &mut err);
    Run {
        code,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    }
}

fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
}

fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&read(dir, "manifest.json")).unwrap()
}

/// JSONL records with `timestamp` checked and removed.
fn jsonl(dir: &Path, file: &str) -> Vec<Value> {
    read(dir, file)
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            let ts = v
                .as_object_mut()
                .unwrap()
                .shift_remove("timestamp")
                .expect("timestamp first");
            assert!(ts.as_str().unwrap().ends_with('Z'));
            assert!(l.starts_with("{\"timestamp\":"), "{l}");
            v
        })
        .collect()
}

fn count(m: &Value, key: &str) -> u64 {
    m["entitiesExported"][key].as_u64().unwrap()
}

fn assert_valid(dir: &Path) {
    let report = validate_package(dir, Default::default());
    assert!(report.is_valid(), "{:?}", report.issues);
}

/// users.csv rows as maps (header → value).
fn users(dir: &Path) -> Vec<std::collections::HashMap<String, String>> {
    users_at(&dir.join("users.csv"))
}

const USERS_HEADER: &str = "email,password,password_hash,password_hash_type,first_name,last_name,email_verified,external_id,metadata,org_id,org_external_id,org_name,role_slugs\n";

const FIXTURE_USERS_CSV: &str = concat!(
    "email,password,password_hash,password_hash_type,first_name,last_name,email_verified,external_id,metadata,org_id,org_external_id,org_name,role_slugs\n",
    r#"alice@example.com,,,,Alice,Liddell,true,alice-uid,"{""firebase_uid"":""alice-uid"",""phone_number"":""+15550100"",""photo_url"":""https://example.com/alice.png"",""custom_attributes"":{""role"":""admin"",""plan"":""pro"",""seats"":5},""provider_info"":[{""providerId"":""password"",""rawId"":""alice@example.com"",""email"":""alice@example.com"",""displayName"":""Alice Liddell""}],""created_at"":""2023-11-14T22:13:20.000Z"",""last_signed_in_at"":""2024-04-24T23:06:40.123Z""}",,acme,"Acme, Inc.","admin,billing""#,
    "\n",
    r#"bob@example.com,,,,Bob,"""The Builder"", Jr.",true,bob-uid,"{""firebase_uid"":""bob-uid"",""custom_attributes"":""{role: admin"",""mfa_info"":[{""mfaEnrollmentId"":""mfa-1"",""displayName"":""Work phone"",""phoneInfo"":""+15550101"",""enrolledAt"":""2024-02-29T13:45:07.089Z""}],""created_at"":""2023-11-14T22:13:20.000Z""}",,acme,,member"#,
    "\n",
    r#"José.Álvarez@Example.com,,,,José,Álvarez,false,jose-uid,"{""firebase_uid"":""jose-uid"",""created_at"":""2020-09-13T12:26:40.000Z""}",org_01HXYZ,,,member"#,
    "\n",
    "anon@example.com,,,,Anon,Ymous,true,,,,,,\n",
    r#"dave@example.com,,,,Dave,,false,dave-uid,"{""firebase_uid"":""dave-uid""}",,,,"#,
    "\n",
    r#"eve@example.com,,,,,,false,eve-uid,"{""firebase_uid"":""eve-uid""}",,,,viewer"#,
    "\n",
);

#[test]
fn fixture_export_with_mappings() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = export(&[
        "--from-file",
        &fixture("users.json"),
        "--output-dir",
        dir.to_str().unwrap(),
        "--org-mapping",
        &fixture("org_mapping.csv"),
        "--role-mapping",
        &fixture("role_mapping.csv"),
        "--source-tenant",
        "acme-prod",
    ]);
    ok(&r);
    assert_eq!(read(&dir, "users.csv"), FIXTURE_USERS_CSV);

    let m = manifest(&dir);
    assert_eq!(m["provider"], "firebase");
    assert_eq!(m["sourceTenant"], "acme-prod");
    assert_eq!(
        m["entitiesRequested"],
        serde_json::json!(["users", "organizations", "memberships", "roles"])
    );
    assert_eq!(m["secretsRedacted"], true);
    assert_eq!(
        m["secretRedaction"],
        serde_json::json!({"mode": "not-applicable", "redacted": true, "notes": ["Firebase Auth export does not include connection secrets."]})
    );
    let counts: Vec<(String, u64)> = m["entitiesExported"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    let expected = [
        ("users", 6),
        ("organizations", 2),
        ("memberships", 3),
        ("roleDefinitions", 4),
        ("userRoleAssignments", 4),
        ("totpSecrets", 0),
        ("samlConnections", 0),
        ("oidcConnections", 0),
        ("customAttributeMappings", 0),
        ("proxyRoutes", 0),
        ("uploadUsers", 5),
        ("uploadOrganizations", 2),
        ("uploadMemberships", 3),
        ("warnings", 2),
        ("skippedUsers", 3),
    ];
    assert_eq!(counts, expected.map(|(k, v)| (k.to_string(), v)));
    // Conservation: 9 users in the file.
    assert_eq!(count(&m, "users") + count(&m, "skippedUsers"), 9);

    assert_eq!(
        jsonl(&dir, "skipped_users.jsonl"),
        [
            serde_json::json!({"firebase_uid": "noemail-uid", "reason": "no_email"}),
            serde_json::json!({"firebase_uid": "carol-uid", "email": "carol@example.com", "reason": "disabled_user"}),
            serde_json::json!({"firebase_uid": "blank-email-uid", "reason": "no_email"}),
        ]
    );
    let warnings = jsonl(&dir, "warnings.jsonl");
    assert_eq!(
        warnings,
        [
            serde_json::json!({"code": "missing_scrypt_parameters", "message": "No scrypt parameters provided for user alice-uid; password omitted.", "firebase_uid": "alice-uid", "email": "alice@example.com"}),
            serde_json::json!({"code": "missing_scrypt_parameters", "message": "No scrypt parameters provided for user bob-uid; password omitted.", "firebase_uid": "bob-uid", "email": "bob@example.com"}),
        ]
    );
    assert_eq!(
        m["warnings"],
        serde_json::json!([
            "No scrypt parameters provided for user alice-uid; password omitted.",
            "No scrypt parameters provided for user bob-uid; password omitted."
        ])
    );
    assert_eq!(
        read(&dir, "organizations.csv"),
        "org_id,org_external_id,org_name,domains,metadata\n,acme,\"Acme, Inc.\",,\norg_01HXYZ,,,,\n"
    );
    assert_eq!(
        read(&dir, "organization_memberships.csv"),
        "email,external_id,user_id,org_id,org_external_id,org_name,role_slugs,metadata\n\
         alice@example.com,alice-uid,,,acme,\"Acme, Inc.\",\"admin,billing\",\n\
         bob@example.com,bob-uid,,,acme,,member,\n\
         José.Álvarez@Example.com,jose-uid,,org_01HXYZ,,,member,\n"
    );
    assert_eq!(
        read(&dir, "role_definitions.csv"),
        "role_slug,role_name,role_type,permissions,org_id,org_external_id\n\
         admin,admin,environment,,,\nbilling,billing,environment,,,\nmember,member,environment,,,\nviewer,viewer,environment,,,\n"
    );
    assert_eq!(
        read(&dir, "user_role_assignments.csv"),
        "email,user_id,external_id,role_slug,org_id,org_external_id\n\
         alice@example.com,,alice-uid,admin,,acme\nalice@example.com,,alice-uid,billing,,acme\n\
         bob@example.com,,bob-uid,member,,acme\nJosé.Álvarez@Example.com,,jose-uid,member,org_01HXYZ,\n"
    );
    assert_eq!(
        read(&dir, "workos_upload/users.csv"),
        "user_id,email,email_verified,first_name,last_name,password_hash\n\
         alice-uid,alice@example.com,true,Alice,Liddell,\n\
         bob-uid,bob@example.com,true,Bob,\"\"\"The Builder\"\", Jr.\",\n\
         jose-uid,José.Álvarez@Example.com,false,José,Álvarez,\n\
         dave-uid,dave@example.com,false,Dave,,\neve-uid,eve@example.com,false,,,\n"
    );
    assert_eq!(
        read(&dir, "workos_upload/organizations.csv"),
        "organization_id,name\nacme,\"Acme, Inc.\"\norg_01HXYZ,org_01HXYZ\n"
    );
    assert_eq!(
        read(&dir, "workos_upload/organization_memberships.csv"),
        "organization_id,user_id\nacme,alice-uid\nacme,bob-uid\norg_01HXYZ,jose-uid\n"
    );
    assert_eq!(
        read(&dir, "totp_secrets.csv"),
        "email,totp_secret,totp_issuer,totp_user\n"
    );
    assert_eq!(
        read(&dir, "sso/handoff_notes.md"),
        "# Firebase / Identity Platform handoff notes\n\n\
         Firebase Auth JSON exports do not include SAML/OIDC connection material.\n\
         Re-run with `--service-account-key <key.json>` and `--project-id <gcp-project>`\n\
         to fetch Identity Platform SAML/OIDC configs via the admin REST API, or\n\
         populate sso/ files manually and run validate-package before importing.\n"
    );
    assert_valid(&dir);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(dir.join("users.csv"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }

    // §3.3 output.
    let abs = std::path::absolute(&dir).unwrap();
    assert_eq!(
        r.stdout,
        format!(
            "Exporting from Firebase Auth \u{2192} {}\n\nExport complete\n  Package: {}\n  users: 6\n  organizations: 2\n  memberships: 3\n  roleDefinitions: 4\n  userRoleAssignments: 4\n  uploadUsers: 5\n  uploadOrganizations: 2\n  uploadMemberships: 3\n  warnings: 2\n  skippedUsers: 3\n",
            dir.display(),
            abs.display()
        )
    );
    assert_eq!(r.stderr, "");
}

#[test]
fn name_split_include_disabled_and_skip_passwords() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let dir = tmp.path().join(name);
        let mut args = vec![
            "--from-file".to_string(),
            fixture("users.json"),
            "--output-dir".into(),
            dir.display().to_string(),
            "--quiet".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let r = export(&args.iter().map(String::as_str).collect::<Vec<_>>());
        ok(&r);
        assert_eq!(r.stdout, "");
        assert_valid(&dir);
        dir
    };
    let names = |dir: &Path| -> Vec<(String, String)> {
        users(dir)
            .into_iter()
            .map(|u| (u["first_name"].clone(), u["last_name"].clone()))
            .collect()
    };
    let p = |a: &str, b: &str| (a.to_string(), b.to_string());
    let last = run(
        "last",
        &[
            "--name-split",
            "last-space",
            "--include-disabled",
            "--skip-passwords",
        ],
    );
    assert_eq!(
        names(&last),
        [
            p("Alice", "Liddell"),
            p("Bob \"The Builder\",", "Jr."),
            p("Carol", ""),
            p("José", "Álvarez"),
            p("Anon", "Ymous"),
            p("Dave", ""),
            p("", "")
        ]
    );
    let carol = &users(&last)[2];
    assert_eq!(
        carol["metadata"],
        r#"{"firebase_uid":"carol-uid","created_at":"2023-11-14T22:13:20.000Z","disabled":true}"#
    );
    let m = manifest(&last);
    assert_eq!(
        (
            count(&m, "users"),
            count(&m, "skippedUsers"),
            count(&m, "warnings")
        ),
        (7, 2, 0)
    );

    let only = run("only", &["--name-split", "first-name-only"]);
    assert_eq!(names(&only)[1], p("Bob \"The Builder\", Jr.", ""));
    assert_eq!(names(&only)[2], p("José  Álvarez", ""));
}

/// Reads `fixtures/firebase/hash_config.json` (the Firebase console's format).
fn hash_config() -> (String, String, u32, u32) {
    let v: Value =
        serde_json::from_str(&fs::read_to_string(fixture("hash_config.json")).unwrap()).unwrap();
    (
        v["base64_signer_key"].as_str().unwrap().to_string(),
        v["base64_salt_separator"].as_str().unwrap().to_string(),
        v["rounds"].as_u64().unwrap() as u32,
        v["mem_cost"].as_u64().unwrap() as u32,
    )
}

/// Firebase's scrypt, independently: scrypt(password, salt ‖ separator,
/// N=2^mem_cost, r=rounds, p=1), the first 32 bytes as an AES-256-CTR key
/// (zero IV) over the signer key.
fn firebase_scrypt(
    password: &str,
    salt: &[u8],
    separator: &[u8],
    signer_key: &[u8],
    rounds: u32,
    mem_cost: u32,
) -> Vec<u8> {
    let params = scrypt::Params::new(mem_cost as u8, rounds, 1, 32).unwrap();
    let mut key = [0u8; 32];
    scrypt::scrypt(
        password.as_bytes(),
        &[salt, separator].concat(),
        &params,
        &mut key,
    )
    .unwrap();
    aes::ctr_zero_iv(&key, signer_key)
}

/// A plain AES-256 (FIPS-197) for the test: the dev-dependencies have no AES crate.
mod aes {
    fn gf_mul(mut a: u8, mut b: u8) -> u8 {
        let mut p = 0;
        while b != 0 {
            if b & 1 != 0 {
                p ^= a;
            }
            a = (a << 1) ^ if a & 0x80 != 0 { 0x1b } else { 0 };
            b >>= 1;
        }
        p
    }

    fn sbox() -> [u8; 256] {
        let mut s = [0u8; 256];
        for (x, out) in s.iter_mut().enumerate() {
            // Multiplicative inverse (x^254), then the affine map.
            let mut inv = 1u8;
            for _ in 0..254 {
                inv = gf_mul(inv, x as u8);
            }
            if x == 0 {
                inv = 0;
            }
            *out = inv
                ^ inv.rotate_left(1)
                ^ inv.rotate_left(2)
                ^ inv.rotate_left(3)
                ^ inv.rotate_left(4)
                ^ 0x63;
        }
        s
    }

    fn round_keys(key: &[u8; 32], s: &[u8; 256]) -> [[u8; 16]; 15] {
        let mut w = [[0u8; 4]; 60];
        for i in 0..8 {
            w[i].copy_from_slice(&key[4 * i..4 * i + 4]);
        }
        let mut rcon = 1u8;
        for i in 8..60 {
            let mut t = w[i - 1];
            if i % 8 == 0 {
                t = [
                    s[t[1] as usize] ^ rcon,
                    s[t[2] as usize],
                    s[t[3] as usize],
                    s[t[0] as usize],
                ];
                rcon = gf_mul(rcon, 2);
            } else if i % 8 == 4 {
                t = t.map(|b| s[b as usize]);
            }
            for j in 0..4 {
                w[i][j] = w[i - 8][j] ^ t[j];
            }
        }
        let mut rk = [[0u8; 16]; 15];
        for (r, k) in rk.iter_mut().enumerate() {
            for c in 0..4 {
                k[4 * c..4 * c + 4].copy_from_slice(&w[4 * r + c]);
            }
        }
        rk
    }

    pub fn encrypt_block(key: &[u8; 32], block: [u8; 16]) -> [u8; 16] {
        let s = sbox();
        let rk = round_keys(key, &s);
        let mut st = block;
        let add = |st: &mut [u8; 16], k: &[u8; 16]| st.iter_mut().zip(k).for_each(|(a, b)| *a ^= b);
        add(&mut st, &rk[0]);
        for (round, k) in rk.iter().enumerate().skip(1) {
            st = st.map(|b| s[b as usize]);
            let old = st;
            for c in 0..4 {
                for r in 0..4 {
                    st[r + 4 * c] = old[r + 4 * ((c + r) % 4)];
                }
            }
            if round < 14 {
                for c in 0..4 {
                    let a = [st[4 * c], st[4 * c + 1], st[4 * c + 2], st[4 * c + 3]];
                    for r in 0..4 {
                        st[4 * c + r] = gf_mul(a[r], 2)
                            ^ gf_mul(a[(r + 1) % 4], 3)
                            ^ a[(r + 2) % 4]
                            ^ a[(r + 3) % 4];
                    }
                }
            }
            add(&mut st, k);
        }
        st
    }

    /// AES-256-CTR, 128-bit big-endian counter from zero.
    pub fn ctr_zero_iv(key: &[u8; 32], data: &[u8]) -> Vec<u8> {
        data.chunks(16)
            .enumerate()
            .flat_map(|(i, chunk)| {
                let ks = encrypt_block(key, (i as u128).to_be_bytes());
                chunk.iter().zip(ks).map(|(d, k)| d ^ k).collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn fips_197_aes_256_vector() {
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        let pt: [u8; 16] = std::array::from_fn(|i| (i as u8) * 0x11);
        let ct = encrypt_block(&key, pt);
        assert_eq!(
            ct,
            [
                0x8e, 0xa2, 0xb7, 0xca, 0x51, 0x67, 0x45, 0xbf, 0xea, 0xfc, 0x49, 0x90, 0x4b, 0x49,
                0x60, 0x89
            ]
        );
    }
}

fn b64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).unwrap()
}

#[test]
fn real_firebase_hashes_verify_against_the_password() {
    let (sk, ss, rounds, mem) = hash_config();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = export(&[
        "--from-file",
        &fixture("hashed_users.json"),
        "--output-dir",
        dir.to_str().unwrap(),
        "--signer-key",
        &sk,
        "--salt-separator",
        &ss,
        "--rounds",
        &rounds.to_string(),
        "--memory-cost",
        &mem.to_string(),
    ]);
    ok(&r);
    assert!(!r.stdout.contains(&sk) && !r.stderr.contains(&sk));
    assert_eq!(count(&manifest(&dir), "warnings"), 0);
    assert_valid(&dir);

    let passwords: std::collections::HashMap<String, String> =
        csv::Reader::from_path(fixture("hashed_passwords.csv"))
            .unwrap()
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_string(), r[1].to_string())
            })
            .collect();
    let rows = users(&dir);
    assert_eq!(rows.len(), 4);
    let upload = read(&dir, "workos_upload/users.csv");
    let checks: Vec<_> = rows
        .iter()
        .map(|u| {
            let phc = u["password_hash"].clone();
            assert_eq!(u["password_hash_type"], "firebase-scrypt");
            check_password_hash("firebase-scrypt", &phc).unwrap();
            assert!(upload.contains(&phc));
            let fields: std::collections::HashMap<&str, &str> = phc
                .strip_prefix("$firebase-scrypt$")
                .unwrap()
                .split('$')
                .map(|f| f.split_once('=').unwrap())
                .collect();
            assert_eq!(
                (fields["sk"], fields["ss"], fields["r"], fields["m"]),
                (sk.as_str(), ss.as_str(), "8", "14")
            );
            assert!(
                !fields["hash"].contains(['-', '_']) && !fields["salt"].contains(['-', '_']),
                "URL-safe mapped: {phc}"
            );
            (
                passwords[&u["email"]].clone(),
                fields["hash"].to_string(),
                fields["salt"].to_string(),
            )
        })
        .collect();
    // scrypt with N=2^14, r=8 is slow without optimisation: one thread per hash.
    std::thread::scope(|scope| {
        for (password, hash, salt) in &checks {
            let (sk, ss) = (&sk, &ss);
            scope.spawn(move || {
                let got = firebase_scrypt(password, &b64(salt), &b64(ss), &b64(sk), rounds, mem);
                assert_eq!(
                    STANDARD.encode(got),
                    *hash,
                    "hash does not verify for salt {salt}"
                );
            });
        }
    });

    // The PyPI implementation too, when it is installed.
    let python_ready = Command::new("python3")
        .args(["-c", "import firebase_scrypt"])
        .output()
        .is_ok_and(|o| o.status.success());
    if python_ready {
        let out = Command::new("python3")
            .args([
                &fixture("verify.py"),
                dir.join("users.csv").to_str().unwrap(),
                &fixture("hashed_passwords.csv"),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "verified 4\n");
    } else {
        eprintln!(
            "python3 with firebase-scrypt not available: verify.py skipped (Rust verification ran)"
        );
    }
}

fn synth_file(dir: &Path, users: u64) -> (PathBuf, workos_migrate::synth::Truth) {
    let path = dir.join("synth.json");
    let mut f = fs::File::create(&path).unwrap();
    let spec = SynthSpec {
        format: SynthFormat::FirebaseJson,
        users,
        dirty: 0.05,
        seed: 7,
        orgs: 1,
    };
    let truth = generate(&spec, &mut f).unwrap();
    (path, truth)
}

fn reasons(dir: &Path, reason: &str) -> u64 {
    jsonl(dir, "skipped_users.jsonl")
        .iter()
        .filter(|v| v["reason"] == reason)
        .count() as u64
}

#[test]
fn synthetic_users_match_the_generator_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, truth) = synth_file(tmp.path(), 20_000);
    let e = |k: &str| truth.expected.get(k);
    assert!(
        e("skipped_no_email") > 0
            && e("skipped_disabled") > 0
            && e("missing_scrypt_parameters") > 0
    );

    let plain = tmp.path().join("plain");
    ok(&export(&[
        "--from-file",
        input.to_str().unwrap(),
        "--output-dir",
        plain.to_str().unwrap(),
        "--quiet",
    ]));
    let m = manifest(&plain);
    assert_eq!(count(&m, "users"), e("exported"));
    assert_eq!(reasons(&plain, "no_email"), e("skipped_no_email"));
    assert_eq!(reasons(&plain, "disabled_user"), e("skipped_disabled"));
    assert_eq!(count(&m, "warnings"), e("missing_scrypt_parameters"));
    let warnings = read(&plain, "warnings.jsonl");
    assert!(warnings
        .lines()
        .all(|w| w.contains(",\"code\":\"missing_scrypt_parameters\",")));
    // Conservation: every user is exported or skipped.
    assert_eq!(count(&m, "users") + count(&m, "skippedUsers"), truth.users);
    assert_eq!(
        read(&plain, "users.csv").lines().count() as u64,
        count(&m, "users") + 1
    );
    assert_valid(&plain);

    // With the signer key every hash is encoded (a smaller file keeps the debug run short).
    let small_dir = tmp.path().join("small");
    fs::create_dir(&small_dir).unwrap();
    let (small, small_truth) = synth_file(&small_dir, 5_000);
    let (sk, ss, _, _) = hash_config();
    let hashed = tmp.path().join("hashed");
    ok(&export(&[
        "--from-file",
        small.to_str().unwrap(),
        "--output-dir",
        hashed.to_str().unwrap(),
        "--quiet",
        "--signer-key",
        &sk,
        "--salt-separator",
        &ss,
    ]));
    let m = manifest(&hashed);
    assert_eq!(count(&m, "warnings"), 0);
    assert_eq!(count(&m, "users"), small_truth.expected.get("exported"));
    assert_eq!(
        count(&m, "users") + count(&m, "skippedUsers"),
        small_truth.users
    );
    let mut hashes = 0;
    for rec in csv::Reader::from_path(hashed.join("users.csv"))
        .unwrap()
        .records()
    {
        let rec = rec.unwrap();
        if &rec[3] == "firebase-scrypt" {
            check_password_hash("firebase-scrypt", &rec[2]).unwrap();
            hashes += 1;
        }
    }
    assert_eq!(
        hashes,
        small_truth.expected.get("missing_scrypt_parameters")
    );
}

/// A bad input: one line on stderr, exit 1, no manifest.
fn bad(name: &str, bytes: Option<&[u8]>, expect: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join(name);
    if let Some(b) = bytes {
        fs::write(&input, b).unwrap();
    }
    let dir = tmp.path().join("pkg");
    let r = export(&[
        "--from-file",
        input.to_str().unwrap(),
        "--output-dir",
        dir.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(r.code, 1, "{name}: {}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{name}: {:?}", r.stderr);
    assert!(
        r.stderr.starts_with("Export failed: "),
        "{name}: {}",
        r.stderr
    );
    assert!(r.stderr.contains(expect), "{name}: {}", r.stderr);
    assert!(
        !dir.join("manifest.json").exists(),
        "{name}: manifest written"
    );
}

#[test]
fn bad_inputs_are_one_line_errors_without_manifest() {
    bad(
        "truncated.json",
        Some(b"{\"users\":[\n{\"localId\":\"a\",\"email\":\"a@x.com\"},\n{\"localId\":\"b\",\"em"),
        "truncated.json: invalid JSON: the file ends inside users[1], which starts at line 3, column 1 (truncated file?)",
    );
    bad(
        "cut.json",
        Some(b"{\"users\":[{\"localId\":\"a\",\"email\":\"a@x.com\"}"),
        "the file ends inside the users array, after users[0]",
    );
    bad("obj.json", Some(b"{\"users\":{\"a\":{}}}"), "Firebase export must have a \"users\" array at the top level, but \"users\" is an object (line 1, column 10)");
    bad(
        "nousers.json",
        Some(b"{\"kind\":\"x\",\"accounts\":[]}"),
        "Found keys: kind, accounts",
    );
    bad(
        "notobj.json",
        Some(b"{\"users\":[{\"localId\":\"a\",\"email\":\"a@x.com\"},\n\"b@x.com\"]}"),
        "users[1] is a string; expected a user object (line 2, column 1)",
    );
    bad(
        "utf8.json",
        Some(b"{\"users\":[{\"localId\":\"a\",\"email\":\"a\xff@x.com\"}]}"),
        "invalid UTF-8 in users[0] at line 1, column 36",
    );
    bad(
        "badjson.json",
        Some(b"{\"users\":[{\"localId\":\"a\",\"email\":a@x.com}]}"),
        "invalid JSON in users[0] at line 1, column 34: expected value",
    );
    bad("array.json", Some(b"[{\"localId\":\"a\"}]"), "Firebase export must be a JSON object with a \"users\" array, but the file holds an array (line 1, column 1)");
    bad("empty.json", Some(b""), "but the file is empty");
    bad(
        "utf16.json",
        Some(b"\xff\xfe{\x00}\x00"),
        "but the file holds invalid JSON (line 1, column 1)",
    );
    bad("missing.json", None, "Firebase export file not found: ");
    // A directory instead of a file.
    let tmp = tempfile::tempdir().unwrap();
    let r = export(&[
        "--from-file",
        tmp.path().to_str().unwrap(),
        "--output-dir",
        tmp.path().join("pkg").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        format!(
            "Export failed: {} is a directory, not a Firebase export file\n",
            tmp.path().display()
        )
    );
    assert!(!tmp.path().join("pkg").exists());
}

#[test]
fn bom_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("bom.json");
    fs::write(
        &input,
        b"\xEF\xBB\xBF{\"users\":[{\"localId\":\"a\",\"email\":\"a@x.com\"}]}\n",
    )
    .unwrap();
    let dir = tmp.path().join("pkg");
    ok(&export(&[
        "--from-file",
        input.to_str().unwrap(),
        "--output-dir",
        dir.to_str().unwrap(),
        "--quiet",
    ]));
    assert_eq!(
        read(&dir, "users.csv"),
        format!("{USERS_HEADER}a@x.com,,,,,,false,a,\"{{\"\"firebase_uid\"\":\"\"a\"\"}}\",,,,\n")
    );
}

#[test]
fn a_50_mb_field_is_exported_and_a_65_mb_user_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let big = "x".repeat(50 << 20);
    let input = tmp.path().join("big.json");
    fs::write(&input, format!("{{\"users\":[{{\"localId\":\"a\",\"email\":\"a@x.com\",\"photoUrl\":\"{big}\"}},{{\"localId\":\"b\",\"email\":\"b@x.com\"}}]}}")).unwrap();
    let dir = tmp.path().join("pkg");
    ok(&export(&[
        "--from-file",
        input.to_str().unwrap(),
        "--output-dir",
        dir.to_str().unwrap(),
        "--quiet",
    ]));
    let m = manifest(&dir);
    assert_eq!(count(&m, "users"), 2);
    let csv_len = fs::metadata(dir.join("users.csv")).unwrap().len();
    assert!(csv_len > 50 << 20, "{csv_len}");

    let huge = "y".repeat(65 << 20);
    fs::write(&input, format!("{{\"users\":[{{\"localId\":\"a\",\"email\":\"a@x.com\"}},\n{{\"customAttributes\":\"{huge}\"}}]}}")).unwrap();
    let dir = tmp.path().join("pkg2");
    let r = export(&[
        "--from-file",
        input.to_str().unwrap(),
        "--output-dir",
        dir.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.ends_with("big.json: users[1] (line 2, column 1) is larger than 64 MiB; a Firebase user object is a few KiB\n"),
        "{}",
        r.stderr
    );
    assert!(!dir.join("manifest.json").exists());
}

#[test]
fn option_errors_come_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let base = [
        "--from-file",
        &fixture("users.json"),
        "--output-dir",
        dir.to_str().unwrap(),
    ]
    .map(String::from);
    let with = |extra: &[&str]| {
        let mut a: Vec<&str> = base.iter().map(String::as_str).collect();
        a.extend_from_slice(extra);
        export(&a)
    };
    for (extra, expect) in [
        (
            &["--rounds", "abc"][..],
            "invalid value 'abc' for '--rounds <value>'",
        ),
        (
            &["--rounds", "0"],
            "invalid value '0' for '--rounds <value>': 0 is not in 1..=8",
        ),
        (
            &["--memory-cost", "99"],
            "invalid value '99' for '--memory-cost <value>': 99 is not in 1..=14",
        ),
        (
            &["--name-split", "middle"],
            "invalid value 'middle' for '--name-split <value>'",
        ),
    ] {
        let r = with(extra);
        assert_eq!(r.code, 2, "{extra:?}");
        assert!(r.stderr.contains(expect), "{extra:?}: {}", r.stderr);
    }
    let secret = "c2VjcmV0*key";
    let r = with(&["--signer-key", secret]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            1,
            "Export failed: --signer-key is not valid base64 (a 12-character value, not shown)\n"
        )
    );
    if std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").is_none() {
        for flag in [&["--project-id", "p"][..], &["--skip-tenant-sso"]] {
            let r = with(flag);
            assert_eq!(
                (r.code, r.stderr.as_str()),
                (1, "Export failed: --project-id and --skip-tenant-sso need --service-account-key <key.json> (or GOOGLE_APPLICATION_CREDENTIALS) to export Identity Platform SSO configs\n")
            );
        }
    }
    let r = with(&["--service-account-key", "/nonexistent/key.json"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            1,
            "Export failed: Service account key not found: /nonexistent/key.json\n"
        )
    );
    let r = with(&["--org-mapping", "/nonexistent/orgs.csv"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .ends_with("Export failed: Org mapping CSV not found: /nonexistent/orgs.csv\n"),
        "{}",
        r.stderr
    );
    assert!(
        !dir.exists(),
        "nothing is written before the inputs are checked"
    );
}

#[test]
fn transform_firebase_is_a_deprecated_alias() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = transform(&[
        "--input",
        &fixture("users.json"),
        "--package",
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    ok(&r);
    assert_eq!(
        r.stderr,
        "\u{26a0} 'transform-firebase' is deprecated; use 'export firebase' (removed in v4.0)\n"
    );
    assert!(
        r.stdout
            .starts_with("Firebase package export complete\n  Package: "),
        "{}",
        r.stdout
    );
    let via_export = tmp.path().join("export");
    ok(&export(&[
        "--from-file",
        &fixture("users.json"),
        "--output-dir",
        via_export.to_str().unwrap(),
        "--quiet",
    ]));
    assert_eq!(read(&dir, "users.csv"), read(&via_export, "users.csv"));

    let r = transform(&["--input", &fixture("users.json")]);
    assert_eq!(r.code, 1);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "\u{26a0} 'transform-firebase' is deprecated; use 'export firebase' (removed in v4.0)",
            "Transform failed: --output is required unless --package is set"
        ]
    );
    let r = transform(&[
        "--input",
        &fixture("users.json"),
        "--output",
        tmp.path().join("out.csv").to_str().unwrap(),
        "--service-account",
        "key.json",
    ]);
    assert!(
        r.stderr
            .ends_with("Transform failed: --service-account is only supported in --package mode\n"),
        "{}",
        r.stderr
    );
    assert!(!tmp.path().join("out.csv").exists());
    let r = transform(&["--input", &fixture("users.json"), "--package"]);
    assert!(
        r.stderr
            .ends_with("Transform failed: --output-dir is required when --package is set\n"),
        "{}",
        r.stderr
    );
    let r = transform(&[
        "--input",
        "/nonexistent.json",
        "--package",
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(
        r.stderr
            .ends_with("Transform failed: Firebase export file not found: /nonexistent.json\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn binary_matches_library_when_wired() {
    let wired = common::run(&["export", "firebase", "--help"]);
    if wired.code != 0 {
        eprintln!("`export firebase` is not wired into the binary yet; skipped");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let r = common::run(&[
        "export",
        "firebase",
        "--from-file",
        &fixture("users.json"),
        "--output-dir",
        dir.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lib = tmp.path().join("lib");
    ok(&export(&[
        "--from-file",
        &fixture("users.json"),
        "--output-dir",
        lib.to_str().unwrap(),
        "--quiet",
    ]));
    assert_eq!(read(&dir, "users.csv"), read(&lib, "users.csv"));
    let r = common::run(&[
        "transform-firebase",
        "--input",
        &fixture("users.json"),
        "--package",
        "--output-dir",
        dir.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Peak resident memory of this process (Linux), in MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Memory stays flat however many users: run with
/// `cargo test --release --test export_firebase -- --ignored` (set
/// `FIREBASE_LARGE_USERS`, default 300000).
#[test]
#[ignore = "large input; run explicitly"]
fn memory_stays_bounded_on_a_large_export() {
    let users: u64 = std::env::var("FIREBASE_LARGE_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let tmp = tempfile::tempdir().unwrap();
    let (input, truth) = synth_file(tmp.path(), users);
    let size_mib = fs::metadata(&input).unwrap().len() >> 20;
    let dir = tmp.path().join("pkg");
    let started = std::time::Instant::now();
    ok(&export(&[
        "--from-file",
        input.to_str().unwrap(),
        "--output-dir",
        dir.to_str().unwrap(),
        "--quiet",
        "--signer-key",
        "a2V5",
    ]));
    let secs = started.elapsed().as_secs_f64();
    let m = manifest(&dir);
    assert_eq!(count(&m, "users") + count(&m, "skippedUsers"), truth.users);
    let peak = peak_rss_mib().unwrap_or(0);
    eprintln!(
        "{users} users ({size_mib} MiB) in {secs:.1} s = {:.0} users/s; peak RSS {peak} MiB",
        users as f64 / secs
    );
    assert!(peak < 512, "peak RSS {peak} MiB for a {size_mib} MiB input");
}

fn saml_config(name: &str) -> Value {
    serde_json::json!({
        "name": name,
        "displayName": "Okta",
        "enabled": true,
        "idpConfig": {
            "idpEntityId": "http://www.okta.com/exk1",
            "ssoUrl": "https://acme.okta.com/app/sso/saml",
            "signRequest": false,
            "idpCertificates": [{"x509Certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"}]
        },
        "spConfig": {
            "spEntityId": "test-project.firebaseapp.com",
            "callbackUri": "https://test-project.firebaseapp.com/__/auth/handler",
            "spCertificates": [{"x509Certificate": "MIIsp", "expiresAt": "2099-01-01T00:00:00Z"}]
        }
    })
}

#[test]
fn identity_platform_sso_is_written_after_the_users() {
    use fakes::google::{write_key_file, FakeGoogle, ScopeData, SERVICE_ACCOUNT_KEY};
    let tmp = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let handoff = runtime.block_on(async {
        let g = FakeGoogle::start("test-project").await;
        g.set_project(ScopeData {
            saml: vec![saml_config(
                "projects/test-project/inboundSamlConfigs/saml.okta",
            )],
            oidc: vec![],
        });
        let oidc = serde_json::json!({
            "name": "projects/test-project/tenants/t1/oauthIdpConfigs/oidc.example",
            "clientId": "oidc-client",
            "clientSecret": "gcp-oidc-client-secret-123",
            "issuer": "https://accounts.example.com/",
            "displayName": "Example",
            "enabled": true,
            "responseType": {"code": true}
        });
        g.add_tenant(
            "t1",
            "Tenant One",
            ScopeData {
                saml: vec![],
                oidc: vec![oidc],
            },
        );
        let key = write_key_file(
            tmp.path(),
            &SERVICE_ACCOUNT_KEY,
            Some("test-project"),
            &g.token_uri,
        );
        let mut o = FirebaseSsoOptions::new(key, None);
        o.api_base_url = g.base_url.clone();
        fetch_firebase_sso(&o).await.unwrap()
    });
    let dir = tmp.path().join("pkg");
    let r = export_firebase(
        &FirebaseExportOptions::new(fixture("users.json"), &dir),
        Some(handoff),
    )
    .unwrap();
    assert_eq!(r.users_read, 9);
    let m = manifest(&dir);
    assert_eq!(
        m["entitiesRequested"],
        serde_json::json!(["users", "organizations", "memberships", "roles", "sso"])
    );
    assert_eq!(
        (
            count(&m, "users"),
            count(&m, "samlConnections"),
            count(&m, "oidcConnections")
        ),
        (6, 1, 1)
    );
    assert_eq!(m["secretRedaction"]["mode"], "redacted");
    // Users' warnings first, then the SSO ones.
    let codes: Vec<String> = jsonl(&dir, "warnings.jsonl")
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        &codes[..2],
        ["missing_scrypt_parameters", "missing_scrypt_parameters"]
    );
    assert!(
        codes[2..].iter().all(|c| c != "missing_scrypt_parameters") && codes.len() > 2,
        "{codes:?}"
    );
    let csv = read(&dir, "sso/oidc_connections.csv");
    assert!(!csv.contains("gcp-oidc-client-secret-123"), "{csv}");
    let notes = read(&dir, "sso/handoff_notes.md");
    assert!(notes.starts_with("# Firebase / Identity Platform handoff notes\n\nIdentity Platform admin API returned 2 provider config(s) across 2 scope(s).\n"), "{notes}");
    assert_valid(&dir);
}

#[test]
fn transform_firebase_writes_the_legacy_single_csv() {
    let (sk, ss, rounds, mem) = hash_config();
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("legacy");
    fs::create_dir(&out_dir).unwrap();
    let output = out_dir.join("users.csv");
    let (orgs, role_map, input) = (
        fixture("org_mapping.csv"),
        fixture("role_mapping.csv"),
        fixture("users.json"),
    );
    let mapping = ["--org-mapping", orgs.as_str()];
    let roles = ["--role-mapping", role_map.as_str()];
    let mut args = vec!["--input", input.as_str()];
    let out = output.to_str().unwrap().to_string();
    args.extend(["--output", out.as_str()]);
    args.extend(mapping);
    args.extend(roles);
    let r = transform(&args);
    ok(&r);
    let mut names: Vec<String> = fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["users-skipped.jsonl", "users.csv"]);

    // The rows are the package's (same order and values); the mapping has
    // all three organization fields, and jose's entry (an org_id) gives only
    // the org_id.
    let pkg = tmp.path().join("pkg");
    let mut eargs = vec!["--from-file", input.as_str()];
    let p = pkg.to_str().unwrap().to_string();
    eargs.extend(["--output-dir", p.as_str(), "--quiet"]);
    eargs.extend(mapping);
    eargs.extend(roles);
    ok(&export(&eargs));
    let text = read(&out_dir, "users.csv");
    assert_eq!(
        text.lines().next().unwrap(),
        "email,first_name,last_name,email_verified,external_id,password_hash,password_hash_type,\
         metadata,org_id,org_external_id,org_name,role_slugs"
    );
    let legacy = users(&out_dir);
    let package = users(&pkg);
    assert_eq!(legacy.len(), package.len());
    for (l, p) in legacy.iter().zip(&package) {
        for k in [
            "email",
            "first_name",
            "last_name",
            "email_verified",
            "external_id",
            "metadata",
            "org_id",
            "org_external_id",
            "org_name",
            "role_slugs",
        ] {
            assert_eq!(l[k], p[k], "{k} of {}", l["email"]);
        }
    }
    // Legacy records: no timestamp (unlike the package's skipped_users.jsonl).
    let skipped: Vec<Value> = read(&out_dir, "users-skipped.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reasons: Vec<&str> = skipped
        .iter()
        .map(|v| v["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "Missing email address",
            "User is disabled",
            "Missing email address"
        ]
    );
    assert_eq!(
        serde_json::to_string(&skipped[1]).unwrap(),
        r#"{"firebase_uid":"carol-uid","email":"carol@example.com","reason":"User is disabled"}"#
    );
    let source: Value = serde_json::from_str(&fs::read_to_string(&input).unwrap()).unwrap();
    assert_eq!(
        legacy.len() + skipped.len(),
        source["users"].as_array().unwrap().len()
    );
    assert!(
        r.stdout.contains("    missing_scrypt_parameters: 2\n"),
        "{}",
        r.stdout
    );

    // With the project's scrypt parameters, the hashes still verify.
    let hashed_out = out_dir.join("hashed.csv");
    let r = transform(&[
        "--input",
        &fixture("hashed_users.json"),
        "--output",
        hashed_out.to_str().unwrap(),
        "--signer-key",
        &sk,
        "--salt-separator",
        &ss,
        "--rounds",
        &rounds.to_string(),
        "--memory-cost",
        &mem.to_string(),
        "--quiet",
    ]);
    ok(&r);
    assert_eq!(r.stdout, "");
    assert!(!r.stderr.contains(&sk));
    let rows = users_at(&hashed_out);
    assert_eq!(rows.len(), 4);
    for row in &rows {
        assert_eq!(row["password_hash_type"], "firebase-scrypt");
        assert!(row["password_hash"].starts_with("$firebase-scrypt$hash="));
    }
    // An empty export is not an error for Firebase (§13.4): header only.
    let empty = tmp.path().join("empty.json");
    fs::write(&empty, r#"{"users":[]}"#).unwrap();
    let empty_out = out_dir.join("empty.csv");
    ok(&transform(&[
        "--input",
        empty.to_str().unwrap(),
        "--output",
        empty_out.to_str().unwrap(),
        "--quiet",
    ]));
    assert_eq!(fs::read_to_string(&empty_out).unwrap().lines().count(), 1);
}

/// Any CSV's rows as maps (header → value).
fn users_at(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

/// Ctrl-C during the legacy single-CSV mode removes its scratch package
/// (which holds password hashes) and the unfinished outputs; exit 130. Once
/// while the export writes the scratch package, once while the legacy CSV is
/// made from it.
#[test]
fn interrupted_legacy_transform_leaves_nothing_behind() {
    interrupt_legacy_transform_when(|scratch, _| scratch.join("users.csv"));
    interrupt_legacy_transform_when(|_, out| out.join("users.csv.partial"));
}

/// Runs `transform-firebase` on 200k users, sends SIGINT as soon as the file
/// `when(scratch package, output dir)` exists, and checks the cleanup.
fn interrupt_legacy_transform_when(when: fn(&Path, &Path) -> PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let (input, _) = synth_file(tmp.path(), 200_000);
    let out_dir = tmp.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let output = out_dir.join("users.csv");
    let mut child = Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .args(["transform-firebase", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .args(["--signer-key", "a2V5", "--quiet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let scratch = out_dir.join(format!(".users.csv.package-{}", child.id()));
    let started = std::time::Instant::now();
    let trigger = when(&scratch, &out_dir);
    while !trigger.is_file() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{} never appeared",
            trigger.display()
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("finished before it could be interrupted: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.ends_with(
            "Transform interrupted; its scratch package and unfinished files were removed\n"
        ),
        "{stderr}"
    );
    let left: Vec<_> = fs::read_dir(&out_dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}
