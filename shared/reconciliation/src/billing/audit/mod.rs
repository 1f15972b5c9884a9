//! The completeness audit: after a run's windows are stored, the stored records of each
//! auditable record type are compared with Telnyx's own usage report, per account ×
//! type × day — through the product, count, usage and cost metrics the report's options
//! offer for the type ([`crate::usage`]): counts exactly, usage and cost within the
//! noise of Telnyx's binary-double sums, cost only where our records carry one.
//!
//! A type the report offers no product or count for is *not auditable*, with its reason:
//! never clean. Every verdict is stored, a clean one too, so an operator sees which days
//! are proven complete.
//!
//! A day is audited once it is complete (the type's watermark is past its end) and again
//! on every run until it is **settled** (the watermark is the type's publication delay
//! past its end: late records have had their chance). A settled day where Telnyx counts
//! more than is stored is **healed** first: the run re-walks it ([`rejudge`] judges it
//! again); only a difference the re-walk does not close, or stored records above
//! Telnyx's (never healed by deleting), is a **finding** for the operator.
//!
//! The last [`RECHECK_DAYS`] complete days, and every day still mismatched, are audited
//! again on every run, so a record Telnyx publishes after the overlap window (which no
//! walk re-reads) still shows. A settled clean day's stored side is taken from its
//! verdict (nothing can have changed it), so a recheck reads the table only for days
//! that are not settled or not clean, and a verdict is written only when it changes.
//!
//! Requests: one report per type over its days with the `date` dimension (every day in
//! one answer), or one per day for a product without it. At most [`MAX_DAYS_PER_TYPE`]
//! days per type per run; the rest follow. A clean day with records confirms the type's
//! count metric ([`crate::ports::ConfirmedCount`]).

mod figures;

use super::each_record;
use crate::domain::{ManagedAccountId, RecordType};
use crate::error::PortError;
use crate::ports::{
    ApiKey, AuditDay, AuditFigures, AuditVerdict, BillingPartition, ConfirmedCount, Ports, Rewalk,
    TimeWindow, UsageRow,
};
use crate::usage::{NotAuditable, UsageCatalog, UsageShape, evidence};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;

/// Days of one type audited in one run, at most (the rest wait for the next run).
pub const MAX_DAYS_PER_TYPE: usize = 31;
/// The last days audited again on every run, settled or not: a record Telnyx publishes
/// after the overlap window (never re-read by a walk) still shows.
pub const RECHECK_DAYS: i64 = 3;

/// What the audit of one run needs.
pub struct AuditInput<'a> {
    pub account: &'a ManagedAccountId,
    pub key: &'a ApiKey,
    pub partitions: &'a [BillingPartition],
    /// What the usage report offers per type.
    pub catalog: &'a UsageCatalog,
    /// The types the run walked.
    pub types: &'a [RecordType],
    /// Each type's watermark after the run.
    pub watermarks: &'a BTreeMap<RecordType, DateTime<Utc>>,
    /// Where each type's walk of this run began.
    pub walked_from: &'a BTreeMap<RecordType, DateTime<Utc>>,
    /// Where an account's first window starts (the first audit of a type starts at the
    /// first whole day from the earlier of this and the type's walk).
    pub origin: DateTime<Utc>,
    /// Each type's publication delay (its overlap): a day is settled once the type's
    /// watermark is that far past its end.
    pub overlaps: &'a BTreeMap<RecordType, Duration>,
    pub now: DateTime<Utc>,
    /// No report is requested after this.
    pub not_after: Option<DateTime<Utc>>,
    /// What the scheduler's report across accounts showed: a type it read with no
    /// usage for this account over the audited days needs no request of its own (its
    /// answer would be the same empty report).
    pub hint: Option<&'a crate::invocation::UsageHint>,
    pub writes: bool,
}

impl AuditInput<'_> {
    fn overlap(&self, t: RecordType) -> Duration {
        self.overlaps.get(&t).copied().unwrap_or_default()
    }

    fn past_deadline(&self, ports: &Ports) -> bool {
        self.not_after.is_some_and(|d| ports.clock.now() >= d)
    }

    /// The scheduler's report already says `t` had no usage on any of `window`.
    fn hint_shows_none(&self, t: RecordType, window: TimeWindow) -> bool {
        self.hint.is_some_and(|h| {
            h.covers(t, &window) && window.to <= h.window.to && !h.with_usage.contains(&t)
        })
    }
}

/// What the audit of one run found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditReport {
    /// Every verdict of this run.
    pub days: Vec<AuditDay>,
    /// Types walked that cannot be audited, with the reason.
    pub not_auditable: Vec<NotAuditable>,
    /// Findings that became final in this run (the alert's).
    pub newly_final: Vec<AuditDay>,
    /// Settled days Telnyx counts more on: re-walked before anyone is told.
    pub heal_due: Vec<AuditDay>,
    /// Days a re-walk of this run made clean.
    pub healed: Vec<AuditDay>,
    /// Count metrics this run confirmed.
    pub confirmed: Vec<ConfirmedCount>,
}

impl AuditReport {
    pub fn clean(&self) -> u64 {
        self.count(|d| d.verdict == AuditVerdict::Clean)
    }
    /// Days that differ, final or not.
    pub fn mismatched(&self) -> u64 {
        self.count(|d| d.verdict == AuditVerdict::Mismatch)
    }
    /// Days that differ and are final: the findings.
    pub fn findings(&self) -> u64 {
        self.count(AuditDay::is_finding)
    }
    fn count(&self, f: impl Fn(&AuditDay) -> bool) -> u64 {
        self.days.iter().filter(|d| f(d)).count() as u64
    }
    /// The run's verdicts in numbers.
    pub fn totals(&self) -> AuditTotals {
        AuditTotals {
            days: self.days.len() as u64,
            clean: self.clean(),
            mismatched: self.mismatched(),
            findings: self.findings(),
            healed: self.healed.len() as u64,
        }
    }

    /// Takes in the verdicts of a second judgement of some days (after their re-walk).
    pub fn merge(&mut self, other: AuditReport) {
        for day in other.days {
            self.days
                .retain(|d| (d.record_type, d.day) != (day.record_type, day.day));
            self.heal_due
                .retain(|d| (d.record_type, d.day) != (day.record_type, day.day));
            self.days.push(day);
        }
        self.newly_final.extend(other.newly_final);
        self.healed.extend(other.healed);
        self.confirmed.extend(other.confirmed);
    }
}

/// What the audit of a run concluded, in numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditTotals {
    /// Days (× type) judged.
    pub days: u64,
    pub clean: u64,
    /// Days that differ, final or not.
    pub mismatched: u64,
    /// Of those, the final ones.
    pub findings: u64,
    /// Short days a re-walk made clean.
    pub healed: u64,
}

impl std::fmt::Display for AuditTotals {
    /// `clean (n days)`, `MISMATCH (n of m days)`, `pending (n of m days)` (differences
    /// not final yet), or `not audited` (for a summary table).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.days;
        match (total, self.findings, self.mismatched) {
            (0, _, _) => f.write_str("not audited"),
            (_, 0, 0) => write!(f, "clean ({} days)", self.clean),
            (_, 0, n) => write!(f, "pending ({n} of {total} days)"),
            (_, n, _) => write!(f, "MISMATCH ({n} of {total} days)"),
        }
    }
}

fn next_day(d: NaiveDate) -> NaiveDate {
    d.succ_opt().unwrap_or(d)
}

/// The window of the days `first..=last`.
fn days_window(first: NaiveDate, last: NaiveDate) -> TimeWindow {
    TimeWindow {
        from: super::day_start(first),
        to: super::day_start(next_day(last)),
    }
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

/// Verdicts stored before this run, by (type, day).
type Before = BTreeMap<(RecordType, NaiveDate), AuditDay>;
/// Days to audit per type.
type Plans = BTreeMap<RecordType, Vec<NaiveDate>>;
/// Our side's figures per (type, day).
type Ours = BTreeMap<(RecordType, NaiveDate), AuditFigures>;

/// The verdicts stored for the 62 days up to the latest watermark.
async fn stored_verdicts(ports: &Ports, input: &AuditInput<'_>) -> Result<Before, PortError> {
    let Some(latest) = input.watermarks.values().max().copied() else {
        return Ok(Before::new());
    };
    let horizon = latest.date_naive() - Duration::days(62);
    Ok(ports
        .store
        .audit_days(input.account, horizon, latest.date_naive())
        .await?
        .into_iter()
        .map(|d| ((d.record_type, d.day), d))
        .collect())
}

/// Audits what `input` names; stores the verdicts (when it writes).
pub async fn audit(ports: &Ports, input: &AuditInput<'_>) -> Result<AuditReport, PortError> {
    let mut report = AuditReport::default();
    for &t in input.types {
        if let Err(not) = input.catalog.auditable(t) {
            report.not_auditable.push(not);
        }
    }
    let before = stored_verdicts(ports, input).await?;
    let plans = plan_days(input, &before);
    if plans.is_empty() {
        return Ok(report);
    }
    let mut ours = stored_figures(ports, input, &plans, |t, d| known(&before, t, d)).await?;
    let mut days = Vec::new();
    for (t, planned) in &plans {
        if input.past_deadline(ports) {
            break;
        }
        let carried = |d: NaiveDate| {
            before
                .get(&(*t, d))
                .filter(|b| b.verdict == AuditVerdict::Mismatch)
                .and_then(|b| b.rewalk.clone())
        };
        days.extend(judge_type(ports, input, *t, planned, &mut ours, carried).await?);
    }
    record(ports, input, &before, days, &mut report).await?;
    Ok(report)
}

/// Judges again the days a re-walk read (`rewalked`: type, day, what the re-walk did),
/// reading their stored records afresh; stores and returns the verdicts.
pub async fn rejudge(
    ports: &Ports,
    input: &AuditInput<'_>,
    rewalked: &[(RecordType, NaiveDate, Rewalk)],
) -> Result<AuditReport, PortError> {
    let mut report = AuditReport::default();
    let before = stored_verdicts(ports, input).await?;
    let mut plans = Plans::new();
    for (t, d, _) in rewalked {
        plans.entry(*t).or_default().push(*d);
    }
    let mut ours = stored_figures(ports, input, &plans, |_, _| None).await?;
    let mut days = Vec::new();
    for (t, planned) in &plans {
        let rewalk_of = |d: NaiveDate| {
            rewalked
                .iter()
                .find(|(rt, rd, _)| (rt, *rd) == (t, d))
                .map(|(_, _, r)| r.clone())
        };
        days.extend(judge_type(ports, input, *t, planned, &mut ours, rewalk_of).await?);
    }
    for day in days.iter().filter(|d| d.verdict == AuditVerdict::Clean) {
        report.healed.push(day.clone());
    }
    record(ports, input, &before, days, &mut report).await?;
    Ok(report)
}

/// Takes in a run's verdicts: what became final, what the heal must re-walk, which count
/// metrics they confirm; writes the verdicts that changed.
async fn record(
    ports: &Ports,
    input: &AuditInput<'_>,
    before: &Before,
    days: Vec<AuditDay>,
    report: &mut AuditReport,
) -> Result<(), PortError> {
    for day in &days {
        let prev = before.get(&(day.record_type, day.day));
        if day.is_finding() && !prev.is_some_and(AuditDay::is_finding) {
            report.newly_final.push(day.clone());
        }
        if day.heal_due() {
            report.heal_due.push(day.clone());
        }
        let confirms = day.verdict == AuditVerdict::Clean
            && day.stored.count > 0
            && !input.catalog.is_confirmed(&day.product, &day.count_metric)
            && !report
                .confirmed
                .iter()
                .any(|c| (&c.product, &c.metric) == (&day.product, &day.count_metric));
        if confirms {
            report.confirmed.push(ConfirmedCount {
                product: day.product.clone(),
                metric: day.count_metric.clone(),
                record_type: day.record_type,
                account: day.account.clone(),
                day: day.day,
                records: day.stored.count,
                confirmed_at: input.now,
            });
        }
    }
    // Only verdicts that changed are written (a recheck that agrees writes nothing).
    let changed: Vec<AuditDay> = days
        .iter()
        .filter(|d| {
            before.get(&(d.record_type, d.day)).is_none_or(|b| {
                (
                    b.verdict,
                    &b.telnyx,
                    &b.stored,
                    b.settled,
                    b.cost_compared,
                    &b.rewalk,
                ) != (
                    d.verdict,
                    &d.telnyx,
                    &d.stored,
                    d.settled,
                    d.cost_compared,
                    &d.rewalk,
                )
            })
        })
        .cloned()
        .collect();
    if input.writes {
        if !changed.is_empty() {
            ports.store.put_audit_days(&changed).await?;
        }
        for c in &report.confirmed {
            ports.store.confirm_count(c).await?;
        }
    }
    report.days.extend(days);
    Ok(())
}

/// Which days of which auditable type this run audits: from the first day not audited
/// yet (or the first whole day this run walked, for a type never audited), every
/// unsettled or mismatched day and the last [`RECHECK_DAYS`], up to the type's last
/// complete day.
fn plan_days(input: &AuditInput<'_>, before: &Before) -> Plans {
    let mut plans = Plans::new();
    for &t in input.types {
        if input.catalog.auditable(t).is_err() {
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
                let open = mine
                    .iter()
                    .filter(|d| !d.settled || d.verdict == AuditVerdict::Mismatch)
                    .map(|d| d.day)
                    .min();
                let from = next_day(newest).min(recheck).min(open.unwrap_or(recheck));
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
            let done = before
                .get(&(t, d))
                .is_some_and(|a| a.settled && a.verdict == AuditVerdict::Clean);
            if d >= recheck || !done {
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
fn known(before: &Before, t: RecordType, day: NaiveDate) -> Option<AuditFigures> {
    before
        .get(&(t, day))
        .filter(|b| b.settled && b.verdict == AuditVerdict::Clean)
        .map(|b| b.stored.clone())
}

/// Our side: figures `known` gives, and one pass over the stored records of every other
/// day to audit.
async fn stored_figures(
    ports: &Ports,
    input: &AuditInput<'_>,
    plans: &Plans,
    known: impl Fn(RecordType, NaiveDate) -> Option<AuditFigures>,
) -> Result<Ours, PortError> {
    let mut ours = Ours::new();
    let mut to_read: Plans = Plans::new();
    for (t, days) in plans {
        for d in days {
            match known(*t, *d) {
                Some(figures) => {
                    ours.insert((*t, *d), figures);
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
    each_record(
        &*ports.store,
        input.account,
        input.partitions,
        days_window(first, end),
        |r| {
            let key = (r.record_type(), r.record.occurred_at.date_naive());
            if to_read
                .get(&key.0)
                .is_some_and(|days| days.contains(&key.1))
            {
                figures::add(ours.entry(key).or_default(), r);
            }
        },
    )
    .await?;
    Ok(ours)
}

/// Telnyx's rows of each of `days`: one request with the `date` dimension, or one per
/// day for a product without it.
async fn report_by_day(
    ports: &Ports,
    input: &AuditInput<'_>,
    shape: &UsageShape,
    days: &[NaiveDate],
) -> Result<BTreeMap<NaiveDate, Vec<UsageRow>>, PortError> {
    let mut by_day: BTreeMap<NaiveDate, Vec<UsageRow>> = BTreeMap::new();
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(by_day);
    };
    if input.hint_shows_none(shape.record_type, days_window(*first, *last)) {
        // Every day counted nothing: as if asked.
        return Ok(days.iter().map(|d| (*d, Vec::new())).collect());
    }
    if shape.by_date() {
        let request = evidence::request(shape, days_window(*first, *last), false);
        for row in ports.telnyx.usage_report(input.key, &request).await? {
            if let Some(day) = row.day {
                by_day.entry(day).or_default().push(row);
            }
        }
        return Ok(by_day);
    }
    for day in days {
        if input.past_deadline(ports) {
            break;
        }
        let request = evidence::request(shape, days_window(*day, *day), false);
        let rows = ports.telnyx.usage_report(input.key, &request).await?;
        by_day.insert(*day, rows);
    }
    Ok(by_day)
}

/// One type's days judged: Telnyx's figures against ours, each verdict carrying the
/// re-walk `rewalk_of` gives for its day.
async fn judge_type(
    ports: &Ports,
    input: &AuditInput<'_>,
    t: RecordType,
    days: &[NaiveDate],
    ours: &mut Ours,
    rewalk_of: impl Fn(NaiveDate) -> Option<Rewalk>,
) -> Result<Vec<AuditDay>, PortError> {
    let Ok(shape) = input.catalog.auditable(t) else {
        return Ok(Vec::new());
    };
    let reported = report_by_day(ports, input, shape, days).await?;
    let none = Vec::new();
    let mut out = Vec::new();
    for day in days {
        let rows = match reported.get(day) {
            Some(rows) => rows,
            // A day without rows in a report by date: Telnyx counts nothing.
            None if shape.by_date() => &none,
            // Requests one day at a time stopped at the deadline: the rest wait.
            None => break,
        };
        let rows: Vec<&UsageRow> = rows.iter().collect();
        let telnyx = figures::telnyx(&rows, shape);
        let stored = ours
            .remove(&(t, *day))
            .unwrap_or_else(|| figures::nothing_stored(shape));
        let (verdict, cost_compared) = figures::compare(shape, &telnyx, &stored);
        let wm = input.watermarks.get(&t).copied().unwrap_or(input.now);
        out.push(AuditDay {
            account: input.account.clone(),
            record_type: t,
            day: *day,
            verdict,
            telnyx,
            stored,
            cost_compared,
            settled: super::day_start(next_day(*day)) + input.overlap(t) <= wm,
            checked_at: input.now,
            product: shape.product.clone(),
            count_metric: shape.count.clone().unwrap_or_default(),
            rewalk: rewalk_of(*day),
        });
    }
    Ok(out)
}
