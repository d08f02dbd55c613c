//! `import --csv` end to end against the stateful fake WorkOS
//! (`tests/fakes/workos.rs`), through the CLI entry point
//! (`cli::import::execute`, in process, so the client's own counters are
//! visible) and, for option parsing, the real binary.
//!
//! Covered: the import.md §2.4 request sequence and bodies, `errors.jsonl`
//! fields (with the `X-Request-ID`), duplicate users still getting their
//! membership and a re-run repairing a deleted membership without creating
//! anything else, `role_slugs` as a list and the multiple-roles fallback,
//! name-only and external-id organizations, `--dry-run` making no request,
//! `--org-external-id` checked before any user is created, the in-flight
//! bound of `--concurrency`, a run under 5xx / drops / timeouts / a 429 storm
//! importing every row exactly once, `--plan`, and bad numeric options.

mod common;
mod fakes;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use fakes::workos::{FakeWorkOs, FakeWorkOsConfig, FaultPlan};
use serde_json::Value;
use workos_migrate::cli::import::{execute, ImportArgs};
use workos_migrate::import::pipeline::ImportReport;
use workos_migrate::workos::ApiKey;

#[derive(Parser)]
struct ImportCli {
    #[command(flatten)]
    args: ImportArgs,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    report: Option<ImportReport>,
}

/// A fake WorkOS on its own runtime plus a scratch directory.
struct Env {
    _rt: tokio::runtime::Runtime,
    fake: FakeWorkOs,
    dir: tempfile::TempDir,
}

impl Env {
    fn new(config: FakeWorkOsConfig) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fake = rt.block_on(FakeWorkOs::start(config));
        Self {
            _rt: rt,
            fake,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn unlimited() -> Self {
        Self::new(FakeWorkOsConfig {
            rate_limits: false,
            environment_roles: vec!["admin".into()],
            ..FakeWorkOsConfig::default()
        })
    }

    fn csv(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn errors_path(&self) -> PathBuf {
        self.dir.path().join("errors.jsonl")
    }

    fn run(&self, csv: &Path, extra: &[&str]) -> Run {
        let base = self.fake.base_url();
        let errors = self.errors_path();
        let checkpoints = self.dir.path().join("checkpoints");
        let mut argv: Vec<String> = vec![
            "import".into(),
            "--csv".into(),
            csv.display().to_string(),
            "--endpoint".into(),
            base,
            "--errors".into(),
            errors.display().to_string(),
            "--checkpoint-dir".into(),
            checkpoints.display().to_string(),
            "--rate-limit".into(),
            "2000".into(),
        ];
        argv.extend(extra.iter().map(|s| s.to_string()));
        let cli = ImportCli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{e}"));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let (code, report) = execute(
            cli.args,
            Some(ApiKey::new(self.fake.api_key())),
            &mut out,
            &mut err,
        );
        Run {
            code,
            stdout: String::from_utf8(out).unwrap(),
            stderr: String::from_utf8(err).unwrap(),
            report,
        }
    }

    fn errors(&self) -> Vec<Value> {
        std::fs::read_to_string(self.errors_path())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn user_by_email<'a>(users: &'a [Value], email: &str) -> &'a Value {
    users
        .iter()
        .find(|u| u["email"].as_str().unwrap().eq_ignore_ascii_case(email))
        .unwrap_or_else(|| panic!("no user {email}"))
}

fn slugs(m: &Value) -> Vec<String> {
    let mut v: Vec<String> = m["roles"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["slug"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn membership<'a>(fake: &'a [Value], user_id: &str) -> Vec<&'a Value> {
    fake.iter()
        .filter(|m| m["user_id"] == user_id && m["status"] == "active")
        .collect()
}

#[test]
fn request_sequence_and_bodies_follow_the_original() {
    let env = Env::unlimited();
    let existing = env.fake.seed_organization("Existing", Some("ext-existing"));
    let csv = env.csv(
        "multi.csv",
        "email,first_name,last_name,email_verified,external_id,org_external_id,org_name,role_slugs\n\
         alice@example.com,Alice,A,true,ext-alice,ext-existing,,admin\n\
         bob@example.com,Bob,B,false,,new-ext,New Org,\"admin,member\"\n",
    );
    let r = env.run(&csv, &["--concurrency", "1"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let paths: Vec<String> = env
        .fake
        .recorded()
        .iter()
        .map(|q| format!("{} {}", q.method, q.path_and_query))
        .collect();
    assert_eq!(
        paths,
        vec![
            "GET /organizations/external_id/ext-existing",
            "POST /user_management/users",
            "POST /user_management/organization_memberships",
            "GET /organizations/external_id/new-ext",
            "POST /organizations",
            "POST /user_management/users",
            "POST /user_management/organization_memberships",
        ]
    );
    let users = env.fake.users();
    let alice = user_by_email(&users, "alice@example.com");
    assert_eq!(alice["first_name"], "Alice");
    assert_eq!(alice["last_name"], "A");
    assert_eq!(alice["email_verified"], true);
    assert_eq!(alice["external_id"], "ext-alice");
    let bob = user_by_email(&users, "bob@example.com");
    assert_eq!(bob["email_verified"], false);
    assert!(bob["external_id"].is_null());
    let orgs = env.fake.organizations();
    let new_org = orgs.iter().find(|o| o["external_id"] == "new-ext").unwrap();
    assert_eq!(new_org["name"], "New Org");
    let ms = env.fake.memberships();
    let am = membership(&ms, alice["id"].as_str().unwrap());
    assert_eq!(am.len(), 1);
    assert_eq!(am[0]["organization_id"], existing.as_str());
    assert_eq!(slugs(am[0]), vec!["admin"]);
    let bm = membership(&ms, bob["id"].as_str().unwrap());
    assert_eq!(bm[0]["organization_id"], new_org["id"]);
    assert_eq!(slugs(bm[0]), vec!["admin", "member"]);
    // Summary text.
    assert!(r.stdout.contains("  Import Summary\n"), "{}", r.stdout);
    assert!(r.stdout.contains("  Total rows:             2\n"));
    assert!(r.stdout.contains("  Users created:          2\n"));
    assert!(r.stdout.contains("  Memberships created:    2\n"));
    assert!(r.stdout.contains("  Roles assigned:         3\n"));
    assert!(r.stdout.contains("  Org cache hit rate:     0.0%\n"));
    assert_eq!(std::fs::read_to_string(env.errors_path()).unwrap(), "");
}

#[test]
fn errors_jsonl_fields_request_id_and_exit_code() {
    let env = Env::unlimited();
    let csv = env.csv(
        "errs.csv",
        "email,first_name,metadata,password_hash,password_hash_type,org_id\n\
         good@example.com,G,\"{\"\"plan\"\":\"\"pro\"\",\"\"seats\"\":3,\"\"x\"\":null}\",,,\n\
         not-an-email,X,,,,\n\
         ,Y,,,,\n\
         meta@example.com,M,{bad,,,\n\
         hash@example.com,H,,$2b$10$notARealHashButSecret,bcrypt,\n\
         org@example.com,O,,,,org_missing\n\
         ragged@example.com,R\n",
    );
    let r = env.run(&csv, &["--concurrency", "1"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Import completed with 6 row error(s)"));
    assert!(
        r.stdout.contains("  Errors:                 6\n"),
        "{}",
        r.stdout
    );
    let users = env.fake.users();
    let good = user_by_email(&users, "good@example.com");
    assert_eq!(good["metadata"]["seats"], "3");
    assert_eq!(good["metadata"]["plan"], "pro");
    assert!(good["metadata"].get("x").is_none());

    let errors = env.errors();
    let by_row: BTreeMap<u64, &Value> = errors
        .iter()
        .map(|e| (e["recordNumber"].as_u64().unwrap(), e))
        .collect();
    assert_eq!(
        by_row.keys().copied().collect::<Vec<_>>(),
        vec![2, 3, 4, 5, 6, 7]
    );
    let api = by_row[&2];
    assert_eq!(api["email"], "not-an-email");
    assert_eq!(api["errorType"], "user_create");
    assert_eq!(api["httpStatus"], 422);
    assert_eq!(api["workosCode"], "invalid_request_parameters");
    assert_eq!(
        api["errorMessage"],
        "The following requirement must be met:\n\tinvalid_email\n"
    );
    assert!(!api["workosRequestId"].as_str().unwrap().is_empty());
    let keys: Vec<&String> = api.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        vec![
            "recordNumber",
            "email",
            "errorType",
            "errorMessage",
            "timestamp",
            "httpStatus",
            "workosCode",
            "workosRequestId",
            "workosErrors"
        ]
    );
    assert_eq!(by_row[&3]["errorMessage"], "Missing required email");
    assert_eq!(by_row[&3]["email"], "");
    assert_eq!(by_row[&4]["errorMessage"], "Invalid metadata JSON");
    // The bad hash is rejected by the API; the record never holds it.
    assert_eq!(by_row[&5]["errorType"], "user_create");
    let raw = std::fs::read_to_string(env.errors_path()).unwrap();
    assert!(!raw.contains("notARealHashButSecret"), "{raw}");
    assert_eq!(by_row[&6]["errorType"], "org_resolution");
    assert_eq!(
        by_row[&6]["errorMessage"],
        "Organization not found: org_missing"
    );
    assert_eq!(by_row[&6]["orgId"], "org_missing");
    assert_eq!(
        by_row[&7]["errorMessage"],
        "Invalid Record Length: columns length is 6, got 2 on line 8"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.errors_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn existing_users_get_memberships_and_a_rerun_repairs_without_duplicates() {
    let env = Env::unlimited();
    let bob_id = env.fake.seed_user("bob@example.com", None);
    let csv = env.csv(
        "dup.csv",
        "email,org_external_id,org_name,role_slugs\n\
         alice@example.com,acme,Acme,admin\n\
         BOB@example.com,acme,Acme,admin\n",
    );
    let r = env.run(&csv, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let c = r.report.unwrap().counters;
    assert_eq!((c.users_created, c.duplicate_users), (1, 1));
    assert_eq!(c.memberships_created, 2);
    assert!(r.stdout.contains("  Duplicate users:        1\n"));
    assert_eq!(membership(&env.fake.memberships(), &bob_id).len(), 1);

    // Same file again: everything exists, nothing is created.
    let r = env.run(&csv, &[]);
    assert_eq!(r.code, 0);
    let c = r.report.unwrap().counters;
    assert_eq!((c.users_created, c.duplicate_users), (0, 2));
    assert_eq!((c.memberships_created, c.duplicate_memberships), (0, 2));
    assert_eq!(c.roles_assigned, 2);

    // A deleted membership is repaired; nothing else is created.
    let users = env.fake.users();
    let alice_id = user_by_email(&users, "alice@example.com")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let org_id = env.fake.organizations()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(env.fake.delete_membership(&alice_id, &org_id));
    let r = env.run(&csv, &[]);
    assert_eq!(r.code, 0);
    let c = r.report.unwrap().counters;
    assert_eq!((c.memberships_created, c.duplicate_memberships), (1, 1));
    assert_eq!(env.fake.users().len(), 2);
    assert_eq!(env.fake.organizations().len(), 1);
    assert_eq!(env.fake.memberships().len(), 2);

    // A new role for an existing membership is added (union), not replaced.
    let csv2 = env.csv(
        "dup2.csv",
        "email,org_external_id,org_name,role_slugs\nbob@example.com,acme,Acme,\"member,admin\"\n",
    );
    let r = env.run(&csv2, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let c = r.report.unwrap().counters;
    assert_eq!((c.duplicate_memberships, c.memberships_updated), (1, 1));
    assert_eq!(c.roles_assigned, 2);
    let ms = env.fake.memberships();
    assert_eq!(slugs(membership(&ms, &bob_id)[0]), vec!["admin", "member"]);
    assert_eq!(ms.len(), 2);
}

#[test]
fn role_slugs_list_and_multiple_roles_fallback() {
    let text = "email,org_external_id,org_name,role_slugs\n\
                a@x.com,acme,Acme,\"admin,member\"\n\
                b@x.com,acme,Acme,\"[\"\"member\"\",\"\"admin\"\"]\"\n\
                c@x.com,acme,Acme,admin\n";
    let multi = Env::unlimited();
    let r = multi.run(&multi.csv("roles.csv", text), &["--concurrency", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ms = multi.fake.memberships();
    let all: Vec<Vec<String>> = ms.iter().map(slugs).collect();
    assert_eq!(
        all,
        vec![
            vec!["admin".to_string(), "member".to_string()],
            vec!["admin".to_string(), "member".to_string()],
            vec!["admin".to_string()]
        ]
    );
    assert_eq!(r.report.unwrap().counters.roles_assigned, 5);

    let single = Env::new(FakeWorkOsConfig {
        rate_limits: false,
        multiple_roles_enabled: false,
        ..FakeWorkOsConfig::default()
    });
    let r = single.run(&single.csv("roles.csv", text), &["--concurrency", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let all: Vec<Vec<String>> = single.fake.memberships().iter().map(slugs).collect();
    assert_eq!(
        all,
        vec![
            vec!["admin".to_string()],
            vec!["member".to_string()],
            vec!["admin".to_string()]
        ]
    );
    assert!(r.stdout.contains(
        "    - Row 1: Multiple roles not enabled \u{2014} assigned \"admin\" only, skipped: member\n"
    ), "{}", r.stdout);
    assert!(r.stdout.contains(
        "    - Row 2: Multiple roles not enabled \u{2014} assigned \"member\" only, skipped: admin\n"
    ));
    assert!(r.stdout.contains("  Role failures:          2\n"));
    // The second multi-role row went straight to one slug: 3 membership POSTs
    // plus the one 422.
    let posts = single.fake.stats().by_route["POST /user_management/organization_memberships"];
    assert_eq!(posts, 4);
}

#[test]
fn organizations_by_name_and_external_id_without_name() {
    let env = Env::unlimited();
    let text = "email,org_external_id,org_name\n\
                a@x.com,,Name Only\n\
                b@x.com,,Name Only\n\
                c@x.com,ext-no-name,\n";
    let csv = env.csv("names.csv", text);
    let r = env.run(&csv, &[]);
    assert_eq!(r.code, 3);
    let errors = env.errors();
    let messages: HashSet<&str> = errors
        .iter()
        .map(|e| e["errorMessage"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        HashSet::from([
            "Organization not found: Name Only",
            "Organization not found: ext-no-name"
        ])
    );
    assert!(errors.iter().all(|e| e["errorType"] == "org_resolution"));
    assert!(
        env.fake.users().is_empty(),
        "no user before its org resolves"
    );

    for _ in 0..2 {
        let r = env.run(&csv, &["--create-org-if-missing"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let orgs = env.fake.organizations();
    assert_eq!(orgs.len(), 2, "{orgs:?}");
    assert!(orgs
        .iter()
        .any(|o| o["name"] == "Name Only" && o["external_id"].is_null()));
    assert!(orgs
        .iter()
        .any(|o| o["name"] == "ext-no-name" && o["external_id"] == "ext-no-name"));
    assert_eq!(env.fake.memberships().len(), 3);
}

#[test]
fn dry_run_makes_no_request() {
    let env = Env::unlimited();
    let csv = env.csv(
        "dry.csv",
        "email,org_external_id,org_name,role_slugs\n\
         a@x.com,acme,Acme,admin\n\
         A@x.com,acme,Acme,admin\n\
         b@x.com,globex,Globex,\"admin,member\"\n",
    );
    let r = env.run(&csv, &["--dry-run", "--org-external-id", "whatever"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r2 = env.run(&csv, &["--dry-run"]);
    assert_eq!(r2.code, 0);
    assert_eq!(env.fake.stats().total_requests, 0);
    let c = r2.report.unwrap().counters;
    assert_eq!(c.users_created, 3);
    assert_eq!((c.memberships_created, c.duplicate_memberships), (2, 1));
    assert_eq!(c.roles_assigned, 4);
    assert!(
        r2.stdout.contains("  Org cache hit rate:     33.3%\n"),
        "{}",
        r2.stdout
    );
}

#[test]
fn cli_organization_is_checked_before_any_user() {
    let env = Env::unlimited();
    let csv = env.csv("u.csv", "email,role_slugs\na@x.com,admin\nb@x.com,\n");
    let r = env.run(&csv, &["--org-external-id", "nope"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.trim(), "Organization not found: nope");
    assert!(env.fake.users().is_empty());
    assert_eq!(env.fake.stats().writes, 0);
    let r = env.run(&csv, &["--org-id", "org_nope"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.trim(), "Organization not found: org_nope");

    let r = env.run(
        &csv,
        &["--org-external-id", "nope", "--create-org-if-missing"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let orgs = env.fake.organizations();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0]["name"], "nope");
    let ms = env.fake.memberships();
    assert_eq!(ms.len(), 2);
    assert!(ms.iter().all(|m| m["organization_id"] == orgs[0]["id"]));
    assert!(!r.stdout.contains("Org cache hit rate"));

    // --org-id of an existing org: no per-row lookups.
    let id = env.fake.seed_organization("Seeded", None);
    let csv2 = env.csv("u2.csv", "email\nc@x.com\nd@x.com\ne@x.com\n");
    let r = env.run(&csv2, &["--org-id", &id]);
    assert_eq!(r.code, 0);
    assert_eq!(env.fake.stats().by_route["GET /organizations/{id}"], 2);
}

#[test]
fn concurrency_bounds_requests_in_flight() {
    let env = Env::unlimited();
    env.fake.set_faults(FaultPlan {
        slow_rate: 0.5,
        slow_delay: Duration::from_millis(20),
        ..FaultPlan::default()
    });
    let mut text = String::from("email,org_external_id,org_name\n");
    for i in 0..120 {
        text.push_str(&format!("u{i}@x.com,o{},Org {}\n", i % 4, i % 4));
    }
    let csv = env.csv("c.csv", &text);
    let r = env.run(&csv, &["--concurrency", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let stats = r.report.unwrap().client_stats.unwrap();
    assert_eq!(stats.max_in_flight, 2, "{stats:?}");

    let csv = env.csv("c2.csv", &text.replace("@x.com", "@y.com"));
    let r = env.run(
        &csv,
        &["--concurrency", "2", "--workers", "3", "--job-id", "w"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let stats = r.report.unwrap().client_stats.unwrap();
    assert!(
        stats.max_in_flight <= 6 && stats.max_in_flight > 2,
        "{stats:?}"
    );
}

#[test]
fn faults_and_storms_still_import_every_row_exactly_once() {
    let env = Env::unlimited();
    env.fake.set_faults(FaultPlan {
        error_rate: 0.04,
        drop_before_rate: 0.02,
        drop_after_rate: 0.03,
        slow_rate: 0.01,
        slow_delay: Duration::from_millis(1500),
        storm_every: 250,
        storm_len: 5,
        storm_retry_after_secs: 1,
    });
    let rows: u64 = 300;
    let mut text =
        String::from("email,first_name,external_id,org_external_id,org_name,role_slugs\n");
    for i in 0..rows {
        let roles = if i.is_multiple_of(3) {
            "\"admin,member\""
        } else {
            "admin"
        };
        text.push_str(&format!(
            "user{i}@x.com,U{i},ext-{i},org-{},Org {},{roles}\n",
            i % 10,
            i % 10
        ));
    }
    let csv = env.csv("faults.csv", &text);
    let r = env.run(&csv, &["--request-timeout", "1", "--concurrency", "8"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let report = r.report.unwrap();
    let c = report.counters;
    assert_eq!(c.total_rows, rows);
    assert_eq!(c.failures, 0);
    assert_eq!(c.users_created + c.duplicate_users, rows);
    assert_eq!(c.memberships_created + c.duplicate_memberships, rows);
    let stats = env.fake.stats();
    assert!(stats.faults_injected > 20, "{:?}", stats.faults_by_kind);
    assert!(stats.faults_by_kind.get("drop_after").copied().unwrap_or(0) > 0);
    assert!(stats.faults_by_kind.get("storm_429").copied().unwrap_or(0) > 0);

    let users = env.fake.users();
    assert_eq!(users.len(), rows as usize);
    let emails: HashSet<String> = users
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(emails.len(), rows as usize);
    assert_eq!(env.fake.organizations().len(), 10);
    let ms = env.fake.memberships();
    assert_eq!(ms.len(), rows as usize);
    let pairs: HashSet<(String, String)> = ms
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_string(),
                m["organization_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(pairs.len(), rows as usize);
    for u in &users {
        let i: usize = u["external_id"].as_str().unwrap()[4..].parse().unwrap();
        let m = membership(&ms, u["id"].as_str().unwrap());
        let want: Vec<&str> = if i.is_multiple_of(3) {
            vec!["admin", "member"]
        } else {
            vec!["admin"]
        };
        assert_eq!(slugs(m[0]), want, "user {i}");
    }
}

#[test]
fn plan_and_checkpointed_job() {
    let env = Env::unlimited();
    let mut text = String::from("email,org_external_id,org_name,role_slugs\n");
    for i in 0..25 {
        text.push_str(&format!("u{i}@x.com,o{},O{},admin\n", i % 2, i % 2));
    }
    let csv = env.csv("job.csv", &text);
    let r = env.run(&csv, &["--plan", "--chunk-size", "10", "--org-id", "org_1"]);
    assert_eq!(r.code, 0);
    let want = format!(
        "\n  Import Plan\n  ════════════════════════════════════════\n  CSV file:        {}\n  Total rows:      25\n  Concurrency:     10\n  Rate limit:      2000 req/s\n  Workers:         1\n  Chunk size:      10\n  Total chunks:    3\n  Org ID:          org_1\n  ════════════════════════════════════════\n",
        csv.display()
    );
    assert_eq!(r.stdout, want);
    assert_eq!(env.fake.stats().total_requests, 0);

    let r = env.run(&csv, &["--plan", "--workers", "2"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "--workers > 1 requires --job-id or --resume for checkpoint support"
    );

    let r = env.run(&csv, &["--job-id", "job1", "--chunk-size", "10"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r
        .stdout
        .starts_with("Created checkpoint for job job1: 25 rows, 3 chunks\n"));
    let dir = env.dir.path().join("checkpoints/job1");
    let cp: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("checkpoint.json")).unwrap())
            .unwrap();
    assert_eq!(cp["summary"]["total"], 25);
    assert_eq!(cp["summary"]["usersCreated"], 25);
    assert_eq!(cp["mode"], "multi-org");
    assert_eq!(cp["chunks"].as_array().unwrap().len(), 3);
    assert!(cp["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "completed"));
    assert!(!cp["summary"]["endedAt"].is_null());
    let parts = std::fs::read_dir(dir.join("outcomes")).unwrap().count();
    assert_eq!(parts, 3);

    let r = env.run(&csv, &["--job-id", "job1"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("Job job1 already exists"), "{}", r.stderr);
    let before = env.fake.stats().total_requests;
    let r = env.run(&csv, &["--resume", "job1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r
        .stdout
        .starts_with("Resuming job job1: 3/3 chunks complete\n"));
    assert!(r.stdout.contains("  Total rows:             25\n"));
    assert_eq!(env.fake.stats().total_requests, before, "nothing redone");

    std::fs::write(&csv, format!("{text}z@x.com,o1,O1,admin\n")).unwrap();
    let r = env.run(&csv, &["--resume"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("CSV file has changed"), "{}", r.stderr);
}

#[test]
fn bad_numeric_options_and_missing_key_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("u.csv");
    std::fs::write(&csv, "email\na@x.com\n").unwrap();
    let csv = csv.display().to_string();
    for (flag, value) in [
        ("--concurrency", "0"),
        ("--chunk-size", "0"),
        ("--rate-limit", "0"),
        ("--workers", "0"),
        ("--concurrency", "abc"),
        ("--rate-limit", "10x"),
        ("--chunk-size", "1.5"),
    ] {
        let r = common::run_in(
            dir.path(),
            &["import", "--csv", &csv, flag, value, "--dry-run"],
        );
        assert_ne!(r.code, 0, "{flag} {value}");
        assert!(
            r.stderr
                .contains(&format!("invalid value '{value}' for '{flag}")),
            "{flag} {value}: {}",
            r.stderr
        );
    }
    let r = common::run_in(dir.path(), &["import", "--csv", "missing.csv"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.trim(), "CSV file not found: missing.csv");
    // No key in the environment or .env of this directory.
    let r = std::process::Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .args(["import", "--csv", &csv, "--endpoint", "http://127.0.0.1:9"])
        .current_dir(dir.path())
        .env_remove("WORKOS_SECRET_KEY")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&r.stderr).trim(),
        "WorkOS API key is required. Set WORKOS_SECRET_KEY environment variable or pass --api-key."
    );
    // A dry run needs no key and writes errors.jsonl in the working directory.
    let r = common::run_in(
        dir.path(),
        &["import", "--csv", &csv, "--dry-run", "--quiet"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(dir.path().join("errors.jsonl").exists());
}

#[test]
fn fixtures_reproduce_the_original_sample_checkpoint() {
    let env = Env::unlimited();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let multi = root.join("fixtures/import/multi-org.csv");
    let r = env.run(
        &multi,
        &["--job-id", "test-job-1", "--chunk-size", "2", "--dry-run"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("  Roles assigned:         5\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("  Org cache hit rate:     50.0%\n"));
    let cp: Value = serde_json::from_str(
        &std::fs::read_to_string(
            env.dir
                .path()
                .join("checkpoints/test-job-1/checkpoint.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let keys: Vec<&String> = cp.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        vec![
            "jobId",
            "csvPath",
            "csvHash",
            "createdAt",
            "updatedAt",
            "chunkSize",
            "concurrency",
            "totalRows",
            "chunks",
            "summary",
            "mode",
            "dryRun"
        ]
    );
    assert_eq!(cp["totalRows"], 4);
    assert_eq!(cp["mode"], "multi-org");
    let s = &cp["summary"];
    assert_eq!(
        (
            s["total"].as_u64(),
            s["usersCreated"].as_u64(),
            s["membershipsCreated"].as_u64()
        ),
        (Some(4), Some(4), Some(4))
    );
    assert_eq!(s["rolesAssigned"], 5);
    let chunks = cp["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 2);
    assert_eq!(
        (chunks[1]["startRow"].as_u64(), chunks[1]["endRow"].as_u64()),
        (Some(3), Some(4))
    );
    assert_eq!(env.fake.stats().total_requests, 0);

    // simple.csv, live: user-only, three creates and nothing else.
    let r = env.run(&root.join("fixtures/import/simple.csv"), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(env.fake.users().len(), 3);
    assert_eq!(env.fake.stats().by_route.len(), 1);
    assert_eq!(env.fake.stats().by_route["POST /user_management/users"], 3);
}
