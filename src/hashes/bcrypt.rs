//! `bcrypt`: the modular-crypt string `$2a$`/`$2b$`/`$2y$` + two-digit cost
//! (04..=31) + `$` + 53 characters of `./A-Za-z0-9` (22 salt + 31 hash), 60 in all.

use super::{malformed, out_of_range, HashError, HashType};

const KIND: HashType = HashType::Bcrypt;

pub(super) fn check(hash: &str) -> Result<(), HashError> {
    let b = hash.as_bytes();
    if ![&b"$2a$"[..], b"$2b$", b"$2y$"]
        .iter()
        .any(|p| b.starts_with(p))
    {
        return Err(malformed(KIND, "expected prefix $2a$, $2b$ or $2y$"));
    }
    if b.len() != 60 {
        return Err(malformed(
            KIND,
            format!("expected 60 characters, found {}", hash.chars().count()),
        ));
    }
    let (c1, c2) = (b[4], b[5]);
    if !c1.is_ascii_digit() || !c2.is_ascii_digit() || b[6] != b'$' {
        return Err(malformed(
            KIND,
            "expected a two-digit cost followed by $ after the prefix",
        ));
    }
    let cost = (c1 - b'0') * 10 + (c2 - b'0');
    if !(4..=31).contains(&cost) {
        return Err(out_of_range(
            KIND,
            "cost",
            format_args!("{cost:02}"),
            "04..=31",
        ));
    }
    if !b[7..]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'/'))
    {
        return Err(malformed(
            KIND,
            "salt and hash must be 53 characters of ./A-Za-z0-9",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::hashes::check_password_hash;

    const SPEC: &str = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

    fn err(h: &str) -> (String, &'static str) {
        let e = check_password_hash("bcrypt", h).unwrap_err();
        (e.to_string(), e.rule())
    }

    #[test]
    fn accepts_all_three_prefixes_and_cost_bounds() {
        for p in ["$2a$", "$2b$", "$2y$"] {
            assert!(
                check_password_hash("bcrypt", &SPEC.replacen("$2a$", p, 1)).is_ok(),
                "{p}"
            );
        }
        for c in ["04", "31"] {
            assert!(
                check_password_hash("bcrypt", &SPEC.replacen("$10$", &format!("${c}$"), 1)).is_ok()
            );
        }
    }

    #[test]
    fn rejects_truncated_with_length_message() {
        assert_eq!(
            err(&SPEC[..59]),
            (
                "malformed bcrypt hash: expected 60 characters, found 59".into(),
                "malformed_hash"
            )
        );
        assert_eq!(err(&format!("{SPEC}x")).1, "malformed_hash");
    }

    #[test]
    fn rejects_wrong_prefix() {
        for p in ["$2x$", "$2$", "$3a$", "2a$1"] {
            let (msg, rule) = err(&SPEC.replacen("$2a$", p, 1));
            assert_eq!(rule, "malformed_hash", "{p}");
            assert_eq!(
                msg,
                "malformed bcrypt hash: expected prefix $2a$, $2b$ or $2y$"
            );
        }
    }

    #[test]
    fn cost_out_of_range_names_the_cost_only() {
        for (c, shown) in [("03", "03"), ("00", "00"), ("32", "32"), ("99", "99")] {
            let (msg, rule) = err(&SPEC.replacen("$10$", &format!("${c}$"), 1));
            assert_eq!(rule, "hash_parameter_out_of_range");
            assert_eq!(
                msg,
                format!("bcrypt parameter cost={shown} is outside WorkOS's range 04..=31")
            );
        }
    }

    #[test]
    fn rejects_bad_cost_and_alphabet() {
        assert_eq!(err(&SPEC.replacen("$10$", "$1a$", 1)).1, "malformed_hash");
        assert_eq!(err(&SPEC.replacen("$10$N", "$10$+", 1)).1, "malformed_hash");
        let (msg, _) = err(&SPEC.replacen("N9qo", "N9q=", 1));
        assert!(!msg.contains("N9q"), "{msg}");
        // Non-ASCII of the right byte length must not panic.
        assert_eq!(err(&SPEC.replacen("N9", "é", 1)).1, "malformed_hash");
    }
}
