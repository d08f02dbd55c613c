//! `export firebase` end to end through the real binary with Identity
//! Platform SSO against the fake Google (token endpoint + admin API):
//! redaction by default, `--include-secrets`, and a manifest that tells the truth.

mod common;
mod fakes;

use serde_json::{json, Value};

use fakes::google::{write_key_file, FakeGoogle, ScopeData, SERVICE_ACCOUNT_KEY};

const SECRET: &str = "gcp-oidc-client-secret-123";

fn oidc_config() -> Value {
    json!({
        "name": "projects/test-project/oauthIdpConfigs/oidc.example",
        "clientId": "oidc-client", "issuer": "https://accounts.example.com/",
        "displayName": "Example", "enabled": true,
        "clientSecret": SECRET, "responseType": {"code": true}
    })
}

#[test]
fn firebase_sso_handoff_redacts_unless_asked() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let g = rt.block_on(FakeGoogle::start("test-project"));
    g.set_project(ScopeData {
        saml: vec![],
        oidc: vec![oidc_config()],
    });
    let dir = tempfile::tempdir().unwrap();
    let key = write_key_file(
        dir.path(),
        &SERVICE_ACCOUNT_KEY,
        Some("test-project"),
        &g.token_uri,
    );
    let input = dir.path().join("users.json");
    std::fs::write(
        &input,
        r#"{"users":[{"localId":"u1","email":"a@x.com","emailVerified":true}]}"#,
    )
    .unwrap();

    for include in [false, true] {
        let pkg = dir.path().join(format!("pkg-{include}"));
        let mut args = vec![
            "export",
            "firebase",
            "--from-file",
            input.to_str().unwrap(),
            "--output-dir",
            pkg.to_str().unwrap(),
            "--service-account-key",
            key.to_str().unwrap(),
            "--project-id",
            "test-project",
            "--skip-tenant-sso",
            "--identity-platform-url",
            &g.base_url,
            "--quiet",
        ];
        if include {
            args.push("--include-secrets");
        }
        let r = common::run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!r.stderr.contains(SECRET));
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(pkg.join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(manifest["entitiesExported"]["oidcConnections"], 1);
        let oidc = std::fs::read_to_string(pkg.join("sso/oidc_connections.csv")).unwrap();
        let notes = std::fs::read_to_string(pkg.join("sso/handoff_notes.md")).unwrap();
        if include {
            assert!(oidc.contains(SECRET));
            assert_eq!(manifest["secretsRedacted"], false);
            assert_eq!(manifest["secretRedaction"]["mode"], "included");
            assert!(
                notes.contains("were included because --include-secrets was set"),
                "{notes}"
            );
        } else {
            assert!(!oidc.contains(SECRET));
            assert_eq!(manifest["secretsRedacted"], true);
            assert_eq!(manifest["secretRedaction"]["mode"], "redacted");
            assert!(notes.contains("redacted by design"), "{notes}");
        }
        let report = workos_migrate::package::validator::validate_package(&pkg, Default::default());
        assert!(report.is_valid(), "{:?}", report.issues);
    }
    assert!(g.token_requests() >= 1);
}
