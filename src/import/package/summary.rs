//! `workos_import_summary.json` (import.md §7.4, key order as written) and
//! the printed summary (§7.3 step 5).
//!
//! Warning lists are capped at [`MAX_WARNINGS`] per entity (the rest are
//! counted in `details.warningsTotal`) so the summary stays small whatever
//! the package size.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::plan::{path_value, ImportPackagePlan};

/// Warnings kept per entity.
pub const MAX_WARNINGS: usize = 1000;

/// `status` of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityStatus {
    Imported,
    Skipped,
    Planned,
    Handoff,
    Unsupported,
    Absent,
}

impl EntityStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Imported => "imported",
            Self::Skipped => "skipped",
            Self::Planned => "planned",
            Self::Handoff => "handoff",
            Self::Unsupported => "unsupported",
            Self::Absent => "absent",
        }
    }
}

/// The result of one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityResult {
    pub status: EntityStatus,
    pub total: Option<u64>,
    pub succeeded: Option<u64>,
    pub failed: Option<u64>,
    pub warnings: Option<Vec<String>>,
    pub notes: Option<Vec<String>>,
    pub details: Option<Map<String, Value>>,
    /// Warnings seen, kept or not.
    pub warnings_total: u64,
}

impl EntityResult {
    /// `{"status":"absent"}`.
    pub fn absent() -> Self {
        Self::with_status(EntityStatus::Absent)
    }

    pub fn with_status(status: EntityStatus) -> Self {
        Self {
            status,
            total: None,
            succeeded: None,
            failed: None,
            warnings: None,
            notes: None,
            details: None,
            warnings_total: 0,
        }
    }

    /// `{"status":"planned","total":n}`.
    pub fn planned(total: u64) -> Self {
        Self {
            total: Some(total),
            ..Self::with_status(EntityStatus::Planned)
        }
    }

    /// An imported entity with its counts and an empty warning list.
    pub fn imported(total: u64, succeeded: u64, failed: u64) -> Self {
        Self {
            total: Some(total),
            succeeded: Some(succeeded),
            failed: Some(failed),
            warnings: Some(Vec::new()),
            ..Self::with_status(EntityStatus::Imported)
        }
    }

    /// Adds a warning (kept up to [`MAX_WARNINGS`]).
    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings_total += 1;
        let list = self.warnings.get_or_insert_with(Vec::new);
        if list.len() < MAX_WARNINGS {
            list.push(message.into());
        }
    }

    /// Adds every warning of `messages`, and `extra` more that were only
    /// counted elsewhere.
    pub fn warn_all(&mut self, messages: impl IntoIterator<Item = String>, extra: u64) {
        for m in messages {
            self.warn(m);
        }
        self.warnings_total += extra;
    }

    /// Sets one `details` entry.
    pub fn detail(&mut self, key: &str, value: impl Into<Value>) {
        self.details
            .get_or_insert_with(Map::new)
            .insert(key.to_string(), value.into());
    }

    /// The entity object: `status, total?, succeeded?, failed?, warnings?,
    /// notes?, details?`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("status".into(), Value::String(self.status.as_str().into()));
        if let Some(v) = self.total {
            m.insert("total".into(), Value::from(v));
        }
        if let Some(v) = self.succeeded {
            m.insert("succeeded".into(), Value::from(v));
        }
        if let Some(v) = self.failed {
            m.insert("failed".into(), Value::from(v));
        }
        if let Some(w) = &self.warnings {
            m.insert(
                "warnings".into(),
                Value::Array(w.iter().cloned().map(Value::String).collect()),
            );
        }
        if let Some(n) = &self.notes {
            m.insert(
                "notes".into(),
                Value::Array(n.iter().cloned().map(Value::String).collect()),
            );
        }
        let kept = self.warnings.as_ref().map_or(0, Vec::len) as u64;
        let mut details = self.details.clone();
        if self.warnings_total > kept {
            details
                .get_or_insert_with(Map::new)
                .insert("warningsTotal".into(), Value::from(self.warnings_total));
        }
        if let Some(d) = details {
            m.insert("details".into(), Value::Object(d));
        }
        Value::Object(m)
    }

    /// ` total=…` ` ok=…` ` failed=…` as printed.
    fn counts_text(&self) -> String {
        let mut s = String::new();
        if let Some(v) = self.total {
            s.push_str(&format!(" total={v}"));
        }
        if let Some(v) = self.succeeded {
            s.push_str(&format!(" ok={v}"));
        }
        if let Some(v) = self.failed {
            s.push_str(&format!(" failed={v}"));
        }
        s
    }
}

/// The whole summary.
#[derive(Debug, Clone)]
pub struct ImportPackageSummary {
    pub package_dir: PathBuf,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    pub dry_run: bool,
    pub manifest_provider: String,
    pub plan: ImportPackagePlan,
    pub organizations: EntityResult,
    pub users: EntityResult,
    pub memberships: EntityResult,
    pub role_definitions: EntityResult,
    pub role_assignments: EntityResult,
    pub totp_factors: EntityResult,
    pub sso_connections: EntityResult,
    /// Validation warnings as `<code>: <message>`.
    pub warnings: Vec<String>,
}

impl ImportPackageSummary {
    /// The seven entities with their printed labels, in summary order.
    pub fn entities(&self) -> [(&'static str, &EntityResult); 7] {
        [
            ("Organizations", &self.organizations),
            ("Users", &self.users),
            ("Memberships", &self.memberships),
            ("Role definitions", &self.role_definitions),
            ("Role assignments", &self.role_assignments),
            ("TOTP factors", &self.totp_factors),
            ("SSO connections", &self.sso_connections),
        ]
    }

    /// Rows that failed in any imported entity.
    pub fn total_failed(&self) -> u64 {
        self.entities().iter().filter_map(|(_, e)| e.failed).sum()
    }

    /// The summary document (§7.4 key order).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("packageDir".into(), path_value(&self.package_dir));
        m.insert("startedAt".into(), Value::String(self.started_at.clone()));
        m.insert("finishedAt".into(), Value::String(self.finished_at.clone()));
        m.insert("durationMs".into(), Value::from(self.duration_ms));
        m.insert("dryRun".into(), Value::Bool(self.dry_run));
        m.insert(
            "manifestProvider".into(),
            Value::String(self.manifest_provider.clone()),
        );
        m.insert("plan".into(), self.plan.to_json());
        for (key, e) in [
            ("organizations", &self.organizations),
            ("users", &self.users),
            ("memberships", &self.memberships),
            ("roleDefinitions", &self.role_definitions),
            ("roleAssignments", &self.role_assignments),
            ("totpFactors", &self.totp_factors),
            ("ssoConnections", &self.sso_connections),
        ] {
            m.insert(key.into(), e.to_json());
        }
        m.insert(
            "warnings".into(),
            Value::Array(self.warnings.iter().cloned().map(Value::String).collect()),
        );
        Value::Object(m)
    }

    /// Writes the JSON (2-space indent + `\n`) through a temporary file in
    /// the same directory, renamed into place.
    pub fn write_file(&self, path: &Path) -> io::Result<()> {
        let text = serde_json::to_string_pretty(&self.to_json()).map_err(io::Error::other)? + "\n";
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".workos_import_summary-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        tmp.write_all(text.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// The printed summary (§7.3 step 5).
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "\nImport package complete")?;
        writeln!(out, "  Package:           {}", self.package_dir.display())?;
        writeln!(
            out,
            "  Mode:              {}",
            if self.dry_run { "DRY RUN" } else { "live" }
        )?;
        for (label, e) in self.entities() {
            writeln!(
                out,
                "  {label:<18} {}{}",
                e.status.as_str(),
                e.counts_text()
            )?;
        }
        if !self.warnings.is_empty() {
            writeln!(out, "  Warnings: {}", self.warnings.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_key_order_and_omissions() {
        assert_eq!(
            EntityResult::absent().to_json().to_string(),
            r#"{"status":"absent"}"#
        );
        let mut e = EntityResult::imported(3, 2, 1);
        e.warn("w");
        e.detail("created", 2u64);
        assert_eq!(
            e.to_json().to_string(),
            r#"{"status":"imported","total":3,"succeeded":2,"failed":1,"warnings":["w"],"details":{"created":2}}"#
        );
        assert_eq!(e.counts_text(), " total=3 ok=2 failed=1");
    }

    #[test]
    fn warnings_are_capped_and_counted() {
        let mut e = EntityResult::imported(0, 0, 0);
        for i in 0..(MAX_WARNINGS + 5) {
            e.warn(format!("w{i}"));
        }
        let j = e.to_json();
        assert_eq!(j["warnings"].as_array().map(Vec::len), Some(MAX_WARNINGS));
        assert_eq!(j["details"]["warningsTotal"], (MAX_WARNINGS + 5) as u64);
    }
}
