//! Encoders that turn other systems' password exports into WorkOS hash strings:
//! Firebase scrypt parameters → `$firebase-scrypt$...` (export-and-package.md §9.2),
//! Django `pbkdf2_sha256$...` → WorkOS `$pbkdf2$...`.

use base64::{
    alphabet,
    engine::{
        general_purpose::STANDARD_NO_PAD, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig,
    },
    Engine as _,
};

use super::{check_password_hash, malformed, param_error, HashError, HashType};

/// Builds `$firebase-scrypt$hash=‹H›$salt=‹S›$sk=‹K›$ss=‹P›$r=‹rounds›$m=‹mem_cost›`.
///
/// Only the URL-safe alphabet is normalised (`-`→`+`, `_`→`/`); padding is kept as
/// given and nothing is decoded or trimmed (export-and-package.md §9.2). An empty
/// salt separator gives `$ss=$`.
pub fn encode_firebase_scrypt(
    hash_b64: &str,
    salt_b64: &str,
    signer_key_b64: &str,
    salt_separator_b64: &str,
    rounds: u32,
    mem_cost: u32,
) -> String {
    let n = |s: &str| s.replace('-', "+").replace('_', "/");
    format!(
        "$firebase-scrypt$hash={}$salt={}$sk={}$ss={}$r={rounds}$m={mem_cost}",
        n(hash_b64),
        n(salt_b64),
        n(signer_key_b64),
        n(salt_separator_b64)
    )
}

/// Converts Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` into WorkOS's
/// `$pbkdf2$i=<iterations>,d=sha256$<B64(salt bytes)>$<B64(hash)>` and checks the result,
/// so iteration counts below WorkOS's 600,000 give `hash_parameter_out_of_range`.
/// Django's salt is a text string: the PHC salt is B64 of its UTF-8 bytes.
pub fn pbkdf2_from_django(s: &str) -> Result<String, HashError> {
    const K: HashType = HashType::Pbkdf2;
    const PADDING_OPTIONAL: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let expected = "expected Django pbkdf2_sha256$<iterations>$<salt>$<base64 hash>";
    let [algorithm, iterations, salt, hash] = s.split('$').collect::<Vec<_>>()[..] else {
        return Err(malformed(K, expected));
    };
    let digest = match algorithm {
        "pbkdf2_sha256" => "sha256",
        "pbkdf2_sha1" => return Err(param_error(K, "digest \"sha1\" is not sha256 or sha512")),
        _ => return Err(malformed(K, expected)),
    };
    if iterations.is_empty()
        || !iterations.bytes().all(|b| b.is_ascii_digit())
        || iterations.starts_with('0')
    {
        return Err(malformed(
            K,
            "Django iteration count is not a decimal integer",
        ));
    }
    if salt.is_empty() {
        return Err(malformed(K, "Django salt is empty"));
    }
    let hash = PADDING_OPTIONAL
        .decode(hash)
        .map_err(|_| malformed(K, "Django hash is not valid base64"))?;
    let out = format!(
        "$pbkdf2$i={iterations},d={digest}${}${}",
        STANDARD_NO_PAD.encode(salt.as_bytes()),
        STANDARD_NO_PAD.encode(hash)
    );
    check_password_hash(K.as_str(), &out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firebase_encoding_matches_reference_example() {
        assert_eq!(
            encode_firebase_scrypt("aGFzaA==", "c2FsdA==", "a2V5", "c2Vw", 8, 14),
            "$firebase-scrypt$hash=aGFzaA==$salt=c2FsdA==$sk=a2V5$ss=c2Vw$r=8$m=14"
        );
    }

    #[test]
    fn firebase_encoding_maps_url_safe_alphabet_and_keeps_empty_separator() {
        let s = encode_firebase_scrypt("a-b_", "-_==", "k_-", "", 4, 10);
        assert_eq!(
            s,
            "$firebase-scrypt$hash=a+b/$salt=+/==$sk=k/+$ss=$r=4$m=10"
        );
        let ok = encode_firebase_scrypt("q_HlNuFY", "4U3eTYM4LLpvYl-v", "xv9syqrT", "", 8, 14);
        assert_eq!(
            check_password_hash("firebase-scrypt", &ok),
            Ok(HashType::FirebaseScrypt)
        );
    }

    #[test]
    fn django_conversion() {
        // Django 4.2 default iterations; 32-byte hash, padded base64 as Django writes it.
        let django = "pbkdf2_sha256$600000$T2ptRFh6MXhDQVh2SWZuUGdp$xXiyTisD7390NijyCv5ICMhFW4eDuMlzypRoLGLyIvA=";
        assert_eq!(
            pbkdf2_from_django(django).unwrap(),
            "$pbkdf2$i=600000,d=sha256$VDJwdFJGaDZNWGhEUVZoMlNXWnVVR2Rw$xXiyTisD7390NijyCv5ICMhFW4eDuMlzypRoLGLyIvA"
        );
    }

    #[test]
    fn django_errors() {
        let rule = |s: &str| pbkdf2_from_django(s).unwrap_err().rule();
        let e = pbkdf2_from_django(
            "pbkdf2_sha256$260000$abcdefghijkl$xXiyTisD7390NijyCv5ICMhFW4eDuMlzypRoLGLyIvA=",
        )
        .unwrap_err();
        assert_eq!(e.rule(), "hash_parameter_out_of_range");
        assert_eq!(
            e.to_string(),
            "pbkdf2 parameter i=260000 is outside WorkOS's range 600000..=1000000 for sha256"
        );
        assert_eq!(
            rule("pbkdf2_sha1$600000$abcdefghijkl$xXiyTisD7390NijyCv5ICMhFW4eDuMlzypRoLGLyIvA="),
            "hash_parameter_out_of_range"
        );
        for bad in [
            "",
            "argon2$argon2id$v=19$m=102400,t=2,p=8$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
            "pbkdf2_sha256$600000$abcdefghijkl",
            "pbkdf2_sha256$6e5$abcdefghijkl$xXiyTisD7390NijyCv5ICMhFW4eDuMlzypRoLGLyIvA=",
            "pbkdf2_sha256$600000$$xXiyTisD7390NijyCv5ICMhFW4eDuMlzypRoLGLyIvA=",
            "pbkdf2_sha256$600000$abcdefghijkl$xXiy*isD7390NijyCv5ICMhFW4eDuMlzypRoLGLyIvA=",
        ] {
            let e = pbkdf2_from_django(bad).unwrap_err();
            assert_eq!(e.rule(), "malformed_hash", "{bad}");
            assert!(!e.to_string().contains("abcdefgh") && !e.to_string().contains("xXiy"));
        }
    }
}
