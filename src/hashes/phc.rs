//! The PHC-string types `scrypt`, `pbkdf2` and `argon2`, parsed with the
//! `password-hash` crate (B64 = standard base64 without padding).
//!
//! Limits enforced (WorkOS documents ranges only for pbkdf2 and argon2):
//! - scrypt `$scrypt$v=1$n=..,r=..,p=..,kl=..$salt$hash`: `v` optional but must be 1;
//!   `n` a power of two ≥ 2; `r`, `p`, `kl` ≥ 1; `kl` equals the decoded hash length.
//! - pbkdf2 `$pbkdf2$i=..,d=..$salt$hash`: `d` is `sha256` (600,000 ≤ i ≤ 1,000,000)
//!   or `sha512` (210,000 ≤ i ≤ 1,000,000); no version field.
//! - argon2 `$argon2{id,i,d}$v=19$m=..,t=..,p=..$salt$hash`: v = 19, m 4096..=262144,
//!   t 1..=5 (argon2i 3..=5), p 1..=8.
//!
//! All three: exactly the listed parameters (decimal, no leading zeros, ≤ u32), and
//! a salt and hash present. Inherited `password-hash` 0.5 limits: salt 4..=64 B64
//! characters (≤ 48 bytes), hash 10..=64 bytes, so scrypt `kl` is at most 64.

use password_hash::{errors::InvalidValue, Error as PhcError, PasswordHash};

use super::{malformed, out_of_range, param_error, shown, HashError, HashType};

/// Parses `s` as a PHC string whose algorithm id must be one of `ids`.
fn parse<'a>(kind: HashType, s: &'a str, ids: &[&str]) -> Result<PasswordHash<'a>, HashError> {
    let expected = || {
        format!(
            "expected a PHC string starting with ${}$",
            ids.join("$ or $")
        )
    };
    if !s.starts_with('$') {
        return Err(malformed(kind, expected()));
    }
    let ph = PasswordHash::new(s).map_err(|e| malformed(kind, describe(e)))?;
    if !ids.contains(&ph.algorithm.as_str()) {
        return Err(malformed(
            kind,
            format!(
                "algorithm id {} is not accepted; {}",
                shown(ph.algorithm.as_str()),
                expected()
            ),
        ));
    }
    Ok(ph)
}

/// A `password-hash` error in words, never quoting the offending character or value.
fn describe(e: PhcError) -> String {
    let value = |v: InvalidValue| match v {
        InvalidValue::InvalidChar(_) => "contains a character outside the PHC alphabet",
        InvalidValue::InvalidFormat => {
            "is not a decimal without leading zeros that fits in 32 bits"
        }
        InvalidValue::TooLong => "is too long",
        InvalidValue::TooShort => "is too short",
        _ => "is malformed",
    };
    match e {
        PhcError::B64Encoding(_) => {
            "the hash is not valid B64 (standard base64 without padding)".into()
        }
        PhcError::OutputSize { .. } => "the hash must decode to 10..=64 bytes".into(),
        PhcError::ParamNameDuplicated => "a parameter is repeated".into(),
        PhcError::ParamNameInvalid => "a parameter name is invalid".into(),
        PhcError::ParamValueInvalid(v) => format!("a parameter value {}", value(v)),
        PhcError::ParamsMaxExceeded => "the parameter list is too long".into(),
        PhcError::PhcStringField => "missing or invalid PHC field".into(),
        PhcError::PhcStringTrailingData => "unexpected fields after the hash".into(),
        PhcError::SaltInvalid(v) => format!("the salt {} (4..=64 B64 characters)", value(v)),
        PhcError::Version => "the version field is invalid".into(),
        _ => "does not parse as a PHC string".into(),
    }
}

/// Rejects parameters other than `allowed`.
fn only(kind: HashType, ph: &PasswordHash<'_>, allowed: &[&str]) -> Result<(), HashError> {
    match ph
        .params
        .iter()
        .find(|(name, _)| !allowed.contains(&name.as_str()))
    {
        Some((name, _)) => Err(malformed(
            kind,
            format!(
                "unexpected parameter {}; expected {}",
                shown(name.as_str()),
                allowed.join(",")
            ),
        )),
        None => Ok(()),
    }
}

/// A required decimal parameter.
fn decimal(kind: HashType, ph: &PasswordHash<'_>, name: &str) -> Result<u32, HashError> {
    let value = ph
        .params
        .get(name)
        .ok_or_else(|| malformed(kind, format!("missing parameter {name}")))?;
    value
        .decimal()
        .map_err(|_| malformed(kind, format!("parameter {name} is not a decimal integer")))
}

/// Checks the salt decodes and the hash is present; returns the hash length in bytes.
fn salt_and_hash(kind: HashType, ph: &PasswordHash<'_>) -> Result<usize, HashError> {
    let salt = ph.salt.ok_or_else(|| malformed(kind, "missing salt"))?;
    let mut buf = [0u8; 64];
    let salt = salt.decode_b64(&mut buf).map_err(|_| {
        malformed(
            kind,
            "the salt is not valid B64 (standard base64 without padding)",
        )
    })?;
    if salt.is_empty() {
        return Err(malformed(kind, "the salt is empty"));
    }
    ph.hash
        .map(|h| h.len())
        .ok_or_else(|| malformed(kind, "missing hash"))
}

pub(super) fn check_scrypt(s: &str) -> Result<(), HashError> {
    const K: HashType = HashType::Scrypt;
    let ph = parse(K, s, &["scrypt"])?;
    if let Some(v) = ph.version.filter(|&v| v != 1) {
        return Err(param_error(K, format!("parameter v={v} must be 1")));
    }
    only(K, &ph, &["n", "r", "p", "kl"])?;
    let n = decimal(K, &ph, "n")?;
    if n < 2 || !n.is_power_of_two() {
        return Err(param_error(
            K,
            format!("parameter n={n} is not a power of two ≥ 2"),
        ));
    }
    for name in ["r", "p", "kl"] {
        let v = decimal(K, &ph, name)?;
        if v < 1 {
            return Err(param_error(K, format!("parameter {name}={v} must be ≥ 1")));
        }
    }
    let (kl, len) = (decimal(K, &ph, "kl")?, salt_and_hash(K, &ph)?);
    if kl as usize != len {
        return Err(malformed(
            K,
            format!("kl={kl} but the hash decodes to {len} bytes"),
        ));
    }
    Ok(())
}

pub(super) fn check_pbkdf2(s: &str) -> Result<(), HashError> {
    const K: HashType = HashType::Pbkdf2;
    if s.starts_with("pbkdf2_") {
        return Err(malformed(K, "Django pbkdf2_<digest>$... hashes must be converted to $pbkdf2$i=..,d=..$salt$hash first"));
    }
    if s.starts_with("$pbkdf2-") {
        return Err(malformed(K, "passlib/RustCrypto $pbkdf2-<digest>$ hashes must be converted to $pbkdf2$i=..,d=..$salt$hash first"));
    }
    let ph = parse(K, s, &["pbkdf2"])?;
    if ph.version.is_some() {
        return Err(malformed(
            K,
            "unexpected version field; expected $pbkdf2$i=..,d=..$salt$hash",
        ));
    }
    only(K, &ph, &["i", "d"])?;
    let digest = ph
        .params
        .get_str("d")
        .ok_or_else(|| malformed(K, "missing parameter d"))?;
    let i = decimal(K, &ph, "i")?;
    let range = match digest {
        "sha256" => 600_000..=1_000_000,
        "sha512" => 210_000..=1_000_000,
        other => {
            let detail = format!("digest {} is not sha256 or sha512", shown(other));
            return Err(param_error(K, detail));
        }
    };
    if !range.contains(&i) {
        return Err(out_of_range(
            K,
            "i",
            i,
            &format!("{}..={} for {digest}", range.start(), range.end()),
        ));
    }
    salt_and_hash(K, &ph).map(drop)
}

pub(super) fn check_argon2(s: &str) -> Result<(), HashError> {
    const K: HashType = HashType::Argon2;
    let ph = parse(K, s, &["argon2id", "argon2i", "argon2d"])?;
    match ph.version {
        None => return Err(malformed(K, "missing version field v=19")),
        Some(v) if v != 19 => return Err(param_error(K, format!("parameter v={v} must be 19"))),
        Some(_) => {}
    }
    only(K, &ph, &["m", "t", "p"])?;
    let t_min = if ph.algorithm.as_str() == "argon2i" {
        3
    } else {
        1
    };
    for (name, lo, hi) in [("m", 4096, 262_144), ("t", t_min, 5), ("p", 1, 8)] {
        let v = decimal(K, &ph, name)?;
        if !(lo..=hi).contains(&v) {
            let range = format!(
                "{lo}..={hi}{}",
                if name == "t" && t_min == 3 {
                    " for argon2i"
                } else {
                    ""
                }
            );
            return Err(out_of_range(K, name, v, &range));
        }
    }
    salt_and_hash(K, &ph)?;
    argon2::Params::try_from(&ph)
        .map(drop)
        .map_err(|e| malformed(K, describe(e)))
}

#[cfg(test)]
mod tests {
    use crate::hashes::check_password_hash;

    const SCRYPT: &str = "$scrypt$v=1$n=16384,r=8,p=1,kl=64$AAECAwQFBgcICQoLDA0ODw$11kKyiyYAc8G7rp3KmncMc44YlkdllIqxOa7pq0fMaUtb3NvK4WtqmJiM16xEuVvAU9BejfXS+De92abLFHCng";
    const PBKDF2_256: &str = "$pbkdf2$i=600000,d=sha256$AAECAwQFBgcICQoLDA0ODw$7xdxRO7JQgy8EJPSqLNEqSvFBtDU7JwCjdGfgyTYweY";
    const PBKDF2_512: &str = "$pbkdf2$i=210000,d=sha512$AAECAwQFBgcICQoLDA0ODw$tfP6dFnMFLm84erFFC/hWDzb6fAjAPCAs0RvJLiu5xYHfelPBTAEADgLVRgJzZ8bKvvUpW2nUExEbADbiezuPg";
    const ARGON2: &str =
        "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";

    fn err(t: &str, h: &str) -> (String, &'static str) {
        let e = check_password_hash(t, h).unwrap_err();
        (e.to_string(), e.rule())
    }

    #[test]
    fn accepts_documented_vectors() {
        for (t, h) in [
            ("scrypt", SCRYPT),
            ("pbkdf2", PBKDF2_256),
            ("pbkdf2", PBKDF2_512),
            ("argon2", ARGON2),
        ] {
            assert!(check_password_hash(t, h).is_ok(), "{h}");
        }
        let docs = "$scrypt$v=1$n=16384,r=8,p=1,kl=64$Swhqd4iUYTtWfbCYIPeuMw$q7pfdBQMJujd5FX/qX+ozM2O6aNqP+mo1ZnHGH15XM2vlhroQfPA037UpbdfpH4H66OrSPjsUhfkAMuNoBiQvw";
        assert!(check_password_hash("scrypt", docs).is_ok());
        // v is optional for scrypt.
        assert!(check_password_hash("scrypt", &SCRYPT.replace("$v=1", "")).is_ok());
    }

    #[test]
    fn scrypt_parameter_rules() {
        assert_eq!(
            err("scrypt", &SCRYPT.replace("n=16384", "n=16000")),
            (
                "scrypt parameter n=16000 is not a power of two ≥ 2".into(),
                "hash_parameter_out_of_range"
            )
        );
        assert_eq!(
            err("scrypt", &SCRYPT.replace("n=16384", "n=1")).1,
            "hash_parameter_out_of_range"
        );
        assert_eq!(
            err("scrypt", &SCRYPT.replace("r=8", "r=0")),
            (
                "scrypt parameter r=0 must be ≥ 1".into(),
                "hash_parameter_out_of_range"
            )
        );
        assert_eq!(
            err("scrypt", &SCRYPT.replace("p=1", "p=0")).1,
            "hash_parameter_out_of_range"
        );
        assert_eq!(
            err("scrypt", &SCRYPT.replace("v=1", "v=2")).1,
            "hash_parameter_out_of_range"
        );
        assert_eq!(
            err("scrypt", &SCRYPT.replace("kl=64", "kl=32")),
            (
                "malformed scrypt hash: kl=32 but the hash decodes to 64 bytes".into(),
                "malformed_hash"
            )
        );
        assert_eq!(
            err("scrypt", &SCRYPT.replace(",kl=64", "")),
            (
                "malformed scrypt hash: missing parameter kl".into(),
                "malformed_hash"
            )
        );
        assert_eq!(
            err("scrypt", &SCRYPT.replace("n=16384", "ln=14")).1,
            "malformed_hash"
        );
        assert_eq!(
            err("scrypt", &SCRYPT.replace("n=16384", "n=016384")).1,
            "malformed_hash"
        );
        assert_eq!(
            err("scrypt", &SCRYPT.replace("$scrypt$", "$scrypt2$")).1,
            "malformed_hash"
        );
        assert_eq!(
            err("scrypt", &SCRYPT[..SCRYPT.len() - 3]).1,
            "malformed_hash"
        );
        assert_eq!(
            err("scrypt", &SCRYPT[..SCRYPT.rfind('$').unwrap()]).0,
            "malformed scrypt hash: missing hash"
        );
    }

    #[test]
    fn pbkdf2_iteration_ranges_per_digest() {
        for (h, bad, good) in [
            (PBKDF2_256, ["599999", "1000001"], ["1000000"]),
            (PBKDF2_512, ["209999", "1000001"], ["600000"]),
        ] {
            let i = if h == PBKDF2_256 {
                "i=600000"
            } else {
                "i=210000"
            };
            for b in bad {
                assert_eq!(
                    err("pbkdf2", &h.replace(i, &format!("i={b}"))).1,
                    "hash_parameter_out_of_range",
                    "{b}"
                );
            }
            for g in good {
                assert!(check_password_hash("pbkdf2", &h.replace(i, &format!("i={g}"))).is_ok());
            }
        }
        assert_eq!(
            err("pbkdf2", &PBKDF2_256.replace("i=600000", "i=100000")).0,
            "pbkdf2 parameter i=100000 is outside WorkOS's range 600000..=1000000 for sha256"
        );
        assert_eq!(
            err("pbkdf2", &PBKDF2_256.replace("sha256", "sha1")),
            (
                "pbkdf2 digest \"sha1\" is not sha256 or sha512".into(),
                "hash_parameter_out_of_range"
            )
        );
    }

    #[test]
    fn pbkdf2_rejects_other_encodings_with_conversion_hint() {
        let passlib = "$pbkdf2-sha256$600000$AAECAwQFBgcICQoLDA0ODw$7xdxRO7JQgy8EJPSqLNEqSvFBtDU7JwCjdGfgyTYweY";
        let (msg, rule) = err("pbkdf2", passlib);
        assert_eq!(rule, "malformed_hash");
        assert!(msg.contains("must be converted"), "{msg}");
        let rustcrypto = "$pbkdf2-sha256$i=600000,l=32$AAECAwQFBgcICQoLDA0ODw$7xdxRO7JQgy8EJPSqLNEqSvFBtDU7JwCjdGfgyTYweY";
        assert!(err("pbkdf2", rustcrypto).0.contains("must be converted"));
        let django = "pbkdf2_sha256$600000$abcdefgh$7xdxRO7JQgy8EJPSqLNEqSvFBtDU7JwCjdGfgyTYweY=";
        let (msg, rule) = err("pbkdf2", django);
        assert_eq!(rule, "malformed_hash");
        assert!(msg.contains("Django") && !msg.contains("abcdefgh"), "{msg}");
        assert_eq!(
            err("pbkdf2", &PBKDF2_256.replace("$pbkdf2$", "$pbkdf2$v=1$")).1,
            "malformed_hash"
        );
        assert_eq!(
            err("pbkdf2", &PBKDF2_256.replace(",d=sha256", "")).1,
            "malformed_hash"
        );
        assert_eq!(
            err("pbkdf2", &PBKDF2_256.replace("d=sha256", "d=sha256,l=32")).1,
            "malformed_hash"
        );
    }

    #[test]
    fn argon2_parameter_ranges() {
        let cases = [
            (
                "m=65536",
                "m=1024",
                "argon2 parameter m=1024 is outside WorkOS's range 4096..=262144",
            ),
            (
                "m=65536",
                "m=262145",
                "argon2 parameter m=262145 is outside WorkOS's range 4096..=262144",
            ),
            (
                "t=3",
                "t=6",
                "argon2 parameter t=6 is outside WorkOS's range 1..=5",
            ),
            (
                "t=3",
                "t=0",
                "argon2 parameter t=0 is outside WorkOS's range 1..=5",
            ),
            (
                "p=4",
                "p=9",
                "argon2 parameter p=9 is outside WorkOS's range 1..=8",
            ),
            ("v=19", "v=16", "argon2 parameter v=16 must be 19"),
        ];
        for (from, to, msg) in cases {
            assert_eq!(
                err("argon2", &ARGON2.replace(from, to)),
                (msg.into(), "hash_parameter_out_of_range")
            );
        }
        let argon2i = ARGON2.replace("argon2id", "argon2i");
        assert!(check_password_hash("argon2", &argon2i).is_ok());
        assert_eq!(
            err("argon2", &argon2i.replace("t=3", "t=2")).0,
            "argon2 parameter t=2 is outside WorkOS's range 3..=5 for argon2i"
        );
        assert!(check_password_hash(
            "argon2",
            &ARGON2.replace("argon2id", "argon2d").replace("t=3", "t=1")
        )
        .is_ok());
    }

    #[test]
    fn argon2_structure() {
        assert_eq!(
            err("argon2", &ARGON2.replace("$v=19", "")),
            (
                "malformed argon2 hash: missing version field v=19".into(),
                "malformed_hash"
            )
        );
        assert_eq!(
            err("argon2", &ARGON2.replace("argon2id", "argon2x")).1,
            "malformed_hash"
        );
        assert_eq!(
            err("argon2", &ARGON2.replace(",p=4", "")).1,
            "malformed_hash"
        );
        assert_eq!(
            err("argon2", &ARGON2.replace("p=4", "p=4,keyid=AAAA")).1,
            "malformed_hash"
        );
        assert_eq!(err("argon2", &ARGON2[1..]).1, "malformed_hash");
        assert_eq!(
            err("argon2", &ARGON2[..ARGON2.len() - 1]).1,
            "malformed_hash"
        );
    }

    #[test]
    fn messages_never_contain_salt_or_hash() {
        let variants = [
            SCRYPT.replace("kl=64", "kl=63"),
            SCRYPT.replace("$AAECAwQFBgcICQoLDA0ODw$", "$AAEC*wQFBgcICQoLDA0ODw$"),
            SCRYPT.replace("$11kKy", "$11kK_"),
            PBKDF2_256.replace("i=600000", "i=5"),
        ];
        for h in variants {
            let msg = check_password_hash(
                if h.starts_with("$scrypt") {
                    "scrypt"
                } else {
                    "pbkdf2"
                },
                &h,
            )
            .unwrap_err()
            .to_string();
            for secret in ["AAEC", "11kK", "7xdx", "*", "_"] {
                assert!(!msg.contains(secret), "{msg}");
            }
        }
    }
}
