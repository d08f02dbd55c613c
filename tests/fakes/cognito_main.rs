//! Standalone fake AWS Cognito user-pool service (the same code the tests
//! use, `tests/fakes/cognito.rs`), for demos and manual runs of the
//! exporter:
//!
//! ```text
//! cargo run --example fake-cognito -- [--port 8083] [--host 127.0.0.1]
//!     [--region us-east-1] [--user-list-rps N]
//!     [--synthetic-pools P --synthetic-users N --synthetic-groups G]
//!     [--fixture fixtures/cognito/pools.json]
//! ```
//!
//! Prints `fake Cognito listening on http://127.0.0.1:PORT (region R)` and
//! the pool ids, then serves until killed (Ctrl-C). Any SigV4-shaped
//! credentials work (`AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y`).
#![cfg_attr(test, allow(dead_code, unused_imports))]

#[path = "mod.rs"]
mod fakes;

use std::net::{IpAddr, SocketAddr};

use fakes::cognito::{FakeCognito, FakeCognitoConfig, SyntheticPools};
use serde_json::Value;

const USAGE: &str = "usage: fake-cognito [--port 8083] [--host 127.0.0.1] [--region us-east-1] \
[--user-list-rps N] [--synthetic-pools P --synthetic-users N --synthetic-groups G] \
[--fixture fixtures/cognito/pools.json]";

struct Args {
    config: FakeCognitoConfig,
    addr: SocketAddr,
    fixture: Option<String>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut config = FakeCognitoConfig::default();
    let mut port: u16 = 8083;
    let mut host: IpAddr = [127, 0, 0, 1].into();
    let mut fixture = None;
    let mut pools: Option<u32> = None;
    let mut users: Option<u64> = None;
    let mut groups: Option<u32> = None;
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
            "--region" => config.region = value("a region")?,
            "--user-list-rps" => config.user_list_rps = Some(num(name, value("a number")?)?),
            "--synthetic-pools" => pools = Some(num(name, value("a count")?)?),
            "--synthetic-users" => users = Some(num(name, value("a count")?)?),
            "--synthetic-groups" => groups = Some(num(name, value("a count")?)?),
            "--fixture" => fixture = Some(value("a path")?),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    if pools.is_some() || users.is_some() || groups.is_some() {
        config.synthetic = Some(SyntheticPools {
            pools: pools.unwrap_or(1),
            users_per_pool: users
                .ok_or("--synthetic-pools/--synthetic-groups need --synthetic-users")?,
            groups_per_pool: groups.unwrap_or(2),
        });
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

fn fail(msg: &str) -> ! {
    eprintln!("{msg}");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = parse_args(&argv).unwrap_or_else(|msg| fail(&msg));
    let fixture = args
        .fixture
        .as_deref()
        .map(read_fixture)
        .transpose()
        .unwrap_or_else(|msg| fail(&msg));
    let region = args.config.region.clone();
    let fake = FakeCognito::start_on(args.config, args.addr).await;
    let seeded = match fixture.map(|f| fake.load_fixture(&f)).transpose() {
        Ok(seeded) => seeded,
        Err(e) => fail(&format!("--fixture: {e}")),
    };
    println!("fake Cognito listening on {} (region {region})", fake.url());
    let synthetic = fake.synthetic_pool_ids();
    if !synthetic.is_empty() {
        println!("synthetic pools: {}", synthetic.join(","));
    }
    if let Some(seeded) = seeded {
        for pool in &seeded.pools {
            println!("fixture pool {}: {} ({})", pool.key, pool.id, pool.name);
        }
    }
    println!("user pool ids: {}", fake.pool_ids().join(","));
    let _ = tokio::signal::ctrl_c().await;
    eprintln!(
        "fake Cognito: {} requests, {} throttled",
        fake.count_all(),
        fake.count_throttled()
    );
}
