//! The `metadata` cell of an Auth0 user's users.csv row (export-and-package.md
//! §4.9): `user_metadata` overlaid with `app_metadata`, the `auth0_*` keys,
//! every value stringified, reserved org keys renamed `auth0_…`, written as
//! compact JSON text directly into one `String`.
//!
//! JavaScript object semantics are kept exactly: a key set twice keeps its
//! first position and takes the last value, array-index keys (`"0"`, `"42"`)
//! come first in ascending order, and renaming happens after merging (so
//! `org_id` and an existing `auth0_org_id` share one slot, the later one in
//! object order winning).

use serde_json::{Map, Value};

use super::js::{array_index, push_js_json, push_js_number, push_json_string, truthy};
use super::UserRecord;
use crate::sources::auth0::raw_line::Raw;

/// Metadata keys the WorkOS import reads as organization fields; they are
/// renamed with the `auth0_` prefix.
pub const RESERVED_KEYS: [&str; 6] = [
    "organization_id",
    "organization_name",
    "org_id",
    "org_name",
    "organizationId",
    "organizationName",
];

/// The keys the exporter sets, in the order it sets them.
const AUTH0_KEYS: [&str; 8] = [
    "auth0_user_id",
    "auth0_created_at",
    "auth0_updated_at",
    "auth0_identities",
    "auth0_last_login",
    "auth0_logins_count",
    "auth0_blocked",
    "auth0_metadata_only",
];

/// One metadata value before stringification; `V` is a value of the user
/// record (`&Value`, or a [`Raw`] job-line value) and `I` its identities.
#[derive(Debug, Clone, Copy)]
pub(super) enum Meta<V, I> {
    /// A value from the user object (`null` stringifies to empty).
    Json(V),
    /// JavaScript `undefined` (stringifies to empty).
    Absent,
    /// The literal `true` of the blocked flags.
    True,
    /// `auth0_identities`: `{provider, connection, isSocial}` per identity.
    Identities(I),
}

/// A key of the final object: as is, or with the `auth0_` prefix.
#[derive(Debug, Clone, Copy)]
pub(super) enum Key<'a> {
    Plain(&'a str),
    Prefixed(&'a str),
}

impl<'a> Key<'a> {
    /// The key before any prefix.
    fn raw(self) -> &'a str {
        match self {
            Key::Plain(k) | Key::Prefixed(k) => k,
        }
    }
}

/// `user_metadata` or `app_metadata` as the merge reads it: a `Value` map,
/// or the entries of a job line read in place (unique keys).
pub(super) trait MetaObject<'a>: Copy {
    type Value: Copy;
    /// Entries in the object's order.
    fn entries(self) -> impl Iterator<Item = (&'a str, Self::Value)>;
    fn get(self, key: &str) -> Option<Self::Value>;
    fn contains_key(self, key: &str) -> bool;
    fn len(self) -> usize;
}

impl<'a> MetaObject<'a> for &'a Map<String, Value> {
    type Value = &'a Value;
    fn entries(self) -> impl Iterator<Item = (&'a str, &'a Value)> {
        self.iter().map(|(k, v)| (k.as_str(), v))
    }
    fn get(self, key: &str) -> Option<&'a Value> {
        Map::get(self, key)
    }
    fn contains_key(self, key: &str) -> bool {
        Map::contains_key(self, key)
    }
    fn len(self) -> usize {
        Map::len(self)
    }
}

impl<'a> MetaObject<'a> for &'a [(&'a str, Raw<'a>)] {
    type Value = Raw<'a>;
    fn entries(self) -> impl Iterator<Item = (&'a str, Raw<'a>)> {
        self.iter().copied()
    }
    fn get(self, key: &str) -> Option<Raw<'a>> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
    fn contains_key(self, key: &str) -> bool {
        self.iter().any(|(k, _)| *k == key)
    }
    fn len(self) -> usize {
        <[_]>::len(self)
    }
}

/// The `auth0_*` values this user gets (`None`: key not set).
fn auth0_values<U: UserRecord + ?Sized>(user: &U) -> [Option<Meta<&Value, &[Value]>>; 8] {
    let field = |k: &str| Some(user.field(k).map_or(Meta::Absent, Meta::Json));
    let identities = match user.field("identities") {
        Some(Value::Array(items)) if !items.is_empty() => Some(Meta::Identities(items.as_slice())),
        _ => None,
    };
    let last_login = user.field("last_login").filter(|v| truthy(Some(v)));
    let blocked = matches!(user.field("blocked"), Some(Value::Bool(true))).then_some(Meta::True);
    [
        field("user_id"),
        field("created_at"),
        field("updated_at"),
        identities,
        last_login.map(Meta::Json),
        // `!== undefined`: a JSON null is set (and becomes "").
        user.field("logins_count").map(Meta::Json),
        blocked,
        blocked,
    ]
}

/// The merged `{...user_metadata, ...app_metadata, auth0_*}` entries in
/// JavaScript property order (before renaming); `fixed` are the `auth0_*`
/// values in [`AUTH0_KEYS`] order.
pub(super) fn merged<'a, O: MetaObject<'a>, I: Copy>(
    um: O,
    am: O,
    fixed: [Option<Meta<O::Value, I>>; 8],
) -> Vec<(Key<'a>, Meta<O::Value, I>)> {
    let fixed_for = |k: &str| {
        if !k.starts_with("auth0_") {
            return None;
        }
        AUTH0_KEYS
            .iter()
            .position(|f| *f == k)
            .and_then(|i| fixed[i])
    };

    let mut out = Vec::with_capacity(um.len() + am.len() + AUTH0_KEYS.len());
    for (k, v) in um.entries() {
        let value = fixed_for(k)
            .or_else(|| am.get(k).map(Meta::Json))
            .unwrap_or(Meta::Json(v));
        out.push((Key::Plain(k), value));
    }
    for (k, v) in am.entries() {
        if !um.contains_key(k) {
            out.push((Key::Plain(k), fixed_for(k).unwrap_or(Meta::Json(v))));
        }
    }
    for (key, value) in AUTH0_KEYS.into_iter().zip(fixed) {
        if let Some(value) = value {
            if !um.contains_key(key) && !am.contains_key(key) {
                out.push((Key::Plain(key), value));
            }
        }
    }
    if out.iter().any(|(k, _)| array_index(k.raw()).is_some()) {
        // Stable: index keys ascending first, the rest keep their order.
        out.sort_by_key(|(k, _)| array_index(k.raw()).map_or((1, 0), |i| (0, i)));
    }
    out
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

/// Renames reserved keys in place; a renamed key that meets an existing
/// `auth0_…` key shares its slot (first position, later value).
pub(super) fn rename<M: Copy>(entries: &mut Vec<(Key<'_>, M)>) {
    // Slot of `auth0_<RESERVED_KEYS[i]>` once written.
    let mut slots: [Option<usize>; 6] = [None; 6];
    let mut write = 0;
    for read in 0..entries.len() {
        let (key, value) = entries[read];
        let k = key.raw();
        let (key, reserved) = match RESERVED_KEYS.iter().position(|r| *r == k) {
            Some(i) => (Key::Prefixed(k), Some(i)),
            None => {
                let i = k
                    .strip_prefix("auth0_")
                    .and_then(|rest| RESERVED_KEYS.iter().position(|r| *r == rest));
                (key, i)
            }
        };
        match reserved.map(|i| (i, slots[i])) {
            Some((_, Some(at))) => entries[at].1 = value,
            Some((i, None)) => {
                slots[i] = Some(write);
                entries[write] = (key, value);
                write += 1;
            }
            None => {
                entries[write] = (key, value);
                write += 1;
            }
        }
    }
    entries.truncate(write);
}

/// Appends one stringified value as a JSON string literal.
fn push_value(out: &mut String, value: Meta<&Value, &[Value]>, scratch: &mut String) {
    match value {
        Meta::Absent | Meta::Json(Value::Null) => out.push_str("\"\""),
        Meta::True | Meta::Json(Value::Bool(true)) => out.push_str("\"true\""),
        Meta::Json(Value::Bool(false)) => out.push_str("\"false\""),
        Meta::Json(Value::String(s)) => push_json_string(out, s),
        Meta::Json(Value::Number(n)) => {
            out.push('"');
            push_js_number(out, n);
            out.push('"');
        }
        Meta::Json(nested @ (Value::Array(_) | Value::Object(_))) => {
            scratch.clear();
            push_js_json(scratch, nested);
            push_json_string(out, scratch);
        }
        Meta::Identities(items) => {
            scratch.clear();
            push_identities(scratch, items, |out, identity, key| {
                identity.get(key).map(|v| push_js_json(out, v)).is_some()
            });
            push_json_string(out, scratch);
        }
    }
}

/// `JSON.stringify` of `{provider, connection, isSocial}` per identity;
/// `push(out, identity, key)` appends the value of `key` and says whether
/// there was one (JSON.stringify drops the keys whose value is undefined).
pub(super) fn push_identities<T>(
    scratch: &mut String,
    items: impl IntoIterator<Item = T>,
    mut push: impl FnMut(&mut String, &T, &str) -> bool,
) {
    scratch.push('[');
    for (i, identity) in items.into_iter().enumerate() {
        if i > 0 {
            scratch.push(',');
        }
        scratch.push('{');
        let mut first = true;
        for key in ["provider", "connection", "isSocial"] {
            let mark = scratch.len();
            if !first {
                scratch.push(',');
            }
            push_json_string(scratch, key);
            scratch.push(':');
            if push(scratch, &identity, key) {
                first = false;
            } else {
                scratch.truncate(mark);
            }
        }
        scratch.push('}');
    }
    scratch.push(']');
}

/// Size bounds of a metadata text, enough to prove it within WorkOS's
/// limits without reading it again (byte lengths bound character counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct MetaBounds {
    pub keys: usize,
    /// Longest key and longest value literal (quotes excluded), in bytes.
    pub key_bytes: usize,
    pub value_bytes: usize,
}

impl MetaBounds {
    /// True when no limit can be broken (so `check_metadata_json` of the
    /// text finds nothing).
    pub fn surely_within_limits(&self) -> bool {
        use crate::package::limits::{
            MAX_METADATA_KEYS, MAX_METADATA_KEY_CHARS, MAX_METADATA_VALUE_CHARS,
        };
        self.keys <= MAX_METADATA_KEYS
            && self.key_bytes <= MAX_METADATA_KEY_CHARS
            && self.value_bytes <= MAX_METADATA_VALUE_CHARS
    }
}

/// Writes the renamed entries as a JSON object into `out`; `push` appends a
/// value as a JSON string literal (`None`: give up, `out` is then unusable).
pub(super) fn write_object<M: Copy>(
    out: &mut String,
    entries: Vec<(Key<'_>, M)>,
    mut push: impl FnMut(&mut String, M) -> Option<()>,
) -> Option<MetaBounds> {
    let mut bounds = MetaBounds {
        keys: entries.len(),
        ..MetaBounds::default()
    };
    out.push('{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let key_start = out.len();
        match key {
            Key::Plain(k) => push_json_string(out, k),
            // Reserved keys are plain ASCII: nothing to escape.
            Key::Prefixed(k) => {
                out.push_str("\"auth0_");
                out.push_str(k);
                out.push('"');
            }
        }
        bounds.key_bytes = bounds.key_bytes.max(out.len() - key_start - 2);
        out.push(':');
        let value_start = out.len();
        push(out, value)?;
        bounds.value_bytes = bounds.value_bytes.max(out.len() - value_start - 2);
    }
    out.push('}');
    Some(bounds)
}

/// The metadata JSON text of `user` (never empty: `auth0_user_id`,
/// `auth0_created_at` and `auth0_updated_at` are always present).
pub fn user_metadata_json<U: UserRecord + ?Sized>(user: &U) -> String {
    let empty = &*EMPTY;
    let um = user
        .field("user_metadata")
        .and_then(Value::as_object)
        .unwrap_or(empty);
    let am = user
        .field("app_metadata")
        .and_then(Value::as_object)
        .unwrap_or(empty);
    let mut entries = merged(um, am, auth0_values(user));
    rename(&mut entries);
    let mut out = String::with_capacity(64 + 48 * entries.len());
    let mut scratch = String::new();
    let _ = write_object(&mut out, entries, |out, value| {
        push_value(out, value, &mut scratch);
        Some(())
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(user: Value) -> Value {
        serde_json::from_str(&user_metadata_json(&user)).unwrap()
    }

    #[test]
    fn appendix_b_user_a_bytes() {
        let user = json!({
            "user_id": "auth0|a",
            "user_metadata": {"org_id": "o", "nested": {"a": 1}, "flag": false, "n": null},
            "app_metadata": {"plan": "pro"},
            "created_at": "2020-01-01T00:00:00.000Z",
            "updated_at": "2020-01-02T00:00:00.000Z",
            "identities": [{"provider": "auth0", "connection": "Username-Password-Authentication", "isSocial": false, "user_id": "a"}],
            "last_login": "2021-01-01",
            "logins_count": 0
        });
        assert_eq!(
            user_metadata_json(&user),
            r#"{"auth0_org_id":"o","nested":"{\"a\":1}","flag":"false","n":"","plan":"pro","auth0_user_id":"auth0|a","auth0_created_at":"2020-01-01T00:00:00.000Z","auth0_updated_at":"2020-01-02T00:00:00.000Z","auth0_identities":"[{\"provider\":\"auth0\",\"connection\":\"Username-Password-Authentication\",\"isSocial\":false}]","auth0_last_login":"2021-01-01","auth0_logins_count":"0"}"#
        );
    }

    #[test]
    fn minimal_user_has_the_three_fixed_keys() {
        assert_eq!(
            user_metadata_json(&json!({})),
            r#"{"auth0_user_id":"","auth0_created_at":"","auth0_updated_at":""}"#
        );
        // Not an object at all: same result, no panic.
        assert_eq!(
            user_metadata_json(&json!("x")),
            r#"{"auth0_user_id":"","auth0_created_at":"","auth0_updated_at":""}"#
        );
    }

    #[test]
    fn app_metadata_wins_and_keeps_first_position() {
        let m = user_metadata_json(&json!({
            "user_id": "u",
            "user_metadata": {"a": "user", "b": 1},
            "app_metadata": {"c": 2.5, "a": "app"}
        }));
        assert!(
            m.starts_with(r#"{"a":"app","b":"1","c":"2.5","auth0_user_id":"u""#),
            "{m}"
        );
    }

    #[test]
    fn user_metadata_cannot_override_exporter_keys() {
        let m = meta(json!({
            "user_id": "real",
            "user_metadata": {"auth0_user_id": "fake", "auth0_blocked": "maybe", "x": 1},
            "app_metadata": {"auth0_logins_count": 99}
        }));
        let keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        // Position from user_metadata, value from the exporter.
        assert_eq!(
            keys,
            [
                "auth0_user_id",
                "auth0_blocked",
                "x",
                "auth0_logins_count",
                "auth0_created_at",
                "auth0_updated_at"
            ]
        );
        assert_eq!(m["auth0_user_id"], "real");
        // Not blocked: the metadata's own value stays.
        assert_eq!(m["auth0_blocked"], "maybe");
        // No logins_count on the user: the metadata's own value stays.
        assert_eq!(m["auth0_logins_count"], "99");
    }

    #[test]
    fn reserved_keys_from_both_objects_are_renamed() {
        let m = user_metadata_json(&json!({
            "user_id": "u",
            "user_metadata": {"organization_id": "oi", "organizationName": "On"},
            "app_metadata": {"org_name": "n", "organizationId": 7, "org_id": null, "organization_name": true}
        }));
        assert_eq!(
            m,
            r#"{"auth0_organization_id":"oi","auth0_organizationName":"On","auth0_org_name":"n","auth0_organizationId":"7","auth0_org_id":"","auth0_organization_name":"true","auth0_user_id":"u","auth0_created_at":"","auth0_updated_at":""}"#
        );
    }

    #[test]
    fn renamed_key_meeting_an_existing_prefixed_key() {
        // JS: raw {auth0_org_id: "y" (pos 0), org_id: "o"}; renaming writes
        // auth0_org_id twice → first position, value of the later entry.
        let m = user_metadata_json(&json!({
            "user_id": "u",
            "user_metadata": {"auth0_org_id": "x", "org_id": "o", "k": 1},
            "app_metadata": {"auth0_org_id": "y"}
        }));
        assert!(
            m.starts_with(r#"{"auth0_org_id":"o","k":"1","auth0_user_id""#),
            "{m}"
        );
        let m = user_metadata_json(&json!({
            "user_metadata": {"org_id": "o", "auth0_org_id": "x"}
        }));
        assert!(
            m.starts_with(r#"{"auth0_org_id":"x","auth0_user_id""#),
            "{m}"
        );
    }

    #[test]
    fn index_keys_come_first_like_a_javascript_object() {
        let user: Value = serde_json::from_str(
            r#"{"user_id":"u","user_metadata":{"b":1,"10":"ten","z":{"9":0,"a":1,"1":2}},"app_metadata":{"2":"two","a":3}}"#,
        )
        .unwrap();
        assert_eq!(
            user_metadata_json(&user),
            r#"{"2":"two","10":"ten","b":"1","z":"{\"1\":2,\"9\":0,\"a\":1}","a":"3","auth0_user_id":"u","auth0_created_at":"","auth0_updated_at":""}"#
        );
    }

    #[test]
    fn non_object_metadata_is_ignored() {
        for bad in [json!("abc"), json!([1, 2]), json!(null), json!(5)] {
            let m = user_metadata_json(
                &json!({"user_id": "u", "user_metadata": bad, "app_metadata": bad}),
            );
            assert_eq!(
                m,
                r#"{"auth0_user_id":"u","auth0_created_at":"","auth0_updated_at":""}"#
            );
        }
    }

    #[test]
    fn blocked_identities_last_login_and_counts() {
        let m = meta(json!({
            "user_id": "u", "blocked": true, "last_login": "", "logins_count": null,
            "identities": [{"provider": "google-oauth2", "isSocial": true, "connection": null}, null]
        }));
        assert_eq!(m["auth0_blocked"], "true");
        assert_eq!(m["auth0_metadata_only"], "true");
        assert!(
            m.get("auth0_last_login").is_none(),
            "falsy last_login is left out"
        );
        assert_eq!(m["auth0_logins_count"], "");
        assert_eq!(
            m["auth0_identities"],
            r#"[{"provider":"google-oauth2","connection":null,"isSocial":true},{}]"#
        );
        let m = meta(json!({"user_id": "u", "blocked": "true", "identities": []}));
        assert!(m.get("auth0_blocked").is_none());
        assert!(m.get("auth0_identities").is_none());
    }

    #[test]
    fn values_are_stringified_like_javascript() {
        let m = user_metadata_json(&json!({
            "user_metadata": {
                "big": 1e21, "small": 1e-7, "f": 1.0, "neg0": -0.0, "huge": 12345678901234567890u64,
                "arr": [1, "two", null, {"x": [true]}], "uni": "Zoë 😀 \u{2028}", "ctl": "a\u{1}b"
            }
        }));
        assert!(
            m.starts_with(
                r#"{"big":"1e+21","small":"1e-7","f":"1","neg0":"0","huge":"12345678901234567000","arr":"[1,\"two\",null,{\"x\":[true]}]","uni":"Zoë 😀 "#
            ),
            "{m}"
        );
        assert!(m.contains(r#""ctl":"a\u0001b""#), "{m}");
    }

    #[test]
    fn huge_nested_metadata() {
        let mut deep = json!("leaf");
        for _ in 0..50 {
            deep = json!({"d": deep});
        }
        let mut um = Map::new();
        for i in 0..5000 {
            um.insert(format!("k{i}"), json!(i));
        }
        um.insert("deep".into(), deep);
        let m = meta(json!({"user_id": "u", "user_metadata": um}));
        let obj = m.as_object().unwrap();
        assert_eq!(obj.len(), 5001 + 3);
        assert_eq!(obj["k4999"], "4999");
        let deep_text = obj["deep"].as_str().unwrap();
        let expected = format!("{}\"leaf\"{}", r#"{"d":"#.repeat(50), "}".repeat(50));
        assert_eq!(deep_text, expected);
    }
}
