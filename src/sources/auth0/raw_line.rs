//! One export-job line (§4.6) read in place: the fields the user mapping
//! reads ([`super::bulk::EXPORT_FIELDS`]) as borrowed slices of the line
//! ([`Raw`]), the entries of `user_metadata` / `app_metadata` and the
//! `provider` / `connection` / `isSocial` of each identity, without building
//! a `serde_json::Value` or copying a string.
//!
//! The scanner is **stricter** than serde_json: every line it accepts is one
//! serde_json reads as a JSON object with the same fields and values (the
//! general path of [`super::job_line`]). Anything unusual makes it give up
//! (`None`) and the caller takes the general path, which decides: invalid
//! UTF-8, control characters or surrogate escapes in strings, escaped keys
//! (at the top level, in the metadata objects and identities), a mapped
//! field or metadata key given twice, metadata objects of more than
//! [`MAX_ENTRIES`] keys, nesting deeper than [`MAX_DEPTH`], and, inside the
//! mapped fields, numbers serde_json might refuse as out of range.

use std::borrow::Cow;

use serde_json::{Number, Value};

use super::mapping::js;

/// Positions of the mapped fields in [`RawLine::fields`] (the order of
/// [`super::bulk::EXPORT_FIELDS`]).
pub mod field {
    pub const USER_ID: usize = 0;
    pub const EMAIL: usize = 1;
    pub const EMAIL_VERIFIED: usize = 2;
    pub const GIVEN_NAME: usize = 3;
    pub const FAMILY_NAME: usize = 4;
    pub const NAME: usize = 5;
    pub const USER_METADATA: usize = 6;
    pub const APP_METADATA: usize = 7;
    pub const IDENTITIES: usize = 8;
    pub const BLOCKED: usize = 9;
    pub const CREATED_AT: usize = 10;
    pub const UPDATED_AT: usize = 11;
    pub const LAST_LOGIN: usize = 12;
    pub const LOGINS_COUNT: usize = 13;
}

/// Metadata objects with more keys than this take the general path.
pub const MAX_ENTRIES: usize = 64;
/// Nesting deeper than this takes the general path (serde_json refuses
/// 128 levels).
pub const MAX_DEPTH: u32 = 64;
/// Keys of one nested object compared for duplicates; an object with more
/// is not [`Raw::Object`]`{ canonical: true }` (so it is re-read in full).
const DUP_CHECKED_KEYS: usize = 16;

/// A JSON value of a job line, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raw<'a> {
    Null,
    Bool(bool),
    /// The number's text; `simple` for an integer of at most 15 digits other
    /// than `-0` (JavaScript prints it exactly as written).
    Number {
        text: &'a str,
        simple: bool,
    },
    /// The string with its quotes; `escaped` when it holds a `\` escape (its
    /// text is then decoded by serde_json when needed).
    Str {
        quoted: &'a str,
        escaped: bool,
    },
    /// An array or object; `canonical` when `JSON.stringify(JSON.parse(text))`
    /// is `text` itself: no whitespace, no escapes, only simple numbers, no
    /// array-index or duplicate keys.
    Array {
        text: &'a str,
        canonical: bool,
    },
    Object {
        text: &'a str,
        canonical: bool,
    },
}

impl<'a> Raw<'a> {
    /// The string's text when it has no escapes (`None` for any other value).
    pub fn plain_str(self) -> Option<&'a str> {
        match self {
            Raw::Str {
                quoted,
                escaped: false,
            } => quoted.get(1..quoted.len() - 1),
            _ => None,
        }
    }

    /// A string's decoded text; `None` for other values.
    pub fn str_text(self) -> Option<Cow<'a, str>> {
        match self {
            Raw::Str { escaped: false, .. } => self.plain_str().map(Cow::Borrowed),
            Raw::Str { quoted, .. } => serde_json::from_str::<String>(quoted).ok().map(Cow::Owned),
            _ => None,
        }
    }

    /// The value as serde_json reads it (`None` if it would not: the caller
    /// then takes the general path).
    pub fn to_value(self) -> Option<Value> {
        match self {
            Raw::Null => Some(Value::Null),
            Raw::Bool(b) => Some(Value::Bool(b)),
            Raw::Number { text, .. }
            | Raw::Str { quoted: text, .. }
            | Raw::Array { text, .. }
            | Raw::Object { text, .. } => serde_json::from_str(text).ok(),
        }
    }

    /// A non-simple number as serde_json reads it.
    fn number(text: &str) -> Option<Number> {
        serde_json::from_str::<Number>(text).ok()
    }

    /// JavaScript truthiness ([`js::truthy`]).
    pub fn truthy(self) -> Option<bool> {
        Some(match self {
            Raw::Null => false,
            Raw::Bool(b) => b,
            Raw::Number { text, simple: true } => text != "0",
            Raw::Number { text, .. } => js::truthy(Some(&Value::Number(Self::number(text)?))),
            Raw::Str { quoted, .. } => quoted.len() > 2,
            Raw::Array { .. } | Raw::Object { .. } => true,
        })
    }

    /// A CSV cell as the original normalises it ([`js::cell_text`]).
    pub fn cell_text(self) -> Option<Cow<'a, str>> {
        Some(match self {
            Raw::Null => Cow::Borrowed(""),
            Raw::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
            Raw::Number { text, simple: true } => Cow::Borrowed(text),
            Raw::Str { .. } => self.str_text()?,
            Raw::Object { .. } => Cow::Borrowed("[object Object]"),
            Raw::Number { .. } | Raw::Array { .. } => {
                Cow::Owned(js::cell_text(Some(&self.to_value()?)))
            }
        })
    }

    /// Appends compact `JSON.stringify(value)` ([`js::push_js_json`]).
    pub fn push_js_json(self, out: &mut String) -> Option<()> {
        match self {
            Raw::Null => out.push_str("null"),
            Raw::Bool(b) => out.push_str(if b { "true" } else { "false" }),
            Raw::Number { text, simple: true } => out.push_str(text),
            Raw::Str {
                quoted,
                escaped: false,
            } => out.push_str(quoted),
            Raw::Array {
                text,
                canonical: true,
            }
            | Raw::Object {
                text,
                canonical: true,
            } => out.push_str(text),
            other => js::push_js_json(out, &other.to_value()?),
        }
        Some(())
    }
}

/// `provider`, `connection` and `isSocial` of one `identities` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawIdentity<'a> {
    /// Not an object (JSON.stringify writes `{}` for it).
    NotObject,
    Object {
        provider: Option<Raw<'a>>,
        connection: Option<Raw<'a>>,
        is_social: Option<Raw<'a>>,
    },
}

impl<'a> RawIdentity<'a> {
    /// The value of `provider`, `connection` or `isSocial`.
    pub fn get(&self, key: &str) -> Option<Raw<'a>> {
        match (self, key) {
            (RawIdentity::Object { provider, .. }, "provider") => *provider,
            (RawIdentity::Object { connection, .. }, "connection") => *connection,
            (RawIdentity::Object { is_social, .. }, "isSocial") => *is_social,
            _ => None,
        }
    }
}

/// The mapped fields of one job line (`None` = absent).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RawLine<'a> {
    /// By [`field`] position.
    pub fields: [Option<Raw<'a>>; 14],
    /// Entries of `user_metadata` / `app_metadata` when it is an object.
    pub user_metadata: Vec<(&'a str, Raw<'a>)>,
    pub app_metadata: Vec<(&'a str, Raw<'a>)>,
    /// Items of `identities` when it is an array.
    pub identities: Vec<RawIdentity<'a>>,
}

impl<'a> RawLine<'a> {
    pub fn get(&self, at: usize) -> Option<Raw<'a>> {
        self.fields.get(at).copied().flatten()
    }
}

/// The [`field`] position of a top-level key.
fn field_at(key: &str) -> Option<usize> {
    use field::*;
    Some(match key {
        "user_id" => USER_ID,
        "email" => EMAIL,
        "email_verified" => EMAIL_VERIFIED,
        "given_name" => GIVEN_NAME,
        "family_name" => FAMILY_NAME,
        "name" => NAME,
        "user_metadata" => USER_METADATA,
        "app_metadata" => APP_METADATA,
        "identities" => IDENTITIES,
        "blocked" => BLOCKED,
        "created_at" => CREATED_AT,
        "updated_at" => UPDATED_AT,
        "last_login" => LAST_LOGIN,
        "logins_count" => LOGINS_COUNT,
        _ => return None,
    })
}

/// Reads a trimmed job line; `None` when it is not one the scanner is sure
/// of (see the module docs).
pub fn parse(line: &[u8]) -> Option<RawLine<'_>> {
    let text = std::str::from_utf8(line).ok()?;
    let mut s = Scanner {
        text,
        b: line,
        i: 0,
    };
    let mut out = RawLine::default();
    s.expect(b'{')?;
    s.ws();
    if !s.eat(b'}') {
        loop {
            let key = s.plain_key()?;
            s.ws();
            s.expect(b':')?;
            s.ws();
            match field_at(key) {
                Some(at) => {
                    if out.fields[at].is_some() {
                        return None; // given twice: the general path keeps the last
                    }
                    let value = match (at, s.peek()?) {
                        (field::USER_METADATA, b'{') => s.entries(&mut out.user_metadata)?,
                        (field::APP_METADATA, b'{') => s.entries(&mut out.app_metadata)?,
                        (field::IDENTITIES, b'[') => s.identities(&mut out.identities)?,
                        _ => s.value(1, true)?.0,
                    };
                    out.fields[at] = Some(value);
                }
                None => {
                    s.value(1, false)?;
                }
            }
            s.ws();
            match s.next()? {
                b',' => s.ws(),
                b'}' => break,
                _ => return None,
            };
        }
    }
    s.ws();
    (s.i == line.len()).then_some(out)
}

struct Scanner<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        self.eat(c).then_some(())
    }

    /// Skips JSON whitespace; true when there was some.
    fn ws(&mut self) -> bool {
        let start = self.i;
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
        self.i > start
    }

    /// A string at `"`: its text with quotes and whether it has escapes.
    /// Control characters and `\u` escapes of surrogates give up.
    fn string(&mut self) -> Option<(&'a str, bool)> {
        let start = self.i;
        self.expect(b'"')?;
        let mut escaped = false;
        loop {
            self.i = js::plain_json_run(self.b, self.i);
            match self.next()? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    match self.next()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            let hex = self.text.get(self.i..self.i + 4)?;
                            let unit = u16::from_str_radix(hex, 16).ok()?;
                            if !hex.bytes().all(|c| c.is_ascii_hexdigit())
                                || (0xD800..0xE000).contains(&unit)
                            {
                                return None;
                            }
                            self.i += 4;
                        }
                        _ => return None,
                    }
                }
                _ => return None, // a control character
            }
        }
        Some((self.text.get(start..self.i)?, escaped))
    }

    /// An object key without escapes.
    fn plain_key(&mut self) -> Option<&'a str> {
        match self.string()? {
            (quoted, false) => quoted.get(1..quoted.len() - 1),
            _ => None,
        }
    }

    /// A number by the JSON grammar; `strict` (inside a mapped field) also
    /// gives up on magnitudes serde_json might refuse.
    fn number(&mut self, strict: bool) -> Option<Raw<'a>> {
        let start = self.i;
        self.eat(b'-');
        let int_start = self.i;
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.i += 1;
                }
            }
            _ => return None,
        }
        let int_digits = self.i - int_start;
        let mut integer = true;
        if self.eat(b'.') {
            integer = false;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            integer = false;
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            self.digits()?;
        }
        let text = self.text.get(start..self.i)?;
        let simple = integer && int_digits <= 15 && text != "-0";
        if strict && !simple {
            // serde_json refuses an infinite double; stay far from the edge.
            let f: f64 = text.parse().ok()?;
            if !(f == 0.0 || (1e-300..1e300).contains(&f.abs())) {
                return None;
            }
        }
        Some(Raw::Number { text, simple })
    }

    /// One or more digits.
    fn digits(&mut self) -> Option<()> {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        (self.i > start).then_some(())
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word.as_bytes()).then(|| self.i = end)
    }

    /// Any value, and whether it is canonical (see [`Raw::Array`]).
    fn value(&mut self, depth: u32, strict: bool) -> Option<(Raw<'a>, bool)> {
        if depth > MAX_DEPTH {
            return None;
        }
        let start = self.i;
        Some(match self.peek()? {
            b'"' => {
                let (quoted, escaped) = self.string()?;
                (Raw::Str { quoted, escaped }, !escaped)
            }
            b'{' => {
                let canonical = self.object(depth, strict)?;
                let text = self.text.get(start..self.i)?;
                (Raw::Object { text, canonical }, canonical)
            }
            b'[' => {
                let canonical = self.array(depth, strict)?;
                let text = self.text.get(start..self.i)?;
                (Raw::Array { text, canonical }, canonical)
            }
            b't' => (self.literal("true").map(|()| Raw::Bool(true))?, true),
            b'f' => (self.literal("false").map(|()| Raw::Bool(false))?, true),
            b'n' => (self.literal("null").map(|()| Raw::Null)?, true),
            _ => {
                let n = self.number(strict)?;
                (n, matches!(n, Raw::Number { simple: true, .. }))
            }
        })
    }

    /// A nested object; whether it is canonical.
    fn object(&mut self, depth: u32, strict: bool) -> Option<bool> {
        self.expect(b'{')?;
        let mut canonical = !self.ws();
        let mut keys: [&str; DUP_CHECKED_KEYS] = [""; DUP_CHECKED_KEYS];
        let mut n = 0;
        if self.eat(b'}') {
            return Some(canonical);
        }
        loop {
            let (quoted, escaped) = self.string()?;
            if escaped || js::array_index(&quoted[1..quoted.len() - 1]).is_some() {
                canonical = false;
            } else if canonical {
                if n == DUP_CHECKED_KEYS || keys[..n].contains(&quoted) {
                    canonical = false;
                } else {
                    keys[n] = quoted;
                    n += 1;
                }
            }
            canonical &= !self.ws();
            self.expect(b':')?;
            canonical &= !self.ws();
            canonical &= self.value(depth + 1, strict)?.1;
            canonical &= !self.ws();
            match self.next()? {
                b',' => canonical &= !self.ws(),
                b'}' => return Some(canonical),
                _ => return None,
            }
        }
    }

    /// A nested array; whether it is canonical.
    fn array(&mut self, depth: u32, strict: bool) -> Option<bool> {
        self.expect(b'[')?;
        let mut canonical = !self.ws();
        if self.eat(b']') {
            return Some(canonical);
        }
        loop {
            canonical &= self.value(depth + 1, strict)?.1;
            canonical &= !self.ws();
            match self.next()? {
                b',' => canonical &= !self.ws(),
                b']' => return Some(canonical),
                _ => return None,
            }
        }
    }

    /// `user_metadata` / `app_metadata`: its entries into `out` (keys
    /// unescaped and unique, at most [`MAX_ENTRIES`]).
    fn entries(&mut self, out: &mut Vec<(&'a str, Raw<'a>)>) -> Option<Raw<'a>> {
        let start = self.i;
        self.expect(b'{')?;
        self.ws();
        if !self.eat(b'}') {
            loop {
                let key = self.plain_key()?;
                if out.len() == MAX_ENTRIES || out.iter().any(|(k, _)| *k == key) {
                    return None;
                }
                self.ws();
                self.expect(b':')?;
                self.ws();
                let value = self.value(2, true)?.0;
                out.push((key, value));
                self.ws();
                match self.next()? {
                    b',' => self.ws(),
                    b'}' => break,
                    _ => return None,
                };
            }
        }
        Some(Raw::Object {
            text: self.text.get(start..self.i)?,
            canonical: false,
        })
    }

    /// `identities`: each item's three mapped keys into `out`.
    fn identities(&mut self, out: &mut Vec<RawIdentity<'a>>) -> Option<Raw<'a>> {
        let start = self.i;
        self.expect(b'[')?;
        self.ws();
        if !self.eat(b']') {
            loop {
                let item = if self.peek()? == b'{' {
                    self.identity()?
                } else {
                    self.value(2, true)?;
                    RawIdentity::NotObject
                };
                out.push(item);
                self.ws();
                match self.next()? {
                    b',' => self.ws(),
                    b']' => break,
                    _ => return None,
                };
            }
        }
        Some(Raw::Array {
            text: self.text.get(start..self.i)?,
            canonical: false,
        })
    }

    /// One identity object (its three mapped keys unescaped and unique).
    fn identity(&mut self) -> Option<RawIdentity<'a>> {
        self.expect(b'{')?;
        self.ws();
        let (mut provider, mut connection, mut is_social) = (None, None, None);
        if !self.eat(b'}') {
            loop {
                let key = self.plain_key()?;
                self.ws();
                self.expect(b':')?;
                self.ws();
                let value = self.value(3, true)?.0;
                let slot = match key {
                    "provider" => Some(&mut provider),
                    "connection" => Some(&mut connection),
                    "isSocial" => Some(&mut is_social),
                    _ => None,
                };
                if let Some(slot) = slot {
                    if slot.replace(value).is_some() {
                        return None; // given twice: the general path keeps the last
                    }
                }
                self.ws();
                match self.next()? {
                    b',' => self.ws(),
                    b'}' => break,
                    _ => return None,
                };
            }
        }
        Some(RawIdentity::Object {
            provider,
            connection,
            is_social,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(text: &str) -> Option<(Raw<'_>, bool)> {
        let mut s = Scanner {
            text,
            b: text.as_bytes(),
            i: 0,
        };
        let v = s.value(1, true)?;
        (s.i == text.len()).then_some(v)
    }

    #[test]
    fn reads_the_mapped_fields_in_place() {
        let line = br#"{"user_id":"auth0|1","picture":{"x":[1,2.5e3,"a\"b"]},"email":"a@b.c","logins_count":3,"user_metadata":{"a":1,"b":{"c":[true,null]}},"identities":[{"provider":"auth0","user_id":"1","isSocial":false},7],"blocked":false}"#;
        let u = parse(line).unwrap();
        assert_eq!(u.get(field::USER_ID).unwrap().plain_str(), Some("auth0|1"));
        assert_eq!(
            u.get(field::LOGINS_COUNT),
            Some(Raw::Number {
                text: "3",
                simple: true
            })
        );
        assert_eq!(u.get(field::BLOCKED), Some(Raw::Bool(false)));
        assert_eq!(u.get(field::NAME), None);
        assert_eq!(u.user_metadata.len(), 2);
        assert_eq!(
            u.user_metadata[1],
            (
                "b",
                Raw::Object {
                    text: r#"{"c":[true,null]}"#,
                    canonical: true
                }
            )
        );
        assert_eq!(
            u.identities,
            vec![
                RawIdentity::Object {
                    provider: Some(Raw::Str {
                        quoted: "\"auth0\"",
                        escaped: false
                    }),
                    connection: None,
                    is_social: Some(Raw::Bool(false)),
                },
                RawIdentity::NotObject
            ]
        );
    }

    #[test]
    fn canonical_only_when_json_stringify_gives_the_text_back() {
        for (text, canonical) in [
            (r#"{"a":1,"b":[1,-2,{"c":"é"}]}"#, true),
            ("[]", true),
            ("{}", true),
            (r#"{"a": 1}"#, false),
            ("[1 ]", false),
            (r#"{"a":1.0}"#, false),
            (r#"{"a":-0}"#, false),
            (r#"{"a":1e2}"#, false),
            (r#"{"a":1234567890123456}"#, false),
            (r#"{"a":"\u00e9"}"#, false),
            (r#"{"b":1,"2":0}"#, false),
            (r#"{"a":1,"a":2}"#, false),
            (r#"{"a\"":1}"#, false),
        ] {
            let (raw, c) = value_of(text).unwrap();
            assert_eq!(c, canonical, "{text}");
            let mut out = String::new();
            raw.push_js_json(&mut out).unwrap();
            let mut expected = String::new();
            js::push_js_json(&mut expected, &serde_json::from_str(text).unwrap());
            assert_eq!(out, expected, "{text}");
        }
    }

    #[test]
    fn gives_up_where_serde_json_might_differ_or_refuse() {
        for line in [
            &br#"{"email":"a","email":"b"}"#[..],
            br#"{"em\u0061il":"a"}"#,
            b"{\"email\":\"a\x01\"}",
            br#"{"email":"\ud800"}"#,
            br#"{"email":"\x"}"#,
            b"{\"email\":\"\xff\"}",
            br#"{"logins_count":1e400}"#,
            br#"{"logins_count":01}"#,
            br#"{"logins_count":1.}"#,
            br#"{"logins_count":-}"#,
            br#"{"user_metadata":{"a":1,"a":2}}"#,
            br#"{"identities":[{"provider":"a","provider":"b"}]}"#,
            br#"{"a":1,}"#,
            br#"{"a":1}x"#,
            br#"{"a":tru}"#,
            br#"[1]"#,
            br#"{"a":1"#,
        ] {
            assert!(parse(line).is_none(), "{}", String::from_utf8_lossy(line));
        }
        // Outside the mapped fields a huge number is only syntax to serde_json.
        assert!(parse(br#"{"picture":1e400,"email":"a"}"#).is_some());
        let deep = format!("{}1{}", "[".repeat(80), "]".repeat(80));
        assert!(parse(format!(r#"{{"name":{deep}}}"#).as_bytes()).is_none());
    }

    #[test]
    fn scalar_conversions_match_javascript() {
        let cases = [
            ("null", "", false),
            ("true", "true", true),
            ("0", "0", false),
            ("-0", "0", false),
            ("0.0", "0", false),
            ("12", "12", true),
            ("1e21", "1e+21", true),
            ("\"\"", "", false),
            ("\"a\\nb\"", "a\nb", true),
            ("[1,[2,null]]", "1,2,", true),
            ("{}", "[object Object]", true),
        ];
        for (text, cell, truthy) in cases {
            let (raw, _) = value_of(text).unwrap();
            assert_eq!(raw.cell_text().unwrap(), cell, "{text}");
            assert_eq!(raw.truthy(), Some(truthy), "{text}");
        }
    }
}
