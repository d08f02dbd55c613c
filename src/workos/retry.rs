//! The retry rule, shared by the client and `analyze` so the two can never
//! disagree about what is worth retrying (import.md §11.1 lesson 4).
//!
//! Retryable: HTTP 408, 429, 500, 502, 503, 504, client timeouts and
//! connection failures (refused, reset, incomplete response). Everything else
//! (400/401/403/404/409/422, bad input) fails the same way every time.
//! Backoff: exponential from [`RetryPolicy::initial_backoff`], capped at
//! [`RetryPolicy::max_backoff`], with full jitter in [50 %, 100 %]; a
//! `Retry-After` replaces the computed delay (capped at
//! [`RetryPolicy::max_retry_after`]) and pauses the whole run.

use std::time::Duration;

/// HTTP statuses worth retrying.
pub const RETRYABLE_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];

/// Whether a response with this status may succeed on retry.
pub fn is_retryable_status(status: u16) -> bool {
    RETRYABLE_STATUSES.contains(&status)
}

/// How many times and how patiently a request is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured; longer values are clamped.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 8,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(16),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retry` (1-based). `jitter` is a number in
    /// [0, 1) from the caller's random source; the delay lands in
    /// [50 %, 100 %] of the exponential step.
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1).min(20))
            .unwrap_or(u32::MAX);
        let step = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        step.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// A small xorshift source for jitter (no need for cryptographic quality).
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// Seeded from the clock and an address, different per task.
    pub fn from_entropy() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9);
        let local = 0u8;
        Self::new(t ^ ((&local as *const u8 as u64).rotate_left(17)))
    }

    /// Next value in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_set() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 422, 501] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_grows_caps_and_jitters_within_half_to_full() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(250));
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(125));
        assert_eq!(p.backoff(3, 1.0), Duration::from_millis(1000));
        assert_eq!(p.backoff(30, 1.0), Duration::from_secs(16));
        let mut j = Jitter::new(7);
        for _ in 0..1000 {
            let v = j.next_f64();
            assert!((0.0..1.0).contains(&v));
        }
    }
}
