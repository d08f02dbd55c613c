//! `workos-migrate` binary entry point: loads `.env` from the working
//! directory (existing variables win), parses the command line, installs the
//! request log (`-v`, `RUST_LOG`) and exits with the command's code.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    match dotenvy::from_path(".env") {
        Ok(()) => {}
        Err(e) if e.not_found() => {}
        Err(e) => eprintln!(
            "warning: ignoring .env: {}",
            workos_migrate::cli::one_line(&e.to_string())
        ),
    }
    let cli = workos_migrate::cli::Cli::parse();
    workos_migrate::telemetry::init(cli.verbose);
    let code = workos_migrate::cli::dispatch(cli);
    std::process::exit(code);
}
