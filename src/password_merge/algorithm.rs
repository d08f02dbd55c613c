//! Which Auth0 password hashes can be handed to WorkOS: detection of the
//! algorithm of a raw hash string (export-and-package.md §9.3) and the
//! acceptance rule of `merge-passwords`.
//!
//! The original tool called anything unrecognised `bcrypt` (§17.19) and so
//! passed argon2 strings and garbage on as bcrypt. Here a hash is accepted
//! only when [`hashes::check_password_hash`] accepts it for the WorkOS type
//! it claims: bcrypt (`$2a$`/`$2b$`/`$2y$`), and PHC strings of argon2,
//! pbkdf2 and scrypt (the only other formats WorkOS imports that an Auth0
//! custom database can hold). Everything else is reported by name.

use crate::hashes::{self, HashError, HashType};

/// What `merge-passwords` does with one hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashVerdict {
    /// WorkOS imports it as this type.
    Accepted(HashType),
    /// An algorithm WorkOS does not import (`md5`, `sha256`, `pbkdf2`, …).
    Unsupported(&'static str),
    /// A WorkOS algorithm, but the string does not pass its format check.
    Invalid(HashError),
}

/// Classifies `hash` (the raw `passwordHash` value). First match wins:
/// bcrypt prefixes, `$2x$`, 32/64/128 hex digits (md5/sha256/sha512), PHC
/// argon2/pbkdf2/scrypt, anything with `:` (`pbkdf2`, as the original),
/// else `unknown`.
pub fn classify_hash(hash: &str) -> HashVerdict {
    let checked = |kind: HashType| match hashes::check_password_hash(kind.as_str(), hash) {
        Ok(t) => HashVerdict::Accepted(t),
        Err(e) => HashVerdict::Invalid(e),
    };
    if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
        return checked(HashType::Bcrypt);
    }
    if hash.starts_with("$2x$") {
        return HashVerdict::Unsupported("bcrypt-2x");
    }
    if hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        match hash.len() {
            32 => return HashVerdict::Unsupported("md5"),
            64 => return HashVerdict::Unsupported("sha256"),
            128 => return HashVerdict::Unsupported("sha512"),
            _ => {}
        }
    }
    if hash.starts_with("$argon2") {
        return checked(HashType::Argon2);
    }
    if hash.starts_with("$scrypt$") {
        return checked(HashType::Scrypt);
    }
    if hash.starts_with("$pbkdf2") {
        return checked(HashType::Pbkdf2);
    }
    if hash.contains(':') {
        return HashVerdict::Unsupported("pbkdf2");
    }
    HashVerdict::Unsupported("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BCRYPT: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

    #[test]
    fn bcrypt_variants_are_accepted() {
        for p in ["$2a$", "$2b$", "$2y$"] {
            let h = format!("{p}{}", &BCRYPT[4..]);
            assert_eq!(classify_hash(&h), HashVerdict::Accepted(HashType::Bcrypt));
        }
    }

    #[test]
    fn truncated_bcrypt_is_invalid_not_unsupported() {
        match classify_hash("$2b$10$abc") {
            HashVerdict::Invalid(e) => {
                assert_eq!(e.rule(), "malformed_hash");
                assert!(!e.to_string().contains("abc"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_algorithms_are_named() {
        let cases = [
            (format!("$2x${}", &BCRYPT[4..]), "bcrypt-2x"),
            ("5f4dcc3b5aa765d61d8327deb882cf99".to_string(), "md5"),
            ("A".repeat(64), "sha256"),
            ("0".repeat(128), "sha512"),
            ("sha1:1000:salt:hash".to_string(), "pbkdf2"),
            ("sha1:1:2".to_string(), "pbkdf2"),
            ("garbage".to_string(), "unknown"),
            ("0".repeat(40), "unknown"),
        ];
        for (hash, name) in cases {
            assert_eq!(
                classify_hash(&hash),
                HashVerdict::Unsupported(name),
                "{hash}"
            );
        }
    }

    #[test]
    fn phc_strings_are_checked_as_their_workos_type() {
        let argon = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
        assert_eq!(
            classify_hash(argon),
            HashVerdict::Accepted(HashType::Argon2)
        );
        match classify_hash(
            "$argon2id$v=19$m=1,t=1,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
        ) {
            HashVerdict::Invalid(e) => assert_eq!(e.rule(), "hash_parameter_out_of_range"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_hash("$pbkdf2-sha256$29000$c2FsdA$aGFzaA"),
            HashVerdict::Invalid(_)
        ));
    }
}
