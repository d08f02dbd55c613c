//! Role slugs made from source role names, shared by every exporter that
//! turns named roles or groups into `role_definitions.csv` (Auth0 roles,
//! Cognito groups; export-and-package.md §4.7): the slug rule, the slugs
//! WorkOS environments already have, and collision suffixes.

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;

/// Slugs the WorkOS environment already has; a role slugging to one of them
/// gets the `-role` suffix.
pub const RESERVED_SLUGS: [&str; 3] = ["admin", "member", "owner"];

/// The slug of a role name: lower-cased, NFKD-decomposed, every run of
/// characters outside `[a-z0-9]` replaced by one `-`, leading and trailing
/// `-` removed. Combining marks are separators, as in the original
/// (`Café Crème` → `cafe-cre-me`), so packages stay compatible.
pub fn role_slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_dash = false;
    for c in name.to_lowercase().nfkd() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c);
        } else {
            pending_dash = true;
        }
    }
    out
}

/// `slug` with `-role` appended when it is reserved.
pub fn unreserved(slug: String) -> String {
    if RESERVED_SLUGS.contains(&slug.as_str()) {
        format!("{slug}-role")
    } else {
        slug
    }
}

/// Hands out distinct slugs: a candidate already given gets `-2`, `-3`, …
#[derive(Debug, Clone, Default)]
pub struct SlugAllocator {
    used: HashSet<String>,
}

impl SlugAllocator {
    pub fn new() -> Self {
        Self::default()
    }

    /// `candidate`, or the first free `candidate-N` (N ≥ 2); recorded as used.
    pub fn allocate(&mut self, candidate: &str) -> String {
        let mut slug = candidate.to_string();
        let mut suffix = 2u64;
        while self.used.contains(&slug) {
            slug = format!("{candidate}-{suffix}");
            suffix += 1;
        }
        self.used.insert(slug.clone());
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_reserved_names_and_collisions() {
        assert_eq!(role_slug("  Billing Admins! "), "billing-admins");
        assert_eq!(role_slug("Café Crème"), "cafe-cre-me");
        assert_eq!(unreserved(role_slug("Admin")), "admin-role");
        assert_eq!(unreserved(role_slug("Editors")), "editors");
        let mut a = SlugAllocator::new();
        assert_eq!(a.allocate("ops"), "ops");
        assert_eq!(a.allocate("ops"), "ops-2");
        assert_eq!(a.allocate("ops"), "ops-3");
        assert_eq!(a.allocate("ops-2-x"), "ops-2-x");
    }
}
