//! `--auto-fix` (import.md §3.1, extended): repairs a row *before* it is
//! validated and records every change. Fixes never drop a row and never touch
//! the plain-text `password` column (its whitespace may be part of the
//! password). Values of secret columns are redacted in the change records.

use serde_json::{Map, Value};

use super::rules::{Col, ColumnMap, RESERVED_METADATA_KEYS};

/// One change made by auto-fix.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fix {
    pub row: u64,
    pub column: String,
    pub original: String,
    pub fixed: String,
    pub reason: String,
}

const REDACTED: &str = "[redacted]";

fn is_secret_column(name: &str) -> bool {
    matches!(name, "password" | "password_hash")
}

/// Returns the fixed cells (same width as `cells`) and the changes made.
pub fn fix_row(
    header: &[String],
    map: &ColumnMap,
    cells: &[&str],
    row: u64,
) -> (Vec<String>, Vec<Fix>) {
    let mut fixes = Vec::new();
    let mut out: Vec<String> = Vec::with_capacity(header.len());
    let password_idx = map.get(Col::Password);
    for (i, cell) in cells.iter().enumerate().take(header.len()) {
        let name = header.get(i).map_or("", String::as_str);
        let trimmed = cell.trim();
        if Some(i) != password_idx && trimmed.len() != cell.len() {
            let secret = is_secret_column(name);
            fixes.push(Fix {
                row,
                column: name.to_string(),
                original: if secret {
                    REDACTED.into()
                } else {
                    (*cell).to_string()
                },
                fixed: if secret {
                    REDACTED.into()
                } else {
                    trimmed.to_string()
                },
                reason: if name == "email" {
                    "Trimmed whitespace from email".into()
                } else {
                    "Trimmed whitespace".into()
                },
            });
            out.push(trimmed.to_string());
        } else {
            out.push((*cell).to_string());
        }
    }
    while out.len() < header.len() {
        out.push(String::new());
    }

    if let Some(i) = map.get(Col::Email) {
        let lower = out[i].to_lowercase();
        if lower != out[i] {
            fixes.push(Fix {
                row,
                column: "email".into(),
                original: out[i].clone(),
                fixed: lower.clone(),
                reason: "Lowercased email".into(),
            });
            out[i] = lower;
        }
    }

    if let Some(i) = map.get(Col::EmailVerified) {
        let normalized = match out[i].trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Some("true"),
            "false" | "no" | "n" | "0" => Some("false"),
            _ => None,
        };
        if let Some(n) = normalized {
            if out[i] != n {
                fixes.push(Fix {
                    row,
                    column: "email_verified".into(),
                    original: out[i].clone(),
                    fixed: n.into(),
                    reason: "Normalized boolean value".into(),
                });
                out[i] = n.into();
            }
        }
    }

    if let Some(i) = map.get(Col::Metadata) {
        if let Some(fixed) = fix_metadata(&out[i], row, &mut fixes) {
            out[i] = fixed;
        }
    }
    (out, fixes)
}

/// Fixes a metadata cell; `None` when nothing changed.
fn fix_metadata(cell: &str, row: u64, fixes: &mut Vec<Fix>) -> Option<String> {
    let text = cell.trim();
    if text.is_empty() {
        return None;
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    if map.is_empty() {
        fixes.push(Fix {
            row,
            column: "metadata".into(),
            original: cell.to_string(),
            fixed: String::new(),
            reason: "Dropped empty metadata".into(),
        });
        return Some(String::new());
    }
    let mut changed = false;
    let mut fixed = Map::new();
    for (k, v) in &map {
        let value = match v {
            Value::String(_) => v.clone(),
            other => {
                let s = other.to_string();
                fixes.push(Fix {
                    row,
                    column: format!("metadata.{k}"),
                    original: s.clone(),
                    fixed: s.clone(),
                    reason: "Stringified non-string metadata value".into(),
                });
                changed = true;
                Value::String(s)
            }
        };
        let renamed = format!("custom_{k}");
        if RESERVED_METADATA_KEYS.contains(&k.as_str()) && !map.contains_key(&renamed) {
            fixes.push(Fix {
                row,
                column: format!("metadata.{k}"),
                original: k.clone(),
                fixed: renamed.clone(),
                reason: format!("Renamed reserved metadata field \"{k}\" to \"{renamed}\""),
            });
            changed = true;
            fixed.insert(renamed, value);
        } else {
            fixed.insert(k.clone(), value);
        }
    }
    changed.then(|| Value::Object(fixed).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(header: &str, cells: &[&str]) -> (Vec<String>, Vec<Fix>) {
        let header: Vec<String> = header.split(',').map(str::to_string).collect();
        let map = ColumnMap::new(&header);
        fix_row(&header, &map, cells, 7)
    }

    #[test]
    fn trims_lowercases_and_normalizes() {
        let (out, fixes) = run(
            "email,email_verified,password",
            &[" Alice@X.com ", "Yes", " pw "],
        );
        assert_eq!(out, ["alice@x.com", "true", " pw "]);
        let reasons: Vec<&str> = fixes.iter().map(|f| f.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "Trimmed whitespace from email",
                "Lowercased email",
                "Normalized boolean value"
            ]
        );
    }

    #[test]
    fn metadata_fixes() {
        let (out, fixes) = run(
            "email,metadata",
            &["a@x.com", r#"{"email":"x","n":[1,"Alice"]}"#],
        );
        assert_eq!(out[1], r#"{"custom_email":"x","n":"[1,\"Alice\"]"}"#);
        assert_eq!(fixes.len(), 2);
        let (out, fixes) = run("email,metadata", &["a@x.com", "{}"]);
        assert_eq!(
            (out[1].as_str(), fixes[0].reason.as_str()),
            ("", "Dropped empty metadata")
        );
    }

    #[test]
    fn secret_values_are_redacted() {
        let (out, fixes) = run("email,password_hash", &["a@x.com", " $2b$10$abc "]);
        assert_eq!(out[1], "$2b$10$abc");
        assert_eq!(
            (fixes[0].original.as_str(), fixes[0].fixed.as_str()),
            (REDACTED, REDACTED)
        );
    }
}
