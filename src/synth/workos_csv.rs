//! `workos-csv`: the 13-column WorkOS users CSV with injected validator issues.
//!
//! Clean row `i`: email `user{i}@example{i % 50}.com`, external id `ext_{i}`,
//! org `org_{k}` / `Org {k}` with `k = i % orgs` (90 % of rows, always row 0),
//! names from ASCII / unicode / tricky pools, a bcrypt hash on about half the
//! rows, string-valued JSON metadata on about half. Dirty rows follow
//! [`WORKOS_CLASSES`]; each triggers exactly the one rule paired with it.

use std::io::{self, Write};

use super::encode::{csv_field, push_bcrypt, push_u64, push_u64_padded, ALNUM, CROCKFORD};
use super::names::{
    DOMAINS, FIRST_ASCII, FIRST_UNICODE, LAST_ASCII, LAST_UNICODE, TRICKY_COMMA, TRICKY_NEWLINE,
    TRICKY_QUOTE,
};
use super::plan::DirtyPlan;
use super::rng::{hash3, Rng};
use super::truth::{Counts, Truth};
use super::{SynthFormat, SynthSpec};

/// Exact header of the WorkOS users CSV.
pub const WORKOS_HEADER: &str = "email,password,password_hash,password_hash_type,first_name,last_name,email_verified,external_id,metadata,org_id,org_external_id,org_name,role_slugs";

/// Dirty classes (in round-robin order) and the validator rule each triggers.
pub const WORKOS_CLASSES: [(&str, &str); 11] = [
    ("missing_email", "missing_email"),
    ("malformed_email", "invalid_email"),
    ("duplicate_email", "duplicate_email"),
    ("case_variant_email", "duplicate_email"),
    ("bad_metadata_json", "invalid_metadata_json"),
    ("metadata_not_object", "metadata_not_object"),
    ("odd_boolean", "invalid_boolean"),
    ("hash_without_type", "hash_without_type"),
    ("bad_hash", "malformed_hash"),
    ("org_name_conflict", "org_name_conflict"),
    ("org_id_and_external_id", "org_id_and_external_id"),
];

/// Rule ids counted in `Truth.rules`, in order.
pub const WORKOS_RULES: [&str; 10] = [
    "missing_email",
    "invalid_email",
    "duplicate_email",
    "invalid_metadata_json",
    "metadata_not_object",
    "invalid_boolean",
    "hash_without_type",
    "malformed_hash",
    "org_name_conflict",
    "org_id_and_external_id",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    MissingEmail,
    MalformedEmail,
    DuplicateEmail,
    CaseVariantEmail,
    BadMetadataJson,
    MetadataNotObject,
    OddBoolean,
    HashWithoutType,
    BadHash,
    OrgNameConflict,
    OrgIdAndExternalId,
}

const CLASS_ORDER: [Class; 11] = [
    Class::MissingEmail,
    Class::MalformedEmail,
    Class::DuplicateEmail,
    Class::CaseVariantEmail,
    Class::BadMetadataJson,
    Class::MetadataNotObject,
    Class::OddBoolean,
    Class::HashWithoutType,
    Class::BadHash,
    Class::OrgNameConflict,
    Class::OrgIdAndExternalId,
];

const STREAM_ROW: u64 = 0x776f_726b_6f73; // "workos"
const STREAM_ORG: u64 = 0x6f72_6773; // "orgs"

/// Clean `email_verified` values with weights (per mille, summing to 1000).
const VERIFIED: &[(&str, u64)] = &[
    ("true", 400),
    ("false", 150),
    ("Yes", 100),
    ("TRUE", 100),
    ("1", 100),
    ("0", 50),
    ("", 100),
];
const ODD_BOOLEANS: &[&str] = &["maybe", "ja", "2", "tru"];
const ROLES: &[&str] = &["", "admin", "member", "admin,member"];
const BAD_JSON: &[&str] = &[
    "{\"plan\":\"pro\"",
    "{\"plan\":\"pro\",\"region\":",
    "{\"plan\":pro}",
    "{'plan':'pro'}",
    "{\"note\":\"unterminated}",
];
const NOT_OBJECT: &[&str] = &["[1,2,3]", "\"text\"", "[\"pro\",\"eu\"]", "42", "true"];
const CONFLICT_SUFFIX: &[&str] = &[" (legacy)", " Renamed", " Inc", ", LLC"];

/// Streams the CSV; holds only the plan and a row buffer.
struct Gen<'a> {
    spec: &'a SynthSpec,
    plan: DirtyPlan,
    orgs: u64,
}

impl Gen<'_> {
    /// Does clean row `i` carry an organization? Always for row 0.
    fn has_org(&self, i: u64) -> bool {
        i == 0 || !hash3(self.spec.seed, STREAM_ORG, i).is_multiple_of(10)
    }

    /// A random clean row before `i` (optionally one with an org); row 0 as
    /// the fallback, which is always clean and always has an org.
    fn earlier_clean(&self, i: u64, rng: &mut Rng, need_org: bool) -> u64 {
        for _ in 0..16 {
            let j = rng.below(i);
            if self.plan.is_clean(j) && (!need_org || self.has_org(j)) {
                return j;
            }
        }
        0
    }

    fn org_k(&self, i: u64) -> u64 {
        i % self.orgs
    }

    fn write_row(&self, i: u64, class: Option<Class>, row: &mut Vec<u8>, scratch: &mut Vec<u8>) {
        let mut rng = Rng::for_row(self.spec.seed, STREAM_ROW, i);

        // email
        scratch.clear();
        match class {
            Some(Class::MissingEmail) => {}
            Some(Class::MalformedEmail) => {
                scratch.extend_from_slice(b"user");
                push_u64(scratch, i);
                scratch.extend_from_slice(b".example");
                push_u64(scratch, i % DOMAINS);
                scratch.extend_from_slice(b".com");
            }
            Some(Class::DuplicateEmail) => {
                let j = self.earlier_clean(i, &mut rng, false);
                push_email(scratch, j);
            }
            Some(Class::CaseVariantEmail) => {
                let j = self.earlier_clean(i, &mut rng, false);
                push_email(scratch, j);
                let mut bits = rng.next_u64();
                let mut changed = false;
                for b in scratch.iter_mut() {
                    if b.is_ascii_lowercase() {
                        if bits & 1 == 1 {
                            b.make_ascii_uppercase();
                            changed = true;
                        }
                        bits = bits.rotate_right(1);
                    }
                }
                if !changed {
                    // Every clean email starts with "user".
                    if let Some(b) = scratch.first_mut() {
                        b.make_ascii_uppercase();
                    }
                }
            }
            _ => push_email(scratch, i),
        }
        csv_field(row, scratch);
        row.push(b',');

        // password, password_hash, password_hash_type
        let has_hash = match class {
            Some(Class::HashWithoutType) | Some(Class::BadHash) => true,
            _ => rng.per_mille(500),
        };
        if !has_hash && rng.per_mille(40) {
            row.extend_from_slice(b"S3cret!");
            rng.push_chars(row, ALNUM, 10);
        }
        row.push(b',');
        if has_hash {
            let start = row.len();
            push_bcrypt(row, &mut rng);
            if class == Some(Class::BadHash) {
                let cut = 1 + rng.below(5) as usize;
                row.truncate(row.len() - cut);
            }
            debug_assert!(!row[start..].contains(&b','));
        }
        row.push(b',');
        if has_hash && class != Some(Class::HashWithoutType) {
            row.extend_from_slice(b"bcrypt");
        }
        row.push(b',');

        // first_name, last_name
        push_name(row, &mut rng, FIRST_ASCII, FIRST_UNICODE);
        row.push(b',');
        push_name(row, &mut rng, LAST_ASCII, LAST_UNICODE);
        row.push(b',');

        // email_verified
        if class == Some(Class::OddBoolean) {
            row.extend_from_slice(pick(&mut rng, ODD_BOOLEANS).as_bytes());
        } else {
            let mut roll = rng.below(1000);
            for &(v, w) in VERIFIED {
                if roll < w {
                    row.extend_from_slice(v.as_bytes());
                    break;
                }
                roll -= w;
            }
        }
        row.push(b',');

        // external_id
        row.extend_from_slice(b"ext_");
        push_u64(row, i);
        row.push(b',');

        // metadata
        scratch.clear();
        match class {
            Some(Class::BadMetadataJson) => {
                scratch.extend_from_slice(pick(&mut rng, BAD_JSON).as_bytes())
            }
            Some(Class::MetadataNotObject) => {
                scratch.extend_from_slice(pick(&mut rng, NOT_OBJECT).as_bytes())
            }
            _ => push_metadata(scratch, &mut rng, i),
        }
        csv_field(row, scratch);
        row.push(b',');

        // org_id, org_external_id, org_name, role_slugs
        let org: Option<(u64, bool)> = match class {
            Some(Class::DuplicateEmail) | Some(Class::CaseVariantEmail) => None,
            Some(Class::OrgNameConflict) => {
                let j = self.earlier_clean(i, &mut rng, true);
                Some((self.org_k(j), true))
            }
            Some(Class::OrgIdAndExternalId) => Some((self.org_k(i), false)),
            _ if self.has_org(i) => Some((self.org_k(i), false)),
            _ => None,
        };
        match org {
            None => row.extend_from_slice(b",,,"),
            Some((k, conflict)) => {
                if class == Some(Class::OrgIdAndExternalId) {
                    row.extend_from_slice(b"org_01H");
                    rng.push_chars(row, CROCKFORD, 23);
                }
                row.extend_from_slice(b",org_");
                push_u64(row, k);
                row.push(b',');
                scratch.clear();
                scratch.extend_from_slice(b"Org ");
                push_u64(scratch, k);
                if conflict {
                    scratch.extend_from_slice(pick(&mut rng, CONFLICT_SUFFIX).as_bytes());
                }
                csv_field(row, scratch);
                row.push(b',');
                csv_field(row, pick(&mut rng, ROLES).as_bytes());
            }
        }
        row.push(b'\n');
    }
}

#[inline]
fn pick<'a>(rng: &mut Rng, items: &'a [&'a str]) -> &'a str {
    rng.pick(items).copied().unwrap_or("")
}

/// The clean email of row `i`.
fn push_email(out: &mut Vec<u8>, i: u64) {
    out.extend_from_slice(b"user");
    push_u64(out, i);
    out.extend_from_slice(b"@example");
    push_u64(out, i % DOMAINS);
    out.extend_from_slice(b".com");
}

/// 4 % empty, 83 % ASCII, 8 % unicode, 5 % tricky (comma / quote / newline).
fn push_name(row: &mut Vec<u8>, rng: &mut Rng, ascii: &[&str], unicode: &[&str]) {
    let roll = rng.below(1000);
    let v = match roll {
        0..=39 => "",
        40..=869 => pick(rng, ascii),
        870..=949 => pick(rng, unicode),
        950..=969 => pick(rng, TRICKY_COMMA),
        970..=989 => pick(rng, TRICKY_QUOTE),
        _ => pick(rng, TRICKY_NEWLINE),
    };
    csv_field(row, v.as_bytes());
}

/// Clean metadata: empty or a small object whose values are all strings and
/// whose keys are never reserved.
fn push_metadata(out: &mut Vec<u8>, rng: &mut Rng, i: u64) {
    match rng.below(12) {
        0..=4 => {}
        5 => out.extend_from_slice(br#"{"plan":"pro","region":"eu"}"#),
        6 => out.extend_from_slice(br#"{"plan":"free"}"#),
        7 => {
            out.extend_from_slice(br#"{"legacy_id":"L"#);
            push_u64_padded(out, i, 8);
            out.extend_from_slice(br#"","plan":"enterprise"}"#);
        }
        8 => out.extend_from_slice(br#"{"source":"legacy-db","note":"said \"hi\", twice"}"#),
        9 => out.extend_from_slice("{\"locale\":\"fr-FR\",\"nickname\":\"Zoë\"}".as_bytes()),
        10 => {
            out.extend_from_slice(br#"{"department":"R&D","cost_center":"cc-"#);
            push_u64_padded(out, i % 1000, 3);
            out.extend_from_slice(br#""}"#);
        }
        _ => {
            out.extend_from_slice(br#"{"region":"us-east-1","tier":"gold","signup":"2021-03-04"}"#)
        }
    }
}

pub(crate) fn write<W: Write>(spec: &SynthSpec, w: &mut W) -> io::Result<Truth> {
    let gen = Gen {
        spec,
        plan: DirtyPlan::new(spec.users, spec.dirty, spec.seed),
        orgs: spec.orgs.max(1),
    };
    let class_names: Vec<&str> = WORKOS_CLASSES.iter().map(|(c, _)| *c).collect();
    let mut per_class = [0u64; 11];

    w.write_all(WORKOS_HEADER.as_bytes())?;
    w.write_all(b"\n")?;

    let mut row = Vec::with_capacity(64 * 1024);
    let mut scratch = Vec::with_capacity(256);
    let mut cursor = gen.plan.cursor();
    for i in 0..spec.users {
        let class = cursor.check(i).map(|s| {
            let c = (s % 11) as usize;
            per_class[c] += 1;
            CLASS_ORDER[c]
        });
        gen.write_row(i, class, &mut row, &mut scratch);
        if row.len() >= 60 * 1024 {
            w.write_all(&row)?;
            row.clear();
        }
    }
    w.write_all(&row)?;

    let mut classes = Counts::zeroed(&class_names);
    let mut rules = Counts::zeroed(&WORKOS_RULES);
    for (c, &(name, rule)) in WORKOS_CLASSES.iter().enumerate() {
        classes.set(name, per_class[c]);
        rules.add(rule, per_class[c]);
    }
    Ok(Truth {
        format: SynthFormat::WorkosCsv,
        users: spec.users,
        dirty_rows: Some(gen.plan.dirty_rows()),
        classes,
        rules,
        expected: Counts::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen_csv(users: u64, dirty: f64, seed: u64, orgs: u64) -> (String, Truth) {
        let spec = SynthSpec {
            format: SynthFormat::WorkosCsv,
            users,
            dirty,
            seed,
            orgs,
        };
        let mut buf = Vec::new();
        let truth = match write(&spec, &mut buf) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        (String::from_utf8(buf).unwrap_or_default(), truth)
    }

    #[test]
    fn first_rows_look_right() {
        let (csv, truth) = gen_csv(50, 0.0, 1, 3);
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some(WORKOS_HEADER));
        assert!(csv.contains("user0@example0.com,"));
        assert!(csv.contains(",ext_0,"));
        assert!(csv.contains(",org_0,Org 0,"));
        assert_eq!(truth.dirty_rows, Some(0));
        assert_eq!(truth.rules.total(), 0);
    }

    #[test]
    fn every_class_when_enough_dirty_rows() {
        let (_, truth) = gen_csv(111, 0.1, 5, 10);
        assert_eq!(truth.dirty_rows, Some(11));
        for (name, _) in WORKOS_CLASSES {
            assert_eq!(truth.classes.get(name), 1, "{name}");
        }
        assert_eq!(truth.rules.get("duplicate_email"), 2);
        assert_eq!(truth.rules.total(), 11);
    }

    #[test]
    fn all_dirty_still_generates() {
        let (csv, truth) = gen_csv(200, 1.0, 9, 0);
        assert_eq!(truth.dirty_rows, Some(199));
        assert!(csv.starts_with(WORKOS_HEADER));
    }
}
