//! The audit's heal: one day of one type walked again from Telnyx, every page, by the
//! type's time field, each record checked against what is stored (the day lies below the
//! type's reach) — so a record Telnyx published after the overlap window, which no
//! regular walk re-reads, is imported without an operator.

use super::Walker;
use crate::billing::day_start;
use crate::domain::RecordType;
use crate::ports::{RecordQuery, Rewalk, TimeWindow};
use crate::sync::SyncError;
use crate::sync::structure::Structure;
use chrono::NaiveDate;

impl Walker<'_> {
    /// Re-walks `day` of `t` and stores what was missing; `None` when the deadline
    /// stopped it (the day waits for the next run; what it stored stays stored).
    pub(crate) async fn rewalk_day(
        &mut self,
        structure: &mut Structure<'_>,
        t: RecordType,
        day: NaiveDate,
    ) -> Result<Option<Rewalk>, SyncError> {
        let window = TimeWindow {
            from: day_start(day),
            to: day_start(day.succ_opt().unwrap_or(day)),
        };
        let query = RecordQuery {
            record_type: t,
            time_field: self.streams.time_field(t),
            window,
            first_page: 1,
            not_after: self.run.not_after(),
        };
        let what = || format!("{t} detail records of {day} (re-walk)");
        let mut pages = self
            .run
            .ports
            .telnyx
            .detail_records(self.run.key, query)
            .await
            .map_err(SyncError::telnyx(self.run.account(), what()))?;
        let stored_before = self.tally.written.written;
        let mut read = 0;
        loop {
            if !self.run.time_left() {
                return Ok(None);
            }
            match pages.next_page().await {
                Ok(Some(page)) => {
                    read += page.records.len() as u64;
                    self.tally.pages += 1;
                    self.page(structure, (t, window), page, true).await?;
                }
                Ok(None) => break,
                Err(e) if e.is_past_deadline() => return Ok(None),
                Err(e) => return Err(SyncError::telnyx(self.run.account(), what())(e)),
            }
        }
        Ok(Some(Rewalk {
            at: self.run.ports.clock.now(),
            read,
            stored: self.tally.written.written - stored_before,
        }))
    }
}
