//! [`InMemoryStore`]: the in-memory `Store`, one file per concern (onboardings, state,
//! records, outbox, run logs, billing, usage, months), like the DynamoDB store's modules.

mod billing;
mod leases;
mod months;
mod onboardings;
mod outbox;
mod records;
mod run_logs;
mod state;
mod streams;
mod usage;

use super::{injected, lock};
use crate::billing::rollup::Level;
use crate::domain::BillingMonth;
use crate::domain::{
    ConnectionId, DetailRecordId, ManagedAccountId, Offboarding, Onboarding, RecordType,
    StoredDetailRecord, StoredState,
};
use crate::ports::{
    AuditDay, Cursor, EmailKind, InvoiceLine, Lease, MonthEvent, MonthState, OutboxEntry,
    PortResult, RunLog, StreamState,
};
use chrono::NaiveDate;
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// Everything [`InMemoryStore`] holds; read it with [`InMemoryStore::data`].
#[derive(Debug, Clone, Default)]
pub struct StoreData {
    pub onboardings: BTreeMap<ManagedAccountId, Onboarding>,
    /// Accounts the operator stopped syncing.
    pub offboardings: BTreeMap<ManagedAccountId, Offboarding>,
    /// Every account's departments, customers, service types and services.
    pub state: StoredState,
    pub records: BTreeMap<(ManagedAccountId, RecordType, DetailRecordId), StoredDetailRecord>,
    /// Each (account, record type)'s stream: watermark, reach, time field, cursors.
    pub streams: BTreeMap<(ManagedAccountId, RecordType), StreamState>,
    pub leases: BTreeMap<ManagedAccountId, Lease>,
    pub run_logs: Vec<RunLog>,
    /// Last admitted alert per (kind, account).
    pub alerts: BTreeMap<(EmailKind, ManagedAccountId), DateTime<Utc>>,
    pub outbox: BTreeMap<String, OutboxEntry>,
    /// Claim expiry per outbox key.
    pub claims: BTreeMap<String, DateTime<Utc>>,
    /// Session or leg id → the connection its call record names.
    pub session_links: BTreeMap<(ManagedAccountId, String), ConnectionId>,
    /// Stored unmatched records waiting for their call.
    pub orphans: BTreeMap<(ManagedAccountId, RecordType, DetailRecordId), StoredDetailRecord>,
    pub audits: BTreeMap<(ManagedAccountId, RecordType, NaiveDate), AuditDay>,
    /// The cached usage report options.
    pub usage_options: Option<crate::ports::CachedUsageOptions>,
    /// Confirmed count metrics by (product, metric).
    pub confirmed_counts: BTreeMap<(String, String), crate::ports::ConfirmedCount>,
    /// Usage reports an account distrusts, by type.
    pub distrusts: BTreeMap<(ManagedAccountId, RecordType), crate::ports::Distrust>,
    /// Each month's change counter.
    pub month_changes: BTreeMap<(ManagedAccountId, BillingMonth), u64>,
    /// Months closed at least once.
    pub months: BTreeMap<(ManagedAccountId, BillingMonth), MonthState>,
    /// Frozen invoice lines by (account, month, version, level, number).
    pub invoice_lines: BTreeMap<(ManagedAccountId, BillingMonth, u32, Level, u32), InvoiceLine>,
    /// Closes and reopens, in order.
    pub month_events: Vec<MonthEvent>,
}

impl StoreData {
    /// Every stream's watermark.
    pub fn watermarks(&self) -> BTreeMap<(ManagedAccountId, RecordType), DateTime<Utc>> {
        self.streams
            .iter()
            .filter_map(|(k, s)| Some((k.clone(), s.watermark?)))
            .collect()
    }

    /// Every open walk's cursor, by (account, stream, record type).
    pub fn cursors(&self) -> BTreeMap<(ManagedAccountId, String, RecordType), Cursor> {
        self.streams
            .iter()
            .flat_map(|((a, t), s)| {
                s.cursors
                    .iter()
                    .map(move |(stream, c)| ((a.clone(), stream.clone(), *t), c.clone()))
            })
            .collect()
    }

    /// The business data only (state, records, watermarks, outbox keys), for "nothing
    /// was written" comparisons that ignore run logs and claims.
    pub fn business(&self) -> BusinessData {
        BusinessData {
            state: self.state.clone(),
            records: self.records.values().cloned().collect(),
            watermarks: self.watermarks(),
            outbox: self.outbox.keys().cloned().collect(),
        }
    }
}

/// What a run can write, for "nothing was written" assertions.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessData {
    pub state: StoredState,
    pub records: Vec<StoredDetailRecord>,
    pub watermarks: BTreeMap<(ManagedAccountId, RecordType), DateTime<Utc>>,
    pub outbox: Vec<String>,
}

/// An in-memory [`crate::ports::Store`].
#[derive(Debug)]
pub struct InMemoryStore {
    data: Mutex<StoreData>,
    failing: Mutex<BTreeSet<String>>,
    /// `put_detail_records` calls left before one stores half its records and hangs.
    hang_after: Mutex<Option<usize>>,
    /// How long an outbox claim holds.
    claim_lease: Duration,
}

impl Default for InMemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryStore {
    pub fn new() -> Self {
        Self {
            data: Mutex::default(),
            failing: Mutex::default(),
            hang_after: Mutex::default(),
            claim_lease: Duration::minutes(5),
        }
    }

    pub fn with_onboarding(self, onboarding: Onboarding) -> Self {
        lock(&self.data)
            .onboardings
            .insert(onboarding.account.clone(), onboarding);
        self
    }

    /// Seeds stored state (departments, customers, …) by merging `state` in.
    pub fn with_state(self, state: StoredState) -> Self {
        {
            let mut d = lock(&self.data);
            d.state.departments.extend(state.departments);
            d.state.customers.extend(state.customers);
            d.state.service_types.extend(state.service_types);
            d.state.services.extend(state.services);
        }
        self
    }

    /// A copy of everything stored.
    pub fn data(&self) -> StoreData {
        lock(&self.data).clone()
    }

    /// Makes every later call of the method named `op` (e.g. `"put_detail_records"`,
    /// `"apply"`, `"put_stream"`) fail with a transient error.
    pub fn fail(&self, op: &str) {
        lock(&self.failing).insert(op.to_owned());
    }

    /// A kill in the middle of a batch: after `calls` more `put_detail_records` calls, the
    /// next one stores the first half of its records and then never returns (the test
    /// drops the run, as a killed invocation would stop).
    pub fn hang_on_write_after(&self, calls: usize) {
        *lock(&self.hang_after) = Some(calls);
    }

    /// Whether this write is the one to hang on (counting down otherwise).
    fn hangs_now(&self) -> bool {
        let mut left = lock(&self.hang_after);
        match left.as_mut() {
            Some(0) => {
                *left = None;
                true
            }
            Some(n) => {
                *n -= 1;
                false
            }
            None => false,
        }
    }

    /// Stops failing `op`.
    pub fn heal(&self, op: &str) {
        lock(&self.failing).remove(op);
    }

    fn check(&self, op: &str) -> PortResult<()> {
        if lock(&self.failing).contains(op) {
            Err(injected(op))
        } else {
            Ok(())
        }
    }
}
