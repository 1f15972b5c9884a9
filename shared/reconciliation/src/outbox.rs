//! Sending queued notifications: claim, send, mark sent.
//!
//! SES has no idempotency token, so every email goes through the store's outbox: an
//! entry is written in the same atomic write as what it announces (the new customer,
//! or the admitted alert), then claimed by one sender (a lease), sent, and marked sent.
//!
//! The one duplicate this allows, stated plainly: a crash or timeout **after SES has
//! accepted the email and before the mark-sent write** leaves the entry pending; once
//! the claim lapses the next flush sends it again. That is at most one extra email
//! per crash at that exact point, never a loop (the resend is marked like any other).
//! A crash before the send loses nothing and duplicates nothing. No token on SES's
//! side can close the window.

use crate::error::PortError;
use crate::ports::{Clock, Mailer, OutboxStore};
use serde::{Deserialize, Serialize};

/// What one flush did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlushReport {
    pub sent: u64,
    /// Claimed by another sender (or sent meanwhile): left alone.
    pub skipped: u64,
    /// Sends that failed; they stay pending for the next flush.
    pub failed: u64,
}

/// Sends every pending notification once. A failed send is counted and left pending
/// (the next run retries it); only a failure to read or update the outbox is an error.
pub async fn flush_outbox(
    store: &dyn OutboxStore,
    mailer: &dyn Mailer,
    clock: &dyn Clock,
) -> Result<FlushReport, PortError> {
    let mut report = FlushReport::default();
    for entry in store.pending_notifications().await? {
        if !store.claim_notification(&entry.key, clock.now()).await? {
            report.skipped += 1;
            continue;
        }
        match mailer.send(&entry.notification).await {
            Ok(message_id) => {
                store
                    .mark_notification_sent(&entry.key, &message_id, clock.now())
                    .await?;
                report.sent += 1;
            }
            Err(error) => {
                tracing::warn!(outbox_key = %entry.key, error = %error.chain(), "notification not sent; it stays queued");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}
