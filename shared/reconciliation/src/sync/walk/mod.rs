//! Walking the detail records of a run, type by type, window by window.
//!
//! A window is walked in **slices**, oldest first. A slice is sized from Telnyx's own
//! count: the first page of `[done_until, slice end)` says how many records it holds
//! (`meta.total_results`); a slice holding more than twice [`SyncSettings::slice_records`]
//! is cut to about that many (by time) before any of its records is used. Each slice is
//! read newest first, page by page (numbered, not cursored: docs/telnyx.md "Pagination").
//!
//! After every page its records are written, then the **cursor** (checkpoint) moves to
//! the next page; after every slice the cursor moves to the slice's end and the
//! **watermark** follows. Neither ever moves past a record that is not stored. A record
//! that arrives while a slice is walked can only push rows onto later pages (they come
//! back as duplicates, written once): continuing a slice at its next page never skips.
//!
//! The walk stops between pages when the invocation's deadline is near (with
//! [`SyncSettings::deadline_margin`]), or when the Telnyx client would have to wait for
//! its rate limit past it; what is left is the run's continuation.

use super::SyncError;
use super::lease::LeaseKeeper;
use super::run::Run;
use super::structure::Structure;
use super::windows::{self, Pending};
use crate::ports::{Cursor, RecordQuery, TimeWindow};
use chrono::{DateTime, Utc};

mod pages;
mod rewalk;
mod sessions;
mod slices;
mod streams;
mod tally;
mod time_fields;
mod usage;

use streams::Streams;
pub(crate) use tally::WalkTally;
use usage::UsageGate;

/// What became of one walk.
enum Step {
    /// Its window is stored whole.
    Done,
    /// The window's first page was empty while Telnyx reports usage in it: nothing
    /// was written and no watermark moved (the caller looks for the type's time field).
    Empty,
    /// Stopped for the deadline; the cursor says where to go on.
    Stopped(Cursor),
}

/// One run's walk over its record types: the run's context, its lease, the state of
/// its streams, what the usage report says of each type, and what it
/// did.
pub(super) struct Walker<'r> {
    run: Run<'r>,
    lease: &'r mut LeaseKeeper,
    streams: Streams,
    usage: UsageGate,
    pub tally: WalkTally,
}

impl<'r> Walker<'r> {
    pub fn new(run: Run<'r>, lease: &'r mut LeaseKeeper) -> Self {
        Self {
            run,
            lease,
            streams: Streams::default(),
            usage: UsageGate::default(),
            tally: WalkTally::default(),
        }
    }

    /// The run's context, for the stages after the walk.
    pub(crate) fn run(&self) -> Run<'r> {
        self.run
    }

    /// Each type's watermark as this run left it.
    pub fn watermarks(
        &self,
    ) -> &std::collections::BTreeMap<crate::domain::RecordType, DateTime<Utc>> {
        &self.streams.watermarks
    }

    /// Walks every window of the run in record-type order; returns the cursors of what
    /// is left when it stopped for the deadline (empty: everything is walked).
    pub async fn walk_all(
        &mut self,
        structure: &mut Structure<'_>,
    ) -> Result<Vec<Cursor>, SyncError> {
        let run = self.run;
        let (streams, progress) = Streams::load(&run).await?;
        self.streams = streams;
        self.usage.distrusted = self.distrusts().await?;
        let walks = windows::pending(run.request, run.settings, &progress, run.started);
        let mut walks = walks.into_iter();
        while let Some(Pending { cursor, fresh }) = walks.next() {
            self.tally.walking(cursor.record_type, cursor.window.from);
            if fresh && self.shows_no_usage(cursor.record_type, cursor.window).await {
                self.tally.skipped.push(cursor.record_type);
                continue;
            }
            if fresh {
                self.streams.open(&run, &cursor).await?;
            }
            let mut step = self.walk(structure, cursor.clone(), fresh).await?;
            if matches!(step, Step::Empty) {
                let before = self.streams.time_field(cursor.record_type);
                self.discover_time_field(cursor.record_type, cursor.window)
                    .await?;
                step = if self.streams.time_field(cursor.record_type) == before {
                    // Nothing else to filter on: the window is empty as walked.
                    self.empty_window_done(cursor).await?
                } else {
                    self.walk(structure, cursor, false).await?
                };
            }
            if let Step::Stopped(left) = step {
                self.report_disagreements().await?;
                let mut remaining = vec![left];
                remaining.extend(walks.map(|p| p.cursor));
                return Ok(remaining);
            }
        }
        self.report_disagreements().await?;
        Ok(Vec::new())
    }

    /// Walks one cursor's window until it is done or the deadline stops it.
    async fn walk(
        &mut self,
        structure: &mut Structure<'_>,
        mut cursor: Cursor,
        probe: bool,
    ) -> Result<Step, SyncError> {
        let run = self.run;
        // Only a fresh window's first slice can tell "the filter field matches nothing":
        // when Telnyx's usage report counts records in it, or, for a type the report does
        // not cover, on its first window (its newest rows then tell).
        let t = cursor.record_type;
        let mut probe = probe
            && (self.usage.expected.get(&t).is_some_and(|n| *n > 0)
                || (run.catalog.shape(t).is_none() && !self.streams.watermarks.contains_key(&t)));
        loop {
            if cursor.is_complete() {
                self.streams.close(&run, &cursor).await?;
                return Ok(Step::Done);
            }
            if !run.time_left() || !self.lease.renew(&run).await? {
                return Ok(Step::Stopped(cursor));
            }
            let slice_to = *cursor.slice_to.get_or_insert(cursor.window.to);
            let query = RecordQuery {
                record_type: t,
                time_field: self.streams.time_field(t),
                window: TimeWindow {
                    from: cursor.done_until,
                    to: slice_to,
                },
                first_page: cursor.next_page,
                not_after: run.not_after(),
            };
            let pages = run
                .ports
                .telnyx
                .detail_records(run.key, query)
                .await
                .map_err(SyncError::telnyx(
                    run.account(),
                    format!("{t} detail records"),
                ))?;
            match self
                .walk_slice(structure, &mut cursor, pages, std::mem::take(&mut probe))
                .await?
            {
                Step::Done => {}
                other => return Ok(other),
            }
        }
    }
}

/// `sip-trunking 2026-11-01T00:00:00Z..2026-11-23T12:00:00Z, stored up to 2026-11-09T…`
pub(super) fn describe(cursor: &Cursor) -> String {
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!(
        "{} {}..{}, stored up to {}",
        cursor.record_type,
        at(cursor.window.from),
        at(cursor.window.to),
        at(cursor.done_until)
    )
}
