//! Steps 1-2 of §2.2: reading `manifest.json` and checking its shape.

use std::fs;
use std::path::Path;

use serde_json::Value;

use super::Issue;
use crate::package::schema;

/// Reads and parses the manifest. Any failure (missing, a directory,
/// unreadable, invalid UTF-8, invalid JSON) is one `manifest_read_failed`
/// issue with a one-line message.
pub(super) fn read_manifest(path: &Path) -> Result<Value, Issue> {
    let fail = |msg: String| {
        Issue::error(
            "manifest_read_failed",
            format!("Unable to read manifest.json: {}", one_line(&msg)),
        )
        .with_file(schema::MANIFEST.path)
    };
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(fail("it is a directory, not a file".into())),
        Ok(_) => {}
        Err(e) => return Err(fail(e.to_string())),
    }
    let bytes = fs::read(path).map_err(|e| fail(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| fail(format!("invalid UTF-8: {e}")))?;
    serde_json::from_str(&text).map_err(|e| fail(e.to_string()))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The shape checks of §2.2 step 2, in order. A non-object manifest yields
/// only `invalid_manifest`.
pub(super) fn check_shape(manifest: &Value) -> Vec<Issue> {
    let mut issues = Vec::new();
    let Some(m) = manifest.as_object() else {
        issues.push(Issue::error(
            "invalid_manifest",
            "manifest.json must contain a JSON object",
        ));
        return issues;
    };
    let mut err = |code: &'static str, field: &str, message: String| {
        issues.push(Issue::error(code, message).with_field(field));
    };

    let version = m.get("schemaVersion");
    if version.and_then(Value::as_f64) != Some(1.0) {
        err(
            "unsupported_schema_version",
            "schemaVersion",
            format!(
                "Unsupported migration package schemaVersion: {}",
                js_string(version)
            ),
        );
    }

    if m.get("provider")
        .and_then(Value::as_str)
        .is_none_or(|p| js_trim(p).is_empty())
    {
        err(
            "missing_provider",
            "provider",
            "manifest.provider must be a non-empty string".into(),
        );
    }

    if !m
        .get("generatedAt")
        .and_then(Value::as_str)
        .is_some_and(is_date_parseable)
    {
        err(
            "invalid_generated_at",
            "generatedAt",
            "manifest.generatedAt must be an ISO timestamp string".into(),
        );
    }

    if !m.get("entitiesRequested").is_some_and(Value::is_array) {
        err(
            "invalid_entities_requested",
            "entitiesRequested",
            "manifest.entitiesRequested must be an array".into(),
        );
    }

    match m.get("entitiesExported").and_then(Value::as_object) {
        None => err(
            "invalid_entities_exported",
            "entitiesExported",
            "manifest.entitiesExported must be an object of non-negative integer counts".into(),
        ),
        Some(counts) => {
            for (key, value) in counts {
                if !valid_count(value) {
                    err(
                        "invalid_entity_count",
                        &format!("entitiesExported.{key}"),
                        format!("manifest.entitiesExported.{key} must be a non-negative integer"),
                    );
                }
            }
        }
    }

    if !m.get("files").is_some_and(Value::is_object) {
        err(
            "invalid_files",
            "files",
            "manifest.files must be an object".into(),
        );
    }

    if !m.get("importability").is_some_and(Value::is_object) {
        err(
            "invalid_importability",
            "importability",
            "manifest.importability must be an object".into(),
        );
    }

    if !m.get("secretsRedacted").is_some_and(Value::is_boolean) {
        err(
            "invalid_secrets_redacted",
            "secretsRedacted",
            "manifest.secretsRedacted must be a boolean".into(),
        );
    }

    if !m.get("warnings").is_some_and(Value::is_array) {
        err(
            "invalid_warnings",
            "warnings",
            "manifest.warnings must be an array".into(),
        );
    }

    issues
}

/// JS `Number.isInteger(v) && v >= 0` (so `2.0` is valid, `"2"`, `1.5`, `-1` are not).
pub(super) fn valid_count(value: &Value) -> bool {
    match value {
        Value::Number(n) if n.is_u64() => true,
        Value::Number(n) if n.is_i64() => false, // negative
        Value::Number(n) => n
            .as_f64()
            .is_some_and(|f| f.is_finite() && f.fract() == 0.0 && f >= 0.0),
        _ => false,
    }
}

/// True when a valid count `expected` equals `actual`.
pub(super) fn count_equals(expected: &Value, actual: u64) -> bool {
    match expected.as_u64() {
        Some(e) => e == actual,
        None => expected.as_f64() == Some(actual as f64),
    }
}

/// JS `String(value)` for a JSON value (`undefined` when absent).
pub(super) fn js_string(value: Option<&Value>) -> String {
    match value {
        None => "undefined".into(),
        Some(Value::Null) => "null".into(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.to_string(),
            (None, Some(i)) => i.to_string(),
            _ => js_number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::Null => String::new(),
                other => js_string(Some(other)),
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Object(_)) => "[object Object]".into(),
    }
}

/// JS number-to-string for a finite double (JSON has no NaN or infinity).
fn js_number(f: f64) -> String {
    let abs = f.abs();
    if f.fract() == 0.0 && abs < 1e21 {
        return format!("{}", f as i128);
    }
    if !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        return match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        };
    }
    format!("{f}")
}

/// JS `String.prototype.trim` (Unicode whitespace plus the BOM).
pub(super) fn js_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// "Date-parseable": RFC 3339 (`2026-04-29T00:00:00.000Z`, `…+02:00`), an ISO
/// 8601 local date-time (`2026-04-29T00:00:00`, `2026-04-29T00:00`) or a
/// calendar date (`2026-04-29`).
pub(super) fn is_date_parseable(s: &str) -> bool {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    DateTime::parse_from_rfc3339(s).is_ok()
        || ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
            .iter()
            .any(|fmt| NaiveDateTime::parse_from_str(s, fmt).is_ok())
        || NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn js_string_matches_javascript() {
        assert_eq!(js_string(None), "undefined");
        assert_eq!(js_string(Some(&json!(null))), "null");
        assert_eq!(js_string(Some(&json!(2))), "2");
        assert_eq!(js_string(Some(&json!(2.0))), "2");
        assert_eq!(js_string(Some(&json!(1.5))), "1.5");
        assert_eq!(js_string(Some(&json!(-3))), "-3");
        assert_eq!(js_string(Some(&json!(1e21))), "1e+21");
        assert_eq!(js_string(Some(&json!("1"))), "1");
        assert_eq!(js_string(Some(&json!([1, null, "a"]))), "1,,a");
        assert_eq!(js_string(Some(&json!({"a": 1}))), "[object Object]");
        assert_eq!(js_string(Some(&json!(true))), "true");
    }

    #[test]
    fn counts_follow_number_is_integer() {
        for ok in [json!(0), json!(3), json!(2.0), json!(-0.0)] {
            assert!(valid_count(&ok), "{ok}");
        }
        for bad in [
            json!(1.5),
            json!("2"),
            json!(-1),
            json!(null),
            json!(true),
            json!([]),
        ] {
            assert!(!valid_count(&bad), "{bad}");
        }
        assert!(count_equals(&json!(2.0), 2));
        assert!(!count_equals(&json!(2), 3));
    }

    #[test]
    fn generated_at_accepts_iso_forms_only() {
        for ok in [
            "2026-04-29T00:00:00.000Z",
            "2026-04-29T00:00:00Z",
            "2026-04-29T02:00:00+02:00",
            "2026-04-29T00:00:00",
            "2026-04-29T00:00",
            "2026-04-29",
        ] {
            assert!(is_date_parseable(ok), "{ok}");
        }
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-04-29T25:00:00Z",
            "12345",
        ] {
            assert!(!is_date_parseable(bad), "{bad}");
        }
    }

    #[test]
    fn non_object_manifests_are_only_invalid_manifest() {
        for v in [
            json!(null),
            json!(false),
            json!(0),
            json!(""),
            json!([]),
            json!("x"),
            json!(1),
        ] {
            let issues = check_shape(&v);
            assert_eq!(issues.len(), 1, "{v}");
            assert_eq!(issues[0].code, "invalid_manifest");
        }
    }

    #[test]
    fn shape_issues_carry_fields_in_order() {
        let issues = check_shape(&json!({"schemaVersion": 2, "entitiesExported": {"users": -1}}));
        let codes: Vec<_> = issues.iter().map(|i| i.code).collect();
        assert_eq!(
            codes,
            [
                "unsupported_schema_version",
                "missing_provider",
                "invalid_generated_at",
                "invalid_entities_requested",
                "invalid_entity_count",
                "invalid_files",
                "invalid_importability",
                "invalid_secrets_redacted",
                "invalid_warnings",
            ]
        );
        assert_eq!(
            issues[0].message,
            "Unsupported migration package schemaVersion: 2"
        );
        assert_eq!(issues[4].field.as_deref(), Some("entitiesExported.users"));
    }
}
