//! `clerk-csv`: a Clerk dashboard CSV export.
//!
//! Multi-valued columns (`verified_email_addresses`, ...) join values with
//! `|` (the reference spec does not fix a separator). `password_hasher` is
//! mostly `bcrypt` (60-char bcrypt digest), some `argon2id` (PHC string),
//! some `pbkdf2_sha256` (Django form) and some empty.
//!
//! Dirty rows (round-robin over [`CLERK_CLASSES`]): `no_email` (empty
//! `primary_email_address`), `unicode_name` (non-ASCII first and last name),
//! `tricky_name` (a name with a comma, double quote or newline). Clean rows
//! have ASCII names without such characters.

use std::io::{self, Write};

use super::encode::{csv_field, push_b64_random, push_bcrypt, push_u64, ALNUM, BASE32};
use super::names::{
    is_tricky, DOMAINS, FIRST_ASCII, FIRST_UNICODE, LAST_ASCII, LAST_UNICODE, TRICKY_COMMA,
    TRICKY_NEWLINE, TRICKY_QUOTE,
};
use super::plan::DirtyPlan;
use super::rng::Rng;
use super::truth::{Counts, Truth};
use super::{SynthFormat, SynthSpec};

/// Header of the generated Clerk export.
pub const CLERK_HEADER: &str = "id,first_name,last_name,username,primary_email_address,primary_phone_number,verified_email_addresses,unverified_email_addresses,verified_phone_numbers,unverified_phone_numbers,totp_secret,password_digest,password_hasher";

/// Classes counted in `Truth.classes` (rows having the feature).
pub const CLERK_CLASSES: [&str; 3] = ["no_email", "unicode_name", "tricky_name"];

const STREAM_ROW: u64 = 0x0063_6c65_726b; // "clerk"
const DIGITS: &[u8] = b"0123456789";

#[derive(Default)]
struct Tally {
    no_email: u64,
    unicode: u64,
    tricky: u64,
    unsupported_hasher: u64,
}

fn push_phone(out: &mut Vec<u8>, rng: &mut Rng) {
    out.extend_from_slice(b"+1555");
    rng.push_chars(out, DIGITS, 7);
}

fn pick<'a>(rng: &mut Rng, items: &'a [&'a str]) -> &'a str {
    rng.pick(items).copied().unwrap_or("")
}

fn write_row(
    i: u64,
    class: Option<u64>,
    seed: u64,
    row: &mut Vec<u8>,
    s: &mut Vec<u8>,
    t: &mut Tally,
) {
    let mut rng = Rng::for_row(seed, STREAM_ROW, i);
    let no_email = class == Some(0);

    // id: "user_2" + 21 alphanumerics = 27 chars.
    row.extend_from_slice(b"user_2");
    rng.push_chars(row, ALNUM, 21);
    row.push(b',');

    // first_name, last_name
    let (first, last) = match class {
        Some(1) => (pick(&mut rng, FIRST_UNICODE), pick(&mut rng, LAST_UNICODE)),
        Some(2) => {
            let tricky = match rng.below(3) {
                0 => pick(&mut rng, TRICKY_COMMA),
                1 => pick(&mut rng, TRICKY_QUOTE),
                _ => pick(&mut rng, TRICKY_NEWLINE),
            };
            if rng.below(2) == 0 {
                (tricky, pick(&mut rng, LAST_ASCII))
            } else {
                (pick(&mut rng, FIRST_ASCII), tricky)
            }
        }
        _ if rng.per_mille(40) => ("", ""),
        _ => (pick(&mut rng, FIRST_ASCII), pick(&mut rng, LAST_ASCII)),
    };
    csv_field(row, first.as_bytes());
    row.push(b',');
    csv_field(row, last.as_bytes());
    row.push(b',');
    t.unicode += u64::from(!first.is_ascii() || !last.is_ascii());
    t.tricky += u64::from(is_tricky(first) || is_tricky(last));

    // username
    if rng.per_mille(300) {
        if first.is_empty() || !first.bytes().all(|b| b.is_ascii_alphabetic()) {
            row.extend_from_slice(b"user");
        } else {
            row.extend(first.bytes().map(|b| b.to_ascii_lowercase()));
        }
        push_u64(row, i);
    }
    row.push(b',');

    // primary_email_address
    s.clear();
    if !no_email {
        s.extend_from_slice(b"user");
        push_u64(s, i);
        s.extend_from_slice(b"@example");
        push_u64(s, i % DOMAINS);
        s.extend_from_slice(b".com");
    }
    row.extend_from_slice(s);
    row.push(b',');
    t.no_email += u64::from(no_email);

    // primary_phone_number
    let has_phone = rng.per_mille(200);
    let phone_start = row.len();
    if has_phone {
        push_phone(row, &mut rng);
    }
    let phone_end = row.len();
    row.push(b',');

    // verified_email_addresses, unverified_email_addresses
    if !no_email {
        row.extend_from_slice(s);
        if rng.per_mille(100) {
            row.extend_from_slice(b"|alt");
            push_u64(row, i);
            row.extend_from_slice(b"@mail");
            push_u64(row, i % DOMAINS);
            row.extend_from_slice(b".org");
        }
    }
    row.push(b',');
    if rng.per_mille(50) {
        row.extend_from_slice(b"old");
        push_u64(row, i);
        row.extend_from_slice(b"@example");
        push_u64(row, i % DOMAINS);
        row.extend_from_slice(b".net");
    }
    row.push(b',');

    // verified_phone_numbers, unverified_phone_numbers
    if has_phone {
        row.extend_from_within(phone_start..phone_end);
    }
    row.push(b',');
    if rng.per_mille(30) {
        push_phone(row, &mut rng);
    }
    row.push(b',');

    // totp_secret
    if rng.per_mille(100) {
        rng.push_chars(row, BASE32, 32);
    }
    row.push(b',');

    // password_digest, password_hasher
    let hasher = match rng.below(100) {
        0..=59 => {
            push_bcrypt(row, &mut rng);
            "bcrypt"
        }
        60..=69 => {
            // Contains commas, so it is quoted.
            row.extend_from_slice(b"\"$argon2id$v=19$m=65536,t=3,p=4$");
            push_b64_random(row, &mut rng, 16, false);
            row.push(b'$');
            push_b64_random(row, &mut rng, 32, false);
            row.push(b'"');
            "argon2id"
        }
        70..=74 => {
            row.extend_from_slice(b"pbkdf2_sha256$720000$");
            rng.push_chars(row, ALNUM, 22);
            row.push(b'$');
            push_b64_random(row, &mut rng, 32, true);
            "pbkdf2_sha256"
        }
        _ => "",
    };
    row.push(b',');
    row.extend_from_slice(hasher.as_bytes());
    row.push(b'\n');
    if !no_email && !hasher.is_empty() && hasher != "bcrypt" {
        t.unsupported_hasher += 1;
    }
}

pub(crate) fn write<W: Write>(spec: &SynthSpec, w: &mut W) -> io::Result<Truth> {
    let plan = DirtyPlan::new(spec.users, spec.dirty, spec.seed);
    let mut cursor = plan.cursor();
    let mut tally = Tally::default();
    let mut row = Vec::with_capacity(64 * 1024);
    let mut scratch = Vec::with_capacity(128);

    w.write_all(CLERK_HEADER.as_bytes())?;
    w.write_all(b"\n")?;
    for i in 0..spec.users {
        let class = cursor.check(i).map(|s| s % CLERK_CLASSES.len() as u64);
        write_row(i, class, spec.seed, &mut row, &mut scratch, &mut tally);
        if row.len() >= 60 * 1024 {
            w.write_all(&row)?;
            row.clear();
        }
    }
    w.write_all(&row)?;

    let mut classes = Counts::zeroed(&CLERK_CLASSES);
    classes.set("no_email", tally.no_email);
    classes.set("unicode_name", tally.unicode);
    classes.set("tricky_name", tally.tricky);
    let mut expected = Counts::default();
    expected.set("skipped_no_email", tally.no_email);
    expected.set("exported", spec.users - tally.no_email);
    expected.set("unsupported_password_hasher", tally.unsupported_hasher);
    Ok(Truth {
        format: SynthFormat::ClerkCsv,
        users: spec.users,
        dirty_rows: None,
        classes,
        rules: Counts::default(),
        expected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_columns() {
        let spec = SynthSpec {
            format: SynthFormat::ClerkCsv,
            users: 300,
            dirty: 0.1,
            seed: 1,
            orgs: 1,
        };
        let mut buf = Vec::new();
        let truth = match write(&spec, &mut buf) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        let mut rdr = csv::Reader::from_reader(buf.as_slice());
        let mut n = 0;
        for rec in rdr.records() {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => panic!("{e}"),
            };
            assert_eq!(rec.len(), 13);
            let id = rec.get(0).unwrap_or("");
            assert!(id.starts_with("user_2") && id.len() == 27, "{id}");
            n += 1;
        }
        assert_eq!(n, 300);
        assert_eq!(truth.classes.get("no_email"), 10);
        assert_eq!(truth.expected.get("exported"), 290);
    }
}
