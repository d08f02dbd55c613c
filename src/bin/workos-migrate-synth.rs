//! `workos-migrate-synth`: write a deterministic synthetic export and its
//! ground truth (thin wrapper over `workos_migrate::synth::generate`).
//!
//! ```text
//! workos-migrate-synth --format workos-csv --users 1000000 --dirty 0.04 \
//!     --seed 42 --output users.csv            # truth: users.csv.truth.json
//! workos-migrate-synth --format package-pair --users 1000000 \
//!     --output pair/                          # pair/old, pair/new, pair/truth.json
//! ```

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use workos_migrate::synth::pair::{write_pair, PairSpec};
use workos_migrate::synth::{default_truth_path, generate, SynthFormat, SynthSpec};

#[derive(Debug, Parser)]
#[command(
    name = "workos-migrate-synth",
    about = "Generate a deterministic synthetic identity export plus its ground truth"
)]
struct Args {
    /// Output format (`package-pair`: two migration packages for `diff`,
    /// written to `<output>/old` and `<output>/new`, truth `<output>/truth.json`).
    #[arg(long, value_parser = parse_format)]
    format: Format,
    /// Number of users (data rows).
    #[arg(long)]
    users: u64,
    /// Fraction of dirty rows, 0..=1.
    #[arg(long, default_value_t = 0.04)]
    dirty: f64,
    /// PRNG seed; same arguments + seed = same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of organizations (workos-csv).
    #[arg(long, default_value_t = 200)]
    orgs: u64,
    /// package-pair: multiply the new/changed/removed rates (1 = 1 % new
    /// is fixed; 0.5 % changed, 0.2 % removed, …; at most 71).
    #[arg(long, default_value_t = 1)]
    change_scale: u64,
    /// Output file (package-pair: output directory).
    #[arg(long)]
    output: PathBuf,
    /// Ground-truth JSON file [default: <output>.truth.json].
    #[arg(long)]
    truth: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy)]
enum Format {
    File(SynthFormat),
    PackagePair,
}

fn parse_format(s: &str) -> Result<Format, String> {
    if s == "package-pair" {
        return Ok(Format::PackagePair);
    }
    <SynthFormat as clap::ValueEnum>::from_str(s, false)
        .map(Format::File)
        .map_err(|_| {
            format!("unknown format '{s}' (workos-csv, firebase-json, clerk-csv, package-pair)")
        })
}

fn run_pair(args: &Args) -> io::Result<()> {
    let started = Instant::now();
    let spec = PairSpec {
        users: args.users,
        orgs: args.orgs,
        seed: args.seed,
        scale: args.change_scale,
    };
    let truth = write_pair(&spec, &args.output.join("old"), &args.output.join("new"))
        .map_err(|e| io::Error::other(e.to_string()))?;
    let truth_path = args
        .truth
        .clone()
        .unwrap_or_else(|| args.output.join("truth.json"));
    let text = serde_json::to_string_pretty(&truth).map_err(io::Error::other)? + "\n";
    std::fs::write(&truth_path, text)?;
    eprintln!(
        "wrote package pair ({} users) to {} in {:.3}s; truth: {}",
        args.users,
        args.output.display(),
        started.elapsed().as_secs_f64(),
        truth_path.display()
    );
    Ok(())
}

fn run(args: &Args) -> io::Result<()> {
    let format = match args.format {
        Format::PackagePair => return run_pair(args),
        Format::File(f) => f,
    };
    let spec = SynthSpec {
        format,
        users: args.users,
        dirty: args.dirty,
        seed: args.seed,
        orgs: args.orgs,
    };
    spec.check()?;
    let truth_path = args
        .truth
        .clone()
        .unwrap_or_else(|| default_truth_path(&args.output));

    let started = Instant::now();
    let mut file = File::create(&args.output).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot create {}: {e}", args.output.display()),
        )
    })?;
    let truth = generate(&spec, &mut file)?;
    drop(file);
    let elapsed = started.elapsed();

    let mut tf = File::create(&truth_path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot create {}: {e}", truth_path.display()),
        )
    })?;
    tf.write_all(truth.to_json_pretty().as_bytes())?;

    let bytes = std::fs::metadata(&args.output)
        .map(|m| m.len())
        .unwrap_or(0);
    let secs = elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "wrote {} users ({} bytes) to {} in {:.3}s ({:.0} rows/s, {:.1} MB/s); truth: {}",
        args.users,
        bytes,
        args.output.display(),
        secs,
        args.users as f64 / secs,
        bytes as f64 / secs / 1e6,
        truth_path.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("workos-migrate-synth: {e}");
            ExitCode::FAILURE
        }
    }
}
