//! Synthetic pools: users and groups computed from their index, so a pool
//! of 10M users costs no memory and any page is produced in microseconds.
//!
//! User `i` of pool `p` (global index `g = p * users_per_pool + i`):
//! - `sub` = `Username` = a UUID-v4-shaped id whose first hex digit is
//!   `i % 16` and next seven are `i / 16`, the second group is `p`: a
//!   `sub ^= "<hex prefix>"` filter maps to an arithmetic progression of
//!   indexes, and a sub maps back to its index;
//! - `email` `user{g}@example.com`, `email_verified` `"false"` for every
//!   10th user (`i % 10 == 9`), else `"true"`; `given_name`, `family_name`,
//!   `name` from two 16-name lists; `custom:tier` `free`/`pro`/`enterprise`
//!   by `g % 3`;
//! - `UserStatus` `CONFIRMED`; `Enabled` false for every 100th user
//!   (`i % 100 == 99`);
//! - created `2020-01-01T00:00:00Z + 37 s × i`, modified one day later.
//!
//! Groups (in this order, when `groups_per_pool` allows): `admins` (users
//! with `i % 20 == 0`), `members` (every other user), then `team-KK` for
//! `k` in `2..groups_per_pool` (users with `i % groups_per_pool == k`).

use std::fmt::Write as _;

/// Synthetic pools of a fake: `pools` pools, each with `users_per_pool`
/// users and `groups_per_pool` groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticPools {
    pub pools: u32,
    pub users_per_pool: u64,
    pub groups_per_pool: u32,
}

const FIRST_NAMES: [&str; 16] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Linus",
    "Frances", "John", "Niklaus", "Leslie", "Tim", "Sophie",
];
const LAST_NAMES: [&str; 16] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Perlman",
    "Torvalds",
    "Allen",
    "Backus",
    "Wirth",
    "Lamport",
    "Berners-Lee",
    "Wilson",
];
const TIERS: [&str; 3] = ["free", "pro", "enterprise"];
/// 2020-01-01T00:00:00Z in epoch millis.
const SYNTHETIC_EPOCH_MS: u64 = 1_577_836_800_000;
/// Name of the custom attribute every synthetic user has.
pub const TIER_ATTRIBUTE: &str = "custom:tier";

/// One synthetic pool (pool `index` of a [`SyntheticPools`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticPool {
    pub spec: SyntheticPools,
    pub index: u32,
}

/// An arithmetic progression of user indexes `start, start+step, …` below
/// `end` (empty when `start >= end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progression {
    pub start: u64,
    pub step: u64,
    pub end: u64,
}

impl Progression {
    pub const EMPTY: Progression = Progression {
        start: 0,
        step: 1,
        end: 0,
    };

    /// The first member `>= from`.
    pub fn first_at_or_after(&self, from: u64) -> Option<u64> {
        let i = if from <= self.start {
            self.start
        } else {
            let k = (from - self.start).div_ceil(self.step);
            self.start.checked_add(k.checked_mul(self.step)?)?
        };
        (i < self.end).then_some(i)
    }
}

impl SyntheticPool {
    pub fn users(&self) -> u64 {
        self.spec.users_per_pool
    }

    pub fn pool_id(region: &str, index: u32) -> String {
        format!("{region}_SYNTH{index:04}")
    }

    fn global(&self, i: u64) -> u64 {
        u64::from(self.index) * self.spec.users_per_pool + i
    }

    /// The `sub` (and `Username`) of user `i`.
    pub fn sub(&self, i: u64) -> String {
        let h = mix((u64::from(self.index) << 40) ^ i);
        format!(
            "{:x}{:07x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            i % 16,
            (i / 16) & 0xfff_ffff,
            self.index & 0xffff,
            h & 0xfff,
            8 + ((h >> 12) & 3),
            (h >> 14) & 0xfff,
            (h >> 26) & 0xffff_ffff_ffff,
        )
    }

    /// Index of the user with this `sub`/`Username`.
    pub fn index_of(&self, sub: &str) -> Option<u64> {
        let head = sub.get(..8)?;
        if !head.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let r = u64::from_str_radix(&head[..1], 16).ok()?;
        let q = u64::from_str_radix(&head[1..], 16).ok()?;
        let i = q * 16 + r;
        (i < self.users() && self.sub(i) == sub).then_some(i)
    }

    /// Users whose `sub` starts with `prefix`, as a progression (members
    /// still need the full `starts_with` check when `prefix` is longer
    /// than 8 characters).
    pub fn sub_prefix(&self, prefix: &str) -> Progression {
        let n = self.users();
        if prefix.is_empty() {
            return Progression {
                start: 0,
                step: 1,
                end: n,
            };
        }
        let head: String = prefix.chars().take(8).collect();
        if !head.bytes().all(|b| b.is_ascii_hexdigit()) || head.chars().any(char::is_uppercase) {
            return Progression::EMPTY;
        }
        let Ok(r) = u64::from_str_radix(&head[..1], 16) else {
            return Progression::EMPTY;
        };
        let digits = &head[1..];
        let free = 7 - digits.len() as u32;
        let fixed = if digits.is_empty() {
            0
        } else {
            match u64::from_str_radix(digits, 16) {
                Ok(v) => v,
                Err(_) => return Progression::EMPTY,
            }
        };
        let lo = fixed << (4 * free);
        let hi = (fixed + 1) << (4 * free);
        Progression {
            start: lo * 16 + r,
            step: 16,
            end: (hi * 16 + r).min(n),
        }
    }

    pub fn email(&self, i: u64) -> String {
        format!("user{}@example.com", self.global(i))
    }

    pub fn enabled(i: u64) -> bool {
        i % 100 != 99
    }

    pub fn created_ms(i: u64) -> u64 {
        SYNTHETIC_EPOCH_MS + i * 37_000
    }

    pub fn modified_ms(i: u64) -> u64 {
        Self::created_ms(i) + 86_400_000
    }

    fn names(&self, i: u64) -> (&'static str, &'static str) {
        let g = self.global(i);
        (
            FIRST_NAMES[(g % 16) as usize],
            LAST_NAMES[((g / 16) % 16) as usize],
        )
    }

    /// The value of one attribute of user `i` as the `Filter` sees it
    /// (including `username`, `status` and `cognito:user_status`).
    pub fn attribute(&self, i: u64, name: &str) -> Option<String> {
        let (first, last) = self.names(i);
        Some(match name {
            "sub" | "username" => self.sub(i),
            "email" => self.email(i),
            "email_verified" => (i % 10 != 9).to_string(),
            "given_name" => first.to_string(),
            "family_name" => last.to_string(),
            "name" => format!("{first} {last}"),
            TIER_ATTRIBUTE => TIERS[(self.global(i) % 3) as usize].to_string(),
            "cognito:user_status" => "CONFIRMED".to_string(),
            "status" => if Self::enabled(i) {
                "Enabled"
            } else {
                "Disabled"
            }
            .to_string(),
            _ => return None,
        })
    }

    /// Index of the user with this email, if it is one of this pool's.
    pub fn index_of_email(&self, email: &str) -> Option<u64> {
        let g: u64 = email
            .strip_prefix("user")?
            .strip_suffix("@example.com")?
            .parse()
            .ok()?;
        let base = u64::from(self.index) * self.spec.users_per_pool;
        let i = g.checked_sub(base)?;
        (i < self.users() && self.email(i) == email).then_some(i)
    }

    /// Appends user `i` as a `UserType` JSON object (all attributes, or
    /// only those in `only`).
    pub fn write_user(&self, i: u64, only: Option<&[String]>, out: &mut String) {
        let (first, last) = self.names(i);
        let sub = self.sub(i);
        let g = self.global(i);
        let verified = if i % 10 == 9 { "false" } else { "true" };
        let name = format!("{first} {last}");
        let email = format!("user{g}@example.com");
        let attributes: [(&str, &str); 7] = [
            ("sub", &sub),
            ("email_verified", verified),
            ("given_name", first),
            ("family_name", last),
            ("name", &name),
            ("email", &email),
            (TIER_ATTRIBUTE, TIERS[(g % 3) as usize]),
        ];
        let _ = write!(out, "{{\"Username\":\"{sub}\",\"Attributes\":[");
        let mut first_attr = true;
        for (k, v) in attributes {
            if only.is_some_and(|names| !names.iter().any(|n| n == k)) {
                continue;
            }
            if !first_attr {
                out.push(',');
            }
            first_attr = false;
            let _ = write!(out, "{{\"Name\":\"{k}\",\"Value\":\"{v}\"}}");
        }
        out.push_str("],\"UserCreateDate\":");
        push_epoch(out, Self::created_ms(i));
        out.push_str(",\"UserLastModifiedDate\":");
        push_epoch(out, Self::modified_ms(i));
        let _ = write!(
            out,
            ",\"Enabled\":{},\"UserStatus\":\"CONFIRMED\"}}",
            Self::enabled(i)
        );
    }

    // --- groups ----------------------------------------------------------

    pub fn group_count(&self) -> u32 {
        self.spec.groups_per_pool
    }

    pub fn group_name(k: u32) -> String {
        match k {
            0 => "admins".to_string(),
            1 => "members".to_string(),
            _ => format!("team-{k:02}"),
        }
    }

    pub fn group_index(&self, name: &str) -> Option<u32> {
        let k = match name {
            "admins" => 0,
            "members" => 1,
            _ => {
                let digits = name.strip_prefix("team-")?;
                let k: u32 = digits.parse().ok()?;
                if k < 2 || Self::group_name(k) != name {
                    return None;
                }
                k
            }
        };
        (k < self.group_count()).then_some(k)
    }

    pub fn group_description(k: u32) -> String {
        match k {
            0 => "Administrators (every 20th user)".to_string(),
            1 => "Everyone who is not an administrator".to_string(),
            _ => format!("Team {k}"),
        }
    }

    pub fn group_precedence(k: u32) -> u32 {
        match k {
            0 => 1,
            1 => 10,
            _ => 100 + k,
        }
    }

    /// Members of group `k`.
    pub fn member_count(&self, k: u32) -> u64 {
        let n = self.users();
        let admins = n.div_ceil(20);
        match k {
            0 => admins,
            1 => n - admins,
            _ => {
                let k = u64::from(k);
                if n > k {
                    (n - k - 1) / u64::from(self.group_count()) + 1
                } else {
                    0
                }
            }
        }
    }

    /// User index of the `j`-th member of group `k` (creation order).
    pub fn member_at(&self, k: u32, j: u64) -> u64 {
        match k {
            0 => 20 * j,
            1 => (j / 19) * 20 + j % 19 + 1,
            _ => u64::from(k) + j * u64::from(self.group_count()),
        }
    }

    /// Groups of user `i`, in group creation order.
    pub fn groups_of(&self, i: u64) -> Vec<u32> {
        let g = self.group_count();
        let mut out = Vec::new();
        if i.is_multiple_of(20) && g >= 1 {
            out.push(0);
        }
        if !i.is_multiple_of(20) && g >= 2 {
            out.push(1);
        }
        if g > 2 {
            let k = (i % u64::from(g)) as u32;
            if k >= 2 {
                out.push(k);
            }
        }
        out
    }
}

/// Appends epoch millis as JSON epoch seconds with three decimals (the
/// form AWS and moto use for timestamps).
pub fn push_epoch(out: &mut String, millis: u64) {
    let _ = write!(out, "{}.{:03}", millis / 1000, millis % 1000);
}

/// A 64-bit mixer (splitmix64's finaliser).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
