//! Run logs: one item per run in the account's partition, newest last by key, kept for
//! the store's retention (`expires_at`).

use super::items::{entity_item, from_item, n};
use super::{DynamoStore, SortKey, keys};
use async_trait::async_trait;
use reconciliation::domain::ManagedAccountId;
use reconciliation::ports::{PortResult, RunLog, RunLogStore};

impl DynamoStore {
    /// The raw stored item of a run log (for checking its `expires_at`).
    pub async fn run_log_expiry(&self, log: &RunLog) -> PortResult<Option<i64>> {
        let key = keys::run_log(&log.account, log.started_at, &log.run_id);
        let item = self.get(&key).await.map_err(|e| {
            e.into_port(format!(
                "reading run log {} of account {}",
                log.run_id, log.account
            ))
        })?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get(keys::EXPIRES_AT))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok()))
    }
}

#[async_trait]
impl RunLogStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(account_id = %log.account, run_id = %log.run_id))]
    async fn put_run_log(&self, log: &RunLog) -> PortResult<()> {
        let expires_at = (log.finished_at + self.settings.run_log_retention).timestamp();
        async {
            let mut item = entity_item(
                "run_log",
                log,
                &keys::run_log(&log.account, log.started_at, &log.run_id),
                None,
            )?;
            item.insert(keys::EXPIRES_AT.to_owned(), n(expires_at));
            self.put(item).await
        }
        .await
        .map_err(|e| {
            e.into_port(format!(
                "storing run log {} of account {}",
                log.run_id, log.account
            ))
        })
    }

    /// The newest `limit` run logs of an account, newest first (Query on its partition).
    async fn run_logs(&self, account: &ManagedAccountId, limit: usize) -> PortResult<Vec<RunLog>> {
        self.query(
            None,
            &keys::account_partition(account),
            SortKey::BeginsWith(keys::RUN_PREFIX.to_owned()),
            true,
            Some(limit),
        )
        .await
        .and_then(|items| items.into_iter().map(from_item).collect())
        .map_err(|e| e.into_port(format!("reading run logs of account {account}")))
    }
}
