//! The HTTP side of the fake: accept loop, `X-Amz-Target` routing, the
//! SigV4 credential scope (region, access key), denials, fault injection,
//! the `UserList` rate budget, counting, and AWS's error and success
//! answers. Also serves `/__metadata/<name>` documents.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

use super::api::{self, ApiError};
use super::{lock, Fault, Operation, RecordedCall, State, REQUEST_LOG_CAP, TARGET_PREFIX};

/// Largest request body read.
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Returned by the service to make hyper close the connection without
/// writing a response.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("fault injection: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

pub async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The credential scope of a SigV4 `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    pub access_key_id: String,
    pub region: String,
    pub service: String,
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, …`.
pub fn credential_scope(authorization: &str) -> Option<CredentialScope> {
    let rest = authorization.strip_prefix("AWS4-HMAC-SHA256")?;
    let credential = rest
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Credential="))?;
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [key, date, region, service, "aws4_request"]
            if !key.is_empty() && date.len() == 8 && !region.is_empty() =>
        {
            Some(CredentialScope {
                access_key_id: (*key).to_string(),
                region: (*region).to_string(),
                service: (*service).to_string(),
            })
        }
        _ => None,
    }
}

fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = Response::new(Body::from(e.body()));
    *r.status_mut() = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(&e.error_type) {
        h.insert("x-amzn-ErrorType", v);
    }
    add_request_id(h);
    r
}

fn ok_response(body: String) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    add_request_id(h);
    r
}

fn add_request_id(h: &mut HeaderMap) {
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..0x1000),
        fastrand::u16(..0x1000),
        fastrand::u64(..1 << 48)
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-amzn-RequestId", v);
    }
}

fn too_many_requests() -> ApiError {
    ApiError::new("TooManyRequestsException", "Too many requests")
}

fn fault_error(fault: &Fault) -> Option<ApiError> {
    Some(match fault {
        Fault::Error {
            status,
            error_type,
            message,
        } => ApiError {
            status: *status,
            error_type: error_type.clone(),
            message: message.clone(),
        },
        Fault::Throttle => too_many_requests(),
        Fault::Internal => ApiError {
            status: 500,
            error_type: "InternalErrorException".into(),
            message: "Internal server error.".into(),
        },
        Fault::Unavailable => ApiError {
            status: 503,
            error_type: "ServiceUnavailableException".into(),
            message: "Service Unavailable".into(),
        },
        Fault::Delay(_) | Fault::Drop => return None,
    })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// What an API request is, as far as routing and authentication go.
struct Call {
    op: Operation,
    scope: CredentialScope,
    body: Value,
}

async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(Body::new(body), BODY_LIMIT)
        .await
        .map_err(|_| DropConnection)?;
    if parts.method == Method::GET {
        return Ok(metadata_document(&state, parts.uri.path()));
    }
    let target = header_str(&parts.headers, "x-amz-target").unwrap_or_default();
    let op_name = target.strip_prefix(TARGET_PREFIX).unwrap_or(target);
    let op = Operation::from_name(op_name);
    let scope = header_str(&parts.headers, "authorization").map(credential_scope);
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    // Record and count; take this operation's next fault.
    let fault = {
        let mut s = lock(&state);
        let c = &mut s.counters;
        if c.log.len() >= REQUEST_LOG_CAP {
            c.log.pop_front();
        }
        let scoped = scope.as_ref().and_then(Option::as_ref);
        c.log.push_back(RecordedCall {
            operation: op_name.to_string(),
            region: scoped.map(|s| s.region.clone()),
            access_key_id: scoped.map(|s| s.access_key_id.clone()),
            body: body.clone(),
            at: Instant::now(),
        });
        c.total += 1;
        if let Some(op) = op {
            *c.by_operation.entry(op).or_default() += 1;
        }
        c.in_flight += 1;
        c.max_in_flight = c.max_in_flight.max(c.in_flight);
        op.and_then(|op| s.faults.get_mut(&op).and_then(|q| q.pop_front()))
    };
    let result = respond(&state, op, scope, body, fault, &bytes).await;
    let mut s = lock(&state);
    s.counters.in_flight = s.counters.in_flight.saturating_sub(1);
    if let Ok(r) = &result {
        *s.counters.by_status.entry(r.status().as_u16()).or_default() += 1;
    }
    result
}

async fn respond(
    state: &Arc<Mutex<State>>,
    op: Option<Operation>,
    scope: Option<Option<CredentialScope>>,
    body: Value,
    fault: Option<Fault>,
    raw: &[u8],
) -> Result<Response<Body>, DropConnection> {
    match &fault {
        Some(Fault::Drop) => return Err(DropConnection),
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        Some(f) => {
            if let Some(e) = fault_error(f) {
                if e.error_type == "TooManyRequestsException" {
                    lock(state).counters.throttled += 1;
                }
                return Ok(error_response(&e));
            }
        }
        None => {}
    }
    let call = match authenticate(op, scope, body, raw) {
        Ok(call) => call,
        Err(e) => return Ok(error_response(&e)),
    };
    let mut s = lock(state);
    if s.invalid_keys.contains(&call.scope.access_key_id) {
        return Ok(error_response(&ApiError::new(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )));
    }
    if s.denied
        .get(&call.scope.access_key_id)
        .is_some_and(|ops| ops.contains(&call.op))
    {
        let pool = call
            .body
            .get("UserPoolId")
            .and_then(Value::as_str)
            .map_or_else(|| "*".to_string(), |id| format!("userpool/{id}"));
        let account = s.config.account_id.clone();
        let message = format!(
            "User: arn:aws:iam::{account}:user/{key} is not authorized to perform: cognito-idp:{op} on resource: arn:aws:cognito-idp:{region}:{account}:{pool} because no identity-based policy allows the cognito-idp:{op} action",
            key = call.scope.access_key_id,
            op = call.op.name(),
            region = call.scope.region,
        );
        return Ok(error_response(&ApiError::new(
            "AccessDeniedException",
            &message,
        )));
    }
    if call.op.is_user_list() && !s.admit_user_list(&call.scope.region) {
        s.counters.throttled += 1;
        return Ok(error_response(&too_many_requests()));
    }
    Ok(
        match api::dispatch(&mut s, call.op, &call.scope.region, &call.body) {
            Ok(body) => ok_response(body),
            Err(e) => error_response(&e),
        },
    )
}

/// Operation, signature scope and body checks, in the order AWS's front
/// end does them.
fn authenticate(
    op: Option<Operation>,
    scope: Option<Option<CredentialScope>>,
    body: Value,
    raw: &[u8],
) -> Result<Call, ApiError> {
    let Some(op) = op else {
        return Err(ApiError::new("UnknownOperationException", ""));
    };
    let scope = match scope {
        None => {
            return Err(ApiError::new(
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ))
        }
        Some(None) => {
            return Err(ApiError::new(
                "IncompleteSignatureException",
                "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter.",
            ))
        }
        Some(Some(scope)) => scope,
    };
    if scope.service != "cognito-idp" {
        return Err(ApiError::new(
            "InvalidSignatureException",
            "Credential should be scoped to correct service: 'cognito-idp'. ",
        ));
    }
    if !body.is_object() {
        let message = if raw.is_empty() {
            "Start of structure or map found where not expected."
        } else {
            "Unexpected character in the request body."
        };
        return Err(ApiError::new("SerializationException", message));
    }
    Ok(Call { op, scope, body })
}

/// `GET /__metadata/<name>`: a registered SAML metadata document.
fn metadata_document(state: &Arc<Mutex<State>>, path: &str) -> Response<Body> {
    let name = path.strip_prefix("/__metadata/").unwrap_or_default();
    let doc = lock(state).metadata.get(name).cloned();
    let mut r = match doc {
        Some(xml) => {
            let mut r = Response::new(Body::from(xml));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/samlmetadata+xml"),
            );
            r
        }
        None => {
            let mut r = Response::new(Body::from("Not Found"));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    };
    add_request_id(r.headers_mut());
    r
}
