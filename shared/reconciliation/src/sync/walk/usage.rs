//! The usage report before a type's window is walked. A type is skipped only on
//! **positive evidence**: its report answered with a confirmed count of zero for the
//! window ([`crate::usage::evidence`]), its last walk is younger than
//! [`crate::sync::SyncSettings::full_walk`], and its report has not disagreed with a walk
//! of this account. A missing metric, an unconfirmed count, an unknown product or an
//! unreadable report mean walk.
//!
//! A walk of a window the report proved empty that finds records older than the type's
//! publication delay is a `USAGE_REPORT_DISAGREES` finding: from then on the report
//! decides no skip of that type for the account, until an audit of it is clean again.
//!
//! The count the report shows is also what an empty walk is checked against (a wrong
//! time field).

use super::Walker;
use crate::domain::{DetailRecord, RecordType};
use crate::ports::{Distrust, TimeWindow};
use crate::sync::SyncError;
use crate::usage::{Evidence, evidence};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// What `UsageGate::expected` holds for a type the report shows usage of, without a
/// count.
pub(super) const USAGE_WITHOUT_COUNT: u64 = u64::MAX;

/// A usage report read in a run: the type and its window's bounds.
type UsageKey = (RecordType, DateTime<Utc>, DateTime<Utc>);

/// What the usage report said in this run, and what it decides.
#[derive(Debug, Default)]
pub(super) struct UsageGate {
    /// Records the usage report counts in the window being walked, per type (when read).
    pub expected: BTreeMap<RecordType, u64>,
    /// Usage reports read this run: (type, window) → what they said.
    seen: BTreeMap<UsageKey, Evidence>,
    /// Types whose report this account does not trust now (it disagreed with a walk).
    pub distrusted: BTreeMap<RecordType, Distrust>,
    /// Types walked although their report proved them empty (their last walk was too
    /// old, or their report is distrusted): the window the report spoke for.
    said_none: BTreeMap<RecordType, TimeWindow>,
    /// Of those, the records the walk found that the report should have counted (older
    /// than the type's publication delay).
    contradicted: BTreeMap<RecordType, u64>,
    /// Whether call-session links are written (decided once per run).
    links_wanted: Option<bool>,
}

impl Walker<'_> {
    /// What the usage report says of `record_type` in `window`: the scheduler's hint,
    /// else the account's own report (asked once per run and window).
    async fn evidence(&mut self, record_type: RecordType, window: TimeWindow) -> Evidence {
        let key = (record_type, window.from, window.to);
        if let Some(seen) = self.usage.seen.get(&key) {
            return seen.clone();
        }
        let seen = match &self.run.request.usage {
            Some(hint) if hint.covers(record_type, &window) => {
                if hint.with_usage.contains(&record_type) {
                    Evidence::Records { count: None }
                } else if hint.shows_nothing(record_type, &window) {
                    Evidence::NoRecords
                } else {
                    Evidence::Unknown(
                        "the scheduler's report shows no usage, but its count is not confirmed"
                            .to_owned(),
                    )
                }
            }
            _ => {
                evidence::of_account(
                    self.run.ports,
                    self.run.key,
                    self.run.catalog,
                    record_type,
                    window,
                )
                .await
            }
        };
        if let Evidence::Unknown(why) = &seen {
            tracing::debug!(account_id = %self.run.account(), record_type = %record_type, reason = %why, "usage report proves nothing; walking the type");
        }
        self.usage.seen.insert(key, seen.clone());
        seen
    }

    /// True when `record_type` may be skipped in `window`: its report proves it empty,
    /// its last walk is recent enough, and its report is trusted. Remembers what the
    /// report counted (an empty walk is checked against it), and, for a type walked in
    /// spite of a report of none, that the walk is a test of the report.
    pub(super) async fn shows_no_usage(
        &mut self,
        record_type: RecordType,
        window: TimeWindow,
    ) -> bool {
        self.usage.expected.remove(&record_type);
        match self.evidence(record_type, window).await {
            Evidence::NoRecords => {
                let recent = self
                    .streams
                    .watermarks
                    .get(&record_type)
                    .is_some_and(|w| self.run.started - *w < self.run.settings.full_walk);
                if recent && !self.usage.distrusted.contains_key(&record_type) {
                    return true;
                }
                self.usage.said_none.insert(record_type, window);
                false
            }
            Evidence::Records { count } => {
                self.usage
                    .expected
                    .insert(record_type, count.unwrap_or(USAGE_WITHOUT_COUNT));
                false
            }
            Evidence::Unknown(_) => false,
        }
    }

    /// Whether this run writes call-session links: only while records wait for their
    /// call, or unless every type whose records name only their call is proven empty in
    /// `window` (else nobody would read them, and an account of calls alone would pay a
    /// write per call for nothing).
    pub(super) async fn wants_links(&mut self, window: TimeWindow) -> bool {
        if let Some(wanted) = self.usage.links_wanted {
            return wanted;
        }
        // Records stored earlier still wait for their call: its link is wanted.
        let mut wanted = self
            .run
            .ports
            .store
            .orphans(self.run.account(), 1)
            .await
            .map_or(true, |o| !o.is_empty());
        for &t in RecordType::ALL.iter().filter(|t| t.names_its_call()) {
            if wanted {
                break;
            }
            wanted = self.evidence(t, window).await != Evidence::NoRecords;
        }
        self.usage.links_wanted = Some(wanted);
        wanted
    }

    /// The types whose report this account distrusts.
    pub(super) async fn distrusts(&self) -> Result<BTreeMap<RecordType, Distrust>, SyncError> {
        Ok(self
            .run
            .ports
            .store
            .distrusts(self.run.account())
            .await
            .map_err(SyncError::store(
                self.run.account(),
                "reading the distrusted usage reports",
            ))?
            .into_iter()
            .map(|d| (d.record_type, d))
            .collect())
    }

    /// The reports of `types` are trusted again (an audit of each was clean): each one
    /// this account distrusted decides skips again.
    pub(crate) async fn trust_again(&mut self, types: &[RecordType]) -> Result<(), SyncError> {
        for t in types {
            if self.usage.distrusted.remove(t).is_none() || !self.run.writes() {
                continue;
            }
            tracing::info!(account_id = %self.run.account(), record_type = %t, "usage report audits clean again: trusted");
            self.run
                .ports
                .store
                .trust_again(self.run.account(), *t)
                .await
                .map_err(SyncError::store(
                    self.run.account(),
                    "trusting a usage report again",
                ))?;
        }
        Ok(())
    }

    /// Counts the records of a page its report should have counted: the type was walked
    /// although the report said none, and the record is older than the type's delay.
    pub(super) fn note_found(&mut self, record_type: RecordType, records: &[DetailRecord]) {
        if !self.usage.said_none.contains_key(&record_type) {
            return;
        }
        let published = self.run.started - self.run.settings.overlap_for(record_type);
        let found = records.iter().filter(|r| r.occurred_at < published).count() as u64;
        *self.usage.contradicted.entry(record_type).or_default() += found;
    }

    /// Reports (and remembers) every type whose walk found records its report said were
    /// not there: a `USAGE_REPORT_DISAGREES` finding, the first time.
    pub(super) async fn report_disagreements(&mut self) -> Result<(), SyncError> {
        let found: Vec<(RecordType, u64)> = self
            .usage
            .contradicted
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(t, n)| (*t, *n))
            .collect();
        for (t, n) in found {
            let (Some(window), false) = (
                self.usage.said_none.get(&t).copied(),
                self.usage.distrusted.contains_key(&t),
            ) else {
                continue;
            };
            let distrust = Distrust {
                record_type: t,
                since: self.run.started,
                window,
                found: n,
            };
            tracing::warn!(account_id = %self.run.account(), record_type = %t, found = n, "usage report disagrees with the walk: it decides no skip of this type until an audit is clean");
            if self.run.writes() {
                self.run
                    .ports
                    .store
                    .distrust(self.run.account(), &distrust)
                    .await
                    .map_err(SyncError::store(
                        self.run.account(),
                        "recording a usage report's disagreement",
                    ))?;
            }
            self.tally
                .entries
                .push(crate::sync::messages::usage_report_disagrees(&distrust));
            self.usage.distrusted.insert(t, distrust.clone());
            self.tally.disagreements.push(distrust);
        }
        self.usage.contradicted.clear();
        Ok(())
    }
}
