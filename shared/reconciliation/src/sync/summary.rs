//! What one run did: the invocation's response ([`RunSummary`], serialized by
//! [`SummaryJson`] as one JSON object), its one summary log line and the counts of its
//! run log ([`RunCounts`]).

use super::messages;
use super::run::Job;
use super::structure::Structure;
use super::walk::WalkTally;
use crate::billing::audit::{AuditReport, AuditTotals};
use crate::domain::{ManagedAccountId, RecordType, RunId};
use crate::outbox::FlushReport;
use crate::plan::{LogEntry, RecordTally};
use crate::ports::{ApplyReport, RecordWriteReport, RunOutcome};
use crate::usage::NotAuditable;
use serde::Serialize;
use std::collections::BTreeMap;

/// What one run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub account: ManagedAccountId,
    pub run_id: RunId,
    pub dry_run: bool,
    /// Complete, partial (stopped at the deadline; continued or not), or skipped.
    pub outcome: RunOutcome,
    /// The run's plan as a readable diff (in a dry run, its whole output).
    pub plan: String,
    pub actions: usize,
    pub applied: ApplyReport,
    /// Records fetched per record type.
    pub fetched: BTreeMap<RecordType, u64>,
    pub records: RecordWriteReport,
    /// Detail-record pages requested.
    pub pages: u64,
    /// Types the usage report proved empty (not requested).
    pub skipped_types: Vec<RecordType>,
    /// Types left for a continuation (empty when complete).
    pub remaining_types: Vec<RecordType>,
    pub emails: FlushReport,
    pub log: Vec<LogEntry>,
    /// How this run's records were matched (rule 15 of docs/mapping-rules.md, with call
    /// sessions).
    pub tally: RecordTally,
    /// Records stored by earlier runs linked to their call by this one.
    pub records_relinked: u64,
    /// What the completeness audit concluded (`None`: not audited).
    pub audit: Option<AuditTotals>,
    /// Record types the audit cannot prove, with the reason.
    pub not_auditable: Vec<NotAuditable>,
    /// Usage reports a walk of this run found wrong (`USAGE_REPORT_DISAGREES`).
    pub usage_report_disagreements: u64,
}

/// How a run ended.
pub(super) struct Ended {
    pub outcome: RunOutcome,
    pub remaining_types: Vec<RecordType>,
    pub emails: FlushReport,
}

/// What the billing checks of a complete run did.
#[derive(Default)]
pub(super) struct Billing {
    pub relinked: u64,
    pub audit: Option<AuditReport>,
    pub not_auditable: Vec<NotAuditable>,
}

impl RunSummary {
    /// A run that did nothing yet.
    fn blank(account: &ManagedAccountId, run_id: &RunId, outcome: RunOutcome) -> Self {
        Self {
            account: account.clone(),
            run_id: run_id.clone(),
            dry_run: false,
            outcome,
            plan: String::new(),
            actions: 0,
            applied: ApplyReport::default(),
            fetched: BTreeMap::new(),
            records: RecordWriteReport::default(),
            pages: 0,
            skipped_types: Vec::new(),
            remaining_types: Vec::new(),
            emails: FlushReport::default(),
            log: Vec::new(),
            tally: RecordTally::default(),
            records_relinked: 0,
            audit: None,
            not_auditable: Vec::new(),
            usage_report_disagreements: 0,
        }
    }

    /// A run that found another run holding the account's lease: it did nothing.
    pub fn skipped(account: &ManagedAccountId, run_id: &RunId, held_by: &RunId) -> Self {
        let outcome = RunOutcome::Skipped {
            held_by: held_by.to_string(),
        };
        Self::blank(account, run_id, outcome)
    }

    /// The summary of a run that walked: the plan's diff and the walk's counts, the
    /// run-log entries about its records and the billing checks.
    pub(super) fn of(
        job: &Job<'_>,
        structure: &Structure<'_>,
        walk: &WalkTally,
        ended: Ended,
        billing: Billing,
    ) -> Self {
        let mut diff = structure.diff(job.request.dry_run);
        diff.tally = walk.matched;
        diff.log.extend(record_entries(walk));
        diff.log.extend(walk.entries.iter().cloned());
        let mut summary = Self {
            dry_run: job.request.dry_run,
            plan: diff.render_diff(),
            actions: diff.actions.len(),
            applied: structure.report.clone(),
            fetched: walk.fetched.clone(),
            records: walk.written.clone(),
            pages: walk.pages,
            skipped_types: walk.skipped.clone(),
            remaining_types: ended.remaining_types,
            emails: ended.emails,
            log: diff.log,
            tally: walk.matched,
            usage_report_disagreements: walk.disagreements.len() as u64,
            ..Self::blank(job.account(), &job.ctx.run_id, ended.outcome)
        };
        summary.add_billing(billing);
        summary
    }

    /// Records that matched no customer.
    pub fn unmatched_records(&self) -> u64 {
        self.tally.unmatched
    }

    /// The types the audit cannot prove, `type: reason` each.
    pub fn not_auditable_lines(&self) -> Vec<String> {
        self.not_auditable
            .iter()
            .map(|n| format!("{}: {}", n.record_type, n.reason))
            .collect()
    }

    /// The audit's figures (all zero when not audited).
    pub fn audit_totals(&self) -> AuditTotals {
        self.audit.unwrap_or_default()
    }

    /// The share of this run's records attributed to an end customer, in percent.
    pub fn attribution_rate(&self) -> Option<f64> {
        self.tally.attribution_rate()
    }

    /// Adds what the billing checks of a complete run did: the audit's verdicts (and the
    /// types it cannot judge, with their reasons).
    fn add_billing(&mut self, billing: Billing) {
        self.records_relinked = billing.relinked;
        if billing.relinked > 0 || self.tally.session > 0 {
            self.log.push(messages::records_linked_by_session(
                self.tally.session,
                billing.relinked,
            ));
        }
        let Some(audit) = billing.audit else {
            return;
        };
        self.audit = Some(audit.totals());
        self.log.extend(audit_entries(&audit));
        if !billing.not_auditable.is_empty() {
            self.log
                .push(messages::audit_not_auditable(&billing.not_auditable));
        }
        self.not_auditable = billing.not_auditable;
    }

    /// The run log's counts.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let counts = RunCounts::of(self);
        match serde_json::to_value(counts) {
            Ok(serde_json::Value::Object(map)) => map
                .into_iter()
                .filter_map(|(k, v)| Some((k, v.as_u64()?)))
                .collect(),
            _ => BTreeMap::new(),
        }
    }
}

/// The import-log entries about the run's records.
fn record_entries(walk: &WalkTally) -> Vec<LogEntry> {
    let mut out = Vec::new();
    if walk.matched.unmatched > 0 {
        out.push(messages::unmatched_detail_records(walk.matched.unmatched));
    }
    if walk.duplicates_in_pages > 0 {
        out.push(messages::duplicate_detail_records(walk.duplicates_in_pages));
    }
    for (t, n) in walk.raw_trimmed.iter().filter(|(_, n)| **n > 0) {
        out.push(messages::detail_records_raw_trimmed(*t, *n));
    }
    out
}

/// The import-log entries of the audit: each finding, each difference not final yet,
/// each healed day, and the clean days in one line.
fn audit_entries(audit: &AuditReport) -> Vec<LogEntry> {
    let mut out = Vec::new();
    for day in &audit.days {
        if day.is_finding() {
            out.push(messages::audit_mismatch(day));
        } else if day.verdict == crate::ports::AuditVerdict::Mismatch {
            out.push(messages::audit_pending(day));
        }
    }
    out.extend(audit.healed.iter().map(messages::audit_healed));
    if audit.clean() > 0 {
        let types: std::collections::BTreeSet<_> = audit
            .days
            .iter()
            .filter(|d| d.verdict == crate::ports::AuditVerdict::Clean)
            .map(|d| d.record_type)
            .collect();
        let hidden = audit.days.iter().any(|d| d.stored.hidden_pricing > 0);
        out.push(messages::audit_clean(
            audit.clean(),
            types.len() as u64,
            hidden,
        ));
    }
    out
}

/// The counts a run log keeps (stable names: dashboards and the CLI read them).
#[derive(Debug, Serialize)]
struct RunCounts {
    actions: u64,
    created: u64,
    updated: u64,
    already_existed: u64,
    records_fetched: u64,
    records_written: u64,
    records_duplicate: u64,
    records_raw_trimmed: u64,
    records_unmatched: u64,
    records_attributed: u64,
    records_linked_by_session: u64,
    records_relinked: u64,
    audit_days_clean: u64,
    audit_days_mismatched: u64,
    audit_findings: u64,
    audit_days_healed: u64,
    record_types_not_auditable: u64,
    usage_report_disagreements: u64,
    detail_record_pages: u64,
    record_types_skipped: u64,
    emails_sent: u64,
    emails_failed: u64,
}

impl RunCounts {
    fn of(s: &RunSummary) -> Self {
        let audit = s.audit_totals();
        Self {
            actions: s.actions as u64,
            created: s.applied.created,
            updated: s.applied.updated,
            already_existed: s.applied.already_existed,
            records_fetched: s.fetched.values().sum(),
            records_written: s.records.written,
            records_duplicate: s.records.duplicates,
            records_raw_trimmed: s.records.raw_trimmed,
            records_unmatched: s.tally.unmatched,
            records_attributed: s.tally.total() - s.tally.unmatched,
            records_linked_by_session: s.tally.session,
            records_relinked: s.records_relinked,
            audit_days_clean: audit.clean,
            audit_days_mismatched: audit.mismatched,
            audit_findings: audit.findings,
            audit_days_healed: audit.healed,
            record_types_not_auditable: s.not_auditable.len() as u64,
            usage_report_disagreements: s.usage_report_disagreements,
            detail_record_pages: s.pages,
            record_types_skipped: s.skipped_types.len() as u64,
            emails_sent: s.emails.sent,
            emails_failed: s.emails.failed,
        }
    }
}

/// A run summary as the invocation answers it: today's JSON, its derived figures
/// (unmatched records, the audit's days and verdict in words) written out.
#[derive(Serialize)]
struct SummaryJson<'a> {
    account: &'a ManagedAccountId,
    run_id: &'a RunId,
    dry_run: bool,
    outcome: &'a RunOutcome,
    plan: &'a str,
    actions: usize,
    applied: &'a ApplyReport,
    fetched: &'a BTreeMap<RecordType, u64>,
    records: &'a RecordWriteReport,
    unmatched_records: u64,
    pages: u64,
    skipped_types: &'a [RecordType],
    remaining_types: &'a [RecordType],
    emails: &'a FlushReport,
    log: &'a [LogEntry],
    tally: &'a RecordTally,
    records_relinked: u64,
    audit_clean_days: u64,
    audit_mismatched_days: u64,
    audit_settled_mismatches: u64,
    audit_healed_days: u64,
    audit_not_auditable: Vec<String>,
    usage_report_disagreements: u64,
    audit: String,
}

impl Serialize for RunSummary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let audit = self.audit_totals();
        SummaryJson {
            account: &self.account,
            run_id: &self.run_id,
            dry_run: self.dry_run,
            outcome: &self.outcome,
            plan: &self.plan,
            actions: self.actions,
            applied: &self.applied,
            fetched: &self.fetched,
            records: &self.records,
            unmatched_records: self.unmatched_records(),
            pages: self.pages,
            skipped_types: &self.skipped_types,
            remaining_types: &self.remaining_types,
            emails: &self.emails,
            log: &self.log,
            tally: &self.tally,
            records_relinked: self.records_relinked,
            audit_clean_days: audit.clean,
            audit_mismatched_days: audit.mismatched,
            audit_settled_mismatches: audit.findings,
            audit_healed_days: audit.healed,
            audit_not_auditable: self.not_auditable_lines(),
            usage_report_disagreements: self.usage_report_disagreements,
            audit: audit.to_string(),
        }
        .serialize(serializer)
    }
}
