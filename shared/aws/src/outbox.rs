//! Sending queued notifications exactly once in practice: claim → send → mark sent.
//!
//! SES has no idempotency token, so every email goes through the outbox in the store.
//! A claim is a conditional write holding the entry for a lease (5 minutes in
//! [`crate::store::DynamoStore`]); only the claimer sends. A process that dies after
//! sending but before marking can resend once the lease expires (the one unavoidable
//! window: SES cannot tell us whether it already took the message); a process that
//! dies before sending leaves the entry pending and the next flush sends it.

use chrono::{DateTime, Utc};
use reconciliation::ports::{Mailer, PortResult, Store};

/// One notification that could not be sent (it stays pending and is retried once its
/// claim lapses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedNotification {
    pub key: String,
    /// The error with its cause chain (never a key: notifications carry none).
    pub error: String,
    pub transient: bool,
}

/// What one flush did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Sent and marked sent by this flush.
    pub sent: u64,
    /// Claimed by another sender (or already sent): left alone.
    pub skipped: u64,
    pub failed: Vec<FailedNotification>,
}

/// Sends every pending notification that this caller manages to claim, marking each
/// sent with the provider's message id. Per-notification failures are reported in
/// [`FlushReport::failed`]; only failing to list the outbox is an error.
#[tracing::instrument(skip_all)]
pub async fn flush_outbox(
    store: &dyn Store,
    mailer: &dyn Mailer,
    now: DateTime<Utc>,
) -> PortResult<FlushReport> {
    let mut report = FlushReport::default();
    for entry in store.pending_notifications().await? {
        let key = entry.key.as_str();
        let claimed = match store.claim_notification(key, now).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(key, error = %e.chain(), "claiming a notification failed");
                report.failed.push(FailedNotification {
                    key: key.to_owned(),
                    error: e.chain(),
                    transient: e.is_transient(),
                });
                continue;
            }
        };
        if !claimed {
            report.skipped += 1;
            continue;
        }
        let sent = match mailer.send(&entry.notification).await {
            Ok(message_id) => store
                .mark_notification_sent(key, &message_id, now)
                .await
                .map(|()| message_id),
            Err(e) => Err(e),
        };
        match sent {
            Ok(message_id) => {
                tracing::info!(key, message_id = %message_id, "notification sent");
                report.sent += 1;
            }
            Err(e) => {
                tracing::warn!(key, error = %e.chain(), "sending a notification failed");
                report.failed.push(FailedNotification {
                    key: key.to_owned(),
                    error: e.chain(),
                    transient: e.is_transient(),
                });
            }
        }
    }
    tracing::info!(
        sent = report.sent,
        skipped = report.skipped,
        failed = report.failed.len(),
        "outbox flushed"
    );
    Ok(report)
}
