//! The fast path of the bulk users export (§4.6): the `users.csv` row and
//! the `workos_upload/users.csv` row of an export-job line read in place
//! ([`crate::sources::auth0::raw_line`]), written straight into the output
//! buffers with no `Value`, no `MappedUser` and no metadata map.
//!
//! It covers the common user only — exported, not blocked, within every
//! size limit, so no skipped-user or warning record — and says `false` for
//! anything else (the line is then mapped by the general path from a
//! parsed record). Every rule is the general path's, shared where possible:
//! the metadata merge and renaming of [`super::metadata`], the name split,
//! JavaScript's `String()` and `JSON.stringify`; values the scanner did not
//! read as plain (escaped strings, unusual numbers, non-canonical nested
//! JSON) are converted by serde_json exactly as the general path reads them.

use std::borrow::Cow;

use super::js::{push_js_number, push_json_string};
use super::metadata::{merged, push_identities, rename, write_object, Meta, MetaBounds};
use super::split_name_parts;
use crate::package::csv_writer::{push_cell, push_field};
use crate::package::limits::{check_metadata_json, UserCells, MAX_EXTERNAL_ID_CHARS};
use crate::package::upload::push_user_cells;
use crate::sources::auth0::raw_line::{field, parse, Raw, RawIdentity, RawLine};

/// Reused buffers of the fast path (one per encoding task).
#[derive(Debug, Default)]
pub struct RawScratch {
    metadata: String,
    nested: String,
}

/// Output of the fast path for one run of lines.
pub struct RowSink<'o> {
    /// `users.csv` records.
    pub users: &'o mut Vec<u8>,
    /// `workos_upload/users.csv` records.
    pub upload: &'o mut Vec<u8>,
    /// The external id of each upload record, concatenated.
    pub upload_ids: &'o mut String,
    /// The end of each id in `upload_ids`.
    pub upload_id_ends: &'o mut Vec<usize>,
}

/// Writes the rows of a trimmed job line when the fast path is sure of
/// them (see the module docs); `false` writes nothing.
pub fn encode_exported_user(
    line: &[u8],
    include_federated: bool,
    sink: &mut RowSink<'_>,
    scratch: &mut RawScratch,
) -> bool {
    let Some(user) = parse(line) else {
        return false;
    };
    encode(&user, include_federated, sink, scratch).is_some()
}

fn encode(
    user: &RawLine<'_>,
    include_federated: bool,
    sink: &mut RowSink<'_>,
    scratch: &mut RawScratch,
) -> Option<()> {
    // The general path's verdict: skipped users and blocked ones (they get
    // a warning) are left to it.
    let email = user.get(field::EMAIL)?.str_text()?;
    if email.is_empty()
        || (!include_federated && is_federated(user))
        || user.get(field::BLOCKED) == Some(Raw::Bool(true))
    {
        return None;
    }
    let cell = |at: usize| user.get(at).map_or(Some(Cow::Borrowed("")), Raw::cell_text);
    let given = user.get(field::GIVEN_NAME);
    let family = user.get(field::FAMILY_NAME);
    let (first_name, last_name) = match user.get(field::NAME) {
        Some(name @ Raw::Str { .. })
            if !truthy(given)? && !truthy(family)? && name != EMPTY_STR =>
        {
            split_owned(name.str_text()?)
        }
        _ => (cell(field::GIVEN_NAME)?, cell(field::FAMILY_NAME)?),
    };
    let email_verified = cell(field::EMAIL_VERIFIED)?;
    let external_id = cell(field::USER_ID)?;
    let cells = UserCells {
        email: &email,
        first_name: &first_name,
        last_name: &last_name,
        external_id: &external_id,
    };
    if cells.oversized().is_some() || external_id.len() > MAX_EXTERNAL_ID_CHARS {
        return None;
    }
    let bounds = metadata_json(user, scratch)?;
    if !bounds.surely_within_limits() && !check_metadata_json(&scratch.metadata).within_limits() {
        return None;
    }

    // users.csv in USERS_HEADER order: password columns and the org
    // columns empty.
    let users = &mut *sink.users;
    let e = push_cell(users, &email);
    users.extend_from_slice(b",,,");
    let f = push_cell(users, &first_name);
    let l = push_cell(users, &last_name);
    let v = push_cell(users, &email_verified);
    let x = push_cell(users, &external_id);
    push_field(users, &scratch.metadata);
    users.extend_from_slice(b",,,,\n");
    if !external_id.is_empty() {
        let no_hash = x.end..x.end;
        push_user_cells(sink.upload, users, [x, e, v, f, l, no_hash]);
        sink.upload_ids.push_str(&external_id);
        sink.upload_id_ends.push(sink.upload_ids.len());
    }
    Some(())
}

const EMPTY_STR: Raw<'static> = Raw::Str {
    quoted: "\"\"",
    escaped: false,
};

fn truthy(v: Option<Raw<'_>>) -> Option<bool> {
    v.map_or(Some(false), Raw::truthy)
}

/// [`split_name_parts`] of a name that may be borrowed or decoded.
fn split_owned(name: Cow<'_, str>) -> (Cow<'_, str>, Cow<'_, str>) {
    match name {
        Cow::Borrowed(name) => {
            let (first, last) = split_name_parts(name);
            (Cow::Borrowed(first), last)
        }
        Cow::Owned(name) => {
            let (first, last) = split_name_parts(&name);
            (Cow::Owned(first.to_string()), Cow::Owned(last.into_owned()))
        }
    }
}

/// The §4.9 federated-user test ([`super::is_federated`]).
fn is_federated(user: &RawLine<'_>) -> bool {
    !user.identities.is_empty()
        && !user.identities.iter().any(|id| {
            id.get("provider").and_then(Raw::str_text).as_deref() == Some("auth0")
                && id.get("isSocial") == Some(Raw::Bool(false))
        })
}

/// The metadata text of `user` into `scratch.metadata`
/// ([`super::user_metadata_json`]).
fn metadata_json(user: &RawLine<'_>, scratch: &mut RawScratch) -> Option<MetaBounds> {
    let value = |at: usize| Some(user.get(at).map_or(Meta::Absent, Meta::Json));
    let identities = match user.get(field::IDENTITIES) {
        Some(Raw::Array { .. }) if !user.identities.is_empty() => {
            Some(Meta::Identities(user.identities.as_slice()))
        }
        _ => None,
    };
    let last_login = match user.get(field::LAST_LOGIN) {
        Some(v) if v.truthy()? => Some(Meta::Json(v)),
        _ => None,
    };
    let blocked = (user.get(field::BLOCKED) == Some(Raw::Bool(true))).then_some(Meta::True);
    let fixed = [
        value(field::USER_ID),
        value(field::CREATED_AT),
        value(field::UPDATED_AT),
        identities,
        last_login,
        user.get(field::LOGINS_COUNT).map(Meta::Json),
        blocked,
        blocked,
    ];
    let mut entries = merged(
        user.user_metadata.as_slice(),
        user.app_metadata.as_slice(),
        fixed,
    );
    rename(&mut entries);
    let RawScratch { metadata, nested } = scratch;
    metadata.clear();
    write_object(metadata, entries, |out, value| {
        push_value(out, value, nested)
    })
}

/// Appends one stringified value as a JSON string literal.
fn push_value(
    out: &mut String,
    value: Meta<Raw<'_>, &[RawIdentity<'_>]>,
    nested: &mut String,
) -> Option<()> {
    match value {
        Meta::Absent | Meta::Json(Raw::Null) => out.push_str("\"\""),
        Meta::True | Meta::Json(Raw::Bool(true)) => out.push_str("\"true\""),
        Meta::Json(Raw::Bool(false)) => out.push_str("\"false\""),
        // No escapes, no control characters: already JSON.stringify's text.
        Meta::Json(Raw::Str {
            quoted,
            escaped: false,
        }) => out.push_str(quoted),
        Meta::Json(s @ Raw::Str { .. }) => push_json_string(out, &s.str_text()?),
        Meta::Json(Raw::Number { text, simple }) => {
            out.push('"');
            if simple {
                out.push_str(text);
            } else {
                push_js_number(out, &serde_json::from_str(text).ok()?);
            }
            out.push('"');
        }
        Meta::Json(value @ (Raw::Array { .. } | Raw::Object { .. })) => {
            nested.clear();
            value.push_js_json(nested)?;
            push_json_string(out, nested);
        }
        Meta::Identities(items) => {
            nested.clear();
            let mut ok = true;
            push_identities(nested, items, |out, identity, key| {
                match identity.get(key) {
                    Some(v) => {
                        ok &= v.push_js_json(out).is_some();
                        true
                    }
                    None => false,
                }
            });
            if !ok {
                return None;
            }
            push_json_string(out, nested);
        }
    }
    Some(())
}

#[cfg(test)]
mod tests;
