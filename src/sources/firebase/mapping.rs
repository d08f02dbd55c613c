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
use base64::{
    alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine as _,
};
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
use crate::package::csv_writer::push_doubled;
use crate::package::jsonl::{push_json_str, push_json_str_csv};
use crate::package::limits::{check_metadata_json, MetadataCheck, MAX_METADATA_VALUE_CHARS};

use super::reader::{compact_json_into, user_schema};

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

/// True when [`js_trim`] would change `s` (a quick look at both ends first).
fn needs_js_trim(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (None, _) | (_, None) => false,
        // ASCII ends that are not whitespace: nothing to trim.
        (Some(&f), Some(&l)) if f > b' ' && f < 0x80 && l > b' ' && l < 0x80 => false,
        _ => js_trim(s).len() != s.len(),
    }
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
                // Most values have nothing to trim: then the column is
                // returned as is instead of copied.
                let untouched = a.iter().all(|v| v.is_none_or(|t| !needs_js_trim(t)));
                if untouched {
                    return Ok(ColumnarValue::Array(Arc::new(a)));
                }
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

/// Standard alphabet, `=` padding optional: the decoding the
/// `firebase-scrypt` format check applies to each field.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Values of the standard base64 alphabet; 0xFF for other bytes.
const B64_VALUES: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// True for canonical standard base64 of at least one byte: alphabet only,
/// `=` padding absent or complete, unused bits of the last symbol zero. Every
/// such text is accepted by [`LENIENT`] (anything else is decoded to find out).
fn canonical_b64(s: &[u8]) -> bool {
    let pad = s.iter().rev().take(2).take_while(|&&b| b == b'=').count();
    let data = &s[..s.len() - pad];
    if data.is_empty() || (pad > 0 && !s.len().is_multiple_of(4)) {
        return false;
    }
    let mut last = 0u8;
    for &b in data {
        last = B64_VALUES[b as usize];
        if last == 0xFF {
            return false;
        }
    }
    match data.len() % 4 {
        0 => true,
        2 => last & 0x0F == 0,
        3 => last & 0x03 == 0,
        _ => false,
    }
}

/// Appends `s` with URL-safe base64 mapped to standard (`-`→`+`, `_`→`/`).
fn push_standard_b64(out: &mut String, s: &str) {
    if !s.bytes().any(|b| b == b'-' || b == b'_') {
        out.push_str(s);
        return;
    }
    out.extend(s.chars().map(|c| match c {
        '-' => '+',
        '_' => '/',
        c => c,
    }));
}

/// Encodes `$firebase-scrypt$` hashes with the project parameters
/// (byte for byte [`encode_firebase_scrypt`]) and checks them with the result
/// of [`check_password_hash`], without its allocations in the common case:
/// the project part is checked once, and a user's hash and salt that are
/// non-empty base64 without `$` cannot fail; anything else goes through the
/// full check, which also gives the reason.
pub struct ScryptEncoder {
    /// `$sk=..$ss=..$r=..$m=..`
    tail: String,
    /// A probe hash with these project parameters passes the check.
    project_ok: bool,
}

impl ScryptEncoder {
    pub fn new(c: &ScryptConfig) -> Self {
        let mut tail = String::from("$sk=");
        push_standard_b64(&mut tail, &c.signer_key);
        tail.push_str("$ss=");
        push_standard_b64(&mut tail, &c.salt_separator);
        tail.push_str(&format!("$r={}$m={}", c.rounds, c.memory_cost));
        let probe = encode_firebase_scrypt(
            "aGFzaA==",
            "c2FsdA==",
            &c.signer_key,
            &c.salt_separator,
            c.rounds,
            c.memory_cost,
        );
        let project_ok = check_password_hash("firebase-scrypt", &probe).is_ok();
        Self { tail, project_ok }
    }

    /// Writes the PHC string of `hash` / `salt` into `out` (cleared first);
    /// `Err` is the check's reason (never hash material) when it fails.
    pub fn encode(&self, hash: &str, salt: &str, out: &mut String) -> Result<(), String> {
        out.clear();
        out.reserve(40 + hash.len() + salt.len() + self.tail.len());
        // The common case: both canonical standard base64 (which has no `-`,
        // `_` or `$`), so the text is used as is and the check cannot fail.
        if self.project_ok && canonical_b64(hash.as_bytes()) && canonical_b64(salt.as_bytes()) {
            out.push_str("$firebase-scrypt$hash=");
            out.push_str(hash);
            out.push_str("$salt=");
            out.push_str(salt);
            out.push_str(&self.tail);
            return Ok(());
        }
        out.push_str("$firebase-scrypt$hash=");
        let h = out.len();
        push_standard_b64(out, hash);
        let h_end = out.len();
        out.push_str("$salt=");
        let s = out.len();
        push_standard_b64(out, salt);
        let s_end = out.len();
        out.push_str(&self.tail);
        let field_ok = |v: &str| {
            if canonical_b64(v.as_bytes()) {
                return true;
            }
            let mut buf = [0u8; 512];
            !v.contains('$') && matches!(LENIENT.decode_slice(v, &mut buf), Ok(n) if n > 0)
        };
        if self.project_ok && field_ok(&out[h..h_end]) && field_ok(&out[s..s_end]) {
            return Ok(());
        }
        match check_password_hash("firebase-scrypt", out) {
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// What happens to one user's password, the hash itself kept elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordState {
    None,
    /// The PHC string was written to the caller's buffer.
    Hash,
    Missing,
    Invalid(String),
}

/// The columns of one [`mapping_sql`] output batch, for per-row work.
pub struct MappedColumns {
    pub user_index: Vec<u64>,
    pub raw_local_id: StringArray,
    pub email: StringArray,
    pub skip_reason: StringArray,
    pub first_name: StringArray,
    pub last_name: StringArray,
    pub email_verified: StringArray,
    pub external_id: StringArray,
    action: StringArray,
    hash: StringArray,
    salt: StringArray,
    phone: StringArray,
    photo: StringArray,
    custom: StringArray,
    providers: StringArray,
    mfa: StringArray,
    created: StringArray,
    last_signed_in: StringArray,
    disabled: StringArray,
}

impl MappedColumns {
    pub fn new(batch: &RecordBatch) -> DfResult<Self> {
        let index = batch
            .column_by_name("user_index")
            .ok_or_else(|| DataFusionError::Internal("mapped batch lacks user_index".into()))?;
        let user_index = arrow::compute::cast(index, &DataType::UInt64)?
            .as_primitive::<UInt64Type>()
            .values()
            .to_vec();
        Ok(Self {
            user_index,
            raw_local_id: col(batch, "raw_local_id")?,
            email: col(batch, "email")?,
            skip_reason: col(batch, "skip_reason")?,
            first_name: col(batch, "first_name")?,
            last_name: col(batch, "last_name")?,
            email_verified: col(batch, "email_verified")?,
            external_id: col(batch, "external_id")?,
            action: col(batch, "password_action")?,
            hash: col(batch, "password_hash")?,
            salt: col(batch, "salt")?,
            phone: col(batch, "phone_number")?,
            photo: col(batch, "photo_url")?,
            custom: col(batch, "custom_attributes")?,
            providers: col(batch, "provider_user_info")?,
            mfa: col(batch, "mfa_info")?,
            created: col(batch, "created_at")?,
            last_signed_in: col(batch, "last_signed_in_at")?,
            disabled: col(batch, "disabled")?,
        })
    }

    pub fn len(&self) -> usize {
        self.user_index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.user_index.is_empty()
    }

    /// Row `i` without its metadata and password (see [`Self::metadata`],
    /// [`Self::password`]).
    pub fn user(&self, i: usize) -> MappedUser<'_> {
        MappedUser {
            user_index: self.user_index[i],
            raw_local_id: get(&self.raw_local_id, i),
            email: get(&self.email, i).unwrap_or_default(),
            skip_reason: get(&self.skip_reason, i),
            first_name: get(&self.first_name, i).unwrap_or_default(),
            last_name: get(&self.last_name, i).unwrap_or_default(),
            email_verified: get(&self.email_verified, i).unwrap_or("false"),
            external_id: get(&self.external_id, i).unwrap_or_default(),
            metadata: "",
            password: Password::None,
        }
    }

    /// The metadata JSON of row `i` into `out` (empty when there is none).
    pub fn metadata(&self, i: usize, out: &mut Vec<u8>) {
        metadata_into(&self.metadata_input(i), out);
    }

    /// Appends row `i`'s `metadata` cell of `users.csv` to `out`: the
    /// metadata JSON as a quoted CSV field (it always holds `"`), or nothing
    /// when there is none. Byte for byte `push_field` of [`Self::metadata`].
    pub fn metadata_cell(&self, i: usize, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
        let mark = out.len();
        out.push(b'"');
        if write_metadata(&self.metadata_input(i), out, true, scratch) {
            out.push(b'"');
        } else {
            out.truncate(mark);
        }
    }

    /// Row `i`'s metadata against WorkOS's limits. Its keys are fixed (at
    /// most nine, all short), so only a value can break them, and only one
    /// whose source text is over 600 bytes: then (rarely) the metadata JSON
    /// is built into `scratch` and measured exactly.
    pub fn metadata_limits(&self, i: usize, scratch: &mut Vec<u8>) -> MetadataCheck {
        let m = self.metadata_input(i);
        let long = [
            m.firebase_uid,
            m.phone_number,
            m.photo_url,
            m.custom_attributes,
            m.provider_info,
            m.mfa_info,
        ]
        .iter()
        .any(|v| v.is_some_and(|v| v.len() > MAX_METADATA_VALUE_CHARS));
        if !long {
            return MetadataCheck::default();
        }
        metadata_into(&m, scratch);
        check_metadata_json(std::str::from_utf8(scratch).unwrap_or_default())
    }

    fn metadata_input(&self, i: usize) -> MetadataInput<'_> {
        MetadataInput {
            firebase_uid: get(&self.external_id, i),
            phone_number: get(&self.phone, i),
            photo_url: get(&self.photo, i),
            custom_attributes: get(&self.custom, i),
            provider_info: get(&self.providers, i),
            mfa_info: get(&self.mfa, i),
            created_at: get(&self.created, i),
            last_signed_in_at: get(&self.last_signed_in, i),
            disabled: get(&self.disabled, i) == Some("true"),
        }
    }

    /// The password of row `i`; the PHC string goes to `phc`.
    pub fn password(
        &self,
        i: usize,
        scrypt: Option<&ScryptEncoder>,
        phc: &mut String,
    ) -> PasswordState {
        match (get(&self.action, i), scrypt) {
            (Some("encode"), Some(e)) => {
                let hash = get(&self.hash, i).unwrap_or_default();
                let salt = get(&self.salt, i).unwrap_or_default();
                match e.encode(hash, salt, phc) {
                    Ok(()) => PasswordState::Hash,
                    Err(reason) => PasswordState::Invalid(reason),
                }
            }
            (Some("missing_scrypt_parameters"), _) => PasswordState::Missing,
            _ => PasswordState::None,
        }
    }
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

/// A mapped batch plus the Rust-side columns (metadata, hashes), owned per
/// row. The export encodes rows straight from [`MappedColumns`] instead.
pub struct MappedBatch {
    cols: MappedColumns,
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
        let cols = MappedColumns::new(batch)?;
        let encoder = scrypt.map(ScryptEncoder::new);
        let extras = (0..cols.len())
            .into_par_iter()
            .with_min_len(256)
            .map(|i| {
                if !cols.skip_reason.is_null(i) {
                    return Extra::default();
                }
                let mut metadata = Vec::new();
                cols.metadata(i, &mut metadata);
                let mut phc = String::new();
                let password = match cols.password(i, encoder.as_ref(), &mut phc) {
                    PasswordState::None => PasswordOut::None,
                    PasswordState::Hash => PasswordOut::Hash(phc),
                    PasswordState::Missing => PasswordOut::Missing,
                    PasswordState::Invalid(r) => PasswordOut::Invalid(r),
                };
                Extra {
                    metadata: String::from_utf8(metadata).unwrap_or_default(),
                    password,
                }
            })
            .collect();
        Ok(Self { cols, extras })
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
            metadata: &extra.metadata,
            password: match &extra.password {
                PasswordOut::None => Password::None,
                PasswordOut::Hash(h) => Password::Hash(h),
                PasswordOut::Missing => Password::MissingScryptParameters,
                PasswordOut::Invalid(r) => Password::Invalid(r),
            },
            ..self.cols.user(i)
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
    metadata_into(m, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// [`metadata_json`] into `out` (cleared first; left empty when the object
/// would be empty). Reusing `out` across users avoids an allocation each.
pub fn metadata_into(m: &MetadataInput<'_>, out: &mut Vec<u8>) {
    out.clear();
    let mut scratch = Vec::new();
    write_metadata(m, out, false, &mut scratch);
}

/// A JSON string literal, with every `"` doubled when `csv`.
fn push_string(out: &mut Vec<u8>, s: &str, csv: bool, scratch: &mut Vec<u8>) {
    if csv {
        push_json_str_csv(out, s, scratch);
    } else {
        push_json_str(out, s);
    }
}

/// Appends the metadata object (see [`metadata_json`]) to `out`, as CSV
/// field content (every `"` doubled, no surrounding quotes) when `csv`.
/// Returns false, having written nothing, when the object would be empty.
fn write_metadata(
    m: &MetadataInput<'_>,
    out: &mut Vec<u8>,
    csv: bool,
    scratch: &mut Vec<u8>,
) -> bool {
    let quote: &[u8] = if csv { b"\"\"" } else { b"\"" };
    let mut first = true;
    let mut key = |out: &mut Vec<u8>, k: &str| {
        out.push(if first { b'{' } else { b',' });
        first = false;
        out.extend_from_slice(quote);
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(quote);
        out.push(b':');
    };
    let raw = |out: &mut Vec<u8>, bytes: &[u8]| {
        if csv {
            push_doubled(out, bytes);
        } else {
            out.extend_from_slice(bytes);
        }
    };
    for (k, v) in [
        ("firebase_uid", m.firebase_uid),
        ("phone_number", m.phone_number),
        ("photo_url", m.photo_url),
    ] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            key(out, k);
            push_string(out, v, csv, scratch);
        }
    }
    if let Some(text) = m.custom_attributes.map(js_trim).filter(|s| !s.is_empty()) {
        key(out, "custom_attributes");
        // JSON is kept as (compact) JSON, anything else as a string.
        scratch.clear();
        if !compact_json_into(text, scratch) {
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(v) => {
                    let _ = serde_json::to_writer(&mut *scratch, &v);
                }
                Err(_) => push_json_str(scratch, text),
            }
        }
        raw(out, scratch);
    }
    for (k, v) in [("provider_info", m.provider_info), ("mfa_info", m.mfa_info)] {
        // The reader stores arrays only, as compact JSON.
        if let Some(v) = v.filter(|v| v.starts_with('[') && *v != "[]") {
            key(out, k);
            raw(out, v.as_bytes());
        }
    }
    let mut iso = [0u8; 24];
    for (k, v) in [
        ("created_at", m.created_at),
        ("last_signed_in_at", m.last_signed_in_at),
    ] {
        if let Some(iso) = v.and_then(|v| iso_from_ms_bytes(v, &mut iso)) {
            key(out, k);
            out.extend_from_slice(quote);
            out.extend_from_slice(iso);
            out.extend_from_slice(quote);
        }
    }
    if m.disabled {
        key(out, "disabled");
        out.extend_from_slice(b"true");
    }
    if first {
        return false;
    }
    out.push(b'}');
    true
}

/// `new Date(parseInt(s)).toISOString()` for years 0000–9999: the integer
/// prefix of a millisecond string (leading whitespace and a sign allowed).
/// `None` when there is no number or the date is outside that range (the
/// original threw on out-of-range dates).
pub fn iso_from_ms_text(s: &str) -> Option<String> {
    let mut buf = [0u8; 24];
    iso_from_ms_bytes(s, &mut buf).map(|b| String::from_utf8_lossy(b).into_owned())
}

/// "00" to "99", concatenated.
const DIGIT_PAIRS: &[u8; 200] = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/// [`iso_from_ms_text`] into a stack buffer: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn iso_from_ms_bytes<'b>(s: &str, buf: &'b mut [u8; 24]) -> Option<&'b [u8]> {
    let t = if needs_js_trim(s) { js_trim(s) } else { s };
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
    // At most 18 digits: no overflow.
    let magnitude = digits.as_bytes()[..end]
        .iter()
        .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'));
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
    // Every value is in range here: two digits at a time from a table.
    let two = |buf: &mut [u8; 24], at: usize, v: i64| {
        let d = (v.rem_euclid(100) as usize) * 2;
        buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    };
    two(buf, 0, year / 100);
    two(buf, 2, year);
    buf[4] = b'-';
    two(buf, 5, month);
    buf[7] = b'-';
    two(buf, 8, day);
    buf[10] = b'T';
    two(buf, 11, h);
    buf[13] = b':';
    two(buf, 14, m);
    buf[16] = b':';
    two(buf, 17, sec);
    buf[19] = b'.';
    buf[20] = b'0' + (milli / 100) as u8;
    two(buf, 21, milli);
    buf[23] = b'Z';
    Some(&buf[..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{BooleanArray, UInt64Array};
    use futures::StreamExt;

    #[test]
    fn checked_hashes_never_need_csv_quotes() {
        let c = ScryptConfig {
            signer_key: "a2V5-_".into(),
            salt_separator: "Bw==".into(),
            rounds: 8,
            memory_cost: 14,
        };
        let e = ScryptEncoder::new(&c);
        let mut phc = String::new();
        for (h, s) in [
            ("aGFzaA==", "c2FsdA=="),
            ("aGFz-_aA", "c2F_dA"),
            ("a,b", "c"),
            ("a\"b", "c"),
            ("aGFzaA==", "x\ny"),
        ] {
            if e.encode(h, s, &mut phc).is_ok() {
                assert!(
                    !crate::package::csv_writer::needs_quotes(phc.as_bytes()),
                    "{phc}"
                );
                assert_eq!(
                    phc,
                    encode_firebase_scrypt(h, s, &c.signer_key, &c.salt_separator, 8, 14)
                );
            }
        }
    }

    #[test]
    fn canonical_base64_is_always_accepted() {
        use base64::Engine as _;
        let std = base64::engine::general_purpose::STANDARD;
        let mut seed = 7u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let chars = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_$ ";
        let mut accepted = 0;
        for _ in 0..20_000 {
            let len = (next() % 12) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| chars[(next() % chars.len() as u64) as usize])
                .collect();
            let decoded = LENIENT.decode(&text);
            if canonical_b64(&text) {
                accepted += 1;
                assert!(
                    decoded.is_ok_and(|d| !d.is_empty()),
                    "{:?}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
        for n in 1..40 {
            let bytes: Vec<u8> = (0..n).map(|_| next() as u8).collect();
            let padded = std.encode(&bytes);
            assert!(canonical_b64(padded.as_bytes()), "{padded}");
            assert!(
                canonical_b64(padded.trim_end_matches('=').as_bytes()),
                "{padded}"
            );
        }
        assert!(accepted > 0);
        assert!(
            !canonical_b64(b"")
                && !canonical_b64(b"=")
                && !canonical_b64(b"QQ=")
                && !canonical_b64(b"QR==")
        );
    }

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

    #[test]
    fn metadata_cell_is_the_quoted_json() {
        let cases = [
            MetadataInput::default(),
            MetadataInput {
                firebase_uid: Some("u\"1"),
                phone_number: Some("+1 \n"),
                photo_url: Some("https://p/x"),
                custom_attributes: Some(r#" {"b":"\"q\"","a":[1.5]} "#),
                provider_info: Some(r#"[{"providerId":"pass\"word"}]"#),
                mfa_info: Some("[]"),
                created_at: Some("1700000000123"),
                last_signed_in_at: Some("x"),
                disabled: true,
            },
            MetadataInput {
                custom_attributes: Some("not json, \"quoted\""),
                ..Default::default()
            },
            MetadataInput {
                created_at: Some("0"),
                ..Default::default()
            },
        ];
        for m in &cases {
            let mut expected = Vec::new();
            crate::package::csv_writer::push_field(&mut expected, &metadata_json(m));
            let mut out = b"x,".to_vec();
            let mark = out.len();
            out.push(b'"');
            let mut scratch = Vec::new();
            if write_metadata(m, &mut out, true, &mut scratch) {
                out.push(b'"');
            } else {
                out.truncate(mark);
            }
            assert_eq!(
                String::from_utf8_lossy(&out[2..]),
                String::from_utf8_lossy(&expected),
                "{m:?}"
            );
        }
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
