//! The Telnyx API, as the product reads it.

use super::PortResult;
/// The window every Telnyx read and every walk is given (defined with the domain's
/// values; named here where the ports use it).
pub use crate::domain::TimeWindow;
use crate::domain::{
    DetailRecord, ManagedAccount, ManagedAccountId, RawRecord, RecordType, TelnyxSnapshot,
};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A Telnyx API key. `Debug` and `Display` are redacted; only adapters that put it on
/// the wire call [`ApiKey::expose`].
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(SecretString::from(key.into()))
    }
    /// The key itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// One walk over the detail records of one type in one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordQuery {
    pub record_type: RecordType,
    /// The field the window filters on (and each record's time is read from): the
    /// type's [`RecordType::time_field`] unless a run found its records carry another.
    pub time_field: &'static str,
    pub window: TimeWindow,
    /// The page to start at (1 = from the start; a resumed walk starts further in).
    pub first_page: u32,
    /// No page may be requested (or waited for, under the rate limit) after this instant:
    /// the walk fails with an error that [`crate::PortError::is_past_deadline`] instead.
    pub not_after: Option<DateTime<Utc>>,
}

impl RecordQuery {
    /// A walk from page 1, without a deadline.
    pub fn new(record_type: RecordType, window: TimeWindow) -> Self {
        Self {
            record_type,
            time_field: record_type.time_field(),
            window,
            first_page: 1,
            not_after: None,
        }
    }
}

/// One page of a walk.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordPage {
    /// Its records (rows a shifted page repeated from an earlier page are dropped).
    pub records: Vec<DetailRecord>,
    /// The page number it was requested as.
    pub number: u32,
    /// How many records Telnyx says the whole window holds, when it says.
    pub total_results: Option<u64>,
}

/// Detail records streamed page by page (a long history never sits in memory).
#[async_trait]
pub trait RecordPages: Send {
    /// The next page, or `None` when the walk is over.
    async fn next_page(&mut self) -> PortResult<Option<RecordPage>>;
}

/// One product of Telnyx's usage report, as `GET /usage_reports/options` lists it: the
/// dimensions it can be broken out by and the metrics it sums. Product names are not
/// the detail-record filter names, and `count` is not universal
/// (docs/telnyx.md "Usage reports"): the product learns what exists from here, never
/// assumes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageProduct {
    pub product: String,
    pub dimensions: Vec<String>,
    pub metrics: Vec<String>,
}

/// Everything `GET /usage_reports/options` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageOptions {
    pub products: Vec<UsageProduct>,
}

impl UsageOptions {
    /// The product named `name`, if Telnyx lists it.
    pub fn product(&self, name: &str) -> Option<&UsageProduct> {
        self.products.iter().find(|p| p.product == name)
    }
}

/// One `GET /usage_reports` request: a product, the dimensions and metrics it offers,
/// at most 31 days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRequest {
    pub product: String,
    /// At least one; `date` gives one row per day.
    pub dimensions: Vec<String>,
    pub metrics: Vec<String>,
    pub window: TimeWindow,
    /// Every managed account of the manager key (`managed_accounts=true`): each row then
    /// names its account.
    pub across_accounts: bool,
}

/// One row of a usage report: its account (across accounts), its day (when the `date`
/// dimension was asked for) and the metrics it carries, as the exact decimals of the
/// numbers Telnyx sent (binary-double sums: `2.0573360000000003`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageRow {
    pub account: Option<ManagedAccountId>,
    pub day: Option<NaiveDate>,
    pub metrics: BTreeMap<String, Decimal>,
}

/// HTTP requests a Telnyx client has sent since it was built, and how many were
/// answered 429 (for the run's metrics: subtract two readings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub requests: u64,
    pub throttled: u64,
}

impl RequestCounts {
    /// What happened between `earlier` and this reading.
    pub fn since(self, earlier: RequestCounts) -> RequestCounts {
        RequestCounts {
            requests: self.requests.saturating_sub(earlier.requests),
            throttled: self.throttled.saturating_sub(earlier.throttled),
        }
    }
}

/// The Telnyx API, as the product reads it.
#[async_trait]
pub trait TelnyxApi: Send + Sync {
    /// Requests sent so far (a client that does not count says zero).
    fn request_counts(&self) -> RequestCounts {
        RequestCounts::default()
    }

    /// Managed accounts of the manager (master) key.
    async fn managed_accounts(
        &self,
        master_key: &ApiKey,
        include_cancelled: bool,
    ) -> PortResult<Vec<ManagedAccount>>;

    /// Billing groups, connections, outbound voice profiles and phone numbers of one account.
    async fn snapshot(&self, key: &ApiKey) -> PortResult<TelnyxSnapshot>;

    /// Detail records of one type whose time field lies in the query's window, page by
    /// page, newest first (50 a page).
    async fn detail_records(
        &self,
        key: &ApiKey,
        query: RecordQuery,
    ) -> PortResult<Box<dyn RecordPages>>;

    /// What Telnyx's usage report offers (`GET /usage_reports/options`).
    async fn usage_options(&self, key: &ApiKey) -> PortResult<UsageOptions>;

    /// One usage report, every page (`GET /usage_reports`). A product, dimension or
    /// metric Telnyx does not offer is a permanent error naming it.
    async fn usage_report(&self, key: &ApiKey, request: &UsageRequest)
    -> PortResult<Vec<UsageRow>>;

    /// The newest page of a type's rows without any time filter, as Telnyx sent them:
    /// which fields its records actually carry (to find a time field).
    async fn newest_rows(
        &self,
        key: &ApiKey,
        record_type: RecordType,
    ) -> PortResult<Vec<RawRecord>>;
}
