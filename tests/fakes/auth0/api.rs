//! The Management API v2 endpoints of the fake (after fault injection, rate
//! limiting and the bearer check, which `auth0.rs` does): Auth0 error
//! bodies, offset pagination with the 1,000-record cap, checkpoint
//! pagination with opaque `from` tokens, scope checks and the listings.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::jobs::{Job, JobRequest, JobStatus};
use super::{ConnectionsScope, Route, State};

/// Offset pagination never reaches records past this index on capped
/// listings (users, organizations, members).
pub const OFFSET_RECORD_CAP: u64 = 1000;
/// Largest `per_page` / `take`.
pub const MAX_PAGE_SIZE: u64 = 100;
/// `per_page` / `take` when absent.
pub const DEFAULT_PAGE_SIZE: u64 = 50;

/// An Auth0 error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    pub code: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>, code: Option<&'static str>) -> Self {
        Self {
            status,
            message: message.into(),
            code,
        }
    }

    pub fn body(&self) -> Value {
        error_body(self.status, &self.message, self.code)
    }

    fn query(message: impl Into<String>) -> Self {
        Self::new(400, message, Some("invalid_query_string"))
    }

    fn insufficient_scope(scope: &str) -> Self {
        Self::new(
            403,
            format!("Insufficient scope, expected any of: {scope}"),
            Some("insufficient_scope"),
        )
    }

    fn org_not_found() -> Self {
        Self::new(
            404,
            "No organization found by that id or name",
            Some("inexistent_organization"),
        )
    }
}

/// The HTTP reason phrase of a status.
pub fn reason(status: u16) -> &'static str {
    axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

/// `{"statusCode", "error", "message", "errorCode"?}`.
pub fn error_body(status: u16, message: &str, code: Option<&str>) -> Value {
    let mut body = json!({
        "statusCode": status,
        "error": reason(status),
        "message": message,
    });
    if let Some(code) = code {
        body["errorCode"] = code.into();
    }
    body
}

/// Decoded query parameters, repeated keys kept.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(query: Option<&str>) -> Self {
        let decode = |s: &str| {
            let s = s.replace('+', " ");
            percent_encoding::percent_decode_str(&s)
                .decode_utf8_lossy()
                .into_owned()
        };
        Self(
            query
                .unwrap_or_default()
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(p), String::new()),
                })
                .collect(),
        )
    }

    /// Last value per key.
    pub fn into_map(self) -> std::collections::HashMap<String, String> {
        self.0.into_iter().collect()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn uint(&self, key: &str, default: u64) -> Result<u64, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                ApiError::query(format!(
                    "Query validation error: 'Expected type integer but found type string' on property {key}."
                ))
            }),
        }
    }

    fn page_size(&self, key: &str) -> Result<u64, ApiError> {
        let n = self.uint(key, DEFAULT_PAGE_SIZE)?;
        if n > MAX_PAGE_SIZE {
            return Err(ApiError::query(format!(
                "Query validation error: 'Too big: {n} (maximum {MAX_PAGE_SIZE})' on property {key}."
            )));
        }
        if n == 0 {
            return Err(ApiError::query(format!(
                "Query validation error: 'Too small: 0 (minimum 1)' on property {key}."
            )));
        }
        Ok(n)
    }

    fn flag(&self, key: &str) -> bool {
        self.get(key) == Some("true")
    }

    /// Checkpoint pagination is asked for with `from` or `take`.
    fn checkpoint(&self) -> bool {
        self.get("from").is_some() || self.get("take").is_some()
    }

    /// `fields=a,b` contains `name`.
    fn wants_field(&self, name: &str) -> bool {
        self.get("fields")
            .is_some_and(|f| f.split(',').any(|x| x.trim() == name))
    }
}

/// How a listing pages.
pub struct Listing {
    /// Wrapper key (`include_totals` and checkpoint responses).
    pub key: &'static str,
    pub total: u64,
    /// Offset pagination refuses records past [`OFFSET_RECORD_CAP`].
    pub capped: bool,
    /// Checkpoint pagination is supported; tokens are bound to this tag.
    pub checkpoint_tag: Option<String>,
}

fn fnv(tag: &str, offset: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in tag.bytes().chain(offset.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The opaque `next` token of a checkpoint listing.
pub fn checkpoint_token(tag: &str, offset: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{offset}:{:x}", fnv(tag, offset)))
}

fn checkpoint_offset(tag: &str, token: &str) -> Option<u64> {
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (offset, check) = text.split_once(':')?;
    let offset: u64 = offset.parse().ok()?;
    (u64::from_str_radix(check, 16).ok()? == fnv(tag, offset)).then_some(offset)
}

/// One page of a listing, shaped like Auth0 answers it.
pub fn paginate(
    q: &Query,
    listing: &Listing,
    item: &mut dyn FnMut(u64) -> Option<Value>,
) -> Result<Value, ApiError> {
    let collect = |start: u64, end: u64, item: &mut dyn FnMut(u64) -> Option<Value>| {
        (start..end).filter_map(item).collect::<Vec<Value>>()
    };
    if let (Some(tag), true) = (listing.checkpoint_tag.as_deref(), q.checkpoint()) {
        let take = q.page_size("take")?;
        let start = match q.get("from") {
            None | Some("") => 0,
            Some(token) => checkpoint_offset(tag, token)
                .filter(|&o| o <= listing.total)
                .ok_or_else(|| ApiError::query("Invalid value for the 'from' parameter."))?,
        };
        let end = start.saturating_add(take).min(listing.total);
        let mut body = json!({ listing.key: collect(start, end, item) });
        if end < listing.total {
            body["next"] = checkpoint_token(tag, end).into();
        }
        return Ok(body);
    }
    let page = q.uint("page", 0)?;
    let per_page = q.page_size("per_page")?;
    let start = page.saturating_mul(per_page);
    let past_cap = page.saturating_add(1).saturating_mul(per_page) > OFFSET_RECORD_CAP;
    if listing.capped && past_cap && listing.total > OFFSET_RECORD_CAP {
        return Err(ApiError::new(
            400,
            format!("Requesting page exceeds the allowed maximum of {OFFSET_RECORD_CAP} records"),
            Some("invalid_paging"),
        ));
    }
    let end = start.saturating_add(per_page).min(listing.total);
    let items = collect(start.min(end), end, item);
    if q.flag("include_totals") {
        Ok(json!({
            "start": start,
            "limit": per_page,
            "length": items.len(),
            "total": listing.total,
            listing.key: items,
        }))
    } else {
        Ok(Value::Array(items))
    }
}

fn list_of(values: Vec<Value>) -> impl FnMut(u64) -> Option<Value> {
    move |i| usize::try_from(i).ok().and_then(|i| values.get(i).cloned())
}

/// Answers an authorized, admitted API request: `(status, body)`.
pub fn dispatch(
    s: &mut State,
    route: Route,
    params: &[String],
    q: &Query,
    body: &[u8],
) -> Result<(u16, Value), ApiError> {
    let param = |i: usize| params.get(i).map(String::as_str).unwrap_or_default();
    let ok = |v: Value| Ok((200, v));
    match route {
        Route::Organizations => {
            let listing = Listing {
                key: "organizations",
                total: s.tenant.org_count(),
                capped: true,
                checkpoint_tag: Some("organizations".into()),
            };
            ok(paginate(q, &listing, &mut |i| s.tenant.org_at(i))?)
        }
        Route::OrgMembers => {
            let org = param(0);
            let with_roles = q.wants_field("roles");
            if with_roles && !q.checkpoint() {
                return Err(ApiError::query(
                    "The roles field can only be requested with checkpoint pagination (from/take).",
                ));
            }
            if with_roles && !s.config.member_roles_scope {
                return Err(ApiError::insufficient_scope(
                    "read:organization_member_roles",
                ));
            }
            let total = s
                .tenant
                .member_count(org)
                .ok_or_else(ApiError::org_not_found)?;
            let listing = Listing {
                key: "members",
                total,
                capped: true,
                checkpoint_tag: Some(format!("members:{org}")),
            };
            let tenant = &s.tenant;
            ok(paginate(q, &listing, &mut |j| {
                let user_id = tenant.member_id_at(org, j)?;
                let mut item = tenant.member_item(&user_id);
                if with_roles {
                    item["roles"] = tenant.member_roles_short(org, &user_id);
                }
                Some(item)
            })?)
        }
        Route::MemberRoles => {
            if !s.config.member_roles_scope {
                return Err(ApiError::insufficient_scope(
                    "read:organization_member_roles",
                ));
            }
            let (org, user) = (param(0), param(1));
            if !s.tenant.org_exists(org) {
                return Err(ApiError::org_not_found());
            }
            let roles = s.tenant.member_roles(org, user);
            let listing = Listing {
                key: "roles",
                total: roles.len() as u64,
                capped: false,
                checkpoint_tag: None,
            };
            ok(paginate(q, &listing, &mut list_of(roles))?)
        }
        Route::Users => {
            let listing = Listing {
                key: "users",
                total: s.tenant.user_count(),
                capped: true,
                checkpoint_tag: None,
            };
            ok(paginate(q, &listing, &mut |i| s.tenant.user_at(i))?)
        }
        Route::User => {
            s.tenant.user(param(0)).map(|u| (200, u)).ok_or_else(|| {
                ApiError::new(404, "The user does not exist.", Some("inexistent_user"))
            })
        }
        Route::Roles => {
            let roles = s.tenant.roles();
            let listing = Listing {
                key: "roles",
                total: roles.len() as u64,
                capped: false,
                checkpoint_tag: None,
            };
            ok(paginate(q, &listing, &mut list_of(roles))?)
        }
        Route::Connections => {
            let strip_options = match s.config.connections_scope {
                ConnectionsScope::Full => false,
                ConnectionsScope::ConnectionOptionsForbidden => true,
                ConnectionsScope::ConnectionsListingForbidden => {
                    return Err(ApiError::insufficient_scope("read:connections_options"))
                }
            };
            let strategies = q.all("strategy");
            let list: Vec<Value> = s
                .tenant
                .connections()
                .into_iter()
                .filter(|c| {
                    strategies.is_empty() || strategies.iter().any(|st| c["strategy"] == *st)
                })
                .map(|mut c| {
                    if let (true, Some(m)) = (strip_options, c.as_object_mut()) {
                        m.remove("options");
                    }
                    c
                })
                .collect();
            let listing = Listing {
                key: "connections",
                total: list.len() as u64,
                capped: false,
                checkpoint_tag: None,
            };
            ok(paginate(q, &listing, &mut list_of(list))?)
        }
        Route::Connection => {
            if s.config.connections_scope != ConnectionsScope::Full {
                return Err(ApiError::insufficient_scope("read:connections_options"));
            }
            s.tenant
                .connection(param(0))
                .map(|c| (200, c))
                .ok_or_else(|| {
                    ApiError::new(
                        404,
                        "The connection does not exist",
                        Some("inexistent_connection"),
                    )
                })
        }
        Route::OrgEnabledConnections => {
            let list = s
                .tenant
                .enabled_connections(param(0))
                .ok_or_else(ApiError::org_not_found)?;
            let listing = Listing {
                key: "enabled_connections",
                total: list.len() as u64,
                capped: false,
                checkpoint_tag: None,
            };
            ok(paginate(q, &listing, &mut list_of(list))?)
        }
        Route::JobCreate => {
            let request = JobRequest::parse(body)?;
            let connection_name = match &request.connection_id {
                None => None,
                Some(id) => Some(
                    s.tenant
                        .connection(id)
                        .and_then(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                        .ok_or_else(|| {
                            ApiError::new(
                                400,
                                "The connection does not exist",
                                Some("inexistent_connection"),
                            )
                        })?,
                ),
            };
            let mut faults = s.config.job_faults.clone();
            if let Some(queued) = s.queued_job_faults.pop_front() {
                faults.extend(queued);
            }
            let job = Job {
                id: format!("job_{}", random_alnum(16)),
                format: request.format,
                connection_id: request.connection_id,
                connection_name,
                fields: request.fields,
                limit: request.limit,
                created_at: super::tenant::iso_utc(super::epoch_secs()),
                polls: 0,
                status: JobStatus::Pending,
                faults,
            };
            let body = job.to_json(&s.base_url);
            s.jobs.insert(job.id.clone(), job);
            Ok((201, body))
        }
        Route::Job => {
            let polls = s.config.job_polls_to_complete;
            let base = s.base_url.clone();
            match s.jobs.get_mut(param(0)) {
                Some(job) => {
                    job.poll(polls);
                    ok(job.to_json(&base))
                }
                None => Err(ApiError::new(
                    404,
                    "The job does not exist.",
                    Some("inexistent_job"),
                )),
            }
        }
        Route::Token | Route::Download => Err(ApiError::new(404, "Not Found", None)),
    }
}

/// `n` random ASCII letters and digits.
pub fn random_alnum(n: usize) -> String {
    (0..n).map(|_| fastrand::alphanumeric()).collect()
}
