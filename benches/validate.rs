//! criterion: `validate --csv` throughput (rows/s) on a generated WorkOS CSV
//! with 4 % planted defects, end to end (read, parallel checks, spills,
//! report). Run: `cargo bench --bench validate`.

use std::fs::File;
use std::io;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use workos_migrate::synth::{generate, SynthFormat, SynthSpec};
use workos_migrate::validate::{run, ValidateCsvOptions};

const ROWS: u64 = 100_000;

fn bench_validate(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("users.csv");
    let spec = SynthSpec {
        format: SynthFormat::WorkosCsv,
        users: ROWS,
        dirty: 0.04,
        seed: 1,
        orgs: 200,
    };
    generate(&spec, &mut File::create(&path).expect("create")).expect("generate");
    let mut group = c.benchmark_group("validate");
    group.throughput(Throughput::Elements(ROWS));
    group.sample_size(10);
    for (name, auto_fix) in [("csv_100k_rows", false), ("csv_100k_rows_auto_fix", true)] {
        let opts = ValidateCsvOptions {
            csv: path.clone(),
            auto_fix,
            output: auto_fix.then(|| dir.path().join("fixed.csv")),
            quiet: true,
            ..ValidateCsvOptions::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| run(&opts, &mut io::sink(), &mut io::sink()).expect("validate"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_validate);
criterion_main!(benches);
