//! What the store keeps of a billing month's lifecycle per account (docs/audit.md
//! "Closing a month"): each month's change counter (bumped by every write that can
//! change what the month's records add up to), its state (open, or closed with a
//! version), the invoice lines frozen when it closed (both levels, usage and
//! adjustments, immutable), and the log of closes and reopens.

use super::PortResult;
use crate::domain::{
    BillingMonth, CustomerId, DepartmentId, Level, ManagedAccountId, RecordType, ServiceId,
    ServiceTypeName,
};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one invoice line adds up to, signed (an adjustment can take away what a
/// re-attribution moved to another line). Quantities per unit and cost per currency
/// are exact decimals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineSums {
    pub records: i64,
    /// Usage by unit (`seconds`, `parts`, `characters`, `bytes`, `records`).
    pub quantity: BTreeMap<String, Decimal>,
    /// Cost per currency (records with a price only).
    pub cost: BTreeMap<String, Decimal>,
    /// Records without a price (pricing hidden): counted, never costed as zero.
    pub hidden_pricing: i64,
    /// Records per detail-record type.
    #[serde(default)]
    pub records_by_type: BTreeMap<RecordType, i64>,
}

impl LineSums {
    /// Adds (`sign` 1) or takes away (`sign` -1) `other`.
    pub fn add(&mut self, other: &LineSums, sign: i64) {
        let d = Decimal::from(sign);
        self.records += sign * other.records;
        self.hidden_pricing += sign * other.hidden_pricing;
        for (t, n) in &other.records_by_type {
            *self.records_by_type.entry(*t).or_default() += sign * n;
        }
        for (k, v) in &other.quantity {
            *self.quantity.entry(k.clone()).or_default() += d * v;
        }
        for (k, v) in &other.cost {
            *self.cost.entry(k.clone()).or_default() += d * v;
        }
        self.tidy();
    }

    /// Drops the zero entries (so equal sums compare equal however they were reached).
    pub fn tidy(&mut self) {
        self.records_by_type.retain(|_, n| *n != 0);
        self.quantity.retain(|_, v| !v.is_zero());
        self.cost.retain(|_, v| !v.is_zero());
        for v in self.quantity.values_mut().chain(self.cost.values_mut()) {
            *v = v.normalize();
        }
    }

    /// True when it adds up to nothing.
    pub fn is_zero(&self) -> bool {
        self.records == 0
            && self.hidden_pricing == 0
            && self.records_by_type.is_empty()
            && self.quantity.values().all(Decimal::is_zero)
            && self.cost.values().all(Decimal::is_zero)
    }
}

/// Usage of the month itself, or an adjustment: what changed in an earlier closed
/// month after it closed (a late record, a re-attribution), billed in the next open one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LineKind {
    Usage,
    Adjustment {
        /// The closed month the usage belongs to.
        of: BillingMonth,
    },
}

/// One line of an invoice with every id a billing system joins on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub level: Level,
    pub kind: LineKind,
    pub account: ManagedAccountId,
    /// The customer's department (reseller level: the billing department).
    pub department: DepartmentId,
    pub customer: Option<CustomerId>,
    pub customer_name: String,
    pub service: Option<ServiceId>,
    pub service_label: String,
    pub service_type: ServiceTypeName,
    /// The service's start and ceased days (prorating), when known.
    #[serde(default)]
    pub service_started_on: Option<NaiveDate>,
    #[serde(default)]
    pub service_ceased_on: Option<NaiveDate>,
    pub sums: LineSums,
}

impl InvoiceLine {
    /// The quantity's unit (one per service type).
    pub fn unit(&self) -> &'static str {
        self.service_type
            .record_types()
            .first()
            .map_or("records", |t| t.quantity_unit())
    }
}

/// A day and type the close found not settled and clean, or another reason it waits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Blocker {
    pub kind: BlockerKind,
    #[serde(default)]
    pub record_type: Option<RecordType>,
    /// The days concerned (empty: the whole month).
    #[serde(default)]
    pub days: Vec<NaiveDate>,
}

/// Why a month cannot close yet.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum BlockerKind {
    /// The month is not over.
    MonthNotOver,
    /// No run has read Telnyx's usage report options: nothing can be called clean.
    AuditNeverRan,
    /// An auditable type has no verdict for the day.
    NotAudited,
    /// The day's verdict is not settled yet (or a difference waits for its re-walk).
    NotSettled,
    /// A settled difference the heal did not close (an audit finding).
    Finding,
    /// A type the audit cannot prove whose walk has not reached the month's end.
    NotWalked,
}

/// A type the audit cannot prove: not blocking, named in the close.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unproven {
    pub record_type: RecordType,
    pub reason: String,
}

/// Open (never closed, or reopened) or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum MonthStatus {
    Open,
    Closed,
}

/// A month of one account as stored once it was closed at least once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthState {
    pub account: ManagedAccountId,
    pub month: BillingMonth,
    pub status: MonthStatus,
    /// Which close this is (1, 2 after a reopen…): the version of the lines in force.
    pub version: u32,
    pub closed_at: DateTime<Utc>,
    /// The month's change counter when the close read its records.
    pub changes_seen: u64,
    /// Lines frozen per level (the items `0..n` of this version).
    pub lines: BTreeMap<Level, u32>,
    /// Blockers the operator accepted (`--accept-findings`); empty when none was needed.
    #[serde(default)]
    pub accepted: Vec<Blocker>,
    /// Types the audit cannot prove, with their reasons.
    #[serde(default)]
    pub unproven: Vec<Unproven>,
    #[serde(default)]
    pub note: Option<String>,
    /// The earlier closed months whose adjustments this close froze, each with its
    /// change counter as read.
    #[serde(default)]
    pub carried: BTreeMap<BillingMonth, u64>,
    /// When it was last reopened (while open).
    #[serde(default)]
    pub reopened_at: Option<DateTime<Utc>>,
}

/// A close or a reopen, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthEvent {
    pub account: ManagedAccountId,
    pub month: BillingMonth,
    pub at: DateTime<Utc>,
    pub action: MonthStatus,
    pub version: u32,
    /// Who did it (`billing-admin` passes the operator's name, the scheduler `scheduler`).
    pub by: String,
    #[serde(default)]
    pub note: Option<String>,
    /// Blockers accepted by this close.
    #[serde(default)]
    pub accepted: Vec<Blocker>,
}

/// Months and their frozen invoices.
#[async_trait]
pub trait MonthStore: Send + Sync {
    /// The month's change counter: how many record writes or re-attributions have
    /// touched records whose time lies in it (bumped by `put_detail_records`,
    /// `put_new_detail_records` and `reattribute` **before** they write, so a count a
    /// reader saw before reading the records covers everything it did not see).
    async fn month_changes(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
    ) -> PortResult<u64>;

    /// Every month of the account that was ever closed, oldest first.
    async fn month_states(&self, account: &ManagedAccountId) -> PortResult<Vec<MonthState>>;

    /// Stores the lines of `version` of a month, numbered from 0 per level in the
    /// order given. Lines of a version not committed yet may be written again (a
    /// rerun after a kill); a committed version's are never rewritten.
    async fn put_invoice_lines(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
        version: u32,
        lines: &[InvoiceLine],
    ) -> PortResult<()>;

    /// The first `count` lines of `level` of a month's `version`, in order.
    async fn invoice_lines(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
        version: u32,
        level: Level,
        count: u32,
    ) -> PortResult<Vec<InvoiceLine>>;

    /// Closes a month: stores `state` (status closed) and logs `event`, atomically,
    /// only when the month is not closed and its stored version is `state.version - 1`
    /// (0: never closed). False when another close won (nothing written).
    async fn commit_close(&self, state: &MonthState, event: &MonthEvent) -> PortResult<bool>;

    /// Reopens a month closed at `event.version`: status open, its lines kept, `event`
    /// logged, atomically. False when it is not closed at that version.
    async fn reopen(&self, event: &MonthEvent) -> PortResult<bool>;

    /// A month's closes and reopens, oldest first.
    async fn month_events(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
    ) -> PortResult<Vec<MonthEvent>>;
}
