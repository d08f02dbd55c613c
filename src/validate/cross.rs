//! Whole-file rules of `validate --csv` (import.md §3 pass 3, plus
//! organization-name consistency): duplicate emails (case-insensitive),
//! duplicate email+organization pairs, and one `org_external_id` carrying two
//! different `org_name`s. Keys are spilled to disk with [`KeyedSpill`], so
//! memory stays flat at tens of millions of rows.

use crate::spill::{KeyedSpill, SpillError};

use super::rules::{RowIssue, Severity};

/// Collects keys while rows stream by; reports at the end.
pub struct CrossRowChecks {
    emails: KeyedSpill,
    pairs: KeyedSpill,
    orgs: KeyedSpill,
    key: Vec<u8>,
    payload: Vec<u8>,
}

/// Totals known only after the whole file was seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrossSummary {
    /// Distinct emails that occur more than once.
    pub duplicate_emails: u64,
}

fn line_of(payload: &[u8]) -> u64 {
    payload
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_le_bytes)
}

fn text_of(payload: &[u8]) -> &str {
    payload
        .get(8..)
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or_default()
}

impl CrossRowChecks {
    pub fn new() -> Result<Self, SpillError> {
        Ok(Self {
            emails: KeyedSpill::new("emails")?,
            pairs: KeyedSpill::new("email-org")?,
            orgs: KeyedSpill::new("orgs")?,
            key: Vec::new(),
            payload: Vec::new(),
        })
    }

    /// Records one row. All values are the (possibly fixed) cells, untrimmed.
    pub fn observe(
        &mut self,
        row: u64,
        line: u64,
        email: &str,
        org_id: &str,
        org_external_id: &str,
        org_name: &str,
    ) -> Result<(), SpillError> {
        let email = email.trim();
        if !email.is_empty() {
            self.key.clear();
            if email.bytes().any(|b| b.is_ascii_uppercase()) || !email.is_ascii() {
                self.key.extend_from_slice(email.to_lowercase().as_bytes());
            } else {
                self.key.extend_from_slice(email.as_bytes());
            }
            self.payload.clear();
            self.payload.extend_from_slice(&line.to_le_bytes());
            self.emails.push(&self.key, row, &self.payload)?;
            let org_key = [org_id, org_external_id, org_name]
                .into_iter()
                .map(str::trim)
                .find(|s| !s.is_empty());
            if let Some(org_key) = org_key {
                self.key.push(0);
                self.key.extend_from_slice(org_key.as_bytes());
                self.pairs.push(&self.key, row, &self.payload)?;
            }
        }
        let ext = org_external_id.trim();
        if !ext.is_empty() {
            self.payload.clear();
            self.payload.extend_from_slice(&line.to_le_bytes());
            self.payload.extend_from_slice(org_name.trim().as_bytes());
            self.orgs.push(ext.as_bytes(), row, &self.payload)?;
        }
        Ok(())
    }

    /// Emits every cross-row issue (grouped by key, not in row order).
    pub fn finish<F: FnMut(RowIssue)>(self, mut emit: F) -> Result<CrossSummary, SpillError> {
        let mut summary = CrossSummary::default();
        self.emails.for_each_group(|key, entries| {
            if entries.len() < 2 {
                return;
            }
            summary.duplicate_emails += 1;
            let email = String::from_utf8_lossy(key);
            let first = entries[0].seq;
            for (n, e) in entries.iter().enumerate().skip(1) {
                let message = if n == 1 {
                    format!("Duplicate email \"{email}\" (first seen at row {first})")
                } else {
                    format!("Duplicate email \"{email}\" (seen {} times)", n + 1)
                };
                emit(RowIssue {
                    severity: Severity::Warning,
                    rule: "duplicate_email",
                    row: e.seq,
                    line: line_of(e.payload),
                    column: Some("email"),
                    message,
                });
            }
        })?;
        self.pairs.for_each_group(|key, entries| {
            if entries.len() < 2 {
                return;
            }
            let text = String::from_utf8_lossy(key);
            let (email, org) = text.split_once('\0').unwrap_or((&text, ""));
            let first = entries[0].seq;
            for e in &entries[1..] {
                emit(RowIssue {
                    severity: Severity::Warning,
                    rule: "duplicate_email_org",
                    row: e.seq,
                    line: line_of(e.payload),
                    column: Some("email"),
                    message: format!(
                        "Duplicate email+org pair: \"{email}\" in org \"{org}\" (first seen at row {first})"
                    ),
                });
            }
        })?;
        self.orgs.for_each_group(|key, entries| {
            let Some(reference) = entries.iter().find(|e| !text_of(e.payload).is_empty()) else {
                return;
            };
            let first_name = text_of(reference.payload);
            let ext = String::from_utf8_lossy(key);
            for e in entries.iter().filter(|e| e.seq > reference.seq) {
                let name = text_of(e.payload);
                if !name.is_empty() && name != first_name {
                    emit(RowIssue {
                        severity: Severity::Error,
                        rule: "org_name_conflict",
                        row: e.seq,
                        line: line_of(e.payload),
                        column: Some("org_name"),
                        message: format!(
                            "Organization \"{ext}\" is named \"{name}\" here but \"{first_name}\" at row {}",
                            reference.seq
                        ),
                    });
                }
            }
        })?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_pairs_and_org_conflicts() {
        let mut c = CrossRowChecks::new().unwrap();
        c.observe(1, 2, "a@x.com", "", "org_1", "One").unwrap();
        c.observe(2, 3, "A@X.com", "", "org_1", "One").unwrap();
        c.observe(3, 4, " a@x.com", "", "", "").unwrap();
        c.observe(4, 5, "b@x.com", "", "org_1", "Uno").unwrap();
        c.observe(5, 6, "", "", "org_1", "").unwrap();
        let mut issues = Vec::new();
        let summary = c.finish(|i| issues.push(i)).unwrap();
        assert_eq!(summary.duplicate_emails, 1);
        let mut got: Vec<(&str, u64, String)> = issues
            .into_iter()
            .map(|i| (i.rule, i.row, i.message))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                (
                    "duplicate_email",
                    2,
                    "Duplicate email \"a@x.com\" (first seen at row 1)".to_string()
                ),
                (
                    "duplicate_email",
                    3,
                    "Duplicate email \"a@x.com\" (seen 3 times)".to_string()
                ),
                (
                    "duplicate_email_org",
                    2,
                    "Duplicate email+org pair: \"a@x.com\" in org \"org_1\" (first seen at row 1)"
                        .to_string()
                ),
                (
                    "org_name_conflict",
                    4,
                    "Organization \"org_1\" is named \"Uno\" here but \"One\" at row 1".to_string()
                ),
            ]
        );
    }
}
