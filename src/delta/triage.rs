//! Triage of one bucket pair of `diff` by fingerprint: a user key whose rows
//! have the same multiset of [`RowPrint::row`]s in both packages (and whose
//! `users.csv` rows agree with each other) is unchanged and only counted;
//! every other key — new, gone, or different in any row — goes to the exact
//! comparison with all its rows of both sides.

use super::buckets::{RowKind, RowPrint};

/// The outcome for one bucket pair.
#[derive(Debug, Default)]
pub struct Triage {
    /// Keys with a user row, equal in both packages.
    pub unchanged_users: u64,
    /// The prints of the keys to compare exactly, per side.
    pub old: Vec<RowPrint>,
    pub new: Vec<RowPrint>,
}

/// One key's rows on one side, summarised.
struct KeyRows<'a> {
    key: u128,
    /// Order-independent sum of the row prints.
    sum: u128,
    has_user: bool,
    /// Every users.csv row of the key has the same user columns.
    consistent: bool,
    prints: &'a [RowPrint],
}

fn summarise(prints: &[RowPrint]) -> Vec<KeyRows<'_>> {
    prints
        .chunk_by(|a, b| a.key == b.key)
        .map(|run| {
            let mut user_columns = None;
            let mut consistent = true;
            let mut sum = 0u128;
            for p in run {
                sum = sum.wrapping_add(p.row);
                if p.kind == RowKind::User {
                    match user_columns {
                        None => user_columns = Some(p.user_columns),
                        Some(u) if u != p.user_columns => consistent = false,
                        Some(_) => {}
                    }
                }
            }
            KeyRows {
                key: run.first().map_or(0, |p| p.key),
                sum,
                has_user: user_columns.is_some(),
                consistent,
                prints: run,
            }
        })
        .collect()
}

/// Sorts out the unchanged keys of a bucket pair.
pub fn triage(mut old: Vec<RowPrint>, mut new: Vec<RowPrint>) -> Triage {
    old.sort_unstable_by_key(|p| p.key);
    new.sort_unstable_by_key(|p| p.key);
    let (o, n) = (summarise(&old), summarise(&new));
    let mut out = Triage::default();
    let (mut i, mut j) = (0, 0);
    while i < o.len() || j < n.len() {
        match (o.get(i), n.get(j)) {
            (Some(a), Some(b)) if a.key == b.key => {
                if a.sum == b.sum && a.consistent && b.consistent && a.has_user == b.has_user {
                    out.unchanged_users += u64::from(a.has_user);
                } else {
                    out.old.extend_from_slice(a.prints);
                    out.new.extend_from_slice(b.prints);
                }
                i += 1;
                j += 1;
            }
            (Some(a), b) if b.is_none_or(|b| a.key < b.key) => {
                out.old.extend_from_slice(a.prints);
                i += 1;
            }
            (_, Some(b)) => {
                out.new.extend_from_slice(b.prints);
                j += 1;
            }
            (_, None) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(kind: RowKind, key: u128, row: u128, user_columns: u64) -> RowPrint {
        RowPrint {
            kind,
            key,
            row,
            user_columns,
            offset: 0,
            line: 0,
        }
    }

    #[test]
    fn equal_keys_are_counted_the_rest_compared() {
        let u = RowKind::User;
        let m = RowKind::Membership;
        let old = vec![
            p(u, 1, 10, 5),
            p(u, 1, 11, 5), // same user, second org row (any order)
            p(u, 2, 20, 6), // changes
            p(u, 3, 30, 7), // gone
            p(m, 5, 50, 0), // membership only, equal: not a user
            p(u, 6, 60, 8), // duplicate key with different user columns
            p(u, 6, 61, 9),
        ];
        let new = vec![
            p(u, 1, 11, 5),
            p(u, 1, 10, 5),
            p(u, 2, 21, 6),
            p(u, 4, 40, 1), // new
            p(m, 5, 50, 0),
            p(u, 6, 60, 8),
            p(u, 6, 61, 9),
        ];
        let t = triage(old, new);
        assert_eq!(t.unchanged_users, 1);
        let keys = |v: &[RowPrint]| v.iter().map(|p| p.key).collect::<Vec<_>>();
        assert_eq!(keys(&t.old), [2, 3, 6, 6]);
        assert_eq!(keys(&t.new), [2, 4, 6, 6]);
    }
}
