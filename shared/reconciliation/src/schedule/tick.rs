//! One scheduler tick as the operator sees it afterwards: [`run_schedule`], then a
//! stored run log (under [`scheduler_account`], readable like any account's runs), and,
//! when the manager key is missing, unreadable or refused, a throttled alert to the
//! operator: without that key no account is listed or queued, so nothing is synced.
//!
//! Both are best effort: a store or mail failure is logged and the tick's own result
//! stands (a failed tick still fails, so the schedule's retry and alarms see it).

use super::{ScheduleError, ScheduleReport, ScheduleSettings, not_listed_entry, run_schedule};
use crate::domain::{ManagedAccountId, RunId};
use crate::error::error_chain;
use crate::outbox::flush_outbox;
use crate::plan::{Notification, RepeatEvery};
use crate::ports::{EmailKind, Ports, RunLog, RunOutcome};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The partition the scheduler's run logs (and its manager-key alert slot) live in:
/// `scheduler` is not the form of a Telnyx managed account id (a UUID), so it names no
/// account.
pub fn scheduler_account() -> ManagedAccountId {
    ManagedAccountId::new("scheduler")
}

/// Runs one tick (`run_id`: the invocation's request id), stores its run log, and
/// alerts the operator when the manager key is the problem.
pub async fn run_tick(
    ports: &Ports,
    settings: &ScheduleSettings,
    run_id: RunId,
) -> Result<ScheduleReport, ScheduleError> {
    let started_at = ports.clock.now();
    let result = run_schedule(ports, settings).await;
    if let Err(error) = &result {
        if error.is_key_problem() {
            alert_manager_key(ports, settings, error, started_at).await;
        }
    }
    let log = tick_log(run_id, started_at, ports.clock.now(), &result);
    if let Err(e) = ports.store.put_run_log(&log).await {
        tracing::warn!(error = %e.chain(), "the tick's run log was not stored");
    }
    result
}

/// The tick's figures as run-log counts.
fn counts(report: &ScheduleReport) -> BTreeMap<String, u64> {
    let n = |v: usize| v as u64;
    BTreeMap::from([
        ("accounts_listed".to_owned(), n(report.accounts_listed)),
        ("dispatched".to_owned(), n(report.dispatched.len())),
        ("busy".to_owned(), n(report.busy.len())),
        ("unknown".to_owned(), n(report.unknown.len())),
        ("alerted".to_owned(), n(report.alerted.len())),
        (
            "onboarded_not_listed".to_owned(),
            n(report.onboarded_not_listed.len()),
        ),
        ("offboarded".to_owned(), n(report.offboarded.len())),
        ("usage_reports_read".to_owned(), n(report.usage_checked)),
        ("emails_sent".to_owned(), report.emails.sent),
        ("months_closed".to_owned(), n(report.months_closed.len())),
        ("months_waiting".to_owned(), n(report.months_waiting.len())),
    ])
}

fn tick_log(
    run_id: RunId,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    result: &Result<ScheduleReport, ScheduleError>,
) -> RunLog {
    let (outcome, counts, entries) = match result {
        Ok(report) => (
            RunOutcome::Complete,
            counts(report),
            not_listed_entry(report).into_iter().collect(),
        ),
        Err(error) => (
            RunOutcome::Failed {
                error: error_chain(error),
            },
            BTreeMap::new(),
            Vec::new(),
        ),
    };
    RunLog {
        account: scheduler_account(),
        run_id,
        started_at,
        finished_at,
        counts,
        entries,
        outcome,
    }
}

/// Queues (and sends) the manager-key alert if the throttle admits it.
async fn alert_manager_key(
    ports: &Ports,
    settings: &ScheduleSettings,
    error: &ScheduleError,
    now: DateTime<Utc>,
) {
    if settings.alert_to.is_empty() {
        return;
    }
    let alert = Notification::ManagerKeyProblem {
        to: settings.alert_to.clone(),
        problem: error_chain(error),
        raised_at: now,
        repeat_every: RepeatEvery::of(settings.alert_interval),
    };
    let admitted = ports
        .store
        .admit_and_queue_alert(
            EmailKind::ManagerKeyProblem,
            &scheduler_account(),
            &alert,
            now,
            settings.alert_interval,
        )
        .await;
    let alerted = matches!(admitted, Ok(true));
    match admitted {
        Ok(true) => {
            if let Err(e) = flush_outbox(&*ports.store, &*ports.mailer, &*ports.clock).await {
                tracing::warn!(error = %e.chain(), "outbox flush failed; the manager-key alert stays queued");
            }
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = %e.chain(), "manager-key alert not admitted (nothing queued)")
        }
    }
    tracing::error!(
        alerted,
        "the manager key cannot be used; no account is listed or synced"
    );
}
