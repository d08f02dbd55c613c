//! Grouping of error records into patterns and the report (import.md §4):
//! the result object, its `--json` form and the text report.
//!
//! Memory is bounded by the number of distinct patterns, not by the number
//! of records: a group keeps its count and its first three records. Past
//! [`MAX_GROUPS`] distinct patterns, further new patterns are counted in one
//! overflow group per error type and status (pattern [`OVERFLOW_PATTERN`]).

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use serde_json::{Map, Value};

use super::classify::{is_retryable, suggestion};
use super::normalize::normalize_message;
use super::records::{ErrorRecord, RecordReader};
use super::AnalyzeError;

/// Examples kept per group.
pub const EXAMPLES_PER_GROUP: usize = 3;

/// Distinct patterns tracked before new ones are folded into overflow groups.
pub const MAX_GROUPS: usize = 10_000;

/// Pattern of an overflow group.
pub const OVERFLOW_PATTERN: &str = "<other patterns>";

/// One group of records sharing type, status and normalized message.
#[derive(Debug, Clone)]
pub struct ErrorGroup {
    pub pattern: String,
    pub count: u64,
    pub error_type: String,
    pub http_status: Option<u64>,
    pub retryable: bool,
    pub suggestion: &'static str,
    /// The first records of the group, verbatim.
    pub examples: Vec<Value>,
}

/// The analysis of one errors file.
#[derive(Debug, Clone, Default)]
pub struct AnalysisResult {
    pub total_errors: u64,
    /// Sorted by count, descending; ties keep first-seen order.
    pub error_groups: Vec<ErrorGroup>,
    pub retryable_count: u64,
    pub non_retryable_count: u64,
    /// Distinct suggestions in group order.
    pub suggestions: Vec<&'static str>,
    /// Non-blank lines that were not error records.
    pub skipped_lines: u64,
    /// Highest `recordNumber` seen (0 when none).
    pub max_record_number: u64,
}

impl AnalysisResult {
    /// `{totalErrors, errorGroups, retryableCount, nonRetryableCount, suggestions}`.
    pub fn to_json(&self) -> Value {
        let groups = self
            .error_groups
            .iter()
            .map(|g| {
                let mut m = Map::new();
                m.insert("pattern".into(), Value::String(g.pattern.clone()));
                m.insert("count".into(), Value::from(g.count));
                m.insert("errorType".into(), Value::String(g.error_type.clone()));
                if let Some(s) = g.http_status {
                    m.insert("httpStatus".into(), Value::from(s));
                }
                m.insert("retryable".into(), Value::Bool(g.retryable));
                m.insert("suggestion".into(), Value::String(g.suggestion.into()));
                m.insert("examples".into(), Value::Array(g.examples.clone()));
                Value::Object(m)
            })
            .collect();
        let mut doc = Map::new();
        doc.insert("totalErrors".into(), Value::from(self.total_errors));
        doc.insert("errorGroups".into(), Value::Array(groups));
        doc.insert("retryableCount".into(), Value::from(self.retryable_count));
        doc.insert(
            "nonRetryableCount".into(),
            Value::from(self.non_retryable_count),
        );
        doc.insert(
            "suggestions".into(),
            Value::Array(
                self.suggestions
                    .iter()
                    .map(|s| Value::String((*s).into()))
                    .collect(),
            ),
        );
        Value::Object(doc)
    }

    /// The text report from `Error Analysis Report` to the duration line.
    pub fn write_text(&self, out: &mut dyn Write, duration_ms: u128) -> io::Result<()> {
        writeln!(out, "\nError Analysis Report")?;
        writeln!(out, "  Total errors: {}", self.total_errors)?;
        writeln!(out, "  Retryable: {}", self.retryable_count)?;
        writeln!(out, "  Non-retryable: {}", self.non_retryable_count)?;
        writeln!(out, "  Error patterns: {}", self.error_groups.len())?;
        writeln!(out, "\nError Groups:")?;
        for g in &self.error_groups {
            let tag = if g.retryable {
                "[retryable]"
            } else {
                "[non-retryable]"
            };
            writeln!(out, "\n  {tag} {}", g.pattern)?;
            let status = g
                .http_status
                .map(|s| format!(" | HTTP {s}"))
                .unwrap_or_default();
            writeln!(
                out,
                "    Count: {} | Type: {}{status}",
                g.count, g.error_type
            )?;
            writeln!(out, "    Suggestion: {}", g.suggestion)?;
        }
        if !self.suggestions.is_empty() {
            writeln!(out, "\nFix Suggestions:")?;
            for s in &self.suggestions {
                writeln!(out, "  - {s}")?;
            }
        }
        writeln!(out, "\n  Duration: {duration_ms}ms")
    }
}

struct Building {
    group: ErrorGroup,
    first_seen: usize,
}

/// Reads `errors_path` once and groups its records.
pub fn analyze_errors(errors_path: &Path) -> Result<AnalysisResult, AnalyzeError> {
    let mut reader = RecordReader::open(errors_path)?;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Building> = Vec::new();
    let mut total = 0u64;
    let mut max_record_number = 0u64;
    while let Some(record) = reader.next_record()? {
        total += 1;
        if let Some(n) = record.record_number {
            max_record_number = max_record_number.max(n);
        }
        add(&mut index, &mut groups, record);
    }
    // Stable sort by count, descending.
    groups.sort_by(|a, b| {
        b.group
            .count
            .cmp(&a.group.count)
            .then(a.first_seen.cmp(&b.first_seen))
    });
    let mut result = AnalysisResult {
        total_errors: total,
        skipped_lines: reader.skipped,
        max_record_number,
        ..Default::default()
    };
    for b in groups {
        let g = b.group;
        if g.retryable {
            result.retryable_count += g.count;
        } else {
            result.non_retryable_count += g.count;
        }
        if !result.suggestions.contains(&g.suggestion) {
            result.suggestions.push(g.suggestion);
        }
        result.error_groups.push(g);
    }
    Ok(result)
}

fn add(index: &mut HashMap<String, usize>, groups: &mut Vec<Building>, record: ErrorRecord) {
    let mut pattern = normalize_message(&record.message);
    let status_key = record
        .status
        .map(|s| s.to_string())
        .unwrap_or_else(|| "none".to_string());
    let mut key = format!("{}:{status_key}:{pattern}", record.error_type);
    if !index.contains_key(&key) && index.len() >= MAX_GROUPS {
        pattern = OVERFLOW_PATTERN.to_string();
        key = format!("{}:{status_key}:{pattern}", record.error_type);
    }
    if let Some(&at) = index.get(&key) {
        let g = &mut groups[at].group;
        g.count += 1;
        if g.examples.len() < EXAMPLES_PER_GROUP {
            g.examples.push(record.raw);
        }
        return;
    }
    // Retryability and suggestion come from the group's first record.
    let retryable = is_retryable(record.status, &record.message);
    let suggestion = suggestion(&pattern, &record.error_type, record.status);
    let first_seen = groups.len();
    index.insert(key, first_seen);
    groups.push(Building {
        group: ErrorGroup {
            pattern,
            count: 1,
            error_type: record.error_type,
            http_status: record.status,
            retryable,
            suggestion,
            examples: vec![record.raw],
        },
        first_seen,
    });
}
