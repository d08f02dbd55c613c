//! `warnings.jsonl` / `skipped_users.jsonl` records (export-and-package.md
//! §0.3, §1.6): one compact JSON object per line, `timestamp` first, keys in
//! insertion order; an empty file when there are no records.

use std::io::{self, Write};

use serde_json::{Map, Value};

use super::manifest::iso_now;

/// A JSONL record under construction; keys keep insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonlRecord(Map<String, Value>);

impl JsonlRecord {
    /// A warning: `timestamp`, `code`, `message`, then provider keys (§1.6).
    pub fn warning(code: &str, message: &str) -> Self {
        let mut m = Map::new();
        m.insert("timestamp".into(), Value::String(iso_now()));
        m.insert("code".into(), Value::String(code.into()));
        m.insert("message".into(), Value::String(message.into()));
        Self(m)
    }

    /// A skipped-user record: `timestamp` first; add identity keys, then
    /// [`JsonlRecord::with`] `reason` last, in the provider's order.
    pub fn skipped() -> Self {
        let mut m = Map::new();
        m.insert("timestamp".into(), Value::String(iso_now()));
        Self(m)
    }

    /// Appends a key (replacing an existing one in place).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_string(), value.into());
        self
    }

    /// Appends a string key only when `value` is `Some`.
    pub fn with_opt(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.with(key, v),
            None => self,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// A record read back from JSON; `None` unless `v` is an object.
    pub fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Object(m) => Some(Self(m)),
            _ => None,
        }
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// Appends a JSON string literal (serde_json's escaping) to `out`.
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Writing a str to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Appends a JSON string literal as it appears inside a quoted CSV field:
/// [`push_json_str`] with every `"` doubled. `scratch` is only used when the
/// text has something to escape.
pub fn push_json_str_csv(out: &mut Vec<u8>, s: &str, scratch: &mut Vec<u8>) {
    let b = s.as_bytes();
    // `|` folds the three tests into one branch per byte.
    if !b.iter().fold(false, |hit, &c| {
        hit | (c == b'"') | (c == b'\\') | (c < 0x20)
    }) {
        out.extend_from_slice(b"\"\"");
        out.extend_from_slice(b);
        out.extend_from_slice(b"\"\"");
    } else {
        scratch.clear();
        push_json_str(scratch, s);
        super::csv_writer::push_doubled(out, scratch);
    }
}

/// Appends one record with string values, byte for byte what
/// [`JsonlWriter::write`] writes for the [`JsonlRecord`] built from the same
/// `(key, value)` pairs in the same order (keys distinct), `\n` included.
/// Lets callers encode records in parallel and write the bytes in order.
pub fn push_record(out: &mut Vec<u8>, pairs: &[(&str, &str)]) {
    out.push(b'{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_str(out, k);
        out.push(b':');
        push_json_str(out, v);
    }
    out.extend_from_slice(b"}\n");
}

/// Appends records to a JSONL stream and counts them.
pub struct JsonlWriter<W: Write> {
    inner: W,
    records: u64,
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(inner: W) -> Self {
        Self { inner, records: 0 }
    }

    pub fn write(&mut self, record: &JsonlRecord) -> io::Result<()> {
        serde_json::to_writer(&mut self.inner, &record.0).map_err(io::Error::other)?;
        self.inner.write_all(b"\n")?;
        self.records += 1;
        Ok(())
    }

    /// Writes `records` lines already encoded with [`push_record`].
    pub fn write_encoded(&mut self, bytes: &[u8], records: u64) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.records += records;
        Ok(())
    }

    /// Writes any serializable value as one line.
    pub fn write_value<T: serde::Serialize>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.inner, value).map_err(io::Error::other)?;
        self.inner.write_all(b"\n")?;
        self.records += 1;
        Ok(())
    }

    pub fn records(&self) -> u64 {
        self.records
    }

    /// The underlying writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_compact_and_ordered() {
        let mut w = JsonlWriter::new(Vec::new());
        let rec = JsonlRecord::skipped()
            .with_opt("firebase_uid", Some("u1"))
            .with_opt("email", None)
            .with("reason", "no_email");
        w.write(&rec).unwrap();
        assert_eq!(w.records(), 1);
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        let line = text.strip_suffix('\n').unwrap();
        assert!(line.starts_with("{\"timestamp\":\""));
        assert!(line.ends_with("\",\"firebase_uid\":\"u1\",\"reason\":\"no_email\"}"));
    }

    #[test]
    fn encoded_records_match_jsonl_records() {
        let rec = JsonlRecord::warning("c\"x", "m\u{1}\n é")
            .with_opt("firebase_uid", Some("u\\1"))
            .with("email", "");
        let ts = rec.get("timestamp").unwrap().as_str().unwrap().to_string();
        let mut w = JsonlWriter::new(Vec::new());
        w.write(&rec).unwrap();
        let mut out = Vec::new();
        push_record(
            &mut out,
            &[
                ("timestamp", &ts),
                ("code", "c\"x"),
                ("message", "m\u{1}\n é"),
                ("firebase_uid", "u\\1"),
                ("email", ""),
            ],
        );
        let mut e = JsonlWriter::new(Vec::new());
        e.write_encoded(&out, 1).unwrap();
        assert_eq!(e.records(), 1);
        assert_eq!(e.finish().unwrap(), w.finish().unwrap());
    }

    #[test]
    fn no_records_is_zero_bytes() {
        let w = JsonlWriter::new(Vec::new());
        assert!(w.finish().unwrap().is_empty());
    }
}
