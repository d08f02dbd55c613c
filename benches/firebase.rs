//! criterion: the Firebase export path — the streaming reader (scan + parallel
//! parse into Arrow), the whole export (reader → DataFusion mapping →
//! metadata/hashes → package files) and the `$firebase-scrypt$` encoding.
//! Input: 50k synthetic users from `synth` (about 24 MB).
//! Run: `cargo bench --bench firebase`.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use workos_migrate::hashes::{check_password_hash, encode_firebase_scrypt};
use workos_migrate::sources::firebase::{export_firebase, FirebaseExportOptions, FirebaseReader};
use workos_migrate::synth::{generate, SynthFormat, SynthSpec};

const USERS: u64 = 50_000;
const SIGNER_KEY: &str =
    "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==";

fn input(dir: &Path) -> PathBuf {
    let path = dir.join("users.json");
    let mut f = std::fs::File::create(&path).expect("create input");
    let spec = SynthSpec {
        format: SynthFormat::FirebaseJson,
        users: USERS,
        dirty: 0.04,
        seed: 42,
        orgs: 1,
    };
    generate(&spec, &mut f).expect("generate");
    path
}

fn bench_firebase(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = input(dir.path());
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    let mut group = c.benchmark_group("firebase");
    group.sample_size(10);
    group.throughput(Throughput::Elements(USERS));
    group.bench_function("reader_50k_users", |b| {
        b.iter(|| {
            let reader = FirebaseReader::open(&path).expect("open");
            reader
                .map(|batch| batch.expect("batch").num_rows())
                .sum::<usize>()
        })
    });
    group.bench_function("export_50k_users_with_hashes", |b| {
        b.iter_with_setup(
            || tempfile::tempdir().expect("tempdir"),
            |out| {
                let mut o = FirebaseExportOptions::new(&path, out.path().join("pkg"));
                o.signer_key = Some(SIGNER_KEY.into());
                o.salt_separator = Some("Bw==".into());
                export_firebase(&o, None).expect("export")
            },
        )
    });
    group.finish();

    let mut bytes_group = c.benchmark_group("firebase_bytes");
    bytes_group.sample_size(10);
    bytes_group.throughput(Throughput::Bytes(bytes));
    bytes_group.bench_function("reader_mb_per_s", |b| {
        b.iter(|| {
            FirebaseReader::open(&path)
                .expect("open")
                .map(|r| r.expect("batch").num_rows())
                .sum::<usize>()
        })
    });
    bytes_group.finish();

    use base64::Engine as _;
    let b64 = |seed: u32, len: usize| {
        let bytes: Vec<u8> = (0..len)
            .map(|j| (seed as usize * 31 + j * 7) as u8)
            .collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let pairs: Vec<(String, String)> = (0..10_000u32).map(|i| (b64(i, 64), b64(i, 12))).collect();
    let mut hashes = c.benchmark_group("firebase_scrypt_phc");
    hashes.throughput(Throughput::Elements(pairs.len() as u64));
    hashes.bench_function("encode_10k", |b| {
        b.iter(|| {
            pairs
                .iter()
                .map(|(h, s)| encode_firebase_scrypt(h, s, SIGNER_KEY, "Bw==", 8, 14).len())
                .sum::<usize>()
        })
    });
    hashes.bench_function("encode_and_check_10k", |b| {
        b.iter(|| {
            pairs
                .iter()
                .filter(|(h, s)| {
                    let phc = encode_firebase_scrypt(h, s, SIGNER_KEY, "Bw==", 8, 14);
                    check_password_hash("firebase-scrypt", &phc).is_ok()
                })
                .count()
        })
    });
    hashes.finish();
}

criterion_group!(benches, bench_firebase);
criterion_main!(benches);
