//! The HTTP client: one `GET` with rate limiting and bounded retries, page walks over
//! it, and one method per endpoint.
//!
//! Retries: 429, 5xx, timeouts, transport errors and cut bodies are retried up to
//! [`ClientConfig::max_retries`] times with exponential backoff and jitter (a 429 waits
//! for `x-ratelimit-reset` instead); every other 4xx and malformed bodies are returned
//! at once. Paging: `page[size]` and `page[number]` are always sent; a walk stops at
//! `page_number >= total_pages`, on an empty page, and fails with
//! [`TelnyxError::PageCapReached`] rather than return a silently partial result.
//!
//! Logs are `tracing` events with fields (`endpoint`, `page`, `status`, `record_type`,
//! `attempt`); headers are never logged and the key is only ever put in the
//! `Authorization` header (marked sensitive).

use crate::config::ClientConfig;
use crate::error::TelnyxError;
use crate::rate_limit::{Announcement, KeyFingerprint, Permit, RateLimiter};
use crate::records::{DETAIL_RECORDS, PageMeta, parse_raw_rows};
use crate::usage::{
    USAGE_REPORT_OPTIONS, USAGE_REPORTS, UsageProductOptions, UsageReportQuery, UsageReportRow,
    parse_usage_options, parse_usage_page,
};
use crate::wire::{
    IntoDomain, ListPage, WireBillingGroup, WireConnection, WireManagedAccount,
    WireOutboundVoiceProfile, WirePhoneNumber,
};
use rand::Rng;
use reconciliation::domain::{
    BillingGroup, Connection, ManagedAccount, OutboundVoiceProfile, PhoneNumber, RawRecord,
    RecordType, TelnyxSnapshot,
};
use reconciliation::ports::ApiKey;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tracing::Instrument;
use url::Url;

/// `GET /managed_accounts` (master key).
pub const MANAGED_ACCOUNTS: &str = "/managed_accounts";
/// `GET /billing_groups`.
pub const BILLING_GROUPS: &str = "/billing_groups";
/// `GET /connections` (every kind).
pub const CONNECTIONS: &str = "/connections";
/// `GET /outbound_voice_profiles`.
pub const OUTBOUND_VOICE_PROFILES: &str = "/outbound_voice_profiles";
/// `GET /phone_numbers`.
pub const PHONE_NUMBERS: &str = "/phone_numbers";

/// A Telnyx v2 client. Cheap to clone (shared connection pool and rate budgets);
/// build it once per process and reuse it for every key.
#[derive(Clone)]
pub struct TelnyxClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// The base URL with a trailing `/`, so endpoint paths join under `/v2/`.
    pub(crate) base: Url,
    pub(crate) config: ClientConfig,
    pub(crate) limiter: RateLimiter,
    /// Requests answered (any status), and of those, 429s.
    pub(crate) requests: AtomicU64,
    pub(crate) throttled: AtomicU64,
}

impl fmt::Debug for TelnyxClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelnyxClient")
            .field("base_url", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// One page request.
pub(crate) struct PageRequest<'a> {
    pub endpoint: &'static str,
    pub page: u32,
    pub page_size: u32,
    pub params: &'a [(String, String)],
    pub record_type: Option<RecordType>,
}

impl TelnyxClient {
    /// Builds a client. Fails on a base URL that is not an absolute http(s) URL.
    pub fn new(config: ClientConfig) -> Result<Self, TelnyxError> {
        let mut base = Url::parse(&config.base_url).map_err(|e| TelnyxError::Config {
            detail: format!("base_url {:?} is not a valid URL", config.base_url),
            source: Some(Box::new(e)),
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(TelnyxError::Config {
                detail: format!("base_url {:?} is not an http(s) URL", config.base_url),
                source: None,
            });
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("telnyx-billing-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TelnyxError::Config {
                detail: "the HTTP client could not be built".to_owned(),
                source: Some(Box::new(e)),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                limiter: RateLimiter::new(config.rate_limit_margin),
                config,
                requests: AtomicU64::new(0),
                throttled: AtomicU64::new(0),
            }),
        })
    }

    /// Requests answered so far, and 429s among them.
    pub fn request_counts(&self) -> (u64, u64) {
        (
            self.inner.requests.load(Ordering::Relaxed),
            self.inner.throttled.load(Ordering::Relaxed),
        )
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Managed accounts of the manager key (`GET /managed_accounts`), cancelled ones
    /// included when asked (`include_cancelled_accounts=true`).
    pub async fn managed_accounts(
        &self,
        master_key: &ApiKey,
        include_cancelled: bool,
    ) -> Result<Vec<ManagedAccount>, TelnyxError> {
        let params = [(
            "include_cancelled_accounts".to_owned(),
            include_cancelled.to_string(),
        )];
        self.list::<WireManagedAccount>(master_key, MANAGED_ACCOUNTS, &params)
            .await
    }

    /// Billing groups of the key's account (`GET /billing_groups`), deleted ones included
    /// when Telnyx lists them (`deleted_at` set).
    pub async fn billing_groups(&self, key: &ApiKey) -> Result<Vec<BillingGroup>, TelnyxError> {
        self.list::<WireBillingGroup>(key, BILLING_GROUPS, &[])
            .await
    }

    /// Connections of every kind (`GET /connections`).
    pub async fn connections(&self, key: &ApiKey) -> Result<Vec<Connection>, TelnyxError> {
        self.list::<WireConnection>(key, CONNECTIONS, &[]).await
    }

    /// Outbound voice profiles (`GET /outbound_voice_profiles`): a connection's route to
    /// a billing group.
    pub async fn outbound_voice_profiles(
        &self,
        key: &ApiKey,
    ) -> Result<Vec<OutboundVoiceProfile>, TelnyxError> {
        self.list::<WireOutboundVoiceProfile>(key, OUTBOUND_VOICE_PROFILES, &[])
            .await
    }

    /// Phone numbers (`GET /phone_numbers`).
    pub async fn phone_numbers(&self, key: &ApiKey) -> Result<Vec<PhoneNumber>, TelnyxError> {
        self.list::<WirePhoneNumber>(key, PHONE_NUMBERS, &[]).await
    }

    /// Billing groups, connections, outbound voice profiles and phone numbers of one
    /// account, read concurrently (each endpoint has its own rate budget).
    pub async fn snapshot(&self, key: &ApiKey) -> Result<TelnyxSnapshot, TelnyxError> {
        let (billing_groups, connections, outbound_voice_profiles, phone_numbers) = futures::try_join!(
            self.billing_groups(key),
            self.connections(key),
            self.outbound_voice_profiles(key),
            self.phone_numbers(key),
        )?;
        Ok(TelnyxSnapshot {
            billing_groups,
            connections,
            outbound_voice_profiles,
            phone_numbers,
        })
    }

    /// The newest page of `record_type`'s rows with no time filter, unparsed: which
    /// fields the type's records actually carry.
    pub async fn newest_rows(
        &self,
        key: &ApiKey,
        record_type: RecordType,
    ) -> Result<Vec<RawRecord>, TelnyxError> {
        let params = [(
            "filter[record_type]".to_owned(),
            record_type.filter_name().to_owned(),
        )];
        let request = PageRequest {
            endpoint: DETAIL_RECORDS,
            page: 1,
            page_size: self.inner.config.detail_page_size,
            params: &params,
            record_type: Some(record_type),
        };
        self.get(key, &request, |body| parse_raw_rows(body, 1))
            .await
    }

    /// What usage reports offer (`GET /usage_reports/options`): every product with its
    /// dimensions and metrics.
    pub async fn usage_report_options(
        &self,
        key: &ApiKey,
    ) -> Result<Vec<UsageProductOptions>, TelnyxError> {
        let request = PageRequest {
            endpoint: USAGE_REPORT_OPTIONS,
            page: 1,
            page_size: self.inner.config.list_page_size,
            params: &[],
            record_type: None,
        };
        self.get(key, &request, parse_usage_options).await
    }

    /// Aggregated usage (`GET /usage_reports`), every page.
    pub async fn usage_report(
        &self,
        key: &ApiKey,
        query: &UsageReportQuery,
    ) -> Result<Vec<UsageReportRow>, TelnyxError> {
        let params = query.params();
        let page_size = self.inner.config.list_page_size;
        let mut rows = Vec::new();
        let mut page = 1;
        loop {
            self.check_cap(USAGE_REPORTS, page)?;
            let request = PageRequest {
                endpoint: USAGE_REPORTS,
                page,
                page_size,
                params: &params,
                record_type: None,
            };
            let (data, meta) = self
                .get(key, &request, |body| {
                    parse_usage_page(body, &query.metrics, page)
                })
                .await?;
            let count = data.len();
            rows.extend(data);
            if is_last_page(page, page_size, count, meta.as_ref()) {
                return Ok(rows);
            }
            page += 1;
        }
    }

    /// Every page of a list endpoint.
    async fn list<W: IntoDomain>(
        &self,
        key: &ApiKey,
        endpoint: &'static str,
        params: &[(String, String)],
    ) -> Result<Vec<W::Domain>, TelnyxError> {
        let page_size = self.inner.config.list_page_size;
        let mut items = Vec::new();
        let mut page = 1;
        loop {
            self.check_cap(endpoint, page)?;
            let request = PageRequest {
                endpoint,
                page,
                page_size,
                params,
                record_type: None,
            };
            let parsed = self
                .get(key, &request, |body| {
                    parse_list_page::<W>(body, endpoint, page)
                })
                .await?;
            let count = parsed.0.len();
            items.extend(parsed.0);
            if is_last_page(page, page_size, count, parsed.1.as_ref()) {
                tracing::debug!(endpoint, pages = page, items = items.len(), "list read");
                return Ok(items);
            }
            page += 1;
        }
    }

    fn check_cap(&self, endpoint: &'static str, page: u32) -> Result<(), TelnyxError> {
        let cap = self.inner.config.page_cap;
        if page > cap {
            tracing::warn!(endpoint, cap, "page cap reached with pages left");
            return Err(TelnyxError::PageCapReached { endpoint, cap });
        }
        Ok(())
    }

    /// One page: rate-limited, retried, and parsed inside the retry loop (so a body cut
    /// mid-transfer is fetched again).
    pub(crate) async fn get<T>(
        &self,
        key: &ApiKey,
        request: &PageRequest<'_>,
        parse: impl Fn(&[u8]) -> Result<T, TelnyxError>,
    ) -> Result<T, TelnyxError> {
        let fingerprint = KeyFingerprint::of(key.expose());
        let max_retries = self.inner.config.max_retries;
        let span = tracing::debug_span!(
            "telnyx_get",
            endpoint = request.endpoint,
            page = request.page,
            record_type = request.record_type.map(RecordType::filter_name),
        );
        async move {
            let mut attempt: u32 = 0;
            loop {
                let permit = self
                    .inner
                    .limiter
                    .acquire(fingerprint, request.endpoint)
                    .await;
                let error = match self.send(key, permit, request, &parse).await {
                    Ok(value) => return Ok(value),
                    Err(e) => e,
                };
                if !error.is_transient() || attempt >= max_retries {
                    tracing::warn!(
                        endpoint = request.endpoint,
                        page = request.page,
                        status = error.status(),
                        attempts = attempt + 1,
                        transient = error.is_transient(),
                        error = %reconciliation::error_chain(&error),
                        "Telnyx request failed"
                    );
                    return Err(error);
                }
                attempt += 1;
                // A 429 with a reset has already marked the budget spent: the limiter
                // waits for the window. Everything else backs off.
                let delay = match &error {
                    TelnyxError::RateLimited { reset: Some(_), .. } => Duration::ZERO,
                    _ => self.backoff(attempt),
                };
                tracing::info!(
                    endpoint = request.endpoint,
                    page = request.page,
                    status = error.status(),
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    error = %reconciliation::error_chain(&error),
                    "retrying Telnyx request"
                );
                tokio::time::sleep(delay).await;
            }
        }
        .instrument(span)
        .await
    }

    /// Sends one request under its rate-limit `permit` (settled with the response's
    /// headers, or given back when no response arrives), reads the whole body and parses
    /// it; non-success statuses become errors.
    async fn send<T>(
        &self,
        key: &ApiKey,
        permit: Permit<'_>,
        request: &PageRequest<'_>,
        parse: &impl Fn(&[u8]) -> Result<T, TelnyxError>,
    ) -> Result<T, TelnyxError> {
        let (endpoint, page) = (request.endpoint, request.page);
        let url = self
            .inner
            .base
            .join(endpoint.trim_start_matches('/'))
            .map_err(|e| TelnyxError::Config {
                detail: format!("endpoint {endpoint} does not join the base URL"),
                source: Some(Box::new(e)),
            })?;
        let paging = [
            ("page[number]", page.to_string()),
            ("page[size]", request.page_size.to_string()),
        ];
        let response = self
            .inner
            .http
            .get(url)
            .bearer_auth(key.expose())
            .query(&paging)
            .query(request.params)
            .send()
            .await
            .map_err(|e| TelnyxError::from_reqwest(endpoint, page, e))?;
        let status = response.status().as_u16();
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        if status == 429 {
            self.inner.throttled.fetch_add(1, Ordering::Relaxed);
        }
        let announced =
            Announcement::from_headers(response.headers(), self.inner.config.max_rate_limit_wait);
        permit.observe(announced, status);
        let body = response
            .bytes()
            .await
            .map_err(|e| TelnyxError::from_reqwest(endpoint, page, e))?;
        tracing::debug!(
            endpoint,
            page,
            status,
            bytes = body.len(),
            "Telnyx response"
        );
        if (200..300).contains(&status) {
            parse(&body)
        } else {
            Err(TelnyxError::from_status(
                endpoint,
                page,
                status,
                &body,
                announced.reset,
            ))
        }
    }

    /// Exponential backoff with jitter: a delay in `[d/2, d]`, `d = base * 2^(attempt-1)`
    /// capped at `backoff_max`.
    fn backoff(&self, attempt: u32) -> Duration {
        let config = &self.inner.config;
        let exp = config
            .backoff_base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(config.backoff_max);
        let millis = exp.as_millis() as u64;
        let jittered = if millis < 2 {
            millis
        } else {
            rand::rng().random_range(millis / 2..=millis)
        };
        Duration::from_millis(jittered)
    }
}

fn parse_list_page<W: IntoDomain>(
    body: &[u8],
    endpoint: &'static str,
    page: u32,
) -> Result<(Vec<W::Domain>, Option<PageMeta>), TelnyxError> {
    let wire: ListPage<W> =
        serde_json::from_slice(body).map_err(|e| TelnyxError::from_json(endpoint, page, e))?;
    let data = wire
        .data
        .ok_or_else(|| TelnyxError::no_data(endpoint, page))?;
    let items = data
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            w.into_domain()
                .map_err(|detail| TelnyxError::MalformedBody {
                    endpoint,
                    page,
                    detail: format!("item {i}: {detail}"),
                    source: None,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, wire.meta))
}

/// The stop rule: an empty page, `page_number >= total_pages`, or (without `meta`) a
/// short page.
pub(crate) fn is_last_page(
    page: u32,
    page_size: u32,
    count: usize,
    meta: Option<&PageMeta>,
) -> bool {
    if count == 0 {
        return true;
    }
    match meta.and_then(|m| m.total_pages) {
        Some(total) => meta.and_then(|m| m.page_number).unwrap_or(page) >= total,
        None => count < page_size as usize,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn meta(page_number: Option<u32>, total_pages: Option<u32>) -> PageMeta {
        PageMeta {
            page_number,
            page_size: Some(50),
            total_pages,
            total_results: None,
        }
    }

    #[test]
    fn a_bad_base_url_is_a_config_error_keeping_the_parser_error() {
        let err = TelnyxClient::new(ClientConfig::new("not a url")).unwrap_err();
        assert!(
            err.to_string()
                .contains(r#"base_url "not a url" is not a valid URL"#),
            "{err}"
        );
        let source = std::error::Error::source(&err).unwrap();
        assert!(source.is::<url::ParseError>(), "{source:?}");

        let ftp = TelnyxClient::new(ClientConfig::new("ftp://telnyx.example/v2")).unwrap_err();
        assert!(
            matches!(&ftp, TelnyxError::Config { detail, source: None } if detail.contains("not an http(s) URL")),
            "{ftp:?}"
        );
    }

    #[test]
    fn an_empty_page_is_the_last_whatever_meta_promises() {
        assert!(is_last_page(2, 50, 0, Some(&meta(Some(2), Some(9)))));
        assert!(is_last_page(1, 50, 0, None));
    }

    #[test]
    fn without_total_pages_a_short_page_is_the_last_and_a_full_one_is_not() {
        assert!(is_last_page(3, 50, 49, None));
        assert!(!is_last_page(3, 50, 50, None));
        assert!(is_last_page(3, 50, 12, Some(&meta(Some(3), None))));
        assert!(!is_last_page(3, 50, 50, Some(&meta(Some(3), None))));
    }

    #[test]
    fn with_total_pages_the_walk_stops_at_the_last_page_number() {
        assert!(!is_last_page(2, 50, 50, Some(&meta(Some(2), Some(3)))));
        assert!(is_last_page(3, 50, 50, Some(&meta(Some(3), Some(3)))));
        // Telnyx's own page_number wins over the one requested; absent, the requested.
        assert!(is_last_page(2, 50, 50, Some(&meta(Some(3), Some(3)))));
        assert!(is_last_page(3, 50, 50, Some(&meta(None, Some(3)))));
        // A page past the announced end (rows shifted in meanwhile) stops too.
        assert!(is_last_page(4, 50, 1, Some(&meta(Some(4), Some(3)))));
    }
}
