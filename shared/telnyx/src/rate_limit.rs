//! Client-side rate limiting from Telnyx's `x-ratelimit-*` headers.
//!
//! Telnyx limits each key per endpoint in fixed windows and announces the budget on
//! every response: `x-ratelimit-limit` (`40, 40;w=60`), `x-ratelimit-remaining` and
//! `x-ratelimit-reset` (seconds until the window rolls over). The limiter remembers the
//! last announcement per (key, endpoint), reserves one unit before each request, and
//! when the budget is spent sleeps until the reset instead of provoking a 429. A 429
//! (which carries no `Retry-After` on the live API) marks the budget spent until reset.
//!
//! The windows are fixed and aligned to the UTC clock (a minute on `/detail_records`,
//! a second on `/usage_reports`), and `x-ratelimit-reset` counts whole seconds. When the
//! window length (`w=`) is announced and the next UTC window boundary agrees with the
//! header to within a second, the limiter waits for that boundary (precise); otherwise
//! it trusts the header. Either way a small margin is added.
//!
//! The map is keyed by a SHA-256 fingerprint of the key, never the key itself.

use reqwest::header::HeaderMap;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A one-way fingerprint of an API key: lets the limiter tell keys apart without
/// holding them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct KeyFingerprint([u8; 16]);

impl KeyFingerprint {
    pub(crate) fn of(key: &str) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        Self(out)
    }
}

/// The budget Telnyx last announced for one (key, endpoint).
#[derive(Debug, Clone, Copy)]
struct Budget {
    remaining: u32,
    resets_at: Instant,
}

/// What one response said about the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Announcement {
    pub(crate) remaining: Option<u32>,
    /// Time until the window rolls over.
    pub(crate) reset: Option<Duration>,
}

impl Announcement {
    /// Reads `x-ratelimit-remaining`, `x-ratelimit-reset` (seconds; an epoch timestamp is
    /// tolerated) and the window `w=` of `x-ratelimit-limit`. `max_wait` caps the reset.
    pub(crate) fn from_headers(headers: &HeaderMap, max_wait: Duration) -> Self {
        Self::read(headers, max_wait, std::time::SystemTime::now())
    }

    fn read(headers: &HeaderMap, max_wait: Duration, now: std::time::SystemTime) -> Self {
        let number = |name: &str| -> Option<f64> {
            let text = headers.get(name)?.to_str().ok()?;
            // `x-ratelimit-limit` style lists: the first number is the one that applies.
            let first = text.split([',', ';']).next()?.trim();
            first
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
        };
        let remaining = number("x-ratelimit-remaining").map(|n| n as u32);
        let reset = number("x-ratelimit-reset").map(|secs| {
            let secs = if secs > 1_000_000_000.0 {
                // An absolute epoch time: convert to a delay.
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(secs);
                (secs - now).max(0.0)
            } else {
                secs
            };
            Duration::from_secs_f64(secs)
        });
        let window = headers
            .get("x-ratelimit-limit")
            .and_then(|v| v.to_str().ok())
            .and_then(|text| {
                text.split([',', ';'])
                    .find_map(|part| part.trim().strip_prefix("w="))
                    .and_then(|w| w.trim().parse::<u64>().ok())
            })
            .filter(|w| *w > 0)
            .map(Duration::from_secs);
        let boundary = window.and_then(|w| until_utc_boundary(w, now));
        let reset = match (reset, boundary) {
            (Some(header), Some(b)) if header.abs_diff(b) <= Duration::from_secs(1) => Some(b),
            (Some(header), _) => Some(header),
            (None, b) => b,
        };
        Self {
            remaining,
            reset: reset.map(|r| r.min(max_wait)),
        }
    }
}

/// Time from `now` to the next multiple of `window` since the Unix epoch (UTC).
fn until_utc_boundary(window: Duration, now: std::time::SystemTime) -> Option<Duration> {
    let since_epoch = now.duration_since(std::time::UNIX_EPOCH).ok()?;
    let window_ns = window.as_nanos();
    if window_ns == 0 {
        return None;
    }
    let into = since_epoch.as_nanos() % window_ns;
    u64::try_from(window_ns - into)
        .ok()
        .map(Duration::from_nanos)
}

/// Per (key fingerprint, endpoint) budgets.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    margin: Duration,
    budgets: Mutex<HashMap<(KeyFingerprint, &'static str), Budget>>,
}

impl std::fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyFingerprint(..)")
    }
}

impl RateLimiter {
    pub(crate) fn new(margin: Duration) -> Self {
        Self {
            margin,
            budgets: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until one request may be sent, then reserves it.
    pub(crate) async fn acquire(&self, key: KeyFingerprint, endpoint: &'static str) {
        loop {
            let wait = {
                let mut budgets = match self.budgets.lock() {
                    Ok(g) => g,
                    Err(poisoned) => poisoned.into_inner(),
                };
                let now = Instant::now();
                match budgets.get_mut(&(key, endpoint)) {
                    None => None,
                    Some(b) if now >= b.resets_at => {
                        // The window rolled over: the next response announces the new budget.
                        budgets.remove(&(key, endpoint));
                        None
                    }
                    Some(b) if b.remaining > 0 => {
                        b.remaining -= 1;
                        None
                    }
                    Some(b) => Some(b.resets_at - now),
                }
            };
            match wait {
                None => return,
                Some(delay) => {
                    tracing::debug!(
                        endpoint,
                        wait_ms = delay.as_millis() as u64,
                        "rate budget spent, waiting for the window to reset"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Records what a response announced. `throttled` (a 429) means the budget is spent
    /// whatever `remaining` says.
    pub(crate) fn observe(
        &self,
        key: KeyFingerprint,
        endpoint: &'static str,
        announced: Announcement,
        throttled: bool,
    ) {
        let Some(reset) = announced.reset else {
            return;
        };
        let remaining = if throttled {
            0
        } else {
            match announced.remaining {
                Some(r) => r,
                None => return,
            }
        };
        let budget = Budget {
            remaining,
            resets_at: Instant::now() + reset + self.margin,
        };
        let mut budgets = match self.budgets.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        budgets.insert((key, endpoint), budget);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn headers_are_read_including_the_list_form_of_the_limit() {
        let a = Announcement::from_headers(
            &headers(&[
                ("x-ratelimit-limit", "40, 40;w=60"),
                ("x-ratelimit-remaining", "7"),
                ("x-ratelimit-reset", "12"),
            ]),
            Duration::from_secs(65),
        );
        assert_eq!(a.remaining, Some(7));
        assert!(a.reset.is_some_and(|r| r <= Duration::from_secs(60)));
        let capped = Announcement::from_headers(
            &headers(&[("x-ratelimit-reset", "3600")]),
            Duration::from_secs(65),
        );
        assert_eq!(capped.reset, Some(Duration::from_secs(65)));
    }

    #[test]
    fn the_utc_window_boundary_refines_a_whole_second_reset() {
        // 10:00:50.250 UTC; the server says 10 s (rounded up); the boundary is 9.75 s away.
        let now = std::time::UNIX_EPOCH + Duration::from_millis(1_795_000_850_250);
        let a = Announcement::read(
            &headers(&[
                ("x-ratelimit-limit", "40, 40;w=60"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "10"),
            ]),
            Duration::from_secs(65),
            now,
        );
        assert_eq!(a.reset, Some(Duration::from_millis(9_750)));
        // A header that disagrees with the clock by more than a second wins.
        let skewed = Announcement::read(
            &headers(&[
                ("x-ratelimit-limit", "40;w=60"),
                ("x-ratelimit-reset", "30"),
            ]),
            Duration::from_secs(65),
            now,
        );
        assert_eq!(skewed.reset, Some(Duration::from_secs(30)));
        let no_window = Announcement::read(
            &headers(&[("x-ratelimit-reset", "12")]),
            Duration::from_secs(65),
            now,
        );
        assert_eq!(no_window.reset, Some(Duration::from_secs(12)));
    }

    #[test]
    fn fingerprints_differ_per_key_and_do_not_show_it() {
        let a = KeyFingerprint::of("KEY-A");
        assert!(a != KeyFingerprint::of("KEY-B"));
        assert!(!format!("{a:?}").contains("KEY-A"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_spent_budget_waits_for_the_reset_and_other_keys_do_not() {
        let limiter = RateLimiter::new(Duration::from_millis(100));
        let spent = KeyFingerprint::of("spent");
        let fresh = KeyFingerprint::of("fresh");
        limiter.observe(
            spent,
            "/detail_records",
            Announcement {
                remaining: Some(0),
                reset: Some(Duration::from_secs(5)),
            },
            false,
        );
        let start = Instant::now();
        limiter.acquire(fresh, "/detail_records").await;
        limiter.acquire(spent, "/billing_groups").await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire(spent, "/detail_records").await;
        assert!(
            start.elapsed() >= Duration::from_millis(5_100),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_is_reserved_locally_before_the_server_answers() {
        let limiter = RateLimiter::new(Duration::ZERO);
        let key = KeyFingerprint::of("k");
        limiter.observe(
            key,
            "/detail_records",
            Announcement {
                remaining: Some(2),
                reset: Some(Duration::from_secs(10)),
            },
            false,
        );
        let start = Instant::now();
        limiter.acquire(key, "/detail_records").await;
        limiter.acquire(key, "/detail_records").await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire(key, "/detail_records").await;
        assert!(start.elapsed() >= Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_spends_the_budget_until_reset() {
        let limiter = RateLimiter::new(Duration::ZERO);
        let key = KeyFingerprint::of("k");
        limiter.observe(
            key,
            "/usage_reports",
            Announcement {
                remaining: Some(3),
                reset: Some(Duration::from_secs(1)),
            },
            true,
        );
        let start = Instant::now();
        limiter.acquire(key, "/usage_reports").await;
        assert!(start.elapsed() >= Duration::from_secs(1));
    }
}
