//! `manifest.json` (export-and-package.md §0.4, §1.4, §1.7): the typed model,
//! its defaults, and a writer that keeps the contract's key order and streams
//! the `warnings` array so a package with millions of warnings never holds
//! them all in memory.

use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::schema::{ENTITY_COUNT_KEYS, PACKAGE_FILES};

/// Errors reading or writing a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("manifest.json: {0}")]
    Json(#[from] serde_json::Error),
}

/// `secretRedaction` (§1.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRedaction {
    /// `redacted`, `included` or `not-applicable`.
    pub mode: String,
    pub redacted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_fields: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<Vec<String>>,
}

/// The manifest, with keys in the contract's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_tenant: Option<String>,
    pub generated_at: String,
    pub entities_requested: Vec<String>,
    /// Ordered counts: the 15 default keys first, extra keys appended.
    pub entities_exported: Map<String, Value>,
    pub files: Map<String, Value>,
    pub importability: Map<String, Value>,
    pub secrets_redacted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_redaction: Option<SecretRedaction>,
    pub warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// `importability` is always this (§1.4).
pub fn default_importability() -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("users", "automatic"),
        ("organizations", "automatic"),
        ("memberships", "automatic"),
        ("roles", "automatic"),
        ("totpSecrets", "automatic"),
        ("ssoConnections", "handoff"),
    ] {
        m.insert(k.into(), Value::String(v.into()));
    }
    m
}

/// The 17-entry canonical `files` map (§1.2).
pub fn default_files() -> Map<String, Value> {
    PACKAGE_FILES
        .iter()
        .map(|f| (f.key.to_string(), Value::String(f.path.to_string())))
        .collect()
}

/// All 15 count keys set to zero, in order.
pub fn zero_counts() -> Map<String, Value> {
    ENTITY_COUNT_KEYS
        .iter()
        .map(|k| (k.to_string(), Value::from(0u64)))
        .collect()
}

/// ISO-8601 UTC timestamp with milliseconds, like JS `Date.toISOString()`.
pub fn iso_now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

impl Manifest {
    /// A manifest with every default filled in (§1.4 "shared builder").
    pub fn new(provider: &str, entities_requested: Vec<String>) -> Self {
        Self {
            schema_version: 1,
            provider: provider.to_string(),
            source_tenant: None,
            generated_at: iso_now(),
            entities_requested,
            entities_exported: zero_counts(),
            files: default_files(),
            importability: default_importability(),
            secrets_redacted: true,
            secret_redaction: None,
            warnings: Vec::new(),
            metadata: None,
        }
    }

    /// Sets one `entitiesExported` count, keeping key order.
    pub fn set_count(&mut self, key: &str, count: u64) {
        self.entities_exported
            .insert(key.to_string(), Value::from(count));
    }

    pub fn count(&self, key: &str) -> u64 {
        self.entities_exported
            .get(key)
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    /// Parses a manifest that is known to be well-formed (use the package
    /// validator for untrusted input).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ManifestError> {
        Ok(serde_json::from_slice(bytes)?)
    }

    /// Writes `JSON.stringify(manifest, null, 2) + "\n"`, taking the
    /// `warnings` array from `warnings` (one message per item) instead of
    /// `self.warnings`, streamed.
    pub fn write_streaming<W, I>(&self, out: &mut W, warnings: I) -> Result<(), ManifestError>
    where
        W: Write,
        I: IntoIterator<Item = Result<String, ManifestError>>,
    {
        let mut shell = self.clone();
        shell.warnings.clear();
        let text = serde_json::to_string_pretty(&shell)?;
        // The top-level key is printed as `\n  "warnings": []` exactly once:
        // any string value containing that text would be escaped.
        const MARK: &str = "\n  \"warnings\": []";
        let Some(at) = text.find(MARK) else {
            return Err(ManifestError::Io(io::Error::other(
                "manifest serialization lost the warnings key",
            )));
        };
        out.write_all(&text.as_bytes()[..at])?;
        out.write_all(b"\n  \"warnings\": [")?;
        let mut any = false;
        for message in warnings {
            let message = message?;
            out.write_all(if any { b",\n    " } else { b"\n    " })?;
            serde_json::to_writer(&mut *out, &message)?;
            any = true;
        }
        out.write_all(if any { b"\n  ]" } else { b"]" })?;
        out.write_all(&text.as_bytes()[at + MARK.len()..])?;
        out.write_all(b"\n")?;
        Ok(())
    }

    /// Writes the manifest with its own `warnings`.
    pub fn write<W: Write>(&self, out: &mut W) -> Result<(), ManifestError> {
        self.write_streaming(out, self.warnings.iter().cloned().map(Ok))
    }
}

/// Streams the `message` of every record in a `warnings.jsonl` reader.
pub fn warning_messages<R: BufRead>(
    reader: R,
) -> impl Iterator<Item = Result<String, ManifestError>> {
    reader.lines().filter_map(|line| match line {
        Err(e) => Some(Err(ManifestError::Io(e))),
        Ok(l) if l.trim().is_empty() => None,
        Ok(l) => Some(
            serde_json::from_str::<Value>(&l)
                .map_err(ManifestError::Json)
                .map(|v| {
                    v.get("message")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                }),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_and_optional_keys() {
        let mut m = Manifest::new("csv", vec!["users".into()]);
        m.generated_at = "2026-04-29T00:00:00.000Z".into();
        let mut out = Vec::new();
        m.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let keys: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("  \"") && !l.starts_with("   "))
            .map(|l| l.trim().split('"').nth(1).unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "schemaVersion",
                "provider",
                "generatedAt",
                "entitiesRequested",
                "entitiesExported",
                "files",
                "importability",
                "secretsRedacted",
                "warnings"
            ]
        );
        assert!(text.ends_with("  \"warnings\": []\n}\n"));
        assert_eq!(Manifest::from_slice(text.as_bytes()).unwrap(), m);
    }

    #[test]
    fn streamed_warnings_match_serde_pretty() {
        let mut m = Manifest::new("clerk", vec![]);
        m.source_tenant = Some("acme".into());
        m.warnings = vec!["first \"one\"".into(), "second".into()];
        m.secret_redaction = Some(SecretRedaction {
            mode: "not-applicable".into(),
            redacted: true,
            redacted_fields: None,
            files: None,
            notes: Some(vec!["n".into()]),
        });
        let mut out = Vec::new();
        m.write(&mut out).unwrap();
        let expected = serde_json::to_string_pretty(&m).unwrap() + "\n";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}
