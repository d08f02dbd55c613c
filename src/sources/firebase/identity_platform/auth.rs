//! Google service-account authentication (OAuth 2.0 JWT bearer grant,
//! RFC 7523): the key file, an RS256 assertion signed with the `rsa` crate
//! (PKCS#1 v1.5 + SHA-256) and its exchange at the key's `token_uri` for an
//! access token, cached until shortly before it expires.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde::Deserialize;
use serde_json::{json, Value};

use super::IdentityPlatformError;
use crate::sources::sso::http::{self, HttpFailure, RetryPolicy};

/// OAuth scope requested for the admin API.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Token endpoint when the key file names none.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Lifetime requested for an assertion, in seconds.
const ASSERTION_LIFETIME: i64 = 3600;
/// A cached token is renewed this long before it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The fields of a Google service-account key file that are used.
#[derive(Clone, Deserialize)]
pub struct ServiceAccountKey {
    #[serde(rename = "type", default)]
    pub key_type: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub private_key_id: Option<String>,
    pub private_key: String,
    pub client_email: String,
    #[serde(default)]
    pub token_uri: Option<String>,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("private_key", &"[REDACTED]")
            .finish()
    }
}

impl ServiceAccountKey {
    /// Reads and checks a key file.
    pub fn from_file(path: &Path) -> Result<Self, IdentityPlatformError> {
        if !path.is_file() {
            return Err(IdentityPlatformError::KeyNotFound(path.to_path_buf()));
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| IdentityPlatformError::InvalidKey {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        Self::from_json(&text).map_err(|e| match e {
            IdentityPlatformError::InvalidKey { reason, .. } => IdentityPlatformError::InvalidKey {
                path: path.display().to_string(),
                reason,
            },
            other => other,
        })
    }

    /// Parses and checks key JSON (type, e-mail, token URI, RSA private key).
    pub fn from_json(text: &str) -> Result<Self, IdentityPlatformError> {
        let invalid = |reason: String| IdentityPlatformError::InvalidKey {
            path: "<inline>".into(),
            reason,
        };
        // serde_json quotes at most a mistyped value; `private_key` is read as a
        // string, so the PEM never appears in the message.
        let key: Self = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if let Some(t) = key.key_type.as_deref().filter(|t| *t != "service_account") {
            return Err(invalid(format!(
                "expected a service_account key, found type {t:?}"
            )));
        }
        if key.client_email.trim().is_empty() {
            return Err(invalid("client_email is empty".into()));
        }
        key.rsa_key().map_err(invalid)?;
        Ok(key)
    }

    /// The token endpoint: the key's `token_uri`, else Google's default.
    pub fn token_uri(&self) -> &str {
        self.token_uri
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or(DEFAULT_TOKEN_URI)
    }

    fn rsa_key(&self) -> Result<RsaPrivateKey, String> {
        let pem = self.private_key.trim();
        RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| "private_key is not a PEM-encoded RSA private key".to_string())
    }
}

/// Base64url (no padding) of compact JSON.
fn b64_json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// The compact JWS `header.claims.signature` for the JWT bearer grant.
pub fn sign_assertion(
    key: &RsaPrivateKey,
    client_email: &str,
    audience: &str,
    issued_at: i64,
) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT"});
    let claims = json!({
        "iss": client_email,
        "scope": CLOUD_PLATFORM_SCOPE,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + ASSERTION_LIFETIME,
    });
    let signing_input = format!("{}.{}", b64_json(&header), b64_json(&claims));
    let signature = SigningKey::<Sha256>::new(key.clone()).sign(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

#[derive(Debug, Clone)]
struct CachedToken {
    token: String,
    renew_at: Instant,
}

/// Access tokens for one service account, cached until near expiry.
pub struct GoogleTokenProvider {
    client_email: String,
    key: RsaPrivateKey,
    token_uri: String,
    http: reqwest::Client,
    retry: RetryPolicy,
    cache: tokio::sync::Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for GoogleTokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleTokenProvider")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl GoogleTokenProvider {
    /// A provider exchanging at `token_uri` (default: the key's).
    pub fn new(
        key: &ServiceAccountKey,
        token_uri: Option<&str>,
        retry: RetryPolicy,
    ) -> Result<Self, IdentityPlatformError> {
        let rsa = key
            .rsa_key()
            .map_err(|reason| IdentityPlatformError::InvalidKey {
                path: "<inline>".into(),
                reason,
            })?;
        let token_uri = token_uri
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| key.token_uri())
            .to_string();
        Ok(Self {
            client_email: key.client_email.trim().to_string(),
            key: rsa,
            token_uri,
            http: retry.client(),
            retry,
            cache: tokio::sync::Mutex::new(None),
        })
    }

    /// A valid access token (from the cache, or freshly exchanged).
    pub async fn access_token(&self) -> Result<String, IdentityPlatformError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(c.token.clone());
        }
        let fresh = self.exchange().await?;
        let token = fresh.token.clone();
        *cache = Some(fresh);
        Ok(token)
    }

    async fn exchange(&self) -> Result<CachedToken, IdentityPlatformError> {
        let fail = |detail: String| IdentityPlatformError::Token(detail);
        let now = chrono::Utc::now().timestamp();
        let assertion = sign_assertion(&self.key, &self.client_email, &self.token_uri, now);
        let started = Instant::now();
        let body = http::send_with_retry("google", &self.retry, || {
            self.http
                .post(&self.token_uri)
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", assertion.as_str()),
                ])
        })
        .await
        .map_err(|failure| match failure {
            HttpFailure::Status { status, body } => fail(format!(
                "token endpoint returned {status}: {}",
                oauth_error(&body, &assertion)
            )),
            HttpFailure::Transport(m) => fail(format!(
                "token endpoint unreachable: {}",
                http::sanitize(&m, &[&assertion])
            )),
        })?;
        let v: Value = serde_json::from_str(&body)
            .map_err(|_| fail("token endpoint returned a non-JSON response".into()))?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail("token endpoint response has no access_token".into()))?;
        let lifetime =
            Duration::from_secs(v.get("expires_in").and_then(Value::as_u64).unwrap_or(3600));
        let usable = lifetime.saturating_sub(REFRESH_MARGIN).max(lifetime / 2);
        Ok(CachedToken {
            token: token.to_string(),
            renew_at: started + usable,
        })
    }
}

/// `error: error_description` of an OAuth error body, else the sanitised body.
fn oauth_error(body: &str, assertion: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (error, description) = (field("error"), field("error_description"));
    let text = match (error.is_empty(), description.is_empty()) {
        (false, false) => format!("{error}: {description}"),
        (false, true) => error,
        _ => body.to_string(),
    };
    http::sanitize(&text, &[assertion])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    use rsa::signature::Verifier;

    fn test_key() -> RsaPrivateKey {
        RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap()
    }

    #[test]
    fn assertion_is_a_verifiable_rs256_jwt() {
        let key = test_key();
        let jwt = sign_assertion(
            &key,
            "sa@p.iam.gserviceaccount.com",
            "https://t/token",
            1_000,
        );
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |s: &str| -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap()
        };
        assert_eq!(
            decode(parts[0]).to_string(),
            r#"{"alg":"RS256","typ":"JWT"}"#
        );
        let claims = decode(parts[1]);
        assert_eq!(claims["iss"], "sa@p.iam.gserviceaccount.com");
        assert_eq!(claims["scope"], CLOUD_PLATFORM_SCOPE);
        assert_eq!(claims["aud"], "https://t/token");
        assert_eq!(claims["exp"].as_i64(), Some(4_600));
        let sig =
            Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
        VerifyingKey::<Sha256>::new(key.to_public_key())
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .unwrap();
    }

    #[test]
    fn key_json_is_checked_without_leaking_the_key() {
        let pem = test_key().to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let good = json!({"type": "service_account", "project_id": "p", "private_key": pem, "client_email": "sa@p"});
        let key = ServiceAccountKey::from_json(&good.to_string()).unwrap();
        assert_eq!(key.token_uri(), DEFAULT_TOKEN_URI);
        assert!(!format!("{key:?}").contains("PRIVATE KEY"));
        let user = json!({"type": "authorized_user", "private_key": pem, "client_email": "x"});
        let e = ServiceAccountKey::from_json(&user.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains("authorized_user"), "{e}");
        let bad = json!({"private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "client_email": "x"});
        let e = ServiceAccountKey::from_json(&bad.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not a PEM-encoded RSA private key") && !e.contains("AAAA"),
            "{e}"
        );
    }
}
