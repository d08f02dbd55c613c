//! Per-row rules of `validate --csv` (import.md §3 pass 1–2, plus the checks
//! the original README promised: password-hash formats for every WorkOS type
//! and WorkOS's metadata limits). Pure functions over one row's cells, so they
//! run in parallel on a batch.

use serde_json::Value;

use crate::hashes::check_password_hash;

/// The 13 columns the importer understands (import.md §2.1): the package's
/// `users.csv` header.
pub const KNOWN_COLUMNS: &[&str] = crate::package::schema::USERS_HEADER;

/// Metadata keys the importer treats as reserved (import.md §3).
pub const RESERVED_METADATA_KEYS: [&str; 10] = [
    "org_id",
    "org_name",
    "org_external_id",
    "email",
    "first_name",
    "last_name",
    "email_verified",
    "external_id",
    "password_hash",
    "password_hash_type",
];

/// WorkOS metadata limits (workos-api.md §2.1), as the exporters check them
/// ([`crate::package::limits`]).
pub const METADATA_MAX_KEYS: usize = crate::package::limits::MAX_METADATA_KEYS;
pub const METADATA_MAX_KEY_CHARS: usize = crate::package::limits::MAX_METADATA_KEY_CHARS;
pub const METADATA_MAX_VALUE_CHARS: usize = crate::package::limits::MAX_METADATA_VALUE_CHARS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding. `row` is the 1-based data row (0 = the header).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowIssue {
    pub severity: Severity,
    pub rule: &'static str,
    pub row: u64,
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<&'static str>,
    pub message: String,
}

/// Column positions of the known columns in the file being read.
#[derive(Debug, Clone, Default)]
pub struct ColumnMap {
    idx: [Option<usize>; 13],
}

/// Names a known column by position in [`KNOWN_COLUMNS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Col {
    Email = 0,
    Password,
    PasswordHash,
    PasswordHashType,
    FirstName,
    LastName,
    EmailVerified,
    ExternalId,
    Metadata,
    OrgId,
    OrgExternalId,
    OrgName,
    RoleSlugs,
}

impl Col {
    pub fn name(self) -> &'static str {
        KNOWN_COLUMNS[self as usize]
    }
}

impl ColumnMap {
    /// Maps a header; the first occurrence of a name wins.
    pub fn new(header: &[String]) -> Self {
        let mut idx = [None; 13];
        for (slot, name) in idx.iter_mut().zip(KNOWN_COLUMNS) {
            *slot = header.iter().position(|h| h == name);
        }
        Self { idx }
    }

    pub fn get(&self, col: Col) -> Option<usize> {
        self.idx[col as usize]
    }

    pub fn has(&self, col: Col) -> bool {
        self.get(col).is_some()
    }
}

/// A row's cells addressed by known column; absent columns read as "".
pub struct RowView<'a> {
    pub cells: &'a [&'a str],
    pub map: &'a ColumnMap,
}

impl<'a> RowView<'a> {
    pub fn get(&self, col: Col) -> &'a str {
        self.map
            .get(col)
            .and_then(|i| self.cells.get(i).copied())
            .unwrap_or("")
    }
}

/// Lower-cased, trimmed booleans the validator accepts (import.md §3 rule 2).
pub fn is_known_boolean(v: &str) -> bool {
    let v = v.trim();
    ["true", "false", "yes", "no", "1", "0", "y", "n"]
        .iter()
        .any(|b| b.eq_ignore_ascii_case(v))
}

/// Splits `role_slugs` the importer's way: a JSON array, else comma-separated.
pub fn split_role_slugs(raw: &str) -> Vec<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Vec::new();
    }
    if raw.starts_with('[') {
        if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(raw) {
            return items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.trim().to_string(),
                    other => other.to_string(),
                })
                .filter(|s| !s.is_empty())
                .collect();
        }
    }
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn is_valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// JS `typeof` of a JSON value, for the non-string metadata message.
fn js_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Null | Value::Array(_) | Value::Object(_) => "object",
    }
}

/// Adds the issues of one row to `out`.
pub fn check_row(row: &RowView<'_>, row_no: u64, line: u64, out: &mut Vec<RowIssue>) {
    let mut push = |severity, rule, column: Option<Col>, message: String| {
        out.push(RowIssue {
            severity,
            rule,
            row: row_no,
            line,
            column: column.map(Col::name),
            message,
        });
    };
    use Severity::{Error, Warning};

    // 1. email
    let raw_email = row.get(Col::Email);
    let email = raw_email.trim();
    if email.is_empty() {
        push(
            Error,
            "missing_email",
            Some(Col::Email),
            "Missing required email".into(),
        );
    } else if !email.contains('@') {
        push(
            Error,
            "invalid_email",
            Some(Col::Email),
            format!("Invalid email format: {email}"),
        );
    } else if email.len() != raw_email.len() {
        push(
            Warning,
            "email_whitespace",
            Some(Col::Email),
            "Email has leading/trailing whitespace".into(),
        );
    }

    // 2. email_verified
    let verified = row.get(Col::EmailVerified);
    if !verified.trim().is_empty() && !is_known_boolean(verified) {
        push(
            Warning,
            "invalid_boolean",
            Some(Col::EmailVerified),
            format!("Invalid boolean value: \"{verified}\""),
        );
    }

    // 3. metadata
    let metadata = row.get(Col::Metadata).trim();
    if !metadata.is_empty() {
        match serde_json::from_str::<Value>(metadata) {
            Err(_) => push(
                Error,
                "invalid_metadata_json",
                Some(Col::Metadata),
                "Invalid JSON in metadata field".into(),
            ),
            Ok(Value::Object(map)) => {
                if map.len() > METADATA_MAX_KEYS {
                    push(
                        Error,
                        "metadata_too_many_keys",
                        Some(Col::Metadata),
                        format!(
                            "Metadata has {} keys; WorkOS allows at most {METADATA_MAX_KEYS}",
                            map.len()
                        ),
                    );
                }
                for (k, v) in &map {
                    let key_chars = k.chars().count();
                    if key_chars > METADATA_MAX_KEY_CHARS {
                        push(
                            Error,
                            "metadata_key_too_long",
                            Some(Col::Metadata),
                            format!("Metadata key \"{k}\" is {key_chars} characters; WorkOS allows at most {METADATA_MAX_KEY_CHARS}"),
                        );
                    }
                    // Non-strings are sent as their JSON text after auto-fix,
                    // so that text is what must fit.
                    let value_chars = match v {
                        Value::String(s) => s.chars().count(),
                        other => other.to_string().chars().count(),
                    };
                    if value_chars > METADATA_MAX_VALUE_CHARS {
                        push(
                            Error,
                            "metadata_value_too_long",
                            Some(Col::Metadata),
                            format!("Metadata value for \"{k}\" is {value_chars} characters; WorkOS allows at most {METADATA_MAX_VALUE_CHARS}"),
                        );
                    }
                    if !v.is_string() {
                        push(
                            Warning,
                            "metadata_non_string",
                            Some(Col::Metadata),
                            format!("Metadata field \"{k}\" is not a string ({})", js_type(v)),
                        );
                    }
                    if RESERVED_METADATA_KEYS.contains(&k.as_str()) {
                        push(
                            Warning,
                            "metadata_reserved_key",
                            Some(Col::Metadata),
                            format!("Metadata contains reserved field name \"{k}\""),
                        );
                    }
                }
            }
            Ok(_) => push(
                Error,
                "metadata_not_object",
                Some(Col::Metadata),
                "Metadata must be a JSON object".into(),
            ),
        }
    }

    // 4. password hash + type
    let hash = row.get(Col::PasswordHash).trim();
    let hash_type = row.get(Col::PasswordHashType).trim();
    match (hash.is_empty(), hash_type.is_empty()) {
        (false, true) => push(
            Error,
            "hash_without_type",
            Some(Col::PasswordHash),
            "password_hash provided without password_hash_type".into(),
        ),
        (true, false) => push(
            Error,
            "type_without_hash",
            Some(Col::PasswordHashType),
            "password_hash_type provided without password_hash".into(),
        ),
        (false, false) => {
            if let Err(e) = check_password_hash(hash_type, hash) {
                let column = if e.rule() == "unsupported_hash_type" {
                    Col::PasswordHashType
                } else {
                    Col::PasswordHash
                };
                push(Error, e.rule(), Some(column), e.to_string());
            }
        }
        (true, true) => {}
    }

    // 5. org columns
    if !row.get(Col::OrgId).trim().is_empty() && !row.get(Col::OrgExternalId).trim().is_empty() {
        push(
            Error,
            "org_id_and_external_id",
            Some(Col::OrgId),
            "Row has both org_id and org_external_id \u{2014} these are mutually exclusive".into(),
        );
    }

    // 6. role slugs
    for slug in split_role_slugs(row.get(Col::RoleSlugs)) {
        if !is_valid_slug(&slug) {
            push(
                Error,
                "invalid_role_slug",
                Some(Col::RoleSlugs),
                format!("Invalid role slug \"{slug}\" \u{2014} must be lowercase alphanumeric with hyphens/underscores"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(header: &str, cells: &[&str]) -> Vec<(&'static str, Severity)> {
        let header: Vec<String> = header.split(',').map(str::to_string).collect();
        let map = ColumnMap::new(&header);
        let mut out = Vec::new();
        check_row(&RowView { cells, map: &map }, 1, 2, &mut out);
        out.into_iter().map(|i| (i.rule, i.severity)).collect()
    }

    #[test]
    fn email_rules() {
        assert_eq!(issues("email", &[""]), [("missing_email", Severity::Error)]);
        assert_eq!(
            issues("email", &["not-an-email"]),
            [("invalid_email", Severity::Error)]
        );
        assert_eq!(
            issues("email", &[" a@x.com "]),
            [("email_whitespace", Severity::Warning)]
        );
        assert!(issues("email", &["a@x.com"]).is_empty());
    }

    #[test]
    fn metadata_rules() {
        let h = "email,metadata";
        assert_eq!(
            issues(h, &["a@x.com", "{invalid json}"])[0].0,
            "invalid_metadata_json"
        );
        assert_eq!(issues(h, &["a@x.com", "[1]"])[0].0, "metadata_not_object");
        assert_eq!(issues(h, &["a@x.com", "null"])[0].0, "metadata_not_object");
        assert_eq!(
            issues(h, &["a@x.com", r#"{"n":1}"#]),
            [("metadata_non_string", Severity::Warning)]
        );
        assert_eq!(
            issues(h, &["a@x.com", r#"{"email":"x"}"#]),
            [("metadata_reserved_key", Severity::Warning)]
        );
        let many: String = format!(
            "{{{}}}",
            (0..51)
                .map(|i| format!("\"k{i}\":\"v\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(
            issues(h, &["a@x.com", &many]),
            [("metadata_too_many_keys", Severity::Error)]
        );
        let long_key = format!("{{\"{}\":\"v\"}}", "k".repeat(41));
        assert_eq!(
            issues(h, &["a@x.com", &long_key])[0].0,
            "metadata_key_too_long"
        );
        let long_val = format!("{{\"k\":\"{}\"}}", "é".repeat(601));
        assert_eq!(
            issues(h, &["a@x.com", &long_val])[0].0,
            "metadata_value_too_long"
        );
        let ok_val = format!("{{\"k\":\"{}\"}}", "é".repeat(600));
        assert!(issues(h, &["a@x.com", &ok_val]).is_empty());
    }

    #[test]
    fn hash_org_role_boolean_rules() {
        let h = "email,password_hash,password_hash_type,org_id,org_external_id,role_slugs,email_verified";
        let bcrypt = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
        assert!(issues(
            h,
            &["a@x.com", bcrypt, "bcrypt", "", "", "admin,member", "Yes"]
        )
        .is_empty());
        assert_eq!(
            issues(h, &["a@x.com", bcrypt, "", "", "", "", ""])[0].0,
            "hash_without_type"
        );
        assert_eq!(
            issues(h, &["a@x.com", "", "bcrypt", "", "", "", ""])[0].0,
            "type_without_hash"
        );
        assert_eq!(
            issues(h, &["a@x.com", "abc", "md5", "", "", "", ""])[0].0,
            "unsupported_hash_type"
        );
        assert_eq!(
            issues(h, &["a@x.com", &bcrypt[..59], "bcrypt", "", "", "", ""])[0].0,
            "malformed_hash"
        );
        assert_eq!(
            issues(h, &["a@x.com", "", "", "org_1", "ext", "", ""])[0].0,
            "org_id_and_external_id"
        );
        assert_eq!(
            issues(h, &["a@x.com", "", "", "", "", "Admin", ""])[0].0,
            "invalid_role_slug"
        );
        assert_eq!(
            issues(h, &["a@x.com", "", "", "", "", "[\"ok\",\"No!\"]", ""])[0].0,
            "invalid_role_slug"
        );
        assert_eq!(
            issues(h, &["a@x.com", "", "", "", "", "", "maybe"])[0].0,
            "invalid_boolean"
        );
    }
}
