//! Clocks for tests: one stopped at an instant, one moved by hand.

use super::lock;
use crate::ports::Clock;
use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;

/// A clock stopped at one instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A clock tests move by hand; it can also tick on its own, a step every time it is
/// read (time passing while a run works, for deadline tests).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    tick: Mutex<Duration>,
}

impl ManualClock {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(now),
            tick: Mutex::new(Duration::zero()),
        }
    }
    pub fn advance(&self, by: Duration) {
        let mut t = lock(&self.now);
        *t += by;
    }
    pub fn set(&self, now: DateTime<Utc>) {
        *lock(&self.now) = now;
    }
    /// From now on every reading moves the clock on by `step` (zero: stopped again).
    pub fn tick_by(&self, step: Duration) {
        *lock(&self.tick) = step;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        let step = *lock(&self.tick);
        let mut t = lock(&self.now);
        let read = *t;
        *t += step;
        read
    }
}
