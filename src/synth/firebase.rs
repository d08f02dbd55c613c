//! `firebase-json`: a `firebase auth:export` file, `{"users":[...]}` with one
//! user object per line (about 500 bytes per user).
//!
//! Dirty users (round-robin over [`FIREBASE_CLASSES`]): `no_email` (email
//! absent, empty or blank; a third of them are also disabled), `disabled`,
//! `unicode_name` (non-ASCII `displayName`), `no_password` (no
//! `passwordHash`/`salt`; signs in with Google only). Clean users have an
//! email, a password hash + salt and an ASCII display name (some with commas
//! or quotes), and are never disabled.

use std::io::{self, Write};

use super::encode::{json_str, push_b64_random, push_u64, push_u64_padded, ALNUM};
use super::names::{DISPLAY_TRICKY, DISPLAY_UNICODE, DOMAINS, FIRST_ASCII, LAST_ASCII};
use super::plan::DirtyPlan;
use super::rng::Rng;
use super::truth::{Counts, Truth};
use super::{SynthFormat, SynthSpec};

/// Feature classes counted in `Truth.classes` (rows having the feature).
pub const FIREBASE_CLASSES: [&str; 4] = ["no_email", "disabled", "unicode_name", "no_password"];

const STREAM_ROW: u64 = 0x6669_7265_6261_7365; // "firebase"
const DIGITS: &[u8] = b"0123456789";
/// 2016-01-01T00:00:00Z in ms.
const EPOCH_2016_MS: u64 = 1_451_606_400_000;
const EIGHT_YEARS_MS: u64 = 8 * 365 * 24 * 3600 * 1000;

#[derive(Default)]
struct Tally {
    no_email: u64,
    disabled: u64,
    unicode: u64,
    no_password: u64,
    skipped_no_email: u64,
    skipped_disabled: u64,
    scrypt_warnings: u64,
}

fn push_phone(out: &mut Vec<u8>, rng: &mut Rng) {
    out.extend_from_slice(b"+1555");
    rng.push_chars(out, DIGITS, 7);
}

/// Howard Hinnant's days → civil date.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of a ms epoch.
fn push_iso(out: &mut Vec<u8>, ms: u64) {
    let secs = ms / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let sod = secs % 86_400;
    push_u64_padded(out, y.max(0) as u64, 4);
    out.push(b'-');
    push_u64_padded(out, u64::from(m), 2);
    out.push(b'-');
    push_u64_padded(out, u64::from(d), 2);
    out.push(b'T');
    push_u64_padded(out, sod / 3600, 2);
    out.push(b':');
    push_u64_padded(out, sod / 60 % 60, 2);
    out.push(b':');
    push_u64_padded(out, sod % 60, 2);
    out.push(b'.');
    push_u64_padded(out, ms % 1000, 3);
    out.push(b'Z');
}

fn push_email(out: &mut Vec<u8>, i: u64) {
    out.extend_from_slice(b"user");
    push_u64(out, i);
    out.extend_from_slice(b"@example");
    push_u64(out, i % DOMAINS);
    out.extend_from_slice(b".com");
}

fn write_user(
    i: u64,
    class: Option<u64>,
    seed: u64,
    out: &mut Vec<u8>,
    s: &mut Vec<u8>,
    t: &mut Tally,
) {
    let mut rng = Rng::for_row(seed, STREAM_ROW, i);
    let no_email = class == Some(0);
    let disabled = class == Some(1) || (no_email && rng.below(3) == 0);
    let unicode = class == Some(2);
    let no_password = class == Some(3);

    out.extend_from_slice(b"{\"localId\":\"");
    rng.push_chars(out, ALNUM, 28);
    out.push(b'"');

    // email
    let has_email = !no_email;
    s.clear();
    if no_email {
        match rng.below(3) {
            0 => {}
            1 => out.extend_from_slice(b",\"email\":\"\""),
            _ => out.extend_from_slice(b",\"email\":\"  \""),
        }
    } else {
        push_email(s, i);
        out.extend_from_slice(b",\"email\":\"");
        out.extend_from_slice(s);
        out.push(b'"');
    }
    out.extend_from_slice(if has_email && rng.per_mille(700) {
        b",\"emailVerified\":true"
    } else {
        b",\"emailVerified\":false"
    });

    let has_password = !no_password && has_email;
    if has_password {
        out.extend_from_slice(b",\"passwordHash\":\"");
        push_b64_random(out, &mut rng, 64, true);
        out.extend_from_slice(b"\",\"salt\":\"");
        push_b64_random(out, &mut rng, 12, true);
        out.push(b'"');
    }

    let created = EPOCH_2016_MS + rng.below(EIGHT_YEARS_MS);
    let last = created + rng.below(EIGHT_YEARS_MS / 8);
    out.extend_from_slice(b",\"lastSignedInAt\":\"");
    push_u64(out, last);
    out.extend_from_slice(b"\",\"createdAt\":\"");
    push_u64(out, created);
    out.push(b'"');

    // displayName
    let mut display: Option<String> = None;
    if unicode {
        display = rng.pick(DISPLAY_UNICODE).map(|d| (*d).to_string());
    } else {
        match rng.below(100) {
            0..=9 => {}
            10..=14 => display = rng.pick(DISPLAY_TRICKY).map(|d| (*d).to_string()),
            _ => {
                let f = rng.pick(FIRST_ASCII).copied().unwrap_or("Ann");
                let l = rng.pick(LAST_ASCII).copied().unwrap_or("Lee");
                display = Some(format!("{f} {l}"));
            }
        }
    }
    if let Some(d) = &display {
        out.extend_from_slice(b",\"displayName\":");
        json_str(out, d);
    }

    let photo = rng.per_mille(200);
    let mut photo_url = Vec::new();
    if photo {
        photo_url.extend_from_slice(b"https://lh3.googleusercontent.com/a/");
        rng.push_chars(&mut photo_url, ALNUM, 24);
        out.extend_from_slice(b",\"photoUrl\":\"");
        out.extend_from_slice(&photo_url);
        out.push(b'"');
    }

    let has_phone = !has_email || rng.per_mille(200);
    let mut phone = Vec::new();
    if has_phone {
        push_phone(&mut phone, &mut rng);
        out.extend_from_slice(b",\"phoneNumber\":\"");
        out.extend_from_slice(&phone);
        out.push(b'"');
    }

    // providerUserInfo
    out.extend_from_slice(b",\"providerUserInfo\":[");
    let mut first = true;
    let mut sep = |out: &mut Vec<u8>| {
        if !first {
            out.push(b',');
        }
        first = false;
    };
    if has_password {
        sep(out);
        out.extend_from_slice(b"{\"providerId\":\"password\",\"rawId\":\"");
        out.extend_from_slice(s);
        out.extend_from_slice(b"\",\"email\":\"");
        out.extend_from_slice(s);
        out.extend_from_slice(b"\"}");
    }
    if has_email && (!has_password || rng.per_mille(120)) {
        sep(out);
        out.extend_from_slice(b"{\"providerId\":\"google.com\",\"rawId\":\"1");
        rng.push_chars(out, DIGITS, 20);
        out.extend_from_slice(b"\",\"email\":\"");
        out.extend_from_slice(s);
        out.push(b'"');
        if let Some(d) = &display {
            out.extend_from_slice(b",\"displayName\":");
            json_str(out, d);
        }
        if photo {
            out.extend_from_slice(b",\"photoUrl\":\"");
            out.extend_from_slice(&photo_url);
            out.push(b'"');
        }
        out.push(b'}');
    }
    if !has_email {
        sep(out);
        out.extend_from_slice(b"{\"providerId\":\"phone\",\"rawId\":\"");
        out.extend_from_slice(&phone);
        out.extend_from_slice(b"\",\"phoneNumber\":\"");
        out.extend_from_slice(&phone);
        out.extend_from_slice(b"\"}");
    }
    out.push(b']');

    // customAttributes: a JSON *string* holding a JSON object.
    match rng.below(100) {
        0..=7 => out.extend_from_slice(br#","customAttributes":"{\"role\":\"admin\"}""#),
        8..=14 => out
            .extend_from_slice(br#","customAttributes":"{\"role\":\"member\",\"tier\":\"gold\"}""#),
        _ => {}
    }

    if rng.per_mille(50) {
        out.extend_from_slice(b",\"mfaInfo\":[{\"mfaEnrollmentId\":\"");
        rng.push_chars(out, ALNUM, 28);
        out.extend_from_slice(b"\",\"displayName\":\"Work phone\",\"phoneInfo\":\"");
        push_phone(out, &mut rng);
        out.extend_from_slice(b"\",\"enrolledAt\":\"");
        push_iso(out, created + rng.below(EIGHT_YEARS_MS / 16));
        out.extend_from_slice(b"\"}]");
    }

    if disabled {
        out.extend_from_slice(b",\"disabled\":true");
    }
    out.push(b'}');

    // Tally (features, then what a default export does: no-email first).
    t.no_email += u64::from(no_email);
    t.disabled += u64::from(disabled);
    t.unicode += u64::from(display.as_deref().is_some_and(|d| !d.is_ascii()));
    t.no_password += u64::from(!has_password);
    if no_email {
        t.skipped_no_email += 1;
    } else if disabled {
        t.skipped_disabled += 1;
    } else if has_password {
        t.scrypt_warnings += 1;
    }
}

pub(crate) fn write<W: Write>(spec: &SynthSpec, w: &mut W) -> io::Result<Truth> {
    let plan = DirtyPlan::new(spec.users, spec.dirty, spec.seed);
    let mut cursor = plan.cursor();
    let mut tally = Tally::default();
    let mut out = Vec::with_capacity(64 * 1024);
    let mut scratch = Vec::with_capacity(128);

    out.extend_from_slice(b"{\"users\":[\n");
    for i in 0..spec.users {
        let class = cursor.check(i).map(|s| s % FIREBASE_CLASSES.len() as u64);
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        write_user(i, class, spec.seed, &mut out, &mut scratch, &mut tally);
        if out.len() >= 60 * 1024 {
            w.write_all(&out)?;
            out.clear();
        }
    }
    if spec.users > 0 {
        out.push(b'\n');
    }
    out.extend_from_slice(b"]}\n");
    w.write_all(&out)?;

    let mut classes = Counts::zeroed(&FIREBASE_CLASSES);
    classes.set("no_email", tally.no_email);
    classes.set("disabled", tally.disabled);
    classes.set("unicode_name", tally.unicode);
    classes.set("no_password", tally.no_password);
    let skipped = tally.skipped_no_email + tally.skipped_disabled;
    let mut expected = Counts::default();
    expected.set("skipped_no_email", tally.skipped_no_email);
    expected.set("skipped_disabled", tally.skipped_disabled);
    expected.set("exported", spec.users - skipped);
    expected.set("missing_scrypt_parameters", tally.scrypt_warnings);
    Ok(Truth {
        format: SynthFormat::FirebaseJson,
        users: spec.users,
        dirty_rows: None,
        classes,
        rules: Counts::default(),
        expected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        let mut out = Vec::new();
        push_iso(&mut out, EPOCH_2016_MS);
        assert_eq!(out, b"2016-01-01T00:00:00.000Z");
        out.clear();
        // 2024-02-29T13:45:07.089Z
        push_iso(&mut out, 1_709_214_307_089);
        assert_eq!(out, b"2024-02-29T13:45:07.089Z");
    }

    #[test]
    fn users_are_json_objects_of_expected_size() {
        let spec = SynthSpec {
            format: SynthFormat::FirebaseJson,
            users: 2000,
            dirty: 0.04,
            seed: 3,
            orgs: 1,
        };
        let mut buf = Vec::new();
        let truth = match write(&spec, &mut buf) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        let per_user = buf.len() as u64 / spec.users;
        assert!((420..=540).contains(&per_user), "{per_user} bytes/user");
        let v: serde_json::Value = match serde_json::from_slice(&buf) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(v["users"].as_array().map(Vec::len), Some(2000));
        assert_eq!(
            truth.expected.get("exported")
                + truth.expected.get("skipped_no_email")
                + truth.expected.get("skipped_disabled"),
            2000
        );
    }
}
