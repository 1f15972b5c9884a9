//! What one run did: the invocation's response, its one summary log line and the
//! counts of its run log.

use super::RunContext;
use super::structure::Structure;
use super::walk::Walker;
use crate::domain::{ManagedAccountId, RecordType, RunId};
use crate::invocation::SyncRequest;
use crate::outbox::FlushReport;
use crate::plan::{LogEntry, messages};
use crate::ports::{ApplyReport, RecordWriteReport, RunOutcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Records fetched per record type (filter name).
    pub fetched: BTreeMap<String, u64>,
    pub records: RecordWriteReport,
    pub unmatched_records: u64,
    /// Detail-record pages requested.
    pub pages: u64,
    /// Types the usage report showed no record for (not requested).
    pub skipped_types: Vec<RecordType>,
    /// Types left for a continuation (empty when complete).
    pub remaining_types: Vec<RecordType>,
    pub emails: FlushReport,
    pub log: Vec<LogEntry>,
    /// How this run's records were matched (rule 15 of docs/mapping-rules.md, with call
    /// sessions).
    #[serde(default)]
    pub tally: crate::plan::RecordTally,
    /// Records stored by earlier runs linked to their call by this one.
    #[serde(default)]
    pub records_relinked: u64,
    /// Days audited clean / mismatched by this run, and the verdict in words.
    #[serde(default)]
    pub audit_clean_days: u64,
    #[serde(default)]
    pub audit_mismatched_days: u64,
    /// Of those, the findings: settled, and not closed by a re-walk (stored above
    /// Telnyx's, or still short after one). The alarm's metric.
    #[serde(default)]
    pub audit_settled_mismatches: u64,
    /// Short days a re-walk of this run made clean.
    #[serde(default)]
    pub audit_healed_days: u64,
    /// Record types that cannot be audited: `type: reason`.
    #[serde(default)]
    pub audit_not_auditable: Vec<String>,
    /// Types whose usage report a walk of this run found wrong (`USAGE_REPORT_DISAGREES`).
    #[serde(default)]
    pub usage_report_disagreements: u64,
    #[serde(default)]
    pub audit: String,
}

impl RunSummary {
    /// A run that found another run holding the account's lease: it did nothing.
    pub fn skipped(account: &ManagedAccountId, run_id: &RunId, held_by: &RunId) -> Self {
        Self {
            account: account.clone(),
            run_id: run_id.clone(),
            dry_run: false,
            outcome: RunOutcome::Skipped {
                held_by: held_by.to_string(),
            },
            plan: String::new(),
            actions: 0,
            applied: ApplyReport::default(),
            fetched: BTreeMap::new(),
            records: RecordWriteReport::default(),
            unmatched_records: 0,
            pages: 0,
            skipped_types: Vec::new(),
            remaining_types: Vec::new(),
            emails: FlushReport::default(),
            log: Vec::new(),
            tally: crate::plan::RecordTally::default(),
            records_relinked: 0,
            audit_clean_days: 0,
            audit_mismatched_days: 0,
            audit_settled_mismatches: 0,
            audit_healed_days: 0,
            audit_not_auditable: Vec::new(),
            usage_report_disagreements: 0,
            audit: "not audited".to_owned(),
        }
    }

    /// The share of this run's records attributed to an end customer, in percent.
    pub fn attribution_rate(&self) -> Option<f64> {
        self.tally.attribution_rate()
    }

    /// Adds what the billing checks of a complete run did: the audit's verdicts (and the
    /// types it cannot judge, with their reasons).
    pub(super) fn add_billing(
        &mut self,
        relinked: u64,
        audit: Option<&crate::billing::audit::AuditReport>,
        not_auditable: &[crate::usage::NotAuditable],
    ) {
        self.records_relinked = relinked;
        if relinked > 0 || self.tally.session > 0 {
            self.log.push(messages::records_linked_by_session(
                self.tally.session,
                relinked,
            ));
        }
        let Some(audit) = audit else {
            return;
        };
        self.audit_clean_days = audit.clean();
        self.audit_mismatched_days = audit.mismatched();
        self.audit_settled_mismatches = audit.findings();
        self.audit_healed_days = audit.healed.len() as u64;
        self.audit = audit.verdict();
        for day in &audit.days {
            if day.is_finding() {
                self.log.push(messages::audit_mismatch(day));
            } else if day.verdict == crate::ports::AuditVerdict::Mismatch {
                self.log.push(messages::audit_pending(day));
            }
        }
        for day in &audit.healed {
            self.log.push(messages::audit_healed(day));
        }
        if audit.clean() > 0 {
            let types: std::collections::BTreeSet<_> = audit
                .days
                .iter()
                .filter(|d| d.verdict == crate::ports::AuditVerdict::Clean)
                .map(|d| d.record_type)
                .collect();
            let hidden = audit.days.iter().any(|d| d.stored.hidden_pricing > 0);
            self.log.push(messages::audit_clean(
                audit.clean(),
                types.len() as u64,
                hidden,
            ));
        }
        self.audit_not_auditable = not_auditable
            .iter()
            .map(|n| format!("{}: {}", n.record_type, n.reason))
            .collect();
        if !not_auditable.is_empty() {
            self.log.push(messages::audit_not_auditable(not_auditable));
        }
    }

    pub(super) fn of(
        request: &SyncRequest,
        ctx: &RunContext,
        structure: &Structure<'_>,
        walker: &Walker<'_>,
        emails: FlushReport,
        outcome: RunOutcome,
        remaining_types: Vec<RecordType>,
    ) -> Self {
        let mut diff = structure.diff(request.dry_run);
        diff.tally = walker.tally;
        let mut log = diff.log.clone();
        log.extend(record_entries(walker));
        log.extend(walker.entries.iter().cloned());
        diff.log.clone_from(&log);
        Self {
            account: request.managed_account_id.clone(),
            run_id: ctx.run_id.clone(),
            dry_run: request.dry_run,
            outcome,
            plan: diff.render_diff(),
            actions: diff.actions.len(),
            applied: structure.report.clone(),
            fetched: walker
                .fetched
                .iter()
                .map(|(t, n)| (t.to_string(), *n))
                .collect(),
            records: walker.written.clone(),
            unmatched_records: walker.tally.unmatched,
            pages: walker.pages,
            skipped_types: walker.skipped.clone(),
            remaining_types,
            emails,
            log,
            tally: walker.tally,
            records_relinked: 0,
            audit_clean_days: 0,
            audit_mismatched_days: 0,
            audit_settled_mismatches: 0,
            audit_healed_days: 0,
            audit_not_auditable: Vec::new(),
            usage_report_disagreements: walker.disagreements.len() as u64,
            audit: "not audited".to_owned(),
        }
    }

    /// The run log's counts.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut c = BTreeMap::new();
        c.insert("actions".into(), self.actions as u64);
        c.insert("created".into(), self.applied.created);
        c.insert("updated".into(), self.applied.updated);
        c.insert("already_existed".into(), self.applied.already_existed);
        c.insert("records_fetched".into(), self.fetched.values().sum());
        c.insert("records_written".into(), self.records.written);
        c.insert("records_duplicate".into(), self.records.duplicates);
        c.insert("records_raw_trimmed".into(), self.records.raw_trimmed);
        c.insert("records_unmatched".into(), self.unmatched_records);
        c.insert(
            "records_attributed".into(),
            self.tally.total() - self.tally.unmatched,
        );
        c.insert("records_linked_by_session".into(), self.tally.session);
        c.insert("records_relinked".into(), self.records_relinked);
        c.insert("audit_days_clean".into(), self.audit_clean_days);
        c.insert("audit_days_mismatched".into(), self.audit_mismatched_days);
        c.insert("audit_findings".into(), self.audit_settled_mismatches);
        c.insert("audit_days_healed".into(), self.audit_healed_days);
        c.insert(
            "record_types_not_auditable".into(),
            self.audit_not_auditable.len() as u64,
        );
        c.insert(
            "usage_report_disagreements".into(),
            self.usage_report_disagreements,
        );
        c.insert("detail_record_pages".into(), self.pages);
        c.insert(
            "record_types_skipped".into(),
            self.skipped_types.len() as u64,
        );
        c.insert("emails_sent".into(), self.emails.sent);
        c.insert("emails_failed".into(), self.emails.failed);
        c
    }
}

/// The import-log entries about the run's records.
fn record_entries(walker: &Walker<'_>) -> Vec<LogEntry> {
    let mut out = Vec::new();
    if walker.tally.unmatched > 0 {
        out.push(messages::unmatched_detail_records(walker.tally.unmatched));
    }
    if walker.duplicates_in_pages > 0 {
        out.push(messages::duplicate_detail_records(
            walker.duplicates_in_pages,
        ));
    }
    for (t, n) in walker.raw_trimmed.iter().filter(|(_, n)| **n > 0) {
        out.push(messages::detail_records_raw_trimmed(*t, *n));
    }
    out
}
