//! What the store keeps beside the records to prove and present billing
//! (docs/audit.md): the records of one billing partition read back by time (for the
//! audit and the invoices), the call-session links and the records waiting for one
//! (attribution through the call), the audit's verdict per account × type × day (and
//! the heal's re-walk of a short day), and a time field found at run time.

use super::PortResult;
use super::telnyx::TimeWindow;
use crate::domain::{
    ConnectionId, CustomerId, DepartmentId, ManagedAccountId, RecordType, StoredDetailRecord,
};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where records are billed: a department and the customer billed (`None`: records of
/// a direct-mode account that matched nobody and have no billing customer).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BillingPartition {
    pub department: DepartmentId,
    pub customer: Option<CustomerId>,
}

/// One page of a partition's records, oldest first, with normalized fields and money
/// (without Telnyx's raw JSON).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BilledPage {
    pub records: Vec<StoredDetailRecord>,
    /// Where the next page starts; `None`: this was the last.
    pub next: Option<String>,
}

/// A call's session or leg id and the connection its call record names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionLink {
    pub session: String,
    pub connection: ConnectionId,
}

/// Counts and sums of one record type on one day, from one side of the audit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFigures {
    pub count: u64,
    /// Summed usage ([`RecordType::quantity_fields`] / billed quantity); `None` when
    /// usage is not compared (the type is billed per record, or the product lacks the
    /// metrics).
    pub quantity: Option<Decimal>,
    /// Summed cost; `None` when none is known (pricing hidden, or no cost metric).
    pub cost: Option<Decimal>,
    /// Records without a cost (hidden pricing), on our side.
    #[serde(default)]
    pub hidden_pricing: u64,
}

/// What the audit concluded for one account × record type × day.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AuditVerdict {
    /// Stored and reported agree (count exactly, usage and cost within the report's
    /// binary-double noise, cost where both sides have one).
    Clean,
    /// They differ.
    Mismatch,
}

/// A day re-walked because Telnyx counted more than was stored (the audit's heal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewalk {
    pub at: DateTime<Utc>,
    /// Records the re-walk read from Telnyx.
    pub read: u64,
    /// Of those, records that were not stored before (stored now).
    pub stored: u64,
}

/// The audit of one account × record type × day, as stored. `settled` once the day is
/// older than the type's publication delay (its overlap) behind the type's watermark:
/// late records have had their chance, so a difference then is not "still arriving".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDay {
    pub account: ManagedAccountId,
    pub record_type: RecordType,
    pub day: NaiveDate,
    pub verdict: AuditVerdict,
    pub telnyx: AuditFigures,
    pub stored: AuditFigures,
    /// Whether cost was compared (false when our records' pricing is hidden or the
    /// product sums no cost in the type's cost field).
    pub cost_compared: bool,
    pub settled: bool,
    /// When this verdict was last written (a recheck that agrees does not rewrite it).
    pub checked_at: DateTime<Utc>,
    /// The product and the metric that counted Telnyx's side.
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub count_metric: String,
    /// The re-walk of this difference, once done (a clean verdict keeps the re-walk that
    /// healed it).
    #[serde(default)]
    pub rewalk: Option<Rewalk>,
}

impl AuditDay {
    /// Telnyx counts or sums more than is stored: records may be missing here.
    pub fn shortfall(&self) -> bool {
        let above = |t: Option<Decimal>, s: Option<Decimal>| match (t, s) {
            (Some(t), s) => {
                let s = s.unwrap_or_default();
                t > s && !crate::domain::sums::sums_agree(t, s, self.stored.count)
            }
            (None, _) => false,
        };
        self.verdict == AuditVerdict::Mismatch
            && (self.telnyx.count > self.stored.count
                || above(self.telnyx.quantity, self.stored.quantity)
                || (self.cost_compared && above(self.telnyx.cost, self.stored.cost)))
    }

    /// A settled shortfall not re-walked yet: the next runs re-walk the day before
    /// anyone is told.
    pub fn heal_due(&self) -> bool {
        self.settled && self.shortfall() && self.rewalk.is_none()
    }

    /// A settled difference the heal cannot close (stored above Telnyx, or still short
    /// after a re-walk): a finding for the operator.
    pub fn is_finding(&self) -> bool {
        self.settled && self.verdict == AuditVerdict::Mismatch && !self.heal_due()
    }
}

/// The billing truth kept beside the records.
#[async_trait]
pub trait BillingStore: Send + Sync {
    /// One page of the records billed in `partition` whose time lies in `window` (which
    /// must lie in one calendar month), oldest first, from `after` (a previous page's
    /// [`BilledPage::next`]).
    async fn billed_page(
        &self,
        partition: &BillingPartition,
        window: TimeWindow,
        after: Option<&str>,
    ) -> PortResult<BilledPage>;

    /// Remembers which connection each session or leg id's call record names (a second
    /// put of the same link changes nothing).
    async fn put_session_links(
        &self,
        account: &ManagedAccountId,
        links: &[SessionLink],
    ) -> PortResult<()>;
    /// The links known for any of `sessions`.
    async fn session_links(
        &self,
        account: &ManagedAccountId,
        sessions: &[String],
    ) -> PortResult<Vec<SessionLink>>;

    /// Remembers stored records that matched nobody but name a session or leg id: a
    /// later run links them when their call arrives.
    async fn put_orphans(&self, records: &[StoredDetailRecord]) -> PortResult<()>;
    /// Up to `limit` of an account's waiting records (normalized, without raw JSON).
    async fn orphans(
        &self,
        account: &ManagedAccountId,
        limit: usize,
    ) -> PortResult<Vec<StoredDetailRecord>>;
    /// Gives a stored record that is still unmatched `record`'s attribution (billing
    /// customer, end customer, service, how matched, the connection found) in one
    /// conditional write, and forgets it as an orphan. True when this call changed it;
    /// false when it was not stored unmatched (already linked: nothing changes, so a
    /// re-attribution never moves money twice).
    async fn reattribute(&self, record: &StoredDetailRecord) -> PortResult<bool>;

    /// Stores audit verdicts (a day audited again replaces its verdict).
    async fn put_audit_days(&self, days: &[AuditDay]) -> PortResult<()>;
    /// An account's audit verdicts for days in `[from, to]`, by type then day.
    async fn audit_days(
        &self,
        account: &ManagedAccountId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> PortResult<Vec<AuditDay>>;

    /// Time fields found at run time, per type, for types whose records do not carry
    /// the table's field.
    async fn time_fields(
        &self,
        account: &ManagedAccountId,
    ) -> PortResult<BTreeMap<RecordType, String>>;
    async fn put_time_field(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
        field: &str,
    ) -> PortResult<()>;
}
