//! `firebase-scrypt`: Firebase's modified scrypt with its project parameters, in
//! either of the two encodings seen in WorkOS material (workos-api.md §3):
//!
//! 1. export form (what WorkOS's migration tool emits, see [`super::encode_firebase_scrypt`]):
//!    `$firebase-scrypt$hash=<b64>$salt=<b64>$sk=<b64>$ss=<b64 or empty>$r=<int>$m=<int>`,
//!    fields in exactly that order; standard base64, padding optional, URL-safe `-`/`_` tolerated;
//! 2. strict PHC form: `$firebase-scrypt$v=1$r=..,m=..,ss=..,sk=..$<B64 salt>$<B64 hash>`.
//!
//! Both: hash, salt and sk non-empty, ss may be empty, r in 1..=8, m in 1..=14.
//!
//! In the PHC form the version, salt and hash are parsed by `password-hash`, but the
//! parameter field is split here: a real Firebase signer key is 64 bytes (86 B64
//! characters) and `password-hash` caps parameter values at 64 characters.

use base64::{
    alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine as _,
};
use password_hash::PasswordHash;

use super::{malformed, out_of_range, param_error, shown, HashError, HashType};

const K: HashType = HashType::FirebaseScrypt;
const PREFIX: &str = "$firebase-scrypt$";
const FORMS: &str = "expected $firebase-scrypt$hash=..$salt=..$sk=..$ss=..$r=..$m=.. or $firebase-scrypt$v=1$r=..,m=..,ss=..,sk=..$salt$hash";

/// Standard alphabet, `=` padding optional (URL-safe input is mapped first).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(super) fn check(hash: &str) -> Result<(), HashError> {
    let rest = hash
        .strip_prefix(PREFIX)
        .ok_or_else(|| malformed(K, FORMS))?;
    if rest.starts_with("hash=") {
        check_export_form(rest)
    } else {
        check_phc_form(rest)
    }
}

fn check_export_form(rest: &str) -> Result<(), HashError> {
    let names = ["hash", "salt", "sk", "ss", "r", "m"];
    let fields: Vec<&str> = rest.split('$').collect();
    if fields.len() != names.len() {
        return Err(malformed(
            K,
            format!(
                "expected 6 $-separated fields hash, salt, sk, ss, r, m; found {}",
                fields.len()
            ),
        ));
    }
    let mut values = [""; 6];
    for ((field, name), slot) in fields.iter().zip(names).zip(&mut values) {
        *slot = field
            .strip_prefix(name)
            .and_then(|v| v.strip_prefix('='))
            .ok_or_else(|| {
                malformed(
                    K,
                    format!("expected field {name}= here (order hash, salt, sk, ss, r, m)"),
                )
            })?;
    }
    let [h, salt, sk, ss, r, m] = values;
    for (name, value) in [("hash", h), ("salt", salt), ("sk", sk), ("ss", ss)] {
        let decoded = LENIENT
            .decode(value.replace('-', "+").replace('_', "/"))
            .map_err(|_| malformed(K, format!("{name} is not valid base64")))?;
        if decoded.is_empty() && name != "ss" {
            return Err(malformed(K, format!("{name} is empty")));
        }
    }
    check_rounds_mem(number("r", r)?, number("m", m)?)
}

fn check_phc_form(rest: &str) -> Result<(), HashError> {
    let mut fields: Vec<&str> = rest.split('$').collect();
    let version = match fields.first() {
        Some(v) if v.starts_with("v=") && !v.contains(',') => Some(fields.remove(0)),
        _ => None,
    };
    let [params, salt, hash] = fields[..] else {
        return Err(malformed(K, FORMS));
    };
    // Version, salt and hash through password-hash; the parameter list is split below.
    let reduced = match version {
        Some(v) => format!("{PREFIX}{v}${salt}${hash}"),
        None => format!("{PREFIX}{salt}${hash}"),
    };
    let ph = PasswordHash::new(&reduced).map_err(|_| {
        malformed(
            K,
            "version, salt or hash is not a valid PHC field (B64: standard base64 without padding)",
        )
    })?;
    if let Some(v) = ph.version.filter(|&v| v != 1) {
        return Err(param_error(K, format!("parameter v={v} must be 1")));
    }
    let mut salt_buf = [0u8; 64];
    let salt = ph.salt.ok_or_else(|| malformed(K, "missing salt"))?;
    if salt
        .decode_b64(&mut salt_buf)
        .map_or(true, |s| s.is_empty())
    {
        return Err(malformed(K, "the salt is not valid non-empty B64"));
    }
    if ph.hash.is_none() {
        return Err(malformed(K, "missing hash"));
    }

    let mut found: [Option<&str>; 4] = [None; 4];
    let names = ["r", "m", "ss", "sk"];
    for pair in params.split(',') {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| malformed(K, "parameters must be name=value pairs r, m, ss, sk"))?;
        let slot = names
            .iter()
            .position(|n| *n == name)
            .map(|i| &mut found[i])
            .ok_or_else(|| {
                malformed(
                    K,
                    format!("unexpected parameter {}; expected r,m,ss,sk", shown(name)),
                )
            })?;
        if slot.replace(value).is_some() {
            return Err(malformed(K, format!("parameter {name} is repeated")));
        }
    }
    let [Some(r), Some(m), Some(ss), Some(sk)] = found else {
        let missing = names
            .iter()
            .zip(found)
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| *n);
        return Err(malformed(
            K,
            format!(
                "missing parameter {}",
                missing.collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    for (name, value) in [("ss", ss), ("sk", sk)] {
        let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(value)
            .map_err(|_| {
                malformed(
                    K,
                    format!("{name} is not valid B64 (standard base64 without padding)"),
                )
            })?;
        if decoded.is_empty() && name == "sk" {
            return Err(malformed(K, "sk is empty"));
        }
    }
    check_rounds_mem(number("r", r)?, number("m", m)?)
}

/// A plain decimal (ASCII digits only, fits in u32).
fn number(name: &str, value: &str) -> Result<u32, HashError> {
    value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse().ok())
        .flatten()
        .ok_or_else(|| malformed(K, format!("{name} is not a decimal integer")))
}

fn check_rounds_mem(r: u32, m: u32) -> Result<(), HashError> {
    if !(1..=8).contains(&r) {
        return Err(out_of_range(K, "r", r, "1..=8"));
    }
    if !(1..=14).contains(&m) {
        return Err(out_of_range(K, "m", m, "1..=14"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::hashes::check_password_hash;

    const EXPORT: &str = "$firebase-scrypt$hash=aGFzaA==$salt=c2FsdA==$sk=a2V5$ss=c2Vw$r=8$m=14";
    const PHC: &str = "$firebase-scrypt$v=1$r=8,m=14,ss=Bw,sk=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA$42xEC+ixf3L2lw$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ";

    fn err(h: &str) -> (String, &'static str) {
        let e = check_password_hash("firebase-scrypt", h).unwrap_err();
        (e.to_string(), e.rule())
    }

    #[test]
    fn accepts_both_forms() {
        for h in [
            EXPORT,
            "$firebase-scrypt$hash=aGFzaA$salt=c2FsdA$sk=a2V5$ss=$r=1$m=1",
            "$firebase-scrypt$hash=-_-_$salt=c2FsdA==$sk=a2V5$ss=Bw==$r=8$m=14",
            PHC,
            &PHC.replace("$v=1", ""),
            &PHC.replace("r=8,m=14,ss=Bw,sk=", "ss=,m=14,r=8,sk="),
        ] {
            assert!(check_password_hash("firebase-scrypt", h).is_ok(), "{h}");
        }
    }

    #[test]
    fn export_form_structure() {
        assert_eq!(err(&EXPORT.replace("$m=14", "")).1, "malformed_hash");
        assert_eq!(err(&EXPORT.replace("$sk=a2V5$ss=c2Vw", "$ss=c2Vw$sk=a2V5")).0, "malformed firebase-scrypt hash: expected field sk= here (order hash, salt, sk, ss, r, m)");
        assert_eq!(
            err(&EXPORT.replace("salt=c2FsdA==", "salt=")).0,
            "malformed firebase-scrypt hash: salt is empty"
        );
        assert_eq!(err(&EXPORT.replace("sk=a2V5", "sk=")).1, "malformed_hash");
        assert_eq!(
            err(&EXPORT.replace("hash=aGFzaA==", "hash=aGFza")).0,
            "malformed firebase-scrypt hash: hash is not valid base64"
        );
        assert_eq!(err(&EXPORT.replace("r=8", "r=+8")).1, "malformed_hash");
        assert_eq!(err(&EXPORT[..EXPORT.len() - 5]).1, "malformed_hash");
    }

    #[test]
    fn rounds_and_mem_cost_ranges() {
        for (from, to, msg) in [
            (
                "r=8",
                "r=9",
                "firebase-scrypt parameter r=9 is outside WorkOS's range 1..=8",
            ),
            (
                "r=8",
                "r=0",
                "firebase-scrypt parameter r=0 is outside WorkOS's range 1..=8",
            ),
            (
                "m=14",
                "m=15",
                "firebase-scrypt parameter m=15 is outside WorkOS's range 1..=14",
            ),
            (
                "m=14",
                "m=0",
                "firebase-scrypt parameter m=0 is outside WorkOS's range 1..=14",
            ),
        ] {
            assert_eq!(
                err(&EXPORT.replace(from, to)),
                (msg.into(), "hash_parameter_out_of_range")
            );
            assert_eq!(
                err(&PHC.replace(from, to)),
                (msg.into(), "hash_parameter_out_of_range")
            );
        }
        assert_eq!(
            err(&PHC.replace("v=1", "v=2")).1,
            "hash_parameter_out_of_range"
        );
    }

    #[test]
    fn phc_form_structure() {
        assert_eq!(err(&PHC.replace(",sk=", ",xx=")).1, "malformed_hash");
        assert_eq!(
            err(&PHC.replace("ss=Bw,", "")).0,
            "malformed firebase-scrypt hash: missing parameter ss"
        );
        assert_eq!(err(&PHC.replace("ss=Bw", "ss=Bw==")).1, "malformed_hash");
        assert_eq!(err(&PHC.replace("r=8,", "r=8,r=8,")).1, "malformed_hash");
        assert_eq!(err(&PHC[..PHC.rfind('$').unwrap()]).1, "malformed_hash");
        assert_eq!(err(&PHC[..PHC.len() - 1]).1, "malformed_hash");
        assert_eq!(
            err(&PHC.replace("$firebase-scrypt$", "$firebase_scrypt$")).1,
            "malformed_hash"
        );
        assert_eq!(
            err(&PHC.replace("$firebase-scrypt$", "$scrypt$")).1,
            "malformed_hash"
        );
    }

    #[test]
    fn messages_never_contain_values() {
        for h in [
            EXPORT.replace("aGFzaA==", "aGF*aA=="),
            PHC.replace("sk=jxspr", "sk=jx!pr"),
            PHC.replace("$42xEC", "$4*xEC"),
        ] {
            let msg = err(&h).0;
            for s in ["aGF", "jx", "42x", "*", "!"] {
                assert!(!msg.contains(s), "{msg}");
            }
        }
    }
}
