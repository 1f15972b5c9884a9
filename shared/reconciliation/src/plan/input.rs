//! What one plan is computed from: the account, Telnyx's snapshot, the service types
//! seen in CDR so far ([`Usage`]), the stored state and the run's settings.

use crate::domain::{
    ConnectionId, DetailRecord, Onboarding, ServiceTypeName, StoredState, TelnyxSnapshot,
};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Service types seen per connection in CDR.
pub type Usage = BTreeMap<ConnectionId, BTreeSet<ServiceTypeName>>;

/// Adds to `usage` the service types `records` show per connection (rule 8); true when
/// one is new.
pub fn learn_usage(usage: &mut Usage, records: &[DetailRecord]) -> bool {
    let mut changed = false;
    for r in records {
        if let Some(c) = &r.connection_id {
            changed |= usage
                .entry(c.clone())
                .or_default()
                .insert(r.record_type.service_type());
        }
    }
    changed
}

/// Run-level settings of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSettings {
    /// Link to a customer record; `{customer_id}`, `{department_id}` and `{account_id}`
    /// are replaced, e.g. `https://billing.example.com/customers/{customer_id}`.
    pub portal_url_template: String,
    /// The date a service is ceased on (UTC date of the run).
    pub today: NaiveDate,
    /// The instant of the run (stamped on created customers).
    pub now: DateTime<Utc>,
    /// Whether a connection with no stored type and no usage gets its kind's default
    /// type (rule 8). On for every complete plan; a streaming run turns it off until it
    /// has seen its whole window's records, so it never guesses a type usage would give.
    pub default_types: bool,
}

impl PlanSettings {
    /// Settings for a run at `now` (today = UTC date of `now`).
    pub fn at(portal_url_template: impl Into<String>, now: DateTime<Utc>) -> Self {
        Self {
            portal_url_template: portal_url_template.into(),
            today: now.date_naive(),
            now,
            default_types: true,
        }
    }
}

/// Everything one plan is computed from. Build with [`PlanInput::new`] and the `with_*`
/// methods.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// The account, how it is billed and mapped.
    pub onboarding: &'a Onboarding,
    /// What Telnyx says now: billing groups, connections, profiles, numbers.
    pub snapshot: &'a TelnyxSnapshot,
    /// Service types seen per connection in CDR (rule 8: this run's pages so far, and
    /// the services earlier runs created).
    pub usage: Usage,
    /// The stored state; may hold other accounts' records, which are ignored.
    pub state: &'a StoredState,
    /// The run's date and portal link template.
    pub settings: PlanSettings,
}

impl<'a> PlanInput<'a> {
    /// An input with no usage (a configuration-only plan).
    pub fn new(
        onboarding: &'a Onboarding,
        snapshot: &'a TelnyxSnapshot,
        state: &'a StoredState,
        settings: PlanSettings,
    ) -> Self {
        Self {
            onboarding,
            snapshot,
            usage: Usage::new(),
            state,
            settings,
        }
    }

    /// Replaces the usage seen in earlier CDR (service types per connection).
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = usage;
        self
    }
}
