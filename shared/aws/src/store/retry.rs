//! The store's own retry policy: bounded attempts with exponential backoff and full
//! jitter, for what the SDK does not retry by itself — `UnprocessedItems` /
//! `UnprocessedKeys` of batch calls and `TransactWriteItems` cancelled by a conflict.

use rand::Rng;
use std::time::Duration;

/// How the store retries leftovers of batch calls and conflicting transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls per operation, the first one included.
    pub max_attempts: u32,
    /// Backoff before the second call; doubles each time (full jitter).
    pub base_delay: Duration,
    /// Backoff cap.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The upper bound of the delay after failed attempt `attempt` (1-based):
    /// `min(max_delay, base_delay * 2^(attempt-1))`, saturating.
    pub fn backoff_cap(&self, attempt: u32) -> Duration {
        self.base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_delay)
    }

    /// A random delay in `[0, backoff_cap(attempt)]` (full jitter), at millisecond grain.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let millis = u64::try_from(self.backoff_cap(attempt).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }

    #[test]
    fn the_backoff_cap_doubles_from_the_base_and_stops_at_the_maximum() {
        let p = policy();
        let caps: Vec<u128> = (1..=8).map(|a| p.backoff_cap(a).as_millis()).collect();
        assert_eq!(caps, [50, 100, 200, 400, 800, 1600, 2000, 2000]);
        // Far past the cap the arithmetic saturates instead of overflowing.
        assert_eq!(p.backoff_cap(u32::MAX), Duration::from_secs(2));
        assert_eq!(p.backoff_cap(0), Duration::from_millis(50));
    }

    #[test]
    fn every_jittered_delay_lies_between_zero_and_its_cap_and_uses_the_range() {
        let p = policy();
        for attempt in 1..=10 {
            let cap = p.backoff_cap(attempt);
            let delays: Vec<Duration> = (0..300).map(|_| p.backoff(attempt)).collect();
            assert!(delays.iter().all(|d| *d <= cap), "attempt {attempt}");
            // Full jitter spreads over the range: with 300 draws, the chance that none
            // lands in the upper half is 2^-300.
            assert!(
                delays.iter().any(|d| *d > cap / 2),
                "attempt {attempt}: no delay above half the cap"
            );
            assert!(
                delays.iter().any(|d| *d < cap / 2),
                "attempt {attempt}: no delay below half the cap"
            );
        }
    }
}
