//! WorkOS's size limits on one user, checked by every source on each
//! canonical `users.csv` row before it is written (Auth0 in all three modes,
//! Cognito, Clerk, Firebase, and the legacy single-CSV modes, which are made
//! from those packages or, for `export-cognito`'s loose mode, call it
//! themselves).
//!
//! - An identity cell — `email`, `first_name`, `last_name` (and so any
//!   display name that feeds them) or `external_id` — over
//!   [`MAX_FIELD_BYTES`] (64 KiB) skips the user: `skipped_users.jsonl` gets
//!   the reason `‹field›_too_large` and an `error` text giving the size,
//!   never the content (it may be 50 MB).
//! - Metadata that breaks WorkOS's limits (at most [`MAX_METADATA_KEYS`]
//!   keys, keys of at most [`MAX_METADATA_KEY_CHARS`] characters, values of
//!   at most [`MAX_METADATA_VALUE_CHARS`] characters *as the importer sends
//!   them*: nulls dropped, numbers, booleans, arrays and objects stringified
//!   as compact JSON, see `crate::import::row::flatten_metadata`) gives one
//!   `metadata_over_limits` warning per user naming the user and the limits
//!   broken; the row is kept.
//! - An `external_id` over [`MAX_EXTERNAL_ID_CHARS`] characters (but within
//!   64 KiB) gives an `external_id_too_long` warning; the row is kept
//!   (docs/decisions.md, "Oversized fields").
//!
//! Cheap by design, since it runs on every row of multi-million-user
//! exports: byte lengths are compared first (a string of n bytes has at most
//! n characters) and characters are counted only past a limit; metadata JSON
//! text is scanned once, in place, without building a map.

/// The largest identity cell (email, names, external id) exported: 64 KiB.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
/// WorkOS: at most 50 metadata keys (`maxProperties`).
pub const MAX_METADATA_KEYS: usize = 50;
/// WorkOS: metadata keys of at most 40 characters.
pub const MAX_METADATA_KEY_CHARS: usize = 40;
/// WorkOS: metadata values of at most 600 characters.
pub const MAX_METADATA_VALUE_CHARS: usize = 600;
/// WorkOS: `external_id` of at most 128 characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 128;

/// Warning code for metadata over WorkOS's limits.
pub const METADATA_OVER_LIMITS: &str = "metadata_over_limits";
/// Warning code for an `external_id` over 128 characters.
pub const EXTERNAL_ID_TOO_LONG: &str = "external_id_too_long";

/// Identifiers are cut to this many characters in messages.
const SHOWN_CHARS: usize = 128;

/// An identity cell of `users.csv` that the size check covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Email,
    FirstName,
    LastName,
    ExternalId,
}

impl UserField {
    /// The `users.csv` column name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::ExternalId => "external_id",
        }
    }

    /// The `skipped_users.jsonl` reason when this cell is too large.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Email => "email_too_large",
            Self::FirstName => "first_name_too_large",
            Self::LastName => "last_name_too_large",
            Self::ExternalId => "external_id_too_large",
        }
    }
}

/// A cell over [`MAX_FIELD_BYTES`]: which one and its size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OversizedField {
    pub field: UserField,
    pub bytes: usize,
}

impl OversizedField {
    /// The skip reason, naming the field (e.g. `first_name_too_large`).
    pub fn reason(&self) -> &'static str {
        self.field.reason()
    }

    /// The `error` text of the skipped record: the field and its size.
    pub fn error(&self) -> String {
        format!(
            "{} is {} bytes, over the {} bytes one field may hold; WorkOS would refuse the user",
            self.field.name(),
            self.bytes,
            MAX_FIELD_BYTES
        )
    }
}

/// The identity cells of one canonical `users.csv` row.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserCells<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub external_id: &'a str,
}

impl UserCells<'_> {
    /// The first cell (in `users.csv` order) over [`MAX_FIELD_BYTES`].
    pub fn oversized(&self) -> Option<OversizedField> {
        // The common case in four comparisons.
        if self.email.len() <= MAX_FIELD_BYTES
            && self.first_name.len() <= MAX_FIELD_BYTES
            && self.last_name.len() <= MAX_FIELD_BYTES
            && self.external_id.len() <= MAX_FIELD_BYTES
        {
            return None;
        }
        [
            (UserField::Email, self.email),
            (UserField::FirstName, self.first_name),
            (UserField::LastName, self.last_name),
            (UserField::ExternalId, self.external_id),
        ]
        .into_iter()
        .find(|(_, v)| v.len() > MAX_FIELD_BYTES)
        .map(|(field, v)| OversizedField {
            field,
            bytes: v.len(),
        })
    }

    /// The user as messages name them: external id, else email, cut to
    /// 128 characters.
    fn who(&self) -> String {
        let id = if self.external_id.is_empty() {
            self.email
        } else {
            self.external_id
        };
        cut(id, SHOWN_CHARS)
    }
}

/// `value` when it may go into a record as it is (within
/// [`MAX_FIELD_BYTES`]), else `None`: skipped and warning records never
/// carry an oversized value.
pub fn shown(value: &str) -> Option<&str> {
    (value.len() <= MAX_FIELD_BYTES).then_some(value)
}

/// `s` cut to `max` characters, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// Characters of `s` when over `limit` (counted only then), else `None`.
fn chars_over(s: &str, limit: usize) -> Option<usize> {
    if s.len() <= limit {
        return None;
    }
    let n = s.chars().count();
    (n > limit).then_some(n)
}

/// What one user's metadata breaks of WorkOS's limits; empty when nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataCheck {
    /// Keys sent (null values are dropped by the importer).
    pub keys: usize,
    /// Keys over 40 characters: how many, and the first (cut) with its length.
    pub long_keys: usize,
    pub first_long_key: Option<(String, usize)>,
    /// Values over 600 characters: how many, and the first one's key (cut)
    /// with its length.
    pub long_values: usize,
    pub first_long_value: Option<(String, usize)>,
}

impl MetadataCheck {
    /// Counts one key whose value, as sent, has `value_chars` characters
    /// (the caller may pass any upper bound when it is within 600).
    pub fn entry(&mut self, key: &str, key_chars: usize, value_chars: usize) {
        self.keys += 1;
        if key_chars > MAX_METADATA_KEY_CHARS {
            self.long_keys += 1;
            if self.first_long_key.is_none() {
                self.first_long_key = Some((cut(key, MAX_METADATA_KEY_CHARS), key_chars));
            }
        }
        if value_chars > MAX_METADATA_VALUE_CHARS {
            self.long_values += 1;
            if self.first_long_value.is_none() {
                self.first_long_value = Some((cut(key, MAX_METADATA_KEY_CHARS), value_chars));
            }
        }
    }

    /// Counts one key with a string value (both measured here, cheaply).
    pub fn string_entry(&mut self, key: &str, value: &str) {
        if key.len() <= MAX_METADATA_KEY_CHARS && value.len() <= MAX_METADATA_VALUE_CHARS {
            self.keys += 1;
            return;
        }
        let key_chars = chars_over(key, MAX_METADATA_KEY_CHARS).unwrap_or(0);
        let value_chars = chars_over(value, MAX_METADATA_VALUE_CHARS).unwrap_or(0);
        self.entry(key, key_chars, value_chars);
    }

    pub fn within_limits(&self) -> bool {
        self.keys <= MAX_METADATA_KEYS && self.long_keys == 0 && self.long_values == 0
    }

    /// The limits broken, e.g. `51 keys (at most 50); value of "photo_url"
    /// is 700 characters (at most 600)`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.keys > MAX_METADATA_KEYS {
            parts.push(format!("{} keys (at most {MAX_METADATA_KEYS})", self.keys));
        }
        if let Some((key, n)) = &self.first_long_key {
            let more = match self.long_keys {
                0 | 1 => String::new(),
                k => format!(" and {} more key(s) too long", k - 1),
            };
            parts.push(format!(
                "key \"{key}\" is {n} characters (at most {MAX_METADATA_KEY_CHARS}){more}"
            ));
        }
        if let Some((key, n)) = &self.first_long_value {
            let more = match self.long_values {
                0 | 1 => String::new(),
                k => format!(" and {} more value(s) too long", k - 1),
            };
            parts.push(format!(
                "value of \"{key}\" is {n} characters (at most {MAX_METADATA_VALUE_CHARS}){more}"
            ));
        }
        parts.join("; ")
    }
}

/// Checks a metadata cell (a JSON object as text; "" for none) in one
/// pass, without parsing it into a map. Text that is not a JSON object is
/// not checked here (the importer reports `Invalid metadata JSON`).
pub fn check_metadata_json(text: &str) -> MetadataCheck {
    let mut check = MetadataCheck::default();
    // Too short to break any limit: a 41-character key alone needs 46 bytes.
    if text.len() <= MAX_METADATA_KEY_CHARS + 4 {
        return check;
    }
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return check;
    }
    i += 1;
    loop {
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'"') {
            break;
        }
        let Some((key_end, key_chars)) = scan_string(b, i) else {
            break;
        };
        let key = text.get(i + 1..key_end - 1).unwrap_or_default();
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            break;
        }
        i = skip_ws(b, i + 1);
        let Some((end, value_chars, is_null)) = scan_value(b, i) else {
            break;
        };
        if !is_null {
            check.entry(key, key_chars, value_chars);
        }
        i = skip_ws(b, end);
        if b.get(i) != Some(&b',') {
            break;
        }
        i += 1;
    }
    check
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// A JSON string starting at `b[i] == '"'`: the index after its closing
/// quote and its decoded length in characters (an escape is one).
fn scan_string(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let mut j = i + 1;
    let mut chars = 0;
    loop {
        match *b.get(j)? {
            b'"' => return Some((j + 1, chars)),
            b'\\' => {
                j += if b.get(j + 1) == Some(&b'u') { 6 } else { 2 };
                chars += 1;
            }
            c => {
                // Count every byte that starts a UTF-8 character.
                chars += usize::from(c & 0xC0 != 0x80);
                j += 1;
            }
        }
    }
}

/// A JSON value starting at `b[i]`: the index after it, its length in
/// characters as the importer sends it (a string's decoded text; any other
/// value's compact JSON text, as written), and whether it is `null`.
fn scan_value(b: &[u8], i: usize) -> Option<(usize, usize, bool)> {
    match *b.get(i)? {
        b'"' => scan_string(b, i).map(|(end, n)| (end, n, false)),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            let mut chars = 0;
            loop {
                match *b.get(j)? {
                    b'"' => {
                        let (end, _) = scan_string(b, j)?;
                        chars += b[j..end].iter().filter(|&&c| c & 0xC0 != 0x80).count();
                        j = end;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some((j + 1, chars + 1, false));
                        }
                    }
                    b' ' | b'\t' | b'\n' | b'\r' => {
                        j += 1;
                        continue;
                    }
                    _ => {}
                }
                chars += 1;
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while let Some(&c) = b.get(j) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                j += 1;
            }
            Some((j, j - i, &b[i..j] == b"null"))
        }
    }
}

/// A warning about one user's limits: its code and message (each source
/// adds its own identity keys to the record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitWarning {
    pub code: &'static str,
    pub message: String,
}

/// The warnings of a row kept despite WorkOS's limits: metadata over them
/// (`metadata_over_limits`) and an external id over 128 characters
/// (`external_id_too_long`). Empty (no allocation) for a row within limits.
pub fn row_warnings(cells: &UserCells<'_>, metadata: &MetadataCheck) -> Vec<LimitWarning> {
    let mut out = Vec::new();
    if metadata.within_limits() && cells.external_id.len() <= MAX_EXTERNAL_ID_CHARS {
        return out;
    }
    if !metadata.within_limits() {
        out.push(LimitWarning {
            code: METADATA_OVER_LIMITS,
            message: format!(
                "Metadata of user {} is over WorkOS's limits: {}. WorkOS refuses it at import (invalid_metadata); shorten or drop those keys.",
                cells.who(),
                metadata.describe()
            ),
        });
    }
    if let Some(n) = chars_over(cells.external_id, MAX_EXTERNAL_ID_CHARS) {
        out.push(LimitWarning {
            code: EXTERNAL_ID_TOO_LONG,
            message: format!(
                "External id of user {} is {n} characters (at most {MAX_EXTERNAL_ID_CHARS}); WorkOS refuses it at import unless it is shortened.",
                cut(if cells.email.is_empty() { cells.external_id } else { cells.email }, SHOWN_CHARS)
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_cells_over_64_kib_are_named_without_content() {
        let big = "x".repeat(MAX_FIELD_BYTES + 1);
        let edge = "y".repeat(MAX_FIELD_BYTES);
        let mut cells = UserCells {
            email: "a@x.com",
            first_name: &edge,
            last_name: &big,
            external_id: &big,
        };
        let o = cells.oversized().unwrap();
        assert_eq!(o.field, UserField::LastName);
        assert_eq!(o.reason(), "last_name_too_large");
        assert!(o.error().contains("last_name is 65537 bytes"));
        assert!(!o.error().contains("xxx"));
        cells.last_name = "";
        assert_eq!(cells.oversized().unwrap().reason(), "external_id_too_large");
        cells.external_id = "u1";
        assert_eq!(cells.oversized(), None);
        assert_eq!(shown(&big), None);
        assert_eq!(shown("a"), Some("a"));
    }

    #[test]
    fn metadata_text_is_measured_as_the_importer_sends_it() {
        let ok = r#"{"firebase_uid":"u1","n":12345,"nested":{"a":[1,2]},"gone":null}"#;
        let c = check_metadata_json(ok);
        assert_eq!(c.keys, 3);
        assert!(c.within_limits());

        let long_value = format!(r#"{{"photo_url":"{}","b":"x"}}"#, "é".repeat(601));
        let c = check_metadata_json(&long_value);
        assert_eq!(c.first_long_value, Some(("photo_url".into(), 601)));
        assert!(!c.within_limits());

        // Escapes count as one character; 600 exactly is fine.
        let escaped = format!(r#"{{"k":"{}"}}"#, "\\n".repeat(600));
        assert!(check_metadata_json(&escaped).within_limits());

        // A nested value is sent as its compact JSON text.
        let nested = format!(r#"{{"provider_info":[{{"p":"{}"}}]}}"#, "a".repeat(595));
        let c = check_metadata_json(&nested);
        assert_eq!(c.first_long_value, Some(("provider_info".into(), 605)));

        let key = "k".repeat(41);
        let c = check_metadata_json(&format!(r#"{{"{key}":"v","{key}2":"v"}}"#));
        assert_eq!(c.long_keys, 2);
        assert_eq!(c.first_long_key.as_ref().map(|(_, n)| *n), Some(41));
        assert!(c.describe().contains("and 1 more key(s) too long"));

        let many: Vec<String> = (0..51).map(|i| format!(r#""k{i}":"v""#)).collect();
        let c = check_metadata_json(&format!("{{{}}}", many.join(",")));
        assert_eq!(c.keys, 51);
        assert_eq!(c.describe(), "51 keys (at most 50)");
        // 50 keys plus one null: the null is not sent.
        let mut fifty: Vec<String> = (0..50).map(|i| format!(r#""k{i}":1"#)).collect();
        fifty.push(r#""z":null"#.into());
        assert!(check_metadata_json(&format!("{{{}}}", fifty.join(","))).within_limits());

        for junk in ["", "[1,2]", "{oops", r#"{"a":"unterminated"#] {
            assert!(check_metadata_json(junk).within_limits(), "{junk}");
        }
    }

    #[test]
    fn row_warnings_name_the_user_and_the_limit() {
        let mut m = MetadataCheck::default();
        m.string_entry("phone", &"1".repeat(700));
        let long_id = "i".repeat(129);
        let cells = UserCells {
            email: "a@x.com",
            external_id: &long_id,
            ..UserCells::default()
        };
        let w = row_warnings(&cells, &m);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].code, METADATA_OVER_LIMITS);
        assert!(w[0].message.contains(&format!("user {}…", "i".repeat(128))));
        assert!(w[0]
            .message
            .contains("value of \"phone\" is 700 characters (at most 600)"));
        assert_eq!(w[1].code, EXTERNAL_ID_TOO_LONG);
        assert!(w[1].message.contains("user a@x.com is 129 characters"));
        let fine = UserCells {
            email: "a@x.com",
            external_id: "u1",
            ..UserCells::default()
        };
        assert!(row_warnings(&fine, &MetadataCheck::default()).is_empty());
    }
}
