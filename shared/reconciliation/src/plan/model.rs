//! The plan model: an ordered list of idempotent actions, the detail-record
//! attributions, the notifications to send and the import-log entries.
//!
//! Contract: applying the same plan twice (or from two workers at once) converges on
//! the same stored state, because every created record carries an id derived from the
//! Telnyx ids it comes from and every creation is conditional.

use super::attribution::Attribution;
use super::codes::{LogCode, Severity};
use crate::domain::{
    BillingGroupId, Customer, CustomerId, DepartmentId, ManagedAccountId, MatchedBy, Service,
    ServiceId, ServiceType, ServiceTypeId, StoredDetailRecord,
};
use chrono::{DateTime, NaiveDate, Utc};
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

/// An email to send, as data; adapters render it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notification {
    /// A customer was auto-created; goes to its department's billing email.
    NewCustomer {
        /// The department's billing email.
        to: Vec<String>,
        /// The managed account the customer was created for.
        account: ManagedAccountId,
        /// The created customer.
        customer_id: CustomerId,
        /// Its company name (the billing group's or organization's name).
        customer_name: String,
        /// The department it was created in.
        department_id: DepartmentId,
        /// That department's name.
        department_name: String,
        /// The billing group it stands for (`None` for the one-customer mapping).
        billing_group_id: Option<BillingGroupId>,
        /// Connection names (with their ids) that belong to the customer.
        connections: Vec<String>,
        /// Direct link to the customer record (from the portal URL template).
        link: String,
    },
    /// Managed accounts nobody has onboarded, newly seen (or due again) at one tick:
    /// one digest to the operator's alert address, however many there are.
    UnknownManagedAccounts {
        /// The operator's alert address(es).
        to: Vec<String>,
        /// The accounts, as Telnyx lists them (at least one).
        accounts: Vec<UnknownAccount>,
        /// When the digest was queued (part of its outbox key).
        raised_at: DateTime<Utc>,
        /// The throttle's interval (the email says how often an account can repeat).
        #[serde(default)]
        repeat_every: RepeatEvery,
    },
    /// An account's key is revoked or lacks a permission; goes to the operator.
    KeyProblem {
        /// The operator's alert address(es).
        to: Vec<String>,
        /// The account whose key Telnyx refused.
        account: ManagedAccountId,
        /// e.g. "unauthorized (401): key missing or revoked", "forbidden (403) on /phone_numbers"
        problem: String,
        /// When the alert was admitted by the throttle (part of its outbox key).
        raised_at: DateTime<Utc>,
        /// The throttle's interval (the email says how often it can repeat).
        #[serde(default)]
        repeat_every: RepeatEvery,
    },
    /// The manager key is missing, unreadable or refused: no account is listed or
    /// queued until it is fixed; goes to the operator.
    ManagerKeyProblem {
        /// The operator's alert address(es).
        to: Vec<String>,
        /// What failed, e.g. "reading the master key failed: secret … not found".
        problem: String,
        /// When the alert was admitted by the throttle (part of its outbox key).
        raised_at: DateTime<Utc>,
        /// The throttle's interval (the email says how often it can repeat).
        #[serde(default)]
        repeat_every: RepeatEvery,
    },
    /// The completeness audit found settled days where the stored records and
    /// Telnyx's usage report differ; goes to the operator.
    AuditMismatch {
        /// The operator's alert address(es).
        to: Vec<String>,
        account: ManagedAccountId,
        /// One line per day and type: product, day, Telnyx's figures and ours.
        findings: Vec<String>,
        /// When the alert was admitted by the throttle (part of its outbox key).
        raised_at: DateTime<Utc>,
        /// The throttle's interval (the email says how often it can repeat).
        #[serde(default)]
        repeat_every: RepeatEvery,
    },
}

impl Notification {
    /// A stable id: the outbox entry's key, so a notification is queued at most once.
    pub fn dedupe_key(&self) -> String {
        match self {
            Notification::NewCustomer { customer_id, .. } => format!("new-customer#{customer_id}"),
            // An alert's key carries the instant the throttle admitted it, so the
            // next period's alert is a new outbox entry rather than a duplicate.
            Notification::UnknownManagedAccounts {
                accounts,
                raised_at,
                ..
            } => format!(
                "unknown-accounts#{}#{}+{}",
                raised_at.timestamp_millis(),
                accounts
                    .first()
                    .map(|a| a.account.as_str())
                    .unwrap_or_default(),
                accounts.len()
            ),
            Notification::KeyProblem {
                account, raised_at, ..
            } => format!("key-problem#{account}#{}", raised_at.timestamp()),
            Notification::ManagerKeyProblem { raised_at, .. } => {
                format!("manager-key-problem#{}", raised_at.timestamp())
            }
            Notification::AuditMismatch {
                account, raised_at, ..
            } => format!("audit-mismatch#{account}#{}", raised_at.timestamp()),
        }
    }

    /// The addresses the email goes to (never empty for a queued notification).
    pub fn recipients(&self) -> &[String] {
        match self {
            Notification::NewCustomer { to, .. }
            | Notification::UnknownManagedAccounts { to, .. }
            | Notification::KeyProblem { to, .. }
            | Notification::ManagerKeyProblem { to, .. }
            | Notification::AuditMismatch { to, .. } => to,
        }
    }
}

/// One managed account nobody has onboarded, as Telnyx lists it (a line of the
/// unknown-accounts digest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownAccount {
    /// The account nobody has onboarded.
    pub account: ManagedAccountId,
    /// Its organization, as Telnyx lists it.
    pub organization_name: Option<String>,
    /// Its owner's email, as Telnyx lists it.
    pub email: Option<String>,
    /// When Telnyx says it was created.
    pub created_at: Option<DateTime<Utc>>,
}

/// How often an alert of one kind may repeat for one account (the throttle's interval),
/// in whole hours; carried by the alert so its email can say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RepeatEvery {
    hours: i64,
}

impl RepeatEvery {
    /// Three days, the operator's setup guide's interval.
    pub const DEFAULT: RepeatEvery = RepeatEvery { hours: 72 };

    /// The interval, rounded down to whole hours (at least one).
    pub fn of(interval: chrono::Duration) -> Self {
        Self {
            hours: interval.num_hours().max(1),
        }
    }

    /// The interval as a duration.
    pub fn duration(self) -> chrono::Duration {
        chrono::Duration::hours(self.hours)
    }
}

impl Default for RepeatEvery {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// `3 days`, `1 day`, `36 hours`, `1 hour`.
impl std::fmt::Display for RepeatEvery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (n, unit) = if self.hours % 24 == 0 {
            (self.hours / 24, "day")
        } else {
            (self.hours, "hour")
        };
        write!(f, "{n} {unit}{}", if n == 1 { "" } else { "s" })
    }
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
