//! Contract suites (feature `test-util`): what every implementation of a port must do,
//! written once and run against the in-memory fake and the real adapter alike, so the
//! core's fast tests cannot pass on behaviour the real adapter does not have.
//!
//! A suite returns a [`ContractReport`] instead of panicking, so a test can also show
//! that a deliberately wrong implementation fails it.
//!
//! - [`store`]: the `Store` contract (every concern).
//! - [`telnyx`]: the `TelnyxApi` contract (walks, the usage report, refused keys).
//! - [`secrets`]: the `KeyStore` contract (keys stored, replaced, deleted, raced).

mod billing;
mod months;
pub mod secrets;
pub mod store;
mod streams;
pub mod telnyx;
mod usage;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// One broken promise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The check that found it (a sentence, like a test name).
    pub check: &'static str,
    /// What was expected and what happened.
    pub what: String,
}

/// What a suite found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContractReport {
    /// Checks that held.
    pub passed: Vec<&'static str>,
    pub violations: Vec<Violation>,
}

impl ContractReport {
    /// True when every check held.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// Whether the check named `check` was violated.
    pub fn violated(&self, check: &str) -> bool {
        self.violations.iter().any(|v| v.check == check)
    }

    fn record(&mut self, check: &'static str, result: Result<(), String>) {
        match result {
            Ok(()) => self.passed.push(check),
            Err(what) => self.violations.push(Violation { check, what }),
        }
    }
}

impl fmt::Display for ContractReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} check(s) held, {} violated",
            self.passed.len(),
            self.violations.len()
        )?;
        for v in &self.violations {
            writeln!(f, "- {}: {}", v.check, v.what)?;
        }
        Ok(())
    }
}

/// What one check returns: `Err` with what was expected and what happened.
pub(crate) type Check = Result<(), String>;

/// Turns a port error into a violation message.
pub(crate) fn port<T>(what: &str, r: crate::ports::PortResult<T>) -> Result<T, String> {
    r.map_err(|e| format!("{what} failed: {}", e.chain()))
}

/// `hours` from 12:00 on 2026-11-23, the checks' fixed clock.
pub(crate) fn at(hours: i64) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
        .single()
        .unwrap_or_default()
        + chrono::Duration::hours(hours)
}

/// A tag no other check (in this process or a concurrent one) uses, so checks sharing a
/// real table never see each other's items.
pub(crate) fn unique_tag() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}-{}-{n}", nanos, std::process::id())
}

/// `Err(message)` unless `cond`.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}
pub(crate) use ensure;
