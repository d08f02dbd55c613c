//! Parquet part files of a snapshot in progress, and the final merge.
//!
//! Pages are streamed into a part (`<table>-<n>.parquet`) written under a
//! temporary name and renamed when closed, so a killed run never leaves a
//! part that looks complete; the checkpoint records closed parts only. At
//! the end every table's parts are concatenated, batch by batch, into its
//! final file (memory: one batch, whatever the size of the environment).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use crate::package::writer::create_private_file;

/// Rows per Parquet row group (bounds the writer's buffer).
const ROW_GROUP_ROWS: usize = 16 * 1024;

/// Errors writing or reading parts; each names its file.
#[derive(Debug, thiserror::Error)]
pub enum PartError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    Parquet { path: PathBuf, source: ParquetError },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> PartError + '_ {
    move |source| PartError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn pq_at(path: &Path) -> impl FnOnce(ParquetError) -> PartError + '_ {
    move |source| PartError::Parquet {
        path: path.to_path_buf(),
        source,
    }
}

fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build()
}

/// The path of part `n` of a table (`users-000004.parquet`).
pub fn part_path(dir: &Path, table: &str, n: u64) -> PathBuf {
    dir.join(format!("{table}-{n:06}.parquet"))
}

/// One Parquet file being written under `<path>.tmp`.
pub struct ParquetSink {
    path: PathBuf,
    tmp: PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
}

impl ParquetSink {
    /// Creates `<path>.tmp` (mode 0600; replaces a leftover).
    pub fn create(path: &Path, schema: SchemaRef) -> Result<Self, PartError> {
        let tmp = path.with_extension("parquet.tmp");
        let file = create_private_file(&tmp).map_err(io_at(&tmp))?;
        let writer = ArrowWriter::try_new(file, schema, Some(properties())).map_err(pq_at(&tmp))?;
        Ok(Self {
            path: path.to_path_buf(),
            tmp,
            writer,
            rows: 0,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), PartError> {
        self.rows += batch.num_rows() as u64;
        self.writer.write(batch).map_err(pq_at(&self.tmp))
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the footer, syncs and renames to the final name.
    pub fn close(self) -> Result<u64, PartError> {
        let Self {
            path,
            tmp,
            writer,
            rows,
        } = self;
        let file = writer.into_inner().map_err(pq_at(&tmp))?;
        file.sync_all().map_err(io_at(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_at(&path))?;
        Ok(rows)
    }
}

/// Calls `f` with every batch of a Parquet file, in order.
pub fn for_each_batch(
    path: &Path,
    mut f: impl FnMut(RecordBatch) -> Result<(), PartError>,
) -> Result<(), PartError> {
    let file = File::open(path).map_err(io_at(path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(pq_at(path))?
        .with_batch_size(8 * 1024)
        .build()
        .map_err(pq_at(path))?;
    for batch in reader {
        let batch = batch.map_err(|e| pq_at(path)(ParquetError::from(e)))?;
        f(batch)?;
    }
    Ok(())
}

/// Concatenates `parts` (in order) into `out`; returns the rows written.
pub fn merge_parts(parts: &[PathBuf], out: &Path, schema: SchemaRef) -> Result<u64, PartError> {
    let mut sink = ParquetSink::create(out, schema)?;
    for part in parts {
        for_each_batch(part, |batch| sink.write(&batch))?;
    }
    sink.close()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::tables::Table;
    use serde_json::json;

    #[test]
    fn parts_merge_in_order_and_tmp_files_never_look_final() {
        let dir = tempfile::tempdir().unwrap();
        let schema = Table::Users.schema();
        let mut paths = Vec::new();
        for n in 0..3u64 {
            let p = part_path(dir.path(), "users", n);
            let mut sink = ParquetSink::create(&p, schema.clone()).unwrap();
            assert!(!p.exists());
            let objs = [json!({"id": format!("user_{n}"), "email": "a@x.com"})];
            sink.write(&Table::Users.batch(&objs, None).unwrap())
                .unwrap();
            assert_eq!(sink.close().unwrap(), 1);
            paths.push(p);
        }
        let out = dir.path().join("users.parquet");
        assert_eq!(merge_parts(&paths, &out, schema).unwrap(), 3);
        let mut ids = Vec::new();
        for_each_batch(&out, |b| {
            let col = arrow::array::AsArray::as_string::<i32>(b.column(0));
            ids.extend(col.iter().map(|v| v.unwrap_or_default().to_string()));
            Ok(())
        })
        .unwrap();
        assert_eq!(ids, ["user_0", "user_1", "user_2"]);
    }
}
