//! Errors of WorkOS calls: an HTTP error response parsed into status, `code`,
//! sub-codes (`errors[].code`), the `X-Request-ID` and `Retry-After`, or a
//! transport failure (timeout, refused or reset connection).
//!
//! Messages follow the original tool's SDK mapping (import.md §8.3) so
//! `errors.jsonl` reads the same, with two deliberate differences: the real
//! HTTP status is always kept (the SDK reported a 503 with `code`+`errors` as
//! 400), and the request id is captured. Nothing here ever contains the API
//! key or a request body.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// Longest slice of a non-JSON error body kept in a message.
const MAX_BODY_CHARS: usize = 120;

/// Why a WorkOS call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WorkOsError {
    /// The API answered with a non-2xx status.
    #[error("{0}")]
    Api(ApiError),
    /// No usable response: timeout, connection refused or reset, broken body.
    #[error("{message}")]
    Transport {
        kind: TransportKind,
        message: String,
    },
    /// A 2xx response whose body did not parse as the expected object.
    #[error("Unexpected response from {path}: {detail}")]
    Decode { path: String, detail: String },
    /// `--endpoint` / `WORKOS_API_URL` is not an http(s) URL.
    #[error("Invalid URL: {endpoint}")]
    InvalidEndpoint { endpoint: String },
    /// No API key configured.
    #[error("{}", super::MISSING_KEY_MESSAGE)]
    MissingApiKey,
}

/// Kind of a transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The client-side timeout fired (recorded with status 408 like the SDK).
    Timeout,
    /// Could not connect.
    Connect,
    /// The connection closed or reset before a full response arrived.
    Reset,
    /// Anything else on the wire.
    Other,
}

/// A non-2xx WorkOS response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: u16,
    pub code: Option<String>,
    pub message: String,
    /// `errors[]` items as sent (`{code, message}` or `{field, code}`).
    pub errors: Vec<Value>,
    pub request_id: Option<String>,
    /// `Retry-After` (seconds or HTTP date), when present.
    pub retry_after: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
struct ApiErrorBody {
    code: Option<String>,
    message: Option<String>,
    errors: Option<Vec<Value>>,
    error: Option<String>,
    error_description: Option<String>,
}

const OAUTH_CODES: [&str; 6] = [
    "email_verification_required",
    "organization_selection_required",
    "mfa_enrollment",
    "mfa_challenge",
    "mfa_verification",
    "sso_required",
];

impl ApiError {
    /// Parses an error response the way the original SDK turned it into a
    /// message and code (import.md §8.3), keeping the real status.
    pub fn from_response(
        status: u16,
        path: &str,
        request_id: Option<String>,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Self {
        let parsed: Option<ApiErrorBody> = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => serde_json::from_value(Value::Object(map)).ok(),
            Ok(Value::String(s)) => Some(ApiErrorBody {
                message: Some(s),
                ..Default::default()
            }),
            _ => None,
        };
        let Some(b) = parsed else {
            let text = String::from_utf8_lossy(body);
            let snippet: String = text
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_BODY_CHARS)
                .collect();
            return Self {
                status,
                code: None,
                message: format!("Unexpected error: HTTP {status} with a non-JSON body: {snippet}"),
                errors: Vec::new(),
                request_id,
                retry_after,
            };
        };
        let errors = b.errors.clone().unwrap_or_default();
        let (message, code) = match status {
            401 => (
                "Could not authorize the request. Maybe your API key is invalid?".to_string(),
                None,
            ),
            404 => (
                b.message
                    .clone()
                    .unwrap_or_else(|| format!("The requested path '{path}' could not be found.")),
                b.code.clone(),
            ),
            409 => (
                b.message
                    .clone()
                    .or_else(|| b.error.as_ref().map(|e| format!("Error: {e}")))
                    .unwrap_or_else(|| "A conflict has occurred on the server.".to_string()),
                b.code.clone(),
            ),
            422 => {
                let message = if let Some(errs) = &b.errors {
                    let codes: Vec<String> = errs
                        .iter()
                        .filter_map(|e| e.get("code").and_then(Value::as_str))
                        .map(|c| format!("\t{c}\n"))
                        .collect();
                    let noun = if errs.len() > 1 {
                        "requirements"
                    } else {
                        "requirement"
                    };
                    format!("The following {noun} must be met:\n{}", codes.concat())
                } else {
                    b.message
                        .clone()
                        .unwrap_or_else(|| "Unprocessable entity".to_string())
                };
                (message, b.code.clone())
            }
            429 => (
                b.message
                    .clone()
                    .unwrap_or_else(|| "Too many requests".to_string()),
                b.code.clone(),
            ),
            _ => {
                let oauth = b
                    .code
                    .as_deref()
                    .or(b.error.as_deref())
                    .filter(|c| OAUTH_CODES.contains(c))
                    .map(str::to_string);
                if let Some(c) = oauth {
                    (
                        b.message
                            .clone()
                            .or_else(|| b.error_description.clone())
                            .unwrap_or_default(),
                        Some(c),
                    )
                } else if b.error.is_some() || b.error_description.is_some() {
                    let m = match (&b.error, &b.error_description) {
                        (Some(e), Some(d)) => format!("Error: {e}\nError Description: {d}"),
                        (Some(e), None) => format!("Error: {e}"),
                        _ => "An error has occurred.".to_string(),
                    };
                    (m, None)
                } else if b.code.is_some() && b.errors.is_some() {
                    (
                        b.message
                            .clone()
                            .unwrap_or_else(|| "Bad request".to_string()),
                        b.code.clone(),
                    )
                } else {
                    (
                        b.message
                            .clone()
                            .unwrap_or_else(|| "The request could not be completed.".to_string()),
                        b.code.clone(),
                    )
                }
            }
        };
        Self {
            status,
            code,
            message,
            errors,
            request_id,
            retry_after,
        }
    }

    /// Codes of the `errors[]` items.
    pub fn sub_codes(&self) -> impl Iterator<Item = &str> {
        self.errors
            .iter()
            .filter_map(|e| e.get("code").and_then(Value::as_str))
    }
}

impl WorkOsError {
    /// HTTP status to record: the response status, or 408 for a client timeout.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(e) => Some(e.status),
            Self::Transport {
                kind: TransportKind::Timeout,
                ..
            } => Some(408),
            _ => None,
        }
    }

    /// The body's `code`.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api(e) => e.code.as_deref(),
            _ => None,
        }
    }

    /// The `X-Request-ID` of the failing response.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api(e) => e.request_id.as_deref(),
            _ => None,
        }
    }

    /// `errors[]` of the response body.
    pub fn errors(&self) -> &[Value] {
        match self {
            Self::Api(e) => &e.errors,
            _ => &[],
        }
    }

    /// Whether retrying the same request can succeed (see [`super::retry`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api(e) => super::retry::is_retryable_status(e.status),
            Self::Transport { .. } => true,
            Self::Decode { .. } | Self::InvalidEndpoint { .. } | Self::MissingApiKey => false,
        }
    }

    /// "User already exists" as the original classifies it (import.md §8.4):
    /// code `user_already_exists`; or `user_creation_error` with no `errors`
    /// or with an `email_not_available` / `external_id_already_used` item;
    /// otherwise a message containing `already exists` or `duplicate`.
    pub fn is_duplicate_user(&self) -> bool {
        let Self::Api(e) = self else {
            return false;
        };
        match e.code.as_deref() {
            Some("user_already_exists") => return true,
            Some("user_creation_error") => {
                if e.errors.is_empty() {
                    return true;
                }
                return e
                    .sub_codes()
                    .any(|c| c == "email_not_available" || c == "external_id_already_used");
            }
            _ => {}
        }
        if !e.errors.is_empty() && e.code.as_deref() == Some("user_creation_error") {
            return false;
        }
        e.message.contains("already exists") || e.message.contains("duplicate")
    }

    /// Which uniqueness rule a duplicate-user error names, if any.
    pub fn duplicate_user_key(&self) -> Option<DuplicateKey> {
        let Self::Api(e) = self else {
            return None;
        };
        if e.sub_codes().any(|c| c == "external_id_already_used")
            || e.code.as_deref() == Some("external_id_already_used")
        {
            Some(DuplicateKey::ExternalId)
        } else if self.is_duplicate_user() {
            Some(DuplicateKey::Email)
        } else {
            None
        }
    }
}

/// The unique key a create collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateKey {
    Email,
    ExternalId,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, body: &str) -> WorkOsError {
        WorkOsError::Api(ApiError::from_response(
            status,
            "/x",
            Some("req_1".into()),
            None,
            body.as_bytes(),
        ))
    }

    #[test]
    fn messages_follow_the_sdk_mapping() {
        let e = api(
            422,
            r#"{"code":"invalid_request_parameters","errors":[{"code":"email_invalid"}]}"#,
        );
        assert_eq!(
            e.to_string(),
            "The following requirement must be met:\n\temail_invalid\n"
        );
        assert_eq!(e.code(), Some("invalid_request_parameters"));
        let e = api(401, r#"{"message":"nope"}"#);
        assert_eq!(
            e.to_string(),
            "Could not authorize the request. Maybe your API key is invalid?"
        );
        let e = api(503, r#"{"code":"c","message":"m","errors":[]}"#);
        assert_eq!(e.status(), Some(503), "real status kept");
        assert_eq!(e.request_id(), Some("req_1"));
        let e = api(502, "<html>bad gateway</html>");
        assert!(e.to_string().starts_with("Unexpected error: HTTP 502"));
        assert!(e.is_retryable());
    }

    #[test]
    fn duplicate_user_classification() {
        let dup = api(
            400,
            r#"{"code":"user_creation_error","message":"x","errors":[{"code":"email_not_available","message":"m"}]}"#,
        );
        assert!(dup.is_duplicate_user());
        assert_eq!(dup.duplicate_user_key(), Some(DuplicateKey::Email));
        let ext = api(
            400,
            r#"{"code":"user_creation_error","message":"x","errors":[{"code":"external_id_already_used","message":"m"}]}"#,
        );
        assert_eq!(ext.duplicate_user_key(), Some(DuplicateKey::ExternalId));
        let other = api(
            400,
            r#"{"code":"user_creation_error","message":"already exists","errors":[{"code":"password_too_weak"}]}"#,
        );
        assert!(!other.is_duplicate_user());
        assert!(api(400, r#"{"message":"User already exists in env"}"#).is_duplicate_user());
        assert!(
            !api(400, r#"{"code":"invalid_password_hash","message":"bad"}"#).is_duplicate_user()
        );
    }
}
