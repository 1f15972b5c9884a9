//! The outbox and the alert throttle of the in-memory store.

use super::InMemoryStore;
use crate::domain::ManagedAccountId;
use crate::fakes::{lock, yield_now};
use crate::plan::Notification;
use crate::ports::{DigestFn, EmailKind, OutboxEntry, OutboxStore, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

#[async_trait]
impl OutboxStore for InMemoryStore {
    async fn admit_and_queue_alert(
        &self,
        kind: EmailKind,
        account: &ManagedAccountId,
        alert: &Notification,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> PortResult<bool> {
        self.check("admit_and_queue_alert")?;
        // One lock for both writes: the throttle and the outbox entry change together.
        let mut d = lock(&self.data);
        let throttle = (kind, account.clone());
        // Decided from the stored timestamp, never from the item having expired.
        let open = d
            .alerts
            .get(&throttle)
            .is_none_or(|last| now - *last >= interval);
        let key = alert.dedupe_key();
        if !open || d.outbox.contains_key(&key) {
            return Ok(false);
        }
        d.alerts.insert(throttle, now);
        d.outbox.insert(
            key.clone(),
            OutboxEntry {
                key,
                notification: alert.clone(),
                queued_at: now,
                sent_at: None,
            },
        );
        Ok(true)
    }

    async fn admit_and_queue_digest(
        &self,
        kind: EmailKind,
        accounts: &[ManagedAccountId],
        digest: &DigestFn<'_>,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> PortResult<Vec<ManagedAccountId>> {
        self.check("admit_and_queue_digest")?;
        // One lock: the slots and the digest change together.
        let mut d = lock(&self.data);
        let admitted: Vec<ManagedAccountId> = accounts
            .iter()
            .filter(|a| {
                d.alerts
                    .get(&(kind, (*a).clone()))
                    .is_none_or(|last| now - *last >= interval)
            })
            .cloned()
            .collect();
        if admitted.is_empty() {
            return Ok(admitted);
        }
        let email = digest(&admitted);
        let key = email.dedupe_key();
        if d.outbox.contains_key(&key) {
            return Ok(Vec::new());
        }
        for account in &admitted {
            d.alerts.insert((kind, account.clone()), now);
        }
        d.outbox.insert(
            key.clone(),
            OutboxEntry {
                key,
                notification: email,
                queued_at: now,
                sent_at: None,
            },
        );
        Ok(admitted)
    }

    async fn pending_notifications(&self) -> PortResult<Vec<OutboxEntry>> {
        self.check("pending_notifications")?;
        let mut pending: Vec<OutboxEntry> = lock(&self.data)
            .outbox
            .values()
            .filter(|e| e.sent_at.is_none())
            .cloned()
            .collect();
        pending.sort_by(|a, b| (a.queued_at, &a.key).cmp(&(b.queued_at, &b.key)));
        // Two flushes may read the same pending entry; the claim decides who sends.
        yield_now().await;
        Ok(pending)
    }

    async fn claim_notification(&self, key: &str, now: DateTime<Utc>) -> PortResult<bool> {
        self.check("claim_notification")?;
        let mut d = lock(&self.data);
        let pending = d.outbox.get(key).is_some_and(|e| e.sent_at.is_none());
        let free = d.claims.get(key).is_none_or(|until| *until <= now);
        if pending && free {
            d.claims.insert(key.to_owned(), now + self.claim_lease);
            Ok(true)
        } else {
            Ok(false)
        }
    }

    async fn mark_notification_sent(
        &self,
        key: &str,
        _message_id: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        self.check("mark_notification_sent")?;
        let mut d = lock(&self.data);
        if let Some(e) = d.outbox.get_mut(key) {
            if e.sent_at.is_none() {
                e.sent_at = Some(now);
            }
        }
        d.claims.remove(key);
        Ok(())
    }
}
