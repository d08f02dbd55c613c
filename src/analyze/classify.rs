//! Retryability and fix suggestions of one error record (import.md §4).
//!
//! Retryable means "the same request can succeed later": exactly the
//! importer's own retry set ([`crate::workos::retry::is_retryable_status`]:
//! 408, 429, 500, 502, 503, 504) plus transport failures, which are recorded
//! without `httpStatus`. Unlike the original, a record without `httpStatus`
//! whose message is one of the importer's deterministic row errors (bad CSV
//! data, an organization that does not exist) is *not* retryable: it fails
//! the same way every time.

use crate::workos::retry::is_retryable_status;

/// Messages (prefixes) of row errors the importer produces itself, without
/// any HTTP request. Retrying such a row reproduces the error.
pub const DETERMINISTIC_MESSAGE_PREFIXES: &[&str] = &[
    "Missing required email",
    "Invalid metadata JSON",
    "Row cannot specify both org_id and org_external_id",
    "Invalid Record Length",
    "Organization not found",
];

/// True when `message` is one of the importer's own deterministic row errors.
pub fn is_deterministic_message(message: &str) -> bool {
    let m = message.trim_start();
    DETERMINISTIC_MESSAGE_PREFIXES
        .iter()
        .any(|p| m.starts_with(p))
}

/// Whether a record with this status and message can succeed on retry.
/// `status` is `None` when the record has no (or a zero) `httpStatus`.
pub fn is_retryable(status: Option<u64>, message: &str) -> bool {
    match status {
        Some(s) => u16::try_from(s).is_ok_and(is_retryable_status),
        None => !is_deterministic_message(message),
    }
}

/// The suggestion for a group (first match wins; `pattern` compared
/// lower-cased). Server-error advice is given only for statuses the importer
/// retries (a 501 is permanent and falls through).
pub fn suggestion(pattern: &str, error_type: &str, status: Option<u64>) -> &'static str {
    let lower = pattern.to_lowercase();
    match status {
        Some(429) => return "Reduce --concurrency value (try 5 or lower) and retry",
        Some(408) => {
            return "Request timed out \u{2014} retry with the generated retry CSV (duplicates will be skipped)"
        }
        Some(s) if s >= 500 && is_retryable(Some(s), pattern) => {
            return "Wait a few minutes and retry with the generated retry CSV"
        }
        Some(409) if error_type == "user_create" => {
            return "Users already exist in WorkOS \u{2014} these can be safely ignored"
        }
        Some(409) if error_type == "membership_create" => {
            return "Memberships already exist \u{2014} remove duplicate user-org pairs"
        }
        _ => {}
    }
    if error_type == "org_resolution" && lower.contains("not found") {
        return "Organization not found \u{2014} verify org_id/org_external_id values or use --create-org-if-missing";
    }
    if lower.contains("invalid email") {
        return "Fix email addresses in CSV to match name@domain.com format";
    }
    if lower.contains("password_hash") && lower.contains("type") {
        return "Add password_hash_type column for rows with password hashes";
    }
    if lower.contains("invalid json") {
        return "Fix malformed JSON in metadata column";
    }
    if matches!(status, Some(400) | Some(422)) {
        return "Validation error \u{2014} review error details and fix CSV data";
    }
    "Review error details in the examples"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workos::retry::RETRYABLE_STATUSES;

    #[test]
    fn retryable_set_is_the_importers() {
        for s in 100u64..=599 {
            assert_eq!(
                is_retryable(Some(s), "x"),
                RETRYABLE_STATUSES.contains(&(s as u16)),
                "{s}"
            );
        }
        assert!(!is_retryable(Some(70_000), "x"));
        assert!(is_retryable(
            None,
            "Unexpected error: error sending request"
        ));
        assert!(is_retryable(None, "Error: Request timeout"));
        assert!(!is_retryable(None, "Missing required email"));
        assert!(!is_retryable(None, "Invalid metadata JSON"));
        assert!(!is_retryable(None, "Organization not found: acme"));
        assert!(!is_retryable(
            None,
            "Invalid Record Length: columns length is 2, got 3 on line 2"
        ));
    }

    #[test]
    fn suggestions_first_match_wins() {
        assert!(suggestion("x", "user_create", Some(429)).starts_with("Reduce"));
        assert!(suggestion("x", "user_create", Some(408)).starts_with("Request timed out"));
        assert!(suggestion("x", "user_create", Some(503)).starts_with("Wait a few"));
        assert_eq!(
            suggestion("x", "user_create", Some(501)),
            "Review error details in the examples"
        );
        assert!(suggestion("x", "user_create", Some(409)).starts_with("Users already"));
        assert!(suggestion("x", "membership_create", Some(409)).starts_with("Memberships"));
        assert!(
            suggestion("Organization not found: a", "org_resolution", None)
                .starts_with("Organization not found")
        );
        assert!(
            suggestion("Invalid email format", "user_create", Some(422)).starts_with("Fix email")
        );
        assert!(suggestion("password_hash without TYPE", "user_create", None).starts_with("Add"));
        assert_eq!(
            suggestion("Invalid metadata JSON", "user_create", None),
            "Review error details in the examples"
        );
        assert!(
            suggestion("bad invalid JSON here", "user_create", None).starts_with("Fix malformed")
        );
        assert!(suggestion("x", "user_create", Some(422)).starts_with("Validation error"));
    }
}
