//! Low-level writers shared by the format generators: minimal CSV quoting,
//! JSON string escaping, integer formatting and the alphabets used for ids and
//! hashes. Everything appends to a reusable `Vec<u8>` row buffer.

use super::rng::Rng;

/// bcrypt's own base64 alphabet (not the standard one).
pub(crate) const BCRYPT_B64: &[u8; 64] =
    b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// `[A-Za-z0-9]`.
pub(crate) const ALNUM: &[u8; 62] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// RFC 4648 base32 alphabet (TOTP secrets).
pub(crate) const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Crockford base32 as used by ULIDs (WorkOS ids such as `org_01H...`).
pub(crate) const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Append a CSV field, quoted only if it contains `,` `"` `\n` or `\r`
/// (embedded `"` doubled).
#[inline]
pub(crate) fn csv_field(out: &mut Vec<u8>, value: &[u8]) {
    if !crate::package::csv_writer::needs_quotes(value) {
        out.extend_from_slice(value);
        return;
    }
    out.push(b'"');
    for &b in value {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Append a JSON string literal (with the surrounding quotes). Non-ASCII is
/// written as raw UTF-8, which JSON allows.
#[inline]
pub(crate) fn json_str(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    json_escape_into(out, value.as_bytes());
    out.push(b'"');
}

/// Escape the bytes of a UTF-8 string for a JSON string body.
pub(crate) fn json_escape_into(out: &mut Vec<u8>, value: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in value {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            _ => out.push(b),
        }
    }
}

/// Append the decimal form of `n`.
#[inline]
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// Append `n` zero-padded to at least `width` digits.
pub(crate) fn push_u64_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let start = out.len();
    push_u64(out, n);
    let len = out.len() - start;
    if len < width {
        let pad = width - len;
        out.splice(start..start, std::iter::repeat_n(b'0', pad));
    }
}

/// bcrypt-style base64 (bcrypt alphabet, no padding) of `bytes`.
fn bcrypt_b64(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.chunks(3) {
        let b0 = u32::from(chunk[0]);
        let b1 = u32::from(chunk.get(1).copied().unwrap_or(0));
        let b2 = u32::from(chunk.get(2).copied().unwrap_or(0));
        let n = (b0 << 16) | (b1 << 8) | b2;
        let chars = chunk.len() + 1;
        for k in 0..chars {
            let idx = (n >> (18 - 6 * k)) & 0x3f;
            out.push(BCRYPT_B64[idx as usize]);
        }
    }
}

/// Append a canonical bcrypt string `$2b$10$` + 22-char salt + 31-char hash
/// (60 chars in all). Salt and hash are encodings of 16 and 23 random bytes,
/// so strict decoders accept them too.
pub(crate) fn push_bcrypt(out: &mut Vec<u8>, rng: &mut Rng) {
    let mut raw = [0u8; 39];
    rng.fill_bytes(&mut raw);
    out.extend_from_slice(b"$2b$10$");
    bcrypt_b64(out, &raw[..16]);
    bcrypt_b64(out, &raw[16..]);
}

/// Append standard base64 (with padding) of `len` random bytes.
pub(crate) fn push_b64_random(out: &mut Vec<u8>, rng: &mut Rng, len: usize, pad: bool) {
    use base64::Engine as _;
    let mut raw = [0u8; 96];
    let len = len.min(raw.len());
    rng.fill_bytes(&mut raw[..len]);
    let mut enc = [0u8; 128];
    let engine = if pad {
        &base64::engine::general_purpose::STANDARD
    } else {
        &base64::engine::general_purpose::STANDARD_NO_PAD
    };
    // 96 bytes encode to 128 chars, so the buffer is always large enough.
    match engine.encode_slice(&raw[..len], &mut enc) {
        Ok(n) => out.extend_from_slice(&enc[..n]),
        Err(_) => out.extend_from_slice(engine.encode(&raw[..len]).as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(v: &str) -> String {
        let mut out = Vec::new();
        csv_field(&mut out, v.as_bytes());
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn csv_quoting_is_minimal() {
        assert_eq!(csv("plain"), "plain");
        assert_eq!(csv(""), "");
        assert_eq!(csv("José"), "José");
        assert_eq!(csv(" lead"), " lead");
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv("a\nb"), "\"a\nb\"");
        assert_eq!(csv("a\rb"), "\"a\rb\"");
    }

    #[test]
    fn json_escaping_round_trips() {
        let s = "Zoë \"Q\" \\ back\nline\u{1}";
        let mut out = Vec::new();
        json_str(&mut out, s);
        let back: String = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(back, s);
    }

    #[test]
    fn integers() {
        let mut out = Vec::new();
        push_u64(&mut out, 0);
        out.push(b' ');
        push_u64(&mut out, u64::MAX);
        out.push(b' ');
        push_u64_padded(&mut out, 42, 5);
        out.push(b' ');
        push_u64_padded(&mut out, 123456, 3);
        assert_eq!(out, b"0 18446744073709551615 00042 123456");
    }

    #[test]
    fn bcrypt_strings_are_canonical() {
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let mut out = Vec::new();
            push_bcrypt(&mut out, &mut rng);
            assert_eq!(out.len(), 60);
            assert!(out.starts_with(b"$2b$10$"));
            assert!(out[7..].iter().all(|b| BCRYPT_B64.contains(b)));
            // Last salt char carries 2 bits, last hash char 4 bits.
            assert!(b".Oeu".contains(&out[7 + 21]));
            let last_idx = BCRYPT_B64.iter().position(|&c| c == out[59]).unwrap_or(1);
            assert_eq!(last_idx % 4, 0);
        }
    }

    #[test]
    fn base64_lengths() {
        let mut rng = Rng::new(5);
        let mut out = Vec::new();
        push_b64_random(&mut out, &mut rng, 64, true);
        assert_eq!(out.len(), 88);
        out.clear();
        push_b64_random(&mut out, &mut rng, 12, true);
        assert_eq!(out.len(), 16);
        out.clear();
        push_b64_random(&mut out, &mut rng, 16, false);
        assert_eq!(out.len(), 22);
    }
}
