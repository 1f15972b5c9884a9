//! The state of an account's record streams as a run walks them: per record type its
//! watermark (the end of its last finished window), its fence (its reach when the run
//! began: below it a record may be stored already), the time field it is filtered on,
//! and the cursors (checkpoints) of its open windows — read once at the start (one
//! [`StreamState`] per type), each change written as the walk makes it, the type's whole
//! state in one conditional write, never past a record that is not stored.

use super::super::SyncError;
use super::super::run::{Job, Run};
use super::super::windows::Progress;
use crate::domain::{RecordType, TIME_FIELD_CANDIDATES};
use crate::ports::{Cursor, StreamState};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// What the run knows of each stream.
#[derive(Debug, Default)]
pub(super) struct Streams {
    /// Each type's state as this run last wrote it (or read it).
    states: BTreeMap<RecordType, StreamState>,
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
    /// Reads the account's streams (one read); a cursor whose window is done (a run died
    /// between its last write and clearing it) is cleared. Returns them and what is open.
    pub async fn load(run: &Run<'_>) -> Result<(Self, Progress), SyncError> {
        let account = run.account();
        let read = run
            .ports
            .store
            .streams(account)
            .await
            .map_err(SyncError::store(account, "reading the record streams"))?;
        let mut streams = Self {
            states: read.into_iter().map(|s| (s.record_type, s)).collect(),
            ..Self::default()
        };
        let finished: Vec<Cursor> = streams
            .states
            .values()
            .flat_map(|s| s.cursors.values())
            .filter(|c| c.is_complete())
            .cloned()
            .collect();
        for done in &finished {
            streams.close(run, done).await?;
        }
        let progress = Progress {
            watermarks: of_each(&streams.states, |s| s.watermark),
            cursors: streams
                .states
                .values()
                .flat_map(|s| s.cursors.values().cloned())
                .collect(),
            reaches: of_each(&streams.states, |s| s.reach),
        };
        streams.watermarks = progress.watermarks.clone();
        streams.fences = fences(&progress, run.started);
        // Only known candidate names are used.
        streams.time_fields = streams
            .states
            .values()
            .filter_map(|s| {
                let found = s.time_field.as_deref()?;
                let known = TIME_FIELD_CANDIDATES.iter().find(|c| **c == found)?;
                Some((s.record_type, *known))
            })
            .collect();
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

    /// A window opened now: the type's reach moves to its end and its cursor is saved,
    /// in one write before its first record is written (a run killed in it is resumed,
    /// and nothing it writes lies beyond the reach).
    pub async fn open(&mut self, run: &Run<'_>, cursor: &Cursor) -> Result<(), SyncError> {
        let state = self.state(cursor.record_type);
        state.extend_reach(cursor.window.to);
        state.save_cursor(cursor.clone());
        self.write(run, cursor.record_type).await
    }

    /// The window is done: its cursor goes.
    pub async fn close(&mut self, run: &Run<'_>, cursor: &Cursor) -> Result<(), SyncError> {
        if !self.state(cursor.record_type).clear_cursor(&cursor.stream) {
            return Ok(());
        }
        self.write(run, cursor.record_type).await
    }

    /// A slice is stored: its cursor moves on, and the watermark follows a regular walk
    /// (and a backfill contiguous with it), in one write.
    pub async fn slice_done(&mut self, run: &Run<'_>, cursor: &Cursor) -> Result<(), SyncError> {
        let t = cursor.record_type;
        let current = self.watermarks.get(&t).copied();
        let follows =
            cursor.stream == Cursor::REGULAR || current.is_some_and(|w| cursor.window.from <= w);
        let state = self.state(t);
        if follows && state.advance_watermark(cursor.done_until) {
            self.watermarks.insert(t, cursor.done_until);
        }
        let state = self.state(t);
        if cursor.is_complete() {
            // Cleared by `close` next, in its own write.
        } else {
            state.save_cursor(cursor.clone());
        }
        self.write(run, t).await
    }

    /// Keeps a time field found at run time for the account's later runs.
    pub async fn found_time_field(
        &mut self,
        run: &Run<'_>,
        t: RecordType,
        field: &'static str,
    ) -> Result<(), SyncError> {
        self.state(t).time_field = Some(field.to_owned());
        self.time_fields.insert(t, field);
        self.write(run, t).await
    }

    /// Saves a checkpoint, if any, without holding the walker (it runs beside a write).
    /// Checkpoints of one stream are saved one after the other (each awaited before the
    /// next), so each names the version after the one before it.
    pub fn checkpoint(
        &mut self,
        job: &Job<'_>,
        cursor: Option<Cursor>,
    ) -> impl std::future::Future<Output = Result<(), SyncError>> + use<> {
        let store = job.ports.store.clone();
        let account = job.account().clone();
        let snapshot = cursor.filter(|_| job.writes()).map(|c| {
            let state = self.state(c.record_type);
            state.save_cursor(c);
            state.next_version()
        });
        async move {
            let Some(state) = snapshot else {
                return Ok(());
            };
            store
                .put_stream(&account, &state)
                .await
                .map_err(SyncError::store(
                    &account,
                    format!("saving the {} cursor", state.record_type),
                ))
        }
    }

    fn state(&mut self, t: RecordType) -> &mut StreamState {
        self.states.entry(t).or_insert_with(|| StreamState::new(t))
    }

    /// Writes `t`'s state as it is now (nothing in a dry run).
    async fn write(&mut self, run: &Run<'_>, t: RecordType) -> Result<(), SyncError> {
        if !run.writes() {
            return Ok(());
        }
        let state = self.state(t).next_version();
        run.ports
            .store
            .put_stream(run.account(), &state)
            .await
            .map_err(SyncError::store(
                run.account(),
                format!("saving the {t} stream"),
            ))
    }
}

/// Per type, the instant `of` gives, for the types that have one.
fn of_each(
    states: &BTreeMap<RecordType, StreamState>,
    of: impl Fn(&StreamState) -> Option<DateTime<Utc>>,
) -> BTreeMap<RecordType, DateTime<Utc>> {
    states
        .iter()
        .filter_map(|(t, s)| Some((*t, of(s)?)))
        .collect()
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
