//! Standalone fake WorkOS API (the same code the tests use,
//! `tests/fakes/workos.rs`), for demos and manual runs of the importer:
//!
//! ```text
//! cargo run --example fake-workos -- [--port 8081] [--host 127.0.0.1]
//!     [--api-key sk_test_fake] [--no-rate-limits] [--single-role]
//!     [--env-role SLUG ...] [--seed N]
//!     [--error-rate F] [--slow-rate F] [--slow-delay-ms N]
//!     [--drop-before-rate F] [--drop-after-rate F]
//!     [--storm-every N] [--storm-len N] [--storm-retry-after N]
//! ```
//!
//! Prints `fake WorkOS listening on http://127.0.0.1:PORT (api key KEY)` and
//! serves until killed (Ctrl-C). Admin endpoints (no auth): `GET
//! /__fake/state`, `POST /__fake/faults` (JSON fault plan), `POST
//! /__fake/reset`, `POST /__fake/rate_limits` / `POST /__fake/multiple_roles`
//! with `{"enabled": bool}`.
//!
//! Cargo also discovers this file as an (empty) integration test target.
#![cfg_attr(test, allow(dead_code, unused_imports))]

#[path = "mod.rs"]
mod fakes;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use fakes::workos::{FakeWorkOs, FakeWorkOsConfig, FaultPlan};

const USAGE: &str = "usage: fake-workos [--port 8081] [--host 127.0.0.1] [--api-key KEY] \
[--no-rate-limits] [--single-role] [--env-role SLUG]... [--seed N] [--error-rate F] \
[--slow-rate F] [--slow-delay-ms N] [--drop-before-rate F] [--drop-after-rate F] \
[--storm-every N] [--storm-len N] [--storm-retry-after N]";

fn parse_args(args: &[String]) -> Result<(FakeWorkOsConfig, SocketAddr), String> {
    let mut config = FakeWorkOsConfig::default();
    let mut faults = FaultPlan::default();
    let mut port: u16 = 8081;
    let mut host: IpAddr = [127, 0, 0, 1].into();
    let mut extra_roles: Vec<String> = Vec::new();
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
        fn rate(name: &str, v: String) -> Result<f64, String> {
            let r: f64 = num(name, v)?;
            if (0.0..=1.0).contains(&r) {
                Ok(r)
            } else {
                Err(format!("{name} must be between 0 and 1"))
            }
        }
        match name {
            "-h" | "--help" => return Err(USAGE.to_string()),
            "--port" => port = num(name, value("a port")?)?,
            "--host" => host = num(name, value("an IP address")?)?,
            "--api-key" => config.api_key = value("a key")?,
            "--no-rate-limits" => config.rate_limits = false,
            "--single-role" => config.multiple_roles_enabled = false,
            "--env-role" => extra_roles.push(value("a role slug")?),
            "--seed" => config.seed = num(name, value("a number")?)?,
            "--error-rate" => faults.error_rate = rate(name, value("a rate")?)?,
            "--slow-rate" => faults.slow_rate = rate(name, value("a rate")?)?,
            "--slow-delay-ms" => {
                faults.slow_delay = Duration::from_millis(num(name, value("milliseconds")?)?)
            }
            "--drop-before-rate" => faults.drop_before_rate = rate(name, value("a rate")?)?,
            "--drop-after-rate" => faults.drop_after_rate = rate(name, value("a rate")?)?,
            "--storm-every" => faults.storm_every = num(name, value("a count")?)?,
            "--storm-len" => faults.storm_len = num(name, value("a count")?)?,
            "--storm-retry-after" => faults.storm_retry_after_secs = num(name, value("seconds")?)?,
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    if !extra_roles.is_empty() {
        config.environment_roles.extend(extra_roles);
    }
    config.faults = faults;
    Ok((config, SocketAddr::new(host, port)))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (config, addr) = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    let api_key = config.api_key.clone();
    let fake = FakeWorkOs::start_on(config, addr).await;
    println!(
        "fake WorkOS listening on {} (api key {api_key})",
        fake.base_url()
    );
    let _ = tokio::signal::ctrl_c().await;
    let stats = fake.stats();
    eprintln!(
        "fake WorkOS: {} requests, {} rate limited, {} faults injected",
        stats.total_requests, stats.rate_limited, stats.faults_injected
    );
}
