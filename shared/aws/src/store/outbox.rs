//! The outbox and the alert throttle: an alert's throttle slot and its outbox entry in
//! one `TransactWriteItems`; pending entries listed through `gsi1`, oldest first;
//! claims are conditional updates with a lease.

use super::items::{Item, entity_item, from_item, n, s};
use super::transact::{self, Transacted};
use super::update::ConditionalUpdate;
use super::{DynamoStore, Outcome, SortKey, keys};
use crate::error::AwsError;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use reconciliation::domain::ManagedAccountId;
use reconciliation::plan::Notification;
use reconciliation::ports::{DigestFn, EmailKind, OutboxEntry, OutboxStore, PortResult};

impl DynamoStore {
    pub(super) fn outbox_item(
        &self,
        notification: &Notification,
        now: DateTime<Utc>,
    ) -> Result<Item, AwsError> {
        let key = notification.dedupe_key();
        let entry = OutboxEntry {
            key: key.clone(),
            notification: notification.clone(),
            queued_at: now,
            sent_at: None,
        };
        entity_item(
            "outbox",
            &entry,
            &keys::outbox(&key),
            Some(&keys::outbox_pending_index(&key, now)),
        )
    }

    /// The alert throttle's update: take the slot at `now` if it is free. Decided on the
    /// stored `last_sent_at`, never on TTL deletion (expired items still read back);
    /// `expires_at` only cleans up long after the interval.
    pub(super) fn alert_throttle(
        kind: EmailKind,
        account: &ManagedAccountId,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> ConditionalUpdate {
        let cutoff = now - interval;
        let expires_at = (now + interval + Duration::days(1)).timestamp();
        ConditionalUpdate::new(
            keys::alert(kind.as_str(), account),
            "SET last_sent_at = :now, last_sent = :now_text, kind = :kind, account = :account, #entity = :entity, #ttl = :ttl",
            "attribute_not_exists(#pk) OR last_sent_at <= :cutoff",
        )
        .name("#pk", keys::PK)
        .name("#entity", keys::ENTITY)
        .name("#ttl", keys::EXPIRES_AT)
        .value(":now", n(now.timestamp()))
        .value(":now_text", s(keys::sortable_time(now)))
        .value(":cutoff", n(cutoff.timestamp()))
        .value(":kind", s(kind.as_str()))
        .value(":account", s(account.as_str()))
        .value(":entity", s("alert"))
        .value(":ttl", n(expires_at))
    }
}

#[async_trait]
impl OutboxStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(
        account_id = %account,
        kind = kind.as_str(),
        outbox_key = %alert.dedupe_key(),
    ))]
    async fn admit_and_queue_alert(
        &self,
        kind: EmailKind,
        account: &ManagedAccountId,
        alert: &Notification,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> PortResult<bool> {
        let admitted = async {
            let items = [
                Self::alert_throttle(kind, account, now, interval)
                    .into_transact_item(&self.table)?,
                self.conditional_put(self.outbox_item(alert, now)?)?,
            ];
            Ok::<_, AwsError>(
                match transact::transact_write(&self.client, &items, &self.retry).await? {
                    Transacted::Committed => true,
                    // The slot was taken within the interval (by us earlier or by a
                    // concurrent caller, whose email is queued with it), or this very
                    // alert is already queued: either way, nothing to do.
                    Transacted::ConditionsFailed(failed) => {
                        tracing::debug!(
                            throttled = failed.first() == Some(&true),
                            already_queued = failed.get(1) == Some(&true),
                            "alert not admitted"
                        );
                        false
                    }
                },
            )
        }
        .await
        .map_err(|e| {
            e.into_port(format!(
                "admitting a {} alert for account {account}",
                kind.as_str()
            ))
        })?;
        Ok(admitted)
    }

    #[tracing::instrument(skip_all, fields(kind = kind.as_str(), accounts = accounts.len()))]
    async fn admit_and_queue_digest(
        &self,
        kind: EmailKind,
        accounts: &[ManagedAccountId],
        digest: &DigestFn<'_>,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> PortResult<Vec<ManagedAccountId>> {
        self.digest(kind, accounts, digest, now, interval)
            .await
            .map_err(|e| {
                e.into_port(format!(
                    "admitting a {} digest for {} account(s)",
                    kind.as_str(),
                    accounts.len()
                ))
            })
    }

    #[tracing::instrument(skip_all)]
    async fn pending_notifications(&self) -> PortResult<Vec<OutboxEntry>> {
        self.query(
            Some(keys::GSI1),
            keys::OUTBOX_PENDING_PARTITION,
            SortKey::Any,
            false,
            None,
        )
        .await
        .and_then(|items| items.into_iter().map(from_item).collect())
        .map_err(|e| e.into_port("listing pending notifications"))
    }

    #[tracing::instrument(skip_all, fields(outbox_key = %key))]
    async fn claim_notification(&self, key: &str, now: DateTime<Utc>) -> PortResult<bool> {
        let until = now + self.settings.claim_lease;
        ConditionalUpdate::new(
            keys::outbox(key),
            "SET claimed_until = :until",
            "attribute_exists(#pk) AND attribute_not_exists(sent_at) \
             AND (attribute_not_exists(claimed_until) OR claimed_until <= :now)",
        )
        .name("#pk", keys::PK)
        .value(":until", n(until.timestamp_millis()))
        .value(":now", n(now.timestamp_millis()))
        .send(&self.client, &self.table)
        .await
        .map_err(|e| e.into_port(format!("claiming notification {key}")))
    }

    #[tracing::instrument(skip_all, fields(outbox_key = %key, message_id = %message_id))]
    async fn mark_notification_sent(
        &self,
        key: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        let outbox_key = keys::outbox(key);
        let update = Self::update_if_exists(
            &outbox_key,
            "SET sent_at = :now, message_id = :mid REMOVE #gpk, #gsk, claimed_until",
            "attribute_not_exists(sent_at)",
        )
        .name("#gpk", keys::GSI1PK)
        .name("#gsk", keys::GSI1SK)
        .value(":now", s(keys::sortable_time(now)))
        .value(":mid", s(message_id));
        let outcome = self
            .update_existing(&outbox_key, format!("outbox entry {key}"), update)
            .await
            .map_err(|e| e.into_port(format!("marking notification {key} sent")))?;
        if outcome == Outcome::AlreadyThere {
            tracing::debug!("notification was already marked sent");
        }
        Ok(())
    }
}
