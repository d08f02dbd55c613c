//! [`TotpSecret`]: a TOTP shared secret checked as RFC 4648 Base32 before it
//! is sent (the original sent anything). Input is trimmed, spaces used to
//! group it (`JBSW Y3DP …`) are removed, letters are upper-cased (Base32 is
//! case-insensitive) and `=` padding is dropped. Nothing here ever formats
//! the secret: `Debug` is redacted and errors name only positions and
//! lengths.

/// Why a secret is not Base32. Messages never contain the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("totp_secret is empty")]
    Empty,
    #[error("totp_secret is not valid Base32: character {position} is not A-Z or 2-7")]
    InvalidCharacter { position: usize },
    #[error("totp_secret is not valid Base32: '=' padding may only end the secret")]
    MisplacedPadding,
    #[error("totp_secret is not valid Base32: {length} characters do not encode whole bytes")]
    InvalidLength { length: usize },
}

/// A validated, normalized Base32 secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(String);

impl TotpSecret {
    /// Checks and normalizes `raw`.
    pub fn parse(raw: &str) -> Result<Self, SecretError> {
        let compact: String = raw.trim().chars().filter(|c| *c != ' ').collect();
        let unpadded = compact.trim_end_matches('=');
        if unpadded.is_empty() {
            return Err(SecretError::Empty);
        }
        let mut out = String::with_capacity(unpadded.len());
        for (i, c) in unpadded.chars().enumerate() {
            match c.to_ascii_uppercase() {
                u @ ('A'..='Z' | '2'..='7') => out.push(u),
                '=' => return Err(SecretError::MisplacedPadding),
                _ => return Err(SecretError::InvalidCharacter { position: i + 1 }),
            }
        }
        // 8 characters carry 5 bytes; a tail of 1, 3 or 6 characters
        // cannot come from any byte string.
        if matches!(out.len() % 8, 1 | 3 | 6) {
            return Err(SecretError::InvalidLength { length: out.len() });
        }
        Ok(Self(out))
    }

    /// The secret, for the request body only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces any occurrence of the secret (ASCII case-insensitive) in
    /// `text` with `[redacted]`, for messages echoed by the API.
    pub fn redact(&self, text: &str) -> String {
        let needle = self.0.as_bytes();
        if needle.len() < 4 {
            return text.to_string();
        }
        let upper = text.to_ascii_uppercase();
        let hay = upper.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut i = 0;
        while i + needle.len() <= hay.len() {
            if &hay[i..i + needle.len()] == needle && text.is_char_boundary(i) {
                out.push_str(&text[last..i]);
                out.push_str("[redacted]");
                i += needle.len();
                last = i;
            } else {
                i += 1;
            }
        }
        out.push_str(&text[last..]);
        out
    }
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_valid_secrets() {
        let s = TotpSecret::parse("  jbsw y3dp ehpk 3pxp  ").unwrap();
        assert_eq!(s.expose(), "JBSWY3DPEHPK3PXP");
        assert_eq!(TotpSecret::parse("MZXW6===").unwrap().expose(), "MZXW6");
        assert_eq!(format!("{s:?}"), "TotpSecret(<redacted>)");
    }

    #[test]
    fn rejects_non_base32_without_echoing() {
        let e = TotpSecret::parse("SECRET123").unwrap_err();
        assert_eq!(e, SecretError::InvalidCharacter { position: 7 });
        assert!(!e.to_string().contains("SECRET"));
        assert_eq!(TotpSecret::parse("   ").unwrap_err(), SecretError::Empty);
        assert_eq!(
            TotpSecret::parse("AB=CD").unwrap_err(),
            SecretError::MisplacedPadding
        );
        assert_eq!(
            TotpSecret::parse("ABC").unwrap_err(),
            SecretError::InvalidLength { length: 3 }
        );
        assert!(TotpSecret::parse("ABCDEFG0").is_err());
    }

    #[test]
    fn redacts_echoed_secrets() {
        let s = TotpSecret::parse("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(
            s.redact("bad secret jbswy3dpehpk3pxp!"),
            "bad secret [redacted]!"
        );
        assert_eq!(s.redact("no echo"), "no echo");
    }
}
