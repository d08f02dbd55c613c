//! Tests of the fake Cognito user-pool service (`tests/fakes/cognito.rs`)
//! over real HTTP: paging, limits, filters, groups, identity providers,
//! regions and credentials, the `UserList` rate budget, faults, synthetic
//! pools, the fixture loader, and the API seeding routine — run against
//! the fake and, when `MOTO_URL` is set (`.ci/run`), against moto with the
//! listings compared.

mod fakes;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use fakes::cognito::seed::{add_external_users, moto_url, pool_view, seed_via_api, CognitoClient};
use fakes::cognito::{
    FakeCognito, FakeCognitoConfig, Fault, Operation, SeedError, SeededPools, SEED_PASSWORD,
};
use serde_json::{json, Value};

const REGION: &str = "us-east-1";

fn pool_fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/cognito/pools.json");
    let text = std::fs::read_to_string(path).expect("read fixtures/cognito/pools.json");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// A one-pool fixture of `n` confirmed users `user0000…` (every 3rd
/// disabled, given names cycling through four).
fn big_fixture(n: usize) -> Value {
    let names = ["Alba", "Bram", "Alex", "Cleo"];
    let users: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "username": format!("user{i:04}"),
                "status": "CONFIRMED",
                "enabled": i % 3 != 2,
                "attributes": {
                    "email": format!("user{i:04}@big.test"),
                    "given_name": names[i % 4],
                },
            })
        })
        .collect();
    json!({"pools": [{"key": "big", "id": "us-east-1_BigPool01", "name": "big", "users": users}]})
}

async fn fixture_fake() -> (FakeCognito, SeededPools, CognitoClient) {
    let fake = FakeCognito::start(FakeCognitoConfig::default()).await;
    let seeded = fake.load_fixture(&pool_fixture()).expect("fixture loads");
    let client = CognitoClient::new(&fake.url(), REGION);
    (fake, seeded, client)
}

fn usernames(users: &[Value]) -> Vec<String> {
    users
        .iter()
        .map(|u| u["Username"].as_str().expect("Username").to_string())
        .collect()
}

fn attribute<'a>(user: &'a Value, name: &str) -> Option<&'a str> {
    user["Attributes"]
        .as_array()?
        .iter()
        .find(|a| a["Name"] == name)
        .and_then(|a| a["Value"].as_str())
}

#[tokio::test]
async fn pages_through_1000_users_60_at_a_time_in_creation_order() {
    let fake = FakeCognito::start(FakeCognitoConfig::default()).await;
    let seeded = fake.load_fixture(&big_fixture(1000)).expect("loads");
    let pool = seeded.id("big").expect("pool");
    let client = CognitoClient::new(&fake.url(), REGION);
    let users = client.list_all_users(pool, None).await;
    let expected: Vec<String> = (0..1000).map(|i| format!("user{i:04}")).collect();
    assert_eq!(usernames(&users), expected);
    assert_eq!(fake.count(Operation::ListUsers), 17, "1000 / 60 = 17 pages");
    let first = &users[0];
    assert_eq!(first["UserStatus"], "CONFIRMED");
    assert_eq!(first["Enabled"], true);
    assert_eq!(users[2]["Enabled"], false);
    assert!(first["UserCreateDate"].is_f64(), "epoch seconds: {first}");
    assert!(first["UserLastModifiedDate"].is_number());
    assert_eq!(
        attribute(first, "sub"),
        fake.sub_of(pool, "user0000").as_deref()
    );

    // Limits: 61 is rejected, absent / 0 mean 60, a page of 7 is 7.
    let over = client
        .answer("ListUsers", &json!({"UserPoolId": pool, "Limit": 61}))
        .await;
    assert_eq!(over.status, 400);
    assert_eq!(
        over.error_type.as_deref(),
        Some("InvalidParameterException")
    );
    assert!(
        over.message().contains("less than or equal to 60"),
        "{:?}",
        over.body
    );
    for (limit, expected) in [(json!(null), 60), (json!(0), 60), (json!(7), 7)] {
        let page = client
            .call("ListUsers", &json!({"UserPoolId": pool, "Limit": limit}))
            .await
            .expect("page");
        assert_eq!(page["Users"].as_array().map(Vec::len), Some(expected));
        assert!(page["PaginationToken"].is_string());
    }
    // A token is bound to its pool and query.
    let page = client
        .call("ListUsers", &json!({"UserPoolId": pool, "Limit": 1}))
        .await
        .expect("page");
    let token = page["PaginationToken"].clone();
    let misuse = client
        .answer(
            "ListUsers",
            &json!({"UserPoolId": pool, "Filter": "email = \"x\"", "PaginationToken": token}),
        )
        .await;
    assert_eq!(
        misuse.error_type.as_deref(),
        Some("InvalidParameterException")
    );
}

#[tokio::test]
async fn filters_select_exactly_and_sub_prefixes_partition_the_pool() {
    let fake = FakeCognito::start(FakeCognitoConfig::default()).await;
    let seeded = fake.load_fixture(&big_fixture(300)).expect("loads");
    let pool = seeded.id("big").expect("pool");
    let client = CognitoClient::new(&fake.url(), REGION);
    let all: BTreeSet<String> = usernames(&client.list_all_users(pool, None).await)
        .into_iter()
        .collect();

    let mut seen = BTreeSet::new();
    for digit in "0123456789abcdef".chars() {
        let filter = format!("sub ^= \"{digit}\"");
        let part = client.list_all_users(pool, Some(&filter)).await;
        for u in &part {
            assert!(attribute(u, "sub").is_some_and(|s| s.starts_with(digit)));
            assert!(seen.insert(u["Username"].as_str().expect("name").to_string()));
        }
    }
    assert_eq!(seen, all, "the 16 prefixes cover every user exactly once");

    let one = client
        .list_all_users(pool, Some("email = \"user0123@big.test\""))
        .await;
    assert_eq!(usernames(&one), ["user0123"]);
    let sub = fake.sub_of(pool, "user0042").expect("sub");
    let by_sub = client
        .list_all_users(pool, Some(&format!("sub = \"{sub}\"")))
        .await;
    assert_eq!(usernames(&by_sub), ["user0042"]);
    let al = client
        .list_all_users(pool, Some("given_name ^= \"Al\""))
        .await;
    assert_eq!(al.len(), 150, "Alba and Alex: half of 300");
    let disabled = client
        .list_all_users(pool, Some("status = \"Disabled\""))
        .await;
    assert_eq!(disabled.len(), 100);
    let confirmed = client
        .list_all_users(pool, Some("cognito:user_status = \"CONFIRMED\""))
        .await;
    assert_eq!(confirmed.len(), 300);
    let none = client
        .list_all_users(pool, Some("email = \"nobody@big.test\""))
        .await;
    assert!(none.is_empty());

    for bad in ["custom:tier = \"x\"", "email = x", "email ~ \"x\""] {
        let a = client
            .answer("ListUsers", &json!({"UserPoolId": pool, "Filter": bad}))
            .await;
        assert_eq!(
            a.error_type.as_deref(),
            Some("InvalidParameterException"),
            "{bad}"
        );
    }

    // AttributesToGet keeps only the named attributes.
    let page = client
        .call(
            "ListUsers",
            &json!({"UserPoolId": pool, "Limit": 1, "AttributesToGet": ["email"]}),
        )
        .await
        .expect("page");
    assert_eq!(
        page["Users"][0]["Attributes"],
        json!([{"Name": "email", "Value": "user0000@big.test"}])
    );
}

#[tokio::test]
async fn groups_list_their_members_and_users_their_groups() {
    let (_fake, seeded, client) = fixture_fake().await;
    let acme = seeded.id("acme").expect("acme");
    let groups = client
        .list_all(
            "ListGroups",
            &json!({"UserPoolId": acme, "Limit": 2}),
            "Groups",
        )
        .await;
    let names: Vec<&str> = groups
        .iter()
        .map(|g| g["GroupName"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Admin", "Editors", "Viewers"]);
    assert_eq!(groups[0]["Precedence"], 1);
    assert_eq!(groups[0]["Description"], "Full administrative access");
    assert_eq!(groups[0]["UserPoolId"], acme);

    let admins = client
        .list_all(
            "ListUsersInGroup",
            &json!({"UserPoolId": acme, "GroupName": "Admin", "Limit": 1}),
            "Users",
        )
        .await;
    assert_eq!(usernames(&admins), ["alice", "heidi"]);
    let of_alice = client
        .list_all(
            "AdminListGroupsForUser",
            &json!({"UserPoolId": acme, "Username": "alice"}),
            "Groups",
        )
        .await;
    let names: Vec<&str> = of_alice
        .iter()
        .map(|g| g["GroupName"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Admin", "Editors"]);

    let missing = client
        .answer(
            "ListUsersInGroup",
            &json!({"UserPoolId": acme, "GroupName": "Nope"}),
        )
        .await;
    assert_eq!(
        missing.error_type.as_deref(),
        Some("ResourceNotFoundException")
    );
    let nobody = client
        .answer(
            "AdminListGroupsForUser",
            &json!({"UserPoolId": acme, "Username": "nobody"}),
        )
        .await;
    assert_eq!(nobody.error_type.as_deref(), Some("UserNotFoundException"));
    let over = client
        .answer("ListGroups", &json!({"UserPoolId": acme, "Limit": 61}))
        .await;
    assert_eq!(
        over.error_type.as_deref(),
        Some("InvalidParameterException")
    );
}

#[tokio::test]
async fn identity_providers_are_listed_described_and_metadata_urls_served() {
    let (fake, seeded, client) = fixture_fake().await;
    let acme = seeded.id("acme").expect("acme");
    let providers = client
        .list_all(
            "ListIdentityProviders",
            &json!({"UserPoolId": acme, "MaxResults": 1}),
            "Providers",
        )
        .await;
    let listed: Vec<(&str, &str)> = providers
        .iter()
        .map(|p| {
            (
                p["ProviderName"].as_str().expect("name"),
                p["ProviderType"].as_str().expect("type"),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("AcmeOkta", "SAML"),
            ("AcmeAzure", "SAML"),
            ("Google", "Google")
        ]
    );
    assert!(
        providers[0].get("ProviderDetails").is_none(),
        "summaries only"
    );

    let azure = client
        .call(
            "DescribeIdentityProvider",
            &json!({"UserPoolId": acme, "ProviderName": "AcmeAzure"}),
        )
        .await
        .expect("describe");
    let url = azure["IdentityProvider"]["ProviderDetails"]["MetadataURL"]
        .as_str()
        .expect("MetadataURL")
        .to_string();
    assert_eq!(url, format!("{}/acme-azure.xml", fake.metadata_base()));
    let xml = reqwest::get(&url)
        .await
        .expect("fetch metadata")
        .text()
        .await
        .expect("text");
    assert!(xml.contains("EntityDescriptor") && xml.contains("X509Certificate"));
    assert_eq!(
        azure["IdentityProvider"]["IdpIdentifiers"],
        json!(["acme-eu.test"])
    );

    let okta = client
        .call(
            "DescribeIdentityProvider",
            &json!({"UserPoolId": acme, "ProviderName": "AcmeOkta"}),
        )
        .await
        .expect("describe");
    let okta = &okta["IdentityProvider"];
    assert!(okta["ProviderDetails"]["MetadataFile"]
        .as_str()
        .is_some_and(|x| x.contains("IDPSSODescriptor")));
    assert_eq!(okta["AttributeMapping"]["custom:department"], "department");

    let globex = seeded.id("globex").expect("globex");
    let oidc = client
        .call(
            "DescribeIdentityProvider",
            &json!({"UserPoolId": globex, "ProviderName": "GlobexOIDC"}),
        )
        .await
        .expect("describe");
    assert_eq!(
        oidc["IdentityProvider"]["ProviderDetails"]["client_secret"],
        "globex-oidc-secret-DO-NOT-LEAK"
    );

    let unknown = client
        .answer(
            "DescribeIdentityProvider",
            &json!({"UserPoolId": acme, "ProviderName": "Nope"}),
        )
        .await;
    assert_eq!(
        unknown.error_type.as_deref(),
        Some("ResourceNotFoundException")
    );
    let duplicate = client
        .answer(
            "CreateIdentityProvider",
            &json!({"UserPoolId": acme, "ProviderName": "Google", "ProviderType": "Google",
                    "ProviderDetails": {"client_id": "a", "client_secret": "b", "authorize_scopes": "email"}}),
        )
        .await;
    assert_eq!(
        duplicate.error_type.as_deref(),
        Some("DuplicateProviderException")
    );
    let no_metadata = client
        .answer(
            "CreateIdentityProvider",
            &json!({"UserPoolId": acme, "ProviderName": "Bare", "ProviderType": "SAML",
                    "ProviderDetails": {}}),
        )
        .await;
    assert_eq!(
        no_metadata.error_type.as_deref(),
        Some("InvalidParameterException")
    );
}

#[tokio::test]
async fn regions_signatures_and_credentials_are_checked() {
    let (fake, seeded, client) = fixture_fake().await;
    let acme = seeded.id("acme").expect("acme");
    let body = json!({"UserPoolId": acme, "Limit": 1});

    let elsewhere = client.clone().with_region("eu-west-1");
    let a = elsewhere.answer("ListUsers", &body).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.error_type.as_deref(), Some("ResourceNotFoundException"));
    assert_eq!(a.message(), format!("User pool {acme} does not exist."));
    let pools = elsewhere
        .call("ListUserPools", &json!({"MaxResults": 60}))
        .await
        .expect("list");
    assert_eq!(pools["UserPools"], json!([]));

    let unknown = client
        .answer("ListUsers", &json!({"UserPoolId": "us-east-1_Nope12345"}))
        .await;
    assert_eq!(
        unknown.message(),
        "User pool us-east-1_Nope12345 does not exist."
    );
    let malformed = client
        .answer("ListUsers", &json!({"UserPoolId": "not-a-pool-id"}))
        .await;
    assert_eq!(
        malformed.error_type.as_deref(),
        Some("InvalidParameterException")
    );

    let unsigned = client.send("ListUsers", &body, false).await.expect("send");
    assert_eq!(unsigned.status, 400);
    assert_eq!(
        unsigned.error_type.as_deref(),
        Some("MissingAuthenticationTokenException")
    );

    fake.set_invalid_key("AKIDUNKNOWN");
    let invalid = client
        .clone()
        .with_access_key("AKIDUNKNOWN")
        .answer("ListUserPools", &json!({"MaxResults": 1}))
        .await;
    assert_eq!(
        invalid.error_type.as_deref(),
        Some("UnrecognizedClientException")
    );

    fake.deny("AKIDREADONLY", Some(Operation::ListUsers));
    let limited = client.clone().with_access_key("AKIDREADONLY");
    let denied = limited.answer("ListUsers", &body).await;
    assert_eq!(denied.error_type.as_deref(), Some("AccessDeniedException"));
    assert!(denied.message().contains("cognito-idp:ListUsers"));
    assert!(denied.message().contains(acme));
    limited
        .call("DescribeUserPool", &json!({"UserPoolId": acme}))
        .await
        .expect("other operations still allowed");

    let op = client.answer("DeleteUserPool", &json!({})).await;
    assert_eq!(op.error_type.as_deref(), Some("UnknownOperationException"));
    let probe = client.answer("ListUserPools", &json!({})).await;
    assert_eq!(
        probe.error_type.as_deref(),
        Some("InvalidParameterException"),
        "MaxResults is required"
    );
    let calls = fake.requests();
    let last = calls.last().expect("recorded");
    assert_eq!(last.operation, "ListUserPools");
    assert_eq!(last.region.as_deref(), Some(REGION));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_list_budget_throttles_a_burst_and_admits_a_paced_client() {
    let fake = FakeCognito::synthetic(1, 2_000, 2).await;
    let pool = fake.pool_ids()[0].clone();
    fake.set_user_list_rps(Some(30));
    let client = CognitoClient::new(&fake.url(), REGION);

    let burst = (0..100u32).map(|k| {
        let client = client.clone();
        let body = if k.is_multiple_of(2) {
            json!({"UserPoolId": pool, "Limit": 1})
        } else {
            json!({"UserPoolId": pool, "GroupName": "members", "Limit": 1})
        };
        async move {
            let op = if k.is_multiple_of(2) {
                "ListUsers"
            } else {
                "ListUsersInGroup"
            };
            client.answer(op, &body).await
        }
    });
    let started = Instant::now();
    let answers = futures::future::join_all(burst).await;
    // The bucket holds 30 and refills at 30/s while the burst is served.
    let refill = (started.elapsed().as_secs_f64() * 30.0).ceil() as usize;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let throttled: Vec<_> = answers.iter().filter(|a| a.status != 200).collect();
    assert!(
        (30..=30 + refill).contains(&ok),
        "{ok} admitted from a burst of 100 (refill {refill})"
    );
    assert!(throttled.len() >= 50, "{} throttled", throttled.len());
    for a in &throttled {
        assert_eq!(a.status, 400);
        assert_eq!(a.error_type.as_deref(), Some("TooManyRequestsException"));
        assert_eq!(a.message(), "Too many requests");
    }
    assert_eq!(fake.count_throttled(), throttled.len());
    // Concurrent requests are counted while in flight (slowed by faults).
    for _ in 0..3 {
        fake.push_fault(
            Operation::DescribeUserPool,
            Fault::Delay(Duration::from_millis(200)),
        );
    }
    let slow = (0..3).map(|_| {
        let client = client.clone();
        let pool = pool.clone();
        async move {
            client
                .answer("DescribeUserPool", &json!({"UserPoolId": pool}))
                .await
        }
    });
    for a in futures::future::join_all(slow).await {
        assert_eq!(a.status, 200);
    }
    assert_eq!(fake.max_in_flight(), 3);
    // Other categories are not limited.
    client
        .call("DescribeUserPool", &json!({"UserPoolId": pool}))
        .await
        .expect("not a UserList call");

    // A client pacing itself at 25/s after the bucket refilled is never
    // throttled.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    fake.reset_counters();
    let started = Instant::now();
    for k in 0..40u32 {
        let due = Duration::from_millis(40) * k;
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let a = client
            .answer("ListUsers", &json!({"UserPoolId": pool, "Limit": 60}))
            .await;
        assert_eq!(a.status, 200, "request {k}: {:?}", a.body);
    }
    assert_eq!(fake.count_throttled(), 0);
    assert_eq!(fake.count(Operation::ListUsers), 40);
}

#[tokio::test]
async fn faults_are_served_in_order_then_normal_answers_resume() {
    let fake = FakeCognito::synthetic(1, 100, 2).await;
    let pool = fake.pool_ids()[0].clone();
    let client = CognitoClient::new(&fake.url(), REGION);
    let body = json!({"UserPoolId": pool, "Limit": 5});
    fake.push_fault(Operation::ListUsers, Fault::Internal);
    fake.push_fault(Operation::ListUsers, Fault::Throttle);
    fake.push_fault(Operation::ListUsers, Fault::Unavailable);
    fake.push_fault(
        Operation::ListUsers,
        Fault::error(400, "AccessDeniedException", "denied by a fault"),
    );
    fake.push_fault(Operation::ListUsers, Fault::Drop);
    fake.push_fault(
        Operation::ListUsers,
        Fault::Delay(Duration::from_millis(300)),
    );

    let a = client.answer("ListUsers", &body).await;
    assert_eq!(
        (a.status, a.error_type.as_deref()),
        (500, Some("InternalErrorException"))
    );
    let a = client.answer("ListUsers", &body).await;
    assert_eq!(
        (a.status, a.error_type.as_deref()),
        (400, Some("TooManyRequestsException"))
    );
    let a = client.answer("ListUsers", &body).await;
    assert_eq!(a.status, 503);
    let a = client.answer("ListUsers", &body).await;
    assert_eq!(a.error_type.as_deref(), Some("AccessDeniedException"));
    assert_eq!(a.message(), "denied by a fault");
    assert!(
        client.send("ListUsers", &body, true).await.is_err(),
        "dropped"
    );
    let started = Instant::now();
    let a = client.answer("ListUsers", &body).await;
    assert_eq!(a.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Faults are per operation: other operations were never affected.
    client
        .call("ListGroups", &json!({"UserPoolId": pool}))
        .await
        .expect("no fault queued");
    let a = client.answer("ListUsers", &body).await;
    assert_eq!(a.status, 200);
    assert_eq!(fake.count(Operation::ListUsers), 7);
    assert_eq!(fake.count_throttled(), 1);
    assert_eq!(fake.count_status(500), 1);
    fake.reset_counters();
    assert_eq!(fake.count(Operation::ListUsers), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_pools_count_partition_and_group_by_index() {
    let fake = FakeCognito::synthetic(2, 5_000, 3).await;
    let client = CognitoClient::new(&fake.url(), REGION);
    let pools = client
        .list_all("ListUserPools", &json!({"MaxResults": 1}), "UserPools")
        .await;
    assert_eq!(pools.len(), 2);
    assert_eq!(fake.synthetic_pool_ids(), fake.pool_ids());
    let pool = fake.pool_ids()[1].clone();
    let described = client
        .call("DescribeUserPool", &json!({"UserPoolId": pool}))
        .await
        .expect("describe");
    assert_eq!(described["UserPool"]["EstimatedNumberOfUsers"], 5_000);
    assert!(described["UserPool"]["SchemaAttributes"]
        .as_array()
        .is_some_and(|s| s.iter().any(|a| a["Name"] == "custom:tier")));

    let all = client.list_all_users(&pool, None).await;
    assert_eq!(all.len(), 5_000);
    let all_names: BTreeSet<String> = usernames(&all).into_iter().collect();
    assert_eq!(all_names.len(), 5_000);
    assert_eq!(attribute(&all[7], "email"), Some("user5007@example.com"));
    assert_eq!(all[99]["Enabled"], false);

    let parts = "0123456789abcdef".chars().map(|d| {
        let client = client.clone();
        let pool = pool.clone();
        async move {
            let filter = format!("sub ^= \"{d}\"");
            client.list_all_users(&pool, Some(&filter)).await
        }
    });
    let parts = futures::future::join_all(parts).await;
    let mut union = BTreeSet::new();
    for part in &parts {
        assert!((312..=313).contains(&part.len()));
        for name in usernames(part) {
            assert!(union.insert(name), "partitions are disjoint");
        }
    }
    assert_eq!(union, all_names);

    let sizes: BTreeMap<String, usize> = {
        let mut m = BTreeMap::new();
        for g in ["admins", "members", "team-02"] {
            let members = client
                .list_all(
                    "ListUsersInGroup",
                    &json!({"UserPoolId": pool, "GroupName": g}),
                    "Users",
                )
                .await;
            m.insert(g.to_string(), members.len());
        }
        m
    };
    assert_eq!(sizes["admins"], 250);
    assert_eq!(sizes["members"], 4_750);
    assert_eq!(sizes["team-02"], 1_666);
    let first = all[0]["Username"].as_str().expect("name");
    let groups = client
        .list_all(
            "AdminListGroupsForUser",
            &json!({"UserPoolId": pool, "Username": first}),
            "Groups",
        )
        .await;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["GroupName"], "admins");
}

#[tokio::test]
async fn synthetic_pages_are_cheap_at_ten_million_users() {
    let fake = FakeCognito::synthetic(1, 10_000_000, 2).await;
    let pool = fake.pool_ids()[0].clone();
    let client = CognitoClient::new(&fake.url(), REGION);
    let mut token: Option<String> = None;
    let mut users = 0;
    let started = Instant::now();
    for _ in 0..200 {
        let mut body = json!({"UserPoolId": pool, "Limit": 60, "Filter": "sub ^= \"e\""});
        if let Some(t) = &token {
            body["PaginationToken"] = t.clone().into();
        }
        let page = client.call("ListUsers", &body).await.expect("page");
        users += page["Users"].as_array().map_or(0, Vec::len);
        token = page["PaginationToken"].as_str().map(str::to_string);
    }
    let elapsed = started.elapsed();
    eprintln!("200 pages of 60 synthetic users over HTTP: {elapsed:?}");
    assert_eq!(users, 12_000);
    assert!(token.is_some());
    assert!(
        elapsed < Duration::from_secs(4),
        "200 pages took {elapsed:?} (debug build, over HTTP)"
    );
    let last = client
        .list_all_users(&pool, Some("email = \"user9999999@example.com\""))
        .await;
    assert_eq!(last.len(), 1);
}

#[tokio::test]
async fn the_fixture_loads_with_federated_and_disabled_users() {
    let (fake, seeded, client) = fixture_fake().await;
    assert_eq!(seeded.ids_csv(), "us-east-1_AcmePool1,us-east-1_GlobexPl2");
    let acme = seeded.pool("acme").expect("acme");
    assert_eq!(acme.subs.len(), 8);
    let users = client.list_all_users(&acme.id, None).await;
    assert_eq!(users.len(), 8);
    let by_name: BTreeMap<String, &Value> = users
        .iter()
        .map(|u| (u["Username"].as_str().expect("name").to_string(), u))
        .collect();
    assert_eq!(
        by_name["Google_109876543210987654321"]["UserStatus"],
        "EXTERNAL_PROVIDER"
    );
    assert!(attribute(by_name["Google_109876543210987654321"], "identities").is_some());
    assert_eq!(by_name["dave"]["Enabled"], false);
    assert_eq!(by_name["carol"]["UserStatus"], "FORCE_CHANGE_PASSWORD");
    assert_eq!(attribute(by_name["erin"], "email"), None);
    assert_eq!(attribute(by_name["carol"], "email_verified"), None);
    assert_eq!(attribute(by_name["heidi"], "given_name"), Some(""));
    assert_eq!(
        attribute(by_name["alice"], "sub"),
        Some(acme.subs["alice"].as_str())
    );
    assert_eq!(
        by_name["alice"]["UserCreateDate"].as_f64(),
        Some(1_704_067_200.0)
    );
    let external = client
        .list_all_users(
            &acme.id,
            Some("cognito:user_status = \"EXTERNAL_PROVIDER\""),
        )
        .await;
    assert_eq!(external.len(), 2);

    let again = fake.load_fixture(&pool_fixture());
    assert!(matches!(again, Err(SeedError::Api { .. })), "ids are taken");
    assert!(matches!(
        fake.load_fixture(&json!({"users": []})),
        Err(SeedError::NotAPoolSet)
    ));

    // In another region the fixture's pools live there.
    let eu = FakeCognito::start(FakeCognitoConfig {
        region: "eu-west-1".into(),
        ..FakeCognitoConfig::default()
    })
    .await;
    let seeded = eu.load_fixture(&pool_fixture()).expect("loads");
    assert_eq!(seeded.id("acme"), Some("eu-west-1_AcmePool1"));
    let body = json!({"UserPoolId": "eu-west-1_AcmePool1", "Limit": 1});
    let here = CognitoClient::new(&eu.url(), "eu-west-1");
    here.call("ListUsers", &body).await.expect("same region");
    let there = CognitoClient::new(&eu.url(), REGION)
        .answer("ListUsers", &body)
        .await;
    assert_eq!(
        there.error_type.as_deref(),
        Some("ResourceNotFoundException")
    );
}

// ---------------------------------------------------------------------------
// Seeding through the API, on the fake and on moto
// ---------------------------------------------------------------------------

#[tokio::test]
async fn seeding_through_the_api_builds_what_the_fixture_loader_builds() {
    let loaded = FakeCognito::start(FakeCognitoConfig::default()).await;
    let by_loader = loaded.load_fixture(&pool_fixture()).expect("loads");
    let seeded_fake = FakeCognito::start(FakeCognitoConfig::default()).await;
    let mut by_api = seed_via_api(
        &seeded_fake.url(),
        REGION,
        &pool_fixture(),
        &seeded_fake.metadata_base(),
    )
    .await
    .expect("seeds");
    assert_eq!(
        by_api.pool("acme").map(|p| p.external_not_created.len()),
        Some(2)
    );
    assert_eq!(
        by_api.pool("globex").map(|p| p.external_not_created.len()),
        Some(1)
    );
    add_external_users(&seeded_fake, &mut by_api).expect("adds federated users");
    assert_eq!(by_api.pool("acme").map(|p| p.subs.len()), Some(8));

    // Metadata URLs differ by port only: compare with each fake's own base.
    let a = pool_view(&CognitoClient::new(&loaded.url(), REGION), &by_loader).await;
    let b = pool_view(&CognitoClient::new(&seeded_fake.url(), REGION), &by_api).await;
    let a = a.to_string().replace(&loaded.url(), "BASE");
    let b = b.to_string().replace(&seeded_fake.url(), "BASE");
    assert_eq!(a, b);
    assert!(seeded_fake.count(Operation::AdminSetUserPassword) > 0);
    assert_eq!(seeded_fake.count(Operation::CreateUserPool), 2);

    // The password seeding uses meets the policy; a weak one does not.
    let client = CognitoClient::new(&seeded_fake.url(), REGION);
    let acme = by_api.id("acme").expect("acme");
    let weak = client
        .answer(
            "AdminSetUserPassword",
            &json!({"UserPoolId": acme, "Username": "carol", "Password": "weak", "Permanent": true}),
        )
        .await;
    assert_eq!(weak.error_type.as_deref(), Some("InvalidPasswordException"));
    client
        .call(
            "AdminSetUserPassword",
            &json!({"UserPoolId": acme, "Username": "carol", "Password": SEED_PASSWORD, "Permanent": true}),
        )
        .await
        .expect("policy met");
}

#[tokio::test]
async fn moto_and_the_fake_list_the_same_seeded_pools() {
    let Some(url) = moto_url() else {
        eprintln!("skipping moto_and_the_fake_list_the_same_seeded_pools: MOTO_URL is not set (see .ci/run)");
        return;
    };
    // The fake serves the metadata documents for both services.
    let fake = FakeCognito::start(FakeCognitoConfig::default()).await;
    let fixture = pool_fixture();
    let base = fake.metadata_base();
    let on_fake = seed_via_api(&fake.url(), REGION, &fixture, &base)
        .await
        .expect("seed the fake");
    let on_moto = seed_via_api(&url, REGION, &fixture, &base)
        .await
        .expect("seed moto");
    for (f, m) in on_fake.pools.iter().zip(&on_moto.pools) {
        assert_eq!(
            f.subs.keys().collect::<Vec<_>>(),
            m.subs.keys().collect::<Vec<_>>()
        );
        assert_eq!(f.external_not_created, m.external_not_created);
        assert!(m.id.starts_with("us-east-1_"), "{}", m.id);
    }
    let fake_view = pool_view(&CognitoClient::new(&fake.url(), REGION), &on_fake).await;
    let moto_view = pool_view(&CognitoClient::new(&url, REGION), &on_moto).await;
    assert_eq!(
        serde_json::to_string_pretty(&fake_view).expect("json"),
        serde_json::to_string_pretty(&moto_view).expect("json")
    );

    // The same errors for the same mistakes.
    let moto = CognitoClient::new(&url, REGION);
    let fake_client = CognitoClient::new(&fake.url(), REGION);
    for (op, body) in [
        ("ListUsers", json!({"UserPoolId": "us-east-1_Nope12345"})),
        (
            "ListUsers",
            json!({"UserPoolId": on_moto.id("acme"), "Filter": "custom:tier = \"x\""}),
        ),
        (
            "AdminListGroupsForUser",
            json!({"UserPoolId": on_moto.id("acme"), "Username": "nobody"}),
        ),
        (
            "DescribeUserPool",
            json!({"UserPoolId": "us-east-1_Nope12345"}),
        ),
    ] {
        let m = moto.answer(op, &body).await;
        let mut fake_body = body.clone();
        if let Some(id) = body["UserPoolId"]
            .as_str()
            .filter(|id| !id.contains("Nope"))
        {
            let key = on_moto
                .pools
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.key.clone());
            fake_body["UserPoolId"] = on_fake.id(&key.unwrap_or_default()).into();
        }
        let f = fake_client.answer(op, &fake_body).await;
        assert_eq!(
            (m.status, &m.error_type),
            (f.status, &f.error_type),
            "{op} {body}"
        );
        if op != "AdminListGroupsForUser" && !body["Filter"].is_string() {
            assert_eq!(m.message(), f.message(), "{op}");
        }
    }
    // A pool of another region is not found on either.
    let elsewhere = moto.clone().with_region("eu-west-1");
    let a = elsewhere
        .answer("ListUsers", &json!({"UserPoolId": on_moto.id("acme")}))
        .await;
    assert_eq!(a.error_type.as_deref(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn moto_differences_are_the_documented_ones() {
    let Some(url) = moto_url() else {
        eprintln!(
            "skipping moto_differences_are_the_documented_ones: MOTO_URL is not set (see .ci/run)"
        );
        return;
    };
    let moto = CognitoClient::new(&url, REGION);
    let created = moto
        .call("CreateUserPool", &json!({"PoolName": "differences"}))
        .await
        .expect("create");
    let id = created["UserPool"]["Id"].as_str().expect("id").to_string();
    // moto accepts Limit 61 (Cognito and the fake reject it) …
    let a = moto
        .answer("ListUsers", &json!({"UserPoolId": id, "Limit": 61}))
        .await;
    assert_eq!(a.status, 200);
    // … and unsigned requests (Cognito and the fake answer 400).
    let a = moto
        .send("ListUsers", &json!({"UserPoolId": id}), false)
        .await
        .expect("send");
    assert_eq!(a.status, 200);
    // Its pool ids are longer than Cognito's 9 characters after the region.
    assert!(id.len() > "us-east-1_".len() + 9, "{id}");
}
