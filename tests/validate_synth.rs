//! Acceptance: `validate --csv` on a generated file reports every planted
//! defect class with exactly the planted count, and nothing else. (The 1M and
//! 10M row runs of docs/performance.md use the same generator and check.)

mod common;

use std::collections::BTreeMap;
use std::fs::File;

use workos_migrate::synth::{generate, SynthFormat, SynthSpec};

#[test]
fn planted_defects_are_found_with_exact_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.csv");
    let spec = SynthSpec {
        format: SynthFormat::WorkosCsv,
        users: 30_000,
        dirty: 0.04,
        seed: 7,
        orgs: 200,
    };
    let truth = generate(&spec, &mut File::create(&path).unwrap()).unwrap();
    let r = common::run(&["validate", "--csv", path.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let by_rule: BTreeMap<String, u64> = v["summary"]["byRule"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect();
    let planted: BTreeMap<String, u64> = truth
        .rules
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    assert_eq!(planted.len(), 10, "every rule is planted: {planted:?}");
    assert_eq!(by_rule, planted);
    assert_eq!(v["summary"]["totalRows"], 30_000);
    let error_rows: u64 = [
        "missing_email",
        "invalid_email",
        "invalid_metadata_json",
        "metadata_not_object",
        "hash_without_type",
        "malformed_hash",
        "org_name_conflict",
        "org_id_and_external_id",
    ]
    .iter()
    .map(|r| planted.get(*r).copied().unwrap_or(0))
    .sum();
    assert_eq!(
        v["summary"]["validRows"].as_u64().unwrap(),
        30_000 - error_rows
    );
    // Every issue names its row, line and (for row rules) column.
    for issue in v["issues"].as_array().unwrap() {
        assert!(issue["row"].as_u64().unwrap() >= 1);
        assert!(issue["line"].as_u64().unwrap() >= 2);
        assert!(issue["column"].is_string(), "{issue}");
    }
}
