//! A stretch of time: what a walk, a report request or a backfill covers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A half-open time window `[from, to)` over a record type's time field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl TimeWindow {
    /// True when the window holds no instant.
    pub fn is_empty(&self) -> bool {
        self.from >= self.to
    }
}
