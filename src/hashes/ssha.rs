//! `ssha` and `ssha256`: `{SSHA}` / `{SSHA256}` + standard padded base64 of the
//! digest (20 bytes SHA-1 / 32 bytes SHA-256) followed by a salt of ≥ 1 byte.
//!
//! The `ssha256` string format is not documented by WorkOS (only the enum value
//! is, in OpenAPI 0.61); `{SSHA256}` + base64(digest ‖ salt) is the analogy with
//! `ssha` and should be confirmed against staging before relying on it.

use base64::{engine::general_purpose::STANDARD, Engine as _};

use super::{malformed, HashError, HashType};

pub(super) fn check(kind: HashType, hash: &str) -> Result<(), HashError> {
    let (prefix, digest, name) = match kind {
        HashType::Ssha256 => ("{SSHA256}", 32, "SHA-256"),
        _ => ("{SSHA}", 20, "SHA-1"),
    };
    let body = hash
        .strip_prefix(prefix)
        .ok_or_else(|| malformed(kind, format!("expected prefix {prefix}")))?;
    let bytes = STANDARD.decode(body).map_err(|_| {
        malformed(
            kind,
            format!("the text after {prefix} is not standard padded base64"),
        )
    })?;
    if bytes.len() <= digest {
        return Err(malformed(
            kind,
            format!("decodes to {} bytes; expected a {digest}-byte {name} digest followed by a salt of at least 1 byte", bytes.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::hashes::check_password_hash;

    const DOC: &str = "{SSHA}o7B+j1mFfbmEwTcG4Xb9GJL9mOYAAQIDBAUGBw==";

    fn rule(t: &str, h: &str) -> &'static str {
        check_password_hash(t, h).unwrap_err().rule()
    }

    #[test]
    fn accepts_doc_vector_and_minimal_salt() {
        assert!(check_password_hash("ssha", DOC).is_ok());
        // 20 + 1 bytes and 32 + 1 bytes.
        assert!(check_password_hash("ssha", "{SSHA}AAAAAAAAAAAAAAAAAAAAAAAAAAAA").is_ok());
        assert!(check_password_hash(
            "ssha256",
            "{SSHA256}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        )
        .is_ok());
    }

    #[test]
    fn rejects_wrong_prefix() {
        for h in [
            &DOC[6..],
            "{SHA}o7B+j1mFfbmEwTcG4Xb9GJL9mOYAAQIDBAUGBw==",
            "{ssha}o7B+j1mFfbmEwTcG4Xb9GJL9mOYAAQIDBAUGBw==",
        ] {
            assert_eq!(rule("ssha", h), "malformed_hash");
        }
        assert_eq!(rule("ssha256", DOC), "malformed_hash");
        assert_eq!(
            check_password_hash("ssha256", DOC).unwrap_err().to_string(),
            "malformed ssha256 hash: expected prefix {SSHA256}"
        );
    }

    #[test]
    fn rejects_truncated_and_unpadded_base64() {
        assert_eq!(rule("ssha", &DOC[..DOC.len() - 1]), "malformed_hash");
        assert_eq!(rule("ssha", DOC.trim_end_matches('=')), "malformed_hash");
        assert_eq!(
            rule("ssha", "{SSHA}o7B-j1mFfbmEwTcG4Xb9GJL9mOYAAQIDBAUGBw=="),
            "malformed_hash"
        );
    }

    #[test]
    fn rejects_digest_without_salt() {
        // 20 bytes: a bare SHA-1 digest (the nearest thing ssha has to a parameter out of range).
        let e = check_password_hash("ssha", "{SSHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap_err();
        assert_eq!(e.rule(), "malformed_hash");
        assert_eq!(
            e.to_string(),
            "malformed ssha hash: decodes to 20 bytes; expected a 20-byte SHA-1 digest followed by a salt of at least 1 byte"
        );
        assert_eq!(
            rule(
                "ssha256",
                "{SSHA256}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
            ),
            "malformed_hash"
        );
    }
}
