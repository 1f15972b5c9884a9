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

use super::structure::Structure;
use super::windows::{self, Pending, Progress};
use super::{RunContext, SyncError, SyncSettings};
use crate::domain::{DetailRecordId, ManagedAccountId, RecordType};
use crate::invocation::SyncRequest;
use crate::plan::RecordTally;
use crate::ports::{
    ApiKey, Cursor, Distrust, Ports, RecordPages, RecordQuery, RecordWriteReport, TimeWindow,
};
use crate::usage::{Evidence, UsageCatalog};
use chrono::{DateTime, Duration, DurationRound, Utc};

mod lease;
mod pages;
mod rewalk;
mod sessions;
mod time_fields;
mod usage;
use std::collections::{BTreeMap, HashSet};

/// What `Walker::expected` holds for a type the scheduler's usage hint shows records
/// for, without a count.
const USAGE_WITHOUT_COUNT: u64 = u64::MAX;

/// A usage report read in a run: the type and its window's bounds.
type UsageKey = (RecordType, DateTime<Utc>, DateTime<Utc>);

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

/// What the stages of a run after its walk (the audit, the heal) share with it.
#[derive(Clone, Copy)]
pub(crate) struct RunParts<'r> {
    pub ports: &'r Ports,
    pub settings: &'r SyncSettings,
    pub request: &'r SyncRequest,
    pub ctx: &'r RunContext,
    pub key: &'r ApiKey,
    pub catalog: &'r UsageCatalog,
    pub started: DateTime<Utc>,
}

/// One run's walk over its record types, and what it did.
pub(super) struct Walker<'r> {
    ports: &'r Ports,
    settings: &'r SyncSettings,
    request: &'r SyncRequest,
    ctx: &'r RunContext,
    key: &'r ApiKey,
    /// What the usage report offers per type (learned from its options).
    catalog: &'r UsageCatalog,
    started: DateTime<Utc>,
    watermarks: BTreeMap<RecordType, DateTime<Utc>>,
    /// Per type, the instant before which a record may be stored already (its reach
    /// when this run began): a slice starting before it is written checking each
    /// record; a slice at or after it is written without looking (nothing in it was
    /// ever stored).
    fences: BTreeMap<RecordType, DateTime<Utc>>,
    /// Ids of the page written before (unchecked writes skip a row repeated from it:
    /// a record arriving mid-walk shifts the last row of a page onto the next).
    previous_page: HashSet<DetailRecordId>,
    /// The lease's end, for a run without a deadline (renewed as it goes).
    lease_until: DateTime<Utc>,
    pub tally: RecordTally,
    pub fetched: BTreeMap<RecordType, u64>,
    pub written: RecordWriteReport,
    pub raw_trimmed: BTreeMap<RecordType, u64>,
    /// Records given twice on one page (kept once).
    pub duplicates_in_pages: u64,
    /// Detail-record pages read.
    pub pages: u64,
    /// Types the usage report showed no record for: not requested.
    pub skipped: Vec<RecordType>,
    /// Records the usage report counts in the window being walked, per type (when read).
    expected: BTreeMap<RecordType, u64>,
    /// The time field each type is filtered on (the table's unless one was found).
    time_fields: BTreeMap<RecordType, &'static str>,
    /// Records attributed through their call's session or leg id.
    pub linked_by_session: u64,
    /// Import-log entries of the walk (time fields found, silent types).
    pub entries: Vec<crate::plan::LogEntry>,
    /// Where each type's walk of this run began (the audit's first day).
    pub walked_from: BTreeMap<RecordType, DateTime<Utc>>,
    /// Usage reports read this run: (type, window) → what they said.
    usage_seen: BTreeMap<UsageKey, Evidence>,
    /// Types whose report this account does not trust now (it disagreed with a walk).
    distrusted: BTreeMap<RecordType, Distrust>,
    /// Types walked although their report proved them empty (their last walk was too
    /// old, or their report is distrusted): the window the report spoke for.
    said_none: BTreeMap<RecordType, TimeWindow>,
    /// Of those, the records the walk found that the report should have counted (older
    /// than the type's publication delay).
    contradicted: BTreeMap<RecordType, u64>,
    /// Reports found to disagree with a walk in this run.
    pub disagreements: Vec<Distrust>,
    /// Whether call-session links are written (decided once per run).
    links_wanted: Option<bool>,
}

impl<'r> Walker<'r> {
    pub fn new(
        ports: &'r Ports,
        settings: &'r SyncSettings,
        request: &'r SyncRequest,
        ctx: &'r RunContext,
        (key, catalog): (&'r ApiKey, &'r UsageCatalog),
        started: DateTime<Utc>,
    ) -> Self {
        Self {
            ports,
            settings,
            request,
            ctx,
            key,
            catalog,
            started,
            watermarks: BTreeMap::new(),
            fences: BTreeMap::new(),
            previous_page: HashSet::new(),
            lease_until: started + settings.lease_without_deadline,
            tally: RecordTally::default(),
            fetched: BTreeMap::new(),
            written: RecordWriteReport::default(),
            raw_trimmed: BTreeMap::new(),
            duplicates_in_pages: 0,
            pages: 0,
            skipped: Vec::new(),
            expected: BTreeMap::new(),
            time_fields: BTreeMap::new(),
            linked_by_session: 0,
            entries: Vec::new(),
            walked_from: BTreeMap::new(),
            usage_seen: BTreeMap::new(),
            distrusted: BTreeMap::new(),
            said_none: BTreeMap::new(),
            contradicted: BTreeMap::new(),
            disagreements: Vec::new(),
            links_wanted: None,
        }
    }

    /// Each type's watermark as this run left it.
    pub fn watermarks(&self) -> &BTreeMap<RecordType, DateTime<Utc>> {
        &self.watermarks
    }

    /// The run's parts, for the stages after the walk.
    pub(crate) fn parts(&self) -> RunParts<'r> {
        RunParts {
            ports: self.ports,
            settings: self.settings,
            request: self.request,
            ctx: self.ctx,
            key: self.key,
            catalog: self.catalog,
            started: self.started,
        }
    }

    /// The field `t` is filtered on.
    fn time_field(&self, t: RecordType) -> &'static str {
        self.time_fields
            .get(&t)
            .copied()
            .unwrap_or_else(|| t.time_field())
    }

    fn account(&self) -> &'r ManagedAccountId {
        &self.request.managed_account_id
    }

    fn writes(&self) -> bool {
        !self.request.dry_run
    }

    /// Walks every window of the run in record-type order; returns the cursors of what
    /// is left when it stopped for the deadline (empty: everything is walked).
    pub async fn walk_all(
        &mut self,
        structure: &mut Structure<'_>,
    ) -> Result<Vec<Cursor>, SyncError> {
        let progress = self.progress().await?;
        self.time_fields = self.found_time_fields().await?;
        self.distrusted = self.distrusts().await?;
        self.watermarks = progress.watermarks.clone();
        self.fences = fences(&progress, self.started);
        let walks = windows::pending(self.request, self.settings, &progress, self.started);
        let mut walks = walks.into_iter();
        while let Some(Pending { cursor, fresh }) = walks.next() {
            let from = self
                .walked_from
                .entry(cursor.record_type)
                .or_insert(cursor.window.from);
            *from = (*from).min(cursor.window.from);
            if fresh && self.shows_no_usage(cursor.record_type, cursor.window).await {
                self.skipped.push(cursor.record_type);
                continue;
            }
            if fresh {
                self.open(&cursor).await?;
            }
            let mut step = self.walk(structure, cursor.clone(), fresh).await?;
            if matches!(step, Step::Empty) {
                let before = self.time_field(cursor.record_type);
                self.discover_time_field(cursor.record_type, cursor.window)
                    .await?;
                step = if self.time_field(cursor.record_type) == before {
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

    /// Watermarks and cursors; a cursor whose window is done (a run died between its
    /// last write and clearing it) is cleared.
    async fn progress(&self) -> Result<Progress, SyncError> {
        let account = self.account();
        let store = &self.ports.store;
        let (watermarks, cursors, reaches) = futures::try_join!(
            async {
                store
                    .watermarks(account)
                    .await
                    .map_err(SyncError::store(account, "reading the watermarks"))
            },
            async {
                store
                    .cursors(account)
                    .await
                    .map_err(SyncError::store(account, "reading the cursors"))
            },
            async {
                store
                    .reaches(account)
                    .await
                    .map_err(SyncError::store(account, "reading the reaches"))
            },
        )?;
        for done in cursors.iter().filter(|c| c.is_complete()) {
            if self.writes() {
                store
                    .clear_cursor(account, &done.stream, done.record_type)
                    .await
                    .map_err(SyncError::store(account, "clearing a finished cursor"))?;
            }
        }
        Ok(Progress {
            watermarks,
            cursors,
            reaches,
        })
    }

    /// Time is left for another page.
    fn time_left(&self) -> bool {
        let now = self.ports.clock.now();
        self.ctx
            .deadline
            .is_none_or(|d| now + self.settings.deadline_margin < d)
    }

    /// No page may be requested (or waited for) after this.
    fn not_after(&self) -> Option<DateTime<Utc>> {
        self.ctx
            .deadline
            .map(|d| d - self.settings.deadline_margin / 2)
    }

    /// Walks one cursor's window until it is done or the deadline stops it.
    async fn walk(
        &mut self,
        structure: &mut Structure<'_>,
        mut cursor: Cursor,
        probe: bool,
    ) -> Result<Step, SyncError> {
        // Only a fresh window's first slice can tell "the filter field matches nothing":
        // when Telnyx's usage report counts records in it, or, for a type the report does
        // not cover, on its first window (its newest rows then tell).
        let t = cursor.record_type;
        let mut probe = probe
            && (self.expected.get(&t).is_some_and(|n| *n > 0)
                || (self.catalog.shape(t).is_none() && !self.watermarks.contains_key(&t)));
        loop {
            if cursor.is_complete() {
                self.close(&cursor).await?;
                return Ok(Step::Done);
            }
            if !self.time_left() || !self.renew_lease().await? {
                return Ok(Step::Stopped(cursor));
            }
            let slice_to = *cursor.slice_to.get_or_insert(cursor.window.to);
            let query = RecordQuery {
                record_type: cursor.record_type,
                time_field: self.time_field(cursor.record_type),
                window: TimeWindow {
                    from: cursor.done_until,
                    to: slice_to,
                },
                first_page: cursor.next_page,
                not_after: self.not_after(),
            };
            let pages = self
                .ports
                .telnyx
                .detail_records(self.key, query)
                .await
                .map_err(SyncError::telnyx(
                    self.account(),
                    format!("{} detail records", cursor.record_type),
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

    /// Walks the cursor's open slice from its next page. Returns `Done` when the slice
    /// is stored (the cursor moved to its end) or was cut smaller (the cursor says
    /// so); `Stopped` at the deadline.
    ///
    /// Pipelined: while page *k* is written, page *k+1* is fetched and the checkpoint
    /// of page *k−1* (whose records are stored) is saved.
    async fn walk_slice(
        &mut self,
        structure: &mut Structure<'_>,
        cursor: &mut Cursor,
        mut pages: Box<dyn RecordPages>,
        probe: bool,
    ) -> Result<Step, SyncError> {
        let mut fresh = cursor.next_page == 1;
        let mut rows_seen = 0usize;
        // The next page, fetched while the one before it was written.
        let mut ahead = None;
        // The checkpoint of the last page stored, not yet saved.
        let mut unsaved: Option<Cursor> = None;
        loop {
            if !self.time_left() {
                return self.stop_at(unsaved, cursor).await;
            }
            let page = match ahead.take() {
                Some(fetched) => fetched,
                None => pages.next_page().await,
            };
            let page = match page {
                Ok(page) => page,
                Err(e) if e.is_past_deadline() => return self.stop_at(unsaved, cursor).await,
                Err(e) => {
                    let what = format!("{} detail records", cursor.record_type);
                    return Err(SyncError::telnyx(self.account(), what)(e));
                }
            };
            let Some(page) = page else {
                if probe && rows_seen == 0 {
                    return Ok(Step::Empty);
                }
                self.slice_done(cursor).await?;
                return Ok(Step::Done);
            };
            rows_seen += page.records.len();
            self.pages += 1;
            if std::mem::take(&mut fresh) {
                if let Some(smaller) = self.smaller_slice(cursor, page.total_results) {
                    cursor.slice_to = Some(smaller);
                    self.save(cursor).await?;
                    return Ok(Step::Done);
                }
            }
            let checkpoint = self.checkpoint(unsaved.take());
            let check = self
                .fences
                .get(&cursor.record_type)
                .is_some_and(|&f| cursor.done_until < f);
            if self.time_left() {
                let (stored, saved, next) = futures::join!(
                    self.page(structure, (cursor.record_type, cursor.window), &page, check),
                    checkpoint,
                    pages.next_page()
                );
                stored?;
                saved?;
                ahead = Some(next);
            } else {
                let (stored, saved) = futures::join!(
                    self.page(structure, (cursor.record_type, cursor.window), &page, check),
                    checkpoint
                );
                stored?;
                saved?;
            }
            cursor.next_page = page.number + 1;
            unsaved = Some(cursor.clone());
        }
    }

    /// Stopped for the deadline: the last checkpoint is saved, and is what is left.
    async fn stop_at(&self, unsaved: Option<Cursor>, cursor: &Cursor) -> Result<Step, SyncError> {
        self.checkpoint(unsaved).await?;
        Ok(Step::Stopped(cursor.clone()))
    }

    /// Saves a checkpoint, if any, without holding the walker (it runs beside a write).
    fn checkpoint(
        &self,
        cursor: Option<Cursor>,
    ) -> impl std::future::Future<Output = Result<(), SyncError>> + use<> {
        let store = self.ports.store.clone();
        let account = self.account().clone();
        let writes = self.writes();
        async move {
            let Some(cursor) = cursor.filter(|_| writes) else {
                return Ok(());
            };
            store
                .save_cursor(&account, &cursor)
                .await
                .map_err(SyncError::store(
                    &account,
                    format!("saving the {} cursor", cursor.record_type),
                ))
        }
    }

    /// A slice holding far more records than a slice should: its first part, cut by
    /// time to hold about [`SyncSettings::slice_records`] (never under one second).
    fn smaller_slice(&self, cursor: &Cursor, total: Option<u64>) -> Option<DateTime<Utc>> {
        let target = self.settings.slice_records.max(1);
        let total = total?;
        let slice_to = cursor.slice_to?;
        let span = slice_to - cursor.done_until;
        if total <= 2 * target || span <= Duration::seconds(1) {
            return None;
        }
        let parts = total.div_ceil(target) as i32;
        let cut = cursor.done_until + (span / parts).max(Duration::seconds(1));
        // Whole seconds, so a filter read at second precision never cuts a record off.
        let cut = cut
            .duration_round_up(Duration::seconds(1))
            .unwrap_or(cut)
            .min(slice_to);
        (cut < slice_to).then_some(cut)
    }

    /// A window whose first page was empty (and whose type has no other time field):
    /// done as if walked, without asking for the page again.
    async fn empty_window_done(&mut self, mut cursor: Cursor) -> Result<Step, SyncError> {
        cursor.slice_to = Some(cursor.window.to);
        self.slice_done(&mut cursor).await?;
        self.close(&cursor).await?;
        Ok(Step::Done)
    }

    /// The slice is stored: the cursor moves to its end, and the watermark follows.
    async fn slice_done(&mut self, cursor: &mut Cursor) -> Result<(), SyncError> {
        if let Some(to) = cursor.slice_to.take() {
            cursor.done_until = to;
        }
        cursor.next_page = 1;
        self.advance_watermark(cursor).await?;
        if !cursor.is_complete() {
            self.save(cursor).await?;
        }
        Ok(())
    }

    /// The watermark follows a regular walk, and a backfill contiguous with it.
    async fn advance_watermark(&mut self, cursor: &Cursor) -> Result<(), SyncError> {
        let t = cursor.record_type;
        let current = self.watermarks.get(&t).copied();
        let follows =
            cursor.stream == Cursor::REGULAR || current.is_some_and(|w| cursor.window.from <= w);
        if !self.writes() || !follows || current.is_some_and(|w| w >= cursor.done_until) {
            return Ok(());
        }
        self.ports
            .store
            .advance_watermark(self.account(), t, cursor.done_until)
            .await
            .map_err(SyncError::store(
                self.account(),
                format!("advancing the {t} watermark"),
            ))?;
        self.watermarks.insert(t, cursor.done_until);
        Ok(())
    }

    /// The checkpoint.
    async fn save(&self, cursor: &Cursor) -> Result<(), SyncError> {
        self.checkpoint(Some(cursor.clone())).await
    }

    /// A window opened now: the type's reach moves to its end, then its cursor is saved,
    /// both before its first record is written (a run killed in it is resumed, and
    /// nothing it writes lies beyond the reach).
    async fn open(&self, cursor: &Cursor) -> Result<(), SyncError> {
        if !self.writes() {
            return Ok(());
        }
        let t = cursor.record_type;
        self.ports
            .store
            .extend_reach(self.account(), t, cursor.window.to)
            .await
            .map_err(SyncError::store(
                self.account(),
                format!("extending the {t} reach"),
            ))?;
        self.save(cursor).await
    }

    /// The window is done: its cursor goes.
    async fn close(&self, cursor: &Cursor) -> Result<(), SyncError> {
        if !self.writes() {
            return Ok(());
        }
        self.ports
            .store
            .clear_cursor(self.account(), &cursor.stream, cursor.record_type)
            .await
            .map_err(SyncError::store(
                self.account(),
                format!("clearing the {} cursor", cursor.record_type),
            ))
    }
}

/// Per type, the instant before which a record may already be stored: its reach. A type
/// with a watermark but no reach (stored before reaches were kept) is checked up to the
/// run's start, which no earlier walk can have passed.
fn fences(progress: &Progress, started: DateTime<Utc>) -> BTreeMap<RecordType, DateTime<Utc>> {
    let mut out = progress.reaches.clone();
    for &t in progress.watermarks.keys() {
        out.entry(t).or_insert(started);
    }
    out
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
