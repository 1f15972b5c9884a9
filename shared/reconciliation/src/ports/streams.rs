//! The state of an account's record streams: per (account, record type) one value
//! holding everything a run resumes from — the watermark, the reach, the time field the
//! type's records carry, and the cursors (checkpoints) of its open walks — stored as one
//! item and replaced whole by one conditional write per checkpoint (docs/record-path.md
//! "Stream state").

use super::PortResult;
use super::telnyx::TimeWindow;
use crate::domain::{ManagedAccountId, RecordType};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Durable progress of one walk (a stream) of one record type inside a window: the
/// checkpoint a stopped or killed run resumes from. Slices are walked oldest first, each
/// newest first page by page, so everything before `done_until` is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Which walk: [`Cursor::REGULAR`] (the one the watermark follows) or a backfill's id.
    pub stream: String,
    pub record_type: RecordType,
    /// The whole window being worked.
    pub window: TimeWindow,
    /// Every record of `[window.from, done_until)` is durably stored.
    pub done_until: DateTime<Utc>,
    /// The open slice `[done_until, slice_to)`, if one is being walked.
    pub slice_to: Option<DateTime<Utc>>,
    /// The next page of the open slice to request (1 when none is open).
    pub next_page: u32,
}

impl Cursor {
    /// The stream of regular runs (the watermark's).
    pub const REGULAR: &'static str = "regular";

    /// A cursor at the start of `window`.
    pub fn start(stream: impl Into<String>, record_type: RecordType, window: TimeWindow) -> Self {
        Self {
            stream: stream.into(),
            record_type,
            window,
            done_until: window.from,
            slice_to: None,
            next_page: 1,
        }
    }

    /// True when the whole window is stored.
    pub fn is_complete(&self) -> bool {
        self.done_until >= self.window.to
    }
}

/// One record type's stream of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    pub record_type: RecordType,
    /// Bumped by every write: a write names the version it makes, and is refused when
    /// the stored one is not the version before it (0: never stored).
    pub version: u64,
    /// Every record of the regular stream before it is durably stored.
    #[serde(default)]
    pub watermark: Option<DateTime<Utc>>,
    /// The furthest window end any walk of the type was opened to (recorded before the
    /// walk's first write): no record at or after it was ever stored.
    #[serde(default)]
    pub reach: Option<DateTime<Utc>>,
    /// The time field the type's records carry, when a run found it is not the table's.
    #[serde(default)]
    pub time_field: Option<String>,
    /// The open walks' checkpoints, by [`Cursor::stream`].
    #[serde(default)]
    pub cursors: BTreeMap<String, Cursor>,
}

impl StreamState {
    /// The state of a stream never stored.
    pub fn new(record_type: RecordType) -> Self {
        Self {
            record_type,
            version: 0,
            watermark: None,
            reach: None,
            time_field: None,
            cursors: BTreeMap::new(),
        }
    }

    /// Moves the watermark forward to `to`; false (nothing changed) when it is there or
    /// beyond already.
    pub fn advance_watermark(&mut self, to: DateTime<Utc>) -> bool {
        forward(&mut self.watermark, to)
    }

    /// Moves the reach forward to `to`; false when it is there or beyond already.
    pub fn extend_reach(&mut self, to: DateTime<Utc>) -> bool {
        forward(&mut self.reach, to)
    }

    /// Creates or replaces the checkpoint of `cursor.stream`.
    pub fn save_cursor(&mut self, cursor: Cursor) {
        self.cursors.insert(cursor.stream.clone(), cursor);
    }

    /// Removes the checkpoint of `stream` (its window is done); false when there was none.
    pub fn clear_cursor(&mut self, stream: &str) -> bool {
        self.cursors.remove(stream).is_some()
    }

    /// The next version to write, counted now: the value to store.
    pub fn next_version(&mut self) -> Self {
        self.version += 1;
        self.clone()
    }
}

fn forward(at: &mut Option<DateTime<Utc>>, to: DateTime<Utc>) -> bool {
    if at.is_some_and(|a| a >= to) {
        return false;
    }
    *at = Some(to);
    true
}

/// The account's streams, one value per record type.
#[async_trait]
pub trait StreamStore: Send + Sync {
    /// Every stream of the account that was ever stored (one read).
    async fn streams(&self, account: &ManagedAccountId) -> PortResult<Vec<StreamState>>;

    /// Stores `state` whole, as version `state.version`, if the stored stream is still
    /// at the version before it (absent for version 1). Otherwise nothing is written and
    /// the error (transient) says another run wrote the stream: the caller stops, and
    /// its next attempt reads the streams again. Never overwrites a newer state.
    async fn put_stream(&self, account: &ManagedAccountId, state: &StreamState) -> PortResult<()>;

    /// Every watermark of the account (from [`StreamStore::streams`]).
    async fn watermarks(
        &self,
        account: &ManagedAccountId,
    ) -> PortResult<BTreeMap<RecordType, DateTime<Utc>>> {
        Ok(self
            .streams(account)
            .await?
            .into_iter()
            .filter_map(|s| Some((s.record_type, s.watermark?)))
            .collect())
    }

    /// Every open walk of the account (from [`StreamStore::streams`]).
    async fn cursors(&self, account: &ManagedAccountId) -> PortResult<Vec<Cursor>> {
        Ok(self
            .streams(account)
            .await?
            .into_iter()
            .flat_map(|s| s.cursors.into_values())
            .collect())
    }
}
