//! Deterministic synthetic identity exports for benchmarks, fuzz-ish tests and
//! multi-million-row runs.
//!
//! [`generate`] streams one file in one of three formats ([`SynthFormat`]):
//!
//! * `workos-csv` — the canonical `users.csv` of a migration package / the
//!   import CSV, with a controlled fraction of *dirty* rows. Each dirty row
//!   belongs to exactly one of 11 classes ([`WORKOS_CLASSES`]) and triggers
//!   exactly one validator rule; clean rows trigger none (but still contain
//!   unicode, commas, quotes and embedded newlines that need correct parsing).
//! * `firebase-json` — a `firebase auth:export` JSON file (`{"users":[...]}`,
//!   one user object per line).
//! * `clerk-csv` — a Clerk dashboard CSV export.
//!
//! Output is a pure function of `(format, users, dirty, seed, orgs)`: every
//! row is generated from its own PRNG seeded by `(seed, row)` ([`rng`]), and
//! the dirty rows are chosen by a stateless stratified plan: row 0 is always
//! clean, exactly `min(round(users * dirty), users - 1)` rows are dirty and
//! classes are assigned round-robin, so every class appears once that number
//! reaches the class count. Nothing proportional to the number of rows is kept
//! in memory; rows are written through a [`BufWriter`] as they are produced.
//!
//! [`pair::write_pair`] writes a *pair* of migration packages for `diff`
//! (OLD and NEW with known new, changed and removed users) and its
//! [`pair::PairTruth`].
//!
//! The returned [`Truth`] records what was injected and what a correct
//! consumer (validator or exporter) must report; the CLI
//! `workos-migrate-synth` writes it next to the output as `<output>.truth.json`.

pub mod auth0_passwords;
mod clerk;
mod encode;
mod firebase;
mod names;
pub mod pair;
mod plan;
pub mod rng;
mod truth;
mod workos_csv;

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use clerk::{CLERK_CLASSES, CLERK_HEADER};
pub use firebase::FIREBASE_CLASSES;
pub use truth::{Counts, Truth};
pub use workos_csv::{WORKOS_CLASSES, WORKOS_HEADER, WORKOS_RULES};

/// Output format of the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[value(rename_all = "kebab-case")]
pub enum SynthFormat {
    /// WorkOS `users.csv` (13 columns) with injected validator issues.
    WorkosCsv,
    /// `firebase auth:export` JSON.
    FirebaseJson,
    /// Clerk dashboard CSV export.
    ClerkCsv,
}

impl SynthFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SynthFormat::WorkosCsv => "workos-csv",
            SynthFormat::FirebaseJson => "firebase-json",
            SynthFormat::ClerkCsv => "clerk-csv",
        }
    }
}

impl std::fmt::Display for SynthFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to generate. The output bytes depend on every field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthSpec {
    pub format: SynthFormat,
    /// Number of data rows / users.
    pub users: u64,
    /// Fraction of dirty rows in `0.0..=1.0`. Exactly
    /// `min(round(users * dirty), users - 1)` rows are dirty; row 0 is always
    /// clean.
    pub dirty: f64,
    pub seed: u64,
    /// Number of distinct organizations (`workos-csv` only; `0` is treated as 1).
    pub orgs: u64,
}

impl Default for SynthSpec {
    fn default() -> Self {
        SynthSpec {
            format: SynthFormat::WorkosCsv,
            users: 1000,
            dirty: 0.04,
            seed: 42,
            orgs: 200,
        }
    }
}

impl SynthSpec {
    /// Reject specs that cannot be generated (`dirty` outside `0..=1`).
    pub fn check(&self) -> io::Result<()> {
        if !self.dirty.is_finite() || !(0.0..=1.0).contains(&self.dirty) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("dirty must be between 0 and 1, got {}", self.dirty),
            ));
        }
        Ok(())
    }
}

/// Stream the file described by `spec` into `out` and return its ground truth.
///
/// `out` is wrapped in a 1 MiB [`BufWriter`] (flushed before returning), so a
/// plain [`std::fs::File`] is fine.
pub fn generate(spec: &SynthSpec, out: &mut dyn Write) -> io::Result<Truth> {
    spec.check()?;
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let truth = match spec.format {
        SynthFormat::WorkosCsv => workos_csv::write(spec, &mut w)?,
        SynthFormat::FirebaseJson => firebase::write(spec, &mut w)?,
        SynthFormat::ClerkCsv => clerk::write(spec, &mut w)?,
    };
    w.flush()?;
    Ok(truth)
}

/// Default truth path: `<output>.truth.json` (the suffix is appended to the
/// full file name, e.g. `users.csv` → `users.csv.truth.json`).
pub fn default_truth_path(output: &Path) -> PathBuf {
    let mut s = output.as_os_str().to_os_string();
    s.push(".truth.json");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(spec: &SynthSpec) -> (Vec<u8>, Truth) {
        let mut buf = Vec::new();
        match generate(spec, &mut buf) {
            Ok(t) => (buf, t),
            Err(e) => panic!("generate failed: {e}"),
        }
    }

    #[test]
    fn all_formats_are_deterministic() {
        for format in [
            SynthFormat::WorkosCsv,
            SynthFormat::FirebaseJson,
            SynthFormat::ClerkCsv,
        ] {
            let spec = SynthSpec {
                format,
                users: 500,
                ..SynthSpec::default()
            };
            let (a, ta) = run(&spec);
            let (b, tb) = run(&spec);
            assert_eq!(a, b, "{format}");
            assert_eq!(ta, tb);
            let (c, _) = run(&SynthSpec { seed: 43, ..spec });
            assert_ne!(a, c, "{format}");
        }
    }

    #[test]
    fn rejects_bad_dirty() {
        for dirty in [-0.1, 1.5, f64::NAN] {
            let spec = SynthSpec {
                dirty,
                ..SynthSpec::default()
            };
            assert!(generate(&spec, &mut Vec::new()).is_err());
        }
    }

    #[test]
    fn zero_users_is_header_only() {
        let (csv, t) = run(&SynthSpec {
            users: 0,
            ..SynthSpec::default()
        });
        assert_eq!(csv, format!("{WORKOS_HEADER}\n").into_bytes());
        assert_eq!(t.dirty_rows, Some(0));
        let (json, _) = run(&SynthSpec {
            users: 0,
            format: SynthFormat::FirebaseJson,
            ..SynthSpec::default()
        });
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap_or_default();
        assert_eq!(v["users"].as_array().map(Vec::len), Some(0));
    }

    #[test]
    fn truth_path_appends_suffix() {
        assert_eq!(
            default_truth_path(Path::new("/tmp/users.csv")),
            PathBuf::from("/tmp/users.csv.truth.json")
        );
    }

    #[test]
    fn truth_json_shape() {
        let (_, t) = run(&SynthSpec {
            users: 300,
            ..SynthSpec::default()
        });
        let v: serde_json::Value = serde_json::from_str(&t.to_json_pretty()).unwrap_or_default();
        assert_eq!(v["format"], "workos-csv");
        assert_eq!(v["users"], 300);
        assert_eq!(v["dirty_rows"], 12);
        assert_eq!(v["classes"].as_object().map(|m| m.len()), Some(11));
        assert_eq!(v["rules"].as_object().map(|m| m.len()), Some(10));
        assert!(v.get("expected").is_none());
    }
}
