//! Collects `validate --csv` findings while they stream and prints the result:
//! counts per rule, the first few issues for a terminal (import.md §3.2), or a
//! complete JSON document. Issues and fixes are spilled to temporary files,
//! never held in memory; the JSON is only written once the run succeeded.

use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};
use std::path::PathBuf;

use serde::Serialize;

use super::fix::Fix;
use super::rules::{RowIssue, Severity};

const SHOWN_ERRORS: usize = 20;
const SHOWN_WARNINGS: usize = 10;

/// Orders shown issues by (row, arrival) so the heap keeps the lowest rows.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Ranked(u64, u64, ShownIssue);

#[derive(PartialEq, Eq, PartialOrd, Ord, Clone)]
struct ShownIssue {
    row: u64,
    line: u64,
    column: Option<&'static str>,
    message: String,
}

/// Bounded "first N by row" selection.
struct FirstN {
    limit: usize,
    heap: BinaryHeap<Ranked>,
    arrivals: u64,
}

impl FirstN {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            heap: BinaryHeap::new(),
            arrivals: 0,
        }
    }

    fn offer(&mut self, issue: &RowIssue) {
        self.arrivals += 1;
        let item = Ranked(
            issue.row,
            self.arrivals,
            ShownIssue {
                row: issue.row,
                line: issue.line,
                column: issue.column,
                message: issue.message.clone(),
            },
        );
        if self.heap.len() < self.limit {
            self.heap.push(item);
        } else if self
            .heap
            .peek()
            .is_some_and(|top| (item.0, item.1) < (top.0, top.1))
        {
            self.heap.pop();
            self.heap.push(item);
        }
    }

    fn sorted(self) -> Vec<ShownIssue> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.2)
            .collect()
    }
}

/// Final figures of a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub valid: bool,
    pub total_rows: u64,
    pub valid_rows: u64,
    pub errors: u64,
    pub warnings: u64,
    pub duplicate_emails: u64,
    pub fixes_applied: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_csv: Option<PathBuf>,
    pub by_rule: BTreeMap<&'static str, u64>,
    pub duration_ms: u128,
}

/// Receives issues and fixes as they are found.
pub struct IssueSink {
    pub errors: u64,
    pub warnings: u64,
    pub fixes: u64,
    pub by_rule: BTreeMap<&'static str, u64>,
    shown_errors: FirstN,
    shown_warnings: FirstN,
    issue_log: Option<BufWriter<File>>,
    fix_log: Option<BufWriter<File>>,
    /// Bit per data row: set when the row has at least one error.
    error_rows: Vec<u64>,
    error_row_count: u64,
}

impl IssueSink {
    /// `keep_logs`: spill every issue and fix for the JSON report.
    pub fn new(keep_logs: bool) -> io::Result<Self> {
        let log = || -> io::Result<Option<BufWriter<File>>> {
            Ok(if keep_logs {
                Some(BufWriter::new(tempfile::tempfile()?))
            } else {
                None
            })
        };
        Ok(Self {
            errors: 0,
            warnings: 0,
            fixes: 0,
            by_rule: BTreeMap::new(),
            shown_errors: FirstN::new(SHOWN_ERRORS),
            shown_warnings: FirstN::new(SHOWN_WARNINGS),
            issue_log: log()?,
            fix_log: log()?,
            error_rows: Vec::new(),
            error_row_count: 0,
        })
    }

    pub fn issue(&mut self, issue: &RowIssue) -> io::Result<()> {
        *self.by_rule.entry(issue.rule).or_default() += 1;
        match issue.severity {
            Severity::Error => {
                self.errors += 1;
                self.shown_errors.offer(issue);
                if issue.row > 0 {
                    self.mark_error_row(issue.row);
                }
            }
            Severity::Warning => {
                self.warnings += 1;
                self.shown_warnings.offer(issue);
            }
        }
        if let Some(log) = &mut self.issue_log {
            serde_json::to_writer(&mut *log, issue).map_err(io::Error::other)?;
            log.write_all(b"\n")?;
        }
        Ok(())
    }

    pub fn fix(&mut self, fix: &Fix) -> io::Result<()> {
        self.fixes += 1;
        if let Some(log) = &mut self.fix_log {
            serde_json::to_writer(&mut *log, fix).map_err(io::Error::other)?;
            log.write_all(b"\n")?;
        }
        Ok(())
    }

    fn mark_error_row(&mut self, row: u64) {
        let word = (row / 64) as usize;
        if self.error_rows.len() <= word {
            self.error_rows.resize(word + 1, 0);
        }
        let bit = 1u64 << (row % 64);
        if self.error_rows[word] & bit == 0 {
            self.error_rows[word] |= bit;
            self.error_row_count += 1;
        }
    }

    /// Rows with at least one error.
    pub fn error_rows(&self) -> u64 {
        self.error_row_count
    }

    /// Prints the terminal report (import.md §3.2, with row/line/column and
    /// per-rule counts). `quiet` prints only the errors of an invalid file.
    pub fn print_human(
        self,
        summary: &Summary,
        quiet: bool,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let errors = self.shown_errors.sorted();
        let warnings = self.shown_warnings.sorted();
        if quiet {
            if !summary.valid {
                print_section(out, "Errors", summary.errors, &errors)?;
            }
            return Ok(());
        }
        writeln!(out, "Validating CSV...")?;
        if summary.errors > 0 {
            writeln!(out)?;
            print_section(out, "Errors", summary.errors, &errors)?;
        }
        if summary.warnings > 0 {
            writeln!(out)?;
            print_section(out, "Warnings", summary.warnings, &warnings)?;
        }
        if summary.duplicate_emails > 0 {
            writeln!(out)?;
            writeln!(out, "Duplicate emails: {}", summary.duplicate_emails)?;
        }
        if summary.fixes_applied > 0 {
            writeln!(out)?;
            writeln!(out, "Auto-fixes applied: {}", summary.fixes_applied)?;
            if let Some(path) = &summary.fixed_csv {
                writeln!(out, "Fixed CSV written to {}", path.display())?;
            }
        }
        if !summary.by_rule.is_empty() {
            writeln!(out)?;
            writeln!(out, "Issues by rule:")?;
            for (rule, n) in &summary.by_rule {
                writeln!(out, "  {rule:<28} {n}")?;
            }
        }
        writeln!(out)?;
        writeln!(out, "{}", if summary.valid { "VALID" } else { "INVALID" })?;
        writeln!(out, "  Total rows: {}", summary.total_rows)?;
        writeln!(out, "  Valid rows: {}", summary.valid_rows)?;
        writeln!(out, "  Errors: {}", summary.errors)?;
        writeln!(out, "  Warnings: {}", summary.warnings)?;
        writeln!(out, "  Duration: {}ms", summary.duration_ms)?;
        Ok(())
    }

    /// Writes `{"summary":{…},"issues":[…],"fixes":[…]}` (2-space JSON).
    pub fn print_json(self, summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{{")?;
        write!(out, "  \"summary\": ")?;
        let text = serde_json::to_string_pretty(summary).map_err(io::Error::other)?;
        out.write_all(text.replace('\n', "\n  ").as_bytes())?;
        writeln!(out, ",")?;
        write!(out, "  \"issues\": [")?;
        copy_log(self.issue_log, out)?;
        writeln!(out, "],")?;
        write!(out, "  \"fixes\": [")?;
        copy_log(self.fix_log, out)?;
        writeln!(out, "]")?;
        writeln!(out, "}}")?;
        Ok(())
    }
}

fn copy_log(log: Option<BufWriter<File>>, out: &mut dyn Write) -> io::Result<()> {
    let Some(log) = log else { return Ok(()) };
    let mut file = log.into_inner().map_err(|e| e.into_error())?;
    file.rewind()?;
    let mut first = true;
    let mut line = Vec::new();
    let mut reader = BufReader::new(file);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let record = line.strip_suffix(b"\n").unwrap_or(&line);
        out.write_all(if first { b"\n    " } else { b",\n    " })?;
        out.write_all(record)?;
        first = false;
    }
    if !first {
        out.write_all(b"\n  ")?;
    }
    Ok(())
}

fn print_section(
    out: &mut dyn Write,
    title: &str,
    total: u64,
    shown: &[ShownIssue],
) -> io::Result<()> {
    writeln!(out, "{title} ({total}):")?;
    for issue in shown {
        if issue.row == 0 {
            writeln!(out, "  Header: {}", issue.message)?;
        } else {
            match issue.column {
                Some(c) => writeln!(
                    out,
                    "  Row {} (line {}, {}): {}",
                    issue.row, issue.line, c, issue.message
                )?,
                None => writeln!(
                    out,
                    "  Row {} (line {}): {}",
                    issue.row, issue.line, issue.message
                )?,
            }
        }
    }
    let more = total.saturating_sub(shown.len() as u64);
    if more > 0 {
        writeln!(out, "  ... and {more} more")?;
    }
    Ok(())
}
