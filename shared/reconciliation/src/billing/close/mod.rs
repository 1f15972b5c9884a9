//! Closing a billing month (docs/audit.md "Closing a month"): per account, a month is
//! open, then closed once every day of it is settled and clean (or the operator
//! accepted what is not). Closing freezes both invoice levels as immutable lines with a
//! version and the close time; what changes in the month afterwards (a late record, a
//! re-attribution) is an adjustment billed in the next open month, naming the month it
//! belongs to ([`adjust`]). Reopening is an explicit, logged operator action.
//!
//! - [`readiness`]: what stands in the way of a close (named by kind, type and days).
//! - [`lines`]: a month's lines as its records add up now, with every id.
//! - [`adjust`]: adjustments, derived and exactly once.
//!
//! A close holds the account's lease (one worker per account), so no sync writes the
//! account's records while it reads them; the change counter it saw is kept, so
//! anything it could not see is an adjustment later.

pub mod adjust;
pub mod lines;
pub mod readiness;

use crate::billing::rollup::Level;
use crate::domain::{BillingMonth, ManagedAccountId, Onboarding, RunId};
use crate::ports::{
    InvoiceLine, Lease, LeaseGrant, LineKind, MonthEvent, MonthState, MonthStatus, PortResult,
    Store,
};
use chrono::{DateTime, Duration, Utc};
use readiness::Readiness;
use std::collections::BTreeMap;

/// How long a close holds the account's lease at most.
const CLOSE_LEASE: i64 = 15;

/// An operator's (or the scheduler's) request to close a month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRequest {
    pub month: BillingMonth,
    /// Close although days are not settled and clean: the blockers are recorded as
    /// accepted.
    pub accept_findings: bool,
    pub note: Option<String>,
    /// Who closes (logged).
    pub by: String,
    pub now: DateTime<Utc>,
}

/// What a close did.
#[derive(Debug, Clone, PartialEq)]
pub enum CloseOutcome {
    /// Closed now: its state, and the adjustments of earlier months it froze.
    Closed {
        state: MonthState,
        adjustments: Vec<InvoiceLine>,
    },
    /// Not closed: what stands in the way (nothing written).
    Refused(Readiness),
    /// It was closed already (nothing written).
    AlreadyClosed(MonthState),
    /// A sync run (or another close) holds the account: try again.
    Busy(Lease),
}

/// Closes `request.month` of `onboarding`'s account (see the module doc).
pub async fn close(
    store: &dyn Store,
    onboarding: &Onboarding,
    request: &CloseRequest,
) -> PortResult<CloseOutcome> {
    let account = &onboarding.account;
    let months = store.month_states(account).await?;
    let previous = months.iter().find(|s| s.month == request.month);
    if let Some(state) = previous.filter(|s| s.status == MonthStatus::Closed) {
        return Ok(CloseOutcome::AlreadyClosed(state.clone()));
    }
    let ready = readiness::readiness(store, account, request.month, request.now).await?;
    if !ready.ready() && !request.accept_findings {
        return Ok(CloseOutcome::Refused(ready));
    }
    let holder = RunId::new(format!(
        "close-{}-{}",
        request.month,
        request.now.timestamp_millis()
    ));
    let until = request.now + Duration::minutes(CLOSE_LEASE);
    if let LeaseGrant::HeldBy(lease) = store
        .acquire_lease(account, &holder, request.now, until)
        .await?
    {
        return Ok(CloseOutcome::Busy(lease));
    }
    let version = previous.map_or(1, |s| s.version + 1);
    let result = freeze(store, onboarding, request, (&months, version), ready).await;
    if let Err(e) = store.release_lease(account, &holder).await {
        tracing::warn!(account_id = %account, error = %e.chain(), "lease not released; it expires on its own");
    }
    result
}

/// Under the lease: reads the month and the adjustments due in it, stores the lines,
/// then commits the state with its log entry.
async fn freeze(
    store: &dyn Store,
    onboarding: &Onboarding,
    request: &CloseRequest,
    (months, version): (&[MonthState], u32),
    ready: Readiness,
) -> PortResult<CloseOutcome> {
    let account = &onboarding.account;
    let changes_seen = store.month_changes(account, request.month).await?;
    let state = store.load_state(onboarding).await?;
    let mut lines = lines::current_lines(store, onboarding, &state, request.month).await?;
    let carried = adjust::due_in(store, onboarding, &state, months, request.month).await?;
    let adjustments: Vec<InvoiceLine> = carried.iter().flat_map(|c| c.lines.clone()).collect();
    lines.extend(adjustments.iter().cloned());
    // Reseller level first, then the customer level; usage before adjustments.
    lines.sort_by_key(|l| (l.level, l.kind));
    store
        .put_invoice_lines(account, request.month, version, &lines)
        .await?;
    let mut per_level: BTreeMap<Level, u32> = BTreeMap::new();
    for l in &lines {
        *per_level.entry(l.level).or_default() += 1;
    }
    let accepted = if request.accept_findings {
        ready.blockers
    } else {
        Vec::new()
    };
    let closed = MonthState {
        account: account.clone(),
        month: request.month,
        status: MonthStatus::Closed,
        version,
        closed_at: request.now,
        changes_seen,
        lines: per_level,
        accepted: accepted.clone(),
        unproven: ready.unproven,
        note: request.note.clone(),
        carried: carried.iter().map(|c| (c.of, c.changes)).collect(),
        reopened_at: None,
    };
    let event = MonthEvent {
        account: account.clone(),
        month: request.month,
        at: request.now,
        action: MonthStatus::Closed,
        version,
        by: request.by.clone(),
        note: request.note.clone(),
        accepted,
    };
    if !store.commit_close(&closed, &event).await? {
        let now = store.month_states(account).await?;
        if let Some(won) = now.into_iter().find(|s| s.month == request.month) {
            return Ok(CloseOutcome::AlreadyClosed(won));
        }
    }
    Ok(CloseOutcome::Closed {
        state: closed,
        adjustments,
    })
}

/// What a reopen did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReopenOutcome {
    Reopened(MonthState),
    /// The month is not closed (nothing written).
    NotClosed,
    /// Later months are closed: their adjustments may already bill this month's
    /// changes, so they must be reopened first, latest first (nothing written).
    LaterMonthsClosed(Vec<BillingMonth>),
}

/// Reopens a closed month: its frozen lines stay (for the record), its invoice is read
/// from the records again until it is closed anew (the next close is a new version).
pub async fn reopen(
    store: &dyn Store,
    account: &ManagedAccountId,
    month: BillingMonth,
    (by, note): (&str, Option<String>),
    now: DateTime<Utc>,
) -> PortResult<ReopenOutcome> {
    let months = store.month_states(account).await?;
    let Some(state) = months
        .iter()
        .find(|s| s.month == month && s.status == MonthStatus::Closed)
    else {
        return Ok(ReopenOutcome::NotClosed);
    };
    let later: Vec<BillingMonth> = months
        .iter()
        .filter(|s| s.month > month && s.status == MonthStatus::Closed)
        .map(|s| s.month)
        .collect();
    if !later.is_empty() {
        return Ok(ReopenOutcome::LaterMonthsClosed(later));
    }
    let event = MonthEvent {
        account: account.clone(),
        month,
        at: now,
        action: MonthStatus::Open,
        version: state.version,
        by: by.to_owned(),
        note,
        accepted: Vec::new(),
    };
    if !store.reopen(&event).await? {
        return Ok(ReopenOutcome::NotClosed);
    }
    let mut reopened = state.clone();
    reopened.status = MonthStatus::Open;
    reopened.reopened_at = Some(now);
    Ok(ReopenOutcome::Reopened(reopened))
}

/// A month's invoices as the operator reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthView {
    pub month: BillingMonth,
    /// Its state when it was ever closed (closed, or reopened).
    pub state: Option<MonthState>,
    /// Its own usage lines, both levels: frozen when closed, else from the records.
    pub usage: Vec<InvoiceLine>,
    /// Adjustments of earlier closed months billed in it.
    pub adjustments: Vec<InvoiceLine>,
    /// For a closed month: its own changes since it closed, and the month each is
    /// billed in (frozen in a later closed month, or due in the next open one).
    pub late: Vec<(BillingMonth, InvoiceLine)>,
}

impl MonthView {
    pub fn is_closed(&self) -> bool {
        self.state
            .as_ref()
            .is_some_and(|s| s.status == MonthStatus::Closed)
    }

    /// Every line billed in the month (its usage, then the adjustments), at `level`.
    pub fn billed(&self, level: Level) -> impl Iterator<Item = &InvoiceLine> {
        self.usage
            .iter()
            .chain(self.adjustments.iter())
            .filter(move |l| l.level == level)
    }
}

/// The invoices of `month` (see [`MonthView`]).
pub async fn view(
    store: &dyn Store,
    onboarding: &Onboarding,
    month: BillingMonth,
) -> PortResult<MonthView> {
    let months = store.month_states(&onboarding.account).await?;
    let state = months.iter().find(|s| s.month == month).cloned();
    let stored = store.load_state(onboarding).await?;
    let is_adjustment = |l: &InvoiceLine| matches!(l.kind, LineKind::Adjustment { .. });
    let mut view = MonthView {
        month,
        state: state.clone(),
        usage: Vec::new(),
        adjustments: Vec::new(),
        late: Vec::new(),
    };
    match state.filter(|s| s.status == MonthStatus::Closed) {
        Some(closed) => {
            let (adjustments, usage) = adjust::frozen_lines(store, &closed)
                .await?
                .into_iter()
                .partition(is_adjustment);
            view.usage = usage;
            view.adjustments = adjustments;
            view.late = late_of(store, onboarding, &stored, &months, month).await?;
        }
        None => {
            view.usage = lines::current_lines(store, onboarding, &stored, month).await?;
            view.adjustments = adjust::due_in(store, onboarding, &stored, &months, month)
                .await?
                .into_iter()
                .flat_map(|c| c.lines)
                .collect();
        }
    }
    Ok(view)
}

/// A closed month's changes since it closed, with the month each is billed in.
async fn late_of(
    store: &dyn Store,
    onboarding: &Onboarding,
    stored: &crate::domain::StoredState,
    months: &[MonthState],
    month: BillingMonth,
) -> PortResult<Vec<(BillingMonth, InvoiceLine)>> {
    let of_this = |l: &InvoiceLine| l.kind == LineKind::Adjustment { of: month };
    let mut out = Vec::new();
    for later in months
        .iter()
        .filter(|s| s.month > month && s.status == MonthStatus::Closed)
    {
        for line in adjust::frozen_lines(store, later).await? {
            if of_this(&line) {
                out.push((later.month, line));
            }
        }
    }
    let target = adjust::next_open_after(months, month);
    for carried in adjust::due_in(store, onboarding, stored, months, target).await? {
        out.extend(
            carried
                .lines
                .into_iter()
                .filter(|l| of_this(l))
                .map(|l| (target, l)),
        );
    }
    Ok(out)
}
