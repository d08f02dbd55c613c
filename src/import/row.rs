//! The per-row transformation of an import CSV (import.md §2.1): which columns
//! are known, how one record's cells become a `POST /user_management/users`
//! body, an organization reference and role slugs, or a row error carrying
//! the original tool's message.
//!
//! Every cell is trimmed (the original trimmed outside quotes; the reader no
//! longer knows where quotes were, so surrounding whitespace goes either way).
//! Metadata values are always sent as strings: WorkOS rejects any other type,
//! so numbers and booleans are stringified, objects and arrays become their
//! compact JSON, and `null` entries are left out. Metadata that is not a JSON
//! object is `Invalid metadata JSON`.

use arrow::array::{Array, RecordBatch, StringArray};
use serde_json::{Map, Value};

use crate::workos::CreateUser;

/// The columns the importer reads; others are ignored with a warning.
/// The import CSV header is the package `users.csv` header (import.md §2.1).
pub const KNOWN_COLUMNS: &[&str] = crate::package::schema::USERS_HEADER;

/// The organization columns (their presence makes a file multi-org).
pub const ORG_COLUMNS: [&str; 3] = ["org_id", "org_external_id", "org_name"];

/// Why one row cannot be imported; the messages are the original tool's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("Missing required email")]
    MissingEmail,
    #[error("Invalid metadata JSON")]
    InvalidMetadata,
    #[error("Row cannot specify both org_id and org_external_id")]
    BothOrgIds,
    /// The record's field count differs from the header's.
    #[error("Invalid Record Length: columns length is {expected}, got {found} on line {line}")]
    RecordLength {
        expected: usize,
        found: usize,
        line: u64,
    },
}

/// Positions of the known columns in one file's header (first occurrence).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    positions: [Option<usize>; 13],
}

impl ColumnMap {
    /// The map of `header`, plus the unknown column names in header order.
    pub fn from_header(header: &[String]) -> (Self, Vec<String>) {
        let mut positions = [None; 13];
        let mut unknown = Vec::new();
        for (i, name) in header.iter().enumerate() {
            match KNOWN_COLUMNS.iter().position(|k| k == name) {
                Some(k) => {
                    if positions[k].is_none() {
                        positions[k] = Some(i);
                    }
                }
                None => unknown.push(name.clone()),
            }
        }
        (Self { positions }, unknown)
    }

    /// Position of a known column.
    pub fn position(&self, name: &str) -> Option<usize> {
        KNOWN_COLUMNS
            .iter()
            .position(|k| *k == name)
            .and_then(|k| self.positions[k])
    }

    pub fn has_email(&self) -> bool {
        self.positions[0].is_some()
    }

    /// Whether any of `org_id`, `org_external_id`, `org_name` is present.
    pub fn has_org_columns(&self) -> bool {
        ORG_COLUMNS.iter().any(|c| self.position(c).is_some())
    }
}

/// The known cells of one record, as read (untrimmed; `None` = column absent
/// or the record too short).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawRow<'a> {
    pub cells: [Option<&'a str>; 13],
}

impl<'a> RawRow<'a> {
    /// Row `i` of a batch of Utf8 columns, through `map`.
    pub fn from_columns(columns: &[&'a StringArray], map: &ColumnMap, i: usize) -> Self {
        let mut cells = [None; 13];
        for (k, pos) in map.positions.iter().enumerate() {
            if let Some(col) = pos.and_then(|p| columns.get(p)) {
                if i < col.len() && !col.is_null(i) {
                    cells[k] = Some(col.value(i));
                }
            }
        }
        Self { cells }
    }

    /// A row from `(column, value)` pairs (tests and callers without Arrow).
    pub fn from_pairs(pairs: &[(&str, &'a str)]) -> Self {
        let mut cells = [None; 13];
        for (name, value) in pairs {
            if let Some(k) = KNOWN_COLUMNS.iter().position(|c| c == name) {
                cells[k] = Some(*value);
            }
        }
        Self { cells }
    }

    /// A known cell, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        let k = KNOWN_COLUMNS.iter().position(|c| *c == name)?;
        self.cells[k].map(str::trim).filter(|v| !v.is_empty())
    }

    /// The email cell trimmed (`""` when blank), for error records.
    pub fn email_cell(&self) -> &'a str {
        self.cells[0].map(str::trim).unwrap_or("")
    }
}

/// The organization named by a row (at most one of `id` / `external_id`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgColumns {
    pub id: Option<String>,
    pub external_id: Option<String>,
    pub name: Option<String>,
}

/// One row, ready for the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    /// Email as read (trimmed, case kept).
    pub email: String,
    pub user: CreateUser,
    /// Present when any org column is non-blank.
    pub org: Option<OrgColumns>,
    /// Trimmed, non-empty, de-duplicated, in order.
    pub role_slugs: Vec<String>,
}

/// The §2.1 transformation of one record.
pub fn build_row(raw: &RawRow<'_>) -> Result<ImportRow, RowError> {
    let email = raw.get("email").ok_or(RowError::MissingEmail)?.to_string();
    let mut user = CreateUser {
        email: email.clone(),
        ..CreateUser::default()
    };
    match (raw.get("password_hash"), raw.get("password_hash_type")) {
        (Some(hash), Some(kind)) => {
            user.password_hash = Some(hash.to_string());
            user.password_hash_type = Some(kind.to_string());
        }
        _ => user.password = raw.get("password").map(str::to_string),
    }
    user.first_name = raw.get("first_name").map(str::to_string);
    user.last_name = raw.get("last_name").map(str::to_string);
    user.email_verified = raw.get("email_verified").and_then(parse_bool);
    user.external_id = raw.get("external_id").map(str::to_string);
    if let Some(text) = raw.get("metadata") {
        user.metadata = Some(flatten_metadata(text)?);
    }
    let org = OrgColumns {
        id: raw.get("org_id").map(str::to_string),
        external_id: raw.get("org_external_id").map(str::to_string),
        name: raw.get("org_name").map(str::to_string),
    };
    if org.id.is_some() && org.external_id.is_some() {
        return Err(RowError::BothOrgIds);
    }
    let has_org = org.id.is_some() || org.external_id.is_some() || org.name.is_some();
    Ok(ImportRow {
        email,
        user,
        org: has_org.then_some(org),
        role_slugs: raw
            .get("role_slugs")
            .map(parse_role_slugs)
            .unwrap_or_default(),
    })
}

/// `true`/`yes`/`1` and `false`/`no`/`0`, any case; anything else is absent.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// A metadata cell as the string map WorkOS accepts.
pub fn flatten_metadata(text: &str) -> Result<Map<String, Value>, RowError> {
    let Ok(Value::Object(entries)) = serde_json::from_str::<Value>(text.trim()) else {
        return Err(RowError::InvalidMetadata);
    };
    let mut out = Map::with_capacity(entries.len());
    for (key, value) in entries {
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            nested @ (Value::Array(_) | Value::Object(_)) => nested.to_string(),
        };
        out.insert(key, Value::String(text));
    }
    Ok(out)
}

/// `role_slugs`: a JSON array when it starts with `[` and parses as one,
/// else comma-separated. Trimmed, empties dropped, repeats dropped.
pub fn parse_role_slugs(text: &str) -> Vec<String> {
    let text = text.trim();
    let items: Vec<String> = match text
        .starts_with('[')
        .then(|| serde_json::from_str::<Vec<Value>>(text).ok())
        .flatten()
    {
        Some(values) => values
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                Value::Null => None,
                other => Some(other.to_string()),
            })
            .collect(),
        None => text.split(',').map(str::to_string).collect(),
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let slug = item.trim();
        if !slug.is_empty() && !out.iter().any(|s| s == slug) {
            out.push(slug.to_string());
        }
    }
    out
}

/// Utf8 columns of a batch (every column the CSV reader makes is Utf8).
pub fn string_columns(batch: &RecordBatch) -> Vec<&StringArray> {
    batch
        .columns()
        .iter()
        .filter_map(|c| c.as_any().downcast_ref::<StringArray>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Result<ImportRow, RowError> {
        build_row(&RawRow::from_pairs(pairs))
    }

    #[test]
    fn body_keys_trimmed_and_blank_fields_omitted() {
        let r = row(&[
            ("email", "  Alice@Example.com "),
            ("first_name", " Alice "),
            ("last_name", "   "),
            ("email_verified", "YES"),
            ("external_id", "ext-1"),
        ])
        .unwrap();
        assert_eq!(r.email, "Alice@Example.com");
        assert_eq!(
            serde_json::to_string(&r.user).unwrap(),
            r#"{"email":"Alice@Example.com","first_name":"Alice","email_verified":true,"external_id":"ext-1"}"#
        );
        assert_eq!(r.org, None);
        assert!(r.role_slugs.is_empty());
    }

    #[test]
    fn missing_email() {
        assert_eq!(row(&[("email", "  ")]), Err(RowError::MissingEmail));
        assert_eq!(row(&[("first_name", "A")]), Err(RowError::MissingEmail));
    }

    #[test]
    fn password_precedence() {
        let both = row(&[
            ("email", "a@x.com"),
            ("password", "plain"),
            ("password_hash", "$2b$10$abc"),
            ("password_hash_type", "bcrypt"),
        ])
        .unwrap();
        assert_eq!(both.user.password, None);
        assert_eq!(both.user.password_hash.as_deref(), Some("$2b$10$abc"));
        assert_eq!(both.user.password_hash_type.as_deref(), Some("bcrypt"));
        let hash_without_type = row(&[
            ("email", "a@x.com"),
            ("password", "plain"),
            ("password_hash", "$2b$10$abc"),
        ])
        .unwrap();
        assert_eq!(hash_without_type.user.password.as_deref(), Some("plain"));
        assert_eq!(hash_without_type.user.password_hash, None);
        let nothing = row(&[("email", "a@x.com"), ("password_hash", "h")]).unwrap();
        assert_eq!(nothing.user.password, None);
        assert_eq!(nothing.user.password_hash, None);
    }

    #[test]
    fn email_verified_values() {
        for (v, want) in [
            ("true", Some(true)),
            (" TRUE ", Some(true)),
            ("1", Some(true)),
            ("no", Some(false)),
            ("0", Some(false)),
            ("False", Some(false)),
            ("y", None),
            ("n", None),
            ("", None),
        ] {
            assert_eq!(parse_bool(v), want, "{v:?}");
        }
    }

    #[test]
    fn metadata_values_become_strings() {
        let m = flatten_metadata(r#"{"a":1,"b":{"c":2},"n":null,"t":true,"s":"x","l":[1,"y"]}"#)
            .unwrap();
        assert_eq!(
            Value::Object(m).to_string(),
            r#"{"a":"1","b":"{\"c\":2}","t":"true","s":"x","l":"[1,\"y\"]"}"#
        );
        for bad in ["{", "null", "\"abc\"", "[1]", "3", "true"] {
            assert_eq!(
                flatten_metadata(bad),
                Err(RowError::InvalidMetadata),
                "{bad}"
            );
        }
        assert_eq!(
            row(&[("email", "a@x.com"), ("metadata", "{oops")]),
            Err(RowError::InvalidMetadata)
        );
        let empty = row(&[("email", "a@x.com"), ("metadata", "{}")]).unwrap();
        assert_eq!(empty.user.metadata, Some(Map::new()));
    }

    #[test]
    fn org_columns() {
        assert_eq!(
            row(&[
                ("email", "a@x.com"),
                ("org_id", "org_1"),
                ("org_external_id", "e")
            ]),
            Err(RowError::BothOrgIds)
        );
        let r = row(&[
            ("email", "a@x.com"),
            ("org_id", " "),
            ("org_external_id", " acme "),
            ("org_name", "Acme"),
        ])
        .unwrap();
        assert_eq!(
            r.org,
            Some(OrgColumns {
                id: None,
                external_id: Some("acme".into()),
                name: Some("Acme".into())
            })
        );
        let name_only = row(&[("email", "a@x.com"), ("org_name", "Acme")]).unwrap();
        assert_eq!(name_only.org.unwrap().name.as_deref(), Some("Acme"));
    }

    #[test]
    fn role_slugs_json_or_comma() {
        assert_eq!(parse_role_slugs("admin, member,,"), vec!["admin", "member"]);
        assert_eq!(
            parse_role_slugs(r#"[" admin ","member",""]"#),
            vec!["admin", "member"]
        );
        assert_eq!(parse_role_slugs("[a,b"), vec!["[a", "b"]);
        assert_eq!(parse_role_slugs("[1, \"x\"]"), vec!["1", "x"]);
        assert_eq!(parse_role_slugs("admin,admin"), vec!["admin"]);
        assert!(parse_role_slugs("  ").is_empty());
    }

    #[test]
    fn column_map_and_unknown_columns() {
        let header: Vec<String> = ["email", "nick", "org_name", "x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (map, unknown) = ColumnMap::from_header(&header);
        assert!(map.has_email());
        assert!(map.has_org_columns());
        assert_eq!(map.position("org_name"), Some(2));
        assert_eq!(unknown, vec!["nick", "x"]);
    }

    #[test]
    fn record_length_message() {
        assert_eq!(
            RowError::RecordLength {
                expected: 2,
                found: 3,
                line: 2
            }
            .to_string(),
            "Invalid Record Length: columns length is 2, got 3 on line 2"
        );
    }
}
