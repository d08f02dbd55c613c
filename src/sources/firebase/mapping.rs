//! The per-user mapping of a Firebase export onto the package's `users.csv`
//! (export-and-package.md §7.3–§7.4).
//!
//! DataFusion SQL maps the reader's batches ([`super::reader::user_schema`],
//! registered as the streaming table `firebase_users`) to the canonical
//! columns: trimmed email, skip reason, the display-name split, the
//! `email_verified` text, `external_id` and what to do with the password. The
//! table is a one-shot [`PartitionStream`], so the query streams batch by batch
//! in file order (one partition, no repartitioning).
//!
//! Two pieces are Rust because they are clearer there ([`MappedBatch::new`],
//! run with rayon per batch): the typed metadata JSON (§7.3 step 5: key order,
//! parsed `customAttributes`, ISO timestamps from millisecond strings) and the
//! `$firebase-scrypt$` PHC encoding (§9.2), which is checked with
//! [`check_password_hash`] so a malformed source hash is reported instead of
//! exported. Trimming is JavaScript's `String.prototype.trim` (the
//! `js_trim` UDF), since SQL `trim` only removes spaces.

use std::fmt;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::{DataType, UInt64Type};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::{SessionConfig, SessionContext};
use rayon::prelude::*;

use crate::hashes::{check_password_hash, encode_firebase_scrypt};

use super::reader::user_schema;

/// How `displayName` becomes first and last name (§7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum NameSplit {
    /// At the first space: `Ann Marie Lee` → `Ann` / `Marie Lee`.
    #[default]
    FirstSpace,
    /// At the last space: `Ann Marie Lee` → `Ann Marie` / `Lee`.
    LastSpace,
    /// The whole name is the first name.
    FirstNameOnly,
}

impl NameSplit {
    /// `(first_name, last_name)` SQL over the trimmed display name `dn`.
    /// The part after the split is trimmed too: the original kept a leading
    /// space for `Ann  Lee` (§17.16).
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            NameSplit::FirstSpace => (
                "COALESCE(split_part(dn, ' ', 1), '')",
                "CASE WHEN strpos(dn, ' ') > 0 THEN js_trim(substr(dn, strpos(dn, ' ') + 1)) ELSE '' END",
            ),
            NameSplit::LastSpace => (
                "CASE WHEN strpos(dn, ' ') > 0 \
                 THEN js_trim(left(dn, char_length(dn) - char_length(substr_index(dn, ' ', -1)) - 1)) \
                 ELSE COALESCE(dn, '') END",
                "CASE WHEN strpos(dn, ' ') > 0 THEN substr_index(dn, ' ', -1) ELSE '' END",
            ),
            NameSplit::FirstNameOnly => ("COALESCE(dn, '')", "''"),
        }
    }
}

/// Options that change the SQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct MappingOptions {
    pub name_split: NameSplit,
    pub include_disabled: bool,
    pub skip_passwords: bool,
    /// A signer key was given (hashes are encoded, not warned about).
    pub have_scrypt: bool,
}

/// The mapping query over `firebase_users`; one output row per input row,
/// in order.
pub fn mapping_sql(o: &MappingOptions) -> String {
    let (first_name, last_name) = o.name_split.sql();
    let (include_disabled, skip_passwords, have_scrypt) =
        (o.include_disabled, o.skip_passwords, o.have_scrypt);
    format!(
        "WITH u AS (
    SELECT
        user_index,
        local_id,
        js_trim(local_id)     AS uid,
        js_trim(email)        AS email,
        js_trim(display_name) AS dn,
        email_verified,
        disabled,
        js_trim(phone_number) AS phone_number,
        js_trim(photo_url)    AS photo_url,
        password_hash,
        salt,
        created_at,
        last_signed_in_at,
        custom_attributes,
        provider_user_info,
        mfa_info
    FROM firebase_users
)
SELECT
    user_index,
    local_id AS raw_local_id,
    email,
    CASE
        WHEN email IS NULL OR email = '' THEN 'no_email'
        WHEN COALESCE(disabled, false) AND NOT {include_disabled} THEN 'disabled_user'
    END AS skip_reason,
    {first_name} AS first_name,
    {last_name} AS last_name,
    CASE WHEN email_verified THEN 'true' ELSE 'false' END AS email_verified,
    COALESCE(uid, '') AS external_id,
    CASE
        WHEN {skip_passwords} OR COALESCE(password_hash, '') = '' OR COALESCE(salt, '') = '' THEN NULL
        WHEN {have_scrypt} THEN 'encode'
        ELSE 'missing_scrypt_parameters'
    END AS password_action,
    password_hash,
    salt,
    phone_number,
    photo_url,
    custom_attributes,
    provider_user_info,
    mfa_info,
    created_at,
    last_signed_in_at,
    CASE WHEN COALESCE(disabled, false) THEN 'true' END AS disabled
FROM u"
    )
}

/// JavaScript's `String.prototype.trim` whitespace: WhiteSpace and LineTerminator.
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{D}'
            | ' '
            | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
            | '\u{FEFF}'
    )
}

/// `s.trim()` as JavaScript does it.
pub fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_space)
}

fn as_utf8(a: &ArrayRef) -> DfResult<StringArray> {
    let a = if a.data_type() == &DataType::Utf8 {
        Arc::clone(a)
    } else {
        arrow::compute::cast(a, &DataType::Utf8)?
    };
    Ok(a.as_string::<i32>().clone())
}

/// The `js_trim(text)` scalar UDF.
pub fn js_trim_udf() -> ScalarUDF {
    create_udf(
        "js_trim",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| match args {
            [ColumnarValue::Array(a)] => {
                let a = as_utf8(a)?;
                let mut b = StringBuilder::with_capacity(a.len(), a.value_data().len());
                for v in a.iter() {
                    b.append_option(v.map(js_trim));
                }
                Ok(ColumnarValue::Array(Arc::new(b.finish())))
            }
            [ColumnarValue::Scalar(s)] => match s {
                ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => {
                    Ok(ColumnarValue::Scalar(ScalarValue::Utf8(
                        v.as_deref().map(|t| js_trim(t).to_string()),
                    )))
                }
                ScalarValue::Null => Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None))),
                other => Err(DataFusionError::Execution(format!(
                    "js_trim: unsupported argument {other:?}"
                ))),
            },
            _ => Err(DataFusionError::Execution(
                "js_trim takes one argument".into(),
            )),
        }),
    )
}

/// A table partition that hands out one pre-made stream, once.
struct OneShot {
    schema: arrow::datatypes::SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl fmt::Debug for OneShot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneShot(firebase_users)")
    }
}

impl PartitionStream for OneShot {
    fn schema(&self) -> &arrow::datatypes::SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = self.stream.lock().ok().and_then(|mut s| s.take());
        taken.unwrap_or_else(|| {
            let err =
                DataFusionError::Execution("the Firebase user stream can only be read once".into());
            Box::pin(RecordBatchStreamAdapter::new(
                Arc::clone(&self.schema),
                futures::stream::once(async move { Err(err) }),
            ))
        })
    }
}

/// Runs [`mapping_sql`] over `users` (batches of [`user_schema`]) and returns
/// the mapped stream, in input order.
pub async fn map_users(
    users: SendableRecordBatchStream,
    options: &MappingOptions,
) -> DfResult<SendableRecordBatchStream> {
    // One partition and no repartitioning keep file order.
    let config = SessionConfig::new()
        .with_target_partitions(1)
        .with_round_robin_repartition(false)
        .with_batch_size(8192);
    let ctx = SessionContext::new_with_config(config);
    ctx.register_udf(js_trim_udf());
    let part = OneShot {
        schema: user_schema(),
        stream: Mutex::new(Some(users)),
    };
    let table = StreamingTable::try_new(user_schema(), vec![Arc::new(part)])?;
    ctx.register_table("firebase_users", Arc::new(table))?;
    ctx.sql(&mapping_sql(options)).await?.execute_stream().await
}

/// Project-wide Firebase scrypt parameters (§9.2). `Debug` never shows the keys.
#[derive(Clone, PartialEq, Eq)]
pub struct ScryptConfig {
    /// Base64 signer key.
    pub signer_key: String,
    /// Base64 salt separator (may be empty).
    pub salt_separator: String,
    pub rounds: u32,
    pub memory_cost: u32,
}

impl fmt::Debug for ScryptConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScryptConfig")
            .field("signer_key", &"[redacted]")
            .field("salt_separator", &"[redacted]")
            .field("rounds", &self.rounds)
            .field("memory_cost", &self.memory_cost)
            .finish()
    }
}

/// What happens to one user's password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Password<'a> {
    /// No password (none in the source, salt missing, or `--skip-passwords`).
    None,
    /// The `$firebase-scrypt$` PHC string.
    Hash(&'a str),
    /// Hash and salt present but no signer key: warning `missing_scrypt_parameters`.
    MissingScryptParameters,
    /// The encoded hash fails the firebase-scrypt format check (reason never
    /// contains hash material).
    Invalid(&'a str),
}

#[derive(Debug, Default)]
enum PasswordOut {
    #[default]
    None,
    Hash(String),
    Missing,
    Invalid(String),
}

#[derive(Debug, Default)]
struct Extra {
    metadata: String,
    password: PasswordOut,
}

/// One mapped user, borrowing from its [`MappedBatch`].
#[derive(Debug, Clone, Copy)]
pub struct MappedUser<'a> {
    pub user_index: u64,
    /// `localId` as in the file (for skipped records).
    pub raw_local_id: Option<&'a str>,
    /// Trimmed email ("" when absent).
    pub email: &'a str,
    /// `no_email` or `disabled_user`.
    pub skip_reason: Option<&'a str>,
    pub first_name: &'a str,
    pub last_name: &'a str,
    /// `true` / `false`.
    pub email_verified: &'a str,
    /// Trimmed `localId` ("" when absent).
    pub external_id: &'a str,
    /// Metadata JSON ("" when there is none, and for skipped users).
    pub metadata: &'a str,
    pub password: Password<'a>,
}

/// A mapped batch plus the Rust-side columns (metadata, hashes).
pub struct MappedBatch {
    user_index: Vec<u64>,
    raw_local_id: StringArray,
    email: StringArray,
    skip_reason: StringArray,
    first_name: StringArray,
    last_name: StringArray,
    email_verified: StringArray,
    external_id: StringArray,
    extras: Vec<Extra>,
}

fn get(a: &StringArray, i: usize) -> Option<&str> {
    (!a.is_null(i)).then(|| a.value(i))
}

fn col(batch: &RecordBatch, name: &str) -> DfResult<StringArray> {
    let c = batch
        .column_by_name(name)
        .ok_or_else(|| DataFusionError::Internal(format!("mapped batch lacks column {name}")))?;
    as_utf8(c)
}

impl MappedBatch {
    /// Finishes a batch of [`mapping_sql`] output: metadata JSON and PHC
    /// hashes are computed in parallel.
    pub fn new(batch: &RecordBatch, scrypt: Option<&ScryptConfig>) -> DfResult<Self> {
        let index = batch
            .column_by_name("user_index")
            .ok_or_else(|| DataFusionError::Internal("mapped batch lacks user_index".into()))?;
        let user_index = arrow::compute::cast(index, &DataType::UInt64)?
            .as_primitive::<UInt64Type>()
            .values()
            .to_vec();
        let skip_reason = col(batch, "skip_reason")?;
        let external_id = col(batch, "external_id")?;
        let action = col(batch, "password_action")?;
        let (hash, salt) = (col(batch, "password_hash")?, col(batch, "salt")?);
        let (phone, photo) = (col(batch, "phone_number")?, col(batch, "photo_url")?);
        let custom = col(batch, "custom_attributes")?;
        let (providers, mfa) = (col(batch, "provider_user_info")?, col(batch, "mfa_info")?);
        let (created, last_signed_in) =
            (col(batch, "created_at")?, col(batch, "last_signed_in_at")?);
        let disabled = col(batch, "disabled")?;
        let extras = (0..batch.num_rows())
            .into_par_iter()
            .with_min_len(256)
            .map(|i| {
                if !skip_reason.is_null(i) {
                    return Extra::default();
                }
                let metadata = metadata_json(&MetadataInput {
                    firebase_uid: get(&external_id, i),
                    phone_number: get(&phone, i),
                    photo_url: get(&photo, i),
                    custom_attributes: get(&custom, i),
                    provider_info: get(&providers, i),
                    mfa_info: get(&mfa, i),
                    created_at: get(&created, i),
                    last_signed_in_at: get(&last_signed_in, i),
                    disabled: get(&disabled, i) == Some("true"),
                });
                let password = match (get(&action, i), scrypt) {
                    (Some("encode"), Some(c)) => {
                        let phc = encode_firebase_scrypt(
                            get(&hash, i).unwrap_or_default(),
                            get(&salt, i).unwrap_or_default(),
                            &c.signer_key,
                            &c.salt_separator,
                            c.rounds,
                            c.memory_cost,
                        );
                        match check_password_hash("firebase-scrypt", &phc) {
                            Ok(_) => PasswordOut::Hash(phc),
                            Err(e) => PasswordOut::Invalid(e.to_string()),
                        }
                    }
                    (Some("missing_scrypt_parameters"), _) => PasswordOut::Missing,
                    _ => PasswordOut::None,
                };
                Extra { metadata, password }
            })
            .collect();
        Ok(Self {
            user_index,
            raw_local_id: col(batch, "raw_local_id")?,
            email: col(batch, "email")?,
            skip_reason,
            first_name: col(batch, "first_name")?,
            last_name: col(batch, "last_name")?,
            email_verified: col(batch, "email_verified")?,
            external_id,
            extras,
        })
    }

    pub fn len(&self) -> usize {
        self.extras.len()
    }

    pub fn is_empty(&self) -> bool {
        self.extras.is_empty()
    }

    pub fn row(&self, i: usize) -> MappedUser<'_> {
        let extra = &self.extras[i];
        MappedUser {
            user_index: self.user_index[i],
            raw_local_id: get(&self.raw_local_id, i),
            email: get(&self.email, i).unwrap_or_default(),
            skip_reason: get(&self.skip_reason, i),
            first_name: get(&self.first_name, i).unwrap_or_default(),
            last_name: get(&self.last_name, i).unwrap_or_default(),
            email_verified: get(&self.email_verified, i).unwrap_or("false"),
            external_id: get(&self.external_id, i).unwrap_or_default(),
            metadata: &extra.metadata,
            password: match &extra.password {
                PasswordOut::None => Password::None,
                PasswordOut::Hash(h) => Password::Hash(h),
                PasswordOut::Missing => Password::MissingScryptParameters,
                PasswordOut::Invalid(r) => Password::Invalid(r),
            },
        }
    }
}

/// Inputs of the metadata object (already trimmed where §7.3 trims).
#[derive(Debug, Default, Clone, Copy)]
pub struct MetadataInput<'a> {
    pub firebase_uid: Option<&'a str>,
    pub phone_number: Option<&'a str>,
    pub photo_url: Option<&'a str>,
    pub custom_attributes: Option<&'a str>,
    /// Compact JSON text of the `providerUserInfo` array.
    pub provider_info: Option<&'a str>,
    /// Compact JSON text of the `mfaInfo` array.
    pub mfa_info: Option<&'a str>,
    pub created_at: Option<&'a str>,
    pub last_signed_in_at: Option<&'a str>,
    /// A disabled user exported because of `--include-disabled`.
    pub disabled: bool,
}

/// The §7.3 step 5 metadata object as compact JSON, keys in order, each only
/// when it has a value; "" when the object would be empty.
pub fn metadata_json(m: &MetadataInput<'_>) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(256);
    let key = |out: &mut Vec<u8>, k: &str| {
        out.push(if out.is_empty() { b'{' } else { b',' });
        out.push(b'"');
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
    };
    // Writing a str or a Value to a Vec cannot fail.
    let string = |out: &mut Vec<u8>, s: &str| {
        let _ = serde_json::to_writer(&mut *out, s);
    };
    for (k, v) in [
        ("firebase_uid", m.firebase_uid),
        ("phone_number", m.phone_number),
        ("photo_url", m.photo_url),
    ] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            key(&mut out, k);
            string(&mut out, v);
        }
    }
    if let Some(raw) = m.custom_attributes.map(js_trim).filter(|s| !s.is_empty()) {
        key(&mut out, "custom_attributes");
        match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(v) => {
                let _ = serde_json::to_writer(&mut out, &v);
            }
            Err(_) => string(&mut out, raw),
        }
    }
    for (k, v) in [("provider_info", m.provider_info), ("mfa_info", m.mfa_info)] {
        // The reader stores arrays only, as compact JSON.
        if let Some(v) = v.filter(|v| v.starts_with('[') && *v != "[]") {
            key(&mut out, k);
            out.extend_from_slice(v.as_bytes());
        }
    }
    for (k, v) in [
        ("created_at", m.created_at),
        ("last_signed_in_at", m.last_signed_in_at),
    ] {
        if let Some(iso) = v.and_then(iso_from_ms_text) {
            key(&mut out, k);
            string(&mut out, &iso);
        }
    }
    if m.disabled {
        key(&mut out, "disabled");
        out.extend_from_slice(b"true");
    }
    if out.is_empty() {
        return String::new();
    }
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
}

/// `new Date(parseInt(s)).toISOString()` for years 0000–9999: the integer
/// prefix of a millisecond string (leading whitespace and a sign allowed).
/// `None` when there is no number or the date is outside that range (the
/// original threw on out-of-range dates).
pub fn iso_from_ms_text(s: &str) -> Option<String> {
    let t = js_trim(s);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 || end > 18 {
        return None;
    }
    let magnitude: i64 = digits[..end].parse().ok()?;
    let ms = if neg { -magnitude } else { magnitude };
    // Days since 1970-01-01 → civil date (Howard Hinnant's algorithm).
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let (h, m, sec, milli) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000,
    );
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{sec:02}.{milli:03}Z"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{BooleanArray, UInt64Array};
    use futures::StreamExt;

    #[test]
    fn js_trim_matches_javascript() {
        assert_eq!(js_trim("\u{FEFF}\u{A0} a b\t\n\u{3000}"), "a b");
        assert_eq!(js_trim("\u{85}x"), "\u{85}x"); // NEL is not JS whitespace
    }

    #[test]
    fn iso_from_ms() {
        assert_eq!(
            iso_from_ms_text("1700000000123").as_deref(),
            Some("2023-11-14T22:13:20.123Z")
        );
        assert_eq!(
            iso_from_ms_text(" 1700000000123abc").as_deref(),
            Some("2023-11-14T22:13:20.123Z")
        );
        assert_eq!(
            iso_from_ms_text("-1000").as_deref(),
            Some("1969-12-31T23:59:59.000Z")
        );
        assert_eq!(iso_from_ms_text("abc"), None);
        assert_eq!(iso_from_ms_text(""), None);
        assert_eq!(iso_from_ms_text("99999999999999999"), None);
        assert_eq!(
            iso_from_ms_text("253402300799999").as_deref(),
            Some("9999-12-31T23:59:59.999Z")
        );
        assert_eq!(iso_from_ms_text("253402300800000"), None);
        assert_eq!(
            iso_from_ms_text("-62167219200000").as_deref(),
            Some("0000-01-01T00:00:00.000Z")
        );
        assert_eq!(
            iso_from_ms_text("1709214307089").as_deref(),
            Some("2024-02-29T13:45:07.089Z")
        );
    }

    #[test]
    fn metadata_order_types_and_empty() {
        assert_eq!(metadata_json(&MetadataInput::default()), "");
        let m = MetadataInput {
            firebase_uid: Some("u1"),
            phone_number: Some(""),
            photo_url: Some("https://p/\"x\""),
            custom_attributes: Some(" {\"b\":1,\"a\":[true]} "),
            provider_info: Some("[{\"providerId\":\"password\"}]"),
            mfa_info: Some("[]"),
            created_at: Some("0"),
            last_signed_in_at: Some("x"),
            disabled: true,
        };
        assert_eq!(
            metadata_json(&m),
            r#"{"firebase_uid":"u1","photo_url":"https://p/\"x\"","custom_attributes":{"b":1,"a":[true]},"provider_info":[{"providerId":"password"}],"created_at":"1970-01-01T00:00:00.000Z","disabled":true}"#
        );
        let bad = MetadataInput {
            custom_attributes: Some(" {not json "),
            ..Default::default()
        };
        assert_eq!(metadata_json(&bad), r#"{"custom_attributes":"{not json"}"#);
    }

    fn input(
        names: &[Option<&str>],
        emails: &[Option<&str>],
        disabled: &[Option<bool>],
    ) -> RecordBatch {
        let n = names.len();
        let text = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v)) as ArrayRef;
        let none = || text(vec![None; n]);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from((0..n as u64).collect::<Vec<_>>())),
            text((0..n).map(|_| Some(" uid ")).collect()),
            text(emails.to_vec()),
            Arc::new(BooleanArray::from(vec![Some(true); n])),
            text(names.to_vec()),
            none(),
            none(),
            text(vec![Some("aGFzaA=="); n]),
            text(vec![Some("c2FsdA=="); n]),
            Arc::new(BooleanArray::from(disabled.to_vec())),
            none(),
            none(),
            none(),
            none(),
            none(),
        ];
        RecordBatch::try_new(user_schema(), cols).unwrap()
    }

    fn run(batch: RecordBatch, o: MappingOptions) -> Vec<RecordBatch> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let s = RecordBatchStreamAdapter::new(
                user_schema(),
                futures::stream::iter(vec![Ok(batch)]),
            );
            let mut out = map_users(Box::pin(s), &o).await.unwrap();
            let mut v = Vec::new();
            while let Some(b) = out.next().await {
                v.push(b.unwrap());
            }
            v
        })
    }

    fn names(split: NameSplit) -> Vec<(String, String)> {
        let dn = [
            Some("  Ann  Marie   Lee "),
            Some("Cher"),
            None,
            Some(""),
            Some("Jo\tAnn Lee"),
        ];
        let batch = input(&dn, &[Some("a@x.com"); 5], &[None; 5]);
        let out = run(
            batch,
            MappingOptions {
                name_split: split,
                ..Default::default()
            },
        );
        let m = MappedBatch::new(&out[0], None).unwrap();
        (0..m.len())
            .map(|i| {
                (
                    m.row(i).first_name.to_string(),
                    m.row(i).last_name.to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn name_split_strategies() {
        let p = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            names(NameSplit::FirstSpace),
            [
                p("Ann", "Marie   Lee"),
                p("Cher", ""),
                p("", ""),
                p("", ""),
                p("Jo\tAnn", "Lee")
            ]
        );
        assert_eq!(
            names(NameSplit::LastSpace),
            [
                p("Ann  Marie", "Lee"),
                p("Cher", ""),
                p("", ""),
                p("", ""),
                p("Jo\tAnn", "Lee")
            ]
        );
        assert_eq!(
            names(NameSplit::FirstNameOnly),
            [
                p("Ann  Marie   Lee", ""),
                p("Cher", ""),
                p("", ""),
                p("", ""),
                p("Jo\tAnn Lee", "")
            ]
        );
    }

    #[test]
    fn skip_reasons_and_password_actions() {
        let batch = input(
            &[None; 4],
            &[Some(" a@x.com "), Some("  "), None, Some("d@x.com")],
            &[None, Some(true), None, Some(true)],
        );
        let sk = ScryptConfig {
            signer_key: "a2V5".into(),
            salt_separator: "".into(),
            rounds: 8,
            memory_cost: 14,
        };
        let o = MappingOptions {
            have_scrypt: true,
            ..Default::default()
        };
        let out = run(batch.clone(), o);
        let m = MappedBatch::new(&out[0], Some(&sk)).unwrap();
        let reasons: Vec<_> = (0..4).map(|i| m.row(i).skip_reason).collect();
        assert_eq!(
            reasons,
            [
                None,
                Some("no_email"),
                Some("no_email"),
                Some("disabled_user")
            ]
        );
        let u = m.row(0);
        assert_eq!(
            (u.email, u.external_id, u.raw_local_id),
            ("a@x.com", "uid", Some(" uid "))
        );
        assert_eq!(
            u.password,
            Password::Hash("$firebase-scrypt$hash=aGFzaA==$salt=c2FsdA==$sk=a2V5$ss=$r=8$m=14")
        );
        assert_eq!(u.metadata, r#"{"firebase_uid":"uid"}"#);
        let out = run(
            batch.clone(),
            MappingOptions {
                include_disabled: true,
                ..Default::default()
            },
        );
        let m = MappedBatch::new(&out[0], None).unwrap();
        assert_eq!(m.row(3).skip_reason, None);
        assert_eq!(m.row(3).password, Password::MissingScryptParameters);
        assert_eq!(
            m.row(3).metadata,
            r#"{"firebase_uid":"uid","disabled":true}"#
        );
        let out = run(
            batch,
            MappingOptions {
                skip_passwords: true,
                have_scrypt: true,
                ..Default::default()
            },
        );
        assert_eq!(
            MappedBatch::new(&out[0], Some(&sk))
                .unwrap()
                .row(0)
                .password,
            Password::None
        );
    }

    #[test]
    fn invalid_source_hash_is_reported_without_material() {
        let batch = input(&[None], &[Some("a@x.com")], &[None]);
        let bad_key = ScryptConfig {
            signer_key: "a2V5".into(),
            salt_separator: "".into(),
            rounds: 8,
            memory_cost: 14,
        };
        let cols: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 7 {
                    Arc::new(StringArray::from(vec!["no*base64"])) as ArrayRef
                } else {
                    Arc::clone(c)
                }
            })
            .collect();
        let batch = RecordBatch::try_new(user_schema(), cols).unwrap();
        let out = run(
            batch,
            MappingOptions {
                have_scrypt: true,
                ..Default::default()
            },
        );
        let m = MappedBatch::new(&out[0], Some(&bad_key)).unwrap();
        match m.row(0).password {
            Password::Invalid(r) => {
                assert_eq!(
                    r,
                    "malformed firebase-scrypt hash: hash is not valid base64"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
