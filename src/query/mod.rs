//! `query "SQL"`: ad-hoc DataFusion SQL over a migration package.
//!
//! Every canonical file of `--package DIR` is a table named after its file
//! stem (`users`, `organization_memberships`, `saml_connections`, …; the
//! `workos_upload/` copies are `upload_users`, `upload_organizations`,
//! `upload_memberships`). Package CSVs are read with their contract schema
//! (all columns text, empty = NULL) so ids are never mangled into numbers.
//! `--table NAME=PATH` adds any CSV, JSON-lines or Parquet file. Results
//! stream: CSV and JSON output is written batch by batch; the terminal table
//! shows at most [`TABLE_ROW_LIMIT`] rows.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::{
    CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionConfig, SessionContext,
};
use futures::StreamExt;

use crate::package::schema::{FileFormat, PACKAGE_FILES, SKIPPED_USERS, WARNINGS};

/// Rows shown by `--format table` (the rest are counted, not printed).
pub const TABLE_ROW_LIMIT: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Table,
    Csv,
    Json,
}

/// A `--table NAME=PATH` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraTable {
    pub name: String,
    pub path: PathBuf,
}

impl std::str::FromStr for ExtraTable {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, path) = s
            .split_once('=')
            .ok_or_else(|| format!("expected NAME=PATH, got \"{s}\""))?;
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "table name \"{name}\" must be letters, digits and _"
            ));
        }
        if path.is_empty() {
            return Err(format!("table {name}: empty path"));
        }
        Ok(Self {
            name: name.to_string(),
            path: PathBuf::from(path),
        })
    }
}

/// Errors of the `query` command. [`QueryError::exit_code`] maps them.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("Package directory not found: {0}")]
    PackageNotFound(PathBuf),
    #[error("nothing to query: pass --package DIR or --table NAME=PATH")]
    NoTables,
    #[error("{path}: file not found")]
    TableNotFound { path: PathBuf },
    #[error("{path}: unsupported table file (use .csv, .jsonl, .ndjson, .json or .parquet)")]
    UnsupportedFile { path: PathBuf },
    #[error("{path}: {source}")]
    Register {
        path: PathBuf,
        source: DataFusionError,
    },
    /// The SQL failed to plan or run: DataFusion's message.
    #[error("{0}")]
    Sql(DataFusionError),
    #[error("writing results: {0}")]
    Output(String),
    #[error("starting the query engine: {0}")]
    Runtime(io::Error),
}

impl QueryError {
    /// 2 for a bad query, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            QueryError::Sql(_) => 2,
            _ => 1,
        }
    }
}

/// Options of the `query` command.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    pub sql: String,
    pub package: Option<PathBuf>,
    pub tables: Vec<ExtraTable>,
    pub format: OutputFormat,
}

fn jsonl_fallback_schema(key: &str) -> Arc<Schema> {
    let names: &[&str] = if key == SKIPPED_USERS.key {
        &["timestamp", "reason"]
    } else {
        &["timestamp", "code", "message"]
    };
    Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ))
}

async fn register_package(ctx: &SessionContext, dir: &Path) -> Result<(), QueryError> {
    if !dir.is_dir() {
        return Err(QueryError::PackageNotFound(dir.to_path_buf()));
    }
    for file in PACKAGE_FILES.iter() {
        let path = dir.join(file.path);
        if !path.is_file() {
            continue;
        }
        let reg = |source| QueryError::Register {
            path: path.clone(),
            source,
        };
        let location = path.to_string_lossy().to_string();
        match file.format {
            FileFormat::Csv => {
                let schema = file.arrow_schema();
                let opts = CsvReadOptions::new().schema(&schema).has_header(true);
                ctx.register_csv(file.table, &location, opts)
                    .await
                    .map_err(reg)?;
            }
            FileFormat::Jsonl => {
                let empty = std::fs::metadata(&path)
                    .map(|m| m.len() == 0)
                    .unwrap_or(true);
                if empty {
                    let schema = jsonl_fallback_schema(file.key);
                    let table = MemTable::try_new(schema, vec![vec![]]).map_err(reg)?;
                    ctx.register_table(file.table, Arc::new(table))
                        .map_err(reg)?;
                } else {
                    let opts = JsonReadOptions::default().file_extension(".jsonl");
                    ctx.register_json(file.table, &location, opts)
                        .await
                        .map_err(reg)?;
                }
            }
            FileFormat::Json | FileFormat::Markdown => {}
        }
    }
    let _ = WARNINGS;
    Ok(())
}

async fn register_extra(ctx: &SessionContext, t: &ExtraTable) -> Result<(), QueryError> {
    if !t.path.is_file() {
        return Err(QueryError::TableNotFound {
            path: t.path.clone(),
        });
    }
    let location = t.path.to_string_lossy().to_string();
    let ext = t
        .path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let reg = |source| QueryError::Register {
        path: t.path.clone(),
        source,
    };
    let dotted = format!(".{ext}");
    match ext.as_str() {
        "csv" => ctx
            .register_csv(&t.name, &location, CsvReadOptions::new().has_header(true))
            .await
            .map_err(reg),
        "jsonl" | "ndjson" | "json" => ctx
            .register_json(
                &t.name,
                &location,
                JsonReadOptions::default().file_extension(&dotted),
            )
            .await
            .map_err(reg),
        "parquet" => ctx
            .register_parquet(&t.name, &location, ParquetReadOptions::default())
            .await
            .map_err(reg),
        _ => Err(QueryError::UnsupportedFile {
            path: t.path.clone(),
        }),
    }
}

/// Runs the query and writes the result to `out`.
pub fn run(
    opts: &QueryOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), QueryError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(QueryError::Runtime)?;
    runtime.block_on(run_async(opts, out, err))
}

async fn run_async(
    opts: &QueryOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), QueryError> {
    if opts.package.is_none() && opts.tables.is_empty() {
        return Err(QueryError::NoTables);
    }
    let config = SessionConfig::new().with_information_schema(true);
    let ctx = SessionContext::new_with_config(config);
    if let Some(dir) = &opts.package {
        register_package(&ctx, dir).await?;
    }
    for t in &opts.tables {
        register_extra(&ctx, t).await?;
    }
    let df = ctx.sql(&opts.sql).await.map_err(QueryError::Sql)?;
    let mut stream = df.execute_stream().await.map_err(QueryError::Sql)?;
    let out_err = |e: &dyn std::fmt::Display| QueryError::Output(e.to_string());
    match opts.format {
        OutputFormat::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            let mut wrote = false;
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(QueryError::Sql)?;
                writer.write(&batch).map_err(|e| out_err(&e))?;
                wrote = true;
            }
            if !wrote {
                let schema = stream.schema();
                writer
                    .write(&RecordBatch::new_empty(schema))
                    .map_err(|e| out_err(&e))?;
            }
        }
        OutputFormat::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut *out);
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(QueryError::Sql)?;
                writer.write(&batch).map_err(|e| out_err(&e))?;
            }
            writer.finish().map_err(|e| out_err(&e))?;
            drop(writer);
            out.write_all(b"\n").map_err(|e| out_err(&e))?;
        }
        OutputFormat::Table => {
            let mut shown: Vec<RecordBatch> = Vec::new();
            let mut shown_rows = 0usize;
            let mut total = 0usize;
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(QueryError::Sql)?;
                total += batch.num_rows();
                if shown_rows < TABLE_ROW_LIMIT {
                    let take = (TABLE_ROW_LIMIT - shown_rows).min(batch.num_rows());
                    shown_rows += take;
                    shown.push(batch.slice(0, take));
                }
            }
            if shown.is_empty() {
                shown.push(RecordBatch::new_empty(stream.schema()));
            }
            let table =
                arrow::util::pretty::pretty_format_batches(&shown).map_err(|e| out_err(&e))?;
            writeln!(out, "{table}").map_err(|e| out_err(&e))?;
            if total > shown_rows {
                writeln!(
                    err,
                    "({total} rows; showing the first {shown_rows}; use --format csv or json for all)"
                )
                .map_err(|e| out_err(&e))?;
            } else {
                writeln!(err, "({total} row{})", if total == 1 { "" } else { "s" })
                    .map_err(|e| out_err(&e))?;
            }
        }
    }
    out.flush().map_err(|e| out_err(&e))?;
    Ok(())
}
