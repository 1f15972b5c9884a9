//! The plan model: an ordered list of idempotent actions, the detail-record
//! attributions, the notifications to send and the import-log entries.
//!
//! Contract: applying the same plan twice (or from two workers at once) converges on
//! the same stored state, because every created record carries an id derived from the
//! Telnyx ids it comes from and every creation is conditional.

use crate::domain::*;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// One step of a plan. Order matters: types before links, customers before services,
/// services before twins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Create a service type in a department (no-op if it exists).
    CreateServiceType(ServiceType),
    /// Set a child type's wholesale link to the parent department's type of the same name.
    LinkServiceType {
        child: ServiceTypeId,
        parent: ServiceTypeId,
    },
    /// Create a customer (conditional); `notify` is queued in the same write (outbox).
    CreateCustomer {
        customer: Customer,
        notify: Option<Notification>,
    },
    /// Create a service on an end customer (conditional).
    CreateService(Service),
    /// Create the wholesale twin of a child service under the reseller (conditional).
    CreateWholesaleTwin(Service),
    /// Mark a service ceased (never deleted).
    CeaseService { service: ServiceId, on: NaiveDate },
    /// Bring a ceased service back.
    ReactivateService { service: ServiceId },
}

/// An email to send, as data; adapters render it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notification {
    /// A customer was auto-created; goes to its department's billing email.
    NewCustomer {
        to: Vec<String>,
        account: ManagedAccountId,
        customer_id: CustomerId,
        customer_name: String,
        department_id: DepartmentId,
        department_name: String,
        billing_group_id: Option<BillingGroupId>,
        /// Connection names (with their ids) that belong to the customer.
        connections: Vec<String>,
        /// Direct link to the customer record (from the portal URL template).
        link: String,
    },
    /// A managed account nobody has onboarded; goes to the operator's alert address.
    UnknownManagedAccount {
        to: Vec<String>,
        account: ManagedAccountId,
        organization_name: Option<String>,
        email: Option<String>,
        created_at: Option<DateTime<Utc>>,
        /// When the alert was admitted by the 3-day throttle (part of its outbox key, so
        /// the next alert three days later is a new entry).
        raised_at: DateTime<Utc>,
    },
    /// An account's key is revoked or lacks a permission; goes to the operator.
    KeyProblem {
        to: Vec<String>,
        account: ManagedAccountId,
        /// e.g. "unauthorized (401): key missing or revoked", "forbidden (403) on /phone_numbers"
        problem: String,
        /// When the alert was admitted by the 3-day throttle (part of its outbox key).
        raised_at: DateTime<Utc>,
    },
}

impl Notification {
    /// A stable id: the outbox entry's key, so a notification is queued at most once.
    pub fn dedupe_key(&self) -> String {
        match self {
            Notification::NewCustomer { customer_id, .. } => format!("new-customer#{customer_id}"),
            // An alert's key carries the instant the 3-day throttle admitted it, so the
            // next period's alert is a new outbox entry rather than a duplicate.
            Notification::UnknownManagedAccount {
                account, raised_at, ..
            } => format!("unknown-account#{account}#{}", raised_at.timestamp()),
            Notification::KeyProblem {
                account, raised_at, ..
            } => format!("key-problem#{account}#{}", raised_at.timestamp()),
        }
    }

    pub fn recipients(&self) -> &[String] {
        match self {
            Notification::NewCustomer { to, .. }
            | Notification::UnknownManagedAccount { to, .. }
            | Notification::KeyProblem { to, .. } => to,
        }
    }
}

/// How serious an import-log entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// One import-log entry: a stable code, a severity, and a message that says what the
/// operator should do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub code: String,
    pub severity: Severity,
    pub message: String,
}

/// What one run must do for one account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub actions: Vec<Action>,
    /// Every input detail record, attributed or flagged (never dropped).
    pub records: Vec<StoredDetailRecord>,
    pub log: Vec<LogEntry>,
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
