//! Password-hash formats WorkOS accepts (`password_hash_type` + `password_hash`),
//! per workos-api.md §3: the [`HashType`] names, the [`check_password_hash`]
//! format check used by the validator and importer, the [`HashError`] it reports
//! (never echoing the hash, salt or keys), and encoders that build WorkOS strings
//! from other systems' exports ([`encode_firebase_scrypt`], [`pbkdf2_from_django`]).
//!
//! These are *format* checks: nothing here can tell whether a hash matches a password.

mod bcrypt;
mod encode;
mod firebase;
mod phc;
mod ssha;

pub use encode::{encode_firebase_scrypt, pbkdf2_from_django};

use std::fmt;

/// A `password_hash_type` value WorkOS accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashType {
    Bcrypt,
    FirebaseScrypt,
    Ssha,
    Ssha256,
    Scrypt,
    Pbkdf2,
    Argon2,
}

impl HashType {
    pub const ALL: [HashType; 7] = [
        HashType::Bcrypt,
        HashType::FirebaseScrypt,
        HashType::Ssha,
        HashType::Ssha256,
        HashType::Scrypt,
        HashType::Pbkdf2,
        HashType::Argon2,
    ];

    /// Parses a WorkOS type name (surrounding whitespace and ASCII case ignored).
    pub fn parse(name: &str) -> Option<HashType> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name))
    }

    /// The exact WorkOS name, e.g. `firebase-scrypt`.
    pub fn as_str(self) -> &'static str {
        match self {
            HashType::Bcrypt => "bcrypt",
            HashType::FirebaseScrypt => "firebase-scrypt",
            HashType::Ssha => "ssha",
            HashType::Ssha256 => "ssha256",
            HashType::Scrypt => "scrypt",
            HashType::Pbkdf2 => "pbkdf2",
            HashType::Argon2 => "argon2",
        }
    }
}

impl fmt::Display for HashType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a hash does not fit its WorkOS format. Messages are one line and name
/// parameters and counts only, never the hash, salt or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The `password_hash_type` is not one WorkOS accepts (holds the trimmed name).
    #[error("unsupported password_hash_type {} (WorkOS accepts bcrypt, firebase-scrypt, ssha, ssha256, scrypt, pbkdf2, argon2)", shown(.0))]
    UnsupportedType(String),
    /// The hash does not parse as its type's format.
    #[error("malformed {kind} hash: {detail}")]
    Malformed { kind: HashType, detail: String },
    /// The hash parses but a parameter is outside what WorkOS accepts.
    #[error("{kind} {detail}")]
    OutOfRange { kind: HashType, detail: String },
}

impl HashError {
    /// Stable rule id used in validator reports: "unsupported_hash_type" | "malformed_hash" | "hash_parameter_out_of_range"
    pub fn rule(&self) -> &'static str {
        match self {
            HashError::UnsupportedType(_) => "unsupported_hash_type",
            HashError::Malformed { .. } => "malformed_hash",
            HashError::OutOfRange { .. } => "hash_parameter_out_of_range",
        }
    }
}

/// Quotes a short identifier-like value for a message; anything long or hash-like
/// (it may be a misplaced secret) is described by its length only.
pub(crate) fn shown(value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_ .".contains(c));
    if plain && value.len() <= 24 {
        format!("\"{value}\"")
    } else {
        format!("(a {}-character value, not shown)", value.chars().count())
    }
}

pub(crate) fn malformed(kind: HashType, detail: impl Into<String>) -> HashError {
    HashError::Malformed {
        kind,
        detail: detail.into(),
    }
}

/// A parameter WorkOS would not accept: `<kind> <detail>`.
pub(crate) fn param_error(kind: HashType, detail: impl Into<String>) -> HashError {
    HashError::OutOfRange {
        kind,
        detail: detail.into(),
    }
}

/// `<kind> parameter <name>=<value> is outside WorkOS's range <range>`.
pub(crate) fn out_of_range(
    kind: HashType,
    name: &str,
    value: impl fmt::Display,
    range: &str,
) -> HashError {
    HashError::OutOfRange {
        kind,
        detail: format!("parameter {name}={value} is outside WorkOS's range {range}"),
    }
}

/// Check `hash` against the WorkOS format for `hash_type` (a type name as written in the CSV).
pub fn check_password_hash(hash_type: &str, hash: &str) -> Result<HashType, HashError> {
    let kind = HashType::parse(hash_type)
        .ok_or_else(|| HashError::UnsupportedType(hash_type.trim().to_owned()))?;
    if hash.is_empty() {
        return Err(malformed(kind, "the hash is empty"));
    }
    if hash.trim() != hash {
        return Err(malformed(kind, "leading or trailing whitespace"));
    }
    match kind {
        HashType::Bcrypt => bcrypt::check(hash),
        HashType::FirebaseScrypt => firebase::check(hash),
        HashType::Ssha | HashType::Ssha256 => ssha::check(kind, hash),
        HashType::Scrypt => phc::check_scrypt(hash),
        HashType::Pbkdf2 => phc::check_pbkdf2(hash),
        HashType::Argon2 => phc::check_argon2(hash),
    }?;
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_round_trip_and_parse_leniently() {
        for t in HashType::ALL {
            assert_eq!(HashType::parse(t.as_str()), Some(t));
            assert_eq!(
                HashType::parse(&format!("  {}\t", t.as_str().to_uppercase())),
                Some(t)
            );
        }
        for bad in [
            "",
            "md5",
            "okta-bcrypt",
            "sha256",
            "pbkdf2_sha256",
            "firebase_scrypt",
            "argon2id",
        ] {
            assert_eq!(HashType::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn unsupported_type_message_lists_all_accepted_names() {
        let err = check_password_hash("md5", "5f4dcc3b5aa765d61d8327deb882cf99").unwrap_err();
        assert_eq!(err.rule(), "unsupported_hash_type");
        let names: Vec<_> = HashType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            err.to_string(),
            format!(
                "unsupported password_hash_type \"md5\" (WorkOS accepts {})",
                names.join(", ")
            )
        );
        for t in ["okta-bcrypt", "sha256", " SHA512 "] {
            assert_eq!(
                check_password_hash(t, "x").unwrap_err().rule(),
                "unsupported_hash_type"
            );
        }
    }

    #[test]
    fn unsupported_type_never_echoes_a_hash_like_value() {
        let h = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
        let msg = check_password_hash(h, h).unwrap_err().to_string();
        assert!(!msg.contains("N9qo8"), "{msg}");
        assert!(msg.contains("60-character value"), "{msg}");
    }

    #[test]
    fn empty_and_padded_hashes_are_malformed() {
        for t in HashType::ALL {
            let err = check_password_hash(t.as_str(), "").unwrap_err();
            assert_eq!(err.rule(), "malformed_hash");
            assert_eq!(
                err.to_string(),
                format!("malformed {t} hash: the hash is empty")
            );
        }
        let err = check_password_hash("ssha", " {SSHA}o7B+j1mFfbmEwTcG4Xb9GJL9mOYAAQIDBAUGBw==")
            .unwrap_err();
        assert_eq!(err.rule(), "malformed_hash");
    }

    #[test]
    fn returns_the_parsed_type() {
        let h = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
        assert_eq!(check_password_hash(" BCRYPT ", h), Ok(HashType::Bcrypt));
    }
}
