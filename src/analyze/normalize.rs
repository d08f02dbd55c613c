//! Error-message normalization (import.md §4): dynamic values become
//! placeholders so messages that differ only in an email, a UUID, a WorkOS id
//! or a long number fall into one group.
//!
//! The original uses five JavaScript regular expressions; this crate has no
//! regex engine, so each is a hand-written scanner with the same semantics
//! (ASCII `\b` word boundaries, leftmost match, greedy quantifiers with the
//! backtracking the patterns allow), applied in the same order:
//! 1. `\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b` → `<EMAIL>`
//! 2. `\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b` (case-insensitive) → `<UUID>`
//! 3. `\b(org|user)_[A-Za-z0-9]{10,}` → `<org_ID>` / `<user_ID>`
//! 4. `\b\d{5,}\b` → `<NUMBER>`
//! 5. whitespace runs (JavaScript `\s`) → one space, then trimmed.

/// Normalizes one `errorMessage` into its group pattern.
pub fn normalize_message(message: &str) -> String {
    let m = replace_emails(message);
    let m = replace_uuids(&m);
    let m = replace_workos_ids(&m);
    let m = replace_long_numbers(&m);
    collapse_whitespace(&m)
}

/// JavaScript `\w` (ASCII only).
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// JavaScript `\b` at byte offset `at` of `s`.
fn is_boundary(s: &[u8], at: usize) -> bool {
    let before = at > 0 && is_word(s[at - 1]);
    let after = at < s.len() && is_word(s[at]);
    before != after
}

fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// End of the domain part of an email whose `@` is at `at`, if the rest of
/// the pattern (`[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b`) matches there.
fn email_domain_end(s: &[u8], at: usize) -> Option<usize> {
    let start = at + 1;
    let mut run_end = start;
    while run_end < s.len() && is_domain_char(s[run_end]) {
        run_end += 1;
    }
    // Greedy domain part: try the rightmost `.` first; the dot needs at
    // least one domain character before it.
    let mut dot = run_end;
    while dot > start + 1 {
        dot -= 1;
        if s[dot] != b'.' {
            continue;
        }
        let mut tld_end = dot + 1;
        while tld_end < run_end && s[tld_end].is_ascii_alphabetic() {
            tld_end += 1;
        }
        // Only the longest letter run can end on a word boundary (a shorter
        // one is followed by a letter).
        if tld_end - (dot + 1) >= 2 && (tld_end == s.len() || !is_word(s[tld_end])) {
            return Some(tld_end);
        }
    }
    None
}

fn replace_emails(message: &str) -> String {
    let s = message.as_bytes();
    let mut out = String::with_capacity(message.len());
    let mut copied = 0;
    let mut i = 0;
    while i < s.len() {
        if !is_local_char(s[i]) {
            i += 1;
            continue;
        }
        // The local part is the whole run of local characters up to `@`
        // (it cannot backtrack past a character that is not `@`).
        let mut end = i;
        while end < s.len() && is_local_char(s[end]) {
            end += 1;
        }
        if end < s.len() && s[end] == b'@' {
            if let Some(domain_end) = email_domain_end(s, end) {
                // Leftmost start inside the run that sits on a boundary.
                if let Some(start) = (i..end).find(|&p| is_boundary(s, p)) {
                    out.push_str(&message[copied..start]);
                    out.push_str("<EMAIL>");
                    copied = domain_end;
                    i = domain_end;
                    continue;
                }
            }
        }
        i = end.max(i + 1);
    }
    out.push_str(&message[copied..]);
    out
}

fn replace_uuids(message: &str) -> String {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    const LEN: usize = 36;
    let s = message.as_bytes();
    let matches_at = |p: usize| -> bool {
        if p + LEN > s.len() || !is_boundary(s, p) || !is_boundary(s, p + LEN) {
            return false;
        }
        let mut at = p;
        for (g, &n) in GROUPS.iter().enumerate() {
            if g > 0 {
                if s[at] != b'-' {
                    return false;
                }
                at += 1;
            }
            if !s[at..at + n].iter().all(u8::is_ascii_hexdigit) {
                return false;
            }
            at += n;
        }
        true
    };
    let mut out = String::with_capacity(message.len());
    let mut copied = 0;
    let mut i = 0;
    while i < s.len() {
        if matches_at(i) {
            out.push_str(&message[copied..i]);
            out.push_str("<UUID>");
            i += LEN;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&message[copied..]);
    out
}

fn replace_workos_ids(message: &str) -> String {
    let s = message.as_bytes();
    let mut out = String::with_capacity(message.len());
    let mut copied = 0;
    let mut i = 0;
    while i < s.len() {
        let prefix = if s[i..].starts_with(b"org_") {
            Some(("org", 4))
        } else if s[i..].starts_with(b"user_") {
            Some(("user", 5))
        } else {
            None
        };
        if let Some((kind, len)) = prefix {
            if is_boundary(s, i) {
                let mut end = i + len;
                while end < s.len() && s[end].is_ascii_alphanumeric() {
                    end += 1;
                }
                if end - (i + len) >= 10 {
                    out.push_str(&message[copied..i]);
                    out.push('<');
                    out.push_str(kind);
                    out.push_str("_ID>");
                    copied = end;
                    i = end;
                    continue;
                }
            }
        }
        i += 1;
    }
    out.push_str(&message[copied..]);
    out
}

fn replace_long_numbers(message: &str) -> String {
    let s = message.as_bytes();
    let mut out = String::with_capacity(message.len());
    let mut copied = 0;
    let mut i = 0;
    while i < s.len() {
        if !s[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < s.len() && s[end].is_ascii_digit() {
            end += 1;
        }
        // `\b` before: the run starts at i only if the previous byte is not a
        // word character; a shorter run starting later has a digit before it.
        if is_boundary(s, i) && end - i >= 5 && (end == s.len() || !is_word(s[end])) {
            out.push_str(&message[copied..i]);
            out.push_str("<NUMBER>");
            copied = end;
        }
        i = end;
    }
    out.push_str(&message[copied..]);
    out
}

/// JavaScript `\s`: WhiteSpace and LineTerminator code points.
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

fn collapse_whitespace(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut pending_space = false;
    for c in message.chars() {
        if is_js_space(c) {
            pending_space = true;
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize_message as n;

    #[test]
    fn emails() {
        assert_eq!(
            n("User alice@example.com already exists"),
            "User <EMAIL> already exists"
        );
        assert_eq!(n("x a.b+c@sub.example.co.uk."), "x <EMAIL>.");
        assert_eq!(n("..b@x.com"), "..<EMAIL>");
        assert_eq!(n("-bar@x.com"), "-<EMAIL>");
        // The TLD must end on a word boundary.
        assert_eq!(n("a@b.co_x"), "a@b.co_x");
        assert_eq!(n("a@b.c"), "a@b.c");
        assert_eq!(n("a@b.com1"), "a@b.com1");
        // Backtracking to an earlier dot.
        assert_eq!(n("a@b.com.1x"), "<EMAIL>.1x");
        assert_eq!(n("one@x.io two@y.io"), "<EMAIL> <EMAIL>");
        // A non-ASCII letter is not part of the local part.
        assert_eq!(n("café@x.io"), "café@x.io");
        assert_eq!(n("ca é.b@x.io"), "ca é.<EMAIL>");
    }

    #[test]
    fn uuids_ids_numbers() {
        assert_eq!(
            n("id 123E4567-e89b-12d3-a456-426614174000 gone"),
            "id <UUID> gone"
        );
        // Not a UUID (no boundary before it), but its last group is a number.
        assert_eq!(
            n("x123e4567-e89b-12d3-a456-426614174000"),
            "x123e4567-e89b-12d3-a456-<NUMBER>"
        );
        assert_eq!(
            n("Organization not found: 'org_01HXYZABCDEF'."),
            "Organization not found: '<org_ID>'."
        );
        assert_eq!(
            n("user_01ABCDEFGHJ and org_short"),
            "<user_ID> and org_short"
        );
        assert_eq!(n("xorg_01ABCDEFGHJ"), "xorg_01ABCDEFGHJ");
        assert_eq!(
            n("row 123456 and 1234 and 12345a and 98765"),
            "row <NUMBER> and 1234 and 12345a and <NUMBER>"
        );
    }

    #[test]
    fn whitespace() {
        assert_eq!(
            n("The following requirement must be met:\n\temail_invalid\n"),
            "The following requirement must be met: email_invalid"
        );
        assert_eq!(n("  a \u{a0}\u{feff} b  "), "a b");
        assert_eq!(n(""), "");
    }
}
