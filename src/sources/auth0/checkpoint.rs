//! Export checkpoints of `export auth0` (`--job-id`, `--resume`; the
//! original accepted and ignored both, §4.1, §17.3).
//!
//! Organizations mode records, per finished organization, every package
//! record the organization produced (its row, users, memberships, role
//! assignments, upload rows, warnings, skipped users) in one Parquet segment
//! under `<output-dir>/.workos-checkpoints/<job-id>/`. A segment is written
//! to a temporary file and renamed once the organization is complete, so a
//! kill at any moment leaves only whole segments. A resumed run writes the
//! package from scratch: finished organizations are replayed from their
//! segments (no member listing, no profile fetch), the others are fetched.
//! The result equals an uninterrupted run's package (timestamps apart).
//! The checkpoint is removed once the manifest is written.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, RecordBatch, StringArray, StringBuilder, UInt8Array, UInt8Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use serde_json::Value;

use crate::package::jsonl::JsonlRecord;
use crate::package::schema::{file_by_key, PackageFile};
use crate::package::writer::{create_private_file, PackageWriteError};
use crate::package::MigrationPackageWriter;

/// Folder of export checkpoints inside the output directory.
pub const CHECKPOINT_DIR: &str = ".workos-checkpoints";
/// Records buffered before a Parquet batch is written.
const BATCH: usize = 4096;

/// Errors of the checkpoint store; one line each.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("export checkpoint {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("--job-id '{0}' may only hold letters, digits, '-', '_' and '.'")]
    BadJobId(String),
    #[error("the checkpoint of job '{job}' was made with other options ({what}); re-run without --resume to start over")]
    OptionsChanged { job: String, what: String },
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Where every writer of organizations mode sends its records: the package,
/// and (through [`Tee`]) the current organization's segment.
pub trait PackageSink {
    fn row(&mut self, file: &PackageFile, fields: &[&str]) -> Result<(), PackageWriteError>;
    /// `workos_upload/users.csv`: user_id, email, email_verified, first, last, hash.
    fn upload_user(&mut self, cells: [&str; 6]) -> Result<(), PackageWriteError>;
    fn upload_org(&mut self, org_external_id: &str, name: &str) -> Result<(), PackageWriteError>;
    fn upload_membership(
        &mut self,
        org_external_id: &str,
        external_id: &str,
    ) -> Result<(), PackageWriteError>;
    fn warn(&mut self, record: &JsonlRecord) -> Result<(), PackageWriteError>;
    fn skip(&mut self, record: &JsonlRecord) -> Result<(), PackageWriteError>;
}

impl PackageSink for MigrationPackageWriter {
    fn row(&mut self, file: &PackageFile, fields: &[&str]) -> Result<(), PackageWriteError> {
        self.write_row(file, fields)
    }
    fn upload_user(&mut self, c: [&str; 6]) -> Result<(), PackageWriteError> {
        self.upload().user(c[0], c[1], c[2], c[3], c[4], c[5])?;
        Ok(())
    }
    fn upload_org(&mut self, id: &str, name: &str) -> Result<(), PackageWriteError> {
        self.upload().organization("", id, name)?;
        Ok(())
    }
    fn upload_membership(&mut self, org: &str, user: &str) -> Result<(), PackageWriteError> {
        self.upload().membership("", org, user, "")?;
        Ok(())
    }
    fn warn(&mut self, record: &JsonlRecord) -> Result<(), PackageWriteError> {
        MigrationPackageWriter::warn(self, record)
    }
    fn skip(&mut self, record: &JsonlRecord) -> Result<(), PackageWriteError> {
        MigrationPackageWriter::skip(self, record)
    }
}

// Record kinds in a segment.
const ROW: u8 = 0;
const UPLOAD_USER: u8 = 1;
const UPLOAD_ORG: u8 = 2;
const UPLOAD_MEMBERSHIP: u8 = 3;
const WARNING: u8 = 4;
const SKIPPED: u8 = 5;

fn segment_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("kind", DataType::UInt8, false),
        // The file key for rows, else empty.
        Field::new("file", DataType::Utf8, false),
        // A JSON array of cells, or the JSONL record.
        Field::new("data", DataType::Utf8, false),
    ]))
}

/// One organization's records being written to a temporary Parquet file.
pub struct Segment {
    tmp: PathBuf,
    path: PathBuf,
    writer: ArrowWriter<File>,
    kind: UInt8Builder,
    file: StringBuilder,
    data: StringBuilder,
    pending: usize,
}

impl Segment {
    fn push(&mut self, kind: u8, file: &str, data: &str) -> Result<(), PackageWriteError> {
        self.kind.append_value(kind);
        self.file.append_value(file);
        self.data.append_value(data);
        self.pending += 1;
        if self.pending >= BATCH {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), PackageWriteError> {
        if self.pending == 0 {
            return Ok(());
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.kind.finish()),
            Arc::new(self.file.finish()),
            Arc::new(self.data.finish()),
        ];
        self.pending = 0;
        let batch = RecordBatch::try_new(segment_schema(), cols).map_err(|e| self.err(e))?;
        self.writer.write(&batch).map_err(|e| self.err(e))
    }

    fn err(&self, e: impl std::fmt::Display) -> PackageWriteError {
        PackageWriteError::Io {
            path: self.tmp.clone(),
            source: std::io::Error::other(e.to_string()),
        }
    }

    /// Makes the segment final (temp file synced and renamed).
    pub fn commit(mut self) -> Result<(), PackageWriteError> {
        self.flush_batch()?;
        let file = self
            .writer
            .into_inner()
            .map_err(|e| PackageWriteError::Io {
                path: self.tmp.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
        file.sync_all().map_err(|source| PackageWriteError::Io {
            path: self.tmp.clone(),
            source,
        })?;
        fs::rename(&self.tmp, &self.path).map_err(|source| PackageWriteError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

fn cells_json(fields: &[&str]) -> String {
    serde_json::to_string(fields).unwrap_or_else(|_| "[]".into())
}

/// Writes to the package and to the current segment at once.
pub struct Tee<'a> {
    pub pkg: &'a mut MigrationPackageWriter,
    pub segment: Option<&'a mut Segment>,
}

impl PackageSink for Tee<'_> {
    fn row(&mut self, file: &PackageFile, fields: &[&str]) -> Result<(), PackageWriteError> {
        self.pkg.write_row(file, fields)?;
        match self.segment.as_deref_mut() {
            Some(s) => s.push(ROW, file.key, &cells_json(fields)),
            None => Ok(()),
        }
    }
    fn upload_user(&mut self, c: [&str; 6]) -> Result<(), PackageWriteError> {
        PackageSink::upload_user(self.pkg, c)?;
        match self.segment.as_deref_mut() {
            Some(s) => s.push(UPLOAD_USER, "", &cells_json(&c)),
            None => Ok(()),
        }
    }
    fn upload_org(&mut self, id: &str, name: &str) -> Result<(), PackageWriteError> {
        PackageSink::upload_org(self.pkg, id, name)?;
        match self.segment.as_deref_mut() {
            Some(s) => s.push(UPLOAD_ORG, "", &cells_json(&[id, name])),
            None => Ok(()),
        }
    }
    fn upload_membership(&mut self, org: &str, user: &str) -> Result<(), PackageWriteError> {
        PackageSink::upload_membership(self.pkg, org, user)?;
        match self.segment.as_deref_mut() {
            Some(s) => s.push(UPLOAD_MEMBERSHIP, "", &cells_json(&[org, user])),
            None => Ok(()),
        }
    }
    fn warn(&mut self, record: &JsonlRecord) -> Result<(), PackageWriteError> {
        self.pkg.warn(record)?;
        match self.segment.as_deref_mut() {
            Some(s) => s.push(WARNING, "", &record.clone().into_value().to_string()),
            None => Ok(()),
        }
    }
    fn skip(&mut self, record: &JsonlRecord) -> Result<(), PackageWriteError> {
        self.pkg.skip(record)?;
        match self.segment.as_deref_mut() {
            Some(s) => s.push(SKIPPED, "", &record.clone().into_value().to_string()),
            None => Ok(()),
        }
    }
}

/// The checkpoint directory of one export job.
#[derive(Debug)]
pub struct ExportCheckpoint {
    dir: PathBuf,
    finished: HashSet<String>,
}

/// File name of an organization's segment: the id hex-encoded (ids may hold
/// `/`, `|` or anything else).
fn segment_name(org_id: &str) -> String {
    format!("org-{}.parquet", hex::encode(org_id.as_bytes()))
}

impl ExportCheckpoint {
    /// Opens the checkpoint of `job_id` in `output_dir`. Without `resume` an
    /// old checkpoint of that job is discarded. `fingerprint` describes the
    /// options that shape the package; resuming with others is refused.
    pub fn open(
        output_dir: &Path,
        job_id: &str,
        resume: bool,
        fingerprint: &Value,
    ) -> Result<Self, CheckpointError> {
        if job_id.is_empty()
            || job_id == "."
            || job_id == ".."
            || !job_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(CheckpointError::BadJobId(job_id.to_string()));
        }
        let dir = output_dir.join(CHECKPOINT_DIR).join(job_id);
        let state = dir.join("state.json");
        if resume && state.exists() {
            let text = fs::read_to_string(&state).map_err(|e| io_err(&state, e))?;
            let saved: Value = serde_json::from_str(&text).map_err(|e| io_err(&state, e))?;
            if saved.get("options") != Some(fingerprint) {
                let what = changed_keys(saved.get("options"), fingerprint);
                return Err(CheckpointError::OptionsChanged {
                    job: job_id.to_string(),
                    what,
                });
            }
        } else {
            if dir.exists() {
                fs::remove_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
            }
            fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
            let tmp = dir.join("state.json.tmp");
            let mut f = create_private_file(&tmp).map_err(|e| io_err(&tmp, e))?;
            let body = serde_json::json!({"jobId": job_id, "options": fingerprint});
            std::io::Write::write_all(&mut f, body.to_string().as_bytes())
                .map_err(|e| io_err(&tmp, e))?;
            f.sync_all().map_err(|e| io_err(&tmp, e))?;
            fs::rename(&tmp, &state).map_err(|e| io_err(&state, e))?;
        }
        let mut finished = HashSet::new();
        for entry in fs::read_dir(&dir).map_err(|e| io_err(&dir, e))? {
            let entry = entry.map_err(|e| io_err(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(hexid) = name
                .strip_prefix("org-")
                .and_then(|n| n.strip_suffix(".parquet"))
            {
                if let Some(id) = hex::decode(hexid)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                {
                    finished.insert(id);
                }
            } else if name.ends_with(".tmp") {
                // A segment that was being written when the run died.
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(Self { dir, finished })
    }

    /// Organizations whose segment is complete.
    pub fn finished(&self) -> &HashSet<String> {
        &self.finished
    }

    /// Starts the segment of an organization.
    pub fn begin(&self, org_id: &str) -> Result<Segment, PackageWriteError> {
        let path = self.dir.join(segment_name(org_id));
        let tmp = self.dir.join(format!("{}.tmp", segment_name(org_id)));
        let file = create_private_file(&tmp).map_err(|source| PackageWriteError::Io {
            path: tmp.clone(),
            source,
        })?;
        let writer = ArrowWriter::try_new(file, segment_schema(), None).map_err(|e| {
            PackageWriteError::Io {
                path: tmp.clone(),
                source: std::io::Error::other(e.to_string()),
            }
        })?;
        Ok(Segment {
            tmp,
            path,
            writer,
            kind: UInt8Builder::new(),
            file: StringBuilder::new(),
            data: StringBuilder::new(),
            pending: 0,
        })
    }

    /// Writes a finished organization's records into the package again.
    pub fn replay(
        &self,
        org_id: &str,
        pkg: &mut MigrationPackageWriter,
    ) -> Result<(), PackageWriteError> {
        let path = self.dir.join(segment_name(org_id));
        let bad = |m: String| PackageWriteError::Io {
            path: path.clone(),
            source: std::io::Error::other(m),
        };
        let file = File::open(&path).map_err(|source| PackageWriteError::Io {
            path: path.clone(),
            source,
        })?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.with_batch_size(BATCH).build())
            .map_err(|e| bad(e.to_string()))?;
        for batch in reader {
            let batch = batch.map_err(|e| bad(e.to_string()))?;
            let kinds = batch
                .column(0)
                .as_any()
                .downcast_ref::<UInt8Array>()
                .ok_or_else(|| bad("kind column".into()))?;
            let files = batch
                .column(1)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| bad("file column".into()))?;
            let data = batch
                .column(2)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| bad("data column".into()))?;
            for i in 0..kinds.len() {
                let d = data.value(i);
                match kinds.value(i) {
                    WARNING | SKIPPED => {
                        let v: Value = serde_json::from_str(d).map_err(|e| bad(e.to_string()))?;
                        let rec = JsonlRecord::from_value(v)
                            .ok_or_else(|| bad("record is not an object".into()))?;
                        if kinds.value(i) == WARNING {
                            pkg.warn(&rec)?;
                        } else {
                            pkg.skip(&rec)?;
                        }
                    }
                    kind => {
                        let cells: Vec<String> =
                            serde_json::from_str(d).map_err(|e| bad(e.to_string()))?;
                        let c: Vec<&str> = cells.iter().map(String::as_str).collect();
                        match (kind, c.as_slice()) {
                            (ROW, _) => {
                                let file = file_by_key(files.value(i)).ok_or_else(|| {
                                    bad(format!("unknown file {}", files.value(i)))
                                })?;
                                pkg.write_row(file, &c)?;
                            }
                            (UPLOAD_USER, [a, b, cc, dd, e, f]) => {
                                PackageSink::upload_user(pkg, [a, b, cc, dd, e, f])?
                            }
                            (UPLOAD_ORG, [id, name]) => PackageSink::upload_org(pkg, id, name)?,
                            (UPLOAD_MEMBERSHIP, [o, u]) => {
                                PackageSink::upload_membership(pkg, o, u)?
                            }
                            _ => return Err(bad(format!("unreadable record kind {kind}"))),
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Where a bulk export keeps its downloaded job file (complete once it
    /// has this name: downloads go to a `.partial` file first). A resumed
    /// run reads it instead of running a new job.
    pub fn job_file(&self) -> PathBuf {
        self.dir.join("export-job.json.gz")
    }

    /// The Auth0 export job this checkpoint started, if any: a resumed run
    /// polls it instead of starting another one.
    pub fn export_job_id(&self) -> Option<String> {
        fs::read_to_string(self.dir.join("export-job.id"))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// Records the export job of this run (temp file + rename).
    pub fn save_export_job_id(&self, id: &str) -> Result<(), CheckpointError> {
        let path = self.dir.join("export-job.id");
        let tmp = self.dir.join("export-job.id.tmp");
        fs::write(&tmp, id).map_err(|e| io_err(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))
    }

    /// Removes the checkpoint (after the manifest was written).
    pub fn remove(self, output_dir: &Path) {
        let _ = fs::remove_dir_all(&self.dir);
        // The parent folder goes too when no other job is in it.
        let _ = fs::remove_dir(output_dir.join(CHECKPOINT_DIR));
    }
}

fn changed_keys(saved: Option<&Value>, now: &Value) -> String {
    let (Some(Value::Object(a)), Value::Object(b)) = (saved, now) else {
        return "unreadable state".into();
    };
    let keys: Vec<&str> = b
        .iter()
        .filter(|(k, v)| a.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    if keys.is_empty() {
        "options".into()
    } else {
        keys.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn job_ids_are_plain_names() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in ["", "..", "a/b", "a b"] {
            assert!(ExportCheckpoint::open(tmp.path(), bad, false, &json!({})).is_err());
        }
        let cp = ExportCheckpoint::open(tmp.path(), "job-1", false, &json!({"a": 1})).unwrap();
        assert!(cp.finished().is_empty());
        let e = ExportCheckpoint::open(tmp.path(), "job-1", true, &json!({"a": 2})).unwrap_err();
        assert!(e.to_string().contains("(a)"), "{e}");
    }

    #[test]
    fn segments_are_found_by_org_id_and_temp_files_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let cp = ExportCheckpoint::open(tmp.path(), "j", false, &json!({})).unwrap();
        let mut s = cp.begin("org/a|b").unwrap();
        s.push(UPLOAD_ORG, "", &cells_json(&["org/a|b", "x"]))
            .unwrap();
        s.commit().unwrap();
        let _unfinished = cp.begin("org_2").unwrap();
        let cp = ExportCheckpoint::open(tmp.path(), "j", true, &json!({})).unwrap();
        assert_eq!(cp.finished().len(), 1);
        assert!(cp.finished().contains("org/a|b"));
    }
}
