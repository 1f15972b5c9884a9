//! In-memory implementations of every port, for the core's unit tests and for other
//! crates' fast tests (feature `test-util`), one file each. They follow the port
//! contracts — the store passes the same contract suite as the DynamoDB store
//! ([`crate::contract`]) — and can be told to fail, to test failure paths.
//!
//! All state sits behind `std::sync::Mutex`; a poisoned lock is recovered (a panicking
//! test already failed).

mod clock;
mod dispatcher;
mod mailer;
mod secrets;
mod store;
mod telnyx;

pub use clock::{FixedClock, ManualClock};
pub use dispatcher::RecordingDispatcher;
pub use mailer::RecordingMailer;
pub use secrets::InMemorySecrets;
pub use store::{BusinessData, InMemoryStore, StoreData};
pub use telnyx::InMemoryTelnyx;

/// The pure meaning of applying actions (re-exported: the idempotence property test and
/// [`InMemoryStore`]'s `apply` both use it).
pub use crate::plan::apply_to_state;

use crate::error::{PortError, Transience};
use std::sync::{Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Returns `Pending` once (waking itself), so concurrent runs on the fakes interleave at
/// the points real I/O would (without a runtime dependency).
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

fn yield_now() -> YieldNow {
    YieldNow(false)
}

fn injected(op: &str) -> PortError {
    PortError::message(format!("injected failure in {op}"), Transience::Transient)
}

#[cfg(test)]
mod tests;
