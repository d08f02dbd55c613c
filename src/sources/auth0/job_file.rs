//! The file of an Auth0 export job (§4.6): downloaded to the checkpoint
//! (through a `.partial` file renamed once complete), gunzipped and split
//! into batches of whole lines on a reader thread, never held whole.
//!
//! A job file is read either from disk (an earlier run downloaded it) or
//! while it downloads: the download task writes each chunk to the file and
//! hands it to the reader thread too, so gunzipping and mapping start with
//! the first chunk instead of after the last one. The package is the same
//! either way; a download that fails stops the export with the download's
//! own error.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use flate2::read::MultiGzDecoder;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::bulk::BulkError;
use super::client::Auth0Client;
use crate::package::writer::{create_private_file, BufferPool};

/// A job-file line longer than this is reported as unreadable.
pub(super) const MAX_LINE: usize = 16 << 20;

/// Downloaded chunks queued for the reader thread (the download waits
/// beyond this; memory stays bounded).
const CHUNKS_QUEUED: usize = 64;

/// How long a failed export waits for its download task to say why.
const DOWNLOAD_REPORT_WAIT: Duration = Duration::from_secs(5);

/// One downloaded chunk (reqwest's buffer, not copied).
type Chunk = Box<dyn AsRef<[u8]> + Send + Sync>;

/// Downloads the job file at `location` to `path` through `<path>.partial`,
/// renamed once complete; each chunk also goes to `tee` when given.
/// `Ok(false)`: `tee`'s reader has gone, so the download stopped and the
/// file was not completed.
pub(super) async fn download(
    client: &Auth0Client,
    location: &str,
    path: &Path,
    tee: Option<&mpsc::Sender<Result<Chunk, String>>>,
) -> Result<bool, BulkError> {
    let partial = path.with_extension("partial");
    let file_err = |message: String| BulkError::File {
        path: partial.clone(),
        message,
    };
    let resp = client.download(location).await?;
    let mut out = std::io::BufWriter::with_capacity(
        1 << 20,
        create_private_file(&partial).map_err(|e| file_err(e.to_string()))?,
    );
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            file_err(format!(
                "download interrupted: {}",
                crate::sources::sso::http::error_text(&e)
            ))
        })?;
        out.write_all(&chunk).map_err(|e| file_err(e.to_string()))?;
        if let Some(tx) = tee {
            if tx.send(Ok(Box::new(chunk))).await.is_err() {
                return Ok(false);
            }
        }
    }
    out.flush().map_err(|e| file_err(e.to_string()))?;
    drop(out);
    std::fs::rename(&partial, path).map_err(|e| BulkError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(true)
}

/// The batches of a job file being downloaded to `path`, and the download
/// task (its result says why the batches ended early, if they did).
pub(super) fn downloading_batches(
    client: Arc<Auth0Client>,
    location: String,
    path: PathBuf,
    pool: BufferPool,
) -> Result<(JobBatches, JoinHandle<Result<bool, BulkError>>), BulkError> {
    let (tx, rx) = mpsc::channel(CHUNKS_QUEUED);
    let batches = spawn_reader(
        Box::new(ChunkReader {
            rx,
            chunk: None,
            at: 0,
        }),
        &path,
        pool,
    )?;
    let task = tokio::spawn(async move {
        let result = download(&client, &location, &path, Some(&tx)).await;
        if let Err(e) = &result {
            let _ = tx.send(Err(e.to_string())).await;
        }
        result
    });
    Ok((batches, task))
}

/// Settles a finished export's download task: the download's own error
/// when it failed (it explains a failed read), else `read`. After a failed
/// read the task is given [`DOWNLOAD_REPORT_WAIT`] to finish, then dropped.
pub(super) async fn settle_download<T>(
    task: JoinHandle<Result<bool, BulkError>>,
    read: Result<T, BulkError>,
    path: &Path,
) -> Result<T, BulkError> {
    let mut task = task;
    let done = if read.is_ok() {
        Some(task.await)
    } else {
        match tokio::time::timeout(DOWNLOAD_REPORT_WAIT, &mut task).await {
            Ok(done) => Some(done),
            Err(_) => {
                task.abort();
                None
            }
        }
    };
    match done {
        Some(Ok(Err(e))) => Err(e),
        Some(Err(e)) if e.is_panic() => Err(BulkError::File {
            path: path.to_path_buf(),
            message: "the download task panicked".into(),
        }),
        _ => read,
    }
}

/// Reads the chunks a download hands over (blocking: reader thread only).
struct ChunkReader {
    rx: mpsc::Receiver<Result<Chunk, String>>,
    chunk: Option<Chunk>,
    /// Bytes of `chunk` already read.
    at: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(chunk) = &self.chunk {
                let bytes: &[u8] = (**chunk).as_ref();
                let rest = bytes.get(self.at..).unwrap_or_default();
                if !rest.is_empty() {
                    let n = rest.len().min(buf.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    self.at += n;
                    return Ok(n);
                }
            }
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Err(message)) => return Err(std::io::Error::other(message)),
                Some(Ok(chunk)) => {
                    self.chunk = Some(chunk);
                    self.at = 0;
                }
            }
        }
    }
}

/// Bytes read from the (gunzipped) job file per batch.
pub(super) const BATCH_BYTES: usize = 4 << 20;

/// A run of whole job-file lines in one buffer, with the 1-based number and
/// the byte range of each line (newline excluded). Lines longer than
/// [`MAX_LINE`] are not kept: their numbers are in `overlong`.
#[derive(Default)]
pub(super) struct LineBatch {
    pub data: Vec<u8>,
    pub lines: Vec<(u64, std::ops::Range<usize>)>,
    pub overlong: Vec<u64>,
}

impl LineBatch {
    pub fn line(&self, at: &std::ops::Range<usize>) -> &[u8] {
        &self.data[at.clone()]
    }
}

/// Splits a byte stream into [`LineBatch`]es: whole lines only, the
/// unfinished last line carried to the next batch.
struct LineSplitter {
    /// Where batch buffers come from (consumers give them back).
    pool: BufferPool,
    line_no: u64,
    /// Bytes of an unfinished line (the start of the next batch).
    carry: Vec<u8>,
    /// Inside a line already reported as overlong: drop bytes to its end.
    skipping: bool,
}

impl LineSplitter {
    /// Reads about [`BATCH_BYTES`]; `None` at the end of the stream.
    fn next_batch(&mut self, reader: &mut dyn Read) -> std::io::Result<Option<LineBatch>> {
        let mut data = self.pool.take(self.carry.len() + BATCH_BYTES);
        data.extend_from_slice(&self.carry);
        self.carry.clear();
        let kept = data.len();
        data.resize(kept + BATCH_BYTES, 0);
        let mut filled = kept;
        while filled < data.len() {
            match reader.read(&mut data[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let eof = filled < data.len();
        data.truncate(filled);
        if data.is_empty() {
            return Ok(None);
        }
        let mut batch = LineBatch::default();
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', &data) {
            self.push_line(&mut batch, start..end);
            start = end + 1;
        }
        if eof {
            if start < data.len() {
                self.push_line(&mut batch, start..data.len());
            }
            start = data.len();
        } else if self.skipping {
            // Still inside an overlong line: nothing to carry.
        } else if data.len() - start > MAX_LINE {
            self.line_no += 1;
            batch.overlong.push(self.line_no);
            self.skipping = true;
        } else {
            self.carry.extend_from_slice(&data[start..]);
        }
        data.truncate(start);
        batch.data = data;
        Ok(Some(batch))
    }

    fn push_line(&mut self, batch: &mut LineBatch, at: std::ops::Range<usize>) {
        if self.skipping {
            // The end of an overlong line, already counted.
            self.skipping = false;
            return;
        }
        self.line_no += 1;
        if at.len() > MAX_LINE {
            batch.overlong.push(self.line_no);
        } else {
            batch.lines.push((self.line_no, at));
        }
    }
}

/// The batches of a downloaded job file (see [`spawn_reader`]).
pub(super) fn file_batches(path: &Path, pool: BufferPool) -> Result<JobBatches, BulkError> {
    let file = File::open(path).map_err(|e| BulkError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    spawn_reader(Box::new(file), path, pool)
}

/// Batches of job-file lines in file order, read ahead on a reader thread;
/// dropping it stops the thread.
pub(super) struct JobBatches {
    rx: std::sync::mpsc::Receiver<Result<LineBatch, String>>,
    path: PathBuf,
}

impl Iterator for JobBatches {
    type Item = Result<LineBatch, BulkError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.rx.recv().ok()?;
        Some(batch.map_err(|message| BulkError::File {
            path: self.path.clone(),
            message,
        }))
    }
}

/// Reads `source` — gzip (sniffed by its magic bytes) or plain NDJSON — on
/// a reader thread, at most two batches ahead of the consumer. Batch
/// buffers are taken from `pool` (give them back when done).
fn spawn_reader(
    source: Box<dyn Read + Send>,
    path: &Path,
    pool: BufferPool,
) -> Result<JobBatches, BulkError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<LineBatch, String>>(2);
    std::thread::Builder::new()
        .name("auth0-job-reader".into())
        .spawn(move || {
            let mut reader = match sniffed(source) {
                Ok(reader) => reader,
                Err(e) => {
                    let _ = tx.send(Err(format!("cannot be read ({e})")));
                    return;
                }
            };
            let mut splitter = LineSplitter {
                pool,
                line_no: 0,
                carry: Vec::new(),
                skipping: false,
            };
            loop {
                let next = match splitter.next_batch(&mut reader) {
                    Ok(None) => return,
                    Ok(Some(batch)) => Ok(batch),
                    Err(e) => Err(format!(
                        "cannot be read ({e}); is the gzip stream truncated?"
                    )),
                };
                let failed = next.is_err();
                if tx.send(next).is_err() || failed {
                    return;
                }
            }
        })
        .map_err(|e| BulkError::File {
            path: path.to_path_buf(),
            message: format!("cannot start the reader thread: {e}"),
        })?;
    Ok(JobBatches {
        rx,
        path: path.to_path_buf(),
    })
}

/// `source` gunzipped when it starts with the gzip magic bytes.
fn sniffed(mut source: Box<dyn Read + Send>) -> std::io::Result<Box<dyn Read + Send>> {
    let mut magic = [0u8; 2];
    let mut n = 0;
    while n < magic.len() {
        match source.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let source = std::io::Cursor::new(magic[..n].to_vec()).chain(source);
    Ok(if magic[..n] == [0x1f, 0x8b] {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(
            1 << 20,
            source,
        )))
    } else {
        Box::new(source)
    })
}

/// A job line without a UTF-8 BOM and surrounding ASCII whitespace.
pub(super) fn trim_line(raw: &[u8]) -> &[u8] {
    let mut s = raw;
    if let Some(rest) = s.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        s = rest;
    }
    while let Some((last, rest)) = s.split_last() {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let Some((first, rest)) = s.split_first() {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}
