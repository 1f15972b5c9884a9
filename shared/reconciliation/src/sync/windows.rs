//! Which window of which record type a run walks, and which need no request at all.
//!
//! - A cursor an earlier run left (stopped at its deadline, or killed) is continued
//!   where it stopped, whatever the request: no window is read twice because a run was
//!   cut short.
//! - A regular run opens `[watermark − overlap, now)` per type (the overlap re-reads the
//!   boundary for records Telnyx publishes late); an account's first run opens the
//!   current billing month (or `initial_lookback`).
//! - A backfill walks `[backfill_from, backfill_to)` as its own stream (its cursors never
//!   touch the regular one's); its end is fixed when it starts, so its continuations
//!   walk the same window.
//! - A regular window re-reads the type's own publication delay before its watermark
//!   ([`SyncSettings::overlap_for`]: messaging 4 hours, the rest 2 by default).
//! - A type the usage report proves empty in the window (a confirmed count of zero) is
//!   not requested (the scheduler's hint, else the account's own report) unless its
//!   last walk is older than [`SyncSettings::full_walk`] or its report disagreed with a
//!   walk; its watermark does not move, so a late report costs nothing: the next window
//!   still starts at the old watermark.

use super::SyncSettings;
use crate::billing::month_of;
use crate::domain::RecordType;
use crate::invocation::SyncRequest;
use crate::ports::{Cursor, TimeWindow};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// What the store holds of an account's walks.
#[derive(Debug, Default)]
pub(super) struct Progress {
    pub watermarks: BTreeMap<RecordType, DateTime<Utc>>,
    pub cursors: Vec<Cursor>,
    /// How far each type's walks were opened ([`crate::ports::RecordStore::reaches`]).
    pub reaches: BTreeMap<RecordType, DateTime<Utc>>,
}

/// A walk of this run: a cursor continued, or a window opened now (`fresh`).
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub cursor: Cursor,
    pub fresh: bool,
}

/// Where an account's first window starts: `initial_lookback` before `now`, else the
/// start of the current billing month.
pub(super) fn first_window_start(settings: &SyncSettings, now: DateTime<Utc>) -> DateTime<Utc> {
    match settings.initial_lookback {
        Some(lookback) => now - lookback,
        None => month_of(now),
    }
}

/// The end of a backfill: as asked, else `now` (fixed from the first run on).
pub(super) fn backfill_end(request: &SyncRequest, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    request
        .backfill_from
        .map(|_| request.backfill_to.unwrap_or(now))
}

/// The stream a request walks: the regular one, or its backfill's own.
pub(super) fn stream_of(request: &SyncRequest, now: DateTime<Utc>) -> String {
    match (request.backfill_from, backfill_end(request, now)) {
        (Some(from), Some(to)) => format!("backfill#{}#{}", from.timestamp(), to.timestamp()),
        _ => Cursor::REGULAR.to_owned(),
    }
}

/// The window a request opens for `record_type` when it has no cursor.
fn new_window(
    request: &SyncRequest,
    settings: &SyncSettings,
    (record_type, watermark): (RecordType, Option<DateTime<Utc>>),
    now: DateTime<Utc>,
) -> TimeWindow {
    if let (Some(from), Some(to)) = (request.backfill_from, backfill_end(request, now)) {
        return TimeWindow { from, to };
    }
    let from = match watermark {
        Some(w) => w - settings.overlap_for(record_type),
        None => first_window_start(settings, now),
    };
    TimeWindow { from, to: now }
}

/// The walks of this run, in record-type order (the order that gives a number its
/// connection's first type, rule 10 of docs/mapping-rules.md).
pub(super) fn pending(
    request: &SyncRequest,
    settings: &SyncSettings,
    progress: &Progress,
    now: DateTime<Utc>,
) -> Vec<Pending> {
    let stream = stream_of(request, now);
    RecordType::ALL
        .iter()
        .copied()
        .filter(|t| request.covers(*t))
        .filter_map(|t| {
            let left = progress
                .cursors
                .iter()
                .find(|c| c.stream == stream && c.record_type == t && !c.is_complete());
            if let Some(cursor) = left {
                return Some(Pending {
                    cursor: cursor.clone(),
                    fresh: false,
                });
            }
            let window = new_window(
                request,
                settings,
                (t, progress.watermarks.get(&t).copied()),
                now,
            );
            (!window.is_empty()).then(|| Pending {
                cursor: Cursor::start(stream.clone(), t, window),
                fresh: true,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::Duration;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_first_run_reads_from_the_start_of_the_billing_month() {
        let now = t("2026-11-23T12:00:00Z");
        let settings = SyncSettings::default();
        let walks = pending(
            &SyncRequest::for_account("a"),
            &settings,
            &Progress::default(),
            now,
        );
        assert_eq!(walks.len(), RecordType::ALL.len());
        assert!(
            walks
                .iter()
                .all(|w| w.fresh && w.cursor.window.from == t("2026-11-01T00:00:00Z"))
        );
        let lookback = SyncSettings {
            initial_lookback: Some(Duration::hours(24)),
            ..settings
        };
        let walks = pending(
            &SyncRequest::for_account("a"),
            &lookback,
            &Progress::default(),
            now,
        );
        assert_eq!(walks[0].cursor.window.from, t("2026-11-22T12:00:00Z"));
    }

    #[test]
    fn a_cursor_left_by_an_earlier_run_is_continued_and_a_watermark_opens_the_next_window() {
        let now = t("2026-11-23T12:00:00Z");
        let window = TimeWindow {
            from: t("2026-11-01T00:00:00Z"),
            to: t("2026-11-23T10:00:00Z"),
        };
        let mut left = Cursor::start(Cursor::REGULAR, RecordType::Fax, window);
        left.done_until = t("2026-11-10T00:00:00Z");
        let progress = Progress {
            watermarks: BTreeMap::from([(RecordType::Tts, t("2026-11-23T11:00:00Z"))]),
            cursors: vec![left.clone()],
            reaches: BTreeMap::new(),
        };
        let request =
            SyncRequest::for_account("a").with_record_types(vec![RecordType::Fax, RecordType::Tts]);
        let walks = pending(&request, &SyncSettings::default(), &progress, now);
        assert_eq!(walks.len(), 2);
        assert!(!walks[0].fresh);
        assert_eq!(walks[0].cursor, left);
        assert_eq!(
            walks[1].cursor.window,
            TimeWindow {
                from: t("2026-11-23T09:00:00Z"),
                to: now
            },
            "two hours of overlap before the watermark"
        );
    }

    #[test]
    fn a_backfill_has_its_own_stream_and_a_fixed_end() {
        let now = t("2026-11-23T12:00:00Z");
        let request = SyncRequest::for_account("a").with_backfill(t("2026-09-01T00:00:00Z"), None);
        assert_eq!(
            stream_of(&request, now),
            format!(
                "backfill#{}#{}",
                t("2026-09-01T00:00:00Z").timestamp(),
                now.timestamp()
            )
        );
        let walks = pending(
            &request,
            &SyncSettings::default(),
            &Progress::default(),
            now,
        );
        assert_eq!(
            walks[0].cursor.window,
            TimeWindow {
                from: t("2026-09-01T00:00:00Z"),
                to: now
            }
        );
        assert_eq!(
            crate::usage::evidence::report_chunks(walks[0].cursor.window).len(),
            3,
            "83 days asked of the usage report 31 days at a time"
        );
    }
}
