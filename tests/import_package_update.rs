//! `import-package`'s update path (docs/cutover-runbook.md, the cut-over
//! contract): the real binary against the stateful fake WorkOS.
//!
//! The `ts-contract` fixture is imported, then a changed copy of it (a
//! renamed user, a verification flag, a metadata value, an organization
//! name, a membership role) is imported again: without `updateExisting`
//! nothing is modified (duplicates); with `--update-existing` or the
//! manifest's `metadata.workosMigrate.updateExisting`, exactly the changed
//! objects are `PUT`, counted as `updated`, and a second run sends no `PUT`.

mod common;
mod fakes;

use std::path::{Path, PathBuf};

use fakes::workos::{FakeWorkOs, FakeWorkOsConfig};
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/packages/ts-contract")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

fn import(fake: &FakeWorkOs, dir: &Path, extra: &[&str]) -> common::Run {
    let url = fake.base_url();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_workos-migrate"));
    cmd.args(["import-package", dir.to_str().unwrap(), "--endpoint", &url])
        .args(["--concurrency", "1"])
        .args(extra)
        .env("WORKOS_SECRET_KEY", fake.api_key())
        .env_remove("WORKOS_API_URL");
    let out = cmd.output().unwrap();
    let r = common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("workos_import_summary.json")).unwrap())
        .unwrap()
}

fn puts(fake: &FakeWorkOs) -> Vec<String> {
    fake.recorded()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.path_and_query)
        .collect()
}

/// The fixture with changes; every password hash blanked (a hash cannot be
/// compared, so a row carrying one is always re-sent — `diff` only writes a
/// hash that changed).
fn changed_package(root: &Path, manifest_flag: bool) -> PathBuf {
    let dir = root.join("changed");
    copy_dir(&fixture(), &dir);
    let users = std::fs::read_to_string(dir.join("users.csv")).unwrap();
    let mut out = String::new();
    for (i, line) in users.lines().enumerate() {
        if i == 0 {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut line = line
            .replace(",Bob,Brown,", ",Robert,Brown,")
            .replace(",Carol,Chen,false,", ",Carol,Chen,true,")
            .replace(r#"""plan"":""pro"""#, r#"""plan"":""enterprise"""#);
        if line.starts_with("bob@acme.com") && line.contains("org_acme") {
            line = line.trim_end_matches(",member").to_string() + ",admin";
        }
        // Blank password_hash and password_hash_type (columns 3 and 4).
        for h in [
            "$2b$04$FSfs5GTgt6HUhu7IViv8Jee3xwYEK2Hi58AfvcqURMMUZnQVLiWme,bcrypt",
            "$2b$04$MZmzANan0BObo1CPcp2DQe1bP.KywoqRUyZmB.8yqxmvNJeBZcTC6,bcrypt",
            "$2b$04$Tgt6HUhu7IViv8JWjw9KXerhECdGj.bOaJFdUZEI6sftf8LI4OC1K,bcrypt",
        ] {
            line = line.replace(h, ",");
        }
        out.push_str(&line);
        out.push('\n');
    }
    std::fs::write(dir.join("users.csv"), out).unwrap();
    let members = std::fs::read_to_string(dir.join("organization_memberships.csv")).unwrap();
    let members = members.replace(
        "bob@acme.com,auth0|bob,,,org_acme,\"Acme, Inc\",member,",
        "bob@acme.com,auth0|bob,,,org_acme,\"Acme, Inc\",admin,",
    );
    std::fs::write(dir.join("organization_memberships.csv"), members).unwrap();
    // The role assignment of that membership says the same (a consistent
    // package, as `diff` writes them).
    let assignments = std::fs::read_to_string(dir.join("user_role_assignments.csv")).unwrap();
    std::fs::write(
        dir.join("user_role_assignments.csv"),
        assignments.replace(
            "bob@acme.com,,auth0|bob,member,,org_acme",
            "bob@acme.com,,auth0|bob,admin,,org_acme",
        ),
    )
    .unwrap();
    let orgs = std::fs::read_to_string(dir.join("organizations.csv")).unwrap();
    std::fs::write(
        dir.join("organizations.csv"),
        orgs.replace(",org_globex,Globex,", ",org_globex,Globex Corp,"),
    )
    .unwrap();
    if manifest_flag {
        let path = dir.join("manifest.json");
        let mut m: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        m["metadata"] = serde_json::json!({"workosMigrate": {
            "packageKind": "delta", "updateExisting": true,
            "basedOn": {"test": "import_package_update"}}});
        std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    }
    dir
}

fn user<'a>(users: &'a [Value], email: &str) -> &'a Value {
    users.iter().find(|u| u["email"] == email).unwrap()
}

fn roles_of(fake: &FakeWorkOs, user_id: &str, org_id: &str) -> Vec<String> {
    let m = fake
        .memberships()
        .into_iter()
        .find(|m| m["user_id"] == user_id && m["organization_id"] == org_id)
        .unwrap();
    let mut r: Vec<String> = m["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["slug"].as_str().unwrap().to_string())
        .collect();
    r.sort();
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_path_puts_only_what_differs_and_a_second_run_sends_nothing() {
    let fake = FakeWorkOs::start(FakeWorkOsConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    copy_dir(&fixture(), &first);
    let r = tokio::task::block_in_place(|| import(&fake, &first, &[]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let hashes_before: Vec<Value> = fake
        .users()
        .iter()
        .map(|u| u["fake_password"].clone())
        .collect();

    let changed = changed_package(tmp.path(), true);
    let r = tokio::task::block_in_place(|| import(&fake, &changed, &[]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Update path on"), "{}", r.stdout);
    let s = summary(&changed);
    assert_eq!(s["plan"]["packageKind"], "delta");
    assert_eq!(s["plan"]["updateExisting"], true);
    // Alice (metadata; her second row is then equal), Bob (name), Carol
    // (verified); Dave unchanged.
    assert_eq!(s["users"]["details"]["updated"], 3, "{s:#}");
    assert_eq!(s["users"]["details"]["created"], 0);
    assert_eq!(s["users"]["details"]["duplicateUsers"], 2);
    assert_eq!(s["users"]["failed"], 0);
    assert_eq!(s["organizations"]["details"]["updated"], 1);
    assert_eq!(s["organizations"]["details"]["existing"], 2);
    assert_eq!(s["memberships"]["details"]["updated"], 1, "{s:#}");

    let users = fake.users();
    assert_eq!(users.len(), 4);
    assert_eq!(user(&users, "bob@acme.com")["first_name"], "Robert");
    assert_eq!(user(&users, "carol@globex.example")["email_verified"], true);
    let alice = user(&users, "alice@acme.com");
    assert_eq!(alice["metadata"]["plan"], "enterprise");
    assert_eq!(alice["metadata"]["auth0_user_id"], "auth0|alice");
    let hashes_after: Vec<Value> = users.iter().map(|u| u["fake_password"].clone()).collect();
    assert_eq!(hashes_before, hashes_after, "no row carried a hash");
    let orgs = fake.organizations();
    let org_id = |ext: &str| {
        orgs.iter().find(|o| o["external_id"] == ext).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        orgs.iter()
            .find(|o| o["external_id"] == "org_globex")
            .unwrap()["name"],
        "Globex Corp"
    );
    let bob = user(&users, "bob@acme.com")["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Roles are added, never removed: Bob keeps "member" and gains "admin".
    assert_eq!(
        roles_of(&fake, &bob, &org_id("org_acme")),
        ["admin", "member"]
    );

    // A second run: nothing differs, no PUT at all.
    let before = puts(&fake).len();
    let r = tokio::task::block_in_place(|| import(&fake, &changed, &[]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let s = summary(&changed);
    assert_eq!(s["users"]["details"]["updated"], 0, "{s:#}");
    assert_eq!(s["organizations"]["details"]["updated"], 0);
    let after = puts(&fake);
    assert_eq!(after.len(), before, "{:?}", &after[before..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_flag_existing_objects_are_left_alone_and_the_flag_updates_them() {
    let fake = FakeWorkOs::start(FakeWorkOsConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    copy_dir(&fixture(), &first);
    let r = tokio::task::block_in_place(|| import(&fake, &first, &[]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    let changed = changed_package(tmp.path(), false);
    let puts_before = puts(&fake).len();
    let r = tokio::task::block_in_place(|| import(&fake, &changed, &[]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let s = summary(&changed);
    assert!(s["plan"].get("updateExisting").is_none());
    assert!(s["users"]["details"].get("updated").is_none());
    assert_eq!(s["users"]["details"]["duplicateUsers"], 5);
    let users = fake.users();
    assert_eq!(user(&users, "bob@acme.com")["first_name"], "Bob");
    assert!(
        puts(&fake)[puts_before..]
            .iter()
            .all(|p| p.starts_with("/user_management/organization_memberships/")),
        "only the existing role-union path may PUT"
    );

    let r = tokio::task::block_in_place(|| import(&fake, &changed, &["--update-existing"]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let s = summary(&changed);
    assert!(s["plan"].get("updateExisting").is_none());
    assert_eq!(s["users"]["details"]["updated"], 3, "{s:#}");
    assert_eq!(user(&fake.users(), "bob@acme.com")["first_name"], "Robert");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_email_is_found_by_external_id_and_updated() {
    let fake = FakeWorkOs::start(FakeWorkOsConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    copy_dir(&fixture(), &first);
    let r = tokio::task::block_in_place(|| import(&fake, &first, &[]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let dave_id = user(&fake.users(), "dave@initech.example")["id"].clone();

    let changed = changed_package(tmp.path(), true);
    for f in ["users.csv", "organization_memberships.csv"] {
        let text = std::fs::read_to_string(changed.join(f)).unwrap();
        std::fs::write(
            changed.join(f),
            text.replace("dave@initech.example", "dave@initrode.example"),
        )
        .unwrap();
    }
    let r = tokio::task::block_in_place(|| import(&fake, &changed, &[]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let users = fake.users();
    assert_eq!(users.len(), 4, "no second Dave");
    assert_eq!(user(&users, "dave@initrode.example")["id"], dave_id);
    assert_eq!(summary(&changed)["users"]["details"]["updated"], 4);
}
