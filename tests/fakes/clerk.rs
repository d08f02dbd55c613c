//! Fake Clerk Backend API: `GET /v1/enterprise_connections?limit&offset`.
//!
//! Like Clerk: Bearer secret-key auth (401 with a Clerk error body
//! `{"errors":[{"message","long_message","code":"authentication_invalid"}]}`),
//! `limit` 1..=500 (default 10, otherwise 422 `form_param_value_invalid`),
//! `offset` paging, `{data, total_count}` responses (or a bare array when
//! [`FakeClerk::set_bare_array`] is on, as some older endpoints answer).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::{json_response, param, query_params, rate_limited, serve, Fault, RecordedRequest};

#[derive(Default)]
struct ClerkState {
    secret_key: String,
    connections: Vec<Value>,
    bare_array: bool,
    /// Misbehaving-proxy mode: 401 bodies quote the presented credential.
    echo_credentials: bool,
    faults: VecDeque<Fault>,
    requests: Vec<RecordedRequest>,
}

/// A running fake Clerk instance.
#[derive(Clone)]
pub struct FakeClerk {
    /// Base URL to give the client: `http://127.0.0.1:<port>/v1`.
    pub base_url: String,
    state: Arc<Mutex<ClerkState>>,
}

impl FakeClerk {
    pub async fn start(secret_key: &str, connections: Vec<Value>) -> Self {
        let state = Arc::new(Mutex::new(ClerkState {
            secret_key: secret_key.to_string(),
            connections,
            ..Default::default()
        }));
        let router = Router::new()
            .route("/v1/enterprise_connections", get(list))
            .with_state(state.clone());
        let addr = serve(router).await;
        Self {
            base_url: format!("http://{addr}/v1"),
            state,
        }
    }

    pub fn push_fault(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }

    pub fn set_bare_array(&self, on: bool) {
        self.state.lock().unwrap().bare_array = on;
    }

    pub fn set_echo_credentials(&self, on: bool) {
        self.state.lock().unwrap().echo_credentials = on;
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn clerk_error(status: u16, code: &str, message: &str, long_message: &str) -> Response {
    json_response(
        status,
        &json!({
            "errors": [{"message": message, "long_message": long_message, "code": code}],
            "clerk_trace_id": "trace_0123456789abcdef"
        }),
    )
}

async fn list(
    State(state): State<Arc<Mutex<ClerkState>>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let mut s = state.lock().unwrap();
    let request = RecordedRequest::capture(&method, &headers, &uri);
    let authorization = request.authorization.clone();
    s.requests.push(request);
    if let Some(fault) = s.faults.pop_front() {
        return match fault {
            Fault::RateLimited { retry_after_secs } => rate_limited(
                retry_after_secs,
                &json!({"errors": [{
                    "message": "Too Many Requests",
                    "long_message": "You have exceeded the rate limit. Please try again later.",
                    "code": "too_many_requests"
                }]}),
            ),
            Fault::Status(code) => clerk_error(
                code,
                "internal_clerk_error",
                "Oops, an unexpected error occurred",
                "There was an internal error on our servers. We've been notified and are working on fixing it.",
            ),
        };
    }
    let expected = format!("Bearer {}", s.secret_key);
    if authorization.as_deref() != Some(expected.as_str()) {
        let presented = authorization.unwrap_or_default();
        let long = if s.echo_credentials {
            format!("The provided secret key is invalid: {presented}. Make sure your secret key is correct.")
        } else {
            "The provided secret key is invalid. Make sure your secret key is correct.".to_string()
        };
        return clerk_error(
            401,
            "authentication_invalid",
            "Invalid authentication",
            &long,
        );
    }
    let params = query_params(uri.query());
    let limit = match param(&params, "limit").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(l)) if (1..=500).contains(&l) => l,
        Some(_) => {
            return clerk_error(
                422,
                "form_param_value_invalid",
                "is invalid",
                "limit must be between 1 and 500",
            )
        }
    };
    let offset = match param(&params, "offset").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(o)) => o,
        Some(Err(_)) => {
            return clerk_error(
                422,
                "form_param_value_invalid",
                "is invalid",
                "offset must be a number",
            )
        }
    };
    let total = s.connections.len();
    let page: Vec<Value> = s
        .connections
        .iter()
        .skip(offset)
        .take(limit)
        .cloned()
        .collect();
    if s.bare_array {
        json_response(200, &Value::Array(page))
    } else {
        json_response(200, &json!({"data": page, "total_count": total}))
    }
}
