//! The ports: small traits the outside world is reached through. Adapters
//! (`telnyx-client`, `aws-adapters`) implement them; in-memory implementations live
//! in [`crate::fakes`] behind the `test-util` feature.
//!
//! Every method is safe to call twice: a retry, a duplicate delivery and a normal run
//! look the same to the caller.

use crate::domain::*;
use crate::error::PortError;
use crate::plan::{Action, LogEntry, Notification};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// What every port method returns: the value, or a [`PortError`] classified as
/// transient or permanent.
pub type PortResult<T> = Result<T, PortError>;

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

/// A half-open time window `[from, to)` over a record type's time field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Detail records streamed page by page (a long history never sits in memory).
#[async_trait]
pub trait RecordPages: Send {
    /// The next page, or `None` when the walk is over.
    async fn next_page(&mut self) -> PortResult<Option<Vec<DetailRecord>>>;
}

/// The Telnyx API, as the product reads it.
#[async_trait]
pub trait TelnyxApi: Send + Sync {
    /// Managed accounts of the manager (master) key.
    async fn managed_accounts(
        &self,
        master_key: &ApiKey,
        include_cancelled: bool,
    ) -> PortResult<Vec<ManagedAccount>>;

    /// Billing groups, connections, outbound voice profiles and phone numbers of one account.
    async fn snapshot(&self, key: &ApiKey) -> PortResult<TelnyxSnapshot>;

    /// Detail records of one type whose time field lies in `window`, page by page.
    async fn detail_records(
        &self,
        key: &ApiKey,
        record_type: RecordType,
        window: TimeWindow,
    ) -> PortResult<Box<dyn RecordPages>>;
}

/// API keys in a secret store.
#[async_trait]
pub trait Secrets: Send + Sync {
    /// The manager key that lists managed accounts.
    async fn master_key(&self) -> PortResult<ApiKey>;
    /// One managed account's own key.
    async fn account_key(&self, account: &ManagedAccountId) -> PortResult<ApiKey>;
}

/// Sends one email. Has no idempotency of its own: callers go through the outbox.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Returns the provider's message id.
    async fn send(&self, notification: &Notification) -> PortResult<String>;
}

/// The time, injectable.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A request to sync one account: the SQS message body and the manual invoke payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    pub managed_account_id: ManagedAccountId,
    /// Re-read detail records from this instant instead of the watermark.
    #[serde(default)]
    pub backfill_from: Option<DateTime<Utc>>,
    /// Upper bound of a backfill (defaults to now).
    #[serde(default)]
    pub backfill_to: Option<DateTime<Utc>>,
    /// Print the plan, write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Fans out one sync per account.
#[async_trait]
pub trait Dispatcher: Send + Sync {
    /// Returns the requests that could not be queued.
    async fn dispatch(&self, requests: &[SyncRequest]) -> PortResult<Vec<SyncRequest>>;
}

/// What applying actions did. "Already exists" is a normal outcome, counted, not an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    pub created: u64,
    pub already_existed: u64,
    pub updated: u64,
    /// Notifications queued in the outbox by this apply (only by the writer that created).
    pub notifications_queued: u64,
}

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
    Succeeded,
    Failed { error: String },
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

/// A queued email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// [`Notification::dedupe_key`].
    pub key: String,
    pub notification: Notification,
    pub queued_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The operator's records.
#[async_trait]
pub trait Store: Send + Sync {
    /// The onboarding of one account, if it was onboarded.
    async fn onboarding(&self, account: &ManagedAccountId) -> PortResult<Option<Onboarding>>;
    /// Every onboarding (the scheduler's list).
    async fn onboardings(&self) -> PortResult<Vec<Onboarding>>;
    /// Create or replace an onboarding (operator action).
    async fn put_onboarding(&self, onboarding: &Onboarding) -> PortResult<()>;
    /// Create or replace a department (operator action).
    async fn put_department(&self, department: &Department) -> PortResult<()>;

    /// The stored state the planner needs for this account (its departments, customers,
    /// service types and services), read with queries, never a scan.
    async fn load_state(&self, onboarding: &Onboarding) -> PortResult<StoredState>;

    /// Applies actions in order, each idempotently; a `CreateCustomer`'s notification is
    /// queued in the outbox in the same write as the customer, `queued_at` = `now` (the
    /// caller's clock: the store keeps none of its own).
    async fn apply(&self, actions: &[Action], now: DateTime<Utc>) -> PortResult<ApplyReport>;

    /// Stores detail records keyed by account + record type + Telnyx id; a record
    /// already stored is counted as a duplicate and not rewritten.
    async fn put_detail_records(
        &self,
        records: &[StoredDetailRecord],
    ) -> PortResult<RecordWriteReport>;

    /// The instant up to which every record of this type is durably stored.
    async fn watermark(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
    ) -> PortResult<Option<DateTime<Utc>>>;
    /// Moves a watermark forward (never backward).
    async fn advance_watermark(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
        to: DateTime<Utc>,
    ) -> PortResult<()>;

    async fn put_run_log(&self, log: &RunLog) -> PortResult<()>;

    /// Admits one alert of `kind` for `account` per alert interval (3 days), decided on
    /// the stored time of the last admitted one, and queues `alert` in the outbox **in
    /// the same atomic write**: either the interval restarts at `now` and the email is
    /// queued, or neither happens (a crash cannot use up the interval without an email).
    /// With concurrent callers exactly one is admitted. Returns true for the caller
    /// whose alert was admitted and queued; false when the interval has not elapsed or
    /// this very alert (same dedupe key) is already queued.
    async fn admit_and_queue_alert(
        &self,
        kind: &str,
        account: &ManagedAccountId,
        alert: &Notification,
        now: DateTime<Utc>,
    ) -> PortResult<bool>;

    /// Notifications queued and not yet sent.
    async fn pending_notifications(&self) -> PortResult<Vec<OutboxEntry>>;
    /// Claims a pending notification for sending; false if another sender holds it or it was sent.
    async fn claim_notification(&self, key: &str, now: DateTime<Utc>) -> PortResult<bool>;
    /// Marks a claimed notification sent.
    async fn mark_notification_sent(
        &self,
        key: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()>;
}
