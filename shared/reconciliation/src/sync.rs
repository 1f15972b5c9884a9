//! One account's sync run over the ports: onboarding → key → Telnyx snapshot and
//! detail records → stored state → [`plan()`](crate::plan::plan) → apply → records →
//! watermarks → outbox flush → run log.
//!
//! Like a kube-rs reconcile it never knows why it runs (schedule, SQS redelivery, a
//! concurrent duplicate, a manual invoke): every step is idempotent, so a second run
//! writes nothing new and sends nothing.
//!
//! Failure contract:
//! - Everything is *read* first (snapshot and every record type's window); a failure
//!   there (a revoked key, a malformed page) fails the run before any business write.
//!   Only a failed [`RunLog`] and, for a key refused by Telnyx, a throttled alert are
//!   written.
//! - Writes go in order: actions, then each record type's records followed by its
//!   watermark. A watermark moves only after that type's records are durably stored,
//!   so a run killed anywhere resumes on the next run (the overlap window re-reads
//!   the boundary; re-imported records are duplicates, not double charges).
//! - Memory: a run holds its records in memory (one window per type). The overlap and
//!   the schedule keep a normal window small; a large backfill should be split into
//!   several manual invokes.

use crate::domain::{
    DetailRecord, ManagedAccountId, MatchedBy, Onboarding, RecordType, RunId, StoredDetailRecord,
    TelnyxSnapshot,
};
use crate::error::{PortError, error_chain};
use crate::invocation::{InvalidInvocation, SyncRequest};
use crate::outbox::{FlushReport, flush_outbox};
use crate::plan::{LogEntry, Notification, Plan, PlanInput, PlanSettings, plan};
use crate::ports::{
    AlertKind, ApiKey, ApplyReport, Ports, RecordWriteReport, RunLog, RunOutcome, TimeWindow,
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Settings of the account-sync function (from its typed config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    /// Link template for new-customer emails (see [`PlanSettings::portal_url_template`]).
    pub portal_url_template: String,
    /// How far before the watermark each run re-reads, for records Telnyx publishes late.
    pub overlap: Duration,
    /// How far back the first run of an account reads (no watermark yet).
    pub initial_lookback: Duration,
    /// The operator's alert address(es) for key problems; empty = no alert email.
    pub alert_to: Vec<String>,
    /// At most one key-problem alert per account per this interval.
    pub alert_interval: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            portal_url_template: String::new(),
            overlap: Duration::hours(2),
            initial_lookback: Duration::days(1),
            alert_to: Vec::new(),
            alert_interval: crate::plan::RepeatEvery::DEFAULT.duration(),
        }
    }
}

/// What one run did: the invocation's response and its one summary log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub account: ManagedAccountId,
    pub run_id: RunId,
    pub dry_run: bool,
    /// The plan as a readable diff (always filled; it is the whole output of a dry run).
    pub plan: String,
    pub actions: usize,
    pub applied: ApplyReport,
    /// Records fetched per record type (filter name).
    pub fetched: BTreeMap<String, u64>,
    pub records: RecordWriteReport,
    pub unmatched_records: u64,
    pub emails: FlushReport,
    pub log: Vec<LogEntry>,
}

/// Why a run failed. Classified once by [`SyncError::is_transient`].
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The request itself is malformed (e.g. a backfill window that ends before it starts).
    #[error("invalid sync request: {0}")]
    InvalidRequest(#[source] InvalidInvocation),
    /// Nobody onboarded this account: nothing is read or written.
    #[error("managed account {0} is not onboarded; onboard it before syncing")]
    UnknownAccount(ManagedAccountId),
    #[error("reading the API key of account {account} failed")]
    Secret {
        account: ManagedAccountId,
        #[source]
        source: PortError,
    },
    #[error("reading {what} of account {account} from Telnyx failed")]
    Telnyx {
        account: ManagedAccountId,
        what: String,
        #[source]
        source: PortError,
    },
    #[error("{what} for account {account} failed")]
    Store {
        account: ManagedAccountId,
        what: String,
        #[source]
        source: PortError,
    },
}

impl SyncError {
    /// True when running the same request again can succeed (throttling, 5xx, timeouts);
    /// false for bad input, an unknown account, a revoked key or a missing secret.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::InvalidRequest(_) | SyncError::UnknownAccount(_) => false,
            SyncError::Secret { source, .. }
            | SyncError::Telnyx { source, .. }
            | SyncError::Store { source, .. } => source.is_transient(),
        }
    }
}

/// The window of one record type for this run, and whether reading it completely lets
/// the watermark move to its end.
fn window(
    request: &SyncRequest,
    watermark: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    settings: &SyncSettings,
) -> (TimeWindow, bool) {
    match request.backfill_from {
        Some(from) => {
            let to = request.backfill_to.unwrap_or(now);
            // Contiguous with what is stored: everything up to `to` is then stored.
            let contiguous = watermark.is_some_and(|w| from <= w);
            (TimeWindow { from, to }, contiguous)
        }
        None => {
            let from = match watermark {
                Some(w) => w - settings.overlap,
                None => now - settings.initial_lookback,
            };
            (TimeWindow { from, to: now }, true)
        }
    }
}

/// Syncs one account once. Idempotent: running it again with the same Telnyx data
/// writes nothing new and sends nothing. A dry run reads everything, plans, and
/// returns the plan in [`RunSummary::plan`] without writing anything.
pub async fn sync_account(
    ports: &Ports,
    settings: &SyncSettings,
    request: &SyncRequest,
    run_id: RunId,
) -> Result<RunSummary, SyncError> {
    let started_at = ports.clock.now();
    let account = request.managed_account_id.clone();
    request
        .validate(started_at)
        .map_err(SyncError::InvalidRequest)?;
    let store_err = |what: &str| {
        let account = account.clone();
        let what = what.to_owned();
        move |source| SyncError::Store {
            account,
            what,
            source,
        }
    };
    let onboarding = ports
        .store
        .onboarding(&account)
        .await
        .map_err(store_err("reading the onboarding"))?
        .ok_or_else(|| SyncError::UnknownAccount(account.clone()))?;

    let result = run(
        ports,
        settings,
        request,
        &onboarding,
        run_id.clone(),
        started_at,
    )
    .await;
    if request.dry_run {
        return result;
    }
    let (outcome, entries, counts) = match &result {
        Ok(summary) => (
            RunOutcome::Succeeded,
            summary.log.clone(),
            summary_counts(summary),
        ),
        Err(error) => (
            RunOutcome::Failed {
                error: error_chain(error),
            },
            Vec::new(),
            BTreeMap::new(),
        ),
    };
    let log = RunLog {
        account: account.clone(),
        run_id,
        started_at,
        finished_at: ports.clock.now(),
        counts,
        entries,
        outcome,
    };
    if let Err(error) = ports.store.put_run_log(&log).await {
        // The run's work is done (or failed for its own reason): report, don't mask it.
        tracing::warn!(account_id = %account, error = %error.chain(), "run log not written");
    }
    result
}

fn summary_counts(s: &RunSummary) -> BTreeMap<String, u64> {
    let mut c = BTreeMap::new();
    c.insert("actions".into(), s.actions as u64);
    c.insert("created".into(), s.applied.created);
    c.insert("updated".into(), s.applied.updated);
    c.insert("already_existed".into(), s.applied.already_existed);
    c.insert("records_fetched".into(), s.fetched.values().sum());
    c.insert("records_written".into(), s.records.written);
    c.insert("records_duplicate".into(), s.records.duplicates);
    c.insert("records_raw_trimmed".into(), s.records.raw_trimmed);
    c.insert("records_unmatched".into(), s.unmatched_records);
    c.insert("emails_sent".into(), s.emails.sent);
    c.insert("emails_failed".into(), s.emails.failed);
    c
}

async fn run(
    ports: &Ports,
    settings: &SyncSettings,
    request: &SyncRequest,
    onboarding: &Onboarding,
    run_id: RunId,
    now: DateTime<Utc>,
) -> Result<RunSummary, SyncError> {
    let account = &onboarding.account;
    let store_err = |what: &str| {
        let account = account.clone();
        let what = what.to_owned();
        move |source| SyncError::Store {
            account,
            what,
            source,
        }
    };
    let key = ports
        .secrets
        .account_key(account)
        .await
        .map_err(|source| SyncError::Secret {
            account: account.clone(),
            source,
        })?;

    // 1. Read everything first: a failure here writes no business state.
    let read = read_telnyx(ports, settings, request, account, &key, now).await;
    let (snapshot, fetched) = match read {
        Ok(x) => x,
        Err(error) => {
            if !request.dry_run {
                alert_key_problem(ports, settings, account, &error, now).await;
            }
            return Err(error);
        }
    };
    let state = ports
        .store
        .load_state(onboarding)
        .await
        .map_err(store_err("loading the stored state"))?;

    // 2. Plan.
    let records: Vec<DetailRecord> = fetched
        .iter()
        .flat_map(|f| f.records.iter().cloned())
        .collect();
    let settings_now = PlanSettings::at(settings.portal_url_template.clone(), now);
    let plan: Plan =
        plan(&PlanInput::new(onboarding, &snapshot, &state, settings_now).with_records(records));
    let mut summary = RunSummary {
        account: account.clone(),
        run_id,
        dry_run: request.dry_run,
        plan: plan.render_diff(),
        actions: plan.actions.len(),
        fetched: fetched
            .iter()
            .map(|f| (f.record_type.to_string(), f.records.len() as u64))
            .collect(),
        unmatched_records: plan
            .records
            .iter()
            .filter(|r| r.matched_by == MatchedBy::Unmatched)
            .count() as u64,
        log: plan.log.clone(),
        applied: ApplyReport::default(),
        records: RecordWriteReport::default(),
        emails: FlushReport::default(),
    };
    if request.dry_run {
        return Ok(summary);
    }

    // 3. Write: actions, then per type its records and only then its watermark.
    summary.applied = ports
        .store
        .apply(&plan.actions, now)
        .await
        .map_err(store_err("applying the plan"))?;
    for f in &fetched {
        let rows: Vec<StoredDetailRecord> = plan
            .records
            .iter()
            .filter(|r| r.record.record_type == f.record_type)
            .cloned()
            .collect();
        if !rows.is_empty() {
            let written = ports
                .store
                .put_detail_records(&rows)
                .await
                .map_err(store_err(&format!(
                    "storing {} detail records",
                    f.record_type
                )))?;
            summary.records.written += written.written;
            summary.records.duplicates += written.duplicates;
            summary.records.raw_trimmed += written.raw_trimmed;
            if written.raw_trimmed > 0 {
                summary
                    .log
                    .push(crate::plan::messages::detail_records_raw_trimmed(
                        f.record_type,
                        written.raw_trimmed,
                    ));
            }
        }
        if f.advance {
            ports
                .store
                .advance_watermark(account, f.record_type, f.window.to)
                .await
                .map_err(store_err(&format!(
                    "advancing the {} watermark",
                    f.record_type
                )))?;
        }
    }

    // 4. Emails: a failed send stays queued for the next run.
    summary.emails = match flush_outbox(&*ports.store, &*ports.mailer, &*ports.clock).await {
        Ok(r) => r,
        Err(error) => {
            tracing::warn!(account_id = %account, error = %error.chain(), "outbox flush failed; emails stay queued");
            FlushReport::default()
        }
    };
    tracing::info!(
        account_id = %account,
        run_id = %summary.run_id,
        actions = summary.actions,
        created = summary.applied.created,
        records_written = summary.records.written,
        records_duplicate = summary.records.duplicates,
        records_raw_trimmed = summary.records.raw_trimmed,
        records_unmatched = summary.unmatched_records,
        emails_sent = summary.emails.sent,
        "account synced"
    );
    Ok(summary)
}

struct Fetched {
    record_type: RecordType,
    window: TimeWindow,
    advance: bool,
    records: Vec<DetailRecord>,
}

async fn read_telnyx(
    ports: &Ports,
    settings: &SyncSettings,
    request: &SyncRequest,
    account: &ManagedAccountId,
    key: &ApiKey,
    now: DateTime<Utc>,
) -> Result<(TelnyxSnapshot, Vec<Fetched>), SyncError> {
    let telnyx_err = |what: String| {
        let account = account.clone();
        move |source| SyncError::Telnyx {
            account,
            what,
            source,
        }
    };
    let snapshot = ports
        .telnyx
        .snapshot(key)
        .await
        .map_err(telnyx_err("the configuration".into()))?;
    let mut fetched = Vec::new();
    for &record_type in RecordType::ALL {
        let watermark = ports
            .store
            .watermark(account, record_type)
            .await
            .map_err(|source| SyncError::Store {
                account: account.clone(),
                what: format!("reading the {record_type} watermark"),
                source,
            })?;
        let (window, advance) = window(request, watermark, now, settings);
        let what = || format!("{record_type} detail records");
        let mut pages = ports
            .telnyx
            .detail_records(key, record_type, window)
            .await
            .map_err(telnyx_err(what()))?;
        let mut records = Vec::new();
        while let Some(page) = pages.next_page().await.map_err(telnyx_err(what()))? {
            if page.is_empty() {
                break;
            }
            records.extend(page);
        }
        fetched.push(Fetched {
            record_type,
            window,
            advance,
            records,
        });
    }
    Ok((snapshot, fetched))
}

/// A key Telnyx refuses (permanent error) is reported to the operator, at most once per
/// account per alert interval. Best effort: the run fails for its own reason either way.
async fn alert_key_problem(
    ports: &Ports,
    settings: &SyncSettings,
    account: &ManagedAccountId,
    error: &SyncError,
    now: DateTime<Utc>,
) {
    let SyncError::Telnyx { source, .. } = error else {
        return;
    };
    // Only a refused key (401/403) is the key's problem; a rejected request is ours.
    if source.key_refusal().is_none() || settings.alert_to.is_empty() {
        return;
    }
    let alert = Notification::KeyProblem {
        to: settings.alert_to.clone(),
        account: account.clone(),
        problem: source.chain(),
        raised_at: now,
        repeat_every: crate::plan::RepeatEvery::of(settings.alert_interval),
    };
    // One atomic write: the interval's slot is taken only together with its email.
    match ports
        .store
        .admit_and_queue_alert(
            AlertKind::KeyProblem,
            account,
            &alert,
            now,
            settings.alert_interval,
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(account_id = %account, error = %e.chain(), "key-problem alert not admitted (nothing queued)");
            return;
        }
    }
    if let Err(e) = flush_outbox(&*ports.store, &*ports.mailer, &*ports.clock).await {
        tracing::warn!(account_id = %account, error = %e.chain(), "key-problem alert not sent yet");
    }
}

#[cfg(test)]
mod tests;
