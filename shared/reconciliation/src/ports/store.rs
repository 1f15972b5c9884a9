//! The operator's records, one trait per concern; [`Store`] is all of them (every
//! adapter implements each, and `&dyn Store` upcasts to any one of them).
//!
//! | trait | holds |
//! |---|---|
//! | [`OnboardingStore`] | onboardings and departments (operator actions) |
//! | [`StateStore`] | customers, service types and services: the planner's state and its writes |
//! | [`RecordStore`] | detail records |
//! | [`super::streams::StreamStore`] | per record type: watermark, reach, time field and the walks' cursors (checkpoints) |
//! | [`LeaseStore`] | one worker per account at a time |
//! | [`OutboxStore`] | queued emails and the alert throttle |
//! | [`RunLogStore`] | every run's log |
//! | [`super::billing::BillingStore`] | partitions read by time, session links, audit verdicts |
//! | [`super::months::MonthStore`] | billing months: change counters, closes, frozen invoice lines, reopens |
//! | [`super::usage::UsageStore`] | the usage report's options, confirmed count metrics, reports an account distrusts |

use super::PortResult;
use super::streams::StreamStore;
use crate::domain::{
    Department, ManagedAccountId, Offboarding, Onboarding, RunId, StoredDetailRecord, StoredState,
};
use crate::plan::{Action, LogEntry, Notification};
pub use crate::plan::{ApplyReport, EmailKind};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What writing detail records did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordWriteReport {
    pub written: u64,
    /// Already stored: a re-import, counted, never written twice.
    pub duplicates: u64,
    /// Of `written`, records too large for one stored item: kept with their normalized
    /// fields and money, without Telnyx's raw JSON (the store flags each one).
    #[serde(default)]
    pub raw_trimmed: u64,
}

/// Outcome of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every window of the run is walked and stored.
    #[serde(alias = "succeeded")]
    Complete,
    /// Stopped at the invocation's deadline with work left (each entry names a record
    /// type's window and how far it is stored); `continued` when a continuation was
    /// queued (else the next scheduled run carries on).
    Partial {
        remaining: Vec<String>,
        continued: bool,
    },
    /// Another run held the account's lease: this one did nothing.
    Skipped {
        held_by: String,
    },
    Failed {
        error: String,
    },
}

/// The durable log one run leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLog {
    pub account: ManagedAccountId,
    pub run_id: RunId,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub counts: BTreeMap<String, u64>,
    pub entries: Vec<LogEntry>,
    pub outcome: RunOutcome,
}

/// One worker's claim on an account until an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub account: ManagedAccountId,
    /// The run holding it.
    pub holder: RunId,
    pub until: DateTime<Utc>,
}

/// What asking for a lease gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseGrant {
    /// Taken (or renewed by its holder) until the asked instant.
    Granted,
    /// Another run holds it.
    HeldBy(Lease),
}

/// A queued email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// [`Notification::dedupe_key`].
    pub key: String,
    pub notification: Notification,
    pub queued_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Builds an alert digest from the accounts it names
/// ([`OutboxStore::admit_and_queue_digest`]).
pub type DigestFn<'f> = dyn Fn(&[ManagedAccountId]) -> Notification + Sync + 'f;

/// Onboardings and departments: written by the operator, read by the jobs.
#[async_trait]
pub trait OnboardingStore: Send + Sync {
    /// The onboarding of one account, if it was onboarded.
    async fn onboarding(&self, account: &ManagedAccountId) -> PortResult<Option<Onboarding>>;
    /// Every onboarding (the scheduler's list).
    async fn onboardings(&self) -> PortResult<Vec<Onboarding>>;
    /// Create or replace an onboarding (operator action); an offboarding of the account
    /// is undone (forgotten) by it.
    async fn put_onboarding(&self, onboarding: &Onboarding) -> PortResult<()>;
    /// Stops syncing an account (operator action): its onboarding is kept aside as an
    /// [`Offboarding`], so [`OnboardingStore::onboarding`] and `onboardings` no longer
    /// return it; nothing else is touched (records, watermarks, customers stay).
    /// `None` when the account is not onboarded (nothing written). Idempotent.
    async fn offboard(
        &self,
        account: &ManagedAccountId,
        at: DateTime<Utc>,
    ) -> PortResult<Option<Offboarding>>;
    /// Every offboarded account not onboarded again (the scheduler's list).
    async fn offboardings(&self) -> PortResult<Vec<Offboarding>>;
    /// Create or replace a department (operator action).
    async fn put_department(&self, department: &Department) -> PortResult<()>;
}

/// Customers, service types and services: what the planner compares Telnyx with, and
/// where its actions land.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The stored state the planner needs for this account: at least its departments
    /// and, in them, this account's customers, the reseller or billing customer, the
    /// departments' service types, and this account's services and twins. It may hold
    /// other accounts' records of the same departments (the planner filters). Read with
    /// queries, never a scan.
    async fn load_state(&self, onboarding: &Onboarding) -> PortResult<StoredState>;

    /// Applies actions in order, each idempotently; a `CreateCustomer`'s notification is
    /// queued in the outbox in the same write as the customer, `queued_at` = `now` (the
    /// caller's clock: the store keeps none of its own), and only by the writer that
    /// created the customer.
    async fn apply(&self, actions: &[Action], now: DateTime<Utc>) -> PortResult<ApplyReport>;
}

/// Detail records and how far each record type is durably stored.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Stores detail records keyed by account + record type + Telnyx id; a record
    /// already stored (or given twice in one call) is counted as a duplicate and not
    /// rewritten. Ok only when every record is durably stored.
    async fn put_detail_records(
        &self,
        records: &[StoredDetailRecord],
    ) -> PortResult<RecordWriteReport>;

    /// Stores detail records the caller knows are not stored yet (at or after the type's
    /// reach, [`super::streams::StreamState::reach`]): written without looking first, each counted as written (a
    /// copy given twice in one call still counts once as a duplicate). A record's item
    /// is a function of the record, so writing one that was stored after all changes
    /// nothing but the count. Ok only when every record is durably stored.
    async fn put_new_detail_records(
        &self,
        records: &[StoredDetailRecord],
    ) -> PortResult<RecordWriteReport>;
}

/// One worker per account: a lease with an expiry, taken with a conditional write.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes the account's lease for `holder` until `until` when it is free, expired at
    /// `now`, or already `holder`'s (a renewal). With concurrent callers exactly one is
    /// granted. Decided on the stored expiry, never on the item being gone.
    async fn acquire_lease(
        &self,
        account: &ManagedAccountId,
        holder: &RunId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> PortResult<LeaseGrant>;
    /// Gives the lease back if `holder` holds it (else changes nothing).
    async fn release_lease(&self, account: &ManagedAccountId, holder: &RunId) -> PortResult<()>;
    /// The leases of `accounts` still held at `now`.
    async fn active_leases(
        &self,
        accounts: &[ManagedAccountId],
        now: DateTime<Utc>,
    ) -> PortResult<Vec<Lease>>;
}

/// Queued emails and the alert throttle (the outbox: SES has no idempotency token).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Admits one alert of `kind` for `account` per `interval`, decided on the stored
    /// time of the last admitted one, and queues `alert` in the outbox **in the same
    /// atomic write**: either the interval restarts at `now` and the email is queued, or
    /// neither happens (a crash cannot use up the interval without an email). With
    /// concurrent callers exactly one is admitted. Returns true for the caller whose
    /// alert was admitted and queued; false when the interval has not elapsed or this
    /// very alert (same dedupe key) is already queued.
    async fn admit_and_queue_alert(
        &self,
        kind: EmailKind,
        account: &ManagedAccountId,
        alert: &Notification,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> PortResult<bool>;

    /// The digest form of [`OutboxStore::admit_and_queue_alert`]: admits one alert of
    /// `kind` per account of `accounts` per `interval` (decided on the stored time, each
    /// account exactly once among concurrent callers) and queues **one** email, built
    /// by `digest` from the accounts admitted, for all of them; nothing is queued when
    /// none is admitted. Returns the accounts admitted.
    ///
    /// The email is queued before the accounts' slots are taken and rewritten (or
    /// withdrawn) for the accounts a concurrent caller admitted first, so a crash
    /// between the two steps can send the digest without using up the interval (the
    /// accounts are named again next time), never use up the interval without an email.
    async fn admit_and_queue_digest(
        &self,
        kind: EmailKind,
        accounts: &[ManagedAccountId],
        digest: &DigestFn<'_>,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> PortResult<Vec<ManagedAccountId>>;

    /// Notifications queued and not yet sent, oldest first.
    async fn pending_notifications(&self) -> PortResult<Vec<OutboxEntry>>;
    /// Claims a pending notification for sending until `now` + the store's claim lease;
    /// false if another sender holds it or it was sent.
    async fn claim_notification(&self, key: &str, now: DateTime<Utc>) -> PortResult<bool>;
    /// Marks a claimed notification sent (idempotent).
    async fn mark_notification_sent(
        &self,
        key: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()>;
}

/// Every run's log, kept for the store's retention.
#[async_trait]
pub trait RunLogStore: Send + Sync {
    async fn put_run_log(&self, log: &RunLog) -> PortResult<()>;
    /// The newest `limit` run logs of an account, newest first.
    async fn run_logs(&self, account: &ManagedAccountId, limit: usize) -> PortResult<Vec<RunLog>>;
}

/// The whole store: every concern. Implemented for anything that implements them all.
pub trait Store:
    OnboardingStore
    + StateStore
    + RecordStore
    + StreamStore
    + LeaseStore
    + OutboxStore
    + RunLogStore
    + super::billing::BillingStore
    + super::usage::UsageStore
    + super::months::MonthStore
{
}

impl<T> Store for T where
    T: OnboardingStore
        + StateStore
        + RecordStore
        + StreamStore
        + LeaseStore
        + OutboxStore
        + RunLogStore
        + super::billing::BillingStore
        + super::usage::UsageStore
        + super::months::MonthStore
{
}
