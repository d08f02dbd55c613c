//! Tests of the fake Auth0 Management API itself (`tests/fakes/auth0.rs`)
//! over real HTTP with reqwest: the token flow, offset and checkpoint
//! pagination, scopes, rate limits, export jobs and their gzip download,
//! fault injection, the synthetic tenant and the fixture tenant.

mod fakes;

use std::collections::HashSet;
use std::io::Read as _;
use std::time::{Duration, Instant};

use fakes::auth0::{
    ConnectionsScope, FakeAuth0, FakeAuth0Config, Fault, JobFault, Route, DEFAULT_EXPORT_FIELDS,
    JUNK_LINE,
};
use flate2::read::MultiGzDecoder;
use serde_json::{json, Value};

struct Resp {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

struct Api {
    fake: FakeAuth0,
    http: reqwest::Client,
    token: String,
}

impl Api {
    async fn new(fake: FakeAuth0) -> Self {
        let http = reqwest::Client::new();
        let mut api = Self {
            fake,
            http,
            token: String::new(),
        };
        api.token = api.fetch_token().await;
        api
    }

    async fn fixture() -> Self {
        let fake = FakeAuth0::start(FakeAuth0Config::default()).await;
        fake.load_fixture(&fixture()).expect("fixture loads");
        Self::new(fake).await
    }

    async fn token_request(&self, body: Value) -> Resp {
        let r = self
            .http
            .post(format!("{}/oauth/token", self.fake.url()))
            .json(&body)
            .send()
            .await
            .expect("token request");
        resp(r).await
    }

    async fn fetch_token(&self) -> String {
        let r = self
            .token_request(json!({
                "client_id": self.fake.client_id(),
                "client_secret": self.fake.client_secret(),
                "audience": format!("{}/api/v2/", self.fake.url()),
                "grant_type": "client_credentials",
            }))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    async fn get_with(&self, path: &str, token: Option<&str>) -> Resp {
        let mut req = self.http.get(format!("{}{path}", self.fake.url()));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        resp(req.send().await.expect("request")).await
    }

    async fn get(&self, path: &str) -> Resp {
        self.get_with(path, Some(&self.token)).await
    }

    async fn post(&self, path: &str, body: Value) -> Resp {
        let r = self
            .http
            .post(format!("{}{path}", self.fake.url()))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("request");
        resp(r).await
    }

    /// Creates a job, polls it to the end, returns the final job object.
    async fn run_job(&self, body: Value) -> Value {
        let created = self.post("/api/v2/jobs/users-exports", body).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_str().expect("job id").to_string();
        for _ in 0..10 {
            let job = self.get(&format!("/api/v2/jobs/{id}")).await;
            assert_eq!(job.status, 200);
            if matches!(job.body["status"].as_str(), Some("completed" | "failed")) {
                return job.body;
            }
        }
        panic!("job {id} never finished");
    }

    /// Downloads a location (no auth) and returns the raw gzip bytes.
    async fn download(&self, location: &str) -> Vec<u8> {
        let r = self.http.get(location).send().await.expect("download");
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("x-ratelimit-limit").is_none());
        r.bytes().await.expect("body").to_vec()
    }
}

async fn resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Resp {
        status,
        body,
        headers,
    }
}

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/auth0/tenant.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read fixture")).expect("json")
}

fn gunzip(bytes: &[u8]) -> std::io::Result<String> {
    let mut out = String::new();
    MultiGzDecoder::new(bytes).read_to_string(&mut out)?;
    Ok(out)
}

fn ids(items: &Value, key: &str) -> Vec<String> {
    items
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v[key].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn token_flow_and_invalid_tokens() {
    let api = Api::fixture().await;
    let url = api.fake.url();
    let good = json!({
        "client_id": api.fake.client_id(),
        "client_secret": api.fake.client_secret(),
        "audience": format!("{url}/api/v2/"),
        "grant_type": "client_credentials",
    });
    let r = api.token_request(good.clone()).await;
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 86_400);
    assert!(r.body["scope"]
        .as_str()
        .unwrap()
        .contains("read:organization_member_roles"));
    assert_ne!(
        r.body["access_token"],
        api.token.as_str(),
        "tokens are random"
    );

    let mut wrong = good.clone();
    wrong["client_secret"] = "nope".into();
    let r = api.token_request(wrong).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        json!({"error": "access_denied", "error_description": "Unauthorized"})
    );
    let mut wrong = good.clone();
    wrong["audience"] = "https://other.example.com/api/v2/".into();
    let r = api.token_request(wrong).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body["error_description"],
        "Service not enabled within domain: https://other.example.com/api/v2/"
    );

    let invalid = json!({"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"});
    let r = api.get_with("/api/v2/roles", None).await;
    assert_eq!((r.status, &r.body), (401, &invalid));
    let r = api.get_with("/api/v2/roles", Some("made-up")).await;
    assert_eq!((r.status, &r.body), (401, &invalid));
    assert_eq!(api.get("/api/v2/roles").await.status, 200);

    api.fake.expire_tokens();
    let r = api.get("/api/v2/roles").await;
    assert_eq!((r.status, &r.body), (401, &invalid));
    let renewed = api.fetch_token().await;
    assert_eq!(
        api.get_with("/api/v2/roles", Some(&renewed)).await.status,
        200
    );

    api.fake.set_token_ttl_secs(0);
    let short = api.fetch_token().await;
    assert_eq!(
        api.get_with("/api/v2/roles", Some(&short)).await.status,
        401
    );
    assert_eq!(api.fake.count(Route::Token), 5 + 1);
    assert!(api.fake.count_status(401) >= 4);
}

#[tokio::test]
async fn offset_pagination_caps_at_1000_records() {
    let api = Api::new(FakeAuth0::synthetic(1500, 1).await).await;
    let r = api.get("/api/v2/users?page=9&per_page=100").await;
    assert_eq!(r.status, 200);
    let page = ids(&r.body, "user_id");
    assert_eq!(page.len(), 100);
    assert_eq!(page[0], "auth0|u000000900");

    let r = api.get("/api/v2/users?page=10&per_page=100").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!({
            "statusCode": 400,
            "error": "Bad Request",
            "message": "Requesting page exceeds the allowed maximum of 1000 records",
            "errorCode": "invalid_paging",
        })
    );
    for path in [
        "/api/v2/organizations/org_000000/members?page=20&per_page=50",
        "/api/v2/users?page=3&per_page=300",
    ] {
        let r = api.get(path).await;
        assert_eq!(r.status, 400, "{path}");
    }
    let r = api.get("/api/v2/users?per_page=101").await;
    assert_eq!(r.body["errorCode"], "invalid_query_string");
    let r = api.get("/api/v2/users?page=x").await;
    assert_eq!(r.body["errorCode"], "invalid_query_string");

    let r = api
        .get("/api/v2/users?page=2&per_page=3&include_totals=true")
        .await;
    assert_eq!(r.body["start"], 6);
    assert_eq!(r.body["limit"], 3);
    assert_eq!(r.body["length"], 3);
    assert_eq!(r.body["total"], 1500);
    assert_eq!(ids(&r.body["users"], "user_id")[0], "auth0|u000000006");
    let r = api.get("/api/v2/users").await;
    assert_eq!(r.body.as_array().unwrap().len(), 50, "default per_page");

    // A tenant of at most 1,000 records never hits the cap.
    let small = Api::fixture().await;
    let r = small.get("/api/v2/users?page=10&per_page=100").await;
    assert_eq!((r.status, r.body), (200, json!([])));
}

#[tokio::test]
async fn checkpoint_pagination_walks_5000_members_without_cap() {
    let api = Api::new(FakeAuth0::synthetic(5000, 1).await).await;
    let mut seen = Vec::new();
    let mut from: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &from {
            None => "/api/v2/organizations/org_000000/members?take=100".to_string(),
            Some(t) => format!("/api/v2/organizations/org_000000/members?take=100&from={t}"),
        };
        let r = api.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        pages += 1;
        seen.extend(ids(&r.body["members"], "user_id"));
        match r.body.get("next").and_then(Value::as_str) {
            Some(next) => from = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 50);
    assert_eq!(seen.len(), 5000);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5000);
    assert_eq!(seen[4999], "auth0|u000004999");

    let r = api.get("/api/v2/organizations/org_000000/members").await;
    assert_eq!(r.body[0]["email"], "user0@example.com");
    assert!(r.body[0]["name"].is_string() && r.body[0]["picture"].is_string());

    let r = api
        .get("/api/v2/organizations/org_000000/members?take=10&from=bogus")
        .await;
    assert_eq!(r.status, 400);
    // A token of another listing is unknown here too.
    let r = api.get("/api/v2/organizations?take=1").await;
    assert_eq!(r.body["organizations"].as_array().unwrap().len(), 1);
    assert!(r.body.get("next").is_none(), "one org: single page");
    let r = api
        .get("/api/v2/organizations/org_000000/members?take=101")
        .await;
    assert_eq!(r.body["errorCode"], "invalid_query_string");
    let r = api.get("/api/v2/organizations/org_nope/members").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn organizations_checkpoint_tokens_are_bound_to_their_listing() {
    let api = Api::new(FakeAuth0::synthetic(10, 3).await).await;
    let r = api.get("/api/v2/organizations?take=2").await;
    assert_eq!(
        ids(&r.body["organizations"], "id"),
        ["org_000000", "org_000001"]
    );
    let next = r.body["next"].as_str().unwrap().to_string();
    let r = api
        .get(&format!("/api/v2/organizations?take=2&from={next}"))
        .await;
    assert_eq!(ids(&r.body["organizations"], "id"), ["org_000002"]);
    assert!(r.body.get("next").is_none());
    let r = api
        .get(&format!(
            "/api/v2/organizations/org_000000/members?take=2&from={next}"
        ))
        .await;
    assert_eq!(r.status, 400);
    // Members of org 1: users 1, 4, 7.
    let r = api.get("/api/v2/organizations/org_000001/members").await;
    assert_eq!(
        ids(&r.body, "user_id"),
        ["auth0|u000000001", "auth0|u000000004", "auth0|u000000007"]
    );
}

#[tokio::test]
async fn member_roles_via_fields_and_endpoint() {
    let api = Api::new(FakeAuth0::synthetic(200, 2).await).await;
    let r = api
        .get("/api/v2/organizations/org_000000/members?fields=roles&take=100")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let members = r.body["members"].as_array().unwrap();
    for m in members {
        let i: u64 = m["user_id"].as_str().unwrap()[7..].parse().unwrap();
        let expected = if i.is_multiple_of(50) {
            json!([{"id": "rol_admin", "name": "Admin"}])
        } else {
            json!([])
        };
        assert_eq!(m["roles"], expected, "user {i}");
    }
    let r = api
        .get("/api/v2/organizations/org_000000/members/auth0%7Cu000000050/roles")
        .await;
    assert_eq!(
        r.body,
        json!([{"id": "rol_admin", "name": "Admin", "description": "Synthetic administrators"}])
    );
    let r = api
        .get("/api/v2/organizations/org_000000/members?fields=roles&page=0")
        .await;
    assert_eq!(r.status, 400, "fields=roles needs checkpoint pagination");

    api.fake.set_member_roles_scope(false);
    let r = api
        .get("/api/v2/organizations/org_000000/members?fields=roles&take=10")
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["errorCode"], "insufficient_scope");
    assert_eq!(
        r.body["message"],
        "Insufficient scope, expected any of: read:organization_member_roles"
    );
    let r = api
        .get("/api/v2/organizations/org_000000/members?take=10")
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn rate_limit_headers_and_429_under_a_burst() {
    let api = Api::fixture().await;
    api.fake.set_rate_limit(Some(5));
    // Start at the beginning of a fresh second so the burst shares a window.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    tokio::time::sleep(Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()) + 5_000_000,
    ))
    .await;
    let burst = (0..20).map(|_| api.get("/api/v2/roles"));
    let results = futures::future::join_all(burst).await;
    let ok: Vec<&Resp> = results.iter().filter(|r| r.status == 200).collect();
    let limited: Vec<&Resp> = results.iter().filter(|r| r.status == 429).collect();
    assert_eq!(ok.len() + limited.len(), 20);
    assert!((5..=10).contains(&ok.len()), "{} admitted", ok.len());
    for r in ok.iter().chain(limited.iter()) {
        assert_eq!(r.headers["x-ratelimit-limit"], "5");
        assert!(r.headers.contains_key("x-ratelimit-remaining"));
        let reset: u64 = r.headers["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(reset > now.as_secs());
    }
    let r = limited[0];
    assert_eq!(r.headers["x-ratelimit-remaining"], "0");
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(
        r.body,
        json!({
            "statusCode": 429,
            "error": "Too Many Requests",
            "message": "Global limit has been reached",
            "errorCode": "too_many_requests",
        })
    );
    assert_eq!(api.fake.count_status(429), limited.len());

    // The token endpoint is not limited and carries no headers.
    let token = api.fetch_token().await;
    assert!(!token.is_empty());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    api.fake.set_rate_limit(None);
    let r = api.get("/api/v2/roles").await;
    assert_eq!(r.status, 200);
    assert!(!r.headers.contains_key("x-ratelimit-limit"));
}

#[tokio::test]
async fn export_job_lifecycle_and_gzip_download() {
    let api = Api::fixture().await;
    api.fake.set_job_polls_to_complete(3);
    let created = api
        .post(
            "/api/v2/jobs/users-exports",
            json!({"format": "json", "fields": [{"name": "user_id"}, {"name": "email", "export_as": "mail"}]}),
        )
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body["type"], "users_export");
    assert_eq!(created.body["status"], "pending");
    assert!(created.body["id"].as_str().unwrap().starts_with("job_"));
    let id = created.body["id"].as_str().unwrap();
    let statuses: Vec<String> = {
        let mut out = Vec::new();
        for _ in 0..3 {
            let r = api.get(&format!("/api/v2/jobs/{id}")).await;
            out.push(r.body["status"].as_str().unwrap().to_string());
            if r.body["status"] == "completed" {
                let location = r.body["location"].as_str().unwrap();
                assert_eq!(
                    location,
                    format!("{}/__downloads/{id}.json.gz", api.fake.url())
                );
            }
        }
        out
    };
    assert_eq!(statuses, ["processing", "processing", "completed"]);
    let job = api.get(&format!("/api/v2/jobs/{id}")).await.body;
    let text = gunzip(&api.download(job["location"].as_str().unwrap()).await).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0], json!({"user_id": "auth0|a", "mail": "A@x.com"}));
    assert_eq!(
        lines[3],
        json!({"user_id": "auth0|d"}),
        "absent fields omitted"
    );

    // Default fields; restricted to the database connection.
    api.fake.set_job_polls_to_complete(1);
    let job = api
        .run_job(json!({"format": "json", "connection_id": "con_s"}))
        .await;
    let text = gunzip(&api.download(job["location"].as_str().unwrap()).await).unwrap();
    assert_eq!(text, "", "nobody has an identity of the okta connection");
    api.fake.add_connection(
        json!({"id": "con_db", "name": "Username-Password-Authentication", "strategy": "auth0"}),
    );
    let job = api
        .run_job(json!({"format": "json", "connection_id": "con_db"}))
        .await;
    assert_eq!(job["connection"], "Username-Password-Authentication");
    let text = gunzip(&api.download(job["location"].as_str().unwrap()).await).unwrap();
    let users: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        ids(&Value::Array(users.clone()), "user_id"),
        ["auth0|a", "auth0|d", "auth0|e", "auth0|f", "auth0|g"]
    );
    let keys: Vec<&String> = users[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "user_id",
            "email",
            "email_verified",
            "name",
            "nickname",
            "created_at",
            "updated_at",
            "last_login",
            "logins_count",
            "identities"
        ]
    );
    assert!(DEFAULT_EXPORT_FIELDS.contains(&"blocked"));

    let r = api
        .post("/api/v2/jobs/users-exports", json!({"format": "xml"}))
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post(
            "/api/v2/jobs/users-exports",
            json!({"connection_id": "con_nope"}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = api.get("/api/v2/jobs/job_unknown").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["errorCode"], "inexistent_job");
    let r = api
        .http
        .get(format!(
            "{}/__downloads/job_unknown.json.gz",
            api.fake.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // CSV with a limit.
    let job = api
        .run_job(
            json!({"format": "csv", "limit": 2, "fields": [{"name": "user_id"}, {"name": "name"}]}),
        )
        .await;
    let location = job["location"].as_str().unwrap();
    assert!(location.ends_with(".csv.gz"));
    let text = gunzip(&api.download(location).await).unwrap();
    assert_eq!(text, "user_id,name\nauth0|a,Ann  Marie  Lee\nauth0|b,\n");
}

#[tokio::test]
async fn export_job_faults() {
    let api = Api::new(FakeAuth0::synthetic(1000, 10).await).await;
    api.fake
        .push_job_faults(vec![JobFault::Fail("disk full".into())]);
    let job = api.run_job(json!({"format": "json"})).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"], "disk full");
    assert!(job.get("location").is_none());

    api.fake.push_job_faults(vec![JobFault::TruncateAfter(300)]);
    let job = api.run_job(json!({"format": "json"})).await;
    let bytes = api.download(job["location"].as_str().unwrap()).await;
    let mut text = String::new();
    let err = MultiGzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .expect_err("truncated gzip");
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);

    api.fake.push_job_faults(vec![JobFault::JunkEvery(100)]);
    let job = api.run_job(json!({"format": "json"})).await;
    let text = gunzip(&api.download(job["location"].as_str().unwrap()).await).unwrap();
    let junk = text.lines().filter(|l| *l == JUNK_LINE).count();
    let users = text
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).is_ok())
        .count();
    assert_eq!((junk, users), (10, 1000));

    // Faults on an existing job; the next job is clean again.
    let created = api
        .post("/api/v2/jobs/users-exports", json!({"format": "json"}))
        .await;
    let id = created.body["id"].as_str().unwrap();
    assert!(api.fake.add_job_fault(id, JobFault::Fail("boom".into())));
    let r = api.get(&format!("/api/v2/jobs/{id}")).await;
    let r = if r.body["status"] == "processing" {
        api.get(&format!("/api/v2/jobs/{id}")).await
    } else {
        r
    };
    assert_eq!(r.body["status"], "failed");
    let job = api.run_job(json!({"format": "json", "limit": 5})).await;
    let text = gunzip(&api.download(job["location"].as_str().unwrap()).await).unwrap();
    assert_eq!(text.lines().count(), 5);
}

#[tokio::test]
async fn synthetic_fast_lines_equal_the_projected_user() {
    let api = Api::new(FakeAuth0::synthetic(300, 7).await).await;
    let fields: Vec<Value> = DEFAULT_EXPORT_FIELDS
        .iter()
        .map(|n| json!({"name": n}))
        .collect();
    let fast = api.run_job(json!({"format": "json"})).await;
    let slow = api
        .run_job(json!({"format": "json", "fields": fields}))
        .await;
    let fast = gunzip(&api.download(fast["location"].as_str().unwrap()).await).unwrap();
    let slow = gunzip(&api.download(slow["location"].as_str().unwrap()).await).unwrap();
    assert_eq!(fast.lines().count(), 300);
    assert_eq!(fast, slow);
    // Real deflate (level 6) decodes to the same text as stored blocks.
    let deflated = Api::new(
        FakeAuth0::start(FakeAuth0Config {
            synthetic: Some(fakes::auth0::SyntheticTenant {
                users: 300,
                orgs: 7,
            }),
            download_gzip_level: 6,
            ..FakeAuth0Config::default()
        })
        .await,
    )
    .await;
    let job = deflated.run_job(json!({"format": "json"})).await;
    let bytes = deflated.download(job["location"].as_str().unwrap()).await;
    assert!(bytes.len() < fast.len() / 4, "compressed");
    assert_eq!(gunzip(&bytes).unwrap(), fast);
    let user = api.get("/api/v2/users/auth0%7Cu000000123").await.body;
    let first: Value = serde_json::from_str(fast.lines().nth(123).unwrap()).unwrap();
    assert_eq!(first["email"], user["email"]);
    assert_eq!(first["identities"], user["identities"]);
}

#[tokio::test]
async fn injected_faults_status_delay_drop_and_in_flight() {
    let api = Api::fixture().await;
    api.fake.push_fault(Route::Users, Fault::Status(503));
    api.fake.push_fault(Route::Users, Fault::Drop);
    api.fake.push_fault(
        Route::Users,
        Fault::RateLimited {
            retry_after_secs: 7,
        },
    );
    let r = api.get("/api/v2/users").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body["statusCode"], 503);
    assert_eq!(r.body["error"], "Service Unavailable");
    let err = api
        .http
        .get(format!("{}/api/v2/users", api.fake.url()))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect_err("dropped connection");
    assert!(!err.is_status());
    let r = api.get("/api/v2/users").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.headers["retry-after"], "7");
    assert_eq!(r.body["errorCode"], "too_many_requests");
    assert_eq!(api.get("/api/v2/users").await.status, 200);
    assert_eq!(api.fake.count(Route::Users), 4);
    assert_eq!(api.fake.count_status(503), 1);

    api.fake.push_fault(Route::Token, Fault::Status(500));
    let r = api.token_request(json!({"client_id": "x"})).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body["error"], "server_error");

    api.fake.reset_counters();
    for _ in 0..4 {
        api.fake
            .push_fault(Route::User, Fault::Delay(Duration::from_millis(300)));
    }
    let started = Instant::now();
    let lookups = (0..4).map(|_| api.get("/api/v2/users/auth0%7Ca"));
    let results = futures::future::join_all(lookups).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "concurrent"
    );
    for r in &results {
        assert_eq!(r.status, 200);
        assert_eq!(r.body["email"], "A@x.com");
    }
    assert_eq!(api.fake.max_in_flight(), 4);
    assert_eq!(api.fake.count(Route::User), 4);
    let recorded = api.fake.requests();
    assert_eq!(recorded.len(), 4);
    assert_eq!(recorded[0].path_and_query, "/api/v2/users/auth0%7Ca");
    assert!(recorded[0]
        .authorization
        .as_deref()
        .unwrap()
        .starts_with("Bearer "));
}

#[tokio::test]
async fn synthetic_tenant_of_ten_million_users_is_computed() {
    let api = Api::new(FakeAuth0::synthetic(10_000_000, 1000).await).await;
    let r = api
        .get("/api/v2/users?include_totals=true&per_page=1")
        .await;
    assert_eq!(r.body["total"], 10_000_000);
    let r = api.get("/api/v2/users/auth0%7Cu009999999").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["email"], "user9999999@example.com");
    assert_eq!(r.body["identities"][0]["provider"], "auth0");
    assert!(r.body["user_metadata"].is_object() && r.body["app_metadata"].is_object());
    let r = api.get("/api/v2/users/auth0%7Cu010000000").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["errorCode"], "inexistent_user");
    let r = api
        .get("/api/v2/organizations?include_totals=true&per_page=2&page=3")
        .await;
    assert_eq!(r.body["total"], 1000);
    assert_eq!(
        ids(&r.body["organizations"], "id"),
        ["org_000006", "org_000007"]
    );
    let r = api
        .get("/api/v2/organizations/org_000999/members?include_totals=true&per_page=1")
        .await;
    assert_eq!(r.body["total"], 10_000);
    assert_eq!(r.body["members"][0]["user_id"], "auth0|u000000999");
    let r = api.get("/api/v2/roles").await;
    assert_eq!(ids(&r.body, "id"), ["rol_admin", "rol_member"]);
    let r = api.get("/api/v2/connections").await;
    assert_eq!(ids(&r.body, "id"), ["con_synthetic_db"]);
}

#[tokio::test]
async fn fixture_tenant_serves_appendix_b() {
    let api = Api::fixture().await;
    let r = api.get("/api/v2/organizations?per_page=100").await;
    assert_eq!(ids(&r.body, "id"), ["org_acme", "org_two"]);
    assert_eq!(r.body[0]["display_name"], "Acme, Inc");
    let r = api
        .get("/api/v2/organizations?page=0&per_page=1&include_totals=true")
        .await;
    assert_eq!(r.body["total"], 2);

    let r = api
        .get("/api/v2/organizations/org_acme/members?per_page=100")
        .await;
    assert_eq!(
        ids(&r.body, "user_id"),
        ["auth0|a", "auth0|b", "google|c", "auth0|d", "missing", "auth0|f", "auth0|g"]
    );
    assert_eq!(r.body[4], json!({"user_id": "missing"}));
    assert_eq!(
        r.body[0],
        json!({"user_id": "auth0|a", "email": "A@x.com", "name": "Ann  Marie  Lee"})
    );

    let r = api.get("/api/v2/users/missing").await;
    assert_eq!(r.status, 404);
    let r = api.get("/api/v2/users/google%7Cc").await;
    assert_eq!(r.body["identities"][0]["isSocial"], true);

    let r = api
        .get("/api/v2/organizations/org_acme/members/auth0%7Ca/roles?page=0&per_page=100")
        .await;
    assert_eq!(ids(&r.body, "id"), ["r1", "r2", "zz"]);
    assert_eq!(r.body[1]["name"], "Café Crème");
    assert_eq!(r.body[2], json!({"id": "zz"}), "unknown role: id only");
    let r = api.get("/api/v2/roles?per_page=100").await;
    assert_eq!(ids(&r.body, "id"), ["r1", "r2", "r3", "r4", "r5", "r6"]);

    let r = api.get("/api/v2/connections?include_totals=false").await;
    assert_eq!(
        ids(&r.body, "name"),
        ["okta", "okta-oidc", "gapps", "waad", "adfs1", "github"]
    );
    assert!(r.body[0]["options"]["metadataXml"].is_string());
    let r = api
        .get("/api/v2/connections?strategy=samlp&strategy=waad&include_totals=true")
        .await;
    assert_eq!(ids(&r.body["connections"], "id"), ["con_s", "con_w"]);
    assert_eq!(
        api.get("/api/v2/connections/con_o").await.body["options"]["client_id"],
        "cid"
    );

    let r = api
        .get("/api/v2/organizations/org_acme/enabled_connections?page=0&per_page=100")
        .await;
    assert_eq!(
        r.body,
        json!([
            {"connection_id": "con_s", "assign_membership_on_login": false, "connection": {"name": "okta", "strategy": "samlp"}},
            {"connection_id": "con_o", "assign_membership_on_login": false, "connection": {"name": "okta-oidc", "strategy": "okta"}},
        ])
    );
    let r = api
        .get("/api/v2/organizations/org_two/enabled_connections?include_totals=true")
        .await;
    assert_eq!(r.body["total"], 1);

    api.fake
        .set_connections_scope(ConnectionsScope::ConnectionOptionsForbidden);
    let r = api.get("/api/v2/connections").await;
    assert_eq!(r.status, 200);
    assert!(r.body[0].get("options").is_none());
    let r = api.get("/api/v2/connections/con_s").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body["message"],
        "Insufficient scope, expected any of: read:connections_options"
    );
    api.fake
        .set_connections_scope(ConnectionsScope::ConnectionsListingForbidden);
    let r = api.get("/api/v2/connections").await;
    assert_eq!(
        (r.status, r.body["errorCode"].clone()),
        (403, json!("insufficient_scope"))
    );

    let r = api.get("/api/v2/nothing-here").await;
    assert_eq!(r.status, 404);
    assert!(api
        .fake
        .load_fixture(&json!({"users": [{"email": "no-id@x.com"}]}))
        .is_err());
}

/// Throughput of a 1M-user download, generation + gzip only (the client
/// just counts bytes). Run by hand, optionally with `FAKE_AUTH0_GZIP_LEVEL`:
/// `cargo test --test fake_auth0 -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn download_throughput_of_a_million_users() {
    use futures::StreamExt as _;
    let level = std::env::var("FAKE_AUTH0_GZIP_LEVEL")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let fake = FakeAuth0::start(FakeAuth0Config {
        synthetic: Some(fakes::auth0::SyntheticTenant {
            users: 1_000_000,
            orgs: 100,
        }),
        job_polls_to_complete: 1,
        download_gzip_level: level,
        ..FakeAuth0Config::default()
    })
    .await;
    let api = Api::new(fake).await;
    let job = api.run_job(json!({"format": "json"})).await;
    let started = Instant::now();
    let r = api
        .http
        .get(job["location"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let mut stream = r.bytes_stream();
    let mut compressed = 0usize;
    while let Some(chunk) = stream.next().await {
        compressed += chunk.unwrap().len();
    }
    let secs = started.elapsed().as_secs_f64();
    // Every synthetic default line is 480–500 bytes.
    let ndjson = 490_000_000f64;
    println!(
        "1M users, gzip level {level}: {compressed} gzip bytes in {secs:.2}s = ~{:.1} MB/s NDJSON, {:.1} MB/s gzip",
        ndjson / secs / 1e6,
        compressed as f64 / secs / 1e6
    );
}
