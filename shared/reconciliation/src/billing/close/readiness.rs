//! Whether a month may close: every day of it settled and clean for every type the
//! audit can prove (docs/audit.md "Closing a month"). What stands in the way is named
//! by kind, type and days; types the audit cannot prove do not block (they are named
//! in the close), but their walk must have reached the month's end.

use crate::domain::{BillingMonth, ManagedAccountId, RecordType};
use crate::ports::{AuditDay, AuditVerdict, Blocker, BlockerKind, PortResult, Store, Unproven};
use crate::usage::catalog;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

/// What a close would find.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readiness {
    /// What stands in the way (empty: the month may close).
    pub blockers: Vec<Blocker>,
    /// Types the audit cannot prove, with their reasons (not blocking).
    pub unproven: Vec<Unproven>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.blockers.is_empty()
    }
}

/// The kind of blocker a day's verdict is, if any.
fn judge(verdict: Option<&AuditDay>) -> Option<BlockerKind> {
    match verdict {
        None => Some(BlockerKind::NotAudited),
        Some(d) if d.verdict == AuditVerdict::Clean && d.settled => None,
        Some(d) if d.is_finding() => Some(BlockerKind::Finding),
        Some(_) => Some(BlockerKind::NotSettled),
    }
}

/// Reads the audit's verdicts, the usage catalog and the watermarks of `account` and
/// says what stands in the way of closing `month` at `now`.
pub async fn readiness(
    store: &dyn Store,
    account: &ManagedAccountId,
    month: BillingMonth,
    now: DateTime<Utc>,
) -> PortResult<Readiness> {
    let mut out = Readiness::default();
    if now < month.end() {
        out.blockers.push(Blocker {
            kind: BlockerKind::MonthNotOver,
            record_type: None,
            days: Vec::new(),
        });
    }
    let Some(catalog) = catalog::cached(store).await? else {
        out.blockers.push(Blocker {
            kind: BlockerKind::AuditNeverRan,
            record_type: None,
            days: Vec::new(),
        });
        return Ok(out);
    };
    let verdicts: BTreeMap<(RecordType, NaiveDate), AuditDay> = store
        .audit_days(account, month.first_day(), month.last_day())
        .await?
        .into_iter()
        .map(|d| ((d.record_type, d.day), d))
        .collect();
    let watermarks = store.watermarks(account).await?;
    for &t in RecordType::ALL {
        match catalog.auditable(t) {
            Ok(_) => {
                let mut by_kind: BTreeMap<BlockerKind, Vec<NaiveDate>> = BTreeMap::new();
                for day in month.days() {
                    if let Some(kind) = judge(verdicts.get(&(t, day))) {
                        by_kind.entry(kind).or_default().push(day);
                    }
                }
                out.blockers
                    .extend(by_kind.into_iter().map(|(kind, days)| Blocker {
                        kind,
                        record_type: Some(t),
                        days,
                    }));
            }
            Err(not) => {
                if watermarks.get(&t).is_none_or(|w| *w < month.end()) {
                    out.blockers.push(Blocker {
                        kind: BlockerKind::NotWalked,
                        record_type: Some(t),
                        days: Vec::new(),
                    });
                }
                out.unproven.push(Unproven {
                    record_type: t,
                    reason: not.reason,
                });
            }
        }
    }
    out.blockers.sort();
    Ok(out)
}

/// Days as the operator reads them: `2026-11-01..2026-11-03, 2026-11-07`.
pub fn days_text(days: &[NaiveDate]) -> String {
    let mut runs: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for &d in days {
        match runs.last_mut() {
            Some((_, last)) if last.succ_opt() == Some(d) => *last = d,
            _ => runs.push((d, d)),
        }
    }
    runs.iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}..{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One blocker in one line: `sip-trunking: not settled on 2026-11-29..2026-11-30`.
pub fn blocker_text(b: &Blocker) -> String {
    let what = match b.kind {
        BlockerKind::MonthNotOver => "the month is not over",
        BlockerKind::AuditNeverRan => {
            "no run has read Telnyx's usage report yet: nothing is proven clean"
        }
        BlockerKind::NotAudited => "not audited",
        BlockerKind::NotSettled => "not settled (or a difference waits for its re-walk)",
        BlockerKind::Finding => "audit finding (a settled difference)",
        BlockerKind::NotWalked => "not walked up to the month's end (the audit cannot prove it)",
    };
    let mut out = match b.record_type {
        Some(t) => format!("{t}: {what}"),
        None => what.to_owned(),
    };
    if !b.days.is_empty() {
        out.push_str(&format!(" on {}", days_text(&b.days)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_written_as_runs() {
        let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap_or_default();
        assert_eq!(
            days_text(&[d(1), d(2), d(3), d(7), d(9), d(10)]),
            "2026-11-01..2026-11-03, 2026-11-07, 2026-11-09..2026-11-10"
        );
    }
}
