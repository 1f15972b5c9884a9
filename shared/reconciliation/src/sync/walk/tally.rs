//! What a run's walk did, counted as it goes: the summary and the run log read it.

use crate::domain::RecordType;
use crate::plan::{LogEntry, RecordTally};
use crate::ports::{Distrust, RecordWriteReport};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// What the walk read, wrote, skipped and found.
#[derive(Debug, Default)]
pub(crate) struct WalkTally {
    /// How its records were matched (rule 15, with call sessions).
    pub matched: RecordTally,
    /// Records read per type (re-reads included).
    pub fetched: BTreeMap<RecordType, u64>,
    pub written: RecordWriteReport,
    /// Records stored without their raw JSON, per type.
    pub raw_trimmed: BTreeMap<RecordType, u64>,
    /// Records given twice on one page (kept once).
    pub duplicates_in_pages: u64,
    /// Detail-record pages read.
    pub pages: u64,
    /// Types the usage report proved empty: not requested.
    pub skipped: Vec<RecordType>,
    /// Records attributed through their call's session or leg id.
    pub linked_by_session: u64,
    /// Import-log entries of the walk (time fields found, silent types, disagreements).
    pub entries: Vec<LogEntry>,
    /// Where each type's walk of this run began (the audit's first day).
    pub walked_from: BTreeMap<RecordType, DateTime<Utc>>,
    /// Usage reports a walk of this run found wrong.
    pub disagreements: Vec<Distrust>,
}

impl WalkTally {
    /// A window of `t` from `from` is walked (or skipped) by this run.
    pub fn walking(&mut self, t: RecordType, from: DateTime<Utc>) {
        let earliest = self.walked_from.entry(t).or_insert(from);
        *earliest = (*earliest).min(from);
    }
}
