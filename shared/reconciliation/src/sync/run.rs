//! The context every stage of one account's run reads, passed by reference: the
//! invocation ([`Job`]: ports, settings, request, deadline, start) and, once the
//! account's key is read and the usage report's options learned, the [`Run`].

use super::{RunContext, SyncSettings};
use crate::domain::ManagedAccountId;
use crate::invocation::SyncRequest;
use crate::ports::{ApiKey, Ports};
use crate::usage::UsageCatalog;
use chrono::{DateTime, Utc};

/// One invocation of the sync job.
#[derive(Clone, Copy)]
pub(crate) struct Job<'r> {
    pub ports: &'r Ports,
    pub settings: &'r SyncSettings,
    pub request: &'r SyncRequest,
    pub ctx: &'r RunContext,
    /// When the invocation started (the run's "now").
    pub started: DateTime<Utc>,
}

impl<'r> Job<'r> {
    /// The account synced.
    pub fn account(&self) -> &'r ManagedAccountId {
        &self.request.managed_account_id
    }

    /// False for a dry run: nothing is written.
    pub fn writes(&self) -> bool {
        !self.request.dry_run
    }

    /// Time is left for another page (the deadline minus its margin not reached).
    pub fn time_left(&self) -> bool {
        let now = self.ports.clock.now();
        self.ctx
            .deadline
            .is_none_or(|d| now + self.settings.deadline_margin < d)
    }

    /// No page may be requested (or waited for) after this.
    pub fn not_after(&self) -> Option<DateTime<Utc>> {
        self.ctx
            .deadline
            .map(|d| d - self.settings.deadline_margin / 2)
    }
}

/// The run of one account: its invocation, the account's key, and what the usage
/// report offers per record type.
#[derive(Clone, Copy)]
pub(crate) struct Run<'r> {
    pub job: Job<'r>,
    pub key: &'r ApiKey,
    pub catalog: &'r UsageCatalog,
}

impl<'r> std::ops::Deref for Run<'r> {
    type Target = Job<'r>;
    fn deref(&self) -> &Job<'r> {
        &self.job
    }
}
