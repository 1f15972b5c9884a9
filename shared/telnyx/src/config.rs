//! Client configuration: where Telnyx is, how long to wait, how hard to retry, how far
//! to page. Every field has a production default; tests point `base_url` at the
//! simulator and shorten the waits.

use std::time::Duration;

/// The live API's base URL (with the `/v2` prefix every path hangs off).
pub const TELNYX_BASE_URL: &str = "https://api.telnyx.com/v2";

/// How a [`crate::TelnyxClient`] talks to Telnyx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Base URL including the version prefix, e.g. `https://api.telnyx.com/v2`.
    /// Endpoint paths (`managed_accounts`, `detail_records`, …) are appended to it.
    pub base_url: String,
    /// Whole-request timeout (connect, send, and reading the body).
    pub timeout: Duration,
    /// Connection-establishment timeout.
    pub connect_timeout: Duration,
    /// Retries after the first attempt, for 429, 5xx, timeouts and transport errors
    /// only (4xx are never retried).
    pub max_retries: u32,
    /// First backoff delay; doubles per retry, with jitter, up to `backoff_max`.
    pub backoff_base: Duration,
    /// Longest single backoff delay.
    pub backoff_max: Duration,
    /// Most pages one walk may fetch. A walk that would need more fails with
    /// [`crate::TelnyxError::PageCapReached`] instead of returning a partial result.
    pub page_cap: u32,
    /// `page[size]` for list endpoints (Telnyx maximum: 250).
    pub list_page_size: u32,
    /// `page[size]` for `/detail_records` (Telnyx silently clamps anything above 50).
    pub detail_page_size: u32,
    /// Extra wait added after `x-ratelimit-reset`, because the header counts whole
    /// seconds and the server's window must really have rolled over.
    pub rate_limit_margin: Duration,
    /// Longest wait honoured from `x-ratelimit-reset` (a defensive cap).
    pub max_rate_limit_wait: Duration,
}

impl ClientConfig {
    /// Defaults, pointed at `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            ..Self::default()
        }
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            base_url: TELNYX_BASE_URL.to_owned(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_retries: 4,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(20),
            page_cap: 1_000,
            list_page_size: 250,
            detail_page_size: 50,
            rate_limit_margin: Duration::from_millis(500),
            max_rate_limit_wait: Duration::from_secs(65),
        }
    }
}
