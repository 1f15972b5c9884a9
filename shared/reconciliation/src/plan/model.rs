//! The plan model: an ordered list of idempotent actions, the detail-record
//! attributions, the notifications to send and the import-log entries.
//!
//! Contract: applying the same plan twice (or from two workers at once) converges on
//! the same stored state, because every created record carries an id derived from the
//! Telnyx ids it comes from and every creation is conditional.

use super::attribution::Attribution;
use super::codes::{LogCode, Severity};
use super::notification::Notification;
use crate::domain::{
    Customer, MatchedBy, Service, ServiceId, ServiceType, ServiceTypeId, StoredDetailRecord,
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One step of a plan. Order matters: types before links, customers before services,
/// services before twins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Create a service type in a department (no-op if it exists).
    CreateServiceType(ServiceType),
    /// Set a child type's wholesale link to the parent department's type of the same name.
    LinkServiceType {
        /// The type in the customer (child) department.
        child: ServiceTypeId,
        /// The type of the same name in the parent department.
        parent: ServiceTypeId,
    },
    /// Create a customer (conditional); `notify` is queued in the same write (outbox).
    CreateCustomer {
        /// The customer to create.
        customer: Customer,
        /// The new-customer email, if its department has a billing email.
        notify: Option<Notification>,
    },
    /// Create a service on an end customer (conditional).
    CreateService(Service),
    /// Create the wholesale twin of a child service under the reseller (conditional).
    CreateWholesaleTwin(Service),
    /// Mark a service ceased (never deleted); a no-op on a ceased service (the first
    /// cease date is kept).
    CeaseService {
        /// The child service or twin to cease.
        service: ServiceId,
        /// The cease date (UTC date of the run).
        on: NaiveDate,
    },
    /// Bring a ceased service back; a no-op on an active one.
    ReactivateService {
        /// The child service or twin to reactivate.
        service: ServiceId,
    },
}

/// One import-log entry: a stable code, a severity, and a message that says what the
/// operator should do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The stable code (dashboards and alerts key on it).
    pub code: LogCode,
    /// How serious the entry is.
    pub severity: Severity,
    /// What happened, naming the Telnyx and stored records involved, and what the
    /// operator should do (or "nothing to do" and why).
    pub message: String,
}

impl LogEntry {
    /// An entry with its code's severity.
    pub fn new(code: LogCode, message: String) -> Self {
        Self {
            code,
            severity: code.severity(),
            message,
        }
    }
}

/// What one run must do for one account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The writes, in the order they must be applied (see [`crate::plan::plan`]).
    pub actions: Vec<Action>,
    /// The import-log entries of the run, in the order they were found.
    pub log: Vec<LogEntry>,
    /// What the cease, reactivate and link actions name, so the diff can say what they
    /// are. Read-only: never written anywhere.
    #[serde(default)]
    pub context: PlanContext,
    /// What rule 15 (docs/mapping-rules.md) matches records against after this plan
    /// (for records attributed later, page by page). Read-only: never written anywhere.
    #[serde(skip)]
    pub attribution: Attribution,
    /// How the run's records were matched (of every page the run attributed).
    #[serde(default)]
    pub tally: RecordTally,
}

/// How many records were matched which way (rule 15).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordTally {
    pub billing_group: u64,
    pub connection: u64,
    pub calling_number: u64,
    pub called_number: u64,
    /// Linked through a call record's session or leg id.
    #[serde(default)]
    pub session: u64,
    pub unmatched: u64,
}

impl RecordTally {
    /// The tally of `records`.
    pub fn of<'r>(records: impl IntoIterator<Item = &'r StoredDetailRecord>) -> Self {
        let mut out = Self::default();
        for r in records {
            out.add(r.matched_by);
        }
        out
    }

    /// Counts one record matched by `m`.
    pub fn add(&mut self, m: MatchedBy) {
        *match m {
            MatchedBy::BillingGroup => &mut self.billing_group,
            MatchedBy::Connection => &mut self.connection,
            MatchedBy::CallingNumber => &mut self.calling_number,
            MatchedBy::CalledNumber => &mut self.called_number,
            MatchedBy::Session => &mut self.session,
            MatchedBy::Unmatched => &mut self.unmatched,
        } += 1;
    }

    /// Adds another tally.
    pub fn merge(&mut self, other: &RecordTally) {
        self.billing_group += other.billing_group;
        self.connection += other.connection;
        self.calling_number += other.calling_number;
        self.called_number += other.called_number;
        self.session += other.session;
        self.unmatched += other.unmatched;
    }

    /// Every record counted.
    pub fn total(&self) -> u64 {
        self.billing_group
            + self.connection
            + self.calling_number
            + self.called_number
            + self.session
            + self.unmatched
    }

    /// The share of records attributed to an end customer, in percent (`None`: no
    /// record). For display and metrics only; money never goes through it.
    pub fn attribution_rate(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| (total - self.unmatched) as f64 * 100.0 / total as f64)
    }

    /// The counts in a fixed order.
    pub fn counts(&self) -> [(MatchedBy, u64); 6] {
        [
            (MatchedBy::BillingGroup, self.billing_group),
            (MatchedBy::Connection, self.connection),
            (MatchedBy::CallingNumber, self.calling_number),
            (MatchedBy::CalledNumber, self.called_number),
            (MatchedBy::Session, self.session),
            (MatchedBy::Unmatched, self.unmatched),
        ]
    }
}

/// The stored records a plan's actions refer to by id only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanContext {
    /// Every stored service (child or twin) a `CeaseService` or `ReactivateService` names.
    pub services: BTreeMap<ServiceId, Service>,
    /// Every stored service type a `LinkServiceType` names (types the plan creates are
    /// in its `CreateServiceType` actions).
    pub service_types: BTreeMap<ServiceTypeId, ServiceType>,
}

impl Plan {
    /// True when there is nothing to write (detail records aside, which are idempotent puts).
    pub fn has_no_actions(&self) -> bool {
        self.actions.is_empty()
    }

    /// The notifications this plan queues (carried by `CreateCustomer`).
    pub fn notifications(&self) -> impl Iterator<Item = &Notification> {
        self.actions.iter().filter_map(|a| match a {
            Action::CreateCustomer {
                notify: Some(n), ..
            } => Some(n),
            _ => None,
        })
    }
}

/// What applying actions did. "Already exists" is a normal outcome, counted, not an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    pub created: u64,
    pub already_existed: u64,
    pub updated: u64,
    /// Notifications queued in the outbox by this apply (only by the writer that created).
    pub notifications_queued: u64,
    /// Of `created`, customers (the `CustomersCreated` metric).
    pub customers_created: u64,
    /// Of `created`, services in a customer's department (`ServicesCreated`).
    pub services_created: u64,
    /// Of `created`, wholesale twins under the reseller (`TwinsCreated`).
    pub twins_created: u64,
}
