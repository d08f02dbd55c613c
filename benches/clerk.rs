//! criterion: `export clerk` of a 50k-row synthetic Clerk dashboard CSV
//! (read + DataFusion SQL + rayon password conversion + package write with the
//! upload projection and manifest). Run: `cargo bench --bench clerk`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use workos_migrate::sources::clerk::{export_clerk, ClerkExportOptions};
use workos_migrate::synth::{generate, SynthFormat, SynthSpec};

const USERS_N: u64 = 50_000;

fn bench_export_clerk(c: &mut Criterion) {
    let input_dir = tempfile::tempdir().expect("tempdir");
    let input = input_dir.path().join("clerk.csv");
    let spec = SynthSpec {
        format: SynthFormat::ClerkCsv,
        users: USERS_N,
        dirty: 0.04,
        seed: 42,
        orgs: 1,
    };
    let mut file = std::fs::File::create(&input).expect("create input");
    generate(&spec, &mut file).expect("generate");
    drop(file);

    let mut group = c.benchmark_group("export_clerk");
    group.throughput(Throughput::Elements(USERS_N));
    group.sample_size(10);
    group.bench_function("synthetic_50k", |b| {
        b.iter_with_setup(
            || tempfile::tempdir().expect("tempdir"),
            |out| {
                let opts = ClerkExportOptions {
                    from_file: input.clone(),
                    output_dir: out.path().join("pkg"),
                    quiet: true,
                    ..Default::default()
                };
                export_clerk(&opts).expect("export");
            },
        )
    });
    group.finish();
}

criterion_group!(benches, bench_export_clerk);
criterion_main!(benches);
