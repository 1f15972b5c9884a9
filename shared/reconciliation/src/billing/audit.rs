//! The completeness audit: after a run's windows are stored, the stored records of each
//! auditable record type are compared with Telnyx's own usage report, per account ×
//! type × day: record count, the type's usage metric ([`RecordType::audit_metrics`])
//! and cost where our records carry one (hidden pricing audits on usage, not cost).
//!
//! A day is audited once it is complete (the type's watermark is past its end) and
//! again on every run until it is **settled** (the watermark is an overlap window past
//! its end: late records have had their chance). Every verdict is stored, a clean one
//! too, so an operator sees which days are proven complete; a settled mismatch is
//! alerted. A type the report does not cover is reported as not auditable, never clean.
//!
//! The last [`RECHECK_DAYS`] complete days are audited again on every run, settled or
//! not, so a record Telnyx publishes after the overlap window (which no walk re-reads)
//! still shows up as a mismatch. A settled clean day's stored side is taken from its
//! verdict (nothing can have changed it), so a recheck reads the table only for days
//! that are not settled or not clean, and a verdict is written only when it changes.
//!
//! Requests: one report per type over its days first; when it equals the stored
//! records over the same days, every day is recorded clean; only when it differs is
//! each day asked for on its own, to name the days. At most [`MAX_DAYS_PER_TYPE`] days
//! per type per run; the rest follow.

use super::each_record;
use crate::domain::{ManagedAccountId, RecordType, StoredDetailRecord};
use crate::error::PortError;
use crate::ports::{
    ApiKey, AuditDay, AuditFigures, AuditVerdict, BillingPartition, Ports, TimeWindow, UsageTotals,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Days of one type audited in one run, at most (the rest wait for the next run).
pub const MAX_DAYS_PER_TYPE: usize = 31;
/// The last days audited again on every run, settled or not: a record Telnyx publishes
/// after the overlap window (never re-read by a walk) still shows as a mismatch.
pub const RECHECK_DAYS: i64 = 3;

/// What the audit of one run needs.
pub struct AuditInput<'a> {
    pub account: &'a ManagedAccountId,
    pub key: &'a ApiKey,
    pub partitions: &'a [BillingPartition],
    /// The types the run walked.
    pub types: &'a [RecordType],
    /// Each type's watermark after the run.
    pub watermarks: &'a BTreeMap<RecordType, DateTime<Utc>>,
    /// Where each type's walk of this run began.
    pub walked_from: &'a BTreeMap<RecordType, DateTime<Utc>>,
    /// Where an account's first window starts (the first audit of a type starts at the
    /// first whole day from the earlier of this and the type's walk).
    pub origin: DateTime<Utc>,
    pub overlap: Duration,
    pub now: DateTime<Utc>,
    /// No report is requested after this.
    pub not_after: Option<DateTime<Utc>>,
    pub writes: bool,
}

/// What the audit of one run found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditReport {
    /// Every verdict of this run.
    pub days: Vec<AuditDay>,
    /// Types walked that the usage report does not cover.
    pub not_auditable: Vec<RecordType>,
    /// Mismatches settled by this run (they were not settled before): the alert's.
    pub newly_settled: Vec<AuditDay>,
}

impl AuditReport {
    pub fn clean(&self) -> u64 {
        self.count(AuditVerdict::Clean)
    }
    pub fn mismatched(&self) -> u64 {
        self.count(AuditVerdict::Mismatch)
    }
    fn count(&self, v: AuditVerdict) -> u64 {
        self.days.iter().filter(|d| d.verdict == v).count() as u64
    }
    /// `clean`, `mismatch (n days)`, or `not audited` (for a summary table).
    pub fn verdict(&self) -> String {
        match (self.days.is_empty(), self.mismatched()) {
            (true, _) => "not audited".to_owned(),
            (false, 0) => format!("clean ({} days)", self.clean()),
            (false, n) => format!("MISMATCH ({n} of {} days)", self.days.len()),
        }
    }
}

fn next_day(d: NaiveDate) -> NaiveDate {
    d.succ_opt().unwrap_or(d)
}

/// The first whole day starting at or after `t`.
fn first_whole_day(t: DateTime<Utc>) -> NaiveDate {
    let d = t.date_naive();
    if super::day_start(d) == t {
        d
    } else {
        next_day(d)
    }
}

/// Adds one stored record to its side's figures.
fn add(f: &mut AuditFigures, r: &StoredDetailRecord) {
    f.count += 1;
    if !r.record_type().audit_metrics().is_empty() {
        *f.quantity.get_or_insert_default() += r.record.billed_quantity.unwrap_or_default();
    }
    match r.record.cost {
        Some(c) => *f.cost.get_or_insert_default() += c,
        None => f.hidden_pricing += 1,
    }
}

fn telnyx_figures(t: &UsageTotals, record_type: RecordType) -> AuditFigures {
    AuditFigures {
        count: t.count,
        quantity: (!record_type.audit_metrics().is_empty()).then(|| t.quantity.unwrap_or_default()),
        cost: t.cost,
        hidden_pricing: 0,
    }
}

/// Compares the two sides; returns the verdict and whether cost was compared.
fn compare(telnyx: &AuditFigures, stored: &AuditFigures) -> (AuditVerdict, bool) {
    let same = |a: Option<Decimal>, b: Option<Decimal>| {
        a.unwrap_or_default().normalize() == b.unwrap_or_default().normalize()
    };
    let cost_compared = stored.hidden_pricing == 0 && stored.count > 0 && telnyx.cost.is_some();
    let clean = telnyx.count == stored.count
        && same(telnyx.quantity, stored.quantity)
        && (!cost_compared || same(telnyx.cost, stored.cost));
    let verdict = if clean {
        AuditVerdict::Clean
    } else {
        AuditVerdict::Mismatch
    };
    (verdict, cost_compared)
}

/// Verdicts stored before this run, by (type, day).
type Before = BTreeMap<(RecordType, NaiveDate), AuditDay>;
/// Days to audit per type.
type Plans = BTreeMap<RecordType, Vec<NaiveDate>>;
/// Our side's figures per (type, day).
type Ours = BTreeMap<(RecordType, NaiveDate), AuditFigures>;

/// Audits what `input` names; stores the verdicts (when it writes).
pub async fn audit(ports: &Ports, input: &AuditInput<'_>) -> Result<AuditReport, PortError> {
    let mut report = AuditReport::default();
    let Some(latest) = input.watermarks.values().max().copied() else {
        return Ok(report);
    };
    let horizon = latest.date_naive() - Duration::days(62);
    let before: Before = ports
        .store
        .audit_days(input.account, horizon, latest.date_naive())
        .await?
        .into_iter()
        .map(|d| ((d.record_type, d.day), d))
        .collect();
    let plans = plan_days(input, &before, &mut report.not_auditable);
    if plans.is_empty() {
        return Ok(report);
    }
    let mut ours = stored_figures(ports, input, &plans, &before).await?;
    for (t, days) in &plans {
        if input.not_after.is_some_and(|d| ports.clock.now() >= d) {
            break;
        }
        judge_type(ports, input, &before, *t, days, &mut ours, &mut report).await?;
    }
    // Only verdicts that changed are written (a recheck that agrees writes nothing).
    let changed: Vec<AuditDay> = report
        .days
        .iter()
        .filter(|d| {
            before.get(&(d.record_type, d.day)).is_none_or(|b| {
                (b.verdict, &b.telnyx, &b.stored, b.settled, b.cost_compared)
                    != (d.verdict, &d.telnyx, &d.stored, d.settled, d.cost_compared)
            })
        })
        .cloned()
        .collect();
    if input.writes && !changed.is_empty() {
        ports.store.put_audit_days(&changed).await?;
    }
    Ok(report)
}

/// Which days of which type this run audits: from the first day not audited yet (or
/// the first whole day this run walked, for a type never audited), every unsettled day
/// and the last [`RECHECK_DAYS`], up to the type's last complete day.
fn plan_days(
    input: &AuditInput<'_>,
    before: &Before,
    not_auditable: &mut Vec<RecordType>,
) -> Plans {
    let mut plans = Plans::new();
    for &t in input.types {
        if t.usage_product().is_none() {
            not_auditable.push(t);
            continue;
        }
        let Some(&wm) = input.watermarks.get(&t) else {
            continue;
        };
        // Day d is complete when the watermark is at or past the start of d + 1.
        let last = (wm - Duration::days(1)).date_naive();
        let recheck = last - Duration::days(RECHECK_DAYS - 1);
        let mine: Vec<&AuditDay> = before
            .iter()
            .filter(|((k, _), _)| *k == t)
            .map(|(_, v)| v)
            .collect();
        let start = match mine.iter().map(|d| d.day).max() {
            Some(newest) => {
                let earliest = mine.iter().map(|d| d.day).min().unwrap_or(newest);
                let unsettled = mine.iter().filter(|d| !d.settled).map(|d| d.day).min();
                let from = next_day(newest)
                    .min(recheck)
                    .min(unsettled.unwrap_or(recheck));
                from.max(earliest)
            }
            None => {
                let walked = input.walked_from.get(&t).copied().unwrap_or(input.origin);
                first_whole_day(walked.min(input.origin))
            }
        };
        let mut days = Vec::new();
        let mut d = start;
        while d <= last && days.len() < MAX_DAYS_PER_TYPE {
            if d >= recheck || !before.get(&(t, d)).is_some_and(|a| a.settled) {
                days.push(d);
            }
            d = next_day(d);
        }
        if !days.is_empty() {
            plans.insert(t, days);
        }
    }
    plans
}

/// A day whose stored side cannot have changed since its last verdict: settled and
/// clean (no walk re-reads a settled day, and a clean day's records were all there).
/// Its stored figures are taken from that verdict instead of being read again, so the
/// daily recheck asks Telnyx, not the table.
fn known(before: &Before, t: RecordType, day: NaiveDate) -> Option<&AuditFigures> {
    before
        .get(&(t, day))
        .filter(|b| b.settled && b.verdict == AuditVerdict::Clean)
        .map(|b| &b.stored)
}

/// Our side: the verdicts' figures for days known clean, and one pass over the stored
/// records of every other day to audit.
async fn stored_figures(
    ports: &Ports,
    input: &AuditInput<'_>,
    plans: &Plans,
    before: &Before,
) -> Result<Ours, PortError> {
    let mut ours = Ours::new();
    let mut to_read: Plans = Plans::new();
    for (t, days) in plans {
        for d in days {
            match known(before, *t, *d) {
                Some(figures) => {
                    ours.insert((*t, *d), figures.clone());
                }
                None => to_read.entry(*t).or_default().push(*d),
            }
        }
    }
    let first = to_read.values().filter_map(|d| d.first()).min().copied();
    let end = to_read.values().filter_map(|d| d.last()).max().copied();
    let (Some(first), Some(end)) = (first, end) else {
        return Ok(ours);
    };
    let window = TimeWindow {
        from: super::day_start(first),
        to: super::day_start(next_day(end)),
    };
    each_record(
        &*ports.store,
        input.account,
        input.partitions,
        window,
        |r| {
            let key = (r.record_type(), r.record.occurred_at.date_naive());
            if to_read
                .get(&key.0)
                .is_some_and(|days| days.contains(&key.1))
            {
                add(ours.entry(key).or_default(), r);
            }
        },
    )
    .await?;
    Ok(ours)
}

/// The sum of our figures over `days`.
fn total_of(t: RecordType, days: &[NaiveDate], ours: &Ours) -> AuditFigures {
    let mut total = AuditFigures::default();
    for f in days.iter().filter_map(|d| ours.get(&(t, *d))) {
        total.count += f.count;
        total.hidden_pricing += f.hidden_pricing;
        if let Some(q) = f.quantity {
            *total.quantity.get_or_insert_default() += q;
        }
        if let Some(c) = f.cost {
            *total.cost.get_or_insert_default() += c;
        }
    }
    if !t.audit_metrics().is_empty() {
        total.quantity.get_or_insert_default();
    }
    total
}

/// One type's days: one report over all of them; when it equals our total every day is
/// clean (a zero total is exact per day; otherwise a shift between two days of the range
/// would cancel out, which only asking each day can see); else each day is asked for.
async fn judge_type(
    ports: &Ports,
    input: &AuditInput<'_>,
    before: &Before,
    t: RecordType,
    days: &[NaiveDate],
    ours: &mut Ours,
    report: &mut AuditReport,
) -> Result<(), PortError> {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(());
    };
    let day_window = |from: NaiveDate, last: NaiveDate| TimeWindow {
        from: super::day_start(from),
        to: super::day_start(next_day(last)),
    };
    let whole = ports
        .telnyx
        .usage_totals(input.key, t, day_window(*first, *last))
        .await?;
    let range_clean =
        compare(&telnyx_figures(&whole, t), &total_of(t, days, ours)).0 == AuditVerdict::Clean;
    for day in days {
        let theirs = if range_clean {
            let f = ours.get(&(t, *day)).cloned().unwrap_or_default();
            UsageTotals {
                count: f.count,
                quantity: f.quantity,
                cost: whole.cost.map(|_| f.cost.unwrap_or_default()),
            }
        } else {
            if input.not_after.is_some_and(|d| ports.clock.now() >= d) {
                break;
            }
            ports
                .telnyx
                .usage_totals(input.key, t, day_window(*day, *day))
                .await?
        };
        let stored = ours.remove(&(t, *day)).unwrap_or_else(|| AuditFigures {
            quantity: (!t.audit_metrics().is_empty()).then_some(Decimal::ZERO),
            ..AuditFigures::default()
        });
        let audited = verdict_of(input, t, *day, telnyx_figures(&theirs, t), stored);
        let alerted_before = before
            .get(&(t, *day))
            .is_some_and(|a| a.settled && a.verdict == AuditVerdict::Mismatch);
        if audited.settled && !alerted_before && audited.verdict == AuditVerdict::Mismatch {
            report.newly_settled.push(audited.clone());
        }
        report.days.push(audited);
    }
    Ok(())
}

/// The stored verdict of one day.
fn verdict_of(
    input: &AuditInput<'_>,
    t: RecordType,
    day: NaiveDate,
    telnyx: AuditFigures,
    stored: AuditFigures,
) -> AuditDay {
    let (verdict, cost_compared) = compare(&telnyx, &stored);
    let wm = input.watermarks.get(&t).copied().unwrap_or(input.now);
    AuditDay {
        account: input.account.clone(),
        record_type: t,
        day,
        verdict,
        telnyx,
        stored,
        cost_compared,
        settled: super::day_start(next_day(day)) + input.overlap <= wm,
        checked_at: input.now,
    }
}
