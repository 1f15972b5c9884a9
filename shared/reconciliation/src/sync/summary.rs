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
