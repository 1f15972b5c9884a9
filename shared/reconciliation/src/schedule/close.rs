//! The monthly automatic close (optional, off by default; docs/audit.md "Closing a
//! month"): after queueing the syncs, a tick closes the previous month of each onboarded
//! account once every day of it is settled and clean — exactly what `billing-admin
//! close` without `--accept-findings` would do — and emails the operator what it closed
//! and what waits, with why.
//!
//! - Never decides for the operator: a month with findings, unsettled days or types not
//!   walked waits (nothing is accepted automatically), and a month the operator
//!   reopened is never closed again automatically.
//! - Bounded: closes start only while the tick's budget lasts; the accounts not reached
//!   wait for the next tick. A close in progress is not interrupted (it reads the
//!   month's records once: README "Month end" gives its rate).
//! - Quiet when there is nothing new: an email goes out when the tick closed a month;
//!   one that only lists waiting accounts repeats at most once per alert interval.

use super::{ScheduleReport, ScheduleSettings, scheduler_account};
use crate::billing::close::readiness::blocker_text;
use crate::billing::close::{self, CloseOutcome, CloseRequest};
use crate::domain::{BillingMonth, ManagedAccountId, Onboarding};
use crate::plan::notification::MonthOfAccount;
use crate::plan::{EmailKind, Notification, RepeatEvery};
use crate::ports::{MonthState, MonthStatus, Ports};
use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeSet;

/// How many accounts' month states are read at once.
const READS_AT_ONCE: usize = 16;

/// Who the automatic close is, in the month's log.
pub const CLOSED_BY: &str = "scheduler (automatic monthly close)";

/// Why an account a sync holds waits.
const HELD_BY_A_SYNC: &str = "a sync holds the account; tried again next tick";

/// An account's line in the email.
fn line(onboarding: &Onboarding, details: Vec<String>) -> MonthOfAccount {
    MonthOfAccount {
        account: onboarding.account.clone(),
        organization_name: onboarding.organization_name.clone(),
        details,
    }
}

/// What the automatic close did in one tick.
#[derive(Debug, Default)]
struct Outcome {
    closed: Vec<MonthOfAccount>,
    waiting: Vec<MonthOfAccount>,
}

/// Closes the previous month of every account in `onboardings` that is ready (see the
/// module doc) while `budget` lasts from `started`; records what it did in `report`
/// and queues the operator's email. Accounts in `busy` are not tried (a sync holds
/// them). A store failure is logged and ends the attempt (the tick's result stands).
pub async fn close_previous_month(
    ports: &Ports,
    settings: &ScheduleSettings,
    (onboardings, busy): (&[Onboarding], &BTreeSet<ManagedAccountId>),
    started: DateTime<Utc>,
    report: &mut ScheduleReport,
) {
    let Some(budget) = settings.auto_close else {
        return;
    };
    let month = BillingMonth::of(started).prev();
    let open = match open_months(ports, onboardings, month).await {
        Ok(open) => open,
        Err(e) => {
            tracing::warn!(%month, error = %e.chain(), "automatic close skipped: the month states could not be read");
            return;
        }
    };
    let mut outcome = Outcome::default();
    for (onboarding, state) in open {
        let waits = |why: String| line(onboarding, vec![why]);
        if let Some(at) = state.and_then(|s| s.reopened_at) {
            outcome.waiting.push(waits(format!(
                "reopened by the operator on {}: closed by hand only",
                at.format("%Y-%m-%d %H:%M UTC")
            )));
        } else if busy.contains(&onboarding.account) {
            outcome.waiting.push(waits(HELD_BY_A_SYNC.into()));
        } else if ports.clock.now() - started >= budget {
            outcome.waiting.push(waits(
                "not reached within this tick's time budget; tried again next tick".into(),
            ));
        } else {
            close_one(ports, onboarding, month, &mut outcome).await;
        }
    }
    report.months_closed = outcome.closed.iter().map(|a| a.account.clone()).collect();
    report.months_waiting = outcome.waiting.iter().map(|a| a.account.clone()).collect();
    tracing::info!(%month, closed = outcome.closed.len(), waiting = outcome.waiting.len(), "automatic monthly close");
    email(ports, settings, month, outcome).await;
}

/// The onboardings whose `month` is not closed, with its state when it ever was.
async fn open_months<'a>(
    ports: &Ports,
    onboardings: &'a [Onboarding],
    month: BillingMonth,
) -> crate::ports::PortResult<Vec<(&'a Onboarding, Option<MonthState>)>> {
    let store = &ports.store;
    let mut read: Vec<(&Onboarding, Option<MonthState>)> =
        futures::stream::iter(onboardings.iter().map(|o| async move {
            let states = store.month_states(&o.account).await?;
            Ok::<_, crate::error::PortError>((o, states.into_iter().find(|s| s.month == month)))
        }))
        .buffered(READS_AT_ONCE)
        .try_collect()
        .await?;
    read.retain(|(_, s)| s.as_ref().is_none_or(|s| s.status != MonthStatus::Closed));
    read.sort_by(|a, b| a.0.account.cmp(&b.0.account));
    Ok(read)
}

/// Tries one account's close; files it as closed or waiting.
async fn close_one(
    ports: &Ports,
    onboarding: &Onboarding,
    month: BillingMonth,
    outcome: &mut Outcome,
) {
    let request = CloseRequest {
        month,
        accept_findings: false,
        note: Some("every day settled and clean".into()),
        by: CLOSED_BY.into(),
        now: ports.clock.now(),
    };
    let line = |details: Vec<String>| line(onboarding, details);
    match close::close(&*ports.store, onboarding, &request).await {
        Ok(CloseOutcome::Closed { state, .. }) => {
            let lines: u32 = state.lines.values().sum();
            outcome.closed.push(line(vec![format!(
                "version {}, {lines} invoice line(s)",
                state.version
            )]));
        }
        Ok(CloseOutcome::Refused(ready)) => {
            outcome
                .waiting
                .push(line(ready.blockers.iter().map(blocker_text).collect()));
        }
        Ok(CloseOutcome::AlreadyClosed(_)) => {}
        Ok(CloseOutcome::Busy(_)) => outcome.waiting.push(line(vec![HELD_BY_A_SYNC.into()])),
        Err(e) => {
            tracing::warn!(account_id = %onboarding.account, %month, error = %e.chain(), "automatic close failed; tried again next tick");
            outcome.waiting.push(line(vec![format!(
                "the close failed ({}); tried again next tick",
                e.chain()
            )]));
        }
    }
}

/// Queues (and leaves to the tick's flush) the operator's email: always when the tick
/// closed a month, at most once per alert interval when accounts only wait.
async fn email(ports: &Ports, settings: &ScheduleSettings, month: BillingMonth, o: Outcome) {
    if settings.alert_to.is_empty() || (o.closed.is_empty() && o.waiting.is_empty()) {
        return;
    }
    let now = ports.clock.now();
    let interval = if o.closed.is_empty() {
        settings.alert_interval
    } else {
        Duration::zero()
    };
    let email = Notification::MonthsClosed {
        to: settings.alert_to.clone(),
        month,
        closed: o.closed,
        waiting: o.waiting,
        raised_at: now,
        repeat_every: RepeatEvery::of(settings.alert_interval),
    };
    if let Err(e) = ports
        .store
        .admit_and_queue_alert(
            EmailKind::MonthsClosed,
            &scheduler_account(),
            &email,
            now,
            interval,
        )
        .await
    {
        tracing::warn!(error = %e.chain(), "the monthly close email was not queued");
    }
}
