//! The run's counters (import.md §2.5) and the two fixed texts of `import`:
//! the end-of-run summary (§2.7) and the `--plan` printout (§1.1 step 4).
//!
//! Counters are derived from row outcomes only, so a resumed job computes
//! them from the stored outcomes of every row exactly once: users created +
//! duplicate users + failed/skipped users = rows, and so on.

use std::time::Duration;

use super::engine::{MembershipOutcome, RowOutcome, UserOutcome};
use super::orgs::CacheStats;

/// Most warnings kept for the summary; the rest are only counted.
pub const MAX_WARNINGS: usize = 1000;

const RULE_55: &str = "═══════════════════════════════════════════════════════";
const RULE_40: &str = "════════════════════════════════════════";

/// The numbers one row contributes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    pub user: Option<UserOutcome>,
    pub membership: Option<MembershipOutcome>,
    pub roles_assigned: u32,
    pub roles_skipped: u32,
    pub failed: bool,
}

impl RowCounts {
    pub fn of(o: &RowOutcome) -> Self {
        Self {
            user: Some(o.user),
            membership: Some(o.membership),
            roles_assigned: o.roles_assigned,
            roles_skipped: o.roles_skipped,
            failed: o.error.is_some(),
        }
    }
}

/// Summary counters of a run or job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub total_rows: u64,
    pub successes: u64,
    pub failures: u64,
    pub users_created: u64,
    pub duplicate_users: u64,
    pub memberships_created: u64,
    /// Memberships that already existed (with or without a role update).
    pub duplicate_memberships: u64,
    /// Of `duplicate_memberships`, those whose roles were extended.
    pub memberships_updated: u64,
    pub roles_assigned: u64,
    /// Rows where some role could not be assigned (multiple roles disabled).
    pub role_failures: u64,
}

impl Counters {
    pub fn add(&mut self, c: &RowCounts) {
        self.total_rows += 1;
        if c.failed {
            self.failures += 1;
        } else {
            self.successes += 1;
        }
        match c.user {
            Some(UserOutcome::Created) => self.users_created += 1,
            Some(UserOutcome::Existing) => self.duplicate_users += 1,
            _ => {}
        }
        match c.membership {
            Some(MembershipOutcome::Created) => self.memberships_created += 1,
            Some(MembershipOutcome::Existing) => self.duplicate_memberships += 1,
            Some(MembershipOutcome::RolesUpdated) => {
                self.duplicate_memberships += 1;
                self.memberships_updated += 1;
            }
            _ => {}
        }
        self.roles_assigned += u64::from(c.roles_assigned);
        if c.roles_skipped > 0 {
            self.role_failures += 1;
        }
    }

    pub fn merge(&mut self, o: &Counters) {
        self.total_rows += o.total_rows;
        self.successes += o.successes;
        self.failures += o.failures;
        self.users_created += o.users_created;
        self.duplicate_users += o.duplicate_users;
        self.memberships_created += o.memberships_created;
        self.duplicate_memberships += o.duplicate_memberships;
        self.memberships_updated += o.memberships_updated;
        self.roles_assigned += o.roles_assigned;
        self.role_failures += o.role_failures;
    }
}

/// Warnings for the summary, bounded in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings {
    kept: Vec<String>,
    dropped: u64,
}

impl Warnings {
    pub fn push(&mut self, w: String) {
        if self.kept.len() < MAX_WARNINGS {
            self.kept.push(w);
        } else {
            self.dropped += 1;
        }
    }

    /// The lines to print: the kept warnings, then `… and N more` if any
    /// were dropped.
    pub fn lines(&self) -> Vec<String> {
        let mut out = self.kept.clone();
        if self.dropped > 0 {
            out.push(format!(
                "\u{2026} and {} more warnings (see the checkpoint outcomes)",
                self.dropped
            ));
        }
        out
    }

    pub fn kept(&self) -> &[String] {
        &self.kept
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty() && self.dropped == 0
    }
}

/// `<ms>ms`, `<s>s`, `<m>m <s>s`, `<h>h <m>m <s>s` (floored).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    if s < 60 {
        return format!("{s}s");
    }
    let (m, s) = (s / 60, s % 60);
    if m < 60 {
        return format!("{m}m {s}s");
    }
    format!("{}h {}m {}s", m / 60, m % 60, s)
}

/// The §2.7 summary text (starting with a blank line).
pub fn summary_text(
    c: &Counters,
    duration: Duration,
    cache: Option<CacheStats>,
    warnings: &Warnings,
) -> String {
    let mut lines = vec![
        String::new(),
        RULE_55.to_string(),
        "  Import Summary".to_string(),
        RULE_55.to_string(),
    ];
    let row = |label: &str, value: String| format!("  {:<24}{}", format!("{label}:"), value);
    lines.push(row("Total rows", c.total_rows.to_string()));
    lines.push(row("Users created", c.users_created.to_string()));
    lines.push(row(
        "Memberships created",
        c.memberships_created.to_string(),
    ));
    lines.push(row("Roles assigned", c.roles_assigned.to_string()));
    for (label, v) in [
        ("Duplicate users", c.duplicate_users),
        ("Duplicate memberships", c.duplicate_memberships),
        ("Errors", c.failures),
        ("Role failures", c.role_failures),
    ] {
        if v > 0 {
            lines.push(row(label, v.to_string()));
        }
    }
    lines.push(row("Duration", format_duration(duration)));
    if let Some(s) = cache {
        lines.push(row(
            "Org cache hit rate",
            format!("{:.1}%", s.hit_rate() * 100.0),
        ));
    }
    if !warnings.is_empty() {
        lines.push(String::new());
        lines.push("  Warnings:".to_string());
        for w in warnings.lines() {
            lines.push(format!("    - {w}"));
        }
    }
    lines.push(RULE_55.to_string());
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// What `--plan` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub csv: String,
    pub total_rows: u64,
    pub concurrency: u32,
    pub rate_limit: u32,
    pub workers: u32,
    pub chunk_size: u32,
    pub org_id: Option<String>,
    pub org_external_id: Option<String>,
    pub dry_run: bool,
}

/// The §1.1 plan text (starting with a blank line).
pub fn plan_text(p: &Plan) -> String {
    let row = |label: &str, value: String| format!("  {:<17}{}", format!("{label}:"), value);
    let chunks = p.total_rows.div_ceil(u64::from(p.chunk_size.max(1)));
    let mut lines = vec![
        String::new(),
        "  Import Plan".to_string(),
        format!("  {RULE_40}"),
        row("CSV file", p.csv.clone()),
        row("Total rows", p.total_rows.to_string()),
        row("Concurrency", p.concurrency.to_string()),
        row("Rate limit", format!("{} req/s", p.rate_limit)),
        row("Workers", p.workers.to_string()),
        row("Chunk size", p.chunk_size.to_string()),
        row("Total chunks", chunks.to_string()),
    ];
    if let Some(id) = &p.org_id {
        lines.push(row("Org ID", id.clone()));
    }
    if let Some(id) = &p.org_external_id {
        lines.push(row("Org External ID", id.clone()));
    }
    if p.dry_run {
        lines.push(row("Mode", "DRY RUN".to_string()));
    }
    lines.push(format!("  {RULE_40}"));
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_millis(999)), "999ms");
        assert_eq!(format_duration(Duration::from_millis(59_999)), "59s");
        assert_eq!(format_duration(Duration::from_secs(61)), "1m 1s");
        assert_eq!(format_duration(Duration::from_secs(3723)), "1h 2m 3s");
    }

    #[test]
    fn summary_layout() {
        let c = Counters {
            total_rows: 4,
            successes: 4,
            users_created: 4,
            memberships_created: 4,
            roles_assigned: 5,
            ..Counters::default()
        };
        let text = summary_text(
            &c,
            Duration::from_millis(12),
            Some(CacheStats {
                hits: 2,
                misses: 2,
                evictions: 0,
            }),
            &Warnings::default(),
        );
        let want = "\n═══════════════════════════════════════════════════════\n  Import Summary\n═══════════════════════════════════════════════════════\n  Total rows:             4\n  Users created:          4\n  Memberships created:    4\n  Roles assigned:         5\n  Duration:               12ms\n  Org cache hit rate:     50.0%\n═══════════════════════════════════════════════════════\n";
        assert_eq!(text, want);
        let mut w = Warnings::default();
        w.push("Ignoring unknown columns: a, b".into());
        let c = Counters {
            duplicate_users: 1,
            failures: 2,
            ..c
        };
        let text = summary_text(&c, Duration::from_secs(2), None, &w);
        assert!(text.contains("  Duplicate users:        1\n"));
        assert!(text.contains("  Errors:                 2\n"));
        assert!(text.contains("\n\n  Warnings:\n    - Ignoring unknown columns: a, b\n═"));
        assert!(!text.contains("Org cache"));
    }

    #[test]
    fn plan_layout() {
        let p = Plan {
            csv: "users.csv".into(),
            total_rows: 2500,
            concurrency: 10,
            rate_limit: 50,
            workers: 1,
            chunk_size: 1000,
            org_id: Some("org_1".into()),
            org_external_id: None,
            dry_run: true,
        };
        let want = "\n  Import Plan\n  ════════════════════════════════════════\n  CSV file:        users.csv\n  Total rows:      2500\n  Concurrency:     10\n  Rate limit:      50 req/s\n  Workers:         1\n  Chunk size:      1000\n  Total chunks:    3\n  Org ID:          org_1\n  Mode:            DRY RUN\n  ════════════════════════════════════════\n";
        assert_eq!(plan_text(&p), want);
    }

    #[test]
    fn warnings_are_bounded() {
        let mut w = Warnings::default();
        for i in 0..(MAX_WARNINGS + 5) {
            w.push(format!("w{i}"));
        }
        let lines = w.lines();
        assert_eq!(lines.len(), MAX_WARNINGS + 1);
        assert!(lines[MAX_WARNINGS].contains("and 5 more"));
    }
}
