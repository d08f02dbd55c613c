//! Users-export jobs (`POST /api/v2/jobs/users-exports`, `GET
//! /api/v2/jobs/{id}`) and their download: a gzip of NDJSON (or CSV)
//! generated on a blocking thread and streamed in 64 KiB chunks through a
//! bounded channel, so memory stays flat whatever the tenant size.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::api::ApiError;
use super::gzip::Gzip;
use super::tenant::{SyntheticTenant, DB_CONNECTION_NAME, DEFAULT_EXPORT_FIELDS};
use super::JobFault;

/// Compressed bytes handed to the HTTP body at a time.
const CHUNK: usize = 64 * 1024;
/// Explicit users copied out of the tenant per lock.
const BATCH: usize = 256;
/// What a junk line looks like (never valid JSON).
pub const JUNK_LINE: &str = "<<< not json: export worker hiccup >>>";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Csv,
}

impl ExportFormat {
    fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
        }
    }
}

/// `{name, export_as?}` of the request.
#[derive(Debug, Clone)]
pub struct ExportField {
    pub name: String,
    pub export_as: Option<String>,
}

impl ExportField {
    fn output_name(&self) -> &str {
        self.export_as.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Pending,
    Processing,
    Completed,
    Failed,
}

/// One export job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub format: ExportFormat,
    pub connection_id: Option<String>,
    pub connection_name: Option<String>,
    pub fields: Option<Vec<ExportField>>,
    pub limit: Option<u64>,
    pub created_at: String,
    pub polls: u32,
    pub status: JobStatus,
    pub faults: Vec<JobFault>,
}

fn bad_body(message: impl Into<String>) -> ApiError {
    ApiError::new(400, message, Some("invalid_body"))
}

/// The validated body of a job-creation request.
pub struct JobRequest {
    pub format: ExportFormat,
    pub connection_id: Option<String>,
    pub fields: Option<Vec<ExportField>>,
    pub limit: Option<u64>,
}

impl JobRequest {
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| bad_body("Payload validation error: 'Invalid JSON'."))?;
        let map = value.as_object().ok_or_else(|| {
            bad_body("Payload validation error: 'Expected type object but found type other'.")
        })?;
        let format = match map.get("format") {
            None => ExportFormat::Csv,
            Some(Value::String(f)) if f == "json" => ExportFormat::Json,
            Some(Value::String(f)) if f == "csv" => ExportFormat::Csv,
            Some(_) => {
                return Err(bad_body(
                    "Payload validation error: 'No enum match for: format' on property format (The format of the file. Must be json or csv).",
                ))
            }
        };
        let connection_id =
            match map.get("connection_id") {
                None | Some(Value::Null) => None,
                Some(Value::String(c)) => Some(c.clone()),
                Some(_) => return Err(bad_body(
                    "Payload validation error: 'Expected type string' on property connection_id.",
                )),
            };
        let limit = match map.get("limit") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(l) if l > 0 => Some(l),
                _ => return Err(bad_body(
                    "Payload validation error: 'Expected a positive integer' on property limit.",
                )),
            },
        };
        let fields = match map.get("fields") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let mut fields = Vec::with_capacity(items.len());
                for item in items {
                    let name = item.get("name").and_then(Value::as_str).ok_or_else(|| {
                        bad_body("Payload validation error: 'Missing required property: name' on property fields.")
                    })?;
                    let export_as = match item.get("export_as") {
                        None | Some(Value::Null) => None,
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(_) => {
                            return Err(bad_body(
                                "Payload validation error: 'Expected type string' on property export_as.",
                            ))
                        }
                    };
                    fields.push(ExportField {
                        name: name.to_string(),
                        export_as,
                    });
                }
                (!fields.is_empty()).then_some(fields)
            }
            Some(_) => {
                return Err(bad_body(
                    "Payload validation error: 'Expected type array' on property fields.",
                ))
            }
        };
        Ok(Self {
            format,
            connection_id,
            fields,
            limit,
        })
    }
}

impl Job {
    pub fn file_name(&self) -> String {
        format!("{}.{}.gz", self.id, self.format.as_str())
    }

    /// Advances one state per poll: pending → processing → completed (or
    /// failed) after `polls_to_complete` polls.
    pub fn poll(&mut self, polls_to_complete: u32) {
        if matches!(self.status, JobStatus::Completed | JobStatus::Failed) {
            return;
        }
        self.polls += 1;
        self.status = if self.polls >= polls_to_complete.max(1) {
            if self.failure().is_some() {
                JobStatus::Failed
            } else {
                JobStatus::Completed
            }
        } else {
            JobStatus::Processing
        };
    }

    fn failure(&self) -> Option<&str> {
        self.faults.iter().find_map(|f| match f {
            JobFault::Fail(msg) => Some(msg.as_str()),
            _ => None,
        })
    }

    pub fn to_json(&self, base_url: &str) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), "users_export".into());
        let status = match self.status {
            JobStatus::Pending => "pending",
            JobStatus::Processing => "processing",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
        };
        m.insert("status".into(), status.into());
        if let Some(c) = &self.connection_id {
            m.insert("connection_id".into(), c.clone().into());
        }
        if let Some(c) = &self.connection_name {
            m.insert("connection".into(), c.clone().into());
        }
        m.insert("format".into(), self.format.as_str().into());
        if let Some(l) = self.limit {
            m.insert("limit".into(), l.into());
        }
        if let Some(fields) = &self.fields {
            let list: Vec<Value> = fields
                .iter()
                .map(|f| match &f.export_as {
                    Some(a) => json!({"name": f.name, "export_as": a}),
                    None => json!({"name": f.name}),
                })
                .collect();
            m.insert("fields".into(), Value::Array(list));
        }
        m.insert("created_at".into(), self.created_at.clone().into());
        m.insert("id".into(), self.id.clone().into());
        match self.status {
            JobStatus::Processing => {
                m.insert("percentage_done".into(), 50.into());
                m.insert("time_left_seconds".into(), 1.into());
            }
            JobStatus::Completed => {
                m.insert(
                    "location".into(),
                    format!("{base_url}/__downloads/{}", self.file_name()).into(),
                );
                m.insert("percentage_done".into(), 100.into());
                m.insert("time_left_seconds".into(), 0.into());
            }
            JobStatus::Failed => {
                let msg = self.failure().unwrap_or("export failed");
                m.insert("error".into(), msg.into());
            }
            JobStatus::Pending => {}
        }
        Value::Object(m)
    }
}

/// Copies explicit users `[start, start + n)` out of the tenant.
pub type FetchExplicit = Arc<dyn Fn(usize, usize) -> Vec<Value> + Send + Sync>;

/// Everything the download generator needs (no reference to the state).
pub struct ExportSpec {
    pub format: ExportFormat,
    pub fields: Option<Vec<ExportField>>,
    pub connection_name: Option<String>,
    pub limit: Option<u64>,
    pub truncate_after_lines: Option<u64>,
    pub junk_every: Option<u64>,
    pub synthetic: Option<SyntheticTenant>,
    pub explicit_users: usize,
    pub gzip_level: u32,
}

impl ExportSpec {
    pub fn new(
        job: &Job,
        synthetic: Option<SyntheticTenant>,
        explicit_users: usize,
        gzip_level: u32,
    ) -> Self {
        let mut truncate_after_lines = None;
        let mut junk_every = None;
        for f in &job.faults {
            match f {
                JobFault::TruncateAfter(n) => truncate_after_lines = Some(*n),
                JobFault::JunkEvery(n) if *n > 0 => junk_every = Some(*n),
                _ => {}
            }
        }
        Self {
            format: job.format,
            fields: job.fields.clone(),
            connection_name: job.connection_name.clone(),
            limit: job.limit,
            truncate_after_lines,
            junk_every,
            synthetic,
            explicit_users,
            gzip_level,
        }
    }
}

impl ExportSpec {
    /// The file name a prepared download of this spec is kept under in a
    /// job-file cache; `None` when the job has faults (never cached).
    fn cache_name(&self) -> Option<String> {
        if self.truncate_after_lines.is_some() || self.junk_every.is_some() {
            return None;
        }
        let fields = self.fields.as_ref().map(|f| {
            f.iter()
                .map(|f| format!("{}>{}", f.name, f.output_name()))
                .collect::<Vec<_>>()
                .join(",")
        });
        let key = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{}|{}",
            self.format,
            fields,
            self.connection_name,
            self.limit,
            self.synthetic.map(|s| (s.users, s.orgs)),
            self.explicit_users,
            self.gzip_level
        );
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(&key, &mut h);
        Some(format!("job-{:016x}.gz", std::hash::Hasher::finish(&h)))
    }
}

/// The streamed gzip body of a completed job. With a `cache` directory
/// (bench runs: `fake-auth0 --job-file-cache DIR`), a download is kept there
/// and a later job with the same fields and tenant is served from the file,
/// the way Auth0 serves a file it prepared before the job completed.
pub fn download_body(spec: ExportSpec, fetch: FetchExplicit, cache: Option<&Path>) -> Body {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    match cache
        .zip(spec.cache_name())
        .map(|(dir, name)| dir.join(name))
    {
        Some(path) if path.is_file() => {
            tokio::task::spawn_blocking(move || serve_file(&path, tx));
        }
        Some(path) => {
            tokio::task::spawn_blocking(move || {
                let (inner_tx, mut inner_rx) = mpsc::channel(4);
                let tee = std::thread::spawn(move || tee_to_file(&mut inner_rx, &path, tx));
                generate(spec, fetch, inner_tx);
                let _ = tee.join();
            });
        }
        None => {
            tokio::task::spawn_blocking(move || generate(spec, fetch, tx));
        }
    }
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Body::from_stream(stream)
}

type Chunks = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// Streams a prepared job file.
fn serve_file(path: &Path, tx: Chunks) {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            let _ = tx.blocking_send(Err(e));
            return;
        }
    };
    loop {
        let mut buf = vec![0u8; 1 << 20];
        match file.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                buf.truncate(n);
                if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    }
}

/// Forwards generated chunks to the client and into `path` (temp file,
/// renamed when the whole download was generated).
fn tee_to_file(rx: &mut mpsc::Receiver<Result<Bytes, std::io::Error>>, path: &Path, tx: Chunks) {
    let tmp = path.with_extension("partial");
    let mut file = std::fs::File::create(&tmp).ok();
    let mut complete = true;
    while let Some(chunk) = rx.blocking_recv() {
        match &chunk {
            Ok(bytes) => {
                if let Some(f) = file.as_mut() {
                    if f.write_all(bytes).is_err() {
                        file = None;
                    }
                }
            }
            Err(_) => complete = false,
        }
        if tx.blocking_send(chunk).is_err() {
            complete = false;
            break;
        }
    }
    if complete && file.is_some() {
        let _ = std::fs::rename(&tmp, path);
    } else {
        let _ = std::fs::remove_file(&tmp);
    }
}

struct Writer {
    enc: Gzip,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    users: u64,
    limit: Option<u64>,
    junk_every: Option<u64>,
    truncate_after: Option<u64>,
    /// Stop: truncated, limit reached or the client went away.
    stopped: bool,
    truncated: bool,
}

impl Writer {
    fn send(&mut self, bytes: Vec<u8>) {
        if !bytes.is_empty() && self.tx.blocking_send(Ok(Bytes::from(bytes))).is_err() {
            self.stopped = true;
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.enc.write_all(bytes).is_err() {
            self.stopped = true;
        }
    }

    /// Writes one user line (with its trailing newline); `false` = stop.
    fn user(&mut self, line: &str) -> bool {
        if self.stopped || self.limit.is_some_and(|l| self.users >= l) {
            self.stopped = true;
            return false;
        }
        self.write(line.as_bytes());
        self.users += 1;
        if self
            .junk_every
            .is_some_and(|n| self.users.is_multiple_of(n))
        {
            self.write(JUNK_LINE.as_bytes());
            self.write(b"\n");
        }
        if self.truncate_after == Some(self.users) {
            // Sync-flush so the client gets whole lines, then stop without
            // the final block and the gzip trailer.
            let _ = self.enc.flush();
            let buf = self.enc.take(0);
            self.send(buf);
            self.truncated = true;
            self.stopped = true;
            return false;
        }
        if self.enc.buffered() >= CHUNK {
            let buf = self.enc.take(CHUNK * 2);
            self.send(buf);
        }
        !self.stopped
    }

    fn finish(mut self) {
        if self.truncated || self.tx.is_closed() {
            return;
        }
        let enc = std::mem::replace(&mut self.enc, Gzip::new(0, 0));
        match enc.finish() {
            Ok(buf) => self.send(buf),
            Err(e) => {
                let _ = self.tx.blocking_send(Err(e));
            }
        }
    }
}

fn generate(
    spec: ExportSpec,
    fetch: FetchExplicit,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let mut w = Writer {
        enc: Gzip::new(spec.gzip_level, CHUNK * 2),
        tx,
        users: 0,
        limit: spec.limit,
        junk_every: spec.junk_every,
        truncate_after: spec.truncate_after_lines,
        stopped: false,
        truncated: false,
    };
    let default_fields: Vec<ExportField> = DEFAULT_EXPORT_FIELDS
        .iter()
        .map(|n| ExportField {
            name: (*n).to_string(),
            export_as: None,
        })
        .collect();
    let fields = spec.fields.as_deref().unwrap_or(&default_fields);
    if spec.format == ExportFormat::Csv {
        let header: Vec<String> = fields.iter().map(|f| csv_cell(f.output_name())).collect();
        w.write(header.join(",").as_bytes());
        w.write(b"\n");
    }
    let mut line = String::with_capacity(1024);
    if let Some(s) = spec.synthetic {
        let included = spec
            .connection_name
            .as_deref()
            .is_none_or(|c| c == DB_CONNECTION_NAME);
        let fast = spec.format == ExportFormat::Json && spec.fields.is_none();
        for i in 0..if included { s.users } else { 0 } {
            line.clear();
            if fast {
                s.write_default_line(i, &mut line);
            } else {
                render(&s.user(i), fields, spec.format, &mut line);
            }
            if !w.user(&line) {
                break;
            }
        }
    }
    let mut start = 0;
    while !w.stopped && start < spec.explicit_users {
        let batch = fetch(start, BATCH);
        if batch.is_empty() {
            break;
        }
        start += batch.len();
        for user in &batch {
            if let Some(c) = spec.connection_name.as_deref() {
                if !has_connection(user, c) {
                    continue;
                }
            }
            line.clear();
            render(user, fields, spec.format, &mut line);
            if !w.user(&line) {
                break;
            }
        }
    }
    w.finish();
}

fn has_connection(user: &Value, connection: &str) -> bool {
    user.get("identities")
        .and_then(Value::as_array)
        .is_some_and(|ids| ids.iter().any(|i| i["connection"] == connection))
}

/// A field by exact key, else by dotted path (`user_metadata.plan`).
fn lookup<'a>(user: &'a Value, name: &str) -> Option<&'a Value> {
    if let Some(v) = user.get(name) {
        return Some(v);
    }
    let mut cur = user;
    for part in name.split('.') {
        cur = cur.get(part)?;
    }
    Some(cur)
}

/// One output line (with newline) holding only the requested fields.
pub fn render(user: &Value, fields: &[ExportField], format: ExportFormat, out: &mut String) {
    match format {
        ExportFormat::Json => {
            let mut m = Map::new();
            for f in fields {
                if let Some(v) = lookup(user, &f.name) {
                    m.insert(f.output_name().to_string(), v.clone());
                }
            }
            out.push_str(&Value::Object(m).to_string());
        }
        ExportFormat::Csv => {
            let cells: Vec<String> = fields
                .iter()
                .map(|f| match lookup(user, &f.name) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => csv_cell(s),
                    Some(v) => csv_cell(&v.to_string()),
                })
                .collect();
            out.push_str(&cells.join(","));
        }
    }
    out.push('\n');
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
