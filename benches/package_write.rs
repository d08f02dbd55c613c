//! criterion: writing a migration package (users, organizations, memberships
//! rows, the `workos_upload/` projection with its spill de-duplication, and
//! the manifest). Run: `cargo bench --bench package_write`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use workos_migrate::package::schema::{MEMBERSHIPS, ORGANIZATIONS, USERS};
use workos_migrate::package::{MigrationPackageWriter, PackageOptions};

const USERS_N: u64 = 50_000;
const ORGS_N: u64 = 200;

fn write_package(root: &std::path::Path) {
    let mut w = MigrationPackageWriter::create(root, PackageOptions::new("bench")).expect("create");
    for o in 0..ORGS_N {
        let ext = format!("org_{o}");
        let name = format!("Org {o}, Inc.");
        w.write_row(&ORGANIZATIONS, &["", &ext, &name, "", ""])
            .expect("org");
        w.upload()
            .organization("", &ext, &name)
            .expect("upload org");
    }
    for i in 0..USERS_N {
        let email = format!("user{i}@example{}.com", i % 50);
        let ext = format!("ext_{i}");
        let org = format!("org_{}", i % ORGS_N);
        let name = format!("Org {}, Inc.", i % ORGS_N);
        let row = [
            email.as_str(),
            "",
            "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            "bcrypt",
            "Ann",
            "O\"Brien",
            "true",
            &ext,
            "{\"plan\":\"pro\"}",
            "",
            &org,
            &name,
            "admin",
        ];
        w.write_row(&USERS, &row).expect("user");
        w.upload()
            .user(&ext, &email, "true", "Ann", "O\"Brien", row[2])
            .expect("upload user");
        w.write_row(
            &MEMBERSHIPS,
            &[&email, &ext, "", "", &org, &name, "admin", ""],
        )
        .expect("membership");
        w.upload()
            .membership("", &org, &ext, "")
            .expect("upload membership");
    }
    w.finish().expect("finish");
}

fn bench_package_write(c: &mut Criterion) {
    let mut group = c.benchmark_group("package_write");
    group.throughput(Throughput::Elements(USERS_N));
    group.sample_size(10);
    group.bench_function("users_50k_with_upload_projection", |b| {
        b.iter_with_setup(
            || tempfile::tempdir().expect("tempdir"),
            |dir| write_package(&dir.path().join("pkg")),
        )
    });
    group.finish();
}

criterion_group!(benches, bench_package_write);
criterion_main!(benches);
