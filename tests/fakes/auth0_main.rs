//! Standalone fake Auth0 Management API (the same code the tests use,
//! `tests/fakes/auth0.rs`), for demos and manual runs of the exporter:
//!
//! ```text
//! cargo run --example fake-auth0 -- [--port 8082] [--host 127.0.0.1]
//!     [--client-id ID] [--client-secret S] [--rate-limit N]
//!     [--synthetic-users N --synthetic-orgs M] [--fixture tenant.json]
//!     [--gzip-level 0-9] [--job-file-cache DIR]
//! ```
//!
//! `--gzip-level` sets the compression of job downloads (0, the default,
//! writes stored blocks: fastest to generate); `--job-file-cache DIR` keeps
//! each generated download and serves later jobs with the same fields from
//! it, the way Auth0 serves a file prepared before the job completed (bench
//! runs time the exporter, not the fake's generator).
//!
//! Prints `fake Auth0 listening on http://127.0.0.1:PORT (client id ID)` and
//! serves until killed (Ctrl-C).
//!
//! Cargo also discovers this file as an (empty) integration test target.
#![cfg_attr(test, allow(dead_code, unused_imports))]

#[path = "mod.rs"]
mod fakes;

use std::net::{IpAddr, SocketAddr};

use fakes::auth0::{FakeAuth0, FakeAuth0Config, SyntheticTenant};
use serde_json::Value;

const USAGE: &str = "usage: fake-auth0 [--port 8082] [--host 127.0.0.1] [--client-id ID] \
[--client-secret S] [--rate-limit N] [--synthetic-users N --synthetic-orgs M] \
[--fixture tenant.json] [--gzip-level 0-9] [--job-file-cache DIR]";

struct Args {
    config: FakeAuth0Config,
    addr: SocketAddr,
    fixture: Option<String>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut config = FakeAuth0Config::default();
    let mut port: u16 = 8082;
    let mut host: IpAddr = [127, 0, 0, 1].into();
    let mut fixture = None;
    let mut users: Option<u64> = None;
    let mut orgs: Option<u64> = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (flag.as_str(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs {what}")),
            }
        };
        fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
            v.parse::<T>()
                .map_err(|_| format!("{name}: '{v}' is not a valid number"))
        }
        match name {
            "-h" | "--help" => return Err(USAGE.to_string()),
            "--port" => port = num(name, value("a port")?)?,
            "--host" => host = num(name, value("an IP address")?)?,
            "--client-id" => config.client_id = value("an id")?,
            "--client-secret" => config.client_secret = value("a secret")?,
            "--rate-limit" => config.rate_limit_per_sec = Some(num(name, value("a number")?)?),
            "--synthetic-users" => users = Some(num(name, value("a count")?)?),
            "--synthetic-orgs" => orgs = Some(num(name, value("a count")?)?),
            "--fixture" => fixture = Some(value("a path")?),
            "--gzip-level" => config.download_gzip_level = num(name, value("a level")?)?,
            "--job-file-cache" => config.job_file_cache = Some(value("a directory")?.into()),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    match (users, orgs) {
        (None, None) => {}
        (Some(users), orgs) => {
            config.synthetic = Some(SyntheticTenant {
                users,
                orgs: orgs.unwrap_or(1),
            })
        }
        (None, Some(_)) => return Err("--synthetic-orgs needs --synthetic-users".into()),
    }
    Ok(Args {
        config,
        addr: SocketAddr::new(host, port),
        fixture,
    })
}

fn read_fixture(path: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--fixture {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("--fixture {path}: {e}"))
}

#[tokio::main]
async fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&argv) {
        Ok(parsed) => parsed,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    let fixture = match args.fixture.as_deref().map(read_fixture).transpose() {
        Ok(f) => f,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    let client_id = args.config.client_id.clone();
    let fake = FakeAuth0::start_on(args.config, args.addr).await;
    if let Some(fixture) = fixture {
        if let Err(e) = fake.load_fixture(&fixture) {
            eprintln!("--fixture: {e}");
            std::process::exit(2);
        }
    }
    println!(
        "fake Auth0 listening on {} (client id {client_id})",
        fake.url()
    );
    let _ = tokio::signal::ctrl_c().await;
    eprintln!(
        "fake Auth0: {} requests, {} rate limited",
        fake.requests().len(),
        fake.count_status(429)
    );
}
