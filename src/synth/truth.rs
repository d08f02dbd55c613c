//! The ground truth written next to a synthetic export: what was injected and
//! what a correct consumer should report.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::SynthFormat;

/// Named counters kept in insertion order (serialised as a JSON object).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(Vec<(String, u64)>);

impl Counts {
    /// Counters with the given names, all zero, in this order.
    pub fn zeroed(names: &[&str]) -> Self {
        Counts(names.iter().map(|n| ((*n).to_string(), 0)).collect())
    }

    /// Value of a counter (`0` when absent).
    pub fn get(&self, name: &str) -> u64 {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or(0, |(_, v)| *v)
    }

    /// Set a counter, appending it when new.
    pub fn set(&mut self, name: &str, value: u64) {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    /// Add to a counter, appending it when new.
    pub fn add(&mut self, name: &str, delta: u64) {
        let cur = self.get(name);
        self.set(name, cur + delta);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Sum of all counters.
    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, v)| v).sum()
    }
}

impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Counts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountsVisitor;
        impl<'de> Visitor<'de> for CountsVisitor {
            type Value = Counts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of non-negative integer counters")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Counts, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = access.next_entry::<String, u64>()? {
                    out.push((k, v));
                }
                Ok(Counts(out))
            }
        }
        deserializer.deserialize_map(CountsVisitor)
    }
}

/// Ground truth of one generated file.
///
/// * `workos-csv`: `dirty_rows`, `classes` (11 injected classes, rows per
///   class) and `rules` (rows a validator must flag, per rule id).
/// * `firebase-json` / `clerk-csv`: `classes` (rows having each feature) and
///   `expected` (what an exporter with default options must produce).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    pub format: SynthFormat,
    pub users: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty_rows: Option<u64>,
    pub classes: Counts,
    #[serde(default, skip_serializing_if = "Counts::is_empty")]
    pub rules: Counts,
    #[serde(default, skip_serializing_if = "Counts::is_empty")]
    pub expected: Counts,
}

impl Truth {
    /// Pretty JSON text (with a trailing newline).
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            // Serialising plain strings and integers cannot fail; keep a
            // readable fallback rather than panicking.
            format!("{{\"error\":\"{e}\"}}")
        });
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_keep_order_and_round_trip() {
        let mut c = Counts::zeroed(&["b", "a"]);
        c.add("a", 2);
        c.add("z", 1);
        assert_eq!(
            serde_json::to_string(&c).unwrap_or_default(),
            r#"{"b":0,"a":2,"z":1}"#
        );
        let back: Counts = serde_json::from_str(r#"{"b":0,"a":2,"z":1}"#).unwrap_or_default();
        assert_eq!(back, c);
        assert_eq!(c.total(), 3);
        assert_eq!(c.get("missing"), 0);
    }
}
