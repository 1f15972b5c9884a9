//! The alert digest ([`OutboxStore::admit_and_queue_digest`]): one email for every
//! account admitted by its own throttle slot at one tick. Too many slots for one
//! transaction (100 items), so the steps are ordered to lose nothing:
//!
//! 1. read the slots (BatchGetItem) and keep the accounts whose interval has elapsed;
//! 2. queue the digest naming them (a conditional put: one entry per digest key);
//! 3. take each slot with its own conditional update (a concurrent tick's admission
//!    makes it fail: that account is its digest's);
//! 4. if some slot was taken by another tick, rewrite the digest without that account,
//!    or withdraw it (marked sent, never mailed) when none is left — only while it is
//!    neither sent nor claimed.
//!
//! A crash after 2 sends the digest with its slots still free (the accounts are named
//! again next time); no crash can take a slot without its email.
//!
//! [`OutboxStore::admit_and_queue_digest`]: reconciliation::ports::OutboxStore::admit_and_queue_digest

use super::items::s;
use super::update::ConditionalUpdate;
use super::{DynamoStore, Outcome, keys};
use crate::error::AwsError;
use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt, TryStreamExt};
use reconciliation::domain::ManagedAccountId;
use reconciliation::plan::Notification;
use reconciliation::ports::{DigestFn, EmailKind};

/// Keys per BatchGetItem.
const BATCH_GET: usize = 100;
/// Slot updates in flight at once.
const PARALLEL_SLOTS: usize = 16;

impl DynamoStore {
    /// Steps 1 to 4 of the module doc.
    pub(super) async fn digest(
        &self,
        kind: EmailKind,
        accounts: &[ManagedAccountId],
        digest: &DigestFn<'_>,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> Result<Vec<ManagedAccountId>, AwsError> {
        let free = self.free_slots(kind, accounts, now, interval).await?;
        if free.is_empty() {
            return Ok(free);
        }
        let email = digest(&free);
        let key = email.dedupe_key();
        if self.put_new(self.outbox_item(&email, now)?).await? == Outcome::AlreadyThere {
            return Ok(Vec::new());
        }
        let updates: Vec<ConditionalUpdate> = free
            .iter()
            .map(|account| Self::alert_throttle(kind, account, now, interval))
            .collect();
        let taken: Vec<bool> = futures::stream::iter(
            updates
                .into_iter()
                .map(|update| update.send(&self.client, &self.table)),
        )
        .buffered(PARALLEL_SLOTS)
        .try_collect()
        .await?;
        let admitted: Vec<ManagedAccountId> = free
            .iter()
            .zip(&taken)
            .filter(|(_, taken)| **taken)
            .map(|(a, _)| a.clone())
            .collect();
        if admitted.len() < free.len() {
            tracing::info!(
                outbox_key = %key,
                admitted = admitted.len(),
                raced = free.len() - admitted.len(),
                "a concurrent tick admitted some accounts first; the digest names only ours"
            );
            self.rewrite_pending(&key, (!admitted.is_empty()).then(|| digest(&admitted)), now)
                .await?;
        }
        Ok(admitted)
    }

    /// The accounts of `accounts` whose slot of `kind` is free at `now`.
    async fn free_slots(
        &self,
        kind: EmailKind,
        accounts: &[ManagedAccountId],
        now: DateTime<Utc>,
        interval: Duration,
    ) -> Result<Vec<ManagedAccountId>, AwsError> {
        let cutoff = (now - interval).timestamp();
        let mut held = std::collections::BTreeSet::new();
        for chunk in accounts.chunks(BATCH_GET) {
            let items = self
                .batch_get(
                    chunk
                        .iter()
                        .map(|a| keys::alert(kind.as_str(), a))
                        .collect(),
                )
                .await?;
            for item in items {
                let last = item
                    .get("last_sent_at")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<i64>().ok());
                let account = item.get("account").and_then(|v| v.as_s().ok());
                if let (Some(last), Some(account)) = (last, account) {
                    if last > cutoff {
                        held.insert(account.clone());
                    }
                }
            }
        }
        Ok(accounts
            .iter()
            .filter(|a| !held.contains(a.as_str()))
            .cloned()
            .collect())
    }

    /// Replaces a pending entry's notification, or withdraws the entry (`None`): marked
    /// sent with message id `withdrawn`, out of the pending index. Only while it is
    /// neither sent nor claimed; otherwise it goes out as queued.
    async fn rewrite_pending(
        &self,
        key: &str,
        notification: Option<Notification>,
        now: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        let condition = "attribute_exists(#pk) AND attribute_not_exists(sent_at) \
                         AND attribute_not_exists(claimed_until)";
        let update = match notification {
            Some(notification) => {
                let value = serde_dynamo::to_attribute_value(&notification).map_err(|e| {
                    AwsError::Encode {
                        what: format!("outbox entry {key}"),
                        source: Box::new(e),
                    }
                })?;
                ConditionalUpdate::new(keys::outbox(key), "SET notification = :n", condition)
                    .value(":n", value)
            }
            None => ConditionalUpdate::new(
                keys::outbox(key),
                "SET sent_at = :now, message_id = :mid REMOVE #gpk, #gsk",
                condition,
            )
            .name("#gpk", keys::GSI1PK)
            .name("#gsk", keys::GSI1SK)
            .value(":now", s(keys::sortable_time(now)))
            .value(":mid", s("withdrawn")),
        }
        .name("#pk", keys::PK);
        if !update.send(&self.client, &self.table).await? {
            tracing::warn!(outbox_key = %key, "the digest was claimed before it could be rewritten; it goes out as queued");
        }
        Ok(())
    }
}
