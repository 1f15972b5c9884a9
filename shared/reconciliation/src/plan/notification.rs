//! The emails the product sends, as data: every kind ([`EmailKind`]) and what each one
//! carries ([`Notification`]). A kind has one name (`new-customer`): the notification's
//! stored `kind`, its outbox key's prefix, the alert throttle's slot and its template
//! file's name (`shared/aws/templates/new-customer.email`: subject, text and HTML) all
//! use it. The adapter renders each kind from its file and cannot be built without it
//! (`shared/aws/src/email.rs`).
//!
//! A new email touches three files: its kind, its variant and its sample
//! (`Notification::sample`, for the every-kind render test) here — the matches below
//! are exhaustive, so the compiler lists what to decide —, its template file, and one
//! line naming that file in `shared/aws/src/email.rs`.

use crate::domain::{BillingGroupId, BillingMonth, CustomerId, DepartmentId, ManagedAccountId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Every kind of email, in one place.
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
    strum::VariantArray,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum EmailKind {
    /// A customer was auto-created (account-sync → the department's billing address).
    NewCustomer,
    /// Managed accounts nobody has onboarded (the scheduler's digest → the operator).
    UnknownAccounts,
    /// Telnyx refused an account's key (account-sync → the operator).
    KeyProblem,
    /// The manager key is missing or refused (the scheduler → the operator; its throttle
    /// slot is kept under [`crate::schedule::scheduler_account`]).
    ManagerKeyProblem,
    /// The completeness audit found a settled day where Telnyx's totals and the stored
    /// records differ (account-sync → the operator).
    AuditMismatch,
    /// The monthly automatic close: which accounts' month it closed and which wait,
    /// with why (the scheduler → the operator).
    MonthsClosed,
}

impl EmailKind {
    /// Every kind (kept complete by the compiler).
    pub const ALL: &'static [EmailKind] = <EmailKind as strum::VariantArray>::VARIANTS;

    /// The kind's one name: `new-customer`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// An email to send, as data; adapters render it. Stored (in the outbox) with its
/// kind's name as `kind`; the snake_case aliases read entries queued by versions before
/// the kinds had one name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Notification {
    /// A customer was auto-created; goes to its department's billing email.
    #[serde(alias = "new_customer")]
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
    #[serde(alias = "unknown_managed_accounts")]
    UnknownAccounts {
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
    #[serde(alias = "key_problem")]
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
    #[serde(alias = "manager_key_problem")]
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
    #[serde(alias = "audit_mismatch")]
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
    /// What the monthly automatic close did to `month`: the accounts it closed and
    /// the ones that wait; goes to the operator.
    MonthsClosed {
        /// The operator's alert address(es).
        to: Vec<String>,
        /// The month closed (`2026-11`).
        month: BillingMonth,
        /// Closed by this tick.
        closed: Vec<MonthOfAccount>,
        /// Still open, each with what stands in the way.
        waiting: Vec<MonthOfAccount>,
        /// When the email was queued (part of its outbox key).
        raised_at: DateTime<Utc>,
        /// How often an email that only lists waiting accounts can repeat.
        #[serde(default)]
        repeat_every: RepeatEvery,
    },
}

/// One account's line in the monthly close email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthOfAccount {
    pub account: ManagedAccountId,
    /// Its organization, as onboarded.
    pub organization_name: String,
    /// A closed month: its invoice lines (both levels) and version; a waiting one:
    /// what stands in the way, one line each.
    pub details: Vec<String>,
}

impl Notification {
    /// Which kind of email this is.
    pub fn kind(&self) -> EmailKind {
        match self {
            Notification::NewCustomer { .. } => EmailKind::NewCustomer,
            Notification::UnknownAccounts { .. } => EmailKind::UnknownAccounts,
            Notification::KeyProblem { .. } => EmailKind::KeyProblem,
            Notification::ManagerKeyProblem { .. } => EmailKind::ManagerKeyProblem,
            Notification::AuditMismatch { .. } => EmailKind::AuditMismatch,
            Notification::MonthsClosed { .. } => EmailKind::MonthsClosed,
        }
    }

    /// A stable id: the outbox entry's key, so a notification is queued at most once.
    /// It starts with the kind's key (`new-customer#…`); an alert's carries the instant
    /// the throttle admitted it, so the next period's alert is a new outbox entry rather
    /// than a duplicate.
    pub fn dedupe_key(&self) -> String {
        let what = match self {
            Notification::NewCustomer { customer_id, .. } => customer_id.to_string(),
            Notification::UnknownAccounts {
                accounts,
                raised_at,
                ..
            } => format!(
                "{}#{}+{}",
                raised_at.timestamp_millis(),
                accounts
                    .first()
                    .map(|a| a.account.as_str())
                    .unwrap_or_default(),
                accounts.len()
            ),
            Notification::KeyProblem {
                account, raised_at, ..
            }
            | Notification::AuditMismatch {
                account, raised_at, ..
            } => format!("{account}#{}", raised_at.timestamp()),
            Notification::ManagerKeyProblem { raised_at, .. } => raised_at.timestamp().to_string(),
            Notification::MonthsClosed {
                month, raised_at, ..
            } => format!("{month}#{}", raised_at.timestamp_millis()),
        };
        format!("{}#{what}", self.kind().as_str())
    }

    /// The addresses the email goes to (never empty for a queued notification).
    pub fn recipients(&self) -> &[String] {
        match self {
            Notification::NewCustomer { to, .. }
            | Notification::UnknownAccounts { to, .. }
            | Notification::KeyProblem { to, .. }
            | Notification::ManagerKeyProblem { to, .. }
            | Notification::AuditMismatch { to, .. }
            | Notification::MonthsClosed { to, .. } => to,
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

#[cfg(any(test, feature = "test-util"))]
impl Notification {
    /// One notification of `kind`, every field filled (with text that must be escaped in
    /// HTML): the every-kind render test's sample. Exhaustive, so a new kind needs one.
    pub fn sample(kind: EmailKind) -> Notification {
        use chrono::TimeZone;
        let to = vec!["ops@operator.example".to_owned()];
        let account = ManagedAccountId::new("acc-sample");
        let raised_at = Utc
            .with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
            .single()
            .unwrap_or_default();
        let repeat_every = RepeatEvery::DEFAULT;
        match kind {
            EmailKind::NewCustomer => Notification::NewCustomer {
                to,
                account,
                customer_id: CustomerId::new("cus-a"),
                customer_name: "Acme <Retail> & Co".to_owned(),
                department_id: DepartmentId::new("dept-child"),
                department_name: "Acme customers".to_owned(),
                billing_group_id: Some(BillingGroupId::new("bg-a")),
                connections: vec!["Main trunk (conn-1)".to_owned()],
                link: "https://billing.example.com/customers/cus-a".to_owned(),
            },
            EmailKind::UnknownAccounts => Notification::UnknownAccounts {
                to,
                accounts: vec![UnknownAccount {
                    account,
                    organization_name: Some("Gamma <Telecom>".to_owned()),
                    email: Some("owner@gamma.example".to_owned()),
                    created_at: Some(raised_at),
                }],
                raised_at,
                repeat_every,
            },
            EmailKind::KeyProblem => Notification::KeyProblem {
                to,
                account,
                problem: "unauthorized (401): key <missing> or revoked".to_owned(),
                raised_at,
                repeat_every,
            },
            EmailKind::ManagerKeyProblem => Notification::ManagerKeyProblem {
                to,
                problem: "reading the master key failed: secret <x> not found".to_owned(),
                raised_at,
                repeat_every,
            },
            EmailKind::AuditMismatch => Notification::AuditMismatch {
                to,
                account,
                findings: vec![
                    "sip-trunking on 2026-11-02: Telnyx <3 records>, stored 2".to_owned(),
                ],
                raised_at,
                repeat_every,
            },
            EmailKind::MonthsClosed => Notification::MonthsClosed {
                to,
                month: BillingMonth::of(raised_at).prev(),
                closed: vec![MonthOfAccount {
                    account: account.clone(),
                    organization_name: "Acme <Reseller>".to_owned(),
                    details: vec!["version 1, 12 invoice line(s)".to_owned()],
                }],
                waiting: vec![MonthOfAccount {
                    account: ManagedAccountId::new("acc-waiting"),
                    organization_name: "Beta".to_owned(),
                    details: vec!["messaging: not settled on 2026-10-31".to_owned()],
                }],
                raised_at,
                repeat_every,
            },
        }
    }
}
