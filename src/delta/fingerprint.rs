//! Fingerprints of `diff`: what identifies a user key and a row without
//! keeping the row. Two rows with the same fingerprint are treated as equal,
//! so a fingerprint is 128 bits (two xxHash64 with independent seeds): the
//! chance that a changed user looks unchanged is about 2⁻¹²⁸ per user.
//!
//! - [`key_print`]: the user key (`x:<external_id>` / `e:<email>`);
//! - [`RowHasher::row_print`]: the row's kind and canonical fields exactly as
//!   written (length-prefixed, so `a,bc` and `ab,c` differ);
//! - [`RowHasher::user_columns_print`]: the trimmed user columns of a
//!   `users.csv` row, which every row of one user must share (else the
//!   package has a "duplicate key" the exact comparison reports).
//!
//! A user whose rows have the same multiset of row prints in both packages
//! is unchanged: nothing about the user, its memberships or role
//! assignments differs. Only the other users are read again and compared
//! field by field ([`super::compare`]).

use twox_hash::XxHash64;

use super::buckets::RowKind;

const SEED_A: u64 = 0x9e37_79b9_7f4a_7c15;
const SEED_B: u64 = 0xc2b2_ae3d_27d4_eb4f;

/// A 128-bit fingerprint of some bytes.
fn print128(bytes: &[u8]) -> u128 {
    (u128::from(XxHash64::oneshot(SEED_A, bytes)) << 64)
        | u128::from(XxHash64::oneshot(SEED_B, bytes))
}

/// The fingerprint of a user key.
pub fn key_print(key: &str) -> u128 {
    print128(key.as_bytes())
}

/// Computes row fingerprints with one reused buffer.
#[derive(Debug, Default)]
pub struct RowHasher {
    scratch: Vec<u8>,
}

impl RowHasher {
    /// The fingerprint of a row: its kind and its canonical fields.
    pub fn row_print(&mut self, kind: RowKind, fields: &[&str]) -> u128 {
        let s = &mut self.scratch;
        s.clear();
        s.push(kind as u8);
        for f in fields {
            s.extend_from_slice(&(f.len() as u32).to_le_bytes());
            s.extend_from_slice(f.as_bytes());
        }
        print128(s)
    }

    /// The fingerprint of the first `columns` fields, trimmed (the columns
    /// every `users.csv` row of one user must agree on).
    pub fn user_columns_print(&mut self, fields: &[&str], columns: usize) -> u64 {
        let s = &mut self.scratch;
        s.clear();
        for f in fields.iter().take(columns) {
            let f = f.trim();
            s.extend_from_slice(&(f.len() as u32).to_le_bytes());
            s.extend_from_slice(f.as_bytes());
        }
        XxHash64::oneshot(SEED_A, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_boundaries_and_kinds_count() {
        let mut h = RowHasher::default();
        let a = h.row_print(RowKind::User, &["a", "bc"]);
        assert_ne!(a, h.row_print(RowKind::User, &["ab", "c"]));
        assert_ne!(a, h.row_print(RowKind::Membership, &["a", "bc"]));
        assert_eq!(a, h.row_print(RowKind::User, &["a", "bc"]));
        assert_eq!(
            h.user_columns_print(&[" a ", "b", "x"], 2),
            h.user_columns_print(&["a", "b ", "y"], 2)
        );
        assert_ne!(key_print("x:1"), key_print("x:2"));
    }
}
