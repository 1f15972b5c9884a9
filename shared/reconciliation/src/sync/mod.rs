//! One account's sync run over the ports. The record path is a stream with checkpoints
//! (docs/record-path.md):
//!
//! ```text
//! lease(account) ─► snapshot + plan + apply (small) ─► for each record type with usage:
//!     page ─► attribute ─► batch write (dedup) ─► checkpoint ─► next page …
//!          deadline near? ─► commit, run log "partial", release lease, enqueue continuation
//!     slice done ─► watermark
//! every window done ─► relink orphans ─► default types ─► audit and heal
//! ```
//!
//! - [`structure`]: the snapshot, the stored state and the usage seen so far, planned and
//!   applied (again when a page shows a connection used as a new service type, rule 8 of
//!   docs/mapping-rules.md).
//! - [`windows`]: which window of which record type this run walks (a cursor left by an
//!   earlier run, the watermark's next window, a backfill, the first run's month), and
//!   which types the usage report shows need no request.
//! - [`walk`]: one type's window, in slices sized from Telnyx's total, page by page;
//!   the cursor (checkpoint) saved after every page, the watermark after every slice.
//! - [`relink`]: records stored before their call, linked to it once it is known.
//! - [`audit`]: after a complete run, the completeness audit, its heal and the alert.
//! - [`finish`]: the lease, the run log and the continuation.
//! - [`summary`]: what a run did ([`RunSummary`]) and its run-log counts.
//!
//! Like a kube-rs reconcile a run never knows why it runs (schedule, SQS redelivery, a
//! continuation, a manual invoke): every step is idempotent, and one worker per account
//! holds the lease, so a second worker exits cleanly instead of splitting the key's
//! rate budget.
//!
//! Failure contract:
//! - Nothing is written before the snapshot is read: a revoked key or a malformed
//!   configuration page fails the run with only a failed run log (and, for a refused
//!   key, a throttled alert) written.
//! - Memory holds one page and small summaries (the usage per connection), never the
//!   window: a million-record backfill runs in the memory of a thousand-record one.
//! - A checkpoint (cursor) and a watermark only ever move past records that are durably
//!   stored: a run killed anywhere loses at most the page in flight, and the next run
//!   continues from the checkpoint (re-reading a page is a duplicate, never a double
//!   charge: records are keyed by account, type and Telnyx id).

mod alerts;
mod audit;
mod error;
mod finish;
mod lease;
mod messages;
mod relink;
mod run;
mod structure;
mod summary;
mod walk;
mod windows;

pub use error::SyncError;
pub use summary::RunSummary;

use crate::domain::{Onboarding, RunId};
use crate::invocation::SyncRequest;
use crate::outbox::FlushReport;
use crate::plan::RepeatEvery;
use crate::ports::{Ports, RunOutcome};
use chrono::{DateTime, Duration, Utc};
use lease::LeaseKeeper;
use run::{Job, Run};
use structure::Structure;
use walk::Walker;

/// Settings of the account-sync function (from its typed config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    /// Link template for new-customer emails (see [`crate::plan::PlanSettings::portal_url_template`]).
    pub portal_url_template: String,
    /// How far before the watermark each new window re-reads, for records Telnyx
    /// publishes late; a type in `overlaps` uses its own.
    pub overlap: Duration,
    /// Per type, its own publication delay where it differs from `overlap` (messaging:
    /// at least 4 hours, Telnyx's own warning for the last 4 hours of messages). A day is
    /// settled for the audit once the type's watermark is this far past its end.
    pub overlaps: std::collections::BTreeMap<crate::domain::RecordType, Duration>,
    /// Every type is walked at least this often, whatever the usage report says.
    pub full_walk: Duration,
    /// How far back the first run of an account reads; `None`: from the start of the
    /// current (UTC) billing month.
    pub initial_lookback: Option<Duration>,
    /// The operator's alert address(es) for key problems; empty = no alert email.
    pub alert_to: Vec<String>,
    /// At most one key-problem alert per account per this interval.
    pub alert_interval: Duration,
    /// A run stops between pages this long before its invocation's deadline.
    pub deadline_margin: Duration,
    /// A continuation waits this long on the queue before it runs.
    pub continuation_delay: Duration,
    /// A window is walked in slices of about this many records (from Telnyx's total).
    pub slice_records: u64,
    /// The lease of a run without a deadline (renewed as it goes).
    pub lease_without_deadline: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            portal_url_template: String::new(),
            overlap: Duration::hours(2),
            overlaps: [(crate::domain::RecordType::Messaging, Duration::hours(4))].into(),
            full_walk: Duration::hours(24),
            initial_lookback: None,
            alert_to: Vec::new(),
            alert_interval: RepeatEvery::DEFAULT.duration(),
            deadline_margin: Duration::seconds(30),
            continuation_delay: Duration::seconds(2),
            slice_records: 2_500,
            lease_without_deadline: Duration::minutes(15),
        }
    }
}

impl SyncSettings {
    /// The publication delay of `t`: how far each new window re-reads before the
    /// watermark, and how long after a day's end it is settled.
    pub fn overlap_for(&self, t: crate::domain::RecordType) -> Duration {
        self.overlaps.get(&t).copied().unwrap_or(self.overlap)
    }
}

/// What a run knows of the invocation it runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunContext {
    pub run_id: RunId,
    /// When the invocation is cut off (Lambda's deadline); `None`: no limit.
    pub deadline: Option<DateTime<Utc>>,
}

impl RunContext {
    /// A run without a deadline.
    pub fn new(run_id: RunId) -> Self {
        Self {
            run_id,
            deadline: None,
        }
    }

    /// A run that must stop before `deadline`.
    pub fn until(run_id: RunId, deadline: DateTime<Utc>) -> Self {
        Self {
            run_id,
            deadline: Some(deadline),
        }
    }
}

/// Syncs one account once: as far as its deadline allows, the rest continued by a
/// queued continuation. Idempotent: running it again with the same Telnyx data writes
/// nothing new and sends nothing. A dry run reads everything, plans, and returns the
/// plan in [`RunSummary::plan`] without writing anything (and without the lease).
pub async fn sync_account(
    ports: &Ports,
    settings: &SyncSettings,
    request: &SyncRequest,
    ctx: RunContext,
) -> Result<RunSummary, SyncError> {
    let job = Job {
        ports,
        settings,
        request,
        ctx: &ctx,
        started: ports.clock.now(),
    };
    let account = job.account();
    request
        .validate(job.started)
        .map_err(SyncError::InvalidRequest)?;
    let onboarding = ports
        .store
        .onboarding(account)
        .await
        .map_err(SyncError::store(account, "reading the onboarding"))?
        .ok_or_else(|| SyncError::UnknownAccount(account.clone()))?;
    if request.dry_run {
        return run(&job, &onboarding, &mut LeaseKeeper::not_held(&job)).await;
    }
    let mut lease = match LeaseKeeper::take(&job).await? {
        Ok(lease) => lease,
        Err(held) => {
            tracing::info!(account_id = %account, held_by = %held.holder, until = %held.until, "another run holds the account's lease; this one does nothing");
            return Ok(RunSummary::skipped(account, &ctx.run_id, &held.holder));
        }
    };
    let mut result = run(&job, &onboarding, &mut lease).await;
    finish::finish(&job, lease, &mut result).await;
    result
}

/// The run itself, between taking and giving back the lease.
async fn run(
    job: &Job<'_>,
    onboarding: &Onboarding,
    lease: &mut LeaseKeeper,
) -> Result<RunSummary, SyncError> {
    let (ports, account) = (job.ports, job.account());
    let key = ports
        .secrets
        .account_key(account)
        .await
        .map_err(|source| SyncError::Secret {
            account: account.clone(),
            source,
        })?;
    let snapshot = match ports.telnyx.snapshot(&key).await {
        Ok(s) => s,
        Err(e) => {
            let e = SyncError::telnyx(account, "the configuration")(e);
            return Err(alerts::key_refused(job, e).await);
        }
    };
    let state = ports
        .store
        .load_state(onboarding)
        .await
        .map_err(SyncError::store(account, "loading the stored state"))?;
    let mut structure = Structure::new(onboarding, snapshot, state, job.settings, job.started);
    structure.settle(ports, !job.writes(), false).await?;

    let catalog = crate::usage::catalog::load(ports, &key, job.writes()).await;
    let run = Run {
        job: *job,
        key: &key,
        catalog: &catalog,
    };
    let mut walker = Walker::new(run, lease);
    let remaining = match walker.walk_all(&mut structure).await {
        Ok(remaining) => remaining,
        Err(e) => return Err(alerts::key_refused(job, e).await),
    };
    let mut billing = summary::Billing {
        not_auditable: catalog.not_auditable(),
        ..summary::Billing::default()
    };
    if remaining.is_empty() {
        billing.relinked = relink::relink(ports, &mut structure, account, !job.writes()).await?;
        // Every window is walked: a connection still without usage gets its kind's type.
        structure.settle(ports, !job.writes(), true).await?;
        billing.audit = audit::audit_and_heal(&mut walker, &mut structure).await;
    }
    let emails = if job.writes() {
        alerts::flush(job).await
    } else {
        FlushReport::default()
    };
    let outcome = if remaining.is_empty() {
        RunOutcome::Complete
    } else {
        RunOutcome::Partial {
            remaining: remaining.iter().map(walk::describe).collect(),
            continued: false,
        }
    };
    let ended = summary::Ended {
        outcome,
        remaining_types: remaining.iter().map(|c| c.record_type).collect(),
        emails,
    };
    Ok(RunSummary::of(
        job,
        &structure,
        &walker.tally,
        ended,
        billing,
    ))
}

#[cfg(test)]
mod billing_tests;
#[cfg(test)]
mod billing_world;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod usage_tests;
