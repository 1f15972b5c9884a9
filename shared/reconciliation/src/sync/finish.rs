//! After a run: the account's lease given back, the continuation that carries a run
//! stopped at its deadline on without waiting for the next tick, and the run log.

use super::SyncError;
use super::lease::LeaseKeeper;
use super::run::Job;
use super::summary::RunSummary;
use super::windows;
use crate::domain::ManagedAccountId;
use crate::error::error_chain;
use crate::ports::{RunLog, RunOutcome};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Gives the lease back, queues the continuation of a partial run, writes the run log.
/// Best effort: a failure here is logged; the run's own result stands.
pub(super) async fn finish(
    job: &Job<'_>,
    lease: LeaseKeeper,
    result: &mut Result<RunSummary, SyncError>,
) {
    // Released before the continuation is queued, so the continuation finds it free.
    lease.release(job).await;
    if let Ok(summary) = result.as_mut() {
        if !summary.remaining_types.is_empty() {
            let continued = continue_later(job, summary).await;
            if let RunOutcome::Partial { continued: c, .. } = &mut summary.outcome {
                *c = continued;
            }
        }
    }
    let log = run_log(job, job.ports.clock.now(), result);
    if let Err(error) = job.ports.store.put_run_log(&log).await {
        // The run's work is done (or failed for its own reason): report, don't mask it.
        tracing::warn!(account_id = %job.account(), error = %error.chain(), "run log not written");
    }
}

/// Queues the same request for the types left; true when queued.
async fn continue_later(job: &Job<'_>, summary: &RunSummary) -> bool {
    let request = job.request;
    let mut next = request.continued(
        windows::backfill_end(request, job.started),
        summary.remaining_types.clone(),
    );
    next.usage.clone_from(&request.usage);
    let delay = job.settings.continuation_delay;
    match job.ports.dispatcher.dispatch_later(&next, delay).await {
        Ok(()) => {
            tracing::info!(account_id = %request.managed_account_id, continuation = next.continuation, remaining = summary.remaining_types.len(), "deadline near: continuation queued");
            true
        }
        Err(e) => {
            tracing::warn!(account_id = %request.managed_account_id, error = %e.chain(), "continuation not queued; the next scheduled run carries on from the checkpoint");
            false
        }
    }
}

fn run_log(
    job: &Job<'_>,
    finished_at: DateTime<Utc>,
    result: &Result<RunSummary, SyncError>,
) -> RunLog {
    let account: &ManagedAccountId = job.account();
    let (outcome, entries, counts) = match result {
        Ok(summary) => (
            summary.outcome.clone(),
            summary.log.clone(),
            summary.counts(),
        ),
        Err(error) => (
            RunOutcome::Failed {
                error: error_chain(error),
            },
            Vec::new(),
            BTreeMap::new(),
        ),
    };
    RunLog {
        account: account.clone(),
        run_id: job.ctx.run_id.clone(),
        started_at: job.started,
        finished_at,
        counts,
        entries,
        outcome,
    }
}
