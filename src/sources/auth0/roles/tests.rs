//! Tests of the role catalog: `role-mapper.test.ts` (§15) and the role part
//! of Appendix B, byte for byte.

use serde_json::{json, Value};

use super::*;
use crate::package::csv_writer::push_record;

/// A record's JSON line without its timestamp.
fn line(record: &JsonlRecord) -> String {
    let mut v = record.clone().into_value();
    let obj = v.as_object_mut().unwrap();
    assert!(obj.shift_remove("timestamp").is_some());
    serde_json::to_string(&v).unwrap()
}

fn catalog(roles: Value) -> (RoleCatalog, Vec<JsonlRecord>) {
    RoleCatalog::from_roles(roles.as_array().unwrap().clone())
}

fn codes(warnings: &[JsonlRecord]) -> Vec<&str> {
    warnings
        .iter()
        .map(|w| w.get("code").and_then(Value::as_str).unwrap())
        .collect()
}

fn slugs(c: &RoleCatalog) -> Vec<&str> {
    c.definition_rows().map(|r| r[0]).collect()
}

fn org(id: &str, name: &str, display: Option<&str>) -> Auth0Org {
    Auth0Org {
        id: id.into(),
        name: name.into(),
        display_name: display.map(str::to_string),
        metadata: None,
    }
}

#[test]
fn slugging() {
    assert_eq!(role_slug("Sales Manager"), "sales-manager");
    assert_eq!(role_slug("Billing/Admin"), "billing-admin");
    assert_eq!(role_slug("  Lead  Engineer  "), "lead-engineer");
    assert_eq!(role_slug("Data:Pipelines.Owner"), "data-pipelines-owner");
}

#[test]
fn slugging_collapses_and_strips_separators() {
    assert_eq!(role_slug("---hello---world---"), "hello-world");
    assert_eq!(role_slug("***!"), "");
}

#[test]
fn slugging_empty() {
    assert_eq!(role_slug(""), "");
    // A missing or null name slugs to nothing too: the role gets a fallback.
    let (c, w) = catalog(json!([{"id": "r1"}, {"id": "r2", "name": null}]));
    assert_eq!(slugs(&c), ["auth0-role-r1", "auth0-role-r2"]);
    assert_eq!(codes(&w), ["unmappable_role_name", "unmappable_role_name"]);
}

#[test]
fn slugging_keeps_the_original_nfkd_separators() {
    assert_eq!(role_slug("Café Crème"), "cafe-cre-me");
    assert_eq!(role_slug("Naïve"), "nai-ve");
    // Compatibility forms decompose to ASCII letters and digits.
    assert_eq!(role_slug("ＡＢＣ ①"), "abc-1");
    assert_eq!(role_slug("KELVIN\u{212A}"), "kelvink");
    assert_eq!(role_slug("Ärzte_2024"), "a-rzte-2024");
    assert_eq!(role_slug("日本"), "");
}

#[test]
fn catalog_without_conflicts() {
    let (c, w) = catalog(json!([
        {"id": "rol_1", "name": "Sales Manager", "description": "sells"},
        {"id": "rol_2", "name": "  Support  "}
    ]));
    assert!(w.is_empty());
    let rows: Vec<[&str; 6]> = c.definition_rows().collect();
    assert_eq!(
        rows,
        [
            ["sales-manager", "Sales Manager", "environment", "", "", ""],
            ["support", "Support", "environment", "", "", ""]
        ]
    );
    assert_eq!(c.len(), 2);
    assert!(!c.is_empty());
    assert_eq!(c.slug("rol_1"), Some("sales-manager"));
    assert_eq!(c.slug("rol_2"), Some("support"));
    assert_eq!(c.slug("rol_3"), None);
}

#[test]
fn reserved_and_colliding_slugs() {
    let (c, w) = catalog(json!([
        {"id": "r1", "name": "Admin"},
        {"id": "r2", "name": "admin"},
        {"id": "r3", "name": "ADMIN"}
    ]));
    assert_eq!(slugs(&c), ["admin-role", "admin-role-2", "admin-role-3"]);
    assert_eq!(codes(&w), ["duplicate_role_slug", "duplicate_role_slug"]);
    assert_eq!(
        line(&w[0]),
        r#"{"code":"duplicate_role_slug","message":"Auth0 role \"admin\" produced slug \"admin-role\" which collided with another role; renamed to \"admin-role-2\".","details":{"role_id":"r2","role_name":"admin","role_slug":"admin-role-2"}}"#
    );
    assert!(line(&w[1]).contains(r#"renamed to \"admin-role-3\""#));
}

#[test]
fn unmappable_names_get_fallback_slugs() {
    let (c, w) = catalog(json!([
        {"id": "rol_x", "name": ""},
        {"id": "rol_y", "name": "!!!"},
        {"id": "***", "name": "???"},
        {"id": "auth0-role-z", "name": ""}
    ]));
    assert_eq!(
        slugs(&c),
        [
            "auth0-role-rol-x",
            "auth0-role-rol-y",
            "auth0-role-1",
            "auth0-role-z"
        ]
    );
    assert!(slugs(&c).iter().all(|s| s.starts_with("auth0-role-")));
    assert_eq!(codes(&w), ["unmappable_role_name"; 4]);
    // Blank name → the slug is the definition's name; `!!!` is kept.
    let names: Vec<&str> = c.definition_rows().map(|r| r[1]).collect();
    assert_eq!(names, ["auth0-role-rol-x", "!!!", "???", "auth0-role-z"]);
    assert_eq!(
        line(&w[1]),
        r#"{"code":"unmappable_role_name","message":"Auth0 role rol_y has no slug-able name \"!!!\"; using fallback slug \"auth0-role-rol-y\".","details":{"role_id":"rol_y","role_name":"!!!","role_slug":"auth0-role-rol-y"}}"#
    );
}

#[test]
fn repeated_role_id_keeps_the_first() {
    let (c, w) = catalog(json!([
        {"id": "r1", "name": "Viewer"},
        {"id": "r1", "name": "Other"},
        {"name": "no id"},
        {"id": "", "name": "empty id"},
        null
    ]));
    assert_eq!(slugs(&c), ["viewer"]);
    assert_eq!(
        w.iter().map(line).collect::<Vec<_>>(),
        [
            r#"{"code":"duplicate_role_id","message":"Auth0 returned role id r1 more than once; using the first occurrence.","details":{"role_id":"r1","role_name":"Other"}}"#
        ]
    );
}

#[test]
fn package_exporter_catalog_case() {
    let (c, w) = catalog(json!([
        {"id": "r_admin", "name": "Admin"},
        {"id": "r_member", "name": "Member"},
        {"id": "r_admin2", "name": "admin"},
        {"id": "r_blank", "name": ""}
    ]));
    assert_eq!(
        slugs(&c),
        [
            "admin-role",
            "member-role",
            "admin-role-2",
            "auth0-role-r-blank"
        ]
    );
    assert_eq!(codes(&w), ["duplicate_role_slug", "unmappable_role_name"]);
    let acme = org("org_1", "acme", None);
    let roles = c.assign(
        "auth0|u",
        &acme,
        &["r_admin".into(), "r_member".into(), "r_admin".into()],
    );
    assert_eq!(roles.slugs, ["admin-role", "member-role"]);
    assert_eq!(roles.role_slugs_cell(), "admin-role,member-role");
    assert!(roles.warnings.is_empty());
}

#[test]
fn assignment_rows() {
    let (c, _) = catalog(json!([
        {"id": "r1", "name": "Viewer"},
        {"id": "r2", "name": "Editor"}
    ]));
    let acme = org("org_acme", "acme", Some("Acme"));
    let member = [
        json!({"id": "r2", "name": "Editor"}),
        json!({"id": "r1"}),
        json!({"id": "r2"}),
        json!({}),
    ];
    let roles = c.assign_member_roles("auth0|u", &acme, &member);
    assert_eq!(roles.slugs, ["editor", "viewer"]);
    assert!(roles.warnings.is_empty());
    let mut out = Vec::new();
    for slug in &roles.slugs {
        push_record(
            &mut out,
            &assignment_fields("u@x.com", "auth0|u", slug, &acme),
        );
    }
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "u@x.com,,auth0|u,editor,,org_acme\nu@x.com,,auth0|u,viewer,,org_acme\n"
    );
    assert_eq!(MemberRoles::default().role_slugs_cell(), "");
}

#[test]
fn unknown_role_assignment() {
    let (c, _) = catalog(json!([{"id": "r1", "name": "Viewer"}]));
    let acme = org("org_acme", "acme", Some("Acme, Inc"));
    let roles = c.assign_member_roles("auth0|u", &acme, &[json!({"id": "zz", "name": "Ghost"})]);
    assert!(roles.slugs.is_empty());
    assert_eq!(
        roles.warnings.iter().map(line).collect::<Vec<_>>(),
        [
            r#"{"code":"unknown_role_assignment","message":"Auth0 user auth0|u is assigned to role zz which is not in the role catalog; skipping assignment.","org_id":"org_acme","org_name":"Acme, Inc","user_id":"auth0|u","details":{"role_id":"zz","role_name":"Ghost"}}"#
        ]
    );
    // Ids only: no role_name; an empty user id leaves user_id out.
    let roles = c.assign("", &acme, &["zz".into(), String::new()]);
    assert_eq!(
        line(&roles.warnings[0]),
        r#"{"code":"unknown_role_assignment","message":"Auth0 user  is assigned to role zz which is not in the role catalog; skipping assignment.","org_id":"org_acme","org_name":"Acme, Inc","details":{"role_id":"zz"}}"#
    );
    assert_eq!(roles.warnings.len(), 1);
}

#[test]
fn appendix_b_role_definitions_and_warnings() {
    let (c, w) = catalog(json!([
        {"id": "r1", "name": "Owner"},
        {"id": "r2", "name": "Café Crème"},
        {"id": "r3", "name": ""}
    ]));
    let mut out = b"role_slug,role_name,role_type,permissions,org_id,org_external_id\n".to_vec();
    for row in c.definition_rows() {
        push_record(&mut out, &row);
    }
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "role_slug,role_name,role_type,permissions,org_id,org_external_id\n\
         owner-role,Owner,environment,,,\n\
         cafe-cre-me,Café Crème,environment,,,\n\
         auth0-role-r3,auth0-role-r3,environment,,,\n"
    );
    assert_eq!(
        w.iter().map(line).collect::<Vec<_>>(),
        [
            r#"{"code":"unmappable_role_name","message":"Auth0 role r3 has no slug-able name \"\"; using fallback slug \"auth0-role-r3\".","details":{"role_id":"r3","role_slug":"auth0-role-r3"}}"#
        ]
    );

    let acme = org("org_acme", "acme", Some("Acme, Inc"));
    let two = org("org_two", "two", None);
    let member = ["r1".to_string(), "r2".into(), "zz".into()];
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    for o in [&acme, &two] {
        let roles = c.assign("auth0|a", o, &member);
        assert_eq!(roles.role_slugs_cell(), "owner-role,cafe-cre-me");
        for slug in &roles.slugs {
            push_record(&mut rows, &assignment_fields("A@x.com", "auth0|a", slug, o));
        }
        warnings.extend(roles.warnings.iter().map(line));
    }
    assert_eq!(
        String::from_utf8(rows).unwrap(),
        "A@x.com,,auth0|a,owner-role,,org_acme\n\
         A@x.com,,auth0|a,cafe-cre-me,,org_acme\n\
         A@x.com,,auth0|a,owner-role,,org_two\n\
         A@x.com,,auth0|a,cafe-cre-me,,org_two\n"
    );
    assert_eq!(
        warnings,
        [
            r#"{"code":"unknown_role_assignment","message":"Auth0 user auth0|a is assigned to role zz which is not in the role catalog; skipping assignment.","org_id":"org_acme","org_name":"Acme, Inc","user_id":"auth0|a","details":{"role_id":"zz"}}"#,
            r#"{"code":"unknown_role_assignment","message":"Auth0 user auth0|a is assigned to role zz which is not in the role catalog; skipping assignment.","org_id":"org_two","org_name":"two","user_id":"auth0|a","details":{"role_id":"zz"}}"#
        ]
    );
}

#[test]
fn warning_builders() {
    let acme = org("org_acme", "acme", Some("Acme"));
    assert_eq!(
        line(&member_role_fetch_failed(
            "auth0|u",
            &acme,
            "Auth0 API error (500): boom"
        )),
        r#"{"code":"member_role_fetch_failed","message":"Failed to fetch Auth0 roles for auth0|u in org org_acme: Auth0 API error (500): boom","user_id":"auth0|u"}"#
    );
    assert_eq!(
        line(&role_catalog_fetch_failed("nope")),
        r#"{"code":"role_catalog_fetch_failed","message":"Failed to fetch Auth0 roles catalog: nope"}"#
    );
    assert_eq!(
        line(&role_assignments_unavailable_metadata_mode()),
        r#"{"code":"role_assignments_unavailable_metadata_mode","message":"Auth0 metadata-based org discovery cannot fetch per-org role assignments; only the role catalog was exported."}"#
    );
    assert_eq!(
        line(&role_assignments_unavailable_bulk_mode()),
        r#"{"code":"role_assignments_unavailable_bulk_mode","message":"Auth0 bulk-job export does not return per-org role assignments; only the role catalog was exported."}"#
    );
}
