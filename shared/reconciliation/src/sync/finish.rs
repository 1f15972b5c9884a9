//! Around a run: the account's lease (one worker at a time), and after it the run log
//! and, for a run stopped at its deadline, the continuation that carries it on without
//! waiting for the next tick.

use super::summary::RunSummary;
use super::windows;
use super::{RunContext, SyncError, SyncSettings};
use crate::domain::ManagedAccountId;
use crate::error::error_chain;
use crate::invocation::SyncRequest;
use crate::ports::{LeaseGrant, Ports, RunLog, RunOutcome};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// Takes the account's lease until the invocation's deadline (plus a little: a run
/// killed at its deadline frees the account soon after), or for the no-deadline lease.
pub(super) async fn take_lease(
    ports: &Ports,
    settings: &SyncSettings,
    account: &ManagedAccountId,
    ctx: &RunContext,
) -> Result<LeaseGrant, SyncError> {
    let now = ports.clock.now();
    let until = match ctx.deadline {
        Some(deadline) => deadline + Duration::seconds(30),
        None => now + settings.lease_without_deadline,
    };
    ports
        .store
        .acquire_lease(account, &ctx.run_id, now, until)
        .await
        .map_err(SyncError::store(account, "taking the account's lease"))
}

/// Gives the lease back, queues the continuation of a partial run, writes the run log.
/// Best effort: a failure here is logged; the run's own result stands.
pub(super) async fn finish(
    ports: &Ports,
    settings: &SyncSettings,
    request: &SyncRequest,
    ctx: &RunContext,
    started_at: DateTime<Utc>,
    result: &mut Result<RunSummary, SyncError>,
) {
    let account = &request.managed_account_id;
    // Released before the continuation is queued, so the continuation finds it free.
    if let Err(e) = ports.store.release_lease(account, &ctx.run_id).await {
        tracing::warn!(account_id = %account, error = %e.chain(), "lease not released; it expires on its own");
    }
    if let Ok(summary) = result.as_mut() {
        if !summary.remaining_types.is_empty() {
            let continued = continue_later(ports, settings, request, started_at, summary).await;
            if let RunOutcome::Partial { continued: c, .. } = &mut summary.outcome {
                *c = continued;
            }
        }
    }
    let log = run_log(account, ctx, started_at, ports.clock.now(), result);
    if let Err(error) = ports.store.put_run_log(&log).await {
        // The run's work is done (or failed for its own reason): report, don't mask it.
        tracing::warn!(account_id = %account, error = %error.chain(), "run log not written");
    }
}

/// Queues the same request for the types left; true when queued.
async fn continue_later(
    ports: &Ports,
    settings: &SyncSettings,
    request: &SyncRequest,
    started_at: DateTime<Utc>,
    summary: &RunSummary,
) -> bool {
    let mut next = request.continued(
        windows::backfill_end(request, started_at),
        summary.remaining_types.clone(),
    );
    next.usage.clone_from(&request.usage);
    let delay = settings.continuation_delay;
    match ports.dispatcher.dispatch_later(&next, delay).await {
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
    account: &ManagedAccountId,
    ctx: &RunContext,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    result: &Result<RunSummary, SyncError>,
) -> RunLog {
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
        run_id: ctx.run_id.clone(),
        started_at,
        finished_at,
        counts,
        entries,
        outcome,
    }
}
