//! Tests of the Auth0 user/organization mapping: `mapper.test.ts` and
//! `exporter.test.ts` (§15, adapted), §17 item 28, and the users.csv,
//! memberships, organizations.csv, skipped-user and blocked-warning bytes of
//! Appendix B.

use serde_json::{json, Value};

use super::*;
use crate::package::csv_writer::push_record;
use crate::package::schema::{MEMBERSHIPS_HEADER, ORGANIZATIONS_HEADER, USERS_HEADER};
use crate::sources::auth0::roles::RoleCatalog;

/// A record's JSON line without its timestamp.
fn line(record: &JsonlRecord) -> String {
    let mut v = record.clone().into_value();
    let obj = v.as_object_mut().unwrap();
    assert!(obj.shift_remove("timestamp").is_some());
    serde_json::to_string(&v).unwrap()
}

fn csv(header: &[&str], rows: &[Vec<&str>]) -> String {
    let mut out = Vec::new();
    push_record(&mut out, header);
    for r in rows {
        push_record(&mut out, r);
    }
    String::from_utf8(out).unwrap()
}

fn acme() -> Auth0Org {
    Auth0Org::from_json(&json!({
        "id": "org_acme", "name": "acme", "display_name": "Acme, Inc",
        "metadata": {"domains": "acme.com; Login.acme.com", "tier": "gold"}
    }))
    .unwrap()
}

fn two() -> Auth0Org {
    Auth0Org::from_json(&json!({"id": "org_two", "name": "two", "metadata": {"domain": "two.com"}}))
        .unwrap()
}

fn user_a() -> Value {
    json!({
        "user_id": "auth0|a",
        "email": "A@x.com",
        "email_verified": true,
        "name": "Ann  Marie  Lee",
        "user_metadata": {"org_id": "o", "nested": {"a": 1}, "flag": false, "n": null},
        "app_metadata": {"plan": "pro"},
        "created_at": "2020-01-01T00:00:00.000Z",
        "updated_at": "2020-01-02T00:00:00.000Z",
        "identities": [{"provider": "auth0", "connection": "Username-Password-Authentication", "isSocial": false, "user_id": "a"}],
        "last_login": "2021-01-01",
        "logins_count": 0
    })
}

fn user_b() -> Value {
    json!({
        "user_id": "auth0|b",
        "email": "b@x.com",
        "given_name": "B",
        "blocked": true,
        "created_at": "2020-01-01T00:00:00.000Z",
        "updated_at": "2020-01-02T00:00:00.000Z"
    })
}

fn meta(m: &MappedUser) -> Value {
    serde_json::from_str(&m.metadata).unwrap()
}

// ---- mapper.test.ts ----

#[test]
fn basic_fields() {
    let u = map_user(&json!({
        "user_id": "auth0|1", "email": "jane@x.com", "email_verified": true,
        "given_name": "Jane", "family_name": "Doe", "name": "Ignored Name"
    }));
    let org = Auth0Org::from_json(&json!({"id": "org_1", "name": "acme", "display_name": "Acme"}))
        .unwrap();
    let row = u.users_csv_fields(Some(&org), "");
    assert_eq!(
        row,
        [
            "jane@x.com",
            "",
            "",
            "",
            "Jane",
            "Doe",
            "true",
            "auth0|1",
            u.metadata.as_str(),
            "",
            "org_1",
            "Acme",
            ""
        ]
    );
    assert_eq!(row.len(), USERS_HEADER.len());
    assert!(!u.blocked);
}

#[test]
fn metadata_merged_with_auth0_user_id() {
    let u = map_user(&json!({
        "user_id": "auth0|1", "email": "j@x.com",
        "user_metadata": {"theme": "dark"}, "app_metadata": {"plan": "pro"}
    }));
    let m = meta(&u);
    assert_eq!(m["theme"], "dark");
    assert_eq!(m["plan"], "pro");
    assert_eq!(m["auth0_user_id"], "auth0|1");
}

#[test]
fn name_fallback_split() {
    let u = map_user(&json!({"user_id": "u", "name": "Mary Ann Smith"}));
    assert_eq!(
        (u.first_name.as_str(), u.last_name.as_str()),
        ("Mary", "Ann Smith")
    );
    let u = map_user(&json!({"user_id": "u", "name": "\u{a0}Cher\t"}));
    assert_eq!((u.first_name.as_str(), u.last_name.as_str()), ("Cher", ""));
    // One given name present: no fallback at all.
    let u = map_user(&json!({"user_id": "u", "family_name": "Lee", "name": "A B"}));
    assert_eq!((u.first_name.as_str(), u.last_name.as_str()), ("", "Lee"));
    // Empty strings are falsy: the fallback applies.
    let u = map_user(&json!({"given_name": "", "family_name": null, "name": "A B"}));
    assert_eq!((u.first_name.as_str(), u.last_name.as_str()), ("A", "B"));
}

#[test]
fn org_name_falls_back_to_name() {
    let u = map_user(&json!({"user_id": "u", "email": "u@x.com"}));
    let org = Auth0Org::from_json(&json!({"id": "org_1", "name": "acme"})).unwrap();
    assert_eq!(u.users_csv_fields(Some(&org), "")[11], "acme");
    let org =
        Auth0Org::from_json(&json!({"id": "org_1", "name": "acme", "display_name": ""})).unwrap();
    assert_eq!(u.membership_fields(&org, "")[5], "acme");
}

#[test]
fn password_columns_are_always_empty() {
    // The original test passes a hash to the mapper; the Management API never
    // returns one, so our rows always leave the three columns empty and
    // merge-passwords fills them later.
    let u = map_user(&json!({"user_id": "u", "email": "u@x.com", "password_hash": "$2b$10$abc"}));
    let row = u.users_csv_fields(None, "");
    assert_eq!(&row[1..4], ["", "", ""]);
}

#[test]
fn org_id_in_metadata_is_renamed() {
    let u = map_user(&json!({"user_id": "u", "user_metadata": {"org_id": "o1", "team": "red"}}));
    let m = meta(&u);
    assert_eq!(m["auth0_org_id"], "o1");
    assert!(m.get("org_id").is_none());
    assert_eq!(m["team"], "red");
}

#[test]
fn blocked_user_is_metadata_only() {
    let u = map_user(&user_b());
    assert!(u.blocked);
    let m = meta(&u);
    assert_eq!(m["auth0_blocked"], "true");
    assert_eq!(m["auth0_metadata_only"], "true");
    assert_eq!(&u.users_csv_fields(None, "")[1..4], ["", "", ""]);
}

#[test]
fn federated_users() {
    let saml =
        json!({"identities": [{"provider": "samlp", "connection": "okta", "isSocial": false}]});
    let social = json!({"identities": [{"provider": "google-oauth2", "connection": "google-oauth2", "isSocial": true}]});
    assert!(is_federated(&saml));
    assert!(is_federated(&social));
}

#[test]
fn database_users_are_not_federated() {
    let db = json!({"provider": "auth0", "connection": "Username-Password-Authentication", "isSocial": false});
    let social = json!({"provider": "google-oauth2", "isSocial": true});
    assert!(!is_federated(&json!({"identities": [db.clone()]})));
    assert!(!is_federated(&json!({"identities": [social, db]})));
    assert!(!is_federated(&json!({})));
    assert!(!is_federated(&json!({"identities": []})));
    assert!(!is_federated(&json!({"identities": "auth0"})));
    // isSocial must be the boolean false.
    assert!(is_federated(
        &json!({"identities": [{"provider": "auth0", "isSocial": "false"}]})
    ));
    assert!(is_federated(&json!({"identities": [null]})));
}

#[test]
fn legacy_validation_accepts_a_mapped_row() {
    let u = map_user(&user_a());
    assert_eq!(validate_legacy_row(&u), None);
}

#[test]
fn legacy_validation_missing_email() {
    let mut u = map_user(&user_a());
    u.email = String::new();
    assert_eq!(
        validate_legacy_row(&u).as_deref(),
        Some("Missing required field: email")
    );
    u.email = " \u{feff}\t".into();
    assert_eq!(
        validate_legacy_row(&u).as_deref(),
        Some("Missing required field: email")
    );
}

#[test]
fn legacy_validation_invalid_email() {
    let mut u = map_user(&user_a());
    u.email = "not-an-email".into();
    assert_eq!(
        validate_legacy_row(&u).as_deref(),
        Some("Invalid email format: not-an-email")
    );
}

#[test]
fn legacy_validation_invalid_metadata() {
    let mut u = map_user(&user_a());
    u.metadata = "{not json".into();
    assert_eq!(
        validate_legacy_row(&u).as_deref(),
        Some("Invalid metadata: must be valid JSON")
    );
    u.metadata = String::new();
    assert_eq!(validate_legacy_row(&u), None);
}

#[test]
fn org_from_user_metadata() {
    let user = json!({"user_metadata": {"org_id": "o1", "org_name": "Org One"}, "app_metadata": {"org_id": "o2"}});
    assert_eq!(
        org_from_metadata(&user, None, None),
        Some(MetadataOrg {
            id: "o1".into(),
            name: Some("Org One".into())
        })
    );
}

#[test]
fn org_from_app_metadata() {
    let user = json!({"user_metadata": {"theme": "dark"}, "app_metadata": {"organization_id": "o2", "organizationName": "Two"}});
    assert_eq!(
        org_from_metadata(&user, None, None),
        Some(MetadataOrg {
            id: "o2".into(),
            name: Some("Two".into())
        })
    );
}

#[test]
fn org_from_metadata_none() {
    assert_eq!(org_from_metadata(&json!({}), None, None), None);
    assert_eq!(
        org_from_metadata(
            &json!({"user_metadata": {"org_id": ""}, "app_metadata": {"org_id": 0}}),
            None,
            None
        ),
        None
    );
    assert_eq!(
        org_from_metadata(&json!({"user_metadata": "org_id"}), None, None),
        None
    );
}

#[test]
fn org_from_custom_fields() {
    let user =
        json!({"app_metadata": {"tenant": "t1", "tenantName": "Tenant", "org_id": "ignored"}});
    assert_eq!(
        org_from_metadata(&user, Some("tenant"), Some("tenantName")),
        Some(MetadataOrg {
            id: "t1".into(),
            name: Some("Tenant".into())
        })
    );
    // A falsy custom value falls back to the default fields.
    let user = json!({"user_metadata": {"tenant": "", "org_id": "o"}});
    assert_eq!(
        org_from_metadata(&user, Some("tenant"), None),
        Some(MetadataOrg {
            id: "o".into(),
            name: None
        })
    );
}

#[test]
fn org_from_custom_name_and_default_id() {
    let user = json!({"user_metadata": {"organizationId": 42, "company": "Co"}});
    let org = org_from_metadata(&user, None, Some("company")).unwrap();
    assert_eq!(
        org,
        MetadataOrg {
            id: "42".into(),
            name: Some("Co".into())
        }
    );
    // The synthetic organization of metadata mode.
    assert_eq!(
        org.to_org(),
        Auth0Org {
            id: "42".into(),
            name: "Co".into(),
            display_name: Some("Co".into()),
            metadata: None
        }
    );
    let bare = MetadataOrg {
        id: "o".into(),
        name: None,
    }
    .to_org();
    assert_eq!((bare.name.as_str(), bare.label()), ("o", "o"));
    assert_eq!(
        organization_fields(&bare),
        ["", "o", "o", "", ""].map(String::from)
    );
}

#[test]
fn name_only_user_metadata_does_not_hide_an_app_metadata_id() {
    // §17 item 28: the original stopped at user_metadata and skipped the user.
    let user = json!({"user_metadata": {"org_name": "From User"}, "app_metadata": {"org_id": "o9", "org_name": "From App"}});
    assert_eq!(
        org_from_metadata(&user, None, None),
        Some(MetadataOrg {
            id: "o9".into(),
            name: Some("From App".into())
        })
    );
    let user =
        json!({"user_metadata": {"org_name": "From User"}, "app_metadata": {"org_id": "o9"}});
    assert_eq!(
        org_from_metadata(&user, None, None),
        Some(MetadataOrg {
            id: "o9".into(),
            name: Some("From User".into())
        })
    );
    let user = json!({"user_metadata": {"org_id": "o1"}, "app_metadata": {"org_name": "App Name"}});
    assert_eq!(
        org_from_metadata(&user, None, None),
        Some(MetadataOrg {
            id: "o1".into(),
            name: Some("App Name".into())
        })
    );
}

// ---- exporter.test.ts (legacy single CSV) ----

#[test]
fn legacy_row() {
    let u = map_user(&json!({
        "user_id": "auth0|1", "email": "jane@x.com", "email_verified": false,
        "given_name": "Jane", "family_name": "Doe"
    }));
    let org = Auth0Org::from_json(&json!({"id": "org_1", "name": "acme", "display_name": "Acme"}))
        .unwrap();
    let row = u.legacy_fields(&org.id, org.label());
    assert_eq!(
        LEGACY_HEADER.join(","),
        "email,first_name,last_name,email_verified,external_id,org_external_id,org_name,metadata"
    );
    assert_eq!(
        &row[..7],
        [
            "jane@x.com",
            "Jane",
            "Doe",
            "false",
            "auth0|1",
            "org_1",
            "Acme"
        ]
    );
    assert_eq!(meta(&u)["auth0_user_id"], "auth0|1");
    assert_eq!(
        line(&legacy_skipped_user(
            Some("auth0|2"),
            None,
            Some("org_1"),
            Some("acme"),
            "no_email",
            None
        )),
        r#"{"user_id":"auth0|2","email":"unknown","org_id":"org_1","org_name":"acme","reason":"no_email"}"#
    );
    assert_eq!(
        line(&legacy_skipped_user(
            Some("u"),
            Some("bad"),
            None,
            None,
            "validation_failed",
            Some("Invalid email format: bad")
        )),
        r#"{"user_id":"u","email":"bad","org_id":"unknown","org_name":"unknown","reason":"validation_failed","error":"Invalid email format: bad"}"#
    );
}

// ---- edge cases ----

#[test]
fn users_without_names_or_email() {
    let u = map_user(&json!({"user_id": "u"}));
    assert_eq!(
        (
            u.email.as_str(),
            u.first_name.as_str(),
            u.last_name.as_str()
        ),
        ("", "", "")
    );
    assert_eq!(u.email_verified, "");
    let u = map_user(&json!({"user_id": "u", "name": "    "}));
    assert_eq!((u.first_name.as_str(), u.last_name.as_str()), ("", ""));
    // A non-string email is no email.
    assert_eq!(map_user(&json!({"email": 5})).email, "");
    let u = map_user(&json!(null));
    assert_eq!(u.external_id, "");
    assert!(!u.metadata.is_empty());
}

#[test]
fn email_and_unicode_names_verbatim() {
    let u = map_user(&json!({
        "user_id": "auth0|ü", "email": " Mixed.Case@Example.COM ", "email_verified": false,
        "name": "Zoë\u{3000}Ñúñez  Ä\u{2028}Ø"
    }));
    assert_eq!(u.email, " Mixed.Case@Example.COM ");
    assert_eq!(u.email_verified, "false");
    assert_eq!(
        (u.first_name.as_str(), u.last_name.as_str()),
        ("Zoë", "Ñúñez Ä Ø")
    );
    let u = map_user(&json!({"given_name": "渡辺", "family_name": "😀,\"q\""}));
    let row = u.users_csv_fields(None, "");
    let mut out = Vec::new();
    push_record(&mut out, &row);
    assert!(String::from_utf8(out)
        .unwrap()
        .starts_with(",,,,渡辺,\"😀,\"\"q\"\"\","));
}

#[test]
fn scalar_name_fields_are_stringified() {
    let u = map_user(
        &json!({"given_name": 7, "family_name": true, "email_verified": "yes", "user_id": 12}),
    );
    assert_eq!(
        (
            u.first_name.as_str(),
            u.last_name.as_str(),
            u.email_verified.as_str(),
            u.external_id.as_str()
        ),
        ("7", "true", "yes", "12")
    );
}

#[test]
fn domains() {
    let org =
        |m: Value| Auth0Org::from_json(&json!({"id": "o", "name": "n", "metadata": m})).unwrap();
    assert_eq!(org_domains(&acme()), "acme.com,Login.acme.com");
    assert_eq!(
        org_domains(&org(
            json!({"domains": ["A.com", "", null, 5], "domain": "x.com"})
        )),
        "A.com,5"
    );
    assert_eq!(
        org_domains(&org(json!({"domains": null, "domain": "x.com, ,y.com;"}))),
        "x.com,y.com"
    );
    assert_eq!(
        org_domains(&org(json!({"domains": "", "domain": "x.com"}))),
        ""
    );
    assert_eq!(org_domains(&org(json!({"domains": {"a": 1}}))), "");
    assert_eq!(org_domains(&org(json!({}))), "");
    assert_eq!(org_domains(&Auth0Org::default()), "");
}

#[test]
fn organization_row_metadata() {
    let o = Auth0Org::from_json(&json!({"id": "o", "name": "n", "metadata": {}})).unwrap();
    assert_eq!(organization_fields(&o)[4], "{}");
    let o = Auth0Org::from_json(
        &serde_json::from_str::<Value>(
            r#"{"id":"o","name":"n","metadata":{"z":"1","7":"seven","n":2.0}}"#,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(organization_fields(&o)[4], r#"{"7":"seven","z":"1","n":2}"#);
}

#[test]
fn skipped_and_warning_records() {
    let org = Auth0Org::from_json(&json!({"id": "org_1", "name": "", "display_name": ""})).unwrap();
    assert_eq!(
        line(&skipped_user(
            None,
            None,
            Some(&org),
            "fetch_failed",
            Some("Error: socket hang up")
        )),
        r#"{"user_id":"unknown","email":"unknown","org_id":"org_1","org_name":"unknown","reason":"fetch_failed","error":"Error: socket hang up"}"#
    );
    assert_eq!(
        line(&skipped_user(
            Some("u"),
            Some(""),
            None,
            "no_org_in_metadata",
            Some("")
        )),
        r#"{"user_id":"u","email":"","org_id":"unknown","org_name":"unknown","reason":"no_org_in_metadata"}"#
    );
    assert_eq!(
        line(&blocked_user_warning("auth0|b", None)),
        r#"{"code":"blocked_user_metadata_only","message":"Blocked Auth0 user auth0|b was exported without credentials.","user_id":"auth0|b"}"#
    );
    assert_eq!(
        line(&org_export_failed(&acme(), "Auth0 API error (403): denied")),
        r#"{"code":"org_export_failed","message":"Failed to export org acme: Auth0 API error (403): denied","org_id":"org_acme","org_name":"Acme, Inc"}"#
    );
}

// ---- Appendix B ----

#[test]
fn appendix_b_package_rows() {
    let (catalog, _) = RoleCatalog::from_roles(vec![
        json!({"id": "r1", "name": "Owner"}),
        json!({"id": "r2", "name": "Café Crème"}),
        json!({"id": "r3", "name": ""}),
    ]);
    let member_roles = ["r1".to_string(), "r2".into(), "zz".into()];
    let (acme, two) = (acme(), two());
    let a = map_user(&user_a());
    let b = map_user(&user_b());
    let a_acme = catalog
        .assign("auth0|a", &acme, &member_roles)
        .role_slugs_cell();
    let a_two = catalog
        .assign("auth0|a", &two, &member_roles)
        .role_slugs_cell();
    let users = [
        a.users_csv_fields(Some(&acme), &a_acme).to_vec(),
        b.users_csv_fields(Some(&acme), "").to_vec(),
        a.users_csv_fields(Some(&two), &a_two).to_vec(),
    ];
    assert_eq!(
        csv(USERS_HEADER, &users),
        r#"email,password,password_hash,password_hash_type,first_name,last_name,email_verified,external_id,metadata,org_id,org_external_id,org_name,role_slugs
A@x.com,,,,Ann,Marie Lee,true,auth0|a,"{""auth0_org_id"":""o"",""nested"":""{\""a\"":1}"",""flag"":""false"",""n"":"""",""plan"":""pro"",""auth0_user_id"":""auth0|a"",""auth0_created_at"":""2020-01-01T00:00:00.000Z"",""auth0_updated_at"":""2020-01-02T00:00:00.000Z"",""auth0_identities"":""[{\""provider\"":\""auth0\"",\""connection\"":\""Username-Password-Authentication\"",\""isSocial\"":false}]"",""auth0_last_login"":""2021-01-01"",""auth0_logins_count"":""0""}",,org_acme,"Acme, Inc","owner-role,cafe-cre-me"
b@x.com,,,,B,,,auth0|b,"{""auth0_user_id"":""auth0|b"",""auth0_created_at"":""2020-01-01T00:00:00.000Z"",""auth0_updated_at"":""2020-01-02T00:00:00.000Z"",""auth0_blocked"":""true"",""auth0_metadata_only"":""true""}",,org_acme,"Acme, Inc",
A@x.com,,,,Ann,Marie Lee,true,auth0|a,"{""auth0_org_id"":""o"",""nested"":""{\""a\"":1}"",""flag"":""false"",""n"":"""",""plan"":""pro"",""auth0_user_id"":""auth0|a"",""auth0_created_at"":""2020-01-01T00:00:00.000Z"",""auth0_updated_at"":""2020-01-02T00:00:00.000Z"",""auth0_identities"":""[{\""provider\"":\""auth0\"",\""connection\"":\""Username-Password-Authentication\"",\""isSocial\"":false}]"",""auth0_last_login"":""2021-01-01"",""auth0_logins_count"":""0""}",,org_two,two,"owner-role,cafe-cre-me"
"#
    );

    let orgs = [organization_fields(&acme), organization_fields(&two)];
    let org_rows: Vec<Vec<&str>> = orgs
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        csv(ORGANIZATIONS_HEADER, &org_rows),
        r#"org_id,org_external_id,org_name,domains,metadata
,org_acme,"Acme, Inc","acme.com,Login.acme.com","{""domains"":""acme.com; Login.acme.com"",""tier"":""gold""}"
,org_two,two,two.com,"{""domain"":""two.com""}"
"#
    );

    let memberships = [
        a.membership_fields(&acme, &a_acme).to_vec(),
        b.membership_fields(&acme, "").to_vec(),
        a.membership_fields(&two, &a_two).to_vec(),
    ];
    assert_eq!(
        csv(MEMBERSHIPS_HEADER, &memberships),
        r#"email,external_id,user_id,org_id,org_external_id,org_name,role_slugs,metadata
A@x.com,auth0|a,,,org_acme,"Acme, Inc","owner-role,cafe-cre-me",
b@x.com,auth0|b,,,org_acme,"Acme, Inc",,
A@x.com,auth0|a,,,org_two,two,"owner-role,cafe-cre-me",
"#
    );
}

#[test]
fn appendix_b_skips_and_blocked_warning() {
    let acme = acme();
    let social = json!({"user_id": "google|c", "email": "c@x.com", "identities": [{"provider": "google-oauth2", "connection": "google-oauth2", "isSocial": true}]});
    assert!(is_federated(&social));
    assert!(!is_federated(&user_a()));
    let no_email = json!({"user_id": "auth0|d"});
    assert!(map_user(&no_email).email.is_empty());
    let email_of = |u: &Value| u.get("email").and_then(Value::as_str).map(str::to_string);
    let skipped = [
        skipped_user(
            Some("google|c"),
            email_of(&social).as_deref(),
            Some(&acme),
            "federated_user",
            None,
        ),
        skipped_user(
            Some("auth0|d"),
            email_of(&no_email).as_deref(),
            Some(&acme),
            "no_email",
            None,
        ),
        skipped_user(None, None, Some(&acme), "no_email", None),
    ];
    assert_eq!(
        skipped.iter().map(line).collect::<Vec<_>>().join("\n"),
        r#"{"user_id":"google|c","email":"c@x.com","org_id":"org_acme","org_name":"Acme, Inc","reason":"federated_user"}
{"user_id":"auth0|d","email":"unknown","org_id":"org_acme","org_name":"Acme, Inc","reason":"no_email"}
{"user_id":"unknown","email":"unknown","org_id":"org_acme","org_name":"Acme, Inc","reason":"no_email"}"#
    );
    assert_eq!(
        line(&blocked_user_warning("auth0|b", Some(&acme))),
        r#"{"code":"blocked_user_metadata_only","message":"Blocked Auth0 user auth0|b was exported without credentials.","org_id":"org_acme","org_name":"Acme, Inc","user_id":"auth0|b"}"#
    );
}
