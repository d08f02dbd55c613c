//! Crash safety of checkpointed imports: the real binary imports a generated
//! 5,000-user CSV (50 organizations, one or two roles per membership) into
//! the in-process fake WorkOS with `--job-id`, is SIGKILLed at five random
//! moments (each restart with `--resume`), and the last resume finishes.
//! Then the fake must hold every user, organization, membership and role
//! exactly once, and the final summary must account for every row once.

mod fakes;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fakes::workos::{FakeWorkOs, FakeWorkOsConfig};
use serde_json::Value;

const USERS: usize = 5_000;
const ORGS: usize = 50;
const KILLS: usize = 5;

fn roles_of(i: usize) -> Vec<&'static str> {
    if i.is_multiple_of(4) {
        vec!["admin", "member"]
    } else if i % 4 == 1 {
        vec!["admin"]
    } else {
        vec!["member"]
    }
}

fn write_csv(path: &Path) {
    let mut text = String::from(
        "email,first_name,last_name,email_verified,external_id,org_external_id,org_name,role_slugs\n",
    );
    for i in 0..USERS {
        let roles = roles_of(i).join(",");
        text.push_str(&format!(
            "user{i}@crash.test,First{i},Last{i},{},ext-{i},org-{},Org {},\"{roles}\"\n",
            i % 2 == 0,
            i % ORGS,
            i % ORGS
        ));
    }
    std::fs::write(path, text).unwrap();
}

fn spawn(dir: &Path, fake: &FakeWorkOs, job_args: &[&str]) -> Child {
    let mut args = vec![
        "import",
        "--csv",
        "users.csv",
        "--concurrency",
        "16",
        "--rate-limit",
        "100000",
        "--chunk-size",
        "50",
    ];
    args.extend_from_slice(job_args);
    Command::new(env!("CARGO_BIN_EXE_workos-migrate"))
        .args(&args)
        .arg("--endpoint")
        .arg(fake.base_url())
        .env("WORKOS_SECRET_KEY", fake.api_key())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn workos-migrate")
}

/// A small xorshift generator seeded from the clock (printed for replay).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sigkill_at_random_moments_then_resume_imports_everything_exactly_once() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeWorkOs::start(FakeWorkOsConfig {
        rate_limits: false,
        ..FakeWorkOsConfig::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    write_csv(&dir.path().join("users.csv"));
    let checkpoint = dir.path().join(".workos-checkpoints/crash/checkpoint.json");

    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7)
                | 1
        });
    eprintln!("crash test seed (CRASH_SEED): {seed}");
    let mut rng = Rng(seed);

    let mut kills = 0;
    let mut runs = 0;
    let final_output = loop {
        runs += 1;
        assert!(runs < 40, "the job never finished");
        let job_args: Vec<&str> = if checkpoint.exists() {
            vec!["--resume", "crash"]
        } else {
            vec!["--job-id", "crash"]
        };
        let mut child = spawn(dir.path(), &fake, &job_args);
        if kills < KILLS {
            // Somewhere between "still hashing the CSV" and well into the run.
            let wait = Duration::from_millis(50 + rng.next() % 1500);
            let started = Instant::now();
            let mut exited = None;
            while started.elapsed() < wait {
                if let Some(status) = child.try_wait().unwrap() {
                    exited = Some(status);
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            if exited.is_none() {
                child.kill().unwrap(); // SIGKILL
                let _ = child.wait();
                kills += 1;
                eprintln!("killed run {runs} after {wait:?}");
                continue;
            }
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        // Either the last resume, or a run that finished before its kill
        // moment (the job is then complete).
        break stdout;
    };
    eprintln!("{kills} kills, {runs} runs");
    assert!(kills >= 1, "no run was killed mid-way");

    // End state in the fake: everything exactly once.
    let users = fake.users();
    assert_eq!(users.len(), USERS);
    let by_ext: HashMap<String, String> = users
        .iter()
        .map(|u| {
            (
                u["external_id"].as_str().unwrap().to_string(),
                u["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(by_ext.len(), USERS);
    let emails: HashSet<String> = users
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(emails.len(), USERS);
    let orgs = fake.organizations();
    assert_eq!(orgs.len(), ORGS);
    let org_by_ext: HashMap<String, String> = orgs
        .iter()
        .map(|o| {
            (
                o["external_id"].as_str().unwrap().to_string(),
                o["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(org_by_ext.len(), ORGS);
    let memberships = fake.memberships();
    assert_eq!(memberships.len(), USERS);
    let by_user: HashMap<String, &Value> = memberships
        .iter()
        .map(|m| (m["user_id"].as_str().unwrap().to_string(), m))
        .collect();
    assert_eq!(by_user.len(), USERS);
    let mut roles_total = 0;
    for i in 0..USERS {
        let uid = &by_ext[&format!("ext-{i}")];
        let m = by_user[uid];
        assert_eq!(m["status"], "active");
        assert_eq!(
            m["organization_id"],
            org_by_ext[&format!("org-{}", i % ORGS)].as_str()
        );
        let mut got: Vec<&str> = m["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["slug"].as_str().unwrap())
            .collect();
        got.sort();
        let mut want = roles_of(i);
        want.sort();
        assert_eq!(got, want, "roles of user {i}");
        roles_total += want.len();
    }

    // The final summary accounts for every row once.
    let number = |label: &str| -> usize {
        final_output
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(number("Total rows:"), USERS, "{final_output}");
    assert_eq!(
        number("Users created:") + number("Duplicate users:"),
        USERS,
        "{final_output}"
    );
    assert_eq!(
        number("Memberships created:") + number("Duplicate memberships:"),
        USERS,
        "{final_output}"
    );
    assert_eq!(number("Roles assigned:"), roles_total, "{final_output}");
    assert_eq!(number("Errors:"), 0, "{final_output}");
    let job: Value = serde_json::from_str(&std::fs::read_to_string(&checkpoint).unwrap()).unwrap();
    assert_eq!(job["summary"]["total"], USERS);
    assert_eq!(job["summary"]["failures"], 0);
    assert!(job["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "completed"));
    let errors =
        std::fs::read_to_string(dir.path().join(".workos-checkpoints/crash/errors.jsonl")).unwrap();
    assert_eq!(errors, "");
    drop(rt);
}
