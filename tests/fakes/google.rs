//! Fake Google OAuth token endpoint + Identity Platform admin API.
//!
//! `POST /token` (form): `grant_type` must be the JWT bearer grant; the
//! assertion must be an RS256 JWT signed by the registered service account's
//! key, with `iss` = its e-mail, `aud` = this endpoint's URL, the
//! cloud-platform scope, `exp` in the future and at most an hour after `iat`.
//! Otherwise 400 `{"error":"invalid_grant", …}` (or `unsupported_grant_type`
//! / `invalid_scope`) like Google. Success issues a fresh `ya29.` token.
//!
//! Admin API (`GET /v2/projects/{p}/inboundSamlConfigs|oauthIdpConfigs|tenants`
//! and `/v2/projects/{p}/tenants/{t}/inboundSamlConfigs|oauthIdpConfigs`):
//! 401 `UNAUTHENTICATED` without a token this fake issued, 404 for unknown
//! projects/tenants, `pageSize` (1..=100, capped further by
//! [`FakeGoogle::set_max_page_size`]) and opaque `pageToken` paging with
//! `nextPageToken`; empty lists omit the array key, as Google does.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::Verifier;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};

use super::{json_response, param, query_params, rate_limited, Fault, RecordedRequest};

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The service account's key, generated once per test binary (1024 bits
/// keeps debug-build key generation and signing fast).
pub static SERVICE_ACCOUNT_KEY: LazyLock<RsaPrivateKey> =
    LazyLock::new(|| RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).expect("rsa key"));

/// A key the fake does not know (for bad-signature tests).
pub static OTHER_KEY: LazyLock<RsaPrivateKey> =
    LazyLock::new(|| RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).expect("rsa key"));

pub const CLIENT_EMAIL: &str = "migrator@test-project.iam.gserviceaccount.com";

/// Writes a service-account key file in Google's format.
pub fn write_key_file(
    dir: &Path,
    key: &RsaPrivateKey,
    project_id: Option<&str>,
    token_uri: &str,
) -> PathBuf {
    let pem = key.to_pkcs8_pem(LineEnding::LF).expect("pem").to_string();
    let mut v = json!({
        "type": "service_account",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    });
    if let Some(p) = project_id {
        v["project_id"] = json!(p);
    }
    let path = dir.join("service-account.json");
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).expect("write key");
    path
}

/// Provider configs of one scope.
#[derive(Debug, Clone, Default)]
pub struct ScopeData {
    pub saml: Vec<Value>,
    pub oidc: Vec<Value>,
}

#[derive(Debug, Clone)]
struct TenantData {
    id: String,
    display_name: String,
    configs: ScopeData,
}

struct GoogleState {
    token_uri: String,
    client_email: String,
    public_key: RsaPublicKey,
    issued: Vec<String>,
    token_requests: u32,
    project_id: String,
    project: ScopeData,
    tenants: Vec<TenantData>,
    max_page_size: usize,
    /// Faults keyed by `token` or the path after `/v2/projects/{p}/`
    /// (`inboundSamlConfigs`, `tenants`, `tenants/t1/oauthIdpConfigs`, …).
    faults: HashMap<String, VecDeque<Fault>>,
    requests: Vec<RecordedRequest>,
}

/// A running fake Google.
#[derive(Clone)]
pub struct FakeGoogle {
    /// Admin API base URL: `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// Token endpoint: `http://127.0.0.1:<port>/token`.
    pub token_uri: String,
    state: Arc<Mutex<GoogleState>>,
}

impl FakeGoogle {
    /// A fake for project `project_id` trusting [`SERVICE_ACCOUNT_KEY`].
    pub async fn start(project_id: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        // Bound before the state is built: the token URI (the JWT audience)
        // needs the port.
        let token_uri = format!("http://{addr}/token");
        let state = Arc::new(Mutex::new(GoogleState {
            token_uri: token_uri.clone(),
            client_email: CLIENT_EMAIL.into(),
            public_key: SERVICE_ACCOUNT_KEY.to_public_key(),
            issued: Vec::new(),
            token_requests: 0,
            project_id: project_id.into(),
            project: ScopeData::default(),
            tenants: Vec::new(),
            max_page_size: 100,
            faults: HashMap::new(),
            requests: Vec::new(),
        }));
        let router = Router::new()
            .route("/token", post(token))
            .fallback(admin)
            .with_state(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, router).await.expect("serve");
        });
        Self {
            base_url: format!("http://{addr}"),
            token_uri,
            state,
        }
    }

    pub fn set_project(&self, data: ScopeData) {
        self.state.lock().unwrap().project = data;
    }

    pub fn add_tenant(&self, id: &str, display_name: &str, data: ScopeData) {
        self.state.lock().unwrap().tenants.push(TenantData {
            id: id.into(),
            display_name: display_name.into(),
            configs: data,
        });
    }

    pub fn set_max_page_size(&self, n: usize) {
        self.state.lock().unwrap().max_page_size = n.max(1);
    }

    /// Queues a fault for `key` (`token` or a path after `/v2/projects/{p}/`).
    pub fn push_fault(&self, key: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .entry(key.into())
            .or_default()
            .push_back(fault);
    }

    pub fn token_requests(&self) -> u32 {
        self.state.lock().unwrap().token_requests
    }

    /// Admin API requests (token requests excluded).
    pub fn admin_requests(&self) -> Vec<RecordedRequest> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.path_and_query.starts_with("/v2/"))
            .cloned()
            .collect()
    }
}

fn google_error(status: u16, message: &str) -> Response {
    let status_text = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    json_response(
        status,
        &json!({"error": {"code": status, "message": message, "status": status_text}}),
    )
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::RateLimited { retry_after_secs } => rate_limited(
            retry_after_secs,
            &json!({"error": {"code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED"}}),
        ),
        Fault::Status(code) => google_error(code, "Injected failure."),
    }
}

fn take_fault(s: &mut GoogleState, key: &str) -> Option<Fault> {
    s.faults.get_mut(key).and_then(VecDeque::pop_front)
}

fn oauth_error(error: &str, description: &str) -> Response {
    json_response(
        400,
        &json!({"error": error, "error_description": description}),
    )
}

fn decode_json(part: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

async fn token(
    State(state): State<Arc<Mutex<GoogleState>>>,
    uri: Uri,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut s = state.lock().unwrap();
    s.token_requests += 1;
    s.requests.push(RecordedRequest {
        method: "POST".into(),
        path_and_query: uri.to_string(),
        authorization: None,
        at: Instant::now(),
    });
    if let Some(f) = take_fault(&mut s, "token") {
        return fault_response(f);
    }
    if form.get("grant_type").map(String::as_str) != Some(JWT_BEARER) {
        return oauth_error("unsupported_grant_type", "Invalid grant_type: ");
    }
    let assertion = form.get("assertion").cloned().unwrap_or_default();
    let parts: Vec<&str> = assertion.split('.').collect();
    if parts.len() != 3 {
        return oauth_error("invalid_request", "Invalid JWT: Malformed.");
    }
    let (Some(header), Some(claims)) = (decode_json(parts[0]), decode_json(parts[1])) else {
        return oauth_error("invalid_grant", "Invalid JWT: Malformed.");
    };
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return oauth_error("invalid_grant", "Invalid JWT: unsupported algorithm.");
    }
    let signature = URL_SAFE_NO_PAD
        .decode(parts[2])
        .ok()
        .and_then(|b| Signature::try_from(b.as_slice()).ok());
    let verified = signature.is_some_and(|sig| {
        VerifyingKey::<Sha256>::new(s.public_key.clone())
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .is_ok()
    });
    if !verified {
        return oauth_error("invalid_grant", "Invalid JWT Signature.");
    }
    let str_claim = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    if str_claim("iss") != s.client_email {
        return oauth_error("invalid_grant", "Invalid issuer.");
    }
    if str_claim("aud") != s.token_uri {
        return oauth_error("invalid_grant", "Invalid JWT audience.");
    }
    let now = chrono::Utc::now().timestamp();
    let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp <= now || iat > now + 60 || exp - iat > 3600 {
        return oauth_error(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        );
    }
    if !str_claim("scope").split(' ').any(|sc| sc == SCOPE) {
        return oauth_error(
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        );
    }
    let token = format!("ya29.fake-access-token-{}", s.issued.len() + 1);
    s.issued.push(token.clone());
    json_response(
        200,
        &json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}),
    )
}

async fn admin(
    State(state): State<Arc<Mutex<GoogleState>>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let mut s = state.lock().unwrap();
    let request = RecordedRequest::capture(&method, &headers, &uri);
    let authorization = request.authorization.clone();
    s.requests.push(request);
    let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    let ["v2", "projects", project, rest @ ..] = segments.as_slice() else {
        return google_error(404, "Not Found");
    };
    if method != Method::GET {
        return google_error(405, "Method not allowed.");
    }
    let key = rest.join("/");
    if let Some(f) = take_fault(&mut s, &key) {
        return fault_response(f);
    }
    let token_ok = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|t| s.issued.iter().any(|i| i == t));
    if !token_ok {
        return google_error(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        );
    }
    if *project != s.project_id {
        return google_error(404, "CONFIGURATION_NOT_FOUND");
    }
    let items: Vec<Value> = match rest {
        ["inboundSamlConfigs"] => s.project.saml.clone(),
        ["oauthIdpConfigs"] => s.project.oidc.clone(),
        ["tenants"] => s
            .tenants
            .iter()
            .map(|t| json!({"name": format!("projects/{project}/tenants/{}", t.id), "displayName": t.display_name}))
            .collect(),
        ["tenants", t, kind @ ("inboundSamlConfigs" | "oauthIdpConfigs")] => {
            match s.tenants.iter().find(|x| x.id == *t) {
                Some(x) if *kind == "inboundSamlConfigs" => x.configs.saml.clone(),
                Some(x) => x.configs.oidc.clone(),
                None => return google_error(404, "TENANT_NOT_FOUND"),
            }
        }
        _ => return google_error(404, "Not Found"),
    };
    let collection = rest.last().copied().unwrap_or_default();
    let params = query_params(uri.query());
    let page_size = match param(&params, "pageSize").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return google_error(400, "INVALID_PAGE_SIZE"),
    }
    .min(s.max_page_size);
    let offset = match param(&params, "pageToken") {
        None => 0,
        Some(t) => match t
            .strip_prefix("page-")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(o) if o <= items.len() => o,
            _ => return google_error(400, "INVALID_PAGE_TOKEN"),
        },
    };
    let page: Vec<Value> = items.iter().skip(offset).take(page_size).cloned().collect();
    let mut body = json!({});
    if !page.is_empty() {
        body[collection] = Value::Array(page);
    }
    if offset + page_size < items.len() {
        body["nextPageToken"] = json!(format!("page-{}", offset + page_size));
    }
    json_response(200, &body)
}
