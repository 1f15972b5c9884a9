//! What the store keeps of Telnyx's usage report, learned at run time
//! (docs/audit.md "The usage report, learned"): the options Telnyx lists (cached,
//! refreshed daily), the metrics confirmed to count records, and, per account and type,
//! a report found to disagree with a walk (it then decides no skip until an audit of
//! the type is clean again).

use super::PortResult;
use super::telnyx::{TimeWindow, UsageOptions};
use crate::domain::{ManagedAccountId, RecordType};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// `GET /usage_reports/options` as last read, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedUsageOptions {
    pub options: UsageOptions,
    pub fetched_at: DateTime<Utc>,
}

/// A usage-report metric confirmed to count a type's records: on `day` of `account`,
/// its sum equalled the records walked and stored (more than zero), and every other
/// compared figure agreed. Only a confirmed count may decide that a type has no record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmedCount {
    pub product: String,
    pub metric: String,
    pub record_type: RecordType,
    pub account: ManagedAccountId,
    pub day: NaiveDate,
    /// The records it counted that day.
    pub records: u64,
    pub confirmed_at: DateTime<Utc>,
}

/// A walk found records of a type in a window where the usage report counted none: for
/// that account the report decides no skip of the type until an audit of it is clean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distrust {
    pub record_type: RecordType,
    pub since: DateTime<Utc>,
    /// The window the report counted nothing in.
    pub window: TimeWindow,
    /// The records the walk found there.
    pub found: u64,
}

/// The usage report's learned state.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// The cached options, if any were ever read.
    async fn usage_options(&self) -> PortResult<Option<CachedUsageOptions>>;
    /// Replaces the cached options.
    async fn put_usage_options(&self, cached: &CachedUsageOptions) -> PortResult<()>;

    /// Every count metric confirmed so far.
    async fn confirmed_counts(&self) -> PortResult<Vec<ConfirmedCount>>;
    /// Records a confirmation; the first one of a (product, metric) is kept.
    async fn confirm_count(&self, confirmed: &ConfirmedCount) -> PortResult<()>;

    /// The types whose report an account does not trust now.
    async fn distrusts(&self, account: &ManagedAccountId) -> PortResult<Vec<Distrust>>;
    /// Records a disagreement (a later one replaces it).
    async fn distrust(&self, account: &ManagedAccountId, distrust: &Distrust) -> PortResult<()>;
    /// The report of `record_type` is trusted again (an audit of it was clean).
    async fn trust_again(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
    ) -> PortResult<()>;
}
