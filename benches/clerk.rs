//! criterion, Clerk dashboard CSV: the reader alone (CSV → Arrow batches),
//! the whole `export clerk` of a 50k-row synthetic export (read + DataFusion
//! SQL + rayon password conversion + package write with the upload
//! projection and manifest), and the per-hasher password conversion on real
//! digests from `fixtures/clerk/users.csv`. Run: `cargo bench --bench clerk`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use workos_migrate::sources::clerk::{
    convert_password, export_clerk, ClerkExportOptions, ClerkReader, PasswordOutcome, ScryptParams,
};
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

    let mut reader = c.benchmark_group("clerk_reader");
    reader.throughput(Throughput::Elements(USERS_N));
    reader.sample_size(10);
    reader.bench_function("synthetic_50k", |b| {
        b.iter(|| {
            let rows: usize = ClerkReader::open(&input, 8192)
                .expect("open")
                .map(|batch| batch.expect("batch").batch.num_rows())
                .sum();
            assert_eq!(rows as u64, USERS_N);
        })
    });
    reader.finish();

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

/// Real digests of the fixture (made by independent libraries; see
/// `fixtures/clerk/make_hashes.py`), one per convertible hasher.
const DIGESTS: [(&str, &str); 4] = [
    ("bcrypt", "$2b$04$9oJzEM6Yuw3K/CoWhHTsf.PbBfuE3z7rdj5SYMAR8bXLkjv/ccMJy"),
    (
        "argon2id",
        "$argon2id$v=19$m=4096,t=2,p=1$jT0ByY0t6nwDjsIYAzk/tA$6e1tqjnmHVtdg0Sy+X9EAiGI7uGdOPzs3SLEdBkNdRE",
    ),
    (
        "pbkdf2_sha256",
        "pbkdf2_sha256$600000$tFZmTNWoBjXGBA0FLPTVYQ==$b1ItPdLITMG7iGrt8O6UfzCa/sImR+YWUvMC1VwnvsE=",
    ),
    (
        "scrypt_firebase",
        "z1GQu/MNd9FCafl8tqxdbTehJvyf79kWMTSY1VcCDx6oVtzgVmjogc3OoKnzE5Rq/YHQOzn7WEXm/mQYzy+CVw==$rhGQJ8QcVEDxb06g$TqUVHrJS2+TyX7vMyFYTS3MK6okch/OVeiYVt5oyS5uZKjApk176W+vjRxfzPoAx/8pq4WB9MECXfAQkjEnAtQ==$Bw==$8$14",
    ),
];

fn bench_password_conversion(c: &mut Criterion) {
    let scrypt = ScryptParams::default();
    let mut group = c.benchmark_group("clerk_password_conversion");
    group.throughput(Throughput::Elements(1));
    for (hasher, digest) in DIGESTS {
        // Every digest converts: a bench of the rejection path would measure
        // nothing useful.
        assert!(
            matches!(
                convert_password(hasher, digest, &scrypt),
                PasswordOutcome::Hash { .. }
            ),
            "{hasher} does not convert"
        );
        group.bench_function(hasher, |b| {
            b.iter(|| convert_password(black_box(hasher), black_box(digest), &scrypt))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_export_clerk, bench_password_conversion);
criterion_main!(benches);
