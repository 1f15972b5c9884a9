//! Client-side rate limiting from Telnyx's `x-ratelimit-*` headers, safe for many
//! concurrent walks sharing a key.
//!
//! Telnyx limits each key per endpoint in fixed windows and announces the budget on
//! every response: `x-ratelimit-limit` (`40, 40;w=60`), `x-ratelimit-remaining` and
//! `x-ratelimit-reset` (seconds until the window rolls over). A 429 carries no
//! `Retry-After` on the live API.
//!
//! Per (key, endpoint) the limiter is in one of three states:
//!
//! - **unknown** (the first request of a process, or a window that has rolled over): one
//!   request goes out as a *probe* and every other caller of that key and endpoint waits
//!   for the probe's headers, so a cold start cannot burst past the budget;
//! - **announced**: a budget `remaining` until `resets_at`; each request reserves one
//!   unit before it is sent, and a spent budget sleeps until the reset instead of
//!   provoking a 429. When a response announces `remaining`, the requests still in
//!   flight (sent, not yet answered, possibly not yet counted by Telnyx) are subtracted
//!   from it, and within one window the lower of the local and the announced figure
//!   wins; a response from an older window changes nothing;
//! - **unannounced**: a successful response carried no budget (an endpoint without a
//!   limit): requests go unthrottled, and the question is asked again after a minute.
//!
//! A 429 marks the budget spent until its reset. A request that ends without a response
//! (transport error, timeout, cancelled future) stops counting as in flight (its unit
//! stays spent: it may have reached Telnyx); a probe that does so hands the probe to the
//! next caller.
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
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a successful response without rate-limit headers lets requests through
/// unthrottled before the next request probes again.
const UNANNOUNCED_FOR: Duration = Duration::from_secs(60);

/// Two announcements whose resets differ by more than this belong to different windows.
const SAME_WINDOW: Duration = Duration::from_secs(1);

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
                // An absolute epoch time: convert to a delay from `now`.
                let now = now
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

/// What is known about one (key, endpoint) budget.
#[derive(Debug, Clone, Copy)]
enum Window {
    /// Nothing known: the probe is in flight and everyone else waits for its headers.
    Probing,
    /// Telnyx announced `remaining` (less local reservations since) until `resets_at`.
    Announced { remaining: u32, resets_at: Instant },
    /// A successful response announced no budget: unthrottled until `until`.
    Unannounced { until: Instant },
}

#[derive(Debug)]
struct Entry {
    window: Window,
    /// Requests sent (reserved) and not yet answered.
    in_flight: u32,
}

/// What a caller of [`RateLimiter::acquire`] does next.
enum Decision {
    Go { probe: bool },
    Sleep(Duration),
    AwaitProbe,
}

/// Per (key fingerprint, endpoint) budgets, shared by every clone of a client.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    margin: Duration,
    budgets: Mutex<HashMap<(KeyFingerprint, &'static str), Entry>>,
    /// Woken whenever a probe resolves.
    probe_resolved: Notify,
}

impl std::fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyFingerprint(..)")
    }
}

/// One reserved request. Hand it the response's announcement with
/// [`Permit::observe`]; dropping it without (no response) ends it as in flight and, for
/// a probe, lets the next caller probe.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    limiter: &'a RateLimiter,
    slot: (KeyFingerprint, &'static str),
    probe: bool,
    settled: bool,
}

impl RateLimiter {
    pub(crate) fn new(margin: Duration) -> Self {
        Self {
            margin,
            budgets: Mutex::new(HashMap::new()),
            probe_resolved: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(KeyFingerprint, &'static str), Entry>> {
        // A panic elsewhere leaves the counts usable: recover the map.
        match self.budgets.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Waits until one request may be sent, then reserves it.
    pub(crate) async fn acquire(&self, key: KeyFingerprint, endpoint: &'static str) -> Permit<'_> {
        let slot = (key, endpoint);
        loop {
            // Registered before the map is unlocked, so a probe resolving in between is
            // not missed.
            let resolved = self.probe_resolved.notified();
            tokio::pin!(resolved);
            resolved.as_mut().enable();
            let decision = {
                let mut budgets = self.lock();
                let now = Instant::now();
                let entry = budgets.entry(slot).or_insert(Entry {
                    window: Window::Probing,
                    in_flight: 0,
                });
                let decision = match entry.window {
                    // A fresh entry (in_flight 0 and probing) is the caller's to probe.
                    Window::Probing if entry.in_flight == 0 => Decision::Go { probe: true },
                    Window::Probing => Decision::AwaitProbe,
                    Window::Announced { resets_at, .. }
                    | Window::Unannounced { until: resets_at }
                        if now >= resets_at =>
                    {
                        // The window rolled over: ask again before anyone else goes.
                        entry.window = Window::Probing;
                        Decision::Go { probe: true }
                    }
                    Window::Unannounced { .. } => Decision::Go { probe: false },
                    Window::Announced {
                        ref mut remaining, ..
                    } if *remaining > 0 => {
                        *remaining -= 1;
                        Decision::Go { probe: false }
                    }
                    Window::Announced { resets_at, .. } => Decision::Sleep(resets_at - now),
                };
                if let Decision::Go { probe } = decision {
                    entry.in_flight += 1;
                    if probe {
                        entry.window = Window::Probing;
                    }
                }
                decision
            };
            match decision {
                Decision::Go { probe } => {
                    return Permit {
                        limiter: self,
                        slot,
                        probe,
                        settled: false,
                    };
                }
                Decision::Sleep(delay) => {
                    tracing::debug!(
                        endpoint,
                        wait_ms = delay.as_millis() as u64,
                        "rate budget spent, waiting for the window to reset"
                    );
                    tokio::time::sleep(delay).await;
                }
                Decision::AwaitProbe => resolved.await,
            }
        }
    }

    /// Applies what one response announced (`None`: no response arrived).
    fn settle(&self, permit: &Permit<'_>, response: Option<(Announcement, u16)>) {
        let mut budgets = self.lock();
        let Some(entry) = budgets.get_mut(&permit.slot) else {
            return;
        };
        entry.in_flight = entry.in_flight.saturating_sub(1);
        let now = Instant::now();
        let announced = response.and_then(|(announced, status)| {
            let reset = announced.reset?;
            let remaining = if status == 429 {
                0
            } else {
                announced.remaining?
            };
            // Requests still in flight may not have been counted by Telnyx yet.
            Some((
                remaining.saturating_sub(entry.in_flight),
                now + reset + self.margin,
            ))
        });
        let succeeded = response.is_some_and(|(_, status)| (200..300).contains(&status));
        let next = match (entry.window, announced) {
            (Window::Probing, _) if !permit.probe => None,
            (Window::Probing, Some((remaining, resets_at))) => Some(Window::Announced {
                remaining,
                resets_at,
            }),
            (Window::Probing, None) if succeeded => Some(Window::Unannounced {
                until: now + UNANNOUNCED_FOR,
            }),
            // No response, or an error without a budget: the next caller probes.
            (Window::Probing, None) => {
                budgets.remove(&permit.slot);
                self.probe_resolved.notify_waiters();
                return;
            }
            (
                Window::Announced {
                    remaining: local,
                    resets_at: current,
                },
                Some((remaining, resets_at)),
            ) => {
                if resets_at + SAME_WINDOW < current {
                    None // an answer from an older window
                } else if resets_at > current + SAME_WINDOW {
                    Some(Window::Announced {
                        remaining,
                        resets_at,
                    })
                } else {
                    Some(Window::Announced {
                        remaining: remaining.min(local),
                        resets_at: resets_at.max(current),
                    })
                }
            }
            (Window::Unannounced { .. }, Some((remaining, resets_at))) => Some(Window::Announced {
                remaining,
                resets_at,
            }),
            (_, None) => None,
        };
        if let Some(window) = next {
            entry.window = window;
        }
        if permit.probe {
            self.probe_resolved.notify_waiters();
        }
    }
}

impl Permit<'_> {
    /// Records what the response announced; `status` 429 means the budget is spent
    /// whatever `remaining` says.
    pub(crate) fn observe(mut self, announced: Announcement, status: u16) {
        self.settled = true;
        self.limiter.settle(&self, Some((announced, status)));
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.limiter.settle(self, None);
        }
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
    fn an_epoch_reset_is_converted_with_the_given_clock() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let a = Announcement::read(
            &headers(&[("x-ratelimit-reset", "1795000012")]),
            Duration::from_secs(65),
            now,
        );
        assert_eq!(a.reset, Some(Duration::from_secs(12)));
    }

    #[test]
    fn fingerprints_differ_per_key_and_do_not_show_it() {
        let a = KeyFingerprint::of("KEY-A");
        assert!(a != KeyFingerprint::of("KEY-B"));
        assert!(!format!("{a:?}").contains("KEY-A"));
    }

    const DR: &str = "/detail_records";

    fn budget(remaining: u32, reset_secs: u64) -> Announcement {
        Announcement {
            remaining: Some(remaining),
            reset: Some(Duration::from_secs(reset_secs)),
        }
    }

    /// Whether `acquire` returns without waiting (time is paused: any wait shows).
    async fn immediate<'a>(limiter: &'a RateLimiter, key: KeyFingerprint) -> Option<Permit<'a>> {
        tokio::time::timeout(Duration::from_millis(1), limiter.acquire(key, DR))
            .await
            .ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_spent_budget_waits_for_the_reset_and_other_keys_do_not() {
        let limiter = RateLimiter::new(Duration::from_millis(100));
        let spent = KeyFingerprint::of("spent");
        let fresh = KeyFingerprint::of("fresh");
        limiter.acquire(spent, DR).await.observe(budget(0, 5), 200);

        let start = Instant::now();
        drop(limiter.acquire(fresh, DR).await);
        drop(limiter.acquire(spent, "/billing_groups").await);
        assert_eq!(start.elapsed(), Duration::ZERO);
        drop(limiter.acquire(spent, DR).await);
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
        limiter.acquire(key, DR).await.observe(budget(2, 10), 200);

        let start = Instant::now();
        let _a = limiter.acquire(key, DR).await;
        let _b = limiter.acquire(key, DR).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        drop(limiter.acquire(key, DR).await);
        assert!(start.elapsed() >= Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_spends_the_budget_until_reset() {
        let limiter = RateLimiter::new(Duration::ZERO);
        let key = KeyFingerprint::of("k");
        let probe = limiter.acquire(key, "/usage_reports").await;
        probe.observe(
            Announcement {
                remaining: Some(3),
                reset: Some(Duration::from_secs(1)),
            },
            429,
        );
        let start = Instant::now();
        drop(limiter.acquire(key, "/usage_reports").await);
        assert!(start.elapsed() >= Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cold_start_sends_one_probe_and_the_others_wait_for_its_headers() {
        let limiter = RateLimiter::new(Duration::ZERO);
        let key = KeyFingerprint::of("k");
        let probe = limiter.acquire(key, DR).await;
        assert!(probe.probe);
        assert!(
            immediate(&limiter, key).await.is_none(),
            "a second request went out before the budget was known"
        );

        let waiting = async {
            let (a, b, c) = tokio::join!(
                limiter.acquire(key, DR),
                limiter.acquire(key, DR),
                limiter.acquire(key, DR)
            );
            (Instant::now(), [a, b, c].map(|p| p.probe))
        };
        let answer = async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            probe.observe(budget(2, 10), 200);
            Instant::now()
        };
        let start = Instant::now();
        let ((done, probes), answered) = tokio::join!(waiting, answer);

        assert_eq!(answered - start, Duration::from_secs(2));
        // Two went as soon as the probe answered; the third waited for the next window
        // and probed it.
        assert!(
            done - start >= Duration::from_secs(10),
            "{:?}",
            done - start
        );
        assert_eq!(probes.iter().filter(|p| **p).count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_are_subtracted_from_an_announced_remaining() {
        let limiter = RateLimiter::new(Duration::ZERO);
        let key = KeyFingerprint::of("k");
        limiter.acquire(key, DR).await.observe(budget(10, 30), 200);
        let first = limiter.acquire(key, DR).await;
        let _second = limiter.acquire(key, DR).await;
        let _third = limiter.acquire(key, DR).await;

        // Another process spent most of the budget: Telnyx says 4 left, and two of ours
        // may not have been counted yet.
        first.observe(budget(4, 30), 200);

        assert!(immediate(&limiter, key).await.is_some());
        assert!(immediate(&limiter, key).await.is_some());
        assert!(
            immediate(&limiter, key).await.is_none(),
            "the in-flight requests were not accounted for"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_from_an_older_window_changes_nothing() {
        let limiter = RateLimiter::new(Duration::ZERO);
        let key = KeyFingerprint::of("k");
        limiter.acquire(key, DR).await.observe(budget(1, 30), 200);
        let late = limiter.acquire(key, DR).await;
        // 31 s later the window rolled over; the next request probes the new one (6
        // left, less the old request still in flight).
        tokio::time::sleep(Duration::from_secs(31)).await;
        limiter.acquire(key, DR).await.observe(budget(6, 29), 200);

        // The old window's last answer: nothing left there, resetting now.
        late.observe(budget(0, 0), 200);

        for _ in 0..5 {
            assert!(immediate(&limiter, key).await.is_some());
        }
        assert!(immediate(&limiter, key).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_without_a_response_hands_the_probe_to_the_next_caller() {
        let limiter = RateLimiter::new(Duration::ZERO);
        let key = KeyFingerprint::of("k");
        let probe = limiter.acquire(key, DR).await;
        let next = async {
            let permit = limiter.acquire(key, DR).await;
            (Instant::now(), permit.probe)
        };
        let fail = async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            drop(probe); // a timeout, a cut connection, a cancelled walk
        };
        let start = Instant::now();
        let ((at, was_probe), ()) = tokio::join!(next, fail);

        assert_eq!(at - start, Duration::from_secs(3));
        assert!(was_probe);
    }

    #[tokio::test(start_paused = true)]
    async fn an_endpoint_that_announces_no_budget_is_not_throttled() {
        let limiter = RateLimiter::new(Duration::ZERO);
        let key = KeyFingerprint::of("k");
        let none = Announcement {
            remaining: None,
            reset: None,
        };
        limiter.acquire(key, DR).await.observe(none, 200);

        let a = immediate(&limiter, key).await;
        let b = immediate(&limiter, key).await;
        assert!(a.is_some() && b.is_some(), "requests waited on a probe");
    }
}
