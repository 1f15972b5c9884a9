//! The run's operator-facing import-log messages, keyed by [`LogCode`]: detail records
//! (rule 15), the audit against Telnyx's usage report, time fields and call sessions.
//! Like the planner's (`plan/messages.rs`), each names what is involved and says what
//! the operator should do; the run decides *that* an entry is logged.

use crate::domain::RecordType;
use crate::plan::{LogCode, LogEntry};
use crate::ports::{AuditDay, AuditFigures, Distrust};
use crate::usage::NotAuditable;

// ---- detail records (rule 15) ----------------------------------------------------------

pub fn unmatched_detail_records(count: u64) -> LogEntry {
    LogEntry::new(
        LogCode::UnmatchedDetailRecords,
        format!(
            "{count} detail record(s) matched no customer (no known billing group, connection or number): they are stored under the billing customer and flagged 'unmatched'; check the connections and numbers reported above"
        ),
    )
}

pub fn duplicate_detail_records(count: u64) -> LogEntry {
    LogEntry::new(
        LogCode::DuplicateDetailRecords,
        format!(
            "{count} detail record(s) were received twice in this run and kept once; nothing to do (Telnyx pages newest first, so records arriving during a run can push a record onto the next page too)"
        ),
    )
}

/// Records stored without their raw JSON (logged by the sync run, from the store's count).
pub fn detail_records_raw_trimmed(record_type: RecordType, count: u64) -> LogEntry {
    LogEntry::new(
        LogCode::DetailRecordsRawTrimmed,
        format!(
            "{count} {record_type} detail record(s) were too large to store whole: stored with \
             their normalized fields and money, without Telnyx's raw JSON (flagged raw_trimmed)"
        ),
    )
}

// ---- billing truth -----------------------------------------------------------------

/// `12 records, 3600 seconds, cost 1.25` (what one side of the audit counted).
fn figures(f: &AuditFigures, unit: &str) -> String {
    let mut out = format!("{} record(s)", f.count);
    if let Some(q) = f.quantity {
        out.push_str(&format!(", {} {unit}", q.normalize()));
    }
    if let Some(c) = f.cost {
        out.push_str(&format!(", cost {}", c.normalize()));
    }
    out
}

/// `account … sip-trunking (`attempted`) on 2026-11-20: Telnyx's usage report counts …,
/// the stored records …`.
fn audit_difference(day: &AuditDay) -> String {
    let t = day.record_type;
    let product = if day.product.is_empty() {
        t.filter_name().to_owned()
    } else {
        format!("{} (`{}`)", day.product, day.count_metric)
    };
    format!(
        "account {} {product} on {}: Telnyx's usage report counts {}, the stored {t} records {}",
        day.account,
        day.day,
        figures(&day.telnyx, t.quantity_unit()),
        figures(&day.stored, t.quantity_unit()),
    )
}

/// A final difference (a finding): stored above Telnyx, or still short after a re-walk.
pub fn audit_mismatch(day: &AuditDay) -> LogEntry {
    let what = match &day.rewalk {
        Some(r) => format!(
            "the day was re-walked on {}: Telnyx served {} record(s), {} of them not stored before, and the gap remains",
            r.at.format("%Y-%m-%d %H:%M UTC"),
            r.read,
            r.stored
        ),
        None => "more is stored than Telnyx reports (never healed by deleting): check the report, or records stored under this account by mistake".to_owned(),
    };
    LogEntry::new(
        LogCode::AuditMismatch,
        format!("{}; {what}", audit_difference(day)),
    )
}

/// A difference that is not final: the day is not settled yet, or its re-walk is due.
pub fn audit_pending(day: &AuditDay) -> LogEntry {
    let why = if day.settled {
        "settled and short: the next runs re-walk the day before anyone is alerted"
    } else {
        "not settled yet (records and Telnyx's report may still be arriving): audited again on the next runs"
    };
    LogEntry::new(
        LogCode::AuditPending,
        format!("{}; {why}", audit_difference(day)),
    )
}

/// A short day a re-walk made clean.
pub fn audit_healed(day: &AuditDay) -> LogEntry {
    let (read, stored) = day.rewalk.as_ref().map_or((0, 0), |r| (r.read, r.stored));
    LogEntry::new(
        LogCode::AuditHealed,
        format!(
            "account {} {} on {}: Telnyx counted more than was stored; the day was re-walked ({read} record(s) read, {stored} stored now) and audits clean",
            day.account, day.record_type, day.day
        ),
    )
}

/// A walk found records where the usage report counted none.
pub fn usage_report_disagrees(d: &Distrust) -> LogEntry {
    LogEntry::new(
        LogCode::UsageReportDisagrees,
        format!(
            "{}: Telnyx's usage report counted no record from {} to {}, but the walk found {} (older than the type's publication delay); the report decides no skip of this type until an audit of it is clean again",
            d.record_type,
            d.window.from.format("%Y-%m-%d %H:%M UTC"),
            d.window.to.format("%Y-%m-%d %H:%M UTC"),
            d.found
        ),
    )
}

pub fn audit_clean(days: u64, types: u64, hidden: bool) -> LogEntry {
    let cost = if hidden {
        "; cost not compared where pricing is hidden (count and usage are)"
    } else {
        ""
    };
    LogEntry::new(
        LogCode::AuditClean,
        format!(
            "{days} day(s) across {types} record type(s) audited clean against Telnyx's usage report{cost}"
        ),
    )
}

pub fn audit_not_auditable(types: &[NotAuditable]) -> LogEntry {
    let names: Vec<String> = types
        .iter()
        .map(|n| format!("{} ({})", n.record_type, n.reason))
        .collect();
    LogEntry::new(
        LogCode::AuditNotAuditable,
        format!(
            "not auditable, so their completeness is not proven (they are walked every run, never skipped on the report's word): {}",
            names.join("; ")
        ),
    )
}

/// `evidence`: why records were expected, e.g. "Telnyx's usage report counts 3 in the
/// window".
pub fn time_field_discovered(t: RecordType, table: &str, found: &str, evidence: &str) -> LogEntry {
    LogEntry::new(
        LogCode::TimeFieldDiscovered,
        format!(
            "{t}: filtering on `{table}` returned no record while {evidence}; its records carry `{found}`, which this and later runs filter on (the type's table entry should be corrected)"
        ),
    )
}

pub fn record_type_silent(t: RecordType, field: &str, evidence: &str) -> LogEntry {
    LogEntry::new(
        LogCode::RecordTypeSilent,
        format!(
            "{t}: filtering on `{field}` returned no record while {evidence}, and its newest records carry no other time field; nothing imported for it (the audit reports the gap)"
        ),
    )
}

pub fn records_linked_by_session(linked: u64, relinked: u64) -> LogEntry {
    LogEntry::new(
        LogCode::RecordsLinkedBySession,
        format!(
            "{linked} record(s) without a connection were attributed through their call's session or leg id; {relinked} stored earlier were linked now that their call arrived"
        ),
    )
}
