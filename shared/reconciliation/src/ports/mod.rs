//! The ports: small traits the outside world is reached through. Adapters
//! (`telnyx-client`, `aws-adapters`) implement them; in-memory implementations live
//! in [`crate::fakes`] behind the `test-util` feature, and every store implementation
//! passes the one contract suite of [`crate::contract`].
//!
//! Every method is safe to call twice: a retry, a duplicate delivery and a normal run
//! look the same to the caller.
//!
//! - [`telnyx`]: `TelnyxApi` (with `RecordPages`, `ApiKey`, `TimeWindow`).
//! - [`store`]: the operator's records, one trait per concern (`OnboardingStore`,
//!   `StateStore`, `RecordStore`, `LeaseStore`, `OutboxStore`, `RunLogStore`), together
//!   `Store`.
//! - [`billing`]: `BillingStore`, the billing truth beside the records (partitions read
//!   by time, session links, audit verdicts, found time fields); part of `Store`.
//! - [`months`]: `MonthStore`, a billing month's lifecycle (change counter, state, frozen
//!   invoice lines, the log of closes and reopens); part of `Store`.
//! - [`usage`]: `UsageStore`, what was learned of Telnyx's usage report (cached options,
//!   confirmed count metrics, reports an account distrusts); part of `Store`.
//! - [`outside`]: `Secrets` (and `KeyStore`, its writing side), `Mailer`, `Dispatcher`
//!   and `Clock`.
//!
//! [`Ports`] is the one edge struct: a function builds it once at cold start and hands
//! it to the core's jobs.

pub mod billing;
pub mod months;
pub mod outside;
pub mod store;
pub mod streams;
pub mod telnyx;
pub mod usage;

pub use billing::{
    AuditDay, AuditFigures, AuditVerdict, BilledPage, BillingPartition, BillingStore, Rewalk,
    SessionLink,
};
pub use months::{
    Blocker, BlockerKind, InvoiceLine, LineKind, LineSums, MonthEvent, MonthState, MonthStatus,
    MonthStore, Unproven,
};
pub use outside::{Clock, Dispatcher, KeyStore, Mailer, Secrets, SystemClock};
pub use store::{
    ApplyReport, DigestFn, EmailKind, Lease, LeaseGrant, LeaseStore, OnboardingStore, OutboxEntry,
    OutboxStore, RecordStore, RecordWriteReport, RunLog, RunLogStore, RunOutcome, StateStore,
    Store,
};
pub use streams::{Cursor, StreamState, StreamStore};
pub use telnyx::{
    ApiKey, RecordPage, RecordPages, RecordQuery, RequestCounts, TelnyxApi, TimeWindow,
    UsageOptions, UsageProduct, UsageRequest, UsageRow,
};
pub use usage::{CachedUsageOptions, ConfirmedCount, Distrust, UsageStore};

use crate::error::PortError;
use std::sync::Arc;

/// What every port method returns: the value, or a [`PortError`] classified as
/// transient or permanent.
pub type PortResult<T> = Result<T, PortError>;

/// Every port the core's jobs use, built once per process (cold start) and shared by
/// every invocation. Cheap to clone.
#[derive(Clone)]
pub struct Ports {
    pub telnyx: Arc<dyn TelnyxApi>,
    pub secrets: Arc<dyn Secrets>,
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    /// The account-sync queue: the scheduler's fan-out and a run's continuation.
    pub dispatcher: Arc<dyn Dispatcher>,
    pub clock: Arc<dyn Clock>,
}
