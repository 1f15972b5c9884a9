//! CloudWatch metrics as Embedded Metric Format (EMF) log lines: one JSON object per
//! run that CloudWatch Logs turns into metrics, with no API call and no extra
//! permission. Pure: the functions print the lines ([`MetricLine::to_json`]).
//!
//! Namespace [`NAMESPACE`]. Dimensions are kept few on purpose (every distinct
//! dimension value is a billed custom metric): `Function`, `Function × Outcome`, and
//! `Function × Code` for import-log entries. The account id is a property of every
//! line (searchable with Logs Insights), not a dimension: 3,000 accounts would be
//! 3,000 metrics per figure.

use crate::domain::ManagedAccountId;
use crate::plan::{LogEntry, Severity};
use crate::ports::{RequestCounts, RunOutcome};
use crate::schedule::ScheduleReport;
use crate::sync::{RunSummary, SyncError};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "TelnyxBillingSync";

/// CloudWatch units used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Percent,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Percent => "Percent",
        }
    }
}

/// One EMF object: dimension sets over its dimension values, metrics, properties.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricLine {
    pub dimensions: Vec<(&'static str, String)>,
    /// Dimension sets, each naming keys of `dimensions`.
    pub dimension_sets: Vec<Vec<&'static str>>,
    pub metrics: Vec<(&'static str, f64, Unit)>,
    /// Searchable fields that are not dimensions (account id, run id).
    pub properties: Vec<(&'static str, String)>,
}

impl MetricLine {
    /// The EMF JSON object, stamped `at`.
    pub fn to_json(&self, at: DateTime<Utc>) -> Value {
        let mut root = Map::new();
        for (k, v) in self.dimensions.iter().chain(&self.properties) {
            root.insert((*k).to_owned(), Value::String(v.clone()));
        }
        for (name, value, _) in &self.metrics {
            root.insert((*name).to_owned(), json!(value));
        }
        let definitions: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, _, unit)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": at.timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": self.dimension_sets,
                    "Metrics": definitions,
                }],
            }),
        );
        Value::Object(root)
    }
}

/// The outcome as a dimension value.
fn outcome_name(outcome: &RunOutcome) -> &'static str {
    match outcome {
        RunOutcome::Complete => "complete",
        RunOutcome::Partial { .. } => "partial",
        RunOutcome::Skipped { .. } => "skipped",
        RunOutcome::Failed { .. } => "failed",
    }
}

fn count(n: u64) -> f64 {
    n as f64
}

/// Share of the run's records attributed to a customer, service or billing group, in
/// percent (100 when there were none).
pub fn attribution_rate(summary: &RunSummary) -> f64 {
    summary
        .attribution_rate()
        .map_or(100.0, |rate| (rate * 10.0).round() / 10.0)
}

fn account_sync_line(
    account: &ManagedAccountId,
    run_id: &str,
    outcome: &'static str,
    metrics: Vec<(&'static str, f64, Unit)>,
) -> MetricLine {
    MetricLine {
        dimensions: vec![
            ("Function", "account-sync".to_owned()),
            ("Outcome", outcome.to_owned()),
        ],
        dimension_sets: vec![vec!["Function"], vec!["Function", "Outcome"]],
        metrics,
        properties: vec![
            ("AccountId", account.to_string()),
            ("RunId", run_id.to_owned()),
        ],
    }
}

/// The lines of one finished run: its figures, then one per import-log code, then one
/// per record type read.
pub fn sync_run(summary: &RunSummary, duration_ms: u64, telnyx: RequestCounts) -> Vec<MetricLine> {
    let outcome = outcome_name(&summary.outcome);
    let (warnings, errors) = severities(&summary.log);
    let a = &summary.applied;
    let mut metrics = vec![
        ("Runs", 1.0, Unit::Count),
        (
            "RecordsImported",
            count(summary.records.written),
            Unit::Count,
        ),
        (
            "RecordsDuplicate",
            count(summary.records.duplicates),
            Unit::Count,
        ),
        (
            "RecordsUnmatched",
            count(summary.unmatched_records()),
            Unit::Count,
        ),
        ("AttributionRate", attribution_rate(summary), Unit::Percent),
        (
            "RecordsLinkedBySession",
            count(summary.tally.session),
            Unit::Count,
        ),
        (
            "RecordsRelinked",
            count(summary.records_relinked),
            Unit::Count,
        ),
        ("EntitiesCreated", count(a.created), Unit::Count),
        ("CustomersCreated", count(a.customers_created), Unit::Count),
        ("ServicesCreated", count(a.services_created), Unit::Count),
        ("TwinsCreated", count(a.twins_created), Unit::Count),
        (
            "CustomerEmailsQueued",
            count(a.notifications_queued),
            Unit::Count,
        ),
        ("Warnings", count(warnings), Unit::Count),
        ("Errors", count(errors), Unit::Count),
        ("DetailRecordPages", count(summary.pages), Unit::Count),
        ("TelnyxRequests", count(telnyx.requests), Unit::Count),
        ("TelnyxThrottled", count(telnyx.throttled), Unit::Count),
        ("EmailsSent", count(summary.emails.sent), Unit::Count),
        ("EmailsFailed", count(summary.emails.failed), Unit::Count),
        ("KeyProblems", 0.0, Unit::Count),
        ("DurationMs", count(duration_ms), Unit::Milliseconds),
    ];
    metrics.extend(audit_metrics(summary));
    let mut lines = vec![account_sync_line(
        &summary.account,
        summary.run_id.as_str(),
        outcome,
        metrics,
    )];
    lines.extend(by_code(&summary.account, &summary.log));
    lines.extend(by_record_type(&summary.account, &summary.fetched));
    lines
}

/// One line per record type read: `RecordsRead` (rows Telnyx served, re-reads
/// included) by `Function × RecordType`.
fn by_record_type(
    account: &ManagedAccountId,
    fetched: &BTreeMap<crate::domain::RecordType, u64>,
) -> Vec<MetricLine> {
    fetched
        .iter()
        .map(|(record_type, n)| MetricLine {
            dimensions: vec![
                ("Function", "account-sync".to_owned()),
                ("RecordType", record_type.to_string()),
            ],
            dimension_sets: vec![vec!["Function", "RecordType"]],
            metrics: vec![("RecordsRead", count(*n), Unit::Count)],
            properties: vec![("AccountId", account.to_string())],
        })
        .collect()
}

/// The completeness audit's figures of a run.
fn audit_metrics(summary: &RunSummary) -> Vec<(&'static str, f64, Unit)> {
    let audit = summary.audit_totals();
    vec![
        ("AuditDaysClean", count(audit.clean), Unit::Count),
        ("AuditDaysMismatched", count(audit.mismatched), Unit::Count),
        ("AuditMismatchesSettled", count(audit.findings), Unit::Count),
        ("AuditDaysHealed", count(audit.healed), Unit::Count),
        (
            "AuditTypesNotAuditable",
            count(summary.not_auditable.len() as u64),
            Unit::Count,
        ),
        (
            "UsageReportDisagreements",
            count(summary.usage_report_disagreements),
            Unit::Count,
        ),
    ]
}

/// The line of a failed run: `Runs` with outcome `failed`, and `KeyProblems` when
/// Telnyx refused the key.
pub fn sync_failure(
    account: &ManagedAccountId,
    run_id: &str,
    error: &SyncError,
    duration_ms: u64,
    telnyx: RequestCounts,
) -> MetricLine {
    let key_problem = error.is_key_problem();
    account_sync_line(
        account,
        run_id,
        "failed",
        vec![
            ("Runs", 1.0, Unit::Count),
            (
                "KeyProblems",
                if key_problem { 1.0 } else { 0.0 },
                Unit::Count,
            ),
            ("TelnyxRequests", count(telnyx.requests), Unit::Count),
            ("TelnyxThrottled", count(telnyx.throttled), Unit::Count),
            ("DurationMs", count(duration_ms), Unit::Milliseconds),
        ],
    )
}

fn severities(log: &[LogEntry]) -> (u64, u64) {
    let of = |s: Severity| log.iter().filter(|e| e.severity == s).count() as u64;
    (of(Severity::Warning), of(Severity::Error))
}

/// One line per import-log code present: `ImportLogEntries` by `Function × Code`.
fn by_code(account: &ManagedAccountId, log: &[LogEntry]) -> Vec<MetricLine> {
    let mut codes: BTreeMap<String, u64> = BTreeMap::new();
    for entry in log.iter().filter(|e| e.severity != Severity::Info) {
        *codes.entry(entry.code.to_string()).or_default() += 1;
    }
    codes
        .into_iter()
        .map(|(code, n)| MetricLine {
            dimensions: vec![("Function", "account-sync".to_owned()), ("Code", code)],
            dimension_sets: vec![vec!["Function", "Code"]],
            metrics: vec![("ImportLogEntries", n as f64, Unit::Count)],
            properties: vec![("AccountId", account.to_string())],
        })
        .collect()
}

/// The scheduler's tick: accounts listed, dispatched, busy, unknown, alerted.
pub fn schedule_tick(
    report: Option<&ScheduleReport>,
    key_problem: bool,
    duration_ms: u64,
) -> MetricLine {
    let n = |f: fn(&ScheduleReport) -> usize| report.map_or(0.0, |r| f(r) as f64);
    MetricLine {
        dimensions: vec![
            ("Function", "scheduler".to_owned()),
            (
                "Outcome",
                if report.is_some() {
                    "complete"
                } else {
                    "failed"
                }
                .to_owned(),
            ),
        ],
        dimension_sets: vec![vec!["Function"], vec!["Function", "Outcome"]],
        metrics: vec![
            ("Ticks", 1.0, Unit::Count),
            ("AccountsListed", n(|r| r.accounts_listed), Unit::Count),
            ("AccountsDispatched", n(|r| r.dispatched.len()), Unit::Count),
            ("AccountsBusy", n(|r| r.busy.len()), Unit::Count),
            ("AccountsUnknown", n(|r| r.unknown.len()), Unit::Count),
            ("AccountsAlerted", n(|r| r.alerted.len()), Unit::Count),
            ("AccountsOffboarded", n(|r| r.offboarded.len()), Unit::Count),
            (
                "AccountsNotListed",
                n(|r| r.onboarded_not_listed.len()),
                Unit::Count,
            ),
            (
                "EmailsFailed",
                report.map_or(0.0, |r| r.emails.failed as f64),
                Unit::Count,
            ),
            (
                "KeyProblems",
                if key_problem { 1.0 } else { 0.0 },
                Unit::Count,
            ),
            ("DurationMs", duration_ms as f64, Unit::Milliseconds),
        ],
        properties: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
