//! After a complete run: the completeness audit ([`crate::billing::audit`]), the heal —
//! settled days Telnyx counts more on are re-walked (at most [`HEAL_DAYS_PER_RUN`] a run,
//! inside the run's deadline and the client's rate budget) and judged again — and what
//! follows from the verdicts: count metrics confirmed, distrusted reports trusted again,
//! and the operator's alert for the findings that remain.
//!
//! Best effort: an audit that cannot be read is logged and retried by the next run; the
//! records stand.

use super::structure::Structure;
use super::walk::Walker;
use super::windows;
use crate::billing::audit::{self, AuditInput, AuditReport};
use crate::domain::RecordType;
use crate::ports::AuditVerdict;
use std::collections::BTreeMap;

/// Settled short days re-walked in one run, at most (the rest wait for the next runs).
pub const HEAL_DAYS_PER_RUN: usize = 4;

/// Audits the account's stored records, heals what a re-walk can, alerts what stays.
/// `None` for a dry run or an audit that could not be read.
pub(super) async fn audit_and_heal(
    walker: &mut Walker<'_>,
    structure: &mut Structure<'_>,
) -> Option<AuditReport> {
    let run = walker.run();
    if run.request.dry_run {
        return None;
    }
    let account = &run.request.managed_account_id;
    let partitions = crate::billing::partitions(structure.onboarding(), structure.state());
    let types = RecordType::ALL.to_vec();
    let overlaps: BTreeMap<RecordType, chrono::Duration> = types
        .iter()
        .map(|&t| (t, run.settings.overlap_for(t)))
        .collect();
    // Every type with a watermark: a continuation walks only what was left, but the
    // types finished by the runs before it are audited too.
    let watermarks = walker.watermarks().clone();
    let walked_from = walker.tally.walked_from.clone();
    let input = AuditInput {
        account,
        key: run.key,
        partitions: &partitions,
        catalog: run.catalog,
        types: &types,
        watermarks: &watermarks,
        walked_from: &walked_from,
        origin: windows::first_window_start(run.settings, run.started),
        overlaps: &overlaps,
        now: run.started,
        not_after: run.ctx.deadline.map(|d| d - run.settings.deadline_margin),
        hint: run.request.usage.as_ref(),
        writes: true,
    };
    let mut report = match audit::audit(run.ports, &input).await {
        Ok(report) => report,
        Err(e) => {
            tracing::warn!(account_id = %account, error = %e.chain(), "completeness audit not done; the next run retries it");
            return None;
        }
    };
    heal(walker, structure, &input, &mut report).await;
    // A type's report is trusted again when every day of it audited now is clean and
    // one of them holds records (an empty day agrees with any report of none).
    let clean: Vec<RecordType> = RecordType::ALL
        .iter()
        .copied()
        .filter(|t| {
            let days: Vec<_> = report.days.iter().filter(|d| d.record_type == *t).collect();
            days.iter().all(|d| d.verdict == AuditVerdict::Clean)
                && days.iter().any(|d| d.stored.count > 0)
        })
        .collect();
    if let Err(e) = walker.trust_again(&clean).await {
        tracing::warn!(account_id = %account, error = %e, "distrusted usage reports not lifted; the next clean audit lifts them");
    }
    super::alerts::audit_findings(&run, &report).await;
    Some(report)
}

/// Re-walks the settled days Telnyx counts more on (a bounded number, while time is
/// left), then judges them again.
async fn heal(
    walker: &mut Walker<'_>,
    structure: &mut Structure<'_>,
    input: &AuditInput<'_>,
    report: &mut AuditReport,
) {
    let run = walker.run();
    let mut rewalked = Vec::new();
    for day in report.heal_due.iter().take(HEAL_DAYS_PER_RUN) {
        match walker.rewalk_day(structure, day.record_type, day.day).await {
            Ok(Some(rewalk)) => {
                tracing::info!(account_id = %input.account, record_type = %day.record_type, day = %day.day, read = rewalk.read, stored = rewalk.stored, "short day re-walked");
                rewalked.push((day.record_type, day.day, rewalk));
            }
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(account_id = %input.account, record_type = %day.record_type, day = %day.day, error = %e, "re-walk failed; the next run tries again");
                break;
            }
        }
    }
    if rewalked.is_empty() {
        return;
    }
    match audit::rejudge(run.ports, input, &rewalked).await {
        Ok(second) => report.merge(second),
        Err(e) => {
            tracing::warn!(account_id = %input.account, error = %e.chain(), "re-walked days not judged again; the next run judges them");
        }
    }
}
