//! Clerk `password_hasher` + `password_digest` → a WorkOS `password_hash_type`
//! + `password_hash` (workos-api.md §3), or the reason why not.
//!
//! Digest formats are Clerk's documented import formats (Backend API
//! `CreateUser.password_hasher`), which its dashboard export carries back:
//!
//! | Clerk hasher | digest | WorkOS |
//! |---|---|---|
//! | `bcrypt` | `$2a$`/`$2b$`/`$2y$` modular crypt | `bcrypt`, unchanged |
//! | `argon2i`, `argon2id` | PHC `$argon2id$v=19$m=..,t=..,p=..$salt$hash` (`v=19` assumed when absent) | `argon2`, m 4096..=262144, t 1..=5 (argon2i 3..=5), p 1..=8 |
//! | `pbkdf2_sha256` | `pbkdf2_sha256$<iterations>$<base64 salt>$<base64 hash>` | `pbkdf2` `d=sha256`, 600,000 ≤ i ≤ 1,000,000 |
//! | `pbkdf2_sha256_django` | Django's `pbkdf2_sha256$<iterations>$<text salt>$<base64 hash>` | same, via [`pbkdf2_from_django`] |
//! | `scrypt_firebase` | `<hash>$<salt>$<signer key>$<salt separator>$<rounds>$<memory cost>` (base64 values), or `<hash>$<salt>` with the project parameters given as options | `firebase-scrypt`, r 1..=8, m 1..=14 |
//!
//! Everything else (`md5`, `sha256`, `phpass`, `pbkdf2_sha1`,
//! `bcrypt_sha256_django`, `scrypt_werkzeug`, `awscognito`, …) has no WorkOS
//! equivalent. Reasons never contain the digest, salt or keys.

use base64::{
    alphabet,
    engine::{
        general_purpose::STANDARD_NO_PAD, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig,
    },
    Engine as _,
};

use crate::hashes::{check_password_hash, encode_firebase_scrypt, pbkdf2_from_django, HashType};

/// Standard alphabet, padding optional, non-canonical trailing bits accepted
/// (what Go's non-strict decoder, and so Clerk, accepts).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes standard or URL-safe base64, padded or not.
fn b64_decode(s: &str) -> Option<Vec<u8>> {
    LENIENT.decode(s.replace('-', "+").replace('_', "/")).ok()
}

/// The Firebase project's scrypt parameters (`--scrypt-*` options).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScryptParams {
    /// Base64 signer key.
    pub signer_key: Option<String>,
    /// Base64 salt separator (empty when not given).
    pub salt_separator: Option<String>,
    pub rounds: Option<u32>,
    pub memory_cost: Option<u32>,
}

impl ScryptParams {
    /// Checks the options as a whole; messages name options, never values.
    pub fn check(&self) -> Result<(), String> {
        let given = [
            self.signer_key.is_some(),
            self.rounds.is_some(),
            self.memory_cost.is_some(),
        ];
        let any = given.iter().any(|g| *g) || self.salt_separator.is_some();
        if any && !given.iter().all(|g| *g) {
            return Err("--scrypt-signer-key, --scrypt-rounds and --scrypt-memory-cost must be given together (--scrypt-salt-separator is optional)".into());
        }
        if let Some(sk) = &self.signer_key {
            if b64_decode(sk.trim()).is_none_or(|b| b.is_empty()) {
                return Err("--scrypt-signer-key is not valid non-empty base64".into());
            }
        }
        if let Some(ss) = &self.salt_separator {
            if b64_decode(ss.trim()).is_none() {
                return Err("--scrypt-salt-separator is not valid base64".into());
            }
        }
        if let Some(r) = self.rounds {
            if !(1..=8).contains(&r) {
                return Err(format!(
                    "--scrypt-rounds {r} is outside WorkOS's range 1..=8"
                ));
            }
        }
        if let Some(m) = self.memory_cost {
            if !(1..=14).contains(&m) {
                return Err(format!(
                    "--scrypt-memory-cost {m} is outside WorkOS's range 1..=14"
                ));
            }
        }
        Ok(())
    }

    fn is_set(&self) -> bool {
        self.signer_key.is_some()
    }
}

/// What happens to one user's password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordOutcome {
    /// No digest: the user has no password (no warning).
    None,
    /// Converted to a WorkOS hash.
    Hash { hash: String, kind: HashType },
    /// The hasher has no WorkOS equivalent.
    Unsupported,
    /// A supported hasher, but this digest cannot be converted (the reason).
    Rejected(String),
}

/// Converts one Clerk digest. `hasher` and `digest` are already trimmed.
pub fn convert_password(hasher: &str, digest: &str, scrypt: &ScryptParams) -> PasswordOutcome {
    if digest.is_empty() {
        return PasswordOutcome::None;
    }
    let ok = |kind: HashType, hash: String| match check_password_hash(kind.as_str(), &hash) {
        Ok(kind) => PasswordOutcome::Hash { hash, kind },
        Err(e) => PasswordOutcome::Rejected(e.to_string()),
    };
    match hasher.to_ascii_lowercase().as_str() {
        "" => PasswordOutcome::Rejected("password_hasher is empty".into()),
        "bcrypt" => ok(HashType::Bcrypt, digest.to_string()),
        variant @ ("argon2i" | "argon2id") => match argon2(variant, digest) {
            Ok(hash) => ok(HashType::Argon2, hash),
            Err(reason) => PasswordOutcome::Rejected(reason),
        },
        "pbkdf2_sha256" => match pbkdf2_clerk(digest) {
            Ok(hash) => ok(HashType::Pbkdf2, hash),
            Err(reason) => PasswordOutcome::Rejected(reason),
        },
        "pbkdf2_sha256_django" => match pbkdf2_from_django(digest) {
            Ok(hash) => PasswordOutcome::Hash {
                hash,
                kind: HashType::Pbkdf2,
            },
            Err(e) => PasswordOutcome::Rejected(e.to_string()),
        },
        "scrypt_firebase" => match firebase(digest, scrypt) {
            Ok(hash) => ok(HashType::FirebaseScrypt, hash),
            Err(reason) => PasswordOutcome::Rejected(reason),
        },
        _ => PasswordOutcome::Unsupported,
    }
}

/// `$argon2id$[v=19$]m=..,t=..,p=..$salt$hash`; adds `v=19` when absent.
fn argon2(variant: &str, digest: &str) -> Result<String, String> {
    let prefix = format!("${variant}$");
    let Some(rest) = digest.strip_prefix(&prefix) else {
        return Err(format!("the digest is not a {prefix} PHC string"));
    };
    if rest.starts_with("v=") {
        Ok(digest.to_string())
    } else {
        Ok(format!("{prefix}v=19${rest}"))
    }
}

/// Clerk's `pbkdf2_sha256$<iterations>$<base64 salt>$<base64 hash>`.
fn pbkdf2_clerk(digest: &str) -> Result<String, String> {
    let parts: Vec<&str> = digest.split('$').collect();
    let [algorithm, iterations, salt, hash] = parts[..] else {
        return Err("expected pbkdf2_sha256$<iterations>$<base64 salt>$<base64 hash>".into());
    };
    if algorithm != "pbkdf2_sha256" {
        return Err("expected pbkdf2_sha256$<iterations>$<base64 salt>$<base64 hash>".into());
    }
    if iterations.is_empty()
        || !iterations.bytes().all(|b| b.is_ascii_digit())
        || iterations.starts_with('0')
    {
        return Err("the iteration count is not a decimal integer".into());
    }
    let salt = b64_decode(salt)
        .filter(|s| !s.is_empty())
        .ok_or("the salt is not valid non-empty base64")?;
    let hash = b64_decode(hash)
        .filter(|h| !h.is_empty())
        .ok_or("the hash is not valid non-empty base64")?;
    Ok(format!(
        "$pbkdf2$i={iterations},d=sha256${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    ))
}

/// Clerk's `scrypt_firebase` digest → `$firebase-scrypt$…` (export form).
fn firebase(digest: &str, opts: &ScryptParams) -> Result<String, String> {
    let parts: Vec<&str> = digest.split('$').collect();
    let (hash, salt, sk, ss, rounds, mem) = match parts[..] {
        [hash, salt, sk, ss, r, m] => {
            let number = |name: &str, v: &str| {
                v.parse::<u32>()
                    .ok()
                    .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or(format!("the {name} segment is not a decimal integer"))
            };
            let (r, m) = (number("rounds", r)?, number("memory cost", m)?);
            if opts.is_set() && !same_project(opts, sk, ss, r, m) {
                return Err("the digest's scrypt project parameters differ from the --scrypt-* options".into());
            }
            (hash, salt, sk.to_string(), ss.to_string(), r, m)
        }
        [hash, salt] => {
            let (Some(sk), Some(r), Some(m)) = (&opts.signer_key, opts.rounds, opts.memory_cost) else {
                return Err("the digest has no scrypt project parameters; pass --scrypt-signer-key, --scrypt-salt-separator, --scrypt-rounds and --scrypt-memory-cost".into());
            };
            let ss = opts.salt_separator.clone().unwrap_or_default();
            (hash, salt, sk.trim().to_string(), ss.trim().to_string(), r, m)
        }
        _ => {
            return Err(format!(
                "expected 6 $-separated segments hash$salt$signer_key$salt_separator$rounds$memory_cost, found {}",
                parts.len()
            ))
        }
    };
    for (name, value, may_be_empty) in [
        ("hash", hash, false),
        ("salt", salt, false),
        ("signer key", &sk, false),
        ("salt separator", &ss, true),
    ] {
        match b64_decode(value) {
            Some(v) if !v.is_empty() || may_be_empty => {}
            _ => return Err(format!("the {name} is not valid non-empty base64")),
        }
    }
    Ok(encode_firebase_scrypt(hash, salt, &sk, &ss, rounds, mem))
}

/// True when the digest's project parameters equal the options (bytes compared).
fn same_project(opts: &ScryptParams, sk: &str, ss: &str, r: u32, m: u32) -> bool {
    let bytes = |s: &str| b64_decode(s.trim());
    opts.rounds == Some(r)
        && opts.memory_cost == Some(m)
        && opts.signer_key.as_deref().map(bytes) == Some(bytes(sk))
        && bytes(opts.salt_separator.as_deref().unwrap_or("")) == bytes(ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BCRYPT: &str = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
    const FB_HASH: &str =
        "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==";
    const FB_SALT: &str = "42xEC+ixf3L2lw==";
    const FB_SK: &str =
        "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==";

    fn conv(h: &str, d: &str) -> PasswordOutcome {
        convert_password(h, d, &ScryptParams::default())
    }

    fn reason(o: PasswordOutcome) -> String {
        match o {
            PasswordOutcome::Rejected(r) => r,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn bcrypt_and_unsupported() {
        assert_eq!(
            conv("BCRYPT", BCRYPT),
            PasswordOutcome::Hash {
                hash: BCRYPT.into(),
                kind: HashType::Bcrypt
            }
        );
        assert!(reason(conv("bcrypt", &BCRYPT[..50])).starts_with("malformed bcrypt hash"));
        assert_eq!(
            conv("md5", "5f4dcc3b5aa765d61d8327deb882cf99"),
            PasswordOutcome::Unsupported
        );
        assert_eq!(conv("md5", ""), PasswordOutcome::None);
        assert_eq!(conv("", ""), PasswordOutcome::None);
        assert_eq!(reason(conv("", BCRYPT)), "password_hasher is empty");
    }

    #[test]
    fn argon2_variants() {
        let id = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
        assert_eq!(
            conv("argon2id", id),
            PasswordOutcome::Hash {
                hash: id.into(),
                kind: HashType::Argon2
            }
        );
        let no_v = id.replace("v=19$", "");
        assert_eq!(
            conv("argon2id", &no_v),
            PasswordOutcome::Hash {
                hash: id.into(),
                kind: HashType::Argon2
            }
        );
        let i = id.replace("argon2id", "argon2i").replace("t=3", "t=2");
        assert_eq!(
            reason(conv("argon2i", &i)),
            "argon2 parameter t=2 is outside WorkOS's range 3..=5 for argon2i"
        );
        assert_eq!(
            reason(conv("argon2i", id)),
            "the digest is not a $argon2i$ PHC string"
        );
        assert_eq!(
            reason(conv("argon2id", &id.replace("m=65536", "m=64"))),
            "argon2 parameter m=64 is outside WorkOS's range 4096..=262144"
        );
    }

    #[test]
    fn pbkdf2_forms() {
        // salt bytes 00..0f, hash from workos-api.md's vector (format only).
        let clerk = "pbkdf2_sha256$600000$AAECAwQFBgcICQoLDA0ODw==$7xdxRO7JQgy8EJPSqLNEqSvFBtDU7JwCjdGfgyTYweY=";
        assert_eq!(
            conv("pbkdf2_sha256", clerk),
            PasswordOutcome::Hash {
                hash: "$pbkdf2$i=600000,d=sha256$AAECAwQFBgcICQoLDA0ODw$7xdxRO7JQgy8EJPSqLNEqSvFBtDU7JwCjdGfgyTYweY"
                    .into(),
                kind: HashType::Pbkdf2
            }
        );
        let r = reason(conv("pbkdf2_sha256", &clerk.replace("600000", "260000")));
        assert_eq!(
            r,
            "pbkdf2 parameter i=260000 is outside WorkOS's range 600000..=1000000 for sha256"
        );
        assert!(reason(conv("pbkdf2_sha256", "pbkdf2_sha256$600000$*$x")).contains("salt"));
        let django =
            "pbkdf2_sha256$600000$abcdefghijkl$7xdxRO7JQgy8EJPSqLNEqSvFBtDU7JwCjdGfgyTYweY=";
        match conv("pbkdf2_sha256_django", django) {
            PasswordOutcome::Hash {
                hash,
                kind: HashType::Pbkdf2,
            } => {
                assert!(
                    hash.starts_with("$pbkdf2$i=600000,d=sha256$YWJjZGVmZ2hpamts$"),
                    "{hash}"
                )
            }
            other => panic!("{other:?}"),
        }
        for o in [
            conv("pbkdf2_sha256", "pbkdf2_sha256$1$abc"),
            conv("pbkdf2_sha1", django),
        ] {
            let msg = format!("{o:?}");
            assert!(!msg.contains("abcdef") && !msg.contains("7xdx"), "{msg}");
        }
    }

    #[test]
    fn scrypt_firebase_digests() {
        let full = format!("{FB_HASH}${FB_SALT}${FB_SK}$Bw==$8$14");
        let expected =
            format!("$firebase-scrypt$hash={FB_HASH}$salt={FB_SALT}$sk={FB_SK}$ss=Bw==$r=8$m=14");
        assert_eq!(
            conv("scrypt_firebase", &full),
            PasswordOutcome::Hash {
                hash: expected.clone(),
                kind: HashType::FirebaseScrypt
            }
        );
        let short = format!("{FB_HASH}${FB_SALT}");
        assert!(reason(conv("scrypt_firebase", &short))
            .starts_with("the digest has no scrypt project parameters"));
        let opts = ScryptParams {
            signer_key: Some(FB_SK.into()),
            salt_separator: Some("Bw==".into()),
            rounds: Some(8),
            memory_cost: Some(14),
        };
        assert!(opts.check().is_ok());
        assert_eq!(
            convert_password("scrypt_firebase", &short, &opts),
            PasswordOutcome::Hash {
                hash: expected.clone(),
                kind: HashType::FirebaseScrypt
            }
        );
        assert_eq!(
            convert_password("scrypt_firebase", &full, &opts),
            PasswordOutcome::Hash {
                hash: expected,
                kind: HashType::FirebaseScrypt
            }
        );
        let other = ScryptParams {
            rounds: Some(7),
            ..opts.clone()
        };
        assert!(reason(convert_password("scrypt_firebase", &full, &other)).contains("differ"));
        let r = reason(conv(
            "scrypt_firebase",
            &format!("{FB_HASH}${FB_SALT}${FB_SK}$Bw==$8$15"),
        ));
        assert_eq!(
            r,
            "firebase-scrypt parameter m=15 is outside WorkOS's range 1..=14"
        );
        for bad in [format!("{FB_HASH}$*$x$y$8$14"), "a$b$c".to_string()] {
            let r = reason(conv("scrypt_firebase", &bad));
            assert!(!r.contains("lSrf") && !r.contains("jxspr"), "{r}");
        }
    }

    #[test]
    fn scrypt_option_checks() {
        let partial = ScryptParams {
            signer_key: Some("a2V5".into()),
            ..Default::default()
        };
        assert!(partial
            .check()
            .unwrap_err()
            .contains("must be given together"));
        let bad = ScryptParams {
            signer_key: Some("***".into()),
            rounds: Some(8),
            memory_cost: Some(14),
            ..Default::default()
        };
        assert_eq!(
            bad.check().unwrap_err(),
            "--scrypt-signer-key is not valid non-empty base64"
        );
        let range = ScryptParams {
            signer_key: Some("a2V5".into()),
            rounds: Some(9),
            memory_cost: Some(14),
            ..Default::default()
        };
        assert!(range.check().unwrap_err().contains("1..=8"));
        assert!(ScryptParams::default().check().is_ok());
    }
}
