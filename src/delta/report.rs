//! The counts and the report of `diff`: `DELTA/diff/diff_report.json`, the
//! `--json` output and the terminal summary.

use std::io::{self, Write};
use std::path::PathBuf;

use serde_json::{json, Value};

/// Counts of a comparison (summed over buckets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffCounts {
    pub old_users: u64,
    pub new_users: u64,
    pub users_added: u64,
    pub users_changed: u64,
    pub users_unchanged: u64,
    pub users_gone: u64,
    pub changed_email: u64,
    pub changed_first_name: u64,
    pub changed_last_name: u64,
    pub changed_email_verified: u64,
    pub changed_password_hash: u64,
    pub changed_external_id: u64,
    pub changed_metadata: u64,
    /// `users.csv` rows written to the delta.
    pub delta_user_rows: u64,
    pub memberships_added: u64,
    pub memberships_roles_added: u64,
    pub memberships_removed: u64,
    pub membership_roles_removed: u64,
    pub assignments_added: u64,
    pub assignments_removed: u64,
}

impl DiffCounts {
    pub fn add_changed_field(&mut self, field: &str) {
        match field {
            "email" => self.changed_email += 1,
            "first_name" => self.changed_first_name += 1,
            "last_name" => self.changed_last_name += 1,
            "email_verified" => self.changed_email_verified += 1,
            "password_hash" => self.changed_password_hash += 1,
            "external_id" => self.changed_external_id += 1,
            "metadata" => self.changed_metadata += 1,
            _ => {}
        }
    }

    pub fn merge(&mut self, o: &DiffCounts) {
        self.old_users += o.old_users;
        self.new_users += o.new_users;
        self.users_added += o.users_added;
        self.users_changed += o.users_changed;
        self.users_unchanged += o.users_unchanged;
        self.users_gone += o.users_gone;
        self.changed_email += o.changed_email;
        self.changed_first_name += o.changed_first_name;
        self.changed_last_name += o.changed_last_name;
        self.changed_email_verified += o.changed_email_verified;
        self.changed_password_hash += o.changed_password_hash;
        self.changed_external_id += o.changed_external_id;
        self.changed_metadata += o.changed_metadata;
        self.delta_user_rows += o.delta_user_rows;
        self.memberships_added += o.memberships_added;
        self.memberships_roles_added += o.memberships_roles_added;
        self.memberships_removed += o.memberships_removed;
        self.membership_roles_removed += o.membership_roles_removed;
        self.assignments_added += o.assignments_added;
        self.assignments_removed += o.assignments_removed;
    }
}

/// Organization counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgCounts {
    pub old: u64,
    pub new: u64,
    pub added: u64,
    pub changed: u64,
    pub gone: u64,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct DiffReport {
    pub old_dir: PathBuf,
    pub new_dir: PathBuf,
    pub output_dir: PathBuf,
    pub provider: String,
    pub counts: DiffCounts,
    pub organizations: OrgCounts,
    pub role_definitions_added: u64,
    pub totp_added: u64,
    pub warnings: Vec<String>,
    pub elapsed_ms: u64,
}

impl DiffReport {
    /// Users compared per second (both packages' users over the run time).
    pub fn users_per_second(&self) -> f64 {
        let secs = (self.elapsed_ms as f64 / 1000.0).max(1e-3);
        (self.counts.old_users.max(self.counts.new_users)) as f64 / secs
    }

    pub fn to_json(&self) -> Value {
        let c = &self.counts;
        let o = &self.organizations;
        json!({
            "old": self.old_dir.to_string_lossy(),
            "new": self.new_dir.to_string_lossy(),
            "delta": self.output_dir.to_string_lossy(),
            "provider": self.provider,
            "users": {
                "old": c.old_users,
                "new": c.new_users,
                "added": c.users_added,
                "changed": c.users_changed,
                "unchanged": c.users_unchanged,
                "gone": c.users_gone,
                "changedFields": {
                    "email": c.changed_email,
                    "first_name": c.changed_first_name,
                    "last_name": c.changed_last_name,
                    "email_verified": c.changed_email_verified,
                    "password_hash": c.changed_password_hash,
                    "external_id": c.changed_external_id,
                    "metadata": c.changed_metadata,
                },
            },
            "memberships": {
                "added": c.memberships_added,
                "rolesAdded": c.memberships_roles_added,
                "removed": c.memberships_removed,
                "rolesRemoved": c.membership_roles_removed,
            },
            "roleAssignments": {
                "added": c.assignments_added,
                "removed": c.assignments_removed,
            },
            "organizations": {
                "old": o.old, "new": o.new, "added": o.added,
                "changed": o.changed, "gone": o.gone,
            },
            "roleDefinitions": { "added": self.role_definitions_added },
            "totpSecrets": { "added": self.totp_added },
            "reportFiles": {
                "changedUsers": "diff/changed_users.csv",
                "goneUsers": "diff/gone_users.csv",
                "removedMemberships": "diff/removed_memberships.csv",
                "removedMembershipRoles": "diff/removed_membership_roles.csv",
                "removedRoleAssignments": "diff/removed_role_assignments.csv",
                "changedOrganizations": "diff/changed_organizations.csv",
                "goneOrganizations": "diff/gone_organizations.csv",
            },
            "warnings": self.warnings,
            "elapsedMs": self.elapsed_ms,
            "usersPerSecond": self.users_per_second().round(),
        })
    }

    /// The terminal summary.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let c = &self.counts;
        let o = &self.organizations;
        writeln!(out, "Delta package written: {}", self.output_dir.display())?;
        writeln!(
            out,
            "  Users          old={} new={} added={} changed={} unchanged={} gone={}",
            c.old_users,
            c.new_users,
            c.users_added,
            c.users_changed,
            c.users_unchanged,
            c.users_gone
        )?;
        writeln!(
            out,
            "  Changed fields email={} first_name={} last_name={} email_verified={} password_hash={} external_id={} metadata={}",
            c.changed_email,
            c.changed_first_name,
            c.changed_last_name,
            c.changed_email_verified,
            c.changed_password_hash,
            c.changed_external_id,
            c.changed_metadata
        )?;
        writeln!(
            out,
            "  Memberships    added={} roles_added={} removed={} roles_removed={}",
            c.memberships_added,
            c.memberships_roles_added,
            c.memberships_removed,
            c.membership_roles_removed
        )?;
        writeln!(
            out,
            "  Role assignments added={} removed={}",
            c.assignments_added, c.assignments_removed
        )?;
        writeln!(
            out,
            "  Organizations  added={} changed={} gone={}",
            o.added, o.changed, o.gone
        )?;
        writeln!(
            out,
            "  Gone users, removed memberships and roles are listed in {}/diff/ and are never deleted.",
            self.output_dir.display()
        )?;
        for w in &self.warnings {
            writeln!(out, "  Warning: {w}")?;
        }
        writeln!(
            out,
            "  {:.0} users/s ({} ms)",
            self.users_per_second(),
            self.elapsed_ms
        )
    }
}
