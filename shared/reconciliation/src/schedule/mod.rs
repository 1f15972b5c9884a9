//! The scheduler's job: list the managed accounts with the master key, alert on the
//! ones nobody has onboarded (one digest email per tick naming the new ones, each
//! account at most once per alert interval), and fan out one sync request per onboarded
//! account that Telnyx still lists — except an account whose previous sync still holds
//! its lease (a long backfill carries itself on with continuations; piling more
//! messages on it would only queue no-op runs). Offboarded accounts are neither synced
//! nor reported; onboarded accounts the manager key no longer lists (cancelled) are not
//! synced and are named in the tick's log, offboarding suggested.
//!
//! Each request carries what Telnyx's usage report says of its account (one report per
//! record type for every managed account at once, with the manager key): the sync does
//! not request the record types that had no usage. A report that cannot be read only
//! costs the syncs their own check.
//!
//! With the monthly automatic close on ([`close`]), a tick then closes each account's
//! previous month that is settled and clean, and emails the operator what it closed and
//! what waits.
//!
//! Safe to run twice or concurrently: the alert throttle and the alert's outbox entry
//! are one conditional write, the outbox dedupes by key, a duplicate sync request only
//! causes a no-op sync, and a month closes once (a close holds the account's lease and
//! commits conditionally).

pub mod close;
#[cfg(test)]
mod close_tests;
mod tick;
#[cfg(test)]
mod tick_tests;

pub use tick::{run_tick, scheduler_account};

use crate::domain::{ManagedAccount, ManagedAccountId, Onboarding, RecordType};
use crate::error::PortError;
use crate::invocation::{SyncRequest, UsageHint};
use crate::outbox::{FlushReport, flush_outbox};
use crate::plan::{LogCode, LogEntry, UnknownAccount};
use crate::plan::{Notification, RepeatEvery};
use crate::ports::{ApiKey, EmailKind, Ports, TimeWindow};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Settings of the scheduler (from its typed config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSettings {
    /// The operator's alert address(es).
    pub alert_to: Vec<String>,
    /// At most one unknown-account alert per account, and one manager-key alert, per
    /// this interval.
    pub alert_interval: Duration,
    /// How far back the usage report is read for the syncs' hints (`None`: no hints).
    pub usage_lookback: Option<Duration>,
    /// The monthly automatic close's time budget per tick (`None`: off, the default).
    pub auto_close: Option<Duration>,
}

impl ScheduleSettings {
    /// Alerts to `alert_to`, at the default interval; hints from the last day's usage.
    pub fn new(alert_to: Vec<String>) -> Self {
        Self {
            alert_to,
            alert_interval: RepeatEvery::DEFAULT.duration(),
            usage_lookback: Some(Duration::days(1)),
            auto_close: None,
        }
    }
}

/// What one scheduler run did; the invocation's response and its summary log line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleReport {
    pub accounts_listed: usize,
    /// Onboarded accounts a sync request was queued for.
    pub dispatched: Vec<ManagedAccountId>,
    /// Listed accounts nobody has onboarded (none of their CDR is imported).
    pub unknown: Vec<ManagedAccountId>,
    /// Unknown accounts alerted this run (the others were alerted within the interval).
    pub alerted: Vec<ManagedAccountId>,
    /// Onboarded accounts missing from the list (cancelled, or another manager's): not
    /// synced (the tick log names them and suggests offboarding).
    pub onboarded_not_listed: Vec<ManagedAccountId>,
    /// Listed accounts the operator offboarded: neither synced nor reported.
    #[serde(default)]
    pub offboarded: Vec<ManagedAccountId>,
    /// Onboarded accounts whose previous sync still holds the lease: not queued again.
    #[serde(default)]
    pub busy: Vec<ManagedAccountId>,
    /// Record types whose usage report was read for the hints.
    #[serde(default)]
    pub usage_checked: usize,
    /// Requests the queue refused (the run fails so the schedule retries).
    pub dispatch_failures: Vec<ManagedAccountId>,
    /// Accounts whose previous month the automatic close closed in this tick.
    #[serde(default)]
    pub months_closed: Vec<ManagedAccountId>,
    /// Accounts whose previous month stays open (the email says why).
    #[serde(default)]
    pub months_waiting: Vec<ManagedAccountId>,
    pub emails: FlushReport,
}

/// Why a scheduler run failed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("reading the master key failed")]
    MasterKey(#[source] PortError),
    #[error("listing managed accounts with the master key failed")]
    ListAccounts(#[source] PortError),
    #[error("reading onboardings, offboardings or the alert throttle failed")]
    Store(#[source] PortError),
    #[error("queueing sync requests failed")]
    Dispatch(#[source] PortError),
    #[error("{} sync request(s) could not be queued: {}", .0.len(), join(.0))]
    PartialDispatch(Vec<ManagedAccountId>),
}

fn join(ids: &[ManagedAccountId]) -> String {
    ids.iter()
        .map(ManagedAccountId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

impl ScheduleError {
    /// True when running the schedule again can succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            ScheduleError::MasterKey(e)
            | ScheduleError::ListAccounts(e)
            | ScheduleError::Store(e)
            | ScheduleError::Dispatch(e) => e.is_transient(),
            ScheduleError::PartialDispatch(_) => true,
        }
    }

    /// True when the manager key is missing, unreadable, or refused by Telnyx.
    pub fn is_key_problem(&self) -> bool {
        match self {
            ScheduleError::MasterKey(_) => true,
            ScheduleError::ListAccounts(e) => e.key_refusal().is_some(),
            _ => false,
        }
    }
}

/// Runs the schedule once. Returns an error only when nothing useful could be done or
/// some sync requests could not be queued (so the schedule's retry queues them).
pub async fn run_schedule(
    ports: &Ports,
    settings: &ScheduleSettings,
) -> Result<ScheduleReport, ScheduleError> {
    let started = ports.clock.now();
    let master = ports
        .secrets
        .master_key()
        .await
        .map_err(ScheduleError::MasterKey)?;
    let accounts = ports
        .telnyx
        .managed_accounts(&master, false)
        .await
        .map_err(ScheduleError::ListAccounts)?;
    let onboardings: Vec<Onboarding> = ports
        .store
        .onboardings()
        .await
        .map_err(ScheduleError::Store)?;
    let offboarded: BTreeSet<ManagedAccountId> = ports
        .store
        .offboardings()
        .await
        .map_err(ScheduleError::Store)?
        .into_iter()
        .map(|o| o.onboarding.account)
        .collect();
    let mut report = sort_accounts(&accounts, &onboardings, &offboarded);
    if !report.onboarded_not_listed.is_empty() {
        tracing::warn!(accounts = %join(&report.onboarded_not_listed), "onboarded accounts the manager key no longer lists (cancelled?) are not synced; offboard them (billing-admin offboard --account <id>) if they are gone for good");
    }
    let unknown: Vec<&ManagedAccount> = accounts
        .iter()
        .filter(|a| report.unknown.contains(&a.id))
        .collect();
    report.alerted = alert_unknown(ports, settings, &unknown).await?;
    let listed: Vec<ManagedAccountId> = onboardings
        .iter()
        .map(|o| o.account.clone())
        .filter(|a| !report.onboarded_not_listed.contains(a))
        .collect();
    let busy: BTreeSet<ManagedAccountId> = ports
        .store
        .active_leases(&listed, ports.clock.now())
        .await
        .map_err(ScheduleError::Store)?
        .into_iter()
        .map(|l| l.account)
        .collect();
    report.busy = listed
        .iter()
        .filter(|a| busy.contains(a))
        .cloned()
        .collect();
    let idle: Vec<ManagedAccountId> = listed.into_iter().filter(|a| !busy.contains(a)).collect();
    let hints = usage_hints(ports, settings, &master).await;
    report.usage_checked = hints.checked.len();
    dispatch(ports, &idle, &hints, &mut report).await?;
    close::close_previous_month(ports, settings, (&onboardings, &busy), started, &mut report).await;

    // Alerts go out even when a dispatch failed; a flush error only delays them.
    match flush_outbox(&*ports.store, &*ports.mailer, &*ports.clock).await {
        Ok(emails) => report.emails = emails,
        Err(error) => {
            tracing::warn!(error = %error.chain(), "outbox flush failed; alerts stay queued")
        }
    }
    if !report.dispatch_failures.is_empty() {
        return Err(ScheduleError::PartialDispatch(report.dispatch_failures));
    }
    Ok(report)
}

/// The tick's accounts by what happens to them: listed and nobody's (`unknown`),
/// listed and offboarded (skipped), onboarded and not listed (not synced).
fn sort_accounts(
    accounts: &[ManagedAccount],
    onboardings: &[Onboarding],
    offboarded: &BTreeSet<ManagedAccountId>,
) -> ScheduleReport {
    let onboarded: BTreeSet<&ManagedAccountId> = onboardings.iter().map(|o| &o.account).collect();
    let listed: BTreeSet<&ManagedAccountId> = accounts.iter().map(|a| &a.id).collect();
    let (offboarded, unknown): (Vec<ManagedAccountId>, Vec<ManagedAccountId>) = accounts
        .iter()
        .filter(|a| !onboarded.contains(&a.id))
        .map(|a| a.id.clone())
        .partition(|id| offboarded.contains(id));
    ScheduleReport {
        accounts_listed: accounts.len(),
        unknown,
        offboarded,
        onboarded_not_listed: onboardings
            .iter()
            .filter(|o| !listed.contains(&o.account))
            .map(|o| o.account.clone())
            .collect(),
        ..Default::default()
    }
}

/// The tick log's entry naming the onboarded accounts Telnyx no longer lists, if any.
pub fn not_listed_entry(report: &ScheduleReport) -> Option<LogEntry> {
    (!report.onboarded_not_listed.is_empty()).then(|| {
        LogEntry::new(
            LogCode::AccountsNotListed,
            format!(
                "{} onboarded account(s) are not listed by the manager key (cancelled, or moved to another manager) and were not synced: {}. If they are gone for good, offboard them (billing-admin offboard --account <id>: every stored record is kept); onboarding again undoes it.",
                report.onboarded_not_listed.len(),
                join(&report.onboarded_not_listed)
            ),
        )
    })
}

/// Queues one digest naming the unknown accounts the throttle admits (each at most
/// once per interval); returns them.
async fn alert_unknown(
    ports: &Ports,
    settings: &ScheduleSettings,
    unknown: &[&ManagedAccount],
) -> Result<Vec<ManagedAccountId>, ScheduleError> {
    if unknown.is_empty() || settings.alert_to.is_empty() {
        return Ok(Vec::new());
    }
    let now = ports.clock.now();
    let ids: Vec<ManagedAccountId> = unknown.iter().map(|a| a.id.clone()).collect();
    let digest = |admitted: &[ManagedAccountId]| Notification::UnknownAccounts {
        to: settings.alert_to.clone(),
        accounts: unknown
            .iter()
            .filter(|a| admitted.contains(&a.id))
            .map(|a| UnknownAccount {
                account: a.id.clone(),
                organization_name: a.organization_name.clone(),
                email: a.email.clone(),
                created_at: a.created_at,
            })
            .collect(),
        raised_at: now,
        repeat_every: RepeatEvery::of(settings.alert_interval),
    };
    let admitted = ports
        .store
        .admit_and_queue_digest(
            EmailKind::UnknownAccounts,
            &ids,
            &digest,
            now,
            settings.alert_interval,
        )
        .await
        .map_err(ScheduleError::Store)?;
    tracing::warn!(
        unknown = ids.len(),
        alerted = admitted.len(),
        accounts = %join(&ids),
        "managed accounts are not onboarded; their CDR is not imported"
    );
    Ok(admitted)
}

/// What the usage report said of every managed account.
#[derive(Debug, Default)]
struct Hints {
    window: Option<TimeWindow>,
    /// The types whose report was read.
    shown: Vec<RecordType>,
    /// Of those, the types whose count metric is confirmed.
    checked: Vec<RecordType>,
    with_usage: BTreeMap<ManagedAccountId, Vec<RecordType>>,
}

impl Hints {
    fn for_account(&self, account: &ManagedAccountId) -> Option<UsageHint> {
        Some(UsageHint {
            window: self.window?,
            shown: self.shown.clone(),
            checked: self.checked.clone(),
            with_usage: self.with_usage.get(account).cloned().unwrap_or_default(),
        })
    }
}

/// One usage report per record type with a product, for every managed account (the
/// manager key, [`crate::usage::evidence::across_accounts`]): each sync learns which
/// types show usage without a report of its own. Only a type whose count metric is
/// confirmed is `checked` (its report of none may skip it); a type whose report fails
/// is left out (each sync judges it itself). The report reaches back `usage_lookback`,
/// and at least to the start of the month (where a type never walked opens its window).
async fn usage_hints(ports: &Ports, settings: &ScheduleSettings, master: &ApiKey) -> Hints {
    let Some(lookback) = settings.usage_lookback else {
        return Hints::default();
    };
    let now = ports.clock.now();
    let window = TimeWindow {
        from: (now - lookback).min(crate::billing::month_of(now)),
        to: now,
    };
    let mut hints = Hints {
        window: Some(window),
        ..Hints::default()
    };
    let catalog = crate::usage::catalog::load(ports, master, true).await;
    for &t in RecordType::ALL {
        match crate::usage::evidence::across_accounts(ports, master, &catalog, t, window).await {
            Ok(Some(seen)) => {
                hints.shown.push(t);
                if seen.trusted {
                    hints.checked.push(t);
                }
                for account in seen.with_usage.into_keys() {
                    hints.with_usage.entry(account).or_default().push(t);
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::info!(record_type = %t, error = %e, "usage report unreadable; the syncs check this type themselves")
            }
        }
    }
    hints
}

/// One sync request per account; the refused ones are reported.
async fn dispatch(
    ports: &Ports,
    accounts: &[ManagedAccountId],
    hints: &Hints,
    report: &mut ScheduleReport,
) -> Result<(), ScheduleError> {
    let requests: Vec<SyncRequest> = accounts
        .iter()
        .map(|a| SyncRequest {
            usage: hints.for_account(a),
            ..SyncRequest::for_account(a.clone())
        })
        .collect();
    let refused = ports
        .dispatcher
        .dispatch(&requests)
        .await
        .map_err(ScheduleError::Dispatch)?;
    report.dispatch_failures = refused
        .iter()
        .map(|r| r.managed_account_id.clone())
        .collect();
    report.dispatched = requests
        .iter()
        .map(|r| r.managed_account_id.clone())
        .filter(|id| !report.dispatch_failures.contains(id))
        .collect();
    Ok(())
}
