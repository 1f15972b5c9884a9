//! The state of an account's record streams as a run walks them: per record type its
//! watermark (the end of its last finished window), its fence (its reach when the run
//! began: below it a record may be stored already), the time field it is filtered on,
//! and the cursors (checkpoints) of its open windows — read once at the start, each
//! change written as the walk makes it, never past a record that is not stored.

use super::super::SyncError;
use super::super::run::{Job, Run};
use super::super::windows::Progress;
use crate::domain::{RecordType, TIME_FIELD_CANDIDATES};
use crate::ports::Cursor;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// What the run knows of each stream.
#[derive(Debug, Default)]
pub(super) struct Streams {
    pub watermarks: BTreeMap<RecordType, DateTime<Utc>>,
    /// Per type, the instant before which a record may be stored already (its reach
    /// when this run began): a slice starting before it is written checking each
    /// record; a slice at or after it is written without looking (nothing in it was
    /// ever stored).
    pub fences: BTreeMap<RecordType, DateTime<Utc>>,
    /// The time field each type is filtered on (the table's unless one was found).
    pub time_fields: BTreeMap<RecordType, &'static str>,
}

impl Streams {
    /// Reads the account's streams; a cursor whose window is done (a run died between
    /// its last write and clearing it) is cleared. Returns them and what is open.
    pub async fn load(run: &Run<'_>) -> Result<(Self, Progress), SyncError> {
        let account = run.account();
        let store = &run.ports.store;
        let (watermarks, cursors, reaches, found) = futures::try_join!(
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
            async {
                store
                    .time_fields(account)
                    .await
                    .map_err(SyncError::store(account, "reading the found time fields"))
            },
        )?;
        for done in cursors.iter().filter(|c| c.is_complete()) {
            if run.writes() {
                store
                    .clear_cursor(account, &done.stream, done.record_type)
                    .await
                    .map_err(SyncError::store(account, "clearing a finished cursor"))?;
            }
        }
        let progress = Progress {
            watermarks,
            cursors,
            reaches,
        };
        let streams = Self {
            watermarks: progress.watermarks.clone(),
            fences: fences(&progress, run.started),
            // Only known candidate names are used.
            time_fields: found
                .into_iter()
                .filter_map(|(t, f)| {
                    let known = TIME_FIELD_CANDIDATES.iter().find(|c| **c == f)?;
                    Some((t, *known))
                })
                .collect(),
        };
        Ok((streams, progress))
    }

    /// The field `t` is filtered on.
    pub fn time_field(&self, t: RecordType) -> &'static str {
        self.time_fields
            .get(&t)
            .copied()
            .unwrap_or_else(|| t.time_field())
    }

    /// A slice starting at `from` of type `t` may hold records stored already.
    pub fn below_fence(&self, t: RecordType, from: DateTime<Utc>) -> bool {
        self.fences.get(&t).is_some_and(|&f| from < f)
    }

    /// A window opened now: the type's reach moves to its end, then its cursor is saved,
    /// both before its first record is written (a run killed in it is resumed, and
    /// nothing it writes lies beyond the reach).
    pub async fn open(&self, run: &Run<'_>, cursor: &Cursor) -> Result<(), SyncError> {
        if !run.writes() {
            return Ok(());
        }
        let t = cursor.record_type;
        run.ports
            .store
            .extend_reach(run.account(), t, cursor.window.to)
            .await
            .map_err(SyncError::store(
                run.account(),
                format!("extending the {t} reach"),
            ))?;
        checkpoint(run, Some(cursor.clone())).await
    }

    /// The window is done: its cursor goes.
    pub async fn close(&self, run: &Run<'_>, cursor: &Cursor) -> Result<(), SyncError> {
        if !run.writes() {
            return Ok(());
        }
        run.ports
            .store
            .clear_cursor(run.account(), &cursor.stream, cursor.record_type)
            .await
            .map_err(SyncError::store(
                run.account(),
                format!("clearing the {} cursor", cursor.record_type),
            ))
    }

    /// The watermark follows a regular walk, and a backfill contiguous with it.
    pub async fn advance_watermark(
        &mut self,
        run: &Run<'_>,
        cursor: &Cursor,
    ) -> Result<(), SyncError> {
        let t = cursor.record_type;
        let current = self.watermarks.get(&t).copied();
        let follows =
            cursor.stream == Cursor::REGULAR || current.is_some_and(|w| cursor.window.from <= w);
        if !run.writes() || !follows || current.is_some_and(|w| w >= cursor.done_until) {
            return Ok(());
        }
        run.ports
            .store
            .advance_watermark(run.account(), t, cursor.done_until)
            .await
            .map_err(SyncError::store(
                run.account(),
                format!("advancing the {t} watermark"),
            ))?;
        self.watermarks.insert(t, cursor.done_until);
        Ok(())
    }

    /// Keeps a time field found at run time for the account's later runs.
    pub async fn found_time_field(
        &mut self,
        run: &Run<'_>,
        t: RecordType,
        field: &'static str,
    ) -> Result<(), SyncError> {
        if run.writes() {
            run.ports
                .store
                .put_time_field(run.account(), t, field)
                .await
                .map_err(SyncError::store(
                    run.account(),
                    "storing a found time field",
                ))?;
        }
        self.time_fields.insert(t, field);
        Ok(())
    }
}

/// Saves a checkpoint, if any, without holding the walker (it runs beside a write).
pub(super) fn checkpoint(
    job: &Job<'_>,
    cursor: Option<Cursor>,
) -> impl std::future::Future<Output = Result<(), SyncError>> + use<> {
    let store = job.ports.store.clone();
    let account = job.account().clone();
    let writes = job.writes();
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
