//! The verify report: per entity and per reason counts (equal, missing,
//! different — with the field —, blocked by a missing user or organization,
//! extra in WorkOS), a few samples of each, the terminal summary and the
//! `--json` document.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{json, Map, Value};

/// Samples kept per entity and reason.
pub const MAX_SAMPLES: usize = 10;

/// The note printed once: hashes are write-only in WorkOS.
pub const PASSWORD_NOTE: &str =
    "Password hashes cannot be read back from WorkOS: they were not compared.";
/// TOTP factors are not listed by the snapshot.
pub const TOTP_NOTE: &str = "TOTP factors are not read back: the repair package carries the totp_secrets.csv rows of missing users only.";

/// Why a row is not equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    Missing,
    Different,
    /// Its user or organization is missing (repaired with them; not counted
    /// as a difference of its own).
    Blocked,
    Extra,
}

impl Reason {
    pub fn key(self) -> &'static str {
        match self {
            Reason::Missing => "missing",
            Reason::Different => "different",
            Reason::Blocked => "blocked_by_missing_user_or_organization",
            Reason::Extra => "extra_in_workos",
        }
    }
}

/// Counts of one entity.
#[derive(Debug, Clone, Default)]
pub struct EntityReport {
    pub checked: u64,
    pub equal: u64,
    pub missing: u64,
    pub different: u64,
    pub blocked: u64,
    pub extra: u64,
    /// Different rows per field.
    pub fields: BTreeMap<&'static str, u64>,
    /// Rows skipped as unverifiable (no key), per reason.
    pub unverifiable: u64,
    samples: BTreeMap<Reason, Vec<Value>>,
}

impl EntityReport {
    /// Counts one row by reason (`None` = equal).
    pub fn count(
        &mut self,
        reason: Option<Reason>,
        fields: &[&'static str],
        sample: impl FnOnce() -> Value,
    ) {
        self.checked += u64::from(reason != Some(Reason::Extra));
        let Some(reason) = reason else {
            self.equal += 1;
            return;
        };
        match reason {
            Reason::Missing => self.missing += 1,
            Reason::Different => {
                self.different += 1;
                for f in fields {
                    *self.fields.entry(f).or_insert(0) += 1;
                }
            }
            Reason::Blocked => self.blocked += 1,
            Reason::Extra => self.extra += 1,
        }
        let list = self.samples.entry(reason).or_default();
        if list.len() < MAX_SAMPLES {
            let mut s = sample();
            if reason == Reason::Different {
                if let Value::Object(m) = &mut s {
                    m.insert("fields".into(), json!(fields));
                }
            }
            list.push(s);
        }
    }

    /// Missing plus different: what a repair package fixes.
    pub fn differences(&self) -> u64 {
        self.missing + self.different
    }

    pub fn to_json(&self) -> Value {
        let mut samples = Map::new();
        for (reason, list) in &self.samples {
            samples.insert(reason.key().into(), Value::Array(list.clone()));
        }
        json!({
            "checked": self.checked,
            "equal": self.equal,
            "missing": self.missing,
            "different": self.different,
            "different_fields": self.fields,
            "blocked_by_missing_user_or_organization": self.blocked,
            "extra_in_workos": self.extra,
            "unverifiable": self.unverifiable,
            "samples": samples,
        })
    }
}

/// The whole report.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub package: String,
    /// Snapshot directory, or `live` details.
    pub snapshot: String,
    pub users: EntityReport,
    pub organizations: EntityReport,
    pub memberships: EntityReport,
    pub role_assignments: EntityReport,
    pub warnings: Vec<String>,
    /// Rows written to the repair package per file key, when one was written.
    pub repair: Option<(String, Vec<(&'static str, u64)>)>,
}

impl VerifyReport {
    fn entities(&self) -> [(&'static str, &EntityReport); 4] {
        [
            ("users", &self.users),
            ("organizations", &self.organizations),
            ("memberships", &self.memberships),
            ("role_assignments", &self.role_assignments),
        ]
    }

    /// Missing or different rows over every entity.
    pub fn differences(&self) -> u64 {
        self.entities().iter().map(|(_, e)| e.differences()).sum()
    }

    pub fn to_json(&self) -> Value {
        let mut entities = Map::new();
        for (name, e) in self.entities() {
            entities.insert(name.into(), e.to_json());
        }
        let repair = self.repair.as_ref().map(|(dir, rows)| {
            let counts: Map<String, Value> = rows
                .iter()
                .map(|(k, v)| ((*k).to_string(), json!(v)))
                .collect();
            json!({ "dir": dir, "rows": counts })
        });
        json!({
            "package": self.package,
            "snapshot": self.snapshot,
            "matches": self.differences() == 0,
            "differences": self.differences(),
            "entities": entities,
            "notes": [PASSWORD_NOTE, TOTP_NOTE],
            "warnings": self.warnings,
            "repair": repair,
        })
    }

    /// The terminal summary.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "Verify {} against {}", self.package, self.snapshot)?;
        for (name, e) in self.entities() {
            let fields: Vec<String> = e.fields.iter().map(|(f, n)| format!("{f}: {n}")).collect();
            let mut line = format!(
                "  {name}: {} checked, {} equal, {} missing, {} different",
                e.checked, e.equal, e.missing, e.different
            );
            if !fields.is_empty() {
                line.push_str(&format!(" ({})", fields.join(", ")));
            }
            if e.blocked > 0 {
                line.push_str(&format!(
                    ", {} follow a missing user or organization",
                    e.blocked
                ));
            }
            line.push_str(&format!("; {} extra in WorkOS (not deleted)", e.extra));
            writeln!(out, "{line}")?;
        }
        writeln!(out, "{PASSWORD_NOTE}")?;
        match self.differences() {
            0 => writeln!(out, "Everything in the package is in WorkOS.")?,
            n => writeln!(out, "Differences: {n}")?,
        }
        if let Some((dir, rows)) = &self.repair {
            let parts: Vec<String> = rows
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            writeln!(
                out,
                "Repair package: {dir}{}",
                if parts.is_empty() {
                    " (empty)".to_string()
                } else {
                    format!(" ({})", parts.join(", "))
                }
            )?;
            if !parts.is_empty() {
                writeln!(out, "  Apply it with: workos-migrate import-package {dir}")?;
            }
        }
        Ok(())
    }
}
