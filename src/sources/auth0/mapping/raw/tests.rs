//! The fast path against the general one: for every line the fast path
//! takes, the general path (typed or `Value` parse, `judge`, `map_user`)
//! must export the user with no record, and write the same bytes.

use fastrand::Rng;

use super::*;
use crate::package::csv_writer::push_record;
use crate::package::upload::encode_user;
use crate::sources::auth0::export::{judge, Verdict};
use crate::sources::auth0::job_line::parse_job_line;

/// What both paths write for one line: users.csv bytes, upload bytes, ids.
type Rows = (Vec<u8>, Vec<u8>, String);

fn fast(line: &[u8], include_federated: bool) -> Option<Rows> {
    let (mut users, mut upload, mut ids, mut ends) =
        (Vec::new(), Vec::new(), String::new(), Vec::new());
    let mut sink = RowSink {
        users: &mut users,
        upload: &mut upload,
        upload_ids: &mut ids,
        upload_id_ends: &mut ends,
    };
    let hit = encode_exported_user(
        line,
        include_federated,
        &mut sink,
        &mut RawScratch::default(),
    );
    if !hit {
        assert!(users.is_empty() && upload.is_empty() && ids.is_empty());
        return None;
    }
    assert_eq!(ends.len(), usize::from(!ids.is_empty()));
    Some((users, upload, ids))
}

/// The general path; `None` when it skips the user, warns, or finds junk.
fn general(line: &[u8], include_federated: bool) -> Option<Rows> {
    let user = parse_job_line(line)?;
    let Verdict::Export(m) = judge(&user, include_federated) else {
        return None;
    };
    if m.blocked || !m.limit_warnings(None).is_empty() {
        return None;
    }
    let mut users = Vec::new();
    push_record(&mut users, &m.users_csv_fields(None, ""));
    let mut upload = Vec::new();
    let mut ids = String::new();
    if encode_user(
        &mut upload,
        &m.external_id,
        &m.email,
        &m.email_verified,
        &m.first_name,
        &m.last_name,
        "",
    ) {
        ids.push_str(&m.external_id);
    }
    Some((users, upload, ids))
}

/// Checks one line; true when the fast path took it.
fn check(line: &str) -> bool {
    let mut hit = false;
    for include_federated in [false, true] {
        let f = fast(line.as_bytes(), include_federated);
        if let Some(rows) = &f {
            hit = true;
            let g = general(line.as_bytes(), include_federated);
            assert_eq!(Some(rows), g.as_ref(), "line: {line}");
        }
    }
    hit
}

#[test]
fn common_users_take_the_fast_path_with_the_same_bytes() {
    let lines = [
        // The bench's synthetic user.
        r#"{"user_id":"auth0|u000000007","email":"user7@example.com","email_verified":true,"name":"Ada Lovelace","given_name":"Ada","family_name":"Lovelace","nickname":"user7","picture":"https://cdn.example.com/avatars/7.png","created_at":"2020-01-01T00:04:19.000Z","updated_at":"2020-01-02T00:04:19.000Z","last_login":"2020-01-03T00:04:19.000Z","logins_count":7,"identities":[{"connection":"Username-Password-Authentication","provider":"auth0","user_id":"u000000007","isSocial":false}],"user_metadata":{"locale":"de","preferences":{"newsletter":false}},"app_metadata":{"plan":"free","tenant_index":7}}"#,
        // Appendix B's user A.
        r#"{"user_id":"auth0|a","email":"A@x.com","email_verified":true,"name":"Ann  Marie  Lee","user_metadata":{"org_id":"o","nested":{"a":1},"flag":false,"n":null},"app_metadata":{"plan":"pro"},"created_at":"2020-01-01T00:00:00.000Z","updated_at":"2020-01-02T00:00:00.000Z","identities":[{"provider":"auth0","connection":"Username-Password-Authentication","isSocial":false,"user_id":"a"}],"last_login":"2021-01-01","logins_count":0}"#,
        r#"{"email":"x@y.z"}"#,
        r#"{ "email" : "é\"q\"@x" , "user_id" : 12 , "given_name" : "\u00c9mile\tA", "family_name": null, "user_metadata": {"0": [1, 2], "10": "x", "2": {"b": 1, "a": 2.50}}, "app_metadata": {"0": "app", "auth0_user_id": "fake"} } "#,
        r#"{"email":"a@b","name":" \u00a0Jean   Luc\tPicard ","identities":[],"logins_count":null,"last_login":""}"#,
        r#"{"email":"a@b","user_id":"u,1","name":"x","given_name":0,"family_name":false,"email_verified":"yes","created_at":1.5e3,"updated_at":[1,null,"a"],"identities":[7,{"provider":"google-oauth2","isSocial":true,"connection":{"z":1,"1":2}},{"provider":"auth0","isSocial":false}]}"#,
    ];
    for line in lines {
        assert!(check(line), "not on the fast path: {line}");
    }
}

#[test]
fn other_users_are_left_to_the_general_path() {
    for line in [
        r#"{"user_id":"a"}"#,
        r#"{"email":""}"#,
        r#"{"email":"a@b","blocked":true}"#,
        r#"{"email":"a@b","identities":[{"provider":"google-oauth2","isSocial":true}]}"#,
        r#"{"email":"a@b","email":"c@d"}"#,
        r#"{"email":"a@b","user_metadata":{"k":"this value is long"}}"#,
    ] {
        let long = line.replace("this value is long", &"v".repeat(700));
        assert_eq!(fast(long.as_bytes(), false), None, "{line}");
    }
    // Federated users are exported when asked for.
    let federated =
        r#"{"email":"a@b","identities":[{"provider":"google-oauth2","isSocial":true}]}"#;
    assert!(fast(federated.as_bytes(), true).is_some());
    // Long but within limits after the exact check: still fast.
    let long_ok = format!(
        r#"{{"email":"a@b","user_metadata":{{"k":"{}"}}}}"#,
        "é".repeat(500)
    );
    assert!(check(&long_ok));
}

/// Random JSON text in the shapes job lines take, with the oddities the
/// fast path must either reproduce or leave alone.
struct Gen(Rng);

impl Gen {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.0.usize(..items.len())]
    }

    fn ws(&mut self) -> &'static str {
        if self.0.u8(..10) == 0 {
            self.pick(&[" ", "\t", "\r\n ", "  "])
        } else {
            ""
        }
    }

    fn string(&mut self) -> String {
        let s = self.pick(&[
            "",
            "a",
            "Ada Lovelace",
            "  Ann\t\tMarie  ",
            "\\u00a0Jean Luc\\u3000",
            "é😀\u{2028}",
            "q\\\"uote",
            "back\\\\slash",
            "sl\\/ash",
            "new\\nline",
            "ctl\\u0001",
            "\\ud83d\\ude00",
            "a,b",
            "auth0",
            "au\\u0074h0",
            "org-1",
            "true",
            "0",
            "x@y.z",
            "Zoë",
        ]);
        format!("\"{s}\"")
    }

    fn number(&mut self) -> String {
        self.pick(&[
            "0",
            "-0",
            "7",
            "-3",
            "1.5",
            "2.50",
            "1e21",
            "1E2",
            "0.0000001",
            "123456789012345",
            "1234567890123456",
            "12345678901234567890",
            "-9007199254740993",
            "1e400",
            "5e-324",
        ])
        .to_string()
    }

    fn key(&mut self) -> String {
        let k = self.pick(&[
            "a",
            "b",
            "plan",
            "org_id",
            "organization_name",
            "organizationId",
            "auth0_org_id",
            "auth0_user_id",
            "auth0_blocked",
            "auth0_logins_count",
            "auth0_identities",
            "0",
            "10",
            "2",
            "01",
            "4294967295",
            "k\\u0061",
            "a\\\"b",
            "a_key_that_is_longer_than_forty_characters_x",
        ]);
        format!("\"{k}\"")
    }

    fn value(&mut self, depth: u32) -> String {
        match self.0.u8(..if depth > 2 { 5 } else { 7 }) {
            0 | 1 => self.string(),
            2 => self.number(),
            3 => self.pick(&["true", "false"]).to_string(),
            4 => "null".to_string(),
            5 => {
                let n = self.0.usize(..4);
                let items: Vec<String> = (0..n).map(|_| self.value(depth + 1)).collect();
                format!("[{}{}]", items.join(&format!(",{}", self.ws())), self.ws())
            }
            _ => self.object(depth + 1, 4),
        }
    }

    fn object(&mut self, depth: u32, max: usize) -> String {
        let n = self.0.usize(..=max);
        let entries: Vec<String> = (0..n)
            .map(|_| {
                let (k, ws, v) = (self.key(), self.ws(), self.value(depth));
                format!("{k}{ws}:{}{v}", self.ws())
            })
            .collect();
        format!("{{{}{}}}", self.ws(), entries.join(","))
    }

    fn identities(&mut self) -> String {
        let n = self.0.usize(..3);
        let items: Vec<String> = (0..n)
            .map(|_| match self.0.u8(..6) {
                0 => self.value(2),
                _ => {
                    let mut fields = vec![
                        format!(
                            "\"provider\":{}",
                            self.pick(&["\"auth0\"", "\"google-oauth2\"", "\"au\\u0074h0\"", "1"])
                        ),
                        format!(
                            "\"isSocial\":{}",
                            self.pick(&["false", "true", "\"false\"", "null"])
                        ),
                        format!("\"connection\":{}", self.value(3)),
                        format!("\"user_id\":{}", self.value(3)),
                    ];
                    fields.truncate(1 + self.0.usize(..4));
                    self.0.shuffle(&mut fields);
                    format!("{{{}}}", fields.join(","))
                }
            })
            .collect();
        format!("[{}]", items.join(","))
    }

    fn line(&mut self) -> String {
        let mut fields: Vec<String> = Vec::new();
        let mut add = |g: &mut Self, key: &str, value: String| {
            fields.push(format!("\"{key}\"{}:{}{value}", g.ws(), g.ws()));
        };
        if self.0.u8(..10) > 0 {
            let email = self.pick(&["\"a@x.io\"", "\"A\\u0040x\"", "\"\"", "5", "\"é@x\""]);
            add(self, "email", email.to_string());
        }
        for key in [
            "user_id",
            "email_verified",
            "given_name",
            "family_name",
            "name",
            "blocked",
            "created_at",
            "updated_at",
            "last_login",
            "logins_count",
            "picture",
        ] {
            if self.0.bool() {
                let v = match key {
                    "blocked" => self.pick(&["true", "false", "\"true\""]).to_string(),
                    "user_id" if self.0.u8(..20) == 0 => format!("\"{}\"", "u".repeat(129)),
                    _ => self.value(1),
                };
                add(self, key, v);
            }
        }
        for key in ["user_metadata", "app_metadata"] {
            match self.0.u8(..5) {
                0 => {}
                1 => {
                    let v = self.value(1);
                    add(self, key, v);
                }
                _ => {
                    let v = self.object(1, 6);
                    add(self, key, v);
                }
            }
        }
        if self.0.bool() {
            let v = self.identities();
            add(self, "identities", v);
        }
        if self.0.u8(..30) == 0 {
            add(self, "email", "\"dup@x\"".to_string());
        }
        self.0.shuffle(&mut fields);
        format!("{{{}{}}}", fields.join(","), self.ws())
    }
}

#[test]
fn random_lines_agree_with_the_general_path() {
    let mut g = Gen(Rng::with_seed(9));
    let mut hits = 0;
    let total = 40_000;
    for _ in 0..total {
        let line = g.line();
        hits += usize::from(check(&line));
    }
    // The generator is full of oddities; still, many lines must be fast.
    assert!(
        hits > total / 10,
        "only {hits} of {total} lines on the fast path"
    );
}

#[test]
fn bad_bytes_are_left_to_the_general_path() {
    let good = br#"{"email":"a@b","user_metadata":{"k":"v"}}"#;
    assert!(fast(good, false).is_some());
    for bad in [
        &b"{\"email\":\"a\xff@b\"}"[..],
        b"{\"email\":\"a@b\",\"picture\":\"\xc3\"}",
        b"\xef\xbb\xbf{\"email\":\"a@b\"}",
        b"{\"email\":\"a\nb\"}",
    ] {
        assert_eq!(fast(bad, false), None, "{}", String::from_utf8_lossy(bad));
    }
    // A huge line: a 2 MiB metadata value (over the limit, so general).
    let huge = format!(
        r#"{{"email":"a@b","user_metadata":{{"k":"{}"}}}}"#,
        "x".repeat(2 << 20)
    );
    assert_eq!(fast(huge.as_bytes(), false), None);
}
