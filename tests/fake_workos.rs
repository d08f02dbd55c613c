//! Tests of the fake WorkOS API itself (`tests/fakes/workos.rs`) over real
//! HTTP with reqwest: auth, the documented error bodies, uniqueness rules,
//! password hash formats, memberships and roles, TOTP, pagination, the rate
//! limiter, fault injection and the `/__fake/` admin surface.

mod fakes;

use std::collections::HashSet;
use std::time::Duration;

use fakes::workos::{FakeWorkOs, FakeWorkOsConfig, FaultPlan};
use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

struct Resp {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

struct Api {
    fake: FakeWorkOs,
    http: reqwest::Client,
    key: String,
}

impl Api {
    async fn start(config: FakeWorkOsConfig) -> Self {
        let key = config.api_key.clone();
        let fake = FakeWorkOs::start(config).await;
        Self {
            fake,
            http: reqwest::Client::new(),
            key,
        }
    }

    async fn default() -> Self {
        Self::start(FakeWorkOsConfig::default()).await
    }

    fn request(&self, method: Method, path: &str, body: Option<&Value>) -> reqwest::RequestBuilder {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.fake.base_url()))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        rb
    }

    async fn try_call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Resp, reqwest::Error> {
        let r = self.request(method, path, body).send().await?;
        Ok(read(r).await)
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        self.try_call(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(&body)).await
    }

    async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(&body)).await
    }

    async fn create_user(&self, email: &str) -> String {
        let r = self
            .post("/user_management/users", json!({"email": email}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().expect("id").to_string()
    }

    async fn create_org(&self, name: &str, external_id: Option<&str>) -> String {
        let r = self
            .post(
                "/organizations",
                json!({"name": name, "external_id": external_id}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().expect("id").to_string()
    }
}

async fn read(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Resp {
        status,
        body,
        headers,
    }
}

fn no_limits() -> FakeWorkOsConfig {
    FakeWorkOsConfig {
        rate_limits: false,
        ..Default::default()
    }
}

#[tokio::test]
async fn auth_request_ids_and_content_type() {
    let api = Api::default().await;
    let url = format!("{}/user_management/users", api.fake.base_url());
    let none = read(api.http.get(&url).send().await.expect("send")).await;
    let wrong = read(
        api.http
            .get(&url)
            .bearer_auth("sk_test_wrong")
            .send()
            .await
            .expect("send"),
    )
    .await;
    for r in [&none, &wrong] {
        assert_eq!(r.status, 401);
        assert_eq!(
            r.body,
            json!({"code": "unauthorized", "message": "Could not authorize the request. Maybe your API key is invalid?"})
        );
        assert!(!r.body.to_string().contains("sk_test_wrong"));
    }
    let ok = api.get("/user_management/users").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["object"], "list");
    let ids: HashSet<String> = [&none, &wrong, &ok]
        .iter()
        .map(|r| {
            r.headers["x-request-id"]
                .to_str()
                .expect("ascii")
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 3, "request ids must be unique: {ids:?}");
    assert_eq!(ok.headers["content-type"], "application/json");
    let stats = api.fake.stats();
    assert_eq!(stats.total_requests, 3);
    assert_eq!(stats.unauthorized, 2);
    assert_eq!(stats.by_route["GET /user_management/users"], 3);
    let missing = api.get("/nope").await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn user_email_is_unique_case_insensitively() {
    let api = Api::default().await;
    let r = api
        .post(
            "/user_management/users",
            json!({"email": "Alice@Example.com", "first_name": "Alice", "email_verified": true, "metadata": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().expect("id");
    assert!(id.starts_with("user_01") && id.len() == 5 + 26, "{id}");
    assert_eq!(r.body["object"], "user");
    assert_eq!(r.body["email"], "Alice@Example.com");
    assert_eq!(r.body["email_verified"], true);
    assert_eq!(r.body["metadata"], json!({"plan": "pro"}));
    assert!(r.body["created_at"].as_str().expect("ts").ends_with('Z'));

    let dup = api
        .post(
            "/user_management/users",
            json!({"email": "alice@example.COM"}),
        )
        .await;
    assert_eq!(dup.status, 400);
    assert_eq!(
        dup.body,
        json!({
            "code": "user_creation_error",
            "message": "Could not create user.",
            "errors": [{"code": "email_not_available", "message": "The email address 'alice@example.COM' is not available."}],
        })
    );
    assert_eq!(api.fake.users().len(), 1);

    // Lookups: by email (case-insensitive), by id.
    let list = api
        .get("/user_management/users?email=ALICE%40example.com&order=desc")
        .await;
    assert_eq!(list.body["data"].as_array().expect("data").len(), 1);
    assert_eq!(
        list.body["list_metadata"],
        json!({"before": null, "after": null})
    );
    let got = api.get(&format!("/user_management/users/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["id"], id);
    let missing = api.get("/user_management/users/user_01NOPE").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body,
        json!({"message": "User not found: 'user_01NOPE'."})
    );
}

#[tokio::test]
async fn external_ids_are_unique() {
    let api = Api::default().await;
    let a = api
        .post(
            "/user_management/users",
            json!({"email": "a@example.com", "external_id": "ext-1"}),
        )
        .await;
    assert_eq!(a.status, 201);
    let b = api
        .post(
            "/user_management/users",
            json!({"email": "b@example.com", "external_id": "ext-1"}),
        )
        .await;
    assert_eq!(b.status, 400);
    assert_eq!(b.body["code"], "user_creation_error");
    assert_eq!(b.body["errors"][0]["code"], "external_id_already_used");
    // Both conflicts reported at once.
    let c = api
        .post(
            "/user_management/users",
            json!({"email": "A@example.com", "external_id": "ext-1"}),
        )
        .await;
    let codes: Vec<&str> = c.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, ["email_not_available", "external_id_already_used"]);

    let by_ext = api.get("/user_management/users/external_id/ext-1").await;
    assert_eq!(by_ext.status, 200);
    assert_eq!(by_ext.body["email"], "a@example.com");

    // Update: external id / email taken by another user.
    let b_id = api.create_user("b@example.com").await;
    let upd = api
        .put(
            &format!("/user_management/users/{b_id}"),
            json!({"external_id": "ext-1"}),
        )
        .await;
    assert_eq!(upd.status, 400);
    assert_eq!(upd.body["code"], "external_id_already_used");
    let upd = api
        .put(
            &format!("/user_management/users/{b_id}"),
            json!({"email": "A@EXAMPLE.com"}),
        )
        .await;
    assert_eq!(upd.body["code"], "email_not_available");
    let upd = api
        .put(
            &format!("/user_management/users/{b_id}"),
            json!({"external_id": "ext-2", "first_name": "Bee", "metadata": {"k": "v"}}),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.body);
    assert_eq!(upd.body["external_id"], "ext-2");
    assert_eq!(upd.body["first_name"], "Bee");
    assert_eq!(
        api.get("/user_management/users/external_id/ext-2")
            .await
            .body["id"],
        b_id.as_str()
    );

    // Organizations.
    api.create_org("Acme", Some("acme")).await;
    let dup = api
        .post(
            "/organizations",
            json!({"name": "Acme 2", "external_id": "acme"}),
        )
        .await;
    assert_eq!(dup.status, 400);
    assert_eq!(dup.body["code"], "external_id_already_used");
    let msg = dup.body["message"].as_str().expect("message");
    assert!(
        msg.contains("external_id") && msg.contains("already been assigned"),
        "{msg}"
    );
    assert_eq!(api.fake.organizations().len(), 1);

    // Delete frees the email and external id.
    let del = api
        .call(
            Method::DELETE,
            &format!("/user_management/users/{b_id}"),
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    let again = api
        .post(
            "/user_management/users",
            json!({"email": "b@example.com", "external_id": "ext-2"}),
        )
        .await;
    assert_eq!(again.status, 201);
}

#[tokio::test]
async fn user_validation_and_password_hashes() {
    let api = Api::start(no_limits()).await;
    let post = |body: Value| {
        let api = &api;
        async move { api.post("/user_management/users", body).await }
    };
    let r = post(json!({"first_name": "x"})).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (422, Some("invalid_request_parameters"))
    );
    let r = post(json!({"email": "not-an-email"})).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"][0]["field"], "email");
    let r = post(json!({"email": 5})).await;
    assert_eq!(r.status, 422);

    // Metadata limits.
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    for metadata in [
        Value::Object(many),
        json!({"k": 1}),
        json!({"k".repeat(41): "v"}),
        json!({"k": "v".repeat(601)}),
        json!(["not", "an", "object"]),
    ] {
        let r = post(json!({"email": "m@example.com", "metadata": metadata})).await;
        assert_eq!(r.status, 400, "{metadata}");
        assert_eq!(r.body["code"], "invalid_metadata");
    }
    let ok: serde_json::Map<String, Value> = (0..50)
        .map(|i| (format!("{i:0>40}"), json!("v".repeat(600))))
        .collect();
    let r = post(json!({"email": "m@example.com", "metadata": ok})).await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Password group.
    let r = post(json!({"email": "p1@example.com", "password": "hunter2hunter2", "password_hash": "x", "password_hash_type": "bcrypt"})).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("password_and_password_hash_provided"))
    );
    let r = post(json!({"email": "p1@example.com", "password": "hunter2hunter2", "password_hash_type": "bcrypt"})).await;
    assert_eq!(r.body["code"], "password_and_password_hash_type_provided");
    let r = post(json!({"email": "p1@example.com", "password_hash": "x"})).await;
    assert_eq!(r.status, 422);
    for unsupported in ["md5", "okta-bcrypt", "sha256"] {
        let r = post(json!({"email": "p1@example.com", "password_hash": "x", "password_hash_type": unsupported})).await;
        assert_eq!(r.status, 422, "{unsupported}");
        assert_eq!(r.body["code"], "invalid_request_parameters");
    }
    let r = post(json!({"email": "p1@example.com", "password": "short"})).await;
    assert_eq!(r.body["code"], "password_strength_error");
    let r = post(json!({"email": "p1@example.com", "password": "correct horse"})).await;
    assert_eq!(r.status, 201);

    let valid = [
        ("bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"),
        ("bcrypt", "$2y$12$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"),
        ("argon2", "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"),
        ("pbkdf2", "$pbkdf2$i=600000,d=sha256$AAECAwQFBgcICQoLDA0ODw$7xdxRO7JQgy8EJPSqLNEqSvFBtDU7JwCjdGfgyTYweY"),
        ("pbkdf2", "$pbkdf2$i=210000,d=sha512$AAECAwQFBgcICQoLDA0ODw$tfP6dFnMFLm84erFFC/hWDzb6fAjAPCAs0RvJLiu5xYHfelPBTAEADgLVRgJzZ8bKvvUpW2nUExEbADbiezuPg"),
        ("scrypt", "$scrypt$v=1$n=16384,r=8,p=1,kl=64$AAECAwQFBgcICQoLDA0ODw$11kKyiyYAc8G7rp3KmncMc44YlkdllIqxOa7pq0fMaUtb3NvK4WtqmJiM16xEuVvAU9BejfXS+De92abLFHCng"),
        ("firebase-scrypt", "$firebase-scrypt$hash=aGFzaA==$salt=c2FsdA==$sk=a2V5$ss=c2Vw$r=8$m=14"),
        ("firebase-scrypt", "$firebase-scrypt$v=1$r=8,m=14,ss=c2Vw,sk=a2V5$c2FsdA$aGFzaA"),
        ("ssha", "{SSHA}o7B+j1mFfbmEwTcG4Xb9GJL9mOYAAQIDBAUGBw=="),
    ];
    for (i, (kind, hash)) in valid.iter().enumerate() {
        let r = post(json!({"email": format!("h{i}@example.com"), "password_hash": hash, "password_hash_type": kind})).await;
        assert_eq!(r.status, 201, "{kind} {hash}: {}", r.body);
    }
    let invalid = [
        ("bcrypt", "$2x$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"),
        ("bcrypt", "$2a$10$tooshort"),
        ("bcrypt", "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"),
        ("argon2", "$argon2id$v=16$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"),
        ("argon2", "$argon2id$v=19$m=1024,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"),
        ("argon2", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"),
        ("pbkdf2", "$pbkdf2$i=1000,d=sha256$AAECAwQFBgcICQoLDA0ODw$7xdxRO7JQgy8EJPSqLNEqSvFBtDU7JwCjdGfgyTYweY"),
        ("pbkdf2", "$pbkdf2-sha256$i=600000$AAECAwQFBgcICQoLDA0ODw$7xdxRO7JQgy8EJPSqLNEqSvFBtDU7JwCjdGfgyTYweY"),
        ("scrypt", "$scrypt$v=1$n=1000,r=8,p=1,kl=64$AAECAwQFBgcICQoLDA0ODw$11kK"),
        ("firebase-scrypt", "$firebase-scrypt$hash=aGFzaA==$salt=c2FsdA==$sk=a2V5$r=8$m=14"),
        ("ssha", "{SSHA}o7B+j1mFfbmEwTcG4Xb9GJL9mOY="),
        ("ssha", "o7B+j1mFfbmEwTcG4Xb9GJL9mOYAAQIDBAUGBw=="),
    ];
    for (kind, hash) in invalid {
        let r = post(
            json!({"email": "bad@example.com", "password_hash": hash, "password_hash_type": kind}),
        )
        .await;
        assert_eq!(r.status, 400, "{kind} {hash}: {}", r.body);
        assert_eq!(r.body["code"], "invalid_password_hash", "{kind} {hash}");
    }
    let stored = api.fake.users();
    let h0 = stored
        .iter()
        .find(|u| u["email"] == "h0@example.com")
        .expect("h0");
    assert_eq!(h0["fake_password"]["hash_type"], "bcrypt");
    assert!(stored.iter().all(|u| u["email"] != "bad@example.com"));
}

#[tokio::test]
async fn memberships_conflicts_and_roles() {
    let api = Api::start(no_limits()).await;
    let org = api.create_org("Acme", Some("acme")).await;
    let alice = api.create_user("alice@example.com").await;
    let bob = api.create_user("bob@example.com").await;

    let r = api
        .post(
            "/user_management/organization_memberships",
            json!({"organization_id": org, "user_id": alice, "role_slug": "admin"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let om = r.body["id"].as_str().expect("id").to_string();
    assert!(om.starts_with("om_01"));
    assert_eq!(r.body["role"], json!({"slug": "admin"}));
    assert_eq!(r.body["roles"], json!([{"slug": "admin"}]));
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["organization_name"], "Acme");

    let dup = api
        .post(
            "/user_management/organization_memberships",
            json!({"organization_id": org, "user_id": alice}),
        )
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(
        dup.body,
        json!({
            "code": "organization_membership_already_exists",
            "message": format!("User '{alice}' is already a member of organization '{org}'."),
        })
    );

    let unknown_org = api
        .post(
            "/user_management/organization_memberships",
            json!({"organization_id": "org_01MISSING", "user_id": alice}),
        )
        .await;
    assert_eq!(unknown_org.status, 404);
    assert_eq!(
        unknown_org.body,
        json!({"message": "Organization not found: 'org_01MISSING'."})
    );
    let unknown_user = api
        .post(
            "/user_management/organization_memberships",
            json!({"organization_id": org, "user_id": "user_01MISSING"}),
        )
        .await;
    assert_eq!(
        unknown_user.body,
        json!({"message": "User not found: 'user_01MISSING'."})
    );

    let bad_role = api
        .post(
            "/user_management/organization_memberships",
            json!({"organization_id": org, "user_id": bob, "role_slug": "owner"}),
        )
        .await;
    assert_eq!(bad_role.status, 422);
    assert_eq!(
        bad_role.body,
        json!({"code": "invalid_role", "message": "Role 'owner' is not a valid role."})
    );

    api.fake.set_multiple_roles_enabled(false);
    let multi = api
        .post(
            "/user_management/organization_memberships",
            json!({"organization_id": org, "user_id": bob, "role_slugs": ["admin", "member"]}),
        )
        .await;
    assert_eq!(multi.status, 422);
    assert_eq!(
        multi.body,
        json!({"code": "multiple_roles_not_enabled", "message": "Multiple roles are not enabled for this environment."})
    );
    api.fake.set_multiple_roles_enabled(true);
    let multi = api
        .post(
            "/user_management/organization_memberships",
            json!({"organization_id": org, "user_id": bob, "role_slugs": ["admin", "member"]}),
        )
        .await;
    assert_eq!(multi.status, 201, "{}", multi.body);
    assert_eq!(multi.body["role"], json!({"slug": "admin"}));
    assert_eq!(
        multi.body["roles"],
        json!([{"slug": "admin"}, {"slug": "member"}])
    );

    // Default role, list filters, update, deactivate, delete.
    let carol = api.create_user("carol@example.com").await;
    let c = api
        .post(
            "/user_management/organization_memberships",
            json!({"organization_id": org, "user_id": carol}),
        )
        .await;
    assert_eq!(c.body["role"], json!({"slug": "member"}));
    let list = api
        .get(&format!(
            "/user_management/organization_memberships?organization_id={org}&order=desc"
        ))
        .await;
    assert_eq!(list.body["data"].as_array().expect("data").len(), 3);
    let none = api.get("/user_management/organization_memberships").await;
    assert_eq!(none.status, 400);
    assert_eq!(none.body["code"], "missing_user_id_or_organization_id");
    let upd = api
        .put(
            &format!("/user_management/organization_memberships/{om}"),
            json!({"role_slugs": ["member"]}),
        )
        .await;
    assert_eq!(upd.body["roles"], json!([{"slug": "member"}]));
    let deact = api
        .put(
            &format!("/user_management/organization_memberships/{om}/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(deact.body["status"], "inactive");
    let active = api
        .get(&format!(
            "/user_management/organization_memberships?user_id={alice}&organization_id={org}"
        ))
        .await;
    assert_eq!(active.body["data"], json!([]));
    let any = api
        .get(&format!(
            "/user_management/organization_memberships?user_id={alice}&statuses=active,inactive"
        ))
        .await;
    assert_eq!(any.body["data"].as_array().expect("data").len(), 1);
    // Creating over an inactive membership reactivates it.
    let re = api
        .post(
            "/user_management/organization_memberships",
            json!({"organization_id": org, "user_id": alice, "role_slug": "admin"}),
        )
        .await;
    assert_eq!(
        (re.status, re.body["status"].as_str()),
        (201, Some("active"))
    );
    assert_eq!(re.body["id"], om.as_str());
    let in_org = api
        .get(&format!(
            "/user_management/users?organization_id={org}&limit=100"
        ))
        .await;
    assert_eq!(in_org.body["data"].as_array().expect("data").len(), 3);

    assert!(api.fake.delete_membership(&carol, &org));
    assert!(!api.fake.delete_membership(&carol, &org));
    let del = api
        .call(
            Method::DELETE,
            &format!("/user_management/organization_memberships/{om}"),
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    let ms = api.fake.memberships();
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0]["user_id"], bob.as_str());
}

#[tokio::test]
async fn permissions_and_roles() {
    let api = Api::start(no_limits()).await;
    let p = api
        .post(
            "/authorization/permissions",
            json!({"slug": "users:read", "name": "Users Read"}),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    assert_eq!(p.body["object"], "permission");
    let dup = api
        .post(
            "/authorization/permissions",
            json!({"slug": "users:read", "name": "Again"}),
        )
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["code"], "permission_slug_conflict");
    let bad = api
        .post(
            "/authorization/permissions",
            json!({"slug": "Users Read", "name": "x"}),
        )
        .await;
    assert_eq!(bad.status, 422);

    let role = api
        .post(
            "/authorization/roles",
            json!({"slug": "billing", "name": "Billing"}),
        )
        .await;
    assert_eq!(role.status, 201);
    assert_eq!(role.body["type"], "EnvironmentRole");
    let dup = api
        .post(
            "/authorization/roles",
            json!({"slug": "admin", "name": "Admin"}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.body["code"].as_str()),
        (409, Some("role_slug_conflict"))
    );
    let set = api
        .put(
            "/authorization/roles/billing/permissions",
            json!({"permissions": ["users:read"]}),
        )
        .await;
    assert_eq!(set.status, 200);
    assert_eq!(set.body["permissions"], json!(["users:read"]));
    let missing_perm = api
        .put(
            "/authorization/roles/billing/permissions",
            json!({"permissions": ["nope"]}),
        )
        .await;
    assert_eq!(missing_perm.status, 404);

    let env = api.get("/authorization/roles").await;
    assert_eq!(env.status, 200);
    assert!(env.body.get("list_metadata").is_none());
    let slugs: Vec<&str> = env.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| r["slug"].as_str().expect("slug"))
        .collect();
    assert_eq!(slugs, ["member", "admin", "billing"]);

    let org = api.create_org("Acme", None).await;
    let bad_slug = api
        .post(
            &format!("/authorization/organizations/{org}/roles"),
            json!({"slug": "support", "name": "Support"}),
        )
        .await;
    assert_eq!(bad_slug.status, 422);
    let org_role = api
        .post(
            &format!("/authorization/organizations/{org}/roles"),
            json!({"slug": "org-support", "name": "Support"}),
        )
        .await;
    assert_eq!(org_role.status, 201, "{}", org_role.body);
    assert_eq!(org_role.body["type"], "OrganizationRole");
    let dup = api
        .post(
            &format!("/authorization/organizations/{org}/roles"),
            json!({"slug": "org-support", "name": "Support"}),
        )
        .await;
    assert_eq!(dup.body["code"], "organization_role_slug_conflict");
    let auto = api
        .post(
            &format!("/authorization/organizations/{org}/roles"),
            json!({"name": "Tier 2 Support"}),
        )
        .await;
    assert!(auto.body["slug"]
        .as_str()
        .expect("slug")
        .starts_with("org-tier-2-support-"));
    let set = api
        .put(
            &format!("/authorization/organizations/{org}/roles/org-support/permissions"),
            json!({"permissions": ["users:read"]}),
        )
        .await;
    assert_eq!(set.body["permissions"], json!(["users:read"]));

    // Legacy list path the role processor uses, paginated by `after`.
    let page = api
        .get(&format!("/organizations/{org}/roles?limit=100"))
        .await;
    assert_eq!(page.status, 200);
    let slugs: Vec<&str> = page.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| r["slug"].as_str().expect("slug"))
        .collect();
    assert_eq!(slugs.len(), 5);
    assert!(slugs.contains(&"org-support"));
    assert_eq!(page.body["list_metadata"]["after"], Value::Null);
    let small = api
        .get(&format!("/organizations/{org}/roles?limit=2"))
        .await;
    let after = small.body["list_metadata"]["after"]
        .as_str()
        .expect("after");
    let next = api
        .get(&format!(
            "/organizations/{org}/roles?limit=100&after={after}"
        ))
        .await;
    assert_eq!(next.body["data"].as_array().expect("data").len(), 3);

    // Org role usable in that org's memberships only.
    let user = api.create_user("u@example.com").await;
    let ok = api
        .post(
            "/user_management/organization_memberships",
            json!({"organization_id": org, "user_id": user, "role_slugs": ["org-support", "billing"]}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let other = api.create_org("Other", None).await;
    let no = api
        .post(
            "/user_management/organization_memberships",
            json!({"organization_id": other, "user_id": user, "role_slug": "org-support"}),
        )
        .await;
    assert_eq!(no.body["code"], "invalid_role");

    let roles = api.fake.roles();
    assert_eq!(roles.len(), 5);
    let support = roles
        .iter()
        .find(|r| r["slug"] == "org-support")
        .expect("org role");
    assert_eq!(support["organization_id"], org.as_str());
    assert_eq!(api.fake.permissions().len(), 1);
}

#[tokio::test]
async fn totp_factors() {
    let api = Api::start(no_limits()).await;
    let user = api.create_user("t@example.com").await;
    let path = format!("/user_management/users/{user}/auth_factors");
    let bad = api
        .post(&path, json!({"type": "totp", "totp_secret": "not base32!"}))
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body["message"]
        .as_str()
        .expect("message")
        .contains("Base32"));
    let ok = api
        .post(
            &path,
            json!({"type": "totp", "totp_secret": "JBSWY3DPEHPK3PXP", "totp_issuer": "Acme", "totp_user": "t@example.com"}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let factor = &ok.body["authentication_factor"];
    assert!(factor["id"]
        .as_str()
        .expect("id")
        .starts_with("auth_factor_01"));
    assert_eq!(factor["totp"]["secret"], "JBSWY3DPEHPK3PXP");
    assert_eq!(factor["user_id"], user.as_str());
    assert_eq!(
        ok.body["authentication_challenge"]["authentication_factor_id"],
        factor["id"]
    );
    let again = api
        .post(
            &path,
            json!({"type": "totp", "totp_secret": "JBSWY3DPEHPK3PXP"}),
        )
        .await;
    assert_eq!(again.status, 422);
    assert!(again.body["message"]
        .as_str()
        .expect("message")
        .contains("already enrolled"));
    let wrong_type = api.post(&path, json!({"type": "sms"})).await;
    assert_eq!(wrong_type.status, 422);
    let nobody = api
        .post(
            "/user_management/users/user_01NOBODY/auth_factors",
            json!({"type": "totp"}),
        )
        .await;
    assert_eq!(nobody.status, 404);
    let list = api.get(&path).await;
    assert_eq!(list.body["data"].as_array().expect("data").len(), 1);
    assert!(list.body["data"][0]["totp"].get("secret").is_none());
    let factors = api.fake.auth_factors();
    assert_eq!(factors.len(), 1);
    assert_eq!(factors[0]["user_id"], user.as_str());
    assert_eq!(factors[0]["totp"]["issuer"], "Acme");
}

#[tokio::test]
async fn pagination_across_250_users() {
    let api = Api::start(no_limits()).await;
    let seeded: Vec<String> = (0..250)
        .map(|i| api.fake.seed_user(&format!("user{i:03}@example.com"), None))
        .collect();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/user_management/users?limit=100&order=desc".to_string();
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let r = api.get(&path).await;
        assert_eq!(r.status, 200);
        pages += 1;
        let data = r.body["data"].as_array().expect("data");
        seen.extend(
            data.iter()
                .map(|u| u["id"].as_str().expect("id").to_string()),
        );
        match r.body["list_metadata"]["after"].as_str() {
            Some(a) => after = Some(a.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut newest_first = seeded.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    // Ascending, and `before` returns the previous page.
    let asc = api.get("/user_management/users?limit=100&order=asc").await;
    let first_page: Vec<&str> = asc.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|u| u["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        first_page,
        seeded[..100].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(asc.body["list_metadata"]["before"], Value::Null);
    let after = asc.body["list_metadata"]["after"].as_str().expect("after");
    let second = api
        .get(&format!(
            "/user_management/users?limit=100&order=asc&after={after}"
        ))
        .await;
    let before = second.body["list_metadata"]["before"]
        .as_str()
        .expect("before");
    assert_eq!(before, seeded[100]);
    let back = api
        .get(&format!(
            "/user_management/users?limit=100&order=asc&before={before}"
        ))
        .await;
    assert_eq!(back.body["data"], asc.body["data"]);

    let default = api.get("/user_management/users").await;
    assert_eq!(default.body["data"].as_array().expect("data").len(), 10);
    let too_big = api.get("/user_management/users?limit=101").await;
    assert_eq!(too_big.status, 422);
    let bad_order = api.get("/user_management/users?order=sideways").await;
    assert_eq!(bad_order.status, 422);
}

#[tokio::test]
async fn organization_by_external_id_with_slash() {
    let api = Api::start(no_limits()).await;
    let r = api
        .post(
            "/organizations",
            json!({
                "name": "Acme EU",
                "external_id": "acme/eu 1",
                "domain_data": [{"domain": "Acme.eu", "state": "verified"}],
                "metadata": {"region": "eu"},
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().expect("id");
    assert!(id.starts_with("org_01"));
    assert_eq!(r.body["domains"][0]["domain"], "acme.eu");
    assert_eq!(r.body["domains"][0]["state"], "verified");
    assert_eq!(r.body["domains"][0]["object"], "organization_domain");

    let got = api.get("/organizations/external_id/acme%2Feu%201").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["id"], id);
    assert!(got.body["domains"].is_array());
    // Unencoded slash (the original SDK does not encode the segment).
    let raw = api.get("/organizations/external_id/acme/eu%201").await;
    assert_eq!(raw.body["id"], id);
    let missing = api.get("/organizations/external_id/nope").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body,
        json!({"message": "Organization not found: 'nope'."})
    );

    let bare = api.create_org("Bare", None).await;
    let org = api.get(&format!("/organizations/{bare}")).await;
    assert_eq!(org.body["domains"], json!([]));
    let upd = api
        .put(
            &format!("/organizations/{bare}"),
            json!({"name": "Bare 2", "external_id": "bare"}),
        )
        .await;
    assert_eq!(upd.body["name"], "Bare 2");
    assert_eq!(
        api.get("/organizations/external_id/bare").await.body["id"],
        bare.as_str()
    );
    let list = api.get("/organizations?search=acme").await;
    assert_eq!(list.body["data"].as_array().expect("data").len(), 1);
    let list = api.get("/organizations?domains=acme.eu,other.com").await;
    assert_eq!(list.body["data"][0]["id"], id);
    let del = api
        .call(Method::DELETE, &format!("/organizations/{bare}"), None)
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(api.fake.organizations().len(), 1);
}

#[tokio::test]
async fn rate_limit_on_user_management_writes() {
    let api = Api::default().await;
    let started = std::time::Instant::now();
    let results: Vec<(u16, Option<String>)> = futures::stream::iter(0..520)
        .map(|i| {
            let api = &api;
            async move {
                let r = api
                    .post(
                        "/user_management/users",
                        json!({"email": format!("rl{i}@example.com")}),
                    )
                    .await;
                let retry_after = r
                    .headers
                    .get("retry-after")
                    .map(|v| v.to_str().expect("ascii").to_string());
                if r.status == 429 {
                    assert_eq!(
                        r.body,
                        json!({"code": "rate_limit_exceeded", "message": "Too many requests."})
                    );
                }
                (r.status, retry_after)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "the burst must fit in one window"
    );
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let limited: Vec<u64> = results
        .iter()
        .filter(|(s, _)| *s == 429)
        .map(|(_, ra)| ra.as_deref().expect("Retry-After").parse().expect("secs"))
        .collect();
    assert_eq!(created, 500);
    assert_eq!(limited.len(), 20);
    assert!(limited.iter().all(|s| (1..=10).contains(s)), "{limited:?}");
    // 429s were not applied.
    assert_eq!(api.fake.users().len(), 500);
    let stats = api.fake.stats();
    assert_eq!(stats.rate_limited, 20);
    assert_eq!(stats.max_writes_in_any_10s_window, 500);
    assert_eq!(stats.writes, 520);
    // Reads have their own window.
    let read = api.get("/user_management/users?limit=1").await;
    assert_eq!(read.status, 200);
    // Organizations only fall under the general limit.
    let org = api.post("/organizations", json!({"name": "Fine"})).await;
    assert_eq!(org.status, 201);
    // Switched off: writes go through again.
    api.fake.set_rate_limits(false);
    let r = api
        .post(
            "/user_management/users",
            json!({"email": "after@example.com"}),
        )
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn dropped_connections_and_server_errors() {
    let api = Api::start(no_limits()).await;
    // Dropped after the write: applied, but the client gets no response.
    api.fake.set_faults(FaultPlan {
        drop_after_rate: 1.0,
        ..Default::default()
    });
    let body = json!({"email": "lost@example.com", "external_id": "lost"});
    let err = api
        .try_call(Method::POST, "/user_management/users", Some(&body))
        .await
        .err()
        .expect("the response must be lost");
    assert!(err.is_request() || err.is_body(), "{err:?}");
    api.fake.set_faults(FaultPlan::default());
    assert_eq!(api.fake.users().len(), 1);
    let retry = api.post("/user_management/users", body).await;
    assert_eq!(retry.status, 400);
    assert_eq!(retry.body["errors"][0]["code"], "email_not_available");
    assert_eq!(retry.body["errors"][1]["code"], "external_id_already_used");

    // Dropped before: nothing applied.
    api.fake.set_faults(FaultPlan {
        drop_before_rate: 1.0,
        ..Default::default()
    });
    let body = json!({"email": "never@example.com"});
    assert!(api
        .try_call(Method::POST, "/user_management/users", Some(&body))
        .await
        .is_err());
    // 5xx: nothing applied; 502 has an HTML body.
    api.fake.set_faults(FaultPlan {
        error_rate: 1.0,
        ..Default::default()
    });
    let mut statuses = HashSet::new();
    for _ in 0..30 {
        let r = api
            .call(Method::POST, "/user_management/users", Some(&body))
            .await;
        assert!(r.headers.contains_key("x-request-id"));
        match r.status {
            500 | 503 => assert!(r.body["message"].is_string(), "{}", r.body),
            502 => {
                assert!(r.body.as_str().expect("html").contains("502 Bad Gateway"));
                assert_eq!(r.headers["content-type"], "text/html");
            }
            s => panic!("unexpected status {s}"),
        }
        statuses.insert(r.status);
    }
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    api.fake.set_faults(FaultPlan::default());
    assert_eq!(api.fake.users().len(), 1);
    let stats = api.fake.stats();
    assert_eq!(stats.faults_by_kind["drop_after"], 1);
    assert_eq!(stats.faults_by_kind["drop_before"], 1);
    assert_eq!(stats.faults_injected, 32);

    // Slow: applied, response late enough for a client timeout.
    api.fake.set_faults(FaultPlan {
        slow_rate: 1.0,
        slow_delay: Duration::from_millis(400),
        ..Default::default()
    });
    let err = api
        .request(
            Method::POST,
            "/user_management/users",
            Some(&json!({"email": "slow@example.com"})),
        )
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .expect_err("timeout");
    assert!(err.is_timeout(), "{err:?}");
    assert!(api
        .fake
        .users()
        .iter()
        .any(|u| u["email"] == "slow@example.com"));
}

#[tokio::test]
async fn storms_are_bursts_of_429() {
    let api = Api::start(no_limits()).await;
    api.fake.set_faults(FaultPlan {
        storm_every: 5,
        storm_len: 2,
        storm_retry_after_secs: 3,
        ..Default::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let r = api.get("/organizations").await;
        if r.status == 429 {
            assert_eq!(r.headers["retry-after"], "3");
            assert_eq!(r.body["code"], "rate_limit_exceeded");
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429, 200, 200, 200, 429]);
    assert_eq!(api.fake.stats().rate_limited, 3);
}

#[tokio::test]
async fn faults_are_deterministic_per_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let api = Api::start(FakeWorkOsConfig {
            seed,
            rate_limits: false,
            faults: FaultPlan {
                error_rate: 0.5,
                ..Default::default()
            },
            ..Default::default()
        })
        .await;
        let mut out = Vec::new();
        for _ in 0..40 {
            out.push(api.get("/organizations").await.status);
        }
        out
    }
    let a = run(7).await;
    assert_eq!(a, run(7).await);
    assert!(a.contains(&200) && a.iter().any(|s| *s >= 500));
}

#[tokio::test]
async fn admin_surface() {
    let api = Api::start(no_limits()).await;
    let http = reqwest::Client::new();
    let base = api.fake.base_url();
    api.create_user("x@example.com").await;
    api.create_org("Org", None).await;
    let state: Value = http
        .get(format!("{base}/__fake/state"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(state["counts"]["users"], 1);
    assert_eq!(state["counts"]["organizations"], 1);
    assert_eq!(state["counts"]["roles"], 2);
    assert_eq!(state["stats"]["total_requests"], 2);
    assert_eq!(state["stats"]["by_route"]["POST /organizations"], 1);

    let plan = http
        .post(format!("{base}/__fake/faults"))
        .json(&json!({"error_rate": 1.0}))
        .send()
        .await
        .expect("send");
    assert_eq!(plan.status(), 200);
    assert_eq!(api.fake.faults().error_rate, 1.0);
    assert!(api.get("/organizations").await.status >= 500);
    let bad = http
        .post(format!("{base}/__fake/faults"))
        .json(&json!({"eror_rate": 1.0}))
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 400);

    let reset = http
        .post(format!("{base}/__fake/reset"))
        .send()
        .await
        .expect("send");
    assert_eq!(reset.status(), 200);
    assert!(api.fake.users().is_empty());
    assert_eq!(api.fake.roles().len(), 2);
    assert_eq!(api.fake.stats().total_requests, 0);
    // The fault plan survives a reset.
    assert_eq!(api.fake.faults().error_rate, 1.0);
    let recorded = api.fake.recorded();
    assert!(recorded.is_empty());
    api.fake.set_faults(FaultPlan::default());
    api.get("/organizations?limit=5").await;
    let recorded = api.fake.recorded();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].path_and_query, "/organizations?limit=5");
    assert_eq!(
        recorded[0].authorization.as_deref(),
        Some("Bearer sk_test_fake")
    );
}

/// Reads one HTTP/1.1 response (Content-Length framed) off `s`; returns the
/// status.
async fn read_raw_response(s: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> u16 {
    use tokio::io::AsyncReadExt;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status: u16 = head[9..12].parse().expect("status");
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().expect("length"))
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 16384];
                let n = s.read(&mut chunk).await.expect("read");
                assert!(n > 0, "connection closed");
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..end + 4 + len);
            return status;
        }
        let mut chunk = [0u8; 16384];
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Requests per second the fake sustains (user creates alternating with
/// lookups by email, limits off). Run with
/// `cargo test --test fake_workos -- --ignored --nocapture` (add
/// `--release` for the optimised figure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "throughput measurement"]
async fn throughput() {
    use tokio::io::AsyncWriteExt;
    let fake = FakeWorkOs::start(no_limits()).await;
    let addr = fake.addr();
    let (connections, per_connection) = (16, 2_000);
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|c| {
            tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
                s.set_nodelay(true).expect("nodelay");
                let mut buf = Vec::with_capacity(16384);
                for i in 0..per_connection {
                    let email = format!("u{c}-{i}@example.com");
                    let req = if i % 2 == 0 {
                        let body = format!(r#"{{"email":"{email}","first_name":"U"}}"#);
                        format!("POST /user_management/users HTTP/1.1\r\nHost: fake\r\nAuthorization: Bearer sk_test_fake\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
                    } else {
                        format!("GET /user_management/users?email=u{c}-{}%40example.com HTTP/1.1\r\nHost: fake\r\nAuthorization: Bearer sk_test_fake\r\n\r\n", i - 1)
                    };
                    s.write_all(req.as_bytes()).await.expect("write");
                    let status = read_raw_response(&mut s, &mut buf).await;
                    assert!(status == 200 || status == 201, "status {status}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let elapsed = started.elapsed();
    let total = connections * per_connection;
    let rate = total as f64 / elapsed.as_secs_f64();
    println!("{total} requests in {elapsed:?}: {rate:.0} requests/s");
    assert_eq!(fake.users().len(), total / 2);
}
