//! JavaScript value semantics the Auth0 mapping reproduces byte for byte:
//! truthiness, `String(value)`, `String.prototype.trim`, number-to-string and
//! a compact `JSON.stringify` that orders object keys the way a JavaScript
//! object does (array-index keys first, ascending, then the rest in insertion
//! order — what `JSON.parse` + `JSON.stringify` produce in Node).

use serde_json::{Map, Number, Value};

/// JavaScript truthiness of a JSON value (`None` is `undefined`).
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_) | Value::Object(_)) => true,
    }
}

/// JavaScript `String(value)` appended to `out` (`null` → `null`).
pub fn push_js_string(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => push_js_number(out, n),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            // Array.prototype.toString: elements joined by `,`, null → "".
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !item.is_null() {
                    push_js_string(out, item);
                }
            }
        }
        Value::Object(_) => out.push_str("[object Object]"),
    }
}

/// JavaScript `String(value)` as a new string.
pub fn js_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => {
            let mut out = String::new();
            push_js_string(&mut out, other);
            out
        }
    }
}

/// A CSV cell as the original normalises it: absent/`null` → empty, anything
/// else `String(value)`.
pub fn cell_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(other) => js_string(other),
    }
}

/// JavaScript whitespace (`\s`, `trim`): WhiteSpace and LineTerminator.
pub fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{D}'
            | ' '
            | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
            | '\u{FEFF}'
    )
}

/// `s.trim()` as JavaScript does it.
pub fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_space)
}

/// Largest integer every double represents exactly (2^53).
const EXACT_INT: u64 = 1 << 53;

/// A JSON number as JavaScript prints it (`String(n)`, `JSON.stringify(n)`):
/// the parsed double, shortest round-trip digits, exponent form below 1e-6
/// and from 1e21, `-0` as `0`.
pub fn push_js_number(out: &mut String, n: &Number) {
    use std::fmt::Write;
    if let Some(u) = n.as_u64().filter(|u| *u <= EXACT_INT) {
        let _ = write!(out, "{u}");
    } else if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= EXACT_INT) {
        let _ = write!(out, "{i}");
    } else if let Some(f) = n.as_f64() {
        push_js_double(out, f);
    }
}

/// ECMAScript Number::toString(10) for a finite double.
pub fn push_js_double(out: &mut String, f: f64) {
    if f == 0.0 {
        out.push('0');
        return;
    }
    if !f.is_finite() {
        // JSON cannot carry these; JSON.stringify would print `null`.
        out.push_str("null");
        return;
    }
    // Shortest round-trip digits in scientific form: `[-]d[.ddd]e[-]x`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let e: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = e + 1;
    if f < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        use std::fmt::Write;
        let _ = write!(out, "{}", (n - 1).abs());
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = ONES << 7;

/// The bytes of `b` from `from` on that JSON writes as they are inside a
/// string: the index of the first `"`, `\\` or control character (or the
/// length). Eight bytes at a time.
#[inline]
pub fn plain_json_run(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let quote = w ^ (ONES * u64::from(b'"'));
        let slash = w ^ (ONES * u64::from(b'\\'));
        // Per byte: zero after the xor, or below 0x20. The lowest flagged
        // byte is always a true match (borrows only run upwards).
        let hit = (quote.wrapping_sub(ONES) & !quote
            | slash.wrapping_sub(ONES) & !slash
            | w.wrapping_sub(ONES * 0x20) & !w)
            & HIGH;
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

/// Appends `s` as a JSON string literal with `JSON.stringify`'s escaping:
/// `"` `\` and control characters only (non-ASCII is kept, control
/// characters without a short form become lower-case `\u00xx`).
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    loop {
        let i = plain_json_run(bytes, start);
        // `i` is at a char boundary: it is the end or an ASCII byte.
        out.push_str(&s[start..i]);
        let Some(&b) = bytes.get(i) else {
            break;
        };
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            _ => "",
        };
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(short);
        }
        start = i + 1;
    }
    out.push('"');
}

/// The value of `key` when it is an array index (`0` … `4294967294`, no
/// leading zeros): such keys come first in a JavaScript object.
pub fn array_index(key: &str) -> Option<u32> {
    let b = key.as_bytes();
    match b.first() {
        Some(b'0') if b.len() == 1 => Some(0),
        Some(b'1'..=b'9') if b.len() <= 10 && b.iter().all(u8::is_ascii_digit) => key
            .parse::<u64>()
            .ok()
            .filter(|v| *v < u64::from(u32::MAX))
            .map(|v| v as u32),
        _ => None,
    }
}

/// Calls `f` for every entry of `map` in JavaScript property order.
pub fn for_each_js_ordered<'a>(map: &'a Map<String, Value>, mut f: impl FnMut(&'a str, &'a Value)) {
    if !map.keys().any(|k| array_index(k).is_some()) {
        for (k, v) in map {
            f(k, v);
        }
        return;
    }
    let mut indexed: Vec<(u32, &str, &Value)> = map
        .iter()
        .filter_map(|(k, v)| array_index(k).map(|i| (i, k.as_str(), v)))
        .collect();
    indexed.sort_unstable_by_key(|(i, _, _)| *i);
    for (_, k, v) in indexed {
        f(k, v);
    }
    for (k, v) in map {
        if array_index(k).is_none() {
            f(k, v);
        }
    }
}

/// Compact `JSON.stringify(value)` of a value that came from `JSON.parse`.
pub fn push_js_json(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => push_js_number(out, n),
        Value::String(s) => push_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_js_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => push_js_object(out, map),
    }
}

/// Compact `JSON.stringify` of an object (keys in JavaScript order).
pub fn push_js_object(out: &mut String, map: &Map<String, Value>) {
    out.push('{');
    let mut first = true;
    for_each_js_ordered(map, |k, v| {
        if !first {
            out.push(',');
        }
        first = false;
        push_json_string(out, k);
        out.push(':');
        push_js_json(out, v);
    });
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn num(v: Value) -> String {
        let mut s = String::new();
        push_js_json(&mut s, &v);
        s
    }

    #[test]
    fn numbers_print_like_javascript() {
        assert_eq!(num(json!(0)), "0");
        assert_eq!(num(json!(-0.0)), "0");
        assert_eq!(num(json!(1.0)), "1");
        assert_eq!(num(json!(-3)), "-3");
        assert_eq!(num(json!(1.5)), "1.5");
        assert_eq!(num(json!(0.1)), "0.1");
        assert_eq!(num(json!(123.456)), "123.456");
        assert_eq!(num(json!(0.000001)), "0.000001");
        assert_eq!(num(json!(0.0000001)), "1e-7");
        assert_eq!(num(json!(1.5e-7)), "1.5e-7");
        assert_eq!(num(json!(-2.5e-10)), "-2.5e-10");
        assert_eq!(num(json!(1e20)), "100000000000000000000");
        assert_eq!(num(json!(1e21)), "1e+21");
        assert_eq!(num(json!(1.23e22)), "1.23e+22");
        assert_eq!(num(json!(9007199254740992u64)), "9007199254740992");
        // Beyond 2^53 JavaScript keeps the nearest double.
        assert_eq!(num(json!(12345678901234567890u64)), "12345678901234567000");
        assert_eq!(num(json!(-9007199254740993i64)), "-9007199254740992");
        assert_eq!(
            num(json!(1.7976931348623157e308)),
            "1.7976931348623157e+308"
        );
        assert_eq!(num(json!(5e-324)), "5e-324");
    }

    #[test]
    fn strings_escape_like_json_stringify() {
        let mut s = String::new();
        push_json_string(
            &mut s,
            "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é😀\u{2028}",
        );
        assert_eq!(
            s,
            "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\u{7f}é😀\u{2028}\""
        );
    }

    #[test]
    fn plain_runs_stop_at_the_first_byte_json_escapes() {
        let mut rng = fastrand::Rng::with_seed(3);
        let alphabet = b"ab\"\\\x00\x1f\x20\x7f\x80\xc3\xa9\xff,";
        for _ in 0..20_000 {
            let len = rng.usize(..40);
            let b: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.u8(..4) == 0 {
                        alphabet[rng.usize(..alphabet.len())]
                    } else {
                        b'a' + rng.u8(..26)
                    }
                })
                .collect();
            let from = rng.usize(..=len);
            let expected = (from..len)
                .find(|&i| b[i] == b'"' || b[i] == b'\\' || b[i] < 0x20)
                .unwrap_or(len);
            assert_eq!(plain_json_run(&b, from), expected, "{b:?} from {from}");
        }
    }

    #[test]
    fn objects_put_array_index_keys_first() {
        let v: Value = serde_json::from_str(
            r#"{"b":1,"10":2,"a":{"z":1,"2":0},"2":3,"01":4,"4294967295":5,"4294967294":6}"#,
        )
        .unwrap();
        assert_eq!(
            num(v),
            r#"{"2":3,"10":2,"4294967294":6,"b":1,"a":{"2":0,"z":1},"01":4,"4294967295":5}"#
        );
    }

    #[test]
    fn string_conversion_and_truthiness() {
        assert_eq!(js_string(&json!(null)), "null");
        assert_eq!(js_string(&json!([1, null, "a", [2, 3]])), "1,,a,2,3");
        assert_eq!(js_string(&json!({"a": 1})), "[object Object]");
        assert_eq!(js_string(&json!(2.50)), "2.5");
        assert_eq!(cell_text(None), "");
        assert_eq!(cell_text(Some(&json!(null))), "");
        assert_eq!(cell_text(Some(&json!(false))), "false");
        for v in [json!(0), json!(""), json!(false), json!(null), json!(-0.0)] {
            assert!(!truthy(Some(&v)), "{v}");
        }
        for v in [json!(1), json!(" "), json!(true), json!([]), json!({})] {
            assert!(truthy(Some(&v)), "{v}");
        }
        assert!(!truthy(None));
        assert_eq!(js_trim("\u{feff}\u{a0} a b \u{3000}"), "a b");
        assert_eq!(js_trim("\u{85}x"), "\u{85}x");
    }
}
