//! Synthetic inputs for `merge-passwords` at scale: a package `users.csv`,
//! its `workos_upload/users.csv`, and an Auth0 password export (NDJSON)
//! whose records come in a different order than the users, with a known
//! number of matches, rejected algorithms, blocked users, duplicates and
//! junk lines ([`Auth0PasswordsTruth`]).
//!
//! User `i` (0-based) has one users.csv row and one upload row; its class is
//! `i % 10`: 0–6 a valid bcrypt hash, 7 a sha256 hex digest, 8 no record,
//! 9 a `pbkdf2`-style `a:b:c` string. Every 50th user is blocked
//! (`auth0_blocked`), every 100th+1 bcrypt user also has an earlier md5
//! record (the later bcrypt one must win), every 7th email is upper-cased in
//! the export, and one junk line follows every 1000th record. Streams: only
//! the current row is in memory.

use std::io::{self, Write};

use serde::Serialize;

use super::rng::Rng;

const USERS_HEADER: &str = "email,password,password_hash,password_hash_type,first_name,last_name,email_verified,external_id,metadata,org_id,org_external_id,org_name,role_slugs\n";
const UPLOAD_HEADER: &str = "user_id,email,email_verified,first_name,last_name,password_hash\n";
const BCRYPT_ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";

/// What a correct `merge-passwords --package` must report for the inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Auth0PasswordsTruth {
    pub users: u64,
    pub password_lines: u64,
    pub total_rows: u64,
    pub passwords_added: u64,
    pub passwords_not_found: u64,
    pub passwords_rejected_algorithm: u64,
    pub blocked_users_skipped: u64,
    pub unparsable_lines: u64,
    pub upload_rows_updated: u64,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A multiplier coprime with `n`, so `j ↦ (j * m + 7) % n` is a permutation.
fn stride(n: u64) -> u64 {
    let mut m = 1_000_003u64;
    while n > 1 && gcd(m % n, n) != 1 {
        m += 2;
    }
    m
}

/// Writes the three files for `users` users; returns the truth.
pub fn write_auth0_password_inputs(
    users: u64,
    seed: u64,
    users_csv: &mut dyn Write,
    upload_csv: &mut dyn Write,
    ndjson: &mut dyn Write,
) -> io::Result<Auth0PasswordsTruth> {
    let mut t = Auth0PasswordsTruth {
        users,
        total_rows: users,
        ..Auth0PasswordsTruth::default()
    };
    let mut users_out = io::BufWriter::with_capacity(1 << 20, users_csv);
    let mut upload_out = io::BufWriter::with_capacity(1 << 20, upload_csv);
    users_out.write_all(USERS_HEADER.as_bytes())?;
    upload_out.write_all(UPLOAD_HEADER.as_bytes())?;
    for i in 0..users {
        let blocked = i % 50 == 0;
        let metadata = if blocked {
            "\"{\"\"auth0_user_id\"\":\"\"auth0|u{i}\"\",\"\"auth0_blocked\"\":\"\"true\"\",\"\"auth0_metadata_only\"\":\"\"true\"\"}\""
                .replace("{i}", &i.to_string())
        } else {
            format!("\"{{\"\"auth0_user_id\"\":\"\"auth0|u{i}\"\",\"\"plan\"\":\"\"pro\"\"}}\"")
        };
        writeln!(
            users_out,
            "user{i}@example.com,,,,First{i},\"Last, {i}\",true,auth0|u{i},{metadata},,org_{},Org {},",
            i % 200,
            i % 200
        )?;
        writeln!(
            upload_out,
            "auth0|u{i},user{i}@example.com,true,First{i},\"Last, {i}\","
        )?;
        match (i % 10, blocked) {
            (8, _) => t.passwords_not_found += 1,
            (_, true) => t.blocked_users_skipped += 1,
            (0..=6, false) => t.passwords_added += 1,
            _ => t.passwords_rejected_algorithm += 1,
        }
    }
    t.upload_rows_updated = t.passwords_added;
    users_out.flush()?;
    upload_out.flush()?;

    let mut out = io::BufWriter::with_capacity(1 << 20, ndjson);
    let m = stride(users);
    let mut line = Vec::with_capacity(256);
    let mut records = 0u64;
    for j in 0..users {
        let i = ((u128::from(j) * u128::from(m) + 7) % u128::from(users.max(1))) as u64;
        let class = i % 10;
        if class == 8 {
            continue;
        }
        let mut rng = Rng::for_row(seed, 0xA0, i);
        let email = if i.is_multiple_of(7) {
            format!("USER{i}@EXAMPLE.COM")
        } else {
            format!("user{i}@example.com")
        };
        if class <= 6 && i % 100 == 1 {
            line.clear();
            rng.push_chars(&mut line, HEX, 32);
            write_record(&mut out, &email, &line, &mut records, &mut t)?;
        }
        line.clear();
        match class {
            0..=6 => {
                line.extend_from_slice(b"$2b$10$");
                rng.push_chars(&mut line, BCRYPT_ALPHABET, 53);
            }
            7 => rng.push_chars(&mut line, HEX, 64),
            _ => {
                line.extend_from_slice(b"sha1:1000:");
                rng.push_chars(&mut line, HEX, 16);
                line.push(b':');
                rng.push_chars(&mut line, HEX, 40);
            }
        }
        write_record(&mut out, &email, &line, &mut records, &mut t)?;
    }
    out.flush()?;
    Ok(t)
}

fn write_record(
    out: &mut impl Write,
    email: &str,
    hash: &[u8],
    records: &mut u64,
    t: &mut Auth0PasswordsTruth,
) -> io::Result<()> {
    out.write_all(b"{\"_id\":{\"$oid\":\"0\"},\"email\":\"")?;
    out.write_all(email.as_bytes())?;
    out.write_all(b"\",\"email_verified\":true,\"passwordHash\":\"")?;
    out.write_all(hash)?;
    out.write_all(b"\",\"tenant\":\"t\",\"connection\":\"Username-Password-Authentication\"}\n")?;
    t.password_lines += 1;
    *records += 1;
    if (*records).is_multiple_of(1000) {
        out.write_all(b"{\"email\":\"broken@example.com\",\"passwordHash\":\n")?;
        t.password_lines += 1;
        t.unparsable_lines += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password_merge::{merge_package, MergeOptions};

    #[test]
    fn merge_reports_the_truth() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("workos_upload")).unwrap();
        let mut users = std::fs::File::create(root.join("users.csv")).unwrap();
        let mut upload = std::fs::File::create(root.join("workos_upload/users.csv")).unwrap();
        let pw_path = dir.path().join("pw.ndjson");
        let mut pw = std::fs::File::create(&pw_path).unwrap();
        let t = write_auth0_password_inputs(3000, 1, &mut users, &mut upload, &mut pw).unwrap();
        drop((users, upload, pw));
        assert_eq!(t.unparsable_lines, 2);
        let r = merge_package(root, &pw_path, &MergeOptions::default()).unwrap();
        assert_eq!(
            (
                r.total_rows,
                r.passwords_added,
                r.passwords_not_found,
                r.passwords_rejected_algorithm,
                r.blocked_users_skipped,
                r.unparsable_lines,
                r.upload_rows_updated,
                r.passwords_invalid
            ),
            (
                t.total_rows,
                t.passwords_added,
                t.passwords_not_found,
                t.passwords_rejected_algorithm,
                t.blocked_users_skipped,
                t.unparsable_lines,
                t.upload_rows_updated,
                0
            )
        );
    }
}
