//! Per-row mapping of a Clerk export (export-and-package.md §6.3 steps 1–4).
//!
//! The column work is one DataFusion SQL statement ([`CLERK_SQL`]) over the
//! streamed, normalised batches of [`super::reader`]: every cell trimmed of
//! Unicode whitespace (the `ws_trim` UDF), missing cells as empty strings, the
//! primary email lower-cased. The per-row work that is not column algebra —
//! password conversion, `email_verified` from the address lists, the metadata
//! JSON — runs on rayon ([`map_batch`]), producing [`MappedRow`]s in input
//! order for the package writer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::{SessionConfig, SessionContext};
use rayon::prelude::*;
use serde_json::{Map, Value};

use super::hashers::{convert_password, PasswordOutcome, ScryptParams};
use super::reader::{ClerkReadError, ClerkReader};
use crate::hashes::shown;
use crate::package::jsonl::{push_json_str, push_json_str_csv};
use crate::package::limits::MetadataCheck;

/// The SQL run over table `clerk` (the 13 normalised columns). Output columns,
/// in order: see [`col`].
pub const CLERK_SQL: &str = r#"SELECT
  coalesce(ws_trim("id"), '') AS id,
  lower(coalesce(ws_trim("primary_email_address"), '')) AS email,
  coalesce(ws_trim("first_name"), '') AS first_name,
  coalesce(ws_trim("last_name"), '') AS last_name,
  coalesce(ws_trim("username"), '') AS username,
  coalesce(ws_trim("primary_phone_number"), '') AS primary_phone_number,
  coalesce(ws_trim("verified_phone_numbers"), '') AS verified_phone_numbers,
  coalesce(ws_trim("unverified_phone_numbers"), '') AS unverified_phone_numbers,
  coalesce(ws_trim("verified_email_addresses"), '') AS verified_email_addresses,
  coalesce(ws_trim("unverified_email_addresses"), '') AS unverified_email_addresses,
  coalesce(ws_trim("totp_secret"), '') AS totp_secret,
  coalesce(ws_trim("password_digest"), '') AS password_digest,
  coalesce(ws_trim("password_hasher"), '') AS password_hasher
FROM clerk"#;

/// Output column indexes of [`CLERK_SQL`].
pub mod col {
    pub const ID: usize = 0;
    pub const EMAIL: usize = 1;
    pub const FIRST_NAME: usize = 2;
    pub const LAST_NAME: usize = 3;
    pub const USERNAME: usize = 4;
    pub const PRIMARY_PHONE: usize = 5;
    pub const VERIFIED_PHONES: usize = 6;
    pub const UNVERIFIED_PHONES: usize = 7;
    pub const VERIFIED_EMAILS: usize = 8;
    pub const UNVERIFIED_EMAILS: usize = 9;
    pub const TOTP_SECRET: usize = 10;
    pub const DIGEST: usize = 11;
    pub const HASHER: usize = 12;
    pub const WIDTH: usize = 13;
}

/// Metadata keys in order (§6.3 step 3 without `totp_secret`) with their column.
const METADATA: [(&str, usize); 7] = [
    ("clerk_user_id", col::ID),
    ("username", col::USERNAME),
    ("primary_phone_number", col::PRIMARY_PHONE),
    ("verified_phone_numbers", col::VERIFIED_PHONES),
    ("unverified_phone_numbers", col::UNVERIFIED_PHONES),
    ("verified_email_addresses", col::VERIFIED_EMAILS),
    ("unverified_email_addresses", col::UNVERIFIED_EMAILS),
];

/// Trims Unicode whitespace and U+FEFF (JS `String.prototype.trim`).
pub fn ws_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// The `ws_trim(Utf8) -> Utf8` UDF.
pub fn ws_trim_udf() -> ScalarUDF {
    create_udf(
        "ws_trim",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let input = arrays
                .first()
                .and_then(|a| a.as_any().downcast_ref::<StringArray>())
                .ok_or_else(|| {
                    DataFusionError::Internal("ws_trim expects one Utf8 argument".into())
                })?;
            // Most cells have nothing to trim: then the column is returned
            // as is instead of copied.
            if input
                .iter()
                .all(|v| v.is_none_or(|t| ws_trim(t).len() == t.len()))
            {
                return Ok(ColumnarValue::Array(Arc::new(input.clone()) as ArrayRef));
            }
            let out: StringArray = input.iter().map(|v| v.map(ws_trim)).collect();
            Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
        }),
    )
}

/// The reader's error, kept aside so the caller reports it verbatim instead
/// of DataFusion's wrapping of it.
pub type FailureSlot = Arc<Mutex<Option<ClerkReadError>>>;

/// The Clerk reader as a DataFusion partition (consumed by its one execution).
struct ClerkPartition {
    schema: SchemaRef,
    reader: Mutex<Option<ClerkReader>>,
    failure: FailureSlot,
    end_byte: Arc<AtomicU64>,
}

impl std::fmt::Debug for ClerkPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClerkPartition").finish_non_exhaustive()
    }
}

impl PartitionStream for ClerkPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Reads on a thread of its own ("clerk-reader"), a few batches ahead
    /// of the query (a bounded channel), so CSV parsing overlaps the rest of
    /// the export. Reading stops at the first error, and when the stream is
    /// dropped.
    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let reader = self.reader.lock().ok().and_then(|mut r| r.take());
        let failure = Arc::clone(&self.failure);
        let end_byte = Arc::clone(&self.end_byte);
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, DataFusionError>>(4);
        if let Some(reader) = reader {
            let spawned = std::thread::Builder::new()
                .name("clerk-reader".into())
                .spawn(move || {
                    for item in reader {
                        let (message, last) = match item {
                            Ok(b) => {
                                end_byte.store(b.end_byte, Ordering::Relaxed);
                                (Ok(b.batch), false)
                            }
                            Err(e) => {
                                let message = e.to_string();
                                if let Ok(mut slot) = failure.lock() {
                                    slot.get_or_insert(e);
                                }
                                (Err(DataFusionError::Execution(message)), true)
                            }
                        };
                        if tx.blocking_send(message).is_err() || last {
                            return;
                        }
                    }
                });
            if let Err(e) = spawned {
                let err = DataFusionError::Execution(format!("starting the reader thread: {e}"));
                return Box::pin(RecordBatchStreamAdapter::new(
                    SchemaRef::clone(&self.schema),
                    futures::stream::once(async move { Err(err) }),
                ));
            }
        }
        let batches =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        Box::pin(RecordBatchStreamAdapter::new(
            SchemaRef::clone(&self.schema),
            batches,
        ))
    }
}

/// A planned, not yet polled, SQL stream over a Clerk export.
pub struct ClerkStream {
    pub stream: SendableRecordBatchStream,
    /// The reader's own error, if reading failed.
    pub failure: FailureSlot,
    /// Input bytes consumed so far (for progress).
    pub end_byte: Arc<AtomicU64>,
}

/// Plans [`CLERK_SQL`] over `reader` (one partition, input order kept).
pub async fn clerk_stream(reader: ClerkReader) -> Result<ClerkStream, DataFusionError> {
    let schema = reader.schema();
    let failure: FailureSlot = Arc::new(Mutex::new(None));
    let end_byte = Arc::new(AtomicU64::new(0));
    let partition = ClerkPartition {
        schema: SchemaRef::clone(&schema),
        reader: Mutex::new(Some(reader)),
        failure: Arc::clone(&failure),
        end_byte: Arc::clone(&end_byte),
    };
    let config = SessionConfig::new()
        .with_target_partitions(1)
        .with_batch_size(8192);
    let ctx = SessionContext::new_with_config(config);
    ctx.register_udf(ws_trim_udf());
    let table = StreamingTable::try_new(schema, vec![Arc::new(partition)])?;
    ctx.register_table("clerk", Arc::new(table))?;
    let stream = ctx.sql(CLERK_SQL).await?.execute_stream().await?;
    Ok(ClerkStream {
        stream,
        failure,
        end_byte,
    })
}

/// One output row, ready for the package writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappedRow {
    /// No primary email: `skipped_users.jsonl` with reason `no_email`.
    Skipped {
        clerk_user_id: String,
    },
    User(Box<MappedUser>),
}

/// A user row of `users.csv` and what goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedUser {
    pub external_id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub email_verified: bool,
    pub password_hash: String,
    /// WorkOS type name, empty without a hash.
    pub password_hash_type: &'static str,
    /// Compact JSON object, or empty when it would have no keys.
    pub metadata: String,
    /// Empty when the user has no TOTP secret.
    pub totp_secret: String,
    /// `unsupported_password_hasher` warning message, if any.
    pub password_warning: Option<String>,
}

/// Splits an address list on `,` `;` `|` and whitespace.
pub fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c == ',' || c == ';' || c == '|' || c.is_whitespace())
        .filter(|p| !p.is_empty())
}

/// `email_verified` for `email` (already lower-cased): in the verified list →
/// true; only in the unverified list → false; in neither → true.
pub fn email_verified(email: &str, verified: &str, unverified: &str) -> bool {
    let listed = |list: &str| {
        split_list(list).any(|e| e.eq_ignore_ascii_case(email) || e.to_lowercase() == email)
    };
    listed(verified) || !listed(unverified)
}

/// [`metadata_json`] of row `row` into `out` (cleared first; left empty when
/// there is no key), byte for byte, without the intermediate map.
pub fn metadata_into(cols: &OutColumns, row: usize, out: &mut Vec<u8>) {
    out.clear();
    for &(k, c) in &METADATA {
        let v = cols.get(row, c);
        if v.is_empty() {
            continue;
        }
        out.push(if out.is_empty() { b'{' } else { b',' });
        push_json_str(out, k);
        out.push(b':');
        push_json_str(out, v);
    }
    if !out.is_empty() {
        out.push(b'}');
    }
}

/// Row `row`'s metadata against WorkOS's limits: seven fixed short keys
/// with string values, so only a value over 600 characters can break them.
pub fn metadata_limits(cols: &OutColumns, row: usize) -> MetadataCheck {
    let mut check = MetadataCheck::default();
    for &(k, c) in &METADATA {
        let v = cols.get(row, c);
        if !v.is_empty() {
            check.string_entry(k, v);
        }
    }
    check
}

/// Appends row `row`'s `metadata` cell of `users.csv`: the metadata JSON as
/// a quoted CSV field (it always holds `"`), or nothing when there is none.
/// Byte for byte `push_field` of [`metadata_into`]'s text.
pub fn metadata_cell(cols: &OutColumns, row: usize, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    let mut first = true;
    for &(k, c) in &METADATA {
        let v = cols.get(row, c);
        if v.is_empty() {
            continue;
        }
        out.extend_from_slice(if first { b"\"{\"\"" } else { b",\"\"" });
        first = false;
        // Keys are plain ASCII.
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\"\":");
        push_json_str_csv(out, v, scratch);
    }
    if !first {
        out.extend_from_slice(b"}\"");
    }
}

/// The metadata JSON (string values, keys of §6.3 step 3 without
/// `totp_secret`, each only when non-empty); empty when there is no key.
pub fn metadata_json(values: &[(&str, &str)]) -> String {
    let map: Map<String, Value> = values
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| ((*k).to_string(), Value::String((*v).to_string())))
        .collect();
    if map.is_empty() {
        return String::new();
    }
    serde_json::to_string(&Value::Object(map)).unwrap_or_default()
}

/// The warning message for a password that is not exported.
pub fn password_warning(outcome: &PasswordOutcome, hasher: &str, user_id: &str) -> Option<String> {
    match outcome {
        PasswordOutcome::None | PasswordOutcome::Hash { .. } => None,
        PasswordOutcome::Unsupported => Some(format!(
            "Unsupported password hasher {} for user {user_id} (WorkOS has no equivalent hash type); password omitted.",
            shown(hasher)
        )),
        PasswordOutcome::Rejected(reason) => Some(format!(
            "Password of user {user_id} (hasher {}) cannot be imported: {reason}; password omitted.",
            shown(hasher)
        )),
    }
}

/// Borrowed Utf8 columns of a [`CLERK_SQL`] output batch.
pub struct OutColumns {
    cols: Vec<StringArray>,
}

impl OutColumns {
    pub fn new(batch: &RecordBatch) -> Result<Self, DataFusionError> {
        if batch.num_columns() != col::WIDTH {
            return Err(DataFusionError::Internal(format!(
                "expected {} columns from the Clerk query, got {}",
                col::WIDTH,
                batch.num_columns()
            )));
        }
        let cols = batch
            .columns()
            .iter()
            .map(|c| {
                let c = if c.data_type() == &DataType::Utf8 {
                    ArrayRef::clone(c)
                } else {
                    arrow::compute::cast(c, &DataType::Utf8)?
                };
                c.as_any()
                    .downcast_ref::<StringArray>()
                    .cloned()
                    .ok_or_else(|| {
                        DataFusionError::Internal("Clerk query column is not text".into())
                    })
            })
            .collect::<Result<Vec<_>, DataFusionError>>()?;
        Ok(Self { cols })
    }

    pub fn len(&self) -> usize {
        self.cols.first().map_or(0, Array::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cell `col` of `row` (null as empty).
    pub fn get(&self, row: usize, col: usize) -> &str {
        let c = &self.cols[col];
        if c.is_null(row) {
            ""
        } else {
            c.value(row)
        }
    }
}

/// Maps one row (§6.3 steps 1–4).
pub fn map_row(cols: &OutColumns, row: usize, scrypt: &ScryptParams) -> MappedRow {
    let get = |c: usize| cols.get(row, c);
    let id = get(col::ID);
    let email = get(col::EMAIL);
    if email.is_empty() {
        return MappedRow::Skipped {
            clerk_user_id: id.to_string(),
        };
    }
    let hasher = get(col::HASHER);
    let outcome = convert_password(hasher, get(col::DIGEST), scrypt);
    let password_warning = password_warning(&outcome, hasher, id);
    let (password_hash, password_hash_type) = match outcome {
        PasswordOutcome::Hash { hash, kind } => (hash, kind.as_str()),
        _ => (String::new(), ""),
    };
    let metadata: Vec<(&str, &str)> = METADATA.iter().map(|&(k, c)| (k, get(c))).collect();
    MappedRow::User(Box::new(MappedUser {
        external_id: id.to_string(),
        email: email.to_string(),
        first_name: get(col::FIRST_NAME).to_string(),
        last_name: get(col::LAST_NAME).to_string(),
        email_verified: email_verified(
            email,
            get(col::VERIFIED_EMAILS),
            get(col::UNVERIFIED_EMAILS),
        ),
        password_hash,
        password_hash_type,
        metadata: metadata_json(&metadata),
        totp_secret: get(col::TOTP_SECRET).to_string(),
        password_warning,
    }))
}

/// Maps every row of an output batch on rayon, keeping input order.
pub fn map_batch(
    batch: &RecordBatch,
    scrypt: &ScryptParams,
) -> Result<Vec<MappedRow>, DataFusionError> {
    let cols = OutColumns::new(batch)?;
    Ok((0..cols.len())
        .into_par_iter()
        .map(|row| map_row(&cols, row, scrypt))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn verified_rules() {
        assert!(email_verified("a@x.com", "b@x.com| A@X.com", ""));
        assert!(!email_verified("a@x.com", "b@x.com", "a@x.com;c@x.com"));
        assert!(email_verified("a@x.com", "a@x.com", "a@x.com"));
        assert!(email_verified("a@x.com", "", ""));
        assert!(!email_verified("ä@x.com", "", "Ä@X.COM"));
        assert_eq!(
            split_list(" a@x.com,b@x.com;c@x.com|d@x.com e@x.com\n").count(),
            5
        );
    }

    #[test]
    fn metadata_order_and_empty() {
        assert_eq!(
            metadata_json(&[("clerk_user_id", "u1"), ("username", ""), ("x", "q\"\n")]),
            r#"{"clerk_user_id":"u1","x":"q\"\n"}"#
        );
        assert_eq!(metadata_json(&[("clerk_user_id", "")]), "");
    }

    #[test]
    fn metadata_cell_is_the_quoted_json() {
        use arrow::array::StringArray;
        let rows: [[&str; 13]; 3] = [
            [
                "u1",
                "a@x.com",
                "",
                "",
                "ann",
                "+1",
                "",
                "",
                "a@x.com|b\"q\"@x.com",
                "",
                "",
                "",
                "",
            ],
            ["", "", "", "", "", "", "", "", "", "", "", "", ""],
            [
                "u\n2", "b@x.com", "", "", "", "", "\u{1}", "", "", "", "", "", "",
            ],
        ];
        let columns: Vec<ArrayRef> = (0..col::WIDTH)
            .map(|c| {
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r[c]).collect::<Vec<_>>(),
                )) as ArrayRef
            })
            .collect();
        let fields: Vec<_> = (0..col::WIDTH)
            .map(|i| arrow::datatypes::Field::new(format!("c{i}"), DataType::Utf8, true))
            .collect();
        let batch =
            RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), columns).unwrap();
        let cols = OutColumns::new(&batch).unwrap();
        for row in 0..rows.len() {
            let mut text = Vec::new();
            metadata_into(&cols, row, &mut text);
            let mut expected = Vec::new();
            crate::package::csv_writer::push_field(
                &mut expected,
                std::str::from_utf8(&text).unwrap(),
            );
            let mut out = Vec::new();
            metadata_cell(&cols, row, &mut out, &mut Vec::new());
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
    }

    #[test]
    fn warning_texts() {
        let w = password_warning(&PasswordOutcome::Unsupported, "md5", "u1").unwrap();
        assert_eq!(
            w,
            "Unsupported password hasher \"md5\" for user u1 (WorkOS has no equivalent hash type); password omitted."
        );
        let w = password_warning(
            &PasswordOutcome::Rejected("r".into()),
            "$2a$10$abcdefghijklmnopqrstuvwxyz",
            "u1",
        )
        .unwrap();
        assert!(w.contains("not shown") && !w.contains("abcdef"), "{w}");
    }

    #[test]
    fn sql_trims_lowercases_and_keeps_order() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("u.csv");
        let mut text = String::from("id,primary_email_address,first_name,totp_secret\n");
        for i in 0..50 {
            text.push_str(&format!(" u{i} , User{i}@X.COM\u{a0},\" Ann \nB \",\n"));
        }
        text.push_str("u50,,,SECRET\n");
        std::fs::write(&p, text).unwrap();
        let reader = ClerkReader::open(&p, 7).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let rows: Vec<MappedRow> = rt.block_on(async {
            let mut s = clerk_stream(reader).await.unwrap();
            let mut rows = Vec::new();
            while let Some(b) = s.stream.next().await {
                rows.extend(map_batch(&b.unwrap(), &ScryptParams::default()).unwrap());
            }
            rows
        });
        assert_eq!(rows.len(), 51);
        let MappedRow::User(u) = &rows[3] else {
            panic!()
        };
        assert_eq!(
            (
                u.external_id.as_str(),
                u.email.as_str(),
                u.first_name.as_str()
            ),
            ("u3", "user3@x.com", "Ann \nB")
        );
        assert_eq!(u.metadata, r#"{"clerk_user_id":"u3"}"#);
        assert!(u.email_verified && u.password_hash.is_empty() && u.password_warning.is_none());
        assert_eq!(
            rows[50],
            MappedRow::Skipped {
                clerk_user_id: "u50".into()
            }
        );
    }

    #[test]
    fn reader_failure_is_kept_verbatim() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("u.csv");
        std::fs::write(&p, "id,primary_email_address\nu1,a@x.com\nu2,b@x.com,x\n").unwrap();
        let reader = ClerkReader::open(&p, 1).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let failed = rt.block_on(async {
            let mut s = clerk_stream(reader).await.unwrap();
            while let Some(b) = s.stream.next().await {
                if b.is_err() {
                    break;
                }
            }
            let failed = s.failure.lock().unwrap().take();
            failed
        });
        let msg = failed.unwrap().to_string();
        assert!(
            msg.ends_with("line 3: record has 3 fields but the header has 2"),
            "{msg}"
        );
    }
}
