//! One worker per account: the account's lease item, taken and renewed with a
//! conditional `UpdateItem` (free, expired by its stored `until_ms`, or ours), given
//! back with a conditional `DeleteItem` (only by its holder), read in batches by the
//! scheduler. Expiry is decided on the stored time, never on TTL deletion.

use super::items::{self, Item, n, s};
use super::keys;
use super::update::ConditionalUpdate;
use super::{DynamoStore, is_condition_failed};
use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use chrono::{DateTime, Duration, Utc};
use reconciliation::domain::{ManagedAccountId, RunId};
use reconciliation::ports::{Lease, LeaseGrant, LeaseStore, PortResult};

/// BatchGetItem's key limit.
const BATCH_GET: usize = 100;

fn lease_of(item: &Item) -> Option<Lease> {
    let until_ms: i64 = item.get("until_ms")?.as_n().ok()?.parse().ok()?;
    Some(Lease {
        account: ManagedAccountId::new(items::string_attr(item, "account")?),
        holder: RunId::new(items::string_attr(item, "holder")?),
        until: DateTime::from_timestamp_millis(until_ms)?,
    })
}

impl DynamoStore {
    async fn try_acquire(
        &self,
        account: &ManagedAccountId,
        holder: &RunId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, AwsError> {
        ConditionalUpdate::new(
            keys::lease(account),
            "SET holder = :holder, until_ms = :until, lease_until = :until_text, \
             account = :account, #entity = :entity, #ttl = :ttl",
            "attribute_not_exists(#pk) OR until_ms <= :now OR holder = :holder",
        )
        .name("#pk", keys::PK)
        .name("#entity", keys::ENTITY)
        .name("#ttl", keys::EXPIRES_AT)
        .value(":holder", s(holder.as_str()))
        .value(":until", n(until.timestamp_millis()))
        .value(":until_text", s(keys::sortable_time(until)))
        .value(":now", n(now.timestamp_millis()))
        .value(":account", s(account.as_str()))
        .value(":entity", s("lease"))
        .value(":ttl", n((until + Duration::days(1)).timestamp()))
        .send(&self.client, &self.table)
        .await
    }

    async fn acquire(
        &self,
        account: &ManagedAccountId,
        holder: &RunId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<LeaseGrant, AwsError> {
        // The holder seen after a refusal may give the lease back at once: ask again then.
        for _ in 0..3 {
            if self.try_acquire(account, holder, now, until).await? {
                return Ok(LeaseGrant::Granted);
            }
            let held = self
                .get(&keys::lease(account))
                .await?
                .as_ref()
                .and_then(lease_of);
            if let Some(lease) = held.filter(|l| l.until > now && &l.holder != holder) {
                return Ok(LeaseGrant::HeldBy(lease));
            }
        }
        Err(AwsError::TransactionConflict {
            operation: "lease UpdateItem",
            attempts: 3,
        })
    }
}

#[async_trait]
impl LeaseStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(account_id = %account, holder = %holder))]
    async fn acquire_lease(
        &self,
        account: &ManagedAccountId,
        holder: &RunId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> PortResult<LeaseGrant> {
        self.acquire(account, holder, now, until)
            .await
            .map_err(|e| e.into_port(format!("taking the lease of account {account}")))
    }

    #[tracing::instrument(skip_all, fields(account_id = %account, holder = %holder))]
    async fn release_lease(&self, account: &ManagedAccountId, holder: &RunId) -> PortResult<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(items::key_item(&keys::lease(account))))
            .condition_expression("holder = :holder")
            .expression_attribute_values(":holder", s(holder.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Not ours (taken over after it expired) or already gone: nothing to give back.
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(AwsError::sdk("DynamoDB", "DeleteItem", e)
                .into_port(format!("releasing the lease of account {account}"))),
        }
    }

    #[tracing::instrument(skip_all, fields(accounts = accounts.len()))]
    async fn active_leases(
        &self,
        accounts: &[ManagedAccountId],
        now: DateTime<Utc>,
    ) -> PortResult<Vec<Lease>> {
        let mut out = Vec::new();
        for chunk in accounts.chunks(BATCH_GET) {
            let found = self
                .batch_get(chunk.iter().map(keys::lease).collect())
                .await
                .map_err(|e| e.into_port("reading account leases"))?;
            out.extend(found.iter().filter_map(lease_of).filter(|l| l.until > now));
        }
        Ok(out)
    }
}

impl DynamoStore {
    /// Consistent BatchGetItem of up to 100 keys, unprocessed keys retried.
    pub(super) async fn batch_get(&self, keys: Vec<keys::Key>) -> Result<Vec<Item>, AwsError> {
        let mut pending: Vec<Item> = keys.iter().map(items::key_item).collect();
        let mut found = Vec::new();
        for attempt in 1..=self.retry.max_attempts {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(|e| AwsError::Encode {
                    what: "BatchGetItem request".to_owned(),
                    source: Box::new(e),
                })?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| AwsError::sdk("DynamoDB", "BatchGetItem", e))?;
            found.extend(
                out.responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default(),
            );
            pending = out
                .unprocessed_keys
                .and_then(|mut m| m.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(found);
            }
            if attempt < self.retry.max_attempts {
                tokio::time::sleep(self.retry.backoff(attempt)).await;
            }
        }
        Err(AwsError::Unprocessed {
            operation: "BatchGetItem",
            attempts: self.retry.max_attempts,
            remaining: pending.len(),
        })
    }
}
