//! One slice of a window, page by page: sized from Telnyx's total on its first page,
//! each page stored then checkpointed, the watermark following the slice's end.
//!
//! Pipelined: while page *k* is written, page *k+1* is fetched and the checkpoint of page
//! *k−1* (whose records are stored) is saved.

use super::{Step, Walker};
use crate::ports::{Cursor, RecordPages};
use crate::sync::SyncError;
use crate::sync::structure::Structure;
use chrono::{DateTime, Duration, DurationRound, Utc};

impl Walker<'_> {
    /// Walks the cursor's open slice from its next page. Returns `Done` when the slice
    /// is stored (the cursor moved to its end) or was cut smaller (the cursor says
    /// so); `Empty` when a probed first page was empty; `Stopped` at the deadline.
    pub(super) async fn walk_slice(
        &mut self,
        structure: &mut Structure<'_>,
        cursor: &mut Cursor,
        mut pages: Box<dyn RecordPages>,
        probe: bool,
    ) -> Result<Step, SyncError> {
        let run = self.run;
        let mut fresh = cursor.next_page == 1;
        let mut rows_seen = 0usize;
        // The next page, fetched while the one before it was written.
        let mut ahead = None;
        // The checkpoint of the last page stored, not yet saved.
        let mut unsaved: Option<Cursor> = None;
        loop {
            if !run.time_left() {
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
                    return Err(SyncError::telnyx(run.account(), what)(e));
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
            self.tally.pages += 1;
            if std::mem::take(&mut fresh) {
                if let Some(smaller) = self.smaller_slice(cursor, page.total_results) {
                    cursor.slice_to = Some(smaller);
                    self.streams.checkpoint(&run, Some(cursor.clone())).await?;
                    return Ok(Step::Done);
                }
            }
            let saved = self.streams.checkpoint(&run, unsaved.take());
            let check = self
                .streams
                .below_fence(cursor.record_type, cursor.done_until);
            let of = (cursor.record_type, cursor.window);
            let number = page.number;
            if run.time_left() {
                let (stored, saved, next) = futures::join!(
                    self.page(structure, of, page, check),
                    saved,
                    pages.next_page()
                );
                stored?;
                saved?;
                ahead = Some(next);
            } else {
                let (stored, saved) = futures::join!(self.page(structure, of, page, check), saved);
                stored?;
                saved?;
            }
            cursor.next_page = number + 1;
            unsaved = Some(cursor.clone());
        }
    }

    /// A slice holding far more records than a slice should: its first part, cut by
    /// time to hold about [`crate::sync::SyncSettings::slice_records`] (never under one
    /// second).
    fn smaller_slice(&self, cursor: &Cursor, total: Option<u64>) -> Option<DateTime<Utc>> {
        let target = self.run.settings.slice_records.max(1);
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
    pub(super) async fn empty_window_done(
        &mut self,
        mut cursor: Cursor,
    ) -> Result<Step, SyncError> {
        cursor.slice_to = Some(cursor.window.to);
        self.slice_done(&mut cursor).await?;
        let run = self.run;
        self.streams.close(&run, &cursor).await?;
        Ok(Step::Done)
    }

    /// The slice is stored: the cursor moves to its end, and the watermark follows.
    async fn slice_done(&mut self, cursor: &mut Cursor) -> Result<(), SyncError> {
        let run = self.run;
        if let Some(to) = cursor.slice_to.take() {
            cursor.done_until = to;
        }
        cursor.next_page = 1;
        self.streams.slice_done(&run, cursor).await
    }

    /// Stopped for the deadline: the last checkpoint is saved, and is what is left.
    async fn stop_at(
        &mut self,
        unsaved: Option<Cursor>,
        cursor: &Cursor,
    ) -> Result<Step, SyncError> {
        let run = self.run;
        self.streams.checkpoint(&run, unsaved).await?;
        Ok(Step::Stopped(cursor.clone()))
    }
}
