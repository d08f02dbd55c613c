//! Which rows are dirty, decided without storing anything per row.
//!
//! Row 0 is always clean (it anchors the classes that must point at an
//! earlier clean row or org). The candidate rows `1..users` are cut into
//! `D = min(round(users * dirty), users - 1)` consecutive strata of (almost)
//! equal size and exactly one row per stratum, chosen by a seeded hash, is
//! dirty. Stratum `s` gets class `s % classes` (round-robin), so every class
//! appears as soon as `D >= classes`.
//!
//! Both directions are O(1): [`DirtyPlan::dirty_row`] gives the dirty row of
//! a stratum and [`DirtyPlan::stratum_of_dirty`] tells whether an arbitrary row
//! is dirty (used to check that a referenced earlier row is clean).

use super::rng::hash3;

const STREAM_PLAN: u64 = 0x706c_616e; // "plan"

#[derive(Debug, Clone)]
pub(crate) struct DirtyPlan {
    seed: u64,
    /// Candidate rows: `1..=candidates`.
    candidates: u64,
    /// Number of strata = number of dirty rows.
    strata: u64,
}

impl DirtyPlan {
    pub(crate) fn new(users: u64, dirty: f64, seed: u64) -> Self {
        let candidates = users.saturating_sub(1);
        let wanted = (users as f64 * dirty).round();
        let wanted = if wanted.is_finite() && wanted > 0.0 {
            wanted as u64
        } else {
            0
        };
        DirtyPlan {
            seed,
            candidates,
            strata: wanted.min(candidates),
        }
    }

    /// Total number of dirty rows.
    pub(crate) fn dirty_rows(&self) -> u64 {
        self.strata
    }

    /// First row of stratum `s` (`s <= strata`; `start(strata)` is one past
    /// the last candidate).
    fn start(&self, s: u64) -> u64 {
        1 + (u128::from(s) * u128::from(self.candidates) / u128::from(self.strata)) as u64
    }

    /// The dirty row of stratum `s` (`s < strata`).
    pub(crate) fn dirty_row(&self, s: u64) -> u64 {
        let a = self.start(s);
        let b = self.start(s + 1);
        a + hash3(self.seed, STREAM_PLAN, s) % (b - a).max(1)
    }

    /// `Some(stratum)` when `row` is dirty.
    pub(crate) fn stratum_of_dirty(&self, row: u64) -> Option<u64> {
        if self.strata == 0 || row == 0 || row > self.candidates {
            return None;
        }
        // Largest s with start(s) <= row, i.e. s*C/D <= row-1.
        let num = u128::from(row) * u128::from(self.strata);
        let c = u128::from(self.candidates);
        let s = (num.div_ceil(c) as u64).saturating_sub(1);
        (self.dirty_row(s) == row).then_some(s)
    }

    pub(crate) fn is_clean(&self, row: u64) -> bool {
        self.stratum_of_dirty(row).is_none()
    }

    /// Sequential walk over the dirty rows in file order.
    pub(crate) fn cursor(&self) -> DirtyCursor<'_> {
        let next = if self.strata > 0 {
            Some(self.dirty_row(0))
        } else {
            None
        };
        DirtyCursor {
            plan: self,
            stratum: 0,
            next,
        }
    }
}

/// Streams the plan: call [`DirtyCursor::check`] with increasing rows.
pub(crate) struct DirtyCursor<'a> {
    plan: &'a DirtyPlan,
    stratum: u64,
    next: Option<u64>,
}

impl DirtyCursor<'_> {
    /// `Some(stratum)` if `row` is dirty. Rows must be passed in increasing
    /// order, each at most once.
    #[inline]
    pub(crate) fn check(&mut self, row: u64) -> Option<u64> {
        if self.next != Some(row) {
            return None;
        }
        let s = self.stratum;
        self.stratum += 1;
        self.next = (self.stratum < self.plan.strata).then(|| self.plan.dirty_row(self.stratum));
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(users: u64, dirty: f64, seed: u64) -> Vec<(u64, u64)> {
        let plan = DirtyPlan::new(users, dirty, seed);
        let mut cur = plan.cursor();
        (0..users)
            .filter_map(|r| cur.check(r).map(|s| (r, s)))
            .collect()
    }

    #[test]
    fn exact_count_and_row_zero_clean() {
        for &(users, dirty) in &[(1000u64, 0.04), (10, 1.0), (1, 1.0), (0, 0.5), (12345, 0.3)] {
            let plan = DirtyPlan::new(users, dirty, 9);
            let rows = walk(users, dirty, 9);
            assert_eq!(rows.len() as u64, plan.dirty_rows());
            assert!(rows.iter().all(|&(r, _)| r != 0));
            for (k, &(_, s)) in rows.iter().enumerate() {
                assert_eq!(s, k as u64);
            }
        }
        assert_eq!(DirtyPlan::new(1000, 0.04, 1).dirty_rows(), 40);
        assert_eq!(DirtyPlan::new(10, 1.0, 1).dirty_rows(), 9);
    }

    #[test]
    fn stateless_lookup_matches_cursor() {
        for &(users, dirty) in &[(5000u64, 0.04), (97, 0.5), (50, 1.0), (3, 0.0)] {
            let plan = DirtyPlan::new(users, dirty, 77);
            let mut cur = plan.cursor();
            for r in 0..users {
                assert_eq!(cur.check(r), plan.stratum_of_dirty(r), "row {r}");
            }
        }
    }
}
