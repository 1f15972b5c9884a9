//! Adjustments: what changed in a closed month after it closed (a record that arrived
//! late, a record re-attributed through its call), billed in the next open month,
//! naming the month it belongs to.
//!
//! An adjustment is never a write of its own: it is derived, line by line, as the
//! closed month's records now, minus its frozen lines, minus the adjustments of it
//! already frozen in later closed months. So it exists exactly once whatever the
//! record path did — a kill between a record's write and anything after it, a rerun,
//! two workers — because records are keyed and read once. A month is re-read only when
//! its change counter moved past what the last close that accounted for it saw (and
//! the month just before the target always, so a record the index showed late is
//! still caught).

use super::lines::{Directory, LineKey, current_lines, key_of};
use crate::billing::rollup::Level;
use crate::domain::{BillingMonth, Onboarding, StoredState};
use crate::ports::{InvoiceLine, LineKind, LineSums, MonthState, MonthStatus, PortResult, Store};
use std::collections::BTreeMap;

/// The adjustments of one closed month due in a target month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// The closed month they belong to.
    pub of: BillingMonth,
    /// Its change counter when they were computed.
    pub changes: u64,
    pub lines: Vec<InvoiceLine>,
}

/// The month after `month` that is not closed: where its adjustments are billed.
pub fn next_open_after(months: &[MonthState], month: BillingMonth) -> BillingMonth {
    let closed = |m: BillingMonth| {
        months
            .iter()
            .any(|s| s.month == m && s.status == MonthStatus::Closed)
    };
    let mut next = month.next();
    while closed(next) {
        next = next.next();
    }
    next
}

/// The lines frozen by `state`'s close (both levels).
pub async fn frozen_lines(store: &dyn Store, state: &MonthState) -> PortResult<Vec<InvoiceLine>> {
    let mut out = Vec::new();
    for level in [Level::Reseller, Level::Customer] {
        let count = state.lines.get(&level).copied().unwrap_or_default();
        out.extend(
            store
                .invoice_lines(&state.account, state.month, state.version, level, count)
                .await?,
        );
    }
    Ok(out)
}

/// What `of` has been billed as so far: its frozen usage lines and every adjustment
/// of it frozen in later closed months, summed per line.
async fn billed_so_far(
    store: &dyn Store,
    months: &[MonthState],
    of: &MonthState,
) -> PortResult<BTreeMap<LineKey, InvoiceLine>> {
    let mut billed: BTreeMap<LineKey, InvoiceLine> = BTreeMap::new();
    let later = months
        .iter()
        .filter(|s| s.month > of.month && s.status == MonthStatus::Closed);
    for state in std::iter::once(of).chain(later) {
        for line in frozen_lines(store, state).await? {
            let counts = match line.kind {
                LineKind::Usage => state.month == of.month,
                LineKind::Adjustment { of: m } => m == of.month,
            };
            if counts {
                add_into(&mut billed, line, 1);
            }
        }
    }
    Ok(billed)
}

fn add_into(into: &mut BTreeMap<LineKey, InvoiceLine>, line: InvoiceLine, sign: i64) {
    match into.entry(key_of(&line)) {
        std::collections::btree_map::Entry::Occupied(mut e) => {
            e.get_mut().sums.add(&line.sums, sign)
        }
        std::collections::btree_map::Entry::Vacant(v) => {
            let mut line = line;
            if sign < 0 {
                let mut negated = LineSums::default();
                negated.add(&line.sums, -1);
                line.sums = negated;
            }
            v.insert(line);
        }
    }
}

/// The change counter of `of` the last close that accounted for it saw.
fn seen(months: &[MonthState], of: &MonthState) -> u64 {
    months
        .iter()
        .filter(|s| s.status == MonthStatus::Closed)
        .filter_map(|s| s.carried.get(&of.month).copied())
        .fold(of.changes_seen, u64::max)
}

/// The adjustments due in `target` (an open month): for every closed month whose next
/// open month is `target`, its records now minus what it has been billed as.
pub async fn due_in(
    store: &dyn Store,
    onboarding: &Onboarding,
    state: &StoredState,
    months: &[MonthState],
    target: BillingMonth,
) -> PortResult<Vec<Carried>> {
    let directory = Directory::new(onboarding, state);
    let mut out = Vec::new();
    for closed in months.iter().filter(|s| {
        s.status == MonthStatus::Closed
            && s.month < target
            && next_open_after(months, s.month) == target
    }) {
        let changes = store
            .month_changes(&onboarding.account, closed.month)
            .await?;
        if changes <= seen(months, closed) && closed.month != target.prev() {
            continue;
        }
        let mut diff = billed_so_far(store, months, closed).await?;
        for (_, line) in diff.iter_mut() {
            let mut negated = LineSums::default();
            negated.add(&line.sums, -1);
            line.sums = negated;
        }
        for line in current_lines(store, onboarding, state, closed.month).await? {
            add_into(&mut diff, line, 1);
        }
        let kind = LineKind::Adjustment { of: closed.month };
        let lines = diff
            .into_iter()
            .filter(|(_, l)| !l.sums.is_zero())
            .map(|(key, l)| directory.line(key, kind, l.sums))
            .collect();
        out.push(Carried {
            of: closed.month,
            changes,
            lines,
        });
    }
    Ok(out)
}
