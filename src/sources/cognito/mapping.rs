//! A Cognito user → package rows (export-and-package.md §5.3–5.4), as pure
//! functions over [`CognitoUser`]: the skip rule, the users.csv columns,
//! the metadata we add, memberships, role assignments, and the bytes of
//! every row so that users can be encoded in parallel and written in order.
//!
//! Metadata (our addition; the original wrote none), a JSON object with
//! string values in this key order, empty values left out:
//! `cognito_username`, `cognito_user_pool_id`, `cognito_user_status`,
//! `cognito_enabled` (`true`/`false`), `cognito_created_at`,
//! `cognito_updated_at` (ISO 8601 of `UserCreateDate` /
//! `UserLastModifiedDate`), `cognito_mfa_options` (`MFAOptions` as
//! `MEDIUM:attribute`, comma-separated), then every `custom:*` attribute
//! under its name without the prefix, sorted (a custom name equal to one
//! of ours keeps its `custom:` prefix).

use super::{CognitoOrgRef, CognitoUser};
use crate::package::csv_writer::{push_cell, push_field, push_record as push_csv};
use crate::package::jsonl::{push_json_str, push_record as push_jsonl};
use crate::package::limits::{check_metadata_json, row_warnings, shown, UserCells};
use crate::package::upload::push_user_cells;
use crate::package::writer::EncodedUsers;

/// `--org-strategy` (§5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrgStrategy {
    /// One organization per user pool (default).
    #[default]
    UserPool,
    /// One organization per identity provider; no memberships.
    Connection,
    /// No organizations.
    None,
}

impl OrgStrategy {
    pub fn parse(v: &str) -> Result<Self, String> {
        match v.trim() {
            "user-pool" => Ok(Self::UserPool),
            "connection" => Ok(Self::Connection),
            "none" => Ok(Self::None),
            other => Err(format!(
                "Invalid value \"{other}\" for option \"orgStrategy\" \u{2014} must be one of: user-pool, connection, none"
            )),
        }
    }
}

/// Why a user is not exported (`skipped_users.jsonl` `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    NoEmail,
    FederatedUser,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoEmail => "no_email",
            Self::FederatedUser => "federated_user",
        }
    }
}

/// §5.4 steps 1–2: no (or an empty) `email` attribute → `no_email`;
/// `EXTERNAL_PROVIDER` → `federated_user` unless `include_external`.
pub fn judge<S: AsRef<str>>(user: &CognitoUser<S>, include_external: bool) -> Option<SkipReason> {
    if user.attribute("email").unwrap_or("").is_empty() {
        Some(SkipReason::NoEmail)
    } else if !include_external && user.user_status.as_ref() == "EXTERNAL_PROVIDER" {
        Some(SkipReason::FederatedUser)
    } else {
        None
    }
}

/// `first_name` / `last_name` (§5.4): `given_name` / `family_name` when
/// present (even empty), else the first whitespace token of the trimmed
/// `name` / the remaining tokens joined by one space.
pub fn names<S: AsRef<str>>(user: &CognitoUser<S>) -> (String, String) {
    let name = user.attribute("name").unwrap_or("");
    let mut tokens = name.split_whitespace();
    let first_token = tokens.next().unwrap_or("");
    let rest = tokens.collect::<Vec<_>>().join(" ");
    let first = match user.attribute("given_name") {
        Some(g) => g.to_string(),
        None => first_token.to_string(),
    };
    let last = match user.attribute("family_name") {
        Some(f) => f.to_string(),
        None => rest,
    };
    (first, last)
}

/// Our metadata keys, in order (see the module docs).
const OWN_KEYS: [&str; 7] = [
    "cognito_username",
    "cognito_user_pool_id",
    "cognito_user_status",
    "cognito_enabled",
    "cognito_created_at",
    "cognito_updated_at",
    "cognito_mfa_options",
];

/// The metadata JSON of an exported user (see the module docs): written
/// straight into a buffer with serde_json's string escaping, byte for byte
/// what serialising the same entries as a `serde_json::Map` (insertion
/// order, the first value of a repeated key kept in its first place) gives.
pub fn metadata_json<S: AsRef<str>>(user: &CognitoUser<S>, pool: &str) -> String {
    let mut mfa = String::new();
    for (i, (medium, attr)) in user.mfa_options.iter().enumerate() {
        if i > 0 {
            mfa.push(',');
        }
        mfa.push_str(medium.as_ref());
        mfa.push(':');
        mfa.push_str(attr.as_ref());
    }
    let enabled = if user.enabled { "true" } else { "false" };
    let values = [
        user.username.as_ref(),
        pool,
        user.user_status.as_ref(),
        enabled,
        user.created_at.as_ref().map_or("", AsRef::as_ref),
        user.updated_at.as_ref().map_or("", AsRef::as_ref),
        mfa.as_str(),
    ];
    let mut out: Vec<u8> = Vec::with_capacity(256);
    out.push(b'{');
    fn entry(out: &mut Vec<u8>, k: &str, v: &str) {
        if out.len() > 1 {
            out.push(b',');
        }
        push_json_str(out, k);
        out.push(b':');
        push_json_str(out, v);
    }
    for (k, v) in OWN_KEYS.iter().zip(values) {
        if !v.is_empty() {
            entry(&mut out, k, v);
        }
    }
    let mut custom: Vec<(&str, &str)> = user
        .attributes
        .iter()
        .filter_map(|(k, v)| {
            let (k, v) = (k.as_ref(), v.as_ref());
            k.strip_prefix("custom:").map(|_| (k, v))
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    custom.sort();
    let key_of = |full: &'_ str| -> usize {
        // Byte offset of the key in `full`: the short name, or the whole
        // name when it is empty or one of ours.
        let short = &full["custom:".len()..];
        if short.is_empty() || OWN_KEYS.contains(&short) {
            0
        } else {
            "custom:".len()
        }
    };
    // Own keys never start with `custom:` nor equal a short name that is
    // kept, so only custom keys can repeat; the first one is kept.
    for (i, (full, v)) in custom.iter().enumerate() {
        let key = &full[key_of(full)..];
        if !custom[..i].iter().any(|(f, _)| &f[key_of(f)..] == key) {
            entry(&mut out, key, v);
        }
    }
    out.push(b'}');
    // Only `str`s and ASCII were written: always UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// What every user of one pool shares while being encoded.
#[derive(Debug, Clone, Copy)]
pub struct PoolContext<'a> {
    pub pool: &'a str,
    /// The pool's organization (`user-pool` strategy only).
    pub org: Option<&'a CognitoOrgRef>,
    pub users: bool,
    pub memberships: bool,
    pub roles: bool,
    pub include_external: bool,
}

/// The encoded output of a run of users, one buffer per file.
#[derive(Debug, Default)]
pub struct EncodedRows {
    /// users.csv, upload users, skipped users, warnings.
    pub users: EncodedUsers,
    /// The `external_id` of each upload row, in order.
    pub upload_ids: Vec<String>,
    pub memberships: Vec<u8>,
    pub membership_rows: u64,
    /// `(org_external_id, external_id)` of each membership, for the upload.
    pub upload_memberships: Vec<(String, String)>,
    pub assignments: Vec<u8>,
    pub assignment_rows: u64,
    /// Users read (each key once).
    pub users_in: u64,
    /// Users exported (counted even when users.csv is not requested).
    pub exported: u64,
    /// Users skipped.
    pub skipped: u64,
}

/// Warning `membership_missing_org` (§5.4 step 6).
fn membership_missing_org<S: AsRef<str>>(
    out: &mut EncodedRows,
    ts: &str,
    user: &CognitoUser<S>,
    pool: &str,
) {
    let message = format!(
        "User {} in pool {pool} has no matching organization row; membership skipped.",
        user.username.as_ref()
    );
    push_jsonl(
        &mut out.users.warnings,
        &[
            ("timestamp", ts),
            ("code", "membership_missing_org"),
            ("message", &message),
            ("user_pool_id", pool),
            ("email", user.attribute("email").unwrap_or("")),
        ],
    );
    out.users.warning_rows += 1;
}

/// Warning `disabled_user_exported` (ours, §17.7): the user is exported.
fn disabled_user<S: AsRef<str>>(
    out: &mut EncodedRows,
    ts: &str,
    user: &CognitoUser<S>,
    pool: &str,
) {
    let message = format!(
        "Cognito user {} in pool {pool} is disabled; exported with metadata cognito_enabled=false. Block or remove the user in WorkOS after import if they must stay locked out.",
        user.username.as_ref()
    );
    push_jsonl(
        &mut out.users.warnings,
        &[
            ("timestamp", ts),
            ("code", "disabled_user_exported"),
            ("message", &message),
            ("user_pool_id", pool),
            ("email", user.attribute("email").unwrap_or("")),
        ],
    );
    out.users.warning_rows += 1;
}

/// Encodes one user (§5.4) with its role slugs (distinct, in order):
/// a skipped record, or the users.csv row and its upload row, the
/// membership and its upload row, the role assignments, and warnings.
pub fn encode_user<S: AsRef<str>>(
    out: &mut EncodedRows,
    ctx: &PoolContext<'_>,
    user: &CognitoUser<S>,
    slugs: &[&str],
    ts: &str,
) {
    out.users_in += 1;
    if let Some(reason) = judge(user, ctx.include_external) {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("timestamp", ts),
            ("user_pool_id", ctx.pool),
            ("username", user.username.as_ref()),
        ];
        if reason == SkipReason::FederatedUser {
            pairs.push(("email", user.attribute("email").unwrap_or("")));
        }
        pairs.push(("reason", reason.as_str()));
        push_jsonl(&mut out.users.skipped, &pairs);
        out.users.skipped_rows += 1;
        out.skipped += 1;
        return;
    }
    let email = user.attribute("email").unwrap_or("");
    let external_id = user.external_id();
    let (first, last) = names(user);
    let cells = UserCells {
        email,
        first_name: &first,
        last_name: &last,
        external_id,
    };
    if let Some(over) = cells.oversized() {
        let error = over.error();
        let mut pairs: Vec<(&str, &str)> = vec![("timestamp", ts), ("user_pool_id", ctx.pool)];
        if let Some(username) = shown(user.username.as_ref()) {
            pairs.push(("username", username));
        }
        if let Some(email) = shown(email) {
            pairs.push(("email", email));
        }
        pairs.push(("reason", over.reason()));
        pairs.push(("error", &error));
        push_jsonl(&mut out.users.skipped, &pairs);
        out.users.skipped_rows += 1;
        out.skipped += 1;
        return;
    }
    out.exported += 1;
    let role_slugs = if ctx.roles {
        slugs.join(",")
    } else {
        String::new()
    };
    let (org_ext, org_name) = ctx
        .org
        .map(|o| (o.external_id.as_str(), o.name.as_str()))
        .unwrap_or(("", ""));
    if !user.enabled {
        disabled_user(out, ts, user, ctx.pool);
    }
    if ctx.users {
        let metadata = metadata_json(user, ctx.pool);
        for w in row_warnings(&cells, &check_metadata_json(&metadata)) {
            push_jsonl(
                &mut out.users.warnings,
                &[
                    ("timestamp", ts),
                    ("code", w.code),
                    ("message", &w.message),
                    ("user_pool_id", ctx.pool),
                    ("email", email),
                ],
            );
            out.users.warning_rows += 1;
        }
        let verified = user.attribute("email_verified").unwrap_or("");
        let rows = &mut out.users.users;
        let email_at = push_cell(rows, email);
        rows.extend_from_slice(b",,"); // password, password_hash
        let hash_at = email_at.end + 2..email_at.end + 2;
        rows.push(b','); // password_hash_type
        let first_at = push_cell(rows, &first);
        let last_at = push_cell(rows, &last);
        let verified_at = push_cell(rows, verified);
        let id_at = push_cell(rows, external_id);
        push_cell(rows, &metadata);
        rows.push(b','); // org_id
        push_cell(rows, org_ext);
        push_cell(rows, org_name);
        push_field(rows, &role_slugs);
        rows.push(b'\n');
        out.users.user_rows += 1;
        if !external_id.is_empty() {
            push_user_cells(
                &mut out.users.upload,
                &out.users.users,
                [id_at, email_at, verified_at, first_at, last_at, hash_at],
            );
            out.users.upload_rows.push(out.upload_ids.len() as u32);
            out.upload_ids.push(external_id.to_string());
        }
    }
    if ctx.memberships {
        match ctx.org {
            Some(org) => {
                push_csv(
                    &mut out.memberships,
                    &[
                        email,
                        external_id,
                        "",
                        "",
                        &org.external_id,
                        &org.name,
                        &role_slugs,
                        "",
                    ],
                );
                out.membership_rows += 1;
                out.upload_memberships
                    .push((org.external_id.clone(), external_id.to_string()));
            }
            None => membership_missing_org(out, ts, user, ctx.pool),
        }
    }
    if ctx.roles {
        if let Some(org) = ctx.org {
            for slug in slugs {
                push_csv(
                    &mut out.assignments,
                    &[email, "", external_id, slug, "", &org.external_id],
                );
                out.assignment_rows += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(status: &str, attrs: &[(&str, &str)]) -> CognitoUser {
        CognitoUser {
            username: "u1".into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            user_status: status.into(),
            enabled: true,
            created_at: Some("2024-01-02T03:04:05Z".into()),
            updated_at: None,
            mfa_options: vec![],
        }
    }

    fn ctx<'a>(org: Option<&'a CognitoOrgRef>) -> PoolContext<'a> {
        PoolContext {
            pool: "us-east-1_AAAPOOL",
            org,
            users: true,
            memberships: true,
            roles: true,
            include_external: false,
        }
    }

    #[test]
    fn names_follow_the_original_rules() {
        let u = user("CONFIRMED", &[("name", "  Mary Ann  Jones Smith ")]);
        assert_eq!(names(&u), ("Mary".into(), "Ann Jones Smith".into()));
        let u = user(
            "CONFIRMED",
            &[("given_name", ""), ("name", "Olivia Rodriguez")],
        );
        assert_eq!(names(&u), ("".into(), "Rodriguez".into()));
        let u = user(
            "CONFIRMED",
            &[("given_name", "María"), ("family_name", "García López")],
        );
        assert_eq!(names(&u), ("María".into(), "García López".into()));
        assert_eq!(names(&user("CONFIRMED", &[])), ("".into(), "".into()));
    }

    #[test]
    fn skip_rules_and_external_id() {
        assert_eq!(
            judge(&user("CONFIRMED", &[("email", "")]), false),
            Some(SkipReason::NoEmail)
        );
        let fed = user("EXTERNAL_PROVIDER", &[("email", "a@x.com")]);
        assert_eq!(judge(&fed, false), Some(SkipReason::FederatedUser));
        assert_eq!(judge(&fed, true), None);
        assert_eq!(fed.external_id(), "u1");
        let u = user("CONFIRMED", &[("sub", "abc"), ("email", "a@x.com")]);
        assert_eq!(u.external_id(), "abc");
    }

    /// The former implementation (a `serde_json::Map`), the oracle of
    /// [`metadata_json`].
    fn metadata_via_map(user: &CognitoUser, pool: &str) -> String {
        use serde_json::{Map, Value};
        let mfa = user
            .mfa_options
            .iter()
            .map(|(medium, attr)| format!("{medium}:{attr}"))
            .collect::<Vec<_>>()
            .join(",");
        let enabled = if user.enabled { "true" } else { "false" };
        let values = [
            user.username.as_str(),
            pool,
            user.user_status.as_str(),
            enabled,
            user.created_at.as_deref().unwrap_or(""),
            user.updated_at.as_deref().unwrap_or(""),
            mfa.as_str(),
        ];
        let mut m = Map::new();
        for (k, v) in OWN_KEYS.iter().zip(values) {
            if !v.is_empty() {
                m.insert((*k).to_string(), Value::String(v.to_string()));
            }
        }
        let mut custom: Vec<(&str, &str)> = user
            .attributes
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("custom:").map(|_| (k.as_str(), v.as_str())))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        custom.sort();
        for (full, v) in custom {
            let short = &full["custom:".len()..];
            let key = if short.is_empty() || OWN_KEYS.contains(&short) {
                full
            } else {
                short
            };
            m.entry(key.to_string())
                .or_insert_with(|| Value::String(v.to_string()));
        }
        Value::Object(m).to_string()
    }

    #[test]
    fn metadata_writer_matches_the_map_serialisation() {
        let awkward = [
            "plain",
            "",
            "quote \" and backslash \\",
            "control \u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f}",
            "unicode é ✓ 𝄞 \u{2028}\u{2029}",
            "slash / and <script>",
            "\u{feff}bom",
        ];
        let mut cases = Vec::new();
        for (i, text) in awkward.iter().enumerate() {
            let mut u = user(
                text,
                &[
                    ("sub", text),
                    ("email", "a@x"),
                    ("custom:tier", text),
                    ("custom:", "empty name"),
                    ("custom:cognito_username", "clash"),
                    ("custom:custom:cognito_username", "double"),
                    ("custom:tier", "repeat"),
                    ("custom:zeta", ""),
                    ("custom:\u{e9}t\"e", text),
                ],
            );
            u.username = format!("user{i}{text}");
            u.created_at = Some((*text).to_string());
            u.updated_at = None;
            u.enabled = i % 2 == 0;
            u.mfa_options = vec![
                (text.to_string(), "phone_number".into()),
                ("SMS".into(), text.to_string()),
            ];
            cases.push(u);
        }
        let mut bare = user("", &[]);
        bare.mfa_options.clear();
        bare.created_at = None;
        cases.push(bare);
        for u in &cases {
            for pool in ["us-east-1_P", "", "pool \"q\""] {
                assert_eq!(metadata_json(u, pool), metadata_via_map(u, pool), "{u:?}");
            }
        }
    }

    #[test]
    fn metadata_keeps_status_dates_mfa_and_custom_attributes() {
        let mut u = user(
            "FORCE_CHANGE_PASSWORD",
            &[
                ("custom:tier", "gold"),
                ("custom:department", "Sales"),
                ("custom:cognito_enabled", "x"),
                ("custom:empty", ""),
                ("phone_number", "+1555"),
            ],
        );
        u.enabled = false;
        u.mfa_options = vec![("SMS".into(), "phone_number".into())];
        assert_eq!(
            metadata_json(&u, "P"),
            r#"{"cognito_username":"u1","cognito_user_pool_id":"P","cognito_user_status":"FORCE_CHANGE_PASSWORD","cognito_enabled":"false","cognito_created_at":"2024-01-02T03:04:05Z","cognito_mfa_options":"SMS:phone_number","custom:cognito_enabled":"x","department":"Sales","tier":"gold"}"#
        );
    }

    #[test]
    fn exported_user_rows_membership_and_roles() {
        let org = CognitoOrgRef {
            external_id: "us-east-1_AAAPOOL".into(),
            name: "us-east-1_AAAPOOL".into(),
        };
        let mut u = user(
            "CONFIRMED",
            &[
                ("sub", "5a3b"),
                ("email", "alice@example.com"),
                ("email_verified", "true"),
                ("given_name", "Alice"),
                ("family_name", "Smith, Jr"),
            ],
        );
        u.enabled = false;
        let mut out = EncodedRows::default();
        encode_user(
            &mut out,
            &ctx(Some(&org)),
            &u,
            &["admin-role", "editors"],
            "T",
        );
        let users = String::from_utf8(out.users.users.clone()).unwrap();
        assert!(
            users.starts_with(
                r#"alice@example.com,,,,Alice,"Smith, Jr",true,5a3b,"{""cognito_username"":""u1"""#
            ),
            "{users}"
        );
        assert!(
            users.ends_with(",,us-east-1_AAAPOOL,us-east-1_AAAPOOL,\"admin-role,editors\"\n"),
            "{users}"
        );
        assert_eq!(
            String::from_utf8(out.users.upload.clone()).unwrap(),
            "5a3b,alice@example.com,true,Alice,\"Smith, Jr\",\n"
        );
        assert_eq!(out.upload_ids, ["5a3b"]);
        assert_eq!(
            String::from_utf8(out.memberships.clone()).unwrap(),
            "alice@example.com,5a3b,,,us-east-1_AAAPOOL,us-east-1_AAAPOOL,\"admin-role,editors\",\n"
        );
        assert_eq!(
            String::from_utf8(out.assignments.clone()).unwrap(),
            "alice@example.com,,5a3b,admin-role,,us-east-1_AAAPOOL\nalice@example.com,,5a3b,editors,,us-east-1_AAAPOOL\n"
        );
        let warnings = String::from_utf8(out.users.warnings.clone()).unwrap();
        assert!(
            warnings.contains(r#""code":"disabled_user_exported""#),
            "{warnings}"
        );
        assert_eq!((out.users_in, out.exported, out.skipped), (1, 1, 0));
    }

    #[test]
    fn skipped_records_and_missing_org_warning() {
        let mut out = EncodedRows::default();
        let fed = user("EXTERNAL_PROVIDER", &[("email", "f@x.com")]);
        encode_user(&mut out, &ctx(None), &fed, &[], "T");
        let none = user("CONFIRMED", &[("phone_number", "+1")]);
        encode_user(&mut out, &ctx(None), &none, &[], "T");
        assert_eq!(
            String::from_utf8(out.users.skipped.clone()).unwrap(),
            "{\"timestamp\":\"T\",\"user_pool_id\":\"us-east-1_AAAPOOL\",\"username\":\"u1\",\"email\":\"f@x.com\",\"reason\":\"federated_user\"}\n\
             {\"timestamp\":\"T\",\"user_pool_id\":\"us-east-1_AAAPOOL\",\"username\":\"u1\",\"reason\":\"no_email\"}\n"
        );
        let ok = user("CONFIRMED", &[("email", "o@x.com")]);
        encode_user(&mut out, &ctx(None), &ok, &["x"], "T");
        let w = String::from_utf8(out.users.warnings.clone()).unwrap();
        assert!(w.contains("User u1 in pool us-east-1_AAAPOOL has no matching organization row; membership skipped."));
        assert_eq!((out.membership_rows, out.assignment_rows), (0, 0));
        assert_eq!((out.users_in, out.exported, out.skipped), (3, 1, 2));
        // users.csv row without an org: empty org columns, role slugs kept.
        assert!(String::from_utf8(out.users.users.clone())
            .unwrap()
            .ends_with(",,,,x\n"));
    }
}
