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

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
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
    fn no_records_is_zero_bytes() {
        let w = JsonlWriter::new(Vec::new());
        assert!(w.finish().unwrap().is_empty());
    }
}
